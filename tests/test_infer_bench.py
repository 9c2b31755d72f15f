"""The inference benchmark's own pieces: the IGTD-style baseline and the small CNN.

Skipped without the validate extra (bench/infer imports torch and scikit-learn).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from bench.infer.igtd import _ranks, _swap_deltas, igtd_arrangement
from bench.infer.run import standard_cnn


def _error(feature: np.ndarray, pixel: np.ndarray, position: np.ndarray) -> float:
    return float(np.abs(feature - pixel[position][:, position]).sum() / 2)


def test_swap_deltas_equal_the_change_of_the_error_by_brute_force() -> None:
    rng = np.random.default_rng(0)
    n = 10
    feature = _ranks(rng.random((n, n)) + rng.random((n, n)).T)
    pixel = _ranks(rng.random((n, n)) + rng.random((n, n)).T)
    position = rng.permutation(n)
    others = np.array([g for g in range(n) if g != 4])
    deltas = _swap_deltas(feature, pixel, position, 4, others)
    for g, delta in zip(others.tolist(), deltas.tolist(), strict=True):
        swapped = position.copy()
        swapped[4], swapped[g] = swapped[g], swapped[4]
        assert delta == _error(feature, pixel, swapped) - _error(feature, pixel, position)


def test_igtd_lowers_the_rank_mismatch_of_a_permuted_chain() -> None:
    n = 16
    chain = np.fromfunction(lambda i, j: 0.9 ** np.abs(i - j), (n, n))
    shuffle = np.random.default_rng(1).permutation(n)
    correlations = chain[np.ix_(shuffle, shuffle)]
    permutation = igtd_arrangement(correlations, (n,))
    assert sorted(permutation.tolist()) == list(range(n))
    coords = np.arange(n, dtype=np.float64)
    feature = _ranks(1 - correlations)
    pixel = _ranks(np.abs(coords[:, None] - coords[None, :]))
    position = np.empty(n, dtype=np.int64)
    position[permutation] = np.arange(n)
    assert _error(feature, pixel, position) < _error(feature, pixel, np.arange(n))


def test_the_small_cnn_halves_the_grid_down_to_one_window() -> None:
    for shape, pools in (
        ((8, 8), [(2, 2), (2, 2), (2, 2)]),
        ((32,), [(2,), (2,), (2,), (2,), (2,)]),
        ((1024,), [(4,), (4,), (4,), (4,), (4,)]),
    ):
        cnn = standard_cnn(shape, 10)
        assert [layer.pool for layer in cnn.layers] == pools
        assert cnn.widths[0] == 32 and max(cnn.widths) == 64
