"""Interned subtrees: the recurrence on distinct subtrees equals it on every location, bit for bit.

:func:`~advisor.seprank.tree.log2_min_cuts` (what the analysis reports) runs on the interned
subtrees; :func:`~advisor.seprank.tree.log2_min_cut` runs on every location. Their figures must be
equal exactly, not within a tolerance: the analysis rounds them to 9 decimals, and a last-bit
difference can change the decimal reported.
"""

from __future__ import annotations

import doctest
import math
from typing import Any
from unittest import mock

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import advisor.arrays
from advisor import analyze
from advisor.geometry.layouts import structure_from_permutation
from advisor.geometry.structure import PoolingStructure
from advisor.model.budget import Budget
from advisor.model.task import parse_task
from advisor.search.recommend import recommend
from advisor.seprank import interned
from advisor.seprank.interned import intern_subtrees
from advisor.seprank.labels import PADDED, correlation_labels
from advisor.seprank.levels import Levels, leaf_counts
from advisor.seprank.tree import log2_min_cut, log2_min_cuts
from tests.support.trees import draw_tree_and_labels

# Fractional logs: the float recurrence, whose sums depend on the order of their terms.
log2_widths = st.floats(0.0, 7.0, allow_nan=False)


def draw_repeating_labels(
    data: st.DataObject, correlations: int, size: int
) -> npt.NDArray[np.int8]:
    """Labels that repeat (a short random pattern tiled, or one side with a few exceptions).

    Uniformly random labels rarely repeat a subtree above the lowest levels; these do, so
    interning shares most nodes.
    """
    rows = []
    for _ in range(correlations):
        period = data.draw(st.sampled_from([1, 2, 3, 4, 8]))
        pattern = np.array(
            data.draw(st.lists(st.sampled_from([0, 1, 2]), min_size=period, max_size=period)),
            dtype=np.int8,
        )
        row = np.resize(pattern, size)
        flips = data.draw(st.lists(st.integers(0, size - 1), max_size=3))
        row[flips] = data.draw(st.sampled_from([0, 1, 2]))
        rows.append(row)
    return np.array(rows, dtype=np.int8).reshape(correlations, size)


def assert_same_figures(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    widths: npt.NDArray[np.float64],
    representation: npt.NDArray[np.float64] | float,
) -> None:
    """``log2_min_cuts`` and ``log2_min_cut`` on every location: equal exactly.

    ``log2_min_cuts`` interns whenever it may (one width vector), however few subtrees repeat.
    """
    with mock.patch.object(interned, "_MOST_DISTINCT", math.inf):
        plain, shared, _ = log2_min_cuts(structure, labels, widths, representation)
    for figures, sharing in ((plain, False), (shared, True)):
        expected = log2_min_cut(structure, labels, widths, representation, shared_weights=sharing)
        np.testing.assert_array_equal(figures, expected)


@settings(max_examples=300)
@given(
    st.sampled_from([(8,), (4, 4), (16,), (2, 8), (64,), (8, 8), (4, 4, 4), (2, 36)]),
    st.integers(1, 4),
    st.booleans(),
    st.booleans(),
    st.data(),
)
def test_interned_figures_equal_the_recurrence_on_every_location(
    shape: tuple[int, ...],
    correlations: int,
    permuted: bool,
    repeating: bool,
    data: st.DataObject,
) -> None:
    # Windows of up to 72 locations: sums by strided views and (past 16) by reductions.
    structure, labels = draw_tree_and_labels(data, shape, correlations, 5, permuted=permuted)
    if repeating:
        labels = draw_repeating_labels(data, correlations, structure.num_locations)
    batch = data.draw(st.integers(1, 3))
    widths = np.array(
        [[data.draw(log2_widths) for _ in range(structure.depth)] for _ in range(batch)]
    )
    representation = np.array([data.draw(log2_widths) for _ in range(batch)])
    assert_same_figures(structure, labels, widths, representation)
    assert_same_figures(structure, labels, widths[0], float(representation[0]))


def test_a_batch_of_width_vectors_runs_on_every_node() -> None:
    # Found by the property test: a 32-wide window above the first level sums its members one
    # by one when width vectors are batched (their axis is the fastest in memory), pairwise
    # when its members are contiguous, as interned they were; the last bit differed.
    structure = structure_from_permutation((64,), [(2,), (32,)], np.arange(64))
    labels = np.array([np.resize([1, 2], 64)], dtype=np.int8)
    widths = np.array([[0.0, 0.0], [5.860151763946235e-280, 0.0]])
    assert_same_figures(structure, labels, widths, np.array([0.0, 1.0]))


