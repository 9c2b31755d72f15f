"""Separation-rank bounds of a mixture of pooling trees [CTS18] (docs/THEORY.md §15).

A mixture sums its members' pooled activations at every mixing node (:mod:`advisor.model.mixture`),
so its coefficient tensor is not one tensor network but a sum of them, and no single graph's
min-cut bounds it. The bound here is the tree recurrence of docs/THEORY.md §6 run in every member
between mixing levels, with one more rule at a mixing node S of width r, where the members'
tensors are summed: writing ``X_s = log2 sum_m 2^{f_m(S, s)}`` (the rank of a sum is at most the
sum of the ranks),

    F(S, s) = min( X_s,  log2 r + X_{other side},  D(S, s) )

(moving the channel index across the cut multiplies the rank by at most r; no rank exceeds the
smaller side of its matrix, ``D(S, A) = min(|A and S| log2 M + log2 r, |B and S| log2 M)`` and
symmetrically); every member then continues from ``F``. Above a mixing level the output is a
multilinear function of that level's node vectors (each member's products use each node once,
and sums of multilinear maps are multilinear), so putting every node's channel on one side cuts
it: the figure is the least over the mixing levels (the root's is ``min(F(root, A), F(root,
B))``, level 0's the dimension bound) of ``min_s sum_S F(S, s)``. It is an upper bound on the
generic rank, with shared weights or without, and with one member it is the tree recurrence.

A mixture summed at the root only is the sum of its member trees, whose weights it shares (the
representation layer is one weight choice of each member), so its rank with shared weights is
at most the sum of the members' ranks: :func:`log2_mixture_figure` caps the bound there by
``log2 sum_m 2^{g_m}``, ``g_m`` member ``m``'s shared-weight bound (docs/THEORY.md §5), which
the recurrence, charging every member its plain figure, does not see. Summed at a lower level
too, a member is no longer one tree of the mixture, and the bound stands alone.

A lower bound comes from the **hybrid trees**: zeroing every member but one in each stretch
between mixing levels leaves a single tree (member c_0's windows up to the first mixing level,
c_1's up to the next, ...), so the mixture can compute everything each hybrid can, and its
generic rank is at least each hybrid's. :func:`hybrid_structures` builds them as ordinary pooling
structures, for the tree engine and the exact engine.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from advisor.geometry.layouts import geometry_structure
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import Architecture
from advisor.model.mixture import member_geometries, member_widths, node_labels
from advisor.seprank.labels import SIDE_A, SIDE_B
from advisor.seprank.tree import MinCuts, log2_min_cuts

__all__ = [
    "LadderBounds",
    "MixtureStructure",
    "hybrid_structures",
    "log2_member_cuts",
    "log2_mixture_bound",
    "log2_mixture_figure",
    "mixture_structure",
]

_Ids = npt.NDArray[np.intp]
_Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MixtureStructure:
    """The members' pooling structures and how their nodes line up at the mixing levels.

    Attributes
    ----------
    members
        One pooling structure per member, the architecture's own first.
    widths
        Per member, the hidden widths ``r_0 .. r_{L-1}``.
    representation
        M.
    mixing
        The levels where members are summed, the root (level L) included, ascending.
    canonical
        ``canonical[m][i][c]``: member ``m``'s node at ``mixing[i]`` covering the same locations as
        member 0's node ``c``.
    node_labels
        ``node_labels[i][x]``: member 0's node at ``mixing[i]`` above location ``x``.
    """

    members: tuple[PoolingStructure, ...]
    widths: tuple[tuple[int, ...], ...]
    representation: int
    mixing: tuple[int, ...]
    canonical: tuple[tuple[_Ids, ...], ...]
    node_labels: tuple[_Ids, ...]

    @property
    def depth(self) -> int:
        """L, the pooling levels."""
        return self.members[0].depth

    @property
    def num_locations(self) -> int:
        """N, the input locations."""
        return self.members[0].num_locations

    @property
    def root_only(self) -> bool:
        """Whether the members are summed at the root only: the mixture is their trees' sum."""
        return self.mixing == (self.depth,)


