"""Live mode at conference scale: a followed schedule of 1,000 talks in 30 rooms over three days, replayed on a
simulated clock, with two batches of programme changes and a crash and restart of the bot in the middle.

The world: a schedule.json (frab/pretalx version 1) of 1,000 talks in 30 rooms over three days, 30 to 60
minutes each from 09:00 to 18:00 Berlin time, rooms staggered by 5 minutes, served with an ETag (and 304 to a
matching If-None-Match) by a local aiohttp server in this process. The emulator runs in a child process of
its own (`benchmarks.remote_emulator`'s plumbing; validation off, Discord's global limit of 50 a second
answered with 429) holding one server with a main channel, a changes channel and a channel for each of 20
rooms (the other 10 rooms are announced in the main channel); it notes each post's arrival with
`perf_counter()` and keeps its embed. In this process: a fresh database with the bundled catalogue and the
real `HighlightsBot` (engine at 50 a second). The bot follows the URL (`FollowService.follow`, first poll by
its own follow loop), then `LiveService.setup` (lead 5 minutes, the changes channel) and `set_room` for the
rooms with their own channel, all through the running bot's services.

The clock. The bot runs on `LaunchClock` (`benchmarks.scheduler_bench`): real time plus an offset that only
the benchmark moves, forward, by jumps. The benchmark knows every notice's due instant in advance (start
time minus the lead, from the programmes it publishes) and, for each due instant in turn, jumps the clock to
`lead_in` (0.25 s) before it, waits until the emulator has that instant's notices, then waits until the bot
is idle (its engine and follow loop asleep on the clock for instants still ahead, no notice in a worker's
hands: `SettlingClock`), so that no work in progress is charged the simulated time of the next jump (a
change batch planned while an instant's notices go out would be: milliseconds of real time, 300 s on the
clock). Between jumps simulated time runs at real speed, so from the jump on the bot lives in real time: its
engine, asleep on the clock, is woken by the jump, finds nothing due yet, and sleeps again until the due
instant (the final stretch spun, as `SystemClock` does), then reads the programme, claims the post, and posts
through the rate limiter and discord.py to the emulator. Three simulated days take minutes. The benchmark notes
`(perf_counter(), simulated now)` at each jump, so an arrival's simulated time is that of the last jump
before it plus the real seconds since: lateness = simulated arrival - due is exactly the bot's real delay
from the moment the clock reached the due instant to the post's arrival (wake-up, SQLite, the limiter, the
HTTP request), never shortened by a jump (a notice that arrives after a later jump is charged the simulated
time skipped too, as a notice that late would be). The lead-in is spent in real time, so a notice due at
the instant is never posted early by a jump landing on it. Instants at which no notice is expected (a
notice the bot planned for a talk later moved or removed) are jumped over: the bot then finds its talks
started and skips it, as at its instant it would find none left; had it posted one, it would count as
unexpected, and late.

Changes and the restart, at 40%, 50% and 60% of the due instants (day 2 of 3): the published file changes
(talks moved 30 minutes later, talks removed, talks added, all starting an hour or more after, so that no
notice already due depends on when the follow loop's next poll comes: it polls every 5 minutes); the poll
applies it as an import and live mode posts one change notice per batch in the changes channel (its due
instant is the poll, read from the database). At 50%, once half of that instant's notices have arrived, the
bot is stopped as a crash would stop it (`Scheduler.stop`: its engine's tasks cancelled where they stand,
nothing drained; then the client closes) and a new bot starts over the same database and the same emulator.
The simulated clock keeps running at real speed while the new bot starts, so the rest of that instant's
notices are late by the restart's length: they are counted apart.

Figures: notices expected (one per start time and channel of the programme in force, plus one per change
batch) against posted; duplicates (the same start time and channel twice, and talks announced twice, from the
emulator's messages) and missing; lateness p50/p99/max in simulated seconds and the count over 5 s; the posts'
states in the database; the schedule server's 200s and 304s; what the bot and the emulator logged at WARNING
and above; the real time of the run. Timings are measured, never asserted. Run with
`python -m benchmarks.live_bench [--quick]` (`--quick`: 100 talks in 5 rooms over two days).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from benchmarks.remote_emulator import (
    CountingEmulator,
    LogTally,
    RemoteEmulator,
    Server,
    Started,
    pipe_commands,
    spawned,
)
from benchmarks.scheduler_bench import (
    GLOBAL_LIMIT,
    LaunchClock,
    Setup,
    catalogue_template,
    running_bot,
    scheduler_of,
    tallied_logs,
)
from bot.db.gateway import Database, Session
from bot.highlights.store import from_db_instant
from bot.platforms.discord.client import HighlightsBot
from emulator.model import StoredMessage

LEAD_MINUTES = 5
DUE_WITHIN = 5.0  # seconds: the target
ZONE = ZoneInfo("Europe/Berlin")
DAY_START, DAY_END = 9 * 60, 18 * 60  # minutes after midnight, local
LENGTHS = (30, 30, 45, 60)  # minutes
GAPS = (0, 5, 10)  # minutes between two talks in a room
CHANGE_AT, CRASH_AT, SECOND_CHANGE_AT = 0.4, 0.5, 0.6  # shares of the due instants
HORIZON = timedelta(hours=1)  # changed talks start at least this long after the change is published
POLL_MINUTES = 5
UP_NEXT = "⏱ Starting in"  # the title of an "up next" notice
CHANGES = "Programme changes"  # the title of a change notice
_TALK_MARK = re.compile(r"\*\*(T\d{4})\b")


@dataclass(frozen=True)
class Sizes:
    """How big the run is, and how it is paced."""

    talks: int = 1_000
    rooms: int = 30
    days: int = 3
    own_channels: int = 20  # rooms announced in a channel of their own; the others in the main channel
    moved: int = 12  # per change batch
    cancelled: int = 6
    added: int = 6
    lead_in: float = 0.25  # real seconds before each due instant the clock is jumped to
    wait: float = 30.0  # real seconds to wait for one instant's notices before moving on


FULL = Sizes()
QUICK = Sizes(talks=100, rooms=5, days=2, own_channels=3, moved=3, cancelled=2, added=2)


# -- the programme ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One talk as the schedule publishes it."""

    ident: int
    start: datetime  # aware, Berlin time
    minutes: int
    room: str

    @property
    def title(self) -> str:
        """'T0042 ...': the mark the benchmark finds it by in a notice."""
        return f"T{self.ident:04d} Live systems, part {self.ident}"


