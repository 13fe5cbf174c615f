"""Live notices through the real engine, on a real SQLite database and a settling fake clock.

The poster is this test's own stand-in for a platform (it deduplicates nonces as Discord does); the Discord
adapter is tested against the emulator in tests/e2e/test_live.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.catalogue.formats.options import ImportOptions
from bot.highlights.memory import InMemoryScheduleStore
from bot.highlights.ports import PostResult
from bot.highlights.scheduler import Scheduler, SchedulerConfig
from bot.live.follow import ScheduleChange, TalkTimes
from bot.live.jobs import LiveJobs
from bot.live.notices import ChangeNotice, UpNext
from bot.live.service import LiveService
from bot.live.store import LiveStore
from tests.db.test_schedules import SettlingClock, Tracked

START = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)  # 08:00 in Brussels, the programme's offset
GUILD, CHANNEL, CHANGES = 10, 20, 30


def programme(*talks: tuple[str, ...]) -> bytes:
    """A one-day event; each talk (id, title, start 'HH:MM' local +01:00[, room[, end 'HH:MM']])."""
    text = '[[events]]\nid = "meshcon-2026"\nname = "MeshCon 2026"\nstart_date = 2026-12-05\nend_date = 2026-12-05\n'
    for slug, title, at, *where in talks:
        text += (
            f'\n[[talks]]\nid = "{slug}"\ntitle = "{title}"\nevent = "meshcon-2026"\n'
            f'date = 2026-12-05T{at}:00+01:00\nspeakers = [{{ name = "Speaker of {title}" }}]\n'
        )
        if where:
            text += f'room = "{where[0]}"\n'
        if len(where) > 1:
            text += f"ends_at = 2026-12-05T{where[1]}:00+01:00\n"
    return text.encode()


FIRST = programme(("a", "Alpha", "10:00"), ("b", "Beta", "10:00"), ("c", "Gamma", "11:00"))


@dataclass
class Posted:
    channel: int
    at: datetime
    nonce: str
    notice: UpNext | ChangeNotice


class FakeChannels:
    """Posts as a platform answers them: a repeated nonce returns the message already made."""

    def __init__(self, clock: SettlingClock) -> None:
        self.clock = clock
        self.posts: list[Posted] = []

    async def _post(self, channel: int, notice, nonce: str) -> PostResult:
        for number, post in enumerate(self.posts, start=1):
            if post.nonce == nonce:
                return PostResult(number)
        self.posts.append(Posted(channel, self.clock.now(), nonce, notice))
        return PostResult(len(self.posts))

    async def up_next(self, guild_id, channel_id, notice, nonce):
        return await self._post(channel_id, notice, nonce)

    async def changes(self, guild_id, channel_id, notice, nonce):
        return await self._post(channel_id, notice, nonce)

    def up_nexts(self) -> list[tuple[datetime, list[str]]]:
        return [(p.at, [t.slug for t in p.notice.talks]) for p in self.posts if isinstance(p.notice, UpNext)]

    def change_notices(self) -> list[Posted]:
        return [p for p in self.posts if isinstance(p.notice, ChangeNotice)]


class _Idle:
    async def post(self, schedule, talk, nonce):
        raise AssertionError("no highlight should be posted")


class Live:
    """The engine with live posts over one database; `restart` is a new process over the same file."""

    def __init__(self, db, catalogue, clock: SettlingClock) -> None:
        self.db, self.catalogue, self.clock = db, catalogue, clock
        self.channels = FakeChannels(clock)
        self.service = LiveService(catalogue, Tracked(LiveStore(db), clock), clock)
        self.engine: Scheduler | None = None

    async def start(self) -> None:
        self.engine = Scheduler(InMemoryScheduleStore(), _Idle(), self.clock, SchedulerConfig())
        jobs = LiveJobs(self.service, Tracked(LiveStore(self.db), self.clock), self.channels, self.engine.runtime)
        self.engine.add(jobs)
        self.service.on_change = self.engine.reload
        await self.engine.start()
        await self.clock.advance(timedelta(0))

    async def stop(self) -> None:
        assert self.engine is not None
        await self.engine.stop()


@pytest.fixture
def clock() -> SettlingClock:
    return SettlingClock(START)


@pytest.fixture
async def live(db, catalogue, clock):
    await catalogue.import_data(FIRST, "meshcon.toml", ImportOptions())
    running = Live(db, catalogue, clock)
    await running.start()
    yield running
    await running.stop()


BRUSSELS = timezone(timedelta(hours=1))


def local(hour: int, minute: int = 0) -> datetime:
    """A time of the programme's day, in its own offset (+01:00)."""
    return datetime(2026, 12, 5, hour, minute, tzinfo=BRUSSELS)


