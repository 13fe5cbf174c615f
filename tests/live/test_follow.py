"""Following a published schedule, against a real HTTP server on 127.0.0.1 whose schedule changes between polls."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.__main__ import main
from bot.catalogue.service import CatalogueService
from bot.db.gateway import Database
from bot.errors import ConfigError, NotFoundError
from bot.highlights.clock import FakeClock
from bot.live.follow import (
    Follow,
    FollowService,
    PollResult,
    ScheduleChange,
    TalkTimes,
    backoff,
    cancelled_title,
    http_fetch,
)

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
CET = "+02:00"


# -- the programme the server publishes ------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    ident: int
    title: str
    start: str  # "2026-05-04T10:00"
    minutes: int
    room: str
    speakers: tuple[str, ...] = ("Ada Lovelace",)


PROGRAMME = [
    Slot(1, "Opening", "2026-05-04T09:00", 30, "Main hall", ("Grace Hopper",)),
    Slot(2, "Meshes in practice", "2026-05-04T10:00", 30, "Main hall", ("Ann Lee", "Bo Chen")),
    Slot(3, "Rust on the edge", "2026-05-04T10:00", 45, "Room B"),
    Slot(4, "Observability", "2026-05-04T11:00", 30, "Room B", ("Cy Twombly",)),
    Slot(5, "Policy as code", "2026-05-04T14:00", 30, "Main hall", ("Dee Dee",)),
    Slot(6, "Closing", "2026-05-04T17:00", 15, "Main hall", ("Grace Hopper",)),
]


def schedule_json(slots: list[Slot]) -> bytes:
    """A frab/pretalx schedule.json (version 1) of these talks, one day, in rooms."""
    rooms: dict[str, list[dict[str, Any]]] = {}
    for slot in slots:
        rooms.setdefault(slot.room, []).append(
            {
                "id": slot.ident,
                "guid": f"00000000-0000-4000-8000-{slot.ident:012d}",
                "date": f"{slot.start}:00{CET}",
                "start": slot.start[11:],
                "duration": f"{slot.minutes // 60:02d}:{slot.minutes % 60:02d}",
                "room": slot.room,
                "title": slot.title,
                "type": "Talk",
                "abstract": f"About {slot.title}.",
                "persons": [{"id": 100 + n, "public_name": name} for n, name in enumerate(slot.speakers)],
                "links": [],
            }
        )
    data = {
        "schedule": {
            "version": "1",
            "conference": {
                "acronym": "livecon26",
                "title": "LiveCon 2026",
                "start": "2026-05-04",
                "end": "2026-05-04",
                "time_zone_name": "Europe/Berlin",
                "days": [{"index": 1, "date": "2026-05-04", "rooms": rooms}],
            },
        }
    }
    return json.dumps(data).encode("utf-8")


@dataclass
class Published:
    """What the test server answers: a file with an ETag and a Last-Modified, or a forced status."""

    body: bytes = b""
    version: int = 0
    status: int | None = None  # answer this instead, without a body
    delay: float = 0.0
    requests: list[dict[str, str]] = field(default_factory=list)

    def publish(self, body: bytes) -> None:
        self.body = body
        self.version += 1
        self.status = None

    @property
    def etag(self) -> str:
        return f'"v{self.version}"'

    @property
    def last_modified(self) -> str:
        return f"Mon, 0{self.version % 9 + 1} Jun 2026 10:00:00 GMT"


@pytest.fixture
async def server() -> AsyncIterator[tuple[Published, str]]:
    published = Published()

    async def handler(request: web.Request) -> web.StreamResponse:
        published.requests.append(dict(request.headers))
        if published.delay:
            await asyncio.sleep(published.delay)
        if published.status is not None:
            return web.Response(status=published.status, text="no")
        if request.headers.get("If-None-Match") == published.etag:
            return web.Response(status=304)
        headers = {"ETag": published.etag, "Last-Modified": published.last_modified}
        return web.Response(body=published.body, headers=headers, content_type="application/json")

    app = web.Application()
    app.router.add_get("/schedule.json", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield published, f"http://127.0.0.1:{port}/schedule.json"
    finally:
        await runner.cleanup()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "live.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def service(db: Database, clock: FakeClock) -> FollowService:
    return FollowService(await CatalogueService.open(db), db, clock)


async def rows(db: Database, sql: str, *args: object) -> list[tuple[Any, ...]]:
    return await db.read(lambda conn: [tuple(row) for row in conn.execute(sql, args)])


async def talks(db: Database) -> dict[str, tuple[str, str, str, str]]:
    found = await rows(
        db,
        "SELECT t.slug, t.title, t.date, t.ends_at, t.room FROM talks t JOIN events e ON e.id = t.event_id"
        " WHERE e.slug = 'livecon26'",
    )
    return {slug: (title, start, end, room) for slug, title, start, end, room in found}


def moved(slots: list[Slot], ident: int, **changes: Any) -> list[Slot]:
    return [replace(slot, **changes) if slot.ident == ident else slot for slot in slots]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + CET)


async def first_poll(service: FollowService, published: Published, url: str) -> Follow:
    published.publish(schedule_json(PROGRAMME))
    follow = await service.follow(url, 5)
    result = await service.poll(follow.id)
    assert result.status == "applied", result.summary
    return result.follow


# -- polls --------------------------------------------------------------------------------------------------


async def test_the_first_poll_imports_the_programme_and_reports_no_changes(
    service: FollowService, server: tuple[Published, str], db: Database, clock: FakeClock
) -> None:
    published, url = server
    published.publish(schedule_json(PROGRAMME))
    follow = await service.follow(url, 5)
    assert (follow.last_status, follow.next_poll_at, follow.talk_count) == ("new", START, None)
    result = await service.poll(follow.id)
    assert (result.status, result.changes, result.talks, result.http_status) == ("applied", (), 6, 200)
    assert result.follow.event == "livecon26"
    assert result.follow.talk_count == 6
    assert result.follow.etag == '"v1"'
    assert result.follow.last_fetched_at == result.follow.last_changed_at == START
    assert result.follow.next_poll_at == START + timedelta(minutes=5)
    assert (await talks(db))["livecon26-3"] == (
        "Rust on the edge", "2026-05-04T10:00:00+02:00", "2026-05-04T10:45:00+02:00", "Room B",
    )  # fmt: skip
    assert "User-Agent" in published.requests[0] and "If-None-Match" not in published.requests[0]


async def test_an_unchanged_schedule_answers_304_and_nothing_is_read(
    service: FollowService, server: tuple[Published, str], db: Database, clock: FakeClock
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    await clock.advance(timedelta(minutes=5))
    result = await service.poll(follow.id)
    assert (result.status, result.http_status, result.changes) == ("unchanged", 304, ())
    assert published.requests[-1]["If-None-Match"] == '"v1"'
    assert published.requests[-1]["If-Modified-Since"] == published.last_modified
    assert result.follow.last_fetched_at == START + timedelta(minutes=5)
    assert result.follow.last_changed_at == START


async def test_the_same_file_under_a_new_etag_changes_nothing(
    service: FollowService, server: tuple[Published, str]
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    published.publish(schedule_json(PROGRAMME))
    result = await service.poll(follow.id)
    assert (result.status, result.changes, result.summary) == ("unchanged", (), "6 talks, no change")
    assert result.follow.etag == '"v2"'


async def test_moved_rooms_cancelled_added_and_retitled_talks_are_reported(
    service: FollowService, server: tuple[Published, str], db: Database
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    changed = moved(PROGRAMME, 2, start="2026-05-04T15:00")  # moved
    changed = moved(changed, 3, room="Room C")  # room changed
    changed = moved(changed, 4, start="2026-05-04T11:30", minutes=45, room="Main hall")  # both
    changed = moved(changed, 5, title="CANCELLED: Policy as code")  # marked cancelled
    changed = moved(changed, 6, title="Closing and thanks")  # retitled
    changed = [slot for slot in changed if slot.ident != 1]  # gone
    changed.append(Slot(7, "Lightning talks", "2026-05-04T16:00", 45, "Room B", ("Eve Ng", "Fay Wu")))
    published.publish(schedule_json(changed))
    result = await service.poll(follow.id)
    assert result.status == "applied"
    assert result.report is not None
    assert (len(result.report.added), len(result.report.removed)) == (1, 1)
    summary = [(c.kind, c.slug) for c in result.changes]
    assert summary == [
        ("cancelled", "livecon26-1"),
        ("room_changed", "livecon26-3"),
        ("moved", "livecon26-4"),
        ("room_changed", "livecon26-4"),
        ("cancelled", "livecon26-5"),
        ("moved", "livecon26-2"),
        ("added", "livecon26-7"),
        ("retitled", "livecon26-6"),
    ]
    by = {(c.kind, c.slug): c for c in result.changes}
    assert by["moved", "livecon26-2"] == ScheduleChange(
        "moved",
        "livecon26-2",
        "Meshes in practice",
        ("Ann Lee", "Bo Chen"),
        TalkTimes(at("2026-05-04T10:00:00"), at("2026-05-04T10:30:00"), "Main hall"),
        TalkTimes(at("2026-05-04T15:00:00"), at("2026-05-04T15:30:00"), "Main hall"),
    )
    room = by["room_changed", "livecon26-3"]
    assert (room.before and room.before.room, room.after and room.after.room) == ("Room B", "Room C")
    gone = by["cancelled", "livecon26-1"]
    assert (gone.title, gone.speakers, gone.after) == ("Opening", ("Grace Hopper",), None)
    marked = by["cancelled", "livecon26-5"]
    assert marked.after is not None and marked.speakers == ("Dee Dee",)
    added = by["added", "livecon26-7"]
    assert (added.before, added.speakers) == (None, ("Eve Ng", "Fay Wu"))
    renamed = by["retitled", "livecon26-6"]
    assert (renamed.old_title, renamed.title) == ("Closing", "Closing and thanks")
    assert result.follow.talk_count == 6
    assert "livecon26-1" not in await talks(db)


async def test_errors_change_nothing_and_back_off_until_a_poll_succeeds(
    service: FollowService, server: tuple[Published, str], db: Database, clock: FakeClock
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    before = await talks(db)
    published.status = 500
    waits = []
    for failures in (1, 2, 3):
        result = await service.poll(follow.id)
        assert (result.status, result.http_status, result.summary) == ("error", 500, "HTTP 500")
        assert result.follow.failures == failures
        assert result.follow.last_status == "error"
        waits.append(result.follow.next_poll_at - clock.now())
        await clock.advance_to(result.follow.next_poll_at)
    assert waits == [timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40)]
    assert await talks(db) == before
    assert result.follow.etag == '"v1"'  # an error keeps the last good answer's validators
    published.publish(schedule_json(moved(PROGRAMME, 3, room="Room C")))
    result = await service.poll(follow.id)
    assert (result.status, result.follow.failures, [c.kind for c in result.changes]) == (
        "applied", 0, ["room_changed"],
    )  # fmt: skip
    assert result.follow.next_poll_at == clock.now() + timedelta(minutes=5)


def test_the_backoff_doubles_and_is_capped() -> None:
    assert [backoff(5, n) for n in (0, 1, 2, 6, 7, 50)] == [
        timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=320),
        timedelta(hours=6), timedelta(hours=6),
    ]  # fmt: skip
    assert backoff(600, 3) == timedelta(minutes=600)  # never shorter than the interval


async def test_a_truncated_file_is_an_error_that_changes_nothing(
    service: FollowService, server: tuple[Published, str], db: Database
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    before = await talks(db)
    whole = schedule_json(moved(PROGRAMME, 2, room="Room C"))
    published.publish(whole[: len(whole) // 2])
    result = await service.poll(follow.id)
    assert result.status == "error"
    assert result.summary.startswith("unreadable file:") and "not valid JSON" in result.summary
    assert result.changes == ()
    assert await talks(db) == before
    assert (result.follow.etag, result.follow.failures) == ('"v1"', 1)


async def test_a_file_with_most_talks_missing_is_held_back(
    service: FollowService, server: tuple[Published, str], db: Database
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    before = await talks(db)
    published.publish(schedule_json(PROGRAMME[:2]))
    result = await service.poll(follow.id)
    assert (result.status, result.talks, result.changes) == ("held", 2, ())
    assert result.summary == ("held back: 2 talks, under half of the 6 of the last applied file; nothing was changed")
    assert not result.ok
    assert await talks(db) == before
    assert (result.follow.talk_count, result.follow.etag, result.follow.failures) == (6, '"v1"', 0)
    # Half is enough: three of six talks is a programme that shrank, not a glitch.
    published.publish(schedule_json(PROGRAMME[:3]))
    result = await service.poll(follow.id)
    assert result.status == "applied"
    assert [c.kind for c in result.changes] == ["cancelled"] * 3
    assert result.follow.talk_count == 3


async def test_a_file_over_the_size_cap_is_refused(
    db: Database, clock: FakeClock, server: tuple[Published, str]
) -> None:
    published, url = server
    published.publish(schedule_json(PROGRAMME))
    service = FollowService(await CatalogueService.open(db), db, clock, functools.partial(http_fetch, max_bytes=1000))
    follow = await service.follow(url, 5)
    result = await service.poll(follow.id)
    assert result.status == "error"
    assert "at most 1,000 are read" in result.summary


async def test_a_server_that_does_not_answer_in_time_is_an_error(
    db: Database, clock: FakeClock, server: tuple[Published, str]
) -> None:
    published, url = server
    published.publish(schedule_json(PROGRAMME))
    published.delay = 1.0
    service = FollowService(await CatalogueService.open(db), db, clock, functools.partial(http_fetch, seconds=0.1))
    result = await service.poll((await service.follow(url, 5)).id)
    assert (result.status, result.summary) == ("error", "fetch failed: no answer within 0.1 seconds")


async def test_a_server_that_is_gone_is_an_error(service: FollowService) -> None:
    result = await service.poll((await service.follow("http://127.0.0.1:9/schedule.json", 5)).id)
    assert result.status == "error" and result.summary.startswith("fetch failed:")


async def test_a_file_of_another_event_is_not_applied(
    service: FollowService, server: tuple[Published, str], db: Database
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    published.publish(schedule_json(PROGRAMME).replace(b"livecon26", b"othercon"))
    result = await service.poll(follow.id)
    assert result.status == "error"
    assert "no longer holds the event livecon26" in result.summary
    assert not await rows(db, "SELECT 1 FROM events WHERE slug = 'othercon'")


# -- following, listing, unfollowing ----------------------------------------------------------------------


async def test_follow_is_idempotent_and_checks_what_it_is_given(service: FollowService) -> None:
    first = await service.follow("https://example.org/schedule.json", 5)
    again = await service.follow("https://example.org/schedule.json", 15, timezone="Europe/Berlin")
    assert again.id == first.id and again.interval_minutes == 15 and again.timezone == "Europe/Berlin"
    assert [f.id for f in await service.list()] == [first.id]
    bare = await service.follow("https://example.org/schedule.json", event_name="Conf")  # a cron job's --once
    assert (bare.interval_minutes, bare.timezone, bare.event_name) == (15, "Europe/Berlin", "Conf")  # kept
    fresh = await service.follow("https://example.org/new.json")
    assert fresh.interval_minutes == 5
    await service.unfollow(fresh.id)
    for url, interval, options, message in (
        ("ftp://example.org/x", 5, {}, "not an http"),
        ("https://example.org/x", 0, {}, "1 to 1440 minutes"),
        ("https://example.org/x", 5, {"format": "yaml"}, "use auto or one of"),
        ("https://example.org/x", 5, {"timezone": "Mars/Olympus"}, "not a time zone"),
    ):
        with pytest.raises(ConfigError, match=message):
            await service.follow(url, interval, **options)
    removed = await service.unfollow(first.id)
    assert removed.url == "https://example.org/schedule.json"
    assert await service.list() == []
    with pytest.raises(NotFoundError):
        await service.unfollow(first.id)
    with pytest.raises(NotFoundError):
        await service.poll(first.id)


def test_cancelled_titles() -> None:
    assert cancelled_title("CANCELLED: Policy as code")
    assert cancelled_title("[Canceled] Policy")
    assert cancelled_title("Abgesagt - Vortrag")
    assert not cancelled_title("Cancellation semantics in Go")


# -- the loop ---------------------------------------------------------------------------------------------


class Heard:
    """What the loop told: every poll, and the changes, with an event per poll to wait on."""

    def __init__(self) -> None:
        self.polls: list[PollResult] = []
        self.changes: list[tuple[Follow, tuple[ScheduleChange, ...]]] = []
        self.polled = asyncio.Event()

    async def on_poll(self, result: PollResult) -> None:
        self.polls.append(result)
        self.polled.set()

    async def on_changes(self, follow: Follow, changes: Any) -> None:
        self.changes.append((follow, tuple(changes)))
        if changes[0].kind == "room_changed":
            raise RuntimeError("a notice failed")  # the loop goes on

    async def next_poll(self) -> PollResult:
        await asyncio.wait_for(self.polled.wait(), timeout=10)
        self.polled.clear()
        return self.polls[-1]


@pytest.fixture
def heard() -> Heard:
    return Heard()


async def test_the_loop_polls_when_due_and_hands_on_the_changes(
    service: FollowService, server: tuple[Published, str], clock: FakeClock, heard: Heard
) -> None:
    published, url = server
    published.publish(schedule_json(PROGRAMME))
    stop = asyncio.Event()
    loop = asyncio.create_task(service.run(heard.on_changes, on_poll=heard.on_poll, stop=stop))
    try:
        await clock.settle()
        assert heard.polls == []  # nothing followed yet: the loop waits for a follow
        follow = await service.follow(url, 5)
        assert (await heard.next_poll()).status == "applied"
        later = moved(PROGRAMME, 2, start="2026-05-04T15:00")
        published.publish(schedule_json(later))
        await clock.advance(timedelta(minutes=4))
        assert len(heard.polls) == 1  # not due yet
        await clock.advance(timedelta(minutes=1))
        result = await heard.next_poll()
        assert [c.kind for c in result.changes] == ["moved"]
        assert [(f.id, [c.slug for c in changes]) for f, changes in heard.changes] == [(follow.id, ["livecon26-2"])]
        published.status = 503
        await clock.advance(timedelta(minutes=5))
        assert (await heard.next_poll()).status == "error"
        published.publish(schedule_json(moved(later, 3, room="Room C")))
        await clock.advance(timedelta(minutes=5))  # backing off: the next poll is 10 minutes after the error
        await clock.settle()
        assert len(heard.polls) == 3
        await clock.advance(timedelta(minutes=5))
        assert [c.kind for c in (await heard.next_poll()).changes] == ["room_changed"]
        assert len(heard.changes) == 2  # told, though the callback failed
        await service.unfollow(follow.id)
        await clock.advance(timedelta(hours=1))
        assert len(heard.polls) == 4
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=10)


# -- the command line ------------------------------------------------------------------------------------


@pytest.fixture
def served_in_a_thread() -> Iterator[tuple[Published, str]]:
    """The test server on a loop of its own, for the command line's own asyncio.run."""
    published = Published()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        if published.status is not None:
            return web.Response(status=published.status)
        if request.headers.get("If-None-Match") == published.etag:
            return web.Response(status=304)
        return web.Response(body=published.body, headers={"ETag": published.etag})

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/schedule.json", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        holder["port"] = runner.addresses[0][1]
        holder["stop"] = stop = asyncio.Event()
        started.set()
        await stop.wait()
        await runner.cleanup()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield published, f"http://127.0.0.1:{holder['port']}/schedule.json"
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()


