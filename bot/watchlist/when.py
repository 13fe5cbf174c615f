"""When a reminder is due, read from what a member typed.

"in 2 hours", "tomorrow 18:00", "saturday 10:00", "2026-12-24 10:00", "18:00", or "before" (ten minutes
before the talk starts).

Wall-clock times are read in the member's time zone. A time that does not exist there (the hour skipped when
clocks go forward) is refused with the reason; a time that happens twice (when clocks go back) is the first.
A reminder must be in the future and at most `HORIZON` ahead. Nothing the member typed is echoed unsafely:
errors quote at most a short, inert excerpt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.text import inert
from bot.errors import UserFacingError

HORIZON = timedelta(days=366)  # the furthest ahead a reminder may be set
BEFORE = timedelta(minutes=10)  # `when:before`: this long before the talk starts
MAX_TEXT = 100  # longer text is not a time anybody typed
EXAMPLES = "`in 2 hours`, `tomorrow 18:00`, `saturday 10:00`, `2026-12-24 10:00` or `before`"

_UNITS = {
    "m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1,
    "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60,
    "d": 1440, "day": 1440, "days": 1440,
    "w": 10080, "week": 10080, "weeks": 10080,
}  # fmt: skip
_DAYS = {
    name: number
    for number, names in enumerate(
        (("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"), ("thursday", "thu", "thurs"),
         ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun"))
    )
    for name in names
}  # fmt: skip
_RELATIVE = re.compile(r"in\s+(?P<parts>(?:\d{1,5}\s*[a-z]+\s*(?:and\s+|,\s*)?)+)")
_PART = re.compile(r"(\d{1,5})\s*([a-z]+)")
_CLOCK = re.compile(r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<half>am|pm)?")
_ISO = re.compile(r"(?P<day>\d{4}-\d{2}-\d{2})(?:[ t](?P<clock>.+))?")


class WhenError(UserFacingError):
    """A `when:` that cannot be a reminder's time; the message says why and how to write one."""


class NeedsTimezone(WhenError):
    """A wall-clock time given by a member whose time zone is not known yet."""

    def __init__(self) -> None:
        super().__init__(
            "Which time zone is that in? Add `timezone:` once (for example `timezone:Europe/Berlin`) and it is"
            " remembered; `/settings timezone:` changes it later. `in 2 hours` needs no time zone."
        )


@dataclass(frozen=True, slots=True)
class Due:
    """When a reminder is due, and whether it was set relative to the talk's start."""

    at: datetime  # aware, UTC
    before: bool = False


def _quoted(text: str) -> str:
    short = text if len(text) <= 40 else text[:39] + "…"
    return f"“{inert(short)}”"


def parse_when(
    text: str, *, now: datetime, zone: ZoneInfo | None, starts_at: datetime | None = None, title: str = "the talk"
) -> Due:
    """The instant `text` names, after `now` and within `HORIZON`; raises WhenError saying what is wrong."""
    raw = " ".join(text.split())
    if not raw:
        raise WhenError(f"When should I remind you? Try {EXAMPLES}.")
    if len(raw) > MAX_TEXT:
        raise WhenError(f"That is too long to be a time. Try {EXAMPLES}.")
    lowered = raw.casefold()
    if lowered in {"before", "before it starts", "before start"}:
        return _before(now, starts_at, title)
    relative = _RELATIVE.fullmatch(lowered)
    if relative is not None:
        return Due(_check(now + _span(relative["parts"], raw), now, raw))
    if zone is None and _names_a_time(lowered):
        raise NeedsTimezone
    if zone is None:
        raise WhenError(f"I can't read {_quoted(raw)} as a time. Try {EXAMPLES}.")
    local_now = now.astimezone(zone)
    day, clock = _wall(lowered, local_now.date(), raw)
    if day is not None and abs((day - local_now.date()).days) > HORIZON.days + 1:  # before any arithmetic on it
        raise WhenError(
            "That is too far ahead: a reminder can be at most a year away."
            if day > local_now.date()
            else f"{_quoted(raw)} has already passed: pick a time in the future."
        )
    if day is None:  # a bare time of day: today's, or tomorrow's once it has passed
        day = local_now.date()
        if _local(day, clock, zone, raw) <= now:
            day += timedelta(days=1)
    return Due(_check(_local(day, clock, zone, raw), now, raw))


