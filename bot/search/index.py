"""The ranked talk index: BM25F impacts precomputed per (term, talk), scored with numpy.

Why this design: FTS5 ranks by scoring every matching row in SQL, which for a word found in half of
100,000 talks is tens of milliseconds (about 60 ms measured). Here every (term, talk) pair carries its
final BM25F impact, computed once when the index is built, so a query only adds a few arrays:

- a rare term adds its postings (sorted talk numbers and impacts) into a score vector;
- a common term (in more than 1/16 of the talks) keeps a dense impact vector instead, so adding it is
  one vectorised pass (10 µs at 100,000 talks) where scattering its 40,000 postings takes 180 µs;
  dense vectors cost 4 bytes per talk each, so only the commonest get one, within 24 MB (62 terms at
  100,000 talks, where 137 terms pass 1/16; the others' postings are short enough to scatter);
- the best `k` are picked among the talks that scored at all, then ordered by (score, talk id).

Fields are weighted (BM25F): title and topics above speakers and organisations, above the summary.

Building is vectorised too: talks are only split into words in Python (each word mapped to a number);
phrases, field lengths, BM25F sums and impacts are numpy passes over those numbers. At 100,000 talks
(8.5 million words) that takes 6.8 s where the term-by-term Python loop took 22.7 s, for bit-for-bit
the same impacts.

The whole index is plain arrays, saved into SQLite beside the catalogue (see `bot.search.store`) and
loaded in milliseconds on the next start instead of being rebuilt.
"""

from __future__ import annotations

import itertools
import math
import re
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.search.analysis import Analyzer, fast_words
from bot.search.store import Packed, Unpacked

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
MAX_DENSE_BYTES = 24 << 20
SPARSE_TOP = 1 / 8  # below this share of talks matched, the best are picked among the matches only
SAMPLE_ABOVE = 8192  # above this many talks, the best are picked above a threshold read off a sample
SAMPLE_SIZE = 1024
SAMPLE_RANK = 4
FORMAT = 5  # bump when the saved layout, the scoring or the analysis changes


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


