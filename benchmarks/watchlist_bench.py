"""Watch-list latency through the real client on loopback: /watchlist show and /save beside the /ping floor.

A synthetic catalogue of 100,000 talks (`benchmarks.synthetic`), imported as `benchmarks.interaction_bench`
does, and 1,000,000 saved talks in `saved_talks` (written straight into the database here, in one
`executemany`, before the bot opens it): a few members who ask, each with a list of a realistic length (50 to
200 talks), one member with a very long list (5,000 talks, past the `MAX_SAVED` that /save keeps to: such a
list can only come from an earlier limit or by hand, and /save refuses to add to it), and as many other
members as it takes to reach the total, each with 1 to 199 talks. About a third of every list is watched.

The machinery is `benchmarks.interaction_bench`'s: the real `HighlightsBot` with its /ping floor, alone in this
process; the emulator (validation off) and the timing in a spawned child process of their own
(`interaction_bench.measure_catalogue` with a driver of this module's); each interaction timed in the child
from the moment the emulator starts sending it until it has processed the bot's callback; the kinds taking
turns, one interaction at a time, in a shuffled order. Each asking kind is sent by one of the askers drawn at
random; the long-list kinds by the member with the long list:

- `/watchlist show`: the first page of the member's list;
- `/watchlist show show:unwatched`: the first page of the talks still to watch;
- `/save title:<slug>` of a talk not yet on the list, and of one already on it (the two take turns): the
  slug is what Discord sends when the member picks one of the title autocomplete's suggestions.

Printed per kind: p50, p99, p50 as a multiple of the floor's, the target (within 3x) and whether it is met,
and how the bot answered (a page, saved, already saved, refused). Timings are measured, never asserted: they
depend on the machine. Run with `python -m benchmarks.watchlist_bench [--quick]` (quick: 10,000 talks,
100,000 saved talks, 100 of each).
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.interaction_bench import (
    FLOOR,
    CatalogueRun,
    Listening,
    Measured,
    TimingEmulator,
    interleaved,
    measure_catalogue,
    synthetic,
)
from bot.db.connection import atomic, sync_db
from bot.highlights.store import to_db_instant
from bot.watchlist.store import MAX_SAVED
from emulator.interactions import InteractionHandle
from emulator.model import User

TALKS = 100_000
SAVED = 1_000_000
SAMPLES = 500
QUICK_TALKS = 10_000
QUICK_SAVED = 100_000
QUICK_SAMPLES = 100
WARM_UP = 20
ASKERS = 10  # members who ask, each with a list of a realistic length
ASKER_LIST = (50, 200)  # how many talks an asker has saved, drawn at random
LONG_LIST = 5_000
OTHER_LIST = (1, 199)  # the other members' lists, drawn at random
WATCHED = 0.3  # the share of saved talks marked watched
TARGET = 3.0  # p50 within this many times the floor's
SINCE = timedelta(days=730)  # saved talks were saved within this long before the benchmark

SHOW = "/watchlist show"
UNWATCHED = "/watchlist show:unwatched"
SAVE_NEW = "/save (new)"
SAVE_AGAIN = "/save (saved)"
ASKED = (SHOW, UNWATCHED, SAVE_NEW, SAVE_AGAIN)
LONG = ", long list"  # the same kinds, sent by the member with the long list
KINDS = (*ASKED, *(kind + LONG for kind in ASKED))
COMMANDS = frozenset({"ping", "watchlist", "save"})
_SAVED_COLUMNS = "member, talk, title, event_name, event_slug, date, recording_url, saved_at, watched_at"


@dataclass
class Config:
    """How much to measure."""

    talks: int = TALKS
    saved: int = SAVED
    samples: int = SAMPLES
    warm_up: int = WARM_UP
    askers: int = ASKERS
    asker_list: tuple[int, int] = ASKER_LIST
    long_list: int = LONG_LIST


def config_for(quick: bool) -> Config:
    """Full: 100,000 talks, 1,000,000 saved, 500 of each; quick: 10,000 talks, 100,000 saved, 100 of each."""
    return Config(talks=QUICK_TALKS, saved=QUICK_SAVED, samples=QUICK_SAMPLES) if quick else Config()


# -- the lists ------------------------------------------------------------------------------------------------


@dataclass
class Lists:
    """Per measured member (the askers, then the long list): the talks (slugs) on the list, and some not on it."""

    saved: list[list[str]]
    fresh: list[list[str]]

    @classmethod
    def drawn(cls, slugs: list[str], config: Config, rng: random.Random) -> Lists:
        """Lists of the configured lengths, and enough talks off each list for every new save measured."""
        sizes = [rng.randint(*config.asker_list) for _ in range(config.askers)] + [config.long_list]
        spare = config.samples + config.warm_up
        drawn = [rng.sample(slugs, size + spare) for size in sizes]
        return cls(
            [d[:n] for d, n in zip(drawn, sizes, strict=True)], [d[n:] for d, n in zip(drawn, sizes, strict=True)]
        )


def seed_saved(database: Path, members: list[str], lists: Lists, config: Config, rng: random.Random) -> int:
    """Write `config.saved` saved talks in one `executemany`: the measured members' lists, then other members'.

    Each row copies the talk's title, event, date and recording, as a save does. Returns the rows written.
    """
    with sync_db(database) as conn:
        talks = {
            row[0]: row
            for row in conn.execute(
                "SELECT t.slug, t.title, e.name, e.slug, substr(t.date, 1, 10), t.recording_url"
                " FROM talks t JOIN events e ON e.id = t.event_id"
            )
        }
        slugs = list(talks)
        now = datetime.now(UTC)
        span = int(SINCE.total_seconds())

        def row(member: str, slug: str) -> tuple[Any, ...]:
            saved_at = now - timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(1_000_000))
            watched = saved_at + timedelta(hours=1) if rng.random() < WATCHED else None
            return (member, *talks[slug], to_db_instant(saved_at), None if watched is None else to_db_instant(watched))

        def rows() -> Iterator[tuple[Any, ...]]:
            written = 0
            for member, listed in zip(members, lists.saved, strict=True):
                written += len(listed)
                yield from (row(member, slug) for slug in listed)
            other = 0
            while written < config.saved:
                other += 1
                size = min(rng.randint(*OTHER_LIST), config.saved - written, len(slugs))
                written += size
                yield from (row(f"discord:{10**17 + other}", slug) for slug in rng.sample(slugs, size))

        with atomic(conn):
            conn.executemany(
                f"INSERT INTO saved_talks ({_SAVED_COLUMNS}) VALUES ({', '.join('?' * 9)})",
                rows(),
            )
        count = int(conn.execute("SELECT COUNT(*) FROM saved_talks").fetchone()[0])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return count


# -- in the emulator's process ------------------------------------------------------------------------------


def outcome(handle: InteractionHandle) -> str:
    """How the bot answered: a page of the list, saved, already saved, or what it said instead."""
    body = handle.callback or {}
    if body.get("type") == 5:
        return "deferred"
    data = body.get("data") or {}
    content = str(data.get("content") or "")
    if content.startswith("Saved “"):
        return "saved"
    if content.endswith("is already on your watch list."):
        return "already saved"
    embed = (data.get("embeds") or [{}])[0]
    footer = str((embed.get("footer") or {}).get("text") or "")
    if footer.startswith("1–"):
        return "a page"
    return "answered: " + str(embed.get("description") or content or embed.get("title"))[:60]


@dataclass
class WatchlistDriver:
    """`interaction_bench.Driver` for the watch list: members with their lists, and the kinds above."""

    lists: Lists
    samples: int
    warm_up: int
    commands: frozenset[str] = COMMANDS
    users: list[User] = field(default_factory=list)
    sent: dict[str, list[InteractionHandle]] = field(default_factory=dict)

    def prepare(self, emulator: TimingEmulator) -> list[int]:
        """A user per measured member; their ids, from which the bot's process makes their member keys."""
        self.users = [emulator.add_user(f"member{n}") for n in range(len(self.lists.saved))]
        return [user.id for user in self.users]

    async def send(self, emulator: TimingEmulator, kind: str, rng: random.Random) -> InteractionHandle:
        """Send one interaction of `kind`, from a random asker or from the member with the long list."""
        if kind == FLOOR:
            return await emulator.slash("ping")
        asked = kind.removesuffix(LONG)
        who = len(self.users) - 1 if asked != kind else rng.randrange(len(self.users) - 1)
        user, saved, fresh = self.users[who], self.lists.saved[who], self.lists.fresh[who]
        if asked == SHOW:
            handle = await emulator.slash("watchlist show", user=user)
        elif asked == UNWATCHED:
            handle = await emulator.slash("watchlist show", {"show": "unwatched"}, user=user)
        elif asked == SAVE_NEW:
            slug = fresh.pop()
            if asked == kind:  # on the long list it is refused: it stays off, and is not drawn as a saved one
                saved.append(slug)
            handle = await emulator.slash("save", {"title": slug}, user=user)
        else:
            handle = await emulator.slash("save", {"title": rng.choice(saved)}, user=user)
        self.sent.setdefault(kind, []).append(handle)
        return handle

    async def measured(self, emulator: TimingEmulator) -> Measured:
        """Warm up, then `samples` of each kind taking turns; how each kind was answered, counted."""
        kinds = (FLOOR, *KINDS)
        await interleaved(emulator, self.send, kinds, self.warm_up, seed=1)
        self.sent.clear()
        found = Measured(await interleaved(emulator, self.send, kinds, self.samples, seed=2))
        found.outcomes = {kind: dict(Counter(outcome(h) for h in handles)) for kind, handles in self.sent.items()}
        return found