@given(st.integers(2, 4), st.integers(1, 3), st.integers(2, 40), st.data())
def test_figures_on_overlapping_windows_equal_the_unrolled_tree(
    pool: int, stride: int, windows: int, data: st.DataObject
) -> None:
    # Not interned: with several rows, a top window of more than 16 overlapping-window nodes is
    # gathered rows-fastest and summed one by one, where an interned (one-row) window is summed
    # pairwise; interned, most draws with such a window differed in the last bit.
    stride = min(stride, pool)
    size = stride * (windows - 1) + pool
    level0 = np.arange(pool)[None, :] + stride * np.arange(windows)[:, None]
    structure = PoolingStructure(size, (level0, np.arange(windows)[None, :]))
    labels = draw_repeating_labels(data, data.draw(st.integers(1, 3)), size)
    widths = np.array([data.draw(log2_widths), data.draw(log2_widths)])
    assert_same_figures(structure, labels, widths, data.draw(log2_widths))


def test_a_box_task_interns_to_a_few_subtrees_per_level() -> None:
    # 64x64, contiguous 2x2 pooling, two boxes: each level keeps the few distinct blocks (inside
    # a box, outside both, and those its edges cross), not one per node.
    task = parse_task(
        {
            "input": {"shape": [64, 64]},
            "correlations": [
                {
                    "name": "boxes",
                    "a": {"box": {"start": [5, 9], "stop": [30, 20]}},
                    "b": {"box": {"start": [40, 33], "stop": [61, 60]}},
                }
            ],
        }
    )
    structure = structure_from_permutation((64, 64), [(2, 2)] * 6, np.arange(64 * 64))
    labels = correlation_labels(task.resolved(), 64 * 64)
    levels = Levels.of(structure)
    tree = intern_subtrees(levels, leaf_counts(structure, levels, labels))
    assert tree is not None
    distinct = [tree.counts.in_a.size] + [w.shape[0] for w in tree.levels.windows[1:]]
    assert distinct[0] <= 9  # (A, B) counts of a 2x2 block: at most (0..4, 0..4) pairs
    assert max(distinct) < 200, distinct  # against 1024 level-1 nodes
    assert distinct[-1] == 1
    assert_same_figures(structure, labels, np.full(6, 2.5), 1.5)


def test_subtrees_that_barely_repeat_are_not_interned() -> None:
    # Random labels on 4096 locations: most 4x4 blocks differ; the recurrence runs on every node.
    structure = structure_from_permutation((64, 64), [(2, 2)] * 6, np.arange(64 * 64))
    labels = np.random.default_rng(0).integers(0, 3, (4, 64 * 64)).astype(np.int8)
    levels = Levels.of(structure)
    assert intern_subtrees(levels, leaf_counts(structure, levels, labels)) is None
    assert_same_figures(structure, labels, np.full(6, 2.5), 1.5)


def test_every_row_gets_its_own_root() -> None:
    structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    labels = np.array([[1, 1, 2, 2], [2, 2, 1, 1], [1, 1, 2, 2], [1, 1, 2, 2]], dtype=np.int8)
    levels = Levels.of(structure)
    tree = intern_subtrees(levels, leaf_counts(structure, levels, labels))
    assert tree is not None
    assert tree.roots[0] == tree.roots[2] == tree.roots[3] != tree.roots[1]
    with pytest.raises(ValueError, match="labels must have shape"):
        leaf_counts(structure, levels, labels[:, :3])


def test_the_examples_in_the_docstrings_hold() -> None:
    for module in (advisor.arrays, interned):
        assert doctest.testmod(module).failed == 0, module.__name__


@pytest.mark.parametrize("arity", [2, 16, 17, 40])
@pytest.mark.parametrize("in_order", [True, False])
def test_window_sums_and_groups_of_no_rows_keep_their_shape(arity: int, in_order: bool) -> None:
    # A tree recurrence with no correlation left to check passes zero rows: a reshape with an
    # inferred axis cannot size an empty array (15x9 with the odd preset crashed analyze).
    windows = np.arange(2 * arity).reshape(2, arity)
    if not in_order:
        windows = windows[::-1].copy()
    structure = PoolingStructure(2 * arity, (windows, np.array([[0, 1]])))
    levels = Levels.of(structure)
    empty = np.zeros((0, 2 * arity), dtype=np.uint8)
    assert levels.window_sum(empty, 0, np.int32).shape == (0, 2)
    assert levels.grouped(empty, 0).shape == (0, 2, arity)
    rows = np.arange(3 * 2 * arity, dtype=np.uint8).reshape(3, 2 * arity) % 3
    sums = levels.window_sum(rows, 0, np.int32)
    assert sums.tolist() == levels.grouped(rows, 0).sum(-1).tolist()
    assert sorted(sums.sum(-1).tolist()) == sorted(rows.sum(-1).tolist())


