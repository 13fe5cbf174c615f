"""Scheduled posts over PostgreSQL, sharded across 3 processes, with one of them killed and restarted mid-run.

Per run: one throwaway PostgreSQL server (`emulator.postgres.temporary_postgres`: a real server, durability
off) and, on it, a fresh database holding the bundled catalogue and 100,000 daily schedules (`--quick`:
10,000), inserted in bulk, one per server. Server `i` (i = 1..N) has guild id `i << 22`, so it belongs to
shard `i % 3` and each of the three shards holds a third. Every schedule is due at the same whole minute,
a minute or two in the past (well within the scheduler's hour of grace), so each fires as soon as the
process that owns it has loaded it.

The workers are separate OS processes (`python -m benchmarks.shards_bench --worker ...`), each with its own
interpreter, event loop and connections: the real `Scheduler` and `SqliteScheduleStore` (it runs on both
engines) with a `ShardFilter` of one shard out of 3, the global limit lifted (`per_second=None`), and a
poster that stands in for Discord: it makes no request and answers at once, appending one line per post
(nonce, schedule id, talk, `perf_counter()`) to the process's own file in a single `write` on a file opened
O_APPEND, so a line reaches the file whole before the post returns and survives a SIGKILL.
`perf_counter()` is CLOCK_MONOTONIC on Linux: the same clock in every process. A worker stops by itself once
no schedule of its shard is still due (it asks the database after each second without a post), and stops
cleanly on SIGTERM.

The three PostgreSQL workers start together. When worker 0 has written half of its share's posts, the
benchmark sends it SIGKILL (no clean-up: posts claimed and in flight stay "sending" in the database) and at
once starts a new process for the same shard, writing a new file; it resends what was left "sending" with
the same nonce (Discord drops such a resend through `enforce_nonce`; here the resend shows as a second line
with the same nonce). The run ends when the files together hold every schedule, or at a time-out.

Then, in the same run, one worker process over a SQLite file built the same way (all N schedules, no shard
filter, no kill), for comparison.

Figures:
- duplicates: schedules posted more than once with different nonces (a real double post); resends with the
  same nonce, counted apart (what Discord drops); missed: schedules with no post at all; and what the
  database holds afterwards (attempts by state, schedules still due, schedules whose slot was skipped);
- posts per second with the limit lifted: per process (its posts over the span from its first post to its
  last) and in total (N over the span from the first post anywhere to the last post anywhere, so the kill
  and the restart are inside it), next to the one process over SQLite and the ratio of the two; the time
  from each process's start to its first post (start-up: imports, connecting, migrating, loading its
  schedules), and from the kill to the restarted process's first post;
- claim latency: the time of each `claim` call (the upsert that takes a slot), as the scheduler awaits it
  (perf_counter around the awaited call: the write path's queueing and batching included), p50 and p99 per
  process and overall. A worker writes its samples out every half second, so the killed process's last
  half second of samples is lost; its earlier ones, and every sample of the others, are counted;
- what the workers logged at WARNING and above (exact tracebacks are kept in the workers' logs and the
  first of each kind is printed).

The machine's CPUs are shared by the workers and the PostgreSQL server (or the one SQLite worker): the
figures are of this machine, not of a deployment. Timings are measured, never asserted.
Run with `python -m benchmarks.shards_bench [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db
from bot.db.dialect import is_postgres_url
from bot.db.gateway import Database, Session
from bot.db.postgres import PgSession
from bot.db.shards import ShardFilter, shard_sql
from bot.highlights.clock import SystemClock
from bot.highlights.ports import Attempt, PostResult, Schedule
from bot.highlights.rotation import Pick
from bot.highlights.rules import ScheduleRule, Slot, next_slot
from bot.highlights.scheduler import Scheduler, SchedulerConfig
from bot.highlights.store import SqliteScheduleStore, to_db_instant

SCHEDULES = 100_000
QUICK_SCHEDULES = 10_000
SHARDS = 3
KILLED = 0  # the shard whose process is killed half-way
INSERT_ROWS = 1_000  # schedules per INSERT statement (9 parameters each)
FLUSH_EVERY = 0.5  # seconds between a worker's writes of its claim latencies
DONE_POLL = 1.0  # seconds between a worker's checks that nothing of its shard is still due
WATCH_EVERY = 0.02  # seconds between the benchmark's looks at the workers' files
ROOT = Path(__file__).resolve().parent.parent


# -- the worker process --------------------------------------------------------------------------------------


class TimedStore(SqliteScheduleStore):
    """The scheduler's store, noting how long each `claim` takes as the scheduler awaits it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claims: list[float] = []  # seconds, not yet written out

    async def claim(self, schedule_id: int, slot: Slot, pick: Pick, at: datetime) -> Attempt | None:
        """`SqliteScheduleStore.claim`, timed."""
        started = time.perf_counter()
        try:
            return await super().claim(schedule_id, slot, pick, at)
        finally:
            self.claims.append(time.perf_counter() - started)


