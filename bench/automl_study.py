"""End-to-end Optuna study with training: AdvisorSampler vs plain TPE vs random.

The task is the trained-outcome benchmark's ``sequence-mirror`` (bench/outcomes/data.py: 64-step
sequences of sparse +-1 events, the label planted at mirrored steps; docs/OUTCOMES.md), with its
data, protocol (3,000 training and 2,000 test examples, 6 epochs, batch 64) and network
(bench/validate's ``TreeNet``, He init, max pooling, trained by bench/validate's loop), and its
budget (the doubling baseline's 11,446 parameters). The advisor sees the benchmark's description
of the task (bench/outcomes/tasks/sequence-mirror.yaml: the symmetry preset).

Every sampler gets the same objective: draw a design with
:func:`advisor.integrations.optuna.suggest_architecture` from one space
(:class:`~advisor.integrations.space.ArchitectureSpace` of the search), train it with the study's
seed (so a design trained in two studies of one seed gets the same accuracy: such runs are
cached), return the test accuracy. Designs that are not valid or exceed the budget are refused
before training (pruned); they count as trials, as in a real study, and the number of trainings
is reported beside the curve.

Samplers, at equal trial counts per study: ``advisor`` (AdvisorSampler: the advisor's top
``PROPOSALS`` designs, then TPE), ``tpe`` (TPESampler) and ``random`` (RandomSampler), each for
every seed of ``SEEDS``. Results go to ``bench/validate/results/automl_study.json`` and the
best-accuracy-vs-trials curve to ``docs/integrations-optuna-study.png``.

Run: ``PYTHONPATH=. .venv/bin/python -m bench.automl_study`` (one thread; about 5 CPU-minutes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import command_parser, positive_int

RESULTS = Path(__file__).parent / "validate" / "results" / "automl_study.json"
FIGURE = Path(__file__).parents[1] / "docs" / "integrations-optuna-study.png"
TASK = "sequence-mirror"
SEEDS = (0, 1, 2)
TRIALS = 40
PROPOSALS = 5
SAMPLERS = ("advisor", "tpe", "random")


def run(trials: int, seeds: Sequence[int]) -> dict[str, Any]:
    import optuna
    import torch

    from advisor.integrations.optuna import (
        PARAMETERS_ATTR,
        RANK_ATTR,
        AdvisorSampler,
        suggest_architecture,
    )
    from advisor.integrations.space import ArchitectureSpace
    from bench.outcomes.data import TASKS, DataSizes
    from bench.outcomes.describe import load_description
    from bench.outcomes.pool import doubling_baseline, search_budget
    from bench.outcomes.run import PROTOCOL
    from bench.validate.nets import TreeNet
    from bench.validate.training import TrainingPlan, train_and_test

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = TASKS[TASK]
    train, test = spec.data(DataSizes(**PROTOCOL["sizes"]), PROTOCOL["data_seed"])
    plan = TrainingPlan(**PROTOCOL["plan"])
    task = load_description(TASK)
    parameters = doubling_baseline(spec.shape, spec.classes).parameters
    budget = search_budget(parameters, spec.classes, top_k=PROPOSALS).model_copy(
        update={"time_limit_seconds": 10.0}
    )
    space: ArchitectureSpace = AdvisorSampler(task, budget).space  # one space for every sampler
    cache: dict[tuple[str, int], tuple[float, float]] = {}

    def objective_for(seed: int) -> Callable[[optuna.Trial], float]:
        def objective(trial: optuna.Trial) -> float:
            architecture = suggest_architecture(trial, space)
            key = (architecture.model_dump_json(), seed)
            if key not in cache:
                result = train_and_test(
                    lambda: TreeNet(architecture, "max", init="he"), train, test, plan, seed
                )
                cache[key] = (result.test_accuracy, result.cpu_seconds)
            trial.set_user_attr("cpu_seconds", cache[key][1])
            return cache[key][0]

        return objective

    def sampler_for(name: str, seed: int) -> optuna.samplers.BaseSampler:
        if name == "advisor":
            return AdvisorSampler(task, budget, seed=seed)
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed)
        return optuna.samplers.RandomSampler(seed=seed)

    studies = []
    started = time.process_time()
    for seed in seeds:
        for name in SAMPLERS:
            study = optuna.create_study(direction="maximize", sampler=sampler_for(name, seed))
            study.optimize(objective_for(seed), n_trials=trials)
            rows = [
                {
                    "number": t.number,
                    "state": t.state.name,
                    "accuracy": t.value,
                    "parameters": t.user_attrs.get(PARAMETERS_ATTR),
                    "advisor_rank": t.user_attrs.get(RANK_ATTR),
                    "cpu_seconds": t.user_attrs.get("cpu_seconds"),
                    "params": t.params,
                }
                for t in study.trials
            ]
            studies.append({"sampler": name, "seed": seed, "trials": rows})
            print(name, seed, [r["accuracy"] for r in rows], flush=True)
    return {
        "protocol": {
            "task": f"bench/outcomes {TASK}: the data, plan and network of bench/outcomes/run.py",
            "sizes": PROTOCOL["sizes"],
            "data_seed": PROTOCOL["data_seed"],
            "plan": PROTOCOL["plan"],
            "max_parameters": parameters,
            "proposals": PROPOSALS,
            "trials": trials,
            "seeds": list(seeds),
            "trainings": len(cache),
        },
        "cpu_seconds": time.process_time() - started,
        "studies": studies,
    }


def best_so_far(trials: Sequence[dict[str, Any]], trained_only: bool = False) -> list[float]:
    """The best accuracy after each trial (0.5, chance, before the first trained one).

    ``trained_only``: after each *trained* trial instead (refused designs left out).
    """
    best, curve = 0.5, []
    for trial in trials:
        if trial["accuracy"] is not None:
            best = max(best, trial["accuracy"])
        elif trained_only:
            continue
        curve.append(best)
    return curve


def summary(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per sampler: best after 5, 10, 20, all trials (mean and per seed), trainings per study."""
    out: dict[str, dict[str, Any]] = {}
    for name in SAMPLERS:
        studies = [s for s in document["studies"] if s["sampler"] == name]
        curves = np.array([best_so_far(s["trials"]) for s in studies])
        marks = sorted({5, 10, 20, curves.shape[1]} & set(range(1, curves.shape[1] + 1)))
        out[name] = {
            f"best_after_{m}": {
                "mean": round(float(curves[:, m - 1].mean()), 4),
                "seeds": [round(float(c), 4) for c in curves[:, m - 1]],
            }
            for m in marks
        }
        out[name]["trained"] = [
            sum(t["accuracy"] is not None for t in s["trials"]) for s in studies
        ]
    return out


