"""Reminders in Slack end to end: /remind, /reminders and the direct message, against the Slack emulator.

The bot's scheduler runs on a settling fake clock (as in test_highlights.py), with the reminders' store and
sender tracked so that time moves only once their real HTTP calls and database work are done.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.highlights.ports import PostFailure, RateLimited, UnknownOutcome
from bot.highlights.scheduler import Scheduler, SchedulerConfig
from bot.platforms.slack import blocks
from bot.platforms.slack.app import BOT_SCOPES, SlackBot, member_key
from bot.platforms.slack.posting import REMINDER_EVENT_TYPE, ts_number
from bot.services.container import Services, open_services
from bot.watchlist.reminders import DirectMessagesClosed, Notice, Reminder, ReminderJobs
from emulator.slack import Message, SlackEmulator
from tests.db.test_schedules import SettlingClock, Tracked
from tests.scheduling.conftest import START
from tests.slack.conftest import serving, slack_bot
from tests.slack.test_app import buttons, markup, texts
from tests.slack.test_blocks import OUR_TOKENS, check_message, make_talk
from tests.slack.test_highlights import TrackedPoster
from tests.slack.test_installs import installation
from tests.watchlist.test_watchlist import COVID, RUST, TAP

TEAM = "T0EMULATOR"
ADA, GRACE = member_key(TEAM, "U1"), member_key(TEAM, "U2")
CONFIG = SchedulerConfig(per_second=None, grace=timedelta(hours=1))


class TrackedSender:
    """A reminder sender whose requests in flight the settling clock waits for (they are real HTTP calls)."""

    def __init__(self, sender, clock: SettlingClock) -> None:
        self.sender, self.clock = sender, clock

    async def remind(self, reminder, nonce):
        self.clock.busy += 1
        try:
            return await self.sender.remind(reminder, nonce)
        finally:
            self.clock.busy -= 1


@pytest.fixture
def clock() -> SettlingClock:
    return SettlingClock(START)


@pytest.fixture
async def services(bundled_db: Path, clock) -> AsyncIterator[Services]:
    async with open_services(bundled_db, platform="slack", clock=clock, scheduler_config=CONFIG) as opened:
        yield opened


@pytest.fixture
async def bot(slack_emulator: SlackEmulator, services: Services) -> AsyncIterator[SlackBot]:
    async with serving(slack_emulator, slack_bot(slack_emulator, services)) as made:
        yield made


def engine_for(bot: SlackBot, services: Services, clock: SettlingClock) -> Scheduler:
    """The bot's engine as the bot builds it (highlights and reminders), its stores and senders tracked."""
    config = bot.scheduler._config
    scheduler = Scheduler(Tracked(services.schedule_store, clock), TrackedPoster(bot.poster, clock), clock, config)
    services.highlights.on_change = scheduler.notify_changed
    jobs = ReminderJobs(
        Tracked(services.reminder_store, clock), TrackedSender(bot.reminder_sender, clock), scheduler.runtime
    )
    services.reminders.on_change = scheduler.add(jobs)
    return scheduler


async def run_until(bot: SlackBot, services: Services, clock: SettlingClock, instant: datetime) -> None:
    """Run the bot's engine from now until `instant`, then stop it."""
    engine = engine_for(bot, services, clock)
    await engine.start()
    try:
        await clock.settle()
        await clock.advance_to(instant)
    finally:
        await engine.stop()


def reminders_in_dm(emulator: SlackEmulator, user: str = "U1") -> list[Message]:
    channel = emulator.channels.get("D" + user)
    if channel is None:
        return []
    return [m for m in channel.messages if m.metadata and m.metadata["event_type"] == REMINDER_EVENT_TYPE]


def buttons_of(message: Message) -> list[dict]:
    """The message's "Cancel" buttons."""
    return [
        b["accessory"] for b in message.blocks if (b.get("accessory") or {}).get("action_id") == blocks.REMINDER_CANCEL
    ]


def stamp(instant: datetime) -> str:
    """How an instant starts in Slack's date formatting."""
    return f"<!date^{int(instant.timestamp())}^"


async def test_a_reminder_arrives_once_in_the_members_dm_at_its_time(bot, services, slack_emulator, clock):
    said = (await slack_emulator.slash("/remind-me", "tap tap when:in 2 hours")).last
    due = START + timedelta(hours=2)
    assert said.ephemeral and said.user == "U1"
    assert "I'll remind you" in texts(said) and "Tap Tap" in texts(said) and "/reminders" in texts(said)
    assert stamp(due) in markup(said)  # shown in each reader's own zone

    await run_until(bot, services, clock, due - timedelta(minutes=1))
    assert reminders_in_dm(slack_emulator) == []
    await run_until(bot, services, clock, due + timedelta(days=1))
    [message] = reminders_in_dm(slack_emulator)
    assert "Your reminder" in texts(message) and "Tap Tap" in texts(message)
    assert blocks.SAVE in buttons(message)  # the talk's card, with its Save button
    assert message.metadata["event_payload"]["nonce"]
    assert not message.unfurl_links and not message.unfurl_media
    assert "No reminders waiting" in texts((await slack_emulator.slash("/reminders", "")).last)


