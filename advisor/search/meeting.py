"""How soon a pooling tree pools a correlation's two sides together: the search's last tie-break.

At the budgets the search works at, the ranks of small or nearby regions saturate: several
geometries reach every target and the score cannot tell them apart. Trained nets can. In a
max-pooling network a location's evidence passes one pooling level after another until its window
holds a location of the other side, and every level it passes alone keeps only what the channels
carry of it. On the trained-outcome benchmark's held-out ``sequence-shift`` task the eight tied
picks trained in the order of that count: the net whose windows meet at the first level 94%, one
level later 87%, two 77%, three 69% (docs/OUTCOMES.md). So among designs equal on every key of the
score the search ranks first the tree whose correlated locations meet soonest (docs/THEORY.md
§17); the count is not a factor of the score, where it ranked the pools' other nets worse.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from advisor.geometry.structure import PoolingStructure
from advisor.seprank.levels import Levels, leaf_counts

__all__ = ["levels_apart"]


def levels_apart(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    weights: npt.NDArray[np.float64],
) -> float:
    """Return how many pooling levels a correlated location passes before meeting the other side.

    For each correlation (a row of ``labels``, :mod:`advisor.seprank.labels`), the mean over the
    locations of A and B of the number of levels below the first window that holds locations of
    both sides (0 when the first level's window does); the result is their mean under
    ``weights`` (summing to 1). The last level is global, so every location meets there at the
    latest: the figure lies in ``[0, depth - 1]``.
    """
    levels = Levels.of(structure)
    counts = leaf_counts(structure, levels, labels)
    in_a, in_b = counts.in_a.astype(np.int64), counts.in_b.astype(np.int64)
    located = in_a.sum(axis=1) + in_b.sum(axis=1)
    passed = np.zeros(labels.shape[0])
    for level in range(structure.depth - 1):
        met = np.where((in_a > 0) & (in_b > 0), in_a + in_b, 0).sum(axis=1)
        passed += 1.0 - met / located
        in_a, in_b = (levels.window_sum(side, level + 1) for side in (in_a, in_b))
    return float(passed @ weights)