def test_follow_once_polls_prints_and_exits_with_the_outcome(
    served_in_a_thread: tuple[Published, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    published, url = served_in_a_thread
    monkeypatch.setenv("BOT_DATABASE", str(tmp_path / "cli.sqlite3"))
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    published.publish(schedule_json(PROGRAMME))
    assert main(["follow", url, "--once", "--interval", "10"]) == 0
    out = capsys.readouterr().out
    assert "applied: 6 talks; added 6, changed 0, removed 0" in out
    assert main(["follow", url, "--once"]) == 0  # the same follow, polled again: 304
    assert "unchanged: not modified since the last poll" in capsys.readouterr().out
    published.publish(schedule_json(moved(PROGRAMME, 2, start="2026-05-04T15:00", room="Room C")))
    assert main(["follow", url, "--once"]) == 0
    out = capsys.readouterr().out
    assert "2 changes" in out
    assert "Time changed" in out and "Room changed" in out
    assert "Mon 10:00-10:30 Main hall" in out and "Mon 15:00-15:30 Room C" in out
    assert "Ann Lee, Bo Chen" in out
    published.publish(schedule_json(PROGRAMME[:1]))
    assert main(["follow", url, "--once"]) == 1
    assert "held: held back: 1 talks, under half of the 6" in capsys.readouterr().out
    published.status = 502
    assert main(["follow", url, "--once"]) == 1
    out = capsys.readouterr().out
    assert "error: HTTP 502" in out and "1 error in a row" in out
