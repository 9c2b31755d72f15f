"""The synthesized layouts against the arrangement (docs/INFER.md, "Synthesized layouts").

The ``synthesized`` family folds pooling trees from a task's correlation labels
(:mod:`advisor.search.synthesis`); the arrangement cuts the data's dependence graph directly
(:mod:`advisor.infer.arrangement`). Both are input permutations under contiguous pooling, so both
are measured here by what the arrangement minimises: the surrogate entanglement of the canonical
partitions (:func:`~advisor.infer.arrangement.surrogate_entanglement`, per level and total).

Per data set and seed, the protocol of bench/infer/run.py (features permuted, 70/30 split, the
graph and every arrangement from the training split) and its orders (``original``, ``random``,
``metis``, ``igtd``, ``advisor``), then from the task inferred from that graph:

- ``synthesized-search``: the permutation of the synthesized net the search ranks first
  (``geometries=["synthesized"]``, at least 2 levels, the small CNN's parameter count);
- ``synthesized-best``: every synthesis variant folded on the halving schedule (the canonical
  tree itself), the one with the lowest total.

No training, except ``--train NAME...``: the small CNN of bench/infer/run.py trained on the
``synthesized-best`` layout of those data sets (same plan and seeds as the run's arms). Results go
to ``bench/infer/results/synthesized.json``; the table printed is each layout's total, mean ± std
over the seeds.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import torch

from advisor.infer.arrangement import surrogate_entanglement
from advisor.infer.graph import DependenceGraph
from advisor.model.budget import Budget
from advisor.model.task import Task
from advisor.search.recommend import recommend
from advisor.search.synthesis import Synthesizer, layout_permutation, synthesis_variants
from advisor.seprank.labels import correlation_labels
from bench.infer.datasets import DATASETS, load
from bench.infer.run import (
    RESULTS,
    arm_orders,
    permuted_split,
    standard_cnn,
    train_arm,
    training_graph,
    training_plan,
)
from bench.report import command_parser

__all__ = [
    "LAYOUTS",
    "halving_pools",
    "layout_entanglement",
    "main",
    "synthesized_layouts",
    "synthesized_orders",
]

LAYOUTS: Final = (
    "original",
    "random",
    "metis",
    "igtd",
    "advisor",
    "synthesized-search",
    "synthesized-best",
)
SEEDS: Final = 3

_Ints = npt.NDArray[np.int64]


def halving_pools(shape: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """The schedule whose contiguous tree is the canonical one: 2 along every axis left, per level.

    Raises
    ------
    ValueError
        If an axis is not a power of two (the canonical halves would be unequal).
    """
    if any(n & (n - 1) for n in shape):
        raise ValueError(f"shape {shape}: every axis must be a power of two")
    pools = []
    grid = list(shape)
    while math.prod(grid) > 1:
        pool = tuple(2 if n > 1 else 1 for n in grid)
        pools.append(pool)
        grid = [n // p for n, p in zip(grid, pool, strict=True)]
    return tuple(pools)


def synthesized_layouts(task: Task, budget: Budget) -> tuple[_Ints, list[_Ints]]:
    """The search's first synthesized permutation, and every variant's on the halving schedule."""
    ranked = recommend(
        task, budget.model_copy(update={"geometries": ("synthesized",), "min_depth": 2, "top_k": 1})
    )
    first = ranked.recommendations[0].architecture
    if first.family != "synthesized":
        raise ValueError(f"the search ranked {first.family!r} first, not a synthesized tree")
    search = np.asarray(first.geometry.permutation, dtype=np.int64)  # type: ignore[union-attr]
    shape = task.input.shape
    correlations = task.resolved()
    synthesizer = Synthesizer(correlation_labels(correlations, task.input.num_locations), shape)
    pools = halving_pools(shape)
    variants = [
        layout_permutation(shape, pools, synthesizer.windows(pools, variant)).astype(np.int64)
        for variant in synthesis_variants([c.weight for c in correlations])
    ]
    return search, variants


def synthesized_orders(graph: DependenceGraph, task: Task, budget: Budget) -> dict[str, _Ints]:
    """The search's first synthesized layout, and the variant crossing the least dependence."""
    search, variants = synthesized_layouts(task, budget)
    best = min(variants, key=lambda variant: sum(surrogate_entanglement(graph, variant)))
    return {"synthesized-search": search, "synthesized-best": best}


def layout_entanglement(
    graph: DependenceGraph, orders: dict[str, _Ints]
) -> dict[str, tuple[float, ...]]:
    """The figure this bench reports: each order's surrogate entanglement per canonical level."""
    return {layout: surrogate_entanglement(graph, order) for layout, order in orders.items()}


def _data_set(name: str, train_synthesized: bool) -> dict[str, Any]:
    data = load(name)
    cnn = standard_cnn(data.shape, data.classes)
    budget = Budget(max_parameters=cnn.parameters, representation_kernel=cnn.representation_kernel)
    runs = []
    for seed in range(SEEDS):
        shuffle, permuted, train = permuted_split(data, seed)
        orders, inferred, _ = arm_orders(data, permuted, train, shuffle, seed)
        graph = training_graph(data, permuted, train)
        seeded = budget.model_copy(update={"seed": seed})
        orders |= synthesized_orders(graph, inferred.found(), seeded)
        figures = layout_entanglement(graph, orders)
        run: dict[str, Any] = {"seed": seed, **{k: list(v) for k, v in figures.items()}}
        if train_synthesized:
            order = orders["synthesized-best"]
            run["trained"] = train_arm(data, permuted, train, order, cnn, training_plan(name), seed)
        runs.append(run)
        print(name, seed, {k: round(sum(v), 3) for k, v in figures.items()}, file=sys.stderr)
    return {"data_set": name, "runs": runs}


def report(document: dict[str, Any]) -> str:
    """One markdown table row: each layout's total, mean ± sample std over the seeds."""
    cells = []
    for layout in LAYOUTS:
        totals = [sum(run[layout]) for run in document["runs"]]
        cells.append(f"{np.mean(totals):.3f} ± {np.std(totals, ddof=1):.3f}")
    return f"| {document['data_set']} | " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    """Measure every data set (training on ``--train``'s), write the results, print the table."""
    parser = command_parser(prog="python -m bench.infer.synthesized")
    parser.add_argument(
        "--train",
        nargs="*",
        choices=list(DATASETS),
        default=[],
        help="also train the small CNN on the synthesized-best layout of these data sets",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    documents = [_data_set(name, name in args.train) for name in DATASETS]
    path = RESULTS / "synthesized.json"
    path.write_text(json.dumps(documents, indent=1) + "\n")
    print("| data set | " + " | ".join(LAYOUTS) + " |\n|" + "---|" * (len(LAYOUTS) + 1))
    print("\n".join(report(document) for document in documents))
    for document in documents:
        trained = [run["trained"]["test_accuracy"] for run in document["runs"] if "trained" in run]
        if trained:
            print(
                f"{document['data_set']}: synthesized-best, small CNN, test accuracy "
                f"{100 * np.mean(trained):.1f} ± {100 * np.std(trained, ddof=1):.1f} %"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
