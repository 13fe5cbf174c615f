"""The ranked talk index: BM25F impacts precomputed per (term, talk), scored with numpy.

Why this design: FTS5 ranks by scoring every matching row in SQL, which for a word found in half of
100,000 talks is tens of milliseconds. Here every (term, talk) pair carries its final BM25F impact,
computed once when the index is built, so a query only adds a few arrays:

- a rare term adds its postings (sorted talk numbers and impacts) into a score vector;
- a common term (in more than 1/16 of the talks) keeps a dense impact vector instead, so adding it is
  one vectorised pass, never slower than a rare term's scatter;
- the best `k` are picked with `argpartition`, then ordered by (score, talk id) for determinism.

Fields are weighted (BM25F): title and topics above speakers and organisations, above the summary.
The whole index is plain arrays, so it is saved into SQLite beside the catalogue and loaded in
milliseconds on the next start instead of being rebuilt.
"""

from __future__ import annotations

import io
import math
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.domain.text import words
from bot.search.analysis import Analyzer

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]

FIELDS = ("title", "topics", "speakers", "organizations", "event", "track", "summary")
FIELD_WEIGHTS = {
    "title": 3.0,
    "topics": 2.5,
    "speakers": 2.0,
    "organizations": 1.5,
    "event": 0.75,
    "track": 1.0,
    "summary": 1.0,
}
FIELD_B = {
    "title": 0.6,
    "topics": 0.3,
    "speakers": 0.3,
    "organizations": 0.3,
    "event": 0.0,
    "track": 0.0,
    "summary": 0.75,
}
K1 = 1.2
DENSE_FRACTION = 1 / 16
MAX_DENSE_TERMS = 256
FORMAT = 3  # bump when the saved layout or the scoring changes


@dataclass(frozen=True, slots=True)
class IndexedTalk:
    """The text of one talk, field by field, and the facts used for filters and diversity."""

    talk_id: int
    title: str
    topics: Sequence[str] = ()
    speakers: Sequence[str] = ()
    organizations: Sequence[str] = ()
    event: str = ""
    track: str = ""
    summary: str = ""
    event_id: int = 0
    person_ids: Sequence[int] = ()
    topic_ids: Sequence[int] = ()
    day: int = 0  # proleptic ordinal of the talk's date, 0 when unknown


@dataclass(slots=True)
class Hit:
    """One ranked talk: its id and score."""

    talk_id: int
    score: float


