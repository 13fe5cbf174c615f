"""Autocomplete over labels (talk titles, names, topics, events): prefix and in-word matches, best first.

Runs on every keystroke, so lookups are binary searches: every word start of every label is kept in
one array sorted by the text that follows it, so "what starts a word with 'tap t'" is two bisections,
whatever the number of labels. Only when those give too few answers does it look further.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.domain.text import clean_line, fold

MAX_CHOICES = 25
MAX_LABEL = 100
_SCAN_CAP = 400  # candidates examined in a group before ranking; keeps the worst case bounded


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One autocomplete choice: a stable key and the label to show (at most 100 characters)."""

    key: str
    label: str


def clip(text: str, limit: int = MAX_LABEL) -> str:
    """Shorten a label to `limit` characters, marking the cut with an ellipsis."""
    text = clean_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class Completer:
    """Suggests labels for what has been typed so far."""

    def __init__(self, entries: Sequence[tuple[str, str, float]]) -> None:
        """`entries` are (key, label, weight); a higher weight ranks first among equal matches."""
        self.keys = [key for key, _, _ in entries]
        self.labels = [clip(label) for _, label, _ in entries]
        self.folded = [" ".join(fold(label).split()) for _, label, _ in entries]
        self.weights = [weight for _, _, weight in entries]
        self._rank = sorted(
            range(len(entries)), key=lambda i: (-self.weights[i], self.folded[i], self.keys[i])
        )
        starts: list[tuple[str, int, int]] = []
        for i, text in enumerate(self.folded):
            for offset in _word_starts(text):
                starts.append((text[offset : offset + 48], i, offset))
        starts.sort()
        self._doc = np.array([d for _, d, _ in starts], dtype=np.int32)
        self._off = np.array([o for _, _, o in starts], dtype=np.int32)
        self._blob = "\n".join(self.folded)
        self._line_starts = np.cumsum([0] + [len(text) + 1 for text in self.folded[:-1]]).tolist()

    def __len__(self) -> int:
        return len(self.keys)

    def _range(self, prefix: str) -> tuple[int, int]:
        docs, offs, folded, size = self._doc, self._off, self.folded, len(prefix)

        def key(i: int) -> str:
            text: str = folded[docs[i]]
            return text[offs[i] : offs[i] + size]

        positions = range(len(docs))
        return bisect_left(positions, prefix, key=key), bisect_right(positions, prefix, key=key)

    def suggest(self, typed: str, limit: int = MAX_CHOICES) -> list[Suggestion]:
        """Best matches first: label starts with the text, a word does, all words do, it appears inside."""
        limit = max(0, min(limit, MAX_CHOICES))
        query = " ".join(fold(typed).split())[:MAX_LABEL]
        if not query:
            return [Suggestion(self.keys[i], self.labels[i]) for i in self._rank[:limit]]
        chosen: dict[int, tuple[int, float, int, str]] = {}

        def offer(i: int, group: int) -> None:
            if i not in chosen:
                chosen[i] = (group, -self.weights[i], len(self.folded[i]), self.folded[i])

        low, high = self._range(query)
        for position in range(low, min(high, low + _SCAN_CAP)):
            doc = int(self._doc[position])
            offer(doc, 0 if self._off[position] == 0 else 1)
        tokens = query.split()
        if len(chosen) < limit and len(tokens) > 1:
            self._all_words(tokens, offer)
        if len(chosen) < limit:
            self._inside(query, offer, limit - len(chosen))
        ranked = sorted(chosen, key=lambda i: (*chosen[i], self.keys[i]))[:limit]
        return [Suggestion(self.keys[i], self.labels[i]) for i in ranked]

    def _all_words(self, tokens: list[str], offer: Callable[[int, int], None]) -> None:
        rarest = min(tokens, key=lambda t: (lambda r: r[1] - r[0])(self._range(t)))
        low, high = self._range(rarest)
        for position in range(low, min(high, low + _SCAN_CAP)):
            doc = int(self._doc[position])
            starts = [self.folded[doc][o:] for o in _word_starts(self.folded[doc])]
            if all(any(s.startswith(t) for s in starts) for t in tokens):
                offer(doc, 2)

    def _inside(self, query: str, offer: Callable[[int, int], None], wanted: int) -> None:
        blob, start, found = self._blob, 0, 0
        while found < wanted:
            at = blob.find(query, start)
            if at < 0:
                return
            offer(bisect_right(self._line_starts, at) - 1, 3)
            found += 1
            start = blob.find("\n", at)
            if start < 0:
                return


def _word_starts(text: str) -> list[int]:
    """Offsets where a word begins: the start, and after any character that is not a letter or digit."""
    return [i for i, c in enumerate(text) if c.isalnum() and (i == 0 or not text[i - 1].isalnum())]
