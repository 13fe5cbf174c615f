"""One task that sleeps until the next schedule is due, then posts everything due, oldest first."""

from __future__ import annotations

import asyncio
import heapq
import logging
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.highlights.limiter import RateLimiter
from bot.highlights.ports import (
    Attempt,
    Clock,
    Poster,
    PostFailure,
    PostResult,
    RateLimited,
    Schedule,
    ScheduleStore,
    TalkGone,
    UnknownOutcome,
)
from bot.highlights.rotation import next_talk
from bot.highlights.rules import next_slot

log = logging.getLogger(__name__)


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


def _span(delta: timedelta) -> str:
    """'1 hour', '90 minutes', '2 hours' for a grace period."""
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0 and minutes:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class Scheduler:
    """Posts every enabled schedule's slots through one task; bot.highlights.ports explains the guarantees.

    It keeps a heap of (due instant, schedule id) and sleeps until the earliest, or until `notify_changed`
    or `reschedule` wakes it. Due schedules are handed to workers oldest first; posts pass a bot-wide rate
    limiter. A failing schedule backs off and is paused after `max_failures`; its errors never reach the
    other schedules or the loop.
    """

    def __init__(
        self, store: ScheduleStore, poster: Poster, clock: Clock, config: SchedulerConfig | None = None
    ) -> None:
        self._store = store
        self._poster = poster
        self._clock = clock
        self._config = config or SchedulerConfig()
        self._limiter = RateLimiter(clock, self._config.per_second)
        self._workers = asyncio.Semaphore(self._config.concurrency)
        self._schedules: dict[int, Schedule] = {}  # waiting ones; a heap entry counts only if its due matches
        self._heap: list[tuple[datetime, int]] = []
        self._busy: set[int] = set()  # handed to a worker
        self._changed: set[int] = set()
        self._reload = True
        self._wake = asyncio.Event()
        self._main: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Load the schedules and start posting (call from a cog's `cog_load`)."""
        if self._main is None:
            self._reload = True
            self._main = asyncio.create_task(self._run(), name="highlight-scheduler")

    async def stop(self) -> None:
        """Stop posting (call from a cog's `cog_unload`); a post cut off mid-send is settled on next start."""
        main, self._main = self._main, None
        tasks = [*self._tasks, *([main] if main else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._schedules.clear()
        self._heap.clear()
        self._busy.clear()
        self._changed.clear()

    def notify_changed(self, schedule_id: int) -> None:
        """Re-read one schedule (added, edited, resumed, paused or deleted) before the next sleep."""
        self._changed.add(schedule_id)
        self._wake.set()

    def reschedule(self) -> None:
        """Re-read every schedule before the next sleep."""
        self._reload = True
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except Exception:
                log.exception("scheduler: could not read the schedules; trying again in %s", self._config.backoff)
                self._reload = True
                await self._clock.sleep_until(self._clock.now() + self._config.backoff)

    async def _step(self) -> None:
        self._wake.clear()
        await self._refresh()
        schedule = self._pop_due(self._clock.now())
        if schedule is None:
            await self._idle(self._heap[0][0] if self._heap else None)
            return
        await self._workers.acquire()
        task = asyncio.create_task(self._handle(schedule), name=f"highlight-schedule-{schedule.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self) -> None:
        if self._reload:
            self._reload = False
            self._changed &= self._busy
            loaded = await self._store.list_enabled()
            self._schedules = {s.id: s for s in loaded if s.id not in self._busy}
            self._heap = [(s.due, s.id) for s in self._schedules.values()]
            heapq.heapify(self._heap)
        for schedule_id in self._changed - self._busy:
            schedule = await self._store.get(schedule_id)
            self._changed.discard(schedule_id)
            if schedule is None:
                self._schedules.pop(schedule_id, None)
            else:
                self._put(schedule)

    def _put(self, schedule: Schedule) -> None:
        self._schedules[schedule.id] = schedule
        heapq.heappush(self._heap, (schedule.due, schedule.id))
        if len(self._heap) > 2 * len(self._schedules) + 64:  # drop superseded entries
            self._heap = [(s.due, s.id) for s in self._schedules.values()]
            heapq.heapify(self._heap)

    def _pop_due(self, now: datetime) -> Schedule | None:
        while self._heap and self._heap[0][0] <= now:
            due, schedule_id = heapq.heappop(self._heap)
            schedule = self._schedules.get(schedule_id)
            if schedule is not None and schedule.due == due:
                del self._schedules[schedule_id]
                self._busy.add(schedule_id)
                return schedule
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

    async def _handle(self, schedule: Schedule) -> None:
        try:
            following = await self._process(schedule)
        except Exception:
            log.exception("schedule %s: could not be handled; trying again in %s", schedule.id, self._config.backoff)
            self._put(replace(schedule, retry_at=self._clock.now() + self._config.backoff))
        else:
            if following is not None and schedule.id not in self._changed:
                self._put(following)  # what the store now holds; no need to read it back
            else:
                self._changed.add(schedule.id)
        finally:
            self._busy.discard(schedule.id)
            self._workers.release()
            self._wake.set()

    async def _process(self, schedule: Schedule) -> Schedule | None:
        """Post the schedule's due slot (or skip it); the schedule as it now stands when that is known."""
        slot, now = schedule.next_slot, self._clock.now()
        if now - slot.due > self._config.grace:
            log.warning(
                "schedule %s: slot %s was due at %s, more than %s ago; skipped",
                schedule.id,
                slot.key,
                slot.due.isoformat(),
                self._config.grace,
            )
            skipped = (
                f"the post due at {slot.due:%Y-%m-%d %H:%M} UTC was skipped: it was more than"
                f" {_span(self._config.grace)} late (the bot was not running)"
            )
            await self._store.advance(schedule.id, next_slot(schedule.rule, now), skipped=skipped)
            return None
        attempt = schedule.attempt
        if attempt is not None and not self._may_resend(attempt):
            await self._give_up(schedule, attempt)
            return None
        fresh = attempt is None
        try:
            if attempt is None:
                attempt = await self._claim(schedule)
                if attempt is None:
                    return None
            result = await self._send(schedule, attempt, fresh=fresh)
        except TalkGone as gone:
            if attempt is None or not fresh:  # an earlier send of this slot may be out: never a second talk
                if attempt is not None:
                    await self._give_up(schedule, attempt)
                return None
            log.info("schedule %s: %s", schedule.id, gone.reason)
            await self._store.mark_failed(schedule.id, gone.reason, self._clock.now(), release=attempt)
            return None
        except PostFailure as failure:
            await self._failed(schedule, failure, attempt if fresh and failure.certain else None)
            return None
        if result is None:
            await self._give_up(schedule, attempt)
            return None
        following = next_slot(schedule.rule, self._clock.now())
        await self._store.mark_sent(attempt, result.message_id, following)
        log.debug("schedule %s: posted %s for slot %s", schedule.id, attempt.talk, slot.key)
        return replace(schedule, next_slot=following, failures=0, retry_at=None, attempt=None)

    async def _claim(self, schedule: Schedule) -> Attempt | None:
        state = await self._store.rotation(schedule.id)
        pick = next_talk(state.pool, state.posted, state.round, schedule.id, state.last)
        if pick is None:
            raise PostFailure("there are no talks to post")
        attempt = await self._store.claim(schedule.id, schedule.next_slot, pick, self._clock.now())
        if attempt is None:
            log.info("schedule %s: slot %s is already taken; moving on", schedule.id, schedule.next_slot.key)
            await self._store.advance(schedule.id, next_slot(schedule.rule, self._clock.now()))
        return attempt

    async def _send(self, schedule: Schedule, attempt: Attempt, *, fresh: bool) -> PostResult | None:
        """Post, waiting out 429s; None when the attempt may be out already and a resend is no longer safe."""
        while True:
            # Granted right before the request, not before the database work that precedes it: a grant
            # taken earlier reaches Discord after a varying delay, and posts granted a second apart can
            # then arrive together and break the global limit (measured: 85 in one second at a 50/s limit).
            try:
                async with self._limiter.request():
                    return await self._poster.post(schedule, attempt.talk, attempt.nonce)
            except RateLimited as limited:
                until = self._clock.now() + timedelta(seconds=limited.retry_after)
                if limited.is_global:
                    self._limiter.hold_until(until)
                if until - schedule.next_slot.due > self._config.grace:
                    raise
                await self._clock.sleep_until(until)
                if not fresh and not self._may_resend(attempt):
                    return None
            except PostFailure:
                raise
            except Exception as error:
                log.exception("schedule %s: the poster failed unexpectedly", schedule.id)
                raise UnknownOutcome(f"unexpected error ({type(error).__name__})") from error

    def _may_resend(self, attempt: Attempt) -> bool:
        return self._clock.now() - attempt.claimed_at < self._config.nonce_window

    async def _give_up(self, schedule: Schedule, attempt: Attempt) -> None:
        log.warning(
            "schedule %s: slot %s may or may not have been posted (send began at %s, outcome unknown); "
            "not sending again, to avoid a double post",
            schedule.id,
            attempt.slot_key,
            attempt.claimed_at.isoformat(),
        )
        skipped = (
            f"the post due at {schedule.next_slot.due:%Y-%m-%d %H:%M} UTC may not have gone out (the bot stopped"
            " while sending it); it was not sent again, to avoid a double post"
        )
        await self._store.advance(schedule.id, next_slot(schedule.rule, self._clock.now()), skipped=skipped)

    async def _failed(self, schedule: Schedule, failure: PostFailure, release: Attempt | None) -> None:
        failures = schedule.failures + 1
        if failures >= self._config.max_failures:
            log.warning("schedule %s: paused after %d failures in a row: %s", schedule.id, failures, failure.reason)
            await self._store.pause(schedule.id, failure.reason, release=release)
            return
        retry_at = self._clock.now() + self._config.retry_delay(failures)
        log.warning("schedule %s: post failed (%s); retrying at %s", schedule.id, failure.reason, retry_at.isoformat())
        await self._store.mark_failed(schedule.id, failure.reason, retry_at, release=release)
