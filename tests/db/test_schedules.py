"""The SQLite schedule store: the scheduler engine run against a real database, and the store's guarantees."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.db.connection import sync_db
from bot.db.gateway import Database
from bot.db.migrations import current_version, latest_version
from bot.highlights import store as schedules_module
from bot.highlights.clock import FakeClock
from bot.highlights.ports import MissingPermissions, RotationState, TransientError
from bot.highlights.rotation import Pick, next_talk
from bot.highlights.rules import ScheduleRule, Slot, next_slot
from bot.highlights.scheduler import Scheduler
from bot.highlights.service import HighlightService
from bot.highlights.store import CataloguePool, ScheduleRepository, SqliteScheduleStore, to_db_instant
from tests.scheduling.conftest import START, FakeDiscord
from tests.sql import sql

NINE = START.replace(hour=9)
DAY = timedelta(days=1)
BUNDLED_TALKS = 11


class SettlingClock(FakeClock):
    """A FakeClock that, before time moves, also waits for the store's work in the database thread.

    FakeClock settles when no task is ready to run, but a task awaiting the database is not ready until the
    database's thread answers; without this, time would move on while a post is half recorded. `busy` counts
    the calls of stores wrapped in `Tracked`; `Database.in_flight`, every call through a gateway (on
    PostgreSQL even the small reads go to a thread).
    """

    busy = 0

    async def settle(self) -> None:
        while True:
            await super().settle()
            if not self.busy and not Database.in_flight:
                return
            await asyncio.sleep(0.001)  # real time, for the database thread


class Tracked:
    """A store whose calls in flight the clock waits for."""

    def __init__(self, store, clock: SettlingClock) -> None:
        self.store, self.clock = store, clock

    def __getattr__(self, name):
        method = getattr(self.store, name)

        async def call(*args, **kwargs):
            self.clock.busy += 1
            try:
                return await method(*args, **kwargs)
            finally:
                self.clock.busy -= 1

        return call


def make_rule(at: time = time(9), zone: str = "UTC", cadence: str = "daily", weekday: int | None = None):
    return ScheduleRule(at, ZoneInfo(zone), cadence, weekday)  # type: ignore[arg-type]


async def add(repo: ScheduleRepository, channel_id: int, *, now=START, guild_id=1, **filters) -> int:
    rule = make_rule()
    record = await repo.add(guild_id, channel_id, rule, next_slot(rule, now), created_by=7, now=now, **filters)
    return record.id


async def state(db: Database, schedule_id: int, slot_key: str) -> str | None:
    rows = await sql(
        db, "SELECT state FROM schedule_attempts WHERE schedule_id = ? AND slot_key = ?", (schedule_id, slot_key)
    )
    return rows[0][0] if rows else None


@pytest.fixture
def clock() -> SettlingClock:
    return SettlingClock(START)


@pytest.fixture
def repo(db) -> ScheduleRepository:
    return ScheduleRepository(db)


@contextlib.asynccontextmanager
async def restarted_store(path: Path, clock):
    """A store on a gateway of its own, as a restarted (or a second) process has."""
    db = await Database.open(path)
    try:
        yield SqliteScheduleStore(db, clock=clock)
    finally:
        await db.close()


@pytest.fixture
async def store(bundled_db, clock):
    """The scheduler's store, on a gateway of its own to the same database as the repository."""
    async with restarted_store(bundled_db, clock) as store:
        yield store


