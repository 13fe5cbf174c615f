"""Sched (sched.com) iCalendar exports: the `.ics` a Sched programme offers ("Add to calendar", `/all.ics`).

KubeCon and most CNCF events publish their programmes on Sched. Its calendar export is read as follows:

- Event: `--event NAME`, else the name in the calendar's PRODID ("-//Sched.com KubeCon + CloudNativeCon
  Europe 2026//EN"), else its X-WR-CALNAME.
- Talks: one per VEVENT; the UID is the source id, so re-importing updates talks in place.
- Speakers: Sched writes them at the end of the SUMMARY, "Title - Name, Role, Company & Name, Company";
  some programmes put them in the DESCRIPTION instead, on a line "Speakers: Name, Company; Name, Company"
  (or names alone, "Speakers: Name; Name"). The first part of each entry is the name and the last, when
  there are two or more, the organisation. A title whose tail does not read as such a list, with names
  of two or more words, keeps its title whole and its speakers unknown rather than guessed.
- Track and kind: CATEGORIES (Sched's session type, upper-cased in the export): the track, and the kind
  when it says keynote, lightning, panel, workshop or tutorial. Breaks and registration desks (categories
  BREAKS, REGISTRATION, ...) are skipped and counted in the report.
- Times: DTSTART and DTEND with their offsets (UTC in Sched's exports); `--timezone` converts them to the
  event's zone. Room: LOCATION, as written.

What the calendar leaves out: speakers' biographies, tracks beyond the one category, recordings and
slides (Sched links them only on its web pages).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, ReadSummary, SpeakerRecord, TalkRecord
from bot.catalogue.formats.fields import (
    MAX_LINE,
    MAX_TITLE,
    day_of,
    distinct_speakers,
    end_moment,
    event_slug,
    guess_kind,
    plain_text,
    speaker,
    talk_slug,
    topic_for,
)
from bot.catalogue.formats.options import ImportOptions, Progress, Ticker
from bot.domain.text import clean_line, fold
from bot.errors import CatalogueFormatError

log = logging.getLogger(__name__)
_T = TypeVar("_T")

SOURCE = "sched"
_PRODID = re.compile(r"-//Sched\.com\s+(.+?)//", re.I)
_SKIPPED = {
    "breaks": "breaks",
    "break": "breaks",
    "meals": "breaks",
    "meal": "breaks",
    "lunch": "breaks",
    "coffee break": "breaks",
    "registration": "service sessions (registration)",
    "badge pick-up": "service sessions (registration)",
}
_SPEAKER_LINE = re.compile(r"^\s*(?:speakers?|presenters?|presented by|referent(?:en|innen)?)\s*:\s*(.+)$", re.I | re.M)
_READ_PROPERTIES = {"SUMMARY", "DESCRIPTION", "CATEGORIES", "DTSTART", "DTEND", "LOCATION", "UID", "URL"}
_IGNORED_PROPERTIES = {"DTSTAMP", "SEQUENCE", "CREATED", "LAST-MODIFIED", "STATUS", "DURATION"}


def is_sched(data: bytes) -> bool:
    """Whether an iCalendar file was written by Sched (its PRODID says so)."""
    return bool(re.search(rb"^PRODID:[^\r\n]*Sched\.com", data[:4096], re.M | re.I))


def parse(
    data: bytes | str, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read a Sched .ics export."""
    import icalendar  # only imports of Sched files pay for it

    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not is_sched(raw):
        prodid = re.search(rb"^PRODID:([^\r\n]{0,80})", raw[:4096], re.M)
        made_by = prodid.group(1).decode("utf-8", "replace").strip() if prodid else "no PRODID"
        raise CatalogueFormatError(
            f"{filename}: an iCalendar file, but not one of Sched's ({made_by}); for pretalx or frab "
            "programmes import their schedule.json or schedule.xml, which keep speakers and tracks"
        )
    _check_text(raw, filename)
    try:
        calendar = icalendar.Calendar.from_ical(raw)
    except ValueError as exc:
        raise CatalogueFormatError(f"{filename}: not a readable iCalendar file: {str(exc)[:200]}") from None
    name = options.event or _calendar_name(calendar)
    if not name:
        raise CatalogueFormatError(f"{filename}: the calendar does not name its event; pass {options.option('event')}")
    slug = event_slug(name)
    zone = options.zone()
    events = list(calendar.walk("VEVENT"))
    summary = ReadSummary(shape="Sched calendar (.ics)", sessions=len(events))
    document = CatalogueDocument(source=SOURCE, summary=summary)
    tick = Ticker(progress, "parse", len(events))
    seen: dict[str, int] = {}
    unknown: dict[str, int] = {}
    for position, event in enumerate(events, start=1):
        tick(position)
        for key in event:
            if key not in _READ_PROPERTIES and key not in _IGNORED_PROPERTIES and not key.startswith("X-"):
                unknown[key] = unknown.get(key, 0) + 1
        label = f"event #{position}"
        uid = clean_line(str(event.get("UID") or ""))[:200]
        if uid:
            label += f" (UID {uid[:40]!r})"
        text = clean_line(str(event.get("SUMMARY") or ""))
        category = _read(event, "CATEGORIES", _category, filename, label)
        skip = _SKIPPED.get(fold(category or "")) or _SKIPPED.get(fold(text))
        if skip:
            summary.skip(skip)
            continue
        if not text:
            summary.refuse("no title (SUMMARY)")
            continue
        if not uid:
            raise CatalogueFormatError(f"{filename}: {label}: property 'UID' is missing")
        if uid in seen:
            raise CatalogueFormatError(f"{filename}: {label}: property 'UID' repeats event #{seen[uid]}")
        seen[uid] = position
        description = str(event.get("DESCRIPTION") or "")
        title, credits = split_summary(text)
        listed = _SPEAKER_LINE.search(description)
        if not credits and listed:
            credits = speaker_list(listed.group(1))
            if credits:  # a line that names no one readably stays in the summary
                description = description[: listed.start()] + description[listed.end() :]
        if len(title) > MAX_TITLE:
            raise CatalogueFormatError(f"{filename}: {label}: property 'SUMMARY' is {len(title):,} characters long")
        track = _display(category) if category else None
        topic = topic_for(track)
        if topic:
            document.topics.setdefault(*topic)
        starts = _read(event, "DTSTART", lambda value: _when(value, zone), filename, label)
        ends = _read(event, "DTEND", lambda value: _when(value, zone), filename, label)
        room = clean_line(str(event.get("LOCATION") or ""))[:MAX_LINE] or None
        document.talks.append(
            TalkRecord(
                slug=talk_slug(slug, uid),
                title=title,
                event=slug,
                kind=guess_kind(category, title),
                summary=plain_text(description.replace("&nbsp;", " ")),
                date=starts,
                track=track,
                speakers=distinct_speakers(credits),
                topics=(topic[0],) if topic else (),
                source_id=uid,
                ends_at=end_moment(starts, ends),
                room=room,
            )
        )
    tick.finish(len(events))
    summary.unused = [f"{key} (on {count})" for key, count in sorted(unknown.items())]
    days = sorted(day for talk in document.talks if (day := day_of(talk.date)))
    document.events.append(
        EventRecord(slug=slug, name=name, start_date=days[0] if days else None, end_date=days[-1] if days else None)
    )
    return document


