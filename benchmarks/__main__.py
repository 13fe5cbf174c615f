"""`python -m benchmarks`: every figure in one run (`--quick`: smaller sizes, for a first look).

In order: search quality (`benchmarks.evaluate`), search speed and memory against three peers
(`benchmarks.search_bench`), import speed (`benchmarks.import_bench`), recordings matched to talks on real
pairs and at scale (`benchmarks.recordings_bench`), interaction latency through the real client and the
emulator (`benchmarks.interaction_bench`), the watch list's latency at 1,000,000 saved talks
(`benchmarks.watchlist_bench`), scheduled posting at scale
(`benchmarks.scheduler_bench`), members' reminders at scale with a crash half-way (`benchmarks.reminders_bench`),
live mode's notices over a conference's days, replayed with changes and a restart
(`benchmarks.live_bench`), the Slack side: slash-command latency, a burst and scheduled posts to
many channels (`benchmarks.slack_bench`) and scheduled posts over PostgreSQL, sharded across 3 processes with
one killed and restarted, next to one process over SQLite (`benchmarks.shards_bench`). Each can also be run on
its own with `python -m benchmarks.NAME`.
"""

from __future__ import annotations

import sys
import time

from benchmarks import (
    evaluate,
    import_bench,
    interaction_bench,
    live_bench,
    recordings_bench,
    reminders_bench,
    scheduler_bench,
    search_bench,
    shards_bench,
    slack_bench,
    watchlist_bench,
)


def main(argv: list[str]) -> None:
    """Run everything and print the figures as they come."""
    quick = "--quick" in argv
    started = time.perf_counter()

    def say(line: str) -> None:
        print(line, flush=True)

    say("# Search quality (python -m benchmarks.evaluate)\n")
    for line in evaluate.run():
        say(line)
    say("\n# Search speed and memory (python -m benchmarks.search_bench)\n")
    search_bench.run(search_bench.QUICK_SIZES if quick else search_bench.SIZES, echo=say)
    say("\n# Import speed (python -m benchmarks.import_bench)\n")
    for line in import_bench.run((10_000,) if quick else (100_000,)):
        say(line)
    say("\n# Recordings matched to talks (python -m benchmarks.recordings_bench)\n")
    for line in recordings_bench.run(quick=quick):
        say(line)
    say("\n# Interaction latency (python -m benchmarks.interaction_bench)\n")
    interaction_bench.run(quick, echo=say)
    say("\n# Watch-list latency (python -m benchmarks.watchlist_bench)\n")
    watchlist_bench.run(quick, echo=say)
    say("\n# Scheduled posts (python -m benchmarks.scheduler_bench)\n")
    scheduler_bench.run(quick, echo=say)
    say("\n# Reminders at scale, with a crash half-way (python -m benchmarks.reminders_bench)\n")
    reminders_bench.run(quick, echo=say)
    say("\n# Live mode: a followed schedule replayed, with changes and a restart (python -m benchmarks.live_bench)\n")
    live_bench.run(quick, echo=say)
    say("\n# Slack: slash commands and scheduled posts (python -m benchmarks.slack_bench)\n")
    slack_bench.run(quick, echo=say)
    say("\n# PostgreSQL: sharded across 3 processes, one killed and restarted (python -m benchmarks.shards_bench)\n")
    shards_bench.run(quick, echo=say)
    say(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
