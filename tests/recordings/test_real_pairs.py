"""The real pairs of a programme and its recordings in ../shared (see `benchmarks.recordings_bench`): the targets hold.

Marked `realdata`: skipped with one line when the shared folder is not beside the checkout.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks import recordings_bench

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize("make", recordings_bench.PAIRS, ids=lambda make: make.__name__)
def test_precision_and_recall_reach_the_targets_and_beat_the_baseline(
    make: Callable[[], recordings_bench.Pair], tmp_path: Path
) -> None:
    pair = make()
    assert pair.truth, "the answer key is empty: the data changed"
    ours, plain, _, _, _ = recordings_bench.measure(pair, tmp_path)
    assert ours.precision >= 0.99, pair.name
    assert ours.recall >= 0.95, pair.name
    assert ours.wrong_no_talk == 0  # videos whose talk is not in the programme stay unmatched
    assert ours.precision >= plain.precision
