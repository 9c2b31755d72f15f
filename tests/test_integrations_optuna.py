"""Optuna: the advisor's top K as the first K trials, then TPE; budget refusal; determinism."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
import warnings
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from advisor_client.connection import RetryPolicy, TlsConfig
from advisor_client.errors import InvalidArgumentError, ResourceExhaustedError, UnavailableError

optuna = pytest.importorskip("optuna")

from advisor import Budget, load_task, parse_task  # noqa: E402
from advisor.errors import InvalidRequestError, StalePageTokenError  # noqa: E402
from advisor.geometry.layouts import input_permutation  # noqa: E402
from advisor.integrations.optuna import (  # noqa: E402
    ARCHITECTURE_ATTR,
    BUDGET_CONSTRAINT,
    COUPLING_ATTR,
    PARAMETERS_ATTR,
    PARAMS_ATTR,
    RANK_ATTR,
    SCORE_ATTR,
    AdvisorSampler,
    AnalyzePruner,
    budget_constraints,
    enqueue_recommendations,
    renamed_trials,
    suggest_architecture,
    suggest_parameters,
)
from advisor.integrations.proposals import AdvisorSource, fetch_ranking  # noqa: E402
from advisor.integrations.space import ArchitectureSpace  # noqa: E402
from advisor.model.architecture import parse_architecture  # noqa: E402
from advisor.model.results import SearchResult  # noqa: E402
from advisor.model.task import Task  # noqa: E402
from advisor.search import paging  # noqa: E402
from advisor.search.recommend import recommend  # noqa: E402
from advisor.search.run import SearchRun  # noqa: E402
from advisor.seprank.analysis import analyze  # noqa: E402
from advisor.service.limits import RequestLimits  # noqa: E402
from advisor.service.server import ServerConfig, start_server  # noqa: E402
from advisor.stopping import StopSignal  # noqa: E402
from advisor.version import RANKING_VERSION  # noqa: E402
from tests.support.certificates import make_certificates  # noqa: E402
from tests.support.scripted import closed_target  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

TASK = load_task("examples/symmetry.yaml")
BUDGET = Budget(max_parameters=50_000, top_k=6, time_limit_seconds=30.0)
K = BUDGET.top_k
FREE_BUDGET = BUDGET.model_copy(update={"width_profile": "free"})
"""Free widths: drawn one by one, so a draw may exceed the budget (the refusal's cases)."""
RANKING = recommend(TASK, BUDGET.model_copy(update={"time_limit_seconds": None})).recommendations


def _objective(space_of: Any) -> Any:
    """A synthetic objective: the fraction of the budget the design uses (no training)."""

    def objective(trial: Any) -> float:
        architecture = suggest_architecture(trial, space_of())
        return architecture.parameters / BUDGET.max_parameters

    return objective


def _study(seed: int | None, trials: int, **options: Any) -> tuple[Any, AdvisorSampler]:
    sampler = AdvisorSampler(TASK, BUDGET, seed=seed, **options)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(_objective(lambda: sampler.space), n_trials=trials)
    return study, sampler


def _params(study: Any) -> list[dict[str, Any]]:
    return [trial.params for trial in study.trials]


def test_the_first_k_trials_are_the_advisors_top_k_then_tpe() -> None:
    study, sampler = _study(seed=0, trials=K + 6)
    assert len(RANKING) == K
    space = sampler.space
    expected = [space.codec.encode(r.architecture) for r in RANKING]
    trials = study.trials
    for trial, design, params in zip(trials[:K], RANKING, expected, strict=True):
        assert trial.user_attrs[RANK_ATTR] == design.rank
        assert trial.params == space.trial_parameters(params)
        assert trial.user_attrs[ARCHITECTURE_ATTR] == design.architecture.model_dump_json(
            exclude_none=True
        )
        assert trial.value == pytest.approx(design.parameters / BUDGET.max_parameters)
    assert all(RANK_ATTR not in trial.user_attrs for trial in trials[K:])
    # TPE proposes from the same space after the proposals.
    for trial in trials[K:]:
        for name, value in trial.params.items():
            assert value in space.choices(name)


def test_proposals_past_the_fallbacks_start_up_trials_are_the_advisors_designs() -> None:
    # A multivariate TPE past its start-up trials samples the shared parameters as one group
    # (the relative sample): a proposal must still run as the design it is labelled.
    fallback = optuna.samplers.TPESampler(seed=0, n_startup_trials=2, multivariate=True)
    study, _ = _study(seed=None, trials=K, fallback=fallback)
    for trial, design in zip(study.trials, RANKING, strict=True):
        assert trial.user_attrs[RANK_ATTR] == design.rank
        assert trial.user_attrs[ARCHITECTURE_ATTR] == design.architecture.model_dump_json(
            exclude_none=True
        )


def test_the_advisors_designs_on_an_awkward_grid_are_tried_not_refused() -> None:
    # The search pads 15x15 to 16x16: its designs carry the padding through the flat parameters
    # (in the schedule), so every proposal decodes to the design itself.
    task = parse_task({"input": {"shape": [15, 15]}, "preset": "symmetry"})
    budget = Budget(max_parameters=30_000, top_k=3, time_limit_seconds=None)
    designs = recommend(task, budget).recommendations
    sampler = AdvisorSampler(task, budget, seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(lambda trial: suggest_architecture(trial, sampler.space).parameters, n_trials=3)
    assert [trial.state.name for trial in study.trials] == ["COMPLETE"] * 3
    for trial, design in zip(study.trials, designs, strict=True):
        assert design.architecture.padding is not None
        assert trial.user_attrs[ARCHITECTURE_ATTR] == design.architecture.model_dump_json(
            exclude_none=True
        )


@pytest.mark.parametrize("shape", [[5, 9, 9], [15, 15], [13]])
@pytest.mark.parametrize("fallback", ["tpe", "random"])
def test_the_trials_after_the_proposals_are_designs_on_a_padded_grid(
    shape: list[int], fallback: str
) -> None:
    # On a padded grid the space holds permutations and schedules of several grids: drawn
    # independently, 6 to 16 of the 37 trials after the proposals paired a permutation with
    # another grid's schedule, or mirror with windows of 3 or 5, and were refused. Drawn
    # jointly, none is; the proposals stay first and a seed still repeats the study.
    task = parse_task({"input": {"shape": shape}, "preset": "symmetry"})
    budget = Budget(max_parameters=30_000, top_k=3, time_limit_seconds=None)
    designs = recommend(task, budget).recommendations

    study = _budget_study(task, budget, fallback)
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials[:3]] == [d.rank for d in designs]
    for trial, design in zip(study.trials, designs, strict=False):
        assert trial.user_attrs[ARCHITECTURE_ATTR] == design.architecture.model_dump_json(
            exclude_none=True
        )
    refused = [t.user_attrs.get("advisor.refused", "") for t in study.trials]
    assert [r for r in refused if "not a valid design" in r] == []
    assert _params(_budget_study(task, budget, fallback)) == _params(study)


@pytest.mark.parametrize(
    ("shape", "max_parameters"), [([13], 5_000), ([64], 20_000), ([15, 15], 30_000)]
)
@pytest.mark.parametrize("fallback", ["tpe", "random"])
def test_the_trials_after_the_proposals_fit_the_budget_and_the_compute_bound(
    shape: list[int], max_parameters: int, fallback: str
) -> None:
    # Each width drawn on its own from every width some fitting ladder uses, 15 to 25 of the
    # 37 trials after the proposals exceeded the parameter budget (13 steps at 5,000: 55% of
    # such trials over 3 studies with TPE) and some more the search's compute bound. Drawn as
    # one ladder of the drawn tree within both, none does; the proposals stay first and a
    # seed still repeats the study.
    task = parse_task({"input": {"shape": shape}, "preset": "symmetry"})
    budget = Budget(max_parameters=max_parameters, top_k=3, time_limit_seconds=None)
    designs = recommend(task, budget).recommendations
    bound = SearchRun(task, budget, StopSignal(), None).ladders.max_multiply_adds
    assert bound is not None

    study = _budget_study(task, budget, fallback)
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials[:3]] == [d.rank for d in designs]
    assert [t.user_attrs.get("advisor.refused") for t in study.trials] == [None] * 40
    for trial in study.trials:
        architecture = parse_architecture(json.loads(trial.user_attrs[ARCHITECTURE_ATTR]))
        assert architecture.parameters <= max_parameters
        assert architecture.multiply_adds <= bound
    assert _params(_budget_study(task, budget, fallback)) == _params(study)


