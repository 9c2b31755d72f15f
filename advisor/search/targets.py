"""What a search's scores are measured against: the targets, raised as its trees are scored.

A free search's target of each correlation is its dimension bound at the largest channel choice
(:func:`~advisor.search.objective.default_targets`). A practical search's is the best figure any
recommendable tree it scored reaches with a fitting profile, its reference arrangement the least
any of them discards and its reference coherence the best any of them reaches (None without
relations): once every tree is scored, a score of 1.0 means no practical net at this budget does
better on any correlation, the whole budget is used, no tree keeps more of the input's
arrangement and none meets the description's relations more alike or sooner (docs/THEORY.md §16,
§18). Before any recommendable tree is scored (a search stopped that early returns a baseline)
its targets are the dimension bounds at the largest M a practical net may have, the most any net
of its space could reach, so a baseline does not score 1 against nothing. ``log2_rank_target``
lowers either.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.model.budget import Budget
from advisor.model.regions import ResolvedCorrelation
from advisor.search.candidates import Candidate
from advisor.search.objective import Objective, default_targets

__all__ = ["Targets"]

_LEAST_TARGET: Final = 1e-6
"""Floor of a reachable target, so a correlation no net can couple scores 0 for every net."""


class _Leader:
    """The tree that leads the trees recorded on one measure, named where a design trails it.

    Of trees equal on it (to 12 decimals, so float noise does not decide), the first
    enumerated, so the order the search visits trees in names none.
    """

    def __init__(self, higher_leads: bool) -> None:
        self._sign = 1.0 if higher_leads else -1.0
        self._key: tuple[float, int] | None = None
        self.tree: Candidate | None = None

    def offer(self, tree: Candidate, value: float) -> None:
        """Record ``tree``'s value on the measure: it leads if no tree recorded is ahead."""
        key = (round(self._sign * value, 12), -tree.index)
        if self._key is None or key > self._key:
            self.tree, self._key = tree, key


class Targets:
    """A search's targets: the dimension bounds, and the best the recommendable trees reach."""

    def __init__(
        self,
        correlations: Sequence[ResolvedCorrelation],
        budget: Budget,
        largest_representation: int,
    ) -> None:
        """``largest_representation``: the largest M of the search's practical profiles."""
        self._budget = budget
        self._largest_representation = largest_representation
        self._weights = [c.weight for c in correlations]
        self._smaller_sides = [min(c.a_size, c.b_size) for c in correlations]
        self._best = np.zeros(len(correlations))
        self._best_deeper = np.zeros(len(correlations))  # of the trees but the shallow net
        self._least_discarded = math.inf
        self._best_coherence = 0.0
        self.reached = False
        """Whether a recommendable tree was recorded (else a practical objective is the bounds)."""
        self._most_coherent = _Leader(higher_leads=True)
        self._finest = _Leader(higher_leads=False)

    def raise_to(
        self,
        tree: Candidate,
        figures: npt.NDArray[np.float64],
        discarded: float,
        coherent: float,
    ) -> None:
        """Record a recommendable tree: its best figure per correlation, discard and coherence.

        The shallow net's figures count apart too (:meth:`set_by_shallow`).
        """
        self._best = np.maximum(self._best, figures)
        if tree.family != "shallow":
            self._best_deeper = np.maximum(self._best_deeper, figures)
        self._least_discarded = min(self._least_discarded, discarded)
        self._best_coherence = max(self._best_coherence, coherent)
        if coherent > 0.0:
            self._most_coherent.offer(tree, coherent)
        self._finest.offer(tree, discarded)
        self.reached = True

    def free_objective(self) -> Objective:
        """Return a free search's objective: the dimension bound at the largest channel choice."""
        largest = self._budget.choices()[-1]
        return Objective.create(
            self._bounds(largest),
            self._weights,
            self._budget.objective,
            rank_target=self._budget.log2_rank_target,
            bound_channels=largest,
        )

    def practical_objective(self, relation_share: float = 1.0) -> Objective:
        """Return a practical search's objective on the trees recorded so far (module docstring).

        ``relation_share``: the share of the weights the description's relations explain
        (:attr:`~advisor.search.objective.Objective.relation_share`).
        """
        if self.reached:
            targets = np.maximum(self._capped(self._best), _LEAST_TARGET)
        else:
            targets = self._bounds(self._largest_representation)
        return Objective.create(
            targets,
            self._weights,
            self._budget.objective,
            max_parameters=self._budget.max_parameters,
            least_discarded=(
                self._least_discarded if math.isfinite(self._least_discarded) else None
            ),
            best_coherence=self._best_coherence or None,
            relation_share=relation_share,
            rank_target=self._budget.log2_rank_target,
        )

    @property
    def most_coherent(self) -> Candidate | None:
        """The tree of the best coherence, which a lower one is measured against.

        None while no tree recorded meets a relation.
        """
        return self._most_coherent.tree

    @property
    def finest(self) -> Candidate | None:
        """The tree that discards the least of the arrangement, which more is measured against.

        None while no tree is recorded.
        """
        return self._finest.tree

    def set_by_shallow(self) -> bool:
        """Whether the shallow net sets a target no deeper tree reaches (its figure is higher).

        The shallow net is recommendable whatever the families searched: on 16 steps at 3,000
        parameters it alone reaches 5.3 bits of two pairs five steps apart, which a
        ``--geometries dilations`` search's summaries called the dilation orders' best.
        """
        return bool((self._capped(self._best) > self._capped(self._best_deeper)).any())

    def _capped(self, best: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Return figures capped at ``log2_rank_target`` where the budget sets one."""
        target = self._budget.log2_rank_target
        return best if target is None else np.minimum(best, target)

    def _bounds(self, representation: int) -> npt.NDArray[np.float64]:
        """Return each correlation's dimension bound with M = ``representation`` (capped)."""
        return default_targets(self._smaller_sides, representation, self._budget.log2_rank_target)