class FilePoster:
    """A poster that makes no request: each post is one line appended to a file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._message_ids = 0
        self.posts = 0

    async def post(self, schedule: Schedule, talk: str, nonce: str) -> PostResult:
        """Append `nonce, schedule id, talk, perf_counter()` as one line, in one write."""
        os.write(self._fd, f"{nonce}\t{schedule.id}\t{talk}\t{time.perf_counter():.6f}\n".encode())
        self._message_ids += 1
        self.posts += 1
        return PostResult((os.getpid() << 32) + self._message_ids)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def _still_due(shards: ShardFilter | None) -> Callable[[Session], int]:
    on_shards, params = shard_sql(shards, "guild_id")
    sql = (
        "SELECT COUNT(*) FROM schedules WHERE state = 'enabled' AND platform = 'discord' AND next_due <= ?" + on_shards
    )

    def work(conn: Session) -> int:
        row = conn.execute(sql, (to_db_instant(datetime.now(UTC)), *params)).fetchone()
        return int(row[0]) if row else 0

    return work


def _write_claims(path: Path, store: TimedStore) -> None:
    samples, store.claims = store.claims, []
    if samples:
        with path.open("a") as out:
            out.write("".join(f"{s:.7f}\n" for s in samples))


async def work_shard(target: str, shard: int, count: int, out: Path) -> None:
    """Run the scheduler over `target` for `shard` of `count` (all shards when `count` is 1) until done."""
    started = time.perf_counter()
    cpu = time.process_time()
    db = await Database.open(target if is_postgres_url(target) else Path(target))
    shards = ShardFilter(count, (shard,)) if count > 1 else None
    clock = SystemClock()
    store = TimedStore(db, clock=clock, platform="discord", shards=shards)
    poster = FilePoster(out)
    scheduler = Scheduler(store, poster, clock, SchedulerConfig(per_second=None))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    claims = out.with_name(out.name + ".claims")
    still_due = _still_due(shards)
    reason = "stopped"
    await scheduler.start()
    try:
        next_check, seen = time.perf_counter() + DONE_POLL, -1
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_EVERY)
            _write_claims(claims, store)
            if time.perf_counter() >= next_check:
                next_check = time.perf_counter() + DONE_POLL
                if poster.posts != seen:  # still posting: not done; the database is not asked (it costs a scan)
                    seen = poster.posts
                    continue
                if await db.read(still_due) == 0:
                    reason = "done"
                    break
    finally:
        await scheduler.stop()
        _write_claims(claims, store)
        poster.close()
        await db.close()
    summary = {
        "reason": reason,
        "posts": poster.posts,
        "cpu_seconds": time.process_time() - cpu,
        "started": started,
        "ended": time.perf_counter(),
    }
    out.with_name(out.name + ".done").write_text(json.dumps(summary))


def worker_main(argv: list[str]) -> None:
    """`--worker --target T --shard I --count C --out FILE`: one worker process."""
    parser = argparse.ArgumentParser(prog="benchmarks.shards_bench --worker")
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--target", required=True)
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    asyncio.run(work_shard(args.target, args.shard, args.count, args.out))


# -- set-up --------------------------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def new_postgres_database(server: str, name: str) -> str:
    """A new database on the server (via its `postgres` database); its URL. Empty: `fill` migrates it."""
    if not re.fullmatch(r"\w+", name):
        raise ValueError(f"unexpected database name {name!r}")
    admin = PgSession(_with_database(server, "postgres"))
    try:
        admin.executescript(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    return _with_database(server, name)


def drop_postgres_database(server: str, name: str) -> None:
    """Drop a database `new_postgres_database` made, once nothing uses it."""
    admin = PgSession(_with_database(server, "postgres"))
    try:
        admin.executescript(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def due_minute() -> tuple[ScheduleRule, Slot]:
    """A daily rule at the last whole minute at least a minute ago (UTC), and its slot today: due already."""
    due = (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0)
    rule = ScheduleRule(clock_time(due.hour, due.minute), ZoneInfo("UTC"))
    slot = next_slot(rule, due - timedelta(seconds=1))
    assert slot.due == due  # noqa: S101 - the slot is the minute chosen
    return rule, slot


def fill(target: str | Path, count: int) -> tuple[float, float, datetime]:
    """Migrate `target`, add the bundled catalogue and `count` schedules due now; seconds for each, and the due."""
    started = time.perf_counter()
    with sync_db(target) as conn:
        apply_document(conn, load_native(BUNDLED_CATALOGUE))
        catalogue = time.perf_counter() - started
        started = time.perf_counter()
        rule, slot = due_minute()
        constant = (rule.at.strftime("%H:%M"), "UTC", "daily", slot.day.isoformat(), to_db_instant(slot.due), slot.key,
                    to_db_instant(datetime.now(UTC)))  # fmt: skip
        conn.execute("BEGIN")
        for first in range(1, count + 1, INSERT_ROWS):
            servers = range(first, min(count, first + INSERT_ROWS - 1) + 1)
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(servers))
            params = [value for i in servers for value in (i << 22, i, *constant)]
            conn.execute(
                "INSERT INTO schedules (guild_id, channel_id, local_time, zone, cadence, next_day, next_due, next_key,"
                " created_at) VALUES " + marks,
                params,
            )
        conn.execute("COMMIT")
        schedules = time.perf_counter() - started
    return catalogue, schedules, slot.due


def schedule_ids(target: str | Path) -> dict[int, int]:
    """Every schedule's id, and its shard."""
    with sync_db(target) as conn:
        rows = conn.execute("SELECT id, guild_id FROM schedules").fetchall()
    return {int(sid): (int(guild) >> 22) % SHARDS for sid, guild in rows}