def test_the_trials_keep_the_budgets_activation_bound() -> None:
    # The ladders a tree's widths are drawn from are the search's, within every bound it holds
    # its designs to: a bound below the unbounded pick's activations holds every trial.
    task = parse_task({"input": {"shape": [64]}, "preset": "symmetry"})
    budget = Budget(max_parameters=20_000, top_k=3, time_limit_seconds=None)
    bound = recommend(task, budget).recommendations[0].activations - 1
    study = _budget_study(task, budget.model_copy(update={"max_activations": bound}), "tpe")
    assert [t.user_attrs.get("advisor.refused") for t in study.trials] == [None] * 40
    for trial in study.trials:
        architecture = parse_architecture(json.loads(trial.user_attrs[ARCHITECTURE_ATTR]))
        assert architecture.activations <= bound


def test_the_same_seed_gives_the_same_trials() -> None:
    first, _ = _study(seed=7, trials=K + 5)
    again, _ = _study(seed=7, trials=K + 5)
    other, _ = _study(seed=8, trials=K + 5)
    assert _params(first) == _params(again)
    assert _params(first)[:K] == _params(other)[:K]


def test_a_design_the_study_holds_is_not_proposed_again() -> None:
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    enqueue_recommendations(study, TASK, BUDGET, 2)
    study.optimize(_objective(lambda: sampler.space), n_trials=K + 1)
    keys = [tuple(sorted(trial.params.items())) for trial in study.trials]
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials[:2]] == [1, 2]
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials[2:K]] == list(range(3, K + 1))
    assert len(set(keys[:K])) == K


def _earlier_trial(space: ArchitectureSpace, design: Any, **own: float) -> Any:
    """A finished trial of ``design`` as the version before ``schedule[GEOMETRY]`` named it.

    ``schedule`` for every geometry, ``representation`` and ``width_0`` ... one by one, and
    the objective's own parameters ``own`` (floats in [0, 1]).
    """
    flat = space.codec.encode(design.architecture)
    del flat["depth"]
    choices = {"geometry": space.geometries, "schedule": space.schedules}
    distributions = {
        name: optuna.distributions.CategoricalDistribution(
            choices.get(name, space.representations if name == "representation" else space.widths)
        )
        for name in flat
    }
    for name in own:
        distributions[name] = optuna.distributions.FloatDistribution(0.0, 1.0)
    return optuna.trial.create_trial(
        params=flat | own,
        distributions=distributions,
        value=design.parameters / BUDGET.max_parameters,
        user_attrs={RANK_ATTR: design.rank, PARAMETERS_ATTR: design.parameters},
    )


def test_a_study_under_the_earlier_parameter_names_is_recognised_with_a_warning() -> None:
    # Resumed, a study whose trials named designs 1 and 2 as the earlier version did had both
    # proposed again, silently, and TPE learnt nothing from them.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    study = optuna.create_study(direction="maximize", study_name="earlier", sampler=sampler)
    study.add_trials([_earlier_trial(sampler.space, design) for design in RANKING[:2]])
    with pytest.warns(UserWarning, match=r"2 trials of study 'earlier' .* earlier version"):
        study.optimize(_objective(lambda: sampler.space), n_trials=2)
    assert [t.user_attrs[RANK_ATTR] for t in study.trials[2:]] == [3, 4]

    other = optuna.create_study(direction="maximize", study_name="earlier")
    other.add_trials([_earlier_trial(sampler.space, design) for design in RANKING[:2]])
    with pytest.warns(UserWarning, match="renamed_trials"):
        enqueue_recommendations(other, TASK, BUDGET, 4)
    queued = other.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.user_attrs[RANK_ATTR] for t in queued] == [3, 4]


def test_renamed_trials_carry_an_earlier_study_into_this_versions_names() -> None:
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    space = sampler.space
    earlier = optuna.create_study(direction="maximize")
    earlier.add_trials([_earlier_trial(space, design, lr=0.5) for design in RANKING[:3]])
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.add_trials(renamed_trials(earlier, space))
    for trial, design in zip(study.trials, RANKING, strict=False):
        assert trial.params == space.trial_parameters(space.codec.encode(design.architecture)) | {
            "lr": 0.5
        }
        assert trial.value == design.parameters / BUDGET.max_parameters
        assert trial.user_attrs[RANK_ATTR] == design.rank
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is under the earlier names any more

        def objective(trial: Any) -> float:
            trial.suggest_float("lr", 0.0, 1.0)
            return suggest_architecture(trial, space).parameters / BUDGET.max_parameters

        study.optimize(objective, n_trials=1)
    assert study.trials[3].user_attrs[RANK_ATTR] == 4


def test_a_trial_queued_with_the_objectives_own_parameters_runs_the_next_design() -> None:
    # Queued with {"lr": 0.01}, the first trial ran the fallback's design, not the advisor's
    # best: any queued parameter counted as a design of its own. Part of a design still does.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial({"lr": 0.01})
    study.enqueue_trial({"lr": 0.02, "geometry": "contiguous"})

    def objective(trial: Any) -> float:
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        return suggest_architecture(trial, sampler.space).parameters / BUDGET.max_parameters

    study.optimize(objective, n_trials=3)
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials] == [1, None, 2]
    assert [t.params["lr"] for t in study.trials[:2]] == [0.01, 0.02]
    assert study.trials[1].params["geometry"] == "contiguous"
    first = RANKING[0].architecture.model_dump_json(exclude_none=True)
    assert study.trials[0].user_attrs[ARCHITECTURE_ATTR] == first


def test_a_study_resumed_with_another_space_is_refused_naming_the_parameter() -> None:
    # Resumed with another budget, the space offers other ladders: Optuna said only that
    # "CategoricalDistribution does not support dynamic value space", not which or why.
    first = AdvisorSampler(TASK, BUDGET, proposals=1, seed=0)
    study = optuna.create_study(direction="maximize", sampler=first)
    study.optimize(_objective(lambda: first.space), n_trials=2)
    # A budget whose #1 is the same tree (four 2x2 mirror levels), so the resumed proposal
    # suggests the ladder parameter the first trials stored, with other choices.
    smaller = BUDGET.model_copy(update={"max_parameters": 15_000})
    study.sampler = resumed = AdvisorSampler(TASK, smaller, proposals=1, seed=0)
    with pytest.raises(ValueError, match=r"^\S+: this space's choices differ .* resume the study"):
        study.optimize(_objective(lambda: resumed.space), n_trials=1)


@pytest.mark.parametrize(
    ("sampler", "own"),
    [("advisor", ["cosine", "step"]), ("advisor", ["cosine"]), ("tpe", ["cosine", "step"])],
)
def test_an_objectives_own_parameter_under_a_designs_name_is_refused_saying_so(
    sampler: str, own: list[str]
) -> None:
    # An objective that suggests its learning rate's "schedule" besides the design was told
    # that the study's earlier trials offered other choices (a resumed study's cause), to
    # suggest from AdvisorSampler.space, which it does, or that a wrapping sampler fixed the
    # parameter (one choice, which Optuna takes without the sampler): never to rename it.
    advisor = AdvisorSampler(TASK, BUDGET, proposals=1, seed=0)
    chosen = advisor if sampler == "advisor" else optuna.samplers.TPESampler(seed=0)
    study = optuna.create_study(direction="maximize", sampler=chosen)

    def objective(trial: Any) -> float:
        trial.suggest_categorical("schedule", own)
        return suggest_architecture(trial, advisor.space).parameters / BUDGET.max_parameters

    with pytest.raises(ValueError, match=r"^schedule: ") as raised:
        study.optimize(objective, n_trials=1)
    assert "give the objective's own parameters other names" in str(raised.value)
    assert "earlier trials" not in str(raised.value)


def test_a_pickled_sampler_goes_on_as_the_original_also_from_an_earlier_versions_pickle() -> None:
    # An earlier version pickled its space and the proposals' parameters under its names: the
    # restored sampler suggested the proposals under names the objective no longer asks for
    # (representation, width_0 ...), so the fallback drew the widths of trials labelled with
    # the advisor's ranks. Now neither is pickled; both are rebuilt from the designs.
    def run(sampler: AdvisorSampler, study: Any, trials: int) -> None:
        study.sampler = sampler
        study.optimize(_objective(lambda: sampler.space), n_trials=trials)

    original = AdvisorSampler(TASK, BUDGET, seed=0)
    study = optuna.create_study(direction="maximize")
    run(original, study, 2)
    state = original.__getstate__()
    assert "widths[" not in str(state)
    earlier = state | {
        "_space": original.space,
        "_params": [original.space.codec.encode(d.architecture) for d in original.designs],
    }
    del earlier["_warned"]
    restored = AdvisorSampler.__new__(AdvisorSampler)
    restored.__setstate__(earlier)
    run(restored, study, 2)
    for trial, design in zip(study.trials, RANKING, strict=False):
        assert trial.user_attrs[RANK_ATTR] == design.rank
        assert trial.user_attrs[ARCHITECTURE_ATTR] == design.architecture.model_dump_json(
            exclude_none=True
        )
    fresh, again = AdvisorSampler(TASK, BUDGET, seed=0), optuna.create_study(direction="maximize")
    run(fresh, again, 2)
    run(pickle.loads(pickle.dumps(fresh)), again, 2)
    assert _params(again) == _params(study)
    # An earlier learning sampler kept the values it learnt from (_observed, now read from
    # the study): dropped, as the study has them.
    learnt = AdvisorSampler(TASK, BUDGET, seed=0, learn=True).__getstate__()
    restored.__setstate__(learnt | {"_observed": {0: 1.0}})
    resumed = optuna.create_study(direction="maximize")
    run(restored, resumed, 2)
    assert _ranks(resumed) == [1, 2]


