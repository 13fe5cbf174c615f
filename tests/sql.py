"""Running one statement in a test, through the database gateway's write path (so it commits before the test goes on)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.db.gateway import Database


async def sql(
    db: Database, statement: str, params: Sequence[object] | Mapping[str, object] = ()
) -> list[tuple[Any, ...]]:
    """The rows the statement returns (none for most writes)."""
    return await db.write(lambda conn: [tuple(row) for row in conn.execute(statement, params).fetchall()])
