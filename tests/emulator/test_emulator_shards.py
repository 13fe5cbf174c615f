"""Shards: IDENTIFY with a shard pair, servers routed by `(guild_id >> 22) % shard_count`, READY per shard,
close codes 4010 and 4011, and the identify rate per `max_concurrency` bucket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from emulator.gateway import NoSessionError, ShardingRules, shard_of
from emulator.model import Guild
from emulator.server import DiscordEmulator

INVALID_SESSION = 9


class RawShard:
    """A bare gateway connection: identify, then read what arrives."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket

    async def frame(self, timeout: float = 2.0) -> dict[str, Any]:  # noqa: ASYNC109
        message = await self.socket.receive(timeout=timeout)
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"closed with {self.socket.close_code}")
        frame: dict[str, Any] = json.loads(message.data)
        return frame

    async def dispatches(self, count: int) -> list[dict[str, Any]]:
        return [await self.frame() for _ in range(count)]

    async def quiet(self, seconds: float = 0.1) -> bool:
        """Whether nothing arrives for a while."""
        try:
            await self.socket.receive(timeout=seconds)
        except TimeoutError:
            return True
        return False


@asynccontextmanager
async def connect(emulator: DiscordEmulator, shard: Any = None) -> AsyncIterator[RawShard]:
    """Open a socket, read HELLO and send IDENTIFY (with `shard` unless it is None)."""
    async with aiohttp.ClientSession() as http, http.ws_connect(emulator.gateway_url) as socket:
        raw = RawShard(socket)
        assert (await raw.frame())["op"] == 10
        identify: dict[str, Any] = {"token": emulator.token, "intents": 1, "properties": {}}
        if shard is not None:
            identify["shard"] = shard
        await socket.send_json({"op": 2, "d": identify})
        yield raw


def spread(emulator: DiscordEmulator, count: int) -> dict[int, list[Guild]]:
    """The emulator's servers by shard."""
    found: dict[int, list[Guild]] = {shard: [] for shard in range(count)}
    for guild in emulator.world.guilds.values():
        found[shard_of(guild.id, count)].append(guild)
    return found


@pytest.fixture
async def sharded() -> AsyncIterator[DiscordEmulator]:
    """An emulator with two servers on each of three shards (and its default server somewhere among them)."""
    async with DiscordEmulator(sharding=ShardingRules(max_concurrency=3)) as emulator:
        for shard in range(3):
            for n in range(2):
                await emulator.add_guild(f"shard {shard} server {n}", shard=(shard, 3))
        yield emulator


async def test_guild_ids_can_be_placed_on_a_shard(sharded: DiscordEmulator) -> None:
    assert all(len(guilds) >= 2 for guilds in spread(sharded, 3).values())


async def test_each_shard_is_ready_with_its_own_servers_only(sharded: DiscordEmulator) -> None:
    spread_ = spread(sharded, 3)
    for shard in range(3):
        async with connect(sharded, [shard, 3]) as raw:
            expected = {str(g.id) for g in spread_[shard]}
            ready = await raw.frame()
            assert ready["t"] == "READY"
            assert ready["d"]["shard"] == [shard, 3]
            assert {g["id"] for g in ready["d"]["guilds"]} == expected
            created = await raw.dispatches(len(expected))
            assert {f["t"] for f in created} == {"GUILD_CREATE"}
            assert {f["d"]["id"] for f in created} == expected
            assert await raw.quiet()


async def test_events_go_to_the_shard_of_their_server_and_direct_messages_to_shard_0(sharded: DiscordEmulator) -> None:
    spread_ = spread(sharded, 3)
    async with connect(sharded, [0, 3]) as zero, connect(sharded, [1, 3]) as one, connect(sharded, [2, 3]) as two:
        shards = (zero, one, two)
        for shard, raw in enumerate(shards):
            await raw.dispatches(1 + len(spread_[shard]))  # READY and the GUILD_CREATEs
        await sharded.wait_connected()
        target = spread_[2][0]
        channel = await sharded.add_channel(target, "news")
        created = await two.frame()
        assert (created["t"], created["d"]["id"]) == ("CHANNEL_CREATE", str(channel.id))
        assert await zero.quiet() and await one.quiet()

        interaction = {"id": "1", "type": 2, "guild_id": str(spread_[1][0].id)}
        assert await sharded.gateway.dispatch("INTERACTION_CREATE", interaction, required=True)
        assert (await one.frame())["d"] == interaction
        assert await zero.quiet(0.05) and await two.quiet(0.05)

        direct = {"id": "2", "type": 2, "user": {"id": "3"}}
        assert await sharded.gateway.dispatch("INTERACTION_CREATE", direct, required=True)
        assert (await zero.frame())["d"] == direct
        assert await one.quiet(0.05) and await two.quiet(0.05)

        joined = await sharded.add_guild("a new server", shard=(1, 3))
        found = await one.frame()
        assert (found["t"], found["d"]["id"]) == ("GUILD_CREATE", str(joined.id))


