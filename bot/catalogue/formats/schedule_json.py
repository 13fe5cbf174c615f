"""frab / pretalx `schedule.json` (the C3VOC schedule format), and the mapping it shares with schedule.xml.

Mapping: event <- conference (id from its acronym, name from its title, or both from --event); talk id
<- event id + the source's numeric id (source_id keeps the guid); title <- title + subtitle; summary <-
abstract, else description, as plain text; kind <- type, else the title's label; track <- track, also
filed as a topic; date <- date (with offset; a time without one takes --timezone or the conference's
time_zone_name); speakers <- persons[].public_name; recording and slides <- links and attachments whose
title or host says so. Fields this reader does not know are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import tzinfo

from bot.catalogue.document import CatalogueDocument, EventRecord, TalkRecord
from bot.catalogue.formats.fields import (
    MAX_TITLE,
    Record,
    SourcePeople,
    classify_links,
    day_of,
    distinct_speakers,
    event_slug,
    full_title,
    guess_kind,
    load_json,
    moment,
    source_person,
    source_person_id,
    source_person_keys,
    speaker,
    talk_slug,
    topic_for,
    warn_dropped_times,
)
from bot.catalogue.formats.options import ImportOptions, Progress, Ticker, zone_named
from bot.errors import CatalogueFormatError, ConfigError

log = logging.getLogger(__name__)

SOURCE = "schedule"


def parse(
    data: bytes | str, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read a frab/pretalx schedule.json."""
    return parse_object(load_json(data, filename), filename, options, progress=progress)