async def test_a_reminder_set_before_a_restart_arrives_once_after_it(slack_emulator, bundled_db, clock):
    def new_process():
        return open_services(bundled_db, platform="slack", clock=clock, scheduler_config=CONFIG)

    async with new_process() as first, serving(slack_emulator, slack_bot(slack_emulator, first)):
        await slack_emulator.slash("/remind-me", "tap tap when:in 30 minutes")
    await clock.advance(timedelta(minutes=20))
    async with new_process() as second, serving(slack_emulator, slack_bot(slack_emulator, second)) as bot:
        await run_until(bot, second, clock, START + timedelta(minutes=31))
    assert len(reminders_in_dm(slack_emulator)) == 1
    async with new_process() as third, serving(slack_emulator, slack_bot(slack_emulator, third)) as bot:
        await run_until(bot, third, clock, START + timedelta(hours=3))
    assert len(reminders_in_dm(slack_emulator)) == 1


async def test_a_send_whose_answer_was_lost_is_found_in_the_dm_after_a_restart(slack_emulator, bundled_db, clock):
    async with open_services(bundled_db, platform="slack", clock=clock, scheduler_config=CONFIG) as first:
        async with serving(slack_emulator, slack_bot(slack_emulator, first)) as bot:
            await slack_emulator.slash("/remind-me", "tap tap when:in 10 minutes")
            bot.reminder_sender.timeout = 0.3
            slack_emulator.time_out_next("chat.postMessage", seconds=1)
            await run_until(bot, first, clock, START + timedelta(minutes=10))
        [sending] = await first.reminder_store.waiting()
        assert sending.state == "sending"  # the process stops with the outcome unknown
    assert len(reminders_in_dm(slack_emulator)) == 1
    await clock.advance(timedelta(minutes=1))
    async with (
        open_services(bundled_db, platform="slack", clock=clock, scheduler_config=CONFIG) as second,
        serving(slack_emulator, slack_bot(slack_emulator, second)) as bot,
    ):
        await run_until(bot, second, clock, START + timedelta(hours=2))
        assert await second.reminder_store.waiting() == []
        told = await slack_emulator.slash("/topics", "")
        assert len(told.messages) == 1  # it went out: nothing to tell
    assert len(reminders_in_dm(slack_emulator)) == 1  # found in the DM's history, not sent again
    assert [m for m, _ in slack_emulator.calls].count("conversations.history") == 1


async def test_without_im_history_a_lost_answer_is_never_sent_twice(bot, services, slack_emulator, clock):
    slack_emulator.set_scopes([scope for scope in BOT_SCOPES if scope != "im:history"])
    await slack_emulator.slash("/remind-me", "tap tap when:in 10 minutes")
    bot.reminder_sender.timeout = 0.3
    slack_emulator.time_out_next("chat.postMessage", seconds=1)
    await run_until(bot, services, clock, START + timedelta(hours=2))
    assert len(reminders_in_dm(slack_emulator)) == 1
    assert await services.reminders.waiting(ADA) == []  # given up, with the reason, rather than risk a second
    told = (await slack_emulator.slash("/reminders", "")).last
    assert "may have gone out" in texts(told) and "missing_scope" in texts(told)


async def test_the_members_slack_time_zone_is_used_and_remembered(bot, services, slack_emulator):
    said = (await slack_emulator.slash("/remind-me", "tap tap when:tomorrow 18:00")).last
    assert stamp(datetime(2025, 1, 7, 17, 0, tzinfo=UTC)) in markup(said)  # 18:00 in Berlin
    assert "Europe/Berlin" in texts(said)
    assert await services.watchlist.timezone(ADA) == "Europe/Berlin"
    lookups = [call for call in slack_emulator.calls if call[0] == "users.info"]
    await slack_emulator.slash("/remind-me", "tap tap when:saturday 10:00")
    assert [call for call in slack_emulator.calls if call[0] == "users.info"] == lookups  # remembered: not asked

    theirs = (await slack_emulator.slash("/remind-me", "tap tap when:tomorrow 18:00", user="U2")).last
    assert stamp(datetime(2025, 1, 7, 23, 0, tzinfo=UTC)) in markup(theirs)  # 18:00 in New York
    given = (await slack_emulator.slash("/remind-me", "tap tap when:tomorrow 9:00 timezone:Asia/Tokyo", user="U2")).last
    assert stamp(datetime(2025, 1, 7, 0, 0, tzinfo=UTC)) in markup(given)
    assert await services.watchlist.timezone(GRACE) == "Asia/Tokyo"


