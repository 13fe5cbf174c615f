"""Reading the catalogue for display: talks, people, events and topics as domain objects.

Every read is a small indexed look-up (a version number, the few talks on a page) on the gateway's read path
(bot.db.gateway), in place on the event loop's thread. Hydrated talks are kept (up to `TALK_CACHE`) until the
catalogue's version changes.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.db.gateway import Database, Session
from bot.domain.models import Count, Credit, Event, Talk, Topic

_TALK_COLUMNS = (
    "t.id, t.slug, t.title, t.kind, t.summary, t.date, t.track, t.recording_url, t.slides_url, t.language,"
    " e.slug, e.name, e.short_name, e.start_date, e.end_date, e.location, e.url, pe.slug,"
    " t.ends_at, t.room, t.stream_url"
)


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _start(value: str | None) -> datetime | None:
    """A talk's start instant when its date carries a time and an offset ('2026-02-01T10:30:00+01:00')."""
    if not value or len(value) <= 10:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


TALK_CACHE = 4096  # hydrated talks kept between answers (a few KB each)
_VERSION = "SELECT version FROM catalogue_state WHERE id = 1"


def catalogue_version(conn: Session) -> int:
    """The catalogue's current version (every import bumps it)."""
    row = conn.execute(_VERSION).fetchone()
    return int(row[0]) if row else 0


class CatalogueRepository:
    """Parameterised reads over the catalogue tables, returning domain objects."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._talks: OrderedDict[int, Talk] = OrderedDict()
        self._talks_version = -1

    async def _one(self, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = await self.db.read(lambda conn: conn.execute(sql, params).fetchone())
        return row

    async def version(self) -> int:
        """The catalogue's current version."""
        return await self.db.read(catalogue_version)

    async def talk_count(self) -> int:
        """How many talks the catalogue holds."""
        row = await self._one("SELECT COUNT(*) FROM talks")
        return int(row[0]) if row else 0

    async def find_talk_id(self, slug: str) -> int | None:
        """A talk's row id from its slug."""
        row = await self._one("SELECT id FROM talks WHERE slug = ?", (slug,))
        return int(row[0]) if row else None

    async def get_talks(self, ids: Sequence[int]) -> dict[int, Talk]:
        """Talks by row id, with their event, credits and topics (three queries for those not cached)."""
        if not ids:
            return {}
        version = await self.version()
        if version != self._talks_version:
            self._talks.clear()
            self._talks_version = version
        cache = self._talks
        talks: dict[int, Talk] = {}
        missing = []
        for talk_id in dict.fromkeys(ids):
            talk = cache.get(talk_id)
            if talk is None:
                missing.append(talk_id)
            else:
                cache.move_to_end(talk_id)
                talks[talk_id] = talk
        if missing:
            for talk_id, talk in (await self.db.read(lambda conn: _read_talks(conn, missing))).items():
                talks[talk_id] = cache[talk_id] = talk
            while len(cache) > TALK_CACHE:
                cache.popitem(last=False)
        return talks

    async def careers(self, person_slugs: Sequence[str]) -> dict[str, tuple[list[int], list[str]]]:
        """Each person's talks (row ids, newest first) and organisations (oldest first), without hydrating talks.

        People not found are left out. The order is a profile's: by the talk's date (else its event's first
        day), then event name, then title, newest first.
        """
        if not person_slugs:
            return {}
        marks = ",".join("?" * len(person_slugs))
        rows: dict[str, list[tuple[str, str, str, int, str | None]]] = defaultdict(list)
        found = await self.db.read(
            lambda conn: conn.execute(
                "SELECT p.slug, t.id, COALESCE(t.date, e.start_date, ''), e.name, t.title, o.name"
                " FROM people p JOIN talk_speakers ts ON ts.person_id = p.id JOIN talks t ON t.id = ts.talk_id"
                " JOIN events e ON e.id = t.event_id LEFT JOIN organizations o ON o.id = ts.organization_id"
                f" WHERE p.slug IN ({marks})",
                list(person_slugs),
            ).fetchall()
        )
        for slug, talk_id, day, event, title, org in found:
            rows[slug].append((str(day)[:10], str(event), str(title), int(talk_id), org))
        careers: dict[str, tuple[list[int], list[str]]] = {}
        for slug, talks in rows.items():
            talks.sort(reverse=True)
            orgs = list(dict.fromkeys(org for *_, org in reversed(talks) if org))
            careers[slug] = (list(dict.fromkeys(talk_id for _, _, _, talk_id, _ in talks)), orgs)
        return careers

    async def list_events(self) -> list[tuple[Event, int]]:
        """Every event with its number of talks, parents before their co-located events."""
        rows = await self.db.read(
            lambda conn: conn.execute(
                "SELECT e.slug, e.name, e.short_name, e.start_date, e.end_date, e.location, e.url, pe.slug,"
                " (SELECT COUNT(*) FROM talks t WHERE t.event_id = e.id)"
                " FROM events e LEFT JOIN events pe ON pe.id = e.parent_id"
                " ORDER BY COALESCE(pe.start_date, e.start_date) DESC, COALESCE(pe.name, e.name),"
                " e.parent_id IS NOT NULL, e.start_date, e.name"
            ).fetchall()
        )
        return [(_event(row), int(row[8])) for row in rows]

    async def list_topics(self) -> list[Count]:
        """Every topic with talks, most talks first."""
        rows = await self.db.read(
            lambda conn: conn.execute(
                "SELECT t.slug, t.name, COUNT(tt.talk_id) AS n FROM topics t JOIN talk_topics tt ON tt.topic_id = t.id"
                " GROUP BY t.id ORDER BY n DESC, t.name"
            ).fetchall()
        )
        return [Count(slug, name, int(n)) for slug, name, n in rows]


