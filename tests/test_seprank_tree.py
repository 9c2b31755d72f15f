"""Tree recurrence: docs/THEORY.md §6 closed forms, §3 lab figures, shared weights, batching."""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.geometry.layouts import mirror_permutation, structure_from_permutation
from advisor.geometry.structure import PoolingStructure
from advisor.seprank import tree as tree_module
from advisor.seprank.exact import exact_rank
from advisor.seprank.labels import FREE, SIDE_A, SIDE_B, correlation_labels
from advisor.seprank.tree import (
    SUMMED_SIZES,
    log2_min_cut,
    log2_min_cuts,
    log2_symmetric_powers,
)
from tests.support.memory import traced_peak
from tests.support.trees import draw_tree_and_labels


def contiguous_1d(depth: int) -> PoolingStructure:
    n = 2**depth
    return structure_from_permutation((n,), [(2,)] * depth, np.arange(n))


def labels_of(*masks: npt.NDArray[np.bool_]) -> npt.NDArray[np.int8]:
    """Side A where the mask holds, B elsewhere (the region and its complement)."""
    pairs = [SimpleNamespace(a=np.flatnonzero(m), b=np.flatnonzero(~m)) for m in masks]
    return correlation_labels(pairs, masks[0].size)


depths = st.integers(1, 8)
log2_channels = st.integers(0, 6).map(float) | st.floats(0.0, 6.0)


