"""The shared-subtree DAG computes the tree engine's figures, with far fewer nodes."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.errors import StoppedError
from advisor.geometry.layouts import dilation_permutation, structure_from_permutation
from advisor.search import subtree_dag
from advisor.search.candidates import window_schedules
from advisor.search.subtree_dag import SubtreeDagBuilder
from advisor.seprank.tree import log2_min_cut
from advisor.stopping import StopSignal
from tests.support.memory import traced_peak
from tests.support.trees import draw_tree_and_labels

SHAPES = [(4, 4), (8,), (16,), (2, 8), (8, 8), (32,)]


@pytest.mark.slow
@settings(max_examples=150)
@given(
    shape=st.sampled_from(SHAPES),
    correlations=st.integers(1, 4),
    points=st.integers(1, 6),
    integral=st.booleans(),
    data=st.data(),
)
def test_figures_equal_the_tree_engine(
    shape: tuple[int, ...], correlations: int, points: int, integral: bool, data: st.DataObject
) -> None:
    n = math.prod(shape)
    pools = data.draw(st.sampled_from(window_schedules(shape, 1, 6)))
    permutation = np.array(data.draw(st.permutations(range(n))))
    structure = structure_from_permutation(shape, pools, permutation)
    rows = st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n)
    labels = np.array([data.draw(rows) for _ in range(correlations)], dtype=np.int8)
    if data.draw(st.booleans()):  # regions with pure subtrees, where sharing matters
        labels[0] = np.where(np.arange(n) < n // 2, 1, 2)
    widths = st.floats(0.0, 6.0) if not integral else st.integers(0, 6).map(float)
    x = np.array([[data.draw(widths) for _ in range(structure.depth + 1)] for _ in range(points)])
    dag = SubtreeDagBuilder(labels).build(structure.windows, range(structure.depth))
    expected = log2_min_cut(structure, labels, x[:, 1:], x[:, 0], shared_weights=True)
    np.testing.assert_allclose(dag.log2_ranks(x), expected, atol=1e-9)


def _halves(n: int) -> np.ndarray:
    return np.where(np.arange(n) < n // 2, 1, 2).astype(np.int8)[None, :]


def test_repeated_subtrees_are_interned_once() -> None:
    n = 256 * 256
    shape, pools = (256, 256), [(2, 2)] * 8
    labels = _halves(256)[:, np.arange(n) % 256]  # left vs right columns
    structure = structure_from_permutation(shape, pools, np.arange(n))
    dag = SubtreeDagBuilder(labels).build(structure.windows, range(8))
    assert max(level.num_types for level in dag.levels) <= 5


def test_a_global_window_is_counted_without_copying_every_correlation_s_labels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The shallow baseline pools every location in one window. Its children were gathered for
    # every correlation at once and counted type by type into int64 (1,024 box correlations at
    # 1024x1024: 12 s and 2 GB beside the labels before the first poll, so a 10 s search
    # returned after 15 s); they are now gathered a few correlations at a time.
    monkeypatch.setattr(subtree_dag, "_GATHERED_ENTRIES", 2**12)
    correlations, n = 64, 2**14
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=(correlations, n), dtype=np.int8)
    dag, peak = traced_peak(
        lambda: SubtreeDagBuilder(labels).build([np.arange(n)[None]], ["global"])
    )
    (level,) = dag.levels
    for row, root in zip(labels, dag.roots, strict=True):
        children = level.child[level.start[root] : level.start[root + 1]]
        counts = level.count[level.start[root] : level.start[root + 1]]
        assert dict(zip(children.tolist(), counts.tolist(), strict=True)) == {
            t: int(c) for t, c in enumerate(np.bincount(row, minlength=3)) if c
        }
    assert peak < labels.nbytes // 4


def test_small_windows_are_keyed_a_few_correlations_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Windows of four children, each member a quarter of the grid from the next (an interleaved
    # first level): summed a column of every correlation at a time, each column a quarter of the
    # labels, one tree's first level at 1024x1024 with 1,024 correlations took 20 s.
    monkeypatch.setattr(subtree_dag, "_GATHERED_ENTRIES", 2**12)
    correlations, n = 64, 2**14
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, size=(correlations, n), dtype=np.int8)
    windows = np.arange(n).reshape(4, -1).T.copy()
    keys, peak = traced_peak(lambda: subtree_dag._window_keys(labels, windows, 5, 3))
    expected = (5 ** labels[:, windows].astype(np.int64)).sum(axis=2)
    np.testing.assert_array_equal(keys, expected)
    assert peak < keys.nbytes + labels.nbytes // 16


def test_equal_trees_share_a_digest_and_different_ones_do_not() -> None:
    labels = np.array([[1, 2] * 8, [1] * 8 + [2] * 8], dtype=np.int8)
    builder = SubtreeDagBuilder(labels)
    contiguous = structure_from_permutation((16,), [(2,)] * 4, np.arange(16))
    unit_dilations = structure_from_permutation(
        (16,), [(2,)] * 4, dilation_permutation(16, [1, 2, 4, 8])
    )
    reversed_dilations = structure_from_permutation(
        (16,), [(2,)] * 4, dilation_permutation(16, [8, 4, 2, 1])
    )
    digests = [
        builder.build(s.windows, [(name, level) for level in range(4)]).digest
        for name, s in [("a", contiguous), ("b", unit_dilations), ("c", reversed_dilations)]
    ]
    assert digests[0] == digests[1] != digests[2]


def test_a_misleading_cache_key_costs_time_not_correctness() -> None:
    labels = np.array([[1, 2, 0, 1, 2, 2, 1, 0]], dtype=np.int8)
    builder = SubtreeDagBuilder(labels)
    first = structure_from_permutation((8,), [(2,), (4,)], np.arange(8))
    second = structure_from_permutation((8,), [(2,), (4,)], np.array([0, 4, 1, 5, 2, 6, 3, 7]))
    keys = ["same", "key"]
    builder.build(first.windows, keys)
    reused = builder.build(second.windows, keys)
    fresh = SubtreeDagBuilder(labels).build(second.windows, keys)
    x = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
    np.testing.assert_array_equal(reused.log2_ranks(x), fresh.log2_ranks(x))


def test_the_cache_keeps_under_its_bound_and_changes_no_figure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Unbounded, a search of 1,048,576 steps held 2.3 GB of cached levels (a hundred dilation
    # orders of twenty levels each) and peaked at 4 GB.
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=(3, 256), dtype=np.int8)
    orders = [rng.permutation([1, 2, 4, 8, 16, 32, 64, 128]).tolist() for _ in range(12)]
    trees = [
        structure_from_permutation((256,), [(2,)] * 8, dilation_permutation(256, order))
        for order in orders
    ]

    def keys(windows: tuple[np.ndarray, ...]) -> list[bytes]:
        # As the search names a level: by the windows of every level up to it.
        return [b"".join(w.tobytes() for w in windows[: level + 1]) for level in range(8)]

    widths = np.log2(np.array([[2.0] * 9, [3.0] * 9, [4.0] * 9]))
    unbounded = SubtreeDagBuilder(labels)
    expected = [unbounded.build(t.windows, keys(t.windows)).log2_ranks(widths) for t in trees]
    monkeypatch.setattr(subtree_dag, "CACHE_BYTES", 4_000)
    bounded = SubtreeDagBuilder(labels)
    for tree, figures in zip(trees * 2, expected * 2, strict=True):
        built = bounded.build(tree.windows, keys(tree.windows))
        np.testing.assert_array_equal(built.log2_ranks(widths), figures)
        held = sum(w.nbytes + t.nbytes for w, t, _ in bounded._cache.values())
        assert held == bounded._cache.held
        assert held <= 4_000 or len(bounded._cache) == 1
    assert len(bounded._cache) < len(unbounded._cache)


def test_reach_marks_the_types_of_each_correlation() -> None:
    labels = np.array([[1, 1, 2, 2], [0, 0, 1, 2]], dtype=np.int8)
    structure = structure_from_permutation((4,), [(2,), (2,)], np.arange(4))
    dag = SubtreeDagBuilder(labels).build(structure.windows, range(2))
    leaves = dag.reach[0]
    assert leaves[0].tolist() == [False, True, True]  # no free leaf in the first
    assert leaves[1].tolist() == [True, True, True]
    assert dag.reach[-1][np.arange(2), dag.roots].all()


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from(SHAPES),
    correlations=st.integers(1, 6),
    data=st.data(),
)
def test_reach_is_what_a_walk_from_each_root_finds(
    shape: tuple[int, ...], correlations: int, data: st.DataObject
) -> None:
    structure, labels = draw_tree_and_labels(data, shape, correlations, 6, permuted=False)
    dag = SubtreeDagBuilder(labels).build(structure.windows, range(structure.depth))
    for row, root in enumerate(dag.roots):
        found = {int(root)}
        for height in range(dag.depth, 0, -1):
            level = dag.levels[height - 1]
            assert set(np.flatnonzero(dag.reach[height][row]).tolist()) == found
            found = {
                int(child)
                for t in found
                for child in level.child[level.start[t] : level.start[t + 1]]
            }
        assert set(np.flatnonzero(dag.reach[0][row]).tolist()) == found == set(labels[row].tolist())


@settings(max_examples=80, deadline=None)
@given(
    shape=st.sampled_from(SHAPES),
    correlations=st.integers(1, 6),
    points=st.integers(1, 4),
    data=st.data(),
)
def test_one_correlations_dag_has_its_column_of_the_figures_and_only_its_types(
    shape: tuple[int, ...], correlations: int, points: int, data: st.DataObject
) -> None:
    structure, labels = draw_tree_and_labels(data, shape, correlations, 6, permuted=True)
    if data.draw(st.booleans()):  # pure subtrees on one side, where sharing matters
        labels[0] = np.where(np.arange(labels.shape[1]) < labels.shape[1] // 2, 1, 2)
    dag = SubtreeDagBuilder(labels).build(structure.windows, range(structure.depth))
    widths = st.floats(0.0, 6.0)
    x = np.array([[data.draw(widths) for _ in range(dag.depth + 1)] for _ in range(points)])
    figures = dag.log2_ranks(x)
    for row in range(correlations):
        one = dag.only(row)
        assert np.array_equal(one.log2_ranks(x)[:, 0], figures[:, row])
        # Each height holds the types the correlation's tree reaches, no others.
        reached = [int(dag.reach[height][row].sum()) for height in range(1, dag.depth + 1)]
        assert [level.num_types for level in one.levels] == reached


def test_a_correlation_outside_the_dag_is_refused() -> None:
    structure = structure_from_permutation((4,), [(2,), (2,)], np.arange(4))
    dag = SubtreeDagBuilder(np.array([[1, 1, 2, 2]], dtype=np.int8)).build(
        structure.windows, range(2)
    )
    with pytest.raises(ValueError, match="correlation 1 is not one of 1"):
        dag.only(1)


@settings(max_examples=80, deadline=None)
@given(
    shape=st.sampled_from([*SHAPES, (64,), (16, 16)]),
    correlations=st.integers(1, 5),
    data=st.data(),
)
def test_types_are_their_childrens_multisets_numbered_in_key_order(
    shape: tuple[int, ...], correlations: int, data: st.DataObject
) -> None:
    # The numbering fixes the order the DP sums a type's children in, so a search's figures,
    # to the last bit, depend on it: ids ascend with the packed key of the multiset (the
    # count vector in base arity + 1 when few types lie below, else the sorted children).
    structure, labels = draw_tree_and_labels(data, shape, correlations, 6, permuted=True)
    dag = SubtreeDagBuilder(labels).build(structure.windows, range(structure.depth))
    below = labels.astype(np.int64)
    for level, windows in zip(dag.levels, structure.windows, strict=True):
        arity, types_below = windows.shape[1], int(below.max()) + 1
        multisets = [
            sorted(zip(level.child[a:b].tolist(), level.count[a:b].tolist(), strict=True))
            for a, b in itertools.pairwise(level.start.tolist())
        ]
        if types_below <= 2 * arity:
            keys = [sum(c * (arity + 1) ** t for t, c in m) for m in multisets]
        else:
            keys = [
                sum(t * types_below**j for j, t in enumerate(sorted(Counter(dict(m)).elements())))
                for m in multisets
            ]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        # Every node's type is the multiset of its children's types.
        above = np.empty((correlations, windows.shape[0]), dtype=np.int64)
        lookup = {tuple(m): t for t, m in enumerate(multisets)}
        for row in range(correlations):
            for node, members in enumerate(windows):
                children = Counter(below[row, members].tolist())
                above[row, node] = lookup[tuple(sorted(children.items()))]
        below = above
    np.testing.assert_array_equal(below[:, 0], dag.roots)


def test_width_vectors_of_the_wrong_length_are_refused() -> None:
    structure = structure_from_permutation((4,), [(2,), (2,)], np.arange(4))
    dag = SubtreeDagBuilder(_halves(4)).build(structure.windows, range(2))
    with pytest.raises(ValueError, match="3 entries"):
        dag.log2_ranks([[1.0, 1.0]])


def test_a_stopped_build_raises_unless_every_level_is_cached() -> None:
    structure = structure_from_permutation((16,), [(2,)] * 4, np.arange(16))
    builder = SubtreeDagBuilder(_halves(16))
    stop = StopSignal()
    stop.cancel()
    keys = [("contiguous", level) for level in range(4)]
    with pytest.raises(StoppedError):
        builder.build(structure.windows, keys, stop=stop)
    built = builder.build(structure.windows, keys)
    cached = builder.build(structure.windows, keys, stop=stop)  # nothing left to intern
    x = np.array([[1.0, 2.0, 3.0, 1.0, 2.0]])
    np.testing.assert_array_equal(cached.log2_ranks(x), built.log2_ranks(x))


class _StopsAfter(StopSignal):
    """A signal that says stop from its ``limit``-th poll on (None: never), and counts polls."""

    def __init__(self, limit: int | None = None) -> None:
        super().__init__()
        self.polls, self.limit = 0, limit

    def stopped(self) -> bool:
        self.polls += 1
        return self.limit is not None and self.polls >= self.limit


@pytest.mark.parametrize("arity", [2, 64])
def test_a_stop_is_seen_between_the_slices_of_one_level(
    monkeypatch: pytest.MonkeyPatch, arity: int
) -> None:
    # One level of many correlations is interned in slices of a few: the first tree of a large
    # grid with a thousand correlations took 5-10 s on its first level, a deadline unseen. Small
    # windows are keyed, large ones counted; either way the signal is polled before each level
    # and before every slice after a level's first, and a level a stop abandons is not cached.
    monkeypatch.setattr(subtree_dag, "_GATHERED_ENTRIES", 2**8)
    correlations, n = 32, 128
    labels = np.random.default_rng(3).integers(0, 3, size=(correlations, n), dtype=np.int8)
    structure = structure_from_permutation((n,), [(arity,), (n // arity,)], np.arange(n))
    keys = [("contiguous", level) for level in range(2)]
    slices = [
        math.ceil(correlations / max(1, 2**8 // windows.size)) for windows in structure.windows
    ]
    assert slices[0] > 1
    counted = _StopsAfter()
    built = SubtreeDagBuilder(labels).build(structure.windows, keys, stop=counted)
    assert counted.polls == sum(slices)

    builder = SubtreeDagBuilder(labels)
    with pytest.raises(StoppedError):
        builder.build(structure.windows, keys, stop=_StopsAfter(2))  # in the first level
    again = _StopsAfter()
    rebuilt = builder.build(structure.windows, keys, stop=again)
    assert again.polls == sum(slices)  # nothing of the abandoned level was kept
    x = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(rebuilt.log2_ranks(x), built.log2_ranks(x))


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from([*SHAPES, (16, 16)]),
    correlations=st.integers(1, 4),
    data=st.data(),
)
def test_no_figure_falls_when_a_width_grows(
    shape: tuple[int, ...], correlations: int, data: st.DataObject
) -> None:
    # The premise of scoring only the maximal practical profiles (advisor.search.profiles).
    structure, labels = draw_tree_and_labels(data, shape, correlations, 6, permuted=True)
    dag = SubtreeDagBuilder(labels).build(structure.windows, range(structure.depth))
    widths = st.lists(st.integers(1, 64), min_size=dag.depth + 1, max_size=dag.depth + 1)
    low = np.array(data.draw(widths))
    high = low + np.array(
        data.draw(st.lists(st.integers(0, 64), min_size=low.size, max_size=low.size))
    )
    figures = dag.log2_ranks(np.log2(np.stack([low, high]).astype(np.float64)))
    assert (figures[1] >= figures[0] - 1e-9).all()
