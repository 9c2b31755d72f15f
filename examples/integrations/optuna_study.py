"""An Optuna study that starts from the advisor's designs (docs/INTEGRATIONS.md, "Optuna").

The AdvisorSampler proposes the advisor's top designs as the first trials, then TPE takes over
in the same space; the objective draws its design with ``suggest_architecture`` (which refuses
over-budget designs before any training) and an ``AnalyzePruner`` skips TPE's designs
that couple the task's correlations far below the advisor's best. ``learn=True`` re-ranks the
advisor's remaining designs from the values seen so far.

``evaluate`` stands in for training so the example runs in seconds: replace it with your
training loop, e.g. on ``advisor.torch_module(architecture)`` (the ``torch`` extra). The
end-to-end study with training is ``bench/automl_study.py``.

    .venv/bin/pip install -e ".[optuna]"
    .venv/bin/python examples/integrations/optuna_study.py [--target HOST:PORT]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna

from advisor import Budget, load_task
from advisor.integrations.optuna import (
    AdvisorSampler,
    AnalyzePruner,
    suggest_architecture,
)
from advisor.integrations.proposals import AdvisorSource
from advisor.model.architecture import Architecture

TASK = load_task(Path(__file__).resolve().parents[1] / "symmetry.yaml")
BUDGET = Budget(max_parameters=50_000, top_k=5)


def evaluate(architecture: Architecture) -> float:
    """Stand-in for training: replace with your training loop's validation accuracy."""
    return architecture.parameters / BUDGET.max_parameters


def main() -> None:
    """Run a 15-trial study and print each trial."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", help="an advisor server (default: the library in-process)")
    parser.add_argument("--trials", type=int, default=15)
    args = parser.parse_args()
    source = AdvisorSource(target=args.target)
    sampler = AdvisorSampler(TASK, BUDGET, source=source, seed=0, learn=True)
    pruner = AnalyzePruner(TASK, sampler.designs[0], source=source, threshold=0.5)

    def objective(trial: optuna.Trial) -> float:
        architecture = suggest_architecture(trial, sampler.space)
        if "advisor.rank" not in trial.user_attrs:
            pruner.check(trial, architecture)  # another sampler's design: analysed first
        return evaluate(architecture)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=args.trials)
    space = sampler.space
    for trial in study.trials:
        source_name = (
            f"advisor #{trial.user_attrs['advisor.rank']}"
            if ("advisor.rank" in trial.user_attrs)
            else "TPE"
        )
        geometry = trial.params.get("geometry", "")
        # The schedule's parameter depends on the geometry (schedule, or schedule[mirror]: the
        # schedules mirror pooling can pool).
        schedule = trial.params.get(space.schedule_parameter(geometry), "") if geometry else ""
        print(
            f"{trial.number:3d} {source_name:11s} {trial.state.name:8s} "
            f"{geometry:28s} {schedule:18s} "
            f"{trial.user_attrs.get('advisor.parameters', '')!s:>7s} {trial.value}"
        )


if __name__ == "__main__":
    main()
