"""Opening the catalogue database with the settings every connection needs.

The running bot reaches the database only through the gateway (`bot.db.gateway.Database`), which opens its
connections here. The command line's offline tools (`init`, `import`, `export`) use `sync_db` directly: one
process, one transaction, nothing else to share the connection with.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from bot.db.dialect import is_postgres_url
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


def connect_sync(path: Path | str, *, migrate_schema: bool = True) -> sqlite3.Connection:
    """A configured (and migrated) `sqlite3` connection in autocommit mode; the caller closes it.

    Given a `postgresql://` URL, PostgreSQL's session (`bot.db.postgres.PgSession`), which answers the same
    calls; it runs its own event loop, so it is not for a thread where one is running.
    """
    if is_postgres_url(path):
        from bot.db.postgres import connect_postgres

        return cast(sqlite3.Connection, connect_postgres(path, migrate_schema=migrate_schema))
    path = Path(path)
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
def sync_db(path: Path | str, *, migrate_schema: bool = True) -> Iterator[sqlite3.Connection]:
    """`connect_sync` as a context manager."""
    conn = connect_sync(path, migrate_schema=migrate_schema)
    try:
        yield conn
    finally:
        conn.close()


def prepare(path: Path | str) -> None:
    """Create the database if needed and bring its schema up to date."""
    connect_sync(path).close()


def snapshot(source: Path, target: Path) -> None:
    """Copy the database at `source` to `target` as one consistent snapshot, whatever a running bot is writing.

    SQLite's online backup reads the write-ahead log too: a plain file copy of a database in WAL mode can miss
    the latest commits, or catch a page half written.
    """
    with sync_db(source) as conn:
        copy = sqlite3.connect(target)
        try:
            conn.backup(copy)
        finally:
            copy.close()


@contextmanager
def atomic(conn: sqlite3.Connection, *, keep: bool = True) -> Iterator[sqlite3.Connection]:
    """The block's writes as one unit: all of them, or none if anything raises (or, without `keep`, in any case).

    On its own it is a transaction that takes the write lock at once; inside the caller's transaction (a piece
    of the gateway's batched writes) it is a savepoint, undone alone.
    """
    nested = conn.in_transaction
    conn.execute("SAVEPOINT atomic" if nested else "BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        _undo(conn, nested)
        raise
    if not keep:
        _undo(conn, nested)
    elif nested:
        conn.execute("RELEASE atomic")
    else:
        conn.execute("COMMIT")


def _undo(conn: sqlite3.Connection, nested: bool) -> None:
    if not conn.in_transaction:  # SQLite already rolled everything back (a full disk, say)
        return
    if nested:
        conn.execute("ROLLBACK TO atomic")
        conn.execute("RELEASE atomic")
    else:
        conn.execute("ROLLBACK")
