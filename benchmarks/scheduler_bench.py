"""Scheduled posts at scale: 10,000 schedules across 10,000 servers, through the real bot and the emulator.

Per run: a fresh emulator (validation off, for speed) holding 10,000 servers of one channel each, created
before the bot connects, in a child process of its own (`benchmarks.remote_emulator`: its own interpreter
and event loop), so that its CPU is not charged to the bot; the bot reaches it only over loopback HTTP and
websocket, as it would reach Discord, and the two processes share the machine's CPUs. In this process: a
fresh database with the bundled catalogue and one daily schedule per server, added through
`ScheduleRepository.add`; the real `HighlightsBot` on a clock that runs at real speed but that the benchmark
can jump forward (`LaunchClock`). All schedules are due at the same instant, a day ahead; once the bot holds
every server, the clock jumps to that instant and the time until the emulator has every post is measured
(the emulator notes each arrival with `perf_counter()`, CLOCK_MONOTONIC on Linux and so comparable across
the processes), with a check that each channel got exactly one.

Figures:
- the scheduler's cost per wake-up with 10,000 schedules loaded and nothing due, from the moment it is
  woken to the moment it sleeps on the clock again (a change to one schedule re-reads that one from SQLite);
  and a full reload of all 10,000 (what start-up and recovery from an error cost);
- memory: what the scheduler's own structures hold (tracemalloc, a second scheduler over the same
  database), and the peak RSS of the bot's process and of the emulator's;
- posting 10,000 due posts with the global limit lifted, and with it at 50 per second on both sides (the
  bot's limiter, and the emulator answering 429 over 50 in a second); `--quick` posts 1,000 at 50/s (the
  other 9,000 schedules stay loaded, due a day later). The limit bounds that run: the first second's 50 may
  go at once, so N posts take at least N/50 - 1 seconds; what is measured is how close the bot comes to that
  without a single 429 (it counts each post until a second after Discord answered it, see RateLimiter);
- where the time goes while posting with the limit lifted (cProfile of the bot process's main thread, each
  function's own time charged to the nearest caller that is discord.py, the bot's code or the event loop;
  the CPU of other threads is SQLite's, in the database's worker threads, and a little for reading the
  emulator's replies), with the emulator process's CPU over the same posts;
- the garbage collector's passes in the bot's process while posting, and a tally of what the bot and the
  emulator logged at WARNING and above.

Timings are measured, never asserted. Run with `python -m benchmarks.scheduler_bench [--quick]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import logging
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from benchmarks.coldstart import peak_rss_mb, reset_peak_rss
from benchmarks.remote_emulator import LogTally, RemoteEmulator, remote_emulator
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.writer import apply_document
from bot.config import Settings
from bot.db.connection import sync_db
from bot.db.gateway import Database
from bot.highlights.clock import FINAL_STRETCH, SPIN_AFTER, spin_until
from bot.highlights.ports import PostResult, Schedule
from bot.highlights.rules import ScheduleRule, next_slot
from bot.highlights.scheduler import Scheduler, SchedulerConfig
from bot.highlights.store import ScheduleRepository, SqliteScheduleStore
from bot.platforms.discord.client import HighlightsBot
from emulator.harness import fast_client_options, run_client

if TYPE_CHECKING:
    from emulator.server import DiscordEmulator

SCHEDULES = 10_000
LIMITED_POSTS = 10_000
QUICK_LIMITED_POSTS = 1_000
GLOBAL_LIMIT = 50
WAKES = 200
RELOADS = 5
POST_RATE_TARGET = 1_000.0  # posts per second, limit lifted
WAKE_TARGET_MS = 10.0
BOUND_S = 200.0  # 10,000 posts at exactly 50 per second: the limit bounds that run
RULE = ScheduleRule(clock_time(9, 0), ZoneInfo("UTC"))


# -- a clock the benchmark can jump ----------------------------------------------------------------------


class LaunchClock:
    """Real time plus an offset the benchmark can jump forward; it notes each time someone sleeps on it.

    Jumping wakes every sleeper to re-check, so "everything is due now" happens at a moment the benchmark
    chooses (after the bot holds every server), at real speed afterwards (the rate limiter's seconds are
    real seconds).
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._sleepers: set[asyncio.Future[None]] = set()
        self._sleep_waiters: list[asyncio.Future[float]] = []

    def now(self) -> datetime:
        """Real time plus the offset."""
        return datetime.now(UTC) + self._offset

    async def sleep_until(self, instant: datetime) -> None:
        """Wait until `instant` on this clock, re-checking after every jump."""
        entered = time.perf_counter()
        waiters, self._sleep_waiters = self._sleep_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(entered)
        loop = asyncio.get_running_loop()
        stretch = FINAL_STRETCH if (instant - self.now()).total_seconds() >= SPIN_AFTER else 0.0
        while (delay := (instant - self.now()).total_seconds()) > stretch:
            # A timer, as SystemClock sets, that a jump may also end early.
            wake: asyncio.Future[None] = loop.create_future()
            timer = loop.call_later(min(delay - stretch, 300.0), _wake, wake)
            self._sleepers.add(wake)
            try:
                await wake
            finally:
                timer.cancel()
                self._sleepers.discard(wake)
        await spin_until(lambda: (instant - self.now()).total_seconds())  # the final stretch, as SystemClock's

    def jump_to(self, instant: datetime) -> None:
        """Move this clock to `instant` (forward only) and wake the sleepers."""
        self._offset = max(self._offset, instant - datetime.now(UTC))
        for wake in self._sleepers:
            _wake(wake)

    def next_sleep(self) -> asyncio.Future[float]:
        """Resolves (with `perf_counter()`) when someone next starts sleeping on this clock."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._sleep_waiters.append(waiter)
        return waiter


def _wake(sleeper: asyncio.Future[None]) -> None:
    if not sleeper.done():
        sleeper.set_result(None)


# -- set-up --------------------------------------------------------------------------------------------------


def catalogue_template(folder: Path) -> Path:
    """A database holding the bundled catalogue, copied for each run."""
    path = folder / "catalogue.sqlite3"
    with sync_db(path) as conn:
        apply_document(conn, load_native(BUNDLED_CATALOGUE))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@dataclass
class Setup:
    """One run's world: the emulator (in its own process), the database and when the due schedules are due."""

    emulator: RemoteEmulator
    database: Path
    due: datetime
    due_channels: list[int]
    schedule_ids: list[int] = field(default_factory=list)


