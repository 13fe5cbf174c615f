"""Finding people by any part of their name: case, accents and typos forgiven, best match first."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.text import name_key, words
from bot.search.fuzzy import Corrector

_PREFIX_CAP = 64  # name words examined per typed prefix; keeps one-letter prefixes cheap


@dataclass(frozen=True, slots=True)
class PersonEntry:
    """A person as the name index knows them."""

    person_id: int
    slug: str
    name: str
    talks: int


@dataclass(frozen=True, slots=True)
class PersonMatch:
    """A person matching a query, with how well."""

    person: PersonEntry
    score: float


class PeopleIndex:
    """Name words to people, with prefix and typo-tolerant matching."""

    def __init__(self, people: Sequence[PersonEntry]) -> None:
        self.people = list(people)
        self.by_slug = {person.slug: person for person in self.people}
        self._by_word: dict[str, list[int]] = {}
        self._keys: list[str] = []
        for position, person in enumerate(self.people):
            key = name_key(person.name)
            self._keys.append(key)
            for word in set(key.split()):
                self._by_word.setdefault(word, []).append(position)
        self._sorted_words = sorted(self._by_word)
        self._corrector = Corrector({w: len(p) for w, p in self._by_word.items()})

    def __len__(self) -> int:
        return len(self.people)

    def _word_matches(self, token: str, *, last: bool) -> dict[int, float]:
        """People whose name has a word equal to, starting with, or a typo away from `token`."""
        found: dict[int, float] = {}
        for position in self._by_word.get(token, ()):
            found[position] = 3.0
        if last or len(token) >= 3:
            start = bisect_left(self._sorted_words, token)
            for word in self._sorted_words[start : start + _PREFIX_CAP]:
                if not word.startswith(token):
                    break
                if word != token:
                    for position in self._by_word[word]:
                        found.setdefault(position, 2.0)
        for edits, word in self._corrector.candidates(token):
            for position in self._by_word[word]:
                found.setdefault(position, 1.5 - 0.25 * edits)
        return found

    def lookup(self, query: str, limit: int = 10) -> list[PersonMatch]:
        """People matching every typed word (or, failing that, most of them), best first."""
        tokens = list(dict.fromkeys(words(query)))[:8]
        if not tokens:
            return []
        per_token = [self._word_matches(t, last=i == len(tokens) - 1) for i, t in enumerate(tokens)]
        totals: dict[int, float] = {}
        hits: dict[int, int] = {}
        for matches in per_token:
            for position, score in matches.items():
                totals[position] = totals.get(position, 0.0) + score
                hits[position] = hits.get(position, 0) + 1
        if not totals:
            return []
        best_hits = max(hits.values())
        if best_hits < len(tokens) and len(tokens) > 1 and best_hits < (len(tokens) + 1) // 2:
            return []
        typed = " ".join(tokens)
        ranked = []
        for position, total in totals.items():
            if hits[position] != best_hits:
                continue
            exact = 2.0 if self._keys[position] == typed else 0.0
            ranked.append((total + exact, position))
        ranked.sort(key=lambda item: (-item[0], -self.people[item[1]].talks, self._keys[item[1]], item[1]))
        return [PersonMatch(self.people[p], score) for score, p in ranked[:limit]]

    def nearest_names(self, query: str, limit: int = 5) -> list[str]:
        """Names close to a query that matched nobody, for 'did you mean'."""
        names: list[str] = []
        for token in words(query):
            for _, word in self._corrector.candidates(token)[:3]:
                for position in self._by_word[word][:2]:
                    if self.people[position].name not in names:
                        names.append(self.people[position].name)
        return names[:limit]
