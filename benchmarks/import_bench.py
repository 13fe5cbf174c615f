"""How fast a large CSV imports: a synthetic schedule of N talks into a fresh database."""

from __future__ import annotations

import csv
import random
import tempfile
import time
from pathlib import Path

from bot.catalogue.importer import ImportOptions, import_file
from bot.db.connection import sync_db

_WORDS = (
    "kubernetes", "service", "mesh", "linkerd", "istio", "envoy", "observability", "tracing", "metrics",
    "prometheus", "security", "policy", "operators", "storage", "networking", "serverless", "gitops", "scaling",
    "latency", "resilience", "chaos", "migration", "edge", "wasm", "rust", "python", "go", "java", "platform",
    "cluster", "multi", "tenant", "cloud", "native", "data", "streaming", "database", "cache",
)  # fmt: skip
_ORGS = ("Buoyant", "Google", "Red Hat", "Microsoft", "VMware", "Lyft", "Datadog", "Grafana Labs", "Solo.io")
_KINDS = ("talk", "talk", "talk", "keynote", "lightning", "workshop", "panel")


def write_csv(path: Path, talks: int, *, seed: int = 2019) -> None:
    """A CSV of `talks` rows across 50 events, with speakers, topics and a short abstract each."""
    rng = random.Random(seed)
    people = [f"Speaker {number:05d} {rng.choice(_WORDS).title()}" for number in range(talks // 3 + 10)]
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "event", "title", "speakers", "kind", "date", "track", "topics", "abstract",
                         "recording url"])  # fmt: skip
        for number in range(talks):
            event = number % 50
            title = " ".join(rng.choice(_WORDS) for _ in range(6)).capitalize()
            speakers = ";".join(f"{rng.choice(people)} ({rng.choice(_ORGS)})" for _ in range(rng.choice((1, 1, 2, 3))))
            writer.writerow([
                f"t{number:06d}",
                f"Synthetic Conference {event:02d}",
                title,
                speakers,
                rng.choice(_KINDS),
                f"2024-{1 + event % 12:02d}-{1 + number % 28:02d}",
                rng.choice(_WORDS).title(),
                ";".join(rng.sample(_WORDS, 3)),
                " ".join(rng.choice(_WORDS) for _ in range(60)),
                f"https://video.example.org/{number}",
            ])  # fmt: skip


def run(sizes: tuple[int, ...] = (100_000,)) -> list[str]:
    """Generate and import a CSV of each size into a fresh database; one line per size."""
    lines = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "talks.csv"
            write_csv(source, size)
            megabytes = source.stat().st_size / 1e6
            with sync_db(Path(folder) / "bench.sqlite3") as conn:
                started = time.perf_counter()
                report = import_file(conn, source, ImportOptions(format="auto"))
                seconds = time.perf_counter() - started
                started = time.perf_counter()
                again = import_file(conn, source, ImportOptions(format="auto"))
                repeat = time.perf_counter() - started
            if len(report.added) != size or again.touched:
                raise RuntimeError(f"the benchmark's import went wrong: {report}")
            lines.append(
                f"import {size:,}-talk CSV ({megabytes:.1f} MB): {seconds:.1f} s ({size / seconds:,.0f} talks/s); "
                f"re-import, nothing to change: {repeat:.1f} s"
            )
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
