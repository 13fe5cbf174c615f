"""The engine behind every timed post: one task that sleeps until the next job is due, then runs what is due.

A job is anything with an id and a due instant; a `Jobs` is one kind of them (highlight schedules, members'
reminders) with its own store and its own way of posting. The engine keeps one heap over every kind, one
pool of workers and one rate limiter, so a minute when 10,000 reminders and 1,000 highlights fall due stays
within the platform's global limit as a whole. What "once and only once" means is each kind's to keep, on
the same pattern (claim durably, send with a nonce, mark sent; `bot.highlights.ports` explains it); the
engine's part is that a job is handed to at most one worker at a time and that a kind's errors never reach
the other jobs or the loop.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.highlights.limiter import RateLimiter
from bot.highlights.ports import Clock, PostFailure, RateLimited, UnknownOutcome

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """How fast the scheduler posts, how it retries and how late a slot may still be posted."""

    per_second: int | None = 50  # Discord's global limit per bot; None lifts it
    concurrency: int = 100  # posts in flight at once
    grace: timedelta = timedelta(hours=1)  # a slot later than this is skipped, not posted
    max_failures: int = 5  # failures in a row before a schedule is paused
    backoff: timedelta = timedelta(minutes=1)  # the wait after a first failure, doubling after each
    max_backoff: timedelta = timedelta(hours=1)
    nonce_window: timedelta = timedelta(minutes=2)  # how long Discord surely deduplicates a nonce

    def retry_delay(self, failures: int) -> timedelta:
        """The wait after the `failures`-th failure in a row."""
        return min(self.max_backoff, self.backoff * (1 << min(failures - 1, 32)))


class Job(Protocol):
    """A unit of timed work: its id (unique within its kind) and when it is next due."""

    @property
    def id(self) -> int:
        """Unique within its kind."""
        ...

    @property
    def due(self) -> datetime:
        """When the engine should next run it."""
        ...


J = TypeVar("J", bound=Job)


class Runtime:
    """What the engine lends every kind: the clock, the settings and the shared rate limiter."""

    def __init__(self, clock: Clock, config: SchedulerConfig) -> None:
        self.clock = clock
        self.config = config
        self.limiter = RateLimiter(clock, config.per_second)

    async def send(
        self, request: Callable[[], Awaitable[T]], *, deadline: datetime, still_safe: Callable[[], bool] | None = None
    ) -> T | None:
        """Run one request under the rate limiter, waiting out 429s until `deadline`.

        Returns None when, after a wait, `still_safe` says a resend could no longer be told apart from the
        first send (the caller gives that post up). A failure other than a 429 is raised as it came; an
        unexpected exception becomes UnknownOutcome (the request may have gone out).
        """
        while True:
            # Granted right before the request, not before the database work that precedes it: a grant
            # taken earlier reaches Discord after a varying delay, and posts granted a second apart can
            # then arrive together and break the global limit (measured: 85 in one second at a 50/s limit).
            try:
                async with self.limiter.request():
                    return await request()
            except RateLimited as limited:
                until = self.clock.now() + timedelta(seconds=limited.retry_after)
                if limited.is_global:
                    self.limiter.hold_until(until)
                if until > deadline:
                    raise
                await self.clock.sleep_until(until)
                if still_safe is not None and not still_safe():
                    return None
            except PostFailure:
                raise
            except Exception as error:
                log.exception("a post failed unexpectedly")
                raise UnknownOutcome(f"unexpected error ({type(error).__name__})") from error


class Jobs(Protocol[J]):
    """One kind of timed work the engine runs; made with the engine's `Runtime` when it posts."""

    name: str  # one job, for logs and task names: 'schedule', 'reminder'

    async def load(self) -> Sequence[J]:
        """Every job of this kind that is waiting to run."""
        ...

    async def get(self, job_id: int) -> J | None:
        """One job as the store now holds it, or None when it no longer waits to run."""
        ...

    async def run(self, job: J) -> J | None:
        """Do the due job's work; the job as it now stands (to wait again), or None to read it afresh."""
        ...

    def later(self, job: J, at: datetime) -> J:
        """The job, due again at `at` (after its `run` raised)."""
        ...


Key = tuple[int, int]  # (kind's position, job id)


