"""Live mode on Discord, through the real client and the emulator: /live setup, the notices, /live status."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.catalogue.formats.options import ImportOptions
from bot.highlights.clock import FakeClock
from bot.live.follow import ScheduleChange, TalkTimes
from emulator.server import DiscordEmulator
from tests.e2e.conftest import EPHEMERAL, StartBot
from tests.e2e.test_highlights import admin
from tests.live.test_follow import server  # noqa: F401 - the fixture
from tests.live.test_notices import FIRST, local, programme

START = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)


def text(body: dict) -> str:
    data = body["data"]
    return data.get("content") or data["embeds"][0]["description"]


async def test_talks_are_announced_before_they_start_and_changes_are_told(
    discord_emulator: DiscordEmulator, start_bot: StartBot
):
    clock = FakeClock(START)
    async with start_bot(clock=clock) as bot:
        await bot.services.catalogue.import_data(FIRST, "meshcon.toml", ImportOptions())
        channel = discord_emulator.channel
        said = await discord_emulator.slash(
            "live setup", {"event": "meshcon-2026", "channel": channel, "lead": 5}, user=admin(discord_emulator)
        )
        body = await said.response()
        assert body["data"]["flags"] & EPHEMERAL and "5 minutes before" in text(body)
        status = await discord_emulator.slash("live status", {}, user=admin(discord_emulator))
        assert "Alpha" in text(await status.response())
        await clock.advance_to(local(9, 55))
        notice = await discord_emulator.next_post(channel, timeout=5)
        assert notice.embeds[0]["title"] == "⏱ Starting in 5 minutes"
        assert "Alpha" in notice.embeds[0]["description"] and "Speaker of Alpha" in notice.embeds[0]["description"]
        change = ScheduleChange(
            "moved",
            "c",
            "Gamma",
            ("Speaker of Gamma",),
            TalkTimes(local(11), None, "S1"),
            TalkTimes(local(12), None, "S1"),
        )
        await bot.services.live.changed("meshcon-2026", [change])
        told = await discord_emulator.next_post(channel, timeout=5)
        assert told.embeds[0]["title"] == "Programme changes: MeshCon 2026"
        assert (
            "Time changed" in told.embeds[0]["description"]
            and "Sat 11:00 -> Sat 12:00" in told.embeds[0]["description"]
        )
        await clock.advance_to(local(10, 55))
        second = await discord_emulator.next_post(channel, timeout=5)
        assert "Gamma" in second.embeds[0]["description"]
        await clock.advance(timedelta(hours=5))
        await asyncio.sleep(0.2)
        posts = discord_emulator.posts(channel)
        assert [p.embeds[0]["title"] for p in posts].count("⏱ Starting in 5 minutes") == 2


async def test_live_is_for_server_managers_and_unknown_events_get_a_friendly_answer(
    discord_emulator: DiscordEmulator, start_bot: StartBot
):
    async with start_bot():
        with pytest.raises(LookupError, match="lacks the permissions"):
            await discord_emulator.slash("live status", {})
        unknown = await discord_emulator.slash(
            "live setup", {"event": "no such conf", "channel": discord_emulator.channel}, user=admin(discord_emulator)
        )
        assert "no event" in text(await unknown.response()).lower()
        untimed = await discord_emulator.slash(
            "live setup", {"event": "kubecon", "channel": discord_emulator.channel}, user=admin(discord_emulator)
        )
        assert "no start times" in text(await untimed.response())


async def test_a_followed_schedule_that_changes_is_told_in_the_channel(
    discord_emulator: DiscordEmulator,
    start_bot: StartBot,
    server,  # noqa: F811 - the fixture imported above
):
    from tests.live.test_follow import PROGRAMME, moved, schedule_json

    published, url = server
    published.publish(schedule_json(PROGRAMME))
    clock = FakeClock(datetime(2026, 5, 4, 5, 0, tzinfo=UTC))
    owner = discord_emulator.world.owner
    async with start_bot(clock=clock):
        followed = await discord_emulator.slash("catalog follow", {"url": url, "interval": 5}, user=owner)
        await followed.response()
        assert "Following #1" in (await followed.followup(timeout=10)).content
        channel = discord_emulator.channel
        setup = await discord_emulator.slash(
            "live setup", {"event": "LiveCon 2026", "channel": channel}, user=admin(discord_emulator)
        )
        assert "5 minutes before" in text(await setup.response())
        published.publish(schedule_json(moved(PROGRAMME, 4, start="2026-05-04T15:00")))
        await clock.advance(timedelta(minutes=5))  # the next poll finds the moved talk
        told = await discord_emulator.next_post(channel, timeout=5)
        assert told.embeds[0]["title"] == "Programme changes: LiveCon 2026"
        assert "Observability" in told.embeds[0]["description"] and "Cy Twombly" in told.embeds[0]["description"]
        assert "Mon 11:00–11:30 -> Mon 15:00–15:30" in told.embeds[0]["description"]
        listed = await discord_emulator.slash("catalog following", {}, user=owner)
        assert "every 5 min" in text(await listed.response())


ROOMS = programme(("a", "Alpha", "10:00", "Hall 1"), ("b", "Beta", "10:00", "Hall 2"))


async def test_a_room_with_a_channel_of_its_own_and_a_correction_in_the_channel_that_was_told(
    discord_emulator: DiscordEmulator, start_bot: StartBot
):
    clock = FakeClock(START)
    async with start_bot(clock=clock) as bot:
        await bot.services.catalogue.import_data(ROOMS, "meshcon.toml", ImportOptions())
        main, hall = discord_emulator.channel, await discord_emulator.add_channel(discord_emulator.guild, "hall-2")
        await discord_emulator.wait_for(lambda: bot.get_channel(hall.id), what="the new channel")
        manager = admin(discord_emulator)
        await (
            await discord_emulator.slash("live setup", {"event": "meshcon-2026", "channel": main}, user=manager)
        ).response()
        given = await discord_emulator.slash(
            "live room", {"event": "meshcon-2026", "room": "Hall 2", "channel": hall}, user=manager
        )
        assert "Hall 2" in text(await given.response())
        await clock.advance_to(local(9, 55))
        in_main = await discord_emulator.next_post(main, timeout=5)
        in_hall = await discord_emulator.next_post(hall, timeout=5)
        assert "Alpha" in in_main.embeds[0]["description"] and "Beta" not in in_main.embeds[0]["description"]
        assert "Beta" in in_hall.embeds[0]["description"] and "Hall 2" in in_hall.embeds[0]["description"]

        moved = ScheduleChange(
            "moved", "b", "Beta", ("Speaker of Beta",),
            TalkTimes(local(10), None, "Hall 2"), TalkTimes(local(15), None, "Hall 2"),
        )  # fmt: skip
        await bot.services.live.changed("meshcon-2026", [moved])
        told = await discord_emulator.next_post(main, timeout=5)  # the change notice, in the setup's channel
        assert "Time changed" in told.embeds[0]["description"]
        fixed = await discord_emulator.next_post(hall, timeout=5)  # the correction, where Beta was announced
        assert "Beta" in fixed.embeds[0]["description"] and "Sat 15:00" in fixed.embeds[0]["description"]
        await clock.advance_to(local(16))
        await asyncio.sleep(0.2)
        starting = [p for p in discord_emulator.posts(hall) if p.embeds[0]["title"] == "⏱ Starting in 5 minutes"]
        assert len(starting) == 1  # announced once: the correction, not a second notice
