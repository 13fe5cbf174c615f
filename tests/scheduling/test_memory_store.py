from __future__ import annotations

from datetime import timedelta

from bot.highlights.memory import InMemoryScheduleStore
from bot.highlights.ports import RotationState
from bot.highlights.rotation import Pick
from bot.highlights.rules import next_slot

from .conftest import START, make_schedule


async def test_a_slot_can_be_claimed_once_until_released():
    store = InMemoryScheduleStore(["a"])
    schedule = make_schedule(1)
    store.add(schedule)
    slot = schedule.next_slot
    attempt = await store.claim(1, slot, Pick("a", 0), START)
    assert attempt is not None
    assert await store.claim(1, slot, Pick("a", 0), START) is None
    assert (await store.get(1)).attempt == attempt  # left sending: shown, so a restart can settle it

    await store.mark_failed(1, "boom", START + timedelta(minutes=1), release=attempt)
    assert (await store.get(1)).attempt is None
    again = await store.claim(1, slot, Pick("a", 0), START + timedelta(minutes=1))
    assert again is not None
    assert again.nonce == attempt.nonce

    await store.mark_sent(again, 42, next_slot(schedule.rule, slot.due))
    assert await store.claim(1, slot, Pick("a", 0), START) is None
    assert store.state(1, slot.key) == "sent"


async def test_mark_failed_without_release_keeps_the_attempt_sending():
    store = InMemoryScheduleStore(["a"])
    store.add(make_schedule(1))
    attempt = await store.claim(1, store.schedules[1].next_slot, Pick("a", 0), START)
    await store.mark_failed(1, "timed out", START + timedelta(minutes=1))
    schedule = await store.get(1)
    assert schedule.attempt == attempt
    assert (schedule.failures, schedule.retry_at) == (1, START + timedelta(minutes=1))


async def test_sent_talks_make_up_the_round_and_a_higher_round_starts_afresh():
    store = InMemoryScheduleStore(["a", "b"])
    schedule = make_schedule(1)
    store.add(schedule)
    first = schedule.next_slot
    second = next_slot(schedule.rule, first.due)
    await store.mark_sent(await store.claim(1, first, Pick("a", 0), START), 1, second)
    assert await store.rotation(1) == RotationState(("a", "b"), frozenset({"a"}), 0, "a")
    await store.mark_sent(await store.claim(1, second, Pick("b", 1), START), 2, next_slot(schedule.rule, second.due))
    rotation = await store.rotation(1)
    assert (rotation.round, rotation.posted, rotation.last) == (1, frozenset({"b"}), "b")


async def test_paused_schedules_are_not_listed():
    store = InMemoryScheduleStore()
    store.add(make_schedule(1))
    store.add(make_schedule(2))
    await store.pause(1, "channel gone")
    assert [s.id for s in await store.list_enabled()] == [2]
    assert await store.get(1) is None
    assert store.paused == {1: "channel gone"}