@dataclass(slots=True)
class SearchIndex:
    """Arrays for scoring, filtering and diversity; see the module docstring."""

    talk_ids: npt.NDArray[np.int64]
    event_of: IntArray
    first_person: IntArray
    days: IntArray
    terms: dict[str, int]
    df: IntArray
    offsets: npt.NDArray[np.int64]
    post_docs: IntArray
    post_weights: FloatArray
    dense: dict[int, FloatArray]
    surface: dict[str, int]  # folded word -> number of talks using it (for typo correction)
    topic_docs: dict[int, IntArray]
    person_docs: dict[int, IntArray]
    _row_of: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._row_of = {int(t): i for i, t in enumerate(self.talk_ids)}

    @property
    def size(self) -> int:
        """The number of talks indexed."""
        return len(self.talk_ids)

    def row(self, talk_id: int) -> int | None:
        """The index's row number for a talk."""
        return self._row_of.get(talk_id)

    # -- building ---------------------------------------------------------------------------------------

    @classmethod
    def build(cls, talks: Sequence[IndexedTalk], analyzer: Analyzer) -> SearchIndex:
        """Analyse every talk and precompute BM25F impacts."""
        n = len(talks)
        terms: dict[str, int] = {}
        field_terms: list[list[list[int]]] = []
        lengths = np.zeros((len(FIELDS), max(n, 1)), dtype=np.float32)
        surface: Counter[str] = Counter()
        for row, talk in enumerate(talks):
            texts = (
                talk.title, " ; ".join(talk.topics), " ; ".join(talk.speakers), " ; ".join(talk.organizations),
                talk.event, talk.track, talk.summary,
            )  # fmt: skip
            per_field = []
            seen_words: set[str] = set()
            for f, text in enumerate(texts):
                folded = words(text)
                seen_words.update(folded)
                ids = []
                for term in analyzer.terms_of_words(folded):
                    tid = terms.get(term)
                    if tid is None:
                        tid = terms[term] = len(terms)
                    ids.append(tid)
                per_field.append(ids)
                lengths[f, row] = len(ids)
            surface.update(seen_words)
            field_terms.append(per_field)

        averages = [float(lengths[f, :n].mean()) if n else 1.0 for f in range(len(FIELDS))]
        post_term = array("i")
        post_doc = array("i")
        post_tf = array("f")
        for row, per_field in enumerate(field_terms):
            combined: dict[int, float] = {}
            for f, ids in enumerate(per_field):
                if not ids:
                    continue
                name = FIELDS[f]
                b = FIELD_B[name]
                norm = 1.0 - b + b * (lengths[f, row] / averages[f] if averages[f] else 1.0)
                weight = FIELD_WEIGHTS[name] / norm
                for tid, count in Counter(ids).items():
                    combined[tid] = combined.get(tid, 0.0) + weight * count
            for tid, tf in combined.items():
                post_term.append(tid)
                post_doc.append(row)
                post_tf.append(tf)

        term_arr = np.frombuffer(post_term, dtype=np.int32)
        doc_arr = np.frombuffer(post_doc, dtype=np.int32)
        tf_arr = np.frombuffer(post_tf, dtype=np.float32)
        order = np.lexsort((doc_arr, term_arr))
        term_arr, doc_arr, tf_arr = term_arr[order], doc_arr[order].copy(), tf_arr[order]
        df = np.bincount(term_arr, minlength=len(terms)).astype(np.int32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        weights = (idf[term_arr] * tf_arr * (K1 + 1) / (tf_arr + K1)).astype(np.float32)
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(df, out=offsets[1:])

        index = cls(
            talk_ids=np.array([t.talk_id for t in talks], dtype=np.int64),
            event_of=np.array([t.event_id for t in talks], dtype=np.int32),
            first_person=np.array([t.person_ids[0] if t.person_ids else -1 for t in talks], dtype=np.int32),
            days=np.array([t.day for t in talks], dtype=np.int32),
            terms=terms,
            df=df,
            offsets=offsets,
            post_docs=doc_arr,
            post_weights=weights,
            dense={},
            surface=dict(surface),
            topic_docs=_group([(tid, row) for row, t in enumerate(talks) for tid in t.topic_ids]),
            person_docs=_group([(pid, row) for row, t in enumerate(talks) for pid in t.person_ids]),
        )
        index._make_dense()
        return index

    def _make_dense(self) -> None:
        n = self.size
        threshold = max(64, int(n * DENSE_FRACTION))
        common = np.flatnonzero(self.df > threshold)
        common = common[np.argsort(-self.df[common], kind="stable")][:MAX_DENSE_TERMS]
        self.dense = {}
        for tid in common.tolist():
            vector = np.zeros(n, dtype=np.float32)
            start, end = self.offsets[tid], self.offsets[tid + 1]
            vector[self.post_docs[start:end]] = self.post_weights[start:end]
            self.dense[tid] = vector

    # -- scoring ----------------------------------------------------------------------------------------

    def postings(self, term_id: int) -> tuple[IntArray, FloatArray]:
        """A term's talk rows (ascending) and impacts."""
        start, end = self.offsets[term_id], self.offsets[term_id + 1]
        return self.post_docs[start:end], self.post_weights[start:end]

    def score(self, term_weights: dict[int, float]) -> FloatArray:
        """The score of every talk for a weighted bag of term ids."""
        scores = np.zeros(self.size, dtype=np.float32)
        for tid, weight in term_weights.items():
            dense = self.dense.get(tid)
            if dense is not None:
                if weight == 1.0:
                    scores += dense
                else:
                    scores += dense * np.float32(weight)
            else:
                docs, impacts = self.postings(tid)
                scores[docs] += impacts if weight == 1.0 else impacts * np.float32(weight)
        return scores

    def top(self, scores: FloatArray, k: int, mask: npt.NDArray[np.bool_] | None = None) -> list[Hit]:
        """The `k` best-scoring talks (score > 0), best first, ties by talk id."""
        if mask is not None:
            scores = np.where(mask, scores, np.float32(0))
        k = min(k, self.size)
        if k <= 0:
            return []
        n = self.size
        rows = np.argpartition(scores, n - k)[n - k :] if k < n else np.arange(n)
        rows = rows[scores[rows] > 0]
        ids = self.talk_ids[rows]
        order = np.lexsort((ids, -scores[rows]))
        return [Hit(int(ids[i]), float(scores[rows[i]])) for i in order]

    def rows_mask(self, rows: npt.NDArray[Any] | None) -> npt.NDArray[np.bool_]:
        """A boolean mask selecting the given rows."""
        mask = np.zeros(self.size, dtype=np.bool_)
        if rows is not None:
            mask[rows] = True
        return mask

    def event_mask(self, event_ids: Sequence[int]) -> npt.NDArray[np.bool_]:
        """Talks of any of these events."""
        return np.isin(self.event_of, np.asarray(event_ids, dtype=np.int32))

    def idf(self, term_id: int) -> float:
        """A term's inverse document frequency."""
        df = int(self.df[term_id])
        return math.log1p((self.size - df + 0.5) / (df + 0.5))

    # -- saving -----------------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The index as one compact blob (numpy's .npz), for the cache table."""
        buffer = io.BytesIO()
        term_list = sorted(self.terms, key=self.terms.__getitem__)
        surface_words = list(self.surface)
        np.savez(
            buffer,
            format=np.array([FORMAT]),
            talk_ids=self.talk_ids,
            event_of=self.event_of,
            first_person=self.first_person,
            days=self.days,
            terms=np.array("\n".join(term_list)),
            df=self.df,
            offsets=self.offsets,
            post_docs=self.post_docs,
            post_weights=self.post_weights,
            surface_words=np.array("\n".join(surface_words)),
            surface_counts=np.array([self.surface[w] for w in surface_words], dtype=np.int32),
            **_pack("topic", self.topic_docs),  # type: ignore[arg-type]
            **_pack("person", self.person_docs),  # type: ignore[arg-type]
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> SearchIndex | None:
        """Load a saved index; None when it was saved by another format version."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            if int(data["format"][0]) != FORMAT:
                return None
            term_text = str(data["terms"])
            surface_text = str(data["surface_words"])
            index = cls(
                talk_ids=data["talk_ids"],
                event_of=data["event_of"],
                first_person=data["first_person"],
                days=data["days"],
                terms={t: i for i, t in enumerate(term_text.split("\n"))} if term_text else {},
                df=data["df"],
                offsets=data["offsets"],
                post_docs=data["post_docs"],
                post_weights=data["post_weights"],
                dense={},
                surface=dict(zip(surface_text.split("\n"), data["surface_counts"].tolist(), strict=True))
                if surface_text
                else {},
                topic_docs=_unpack("topic", data),
                person_docs=_unpack("person", data),
            )
        index._make_dense()
        return index


def _group(pairs: list[tuple[int, int]]) -> dict[int, IntArray]:
    grouped: dict[int, list[int]] = {}
    for key, row in pairs:
        grouped.setdefault(key, []).append(row)
    return {key: np.array(rows, dtype=np.int32) for key, rows in grouped.items()}


def _pack(name: str, groups: dict[int, IntArray]) -> dict[str, npt.NDArray[Any]]:
    keys = sorted(groups)
    lengths = np.array([len(groups[k]) for k in keys], dtype=np.int64)
    rows = np.concatenate([groups[k] for k in keys]) if keys else np.zeros(0, dtype=np.int32)
    return {f"{name}_keys": np.array(keys, dtype=np.int64), f"{name}_lengths": lengths, f"{name}_rows": rows}


def _unpack(name: str, data: Any) -> dict[int, IntArray]:
    keys = data[f"{name}_keys"].tolist()
    bounds = np.concatenate([[0], np.cumsum(data[f"{name}_lengths"])])
    rows = data[f"{name}_rows"]
    return {key: rows[bounds[i] : bounds[i + 1]] for i, key in enumerate(keys)}