def _before(now: datetime, starts_at: datetime | None, title: str) -> Due:
    if starts_at is None:
        raise WhenError(f"The programme gives no start time for {title}, so `before` can't work: pick a time instead.")
    at = starts_at.astimezone(UTC) - BEFORE
    if starts_at <= now:
        raise WhenError(f"{title} has already started: pick a time to be reminded instead.")
    if at <= now:
        raise WhenError(f"{title} starts in less than ten minutes: there is no time to remind you before it.")
    return Due(_check(at, now, "before"), before=True)


def _span(parts: str, raw: str) -> timedelta:
    minutes = 0
    for amount, unit in _PART.findall(parts):
        if unit not in _UNITS:
            raise WhenError(f"I can't read {_quoted(raw)}: say minutes, hours, days or weeks (`in 2 hours`).")
        minutes += int(amount) * _UNITS[unit]
    if minutes > HORIZON.total_seconds() // 60:
        raise WhenError("That is too far ahead: a reminder can be at most a year away.")
    return timedelta(minutes=minutes)


def _names_a_time(lowered: str) -> bool:
    words = lowered.split()
    return bool(
        words
        and (
            words[0] in {"today", "tonight", "tomorrow"}
            or words[0] in _DAYS
            or _ISO.fullmatch(lowered)
            or _CLOCK.fullmatch(lowered)
        )
    )


def _wall(lowered: str, today: date, raw: str) -> tuple[date | None, time]:
    """The local day (None for "the next time it is that time") and time of day named by the text."""
    iso = _ISO.fullmatch(lowered)
    if iso is not None:
        try:
            day = date.fromisoformat(iso["day"])
        except ValueError:
            raise WhenError(f"{_quoted(raw)} is not a date in the calendar.") from None
        return day, _clock(iso["clock"], raw) if iso["clock"] else time(9, 0)
    first, _, rest = lowered.partition(" ")
    if first in {"today", "tonight"}:
        return today, _clock(rest, raw) if rest else time(20 if first == "tonight" else 18, 0)
    if first == "tomorrow":
        return today + timedelta(days=1), _clock(rest, raw) if rest else time(9, 0)
    if first in _DAYS:
        ahead = (_DAYS[first] - today.weekday()) % 7 or 7  # "saturday" on a Saturday is next week's
        return today + timedelta(days=ahead), _clock(rest, raw) if rest else time(9, 0)
    return None, _clock(lowered, raw)


def _clock(text: str, raw: str) -> time:
    text = text.strip().removeprefix("at ").strip()
    found = _CLOCK.fullmatch(text)
    if found is None:
        raise WhenError(f"I can't read {_quoted(raw)} as a time. Try {EXAMPLES}.")
    hour, minute, half = int(found["hour"]), int(found["minute"] or 0), found["half"]
    if half is not None:
        if not 1 <= hour <= 12:
            raise WhenError(f"{_quoted(raw)} is not a time of day.")
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif found["minute"] is None:
        raise WhenError(f"I can't read {_quoted(raw)} as a time: write it as `18:00` or `6pm`.")
    if hour > 23 or minute > 59:
        raise WhenError(f"{_quoted(raw)} is not a time of day.")
    return time(hour, minute)


def _local(day: date, clock: time, zone: ZoneInfo, raw: str) -> datetime:
    """The UTC instant of a local wall-clock time; refused when that time does not exist on that day."""
    wall = datetime.combine(day, clock)
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise WhenError(
            f"{clock:%H:%M} does not exist on {day:%A %d %B %Y} in {zone.key}: the clocks skip it. Pick another time."
        )
    return first.astimezone(UTC)


def _check(at: datetime, now: datetime, raw: str) -> datetime:
    if at <= now:
        raise WhenError(f"{_quoted(raw)} has already passed: pick a time in the future.")
    if at - now > HORIZON:
        raise WhenError("That is too far ahead: a reminder can be at most a year away.")
    return at
