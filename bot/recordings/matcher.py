"""Matching videos to talks: each video to at most one talk, on the best evidence it has, with a confidence.

Evidence, strongest first:

1. A talk named outright (a review file's `id`), or an identifier both sides share: a frab guid, slug or id, a
   pretalx code, found in the video's own fields or in the links of its description.
2. A link in the description to the talk's page, whose last part is the talk's title as a slug
   (`/session/a-tale-of-scaling-observability`).
3. The title, compared as video sites write titles: case, accents, invisible and Unicode spaces, HTML entities;
   event and label prefixes ("EuroPython 2024 - ", "Keynote:", "[Replacement Talk]"); a tail of speakers
   and organisations (" - Jane Doe & Sam Roe, Acme"), explained by the talk's own people; a title cut short
   with "..." (which may cut inside that tail, or eat the separator before it); title and subtitle run
   together; "Part 1/2". Two measures must agree: the edit-distance ratio of the texts (rapidfuzz), and how
   much of the rarer words the two titles share, so that "Welcome to the Rust devroom" is not "Welcome to the
   Go devroom".
4. Speakers: the talk's people among the video's (or in its title or description) raise the confidence; a
   video that names its speakers and none of the talk's lowers it. Organisations explain a title's tail.
5. The date adds a little when it agrees and takes nothing when it does not: sites stamp every video of a
   conference with one day.

A video whose best talk is below the threshold, or too close to the second best, is ambiguous and keeps its
candidates for review; one with no plausible talk is unmatched. Talks are indexed by their words (rarest
first), so a video is compared with a few dozen talks, never with all of them.
"""

from __future__ import annotations

import functools
import html
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process

from bot.domain.text import fold
from bot.recordings.formats import Recording

DEFAULT_MIN_CONFIDENCE = 0.85
MARGIN = 0.06  # the best talk must lead the second by this much
CANDIDATE_FLOOR = 0.5  # below this a talk is no candidate at all
_SHORTLIST = 5
_POOL = 40
_MAX_POSTINGS = 1500

Status = Literal["matched", "ambiguous", "unmatched"]

_LABEL_WORDS = frozenset(
    ["keynote", "keynotes", "intro", "introduction", "lightning", "talk", "talks", "panel", "panels", "tutorial",
     "tutorials", "workshop", "workshops", "deep", "dive", "session", "sessions", "sponsored", "sponsor",
     "maintainer", "maintainers", "track", "opening", "closing", "replacement", "live", "demo", "plenary", "short",
     "long", "poster", "invited", "featured", "special", "remarks"]
)  # fmt: skip
_CONNECTORS = frozenset(["and", "by", "with", "feat", "ft", "from", "at", "of", "the", "und", "et", "y", "e"])
_PART = re.compile(
    r"[\(\[]?\b(?:part|pt\.?|teil|partie)\s*(\d{1,2}|[ivx]{1,4})\b(?:\s*(?:/|of|sur|von)\s*(\d{1,2}))?[\)\]]?", re.I
)
_PART_SHORT = re.compile(r"\((\d)\s*/\s*(\d)\)")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*$")
_SEPARATOR = re.compile(r"\s+[-–—|]\s+|\s*[|｜]\s*|:\s+|\s+[-–—]$")
_BRACKET_PREFIX = re.compile(r"^\s*[\[\(]([^\]\)]{1,40})[\]\)]\s*")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_SYMBOLS = str.maketrans({"™": " ", "®": " ", "©": " ", "&": " and ", "+": " plus "})
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}


def normalise(text: str) -> str:
    """Folded words joined by single spaces: entities decoded, accents and invisible characters gone."""
    text = html.unescape(html.unescape(text)) if "&" in text else text
    text = text.translate(_SYMBOLS)
    folded = text.lower() if text.isascii() else fold(text)  # most titles are ASCII: skip the slow path
    return " ".join(_NON_WORD.split(folded)).strip()


@functools.lru_cache(maxsize=65536)
def _name(text: str) -> str:
    """A person's or organisation's name, normalised (the same names come back talk after talk)."""
    return normalise(text)


def _slug_key(words: str) -> str:
    """Normalised words as a page address writes them, "and" left out (slug makers differ on "&")."""
    return "-".join(word for word in words.split() if word != "and")


