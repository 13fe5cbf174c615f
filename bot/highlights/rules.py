"""When a highlight schedule posts: wall-clock rules in a zone, their slots, and reading what people type."""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from bot.errors import NotFoundError, UserFacingError

Cadence = Literal["daily", "weekdays", "weekly"]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})  # files in the tz database, not places
_ONE_DAY = timedelta(days=1)


class ScheduleError(UserFacingError):
    """A schedule's time, weekday or cadence is not one the bot can use."""


class UnknownTimeZone(NotFoundError):
    """No IANA time zone matched; carries the nearest names."""


@dataclass(frozen=True, slots=True)
class ScheduleRule:
    """When a schedule posts: a wall-clock time in a zone, daily, on weekdays or weekly on one weekday."""

    at: time
    zone: ZoneInfo
    cadence: Cadence = "daily"
    weekday: int | None = None  # 0 = Monday; weekly only

    def __post_init__(self) -> None:
        if self.at.tzinfo is not None:
            raise ValueError("the rule's time is a wall-clock time; its zone goes in `zone`")
        if self.cadence == "weekly" and self.weekday is None:
            raise ScheduleError("A weekly schedule needs a weekday.")
        if self.cadence != "weekly" and self.weekday is not None:
            raise ScheduleError("A weekday only applies to weekly schedules.")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ScheduleError("The weekday must be one of Monday to Sunday.")

    def runs_on(self, day: date) -> bool:
        """Whether the rule has a slot on this local date."""
        if self.cadence == "weekdays":
            return day.weekday() < 5
        if self.cadence == "weekly":
            return day.weekday() == self.weekday
        return True


@dataclass(frozen=True, slots=True)
class Slot:
    """One occurrence of a rule: the local date it belongs to, when it is due (UTC) and its unique key."""

    day: date
    due: datetime
    key: str


def slot_key(rule: ScheduleRule, day: date) -> str:
    """The slot's identity within its schedule: the local date, or the ISO week for weekly rules."""
    if rule.cadence == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def due_at(rule: ScheduleRule, day: date) -> datetime:
    """When the rule's time occurs on `day`, in UTC: the first of two on fall-back days, else a gap's end."""
    local = datetime.combine(day, rule.at.replace(fold=0), tzinfo=rule.zone)
    due = local.astimezone(UTC)
    if due.astimezone(rule.zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return due
    # The wall time falls in a gap. fold=1 reads it with the offset after the change, which lands before
    # the change, and fold=0 after it: the first valid instant after the wall time lies between the two.
    return _offset_change(local.replace(fold=1).astimezone(UTC), due, rule.zone)


def _offset_change(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The instant in (before, after] where the zone's offset changes (transitions fall on whole seconds)."""
    target = after.astimezone(zone).utcoffset()
    lo, hi = int(before.timestamp()), int(after.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def next_slot(rule: ScheduleRule, after: datetime) -> Slot:
    """The rule's first slot due strictly after `after` (an aware datetime)."""
    if after.tzinfo is None:
        raise ValueError("next_slot needs an aware datetime")
    # Start a day early: a gap can push a slot's due instant past the end of its own local date.
    day = after.astimezone(rule.zone).date() - _ONE_DAY
    while True:
        if rule.runs_on(day):
            due = due_at(rule, day)
            if due > after:
                return Slot(day, due, slot_key(rule, day))
        day += _ONE_DAY


def parse_time(text: str) -> time:
    """Read a 24-hour "HH:MM" or "H:MM" wall-clock time."""
    match = _TIME.fullmatch(text.strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise ScheduleError(f"“{_clip(text)}” isn't a time of day: use HH:MM on the 24-hour clock, like 09:00 or 18:30.")


def parse_weekday(text: str) -> int:
    """Read a weekday name or an unambiguous start of one ("mon", "Tu", "thursday"); 0 is Monday."""
    key = text.strip().casefold()
    matches = [i for i, name in enumerate(WEEKDAYS) if key and name.casefold().startswith(key)]
    if len(matches) == 1:
        return matches[0]
    raise ScheduleError(f"“{_clip(text)}” isn't a weekday: use one of {', '.join(WEEKDAYS)}.")


def parse_zone(text: str) -> ZoneInfo:
    """Read an IANA zone name, ignoring case, or a city alone when only one zone has it ("berlin")."""
    index = _zone_index()
    key = _zone_key(text)
    name = index.by_key.get(key)
    if name is None and len(named := index.aliases.get(key, ())) == 1:
        name = named[0]
    if name is not None:
        return ZoneInfo(name)
    near = difflib.get_close_matches(key, index.aliases, n=5, cutoff=0.6)
    suggestions = tuple(dict.fromkeys(n for k in (key, *near) for n in index.aliases.get(k, ())))[:5]
    hint = f" Did you mean {_either(suggestions[:3])}?" if suggestions else " Type a city and pick a suggestion."
    raise UnknownTimeZone(f"“{_clip(text)}” isn't a time zone I know.{hint}", suggestions)


def suggest_zones(prefix: str, limit: int = 25) -> list[str]:
    """Zone names for autocomplete: those starting with `prefix`, then those with a part starting with it."""
    index = _zone_index()
    key = _zone_key(prefix)
    first = bisect_left(index.keys, key)
    found: list[str] = []
    for i in range(first, len(index.keys)):
        if len(found) == limit or not index.keys[i].startswith(key):
            break
        found.append(index.names[i])
    starts = set(found)
    for name, parts in zip(index.names, index.parts, strict=True):
        if len(found) == limit:
            break
        if name not in starts and any(part.startswith(key) for part in parts):
            found.append(name)
    return found


@dataclass(frozen=True, slots=True)
class _ZoneIndex:
    names: tuple[str, ...]  # sorted by `keys`
    keys: tuple[str, ...]
    parts: tuple[tuple[str, ...], ...]
    by_key: dict[str, str]
    aliases: dict[str, tuple[str, ...]]  # full names and last parts ("berlin") to the names they may mean


@cache
def _zone_index() -> _ZoneIndex:
    names = sorted((n for n in available_timezones() if n not in _NOT_ZONES), key=_zone_key)
    keys = tuple(_zone_key(n) for n in names)
    aliases: dict[str, list[str]] = {}
    for name, key in zip(names, keys, strict=True):
        for alias in dict.fromkeys((key, key.rsplit("/", 1)[-1])):
            aliases.setdefault(alias, []).append(name)
    return _ZoneIndex(
        names=tuple(names),
        keys=keys,
        parts=tuple(tuple(k.split("/")) for k in keys),
        by_key=dict(zip(keys, names, strict=True)),
        aliases={k: tuple(v) for k, v in aliases.items()},
    )


def _zone_key(text: str) -> str:
    return "_".join(text.split()).casefold()


def _either(options: tuple[str, ...]) -> str:
    return " or ".join(filter(None, (", ".join(options[:-1]), options[-1])))


def _clip(text: str, length: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"