def test_a_free_search_where_no_correlation_needs_the_sibling_check_completes() -> None:
    task = parse_task(
        {"input": {"shape": [15, 9]}, "correlations": [{"name": "c", "a": {"preset": "odd"}}]}
    )
    budget = Budget(max_parameters=1000, time_limit_seconds=None, top_k=1, width_profile="free")
    [top] = recommend(task, budget).recommendations
    assert [c.log2_separation_rank for c in top.analysis] == [
        c.log2_separation_rank for c in analyze(task, top.architecture).correlations
    ]


@settings(max_examples=200)
@given(
    st.sampled_from([(8,), (4, 4), (16,), (2, 8), (2, 36), (4, 4, 4), (3, 9), (64,)]),
    st.integers(0, 4),
    st.booleans(),
    st.data(),
)
def test_leaf_counts_are_each_windows_labels_counted(
    shape: tuple[int, ...], correlations: int, permuted: bool, data: st.DataObject
) -> None:
    # Padded locations (label 3) are in neither region; windows of up to 16 leaves are summed
    # as strided views, larger ones reduced.
    structure, labels = draw_tree_and_labels(
        data, shape, max(correlations, 1), 4, permuted=permuted
    )
    labels = labels[:correlations]
    margin = data.draw(st.lists(st.integers(0, structure.num_locations - 1), max_size=12))
    labels[:, margin] = PADDED
    levels = Levels.of(structure)
    counts = leaf_counts(structure, levels, labels)
    # On a tree the nodes are numbered in depth-first window order: window w holds the leaves
    # w k to w k + k - 1 of the leaf order.
    arity = structure.windows[0].shape[1]
    windows = structure.leaf_order().reshape(-1, arity)
    for side, counted in ((1, counts.in_a), (2, counts.in_b)):
        assert counted.dtype == np.int32
        np.testing.assert_array_equal(counted, (labels[:, windows] == side).sum(-1))


@given(
    st.integers(1, 300),
    st.integers(1, 6),
    st.integers(0, 3_000),
    st.integers(1, 400),
    st.integers(0, 2**32 - 1),
)
def test_distinct_rows_and_ranked_keys_give_numpy_uniques_ranks(
    base: int, width: int, count: int, repeats: int, seed: int
) -> None:
    # Ranked by a table, by prefixes joined column by column, or by a sort: the same figures.
    rng = np.random.default_rng(seed)
    pattern = rng.integers(0, base, (min(repeats, max(count, 1)), width))
    rows = pattern[rng.integers(0, pattern.shape[0], count)].astype(np.int16)
    keys = rows.astype(np.int64) @ base ** np.arange(width, dtype=np.int64)
    expected_keys, expected_ranks = np.unique(keys, return_inverse=True)
    distinct, ranks = advisor.arrays.ranked_keys(keys)
    np.testing.assert_array_equal(distinct, expected_keys)
    np.testing.assert_array_equal(ranks, expected_ranks.reshape(-1))
    distinct_rows, row_ranks = advisor.arrays.distinct_rows(rows, base)
    np.testing.assert_array_equal(distinct_rows, advisor.arrays.digits(expected_keys, base, width))
    np.testing.assert_array_equal(row_ranks, expected_ranks.reshape(-1))


class _CountedReads(np.ndarray):
    """An array that counts the reads of its items or slices (a class attribute: views share it)."""

    reads = 0

    def __getitem__(self, key: Any) -> Any:
        _CountedReads.reads += 1
        return super().__getitem__(key)


def test_distinct_rows_of_a_global_window_of_one_type_read_it_whole() -> None:
    # A 1024x1024 pick pooling 2x2 then one global 512x512 window: the top level is one row of
    # 262,144 children of one type (base 1). Joined column by column, it took 2 s of the pick's
    # analysis (the build a search must finish before a call's deadline).
    width = 2**18
    rows = np.zeros((3, width), dtype=np.int8).view(_CountedReads)
    _CountedReads.reads = 0
    distinct, ranks = advisor.arrays.distinct_rows(rows, 1)
    assert _CountedReads.reads < 8
    np.testing.assert_array_equal(np.asarray(distinct), np.zeros((1, width), dtype=np.int64))
    np.testing.assert_array_equal(ranks, [0, 0, 0])
