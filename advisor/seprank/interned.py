"""The distinct labelled subtrees of a pooling structure, in window order: what the engine runs on.

The tree recurrence (:mod:`advisor.seprank.tree`) computes a node's figures from its children's
alone, by the same operations at every node of a level: level-0 nodes from how many of their
leaves lie in A and in B (integer counts), higher ones from their children's figures added in
window order. So two nodes whose subtrees carry the same labels in the same window order get the
same figures *to the last bit*, and the recurrence needs to run once per distinct such subtree.
On a task of box regions most subtrees repeat (inside a region, all free, one period of a
stripe): the 1024x1024 benchmark pick holds 4 distinct ones per level.

Subtrees are interned level by level, jointly over every row of the labels (a type is one id
for all rows): a level-0 node's type is its pair of counts, a higher node's the ordered tuple of
its children's types. The interned levels are then a pooling structure whose level-``l``
windows list the distinct ordered children of each type at height ``l + 1`` (a DAG: a type
feeds every window it occurs in, so the recurrence gathers its members, as it does on
overlapping windows), one row of counts per level-0 type, and the root type of every row. Unlike
the search's subtree DAG (:mod:`advisor.search.subtree_dag`), which keys a node by the
*multiset* of its children and sums each distinct child times its count (equal up to roundoff,
not bit for bit), this keeps the order, so the figures are those of the recurrence on every
location. (A wide window's numpy reduction adds in an order that follows the memory layout too;
:func:`~advisor.seprank.tree.log2_min_cuts` interns only where the layouts agree: a tree, one
width vector.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.arrays import distinct_rows, ranked_keys
from advisor.seprank.levels import LeafCounts, Levels

__all__ = ["InternedTree", "intern_subtrees"]

_MOST_DISTINCT: Final = 0.5
"""Interning stops once the levels above the first keep more than this share of their nodes
distinct. With 16 random masks at 128x128 level 1 keeps 62% (the best pick's analysis took 4.6
ms on every node, 6.3 interned to the end, 5.4 stopping after level 1); the box correlations of
the benchmark tasks keep a handful of types per level (4 at every level of the 1024x1024 pick)."""


@dataclass(frozen=True)
class InternedTree:
    """The distinct subtrees of a labelled structure (module docstring).

    Attributes
    ----------
    levels
        The interned windows: ``levels.windows[l]`` for ``l >= 1`` lists, per type at height
        ``l + 1``, its children's types at height ``l`` in window order; ``levels.windows[0]`` is
        the structure's own level 0, of which only the arity is read (level-0 types come as
        counts).
    counts
        ``(1, T_1)``: the A and B leaves of each level-0 type.
    roots
        ``(C,)``: the root's type for each row of the labels (a node of the top level).
    """

    levels: Levels
    counts: LeafCounts
    roots: npt.NDArray[np.intp]


def intern_subtrees(levels: Levels, counts: LeafCounts) -> InternedTree | None:
    """Intern the labelled subtrees of a structure from its level-0 window counts.

    ``levels`` and ``counts`` are the structure's (:meth:`Levels.of`, :func:`leaf_counts`): the
    counts are where the recurrence starts either way. Return None when the subtrees barely
    repeat: once the levels above the first keep more than :data:`_MOST_DISTINCT` of their
    nodes distinct, the recurrence on every node (strided views) is cheaper than interning
    the rest and running on gathers.

    Examples
    --------
    Two halves of a 4-location sequence under contiguous size-2 pooling: the first window is
    A A, the second B B (two level-0 types: B B is type 0), joined by the root window in
    one order or the other.

    >>> from advisor.geometry.structure import PoolingStructure
    >>> from advisor.seprank.levels import leaf_counts
    >>> structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    >>> labels = np.array([[1, 1, 2, 2], [2, 2, 1, 1], [1, 1, 2, 2], [1, 1, 2, 2]], np.int8)
    >>> levels = Levels.of(structure)
    >>> tree = intern_subtrees(levels, leaf_counts(structure, levels, labels))
    >>> tree.counts.in_a.tolist(), tree.counts.in_b.tolist()
    ([[0, 2]], [[2, 0]])
    >>> tree.levels.windows[1].tolist(), tree.roots.tolist()
    ([[1, 0], [0, 1]], [0, 1, 0, 0])

    The four rows' roots are two distinct subtrees (half the top level's nodes): interned. Two
    rows with distinct roots are not.

    >>> intern_subtrees(levels, leaf_counts(structure, levels, labels[:2])) is None
    True
    """
    rows = counts.in_a.shape[0]
    base = levels.arities[0] + 1
    keys = counts.in_a.astype(np.int64) * base + counts.in_b
    distinct, types = ranked_keys(keys.reshape(-1))
    type_counts = LeafCounts(*(part.astype(np.int32)[None] for part in divmod(distinct, base)))
    num_types = distinct.size
    windows = [levels.windows[0]]
    kept = nodes = 0
    for level in range(1, len(levels.windows)):
        children = levels.grouped(types.reshape(rows, -1), level)
        distinct_children, types = distinct_rows(
            children.reshape(-1, levels.arities[level]), num_types
        )
        num_types = distinct_children.shape[0]
        kept, nodes = kept + num_types, nodes + types.size
        if kept > _MOST_DISTINCT * nodes:
            return None
        windows.append(distinct_children.astype(np.intp))
    roots: npt.NDArray[np.intp] = types.reshape(rows, -1)[:, 0].astype(np.intp)
    return InternedTree(Levels(windows, in_order=False), type_counts, roots)