async def build(template: Path, folder: Path, name: str, emulator: RemoteEmulator, *, due: int) -> Setup:
    """A database with a schedule in each of the emulator's servers; `due` of them due first."""
    database = folder / f"{name}.sqlite3"
    shutil.copy(template, database)
    now = datetime.now(UTC)
    first = next_slot(RULE, now + timedelta(hours=1))  # at least an hour ahead: nothing is due by accident
    later = next_slot(RULE, first.due)  # the day after
    setup = Setup(emulator, database, first.due, [])
    db = await Database.open(database)
    try:
        schedules = ScheduleRepository(db)
        for n, server in enumerate(emulator.servers):
            slot = first if n < due else later
            record = await schedules.add(server.guild_id, server.channel_id, RULE, slot, now=now)
            setup.schedule_ids.append(record.id)
            if n < due:
                setup.due_channels.append(server.channel_id)
    finally:
        await db.close()
    return setup


@contextlib.asynccontextmanager
async def running_bot(setup: Setup, clock: LaunchClock, per_second: int | None) -> AsyncIterator[HighlightsBot]:
    """The bot, started against the (already running) emulator, holding every server."""
    emulator = setup.emulator
    settings = Settings(database=setup.database, discord_token=emulator.token)
    bot = HighlightsBot(
        settings, clock=clock, scheduler_config=SchedulerConfig(per_second=per_second), **fast_client_options()
    )
    # `run_client` reads only the emulator's `api_base_url`, `gateway_url` and `token`, which the handle has.
    async with run_client(cast("DiscordEmulator", emulator), bot, ready_timeout=300.0):
        await holding(bot, emulator.guilds, timeout=300.0)
        yield bot


