"""Autocomplete over labels (talk titles, names, topics, events): prefix and in-word matches, best first.

Runs on every keystroke, so lookups are binary searches. All labels, folded, are kept in one string
(one line each), and every word start of every label in one array sorted by the text that follows it,
so "what starts a word with 'tap t'" is two bisections, whatever the number of labels. Only when those
give too few answers does it look further: labels holding every typed word as a word start, then
labels holding the typed text anywhere, found through the distinct words of all labels (a few hundred
kilobytes to scan, not the megabytes of every title).

For 100,000 titles that is about 25 MB, and it is saved with the search index: sorting the 800,000 word
starts takes a second, reading them back takes milliseconds.
"""

from __future__ import annotations

import heapq
import itertools
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.domain.text import clean_line
from bot.search.analysis import fast_fold
from bot.search.store import Packed, Unpacked

MAX_CHOICES = 25
MAX_LABEL = 100
_SCAN_CAP = 400  # candidates examined in a group before ranking; keeps the worst case bounded
_INSIDE_CAP = 2000  # labels examined for in-word matches
_WORD_START = re.compile(r"(?<![^\W_])[^\W_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One autocomplete choice: a stable key and the label to show (at most 100 characters)."""

    key: str
    label: str


def clip(text: str, limit: int = MAX_LABEL) -> str:
    """Shorten a label to `limit` characters, marking the cut with an ellipsis."""
    text = clean_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _folded(label: str) -> str:
    # Control characters would sort below the line break that ends each label; they are spaces here.
    return " ".join(_CONTROL.sub(" ", fast_fold(label)).split())


class _Texts:
    """Many strings kept as one, with their bounds; item i is a slice made on demand."""

    def __init__(self, joined: str, bounds: npt.NDArray[np.int64]) -> None:
        self.joined = joined
        self.bounds = _int_array(bounds)

    @classmethod
    def of(cls, items: Sequence[str]) -> _Texts:
        bounds = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in items], out=bounds[1:])
        return cls("".join(items), bounds)

    def __getitem__(self, i: int) -> str:
        return self.joined[self.bounds[i] : self.bounds[i + 1]]

    def __len__(self) -> int:
        return len(self.bounds) - 1


