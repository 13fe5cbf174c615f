"""Interaction latency through the real client on loopback: /recommend, /speaker and autocomplete beside a floor.

Per catalogue (the bundled one, then a synthetic one of 100,000 talks from `benchmarks.synthetic`): a fresh
emulator (validation off, so its own checks do not count as the bot's time) and the real `HighlightsBot`,
with one extra command, /ping, that answers "pong" at once: the floor, through the same client, emulator
and event loop. Each interaction is timed from the moment the emulator starts sending it to the moment the
emulator has received and processed the bot's callback (not when a poller next looks). The four kinds
take turns, one interaction at a time, so noise on this shared machine falls on all of them alike; queries
are drawn afresh from a fixed mix (topics, title words, typos; full, last and first names, prefixes;
titles, names and topics typed key by key) so that caches do not flatter.

Then bursts of 500 sent at once: the three kinds (the first burst: the bot's HTTP pool holds only the
connection the one-at-a-time phase used), 500 /ping, and the three kinds again (with the connections the
earlier bursts opened); the time until all are answered. The emulator keeps Discord's 3-second deadline: a
later callback is refused and counts as unanswered. Also printed: the garbage collector's passes (bot and
emulator share the process), a tally of what the bot logged at WARNING and above, and a short pass with
validation on to show what the emulator's checks add.

Timings are measured, never asserted: they depend on the machine. Run with
`python -m benchmarks.interaction_bench [--quick]` (quick: 200 of each and 10,000 talks).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import numpy as np
from discord import app_commands

from benchmarks.scheduler_bench import tallied_logs, watched_gc
from benchmarks.synthetic import generate
from bot.catalogue.document import CatalogueDocument
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.client import HighlightsBot
from bot.config import Settings
from bot.db.connection import sync_db
from bot.db.writer import apply_document
from bot.emulator.harness import fast_client_options, run_client
from bot.emulator.interactions import InteractionHandle
from bot.emulator.server import DiscordEmulator

SAMPLES = 1_000
QUICK_SAMPLES = 200
BURST = 500
LARGE = 100_000
QUICK_LARGE = 10_000
VALIDATED_SAMPLES = 100
WARM_UP = 20
DEADLINE = 3.0  # Discord's, kept by the emulator: a later callback is refused (10062) and counts as unanswered
ANSWER_TIMEOUT = DEADLINE + 2.0
QUIET = 0.5  # after a burst, the bot counts as done once the emulator has heard nothing from it for this long
FLOOR = "/ping (floor)"
KINDS = ("/recommend", "/speaker", "autocomplete")
EPHEMERAL = 64


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


@contextlib.asynccontextmanager
async def running(database: Path, *, validate: bool) -> AsyncIterator[TimingEmulator]:
    """An emulator and the real bot with /ping added before its commands are synced to the server."""
    async with TimingEmulator(validate=validate) as emulator:
        settings = Settings(database=database, discord_token=emulator.token, dev_guild_id=emulator.guild.id)
        bot = HighlightsBot(settings, **fast_client_options())
        bot.tree.add_command(ping())  # copied to the development server with the rest in setup_hook
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
    logged: list[str] = field(default_factory=list)  # what the bot logged at WARNING and above, tallied
    collector: str = ""  # the garbage collector's passes during the run

    @property
    def bursts(self) -> list[Burst]:
        """The bursts measured."""
        return [b for b in (self.burst, self.floor_burst, self.warm_burst) if b is not None]

    @property
    def unanswered(self) -> int:
        """Interactions without an answer, bursts included."""
        return sum(k.unanswered for k in self.kinds.values()) + sum(b.size - b.answered for b in self.bursts)


async def interleaved(
    emulator: TimingEmulator, mix: Mix, kinds: tuple[str, ...], samples: int, seed: int
) -> dict[str, Latencies]:
    """`samples` of each kind, one interaction at a time, the kinds taking turns in a shuffled order."""
    rng = random.Random(seed)
    results = {kind: Latencies(kind) for kind in kinds}
    order = list(kinds)
    for _ in range(samples):
        rng.shuffle(order)
        for kind in order:
            handle = await send(emulator, kind, mix, rng)
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


async def measure_catalogue(
    label: str, database: Path, mix: Mix, samples: int, burst_size: int, *, validate: bool = False
) -> CatalogueRun:
    """Warm up, then the interleaved latencies and (with `burst_size`) the two bursts."""
    kinds = (FLOOR, *KINDS)
    gc.collect()  # start each catalogue with no garbage left over from the last
    with tallied_logs() as tally, watched_gc() as collector:
        async with running(database, validate=validate) as emulator:
            tracked = len(gc.get_objects())
            await interleaved(emulator, mix, kinds, WARM_UP, seed=1)
            run = CatalogueRun(label, mix.talks, await interleaved(emulator, mix, kinds, samples, seed=2))
            if burst_size:
                rng = random.Random(3)
                mixed = [KINDS[n % len(KINDS)] for n in range(burst_size)]
                run.burst = await burst(emulator, mix, mixed, rng)
                run.floor_burst = await burst(emulator, mix, [FLOOR] * burst_size, rng)
                run.warm_burst = await burst(emulator, mix, mixed, rng)
            if validate and emulator.violations:
                raise RuntimeError(f"the bot broke Discord's rules: {emulator.violations[0]}")
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
    yield from run.logged


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


@dataclass
class Report:
    """Every catalogue's run, and the printed lines."""

    runs: list[CatalogueRun]
    lines: list[str]


async def measure(config: Config, folder: Path, echo: Callable[[str], None]) -> Report:
    """The bundled catalogue, the large synthetic one, then a short pass with validation on."""
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        echo(line)

    say("interactions through the real client on loopback, sent until callback received; emulator validation off")
    database, mix = bundled(folder)
    runs = [await measure_catalogue("bundled catalogue", database, mix, config.samples, config.burst)]
    for line in describe(runs[-1], 2.0):
        say(line)
    if config.large:
        started = time.perf_counter()
        large, large_mix, source = synthetic(folder, config.large)
        prepared = time.perf_counter() - started
        run = await measure_catalogue(
            f"synthetic catalogue from {source}", large, large_mix, config.samples, config.burst
        )
        runs.append(run)
        for line in describe(run, 3.0):
            say(line)
        say(f"  (generating and importing it took {prepared:.0f} s, not counted)")
    if config.validated:
        checked = await measure_catalogue(
            "bundled catalogue, emulator validation ON", database, mix, config.validated, 0, validate=True
        )
        runs.append(checked)
        off = runs[0].kinds
        parts = ", ".join(
            f"{kind} p50 {checked.kinds[kind].ms(50):.2f} ms ({checked.kinds[kind].ms(50) / off[kind].ms(50):.1f}x)"
            for kind in (FLOOR, *KINDS)
        )
        say(f"with validation on (bundled, {config.validated} of each, no burst; x = times the figure with it off): "
            f"{parts}; no violations")  # fmt: skip
        for line in checked.logged:
            say(line)
    return Report(runs, lines)


def run(quick: bool = False, echo: Callable[[str], None] | None = None) -> list[str]:
    """Every figure (see the module docstring); the printed lines."""
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(measure(config_for(quick), Path(folder), echo or (lambda _: None))).lines


def main(argv: list[str]) -> None:
    """`python -m benchmarks.interaction_bench [--quick]`: print the figures as they come."""
    run("--quick" in argv, echo=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
