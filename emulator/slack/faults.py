"""Faults on demand (errors, hangs, a revoked token) and the per-channel posting rate limit."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field


@dataclass
class Faults:
    """What the next Web API calls should suffer."""

    errors: defaultdict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    hangs: defaultdict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    revoked: bool = False

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}`."""
        self.errors[method].extend([error] * times)

    def hang_next(self, method: str, seconds: float) -> None:
        """The next call of `method` does its work but answers only after `seconds`."""
        self.hangs[method].append(seconds)

    def take_error(self, method: str) -> str | None:
        """The error the current call of `method` must answer, if one is queued."""
        queue = self.errors.get(method)
        return queue.popleft() if queue else None

    def take_hang(self, method: str) -> float | None:
        """How long the current call of `method` must hang before answering, if it must."""
        queue = self.hangs.get(method)
        return queue.popleft() if queue else None


class RateLimiter:
    """A token bucket per key: `burst` calls at once, then `rate` a second."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("the rate must be positive and the burst at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}

    def take(self, key: str, now: float | None = None) -> int | None:
        """Spend one call for `key`: None if allowed, else the whole seconds to wait (Retry-After)."""
        now = time.monotonic() if now is None else now
        elapsed = now - self._stamp.get(key, now)
        tokens = min(float(self.burst), self._tokens.get(key, float(self.burst)) + elapsed * self.rate)
        self._stamp[key] = now
        if tokens >= 1.0:
            self._tokens[key] = tokens - 1.0
            return None
        self._tokens[key] = tokens
        return max(1, math.ceil((1.0 - tokens) / self.rate))
