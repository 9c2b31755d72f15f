"""The tensor-network min-cut as an explicit max-flow (docs/THEORY.md §8): the general-graph path.

The network's tensor network has a matrix node for the 1x1 conv at every node of every level and a
δ tensor for every pooling window. A δ's legs all carry the same index, so a cut pays for it once,
however many of its legs it separates: it is a hyperedge of weight ``log2 r_l``, not a node.
Lawler's construction turns each hyperedge into two vertices ``e_in -> e_out`` joined by an arc of
capacity ``log2 r_l``, with uncapacitated arcs ``member -> e_in`` and ``e_out -> member`` for every
conv node the δ touches; a finite cut then separates the members of a hyperedge exactly when it
takes its ``e_in -> e_out`` arc. Input legs (weight ``log2 M``) join the conv of a location of A to
a super-source and that of a location of B to a super-sink; free locations' legs are contracted
with fixed vectors and dropped, and so is the output layer's free leg (its node then sits on either
side at no cost).

Overlapping windows are unrolled: a node pooled by several windows is copied, with its subtree,
once per use, which is the network with duplicated inputs and matches :mod:`advisor.seprank.tree`.
This path exists to check the tree recurrence and to handle tensor networks that are not trees; it
is orders of magnitude slower.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import networkx as nx
import numpy as np
import numpy.typing as npt
from networkx.algorithms.flow import boykov_kolmogorov

from advisor.geometry.structure import PoolingStructure
from advisor.seprank.labels import label_regions

__all__ = ["graph_engine", "log2_min_cut_graph"]

_SCALE: Final = 2**32
"""Capacities are ``round(log2 w * _SCALE)`` integers: exact max-flow arithmetic; the reported value
is recomputed from the cut's own float weights, so rounding can only matter between cuts closer
than ``edges / _SCALE``."""

_SOURCE: Final = "A"
_SINK: Final = "B"


def log2_min_cut_graph(
    structure: PoolingStructure,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    widths: Sequence[int],
    representation: int,
) -> float:
    """Return the log2 min-cut separating the input legs of ``a`` from those of ``b``.

    Parameters
    ----------
    structure
        Pooling windows of any kind (trees, overlapping windows).
    a, b
        Disjoint location ids of the two regions; every other location is free.
    widths
        Channel count ``r_l`` of each pooling level.
    representation
        Representation channels ``M``.

    Returns
    -------
    float
        ``log2`` of the smallest product of bond dimensions over cuts separating A from B.

    Raises
    ------
    ValueError
        When ``widths`` has not one entry per pooling level
        (:meth:`~advisor.geometry.structure.PoolingStructure.check_widths`).

    Examples
    --------
    Left half vs right half of 4 locations under contiguous size-2 pooling: the root δ is cut.

    >>> structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    >>> log2_min_cut_graph(structure, [0, 1], [2, 3], widths=[4, 2], representation=8)
    1.0
    """
    structure.check_widths(widths)
    log2_weights = [math.log2(representation), *(math.log2(r) for r in widths)]
    network, cut_weights = _flow_network(structure, a, b, log2_weights)
    _, (source_side, _) = nx.minimum_cut(network, _SOURCE, _SINK, flow_func=boykov_kolmogorov)
    return math.fsum(
        weight
        for (tail, head), weight in cut_weights.items()
        if tail in source_side and head not in source_side
    )


def graph_engine(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    widths: Sequence[int],
    representation: int,
    *,
    shared_weights: bool,
) -> npt.NDArray[np.float64]:
    """Return :func:`log2_min_cut_graph` of every row of ``labels``: the engines' signature.

    See :mod:`advisor.seprank.engines`. The tensor network gives every node its own weights, so
    only ``shared_weights=False`` is modelled.

    Raises
    ------
    ValueError
        When ``shared_weights`` is True.
    """
    if shared_weights:
        raise ValueError("the graph engine models independent weights only (shared_weights=False)")
    figures = [
        log2_min_cut_graph(structure, a, b, widths, representation)
        for a, b in label_regions(labels)
    ]
    return np.asarray(figures, dtype=np.float64).reshape(len(labels))


def _flow_network(
    structure: PoolingStructure, a: npt.ArrayLike, b: npt.ArrayLike, log2_weights: list[float]
) -> tuple[nx.DiGraph, dict[tuple[int | str, int | str], float]]:
    """Build the max-flow graph and the float weight of each of its finite arcs.

    Vertices are integers: the conv nodes of every unrolled copy, level by level, then two
    vertices per δ hyperedge; plus the terminals :data:`_SOURCE` and :data:`_SINK`.
    """
    copies = _unrolled_copies(structure)
    conv_offset = np.cumsum([0, *(len(c) for c in copies)])
    next_vertex = int(conv_offset[-1])
    network = nx.DiGraph()
    network.add_nodes_from([_SOURCE, _SINK])
    cut_weights: dict[tuple[int | str, int | str], float] = {}

    def add_finite(tail: int | str, head: int | str, log2_weight: float) -> None:
        network.add_edge(tail, head, capacity=round(log2_weight * _SCALE))
        cut_weights[tail, head] = log2_weight

    for level, windows in enumerate(structure.windows):
        arity = windows.shape[1]
        for parent in range(len(copies[level + 1])):
            e_in, e_out = next_vertex, next_vertex + 1
            next_vertex += 2
            add_finite(e_in, e_out, log2_weights[1 + level])
            members = [int(conv_offset[level]) + parent * arity + j for j in range(arity)]
            if level + 1 < structure.depth:
                members.append(int(conv_offset[level + 1]) + parent)
            for member in members:
                network.add_edge(member, e_in)
                network.add_edge(e_out, member)

    leaf_locations = copies[0]
    for leaf in np.flatnonzero(np.isin(leaf_locations, np.asarray(a, dtype=np.intp))):
        add_finite(_SOURCE, int(leaf), log2_weights[0])
    for leaf in np.flatnonzero(np.isin(leaf_locations, np.asarray(b, dtype=np.intp))):
        add_finite(int(leaf), _SINK, log2_weights[0])
    return network, cut_weights


def _unrolled_copies(structure: PoolingStructure) -> list[npt.NDArray[np.intp]]:
    """Per level, the node each unrolled copy stands for; copy ``j``'s parent is ``j // arity``.

    The root level holds one copy; on a tree each level's copies are a permutation of its nodes.
    """
    copies = [np.zeros(1, dtype=np.intp)]
    for windows in reversed(structure.windows):
        copies.insert(0, windows[copies[0]].reshape(-1))
    return copies
