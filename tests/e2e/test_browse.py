"""/topics and /events: long lists turn their pages with buttons, for the member who asked only."""

from __future__ import annotations

from bot.platforms.discord.client import HighlightsBot
from emulator.server import DiscordEmulator
from tests.e2e.conftest import EPHEMERAL, component


async def test_topics_turn_their_pages_with_buttons(discord_emulator: DiscordEmulator, bot: HighlightsBot) -> None:
    handle = await discord_emulator.slash("topics")
    first = (await handle.response())["data"]["embeds"][0]
    assert first["footer"]["text"].startswith("Page 1 of 2")
    message = handle.original
    assert component(message, label="Previous")["disabled"] is True
    next_id = component(message, label="Next")["custom_id"]

    refused = await (await discord_emulator.click(message, next_id, user=discord_emulator.add_user("eve"))).response()
    assert refused["type"] == 4 and refused["data"]["flags"] & EPHEMERAL

    update = await (await discord_emulator.click(message, next_id)).response()
    assert update["type"] == 7
    second = update["data"]["embeds"][0]
    assert second["footer"]["text"].startswith("Page 2 of 2")
    assert second["description"] != first["description"]
    assert component(handle.original, label="Next")["disabled"] is True


async def test_a_list_of_one_page_has_no_buttons(discord_emulator: DiscordEmulator, bot: HighlightsBot) -> None:
    handle = await discord_emulator.slash("events")
    await handle.response()
    assert list(handle.original.iter_components()) == []


async def test_the_page_option_opens_the_list_where_asked(discord_emulator: DiscordEmulator, bot: HighlightsBot) -> None:
    handle = await discord_emulator.slash("topics", {"page": 2})
    assert (await handle.response())["data"]["embeds"][0]["footer"]["text"].startswith("Page 2 of 2")
    assert component(handle.original, label="Previous")["disabled"] is False
