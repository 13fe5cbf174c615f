"""Three `python -m bot run` processes, one shard each (SHARD_COUNT=3), over one database and one emulator.

The database is a SQLite file, or one PostgreSQL database under TEST_ENGINE=postgresql (`make test-postgres`,
`.ci/run`'s third stage): the same test, through DATABASE_URL.

Thirty servers, ten per shard, each with a highlight schedule whose slot falls due within a quarter of a
minute of real time (the store keeps a slot as it is given, so the slots are set half a second apart). The
process of shard 1 is killed with SIGKILL after its first few posts and started again. Every highlight is
posted exactly once, each by a process of its server's shard, and the processes together never identify
faster than Discord's rate (the emulator answers an IDENTIFY over it with INVALID_SESSION and counts it).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from bot.db.gateway import Database
from bot.highlights.rules import ScheduleRule, Slot, slot_key
from bot.highlights.store import ScheduleRepository
from emulator.gateway import shard_of
from emulator.model import Channel
from emulator.server import DiscordEmulator
from tests.e2e.test_process import environment

COUNT = 3
SERVERS = 30  # ten per shard
KILLED = 1  # the shard whose process is killed and started again
POSTED_BEFORE_KILL = 3  # of the killed shard's ten servers
FIRST_DUE = 20.0  # seconds after the processes start: about when the last of them has identified
SPACING = 0.5  # seconds between slots
POSTED = re.compile(r"bot\.highlights\.scheduler: schedule (\d+): posted ")


@dataclass
class Run:
    """One `python -m bot run` of one shard, its output in a file."""

    shard: int
    process: asyncio.subprocess.Process
    log: Path
    output: IO[bytes]

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Fleet:
    """Every run so far (a killed one stays, its log cut where it died)."""

    emulator: DiscordEmulator
    database: Path
    folder: Path
    runs: list[Run] = field(default_factory=list)

    async def start(self, shard: int) -> Run:
        env = environment(self.emulator, self.database, self.emulator.token)
        del env["DEV_GUILD_ID"]  # no command sync: this test only schedules
        for key in ("HIGHLIGHT_GRACE_MINUTES", "HIGHLIGHT_MAX_FAILURES"):
            env.pop(key, None)
        env.update(SHARD_COUNT=str(COUNT), SHARD_IDS=str(shard), LOG_LEVEL="DEBUG")  # DEBUG: each post is logged
        log = self.folder / f"shard-{shard}-run-{sum(r.shard == shard for r in self.runs)}.log"
        output = log.open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=self.folder, env=env, stdout=output, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        run = Run(shard, process, log, output)
        self.runs.append(run)
        return run

    def logs(self) -> str:
        """The end of every run's log, for a failure's message."""
        return "\n".join(f"--- {r.log.name} (exit {r.process.returncode})\n{r.text()[-3000:]}" for r in self.runs)

    async def stop(self) -> None:
        for run in self.runs:
            if run.process.returncode is None:
                run.process.send_signal(signal.SIGINT)
        for run in self.runs:
            try:
                await asyncio.wait_for(run.process.wait(), 20)
            except TimeoutError:
                run.process.kill()
                await run.process.wait()
            run.output.close()


@contextlib.asynccontextmanager
async def fleet_of(emulator: DiscordEmulator, database: Path, folder: Path) -> AsyncIterator[Fleet]:
    fleet = Fleet(emulator, database, folder)
    try:
        yield fleet
    finally:
        await fleet.stop()


async def until(fleet: Fleet, probe: Callable[[], bool], what: str, timeout: float) -> None:  # noqa: ASYNC109
    """Wait for `probe()` (checked after every change the emulator sees, and twice a second)."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{fleet.logs()}")
        with contextlib.suppress(TimeoutError):
            await fleet.emulator.wait_for(lambda: True if probe() else None, timeout=0.5, what=what)


async def attempts_sent(database: Path) -> int:
    db = await Database.open(database)
    try:
        rows = await db.read(lambda conn: conn.execute("SELECT state FROM schedule_attempts").fetchall())
    finally:
        await db.close()
    assert all(state in ("sending", "sent") for (state,) in rows), rows
    return sum(state == "sent" for (state,) in rows)


