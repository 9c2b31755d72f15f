"""Which shifts and mirrors carry a correlation's region A onto its region B.

A correlation whose B is its A moved by a fixed displacement (every location of A that the move
keeps on the grid lands in B, and at least half of them stay on it; and at least half of B moved
back lands in A, so a region against the rest of the grid is no relation) relates each location
of A with the location that far away: a *shift*. One whose B is its A reflected about a line
across one axis relates each location with its mirror image: a *mirror*. A pair of equal boxes
is both. The search reads a description's relations from these maps (advisor.search.coherence,
docs/THEORY.md §18); the task model checks with them that a relation a correlation states
(``relation: shift`` or ``mirror``) is one its regions have. On large regions the maps are
checked on at most :data:`SAMPLE` locations of A spread evenly over it (every location of a
smaller A), so reading a description stays cheap on a 1024x1024 grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.arrays import runs
from advisor.model.regions import RelationKind

__all__ = [
    "CANDIDATES",
    "SAMPLE",
    "Sides",
    "displacements",
    "mirror_map",
    "mirrors",
    "oriented",
    "reflections",
    "relation_problem",
    "shifts",
]

_Ids = npt.NDArray[np.intp]

CANDIDATES: Final = 16
"""Displacements tried per correlation: from A's first location to B's nearest ones."""

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


@dataclass(frozen=True)
class Sides:
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
    def of(cls, a: _Ids, b: _Ids, shape: Sequence[int]) -> Sides:
        """Read the sides ``a`` and ``b`` (sorted location ids on ``shape``, row-major)."""
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

    def fits(self, scales: _Ids, offsets: _Ids) -> npt.NDArray[np.bool_]:
        """Whether each map (rows of ``scales`` and ``offsets``) moves A into B, and B back.

        B is then A moved: every location of A the map keeps on the grid lands in B, and at
        least half are kept; at least half of B lands in A under the inverse map (``scales``
        are +-1 per axis), so a region against the rest of the grid, or against a larger
        region, is no relation, while a stripe pattern mirrored about the centre (one seam where
        B's neighbour is not in A) still is. Checked on the samples of A and B, for maps that
        passed the screens (:meth:`screened`), every map in one pass as the screens are: a
        pass per map was a tenth of reading a small correlation's relations.
        """
        return self._passes(self.coords, self.back, scales, offsets)

    def image(self, coords: _Ids, scale: _Ids, offset: _Ids) -> tuple[npt.NDArray[np.bool_], _Ids]:
        """Return which of ``coords * scale + offset`` stay on the grid, and their ids."""
        kept, ids = self._images(coords, scale, offset)
        return kept, ids[kept]

    def pairs(self, scale: _Ids, offset: _Ids) -> tuple[_Ids, _Ids]:
        """Return the pairs (a, its image) of the locations of A the map keeps on the grid."""
        kept, moved = self.image(self.coords, scale, offset)
        return self.a[kept], moved


def oriented(a: _Ids, b: _Ids) -> tuple[_Ids, _Ids]:
    """Return a correlation's sides in one order, whichever it writes first.

    A correlation with its sides swapped is the same correlation (docs/FORMATS.md §1), but the
    rule of :meth:`Sides.fits` is not symmetric where the sides differ in size: on 3 steps,
    {0, 1} against {2} fits a shift by 2 only, {2} against {0, 1} one by 1 as well, which
    changed the reading, the scores and the #1. The side whose first location comes first is
    first; of two that start alike, the one whose first differing location comes first, or the
    shorter where one begins the other.
    """
    common = min(len(a), len(b))
    differ = np.flatnonzero(a[:common] != b[:common])
    if differ.size:
        first = int(differ[0])
        return (a, b) if a[first] < b[first] else (b, a)
    return (a, b) if len(a) <= len(b) else (b, a)


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
    for the :data:`CANDIDATES` locations of B nearest to A's first location, nearest first, then
    the moves of A's bounding box's lowest and highest corners onto B's, each tried with both
    signs; the first candidate with a sign that fits is returned, with every one
    of its signs that fits (one or two vectors).
    """
    return shifts(Sides.of(a, b, shape))


def shifts(sides: Sides) -> list[_Ids]:
    """Return :func:`displacements` of sides already read (the search reads each pair once)."""
    first = sides.coords[0]
    near, distances = sides.nearest_b(first, CANDIDATES)
    offsets = near - first
    nearest = offsets[np.lexsort((*offsets.T[::-1], distances))[:CANDIDATES]]
    # A move far along one axis and back along another (a quadrant onto the one diagonally
    # across) takes A's first location to none of B's nearest: the moves of A's bounding box
    # onto B's, after them.
    boxes = np.stack([sides.b_range[0] - sides.a_range[0], sides.b_range[1] - sides.a_range[1]])
    tried = set(map(tuple, nearest.tolist()))
    # The corner moves not tried yet, in increasing order (as rows, lexicographically).
    later = sorted(set(map(tuple, boxes.tolist())) - tried)
    candidates = (
        np.concatenate([nearest, np.array(later, dtype=nearest.dtype)]) if later else nearest
    )
    signed = np.stack([candidates, -candidates], axis=1)  # (candidate, sign, axis)
    rows = signed.reshape(-1, len(first))
    same = np.ones(len(first), dtype=np.intp)
    passed = sides.screened(np.broadcast_to(same, rows.shape), rows).reshape(-1, 2)
    for index in np.flatnonzero(passed.any(axis=1)):  # nearest first
        screened = signed[index][passed[index]]
        fitting = screened[sides.fits(np.broadcast_to(same, screened.shape), screened)]
        if fitting.size:
            return list(fitting)
    return []


def reflections(a: _Ids, b: _Ids, shape: Sequence[int]) -> list[tuple[int, int]]:
    """Return the reflections mapping A into B: ``(axis, s)`` maps ``x`` on ``axis`` to ``s - x``.

    A reflection maps the extremes of A on its axis onto those of B, so ``s`` is tried as
    ``min A + max B`` (and ``max A + min B`` where it differs) on every axis.
    """
    return mirrors(Sides.of(a, b, shape))


def mirrors(sides: Sides) -> list[tuple[int, int]]:
    """Return :func:`reflections` of sides already read."""
    ndim = len(sides.grid)
    candidates = []
    for axis in range(ndim):
        low, high = sides.a_range[0][axis], sides.a_range[1][axis]
        b_low, b_high = sides.b_range[0][axis], sides.b_range[1][axis]
        candidates += [(axis, t) for t in dict.fromkeys([int(low + b_high), int(high + b_low)])]
    maps = [mirror_map(ndim, axis, total) for axis, total in candidates]
    scales, offsets = (np.array([m[i] for m in maps]) for i in range(2))
    passed = sides.screened(scales, offsets)
    fitting = np.zeros(len(candidates), dtype=np.bool_)
    if passed.any():
        fitting[passed] = sides.fits(scales[passed], offsets[passed])
    return [candidate for candidate, ok in zip(candidates, fitting, strict=True) if ok]


def mirror_map(ndim: int, axis: int, total: int) -> tuple[_Ids, _Ids]:
    """Return the reflection ``(axis, total)`` as a map: per-axis scales (+-1) and offsets."""
    scale, offset = np.ones(ndim, dtype=np.intp), np.zeros(ndim, dtype=np.intp)
    scale[axis], offset[axis] = -1, total
    return scale, offset


def relation_problem(kind: RelationKind, a: _Ids, b: _Ids, shape: Sequence[int]) -> str | None:
    """Return why B is not A under a map of ``kind`` (``shift`` or ``mirror``), or None.

    A correlation that states its relation (``relation``) is read that way only, so a
    statement its regions contradict would leave it no relation at all: it is refused instead.
    """
    a, b = oriented(a, b)  # as the reading takes them (advisor.search.coherence)
    if kind == "shift":
        if displacements(a, b, shape):
            return None
        return (
            "is 'shift', but b is not a moved by one displacement (every location of a the move "
            "keeps on the grid landing in b, at least half of them kept, and half of b moved "
            "back landing in a)"
        )
    if reflections(a, b, shape):
        return None
    return (
        "is 'mirror', but b is not a's mirror image about a line across one axis (every "
        "location of a the reflection keeps on the grid landing in b, at least half of them "
        "kept, and half of b reflected back landing in a)"
    )