class Groups(Mapping[int, IntArray]):
    """Key -> rows, kept as sorted keys, bounds and one array of rows.

    A dict of 50,000 small arrays (one per speaker) cost 10 MB and a second to load; this costs the
    arrays themselves and a binary search per lookup.
    """

    def __init__(self, ids: npt.NDArray[np.int64], bounds: npt.NDArray[np.int64], rows: IntArray) -> None:
        self.ids, self.bounds, self.rows = ids, bounds, rows  # sorted keys; rows of key i: bounds[i]..bounds[i+1]

    @classmethod
    def from_pairs(cls, keys: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]) -> Groups:
        """Group (key, row) pairs by key, rows ascending within a key."""
        order = np.lexsort((rows, keys))
        keys, rows = keys[order], rows[order]
        unique, starts = np.unique(keys, return_index=True)
        bounds = np.append(starts, len(keys)).astype(np.int64)
        return cls(unique.astype(np.int64), bounds, rows.astype(np.int32))

    def _find(self, key: object) -> int:
        if not isinstance(key, int | np.integer):
            return -1
        at = int(np.searchsorted(self.ids, key))
        return at if at < len(self.ids) and int(self.ids[at]) == key else -1

    def __getitem__(self, key: int) -> IntArray:
        at = self._find(key)
        if at < 0:
            raise KeyError(key)
        return self.rows[self.bounds[at] : self.bounds[at + 1]]

    def __contains__(self, key: object) -> bool:
        return self._find(key) >= 0

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids.tolist())

    def __len__(self) -> int:
        return len(self.ids)


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
    topic_docs: Mapping[int, IntArray]
    person_docs: Mapping[int, IntArray]
    _row_of: dict[int, int] | None = field(default=None)

    def __post_init__(self) -> None:
        # Talks are indexed in id order, so a talk's row is a binary search away; a dict only otherwise.
        ids = self.talk_ids
        ascending = len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1]))
        self._row_of = None if ascending else {int(t): i for i, t in enumerate(ids.tolist())}

    @property
    def size(self) -> int:
        """The number of talks indexed."""
        return len(self.talk_ids)

    def row(self, talk_id: int) -> int | None:
        """The index's row number for a talk."""
        if self._row_of is not None:
            return self._row_of.get(talk_id)
        at = int(np.searchsorted(self.talk_ids, talk_id))
        return at if at < len(self.talk_ids) and int(self.talk_ids[at]) == talk_id else None

    def rows_of(self, talk_ids: Sequence[int]) -> list[int]:
        """Row numbers of talks known to be in the index, in one pass."""
        if self._row_of is not None:
            return [self._row_of[t] for t in talk_ids]
        return [int(r) for r in np.searchsorted(self.talk_ids, np.asarray(talk_ids, dtype=np.int64))]

    # -- building ---------------------------------------------------------------------------------------

    @classmethod
    def build(cls, talks: Iterable[IndexedTalk], analyzer: Analyzer) -> SearchIndex:
        """Analyse every talk and precompute BM25F impacts (talks may be streamed, in id order ideally)."""
        builder = _Builder(analyzer)
        for talk in talks:
            builder.add(talk)
        return builder.finish()

    def _make_dense(self) -> None:
        n = self.size
        threshold = max(64, int(n * DENSE_FRACTION))
        common = np.flatnonzero(self.df > threshold)
        most = min(MAX_DENSE_TERMS, MAX_DENSE_BYTES // (4 * max(n, 1)))
        common = common[np.argsort(-self.df[common], kind="stable")][:most]
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

    def candidates(self, term_ids: Iterable[int]) -> IntArray | None:
        """The rows that can score for these terms when they are few; None when it is cheaper to scan all."""
        spans = []
        total = 0
        for tid in term_ids:
            if tid in self.dense:
                return None
            start, end = int(self.offsets[tid]), int(self.offsets[tid + 1])
            total += end - start
            spans.append(self.post_docs[start:end])
        if total > self.size * SPARSE_TOP:
            return None
        if len(spans) == 1:
            return spans[0]
        if not spans:
            return np.zeros(0, dtype=np.int32)
        if total * 64 < self.size:  # few: sort them
            return distinct(np.concatenate(spans).astype(np.int64)).astype(np.int32)
        seen = np.zeros(self.size, dtype=np.bool_)
        for span in spans:
            seen[span] = True
        return np.flatnonzero(seen).astype(np.int32)

    def top(
        self,
        scores: FloatArray,
        k: int,
        candidates: npt.NDArray[Any] | None = None,
    ) -> list[Hit]:
        """The `k` best-scoring talks (score > 0), best first, ties by talk id.

        Selecting among 100,000 scores costs about 0.7 ms with `argpartition` (13 ms when most are zero:
        its pivoting degrades on ties), so the work is cut down first, exactly:

        - with `candidates` (the only rows that can have scored, or that the filters allow), among those;
        - otherwise, a threshold is read off a strided sample of 1 in about 100 scores: its 4th best is
          met by about 400 talks, never fewer than k in practice, and every talk of the top k scores at
          least that (when fewer than k do, all positive scores are used instead). Ranking those few
          costs a comparison over the vector and a small partition: about 0.1 ms.
        """
        if k <= 0 or self.size == 0:
            return []
        if candidates is not None:
            rows = candidates[scores[candidates] > 0]
        else:
            rows = None
            if self.size > SAMPLE_ABOVE:
                sample = scores[:: max(1, self.size // SAMPLE_SIZE)]
                pick = min(len(sample), SAMPLE_RANK)
                floor = np.partition(sample, len(sample) - pick)[len(sample) - pick]
                if floor > 0:
                    rows = np.flatnonzero(scores >= floor)
                    if len(rows) < k:
                        rows = None
            if rows is None:
                rows = np.flatnonzero(scores > 0)
        values = scores[rows]
        if len(rows) > k:
            floor = values[np.argpartition(values, len(rows) - k)[len(rows) - k :]].min()
            # Among talks tied at the cut, the lowest ids are kept, whatever order the rows came in.
            above, tied = np.flatnonzero(values > floor), np.flatnonzero(values == floor)
            if len(above) + len(tied) > k:
                tied_ids = self.talk_ids[rows[tied]]
                sorted_ids = len(tied) < 2 or bool(np.all(tied_ids[1:] > tied_ids[:-1]))
                tied = tied[: k - len(above)] if sorted_ids else tied[np.argsort(tied_ids)[: k - len(above)]]
            keep = np.concatenate([above, tied])
            rows, values = rows[keep], values[keep]
        ids = self.talk_ids[rows]
        order = np.lexsort((ids, -values))[:k]
        # One conversion of each array, not two numpy scalars per hit (75 hits: 0.15 ms -> 0.02 ms).
        return [Hit(talk_id, score) for talk_id, score in zip(ids[order].tolist(), values[order].tolist(), strict=True)]

    def idf(self, term_id: int) -> float:
        """A term's inverse document frequency."""
        df = int(self.df[term_id])
        return math.log1p((self.size - df + 0.5) / (df + 0.5))

    # -- saving -----------------------------------------------------------------------------------------

    def pack(self, packed: Packed) -> None:
        """Add the index's arrays to a blob being written."""
        packed.meta["index_format"] = FORMAT
        for name in ("talk_ids", "event_of", "first_person", "days", "df", "offsets", "post_docs", "post_weights"):
            packed.add(name, getattr(self, name))
        packed.add_texts("terms", sorted(self.terms, key=self.terms.__getitem__))
        packed.add_texts("surface", list(self.surface))
        packed.add("surface_counts", np.fromiter(self.surface.values(), dtype=np.int32, count=len(self.surface)))
        for name, groups in (("topic", self.topic_docs), ("person", self.person_docs)):
            if not isinstance(groups, Groups):
                groups = Groups.from_pairs(
                    np.repeat(np.fromiter(groups, dtype=np.int64), [len(v) for v in groups.values()]),
                    np.concatenate([np.asarray(v, dtype=np.int64) for v in groups.values()])
                    if groups
                    else np.zeros(0, dtype=np.int64),
                )
            packed.add(f"{name}_keys", groups.ids)
            packed.add(f"{name}_bounds", groups.bounds)
            packed.add(f"{name}_rows", groups.rows)

    @classmethod
    def unpack(cls, data: Unpacked) -> SearchIndex | None:
        """The index from a blob; None when the blob was written by another format version."""
        if data.meta.get("index_format") != FORMAT:
            return None
        surface_words = data.text_list("surface")
        index = cls(
            talk_ids=data.array("talk_ids"),
            event_of=data.array("event_of"),
            first_person=data.array("first_person"),
            days=data.array("days"),
            terms={t: i for i, t in enumerate(data.text_list("terms"))},
            df=data.array("df"),
            offsets=data.array("offsets"),
            post_docs=data.array("post_docs"),
            post_weights=data.array("post_weights"),
            dense={},
            surface=dict(zip(surface_words, data.array("surface_counts").tolist(), strict=True)),
            topic_docs=Groups(data.array("topic_keys"), data.array("topic_bounds"), data.array("topic_rows")),
            person_docs=Groups(data.array("person_keys"), data.array("person_bounds"), data.array("person_rows")),
        )
        index._make_dense()
        return index

    def to_bytes(self) -> bytes:
        """The index as one blob (see `bot.search.store`), for the cache table."""
        packed = Packed()
        self.pack(packed)
        return packed.to_bytes()

    @classmethod
    def from_bytes(cls, blob: bytes) -> SearchIndex | None:
        """Load a saved index; None when it was saved by another format version or is not an index."""
        try:
            data = Unpacked(blob)
        except ValueError:
            return None
        return cls.unpack(data)


class _Builder:
    """Collects talks as numbers (word ids per field), then computes the index with numpy.

    `finish` works in chunks of talks, twice: the first pass counts field lengths (for the length
    normalisation, which needs the averages) and each term's talks (to size the postings); the second
    computes BM25F sums and writes them straight into their final place. The arrays of a whole pass never
    exist at once, so building 100,000 talks peaks at the size of the finished index plus the words.

    The arithmetic is float32 in the same order as the straightforward per-talk loop it replaced, so the
    impacts are bit-for-bit those of that loop.
    """

    CHUNK = 4096  # talks per chunk

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.word_ids: dict[str, int] = {}
        self.tokens = array("i")  # word ids of every field of every talk, in order
        self.lengths = array("i")  # words per (talk, field)
        self.talk_ids = array("q")
        self.event_of = array("i")
        self.first_person = array("i")
        self.days = array("i")
        self.topic_pairs: tuple[array[int], array[int]] = (array("q"), array("q"))
        self.person_pairs: tuple[array[int], array[int]] = (array("q"), array("q"))

    def add(self, talk: IndexedTalk) -> None:
        row = len(self.talk_ids)
        texts = (
            talk.title, " ; ".join(talk.topics), " ; ".join(talk.speakers), " ; ".join(talk.organizations),
            talk.event, talk.track, talk.summary,
        )  # fmt: skip
        split = _talk_words(texts)
        if split is None:  # not plain ASCII: field by field, the careful way
            per_field = [fast_words(text) if text else [] for text in texts]
            split = [word for words in per_field for word in words], [len(words) for words in per_field]
        tokens, lengths = split
        self.lengths.extend(lengths)
        ids = self.word_ids
        known = list(map(ids.get, tokens))
        if None in known:  # words never seen before: number them
            self.tokens.extend([ids.setdefault(word, len(ids)) for word in tokens])
        else:
            self.tokens.extend(known)  # type: ignore[arg-type]  # no None in it
        self.talk_ids.append(talk.talk_id)
        self.event_of.append(talk.event_id)
        self.first_person.append(talk.person_ids[0] if talk.person_ids else -1)
        self.days.append(talk.day)
        for pairs, keys in ((self.topic_pairs, talk.topic_ids), (self.person_pairs, talk.person_ids)):
            pairs[0].extend(keys)
            pairs[1].extend([row] * len(keys))

    def finish(self) -> SearchIndex:
        n, nf = len(self.talk_ids), len(FIELDS)
        words = list(self.word_ids)
        tokens = _view(self.tokens, np.int32)
        lengths = _view(self.lengths, np.int32)
        ends = np.cumsum(lengths, dtype=np.int64)  # where each (talk, field) segment's words end

        # What each word stands for alone: a stem, a synonym's terms, nothing for a stop word.
        term_ids: dict[str, int] = {}
        first_term = np.full(len(words), -1, dtype=np.int32)
        more_terms: dict[int, list[int]] = {}
        phrase_start = np.zeros(len(words), dtype=np.bool_)
        for w, word in enumerate(words):
            alone, longer = self.analyzer.word_table(word)
            ids = [term_ids.setdefault(t, len(term_ids)) for t in alone]
            if ids:
                first_term[w] = ids[0]
            if len(ids) > 1:
                more_terms[w] = ids[1:]
            phrase_start[w] = longer

        # Phrases ("service mesh") replace their words; synonyms implying more terms add them.
        consumed = np.zeros(len(tokens), dtype=np.bool_)
        extra = self._phrases(words, tokens, ends, phrase_start, consumed, term_ids)
        if more_terms:
            several = np.zeros(len(words), dtype=np.bool_)
            several[list(more_terms)] = True
            at = np.flatnonzero(several[tokens] & ~consumed)
            for position, segment in zip(_items(at), _items(np.searchsorted(ends, at, side="right")), strict=True):
                ids = more_terms[self.tokens[position]]
                extra[0].extend([segment] * len(ids))
                extra[1].extend(ids)
        extra_segments = _view(extra[0], np.int64)
        extra_terms = _view(extra[1], np.int32)
        order = np.argsort(extra_segments, kind="stable")
        extra_segments, extra_terms = extra_segments[order], extra_terms[order]
        del extra, order

        found = _Occurrences(tokens, lengths, ends, first_term, consumed, extra_segments, extra_terms, nf)
        del tokens, consumed, extra_segments, extra_terms

        # Pass 1: field lengths, each term's number of talks, each word's number of talks.
        field_lengths = np.zeros(n * nf, dtype=np.int64)
        df = np.zeros(len(term_ids), dtype=np.int64)
        used = np.zeros(len(words), dtype=np.int64)
        row_tokens = lengths.reshape(n, nf).sum(axis=1) if n else np.zeros(0, dtype=np.int64)
        for r0 in range(0, n, self.CHUNK):
            r1 = min(n, r0 + self.CHUNK)
            segments, terms = found.chunk(r0, r1)
            field_lengths[r0 * nf : r1 * nf] = np.bincount(segments - r0 * nf, minlength=(r1 - r0) * nf)
            pairs = distinct(terms.astype(np.int64) * (r1 - r0) + (segments // nf - r0))
            df += np.bincount(pairs // (r1 - r0), minlength=len(term_ids))
            rows = np.repeat(np.arange(r1 - r0, dtype=np.int64), row_tokens[r0:r1])
            talk_words = distinct(rows * len(words) + found.words(r0, r1)) % max(len(words), 1)
            used += np.bincount(talk_words, minlength=len(words))

        # Length normalisation per (talk, field), as float32 as the per-talk loop computed it.
        by_field = np.ascontiguousarray(field_lengths.reshape(n, nf).T.astype(np.float32))
        per_segment = np.empty((nf, n), dtype=np.float32)
        for f, name in enumerate(FIELDS):
            average = float(by_field[f].mean()) if n else 1.0
            b = FIELD_B[name]
            relative = by_field[f] / np.float32(average) if average else np.ones(n, dtype=np.float32)
            per_segment[f] = np.float32(FIELD_WEIGHTS[name]) / (np.float32(1.0 - b) + np.float32(b) * relative)
        weights = np.ascontiguousarray(per_segment.T).ravel()  # by segment: talk * nf + field
        del by_field, per_segment

        # Final term ids follow the terms' alphabetical order, whatever order talks came in.
        names = sorted(term_ids, key=term_ids.__getitem__)
        kept = sorted((names[t], t) for t in np.flatnonzero(df).tolist())
        remap = np.full(len(names), -1, dtype=np.int64)
        remap[[t for _, t in kept]] = np.arange(len(kept))
        talks_of = df[[t for _, t in kept]].astype(np.int32)
        offsets = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(talks_of, out=offsets[1:])

        # Pass 2: BM25F sums per (term, talk), written into each term's postings in talk order.
        post_docs = np.empty(int(offsets[-1]), dtype=np.int32)
        tf = np.empty(int(offsets[-1]), dtype=np.float32)
        cursor = offsets[:-1].copy()
        for r0 in range(0, n, self.CHUNK):
            r1 = min(n, r0 + self.CHUNK)
            segments, terms = found.chunk(r0, r1)
            span = r1 - r0
            keys = (remap[terms] * span + (segments // nf - r0)) * nf + segments % nf
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            first = _starts(keys)
            counts = np.diff(np.append(first, len(keys))).astype(np.float32)
            contributions = weights[segments[order][first]] * counts  # weight * count, field by field
            pair_keys = keys[first] // nf
            pair_first = _starts(pair_keys)
            # Summed field by field in order (reduceat pairs them differently, off by a rounding).
            pair_sizes = np.diff(np.append(pair_first, len(first)))
            sums = contributions[pair_first]
            for k in range(1, nf):
                more = np.flatnonzero(pair_sizes > k)
                if not len(more):
                    break
                sums[more] += contributions[pair_first[more] + k]
            pair_keys = pair_keys[pair_first]
            term_of, row_of = pair_keys // span, pair_keys % span + r0
            group = _starts(term_of)
            sizes = np.diff(np.append(group, len(term_of)))
            rank = np.arange(len(term_of)) - np.repeat(group, sizes)
            where = cursor[term_of] + rank
            post_docs[where] = row_of
            tf[where] = sums
            cursor[term_of[group]] += sizes

        del found
        self.tokens = array("i")  # the words are no longer needed: free them before the last step

        # Impacts, computed in place over blocks of terms: idf * tf * (k1 + 1) / (tf + k1), in float32.
        idf = np.log1p((n - talks_of + 0.5) / (talks_of + 0.5)).astype(np.float32)
        impacts = tf
        count = len(offsets) - 1
        cuts = np.searchsorted(offsets, np.arange(1 << 20, int(offsets[-1]), 1 << 20)).tolist()
        block = sorted({0, count, *(min(c, count) for c in cuts)})
        for t0, t1 in itertools.pairwise(block):
            a, b = int(offsets[t0]), int(offsets[t1])
            if b <= a:
                continue
            part = np.repeat(idf[t0:t1], talks_of[t0:t1])
            part *= tf[a:b]
            part *= np.float32(K1 + 1)
            tf[a:b] += np.float32(K1)
            part /= tf[a:b]
            impacts[a:b] = part

        index = SearchIndex(
            talk_ids=_view(self.talk_ids, np.int64).copy(),
            event_of=_view(self.event_of, np.int32).copy(),
            first_person=_view(self.first_person, np.int32).copy(),
            days=_view(self.days, np.int32).copy(),
            terms={name: i for i, (name, _) in enumerate(kept)},
            df=talks_of,
            offsets=offsets,
            post_docs=post_docs,
            post_weights=impacts,
            dense={},
            surface={word: c for word, c in zip(words, used.tolist(), strict=True) if c},
            topic_docs=Groups.from_pairs(_view(self.topic_pairs[0], np.int64), _view(self.topic_pairs[1], np.int64)),
            person_docs=Groups.from_pairs(_view(self.person_pairs[0], np.int64), _view(self.person_pairs[1], np.int64)),
        )
        index._make_dense()
        return index

    def _phrases(
        self,
        words: list[str],
        tokens: IntArray,
        ends: npt.NDArray[np.int64],
        phrase_start: npt.NDArray[np.bool_],
        consumed: npt.NDArray[np.bool_],
        term_ids: dict[str, int],
    ) -> tuple[array[int], array[int]]:
        """Find phrases of several words, mark their words `consumed`, return their segments and terms."""
        extra: tuple[array[int], array[int]] = (array("q"), array("i"))
        at = np.flatnonzero(phrase_start[tokens])
        if not len(at):
            return extra
        segments = np.searchsorted(ends, at, side="right")
        options: dict[int, list[tuple[int, array[int], list[int]]]] = {}
        for w in np.unique(tokens[at]).tolist():
            found = []
            for length, phrase_words, terms in self.analyzer.phrases_from(words[w]):
                phrase_ids = [self.word_ids.get(p, -1) for p in phrase_words]
                if -1 not in phrase_ids:
                    ids = [term_ids.setdefault(t, len(term_ids)) for t in terms]
                    found.append((length, array("i", phrase_ids), ids))
            options[w] = found
        buffer = self.tokens
        skip_until = -1
        # Walked as `array`s: lists of a million Python ints would cost 70 MB here.
        for position, segment in zip(_items(at), _items(segments), strict=True):
            if position < skip_until:
                continue
            end = int(ends[segment])
            for length, phrase, ids in options[buffer[position]]:
                if position + length <= end and buffer[position : position + length] == phrase:
                    consumed[position : position + length] = True
                    extra[0].extend([segment] * len(ids))
                    extra[1].extend(ids)
                    skip_until = position + length
                    break
        return extra


_WORD_OR_BREAK = re.compile(r"[^\W_]+|\x01")


def _talk_words(texts: Sequence[str]) -> tuple[list[str], list[int]] | None:
    r"""The words of a talk's fields in one regex pass, and the number in each field; None unless ASCII.

    Seven `findall` calls per talk cost twice the tokenising itself; joined by a separator that is
    its own match (\x01, which no word contains), one call does, and the separators give the fields'
    lengths.
    """
    joined = "\x01".join(texts)
    if not joined.isascii() or joined.count("\x01") != len(texts) - 1:
        return None
    tokens = _WORD_OR_BREAK.findall(joined.lower())
    breaks = []
    at = -1
    for _ in range(len(texts) - 1):
        at = tokens.index("\x01", at + 1)
        breaks.append(at)
    lengths = []
    previous = -1
    for at in breaks:
        lengths.append(at - previous - 1)
        previous = at
    lengths.append(len(tokens) - previous - 1)
    for at in reversed(breaks):
        del tokens[at]
    return tokens, lengths


def _view(values: array[int], dtype: type[np.int32] | type[np.int64]) -> npt.NDArray[Any]:
    """An `array`'s items as a numpy array (no copy)."""
    return np.frombuffer(values, dtype=dtype) if len(values) else np.zeros(0, dtype=dtype)


@dataclass(slots=True)
class _Occurrences:
    """Every term occurrence by (talk, field) segment, computed for a chunk of talks at a time."""

    tokens: IntArray  # word ids, all fields of all talks in order
    lengths: IntArray  # words per segment
    ends: npt.NDArray[np.int64]  # where each segment's words end
    first_term: IntArray  # word id -> its (first) term, -1 for none
    consumed: npt.NDArray[np.bool_]  # words that are part of a phrase
    extra_segments: npt.NDArray[np.int64]  # phrases' and synonyms' further terms: their segments...
    extra_terms: IntArray  # ...and terms, in segment order
    fields: int

    def _span(self, r0: int, r1: int) -> tuple[int, int]:
        s0, s1 = r0 * self.fields, r1 * self.fields
        return (int(self.ends[s0 - 1]) if s0 else 0), (int(self.ends[s1 - 1]) if s1 else 0)

    def words(self, r0: int, r1: int) -> IntArray:
        """The word ids of talks r0..r1."""
        a, b = self._span(r0, r1)
        return self.tokens[a:b]

    def chunk(self, r0: int, r1: int) -> tuple[npt.NDArray[np.int64], IntArray]:
        """The (segment, term) of every term occurrence in talks r0..r1, in segment order."""
        s0, s1 = r0 * self.fields, r1 * self.fields
        a, b = self._span(r0, r1)
        segments = np.repeat(np.arange(s0, s1, dtype=np.int64), self.lengths[s0:s1])
        terms = self.first_term[self.tokens[a:b]]
        keep = (terms >= 0) & ~self.consumed[a:b]
        e0, e1 = np.searchsorted(self.extra_segments, [s0, s1]).tolist()
        segments = np.concatenate([segments[keep], self.extra_segments[e0:e1]])
        terms = np.concatenate([terms[keep], self.extra_terms[e0:e1]])
        order = np.argsort(segments, kind="stable")
        return segments[order], terms[order]


def _items(values: npt.NDArray[Any]) -> array[int]:
    """Integers to iterate over, 8 bytes each rather than a Python int each."""
    out = array("q")
    out.frombytes(np.ascontiguousarray(values, dtype=np.int64).tobytes())
    return out


def _starts(sorted_keys: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """Where each run of equal values begins in a sorted array."""
    if not len(sorted_keys):
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])


def distinct(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The distinct values, sorted (numpy's `unique` hashes, several times slower on millions of ints)."""
    values = np.sort(values)
    return values[_starts(values)]
