"""Interaction latency through the real client on loopback: /recommend, /speaker and autocomplete beside a floor.

Per catalogue (the bundled one, then a synthetic one of 100,000 talks from `benchmarks.synthetic`): a fresh
emulator (validation off, so its own checks do not count as the bot's time) and the real `HighlightsBot`,
with one extra command, /ping, that answers "pong" at once: the floor, through the same client and emulator.
The emulator and the code that drives and times the interactions run in a spawned child process of their
own (its own interpreter and event loop, through `benchmarks.remote_emulator`), as Discord is never in the
bot's process: the emulator's work (building and sending interactions, parsing callbacks) neither waits on
the bot's event loop nor is charged to it. The bot runs alone in this process, opens the catalogue's database
(generated and imported here once) and reaches the emulator only over loopback HTTP and websocket; the two
processes share the machine's CPUs. Each interaction is timed in the child, from the moment the emulator
starts sending it to the moment it has received and processed the bot's callback (not when a poller next
looks). The four kinds take turns, one interaction at a time, so noise on this shared machine falls on all
of them alike; queries are drawn afresh from a fixed mix (topics, title words, typos; full, last and first
names, prefixes; titles, names and topics typed key by key) so that caches do not flatter.

Then bursts of 500 sent at once: the three kinds (the first burst: the bot's HTTP pool holds only the
connection the one-at-a-time phase used), 500 /ping, and the three kinds again (with the connections the
earlier bursts opened); the time until all are answered. The emulator keeps Discord's 3-second deadline: a
later callback is refused and counts as unanswered. Also printed: the garbage collector's passes in the
bot's process (and, apart, in the emulator's), a tally of what the bot logged at WARNING and above (and the
emulator, if anything), and two short passes on the bundled catalogue with the emulator in the bot's process
and event loop, no bursts: one with validation off, for comparison with the separate processes, and one with
validation on to show what the emulator's checks add.

Timings are measured, never asserted: they depend on the machine. Run with
`python -m benchmarks.interaction_bench [--quick]` (quick: 200 of each and 10,000 talks).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol, cast

import discord
import numpy as np
from discord import app_commands

from benchmarks.realdata import ABSENT, use_discord_spec
from benchmarks.remote_emulator import LogTally, pipe_commands, receive, report_measured, spawned
from benchmarks.scheduler_bench import tallied_logs, watched_gc
from benchmarks.synthetic import generate
from bot.catalogue.formats.document import CatalogueDocument
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.writer import apply_document
from bot.config import Settings
from bot.db.connection import sync_db
from bot.platforms.discord.client import HighlightsBot
from emulator.harness import fast_client_options, run_client
from emulator.interactions import InteractionHandle
from emulator.server import DiscordEmulator

SAMPLES = 1_000
QUICK_SAMPLES = 200
BURST = 500
LARGE = 100_000
QUICK_LARGE = 10_000
VALIDATED_SAMPLES = 100
WARM_UP = 20
DEADLINE = 3.0  # Discord's, kept by the emulator: a later callback is refused (10062) and counts as unanswered
ANSWER_TIMEOUT = DEADLINE + 2.0
MEASURE_TIMEOUT = 3_600.0  # seconds for the child to measure one catalogue once the bot is ready
QUIET = 0.5  # after a burst, the bot counts as done once the emulator has heard nothing from it for this long
FLOOR = "/ping (floor)"
KINDS = ("/recommend", "/speaker", "autocomplete")
EPHEMERAL = 64
COMMANDS = frozenset({"ping", "recommend", "speaker", "talk"})  # those the interactions use


# -- the emulator, noting when each callback arrives ------------------------------------------------------


class _Tracked(dict[int, InteractionHandle]):
    """The emulator's table of interactions, which also notes each new one as awaiting its callback."""

    def __init__(self, pending: list[InteractionHandle]) -> None:
        super().__init__()
        self._bench_pending = pending

    def __setitem__(self, key: int, value: InteractionHandle) -> None:
        super().__setitem__(key, value)
        self._bench_pending.append(value)


