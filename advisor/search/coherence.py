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
side of a level-``l`` window (the cube root of its locations in 3-D, the square root in 2-D: 1 for
a first level of 2 or 2x2 windows, 2 for one of 4 or 4x4) and ``q`` = :data:`LEVEL_DISCOUNT`: the
chance that two of its pairs drawn at random meet at the same level, each doubling of the window
that first holds them discounted by ``q``. The discount follows the windows' size, not the count
of levels: a tree of windows of 4 meets a pair 4 steps apart at its first level, a tree of
windows of 2 at its second, and the two windows are the same size. On trees pooling by 2 at every
level, as the tied trees it was fitted on, the two are the same.

The practical search multiplies each tree's score by its figure over the best any recommendable
tree reaches (docs/THEORY.md §18): re-scored on the benchmark's trained pools this raised the
mean Kendall tau of score against accuracy from +0.45 to +0.51 (with the data's correlations
+0.47 to +0.53), and of the picks it changed only digits-local's #1, to the pool's best.

A *relation* is read off the description where it states one. A correlation whose B is its A moved
by a fixed displacement (every location of A that the move keeps on the grid lands in B, and at
least half of them stay on it; and at least half of B moved back lands in A, so a region against
the rest of the grid is no relation) relates each location of A with the location that far away: a
*shift*, the smallest such displacement, in both directions where both fit (a stripe pattern's A
moved one stripe either way lands in B). One whose B is its A reflected about a line across one
axis relates each location with its mirror image: a *mirror*. A pair of equal boxes is both, so the
description is read with the fewest relations that explain it: ``sequence-quarter``'s twelve block
pairs are one shift by 16 steps (and twelve mirrors about different centres); the ``symmetry``
preset's halves, ends and alternate columns one mirror about the centre (and three shifts, the
alternate columns none). A description no shift or mirror explains has no relation and the figure
is not used. On large regions the maps are checked on, and the pairs drawn from, at most
:data:`SAMPLE` locations of A spread evenly over it (every location of a smaller A), so reading a
description and scoring a tree stay cheap on a 1024x1024 grid.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.arrays import runs
from advisor.errors import StoppedError
from advisor.geometry.layouts import geometry_structure
from advisor.model.architecture import Architecture
from advisor.model.grid import Padding, padded_shape
from advisor.model.regions import ResolvedCorrelation
from advisor.search.objective import normalised
from advisor.stopping import StopSignal

__all__ = [
    "LEVEL_DISCOUNT",
    "SAMPLE",
    "Relation",
    "TreeCoherence",
    "architecture_coherence",
    "coherence",
    "describe_relation",
    "description_relations",
    "displacements",
    "reflections",
    "task_relations",
]

_Ids = npt.NDArray[np.intp]
_Floats = npt.NDArray[np.float64]

CANDIDATES: Final = 16
"""Displacements tried per correlation: from A's first location to B's nearest ones."""

LEVEL_DISCOUNT: Final = 9 / 16
"""Weight of a relation met in a window of twice the side (one level higher, pooling by 2). Fitted
on the trained-outcome benchmark's tied sequence tasks (docs/THEORY.md §18): below 1/2, meeting
two thirds of the pairs at the first level and a third at the second beats meeting all at the
second (82-83% against 89% trained); above 0.625, meeting all at the fourth level beats ten
thirteenths at the third and the rest at the fourth (71% against 73.5%). 2/3 was taken from the
first five tasks' range (1/2, 3/4); the sixth held-out set narrowed it to (1/2, 0.625), whose
midpoint this is."""

_SCREEN: Final = 64
"""Locations of A a map is first tried on, before all of them."""

SAMPLE: Final = 4096
"""Most locations of A a map is checked on and pairs are drawn from (spread evenly over A)."""