@dataclass(frozen=True, slots=True)
class TalkEntry:
    """A talk as the matcher sees it."""

    id: int
    slug: str
    title: str
    event: str
    date: str | None = None
    recording_url: str | None = None
    speakers: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()  # identifiers from its source: guid, id, code


@dataclass(frozen=True, slots=True)
class Candidate:
    """A talk a video may be of, how sure the matcher is, and why."""

    talk: TalkEntry
    confidence: float
    reason: str


@dataclass(slots=True)
class Decision:
    """What became of one video: matched (to `candidates[0]`), ambiguous (with its candidates) or unmatched."""

    recording: Recording
    status: Status
    candidates: list[Candidate] = field(default_factory=list)
    note: str = ""
    part: int | None = None  # "Part 2/3" in the title

    @property
    def best(self) -> Candidate | None:
        """The most likely talk, if any."""
        return self.candidates[0] if self.candidates else None


class _Video:
    """A video's title in the forms the comparisons need, and the text its people are looked for in."""

    __slots__ = ("_people", "cores", "full", "listed_people", "part", "recording", "truncated")

    def __init__(self, recording: Recording, cores: list[str], truncated: bool, part: int | None) -> None:
        self.recording = recording
        self.full = normalise(recording.title)  # nothing stripped
        self.cores = tuple(cores)  # prefixes and part markers stripped (first: the most stripped)
        self.truncated = truncated
        self.part = part
        self.listed_people = bool(recording.speakers)  # the source names its speakers
        self._people: str | None = None

    @property
    def people(self) -> str:
        """Normalised speakers, title and the start of the description, padded with spaces, for finding names."""
        if self._people is None:
            recording = self.recording
            text = normalise(" ".join([*recording.speakers, recording.title, recording.description[:1500]]))
            self._people = f" {text} "
        return self._people


@dataclass(slots=True)
class _Prepared:
    """A talk's title and people in the forms the comparisons need; made when the talk is first a candidate."""

    talk: TalkEntry
    norm: str
    cores: tuple[str, ...]
    people_words: frozenset[str]
    surnames: tuple[str, ...]


