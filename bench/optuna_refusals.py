"""Optuna trials after the advisor's proposals: refused over the budget, over the compute bound.

Run ``python -m bench.optuna_refusals`` (needs the ``optuna`` extra). For each input (padded and
not) and each fallback (TPE, random), 3 studies of 60 trials with seeds 0-2: ``AdvisorSampler``
(the ``symmetry`` preset, top 5, a complete search), objective the design's share of the
parameter budget (no training). Of the trials after the proposals it counts those refused over
the parameter budget, those over the search's compute bound (not refused, but outside the
search's space), the distinct designs run per study and their mean share of the budget. The
figures are docs/INTEGRATIONS.md's, "Flat parameters".
"""

from __future__ import annotations

import json
from collections.abc import Callable

import optuna

from advisor import Budget, parse_task
from advisor.integrations.optuna import (
    ARCHITECTURE_ATTR,
    RANK_ATTR,
    AdvisorSampler,
    suggest_architecture,
)
from advisor.integrations.space import ArchitectureSpace
from advisor.model.architecture import parse_architecture
from advisor.search.run import SearchRun
from advisor.stopping import StopSignal
from bench.report import at_least, command_parser, positive_int

CASES: tuple[tuple[tuple[int, ...], int], ...] = (
    ((13,), 5_000),
    ((15, 15), 30_000),
    ((5, 9, 9), 50_000),
    ((16, 16), 50_000),
    ((64,), 20_000),
)
"""Inputs and parameter budgets: three the search pads (13, 15x15, 5x9x9), two it does not."""

PROPOSALS = 5
"""The advisor's designs each study starts with (the budget's ``top_k``); the trials after them
are the ones counted."""


def _objective(space: ArchitectureSpace, max_parameters: int) -> Callable[[optuna.Trial], float]:
    """Return the objective: the drawn design's share of the parameter budget (no training)."""

    def objective(trial: optuna.Trial) -> float:
        return suggest_architecture(trial, space).parameters / max_parameters

    return objective


def measure(
    shape: tuple[int, ...], max_parameters: int, fallback: str, studies: int, trials: int
) -> str:
    """Run the studies of one input and fallback; return their line of figures."""
    task = parse_task({"input": {"shape": list(shape)}, "preset": "symmetry"})
    budget = Budget(max_parameters=max_parameters, top_k=PROPOSALS, time_limit_seconds=None)
    bound = SearchRun(task, budget, StopSignal(), None).ladders.max_multiply_adds
    after = over = compute = 0
    distinct: list[int] = []
    shares: list[float] = []
    for seed in range(studies):
        random = fallback == "random"
        other = (
            optuna.samplers.RandomSampler(seed=seed)
            if random
            else optuna.samplers.TPESampler(seed=seed)
        )
        sampler = AdvisorSampler(task, budget, fallback=other)
        study = optuna.create_study(sampler=sampler, direction="maximize")
        study.optimize(_objective(sampler.space, max_parameters), n_trials=trials)
        designs = set()
        for trial in study.trials:
            if RANK_ATTR in trial.user_attrs:
                continue
            after += 1
            over += "exceed" in trial.user_attrs.get("advisor.refused", "")
            if trial.value is None:
                continue
            designs.add(trial.user_attrs[ARCHITECTURE_ATTR])
            shares.append(trial.value)
            architecture = parse_architecture(json.loads(trial.user_attrs[ARCHITECTURE_ATTR]))
            compute += bound is not None and architecture.multiply_adds > bound
        distinct.append(len(designs))
    name = "x".join(map(str, shape))
    return (
        f"{name} ({max_parameters:,}) {fallback}: {after} trials after the proposals, "
        f"over budget {over / after:.0%}, over the compute bound {compute / after:.0%}, "
        f"distinct designs per study {distinct}, "
        f"mean share of the budget {sum(shares) / max(1, len(shares)):.2f}"
    )


def main() -> None:
    """Print one line per input and fallback."""
    parser = command_parser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=positive_int, default=3)
    parser.add_argument(
        "--trials",
        type=at_least(
            PROPOSALS + 1,
            f": the first {PROPOSALS} trials of a study are the advisor's proposals, and the "
            "figures count the trials after them",
        ),
        default=60,
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for shape, max_parameters in CASES:
        for fallback in ("tpe", "random"):
            print(measure(shape, max_parameters, fallback, args.studies, args.trials), flush=True)


if __name__ == "__main__":
    main()
