"""`python -m bot follow URL`: keep an event in step with a published schedule, from the command line.

With `--once` it polls once, prints what the poll did and exits 0 (applied or unchanged) or 1 (held
back, or an error): for cron and scripts, which may run it again and again, since following a URL
already followed keeps its validators and its talk count. Without it, it polls every `--interval`
minutes until interrupted, printing each poll.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.catalogue.formats import FORMATS
from bot.catalogue.importer import format_report
from bot.catalogue.service import CatalogueService
from bot.db.gateway import Database
from bot.highlights.clock import SystemClock
from bot.live.follow import FollowService, PollResult, ScheduleChange, TalkTimes
from bot.live.notices import CHANGE_LABELS

SHOWN = 50  # changes listed per poll


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m bot follow`."""
    parser.add_argument("url", help="the schedule's URL (pretalx, frab or pentabarf JSON or XML, Sessionize All data)")
    parser.add_argument(
        "--interval", type=int, metavar="MINUTES", help="minutes between polls, 1 to 1440 (5, or as before)"
    )
    parser.add_argument("--once", action="store_true", help="poll once, print what changed and exit (1 on failure)")
    parser.add_argument("--format", default="auto", choices=("auto", *FORMATS), help="the file's format (default auto)")
    parser.add_argument(
        "--event", metavar="NAME", help="the event's name, for exports that do not name it (Sessionize)"
    )
    parser.add_argument("--timezone", metavar="ZONE", help="the zone of times written without an offset")


def run(
    args: argparse.Namespace, database: Path | str, console: Console, prepare: Callable[[Path | str], object]
) -> int:
    """Follow the URL: one poll with --once, else polls until interrupted."""
    try:
        return asyncio.run(_follow(args, database, console, prepare))
    except KeyboardInterrupt:
        console.print("Stopped following.")
        return 0


async def _follow(
    args: argparse.Namespace, database: Path | str, console: Console, prepare: Callable[[Path | str], object]
) -> int:
    await asyncio.to_thread(prepare, database)
    db = await Database.open(database)
    try:
        service = FollowService(await CatalogueService.open(db), db, SystemClock())
        follow = await service.follow(
            args.url, args.interval, format=args.format, event_name=args.event, timezone=args.timezone
        )
        if args.once:
            result = await service.poll(follow.id)
            print_result(console, result)
            return 0 if result.ok else 1
        console.print(Text(f"Following {follow.url} every {follow.interval_minutes} min (#{follow.id}); Ctrl-C stops."))

        async def show(result: PollResult) -> None:
            print_result(console, result)

        await service.run(on_poll=show)
        return 0
    finally:
        await db.close()


def print_result(console: Console, result: PollResult) -> None:
    """One poll: a status line, the import's report when it applied a file, and the changes as a table."""
    follow = result.follow
    when = follow.last_fetched_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if follow.last_fetched_at else "?"
    style = {"applied": "green", "unchanged": "dim", "held": "yellow", "error": "red"}[result.status]
    console.print(Text.assemble((f"{when} {result.status}", f"bold {style}"), f": {result.summary}"), soft_wrap=True)
    if result.status == "error":
        errors = f"{follow.failures} error{'s' * (follow.failures != 1)} in a row"
        console.print(Text(f"Next try at {follow.next_poll_at.astimezone():%H:%M} ({errors})."))
    if result.report is not None and result.report.touched:
        for line in format_report(result.report, limit=10):
            console.print(Text(line), soft_wrap=True)
    if result.changes:
        console.print(changes_table(result.changes))


def changes_table(changes: tuple[ScheduleChange, ...]) -> Table:
    """The changes of one poll, one row each."""
    table = Table(box=box.SIMPLE_HEAD, title=f"{len(changes)} change{'s' * (len(changes) != 1)}", title_justify="left")
    for column in ("Change", "Talk", "Speakers", "Was", "Now"):
        table.add_column(column, overflow="fold")
    for change in changes[:SHOWN]:
        title = change.title if change.old_title is None else f"{change.old_title} -> {change.title}"
        table.add_row(
            CHANGE_LABELS[change.kind],
            Text.assemble(title, "\n", (change.slug, "dim")),
            ", ".join(change.speakers),
            _times(change.before),
            _times(change.after) if change.kind != "cancelled" else "cancelled",
        )
    if len(changes) > SHOWN:
        table.caption = f"and {len(changes) - SHOWN} more"
    return table


def _times(times: TalkTimes | None) -> str:
    if times is None:
        return "-"
    return " ".join(filter(None, (_span(times.start, times.end), times.room)))


def _span(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return "?"
    text = f"{start:%a %H:%M}"
    if end is not None:
        text += f"-{end:%H:%M}" if end.date() == start.date() else f"-{end:%a %H:%M}"
    return text
