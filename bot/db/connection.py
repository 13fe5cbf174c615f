"""Opening the catalogue database with the settings every connection needs.

The bot keeps one long-lived aiosqlite connection for its reads and small writes. Bulk work (migrations,
imports, building the search index) runs on a plain `sqlite3` connection in a worker thread: it is many
times faster than hopping to aiosqlite's thread for every row, and WAL lets both work side by side.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import aiosqlite

from bot.db.migrations import check_version, migrate
from bot.errors import DatabaseError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
_PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
)
# Switching to WAL rewrites the file header, so it happens only once the schema version is known to be ours.
_WAL = "PRAGMA journal_mode = WAL"


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory; BOT_DATABASE or --db must name a file.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"Cannot create the folder for the database {path}: {exc.strerror}.") from exc


def _unusable(path: Path, exc: sqlite3.Error) -> DatabaseError:
    return DatabaseError(
        f"{path} is not a usable catalogue database ({exc}). Move it aside and run "
        "`python -m bot init` to build a fresh one from the bundled catalogue."
    )


def connect_sync(path: Path, *, migrate_schema: bool = True) -> sqlite3.Connection:
    """A configured (and migrated) `sqlite3` connection in autocommit mode; the caller closes it."""
    _check_path(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise DatabaseError(f"Cannot open the database {path}: {exc}.") from exc
    try:
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        check_version(conn)
        conn.execute(_WAL)
        if migrate_schema:
            migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _unusable(path, exc) from exc
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def sync_db(path: Path, *, migrate_schema: bool = True) -> Iterator[sqlite3.Connection]:
    """`connect_sync` as a context manager."""
    conn = connect_sync(path, migrate_schema=migrate_schema)
    try:
        yield conn
    finally:
        conn.close()


def prepare(path: Path) -> None:
    """Create the database if needed and bring its schema up to date."""
    connect_sync(path).close()


@asynccontextmanager
async def open_db(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """Open (creating and migrating if needed) the database; one long-lived connection, closed on exit."""
    await asyncio.to_thread(prepare, path)
    try:
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise DatabaseError(f"Cannot open the database {path}: {exc}.") from exc
    try:
        conn.row_factory = aiosqlite.Row
        try:
            for pragma in (*_PRAGMAS, _WAL):
                await conn.execute(pragma)
        except sqlite3.DatabaseError as exc:
            raise _unusable(path, exc) from exc
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def transaction(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """Run the block's writes as one transaction: all of them, or none if anything raises."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        await conn.rollback()
        raise
    else:
        await conn.commit()


@contextmanager
def sync_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """The same for a `sqlite3` connection."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.commit()