class NonceDiscord(FakeDiscord):
    """FakeDiscord that also remembers the nonce of every call."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.nonces: list[str] = []

    async def post(self, schedule, talk, nonce):
        self.nonces.append(nonce)
        return await super().post(schedule, talk, nonce)


@pytest.fixture
def discord(clock) -> NonceDiscord:
    return NonceDiscord(clock)


@pytest.fixture
async def scheduler(store, discord, clock):
    scheduler = Scheduler(Tracked(store, clock), discord, clock)
    yield scheduler
    await scheduler.stop()


async def start(scheduler: Scheduler, clock: FakeClock) -> None:
    await scheduler.start()
    await clock.settle()


# --- schema --------------------------------------------------------------------------------------


def test_migrating_from_zero_reaches_the_schedule_tables(tmp_path: Path) -> None:
    with sync_db(tmp_path / "new.sqlite3") as db:
        assert current_version(db) == latest_version() >= 3
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"schedules", "schedule_attempts", "adhoc_picks"} <= tables
        with pytest.raises(sqlite3.IntegrityError):  # an attempt needs its schedule
            db.execute(
                "INSERT INTO schedule_attempts (schedule_id, slot_key, talk, round, state, claimed_at)"
                " VALUES (99, 'k', 't', 0, 'sending', 'x')"
            )


async def test_schedule_ids_are_never_reused_and_removal_takes_the_attempts(repo, store, db):
    first = await add(repo, 1)
    await store.claim(first, next_slot(make_rule(), START), Pick("a", 0), START)
    assert await repo.remove(1, first)
    second = await add(repo, 1)
    assert second == first + 1
    assert await sql(db, "SELECT COUNT(*) FROM schedule_attempts") == [(0,)]


async def test_instants_are_stored_in_utc_with_a_fixed_width(repo, db):
    await add(repo, 1, now=START.astimezone(ZoneInfo("Asia/Tokyo")))
    [(due, created)] = await sql(db, "SELECT next_due, created_at FROM schedules")
    assert (due, created) == ("2025-01-06T09:00:00.000000+00:00", "2025-01-06T08:00:00.000000+00:00")
    with pytest.raises(ValueError, match="aware"):
        to_db_instant(START.replace(tzinfo=None))


# --- the store's guarantees ----------------------------------------------------------------------------


async def test_a_slot_can_be_claimed_once_until_released(repo, store, db):
    schedule_id = await add(repo, 1)
    slot = (await store.get(schedule_id)).next_slot
    attempt = await store.claim(schedule_id, slot, Pick("a", 0), START)
    assert attempt is not None
    assert await store.claim(schedule_id, slot, Pick("b", 0), START) is None
    assert (await store.get(schedule_id)).attempt == attempt  # left sending: shown, so a restart can settle it

    await store.mark_failed(schedule_id, "boom", START + timedelta(minutes=1), release=attempt)
    assert (await store.get(schedule_id)).attempt is None
    again = await store.claim(schedule_id, slot, Pick("b", 0), START + timedelta(minutes=1))
    assert again is not None
    assert again.nonce == attempt.nonce
    assert again.talk == "b"

    await store.mark_sent(again, 42, next_slot(make_rule(), slot.due))
    assert await store.claim(schedule_id, slot, Pick("a", 0), START) is None
    assert await state(db, schedule_id, slot.key) == "sent"


async def test_of_two_processes_claiming_one_slot_only_one_succeeds(bundled_db, repo):
    schedule_id = await add(repo, 1)
    slot = next_slot(make_rule(), START)
    gateways = [await Database.open(bundled_db), await Database.open(bundled_db)]  # as two processes
    stores = [SqliteScheduleStore(db) for db in gateways]
    try:
        for _ in range(5):
            results = await asyncio.gather(*(s.claim(schedule_id, slot, Pick("a", 0), START) for s in stores * 3))
            assert sum(r is not None for r in results) == 1
            await stores[0].mark_failed(schedule_id, "again", START, release=next(r for r in results if r))
    finally:
        for db in gateways:
            await db.close()


async def test_a_claim_for_a_paused_or_removed_schedule_is_refused(repo, store):
    schedule_id = await add(repo, 1)
    slot = next_slot(make_rule(), START)
    await repo.pause(1, schedule_id, "by hand")
    assert await store.claim(schedule_id, slot, Pick("a", 0), START) is None
    await repo.remove(1, schedule_id)
    assert await store.claim(schedule_id, slot, Pick("a", 0), START) is None


async def test_mark_failed_without_release_keeps_the_attempt_sending(repo, store):
    schedule_id = await add(repo, 1)
    attempt = await store.claim(schedule_id, next_slot(make_rule(), START), Pick("a", 0), START)
    await store.mark_failed(schedule_id, "timed out", START + timedelta(minutes=1))
    schedule = await store.get(schedule_id)
    assert schedule.attempt == attempt
    assert (schedule.failures, schedule.retry_at) == (1, START + timedelta(minutes=1))
    record = await repo.get(1, schedule_id)
    assert (record.last_failure, record.last_failure_at) == ("timed out", START)


async def test_sent_talks_make_up_the_round_and_a_higher_round_starts_afresh(repo, store):
    schedule_id = await add(repo, 1, topic="rust")
    pool = ("why-the-future-of-the-cloud-will-be-built-on-rust", "panel-discussion-rust-in-the-cloud")
    assert await store.rotation(schedule_id) == RotationState(pool, frozenset(), 0, None)
    first = next_slot(make_rule(), START)
    second = next_slot(make_rule(), first.due)
    await store.mark_sent(await store.claim(schedule_id, first, Pick(pool[0], 0), START), 1, second)
    assert await store.rotation(schedule_id) == RotationState(pool, frozenset({pool[0]}), 0, pool[0])
    third = next_slot(make_rule(), second.due)
    await store.mark_sent(await store.claim(schedule_id, second, Pick(pool[1], 1), START), 2, third)
    assert await store.rotation(schedule_id) == RotationState(pool, frozenset({pool[1]}), 1, pool[1])


async def test_the_next_slot_is_stored_as_given(repo, store):
    schedule_id = await add(repo, 1)
    odd = Slot(START.date(), START + timedelta(seconds=1.5), "anything")
    await store.advance(schedule_id, odd)
    assert (await store.get(schedule_id)).next_slot == odd


async def test_paused_and_disabled_schedules_are_neither_listed_nor_got(repo, store):
    ids = [await add(repo, channel, guild_id=channel) for channel in (1, 2, 3)]
    await store.pause(ids[0], "channel gone")
    await repo.disable_guild(2, "the bot left")
    assert [s.id for s in await store.list_enabled()] == [ids[2]]
    assert await store.get(ids[0]) is None
    assert await store.get(ids[1]) is None
    paused = await repo.get(1, ids[0])
    assert (paused.state, paused.paused_reason, paused.failures, paused.last_failure) == (
        "paused",
        "channel gone",
        1,
        "channel gone",
    )


async def test_a_schedule_with_an_unreadable_rule_is_logged_and_the_others_still_listed(repo, store, caplog):
    broken, fine = await add(repo, 1), await add(repo, 2)
    await sql(repo.db, "UPDATE schedules SET zone = 'Mars/Olympus_Mons' WHERE id = ?", (broken,))
    with caplog.at_level(logging.ERROR):
        assert [s.id for s in await store.list_enabled()] == [fine]
    assert f"schedule {broken}: its stored rule cannot be read" in caplog.text


async def test_writes_from_many_tasks_on_one_connection_do_not_collide(repo, store):
    schedule_id = await add(repo, 1)
    retry = START + timedelta(minutes=1)
    await asyncio.gather(*(store.mark_failed(schedule_id, f"failure {i}", retry) for i in range(50)))
    assert (await store.get(schedule_id)).failures == 50


async def test_a_write_whose_caller_is_cancelled_happens_whole_and_the_store_goes_on(repo, store):
    schedule_id = await add(repo, 1)
    task = asyncio.create_task(store.mark_failed(schedule_id, "cut off", START))
    await asyncio.sleep(0)  # the write is now queued for the database thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await store.mark_failed(schedule_id, "next", START)
    record = await repo.get(1, schedule_id)
    assert (record.failures, record.last_failure) == (2, "next")


@pytest.mark.sqlite_only(reason="counts the statements with sqlite3's trace callback")
async def test_ten_thousand_schedules_are_listed_in_one_query(bundled_db, store):
    rule = make_rule()
    slot = next_slot(rule, START)
    with sync_db(bundled_db) as db:
        db.executemany(
            "INSERT INTO schedules (guild_id, channel_id, local_time, zone, cadence, next_day, next_due, next_key,"
            " created_at) VALUES (?, ?, '09:00', ?, 'daily', ?, ?, ?, ?)",
            [
                (i // 5, i, ("UTC", "Europe/Berlin", "America/New_York")[i % 3], slot.day.isoformat(),
                 to_db_instant(slot.due), slot.key, to_db_instant(START))
                for i in range(10_000)
            ],
        )  # fmt: skip
    statements: list[str] = []

    await store.db.scan(lambda conn: conn.set_trace_callback(statements.append))  # the scan path's connection
    schedules = await store.list_enabled()
    await store.db.scan(lambda conn: conn.set_trace_callback(None))
    assert len(schedules) == 10_000
    assert sum(s.startswith("SELECT") for s in statements) == 1


# --- the scheduler on the database ---------------------------------------------------------------------


async def test_posts_each_slot_once_at_its_due_time(scheduler, repo, discord, clock):
    schedule_id = await add(repo, 1)
    await start(scheduler, clock)
    await clock.advance_to(NINE + 2 * DAY)
    assert [m.at for m in discord.messages] == [NINE, NINE + DAY, NINE + 2 * DAY]
    assert len({m.talk for m in discord.messages}) == 3
    record = await repo.get(1, schedule_id)
    assert (record.last_post_at, record.last_message_id, record.last_talk) == (
        NINE + 2 * DAY,
        3,
        discord.messages[-1].talk,
    )
    assert record.next_slot.key == "2025-01-09"


async def test_a_crash_between_send_and_mark_sent_resends_with_the_same_nonce_after_a_restart(
    bundled_db, scheduler, repo, discord, clock
):
    schedule_id = await add(repo, 1)
    discord.crash_after_send.add(1)
    await start(scheduler, clock)
    await clock.advance_to(NINE)
    await scheduler.stop()  # the process dies after Discord made the message, before it was recorded
    discord.crash_after_send.clear()
    assert len(discord.messages) == 1
    assert await state(repo.db, schedule_id, "2025-01-06") == "sending"

    await clock.advance(timedelta(seconds=30))
    # A new process: nothing but the database survives.
    async with restarted_store(bundled_db, clock) as store:
        restarted = Scheduler(Tracked(store, clock), discord, clock)
        await start(restarted, clock)
        await restarted.stop()
        assert discord.nonces == [discord.messages[0].nonce] * 2
        assert len(discord.messages) == 1
        assert await state(store.db, schedule_id, "2025-01-06") == "sent"


async def test_a_restart_long_after_a_crash_mid_send_does_not_resend(
    bundled_db, scheduler, repo, discord, clock, caplog
):
    schedule_id = await add(repo, 1)
    discord.crash_after_send.add(1)
    await start(scheduler, clock)
    await clock.advance_to(NINE)
    await scheduler.stop()
    discord.crash_after_send.clear()

    await clock.advance(timedelta(minutes=10))
    async with restarted_store(bundled_db, clock) as fresh:
        restarted = Scheduler(Tracked(fresh, clock), discord, clock)
        with caplog.at_level(logging.WARNING):
            await start(restarted, clock)
        await clock.advance_to(NINE + DAY)
        await restarted.stop()
    assert len(discord.calls) == 2
    assert [m.at for m in discord.messages] == [NINE, NINE + DAY]
    assert "may or may not have been posted" in caplog.text
    assert await state(repo.db, schedule_id, "2025-01-06") == "sending"  # never claimed to be sent


async def test_two_processes_at_the_due_minute_post_once(bundled_db, repo, discord, clock):
    await add(repo, 1)
    async with restarted_store(bundled_db, clock) as one, restarted_store(bundled_db, clock) as other:
        first = Scheduler(Tracked(one, clock), discord, clock)
        second = Scheduler(Tracked(other, clock), discord, clock)
        await start(first, clock)
        await start(second, clock)
        await clock.advance_to(NINE + 2 * DAY)
        await first.stop()
        await second.stop()
    assert [m.at for m in discord.messages] == [NINE, NINE + DAY, NINE + 2 * DAY]


async def test_a_failing_post_backs_off_then_pauses_and_is_never_recorded_as_sent(scheduler, repo, discord, clock):
    schedule_id = await add(repo, 1)
    discord.fail[1] = MissingPermissions(("Send Messages", "Embed Links"))
    await start(scheduler, clock)
    await clock.advance_to(NINE + 3 * DAY)
    minutes = [(when - NINE) / timedelta(minutes=1) for when, _ in discord.calls]
    assert minutes == [0, 1, 3, 7, 15]
    record = await repo.get(1, schedule_id)
    assert record.state == "paused"
    assert "Send Messages, Embed Links" in record.paused_reason
    assert (record.failures, record.last_failure_at) == (5, NINE + timedelta(minutes=15))
    assert record.last_post_at is None
    assert await state(repo.db, schedule_id, "2025-01-06") == "failed"
    assert discord.messages == []


async def test_a_post_that_recovers_clears_the_failures_and_keeps_the_last_reason(scheduler, repo, discord, clock):
    schedule_id = await add(repo, 1)
    discord.fail_once[1] = [TransientError("Discord answered 503"), TransientError("Discord answered 502")]
    await start(scheduler, clock)
    await clock.advance_to(NINE + timedelta(hours=1))
    assert [m.at for m in discord.messages] == [NINE + timedelta(minutes=3)]
    record = await repo.get(1, schedule_id)
    assert (record.failures, record.retry_at, record.last_failure) == (0, None, "Discord answered 502")


async def test_a_schedule_posts_its_whole_pool_before_repeating_and_new_talks_join_the_round(
    scheduler, repo, discord, clock, db
):
    await add(repo, 1)
    await start(scheduler, clock)
    await clock.advance_to(NINE + 4 * DAY)
    await sql(db, "INSERT INTO talks (slug, title, event_id) VALUES ('new-talk', 'A New Talk', 1)")
    await sql(db, "UPDATE catalogue_state SET version = version + 1")  # as every import does
    await clock.advance_to(NINE + 12 * DAY)
    talks = [m.talk for m in discord.messages]
    pool = await CataloguePool(db)(None, None)
    assert len(pool) == BUNDLED_TALKS + 1
    assert sorted(talks[: len(pool)]) == sorted(pool)
    assert talks[len(pool)] != talks[len(pool) - 1]


async def test_a_schedule_draws_only_from_its_topic_and_event(scheduler, repo, discord, clock, db):
    await add(repo, 1, topic="linkerd", event="servicemeshcon-eu-2021")
    await add(repo, 2, event="kubecon-eu-2021")  # with its co-located events
    await start(scheduler, clock)
    await clock.advance_to(NINE + 20 * DAY)
    pool = set(await CataloguePool(db)("linkerd", "servicemeshcon-eu-2021"))
    assert len(pool) == 5
    assert {m.talk for m in discord.posted(1)} == pool
    assert len({m.talk for m in discord.posted(2)}) == BUNDLED_TALKS


LINKERD_ONLY = "rapid-experimentation-simplified-with-linkerd"  # filed under Linkerd, not under Service mesh


async def test_a_schedule_on_a_broader_topic_posts_the_narrower_topics_talks(scheduler, repo, discord, clock, db):
    await add(repo, 1, topic="service-mesh")
    await start(scheduler, clock)
    await clock.advance_to(NINE + 9 * DAY)
    posted = [m.talk for m in discord.posted(1)]
    pool = await CataloguePool(db)("service-mesh", None)
    assert len(pool) == len(posted) == 10  # 5 filed under Service mesh, 5 more only under Linkerd or Istio
    assert set(posted) == set(pool)
    assert LINKERD_ONLY in posted
    # Security takes in mTLS, cert-manager and Memory safety: 3 talks filed under Security, 2 only under mTLS.
    security = set(await CataloguePool(db)("security", None))
    assert len(security) == 5
    assert "scheduling-68k-covid-tests-with-linkerd" in security  # mTLS only
    assert await CataloguePool(db)("linkerd", None) == pool  # every talk here is a Linkerd talk too


async def test_a_topic_imported_under_a_broader_one_joins_its_schedules(repo, store, db):
    schedule_id = await add(repo, 1, topic="service-mesh")
    assert len((await store.rotation(schedule_id)).pool) == 10
    await sql(db, "INSERT INTO topics (slug, name) VALUES ('envoy', 'Envoy')")
    await sql(db, "INSERT INTO talks (slug, title, event_id) VALUES ('envoy-talk', 'All About Envoy', 1)")
    await sql(
        db,
        "INSERT INTO talk_topics (talk_id, topic_id) SELECT t.id, tp.id FROM talks t, topics tp"
        " WHERE t.slug = 'envoy-talk' AND tp.slug = 'envoy'",
    )
    assert "envoy-talk" not in (await store.rotation(schedule_id)).pool  # the catalogue's version is unchanged
    await sql(db, "UPDATE catalogue_state SET version = version + 1")  # as every import does
    assert "envoy-talk" in (await store.rotation(schedule_id)).pool
    assert "envoy-talk" in await repo.pool("service-mesh", None, None)


async def test_the_topic_tree_is_built_once_per_catalogue_version(repo, store, db, monkeypatch):
    built = []
    original = schedules_module.topic_tree

    def counting(rows):
        built.append(1)
        return original(rows)

    monkeypatch.setattr(schedules_module, "topic_tree", counting)
    ids = [await add(repo, channel, topic=topic) for channel, topic in enumerate(["service-mesh", "security"] * 3)]
    for schedule_id in ids:
        await store.rotation(schedule_id)
        await repo.rotation(schedule_id)
    assert len(built) == 2  # one for the store, one for the repository's pool
    await sql(db, "UPDATE catalogue_state SET version = version + 1")
    await store.rotation(ids[0])
    await store.rotation(ids[1])
    assert len(built) == 3
    await store.rotation(await add(repo, 99))  # no topic: no tree needed
    assert len(built) == 3


async def test_a_restart_carries_on_from_the_database(bundled_db, scheduler, repo, discord, clock):
    await add(repo, 1)
    await start(scheduler, clock)
    await clock.advance_to(NINE + 2 * DAY + timedelta(hours=1))
    await scheduler.stop()
    async with restarted_store(bundled_db, clock) as fresh:
        restarted = Scheduler(Tracked(fresh, clock), discord, clock)
        await start(restarted, clock)
        await clock.advance_to(NINE + 10 * DAY)
        await restarted.stop()
    assert [m.at for m in discord.messages] == [NINE + day * DAY for day in range(11)]
    assert len({m.talk for m in discord.messages}) == BUNDLED_TALKS  # the round went on across the restart


async def test_a_slot_missed_within_grace_is_posted_once_and_beyond_grace_skipped(scheduler, repo, discord, clock):
    await add(repo, 1)
    await add(repo, 2, now=START - DAY)  # its slot is yesterday's 09:00
    await clock.advance_to(NINE + timedelta(minutes=30))  # the bot was down at 09:00
    await start(scheduler, clock)
    await clock.advance_to(NINE + DAY)
    assert [(m.at, m.channel_id) for m in discord.messages] == [
        (NINE + timedelta(minutes=30), 1),
        (NINE + DAY, 1),
        (NINE + DAY, 2),
    ]


async def test_a_talk_being_posted_by_hand_is_not_picked_by_the_scheduler_too(repo, store, catalogue):
    schedule_id = await add(repo, 10)
    manual = await HighlightService(catalogue, repo).pick_now(1, schedule_id, "req-1", START)  # still sending
    state = await store.rotation(schedule_id)  # what the scheduler reads before it claims a slot
    scheduled = next_talk(state.pool, state.posted, state.round, schedule_id, state.last)
    assert scheduled is not None and manual.attempt.talk != scheduled.talk