@dataclass
class Afterwards:
    """What the database holds once the run is over."""

    attempts: dict[str, int]
    sent_schedules: int  # schedules with a sent attempt
    still_due: int
    skipped: Counter[str]  # schedules with a failure or a skipped slot noted, by the note (digits as N)


def afterwards(target: str | Path) -> Afterwards:
    """The attempts by state, the schedules still due and those whose slot was skipped or failed."""
    with sync_db(target) as conn:
        attempts = {str(s): int(n) for s, n in conn.execute(
            "SELECT state, COUNT(*) FROM schedule_attempts GROUP BY state").fetchall()}  # fmt: skip
        sent = conn.execute("SELECT COUNT(DISTINCT schedule_id) FROM schedule_attempts WHERE state = 'sent'").fetchone()
        due = conn.execute(
            "SELECT COUNT(*) FROM schedules WHERE next_due <= ?", (to_db_instant(datetime.now(UTC)),)
        ).fetchone()
        notes = conn.execute(
            "SELECT last_failure, COUNT(*) FROM schedules WHERE last_failure IS NOT NULL GROUP BY last_failure"
        ).fetchall()
    skipped: Counter[str] = Counter()
    for note, n in notes:
        skipped[re.sub(r"\d", "N", str(note))] += int(n)
    return Afterwards(attempts, int(sent[0]) if sent else 0, int(due[0]) if due else 0, skipped)


def cpu_times() -> tuple[float, float]:
    """The machine's CPU seconds busy and in all, over every CPU, from /proc/stat (zeros elsewhere)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return (total - idle) / ticks, total / ticks


def _proc_stats() -> dict[int, tuple[int, float]]:
    """Every process's parent and CPU seconds (its own, and its reaped children's), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()  # from the state on (field 3 of proc(5))
        found[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / ticks)
    return found


