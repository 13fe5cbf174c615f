from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.highlights.clock import FakeClock, SystemClock

from .conftest import START


async def test_fake_clock_wakes_sleepers_in_order_at_their_own_instants():
    clock = FakeClock(START)
    woke = []

    async def sleeper(seconds):
        await clock.sleep_until(START + timedelta(seconds=seconds))
        woke.append((seconds, clock.now()))

    tasks = [asyncio.create_task(sleeper(s)) for s in (30, 10, 20)]
    await clock.advance(timedelta(seconds=25))
    assert woke == [(10, START + timedelta(seconds=10)), (20, START + timedelta(seconds=20))]
    assert clock.now() == START + timedelta(seconds=25)
    await clock.advance(timedelta(seconds=5))
    assert [s for s, _ in woke] == [10, 20, 30]
    await asyncio.gather(*tasks)


async def test_fake_clock_forgets_a_cancelled_sleeper():
    clock = FakeClock(START)
    task = asyncio.create_task(clock.sleep_until(START + timedelta(seconds=5)))
    await clock.settle()
    task.cancel()
    await clock.advance(timedelta(seconds=10))
    assert task.cancelled()


async def test_fake_clock_returns_at_once_for_a_past_instant():
    clock = FakeClock(START)
    await clock.sleep_until(START - timedelta(days=1))
    assert clock.now() == START


def test_fake_clock_needs_an_aware_start():
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2025, 1, 1))  # noqa: DTZ001


async def test_system_clock_is_aware_utc_and_does_not_sleep_for_the_past():
    clock = SystemClock()
    now = clock.now()
    assert now.utcoffset() == timedelta(0)
    await clock.sleep_until(now - timedelta(seconds=1))


async def test_system_clock_never_wakes_before_the_instant_and_yields_while_it_waits():
    clock = SystemClock()
    ticks = 0

    async def ticking():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(ticking())
    try:
        for delay in (0.0005, 0.02, 0.15):  # short sleeps on a timer; a long one ends yielding to the loop
            instant = clock.now() + timedelta(seconds=delay)
            before = ticks
            await clock.sleep_until(instant)
            assert clock.now() >= instant
            assert ticks > before  # the loop ran other tasks meanwhile
    finally:
        ticker.cancel()