# -- in the bot's process -----------------------------------------------------------------------------------


@dataclass
class Report:
    """The run and the printed lines."""

    run: CatalogueRun
    saved: int
    lists: Lists
    lines: list[str]


def describe(run: CatalogueRun, saved: int, lists: Lists) -> Iterator[str]:
    """The table: kind, p50, p99, p50 against the floor's, the target and whether it is met, the answers."""
    floor = run.kinds[FLOOR]
    askers = sorted(len(listed) for listed in lists.saved[:-1])
    yield (
        f"{run.label}: {run.talks:,} talks, {saved:,} saved talks; askers' lists {askers[0]}-{askers[-1]} talks, "
        f"long list {len(lists.saved[-1]):,} (MAX_SAVED {MAX_SAVED}); "
        f"{len(floor.samples) + floor.unanswered:,} of each, taking turns"
    )
    yield f"  {'kind':<36} {'p50 ms':>8} {'p99 ms':>8} {'x floor':>8}  target       answers"
    for kind in (FLOOR, *KINDS):
        found = run.kinds[kind]
        ratio = found.ms(50) / floor.ms(50)
        answers = dict(run.outcomes.get(kind, {}))
        if found.unanswered:
            answers["UNANSWERED"] = found.unanswered
        said = ", ".join(f"{n} {what}" for what, n in sorted(answers.items(), key=lambda item: -item[1]))
        target = "" if kind == FLOOR else f"<= {TARGET:.0f}x {'met' if ratio <= TARGET else 'NOT met':<7}"
        yield f"  {kind:<36} {found.ms(50):8.2f} {found.ms(99):8.2f} {ratio:7.2f}x  {target:<12} {said}"
    yield run.collector
    if run.emulator_collector:
        yield run.emulator_collector
    yield from run.logged


