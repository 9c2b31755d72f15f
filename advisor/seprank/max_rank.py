"""The largest separation rank a correlation's regions allow a network, whatever its weights.

The network is a polynomial in the representation's M features of every location, and in those
of one location it is homogeneous of degree d, the number of times the location enters the
unrolled pooling tree (docs/THEORY.md §8): 1 on a tree, more where windows overlap. As a
function of side A's locations it lies in the product over them of the degree-d_i symmetric
powers of R^M, so its rank is at most

    min( prod_{i in A} C(M + d_i - 1, d_i),  prod_{i in B} C(M + d_i - 1, d_i) ),

the dimension bound ``M^min(|A|, |B|)`` on a tree. A location outside both regions, a padded
one included, contributes a fixed factor. A network whose windows overlap can exceed the
dimension bound (a location's features enter it more than once); never this one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import Architecture
from advisor.model.grid import padded_ids
from advisor.model.regions import ResolvedCorrelation
from advisor.seprank.tree import log2_symmetric_powers

__all__ = ["log2_max_ranks", "unrolled_degrees"]


def log2_max_ranks(
    correlations: Sequence[ResolvedCorrelation],
    architecture: Architecture,
    structure: PoolingStructure | None,
) -> npt.NDArray[np.float64]:
    """Return log2 of the largest rank each correlation's regions allow (module docstring).

    ``structure`` is the network's windows when they may overlap; None, or a tree, gives the
    dimension bound ``min(|A|, |B|) log2 M`` as it always was (a mixture's members are trees).
    """
    log2_m = math.log2(architecture.representation)
    if structure is None or structure.is_tree:
        return np.array([min(c.a_size, c.b_size) * log2_m for c in correlations], dtype=np.float64)
    distinct, inverse = np.unique(unrolled_degrees(structure), return_inverse=True)
    per_degree = log2_symmetric_powers(np.array([log2_m]), distinct.astype(np.int64))[:, 0]
    per_location = per_degree[inverse]
    shape, padding = architecture.input.shape, architecture.padding
    return np.array(
        [
            min(
                float(per_location[padded_ids(c.a, shape, padding)].sum()),
                float(per_location[padded_ids(c.b, shape, padding)].sum()),
            )
            for c in correlations
        ],
        dtype=np.float64,
    )


def unrolled_degrees(structure: PoolingStructure) -> npt.NDArray[np.float64]:
    """Return how many times each location enters the unrolled tree of ``structure``.

    The root enters once; a node enters as many times as the windows of the level above that
    pool it enter, summed. Counted as floats: deep overlaps multiply the counts.
    """
    counts: npt.NDArray[np.float64] = np.ones(1, dtype=np.float64)
    for level in range(structure.depth - 1, -1, -1):
        windows = structure.windows[level]
        below = structure.num_locations if level == 0 else structure.windows[level - 1].shape[0]
        weights = np.repeat(counts, windows.shape[1])
        counts = np.bincount(windows.reshape(-1), weights=weights, minlength=below).astype(
            np.float64
        )
    return counts