async def holding(bot: HighlightsBot, guilds: int, *, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until the bot holds `guilds` servers, each available (its GUILD_CREATE read).

    READY lists every server as unavailable, and `on_ready` may come before the last GUILD_CREATE when the
    emulator's stream of them pauses longer than `guild_ready_timeout`; a post to a server still unavailable
    fails and is retried a minute later.
    """
    deadline = time.perf_counter() + timeout
    while (held := sum(1 for guild in bot.guilds if not guild.unavailable)) < guilds:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the bot holds {held:,} of {guilds:,} servers after {timeout:.0f} s")
        await asyncio.sleep(0.05)


def scheduler_of(bot: HighlightsBot) -> Scheduler:
    """The scheduler the highlights cog runs."""
    for cog in bot.cogs.values():
        scheduler = getattr(cog, "scheduler", None)
        if isinstance(scheduler, Scheduler):
            return scheduler
    raise RuntimeError("no cog holds a scheduler")


# -- measuring -----------------------------------------------------------------------------------------------


@dataclass
class PostRun:
    """What one posting run measured."""

    posts: int
    seconds: float
    duplicates: int
    missing: int
    rate_limited: int
    busiest_second: int
    sent_rows: int
    emulator_cpu: float = 0.0  # the emulator process's CPU seconds from the jump to the last post
    emulator_rss_mb: float = 0.0  # the emulator process's peak RSS
    emulator_logged: dict[str, int] = field(default_factory=dict)  # what it logged at WARNING and above

    @property
    def rate(self) -> float:
        """Posts per second."""
        return self.posts / self.seconds if self.seconds > 0 else float("inf")


async def wake_costs(bot: HighlightsBot, clock: LaunchClock, ids: list[int], wakes: int) -> tuple[list[float], float]:
    """Seconds per wake-up on a change to one (not due) schedule; and the process CPU seconds per wake-up."""
    scheduler = scheduler_of(bot)
    rng = random.Random(5)
    await settle_scheduler(clock)
    samples = []
    cpu = time.process_time()
    for _ in range(wakes):
        asleep = clock.next_sleep()
        started = time.perf_counter()
        scheduler.notify_changed(rng.choice(ids))
        samples.append(await asyncio.wait_for(asleep, 10.0) - started)
    return samples, (time.process_time() - cpu) / wakes


async def reload_costs(bot: HighlightsBot, clock: LaunchClock, reloads: int) -> list[float]:
    """Seconds per full reload of every schedule (`Scheduler.reschedule`)."""
    scheduler = scheduler_of(bot)
    samples = []
    for _ in range(reloads):
        asleep = clock.next_sleep()
        started = time.perf_counter()
        scheduler.reschedule()
        samples.append(await asyncio.wait_for(asleep, 60.0) - started)
    return samples


async def settle_scheduler(clock: LaunchClock) -> None:
    """Wait until the scheduler has loaded the schedules and sleeps (it loads them as the bot starts)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(clock.next_sleep(), 0.5)


async def post_all(setup: Setup, clock: LaunchClock, bot: HighlightsBot) -> PostRun:
    """Jump to the due instant; time until every due post arrived; check one post per channel."""
    emulator = setup.emulator
    count = len(setup.due_channels)
    done = emulator.when_posted(count, timeout=600.0)  # asked now; answered by the emulator at the count-th post
    started = time.perf_counter()
    clock.jump_to(setup.due)
    arrived = await asyncio.wait_for(done, 660.0)
    seconds = arrived.at - started  # both perf_counter(): CLOCK_MONOTONIC, the same clock in both processes
    await asyncio.sleep(0.5)  # a late duplicate would show up here
    stats = await emulator.stats()
    per_channel = Counter(stats.per_channel)
    duplicates = sum(n - 1 for n in per_channel.values() if n > 1)
    missing = sum(1 for channel in setup.due_channels if per_channel[channel] == 0)
    row = await bot.services.catalogue.db.read(
        lambda conn: conn.execute("SELECT COUNT(*) FROM schedule_attempts WHERE state = 'sent'").fetchone()
    )
    return PostRun(
        posts=len(stats.arrivals),
        seconds=seconds,
        duplicates=duplicates,
        missing=missing,
        rate_limited=stats.rate_limited,
        busiest_second=busiest_second(stats.arrivals),
        sent_rows=int(row[0]) if row else 0,
        emulator_cpu=arrived.cpu_seconds,
        emulator_rss_mb=stats.peak_rss_mb,
        emulator_logged=stats.logged,
    )


def busiest_second(arrivals: list[float]) -> int:
    """The most arrivals in any one-second window."""
    ordered = sorted(arrivals)
    return max((bisect_left(ordered, at + 1.0) - i for i, at in enumerate(ordered)), default=0)


class _IdlePoster:
    """A poster that is never called (nothing is due while memory is measured)."""

    async def post(self, schedule: Schedule, talk: str, nonce: str) -> PostResult:
        raise RuntimeError("nothing should be due while the scheduler's memory is measured")


async def scheduler_memory(database: Path) -> tuple[int, int]:
    """Bytes a scheduler's structures hold with every schedule loaded, and the peak while loading."""
    clock = LaunchClock()
    db = await Database.open(database)  # a gateway of its own: no bot is running meanwhile
    try:
        store = SqliteScheduleStore(db, clock=clock)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            scheduler = Scheduler(store, _IdlePoster(), clock, SchedulerConfig(per_second=None))
            asleep = clock.next_sleep()
            await scheduler.start()
            await asyncio.wait_for(asleep, 120.0)
            held, peak = tracemalloc.get_traced_memory()
            await scheduler.stop()
        finally:
            tracemalloc.stop()
    finally:
        await db.close()
    return held - base, peak - base


# -- what the bot logged ------------------------------------------------------------------------------------


@contextlib.contextmanager
def tallied_logs() -> Iterator[LogTally]:
    """Count (and do not print) what is logged at WARNING and above inside the block."""
    tally = LogTally()
    root = logging.getLogger()
    root.addHandler(tally)
    try:
        yield tally
    finally:
        root.removeHandler(tally)


class GcWatch:
    """Notes how long each of the garbage collector's passes takes."""

    def __init__(self) -> None:
        self.passes: list[tuple[int, float]] = []  # (generation, seconds)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.passes.append((info["generation"], time.perf_counter() - self._started))

    def line(self, indent: str = "") -> str:
        """Full collections (which walk every tracked object) and the rest."""
        full = [seconds for generation, seconds in self.passes if generation == 2]
        young = [seconds for generation, seconds in self.passes if generation < 2]
        longest = f", longest {max(full) * 1e3:.0f} ms, {sum(full):.2f} s in all" if full else ""
        return (
            f"{indent}garbage collector: {len(full)} full collection{'' if len(full) == 1 else 's'}{longest}; "
            f"{len(young)} of the young generations, {sum(young):.2f} s in all"
        )


@contextlib.contextmanager
def watched_gc() -> Iterator[GcWatch]:
    """Time the garbage collector's passes inside the block."""
    watch = GcWatch()
    gc.callbacks.append(watch)
    try:
        yield watch
    finally:
        gc.callbacks.remove(watch)


# -- where the time goes -------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
# This project's code, by path under ROOT; the benchmark's own code (clock, counters) is charged to its callers.
_OURS: tuple[tuple[str, str], ...] = (
    ("emulator/", "emulator"),
    ("bot/db/", "bot: database"),  # the gateway (bot/db/gateway.py) and its batched writer (bot/db/batched.py)
    ("bot/highlights/store.py", "bot: database"),
    ("bot/highlights/service.py", "bot: other code"),
    ("bot/highlights/", "bot: scheduler"),
    ("bot/", "bot: other code"),
    ("cogs/", "bot: other code"),
)
# Libraries, by path fragment.
_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("/aiohttp/web", "emulator"),
    ("/jsonschema/", "emulator"),
    ("/discord/", "discord.py"),
    ("/aiohttp/client", "discord.py"),
    ("/aiohttp/connector", "discord.py"),
)
_LOOP = "event loop and other"
_IDLE_NAME = "idle"


