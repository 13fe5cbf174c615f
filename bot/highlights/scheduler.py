"""Highlight schedules as a kind of job for the engine, and `Scheduler`, the engine that runs them.

Other kinds (members' reminders) are added to the same `Scheduler`, so they share its workers and its rate
limit (`bot.highlights.engine`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot.highlights.engine import Engine, Runtime, SchedulerConfig
from bot.highlights.ports import (
    Attempt,
    Clock,
    Poster,
    PostFailure,
    PostResult,
    Schedule,
    ScheduleStore,
    TalkGone,
)
from bot.highlights.rules import next_slot

__all__ = ["HighlightJobs", "Scheduler", "SchedulerConfig"]

log = logging.getLogger(__name__)


def _span(delta: timedelta) -> str:
    """'1 hour', '90 minutes', '2 hours' for a grace period."""
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0 and minutes:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class Scheduler(Engine):
    """The engine with the highlight schedules of `store` as its first kind.

    bot.highlights.ports explains the guarantees. A failing schedule backs off and is paused after
    `max_failures`.
    """

    def __init__(
        self, store: ScheduleStore, poster: Poster, clock: Clock, config: SchedulerConfig | None = None
    ) -> None:
        super().__init__(clock, config, name="highlight-scheduler")
        self.highlights = HighlightJobs(store, poster, self.runtime)
        self.notify_changed = self.add(self.highlights)
        """Re-read one schedule (added, edited, resumed, paused or deleted) before the next sleep."""

    def reschedule(self) -> None:
        """Re-read every schedule before the next sleep."""
        self.reload()


class HighlightJobs:
    """The highlight schedules: each due slot claimed, posted and marked sent (see bot.highlights.ports)."""

    name = "schedule"

    def __init__(self, store: ScheduleStore, poster: Poster, runtime: Runtime) -> None:
        self._store = store
        self._poster = poster
        self._runtime = runtime
        self._clock = runtime.clock
        self._config = runtime.config

    async def load(self) -> list[Schedule]:
        """Every enabled schedule."""
        return await self._store.list_enabled()

    async def get(self, job_id: int) -> Schedule | None:
        """One enabled schedule."""
        return await self._store.get(job_id)

    def later(self, job: Schedule, at: datetime) -> Schedule:
        """The schedule, retried at `at`."""
        return replace(job, retry_at=at)

    async def run(self, job: Schedule) -> Schedule | None:
        """Post the schedule's due slot, or skip it."""
        return await self._process(job)

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
        pick = state.pick(schedule.id)
        if pick is None:
            raise PostFailure("there are no talks to post")
        attempt = await self._store.claim(schedule.id, schedule.next_slot, pick, self._clock.now())
        if attempt is None:
            log.info("schedule %s: slot %s is already taken; moving on", schedule.id, schedule.next_slot.key)
            await self._store.advance(schedule.id, next_slot(schedule.rule, self._clock.now()))
        return attempt

    async def _send(self, schedule: Schedule, attempt: Attempt, *, fresh: bool) -> PostResult | None:
        """Post, waiting out 429s; None when the attempt may be out already and a resend is no longer safe."""
        return await self._runtime.send(
            lambda: self._poster.post(schedule, attempt.talk, attempt.nonce),
            deadline=schedule.next_slot.due + self._config.grace,
            still_safe=None if fresh else lambda: self._may_resend(attempt),
        )

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
