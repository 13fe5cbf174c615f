from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.highlights.rotation import Pick, next_talk


class Rotation:
    """What a store keeps for one schedule: the round, what it posted and the last talk."""

    def __init__(self, pool, seed=1):
        self.pool, self.seed = list(pool), seed
        self.round, self.posted, self.last = 0, set(), None

    def post_next(self):
        pick = next_talk(self.pool, frozenset(self.posted), self.round, self.seed, self.last)
        assert pick is not None
        if pick.round > self.round:
            self.round, self.posted = pick.round, set()
        self.posted.add(pick.talk)
        self.last = pick.talk
        return pick


def rounds(pool, count, seed=1):
    rotation = Rotation(pool, seed)
    picks = [rotation.post_next() for _ in range(count * len(pool))]
    return [[p.talk for p in picks if p.round == r] for r in range(count)]


POOL = [f"talk-{i}" for i in range(30)]


def test_every_talk_is_posted_once_before_any_repeats():
    for order in rounds(POOL, 4):
        assert sorted(order) == sorted(POOL)


def test_each_round_has_its_own_order():
    orders = rounds(POOL, 4)
    assert len({tuple(order) for order in orders}) == 4
    assert orders[0] != POOL  # shuffled, not catalogue order


def test_each_schedule_has_its_own_order():
    assert rounds(POOL, 1, seed=1) != rounds(POOL, 1, seed=2)


def test_the_same_inputs_give_the_same_pick():
    assert next_talk(POOL, frozenset(), 3, 7) == next_talk(list(reversed(POOL)), set(), 3, 7)


def test_a_new_round_never_starts_with_the_talk_that_ended_the_last():
    for seed in range(300):
        orders = rounds(["a", "b", "c"], 3, seed)
        assert orders[0][-1] != orders[1][0]
        assert orders[1][-1] != orders[2][0]


def test_talks_added_mid_round_join_that_round():
    rotation = Rotation(POOL)
    first = [rotation.post_next() for _ in range(10)]
    rotation.pool += ["new-1", "new-2"]
    rest = [rotation.post_next() for _ in range(22)]
    assert {p.round for p in first + rest} == {0}
    assert {p.talk for p in first + rest} == {*POOL, "new-1", "new-2"}
    assert rotation.post_next().round == 1


def test_removed_talks_do_not_hold_a_round_open():
    rotation = Rotation(["a", "b", "c"])
    rotation.post_next()
    rotation.pool = [t for t in rotation.pool if t not in rotation.posted][:1]
    assert rotation.post_next().round == 0
    assert rotation.post_next().round == 1


def test_a_pool_of_one_repeats_it_every_round():
    assert next_talk(["only"], {"only"}, 4, 1, last="only") == Pick("only", 5)


def test_an_empty_pool_has_nothing_to_post():
    assert next_talk([], frozenset(), 0, 1) is None


def test_a_pool_of_100k_takes_one_pass():
    pool = [f"talk-{i}" for i in range(100_000)]
    posted = frozenset(pool[:99_999])
    assert next_talk(pool, posted, 0, 1) == Pick("talk-99999", 0)


@given(pool=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=25, unique=True), seed=st.integers())
def test_any_pool_is_covered_round_after_round(pool, seed):
    for order in rounds(pool, 3, seed):
        assert sorted(order) == sorted(pool)
