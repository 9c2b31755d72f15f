"""Screen an arrangement discount weighed by the data's locality, on the with-data pools.

A diagnostic beside :mod:`bench.outcomes.variants` (docs/OUTCOMES.md, "What the score misses,
read off the stored pools"): alone, the arrangement factor of docs/THEORY.md §16 ranks accuracy
positively on the image tasks and negatively on the event sequences. Max pooling discards where
in a window a feature sat, which should cost most where neighbouring locations carry dependent
signal, and the data, unlike a description, shows whether they do. So each task gets its data's
**locality** ``s`` in [0, 1]: the share of the evidence weight of its dependence graph (the
graph ``recommend --data`` reads, :func:`bench.outcomes.describe.data_description`, reduced to
the edges :func:`advisor.infer.task.edge_thresholds` counts as evidence) on pairs of grid
neighbours; where nothing is evidence, 0 (nothing shows the input is local), or 1 with
``--without-evidence 1`` (nothing shows it is not). A variant scores every member of the
with-data pool

    score_with_data * a ** (g(s) - 1)

with ``a`` the member's arrangement factor on the with-data task's objective
(:meth:`advisor.search.objective.Objective.arrangement_factor`; the pool's stored scores are
recomputed first, and a mismatch beyond :data:`RESCORED_RTOL` is an error) and ``g`` the
variant's rule: ``s`` itself, or 1 at or above a threshold and 0 below it. Neighbours are
pairs one step apart along one axis (``axis``) or along any axes (``king``; the same on a
sequence).

The tasks split in two halves, as the diagnostic split them: ``choosing`` (the tuned seven and
held-out sets 1-7), on which a variant is chosen, and ``report`` (sets 8-15), on which it is
reported once. Run::

    .venv/bin/python -m bench.outcomes.locality_screen --half choosing
    .venv/bin/python -m bench.outcomes.locality_screen --half report
    .venv/bin/python -m bench.outcomes.locality_screen --half choosing --without-evidence 1

Each prints, as markdown, every task's ``s`` and, per input kind and over the half, every
variant's mean Kendall tau, #1 within one std and #1 changed beside the control's
(:func:`bench.outcomes.variants.screen`). No training; each task's 3,000 training inputs are
generated again as ``run --with-data`` generated them (a few seconds per task).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.graph import DependenceGraph
from advisor.infer.task import edge_thresholds
from advisor.search.scoring import DesignScorer
from bench.outcomes.data import ALL_TASKS, HELD_OUT, TASKS, DataSizes
from bench.outcomes.describe import data_description
from bench.outcomes.pool import search_budget
from bench.outcomes.run import PROTOCOL, RESULTS, WITH_DATA, task_protocol
from bench.outcomes.variants import VARIANTS, Pool, Scores, Variant, read_pools, screen
from bench.report import command_parser

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]

CHOOSING_SETS: Final = 7
"""Held-out sets in the choosing half (with the tuned seven); the rest are the report half."""

HALVES: Final[dict[str, tuple[str, ...]]] = {
    "choosing": (*TASKS, *(name for tasks in HELD_OUT[:CHOOSING_SETS] for name in tasks)),
    "report": tuple(name for tasks in HELD_OUT[CHOOSING_SETS:] for name in tasks),
}
"""Each half's tasks."""

KINDS: Final[dict[str, tuple[str, ...]]] = {
    "images": ("digits", "blobs", "symmetry", "closedness"),
    "event grids": ("grid",),
    "event sequences": ("sequence",),
}
"""Input kinds by the first word of a task's name."""

NEIGHBOURS: Final[dict[str, Callable[[_Ints], npt.NDArray[np.bool_]]]] = {
    "axis": lambda apart: apart.sum(axis=0) == 1,
    "king": lambda apart: apart.max(axis=0) == 1,
}
"""Which pairs are neighbours, from the ``(axes, pairs)`` steps apart along each axis."""

RULES: Final[dict[str, Callable[[float], float]]] = {
    "s": lambda s: s,
    "[s >= 0.25]": lambda s: float(s >= 0.25),
    "[s >= 0.5]": lambda s: float(s >= 0.5),
}
"""The exponent ``g(s)`` each rule gives the arrangement factor."""

RESCORED_RTOL: Final = 1e-6
"""How far a member's score recomputed here may lie from the stored one, relative. The data are
generated again, and the weights read from them differ in their last bits from those of the run
that stored the pool (up to 1.2e-8 relative on the with-data pools, 2026-12-07: digits-permuted);
a change of the objective moves scores by far more."""


@dataclass(frozen=True)
class Measured:
    """One task's locality per neighbour definition, and its pool members' arrangement factors
    (in pool order)."""

    locality: dict[str, float]
    arrangement: list[float]


def kind(task: str) -> str:
    """The task's input kind (:data:`KINDS`)."""
    first = task.split("-")[0]
    return next(name for name, words in KINDS.items() if first in words)


