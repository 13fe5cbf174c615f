"""Members' reminders at scale: 10,000 direct messages due in the same minute, with a crash half-way.

Per run: the emulator in a child process of its own (`benchmarks.remote_emulator`, validation off) holding
10,000 users besides its own, and answering 429 to any request over Discord's global limit of 50 a second;
a fresh database with the bundled catalogue and one reminder per user (address: the user's id), all due at
the top of the same minute, at least an hour ahead, added with `ReminderStore.add`; the real `HighlightsBot`
on a `LaunchClock` (`benchmarks.scheduler_bench`), whose engine keeps the same 50 a second. Once the bot is
connected and its engine has loaded the reminders, and a second later (the login's requests, which discord.py
sends outside the engine, are then out of the window), the clock jumps to the due minute. When half the direct
messages have arrived the bot is stopped as a crash would stop it: every task of its engine is cancelled
where it stands (a send in flight included, before its reminder is marked sent), with no draining; then a
new bot starts over the same database and the same emulator and delivers the rest (its engine grants nothing
in its first second: the process before it may have spent that second's budget).

A member's first direct message costs two requests: `POST /users/@me/channels` opens the channel, then
`POST /channels/{id}/messages` sends it (with a nonce, `enforce_nonce`). So N reminders need at least 2N
requests, and at 50 a second at least 2N/50 seconds (the first second's 50 may go at once: 2N/50 - 1).

Figures: reminders delivered of those expected; duplicates (direct messages per user beyond one, as the
emulator counted them per DM channel) and missing; the reminders' states in the database afterwards, with
the reasons of those missed or failed; the time from the due minute to the last delivery against that floor;
the busiest second of requests as the emulator saw them (their arrival times) against the limit; the 429s
the emulator answered; each delivery's lag behind the due minute (p50, p99, max); and what the bot and the
emulator logged at WARNING and above.

Timings are measured, never asserted. Run with `python -m benchmarks.reminders_bench [--quick]` (`--quick`:
1,000 reminders).
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.remote_emulator import RemoteEmulator, remote_emulator
from benchmarks.scheduler_bench import (
    GLOBAL_LIMIT,
    LaunchClock,
    Setup,
    busiest_second,
    catalogue_template,
    running_bot,
    scheduler_of,
    settle_scheduler,
    tallied_logs,
)
from bot.db.gateway import Database, Session
from bot.platforms.discord.client import HighlightsBot
from bot.watchlist.reminders import Reminder, ReminderStore

REMINDERS = 10_000
QUICK_REMINDERS = 1_000
REQUESTS_PER_REMINDER = 2  # open the DM channel, then the message
LOGIN_ROUTES = frozenset({"/users/@me", "/oauth2/applications/@me", "/gateway/bot"})  # a client's start
ADD_CHUNK = 1_000  # reminders added at once (the gateway writes concurrent adds in one transaction)
TALKS = 100  # the reminders go round the catalogue's first talks


# -- set-up --------------------------------------------------------------------------------------------------


async def add_reminders(database: Path, users: list[int], due: datetime) -> None:
    """One pending reminder per user, due at `due`, through the store the service uses."""
    now = datetime.now(UTC)
    db = await Database.open(database)
    try:
        talks = await db.read(
            lambda conn: conn.execute(
                "SELECT t.slug, t.title, e.name, t.recording_url FROM talks t JOIN events e ON e.id = t.event_id"
                " ORDER BY t.id LIMIT ?",
                (TALKS,),
            ).fetchall()
        )
        store = ReminderStore(db)
        reminders = []
        for n, user in enumerate(users):
            slug, title, event_name, recording_url = talks[n % len(talks)]
            reminder = Reminder(
                id=0, member=f"discord:{user}", platform="discord", address=str(user), talk=slug, title=title,
                event_name=event_name, starts_at=None, recording_url=recording_url, due_at=due,
                before_start=False, state="pending",
            )  # fmt: skip
            reminders.append(reminder)
        for start in range(0, len(reminders), ADD_CHUNK):
            await asyncio.gather(*(store.add(r, now) for r in reminders[start : start + ADD_CHUNK]))
    finally:
        await db.close()


async def build(template: Path, folder: Path, emulator: RemoteEmulator) -> Setup:
    """A fresh database with a reminder for each of the emulator's users, due at the top of a minute an hour ahead."""
    database = folder / "reminders.sqlite3"
    shutil.copy(template, database)
    due = (datetime.now(UTC) + timedelta(hours=1, minutes=1)).replace(second=0, microsecond=0)
    await add_reminders(database, emulator.users, due)
    return Setup(emulator, database, due, [])


# -- measuring -----------------------------------------------------------------------------------------------


def _states(conn: Session) -> list[tuple[str, str | None, int]]:
    return [
        (str(state), reason, int(n))
        for state, reason, n in conn.execute(
            "SELECT state, reason, COUNT(*) FROM reminders GROUP BY state, reason ORDER BY COUNT(*) DESC"
        ).fetchall()
    ]


