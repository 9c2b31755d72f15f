"""The pooling structure of a network: which nodes each pooling window joins, level by level.

This is the one representation every engine consumes. Level 0 nodes are the input locations in
their original row-major numbering, so task regions apply to them directly. ``windows[l]`` is an
integer array of shape ``(n_{l+1}, k_l)``: row ``w`` lists the level-``l`` nodes that window ``w``
pools (in window order), and window ``w`` is node ``w`` of level ``l + 1``. The last level has one
window (global pooling). In a tree every node is pooled by exactly one window; with overlapping
windows (stride < pool) a node may be pooled by several, and the network is not a tree.
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

__all__ = ["PoolingStructure"]


@dataclass(frozen=True, eq=False)
class PoolingStructure:
    """Windows of every pooling level, bottom-up; see the module docstring for the layout."""

    num_locations: int
    windows: tuple[npt.NDArray[np.intp], ...]

    def __post_init__(self) -> None:
        size = self.num_locations
        for level, win in enumerate(self.windows):
            if win.ndim != 2 or win.size == 0 or win.min() < 0 or win.max() >= size:
                raise ValueError(f"windows[{level}] must index the {size} nodes of level {level}")
            size = win.shape[0]
        if size != 1:
            raise ValueError("the last pooling level must be global (one window)")

    @property
    def depth(self) -> int:
        """Number of pooling levels (hidden layers)."""
        return len(self.windows)

    def check_widths(self, widths: Sized) -> None:
        """Raise :class:`ValueError` unless ``widths`` has one entry per pooling level.

        The engines that take the channel count of every level (exact, graph) refuse a list of
        another length, a caller's bug, before they read it level by level.
        """
        if len(widths) != self.depth:
            raise ValueError(f"widths must have one entry per pooling level ({self.depth})")

    @cached_property
    def is_tree(self) -> bool:
        """True when every node is pooled by exactly one window at every level (computed once)."""
        sizes = [self.num_locations] + [w.shape[0] for w in self.windows[:-1]]
        # Counting, not sorting: a level of a million nodes is checked in one pass.
        return all(
            w.size == n and bool((np.bincount(w.reshape(-1), minlength=n) == 1).all())
            for w, n in zip(self.windows, sizes, strict=True)
        )

    def leaf_order(self) -> npt.NDArray[np.intp]:
        """Locations in depth-first window order (tree only): every subtree is a contiguous run.

        Computed once per structure (the engine asks for it per chunk of correlations); the
        array is read-only.
        """
        return self._leaf_order

    @cached_property
    def in_window_order(self) -> bool:
        """True for a tree whose locations are already in depth-first window order (computed once).

        Then :meth:`leaf_order` is the identity (contiguous 1-D pooling, every shallow net) and
        the engine uses the labels as they are.
        """
        return self.is_tree and np.array_equal(self._leaf_order, np.arange(self.num_locations))

    @cached_property
    def _leaf_order(self) -> npt.NDArray[np.intp]:
        order = np.zeros(1, dtype=np.intp)
        for win in reversed(self.windows):
            order = win[order].reshape(-1)
        order.flags.writeable = False
        return order
