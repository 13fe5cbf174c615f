"""Scheduled highlights in Slack: /highlights, and posts that go out once, against the Slack emulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.highlights.ports import ChannelGone, PostFailure, RateLimited, UnknownOutcome
from bot.highlights.rotation import Pick, next_talk
from bot.highlights.scheduler import Scheduler, SchedulerConfig
from bot.platforms.slack.app import SlackBot
from bot.platforms.slack.posting import EVENT_TYPE, ts_number, ts_text
from bot.services.container import Services, open_services
from emulator.slack import SlackEmulator
from tests.db.test_schedules import SettlingClock, Tracked
from tests.scheduling.conftest import START
from tests.slack.conftest import serving, slack_bot
from tests.slack.test_app import markup

NINE = START + timedelta(hours=1)
DAY = timedelta(days=1)


class TrackedPoster:
    """A poster whose requests in flight the settling clock waits for (they are real HTTP calls)."""

    def __init__(self, poster, clock: SettlingClock) -> None:
        self.poster, self.clock = poster, clock

    async def post(self, schedule, talk, nonce):
        self.clock.busy += 1
        try:
            return await self.poster.post(schedule, talk, nonce)
        finally:
            self.clock.busy -= 1


@pytest.fixture
def clock() -> SettlingClock:
    return SettlingClock(START)


@pytest.fixture
async def services(bundled_db: Path, clock) -> AsyncIterator[Services]:
    config = SchedulerConfig(per_second=None, grace=timedelta(hours=1))
    async with open_services(bundled_db, platform="slack", clock=clock, scheduler_config=config) as opened:
        yield opened


@pytest.fixture
async def bot(slack_emulator: SlackEmulator, services: Services) -> AsyncIterator[SlackBot]:
    slack_emulator.post_rate_per_channel = 1000.0
    async with serving(slack_emulator, slack_bot(slack_emulator, services)) as made:
        yield made


def scheduler_for(bot: SlackBot, services: Services, clock: SettlingClock) -> Scheduler:
    """The bot's scheduler as the bot builds it, with its store and poster tracked by the settling clock."""
    config = bot.scheduler._config
    scheduler = Scheduler(Tracked(services.schedule_store, clock), TrackedPoster(bot.poster, clock), clock, config)
    services.highlights.on_change = scheduler.notify_changed
    return scheduler


def highlights(emulator: SlackEmulator, channel: str):
    return [m for m in emulator.channels[channel].messages if m.metadata and m.metadata["event_type"] == EVENT_TYPE]


async def test_only_admins_set_up_schedules_in_their_own_zone_by_default(bot, slack_emulator):
    refused = await slack_emulator.slash("/highlights", "setup time:09:00", user="U1")
    assert "admins" in markup(refused.last)
    made = await slack_emulator.slash("/highlights", "setup time:09:00 topic:linkerd", user="U2", channel="C1")
    shown = markup(made.last)
    assert "Scheduled: highlight #" in json.dumps(made.last.blocks) and "New_York" in json.dumps(made.last.blocks)
    assert "<#C1>" in shown  # the channel, linked (a channel link pings nobody)
    listed = await slack_emulator.slash("/highlights", "list", user="U1")  # anyone may look
    assert "#1" in json.dumps(listed.last.blocks, ensure_ascii=False)


async def test_setup_names_what_is_wrong_with_the_channel(bot, slack_emulator):
    outside = await slack_emulator.slash("/highlights", "setup channel:<#C3|secret> time:09:00", user="U2")
    assert "invite me" in markup(outside.last)
    archived = await slack_emulator.slash("/highlights", "setup channel:<#C4|old> time:09:00", user="U2")
    assert "archived" in markup(archived.last)
    unreadable = await slack_emulator.slash("/highlights", "setup channel:#general time:09:00", user="U2")
    assert "Pick the channel" in markup(unreadable.last)
    nothing = await slack_emulator.slash("/highlights", "dance", user="U2")
    assert "/highlights setup" in markup(nothing.last)


async def test_a_schedule_posts_once_a_day_with_its_nonce_in_the_metadata(bot, services, slack_emulator, clock):
    await slack_emulator.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    scheduler = scheduler_for(bot, services, clock)
    await scheduler.start()
    try:
        await clock.settle()
        await clock.advance_to(NINE + 2 * DAY)
    finally:
        await scheduler.stop()
    posted = highlights(slack_emulator, "C2")
    assert len(posted) == 3
    assert len({m.metadata["event_payload"]["nonce"] for m in posted}) == 3
    assert len({json.dumps(m.blocks) for m in posted}) == 3  # three different talks
    assert all(not m.unfurl_links and not m.unfurl_media for m in posted)
    status = await slack_emulator.slash("/highlights", "status 1", user="U1")
    assert "Next" in markup(status.last)


async def test_a_post_whose_answer_was_lost_is_found_in_history_not_sent_twice(bot, services, slack_emulator, clock):
    await slack_emulator.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    [schedule] = await services.schedule_store.list_enabled()
    state = await services.schedule_store.rotation(schedule.id)
    pick = next_talk(state.pool, state.posted, state.round, schedule.id, state.last)
    attempt = await services.schedule_store.claim(schedule.id, schedule.next_slot, pick, clock.now())
    bot.poster.timeout = 0.5
    slack_emulator.time_out_next("chat.postMessage", seconds=2)
    with pytest.raises(UnknownOutcome):
        await bot.poster.post(schedule, attempt.talk, attempt.nonce)
    assert len(highlights(slack_emulator, "C2")) == 1  # it went out; the answer did not come back

    [again] = await services.schedule_store.list_enabled()
    assert again.attempt == attempt  # left "sending": the scheduler sends it again, and the poster checks first
    result = await bot.poster.post(again, attempt.talk, attempt.nonce)
    assert len(highlights(slack_emulator, "C2")) == 1
    assert ts_text(result.message_id) == highlights(slack_emulator, "C2")[0].ts


