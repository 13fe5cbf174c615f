"""Highlights through the real client: /highlight, /highlights management, and posts on schedule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.highlights.clock import FakeClock
from bot.highlights.scheduler import SchedulerConfig
from bot.platforms.discord.client import HighlightsBot
from emulator.model import Channel, Permission, StoredMessage, User
from emulator.server import DiscordEmulator
from tests.e2e.conftest import EPHEMERAL, StartBot, component
from tests.test_highlights_language import build_language_catalogue

DEFERRED = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
START = datetime(2026, 3, 28, 7, 0, tzinfo=UTC)  # a Saturday; Berlin springs forward the next night


def admin(emulator: DiscordEmulator) -> User:
    """A member allowed to manage the server (made once per emulator)."""
    found = [u for u in emulator.world.users.values() if u.username == "moderator"]
    return found[0] if found else emulator.add_user("moderator", permissions=int(Permission.ADMINISTRATOR))


async def failures(bot: HighlightsBot, guild: int, count: int) -> None:
    """Wait until schedule 1 has failed `count` times (posts run in real time after the clock wakes them)."""
    for _ in range(500):
        info = await bot.services.highlights.status(guild, 1)
        if info.failures >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} failures, status says {info}")


def data(body: dict) -> dict:
    return body["data"]


async def test_highlight_never_repeats_until_every_talk_has_had_its_turn(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    async def highlight(options: dict | None = None) -> tuple[str, StoredMessage]:
        handle = await discord_emulator.slash("highlight", options or {})
        assert (await handle.response())["type"] == DEFERRED  # it records what it showed: a write, deferred
        shown = await handle.followup()
        return shown.payload["embeds"][0]["title"], shown

    async with start_bot():
        seen = []
        for _ in range(11):
            title, shown = await highlight()
            seen.append(title)
            assert component(shown, label="More like this")
        assert len(set(seen)) == 11
        assert (await highlight())[0] in seen
        rust = [(await highlight({"topic": "rust"}))[0] for _ in range(2)]
        assert len(set(rust)) == 2


async def test_managing_schedules_needs_manage_server(discord_emulator: DiscordEmulator, start_bot: StartBot) -> None:
    async with start_bot():
        synced = {c["name"]: c for c in discord_emulator.commands(discord_emulator.guild)}
        assert int(synced["highlights"]["default_member_permissions"]) & int(Permission.MANAGE_GUILD)
        member = discord_emulator.add_user("bob", permissions=int(Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES))
        with pytest.raises(LookupError, match="lacks the permissions"):  # Discord hides the command from bob
            await discord_emulator.slash("highlights list", user=member)
        # A server admin may open the command to everyone in the server's settings; the bot still checks.
        command, _ = discord_emulator.world.find_command("highlights", discord_emulator.guild.id)
        command["default_member_permissions"] = None
        handle = await discord_emulator.slash("highlights list", user=member)
        body = await handle.response()
        assert data(body)["flags"] & EPHEMERAL
        assert "manage_guild permission" in str(body)


async def test_setup_says_exactly_which_permission_is_missing(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    async with start_bot() as bot:
        channel = discord_emulator.channel
        await discord_emulator.set_bot_permissions(channel, int(Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES))
        await discord_emulator.wait_for(
            lambda: (
                not bot.get_channel(channel.id).permissions_for(bot.get_guild(discord_emulator.guild.id).me).embed_links
                or None
            ),  # type: ignore[union-attr]
            what="the permission change to reach the bot",
        )
        handle = await discord_emulator.slash(
            "highlights setup",
            {"channel": channel, "time": "09:00", "timezone": "Europe/Berlin"},
            user=admin(discord_emulator),
        )
        body = await handle.response()
        assert data(body)["flags"] & EPHEMERAL
        assert "I need Embed Links there" in str(body)


async def test_setup_list_status_preview_now_pause_resume_remove(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    async with start_bot():
        channel = discord_emulator.channel
        setup = await discord_emulator.slash(
            "highlights setup",
            {"channel": channel, "time": "9:00", "timezone": "europe/berlin", "topic": "rust"},
            user=admin(discord_emulator),
        )
        created = data(await setup.response())
        assert created["flags"] & EPHEMERAL
        assert "daily at 09:00 Europe/Berlin" in str(created)

        listed = data(await (await discord_emulator.slash("highlights list", user=admin(discord_emulator))).response())
        assert "#1" in str(listed) and f"<#{channel.id}>" in str(listed)

        choices = data(
            await (
                await discord_emulator.autocomplete("highlights status", "schedule", "", user=admin(discord_emulator))
            ).response()
        )["choices"]
        assert choices[0]["value"] == 1

        status = data(
            await (
                await discord_emulator.slash("highlights status", {"schedule": 1}, user=admin(discord_emulator))
            ).response()
        )
        assert "Next:" in str(status) and "<t:" in str(status)

        preview = data(
            await (
                await discord_emulator.slash("highlights preview", {"schedule": 1}, user=admin(discord_emulator))
            ).response()
        )
        previewed = preview["embeds"][0]["title"]
        assert preview["flags"] & EPHEMERAL and preview["embeds"][0]["author"]["name"] == "Today's highlight"

        now = await discord_emulator.slash("highlights now", {"schedule": 1}, user=admin(discord_emulator))
        await now.response()
        posted = await discord_emulator.next_post(channel)
        assert posted.embeds[0]["title"] == previewed
        sent = [
            r for r in discord_emulator.requests if r.method == "POST" and r.route == "/channels/{channel_id}/messages"
        ]
        assert sent[-1].body["allowed_mentions"] == {"parse": []}
        assert (await now.followup()).content.startswith("Posted")
        more = await discord_emulator.click(posted, component(posted, label="More like this")["custom_id"])
        similar = data(await more.response())
        assert similar["flags"] & EPHEMERAL and similar["embeds"][0]["title"].startswith("More like")

        second = data(
            await (
                await discord_emulator.slash("highlights preview", {"schedule": 1}, user=admin(discord_emulator))
            ).response()
        )
        assert second["embeds"][0]["title"] != previewed  # the pool has two Rust talks; the next is the other

        paused = data(
            await (
                await discord_emulator.slash("highlights pause", {"schedule": 1}, user=admin(discord_emulator))
            ).response()
        )
        assert "Paused" in str(paused)
        resumed = data(
            await (
                await discord_emulator.slash("highlights resume", {"schedule": 1}, user=admin(discord_emulator))
            ).response()
        )
        assert "Next:" in str(resumed)
        removed = data(
            await (
                await discord_emulator.slash("highlights remove", {"schedule": 1}, user=admin(discord_emulator))
            ).response()
        )
        assert "Removed highlight schedule #1" in removed["content"]
        gone = data(
            await (
                await discord_emulator.slash("highlights status", {"schedule": 1}, user=admin(discord_emulator))
            ).response()
        )
        assert gone["flags"] & EPHEMERAL and "#1" in str(gone)


async def test_posts_on_schedule_across_the_dst_change_each_talk_once(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    clock = FakeClock(START)
    async with start_bot(clock=clock):
        channel = discord_emulator.channel
        setup = await discord_emulator.slash(
            "highlights setup",
            {"channel": channel, "time": "09:00", "timezone": "Europe/Berlin"},
            user=admin(discord_emulator),
        )
        await setup.response()
        await clock.advance_to(datetime(2026, 3, 28, 8, 0, tzinfo=UTC))  # 09:00 CET
        first = await discord_emulator.next_post(channel, timeout=5)
        await clock.advance_to(datetime(2026, 3, 29, 6, 59, tzinfo=UTC))
        assert len(discord_emulator.posts(channel)) == 1
        await clock.advance_to(datetime(2026, 3, 29, 7, 0, tzinfo=UTC))  # 09:00 CEST, after the change
        second = await discord_emulator.next_post(channel, timeout=5)
        assert first.embeds[0]["title"] != second.embeds[0]["title"]
        assert first.embeds[0]["author"]["name"] == "Today's highlight"


async def test_a_429_on_the_post_is_waited_out_and_posted_exactly_once(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    clock = FakeClock(START)
    async with start_bot(clock=clock):
        channel = discord_emulator.channel
        await (
            await discord_emulator.slash(
                "highlights setup",
                {"channel": channel, "time": "09:00", "timezone": "UTC"},
                user=admin(discord_emulator),
            )
        ).response()
        limited = discord_emulator.faults.rate_limit("POST", "/channels/{channel_id}/messages", retry_after=0.2)
        await clock.advance_to(datetime(2026, 3, 28, 9, 0, tzinfo=UTC))
        await discord_emulator.next_post(channel, timeout=5)
        assert limited.hits == 1
        await clock.advance(timedelta(minutes=30))
        assert len(discord_emulator.posts(channel)) == 1


async def test_a_deleted_channel_marks_the_schedule_failing_without_crashing(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    clock = FakeClock(START)
    config = SchedulerConfig(max_failures=2, backoff=timedelta(minutes=1))
    async with start_bot(clock=clock, scheduler_config=config) as bot:
        doomed = await discord_emulator.add_channel(discord_emulator.guild, "doomed")
        await discord_emulator.wait_for(lambda: bot.get_channel(doomed.id), what="the new channel")
        await (
            await discord_emulator.slash(
                "highlights setup",
                {"channel": doomed, "time": "09:00", "timezone": "UTC"},
                user=admin(discord_emulator),
            )
        ).response()
        await discord_emulator.remove_channel(doomed)
        await discord_emulator.wait_for(lambda: bot.get_channel(doomed.id) is None or None, what="the deletion")
        guild = discord_emulator.guild.id

        await clock.advance_to(datetime(2026, 3, 28, 9, 0, tzinfo=UTC))
        await failures(bot, guild, 1)
        failing = data(
            await (
                await discord_emulator.slash("highlights status", {"schedule": 1}, user=admin(discord_emulator))
            ).response()
        )
        assert "Failing (1 in a row)" in str(failing) and "channel" in str(failing).lower()
        await clock.advance(timedelta(minutes=1))  # the retry after the first back-off
        await failures(bot, guild, 2)
        status = data(
            await (
                await discord_emulator.slash("highlights status", {"schedule": 1}, user=admin(discord_emulator))
            ).response()
        )
        assert "Paused" in str(status) and "channel" in str(status).lower()
        assert discord_emulator.posts(discord_emulator.channel) == []
        # The bot is still answering.
        assert (await (await discord_emulator.slash("topics")).response())["type"] == 4


async def test_highlight_options_autocomplete(discord_emulator: DiscordEmulator, start_bot: StartBot) -> None:
    async with start_bot():
        topics = data(await (await discord_emulator.autocomplete("highlight", "topic", "ru")).response())["choices"]
        assert topics[0] == {"name": "Rust", "value": "rust"}
        events = data(await (await discord_emulator.autocomplete("highlight", "event", "servicemesh")).response())[
            "choices"
        ]
        assert events[0]["value"] == "servicemeshcon-eu-2021"
        zones = data(
            await (
                await discord_emulator.autocomplete(
                    "highlights setup", "timezone", "europe/be", {"time": "09:00"}, user=admin(discord_emulator)
                )
            ).response()
        )["choices"]
        assert {"name": "Europe/Berlin", "value": "Europe/Berlin"} in zones
        assert len(zones) <= 25


async def test_a_slot_missed_while_down_is_posted_once_the_bot_knows_its_servers(
    discord_emulator: DiscordEmulator, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with start_bot(clock=FakeClock(START)):
        await (
            await discord_emulator.slash(
                "highlights setup",
                {"channel": discord_emulator.channel, "time": "07:30", "timezone": "UTC"},
                user=admin(discord_emulator),
            )
        ).response()

    async def slow_identify(shard_id: int | None, *, initial: bool = False) -> None:
        await asyncio.sleep(0.5)  # a real gateway handshake takes a moment; the servers arrive after it

    monkeypatch.setattr("emulator.harness.no_identify_delay", slow_identify)
    async with start_bot(clock=FakeClock(START + timedelta(minutes=40))) as bot:  # back at 07:40, within grace
        await discord_emulator.next_post(discord_emulator.channel, timeout=5)
        info = await bot.services.highlights.status(discord_emulator.guild.id, 1)
        assert info.failures == 0 and info.last_failure is None  # not one attempt before the servers were known
        assert len(discord_emulator.posts(discord_emulator.channel)) == 1


MESSAGES = "/channels/{channel_id}/messages"
REFUSALS = [
    pytest.param(
        403, 50013, "missing permissions in the channel: Send Messages, Embed Links", id="403-missing-permissions"
    ),
    pytest.param(404, 10003, "channel no longer exists", id="404-unknown-channel"),
]


async def schedule_in(emulator: DiscordEmulator, channel: Channel) -> None:
    body = await (
        await emulator.slash(
            "highlights setup", {"channel": channel, "time": "09:00", "timezone": "UTC"}, user=admin(emulator)
        )
    ).response()
    assert "Scheduled" in str(body)


async def status_of(emulator: DiscordEmulator, schedule: int = 1) -> str:
    handle = await emulator.slash("highlights status", {"schedule": schedule}, user=admin(emulator))
    return str(await handle.response())


@pytest.mark.parametrize(("status", "code", "reason"), REFUSALS)
async def test_a_refused_scheduled_post_is_explained_in_the_status(
    discord_emulator: DiscordEmulator, start_bot: StartBot, status: int, code: int, reason: str
) -> None:
    clock = FakeClock(START)
    async with start_bot(clock=clock) as bot:
        channel = discord_emulator.channel
        await schedule_in(discord_emulator, channel)
        fault = discord_emulator.faults.fail("POST", MESSAGES, status, code=code)
        await clock.advance_to(datetime(2026, 3, 28, 9, 0, tzinfo=UTC))
        await failures(bot, discord_emulator.guild.id, 1)
        assert fault.hits == 1 and discord_emulator.posts(channel) == []
        assert reason in await status_of(discord_emulator)


@pytest.mark.parametrize(("status", "code", "reason"), REFUSALS)
async def test_a_refused_post_now_is_explained_privately_and_in_the_status(
    discord_emulator: DiscordEmulator, start_bot: StartBot, status: int, code: int, reason: str
) -> None:
    async with start_bot():
        channel = discord_emulator.channel
        await schedule_in(discord_emulator, channel)
        fault = discord_emulator.faults.fail("POST", MESSAGES, status, code=code)
        now = await discord_emulator.slash("highlights now", {"schedule": 1}, user=admin(discord_emulator))
        assert (await now.response())["type"] == 5
        answer = await now.followup(timeout=5)
        assert answer.ephemeral and reason in str(answer.payload), answer.payload
        assert "Something went wrong" not in str(answer.payload)
        assert fault.hits == 1 and discord_emulator.posts(channel) == []
        assert reason in await status_of(discord_emulator)


async def test_a_server_error_on_the_post_is_retried_and_posted_exactly_once(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    clock = FakeClock(START)
    async with start_bot(clock=clock):
        channel = discord_emulator.channel
        await schedule_in(discord_emulator, channel)
        fault = discord_emulator.faults.fail("POST", MESSAGES, 500)
        await clock.advance_to(datetime(2026, 3, 28, 9, 0, tzinfo=UTC))
        posted = await discord_emulator.next_post(channel, timeout=5)  # discord.py retries a 500 after a second
        assert fault.hits == 1 and posted.embeds[0]["author"]["name"] == "Today's highlight"
        await clock.advance(timedelta(hours=1))
        assert len(discord_emulator.posts(channel)) == 1
        assert "Failing" not in await status_of(discord_emulator)


async def test_highlights_in_one_language(
    discord_emulator: DiscordEmulator, start_bot: StartBot, tmp_path: Path
) -> None:
    async with start_bot(database=build_language_catalogue(tmp_path)):
        channel, moderator = discord_emulator.channel, admin(discord_emulator)
        choices = data(await (await discord_emulator.autocomplete("highlight", "language", "ger")).response())
        assert choices["choices"] == [{"name": "German (de)", "value": "de"}]
        choices = data(
            await (
                await discord_emulator.autocomplete(
                    "highlights setup", "language", "", {"time": "09:00"}, user=moderator
                )
            ).response()
        )
        assert [c["value"] for c in choices["choices"]] == ["de", "en"]  # most talks first

        refused = data(
            await (
                await discord_emulator.slash(
                    "highlights setup",
                    {"channel": channel, "time": "09:00", "timezone": "UTC", "language": "fr"},
                    user=moderator,
                )
            ).response()
        )
        assert refused["flags"] & EPHEMERAL
        assert "No talk in the catalogue is marked as given in French" in str(refused)

        created = data(
            await (
                await discord_emulator.slash(
                    "highlights setup",
                    {"channel": channel, "time": "09:00", "timezone": "UTC", "topic": "Service mesh", "language": "de"},
                    user=moderator,
                )
            ).response()
        )
        assert "German talks about Service mesh" in str(created)
        listed = data(await (await discord_emulator.slash("highlights list", user=moderator)).response())
        assert "German talks about Service mesh" in str(listed)

        titles = set()
        for _ in range(3):
            handle = await discord_emulator.slash("highlight", {"language": "Deutsch"})
            await handle.response()
            titles.add((await handle.followup()).payload["embeds"][0]["title"])
        assert titles == {"Service Mesh im Betrieb", "Linkerd in der Praxis", "Rust für alle"}


async def test_saved_first_is_on_for_a_new_schedule_and_an_admin_turns_it_off(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    async with start_bot():
        moderator = admin(discord_emulator)
        setup = await discord_emulator.slash(
            "highlights setup",
            {"channel": discord_emulator.channel, "time": "09:00", "timezone": "UTC"},
            user=moderator,
        )
        await setup.response()
        card = await discord_emulator.slash("talk", {"title": "tap tap"})
        await card.response()
        saved = await discord_emulator.click(card.original, component(card.original, label="Save")["custom_id"])
        await saved.response()
        preview = await discord_emulator.slash("highlights preview", {"schedule": 1}, user=moderator)
        assert data(await preview.response())["embeds"][0]["title"].startswith("Tap Tap")  # the server's saved talk
        status = await discord_emulator.slash("highlights status", {"schedule": 1}, user=moderator)
        assert "saved talks first" in data(await status.response())["embeds"][0]["description"]
        with pytest.raises(LookupError, match="lacks the permissions"):  # Discord hides it from members
            await discord_emulator.slash("highlights saved-first", {"schedule": 1, "on": False})
        off = await discord_emulator.slash("highlights saved-first", {"schedule": 1, "on": False}, user=moderator)
        assert "saved talks first" not in data(await off.response())["embeds"][0]["description"]
