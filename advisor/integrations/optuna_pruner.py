"""The Optuna pruner that scores another sampler's design with the advisor's analysis.

:class:`AnalyzePruner` prunes a design that couples the task's correlations far less than the
advisor's best, before it is trained. It reads no study, and the sampler does not use it: an
objective calls it on the designs of whatever sampler its study has. Needs the ``optuna`` extra
(:mod:`advisor.integrations.optuna` imports this module under it).
"""

from __future__ import annotations

import numbers

import optuna
from advisor_client.conversions import TaskLike, task_model

from advisor.errors import InvalidRequestError
from advisor.integrations.optuna_trials import COUPLING_ATTR
from advisor.integrations.proposals import AdvisorSource
from advisor.model.architecture import Architecture
from advisor.model.arguments import require_instance
from advisor.model.results import Recommendation
from advisor.model.scalars import is_boolean
from advisor.model.task import Task

__all__ = ["AnalyzePruner"]


class AnalyzePruner:
    """Prunes a design that couples the task's correlations far below the advisor's best.

    The *coupling* of a design is the weighted mean, over the task's correlations, of its log2
    separation rank as a fraction of ``best``'s (capped at 1; a correlation ``best`` does not
    couple counts 1). A design below ``threshold`` is pruned before training.

    Parameters
    ----------
    task
        The task the advisor searched (a model, its mapping or a task file).
    best
        The advisor's first design (e.g. ``sampler.designs[0]``), a recommendation for
        ``task``: its analysis names every correlation of the task.
    source
        Where to run the analysis: the library (default) or a server's ``Analyze``.
    threshold
        The least coupling a design may have, in (0, 1].

    Raises
    ------
    InvalidRequestError
        Naming ``threshold``, ``task``, ``source`` (no :class:`AdvisorSource`), or ``best``
        (not a recommendation, or one for another task, whose analysis lacks a correlation of
        ``task``).
    """

    def __init__(
        self,
        task: TaskLike,
        best: Recommendation,
        *,
        source: AdvisorSource | None = None,
        threshold: float = 0.5,
    ) -> None:
        # Any real number, NumPy's too (np.float32 was refused as not in (0, 1]), as the
        # client reads its numbers (advisor.model.scalars); never a boolean.
        real = isinstance(threshold, numbers.Real) and not is_boolean(threshold)
        if not (real and 0 < threshold <= 1):
            raise InvalidRequestError.single("threshold", f"must be in (0, 1], got {threshold!r}")
        self._task = task_model(task)
        self._source, self.threshold = AdvisorSource.of(source), float(threshold)
        self._reference = _reference_ranks(self._task, best)

    def coupling(self, architecture: Architecture) -> float:
        """Return the coupling of ``architecture`` relative to the advisor's best, in [0, 1].

        Raises
        ------
        InvalidRequestError
            On ``architecture`` when it is no :class:`~advisor.model.architecture.Architecture`.
        """
        require_instance(architecture, Architecture, "architecture")
        analysis = self._source.analyze(self._task, architecture)
        total = sum(c.weight for c in analysis.correlations)
        shares = (
            c.weight * min(1.0, c.log2_separation_rank / reference) if reference > 0 else c.weight
            for c in analysis.correlations
            for reference in (self._reference[c.name],)
        )
        return sum(shares) / total

    def check(self, trial: optuna.Trial, architecture: Architecture) -> float:
        """Record the design's coupling on the trial; prune it when below the threshold.

        Raises
        ------
        optuna.TrialPruned
            When the coupling is below ``threshold``.
        InvalidRequestError
            On ``trial`` (no Optuna trial) or ``architecture`` (no ``Architecture``), before
            the analysis.
        """
        require_instance(trial, optuna.trial.BaseTrial, "trial")
        coupling = self.coupling(architecture)
        trial.set_user_attr(COUPLING_ATTR, coupling)
        if coupling < self.threshold:
            raise optuna.TrialPruned(
                f"couples the task's correlations at {coupling:.2f} of the advisor's best "
                f"(threshold {self.threshold})"
            )
        return coupling


def _reference_ranks(task: Task, best: Recommendation) -> dict[str, float]:
    """Return ``best``'s log2 rank of each correlation of ``task``, the coupling's reference.

    Raises
    ------
    InvalidRequestError
        On ``best`` when it is no recommendation, or its analysis lacks a correlation of
        ``task`` (a design of another task): every trial the pruner checked would fail on it.
    """
    if not isinstance(best, Recommendation):
        raise InvalidRequestError.single(
            "best",
            f"must be a Recommendation (e.g. sampler.designs[0]); got {type(best).__name__}",
        )
    ranks = {c.name: c.log2_separation_rank for c in best.analysis}
    missing = [c.name for c in task.resolved() if c.name not in ranks]
    if missing:
        raise InvalidRequestError.single(
            "best",
            f"is a design for another task: its analysis has no correlation {missing[0]!r} "
            f"({len(missing)} of the task's {len(task.resolved())} missing); pass a design the "
            "advisor recommended for this task",
        )
    return ranks