def _calendar_name(calendar: Any) -> str | None:
    prodid = _PRODID.search(str(calendar.get("PRODID") or ""))
    if prodid and prodid.group(1).strip():
        return clean_line(prodid.group(1))
    return clean_line(str(calendar.get("X-WR-CALNAME") or "")) or None


def _check_text(raw: bytes, filename: str) -> None:
    """Refuse a file that is not UTF-8, which the calendar parser would read with replacement characters."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CatalogueFormatError(
            f"{filename}: not UTF-8 text (byte {exc.start}, line {line}); save the calendar as UTF-8 and try again"
        ) from None


def _read(event: Any, name: str, read: Callable[[Any], _T], filename: str, label: str) -> _T:
    """`read` of the event's property `name`; a property the calendar parser could not read fails naming it."""
    value = event.get(name)
    try:
        return read(value)
    except ValueError:  # icalendar's BrokenCalendarProperty, raised when a broken value is used
        raw = clean_line(str(value))[:40]
        raise CatalogueFormatError(f"{filename}: {label}: property {name!r} cannot be read (got {raw!r})") from None


def _category(value: Any) -> str | None:
    values = value if isinstance(value, list) else [value] if value is not None else []
    for item in values:
        for category in getattr(item, "cats", [item]):
            text = clean_line(str(category))
            if text:
                return text
    return None


def _display(category: str) -> str:
    """An upper-cased Sched category as a name: "KEYNOTE SESSIONS" -> "Keynote Sessions", "AI + ML" kept."""
    if category != category.upper():
        return category
    return " ".join(word if len(word) <= 3 else word.capitalize() for word in category.split())


def _when(value: Any, zone: Any) -> str | None:
    moment = getattr(value, "dt", None)
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            return moment.replace(tzinfo=zone).isoformat() if zone is not None else moment.date().isoformat()
        return (moment.astimezone(zone) if zone is not None else moment).isoformat()
    if isinstance(moment, date):
        return moment.isoformat()
    return None


