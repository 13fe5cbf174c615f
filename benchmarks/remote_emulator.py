"""The emulator in a child process of its own, driven over a pipe, so that its CPU is not charged to the bot.

`remote_emulator(servers, users=0)` starts a spawned process (its own interpreter and event loop) that runs
a `DiscordEmulator` (validation off) holding `servers` servers with one channel, "highlights", each, and
`users` more users (whom the bot can send direct messages), and yields a `RemoteEmulator`: the addresses and
token a client needs, the ids of every server, channel and user, and a few requests answered over the pipe
(set the global limit, wait for the n-th post, the arrivals and requests so far).
The bot reaches the emulator only over loopback HTTP and websocket, as it would reach Discord.

Arrival times are `time.perf_counter()` in the child: CLOCK_MONOTONIC on Linux, so comparable with the
parent's. The child stops when asked, when the pipe closes (the parent has died) and, being a daemon
process, when the parent exits; leaving the context terminates it (and kills it if it will not stop).

The process plumbing is also offered on its own, for other benchmarks that run code in such a child:
`spawned` (start a target in a spawned daemon process, wait for its first reply, stop it on leaving),
`pipe_commands` (in the child: the requests on the pipe, read in a thread) and `receive` (in the parent:
await one reply without blocking the event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any, NamedTuple

from benchmarks.coldstart import peak_rss_mb
from emulator.model import StoredMessage
from emulator.server import DiscordEmulator

START_TIMEOUT = 300.0  # seconds for the child to import, build its servers and listen
STOP_TIMEOUT = 10.0


class Server(NamedTuple):
    """One emulated server and its one channel."""

    guild_id: int
    channel_id: int


@dataclass(frozen=True)
class Started:
    """What the child tells the parent once it listens."""

    api_base_url: str
    gateway_url: str
    token: str
    guilds: int  # every guild the bot will hold: the servers and the emulator's own default guild
    servers: list[Server]
    users: list[int] = field(default_factory=list)  # the users made for the run, by id


@dataclass(frozen=True)
class Arrived:
    """The `count`-th post's arrival (`perf_counter()`), and the child's CPU seconds from the request to it."""

    at: float
    cpu_seconds: float


@dataclass(frozen=True)
class Stats:
    """What the emulator saw so far."""

    arrivals: list[float]  # perf_counter() at each channel post, in order
    per_channel: dict[int, int]  # posts per channel id
    per_recipient: dict[int, int]  # posts per user id, in the user's direct messages with the bot
    requests: list[tuple[float, str, int]]  # each REST request: perf_counter() on arrival, route, status
    rate_limited: int  # requests answered 429
    cpu_seconds: float  # the child process's CPU so far
    peak_rss_mb: float  # the child process's resident memory high-water mark
    logged: dict[str, int]  # records at WARNING and above, by level, logger and message template


# -- in the child ------------------------------------------------------------------------------------------


class CountingEmulator(DiscordEmulator):
    """The emulator, noting when each channel post arrives and waking a waiter at a target count."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.arrivals: list[float] = []
        self.per_channel: Counter[int] = Counter()
        self._goal: tuple[int, asyncio.Future[tuple[float, float]]] | None = None

    def record_post(self, message: StoredMessage) -> None:
        """Count the post (and note when it came) before storing it as usual."""
        super().record_post(message)
        now = time.perf_counter()
        self.arrivals.append(now)
        self.per_channel[message.channel_id] += 1
        if self._goal is not None and len(self.arrivals) >= self._goal[0] and not self._goal[1].done():
            self._goal[1].set_result((now, time.process_time()))

    def when_posted(self, count: int) -> asyncio.Future[tuple[float, float]]:
        """Resolves at the `count`-th post with its `perf_counter()` and the process CPU seconds then."""
        future: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()
        self._goal = (count, future)
        if len(self.arrivals) >= count:
            future.set_result((self.arrivals[count - 1], time.process_time()))
        return future

    def rate_limited(self) -> int:
        """How many requests the emulator answered with 429."""
        return sum(1 for record in self.requests if record.status == 429)


_NOT_COUNTED = ("voice will NOT be supported",)  # discord.py at start-up; this bot has no voice