@pytest.mark.parametrize(
    ("queued", "unapplied"),
    [
        ({"representation": 16, "width_0": 32}, "representation=16"),
        ({"geometry": "contiguous", "schedule[mirror]": "2x2/2x2/4x4"}, "schedule[mirror]="),
    ],
)
def test_a_design_queued_in_part_under_names_the_trial_does_not_suggest_is_refused(
    queued: dict[str, Any], unapplied: str
) -> None:
    # Queued in part under names the trial does not suggest, the trial completed with a TPE
    # draw for them: no refusal, no warning (the full flat encoding was refused).
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(queued)
    study.optimize(_objective(lambda: sampler.space), n_trials=1)
    (refused,) = study.trials
    assert refused.state == optuna.trial.TrialState.PRUNED
    assert f"({unapplied}" in refused.user_attrs["advisor.refused"]
    assert "was not applied" in refused.user_attrs["advisor.refused"]


def test_a_design_queued_under_the_flat_encodings_names_is_refused_not_replaced() -> None:
    # Queued as the codec encodes it (representation, width_0 ...), the design's widths were
    # not applied (the trial suggests widths[WINDOWS]): the trial trained other widths, silently.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    space = sampler.space
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(space.codec.encode(RANKING[2].architecture))
    study.enqueue_trial(space.trial_parameters(space.codec.encode(RANKING[2].architecture)))
    study.optimize(_objective(lambda: space), n_trials=2)
    refused, run = study.trials
    assert refused.state == optuna.trial.TrialState.PRUNED
    assert "space.trial_parameters" in refused.user_attrs["advisor.refused"]
    assert run.user_attrs[ARCHITECTURE_ATTR] == RANKING[2].architecture.model_dump_json(
        exclude_none=True
    )
    fixed = optuna.trial.FixedTrial(run.params)  # re-running a trial's parameters still works
    assert suggest_architecture(fixed, space) == RANKING[2].architecture
    with pytest.raises(ValueError, match="'schedule' is not found"):  # Optuna's, unchanged
        suggest_architecture(optuna.trial.FixedTrial({"geometry": "contiguous"}), space)


def test_a_design_queued_under_names_the_trial_does_not_apply_is_still_proposed() -> None:
    # The refused trial held the design it was queued with, which it never ran: the sampler
    # skipped the advisor's design #2 for good (ranks 1, 3, 4 ...), and nothing said so.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    space = sampler.space
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(space.codec.encode(RANKING[1].architecture))
    study.optimize(_objective(lambda: space), n_trials=4)
    refused, *proposed = study.trials
    assert refused.state == optuna.trial.TrialState.PRUNED
    assert [t.user_attrs.get(RANK_ATTR) for t in proposed] == [1, 2, 3]
    assert proposed[1].user_attrs[ARCHITECTURE_ATTR] == RANKING[1].architecture.model_dump_json(
        exclude_none=True
    )


def test_a_design_queued_outside_the_space_is_refused_naming_the_parameter() -> None:
    # Queued with a ladder or geometry the space does not offer, the trial failed with
    # Optuna's "'999-1' not in ('4-8', ... 315 choices)", naming no parameter, and the
    # failure stopped study.optimize; a design given by hand that is no design is refused.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    space = sampler.space
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(
        {"geometry": "contiguous", "schedule": "4x4/4x4", "widths[4x4/4x4]": "999-1"}
    )
    study.enqueue_trial({"geometry": "mirror:unknown"})
    study.optimize(_objective(lambda: space), n_trials=3)
    ladder, geometry, proposal = study.trials
    assert [ladder.state, geometry.state] == [optuna.trial.TrialState.PRUNED] * 2
    assert ladder.user_attrs["advisor.refused"].startswith(
        "not a design of the space: widths[4x4/4x4]: the trial was queued with '999-1'"
    )
    refused = geometry.user_attrs["advisor.refused"]
    assert "geometry: the trial was queued with 'mirror:unknown'" in refused
    assert proposal.user_attrs[RANK_ATTR] == 1  # the study goes on
    other = optuna.create_study()
    other.enqueue_trial({"geometry": "mirror:unknown"})
    with pytest.raises(ValueError, match=r"^geometry: the trial was queued with 'mirror:unk"):
        suggest_parameters(other.ask(), space)  # Ray Tune's define-by-run: an error, no pruning


def test_the_trials_after_the_proposals_do_not_scan_the_study(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every trial read every trial's design to skip proposals held: a study of n trials cost
    # n^2 reads (0.3 s per 100 trials at 900). Once every design is proposed, none is read.
    sampler = AdvisorSampler(
        TASK, BUDGET, proposals=2, learn=True, fallback=optuna.samplers.RandomSampler(seed=0)
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_objective(lambda: sampler.space), n_trials=40)
    reads = 0
    flat_parameters = ArchitectureSpace.flat_parameters

    def counted(space: ArchitectureSpace, suggested: Any) -> Any:
        nonlocal reads
        reads += 1
        return flat_parameters(space, suggested)

    monkeypatch.setattr(ArchitectureSpace, "flat_parameters", counted)
    study.optimize(_objective(lambda: sampler.space), n_trials=10)
    assert reads <= 2 * 10  # the trial's own design, and its queued one (none here)


def test_a_proposal_a_wrapping_sampler_overrides_is_refused_naming_the_parameter() -> None:
    # PartialFixedSampler fixed the geometry: the trials ran contiguous designs labelled as the
    # advisor's (permutation) designs #1 to #3, the third repeating the first.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fixed = optuna.samplers.PartialFixedSampler({"geometry": "contiguous"}, sampler)
    study = optuna.create_study(direction="maximize", sampler=fixed)
    with pytest.raises(ValueError, match=r"^geometry: the advisor's design #1 takes .*'contig"):
        study.optimize(_objective(lambda: sampler.space), n_trials=1)


def test_a_proposal_its_trial_never_suggested_goes_back_to_the_queue() -> None:
    # An objective that never used the space completed trials 0 and 1 as the advisor's #1 and
    # #2: neither design was trained, the next trials ran #3 then TPE, and learning read the
    # objective's values as those designs'.
    sampler = AdvisorSampler(TASK, BUDGET, proposals=3, seed=0, learn=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    with pytest.warns(UserWarning, match=r"^trial 0 .* without suggesting the advisor's design #1"):
        study.optimize(lambda trial: trial.suggest_float("lr", 1e-4, 1e-1, log=True), n_trials=2)
    assert sampler._observed(study) == {}
    study.optimize(_objective(lambda: sampler.space), n_trials=3)
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials] == [None, None, 1, 2, 3]
    scores = [None, None, *(r.score for r in RANKING[:3])]
    assert [t.user_attrs.get(SCORE_ATTR) for t in study.trials] == scores
    assert [t.system_attrs.get(PARAMS_ATTR) for t in study.trials[:2]] == [None, None]
    space = sampler.space
    assert [t.params for t in study.trials[2:]] == [
        space.trial_parameters(space.codec.encode(r.architecture)) for r in RANKING[:3]
    ]


def test_a_proposal_its_trial_was_refused_is_not_proposed_again() -> None:
    # The trial asked for the design and failed on it: proposed again, every trial would fail.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial: Any) -> float:
        trial.suggest_categorical("geometry", ["contiguous", "mirror"])  # not the space of #1
        return 0.0

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no proposal given back
        study.optimize(objective, n_trials=2, catch=(ValueError,))
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials] == [1, 2]
    assert all(t.state == optuna.trial.TrialState.FAIL for t in study.trials)