def mixture_structure(architecture: Architecture) -> MixtureStructure:
    """Build the :class:`MixtureStructure` of an architecture with a ``mixture``."""
    mixture = architecture.mixture
    assert mixture is not None, "only architectures with a mixture have a mixture structure"
    schedule = architecture.schedule
    geometries = member_geometries(architecture.geometry, mixture)
    mixing = (*mixture.mixing, schedule.depth)
    labels = [node_labels(geometry, schedule) for geometry in geometries]
    canonical = []
    for own in labels:
        per_level = []
        for level in mixing:
            nodes = np.empty(int(labels[0][level].max()) + 1, dtype=np.intp)
            nodes[labels[0][level]] = own[level]
            per_level.append(nodes)
        canonical.append(tuple(per_level))
    return MixtureStructure(
        members=tuple(geometry_structure(g, schedule) for g in geometries),
        widths=tuple(member_widths(architecture.widths, mixture)),
        representation=architecture.representation,
        mixing=mixing,
        canonical=tuple(canonical),
        node_labels=tuple(labels[0][level] for level in mixing),
    )


def log2_mixture_bound(structure: MixtureStructure, labels: npt.NDArray[np.int8]) -> _Floats:
    """Return the upper bound of the module docstring for every row of ``labels`` (``(C,)``)."""
    return LadderBounds(structure, labels).bound(structure.representation, structure.widths)


def log2_member_cuts(
    structure: MixtureStructure,
    labels: npt.NDArray[np.int8],
    representation: int,
    widths: Sequence[Sequence[int]],
    siblings: Sequence[bool] | None = None,
) -> list[MinCuts]:
    """Return each member tree's min-cuts alone, at its ``widths`` and M = ``representation``.

    ``siblings``, per member: find the siblings its shared bound does not charge
    (:func:`~advisor.seprank.tree.log2_min_cuts`), which only its ``tight`` certificate reads.
    """
    log2_m = math.log2(representation)
    return [
        log2_min_cuts(
            member,
            labels,
            np.log2(np.asarray(own, dtype=np.float64)),
            log2_m,
            siblings=bool(siblings is not None and siblings[index]),
        )
        for index, (member, own) in enumerate(zip(structure.members, widths, strict=True))
    ]


def log2_mixture_figure(
    structure: MixtureStructure, bound: _Floats, members: Sequence[_Floats]
) -> _Floats:
    """Return the mixture's shared-weight figure: ``bound``, capped at a root-only mixture.

    ``bound``: :func:`log2_mixture_bound`'s; ``members``: each member's shared-weight bound
    alone (:func:`log2_member_cuts`), read only where the members are summed at the root only:
    the figure is then at most ``log2 sum_m 2^{members[m]}`` (the module docstring). The one
    rule for the analysis's figure and the search's score.
    """
    if not structure.root_only:
        return bound
    return np.minimum(bound, np.logaddexp2.reduce(np.stack(members), axis=0))


_Sides = tuple[_Floats, _Floats]
_Sums = tuple[_Floats, _Floats, _Floats]
"""A level's window sums: of each side's costs, and of their least per location."""
_State = tuple[list[_Sides], _Floats]
"""The recurrence after a level: each member's costs per side, and the least cut so far."""


