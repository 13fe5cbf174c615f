"""The use cases the command line, the cogs and the sandbox call: search, talks, people, browsing."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.catalogue.formats.options import ImportOptions
from bot.catalogue.importer import apply_import, parse_document
from bot.catalogue.store import CatalogueRepository
from bot.catalogue.writer import ImportReport
from bot.db.gateway import Database
from bot.domain.languages import language_code, language_name
from bot.domain.models import Count, Event, PersonProfile, Talk
from bot.domain.text import fold, inert, words
from bot.errors import EventNotFound, SpeakerNotFound, TalkNotFound, TopicNotFound, UserFacingError
from bot.search.completion import Suggestion
from bot.search.corpus import open_engine
from bot.search.engine import QueryPlan, SearchEngine
from bot.search.index import Hit, IndexedTalk

log = logging.getLogger(__name__)

SPEAKER_CARD_TALKS = 25  # a speaker card has room for about a dozen talk lines; it counts the rest
TERMS_CACHE = 50_000  # names and titles whose search terms are remembered

MAX_RESULTS = 50
_SLUG_LIKE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")


@dataclass(frozen=True, slots=True)
class Result:
    """A talk found for a query, its score, and why it was picked."""

    talk: Talk
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchPage:
    """Ranked results, what the query was read as, and suggestions when nothing matched."""

    query: str
    results: tuple[Result, ...]
    corrected: dict[str, str] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    pending: tuple[Hit, ...] = ()  # found but not yet read from the catalogue (see `CatalogueService.more`)
    plan: QueryPlan | None = field(default=None, compare=False, repr=False)
    filtered: tuple[str, ...] = ()
    topic: str | None = None  # the topic asked for or named by the query: results under it say how


class CatalogueService:
    """Search and browsing over the catalogue; reloads its index when the catalogue changes."""

    def __init__(self, db: Database, engine: SearchEngine) -> None:
        self.db = db
        self.repo = CatalogueRepository(db)
        self.engine = engine
        self._reload_lock = asyncio.Lock()
        self._terms: dict[str, frozenset[str]] = {}

    @classmethod
    async def open(cls, db: Database) -> CatalogueService:
        """Build the service over the database, loading its search index off the event loop."""
        engine = await _load_engine(db)
        gc.freeze()  # the index is long-lived: keep the collector's full passes from walking it again and again
        return cls(db, engine)

    def _terms_of(self, texts: list[str]) -> frozenset[str]:
        """The search terms of a name or title, remembered: every answer explains itself with them."""
        key = texts[0] if len(texts) == 1 else "\n".join(texts)
        found = self._terms.get(key)
        if found is None:
            if len(self._terms) >= TERMS_CACHE:
                self._terms.clear()
            found = self._terms[key] = frozenset(self.engine.analyzer.unique_terms(texts))
        return found

    async def stale(self) -> bool:
        """Whether the catalogue changed since the search index was built."""
        return await self.repo.version() != self.engine.version

    async def refresh(self) -> bool:
        """Reload the search index if the catalogue changed since it was built; True if it did."""
        if not await self.stale():
            return False
        async with self._reload_lock:
            version = await self.repo.version()
            if version == self.engine.version:
                return False
            old = self.engine.version
            self.engine = await _load_engine(self.db)
            self._terms = {}  # the vocabulary may have changed with the index
            gc.freeze()
            log.info(
                "Catalogue changed (version %d -> %d): reloaded %d talks",
                old,
                version,
                self.engine.index.size,
            )
            return True

    async def import_data(
        self, data: bytes, filename: str, options: ImportOptions, *, dry_run: bool = False
    ) -> ImportReport:
        """Import an uploaded schedule export, all or nothing, and reload the index for it.

        The file is read in a worker thread; its writes are one piece of work on the write path, so they share
        nothing half-done with the writes around them, and the reads of other commands never wait for them.
        """
        document = await asyncio.to_thread(parse_document, data, filename, options)
        report = await self.db.write(lambda conn: apply_import(conn, document, filename, options, dry_run))
        await self.refresh()
        return report

    async def talk_count(self) -> int:
        """How many talks the catalogue holds."""
        return await self.repo.talk_count()

    # -- search ------------------------------------------------------------------------------------------

    async def search(
        self,
        query: str,
        *,
        topic: str | None = None,
        event: str | None = None,
        language: str | None = None,
        limit: int = 5,
        read: int | None = None,
    ) -> SearchPage:
        """Talks for free text and optional topic, event and language filters, best first, with reasons.

        A topic takes in its narrower topics (Service mesh: Linkerd, Istio...), an event its co-located ones.
        """
        await self.refresh()
        limit = max(1, min(limit, MAX_RESULTS))
        topics = [self.resolve_topic(topic)] if topic else []
        events = [self.resolve_event(event).slug] if event else []
        languages = [self.resolve_language(language)] if language else []
        if not words(query) and not topics and not events and not languages:
            raise UserFacingError("Type a few words to search for, such as `mtls` or `rust`.")
        outcome = self.engine.search(query, topics=topics, events=events, languages=languages, limit=limit)
        filtered = tuple(
            [f"topic: {self.engine.topics[t].name}" for t in topics]
            + [f"event: {self.engine.events[e].name}" for e in events]
            + [f"in {language_name(code)}" for code in languages]
        )
        named = topics[0] if topics else self._topic_slug(query) if query.strip() else None
        return await self._page(query, outcome.hits, outcome.plan, filtered, read, named)

    async def recommend(
        self,
        topic_or_text: str,
        *,
        event: str | None = None,
        language: str | None = None,
        limit: int = 25,
        read: int | None = None,
    ) -> SearchPage:
        """Recommendations for a topic (its id or name, taking in its narrower topics) or any free text.

        `read`: see `_page`.
        """
        await self.refresh()  # first: a topic added by an import must be known when the text is read
        slug = self._topic_slug(topic_or_text)
        if slug is not None:
            name = self.engine.topics[slug].name
            events = [self.resolve_event(event).slug] if event else []
            languages = [self.resolve_language(language)] if language else []
            outcome = self.engine.search(name, topics=[slug], events=events, languages=languages, limit=limit)
            if outcome.hits:
                filtered = tuple(f"in {language_name(code)}" for code in languages)
                return await self._page(name, outcome.hits, outcome.plan, filtered, read=read, topic=slug)
            topic_or_text = name
        return await self.search(topic_or_text, event=event, language=language, limit=limit, read=read)

    async def _page(
        self,
        query: str,
        hits: list[Hit],
        plan: QueryPlan,
        filtered: tuple[str, ...] = (),
        read: int | None = None,
        topic: str | None = None,
    ) -> SearchPage:
        """Hits as results with their reasons; `filtered` names the filters, the reason when no word matched.

        With `read`, only the first `read` hits are read from the catalogue now; the others wait in
        `pending` for `more` (a member mostly looks at the first page only).
        """
        now, later = (hits, []) if read is None else (hits[:read], hits[read:])
        results = await self._results(now, plan, filtered, topic)
        if not results and later:  # the first few left the catalogue meanwhile: read on
            results, later = await self._results(later, plan, filtered, topic), []
        suggestions = () if results or later else tuple(self.engine.nearest_terms(query))
        return SearchPage(
            query, tuple(results), dict(plan.corrected), tuple(plan.unknown), suggestions, tuple(later), plan, filtered,
            topic,
        )  # fmt: skip

    async def more(self, page: SearchPage, hits: Sequence[Hit]) -> list[Result]:
        """Results for some of a page's `pending` hits (talks that left the catalogue since are left out)."""
        return await self._results(list(hits), page.plan or QueryPlan(), page.filtered, page.topic)

    async def _results(
        self, hits: list[Hit], plan: QueryPlan, filtered: tuple[str, ...], topic: str | None = None
    ) -> list[Result]:
        talks = await self.repo.get_talks([h.talk_id for h in hits])
        results = []
        for hit in hits:
            talk = talks.get(hit.talk_id)
            if talk is None:
                continue
            under = self._topic_reason(talk, topic)
            reasons = self._reasons(talk, plan, under) or tuple(
                under if under and reason.startswith("topic: ") else reason for reason in filtered
            )
            results.append(Result(talk, hit.score, reasons))
        return results

    def _topic_reason(self, talk: Talk, topic: str | None) -> str | None:
        """Why a talk is there for a topic it may be filed under only through a narrower one."""
        if topic is None or topic not in self.engine.topics:
            return None
        own = {t.slug for t in talk.topics}
        if topic in own:
            return f"topic: {self.engine.topics[topic].name}"
        tree = self.engine.tree
        for slug in tree.family(topic)[1:]:
            if slug in own:
                return "topic: " + tree.describe(slug, topic, self.engine.topic_label)
        return None

    def _reasons(self, talk: Talk, plan: QueryPlan, under: str | None = None) -> tuple[str, ...]:
        wanted = plan.term_names
        if not wanted:
            return ()
        terms = self._terms_of
        reasons: list[str] = []
        topics = [t.name for t in talk.topics if terms([t.name]) & wanted]
        if under is not None:
            reasons.append(under)
        elif topics:
            reasons.append("topic: " + ", ".join(topics[:3]))
        people = [c.name for c in talk.credits if terms([c.name]) & wanted]
        if people:
            reasons.append("speaker: " + ", ".join(people[:3]))
        orgs = list(
            dict.fromkeys(c.organization for c in talk.credits if c.organization and terms([c.organization]) & wanted)
        )
        if orgs:
            reasons.append("organisation: " + ", ".join(orgs[:2]))
        title_hits = terms([talk.title]) & wanted
        if title_hits and not topics:
            reasons.append("in the title")
        if not reasons and terms([talk.event.name, talk.event.short_name or ""]) & wanted:
            reasons.append(f"at {talk.event.label}")
        if not reasons:
            # The talk was found for these words and no short field holds them, so the summary does: no need
            # to analyse a whole summary (stemming its unseen words was most of a cold answer's time).
            reasons.append("in the summary")
        return tuple(reasons)

    # -- one talk, similar talks -------------------------------------------------------------------------

    async def talk(self, ident: str) -> Talk:
        """A talk by its id or by (part of) its title, typos forgiven."""
        await self.refresh()
        talk_id = await self._talk_id(ident)
        talks = await self.repo.get_talks([talk_id])
        return talks[talk_id]

    async def talk_by_slug(self, slug: str) -> Talk | None:
        """Exactly the talk with this id, or None: no guessing, for callers that hold an id."""
        await self.refresh()
        talk_id = await self.repo.find_talk_id(slug)
        if talk_id is None:
            return None
        return (await self.repo.get_talks([talk_id])).get(talk_id)

    async def _talk_id(self, ident: str) -> int:
        # A lone surrogate (JSON may carry one) cannot be encoded for SQLite: it becomes "?".
        text = ident.encode("utf-8", "replace").decode("utf-8").strip()
        if not text:
            raise UserFacingError("Name a talk: pick one from the suggestions or type part of its title.")
        if not words(text):  # only punctuation, control or invisible characters: they name no talk
            raise TalkNotFound(f"No talk matches “{_quote(text)}”: type a few letters of its title.", ())
        found = await self.repo.find_talk_id(text[:200])
        if found is not None:
            return found
        nearest: list[str] = []
        if not _SLUG_LIKE.match(text):  # an id that is not there is not worth guessing about
            suggestions = self.engine.suggest_titles(text)
            if suggestions:
                found = await self.repo.find_talk_id(suggestions[0].key)
                if found is not None:
                    return found
            outcome = self.engine.search(text, limit=3, diversify=False)
            if outcome.hits and not outcome.plan.unknown:
                return outcome.hits[0].talk_id
            # Some words matched and some did not: offer what the known words found, never pick for the member.
            titles = await self.repo.get_talks([hit.talk_id for hit in outcome.hits])
            nearest = [titles[hit.talk_id].title for hit in outcome.hits if hit.talk_id in titles]
        raise TalkNotFound(f"No talk matches “{_quote(text)}”.", tuple(nearest))

    async def similar(self, ident: str, limit: int = 5) -> tuple[Talk, list[Result]]:
        """A talk and the talks most like it (never itself)."""
        talk = await self.talk(ident)
        talk_id = await self.repo.find_talk_id(talk.slug)
        assert talk_id is not None  # noqa: S101 - just found by slug
        source = IndexedTalk(
            talk_id=talk_id,
            title=talk.title,
            topics=[t.name for t in talk.topics],
            speakers=[c.name for c in talk.credits],
            organizations=[c.organization for c in talk.credits if c.organization],
            summary=talk.summary,
            person_ids=[p for c in talk.credits if (p := self._person_id(c.person)) is not None],
        )
        hits = self.engine.similar(source, max(1, min(limit, MAX_RESULTS)))
        talks = await self.repo.get_talks([h.talk_id for h in hits])
        shared = {t.slug for t in talk.topics}
        people = {c.person for c in talk.credits}
        results = []
        for hit in hits:
            other = talks.get(hit.talk_id)
            if other is None:
                continue
            reasons = []
            common = [t.name for t in other.topics if t.slug in shared]
            if common:
                reasons.append("shares " + ", ".join(common[:3]))
            same = [c.name for c in other.credits if c.person in people]
            if same:
                reasons.append("also with " + ", ".join(same[:2]))
            results.append(Result(other, hit.score, tuple(reasons)))
        return talk, results

    def _person_id(self, slug: str) -> int | None:
        entry = self.engine.people.by_slug.get(slug)
        return entry.person_id if entry else None

    # -- people ------------------------------------------------------------------------------------------

    async def speakers(self, name: str, limit: int = 10, *, talks: int | None = None) -> list[PersonProfile]:
        """Everyone matching a name (best first), each with organisations over time and talks, newest first.

        With `talks`, each profile holds only that many of the newest talks (its `total` says how many there
        are): a list to pick a person from needs none, a speaker card only the few that fit on it.
        """
        await self.refresh()
        if not words(name):
            raise UserFacingError("Type a name or part of one, such as `morgan`.")
        exact = self.engine.people.by_slug.get(name.strip())
        entries = [exact] if exact else [m.person for m in self.engine.lookup_people(name, limit)]
        if not entries:
            raise SpeakerNotFound(
                f"Nobody called “{_quote(name)}” is in the catalogue.",
                tuple(self.engine.people.nearest_names(name, fallback=True)),
            )
        careers = await self.repo.careers([entry.slug for entry in entries])
        shown = {slug: ids if talks is None else ids[:talks] for slug, (ids, _) in careers.items()}
        talks_by_id = await self.repo.get_talks([i for ids in shown.values() for i in ids])
        return [
            PersonProfile(
                entry.slug,
                entry.name,
                tuple(careers[entry.slug][1]),
                tuple(talks_by_id[i] for i in shown[entry.slug] if i in talks_by_id),
                total=len(careers[entry.slug][0]),
            )
            for entry in entries
            if entry.slug in careers
        ]

    # -- browsing ----------------------------------------------------------------------------------------

    async def events(self) -> list[tuple[Event, int]]:
        """Every event with its number of talks."""
        return await self.repo.list_events()

    async def topics(self) -> list[Count]:
        """Every topic with talks, most talks first."""
        return await self.repo.list_topics()

    async def topic_tree(self) -> list[Count]:
        """Every topic with talks as a tree: broad topics (most talks first), each followed by its narrower ones.

        A topic under two broader topics is listed under each; its `depth` says how far down it is.
        """
        topics = await self.repo.list_topics()
        by_slug = {t.slug: t for t in topics}
        tree = self.engine.tree
        out: list[Count] = []

        def visit(topic: Count, depth: int, trail: frozenset[str]) -> None:
            out.append(replace(topic, depth=depth))
            below = [by_slug[s] for s in tree.children.get(topic.slug, ()) if s in by_slug and s not in trail]
            for child in sorted(below, key=lambda t: (-t.talks, t.name)):
                visit(child, depth + 1, trail | {child.slug})

        for topic in topics:  # most talks first
            if not any(parent in by_slug for parent in tree.parents.get(topic.slug, ())):
                visit(topic, 0, frozenset({topic.slug}))
        shown = {t.slug for t in out}
        for topic in topics:  # in a cycle of one's own vocabulary (A under B under A) no topic is a root
            if topic.slug not in shown:
                visit(topic, 0, frozenset({topic.slug}))
                shown.update(t.slug for t in out)
        return out

    def resolve_topic(self, text: str) -> str:
        """A topic's slug from its slug or name; a friendly error with suggestions otherwise."""
        slug = self._topic_slug(text)
        if slug is None:
            raise TopicNotFound(
                f"There is no topic “{_quote(text)}”.",
                tuple(s.label for s in self.engine.suggest_topics(text)[:5]),
            )
        return slug

    def _topic_slug(self, text: str) -> str | None:
        key = " ".join(fold(text).split())
        if key in self.engine.topics:
            return key
        found = self.engine.topic_by_name.get(key)
        if found is not None:
            return found
        dashed = key.replace(" ", "-")
        return dashed if dashed in self.engine.topics else None

    def resolve_language(self, text: str) -> str:
        """A language code from a code or a name ("de", "German", "Deutsch"); a friendly error otherwise."""
        code = language_code(text)
        if code is None:
            raise UserFacingError(
                f"“{_quote(text)}” is not a language I know: use a code such as `en` or `de`, or a name such as German."
            )
        if code not in self.engine.languages:
            held = ", ".join(f"{language_name(c)} ({c})" for c in self.languages()) or "none"
            raise UserFacingError(
                f"No talk in the catalogue is marked as given in {language_name(code)}. Languages: {held}."
            )
        return code

    def languages(self) -> list[str]:
        """The languages talks are marked as given in, the most talks first."""
        return sorted(self.engine.languages, key=lambda code: (-len(self.engine.languages[code]), code))

    def usual_language(self) -> str | None:
        """The language most talks are given in, which cards need not mention."""
        found = self.languages()
        return found[0] if found else None

    def resolve_event(self, text: str) -> Event:
        """An event from its slug, name or short name."""
        key = " ".join(fold(text).split())
        for slug, label in self.engine.events.items():
            if key in (slug, fold(label.name), fold(label.short_name or "")):
                return Event(slug, label.name, label.short_name)
        suggestions = self.engine.suggest_events(text)
        if len(suggestions) == 1 or (suggestions and key and fold(suggestions[0].label).startswith(key)):
            label = self.engine.events[suggestions[0].key]
            return Event(label.slug, label.name, label.short_name)
        raise EventNotFound(f"There is no event “{_quote(text)}”.", tuple(s.label for s in suggestions[:5]))

    # -- autocomplete (in memory, no await: these run on every keystroke) ----------------------------------

    def suggest_titles(self, typed: str) -> list[Suggestion]:
        """Talk titles for what has been typed."""
        return self.engine.suggest_titles(typed)

    def suggest_speakers(self, typed: str) -> list[Suggestion]:
        """People for what has been typed."""
        return self.engine.suggest_speakers(typed)

    def suggest_languages(self, typed: str) -> list[Suggestion]:
        """The catalogue's languages ("German (de)") whose name or code starts with what has been typed."""
        key = fold(typed.strip())
        found = []
        for code in self.languages():
            name = language_name(code)
            if not key or fold(name).startswith(key) or code.startswith(key):
                found.append(Suggestion(code, f"{name} ({code})"))
        return found[:25]

    def suggest_topics(self, typed: str) -> list[Suggestion]:
        """Topics for what has been typed."""
        return self.engine.suggest_topics(typed)

    def suggest_events(self, typed: str) -> list[Suggestion]:
        """Events for what has been typed."""
        return self.engine.suggest_events(typed)


async def _load_engine(db: Database) -> SearchEngine:
    """The search engine, read in a worker thread; an index it had to build is saved through the write path."""
    engine, saving = await db.scan(open_engine)
    if saving is not None:
        await db.write(saving)
    return engine


def _quote(text: str, limit: int = 80) -> str:
    """User text, shortened, for an error message."""
    text = " ".join(inert(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
