"""A database connection that runs work in batches: one transaction and one thread hop for many callers.

The scheduler posts thousands of highlights a minute when many servers share a time, and each post reads
its rotation, claims its slot and records the result. Through aiosqlite that was about nine round trips to
its worker thread per post, each a wake-up of the event loop, all queued behind one another: the store alone
could not go past about 1,300 posts a second (measured with benchmarks/scheduler_bench.py). Here each piece
of work is one plain function over a `sqlite3` connection; whatever is queued while a batch runs goes in the
next batch, which runs in one transaction (one commit) and wakes the loop once.

Each piece of work that writes runs inside a savepoint of its own: if it raises, its writes are undone and
the error is its caller's alone; the others in the batch go on (a piece alone in its batch needs no
savepoint: the batch's rollback is its own; a read needs none: it has nothing to undo). A batch whose
commit fails fails every caller in it. On PostgreSQL each statement is a round trip to the server, so these
are counted: per piece of a batch of writes, one besides its own statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bot.db.connection import connect_sync
from bot.db.dialect import POSTGRESQL, engine

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
_Outcome = tuple[bool, Any]  # (succeeded, value or exception)
_Queued = tuple[asyncio.Future[Any], Work, bool]  # (the caller's future, the work, whether it writes)


class BatchedConnection:
    """Work on a `sqlite3` connection of its own, in a thread of its own, batched (see the module docstring).

    The connection opens on first use (the database must exist and be migrated) and is closed by `close`.
    `connect` opens it (by default a configured writer's connection; for batched reads, a reader's).
    """

    def __init__(self, path: Path | str, *, connect: Callable[[Any], Any] | None = None) -> None:
        self.path = path
        self._connect: Callable[[Any], Any] = connect or _writer
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-batch")
        self._conn: Any = None  # a sqlite3 connection, or PostgreSQL's session (bot.db.postgres)
        self._queued: list[_Queued] = []
        self._running: asyncio.Future[list[_Outcome]] | None = None
        self._closed = False
        self._closing: asyncio.Task[None] | None = None
        weakref.finalize(self, self._executor.shutdown, wait=False)

    async def run(self, work: Callable[[sqlite3.Connection], T], *, writes: bool = True) -> T:
        """Run `work(conn)` in the next batch and return what it returns (or raise what it raised).

        A batch that writes takes the database's write lock at once (BEGIN IMMEDIATE), so it never fails
        half-way for want of it; a batch of reads only (`writes=False`) never waits for it (WAL). A caller
        cancelled meanwhile does not stop the work: it runs, or not, whole.
        """
        if self._closed:
            raise RuntimeError("the database connection is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((future, work, writes))
        if self._running is None:
            self._next_batch()
        return await future

    async def close(self) -> None:
        """Finish the work queued so far, then close the connection and stop the thread (again: no-op).

        Cancelling the caller does not stop the closing.
        """
        self._closed = True
        if self._closing is None:
            self._closing = asyncio.create_task(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        while self._running is not None:
            await asyncio.wait([self._running])  # its callers get its outcome, not this
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_connection)
        self._executor.shutdown(wait=False)

    def _next_batch(self) -> None:
        batch, self._queued = self._queued, []
        loop = asyncio.get_running_loop()
        writes = any(queued[2] for queued in batch)
        running = self._running = loop.run_in_executor(
            self._executor, self._execute, [queued[1] for queued in batch], writes
        )
        running.add_done_callback(lambda done: self._settle(batch, done))

    def _settle(self, batch: list[_Queued], done: asyncio.Future[list[_Outcome]]) -> None:
        self._running = None
        error = None if done.cancelled() else done.exception()
        outcomes: list[_Outcome] = (
            [(False, error or RuntimeError("the batch was cancelled"))] * len(batch)
            if done.cancelled() or error is not None
            else done.result()
        )
        for (future, _, _), (succeeded, value) in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if succeeded:
                future.set_result(value)
            else:
                future.set_exception(value)
        if self._queued:
            self._next_batch()

    # -- in the worker thread ----------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self._connect(self.path)
        return self._conn

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _execute(self, batch: list[Work], writes: bool) -> list[_Outcome]:
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
        except Exception as error:  # the database is busy, or (PostgreSQL) unreachable: a new connection next time
            if not isinstance(error, sqlite3.Error):
                self._drop_connection()
            return [(False, _raisable(error))] * len(batch)
        try:
            outcomes, open_transaction = self._each(conn, batch, writes)
            if open_transaction:
                conn.execute("COMMIT")
        except BaseException as error:  # a savepoint or the commit failed: the whole batch failed
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except Exception:  # the connection itself is gone (PostgreSQL restarted, say): open a new one
                self._drop_connection()
            return [(False, _raisable(error))] * len(batch)
        return outcomes

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken; nothing more to release
                conn.close()

    @staticmethod
    def _each(conn: Any, batch: list[Work], writes: bool) -> tuple[list[_Outcome], bool]:
        """Run the batch's work; the outcomes, and whether a transaction is still open to commit.

        A piece alone in its batch needs no savepoint: if it fails, the whole transaction is rolled back, and
        the whole is its own. Reads need none either (see `_reads`); writes share one savepoint name, released
        and taken again between pieces in one round trip (`_next_savepoint`).
        """
        if len(batch) == 1:
            try:
                return [(True, batch[0](conn))], True
            except Exception as error:  # handed to the caller that queued the work
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return [(False, _raisable(error))], False
        if not writes:
            return _reads(conn, batch), True
        outcomes: list[_Outcome] = []
        conn.execute("SAVEPOINT work")
        for work in batch:
            if outcomes and outcomes[-1][0]:  # after a failure, the savepoint rolled back to is still there
                _next_savepoint(conn)
            try:
                value = work(conn)
            except Exception as error:  # handed to the caller that queued the work
                if conn.in_transaction:
                    conn.execute("ROLLBACK TO work")  # its writes are undone; the savepoint stays for the next
                    outcomes.append((False, _raisable(error)))
                    continue
                # SQLite rolled the whole transaction back (a full disk, say): the earlier work is undone too.
                outcomes = [(False, _raisable(error))] * (len(outcomes) + 1)
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("SAVEPOINT work")
                continue
            outcomes.append((True, value))
        conn.execute("RELEASE work")
        return outcomes, True


def _reads(conn: Any, batch: list[Work]) -> list[_Outcome]:
    """A batch of reads, without savepoints: a read changes nothing a failure would have to undo.

    PostgreSQL aborts the transaction a failed statement is in, so after a failure the transaction is begun
    again: the reads after it see a newer snapshot than those before (each read still sees one).
    """
    outcomes: list[_Outcome] = []
    for work in batch:
        try:
            outcomes.append((True, work(conn)))
        except Exception as error:  # handed to the caller that queued the work
            outcomes.append((False, _raisable(error)))
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute("BEGIN")
    return outcomes


def _next_savepoint(conn: Any) -> None:
    """Release the savepoint of the piece that succeeded and take one for the next: on PostgreSQL, one round trip."""
    if engine(conn) == POSTGRESQL:
        conn.execute("RELEASE work; SAVEPOINT work")  # a utility string: sent whole, in one simple query
    else:
        conn.execute("RELEASE work")
        conn.execute("SAVEPOINT work")


def _writer(path: Path) -> sqlite3.Connection:
    return connect_sync(path, migrate_schema=False)


def _raisable(error: BaseException) -> BaseException:
    """An exception a future can carry (a StopIteration cannot)."""
    if isinstance(error, StopIteration):
        return RuntimeError(f"the work raised {error!r}")
    return error
