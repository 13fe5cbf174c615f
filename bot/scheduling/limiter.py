"""The bot-wide limit on how fast the scheduler talks to Discord."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime, timedelta

from bot.scheduling.ports import Clock

_WINDOW = timedelta(seconds=1)


class RateLimiter:
    """At most `per_second` grants in any one-second window, first come first served; None lifts the limit.

    A sliding window rather than a refilling bucket: a bucket of N refilled at N/s lets up to 2N through in
    a second that straddles a refill, and Discord's global limit (50 requests per second) counts any second.
    """

    def __init__(self, clock: Clock, per_second: int | None = 50) -> None:
        if per_second is not None and per_second < 1:
            raise ValueError("per_second must be at least 1, or None for no limit")
        self._clock = clock
        self._per_second = per_second
        self._grants: deque[datetime] = deque(maxlen=per_second)
        self._hold_until: datetime | None = None
        self._queue = asyncio.Lock()  # fair: waiters are served in the order they came

    async def acquire(self) -> None:
        """Wait for permission to send one request."""
        async with self._queue:
            while (ready := self._ready_at()) > (now := self._clock.now()):
                await self._clock.sleep_until(ready)
            if self._per_second is not None:
                self._grants.append(now)

    def hold_until(self, instant: datetime) -> None:
        """Grant nothing before `instant` (Discord's global rate limit says so)."""
        self._hold_until = max(instant, self._hold_until or instant)

    def _ready_at(self) -> datetime:
        ready = self._clock.now()
        if self._hold_until is not None:
            ready = max(ready, self._hold_until)
        if self._per_second is not None and len(self._grants) == self._per_second:
            ready = max(ready, self._grants[0] + _WINDOW)
        return ready
