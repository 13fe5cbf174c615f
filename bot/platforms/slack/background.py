"""Work that goes on after Slack has its answer (the acknowledgement must leave within 3 seconds)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)

_RUNNING: set[asyncio.Task[None]] = set()  # work that goes on after Slack has its answer, kept until it ends


def in_background(work: Awaitable[None], where: str) -> None:
    """Go on with `work` after the listener returns, so the HTTP answer (the acknowledgement) leaves now.

    The app runs with `process_before_response`: slack-bolt then answers Slack as soon as a listener returns,
    instead of polling every 10 ms for its `ack` (measured by benchmarks/slack_bench.py: 12 ms per command
    against 1.5 ms).
    """

    async def run() -> None:
        try:
            await work
        except Exception:
            log.exception("%s: the answer after the acknowledgement failed", where)

    task = asyncio.ensure_future(run())
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
