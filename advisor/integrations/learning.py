"""Learning from results: re-rank the advisor's remaining proposals from observed objectives.

The advisor ranks designs by one fixed weighting of the task's correlations. Once a few of its
designs have been trained, the observed objective values say which correlations matter for this
task and dataset: a ridge regression of the values on each design's per-correlation coupling (its
log2 separation rank as a fraction of the largest any proposal reaches) fits one weight per
correlation, and the designs not yet tried are reordered by the fitted prediction. Ties keep the
advisor's order, so with no information (fewer than two distinct values) nothing moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.model.results import Recommendation

__all__ = ["RIDGE", "coupling_features", "log2_ranks", "rerank", "rerank_ranks"]

RIDGE: Final = 0.1
"""Ridge penalty on the per-correlation weights (features are in [0, 1]): with fewer observations
than correlations the fit stays near zero instead of interpolating noise."""


def coupling_features(designs: Sequence[Recommendation]) -> npt.NDArray[np.float64]:
    """Return (designs, correlations): each log2 rank as a fraction of the largest proposed."""
    return _fractions(log2_ranks(designs))


def log2_ranks(designs: Sequence[Recommendation]) -> list[tuple[float, ...]]:
    """Return each design's log2 separation rank on each correlation: all the features read.

    What a caller keeps of the designs to re-rank them later (:func:`rerank_ranks`), rather
    than each one's whole analysis.
    """
    return [tuple(c.log2_separation_rank for c in design.analysis) for design in designs]


def _fractions(ranks: Sequence[Sequence[float]]) -> npt.NDArray[np.float64]:
    """Return :func:`coupling_features` of the designs whose :func:`log2_ranks` are ``ranks``."""
    array = np.array(ranks, dtype=float)
    largest = array.max(axis=0, initial=0.0)
    features: npt.NDArray[np.float64] = np.divide(
        array, largest, out=np.ones_like(array), where=largest > 0
    )
    return features


def rerank(
    designs: Sequence[Recommendation],
    remaining: Sequence[int],
    observed: Mapping[int, float],
    *,
    maximize: bool = True,
) -> list[int]:
    """Return ``remaining`` (indices into ``designs``) best-predicted first.

    Parameters
    ----------
    designs
        The advisor's proposals, in its order.
    remaining
        Indices of the proposals not tried yet, in their current order.
    observed
        Objective value of each tried proposal, by index.
    maximize
        Whether larger objective values are better.
    """
    return rerank_ranks(log2_ranks(designs), remaining, observed, maximize=maximize)


def rerank_ranks(
    ranks: Sequence[Sequence[float]],
    remaining: Sequence[int],
    observed: Mapping[int, float],
    *,
    maximize: bool = True,
) -> list[int]:
    """Return :func:`rerank` of the proposals whose :func:`log2_ranks` are ``ranks``.

    For a caller that keeps only these of its proposals (the Katib sequence, which keeps many).
    """
    values = np.array(list(observed.values()), dtype=float)
    if len(values) < 2 or np.ptp(values) == 0:
        return list(remaining)
    features = _fractions(ranks)
    seen = features[list(observed)]
    centred = seen - seen.mean(axis=0)
    gram = centred.T @ centred + RIDGE * np.eye(features.shape[1])
    weights = np.linalg.solve(gram, centred.T @ (values - values.mean()))
    predicted = [float(p) for p in np.round(features[list(remaining)] @ weights, 12)]
    sign = -1.0 if maximize else 1.0
    order = sorted(range(len(remaining)), key=lambda i: (sign * predicted[i], i))
    return [remaining[i] for i in order]