class TimingEmulator(DiscordEmulator):
    """The emulator, recording (on its loop's clock) when each interaction's callback has been processed.

    `InteractionHandle.created_at` is when the emulator began sending the interaction; this adds
    `answered_at`, noted in `notify`, which the REST side calls right after handling every request.
    """

    def __init__(self, **options: Any) -> None:
        self._bench_pending: list[InteractionHandle] = []
        self.answered_at: dict[int, float] = {}
        self._bench_waiters: dict[int, asyncio.Future[float]] = {}
        super().__init__(**options)
        self.interactions = _Tracked(self._bench_pending)

    def notify(self) -> None:
        """Note the callbacks that have arrived, then wake waiters as usual."""
        if self._bench_pending:
            now = asyncio.get_running_loop().time()
            waiting = []
            for handle in self._bench_pending:
                if handle.callback is None:
                    waiting.append(handle)
                    continue
                self.answered_at[handle.id] = now
                waiter = self._bench_waiters.pop(handle.id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(now)
            self._bench_pending[:] = waiting
        super().notify()

    async def answered(self, handle: InteractionHandle, timeout: float) -> float | None:  # noqa: ASYNC109
        """Seconds from sending to the callback, or None if none came within `timeout`."""
        if handle.id not in self.answered_at:
            waiter = self._bench_waiters.setdefault(handle.id, asyncio.get_running_loop().create_future())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter), timeout)
            self._bench_waiters.pop(handle.id, None)
        at = self.answered_at.get(handle.id)
        return None if at is None else at - handle.created_at


# -- the bot, with a floor command ------------------------------------------------------------------------


async def pong(interaction: discord.Interaction) -> None:
    """Answer at once: the floor the other commands are compared with."""
    await interaction.response.send_message("pong")


def ping() -> app_commands.Command[Any, ..., None]:
    """A fresh /ping for one bot's command tree."""
    return app_commands.Command(name="ping", description="Answer at once (the benchmark's floor)", callback=pong)


def highlights_bot(database: Path, token: str, guild_id: int) -> HighlightsBot:
    """The real bot on `database`, with /ping added before its commands are copied to the server `guild_id`."""
    settings = Settings(database=database, discord_token=token, dev_guild_id=guild_id)
    bot = HighlightsBot(settings, **fast_client_options())
    bot.tree.add_command(ping())  # copied to the development server with the rest in setup_hook
    return bot


@contextlib.asynccontextmanager
async def running(database: Path, *, validate: bool) -> AsyncIterator[TimingEmulator]:
    """An emulator and the real bot in this process and event loop (the comparison and validation passes)."""
    async with TimingEmulator(validate=validate) as emulator:
        bot = highlights_bot(database, emulator.token, emulator.guild.id)
        async with run_client(emulator, bot, ready_timeout=300.0):
            yield emulator


# -- query mixes ----------------------------------------------------------------------------------------


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


@dataclass
class Mix:
    """Where the queries are drawn from: the catalogue's topics, titles and speakers."""

    topics: list[str]
    titles: list[str]
    people: list[str]

    @property
    def talks(self) -> int:
        """How many talks the catalogue holds."""
        return len(self.titles)

    @classmethod
    def of(cls, document: CatalogueDocument) -> Mix:
        """The mix for a catalogue."""
        people = sorted({s.name for t in document.talks for s in t.speakers})
        return cls(sorted(document.topics.values()), [t.title for t in document.talks], people)

    def recommend(self, rng: random.Random) -> str:
        """A topic, one to three words of a title, or a word with a typo."""
        roll = rng.random()
        if roll < 0.4:
            return rng.choice(self.topics)
        words = [w for w in rng.choice(self.titles).split() if len(w) > 3] or ["kubernetes"]
        if roll < 0.9:
            return " ".join(rng.sample(words, min(len(words), rng.randint(1, 3))))[:200]
        return _typo(rng.choice(words), rng)

    def speaker(self, rng: random.Random) -> str:
        """A full name, a last or first name, or the start of a name."""
        name = rng.choice(self.people)
        roll = rng.random()
        if roll < 0.5:
            return name
        if roll < 0.75:
            return name.split()[-1]
        if roll < 0.9:
            return name.split()[0]
        return name[: rng.randint(3, max(3, len(name) - 1))]

    def autocomplete(self, rng: random.Random) -> tuple[str, str, str]:
        """(command, option, typed text): a title, a name or a topic typed part of the way."""
        roll = rng.random()
        if roll < 0.4:
            title = rng.choice(self.titles)
            return "talk", "title", title[: rng.randint(1, min(len(title), 16))]
        if roll < 0.8:
            name = rng.choice(self.people)
            return "speaker", "name", name[: rng.randint(1, min(len(name), 12))]
        topic = rng.choice(self.topics)
        return "recommend", "topic", topic[: rng.randint(1, min(len(topic), 8))]