async def test_without_a_zone_from_slack_a_wall_clock_time_asks_for_one(bot, services, slack_emulator):
    slack_emulator.fail_next("users.info", "user_not_found")
    asked = (await slack_emulator.slash("/remind-me", "tap tap when:tomorrow 18:00")).last
    assert "timezone:" in texts(asked) and asked.ephemeral
    assert await services.reminders.waiting(ADA) == []
    relative = (await slack_emulator.slash("/remind-me", "tap tap when:in 2 hours")).last
    assert "I'll remind you" in texts(relative)


async def test_members_see_and_cancel_only_their_own_reminders(bot, services, slack_emulator, clock):
    await slack_emulator.slash("/remind-me", "tap tap when:in 1 hour")
    [adas] = await services.reminders.waiting(ADA)
    assert "No reminders waiting" in texts((await slack_emulator.slash("/reminders", "", user="U2")).last)

    await slack_emulator.slash("/remind-me", f"{RUST} when:in 2 hours", user="U2")
    graces = (await slack_emulator.slash("/reminders", "", user="U2")).last
    forged = json.dumps({"k": "rc", "i": adas.id})  # Grace's button, carrying Ada's reminder
    refused = (await slack_emulator.click(graces, blocks.REMINDER_CANCEL, user="U2", value=forged)).last
    assert "no longer waiting" in texts(refused)
    assert await services.reminders.waiting(ADA) == [adas]

    listed = (await slack_emulator.slash("/reminders", "")).last
    assert listed.ephemeral and "Tap Tap" in texts(listed) and len(buttons_of(listed)) == 1
    cancelled = (await slack_emulator.click(listed, blocks.REMINDER_CANCEL)).last
    assert cancelled.ts == listed.ts  # the list, shown again in place
    assert "Cancelled the reminder" in texts(cancelled) and "No reminders waiting" in texts(cancelled)
    await run_until(bot, services, clock, START + timedelta(hours=3))
    assert reminders_in_dm(slack_emulator) == []
    assert len(reminders_in_dm(slack_emulator, "U2")) == 1


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("whenever, <!channel> <@U2>", "can't read"),
        ("x" * 200, "too long to be a time"),
        ("x" * 6000, "characters"),
        ("9999-12-31 10:00", "too far ahead"),
        ("2025-03-30 02:30", "does not exist"),  # the hour Berlin's clocks skip
        ("in 3 fortnights", "minutes, hours"),
        ("before", "no start time"),
        ("2025-01-05 10:00", "already passed"),
    ],
)
async def test_hostile_when_strings_get_a_friendly_private_answer_and_set_nothing(
    bot, services, slack_emulator, when, reason
):
    said = (await slack_emulator.slash("/remind-me", f"tap tap when:{when}")).last
    assert said.ephemeral and reason in texts(said), texts(said)
    assert "went wrong" not in texts(said)
    assert "<!channel>" not in markup(said) and "<@U2>" not in markup(said)
    assert await services.reminders.waiting(ADA) == []


async def test_an_undeliverable_dm_is_told_once_at_the_next_command(bot, services, slack_emulator, clock):
    await slack_emulator.slash("/remind-me", "tap tap when:in 10 minutes")
    slack_emulator.fail_next("chat.postMessage", "messages_tab_disabled")
    await run_until(bot, services, clock, START + timedelta(hours=2))
    assert reminders_in_dm(slack_emulator) == []
    assert await services.reminders.waiting(ADA) == []  # not retried: it cannot be delivered
    assert [m for m, _ in slack_emulator.calls if m == "chat.postMessage"] == ["chat.postMessage"]

    others = await slack_emulator.slash("/topics", "", user="U2")
    assert len(others.messages) == 1  # nobody else is told
    told = await slack_emulator.slash("/topics", "")
    assert len(told.messages) == 2
    notice = told.messages[-1]
    assert notice.ephemeral and notice.user == "U1"
    assert "could not be sent" in texts(notice) and "messages_tab_disabled" in texts(notice)
    again = await slack_emulator.slash("/topics", "")
    assert len(again.messages) == 1  # told once


async def test_forget_me_deletes_reminders_too(bot, services, slack_emulator, clock):
    await slack_emulator.slash("/remind-me", "tap tap when:in 1 hour")
    asked = (await slack_emulator.slash("/forget-me", "")).last
    assert "your reminders" in texts(asked)
    done = (await slack_emulator.click(asked, blocks.FORGET_ME)).last
    assert "1 reminder" in texts(done)
    assert await services.reminders.waiting(ADA) == []
    await run_until(bot, services, clock, START + timedelta(hours=2))
    assert reminders_in_dm(slack_emulator) == []


