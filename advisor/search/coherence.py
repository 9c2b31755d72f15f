"""Whether a tree meets a relation at one level everywhere, and soon: the search's first tie-break.

Among designs equal on every key of the score, :mod:`advisor.search.meeting` used to decide
alone: the tree whose correlated locations meet the other side soonest. On the trained-outcome
benchmark that was right where every tied tree meets all of a relation's pairs at one level
(``sequence-shift``) and wrong where the tied trees split them over several levels
(docs/OUTCOMES.md): on ``sequence-quarter``, whose description pairs every block of four steps
with the block 16 steps later, the tied pick meeting two thirds of the pairs (i, i + 16) at the
first level and a third at the second trained to 82-83%, the tree meeting all of them at the
second level to 89%; on ``sequence-local`` the contiguous pick to 74%, the tied dilation order
meeting three quarters of the neighbour pairs at one level to 80%. How soon still counts: on
``sequence-eighth`` the tied tree meeting all pairs (i, i + 8) at the third level trained to 80%,
at the fourth to 70%, and six sevenths at the second and the rest at the third to 87%.

A convolution applies one filter at every position of a level. A relation met at one level
everywhere is learned by one filter from every training example; one met at several levels needs
a filter per level, each learning from a part of the examples. And a pair met late has passed
more pooling levels apart (:mod:`advisor.search.meeting`). So the figure is, for every *relation*
of the description, ``sum over levels l of h(l)^2 * q^l``, with ``h(l)`` the weighted share of
the relation's pairs that first share a window at level ``l`` and ``q`` =
:data:`LEVEL_DISCOUNT`: the chance that two of its pairs drawn at random meet at the same level,
each level up discounted by ``q``. It is not a factor of the score: across geometries it ranked
the benchmark's pools worse than the score (docs/THEORY.md §18).

A *relation* is read off the description where it states one: a correlation whose B is its A moved
by a fixed displacement (every location of A that the move keeps on the grid lands in B, and at
least half of them stay on it) relates each location of A with the location that far away. The
smallest such displacement is taken, in both directions where both fit (a stripe pattern's A moved
one stripe either way lands in B). Correlations of one displacement, up to sign, form one
relation: ``sequence-quarter``'s twelve block pairs are one relation, steps 16 apart. A
description with no translated correlation has no relation and the tie-break does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.model.grid import Padding, padded_shape
from advisor.model.regions import ResolvedCorrelation

__all__ = ["LEVEL_DISCOUNT", "Relation", "coherence", "displacements", "task_relations"]

_Ids = npt.NDArray[np.intp]
_Floats = npt.NDArray[np.float64]

CANDIDATES: Final = 16
"""Displacements tried per correlation: from A's first location to B's nearest ones."""

LEVEL_DISCOUNT: Final = 2 / 3
"""Weight of a relation met one level higher. Fitted: on the five sequence tasks of the
trained-outcome benchmark whose picks tie, any value between 1/2 and 3/4 orders the tied picks as
training did (docs/THEORY.md §18); below 1/2 meeting two thirds of the pairs at the first level
and a third at the second beats meeting all at the second (82-83% against 89% trained), above 3/4
meeting all at the third beats six sevenths at the second and the rest at the third (80% against
87%)."""

_SCREEN: Final = 64
"""Locations of A a displacement is first tried on, before all of them."""


@dataclass(frozen=True, eq=False)
class Relation:
    """The location pairs one displacement relates, on the input grid, with their weights.

    Attributes
    ----------
    displacement
        The displacement, its first non-zero entry positive.
    first, second
        ``(P,)`` location ids: pair ``p`` is ``(first[p], second[p])``.
    weights
        ``(P,)`` positive: a correlation's weight shared by its pairs.
    """

    displacement: tuple[int, ...]
    first: _Ids
    second: _Ids
    weights: _Floats


def displacements(a: _Ids, b: _Ids, shape: Sequence[int]) -> list[_Ids]:
    """Return the smallest displacements moving A into B (see the module docstring), or none.

    ``a`` and ``b`` are sorted location ids on ``shape`` (row-major). Candidates are ``b - a[0]``
    for the :data:`CANDIDATES` locations of B nearest to A's first location, nearest first, each
    tried with both signs; the first candidate with a sign that fits is returned, with every one
    of its signs that fits (one or two vectors).
    """
    grid = np.asarray(shape, dtype=np.intp)
    in_b = np.zeros(int(np.prod(grid)), dtype=np.bool_)
    in_b[b] = True
    a_coords = np.stack(np.unravel_index(a, tuple(shape)), axis=1)
    b_coords = np.stack(np.unravel_index(b, tuple(shape)), axis=1)
    offsets = b_coords - a_coords[0]
    nearest = np.lexsort((*offsets.T[::-1], (offsets**2).sum(axis=1)))[:CANDIDATES]
    screen = a_coords[:: max(1, len(a_coords) // _SCREEN)]
    for offset in offsets[nearest]:
        fitting = [
            signed
            for signed in (offset, -offset)
            if _moves_into(screen, signed, grid, in_b, len(screen))
            and _moves_into(a_coords, signed, grid, in_b, len(a_coords))
        ]
        if fitting:
            return fitting
    return []


def _moves_into(
    coords: _Ids, offset: _Ids, grid: _Ids, in_b: npt.NDArray[np.bool_], count: int
) -> bool:
    """Whether ``coords + offset`` that stay on the grid all lie in B, and half of them stay."""
    kept, moved = _move(coords, offset, grid)
    return 2 * int(kept.sum()) >= count and bool(in_b[moved].all())


def _move(coords: _Ids, offset: _Ids, grid: _Ids) -> tuple[npt.NDArray[np.bool_], _Ids]:
    """Return which ``coords + offset`` stay on the grid, and the ids of those that do."""
    moved = coords + offset
    kept = np.all((moved >= 0) & (moved < grid), axis=1)
    return kept, np.ravel_multi_index(tuple(moved[kept].T), tuple(grid)).astype(np.intp)


def task_relations(
    correlations: Sequence[ResolvedCorrelation], shape: Sequence[int], weights: _Floats
) -> list[Relation]:
    """Return the description's relations, one per displacement (``weights`` per correlation)."""
    grouped: dict[tuple[int, ...], list[tuple[_Ids, _Ids, _Floats]]] = {}
    grid = np.asarray(shape, dtype=np.intp)
    for correlation, weight in zip(correlations, weights, strict=True):
        a = correlation.a
        a_coords = np.stack(np.unravel_index(a, tuple(shape)), axis=1)
        moves = []
        for offset in displacements(a, correlation.b, shape):
            kept, moved = _move(a_coords, offset, grid)
            moves.append((offset, a[kept], moved))
        pairs = sum(len(first) for _, first, _ in moves)
        for offset, first, second in moves:
            # One relation per displacement up to sign: its first non-zero entry positive.
            sign = 1 if offset[np.flatnonzero(offset)[0]] > 0 else -1
            key = tuple(int(x) for x in sign * offset)
            grouped.setdefault(key, []).append((first, second, np.full(len(first), weight / pairs)))
    return [
        Relation(
            key,
            np.concatenate([f for f, _, _ in parts]),
            np.concatenate([s for _, s, _ in parts]),
            np.concatenate([w for _, _, w in parts]),
        )
        for key, parts in grouped.items()
    ]