async def test_an_event_for_a_shard_nobody_runs_is_not_delivered(sharded: DiscordEmulator) -> None:
    spread_ = spread(sharded, 3)
    async with connect(sharded, [0, 3]) as zero:
        await zero.dispatches(1 + len(spread_[0]))
        with pytest.raises(NoSessionError, match="shard"):
            await sharded.gateway.dispatch("INTERACTION_CREATE", {"guild_id": str(spread_[1][0].id)}, required=True)
        assert not await sharded.gateway.dispatch("CHANNEL_UPDATE", {"guild_id": str(spread_[2][0].id)})


async def test_an_unsharded_session_gets_every_server_as_shard_0_of_1(sharded: DiscordEmulator) -> None:
    async with connect(sharded) as raw:
        ready = await raw.frame()
        assert ready["d"]["shard"] == [0, 1]
        assert len(ready["d"]["guilds"]) == len(sharded.world.guilds)


@pytest.mark.parametrize("shard", [[3, 3], [-1, 2], [0, 0], [1], ["0", "2"], "0,2", [True, 2]])
async def test_an_invalid_shard_pair_closes_with_4010(emulator: DiscordEmulator, shard: Any) -> None:
    async with connect(emulator, shard) as raw:
        with pytest.raises(ConnectionError):
            await raw.frame()
        assert raw.socket.close_code == 4010


async def test_a_session_with_too_many_servers_must_shard_4011() -> None:
    async with DiscordEmulator(sharding=ShardingRules(max_guilds_per_session=2, max_concurrency=2)) as emulator:
        for shard in range(2):
            await emulator.add_guild(f"server {shard}", shard=(shard, 2))
        assert len(emulator.world.guilds) == 3
        async with connect(emulator) as raw:
            with pytest.raises(ConnectionError):
                await raw.frame()
            assert raw.socket.close_code == 4011
        assert emulator.gateway.sessions == {}
        for shard in range(2):  # with two shards each has at most two
            async with connect(emulator, [shard, 2]) as raw:
                assert (await raw.frame())["t"] == "READY"


async def test_identifies_are_limited_per_max_concurrency_bucket() -> None:
    rules = ShardingRules(max_concurrency=2, identify_window=0.3)
    async with DiscordEmulator(sharding=rules) as emulator:
        async with connect(emulator, [0, 4]) as first:
            assert (await first.frame())["t"] == "READY"
            async with connect(emulator, [2, 4]) as same_bucket:  # 2 % 2 == 0: too soon after shard 0
                refused = await same_bucket.frame()
                assert (refused["op"], refused["d"]) == (INVALID_SESSION, False)
            async with connect(emulator, [1, 4]) as other_bucket:
                assert (await other_bucket.frame())["t"] == "READY"
            await asyncio.sleep(0.3)
            async with connect(emulator, [2, 4]) as later:
                assert (await later.frame())["t"] == "READY"
        assert (emulator.gateway.identifies, emulator.gateway.refused_identifies) == (3, 1)


async def test_one_shard_sessions_are_not_held_to_the_identify_rate(emulator: DiscordEmulator) -> None:
    for shard in (None, [0, 1], [0, 1]):
        async with connect(emulator, shard) as raw:
            assert (await raw.frame())["t"] == "READY"
    assert emulator.gateway.refused_identifies == 0


async def test_gateway_bot_reports_the_recommended_shards_and_max_concurrency() -> None:
    rules = ShardingRules(recommended_shards=4, max_concurrency=2)
    async with DiscordEmulator(sharding=rules) as emulator, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {emulator.token}"}
        async with http.get(emulator.api_base_url + "/gateway/bot", headers=headers) as response:
            body = await response.json()
        assert body["shards"] == 4
        assert body["session_start_limit"]["max_concurrency"] == 2
        assert body["url"] == emulator.gateway_url
        assert not emulator.violations
    assert ShardingRules().shards_for(2_500) == 3 and ShardingRules().shards_for(3) == 1


async def test_a_new_identify_for_a_shard_replaces_its_session(sharded: DiscordEmulator) -> None:
    async with connect(sharded, [1, 3]) as first:
        await first.frame()
        before = sharded.gateway.sessions[(1, 3)]
    await asyncio.sleep(0)
    sharded.sharding.identify_window = 0
    async with connect(sharded, [1, 3]) as second:
        await second.frame()
        assert sharded.gateway.sessions[(1, 3)] is not before
        assert len(sharded.gateway.sessions) == 1
