"""Reading the catalogue for display: talks, people, events and topics as domain objects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import aiosqlite

from bot.domain.models import Count, Credit, Event, Talk, Topic

_TALK_COLUMNS = (
    "t.id, t.slug, t.title, t.kind, t.summary, t.date, t.track, t.recording_url, t.slides_url,"
    " e.slug, e.name, e.short_name, e.start_date, e.end_date, e.location, e.url, pe.slug"
)


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class CatalogueRepository:
    """Parameterised reads over the catalogue tables, returning domain objects."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def version(self) -> int:
        """The catalogue's current version."""
        async with self.conn.execute("SELECT version FROM catalogue_state WHERE id = 1") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def talk_count(self) -> int:
        """How many talks the catalogue holds."""
        async with self.conn.execute("SELECT COUNT(*) FROM talks") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def find_talk_id(self, slug: str) -> int | None:
        """A talk's row id from its slug."""
        async with self.conn.execute("SELECT id FROM talks WHERE slug = ?", (slug,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else None

    async def get_talks(self, ids: Sequence[int]) -> dict[int, Talk]:
        """Talks by row id, with their event, credits and topics (three queries, whatever the count)."""
        if not ids:
            return {}
        wanted = list(dict.fromkeys(ids))
        marks = ",".join("?" * len(wanted))
        credits: dict[int, list[Credit]] = defaultdict(list)
        async with self.conn.execute(
            "SELECT ts.talk_id, p.slug, p.name, ts.role, o.name FROM talk_speakers ts"
            " JOIN people p ON p.id = ts.person_id LEFT JOIN organizations o ON o.id = ts.organization_id"
            f" WHERE ts.talk_id IN ({marks}) ORDER BY ts.talk_id, ts.position",
            wanted,
        ) as cursor:
            for talk_id, slug, name, role, org in await cursor.fetchall():
                credits[talk_id].append(Credit(slug, name, role, org))
        topics: dict[int, list[Topic]] = defaultdict(list)
        async with self.conn.execute(
            "SELECT tt.talk_id, t.slug, t.name FROM talk_topics tt JOIN topics t ON t.id = tt.topic_id"
            f" WHERE tt.talk_id IN ({marks}) ORDER BY tt.talk_id, t.name",
            wanted,
        ) as cursor:
            for talk_id, slug, name in await cursor.fetchall():
                topics[talk_id].append(Topic(slug, name))
        talks: dict[int, Talk] = {}
        async with self.conn.execute(
            f"SELECT {_TALK_COLUMNS} FROM talks t JOIN events e ON e.id = t.event_id"
            f" LEFT JOIN events pe ON pe.id = e.parent_id WHERE t.id IN ({marks})",
            wanted,
        ) as cursor:
            for row in await cursor.fetchall():
                talks[row[0]] = _talk(row, credits[row[0]], topics[row[0]])
        return talks

    async def talk_ids_of_people(self, person_slugs: Sequence[str]) -> dict[str, list[int]]:
        """Each person's talks' row ids, for several people in one query (people not found are left out)."""
        if not person_slugs:
            return {}
        marks = ",".join("?" * len(person_slugs))
        found: dict[str, list[int]] = {}
        async with self.conn.execute(
            "SELECT p.slug, ts.talk_id FROM people p JOIN talk_speakers ts ON ts.person_id = p.id"
            f" WHERE p.slug IN ({marks}) ORDER BY p.slug, ts.talk_id",
            list(person_slugs),
        ) as cursor:
            for slug, talk_id in await cursor.fetchall():
                found.setdefault(slug, []).append(int(talk_id))
        return found

    async def list_events(self) -> list[tuple[Event, int]]:
        """Every event with its number of talks, parents before their co-located events."""
        async with self.conn.execute(
            "SELECT e.slug, e.name, e.short_name, e.start_date, e.end_date, e.location, e.url, pe.slug,"
            " (SELECT COUNT(*) FROM talks t WHERE t.event_id = e.id)"
            " FROM events e LEFT JOIN events pe ON pe.id = e.parent_id"
            " ORDER BY COALESCE(pe.start_date, e.start_date) DESC, COALESCE(pe.name, e.name), e.parent_id IS NOT NULL,"
            " e.start_date, e.name"
        ) as cursor:
            return [(_event(row), int(row[8])) for row in await cursor.fetchall()]

    async def list_topics(self) -> list[Count]:
        """Every topic with talks, most talks first."""
        async with self.conn.execute(
            "SELECT t.slug, t.name, COUNT(tt.talk_id) AS n FROM topics t JOIN talk_topics tt ON tt.topic_id = t.id"
            " GROUP BY t.id ORDER BY n DESC, t.name"
        ) as cursor:
            return [Count(slug, name, int(n)) for slug, name, n in await cursor.fetchall()]


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
    _, slug, title, kind, summary, day, track, recording, slides = row[:9]
    return Talk(
        slug=str(slug),
        title=str(title),
        event=_event(row[9:]),
        kind=str(kind),
        summary=str(summary or ""),
        date=_day(str(day)) if day else None,
        track=str(track) if track else None,
        recording_url=str(recording) if recording else None,
        slides_url=str(slides) if slides else None,
        credits=tuple(credits),
        topics=tuple(topics),
    )
