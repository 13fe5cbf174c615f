from __future__ import annotations

import logging
import random
from datetime import time, timedelta

import pytest

from bot.highlights.clock import FakeClock
from bot.highlights.memory import InMemoryScheduleStore
from bot.highlights.ports import (
    ChannelGone,
    GuildGone,
    MissingPermissions,
    RateLimited,
    TalkGone,
    TransientError,
    UnknownOutcome,
)
from bot.highlights.scheduler import Scheduler, SchedulerConfig

from .conftest import START, make_schedule

NINE = START.replace(hour=9)
DAY = timedelta(days=1)


async def start(scheduler, clock):
    await scheduler.start()
    await clock.settle()


# --- on time -------------------------------------------------------------------------------------


async def test_posts_each_slot_at_its_due_time(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    await start(scheduler, clock)
    await clock.advance_to(NINE - timedelta(seconds=1))
    assert discord.messages == []
    await clock.advance_to(NINE + 2 * DAY)
    assert [m.at for m in discord.messages] == [NINE, NINE + DAY, NINE + 2 * DAY]
    assert len({m.talk for m in discord.messages}) == 3


async def test_wakes_only_when_something_is_due(store, discord):
    class CountingClock(FakeClock):
        sleeps = 0

        async def sleep_until(self, instant):
            self.sleeps += 1
            await super().sleep_until(instant)

    clock = CountingClock(START)
    scheduler = Scheduler(store, discord, clock)
    store.add(make_schedule(1))
    await start(scheduler, clock)
    await clock.advance(3 * DAY)
    await scheduler.stop()
    assert len(discord.messages) == 3
    assert clock.sleeps <= 4 * 3  # a few per post, not one a second


async def test_berlin_schedule_posts_at_nine_local_across_dst(scheduler, store, discord, clock):
    store.add(make_schedule(1, zone="Europe/Berlin"))
    await start(scheduler, clock)
    await clock.advance(120 * DAY)  # past the spring-forward change on 30 March
    walls = {m.at.astimezone(store.schedules[1].rule.zone).time() for m in discord.messages}
    assert walls == {time(9)}
    assert len(discord.messages) == 120


async def test_a_schedule_posts_every_talk_before_repeating(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    await start(scheduler, clock)
    await clock.advance_to(NINE + 4 * DAY)
    store.pool.append("new-talk")
    await clock.advance_to(NINE + 11 * DAY)
    talks = [m.talk for m in discord.messages]
    assert sorted(talks[:11]) == sorted(store.pool)
    assert talks[11] != talks[10]


# --- changes ---------------------------------------------------------------------------------------


async def test_a_new_or_changed_schedule_is_picked_up_when_notified(scheduler, store, discord, clock):
    await start(scheduler, clock)
    store.add(make_schedule(1, time(8, 30)))
    scheduler.notify_changed(1)
    await clock.advance_to(NINE)
    assert [m.at for m in discord.messages] == [START.replace(minute=30)]

    store.add(make_schedule(1, time(9, 15), now=clock.now()))  # tomorrow's 08:30 becomes today's 09:15
    scheduler.notify_changed(1)
    await clock.advance_to(NINE.replace(minute=20))
    assert [m.at for m in discord.messages] == [START.replace(minute=30)]  # today's slot was already posted
    await clock.advance_to(NINE.replace(minute=20) + DAY)
    assert discord.messages[-1].at == NINE.replace(minute=15) + DAY


async def test_a_deleted_schedule_is_dropped_when_notified(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    await start(scheduler, clock)
    del store.schedules[1]
    scheduler.notify_changed(1)
    await clock.advance(DAY)
    assert discord.messages == []


async def test_reschedule_rereads_every_schedule(scheduler, store, discord, clock):
    await start(scheduler, clock)
    for schedule_id in (1, 2, 3):
        store.add(make_schedule(schedule_id, time(8, 10 * schedule_id)))
    scheduler.reschedule()
    await clock.advance_to(NINE)
    assert [m.channel_id for m in discord.messages] == [1, 2, 3]


# --- never twice -----------------------------------------------------------------------------------


async def crash_mid_send(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    discord.crash_after_send.add(1)
    await start(scheduler, clock)
    await clock.advance_to(NINE)
    await scheduler.stop()  # the process dies after Discord made the message, before it was recorded
    discord.crash_after_send.clear()
    assert len(discord.messages) == 1
    assert store.state(1, "2025-01-06") == "sending"


async def test_a_restart_soon_after_a_crash_mid_send_resends_and_discord_dedupes(
    scheduler, store, discord, clock, config
):
    await crash_mid_send(scheduler, store, discord, clock)
    await clock.advance(timedelta(seconds=30))
    restarted = Scheduler(store, discord, clock, config)
    await start(restarted, clock)
    assert len(discord.calls) == 2
    assert len(discord.messages) == 1
    assert store.state(1, "2025-01-06") == "sent"
    await clock.advance(DAY)
    assert len(discord.messages) == 2
    await restarted.stop()


async def test_a_restart_long_after_a_crash_mid_send_does_not_resend(scheduler, store, discord, clock, config, caplog):
    await crash_mid_send(scheduler, store, discord, clock)
    await clock.advance(timedelta(minutes=10))
    restarted = Scheduler(store, discord, clock, config)
    with caplog.at_level(logging.WARNING):
        await start(restarted, clock)
    assert len(discord.calls) == 1
    assert "may or may not have been posted" in caplog.text
    assert store.schedules[1].next_slot.key == "2025-01-07"
    assert "may not have gone out" in store.reasons[1]  # the admins see it in /highlights status
    await clock.advance(DAY)
    assert [m.at for m in discord.messages] == [NINE, NINE + DAY]
    await restarted.stop()


async def test_two_schedulers_at_the_due_minute_post_once(store, discord, clock):
    store.add(make_schedule(1))
    first, second = Scheduler(store, discord, clock), Scheduler(store, discord, clock)
    await start(first, clock)
    await start(second, clock)
    await clock.advance_to(NINE + timedelta(minutes=5))
    await first.stop()
    await second.stop()
    assert len(discord.messages) == 1


async def test_an_unknown_outcome_is_retried_with_the_same_nonce(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    discord.fail_once[1] = [UnknownOutcome("connection reset")]  # nothing was made
    await start(scheduler, clock)
    await clock.advance_to(NINE + DAY - timedelta(minutes=1))
    discord.lose_reply.add(1)  # the message was made but the answer lost
    await clock.advance_to(NINE + 2 * DAY - timedelta(minutes=1))
    assert [when - NINE for when, _ in discord.calls] == [timedelta(minutes=m) for m in (0, 1, 24 * 60, 24 * 60 + 1)]
    assert [m.at - NINE for m in discord.messages] == [timedelta(minutes=1), DAY]
    assert store.state(1, "2025-01-07") == "sent"


async def test_an_unknown_outcome_is_given_up_after_the_nonce_window(store, discord, clock, caplog):
    store.add(make_schedule(1))
    discord.lose_reply.add(1)
    scheduler = Scheduler(store, discord, clock, SchedulerConfig(backoff=timedelta(minutes=5)))
    await start(scheduler, clock)
    with caplog.at_level(logging.WARNING):
        await clock.advance_to(NINE + timedelta(hours=1))
    await scheduler.stop()
    assert len(discord.calls) == 1
    assert len(discord.messages) == 1
    assert "may or may not have been posted" in caplog.text
    assert store.schedules[1].next_slot.key == "2025-01-07"
    assert "may not have gone out" in store.reasons[1]  # the admins see it in /highlights status


# --- failures ------------------------------------------------------------------------------------


async def test_a_failing_post_backs_off_then_pauses_and_is_never_recorded_as_sent(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    discord.fail[1] = MissingPermissions(("Send Messages", "Embed Links"))
    await start(scheduler, clock)
    await clock.advance_to(NINE + 3 * DAY)
    minutes = [(when - NINE) / timedelta(minutes=1) for when, _ in discord.calls]
    assert minutes == [0, 1, 3, 7, 15]
    assert "Send Messages, Embed Links" in store.paused[1]
    assert store.state(1, "2025-01-06") == "failed"
    assert discord.messages == []


async def test_a_post_that_recovers_clears_the_failures(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    discord.fail_once[1] = [TransientError("Discord answered 503"), ChannelGone()]
    await start(scheduler, clock)
    await clock.advance_to(NINE + timedelta(hours=1))
    assert [m.at for m in discord.messages] == [NINE + timedelta(minutes=3)]
    assert store.schedules[1].failures == 0
    assert store.reasons[1] == ChannelGone().reason
    await clock.advance(DAY)
    assert discord.messages[-1].at == NINE + DAY


async def test_one_failing_schedule_does_not_delay_the_others(scheduler, store, discord, clock):
    for schedule_id in range(1, 6):
        store.add(make_schedule(schedule_id))
    discord.fail[1] = GuildGone()
    await start(scheduler, clock)
    await clock.advance_to(NINE + DAY)
    assert sorted((m.at, m.channel_id) for m in discord.messages) == [
        (day, channel) for day in (NINE, NINE + DAY) for channel in range(2, 6)
    ]
    assert 1 in store.paused


async def test_an_error_in_one_schedule_is_logged_and_kept_from_the_others(discord, clock, caplog):
    class BrokenStore(InMemoryScheduleStore):
        async def rotation(self, schedule_id):
            if schedule_id == 1:
                raise RuntimeError("corrupt row")
            return await super().rotation(schedule_id)

    store = BrokenStore(["a", "b"])
    store.add(make_schedule(1))
    store.add(make_schedule(2))
    scheduler = Scheduler(store, discord, clock)
    await start(scheduler, clock)
    with caplog.at_level(logging.ERROR):
        await clock.advance_to(NINE + timedelta(minutes=3))
    await scheduler.stop()
    assert [(m.at, m.channel_id) for m in discord.messages] == [(NINE, 2)]
    assert caplog.text.count("schedule 1: could not be handled") == 4  # 09:00, then once a minute


async def test_an_empty_pool_is_a_failure(scheduler, store, discord, clock):
    store.pool.clear()
    store.add(make_schedule(1))
    await start(scheduler, clock)
    await clock.advance_to(NINE + DAY)
    assert store.paused[1] == "there are no talks to post"


async def test_a_rate_limited_post_waits_and_is_not_a_failure(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    store.add(make_schedule(2))
    discord.fail_once[1] = [RateLimited(5.0)]
    await start(scheduler, clock)
    await clock.advance_to(NINE + timedelta(minutes=1))
    assert sorted((m.at, m.channel_id) for m in discord.messages) == [(NINE, 2), (NINE + timedelta(seconds=5), 1)]
    assert store.schedules[1].failures == 0


async def test_a_global_rate_limit_holds_every_post(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    store.add(make_schedule(2, time(9, 0, 10)))
    discord.fail_once[1] = [RateLimited(30.0, is_global=True)]
    await start(scheduler, clock)
    await clock.advance_to(NINE + timedelta(minutes=1))
    assert sorted((m.at, m.channel_id) for m in discord.messages) == [
        (NINE + timedelta(seconds=30), 1),
        (NINE + timedelta(seconds=30), 2),
    ]


# --- downtime ------------------------------------------------------------------------------------


async def test_a_slot_missed_within_grace_is_posted_once_on_start(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    await clock.advance_to(NINE + timedelta(minutes=30))  # the bot was down at 09:00
    await start(scheduler, clock)
    await clock.advance_to(NINE + DAY)
    assert [m.at for m in discord.messages] == [NINE + timedelta(minutes=30), NINE + DAY]


async def test_a_slot_missed_beyond_grace_is_skipped_and_logged(scheduler, store, discord, clock, caplog):
    store.add(make_schedule(1))
    await clock.advance_to(NINE + timedelta(hours=3))
    with caplog.at_level(logging.WARNING):
        await start(scheduler, clock)
    assert discord.messages == []
    assert "slot 2025-01-06 was due at 2025-01-06T09:00:00+00:00, more than 1:00:00 ago; skipped" in caplog.text
    assert store.reasons[1] == (
        "the post due at 2025-01-06 09:00 UTC was skipped: it was more than 1 hour late (the bot was not running)"
    )
    await clock.advance_to(NINE + DAY)
    assert [m.at for m in discord.messages] == [NINE + DAY]


async def test_a_long_downtime_posts_at_most_once_per_schedule(store, discord, clock):
    for schedule_id in (1, 2):
        store.add(make_schedule(schedule_id))
    back = NINE + 2 * DAY + timedelta(hours=1)  # two days down, with a grace long enough to cover them
    await clock.advance_to(back)
    scheduler = Scheduler(store, discord, clock, SchedulerConfig(grace=timedelta(days=3)))
    await start(scheduler, clock)
    await clock.advance_to(NINE + 3 * DAY)
    await scheduler.stop()
    assert sorted((m.at, m.channel_id) for m in discord.messages) == [
        (back, 1),
        (back, 2),
        (NINE + 3 * DAY, 1),
        (NINE + 3 * DAY, 2),
    ]


# --- many at once ----------------------------------------------------------------------------------


@pytest.mark.parametrize("per_second", [50, 200])
async def test_thousands_due_at_once_go_out_oldest_first_at_the_rate_limit(store, discord, clock, per_second):
    seconds = list(range(3000))
    random.Random(4).shuffle(seconds)  # ids in a different order from due times
    for schedule_id, second in enumerate(seconds, start=1):
        at = (START + timedelta(seconds=second)).time()
        store.add(make_schedule(schedule_id, at, now=START - timedelta(minutes=1)))
    await clock.advance_to(NINE)
    scheduler = Scheduler(store, discord, clock, SchedulerConfig(per_second=per_second))
    await start(scheduler, clock)
    await clock.advance(timedelta(minutes=2))
    await scheduler.stop()

    assert len(discord.messages) == 3000
    dues = [seconds[m.channel_id - 1] for m in discord.messages]
    assert dues == sorted(dues)
    times = [m.at for m in discord.messages]
    assert all(
        later - earlier >= timedelta(seconds=1) for earlier, later in zip(times, times[per_second:], strict=False)
    )
    # And no slower than that: each second's grants are spread over its first 50 ms at most (see RateLimiter).
    last = timedelta(seconds=3000 // per_second - 1)
    assert last <= times[-1] - NINE < last + timedelta(milliseconds=50)


async def test_with_the_limit_lifted_all_due_posts_go_out_at_once(store, discord, clock):
    for schedule_id in range(1, 1001):
        store.add(make_schedule(schedule_id))
    scheduler = Scheduler(store, discord, clock, SchedulerConfig(per_second=None))
    await start(scheduler, clock)
    await clock.advance_to(NINE)
    await scheduler.stop()
    assert {m.at for m in discord.messages} == {NINE}
    assert len(discord.messages) == 1000


async def test_a_talk_removed_before_its_post_is_replaced_by_another_at_once(scheduler, store, discord, clock):
    store.add(make_schedule(1))
    await start(scheduler, clock)
    discord.fail_once[1] = [TalkGone("gone-talk")]  # the picked talk left the catalogue between pick and send
    await clock.advance_to(NINE + timedelta(seconds=1))
    assert len(discord.calls) == 2 and [m.at for m in discord.messages] == [NINE]
    assert store.schedules[1].failures == 0  # the post went out: no failure is left counting
    await clock.advance_to(NINE + DAY)
    assert [m.at for m in discord.messages] == [NINE, NINE + DAY]