def process_cpu(pid: int) -> float | None:
    """A live process's CPU seconds so far (user and system), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return sum(int(x) for x in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def server_cpu(url: str) -> float | None:
    """CPU seconds of the PostgreSQL server listening on `url`'s port: the postmaster, its live children and
    those it reaped (the backends of closed or killed connections); None if it cannot be found."""
    port = str(urlsplit(url).port)
    stats = _proc_stats()
    for pid in stats:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            argv
            and argv[0].endswith(b"postgres")
            and any(a == b"-p" and b == port.encode() for a, b in itertools.pairwise(argv))
        ):
            return stats[pid][1] + sum(cpu for parent, cpu in stats.values() if parent == pid)
    return None


# -- running the workers -------------------------------------------------------------------------------------


@dataclass
class Worker:
    """One worker process and what it wrote."""

    name: str
    shard: int
    out: Path
    process: subprocess.Popen[bytes]
    spawned: float  # perf_counter()
    log: Path
    lines: int = 0
    _offset: int = 0
    _partial: bytes = b""
    killed_at: float | None = None
    cpu_at_kill: float | None = None  # its CPU seconds just before the SIGKILL

    def read_new(self) -> list[tuple[str, int, float]]:
        """The post lines written since the last call: (nonce, schedule id, perf_counter)."""
        try:
            with self.out.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        whole, _, self._partial = (self._partial + data).rpartition(b"\n")  # a line not yet finished waits
        posts = []
        for line in whole.split(b"\n") if whole else []:
            fields = line.decode().split("\t")
            if len(fields) == 4:
                posts.append((fields[0], int(fields[1]), float(fields[3])))
        self.lines += len(posts)
        return posts


def spawn(name: str, target: str | Path, shard: int, count: int, folder: Path) -> Worker:
    """Start a worker process for `shard` of `count` over `target`."""
    out = folder / f"{name}.posts"
    log = folder / f"{name}.log"
    argv = [sys.executable, "-m", "benchmarks.shards_bench", "--worker", "--target", str(target),
            "--shard", str(shard), "--count", str(count), "--out", str(out)]  # fmt: skip
    with log.open("wb") as errors:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=errors, stderr=subprocess.STDOUT)  # noqa: S603
    return Worker(name, shard, out, process, time.perf_counter(), log)


@contextlib.contextmanager
def reaped(workers: list[Worker]) -> Iterator[None]:
    """Make sure no worker outlives the block (SIGTERM, then SIGKILL)."""
    try:
        yield
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.terminate()
        for worker in workers:
            try:
                worker.process.wait(30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()


@dataclass
class Posting:
    """What one posting run (PostgreSQL's three processes, or SQLite's one) measured."""

    engine: str
    ids: dict[int, int]  # every schedule's id, and its shard
    workers: list[Worker] = field(default_factory=list)
    posts: dict[str, list[tuple[str, int, float]]] = field(default_factory=dict)  # by worker
    claims: dict[str, list[float]] = field(default_factory=dict)  # seconds, by worker
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)  # the workers' own, when they ended cleanly
    timed_out: bool = False
    seconds_waited: float = 0.0
    restarted_at: float | None = None  # perf_counter() when the killed shard's new process was started
    after: Afterwards | None = None
    cpu: list[tuple[float, float, float]] = field(default_factory=list)  # (perf_counter, busy, total) samples
    server_cpu: float | None = None  # the PostgreSQL server's CPU seconds over the whole run

    def busy(self) -> float:
        """How busy the machine's CPUs were from the first post to the last, 0 to 1 (samples nearest those)."""
        times = [at for _, _, at in self.all_posts()]
        if not times or len(self.cpu) < 2:
            return 0.0
        first = max((s for s in self.cpu if s[0] <= min(times)), default=self.cpu[0], key=lambda s: s[0])
        last = min((s for s in self.cpu if s[0] >= max(times)), default=self.cpu[-1], key=lambda s: s[0])
        total = last[2] - first[2]
        return (last[1] - first[1]) / total if total > 0 else 0.0

    def all_posts(self) -> list[tuple[str, int, float]]:
        """Every post line of every worker."""
        return [post for posts in self.posts.values() for post in posts]

    def rate(self) -> float:
        """Posts of distinct schedules over the span from the first post anywhere to the last."""
        times = [at for _, _, at in self.all_posts()]
        covered = len({sid for _, sid, _ in self.all_posts()})
        span = max(times) - min(times) if times else 0.0
        return covered / span if span > 0 else 0.0


