"""The engines we measure ourselves against, over the same text: plain BM25, sparse-matrix BM25, tantivy.

Each peer indexes one text per talk (title, topics, speakers, organisations, summary) and answers a
query with the row numbers of its best `k` talks. Query-time work (tokenising the query) is included in
what is timed, as it is for our engine.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import snowballstemmer

_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class PeerDoc:
    """One talk's text, field by field."""

    title: str
    topics: str
    speakers: str
    summary: str

    @property
    def text(self) -> str:
        """All fields as one text."""
        return f"{self.title}\n{self.topics}\n{self.speakers}\n{self.summary}"


class Peer(Protocol):
    """A search engine under comparison."""

    name: str

    def search(self, query: str, k: int = 5) -> list[int]:
        """Rows of the best `k` documents for the query, best first."""
        ...


def plain_tokens(text: str) -> list[str]:
    """Lower-case letter-and-digit runs: the tokenisation a plain BM25 baseline would use."""
    return _TOKEN.findall(text.lower())


class RankBM25:
    """`rank_bm25.BM25Okapi`: BM25 scored in numpy over every document for every query term."""

    name = "rank_bm25"

    def __init__(self, docs: Sequence[PeerDoc]) -> None:
        from rank_bm25 import BM25Okapi

        self._bm25 = BM25Okapi([plain_tokens(d.text) or [""] for d in docs])

    def search(self, query: str, k: int = 5) -> list[int]:
        """Rows of the best `k` documents (score > 0)."""
        scores = self._bm25.get_scores(plain_tokens(query))
        k = min(k, len(scores))
        rows = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return [int(r) for r in rows if scores[r] > 0]


class BM25S:
    """`bm25s`: BM25 impacts precomputed into a sparse matrix, English stop words and Snowball stemming."""

    name = "bm25s"

    def __init__(self, docs: Sequence[PeerDoc]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.ERROR)
        self._bm25s = bm25s
        self._stemmer = snowballstemmer.stemmer("english")
        tokens = bm25s.tokenize(
            [d.text for d in docs], stopwords="en", stemmer=self._stemmer.stemWords, show_progress=False
        )
        self._retriever = bm25s.BM25()
        self._retriever.index(tokens, show_progress=False)
        self._size = len(docs)

    def search(self, query: str, k: int = 5) -> list[int]:
        """Rows of the best `k` documents (score > 0)."""
        tokens = self._bm25s.tokenize(
            [query], stopwords="en", stemmer=self._stemmer.stemWords, show_progress=False, return_ids=False
        )
        if not tokens or not tokens[0]:
            return []
        rows, scores = self._retriever.retrieve(tokens, k=min(k, self._size), show_progress=False, n_threads=1)
        return [int(r) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]


class Tantivy:
    """`tantivy`: a Lucene-style inverted index in RAM, English stemming, BM25 per field."""

    name = "tantivy"
    FIELDS = ("title", "topics", "speakers", "summary")

    def __init__(self, docs: Sequence[PeerDoc]) -> None:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("row", stored=True, fast=True)
        for name in self.FIELDS:
            builder.add_text_field(name, stored=False, tokenizer_name="en_stem", index_option="freq")
        schema = builder.build()
        self._index = tantivy.Index(schema)
        writer = self._index.writer(heap_size=200_000_000, num_threads=1)
        for row, doc in enumerate(docs):
            writer.add_document(
                tantivy.Document(
                    row=row, title=doc.title, topics=doc.topics, speakers=doc.speakers, summary=doc.summary
                )
            )
        writer.commit()
        writer.wait_merging_threads()
        self._index.reload()
        self._searcher = self._index.searcher()

    def search(self, query: str, k: int = 5) -> list[int]:
        """Rows of the best `k` documents."""
        tokens = plain_tokens(query)
        if not tokens:
            return []
        parsed = self._index.parse_query(" ".join(tokens), list(self.FIELDS))
        found = self._searcher.search(parsed, k)
        return [int(self._searcher.doc(address)["row"][0]) for _, address in found.hits]
