"""The byte-bounded cache the search keeps its per-level arrays in (advisor/search/bounded.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from advisor.search.bounded import BoundedCache


def test_the_least_recently_used_is_dropped_past_the_limit() -> None:
    cache: BoundedCache[str, bytes] = BoundedCache(10, len)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # now the most recently used
    cache.put("c", b"1234")  # 12 bytes: "b" goes
    assert (cache.get("b"), cache.get("a"), cache.get("c")) == (None, b"1234", b"1234")
    assert (len(cache), cache.held) == (2, 8)


def test_a_value_over_the_limit_is_kept_alone_and_a_key_put_again_replaced() -> None:
    cache: BoundedCache[str, bytes] = BoundedCache(4, len)
    cache.put("a", b"12")
    cache.put("big", b"123456")
    assert (list(cache.values()), cache.held) == ([b"123456"], 6)
    cache.put("big", b"1")
    assert (list(cache.values()), cache.held) == ([b"1"], 1)


@given(
    limit=st.integers(0, 40),
    puts=st.lists(st.tuples(st.integers(0, 6), st.binary(max_size=12)), max_size=40),
    gets=st.lists(st.integers(0, 6), max_size=40),
)
def test_the_cache_drops_as_a_list_in_order_of_use_would(
    limit: int, puts: list[tuple[int, bytes]], gets: list[int]
) -> None:
    # Against a plain list in order of use: a put or a hit moves its key last, and each put
    # drops from the front until the rest fit (or one is left).
    cache: BoundedCache[int, bytes] = BoundedCache(limit, len)
    used: list[tuple[int, bytes]] = []
    for (key, value), got in zip(puts, gets + [-1] * len(puts), strict=False):
        cache.put(key, value)
        used = [item for item in used if item[0] != key] + [(key, value)]
        while sum(len(v) for _, v in used) > limit and len(used) > 1:
            used.pop(0)
        held = dict(used)
        assert cache.get(got) == held.get(got)
        if got in held:
            used = [item for item in used if item[0] != got] + [(got, held[got])]
    assert list(cache.values()) == [value for _, value in used]
    assert cache.held == sum(len(v) for _, v in used)