def plot(document: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (by_trial, by_training) = plt.subplots(1, 2, figsize=(11.0, 4.0), sharey=True)
    for index, name in enumerate(SAMPLERS):
        studies = [s for s in document["studies"] if s["sampler"] == name]
        curves = np.array([best_so_far(s["trials"]) for s in studies])
        x = np.arange(1, curves.shape[1] + 1)
        for curve in curves:
            by_trial.plot(x, curve, color=f"C{index}", alpha=0.25, linewidth=1)
        by_trial.plot(x, curves.mean(axis=0), color=f"C{index}", linewidth=2.2, label=name)
        for curve in (best_so_far(s["trials"], trained_only=True) for s in studies):
            by_training.plot(
                np.arange(1, len(curve) + 1), curve, color=f"C{index}", marker=".", alpha=0.6
            )
    by_trial.set_xlabel("trials (refused designs included)")
    by_trial.set_ylabel("best test accuracy so far")
    seeds = len(document["protocol"]["seeds"])
    by_trial.set_title(f"{TASK}: mean over {seeds} seeds (thin: each seed)")
    by_trial.legend()
    by_training.set_xlabel("trained designs")
    by_training.set_title("the same studies, per trained design (one line per seed)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> None:
    parser = command_parser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=positive_int, default=TRIALS)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--report-only", action="store_true", help="replot the saved results")
    args = parser.parse_args(argv)
    if args.report_only:
        document = json.loads(RESULTS.read_text())
    else:
        document = run(args.trials, args.seeds)
        RESULTS.write_text(json.dumps(document, indent=1) + "\n")
    plot(document, FIGURE)
    print(json.dumps(summary(document), indent=1))
    print(f"cpu seconds: {document['cpu_seconds']:.0f}")


if __name__ == "__main__":
    main()
