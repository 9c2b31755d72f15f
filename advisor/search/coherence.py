"""Whether a tree meets a relation at one level everywhere, and soon: a factor of the score.

Among designs equal on every other key of the score, :mod:`advisor.search.meeting` used to
decide alone: the tree whose correlated locations meet the other side soonest. On the
trained-outcome benchmark that was right where every tied tree meets all of a relation's pairs
at one level (``sequence-shift``) and wrong where the tied trees split them over several levels
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
of the description, ``sum over levels l of h(l)^2 * q^(s_l - 1)``, with ``h(l)`` the weighted
share of the relation's pairs that first share a window at level ``l``, ``s_l`` the log2 of the
side of a level-``l`` window (the cube root of its locations in 3-D, the square root in 2-D,
counting only the axes longer than one location: 1 for a first level of 2 or 2x2 windows, 2 for
one of 4 or 4x4) and ``q`` = :data:`LEVEL_DISCOUNT`: the
chance that two of its pairs drawn at random meet at the same level, each doubling of the window
that first holds them discounted by ``q``. The discount follows the windows' size, not the count
of levels: a tree of windows of 4 meets a pair 4 steps apart at its first level, a tree of
windows of 2 at its second, and the two windows are the same size. On trees pooling by 2 at every
level, as the tied trees it was fitted on, the two are the same.

The practical search multiplies each tree's score by its figure over the best any recommendable
tree reaches (docs/THEORY.md §18): re-scored on the benchmark's trained pools this raised the
mean Kendall tau of score against accuracy from +0.45 to +0.51 (with the data's correlations
+0.47 to +0.53), and of the picks it changed only digits-local's #1, to the pool's best. The
factor scales only the share of the description's weight its relations explain
(:meth:`~advisor.search.objective.Objective.coherence_factor`): a correlation no shift or mirror
explains says nothing of how a tree should meet it.

A *relation* is read off the description where it states one (:mod:`advisor.model.maps`): a
correlation whose B is its A moved by a fixed displacement relates each location of A with the
location that far away, a *shift* (the smallest such displacement, in both directions where both
fit); one whose B is its A reflected about a line across one axis relates each location with its
mirror image, a *mirror*. A pair of equal boxes is both, so the description is read with the
fewest relations that explain it: ``sequence-quarter``'s twelve block pairs are one shift by 16
steps (and twelve mirrors about different centres); the ``symmetry`` preset's halves, ends and
alternate columns one mirror about the centre (and three shifts, the alternate columns none). A
correlation that states its relation (``relation: shift`` or ``mirror``) is read that way only.
A description no shift or mirror explains has no relation and the figure is not used.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.errors import StoppedError
from advisor.geometry.layouts import geometry_structure
from advisor.model.architecture import Architecture
from advisor.model.grid import Padding, padded_shape
from advisor.model.maps import SAMPLE, Sides, mirror_map, mirrors, oriented, shifts
from advisor.model.regions import ResolvedCorrelation
from advisor.search.bounded import BoundedCache
from advisor.search.objective import normalised
from advisor.stopping import StopSignal

__all__ = [
    "LEVEL_DISCOUNT",
    "PARENTS_CACHE_BYTES",
    "Relation",
    "TreeCoherence",
    "architecture_coherence",
    "coherence",
    "describe_relation",
    "description_relations",
    "explained_share",
    "task_relations",
]

_Ids = npt.NDArray[np.intp]
_Floats = npt.NDArray[np.float64]

LEVEL_DISCOUNT: Final = 9 / 16
"""Weight of a relation met in a window of twice the side (one level higher, pooling by 2). Fitted
on the trained-outcome benchmark's tied sequence tasks (docs/THEORY.md §18): below 1/2, meeting
two thirds of the pairs at the first level and a third at the second beats meeting all at the
second (82-83% against 89% trained); above 0.625, meeting all at the fourth level beats ten
thirteenths at the third and the rest at the fourth (71% against 73.5%). 2/3 was taken from the
first five tasks' range (1/2, 3/4); the sixth held-out set narrowed it to (1/2, 0.625), whose
midpoint this is."""

PARENTS_CACHE_BYTES: Final = 64 * 2**20
"""The most the inverted levels of :class:`TreeCoherence` hold, the least recently used dropped
first: unbounded, a search of 131,072 steps (start_end, a hundred dilation orders of seventeen
levels) held 127 MiB of them, and one of 1,048,576 steps about a gigabyte."""


_Key = tuple[str, tuple[int, ...]]
"""A relation's map: ``("shift", d)`` moves by ``d`` (first non-zero entry positive, both ways);
``("mirror", (axis, s))`` maps coordinate ``x`` of ``axis`` to ``s - x``."""


@dataclass(frozen=True, eq=False)
class Relation:
    """The location pairs one map relates, on the input grid, with their weights.

    Attributes
    ----------
    key
        The map (:data:`_Key`).
    first, second
        ``(P,)`` location ids: pair ``p`` is ``(first[p], second[p])``.
    weights
        ``(P,)`` positive: a correlation's weight shared by its pairs.
    others
        For each correlation it explains that also fits maps of the other kind (mirrors for a
        shift, shifts for a mirror), its index among the correlations and those maps, which the
        reading did not take for it: equal regions side by side are both, and a correlation's
        ``relation`` says which is meant.
    """

    key: _Key
    first: _Ids
    second: _Ids
    weights: _Floats
    others: tuple[tuple[int, tuple[_Key, ...]], ...] = ()


def task_relations(
    correlations: Sequence[ResolvedCorrelation],
    shape: Sequence[int],
    weights: _Floats,
    stop: StopSignal | None = None,
) -> list[Relation]:
    """Return the description's relations (``weights`` per correlation).

    Each correlation may be read as a shift (:func:`~advisor.model.maps.displacements`) or a
    mirror (:func:`~advisor.model.maps.reflections`); a pair of equal boxes is both, unless the
    correlation states which it is (``relation``). The reading is the one that explains
    the description with the fewest relations: greedily, the map that the largest weight of
    correlations not yet explained fits (shifts before mirrors, then the smaller map, on equal
    weight) explains all of them, until no correlation is left that some map fits. A symmetry
    description's halves, ends and alternate columns are one mirror about the centre, not three
    shifts; a block pair moved by one step at every position is one shift. ``stop`` is polled
    before each correlation (:class:`~advisor.errors.StoppedError`).

    A correlation whose weight per location pair underflows to 0 (weights more than the float
    range apart, such as 1e200 and 1e-200) weighs nothing beside the others and joins no
    relation, so every relation has a positive weight.
    """
    ndim = len(shape)
    same = np.ones(ndim, dtype=np.intp)
    readings: list[dict[_Key, tuple[_Ids, _Ids]]] = []
    for correlation in correlations:
        if stop is not None and stop.stopped():
            raise StoppedError("the description's relations were not read before the stop")
        sides = Sides.of(*oriented(correlation.a, correlation.b), shape)
        options: dict[_Key, tuple[_Ids, _Ids]] = {}
        moves = shifts(sides) if correlation.relation != "mirror" else []
        if moves:
            sign = 1 if moves[0][np.flatnonzero(moves[0])[0]] > 0 else -1
            both = [sides.pairs(same, offset) for offset in moves]
            key: _Key = ("shift", tuple(int(x) for x in sign * moves[0]))
            options[key] = (
                np.concatenate([f for f, _ in both]),
                np.concatenate([s for _, s in both]),
            )
        for axis, total in mirrors(sides) if correlation.relation != "shift" else []:
            options[("mirror", (axis, total))] = sides.pairs(*mirror_map(ndim, axis, total))
        readings.append(options)
    grouped: dict[_Key, list[tuple[_Ids, _Ids, _Floats]]] = {}
    others: dict[_Key, list[tuple[int, tuple[_Key, ...]]]] = {}
    left = {index for index, options in enumerate(readings) if options}
    while True:
        mass: dict[_Key, float] = {}
        for index in left:
            for key in readings[index]:
                mass[key] = mass.get(key, 0.0) + float(weights[index])
        if not mass:
            break
        chosen = min(mass, key=lambda k: (-mass[k], k[0] != "shift", k[1]))
        for index in sorted(i for i in left if chosen in readings[i]):
            first, second = readings[index][chosen]
            left.discard(index)
            share = np.full(len(first), float(weights[index]) / len(first))
            if not share[0] > 0.0:
                continue
            grouped.setdefault(chosen, []).append((first, second, share))
            other = tuple(k for k in readings[index] if k[0] != chosen[0])
            if other:
                others.setdefault(chosen, []).append((index, other))
    return [
        Relation(
            key,
            np.concatenate([f for f, _, _ in parts]),
            np.concatenate([s for _, s, _ in parts]),
            np.concatenate([w for _, _, w in parts]),
            tuple(others.get(key, ())),
        )
        for key, parts in grouped.items()
    ]


def describe_relation(key: _Key, ndim: int) -> str:
    """Say a relation's map in words: ``a shift by 4 columns``, ``a mirror about row 7.5``.

    Axis 0 of a 3-D grid is its depth, slices of a volume or frames of a video, which a
    description does not tell apart: ``a mirror about slice or frame 7.5``, ``a shift by 12
    slices or frames``.

    The rationale names the relations the description was read as, so a reader sees the
    reading (equal boxes are shifts and mirrors alike; the fewer relations win) and can state
    another (a correlation's ``relation``, or the ``symmetry`` preset, whose alternate columns
    make a mirror the one relation).
    """
    kind, values = key
    axes = {1: ("step",), 2: ("row", "column"), 3: ("slice or frame", "row", "column")}[ndim]
    if kind == "mirror":
        axis, total = values
        # Half an integer: written whole, never rounded (`:g` keeps 6 digits: 131071.5 read
        # 131072 on a sequence of 262,144).
        centre = f"{total // 2}" if total % 2 == 0 else f"{total / 2:.1f}"
        return f"a mirror about {axes[axis]} {centre}"
    moved = [(size, name) for size, name in zip(values, axes, strict=True) if size]
    if len(moved) == 1:
        size, name = moved[0]
        plural = " or ".join(f"{word}s" for word in name.split(" or "))
        return f"a shift by {abs(size)} {name if abs(size) == 1 else plural}"
    return f"a shift by {tuple(values)}"


def description_relations(
    correlations: Sequence[ResolvedCorrelation],
    shape: Sequence[int],
    stop: StopSignal | None = None,
) -> list[Relation]:
    """Return the relations of a description's correlations, by their normalised weights.

    ``stop`` is polled before each correlation (:class:`~advisor.errors.StoppedError`).
    """
    weights = normalised([c.weight for c in correlations])
    return task_relations(correlations, shape, weights, stop)


def explained_share(relations: Sequence[Relation]) -> float:
    """Return the share of the description's weights its relations explain, in ``(0, 1]``.

    ``relations`` as :func:`description_relations` returns them (weights normalised over every
    correlation): a correlation no shift or mirror explains has no part in them.
    """
    if not relations:
        raise ValueError("a share of the weights needs at least one relation")
    total = math.fsum(float(r.weights.sum()) for r in relations)
    # Weights normalised and split over pairs sum to 1 only up to rounding.
    return 1.0 if math.isclose(total, 1.0, rel_tol=1e-9) else min(total, 1.0)


def architecture_coherence(relations: Sequence[Relation], architecture: Architecture) -> float:
    """Return :func:`coherence` of ``architecture``'s pooling on ``relations`` (some).

    A mixture's is its best member tree's: each member can learn a relation on its own. A net
    whose windows overlap is read as the tree of each node's first window.
    """
    geometries = [architecture.geometry]
    if architecture.mixture is not None:
        geometries += [member.geometry for member in architecture.mixture.members]
    figures = [
        coherence(
            geometry_structure(geometry, architecture.schedule).windows,
            relations,
            architecture.input.shape,
            architecture.padding,
        )
        for geometry in geometries
    ]
    found = [figure for figure in figures if figure is not None]
    if not found:
        raise ValueError("coherence needs at least one relation")
    return max(found)


def coherence(
    windows: Sequence[_Ids],
    relations: Sequence[Relation],
    shape: Sequence[int],
    padding: Padding | None = None,
) -> float | None:
    """Return how alike and how soon the tree meets each relation, in ``(0, 1]``.

    ``windows`` are the tree's windows per level (each node in exactly one window of its level)
    on the grid ``shape`` grown by ``padding``. For each relation, ``sum_l h(l)^2 q^(s_l - 1)``
    with ``h(l)`` the weighted share of its pairs whose two locations first share a window at
    level ``l``, ``s_l`` the log2 of a level-``l`` window's side (the geometric mean over the
    axes the grid extends along, :func:`_extended_axes`; at least 1: a window narrower than 2
    per axis counts as 2) and ``q`` =
    :data:`LEVEL_DISCOUNT`; the relations are averaged by their weights. None when there is no
    relation.
    """
    if not relations:
        return None
    return _figure([_parents(window) for window in windows], windows, relations, shape, padding)


class TreeCoherence:
    """:func:`coherence` of many trees of one search, each level's windows inverted once.

    Trees share levels (the keys of :meth:`~advisor.search.candidates.CandidateSpace.tree` name
    each level's prefix); inverting a level, one write per node, is most of the figure's cost on
    a large grid. A reused inversion is checked against a sample of the level's windows.
    """

    def __init__(self, relations: Sequence[Relation], shape: Sequence[int]) -> None:
        self.relations, self.shape = relations, shape
        self._parents: BoundedCache[tuple[object, Hashable], _Ids] = BoundedCache(
            PARENTS_CACHE_BYTES, _nbytes
        )

    def of(
        self, windows: Sequence[_Ids], keys: Sequence[Hashable], padding: Padding | None
    ) -> float | None:
        """Return the tree's :func:`coherence` (``keys`` name its levels' prefixes)."""
        if not self.relations:
            return None
        parents = [
            self._parent(window, (padding, key)) for window, key in zip(windows, keys, strict=True)
        ]
        return _figure(parents, windows, self.relations, self.shape, padding)

    def _parent(self, window: _Ids, key: tuple[object, Hashable]) -> _Ids:
        parent = self._parents.get(key)
        if parent is None or not _inverts(parent, window):
            parent = _parents(window)
            self._parents.put(key, parent)
        return parent


def _nbytes(array: _Ids) -> int:
    return int(array.nbytes)


def _figure(
    parents: Sequence[_Ids],
    windows: Sequence[_Ids],
    relations: Sequence[Relation],
    shape: Sequence[int],
    padding: Padding | None,
) -> float:
    """Return :func:`coherence` from each level's window of every node (``parents``)."""
    total = sum(float(r.weights.sum()) for r in relations)
    locations = np.cumprod([window.shape[1] for window in windows])
    axes = _extended_axes(shape, padding)
    discounts = LEVEL_DISCOUNT ** np.maximum(np.log2(locations) / axes - 1.0, 0.0)
    figure = 0.0
    for relation in relations:
        first = _on_grid(relation.first, shape, padding)
        second = _on_grid(relation.second, shape, padding)
        level_of = np.full(len(first), len(windows) - 1)
        unmet = np.ones(len(first), dtype=np.bool_)
        for level, parent in enumerate(parents):
            first, second = parent[first], parent[second]
            met = unmet & (first == second)
            level_of[met] = level
            unmet &= ~met
        mass = float(relation.weights.sum())
        shares = np.bincount(level_of, weights=relation.weights, minlength=len(windows)) / mass
        figure += mass * float((shares**2 * discounts).sum())
    return min(figure / total, 1.0)  # shares summing to 1 may round above it


