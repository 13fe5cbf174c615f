"""Search speed and memory on synthetic catalogues of 1,000, 10,000 and 100,000 talks, beside three peers.

Per size: generate the catalogue (`benchmarks.synthetic`), import it with the real importer, start the
bot's catalogue twice in fresh processes (first start after the import, which builds and saves the index;
then a normal restart, which loads it) timing each from process spawn to the first answer and taking
each process's peak memory; then, in this process, p50/p99 latency over fixed query mixes for search
(through `CatalogueService`, which also reads the results from SQLite, and the engine alone),
more-like-this, speaker lookup and autocomplete. The same search queries then go through rank_bm25,
bm25s and tantivy indexing the same text, and our engine's latency is printed as a ratio to each.

Timings are measured, never asserted: they depend on the machine. Run with `python -m benchmarks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.peers import BM25S, Peer, PeerDoc, RankBM25, Tantivy
from benchmarks.synthetic import STOP_WORDS, TOPICS, Synthetic, generate, import_into
from bot.catalogue.service import SPEAKER_CARD_TALKS, CatalogueService
from bot.db.connection import sync_db
from bot.db.gateway import Database
from bot.errors import UserFacingError
from bot.search.corpus import iter_talks
from bot.search.index import IndexedTalk

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
REPEATS = 3  # each mix is run this many times; the first pass also warms caches
RANK_BM25_BUDGET_S = 8.0  # rank_bm25 scores every talk in Python-speed numpy; sample when it is slow
COMMON = 30  # the "most common words" are the first 30 of the vocabulary
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Timing:
    """Latencies of one operation over a mix."""

    name: str
    samples: list[float]
    note: str = ""

    def ms(self, q: float) -> float:
        """The q-th percentile, in milliseconds."""
        return float(np.percentile(self.samples, q)) * 1e3 if self.samples else float("nan")

    @property
    def p50(self) -> float:
        """Median, ms."""
        return self.ms(50)

    @property
    def p99(self) -> float:
        """99th percentile, ms."""
        return self.ms(99)


# -- query mixes -----------------------------------------------------------------------------------------


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "swap", "replace"))
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1 :]


def _speakers(synthetic: Synthetic) -> list[str]:
    return list(dict.fromkeys(s.name for t in synthetic.document.talks for s in t.speakers))


def search_mix(synthetic: Synthetic, seed: int = 7) -> list[str]:
    """About 250 queries of 1 to 8 words: the commonest words alone and together, Zipf-drawn word mixes,
    typos, speaker names, topics, organisations, and words the catalogue does not have."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vocabulary = synthetic.vocabulary
    common = vocabulary[:COMMON]
    queries = list(common[:12])
    queries += ["cloud native", "service mesh", "kubernetes security", "open source", "service mesh observability"]
    queries += [" ".join(common[:8]), " ".join(common[4:12])]
    for length in range(2, 9):
        for _ in range(4):
            queries.append(" ".join(rng.sample(common, length)))
    for _ in range(100):
        length = rng.randint(1, 8)
        drawn = nrng.choice(len(vocabulary), size=length, p=synthetic.probabilities)
        words = [vocabulary[i] for i in drawn.tolist()]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), rng.choice(STOP_WORDS))
        queries.append(" ".join(words[:8]))
    long_words = [w for w in vocabulary[:2000] if len(w) >= 5]
    for _ in range(30):
        words = rng.sample(long_words, rng.randint(1, 3))
        words[0] = _typo(words[0], rng)
        queries.append(" ".join(words))
    speakers = _speakers(synthetic)
    for name in rng.sample(speakers, min(30, len(speakers))):
        queries.append(name)
    for name in rng.sample(speakers, min(10, len(speakers))):
        queries.append(name.split()[-1])
    queries += rng.sample(TOPICS, 10)
    queries += rng.sample(synthetic.organisations[:60], 5)
    queries += ["zzqx", "quantum blockchain", "mainframe cobol", "xylophone", "qwv zyx"]
    return queries


