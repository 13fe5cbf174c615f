"""Finding talks: text analysis, the ranked index, typo tolerance, name lookup and autocomplete.

SQLite stays the source of truth. Ranking runs on an in-memory index built from it, because FTS5's
`ORDER BY bm25()` must score every match and took about 60 ms at 100,000 talks for common words,
twelve times the 5 ms target; see `bot.search.index` for the design and `benchmarks/` for the figures.
"""
