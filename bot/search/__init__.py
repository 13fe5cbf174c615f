"""Finding talks: text analysis, the ranked index, typo tolerance, name lookup and autocomplete.

SQLite stays the source of truth. Ranking runs on an in-memory index built from it, because FTS5's
`ORDER BY bm25()` must score every match and took about 60 ms at 100,000 talks for common words,
twelve times the 5 ms target; see `bot.search.index` for the design and `benchmarks/` for the figures.

Measured by `python -m benchmarks` at 100,000 synthetic talks whose commonest words are in a third of
all talks (2-core machine): search p99 0.6 ms and more-like-this 1.4 ms (tantivy 1.6 and 2.2 ms, bm25s
16 and 5.7 ms, rank_bm25 360 ms), speaker lookup 0.7 ms, autocomplete 1.4 ms; a restart answers its
first query 0.75 s after the process starts and peaks at 217 MB. What makes that possible:

- the index, the title and speaker completers and the list of people are saved beside the catalogue
  (`bot.search.store`, `bot.search.corpus`) and read back without copying or re-sorting;
- scoring is numpy over precomputed BM25F impacts, and the best are picked among the few talks that
  can win (`bot.search.index`);
- name, typo and autocomplete lookups are binary searches over sorted arrays, not dicts of lists.

The first start after an import builds all that and saves it: 12 s for 100,000 talks (peak 234 MB), once.
"""
