from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.highlights.clock import FakeClock
from bot.highlights.limiter import RateLimiter

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
    # The first five go at once; then each second's five go 10 ms apart (a twentieth of the average interval),
    # so the bot never floods itself.
    assert [round((t - START).total_seconds(), 3) for t in granted] == [
        *(0.0,) * 5, *(1.0, 1.01, 1.02, 1.03, 1.04), 2.0, 2.01
    ]


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


async def test_a_request_counts_until_a_second_after_its_answer():
    # Discord counts a request when it arrives, which may be as late as its answer: a request stays live until
    # a second after that, and no more than the limit may be live at once.
    clock = FakeClock(START)
    limiter = RateLimiter(clock, 2)
    granted = []

    async def one(n, takes):
        async with limiter.request():
            granted.append((n, (clock.now() - START).total_seconds()))
            await clock.sleep_until(clock.now() + timedelta(seconds=takes))

    tasks = [asyncio.create_task(one(n, takes)) for n, takes in enumerate([0.5, 0.0, 0.0, 0.0])]
    await clock.advance(timedelta(minutes=1))
    await asyncio.gather(*tasks)
    # 1 was answered at once, so a place is free again at 1 s: 2 goes then. 0 was answered at 0.5 s, and 2 at
    # once, so the next place is free at 1.5 s: 3 goes then.
    assert [(n, round(at, 3)) for n, at in granted] == [(0, 0.0), (1, 0.0), (2, 1.0), (3, 1.5)]


async def test_a_request_that_fails_still_counts():
    clock = FakeClock(START)
    limiter = RateLimiter(clock, 1)
    try:
        async with limiter.request():
            raise RuntimeError("refused")
    except RuntimeError:
        pass
    granted = await grant_times(clock, limiter, 1)
    assert granted == [START + timedelta(seconds=1)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2000), min_size=1, max_size=25), st.integers(1, 4))
def test_no_second_can_hold_more_arrivals_than_the_limit(durations_ms, limit):
    # Wherever in [grant, answer] each request arrives, no one-second window may hold more than `limit`: so
    # when a request is granted, fewer than `limit` earlier ones may have arrived within the second before.
    async def scenario():
        clock = FakeClock(START)
        limiter = RateLimiter(clock, limit)
        spans = []

        order = iter(range(len(durations_ms)))

        async def one(takes):
            async with limiter.request():
                granted, n = clock.now(), next(order)
                await clock.sleep_until(granted + timedelta(milliseconds=takes))
            spans.append((n, granted, clock.now()))

        tasks = [asyncio.create_task(one(takes)) for takes in durations_ms]
        await clock.advance(timedelta(hours=1))
        await asyncio.gather(*tasks)
        return spans

    spans = asyncio.run(scenario())
    assert len(spans) == len(durations_ms)
    for n, granted, _ in spans:
        live = [m for m, _, answered in spans if m < n and answered > granted - timedelta(seconds=1)]
        assert len(live) < limit
