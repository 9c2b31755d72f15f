"""The search objective: how per-correlation separation ranks become one comparable score.

A correlation's log2 separation rank counts only up to a **target**: rank the task cannot use buys
nothing (docs/THEORY.md §11, §13). A free search's target of a correlation (A, B) is its dimension
bound at the largest representation the search may choose,

    target = min(|A|, |B|) * log2(max channel choice),

the most any network in the search space could give it (docs/THEORY.md §2: the matricization has at
most M^min(|A|,|B|) rows or columns); a practical search's is the best any recommendable net
reaches at the budget (:mod:`advisor.search.targets`). ``log2_rank_target`` replaces it by one
figure for every correlation (still capped by that bound). Each correlation then scores the
**fraction of its target reached**, ``min(rank, target) / target`` in [0, 1], so a correlation
between two pixels and one between two half-images count on the same scale and the weights alone
say which matters more.

- ``weighted`` (default): the weighted mean of the fractions (weights normalised to sum to 1).
- ``maximin``: the smallest fraction, ties broken by the weighted mean.

Scores are compared as tuples (:attr:`Objective.num_keys` entries, larger is better), rounded to
12 decimals so that sums taken in different orders compare equal. A practical search's objective
holds the parameter budget (:attr:`Objective.max_parameters`; a free search's does not): its
tuple ends with the share of the budget used, so among designs that score alike the one that
spends more of the budget ranks first; the share does not scale the score: the parameter count
did not rank trained accuracy (docs/OUTCOMES.md), and the targets already reward width where it
buys rank. Remaining ties, in every search, go to fewer parameters, then to the tree whose
correlated locations meet soonest (docs/THEORY.md §17; the search's rules, not this module's,
:mod:`advisor.search.board`).

A practical search's objective also scales each score by two figures of the tree alone, whatever
its widths: the arrangement its pooling windows discard (:mod:`advisor.model.arrangement`), and
how alike and how soon it meets the relations the description states
(:mod:`advisor.search.coherence`), each against the best any recommendable tree reaches. The
coherence weighs only the share of the description's weight its relations explain: a light
correlation stated as a mirror beside heavier ones no shift or mirror explains does not decide
the geometry alone. The arrangement weighs at :data:`ARRANGEMENT_WEIGHT`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.model.budget import ObjectiveKind, scaled_parameters

__all__ = ["ARRANGEMENT_WEIGHT", "Objective", "ObjectiveKind", "default_targets", "normalised"]

_DECIMALS: Final = 12
"""Decimals scores (and fractions compared for the binding correlation) are rounded to."""

ARRANGEMENT_WEIGHT: Final = 1.0
"""The exponent of the share of arrangements a tree still tells apart in its score.