def test_a_design_is_held_whatever_else_its_trial_suggests() -> None:
    # The objective suggests its own learning rate besides: design 2, queued by hand with one,
    # was proposed again, as the study's parameters then differed from the proposal's.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    space = sampler.space
    study = optuna.create_study(direction="maximize", sampler=sampler)
    design = space.trial_parameters(space.codec.encode(RANKING[1].architecture))
    study.enqueue_trial(design | {"lr": 0.01})

    def objective(trial: Any) -> float:
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        return suggest_architecture(trial, space).parameters / BUDGET.max_parameters

    study.optimize(objective, n_trials=3)
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials] == [None, 1, 3]


def test_a_design_under_a_named_geometry_that_pools_alike_is_held_too() -> None:
    # The advisor's designs are permutations, and the named geometry of their family pools the
    # same network on the same schedule: a study holding design #1 as "mirror" (a fallback's
    # draw, or queued by hand) proposed #1 again, and the network was trained twice.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    space = sampler.space
    first = space.codec.encode(RANKING[0].architecture)
    assert ":" in str(first["geometry"])
    family = RANKING[0].architecture.family
    assert family is not None
    named = first | {"geometry": family}
    alias = space.codec.decode(named)
    assert input_permutation(alias).tolist() == input_permutation(RANKING[0].architecture).tolist()
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(space.trial_parameters(named))
    study.optimize(_objective(lambda: space), n_trials=3)
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials] == [None, 2, 3]
    assert space.canonical(first) == named and space.canonical(named) == named


def test_a_proposal_the_objectives_space_cannot_hold_is_refused_naming_the_parameter() -> None:
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    narrow = enqueue_recommendations(study, TASK, BUDGET, 2)  # the first two designs' space
    third = sampler.space.codec.encode(RANKING[2].architecture)
    assert third["geometry"] not in narrow.geometries
    with pytest.raises(ValueError, match=r"^geometry: the advisor's design #3 takes"):
        study.optimize(_objective(lambda: narrow), n_trials=3)
    assert [t.user_attrs.get(RANK_ATTR) for t in study.trials] == [1, 2, 3]


def test_one_sampler_proposes_every_design_to_each_of_its_studies() -> None:
    # The sampler kept the designs it had proposed in memory, not read from the study: a
    # second study on it (another seed of an experiment, a notebook cell run again) got none.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    first, second = (optuna.create_study(direction="maximize", sampler=sampler) for _ in range(2))
    objective = _objective(lambda: sampler.space)
    first.optimize(objective, n_trials=K + 1)
    second.optimize(objective, n_trials=2)
    first.optimize(objective, n_trials=1)  # still the fallback's: the first holds every design
    second.optimize(objective, n_trials=K - 1)
    ranks: list[int | None] = [design.rank for design in RANKING]
    assert _ranks(first) == [*ranks, None, None]
    assert _ranks(second) == [*ranks, None]
    assert [t.params for t in second.trials[:K]] == [t.params for t in first.trials[:K]]


def test_workers_under_a_hyperband_pruner_do_not_propose_a_design_twice() -> None:
    # Under a HyperbandPruner Optuna hands the sampler the trials of the new trial's bracket
    # alone: a second worker (or a resumed process) proposed the designs the first had run in
    # another bracket again (ranks 1, 2, 2, 3, 4, 5, 6, 6 of eight trials).
    storage = optuna.storages.InMemoryStorage()
    workers = []
    for seed in (0, 1):  # two workers on one storage, each with its sampler and pruner
        sampler = AdvisorSampler(TASK, BUDGET, seed=seed)
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
        study = optuna.create_study(
            storage=storage,
            study_name="shared",
            load_if_exists=True,
            sampler=sampler,
            pruner=pruner,
        )
        workers.append((study, sampler))

    def objective_of(sampler: AdvisorSampler) -> Any:
        def objective(trial: Any) -> float:
            architecture = suggest_architecture(trial, sampler.space)
            for step in range(3):  # reports: the pruner assigns brackets
                trial.report(float(step), step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return architecture.parameters / BUDGET.max_parameters

        return objective

    for number in range(K + 2):
        study, sampler = workers[number % 2]
        study.optimize(objective_of(sampler), n_trials=1)
    ranks = [t.user_attrs.get(RANK_ATTR) for t in study.trials]
    assert ranks == [design.rank for design in RANKING] + [None, None]


def _shared_workers(*proposals: int) -> list[tuple[Any, AdvisorSampler]]:
    """Workers on one storage, as processes sharing a study, each with its own sampler."""
    storage = optuna.storages.InMemoryStorage()
    workers = []
    for seed, count in enumerate(proposals):
        sampler = AdvisorSampler(TASK, BUDGET, proposals=count, seed=seed)
        study = optuna.create_study(
            storage=storage, study_name="shared", load_if_exists=True, sampler=sampler
        )
        workers.append((study, sampler))
    return workers


def _asks_between_read_and_claim(
    monkeypatch: pytest.MonkeyPatch, sampler: AdvisorSampler, other: Any
) -> None:
    """Have ``other`` ask once after ``sampler`` read the study, before it claims a design."""
    read = sampler._unheld

    def read_then_the_other_asks(study: Any) -> list[int]:
        unheld = read(study)
        monkeypatch.setattr(sampler, "_unheld", read)
        other.ask()
        return unheld

    monkeypatch.setattr(sampler, "_unheld", read_then_the_other_asks)


@pytest.mark.parametrize("proposals", [K, 1])
def test_two_workers_asking_at_once_do_not_propose_one_design_twice(
    monkeypatch: pytest.MonkeyPatch, proposals: int
) -> None:
    # Each worker read the study before the other wrote its claim, so both proposed the
    # advisor's #1 (two processes starting together on a SQLite study did in 4 of 6 runs). With
    # no other proposal left, the worker that finds its design claimed runs the fallback's.
    (first, first_sampler), (second, _) = _shared_workers(proposals, K)
    _asks_between_read_and_claim(monkeypatch, first_sampler, second)
    first.ask()
    mine, others = first.trials
    assert others.user_attrs[RANK_ATTR] == 1
    assert mine.user_attrs.get(RANK_ATTR) == (2 if proposals > 1 else None)
    assert first.ask().user_attrs.get(RANK_ATTR) == (3 if proposals > 1 else None)


def test_a_design_another_sampler_ran_is_not_proposed_again() -> None:
    # A study that already ran the advisor's #1 and #3 (e.g. found by TPE) gets the others.
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    space = sampler.space
    for design in (RANKING[0], RANKING[2]):
        params = space.trial_parameters(space.codec.encode(design.architecture))
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions={
                    name: optuna.distributions.CategoricalDistribution(space.choices(name))
                    for name in params
                },
                value=0.0,
            )
        )
    study.optimize(_objective(lambda: space), n_trials=K - 2)
    ranks = [t.user_attrs.get(RANK_ATTR) for t in study.trials[2:]]
    assert ranks == [r.rank for r in RANKING if r.rank not in (1, 3)]


def test_over_budget_designs_are_refused_and_infeasible() -> None:
    # Free widths drawn one by one by a sampler that knows nothing of the budget (the
    # AdvisorSampler caps them): many draws exceed the budget.
    space = ArchitectureSpace.for_search(TASK, FREE_BUDGET)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3), direction="maximize")
    study.optimize(_objective(lambda: space), n_trials=25)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    over = [t for t in pruned if t.user_attrs.get(PARAMETERS_ATTR, 0) > BUDGET.max_parameters]
    assert over, "the random fallback drew no over-budget design; the check proved nothing"
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete
    assert all(t.user_attrs[PARAMETERS_ATTR] <= BUDGET.max_parameters for t in complete)
    constraints = budget_constraints(BUDGET.max_parameters)
    for trial in study.trials:
        parameters = trial.user_attrs.get(PARAMETERS_ATTR)
        value = constraints(trial)[0]
        if parameters is None:
            assert value > 0
        else:
            assert value == parameters - BUDGET.max_parameters
            assert (value <= 0) == (parameters <= BUDGET.max_parameters)


@pytest.mark.parametrize("fallback", ["tpe", "random", "multivariate"])
def test_the_advisor_samplers_free_width_draws_fit_the_budget(fallback: str) -> None:
    # Free widths (M, then each width, from every allowed width): 7 of the 37 trials after the
    # proposals with TPE exceeded 50,000 parameters and were refused, wasted; at 5,000, 6 of 28
    # with a multivariate TPE, which samples M and the first width as a group. The sampler caps
    # each width at the widest choice that still fits and draws the free widths one by one, so
    # none is refused, and a seed repeats the study.
    budget = FREE_BUDGET.model_copy(update={"max_parameters": 5_000})

    def study() -> Any:
        others = {
            "random": optuna.samplers.RandomSampler(seed=0),
            "multivariate": optuna.samplers.TPESampler(
                seed=0, n_startup_trials=5, multivariate=True
            ),
        }
        default = optuna.samplers.TPESampler(seed=0)
        sampler = AdvisorSampler(TASK, budget, proposals=2, fallback=others.get(fallback, default))
        result = optuna.create_study(sampler=sampler, direction="maximize")
        result.optimize(_objective(lambda: sampler.space), n_trials=30)
        return result

    first = study()
    assert [t.state.name for t in first.trials] == ["COMPLETE"] * 30
    assert all(t.user_attrs[PARAMETERS_ATTR] <= budget.max_parameters for t in first.trials)
    assert _params(study()) == _params(first)