def split_summary(text: str) -> tuple[str, list[SpeakerRecord | None]]:
    """A Sched SUMMARY as its title and speakers: "Title - Name, Role, Company & Name, Company".

    The speakers follow the last " - "; each entry needs a comma (name, then organisation) and a name
    that looks like a person's (two or more words, see `_looks_like_name`), so a title with a dash in it
    ("Scaling - A Story", "Kubernetes - Past, Present and Future") is not mistaken for one with speakers.
    """
    head, dash, tail = text.rpartition(" - ")
    if not dash or not head.strip():
        return text, []
    credits = parse_people(tail)
    if not credits or not all(credit is not None and _looks_like_name(credit.name) for credit in credits):
        return text, []
    return head.strip(), credits


def parse_people(text: str) -> list[SpeakerRecord | None]:
    """Speakers from "Name, Role, Company & Name, Company"; none when an entry is no "Name, Company"."""
    entries: list[str] = []
    for piece in re.split(r"\s&\s", text):
        if "," not in piece and entries:
            entries[-1] += f" & {piece}"  # "Ernst & Young" is one company
        else:
            entries.append(piece)
    credits: list[SpeakerRecord | None] = []
    for entry in entries:
        parts = [part.strip() for part in entry.split(",") if part.strip()]
        if len(parts) < 2 or len(parts[0]) > 80 or len(parts[0].split()) > 6:
            return []
        credits.append(speaker(parts[0], parts[-1]))
    return credits


def speaker_list(text: str) -> list[SpeakerRecord | None]:
    """Speakers from a DESCRIPTION's "Speakers:" line; none when it cannot be read.

    Read are "Name, Company; Name, Company" and "Name; Name" (entries split at semicolons, each a name
    with an optional role and organisation), "Name, Company & Name, Company" as in the SUMMARY, and
    lists of names alone, "Name, Name & Name". Without semicolons a comma may separate a name from an
    organisation or from the next name: the parts are names when every one looks like a person's name
    (two or more words, see `_looks_like_name`), as "Jane Doe, John Roe" does and "Jane Doe, Acme" does not.
    """
    text = clean_line(text)
    if ";" in text:
        credits: list[SpeakerRecord | None] = []
        for piece in text.split(";"):
            parts = [part.strip() for part in piece.split(",") if part.strip()]
            if not parts:
                continue
            name = _LEADING_AND.sub("", parts[0])
            if not _looks_like_name(name, words_needed=1):
                return []
            credits.append(speaker(name, parts[-1] if len(parts) > 1 else None))
        return credits
    names = [name for name in (part.strip() for part in _NAME_SEPARATOR.split(text)) if name]
    if "," not in text and all(_looks_like_name(name, words_needed=1) for name in names):
        return [speaker(name) for name in names]
    if len(names) > 1 and all(_looks_like_name(name) for name in names):
        return [speaker(name) for name in names]
    return parse_people(text)


_NAME_SEPARATOR = re.compile(r",\s*(?:(?:and|&)\s+)?|\s+(?:and|&)\s+", re.I)
_LEADING_AND = re.compile(r"^(?:and|&)\s+", re.I)
# Words that are no part of a person's name ("Past, Present and Future", "Lessons from the Field").
_NOT_IN_NAMES = frozenset(
    {"and", "at", "by", "for", "from", "how", "in", "into", "is", "of", "on", "or", "our", "the", "to", "versus",
     "vs", "what", "when", "why", "with", "without", "your"}
)  # fmt: skip


def _looks_like_name(text: str, *, words_needed: int = 2) -> bool:
    """Whether `text` reads as a person's name: 2 (or `words_needed`) to 6 words, no digits, no "and" or "the".

    Every word needs a letter and, for two or more words, one word a capital ("Jane Doe", "Ana de la
    Cruz"); a name in a script without capitals may be one word ("王小明"). "Present and Future",
    "Part 2" and "Lessons learned from the field" are no names.
    """
    names = text.split()
    cased = [name for name in names if any(char.isupper() or char.islower() for char in name)]
    if not (words_needed if cased else 1) <= len(names) <= 6 or len(text) > 80:
        return False
    if any(char.isdigit() for char in text) or any(fold(name) in _NOT_IN_NAMES for name in names):
        return False
    if not all(any(char.isalpha() for char in name) for name in names):
        return False
    # A speaker's name may be a lower-case handle ("pixie"); a title's words rarely lack every capital.
    return words_needed < 2 or not cased or any(name[0].isupper() for name in cased)
