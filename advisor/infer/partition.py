"""Split a weighted graph into parts of exact sizes with a small cut.

Two partitioners give a first split, :func:`balance` makes its sizes exact, and
:func:`refine` lowers its cut by swaps:

- ``metis``: METIS's multilevel k-way partitioning through ``pymetis`` (the optional ``infer``
  extra), the partitioner of Alexander et al. (their recursion used networkx-metis);
- ``spectral``: the core's fallback when pymetis is not installed: parts in the order of each
  connected component's Fiedler vector, one component after another (dense eigendecomposition up
  to :data:`SPECTRAL_LIMIT` nodes; above it, the nodes' own order, which :func:`refine` then
  improves).

A graph here is ``(n, rows, cols, weights)`` over local node ids ``0..n-1``, each edge once.

:func:`balance` and :func:`refine` poll an optional stop signal between their moves and rounds
(:func:`~advisor.infer.polling.poll`); a METIS call cannot be interrupted, and its caller polls
before it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from advisor.infer.polling import poll
from advisor.stopping import StopSignal

__all__ = [
    "SPECTRAL_LIMIT",
    "PartitionerName",
    "available_partitioner",
    "balance",
    "first_split",
    "refine",
]

SPECTRAL_LIMIT: Final = 2048
"""Largest part the spectral fallback orders by its Fiedler vector (an ``n x n`` eigenproblem)."""

_REFINE_ROUNDS: Final = 30
"""Rounds of swaps :func:`refine` runs at most (it stops earlier when no swap gains)."""

_NEIGHBOUR_CHUNK: Final = 65536
"""Edges :func:`_neighbour_sets` adds between two polls of the stop signal (about 25 ms)."""

_METIS_SCALE: Final = 1000
"""METIS takes integer edge weights: weights in (0, 1] become 1..1000."""

PartitionerName: TypeAlias = Literal["metis", "spectral"]

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]


def available_partitioner() -> PartitionerName:
    """Return ``metis`` when pymetis is installed, else ``spectral``."""
    return "metis" if importlib.util.find_spec("pymetis") is not None else "spectral"


def first_split(
    name: PartitionerName,
    n: int,
    edges: tuple[_Ints, _Ints, _Floats],
    sizes: Sequence[int],
    seed: int,
    stop: StopSignal | None = None,
) -> _Ints:
    """Return a part label per node, sizes close to ``sizes`` (exact for ``spectral``).

    ``stop`` is polled just before the partitioner runs, which cannot be interrupted.
    """
    if len(sizes) == 1:
        return np.zeros(n, dtype=np.int64)
    if name == "metis":
        return _metis(n, edges, sizes, seed, stop)
    poll(stop)
    return _spectral(n, edges, sizes)


def _metis(
    n: int,
    edges: tuple[_Ints, _Ints, _Floats],
    sizes: Sequence[int],
    seed: int,
    stop: StopSignal | None,
) -> _Ints:
    """METIS's parts; ``stop`` is polled once its input is built (0.1-0.2 s on a large grid)."""
    import pymetis

    rows, cols, weights = edges
    if rows.size == 0:
        return np.repeat(np.arange(len(sizes)), sizes).astype(np.int64)
    heads = np.concatenate([rows, cols])
    tails = np.concatenate([cols, rows])
    scaled = np.maximum(1, np.rint(np.concatenate([weights, weights]) * _METIS_SCALE))
    # Each (head, tail) pair is once in the graph, so one key orders the edges as a lexsort of
    # (head, tail) would, in a quarter of its time (0.1 s against 0.4 s at a million entries:
    # the first split of a large grid cannot be interrupted, and this is part of it).
    order = np.argsort(heads * n + tails)
    xadj = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(heads, minlength=n), out=xadj[1:])
    options = pymetis.Options(seed=seed)
    poll(stop)
    _, labels = pymetis.part_graph(
        len(sizes),
        adjacency=pymetis.CSRAdjacency(xadj, tails[order]),
        eweights=scaled[order].astype(np.int64),
        tpwgts=[size / n for size in sizes],
        options=options,
    )
    return np.asarray(labels, dtype=np.int64)