async def test_three_processes_post_every_highlight_once_across_a_kill_and_restart(
    discord_emulator: DiscordEmulator, bundled_db: Path, tmp_path: Path
) -> None:
    discord_emulator.sharding.max_concurrency = 1  # one bucket: the three processes must identify in turn
    channels: dict[int, Channel] = {}  # schedule id -> the channel it posts to
    shard_of_schedule: dict[int, int] = {}
    servers = [
        await discord_emulator.add_guild(f"server {n}", ("general", "highlights"), shard=(n % COUNT, COUNT))
        for n in range(SERVERS)
    ]
    rule = ScheduleRule(wall_time(0, 0), ZoneInfo("UTC"))  # the slot after each post is a later day's
    start = datetime.now(UTC)
    db = await Database.open(bundled_db)
    try:
        schedules = ScheduleRepository(db)
        for n, server in enumerate(servers):
            due = start + timedelta(seconds=FIRST_DUE + n * SPACING)
            channel = server.text_channels()[1]
            record = await schedules.add(
                server.id, channel.id, rule, Slot(due.date(), due, slot_key(rule, due.date())), now=start
            )
            channels[record.id] = channel
            shard_of_schedule[record.id] = shard_of(server.id, COUNT)
    finally:
        await db.close()
    killed_channels = [c for s, c in channels.items() if shard_of_schedule[s] == KILLED]

    def posted(among: list[Channel]) -> int:
        return sum(bool(discord_emulator.posts(c)) for c in among)

    async with fleet_of(discord_emulator, bundled_db, tmp_path) as fleet:
        first = [await fleet.start(shard) for shard in range(COUNT)]
        await until(
            fleet,
            lambda: posted(killed_channels) >= POSTED_BEFORE_KILL,
            f"{POSTED_BEFORE_KILL} posts from shard {KILLED}",
            timeout=FIRST_DUE + 30,
        )
        first[KILLED].process.kill()  # SIGKILL: no goodbye, whatever it was doing
        await first[KILLED].process.wait()
        at_kill = posted(killed_channels)
        assert at_kill < len(killed_channels), "the killed process had posted everything already"
        await fleet.start(KILLED)

        everything = list(channels.values())
        await until(fleet, lambda: posted(everything) == SERVERS, "a post in every server", timeout=45)
        deadline = time.monotonic() + 10
        while await attempts_sent(bundled_db) < SERVERS:  # every post settled: nothing left in flight to repeat
            assert time.monotonic() < deadline, f"posts not marked sent\n{fleet.logs()}"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a late second post would show now
        for run in fleet.runs:
            assert run.process.returncode is None or run is first[KILLED], fleet.logs()

    counts = {schedule: len(discord_emulator.posts(channel)) for schedule, channel in channels.items()}
    assert counts == dict.fromkeys(channels, 1), counts

    # Each post was made by a process of its server's shard: the scheduler logs each post it settles. A
    # post with no such line can only be one the killed process made just before it died.
    logged: dict[int, list[int]] = {}
    for run in fleet.runs:
        for match in POSTED.finditer(run.text()):
            logged.setdefault(int(match[1]), []).append(run.shard)
    assert all(shards == [shard_of_schedule[s]] for s, shards in logged.items()), logged
    assert all(shard_of_schedule[s] == KILLED for s in channels.keys() - logged.keys()), logged

    gateway = discord_emulator.gateway
    assert gateway.refused_identifies == 0, fleet.logs()
    assert sorted(gateway.sessions) == [(shard, COUNT) for shard in range(COUNT)]
    waits = sum(run.text().count("identifies after waiting") for run in first)
    assert waits >= COUNT - 1, fleet.logs()  # one bucket: two of the three first processes waited their turn
    logs = "".join(run.text() for run in fleet.runs)
    assert "Traceback" not in logs, fleet.logs()
    assert discord_emulator.token not in logs
