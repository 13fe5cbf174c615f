"""The bot-wide limit on how fast the scheduler talks to Discord."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from bot.highlights.ports import Clock

_WINDOW = timedelta(seconds=1)
_SPACING = 20  # grants are at least a twentieth of the average interval apart (1 ms at 50 per second)


class RateLimiter:
    """At most `per_second` requests reach Discord in any one-second window, first come first served.

    `None` lifts the limit. Discord counts a request when it arrives, some time between the moment it is
    sent and the moment its answer is back; when exactly cannot be known. So a request held with `request()`
    is *live* from its grant until one second after its answer, and a request is granted only while fewer
    than `per_second` are live. Then no second holds more than `per_second` arrivals, however long each
    spent on the way: of any `per_second + 1` of them, the last granted would have found the others live.
    (Counting from the grant alone let network jitter put 51 in one of Discord's seconds: measured, 106
    global 429s in 1,000 posts.) It costs the fastest round trip of each second.

    Once a second's worth has been granted, grants are also spaced a little (1 ms apart at 50 per second,
    49 ms for a second's worth), so that the bot's own event loop is not flooded by 50 sends at once and
    reads answers as they come (measured: 15 ms a second without the spacing). The first `per_second` go at
    once: they cannot break the limit, and a lone post is never held back.
    """

    def __init__(self, clock: Clock, per_second: int | None = 50) -> None:
        if per_second is not None and per_second < 1:
            raise ValueError("per_second must be at least 1, or None for no limit")
        self._clock = clock
        self._per_second = per_second
        self._in_flight = 0  # granted, not answered yet
        self._expiries: list[datetime] = []  # heap: a second after each answer, while that is ahead
        self._ended = asyncio.Event()  # set whenever a request in flight ends
        self._granted = 0
        self._gap = _WINDOW / (per_second * _SPACING) if per_second is not None else timedelta(0)
        self._last_grant: datetime | None = None
        self._hold_until: datetime | None = None
        self._queue = asyncio.Lock()  # fair: waiters are served in the order they came

    @asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        """Hold a place for one request, sent inside the block; it stays live until a second after the block."""
        await self._grant()
        try:
            yield
        finally:
            self._end(self._clock.now())

    async def acquire(self) -> None:
        """Wait for permission to send one request, counted from this moment (see `request`)."""
        await self._grant()
        self._end(self._clock.now())

    def hold_until(self, instant: datetime) -> None:
        """Grant nothing before `instant` (Discord's global rate limit says so)."""
        self._hold_until = max(instant, self._hold_until or instant)

    async def _grant(self) -> None:
        async with self._queue:
            limit = self._per_second
            spaced = limit is not None and self._granted >= limit
            while True:
                if limit is not None:
                    now = self._clock.now()
                    while self._expiries and self._expiries[0] <= now:
                        heapq.heappop(self._expiries)
                    if self._in_flight + len(self._expiries) >= limit:
                        if self._expiries:
                            await self._clock.sleep_until(self._expiries[0])
                        else:  # every place is in flight: one must end before any can expire
                            self._ended.clear()
                            await self._ended.wait()
                        continue
                ready = self._ready_at(spaced)
                if ready <= self._clock.now():
                    break
                await self._clock.sleep_until(ready)
            if limit is not None:
                self._in_flight += 1
                self._granted += 1
                self._last_grant = self._clock.now()

    def _end(self, at: datetime) -> None:
        if self._per_second is None:
            return
        self._in_flight -= 1
        heapq.heappush(self._expiries, at + _WINDOW)
        self._ended.set()

    def _ready_at(self, spaced: bool) -> datetime:
        ready = self._clock.now()
        gap = self._last_grant + self._gap if spaced and self._last_grant is not None else None
        for later in (self._hold_until, gap):
            if later is not None:
                ready = max(ready, later)
        return ready