def room_name(n: int) -> str:
    """The n-th room."""
    return f"Room {n + 1:02d}"


def room_channel(n: int) -> str:
    """The n-th room's own channel."""
    return f"room-{n + 1:02d}"


def programme(sizes: Sizes, first_day: date, rng: random.Random) -> list[Slot]:
    """`sizes.talks` talks: each room's day filled with talks and short gaps, then some left out at random."""
    candidates: list[tuple[date, int, int, int]] = []
    for day in range(sizes.days):
        when = first_day + timedelta(days=day)
        for room in range(sizes.rooms):
            minute = DAY_START + (room % 4) * 5  # staggered
            while minute + (length := rng.choice(LENGTHS)) <= DAY_END:
                candidates.append((when, room, minute, length))
                minute += length + rng.choice(GAPS)
    if len(candidates) < sizes.talks:
        raise ValueError(f"{sizes.rooms} rooms over {sizes.days} days hold {len(candidates)} talks, not {sizes.talks}")
    kept = sorted(rng.sample(range(len(candidates)), sizes.talks))
    slots = []
    for ident, index in enumerate(kept, 1):
        when, room, minute, length = candidates[index]
        start = datetime.combine(when, clock_time(minute // 60, minute % 60), ZONE)
        slots.append(Slot(ident, start, length, room_name(room)))
    return slots


def changed(slots: list[Slot], horizon: datetime, sizes: Sizes, rng: random.Random, first_ident: int) -> list[Slot]:
    """The programme with talks starting after `horizon` moved 30 minutes later, removed, and new ones added."""
    later = [slot for slot in slots if slot.start >= horizon]
    picked = rng.sample(later, sizes.moved + sizes.cancelled)
    moved = {slot.ident for slot in picked[: sizes.moved]}
    cancelled = {slot.ident for slot in picked[sizes.moved :]}
    result = [
        replace(slot, start=slot.start + timedelta(minutes=30)) if slot.ident in moved else slot
        for slot in slots
        if slot.ident not in cancelled
    ]
    rooms = sorted({slot.room for slot in slots})
    for n in range(sizes.added):
        result.append(Slot(first_ident + n, rng.choice(later).start, 30, rng.choice(rooms)))
    return sorted(result, key=lambda slot: (slot.start, slot.room, slot.ident))


def schedule_json(slots: list[Slot], days: list[date]) -> bytes:
    """A frab/pretalx schedule.json (version 1): the talks by day and room."""
    by_day: dict[date, dict[str, list[dict[str, Any]]]] = {day: {} for day in days}
    for slot in slots:
        by_day[slot.start.date()].setdefault(slot.room, []).append(
            {
                "id": slot.ident,
                "guid": f"00000000-0000-4000-8000-{slot.ident:012d}",
                "date": slot.start.isoformat(),
                "start": f"{slot.start:%H:%M}",
                "duration": f"{slot.minutes // 60:02d}:{slot.minutes % 60:02d}",
                "room": slot.room,
                "title": slot.title,
                "type": "Talk",
                "abstract": f"About {slot.title}.",
                "persons": [{"id": 10_000 + slot.ident, "public_name": f"Speaker {slot.ident}"}],
                "links": [],
            }
        )
    conference = {
        "acronym": "livebench",
        "title": "LiveBench",
        "start": days[0].isoformat(),
        "end": days[-1].isoformat(),
        "time_zone_name": ZONE.key,
        "days": [{"index": n, "date": day.isoformat(), "rooms": by_day[day]} for n, day in enumerate(days, 1)],
    }
    return json.dumps({"schedule": {"version": "1", "conference": conference}}).encode("utf-8")


@dataclass
class Plan:
    """The programmes published in turn, and what they make due: notices per (channel name, start)."""

    days: list[date]
    programmes: list[list[Slot]]  # the first, then one per change batch
    horizons: list[datetime]  # from when each programme decides the notices (the first: always)
    published_at: list[datetime]  # the due instant after which each change batch is published
    crash_at: datetime  # the due instant whose notices the crash cuts into
    expected: dict[tuple[str, datetime], set[str]] = field(default_factory=dict)  # talk marks per notice

    def due_instants(self) -> list[tuple[datetime, int]]:
        """Each due instant (start minus the lead) and how many notices fall due then, in order."""
        per_start = Counter(start for _, start in self.expected)
        lead = timedelta(minutes=LEAD_MINUTES)
        return [(start - lead, n) for start, n in sorted(per_start.items())]


def channel_name(room: str, sizes: Sizes) -> str:
    """Where a room's talks are announced: its own channel, or the main one."""
    n = int(room.split()[-1]) - 1
    return room_channel(n) if n < sizes.own_channels else "main"


def plan(sizes: Sizes, first_day: date, seed: int = 7) -> Plan:
    """The programme, two batches of changes to it, when each is published and when the crash comes."""
    rng = random.Random(seed)
    days = [first_day + timedelta(days=n) for n in range(sizes.days)]
    first = programme(sizes, first_day, rng)
    lead = timedelta(minutes=LEAD_MINUTES)
    instants = sorted({slot.start - lead for slot in first})
    published_at = [instants[int(len(instants) * share)] for share in (CHANGE_AT, SECOND_CHANGE_AT)]
    programmes, horizons = [first], [datetime.min.replace(tzinfo=UTC)]
    for at in published_at:
        horizon = at + HORIZON + lead
        programmes.append(changed(programmes[-1], horizon, sizes, rng, 1 + max(s.ident for p in programmes for s in p)))
        horizons.append(horizon)
    result = Plan(days, programmes, horizons, published_at, instants[int(len(instants) * CRASH_AT)])
    ends = [*horizons[1:], datetime.max.replace(tzinfo=UTC)]
    for slots, begins, ends_at in zip(programmes, horizons, ends, strict=True):
        for slot in slots:
            if begins <= slot.start < ends_at:
                key = (channel_name(slot.room, sizes), slot.start.astimezone(UTC))
                result.expected.setdefault(key, set()).add(slot.title.split()[0])
    return result


# -- the schedule's server ----------------------------------------------------------------------------------


class Publisher:
    """The published schedule.json with its ETag; counts the answers it gave."""

    def __init__(self) -> None:
        self.body = b""
        self.version = 0
        self.answers: Counter[int] = Counter()

    def publish(self, body: bytes) -> None:
        """A new version of the file."""
        self.body, self.version = body, self.version + 1

    async def answer(self, request: web.Request) -> web.Response:
        """The file, or 304 when the client holds this version."""
        etag = f'"v{self.version}"'
        status = 304 if request.headers.get("If-None-Match") == etag else 200
        self.answers[status] += 1
        if status == 304:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=self.body, headers={"ETag": etag}, content_type="application/json")


@contextlib.asynccontextmanager
async def serving(publisher: Publisher) -> AsyncIterator[str]:
    """The publisher on 127.0.0.1; yields the file's URL."""
    app = web.Application()
    app.router.add_get("/schedule.json", publisher.answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/schedule.json"
    finally:
        await runner.cleanup()


# -- the emulator, in its own process -----------------------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    """A post as the emulator received it: when (`perf_counter()`), where, its id and its embed."""

    at: float
    channel_id: int
    message_id: int
    title: str
    timestamp: str | None
    description: str


@dataclass(frozen=True)
class LiveStarted:
    """What the child tells the parent once it listens: the usual, and the server's channels by name."""

    started: Started
    channels: dict[str, int]


class NoticeEmulator(CountingEmulator):
    """Keeps each post's embed, and wakes a waiter at the n-th "up next" notice."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.notices: list[Posted] = []
        self.announced = 0
        self._announced_goal: tuple[int, asyncio.Future[None]] | None = None

    def record_post(self, message: StoredMessage) -> None:
        """Keep the post, then count it if it is an "up next" notice."""
        super().record_post(message)
        embed = (message.payload.get("embeds") or [{}])[0]
        title = str(embed.get("title") or "")
        self.notices.append(
            Posted(
                self.arrivals[-1], message.channel_id, message.id, title, embed.get("timestamp"),
                str(embed.get("description") or ""),
            )
        )  # fmt: skip
        if title.startswith(UP_NEXT):
            self.announced += 1
            self._check()

    def when_announced(self, count: int) -> asyncio.Future[None]:
        """Resolves once `count` "up next" notices have arrived."""
        self._announced_goal = (count, asyncio.get_running_loop().create_future())
        self._check()
        return self._announced_goal[1]

    def _check(self) -> None:
        goal = self._announced_goal
        if goal is not None and self.announced >= goal[0] and not goal[1].done():
            goal[1].set_result(None)


def serve_live(conn: Connection, own_channels: int) -> None:
    """The child's entry point: one server with a main, a changes and `own_channels` rooms' channels."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops this one
    tally = LogTally()
    logging.getLogger().addHandler(tally)
    try:
        asyncio.run(_serve_live(conn, own_channels, tally))
    finally:
        conn.close()


async def _serve_live(conn: Connection, own_channels: int, tally: LogTally) -> None:
    emulator = NoticeEmulator(validate=False)
    emulator.faults.set_global_rate_limit(GLOBAL_LIMIT)  # 429 over Discord's global limit, as it answers
    names = ("main", "changes", *(room_channel(n) for n in range(own_channels)))
    guild = emulator.world.add_guild("LiveBench", names)
    waiting: set[asyncio.Task[None]] = set()
    async with emulator:
        channels = {channel.name: channel.id for channel in guild.text_channels()}
        started = Started(
            emulator.api_base_url, emulator.gateway_url, emulator.token, len(emulator.world.guilds),
            [Server(guild.id, channels["main"])],
        )  # fmt: skip
        conn.send(("ok", LiveStarted(started, channels)))
        commands = pipe_commands(conn)
        # Two requests: wait for the n-th "up next" notice (answered when it comes), and every post so far.
        while (command := await commands.get()) not in (None, ("stop",)):
            assert command is not None  # noqa: S101 - the loop's condition
            if command[0] == "announced":
                answer = asyncio.create_task(_answer_when_announced(emulator, conn, *command[1:]))
                waiting.add(answer)
                answer.add_done_callback(waiting.discard)
            else:
                conn.send(("ok", (list(emulator.notices), dict(tally.counts), emulator.rate_limited())))
        for answer in waiting:
            answer.cancel()


async def _answer_when_announced(emulator: NoticeEmulator, conn: Connection, count: int, timeout: float) -> None:  # noqa: ASYNC109
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(emulator.when_announced(count), timeout)
    conn.send(("ok", (emulator.announced >= count, emulator.announced)))


class LiveEmulator(RemoteEmulator):
    """The parent's handle: the usual requests, the channels by name, and the posts with their embeds."""

    def __init__(self, process: Any, conn: Connection, started: LiveStarted) -> None:
        super().__init__(process, conn, started.started)
        self.channels = started.channels
        self.guild_id = started.started.servers[0].guild_id

    async def announced(self, count: int, *, timeout: float) -> tuple[bool, int]:  # noqa: ASYNC109
        """Wait for the `count`-th "up next" notice: whether it came within `timeout`, and how many have."""
        self._send("announced", count, timeout)
        came, count_now = await self._reply()
        return bool(came), int(count_now)

    async def notices(self) -> tuple[list[Posted], dict[str, int], int]:
        """Every post so far, what the emulator logged at WARNING and above, and its 429s."""
        self._send("notices")
        posted, logged, limited = await self._reply()
        return list(posted), dict(logged), int(limited)


@contextlib.asynccontextmanager
async def live_emulator(own_channels: int) -> AsyncIterator[LiveEmulator]:
    """The emulator process with the live server; stopped on leaving."""
    async with spawned(serve_live, own_channels, name="discord-emulator") as (process, conn, started):
        if not isinstance(started, LiveStarted):
            raise RuntimeError(f"the emulator process did not start: {started!r}")
        yield LiveEmulator(process, conn, started)


# -- the run ------------------------------------------------------------------------------------------------


class SettlingClock(LaunchClock):
    """`LaunchClock`, noting who sleeps on it until when, so the benchmark jumps only once the bot is quiet."""

    def __init__(self) -> None:
        super().__init__()
        self._asleep: dict[int, datetime] = {}
        self._sleeps = itertools.count()

    async def sleep_until(self, instant: datetime) -> None:
        """Sleep as `LaunchClock` does, noted while it lasts."""
        key = next(self._sleeps)
        self._asleep[key] = instant
        try:
            await super().sleep_until(instant)
        finally:
            del self._asleep[key]

    def sleepers(self) -> int | None:
        """How many sleep on the clock for an instant still ahead; None if one is about to wake."""
        now = self.now()
        return None if any(at <= now for at in self._asleep.values()) else len(self._asleep)


async def quiet(clock: SettlingClock, bot: HighlightsBot, *, timeout: float) -> bool:  # noqa: ASYNC109
    """Wait until the bot is idle: its engine and follow loop asleep on the clock, no notice in hand.

    Jumping while it still works (a change batch being planned, the engine reloading, a notice on its way)
    would charge that work the simulated time jumped over: milliseconds of real time, minutes on the clock.
    Idle means the follow loop asleep on the clock and the engine too (unless no notice waits, when it
    sleeps until woken), none of them about to wake, no worker task holding a notice, and the same a few
    milliseconds later.
    """
    deadline = time.perf_counter() + timeout
    seen: int | None = None
    while time.perf_counter() < deadline:
        busy = any(task.get_name().startswith("live-post") for task in asyncio.all_tasks())
        now = None if busy else clock.sleepers()
        if now is not None and now == seen and now >= 1 + bool(await bot.services.catalogue.db.read(_waiting)):
            return True
        seen = now
        await asyncio.sleep(0.005)
    return False


class Timeline:
    """Maps `perf_counter()` instants onto the simulated clock, from what it read at each jump."""

    def __init__(self) -> None:
        self._perf: list[float] = []
        self._simulated: list[datetime] = []

    def jump(self, clock: LaunchClock, instant: datetime) -> None:
        """Jump the clock and note where it landed."""
        clock.jump_to(instant)
        self._perf.append(time.perf_counter())
        self._simulated.append(clock.now())

    def at(self, perf: float) -> datetime:
        """The simulated time at `perf`: the last jump's, plus the real seconds since."""
        i = max(0, bisect_right(self._perf, perf) - 1)
        return self._simulated[i] + timedelta(seconds=perf - self._perf[i])


@dataclass
class Run:
    """What the run measured."""

    expected: int = 0  # "up next" notices
    posted: int = 0
    duplicates: int = 0  # posts beyond one per start time and channel
    missing: int = 0
    unexpected: int = 0  # posts for a start time and channel no programme gave
    talks_expected: int = 0
    talks_announced: int = 0
    talks_twice: int = 0
    talks_wrong_notice: int = 0  # announced in a notice other than the one expected
    changes_expected: int = 0
    changes_posted: int = 0
    lateness: list[float] = field(default_factory=list)  # each "up next" notice's, simulated seconds
    cut_by_crash: list[float] = field(default_factory=list)  # those of the instant the crash cut into
    change_lateness: list[float] = field(default_factory=list)
    instants: int = 0
    timeouts: int = 0  # due instants whose notices had not all come within the wait
    restless: int = 0  # due instants after which the bot was not idle within the wait (jumped all the same)
    at_crash: tuple[int, int] = (0, 0)  # of the crash's instant: notices arrived, notices due
    crash_states: list[tuple[str, str, int]] = field(default_factory=list)
    restart_seconds: float = 0.0  # from the crash to the new bot's engine asleep on the clock
    states: list[tuple[str, str, str | None, int]] = field(default_factory=list)
    answers: dict[int, int] = field(default_factory=dict)  # the schedule server's, by status
    rate_limited: int = 0
    logged: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the whole run, real time


@dataclass
class Report:
    """Everything measured, and the printed lines."""

    run: Run | None = None
    lines: list[str] = field(default_factory=list)


def _states(conn: Session) -> list[tuple[str, str, str | None, int]]:
    sql = "SELECT kind, state, error, COUNT(*) FROM live_posts GROUP BY kind, state, error ORDER BY COUNT(*) DESC"
    return [(str(k), str(s), e, int(n)) for k, s, e, n in conn.execute(sql).fetchall()]


def _waiting(conn: Session) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM live_posts WHERE state IN ('pending', 'sending')").fetchone()[0])


def _change_dues(conn: Session) -> dict[int, datetime]:
    sql = "SELECT message_id, due_at FROM live_posts WHERE kind = 'change' AND message_id IS NOT NULL"
    return {int(m): from_db_instant(str(d)) for m, d in conn.execute(sql).fetchall()}


async def set_up_live(bot: HighlightsBot, emulator: LiveEmulator, url: str, sizes: Sizes) -> str:
    """Follow the URL (the bot's loop makes the first poll), then set the event up live; its slug."""
    follows = bot.services.follows
    follow = await follows.follow(url, POLL_MINUTES)
    deadline = time.perf_counter() + 120.0
    while (follow := await follows.get(follow.id)).event is None:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the first poll did not apply the schedule: {follow.last_summary}")
        await asyncio.sleep(0.05)
    event = follow.event
    live = bot.services.live
    channels = emulator.channels
    await live.setup(
        emulator.guild_id, channels["main"], event, lead_minutes=LEAD_MINUTES, changes_channel_id=channels["changes"]
    )
    for n in range(sizes.own_channels):
        await live.set_room(emulator.guild_id, event, room_name(n), channels[room_channel(n)])
    return event


async def crash(bot: HighlightsBot) -> None:
    """Stop the bot as a crash would: its engine's tasks cancelled where they stand, nothing drained."""
    await scheduler_of(bot).stop()


async def replay(setup: Setup, emulator: LiveEmulator, plan_: Plan, sizes: Sizes) -> Run:
    """Follow, set up, then walk the due instants with two change batches and a crash; see the module docstring."""
    run = Run()
    publisher = Publisher()
    publisher.publish(schedule_json(plan_.programmes[0], plan_.days))
    instants = plan_.due_instants()
    run.instants = len(instants)
    clock, timeline = SettlingClock(), Timeline()
    timeline.jump(clock, instants[0][0] - timedelta(hours=1))
    batches = list(zip(plan_.published_at, plan_.programmes[1:], strict=True))
    total, crashed_at, cut = 0, 0.0, plan_.crash_at
    async with serving(publisher) as url, contextlib.AsyncExitStack() as stack:
        bot = await stack.enter_async_context(running_bot(setup, clock, GLOBAL_LIMIT))
        await set_up_live(bot, emulator, url, sizes)
        await quiet(clock, bot, timeout=sizes.wait)
        for due, count in instants:
            while batches and batches[0][0] < due:
                publisher.publish(schedule_json(batches.pop(0)[1], plan_.days))
            before, total = total, total + count
            timeline.jump(clock, due - timedelta(seconds=sizes.lead_in))
            if due == cut:
                _, arrived = await emulator.announced(before + (count + 1) // 2, timeout=sizes.wait)
                await crash(bot)
                crashed_at = time.perf_counter()
                run.at_crash = (arrived - before, count)
                await stack.aclose()
                db = await Database.open(setup.database)
                try:
                    run.crash_states = [(k, s, n) for k, s, _, n in await db.read(_states)]
                finally:
                    await db.close()
                bot = await stack.enter_async_context(running_bot(setup, clock, GLOBAL_LIMIT))
                await quiet(clock, bot, timeout=sizes.wait)
                run.restart_seconds = time.perf_counter() - crashed_at
            came, arrived = await emulator.announced(total, timeout=sizes.wait)
            if not came:
                run.timeouts += 1
                total = arrived  # wait for the next instant's own notices, not for this one's missing ones
            if not await quiet(clock, bot, timeout=sizes.wait):
                run.restless += 1
        timeline.jump(clock, instants[-1][0] + timedelta(hours=2))  # the last poll, and anything left
        await asyncio.sleep(2.0)  # a late duplicate would show up here
        run.states = await bot.services.catalogue.db.read(_states)
        change_dues = await bot.services.catalogue.db.read(_change_dues)
    posted, emulator_logged, run.rate_limited = await emulator.notices()
    run.answers = dict(publisher.answers)
    _tally(run, plan_, emulator, posted, timeline, change_dues, cut)
    run.logged = [f"  the emulator logged {n}x {what}" for what, n in Counter(emulator_logged).most_common()]
    return run


def _tally(
    run: Run,
    plan_: Plan,
    emulator: LiveEmulator,
    posted: list[Posted],
    timeline: Timeline,
    change_dues: dict[int, datetime],
    cut: datetime,
) -> None:
    """Posts against the plan: duplicates, missing, lateness."""
    names = {channel: name for name, channel in emulator.channels.items()}
    lead = timedelta(minutes=LEAD_MINUTES)
    seen: Counter[tuple[str, datetime]] = Counter()
    talks: Counter[str] = Counter()
    expected_in = {mark: key for key, marks in plan_.expected.items() for mark in marks}
    for post in posted:
        if post.title.startswith(CHANGES):
            run.changes_posted += 1
            due = change_dues.get(post.message_id)
            if due is not None:
                run.change_lateness.append((timeline.at(post.at) - due).total_seconds())
            continue
        if not post.title.startswith(UP_NEXT) or post.timestamp is None:
            continue
        start = datetime.fromisoformat(post.timestamp).astimezone(UTC)
        key = (names.get(post.channel_id, str(post.channel_id)), start)
        seen[key] += 1
        late = (timeline.at(post.at) - (start - lead)).total_seconds()
        (run.cut_by_crash if start - lead == cut else run.lateness).append(late)
        for mark in _TALK_MARK.findall(post.description):
            talks[mark] += 1
            run.talks_wrong_notice += expected_in.get(mark) != key
    run.expected = len(plan_.expected)
    run.posted = sum(seen.values())
    run.duplicates = sum(n - 1 for n in seen.values() if n > 1)
    run.missing = sum(1 for key in plan_.expected if not seen[key])
    run.unexpected = sum(1 for key in seen if key not in plan_.expected)
    run.talks_expected = len(expected_in)
    run.talks_announced = sum(1 for mark in expected_in if talks[mark])
    run.talks_twice = sum(n - 1 for n in talks.values() if n > 1)
    run.changes_expected = len(plan_.published_at)


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


def _spread(samples: list[float]) -> str:
    if not samples:
        return "none"
    over = sum(1 for s in samples if s > DUE_WITHIN)
    return (
        f"p50 {_quantile(samples, 50):.3f} s, p99 {_quantile(samples, 99):.3f} s, max {max(samples):.3f} s; "
        f"{over} over {DUE_WITHIN:.0f} s"
    )


async def measure(sizes: Sizes, folder: Path, echo: Callable[[str], None]) -> Report:
    """One run at `sizes` (see the module docstring)."""
    report = Report()

    def say(line: str) -> None:
        report.lines.append(line)
        echo(line)

    started = time.perf_counter()
    first_day = (datetime.now(ZONE) + timedelta(days=2)).date()  # ahead: the clock only jumps forward
    plan_ = plan(sizes, first_day)
    template = catalogue_template(folder)
    database = folder / "live.sqlite3"
    shutil.copy(template, database)
    with tallied_logs() as tally:
        async with live_emulator(sizes.own_channels) as emulator:
            setup = Setup(emulator, database, plan_.due_instants()[0][0], [])
            say(f"{sizes.talks:,} talks in {sizes.rooms} rooms over {sizes.days} days ({ZONE.key}), "
                f"{sizes.own_channels} rooms with a channel of their own, the others in the main channel; "
                f"{len(plan_.expected):,} \"up next\" notices due at {len(plan_.due_instants())} instants "
                f"(lead {LEAD_MINUTES} min), 2 change batches of {sizes.moved} moved, {sizes.cancelled} removed and "
                f"{sizes.added} added talks; Discord's limit of {GLOBAL_LIMIT}/s on both sides")  # fmt: skip
            report.run = run = await replay(setup, emulator, plan_, sizes)
    run.logged = [*tally.lines("  "), *run.logged]
    run.seconds = time.perf_counter() - started
    _report(run, say)
    return report


def _report(run: Run, say: Callable[[str], None]) -> None:
    checks = "each exactly once" if not (run.duplicates or run.missing or run.unexpected) else (
        f"{run.duplicates} DUPLICATES, {run.missing} MISSING, {run.unexpected} UNEXPECTED")  # fmt: skip
    say(f"\"up next\" notices: {run.posted:,} posted of {run.expected:,} expected ({checks}); talks announced: "
        f"{run.talks_announced:,} of {run.talks_expected:,}, {run.talks_twice} twice, "
        f"{run.talks_wrong_notice} in another notice than expected; {run.timeouts} instants of {run.instants} "
        f"not complete within the wait, {run.restless} after which the bot was not idle")  # fmt: skip
    say(f"change notices: {run.changes_posted} posted of {run.changes_expected} expected (one per batch)")
    say(f"lateness of \"up next\" notices behind their due instant, simulated seconds ({len(run.lateness):,}, "
        f"the crash's instant apart): {_spread(run.lateness)}")  # fmt: skip
    say(f"  the instant the crash cut into: {run.at_crash[0]} of its {run.at_crash[1]} notices had arrived; "
        f"the rest, posted by the new bot: {_spread(run.cut_by_crash)}")  # fmt: skip
    say(f"  change notices behind the poll that found the change: {_spread(run.change_lateness)}")
    states = ", ".join(f"{n} {kind} {state}" for kind, state, n in run.crash_states)
    say(f"crash: in the database then: {states or 'nothing'}; the new bot was connected with its engine asleep "
        f"{run.restart_seconds:.1f} s later")  # fmt: skip
    say("posts in the database afterwards: " + ", ".join(f"{n} {k} {s}" for k, s, _, n in run.states))
    for kind, state, error, n in run.states:
        if error:
            say(f"  {n} {kind} {state}: {error}")
    say(f"schedule server: {run.answers.get(200, 0)} answered 200, {run.answers.get(304, 0)} answered 304; "
        f"the emulator answered {run.rate_limited} requests 429")  # fmt: skip
    for line in run.logged or ["  nothing logged at WARNING or above"]:
        say(line)
    say(f"real time of the run: {run.seconds:.0f} s")


def run(quick: bool = False, echo: Callable[[str], None] | None = None) -> list[str]:
    """Every figure (see the module docstring); the printed lines."""
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(measure(QUICK if quick else FULL, Path(folder), echo or (lambda _: None))).lines


def main(argv: list[str]) -> None:
    """`python -m benchmarks.live_bench [--quick]`: print the figures as they come."""
    run("--quick" in argv, echo=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
