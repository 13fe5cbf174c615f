"""`python -m bot recordings FILE`: match a list of videos to the catalogue's talks and write their links in.

In the same transaction it plans the announcements of the new recordings for the servers that asked for them
(`bot.recordings.announce.announce_added`): the running bot posts them when its engine next loads its jobs,
at the latest when it next starts; a dry run plans none.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.catalogue.importer import _write_atomically, database_for_import
from bot.db.connection import atomic, sync_db
from bot.recordings.announce import announce_added
from bot.recordings.apply import RecordingOptions, RecordingReport, apply_recordings, report_document, review_file
from bot.recordings.formats import read_path
from bot.recordings.matcher import DEFAULT_MIN_CONFIDENCE

SHOWN = 20  # rows of each table on the terminal; --json has everything


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m bot recordings`."""
    parser.add_argument(
        "path",
        type=Path,
        help="the list of videos (YouTube API or yt-dlp JSON, pyvideo JSON or folder, media.ccc.de, "
        "pretalx-youtube, CSV, a schedule with recording links, or a review file written by --review-out)",
    )
    parser.add_argument("--event", metavar="NAME", help="only talks of this event and its co-located events")
    parser.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    parser.add_argument(
        "--min-confidence",
        type=float,
        default=DEFAULT_MIN_CONFIDENCE,
        metavar="X",
        help=f"accept matches at least this sure, 0-1 (default {DEFAULT_MIN_CONFIDENCE}); the rest go to review",
    )
    parser.add_argument(
        "--review-out",
        type=Path,
        metavar="FILE",
        help="write the ambiguous videos and conflicts to FILE (bundled TOML format); edit it, then read it back "
        "with `python -m bot recordings FILE`",
    )


def run(
    args: argparse.Namespace, database: Path | str, console: Console, prepare: Callable[[Path | str], object]
) -> int:
    """Read the list, match and write it and its announcements in one transaction (none with --dry-run); report."""
    options = RecordingOptions(event=args.event, min_confidence=args.min_confidence)
    options.check()
    recordings = read_path(args.path)
    keep = not args.dry_run
    with database_for_import(database, prepare, keep=keep) as path, sync_db(path) as conn, atomic(conn, keep=keep):
        report = apply_recordings(conn, recordings, options, dry_run=args.dry_run)
        announce_added(conn, report, datetime.now(UTC))
    if args.review_out is not None:
        _write_atomically(args.review_out, review_file(report))
    if args.json:
        sys.stdout.write(json.dumps(report_document(report), ensure_ascii=False, indent=2) + "\n")
    else:
        print_report(console, report, args.review_out)
    return 0


def print_report(console: Console, report: RecordingReport, review: Path | None = None) -> None:
    """The counts, then tables of matches, conflicts, videos to review and videos that match nothing."""
    added = len(report.added)
    verb = "would add" if report.dry_run else "added"
    console.print(
        Text(
            ("Dry run, nothing was changed: " if report.dry_run else "")
            + f"{report.shape}: {report.videos} videos; {verb} {added} recordings, "
            f"{len(report.matched) - added} already there, {len(report.conflicts)} conflicts, "
            f"{len(report.ambiguous)} to review, {len(report.unmatched)} unmatched"
            + (f", {report.skipped} entries without a video skipped" if report.skipped else "")
            + "."
        ),
        soft_wrap=True,
    )
    if report.matched:
        table = _table(f"Matched (confidence ≥ {report.min_confidence:.2f})", "talk", "video", "confidence, why")
        for match in report.matched[:SHOWN]:
            status = "" if match.status == "added" else " (already there)"
            table.add_row(
                Text(f"{match.talk.slug}\n{match.talk.title}"),
                Text(f"{match.recording.url}\n{match.recording.title}"),
                Text(f"{match.confidence:.2f} {match.reason}{status}"),
            )
        _print(console, table, len(report.matched))
    if report.conflicts:
        table = _table("Conflicts, left as they are", "talk", "video", "why")
        for conflict in report.conflicts[:SHOWN]:
            table.add_row(
                Text(f"{conflict.talk.slug}\n{conflict.talk.title}"),
                Text(f"{conflict.recording.url}\n{conflict.recording.title}"),
                Text(conflict.why),
            )
        _print(console, table, len(report.conflicts))
    if report.ambiguous:
        table = _table("To review", "video", "candidates", "why")
        for decision in report.ambiguous[:SHOWN]:
            candidates = "\n".join(f"{c.confidence:.2f} {c.talk.slug}: {c.talk.title}" for c in decision.candidates[:3])
            table.add_row(
                Text(f"{decision.recording.url}\n{decision.recording.title}"), Text(candidates), Text(decision.note)
            )
        _print(console, table, len(report.ambiguous))
    if report.unmatched:
        table = _table("No talk found", "video", "title")
        for decision in report.unmatched[:SHOWN]:
            table.add_row(Text(decision.recording.url), Text(decision.recording.title))
        _print(console, table, len(report.unmatched))
    if review is not None:
        console.print(Text(f"Review file written to {review}: edit it, then run `python -m bot recordings {review}`."))


def _table(title: str, *columns: str) -> Table:
    table = Table(title=Text(title), box=box.SIMPLE_HEAD, title_justify="left", padding=(0, 1))
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _print(console: Console, table: Table, total: int) -> None:
    console.print(table)
    if total > SHOWN:
        console.print(Text(f"… and {total - SHOWN} more (--json lists them all)", style="dim"))
