"""`python -m benchmarks`: every figure in one run (`--quick`: 1,000 and 10,000 talks only).

Search speed and memory (`benchmarks.search_bench`), import speed (`benchmarks.import_bench`, when
present) and search quality (`benchmarks.evaluate`).
"""

from __future__ import annotations

import importlib.util
import sys
import time

from benchmarks import evaluate, search_bench


def main(argv: list[str]) -> None:
    """Run everything and print the figures as they come."""
    quick = "--quick" in argv
    started = time.perf_counter()
    print("# Search quality (python -m benchmarks.evaluate)\n", flush=True)
    for line in evaluate.run():
        print(line, flush=True)
    print("\n# Search speed and memory (python -m benchmarks.search_bench)\n", flush=True)
    search_bench.run(search_bench.QUICK_SIZES if quick else search_bench.SIZES, echo=lambda s: print(s, flush=True))
    if importlib.util.find_spec("benchmarks.import_bench") is not None:
        from benchmarks import import_bench

        print("# Import speed (benchmarks.import_bench)\n", flush=True)
        for line in import_bench.run((10_000,) if quick else (100_000,)):
            print(line, flush=True)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
