"""An IGTD-style greedy baseline arrangement [Zhu et al., Sci. Rep. 11, 11325 (2021)].

IGTD places features on a grid so that the ranking of feature distances matches the ranking of
pixel distances: it minimises ``sum_{i<j} |R_f(i, j) - R_p(pos_i, pos_j)|`` (``R``: the rank of a
distance among all pairs) by greedy swaps. Here the feature distance is ``1 - |r|`` (Pearson,
training split), the pixel distance Euclidean on the grid; each sweep visits every feature and
makes the swap (with any other feature, or :data:`CANDIDATES` random ones on larger grids) that
lowers the error most, for :data:`SWEEPS` sweeps or until none does. This is a simplified
re-implementation for the comparison, not the authors' code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["igtd_arrangement"]

SWEEPS: Final = 3
CANDIDATES: Final = 64

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]


def _ranks(distances: _Floats) -> _Floats:
    """Rank of each off-diagonal entry among the upper triangle (symmetric result)."""
    n = distances.shape[0]
    upper = np.triu_indices(n, 1)
    order = np.argsort(distances[upper], kind="stable")
    ranks = np.empty(order.size)
    ranks[order] = np.arange(order.size)
    result = np.zeros((n, n))
    result[upper] = ranks
    return result + result.T


def igtd_arrangement(correlations: _Floats, shape: Sequence[int], seed: int = 0) -> _Ints:
    """Return the permutation (position p holds feature ``[p]``) IGTD-style swaps find."""
    n = correlations.shape[0]
    rng = np.random.default_rng(seed)
    feature = _ranks(1 - np.abs(correlations))
    coords = np.stack(np.unravel_index(np.arange(n), tuple(shape)), axis=1).astype(np.float64)
    pixel = _ranks(np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(axis=2)))
    position = np.arange(n)  # position[f]: the pixel of feature f
    for _ in range(SWEEPS):
        improved = False
        for f in rng.permutation(n):
            others = (
                np.arange(n) if n <= 4 * CANDIDATES else rng.choice(n, CANDIDATES, replace=False)
            )
            others = others[others != f]
            delta = _swap_deltas(feature, pixel, position, f, others)
            best = int(np.argmin(delta))
            if delta[best] < -1e-9:
                g = others[best]
                position[f], position[g] = position[g], position[f]
                improved = True
        if not improved:
            break
    permutation = np.empty(n, dtype=np.int64)
    permutation[position] = np.arange(n)
    return permutation


def _swap_deltas(
    feature: _Floats, pixel: _Floats, position: _Ints, f: int, others: _Ints
) -> _Floats:
    """Change of the error for swapping the pixels of ``f`` and each of ``others``."""
    placed = pixel[position][:, position]  # placed[a, b]: pixel rank between features a and b
    old = np.abs(feature[f] - placed[f])[None, :] + np.abs(feature[others] - placed[others])
    new_f = np.abs(feature[f][None, :] - pixel[position[others]][:, position])
    new_g = np.abs(feature[others] - pixel[position[f]][position][None, :])
    delta = new_f + new_g - old
    # The pair (f, g) itself keeps its distance; columns f and g were counted on both rows.
    rows = np.arange(others.size)
    delta[rows, f] = 0.0
    delta[rows, others] = 0.0
    return np.asarray(delta.sum(axis=1), dtype=np.float64)