def test_a_free_widths_fitting_choices_are_those_that_leave_a_design_within_budget() -> None:
    space = ArchitectureSpace.for_search(TASK, FREE_BUDGET)
    drawn: dict[str, int | str] = {
        "geometry": "contiguous",
        "schedule": "2x2/2x2/4x4",
        "representation": 48,
    }
    fitting = space.fitting_widths(drawn, "width_0")
    assert fitting == space.widths[: len(fitting)]
    for width in space.widths:
        narrowest = {"width_0": width, "width_1": space.widths[0], "width_2": space.widths[0]}
        design = drawn | narrowest
        parameters = space.codec.decode(design).parameters
        assert (width in fitting) == (parameters <= FREE_BUDGET.max_parameters)
    assert space.fitting_widths(drawn | {"representation": 10**6}, "width_0") == ()
    with pytest.raises(KeyError):
        space.fitting_widths(drawn, "width_3")  # deeper than the tree


def test_a_retried_trial_runs_its_design_again_without_a_constraint_warning() -> None:
    # A trial Optuna's retry callback recreates (a worker died: its heartbeat went stale)
    # carries the failed trial's constraint: every retry, and every second call of
    # suggest_architecture in a trial, warned that "the constraint value is ignored".
    sampler = AdvisorSampler(TASK, BUDGET, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def dies(trial: Any) -> float:
        suggest_architecture(trial, sampler.space)
        raise RuntimeError("the worker died")

    study.optimize(dies, n_trials=1, catch=(RuntimeError,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback()
    retry(study, study.trials[0])

    def twice(trial: Any) -> float:
        suggest_architecture(trial, sampler.space)
        return suggest_architecture(trial, sampler.space).parameters / BUDGET.max_parameters

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study.optimize(twice, n_trials=2)
    failed, retried, second = study.trials
    assert retried.params == failed.params
    assert retried.user_attrs[RANK_ATTR] == 1 and second.user_attrs[RANK_ATTR] == 2
    assert retried.constraints == {BUDGET_CONSTRAINT: RANKING[0].parameters - BUDGET.max_parameters}


def test_the_budget_constraint_keeps_over_budget_trials_from_being_best() -> None:
    # Without the refusal the constraint alone must keep an over-budget trial from the top.
    def objective(trial: Any) -> float:
        architecture = suggest_architecture(trial, space, refuse_over_budget=False)
        return float(architecture.parameters)  # larger is "better": over-budget designs win

    space = ArchitectureSpace.for_search(TASK, FREE_BUDGET)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3), direction="maximize")
    study.optimize(objective, n_trials=20)
    values = [t.value for t in study.trials if t.value is not None]
    assert max(values) > BUDGET.max_parameters
    assert study.best_trial.user_attrs[PARAMETERS_ATTR] <= BUDGET.max_parameters
    designed = [t for t in study.trials if PARAMETERS_ATTR in t.user_attrs]
    assert len(designed) == len(study.trials)  # every draw is a design
    for trial in designed:
        excess = trial.user_attrs[PARAMETERS_ATTR] - BUDGET.max_parameters
        assert trial.constraints == {BUDGET_CONSTRAINT: excess}


def _inner_objective(sampler: AdvisorSampler) -> Any:
    """An objective that rewards the 'inner' correlation alone (a proposal's log2 rank on it)."""
    inner = [c.name for c in RANKING[0].analysis].index("inner-columns")
    by_json = {d.architecture.model_dump_json(exclude_none=True): d for d in sampler.designs}

    def objective(trial: Any) -> float:
        suggest_architecture(trial, sampler.space)
        return by_json[trial.user_attrs[ARCHITECTURE_ATTR]].analysis[inner].log2_separation_rank

    return objective


LEARNING_BUDGET = BUDGET.model_copy(update={"top_k": 12})


def _ranks(study: Any) -> list[int | None]:
    return [trial.user_attrs.get(RANK_ATTR) for trial in study.trials]


def test_learning_reorders_the_remaining_proposals() -> None:
    # The value rewards the 'inner' correlation alone; after a few proposals the sampler's
    # remaining order must put the best-coupled design on 'inner' first.
    inner = [c.name for c in RANKING[0].analysis].index("inner-columns")
    sampler = AdvisorSampler(TASK, LEARNING_BUDGET, seed=0, learn=True)
    designs = sampler.designs
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(_inner_objective(sampler), n_trials=4)
    remaining = sampler.remaining
    assert len(remaining) == len(designs) - 4
    best_left = max(d.analysis[inner].log2_separation_rank for d in remaining)
    assert remaining[0].analysis[inner].log2_separation_rank == best_left
    plain = AdvisorSampler(TASK, LEARNING_BUDGET, seed=0)
    assert [d.rank for d in plain.designs] == [d.rank for d in designs]


def test_learning_in_a_resumed_study_goes_on_from_its_proposals_values() -> None:
    # A sampler learnt only from the trials it ran itself: resumed in another process (or a
    # second worker), it proposed in the advisor's order as if nothing had been observed.
    def run(study: Any, trials: int) -> None:
        sampler = AdvisorSampler(TASK, LEARNING_BUDGET, seed=0, learn=True)
        study.sampler = sampler
        study.optimize(_inner_objective(sampler), n_trials=trials)

    whole = optuna.create_study(direction="maximize")
    run(whole, 8)
    resumed = optuna.create_study(direction="maximize")
    run(resumed, 4)
    run(resumed, 4)
    assert _ranks(resumed) == _ranks(whole)
    later = _ranks(whole)[4:]
    ranked = [rank for rank in later if rank is not None]
    assert ranked == later  # every trial is one of the advisor's proposals
    assert ranked != sorted(ranked)  # the learning moved something


@pytest.mark.parametrize("diverged", [math.inf, -math.inf])
def test_learning_leaves_out_an_infinite_value_as_it_does_a_failed_trial(diverged: float) -> None:
    # Optuna completes a trial whose value is infinite (a diverged run's loss): learning fitted
    # NaN from it, and no proposal moved for the rest of the study.
    def ranks(second: Any) -> list[int | None]:
        sampler = AdvisorSampler(TASK, LEARNING_BUDGET, seed=0, learn=True)
        objective = _inner_objective(sampler)

        def diverging(trial: Any) -> float:
            value = objective(trial)
            return cast(float, second()) if trial.number == 1 else value

        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(diverging, n_trials=8, catch=(RuntimeError,))
        return _ranks(study)

    def fails() -> float:
        raise RuntimeError("the run diverged")

    failed = ranks(fails)
    assert failed != list(range(1, 9))  # the learning moved something
    assert ranks(lambda: diverged) == failed


def test_learning_in_a_multi_objective_study_reads_the_first_objective() -> None:
    # study.direction raises in a multi-objective study: every completed proposal crashed.
    single = AdvisorSampler(TASK, LEARNING_BUDGET, seed=0, learn=True)
    study = optuna.create_study(direction="maximize", sampler=single)
    study.optimize(_inner_objective(single), n_trials=6)
    several = AdvisorSampler(TASK, LEARNING_BUDGET, seed=0, learn=True)
    first = _inner_objective(several)
    both = optuna.create_study(directions=["maximize", "minimize"], sampler=several)
    both.optimize(lambda t: (first(t), t.user_attrs[PARAMETERS_ATTR]), n_trials=6)
    assert _ranks(both) == _ranks(study)
    assert [d.rank for d in several.remaining] == [d.rank for d in single.remaining]


def test_the_pruner_scores_with_the_analysis() -> None:
    best = RANKING[0]
    pruner = AnalyzePruner(TASK, best, threshold=0.5)
    assert pruner.coupling(best.architecture) == pytest.approx(1.0)
    shallow = parse_architecture(
        {
            "input": {"shape": list(TASK.input.shape)},
            "representation": 8,
            "layers": [{"channels": 8, "pool": list(TASK.input.shape)}],
        }
    )
    reference = {c.name: c.log2_separation_rank for c in best.analysis}
    analysis = analyze(TASK, shallow).correlations
    expected = sum(
        c.weight * min(1.0, c.log2_separation_rank / reference[c.name]) for c in analysis
    ) / sum(c.weight for c in analysis)
    assert pruner.coupling(shallow) == pytest.approx(expected)
    assert expected < 0.5

    study = optuna.create_study()
    trial = study.ask()
    with pytest.raises(optuna.TrialPruned):
        pruner.check(trial, shallow)
    assert trial.user_attrs[COUPLING_ATTR] == pytest.approx(expected)
    assert pruner.check(study.ask(), best.architecture) == pytest.approx(1.0)


def test_the_in_process_source_gives_the_figures_without_the_pricing() -> None:
    architecture = RANKING[1].architecture
    priced, bare = analyze(TASK, architecture), AdvisorSource().analyze(TASK, architecture)
    assert bare.correlations == priced.correlations
    assert priced.efficiency is not None and priced.efficiency.contiguous_priced
    assert bare.efficiency is not None and not bare.efficiency.contiguous_priced


def test_a_server_target_gives_the_same_proposals() -> None:
    with start_server(ServerConfig(workers=1)) as server:
        source = AdvisorSource(target=server.address)
        served = fetch_ranking(TASK, BUDGET, K, source)
        sampler = AdvisorSampler(TASK, BUDGET, source=source, seed=0)
        assert [d.architecture for d in sampler.designs] == [d.architecture for d in RANKING]
        pruner = AnalyzePruner(TASK, RANKING[0], source=source)
        assert pruner.coupling(RANKING[1].architecture) == pytest.approx(
            AnalyzePruner(TASK, RANKING[0]).coupling(RANKING[1].architecture)
        )
    assert [d.architecture for d in served] == [d.architecture for d in RANKING]


def test_a_server_with_a_lower_max_top_k_pages_at_the_sources_page_size() -> None:
    # Pages of 50 were asked whatever the server allowed: a server started with
    # --limit max_top_k=4 refused the sampler's first call (budget.top_k 6 exceeds 4).
    limits = RequestLimits(max_top_k=4)
    with start_server(ServerConfig(workers=1, executor="threads", limits=limits)) as server:
        with pytest.raises(InvalidArgumentError) as refused_page:
            fetch_ranking(TASK, BUDGET, K, AdvisorSource(target=server.address))
        # The caller set no top_k: the refusal says which setting sizes the pages.
        assert refused_page.value.__notes__ == [
            f"top_k {K} is the page asked: AdvisorSource's page_size (50), or the designs left "
            "to ask for; pass AdvisorSource(page_size=...) at most the server's max_top_k"
        ]
        source = AdvisorSource(target=server.address, page_size=4)
        served = fetch_ranking(TASK, BUDGET, K, source)
        sampler = AdvisorSampler(TASK, BUDGET, source=source, seed=0)
        assert [d.architecture for d in sampler.designs] == [d.architecture for d in RANKING]
    assert [d.architecture for d in served] == [d.architecture for d in RANKING]
    with pytest.raises(InvalidRequestError) as refused:
        fetch_ranking(TASK, BUDGET, K, AdvisorSource(page_size=0))
    assert [v.field for v in refused.value.violations] == ["page_size"]


def _versions_answering(
    monkeypatch: pytest.MonkeyPatch, versions: Callable[[int], int]
) -> list[str | None]:
    """Have the in-process source's ``n``-th search (from 0) rank as version ``versions(n)``.

    As a server upgraded between two calls, or a fleet of two versions, answers them. Returns
    the page tokens the searches were asked, as they are asked.
    """
    asked: list[str | None] = []
    search = AdvisorSource.recommend

    def answer(
        source: AdvisorSource, task: Task, budget: Budget, stop: StopSignal | None = None
    ) -> SearchResult:
        monkeypatch.setattr(paging, "RANKING_VERSION", versions(len(asked)))
        asked.append(budget.page_token)
        return search(source, task, budget, stop)

    monkeypatch.setattr(AdvisorSource, "recommend", answer)
    return asked


def test_a_ranking_met_by_an_upgraded_server_between_two_pages_starts_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second page's token, written by the version before, was refused, and the sampler
    # failed: its caller had to tell "start again" from the English. The ranking is asked
    # again from its first page, all of it of the new version.
    source = AdvisorSource(page_size=2)
    asked = _versions_answering(monkeypatch, lambda n: RANKING_VERSION + min(n, 1))
    designs = fetch_ranking(TASK, BUDGET, K, source)
    assert [d.architecture for d in designs] == [d.architecture for d in RANKING]
    assert [token is None for token in asked] == [True, False, True, False, False]


def test_a_fleet_of_two_versions_is_asked_again_once_then_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every other call reaches the other version: asking again meets it again, so the refusal
    # is the caller's rather than a loop's.
    asked = _versions_answering(monkeypatch, lambda n: RANKING_VERSION + n % 2)
    with pytest.raises(StalePageTokenError) as refused:
        fetch_ranking(TASK, BUDGET, K, AdvisorSource(page_size=2))
    assert len(asked) == 4
    versions = (refused.value.token_ranking_version, refused.value.ranking_version)
    assert versions == (RANKING_VERSION, RANKING_VERSION + 1)


def test_the_documented_example_runs_the_advisors_designs_first() -> None:
    # examples/integrations/optuna_study.py, as the README and docs/INTEGRATIONS.md run it: its
    # first trials are the advisor's five designs (learning may reorder them), then TPE's.
    root = Path(__file__).resolve().parents[1]
    example = root / "examples" / "integrations" / "optuna_study.py"
    completed = subprocess.run(
        [sys.executable, str(example), "--trials", "8"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
        check=True,
    )
    rows = [line.split() for line in completed.stdout.splitlines()]
    assert len(rows) == 8
    proposals, tpe = rows[:5], rows[5:]
    assert all(row[1] == "advisor" and row[3] == "COMPLETE" for row in proposals)
    assert sorted(row[2] for row in proposals) == ["#1", "#2", "#3", "#4", "#5"]
    assert proposals[0][2] == "#1"
    assert all(row[1] == "TPE" for row in tpe)


def test_a_tls_server_gives_the_same_proposals_with_the_clients_connection_settings(
    tmp_path: Path,
) -> None:
    pem = make_certificates(tmp_path)
    config = ServerConfig(
        host="localhost", workers=1, tls_cert=pem.server_cert, tls_key=pem.server_key
    )
    with start_server(config) as server:
        source = AdvisorSource(target=server.address, tls=TlsConfig(root_ca=pem.ca))
        served = fetch_ranking(TASK, BUDGET, K, source)
        pruner = AnalyzePruner(TASK, RANKING[0], source=source)
        assert pruner.coupling(RANKING[0].architecture) == pytest.approx(1.0)
        # The message limit reaches the client too: the answer of a search outgrows 1 KiB.
        small = AdvisorSource(
            target=server.address, tls=TlsConfig(root_ca=pem.ca), max_message_bytes=1024
        )
        with pytest.raises(ResourceExhaustedError):
            fetch_ranking(TASK, BUDGET, K, small)
    assert [d.architecture for d in served] == [d.architecture for d in RANKING]


def test_the_entry_points_take_a_task_and_budget_as_the_client_does() -> None:
    # A task file and a budget mapping, as AdvisorClient takes them, stand for TASK and BUDGET.
    mapping: dict[str, Any]  # a budget document
    path, mapping = "examples/symmetry.yaml", {"max_parameters": 50_000, "top_k": K}
    mapping["time_limit_seconds"] = 30.0
    expected = [d.architecture for d in RANKING]
    assert [d.architecture for d in fetch_ranking(path, mapping, K)] == expected
    assert [d.architecture for d in AdvisorSampler(path, mapping).designs] == expected
    study = optuna.create_study()
    enqueue_recommendations(study, dict(TASK.model_dump(mode="json")), mapping, 2)
    assert [t.user_attrs[RANK_ATTR] for t in study.trials] == [1, 2]
    pruner = AnalyzePruner(path, RANKING[0])
    assert pruner.coupling(RANKING[0].architecture) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: enqueue_recommendations(optuna.create_study(), TASK, BUDGET, -1), "k"),
        (lambda: AdvisorSampler(TASK, BUDGET, proposals=-3), "proposals"),
        (lambda: AdvisorSampler(TASK, BUDGET, proposals=cast(Any, 2.5)), "proposals"),
        (lambda: fetch_ranking(TASK, BUDGET, -1), "count"),
        (lambda: budget_constraints(-5), "max_parameters"),
        (lambda: budget_constraints(0), "max_parameters"),
        (lambda: budget_constraints(2.5e5 + 0.5), "max_parameters"),
        (lambda: AdvisorSampler(cast(Any, 42), BUDGET), "task"),
        (lambda: AdvisorSampler("absent.yaml", BUDGET), "task"),
        (lambda: AdvisorSampler(TASK, {"max_parameters": -1}), "budget.max_parameters"),
        (lambda: fetch_ranking(TASK, cast(Any, 50_000), 3), "budget"),
        (lambda: AnalyzePruner({"input": {}}, RANKING[0]), "task.input.shape"),
        # The seed was silently ignored: the study did not repeat.
        (
            lambda: AdvisorSampler(TASK, BUDGET, seed=0, fallback=optuna.samplers.RandomSampler()),
            "seed",
        ),
        # NumPy's errors before, not naming the seed: "Seed must be between 0 and 2**32 - 1",
        # "Cannot cast scalar from dtype('float64') to dtype('int64')".
        (lambda: AdvisorSampler(TASK, BUDGET, seed=-1), "seed"),
        (lambda: AdvisorSampler(TASK, BUDGET, seed=2**32), "seed"),
        (lambda: AdvisorSampler(TASK, BUDGET, seed=cast(Any, 1.5)), "seed"),
        # Read as truthy before: learn="no" re-ranked the proposals.
        (lambda: AdvisorSampler(TASK, BUDGET, learn=cast(Any, "no")), "learn"),
        # An AttributeError in the first trial before ('str' object has no attribute ...).
        (lambda: AdvisorSampler(TASK, BUDGET, source=cast(Any, "localhost:50051")), "source"),
        (lambda: AdvisorSampler(TASK, BUDGET, fallback=cast(Any, "tpe")), "fallback"),
        (lambda: AnalyzePruner(TASK, RANKING[0], source=cast(Any, "localhost:50051")), "source"),
        (lambda: fetch_ranking(TASK, BUDGET, 1, cast(Any, {"target": "a:1"})), "source"),
        (lambda: AdvisorSource(timeout=-1.0), "timeout"),
        (lambda: AdvisorSource(timeout=cast(Any, "30")), "timeout"),
        (lambda: AdvisorSource(timeout=float("inf")), "timeout"),
        # Built before, refused only in the first call (page_size: in fetch_ranking).
        (lambda: AdvisorSource(page_size=-1), "page_size"),
        (lambda: AdvisorSource(token=cast(Any, 123)), "token"),
        (lambda: AdvisorSource(token="two words\n"), "token"),
        (lambda: AdvisorSource(target=cast(Any, 5)), "target"),
        (lambda: AdvisorSource(target="http://host:50051"), "target"),
        # gRPC would call port 443 in plaintext; the client refused it only once it was made.
        (lambda: AdvisorSource(target="localhost"), "target"),
        (lambda: AdvisorSource(max_message_bytes=0), "max_message_bytes"),
        (lambda: AdvisorSource(tls=cast(Any, "ca.pem")), "tls"),
        (lambda: AdvisorSource(target="a:1", retry=cast(Any, "wait")), "retry"),
        # Accepted and unused before: in-process, nothing connects.
        (lambda: AdvisorSource(token="secret"), "token"),
        (lambda: AdvisorSource(tls=TlsConfig()), "tls"),
        (lambda: AdvisorSource(max_message_bytes=2**23), "max_message_bytes"),
        (lambda: AdvisorSource(retry=RetryPolicy(busy_wait_seconds=60)), "retry"),
        # AttributeErrors before ('NoneType' object has no attribute '_storage', ...).
        (lambda: enqueue_recommendations(cast(Any, None), TASK, BUDGET, 2), "study"),
        (
            lambda: AnalyzePruner(TASK, RANKING[0]).check(cast(Any, None), RANKING[0].architecture),
            "trial",
        ),
        (lambda: AnalyzePruner(TASK, RANKING[0]).coupling(cast(Any, RANKING[0])), "architecture"),
    ],
    ids=[
        "enqueue-k",
        "sampler-proposals",
        "sampler-proposals-float",
        "fetch-count",
        "constraints-negative",
        "constraints-zero",
        "constraints-fraction",
        "sampler-task-type",
        "sampler-task-file",
        "sampler-budget",
        "fetch-budget-type",
        "pruner-task",
        "sampler-seed-with-fallback",
        "sampler-seed-negative",
        "sampler-seed-too-large",
        "sampler-seed-float",
        "sampler-learn-text",
        "sampler-source-address",
        "sampler-fallback-name",
        "pruner-source-address",
        "fetch-source-mapping",
        "source-timeout-negative",
        "source-timeout-text",
        "source-timeout-infinite",
        "source-page-size-negative",
        "source-token-number",
        "source-token-line-break",
        "source-target-number",
        "source-target-url",
        "source-target-no-port-plaintext",
        "source-max-message-bytes-zero",
        "source-tls-path",
        "source-retry-text",
        "source-token-in-process",
        "source-tls-in-process",
        "source-max-message-bytes-in-process",
        "source-retry-in-process",
        "enqueue-study-none",
        "pruner-trial-none",
        "pruner-architecture-recommendation",
    ],
)
def test_a_bad_argument_is_refused_naming_it(call: Any, field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        call()
    assert [v.field for v in caught.value.violations] == [field]


def test_a_samplers_repr_names_its_search_and_the_designs_left() -> None:
    # It showed <advisor.integrations.optuna.AdvisorSampler object at 0x...>.
    sampler = AdvisorSampler(TASK, BUDGET, proposals=3, seed=0)
    searched = "<AdvisorSampler 16x16, max_parameters=50,000:"
    assert repr(sampler) == f"{searched} 3 proposals, not asked yet>"  # asks nothing
    assert len(sampler.designs) == 3  # asks the advisor
    assert repr(sampler) == f"{searched} 3 designs, 3 left, 0 held>"
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_objective(lambda: sampler.space), n_trials=2)
    assert repr(sampler) == f"{searched} 3 designs, 1 left, 2 held>"
    # A count of one said "1 proposals", "1 designs".
    single = AdvisorSampler(TASK, BUDGET, proposals=1, seed=0)
    assert repr(single) == f"{searched} 1 proposal, not asked yet>"
    assert len(single.designs) == 1
    assert repr(single) == f"{searched} 1 design, 1 left, 0 held>"


