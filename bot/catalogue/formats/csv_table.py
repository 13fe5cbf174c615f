"""CSV with a header row, one talk a row (comma, semicolon or tab separated; UTF-8).

Columns are matched by header, ignoring case, accents, spaces, dashes and underscores; `--map
FIELD=COLUMN` names a column this table does not know, and `--map FIELD=` (nothing after the `=`)
switches a field off, so that no column is matched to it. Columns nothing reads are named in the
import's report (a `persons` column without `--map speakers=persons` would otherwise lose the speakers).

    field           header names understood without --map
    title (needed)  title, talk, talk title, session, session title
    id              id, talk id, session id, slug, uid, guid
    event           event, conference, event name             (else --event, for every row)
    speakers        speakers, speaker, presenters, presenter, authors, author
    organizations   organizations, organisations, organization, organisation, company, affiliation
    kind            kind, type, format, session type
    date            date, start, starts at, start time, datetime, when
    time            time, time start, begin, from, uhrzeit    (the time of a date without one)
    track           track, section, category, stream
    topics          topics, tags, keywords
    summary         summary, abstract, description
    subtitle        subtitle
    recording_url   recording url, recording, video, video url, youtube, youtube url
    slides_url      slides url, slides, slide deck, presentation
    language        language, lang, sprache, langue           (a code or a name: en, de-DE, German)
    room            room, location, venue room, hall, raum, salle
    end             end, ends at, end time, time end, until, to (a date-time, or a time on the start's day)
    duration        duration, length, minutes, dauer          ("HH:MM" or minutes; when there is no end)
    stream_url      stream url, live stream, livestream, live url, stream link

Speakers are separated by `--separator` (default ";"), each written "Name" or "Name (Organisation)".
An organizations column, split the same way, gives the organisation of the speaker at the same
position; a single value there applies to every speaker of the row. Topics split the same way.

Ids: a talk's id is its event's id, a dash, and the slug of the id column (kept as the source id); without
an id column, the slug of the title (a second talk of the same title in one event gets "-2", and so on).
Dates: ISO dates or date-times; day-first or month-first dates (27/12/14, 27.12.2014, 12/27/2014), told
apart by the file's own values (a first number over 12 is a day), with an optional time (14:00, 2:00 p.m.);
or any format given with --date-format. A time without offset takes --timezone, else keeps only its date.

A row without a title (or with a placeholder such as "tbd") is refused and counted in the report; when
no row at all can be read, the import fails naming the first such row.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, ReadSummary, SpeakerRecord, TalkRecord
from bot.catalogue.formats.fields import (
    MAX_TITLE,
    Record,
    day_of,
    distinct_speakers,
    duration_minutes,
    end_moment,
    end_of,
    event_slug,
    full_title,
    guess_kind,
    http_url,
    language_code,
    moment,
    speaker,
    talk_slug,
    topic_for,
    warn_dropped_times,
)
from bot.catalogue.formats.options import ImportOptions, Progress, Ticker
from bot.domain.models import TALK_KINDS
from bot.domain.text import TALK_ID_MAX, clean_line, fit_id, fold, slugify
from bot.errors import CatalogueFormatError, ConfigError

log = logging.getLogger(__name__)

SOURCE = "csv"
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "talk", "talk title", "session", "session title"),
    "id": ("id", "talk id", "session id", "slug", "uid", "guid"),
    "event": ("event", "conference", "event name"),
    "speakers": ("speakers", "speaker", "presenters", "presenter", "authors", "author"),
    "organizations": (
        "organizations", "organisations", "organization", "organisation", "company", "companies",
        "affiliation", "affiliations",
    ),
    "kind": ("kind", "type", "format", "session type"),
    "date": ("date", "start", "starts at", "start time", "datetime", "when"),
    "time": ("time", "time start", "begin", "from", "uhrzeit"),
    "track": ("track", "section", "category", "stream"),
    "topics": ("topics", "tags", "keywords"),
    "summary": ("summary", "abstract", "description"),
    "subtitle": ("subtitle",),
    "recording_url": ("recording url", "recording", "video", "video url", "youtube", "youtube url"),
    "slides_url": ("slides url", "slides", "slide deck", "presentation"),
    "language": ("language", "lang", "sprache", "langue"),
    "room": ("room", "location", "venue room", "hall", "raum", "salle"),
    "end": ("end", "ends at", "end time", "time end", "until", "to"),
    "duration": ("duration", "length", "minutes", "dauer"),
    "stream_url": ("stream url", "live stream", "livestream", "live url", "stream link"),
}  # fmt: skip
_EMPTY = {"", "-", "–", "n/a", "na", "none", "null", "tba", "tbd"}
_WITH_ORG = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


def parse_map(values: list[str] | tuple[str, ...] | None, option: str = "--map") -> dict[str, str]:
    """`--map` values ("title=Session name", or several joined by commas) as field -> column.

    `option` is the option's name as the person typed it, for the errors.
    """
    mapping: dict[str, str] = {}
    for value in values or ():
        for pair in value.split(","):
            field, equals, column = pair.partition("=")
            field = field.strip().lower().replace("-", "_")
            if not equals:
                raise ConfigError(f"{option} {value!r}: write FIELD=COLUMN, for example {option} title='Session name'")
            if field not in COLUMNS:
                raise ConfigError(f"{option} {value!r}: {field!r} is not a field; the fields are {', '.join(COLUMNS)}")
            if not column.strip() and field == "title":
                raise ConfigError(f"{option} {value!r}: the title cannot be switched off; name its column")
            mapping[field] = column.strip()  # empty: the field is switched off
    return mapping


def _header_key(text: str) -> str:
    return " ".join(re.split(r"[\s_\-.]+", fold(text).strip())).strip()


def decode(data: bytes | str, filename: str) -> str:
    """The file as text: UTF-8, with or without a byte order mark."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueFormatError(
            f"{filename}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8 and try again"
        ) from None


