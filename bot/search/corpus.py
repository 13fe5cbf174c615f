"""Reading the catalogue into the search engine (bulk, on a plain sqlite3 connection), with a saved index.

Start-up is what this module is about. At 100,000 talks, analysing every talk takes seconds and sorting
the 800,000 word starts of the titles for autocomplete another second, so the first start after an
import builds the index, the title and speaker completers and the list of people, and saves them in
`search_cache` as one blob (about 90 MB at 100,000 talks) under the catalogue's version. Every later
start reads that blob back in 1 MB pieces into one buffer that the arrays then view without copying
(reading it as one value would hold it twice, in SQLite and in Python), so a restart costs the read,
the topic and event labels, and rebuilding the name and typo indexes: 0.6 s at 100,000 talks, where
the same load took 4.6 s before, most of it rebuilding the completers (the cold-start target is 3 s).

While building, talks are streamed from three cursors walked side by side, so no second copy of every
title, summary and name sits in dicts while the index is built.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import numpy as np

from bot.db.blobs import read_blob, write_blob
from bot.db.connection import atomic
from bot.db.dialect import ENGINE_ERRORS
from bot.search.analysis import Analyzer, known_stems, remember_stems
from bot.search.completion import Completer
from bot.search.engine import Label, SearchEngine, speaker_entries
from bot.search.index import IndexedTalk, SearchIndex
from bot.search.people import PersonEntry
from bot.search.store import Packed, Unpacked

log = logging.getLogger(__name__)
_UNREADABLE: tuple[type[Exception], ...] = (*ENGINE_ERRORS, ValueError)  # a saved index that cannot be read

_CACHE_NAME = "talks"


def catalogue_version(conn: sqlite3.Connection) -> int:
    """The catalogue's version: bumped by every import that changed something."""
    row = conn.execute("SELECT version FROM catalogue_state WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def iter_talks(conn: sqlite3.Connection) -> Iterator[IndexedTalk]:
    """Every talk's searchable text, in id order, one at a time."""
    credits = _groups(
        conn.execute(
            "SELECT ts.talk_id, p.id, p.name, o.name FROM talk_speakers ts JOIN people p ON p.id = ts.person_id"
            " LEFT JOIN organizations o ON o.id = ts.organization_id ORDER BY ts.talk_id, ts.position"
        )
    )
    topics = _groups(
        conn.execute(
            "SELECT tt.talk_id, t.id, t.name FROM talk_topics tt JOIN topics t ON t.id = tt.topic_id"
            " ORDER BY tt.talk_id, t.name"
        )
    )
    next_credit = next(credits, None)
    next_topic = next(topics, None)
    for talk_id, title, summary, track, event_id, event_name, short_name, day, start in conn.execute(
        "SELECT t.id, t.title, t.summary, t.track, t.event_id, e.name, e.short_name, t.date, e.start_date"
        " FROM talks t JOIN events e ON e.id = t.event_id ORDER BY t.id"
    ):
        while next_credit is not None and next_credit[0] < talk_id:
            next_credit = next(credits, None)
        while next_topic is not None and next_topic[0] < talk_id:
            next_topic = next(topics, None)
        credit = next_credit[1] if next_credit is not None and next_credit[0] == talk_id else []
        topic = next_topic[1] if next_topic is not None and next_topic[0] == talk_id else []
        yield IndexedTalk(
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


def read_talks(conn: sqlite3.Connection) -> list[IndexedTalk]:
    """Every talk's searchable text, in id order."""
    return list(iter_talks(conn))


def _groups(cursor: sqlite3.Cursor) -> Iterator[tuple[int, list[Any]]]:
    """Rows ordered by their first column, grouped by it: (key, [rest of each row])."""
    key: int | None = None
    group: list[Any] = []
    for row in cursor:
        if row[0] != key:
            if key is not None:
                yield key, group
            key, group = row[0], []
        group.append(row[1:])
    if key is not None:
        yield key, group


def _ordinal(value: str | None) -> int:
    if not value:
        return 0
    try:
        return date.fromisoformat(value[:10]).toordinal()
    except ValueError:
        return 0


Saving = Callable[[sqlite3.Connection], None]


def load_engine(conn: sqlite3.Connection, *, analyzer: Analyzer | None = None, save: bool = True) -> SearchEngine:
    """The search engine for the catalogue as it is now; reuses the saved index when it is current.

    With `save`, an index it had to build is saved on the same connection for the next start.
    """
    engine, saving = open_engine(conn, analyzer=analyzer)
    if save and saving is not None:
        saving(conn)
    return engine


def open_engine(conn: sqlite3.Connection, *, analyzer: Analyzer | None = None) -> tuple[SearchEngine, Saving | None]:
    """The search engine, only reading; and, when the index had to be built, the write that saves it.

    The bot reads on a read connection and hands the saving to its single write path (bot.db.gateway).
    """
    started = time.perf_counter()
    analyzer = analyzer or Analyzer()
    version = catalogue_version(conn)
    saved = _read_cache(conn, version)
    parts = _restore(saved, analyzer) if saved is not None else None
    rebuilt = parts is None
    if parts is None:
        index = SearchIndex.build(iter_talks(conn), analyzer)
        people = _read_people(conn)
        titles = Completer(
            (slug, title, float(_ordinal(day or start)))
            for slug, title, day, start in conn.execute(
                "SELECT t.slug, t.title, t.date, e.start_date FROM talks t JOIN events e ON e.id = t.event_id"
                " ORDER BY t.id"
            )
        )
        speakers = Completer(speaker_entries(people))
        saving: Saving | None = functools.partial(
            _save, version=version, analyzer=analyzer, index=index, people=people, titles=titles, speakers=speakers
        )
    else:
        saving = None
        index, people, titles, speakers = parts
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
    languages: dict[str, list[int]] = {}
    for talk_id, code in conn.execute("SELECT id, language FROM talks WHERE language IS NOT NULL"):
        languages.setdefault(str(code), []).append(int(talk_id))
    organizations: dict[str, list[int]] = {}
    for name, talk_id in conn.execute(
        "SELECT DISTINCT o.name, ts.talk_id FROM talk_speakers ts JOIN organizations o ON o.id = ts.organization_id"
    ):
        organizations.setdefault(str(name), []).append(int(talk_id))
    engine = SearchEngine(
        index, people, topics, events, (), version, analyzer, title_completer=titles, speaker_completer=speakers,
        languages=languages, organizations=organizations,
    )  # fmt: skip
    log.info(
        "Search index ready: %d talks, %d people, catalogue version %d (%s in %.2f s)",
        index.size, len(people), version, "built" if rebuilt else "loaded", time.perf_counter() - started,
    )  # fmt: skip
    return engine, saving


def _read_people(conn: sqlite3.Connection) -> list[PersonEntry]:
    return [
        PersonEntry(pid, slug, name, count)
        for pid, slug, name, count in conn.execute(
            "SELECT p.id, p.slug, p.name, COUNT(ts.talk_id) FROM people p"
            " LEFT JOIN talk_speakers ts ON ts.person_id = p.id GROUP BY p.id ORDER BY p.id"
        )
    ]


def _restore(data: Unpacked, analyzer: Analyzer) -> tuple[SearchIndex, list[PersonEntry], Completer, Completer] | None:
    try:
        if data.text_list("analysis") != [analyzer.fingerprint]:
            log.info("The vocabulary or the analysis changed since the search index was saved; rebuilding it")
            return None
        index = SearchIndex.unpack(data)
        if index is None:
            return None
        ids = data.array("people.ids").tolist()
        counts = data.array("people.talks").tolist()
        people = [
            PersonEntry(pid, slug, name, count)
            for pid, slug, name, count in zip(
                ids, data.text_list("people.slugs"), data.text_list("people.names"), counts, strict=True
            )
        ]
        # Words met when answering (titles explained, queries) are stemmed at 25 µs each in pure Python:
        # the building process already did the whole vocabulary, so its memo comes with the index.
        remember_stems(data.text_list("stems.words"), data.text_list("stems.stems"))
        return index, people, Completer.unpack(data, "titles"), Completer.unpack(data, "speakers")
    except (KeyError, ValueError, TypeError) as exc:
        log.warning("The saved search index could not be read (%s); rebuilding it", exc)
        return None


def _read_cache(conn: sqlite3.Connection, version: int) -> Unpacked | None:
    try:
        with read_blob(
            conn, "search_cache", "data", "name = ? AND catalogue_version = ?", (_CACHE_NAME, version)
        ) as found:
            return None if found is None else Unpacked.read(found.read_at, found.length)
    except _UNREADABLE as exc:
        log.warning("The saved search index could not be read (%s); rebuilding it", exc)
        return None


def _save(
    conn: sqlite3.Connection,
    version: int,
    analyzer: Analyzer,
    index: SearchIndex,
    people: list[PersonEntry],
    titles: Completer,
    speakers: Completer,
) -> None:
    packed = Packed()
    index.pack(packed)
    packed.add_texts("analysis", [analyzer.fingerprint])
    packed.add("people.ids", np.array([p.person_id for p in people], dtype=np.int64))
    packed.add("people.talks", np.array([p.talks for p in people], dtype=np.int64))
    packed.add_texts("people.slugs", [p.slug for p in people])
    packed.add_texts("people.names", [p.name for p in people])
    titles.pack(packed, "titles")
    speakers.pack(packed, "speakers")
    stems = known_stems()
    packed.add_texts("stems.words", list(stems))
    packed.add_texts("stems.stems", list(stems.values()))
    try:
        with atomic(conn):
            # On SQLite the row is sized first and filled piece by piece: the blob never exists twice in memory.
            write_blob(
                conn,
                "INSERT INTO search_cache (name, catalogue_version, data) VALUES (?, ?, {blob})"
                " ON CONFLICT (name) DO UPDATE SET catalogue_version = excluded.catalogue_version,"
                " data = excluded.data",
                (_CACHE_NAME, version),
                table="search_cache",
                column="data",
                size=packed.size(),
                chunks=packed.chunks,
            )
    except ENGINE_ERRORS as exc:  # a read-only database still answers; it just rebuilds next time
        log.warning("Could not save the search index: %s", exc)