def run_workers(
    engine: str, target: str | Path, ids: dict[int, int], folder: Path, *, count: int, kill: bool, timeout: float
) -> Posting:
    """Start `count` workers (one per shard) over `target`; kill shard KILLED's half-way if `kill`; wait for all."""
    run = Posting(engine, ids)
    share = Counter(ids.values()) if count > 1 else Counter({0: len(ids)})
    covered: set[int] = set()
    server = server_cpu(str(target)) if is_postgres_url(target) else None
    started = time.perf_counter()
    with reaped(run.workers):
        for shard in range(count):
            run.workers.append(spawn(f"{engine}-shard{shard}", target, shard, count, folder))
        killed = not kill
        while len(covered & ids.keys()) < len(ids):
            if time.perf_counter() - started > timeout:
                run.timed_out = True
                break
            run.cpu.append((time.perf_counter(), *cpu_times()))
            for worker in list(run.workers):
                new = worker.read_new()
                run.posts.setdefault(worker.name, []).extend(new)
                covered.update(sid for _, sid, _ in new)
                if not killed and worker.shard == KILLED and worker.lines >= share[KILLED] // 2:
                    worker.cpu_at_kill = process_cpu(worker.process.pid)
                    worker.process.kill()  # SIGKILL: no clean-up at all
                    worker.killed_at = time.perf_counter()
                    worker.process.wait()
                    killed = True
                    run.workers.append(spawn(f"{engine}-shard{KILLED}-restarted", target, KILLED, count, folder))
                    run.restarted_at = run.workers[-1].spawned
                if worker.process.poll() not in (None, 0) and worker.killed_at is None:
                    raise RuntimeError(f"worker {worker.name} failed:\n{worker.log.read_text()[-3000:]}")
            time.sleep(WATCH_EVERY)
        run.seconds_waited = time.perf_counter() - started
        run.cpu.append((time.perf_counter(), *cpu_times()))
        if server is not None and (now := server_cpu(str(target))) is not None:
            run.server_cpu = now - server  # the workers' backends are still open: their CPU is all counted
        for worker in run.workers:  # each stops by itself within a couple of seconds once its shard is done
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(15)
    for worker in run.workers:
        run.posts.setdefault(worker.name, []).extend(worker.read_new())
        claims = worker.out.with_name(worker.out.name + ".claims")
        run.claims[worker.name] = [float(x) for x in claims.read_text().split()] if claims.exists() else []
        done = worker.out.with_name(worker.out.name + ".done")
        if done.exists():
            run.summaries[worker.name] = json.loads(done.read_text())
    run.after = afterwards(target)
    return run


# -- results -------------------------------------------------------------------------------------------------


def quantile(samples: list[float], q: float) -> float:
    """The `q`-th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


@dataclass
class Checks:
    """Duplicates, resends and misses over every worker's posts."""

    duplicates: int  # posts beyond one per schedule with a different nonce
    duplicated_schedules: int
    resent: int  # posts beyond one with the same nonce (Discord drops them through enforce_nonce)
    missed: int
    unknown: int  # posts of schedule ids the database does not hold


def checks(run: Posting, ids: dict[int, int]) -> Checks:
    """Count duplicates, same-nonce resends and misses."""
    nonces: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for nonce, sid, _ in run.all_posts():
        nonces[sid][nonce] += 1
    duplicates = sum(len(seen) - 1 for seen in nonces.values())
    duplicated = sum(1 for seen in nonces.values() if len(seen) > 1)
    resent = sum(n - 1 for seen in nonces.values() for n in seen.values())
    missed = sum(1 for sid in ids if sid not in nonces)
    unknown = sum(1 for sid in nonces if sid not in ids)
    return Checks(duplicates, duplicated, resent, missed, unknown)


def logged(workers: list[Worker]) -> tuple[Counter[str], dict[str, str]]:
    """What the workers logged at WARNING and above, by message (digits as N), and each kind's first full text."""
    tally: Counter[str] = Counter()
    first: dict[str, str] = {}
    for worker in workers:
        text = worker.log.read_text(errors="replace") if worker.log.exists() else ""
        records = re.split(r"\n(?=(?:WARNING|ERROR|CRITICAL) )", "\n" + text)
        for record in records:
            record = record.strip("\n")
            if not record.startswith(("WARNING", "ERROR", "CRITICAL", "Traceback")):
                if record.strip():
                    tally[f"{worker.name}: (output) {record.splitlines()[0][:160]}"] += 1
                continue
            key = re.sub(r"\d+", "N", record.splitlines()[0])[:200]
            tally[key] += 1
            first.setdefault(key, f"[{worker.name}]\n{record}")
    return tally, first