def _idle(func: Func) -> bool:
    """Waiting in the selector for something to happen (C calls are not profiled: their time is the caller's)."""
    return func[2] == "select" and func[0].replace("\\", "/").endswith("/selectors.py")


Func = tuple[str, int, str]


def _category(func: Func) -> str | None:
    path = func[0].replace("\\", "/")
    for fragment, name in _LIBRARIES:
        if fragment in path:
            return name
    try:
        inside = Path(func[0]).relative_to(ROOT).as_posix()
    except ValueError:
        return None
    for prefix, name in _OURS:
        if inside.startswith(prefix):
            return name
    return None


def attribute(stats: pstats.Stats) -> dict[str, float]:
    """Own time per category; shared code (json, asyncio, aiohttp's helpers) goes to its nearest caller's."""
    table: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    shares: dict[Func, dict[str, float]] = {}

    def share(func: Func, depth: int) -> dict[str, float]:
        found = shares.get(func)
        if found is not None:
            return found
        category = _category(func)
        if category is not None:
            result = {category: 1.0}
        elif depth > 40 or func not in table or not table[func][4]:
            result = {_LOOP: 1.0}
        else:
            shares[func] = {_LOOP: 1.0}  # a cycle ends at the loop
            callers: dict[Func, tuple[int, int, float, float]] = table[func][4]
            total = sum(c[3] for c in callers.values()) or float(len(callers))
            result = {}
            for caller, entry in callers.items():
                weight = (entry[3] if total else 1.0) / total
                for name, part in share(caller, depth + 1).items():
                    result[name] = result.get(name, 0.0) + weight * part
        shares[func] = result
        return result

    totals: dict[str, float] = {}
    for func, entry in table.items():
        if _idle(func):
            totals[_IDLE_NAME] = totals.get(_IDLE_NAME, 0.0) + entry[2]
            continue
        for name, part in share(func, 0).items():
            totals[name] = totals.get(name, 0.0) + part * entry[2]
    return totals


