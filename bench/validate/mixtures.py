"""The hidden-structure benchmark: a 1-D task that local pooling and mirror pooling each half serve.

Run (about 10 CPU-minutes, one thread)::

    .venv/bin/python -m bench.validate.mixtures [--epochs 8] [--train 4000]

**Task.** Sequences of 256 values in {-1, +1} that hide two structures at random strengths: a
fraction ``p_local`` of the neighbour pairs (2k, 2k + 1) are made equal, then a fraction
``p_mirror`` of the positions i < 128 are copied to their mirror 255 - i (copying keeps the
neighbour pairs equal, since the mirror of a pair is a pair). The label is whether
``p_local + p_mirror > 1``; sums within 0.2 of 1 are dropped, so both structures must be read to
tell the classes apart. The advisor is told exactly that: the ``local`` preset (fine stripes)
and the ``symmetry`` preset (each region with its mirror image).

**Candidates.** The advisor's top pick at 45,000 parameters with family ``mixture`` allowed (a
mixture of two trees summed at their shared levels [CTS18]), and its two members as the tree
search recommends them at the same budget. All are built by :func:`advisor.export.torch_module`
(ReLU, max pooling) and trained with :mod:`bench.validate.training`'s loop, 3 seeds each.
Results: ``bench/validate/results/mixtures.json``; docs/VALIDATION.md reports them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from advisor.export.document import torch_module
from advisor.model.architecture import Architecture
from advisor.model.budget import Budget
from advisor.model.presets import expand_task_preset
from advisor.model.results import Recommendation
from advisor.model.task import Task, parse_task
from advisor.search.recommend import recommend
from bench.report import command_parser, output_file, positive_int
from bench.validate.experiment import RESULTS, Candidate, TaskData, run_experiment
from bench.validate.training import Dataset, TrainingPlan

__all__ = ["BUDGET", "DATA", "LENGTH", "NETWORK", "hidden_structure", "picks", "task"]

LENGTH = 256
BUDGET = 45_000
_MARGIN = 0.2
DATA = (
    "1-D sequences of 256 values in {-1, +1}: a fraction p_local of the neighbour pairs made "
    "equal, then a fraction p_mirror of the first half copied to its mirror positions, both "
    "uniform in [0, 1]; label p_local + p_mirror > 1, sums within 0.2 of 1 dropped"
)
NETWORK = (
    "advisor.export.torch_module (ReLU, max pooling): the advisor's top pick at 45,000 "
    "parameters with family mixture allowed, and its two member trees as the tree search "
    "recommends them at that budget"
)
_FAMILIES = ["contiguous", "mirror", "interleaved", "dilations", "mixture"]


def task() -> Task:
    """The task as the advisor is told it: local stripes and mirror symmetry."""
    mirror = expand_task_preset("symmetry", (LENGTH,))
    correlations = [
        {"name": c.name, "a": {"indices": c.a.tolist()}, "b": {"indices": c.b.tolist()}}
        for c in mirror
    ]
    return parse_task(
        {"input": {"shape": [LENGTH]}, "preset": "local", "correlations": correlations}
    )


def hidden_structure(
    count: int, seed: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Draw ``count`` sequences ``(count, LENGTH)`` and their labels (module docstring)."""
    rng = np.random.default_rng(seed)
    inputs: list[npt.NDArray[np.float64]] = []
    labels: list[int] = []
    half = LENGTH // 2
    while len(labels) < count:
        p_local, p_mirror = rng.random(2)
        if abs(p_local + p_mirror - 1.0) < _MARGIN:
            continue
        x = rng.choice([-1.0, 1.0], size=LENGTH)
        pairs = rng.random(half) < p_local
        x[1::2][pairs] = x[0::2][pairs]
        mirrored = np.flatnonzero(rng.random(half) < p_mirror)
        x[LENGTH - 1 - mirrored] = x[mirrored]
        inputs.append(x)
        labels.append(int(p_local + p_mirror > 1.0))
    return np.asarray(inputs, dtype=np.float32), np.asarray(labels, dtype=np.int64)


def picks(the_task: Task) -> list[Recommendation]:
    """The advisor's top pick and, when it is a mixture, its members as the tree search has them."""
    budget = Budget(
        max_parameters=BUDGET, top_k=8, geometries=_FAMILIES, time_limit_seconds=120, outputs=2
    )
    top = recommend(the_task, budget).recommendations[0]
    mixture = top.architecture.mixture
    if mixture is None:
        return [top]
    members = [top.architecture.geometry, *(m.geometry for m in mixture.members)]
    trees = recommend(the_task, budget.model_copy(update={"geometries": tuple(_FAMILIES[:-1])}))
    found = {r.architecture.geometry: r for r in reversed(trees.recommendations)}
    return [top, *(found[geometry] for geometry in members)]


def _candidate(name: str, architecture: Architecture) -> Candidate:
    return Candidate(name, architecture, lambda: torch_module(architecture))


def main() -> None:
    """Ask the advisor, then train its pick and the pick's members."""
    parser = command_parser(description=__doc__.partition("\n")[0])
    parser.add_argument("--epochs", type=positive_int, default=8)
    parser.add_argument("--train", type=positive_int, default=4000)
    parser.add_argument("--test", type=positive_int, default=1000)
    parser.add_argument("--output", type=output_file, default=RESULTS / "mixtures.json")
    arguments = parser.parse_args()
    the_task = task()
    chosen = picks(the_task)
    for rec in chosen:
        print(
            f"#{rec.rank} {rec.architecture.family}: score {rec.score:.4f}, "
            f"{rec.parameters:,} parameters"
        )
    train = Dataset.from_arrays(*hidden_structure(arguments.train, seed=1))
    test = Dataset.from_arrays(*hidden_structure(arguments.test, seed=2))
    candidates = [
        _candidate(f"{rec.architecture.family}#{rec.rank}", rec.architecture) for rec in chosen
    ]
    run_experiment(
        "mixtures",
        [TaskData("hidden", train, test)],
        candidates,
        TrainingPlan(epochs=arguments.epochs),
        seeds=[0, 1, 2],
        protocol={
            "data": DATA,
            "network": NETWORK,
            "budget": BUDGET,
            "scores": {f"{r.architecture.family}#{r.rank}": r.score for r in chosen},
            "margin": _MARGIN,
        },
        output=arguments.output,
    )


if __name__ == "__main__":
    main()
