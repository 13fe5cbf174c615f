"""Large values stored and read back through `bot.db.blobs`, the same calls on either engine."""

from __future__ import annotations

from pathlib import Path

from bot.db.blobs import read_blob, write_blob
from bot.db.connection import atomic, sync_db

UPSERT = (
    "INSERT INTO search_cache (name, catalogue_version, data) VALUES (?, ?, {blob})"
    " ON CONFLICT (name) DO UPDATE SET catalogue_version = excluded.catalogue_version, data = excluded.data"
)


def store(conn: object, name: str, version: int, chunks: list[bytes]) -> None:
    with atomic(conn):  # type: ignore[arg-type]
        write_blob(
            conn,
            UPSERT,
            (name, version),
            table="search_cache",
            column="data",
            size=sum(len(chunk) for chunk in chunks),
            chunks=lambda: iter(chunks),
        )


def test_a_value_written_in_chunks_reads_back_at_any_offset_and_is_replaced_whole(bundled_db: Path) -> None:
    value = bytes(range(256)) * 4099  # a little over 1 MB, not a multiple of any chunk
    chunks = [value[:1000], value[1000:700_001], value[700_001:]]
    with sync_db(bundled_db) as conn:
        store(conn, "test", 7, chunks)
        with read_blob(conn, "search_cache", "data", "name = ? AND catalogue_version = ?", ("test", 7)) as found:
            assert found is not None and found.length == len(value)
            assert found.read_at(0, 10) == value[:10]
            assert found.read_at(999, 5) == value[999:1004]  # across the first chunk's end
            assert found.read_at(len(value) - 3, 10) == value[-3:]  # short at the end
        # Written again, smaller, under a new version: the old bytes are gone, the old version finds nothing.
        store(conn, "test", 8, [b"small"])
        with read_blob(conn, "search_cache", "data", "name = ? AND catalogue_version = ?", ("test", 7)) as found:
            assert found is None
        with read_blob(conn, "search_cache", "data", "name = ?", ("test",)) as found:
            assert found is not None and (found.length, found.read_at(0, 100)) == (5, b"small")
        assert conn.execute("SELECT COUNT(*) FROM search_cache WHERE name = 'test'").fetchone()[0] == 1
