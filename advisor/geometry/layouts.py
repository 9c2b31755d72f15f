"""Pooling geometries realised: pooling structures and input permutations, for every family.

Each geometry family (:mod:`advisor.model.geometries`) gives, per level, a gather that permutes
the level's grid before standard contiguous windows (with the layer's stride) pool it. Windows are
numbered row-major over the grid they produce and list their members row-major inside the
window; that numbering is the next level's node ids. This module turns those gathers into a
:class:`~advisor.geometry.structure.PoolingStructure`, whatever the family.

Every tree is also one permutation of the input followed by plain contiguous pooling
(:func:`input_permutation`): that is how a recommendation is built in any framework.

The architecture was checked when it was built, so nothing here checks its schedule again; the
builders that take a bare schedule (:func:`structure_from_permutation`, :func:`mirror_permutation`,
...) check it, as :class:`~advisor.model.architecture.Architecture` would.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import Architecture, validate_schedule
from advisor.model.geometries import (
    DilationGeometry,
    Geometry,
    PermutationGeometry,
    family_of,
)
from advisor.model.schedule import Schedule

__all__ = [
    "PoolingTree",
    "WindowPositions",
    "dilation_order",
    "dilation_permutation",
    "dilation_tree_of",
    "geometry_permutation",
    "geometry_structure",
    "input_permutation",
    "interleaved_permutation",
    "mirror_permutation",
    "pooling_structure",
    "pooling_tree",
    "structure_from_permutation",
]

PoolingTree: TypeAlias = list[Any]
"""Nested lists of location ids: one nesting level per layer, children in window order."""

_Ids: TypeAlias = npt.NDArray[np.intp]


def pooling_structure(arch: Architecture) -> PoolingStructure:
    """Build the windows of every pooling level of ``arch`` from its geometry's definition.

    Level-0 nodes are the original locations; overlapping windows (contiguous or permutation
    geometry with a stride) give a structure that is not a tree.
    """
    return geometry_structure(arch.geometry, arch.schedule)


def input_permutation(arch: Architecture) -> _Ids:
    """Return the permutation ``P`` realising ``arch``'s pooling with plain contiguous pooling.

    Position ``p`` of the permuted input holds location ``P[p]``; ``arch`` with geometry
    ``{permutation: P}`` has the same pooling tree. Defined for every valid architecture: windows
    overlap only under contiguous or permutation geometry, whose permutation is explicit.
    """
    return geometry_permutation(arch.geometry, arch.schedule)


def geometry_structure(
    geometry: Geometry, schedule: Schedule, positions: WindowPositions | None = None
) -> PoolingStructure:
    """Pool every level of a checked ``schedule`` as ``geometry``'s family defines it.

    ``positions`` (default: computed afresh) gives each level's contiguous window positions; a
    caller building many trees passes one :class:`WindowPositions` to all of them.
    """
    return _structure(schedule, family_of(geometry).gathers(geometry, schedule), positions)


def _structure(
    schedule: Schedule, gathers: Sequence[_Ids | None], positions: WindowPositions | None
) -> PoolingStructure:
    """Pool every level of ``schedule``: its contiguous windows through each level's gather."""
    at = positions or _window_positions
    windows = []
    for grid, pool, step, gather in zip(
        schedule.grids[:-1], schedule.pools, schedule.steps, gathers, strict=True
    ):
        level = at(grid, pool, step)
        windows.append(level if gather is None else gather[level])
    return PoolingStructure(num_locations=schedule.num_locations, windows=tuple(windows))


def geometry_permutation(
    geometry: Geometry, schedule: Schedule, positions: WindowPositions | None = None
) -> _Ids:
    """Return the input permutation realising ``geometry`` on a checked ``schedule``.

    A family that permutes the input only (contiguous, permutation) gives it directly, the only
    way when windows overlap; otherwise the tree is laid out top-down (:func:`_layout`).
    ``positions`` as for :func:`geometry_structure`.
    """
    gathers = family_of(geometry).gathers(geometry, schedule)
    if all(gather is None for gather in gathers[1:]):
        first = gathers[0]
        return np.arange(schedule.num_locations, dtype=np.intp) if first is None else first
    return _layout(schedule, _structure(schedule, gathers, positions))


