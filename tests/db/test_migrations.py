import sqlite3
from pathlib import Path

import pytest

from bot.db.connection import connect_sync, sync_db
from bot.db.migrations import current_version, latest_version, load_migrations, migrate
from bot.errors import DatabaseError


def test_migrating_from_zero_reaches_the_latest_version(tmp_path: Path) -> None:
    with sync_db(tmp_path / "new.sqlite3") as conn:
        assert current_version(conn) == latest_version() == len(load_migrations())
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"events", "talks", "people", "organizations", "topics", "talk_speakers", "talk_topics"} <= tables


def test_connections_enforce_foreign_keys_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    with sync_db(tmp_path / "db.sqlite3") as conn:
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO talks (slug, title, event_id) VALUES ('x', 'X', 999)")


def test_a_database_from_a_newer_program_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sync_db(path) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="newer version"):
        connect_sync(path)
    assert path.read_bytes() == before


def test_a_failing_migration_leaves_the_schema_as_it_was(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_first.sql").write_text("CREATE TABLE a (x INTEGER);")
    (migrations / "0002_broken.sql").write_text("CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);")
    conn = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, migrations)
        assert current_version(conn) == 0
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0
    finally:
        conn.close()


def test_migration_numbers_must_not_skip(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(DatabaseError, match="without gaps"):
        load_migrations(tmp_path)


def test_a_damaged_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="not a usable catalogue database"):
        connect_sync(path)
    assert path.read_bytes() == before
