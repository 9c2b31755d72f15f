"""Any design scored on the search's objective: the figure a recommendation carries as its score.

A practical search's targets are the best figure any recommendable tree reaches at the budget
(:mod:`advisor.search.targets`), so the objective needs a pass over every tree of the space
first; a free search's needs none. :class:`DesignScorer` makes that pass once and then scores
designs one at a time, so a caller scoring many (the Katib integration, the trained-outcome
benchmark) pays for the pass once and keeps every score computed before a stop. Each design's
figures come from :func:`~advisor.seprank.analysis.analyze` without the contiguous net's
pricing, which the score does not read (most of a small input's analysis).
"""

from __future__ import annotations

import numpy as np

from advisor.model.architecture import Architecture
from advisor.model.budget import Budget
from advisor.model.task import Task
from advisor.search.coherence import Relation, architecture_coherence
from advisor.search.mixtures import tree_budget
from advisor.search.objective import Objective
from advisor.search.run import SearchRun
from advisor.seprank.analysis import analyze
from advisor.stopping import StopSignal

__all__ = ["DesignScorer"]


class DesignScorer:
    """The search's objective for ``task`` under ``budget``, and the relations it weighs.

    Built once (``stop`` may cut the practical pass over every tree,
    :class:`~advisor.errors.StoppedError`); :meth:`score` then scores any architecture on the
    task's grid. Holds the objective and the description's relations only, not the search.
    """

    def __init__(self, task: Task, budget: Budget, stop: StopSignal | None = None) -> None:
        self.task = task
        search = SearchRun(task, tree_budget(budget), StopSignal(), None, named=budget.geometries)
        self.relations: list[Relation] = []
        if budget.width_profile == "free":
            self.objective: Objective = search.free_objective()
            return
        search.scoring_pass(stop)
        self.objective = search.practical_objective()
        self.relations = search.relations()

    @property
    def nbytes(self) -> int:
        """The bytes the relations' location pairs hold (the rest is a few small arrays)."""
        return sum(r.first.nbytes + r.second.nbytes + r.weights.nbytes for r in self.relations)

    def score(self, architecture: Architecture) -> float:
        """Return the score the search would give ``architecture``."""
        analysis = analyze(self.task, architecture, price_contiguous=False)
        ranks = np.asarray([c.log2_separation_rank for c in analysis.correlations])
        coherent = None
        if self.objective.best_coherence is not None:
            coherent = architecture_coherence(self.relations, architecture)
        keys = self.objective.keys(
            ranks, [architecture.parameters], architecture.discarded_order, coherent
        )
        return float(keys[0, 0])
