"""The REST side seen by a plain HTTP client and by discord.py: auth, errors, faults, rate limits, bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from emulator.server import DiscordEmulator
from tests.emulator.testbot import EmulatorTestBot

MESSAGES = "/channels/{channel_id}/messages"


@pytest.fixture
async def http(emulator: DiscordEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {emulator.token}"}) as session:
        yield session


async def _json(response: aiohttp.ClientResponse) -> Any:
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(await response.text())


async def test_every_read_route_answers_and_validates(emulator: DiscordEmulator, http: aiohttp.ClientSession):
    base, guild, channel = emulator.api_base_url, emulator.guild.id, emulator.channel.id
    paths = [
        "/users/@me",
        "/oauth2/applications/@me",
        "/gateway",
        "/gateway/bot",
        f"/applications/{emulator.application_id}/commands",
        f"/applications/{emulator.application_id}/guilds/{guild}/commands",
        f"/guilds/{guild}?with_counts=true",
        f"/guilds/{guild}/channels",
        f"/channels/{channel}",
        f"/channels/{emulator.dm_channel().id}",
    ]
    for path in paths:
        async with http.get(base + path) as response:
            assert response.status == 200, path
            await _json(response)
    assert [r.status for r in emulator.requests] == [200] * len(paths)


async def test_unknown_route_and_missing_auth_answer_like_discord(emulator: DiscordEmulator):
    async with aiohttp.ClientSession() as session:
        async with session.get(emulator.api_base_url + "/nothing/here") as response:
            assert response.status == 404
            assert await _json(response) == {"message": "404: Not Found", "code": 0}
        async with session.get(emulator.api_base_url + "/users/@me") as response:
            assert response.status == 401
            assert (await _json(response))["code"] == 0
        async with session.get(emulator.api_base_url + "/gateway") as response:
            assert response.status == 200, "GET /gateway needs no token"


@pytest.mark.realdata
async def test_invalid_bodies_get_discords_400_and_are_recorded(emulator: DiscordEmulator, http: aiohttp.ClientSession):
    url = f"{emulator.api_base_url}/channels/{emulator.channel.id}/messages"
    async with http.post(url, json={"content": 5}) as response:
        assert response.status == 400
        body = await _json(response)
        assert body["code"] == 50035 and body["message"] == "Invalid Form Body"
        assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_BAD_TYPE"
    async with http.post(
        url, json={"embeds": [{"title": "t", "fields": [{"name": "n", "value": "v" * 1025}]}]}
    ) as response:
        assert (await _json(response))["errors"]["embeds"]["0"]["fields"]["0"]["value"]["_errors"]
    async with http.post(url, json={"tts": False}) as response:
        assert (await _json(response))["code"] == 50006
    async with http.post(url, data=b"{not json", headers={"Content-Type": "application/json"}) as response:
        assert (await _json(response))["code"] == 50109
    assert [v.route for v in emulator.violations] == [MESSAGES] * 3
    emulator.violations.clear()
    assert emulator.posts(emulator.channel) == []


async def test_multipart_post_with_payload_json_and_a_file(emulator: DiscordEmulator, http: aiohttp.ClientSession):
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", json.dumps({"content": "see file", "attachments": [{"id": 0, "filename": "a.txt"}]}))
    form.add_field("files[0]", b"hello", filename="a.txt", content_type="text/plain")
    async with http.post(f"{emulator.api_base_url}/channels/{emulator.channel.id}/messages", data=form) as response:
        message = await _json(response)
    assert message["content"] == "see file"
    assert [(a["filename"], a["size"]) for a in message["attachments"]] == [("a.txt", 5)]


async def test_route_faults_answer_then_expire(emulator: DiscordEmulator, http: aiohttp.ClientSession):
    fault = emulator.faults.fail("GET", "/users/@me", 500, times=2)
    url = emulator.api_base_url + "/users/@me"
    statuses = []
    for _ in range(3):
        async with http.get(url) as response:
            statuses.append(response.status)
            await _json(response)
    assert statuses == [500, 500, 200]
    assert fault.hits == 2 and fault.spent


async def test_global_rate_limit_answers_429_with_headers(emulator: DiscordEmulator, http: aiohttp.ClientSession):
    emulator.faults.set_global_rate_limit(2, per=30.0)
    statuses = []
    for _ in range(3):
        async with http.get(emulator.api_base_url + "/users/@me") as response:
            statuses.append(response.status)
            body = await _json(response)
    assert statuses == [200, 200, 429]
    assert body["global"] is True and 0 < body["retry_after"] <= 30
    assert response.headers["X-RateLimit-Global"] == "true" and response.headers["Via"]
    async with http.get(emulator.api_base_url + "/gateway") as response:
        assert response.status == 200, "routes without the bot token are not globally limited"


async def test_429_on_a_post_is_waited_out_and_posted_once(emulator: DiscordEmulator, bot: EmulatorTestBot):
    fault = emulator.faults.rate_limit("POST", MESSAGES, retry_after=0.05)
    channel = bot.get_channel(emulator.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("after the wait")
    assert fault.hits == 1
    assert [p.content for p in emulator.posts(emulator.channel)] == ["after the wait"]
    attempts = [r.status for r in emulator.requests if r.route == MESSAGES]
    assert attempts == [429, 200]


async def test_global_rate_limit_slows_discord_py_down(emulator: DiscordEmulator, bot: EmulatorTestBot):
    emulator.faults.set_global_rate_limit(2, per=0.05)
    channel = bot.get_channel(emulator.channel.id)
    assert isinstance(channel, discord.TextChannel)
    for number in range(5):
        await channel.send(f"post {number}")
    assert [p.content for p in emulator.posts(emulator.channel)] == [f"post {n}" for n in range(5)]
    assert 429 in [r.status for r in emulator.requests if r.route == MESSAGES]


@pytest.mark.parametrize(("status", "error"), [(403, discord.Forbidden), (404, discord.NotFound)])
async def test_injected_errors_reach_the_bot_as_exceptions(
    emulator: DiscordEmulator, bot: EmulatorTestBot, status: int, error: type[discord.HTTPException]
):
    emulator.faults.fail("POST", f"/channels/{emulator.channel.id}/*", status)
    channel = bot.get_channel(emulator.channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(error):
        await channel.send("refused")
    await channel.send("accepted")
    assert [p.content for p in emulator.posts(emulator.channel)] == ["accepted"]


async def test_delay_fault_holds_the_answer(emulator: DiscordEmulator, bot: EmulatorTestBot):
    emulator.faults.delay("POST", "/interactions/{interaction_id}/{interaction_token}/callback", 0.05)
    handle = await emulator.slash("ping")
    assert handle.callback is None
    await handle.response()
    assert handle.original is not None and handle.original.content == "pong"


async def test_second_callback_and_early_followup_are_refused(emulator: DiscordEmulator, bot: EmulatorTestBot):
    handle = await emulator.slash("ping")
    await handle.response()
    async with aiohttp.ClientSession() as session:
        url = f"{emulator.api_base_url}/interactions/{handle.id}/{handle.token}/callback"
        async with session.post(url, json={"type": 4, "data": {"content": "again"}}) as response:
            assert (await _json(response))["code"] == 40060
        async with session.post(url.replace(handle.token, "wrong"), json={"type": 1}) as response:
            assert (await _json(response))["code"] == 10062
        async with session.get(
            f"{emulator.api_base_url}/webhooks/{emulator.application_id}/{handle.token}/messages/@original"
        ) as response:
            assert (await _json(response))["content"] == "pong"


async def test_late_callback_is_an_unknown_interaction(emulator: DiscordEmulator, bot: EmulatorTestBot):
    emulator.callback_deadline = 0.0
    await emulator.slash("ping")
    await emulator.wait_for(lambda: bot.command_errors or None, what="the bot's error")
    assert isinstance(bot.command_errors[0], discord.NotFound) and bot.command_errors[0].code == 10062


async def test_validation_can_be_switched_off_for_benchmarks():
    async with DiscordEmulator(validate=False) as emulator:
        assert emulator.spec is None
        async with aiohttp.ClientSession(headers={"Authorization": f"Bot {emulator.token}"}) as session:
            url = f"{emulator.api_base_url}/channels/{emulator.channel.id}/messages"
            async with session.post(url, json={"content": "fine", "unknown": object.__name__}) as response:
                assert response.status == 200
            async with session.post(url, json={"content": "x" * 2001}) as response:
                assert response.status == 400, "Discord's own limits still apply"
        assert len(emulator.violations) == 1
