"""A rehearsal of live mode: an event's days replayed on a simulated clock, printing what would be posted when.

`python -m bot rehearse EVENT --start "2026-02-01 09:00" --speed 60`.

The rehearsal runs the real engine and live mode over a copy of the database (the real one is not touched),
with a poster that prints instead of posting. `--speed 60` runs an hour of the programme in a minute; a
speed of 0 jumps from one notice to the next at once.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.catalogue.formats.options import zone_named
from bot.catalogue.service import CatalogueService
from bot.db.connection import snapshot
from bot.db.gateway import Database
from bot.errors import UserFacingError
from bot.highlights.clock import FakeClock, finish_sleep
from bot.highlights.memory import InMemoryScheduleStore
from bot.highlights.ports import Clock, PostResult, Schedule
from bot.highlights.scheduler import Scheduler, SchedulerConfig
from bot.live.jobs import LiveJobs
from bot.live.notices import ChangeNotice, UpNext
from bot.live.service import LiveService
from bot.live.store import LiveStore

REHEARSAL_CHANNEL = 1
REHEARSAL_GUILD = 1


class ScaledClock:
    """Time that starts at `start` and runs `speed` times faster than the real one."""

    def __init__(self, start: datetime, speed: float) -> None:
        self._start = start
        self._speed = speed
        self._loop = asyncio.get_running_loop()
        self._origin = self._loop.time()

    def now(self) -> datetime:
        """The simulated instant."""
        return self._start + timedelta(seconds=(self._loop.time() - self._origin) * self._speed)

    async def sleep_until(self, instant: datetime) -> None:
        """Sleep the real time that stands for the simulated time until `instant`."""
        await finish_sleep(lambda: (instant - self.now()).total_seconds() / self._speed)


class PrintingPoster:
    """Live mode's poster for a rehearsal: each post becomes lines of text, stamped with the simulated time."""

    def __init__(self, clock: Clock, zone: ZoneInfo, say: Callable[[str], None]) -> None:
        self.clock = clock
        self.zone = zone
        self.say = say
        self.posted = 0

    async def up_next(self, guild_id: int, channel_id: int, notice: UpNext, nonce: str) -> PostResult:
        """Print the notice."""
        lines = [f"{self._stamp()}  {notice.heading} ({notice.start:%a %H:%M})"]
        for talk in notice.talks:
            speakers = ", ".join(c.name for c in talk.speakers)
            room = f" [{talk.room}]" if talk.room else ""
            lines.append(f"    {talk.title}{room}" + (f" - {speakers}" if speakers else ""))
        return self._print(lines)

    async def changes(self, guild_id: int, channel_id: int, notice: ChangeNotice, nonce: str) -> PostResult:
        """Print the changes."""
        lines = [f"{self._stamp()}  Programme changes: {notice.event_name}"]
        lines += [f"    {line.label}: {line.title} {line.detail}".rstrip() for line in notice.lines]
        return self._print(lines)

    async def post(self, schedule: Schedule, talk: str, nonce: str) -> PostResult:
        """No highlights are rehearsed."""
        raise AssertionError("a rehearsal posts no highlights")

    def _stamp(self) -> str:
        return f"{self.clock.now().astimezone(self.zone):%a %d %b %H:%M:%S}"

    def _print(self, lines: list[str]) -> PostResult:
        for line in lines:
            self.say(line)
        self.posted += 1
        return PostResult(self.posted)


def parse_start(text: str, zone: ZoneInfo) -> datetime:
    """'2026-02-01 09:00' in `zone` (or with its own offset), as an aware instant."""
    try:
        start = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserFacingError(f"--start must be a date and time such as 2026-02-01 09:00, not {text[:40]!r}") from None
    return start if start.tzinfo is not None else start.replace(tzinfo=zone)


