"""A fake Discord that dedupes nonces like the real one, and helpers to build schedules on a fake clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.highlights.clock import FakeClock
from bot.highlights.memory import InMemoryScheduleStore
from bot.highlights.ports import PostResult, Schedule, UnknownOutcome
from bot.highlights.rules import ScheduleRule, next_slot
from bot.highlights.scheduler import Scheduler, SchedulerConfig

START = datetime(2025, 1, 6, 8, tzinfo=UTC)  # a Monday, an hour before the usual 09:00
NONCE_MEMORY = timedelta(minutes=5)


@dataclass(frozen=True)
class Message:
    id: int
    channel_id: int
    talk: str
    nonce: str
    at: datetime


class FakeDiscord:
    """A Poster acting like Discord's create-message with `enforce_nonce`.

    `fail[channel]` is raised on every post there; `fail_once[channel]` lists exceptions raised one per post.
    For a channel in `lose_reply`, the next message is made but the reply lost (UnknownOutcome); for one in
    `crash_after_send`, the message is made and then the call never returns.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.messages: list[Message] = []
        self.calls: list[tuple[datetime, int]] = []  # (when, schedule id), including failed ones
        self.fail: dict[int, Exception] = {}
        self.fail_once: dict[int, list[Exception]] = {}
        self.lose_reply: set[int] = set()
        self.crash_after_send: set[int] = set()

    async def post(self, schedule: Schedule, talk: str, nonce: str) -> PostResult:
        now = self.clock.now()
        self.calls.append((now, schedule.id))
        if schedule.channel_id in self.fail:
            raise self.fail[schedule.channel_id]
        if self.fail_once.get(schedule.channel_id):
            raise self.fail_once[schedule.channel_id].pop(0)
        for message in self.messages:
            if message.nonce == nonce and now - message.at < NONCE_MEMORY:
                return PostResult(message.id)
        message = Message(len(self.messages) + 1, schedule.channel_id, talk, nonce, now)
        self.messages.append(message)
        if schedule.channel_id in self.lose_reply:
            self.lose_reply.discard(schedule.channel_id)
            raise UnknownOutcome("timed out waiting for Discord")
        if schedule.channel_id in self.crash_after_send:
            await asyncio.Event().wait()
        return PostResult(message.id)

    def posted(self, channel_id: int) -> list[Message]:
        return [m for m in self.messages if m.channel_id == channel_id]


def make_schedule(
    schedule_id: int,
    at: time = time(9),
    zone: str = "UTC",
    *,
    now: datetime = START,
    cadence: str = "daily",
    weekday: int | None = None,
) -> Schedule:
    rule = ScheduleRule(at, ZoneInfo(zone), cadence, weekday)  # type: ignore[arg-type]
    return Schedule(schedule_id, guild_id=1, channel_id=schedule_id, rule=rule, next_slot=next_slot(rule, now))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store() -> InMemoryScheduleStore:
    return InMemoryScheduleStore(f"talk-{i}" for i in range(10))


@pytest.fixture
def discord(clock: FakeClock) -> FakeDiscord:
    return FakeDiscord(clock)


@pytest.fixture
def config() -> SchedulerConfig:
    return SchedulerConfig()


@pytest.fixture
async def scheduler(store, discord, clock, config):
    """A scheduler over the fakes; started by the test, stopped afterwards."""
    scheduler = Scheduler(store, discord, clock, config)
    yield scheduler
    await scheduler.stop()
