"""A mixture's figures for :func:`advisor.seprank.analysis.analyze` (docs/THEORY.md §15).

- ``log2_separation_rank`` = ``log2_min_cut``: the bound of :mod:`advisor.seprank.mixture`, an
  upper bound on the generic rank with shared weights or without.
- ``tight`` (for mixtures with at most 256 hybrids) when every channel count (M included) is a
  power of one integer and the bound equals the largest plain min-cut of a hybrid tree whose
  shared-weight bound is the same: that hybrid's rank is the figure for per-location weights
  [LYCS18 Thm 2], the mixture can compute the hybrid, and the bound caps it, so the figure is the
  mixture's rank for per-location weights, with the same caveat for shared weights as a tight
  tree.
- ``exact`` certification contracts the mixture itself (:mod:`advisor.seprank.mixture_exact`):
  its rank is the mixture's generic rank, as the exact engine's is a tree's, so it is the figure,
  below the bound or at it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from advisor.errors import StoppedError
from advisor.model.architecture import Architecture
from advisor.model.regions import ResolvedCorrelation
from advisor.seprank.labels import LabelRows
from advisor.seprank.mixture import hybrid_structures, log2_mixture_bound, mixture_structure
from advisor.seprank.mixture_exact import check_mixture_exact_limits, mixture_exact_rank
from advisor.seprank.siblings import SAME
from advisor.seprank.tree import log2_min_cuts
from advisor.stopping import StopSignal

__all__ = ["MixtureBounds"]


_HYBRIDS = 256
"""Most hybrid trees tried for a ``tight`` certificate; beyond, figures stay ``upper_bound``."""


class MixtureBounds:
    """The figures of an architecture with a ``mixture``."""

    exact_is_rank = True
    """The exact contraction is the mixture's rank: its members are trees (no overlaps)."""

    def __init__(self, architecture: Architecture, tight_widths: bool) -> None:
        """Build the structure; ``tight_widths``: all channels are powers of one integer."""
        self.structure = mixture_structure(architecture)
        self.powers = tight_widths

    def check_exact_limits(self, labels: npt.NDArray[np.int8]) -> None:
        """Refuse, on field ``exact``, correlations too large for the exact contraction."""
        check_mixture_exact_limits(self.structure, labels)

    def figures(
        self,
        correlations: Sequence[ResolvedCorrelation],
        rows: LabelRows,
        stop: StopSignal | None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Return the bound (as both figures) and whether each is tight (module docstring)."""
        if stop is not None and stop.remaining() <= 0.0:
            raise StoppedError("the analysis was stopped before it finished")
        labels = rows(correlations)
        bound = log2_mixture_bound(self.structure, labels)
        tight = np.zeros(len(labels), dtype=bool)
        if self.powers and len(self.structure.members) ** len(self.structure.mixing) <= _HYBRIDS:
            log2_m = math.log2(self.structure.representation)
            for _, hybrid, widths in hybrid_structures(self.structure):
                log2_widths = np.log2(np.asarray(widths, dtype=np.float64))
                cuts = log2_min_cuts(hybrid, labels, log2_widths, log2_m, siblings=True)
                plain, shared = cuts.plain, cuts.shared
                attained = (np.abs(plain - bound) < SAME) & (np.abs(shared - plain) < SAME)
                tight |= attained & ~cuts.uncharged
        return bound, bound, tight

    def log2_exact_rank(self, row: npt.NDArray[np.int8]) -> float:
        """Return the log2 exact rank of the mixture on one ``(1, N)`` row of labels."""
        return math.log2(mixture_exact_rank(self.structure, row[0]))
