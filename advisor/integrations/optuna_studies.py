"""Working on an Optuna study without the sampler: queueing the advisor's designs, renaming.

:func:`enqueue_recommendations` queues the advisor's top designs in any study, whatever its
sampler; :func:`renamed_trials` copies the trials of a study an earlier version ran under this
version's parameter names, and :func:`warn_renamed` tells of such trials (the sampler warns with
it too). Each reads the designs a study holds as :mod:`advisor.integrations.optuna_trials` does.
Needs the ``optuna`` extra (:mod:`advisor.integrations.optuna` imports this module under it).
"""

from __future__ import annotations

import warnings

import optuna
from advisor_client.conversions import BudgetLike, TaskLike, budget_model, task_model
from optuna.distributions import CategoricalDistribution
from optuna.study import Study
from optuna.trial import FrozenTrial

from advisor.integrations.optuna_trials import (
    ARCHITECTURE_ATTR,
    FINISHED,
    RANK_ATTR,
    SCORE_ATTR,
    design_key,
    encoded_designs,
    held_designs,
    study_trials,
)
from advisor.integrations.proposals import AdvisorSource, fetch_ranking
from advisor.integrations.space import ArchitectureSpace, design_parameter, flat_budget
from advisor.model.arguments import checked_integer, require_instance
from advisor.model.results import Recommendation

__all__ = ["enqueue_recommendations", "renamed_trials", "warn_renamed"]


def enqueue_recommendations(
    study: Study,
    task: TaskLike,
    budget: BudgetLike,
    k: int,
    *,
    source: AdvisorSource | None = None,
) -> ArchitectureSpace:
    """Queue the advisor's top ``k`` designs as the study's next trials, best first.

    A ranking that holds fewer at the budget queues those it holds, with a warning.

    ``task`` and ``budget`` are whatever :class:`advisor_client.AdvisorClient` takes. Returns
    the space to pass to :func:`~advisor.integrations.optuna_suggest.suggest_architecture` in the
    objective (it knows the designs' permutations). A design the study already holds or has queued
    is not queued again, whatever other parameters its trial has, and under the names of an earlier
    version too (with a warning, :func:`warn_renamed`).

    Raises
    ------
    InvalidRequestError
        Naming ``study`` (no Optuna study), ``task``, ``budget`` or ``k`` (a whole number, at
        least 0), before any search.
    """
    require_instance(study, Study, "study")
    task, budget = task_model(task), flat_budget(budget_model(budget))
    designs = fetch_ranking(task, budget, checked_integer("k", k, 0), source, asked_as="k")
    space = ArchitectureSpace.for_search(task, budget, designs)
    warn_renamed(study, space)
    held = held_designs(study, space)
    for design, params in zip(designs, encoded_designs(space, designs), strict=True):
        if design_key(space, params) not in held:
            study.enqueue_trial(
                params,
                user_attrs={
                    RANK_ATTR: design.rank,
                    SCORE_ATTR: design.score,
                    ARCHITECTURE_ATTR: _json(design),
                },
            )
    return space


def _json(design: Recommendation) -> str:
    return design.architecture.model_dump_json(exclude_none=True)


def renamed_trials(study: Study, space: ArchitectureSpace) -> list[FrozenTrial]:
    """Return the study's finished trials with their designs under ``space``'s names.

    A study saved by an earlier version names its designs otherwise (``schedule`` for every
    geometry; ``representation``, ``width_0`` ... one by one where ``space`` draws a ladder),
    so a sampler such as TPE, which models each parameter by its name, does not learn from
    them. Added to a new study (``new_study.add_trials(renamed_trials(study, space))``), the
    copies are trials of this version: the same state, values, constraints, user attributes
    and intermediate values, the design under :meth:`ArchitectureSpace.trial_parameters` with
    ``space``'s distributions, the objective's own parameters as they were. A trial without a
    design (it failed before drawing one) is copied as it is; unfinished trials are left out,
    and so are those whose design ``space`` cannot offer (a geometry, schedule or ladder it has
    no choice for: another budget's, or free widths drawn over the budget).
    """
    copies = []
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        try:
            flat = space.flat_parameters(trial.params)
        except KeyError:
            copies.append(trial)
            continue
        try:
            named = space.trial_parameters(flat)
            distributions = {name: CategoricalDistribution(space.choices(name)) for name in named}
        except KeyError:
            continue
        if any(value not in distributions[name].choices for name, value in named.items()):
            continue
        own = {n: value for n, value in trial.params.items() if not design_parameter(n)}
        copies.append(
            optuna.trial.create_trial(
                state=trial.state,
                values=trial.values,
                params=own | named,
                distributions={name: trial.distributions[name] for name in own} | distributions,
                user_attrs=trial.user_attrs,
                intermediate_values=trial.intermediate_values,
                constraints=trial.constraints,
            )
        )
    return copies


def warn_renamed(study: Study, space: ArchitectureSpace) -> None:
    """Warn when the study's trials name their designs as an earlier version did.

    Their designs are recognised (:func:`held_designs`), but a sampler such as TPE models each
    parameter by its name and does not learn from them (:meth:`ArchitectureSpace.renamed`).
    """
    renamed = sum(space.renamed(trial.params) for trial in study_trials(study))
    if renamed:
        warnings.warn(
            f"{renamed} trials of study {study.study_name!r} name their designs as an earlier "
            "version of the advisor did (schedule for every geometry; representation, width_0 "
            "... one by one), not as this one (schedule[GEOMETRY], widths[WINDOWS]; "
            'docs/INTEGRATIONS.md, "Flat parameters"): their designs are not proposed again, '
            "but samplers such as TPE, which model each parameter by its name, do not learn "
            "from them. Copy them under this version's names into a new study: "
            "new_study.add_trials(renamed_trials(study, sampler.space)).",
            UserWarning,
            stacklevel=3,
        )