async def test_saves_remember_the_workspace_they_were_made_in(bot, services, slack_emulator):
    async def places() -> dict[str, str | None]:
        assert services.db is not None
        rows = await services.db.read(
            lambda conn: conn.execute("SELECT talk, place FROM saved_talks WHERE member = ?", (ADA,)).fetchall()
        )
        return {str(talk): place for talk, place in rows}

    await slack_emulator.slash("/save", TAP, channel="C1")
    card = (await slack_emulator.slash("/talk", RUST, channel="C2")).last
    await slack_emulator.click(card, blocks.SAVE)
    await slack_emulator.slash("/save", COVID, channel="U1")  # in the app's DMs: no workspace's highlights
    assert await places() == {TAP: f"slack:{TEAM}", RUST: f"slack:{TEAM}", COVID: None}


def a_reminder(address: str = f"{TEAM}:U1", talk: str = TAP) -> Reminder:
    return Reminder(
        id=7, member=member_key(*address.split(":")), platform="slack", address=address, talk=talk,
        title="Tap Tap", event_name="KubeCon", starts_at=None, recording_url=None, due_at=START, before_start=False,
        state="sending", claimed_at=START,
    )  # fmt: skip


async def test_slacks_refusals_become_the_reminders_failures(bot, slack_emulator):
    sender = bot.reminder_sender
    for method, error, kind in [
        ("conversations.open", "user_disabled", DirectMessagesClosed),
        ("conversations.open", "cannot_dm_bot", DirectMessagesClosed),
        ("chat.postMessage", "messages_tab_disabled", DirectMessagesClosed),
        ("chat.postMessage", "ratelimited", RateLimited),
        ("chat.postMessage", "internal_error", UnknownOutcome),
    ]:
        sender._channels.clear()
        slack_emulator.fail_next(method, error)
        with pytest.raises(kind):
            await sender.remind(a_reminder(), "n" * 24)
    sender.timeout = 0.3
    slack_emulator.time_out_next("chat.postMessage", seconds=1)
    with pytest.raises(UnknownOutcome):
        await sender.remind(a_reminder(), "t" * 24)
    gone = await sender.remind(a_reminder(talk="no-longer-there"), "g" * 24)  # what was kept, without a card
    [*_, kept] = reminders_in_dm(slack_emulator)
    assert ts_number(kept.ts) == gone.message_id and "no longer in the catalogue" in texts(kept)
    assert blocks.SAVE not in buttons(kept)
    slack_emulator.revoke_token()
    sender._channels.clear()
    with pytest.raises(PostFailure, match="revoked"):
        await sender.remind(a_reminder(), "r" * 24)


async def test_in_many_workspaces_a_reminder_goes_with_its_workspaces_token(slack_emulator, services):
    bot = slack_bot(slack_emulator, services, token=None, client_id="emulator-id", client_secret="emulator-secret")
    assert bot.installations is not None
    slack_emulator.add_workspace("T2", "other")
    await bot.installations.async_save(installation("T2", slack_emulator.bot_token("T2")))
    sent = await bot.reminder_sender.remind(a_reminder("T2:U1"), "w" * 24)
    assert sent.message_id is not None
    assert ("T2", "chat.postMessage") in slack_emulator.calls_by_team
    with pytest.raises(PostFailure, match="no longer installed"):
        await bot.reminder_sender.remind(a_reminder("T3:U1"), "x" * 24)


def test_every_reminder_message_is_what_slack_accepts_and_pings_nobody():
    hostile = "<!channel> *bold* `code` & <@U2> " + "x" * 400
    reminder = replace(a_reminder(), title=hostile, event_name=hostile, starts_at=START, before_start=True)
    zone = ZoneInfo("Europe/Berlin")
    many = [replace(reminder, id=n) for n in range(40)]
    messages = [
        blocks.reminder_set_message(reminder, zone, "Europe/Berlin"),
        blocks.reminders_message(many, cancel_value=lambda r: json.dumps({"k": "rc", "i": r.id}), zone=zone),
        blocks.reminders_message([], cancel_value=str, note="Cancelled."),
        blocks.reminder_message(reminder, make_talk(title=hostile), usual_language="en"),
        blocks.reminder_message(replace(reminder, recording_url="javascript:alert(1)"), None, usual_language="en"),
        blocks.notices_message([Notice(hostile, START, "failed", hostile)] * 12),
    ]
    for message in messages:
        check_message(message, OUR_TOKENS)
    assert "Starting in ten minutes" in json.dumps(messages[3]) and blocks.SAVE in json.dumps(messages[3])
    assert "Mon 6 Jan 2025 09:00 CET" in json.dumps(messages[0])  # the fallback, in the member's zone
    assert json.dumps(messages[1]).count(blocks.REMINDER_CANCEL) == blocks.REMINDERS_SHOWN
