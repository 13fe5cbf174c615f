"""Members' reminders through the real engine, on a real SQLite database and a fake clock.

The sender is this test's own stand-in for a platform's direct messages (it deduplicates nonces as Discord
does); the Discord and Slack adapters are tested against their emulators in tests/e2e and tests/slack.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.catalogue.formats.options import ImportOptions
from bot.db.gateway import Database
from bot.errors import TalkNotFound
from bot.highlights.memory import InMemoryScheduleStore
from bot.highlights.ports import PostResult, TransientError, UnknownOutcome
from bot.highlights.scheduler import Scheduler, SchedulerConfig
from bot.watchlist.reminders import (
    DirectMessagesClosed,
    Reminder,
    ReminderJobs,
    RemindersService,
    ReminderStore,
    TooManyReminders,
)
from bot.watchlist.service import WatchlistService
from bot.watchlist.store import WatchlistStore
from bot.watchlist.when import NeedsTimezone, WhenError
from tests.db.test_schedules import SettlingClock, Tracked

NOW = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
ALICE, BOB = "discord:1001", "discord:1002"
RUST = "why-the-future-of-the-cloud-will-be-built-on-rust"
NONCE_MEMORY = timedelta(minutes=5)

LIVE_PROGRAMME = b"""
[[events]]
id = "meshcon-2026"
name = "MeshCon 2026"
start_date = 2026-12-05
end_date = 2026-12-05

