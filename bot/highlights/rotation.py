"""Which talk a schedule posts next: every talk of the pool once per round, each round in its own order."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pick:
    """The talk to post and the round it belongs to (one more than given when that round was complete)."""

    talk: str
    round: int


def next_talk(
    pool: Sequence[str],
    posted: AbstractSet[str],
    round: int,
    seed: int,
    last: str | None = None,
    saved: Mapping[str, int] | None = None,
) -> Pick | None:
    """The next talk of `seed`'s rotation, or None for an empty pool.

    `posted` holds the talks already posted in `round`; talks added to the pool since the round began are
    simply not in it, so they join the round. Once every talk has been posted, round + 1 begins, and not with
    `last` (the talk posted most recently) unless the pool holds nothing else. One pass over the pool.

    `saved` (how many members saved each talk) puts the most saved first within a round; the round's own
    order breaks ties. A round still holds every talk of the pool once, so nothing repeats before the pool
    is exhausted: a saved talk comes sooner, not more often.
    """
    talk = _first(round, seed, (t for t in pool if t not in posted), saved)
    if talk is not None:
        return Pick(talk, round)
    talk = _first(round + 1, seed, (t for t in pool if t != last), saved)
    if talk is None:
        talk = _first(round + 1, seed, pool, saved)
    return None if talk is None else Pick(talk, round + 1)


def _first(round: int, seed: int, talks: Iterable[str], saved: Mapping[str, int] | None) -> str | None:
    """The talk first in the round's order: the smallest keyed hash, so a talk can join at any time."""
    order = _order(round, seed)
    if not saved:
        return min(talks, key=order, default=None)
    return min(talks, key=lambda talk: (-saved.get(talk, 0), order(talk)), default=None)


def _order(round: int, seed: int) -> Callable[[str], bytes]:
    keyed = hashlib.blake2b(digest_size=8, key=f"{seed}:{round}".encode())

    def key(talk: str) -> bytes:
        digest = keyed.copy()
        digest.update(talk.encode())
        return digest.digest()

    return key
