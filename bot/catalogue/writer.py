"""Applying a catalogue document to the database: one transaction, an exact report, nothing half-done.

Runs on a plain `sqlite3` connection (see `bot.db.connection`): an import of 100,000 talks is a few bulk
reads and `executemany` writes, not a round trip per row.

Identity of people: a speaker with an explicit id is that person. Otherwise the name is folded (case,
accents, spacing) and matched against people already known. A match is the same person unless both
sides name an organisation and no talk ever credited that person with it: then they are taken to be
different people with the same name, and the newcomer gets an id that adds the organisation. When one
side names no organisation we cannot tell, and merge: splitting one person in two hides their talks,
while a wrong merge shows in the profile's list of organisations, where an organiser can see and fix it
(by giving the speaker an explicit id in the bundled format). Readers give explicit ids to namesakes
that the source itself keeps apart by its own person ids (see `fields.source_person_keys`).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bot.catalogue.formats.document import CatalogueDocument, SpeakerRecord, TalkRecord
from bot.db.connection import atomic
from bot.db.dialect import distinct
from bot.domain.text import name_key, slugify
from bot.errors import UserFacingError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ImportReport:
    """What an import added, changed and removed: talks by id and title, events, topics and readings by id."""

    added: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    events_added: list[str] = field(default_factory=list)
    events_changed: list[str] = field(default_factory=list)
    topics_added: list[str] = field(default_factory=list)
    topics_renamed: list[str] = field(default_factory=list)
    readings_changed: list[str] = field(default_factory=list)  # added or changed
    people_added: int = 0
    dry_run: bool = False

    @property
    def touched(self) -> bool:
        """Whether anything in the catalogue changed (or would have)."""
        return bool(
            self.added
            or self.changed
            or self.removed
            or self.events_added
            or self.events_changed
            or self.topics_added
            or self.topics_renamed
            or self.readings_changed
            or self.people_added
        )


class WouldEmptyEvents(UserFacingError):
    """The import would remove every talk of an event the catalogue holds and add none in their place."""

    def __init__(self, events: list[tuple[str, str, int]]) -> None:
        self.events = events  # (id, name, talks in the catalogue)
        listed = "; ".join(f"{name!r} ({slug}, {count} talks in the catalogue)" for slug, name, count in events)
        super().__init__(f"the file lists no talks of {listed}: importing it would remove them all")


_Signature = tuple[object, ...]


class _People:
    """Resolves speaker records to person ids, creating people as needed (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.by_slug: dict[str, int] = {}
        self.by_key: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for person_id, slug, key in conn.execute("SELECT id, slug, name_key FROM people"):
            self.by_slug[slug] = person_id
            self.by_key[key].append((slug, person_id))
        self.orgs_of: dict[int, set[str]] = defaultdict(set)
        for person_id, org in conn.execute(
            "SELECT ts.person_id, o.slug FROM talk_speakers ts JOIN organizations o ON o.id = ts.organization_id"
        ):
            self.orgs_of[person_id].add(org)
        self.added = 0

    def resolve(self, speaker: SpeakerRecord, org_slug: str | None) -> int:
        if speaker.key is not None:
            return self._get_or_create(speaker.key, speaker.name)
        key = name_key(speaker.name)
        candidates = self.by_key.get(key, [])
        if candidates:
            if org_slug is None:
                return candidates[0][1]
            for _, person_id in candidates:
                if org_slug in self.orgs_of[person_id] or not self.orgs_of[person_id]:
                    self.orgs_of[person_id].add(org_slug)
                    return person_id
            slug = f"{_slug(speaker.name, 'person')}-{org_slug}"[:100]
        else:
            slug = _slug(speaker.name, "person")
        person_id = self._get_or_create(slug, speaker.name)
        if org_slug is not None:
            self.orgs_of[person_id].add(org_slug)
        return person_id

    def _get_or_create(self, slug: str, name: str) -> int:
        existing = self.by_slug.get(slug)
        if existing is not None:
            return existing
        cursor = self.conn.execute(
            "INSERT INTO people (slug, name, name_key) VALUES (?, ?, ?) RETURNING id", (slug, name, name_key(name))
        )
        person_id = _new_id(cursor)
        self.by_slug[slug] = person_id
        self.by_key[name_key(name)].append((slug, person_id))
        self.added += 1
        return person_id


def apply_document(
    conn: sqlite3.Connection, document: CatalogueDocument, *, dry_run: bool = False, allow_empty: bool = False
) -> ImportReport:
    """Upsert the document's events, talks, people and topics; remove its events' talks it no longer lists.

    Everything happens in one transaction (a savepoint, inside the caller's); with `dry_run` it is rolled back
    after the report is made, so the report is exactly what a real run would do. A document that lists no talk
    of an event the catalogue holds talks of raises WouldEmptyEvents (a dry run too), unless `allow_empty`.
    """
    report = ImportReport(dry_run=dry_run)
    with atomic(conn, keep=not dry_run):
        _apply(conn, document, report, allow_empty=allow_empty)
    return report


def _apply(conn: sqlite3.Connection, document: CatalogueDocument, report: ImportReport, *, allow_empty: bool) -> None:
    topics = _upsert_topics(conn, document, report)
    events = _upsert_events(conn, document, report)
    orgs: dict[str, int] = {slug: oid for oid, slug in conn.execute("SELECT id, slug FROM organizations")}
    people = _People(conn)
    existing = _existing_talks(conn)
    if not allow_empty:
        _refuse_emptying(document, events, existing)

    def org_id(name: str | None) -> int | None:
        if not name:
            return None
        slug = _slug(name, "organization")
        if slug not in orgs:
            cursor = conn.execute("INSERT INTO organizations (slug, name) VALUES (?, ?) RETURNING id", (slug, name))
            orgs[slug] = _new_id(cursor)
        return orgs[slug]

    for talk in document.talks:
        credits = []
        for position, speaker in enumerate(talk.speakers, start=1):
            oid = org_id(speaker.organization)
            org_slug = _slug(speaker.organization, "organization") if speaker.organization else None
            credits.append((position, people.resolve(speaker, org_slug), speaker.role, oid))
        topic_ids = tuple(sorted(topics[t] for t in talk.topics))
        signature = _signature(talk, events[talk.event], credits, topic_ids)
        old = existing.get(talk.slug)
        if old is None:
            cursor = conn.execute(
                "INSERT INTO talks (slug, title, summary, kind, event_id, date, track, recording_url,"
                " slides_url, language, ends_at, room, stream_url,"
                " source, source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (*signature[:13], document.source, talk.source_id),
            )
            talk_id = _new_id(cursor)
            report.added.append((talk.slug, talk.title))
        elif old[1] == signature:
            report.unchanged += 1
            continue
        else:
            talk_id = old[0]
            conn.execute(
                "UPDATE talks SET title = ?, summary = ?, kind = ?, event_id = ?, date = ?, track = ?,"
                " recording_url = ?, slides_url = ?, language = ?, ends_at = ?, room = ?, stream_url = ?,"
                " source = ?, source_id = ? WHERE id = ?",
                (*signature[1:13], document.source, talk.source_id, talk_id),
            )
            conn.execute("DELETE FROM talk_speakers WHERE talk_id = ?", (talk_id,))
            conn.execute("DELETE FROM talk_topics WHERE talk_id = ?", (talk_id,))
            report.changed.append((talk.slug, talk.title))
        conn.executemany(
            "INSERT INTO talk_speakers (talk_id, position, person_id, role, organization_id) VALUES (?, ?, ?, ?, ?)",
            [(talk_id, *credit) for credit in credits],
        )
        conn.executemany("INSERT INTO talk_topics (talk_id, topic_id) VALUES (?, ?)", [(talk_id, t) for t in topic_ids])

    listed = {talk.slug for talk in document.talks}
    event_ids = {events[event.slug] for event in document.events}
    for slug, (talk_id, signature) in existing.items():
        if signature[4] in event_ids and slug not in listed:
            conn.execute("DELETE FROM talks WHERE id = ?", (talk_id,))
            report.removed.append((slug, str(signature[1])))
    for reading in document.readings:
        cursor = conn.execute(
            "INSERT INTO readings (slug, title, url, author, summary, topics) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (slug) DO UPDATE SET title = excluded.title, url = excluded.url,"
            " author = excluded.author, summary = excluded.summary, topics = excluded.topics"
            " WHERE (readings.title, readings.url, readings.author, readings.summary, readings.topics)"
            f" {distinct(conn)} (excluded.title, excluded.url, excluded.author, excluded.summary, excluded.topics)",
            (
                reading.slug,
                reading.title,
                reading.url,
                reading.author,
                reading.summary,
                ",".join(reading.topics),
            ),
        )
        if cursor.rowcount:
            report.readings_changed.append(reading.slug)
    # People and organisations no talk credits any more would linger in lookups; drop them.
    conn.execute("DELETE FROM people WHERE id NOT IN (SELECT person_id FROM talk_speakers)")
    conn.execute(
        "DELETE FROM organizations WHERE id NOT IN"
        " (SELECT organization_id FROM talk_speakers WHERE organization_id IS NOT NULL)"
    )
    report.people_added = people.added
    if report.touched:
        conn.execute("UPDATE catalogue_state SET version = version + 1 WHERE id = 1")


def _refuse_emptying(
    document: CatalogueDocument, events: dict[str, int], existing: dict[str, tuple[int, _Signature]]
) -> None:
    """Raise WouldEmptyEvents when the document lists no talk of an event that has talks now.

    An empty but valid export (a schedule with no days, a Sessionize file before the programme is out)
    would otherwise withdraw a whole event; the one who imports must say that this is meant.
    """
    listed = {talk.event for talk in document.talks}
    held = Counter(signature[4] for _, signature in existing.values())
    emptied = [
        (event.slug, event.name, held[events[event.slug]])
        for event in document.events
        if event.slug not in listed and held[events[event.slug]]
    ]
    if emptied:
        raise WouldEmptyEvents(emptied)


def _slug(name: str, kind: str) -> str:
    """A name's slug; names with no Latin letters or digits (say, in Hebrew) get one from their hash."""
    slug = slugify(name)
    if slug:
        return slug
    digest = hashlib.sha1(name_key(name).encode(), usedforsecurity=False).hexdigest()[:10]
    return f"{kind}-{digest}"


def _signature(
    talk: TalkRecord,
    event_id: int,
    credits: list[tuple[int, int, str, int | None]],
    topic_ids: tuple[int, ...],
) -> _Signature:
    return (
        talk.slug,
        talk.title,
        talk.summary,
        talk.kind,
        event_id,
        talk.date,
        talk.track,
        talk.recording_url,
        talk.slides_url,
        talk.language,
        talk.ends_at,
        talk.room,
        talk.stream_url,
        tuple(credits),
        topic_ids,
    )


def _existing_talks(conn: sqlite3.Connection) -> dict[str, tuple[int, _Signature]]:
    credits: dict[int, list[tuple[int, int, str, int | None]]] = defaultdict(list)
    for talk_id, position, person_id, role, org in conn.execute(
        "SELECT talk_id, position, person_id, role, organization_id FROM talk_speakers ORDER BY talk_id, position"
    ):
        credits[talk_id].append((position, person_id, role, org))
    topics: dict[int, list[int]] = defaultdict(list)
    for talk_id, topic_id in conn.execute("SELECT talk_id, topic_id FROM talk_topics"):
        topics[talk_id].append(topic_id)
    found: dict[str, tuple[int, _Signature]] = {}
    for row in conn.execute(
        "SELECT id, slug, title, summary, kind, event_id, date, track, recording_url, slides_url, language,"
        " ends_at, room, stream_url FROM talks"
    ):
        talk_id = row[0]
        found[row[1]] = (talk_id, (*row[1:], tuple(credits[talk_id]), tuple(sorted(topics[talk_id]))))
    return found


def _upsert_topics(conn: sqlite3.Connection, document: CatalogueDocument, report: ImportReport) -> dict[str, int]:
    known = {slug: (tid, name) for tid, slug, name in conn.execute("SELECT id, slug, name FROM topics")}
    wanted = dict(document.topics)
    for talk in document.talks:
        for slug in talk.topics:
            wanted.setdefault(slug, slug.replace("-", " ").capitalize())
    ids: dict[str, int] = {}
    for slug, name in wanted.items():
        if slug not in known:
            cursor = conn.execute("INSERT INTO topics (slug, name) VALUES (?, ?) RETURNING id", (slug, name))
            ids[slug] = _new_id(cursor)
            report.topics_added.append(slug)
        else:
            tid, old_name = known[slug]
            if slug in document.topics and old_name != name:
                conn.execute("UPDATE topics SET name = ? WHERE id = ?", (name, tid))
                report.topics_renamed.append(slug)
            ids[slug] = tid
    return ids


def _upsert_events(conn: sqlite3.Connection, document: CatalogueDocument, report: ImportReport) -> dict[str, int]:
    ids: dict[str, int] = {slug: eid for eid, slug in conn.execute("SELECT id, slug FROM events")}
    for event in document.events:
        values = (
            event.name,
            event.short_name,
            event.start_date.isoformat() if event.start_date else None,
            event.end_date.isoformat() if event.end_date else None,
            event.location,
            event.url,
        )
        if event.slug in ids:
            cursor = conn.execute(
                "UPDATE events SET name = ?, short_name = ?, start_date = ?, end_date = ?, location = ?,"
                " url = ?"
                " WHERE id = ? AND (name, short_name, start_date, end_date, location, url)"
                f" {distinct(conn)} (?, ?, ?, ?, ?, ?)",
                (*values, ids[event.slug], *values),
            )
            if cursor.rowcount:
                report.events_changed.append(event.slug)
        else:
            cursor = conn.execute(
                "INSERT INTO events (slug, name, short_name, start_date, end_date, location, url)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (event.slug, *values),
            )
            ids[event.slug] = _new_id(cursor)
            report.events_added.append(event.slug)
    for event in document.events:
        if event.parent is None:  # a file of one co-located event may not name its parent; keep the link
            continue
        parent = ids.get(event.parent)
        cursor = conn.execute(
            f"UPDATE events SET parent_id = ? WHERE id = ? AND parent_id {distinct(conn)} ?",
            (parent, ids[event.slug], parent),
        )
        changed = report.events_changed + report.events_added
        if cursor.rowcount and event.slug not in changed:
            report.events_changed.append(event.slug)
    return ids


def _new_id(cursor: sqlite3.Cursor) -> int:
    """The id an `INSERT ... RETURNING id` gave (the same SQL on both engines; `lastrowid` is SQLite's)."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("an insert returned no id")
    return int(row[0])
