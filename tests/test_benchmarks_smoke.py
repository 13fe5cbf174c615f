"""The interaction, watch-list, scheduler, reminders, shards and Slack benchmarks at toy sizes, so they keep working; correctness only, no timings."""

from __future__ import annotations

import os
import re
from pathlib import Path

from benchmarks import (
    interaction_bench,
    live_bench,
    reminders_bench,
    scheduler_bench,
    shards_bench,
    slack_bench,
    watchlist_bench,
)


async def test_interaction_bench_answers_every_interaction(tmp_path: Path) -> None:
    config = interaction_bench.Config(samples=3, burst=12, large=300, validated=2)
    report = await interaction_bench.measure(config, tmp_path, lambda _: None)

    # The pass with validation on needs Discord's API description; without it the benchmark says so and skips it.
    spec = bool(os.environ.get("DISCORD_API_SPEC"))
    assert len(report.runs) == (3 if spec else 2)
    bundled, large = report.runs[:2]
    validated = report.runs[2] if spec else None
    assert spec or any(line.startswith("left out: the pass with validation on") for line in report.lines)
    assert large.talks == 300
    for run in report.runs:
        assert run.unanswered == 0
        for kind in (interaction_bench.FLOOR, *interaction_bench.KINDS):
            latencies = run.kinds[kind]
            assert len(latencies.samples) == (2 if run is validated else 3)
            assert latencies.deferred == 0
            assert all(seconds > 0 for seconds in latencies.samples)
        assert run.kinds["/speaker"].errors < 3  # the mix draws names the catalogue has
    for run in (bundled, large):
        assert [burst.answered for burst in run.bursts] == [12, 12, 12]
        assert all(len(burst.latencies) == 12 for burst in run.bursts)
    assert validated is None or validated.bursts == []
    assert report.lines and not any("UNANSWERED" in line or "ONLY" in line for line in report.lines)


async def test_watchlist_bench_answers_every_interaction_as_the_lists_say(tmp_path: Path) -> None:
    config = watchlist_bench.Config(
        talks=600, saved=3_000, samples=3, warm_up=1, askers=2, asker_list=(5, 20), long_list=watchlist_bench.MAX_SAVED
    )
    report = await watchlist_bench.measure(config, tmp_path, lambda _: None)

    assert report.saved == 3_000
    assert report.run.talks == 600
    assert len(report.lists.saved[-1]) == watchlist_bench.MAX_SAVED
    for kind in (interaction_bench.FLOOR, *watchlist_bench.KINDS):
        latencies = report.run.kinds[kind]
        assert latencies.unanswered == 0
        assert len(latencies.samples) == 3
        assert all(seconds > 0 for seconds in latencies.samples)
    long = watchlist_bench.LONG
    expected = {
        watchlist_bench.SHOW: "a page",
        watchlist_bench.UNWATCHED: "a page",
        watchlist_bench.SAVE_NEW: "saved",
        watchlist_bench.SAVE_AGAIN: "already saved",
        watchlist_bench.SHOW + long: "a page",
        watchlist_bench.UNWATCHED + long: "a page",
        watchlist_bench.SAVE_AGAIN + long: "already saved",
    }
    for kind, answer in expected.items():
        assert report.run.outcomes[kind] == {answer: 3}, kind
    (refused,) = report.run.outcomes[watchlist_bench.SAVE_NEW + long]  # the long list is full
    assert refused.startswith("answered: Your watch list is full")
    assert report.lines and not any("UNANSWERED" in line for line in report.lines)


async def test_scheduler_bench_posts_each_schedule_exactly_once(tmp_path: Path) -> None:
    sizes = scheduler_bench.Sizes(servers=20, limited_posts=8, lifted_posts=20, profile_posts=12, wakes=5, reloads=2)
    report = await scheduler_bench.measure(sizes, tmp_path, lambda _: None)

    runs = {"lifted": report.lifted, "profiled": report.profiled, "limited": report.limited}
    assert report.expected == {"lifted": 20, "profiled": 12, "limited": 8}
    for name, run in runs.items():
        assert run is not None
        due = report.expected[name]
        assert run.posts == due
        assert run.duplicates == 0
        assert run.missing == 0
        assert run.sent_rows == due
    assert len(report.wakes) == 5
    assert len(report.reloads) == 2
    assert report.held_bytes > 0
    assert report.profile is not None and report.profile.own
    assert not any("DUPLICATES" in line for line in report.lines)