async def test_when_history_cannot_be_read_the_outcome_stays_unknown(bot, services, slack_emulator, clock):
    await slack_emulator.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    [schedule] = await services.schedule_store.list_enabled()
    state = await services.schedule_store.rotation(schedule.id)
    attempt = await services.schedule_store.claim(schedule.id, schedule.next_slot, Pick(state.pool[0], 0), clock.now())
    [pending] = await services.schedule_store.list_enabled()
    slack_emulator.fail_next("conversations.history", "missing_scope")
    with pytest.raises(UnknownOutcome, match="missing_scope"):
        await bot.poster.post(pending, attempt.talk, attempt.nonce)
    assert highlights(slack_emulator, "C2") == []  # never a blind second send


async def test_slack_refusals_become_failures_with_reasons(bot, services, slack_emulator, clock):
    await slack_emulator.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    [schedule] = await services.schedule_store.list_enabled()
    talk = (await services.schedule_store.rotation(schedule.id)).pool[0]
    cases = {
        "channel_not_found": ChannelGone,
        "not_in_channel": PostFailure,
        "is_archived": PostFailure,
        "ratelimited": RateLimited,
    }
    for error, kind in cases.items():
        slack_emulator.fail_next("chat.postMessage", error)
        with pytest.raises(kind) as raised:
            await bot.poster.post(schedule, talk, "n" * 24)
        assert raised.value.certain
    slack_emulator.revoke_token()
    with pytest.raises(PostFailure, match="uninstalled or its token revoked"):
        await bot.poster.post(schedule, talk, "n" * 24)


async def test_failing_posts_pause_the_schedule_with_the_reason(bot, services, slack_emulator, clock):
    await slack_emulator.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    slack_emulator.channels["C2"].archived = True
    scheduler = scheduler_for(bot, services, clock)
    await scheduler.start()
    try:
        await clock.settle()
        await clock.advance_to(NINE + timedelta(hours=1))
    finally:
        await scheduler.stop()
    slack_emulator.channels["C2"].archived = False
    status = await slack_emulator.slash("/highlights", "status 1", user="U1")
    assert "archived" in markup(status.last)
    assert highlights(slack_emulator, "C2") == []


def test_a_message_ts_is_kept_exactly():
    for ts in ("1700000000.000100", "1.000001", "1733233333.999999"):
        assert ts_text(ts_number(ts)) == ts


async def test_post_now_whose_answer_is_lost_is_settled_from_history_and_status_tells_the_truth(
    bot, services, slack_emulator
):
    await slack_emulator.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    bot.poster.timeout = 0.5
    slack_emulator.time_out_next("chat.postMessage", seconds=2)
    reply = await slack_emulator.slash("/highlights", "now 1", user="U2", channel="C2")
    assert reply.ack["text"].startswith("Posted")
    assert len(highlights(slack_emulator, "C2")) == 1  # found in the history, not posted again
    status = await slack_emulator.slash("/highlights", "status 1", user="U1")
    assert "nothing posted yet" not in markup(status.last)


async def test_a_restart_after_a_lost_answer_at_the_due_minute_posts_no_duplicate(bot, services, slack_emulator, clock):
    await slack_emulator.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    bot.poster.timeout = 0.5
    slack_emulator.time_out_next("chat.postMessage", seconds=2)
    first = scheduler_for(bot, services, clock)
    await first.start()
    await clock.settle()
    await clock.advance_to(NINE)
    await first.stop()  # the process goes down with the slot's outcome unknown
    assert len(highlights(slack_emulator, "C2")) == 1
    [pending] = await services.schedule_store.list_enabled()
    assert pending.attempt is not None  # still "sending"

    restarted = scheduler_for(bot, services, clock)  # a new process: only the database survives
    await restarted.start()
    try:
        await clock.settle()
        await clock.advance_to(NINE + timedelta(minutes=5))
    finally:
        await restarted.stop()
    assert len(highlights(slack_emulator, "C2")) == 1
    status = await slack_emulator.slash("/highlights", "status 1", user="U1")
    assert "nothing posted yet" not in markup(status.last)


async def test_saved_first_is_switched_by_admins_only(bot, services, slack_emulator):
    await slack_emulator.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    refused = await slack_emulator.slash("/highlights", "saved-first 1 off", user="U1")
    assert "admins" in markup(refused.last)
    odd = await slack_emulator.slash("/highlights", "saved-first 1 maybe", user="U2")
    assert "`on` or `off`" in markup(odd.last)
    off = await slack_emulator.slash("/highlights", "saved-first 1 off", user="U2")
    assert "in rotation order" in json.dumps(off.last.blocks)
    assert "saved talks first" not in json.dumps(off.last.blocks)
    [schedule] = await services.highlights.list(await bot.ids.number(slack_emulator.team_id))
    assert not schedule.prefer_saved
    on = await slack_emulator.slash("/highlights", "saved-first 1 on", user="U2")
    assert "saved talks first" in json.dumps(on.last.blocks)
    listed = await slack_emulator.slash("/highlights", "list", user="U2")
    assert "members' saved talks first" in json.dumps(listed.last.blocks, ensure_ascii=False)
