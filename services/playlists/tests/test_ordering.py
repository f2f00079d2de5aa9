"""Order keys (pure): byte order is path order, a key fits between any two, keys stay short
under thousands of inserts at one spot, and random edits agree with a plain list."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medley_playlists import ordering
from medley_playlists.ordering import (
    MAX_KEY_BYTES,
    REBALANCE_AT,
    decode,
    encode,
    encode_int,
    key_between,
    keys_between,
    needs_rebalance,
    spread,
)

integers = st.integers(min_value=-(62**6), max_value=62**6)
paths = st.lists(integers, min_size=1, max_size=5).map(tuple)


@given(paths)
def test_a_key_decodes_to_its_path(path: tuple[int, ...]) -> None:
    assert decode(encode(path)) == path


@given(paths, paths)
def test_byte_order_is_path_order(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    # Python compares str by code point, which for ASCII is byte order, i.e. COLLATE "C".
    ka, kb = encode(a), encode(b)
    assert (ka < kb) == (a < b)
    assert (ka == kb) == (a == b)
    assert ka.isascii()


@pytest.mark.parametrize(
    ("n", "token"),
    [(0, "a0"), (61, "az"), (62, "b00"), (-1, "Zz"), (-62, "Z0"), (-63, "Yzz")],
)
def test_tokens_grow_at_powers_of_62(n: int, token: str) -> None:
    assert encode_int(n) == token


@pytest.mark.parametrize("bad", ["", "a", "b0", "a!", "0", "azz_"])
def test_anything_else_is_not_a_key(bad: str) -> None:
    with pytest.raises(ValueError, match="order key"):
        decode(bad)


@given(st.lists(paths, min_size=2, max_size=2, unique=True), st.integers(1, 120))
def test_keys_between_fit_strictly_in_order(pair: list[tuple[int, ...]], count: int) -> None:
    low, high = sorted(encode(p) for p in pair)
    made = keys_between(low, high, count)
    assert len(made) == count
    assert [low, *made, high] == sorted({low, *made, high})


@given(paths, st.integers(1, 120))
def test_keys_at_either_end(path: tuple[int, ...], count: int) -> None:
    key = encode(path)
    after = keys_between(key, None, count)
    before = keys_between(None, key, count)
    assert [*before, key, *after] == sorted({*before, key, *after})
    assert len(keys_between(None, None, count)) == count


def test_keys_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="out of order"):
        key_between("b01", "a5")
    with pytest.raises(ValueError, match="out of order"):
        key_between("a5", "a5")


def _insert_repeatedly(pattern: str, times: int) -> list[str]:
    """A list of 3 items, then ``times`` inserts at one spot: always before the last one
    inserted (position 1, again and again) or always after it."""
    items = spread(3)
    spot = 1
    for _ in range(times):
        low = items[spot - 1] if spot > 0 else None
        high = items[spot] if spot < len(items) else None
        items.insert(spot, key_between(low, high))
        if pattern == "after":
            spot += 1
    return items


@pytest.mark.parametrize("pattern", ["before", "after"])
def test_ten_thousand_inserts_at_one_spot_keep_keys_short(pattern: str) -> None:
    items = _insert_repeatedly(pattern, 10_000)
    assert items == sorted(items)
    assert len(set(items)) == len(items)
    longest = max(map(len, items))
    # Without ever rebalancing: far under the bound (halving would need ~1,700 characters).
    assert longest <= 10, longest
    assert not needs_rebalance(items)


def test_alternating_inserts_grow_until_a_rebalance_is_due() -> None:
    """Zig-zagging into the same gap defeats every scheme; the bound catches it."""
    low, high = spread(2)
    grown = False
    for step in range(200):
        middle = key_between(low, high)
        if needs_rebalance([middle]):
            grown = True
            break
        low, high = (middle, high) if step % 2 else (low, middle)
    assert grown
    assert len(middle) <= MAX_KEY_BYTES


def test_spread_keys_are_ordered_with_room_between() -> None:
    keys = spread(10_000)
    assert keys == sorted(keys)
    assert max(map(len, keys)) <= 4
    # 100 items moved between any two neighbours still land on single integers or one
    # level further down.
    moved = keys_between(keys[4_999], keys[5_000], 100)
    assert max(map(len, moved)) <= 8


# --- random edits against a plain list -------------------------------------------------------


class Model:
    """A playlist as a plain list of item ids, and the same playlist as ids with order keys,
    edited through the same operations as the service: insert at a position, move a range
    (Spotify's range_start, range_length, insert_before), remove."""

    def __init__(self) -> None:
        self.plain: list[int] = []
        self.keyed: dict[int, str] = {}
        self.next_id = 0

    def ordered(self) -> list[int]:
        return sorted(self.keyed, key=self.keyed.__getitem__)

    def _neighbours(self, order: list[int], index: int) -> tuple[str | None, str | None]:
        low = self.keyed[order[index - 1]] if index > 0 else None
        high = self.keyed[order[index]] if index < len(order) else None
        return low, high

    def insert(self, position: int, count: int) -> None:
        order = self.ordered()
        position = min(position, len(order))
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        keys = keys_between(*self._neighbours(order, position), count)
        self.keyed.update(zip(ids, keys, strict=True))
        self.plain[position:position] = ids
        self._rebalance_if_due(keys)

    def move(self, start: int, length: int, before: int) -> None:
        order = self.ordered()
        if not order:
            return
        start %= len(order)
        length = max(1, min(length, len(order) - start))
        before %= len(order) + 1
        moved = self.plain[start : start + length]
        if start <= before <= start + length:
            return  # a no-op, as Spotify defines it
        keys = keys_between(*self._neighbours(order, before), length)
        self.keyed.update(zip(moved, keys, strict=True))
        rest = self.plain[:start] + self.plain[start + length :]
        at = before if before < start else before - length
        self.plain = rest[:at] + moved + rest[at:]
        self._rebalance_if_due(keys)

    def remove(self, position: int) -> None:
        if self.plain:
            gone = self.plain.pop(position % len(self.plain))
            del self.keyed[gone]

    def _rebalance_if_due(self, keys: list[str]) -> None:
        if needs_rebalance(keys):
            self.keyed = dict(zip(self.ordered(), spread(len(self.keyed)), strict=True))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 60), st.integers(1, 12)),
        st.tuples(st.just("move"), st.integers(0, 60), st.integers(1, 12), st.integers(0, 61)),
        st.tuples(st.just("remove"), st.integers(0, 60)),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_random_edits_agree_with_a_plain_list(ops: list[tuple[object, ...]]) -> None:
    model = Model()
    for op in ops:
        name, *args = op
        getattr(model, str(name))(*args)
        assert model.ordered() == model.plain
        assert all(len(key) <= MAX_KEY_BYTES for key in model.keyed.values())
        assert len(set(model.keyed.values())) == len(model.keyed)


def test_a_long_random_session_stays_within_the_bound() -> None:
    rng = random.Random(9)
    model = Model()
    model.insert(0, 200)
    for _ in range(3_000):
        roll = rng.random()
        size = len(model.plain)
        if roll < 0.5:
            model.insert(rng.randrange(size + 1), rng.randint(1, 3))
        elif roll < 0.8 and size:
            model.move(rng.randrange(size), rng.randint(1, 20), rng.randrange(size + 1))
        else:
            model.remove(rng.randrange(max(size, 1)))
    assert model.ordered() == model.plain
    assert max(map(len, model.keyed.values())) <= REBALANCE_AT
    assert ordering.decode(model.keyed[model.plain[0]])
