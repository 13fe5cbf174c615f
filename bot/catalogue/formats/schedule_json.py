"""frab / pretalx / c3voc `schedule.json`, and the mapping it shares with schedule.xml.

Two shapes are read. Version 1 (frab, pretalx, the c3voc hub's compatible export) nests the talks as
schedule.conference.days[].rooms{room name: [event, ...]}. Version 2 (the c3voc hub's "schedule2")
lists them flat in schedule.events[], with ISO `start` date-times, `room` and `track` objects,
`participants` instead of `persons`, and texts that may be {language: text} objects; its `BREAK`
events are breaks and are skipped. A file with sessions that sit in neither place is refused, saying
what it holds, rather than imported as an empty event.

Mapping: event <- conference (id from its acronym, name from its title, or both from --event); talk id
<- event id + the source's numeric id (source_id keeps the guid); title <- title + subtitle; summary <-
abstract, else description, as plain text; kind <- type, else the title's label; track <- track, also
filed as a topic; date <- date (with offset; a time without one takes --timezone or the conference's
time_zone_name); ends_at <- end (version 2), else date + duration ("HH:MM"); room <- room, else the key of
the day's rooms it is listed under; stream_url <- streaming_url, else a link whose title says it is the
live stream, else the stream of its room in conference.rooms; speakers <- persons[].public_name;
recording and slides <- links and attachments whose title or host says so; language <- language (as an
ISO 639-1 code). People are told apart by the
export's own identifiers: guid, then id or code, then the name. Event fields this reader does not know
are named in the import's report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import tzinfo
from typing import Any

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, ReadSummary, TalkRecord
from bot.catalogue.formats.fields import (
    MAX_TITLE,
    Record,
    SourcePeople,
    SourcePerson,
    classify_links,
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
    load_json,
    moment,
    source_person,
    source_person_id,
    source_person_keys,
    source_person_number,
    speaker,
    stream_link,
    talk_slug,
    topic_for,
    warn_dropped_times,
)
from bot.catalogue.formats.options import ImportOptions, Progress, Ticker, zone_named
from bot.errors import CatalogueFormatError, ConfigError

log = logging.getLogger(__name__)

SOURCE = "schedule"
# Event fields read, or left out on purpose (they say nothing the catalogue keeps); others are reported.
READ_FIELDS = frozenset(("id", "guid", "code", "title", "subtitle", "date", "start", "track", "type", "abstract",
                         "description", "persons", "participants", "links", "attachments", "language", "room",
                         "duration", "end", "streaming_url"))  # fmt: skip
IGNORED_FIELDS = frozenset(("slug", "url", "logo", "recording", "recording_license",
                            "do_not_record", "do_not_stream", "optout", "video_download_url", "feedback_url",
                            "feedback", "origin_url", "answers", "room_guid", "video", "is_live_stream", "tags",
                            "state"))  # fmt: skip
_BREAK_TYPES = {"break", "pause"}


def parse(
    data: bytes | str, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read a frab/pretalx schedule.json."""
    return parse_object(load_json(data, filename), filename, options, progress=progress)


