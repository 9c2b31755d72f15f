"""A mixture's figures for :func:`advisor.seprank.analysis.analyze` (docs/THEORY.md §15).

- ``log2_min_cut``: the bound of :mod:`advisor.seprank.mixture`, an upper bound on the generic
  rank with shared weights or without; ``log2_separation_rank``: the same, capped where the
  members are summed at the root only by the sum of their shared-weight bounds
  (:func:`~advisor.seprank.mixture.log2_mixture_figure`), a bound on the rank with shared weights.
- ``tight`` (for mixtures with at most 256 hybrids) when every channel count (M included) is a
  power of one integer and the reported figure equals the largest plain min-cut of a hybrid tree
  whose shared-weight bound is the same: that hybrid's rank is the figure for per-location
  weights [LYCS18 Thm 2], the mixture can compute the hybrid, and the figure caps it, so the
  figure is the mixture's rank, with the same caveat for shared weights as a tight tree.
- ``members``: every member's own figure (its tree alone, at its widths and the mixture's M), with
  the certificate a tree's figure gets; the mixture computes each member alone (the hybrid that
  takes one member at every stretch), so these say which member carries each correlation.
- ``exact`` certification contracts the mixture itself (:mod:`advisor.seprank.mixture_exact`):
  its rank is the mixture's generic rank, as the exact engine's is a tree's, so it is the figure,
  below the bound or at it. Each member's figure is then its tree's exact rank (the exact
  engine on that tree, shared weights): a member's bound, even a ``tight`` one, can be above
  its shared-weight rank (docs/THEORY.md §5), and an exact analysis prints no bound as a rank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from advisor.errors import StoppedError
from advisor.model.architecture import Architecture
from advisor.model.regions import ResolvedCorrelation
from advisor.seprank.engines import ENGINES
from advisor.seprank.labels import LabelRows
from advisor.seprank.mixture import (
    hybrid_structures,
    log2_member_cuts,
    log2_mixture_bound,
    log2_mixture_figure,
    mixture_structure,
)
from advisor.seprank.mixture_exact import check_mixture_exact_limits, mixture_exact_rank
from advisor.seprank.siblings import SAME
from advisor.seprank.tree import MinCuts, log2_min_cuts
from advisor.stopping import StopSignal

__all__ = ["MemberBounds", "MixtureBounds"]

MemberBounds = tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]
"""One member's shared-weight figure per correlation, and whether each is ``tight``."""


_CERTIFIER = ENGINES["exact"]
"""The engine that certifies a member tree's figure, as the analysis certifies a tree's."""

_HYBRIDS = 256
"""Most hybrid trees tried for a ``tight`` certificate; beyond, figures stay ``upper_bound``."""


class MixtureBounds:
    """The figures of an architecture with a ``mixture``."""

    exact_is_rank = True
    """The exact contraction is the mixture's rank: its members are trees (no overlaps)."""

    def __init__(
        self, architecture: Architecture, tight_widths: bool, member_tight_widths: Sequence[bool]
    ) -> None:
        """Build the structure; ``tight_widths``: all channels are powers of one integer.

        ``member_tight_widths``: per member, whether its own channels and M are.
        """
        self.structure = mixture_structure(architecture)
        self.powers = tight_widths
        self.member_powers = tuple(member_tight_widths)

    def check_exact_limits(self, labels: npt.NDArray[np.int8]) -> None:
        """Refuse, on field ``exact``, correlations too large for the exact contractions.

        The mixture's, and each member tree's (:meth:`log2_member_exact_ranks`).
        """
        check_mixture_exact_limits(self.structure, labels)
        structure = self.structure
        for member, widths in zip(structure.members, structure.widths, strict=True):
            _CERTIFIER.check_limits(member, labels, widths, structure.representation)

    def figures(
        self,
        correlations: Sequence[ResolvedCorrelation],
        rows: LabelRows,
        stop: StopSignal | None,
    ) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_], list[MemberBounds]
    ]:
        """Return the bound, the figure, whether each is tight, and the members' figures.

        See the module docstring.
        """
        if stop is not None and stop.remaining() <= 0.0:
            raise StoppedError("the analysis was stopped before it finished")
        structure = self.structure
        labels = rows(correlations)
        bound = log2_mixture_bound(structure, labels)
        members = log2_member_cuts(
            structure, labels, structure.representation, structure.widths, self.member_powers
        )
        figure = log2_mixture_figure(structure, bound, [cuts.shared for cuts in members])
        tight = np.zeros(len(labels), dtype=bool)
        if self.powers and len(structure.members) ** len(structure.mixing) <= _HYBRIDS:
            log2_m = math.log2(structure.representation)
            for _, hybrid, widths in hybrid_structures(structure):
                log2_widths = np.log2(np.asarray(widths, dtype=np.float64))
                cuts = log2_min_cuts(hybrid, labels, log2_widths, log2_m, siblings=True)
                tight |= (np.abs(cuts.plain - figure) < SAME) & cuts.tight(True)
        return bound, figure, tight, _member_bounds(members, self.member_powers)

    def log2_exact_rank(self, row: npt.NDArray[np.int8]) -> float:
        """Return the log2 exact rank of the mixture on one ``(1, N)`` row of labels."""
        return math.log2(mixture_exact_rank(self.structure, row[0]))

    def log2_member_exact_ranks(self, row: npt.NDArray[np.int8]) -> list[float]:
        """Return each member tree's log2 exact rank (shared weights) on one ``(1, N)`` row."""
        structure = self.structure
        return [
            float(
                _CERTIFIER.compute(
                    member, row, widths, structure.representation, shared_weights=True
                )[0]
            )
            for member, widths in zip(structure.members, structure.widths, strict=True)
        ]


def _member_bounds(members: Sequence[MinCuts], powers: Sequence[bool]) -> list[MemberBounds]:
    """Return each member's figures alone: its tree's, as the analysis of that tree gives them.

    The shared-weight min-cut of the member's tree at its own widths and the mixture's M, and
    ``tight`` where the tree's figure would be (:meth:`~advisor.seprank.tree.MinCuts.tight`;
    ``powers``, per member: its channel counts, M included, are powers of one integer, and its
    ``members`` cuts found the siblings where so).
    """
    return [(cuts.shared, cuts.tight(own)) for cuts, own in zip(members, powers, strict=True)]
