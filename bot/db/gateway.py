"""The one way to the database: a read path and a single write path, used by every store.

Every store (the catalogue's `CatalogueRepository`, the highlights' `ScheduleRepository` and `SqliteScheduleStore`,
the importer behind `/catalog import`) hands the gateway plain functions over a connection, `work(session)`, and
awaits their result. Each query is written once, in such a function; where it runs is the gateway's business:

- `read(work)`: small indexed reads (a version number, the talks of one page, a schedule). They run in place, on
  the event loop's thread, on a connection that only reads. Every aiosqlite call was a round trip to its worker
  thread and back, and a /recommend made about thirty of them, costing more than the answer itself (measured
  with benchmarks/interaction_bench.py); in place they take tens of microseconds. In WAL mode a reader never
  waits for a writer, so an import or a burst of scheduled posts writing meanwhile does not hold up the loop.
- `scan(work)`: reads too large for the loop's thread (loading the search index, a highlight pool over the
  whole catalogue, the list of enabled schedules), and the reads of the scheduler's hot path. They run in a
  reader thread of their own, batched like the writes: the rotations of many schedules due at once are read
  in one hop to that thread and one snapshot. With the rotation read in place instead, the scheduler's main
  thread spent 1.24-1.32 ms of CPU per post against 0.99-1.15 ms (benchmarks/scheduler_bench.py, profiled):
  at thousands of posts a minute the loop's thread is what limits the bot, so its reads go elsewhere. A
  scan never waits for a writer either (WAL); a long one (loading the index after an import) delays the
  scans queued behind it, never a read in place or a write.
- `write(work)`: every write, through one connection in one thread, batched (`bot.db.batched`): whatever is
  queued while a batch runs goes in the next one, one transaction and one wake-up of the loop for all of it,
  each piece that shares the batch in a savepoint of its own so a failure is its caller's alone. Through
  aiosqlite the scheduler's store could not go past about 1,300 posts a second (about nine thread round
  trips per post); batched, the store is no longer what limits it (benchmarks/scheduler_bench.py). An import
  is one piece of work: all of it is written, or none.

PostgreSQL's engine (`bot.db.postgres`, chosen by a `postgresql://` target: DATABASE_URL) opens the same three
doors with the same batching, handing the work a session that takes the `?` and `:name` parameters the stores
write (`bot.db.dialect` holds what differs). `Database` is the stores' one type for either: nothing above it
knows which engine it is on.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.db.batched import BatchedConnection
from bot.db.connection import prepare
from bot.db.dialect import is_postgres_url
from bot.db.postgres import PostgresDatabase

log = logging.getLogger(__name__)

T = TypeVar("T")
Session = sqlite3.Connection
"""What a piece of work is handed: the engine's DB-API connection, taking `?` and `:name` parameters (on
PostgreSQL, `bot.db.postgres.PgSession`, which answers the same calls)."""
Work = Callable[[Session], T]
Target = Path | str
"""Where the database is: a SQLite file's path, or a `postgresql://` URL."""


class _Engine(Protocol):
    async def read(self, work: Callable[[Any], T]) -> T: ...
    async def scan(self, work: Callable[[Any], T]) -> T: ...
    async def write(self, work: Callable[[Any], T]) -> T: ...
    async def close(self) -> None: ...


class Database:
    """The gateway (see the module docstring) over the engine `target` names: a SQLite file or PostgreSQL."""

    in_flight = 0
    """Calls awaiting an answer, over every gateway of the process (a simulated clock waits for them)."""

    def __init__(self, engine: _Engine, target: Target) -> None:
        self._engine = engine
        self.target = target
        self.engine = "postgresql" if isinstance(engine, PostgresDatabase) else "sqlite"

    @classmethod
    async def open(cls, target: Target) -> Database:
        """The gateway to the database at `target`, created (with the bundled schema) and migrated if needed."""
        if is_postgres_url(target):
            return cls(await PostgresDatabase.open(str(target)), target)
        return cls(await SqliteDatabase.open(Path(target)), target)

    async def read(self, work: Work[T]) -> T:
        """A small read: its queries see one snapshot of the database."""
        Database.in_flight += 1
        try:
            return await self._engine.read(work)
        finally:
            Database.in_flight -= 1

    async def scan(self, work: Work[T]) -> T:
        """A read too large for the loop's thread, batched with the others queued meanwhile."""
        Database.in_flight += 1
        try:
            return await self._engine.scan(work)
        finally:
            Database.in_flight -= 1

    async def write(self, work: Work[T]) -> T:
        """Run `work` in the writer's next batch and transaction; its writes are kept only if it returns."""
        Database.in_flight += 1
        try:
            return await self._engine.write(work)
        finally:
            Database.in_flight -= 1

    async def close(self) -> None:
        """Finish the queued writes, then close every connection (again: no-op)."""
        await self._engine.close()

READ_BUSY_TIMEOUT_MS = 250  # a WAL reader waits only in rare moments (recovery); never long on the loop


def connect_reader(path: Path) -> sqlite3.Connection:
    """A connection that only reads, in autocommit mode so every query sees the latest commit."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteDatabase:
    """The SQLite engine of the gateway (see the module docstring) over the database file at `path`.

    `open` creates and migrates the file first; the constructor expects it ready. Connections open on first
    use and `close` closes them (after the writes queued so far).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader: sqlite3.Connection | None = None
        self._scanner = BatchedConnection(path, connect=connect_reader)
        self._writer = BatchedConnection(path)
        self._closed = False

    @classmethod
    async def open(cls, path: Path) -> SqliteDatabase:
        """The gateway to the database at `path`, created (with the bundled schema) and migrated if needed."""
        await asyncio.to_thread(prepare, path)
        return cls(path)

    async def read(self, work: Work[T]) -> T:
        """Run a small read in place and return its result; its queries see one snapshot of the database."""
        conn = self._read_connection()
        conn.execute("BEGIN")
        try:
            return work(conn)
        finally:
            conn.execute("COMMIT")

    async def scan(self, work: Work[T]) -> T:
        """Run a read in the reader thread's next batch (one snapshot for the batch) and return its result."""
        return await self._scanner.run(work, writes=False)

    async def write(self, work: Work[T]) -> T:
        """Run `work` in the writer's next batch and transaction; its writes are kept only if it returns."""
        return await self._writer.run(work)

    async def close(self) -> None:
        """Finish the queued writes, then close every connection (again: no-op)."""
        self._closed = True
        try:
            await self._writer.close()
            await self._scanner.close()
        finally:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _read_connection(self) -> sqlite3.Connection:
        if self._reader is None:
            if self._closed:
                raise RuntimeError("the database is closed")
            self._reader = connect_reader(self.path)
        return self._reader
