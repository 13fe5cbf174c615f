"""CSV with a header row, one talk a row (comma, semicolon or tab separated; UTF-8).

Columns are matched by header, ignoring case, accents, spaces, dashes and underscores; `--map
FIELD=COLUMN` names a column this table does not know. Other columns are ignored.

    field           header names understood without --map
    title (needed)  title, talk, talk title, session, session title
    id              id, talk id, session id, slug, uid, guid
    event           event, conference, event name             (else --event, for every row)
    speakers        speakers, speaker, presenters, presenter, authors, author
    organizations   organizations, organisations, organization, organisation, company, affiliation
    kind            kind, type, format, session type
    date            date, start, starts at, start time, datetime, when
    track           track, section, category, stream
    topics          topics, tags, keywords
    summary         summary, abstract, description
    subtitle        subtitle
    recording_url   recording url, recording, video, video url, youtube, youtube url
    slides_url      slides url, slides, slide deck, presentation

Speakers are separated by `--separator` (default ";"), each written "Name" or "Name (Organisation)".
An organizations column, split the same way, gives the organisation of the speaker at the same
position; a single value there applies to every speaker of the row. Topics split the same way.

Ids: a talk's id is its event's id, a dash, and the slug of the id column (kept as the source id); without
an id column, the slug of the title (a second talk of the same title in one event gets "-2", and so on).
Dates: ISO dates, or date-times; a time without offset takes --timezone, else keeps only its date.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Mapping
from datetime import date, tzinfo

from bot.catalogue.document import CatalogueDocument, EventRecord, SpeakerRecord, TalkRecord
from bot.catalogue.formats.fields import (
    MAX_TITLE,
    Record,
    day_of,
    distinct_speakers,
    event_slug,
    full_title,
    guess_kind,
    http_url,
    speaker,
    talk_slug,
    topic_for,
    warn_dropped_times,
)
from bot.catalogue.formats.options import ImportOptions, Progress, Ticker
from bot.domain.models import TALK_KINDS
from bot.domain.text import TALK_ID_MAX, fit_id, fold, slugify
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
    "track": ("track", "section", "category", "stream"),
    "topics": ("topics", "tags", "keywords"),
    "summary": ("summary", "abstract", "description"),
    "subtitle": ("subtitle",),
    "recording_url": ("recording url", "recording", "video", "video url", "youtube", "youtube url"),
    "slides_url": ("slides url", "slides", "slide deck", "presentation"),
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
            if not equals or not column.strip():
                raise ConfigError(f"{option} {value!r}: write FIELD=COLUMN, for example {option} title='Session name'")
            if field not in COLUMNS:
                raise ConfigError(f"{option} {value!r}: {field!r} is not a field; the fields are {', '.join(COLUMNS)}")
            mapping[field] = column.strip()
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
    document = CatalogueDocument(source=SOURCE)
    events: dict[str, EventRecord] = {}
    ids: dict[str, str] = {}
    tick = Ticker(progress, "parse", max(text.count("\n") - 1, 1))
    dropped = rows = 0
    try:
        for row in reader:
            rows += 1
            tick(rows)
            if not any(cell.strip() for cell in row):
                continue
            values = {field: row[index] for field, index in columns.items() if index < len(row)}
            label = f"row {rows} (line {reader.line_num})"
            if values.get("id", "").strip():
                label += f" (id {values['id'].strip()[:40]!r})"
            record = Record(filename, label, values)
            talk, lost_time = _talk(record, options, zone, separator, events, ids, document.topics)
            dropped += lost_time
            document.talks.append(talk)
    except csv.Error as exc:
        raise CatalogueFormatError(f"{filename}: line {reader.line_num}: not valid CSV: {exc}") from None
    tick.finish(rows)
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


def _columns(header: list[str], options: ImportOptions, filename: str) -> dict[str, int]:
    keys = [_header_key(name) for name in header]
    found: dict[str, int] = {}
    for field, column in options.csv_map.items():
        if _header_key(column) not in keys:
            raise CatalogueFormatError(
                f"{filename}: {options.option('csv_map')} {field}={column!r}: the header has no such column "
                f"(columns: {', '.join(repr(h) for h in header)})"
            )
        found[field] = keys.index(_header_key(column))
    taken = set(found.values())
    for field, aliases in COLUMNS.items():
        if field in found:
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
    when, lost_time = record.moment("date", zone)
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
        ),
        lost_time,
    )


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