def span_rate(posts: list[tuple[str, int, float]]) -> tuple[float, float]:
    """A process's posts per second over its own span (first post to last), and that span."""
    if len(posts) < 2:
        return 0.0, 0.0
    times = [at for _, _, at in posts]
    span = max(times) - min(times)
    return (len(posts) / span if span > 0 else 0.0), span


def report(pg: Posting, sqlite: Posting, say: Callable[[str], None]) -> None:
    """Print the figures of both runs."""
    for run in (pg, sqlite):
        ids = run.ids
        check = checks(run, ids)
        shape = (f"{SHARDS} processes, one shard each, shard {KILLED}'s killed (SIGKILL) at half its share and "
                 "restarted" if run is pg else "1 process, every schedule, no kill")  # fmt: skip
        say(f"\n## {run.engine}: {shape}\n")
        if run.timed_out:
            say(f"TIMED OUT after {run.seconds_waited:.0f} s")
        unknown = f"; UNKNOWN schedule ids posted: {check.unknown:,}" if check.unknown else ""
        say(f"schedules: {len(ids):,}; duplicate posts (same schedule, different nonce): {check.duplicates:,}"
            f" in {check.duplicated_schedules:,} schedules; missed (no post): {check.missed:,}; resent with the "
            f"same nonce (dropped by Discord): {check.resent:,}{unknown}")  # fmt: skip
        after = run.after
        if after is not None:
            states = ", ".join(f"{n:,} {state}" for state, n in sorted(after.attempts.items())) or "none"
            say(f"in the database afterwards: attempts {states}; schedules with a sent attempt "
                f"{after.sent_schedules:,}; schedules still due {after.still_due:,}")  # fmt: skip
            for note, n in after.skipped.most_common():
                say(f"  {n:,} schedules noted: {note}")
        say("")
        say(f"{'process':<28} {'posts':>8} {'span s':>8} {'posts/s':>9} {'start->1st s':>13} {'claims':>8} "
            f"{'claim p50 ms':>13} {'claim p99 ms':>13} {'cpu s':>7}  end")  # fmt: skip
        for worker in run.workers:
            posts = run.posts.get(worker.name, [])
            rate, span = span_rate(posts)
            first = min((at for _, _, at in posts), default=None)
            start = f"{first - worker.spawned:.2f}" if first is not None else "-"
            claims = run.claims.get(worker.name, [])
            summary = run.summaries.get(worker.name)
            cpu_seconds = summary["cpu_seconds"] if summary else worker.cpu_at_kill
            cpu = f"{cpu_seconds:.1f}" if cpu_seconds is not None else "-"
            end = summary["reason"] if summary else f"exit {worker.process.returncode}"
            if worker.killed_at is not None:
                end = "SIGKILL"
            p50, p99 = quantile(claims, 50) * 1000, quantile(claims, 99) * 1000
            say(f"{worker.name:<28} {len(posts):>8,} {span:>8.2f} {rate:>9,.0f} {start:>13} {len(claims):>8,} "
                f"{p50:>13.2f} {p99:>13.2f} {cpu:>7}  {end}")  # fmt: skip
        every = run.all_posts()
        times = [at for _, _, at in every]
        span = max(times) - min(times) if times else 0.0
        claims = [s for samples in run.claims.values() for s in samples]
        say(f"{'total':<28} {len(every):>8,} {span:>8.2f} {run.rate():>9,.0f} {'':>13} {len(claims):>8,} "
            f"{quantile(claims, 50) * 1000:>13.2f} {quantile(claims, 99) * 1000:>13.2f}")  # fmt: skip
        if run is pg:
            say("(total posts/s: schedules posted over the span from the first post anywhere to the last; the kill"
                " and the restart are inside it)")  # fmt: skip
        if run.server_cpu is not None:
            say(f"the PostgreSQL server's processes used {run.server_cpu:.1f} CPU seconds from the workers' start to"
                " the last post; the workers' own are in the table (cpu s: the whole process's life)")  # fmt: skip
        say(f"the machine's {os.cpu_count()} CPUs were {run.busy():.0%} busy from the first post to the last (anything"
            " running on the machine counts: the workers, the database server, this process watching, and whatever"
            " else runs meanwhile)")  # fmt: skip
        killed = next((w for w in run.workers if w.killed_at is not None), None)
        if killed is not None and killed.killed_at is not None:
            restarted = run.workers[-1]
            after_kill = [at for _, _, at in run.posts.get(restarted.name, [])]
            gap = f"{min(after_kill) - killed.killed_at:.2f} s" if after_kill else "never"
            share = Counter(ids.values())[KILLED]
            say(f"shard {KILLED}: killed after {len(run.posts.get(killed.name, [])):,} of its {share:,} posts; from the"
                f" kill to the restarted process's first post: {gap}")  # fmt: skip
        tally, first_text = logged(run.workers)
        if not tally:
            say("the workers logged nothing at WARNING or above")
        for what, n in tally.most_common(12):
            say(f"  logged {n:,}x {what}")
        for what, text in list(first_text.items())[:4]:
            if "Traceback" in text:
                say(f"  first of '{what[:80]}':\n" + "\n".join("    " + line for line in text.splitlines()[:60]))
    pg_rate, sqlite_rate = pg.rate(), sqlite.rate()
    ratio = pg_rate / sqlite_rate if sqlite_rate else float("inf")
    say(f"\nposts per second, limit lifted: PostgreSQL, {SHARDS} processes (kill and restart included) "
        f"{pg_rate:,.0f}/s; SQLite, 1 process {sqlite_rate:,.0f}/s; ratio {ratio:.2f}")  # fmt: skip
    pg_claims = [s for samples in pg.claims.values() for s in samples]
    sqlite_claims = [s for samples in sqlite.claims.values() for s in samples]
    for engine, claims in (("PostgreSQL", pg_claims), ("SQLite", sqlite_claims)):
        if claims:
            p50, p99 = quantile(claims, 50) * 1000, quantile(claims, 99) * 1000
            mean = statistics.fmean(claims) * 1000
            say(f"claim latency, {engine}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean {mean:.2f} ms,"
                f" max {max(claims) * 1000:.1f} ms ({len(claims):,} claims)")  # fmt: skip


