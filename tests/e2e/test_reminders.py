"""Reminders on Discord, through the real client and the emulator: /remind, /reminders, the direct message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.highlights.clock import FakeClock
from emulator.model import StoredMessage
from emulator.server import DiscordEmulator
from tests.e2e.conftest import EPHEMERAL, StartBot, component

START = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
TAP_TAP = "Tap Tap, Debugging an App with your Service Mesh"


async def answer(emulator: DiscordEmulator, name: str, options: dict, user=None) -> dict:
    body = await (await emulator.slash(name, options, user=user)).response()
    assert body["data"]["flags"] & EPHEMERAL  # a member's reminders are theirs alone
    return body["data"]


def text(data: dict) -> str:
    """A reply's words: its content, or its (error) embed's description."""
    return data.get("content") or data["embeds"][0]["description"]


async def quiet(seconds: float = 0.2) -> None:
    await asyncio.sleep(seconds)  # real time: the bot's requests run on the loop after the clock wakes them


async def test_a_reminder_arrives_once_as_a_direct_message(discord_emulator: DiscordEmulator, start_bot: StartBot):
    clock = FakeClock(START)
    async with start_bot(clock=clock):
        said = await answer(discord_emulator, "remind", {"title": "tap tap", "when": "in 2 hours"})
        assert "I'll remind you" in said["content"] and "Tap Tap" in said["content"]
        assert f"<t:{int((START + timedelta(hours=2)).timestamp())}:F>" in said["content"]
        dm = discord_emulator.dm_channel()
        await clock.advance(timedelta(hours=1, minutes=59))
        await quiet()
        assert discord_emulator.posts(dm) == []
        await clock.advance(timedelta(minutes=1))
        message = await discord_emulator.next_post(dm, timeout=5)
        assert message.embeds[0]["title"] == TAP_TAP
        assert message.embeds[0]["author"]["name"] == "⏰ Your reminder"
        assert component(message, label="Save")  # the talk's lasting controls come with it
        await clock.advance(timedelta(days=1))
        await quiet()
        assert len(discord_emulator.posts(dm)) == 1
        listed = await answer(discord_emulator, "reminders", {})
        assert "No reminders waiting" in listed["embeds"][0]["description"]


async def test_a_restart_between_setting_and_its_time_delivers_it_once(
    discord_emulator: DiscordEmulator, start_bot: StartBot, bundled_db: Path
):
    database = bundled_db  # the same database across the restart (a file, or PostgreSQL's)
    clock = FakeClock(START)
    async with start_bot(clock=clock, database=database):
        await answer(discord_emulator, "remind", {"title": "tap tap", "when": "in 30 minutes"})
    await clock.advance(timedelta(minutes=20))
    async with start_bot(clock=clock, database=database):
        dm = discord_emulator.dm_channel()
        await clock.advance(timedelta(minutes=10))
        await discord_emulator.next_post(dm, timeout=5)
    async with start_bot(clock=clock, database=database):
        await clock.advance(timedelta(hours=2))
        await quiet()
        assert len(discord_emulator.posts(dm)) == 1


async def test_closed_direct_messages_are_told_at_the_next_command_and_not_retried(
    discord_emulator: DiscordEmulator, start_bot: StartBot
):
    clock = FakeClock(START)
    async with start_bot(clock=clock) as bot:
        discord_emulator.user.dms_closed = True
        await answer(discord_emulator, "remind", {"title": "tap tap", "when": "in 10 minutes"})
        await clock.advance(timedelta(minutes=10))
        for _ in range(100):
            if not await bot.services.reminders.waiting(f"discord:{discord_emulator.user.id}"):
                break
            await quiet(0.02)
        refused = [r for r in discord_emulator.requests if r.path.startswith("/channels/") and r.method == "POST"]
        await clock.advance(timedelta(hours=3))
        await quiet()
        assert [
            r for r in discord_emulator.requests if r.path.startswith("/channels/") and r.method == "POST"
        ] == refused
        handle = await discord_emulator.slash("topics", {})
        await handle.response()
        notice = await handle.followup(timeout=5)
        assert notice.flags & EPHEMERAL
        assert "could not be sent" in notice.content and "direct messages are closed" in notice.content
        again = await discord_emulator.slash("topics", {})
        await again.response()
        await quiet()
        assert len(again.followups) == 0  # told once


async def test_reminders_lists_and_cancels_only_the_members_own(discord_emulator: DiscordEmulator, start_bot: StartBot):
    clock = FakeClock(START)
    async with start_bot(clock=clock):
        await answer(discord_emulator, "remind", {"title": "tap tap", "when": "in 1 hour"})
        other = discord_emulator.add_user("mallory")
        theirs = await answer(discord_emulator, "reminders", {}, user=other)
        assert "No reminders waiting" in theirs["embeds"][0]["description"]  # nobody reads another's list
        handle = await discord_emulator.slash("reminders", {})
        body = await handle.response()
        assert "Tap Tap" in body["data"]["embeds"][0]["description"]
        message: StoredMessage = handle.original
        menu = component(message, kind=3)
        value = menu["options"][0]["value"]
        refused = await discord_emulator.select(message, menu["custom_id"], [value], user=other)
        assert "belong to the member who asked" in (await refused.response())["data"]["content"]
        cancelled = await discord_emulator.select(message, menu["custom_id"], [value])
        assert "Cancelled the reminder" in (await cancelled.response())["data"]["content"]
        await clock.advance(timedelta(hours=2))
        await quiet()
        assert discord_emulator.posts(discord_emulator.dm_channel()) == []


async def test_wall_clock_times_ask_for_a_time_zone_once(discord_emulator: DiscordEmulator, start_bot: StartBot):
    clock = FakeClock(START)
    async with start_bot(clock=clock):
        asked = await answer(discord_emulator, "remind", {"title": "tap tap", "when": "tomorrow 18:00"})
        assert "timezone:" in text(asked)
        said = await answer(
            discord_emulator, "remind", {"title": "tap tap", "when": "tomorrow 18:00", "timezone": "Europe/Berlin"}
        )
        assert f"<t:{int(datetime(2026, 12, 4, 17, 0, tzinfo=UTC).timestamp())}:F>" in said["content"]
        again = await answer(discord_emulator, "remind", {"title": "tap tap", "when": "saturday 10:00"})
        assert "Europe/Berlin" in again["content"]


async def test_hostile_when_strings_get_a_friendly_answer_and_set_nothing(
    discord_emulator: DiscordEmulator, start_bot: StartBot
):
    clock = FakeClock(START)
    async with start_bot(clock=clock) as bot:
        zone = {"timezone": "Europe/Berlin"}
        for when, reason in [
            ("whenever, @everyone", "can't read"),
            ("9999-12-31 10:00", "too far ahead"),
            ("2027-03-28 02:30", "does not exist"),
            ("in 3 fortnights", "minutes, hours"),
            ("before", "no start time"),
        ]:
            said = await answer(discord_emulator, "remind", {"title": "tap tap", "when": when, **zone})
            assert reason in text(said), (when, text(said))
            assert said.get("allowed_mentions", {}).get("parse", []) == []
        assert await bot.services.reminders.waiting(f"discord:{discord_emulator.user.id}") == []


async def test_forget_me_deletes_reminders_too(discord_emulator: DiscordEmulator, start_bot: StartBot):
    clock = FakeClock(START)
    async with start_bot(clock=clock):
        await answer(discord_emulator, "remind", {"title": "tap tap", "when": "in 1 hour"})
        handle = await discord_emulator.slash("forget-me", {})
        await handle.response()
        gone = await discord_emulator.click(
            handle.original, component(handle.original, label="Delete everything the bot keeps about me")["custom_id"]
        )
        assert "1 reminder" in (await gone.response())["data"]["content"]
        await clock.advance(timedelta(hours=2))
        await quiet()
        assert discord_emulator.posts(discord_emulator.dm_channel()) == []