class LogTally(logging.Handler):
    """Counts the warnings and errors logged during a run instead of printing each, tracebacks and all."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.last: dict[str, str] = {}  # the latest record of each kind, with its arguments

    def emit(self, record: logging.LogRecord) -> None:
        """Count the record by level, logger and message template (with its exception's type and text)."""
        if any(fragment in str(record.msg) for fragment in _NOT_COUNTED):
            return
        what = f"{record.levelname} {record.name}: {record.msg}"
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            what += f" [{type(error).__name__}: {error}]"
        self.counts[what[:200]] += 1
        self.last[what[:200]] = record.getMessage()[:200]

    def lines(self, indent: str = "") -> list[str]:
        """One line per kind of record, commonest first, with the latest one in full when it says more."""
        return [
            f"{indent}the bot logged {n}x {what}"
            + (f" (latest: {self.last[what]})" if self.last.get(what, what) not in what else "")
            for what, n in self.counts.most_common()
        ]


def serve(conn: Connection, servers: int, users: int = 0) -> None:
    """The child's entry point: run the emulator and answer requests until told to stop or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops this one
    tally = LogTally()
    logging.getLogger().addHandler(tally)
    try:
        asyncio.run(_serve(conn, servers, users, tally))
    finally:
        conn.close()


def pipe_commands(conn: Connection) -> asyncio.Queue[tuple[Any, ...] | None]:
    """The requests arriving on `conn` from now on, then `None` once the pipe closes (the parent has gone).

    Read in a daemon thread, so that the running event loop never blocks on the pipe.
    """
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()

    def read() -> None:
        try:
            while True:
                command = conn.recv()
                loop.call_soon_threadsafe(commands.put_nowait, command)
        except (EOFError, OSError):
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(commands.put_nowait, None)

    threading.Thread(target=read, name="pipe-commands", daemon=True).start()
    return commands


async def report_measured(
    conn: Connection, commands: asyncio.Queue[tuple[Any, ...] | None], measuring: Coroutine[Any, Any, Any]
) -> None:
    """Measure, and send ("ok", figures) or ("error", traceback) back on `conn`; give up if told to stop first.

    Then wait for the parent's ("stop",) (sent once the bot has closed) or end-of-file.
    """
    task = asyncio.ensure_future(measuring)
    told = asyncio.ensure_future(commands.get())
    await asyncio.wait({task, told}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():  # told to stop, or the parent has gone: no one is waiting for the figures
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return
    error = task.exception()
    if error is not None:
        conn.send(("error", "".join(traceback.format_exception(error)).rstrip()))
    else:
        conn.send(("ok", task.result()))
    await told


async def _serve(conn: Connection, servers: int, users: int, tally: LogTally) -> None:
    emulator = CountingEmulator(validate=False)
    made = [emulator.world.add_guild(f"Server {n}", ("highlights",)) for n in range(servers)]
    members = [emulator.world.add_user(f"member{n}").id for n in range(users)]
    waiting: set[asyncio.Task[None]] = set()
    async with emulator:
        listed = [Server(guild.id, guild.text_channels()[0].id) for guild in made]
        conn.send(
            (
                "ok",
                Started(
                    emulator.api_base_url,
                    emulator.gateway_url,
                    emulator.token,
                    len(emulator.world.guilds),
                    listed,
                    members,
                ),
            )
        )
        commands = pipe_commands(conn)
        while (command := await commands.get()) is not None:
            match command:
                case ("limit", per_second):
                    emulator.faults.set_global_rate_limit(per_second)
                    conn.send(("ok", None))
                case ("wait_posts", count, timeout):
                    task = asyncio.create_task(_answer_when_posted(emulator, conn, count, timeout))
                    waiting.add(task)
                    task.add_done_callback(waiting.discard)
                case ("stats",):
                    conn.send(("ok", _stats(emulator, tally)))
                case ("stop",):
                    break
                case _:
                    conn.send(("error", f"unknown request {command!r}"))
        for task in waiting:
            task.cancel()


async def _answer_when_posted(emulator: CountingEmulator, conn: Connection, count: int, timeout: float) -> None:  # noqa: ASYNC109
    cpu = time.process_time()
    try:
        at, cpu_then = await asyncio.wait_for(emulator.when_posted(count), timeout)
    except TimeoutError:
        conn.send(("timeout", f"{len(emulator.arrivals):,} of {count:,} posts arrived within {timeout:.0f} s"))
        return
    conn.send(("ok", Arrived(at, cpu_then - cpu)))


def _stats(emulator: CountingEmulator, tally: LogTally) -> Stats:
    recipients = {channel.id: channel.recipient_id for channel in emulator.world.private_channels.values()}
    per_recipient: Counter[int] = Counter()
    for channel_id, posts in emulator.per_channel.items():
        recipient = recipients.get(channel_id)
        if recipient is not None:
            per_recipient[recipient] += posts
    return Stats(
        arrivals=list(emulator.arrivals),
        per_channel=dict(emulator.per_channel),
        per_recipient=dict(per_recipient),
        requests=[(record.at, record.route, record.status) for record in emulator.requests],
        rate_limited=emulator.rate_limited(),
        cpu_seconds=time.process_time(),
        peak_rss_mb=peak_rss_mb(),  # VmHWM: ru_maxrss would carry over the parent's peak across exec
        logged=dict(tally.counts),
    )


# -- in the parent -----------------------------------------------------------------------------------------


class RemoteEmulator:
    """The parent's handle on the emulator process: what a client needs to reach it, and requests to it.

    One request at a time; each reply is awaited in a thread, so the caller's event loop never blocks.
    """

    def __init__(self, process: SpawnProcess, conn: Connection, started: Started) -> None:
        self._process = process
        self._conn = conn
        self._pending = False
        self.api_base_url = started.api_base_url
        self.gateway_url = started.gateway_url
        self.token = started.token
        self.guilds = started.guilds
        self.servers = started.servers
        self.users = started.users

    async def set_global_rate_limit(self, per_second: int | None) -> None:
        """Answer 429 to requests over `per_second` in a second (`None`: no limit)."""
        self._send("limit", per_second)
        await self._reply()

    def when_posted(self, count: int, *, timeout: float) -> asyncio.Task[Arrived]:
        """Asks now; resolves when the `count`-th post has arrived (`TimeoutError` if not within `timeout`)."""
        self._send("wait_posts", count, timeout)

        async def arrived() -> Arrived:
            reply = await self._reply()
            assert isinstance(reply, Arrived)  # noqa: S101 - the child's answer to this request
            return reply

        return asyncio.create_task(arrived())

    async def stats(self) -> Stats:
        """The arrivals so far, posts per channel, 429s, and the process's CPU, memory and logs."""
        self._send("stats")
        reply = await self._reply()
        assert isinstance(reply, Stats)  # noqa: S101 - the child's answer to this request
        return reply

    def _send(self, *request: Any) -> None:
        if self._pending:
            raise RuntimeError("the emulator process answers one request at a time")
        self._pending = True
        self._conn.send(request)

    async def _reply(self) -> Any:
        value = await receive(self._process, self._conn)
        self._pending = False  # stays set if the reply never came: later requests would read a stale answer
        return value


async def receive(process: SpawnProcess, conn: Connection, timeout: float | None = None) -> Any:  # noqa: ASYNC109
    """The child's next reply, awaited in a thread: its value if ("ok", value), else an error.

    ("timeout", why) raises `TimeoutError`, anything else `RuntimeError`, as does the pipe closing (the child
    has ended); so does no reply within `timeout` seconds, if given (`TimeoutError`).
    """
    try:
        kind, value = await asyncio.wait_for(asyncio.to_thread(conn.recv), timeout)
    except (EOFError, OSError):
        await asyncio.to_thread(process.join, 1.0)
        raise RuntimeError(f"the {process.name} process has ended (exit code {process.exitcode})") from None
    if kind == "timeout":
        raise TimeoutError(value)
    if kind != "ok":
        raise RuntimeError(f"the {process.name} process: {value}")
    return value


@contextlib.asynccontextmanager
async def spawned(
    target: Callable[..., None], *args: Any, name: str
) -> AsyncIterator[tuple[SpawnProcess, Connection, Any]]:
    """`target(conn, *args)` in a spawned daemon process; yields it, the parent's end of the pipe and its first reply.

    The child is expected to send ("ok", value) once it is ready; the value is yielded. On leaving, the child
    is asked to stop (("stop",)), then terminated, then killed if need be.
    """
    context = multiprocessing.get_context("spawn")
    conn, child_end = context.Pipe()
    process = context.Process(target=target, args=(child_end, *args), name=name, daemon=True)
    process.start()
    child_end.close()  # so that the parent reads end-of-file if the child dies
    try:
        try:
            kind, first = await asyncio.wait_for(asyncio.to_thread(conn.recv), START_TIMEOUT)
        except (EOFError, OSError):
            process.join(1.0)
            raise RuntimeError(f"the {name} process ended while starting (exit code {process.exitcode})") from None
        if kind != "ok":
            raise RuntimeError(f"the {name} process did not start: {first!r}")
        yield process, conn, first
    finally:
        _stop(process, conn)


@contextlib.asynccontextmanager
async def remote_emulator(servers: int, users: int = 0) -> AsyncIterator[RemoteEmulator]:
    """A started emulator process: `servers` servers of one channel each, `users` more users; stopped on leaving."""
    async with spawned(serve, servers, users, name="discord-emulator") as (process, conn, started):
        if not isinstance(started, Started):
            raise RuntimeError(f"the emulator process did not start: {started!r}")
        yield RemoteEmulator(process, conn, started)


def _stop(process: SpawnProcess, conn: Connection) -> None:
    """Ask the child to stop; terminate it, then kill it, if it does not. Blocking: this is the end of a run."""
    with contextlib.suppress(OSError):
        conn.send(("stop",))
    process.join(STOP_TIMEOUT)
    if process.is_alive():
        process.terminate()
        process.join(STOP_TIMEOUT)
    if process.is_alive():
        process.kill()
        process.join()
    conn.close()  # after the child has gone: a thread still reading the pipe has then seen end-of-file
    process.close()
