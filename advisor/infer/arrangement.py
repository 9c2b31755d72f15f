"""The arrangement: a permutation of the locations that suits a pooling tree to the data.

A locally connected network fits a distribution when the data has low entanglement across the
network's *canonical partitions* — each set of locations its pooling tree merges, against the
rest [Alexander, De La Vega, Razin, Cohen 2023, arXiv:2303.11249]. Their surrogate for the
entanglement of a partition ``(K, K^c)`` is the dependence weight crossing it,
``sum_{i in K, j not in K} w_ij``.

**Canonical hierarchy.** The windows of the grid's halving tree: the whole grid, then every box
cut in half along each axis longer than one (ceil first), down to single locations — halves per
level on a sequence, quadrants on an image, as 2 (2x2) pooling builds them.
:func:`canonical_windows` gives the window of every position per level.

**Arrangement** (:func:`arrange`): top-down, the locations of each window are split into its
children's sizes by a graph partitioner (:mod:`advisor.infer.partition`) on the dependence graph
restricted to them — recursive balanced minimum cuts, 2 parts per level on a sequence and 4 on an
image, as in the paper — and, unless ``improve`` is off, the split is improved by swaps that lower
the crossing weight, the best of a few seeds is kept (up to :data:`TRIES_LIMIT` locations), and
so is the data's own order when no arrangement beats it (locally structured data often is
already arranged). Position ``p`` of the
arranged grid holds location ``permutation[p]``.

:func:`surrogate_entanglement` reports, per level, the weight crossing the windows of that level
as a fraction of the graph's total (every canonical partition of a level counts each crossing
edge from both sides; the fraction counts it once); the total over levels is the figure an
arrangement lowers.

**Stopping.** :func:`arrange` polls an optional stop signal before every split of every window,
inside the splits' balancing and swaps, and between the arrangements it compares
(:func:`~advisor.infer.polling.poll`), and raises :class:`~advisor.errors.StoppedError` once it
has stopped: a half-arranged grid is no arrangement.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.infer.graph import DependenceGraph
from advisor.infer.partition import (
    PartitionerName,
    available_partitioner,
    balance,
    first_split,
    refine,
)
from advisor.infer.polling import poll
from advisor.stopping import StopSignal

__all__ = [
    "TRIES",
    "TRIES_LIMIT",
    "Arrangement",
    "arrange",
    "canonical_windows",
    "halving_positions",
    "surrogate_entanglement",
]

TRIES: Final = 3
"""Seeds of the recursion an improved arrangement tries on grids up to :data:`TRIES_LIMIT`."""

TRIES_LIMIT: Final = 1024
"""Above this many locations one recursion is run (each costs about 1 s per 4,096 locations)."""

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
_Edges = tuple[_Ints, _Ints, _Floats]


@dataclass(frozen=True, eq=False)
class Arrangement:
    """A permutation of the locations and what it does to the surrogate entanglement.

    Attributes
    ----------
    permutation
        Position ``p`` of the arranged grid holds location ``permutation[p]``.
    partitioner
        ``metis`` or ``spectral`` (:mod:`advisor.infer.partition`).
    improved
        Whether the splits were refined and the best of several tries kept (:func:`arrange`).
    own_order
        Whether the data's own order was kept (no partitioned arrangement did better).
    before, after
        Surrogate entanglement per canonical level, the data's own order and the arrangement.
    """

    permutation: _Ints
    partitioner: PartitionerName
    improved: bool
    own_order: bool
    before: tuple[float, ...]
    after: tuple[float, ...]


def _segments(n: int) -> list[_Ints]:
    """Per halving depth ``d = 0, 1, ...``: the segment of each coordinate ``0..n-1``."""
    levels = [np.zeros(n, dtype=np.int64)]
    bounds = [(0, n)]
    while any(stop - start > 1 for start, stop in bounds):
        split: list[tuple[int, int]] = []
        for start, stop in bounds:
            if stop - start > 1:
                middle = start + (stop - start + 1) // 2
                split += [(start, middle), (middle, stop)]
            else:
                split.append((start, stop))
        bounds = split
        ids = np.empty(n, dtype=np.int64)
        for index, (start, stop) in enumerate(bounds):
            ids[start:stop] = index
        levels.append(ids)
    return levels


def halving_positions(n: int) -> _Ints:
    """Return where each coordinate ``0..n-1`` lies in the halving tree of ``2^L >= n`` positions.

    ``L`` is the depth of ``n``'s own halving tree (:func:`canonical_windows`; ``ceil(log2 n)``),
    and each of its segments is placed at the start of the aligned block of ``2^(L - d)``
    positions its depth ``d`` gives it, the first child in the first half: every segment of
    ``n``'s tree then lies in one window of the ``2^L`` grid's halving tree, at every depth. The
    search pools an arrangement on a grid padded to that power of two this way
    (:func:`advisor.search.candidates.arranged_permutation`), the padding in the gaps, so the
    windows the arrangement was cut for stay windows. Identity when ``n`` is a power of two.

    Examples
    --------
    >>> halving_positions(5).tolist(), halving_positions(7).tolist()
    ([0, 1, 2, 4, 6], [0, 1, 2, 3, 4, 5, 6])
    """
    levels = _segments(n)
    positions = np.zeros(n, dtype=np.int64)
    for depth in range(1, len(levels)):
        parent, child = levels[depth - 1], levels[depth]
        # Segments are contiguous and numbered in order: a second child starts after its
        # parent's first position.
        first = np.searchsorted(parent, parent)
        positions += (child != child[first]) << (len(levels) - 1 - depth)
    return positions


def canonical_windows(shape: Sequence[int]) -> list[_Ints]:
    """Return, per level of the halving tree, the window id of every position.

    Levels run top-down from the whole grid to single locations; positions and window ids are
    row-major (the ids over the windows' own grid).
    """
    per_axis = [_segments(n) for n in shape]
    depth = max(len(levels) for levels in per_axis)
    windows = []
    for d in range(depth):
        axis_ids = [levels[min(d, len(levels) - 1)] for levels in per_axis]
        counts = [int(ids.max()) + 1 for ids in axis_ids]
        grids = np.meshgrid(*axis_ids, indexing="ij")
        windows.append(np.ravel_multi_index(tuple(grids), counts).reshape(-1).astype(np.int64))
    return windows


def surrogate_entanglement(
    graph: DependenceGraph, permutation: _Ints | None = None
) -> tuple[float, ...]:
    """Weight crossing each canonical level's windows, as a fraction of the total weight.

    Levels run top-down, from the first split (halves or quadrants) to the windows just above
    single locations; ``permutation`` None is the data's own order.
    """
    total = graph.total()
    figures = []
    for windows in canonical_windows(graph.shape)[1:-1]:
        of_location = np.empty_like(windows)
        if permutation is None:
            of_location = windows
        else:
            of_location[permutation] = windows
        crossing = graph.weights[of_location[graph.rows] != of_location[graph.cols]].sum()
        figures.append(float(crossing / total) if total > 0 else 0.0)
    return tuple(figures)


def arrange(
    graph: DependenceGraph,
    *,
    partitioner: PartitionerName | None = None,
    improve: bool = True,
    seed: int = 0,
    stop: StopSignal | None = None,
) -> Arrangement:
    """Arrange the locations by recursive balanced minimum cuts (see the module docstring).

    Parameters
    ----------
    graph
        The dependence graph.
    partitioner
        ``metis`` (needs pymetis) or ``spectral``; default: ``metis`` when installed.
    improve
        Refine every split by swaps (:func:`advisor.infer.partition.refine`), run the recursion
        with :data:`TRIES` seeds on grids of at most :data:`TRIES_LIMIT` locations, and keep the
        lowest total surrogate entanglement among those and the data's own order. Off: the
        partitioner's splits, made exact in size, once (the paper's recursion).
    seed
        METIS's seed (the first one).
    stop
        Polled between units of the work (a split, a balancing move, a round or pair of parts
        of the swaps, an arrangement's figures); None never stops.

    Raises
    ------
    StoppedError
        Once ``stop`` has stopped (a deadline, a cancellation, a shutdown).
    """
    name = partitioner or available_partitioner()
    n = graph.num_locations
    if not improve:
        permutation = _recursion(graph, name, False, seed, stop)
    else:
        tries = TRIES if n <= TRIES_LIMIT else 1
        # Wrapped within int64, as METIS takes its seed: the largest seed a caller may give
        # is 2^63 - 1, and its tries are the seeds after it.
        seeds = [(seed + t) % 2**63 for t in range(tries)]
        candidates = [_recursion(graph, name, True, one, stop) for one in seeds]
        candidates.append(np.arange(n, dtype=np.int64))
        permutation = min(candidates, key=lambda p: _polled_total(graph, p, stop))
    poll(stop)
    before = surrogate_entanglement(graph)
    poll(stop)
    return Arrangement(
        permutation=permutation,
        partitioner=name,
        improved=improve,
        own_order=bool(np.array_equal(permutation, np.arange(n))),
        before=before,
        after=surrogate_entanglement(graph, permutation),
    )


def _polled_total(graph: DependenceGraph, permutation: _Ints, stop: StopSignal | None) -> float:
    """Total surrogate entanglement of ``permutation``, after a poll of ``stop``."""
    poll(stop)
    return sum(surrogate_entanglement(graph, permutation))


def _recursion(
    graph: DependenceGraph,
    name: PartitionerName,
    refine_splits: bool,
    seed: int,
    stop: StopSignal | None,
) -> _Ints:
    """Split every window of the halving tree top-down; return the permutation.

    ``stop`` is polled before every window's split and within it (:func:`_split`).
    """
    levels = canonical_windows(graph.shape)
    n = graph.num_locations
    # window_of[v]: the window (at the current level) location v has been placed in.
    window_of = np.zeros(n, dtype=np.int64)
    rows, cols, weights = graph.rows, graph.cols, graph.weights
    for parent_level, child_level in itertools.pairwise(levels):
        children_of = _children(parent_level, child_level)
        child_size = np.bincount(child_level)
        placed = np.empty(n, dtype=np.int64)
        members_of = _group(window_of, int(parent_level.max()) + 1)
        inside = window_of[rows] == window_of[cols]
        edges_of = _group(window_of[rows[inside]], len(members_of))
        inner = (rows[inside], cols[inside], weights[inside])
        for parent, members in enumerate(members_of):
            poll(stop)
            children = children_of[parent]
            sizes = [int(child_size[c]) for c in children]
            local = _local_edges(members, inner, edges_of[parent])
            labels = _split(name, members.size, local, sizes, refine_splits, seed, stop)
            placed[members] = children[labels]
        window_of = placed
    positions = _positions_of_windows(levels[-1])
    permutation = np.empty(n, dtype=np.int64)
    permutation[positions[window_of]] = np.arange(n)
    return permutation


def _positions_of_windows(leaves: _Ints) -> _Ints:
    """Position of each single-location window id."""
    positions = np.empty_like(leaves)
    positions[leaves] = np.arange(leaves.size)
    return positions


def _children(parent_level: _Ints, child_level: _Ints) -> list[_Ints]:
    """Return the child window ids of every parent window, ascending."""
    pairs = np.unique(np.stack([parent_level, child_level]), axis=1)
    return _group_values(pairs[0], pairs[1], int(parent_level.max()) + 1)


def _group(keys: _Ints, count: int) -> list[_Ints]:
    """Group the indices of ``keys`` by key value ``0..count-1``."""
    return _group_values(keys, np.arange(keys.size, dtype=np.int64), count)


def _group_values(keys: _Ints, values: _Ints, count: int) -> list[_Ints]:
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(count + 1))
    ordered = values[order]
    return [ordered[bounds[k] : bounds[k + 1]] for k in range(count)]


def _local_edges(members: _Ints, inner: _Edges, edge_ids: _Ints) -> _Edges:
    """Return the edges among ``members``, renumbered ``0..len(members)-1``."""
    rows, cols, weights = (array[edge_ids] for array in inner)
    order = np.argsort(members)
    ordered = members[order]
    return (
        order[np.searchsorted(ordered, rows)].astype(np.int64),
        order[np.searchsorted(ordered, cols)].astype(np.int64),
        weights.astype(np.float64),
    )


def _split(
    name: PartitionerName,
    n: int,
    edges: _Edges,
    sizes: list[int],
    refine_splits: bool,
    seed: int,
    stop: StopSignal | None,
) -> _Ints:
    """Part labels for ``n`` nodes with exactly ``sizes``.

    ``stop`` is polled before the first split (once the caller has gathered the window's edges,
    and again once METIS's input is built: METIS cannot be interrupted), and within the
    balancing and the swaps.
    """
    if len(sizes) == 1 or max(sizes) == 1:
        # Single-location parts: every assignment crosses the same weight.
        return np.arange(n, dtype=np.int64)
    poll(stop)
    labels = balance(first_split(name, n, edges, sizes, seed, stop), sizes, edges, stop)
    if refine_splits and edges[0].size:
        labels = refine(labels, len(sizes), edges, stop)
    return labels