def coherence(
    windows: Sequence[_Ids],
    relations: Sequence[Relation],
    shape: Sequence[int],
    padding: Padding | None = None,
) -> float | None:
    """Return how alike and how soon the tree meets each relation, in ``[0, 1]``.

    ``windows`` are the tree's windows per level (each node in exactly one window of its level)
    on the grid ``shape`` grown by ``padding``. For each relation, ``sum_l h(l)^2 q^l`` with
    ``h(l)`` the weighted share of its pairs whose two locations first share a window at level
    ``l`` and ``q`` = :data:`LEVEL_DISCOUNT`; the relations are averaged by their weights. None
    when there is no relation.
    """
    if not relations:
        return None
    total = sum(float(r.weights.sum()) for r in relations)
    figure = 0.0
    for relation in relations:
        first = _on_grid(relation.first, shape, padding)
        second = _on_grid(relation.second, shape, padding)
        level_of = np.full(len(first), len(windows) - 1)
        unmet = np.ones(len(first), dtype=np.bool_)
        for level, window in enumerate(windows):
            parent = np.empty(int(window.max()) + 1, dtype=np.intp)
            parent[window.reshape(-1)] = np.repeat(np.arange(window.shape[0]), window.shape[1])
            first, second = parent[first], parent[second]
            met = unmet & (first == second)
            level_of[met] = level
            unmet &= ~met
        mass = float(relation.weights.sum())
        shares = np.bincount(level_of, weights=relation.weights, minlength=len(windows)) / mass
        figure += mass * float((shares**2 * LEVEL_DISCOUNT ** np.arange(len(windows))).sum())
    return figure / total


def _on_grid(ids: _Ids, shape: Sequence[int], padding: Padding | None) -> _Ids:
    """Return the ids of input locations on the grid ``padding`` grows the input to."""
    if padding is None:
        return ids
    coords = np.unravel_index(ids, tuple(shape))
    moved = tuple(c + before for c, (before, _) in zip(coords, padding, strict=True))
    return np.ravel_multi_index(moved, padded_shape(shape, padding)).astype(np.intp)