async def send(emulator: TimingEmulator, kind: str, mix: Mix, rng: random.Random) -> InteractionHandle:
    """Send one interaction of `kind` with a query drawn from the mix."""
    if kind == FLOOR:
        return await emulator.slash("ping")
    if kind == "/recommend":
        return await emulator.slash("recommend", {"topic": mix.recommend(rng)})
    if kind == "/speaker":
        return await emulator.slash("speaker", {"name": mix.speaker(rng)})
    command, option, typed = mix.autocomplete(rng)
    return await emulator.autocomplete(command, option, typed)


# -- measuring -----------------------------------------------------------------------------------------------


@dataclass
class Latencies:
    """One kind's latencies (seconds) and how its interactions were answered."""

    kind: str
    samples: list[float] = field(default_factory=list)
    unanswered: int = 0
    errors: int = 0  # answered with the error handler's private message
    empty: int = 0  # autocomplete answered with no suggestion
    deferred: int = 0  # answered "thinking" first

    def ms(self, q: float) -> float:
        """The q-th percentile, in milliseconds."""
        return float(np.percentile(self.samples, q)) * 1e3 if self.samples else float("nan")

    def note(self, handle: InteractionHandle, latency: float | None) -> None:
        """Count one interaction."""
        if latency is None:
            self.unanswered += 1
            return
        self.samples.append(latency)
        body = handle.callback or {}
        data = body.get("data") or {}
        if body.get("type") == 5:
            self.deferred += 1
        elif body.get("type") == 8:
            self.empty += not data.get("choices")
        elif int(data.get("flags") or 0) & EPHEMERAL:
            self.errors += 1


@dataclass
class Burst:
    """A burst of interactions sent at once."""

    size: int
    answered: int
    seconds: float  # from the first sent to the last answered
    sending: float  # how long the emulator took to send them all
    latencies: list[float]
    overflows: int | None = None  # connections the emulator's listen queue dropped (they retry after 1 s)
    missed: dict[str, int] = field(default_factory=dict)  # unanswered, by kind

    def ms(self, q: float) -> float:
        """The q-th percentile of the burst's latencies, in milliseconds."""
        return float(np.percentile(self.latencies, q)) * 1e3 if self.latencies else float("nan")


@dataclass
class CatalogueRun:
    """Everything measured on one catalogue."""

    label: str
    talks: int
    kinds: dict[str, Latencies]
    burst: Burst | None = None  # the first burst: the bot's HTTP pool holds the one connection it has used
    floor_burst: Burst | None = None
    warm_burst: Burst | None = None  # the same kinds again, with the connections the first bursts opened
    logged: list[str] = field(default_factory=list)  # what the bot (then the emulator) logged, WARNING and above
    collector: str = ""  # the garbage collector's passes during the run, in the bot's process
    emulator_collector: str = ""  # the same in the emulator's process, when it has its own
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # how each kind was answered (`Measured`)

    @property
    def bursts(self) -> list[Burst]:
        """The bursts measured."""
        return [b for b in (self.burst, self.floor_burst, self.warm_burst) if b is not None]

    @property
    def unanswered(self) -> int:
        """Interactions without an answer, bursts included."""
        return sum(k.unanswered for k in self.kinds.values()) + sum(b.size - b.answered for b in self.bursts)


Sender = Callable[[TimingEmulator, str, random.Random], Awaitable[InteractionHandle]]


async def interleaved(
    emulator: TimingEmulator, sender: Sender, kinds: tuple[str, ...], samples: int, seed: int
) -> dict[str, Latencies]:
    """`samples` of each kind, one interaction at a time (each sent by `sender`), taking turns in a shuffled order."""
    rng = random.Random(seed)
    results = {kind: Latencies(kind) for kind in kinds}
    order = list(kinds)
    for _ in range(samples):
        rng.shuffle(order)
        for kind in order:
            handle = await sender(emulator, kind, rng)
            results[kind].note(handle, await emulator.answered(handle, ANSWER_TIMEOUT))
    return results


