"""Reading the catalogue into the search engine (bulk, on a plain sqlite3 connection), with a saved index."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import defaultdict
from datetime import date

from bot.search.analysis import Analyzer
from bot.search.engine import Label, SearchEngine
from bot.search.index import IndexedTalk, SearchIndex
from bot.search.people import PersonEntry

log = logging.getLogger(__name__)

_CACHE_NAME = "talks"


def catalogue_version(conn: sqlite3.Connection) -> int:
    """The catalogue's version: bumped by every import that changed something."""
    row = conn.execute("SELECT version FROM catalogue_state WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def read_talks(conn: sqlite3.Connection) -> list[IndexedTalk]:
    """Every talk's searchable text, in id order."""
    credits: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
    for talk_id, person_id, name, org in conn.execute(
        "SELECT ts.talk_id, p.id, p.name, o.name FROM talk_speakers ts JOIN people p ON p.id = ts.person_id"
        " LEFT JOIN organizations o ON o.id = ts.organization_id ORDER BY ts.talk_id, ts.position"
    ):
        credits[talk_id].append((person_id, name, org))
    topics: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for talk_id, topic_id, name in conn.execute(
        "SELECT tt.talk_id, t.id, t.name FROM talk_topics tt JOIN topics t ON t.id = tt.topic_id"
        " ORDER BY tt.talk_id, t.name"
    ):
        topics[talk_id].append((topic_id, name))
    talks = []
    for talk_id, title, summary, track, event_id, event_name, short_name, day, start in conn.execute(
        "SELECT t.id, t.title, t.summary, t.track, t.event_id, e.name, e.short_name, t.date, e.start_date"
        " FROM talks t JOIN events e ON e.id = t.event_id ORDER BY t.id"
    ):
        credit = credits.get(talk_id, [])
        topic = topics.get(talk_id, [])
        talks.append(
            IndexedTalk(
                talk_id=talk_id,
                title=title,
                topics=[name for _, name in topic],
                speakers=[name for _, name, _ in credit],
                organizations=list(dict.fromkeys(org for _, _, org in credit if org)),
                event=f"{event_name} {short_name or ''}",
                track=track or "",
                summary=summary,
                event_id=event_id,
                person_ids=[pid for pid, _, _ in credit],
                topic_ids=[tid for tid, _ in topic],
                day=_ordinal(day or start),
            )
        )
    return talks


def _ordinal(value: str | None) -> int:
    if not value:
        return 0
    try:
        return date.fromisoformat(value[:10]).toordinal()
    except ValueError:
        return 0


def load_engine(
    conn: sqlite3.Connection, *, analyzer: Analyzer | None = None, save: bool = True
) -> SearchEngine:
    """The search engine for the catalogue as it is now; reuses the saved index when it is current."""
    started = time.perf_counter()
    analyzer = analyzer or Analyzer()
    version = catalogue_version(conn)
    index = _cached_index(conn, version)
    rebuilt = index is None
    if index is None:
        index = SearchIndex.build(read_talks(conn), analyzer)
        if save:
            _save_index(conn, version, index)
    people = [
        PersonEntry(pid, slug, name, count)
        for pid, slug, name, count in conn.execute(
            "SELECT p.id, p.slug, p.name, COUNT(ts.talk_id) FROM people p"
            " LEFT JOIN talk_speakers ts ON ts.person_id = p.id GROUP BY p.id ORDER BY p.id"
        )
    ]
    topics = [
        Label(tid, slug, name, count)
        for tid, slug, name, count in conn.execute(
            "SELECT t.id, t.slug, t.name, COUNT(tt.talk_id) FROM topics t"
            " LEFT JOIN talk_topics tt ON tt.topic_id = t.id GROUP BY t.id ORDER BY t.id"
        )
    ]
    events = [
        Label(eid, slug, name, count, parent, short)
        for eid, slug, name, count, parent, short in conn.execute(
            "SELECT e.id, e.slug, e.name, COUNT(t.id), e.parent_id, e.short_name FROM events e"
            " LEFT JOIN talks t ON t.event_id = e.id GROUP BY e.id ORDER BY e.id"
        )
    ]
    titles = [
        (slug, title, float(_ordinal(day or start)))
        for slug, title, day, start in conn.execute(
            "SELECT t.slug, t.title, t.date, e.start_date FROM talks t JOIN events e ON e.id = t.event_id"
            " ORDER BY t.id"
        )
    ]
    engine = SearchEngine(index, people, topics, events, titles, version, analyzer)
    log.info(
        "Search index ready: %d talks, %d people, catalogue version %d (%s in %.2f s)",
        index.size, len(people), version, "built" if rebuilt else "loaded", time.perf_counter() - started,
    )  # fmt: skip
    return engine


def _cached_index(conn: sqlite3.Connection, version: int) -> SearchIndex | None:
    row = conn.execute(
        "SELECT data FROM search_cache WHERE name = ? AND catalogue_version = ?", (_CACHE_NAME, version)
    ).fetchone()
    if row is None:
        return None
    try:
        return SearchIndex.from_bytes(row[0])
    except (ValueError, KeyError, OSError) as exc:
        log.warning("The saved search index could not be read (%s); rebuilding it", exc)
        return None


def _save_index(conn: sqlite3.Connection, version: int, index: SearchIndex) -> None:
    try:
        conn.execute(
            "INSERT INTO search_cache (name, catalogue_version, data) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET catalogue_version = excluded.catalogue_version, data = excluded.data",
            (_CACHE_NAME, version, index.to_bytes()),
        )
    except sqlite3.Error as exc:  # a read-only database still answers; it just rebuilds next time
        log.warning("Could not save the search index: %s", exc)
