"""Turning text into search terms: folding, the field's vocabulary (synonyms), stop words, stemming."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import snowballstemmer

from bot.data import VOCABULARY
from bot.domain.text import fold, words
from bot.errors import ConfigError

VOCABULARY_FILE = VOCABULARY
VOCABULARY_ENV = "BOT_VOCABULARY"  # a vocabulary file of one's own, used instead of the bundled one
# Bump when the way text becomes terms changes in code, so that indexes saved by older versions are rebuilt.
ANALYSIS_VERSION = 3


_WORD = re.compile(r"[^\W_]+")


def fast_fold(text: str) -> str:
    """`bot.domain.text.fold`, with a shortcut for plain ASCII (most text), where folding is lower-casing.

    Folding decomposes every character and drops accents one by one; for ASCII text nothing decomposes,
    no character is invisible or has an extra fold, and casefold equals lower, so the result is the
    same at a thirtieth of the cost (100,000 titles: 16 ms instead of 0.5 s).
    """
    return text.lower() if text.isascii() else fold(text)


def fast_words(text: str) -> list[str]:
    """`bot.domain.text.words` with the ASCII shortcut of `fast_fold`."""
    return _WORD.findall(text.lower()) if text.isascii() else words(text)


@dataclass(frozen=True, slots=True)
class TopicGroup:
    """A broad topic and the narrower topics it takes in (which may be broad topics in turn)."""

    name: str
    narrower: tuple[str, ...]
    each: str = ""  # how one of its narrower topics is described in a result: "a service mesh"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Synonym groups (phrase -> the terms it stands for), stop words, and broader and narrower topics."""

    phrases: dict[tuple[str, ...], tuple[str, ...]]
    stopwords: frozenset[str]
    topics: tuple[TopicGroup, ...] = ()

    @classmethod
    def load(cls, path: Path = VOCABULARY_FILE) -> Vocabulary:
        """Read a vocabulary file (the bundled one is bot/data/vocabulary.toml, which describes the format)."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
            for group in data.get("synonyms", []):
                terms = [tuple(words(term)) for term in group["terms"]]
                canonical = "".join(terms[0])
                implied = tuple("".join(words(term)) for term in group.get("implies", []))
                for term in terms:
                    phrases[term] = (canonical, *implied)
            groups = tuple(
                TopicGroup(str(g["name"]), tuple(str(n) for n in g["narrower"]), str(g.get("each", "")))
                for g in data.get("topics", [])
            )
            return cls(phrases, frozenset(data.get("stopwords", [])), groups)
        except OSError as exc:
            raise ConfigError(f"Cannot read the vocabulary file {path}: {exc.strerror}.") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"The vocabulary file {path} is not valid TOML: {exc}.") from exc
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"The vocabulary file {path} does not have the bundled file's shape ([[synonyms]] with terms)."
            ) from exc


_STEMS: dict[str, str] = {}  # word -> its English stem, whoever asks; stemming depends on nothing else


def known_stems() -> dict[str, str]:
    """Every word stemmed so far in this process, with its stem (saved beside the index, see bot.search.corpus)."""
    return _STEMS


def remember_stems(words: Iterable[str], stems: Iterable[str]) -> None:
    """Take stems worked out earlier (by the process that built a saved index) instead of stemming again."""
    _STEMS.update(zip(words, stems, strict=True))


@cache
def default_vocabulary() -> Vocabulary:
    """The vocabulary in use, read once: the file `$BOT_VOCABULARY` names, else the bundled one."""
    own = os.environ.get(VOCABULARY_ENV, "").strip()
    return Vocabulary.load(Path(own).expanduser() if own else VOCABULARY_FILE)


class Analyzer:
    """Text to terms, the same way for talks and for queries, so both sides meet."""

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary or default_vocabulary()
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems = _STEMS
        phrases = self.vocabulary.phrases
        self._starts: dict[str, list[tuple[int, tuple[str, ...], tuple[str, ...]]]] = {}
        for phrase, (canonical, *implied) in phrases.items():
            # An implied term must be spelled as the text it stands for is: a group's canonical term when
            # it names a group ("observability"), else its stem ("education" -> "educ"), or it matches nothing.
            terms = (canonical, *(self._implied(term) for term in implied))
            self._starts.setdefault(phrase[0], []).append((len(phrase), phrase, terms))
        for options in self._starts.values():
            options.sort(key=lambda option: -option[0])  # longest phrase first
        self.stopwords = self.vocabulary.stopwords
        # What talks are indexed with: the same, plus the broader topics a narrower topic's name implies.
        # Queries keep to `_starts`: a search for Linkerd is not a search for every service mesh.
        self._index_starts = {word: list(options) for word, options in self._starts.items()}
        self._imply_broader()
        self.fingerprint = self._fingerprint()

    def _imply_broader(self) -> None:
        """Index each narrower topic's name with its broader topics' terms too (talks only, not queries).

        Text about Linkerd is then found by a search for service meshes, and a talk filed under Istio by a
        search for "service mesh"; a search for Istio still finds Istio only. A name that is a synonym group's
        spelling extends every spelling of the group (Linkerd, linkerd2); any other name becomes a phrase of
        its own words' terms plus the broader ones.
        """
        groups = self.vocabulary.topics
        if not groups:
            return
        parents: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for group in groups:
            for name in group.narrower:
                parents.setdefault(tuple(fast_words(name)), []).append(tuple(fast_words(group.name)))
        own = {phrase: tuple(self.terms_of_words(list(phrase))) for phrase in parents}
        for phrase, terms in own.items():
            if not terms:
                continue
            implied: list[str] = []
            seen, queue = {phrase}, list(parents[phrase])
            while queue:  # every ancestor, nearest first; a cycle in the file stops where it closes
                parent = queue.pop(0)
                if parent not in seen:
                    seen.add(parent)
                    implied.extend(self.terms_of_words(list(parent)))
                    queue.extend(parents.get(parent, ()))
            extra = tuple(t for t in dict.fromkeys(implied) if t not in terms)
            if not extra:
                continue
            match = next((option for option in self._index_starts.get(phrase[0], ()) if option[1] == phrase), None)
            if match is not None:
                # A synonym group's spelling: every spelling of the group implies the broader terms.
                canonical = match[2][0]
                for options in self._index_starts.values():
                    for at, (length, spelling, group_terms) in enumerate(options):
                        if group_terms and group_terms[0] == canonical:
                            more = tuple(t for t in extra if t not in group_terms)
                            options[at] = (length, spelling, (*group_terms, *more))
                continue
            options = self._index_starts.setdefault(phrase[0], [])
            options.append((len(phrase), phrase, (*terms, *extra)))
            options.sort(key=lambda option: -option[0])

    def _fingerprint(self) -> str:
        """What the terms depend on, hashed: an index saved under another fingerprint is stale."""
        phrases = sorted((words_, terms) for options in self._index_starts.values() for _, words_, terms in options)
        recipe = repr((ANALYSIS_VERSION, sorted(self.vocabulary.phrases.items()), sorted(self.stopwords), phrases))
        return hashlib.sha256(recipe.encode("utf-8")).hexdigest()[:16]

    def _implied(self, term: str) -> str:
        group = self.vocabulary.phrases.get((term,))
        return group[0] if group else self.stem(term)

    def stem(self, word: str) -> str:
        """The word's stem (cached for the process: vocabularies are small, texts are long).

        Snowball in pure Python takes about 25 µs a word: a second for the 40,000 words of 100,000 talks.
        The cache is shared by every analyzer, so rebuilding the index after an import stems only new words.
        """
        stem = self._stems.get(word)
        if stem is None:
            stem = word if len(word) <= 3 or word.isdigit() else str(self._stemmer.stemWord(word))
            self._stems[word] = stem
        return stem

    def terms(self, text: str, *, keep_stopwords: bool = False) -> list[str]:
        """The text's terms in order: synonyms canonicalised, stop words dropped, words stemmed."""
        return self.terms_of_words(fast_words(text), keep_stopwords=keep_stopwords)

    def terms_of_words(self, tokens: list[str], *, keep_stopwords: bool = False) -> list[str]:
        """As `terms`, for text already split into folded words."""
        out: list[str] = []
        for terms, _, _ in self.spans(tokens, keep_stopwords=keep_stopwords):
            out.extend(terms)
        return out

    def spans(self, tokens: list[str], *, keep_stopwords: bool = False) -> list[tuple[tuple[str, ...], int, int]]:
        """Each run of words with the terms it stands for: a phrase, a stemmed word, or () for a stop word."""
        out: list[tuple[tuple[str, ...], int, int]] = []
        starts = self._starts
        stop = () if keep_stopwords else self.stopwords
        i, n = 0, len(tokens)
        while i < n:
            word = tokens[i]
            for length, phrase, terms in starts.get(word, ()):
                if tuple(tokens[i : i + length]) == phrase:
                    out.append((terms, i, i + length))
                    i += length
                    break
            else:
                out.append(((), i, i + 1) if word in stop else ((self.stem(word),), i, i + 1))
                i += 1
        return out

    def term_of_word(self, word: str) -> list[str]:
        """The terms one folded word stands for (none for a stop word)."""
        return self.terms_of_words([word])

    def unique_terms(self, texts: Iterable[str]) -> set[str]:
        """All terms of several texts."""
        found: set[str] = set()
        for text in texts:
            found.update(self.terms(text))
        return found

    def word_table(self, word: str) -> tuple[tuple[str, ...], bool]:
        """What one word stands for on its own, and whether it may start a phrase of several words."""
        options = self._index_starts.get(word, ())
        longer = any(length > 1 for length, _, _ in options)
        for length, _, terms in options:
            if length == 1:
                return terms, longer
        return (() if word in self.stopwords else (self.stem(word),)), longer

    def phrases_from(self, word: str) -> list[tuple[int, tuple[str, ...], tuple[str, ...]]]:
        """The phrases of two words or more that start with `word`, longest first: (length, words, terms)."""
        return [option for option in self._index_starts.get(word, ()) if option[0] > 1]