def _spectral(n: int, edges: tuple[_Ints, _Ints, _Floats], sizes: Sequence[int]) -> _Ints:
    """Cut the Fiedler order into consecutive runs of ``sizes``, one component after another.

    A graph of several connected components has a Laplacian whose null space holds one vector
    per component, so "the" Fiedler vector is any mix of them, and which one LAPACK returns
    changed between numpy releases (groups scattered over a grid were split on one and kept on
    another). The components are ordered by their smallest node, each by its own Fiedler vector.
    """
    rows, cols, weights = edges
    order = np.arange(n)
    if 2 < n <= SPECTRAL_LIMIT and rows.size:
        component = _components(n, rows, cols)
        nodes = np.argsort(component, kind="stable")  # by component, each ascending
        node_starts = np.searchsorted(component[nodes], np.unique(component))
        by_edge = np.argsort(component[rows], kind="stable")
        edge_starts = np.searchsorted(component[rows][by_edge], np.unique(component))
        parts = [
            _fiedler_order(members, rows[chosen], cols[chosen], weights[chosen])
            for members, chosen in zip(
                np.split(nodes, node_starts[1:]), np.split(by_edge, edge_starts[1:]), strict=True
            )
        ]
        order = np.concatenate(parts)
    labels = np.empty(n, dtype=np.int64)
    labels[order] = np.repeat(np.arange(len(sizes)), sizes)
    return labels


def _components(n: int, rows: _Ints, cols: _Ints) -> _Ints:
    """Label every node with the smallest node of its connected component."""
    labels = np.arange(n)
    while True:
        low = np.minimum(labels[rows], labels[cols])
        lowered = labels.copy()
        np.minimum.at(lowered, rows, low)
        np.minimum.at(lowered, cols, low)
        lowered = lowered[lowered]  # a label's own label is at most it: jump along the chain
        if np.array_equal(lowered, labels):
            return labels
        labels = lowered


def _fiedler_order(nodes: _Ints, rows: _Ints, cols: _Ints, weights: _Floats) -> _Ints:
    """Return one connected component's sorted ``nodes`` in the order of its Fiedler vector."""
    if nodes.size <= 2:
        return nodes
    head, tail = np.searchsorted(nodes, rows), np.searchsorted(nodes, cols)
    laplacian = np.zeros((nodes.size, nodes.size))
    np.add.at(laplacian, (head, tail), -weights)
    np.add.at(laplacian, (tail, head), -weights)
    laplacian[np.arange(nodes.size), np.arange(nodes.size)] = -laplacian.sum(axis=1)
    _, vectors = np.linalg.eigh(laplacian)
    ordered: _Ints = nodes[np.argsort(vectors[:, 1], kind="stable")]
    return ordered


def _links(n: int, parts: int, labels: _Ints, edges: tuple[_Ints, _Ints, _Floats]) -> _Floats:
    """``links[v, p]``: the weight between node ``v`` and part ``p``."""
    rows, cols, weights = edges
    links = np.zeros((n, parts))
    np.add.at(links, (rows, labels[cols]), weights)
    np.add.at(links, (cols, labels[rows]), weights)
    return links


def balance(
    labels: _Ints,
    sizes: Sequence[int],
    edges: tuple[_Ints, _Ints, _Floats],
    stop: StopSignal | None = None,
) -> _Ints:
    """Move nodes from parts over their size to parts under it, cheapest move first.

    ``stop`` is polled before each move (:class:`~advisor.errors.StoppedError`).
    """
    labels = labels.copy()
    n, parts = labels.size, len(sizes)
    target = np.asarray(sizes)
    while True:
        poll(stop)
        counts = np.bincount(labels, minlength=parts)
        over = np.flatnonzero(counts > target)
        under = np.flatnonzero(counts < target)
        if over.size == 0:
            return labels
        links = _links(n, parts, labels, edges)
        source, sink = int(over[0]), int(under[0])
        members = np.flatnonzero(labels == source)
        gain = links[members, sink] - links[members, source]
        moves = min(int(counts[source] - target[source]), int(target[sink] - counts[sink]))
        labels[members[np.argsort(-gain, kind="stable")[:moves]]] = sink