def _extended_axes(shape: Sequence[int], padding: Padding | None) -> int:
    """Return how many axes the pooled grid extends along: those longer than one location.

    A window's side is the root of its count of locations over these axes only. An axis of
    one location is no dimension of the input: 16 steps written ``[16, 1, 1]`` or ``[1, 16]``
    are pooled by the same windows as ``[16]``, and taking the cube or square root of their
    counts shrank every side, so the same tree scored another coherence (a window of 8 steps
    read as side 2 rather than 8, undiscounted). At least 1: a grid of one location has one.
    """
    grid = shape if padding is None else padded_shape(shape, padding)
    return max(sum(1 for size in grid if size > 1), 1)


def _inverts(parent: _Ids, window: _Ids) -> bool:
    """Whether ``parent`` is ``window``'s inversion, checked on :data:`SAMPLE` rows spread evenly.

    The keys naming a level are digests of its windows, so a check of every node (as costly as
    inverting them again) would only guard against a collision of digests.
    """
    step = -(-window.shape[0] // SAMPLE)
    rows = np.arange(0, window.shape[0], step, dtype=parent.dtype)[:, None]
    return parent.size == window.size and bool((parent[window[::step]] == rows).all())


def _parents(window: _Ids) -> _Ids:
    """Return each node's window at one level: the first that holds it, where windows overlap.

    Every node lies in some window (windows tile their grid, overlapping or not).
    """
    flat = window.reshape(-1)
    parent = np.empty(int(flat.max()) + 1, dtype=np.intp)
    if flat.size == parent.size:  # a tree's windows hold every node once
        parent[flat] = np.repeat(np.arange(window.shape[0]), window.shape[1])
    else:
        held, first = np.unique(flat, return_index=True)
        parent[held] = first // window.shape[1]
    return parent


def _on_grid(ids: _Ids, shape: Sequence[int], padding: Padding | None) -> _Ids:
    """Return the ids of input locations on the grid ``padding`` grows the input to."""
    if padding is None:
        return ids
    coords = np.unravel_index(ids, tuple(shape))
    moved = tuple(c + before for c, (before, _) in zip(coords, padding, strict=True))
    return np.ravel_multi_index(moved, padded_shape(shape, padding)).astype(np.intp)