@dataclass
class Profile:
    """Where a posting run's time went."""

    wall: float
    main_cpu: float
    other_cpu: float
    own: dict[str, float]
    top: list[tuple[str, float]]


async def profiled_post_all(setup: Setup, clock: LaunchClock, bot: HighlightsBot) -> tuple[PostRun, Profile]:
    """`post_all` under cProfile, with main-thread and other threads' CPU time."""
    # C functions are not profiled: the per-call cost of profiling each dict.get or time() would swamp
    # tight loops such as the emulator's channel lookup. Their time counts as their Python caller's own.
    profiler = cProfile.Profile(builtins=False)
    wall, main_cpu, process_cpu = time.perf_counter(), time.thread_time(), time.process_time()
    profiler.enable()
    try:
        run = await post_all(setup, clock, bot)
    finally:
        profiler.disable()
    wall = run.seconds
    main = time.thread_time() - main_cpu
    other = time.process_time() - process_cpu - main
    stats = pstats.Stats(profiler)
    table: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    busiest = sorted((item for item in table.items() if not _idle(item[0])), key=lambda item: -item[1][2])
    top = [(f"{Path(f[0]).name}:{f[2]}" if f[0] != "~" else f[2], e[2]) for f, e in busiest[:8]]
    return run, Profile(wall, main, other, attribute(stats), top)


# -- the runs ------------------------------------------------------------------------------------------------


@dataclass
class Sizes:
    """How big each part is."""

    servers: int = SCHEDULES
    limited_posts: int = LIMITED_POSTS
    lifted_posts: int = SCHEDULES
    profile_posts: int = SCHEDULES
    wakes: int = WAKES
    reloads: int = RELOADS


def sizes_for(quick: bool) -> Sizes:
    """Full: every figure at 10,000; quick: the 50/s run posts 1,000 and the profiled run 3,000."""
    return Sizes(limited_posts=QUICK_LIMITED_POSTS, profile_posts=3_000) if quick else Sizes()


@dataclass
class Report:
    """Everything measured, and the printed lines."""

    lines: list[str] = field(default_factory=list)
    wakes: list[float] = field(default_factory=list)
    reloads: list[float] = field(default_factory=list)
    lifted: PostRun | None = None
    profiled: PostRun | None = None
    profile: Profile | None = None
    limited: PostRun | None = None
    held_bytes: int = 0
    expected: dict[str, int] = field(default_factory=dict)  # due posts per run


