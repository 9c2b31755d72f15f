"""The explicit tensor-network max-flow: hyperedge gadget, terminals, and why δ is not a node."""

from __future__ import annotations

import math
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
from networkx.algorithms.flow import boykov_kolmogorov

from advisor.geometry.layouts import structure_from_permutation
from advisor.geometry.structure import PoolingStructure
from advisor.seprank.graph import log2_min_cut_graph
from advisor.seprank.labels import correlation_labels
from advisor.seprank.tree import log2_min_cut

# 32x32, contiguous 2x2 windows; only the top two levels are narrow enough to be cut.
SIDE = 32
POOLS = [(2, 2)] * 5
WIDTHS = [1024, 1024, 1024, 256, 512]
REPRESENTATION = 1024


def contiguous_32() -> PoolingStructure:
    return structure_from_permutation((SIDE, SIDE), POOLS, np.arange(SIDE * SIDE))


def left_right() -> tuple[np.ndarray, np.ndarray]:
    columns = np.indices((SIDE, SIDE))[1].ravel()
    return np.flatnonzero(columns < SIDE // 2), np.flatnonzero(columns >= SIDE // 2)


def delta_as_node_min_cut(structure: PoolingStructure, a: np.ndarray, b: np.ndarray) -> float:
    """The WRONG model: each δ an ordinary node, every leg of it a separate edge of weight log r."""
    graph = nx.Graph()
    for level, windows in enumerate(structure.windows):
        weight = math.log2(WIDTHS[level])
        for parent, members in enumerate(windows):
            delta = ("delta", level, parent)
            for child in members:
                graph.add_edge(("conv", level, int(child)), delta, capacity=weight)
            if level + 1 < structure.depth:
                graph.add_edge(delta, ("conv", level + 1, parent), capacity=weight)
    for location in a:
        graph.add_edge("A", ("conv", 0, int(location)), capacity=math.log2(REPRESENTATION))
    for location in b:
        graph.add_edge(("conv", 0, int(location)), "B", capacity=math.log2(REPRESENTATION))
    value, _ = nx.minimum_cut(graph.to_directed(), "A", "B", flow_func=boykov_kolmogorov)
    return float(value)


def test_delta_is_a_hyperedge_not_a_node() -> None:
    # Regression: with δ as a node, separating the root window's two left children from its two
    # right ones costs two legs (2 * log2 256 = 16 through the level-3 legs); as a hyperedge the
    # root δ is cut once (log2 512 = 9).
    structure, (a, b) = contiguous_32(), left_right()
    assert log2_min_cut_graph(structure, a, b, WIDTHS, REPRESENTATION) == pytest.approx(9.0)
    assert delta_as_node_min_cut(structure, a, b) == pytest.approx(16.0)
    labels = correlation_labels([SimpleNamespace(a=a, b=b)], SIDE * SIDE)
    tree = log2_min_cut(structure, labels, np.log2(WIDTHS), math.log2(REPRESENTATION))
    assert tree[0] == pytest.approx(9.0)


def test_free_locations_and_empty_sides_cost_nothing() -> None:
    structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    assert log2_min_cut_graph(structure, [0], [], [4, 4], 4) == 0.0
    # Only locations 0 and 3 matter; the cheapest cut is one input leg (log2 2).
    assert log2_min_cut_graph(structure, [0], [3], [4, 4], 2) == pytest.approx(1.0)


def test_irrational_weights_are_reported_from_the_cut_itself() -> None:
    structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    value = log2_min_cut_graph(structure, [0, 2], [1, 3], [3, 5], 7)
    assert value == 2 * math.log2(3)  # two level-0 δs of dimension 3, summed exactly


def test_widths_must_match_the_depth() -> None:
    structure = PoolingStructure(2, (np.array([[0, 1]]),))
    with pytest.raises(ValueError, match="one entry per pooling level"):
        log2_min_cut_graph(structure, [0], [1], [2, 2], 2)