async def burst(emulator: TimingEmulator, mix: Mix, kinds: list[str], rng: random.Random) -> Burst:
    """Send one interaction of each of `kinds` at once; time until every one is answered, then let the bot finish."""
    loop = asyncio.get_running_loop()
    dropped = listen_overflows()
    started = loop.time()
    handles = await asyncio.gather(*(send(emulator, kind, mix, rng) for kind in kinds))
    sending = loop.time() - started
    results = await asyncio.gather(*(emulator.answered(h, ANSWER_TIMEOUT) for h in handles))
    latencies = [r for r in results if r is not None]
    missed = Counter(kind for kind, result in zip(kinds, results, strict=True) if result is None)
    first = min(h.created_at for h in handles)
    last = max((emulator.answered_at[h.id] for h in handles if h.id in emulator.answered_at), default=first)
    await quiet(emulator)
    after = listen_overflows()
    overflows = None if dropped is None or after is None else after - dropped
    return Burst(len(kinds), len(latencies), last - first, sending, latencies, overflows, dict(missed))


async def quiet(emulator: DiscordEmulator) -> None:
    """Wait until the bot has sent the emulator nothing for QUIET seconds (it has worked off a burst)."""
    seen = -1
    while len(emulator.requests) != seen:
        seen = len(emulator.requests)
        await asyncio.sleep(QUIET)


def listen_overflows() -> int | None:
    """Linux's count of connections dropped because a listen queue was full (None where unknown)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            found = table.get("ListenOverflows")
            return int(found) if found is not None and found.isdigit() else None
    return None


@dataclass
class Measured:
    """What the driver measured on one catalogue: plain data, sent back from the emulator's process."""

    kinds: dict[str, Latencies]
    burst: Burst | None = None
    floor_burst: Burst | None = None
    warm_burst: Burst | None = None
    collector: str = ""  # the garbage collector's passes in the emulator's process, when it has its own
    logged: list[str] = field(default_factory=list)  # what the emulator's process logged, tallied
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # how each kind was answered, if the driver says


async def measured(emulator: TimingEmulator, mix: Mix, samples: int, burst_size: int) -> Measured:
    """Warm up, then the interleaved latencies and (with `burst_size`) the three bursts."""
    kinds = (FLOOR, *KINDS)

    def sender(emulator: TimingEmulator, kind: str, rng: random.Random) -> Awaitable[InteractionHandle]:
        return send(emulator, kind, mix, rng)

    await interleaved(emulator, sender, kinds, WARM_UP, seed=1)
    found = Measured(await interleaved(emulator, sender, kinds, samples, seed=2))
    if burst_size:
        rng = random.Random(3)
        mixed = [KINDS[n % len(KINDS)] for n in range(burst_size)]
        found.burst = await burst(emulator, mix, mixed, rng)
        found.floor_burst = await burst(emulator, mix, [FLOOR] * burst_size, rng)
        found.warm_burst = await burst(emulator, mix, mixed, rng)
    return found


# -- in the emulator's process ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listening:
    """What the emulator's process tells the bot's once it listens: what a client needs, and the server."""

    api_base_url: str
    gateway_url: str
    token: str
    guild_id: int  # the server the bot copies its commands to, and where the interactions are sent
    prepared: Any = None  # what the driver's `prepare` made for the bot's process to know (users, say)


class Driver(Protocol):
    """What the emulator's process measures once the bot is ready; sent there, so it must pickle."""

    @property
    def commands(self) -> frozenset[str]:
        """The bot's commands the interactions use: measuring waits until the server holds them."""
        ...

    def prepare(self, emulator: TimingEmulator) -> Any:
        """Set up the emulator before the bot connects; what is returned reaches the bot's process in `Listening`."""
        ...

    async def measured(self, emulator: TimingEmulator) -> Measured:
        """Measure, once the bot is ready and its commands are in the server."""
        ...


