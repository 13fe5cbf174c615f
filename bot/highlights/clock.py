"""Clocks for the scheduler: the system's, and one for tests that moves only when told."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

# asyncio's timers follow the monotonic clock; waking at least this often notices wall-clock jumps
# (NTP steps, a suspended host) in bounded time.
_LONGEST_NAP = 300.0
# asyncio's timers wake late: up to a millisecond from epoll's whole milliseconds, and a few more on a busy or
# virtual machine. At the rate limit every second starts with such a wake-up and every late one delays all
# later posts, so a long sleep ends by yielding to the loop for its last stretch instead (measured at 50
# posts a second: 1 to 3 ms late each second on a timer alone, 0.01 ms with this). Short sleeps stay on a
# timer: yielding through them would take the CPU the rest of the bot (and Discord's emulator) needs.
FINAL_STRETCH = 0.005  # seconds
SPIN_AFTER = 0.1  # seconds: sleeps at least this long end with the final stretch


async def finish_sleep(remaining: Callable[[], float]) -> None:
    """Sleep while `remaining()` seconds are left: on a timer, then, for a long sleep, yielding to the end."""
    stretch = FINAL_STRETCH if remaining() >= SPIN_AFTER else 0.0
    while (delay := remaining()) > stretch:  # noqa: ASYNC110 - a clock's sleep (see _LONGEST_NAP)
        await asyncio.sleep(min(delay - stretch, _LONGEST_NAP))
    await spin_until(remaining)


async def spin_until(remaining: Callable[[], float]) -> None:
    """Yield to the loop until `remaining()` is no longer positive: for the last few milliseconds only.

    Should the wall clock step back meanwhile, it goes back to a timer rather than yield for that long.
    """
    while (delay := remaining()) > 0:  # noqa: ASYNC110 - deliberately: an event would wake on a timer, late
        await asyncio.sleep(delay - FINAL_STRETCH if delay > 2 * FINAL_STRETCH else 0)


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """The current instant."""
        return datetime.now(UTC)

    async def sleep_until(self, instant: datetime) -> None:
        """Sleep until the wall clock reaches `instant` (re-read at least every `_LONGEST_NAP` seconds)."""
        await finish_sleep(lambda: (instant - self.now()).total_seconds())


class FakeClock:
    """A clock for tests: time stands still until `advance` moves it, waking sleepers in time order.

    After each wake it lets the other tasks run until none can (see `settle`), so the work a wake-up starts
    is done before time moves on.
    """

    def __init__(self, start: datetime, *, max_turns: int = 10_000) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware start time")
        self._now = start
        self._max_turns = max_turns
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        """The fake current instant."""
        return self._now

    async def sleep_until(self, instant: datetime) -> None:
        """Wait until `advance` reaches `instant`; yield once if it has passed."""
        if instant <= self._now:
            await asyncio.sleep(0)
            return
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (instant, next(self._order), wake))
        await wake

    async def advance(self, delta: timedelta) -> None:
        """Move time forward by `delta`, waking every sleeper due on the way at its own instant."""
        await self.advance_to(self._now + delta)

    async def advance_to(self, instant: datetime) -> None:
        """Move time forward to `instant`, waking every sleeper due on the way at its own instant."""
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= instant:
            when, _, wake = heapq.heappop(self._sleepers)
            if not wake.done():  # done means cancelled: its sleeper stopped waiting
                self._now = max(self._now, when)
                wake.set_result(None)
                await self.settle()
        self._now = max(self._now, instant)
        await self.settle()

    async def settle(self) -> None:
        """Let other tasks run, without moving time, until none is ready to (at most `max_turns` turns)."""
        # asyncio's queue of ready callbacks is not public; where it is missing, every turn is taken.
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        for _ in range(self._max_turns):
            await asyncio.sleep(0)
            if ready is not None and not ready:
                return
