"""The search's synthesized layouts against the data's arrangement (docs/INFER.md, "Synthesis").

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

No training. Results go to ``bench/infer/results/synthesized.json``.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from advisor.infer.arrangement import surrogate_entanglement
from advisor.infer.graph import DependenceGraph
from advisor.model.budget import Budget
from advisor.model.task import Task
from advisor.search.recommend import recommend
from advisor.search.synthesis import Synthesizer, layout_permutation, synthesis_variants
from advisor.seprank.labels import correlation_labels
from bench.infer.datasets import DATASETS, load
from bench.infer.run import RESULTS, arm_orders, permuted_split, standard_cnn, training_graph

__all__ = ["LAYOUTS", "halving_pools", "layout_entanglement", "main", "synthesized_layouts"]

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
        task, budget.model_copy(update={"geometries": ["synthesized"], "min_depth": 2, "top_k": 1})
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


def layout_entanglement(
    graph: DependenceGraph, orders: dict[str, _Ints], task: Task, budget: Budget
) -> dict[str, tuple[float, ...]]:
    """Per-level surrogate entanglement of every order and of the task's synthesized layouts."""
    search, variants = synthesized_layouts(task, budget)
    figures = {name: surrogate_entanglement(graph, order) for name, order in orders.items()}
    figures["synthesized-search"] = surrogate_entanglement(graph, search)
    figures["synthesized-best"] = min(
        (surrogate_entanglement(graph, variant) for variant in variants), key=sum
    )
    return figures


def _data_set(name: str) -> dict[str, Any]:
    data = load(name)
    budget = Budget(
        max_parameters=standard_cnn(data.shape, data.classes).parameters, representation_kernel=3
    )
    runs = []
    for seed in range(SEEDS):
        shuffle, permuted, train = permuted_split(data, seed)
        orders, inferred, _ = arm_orders(data, permuted, train, shuffle, seed)
        graph = training_graph(data, permuted, train)
        figures = layout_entanglement(
            graph, orders, inferred.task, budget.model_copy(update={"seed": seed})
        )
        runs.append({"seed": seed, **{layout: list(levels) for layout, levels in figures.items()}})
        print(name, seed, {k: round(sum(v), 3) for k, v in figures.items()}, file=sys.stderr)
    return {"data_set": name, "runs": runs}


def report(document: dict[str, Any]) -> str:
    """One markdown table row: each layout's total, mean ± std over the seeds."""
    cells = []
    for layout in LAYOUTS:
        totals = [sum(run[layout]) for run in document["runs"]]
        cells.append(f"{np.mean(totals):.3f} ± {np.std(totals):.3f}")
    return f"| {document['data_set']} | " + " | ".join(cells) + " |"


def main() -> int:
    """Measure every data set, write the results, print the table."""
    documents = [_data_set(name) for name in DATASETS]
    path = RESULTS / "synthesized.json"
    path.write_text(json.dumps(documents, indent=1) + "\n")
    print("| data set | " + " | ".join(LAYOUTS) + " |\n|" + "---|" * (len(LAYOUTS) + 1))
    print("\n".join(report(document) for document in documents))
    return 0


if __name__ == "__main__":
    sys.exit(main())