async def measure(config: Config, folder: Path, echo: Callable[[str], None]) -> Report:
    """The catalogue, the saved talks, then the kinds measured through the bot and the emulator."""
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        echo(line)

    say("watch-list interactions through the real client on loopback, sent until callback received; the emulator "
        "(validation off) and the timing in a spawned process of their own, the bot alone in this one")  # fmt: skip
    started = time.perf_counter()
    database, mix, source = synthetic(folder, config.talks)
    rng = random.Random(7)
    with sync_db(database) as conn:
        lists = Lists.drawn([str(slug) for (slug,) in conn.execute("SELECT slug FROM talks ORDER BY id")], config, rng)
    imported = time.perf_counter() - started
    seeded: list[tuple[int, float]] = []

    def seed(ready: Listening) -> None:
        began = time.perf_counter()
        members = [f"discord:{user_id}" for user_id in ready.prepared]
        seeded.append((seed_saved(database, members, lists, config, rng), time.perf_counter() - began))

    driver = WatchlistDriver(lists, config.samples, config.warm_up)
    run = await measure_catalogue(f"synthetic catalogue from {source}", database, mix.talks, driver, seed)
    (saved, seconds), = seeded  # fmt: skip
    for line in describe(run, saved, lists):
        say(line)
    say(f"  (generating and importing the catalogue took {imported:.0f} s, writing the saved talks {seconds:.0f} s;"
        " neither counted)")  # fmt: skip
    return Report(run, saved, lists, lines)


def run(quick: bool = False, echo: Callable[[str], None] | None = None) -> list[str]:
    """Every figure (see the module docstring); the printed lines."""
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(measure(config_for(quick), Path(folder), echo or (lambda _: None))).lines


def main(argv: list[str]) -> None:
    """`python -m benchmarks.watchlist_bench [--quick]`: print the figures as they come."""
    run("--quick" in argv, echo=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