@given(depths, st.data())
def test_left_vs_right_half_of_a_contiguous_tree(depth: int, data: st.DataObject) -> None:
    widths = data.draw(st.lists(log2_channels, min_size=depth, max_size=depth))
    log2_m = data.draw(log2_channels)
    n = 2**depth
    labels = labels_of(np.arange(n) < n // 2)
    # log2 min(r_{L-1}, r_{L-2}, r_{L-3}^2, ..., r_0^{N/4}, M^{N/2})
    expected = min(
        [2 ** max(depth - 2 - level, 0) * widths[level] for level in range(depth)]
        + [n // 2 * log2_m]
    )
    got = log2_min_cut(contiguous_1d(depth), labels, widths, log2_m)
    assert got[0] == pytest.approx(expected)


@given(depths, st.data())
def test_odd_vs_even_on_a_contiguous_tree(depth: int, data: st.DataObject) -> None:
    widths = data.draw(st.lists(log2_channels, min_size=depth, max_size=depth))
    log2_m = data.draw(log2_channels)
    n = 2**depth
    labels = labels_of(np.arange(n) % 2 == 0)
    got = log2_min_cut(contiguous_1d(depth), labels, widths, log2_m)
    assert got[0] == pytest.approx(n // 2 * min(widths[0], log2_m))


@given(st.integers(2, 64), st.data())
def test_shallow_net_any_partition(n: int, data: st.DataObject) -> None:
    in_a = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    log2_r0, log2_m = data.draw(log2_channels), data.draw(log2_channels)
    shallow = PoolingStructure(n, (np.arange(n)[None],))
    smaller = min(in_a.sum(), n - in_a.sum())
    got = log2_min_cut(shallow, labels_of(in_a), [log2_r0], log2_m)
    assert got[0] == pytest.approx(min(smaller * log2_m, log2_r0))


def test_lab_figures_contiguous_vs_mirror_at_16x16() -> None:
    # docs/THEORY.md §3: 16x16, 2x2 windows, r = 8 at every level, M = 8 (log2 figures).
    shape, pools = (16, 16), [(2, 2)] * 4
    contiguous = structure_from_permutation(shape, pools, np.arange(256))
    mirror = structure_from_permutation(shape, pools, mirror_permutation(shape, pools))
    h, w = np.indices(shape)
    regions = {
        "left/right": w < 8,
        "center/border": (h >= 4) & (h < 12) & (w >= 4) & (w < 12),
        "2x2 block/rest": (h < 2) & (w < 2),
        "odd/even columns": w % 2 == 1,
        "checkerboard": (h + w) % 2 == 1,
        "odd/even columns XOR left/right": (w % 2 == 1) ^ (w >= 8),
    }
    labels = labels_of(*(m.ravel() for m in regions.values()))
    expected = {
        "left/right": (3, 192),
        "center/border": (12, 48),
        "2x2 block/rest": (3, 12),
        "odd/even columns": (192, 192),
        "checkerboard": (192, 192),
        "odd/even columns XOR left/right": (192, 48),
    }
    for shared in (False, True):
        got = [
            log2_min_cut(s, labels, [3.0] * 4, 3.0, shared_weights=shared)
            for s in (contiguous, mirror)
        ]
        assert dict(zip(regions, zip(*(g.tolist() for g in got), strict=True), strict=True)) == {
            name: tuple(float(x) for x in pair) for name, pair in expected.items()
        }


def test_shared_weights_price_interchangeable_leaves_symmetrically() -> None:
    # Halves of 4 locations, M = 2: each side's two leaves share a window and (with shared
    # weights) are interchangeable: binom(3, 2) = 3 dimensions, not 2^2.
    structure = contiguous_1d(2)
    halves = labels_of(np.array([True, True, False, False]))
    assert log2_min_cut(structure, halves, [3.0, 3.0], 1.0)[0] == 2.0
    shared = log2_min_cut(structure, halves, [3.0, 3.0], 1.0, shared_weights=True)
    assert shared[0] == pytest.approx(math.log2(3))
    assert exact_rank(structure, [0, 1], [2, 3], [8, 8], 2) == 3
    assert exact_rank(structure, [0, 1], [2, 3], [8, 8], 2, shared=False) == 4


def test_shared_weights_at_a_higher_level() -> None:
    # Root of arity 5 over pairs (M = 2, r = (8, 16)): three one-sided A pairs and two one-sided
    # B pairs. Shared, a pair spans binom(3, 2) = 3 dimensions, the two B pairs together
    # binom(4, 2) = 6 (not 3^2) and the three A pairs binom(5, 3) = 10; the root δ costs 16.
    # Unshared, a pair spans 2^2 = 4 and the two B pairs 16.
    structure = PoolingStructure(10, (np.arange(10).reshape(5, 2), np.arange(5)[None]))
    in_a = np.arange(10) < 6
    shared = log2_min_cut(structure, labels_of(in_a), [3.0, 4.0], 1.0, shared_weights=True)
    assert shared[0] == pytest.approx(math.log2(6))
    assert log2_min_cut(structure, labels_of(in_a), [3.0, 4.0], 1.0)[0] == 4.0
    assert exact_rank(structure, np.arange(6), np.arange(6, 10), [8, 16], 2) == 6
    # The rank is symmetric in A and B: with the sides swapped the figure is the same.
    swapped = log2_min_cut(structure, labels_of(~in_a), [3.0, 4.0], 1.0, shared_weights=True)
    assert swapped[0] == pytest.approx(math.log2(6))


def test_shared_weights_two_levels_up_span_what_the_width_below_caps() -> None:
    # 16 locations pooled by 2, 2 and 4 (M = 2, r = (8, 4, 64)), halves: a quarter spans
    # binom(binom(3, 2) + 1, 2) = 6 dimensions, capped by r_1 = 4, and the two interchangeable
    # B quarters under the root binom(4 + 1, 2) = 10.
    structure = structure_from_permutation((16,), [(2,), (2,), (4,)], np.arange(16))
    halves = labels_of(np.arange(16) < 8)
    shared = log2_min_cut(structure, halves, [3.0, 2.0, 6.0], 1.0, shared_weights=True)
    assert shared[0] == pytest.approx(math.log2(10))
    assert exact_rank(structure, np.arange(8), np.arange(8, 16), [8, 4, 64], 2) == 10


def test_overlapping_windows_give_the_unrolled_tree_cut() -> None:
    # Three locations, windows {0, 1} and {1, 2}: location 1 is used twice. Unrolled, A = {0}
    # and B = {2} are joined only at the root δ (r_1) or through their own legs (M each).
    structure = PoolingStructure(3, (np.array([[0, 1], [1, 2]]), np.array([[0, 1]])))
    assert not structure.is_tree
    labels = np.array([[SIDE_A, 0, SIDE_B]], dtype=np.int8)
    assert log2_min_cut(structure, labels, [5.0, 2.0], 3.0)[0] == 2.0
    assert log2_min_cut(structure, labels, [5.0, 4.0], 3.0)[0] == 3.0


def test_integer_and_float_costs_agree() -> None:
    rng = np.random.default_rng(7)
    structure = structure_from_permutation((8, 8), [(2, 2)] * 3, rng.permutation(64))
    labels = rng.integers(0, 3, size=(20, 64)).astype(np.int8)
    integral = log2_min_cut(structure, labels, [2.0, 3.0, 1.0], 2.0)
    # The same weights, forced onto the float path by a vanishing perturbation of one width.
    nudged = log2_min_cut(structure, labels, [2.0, 3.0, 1.0 + 1e-12], 2.0)
    np.testing.assert_allclose(integral, nudged, atol=1e-9)
    assert integral.dtype == np.float64


def test_batches_over_width_vectors_and_representations() -> None:
    structure = contiguous_1d(4)
    labels = labels_of(np.arange(16) < 8, np.arange(16) % 2 == 0)
    widths = np.log2([[2, 2, 2, 2], [8, 4, 2, 16], [3, 5, 7, 11]])
    representations = np.log2([2, 4, 3])
    batch = log2_min_cut(structure, labels, widths, representations)
    assert batch.shape == (3, 2)
    for row in range(3):
        single = log2_min_cut(structure, labels, widths[row], representations[row])
        np.testing.assert_allclose(batch[row], single)
    assert log2_min_cut(structure, labels, widths, 1.0).shape == (3, 2)
    assert log2_min_cut(structure, labels, widths[0], representations).shape == (3, 2)


def test_large_windows_are_reduced_not_unrolled() -> None:
    # A shallow net over 40 locations takes the reduction path for its one global window.
    structure = PoolingStructure(40, (np.arange(40)[None],))
    labels = labels_of(np.arange(40) < 17)
    assert log2_min_cut(structure, labels, [100.0], 1.0)[0] == 17.0


def test_pricing_a_wide_window_takes_no_memory_in_proportion_to_it() -> None:
    # The shallow net at 1024x1024 pools one window of 2^20 locations: a table of every count
    # of one-sided leaves up to it (16-32 bytes a location, fresh memory) cost its build 15-60
    # ms in a stopped search, past the search's time limit.
    n = 2**20
    structure = PoolingStructure(n, (np.arange(n)[None],))
    labels = labels_of(np.arange(n) < 3 * n // 4)
    # The structure keeps its leaf order once worked out: at other widths, it is no pricing.
    log2_min_cut(structure, labels, [1.0], 1.0)
    for shared in (False, True):
        # The tables are cached per widths and windows: one another test (or an earlier run in
        # this process) built would be measured as no memory at all.
        tree_module._one_sided_table.cache_clear()
        figure, peak = traced_peak(
            functools.partial(
                log2_min_cut, structure, labels, [20.25], 1.375, shared_weights=shared
            )
        )
        assert figure[0] == 20.25
        assert peak < 8 * n


def test_wide_groups_of_one_sided_siblings_get_their_binomial() -> None:
    # 580 pairs under one root (M = 2, r_0 = 8): a pure pair spans binom(3, 2) = 3 dimensions,
    # and 300 pure A pairs and 280 pure B pairs, more than the table holds, span binom(302, 300)
    # and binom(282, 280) at the root; the cheaper cut prices the B pairs from the A side.
    pairs = 580
    assert pairs > SUMMED_SIZES
    structure = PoolingStructure(
        2 * pairs, (np.arange(2 * pairs).reshape(pairs, 2), np.arange(pairs)[None])
    )
    labels = labels_of(np.arange(2 * pairs) < 600)
    shared = log2_min_cut(structure, labels, [3.0, 40.0], 1.0, shared_weights=True)
    assert shared[0] == pytest.approx(math.log2(math.comb(282, 280)), abs=1e-9)
    # One window of 700 leaves, M = 3: 400 in A, 300 in B span binom(302, 300).
    window = PoolingStructure(700, (np.arange(700)[None],))
    halves = labels_of(np.arange(700) < 400)
    shared = log2_min_cut(window, halves, [100.0], math.log2(3), shared_weights=True)
    assert shared[0] == pytest.approx(math.log2(math.comb(302, 300)), abs=1e-9)
    # Counts on both sides of the table's end in one call (300 and 10 in B): each its binomial.
    both = labels_of(np.arange(700) < 400, np.arange(700) < 690)
    shared = log2_min_cut(window, both, [100.0], math.log2(3), shared_weights=True)
    expected = np.log2([math.comb(302, 300), math.comb(12, 10)])
    np.testing.assert_allclose(shared, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("widths", "representation", "labels", "message"),
    [
        ([1.0], 1.0, np.zeros((1, 4), np.int8), "log2_widths must have shape"),
        ([1.0, 1.0], [[1.0]], np.zeros((1, 4), np.int8), "log2_representation"),
        ([1.0, 1.0], 1.0, np.zeros((1, 5), np.int8), "labels must have shape"),
    ],
)
def test_shape_errors(
    widths: list[float], representation: object, labels: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        log2_min_cut(contiguous_1d(2), labels, widths, representation)  # type: ignore[arg-type]


def test_labels() -> None:
    pair = SimpleNamespace(a=np.array([2, 0]), b=np.array([3]))
    assert correlation_labels([pair], 5).tolist() == [[SIDE_A, 0, SIDE_A, SIDE_B, 0]]
    with pytest.raises(ValueError, match="disjoint"):
        correlation_labels([SimpleNamespace(a=np.array([1]), b=np.array([1]))], 3)
    with pytest.raises(ValueError, match="lie in"):
        correlation_labels([SimpleNamespace(a=np.array([3]), b=np.array([0]))], 3)
    assert correlation_labels([], 3).shape == (0, 3)


@given(st.sampled_from([(8,), (4, 4), (16,), (2, 8)]), st.integers(1, 4), st.data())
def test_both_figures_in_one_pass_equal_two_passes(
    shape: tuple[int, ...], correlations: int, data: st.DataObject
) -> None:
    structure, labels = draw_tree_and_labels(data, shape, correlations, 4, permuted=True)
    widths = np.array([data.draw(st.integers(0, 6)) for _ in range(structure.depth)], float)
    representation = float(data.draw(st.integers(1, 5)))
    plain, shared, _ = log2_min_cuts(structure, labels, widths, representation)
    for figures, sharing in ((plain, False), (shared, True)):
        expected = log2_min_cut(structure, labels, widths, representation, shared_weights=sharing)
        np.testing.assert_array_equal(figures, expected)


def test_uncharged_siblings_are_reported_only_for_one_width_vector_when_asked() -> None:
    # A = {3}, B = {5, 7}: windows (4, 5) and (6, 7) each pool a B leaf beside a free location,
    # one-sided siblings holding a constant, which the shared bound does not charge.
    structure = contiguous_1d(3)
    a, b = SIDE_A, SIDE_B
    labels = np.array([[FREE, FREE, FREE, a, FREE, b, FREE, b]], dtype=np.int8)
    widths = [1.0, 2.0, 2.0]
    assert log2_min_cuts(structure, labels, widths, 1.0, siblings=True).uncharged.tolist() == [True]
    assert not log2_min_cuts(structure, labels, widths, 1.0).uncharged.any()
    batch = log2_min_cuts(structure, labels, [widths, [2.0, 2.0, 2.0]], 1.0, siblings=True)
    assert batch.uncharged.shape == batch.plain.shape == (2, 1)
    assert not batch.uncharged.any()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 120), st.lists(st.integers(0, 5_000), min_size=1, max_size=4))
def test_a_symmetric_power_is_the_binomial_s_log_at_every_dimension(
    log2_dim: int, sizes: list[int]
) -> None:
    # lgamma(D + m) - lgamma(D) lost bits as D grew: 5e-6 at 2^31 (a layer's widest), -2041
    # for log2 C(2^999 + 299, 300) (the contiguous net's reach at any width), and past 2^1024
    # an overflow to nan.
    dim = 2**log2_dim
    powers = log2_symmetric_powers(np.array([float(log2_dim)]), np.array(sizes))
    for size, power in zip(sizes, powers[:, 0], strict=True):
        assert power == pytest.approx(math.log2(math.comb(dim + size - 1, size)), abs=5e-9)


def test_a_dimension_with_no_float_still_has_its_symmetric_powers() -> None:
    log2_dims = np.array([999.0, 1024.5, 5000.0])
    powers = log2_symmetric_powers(log2_dims, np.array([1, 2, 300]))
    assert np.isfinite(powers).all()
    assert powers[0] == pytest.approx(log2_dims)
    assert powers[1] == pytest.approx(2 * log2_dims - 1)
    assert powers[2] == pytest.approx(300 * log2_dims - math.lgamma(301) / math.log(2))