def people_mix(synthetic: Synthetic, seed: int = 11) -> list[str]:
    """About 230 name lookups: full names, last names, first names, typos, prefixes, nobody."""
    rng = random.Random(seed)
    speakers = _speakers(synthetic)
    names = rng.sample(speakers, min(100, len(speakers)))
    queries = list(names)
    queries += [n.split()[-1] for n in rng.sample(speakers, min(50, len(speakers)))]
    queries += [n.split()[0] for n in rng.sample(speakers, min(30, len(speakers)))]
    queries += [" ".join(_typo(w, rng) if len(w) >= 5 else w for w in n.split()) for n in names[:30]]
    queries += [n[: rng.randint(2, 6)] for n in names[30:40]]
    queries += ["Zyx Qwv", "nobody here", "x", "mr", "qqqq", "a b", "jo", "van der", "de la", "li"]
    return queries


def completion_mix(synthetic: Synthetic, seed: int = 13) -> list[tuple[str, str]]:
    """About 250 (kind, typed text) pairs: titles and names typed key by key, inner words, typos, topics."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    titles = [t.title for t in rng.sample(synthetic.document.talks, min(25, len(synthetic.document.talks)))]
    for title in titles:
        for n in (1, 2, 3, 5, 8, 13, 21):
            out.append(("titles", title[:n]))
    speakers = _speakers(synthetic)
    for name in rng.sample(speakers, min(15, len(speakers))):
        for n in (1, 2, 4, 7, 12):
            out.append(("speakers", name[:n]))
    for word in rng.sample(synthetic.vocabulary[:300], 20):
        out.append(("titles", word[: max(3, len(word) - 2)]))  # a word inside titles, part typed
        out.append(("titles", _typo(word, rng) if len(word) >= 5 else word + "x"))
    out += [("titles", "mesh service"), ("titles", "kubernetes cloud"), ("titles", "netes"), ("titles", "ubern")]
    for topic in TOPICS[:20]:
        out.append(("topics", topic[:3]))
    out += [("titles", ""), ("speakers", ""), ("topics", "")]
    return out


# -- measuring -------------------------------------------------------------------------------------------


def _timed(call: Callable[[], Any], items: int = 1) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) / items


async def _timed_async(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    with contextlib.suppress(UserFacingError):
        await call()
    return time.perf_counter() - started


def cold_start(path: Path) -> dict[str, float]:
    """Start the catalogue in a fresh process; seconds from spawn to first answer, and its figures."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module, a path we made
        [sys.executable, "-m", "benchmarks.coldstart", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None  # noqa: S101
    first = process.stdout.readline()
    answered = time.perf_counter() - started
    rest, errors = process.communicate(timeout=600)
    if first.strip() != "ANSWER" or process.returncode != 0:
        raise RuntimeError(f"cold start failed: {first}{rest}{errors}")
    figures: dict[str, float] = json.loads(rest.strip().splitlines()[-1])
    figures["spawn_to_answer_s"] = answered
    return figures


async def measure_bot(path: Path, synthetic: Synthetic, mlt_talks: list[IndexedTalk]) -> list[Timing]:
    """Latencies through the bot's own objects, the catalogue opened as the bot opens it."""
    searches = search_mix(synthetic)
    common = set(synthetic.vocabulary[:COMMON])
    common_only = [q for q in searches if set(q.split()) <= common]
    names = people_mix(synthetic)
    typed = completion_mix(synthetic)
    db = await Database.open(path)
    try:
        service = await CatalogueService.open(db)
        engine = service.engine
        timings = {
            name: Timing(name, [])
            for name in (
                "search (service: + SQLite)", "search (engine)", "  of which commonest words only",
                "more-like-this (service: + SQLite)", "more-like-this (engine)",
                "speaker lookup (service, as /speaker)", "speaker lookup (engine)",
                "  every talk of every match (command line)",
                "autocomplete: titles", "autocomplete: speakers", "autocomplete: topics",
            )
        }  # fmt: skip
        suggest = {
            "titles": engine.suggest_titles,
            "speakers": engine.suggest_speakers,
            "topics": engine.suggest_topics,
        }
        slugs = await db.scan(lambda conn: [s for (s,) in conn.execute("SELECT slug FROM talks ORDER BY id")])
        mlt_slugs = [slugs[i] for i in np.linspace(0, len(slugs) - 1, len(mlt_talks)).astype(int).tolist()]
        for _ in range(REPEATS):
            for query in searches:
                timings["search (service: + SQLite)"].samples.append(
                    await _timed_async(lambda q=query: service.search(q))
                )
                elapsed = _timed(lambda q=query: engine.search(q))
                timings["search (engine)"].samples.append(elapsed)
                if query in common_only:
                    timings["  of which commonest words only"].samples.append(elapsed)
            for talk, slug in zip(mlt_talks, mlt_slugs, strict=True):
                timings["more-like-this (engine)"].samples.append(_timed(lambda t=talk: engine.similar(t)))
                timings["more-like-this (service: + SQLite)"].samples.append(
                    await _timed_async(lambda s=slug: service.similar(s))
                )
            for name in names:
                timings["speaker lookup (engine)"].samples.append(_timed(lambda n=name: engine.lookup_people(n)))
                timings["speaker lookup (service, as /speaker)"].samples.append(
                    await _timed_async(lambda n=name: _as_speaker_command(service, n))
                )
                timings["  every talk of every match (command line)"].samples.append(
                    await _timed_async(lambda n=name: service.speakers(n))
                )
            for kind, text in typed:
                timings[f"autocomplete: {kind}"].samples.append(_timed(lambda k=kind, t=text: suggest[k](t)))
        timings["  of which commonest words only"].note = f"{len(common_only)} queries of the {COMMON} commonest words"
        return list(timings.values())
    finally:
        await db.close()


async def _as_speaker_command(service: CatalogueService, name: str) -> None:
    """What /speaker asks of the service: the people matching (no talks), then a card when there is one."""
    profiles = await service.speakers(name, talks=0)
    if len(profiles) == 1:
        await service.speakers(profiles[0].slug, talks=SPEAKER_CARD_TALKS)


def _sampled(peer: Peer, queries: Sequence[str], budget_s: float) -> tuple[list[str], int, str]:
    """The queries to time (all, or every n-th when the peer is too slow), the repeats, and a note."""
    per_query = _timed(lambda: peer.search(queries[0]))
    if per_query * len(queries) * REPEATS <= budget_s:
        return list(queries), REPEATS, ""
    step = max(1, int(per_query * len(queries) / budget_s) + 1)
    sample = list(queries[::step])
    if step == 1:
        return sample, 1, "each query once: too slow to repeat"
    return sample, 1, f"1 query in {step}, once ({len(sample)} of {len(queries)}): too slow for all"


def measure_peer(peer: Peer, queries: Sequence[str], mlt_queries: Sequence[str]) -> tuple[Timing, Timing]:
    """A peer's latency over the search mix and over more-like-this queries (title, topics, speakers)."""
    timings = []
    for mix in (queries, mlt_queries):
        sample, repeats, note = _sampled(peer, mix, RANK_BM25_BUDGET_S)
        timing = Timing(peer.name, [], note)
        for _ in range(repeats):
            timing.samples += [_timed(lambda q=q: peer.search(q)) for q in sample]
        timings.append(timing)
    return timings[0], timings[1]


def peer_docs(synthetic: Synthetic) -> list[PeerDoc]:
    """The text our index holds, per talk, for the peers: title, topics, speakers with organisations, summary."""
    topics = synthetic.document.topics
    return [
        PeerDoc(
            title=t.title,
            topics=" ; ".join(topics.get(s, s) for s in t.topics),
            speakers=" ; ".join(f"{s.name} {s.organization or ''}" for s in t.speakers),
            summary=t.summary,
        )
        for t in synthetic.document.talks
    ]


# -- the run ---------------------------------------------------------------------------------------------


def _mlt_sample(path: Path, count: int) -> list[IndexedTalk]:
    with sync_db(path) as conn:
        total = conn.execute("SELECT COUNT(*) FROM talks").fetchone()[0]
        wanted = set(np.linspace(0, total - 1, count).astype(int).tolist())
        return [talk for row, talk in enumerate(iter_talks(conn)) if row in wanted]


def _mlt_query(talk: IndexedTalk) -> str:
    return " ".join([talk.title, *talk.topics, *talk.speakers])


def bench_size(size: int, folder: Path) -> list[str]:
    """Every figure for one catalogue size, as printable lines."""
    lines = []
    started = time.perf_counter()
    synthetic = generate(size)
    generated = time.perf_counter() - started
    path = folder / f"bench-{size}.sqlite3"
    imported = import_into(path, synthetic)
    with sync_db(path) as conn:
        people = conn.execute("SELECT COUNT(*) FROM people").fetchone()[0]
        shares = dict.fromkeys(synthetic.vocabulary[:6], 0)
        for title, summary in conn.execute("SELECT title, summary FROM talks"):
            text = f" {title} {summary} ".lower().replace(".", " ")
            for word in shares:
                shares[word] += f" {word} " in text
    first = cold_start(path)
    restart = cold_start(path)
    lines.append(
        f"== {size:,} talks: {people:,} people, {len(synthetic.document.events):,} events, "
        f"{len(synthetic.document.topics)} topics =="
    )
    lines.append(
        "share of talks using the commonest words: "
        + ", ".join(f"{w} {100 * c / size:.0f}%" for w, c in shares.items())
    )
    lines.append(f"generate {generated:.1f} s; import through apply_document {imported:.1f} s")
    lines.append(
        f"cold start to first answer (fresh process, spawn to answer): restart {restart['spawn_to_answer_s']:.2f} s "
        f"[imports {restart['imports_s']:.2f} + open db {restart['open_db_s']:.2f} + load index "
        f"{restart['load_s']:.2f} + first search {1e3 * restart['first_search_s']:.1f} ms]; "
        f"first start after import (builds and saves the index) {first['spawn_to_answer_s']:.2f} s"
    )
    lines.append(
        f"peak memory (RSS high-water mark, catalogue open, after a mixed workload): restart "
        f"{restart['peak_rss_mb']:.0f} MB; first start after import {first['peak_rss_mb']:.0f} MB"
    )
    mlt_talks = _mlt_sample(path, 200)
    timings = asyncio.run(measure_bot(path, synthetic, mlt_talks))
    lines.append(f"{'operation':<40}{'calls':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for timing in timings:
        lines.append(
            f"{timing.name:<40}{len(timing.samples):>7}{timing.p50:>9.2f}{timing.p99:>9.2f}"
            f"{max(timing.samples, default=0) * 1e3:>9.2f}" + (f"   ({timing.note})" if timing.note else "")
        )
    ours = {t.name: t for t in timings}
    engine_search, engine_mlt = ours["search (engine)"], ours["more-like-this (engine)"]
    queries = search_mix(synthetic)
    mlt_queries = [_mlt_query(t) for t in mlt_talks]
    docs = peer_docs(synthetic)
    del synthetic
    lines.append(
        "peers over the same text (title, topics, speakers and organisations, summary) and the same queries;"
        " more-like-this for a peer = its search for the talk's title, topics and speakers"
    )
    lines.append(
        f"{'engine':<11}{'index s':>8}{'search p50':>11}{'p99':>8}{'ours/peer p50':>15}{'p99':>7}"
        f"{'mlt p50':>9}{'p99':>8}{'ours/peer p50':>15}{'p99':>7}"
    )
    lines.append(
        f"{'ours':<11}{'':>8}{engine_search.p50:>11.2f}{engine_search.p99:>8.2f}{'':>15}{'':>7}"
        f"{engine_mlt.p50:>9.2f}{engine_mlt.p99:>8.2f}"
    )
    for make in (RankBM25, BM25S, Tantivy):
        started = time.perf_counter()
        peer = make(docs)
        built = time.perf_counter() - started
        search, mlt = measure_peer(peer, queries, mlt_queries)
        del peer
        lines.append(
            f"{make.name:<11}{built:>8.1f}{search.p50:>11.2f}{search.p99:>8.2f}"
            f"{engine_search.p50 / search.p50:>15.2f}{engine_search.p99 / search.p99:>7.2f}"
            f"{mlt.p50:>9.2f}{mlt.p99:>8.2f}{engine_mlt.p50 / mlt.p50:>15.2f}{engine_mlt.p99 / mlt.p99:>7.2f}"
            + "".join(f"   ({kind}: {t.note})" for kind, t in (("search", search), ("mlt", mlt)) if t.note)
        )
    return lines


def run(sizes: Sequence[int] = SIZES, echo: Callable[[str], None] | None = None) -> list[str]:
    """Benchmark each size; returns (and echoes as they come) the printed lines."""
    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="search-bench-") as folder:
        for size in sizes:
            for line in bench_size(size, Path(folder)):
                out.append(line)
                if echo:
                    echo(line)
            if echo:
                echo("")
    return out


if __name__ == "__main__":
    run(QUICK_SIZES if "--quick" in sys.argv else SIZES, echo=print)
