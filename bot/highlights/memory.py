"""A ScheduleStore kept in memory, with the same guarantees a database gives, for tests and the sandbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.highlights.ports import Attempt, RotationState, Schedule
from bot.highlights.rotation import Pick
from bot.highlights.rules import Slot

AttemptState = Literal["sending", "sent", "failed"]


@dataclass(slots=True)
class _Row:
    attempt: Attempt
    state: AttemptState
    message_id: int | None = None


@dataclass(slots=True)
class _Rotation:
    round: int = 0
    posted: set[str] = field(default_factory=set)
    last: str | None = None


class InMemoryScheduleStore:
    """Schedules, attempts and rotations in dictionaries; every schedule draws from one shared pool."""

    def __init__(self, pool: Iterable[str] = ()) -> None:
        self.pool: list[str] = list(pool)  # catalogue order; tests may add talks
        self.schedules: dict[int, Schedule] = {}
        self.paused: dict[int, str] = {}  # schedule id -> reason
        self.reasons: dict[int, str] = {}  # schedule id -> last failure's reason
        self._rows: dict[tuple[int, str], _Row] = {}
        self._rotations: dict[int, _Rotation] = {}

    def add(self, schedule: Schedule) -> None:
        """Add or replace a schedule (what the commands' service will do in the database)."""
        self.schedules[schedule.id] = schedule
        self.paused.pop(schedule.id, None)

    def state(self, schedule_id: int, slot_key: str) -> AttemptState | None:
        """The state of a slot's attempt, if there is one."""
        row = self._rows.get((schedule_id, slot_key))
        return None if row is None else row.state

    async def list_enabled(self) -> list[Schedule]:
        """Every schedule that is not paused."""
        return [self._view(s) for s in self.schedules.values() if s.id not in self.paused]

    async def get(self, schedule_id: int) -> Schedule | None:
        """One schedule, or None if it is gone or paused."""
        schedule = self.schedules.get(schedule_id)
        return None if schedule is None or schedule_id in self.paused else self._view(schedule)

    async def rotation(self, schedule_id: int) -> RotationState:
        """The shared pool and this schedule's round."""
        rotation = self._rotations.get(schedule_id, _Rotation())
        return RotationState(tuple(self.pool), frozenset(rotation.posted), rotation.round, rotation.last)

    async def claim(self, schedule_id: int, slot: Slot, pick: Pick, at: datetime) -> Attempt | None:
        """Record a sending attempt unless the slot is already sending or sent."""
        row = self._rows.get((schedule_id, slot.key))
        if row is not None and row.state != "failed":
            return None
        attempt = Attempt(schedule_id, slot.key, pick.talk, pick.round, at)
        self._rows[schedule_id, slot.key] = _Row(attempt, "sending")
        return attempt

    async def mark_sent(self, attempt: Attempt, message_id: int | None, next_slot: Slot) -> None:
        """Record the post, count its talk in its round and move the schedule on."""
        self._rows[attempt.schedule_id, attempt.slot_key] = _Row(attempt, "sent", message_id)
        rotation = self._rotations.setdefault(attempt.schedule_id, _Rotation())
        if attempt.round > rotation.round:
            rotation.round, rotation.posted = attempt.round, set()
        rotation.posted.add(attempt.talk)
        rotation.last = attempt.talk
        if (schedule := self.schedules.get(attempt.schedule_id)) is not None:
            self.schedules[schedule.id] = replace(schedule, next_slot=next_slot, failures=0, retry_at=None)

    async def mark_failed(
        self, schedule_id: int, reason: str, retry_at: datetime, *, release: Attempt | None = None
    ) -> None:
        """Count a failure and set the retry time; a released attempt may be claimed again."""
        self._release(release)
        self.reasons[schedule_id] = reason
        if (schedule := self.schedules.get(schedule_id)) is not None:
            self.schedules[schedule_id] = replace(schedule, failures=schedule.failures + 1, retry_at=retry_at)

    async def pause(self, schedule_id: int, reason: str, *, release: Attempt | None = None) -> None:
        """Pause the schedule with its reason."""
        self._release(release)
        self.reasons[schedule_id] = reason
        self.paused[schedule_id] = reason

    async def advance(self, schedule_id: int, next_slot: Slot, *, skipped: str | None = None) -> None:
        """Move past the current slot without posting it."""
        if (schedule := self.schedules.get(schedule_id)) is not None:
            self.schedules[schedule_id] = replace(schedule, next_slot=next_slot, retry_at=None)
            if skipped is not None:
                self.reasons[schedule_id] = skipped

    def _view(self, schedule: Schedule) -> Schedule:
        row = self._rows.get((schedule.id, schedule.next_slot.key))
        return replace(schedule, attempt=row.attempt if row is not None and row.state == "sending" else None)

    def _release(self, attempt: Attempt | None) -> None:
        row = None if attempt is None else self._rows.get((attempt.schedule_id, attempt.slot_key))
        if row is not None and row.state == "sending":
            row.state = "failed"
