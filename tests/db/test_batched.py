"""The batched connection: many callers' work in one transaction, each caller's failure its own."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from bot.db.batched import BatchedConnection
from bot.db.connection import sync_db
from bot.db.gateway import connect_reader

pytestmark = pytest.mark.sqlite_only(reason="drives BatchedConnection over sqlite3 connections")

@pytest.fixture
async def db(bundled_db: Path):
    with sync_db(bundled_db) as setup:
        setup.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    connection = BatchedConnection(bundled_db)
    yield connection
    await connection.close()


def insert(text: str | None, *, fail_after: bool = False):
    def work(conn: sqlite3.Connection) -> int:
        cursor = conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
        if fail_after:
            raise RuntimeError(f"failed after writing {text}")
        return int(cursor.lastrowid or 0)

    return work


def texts(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT text FROM notes ORDER BY id")]


async def test_work_queued_together_shares_a_batch_and_a_failure_undoes_only_its_own_writes(db):
    results = await asyncio.gather(
        db.run(insert("a")),
        db.run(insert("b", fail_after=True)),  # wrote, then raised: its row must not stay
        db.run(insert(None)),  # refused by SQLite (NOT NULL)
        db.run(insert("c")),
        return_exceptions=True,
    )
    assert isinstance(results[0], int) and isinstance(results[3], int)
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert await db.run(texts) == ["a", "c"]


async def test_what_one_caller_committed_another_connection_sees(db, bundled_db):
    await db.run(insert("seen"))
    with sqlite3.connect(bundled_db) as other:
        assert texts(other) == ["seen"]


async def test_a_cancelled_caller_does_not_undo_its_work_and_a_closed_connection_refuses_more(db):
    task = asyncio.create_task(db.run(insert("kept")))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await db.run(texts) == ["kept"]
    await db.close()
    with pytest.raises(RuntimeError, match="closed"):
        await db.run(texts)


async def test_reads_do_not_wait_for_another_connections_write_lock(db, bundled_db):
    await db.run(insert("before"))
    with sqlite3.connect(bundled_db, isolation_level=None) as importer:
        importer.execute("BEGIN IMMEDIATE")  # an import holds the write lock for a long time
        importer.execute("INSERT INTO notes (text) VALUES ('not yet committed')")
        assert await asyncio.wait_for(db.run(texts, writes=False), 1.0) == ["before"]
        importer.execute("ROLLBACK")


async def test_a_batch_whose_bookkeeping_fails_fails_whole_and_leaves_the_connection_usable(db):
    def breaks_the_savepoint(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO notes (text) VALUES ('lost')")
        conn.execute("RELEASE work")  # the batch's own RELEASE will now fail

    running = asyncio.create_task(db.run(lambda _: time.sleep(0.05)))  # the next two wait and go together
    await asyncio.sleep(0.01)
    results = await asyncio.gather(db.run(insert("a")), db.run(breaks_the_savepoint), return_exceptions=True)
    await running
    assert all(isinstance(result, sqlite3.OperationalError) for result in results), results
    assert await db.run(insert("after")) > 0
    assert await db.run(texts) == ["after"]


async def test_work_alone_in_its_batch_that_fails_leaves_nothing_and_the_next_batch_goes_on(db):
    with pytest.raises(RuntimeError, match="failed after writing alone"):
        await db.run(insert("alone", fail_after=True))
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(insert(None))
    assert await db.run(insert("next")) > 0
    assert await db.run(texts) == ["next"]


async def test_reads_queued_together_each_get_their_own_answer_when_one_of_them_fails(bundled_db: Path):
    reader = BatchedConnection(bundled_db, connect=connect_reader)
    try:
        running = asyncio.create_task(reader.run(lambda _: time.sleep(0.05), writes=False))
        await asyncio.sleep(0.01)  # the three below wait and go together, in one batch
        results = await asyncio.gather(
            reader.run(lambda conn: conn.execute("SELECT COUNT(*) FROM talks").fetchone()[0], writes=False),
            reader.run(lambda conn: conn.execute("SELECT no_such_column FROM talks").fetchall(), writes=False),
            reader.run(lambda conn: conn.execute("SELECT COUNT(*) FROM talks").fetchone()[0], writes=False),
            return_exceptions=True,
        )
        await running
    finally:
        await reader.close()
    assert isinstance(results[1], sqlite3.OperationalError)
    assert results[0] == results[2] and isinstance(results[0], int) and results[0] > 0


async def test_after_a_failure_in_a_batch_the_next_piece_still_has_its_own_savepoint(db):
    running = asyncio.create_task(db.run(lambda _: time.sleep(0.05)))
    await asyncio.sleep(0.01)
    results = await asyncio.gather(
        db.run(insert("b", fail_after=True)),
        db.run(insert("c", fail_after=True)),  # rolled back to the savepoint the failure before it kept
        db.run(insert("d")),
        db.run(insert("e", fail_after=True)),
        return_exceptions=True,
    )
    await running
    assert [type(r) for r in results] == [RuntimeError, RuntimeError, int, RuntimeError]
    assert await db.run(texts) == ["d"]
