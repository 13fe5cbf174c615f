"""Announcing new recordings through the real engine, on a real SQLite database and a settling fake clock.

The poster is this test's own stand-in for a platform (it drops a repeated nonce as Discord does); the Discord
adapter is tested against the emulator in tests/e2e/test_announcements.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.__main__ import main
from bot.db.gateway import Database
from bot.errors import UserFacingError
from bot.highlights.memory import InMemoryScheduleStore
from bot.highlights.ports import PostResult
from bot.highlights.rules import ScheduleRule, next_slot
from bot.highlights.scheduler import Scheduler, SchedulerConfig
from bot.highlights.store import CataloguePool, ScheduleRepository, from_db_instant
from bot.recordings.announce import (
    SHOWN,
    AnnouncementJobs,
    AnnouncementService,
    AnnouncementStore,
    EventRecordings,
    NewRecording,
    RecordingsNotice,
)
from bot.recordings.apply import RecordingOptions, RecordingReport
from tests.db.test_schedules import SettlingClock, Tracked
from tests.sql import sql

START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
GUILD, CHANNEL = 1, 100

# Two PyConf talks and one of its co-located Data Day (tests/recordings/conftest.py), matched within PyConf.
VIDEOS = (
    b"url,title,speakers\n"
    b"https://www.youtube.com/watch?v=AAAAAAAAAA1,PyConf 2024 - A Tale of Scaling Observability,Toomas Ormisson\n"
    b"https://www.youtube.com/watch?v=AAAAAAAAAA2,TankerEmbrace the relational model,Bertrand Chenal\n"
    b"https://www.youtube.com/watch?v=AAAAAAAAAA3,Pandas for the Impatient,L\xc3\xa9a Coston\n"
)
PYCONF = ["pyconf-2024-101", "pyconf-2024-102"]
PYCONF_ONLY = RecordingOptions(event="pyconf-2024")


@dataclass
class Posted:
    guild: int
    channel: int
    nonce: str
    notice: RecordingsNotice


class FakeChannels:
    """Posts as a platform answers them: a repeated nonce returns the message already made."""

    def __init__(self) -> None:
        self.posts: list[Posted] = []
        self.hang = False  # the next send never answers (the process dies mid-send)

    async def announce(self, guild_id, channel_id, notice, nonce) -> PostResult:
        for number, post in enumerate(self.posts, start=1):
            if post.nonce == nonce:
                return PostResult(number)
        self.posts.append(Posted(guild_id, channel_id, nonce, notice))
        if self.hang:
            self.hang = False
            await asyncio.Event().wait()
        return PostResult(len(self.posts))

    def talks(self, index: int = -1) -> list[str]:
        return [t.slug for e in self.posts[index].notice.events for t in e.talks]


class _Idle:
    async def post(self, schedule, talk, nonce):
        raise AssertionError("no highlight should be posted")


class Bot:
    """The engine with the announcements over one database; `restart` is a new process over the same file."""

    def __init__(self, db: Database, clock: SettlingClock) -> None:
        self.db, self.clock = db, clock
        self.channels = FakeChannels()
        self.service = AnnouncementService(AnnouncementStore(db), CataloguePool(db), clock)
        self.schedules = ScheduleRepository(db)
        self.engine: Scheduler | None = None

    async def start(self) -> None:
        self.engine = Scheduler(InMemoryScheduleStore(), _Idle(), self.clock, SchedulerConfig())
        store = Tracked(AnnouncementStore(self.db), self.clock)
        self.engine.add(AnnouncementJobs(store, self.channels, self.engine.runtime))
        self.service.on_change = self.engine.reload
        await self.engine.start()
        await self.settle()

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def settle(self) -> None:
        await self.clock.advance(timedelta(0))

    async def schedule(self, guild: int = GUILD, **filters: str) -> None:
        rule = ScheduleRule(time(9), ZoneInfo("UTC"), "daily", None)
        await self.schedules.add(guild, CHANNEL, rule, next_slot(rule, START), now=START, **filters)

    async def import_videos(self, videos: bytes = VIDEOS, *, dry_run: bool = False) -> tuple[RecordingReport, int]:
        report, planned = await self.service.import_recordings(videos, "videos.csv", PYCONF_ONLY, dry_run=dry_run)
        await self.settle()
        return report, planned


@pytest.fixture
async def programme(programme_db: Path):
    db = await Database.open(programme_db)
    yield db
    await db.close()


@pytest.fixture
async def bot(programme):
    running = Bot(programme, SettlingClock(START))
    await running.start()
    yield running
    await running.stop()


async def outbox(db: Database) -> list[tuple]:
    return await sql(db, "SELECT guild_id, channel_id, state FROM recording_posts ORDER BY id")


async def test_nothing_is_announced_unless_the_server_asked(bot):
    await bot.schedule()
    assert await bot.service.setting(GUILD) is None
    report, planned = await bot.import_videos()
    assert len(report.added) == 3 and planned == 0
    assert bot.channels.posts == [] and await outbox(bot.db) == []


async def test_the_talks_a_schedule_covers_are_announced_once_grouped_per_event(bot):
    await bot.schedule()  # the whole catalogue
    await bot.service.set(GUILD, CHANNEL, set_by=7)
    assert (await bot.service.setting(GUILD)).channel_id == CHANNEL
    _, planned = await bot.import_videos()
    assert planned == 1
    [post] = bot.channels.posts
    assert (post.guild, post.channel) == (GUILD, CHANNEL)
    assert post.notice.heading == "3 new recordings from PyConf and Data Day 2024"
    assert [e.heading for e in post.notice.events] == [
        "2 new recordings from PyConf",
        "1 new recording from Data Day 2024",
    ]
    assert post.notice.events[0].talks[0] == NewRecording(
        "pyconf-2024-101", "A Tale of Scaling Observability", "https://www.youtube.com/watch?v=AAAAAAAAAA1"
    )
    assert await outbox(bot.db) == [(GUILD, CHANNEL, "sent")]
    # The same list again adds nothing, so nothing more is announced.
    _, again = await bot.import_videos()
    assert again == 0 and len(bot.channels.posts) == 1


async def test_only_the_talks_a_servers_schedules_cover_are_announced(bot):
    await bot.schedule(GUILD, event="data-day-2024")
    await bot.schedule(2, event="otherconf-2023")  # covers none of the new recordings
    await bot.schedule(3, topic="no-such-topic")  # an empty pool
    for guild in (GUILD, 2, 3, 4):  # 4 has announcements on but no schedule
        await bot.service.set(guild, CHANNEL + guild)
    _, planned = await bot.import_videos()
    assert planned == 1
    [post] = bot.channels.posts
    assert post.guild == GUILD and post.channel == CHANNEL + GUILD
    assert post.notice.heading == "1 new recording from Data Day 2024"
    assert bot.channels.talks() == ["data-day-2024-1"]


async def test_an_event_schedule_takes_in_its_co_located_events(bot):
    await bot.schedule(event="pyconf-2024")
    await bot.service.set(GUILD, CHANNEL)
    await bot.import_videos()
    assert bot.channels.talks() == [*PYCONF, "data-day-2024-1"]


async def test_links_and_their_announcements_are_written_together_or_not_at_all(bot, monkeypatch):
    await bot.schedule()
    await bot.service.set(GUILD, CHANNEL, set_by=7)

    def broken(conn, report, at):
        raise UserFacingError("the announcements could not be planned")

    def linked(conn):
        return conn.execute("SELECT slug, recording_url FROM talks ORDER BY slug").fetchall()

    before = await bot.db.read(linked)
    monkeypatch.setattr("bot.recordings.announce.announce_added", broken)
    with pytest.raises(UserFacingError):
        await bot.import_videos()
    assert await bot.db.read(linked) == before  # no link went in without its announcement
    monkeypatch.undo()
    report, planned = await bot.import_videos()
    assert len(report.added) == 3 and planned == 1 and await bot.db.read(linked) != before


async def test_a_dry_run_announces_nothing(bot):
    await bot.schedule()
    await bot.service.set(GUILD, CHANNEL)
    report, planned = await bot.import_videos(dry_run=True)
    assert report.dry_run and len(report.added) == 3
    assert planned == 0 and await outbox(bot.db) == [] and bot.channels.posts == []


async def test_an_announcement_goes_out_once_across_restarts(bot):
    await bot.schedule()
    await bot.service.set(GUILD, CHANNEL)
    await bot.stop()  # the bot is down when the recordings arrive
    report, planned = await bot.import_videos()
    assert planned == 1 and bot.channels.posts == []
    await bot.start()
    assert len(bot.channels.posts) == 1
    await bot.restart()
    assert await bot.service.recordings_added(report) == 0  # the same batch is never planned twice
    await bot.restart()
    assert len(bot.channels.posts) == 1 and await outbox(bot.db) == [(GUILD, CHANNEL, "sent")]


async def test_a_send_cut_off_by_a_restart_is_resent_with_its_nonce_and_posted_once(bot):
    await bot.schedule()
    await bot.service.set(GUILD, CHANNEL)
    bot.channels.hang = True
    await bot.import_videos()
    assert len(bot.channels.posts) == 1 and await outbox(bot.db) == [(GUILD, CHANNEL, "sending")]
    await bot.restart()  # within the nonce window: sent again, and the platform drops the repeat
    assert len(bot.channels.posts) == 1 and await outbox(bot.db) == [(GUILD, CHANNEL, "sent")]


async def test_a_send_cut_off_long_ago_is_not_sent_again(bot):
    await bot.schedule()
    await bot.service.set(GUILD, CHANNEL)
    bot.channels.hang = True
    await bot.import_videos()
    await bot.stop()
    await bot.clock.advance(timedelta(hours=1))
    await bot.start()
    assert len(bot.channels.posts) == 1 and await outbox(bot.db) == [(GUILD, CHANNEL, "skipped")]


async def test_turning_announcements_off_drops_those_waiting_and_a_new_channel_takes_them(bot):
    await bot.schedule()
    await bot.service.set(GUILD, CHANNEL)
    await bot.stop()
    await bot.import_videos()
    await bot.service.set(GUILD, 555)
    await bot.service.set(2, 600)
    assert await outbox(bot.db) == [(GUILD, 555, "pending")]
    await bot.service.set(GUILD, None)
    assert await bot.service.setting(GUILD) is None
    await bot.start()
    assert bot.channels.posts == [] and await outbox(bot.db) == [(GUILD, 555, "skipped")]


async def test_the_command_line_plans_in_its_transaction_and_the_bot_posts_on_its_next_load(
    bot, programme_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    await bot.schedule(event="data-day-2024")
    await bot.service.set(GUILD, CHANNEL)
    videos = tmp_path / "videos.csv"
    videos.write_bytes(VIDEOS)
    assert main(["--db", str(programme_db), "recordings", str(videos), "--event", "pyconf-2024", "--dry-run"]) == 0
    assert await outbox(bot.db) == []
    assert main(["--db", str(programme_db), "recordings", str(videos), "--event", "pyconf-2024"]) == 0
    capsys.readouterr()
    assert await outbox(bot.db) == [(GUILD, CHANNEL, "pending")]
    await bot.settle()
    assert bot.channels.posts == []  # the running engine has not loaded it yet
    await bot.restart()
    [(due,)] = await sql(bot.db, "SELECT due_at FROM recording_posts")
    await bot.clock.advance_to(max(bot.clock.now(), from_db_instant(due)))  # the command line's clock is real
    assert bot.channels.talks() == ["data-day-2024-1"] and await outbox(bot.db) == [(GUILD, CHANNEL, "sent")]


def test_an_event_lists_its_first_talks_and_counts_the_rest() -> None:
    talks = tuple(NewRecording(f"t{i}", f"Talk {i}", f"https://v.example/{i}") for i in range(SHOWN))
    many = EventRecordings("KubeCon EU 2021", SHOWN + 5, talks)
    assert many.heading == f"{SHOWN + 5} new recordings from KubeCon EU 2021" and many.more == 5
    three = RecordingsNotice((many, EventRecordings("A", 1, ()), EventRecordings("B", 2, ())))
    assert three.heading == f"{SHOWN + 8} new recordings from 3 events"


async def test_a_process_loads_only_the_posts_of_its_shards_servers(db):
    from bot.db.shards import ShardFilter
    from bot.recordings.announce import AnnouncementStore

    mine, theirs = (1 << 22) * 3, (1 << 22) * 4  # shards 0 and 1 of 3
    rows = [
        ("discord", guild, 7, f"k{guild}", "{}", "pending", "2026-01-01T00:00:00.000000+00:00")
        for guild in (mine, theirs)
    ]
    await db.write(
        lambda conn: conn.executemany(
            "INSERT INTO recording_posts (platform, guild_id, channel_id, key, body, state, due_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    )
    everything = await AnnouncementStore(db).waiting()
    assert sorted(p.guild_id for p in everything) == [mine, theirs]
    shard_zero = AnnouncementStore(db, shards=ShardFilter(3, (0,)))
    assert [p.guild_id for p in await shard_zero.waiting()] == [mine]
    other = next(p for p in everything if p.guild_id == theirs)
    assert await shard_zero.get(other.id) is None
