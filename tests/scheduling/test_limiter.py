from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.scheduling import FakeClock, RateLimiter

from .conftest import START


async def grant_times(clock, limiter, count):
    granted = []

    async def one():
        await limiter.acquire()
        granted.append(clock.now())

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    await clock.advance(timedelta(minutes=1))
    await asyncio.gather(*tasks)
    return granted


async def test_never_more_than_the_limit_in_any_second():
    clock = FakeClock(START)
    granted = await grant_times(clock, RateLimiter(clock, 5), 12)
    assert [(t - START).total_seconds() for t in granted] == [0] * 5 + [1] * 5 + [2] * 2


async def test_lifted_limit_grants_everything_at_once():
    clock = FakeClock(START)
    granted = await grant_times(clock, RateLimiter(clock, None), 1000)
    assert set(granted) == {START}


async def test_hold_until_delays_every_grant():
    clock = FakeClock(START)
    limiter = RateLimiter(clock, None)
    limiter.hold_until(START + timedelta(seconds=30))
    limiter.hold_until(START + timedelta(seconds=10))  # an earlier hold does not shorten it
    granted = await grant_times(clock, limiter, 3)
    assert set(granted) == {START + timedelta(seconds=30)}


async def test_waiters_are_served_in_arrival_order():
    clock = FakeClock(START)
    limiter = RateLimiter(clock, 1)
    order = []

    async def one(name):
        await limiter.acquire()
        order.append(name)

    tasks = [asyncio.create_task(one(name)) for name in "abcde"]
    await clock.advance(timedelta(seconds=10))
    await asyncio.gather(*tasks)
    assert order == list("abcde")