async def measure(sizes: Sizes, folder: Path, echo: Callable[[str], None]) -> Report:
    """Every run, one after another, each with a fresh emulator process, database and bot."""
    report = Report()
    own_peak = reset_peak_rss()  # `python -m benchmarks` ran other benchmarks in this process before

    def say(line: str) -> None:
        report.lines.append(line)
        echo(line)

    template = catalogue_template(folder)
    n = sizes.servers
    say(f"{n:,} schedules across {n:,} servers, one channel each; the emulator runs in its own process "
        f"(validation off), the bot and SQLite in this one; the two processes share {os.cpu_count()} CPUs")  # fmt: skip

    # 1. Limit lifted: wake-ups with nothing due, then everything due at once.
    started = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        emulator = await stack.enter_async_context(remote_emulator(n))
        spawned = time.perf_counter() - started
        started = time.perf_counter()
        setup = await build(template, folder, "lifted", emulator, due=sizes.lifted_posts)
        built = time.perf_counter() - started
        clock = LaunchClock()
        started = time.perf_counter()
        tally = stack.enter_context(tallied_logs())
        bot = await stack.enter_async_context(running_bot(setup, clock, None))
        connected = time.perf_counter() - started
        say(f"set-up (not counted): emulator process started holding {n:,} servers in {spawned:.1f} s; "
            f"{n:,} schedules added in {built:.1f} s; "
            f"bot connected and holding {n:,} servers in {connected:.1f} s")  # fmt: skip
        report.wakes, wake_cpu = await wake_costs(bot, clock, setup.schedule_ids, sizes.wakes)
        report.reloads = await reload_costs(bot, clock, sizes.reloads)
        wake_p50 = _ms(report.wakes, 50)
        say(f"scheduler wake-up with {n:,} loaded and nothing due (woken by a change to one schedule, which "
            f"it re-reads from SQLite), until it sleeps again: p50 {wake_p50:.2f} ms, "
            f"p99 {_ms(report.wakes, 99):.2f} ms, max {max(report.wakes) * 1e3:.2f} ms over {len(report.wakes)}; "
            f"process CPU {wake_cpu * 1e3:.2f} ms per wake-up; target < {WAKE_TARGET_MS:.0f} ms: "
            f"{_met(wake_p50 < WAKE_TARGET_MS)}")  # fmt: skip
        say(f"scheduler full reload of all {n:,} (at start-up, or after an error): "
            f"median {statistics.median(report.reloads) * 1e3:.0f} ms over {len(report.reloads)}")  # fmt: skip
        report.expected["lifted"] = len(setup.due_channels)
        with watched_gc() as collector:
            report.lifted = lifted = await post_all(setup, clock, bot)
        say(_post_line("posting, limit lifted", lifted, len(setup.due_channels))
            + f"; target >= {POST_RATE_TARGET:,.0f}/s: {_met(lifted.rate >= POST_RATE_TARGET)}")  # fmt: skip
        say(collector.line("  ") + " in the bot's process while posting")
    for line in _log_lines(tally, lifted):
        say(line)
    held, peak = await scheduler_memory(setup.database)
    report.held_bytes = held
    before = "" if own_peak else " (with whatever ran before in it)"
    say(f"memory: the scheduler's structures hold {held / 1e6:.1f} MB for {n:,} schedules "
        f"({held / n:,.0f} B each; {peak / 1e6:.1f} MB at peak while loading; tracemalloc); peak RSS "
        f"{peak_rss_mb():.0f} MB for the bot's process{before}, {lifted.emulator_rss_mb:.0f} MB for the "
        f"emulator's (each holding {n:,} servers)")  # fmt: skip

    # 2. Where the time goes with the limit lifted.
    with tallied_logs() as tally:
        async with remote_emulator(n) as emulator:
            setup = await build(template, folder, "profiled", emulator, due=sizes.profile_posts)
            clock = LaunchClock()
            async with running_bot(setup, clock, None) as bot:
                await settle_scheduler(clock)
                report.expected["profiled"] = len(setup.due_channels)
                report.profiled, report.profile = await profiled_post_all(setup, clock, bot)
    for line in [*_profile_lines(report.profiled, report.profile), *_log_lines(tally, report.profiled)]:
        say(line)

    # 3. At Discord's global limit, on both sides.
    with tallied_logs() as tally:
        async with remote_emulator(n) as emulator:
            setup = await build(template, folder, "limited", emulator, due=sizes.limited_posts)
            await emulator.set_global_rate_limit(GLOBAL_LIMIT)
            clock = LaunchClock()
            async with running_bot(setup, clock, GLOBAL_LIMIT) as bot:
                await settle_scheduler(clock)
                report.expected["limited"] = len(setup.due_channels)
                report.limited = limited = await post_all(setup, clock, bot)
    # The first second's 50 may all go at once, so N posts need at least N/50 - 1 seconds.
    allowed = max(0.0, limited.posts / GLOBAL_LIMIT - 1)
    full = SCHEDULES / GLOBAL_LIMIT - 1
    scaled = limited.seconds / allowed * full if allowed > 0 else None
    line = _post_line(
        f"posting, global limit {GLOBAL_LIMIT}/s (bot and emulator)", limited, len(setup.due_channels), GLOBAL_LIMIT
    )
    if scaled is not None:
        line += f"; {limited.seconds / allowed:.3f}x the {allowed:.0f} s the limit allows"
        if limited.posts < SCHEDULES:
            line += f", so {scaled:.0f} s for {SCHEDULES:,}"
        line += f" ({SCHEDULES:,} at exactly {GLOBAL_LIMIT} a second take {BOUND_S:.0f} s)"
    say(line)
    for line in _log_lines(tally, limited):
        say(line)
    say(f"limit lifted vs 50/s, measured in this run: {lifted.rate / limited.rate:.1f}x the posts per second")
    return report