async def test_reminders_bench_delivers_each_reminder_once_across_a_crash(tmp_path: Path) -> None:
    report = await reminders_bench.measure(40, tmp_path, lambda _: None)

    run = report.run
    assert run is not None
    assert (run.expected, run.delivered) == (40, 40)
    assert run.duplicates == 0
    assert run.missing == 0
    assert 0 < run.at_crash < 40  # the crash came half-way
    assert [(state, n) for state, _, n in run.states] == [("sent", 40)]
    assert not any("DUPLICATES" in line for line in report.lines)


async def test_slack_bench_acknowledges_every_command_and_posts_each_schedule_once(tmp_path: Path) -> None:
    config = slack_bench.Config(
        samples=3, warm_up=2, burst=8, large=300, channels=12, crowded_channels=2, crowded_per_channel=7
    )
    report = await slack_bench.measure(config, tmp_path, lambda _: None)

    assert [run.talks for run in report.runs][1:] == [300]
    for run in report.runs:
        for kind in slack_bench.KINDS:
            latencies = run.kinds[kind]
            assert latencies.unanswered == 0
            assert len(latencies.samples) == 3
            assert all(seconds > 0 for seconds in latencies.samples)
        assert run.kinds[slack_bench.RECOMMEND].outcomes["results"] > 0
        assert "failed" not in run.kinds[slack_bench.RECOMMEND].outcomes
        assert [(burst.kind, burst.size, burst.acknowledged) for burst in run.bursts] == [
            (slack_bench.RECOMMEND, 8, 8),
            (slack_bench.FLOOR, 8, 8),
        ]
        assert run.problems == []

    posts, crowded = report.posts, report.crowded
    assert posts is not None and crowded is not None
    assert (posts.channels, posts.schedules, posts.posts) == (12, 12, 12)
    assert (crowded.channels, crowded.schedules, crowded.posts) == (2, 14, 14)
    for run in (posts, crowded):
        assert run.duplicates == 0
        assert run.missing == 0
        assert run.sent_rows == run.schedules
        assert run.not_sent == []
    assert posts.fast_channels == 0
    assert crowded.rate_limited > 0  # seven posts at once in a channel: over the emulator's burst of five
    assert crowded.limited_posted == crowded.limited_channels == 2
    assert not any(word in line for line in report.lines for word in ("NOT ACKNOWLEDGED", "TWICE", "MISSING"))


async def test_live_bench_posts_each_notice_once_across_changes_and_a_restart(tmp_path: Path) -> None:
    sizes = live_bench.Sizes(
        talks=30, rooms=3, days=1, own_channels=2, moved=2, cancelled=1, added=1, lead_in=0.05, wait=20.0
    )
    report = await live_bench.measure(sizes, tmp_path, lambda _: None)

    run = report.run
    assert run is not None
    assert run.expected > 0 and run.posted == run.expected
    assert (run.duplicates, run.missing, run.unexpected, run.timeouts, run.restless) == (0, 0, 0, 0, 0)
    assert run.talks_announced == run.talks_expected and run.talks_twice == run.talks_wrong_notice == 0
    assert run.changes_posted == run.changes_expected == 2
    assert run.at_crash[1] > 0  # the crash came at a due instant, and a new bot finished the run
    assert not any(word in line for line in report.lines for word in ("DUPLICATES", "MISSING"))


def test_shards_bench_posts_every_schedule_once_across_a_kill_on_both_engines(postgres_server: str) -> None:
    lines = shards_bench.run(schedules=600, server=postgres_server)
    text = "\n".join(lines)
    sections = text.split("\n## ")[1:]
    assert [section.split(":")[0] for section in sections] == ["postgresql", "sqlite"]
    for section in sections:
        assert (
            "schedules: 600; duplicate posts (same schedule, different nonce): 0 in 0 schedules; missed (no post): 0;"
            in section
        )
        assert (
            "in the database afterwards: attempts 600 sent; schedules with a sent attempt 600; schedules still due 0"
            in section
        )
        assert "the workers logged nothing at WARNING or above" in section
    assert re.search(
        r"shard 0: killed after \d+ of its \d+ posts; from the kill to the restarted process's first post", text
    )
    assert "postgresql-shard0-restarted" in text and "SIGKILL" in text
    assert re.search(
        r"posts per second, limit lifted: PostgreSQL, 3 processes .* \d[\d,]*/s; SQLite, 1 process \d[\d,]*/s", text
    )
    assert re.search(r"claim latency, PostgreSQL: p50 [\d.]+ ms, p99 [\d.]+ ms", text)
