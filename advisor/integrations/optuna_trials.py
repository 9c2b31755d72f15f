"""What the Optuna integration keeps on a study's trials, and which designs a study holds.

Each trial keeps its architecture as JSON in the user attribute ``architecture`` (the
permutation in full), its parameter count in ``advisor.parameters``, and a proposed or queued
design its rank in ``advisor.rank`` and its score in ``advisor.score`` (as Katib's labels).
The sampler, the objective's helpers, the functions on a whole study and the pruner
(:mod:`advisor.integrations.optuna`) write and read these names, and the sampler and the
queueing both recognise a design a study holds whatever its trial names it: one home for each,
so they cannot drift apart. Needs the ``optuna`` extra (:mod:`advisor.integrations.optuna`
imports this module under it).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any, Final

from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from advisor.integrations.space import ArchitectureSpace
from advisor.model.results import Recommendation

__all__ = [
    "ARCHITECTURE_ATTR",
    "BUDGET_CONSTRAINT",
    "COUPLING_ATTR",
    "FINISHED",
    "FIXED_PARAMS",
    "PARAMETERS_ATTR",
    "PARAMS_ATTR",
    "RANK_ATTR",
    "SCORE_ATTR",
    "DesignKey",
    "design_key",
    "encoded_designs",
    "held_designs",
    "proposal",
    "study_trials",
]

ARCHITECTURE_ATTR: Final = "architecture"
PARAMETERS_ATTR: Final = "advisor.parameters"
BUDGET_CONSTRAINT: Final = "advisor.budget"
COUPLING_ATTR: Final = "advisor.coupling"
RANK_ATTR: Final = "advisor.rank"
SCORE_ATTR: Final = "advisor.score"
PARAMS_ATTR: Final = "advisor.params"
FIXED_PARAMS: Final = "fixed_params"  # optuna's system attribute of an enqueued trial
FINISHED: Final = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


DesignKey = tuple[tuple[str, Any], ...]


def encoded_designs(
    space: ArchitectureSpace, designs: Sequence[Recommendation]
) -> list[dict[str, Any]]:
    """Return each design's suggested parameters (:meth:`ArchitectureSpace.trial_parameters`)."""
    return [space.trial_parameters(space.codec.encode(d.architecture)) for d in designs]


def proposal(trial: FrozenTrial) -> dict[str, Any] | None:
    """Return the parameters of the design proposed to ``trial``; None when it runs none.

    A claim :meth:`~advisor.integrations.optuna_sampler.AdvisorSampler._claim` withdrew is None, so
    a trial recreated from it (a retry) takes a design as a new trial does.
    """
    params: dict[str, Any] | None = trial.system_attrs.get(PARAMS_ATTR)
    return params


def design_key(space: ArchitectureSpace, params: dict[str, Any]) -> DesignKey | None:
    """Return the design ``params`` hold, as its flat parameters; None when they hold none.

    The flat parameters (:meth:`ArchitectureSpace.flat_parameters`) leave out the objective's
    own parameters and read an earlier version's names, and a permutation a named geometry
    realises is named so (:meth:`ArchitectureSpace.canonical`), so a design is one key however
    a trial names it and whatever else it suggests.
    """
    try:
        return tuple(sorted(space.canonical(space.flat_parameters(params)).items()))
    except KeyError:
        return None


def study_trials(study: Study, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
    """Return the study's trials, every one of them, read from its storage.

    Not ``study.get_trials``: under a ``HyperbandPruner`` the study Optuna hands a sampler
    shows only the trials of the new trial's bracket, so the designs the other brackets ran
    were proposed again (by a resumed or second worker's sampler) and learning read a part of
    the results. Optuna's ``GridSampler`` reads the storage for the same reason (optuna#2327).
    """
    trials: list[FrozenTrial] = study._storage.get_all_trials(
        study._study_id, deepcopy=False, states=states
    )
    return trials


def held_designs(
    study: Study,
    space: ArchitectureSpace,
    other_than: FrozenTrial | None = None,
    states: Container[TrialState] | None = None,
) -> set[DesignKey]:
    """Return the designs the study's trials (of ``states``; all) hold, ``other_than``'s left out.

    A trial holds its parameters, a queued trial its fixed ones and a proposed one the design
    :class:`~advisor.integrations.optuna_sampler.AdvisorSampler` claimed for it (a claim withdrawn
    or given back holds none). A queued trial that has suggested a design other than its fixed one
    was not given it (queued under names it does not suggest, the flat encoding's
    ``representation``, ``width_0`` ...: refused,
    :func:`~advisor.integrations.optuna_suggest.suggest_architecture`) and holds only what it
    suggested: holding the queued one too, the advisor's design #2 queued so was never proposed, nor
    trained.
    """
    held: set[DesignKey] = set()
    for trial in study_trials(study, states):
        if other_than is not None and trial._trial_id == other_than._trial_id:
            continue
        ran = design_key(space, trial.params) if trial.params else None
        queued = trial.system_attrs.get(FIXED_PARAMS)
        queued_key = design_key(space, queued) if queued else None
        claimed = trial.system_attrs.get(PARAMS_ATTR)
        claimed_key = design_key(space, claimed) if claimed else None
        if queued_key is not None and ran is not None and queued_key != ran:
            queued_key = None
        held.update(key for key in (ran, queued_key, claimed_key) if key is not None)
    return held
