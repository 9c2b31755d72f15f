"""Drawing a design inside an Optuna objective, and the parameter budget it is held to.

:func:`suggest_parameters` suggests a design's flat parameters from an
:class:`~advisor.integrations.space.ArchitectureSpace` (the geometry first, then the schedules
it pools, then one ladder of the tree); :func:`suggest_architecture` decodes them and refuses
(prunes) a design that is none, one queued under names the trial does not suggest, or one over
the budget, before any training; :func:`budget_constraints` is the budget's rule as a
``constraints_func``. Kept apart from the sampler: an objective calls these whatever sampler
its study has. Needs the ``optuna`` extra (:mod:`advisor.integrations.optuna` imports this
module under it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, cast

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial

from advisor.errors import InvalidRequestError
from advisor.integrations.encoding import GEOMETRY, FlatValue
from advisor.integrations.optuna_trials import (
    ARCHITECTURE_ATTR,
    BUDGET_CONSTRAINT,
    PARAMETERS_ATTR,
)
from advisor.integrations.space import ArchitectureSpace, design_parameter
from advisor.model.architecture import Architecture
from advisor.model.budget import Budget

__all__ = ["RENAME_HINT", "budget_constraints", "suggest_architecture", "suggest_parameters"]

RENAME_HINT: Final = (
    "the design's parameters are geometry, schedule, schedule[GEOMETRY], widths[WINDOWS], "
    "representation and width_0 ...: give the objective's own parameters other names"
)
"""The hint of the errors an objective's own parameter under a design's name can cause."""


def suggest_parameters(trial: optuna.Trial, space: ArchitectureSpace) -> dict[str, FlatValue]:
    """Suggest a design's flat parameters from ``space`` (no decoding; Ray Tune's define-by-run).

    The geometry first, then the schedule among those it pools, under
    :meth:`~ArchitectureSpace.schedule_parameter` (``schedule``, or ``schedule[GEOMETRY]`` for
    a geometry that pools only some: mirror, a permutation of a padded grid or of the input),
    so that every draw is a design; then M and the widths as one ladder of that tree within
    the budgets, under :meth:`~ArchitectureSpace.ladder_parameter` (``widths[WINDOWS]``), so
    that every draw fits them (free widths: ``representation``, ``width_0`` ... one by one,
    which :class:`~advisor.integrations.optuna_sampler.AdvisorSampler` caps to fit the budget).
    Returns the flat parameters (:meth:`~ArchitectureSpace.flat_parameters`: ``schedule`` by
    that name, M and ``width_0`` ... ``width_{d-1}``), which
    :meth:`~advisor.integrations.encoding.ArchitectureCodec.decode` reads.

    Raises
    ------
    ValueError
        Naming the parameter, when the trial was queued with a value of it the space does not
        offer, or the study's earlier trials offered other choices for it (:func:`_suggest`).
    """
    geometry = str(_suggest(trial, space, GEOMETRY))
    name = space.schedule_parameter(geometry)
    schedule = str(_suggest(trial, space, name))
    suggested: dict[str, FlatValue] = {GEOMETRY: geometry, name: schedule}
    for parameter in space.parameter_names(geometry, schedule)[2:]:
        suggested[parameter] = _suggest(trial, space, parameter)
    return space.flat_parameters(suggested)


class _NotOfferedError(ValueError):
    """A trial queued with a value of a design's parameter that the space does not offer."""