class LadderBounds:
    """:func:`log2_mixture_bound` of one mixture's members at many width ladders.

    What the widths do not change is computed once: the locations of every correlation's sides
    under each mixing node. The recurrence up to level ``l`` depends only on M and the widths
    of levels ``0..l``, and a level's window sums (the gathers over its windows, most of the
    work) only on the levels below it: the last ladder's states are kept with the sums of the
    level above each, so a ladder recomputes only past its longest common prefix with the one
    before, and the window sums only past the level before that. Ladders taken in
    lexicographic order (as the search lists them) share the large lower levels: the first
    level's sums once per M. The figures are the same floats as a separate call per ladder.
    """

    def __init__(self, structure: MixtureStructure, labels: npt.NDArray[np.int8]) -> None:
        """``structure``'s widths and M are not used: :meth:`bound` takes each ladder's."""
        self._structure = structure
        self._labels = labels
        sides = [labels == side for side in (SIDE_A, SIDE_B)]
        self._counts = [
            [_region_sizes(structure, index, side) for side in sides]
            for index in range(len(structure.mixing))
        ]
        # The last ladder's prefixes: key, the state after it, the next level's window sums.
        self._path: list[tuple[tuple[object, ...], _State, list[_Sums] | None]] = []

    def bound(self, representation: int, widths: Sequence[Sequence[int]]) -> _Floats:
        """Return the bound per correlation with M = ``representation`` and each member's widths."""
        log2_m = math.log2(representation)
        key: tuple[object, ...] = (representation,)
        if not self._reuses(0, key):
            self._keep(0, key, self._leaves(log2_m))
        for level in range(self._structure.depth):
            key = (*key, tuple(int(member[level]) for member in widths))
            if not self._reuses(level + 1, key):
                self._keep(level + 1, key, self._step(level, widths, log2_m))
        return np.asarray(self._path[-1][1][1], dtype=np.float64)

    def figure(self, representation: int, widths: Sequence[Sequence[int]]) -> _Floats:
        """Return :func:`log2_mixture_figure` at this ladder: what the analysis reports."""
        bound = self.bound(representation, widths)
        if not self._structure.root_only:
            return bound
        cuts = log2_member_cuts(self._structure, self._labels, representation, widths)
        return log2_mixture_figure(self._structure, bound, [member.shared for member in cuts])

    def _reuses(self, length: int, key: tuple[object, ...]) -> bool:
        """Whether the kept prefix of ``length`` levels is ``key``."""
        return length < len(self._path) and self._path[length][0] == key

    def _keep(self, length: int, key: tuple[object, ...], state: _State) -> None:
        del self._path[length:]
        self._path.append((key, state, None))

    def _leaves(self, log2_m: float) -> _State:
        labels = self._labels
        leaf_a = np.where(labels == SIDE_B, log2_m, 0.0)
        leaf_b = np.where(labels == SIDE_A, log2_m, 0.0)
        # At level 0 the "level cut" is the dimension bound: every leg of one side.
        best = np.minimum(leaf_a.sum(axis=1), leaf_b.sum(axis=1))
        return [(leaf_a, leaf_b) for _ in self._structure.members], best

    def _step(self, level: int, widths: Sequence[Sequence[int]], log2_m: float) -> _State:
        """Pool ``level`` in every member; sum them where ``level + 1`` is a mixing level.

        Continues the kept state after ``level`` levels, whose window sums it computes once.
        """
        structure = self._structure
        key, (costs, best), sums = self._path[level]
        if sums is None:
            sums = [
                _window_sums(member.windows[level], *cost)
                for member, cost in zip(structure.members, costs, strict=True)
            ]
            self._path[level] = key, (costs, best), sums
        costs = [
            _pooled(math.log2(own[level]), *summed)
            for own, summed in zip(widths, sums, strict=True)
        ]
        if level + 1 in structure.mixing:
            index = structure.mixing.index(level + 1)
            sizes = [counts * log2_m for counts in self._counts[index]]
            costs = _summed(structure, index, math.log2(widths[0][level]), costs, sizes)
            mixed_a, mixed_b = costs[0]
            best = np.minimum(best, np.minimum(mixed_a.sum(axis=1), mixed_b.sum(axis=1)))
        return costs, best


def _region_sizes(structure: MixtureStructure, index: int, side: npt.NDArray[np.bool_]) -> _Floats:
    """Count, per correlation and canonical node at ``mixing[index]``, its locations on ``side``."""
    labels = structure.node_labels[index]
    nodes = int(labels.max()) + 1
    rows = side.shape[0]
    # One bincount over (correlation, node) keys: np.add.at took 0.1 s per call on 128x128 with
    # 200 correlations, two thirds of a mixture search's time.
    keys = (np.arange(rows, dtype=np.intp)[:, None] * nodes + labels[None, :]).ravel()
    counts = np.bincount(keys, weights=side.ravel(), minlength=rows * nodes)
    return np.asarray(counts, dtype=np.float64).reshape(rows, nodes)


