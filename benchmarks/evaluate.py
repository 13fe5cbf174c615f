"""Search quality, measured: recall@5 and nDCG@5 on judged queries, ours beside a plain BM25 baseline.

The judged queries are in `eval_queries.toml` (see its header for how they were judged). Each catalogue
is imported into a fresh database with the real importer; our results are what a member sees, the five
results of `CatalogueService.search`. The baseline is `rank_bm25.BM25Okapi` over the same text (title,
topic names, speakers and organisations, summary), tokenised the plain way: lower case, split at
anything that is not a letter or digit.

- recall@5: of the talks judged relevant (grade 1 or 2), the share in the top five;
- nDCG@5: graded (gain 2^grade - 1, discount log2(rank + 1)), against the best possible top five.

Run with `python -m benchmarks.evaluate` (`--verbose` for every query).
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import kubecon_list, realdata
from benchmarks.peers import PeerDoc, RankBM25
from bot.catalogue.formats.document import CatalogueDocument
from bot.catalogue.importer import read_document
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.service import CatalogueService
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db
from bot.db.gateway import Database
from bot.domain.text import name_key
from bot.errors import UserFacingError

ROOT = Path(__file__).resolve().parents[1]
EVAL_FILE = Path(__file__).with_name("eval_queries.toml")
K = 5


@dataclass
class Judged:
    """One query and the talks a member would want for it."""

    query: str
    grades: dict[str, int]  # talk id -> 1 or 2
    titles: dict[str, str]
    note: str = ""
    kind: str = "topic"
    language: str | None = None  # a language filter applied with the query


@dataclass
class Scores:
    """One engine's results and metrics over a set of queries."""

    name: str
    results: list[list[str]] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    ndcg: list[float] = field(default_factory=list)

    def mean(self, values: Sequence[float]) -> float:
        """The average of a metric."""
        return sum(values) / len(values) if values else float("nan")


def load_judgments(section: str) -> list[Judged]:
    """The judged queries of one catalogue ('bundled' or 'kubecon')."""
    data = tomllib.loads(EVAL_FILE.read_text(encoding="utf-8"))
    return [
        Judged(
            query=entry["query"],
            grades={r["id"]: int(r["grade"]) for r in entry["relevant"]},
            titles={r["id"]: r.get("title", "") for r in entry["relevant"]},
            note=entry.get("note", ""),
            kind=entry.get("kind", "topic"),
            language=entry.get("language"),
        )
        for entry in data[section]
    ]


def resolve(judged: list[Judged], document: CatalogueDocument) -> list[Judged]:
    """Judgments named by this catalogue's ids (a judged id it lacks is found by its title)."""
    slugs = {t.slug for t in document.talks}
    by_title = {name_key(t.title): t.slug for t in document.talks}
    out = []
    for item in judged:
        grades: dict[str, int] = {}
        for talk_id, grade in item.grades.items():
            slug = talk_id if talk_id in slugs else by_title.get(name_key(item.titles.get(talk_id, "")))
            if slug is None:
                raise SystemExit(
                    f"{EVAL_FILE.name}: no talk {talk_id!r} ({item.titles.get(talk_id)!r}) in the catalogue"
                )
            grades[slug] = grade
        out.append(Judged(item.query, grades, item.titles, item.note, item.kind, item.language))
    return out


async def ours(document: CatalogueDocument, queries: Sequence[Judged]) -> list[list[str]]:
    """The top five ids of our search for each query (and its language filter), as a member gets them."""
    with tempfile.TemporaryDirectory(prefix="evaluate-") as folder:
        path = Path(folder) / "catalogue.sqlite3"
        with sync_db(path) as conn:
            apply_document(conn, document)
        db = await Database.open(path)
        try:
            service = await CatalogueService.open(db)
            results = []
            for item in queries:
                try:
                    page = await service.search(item.query, limit=K, language=item.language)
                except UserFacingError:
                    results.append([])
                    continue
                results.append([r.talk.slug for r in page.results])
            return results
        finally:
            await db.close()


def baseline(document: CatalogueDocument, queries: Sequence[Judged]) -> list[list[str]]:
    """The top five ids of plain BM25 (rank_bm25) over the same text, for each query (filtered as ours)."""
    docs = [
        PeerDoc(
            title=t.title,
            topics=" ; ".join(document.topics.get(s, s.replace("-", " ")) for s in t.topics),
            speakers=" ; ".join(f"{s.name} {s.organization or ''}" for s in t.speakers),
            summary=t.summary,
        )
        for t in document.talks
    ]
    engine = RankBM25(docs)
    results = []
    for item in queries:
        if item.language is None:
            rows = engine.search(item.query, K)
        else:  # the same filter as ours: the best of the talks in that language
            rows = [r for r in engine.search(item.query, len(docs)) if document.talks[r].language == item.language][:K]
        results.append([document.talks[row].slug for row in rows])
    return results