class Matcher:
    """An index of talks that matches videos to them (see the module docstring)."""

    def __init__(
        self,
        talks: Iterable[TalkEntry],
        *,
        event_words: Iterable[str] = (),
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> None:
        self.min_confidence = min_confidence
        self.prefix_words = _LABEL_WORDS | {w for text in event_words for w in normalise(text).split()}
        self.entries: list[TalkEntry] = []
        self.norms: list[str] = []
        self.prepared: dict[int, _Prepared] = {}
        self.by_key: dict[str, list[int]] = defaultdict(list)
        self.by_slug: dict[str, int] = {}
        self.by_title_slug: dict[str, list[int]] = defaultdict(list)
        self.postings: dict[str, list[int]] = defaultdict(list)
        for index, talk in enumerate(talks):
            norm = normalise(talk.title)
            self.entries.append(talk)
            self.norms.append(norm)
            self.by_slug[talk.slug] = index
            for key in talk.keys:
                self.by_key[key.casefold()].append(index)
            self.by_title_slug[_slug_key(norm)].append(index)
            for word in set(norm.split()):
                self.postings[word].append(index)
        total = max(1, len(self.entries))
        self.idf = {word: math.log(1 + total / len(found)) for word, found in self.postings.items()}
        self.arrays = {word: np.asarray(found, dtype=np.int32) for word, found in self.postings.items()}
        self.default_idf = math.log(1 + total)

    def _talk(self, index: int) -> _Prepared:
        prepared = self.prepared.get(index)
        if prepared is not None:
            return prepared
        talk, norm = self.entries[index], self.norms[index]
        cores = tuple(dict.fromkeys([*self._cores(talk.title)[0], norm]))
        people = [_name(name) for name in talk.speakers]
        people_words = {w for name in people for w in name.split()} | {
            w for org in talk.organizations for w in _name(org).split()
        }
        surnames = tuple(name.split()[-1] for name in people if name and len(name.split()[-1]) >= 3)
        prepared = _Prepared(talk, norm, cores, frozenset(people_words), surnames)
        self.prepared[index] = prepared
        return prepared

    # -- titles ----------------------------------------------------------------------------------------------

    def _cores(self, title: str) -> tuple[list[str], bool, int | None]:
        """A title without its event and label prefixes and part markers: the candidates for its core."""
        text = " ".join(html.unescape(html.unescape(title)).split()) if title else ""
        truncated = bool(_ELLIPSIS.search(text))
        text = _ELLIPSIS.sub("", text)
        part = None
        found = _PART.search(text) or _PART_SHORT.search(text)
        if found:
            number = found.group(1).lower()
            part = int(number) if number.isdigit() else _ROMAN.get(number)
            text = (text[: found.start()] + " " + text[found.end() :]).strip(" -–—:|,")
        forms = [text]
        current = text
        for _ in range(3):  # "EuroPython 2024 — Keynote: Title"
            stripped = self._strip_prefix(current)
            if stripped is None:
                break
            forms.append(stripped)
            current = stripped
        cores = [normalise(form) for form in reversed(forms)]
        return [c for c in dict.fromkeys(cores) if c], truncated, part

    def _strip_prefix(self, text: str) -> str | None:
        bracket = _BRACKET_PREFIX.match(text)
        if bracket and self._is_prefix(bracket.group(1)):
            return text[bracket.end() :]
        found = _SEPARATOR.search(text)
        if found is None or found.start() == 0:
            return None
        head, rest = text[: found.start()], text[found.end() :]
        return rest if rest.strip() and self._is_prefix(head) else None

    def _is_prefix(self, head: str) -> bool:
        words = normalise(head).split()
        return bool(words) and len(words) <= 10 and all(w in self.prefix_words or w.isdigit() for w in words)

    def _video(self, recording: Recording) -> _Video:
        cores, truncated, part = self._cores(recording.title)
        return _Video(recording, cores, truncated, part)

    # -- matching --------------------------------------------------------------------------------------------

    def match_all(self, recordings: Sequence[Recording]) -> list[Decision]:
        """Decide every video, then keep one video per talk (the surest, or the first part)."""
        decisions = [self.match(recording) for recording in recordings]
        claimed: dict[int, int] = {}
        for position, decision in sorted(
            enumerate(decisions),
            key=lambda item: (
                -(item[1].best.confidence if item[1].best else 0),
                item[1].part or 0,
                item[0],
            ),
        ):
            best = decision.best
            if decision.status != "matched" or best is None:
                continue
            owner = claimed.get(best.talk.id)
            if owner is None:
                claimed[best.talk.id] = position
                continue
            other = decisions[owner].recording
            decision.status = "ambiguous"
            decision.note = f"{other.url} matches this talk at least as well, and a talk holds one recording"
        return decisions

    def match(self, recording: Recording) -> Decision:
        """The decision for one video."""
        if recording.talk_id is not None:
            named = self.by_slug.get(recording.talk_id)
            if named is not None:
                return Decision(recording, "matched", [Candidate(self.entries[named], 1.0, "named by its id")])
        video = self._video(recording)
        candidates = self._candidates(recording, video)
        if not candidates:
            return Decision(recording, "unmatched", part=video.part)
        best = candidates[0]
        second = candidates[1].confidence if len(candidates) > 1 else 0.0
        if best.confidence >= self.min_confidence and best.confidence - second >= MARGIN:
            return Decision(recording, "matched", candidates[:3], part=video.part)
        if best.confidence >= self.min_confidence:
            note = f"two talks are nearly as likely ({best.confidence:.2f} and {second:.2f})"
        else:
            note = f"the best talk is below the threshold ({best.confidence:.2f} < {self.min_confidence:.2f})"
        return Decision(recording, "ambiguous", candidates[:5], note, video.part)

    def _candidates(self, recording: Recording, video: _Video) -> list[Candidate]:
        scored: dict[int, Candidate] = {}
        for key in self._keys(recording):
            for index in self.by_key.get(key, ()):
                scored[index] = self._by_identifier(index, video, f"same identifier ({key})")
        for slug in self._link_slugs(recording):
            for index in self.by_title_slug.get(slug, ()):
                if index not in scored:
                    # The page's address is the talk's title: it cannot contradict it.
                    scored[index] = Candidate(self.entries[index], 0.97, "its description links to the talk's page")
        for index in self._shortlist(video):
            if index not in scored:
                candidate = self._by_title(index, recording, video)
                if candidate is not None:
                    scored[index] = candidate
        ranked = sorted(scored.values(), key=lambda c: (-c.confidence, c.talk.slug))
        return [c for c in ranked if c.confidence >= CANDIDATE_FLOOR]

    def _keys(self, recording: Recording) -> list[str]:
        keys = [key.casefold() for key in recording.keys]
        for link in recording.links:
            path = link.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0].rstrip("/")
            segments = path.split("/")[1:]
            if len(segments) >= 2 and segments[-2] in ("talk", "talks", "event", "events", "session", "sessions"):
                keys.append(segments[-1].casefold())
        return [key for key in dict.fromkeys(keys) if key in self.by_key]

    def _link_slugs(self, recording: Recording) -> list[str]:
        slugs = []
        for link in recording.links:
            path = link.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0].rstrip("/")
            last = _slug_key(normalise(path.rsplit("/", 1)[-1])) if "/" in path else ""
            if last.count("-") >= 1 and last in self.by_title_slug:
                slugs.append(last)
        return slugs

    def _by_identifier(self, index: int, video: _Video, reason: str) -> Candidate:
        prepared = self._talk(index)
        title, _ = self._title_score(prepared, video)
        found = self._people_found(prepared, video)
        if not video.full or title >= 60 or found > 0:
            return Candidate(prepared.talk, 0.99, reason)
        # A slot reused by another talk keeps its id: the titles must not contradict it.
        return Candidate(prepared.talk, 0.6, f"{reason}, but the titles differ ({title:.0f}/100)")

    def _shortlist(self, video: _Video) -> list[int]:
        """The talks that share the video's rarest title words, best few by edit distance (the blocking step)."""
        words = {w for core in video.cores for w in core.split()} | set(video.full.split())
        ranked = sorted((w for w in words if w in self.postings), key=lambda w: len(self.postings[w]))
        arrays, weights = [], []
        visited = 0
        for position, word in enumerate(ranked):
            postings = self.arrays[word]
            if position >= 1 and visited + len(postings) > _MAX_POSTINGS:
                break
            visited += len(postings)
            arrays.append(postings)
            weights.append(np.full(len(postings), self.idf[word]))
        if not arrays:
            return []
        talks, inverse = np.unique(np.concatenate(arrays), return_inverse=True)
        votes = np.bincount(inverse, weights=np.concatenate(weights))
        top = np.argpartition(-votes, _POOL)[:_POOL] if len(votes) > _POOL else np.arange(len(votes))
        top = top[np.argsort(-votes[top], kind="stable")]
        pool = [int(talks[i]) for i in top]
        query = video.cores[0] if video.cores else video.full
        choices = [self.norms[i] for i in pool]
        found = process.extract(query, choices, scorer=fuzz.ratio, limit=_SHORTLIST, score_cutoff=35)
        top_score = found[0][1] if found else 0
        margin = 12 if top_score >= 95 else 30  # a title found word for word leaves little to weigh
        keep = [pool[position] for _, score, position in found if score >= top_score - margin]
        keep.extend(i for i in pool[: 1 if top_score >= 95 else 2] if i not in keep)
        return keep

    def _by_title(self, index: int, recording: Recording, video: _Video) -> Candidate | None:
        prepared = self._talk(index)
        score, how = self._title_score(prepared, video)
        if score < 55:
            return None
        confidence = score / 100
        reasons = [f"title {score:.0f}/100{how}"]
        found = self._people_found(prepared, video)
        if prepared.surnames and found > 0:
            confidence += 0.08 * found
            reasons.append(f"speakers {found:.0%}")
        elif prepared.surnames and video.listed_people:
            confidence -= 0.15
            reasons.append("none of the talk's speakers")
        if recording.date and prepared.talk.date and prepared.talk.date[:10] == recording.date:
            confidence += 0.02
            reasons.append("same day")
        return Candidate(prepared.talk, round(min(confidence, 0.98), 4), "; ".join(reasons))

    def _people_found(self, prepared: _Prepared, video: _Video) -> float:
        if not prepared.surnames:
            return 0.0
        found = sum(f" {surname} " in video.people for surname in prepared.surnames)
        return found / len(prepared.surnames)

    def _title_score(self, prepared: _Prepared, video: _Video) -> tuple[float, str]:
        """How alike two titles are, 0-100, and what had to be set aside to see it.

        Every pairing of the video's and the talk's forms is scored by edit distance first (cheap); the
        agreement of their key words, which may only lower a score, is then checked best first.
        """
        pairs = []
        for core in video.cores or (video.full,):
            for talk_core in prepared.cores:
                score, note = self._compare(core, talk_core, prepared, video)
                pairs.append((score, note, core, talk_core))
        pairs.sort(key=lambda pair: -pair[0])
        best, how = 0.0, ""
        for score, note, core, talk_core in pairs:
            if score <= best:
                break
            agreement = self._word_agreement(core, talk_core, prepared, video.truncated)
            if agreement < 0.75 and 100 * agreement + 10 < score:
                score, note = 100 * agreement + 10, f"{note}, different key words"
            if score > best:
                best, how = score, note
        return best, how

    def _compare(self, core: str, talk: str, prepared: _Prepared, video: _Video) -> tuple[float, str]:
        if not core or not talk:
            return 0.0, ""
        best, note = fuzz.ratio(core, talk), ""
        if len(core) > len(talk) + 3:
            head, tail = core[: len(talk)], core[len(talk) :].split()
            if self._explained(tail, prepared, video.truncated):
                score = fuzz.ratio(head, talk)
                if score > best:
                    best, note = score, ", speakers after the title"
        elif video.truncated and len(core) >= 20 and len(core) < len(talk):
            score = fuzz.ratio(core, talk[: len(core)]) - 2
            if score > best:
                best, note = score, ", title cut short"
        if video.truncated and len(core) >= 20 and best < 90:  # the cut may fall inside the speakers' tail
            words = core.split()
            for cut in range(len(words) - 1, max(0, len(words) - 8), -1):
                head, tail = " ".join(words[:cut]), words[cut:]
                if self._explained(tail, prepared, True) and len(head) >= 12:
                    score = fuzz.ratio(head, talk[: len(head)]) - 3
                    if score > best:
                        best, note = score, ", title cut short before the speakers"
        return best, note

    def _explained(self, tail: list[str], prepared: _Prepared, truncated: bool) -> bool:
        """Whether the words after a title are its speakers and organisations (and a cut last word)."""
        if not tail:
            return False
        people = prepared.people_words
        if not people:
            return False
        for position, word in enumerate(tail):
            if word in people or word in _CONNECTORS or word in self.prefix_words:
                continue
            if truncated and position == len(tail) - 1 and any(p.startswith(word) for p in people):
                continue
            return False
        return any(word in people for word in tail)

    def _word_agreement(self, core: str, talk: str, prepared: _Prepared, truncated: bool) -> float:
        """The share of both titles' weight (rare words weigh more) that both hold; typos and glued words forgiven."""
        video_words, talk_words = core.split(), talk.split()
        if truncated and video_words:
            video_words = video_words[:-1]  # the cut word
        if not video_words or not talk_words:
            return 0.0
        talk_set = set(talk_words)
        talk_long = [t for t in talk_set if len(t) >= 5]
        joined = {a + b: (a, b) for a, b in itertools.pairwise(talk_words)}
        covered: set[str] = set()
        shared = 0.0
        extra = 0.0
        for word in video_words:
            weight = self.idf.get(word, self.default_idf)
            if word in talk_set:
                covered.add(word)
                shared += weight
            elif word in joined:
                covered.update(joined[word])
                shared += weight
            elif word in prepared.people_words or word in self.prefix_words or word in _CONNECTORS:
                continue
            elif len(word) >= 5 and (near := process.extractOne(word, talk_long, scorer=fuzz.ratio, score_cutoff=85)):
                shared += weight  # a typo fixed, a word spelt another way
                covered.add(near[0])
            else:
                extra += weight
        missing = 0.0
        for position, word in enumerate(talk_words):
            if word in covered:
                continue
            if truncated and position >= len(video_words):
                continue
            missing += self.idf.get(word, self.default_idf)
        total = shared + extra + missing
        return shared / total if total else 0.0