async def rehearse(
    database: Path,
    event: str,
    start_text: str | None,
    *,
    speed: float,
    lead_minutes: int = 5,
    zone_name: str = "UTC",
    say: Callable[[str], None] = print,
    poster: Callable[[Clock, ZoneInfo, Callable[[str], None]], PrintingPoster] = PrintingPoster,
) -> int:
    """Replay `event` from `start_text` (default: an hour before its first talk); how many posts it would make.

    `poster` makes what each notice goes to (given the simulated clock, the zone and `say`): by default lines
    of text; the sandbox's posts through the bot itself, into its stand-in for Discord.
    """
    zone = ZoneInfo(zone_name)
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as folder:
        copy = Path(folder) / "rehearsal.sqlite3"
        await asyncio.to_thread(snapshot, database, copy)
        db = await Database.open(copy)
        try:
            catalogue = await CatalogueService.open(db)
            slug = catalogue.resolve_event(event).slug
            programme = await LiveService(catalogue, LiveStore(db), FakeClock(datetime.now(UTC))).programme(slug)
            if not programme:
                raise UserFacingError("That event's programme gives no start times: there is nothing to rehearse.")
            first, last = programme[0].starts_at, programme[-1].starts_at
            assert first is not None  # noqa: S101 - the programme has only timed talks
            assert last is not None  # noqa: S101
            start = parse_start(start_text, zone) if start_text else first - timedelta(hours=1)
            clock: FakeClock | ScaledClock = FakeClock(start) if speed <= 0 else ScaledClock(start, speed)
            live = LiveService(catalogue, LiveStore(db), clock)
            printer = poster(clock, zone, say)
            engine = Scheduler(InMemoryScheduleStore(), printer, clock, SchedulerConfig(per_second=None))
            engine.add(LiveJobs(live, live.store, printer, engine.runtime))
            live.on_change = engine.reload
            await live.setup(REHEARSAL_GUILD, REHEARSAL_CHANNEL, slug, lead_minutes=lead_minutes)
            begins = f"{start.astimezone(zone):%a %d %b %H:%M} ({zone.key})"
            say(f"Rehearsing {event} from {begins}, speed {speed or 'instant'}")
            await engine.start()
            try:
                end = last + timedelta(minutes=1)
                if isinstance(clock, FakeClock):
                    await _jump_through(clock, live.store, end)
                else:
                    await clock.sleep_until(end)
            finally:
                await engine.stop()
            say(f"{printer.posted} posts")
            return printer.posted
        finally:
            await db.close()


async def _jump_through(clock: FakeClock, store: LiveStore, end: datetime) -> None:
    """Move the clock from one notice to the next, each time once the engine has dealt with what is due."""
    while True:
        await _drain(clock, store)
        upcoming = [post.due for post in await store.waiting() if post.due > clock.now()]
        if not upcoming or min(upcoming) > end:
            break
        await clock.advance_to(min(upcoming))
    await clock.advance_to(end)


async def _drain(clock: FakeClock, store: LiveStore) -> None:
    """Wait (2 s at most) until no post is due: they run on the loop and in the database thread."""
    for _ in range(400):
        if all(post.due > clock.now() for post in await store.waiting()):
            return
        await asyncio.sleep(0.005)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m bot rehearse`."""
    parser.add_argument("event", help="the event (its id, name or short name)")
    parser.add_argument(
        "--start",
        metavar="WHEN",
        help='the simulated start, e.g. "2026-02-01 09:00" (default: an hour before the first talk)',
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="simulated seconds per real second (default 60; 0 jumps from notice to notice)",
    )
    parser.add_argument("--lead", type=int, default=5, metavar="MINUTES", help="minutes before each start (default 5)")
    parser.add_argument(
        "--timezone", default="UTC", metavar="ZONE", help="the zone the times are printed in (default UTC)"
    )


def run(args: argparse.Namespace, database: Path, prepare: Callable[[Path], object]) -> int:
    """Rehearse the event; 0 when it would post something."""
    prepare(database)
    if not 1 <= args.lead <= 120:
        raise UserFacingError("--lead is between 1 and 120 minutes.")
    zone = zone_named(args.timezone, "--timezone")
    try:
        posts = asyncio.run(
            rehearse(database, args.event, args.start, speed=args.speed, lead_minutes=args.lead, zone_name=zone.key)
        )
    except KeyboardInterrupt:
        return 130
    return 0 if posts else 1