A practical score is scaled by ``2^-(ARRANGEMENT_WEIGHT * (d - d_min))`` (:meth:`Objective.
arrangement_factor`): the share, per location, of the arrangements the least-discarding tree
tells apart that this tree still tells apart, at weight 1. The share is a model of the exported
max-pool nets, not a theorem (docs/THEORY.md §16), and its weight is set by the trained-outcome
benchmark (docs/OUTCOMES.md, six epochs of plain max-pool nets): 1/2 was adopted on 2026-12-05 by
a rule fixed before an eleventh held-out set was queried (the weight of 1 had ranked the deepest
tree first where a tree with a larger top window trained better); the three sets added after it
picked better at 1 (7 of 9 tasks within one std against 4), and by the same rule, fixed before
the fourteenth set was queried, 1 was re-adopted (33 of 48 tasks against 31, at the same mean
tau; the margin from sets known when the rule was written, the fourteenth alone tied). The
evidence between the two weights is mixed (docs/OUTCOMES.md): the #1s differ on 25 of the 48
tasks, weight 1's training worse on 16 and better on 9.
"""

_Floats = npt.NDArray[np.float64]


def default_targets(
    smaller_sides: Sequence[int], max_channels: int, log2_rank_target: float | None = None
) -> _Floats:
    """Per-correlation log2 rank targets (see the module docstring).

    Parameters
    ----------
    smaller_sides
        ``min(|A|, |B|)`` of each correlation.
    max_channels
        The largest channel choice (the largest M the search may pick); at least 2.
    log2_rank_target
        An explicit target for every correlation, or None for the dimension bound alone.
    """
    bound: _Floats = np.asarray(smaller_sides, dtype=np.float64) * math.log2(max_channels)
    if log2_rank_target is not None:
        bound = np.minimum(bound, log2_rank_target)
    return bound


def normalised(weights: npt.ArrayLike) -> _Floats:
    """Return positive ``weights`` scaled to sum to 1.

    Scaled by a power of two first (exact), so weights near the float range (1e308) do not
    overflow their sum.
    """
    array = np.asarray(weights, dtype=np.float64)
    _, exponent = np.frexp(array.max())
    scaled = np.ldexp(array, -int(exponent))
    result: _Floats = scaled / scaled.sum()
    return result


@dataclass(frozen=True, eq=False)
class Objective:
    """Targets, normalised weights and the kind of combination; see the module docstring.

    Attributes
    ----------
    targets
        ``(C,)`` positive log2 rank targets.
    weights
        ``(C,)`` positive weights summing to 1.
    kind
        ``weighted`` or ``maximin``.
    max_parameters
        The parameter budget whose share used breaks ties between equal scores, or None.
    least_discarded
        The least arrangement (bits per location, :mod:`advisor.model.arrangement`) any
        candidate tree discards, or None to ignore arrangement.
    best_coherence
        The largest coherence (:func:`advisor.search.coherence.coherence`) any candidate tree
        reaches on the description's relations, or None to ignore it (no relation, or a free
        search).
    relation_share
        The share of the weights the description's relations explain, in ``(0, 1]``: the part
        of the score the coherence scales (:meth:`coherence_factor`).
    rank_target
        The budget's ``log2_rank_target``, which caps every target, or None (the rationale
        says so where it names the targets).
    bound_channels
        The M whose dimension bounds are the targets (a free search's: its largest channel
        choice), or None; the rationale names it, the score does not read it.
    """

    targets: _Floats
    weights: _Floats
    kind: ObjectiveKind
    max_parameters: int | None = None
    least_discarded: float | None = None
    best_coherence: float | None = None
    relation_share: float = 1.0
    rank_target: float | None = None
    bound_channels: int | None = None

    @classmethod
    def create(
        cls,
        targets: npt.ArrayLike,
        weights: npt.ArrayLike,
        kind: ObjectiveKind,
        max_parameters: int | None = None,
        least_discarded: float | None = None,
        best_coherence: float | None = None,
        relation_share: float = 1.0,
        rank_target: float | None = None,
        bound_channels: int | None = None,
    ) -> Objective:
        """Validate the arrays and normalise the weights."""
        target_array = np.asarray(targets, dtype=np.float64)
        weight_array = np.asarray(weights, dtype=np.float64)
        if target_array.ndim != 1 or target_array.shape != weight_array.shape:
            raise ValueError("targets and weights must be vectors of one length")
        if target_array.size == 0 or np.any(target_array <= 0) or np.any(weight_array <= 0):
            raise ValueError("targets and weights must be positive")
        if best_coherence is not None and not 0 < best_coherence <= 1:
            raise ValueError(f"best_coherence must lie in (0, 1], not {best_coherence!r}")
        if not 0 < relation_share <= 1:
            raise ValueError(f"relation_share must lie in (0, 1], not {relation_share!r}")
        return cls(
            target_array,
            normalised(weight_array),
            kind,
            max_parameters,
            least_discarded,
            best_coherence,
            relation_share,
            rank_target,
            bound_channels,
        )

    @property
    def num_keys(self) -> int:
        """Entries of a score tuple: 1 (weighted) or 2 (maximin, then weighted), plus one.

        The added entry is the budget share, when ``max_parameters`` is set.
        """
        return (1 if self.kind == "weighted" else 2) + (self.max_parameters is not None)

    def fractions(self, log2_ranks: npt.ArrayLike) -> _Floats:
        """``min(rank, target) / target`` per correlation; ``log2_ranks`` is ``(..., C)``."""
        ranks = np.asarray(log2_ranks, dtype=np.float64)
        reached: _Floats = np.minimum(ranks, self.targets) / self.targets
        return reached

    def keys(
        self,
        log2_ranks: npt.ArrayLike,
        parameters: npt.ArrayLike | None = None,
        discarded: npt.ArrayLike | None = None,
        coherence: npt.ArrayLike | None = None,
    ) -> _Floats:
        """Score tuples ``(P, num_keys)`` of ``(P, C)`` log2 ranks (larger is better).

        With ``least_discarded`` set, every score is scaled by :meth:`arrangement_factor` of the
        ``(P,)`` (or scalar) arrangement ``d`` the tree discards, bits per location. With
        ``best_coherence`` set, every score is scaled by :meth:`coherence_factor` of the ``(P,)``
        (or scalar) coherence ``c`` of the tree. With ``max_parameters`` set, the last key is
        the fraction of the budget the ``(P,)`` ``parameters`` use (at most 1): among equal
        scores, the design that spends more of the budget.
        """
        reached = self.fractions(np.atleast_2d(np.asarray(log2_ranks, dtype=np.float64)))
        mean = reached @ self.weights
        columns = [mean] if self.kind == "weighted" else [reached.min(axis=1), mean]
        scores = np.stack(columns, axis=1)
        for factor in self._tree_factors(discarded, coherence):
            scores = scores * factor
        if self.max_parameters is not None:
            if parameters is None:
                raise ValueError("an objective with max_parameters scores parameters too")
            used = np.asarray(parameters, dtype=np.float64).reshape(-1, 1) / self.max_parameters
            shares = np.broadcast_to(np.minimum(used, 1.0), (scores.shape[0], 1))
            scores = np.concatenate([scores, shares], axis=1)
        keys: _Floats = np.round(scores, _DECIMALS)
        return keys

    def tree_factor(
        self, discarded: npt.ArrayLike | None = None, coherence: npt.ArrayLike | None = None
    ) -> _Floats:
        """Return the ``(P, 1)`` share of a score a tree's arrangement and coherence leave.

        1 where the objective weighs neither (see :meth:`keys`). Trees with the same ranks at
        every width profile score in its order.
        """
        factor = np.ones((1, 1))
        for part in self._tree_factors(discarded, coherence):
            factor = factor * part
        return factor

    def _tree_factors(
        self, discarded: npt.ArrayLike | None, coherence: npt.ArrayLike | None
    ) -> list[_Floats]:
        """Return the arrangement's and the coherence's factors of the score, where weighed."""
        factors = []
        if self.least_discarded is not None:
            if discarded is None:
                raise ValueError("an objective with least_discarded scores arrangement too")
            factors.append(self.arrangement_factor(discarded))
        if self.best_coherence is not None:
            if coherence is None:
                raise ValueError("an objective with best_coherence scores coherence too")
            factors.append(self.coherence_factor(coherence))
        return factors

    def arrangement_factor(self, discarded: npt.ArrayLike) -> _Floats:
        """Return the ``(P, 1)`` factor of the score a tree's ``(P,)`` discarded arrangement leaves.

        ``2^-(ARRANGEMENT_WEIGHT * max(d - least_discarded, 0))`` for ``d`` bits per location
        (:data:`ARRANGEMENT_WEIGHT`): 1 for the least-discarding trees. Needs ``least_discarded``.
        """
        if self.least_discarded is None:
            raise ValueError("an objective without least_discarded has no arrangement factor")
        excess = np.asarray(discarded, dtype=np.float64).reshape(-1, 1) - self.least_discarded
        factor: _Floats = np.exp2(-ARRANGEMENT_WEIGHT * np.maximum(excess, 0.0))
        return factor

    def coherence_factor(self, coherence: npt.ArrayLike) -> _Floats:
        """Return the ``(P, 1)`` factor of the score a tree's ``(P,)`` coherence leaves.

        ``1 - s + s * min(c / best_coherence, 1)`` with ``s`` = :attr:`relation_share`: the
        correlations no relation explains tell nothing of how a tree should meet them, so they
        keep their part of the score whatever the tree's coherence. Needs ``best_coherence``.
        """
        if self.best_coherence is None:
            raise ValueError("an objective without best_coherence has no coherence factor")
        ratio = np.asarray(coherence, dtype=np.float64).reshape(-1, 1) / self.best_coherence
        factor: _Floats = 1.0 - self.relation_share + self.relation_share * np.minimum(ratio, 1.0)
        return factor

    def at_budget(self, scale: float) -> Objective:
        """Return this objective with the budget whose share breaks ties scaled by ``scale``.

        The targets stay: a design scored at ``scale`` times the budget is scored on this
        budget's scale, and among its equal scores the net that spends more of the larger
        budget still ranks first (as a search at that budget ranks it).
        """
        if self.max_parameters is None or scale == 1.0:
            return self
        return replace(self, max_parameters=scaled_parameters(self.max_parameters, scale))

    def binding(self, log2_ranks: npt.ArrayLike) -> int:
        """Index of the correlation furthest from its target (the first of equals).

        Fractions are compared to :data:`_DECIMALS` places, as scores are: ranks summed in
        different orders differ in their last bits, and on a symmetric description (every
        fraction alike) that noise, not the description's order, named the correlation the
        rationale's "To raise" sentence speaks of.
        """
        return int(np.argmin(np.round(self.fractions(log2_ranks), _DECIMALS)))
