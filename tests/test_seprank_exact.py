"""The exact engine: the known loose case, limits, weight sharing and modular arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from advisor.errors import LimitExceededError
from advisor.geometry.layouts import structure_from_permutation
from advisor.geometry.structure import PoolingStructure
from advisor.seprank import exact
from advisor.seprank.exact import (
    EXACT_MAX_LOG2_ELIMINATION,
    EXACT_MAX_LOG2_SIZE,
    PRIME,
    check_exact_limits,
    exact_rank,
    log2_exact_rank,
)
from advisor.seprank.graph import log2_min_cut_graph
from advisor.seprank.tree import log2_min_cut

LOOSE_A = [6, 7, 8, 9, 10, 12, 14, 15]
LOOSE_B = [0, 1, 2, 3, 4, 5, 11, 13]


def contiguous(shape: tuple[int, ...], pools: list[tuple[int, ...]]) -> PoolingStructure:
    return structure_from_permutation(shape, pools, np.arange(math.prod(shape)))


@pytest.mark.parametrize("shared", [True, False])
def test_known_loose_case(shared: bool) -> None:
    # docs/THEORY.md §4: 4x4, 2x2 windows, r = (3, 2), M = 2: exact rank 21 under a min-cut of 24.
    structure = contiguous((4, 4), [(2, 2), (2, 2)])
    assert exact_rank(structure, LOOSE_A, LOOSE_B, [3, 2], 2, shared=shared) == 21
    assert 2 ** log2_min_cut_graph(structure, LOOSE_A, LOOSE_B, [3, 2], 2) == pytest.approx(24)


def test_odd_even_depth_efficiency() -> None:
    # CSS16: size-2 windows reach min(r_0, M)^(N/2) on the interleaved partition.
    structure = contiguous((8,), [(2,)] * 3)
    assert exact_rank(structure, [0, 2, 4, 6], [1, 3, 5, 7], [3, 2, 2], 2) == 2**4
    assert exact_rank(structure, [0, 2, 4, 6], [1, 3, 5, 7], [2, 2, 2], 3) == 2**4


def test_free_locations_are_contracted_with_generic_vectors() -> None:
    # A = {0}, B = {7} on 8 locations: only the chain through the root joins them.
    structure = contiguous((8,), [(2,)] * 3)
    assert exact_rank(structure, [0], [7], [4, 4, 3], 4) == 3
    assert exact_rank(structure, [0], [7], [4, 4, 8], 4) == 4


def test_degenerate_instances_have_rank_one() -> None:
    structure = contiguous((4,), [(2,), (2,)])
    assert exact_rank(structure, [0, 1], [2, 3], [4, 4], 1) == 1
    assert exact_rank(structure, [0, 1], [], [4, 4], 2) == 1
    assert log2_exact_rank(structure, [0], [3], [1, 1], 2) == 0.0


def test_seeds_make_it_deterministic() -> None:
    structure = contiguous((4, 4), [(2, 2), (2, 2)])
    first = exact_rank(structure, LOOSE_A, LOOSE_B, [3, 2], 2, seed=5, trials=1)
    assert first == exact_rank(structure, LOOSE_A, LOOSE_B, [3, 2], 2, seed=5, trials=1)


def test_over_the_size_limit_is_rejected_before_any_work() -> None:
    structure = contiguous((32,), [(2,)] * 5)
    a, b = list(range(13)), list(range(13, 26))  # 26 locations * log2 2 > 24
    with pytest.raises(LimitExceededError) as caught:
        exact_rank(structure, a, b, [2] * 5, 2)
    (violation,) = caught.value.violations
    assert violation.field == "exact"
    assert "26" in violation.description and str(EXACT_MAX_LOG2_SIZE) in violation.description
    # 4 + 20 locations: 24 bits, and the 16 x 2^20 matrix is cheap to eliminate.
    check_exact_limits(structure, list(range(4)), list(range(4, 24)), [2] * 5, 2)


def test_a_size_over_the_limit_is_written_in_bits() -> None:
    # A 128x64 grid's halves at M = 3, 8192 log2 3 bits: %.4g wrote "2^1.298e+04-entry".
    structure = contiguous((128, 64), [*[(2, 2)] * 6, (2, 1)])
    with pytest.raises(LimitExceededError) as caught:
        check_exact_limits(structure, np.arange(4096), np.arange(4096, 8192), [2] * 7, 3)
    (violation,) = caught.value.violations
    said = "2^12,984.0-entry matrix ((|A| + |B|) * log2 M = 12,984.0); the limit is 24"
    assert said in violation.description


def test_over_the_elimination_limit_is_rejected() -> None:
    # Balanced 11 vs 11 locations at M = 2: a 2048 x 2048 matrix, 2^33 elimination steps.
    structure = contiguous((32,), [(2,)] * 5)
    check_exact_limits(structure, list(range(11)), list(range(11, 21)), [2] * 5, 2)
    with pytest.raises(LimitExceededError) as caught:
        check_exact_limits(structure, list(range(11)), list(range(11, 22)), [2] * 5, 2)
    (violation,) = caught.value.violations
    assert violation.field == "exact"
    assert "2^33" in violation.description and f"2^{EXACT_MAX_LOG2_ELIMINATION}" in (
        violation.description
    )


def test_over_the_intermediate_limit_is_rejected() -> None:
    # 24 region locations (at the size limit) in two windows of 12: each window's product holds
    # r_0 * 2^12 entries, so r_0 = 2^12 is the widest first layer the limit admits.
    structure = contiguous((24,), [(12,), (2,)])
    a, b = list(range(4)), list(range(4, 24))
    check_exact_limits(structure, a, b, [2**12, 2], 2)
    with pytest.raises(LimitExceededError) as caught:
        check_exact_limits(structure, a, b, [2**13, 2], 2)
    assert caught.value.violations[0].field == "exact"
    assert "intermediate" in caught.value.violations[0].description


def test_huge_free_grid_with_small_regions_is_cheap() -> None:
    # 64x64 input, corner pair: the free locations collapse to vectors level by level.
    structure = contiguous((64, 64), [(2, 2)] * 6)
    assert exact_rank(structure, [0], [4095], [4] * 6, 4) == 4


def test_channel_contraction_does_not_overflow() -> None:
    top = PRIME - 1
    weights = np.full((2, 100), top, dtype=np.int64)
    values = np.full((100, 3), top, dtype=np.int64)
    expected = (100 * top * top) % PRIME
    assert exact._contract_channels(weights, values).tolist() == [[expected] * 3] * 2


def test_the_prime_is_the_largest_below_2_to_the_29() -> None:
    import flint

    assert flint.fmpz(PRIME).is_prime()
    assert not any(flint.fmpz(q).is_prime() for q in range(PRIME + 1, 2**29))


def test_weight_sharing_lowers_the_rank_of_interchangeable_leaves() -> None:
    # Mirror-like window {0, 3} x {1, 2} on 4 locations, M = 2: 0 and 3 both in A share a window,
    # so with shared weights they are interchangeable: binom(3, 2) = 3 < 4.
    structure = PoolingStructure(4, (np.array([[0, 3, 1, 2]]),))
    assert exact_rank(structure, [0, 3], [1, 2], [16], 2, shared=True) == 3
    assert exact_rank(structure, [0, 3], [1, 2], [16], 2, shared=False) == 4


def test_free_vectors_of_a_large_grid_count_towards_the_intermediate_limit() -> None:
    # Two region locations, but 2^16 free leaves with 2^9 channels each: 2^25 entries.
    structure = contiguous((256, 256), [(2, 2)] * 8)
    check_exact_limits(structure, [0], [65535], [2**8] + [2] * 7, 2)
    with pytest.raises(LimitExceededError, match="intermediate"):
        check_exact_limits(structure, [0], [65535], [2**9] + [2] * 7, 2)


def test_sharing_can_lower_the_rank_below_the_shared_weight_bound() -> None:
    # A known gap (found by random search): windows {A, B, free, A}, {A, free, A, B} and
    # {B, B, B, A} under a global pooling; r = (8, 2), M = 2. Without sharing the min-cut (16)
    # is the rank; the shared-weight bound does not lower it, yet the shared rank is 14.
    windows = np.array([[3, 0, 8, 2], [11, 1, 7, 6], [4, 9, 10, 5]])
    structure = PoolingStructure(12, (windows, np.array([[2, 0, 1]])))
    a, b = [2, 3, 5, 7, 11], [0, 4, 6, 9, 10]
    labels = np.zeros((1, 12), dtype=np.int8)
    labels[0, a], labels[0, b] = 1, 2
    assert 2 ** log2_min_cut(structure, labels, [3.0, 1.0], 1.0, shared_weights=True)[0] == 16
    assert exact_rank(structure, a, b, [8, 2], 2, shared=False) == 16
    assert exact_rank(structure, a, b, [8, 2], 2) == 14