def _read_talks(conn: Session, wanted: list[int]) -> dict[int, Talk]:
    marks = ",".join("?" * len(wanted))
    credits: dict[int, list[Credit]] = defaultdict(list)
    for talk_id, slug, name, role, org in conn.execute(
        "SELECT ts.talk_id, p.slug, p.name, ts.role, o.name FROM talk_speakers ts"
        " JOIN people p ON p.id = ts.person_id LEFT JOIN organizations o ON o.id = ts.organization_id"
        f" WHERE ts.talk_id IN ({marks}) ORDER BY ts.talk_id, ts.position",
        wanted,
    ):
        credits[talk_id].append(Credit(slug, name, role, org))
    topics: dict[int, list[Topic]] = defaultdict(list)
    for talk_id, slug, name in conn.execute(
        "SELECT tt.talk_id, t.slug, t.name FROM talk_topics tt JOIN topics t ON t.id = tt.topic_id"
        f" WHERE tt.talk_id IN ({marks}) ORDER BY tt.talk_id, t.name",
        wanted,
    ):
        topics[talk_id].append(Topic(slug, name))
    return {
        row[0]: _talk(row, credits[row[0]], topics[row[0]])
        for row in conn.execute(
            f"SELECT {_TALK_COLUMNS} FROM talks t JOIN events e ON e.id = t.event_id"
            f" LEFT JOIN events pe ON pe.id = e.parent_id WHERE t.id IN ({marks})",
            wanted,
        )
    }


def _event(row: Sequence[object]) -> Event:
    slug, name, short, start, end, location, url, parent = row[:8]
    return Event(
        slug=str(slug),
        name=str(name),
        short_name=str(short) if short else None,
        start_date=_day(str(start)) if start else None,
        end_date=_day(str(end)) if end else None,
        location=str(location) if location else None,
        url=str(url) if url else None,
        parent=str(parent) if parent else None,
    )


def _talk(row: Sequence[object], credits: list[Credit], topics: list[Topic]) -> Talk:
    _, slug, title, kind, summary, day, track, recording, slides, language = row[:10]
    return Talk(
        slug=str(slug),
        title=str(title),
        event=_event(row[10:]),
        kind=str(kind),
        summary=str(summary or ""),
        date=_day(str(day)) if day else None,
        starts_at=_start(str(day)) if day else None,
        track=str(track) if track else None,
        recording_url=str(recording) if recording else None,
        slides_url=str(slides) if slides else None,
        credits=tuple(credits),
        topics=tuple(topics),
        language=str(language) if language else None,
        ends_at=_start(str(row[18])) if row[18] else None,
        room=str(row[19]) if row[19] else None,
        stream_url=str(row[20]) if row[20] else None,
    )
