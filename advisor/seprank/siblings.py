"""Where shared weights may lower a rank through siblings the shared-weight bound does not charge.

The shared-weight bound (docs/THEORY.md §5-6) charges ``m`` sibling subtrees whose leaves all lie
on one side ("pure") their symmetric dimension ``binom(D + m - 1, m)``: with conv weights shared
across locations they compute the same function of different inputs, so the product of their
outputs spans a symmetric power. Two more kinds of one-sided siblings (leaves on one side and
constant inputs: free locations, contracted with generic vectors, or padded ones) span equal
spaces, so their products are symmetric too, and the bound does not charge them:

- **Alike padding.** Every padded location holds one constant, so siblings made of one side's
  locations and padded ones compute the same function when their padding sits alike (input [5]
  padded by one before and two after, interleaved windows, M = 2, widths 2 and 4: exact shared
  rank 3, bound 4).
- **Full width.** A one-sided sibling whose outputs span its layer's whole width spans the same
  space as every other such sibling, whatever constants it holds; the shared conv above maps them
  into one subspace (input [6] padded by two after, interleaved windows, M = 2, widths 2 and 4,
  B A B A B . : two A siblings, one with a free location and one with a padded one, each spanning
  both channels: exact shared rank 3, bound 4).

:func:`uncharged_siblings` flags the correlations where a window pools two or more such siblings
on one side (a full-width one with a constant among them, or two padded ones): it may flag more
than it must (two padded siblings need not be alike, a dimension bound at the width need not be
reached) and never misses one of these two kinds. The analysis certifies a flagged figure
``upper_bound`` rather than ``tight``.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from advisor.seprank.levels import LeafCounts, Levels

__all__ = ["SAME", "uncharged_siblings"]

SAME: Final = 1e-9
"""Two log2 figures this close are one figure (the engines' roundoff is far below it)."""

_NEVER: Final = 2**31 - 1
"""More locations than any node holds (the counts are ``int32``)."""


def uncharged_siblings(
    levels: Levels,
    counts: LeafCounts,
    padded: npt.NDArray[Any] | None,
    roots: npt.NDArray[np.intp] | None,
    log2_widths: npt.NDArray[np.float64],
    log2_representation: float,
) -> npt.NDArray[np.bool_]:
    """Return, per correlation, whether a window pools one-sided siblings of the two kinds.

    Parameters
    ----------
    levels, counts, roots
        Where the tree recurrence runs (:func:`advisor.seprank.tree.log2_min_cuts`): a tree's own
        levels with its leaf counts (one row per correlation, ``roots`` None), or its interned
        subtrees (one row, ``roots`` the root type of each correlation).
    padded
        ``counts``' shape: the padded leaves of each level-0 window, None without padding. Only
        a tree's own levels carry them (subtrees are interned by their A and B counts).
    log2_widths
        ``(L,)``: ``log2 r_l`` per pooling level.
    log2_representation
        ``log2 M``.

    Examples
    --------
    Two size-2 windows, then the root: an A location beside a padded one, on either side of the
    root, makes two alike siblings; a B location in the second window leaves one.

    >>> from advisor.geometry.structure import PoolingStructure
    >>> from advisor.seprank.levels import leaf_counts
    >>> structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    >>> labels = np.array([[1, 3, 1, 3], [1, 3, 2, 3]], dtype=np.int8)
    >>> levels = Levels.of(structure)
    >>> counts, padded = leaf_counts(structure, levels, labels), np.ones((2, 2), np.int32)
    >>> uncharged_siblings(levels, counts, padded, None, np.array([3.0, 3.0]), 2.0)
    array([ True, False])
    """
    in_a, in_b, leaves = counts.in_a, counts.in_b, levels.arities[0]
    found: npt.NDArray[np.bool_] | None = None  # per node: such siblings in its subtree
    for level in range(1, len(levels.arities)):
        fewest = _fewest_to_fill(float(log2_widths[level - 1]), log2_representation)
        no_a, no_b = in_a == 0, in_b == 0
        full = ((in_a >= fewest) & no_b, (in_b >= fewest) & no_a)
        constant = in_a + in_b < leaves  # a free or padded location among its leaves
        hit = found is not None and levels.window_sum(found.view(np.uint8), level, np.int32) > 0
        for side, one_sided in zip((in_a, in_b), full, strict=True):
            count = levels.window_sum(one_sided.view(np.uint8), level, np.int32)
            with_constant = levels.window_sum((one_sided & constant).view(np.uint8), level)
            hit = hit | ((count >= 2) & (with_constant > 0))
            if padded is not None:
                alike = (side > 0) & (padded > 0) & (side + padded == leaves)
                hit = hit | (levels.window_sum(alike.view(np.uint8), level, np.int32) >= 2)
        found = np.asarray(hit)
        in_a, in_b = (levels.window_sum(side, level, np.int32) for side in (in_a, in_b))
        if padded is not None:
            padded = levels.window_sum(padded, level, np.int32)
        leaves *= levels.arities[level]
    if found is None:
        return np.zeros(len(counts.in_a) if roots is None else len(roots), dtype=bool)
    top: npt.NDArray[np.bool_] = found[:, 0] if roots is None else found[0, roots]
    return top


def _fewest_to_fill(log2_width: float, log2_representation: float) -> int:
    """Return the fewest locations a one-sided node needs to span a layer of width ``r``.

    A node of ``n`` locations spans at most ``min(r, M^n)`` dimensions, so it can fill its
    layer only with ``n >= log2 r / log2 M`` (a bound no smaller than the recurrence's, so no
    full-width node is missed). Any node fills a width of 1; with ``M = 1`` none fills more.
    """
    if log2_width <= SAME:
        return 1
    if log2_representation <= SAME:
        return _NEVER
    return math.ceil((log2_width - SAME) / log2_representation)