class Engine:
    """Runs every registered kind's jobs through one task, one pool of workers and one rate limiter.

    It keeps a heap of (due instant, kind, id) and sleeps until the earliest, or until `notify` or `reload`
    wakes it. Due jobs are handed to workers oldest first. A job whose `run` raises is tried again after
    the backoff; nothing it raises reaches the other jobs or the loop.
    """

    def __init__(self, clock: Clock, config: SchedulerConfig | None = None, *, name: str = "scheduler") -> None:
        self._clock = clock
        self._config = config or SchedulerConfig()
        self.runtime = Runtime(clock, self._config)
        self._name = name
        self._kinds: list[Jobs[Any]] = []
        self._workers = asyncio.Semaphore(self._config.concurrency)
        self._waiting: dict[Key, Job] = {}  # a heap entry counts only if its due matches
        self._heap: list[tuple[datetime, int, int]] = []
        self._busy: set[Key] = set()  # handed to a worker
        self._changed: set[Key] = set()
        self._reload = True
        self._wake = asyncio.Event()
        self._main: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, kind: Jobs[Any]) -> Callable[[int], None]:
        """Run `kind`'s jobs too; returns the function that re-reads one of its jobs (see `notify`)."""
        position = len(self._kinds)
        self._kinds.append(kind)
        self.reload()

        def notify(job_id: int) -> None:
            self.notify(position, job_id)

        return notify

    async def start(self) -> None:
        """Load the jobs and start running them."""
        if self._main is None:
            self._reload = True
            self._main = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stop; a post cut off mid-send is settled by its kind on the next start."""
        main, self._main = self._main, None
        tasks = [*self._tasks, *([main] if main else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._waiting.clear()
        self._heap.clear()
        self._busy.clear()
        self._changed.clear()

    def notify(self, kind: int, job_id: int) -> None:
        """Re-read one job (added, edited, cancelled or deleted) before the next sleep."""
        self._changed.add((kind, job_id))
        self._wake.set()

    def reload(self) -> None:
        """Re-read every job before the next sleep."""
        self._reload = True
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except Exception:
                log.exception("%s: could not read the jobs; trying again in %s", self._name, self._config.backoff)
                self._reload = True
                await self._clock.sleep_until(self._clock.now() + self._config.backoff)

    async def _step(self) -> None:
        self._wake.clear()
        await self._refresh()
        due = self._pop_due(self._clock.now())
        if due is None:
            await self._idle(self._heap[0][0] if self._heap else None)
            return
        await self._workers.acquire()
        key, job = due
        kind = self._kinds[key[0]]
        task = asyncio.create_task(self._handle(key, job), name=f"{kind.name}-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self) -> None:
        if self._reload:
            self._reload = False
            self._changed &= self._busy
            waiting: dict[Key, Job] = {}
            for position, kind in enumerate(self._kinds):
                for job in await kind.load():
                    key = (position, job.id)
                    if key not in self._busy:
                        waiting[key] = job
            self._waiting = waiting
            self._heap = [(job.due, *key) for key, job in waiting.items()]
            heapq.heapify(self._heap)
        for key in self._changed - self._busy:
            job = await self._kinds[key[0]].get(key[1])
            self._changed.discard(key)
            if job is None:
                self._waiting.pop(key, None)
            else:
                self._put(key, job)

    def _put(self, key: Key, job: Job) -> None:
        self._waiting[key] = job
        heapq.heappush(self._heap, (job.due, *key))
        if len(self._heap) > 2 * len(self._waiting) + 64:  # drop superseded entries
            self._heap = [(j.due, *k) for k, j in self._waiting.items()]
            heapq.heapify(self._heap)

    def _pop_due(self, now: datetime) -> tuple[Key, Job] | None:
        while self._heap and self._heap[0][0] <= now:
            due, position, job_id = heapq.heappop(self._heap)
            key = (position, job_id)
            job = self._waiting.get(key)
            if job is not None and job.due == due:
                del self._waiting[key]
                self._busy.add(key)
                return key, job
        return None

    async def _idle(self, until: datetime | None) -> None:
        waits: list[asyncio.Task[Any]] = [asyncio.create_task(self._wake.wait())]
        if until is not None:
            waits.append(asyncio.create_task(self._clock.sleep_until(until)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _handle(self, key: Key, job: Job) -> None:
        kind = self._kinds[key[0]]
        try:
            following = await kind.run(job)
        except Exception:
            log.exception("%s %s: could not be handled; trying again in %s", kind.name, job.id, self._config.backoff)
            self._put(key, kind.later(job, self._clock.now() + self._config.backoff))
        else:
            if following is not None and key not in self._changed:
                self._put(key, following)  # what the store now holds; no need to read it back
            else:
                self._changed.add(key)
        finally:
            self._busy.discard(key)
            self._workers.release()
            self._wake.set()