def refine(
    labels: _Ints,
    parts: int,
    edges: tuple[_Ints, _Ints, _Floats],
    stop: StopSignal | None = None,
) -> _Ints:
    """Lower the weight between parts by swapping node pairs; sizes are kept.

    Each round takes, for every pair of parts, the swaps with a positive gain
    ``g = (links[a, q] - links[a, p]) + (links[b, p] - links[b, q])`` between nodes that are
    pairwise non-adjacent (also across the swaps of one round), so the gains add up exactly. It
    stops when no swap gains or after :data:`_REFINE_ROUNDS` rounds. ``stop`` is polled before
    each round and each pair of parts (:class:`~advisor.errors.StoppedError`).
    """
    labels = labels.copy()
    n = labels.size
    rows, cols, _ = edges
    neighbours = _neighbour_sets(n, rows, cols, stop)
    for _ in range(_REFINE_ROUNDS):
        poll(stop)
        links = _links(n, parts, labels, edges)
        own = links[np.arange(n), labels]
        touched = np.zeros(n, dtype=np.bool_)
        swapped = 0
        for p in range(parts):
            for q in range(p + 1, parts):
                poll(stop)
                swapped += _swap_pair(labels, links, own, p, q, neighbours, touched)
        if swapped == 0:
            break
    return labels


def _neighbour_sets(
    n: int, rows: _Ints, cols: _Ints, stop: StopSignal | None = None
) -> list[set[int]]:
    """Return the neighbours of every node, as sets; ``stop`` is polled between chunks of edges.

    On a whole 128 x 128 grid of 64 edges per location this takes 0.2 s, too long to go
    unpolled.
    """
    sets: list[set[int]] = [set() for _ in range(n)]
    for start in range(0, rows.size, _NEIGHBOUR_CHUNK):
        poll(stop)
        chunk = slice(start, start + _NEIGHBOUR_CHUNK)
        for i, j in zip(rows[chunk].tolist(), cols[chunk].tolist(), strict=True):
            sets[i].add(j)
            sets[j].add(i)
    return sets


def _swap_pair(
    labels: _Ints,
    links: _Floats,
    own: _Floats,
    p: int,
    q: int,
    neighbours: list[set[int]],
    touched: npt.NDArray[np.bool_],
) -> int:
    """Apply independent positive-gain swaps between parts ``p`` and ``q``; return their count."""
    in_p = np.flatnonzero(labels == p)
    in_q = np.flatnonzero(labels == q)
    gain_p = links[in_p, q] - own[in_p]
    gain_q = links[in_q, p] - own[in_q]
    # Only nodes that gain on their own, or nearly, can make a positive swap with a partner.
    best_q = gain_q.max(initial=-np.inf)
    best_p = gain_p.max(initial=-np.inf)
    candidates_p = in_p[np.argsort(-gain_p)][: np.count_nonzero(gain_p + best_q > 0)]
    candidates_q = in_q[np.argsort(-gain_q)][: np.count_nonzero(gain_q + best_p > 0)]
    if candidates_p.size == 0 or candidates_q.size == 0:
        return 0
    swaps = 0
    used: set[int] = set()
    queue_q = [int(b) for b in candidates_q]
    for a in candidates_p.tolist():
        if touched[a] or any(v in used for v in neighbours[a]):
            continue
        for b in queue_q:
            if touched[b] or b in neighbours[a] or any(v in used for v in neighbours[b]):
                continue
            gain = (links[a, q] - own[a]) + (links[b, p] - own[b])
            if gain <= 1e-12:
                break
            labels[a], labels[b] = q, p
            touched[a] = touched[b] = True
            used.update((a, b))
            queue_q.remove(b)
            swaps += 1
            break
    return swaps
