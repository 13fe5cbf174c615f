"""The search engine: queries in, ranked talk ids out, with typo correction, filters and diversity."""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.domain.text import fold
from bot.search.analysis import Analyzer, fast_words
from bot.search.completion import Completer, Suggestion
from bot.search.fuzzy import Corrector
from bot.search.index import FIELD_WEIGHTS, Hit, IndexedTalk, SearchIndex, distinct
from bot.search.people import PeopleIndex, PersonEntry, PersonMatch
from bot.search.topics import TopicTree

MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 16
MLT_TERMS = 16
MLT_LABEL_TERMS = 24
PERSON_PENALTY = 0.85  # a page's second talk by the same first speaker keeps 85% of its score
EVENT_PENALTY = 0.9


@dataclass(frozen=True, slots=True)
class Label:
    """A topic or event as the engine knows it."""

    id: int
    slug: str
    name: str
    talks: int
    parent_id: int | None = None
    short_name: str | None = None


@dataclass(slots=True)
class QueryPlan:
    """What a query was understood as: its terms, the words corrected, the words not understood."""

    terms: dict[int, float] = field(default_factory=dict)
    term_names: set[str] = field(default_factory=set)
    corrected: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    words: str = ""  # the query's folded words, space-joined: how a name it may be is looked up


@dataclass(slots=True)
class Outcome:
    """Ranked hits and the plan that produced them."""

    hits: list[Hit]
    plan: QueryPlan


def speaker_entries(people: Sequence[PersonEntry]) -> list[tuple[str, str, float]]:
    """What the speaker completer suggests: every person, the most prolific first."""
    return [(p.slug, p.name, float(p.talks)) for p in people]


def _event_label(event: Label) -> str:
    """An event's name, with its short name when that says something more."""
    if event.short_name and event.short_name != event.name:
        return f"{event.name} ({event.short_name})"
    return event.name