def _suggest(trial: optuna.Trial, space: ArchitectureSpace, name: str) -> FlatValue:
    """Suggest parameter ``name`` among its choices in ``space``.

    Raises
    ------
    _NotOfferedError
        Naming the parameter and the value, when the trial was queued (``study.enqueue_trial``)
        with a value of it the space does not offer: Optuna cannot store a categorical value
        outside its choices, and its own error lists every choice without naming the parameter.
    ValueError
        Naming the parameter and the cause, when the trial itself or the study's earlier trials
        offered other choices for it: Optuna keeps one set of choices per parameter (its own
        error, "does not support dynamic value space", or an index error of the sampler, says
        neither which parameter nor why). The trial's own were the objective's parameter under
        a design's name (``schedule``, for its learning rate's); the study's, those or another
        space: the space follows the task, the budget and the advisor's designs, so a study
        resumed with another of them has other choices, and so may one resumed with the same
        arguments after a ranking a time limit cut (it holds the designs as far as its search
        got), which the error names as the likely cause then.
    """
    choices = space.choices(name)
    queued = getattr(trial, "_fixed_params", None) or {}  # what study.enqueue_trial set
    if name in queued and queued[name] not in choices:
        raise _NotOfferedError(
            f"{name}: the trial was queued with {queued[name]!r}, which this space does not "
            f"offer (none of its {len(choices)} choices, e.g. {choices[0]!r}), and Optuna "
            "stores a categorical parameter only among its choices; queue one of the space's "
            "designs, space.trial_parameters(space.codec.encode(architecture))"
        )
    try:
        # Optuna types a choice of a mixed sequence loosely; the space's choices are FlatValue.
        return cast(FlatValue, trial.suggest_categorical(name, choices))
    except ValueError as error:
        own = trial.distributions.get(name)
        if isinstance(own, CategoricalDistribution) and own.choices != choices:
            raise ValueError(
                f"{name}: this trial suggested it already, with other choices than this space's "
                f"({len(choices)} choices; the trial's {len(own.choices)} are {own.choices[0]!r}"
                " ...); "
                f"{RENAME_HINT}"
            ) from error
        study = getattr(trial, "study", None)  # a FixedTrial has none
        trials = study.get_trials(deepcopy=False) if study is not None else []
        stored = next((t.distributions[name] for t in trials if name in t.distributions), None)
        if not isinstance(stored, CategoricalDistribution) or stored.choices == choices:
            raise
        only = [(c, "the study's") for c in stored.choices if c not in choices] + [
            (c, "this space's") for c in choices if c not in stored.choices
        ]
        example = f"; {only[0][0]!r} is only among {only[0][1]}" if only else ", in another order"
        raise ValueError(
            f"{name}: this space's choices differ from those the study's earlier trials offered "
            f"({len(choices)} choices, not {len(stored.choices)}{example}); Optuna keeps one "
            "set of choices per parameter, and the space follows the task, the budget and the "
            "advisor's designs (AdvisorSampler's proposals, enqueue_recommendations' k). "
            "Resumed with the arguments it was run with, the likely cause is a ranking a time "
            "limit cut, in this run or the one before (warned of: the advisor's search ended "
            "before it was complete): it holds the designs as far as that run's search got, "
            "which another run does not repeat, so start a new study with a time limit every "
            "search completes within (in-process, time_limit_seconds=None). Else resume the "
            "study with the arguments it was run with, or start a new one; or the objective "
            f"suggests a parameter of its own under this name: {RENAME_HINT}"
        ) from error