def parse_object(
    root: object, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read an already parsed schedule.json."""
    schedule = root.get("schedule") if isinstance(root, dict) else None
    if not isinstance(schedule, dict):
        raise CatalogueFormatError(f"{filename}: not a schedule.json: no 'schedule' object at the top")
    top = Record(filename, "schedule", schedule)
    conference_data = schedule.get("conference")
    if not isinstance(conference_data, dict):
        raise top.fail("conference", "must be an object with the conference and its days")
    conference = Record(filename, "conference", conference_data, "conference.")
    base = top.url("base_url") or conference.url("base_url")
    events = list(_events(conference))
    return build(conference, events, filename, options, base=base, progress=progress)


def _events(conference: Record) -> Iterator[tuple[Record, str | None]]:
    position = 0
    for day_index, day in enumerate(conference.items("days")):
        day_record = conference.child("days", day_index, day)
        rooms = day_record.data.get("rooms") or {}
        if not isinstance(rooms, dict):
            raise day_record.fail("rooms", "must be an object of room name -> list of events")
        day_date = day_record.raw("date", limit=32)
        for room, talks in rooms.items():
            if not isinstance(talks, list):
                raise day_record.fail(f"rooms.{room}", "must be a list of events")
            for item in talks:
                position += 1
                yield event_record(conference.filename, position, item), day_date


def event_record(filename: str, position: int, data: object) -> Record:
    """The record of the n-th event of a schedule, labelled with its position and id."""
    label = f"event #{position}"
    if not isinstance(data, dict):
        raise CatalogueFormatError(f"{filename}: {label}: must be an object, not {type(data).__name__}")
    ident = data.get("id")
    if isinstance(ident, int) and not isinstance(ident, bool):
        label += f" (id {ident})"
    elif isinstance(ident, str):
        label += f" (id {ident[:40]!r})"
    return Record(filename, label, data)


def conference_zone(conference: Record, options: ImportOptions) -> tzinfo | None:
    """--timezone, else the conference's own time_zone_name when it names a real zone."""
    zone = options.zone()
    if zone is not None:
        return zone
    name = conference.line("time_zone_name", limit=64)
    if not name:
        return None
    try:
        return zone_named(name, f"{conference.filename}: conference.time_zone_name")
    except ConfigError as exc:
        log.warning("%s; times without an offset keep only their dates", exc.message)
        return None


def build(
    conference: Record,
    events: Iterable[tuple[Record, str | None]],
    filename: str,
    options: ImportOptions,
    *,
    base: str | None,
    progress: Progress | None = None,
    source: str = SOURCE,
) -> CatalogueDocument:
    """The document for one conference and its events (schedule.json and schedule.xml alike)."""
    acronym = conference.line("acronym")
    title = conference.line("title", limit=MAX_TITLE)
    if not (options.event or acronym or title):
        raise conference.fail("title", f"is missing (or pass {options.option('event')} NAME)")
    name = options.event or title or acronym or ""
    slug = event_slug(options.event or acronym or title or "")
    start = day_of(conference.moment("start", None)[0])
    end = day_of(conference.moment("end", None)[0])
    if start and end and end < start:
        raise conference.fail("end", f"is before the start ({end} < {start})")
    zone = conference_zone(conference, options)
    document = CatalogueDocument(source=source)
    document.events.append(
        EventRecord(
            slug=slug,
            name=name,
            short_name=acronym if acronym and not options.event and acronym != name else None,
            start_date=start,
            end_date=end,
            url=base,
        )
    )
    events = list(events)
    people = _source_people(record for record, _ in events)
    tick = Ticker(progress, "parse", len(events))
    seen: dict[str, str] = {}
    dropped = 0
    for position, (record, day_date) in enumerate(events, start=1):
        talk, lost_time = _talk(record, slug, day_date, zone, base, people)
        dropped += lost_time
        for key in filter(None, (talk.slug, talk.source_id)):
            if key in seen:
                raise record.fail("id", f"repeats {seen[key]} (id {key!r})")
            seen[key] = record.label
        topic = topic_for(talk.track)
        if topic:
            document.topics.setdefault(*topic)
        document.talks.append(talk)
        tick(position)
    tick.finish(len(events))
    warn_dropped_times(filename, dropped)
    return document


def _source_people(records: Iterable[Record]) -> SourcePeople:
    """Ids for namesakes the file tells apart by person id (see `source_person_keys`).

    Persons that cannot be read are skipped here: reading the talk fails on them, in file order.
    """
    pairs: list[tuple[str | None, str | None]] = []
    for record in records:
        with suppress(CatalogueFormatError):
            pairs.extend((_person_name(person), source_person_id(person.data)) for person in record.children("persons"))
    return source_person_keys(pairs)


def _person_name(person: Record) -> str | None:
    return person.line("public_name") or person.line("name") or person.line("full_public_name")


def _talk(
    record: Record, event: str, day_date: str | None, zone: tzinfo | None, base: str | None, people: SourcePeople
) -> tuple[TalkRecord, bool]:
    ident = record.line("id", numbers=True, limit=64)
    guid = record.line("guid", limit=64)
    if not ident and not guid:
        raise record.fail("id", "is missing (and so is 'guid')")
    title = full_title(
        record.line("title", required=True, limit=MAX_TITLE) or "", record.line("subtitle", limit=MAX_TITLE)
    )
    when, lost_time = record.moment("date", zone)
    if when is None and day_date:
        start = record.raw("start", limit=8)
        try:
            when, lost_time = moment(f"{day_date[:10]}T{start.strip()}" if start else day_date[:10], zone)
        except ValueError:
            raise record.fail(
                "start", f"must be a time like 09:30 on a day like 2024-04-20 (day {day_date[:10]!r})"
            ) from None
    credits = []
    for person in record.children("persons"):
        name = _person_name(person)
        if name is None:
            raise person.fail("public_name", "is missing")
        credits.append(source_person(speaker(name), source_person_id(person.data), people))
    links: list[tuple[str | None, str | None]] = []
    for key in ("links", "attachments"):
        for link in record.children(key):
            links.append((link.raw("url", limit=4000) or link.raw("href", limit=4000), link.raw("title")))
    recording, slides = classify_links(links, base)
    track = record.line("track")
    topic = topic_for(track)
    talk = TalkRecord(
        slug=talk_slug(event, ident or guid or ""),
        title=title,
        event=event,
        kind=guess_kind(record.line("type"), title),
        summary=record.summary("abstract") or record.summary("description"),
        date=when,
        track=track,
        recording_url=recording,
        slides_url=slides,
        speakers=distinct_speakers(credits),
        topics=(topic[0],) if topic else (),
        source_id=guid or ident,
    )
    return talk, lost_time