def _log_lines(tally: LogTally, run: PostRun) -> list[str]:
    """What the bot logged (counted in this process), then what the emulator logged (counted in its own)."""
    emulator = Counter(run.emulator_logged)
    return [*tally.lines("  "), *(f"  the emulator logged {n}x {what}" for what, n in emulator.most_common())]


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1e3


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _post_line(label: str, run: PostRun, expected: int, limit: int | None = None) -> str:
    checks = "exactly one post per channel" if not run.duplicates and not run.missing else (
        f"{run.duplicates} DUPLICATES, {run.missing} MISSING")  # fmt: skip
    return (
        f"{label}: {run.posts:,} posts in {run.seconds:.2f} s = {run.rate:,.0f} posts/s "
        f"({checks}; {run.sent_rows:,} attempts marked sent; at most {run.busiest_second} arrived in any one "
        f"second{'' if limit is None else f' (limit {limit})'}; {run.rate_limited} requests answered 429)"
        + ("" if run.posts == expected else f"; expected {expected:,}")
    )


def _profile_lines(run: PostRun, profile: Profile) -> list[str]:
    busy = sum(v for k, v in profile.own.items() if k != _IDLE_NAME) or 1.0
    order = ["emulator", "discord.py", "bot: scheduler", "bot: database", "bot: other code", _LOOP]
    parts = ", ".join(f"{name} {profile.own.get(name, 0.0) / busy:.0%}" for name in order)
    top = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in profile.top[:6])
    per_post = 1e3 / max(1, run.posts)
    process_cpu = profile.main_cpu + profile.other_cpu
    return [
        f"profile, limit lifted ({run.posts:,} posts in {run.seconds:.1f} s under cProfile = {run.rate:,.0f}/s): "
        f"the bot's process: main thread busy {profile.main_cpu:.1f} s ({profile.main_cpu / profile.wall:.0%} of "
        f"the time; {profile.main_cpu * per_post:.2f} ms CPU per post), other threads (SQLite's worker threads) "
        f"{profile.other_cpu:.1f} s ({profile.other_cpu * per_post:.2f} ms per post), "
        f"{process_cpu * per_post:.2f} ms process CPU per post; the emulator runs in its own process: "
        f"emulator process CPU {run.emulator_cpu:.1f} s ({run.emulator_cpu * per_post:.2f} ms per post)",
        f"  main thread's busy time by owner (shared code charged to its caller): {parts}",
        f"  busiest functions (own time): {top}",
    ]


def run(quick: bool = False, echo: Callable[[str], None] | None = None) -> list[str]:
    """Every figure (see the module docstring); the printed lines."""
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(measure(sizes_for(quick), Path(folder), echo or (lambda _: None))).lines


def main(argv: list[str]) -> None:
    """`python -m benchmarks.scheduler_bench [--quick]`: print the figures as they come."""
    run("--quick" in argv, echo=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
