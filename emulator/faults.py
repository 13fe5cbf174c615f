"""Faults injected on demand: gateway disconnects, and errors, rate limits or delays on REST routes."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from emulator.gateway import Gateway, Op

_DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    400: (50035, "Invalid Form Body"),
    401: (0, "401: Unauthorized"),
    403: (50013, "Missing Permissions"),
    404: (0, "404: Not Found"),
    500: (0, "500: Internal Server Error"),
    502: (0, "502: Bad Gateway"),
    503: (0, "503: Service Unavailable"),
}


@dataclass
class RouteFault:
    """The next `times` requests matching `method` and `route` get `status` (if set) after `delay` seconds.

    `route` is a spec template such as `/channels/{channel_id}/messages`, or a glob over the concrete path
    such as `/channels/123/*`.
    """

    method: str
    route: str
    status: int | None = None
    times: int = 1
    delay: float = 0.0
    retry_after: float = 0.0
    is_global: bool = False
    code: int | None = None
    message: str | None = None
    hits: int = 0

    def matches(self, method: str, template: str, path: str) -> bool:
        """Whether a request is one this fault applies to."""
        return method == self.method and (self.route == template or fnmatchcase(path, self.route))

    @property
    def spent(self) -> bool:
        """Whether it has answered all the requests it was meant for."""
        return self.hits >= self.times


@dataclass(frozen=True)
class FaultReply:
    """An error reply: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def rate_limited(retry_after: float, *, is_global: bool) -> FaultReply:
    """A 429 carrying what discord.py reads to wait and retry (it insists on a `Via` header)."""
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Scope": "global" if is_global else "user",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global, "code": 0}
    return FaultReply(429, body, headers)


def error_reply(status: int, code: int | None = None, message: str | None = None) -> FaultReply:
    """A Discord-style error body for `status`."""
    default_code, default_message = _DEFAULT_ERRORS.get(status, (0, f"{status}: Error"))
    code = default_code if code is None else code
    body = {"message": message or default_message, "code": code}
    return FaultReply(status, body, {})


class Faults:
    """The test's handle for breaking things on purpose."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self.routes: list[RouteFault] = []
        self.global_limit: int | None = None
        self.global_window = 1.0
        self._window_start = 0.0
        self._window_count = 0

    async def close_gateway(self, code: int = 4000) -> None:
        """Close the bot's websocket with `code` (4000/1001: it resumes; 4004: it stops for good)."""
        await self._gateway.close(code)

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT; the bot closes and resumes."""
        await self._gateway.send_op(Op.RECONNECT, None)

    async def invalid_session(self, resumable: bool) -> None:
        """Send op 9 INVALID_SESSION; `False` makes the bot identify again with a new session."""
        await self._gateway.invalidate(resumable=resumable)

    @asynccontextmanager
    async def hold_reconnects(self) -> AsyncIterator[None]:
        """Inside the block, new gateway connections wait before HELLO, so dispatches queue for replay."""
        self._gateway.hold()
        try:
            yield
        finally:
            self._gateway.release()

    def add(self, fault: RouteFault) -> RouteFault:
        """Register a route fault; returns it so a test can read `hits`."""
        self.routes.append(fault)
        return fault

    def fail(
        self,
        method: str,
        route: str,
        status: int,
        *,
        times: int = 1,
        code: int | None = None,
        message: str | None = None,
    ) -> RouteFault:
        """Answer the next `times` matching requests with `status` (403, 404, 500, ...) and a Discord error body."""
        return self.add(RouteFault(method, route, status=status, times=times, code=code, message=message))

    def rate_limit(
        self, method: str, route: str, *, retry_after: float = 0.05, is_global: bool = False, times: int = 1
    ) -> RouteFault:
        """Answer the next `times` matching requests with 429 and `retry_after` seconds."""
        return self.add(
            RouteFault(method, route, status=429, times=times, retry_after=retry_after, is_global=is_global)
        )

    def delay(self, method: str, route: str, seconds: float, *, times: int = 1) -> RouteFault:
        """Hold the next `times` matching requests for `seconds` before answering them normally."""
        return self.add(RouteFault(method, route, times=times, delay=seconds))

    def set_global_rate_limit(self, limit: int | None, *, per: float = 1.0) -> None:
        """Allow at most `limit` bot-authenticated requests per `per` seconds (Discord: 50 per second).

        Requests over the limit get a global 429 until the window ends; `None` removes the limit.
        """
        self.global_limit = limit
        self.global_window = per
        self._window_count = 0

    def take(self, method: str, template: str, path: str) -> RouteFault | None:
        """The first unspent fault for this request, counted as used."""
        for fault in self.routes:
            if not fault.spent and fault.matches(method, template, path):
                fault.hits += 1
                return fault
        return None

    def global_retry_after(self) -> float | None:
        """Seconds to wait if this bot request exceeds the global limit, else `None` (and it is counted)."""
        if self.global_limit is None:
            return None
        now = asyncio.get_running_loop().time()
        if now - self._window_start >= self.global_window:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        if self._window_count > self.global_limit:
            return max(0.001, round(self._window_start + self.global_window - now, 3))
        return None

    @staticmethod
    def reply(fault: RouteFault) -> FaultReply | None:
        """The error reply a fault calls for, or `None` if it only delays."""
        if fault.status is None:
            return None
        if fault.status == 429:
            return rate_limited(fault.retry_after, is_global=fault.is_global)
        return error_reply(fault.status, fault.code, fault.message)