[[talks]]
id = "service-mesh-at-dawn"
title = "Service Mesh at Dawn"
event = "meshcon-2026"
date = 2026-12-05T10:00:00+01:00
speakers = [{ name = "Ada Lovelace" }]
"""


@dataclass
class Sent:
    id: int
    address: str
    title: str
    nonce: str
    at: datetime


class FakeDirectMessages:
    """Direct messages as a platform answers them: a repeated nonce returns the message already made."""

    def __init__(self, clock: SettlingClock) -> None:
        self.clock = clock
        self.sent: list[Sent] = []
        self.closed: set[str] = set()
        self.fail_once: list[Exception] = []
        self.lose_reply_once = False

    async def remind(self, reminder: Reminder, nonce: str) -> PostResult:
        now = self.clock.now()
        if reminder.address in self.closed:
            raise DirectMessagesClosed
        if self.fail_once:
            raise self.fail_once.pop(0)
        for message in self.sent:
            if message.nonce == nonce and now - message.at < NONCE_MEMORY:
                return PostResult(message.id)
        message = Sent(len(self.sent) + 1, reminder.address, reminder.title, nonce, now)
        self.sent.append(message)
        if self.lose_reply_once:
            self.lose_reply_once = False
            raise UnknownOutcome("the answer was lost")
        return PostResult(message.id)


@pytest.fixture
def clock() -> SettlingClock:
    return SettlingClock(NOW)


@pytest.fixture
def dms(clock) -> FakeDirectMessages:
    return FakeDirectMessages(clock)


@pytest.fixture
def reminders(catalogue, db, clock) -> RemindersService:
    return RemindersService(catalogue, ReminderStore(db), WatchlistStore(db), clock)


class Running:
    """An engine with the reminders of one database; `restart` is a new process over the same file."""

    def __init__(self, db: Database, dms: FakeDirectMessages, clock: SettlingClock, service: RemindersService) -> None:
        self.db, self.dms, self.clock, self.service = db, dms, clock, service
        self.engine: Scheduler | None = None

    async def start(self) -> None:
        self.engine = Scheduler(InMemoryScheduleStore(), _Idle(), self.clock, SchedulerConfig())
        store = Tracked(ReminderStore(self.db, "discord"), self.clock)
        self.service.on_change = self.engine.add(ReminderJobs(store, self.dms, self.engine.runtime))
        await self.engine.start()
        await self.clock.advance(timedelta(0))

    async def stop(self) -> None:
        assert self.engine is not None
        await self.engine.stop()


class _Idle:
    async def post(self, schedule, talk, nonce):  # no schedules in these tests
        raise AssertionError("no highlight should be posted")


@pytest.fixture
async def running(db, dms, clock, reminders):
    engine = Running(db, dms, clock, reminders)
    await engine.start()
    yield engine
    await engine.stop()


async def test_a_reminder_is_sent_once_at_its_time(running, reminders, dms, clock):
    reminder, zone = await reminders.remind(ALICE, "discord", "1001", RUST, "in 2 hours")
    assert zone == "UTC" and reminder.due_at == NOW + timedelta(hours=2)
    await clock.advance(timedelta(hours=1, minutes=59))
    assert dms.sent == []
    await clock.advance(timedelta(minutes=2))
    assert [(m.address, m.at) for m in dms.sent] == [("1001", NOW + timedelta(hours=2))]
    await clock.advance(timedelta(days=1))
    assert len(dms.sent) == 1
    assert await reminders.waiting(ALICE) == []


async def test_a_restart_between_setting_and_its_time_delivers_it_once(running, reminders, dms, clock):
    await reminders.remind(ALICE, "discord", "1001", RUST, "in 30 minutes")
    await running.stop()
    await clock.advance(timedelta(minutes=10))
    await running.start()
    await clock.advance(timedelta(minutes=30))
    assert len(dms.sent) == 1
    await running.stop()
    await running.start()
    await clock.advance(timedelta(hours=3))
    assert len(dms.sent) == 1


async def test_a_reminder_due_while_the_bot_was_down_is_sent_late_within_the_grace(running, reminders, dms, clock):
    await reminders.remind(ALICE, "discord", "1001", RUST, "in 30 minutes")
    await running.stop()
    await clock.advance(timedelta(minutes=50))
    await running.start()
    assert [m.at for m in dms.sent] == [NOW + timedelta(minutes=50)]
    assert await reminders.notices(ALICE) == []


async def test_a_reminder_missed_beyond_the_grace_is_told_to_the_member_once(running, reminders, dms, clock):
    await reminders.remind(ALICE, "discord", "1001", RUST, "in 30 minutes")
    await running.stop()
    await clock.advance(timedelta(hours=3))
    await running.start()
    assert dms.sent == []
    notices = await reminders.notices(ALICE)
    assert len(notices) == 1 and notices[0].state == "missed"
    assert "was missed" in notices[0].text() and "not running" in notices[0].text()
    assert await reminders.notices(ALICE) == []  # told once
    assert await reminders.notices(BOB) == []


async def test_closed_direct_messages_fail_once_and_are_told_not_retried(running, reminders, dms, clock):
    dms.closed.add("1001")
    await reminders.remind(ALICE, "discord", "1001", RUST, "in 10 minutes")
    await clock.advance(timedelta(hours=5))
    assert dms.sent == []
    notices = await reminders.notices(ALICE)
    assert [n.state for n in notices] == ["failed"]
    assert "direct messages are closed" in notices[0].text()


async def test_a_transient_failure_is_retried_and_sent_once(running, reminders, dms, clock):
    dms.fail_once = [TransientError("Discord answered 503")]
    await reminders.remind(ALICE, "discord", "1001", RUST, "in 10 minutes")
    await clock.advance(timedelta(minutes=12))
    assert len(dms.sent) == 1 and dms.sent[0].at == NOW + timedelta(minutes=11)


async def test_a_lost_answer_is_settled_by_the_nonce_not_sent_twice(running, reminders, dms, clock):
    dms.lose_reply_once = True
    await reminders.remind(ALICE, "discord", "1001", RUST, "in 10 minutes")
    await clock.advance(timedelta(minutes=20))
    assert len(dms.sent) == 1
    assert await reminders.waiting(ALICE) == []
    assert await reminders.notices(ALICE) == []


async def test_a_send_cut_off_by_a_stop_is_not_resent_after_the_nonce_window(db, running, reminders, dms, clock):
    reminder, _ = await reminders.remind(ALICE, "discord", "1001", RUST, "in 10 minutes")
    await running.stop()
    store = ReminderStore(db, "discord")
    assert await store.claim(reminder, clock.now()) is not None  # a send began, then the process died
    await clock.advance(timedelta(minutes=15))
    await running.start()
    await clock.advance(timedelta(minutes=1))
    assert dms.sent == []  # never risk a second message
    assert [n.state for n in await reminders.notices(ALICE)] == ["missed"]


async def test_ten_thousand_reminders_in_one_minute_keep_the_global_limit(db, running, reminders, dms, clock):
    store = ReminderStore(db, "discord")
    due = NOW + timedelta(minutes=5)
    base = Reminder(0, "", "discord", "", RUST, "Rust", "Rust Day", None, None, due, False, "pending")
    for number in range(2_000):
        member = f"discord:{number}"
        await store.add(Reminder(**{**_fields(base), "member": member, "address": str(number)}), NOW)
    running.engine.reload()
    await clock.advance(timedelta(minutes=6))
    assert len(dms.sent) == 2_000
    assert len({m.address for m in dms.sent}) == 2_000
    per_second: dict[int, int] = {}
    for message in dms.sent:
        second = int((message.at - due).total_seconds())
        per_second[second] = per_second.get(second, 0) + 1
    assert max(per_second.values()) <= 50


class OpeningDirectMessages(FakeDirectMessages):
    """Direct messages that are opened first, with a request of their own, as Discord's are."""

    def __init__(self, clock: SettlingClock) -> None:
        super().__init__(clock)
        self.opened: set[str] = set()
        self.requests: list[datetime] = []  # each request's time: opening or sending

    def is_open(self, reminder: Reminder) -> bool:
        return reminder.address in self.opened

    async def open(self, reminder: Reminder) -> str:
        self.requests.append(self.clock.now())
        self.opened.add(reminder.address)
        return reminder.address

    async def remind(self, reminder: Reminder, nonce: str) -> PostResult:
        if not self.is_open(reminder):
            await self.open(reminder)
        self.requests.append(self.clock.now())
        return await super().remind(reminder, nonce)


