"""Ray Tune with the advisor, two ways (docs/INTEGRATIONS.md, "Ray Tune").

``--mode sampler``: Ray's ``OptunaSearch`` driven by :class:`AdvisorSampler`: the advisor's
ranked designs are the first trials, then TPE. ``--mode points``: plain ``OptunaSearch`` (TPE)
with the advisor's designs as ``points_to_evaluate``. Both search the same flat parameters
(advisor.integrations.encoding); the trainable decodes them into an architecture.

``evaluate`` stands in for training: it returns the advisor's own score of the design, so the
example runs in seconds. Replace it with your training loop (e.g. ``advisor.torch_module``).

    .venv/bin/pip install -e ".[optuna]" "ray[tune]"
    .venv/bin/python examples/integrations/ray_tune.py --samples 8

Prints one JSON line per trial, in the order Ray created them: the flat parameters and the score.
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import ray
from ray import tune
from ray.tune.search.optuna import OptunaSearch

from advisor import Budget, InvalidRequestError, load_task
from advisor.integrations.optuna import AdvisorSampler, suggest_parameters
from advisor.integrations.proposals import fetch_ranking
from advisor.integrations.space import ArchitectureSpace
from advisor.model.architecture import Architecture
from advisor.search.recommend import score_architecture

TASK = load_task(Path(__file__).resolve().parents[1] / "symmetry.yaml")
BUDGET = Budget(max_parameters=50_000, top_k=4)


def evaluate(architecture: Architecture) -> float:
    """Stand-in for training: the search's score of the design (replace with your training)."""
    if architecture.parameters > BUDGET.max_parameters:
        return 0.0
    return score_architecture(TASK, BUDGET, architecture)


def trainable_for(space: ArchitectureSpace) -> Any:
    """Return Ray's trainable: decode the flat parameters, evaluate the design."""

    def trainable(config: dict[str, Any]) -> dict[str, float]:
        started = float(time.monotonic_ns())  # trials run one at a time: their creation order
        try:
            architecture = space.codec.decode(config)
        except InvalidRequestError:  # a combination that is not a design
            return {"score": 0.0, "started": started}
        return {"score": evaluate(architecture), "started": started}

    return trainable


def search_for(mode: str, seed: int) -> tuple[OptunaSearch, ArchitectureSpace]:
    """Return Ray's search (AdvisorSampler, or TPE with points_to_evaluate) and its space."""
    if mode == "sampler":
        sampler = AdvisorSampler(TASK, BUDGET, seed=seed)
        space = sampler.space
        # Define-by-run; a partial (not a closure) because Ray pickles the search.
        define_by_run = functools.partial(suggest_parameters, space=space)
        return OptunaSearch(define_by_run, sampler=sampler, metric="score", mode="max"), space
    designs = fetch_ranking(TASK, BUDGET, BUDGET.top_k)
    space = ArchitectureSpace.for_search(TASK, BUDGET, designs)
    # Each design as the parameters suggest_parameters suggests: its schedule under the name
    # its geometry draws it by (schedule[GEOMETRY] on a padded grid), M and the widths as the
    # tree's ladder (widths[WINDOWS]), no depth (implied).
    points = [space.trial_parameters(space.codec.encode(d.architecture)) for d in designs]

    search = OptunaSearch(
        functools.partial(suggest_parameters, space=space),
        metric="score",
        mode="max",
        points_to_evaluate=points,
        sampler=optuna.samplers.TPESampler(seed=seed),
    )
    return search, space


def main() -> None:
    """Run the Ray Tune study and print its trials in order."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["sampler", "points"], default="sampler")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    search, space = search_for(args.mode, args.seed)
    with tempfile.TemporaryDirectory() as storage:
        tuner = tune.Tuner(
            trainable_for(space),
            tune_config=tune.TuneConfig(
                search_alg=search, num_samples=args.samples, max_concurrent_trials=1
            ),
            run_config=tune.RunConfig(storage_path=storage, verbose=0),
        )
        results = tuner.fit()
    for result in sorted(results, key=lambda r: r.metrics["started"]):
        print(json.dumps({"params": result.config, "score": result.metrics["score"]}))
    ray.shutdown()


if __name__ == "__main__":
    main()
