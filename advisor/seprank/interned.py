"""The distinct labelled subtrees of a pooling structure, in window order: what the engine runs on.

The tree recurrence (:mod:`advisor.seprank.tree`) computes a node's figures from its children's
alone, by the same operations at every node of a level: level-0 nodes from how many of their
leaves lie in A and in B (integer counts), higher ones from their children's figures added in
window order. So two nodes whose subtrees carry the same labels in the same window order get the
same figures *to the last bit*, and the recurrence needs to run once per distinct such subtree.
On a task of box regions most subtrees repeat (inside a region, all free, one period of a
stripe), so a million-location tree holds a few thousand distinct ones.

Subtrees are interned level by level, jointly over every row of the labels (a type is one id
for all rows): a level-0 node's type is its pair of counts, a higher node's the ordered tuple of
its children's types. The interned levels are then a pooling structure whose level-``l``
windows list the distinct ordered children of each type at height ``l + 1`` (a DAG: a type
feeds every window it occurs in, so the recurrence gathers its members, as it does on
overlapping windows), one row of counts per level-0 type, and the root type of every row. Unlike
the search's subtree DAG (:mod:`advisor.search.subtree_dag`), which keys a node by the
*multiset* of its children and sums each distinct child times its count (equal up to roundoff,
not bit for bit), this keeps the order, so the figures are those of the recurrence on every
location.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from advisor.arrays import distinct_rows, ranked_keys
from advisor.geometry.structure import PoolingStructure
from advisor.seprank.levels import LeafCounts, Levels, leaf_counts

__all__ = ["InternedTree", "intern_subtrees"]


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


def intern_subtrees(structure: PoolingStructure, labels: npt.NDArray[np.int8]) -> InternedTree:
    """Intern the labelled subtrees of ``structure`` under every row of ``labels`` (``(C, N)``).

    Examples
    --------
    Two halves of a 4-location sequence under contiguous size-2 pooling: the first window is
    A A, the second B B (two level-0 types: B B is type 0), joined by the root window in
    one order or the other.

    >>> structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    >>> tree = intern_subtrees(structure, np.array([[1, 1, 2, 2], [2, 2, 1, 1]], dtype=np.int8))
    >>> tree.counts.in_a.tolist(), tree.counts.in_b.tolist()
    ([[0, 2]], [[2, 0]])
    >>> tree.levels.windows[1].tolist(), tree.roots.tolist()
    ([[1, 0], [0, 1]], [0, 1])
    """
    levels = Levels.of(structure)
    counts = leaf_counts(structure, levels, labels)
    rows = labels.shape[0]
    base = levels.arities[0] + 1
    keys = counts.in_a.astype(np.int64) * base + counts.in_b
    distinct, types = ranked_keys(keys.reshape(-1))
    type_counts = LeafCounts(*(part.astype(np.int32)[None] for part in divmod(distinct, base)))
    num_types = distinct.size
    windows = [structure.windows[0]]
    for level in range(1, structure.depth):
        children = levels.grouped(types.reshape(rows, -1), level)
        distinct_children, types = distinct_rows(
            children.reshape(-1, levels.arities[level]), num_types
        )
        windows.append(distinct_children.astype(np.intp))
        num_types = distinct_children.shape[0]
    roots: npt.NDArray[np.intp] = types.reshape(rows, -1)[:, 0].astype(np.intp)
    return InternedTree(Levels(windows, in_order=False), type_counts, roots)
