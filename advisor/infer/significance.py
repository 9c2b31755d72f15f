"""Which dependence a sample can tell from independence: the least weight that is evidence.

Every sample of independent locations shows some dependence: ``|r|`` of two independent
locations is of order ``1/sqrt(samples)`` (0.018 at 3,000 samples), and the dependence graph
keeps each location's strongest pairs, so on data without structure it holds only the largest of
that noise. Task inference must not read structure into it. An edge is evidence when its weight
exceeds what independent locations reach with probability :data:`FAMILY_ALPHA` over *every* pair
of the grid (a Bonferroni bound on the family of ``n (n - 1) / 2`` pairs, since the graph picks
the largest of them).

For one channel, ``sqrt(samples) * r`` of independent locations is asymptotically standard
normal, so the threshold is ``z / sqrt(samples)`` with ``z`` the normal quantile of
``1 - alpha / (2 * pairs)``. With ``C`` channels the weight is ``sqrt(RV)``
(:mod:`advisor.infer.dependence`), and ``samples * w^2`` of independent locations is
asymptotically ``sum_k c_k Z_k^2``, standard normals ``Z_k`` weighted by products of the two
locations' channel-correlation eigenvalues with ``sum_k c_k^2 = 1``; its tail is heaviest when
one weight holds everything (channels that move as one), the one-channel case. So the same
threshold holds for any channels: conservative where they are less correlated.

The threshold is not capped at 1, the largest weight: at ``z / sqrt(samples)`` above 1 the sample
is too small for any weight to be evidence (:func:`least_samples`). Capped, a perfect ``|r| = 1``
would count, and every pair of two samples has it: a task read from pure noise.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Final

__all__ = ["FAMILY_ALPHA", "independence_threshold", "least_samples"]

FAMILY_ALPHA: Final = 0.05
"""The chance that independent locations put any edge of the grid above the threshold."""


def independence_threshold(samples: float, locations: int, alpha: float = FAMILY_ALPHA) -> float:
    """Return the least dependence weight that is evidence (module docstring), above 0.

    Independent locations put one edge or more of a grid of ``locations`` above it with
    probability ``alpha`` at most (asymptotically in ``samples``). Above 1 no weight reaches it:
    fewer than :func:`least_samples` samples cannot tell dependence from independence. A grid of
    one location has no pairs: 1.0. ``samples`` counts independent samples: for a sample with
    repeats, the effective size of its distinct ones
    (:attr:`~advisor.infer.graph.DependenceGraph.independent_samples`), which may be fractional
    and is at least 1.

    Examples
    --------
    >>> round(independence_threshold(3000, 256), 4), round(independence_threshold(3000, 2), 4)
    (0.0878, 0.0358)
    """
    if samples < 1 or not 0.0 < alpha < 1.0:
        raise ValueError(f"need samples >= 1 and 0 < alpha < 1, got {samples} and {alpha}")
    pairs = locations * (locations - 1) // 2
    if pairs == 0:
        return 1.0
    return _quantile(locations, alpha) / math.sqrt(samples)


def least_samples(locations: int, alpha: float = FAMILY_ALPHA) -> int:
    """Return the fewest samples whose :func:`independence_threshold` some weight can reach.

    The threshold ``z / sqrt(samples)`` is under 1, the largest weight, from ``samples > z^2``
    on: 18 for an 8x8 grid, 40 for 128x128.

    Examples
    --------
    >>> least_samples(64), least_samples(128 * 128)
    (18, 40)
    """
    return math.floor(_quantile(locations, alpha) ** 2) + 1


def _quantile(locations: int, alpha: float) -> float:
    """Return ``z``: the upper normal quantile of ``alpha`` over the grid's pairs, both tails."""
    pairs = max(1, locations * (locations - 1) // 2)
    return -NormalDist().inv_cdf(alpha / (2.0 * pairs))  # the upper quantile, exact for tiny tails