_WHOLE: Final = 2**13
"""Most locations of a side read by their coordinates, every one; a larger side is read by the
lines of the grid that hold it (unravelling half of a 1024x1024 grid took 4 ms a side, of a
reading of 25 ms per correlation). Timed against 2**11 and 2**16: below it the lines cost more
than they spare (16 random masks on 128x128 read 20% slower at 2**11), above it the unravelling
does (16 box correlations on 256x256, 10% slower at 2**16)."""


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
    """

    key: _Key
    first: _Ids
    second: _Ids
    weights: _Floats


@dataclass(frozen=True)
class _Sides:
    """One correlation's sides, as the maps are tried on them.

    ``a`` and ``coords`` are A's sample (:data:`SAMPLE`, its first location first), ``screen``
    a sample of that, ``back`` B's sample and ``back_screen`` a sample of that; ``a_range`` and
    ``b_range`` are each side's smallest and largest coordinate per axis, over every location;
    ``b`` is every location of B, and ``b_coords`` their coordinates where B holds at most
    :data:`_WHOLE` locations (None past it: B is then searched by the lines of the grid).
    """

    a: _Ids
    coords: _Ids
    screen: _Ids
    back: _Ids
    back_screen: _Ids
    a_range: tuple[_Ids, _Ids]
    b_range: tuple[_Ids, _Ids]
    b: _Ids
    b_coords: tuple[_Ids, ...] | None
    in_a: npt.NDArray[np.bool_]
    in_b: npt.NDArray[np.bool_]
    grid: _Ids

    @classmethod
    def of(cls, a: _Ids, b: _Ids, shape: Sequence[int]) -> _Sides:
        grid = np.asarray(shape, dtype=np.intp)
        in_a, in_b = (np.zeros(int(np.prod(grid)), dtype=np.bool_) for _ in range(2))
        in_a[a] = in_b[b] = True
        (sample, coords, a_range, _), (_, back, b_range, b_coords) = (
            _read(side, mask, grid) for side, mask in ((a, in_a), (b, in_b))
        )
        return cls(
            sample,
            coords,
            coords[:: max(1, len(coords) // _SCREEN)],
            back,
            back[:: max(1, len(back) // _SCREEN)],
            a_range,
            b_range,
            b,
            b_coords,
            in_a,
            in_b,
            grid,
        )

    def nearest_b(self, point: _Ids, count: int) -> tuple[_Ids, _Ids]:
        """Return B's locations as near to ``point`` as its ``count``-th nearest, and distances.

        Coordinates ``(K, ndim)`` and squared Euclidean distances ``(K,)``: every location of B
        within the ``count``-th smallest distance (all of B when it holds fewer). Past
        :data:`_WHOLE` locations B is searched in a ball around ``point`` that starts at the
        distance to B's bounding box and grows by a step that doubles, until it holds ``count``
        of B's locations (or all of them): then no location outside it is nearer than the
        ``count``-th inside.
        """
        if self.b_coords is not None:
            axes, distances = self.b_coords, _distances(self.b_coords, point)
        else:
            gap = np.maximum(np.maximum(self.b_range[0] - point, point - self.b_range[1]), 0)
            radius, step = math.isqrt(int((gap**2).sum())) + 2, 2
            while True:
                axes, distances = self._b_within(point, radius)
                if len(distances) >= min(count, len(self.b)):
                    break
                radius, step = radius + step, 2 * step
        if len(distances) > count:
            near = distances <= np.partition(distances, count - 1)[count - 1]
            axes, distances = tuple(axis[near] for axis in axes), distances[near]
        return np.stack(axes, axis=1), distances

    def _b_within(self, point: _Ids, radius: int) -> tuple[tuple[_Ids, ...], _Ids]:
        """Return B's locations within ``radius`` of ``point`` (per axis), and squared distances.

        Each line of the grid along the last axis that the ball crosses holds one range of
        B's sorted ids: the ranges are found by bisection, so the cost follows the ball's lines
        and what they hold, not B's size.
        """
        ndim = len(self.grid)
        strides = np.cumprod([1, *self.grid[:0:-1].tolist()])[::-1].astype(np.intp)
        # Every line of the ball: its first id, and its squared distance from ``point``.
        starts, offsets = np.zeros(1, dtype=np.intp), np.zeros(1, dtype=np.intp)
        for axis in range(ndim - 1):
            line = np.arange(
                max(int(point[axis]) - radius, 0),
                min(int(point[axis]) + radius, self.grid[axis] - 1) + 1,
            )
            starts = (starts[:, None] + line * strides[axis]).reshape(-1)
            offsets = (offsets[:, None] + (line - point[axis]) ** 2).reshape(-1)
        crossed = offsets <= radius**2
        starts, offsets = starts[crossed], offsets[crossed]
        half = _isqrt(radius**2 - offsets)
        first = np.searchsorted(self.b, starts + np.maximum(point[-1] - half, 0))
        stop = starts + np.minimum(point[-1] + half, self.grid[-1] - 1) + 1
        found = self.b[runs(first, np.searchsorted(self.b, stop) - first)]
        axes = np.unravel_index(found, tuple(self.grid))
        return axes, _distances(axes, point)

    def screened(self, scales: _Ids, offsets: _Ids) -> npt.NDArray[np.bool_]:
        """Whether each map (rows of ``scales``, +-1 per axis, and ``offsets``) passes the screens.

        The screens are :meth:`fits`'s checks on the small samples of A and B. One pass over
        every candidate at once: most fail here, and a Python call per candidate cost 0.6 s on a
        description of 1,024 correlations.
        """
        return self._passes(self.screen, self.back_screen, scales, offsets)

    def _passes(
        self, coords: _Ids, back: _Ids, scales: _Ids, offsets: _Ids
    ) -> npt.NDArray[np.bool_]:
        """Per map: A's ``coords`` kept land in B, at least half kept; half of B's ``back`` in A."""
        forward = self._moved(coords, scales, offsets, self.in_b)
        returned = self._moved(back, scales, -scales * offsets, self.in_a)
        return _into(*forward, len(coords)) & _covers(returned[1], len(back))

    def _moved(
        self, coords: _Ids, scales: _Ids, offsets: _Ids, inside: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Per map (rows of ``scales``, ``offsets``) and location: kept, and landed ``inside``."""
        kept, ids = self._images(coords[None], scales[:, None], offsets[:, None])
        return kept, kept & inside[ids]

    def _images(
        self, coords: _Ids, scales: _Ids, offsets: _Ids
    ) -> tuple[npt.NDArray[np.bool_], _Ids]:
        """Return which of ``coords * scales + offsets`` stay on the grid, and their ids.

        The three broadcast, the axes last; an id is 0 where its location leaves the grid. One
        axis at a time: a reduction over a short last axis is several times slower.
        """
        kept: npt.NDArray[np.bool_] | None = None
        ids: _Ids | None = None
        for axis, size in enumerate(self.grid.tolist()):
            moved = coords[..., axis] * scales[..., axis] + offsets[..., axis]
            inside = (moved >= 0) & (moved < size)
            kept = inside if kept is None else kept & inside
            ids = moved if ids is None else ids * size + moved
        assert kept is not None and ids is not None, "a grid has at least one axis"
        return kept, np.where(kept, ids, 0)

    def fits(self, scale: _Ids, offset: _Ids) -> bool:
        """Whether the map moves A into B, and B mostly back into A: B is A moved.

        Every location of A the map keeps on the grid lands in B, and at least half are kept;
        at least half of B lands in A under the inverse map (``scale`` is +-1 per axis), so a
        region against the rest of the grid, or against a larger region, is no relation, while
        a stripe pattern mirrored about the centre (one seam where B's neighbour is not in A)
        still is. Checked on the samples of A and B, for a map that passed the screens
        (:meth:`screened`).
        """
        return bool(self._passes(self.coords, self.back, scale[None], offset[None])[0])

    def image(self, coords: _Ids, scale: _Ids, offset: _Ids) -> tuple[npt.NDArray[np.bool_], _Ids]:
        """Return which of ``coords * scale + offset`` stay on the grid, and their ids."""
        kept, ids = self._images(coords, scale, offset)
        return kept, ids[kept]

    def pairs(self, scale: _Ids, offset: _Ids) -> tuple[_Ids, _Ids]:
        """Return the pairs (a, its image) of the locations of A the map keeps on the grid."""
        kept, moved = self.image(self.coords, scale, offset)
        return self.a[kept], moved


