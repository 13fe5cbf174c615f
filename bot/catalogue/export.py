"""Reading the catalogue back out as a document, so it can be written in the bundled format.

The export is exact: writing it with `dump_native` and importing the file again changes nothing. Two
details make that so. A speaker carries an explicit id only when the name alone would not find the
same person again (another person has the same folded name, or the person's id is not the slug of
their name). An event's parent is kept only when the parent is exported too, as the format requires.
"""

from __future__ import annotations

import difflib
import sqlite3
from collections import Counter, defaultdict
from datetime import date

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, ReadingRecord, SpeakerRecord, TalkRecord
from bot.domain.text import fold, slugify
from bot.errors import EventNotFound


def resolve_event(conn: sqlite3.Connection, name: str) -> str:
    """The id of the event a person means by `name`: its id, its name or its short name, in any case."""
    wanted = name.strip()
    rows = [
        (str(slug), str(full), str(short or ""))
        for slug, full, short in conn.execute("SELECT slug, name, short_name FROM events ORDER BY slug")
    ]
    if any(slug == wanted for slug, _, _ in rows):
        return wanted
    for slug, full, short in rows:
        if fold(wanted) in (fold(full), fold(short)) or slugify(wanted) == slug:
            return slug
    labels = [short or full for _, full, short in rows]
    suggestions = tuple(difflib.get_close_matches(wanted, labels, n=5, cutoff=0.4)) or tuple(labels[:5])
    raise EventNotFound(f"No event is called {wanted!r}.", suggestions)


def export_document(conn: sqlite3.Connection, event_slug: str | None = None) -> CatalogueDocument:
    """The whole catalogue (with readings), or one event with its co-located events, as a document."""
    document = CatalogueDocument(source="export")
    events = _events(conn, event_slug)
    document.events.extend(events.values())
    event_ids = list(events)
    talks = _talks(conn, event_ids, events)
    used_topics = {topic for talk in talks for topic in talk.topics}
    if event_slug is None:
        document.readings.extend(_readings(conn))
        used_topics.update(topic for reading in document.readings for topic in reading.topics)
    known = {str(slug): str(name) for slug, name in conn.execute("SELECT slug, name FROM topics")}
    document.topics = {slug: known.get(slug, slug.replace("-", " ").capitalize()) for slug in sorted(used_topics)}
    document.talks.extend(talks)
    return document


def _events(conn: sqlite3.Connection, event_slug: str | None) -> dict[int, EventRecord]:
    rows = conn.execute(
        "SELECT e.id, e.slug, e.name, e.short_name, e.start_date, e.end_date, e.location, e.url, e.parent_id"
        " FROM events e ORDER BY e.parent_id IS NOT NULL, e.start_date IS NULL, e.start_date, e.slug"
    ).fetchall()
    slugs = {int(row[0]): str(row[1]) for row in rows}
    if event_slug is None:
        chosen = set(slugs)
    else:
        root = next((event_id for event_id, slug in slugs.items() if slug == event_slug), None)
        if root is None:
            raise EventNotFound(f"No event has the id {event_slug!r}.")
        children: dict[int, list[int]] = defaultdict(list)
        for row in rows:
            if row[8] is not None:
                children[int(row[8])].append(int(row[0]))
        chosen, pending = set(), [root]
        while pending:
            current = pending.pop()
            if current not in chosen:
                chosen.add(current)
                pending.extend(children[current])
    events: dict[int, EventRecord] = {}
    for event_id, slug, name, short, start, end, location, url, parent in rows:
        if event_id not in chosen:
            continue
        events[int(event_id)] = EventRecord(
            slug=str(slug),
            name=str(name),
            short_name=short,
            start_date=date.fromisoformat(start) if start else None,
            end_date=date.fromisoformat(end) if end else None,
            location=location,
            url=url,
            parent=slugs[int(parent)] if parent is not None and int(parent) in chosen else None,
        )
    return events


def _talks(conn: sqlite3.Connection, event_ids: list[int], events: dict[int, EventRecord]) -> list[TalkRecord]:
    if not event_ids:
        return []
    wanted = set(event_ids)
    order = {event_id: position for position, event_id in enumerate(event_ids)}
    people = {
        int(person_id): (str(slug), str(name), str(key))
        for person_id, slug, name, key in conn.execute("SELECT id, slug, name, name_key FROM people")
    }
    shared_keys = Counter(key for _, _, key in people.values())
    organizations = {int(oid): str(name) for oid, name in conn.execute("SELECT id, name FROM organizations")}
    credits: dict[int, list[SpeakerRecord]] = defaultdict(list)
    for talk_id, person_id, role, org_id in conn.execute(
        "SELECT talk_id, person_id, role, organization_id FROM talk_speakers ORDER BY talk_id, position"
    ):
        slug, name, key = people[int(person_id)]
        explicit = shared_keys[key] > 1 or slug != slugify(name)
        credits[int(talk_id)].append(
            SpeakerRecord(
                name=name,
                organization=organizations[int(org_id)] if org_id is not None else None,
                role=str(role),
                key=slug if explicit else None,
            )
        )
    topics: dict[int, list[str]] = defaultdict(list)
    for talk_id, slug in conn.execute(
        "SELECT tt.talk_id, t.slug FROM talk_topics tt JOIN topics t ON t.id = tt.topic_id ORDER BY t.slug"
    ):
        topics[int(talk_id)].append(str(slug))
    rows = conn.execute(
        "SELECT id, slug, title, event_id, kind, summary, date, track, recording_url, slides_url, source_id,"
        " language, ends_at, room, stream_url FROM talks ORDER BY slug"
    ).fetchall()
    talks = []
    for row in rows:
        talk_id, slug, title, event_id, kind, summary, when, track, recording, slides, source_id, language = row[:12]
        ends_at, room, stream_url = row[12:]
        if int(event_id) not in wanted:
            continue
        talks.append(
            (
                order[int(event_id)],
                TalkRecord(
                    slug=str(slug),
                    title=str(title),
                    event=events[int(event_id)].slug,
                    kind=str(kind),
                    summary=str(summary or ""),
                    date=when,
                    track=track,
                    recording_url=recording,
                    slides_url=slides,
                    speakers=tuple(credits[int(talk_id)]),
                    topics=tuple(topics[int(talk_id)]),
                    source_id=source_id,
                    language=language,
                    ends_at=ends_at,
                    room=room,
                    stream_url=stream_url,
                ),
            )
        )
    talks.sort(key=lambda pair: (pair[0], pair[1].date or "~", pair[1].slug))
    return [talk for _, talk in talks]


def _readings(conn: sqlite3.Connection) -> list[ReadingRecord]:
    return [
        ReadingRecord(
            slug=str(slug),
            title=str(title),
            url=url,
            author=author,
            summary=str(summary or ""),
            topics=tuple(topic for topic in str(topics or "").split(",") if topic),
        )
        for slug, title, url, author, summary, topics in conn.execute(
            "SELECT slug, title, url, author, summary, topics FROM readings ORDER BY slug"
        )
    ]
