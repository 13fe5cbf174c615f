"""The search engine's shortcuts give exactly what the plain way gives.

The catalogue searched is tests/fixtures/conference.toml (a parent event, three co-located events, 27
talks), and, where the real data is beside the checkout, the KubeCon NA 2019 list as well (`realdata`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.kubecon_list import document
from bot.catalogue.formats.document import CatalogueDocument
from bot.catalogue.native import load_native
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db
from bot.domain.text import fold, words
from bot.search.analysis import Analyzer, Vocabulary, fast_fold, fast_words
from bot.search.corpus import load_engine
from bot.search.engine import EVENT_PENALTY, PERSON_PENALTY, SearchEngine
from bot.search.index import Hit, IndexedTalk, SearchIndex

CONFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "conference.toml"
QUERIES = ["service mesh", "kubernetes security", "observability", "envoy", "william morgan", "priya raman",
           "linkerd mtls", "helm", "operator", "prometheus metrics", "serverless", "obsevability", "k8s networking",
           "storage csi", "zzz"]  # fmt: skip
CATALOGUES = ["conference", pytest.param("kubecon", marks=pytest.mark.realdata)]


@given(st.text(max_size=200))
def test_the_ascii_shortcut_folds_and_splits_exactly_like_the_plain_way(text: str) -> None:
    assert fast_fold(text) == fold(text)
    assert fast_words(text) == words(text)


def _document(name: str) -> CatalogueDocument:
    return load_native(CONFERENCE) if name == "conference" else document()


def catalogue(tmp_path: Path, name: str) -> sqlite3.Connection:
    """A connection to a new database holding the catalogue `name` ("conference" or "kubecon")."""
    with sync_db(tmp_path / "k.sqlite3") as setup:
        apply_document(setup, _document(name))
    return sqlite3.connect(tmp_path / "k.sqlite3", isolation_level=None)


@pytest.fixture(scope="module", params=CATALOGUES)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    conn = catalogue(tmp_path_factory.mktemp(request.param), request.param)
    try:
        return load_engine(conn)
    finally:
        conn.close()


def test_the_test_catalogue_gives_the_shortcuts_something_to_do(tmp_path: Path) -> None:
    """Several events, people with several talks, talks without speakers and queries that match."""
    conn = catalogue(tmp_path, "conference")
    try:
        built = load_engine(conn)
    finally:
        conn.close()
    assert len(built.events) == 4 and len(built.topics) >= 10
    assert max(len(docs) for docs in built.index.person_docs.values()) >= 3
    assert (built.index.first_person < 0).any()
    assert len(built.search("service mesh", limit=30).hits) >= 8
    assert built.search("priya raman", limit=10).hits and not built.search("zzz").hits


@pytest.mark.parametrize("name", CATALOGUES)
def test_an_engine_restored_from_its_saved_state_answers_exactly_as_the_built_one(tmp_path: Path, name: str) -> None:
    conn = catalogue(tmp_path, name)
    try:
        built = load_engine(conn)  # builds and saves
        assert conn.execute("SELECT COUNT(*) FROM search_cache").fetchone()[0] == 1
        restored = load_engine(conn)  # loads what was saved
        for query in QUERIES:
            a, b = built.search(query, limit=10), restored.search(query, limit=10)
            assert [(h.talk_id, round(h.score, 5)) for h in a.hits] == [(h.talk_id, round(h.score, 5)) for h in b.hits]
            assert [s.key for s in built.suggest_titles(query)] == [s.key for s in restored.suggest_titles(query)]
            assert [m.person.slug for m in built.lookup_people(query)] == [
                m.person.slug for m in restored.lookup_people(query)
            ]
    finally:
        conn.close()


def test_a_saved_index_is_rebuilt_when_the_vocabulary_changes(tmp_path: Path) -> None:
    conn = catalogue(tmp_path, "conference")
    try:
        assert not load_engine(conn).search("zorblat").hits  # not a word of any talk
        bundled = Analyzer().vocabulary
        extended = Vocabulary(
            {**bundled.phrases, ("zorblat",): ("kubernetes",)}, bundled.stopwords
        )
        engine = load_engine(conn, analyzer=Analyzer(extended))  # the saved index knows nothing of the new phrase
        assert engine.search("zorblat").hits
        assert len(engine.search("zorblat", limit=10).hits) == len(engine.search("kubernetes", limit=10).hits)
    finally:
        conn.close()


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.floats(min_value=0, max_value=10, allow_nan=False, width=32) | st.just(0.0), min_size=1, max_size=300
    ),
    k=st.integers(min_value=1, max_value=60),
)
def test_top_k_equals_sorting_every_score(data: list[float], k: int) -> None:
    talks = [IndexedTalk(talk_id=1000 + i, title=f"t{i}") for i in range(len(data))]
    index = SearchIndex.build(talks, Analyzer())
    scores = np.asarray(data, dtype=np.float32)
    expected = sorted(((-s, 1000 + i) for i, s in enumerate(data) if s > 0))[:k]
    got = index.top(scores, k)
    assert [(h.talk_id, h.score) for h in got] == [(tid, float(np.float32(-s))) for s, tid in expected]


def _diversify_by_rescoring(engine: SearchEngine, hits: list[Hit], limit: int) -> list[Hit]:
    """The plain greedy: rescore every candidate each round (what the lazy version must equal)."""
    rows = engine.index.rows_of([hit.talk_id for hit in hits])
    remaining = [
        (hit, int(engine.index.first_person[row]), int(engine.index.event_of[row]))
        for hit, row in zip(hits, rows, strict=True)
    ]
    page: list[Hit] = []
    people: dict[int, int] = {}
    events: dict[int, int] = {}
    while remaining and len(page) < limit:
        best_at, best_value = 0, -1.0
        for at, (hit, person, event) in enumerate(remaining):
            value = hit.score * PERSON_PENALTY ** people.get(person, 0) * EVENT_PENALTY ** events.get(event, 0)
            if value > best_value:
                best_at, best_value = at, value
        chosen, person, event = remaining.pop(best_at)
        if person >= 0:
            people[person] = people.get(person, 0) + 1
        events[event] = events.get(event, 0) + 1
        page.append(chosen)
    return page


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scores=st.lists(st.sampled_from([0.5, 1.0, 1.0, 2.0, 2.5, 3.0]) | st.floats(0, 5, width=32), min_size=1, max_size=60),
    limit=st.integers(min_value=1, max_value=30),
)
def test_lazy_diversity_picks_exactly_what_rescoring_every_round_picks(
    engine: SearchEngine, scores: list[float], limit: int
) -> None:
    ids = engine.index.talk_ids.tolist()
    hits = [Hit(int(ids[(at * 7) % len(ids)]), score) for at, score in enumerate(scores)]
    hits = list({hit.talk_id: hit for hit in hits}.values())
    assert engine._diversify(hits, limit) == _diversify_by_rescoring(engine, hits, limit)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.sampled_from(QUERIES),
    topic_picks=st.lists(st.integers(0, 10_000), max_size=2),
    event_pick=st.none() | st.integers(0, 10_000),
    person_pick=st.none() | st.integers(0, 10_000),
)
def test_filtered_search_ranks_exactly_what_filtering_every_score_ranks(
    engine: SearchEngine, query: str, topic_picks: list[int], event_pick: int | None, person_pick: int | None
) -> None:
    index = engine.index
    topic_slugs = sorted(engine.topics)
    topics = [topic_slugs[n % len(topic_slugs)] for n in topic_picks]
    events = [] if event_pick is None else [sorted(engine.events)[event_pick % len(engine.events)]]
    people = [] if person_pick is None else [list(index.person_docs)[person_pick % len(index.person_docs)]]
    got = engine.search(query, topics=topics, events=events, person_ids=people, limit=10).hits

    # The plain way: a mask over every talk, every score outside it zeroed, the top 30, then diversity.
    allowed = np.ones(index.size, dtype=np.bool_)
    if topics:
        in_topics = np.zeros(index.size, dtype=np.bool_)
        for slug in (narrower for topic in topics for narrower in engine.tree.family(topic)):  # with narrower ones
            if engine.topics[slug].id in index.topic_docs:
                in_topics[index.topic_docs[engine.topics[slug].id]] = True
        allowed &= in_topics
    if events:
        allowed &= np.isin(index.event_of, engine.event_family(events[0]))
    if people:
        in_people = np.zeros(index.size, dtype=np.bool_)
        in_people[index.person_docs[people[0]]] = True
        allowed &= in_people
    plan = engine.plan(query)
    if not plan.terms:
        return
    scores = np.where(allowed, index.score(plan.terms), np.float32(0))
    order = sorted((i for i in range(index.size) if scores[i] > 0), key=lambda i: (-scores[i], index.talk_ids[i]))
    expected = engine._diversify([Hit(int(index.talk_ids[i]), float(scores[i])) for i in order[:30]], 10)
    assert [h.talk_id for h in got] == [h.talk_id for h in expected]
