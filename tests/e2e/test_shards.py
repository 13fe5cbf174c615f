"""Several bots sharing Discord's shards (SHARD_COUNT=3, one shard each) over one database and one emulator.

Each answers only the interactions of its shards' servers (direct messages go to shard 0), schedules only
their highlights, and every scheduled highlight is posted once, by the process whose shard has the server.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest

from bot.config import Settings
from bot.db.connection import sync_db
from bot.db.gateway import Database
from bot.db.shards import ShardFilter, _claim, claim_identify
from bot.highlights.clock import FakeClock
from bot.platforms.discord.client import HighlightsBot
from emulator.gateway import shard_of
from emulator.harness import fast_client_options, run_client
from emulator.model import Guild, InteractionContext
from emulator.server import DiscordEmulator
from tests.e2e.test_highlights import admin

COUNT = 3
START = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


@dataclass
class Fleet:
    """The running bots, one per shard, and what each was asked."""

    bots: list[HighlightsBot]
    servers: dict[int, Guild]  # shard -> a server on it
    clock: FakeClock
    seen: dict[int, list[int | None]] = field(default_factory=dict)  # shard -> the servers of its interactions


@pytest.fixture
async def fleet(discord_emulator: DiscordEmulator, bundled_db: Path) -> AsyncIterator[Fleet]:
    discord_emulator.sharding.max_concurrency = COUNT  # a bucket per shard: no one waits at start
    servers = {
        shard: await discord_emulator.add_guild(
            f"server on shard {shard}", ("general", "highlights"), shard=(shard, COUNT)
        )
        for shard in range(COUNT)
    }
    clock = FakeClock(START)
    found = Fleet([], servers, clock)
    async with AsyncExitStack() as stack:
        for shard in range(COUNT):
            settings = Settings(
                database=bundled_db, discord_token=discord_emulator.token, shard_count=COUNT, shard_ids=(shard,)
            )
            bot = HighlightsBot(settings, clock=clock, **fast_client_options())
            seen = found.seen.setdefault(shard, [])

            async def on_interaction(interaction: discord.Interaction, seen: list[int | None] = seen) -> None:
                seen.append(interaction.guild_id)

            bot.add_listener(on_interaction)
            await stack.enter_async_context(run_client(discord_emulator, bot, skip_identify_delay=False))
            found.bots.append(bot)
        await found.bots[0].tree.sync()  # global commands, for every server and direct messages
        yield found


async def test_each_process_answers_its_own_servers_and_posts_their_highlights_once(
    discord_emulator: DiscordEmulator, fleet: Fleet
) -> None:
    assert discord_emulator.gateway.refused_identifies == 0
    assert sorted(discord_emulator.gateway.sessions) == [(shard, COUNT) for shard in range(COUNT)]
    for shard, bot in enumerate(fleet.bots):
        assert {guild.id for guild in bot.guilds} == {
            g for g in discord_emulator.world.guilds if shard_of(g, COUNT) == shard
        }

    for server in fleet.servers.values():
        channel = server.text_channels()[1]
        handle = await discord_emulator.slash(
            "highlights setup",
            {"channel": channel, "time": "07:30", "timezone": "UTC"},
            user=admin(discord_emulator),
            guild=server,
        )
        assert "Scheduled" in str(await handle.response())
    dm = await discord_emulator.slash("talk", {"title": "tap tap"}, context=InteractionContext.BOT_DM)
    assert (await dm.response())["data"]["embeds"]
    assert fleet.seen == {shard: [server.id] for shard, server in fleet.servers.items()} | {
        0: [fleet.servers[0].id, None]
    }

    # Discord's global limit is one budget for the bot: each process keeps its shards' share of it.
    assert [bot.services.scheduler_config.per_second for bot in fleet.bots] == [16, 16, 16]

    for shard, bot in enumerate(fleet.bots):  # each scheduler loads only its own servers' schedules
        assert [s.guild_id for s in await bot.services.schedule_store.list_enabled()] == [fleet.servers[shard].id]

    for day in range(2):
        await fleet.clock.advance_to(START + timedelta(days=day, minutes=31))
        for server in fleet.servers.values():
            channel = server.text_channels()[1]
            await discord_emulator.wait_for(
                lambda channel=channel, day=day: True if len(discord_emulator.posts(channel)) == day + 1 else None,
                timeout=5,
                what=f"day {day + 1}'s highlight in {server.name}",
            )
    for shard, server in fleet.servers.items():
        assert len(discord_emulator.posts(server.text_channels()[1])) == 2
        info = await fleet.bots[shard].services.highlights.status(server.id, 1 + shard)
        assert info.failures == 0


async def test_identify_buckets_are_claimed_once_per_window_across_processes(bundled_db: Path) -> None:
    moments = iter([100.0, 100.0, 101.0, 105.6, 105.6])  # the start, three claims, the end
    db = await Database.open(bundled_db)
    try:
        assert await claim_identify(db, 0, 4, 2, now=lambda: 100.0) == 0
        assert await claim_identify(db, 1, 4, 2, now=lambda: 100.0) == 0  # another bucket: no wait
        # Shard 2 shares shard 0's bucket: it waits for the window to pass (the clock here jumps ahead).
        waited = await claim_identify(db, 2, 4, 2, now=lambda: next(moments))
        assert waited == pytest.approx(5.6)
        assert next(moments, None) is None  # two claims refused, the third taken
        rows = await db.read(lambda conn: conn.execute("SELECT bucket, claimed_by FROM identify_buckets").fetchall())
        assert sorted(bucket for bucket, _ in rows) == [0, 1]
        assert any("shard 2 of 4" in holder for _, holder in rows)
    finally:
        await db.close()


async def test_a_shard_sharing_a_bucket_waits_out_the_window_in_real_time(bundled_db: Path) -> None:
    """With no clock given (as the bot runs), the second shard of a bucket really waits, on either engine."""
    db = await Database.open(bundled_db)
    try:
        assert await claim_identify(db, 0, 2, 1, window=0.4) < 0.3  # a free bucket: taken at once
        started = time.monotonic()
        waited = await claim_identify(db, 1, 2, 1, window=0.4)
        assert waited >= 0.3 and time.monotonic() - started >= 0.3
        rows = await db.read(lambda conn: conn.execute("SELECT claimed_by FROM identify_buckets").fetchall())
        assert [holder.split(",")[0] for (holder,) in rows] == ["shard 1 of 2"]
    finally:
        await db.close()


def test_the_identify_window_is_timed_by_the_databases_clock_not_the_process(tmp_path: Path) -> None:
    """Processes on machines whose clocks disagree still keep a bucket's IDENTIFYs a window apart.

    The database's clock is set an hour ahead of this process's (SQLite lets a connection replace
    `julianday`); the bucket's times follow the database's, and the wait is counted on it.
    """
    with sync_db(tmp_path / "clock.sqlite3") as conn:
        real = conn.execute("SELECT julianday('now')").fetchone()[0]
        conn.create_function("julianday", 1, lambda _: real + 1 / 24)
        assert _claim(conn, 0, None, 5.0, "shard 0") is None
        (free_at,) = conn.execute("SELECT free_at FROM identify_buckets WHERE bucket = 0").fetchone()
        assert free_at - time.time() == pytest.approx(3605, abs=60)
        wait = _claim(conn, 0, None, 5.0, "shard 2")  # the same instant, by the database: the whole window left
        assert wait == pytest.approx(5.0, abs=0.01)


def test_a_shard_filter_says_which_servers_are_its_own() -> None:
    shards = ShardFilter(3, (1, 2))
    assert shards.owns(1 << 22) and not shards.owns(3 << 22)
    assert shards.sql("guild_id") == (" AND ((guild_id >> 22) % ? IN (?, ?))", (3, 1, 2))
    with pytest.raises(ValueError, match="not a valid share"):
        ShardFilter(2, (2,))