def _window_sums(windows: _Ids, cost_a: _Floats, cost_b: _Floats) -> _Sums:
    """Sum each window's costs per side and their least: what a level's width does not change."""
    gathered_a, gathered_b = cost_a[:, windows], cost_b[:, windows]
    return gathered_a.sum(-1), gathered_b.sum(-1), np.minimum(gathered_a, gathered_b).sum(-1)


def _pooled(log2_width: float, sum_a: _Floats, sum_b: _Floats, least: _Floats) -> _Sides:
    """One level of the tree recurrence: keep each window's δ on a side, or cut it once."""
    cut = log2_width + least
    return np.minimum(sum_a, cut), np.minimum(sum_b, cut)


def _summed(
    structure: MixtureStructure,
    index: int,
    log2_width: float,
    costs: list[tuple[_Floats, _Floats]],
    sizes: list[_Floats],
) -> list[tuple[_Floats, _Floats]]:
    """Sum the members at mixing level ``structure.mixing[index]``; each continues from the sum.

    ``log2_width``: of the level summed; ``sizes``: per side, ``log2 M`` times the node's
    locations on that side (canonical order).
    """
    aligned = [
        (cost_a[:, nodes[index]], cost_b[:, nodes[index]])
        for (cost_a, cost_b), nodes in zip(costs, structure.canonical, strict=True)
    ]
    sum_a = np.logaddexp2.reduce(np.stack([a for a, _ in aligned]), axis=0)
    sum_b = np.logaddexp2.reduce(np.stack([b for _, b in aligned]), axis=0)
    size_a, size_b = sizes
    mixed_a = np.minimum.reduce([sum_a, log2_width + sum_b, size_a + log2_width, size_b])
    mixed_b = np.minimum.reduce([sum_b, log2_width + sum_a, size_b + log2_width, size_a])
    result = []
    for nodes in structure.canonical:
        own_a, own_b = np.empty_like(mixed_a), np.empty_like(mixed_b)
        own_a[:, nodes[index]], own_b[:, nodes[index]] = mixed_a, mixed_b
        result.append((own_a, own_b))
    return result


def hybrid_structures(
    structure: MixtureStructure,
) -> list[tuple[tuple[int, ...], PoolingStructure, tuple[int, ...]]]:
    """Return every hybrid tree: (member per stretch, its pooling structure, its widths).

    Stretch ``i`` is the levels up to ``mixing[i]``; the hybrid uses member ``c_i``'s windows and
    widths there. Its level-``l`` nodes are numbered as member ``c_i``'s, so at a mixing level the
    next stretch's windows are renumbered through the canonical (member 0) order.
    """
    hybrids = []
    members = range(len(structure.members))
    for choice in itertools.product(members, repeat=len(structure.mixing)):
        windows: list[_Ids] = []
        widths: list[int] = []
        below = choice[0]
        start = 0
        for stretch, (member, end) in enumerate(zip(choice, structure.mixing, strict=True)):
            for level in range(start, end):
                own = structure.members[member].windows[level]
                if level == start and stretch and member != below:
                    # Member ``member``'s node j is member ``below``'s node rename[j].
                    boundary = structure.canonical
                    rename = np.empty_like(boundary[member][stretch - 1])
                    rename[boundary[member][stretch - 1]] = boundary[below][stretch - 1]
                    own = rename[own]
                windows.append(own)
                widths.append(structure.widths[member][level])
            below, start = member, end
        hybrids.append(
            (
                choice,
                PoolingStructure(num_locations=structure.num_locations, windows=tuple(windows)),
                tuple(widths),
            )
        )
    return hybrids
