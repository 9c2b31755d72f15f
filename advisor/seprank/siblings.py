"""Where shared weights may lower a rank through siblings the shared-weight bound does not charge.

The shared-weight bound (docs/THEORY.md §5-6) charges ``m`` sibling subtrees whose leaves all lie
on one side ("pure") their symmetric dimension ``binom(D + m - 1, m)``: with conv weights shared
across locations they compute the same function of different inputs, so the product of their
outputs spans a symmetric power. One-sided siblings that hold constant inputs (free locations,
contracted with generic vectors, or padded ones) are the same function with some inputs fixed:
a constant is a point of the representation's span, so each such sibling spans a subspace of
what a pure sibling of its shape spans, and siblings whose spans meet multiply into fewer
dimensions than the product of theirs. The bound charges each of them its own dimension, so
where they meet the figure may be above the rank. Examples (exact shared rank against the
bound):

- input [5] padded by one before and two after, interleaved windows, M = 2, widths 2 and 4: two
  siblings of an A location and padding compute one function (rank 3, bound 4);
- input [12], contiguous windows of 3 then 4, M = 2, widths 8 and 8, windows ``.a. aaa bbb ..b``:
  the span of ``.a.`` (2 dimensions) lies in that of ``aaa`` (4), and their product spans 7
  dimensions, not 8 (rank 7, bound 8).

:func:`uncharged_siblings` flags the correlations where a window pools two or more one-sided
siblings on one side, one of them holding a constant. It flags more than it must (spans that
meet need not lower the rank), and catches every one-sided case found by the exact engine
(docs/THEORY.md §5); the analysis certifies a flagged figure ``upper_bound`` rather than
``tight``. Children that mix both sides can lower the rank too, which no rule here detects.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.seprank.levels import LeafCounts, Levels

__all__ = ["SAME", "uncharged_siblings"]

SAME: Final = 1e-9
"""Two log2 figures this close are one figure (the engines' roundoff is far below it)."""


def uncharged_siblings(
    levels: Levels, counts: LeafCounts, roots: npt.NDArray[np.intp] | None
) -> npt.NDArray[np.bool_]:
    """Return, per correlation, whether a window pools one-sided siblings, one with a constant.

    Parameters
    ----------
    levels, counts, roots
        Where the tree recurrence runs (:func:`advisor.seprank.tree.log2_min_cuts`): a tree's own
        levels with its leaf counts (one row per correlation, ``roots`` None), or its interned
        subtrees (one row, ``roots`` the root type of each correlation).

    Examples
    --------
    Two size-2 windows, then the root: an A location beside a free one, and two A locations, are
    one-sided siblings holding a constant; a B location in the second window leaves one.

    >>> from advisor.geometry.structure import PoolingStructure
    >>> from advisor.seprank.levels import leaf_counts
    >>> structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    >>> labels = np.array([[1, 0, 1, 1], [1, 0, 2, 2], [1, 1, 1, 1]], dtype=np.int8)
    >>> levels = Levels.of(structure)
    >>> uncharged_siblings(levels, leaf_counts(structure, levels, labels), None)
    array([ True, False, False])
    """
    in_a, in_b, leaves = counts.in_a, counts.in_b, levels.arities[0]
    found: npt.NDArray[np.bool_] | None = None  # per node: such siblings in its subtree
    for level in range(1, len(levels.arities)):
        # The windows of ``level`` pool nodes of ``leaves`` locations each.
        constant = in_a + in_b < leaves  # a free or padded location among them
        hit = found is not None and levels.window_sum(found.view(np.uint8), level, np.int32) > 0
        for side, other in ((in_a, in_b), (in_b, in_a)):
            one_sided = (side > 0) & (other == 0)
            count = levels.window_sum(one_sided.view(np.uint8), level, np.int32)
            with_constant = levels.window_sum(
                (one_sided & constant).view(np.uint8), level, np.int32
            )
            hit = hit | ((count >= 2) & (with_constant > 0))
        found = np.asarray(hit)
        in_a, in_b = (levels.window_sum(side, level, np.int32) for side in (in_a, in_b))
        leaves *= levels.arities[level]
    if found is None:
        return np.zeros(len(counts.in_a) if roots is None else len(roots), dtype=bool)
    top: npt.NDArray[np.bool_] = found[:, 0] if roots is None else found[0, roots]
    return top
