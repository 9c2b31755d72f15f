"""How soon a pooling tree pools a correlation's two sides together: a tie-break of the search.

At the budgets the search works at, the ranks of small or nearby regions saturate: several
geometries reach every target and the score cannot tell them apart. Trained nets can. In a
max-pooling network a location's evidence passes one pooling level after another until its window
holds a location of the other side, and every level it passes alone keeps only what the channels
carry of it. On the trained-outcome benchmark's held-out ``sequence-shift`` task the eight tied
picks trained in the order of that count: the net whose windows meet at the first level 94%, one
level later 87%, two 77%, three 69% (docs/OUTCOMES.md). So among designs equal on every key of the
score the search ranks first the tree whose correlated locations meet soonest (docs/THEORY.md
§17), after the relations of :mod:`advisor.search.coherence` and before the listing order; the
count is not a factor of the score, where it ranked the pools' other nets worse.

The count is read off the tree's :class:`~advisor.search.subtree_dag.SubtreeDag`, one pass over
its distinct subtree types: a cost independent of the number of locations.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from advisor.search.subtree_dag import LEAF_TYPES, SubtreeDag
from advisor.seprank.labels import SIDE_A, SIDE_B

__all__ = ["levels_apart"]

_Floats = npt.NDArray[np.float64]


def levels_apart(dag: SubtreeDag, weights: npt.NDArray[np.float64]) -> float:
    """Return how many pooling levels a correlated location passes before meeting the other side.

    For each correlation of ``dag``, the mean over the locations of A and B of the number of
    levels below the first window that holds locations of both sides (0 when the first level's
    window does); the result is their mean under ``weights`` (summing to 1). The last level is
    global, so every location meets there at the latest: the figure lies in ``[0, depth - 1]``.

    Bottom-up over the types: a type's A and B leaves are its children's, times their
    multiplicities; its *unmet* count adds to its children's the leaves it holds when it holds
    only one side. A root's unmet count is then the sum, over its correlation's locations, of
    the levels each passed alone.
    """
    sides: _Floats = np.zeros((LEAF_TYPES, 2))
    sides[SIDE_A, 0] = sides[SIDE_B, 1] = 1.0
    unmet: _Floats = np.zeros(LEAF_TYPES)
    for level in dag.levels:
        below, sides = level.summed(unmet), level.summed(sides)
        in_a, in_b = sides[:, 0], sides[:, 1]
        unmet = below + np.where((in_a > 0) & (in_b > 0), 0.0, in_a + in_b)
    roots = dag.roots
    passed = unmet[roots] / sides[roots].sum(axis=1)
    return float(passed @ weights)
