"""The database gateway: reads in place and in the reader thread, every write on the one write path."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.db.connection import atomic, connect_sync, sync_db
from bot.db.dialect import ENGINE_ERRORS
from bot.db.gateway import Database
from tests.sql import sql


@pytest.fixture
async def db(bundled_db: Path):
    with sync_db(bundled_db) as setup:
        setup.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    database = await Database.open(bundled_db)
    yield database
    await database.close()


def notes(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT text FROM notes ORDER BY id")]


async def test_both_read_paths_see_what_the_write_path_committed(db):
    await sql(db, "INSERT INTO notes (text) VALUES ('first')")
    assert await db.read(notes) == ["first"]
    assert await db.scan(notes) == ["first"]


async def test_reads_never_wait_for_a_writer_holding_the_lock(db, bundled_db):
    await sql(db, "INSERT INTO notes (text) VALUES ('committed')")
    other = connect_sync(bundled_db)  # another process, mid-import
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO notes (text) VALUES ('not yet')")
        assert await asyncio.wait_for(db.read(notes), 1) == ["committed"]
        assert await asyncio.wait_for(db.scan(notes), 1) == ["committed"]
        other.execute("COMMIT")
    finally:
        other.close()
    assert await db.read(notes) == ["committed", "not yet"]


async def test_the_reads_refuse_to_write(db):
    with pytest.raises(ENGINE_ERRORS, match=r"readonly|read-only|query_only"):
        await db.read(lambda conn: conn.execute("INSERT INTO notes (text) VALUES ('sneaked')"))
    with pytest.raises(ENGINE_ERRORS, match=r"readonly|read-only|query_only"):
        await db.scan(lambda conn: conn.execute("INSERT INTO notes (text) VALUES ('sneaked')"))
    assert await db.read(notes) == []


async def test_atomic_work_on_the_write_path_is_undone_alone(db):
    def half_done(conn: sqlite3.Connection) -> None:
        with atomic(conn):
            conn.execute("INSERT INTO notes (text) VALUES ('half')")
            raise ValueError("the file was broken half-way")

    def dry_run(conn: sqlite3.Connection) -> list[str]:
        with atomic(conn, keep=False):
            conn.execute("INSERT INTO notes (text) VALUES ('dry')")
            return notes(conn)

    results = await asyncio.gather(
        sql(db, "INSERT INTO notes (text) VALUES ('before')"),
        db.write(half_done),
        db.write(dry_run),
        sql(db, "INSERT INTO notes (text) VALUES ('after')"),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    assert results[2] == ["before", "dry"]  # what the dry run saw, then undid
    assert await db.read(notes) == ["before", "after"]


async def test_atomic_on_its_own_is_a_transaction(bundled_db):
    with sync_db(bundled_db) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")

        def both() -> None:
            with atomic(conn):
                conn.execute("INSERT INTO notes (text) VALUES ('kept only with the next')")
                conn.execute("INSERT INTO notes (text) VALUES (NULL)")

        with pytest.raises(ENGINE_ERRORS, match=r"NOT NULL|not-null"):
            both()
        assert not conn.in_transaction
        with atomic(conn):
            conn.execute("INSERT INTO notes (text) VALUES ('kept')")
        assert notes(conn) == ["kept"]


async def test_a_closed_database_refuses_more_work(bundled_db):
    database = await Database.open(bundled_db)
    await database.read(lambda conn: conn.execute("SELECT 1").fetchone())
    await database.close()
    await database.close()  # again: nothing happens
    for door in (database.read, database.scan, database.write):
        with pytest.raises(RuntimeError, match="closed"):
            await door(lambda conn: conn.execute("SELECT 1").fetchone())


async def test_a_failed_upload_import_leaves_the_catalogue_as_it_was(catalogue, db):
    from bot.catalogue.importer import ImportOptions
    from bot.errors import UserFacingError

    before = (await catalogue.talk_count(), await catalogue.repo.version())
    empty_event = b'{"schedule": {"conference": {"acronym": "kubecon-eu-2021", "title": "KubeCon", "days": []}}}'
    with pytest.raises(UserFacingError):
        await catalogue.import_data(empty_event, "schedule.json", ImportOptions())
    assert (await catalogue.talk_count(), await catalogue.repo.version()) == before
