"""Discord's shards as the database sees them: which servers a process owns, and the identify rate.

`ShardFilter` limits what a process's scheduler loads to the servers of its shards
(`(guild_id >> 22) % shard_count IN (...)`, which SQLite computes on integers): a process's gateway cache
holds only those servers. Reminders, sent as direct messages, belong to no server and need no cache: every
process loads them, and the atomic claim has exactly one send each (bot/services/container.py).

`claim_identify` is the identify rate shared by every process over one database: a shard waits until its
rate-limit bucket (`shard_id % max_concurrency`) is free, then takes it for the window in one
`UPDATE ... WHERE free_at <= now RETURNING` (bot/data/migrations/0014_identify.sql), `now` read from the
database's clock, the one clock every machine shares. The claim is atomic, so of two processes identifying
in one bucket exactly one goes first and the other waits out the window.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.db.dialect import unix_now
from bot.db.gateway import Database, Session

log = logging.getLogger(__name__)

IDENTIFY_WINDOW = 5.0  # seconds: Discord lets each bucket IDENTIFY once per window
# Held a little longer than the window: the IDENTIFY leaves a moment after the claim, and the next claimer's
# may leave sooner after its own; the margin keeps the two IDENTIFYs a full window apart at Discord's end.
IDENTIFY_MARGIN = 0.5
_POLL_CAP = 1.0  # seconds between attempts at most, so a bucket freed early is noticed


@dataclass(frozen=True, slots=True)
class ShardFilter:
    """The shards a process runs: `ids` out of `count`."""

    count: int
    ids: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.count < 1 or not self.ids or any(not 0 <= shard < self.count for shard in self.ids):
            raise ValueError(f"shards {self.ids} out of {self.count} are not a valid share")

    def owns(self, guild_id: int) -> bool:
        """Whether a server's events (and so its scheduled posts) belong to these shards."""
        return (guild_id >> 22) % self.count in self.ids

    def sql(self, column: str) -> tuple[str, tuple[int, ...]]:
        """A condition (starting with " AND") on a server id column, and its parameters."""
        marks = ", ".join("?" for _ in self.ids)
        return f" AND (({column} >> 22) % ? IN ({marks}))", (self.count, *self.ids)


def shard_sql(shards: ShardFilter | None, column: str) -> tuple[str, tuple[int, ...]]:
    """`shards.sql(column)`, or no condition at all for a process that runs every shard."""
    return ("", ()) if shards is None else shards.sql(column)


def _claim(conn: Session, bucket: int, now: float | None, hold: float, holder: str) -> float | None:
    """Take the bucket until `now + hold` if it is free (None); else the seconds until it is (one transaction).

    `now` is the database's clock unless a test gives one: the processes sharing a bucket may run on machines
    whose clocks differ by more than the margin, and the database is the one clock they all read.
    """
    if now is None:
        now = float(conn.execute(f"SELECT {unix_now(conn)}").fetchone()[0])
    conn.execute("INSERT INTO identify_buckets (bucket, free_at) VALUES (?, 0) ON CONFLICT DO NOTHING", (bucket,))
    taken = conn.execute(
        "UPDATE identify_buckets SET free_at = ?, claimed_by = ? WHERE bucket = ? AND free_at <= ? RETURNING bucket",
        (now + hold, holder, bucket, now),
    ).fetchone()
    if taken is not None:
        return None
    row = conn.execute("SELECT free_at FROM identify_buckets WHERE bucket = ?", (bucket,)).fetchone()
    return max(float(row[0]) - now, 0.0)


async def claim_identify(
    db: Database,
    shard_id: int,
    shard_count: int,
    max_concurrency: int,
    *,
    window: float = IDENTIFY_WINDOW + IDENTIFY_MARGIN,
    now: Callable[[], float] | None = None,
) -> float:
    """Wait until this shard's bucket is free and claim it for `window` seconds; returns the seconds waited.

    The window is timed by the database's clock (`now`, in tests, replaces it and times the wait too).
    Retried until it succeeds.
    """
    bucket = shard_id % max(1, max_concurrency)
    holder = f"shard {shard_id} of {shard_count}, process {os.getpid()}"
    clock = now or time.monotonic
    started = clock()
    while True:
        claim = functools.partial(_claim, bucket=bucket, now=None if now is None else now(), hold=window, holder=holder)
        wait = await db.write(claim)
        if wait is None:
            waited = clock() - started
            if waited > 0.01:
                log.info("Shard %s identifies after waiting %.1fs for its bucket %s", shard_id, waited, bucket)
            return waited
        await asyncio.sleep(min(max(wait, 0.01), _POLL_CAP))