def evidence(graph: DependenceGraph) -> tuple[_Ints, _Floats]:
    """The ``(axes, edges)`` steps apart and the weights of ``graph``'s evidence edges."""
    keep = graph.weights >= edge_thresholds(graph)
    first = np.asarray(np.unravel_index(graph.rows[keep], graph.shape))
    second = np.asarray(np.unravel_index(graph.cols[keep], graph.shape))
    return np.abs(first - second), graph.weights[keep]


def locality(apart: _Ints, weights: _Floats, without_evidence: float) -> dict[str, float]:
    """The share of the evidence ``weights`` on neighbours, per :data:`NEIGHBOURS`
    (``without_evidence`` where there is none)."""
    total = float(weights.sum())
    return {
        name: float(weights[adjacent(apart)].sum()) / total if total > 0 else without_evidence
        for name, adjacent in NEIGHBOURS.items()
    }


def measure(task: str, pool: Pool, without_evidence: float) -> Measured:
    """``task``'s locality and its ``pool`` members' arrangement factors on the with-data task.

    The inputs and the dependence graph are ``run --with-data``'s (:func:`data_description`).
    Raises ``RuntimeError`` if the objective rebuilt here does not give the stored scores.
    """
    spec = ALL_TASKS[task]
    protocol = task_protocol(PROTOCOL, task)
    train, _ = spec.data(DataSizes(**protocol["sizes"]), protocol["data_seed"])
    inputs = train.inputs.numpy()
    grid = inputs.reshape(inputs.shape[0], *inputs.shape[2:])
    graph = dependence_graph(data_from_array(grid, grid.shape[1:]), allow_constant=True)
    scorer = DesignScorer(data_description(task, inputs), search_budget(pool.budget, spec.classes))
    architectures = [member.architecture for member in pool.members]
    stored = np.asarray([member.score for member in pool.members])
    rescored = np.asarray([scorer.score(architecture) for architecture in architectures])
    if not np.allclose(rescored, stored, rtol=RESCORED_RTOL, atol=0.0):
        raise RuntimeError(f"{task}: the with-data objective does not give the stored scores")
    factors = scorer.objective.arrangement_factor([a.discarded_order for a in architectures])
    shares = locality(*evidence(graph), without_evidence)
    return Measured(shares, [float(f) for f in factors.ravel()])


def weighed(measured: dict[str, Measured], neighbours: str, rule: str) -> Scores:
    """Each member's stored score with its arrangement factor raised to ``g(s)`` instead of 1."""

    def scores(task: str, pool: Pool) -> list[float]:
        own = measured[task]
        exponent = RULES[rule](own.locality[neighbours]) - 1.0
        return [
            member.score * factor**exponent
            for member, factor in zip(pool.members, own.arrangement, strict=True)
        ]

    return scores


def variants(measured: dict[str, Measured]) -> dict[str, Variant]:
    """The control and every neighbour definition with every rule."""
    found = {"control": VARIANTS["current"]}
    for neighbours in NEIGHBOURS:
        for rule in RULES:
            what = f"arrangement^{rule}, {neighbours} neighbours"
            found[what] = Variant(what, weighed(measured, neighbours, rule))
    return found


def locality_table(measured: dict[str, Measured]) -> str:
    """Every task's kind and locality, one row each."""
    lines = [
        "| task | kind | " + " | ".join(f"s ({name})" for name in NEIGHBOURS) + " |",
        "| --- | --- |" + " ---: |" * len(NEIGHBOURS),
    ]
    for task, own in measured.items():
        shares = " | ".join(f"{own.locality[name]:.2f}" for name in NEIGHBOURS)
        lines.append(f"| {task} | {kind(task)} | {shares} |")
    return "\n".join(lines)


def figures_table(pools: dict[str, Pool], measured: dict[str, Measured]) -> str:
    """Every variant's figures over each input kind and over the half."""
    groups: dict[str, dict[str, Pool]] = {
        name: {task: pool for task, pool in pools.items() if kind(task) == name} for name in KINDS
    }
    groups["all"] = pools
    lines = [
        "| variant | tasks | mean tau | #1 within one std | #1 changed | misses |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for name, variant in variants(measured).items():
        for group, members in groups.items():
            if members:
                found = screen(members, variant)
                lines.append(
                    f"| {name} | {group} ({found.tasks}) | {found.mean_tau:+.4f} | "
                    f"{found.within} | {found.changed} | {', '.join(found.misses)} |"
                )
    return "\n".join(lines)


def run(tasks: Sequence[str], without_evidence: float = 0.0) -> str:
    """The screen of ``tasks``' with-data pools as markdown: localities, then figures."""
    pools = read_pools(RESULTS / WITH_DATA, tasks)
    measured = {task: measure(task, pool, without_evidence) for task, pool in pools.items()}
    return locality_table(measured) + "\n\n" + figures_table(pools, measured)


def main() -> None:
    parser = command_parser(description=__doc__)
    parser.add_argument("--half", choices=tuple(HALVES), required=True, help="the tasks screened")
    parser.add_argument(
        "--without-evidence",
        type=float,
        choices=(0.0, 1.0),
        default=0.0,
        help="the locality of a task whose data show no evidence edge (default 0)",
    )
    arguments = parser.parse_args()
    print(run(HALVES[arguments.half], arguments.without_evidence))


if __name__ == "__main__":
    main()