# -- the run -------------------------------------------------------------------------------------------------


def run(
    quick: bool = False,
    echo: Callable[[str], None] | None = None,
    *,
    schedules: int | None = None,
    server: str | None = None,
) -> list[str]:
    """Every figure (see the module docstring); the printed lines.

    Tests give a toy size (`schedules`) and the PostgreSQL server they already run (`server`); else one is
    started for the run.
    """
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if echo is not None:
            echo(line)

    from emulator.postgres import temporary_postgres

    count = schedules if schedules is not None else QUICK_SCHEDULES if quick else SCHEDULES
    timeout = 300 + count / 100
    whole = time.perf_counter()
    servers = contextlib.nullcontext(server) if server else temporary_postgres()
    with tempfile.TemporaryDirectory(prefix="shards-bench-") as name, servers as server:
        folder = Path(name)
        started = time.perf_counter()
        database_name = f"shards_{os.getpid()}_{time.time_ns()}"  # a server given by a test may be used again
        url = new_postgres_database(server, database_name)
        try:
            catalogue, inserted, due = fill(url, count)
            ids = schedule_ids(url)
            say(f"{count:,} daily schedules, one per server, all due at {due:%H:%M} UTC (already past, within the hour"
                f" of grace); shards of (guild_id >> 22) % {SHARDS}: "
                + ", ".join(f"{n:,}" for _, n in sorted(Counter(ids.values()).items()))
                + f"; PostgreSQL set-up (not counted): server and database {started - whole:.1f} s + catalogue "
                f"{catalogue:.1f} s + schedules {inserted:.1f} s; the poster answers at once (no Discord)")  # fmt: skip
            pg = run_workers("postgresql", url, ids, folder, count=SHARDS, kill=True, timeout=timeout)
            database = folder / "sqlite.sqlite3"
            catalogue, inserted, due = fill(database, count)
            sqlite_ids = schedule_ids(database)
            say(f"SQLite file: catalogue {catalogue:.1f} s + schedules {inserted:.1f} s, due at {due:%H:%M} UTC")
            sqlite = run_workers("sqlite", database, sqlite_ids, folder, count=1, kill=False, timeout=timeout)
            report(pg, sqlite, say)
        finally:
            drop_postgres_database(server, database_name)
    say(f"\nwhole run: {time.perf_counter() - whole:.0f} s")
    return lines


def main(argv: list[str]) -> None:
    """`python -m benchmarks.shards_bench [--quick]`: print the figures as they come."""
    if "--worker" in argv:
        worker_main(argv)
        return
    run("--quick" in argv, echo=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