@dataclass(frozen=True)
class Interactions:
    """This benchmark's driver: `measured` over a mix."""

    mix: Mix
    samples: int
    burst_size: int
    commands: frozenset[str] = COMMANDS

    def prepare(self, emulator: TimingEmulator) -> None:
        """Nothing to set up: the interactions come from the emulator's default user."""

    async def measured(self, emulator: TimingEmulator) -> Measured:
        """The interleaved latencies and the bursts."""
        return await measured(emulator, self.mix, self.samples, self.burst_size)


def drive(conn: Connection, driver: Driver) -> None:
    """The child's entry point: the emulator (validation off), and the driver's measurement once told "go".

    Replies on the pipe: ("ok", `Listening`) once it listens, then ("ok", `Measured`) or ("error", traceback).
    It stops when told to ("stop",) or when the pipe closes (the parent has died), measuring or not.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops this one
    tally = LogTally()
    logging.getLogger().addHandler(tally)
    try:
        asyncio.run(_drive(conn, driver, tally))
    finally:
        conn.close()


async def _drive(conn: Connection, driver: Driver, tally: LogTally) -> None:
    async with TimingEmulator(validate=False) as emulator:
        prepared = driver.prepare(emulator)
        listening = Listening(emulator.api_base_url, emulator.gateway_url, emulator.token, emulator.guild.id, prepared)
        conn.send(("ok", listening))
        commands = pipe_commands(conn)
        if await commands.get() != ("go",):
            return  # told to stop, or the parent has gone
        await report_measured(conn, commands, _measure_here(emulator, driver, tally))


async def _measure_here(emulator: TimingEmulator, driver: Driver, tally: LogTally) -> Measured:
    await emulator.wait_connected(timeout=30.0)

    def registered() -> bool | None:
        names = {command["name"] for command in emulator.commands(emulator.guild)}
        return True if names.issuperset(driver.commands) else None

    await emulator.wait_for(registered, timeout=30.0, what="the bot's commands in the server")
    gc.collect()
    with watched_gc() as collector:
        tracked = len(gc.get_objects())
        found = await driver.measured(emulator)
    where = "  in the emulator's process, "
    found.collector = f"{collector.line(where)} ({tracked:,} objects tracked at start)"
    found.logged = [f"  the emulator's process logged {n}x {what}" for what, n in tally.counts.most_common()]
    return found


# -- in the bot's process -----------------------------------------------------------------------------------


async def measure_catalogue(
    label: str, database: Path, talks: int, driver: Driver, before_bot: Callable[[Listening], None] | None = None
) -> CatalogueRun:
    """The emulator and the driver in a child process, the bot alone in this one: `driver.measured` there.

    `before_bot`, if given, runs here once the emulator listens and before the bot opens the database.
    """
    gc.collect()  # start each catalogue with no garbage left over from the last
    with tallied_logs() as tally, watched_gc() as collector:
        async with spawned(drive, driver, name="interaction-emulator") as (process, conn, ready):
            if not isinstance(ready, Listening):
                raise RuntimeError(f"the emulator process did not start: {ready!r}")
            if before_bot is not None:
                before_bot(ready)
            bot = highlights_bot(database, ready.token, ready.guild_id)
            # `run_client` reads only the emulator's `api_base_url`, `gateway_url` and `token`, which these are.
            async with run_client(cast("DiscordEmulator", ready), bot, ready_timeout=300.0):
                tracked = len(gc.get_objects())
                conn.send(("go",))  # the bot is ready: its commands were copied to the server in setup_hook
                found = await receive(process, conn, timeout=MEASURE_TIMEOUT)
            if not isinstance(found, Measured):
                raise RuntimeError(f"the emulator process answered {found!r}")
    run = CatalogueRun(label, talks, found.kinds, found.burst, found.floor_burst, found.warm_burst)
    run.outcomes = found.outcomes
    run.logged = tally.lines("  ") + found.logged
    run.collector = (
        f"{collector.line('  ')} (the bot's process only; {tracked:,} objects tracked once the bot was ready)"
    )
    run.emulator_collector = found.collector
    return run


async def measure_in_process(label: str, database: Path, mix: Mix, samples: int, *, validate: bool) -> CatalogueRun:
    """`measured` with the emulator in this process and event loop, beside the bot; no bursts."""
    gc.collect()
    with tallied_logs() as tally, watched_gc() as collector:
        async with running(database, validate=validate) as emulator:
            tracked = len(gc.get_objects())
            found = await measured(emulator, mix, samples, 0)
            if validate and emulator.violations:
                raise RuntimeError(f"the bot broke Discord's rules: {emulator.violations[0]}")
    run = CatalogueRun(label, mix.talks, found.kinds)
    run.logged = tally.lines("  ")
    run.collector = f"{collector.line('  ')} (bot and emulator share the process; {tracked:,} objects tracked at start)"
    return run


# -- catalogues ----------------------------------------------------------------------------------------------


def bundled(folder: Path) -> tuple[Path, Mix]:
    """A database with the bundled catalogue, and the mix to query it with."""
    document = load_native(BUNDLED_CATALOGUE)
    return _imported(folder / "bundled.sqlite3", document), Mix.of(document)


def synthetic(folder: Path, talks: int) -> tuple[Path, Mix, str]:
    """A database with a synthetic catalogue of `talks` talks from `benchmarks.synthetic`, and its mix.

    Only the mix is kept: the generated document (hundreds of thousands of objects) would otherwise stay in
    this process beside the bot and make every full garbage collection slower.
    """
    document = generate(talks).document
    return _imported(folder / f"synthetic-{talks}.sqlite3", document), Mix.of(document), "benchmarks.synthetic"


def _imported(path: Path, document: CatalogueDocument) -> Path:
    with sync_db(path) as conn:
        apply_document(conn, document)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


# -- the report ----------------------------------------------------------------------------------------------


@dataclass
class Config:
    """How much to measure."""

    samples: int = SAMPLES
    burst: int = BURST
    large: int = LARGE
    validated: int = VALIDATED_SAMPLES


def config_for(quick: bool) -> Config:
    """Full: 1,000 of each and 100,000 talks; quick: 200 of each and 10,000 talks."""
    return Config(samples=QUICK_SAMPLES, large=QUICK_LARGE, validated=50) if quick else Config()


def describe(run: CatalogueRun, target: float) -> Iterator[str]:
    """The lines for one catalogue."""
    floor = run.kinds[FLOOR]
    yield f"{run.label} ({run.talks:,} talks), {len(floor.samples) + floor.unanswered:,} of each, taking turns:"
    yield f"  {FLOOR:<14} p50 {floor.ms(50):6.2f} ms  p99 {floor.ms(99):6.2f} ms"
    for kind in KINDS:
        found = run.kinds[kind]
        ratio = found.ms(50) / floor.ms(50)
        notes = []
        if found.errors:
            notes.append(f"{found.errors} answered with an error message")
        if found.empty:
            notes.append(f"{found.empty} with no suggestion")
        if found.deferred:
            notes.append(f"{found.deferred} deferred")
        if found.unanswered:
            notes.append(f"{found.unanswered} UNANSWERED")
        yield (
            f"  {kind:<14} p50 {found.ms(50):6.2f} ms  p99 {found.ms(99):6.2f} ms  "
            f"p50 {ratio:.2f}x the floor (target <= {target:.0f}x: {_met(ratio <= target)})"
            + (f"; {', '.join(notes)}" if notes else "")
        )
    mixed = "/recommend, /speaker, autocomplete"
    for label, done in (
        (f"{mixed}; first burst", run.burst),
        ("/ping", run.floor_burst),
        (f"{mixed} again, connections open", run.warm_burst),
    ):
        if done is None:
            continue
        if done.answered == done.size:
            answered = f"all {done.size} answered in {done.seconds:.2f} s"
        else:
            lost = ", ".join(f"{n} {kind}" for kind, n in sorted(done.missed.items()))
            answered = (f"ONLY {done.answered} of {done.size} answered within Discord's {DEADLINE:.0f} s "
                        f"(lost: {lost}), the last of them at {done.seconds:.2f} s")  # fmt: skip
        target_note = f" (target: all within 2 s: {_met(done.answered == done.size and done.seconds <= 2.0)})" if (
            done is run.burst) else ""  # fmt: skip
        dropped = f"; {done.overflows} connections dropped by the emulator's full listen queue" if (
            done.overflows) else ""  # fmt: skip
        yield (
            f"  burst of {done.size} at once ({label}): {answered}{target_note}; "
            f"sent in {done.sending:.2f} s; answered ones p50 {done.ms(50):.0f} ms, p99 {done.ms(99):.0f} ms{dropped}"
        )
    if (
        run.burst is not None
        and run.floor_burst is not None
        and run.burst.answered == run.burst.size
        and (run.floor_burst.answered == run.floor_burst.size)
    ):
        yield f"  first burst {run.burst.seconds / run.floor_burst.seconds:.2f}x the /ping burst's time"
    yield run.collector
    if run.emulator_collector:
        yield run.emulator_collector
    yield from run.logged


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


@dataclass
class Report:
    """Every catalogue's run, and the printed lines."""

    runs: list[CatalogueRun]  # each catalogue (emulator in its own process), then the validation pass, if any
    lines: list[str]
    same_process: CatalogueRun | None = None  # the bundled catalogue with the emulator in the bot's process