def parse_object(
    root: object, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read an already parsed schedule.json (version 1 or 2)."""
    schedule = root.get("schedule") if isinstance(root, dict) else None
    if not isinstance(schedule, dict):
        raise CatalogueFormatError(f"{filename}: not a schedule.json: no 'schedule' object at the top")
    top = Record(filename, "schedule", schedule)
    conference_data = schedule.get("conference")
    flat = schedule.get("events")
    if not isinstance(conference_data, dict):
        raise CatalogueFormatError(_not_a_schedule(filename, schedule))
    conference = Record(filename, "conference", conference_data, "conference.")
    base = top.url("base_url") or conference.url("base_url")
    events = list(_events(conference))
    shape = "frab/pretalx schedule.json"
    if flat is not None:
        tracks = _track_names(conference)
        for item in top.items("events"):
            events.append((event_record(filename, len(events) + 1, _from_version_2(item, tracks)), None))
        shape = "c3voc schedule.json (version 2)" if flat else shape
    if not events:
        found = _titled(schedule, "schedule")
        if found[0]:
            raise CatalogueFormatError(_not_a_schedule(filename, schedule, found))
    return build(conference, events, filename, options, base=base, progress=progress, shape=shape)


def _not_a_schedule(filename: str, schedule: dict[str, Any], found: tuple[int, str] | None = None) -> str:
    """One line saying what a 'schedule' object holds and where a schedule.json has its talks."""
    count, path = found if found is not None else _titled(schedule, "schedule")
    keys = ", ".join(repr(str(key)[:40]) for key in list(schedule)[:4]) + (", …" if len(schedule) > 4 else "")
    held = f"{count} objects with a title (the first at {path})" if count else "no sessions"
    return (
        f"{filename}: not a frab/pretalx/c3voc schedule.json: its 'schedule' holds {keys or 'nothing'} and "
        f"{held}; a schedule.json lists its talks in schedule.conference.days[].rooms or schedule.events"
    )


def _titled(value: object, path: str, depth: int = 0) -> tuple[int, str]:
    """How many objects below `value` have a text title (sessions, most likely), and the path of the first."""
    if depth > 12:
        return 0, ""
    count, first = 0, ""
    if isinstance(value, dict):
        if isinstance(value.get("title"), str | dict) and value.get("title"):
            return 1, path
        items: Iterable[tuple[object, object]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return 0, ""
    for key, item in items:
        if key in ("links", "attachments", "tracks", "rooms") and depth < 3 and isinstance(item, list):
            continue
        where = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        if key == "conference" and isinstance(item, dict):  # its own title names the conference
            item = {name: value for name, value in item.items() if name != "title"}
        found, where = _titled(item, where, depth + 1)
        count += found
        first = first or where
    return count, first


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
                if isinstance(item, dict) and not item.get("room") and isinstance(room, str):
                    item = {**item, "room": room}
                yield event_record(conference.filename, position, item), day_date


def _track_names(conference: Record) -> dict[str, str]:
    """Track slug -> name, from the conference's list of tracks (version 2 events name tracks by slug)."""
    names = {}
    for item in conference.items("tracks"):
        if isinstance(item, dict) and isinstance(item.get("slug"), str) and isinstance(item.get("name"), str):
            names[item["slug"]] = item["name"]
    return names


def localized(value: object) -> object:
    """A {language: text} object as one text (English first, else the first text); other values unchanged."""
    if not isinstance(value, dict) or not value:
        return value
    texts = [text for text in value.values() if isinstance(text, str) and text.strip()]
    english = value.get("en")
    if isinstance(english, str) and english.strip():
        return english
    return texts[0] if texts else None


def _from_version_2(item: object, tracks: dict[str, str]) -> object:
    """A version 2 event in the terms of version 1: date, room and track as text, persons, plain texts."""
    if not isinstance(item, dict):
        return item
    data = dict(item)
    for key in ("title", "subtitle", "abstract", "description"):
        if key in data:
            data[key] = localized(data[key])
    start = data.get("start")
    if "date" not in data and isinstance(start, str) and len(start) > 8:
        data["date"] = data.pop("start")
    room = data.get("room")
    if isinstance(room, dict):
        data["room"] = room.get("name")
    track = data.get("track")
    if isinstance(track, dict):
        name = track.get("name")
        slug = track.get("slug")
        data["track"] = name if isinstance(name, str) else tracks.get(slug, slug) if isinstance(slug, str) else None
    if "participants" in data and "persons" not in data:
        participants = data.pop("participants")
        data["persons"] = (
            [p for p in participants if not isinstance(p, dict) or p.get("role") in (None, "speaker", "moderator")]
            if isinstance(participants, list)
            else participants
        )
    return data


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
    shape: str = "frab/pretalx schedule.json",
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
    events = list(events)
    summary = ReadSummary(shape=shape, sessions=len(events))
    document = CatalogueDocument(source=source, summary=summary)
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
    people = _source_people(record for record, _ in events)
    streams = _room_streams(conference, base)
    tick = Ticker(progress, "parse", len(events))
    seen: dict[str, str] = {}
    unknown: dict[str, int] = {}
    dropped = 0
    for position, (record, day_date) in enumerate(events, start=1):
        for key, value in record.data.items():
            if key not in READ_FIELDS and key not in IGNORED_FIELDS and value not in (None, "", [], {}):
                unknown[key] = unknown.get(key, 0) + 1
        kind = record.data.get("type")
        if isinstance(kind, str) and kind.strip().lower() in _BREAK_TYPES:
            summary.skip("breaks")
            tick(position)
            continue
        talk, lost_time = _talk(record, slug, day_date, zone, base, people, streams)
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
    summary.unused = [f"{key} (on {count})" for key, count in sorted(unknown.items())]
    warn_dropped_times(filename, dropped)
    return document


def _room_streams(conference: Record, base: str | None) -> dict[str, str]:
    """Room name -> its live stream, from the conference's list of rooms when a room links one."""
    streams: dict[str, str] = {}
    for item in conference.data.get("rooms") or ():
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        for key in ("stream_url", "streaming_url", "stream", "live_url"):
            value = item.get(key)
            url = http_url(value, base) if isinstance(value, str) else None
            if url:
                streams.setdefault(item["name"].strip(), url)
                break
    return streams


def _source_people(records: Iterable[Record]) -> SourcePeople:
    """Ids for namesakes the file tells apart by person id (see `source_person_keys`).

    Persons that cannot be read are skipped here: reading the talk fails on them, in file order.
    """
    people: list[SourcePerson] = []
    for record in records:
        with suppress(CatalogueFormatError):
            people.extend(
                (_person_name(person), source_person_id(person.data), source_person_number(person.data))
                for person in record.children("persons")
            )
    return source_person_keys(people)


def _person_name(person: Record) -> str | None:
    return person.line("public_name") or person.line("name") or person.line("full_public_name")


def _talk(
    record: Record,
    event: str,
    day_date: str | None,
    zone: tzinfo | None,
    base: str | None,
    people: SourcePeople,
    streams: dict[str, str],
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
            links.append(
                (link.raw("url", limit=4000) or link.raw("href", limit=4000), link.raw("title") or link.raw("type"))
            )
    recording, slides = classify_links(links, base)
    room = record.line("room")
    stream = record.url("streaming_url", base) or stream_link(links, base) or (streams.get(room) if room else None)
    try:
        ends, _ = record.moment("end", zone)
    except CatalogueFormatError:  # an end that is no date-time: the duration says it as well
        ends = None
    ends_at = end_moment(when, ends) or end_of(when, duration_minutes(record.data.get("duration")))
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
        language=language_code(record.data.get("language")),
        ends_at=ends_at,
        room=room,
        stream_url=stream,
    )
    return talk, lost_time
