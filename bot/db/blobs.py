"""Large values, read and written piece by piece where the engine can, whole where it cannot.

SQLite reads and writes a BLOB in place (`blobopen`): a row is sized first with `zeroblob` and filled
chunk by chunk, so a value of many megabytes never exists twice in memory, and a reader takes only the
bytes it asks for. PostgreSQL's `bytea` has no such access: the value goes and comes whole. A store asks for
a blob here and never learns which of the two it got.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.db.dialect import POSTGRESQL, engine


@dataclass(frozen=True, slots=True)
class BlobReader:
    """One stored value: `read_at(offset, size)` gives its bytes from `offset`; `length` is its size."""

    read_at: Callable[[int, int], bytes]
    length: int


@contextmanager
def read_blob(conn: Any, table: str, column: str, where: str, params: Sequence[Any]) -> Iterator[BlobReader | None]:
    """The value of `column` in the row of `table` meeting `where` (None if there is none), while the block runs.

    Reads after the block ends are not allowed: SQLite's handle is closed then.
    """
    if engine(conn) == POSTGRESQL:
        row = conn.execute(f"SELECT {column} FROM {table} WHERE {where}", params).fetchone()
        if row is None:
            yield None
            return
        data = memoryview(row[0])
        yield BlobReader(lambda offset, size: bytes(data[offset : offset + size]), len(data))
        return
    row = conn.execute(f"SELECT rowid, length({column}) FROM {table} WHERE {where}", params).fetchone()
    if row is None:
        yield None
        return
    rowid, length = row
    with conn.blobopen(table, column, rowid, readonly=True) as blob:

        def read_at(offset: int, size: int) -> bytes:
            blob.seek(offset)
            return bytes(blob.read(size))

        yield BlobReader(read_at, int(length))


def write_blob(
    conn: Any,
    upsert: str,
    params: Sequence[Any],
    *,
    table: str,
    column: str,
    size: int,
    chunks: Callable[[], Iterable[bytes | memoryview]],
) -> None:
    """Store `size` bytes, given by `chunks()`, as `column` of the one row of `table` that `upsert` writes.

    `upsert` holds `{blob}` where the value goes, as its last parameter (after `params`). Run it inside the
    caller's transaction: on SQLite the row is written sized and empty, then filled.
    """
    if engine(conn) == POSTGRESQL:
        conn.execute(upsert.format(blob="?"), (*params, b"".join(chunks())))
        return
    (rowid,) = conn.execute(f"{upsert.format(blob='zeroblob(?)')} RETURNING rowid", (*params, size)).fetchone()
    with conn.blobopen(table, column, rowid) as blob:
        for chunk in chunks():
            blob.write(chunk)