async def test_each_start_time_is_announced_once_lead_minutes_before(live, clock):
    await live.service.setup(GUILD, CHANNEL, "meshcon 2026", lead_minutes=5)
    await clock.advance_to(local(12))
    assert live.channels.up_nexts() == [(local(9, 55), ["a", "b"]), (local(10, 55), ["c"])]
    first = live.channels.posts[0].notice
    assert first.heading == "Starting in 5 minutes" and first.event_name == "MeshCon 2026"


async def test_a_restart_in_the_middle_posts_nothing_twice_and_misses_nothing(live, clock):
    await live.service.setup(GUILD, CHANNEL, "meshcon-2026")
    await clock.advance_to(local(10, 30))
    await live.stop()
    await live.start()
    await live.stop()
    await live.start()
    await clock.advance_to(local(12))
    assert live.channels.up_nexts() == [(local(9, 55), ["a", "b"]), (local(10, 55), ["c"])]


async def test_a_notice_due_while_the_bot_was_down_past_the_start_is_skipped(live, clock):
    await live.service.setup(GUILD, CHANNEL, "meshcon-2026")
    await live.stop()
    await clock.advance_to(local(10, 20))
    await live.start()
    await clock.advance_to(local(12))
    assert live.channels.up_nexts() == [(local(10, 55), ["c"])]  # "starting in 5 minutes" after the start helps nobody


async def test_a_talk_moved_after_its_notice_gets_a_correction_not_a_second_notice(live, catalogue, clock):
    await live.service.setup(GUILD, CHANNEL, "meshcon-2026", changes_channel_id=CHANGES)
    await clock.advance_to(local(9, 56))
    moved = programme(("a", "Alpha", "11:00"), ("b", "Beta", "10:00"), ("c", "Gamma", "11:00"))
    await catalogue.import_data(moved, "meshcon.toml", ImportOptions())
    change = ScheduleChange(
        "moved", "a", "Alpha", ("Speaker of Alpha",),
        TalkTimes(local(10), None, None), TalkTimes(local(11), None, None),
    )  # fmt: skip
    await live.service.changed("meshcon-2026", [change])
    await clock.advance_to(local(12))
    assert live.channels.up_nexts() == [(local(9, 55), ["a", "b"]), (local(10, 55), ["c"])]
    notices = live.channels.change_notices()
    assert [(p.channel, [line.kind for line in p.notice.lines]) for p in notices] == [
        (CHANGES, ["moved"]),
        (CHANNEL, ["correction"]),
    ]
    line = notices[0].notice.lines[0]
    assert (line.label, line.title, line.speakers) == ("Time changed", "Alpha", ("Speaker of Alpha",))
    assert line.detail == "Sat 10:00 -> Sat 11:00"


async def test_a_talk_moved_before_its_notice_is_announced_at_its_new_time(live, catalogue, clock):
    await live.service.setup(GUILD, CHANNEL, "meshcon-2026")
    await clock.advance_to(local(9))
    moved = programme(("a", "Alpha", "11:30"), ("b", "Beta", "10:00"), ("c", "Gamma", "11:00"))
    await catalogue.import_data(moved, "meshcon.toml", ImportOptions())
    await live.service.changed("meshcon-2026", [ScheduleChange("moved", "a", "Alpha", (), None, None)])
    await clock.advance_to(local(12))
    assert live.channels.up_nexts() == [(local(9, 55), ["b"]), (local(10, 55), ["c"]), (local(11, 25), ["a"])]


async def test_a_talk_its_schedule_marks_cancelled_by_title_is_not_announced(live, catalogue, clock):
    setup = await live.service.setup(GUILD, CHANNEL, "meshcon-2026")
    await clock.advance_to(local(9))
    marked = programme(("a", "Alpha", "10:00"), ("b", "CANCELLED: Beta", "10:00"), ("c", "[Abgesagt] Gamma", "11:00"))
    await catalogue.import_data(marked, "meshcon.toml", ImportOptions())
    await live.service.changed("meshcon-2026", [ScheduleChange("cancelled", "b", "CANCELLED: Beta", (), None, None)])
    assert [[t.slug for t in talks] for _, talks in await live.service.coming(setup)] == [["a"]]
    await clock.advance_to(local(12))
    assert live.channels.up_nexts() == [(local(9, 55), ["a"])]  # and no empty notice at 10:55


async def test_the_same_batch_of_changes_is_told_once_and_none_after_the_event(live, clock):
    await live.service.setup(GUILD, CHANNEL, "meshcon-2026")
    change = ScheduleChange("cancelled", "c", "Gamma", ("Speaker of Gamma",), TalkTimes(local(11), None, "S1"), None)
    await live.service.changed("meshcon-2026", [change])
    await live.service.changed("meshcon-2026", [change])
    await clock.advance(timedelta(minutes=1))
    assert [p.notice.lines[0].detail for p in live.channels.change_notices()] == ["was Sat 11:00, S1"]
    await clock.advance_to(local(23))
    await live.service.changed("meshcon-2026", [ScheduleChange("added", "d", "Delta", (), None, None)])
    await clock.advance(timedelta(minutes=1))
    assert len(live.channels.change_notices()) == 1
