"""The inference benchmark's pieces: the IGTD-style baseline, the small CNN, the layouts' measure.

Skipped without the validate extra (bench/infer imports torch and scikit-learn).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from advisor.infer.arrangement import arrange
from advisor.infer.graph import DependenceGraph
from advisor.infer.task import infer_task
from advisor.model.budget import Budget
from advisor.model.task import parse_task
from bench.infer.igtd import _ranks, _swap_deltas, igtd_arrangement
from bench.infer.run import standard_cnn
from bench.infer.synthesized import (
    halving_pools,
    layout_entanglement,
    synthesized_layouts,
    synthesized_orders,
)


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


def _graph(
    shape: tuple[int, ...], pairs: list[tuple[int, int]], weights: np.ndarray
) -> DependenceGraph:
    return DependenceGraph(
        shape=shape,
        channels=1,
        samples=100,
        top_k=len(pairs),
        rows=np.asarray([a for a, _ in pairs], dtype=np.int64),
        cols=np.asarray([b for _, b in pairs], dtype=np.int64),
        weights=np.asarray(weights, dtype=np.float64),
    )


def _crossing_by_hand(graph: DependenceGraph, order: np.ndarray) -> list[float]:
    """Per level of the 8x8 quadrant tree (4x4, then 2x2 windows): crossing weight / total."""
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    row, col = position // 8, position % 8
    figures = []
    for side in (4, 2):
        window = (row // side) * 8 + col // side
        crossing = sum(
            w
            for i, j, w in zip(graph.rows, graph.cols, graph.weights, strict=True)
            if window[i] != window[j]
        )
        figures.append(crossing / graph.weights.sum())
    return figures


def test_layouts_are_measured_by_what_the_arrangement_minimises() -> None:
    # Groups of 4 locations scattered over an 8x8 grid, dependent only within a group: the
    # arrangement can put every group in one 2x2 window, crossing nothing at any level.
    rng = np.random.default_rng(3)
    scattered = rng.permutation(64)
    pairs = [
        (int(min(g[i], g[j])), int(max(g[i], g[j])))
        for g in scattered.reshape(16, 4)
        for i in range(4)
        for j in range(i + 1, 4)
    ]
    graph = _graph((8, 8), pairs, rng.uniform(0.5, 1.0, len(pairs)))
    inferred = infer_task(graph, outputs=10)
    assert inferred.task is not None
    budget = Budget(max_parameters=20_000)
    orders = {
        "random": np.arange(64, dtype=np.int64),
        "metis": arrange(graph, improve=False).permutation,
        "advisor": inferred.arrangement.permutation,
        **synthesized_orders(graph, inferred.task, budget),
    }
    figures = layout_entanglement(graph, orders)
    for layout, order in orders.items():
        assert figures[layout] == pytest.approx(_crossing_by_hand(graph, order))
    search, variants = synthesized_layouts(inferred.task, budget)
    assert np.array_equal(orders["synthesized-search"], search)
    best = min((_crossing_by_hand(graph, variant) for variant in variants), key=sum)
    assert figures["synthesized-best"] == pytest.approx(best)
    assert figures["advisor"] == inferred.arrangement.after == pytest.approx((0.0, 0.0))
    for other in ("random", "metis", "synthesized-search", "synthesized-best"):
        assert sum(figures["advisor"]) <= sum(figures[other])


def test_synthesized_layouts_pool_each_planted_pair_in_one_lowest_window() -> None:
    pairs = [(0, 63), (5, 40), (17, 30), (9, 54)]
    task = parse_task(
        {
            "input": {"shape": [8, 8]},
            "correlations": [
                {"name": f"pair {a}-{b}", "a": {"indices": [a]}, "b": {"indices": [b]}}
                for a, b in pairs
            ],
        }
    )
    graph = _graph((8, 8), pairs, np.ones(len(pairs)))
    search, variants = synthesized_layouts(task, Budget(max_parameters=20_000))
    assert _crossing_by_hand(graph, search) == [0.0, 0.0]
    for variant in variants:
        assert _crossing_by_hand(graph, variant) == [0.0, 0.0]
    assert _crossing_by_hand(graph, np.arange(64)) == [1.0, 1.0]


def test_halving_pools_build_the_canonical_tree_and_refuse_unequal_halves() -> None:
    assert halving_pools((8, 8)) == ((2, 2), (2, 2), (2, 2))
    assert halving_pools((4, 16)) == ((2, 2), (2, 2), (1, 2), (1, 2))
    assert halving_pools((32,)) == ((2,),) * 5
    with pytest.raises(ValueError, match="power of two"):
        halving_pools((12,))
