"""The search engine's shortcuts give exactly what the plain way gives."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.catalogue.native import load_native
from bot.db.connection import sync_db
from bot.db.writer import apply_document
from bot.domain.text import fold, words
from bot.search.analysis import Analyzer, Vocabulary, fast_fold, fast_words
from bot.search.corpus import load_engine
from bot.search.index import IndexedTalk, SearchIndex

KUBECON = Path(__file__).resolve().parents[2] / "data" / "kubecon-na-2019.toml"
QUERIES = ["service mesh", "kubernetes security", "observability", "envoy", "william morgan", "linkerd mtls", "helm",
           "operator", "prometheus metrics", "serverless", "obsevability", "k8s networking", "storage csi", "zzz"]  # fmt: skip


@given(st.text(max_size=200))
def test_the_ascii_shortcut_folds_and_splits_exactly_like_the_plain_way(text: str) -> None:
    assert fast_fold(text) == fold(text)
    assert fast_words(text) == words(text)


def kubecon(tmp_path: Path) -> sqlite3.Connection:
    with sync_db(tmp_path / "k.sqlite3") as setup:
        apply_document(setup, load_native(KUBECON))
    return sqlite3.connect(tmp_path / "k.sqlite3", isolation_level=None)


def test_an_engine_restored_from_its_saved_state_answers_exactly_as_the_built_one(tmp_path: Path) -> None:
    conn = kubecon(tmp_path)
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
    conn = kubecon(tmp_path)
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
