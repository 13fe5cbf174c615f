"""Gateway faults: the bot resumes (with replay of what it missed), re-identifies, or stops, as Discord's do."""

from __future__ import annotations

import asyncio

import discord
import pytest

from emulator.harness import current_endpoints, no_identify_delay, point_discord_at, run_client
from emulator.server import DiscordEmulator
from tests.emulator.testbot import EmulatorTestBot


async def _disconnected(emulator: DiscordEmulator) -> None:
    await emulator.wait_for(lambda: True if not emulator.gateway.connected else None, what="the bot to drop")


@pytest.mark.parametrize("code", [4000, 1001, 1000])
async def test_close_then_resume_replays_an_interaction_sent_meanwhile(
    emulator: DiscordEmulator, bot: EmulatorTestBot, code: int
):
    async with emulator.faults.hold_reconnects():
        await emulator.faults.close_gateway(code)
        handle = await emulator.slash("ping")
        assert not emulator.gateway.connected
    assert (await handle.response())["data"]["content"] == "pong"
    assert (emulator.gateway.resumes, emulator.gateway.identifies) == (1, 1)


async def test_reconnect_opcode_resumes_and_replays(emulator: DiscordEmulator, bot: EmulatorTestBot):
    async with emulator.faults.hold_reconnects():
        await emulator.faults.send_reconnect()
        await _disconnected(emulator)
        handle = await emulator.slash("ping")
    assert (await handle.response())["data"]["content"] == "pong"
    assert emulator.gateway.resumes == 1


async def test_resumable_invalid_session_resumes(emulator: DiscordEmulator, bot: EmulatorTestBot):
    await emulator.faults.invalid_session(resumable=True)
    await emulator.wait_for(lambda: emulator.gateway.resumes or None, what="RESUME")
    handle = await emulator.slash("ping")
    assert (await handle.response())["data"]["content"] == "pong"


async def test_non_resumable_invalid_session_identifies_again(emulator: DiscordEmulator, bot: EmulatorTestBot):
    first = emulator.gateway.session
    await emulator.faults.invalid_session(resumable=False)
    await emulator.wait_for(lambda: True if emulator.gateway.identifies == 2 else None, what="a new IDENTIFY")
    await emulator.wait_connected()
    assert emulator.gateway.session is not first and emulator.gateway.resumes == 0
    handle = await emulator.slash("ping")
    assert (await handle.response())["data"]["content"] == "pong"


async def test_resume_of_a_forgotten_session_is_refused_and_the_bot_identifies(
    emulator: DiscordEmulator, bot: EmulatorTestBot
):
    await emulator.faults.close_gateway(4009)
    await emulator.wait_for(lambda: True if emulator.gateway.identifies == 2 else None, what="a new IDENTIFY")
    await emulator.wait_connected()
    assert emulator.gateway.resumes == 0
    assert [frame["op"] for frame in emulator.gateway.received].count(6) == 1


async def test_authentication_failure_close_stops_the_client(emulator: DiscordEmulator):
    client = EmulatorTestBot(emulator.guild.id)
    client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    previous = point_discord_at(emulator.api_base_url, emulator.gateway_url)
    try:
        task = asyncio.create_task(client.start(emulator.token))
        await emulator.wait_connected()
        await emulator.faults.close_gateway(4004)
        with pytest.raises(discord.ConnectionClosed) as caught:
            await asyncio.wait_for(task, 2)
        assert caught.value.code == 4004
        assert client.is_closed()
    finally:
        await client.close()
        point_discord_at(*previous)


async def test_wrong_token_is_refused_at_login(emulator: DiscordEmulator):
    client = EmulatorTestBot(emulator.guild.id)
    previous = point_discord_at(emulator.api_base_url, emulator.gateway_url)
    try:
        with pytest.raises(discord.LoginFailure):
            await client.start("bad.token.value")
    finally:
        await client.close()
        point_discord_at(*previous)
    assert current_endpoints() == previous


async def _run_and_break(emulator: DiscordEmulator) -> None:
    async with run_client(emulator, EmulatorTestBot(emulator.guild.id)):
        task = next(t for t in asyncio.all_tasks() if t.get_name() == "discord-client")
        broken = {"id": "1", "type": 2, "token": "t", "version": 1, "application_id": "1"}
        await emulator.gateway.dispatch("INTERACTION_CREATE", broken)
        await emulator.wait_for(lambda: task.done() or None, what="the client to die")


async def test_a_client_killed_by_a_bad_dispatch_fails_the_block(emulator: DiscordEmulator):
    with pytest.raises(KeyError, match="attachment_size_limit"):
        await _run_and_break(emulator)