def test_a_sources_repr_never_shows_its_token() -> None:
    # The dataclass's repr showed token='SECRET-TOKEN', where the client's never shows it.
    shown = repr(AdvisorSource(target="host:1", token="SECRET-TOKEN"))
    assert "SECRET" not in shown
    assert "target='host:1'" in shown


def test_an_in_process_source_stops_each_search_at_its_timeout() -> None:
    # Documented as each call's deadline, it was ignored in-process: the search ran to its end.
    # A timeout far below the search's own first step stops it there, on any machine.
    result = AdvisorSource(timeout=1e-9).recommend(TASK, Budget(max_parameters=20_000))
    assert not result.complete
    assert AdvisorSource().recommend(TASK, Budget(max_parameters=20_000)).complete


@pytest.mark.parametrize("threshold", ["0.5", True, None, 0.0, 1.5, float("nan")])
def test_a_pruner_threshold_that_is_not_a_share_is_refused_naming_it(threshold: Any) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        AnalyzePruner(TASK, RANKING[0], threshold=threshold)
    assert [v.field for v in raised.value.violations] == ["threshold"]


@pytest.mark.parametrize("threshold", [np.float32(0.5), np.float16(1.0), Fraction(1, 2)])
def test_a_pruner_threshold_of_any_real_type_is_read_as_the_share_it_equals(
    threshold: Any,
) -> None:
    # NumPy's float32 was refused with "must be in (0, 1], got np.float32(0.5)".
    pruner = AnalyzePruner(TASK, RANKING[0], threshold=threshold)
    assert pruner.threshold == float(threshold)
    assert type(pruner.threshold) is float


