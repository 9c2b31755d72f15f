"""A pooling structure walked level by level: window sums, and the leaves counted per window.

The tree recurrence (:mod:`advisor.seprank.tree`) and the interning of its subtrees
(:mod:`advisor.seprank.interned`) both read a level's windows through :class:`Levels`, so they
number the nodes alike. On a tree the leaves are first put in depth-first window order
(:meth:`PoolingStructure.leaf_order`): every window is then a contiguous run and a level is a sum
of ``k`` strided views. Otherwise (overlapping windows, or interned subtrees, which several
windows share) each window's members are gathered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from advisor.geometry.structure import PoolingStructure
from advisor.seprank.labels import SIDE_A, SIDE_B

__all__ = ["LeafCounts", "Levels", "leaf_counts"]

_AnyArray = npt.NDArray[Any]

_MAX_STRIDED_ARITY: Final = 16
"""Windows up to this size are summed as ``k`` strided views (about 10x faster than a reduction
over a short trailing axis); larger ones (e.g. the global window of a shallow net) are reduced."""


class Levels:
    """Window sums over the node axis (the last axis) of per-node arrays, level by level.

    Parameters
    ----------
    windows
        ``windows[l]``: ``(n_{l+1}, k_l)``, the level-``l`` nodes each window pools, in window
        order.
    in_order
        Every level's nodes are numbered in depth-first window order (a tree whose leaves were
        put in :meth:`PoolingStructure.leaf_order`): window ``w`` of level ``l`` is nodes
        ``w k_l`` to ``w k_l + k_l - 1``, read as strided views instead of gathered.
    """

    def __init__(self, windows: Sequence[npt.NDArray[np.intp]], in_order: bool) -> None:
        self.windows = tuple(windows)
        self.arities = [w.shape[1] for w in self.windows]
        self._in_order = in_order

    @classmethod
    def of(cls, structure: PoolingStructure) -> Levels:
        """Return the levels of a structure: in window order on a tree, gathered otherwise."""
        return cls(structure.windows, structure.is_tree)

    def grouped(self, values: _AnyArray, level: int) -> _AnyArray:
        """Return ``values`` grouped by the windows of ``level``: shape ``(..., n_{l+1}, k_l)``.

        For keys (integers): a gather returns a fresh C-ordered array, whatever the layout of
        ``values``, so it is not what a float reduction may run on (:meth:`window_sum`).
        """
        windows = self.windows[level]
        if self._in_order:
            return values.reshape(*values.shape[:-1], *windows.shape)
        # np.take is several times faster than fancy indexing along the last axis.
        return np.take(values, windows, axis=-1)

    def window_sum(
        self, values: _AnyArray, level: int, dtype: npt.DTypeLike | None = None
    ) -> _AnyArray:
        """Sum ``values`` over each window of ``level``; the result indexes level ``level + 1``.

        The sums are accumulated in ``dtype`` (default: that of ``values``), each window's members
        added in window order, so a node's sum depends on its members' values only. Past
        :data:`_MAX_STRIDED_ARITY` members a reduction adds them, pairwise when the window is
        contiguous in memory, one by one when another axis is (several width vectors batched:
        the arrays keep the width-fastest layout of the cost tables' gathers; several rows
        gathered by overlapping windows: fancy indexing puts the rows fastest): the same bits for
        equal windows in equal layouts only.
        """
        dtype = values.dtype if dtype is None else np.dtype(dtype)
        windows = self.windows[level]
        arity = windows.shape[1]
        if arity > _MAX_STRIDED_ARITY:
            grouped = (
                values.reshape(*values.shape[:-1], *windows.shape)
                if self._in_order
                else values[..., windows]
            )
            return np.asarray(grouped.sum(-1, dtype=dtype))
        members: list[slice | npt.NDArray[np.intp]] = (
            [slice(j, None, arity) for j in range(arity)]
            if self._in_order
            else [windows[:, j] for j in range(arity)]
        )
        if arity == 1:
            return values[..., members[0]].astype(dtype)
        # The first two summed straight into the result: no copy of the first member.
        total = np.add(values[..., members[0]], values[..., members[1]], dtype=dtype)
        for member in members[2:]:
            total += values[..., member]
        return total


@dataclass(frozen=True)
class LeafCounts:
    """How many leaves of each level-0 window lie in A and in B: where every recurrence starts.

    ``(C, n_1)`` ``int32`` each, in the node order of the :class:`Levels` they were counted on.
    """

    in_a: _AnyArray
    in_b: _AnyArray


def leaf_counts(
    structure: PoolingStructure, levels: Levels, labels: npt.NDArray[np.int8]
) -> LeafCounts:
    """Count the A and B leaves of every level-0 window of ``structure`` for every row of labels.

    ``levels`` is :meth:`Levels.of` ``structure``: on a tree the labels are put in leaf order.
    """
    if labels.ndim != 2 or labels.shape[1] != structure.num_locations:
        raise ValueError(f"labels must have shape (C, {structure.num_locations})")
    if structure.is_tree and not structure.in_window_order:
        # np.take is several times faster than fancy indexing along the last axis.
        labels = np.take(labels, structure.leaf_order(), axis=-1)
    full_a, full_b = ((labels == side).view(np.uint8) for side in (SIDE_A, SIDE_B))
    return LeafCounts(*(levels.window_sum(full, 0, np.int32) for full in (full_a, full_b)))