async def test_opening_a_members_direct_messages_counts_against_the_global_limit(db, reminders, clock):
    opening = OpeningDirectMessages(clock)
    running = Running(db, opening, clock, reminders)
    await running.start()
    store = ReminderStore(db, "discord")
    due = NOW + timedelta(minutes=5)
    base = Reminder(0, "", "discord", "", RUST, "Rust", "Rust Day", None, None, due, False, "pending")
    for number in range(500):
        await store.add(Reminder(**{**_fields(base), "member": f"discord:{number}", "address": str(number)}), NOW)
    running.engine.reload()
    await clock.advance(timedelta(minutes=6))
    await running.stop()
    assert len({m.address for m in opening.sent}) == len(opening.sent) == 500
    assert len(opening.requests) == 1_000  # each reminder: open, then send
    times = sorted(opening.requests)
    busiest = max(bisect_left(times, at + timedelta(seconds=1)) - n for n, at in enumerate(times))
    assert busiest <= 50  # one grant for both requests made 100 a second


def _fields(reminder: Reminder) -> dict:
    return {name: getattr(reminder, name) for name in Reminder.__slots__}


async def test_cancelling_is_for_the_owner_only(running, reminders, dms, clock):
    reminder, _ = await reminders.remind(ALICE, "discord", "1001", RUST, "in 1 hour")
    assert await reminders.cancel(BOB, reminder.id) is None
    assert [r.id for r in await reminders.waiting(ALICE)] == [reminder.id]
    assert await reminders.waiting(BOB) == []
    cancelled = await reminders.cancel(ALICE, reminder.id)
    assert cancelled is not None and cancelled.id == reminder.id
    await clock.advance(timedelta(hours=2))
    assert dms.sent == []


async def test_wall_clock_times_ask_for_a_zone_once_and_remember_it(running, reminders, db):
    with pytest.raises(NeedsTimezone):
        await reminders.remind(ALICE, "discord", "1001", RUST, "tomorrow 18:00")
    reminder, zone = await reminders.remind(ALICE, "discord", "1001", RUST, "tomorrow 18:00", timezone="berlin")
    assert zone == "Europe/Berlin"
    assert reminder.due_at == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    again, zone = await reminders.remind(ALICE, "discord", "1001", RUST, "saturday 10:00")
    assert zone == "Europe/Berlin" and again.due_at == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    watchlist = WatchlistService(reminders.catalogue, WatchlistStore(db))
    assert await watchlist.timezone(ALICE) == "Europe/Berlin"


async def test_a_platforms_own_zone_is_used_and_remembered_when_the_member_set_none(running, reminders):
    _, zone = await reminders.remind(ALICE, "slack", "T1:U1", RUST, "18:00", fallback_zone="America/New_York")
    assert zone == "America/New_York"
    _, zone = await reminders.remind(ALICE, "slack", "T1:U1", RUST, "19:00")
    assert zone == "America/New_York"


async def test_before_reminds_ten_minutes_before_a_talk_with_a_start_time(running, reminders, catalogue, dms, clock):
    await catalogue.import_data(LIVE_PROGRAMME, "meshcon.toml", ImportOptions())
    reminder, _ = await reminders.remind(ALICE, "discord", "1001", "service mesh at dawn", "before")
    assert reminder.before_start
    assert reminder.starts_at == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert reminder.due_at == datetime(2026, 12, 5, 8, 50, tzinfo=UTC)
    with pytest.raises(WhenError, match="no start time"):
        await reminders.remind(ALICE, "discord", "1001", RUST, "before")


async def test_unknown_talks_and_too_many_reminders_are_refused(running, reminders):
    with pytest.raises(TalkNotFound):
        await reminders.remind(ALICE, "discord", "1001", "no-such-talk-anywhere", "in 1 hour")
    reminders.store.add = _limited(reminders.store.add)
    for _ in range(3):
        await reminders.remind(ALICE, "discord", "1001", RUST, "in 1 hour")
    with pytest.raises(TooManyReminders):
        await reminders.remind(ALICE, "discord", "1001", RUST, "in 1 hour")


def _limited(add):
    async def limited(reminder, at, *, limit=3):
        return await add(reminder, at, limit=limit)

    return limited


async def test_forgetting_a_member_deletes_their_reminders(running, reminders, db, catalogue, dms, clock):
    await reminders.remind(ALICE, "discord", "1001", RUST, "in 1 hour")
    await reminders.remind(BOB, "discord", "1002", RUST, "in 1 hour")
    forgotten = await WatchlistService(catalogue, WatchlistStore(db)).forget(ALICE)
    assert forgotten.reminders == 1 and "1 reminder" in forgotten.parts()
    await asyncio.sleep(0)
    running.engine.reload()
    await clock.advance(timedelta(hours=2))
    assert [m.address for m in dms.sent] == ["1002"]