def delimiter_of(header_line: str) -> str:
    """The delimiter a header line uses: the most frequent of comma, semicolon and tab."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse(
    data: bytes | str, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read a CSV of talks."""
    text = decode(data, filename)
    if "\x00" in text:
        raise CatalogueFormatError(f"{filename}: not a CSV: it holds NUL bytes (a binary file?)")
    # The csv module's own limit (131,072 characters) fails naming neither row nor field; no field can be
    # longer than the file, and the readers' per-field limits then say which field of which row is too long.
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    # strict: a file cut off inside a quoted field fails instead of ending in a half-read row.
    # Errors name the line a row starts on, not the line the reader had got to.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text.split("\n", 1)[0]), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogueFormatError(f"{filename}: the file is empty; a CSV needs a header row") from None
    except csv.Error as exc:
        raise CatalogueFormatError(f"{filename}: line 1: not valid CSV: {exc}") from None
    columns = _columns(header, options, filename)
    separator = options.separator or ";"
    zone = options.zone()
    rows = list(_rows(reader, filename))
    dates = DateReader(
        [row[columns["date"]] for row, _ in rows if "date" in columns and columns["date"] < len(row)],
        options.date_format,
        options.option("date_format"),
    )
    summary = ReadSummary(shape="CSV table")
    document = CatalogueDocument(source=SOURCE, summary=summary)
    events: dict[str, EventRecord] = {}
    ids: dict[str, str] = {}
    tick = Ticker(progress, "parse", len(rows))
    used = set(columns.values())
    filled: set[int] = set()
    first_refusal: CatalogueFormatError | None = None
    dropped = 0
    for number, (row, line) in enumerate(rows, start=1):
        tick(number)
        if not any(cell.strip() for cell in row):
            continue
        summary.sessions += 1
        filled.update(index for index, cell in enumerate(row) if cell.strip() and index not in used)
        values = {field: row[index] for field, index in columns.items() if index < len(row)}
        label = f"row {number} (line {line})"
        if values.get("id", "").strip():
            label += f" (id {values['id'].strip()[:40]!r})"
        record = Record(filename, label, values)
        title = clean_line(values.get("title", ""))
        if not title or title.lower() in _EMPTY:
            summary.refuse("no title" if not title else f"placeholder title {title!r}")
            if first_refusal is None:
                first_refusal = record.fail("title", "is missing" if not title else f"is a placeholder ({title!r})")
            continue
        talk, lost_time = _talk(record, options, zone, separator, events, ids, document.topics, dates)
        dropped += lost_time
        document.talks.append(talk)
    tick.finish(len(rows))
    if first_refusal is not None and not document.talks:
        raise CatalogueFormatError(
            f"{first_refusal.message}; none of the file's {summary.sessions} rows has a title, so nothing was imported"
        )
    summary.unused = [_column_name(header, index) for index in sorted(filled)]
    days: dict[str, list[date]] = {slug: [] for slug in events}
    for talk in document.talks:
        day = day_of(talk.date)
        if day:
            days[talk.event].append(day)
    for event in events.values():
        document.events.append(
            EventRecord(
                slug=event.slug,
                name=event.name,
                start_date=min(days[event.slug], default=None),
                end_date=max(days[event.slug], default=None),
            )
        )
    warn_dropped_times(filename, dropped)
    return document