def _p50s(run: CatalogueRun, against: CatalogueRun | None = None) -> str:
    """Each kind's p50, with its ratio to the same kind's in `against` or, without, to the floor's."""
    parts = []
    for kind in (FLOOR, *KINDS):
        p50 = run.kinds[kind].ms(50)
        if against is not None:
            parts.append(f"{kind} p50 {p50:.2f} ms ({p50 / against.kinds[kind].ms(50):.1f}x)")
        elif kind == FLOOR:
            parts.append(f"{kind} p50 {p50:.2f} ms")
        else:
            parts.append(f"{kind} p50 {p50:.2f} ms ({p50 / run.kinds[FLOOR].ms(50):.2f}x the floor)")
    return ", ".join(parts)


async def measure(config: Config, folder: Path, echo: Callable[[str], None]) -> Report:
    """The bundled catalogue, the large synthetic one, then short passes with the emulator in the bot's process."""
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        echo(line)

    say("interactions through the real client on loopback, sent until callback received; the emulator "
        "(validation off) and the timing in a spawned process of their own, the bot alone in this one")  # fmt: skip
    database, mix = bundled(folder)
    driver = Interactions(mix, config.samples, config.burst)
    runs = [await measure_catalogue("bundled catalogue", database, mix.talks, driver)]
    for line in describe(runs[-1], 2.0):
        say(line)
    if config.large:
        started = time.perf_counter()
        large, large_mix, source = synthetic(folder, config.large)
        prepared = time.perf_counter() - started
        driver = Interactions(large_mix, config.samples, config.burst)
        run = await measure_catalogue(f"synthetic catalogue from {source}", large, large_mix.talks, driver)
        runs.append(run)
        for line in describe(run, 3.0):
            say(line)
        say(f"  (generating and importing it took {prepared:.0f} s, not counted)")
    same: CatalogueRun | None = None
    if config.samples:
        same = await measure_in_process(
            "bundled catalogue, emulator in the bot's process", database, mix, config.samples, validate=False
        )
        say(f"same process as the bot (bundled, {config.samples:,} of each, no burst; emulator and bot share "
            f"one event loop, validation off): {_p50s(same)}")  # fmt: skip
        for line in same.logged:
            say(line)
    if config.validated and not use_discord_spec():
        say(f"left out: the pass with validation on ({ABSENT}, or set DISCORD_API_SPEC)")
    elif config.validated:
        checked = await measure_in_process(
            "bundled catalogue, emulator validation ON", database, mix, config.validated, validate=True
        )
        runs.append(checked)
        off, where = (same, "in the same process") if same is not None else (runs[0], "in a process of its own")
        say(f"with validation on (bundled, {config.validated} of each, no burst, same process as the bot; "
            f"x = times the figure with it off {where}): {_p50s(checked, off)}; no violations")  # fmt: skip
        for line in checked.logged:
            say(line)
    return Report(runs, lines, same)


def run(quick: bool = False, echo: Callable[[str], None] | None = None) -> list[str]:
    """Every figure (see the module docstring); the printed lines."""
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(measure(config_for(quick), Path(folder), echo or (lambda _: None))).lines


def main(argv: list[str]) -> None:
    """`python -m benchmarks.interaction_bench [--quick]`: print the figures as they come."""
    run("--quick" in argv, echo=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
