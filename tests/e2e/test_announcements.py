"""Announcing new recordings on Discord, through the real client and the emulator.

A server's manager picks the channel with /highlights recordings; the owner's /catalog recordings then has
the bot say "2 new recordings from ..." there, once.
"""

from __future__ import annotations

import asyncio

import pytest

from emulator.interactions import Upload
from emulator.model import Permission
from emulator.server import DiscordEmulator
from tests.e2e.conftest import EPHEMERAL, StartBot
from tests.e2e.test_catalog import SCHEDULE
from tests.e2e.test_highlights import admin

# Two talks of "Winter Channels" (tests/fixtures/pretalx-schedule.json), which have no recording yet.
VIDEOS = (
    "url,title\n"
    "https://media.example/v/etherpad,Selbst gehostet: Etherpad für den Hackspace\n"
    "https://media.example/v/opening,Winter Channels Opening\n"
).encode()


async def test_new_recordings_are_announced_once_in_the_channel_the_server_chose(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    owner, channel = discord_emulator.world.owner, discord_emulator.channel
    async with start_bot():
        imported = await discord_emulator.slash(
            "catalog import", {"file": Upload("winter.json", content=SCHEDULE.read_bytes())}, user=owner
        )
        await imported.response()
        assert "added 8" in (await imported.followup(timeout=10)).content
        scheduled = await discord_emulator.slash(
            "highlights setup",
            {"channel": channel, "time": "09:00", "timezone": "UTC", "event": "wc-2021"},
            user=admin(discord_emulator),
        )
        await scheduled.response()

        asked = await discord_emulator.slash("highlights recordings", {}, user=admin(discord_emulator))
        assert "not announced" in str(await asked.response())
        turned_on = await discord_emulator.slash(
            "highlights recordings", {"channel": channel}, user=admin(discord_emulator)
        )
        body = await turned_on.response()
        assert body["data"]["flags"] & EPHEMERAL and f"<#{channel.id}>" in body["data"]["content"]

        dry = await discord_emulator.slash(
            "catalog recordings", {"file": Upload("videos.csv", content=VIDEOS), "dry_run": True}, user=owner
        )
        await dry.response()
        assert "2 talks would get a recording" in (await dry.followup(timeout=10)).content
        await asyncio.sleep(0.2)
        assert discord_emulator.posts(channel) == []

        real = await discord_emulator.slash(
            "catalog recordings", {"file": Upload("videos.csv", content=VIDEOS)}, user=owner
        )
        await real.response()
        assert "announced in 1 server" in (await real.followup(timeout=10)).content
        posted = await discord_emulator.next_post(channel, timeout=5)
        assert posted.embeds[0]["title"] == "🎬 2 new recordings from wc-2021"
        description = posted.embeds[0]["description"]
        assert "[Winter Channels Opening](https://media.example/v/opening)" in description
        assert "https://media.example/v/etherpad" in description

        again = await discord_emulator.slash(
            "catalog recordings", {"file": Upload("videos.csv", content=VIDEOS)}, user=owner
        )
        await again.response()
        assert "announced" not in (await again.followup(timeout=10)).content
        await asyncio.sleep(0.2)
        assert len(discord_emulator.posts(channel)) == 1

        turned_off = await discord_emulator.slash("highlights recordings", {"off": True}, user=admin(discord_emulator))
        assert "no longer" in str(await turned_off.response())


async def test_only_a_server_manager_can_choose_where_recordings_are_announced(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    async with start_bot() as bot:
        member = discord_emulator.add_user("bob", permissions=int(Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES))
        with pytest.raises(LookupError, match="lacks the permissions"):  # Discord hides the command from bob
            await discord_emulator.slash("highlights recordings", {"channel": discord_emulator.channel}, user=member)
        # A server admin may open the command to everyone in the server's settings; the bot still checks.
        command, _ = discord_emulator.world.find_command("highlights", discord_emulator.guild.id)
        command["default_member_permissions"] = None
        handle = await discord_emulator.slash(
            "highlights recordings", {"channel": discord_emulator.channel}, user=member
        )
        body = await handle.response()
        assert body["data"]["flags"] & EPHEMERAL and "manage_guild permission" in str(body)
        assert await bot.services.announcements.setting(discord_emulator.guild.id) is None
