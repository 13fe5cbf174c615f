"""The bot-wide limit on how fast the scheduler talks to Discord."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from bot.scheduling.ports import Clock

_WINDOW = timedelta(seconds=1)
_SPACING = 20  # grants are at least a twentieth of the average interval apart (1 ms at 50 per second)


class _Place:
    """One granted request: it counts against the limit until a second after it ended."""

    __slots__ = ("_done", "ended")

    def __init__(self) -> None:
        self.ended: datetime | None = None
        self._done: asyncio.Event | None = None

    def end(self, at: datetime) -> None:
        self.ended = at
        if self._done is not None:
            self._done.set()

    async def wait(self) -> None:
        if self.ended is None:
            if self._done is None:
                self._done = asyncio.Event()
            await self._done.wait()


class RateLimiter:
    """At most `per_second` requests reach Discord in any one-second window, first come first served.

    `None` lifts the limit. A sliding window rather than a refilling bucket: a bucket of N refilled at N/s
    lets up to 2N through in a second that straddles a refill, and Discord's global limit (50 requests per
    second) counts any second.

    Discord counts a request when it arrives, some time between the moment it is sent and the moment its
    answer is back. So a request held with `request()` counts from its grant until one second after its
    answer: the (N+1)-th next request is granted only then. Any N+1 requests then arrive more than a second
    apart however long each spent on the way, where counting from the grant alone let jitter put 51 in one
    of Discord's seconds (measured: 106 global 429s in 1,000 posts). It costs one round trip per second.

    Once a second's worth has been granted, grants are also spaced a little (1 ms apart at 50 per second,
    49 ms for a second's worth), so that the bot's own event loop is not flooded by 50 sends at once:
    answers are then read as they come, and the round trip each second costs stays the network's, not the
    time to send the other 49 (measured: 15 ms a second, 1.5% of the rate, without the spacing). The first
    `per_second` go at once: they cannot break the limit, and a lone post is never held back.
    """

    def __init__(self, clock: Clock, per_second: int | None = 50) -> None:
        if per_second is not None and per_second < 1:
            raise ValueError("per_second must be at least 1, or None for no limit")
        self._clock = clock
        self._per_second = per_second
        self._places: deque[_Place] = deque()  # the latest `per_second` grants, oldest first
        self._free_at: datetime | None = None  # a second after the end of every older grant
        self._gap = _WINDOW / (per_second * _SPACING) if per_second is not None else timedelta(0)
        self._last_grant: datetime | None = None
        self._hold_until: datetime | None = None
        self._queue = asyncio.Lock()  # fair: waiters are served in the order they came

    @asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        """Hold a place for one request, sent inside the block; it counts until a second after the block."""
        place = await self._grant()
        try:
            yield
        finally:
            place.end(self._clock.now())

    async def acquire(self) -> None:
        """Wait for permission to send one request, counted from this moment (see `request`)."""
        place = await self._grant()
        place.end(self._clock.now())

    def hold_until(self, instant: datetime) -> None:
        """Grant nothing before `instant` (Discord's global rate limit says so)."""
        self._hold_until = max(instant, self._hold_until or instant)

    async def _grant(self) -> _Place:
        async with self._queue:
            spaced = self._per_second is not None and len(self._places) >= self._per_second
            while True:
                if self._per_second is not None and len(self._places) >= self._per_second:
                    oldest = self._places[0]
                    await oldest.wait()  # it may not have reached Discord yet
                    assert oldest.ended is not None  # noqa: S101 - set before the wait returns
                    self._places.popleft()
                    self._free_at = max(oldest.ended + _WINDOW, self._free_at or oldest.ended)
                    continue
                ready = self._ready_at(spaced)
                if ready <= self._clock.now():
                    break
                await self._clock.sleep_until(ready)
            place = _Place()
            if self._per_second is not None:
                self._places.append(place)
                self._last_grant = self._clock.now()
            return place

    def _ready_at(self, spaced: bool) -> datetime:
        ready = self._clock.now()
        gap = self._last_grant + self._gap if spaced and self._last_grant is not None else None
        for later in (self._hold_until, self._free_at, gap):
            if later is not None:
                ready = max(ready, later)
        return ready