def recall_at(found: Sequence[str], grades: dict[str, int], k: int = K) -> float:
    """Share of the relevant talks in the top k."""
    return sum(1 for talk in found[:k] if grades.get(talk, 0) > 0) / len(grades) if grades else 0.0


def ndcg_at(found: Sequence[str], grades: dict[str, int], k: int = K) -> float:
    """Normalised discounted cumulative gain of the top k, gains 2^grade - 1."""
    dcg = sum((2 ** grades.get(talk, 0) - 1) / math.log2(rank + 2) for rank, talk in enumerate(found[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**grade - 1) / math.log2(rank + 2) for rank, grade in enumerate(ideal))
    return dcg / best if best else 0.0


def evaluate(document: CatalogueDocument, judged: list[Judged]) -> tuple[Scores, Scores]:
    """Our search and the baseline on one catalogue."""
    scored = (Scores("ours", asyncio.run(ours(document, judged))), Scores("plain BM25", baseline(document, judged)))
    for scores in scored:
        for found, item in zip(scores.results, judged, strict=True):
            scores.recall.append(recall_at(found, item.grades))
            scores.ndcg.append(ndcg_at(found, item.grades))
    return scored


def catalogues() -> tuple[list[tuple[str, CatalogueDocument, str]], list[str]]:
    """Each judged catalogue that is here: (section, document, label); and a line for each left out."""
    found = [("bundled", load_native(BUNDLED_CATALOGUE), "bundled catalogue")]
    if not realdata.present():
        return found, [f"left out: KubeCon NA 2019, FOSDEM 2026 and 38C3 ({realdata.ABSENT})"]
    found.append(("kubecon", kubecon_list.document(), "KubeCon NA 2019 list"))
    found.append(("fosdem2026", read_document(realdata.FOSDEM_2026_XML), "FOSDEM 2026 schedule.xml"))
    found.append(("ccc38c3", read_document(realdata.CCC_38C3_XML), "38C3 schedule.xml"))
    return found, []


def run(verbose: bool = False) -> list[str]:
    """Evaluate on every catalogue, overall and by kind of query; the printable lines."""
    head = f"{'catalogue':<38}{'queries':>8}{'engine':>12}{'recall@5':>10}{'nDCG@5':>9}"
    lines = [head]
    details: list[str] = []
    found, missing = catalogues()
    by_kind: dict[str, tuple[Scores, Scores]] = {}
    for section, document, name in found:
        judged = resolve(load_judgments(section), document)
        mine, plain = evaluate(document, judged)
        label = f"{name} ({len(document.talks)} talks)"
        for scores in (mine, plain):
            lines.append(
                f"{label:<38}{len(judged):>8}{scores.name:>12}"
                f"{scores.mean(scores.recall):>10.3f}{scores.mean(scores.ndcg):>9.3f}"
            )
            label = ""
        better = sum(a > b for a, b in zip(mine.ndcg, plain.ndcg, strict=True))
        worse = sum(a < b for a, b in zip(mine.ndcg, plain.ndcg, strict=True))
        tied = len(judged) - better - worse
        lines.append(f"{'':<38}per query nDCG@5: ours better on {better}, worse on {worse}, tied on {tied}")
        titles = {t.slug: t.title for t in document.talks}
        for i, item in enumerate(judged):
            kind_mine, kind_plain = by_kind.setdefault(item.kind, (Scores("ours"), Scores("plain BM25")))
            for into, scores in ((kind_mine, mine), (kind_plain, plain)):
                into.recall.append(scores.recall[i])
                into.ndcg.append(scores.ndcg[i])
            where = f" [language {item.language}]" if item.language else ""
            details.append(
                f"[{section}/{item.kind}] {item.query!r}{where}: ours recall {mine.recall[i]:.2f} "
                f"nDCG {mine.ndcg[i]:.2f}; BM25 recall {plain.recall[i]:.2f} nDCG {plain.ndcg[i]:.2f}"
            )
            for engine, results in (("ours", mine.results[i]), ("BM25", plain.results[i])):
                for rank, talk in enumerate(results, start=1):
                    details.append(f"    {engine} {rank}. [{item.grades.get(talk, 0)}] {titles[talk][:90]}")
    lines += missing
    lines += ["", f"{'by kind, every catalogue':<38}{'queries':>8}{'engine':>12}{'recall@5':>10}{'nDCG@5':>9}"]
    for kind, (mine, plain) in sorted(by_kind.items()):
        label = kind
        for scores in (mine, plain):
            lines.append(
                f"{label:<38}{len(scores.ndcg):>8}{scores.name:>12}"
                f"{scores.mean(scores.recall):>10.3f}{scores.mean(scores.ndcg):>9.3f}"
            )
            label = ""
    return [*lines, "", *details] if verbose else lines


if __name__ == "__main__":
    for line in run(verbose="--verbose" in sys.argv):
        print(line)
