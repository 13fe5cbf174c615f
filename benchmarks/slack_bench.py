"""The Slack side: slash-command acknowledgement latency beside a floor, a burst, and scheduled posts at scale.

1. Slash command to acknowledgement, through the real slack-bolt `AsyncApp` of `SlackBot` served over
   loopback HTTP as in the tests (`web_app(path="/slack/events")`), driven by the Slack emulator with signed
   requests, as Slack sends them. `/recommend <query>` over a fixed list of varied queries (topics, several
   words, typos, a filter, no match), on the bundled catalogue and on a synthetic one of 100,000 talks
   (`benchmarks.synthetic`). The floor, in the same run: a bare bolt `AsyncApp`, built as `SlackBot` builds
   its own (same client, same signing secret), whose `/ping` only acknowledges, served the same way and
   driven by the same emulator; the two take turns, one request at a time, so that noise on the machine falls
   on both alike. The emulator and the timing run in a spawned child process of their own
   (`benchmarks.remote_emulator.spawned`): the bot's app and the floor app are alone in this process and
   event loop, and the emulator's own work is not charged to them. Each request is timed in the child, from
   the moment the emulator starts sending it to the moment it has read the app's answer (the acknowledgement
   that carries the reply). Targets: p50 and p99 within 2x of the floor's on the bundled catalogue, 3x on the
   large one. A third app takes its turn too: the floor's, built with `process_before_response=True`.
   By default (as in `SlackBot` and the floor) bolt runs a listener in a task and checks every 10 ms whether
   it has acknowledged, so every answer waits for the next check; with that option it answers as soon as the
   listener returns. Its figure shows how much of the floor is that wait.
2. Bursts: 500 `/recommend` sent at once (`asyncio.gather` of the emulator's `slash`), then 500 `/ping` to
   the floor app; the emulator keeps Slack's 3-second deadline (a later answer is cut off and counts as not
   acknowledged). The emulator's client may open as many connections as it needs, as Slack does (aiohttp's
   default pool would hold it to 100 at a time). Target: every one acknowledged within 3 s.
3. Scheduled posts to 1,000 channels: one schedule per channel, added through `HighlightService.setup` with
   numbers from `SlackIds` (as `/highlights setup` does, minus the Slack look-ups), all due at the same
   minute; the real `SlackBot` scheduler and poster (`bot.start()`) against the Slack emulator, in this
   process, with its per-channel limit on as Slack has it (about 1 post a second per channel, in short
   bursts; over it, 429 with Retry-After). The clock is real time plus an offset (`LaunchClock`, as in
   `benchmarks.scheduler_bench`): once the scheduler has loaded every schedule and sleeps, the clock jumps to
   the due minute and everything after runs at real speed; the emulator stamps messages (their ts) on the
   same clock, so the poster's look into a channel's history compares like with like. Checked from what the
   emulator holds: exactly one post per channel and per schedule (by the nonce's schedule in each message's
   metadata, event_type "talk_highlight"), at most one post a second in any channel (from the ts values),
   the 429s the emulator answered, and that every schedule ended sent (none failed, paused or lost); the
   time from the due instant to the last post. A second, smaller run crowds several schedules into each of
   a few channels (one per topic), so that the per-channel limit answers 429 and the waiting-out is tested.

Timings are measured, never asserted: they depend on the machine. Run with
`python -m benchmarks.slack_bench [--quick]` (quick: 200 of each, 10,000 talks, bursts of 100, 100 channels).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp

from benchmarks.interaction_bench import listen_overflows
from benchmarks.remote_emulator import LogTally, pipe_commands, receive, report_measured, spawned
from benchmarks.scheduler_bench import LaunchClock, busiest_second, tallied_logs
from benchmarks.synthetic import generate
from bot.catalogue.formats.document import CatalogueDocument
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db
from bot.platforms.slack.app import GENERIC_ERROR, SLACK_POSTS_PER_SECOND, SlackBot
from bot.platforms.slack.posting import EVENT_TYPE, build_client
from bot.services.container import Services, open_services
from bot.services.ids import SlackIds
from emulator.slack import Message, Reply, SlackEmulator
from emulator.slack.model import Clock, format_ts, parse_ts

SAMPLES = 1_000
QUICK_SAMPLES = 200
WARM_UP = 20
BURST = 500
QUICK_BURST = 100
LARGE = 100_000
QUICK_LARGE = 10_000
CHANNELS = 1_000
QUICK_CHANNELS = 100
CROWDED_CHANNELS = 20
QUICK_CROWDED_CHANNELS = 5
CROWDED_PER_CHANNEL = 8  # schedules in each crowded channel: over the emulator's burst of 5
DEADLINE = 3.0  # Slack's, kept by the emulator: a later answer is cut off ("operation_timeout")
MEASURE_TIMEOUT = 3_600.0  # seconds for the child to measure one catalogue once the apps listen
BETWEEN_BURSTS = 1.0  # seconds of rest after a burst, so the bot has worked it off before the next
SETTLE = 1.5  # seconds to wait after the last expected post: a late duplicate or retry would show up
LOAD_TIMEOUT = 300.0  # seconds for the scheduler to load every schedule
TARGETS = (2.0, 3.0)  # the ratio to the floor allowed on the bundled catalogue, and on the large one
EVENTS_PATH = "/slack/events"
USER, CHANNEL = "U1", "C1"  # who types the commands, and where
FLOOR = "/ping (floor)"
RECOMMEND = "/recommend"
UNPOLLED = "/ping (no poll)"  # the floor's app with process_before_response=True: what bolt costs less its ack poll
KINDS = (FLOOR, RECOMMEND, UNPOLLED)
COMMAND = {FLOOR: "/ping", RECOMMEND: "/recommend", UNPOLLED: "/ping"}

# Typed after /recommend. Every query reads on both catalogues (the synthetic one shares the head of its
# vocabulary with real programmes); a few find nothing or carry a filter, as people type them.
QUERIES = (
    "kubernetes",
    "service mesh",
    "observability",
    "security",
    "linkerd",
    "prometheus metrics",
    "ebpf networking",
    "multicluster gitops",
    "supply chain security",
    "opentelemetry tracing",
    "chaos engineering in production",
    "platform engineering",
    "autoscaling",
    "webassembly",
    "machine learning gpu",
    "storage",
    "serverless functions",
    "observabilty",  # typos
    "kuberentes",
    "securty",
    "how to run kafka on kubernetes in production",
    "mTLS",
    "Service Mesh",
    "service-mesh",
    "lessons learned migrating a legacy monolith",
    "zero trust identity",
    "rust",
    "edge",
    "cost efficiency",
    "kubernetes event:kubecon",
    "zzxqvw",  # nothing matches
    "incident postmortem sre toil oncall alerting dashboards grafana",
)


# -- in the emulator's process ------------------------------------------------------------------------------


class TimingEmulator(SlackEmulator):
    """The Slack emulator, timing each request from the moment it starts sending it until it has read the answer.

    Its client may open as many connections at once as it needs: Slack sends every request on its own, and
    aiohttp's default pool (100 connections) would queue a burst inside the emulator instead of at the app.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.timed: dict[str, tuple[float, float]] = {}  # request id -> perf_counter() when sent and answered

    async def start(self) -> None:
        """Start as usual, then swap the client session for one with no cap on connections."""
        await super().start()
        if self._session is not None:
            await self._session.close()
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def _send(self, reply: Reply, *args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        await super()._send(reply, *args, **kwargs)
        self.timed[reply.request_id] = (started, time.perf_counter())

    def seconds(self, reply: Reply) -> float:
        """From starting to send the request to having read the answer (or given up on it)."""
        sent, answered = self.timed[reply.request_id]
        return answered - sent


@dataclass(frozen=True)
class Listening:
    """What the emulator's process tells the bot's once it listens."""

    api_url: str
    token: str
    signing_secret: str


@dataclass
class Latencies:
    """One kind's acknowledgement latencies (seconds), and what the answers said."""

    kind: str
    samples: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def ms(self, q: float) -> float:
        """The q-th percentile, in milliseconds."""
        return float(np.percentile(self.samples, q)) * 1e3 if self.samples else float("nan")

    @property
    def unanswered(self) -> int:
        """Requests with no acknowledgement (cut off at the deadline, refused, or an HTTP error)."""
        return sum(n for what, n in self.outcomes.items() if what not in ANSWERED)


ANSWERED = frozenset({"pong", "results", "no match", "other message", "failed"})


def outcome(reply: Reply) -> str:
    """What the acknowledgement said: results, no match, another message (a filter that did not read), a failure."""
    if reply.status != 200:
        return reply.error or f"HTTP {reply.status}"
    ack = reply.ack if isinstance(reply.ack, dict) else {"text": reply.ack or ""}
    text = str(ack.get("text") or "")
    if text == "pong":
        return "pong"
    if text.startswith("Talks for"):
        return "results"
    if text.startswith("No talk matches"):
        return "no match"
    if text.startswith(GENERIC_ERROR[:40]):
        return "failed"
    return "other message"


@dataclass
class Burst:
    """Many requests sent at once."""

    kind: str
    size: int
    latencies: list[float]  # of those acknowledged
    outcomes: Counter[str]
    seconds: float  # from the first sent to the last answered
    overflows: int | None  # connections the app's full listen queue dropped (they are retried after 1 s)

    @property
    def acknowledged(self) -> int:
        """Acknowledged at all (the emulator cuts off at Slack's deadline)."""
        return len(self.latencies)

    @property
    def within(self) -> int:
        """Acknowledged within Slack's deadline."""
        return sum(1 for seconds in self.latencies if seconds <= DEADLINE)

    def ms(self, q: float) -> float:
        """The q-th percentile of the acknowledged ones, in milliseconds."""
        return float(np.percentile(self.latencies, q)) * 1e3 if self.latencies else float("nan")


@dataclass
class Measured:
    """What the driver measured on one catalogue: plain data, sent back from the emulator's process."""

    kinds: dict[str, Latencies]
    bursts: list[Burst]
    problems: list[str]  # what the emulator says Slack would have refused
    logged: list[str]  # what the emulator's process logged at WARNING and above


async def ask(emulator: TimingEmulator, urls: dict[str, str], kind: str, text: str) -> Reply:
    """One slash command of `kind` to its app."""
    emulator.app_url = urls[kind]
    return await emulator.slash(COMMAND[kind], text if kind == RECOMMEND else "", user=USER, channel=CHANNEL)


async def interleaved(
    emulator: TimingEmulator, urls: dict[str, str], queries: list[str], samples: int, offset: int = 0
) -> dict[str, Latencies]:
    """`samples` of each kind, one request at a time, the kinds taking turns (each first in turn)."""
    found = {kind: Latencies(kind) for kind in KINDS}
    for n in range(samples):
        query = queries[(offset + n) % len(queries)]
        turn = n % len(KINDS)
        for kind in KINDS[turn:] + KINDS[:turn]:
            reply = await ask(emulator, urls, kind, query)
            what = outcome(reply)
            found[kind].outcomes[what] += 1
            if what in ANSWERED:
                found[kind].samples.append(emulator.seconds(reply))
    return found


async def burst(emulator: TimingEmulator, urls: dict[str, str], kind: str, queries: list[str], size: int) -> Burst:
    """`size` commands of `kind` sent at once; each one's time to its acknowledgement."""
    dropped = listen_overflows()
    replies = await asyncio.gather(*(ask(emulator, urls, kind, queries[n % len(queries)]) for n in range(size)))
    after = listen_overflows()
    outcomes = Counter(outcome(reply) for reply in replies)
    latencies = [emulator.seconds(reply) for reply in replies if outcome(reply) in ANSWERED]
    spans = [emulator.timed[reply.request_id] for reply in replies]
    seconds = max(answered for _, answered in spans) - min(sent for sent, _ in spans) if spans else 0.0
    await asyncio.sleep(BETWEEN_BURSTS)
    overflows = None if dropped is None or after is None else after - dropped
    return Burst(kind, size, latencies, outcomes, seconds, overflows)


def drive(conn: Connection, queries: list[str], samples: int, warm_up: int, burst_size: int) -> None:
    """The child's entry point: the emulator, and the measurement once told ("go", {kind: request URL}).

    Replies on the pipe: ("ok", `Listening`) once it listens, then ("ok", `Measured`) or ("error", traceback).
    It stops when told to ("stop",) or when the pipe closes (the parent has died), measuring or not.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops this one
    tally = LogTally()
    logging.getLogger().addHandler(tally)
    try:
        asyncio.run(_drive(conn, queries, samples, warm_up, burst_size, tally))
    finally:
        conn.close()


async def _drive(
    conn: Connection, queries: list[str], samples: int, warm_up: int, burst_size: int, tally: LogTally
) -> None:
    async with TimingEmulator(settle_quiet=0.0, ack_deadline=DEADLINE) as emulator:
        emulator.add_user(USER, "ada")
        emulator.add_channel(CHANNEL, "general")
        conn.send(("ok", Listening(emulator.api_url, emulator.token, emulator.signing_secret)))
        commands = pipe_commands(conn)
        command = await commands.get()
        if command is None or command[0] != "go":
            return  # told to stop, or the parent has gone
        urls: dict[str, str] = command[1]
        await report_measured(
            conn, commands, _measure_here(emulator, urls, queries, samples, warm_up, burst_size, tally)
        )


async def _measure_here(
    emulator: TimingEmulator,
    urls: dict[str, str],
    queries: list[str],
    samples: int,
    warm_up: int,
    burst_size: int,
    tally: LogTally,
) -> Measured:
    await interleaved(emulator, urls, queries, warm_up, offset=len(queries) // 2)  # each app's auth.test, caches
    kinds = await interleaved(emulator, urls, queries, samples)
    bursts = []
    if burst_size:
        bursts.append(await burst(emulator, urls, RECOMMEND, queries, burst_size))
        bursts.append(await burst(emulator, urls, FLOOR, queries, burst_size))
    logged = [f"  the emulator's process logged {n}x {what}" for what, n in tally.counts.most_common()]
    return Measured(kinds, bursts, list(emulator.problems), logged)


# -- in the bot's process -----------------------------------------------------------------------------------


def floor_app(ready: Listening, *, process_before_response: bool = False) -> AsyncApp:
    """A bare bolt app, built as `SlackBot` builds its own, whose /ping only acknowledges.

    With `process_before_response`, bolt runs the listener before answering instead of polling for its
    acknowledgement (every 10 ms, in slack_bolt's asyncio listener runner): the floor less that wait.
    """
    client = build_client(ready.token, ready.api_url)
    app = AsyncApp(signing_secret=ready.signing_secret, client=client, process_before_response=process_before_response)

    async def ping(ack: AsyncAck) -> None:
        await ack(response_type="ephemeral", text="pong")

    app.command("/ping")(ping)
    return app


@contextlib.asynccontextmanager
async def served(app: AsyncApp) -> AsyncIterator[str]:
    """A bolt app's request URL on a free loopback port, served as the tests and `serve` serve it."""
    runner = web.AppRunner(app.web_app(path=EVENTS_PATH), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{EVENTS_PATH}"
    finally:
        await runner.cleanup()


@dataclass
class CatalogueRun:
    """Everything measured on one catalogue."""

    label: str
    talks: int
    kinds: dict[str, Latencies]
    bursts: list[Burst]
    problems: list[str]
    logged: list[str]


async def measure_catalogue(label: str, database: Path, talks: int, config: Config) -> CatalogueRun:
    """The emulator and the driver in a child process; `SlackBot`'s app and the floor app alone in this one."""
    gc.collect()  # start each catalogue with no garbage left over from the last
    args = (list(QUERIES), config.samples, config.warm_up, config.burst)
    with tallied_logs() as tally:
        async with spawned(drive, *args, name="slack-emulator") as (process, conn, ready):
            if not isinstance(ready, Listening):
                raise RuntimeError(f"the emulator process did not start: {ready!r}")
            async with open_services(database, platform="slack") as services:
                bot = SlackBot(services, token=ready.token, signing_secret=ready.signing_secret, api_url=ready.api_url)
                unpolled = floor_app(ready, process_before_response=True)
                async with (
                    served(bot.app) as bot_url,
                    served(floor_app(ready)) as floor_url,
                    served(unpolled) as unpolled_url,
                ):
                    conn.send(("go", {RECOMMEND: bot_url, FLOOR: floor_url, UNPOLLED: unpolled_url}))
                    found = await receive(process, conn, timeout=MEASURE_TIMEOUT)
            if not isinstance(found, Measured):
                raise RuntimeError(f"the emulator process answered {found!r}")
    return CatalogueRun(label, talks, found.kinds, found.bursts, found.problems, tally.lines("  ") + found.logged)


def _imported(path: Path, document: CatalogueDocument) -> Path:
    with sync_db(path) as conn:
        apply_document(conn, document)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def describe(run: CatalogueRun, target: float) -> Iterator[str]:
    """The lines for one catalogue."""
    polled, found, floor = run.kinds[FLOOR], run.kinds[RECOMMEND], run.kinds[UNPOLLED]
    yield (f"{run.label} ({run.talks:,} talks), {len(floor.samples) + floor.unanswered:,} of each, taking turns, "
           f"/recommend cycling through {len(QUERIES)} fixed queries:")  # fmt: skip
    yield (
        f"  {UNPOLLED:<15} p50 {floor.ms(50):7.2f} ms  p99 {floor.ms(99):7.2f} ms  (the floor: a bare bolt app whose "
        f"/ping only acknowledges, set up as the bot's is, with process_before_response=True){_lost(floor.outcomes)}"
    )
    p50, p99 = found.ms(50) / floor.ms(50), found.ms(99) / floor.ms(99)
    answers = ", ".join(f"{n:,} {what}" for what, n in found.outcomes.most_common() if what in ANSWERED)
    yield (
        f"  {RECOMMEND:<15} p50 {found.ms(50):7.2f} ms  p99 {found.ms(99):7.2f} ms  "
        f"= {p50:.2f}x the floor's p50, {p99:.2f}x its p99 (target <= {target:.0f}x: p50 {_met(p50 <= target)}, "
        f"p99 {_met(p99 <= target)}); answers: {answers}{_lost(found.outcomes)}"
    )
    yield (
        f"  {FLOOR:<15} p50 {polled.ms(50):7.2f} ms  p99 {polled.ms(99):7.2f} ms  (the same bare app with bolt's "
        f"defaults, which checks for the acknowledgement every 10 ms){_lost(polled.outcomes)}"
    )
    for done in run.bursts:
        within = done.within == done.size
        missed = _lost(done.outcomes)
        target_note = f" (target: all: {_met(within)})" if done.kind == RECOMMEND else ""
        dropped = f"; {done.overflows} connections dropped by the app's full listen queue" if done.overflows else ""
        yield (
            f"  burst of {done.size} {done.kind} at once: {done.within} of {done.size} acknowledged within "
            f"Slack's {DEADLINE:.0f} s{target_note}; max {max(done.latencies, default=float('nan')) * 1e3:.0f} ms, "
            f"p99 {done.ms(99):.0f} ms, p50 {done.ms(50):.0f} ms; the last answered {done.seconds:.2f} s after "
            f"the first was sent{missed}{dropped}"
        )
    if len(run.bursts) == 2 and all(b.latencies for b in run.bursts):
        mine, bare = run.bursts
        yield f"  the /recommend burst's p99 is {mine.ms(99) / bare.ms(99):.2f}x the /ping burst's"
    for problem in run.problems[:5]:
        yield f"  the emulator says Slack would have refused: {problem[:300]}"
    if len(run.problems) > 5:
        yield f"  ...and {len(run.problems) - 5} more such problems"
    yield from run.logged


# -- scheduled posts ---------------------------------------------------------------------------------------


class SharedTs(Clock):
    """Message timestamps on the benchmark's clock (real time plus its jump), strictly increasing."""

    def __init__(self, clock: LaunchClock) -> None:
        super().__init__()
        self._launch = clock
        self._micros = 0

    def next_ts(self) -> str:
        """A fresh ts, later than every earlier one."""
        self._micros = max(int(self._launch.now().timestamp() * 1_000_000), self._micros + 1)
        return format_ts(self._micros)


@dataclass
class PostRun:
    """What one posting run measured."""

    channels: int
    schedules: int
    posts: int  # highlight messages in the channels
    seconds: float  # from the jump to the due instant to the last expected post
    first: float  # from the jump to the first post
    duplicates: int  # posts beyond one per schedule
    missing: int  # schedules without a post
    channel_duplicates: int  # channels with more posts than schedules
    busiest_in_channel: int  # most posts in one channel within any one second (from the ts values)
    fast_channels: int  # channels with two posts less than a second apart
    closest: float | None  # the closest two posts in one channel came, seconds apart
    busiest_second: int  # most posts in any one second, all channels together
    rate_limited: int  # chat.postMessage answered 429
    limited_channels: int
    limited_posted: int  # of those channels, how many have every schedule's post exactly once
    sent_rows: int  # attempts marked sent in the database
    not_sent: list[str]  # schedules not ended sent: id and why
    setup_seconds: float
    load_seconds: float

    @property
    def rate(self) -> float:
        """Posts per second."""
        return self.posts / self.seconds if self.seconds > 0 else float("inf")


def _highlight(message: Message) -> bool:
    metadata = message.metadata or {}
    return metadata.get("event_type") == EVENT_TYPE


async def scheduled_posts(template: Path, folder: Path, name: str, channels: int, per_channel: int) -> PostRun:
    """`channels` channels with `per_channel` schedules each (one per topic when more than one), all due at once."""
    database = folder / f"{name}.sqlite3"
    shutil.copy(template, database)
    clock = LaunchClock()
    async with SlackEmulator() as emulator, open_services(database, platform="slack", clock=clock) as services:
        emulator.world.clock = SharedTs(clock)
        emulator.add_user(USER, "grace", admin=True)
        started = time.perf_counter()
        team, schedule_ids, due = await _set_up(emulator, services, channels, per_channel, clock)
        setup_seconds = time.perf_counter() - started
        bot = SlackBot(services, token=emulator.token, signing_secret=emulator.signing_secret, api_url=emulator.api_url)
        arrivals: list[float] = []
        all_in = asyncio.Event()

        def note(message: Message) -> None:
            if message.source == "chat.postMessage" and not message.replaced and _highlight(message):
                arrivals.append(time.perf_counter())
                if len(arrivals) >= len(schedule_ids):
                    all_in.set()

        emulator.world.observers.append(note)
        asleep = clock.next_sleep()
        started = time.perf_counter()
        await bot.start()
        try:
            await asyncio.wait_for(asleep, LOAD_TIMEOUT)  # every schedule loaded; the scheduler sleeps till due
            load_seconds = time.perf_counter() - started
            jumped = time.perf_counter()
            clock.jump_to(due)
            pace = len(schedule_ids) / SLACK_POSTS_PER_SECOND
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_in.wait(), 2 * pace + 120.0)
            last = arrivals[len(schedule_ids) - 1] if len(arrivals) >= len(schedule_ids) else time.perf_counter()
            await asyncio.sleep(SETTLE)
        finally:
            await bot.close()
        return await _checked(
            emulator, services, team, schedule_ids, arrivals, jumped, last, setup_seconds, load_seconds
        )


async def _set_up(
    emulator: SlackEmulator, services: Services, channels: int, per_channel: int, clock: LaunchClock
) -> tuple[int, dict[int, str], datetime]:
    """The channels and their schedules, all due at one minute over an hour ahead.

    Returns the workspace's number, schedule id -> channel, and the due instant.
    """
    if services.db is None:
        raise RuntimeError("the Slack app needs the services' database gateway")
    ids = SlackIds(services.db)  # its own: the bot's poster starts with nothing remembered, as after a restart
    team, creator = await ids.number(emulator.team_id), await ids.number(USER)
    # /highlights allows 25 schedules per workspace (MAX_SCHEDULES_PER_GUILD); this run needs them all in one.
    services.highlights.max_per_guild = max(services.highlights.max_per_guild, channels * per_channel)
    topics = [None] if per_channel == 1 else [t.slug for t in await services.catalogue.topics()][:per_channel]
    if len(topics) < per_channel:
        raise RuntimeError(f"the catalogue has {len(topics)} topics; {per_channel} schedules per channel need more")
    now = clock.now()
    at = (now + timedelta(hours=1, minutes=1)).replace(second=0, microsecond=0)
    made: dict[int, str] = {}
    dues: set[datetime] = set()
    for n in range(channels):
        channel = f"CB{n:06d}"
        emulator.add_channel(channel, f"talks-{n}")
        number = await ids.number(channel)
        for topic in topics:
            info = await services.highlights.setup(
                team, number, f"{at:%H:%M}", "UTC", topic=topic, created_by=creator, now=now
            )
            made[info.id] = channel
            dues.add(info.next_due)
    if len(dues) != 1:
        raise RuntimeError(f"the schedules are due at {len(dues)} different instants, not one")
    return team, made, dues.pop()


async def _checked(
    emulator: SlackEmulator,
    services: Services,
    team: int,
    schedule_ids: dict[int, str],
    arrivals: list[float],
    jumped: float,
    last: float,
    setup_seconds: float,
    load_seconds: float,
) -> PostRun:
    """What the channels hold and the database says, against one post per schedule."""
    per_schedule: Counter[int] = Counter()
    stamps: dict[str, list[float]] = defaultdict(list)
    posts = 0
    channels = sorted(set(schedule_ids.values()))
    for channel in channels:
        for message in emulator.channels[channel].messages:
            if not _highlight(message):
                continue
            posts += 1
            payload = (message.metadata or {}).get("event_payload") or {}
            per_schedule[int(payload.get("schedule", 0))] += 1
            stamps[channel].append((parse_ts(message.ts) or 0) / 1e6)
    wanted = Counter(schedule_ids.values())
    gaps = [b - a for times in stamps.values() for a, b in itertools.pairwise(sorted(times))]
    limited = {channel for method, channel in emulator.rate_limited if method == "chat.postMessage"}
    complete = {
        channel
        for channel in limited
        if all(per_schedule[s] == 1 for s, where in schedule_ids.items() if where == channel)
    }
    assert services.db is not None  # noqa: S101 - checked in _set_up
    row = await services.db.read(
        lambda conn: conn.execute("SELECT COUNT(*) FROM schedule_attempts WHERE state = 'sent'").fetchone()
    )
    not_sent = [
        f"#{info.id} {info.state}, {info.failures} failures"
        + (f" ({info.last_failure})" if info.last_failure else "")
        + ("" if info.last_post_at else ", never posted")
        for info in await services.highlights.list(team)
        if info.state != "enabled" or info.failures or info.last_post_at is None
    ]
    return PostRun(
        channels=len(channels),
        schedules=len(schedule_ids),
        posts=posts,
        seconds=last - jumped,
        first=(min(arrivals) - jumped) if arrivals else float("nan"),
        duplicates=sum(n - 1 for n in per_schedule.values() if n > 1) + per_schedule.get(0, 0),
        missing=sum(1 for s in schedule_ids if per_schedule[s] == 0),
        channel_duplicates=sum(1 for c in channels if len(stamps[c]) > wanted[c]),
        busiest_in_channel=max((busiest_second(times) for times in stamps.values()), default=0),
        fast_channels=sum(1 for times in stamps.values() if _closest(times) < 1.0),
        closest=min(gaps) if gaps else None,
        busiest_second=busiest_second(arrivals),
        rate_limited=sum(1 for method, _ in emulator.rate_limited if method == "chat.postMessage"),
        limited_channels=len(limited),
        limited_posted=len(complete),
        sent_rows=int(row[0]) if row else 0,
        not_sent=not_sent,
        setup_seconds=setup_seconds,
        load_seconds=load_seconds,
    )


def _closest(times: list[float]) -> float:
    return min((b - a for a, b in itertools.pairwise(sorted(times))), default=float("inf"))


def describe_posts(run: PostRun, *, crowded: bool) -> Iterator[str]:
    """The lines for one posting run."""
    exact = run.duplicates == 0 and run.missing == 0 and run.channel_duplicates == 0
    checks = (f"exactly one post per {'schedule' if crowded else 'channel'}: {_met(exact)}" if exact else
              f"{run.duplicates} TWICE, {run.missing} MISSING")  # fmt: skip
    bound = max(0.0, run.schedules / SLACK_POSTS_PER_SECOND - 1)  # the first second's 10 may go at once
    against = f" = {run.seconds / bound:.2f}x the {bound:.1f} s it allows" if bound else ""
    sent = not run.not_sent and run.sent_rows == run.schedules
    ended = (f"every schedule ended sent ({run.sent_rows:,} attempts marked sent; none failed, paused or lost)"
             if sent else f"{len(run.not_sent)} schedules NOT ended sent ({run.sent_rows:,} attempts marked sent; "
             f"e.g. {'; '.join(run.not_sent[:3])})")  # fmt: skip
    if run.rate_limited:
        waited = run.limited_posted == run.limited_channels and sent
        limited = (f"{run.rate_limited} posts answered 429 in {run.limited_channels} channels; every one waited "
                   f"out, each of those channels got each of its schedules' posts once: {_met(waited)}")  # fmt: skip
    else:
        limited = "0 posts answered 429"
    if crowded:
        spacing = (f"busiest second in one channel: {run.busiest_in_channel} posts (the emulator's limit: a burst "
                   f"of 5, then 1 a second)")  # fmt: skip
    else:
        closest = (
            "no channel has two" if run.closest is None else f"closest two in one channel {run.closest:.2f} s apart"
        )
        spacing = f"at most one post a second in every channel: {_met(run.fast_channels == 0)} ({closest})"
    yield (
        f"  {run.posts:,} posts in {run.seconds:.2f} s from the due instant = {run.rate:.1f} posts/s (the first "
        f"{run.first * 1e3:.0f} ms after it; the bot paces every post at {SLACK_POSTS_PER_SECOND} a second"
        f"{against}; busiest second {run.busiest_second} posts)"
        + ("" if run.posts == run.schedules else f"; expected {run.schedules:,}")
    )
    yield f"  {checks}; {spacing}; {limited}; {ended}"


# -- the report ----------------------------------------------------------------------------------------------


@dataclass
class Config:
    """How much to measure."""

    samples: int = SAMPLES
    warm_up: int = WARM_UP
    burst: int = BURST
    large: int = LARGE
    channels: int = CHANNELS
    crowded_channels: int = CROWDED_CHANNELS
    crowded_per_channel: int = CROWDED_PER_CHANNEL


def config_for(quick: bool) -> Config:
    """Full: 1,000 of each, bursts of 500, 100,000 talks, 1,000 channels; quick: 200, 100, 10,000 and 100."""
    if not quick:
        return Config()
    return Config(samples=QUICK_SAMPLES, burst=QUICK_BURST, large=QUICK_LARGE, channels=QUICK_CHANNELS,
                  crowded_channels=QUICK_CROWDED_CHANNELS)  # fmt: skip


@dataclass
class Report:
    """Everything measured, and the printed lines."""

    runs: list[CatalogueRun] = field(default_factory=list)
    posts: PostRun | None = None
    crowded: PostRun | None = None
    lines: list[str] = field(default_factory=list)


def _lost(outcomes: Counter[str]) -> str:
    """ "; NOT ACKNOWLEDGED: ..." for the requests without an acknowledgement, or nothing."""
    lost = [f"{n} {what}" for what, n in outcomes.most_common() if what not in ANSWERED]
    return f"; NOT ACKNOWLEDGED: {', '.join(lost)}" if lost else ""


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


async def measure(config: Config, folder: Path, echo: Callable[[str], None]) -> Report:
    """The bundled catalogue, the large synthetic one, then the scheduled posts."""
    report = Report()

    def say(line: str) -> None:
        report.lines.append(line)
        echo(line)

    say("slash commands through the real slack-bolt app on loopback HTTP, signed as Slack signs them, timed from "
        "sending to the acknowledgement read; the Slack emulator and the timing in a spawned process of their own, "
        "the bot's app and the floor apps (bare bolt apps whose /ping only acknowledges) alone in this one"
        )  # fmt: skip
    document = load_native(BUNDLED_CATALOGUE)
    bundled = _imported(folder / "bundled.sqlite3", document)
    report.runs.append(await measure_catalogue("bundled catalogue", bundled, len(document.talks), config))
    for line in describe(report.runs[-1], TARGETS[0]):
        say(line)
    if config.large:
        started = time.perf_counter()
        large = _imported(folder / f"synthetic-{config.large}.sqlite3", generate(config.large).document)
        prepared = time.perf_counter() - started
        report.runs.append(await measure_catalogue("synthetic catalogue from benchmarks.synthetic", large,
                                                   config.large, config))  # fmt: skip
        for line in describe(report.runs[-1], TARGETS[1]):
            say(line)
        say(f"  (generating and importing it took {prepared:.0f} s, not counted)")

    if config.channels:
        say(f"scheduled posts: {config.channels:,} channels, one schedule each, all due at the same minute; the real "
            f"SlackBot scheduler and poster against the Slack emulator in this process, its per-channel limit on "
            f"(1 a second after a burst of 5; over it 429 with Retry-After); real time, jumped to the due minute "
            f"once the scheduler had loaded every schedule and slept")  # fmt: skip
        with tallied_logs() as tally:
            report.posts = posts = await scheduled_posts(bundled, folder, "posts", config.channels, 1)
        say(f"  set-up, not counted: {posts.schedules:,} schedules added through HighlightService.setup in "
            f"{posts.setup_seconds:.1f} s (its cap of 25 per workspace raised for this run); the scheduler loaded "
            f"them and slept in {posts.load_seconds * 1e3:.0f} ms")  # fmt: skip
        for line in [*describe_posts(posts, crowded=False), *tally.lines("  ")]:
            say(line)
    if config.crowded_channels:
        n, per = config.crowded_channels, config.crowded_per_channel
        say(f"crowded channels: {n} channels with {per} schedules each (one per topic), all due at the same "
            f"minute, so that the per-channel limit answers 429")  # fmt: skip
        with tallied_logs() as tally:
            report.crowded = crowded = await scheduled_posts(bundled, folder, "crowded", n, per)
        for line in [*describe_posts(crowded, crowded=True), *tally.lines("  ")]:
            say(line)
    return report


def run(quick: bool = False, echo: Callable[[str], None] | None = None) -> list[str]:
    """Every figure (see the module docstring); the printed lines."""
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(measure(config_for(quick), Path(folder), echo or (lambda _: None))).lines


def main(argv: list[str]) -> None:
    """`python -m benchmarks.slack_bench [--quick]`: print the figures as they come."""
    run("--quick" in argv, echo=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
