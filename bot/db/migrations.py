"""Numbered, forward-only schema migrations tracked with `PRAGMA user_version`."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.data import MIGRATIONS
from bot.errors import DatabaseError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = MIGRATIONS
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its number, its name and its SQL."""

    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in `directory`, in order; numbers must run 1, 2, 3... without gaps."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise DatabaseError(f"Migration file {path.name} is not named NNNN_name.sql.")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise DatabaseError(f"Migrations must be numbered without gaps: expected {expected:04d}.")
    return found


def latest_version(directory: Path = MIGRATIONS_DIR) -> int:
    """The schema version this program writes."""
    return len(load_migrations(directory))


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def check_version(conn: sqlite3.Connection, latest: int | None = None) -> int:
    """The database's schema version; refuse one written by a newer program."""
    latest = latest_version() if latest is None else latest
    have = current_version(conn)
    if have > latest:
        raise DatabaseError(
            f"This database was written by a newer version of the program (schema {have}, this program "
            f"knows up to {latest}). Upgrade the program; the database was left untouched."
        )
    return have


def migrate(conn: sqlite3.Connection, directory: Path = MIGRATIONS_DIR) -> int:
    """Bring the schema to the latest version in one transaction; returns the number of steps applied."""
    migrations = load_migrations(directory)
    have = check_version(conn, len(migrations))
    pending = migrations[have:]
    if not pending:
        return 0
    # One script, one transaction: a failing step leaves the schema exactly as it was.
    script = "BEGIN IMMEDIATE;\n"
    for migration in pending:
        script += f"{migration.sql}\n;PRAGMA user_version = {migration.version};\n"
    script += "COMMIT;"
    try:
        conn.executescript(script)
    except Exception:
        if conn.in_transaction:
            conn.rollback()
        raise
    log.info("Database schema upgraded from version %d to %d", have, len(migrations))
    return len(pending)