def _rows(reader: Any, filename: str) -> Iterator[tuple[list[str], int]]:
    """The rows after the header, each with the line it starts on (a quoted cell may span lines)."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogueFormatError(f"{filename}: line {start}: not valid CSV: {exc}") from None
        yield row, start


def _column_name(header: list[str], index: int) -> str:
    name = header[index] if index < len(header) else ""
    return repr(name) if name.strip() else f"column {index + 1} (no name)"


def _columns(header: list[str], options: ImportOptions, filename: str) -> dict[str, int]:
    keys = [_header_key(name) for name in header]
    found: dict[str, int] = {}
    off = {field for field, column in options.csv_map.items() if not column.strip()}
    for field, column in options.csv_map.items():
        if field in off:
            continue
        if _header_key(column) not in keys:
            raise CatalogueFormatError(
                f"{filename}: {options.option('csv_map')} {field}={column!r}: the header has no such column "
                f"(columns: {', '.join(repr(h) for h in header)})"
            )
        found[field] = keys.index(_header_key(column))
    taken = set(found.values())
    for field, aliases in COLUMNS.items():
        if field in found or field in off:
            continue
        for alias in aliases:
            if alias in keys and keys.index(alias) not in taken:
                found[field] = keys.index(alias)
                taken.add(found[field])
                break
    if "title" not in found:
        raise CatalogueFormatError(
            f"{filename}: line 1: no title column (columns: {', '.join(repr(h) for h in header[:20])}); "
            f"name it with {options.option('csv_map')} title=COLUMN"
        )
    return found


def _talk(
    record: Record,
    options: ImportOptions,
    zone: tzinfo | None,
    separator: str,
    events: dict[str, EventRecord],
    ids: dict[str, str],
    topic_names: dict[str, str],
    dates: DateReader,
) -> tuple[TalkRecord, bool]:
    title = full_title(
        record.line("title", required=True, limit=MAX_TITLE) or "", record.line("subtitle", limit=MAX_TITLE)
    )
    event_name = record.line("event") or options.event
    if not event_name:
        raise record.fail("event", f"is missing (add an event column, or pass {options.option('event')} NAME)")
    event = event_slug(event_name)
    events.setdefault(event, EventRecord(slug=event, name=event_name))
    source_id = record.line("id", limit=200)
    slug = talk_slug(event, source_id) if source_id else _title_slug(event, title, ids)
    if slug in ids:
        raise record.fail("id", f"repeats {ids[slug]} (talk id {slug!r})")
    ids[slug] = record.label
    when, lost_time = dates.read(record, zone)
    kind_text = record.line("kind")
    kind = kind_text.lower() if kind_text and kind_text.lower() in TALK_KINDS else guess_kind(kind_text, title)
    track = record.line("track")
    topics = [topic for topic in (topic_for(track), *_topics(record, separator)) if topic]
    for topic_slug, name in topics:
        topic_names.setdefault(topic_slug, name)
    return (
        TalkRecord(
            slug=slug,
            title=title,
            event=event,
            kind=kind,
            summary=record.summary("summary"),
            date=when,
            track=track,
            recording_url=_link(record, "recording_url"),
            slides_url=_link(record, "slides_url"),
            speakers=_speakers(record, separator),
            topics=tuple(dict.fromkeys(topic_slug for topic_slug, _ in topics)),
            source_id=source_id,
            language=language_code(record.raw("language", limit=100)),
            ends_at=_ends(record, when, zone),
            room=record.line("room"),
            stream_url=_link(record, "stream_url"),
        ),
        lost_time,
    )


def _ends(record: Record, starts: str | None, zone: tzinfo | None) -> str | None:
    """The end: the end column (a date-time, or a time on the start's day), else start + duration."""
    text = (record.raw("end", limit=64) or "").strip()
    if not starts or len(starts) <= 10:
        return None
    if text and text.lower() not in _EMPTY:
        start = datetime.fromisoformat(starts)
        at = _clock(text)
        try:
            if at is not None:
                end = datetime.combine(start.date(), at, tzinfo=start.tzinfo)
                if end < start:  # past midnight
                    end += timedelta(days=1)
                return end.isoformat()
            found = end_moment(starts, moment(text, zone)[0])
        except ValueError:
            raise record.fail("end", f"must be a time like 14:30 or a date-time (got {text[:40]!r})") from None
        if found is None:
            raise record.fail("end", f"is before the start or has no time ({text[:40]!r})")
        return found
    return end_of(starts, duration_minutes(record.data.get("duration")))


def _title_slug(event: str, title: str, ids: Mapping[str, str]) -> str:
    base = fit_id(f"{event}-{slugify(title, max_length=60) or 'talk'}", TALK_ID_MAX - 4)  # room for "-999"
    slug, number = base, 1
    while slug in ids:
        number += 1
        slug = f"{base}-{number}"
    return slug


def _link(record: Record, key: str) -> str | None:
    value = record.raw(key, limit=4000)
    if value is None or value.strip().lower() in _EMPTY:
        return None
    link = http_url(value)
    if link is None:
        raise record.fail(key, f"must be a http(s) link (got {value.strip()[:60]!r})")
    return link


def _speakers(record: Record, separator: str) -> tuple[SpeakerRecord, ...]:
    names = [part.strip() for part in (record.raw("speakers", limit=20_000) or "").split(separator)]
    organizations = [part.strip() for part in (record.raw("organizations", limit=20_000) or "").split(separator)]
    credits = []
    for position, entry in enumerate(name for name in names if name):
        organization = None
        match = _WITH_ORG.match(entry)
        if match and match.group(1).strip():
            entry, organization = match.group(1), match.group(2)
        if organization is None and any(organizations):
            organization = (
                organizations[0]
                if len(organizations) == 1
                else (organizations[position] if position < len(organizations) else None)
            )
        if len(entry) > 300 or len(organization or "") > 300:
            raise record.fail("speakers", f"entry {position + 1} is too long to be a name")
        credits.append(speaker(entry, organization))
    return distinct_speakers(credits)


def _topics(record: Record, separator: str) -> list[tuple[str, str]]:
    found = []
    for part in (record.raw("topics", limit=20_000) or "").split(separator):
        topic = topic_for(" ".join(part.split())[:200])
        if topic:
            found.append(topic)
    return found


# Dates that are not ISO: "27/12/14", "27.12.2014", "12/27/2014", with an optional time ("14:00", "2:00 p.m.").
_NUMERIC_DATE = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?:(?:\s+|T|,\s*)(.+))?")
_TIME = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?(?::(\d{2}))?\s*(?:([ap])\.?\s*m\.?)?(?:\s*uhr)?", re.I)
_HALF_DAY = 12


