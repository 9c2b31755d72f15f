"""Arrangement a pooling tree cannot see: the order its symmetric pooling windows discard.

Max pooling and product pooling are symmetric in a window's children, and every child is computed
by the same (shared) weights, so a network gives one output for any two inputs whose children's
features are permutations of each other within a window. A window of ``w`` children treats as one
``w!`` arrangements: ``log2(w!)`` bits of *where in the window* a feature sat. Summed over the
windows of every level and divided by the locations of the grid pooled (a padded grid's, padded),
this is the arrangement information per location the tree discards by construction, whatever its
widths:

    discarded = sum_l windows_l * log2(|window_l|!) / N.

A 16x16 grid pooled 2x2 at every level discards 1.52 bits per location; one whose first level
pools 4x4 discards 2.86, most of it at the finest scale, where local structure (edges, strokes,
neighbouring steps) lives. The separation-rank figures cannot see this: a symmetric window can
still have full rank across any partition of it. The search weighs it (docs/THEORY.md §16).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["discarded_by_level", "discarded_order"]


def discarded_order(
    shape: Sequence[int], pools: Sequence[Sequence[int]], steps: Sequence[Sequence[int]]
) -> float:
    """Return the bits of arrangement per input location the pooling levels discard.

    Parameters
    ----------
    shape
        The grid the levels pool: the input's, or its padded grid, whose locations then divide
        the bits (docs/THEORY.md §16).
    pools, steps
        The windows and window steps per level, bottom-up (as in an architecture's layers).
    """
    return sum(discarded_by_level(shape, pools, steps))


def discarded_by_level(
    shape: Sequence[int], pools: Sequence[Sequence[int]], steps: Sequence[Sequence[int]]
) -> list[float]:
    """Return :func:`discarded_order`'s bits per input location level by level, bottom-up."""
    grid = list(shape)
    locations = math.prod(shape)
    bits = []
    for pool, step in zip(pools, steps, strict=True):
        grid = [(n - p) // s + 1 for n, p, s in zip(grid, pool, step, strict=True)]
        bits.append(math.prod(grid) * math.lgamma(math.prod(pool) + 1) / math.log(2) / locations)
    return bits