def _waiting(conn: Session) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM reminders WHERE state IN ('pending', 'sending')").fetchone()[0])


async def states_in(database: Path) -> list[tuple[str, str | None, int]]:
    """The reminders per state and reason, read with a gateway of its own (no bot is running)."""
    db = await Database.open(database)
    try:
        return await db.read(_states)
    finally:
        await db.close()


async def settled(bot: HighlightsBot, *, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until no reminder is pending or being sent (each is sent, missed or failed)."""
    deadline = time.perf_counter() + timeout
    while (left := await bot.services.catalogue.db.read(_waiting)) > 0:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{left:,} reminders still waiting after {timeout:.0f} s")
        await asyncio.sleep(0.25)


async def crash(bot: HighlightsBot) -> None:
    """Stop the bot's engine as a crash would: each of its tasks cancelled where it stands, nothing drained.

    A reminder claimed and in flight stays 'sending' in the database, whether or not its message reached
    Discord; no worker gets to mark anything sent or failed after this. The client is then closed.
    """
    await scheduler_of(bot).stop()


@dataclass
class Run:
    """What one run measured."""

    expected: int
    delivered: int = 0  # users with at least one direct message
    duplicates: int = 0  # direct messages beyond one per user
    missing: int = 0  # users without one
    at_crash: int = 0  # direct messages that had arrived when the first bot was stopped
    at_crash_states: list[tuple[str, str | None, int]] = field(default_factory=list)
    states: list[tuple[str, str | None, int]] = field(default_factory=list)  # afterwards: state, reason, count
    seconds: float = 0.0  # from the due minute to the last delivery
    restart_seconds: float = 0.0  # from the crash to the second bot's first delivery
    requests: dict[str, int] = field(default_factory=dict)  # answered (not 429) during delivery, by route
    rate_limited: int = 0
    busiest_second: int = 0  # requests in any one second, as the emulator saw them arrive (429s included)
    busiest_answered: int = 0  # the same, not counting those answered 429
    busiest_engine: int = 0  # the same, without the login's requests (which discord.py sends before the engine runs)
    busiest_each: tuple[int, int] = (0, 0)  # the busiest second before the crash, and after it
    lags: list[float] = field(default_factory=list)  # each direct message's arrival after the due minute
    logged: list[str] = field(default_factory=list)

    @property
    def floor(self) -> float:
        """Seconds the global limit allows at best for the requests N reminders need (2 each)."""
        return max(0.0, self.expected * REQUESTS_PER_REMINDER / GLOBAL_LIMIT - 1)


async def deliver_with_a_crash(setup: Setup, count: int) -> Run:
    """Jump to the due minute, crash the bot at half the deliveries, start another, let it finish."""
    emulator = setup.emulator
    run = Run(expected=count)
    clock = LaunchClock()
    limit = count * REQUESTS_PER_REMINDER / GLOBAL_LIMIT
    with tallied_logs() as tally:
        async with running_bot(setup, clock, GLOBAL_LIMIT) as bot:
            await settle_scheduler(clock)
            await asyncio.sleep(1.0)  # the login's requests (outside the engine) out of the due minute's first second
            half = emulator.when_posted(max(1, count // 2), timeout=3 * limit + 120)
            jumped = time.perf_counter()
            clock.jump_to(setup.due)
            await asyncio.wait_for(half, 3 * limit + 180)
            await crash(bot)
            crashed = time.perf_counter()
        run.at_crash_states = await states_in(setup.database)
        async with running_bot(setup, clock, GLOBAL_LIMIT) as bot:
            await settled(bot, timeout=4 * limit + 300)
            await asyncio.sleep(1.0)  # a late duplicate would show up here
            run.states = await bot.services.catalogue.db.read(_states)
        stats = await emulator.stats()
    arrivals = sorted(stats.arrivals)
    run.at_crash = sum(1 for at in arrivals if at <= crashed)
    after = [at for at in arrivals if at > crashed]
    run.restart_seconds = after[0] - crashed if after else 0.0
    per_user = Counter(stats.per_recipient)
    run.delivered = sum(1 for user in emulator.users if per_user[user] > 0)
    run.duplicates = sum(n - 1 for n in per_user.values() if n > 1)
    run.missing = sum(1 for user in emulator.users if per_user[user] == 0)
    run.seconds = arrivals[-1] - jumped if arrivals else 0.0
    run.lags = [at - jumped for at in arrivals]
    during = [(at, route, status) for at, route, status in stats.requests if at >= jumped]
    run.requests = dict(Counter(route for _, route, status in during if status != 429))
    run.rate_limited = sum(1 for _, _, status in during if status == 429)
    run.busiest_second = busiest_second([at for at, _, _ in during])
    run.busiest_answered = busiest_second([at for at, _, status in during if status != 429])
    engine = [(at, status) for at, route, status in during if route not in LOGIN_ROUTES]
    run.busiest_engine = busiest_second([at for at, _ in engine])
    run.busiest_each = (
        busiest_second([at for at, _, _ in during if at <= crashed]),
        busiest_second([at for at, _, _ in during if at > crashed]),
    )
    run.logged = [
        *tally.lines("  "),
        *(f"  the emulator logged {n}x {what}" for what, n in Counter(stats.logged).most_common()),
    ]
    return run


# -- the run -------------------------------------------------------------------------------------------------


@dataclass
class Report:
    """Everything measured, and the printed lines."""

    run: Run | None = None
    lines: list[str] = field(default_factory=list)


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


def _state_text(states: list[tuple[str, str | None, int]]) -> str:
    totals: Counter[str] = Counter()
    for state, _, n in states:
        totals[state] += n
    return ", ".join(f"{n:,} {state}" for state, n in totals.most_common()) or "none"


async def measure(count: int, folder: Path, echo: Callable[[str], None]) -> Report:
    """One run with `count` reminders (see the module docstring)."""
    report = Report()

    def say(line: str) -> None:
        report.lines.append(line)
        echo(line)

    template = catalogue_template(folder)
    started = time.perf_counter()
    async with remote_emulator(0, users=count) as emulator:
        spawned = time.perf_counter() - started
        await emulator.set_global_rate_limit(GLOBAL_LIMIT)
        started = time.perf_counter()
        setup = await build(template, folder, emulator)
        built = time.perf_counter() - started
        say(f"{count:,} reminders, one per user, all due at {setup.due:%H:%M} UTC; the emulator (its own "
            f"process, validation off) answers 429 over {GLOBAL_LIMIT} requests a second, the bot keeps "
            f"{GLOBAL_LIMIT}/s; set-up (not counted): emulator with {count:,} users in {spawned:.1f} s, "
            f"reminders added in {built:.1f} s")  # fmt: skip
        report.run = run = await deliver_with_a_crash(setup, count)

    checks = "each exactly once" if not run.duplicates and not run.missing else (
        f"{run.duplicates:,} DUPLICATES, {run.missing:,} MISSING")  # fmt: skip
    say(f"delivered {run.delivered:,} / {run.expected:,} ({checks}); the first bot was crashed after "
        f"{run.at_crash:,} had arrived (then in the database: {_state_text(run.at_crash_states)}); "
        f"the second bot's first delivery came {run.restart_seconds:.1f} s after the crash")  # fmt: skip
    say(f"in the database afterwards: {_state_text(run.states)}")
    for state, reason, n in run.states:
        if state in ("missed", "failed"):
            say(f"  {n:,} {state}: {reason}")
    answered = sum(run.requests.values())
    routes = ", ".join(f"{n:,} {route}" for route, n in sorted(run.requests.items(), key=lambda item: -item[1]))
    say(f"time from the due minute to the last delivery: {run.seconds:.1f} s; the floor at {GLOBAL_LIMIT}/s for "
        f"{run.expected * REQUESTS_PER_REMINDER:,} requests ({REQUESTS_PER_REMINDER} per reminder) is "
        f"{run.floor:.0f} s: {run.seconds / run.floor if run.floor else float('inf'):.2f}x, "
        f"restart included")  # fmt: skip
    say(f"requests answered while delivering: {answered:,} ({routes}); {run.rate_limited:,} answered 429; "
        f"busiest second as the emulator saw them: {run.busiest_second} requests, {run.busiest_answered} "
        f"not counting 429s "
        f"(limit {GLOBAL_LIMIT}: {'kept' if run.busiest_second <= GLOBAL_LIMIT else 'BROKEN'}); "
        f"{run.busiest_each[0]} in the busiest second before the crash, {run.busiest_each[1]} after it; "
        f"without the bots' logins (3 requests each, which discord.py sends before the engine starts; the second "
        f"bot's can share a second with the first bot's last requests when a restart takes under a second): "
        f"{run.busiest_engine} "
        f"({'kept' if run.busiest_engine <= GLOBAL_LIMIT else 'BROKEN'})")  # fmt: skip
    if run.lags:
        say(f"lag of each delivery behind the due minute: p50 {_quantile(run.lags, 50):.1f} s, "
            f"p99 {_quantile(run.lags, 99):.1f} s, max {max(run.lags):.1f} s "
            f"(mean {statistics.fmean(run.lags):.1f} s)")  # fmt: skip
    for line in run.logged or ["  nothing logged at WARNING or above"]:
        say(line)
    return report


def run(quick: bool = False, echo: Callable[[str], None] | None = None) -> list[str]:
    """Every figure (see the module docstring); the printed lines."""
    with tempfile.TemporaryDirectory() as folder:
        count = QUICK_REMINDERS if quick else REMINDERS
        return asyncio.run(measure(count, Path(folder), echo or (lambda _: None))).lines


def main(argv: list[str]) -> None:
    """`python -m benchmarks.reminders_bench [--quick]`: print the figures as they come."""
    run("--quick" in argv, echo=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
