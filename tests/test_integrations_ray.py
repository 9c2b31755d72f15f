"""Ray Tune: the configuration Ray builds decodes to the design; the documented example runs."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

from advisor import Budget, load_task  # noqa: E402
from advisor.integrations.optuna import AdvisorSampler, suggest_parameters  # noqa: E402
from advisor.integrations.proposals import fetch_ranking  # noqa: E402
from advisor.integrations.space import ArchitectureSpace  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "integrations" / "ray_tune.py"


def _ray_config(trial: Any, space: ArchitectureSpace) -> dict[str, Any]:
    """The configuration Ray's ``OptunaSearch`` gives a trainable of a define-by-run trial.

    As ``OptunaSearch.suggest`` builds it (Ray 2.x, ray/tune/search/optuna/optuna_search.py):
    the values the function suggested, updated with the dict it returned, then
    ``unflatten_dict``, which nests every name holding ``/`` (``widths[2x2/2x2/4x4]``).
    """
    returned = functools.partial(suggest_parameters, space=space)(trial)
    config: dict[str, Any] = {}
    for name, value in {**trial.params, **returned}.items():
        *parents, last = name.split("/")
        level = config
        for parent in parents:
            level = level.setdefault(parent, {})
        level[last] = value
    return config


@pytest.mark.parametrize("mode", ["sampler", "points"])
def test_a_ray_configuration_decodes_to_the_advisors_designs_in_order(mode: str) -> None:
    # The two ways of docs/INTEGRATIONS.md, "Ray Tune", as examples/integrations/ray_tune.py
    # builds them: AdvisorSampler, or TPE with the designs' trial parameters enqueued (what
    # OptunaSearch does with points_to_evaluate).
    task, budget = (
        load_task(ROOT / "examples" / "symmetry.yaml"),
        Budget(max_parameters=50_000, top_k=4),
    )
    if mode == "sampler":
        sampler: Any = AdvisorSampler(task, budget, seed=0)
        designs, space = sampler.designs, sampler.space
    else:
        designs = fetch_ranking(task, budget, budget.top_k)
        space = ArchitectureSpace.for_search(task, budget, designs)
        sampler = optuna.samplers.TPESampler(seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    if mode == "points":
        for design in designs:
            study.enqueue_trial(space.trial_parameters(space.codec.encode(design.architecture)))
    decoded = []
    for _ in designs:
        trial = study.ask()
        config = _ray_config(trial, space)
        assert any("/" in name for name in trial.params)  # a name Ray nests is covered
        decoded.append(space.codec.decode(config))
        study.tell(trial, 1.0)
    assert decoded == [design.architecture for design in designs]


def _run(mode: str, samples: int) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLE), "--mode", mode, "--samples", str(samples)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=True,
    )
    return [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sampler", "points"])
def test_the_first_trials_are_the_advisors_designs(mode: str) -> None:
    pytest.importorskip("ray.tune")
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import ray_tune  # the example's own task and budget
    finally:
        sys.path.pop(0)
    designs = fetch_ranking(ray_tune.TASK, ray_tune.BUDGET, ray_tune.BUDGET.top_k)
    space = ArchitectureSpace.for_search(ray_tune.TASK, ray_tune.BUDGET, designs)
    trials = _run(mode, len(designs) + 2)
    assert len(trials) == len(designs) + 2
    # Ray's configuration nests the ladder's name (widths[2x2/...]) beside the flat parameters,
    # which decode to the design.
    first = [space.codec.decode(t["params"]) for t in trials[: len(designs)]]
    assert first == [d.architecture for d in designs]
    assert [t["score"] for t in trials[: len(designs)]] == pytest.approx([d.score for d in designs])