def suggest_architecture(
    trial: optuna.Trial, space: ArchitectureSpace, *, refuse_over_budget: bool = True
) -> Architecture:
    """Suggest a design's flat parameters from ``space`` and return the architecture.

    The trial gets the constraint ``advisor.budget`` (parameters minus ``space.max_parameters``,
    feasible at 0 or less) and the user attributes ``architecture`` and ``advisor.parameters``.

    Raises
    ------
    optuna.TrialPruned
        When the trial was queued with a design under other names than ``space`` suggests
        (the flat encoding's ``representation``, ``width_0`` ..., whose values Optuna would
        not apply, so another design was drawn) or with a value ``space`` does not offer (a
        geometry, schedule or ladder outside it: Optuna cannot store it), when the parameters
        are not a valid design (the space pairs every geometry with the schedules it pools, but
        a trial may hold parameters set otherwise, e.g. enqueued by hand), or the design exceeds
        ``space.max_parameters`` (a draw of free widths by another sampler than
        :class:`~advisor.integrations.optuna_sampler.AdvisorSampler` can; a ladder of a practical
        space fits) and ``refuse_over_budget`` is set: the trial is refused before any training,
        with the reason in its ``advisor.refused`` attribute.
    """
    try:
        flat = suggest_parameters(trial, space)
    except _NotOfferedError as error:
        return _refuse(trial, f"not a design of the space: {error}")
    unapplied = _unapplied(trial, flat)
    if unapplied is not None:
        return _refuse(
            trial,
            f"queued with a design under other parameter names than this space suggests "
            f"({unapplied}; the flat encoding's representation, width_0 ..., or an earlier "
            "version's), which Optuna does not apply, so the trial drew another; queue "
            "space.trial_parameters(space.codec.encode(architecture))",
        )
    try:
        architecture = space.codec.decode(flat)
    except InvalidRequestError as error:
        return _refuse(trial, f"not a valid design: {error}")
    trial.set_user_attr(ARCHITECTURE_ATTR, architecture.model_dump_json(exclude_none=True))
    trial.set_user_attr(PARAMETERS_ATTR, architecture.parameters)
    excess = float(architecture.parameters - space.max_parameters)
    # Set once: a second call in the trial, or a trial an Optuna retry callback recreated
    # (which copies the failed trial's system attributes, the constraint among them), has it,
    # and Optuna warns on setting it again ("the constraint value is ignored").
    if trial.constraints.get(BUDGET_CONSTRAINT) != excess:
        trial.set_constraint(BUDGET_CONSTRAINT, excess)
    if refuse_over_budget and architecture.parameters > space.max_parameters:
        return _refuse(
            trial,
            f"{architecture.parameters:,} parameters exceed the budget of {space.max_parameters:,}",
        )
    return architecture


def _unapplied(trial: optuna.Trial, flat: dict[str, FlatValue]) -> str | None:
    """Return the first design parameter the trial was queued with but drew otherwise.

    A queued trial's parameters (``Trial._fixed_params``, what ``study.enqueue_trial`` set) are
    applied only under the names the trial suggests; the sampler draws the rest. So one the
    trial did not suggest (``width_0`` where it suggests a ladder, ``schedule[mirror]`` for a
    drawn ``contiguous``) counts as applied only when the drawn design, ``flat``, has its value:
    a design queued in part under such names is refused as one queued in full is.
    """
    queued = getattr(trial, "_fixed_params", None) or {}
    suggested = trial.params
    for name, value in queued.items():
        if design_parameter(name) and suggested.get(name, flat.get(name)) != value:
            return f"{name}={value!r} was not applied"
    return None


def _refuse(trial: optuna.Trial, reason: str) -> Architecture:
    trial.set_user_attr("advisor.refused", reason)
    raise optuna.TrialPruned(reason)


def budget_constraints(max_parameters: int | float) -> Callable[[FrozenTrial], Sequence[float]]:
    """Return a ``constraints_func``: feasible (<= 0) when the design fits ``max_parameters``.

    The value is the parameter count minus the budget, read from the trial's
    ``advisor.parameters``; a trial without one (it failed before its design was drawn) counts
    as infeasible.

    Raises
    ------
    InvalidRequestError
        On ``max_parameters`` unless a budget takes it: a whole number of at least 1, which a
        whole float writes too (``2e5``, as the budget the study's sampler is given may be).
    """
    try:
        max_parameters = Budget(max_parameters=max_parameters).max_parameters
    except InvalidRequestError as error:
        raise error.renamed(lambda field: field.removeprefix("budget.")) from None

    def constraints(trial: FrozenTrial) -> Sequence[float]:
        parameters = trial.user_attrs.get(PARAMETERS_ATTR)
        if parameters is None:
            return [1.0]
        return [float(parameters - max_parameters)]

    return constraints
