"""Pooling geometries: which locations share a window, as pooling structures and permutations.

A geometry is realised level by level: before pooling level ``l`` the current grid is permuted
(position ``p`` takes the node ``gather[p]``), then standard contiguous windows (with the layer's
stride) pool the permuted grid. Windows are numbered row-major over the grid they produce and
list their members row-major inside the window; that numbering is the next level's node ids.

- contiguous: no permutation; ``{permutation: P}``: ``P`` at the input only.
- mirror [CS17 code; docs/THEORY.md §7]: at each level, on each axis of size ``n``, position ``h``
  takes ``h // 2`` if ``h`` is even, else ``n - 1 - h // 2``, so a node is pooled with its
  reflections.
- interleaved: at every level, along an axis of size ``n`` pooled by ``k``, window ``j`` holds
  ``j, j + n/k, j + 2n/k, ...`` (a comb).
- ``{dilations: d}`` [CTS18]: level ``l`` merges locations whose indices differ only in bit
  ``log2(d_l)``; a level's nodes are numbered by the bits not merged yet, in ascending order.

Every tree is also one permutation of the input followed by plain contiguous pooling
(:func:`input_permutation`): that is how a recommendation is built in any framework.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import (
    Architecture,
    DilationGeometry,
    PermutationGeometry,
    validate_permutation,
    validate_schedule,
)

__all__ = [
    "PoolingTree",
    "dilation_permutation",
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
    geometry = arch.geometry
    pools = [layer.pool for layer in arch.layers]
    steps = [layer.step for layer in arch.layers]
    grids = validate_schedule(arch.input.shape, pools, [layer.stride for layer in arch.layers])
    if geometry == "contiguous":
        return _structure(grids, pools, steps, [None] * len(pools))
    if isinstance(geometry, PermutationGeometry):
        first = np.asarray(geometry.permutation, dtype=np.intp)
        return _structure(grids, pools, steps, [first] + [None] * (len(pools) - 1))
    if isinstance(geometry, DilationGeometry):
        return _structure(grids, pools, steps, _dilation_gathers(geometry.dilations))
    return _named_structure(geometry, arch.input.shape, pools)[1]


def input_permutation(arch: Architecture) -> _Ids:
    """Return the permutation ``P`` realising ``arch``'s pooling with plain contiguous pooling.

    Position ``p`` of the permuted input holds location ``P[p]``; ``arch`` with geometry
    ``{permutation: P}`` has the same pooling tree. Defined for every valid architecture: windows
    overlap only under contiguous or permutation geometry, whose permutation is explicit.
    """
    geometry = arch.geometry
    if geometry == "contiguous":
        return np.arange(arch.input.num_locations, dtype=np.intp)
    if isinstance(geometry, PermutationGeometry):
        return np.asarray(geometry.permutation, dtype=np.intp)
    if isinstance(geometry, DilationGeometry):
        return dilation_permutation(arch.input.num_locations, geometry.dilations)
    pools = [layer.pool for layer in arch.layers]
    return _layout(*_named_structure(geometry, arch.input.shape, pools), pools)


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
    grids = validate_schedule(shape, pools, strides)
    validate_permutation(permutation, math.prod(grids[0]))
    steps = [
        tuple(pool if stride is None else stride)
        for pool, stride in zip(pools, strides or [None] * len(pools), strict=True)
    ]
    first = np.asarray(permutation, dtype=np.intp)
    return _structure(grids, pools, steps, [first] + [None] * (len(pools) - 1))


def mirror_permutation(shape: Sequence[int], pools: Sequence[Sequence[int]]) -> _Ids:
    """Return the input permutation of mirror pooling on this schedule (see the module doc).

    Raises
    ------
    InvalidRequestError
        When the schedule does not tile ``shape`` or does not pool 2 per axis below the top.
    """
    return _layout(*_named_structure("mirror", shape, pools), pools)


def interleaved_permutation(shape: Sequence[int], pools: Sequence[Sequence[int]]) -> _Ids:
    """Return the input permutation of interleaved (comb) pooling on this schedule.

    Raises
    ------
    InvalidRequestError
        When the schedule does not tile ``shape``.
    """
    return _layout(*_named_structure("interleaved", shape, pools), pools)


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
    validate_schedule((n,), [(2,)] * len(dilations), None, geometry)
    positions = np.arange(n, dtype=np.intp)
    bits = (positions[:, None] >> np.arange(len(dilations))) & 1
    permutation: _Ids = bits @ np.asarray(geometry.dilations, dtype=np.intp)
    return permutation


def _named_structure(
    name: Literal["mirror", "interleaved"], shape: Sequence[int], pools: Sequence[Sequence[int]]
) -> tuple[list[tuple[int, ...]], PoolingStructure]:
    """Validate the schedule for a per-level geometry; return its grids and its structure."""
    grids = validate_schedule(shape, pools, None, name)
    level_gather = _mirror_gather if name == "mirror" else _interleaved_gather
    gathers = [
        level_gather(grid, tuple(pool)) for grid, pool in zip(grids[:-1], pools, strict=True)
    ]
    return grids, _structure(grids, pools, pools, gathers)


def _structure(
    grids: Sequence[tuple[int, ...]],
    pools: Sequence[Sequence[int]],
    steps: Sequence[Sequence[int]],
    gathers: Sequence[_Ids | None],
) -> PoolingStructure:
    """Pool every level: permute its grid by ``gathers[l]`` (None: as is), then window it."""
    windows = []
    for grid, pool, step, gather in zip(grids[:-1], pools, steps, gathers, strict=True):
        positions = _window_positions(grid, tuple(pool), tuple(step))
        windows.append(positions if gather is None else gather[positions])
    return PoolingStructure(num_locations=math.prod(grids[0]), windows=tuple(windows))


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


def _layout(
    grids: Sequence[tuple[int, ...]], tree: PoolingStructure, pools: Sequence[Sequence[int]]
) -> _Ids:
    """Lay a tree out top-down so plain contiguous pooling reproduces it: its input permutation.

    ``layout`` maps each position of the level-``l`` grid to the level-``l`` node placed there.
    Going down a level, the block of positions under an output position receives the members of
    the window (node) placed at that output position, in window order.
    """
    layout: _Ids = np.zeros(1, dtype=np.intp)
    for level in reversed(range(len(pools))):
        out_grid, pool = grids[level + 1], tuple(pools[level])
        ndim = len(pool)
        blocks = tree.windows[level][layout].reshape(*out_grid, *pool)
        # (o_0, ..., k_0, ...) -> (o_0, k_0, o_1, k_1, ...): row-major over the finer grid.
        order = [
            axis for pair in zip(range(ndim), range(ndim, 2 * ndim), strict=True) for axis in pair
        ]
        layout = blocks.transpose(order).reshape(-1)
    return layout


def _axis_gathers(grid: tuple[int, ...], per_axis: Sequence[_Ids]) -> _Ids:
    """Combine per-axis permutations (``per_axis[a]`` on axis ``a``) into one grid permutation."""
    gather: _Ids = np.zeros((), dtype=np.intp)
    for size, axis_gather in zip(grid, per_axis, strict=True):
        gather = (gather[..., None] * size + axis_gather).astype(np.intp)
    flat: _Ids = gather.reshape(-1)
    return flat


def _mirror_gather(grid: tuple[int, ...], pool: tuple[int, ...]) -> _Ids:
    """Mirror rule per axis: position h takes h // 2 if h is even, else n - 1 - h // 2."""
    del pool  # the rule depends on the grid alone
    per_axis = []
    for size in grid:
        h = np.arange(size, dtype=np.intp)
        per_axis.append(np.where(h % 2 == 0, h // 2, size - 1 - h // 2))
    return _axis_gathers(grid, per_axis)


def _interleaved_gather(grid: tuple[int, ...], pool: tuple[int, ...]) -> _Ids:
    """Comb per axis: position j * k + m takes j + m * n / k (window j holds j, j + n/k, ...)."""
    per_axis = []
    for size, k in zip(grid, pool, strict=True):
        p = np.arange(size, dtype=np.intp)
        per_axis.append(p // k + (p % k) * (size // k))
    return _axis_gathers(grid, per_axis)


def _dilation_gathers(dilations: Sequence[int]) -> list[_Ids | None]:
    """Per level, the gather that pairs the level's nodes differing in bit ``log2(d_l)``.

    A level's nodes are numbered by the location bits not merged yet, packed in ascending order;
    merging bit ``b`` (at packed position ``q``) pairs window ``w`` with the two nodes whose
    packed ids are ``w`` with a 0, then a 1, inserted at position ``q``.
    """
    remaining = list(range(len(dilations)))
    gathers: list[_Ids | None] = []
    for dilation in dilations:
        q = remaining.index(dilation.bit_length() - 1)
        remaining.pop(q)
        w = np.arange(2 ** len(remaining), dtype=np.intp)[:, None]
        bit = np.arange(2, dtype=np.intp)
        low = w & ((1 << q) - 1)
        gathers.append((((w >> q) << (q + 1)) | (bit << q) | low).reshape(-1))
    return gathers
