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
  each piece in a savepoint of its own so a failure is its caller's alone. Through aiosqlite the scheduler's
  store could not go past about 1,300 posts a second (about nine thread round trips per post); batched, the
  store is no longer what limits it (benchmarks/scheduler_bench.py). An import is one piece of work: all of it
  is written, or none.

A second engine implements the same three doors. PostgreSQL's would hand the work a connection from a pool
(for `read` and `scan`, autocommit; for `write`, one transaction per batch with a savepoint per piece), through
a session that takes the `?` and `:name` parameters the stores write; the stores' callers do not change.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.db.batched import BatchedConnection
from bot.db.connection import prepare

log = logging.getLogger(__name__)

T = TypeVar("T")
Session = sqlite3.Connection
"""What a piece of work is handed: the engine's DB-API connection, taking `?` and `:name` parameters."""
Work = Callable[[Session], T]

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


class Database:
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
    async def open(cls, path: Path) -> Database:
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