class SearchEngine:
    """Everything needed to answer queries over one version of the catalogue."""

    def __init__(
        self,
        index: SearchIndex,
        people: Sequence[PersonEntry],
        topics: Sequence[Label],
        events: Sequence[Label],
        titles: Sequence[tuple[str, str, float]],
        version: int,
        analyzer: Analyzer | None = None,
        *,
        title_completer: Completer | None = None,
        speaker_completer: Completer | None = None,
        languages: Mapping[str, Sequence[int]] | None = None,
        organizations: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        """Build the engine; completers saved with the index may be passed instead of titles to sort.

        `people` is always needed (the name index is rebuilt: 0.2 s for 50,000 people); the title and
        speaker completers take seconds to sort at 100,000 talks, so `load_engine` saves them.
        """
        self.index = index
        self.analyzer = analyzer or Analyzer()
        self.version = version
        self.people = PeopleIndex(people)
        self.topics = {t.slug: t for t in topics}
        self.topic_by_name = {fold(t.name): t.slug for t in topics}  # folded name -> slug
        self.topic_label = {t.slug: t.name for t in topics}
        self.tree = TopicTree.build(self.analyzer, self.topic_label.items())
        # Each language's rows (ascending), from the talks' ids: talks whose programme names no language have none.
        self.languages: dict[str, npt.NDArray[np.int32]] = {}
        for code, talk_ids in (languages or {}).items():
            self.languages[code] = np.sort(np.asarray(index.rows_of(list(talk_ids)), dtype=np.int32))
        # Who gave the talks: an organisation's name (and without "Inc", "Labs"...) or a person's full name,
        # folded, to the rows of the talks they gave. A query that is exactly such a name ranks those first.
        self._givers: dict[str, npt.NDArray[np.int32]] = {}
        topic_keys = {" ".join(fast_words(t.name)) for t in topics}
        for name, talk_ids in (organizations or {}).items():
            rows = np.asarray(index.rows_of(list(talk_ids)), dtype=np.int32)
            keys = _organization_keys(name)
            for at, key in enumerate(keys):
                if key in topic_keys or (at and not self._distinctive(key, len(rows))):
                    continue
                found = self._givers.get(key)
                self._givers[key] = rows if found is None else np.concatenate([found, rows])
        for person in people:
            rows_of_person = index.person_docs.get(person.person_id)
            key = " ".join(fast_words(person.name))
            if rows_of_person is not None and key:
                found = self._givers.get(key)
                self._givers[key] = rows_of_person if found is None else np.concatenate([found, rows_of_person])
        for key, rows in self._givers.items():
            self._givers[key] = distinct(rows.astype(np.int64)).astype(np.int32)
        self.events = {e.slug: e for e in events}
        self._event_children: dict[int, list[int]] = {}
        for event in events:
            if event.parent_id is not None:
                self._event_children.setdefault(event.parent_id, []).append(event.id)
        self.corrector = Corrector(index.surface)
        self.titles = title_completer or Completer(titles)
        self.speaker_names = speaker_completer or Completer(speaker_entries(people))
        self.topic_names = Completer([(t.slug, t.name, float(t.talks)) for t in topics])
        self.event_names = Completer([(e.slug, _event_label(e), float(e.talks)) for e in events])

    def _distinctive(self, key: str, talks: int) -> bool:
        """Whether a shortened organisation name ("Grafana" for Grafana Labs) names it rather than a subject.

        Not when many more talks use its words than the organisation gave ("Security" for Security Systems
        Inc, "Open" for Open Systems AG). A full name always names it, unless it is a topic's name.
        """
        for term in self.analyzer.terms(key):
            tid = self.index.terms.get(term)
            if tid is not None and int(self.index.df[tid]) > 3 * talks:
                return False
        return True

    # -- queries -----------------------------------------------------------------------------------------

    def plan(self, text: str) -> QueryPlan:
        """Understand a free-text query: analyse it, correct typos, drop what matches nothing."""
        plan = QueryPlan()
        tokens = fast_words(text[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]
        plan.words = " ".join(tokens)
        analyzer, terms = self.analyzer, self.index.terms
        for span_terms, start, end in analyzer.spans(tokens):
            known = [t for t in span_terms if t in terms]
            for term in known:
                self._add(plan, term)
            if known or not span_terms:
                continue
            # A word that stands for nothing in the catalogue may be a typo: correct it against its words.
            typed = " ".join(tokens[start:end])
            replacement = self.corrector.correct(typed) if end - start == 1 else None
            used = [t for t in analyzer.term_of_word(replacement) if t in terms] if replacement else []
            if replacement and used:
                plan.corrected[typed] = replacement
                for term in used:
                    self._add(plan, term)
            else:
                plan.unknown.append(typed)
        return plan

    def _add(self, plan: QueryPlan, term: str) -> None:
        tid = self.index.terms[term]
        plan.terms[tid] = plan.terms.get(tid, 0.0) + 1.0
        plan.term_names.add(term)

    def search(
        self,
        text: str,
        *,
        topics: Sequence[str] = (),
        events: Sequence[str] = (),
        person_ids: Sequence[int] = (),
        languages: Sequence[str] = (),
        limit: int = 5,
        diversify: bool = True,
    ) -> Outcome:
        """The best talks for a query and filters (all optional); filters alone list newest first.

        A topic takes in its narrower topics (see `bot.search.topics`); an event its co-located events.
        """
        plan = self.plan(text)
        allowed = self._allowed_rows(topics, events, person_ids, languages)
        if not plan.terms:
            if text.strip() and not (topics or events or person_ids or languages):
                return Outcome([], plan)
            return Outcome(self._newest(allowed, limit), plan)
        scores = self.index.score(plan.terms)
        pool = limit * 3 if diversify else limit
        # Only the rows that can score matter: the filters' rows, or the terms' when the filters allow more.
        # (A topic's few thousand rows at 100,000 talks: no mask over every talk, no sampling of every score.)
        candidates = self.index.candidates(plan.terms)
        givers = self._givers.get(plan.words)
        if givers is not None and len(givers):
            # The query names who gave talks: their talks come before talks that only mention the name.
            scores[givers] += np.float32(scores.max(initial=0.0) + 1.0)
            if candidates is not None:
                candidates = distinct(np.concatenate([candidates, givers]).astype(np.int64)).astype(np.int32)
        if allowed is not None:
            candidates = allowed if candidates is None or len(allowed) <= len(candidates) else (
                _within(candidates, allowed))  # fmt: skip
        hits = self.index.top(scores, pool, candidates=candidates)
        return Outcome(self._diversify(hits, limit) if diversify else hits[:limit], plan)

    def similar(self, talk: IndexedTalk, limit: int = 5) -> list[Hit]:
        """Talks most like `talk` (shared topics, speakers, organisations, words), never `talk` itself."""
        index = self.index
        weights: dict[int, float] = {}
        labelled: set[int] = set()  # terms of the talk's topics, speakers and organisations
        fields = (
            ("title", talk.title), ("topics", " ; ".join(talk.topics)), ("speakers", " ; ".join(talk.speakers)),
            ("organizations", " ; ".join(talk.organizations)), ("summary", talk.summary),
        )  # fmt: skip
        for name, text in fields:
            for term in self.analyzer.terms(text):
                tid = index.terms.get(term)
                if tid is not None:
                    weights[tid] = weights.get(tid, 0.0) + FIELD_WEIGHTS[name]
                    if name in ("topics", "speakers", "organizations"):
                        labelled.add(tid)
        # The labels always count, however common: in a small catalogue the rarest words of a summary are
        # incidental ("cut", "per") while a shared topic or organisation is what makes two talks alike.
        by_rarity = sorted(weights, key=lambda tid: (-weights[tid] * index.idf(tid), tid))
        chosen = sorted(labelled, key=by_rarity.index)[:MLT_LABEL_TERMS]
        chosen += [tid for tid in by_rarity if tid not in labelled][:MLT_TERMS]
        top_weight = max((weights[t] for t in chosen), default=1.0)
        scores = index.score({tid: math.sqrt(weights[tid] / top_weight) for tid in chosen})
        candidates = index.candidates(chosen)
        boosted = []
        for person in talk.person_ids:
            rows = index.person_docs.get(person)
            if rows is not None:
                scores[rows] += np.float32(2.0)
                boosted.append(rows)
        if candidates is not None and boosted:
            candidates = distinct(np.concatenate([candidates, *boosted]).astype(np.int64)).astype(np.int32)
        row = index.row(talk.talk_id)
        if row is not None:
            scores[row] = 0
        return self._diversify(index.top(scores, limit * 3, candidates=candidates), limit)

    def lookup_people(self, name: str, limit: int = 10) -> list[PersonMatch]:
        """People matching a name or part of one."""
        return self.people.lookup(name[:MAX_QUERY_CHARS], limit)

    # -- suggestions -------------------------------------------------------------------------------------

    def suggest_titles(self, typed: str) -> list[Suggestion]:
        """Talk titles for autocomplete."""
        return self.titles.suggest(typed[:MAX_QUERY_CHARS])

    def suggest_speakers(self, typed: str) -> list[Suggestion]:
        """People for autocomplete."""
        return self.speaker_names.suggest(typed[:MAX_QUERY_CHARS])

    def suggest_topics(self, typed: str) -> list[Suggestion]:
        """Topics for autocomplete."""
        return self.topic_names.suggest(typed[:MAX_QUERY_CHARS])

    def suggest_events(self, typed: str) -> list[Suggestion]:
        """Events for autocomplete."""
        return self.event_names.suggest(typed[:MAX_QUERY_CHARS])

    def nearest_terms(self, text: str, limit: int = 5) -> list[str]:
        """Topic and people names close to words that found nothing."""
        found: list[str] = []
        for token in fast_words(text[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]:
            for suggestion in self.topic_names.suggest(token, 3):
                found.append(suggestion.label)
            for candidate in self.corrector.candidates(token)[:2]:
                for suggestion in self.topic_names.suggest(candidate[1], 2):
                    found.append(suggestion.label)
        found.extend(self.people.nearest_names(text[:MAX_QUERY_CHARS]))
        if not found:  # nothing is close: the catalogue's biggest topics are still a better answer than none
            biggest = sorted((t for t in self.topics.values() if t.talks), key=lambda t: (-t.talks, t.name))
            found = [topic.name for topic in biggest]
        return list(dict.fromkeys(found))[:limit]

    # -- helpers -----------------------------------------------------------------------------------------

    def event_family(self, slug: str) -> list[int]:
        """An event's id with its co-located events' ids."""
        event = self.events.get(slug)
        if event is None:
            return []
        family, queue = [], [event.id]
        while queue:
            current = queue.pop()
            family.append(current)
            queue.extend(self._event_children.get(current, ()))
        return family

    def _allowed_rows(
        self, topics: Sequence[str], events: Sequence[str], person_ids: Sequence[int], languages: Sequence[str] = ()
    ) -> npt.NDArray[np.int32] | None:
        """The rows the filters allow, ascending; None without filters (every row)."""
        index = self.index
        allowed: npt.NDArray[np.int32] | None = None

        def narrow(rows: npt.NDArray[Any]) -> None:
            nonlocal allowed
            rows = rows.astype(np.int32, copy=False)
            allowed = rows if allowed is None else _within(allowed, rows)

        if topics:
            taken_in = dict.fromkeys(slug for topic in topics for slug in self.tree.family(topic))
            ids = [self.topics[t].id for t in taken_in if t in self.topics]
            narrow(_union([index.topic_docs[i] for i in ids if i in index.topic_docs]))
        if person_ids:
            narrow(_union([index.person_docs[p] for p in person_ids if p in index.person_docs]))
        if languages:
            narrow(_union([self.languages[code] for code in languages if code in self.languages]))
        if events:
            family = np.asarray([eid for slug in events for eid in self.event_family(slug)], dtype=np.int32)
            if allowed is None:
                allowed = np.flatnonzero(np.isin(index.event_of, family)).astype(np.int32)
            else:
                allowed = allowed[np.isin(index.event_of[allowed], family)]
        return allowed

    def _newest(self, allowed: npt.NDArray[np.int32] | None, limit: int) -> list[Hit]:
        index = self.index
        rows = allowed if allowed is not None else np.arange(index.size)
        order = np.lexsort((index.talk_ids[rows], -index.days[rows]))[:limit]
        return [Hit(int(index.talk_ids[rows[i]]), 0.0) for i in order]

    def _diversify(self, hits: list[Hit], limit: int) -> list[Hit]:
        """Re-rank so one speaker or one event does not fill the page when others score nearly as well.

        Greedy: each pick is the talk whose score, discounted for the speaker's and the event's talks
        already on the page, is highest (the earliest on ties). Discounts only grow, so a discounted value
        computed earlier is an upper bound: a heap of those, re-checked when they surface ("lazy greedy"),
        picks exactly what rescoring every candidate each round would, in about k log n instead of k * n.
        """
        index = self.index
        rows = index.rows_of([hit.talk_id for hit in hits])  # hits come from this index
        people_of = index.first_person[rows].tolist()
        events_of = index.event_of[rows].tolist()
        heap = [(-hit.score, at) for at, hit in enumerate(hits)]
        heapq.heapify(heap)
        page: list[Hit] = []
        people: dict[int, int] = {}
        events: dict[int, int] = {}
        while heap and len(page) < limit:
            _, at = heapq.heappop(heap)
            person, event = people_of[at], events_of[at]
            value = hits[at].score * PERSON_PENALTY ** people.get(person, 0) * EVENT_PENALTY ** events.get(event, 0)
            if heap and (-value, at) > heap[0]:  # another may now be worth more: look at it first
                heapq.heappush(heap, (-value, at))
                continue
            if person >= 0:
                people[person] = people.get(person, 0) + 1
            events[event] = events.get(event, 0) + 1
            page.append(hits[at])
        return page


_ORGANIZATION_SUFFIXES = frozenset(
    ["inc", "incorporated", "labs", "lab", "ltd", "llc", "gmbh", "ag", "sa", "corp", "corporation", "co",
     "company", "limited", "technologies", "technology", "software", "systems", "group", "io", "plc"]
)  # fmt: skip


def _organization_keys(name: str) -> list[str]:
    """An organisation's name as a query would say it: folded, and without a trailing "Inc" or "Labs"."""
    tokens = fast_words(name)
    keys = [" ".join(tokens)] if tokens else []
    while len(tokens) > 1 and tokens[-1] in _ORGANIZATION_SUFFIXES:
        tokens = tokens[:-1]
        keys.append(" ".join(tokens))
    return keys


def _union(groups: list[npt.NDArray[np.int32]]) -> npt.NDArray[np.int32]:
    """The rows in any of these ascending groups, ascending."""
    if not groups:
        return np.zeros(0, dtype=np.int32)
    if len(groups) == 1:
        return groups[0]
    return distinct(np.concatenate(groups).astype(np.int64)).astype(np.int32)


def _within(rows: npt.NDArray[Any], allowed: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The rows (ascending) that are also in `allowed` (ascending), by binary search: no sort of both."""
    if not len(allowed) or not len(rows):
        return rows[:0]
    at = np.minimum(np.searchsorted(allowed, rows), len(allowed) - 1)
    kept: npt.NDArray[Any] = rows[allowed[at] == rows]
    return kept