def pooling_tree(arch: Architecture) -> PoolingTree:
    """Return the pooling tree of ``arch``: nested lists of location ids, in window order.

    Raises
    ------
    InvalidRequestError
        Naming ``layers[i].stride`` when windows overlap: the network is then a graph.
    """
    overlapping = [i for i, layer in enumerate(arch.layers) if layer.stride is not None]
    if overlapping:
        raise InvalidRequestError.single(
            f"layers[{overlapping[0]}].stride",
            "overlapping windows make the network a graph, not a pooling tree",
        )
    nodes: _Ids = np.zeros((), dtype=np.intp)
    for windows in reversed(pooling_structure(arch).windows):
        nodes = windows[nodes]
    tree: PoolingTree = nodes.tolist()
    return tree


def structure_from_permutation(
    shape: Sequence[int],
    pools: Sequence[Sequence[int]],
    permutation: Sequence[int] | _Ids,
    strides: Sequence[Sequence[int] | None] | None = None,
) -> PoolingStructure:
    """Contiguous pooling (with optional strides) of the input permuted by ``permutation``.

    Raises
    ------
    InvalidRequestError
        When the schedule does not tile the grid or ``permutation`` is not a permutation.
    """
    geometry = PermutationGeometry.model_construct(permutation=tuple(permutation))
    return geometry_structure(geometry, validate_schedule(shape, pools, strides, geometry))


def mirror_permutation(shape: Sequence[int], pools: Sequence[Sequence[int]]) -> _Ids:
    """Return the input permutation of mirror pooling on this schedule.

    Raises
    ------
    InvalidRequestError
        When the schedule does not tile ``shape`` or does not pool 2 per axis below the top.
    """
    return geometry_permutation("mirror", validate_schedule(shape, pools, None, "mirror"))


def interleaved_permutation(shape: Sequence[int], pools: Sequence[Sequence[int]]) -> _Ids:
    """Return the input permutation of interleaved (comb) pooling on this schedule.

    Raises
    ------
    InvalidRequestError
        When the schedule does not tile ``shape``.
    """
    return geometry_permutation("interleaved", validate_schedule(shape, pools, None, "interleaved"))


def dilation_permutation(n: int, dilations: Sequence[int]) -> _Ids:
    """Return the input permutation of a size-2 conv stack dilated by ``dilations[l]`` at layer l.

    Position ``p`` holds ``sum_l bit_l(p) * dilations[l]``: contiguous pooling merges bit ``l``
    of the position at level ``l``, which is bit ``log2(dilations[l])`` of the location.

    Raises
    ------
    InvalidRequestError
        When ``n != 2 ** len(dilations)`` or ``dilations`` is not a permutation of the powers
        of two below ``n``.
    """
    geometry = DilationGeometry(dilations=tuple(operator.index(d) for d in dilations))
    return geometry_permutation(
        geometry, validate_schedule((n,), [(2,)] * len(dilations), None, geometry)
    )


def dilation_order(schedule: Schedule, permutation: npt.ArrayLike) -> tuple[int, ...] | None:
    """Return the dilation order whose tree ``permutation`` lays out on ``schedule``, if any.

    A written-out permutation of a dilated tree does not say its order, which a mixture's
    members and an architecture file hold only so. Each level's first window joins two halves
    a dilation apart, which gives the order, checked by :func:`dilation_tree_of`: a
    permutation that orders a window's members otherwise (``{0, 32}`` as 32, 0) pools the same
    tree, and is read as its order. None unless ``schedule`` pools a 1-D grid of ``2^L`` by
    ``L`` windows of 2 and ``permutation`` is such a tree.
    """
    grid, pools = schedule.grids[0], schedule.pools
    if len(grid) != 1 or grid[0] != 2 ** len(pools) or any(pool != (2,) for pool in pools):
        return None
    laid = np.asarray(permutation)
    order = tuple(
        abs(int(laid[half : 2 * half].min()) - int(laid[:half].min()))
        for half in (1 << level for level in range(len(pools)))
    )
    return order if dilation_tree_of(order, laid) else None