class Completer:
    """Suggests labels for what has been typed so far."""

    def __init__(self, entries: Iterable[tuple[str, str, float]] = ()) -> None:
        """`entries` are (key, label, weight); a higher weight ranks first among equal matches.

        They are read once, so they may be streamed (from a database cursor, say).
        """
        key_list: list[str] = []
        label_list: list[str] = []
        folded: list[str] = []
        weight_list: list[float] = []
        for key, label, weight in entries:
            key_list.append(key)
            label_list.append(clip(label))
            folded.append(_folded(label))
            weight_list.append(weight)
        keys, labels = _Texts.of(key_list), _Texts.of(label_list)
        weights = np.array(weight_list, dtype=np.float64)
        del key_list, label_list, weight_list
        blob = "\n".join(folded)
        line_starts = np.zeros(len(folded), dtype=np.int64)
        if folded:
            np.cumsum([len(text) + 1 for text in folded[:-1]], out=line_starts[1:])
        rank = _best(weights, folded, keys)
        words = _distinct_words(folded)
        del folded  # 10 MB at 100,000 titles: gone before the word starts are sorted
        self._set(
            keys=keys,
            labels=labels,
            blob=blob,
            line_starts=line_starts,
            weights=weights,
            starts=_sorted_word_starts(blob),
            rank=rank,
            words=words,
        )

    def _set(
        self,
        *,
        keys: _Texts,
        labels: _Texts,
        blob: str,
        line_starts: npt.NDArray[np.int64],
        weights: npt.NDArray[np.float64],
        starts: npt.NDArray[np.int32] | npt.NDArray[np.int64],
        rank: list[int],
        words: tuple[str, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32]],
    ) -> None:
        self._keys, self._labels, self._blob = keys, labels, blob
        self._line_starts = line_starts
        self._lines = _int_array(line_starts)
        self._weights = weights
        self._starts = starts
        self._rank = rank
        self._words_blob, self._word_lines, self._word_bounds, self._word_docs = words

    # -- saving -------------------------------------------------------------------------------------------

    def pack(self, packed: Packed, name: str) -> None:
        """Add this completer to a blob being written, under `name`."""
        for part, texts in (("keys", self._keys), ("labels", self._labels)):
            packed.add(f"{name}.{part}.text", _utf8(texts.joined))
            packed.add(f"{name}.{part}.bounds", np.frombuffer(texts.bounds, dtype=np.int64))
        packed.add(f"{name}.blob.text", _utf8(self._blob))
        packed.add(f"{name}.line_starts", self._line_starts)
        packed.add(f"{name}.weights", self._weights)
        packed.add(f"{name}.starts", self._starts)
        packed.add(f"{name}.rank", np.array(self._rank, dtype=np.int64))
        packed.add(f"{name}.words.text", _utf8(self._words_blob))
        packed.add(f"{name}.word_lines", self._word_lines)
        packed.add(f"{name}.word_bounds", self._word_bounds)
        packed.add(f"{name}.word_docs", self._word_docs)

    @classmethod
    def unpack(cls, data: Unpacked, name: str) -> Completer:
        """A completer from a blob written by `pack`."""
        completer = cls.__new__(cls)
        completer._set(
            keys=_Texts(*data.texts(f"{name}.keys")),
            labels=_Texts(*data.texts(f"{name}.labels")),
            blob=data.text(f"{name}.blob.text"),
            line_starts=data.array(f"{name}.line_starts"),
            weights=data.array(f"{name}.weights"),
            starts=data.array(f"{name}.starts"),
            rank=data.array(f"{name}.rank").tolist(),
            words=(
                data.text(f"{name}.words.text"),
                data.array(f"{name}.word_lines"),
                data.array(f"{name}.word_bounds"),
                data.array(f"{name}.word_docs"),
            ),
        )
        return completer

    # -- suggesting -----------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._keys)

    def _folded_label(self, i: int) -> str:
        end = self._lines[i + 1] - 1 if i + 1 < len(self._lines) else len(self._blob)
        return self._blob[self._lines[i] : end]

    def _range(self, prefix: str) -> tuple[int, int]:
        blob, starts, size = self._blob, self._starts, len(prefix)

        def key(i: int) -> str:
            at = int(starts[i])
            return blob[at : at + size]

        positions = range(len(starts))
        return bisect_left(positions, prefix, key=key), bisect_right(positions, prefix, key=key)

    def _docs(self, positions: npt.NDArray[np.int32] | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.searchsorted(self._line_starts, positions, side="right") - 1

    def suggest(self, typed: str, limit: int = MAX_CHOICES) -> list[Suggestion]:
        """Best matches first: label starts with the text, a word does, all words do, it appears inside."""
        limit = max(0, min(limit, MAX_CHOICES))
        query = _folded(typed)[:MAX_LABEL]
        if not query:
            return [Suggestion(self._keys[i], self._labels[i]) for i in self._rank[:limit]]
        chosen: dict[int, tuple[int, float, int, str]] = {}

        def offer(i: int, group: int) -> None:
            if i not in chosen:
                folded = self._folded_label(i)
                chosen[i] = (group, -float(self._weights[i]), len(folded), folded)

        low, high = self._range(query)
        positions = self._starts[low : min(high, low + _SCAN_CAP)]
        docs = self._docs(positions)
        for position, doc in zip(positions.tolist(), docs.tolist(), strict=True):
            offer(doc, 0 if position == self._lines[doc] else 1)
        tokens = query.split()
        if len(chosen) < limit and len(tokens) > 1:
            self._all_words(tokens, offer)
        if len(chosen) < limit:
            self._inside(query, offer, limit - len(chosen))
        ranked = sorted(chosen, key=lambda i: (*chosen[i], self._keys[i]))[:limit]
        return [Suggestion(self._keys[i], self._labels[i]) for i in ranked]

    def _all_words(self, tokens: list[str], offer: Callable[[int, int], None]) -> None:
        if not all(t[0].isalnum() for t in tokens):
            return  # a word start is a letter or digit: a token beginning otherwise starts no word
        ranges = {t: self._range(t) for t in tokens}
        rarest = min(tokens, key=lambda t: ranges[t][1] - ranges[t][0])
        low, high = ranges[rarest]
        others = [re.compile(r"(?<![^\W_])" + re.escape(t)) for t in tokens if t != rarest]
        docs = self._docs(self._starts[low : min(high, low + _SCAN_CAP)])
        for doc in dict.fromkeys(docs.tolist()):
            text = self._folded_label(doc)
            if all(pattern.search(text) for pattern in others):
                offer(doc, 2)

    def _inside(self, query: str, offer: Callable[[int, int], None], wanted: int) -> None:
        """Labels holding `query` anywhere, not only at a word start.

        Several words: whatever follows the first space starts a word, so the word-start index finds
        those places and each is checked for the first word's end before it. One word (or a query
        whose second word starts with punctuation): through the distinct words holding it.
        """
        first, space, rest = query.partition(" ")
        if space and rest[0].isalnum():
            low, high = self._range(rest)
            blob = self._blob
            found = 0
            for position in self._starts[low : min(high, low + _INSIDE_CAP)].tolist():
                before = position - 1 - len(first)
                if before >= 0 and blob[before : position - 1] == first and blob[position - 1] == " ":
                    offer(int(self._docs(np.array([position]))[0]), 3)
                    found += 1
                    if found >= wanted:
                        return
            return
        longest = max(query.split(), key=len)
        words, found, start, examined = self._words_blob, 0, 0, 0
        seen: set[int] = set()
        while found < wanted and examined < _INSIDE_CAP:
            at = words.find(longest, start)
            if at < 0:
                return
            word = int(np.searchsorted(self._word_lines, at, side="right")) - 1
            start = int(self._word_lines[word + 1]) if word + 1 < len(self._word_lines) else len(words)
            for doc in self._word_docs[self._word_bounds[word] : self._word_bounds[word + 1]].tolist():
                if doc in seen:
                    continue
                seen.add(doc)
                examined += 1
                if query in self._folded_label(doc):
                    offer(doc, 3)
                    found += 1
                    if found >= wanted or examined >= _INSIDE_CAP:
                        return


def _best(weights: npt.NDArray[np.float64], folded: Sequence[str], keys: _Texts) -> list[int]:
    """What an empty query suggests: the heaviest labels, then alphabetical."""
    return heapq.nsmallest(MAX_CHOICES, range(len(folded)), key=lambda i: (-weights[i], folded[i], keys[i]))


def _sorted_word_starts(blob: str) -> npt.NDArray[np.int32] | npt.NDArray[np.int64]:
    """Every word start, sorted by the text that follows it (to its line's end, at most a query's length).

    Ties go by position. Sorted bucket by bucket (first character): only one bucket's keys exist at
    once, a tenth of the 80 MB that sorting all 800,000 starts of 100,000 titles at once would take.
    """
    starts = np.fromiter((m.start() for m in _WORD_START.finditer(blob)), dtype=np.int64)
    if blob.isascii():
        heads = np.frombuffer(blob.encode("ascii"), dtype=np.uint8)[starts]
    else:
        heads = np.fromiter((ord(blob[p]) for p in starts.tolist()), dtype=np.int64, count=len(starts))
    order = np.argsort(heads, kind="stable")
    starts, heads = starts[order], heads[order]
    out: npt.NDArray[np.int32] | npt.NDArray[np.int64]
    out = np.empty(len(starts), dtype=np.int32) if len(blob) < 2**31 else np.empty(len(starts), dtype=np.int64)
    edges = _runs(heads)
    for a, b in itertools.pairwise(edges):
        bucket = starts[a:b].tolist()
        bucket.sort(key=lambda p: (_suffix(blob, p), p))
        out[a:b] = bucket
    return out


def _runs(values: npt.NDArray[np.int64] | npt.NDArray[np.uint8]) -> list[int]:
    """Where each run of equal values begins in a sorted array, then its length."""
    if not len(values):
        return [0]
    return [0, *(np.flatnonzero(values[1:] != values[:-1]) + 1).tolist(), len(values)]


def _suffix(blob: str, at: int) -> str:
    end = blob.find("\n", at, at + MAX_LABEL)
    return blob[at : end if end >= 0 else at + MAX_LABEL]


def _distinct_words(
    folded: Sequence[str],
) -> tuple[str, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """The distinct space-separated words of all labels (one per line) and, per word, the labels using it."""
    ids: dict[str, int] = {}
    pair_words = array("i")
    pair_docs = array("i")
    for doc, text in enumerate(folded):
        found = [ids.setdefault(word, len(ids)) for word in dict.fromkeys(text.split())]
        pair_words.extend(found)
        pair_docs.extend([doc] * len(found))
    vocabulary = list(ids)
    blob = "\n".join(vocabulary)
    lines = np.zeros(len(vocabulary), dtype=np.int64)
    if vocabulary:
        np.cumsum([len(w) + 1 for w in vocabulary[:-1]], out=lines[1:])
    words = np.frombuffer(pair_words, dtype=np.int32) if pair_words else np.zeros(0, dtype=np.int32)
    docs = np.frombuffer(pair_docs, dtype=np.int32) if pair_docs else np.zeros(0, dtype=np.int32)
    order = np.argsort(words, kind="stable")  # docs stay ascending within a word
    bounds = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    np.cumsum(np.bincount(words, minlength=len(vocabulary)), out=bounds[1:])
    return blob, lines, bounds, docs[order]


def _int_array(values: npt.NDArray[np.int64]) -> array[int]:
    """Integers in an `array`: 8 bytes each, and indexing gives plain ints (a list costs 36 bytes each)."""
    out = array("q")
    out.frombytes(np.ascontiguousarray(values, dtype=np.int64).tobytes())
    return out


def _utf8(text: str) -> npt.NDArray[np.uint8]:
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