class DateReader:
    """Reads a CSV's date column: ISO, the --date-format, or numeric dates in the order the file shows.

    The order of day and month comes from the file's values: a first number over 12 makes the file
    day-first (27/12/14), a second one over 12 month-first (12/27/14), dotted dates are day-first. A
    file whose every date could be read both ways needs --date-format.
    """

    def __init__(self, values: list[str], date_format: str | None, option: str) -> None:
        self.date_format = date_format
        self.option = option
        self.day_first: bool | None = None
        firsts = seconds = 0
        for value in values:
            match = _NUMERIC_DATE.fullmatch(value.strip())
            if match:
                first, second = int(match.group(1)), int(match.group(3))
                firsts += first > _HALF_DAY or match.group(2) == "."
                seconds += second > _HALF_DAY
        if firsts and not seconds:
            self.day_first = True
        elif seconds and not firsts:
            self.day_first = False

    def read(self, record: Record, zone: tzinfo | None) -> tuple[str | None, bool]:
        """The row's date (with its time column, if any) as an ISO date or date-time, and whether a time was dropped."""
        text = record.raw("date", limit=64)
        if text is None or text.strip().lower() in _EMPTY:
            return None, False
        text = text.strip()
        clock = record.raw("time", limit=32)
        try:
            parsed = self._parse(text)
        except ValueError as exc:
            raise record.fail("date", str(exc)) from None
        if parsed is None:
            return record.moment("date", zone) if clock is None else self._with_time(record, text, clock, zone)
        day, at = parsed
        if at is None:
            at = _time_column(record, clock)
        if at is None:
            return day.isoformat(), False
        return moment(datetime.combine(day, at).isoformat(), zone)

    def _with_time(self, record: Record, text: str, clock: str, zone: tzinfo | None) -> tuple[str | None, bool]:
        when, lost = record.moment("date", zone)
        at = _time_column(record, clock)
        if when is None or len(when) != len("2024-01-01") or at is None:
            return when, lost
        return moment(datetime.combine(date.fromisoformat(when), at).isoformat(), zone)

    def _parse(self, text: str) -> tuple[date, time | None] | None:
        """A non-ISO date (and its time); None for ISO text; ValueError when it cannot be read."""
        if self.date_format:
            try:
                parsed = datetime.strptime(text, self.date_format)  # noqa: DTZ007 - the zone comes from --timezone
            except ValueError:
                raise ValueError(f"does not match {self.option} {self.date_format!r} (got {text[:40]!r})") from None
            has_time = any(code in self.date_format for code in ("%H", "%I", "%M"))
            return parsed.date(), parsed.time() if has_time else None
        match = _NUMERIC_DATE.fullmatch(text)
        if match is None:
            return None
        first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        if self.day_first is None:
            if first <= _HALF_DAY and second <= _HALF_DAY and first != second:
                raise ValueError(
                    f"{text!r} could be day-first or month-first, and no date in the file tells which; "
                    f"pass {self.option} (for example {self.option} %d/%m/%Y)"
                )
            day_first = first > _HALF_DAY or match.group(2) == "."
        else:
            day_first = self.day_first
        day_number, month = (first, second) if day_first else (second, first)
        if year < 100:  # two-digit years are this century's
            year += 2000
        try:
            day = date(year, month, day_number)
        except ValueError:
            raise ValueError(f"is not a date: {text!r}") from None
        at = None
        if match.group(5):
            at = _clock(match.group(5))
            if at is None:
                raise ValueError(f"has a time that cannot be read: {match.group(5)[:20]!r}")
        return day, at


def _time_column(record: Record, clock: str | None) -> time | None:
    """The row's time column as a time; None when it is empty; a value that is no time fails, naming it."""
    if clock is None or clock.strip().lower() in _EMPTY:
        return None
    at = _clock(clock)
    if at is None:
        raise record.fail("time", f"must be a time like 14:00 or 2:00 p.m. (got {clock.strip()[:20]!r})")
    return at


def _clock(text: str) -> time | None:
    """A time of day: 14:00, 14.00, 14h00, 9:30:00, 2:00 p.m., 2pm; None when it is no time."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        return None
    hour, minute, second = int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)
    half = (match.group(4) or "").lower()
    if half:
        if hour > _HALF_DAY:
            return None
        hour = hour % _HALF_DAY + (_HALF_DAY if half == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)