def _into(
    kept: npt.NDArray[np.bool_], landed: npt.NDArray[np.bool_], size: int
) -> npt.NDArray[np.bool_]:
    """Per row: at least half of ``size`` kept, and every kept location landed."""
    fitting: npt.NDArray[np.bool_] = (2 * kept.sum(axis=1) >= size) & (landed == kept).all(axis=1)
    return fitting


def _covers(landed: npt.NDArray[np.bool_], size: int) -> npt.NDArray[np.bool_]:
    """Per row: at least half of ``size`` landed."""
    covering: npt.NDArray[np.bool_] = 2 * landed.sum(axis=1) >= size
    return covering


def _isqrt(values: _Ids) -> _Ids:
    """Return the integer square root of each non-negative value (the float root, corrected)."""
    roots = np.sqrt(values).astype(np.intp)
    roots -= roots * roots > values
    roots += (roots + 1) * (roots + 1) <= values
    return roots


def _distances(axes: tuple[_Ids, ...], point: _Ids) -> _Ids:
    """Return the squared distances to ``point`` of the locations given per axis."""
    total: _Ids = sum((axis - x) ** 2 for axis, x in zip(axes, point.tolist(), strict=True))
    return total


def _read(
    ids: _Ids, mask: npt.NDArray[np.bool_], grid: _Ids
) -> tuple[_Ids, _Ids, tuple[_Ids, _Ids], tuple[_Ids, ...] | None]:
    """Read one side (sorted ``ids``, ``mask`` on the grid): sample, extremes, every location.

    At most :data:`SAMPLE` of its locations (spread evenly, the first first) and their
    coordinates, the smallest and largest coordinate per axis, and the coordinates of every
    location up to :data:`_WHOLE` of them (else None). Past that size no location is unravelled
    but the sample's: the first axis's extremes are read off the first and last id (row-major
    order), every other axis's from the grid's lines that hold a location, one pass of the mask
    per axis.
    """
    step, shape = -(-len(ids) // SAMPLE), tuple(grid)
    if len(ids) <= _WHOLE:
        axes = np.unravel_index(ids, shape)
        extremes = np.array([x.min() for x in axes]), np.array([x.max() for x in axes])
        return ids[::step], np.stack([axis[::step] for axis in axes], axis=1), extremes, axes
    size = int(np.prod(grid[1:]))
    low, high = [int(ids[0]) // size], [int(ids[-1]) // size]
    cells = mask.reshape(shape)
    for axis in range(1, len(grid)):
        held = np.flatnonzero(cells.any(axis=tuple(i for i in range(len(grid)) if i != axis)))
        low.append(int(held[0]))
        high.append(int(held[-1]))
    sample = ids[::step]
    coords = np.stack(np.unravel_index(sample, shape), axis=1)
    return sample, coords, (np.array(low, dtype=np.intp), np.array(high, dtype=np.intp)), None


def displacements(a: _Ids, b: _Ids, shape: Sequence[int]) -> list[_Ids]:
    """Return the smallest displacements moving A into B (see the module docstring), or none.

    ``a`` and ``b`` are sorted location ids on ``shape`` (row-major). Candidates are ``b - a[0]``
    for the :data:`CANDIDATES` locations of B nearest to A's first location, nearest first, each
    tried with both signs; the first candidate with a sign that fits is returned, with every one
    of its signs that fits (one or two vectors).
    """
    return _shifts(_Sides.of(a, b, shape))


def _shifts(sides: _Sides) -> list[_Ids]:
    first = sides.coords[0]
    near, distances = sides.nearest_b(first, CANDIDATES)
    offsets = near - first
    nearest = offsets[np.lexsort((*offsets.T[::-1], distances))[:CANDIDATES]]
    signed = np.stack([nearest, -nearest], axis=1)  # (candidate, sign, axis)
    rows = signed.reshape(-1, len(first))
    same = np.ones(len(first), dtype=np.intp)
    passed = sides.screened(np.broadcast_to(same, rows.shape), rows).reshape(-1, 2)
    for index in np.flatnonzero(passed.any(axis=1)):  # nearest first
        pair, screened = signed[index], passed[index]
        fitting = [o for o, ok in zip(pair, screened, strict=True) if ok and sides.fits(same, o)]
        if fitting:
            return fitting
    return []


def reflections(a: _Ids, b: _Ids, shape: Sequence[int]) -> list[tuple[int, int]]:
    """Return the reflections mapping A into B: ``(axis, s)`` maps ``x`` on ``axis`` to ``s - x``.

    A reflection maps the extremes of A on its axis onto those of B, so ``s`` is tried as
    ``min A + max B`` (and ``max A + min B`` where it differs) on every axis.
    """
    return _mirrors(_Sides.of(a, b, shape))


def _mirrors(sides: _Sides) -> list[tuple[int, int]]:
    ndim = len(sides.grid)
    candidates = []
    for axis in range(ndim):
        low, high = sides.a_range[0][axis], sides.a_range[1][axis]
        b_low, b_high = sides.b_range[0][axis], sides.b_range[1][axis]
        candidates += [(axis, t) for t in dict.fromkeys([int(low + b_high), int(high + b_low)])]
    maps = [_mirror(ndim, axis, total) for axis, total in candidates]
    scales, offsets = (np.array([m[i] for m in maps]) for i in range(2))
    passed = sides.screened(scales, offsets)
    return [
        candidate
        for candidate, ok, scale, offset in zip(candidates, passed, scales, offsets, strict=True)
        if ok and sides.fits(scale, offset)
    ]


def _mirror(ndim: int, axis: int, total: int) -> tuple[_Ids, _Ids]:
    scale, offset = np.ones(ndim, dtype=np.intp), np.zeros(ndim, dtype=np.intp)
    scale[axis], offset[axis] = -1, total
    return scale, offset


def task_relations(
    correlations: Sequence[ResolvedCorrelation],
    shape: Sequence[int],
    weights: _Floats,
    stop: StopSignal | None = None,
) -> list[Relation]:
    """Return the description's relations (``weights`` per correlation).

    Each correlation may be read as a shift (:func:`displacements`) or a mirror
    (:func:`reflections`); a pair of equal boxes is both. The reading is the one that explains
    the description with the fewest relations: greedily, the map that the largest weight of
    correlations not yet explained fits (shifts before mirrors, then the smaller map, on equal
    weight) explains all of them, until no correlation is left that some map fits. A symmetry
    description's halves, ends and alternate columns are one mirror about the centre, not three
    shifts; a block pair moved by one step at every position is one shift. ``stop`` is polled
    before each correlation (:class:`~advisor.errors.StoppedError`).
    """
    ndim = len(shape)
    same = np.ones(ndim, dtype=np.intp)
    readings: list[dict[_Key, tuple[_Ids, _Ids]]] = []
    for correlation in correlations:
        if stop is not None and stop.stopped():
            raise StoppedError("the description's relations were not read before the stop")
        b = correlation.b
        sides = _Sides.of(correlation.a, b, shape)
        options: dict[_Key, tuple[_Ids, _Ids]] = {}
        shifts = _shifts(sides)
        if shifts:
            sign = 1 if shifts[0][np.flatnonzero(shifts[0])[0]] > 0 else -1
            both = [sides.pairs(same, offset) for offset in shifts]
            key: _Key = ("shift", tuple(int(x) for x in sign * shifts[0]))
            options[key] = (
                np.concatenate([f for f, _ in both]),
                np.concatenate([s for _, s in both]),
            )
        for axis, total in _mirrors(sides):
            options[("mirror", (axis, total))] = sides.pairs(*_mirror(ndim, axis, total))
        readings.append(options)
    grouped: dict[_Key, list[tuple[_Ids, _Ids, _Floats]]] = {}
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
            share = np.full(len(first), float(weights[index]) / len(first))
            grouped.setdefault(chosen, []).append((first, second, share))
            left.discard(index)
    return [
        Relation(
            key,
            np.concatenate([f for f, _, _ in parts]),
            np.concatenate([s for _, s, _ in parts]),
            np.concatenate([w for _, _, w in parts]),
        )
        for key, parts in grouped.items()
    ]


def describe_relation(key: _Key, ndim: int) -> str:
    """Say a relation's map in words: ``a shift by 4 columns``, ``a mirror about row 7.5``.

    The rationale names the relations the description was read as, so a reader sees the
    reading (equal boxes are shifts and mirrors alike; the fewer relations win) and can state
    another (the ``symmetry`` preset's alternate columns make a mirror the one relation).
    """
    kind, values = key
    axes = {1: ("step",), 2: ("row", "column")}.get(ndim, tuple(f"axis {i}" for i in range(ndim)))
    if kind == "mirror":
        axis, total = values
        return f"a mirror about {axes[axis]} {total / 2:g}"
    moved = [(size, name) for size, name in zip(values, axes, strict=True) if size]
    if len(moved) == 1:
        size, name = moved[0]
        return f"a shift by {abs(size)} {name}{'s' if abs(size) != 1 else ''}"
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
    axes; at least 1: a window narrower than 2 per axis counts as 2) and ``q`` =
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
        self._parents: dict[tuple[object, Hashable], _Ids] = {}

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
            parent = self._parents[key] = _parents(window)
        return parent


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
    discounts = LEVEL_DISCOUNT ** np.maximum(np.log2(locations) / len(shape) - 1.0, 0.0)
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