def dilation_tree_of(dilations: Sequence[int], permutation: npt.ArrayLike) -> bool:
    """Whether ``permutation`` pools the tree of the size-2 convs dilated by ``dilations``.

    The same windows at every level, in any order within them: the nets are the same, each
    window's pooling taking its members alike (an edited document's permutation that swaps
    two members of a window was refused as "not the dilation order" of its own tree).
    """
    laid = np.asarray(permutation)
    if sorted(map(operator.index, dilations)) != [1 << level for level in range(len(dilations))]:
        return False
    if laid.shape != (1 << len(dilations),):
        return False
    canonical = dilation_permutation(laid.size, dilations)
    return all(
        _windows(canonical, 1 << level) == _windows(laid, 1 << level)
        for level in range(1, len(dilations) + 1)
    )


def _windows(laid: _Ids, size: int) -> set[frozenset[int]]:
    """Return the set of locations each window of ``size`` consecutive positions pools."""
    return {frozenset(block.tolist()) for block in laid.reshape(-1, size)}


class WindowPositions:
    """The contiguous window positions of each (grid, pool, step), computed once.

    A search builds thousands of trees from a few dozen window grids (a 1024x1024 search spent
    15% of its time recomputing them). The arrays are read-only: every tree shares them.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[tuple[int, ...], ...], _Ids] = {}

    def __call__(self, grid: tuple[int, ...], pool: tuple[int, ...], step: tuple[int, ...]) -> _Ids:
        """Return :func:`_window_positions` of the arguments, from the cache when known."""
        key = (grid, pool, step)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = _window_positions(grid, pool, step)
            known.setflags(write=False)
        return known


def _window_positions(grid: tuple[int, ...], pool: tuple[int, ...], step: tuple[int, ...]) -> _Ids:
    """Row-major positions of every window (rows, in row-major window order) on ``grid``."""
    ndim = len(grid)
    flat = np.zeros((1,) * (2 * ndim), dtype=np.intp)
    axis_stride = 1
    for axis in reversed(range(ndim)):
        count = (grid[axis] - pool[axis]) // step[axis] + 1
        along = np.arange(count)[:, None] * step[axis] + np.arange(pool[axis])
        shape = [1] * (2 * ndim)
        shape[axis], shape[ndim + axis] = count, pool[axis]
        flat = flat + along.reshape(shape) * axis_stride
        axis_stride *= grid[axis]
    windows: _Ids = flat.reshape(-1, math.prod(pool))
    return windows


def _layout(schedule: Schedule, tree: PoolingStructure) -> _Ids:
    """Lay a tree out top-down so plain contiguous pooling reproduces it: its input permutation.

    ``layout`` maps each position of the level-``l`` grid to the level-``l`` node placed there.
    Going down a level, the block of positions under an output position receives the members of
    the window (node) placed at that output position, in window order.
    """
    layout: _Ids = np.zeros(1, dtype=np.intp)
    for level in reversed(range(schedule.depth)):
        out_grid, pool = schedule.grids[level + 1], schedule.pools[level]
        ndim = len(pool)
        blocks = tree.windows[level][layout].reshape(*out_grid, *pool)
        # (o_0, ..., k_0, ...) -> (o_0, k_0, o_1, k_1, ...): row-major over the finer grid.
        order = [
            axis for pair in zip(range(ndim), range(ndim, 2 * ndim), strict=True) for axis in pair
        ]
        layout = blocks.transpose(order).reshape(-1)
    return layout