def test_a_pruner_best_design_of_another_task_is_refused_naming_it() -> None:
    # Before, the pruner was built, and every trial it checked failed with a bare KeyError of
    # the first correlation the design's analysis did not name.
    other = load_task("examples/tasks/local.yaml")
    designs = fetch_ranking(other, {"max_parameters": 50_000}, 1)
    with pytest.raises(InvalidRequestError) as raised:
        AnalyzePruner(TASK, designs[0])
    assert [v.field for v in raised.value.violations] == ["best"]
    assert "left-vs-right" in str(raised.value)  # the first correlation it lacks
    with pytest.raises(InvalidRequestError) as raised:
        AnalyzePruner(TASK, cast(Any, RANKING[0].architecture))
    assert [v.field for v in raised.value.violations] == ["best"]


def _budget_study(task: Task, budget: Budget, fallback: str, trials: int = 40) -> Any:
    """Run a seeded study whose objective is the drawn design's parameter count."""
    random = fallback == "random"
    other = optuna.samplers.RandomSampler(seed=0) if random else optuna.samplers.TPESampler(seed=0)
    sampler = AdvisorSampler(task, budget, fallback=other)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(lambda t: suggest_architecture(t, sampler.space).parameters, n_trials=trials)
    return study


def test_a_ranking_its_time_limit_cut_is_warned_of_and_a_whole_one_is_not() -> None:
    # A ranking cut by the search's time limit depends on the machine's speed: a study resumed
    # on another machine, or another worker, could be handed other designs (and refused with
    # "choices differ"), and nothing said the ranking was partial.
    task = load_task("examples/tasks/start_end.yaml")
    budget = Budget(max_parameters=50_000, time_limit_seconds=1e-9)
    with pytest.warns(UserWarning, match=r"complete \(its time limit, 1e-09 s\): 1 design ranked"):
        cut = fetch_ranking(task, budget, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole = fetch_ranking(task, budget.model_copy(update={"time_limit_seconds": None}), 6)
    assert len(cut) < len(whole) == 6


def test_a_ranking_whose_later_page_a_stop_cut_returns_the_pages_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A later page cut before every tree was scored is refused (its ranks would not be the
    # ranking's): the sampler keeps the whole pages before it, warned of as cut, not an error.
    executed = SearchRun.execute
    # The later pages' searches stopped after most trees: each ranks what it scored.
    monkeypatch.setattr(SearchRun, "execute", lambda run: executed(run) and not run.offset)
    with pytest.warns(UserWarning, match=r"before it was complete .*: 2 designs ranked"):
        designs = fetch_ranking(TASK, BUDGET, K, AdvisorSource(page_size=2))
    assert [d.architecture for d in designs] == [d.architecture for d in RANKING[:2]]


def test_the_constraints_budget_is_read_as_a_budgets_count_is() -> None:
    # The sampler's Budget(max_parameters=2e5) was taken and budget_constraints(2e5) refused.
    trial = optuna.trial.create_trial(value=0.0, user_attrs={PARAMETERS_ATTR: 150_000})
    assert budget_constraints(2e5)(trial) == [-50_000.0]
    assert budget_constraints(200_000)(trial) == [-50_000.0]


def test_a_whole_ranking_shorter_than_asked_is_warned_of_once() -> None:
    # proposals=20 on a whole ranking of 12 designs proposed 12, and nothing said so.
    budget = BUDGET.model_copy(update={"time_limit_seconds": None})
    held = len(recommend(TASK, budget.model_copy(update={"top_k": 50})).recommendations)
    short = rf"only {held} designs: those are all it gives$"
    sampler = AdvisorSampler(TASK, budget, proposals=held + 1, seed=0)
    with pytest.warns(UserWarning, match=rf"^proposals={held + 1}, but .*{short}") as record:
        assert len(sampler.designs) == held
        assert len(sampler.designs) == held  # asked once: warned once
    assert len(record) == 1
    with pytest.warns(UserWarning, match=rf"^budget.top_k={held + 1}, but .*{short}"):
        top = AdvisorSampler(TASK, budget.model_copy(update={"top_k": held + 1}), seed=0)
        assert len(top.designs) == held
    with pytest.warns(UserWarning, match=rf"^k={held + 1}, but .*{short}"):
        enqueue_recommendations(optuna.create_study(), TASK, budget, held + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(AdvisorSampler(TASK, budget, proposals=held, seed=0).designs) == held


def test_proposed_and_queued_trials_carry_the_designs_score() -> None:
    # Katib's trials carried the advisor's score (the advisor.score label), Optuna's did not.
    study, sampler = _study(0, 2)
    queued = optuna.create_study(direction="maximize")
    space = enqueue_recommendations(queued, TASK, BUDGET, 2)
    queued.optimize(_objective(lambda: space), n_trials=2)
    for trials in (study.trials, queued.trials):
        ranks = [t.user_attrs[RANK_ATTR] for t in trials]
        assert ranks == [1, 2]
        assert [t.user_attrs[SCORE_ATTR] for t in trials] == [r.score for r in sampler.designs[:2]]


def test_a_served_ranking_whose_later_page_its_time_limit_cut_returns_the_pages_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server refuses such a page with INVALID_ARGUMENT on budget.time_limit_seconds, which the
    # client raises as its InvalidArgumentError, not the library's InvalidRequestError: the
    # sampler's study died with it at its first trial instead of keeping the pages before it.
    executed = SearchRun.execute
    monkeypatch.setattr(SearchRun, "execute", lambda run: executed(run) and not run.offset)
    cut = r"before it was complete .*: 2 designs ranked"
    with start_server(ServerConfig(workers=1, executor="threads")) as server:
        source = AdvisorSource(target=server.address, page_size=2)
        with pytest.warns(UserWarning, match=cut):
            designs = fetch_ranking(TASK, BUDGET, K, source)
        with pytest.warns(UserWarning, match=cut):
            queued = optuna.create_study()
            enqueue_recommendations(queued, TASK, BUDGET, K, source=source)
        with pytest.warns(UserWarning, match=cut):
            proposed = AdvisorSampler(TASK, BUDGET, source=source, seed=0).designs
    first = [d.architecture for d in RANKING[:2]]
    assert [d.architecture for d in designs] == [d.architecture for d in proposed] == first
    assert [t.user_attrs[RANK_ATTR] for t in queued.get_trials()] == [1, 2]


def _sqlite_study(tmp_path: Path, sampler: Any = None) -> Any:
    """The study in an SQLite file under ``tmp_path``, as a pipeline's RDB storage keeps one.

    Made, or loaded when an earlier call made it (a resumed study).
    """
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    return optuna.create_study(
        storage=storage, study_name="s", sampler=sampler, load_if_exists=True
    )


@pytest.mark.parametrize(
    ("source", "budget", "error", "remedy"),
    [
        (lambda: AdvisorSource(target=closed_target()), BUDGET, UnavailableError, "running"),
        (AdvisorSource, Budget(max_parameters=100), InvalidRequestError, "budget.max_parameters"),
    ],
    ids=["server-down", "budget-refused"],
)
def test_a_ranking_the_advisor_cannot_give_fails_the_trial_asking_for_it(
    tmp_path: Path, source: Callable[[], AdvisorSource], budget: Budget, error: type, remedy: str
) -> None:
    # The error came from study.ask, before Optuna's handler of the objective's: each attempt
    # left its trial RUNNING in the storage for good, and the error named neither the study
    # nor what to do.
    sampler = AdvisorSampler(TASK, budget, source=source(), seed=0)
    study = _sqlite_study(tmp_path, sampler)
    with pytest.raises(error) as raised:
        study.optimize(_objective(lambda: sampler.space), n_trials=3)
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.FAIL]
    (note,) = raised.value.__notes__
    assert "trial 0 of study 's', which is marked FAIL" in note
    assert remedy in note and "sampler.designs before study.optimize" in note
    with pytest.raises(error):  # asked again, and before any trial exists
        assert sampler.designs
    assert len(study.get_trials()) == 1


def test_a_pruner_whose_server_is_down_fails_the_trial_it_checks(tmp_path: Path) -> None:
    # As documented: the analysis is asked in the objective, so Optuna fails that trial and
    # re-raises the client's error (unless study.optimize's catch names it).
    pruner = AnalyzePruner(TASK, RANKING[0], source=AdvisorSource(target=closed_target()))
    study = _sqlite_study(tmp_path)
    with pytest.raises(UnavailableError):
        study.optimize(lambda t: pruner.check(t, RANKING[1].architecture), n_trials=2)
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.FAIL]


def test_a_study_resumed_after_a_ranking_its_time_limit_cut_is_told_so(tmp_path: Path) -> None:
    # Run with a time limit that cut the ranking, then resumed with the same proposals and a
    # longer limit, the study was told to "resume the study with those it was run with",
    # which the user had done: nothing named the cut ranking, nor what to do about it.
    cut = AdvisorSampler(TASK, BUDGET.model_copy(update={"time_limit_seconds": 1e-9}), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cut ranking's, tested above
        _sqlite_study(tmp_path, cut).optimize(_objective(lambda: cut.space), n_trials=1)
    whole = AdvisorSampler(TASK, BUDGET.model_copy(update={"time_limit_seconds": None}), seed=0)
    resumed = _sqlite_study(tmp_path, whole)
    with pytest.raises(ValueError, match=r"^\S+: this space's choices differ") as raised:
        resumed.optimize(_objective(lambda: whole.space), n_trials=1)
    said = str(raised.value)
    assert "the likely cause is a ranking a time limit cut" in said
    assert "start a new study with a time limit every search completes within" in said
