"""One bot start, measured in a fresh process: open the database and the catalogue, answer, then work.

Run by `benchmarks.search_bench` as `python -m benchmarks.coldstart DATABASE`. Prints `ANSWER` the moment
the first search is answered (the parent times the whole start from spawning the process to that line),
then a JSON line with the parts of the start and the process's peak memory (RSS high-water mark) after a
mixed workload: searches, more-like-this, speaker lookups and autocomplete, with the catalogue open.

Peak memory is the kernel's VmHWM (this process's resident high-water mark). `getrusage`'s ru_maxrss
would do on its own, but on Linux it survives `exec`: a child spawned by a parent holding 500 MB reports
at least 500 MB, whatever it uses itself. It is the fallback where /proc is missing.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from bot.catalogue.service import CatalogueService  # noqa: E402
from bot.db.gateway import Database  # noqa: E402
from bot.errors import UserFacingError  # noqa: E402

IMPORTED = time.perf_counter()
FIRST_QUERY = "kubernetes"


async def _start(path: Path) -> dict[str, float]:
    db = await Database.open(path)
    try:
        opened = time.perf_counter()
        service = await CatalogueService.open(db)
        loaded = time.perf_counter()
        await service.search(FIRST_QUERY)
        answered = time.perf_counter()
        print("ANSWER", flush=True)
        engine = service.engine
        common = sorted(engine.index.surface, key=lambda w: -engine.index.surface[w])[:60]
        people = [p.name for p in engine.people.people[:: max(1, len(engine.people) // 40)]]
        for i in range(100):
            query = " ".join(common[(i * 7 + j * 3) % len(common)] for j in range(1 + i % 8))
            with contextlib.suppress(UserFacingError):
                await service.search(query)
        for name in people[:20]:
            await service.speakers(name)
        for title in [s.key for s in engine.suggest_titles("a")[:10]]:
            await service.similar(title)
        for name in people:
            engine.suggest_speakers(name[:4])
            engine.suggest_titles(name[:3])
        return {
            "imports_s": IMPORTED - STARTED,
            "open_db_s": opened - IMPORTED,
            "load_s": loaded - opened,
            "first_search_s": answered - loaded,
            "to_answer_s": answered - STARTED,
            "peak_rss_mb": peak_rss_mb(),
        }
    finally:
        await db.close()


def peak_rss_mb() -> float:
    """This process's resident-memory high-water mark, MB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Restart the high-water mark at the current RSS (Linux: /proc/self/clear_refs); False where impossible.

    A benchmark that shares its process with earlier ones measures its own peak this way.
    """
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def main() -> None:
    """Start once on the database named on the command line and report."""
    figures = asyncio.run(_start(Path(sys.argv[1])))
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
