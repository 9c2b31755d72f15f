"""The coherence ablation: the #1 each way of weighing the description's relations gives, trained.

Run ``python -m bench.outcomes.ties [--tasks T ...] [--seeds 5] [--jobs 2] [--write-docs]``
after ``bench.outcomes.run`` (it reads each task's budget and protocol from its pool); it trains
what is not cached yet, keeps the runs in ``results/ties/<task>.json``, prints the table and,
with ``--write-docs``, writes it to the ``outcomes-ties`` section of docs/OUTCOMES.md.

The search scales each score by the tree's coherence on the description's relations
(:mod:`advisor.search.coherence`, docs/THEORY.md §18) and breaks exact ties by the levels apart
(:mod:`advisor.search.meeting`, §17), then by the listing order. Before, the coherence only broke
exact ties, ahead of the levels apart. For every task where the rules' picks differ this
measures the #1 of each, with the benchmark's protocol: the search's own; coherence as the first
tie-break only (the rule before); the levels apart, then the listing order; the listing order
alone. Where two rules pick the same tree it is trained once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Final
from unittest import mock

from advisor.model.architecture import Architecture
from advisor.model.geometries import PermutationGeometry
from advisor.model.task import Task
from advisor.search.candidates import Candidate
from advisor.search.objective import Objective
from advisor.search.recommend import recommend
from advisor.search.run import SearchRun
from advisor.search.subtree_dag import SubtreeDag
from bench.outcomes.data import ALL_TASKS, DataSizes
from bench.outcomes.describe import load_description
from bench.outcomes.pool import Member, architecture_key, search_budget
from bench.outcomes.run import (
    DESCRIPTION,
    RESULTS,
    pool_path,
    run_key,
    task_protocol,
    trained,
    write_document,
)
from bench.report import add_write_option, command_parser, positive_int, publish
from bench.validate.report import SeedAccuracies
from bench.validate.training import TrainingPlan

COMMAND: Final = "python -m bench.outcomes.ties"
TIES: Final = RESULTS / "ties"

_TieKey = Callable[[SearchRun, Candidate, SubtreeDag], tuple[float, ...]]

RULES: Final[dict[str, _TieKey | None]] = {
    "coherence in the score (the search)": None,
    "coherence, then levels apart, among ties (before)": lambda search, candidate, dag: (
        -search.coherent(candidate),
        search.levels_apart(dag),
    ),
    "levels apart, listing": lambda search, _, dag: (search.levels_apart(dag),),
    "listing order": lambda *_: (0.0,),
}
"""Each rule's tie key, the score without coherence (private hooks of the search: a measurement,
not an API); None: the search's own."""


_PRACTICAL: Final = SearchRun.practical_objective


def _without_coherence(search: SearchRun) -> Objective:
    return replace(_PRACTICAL(search), best_coherence=None)


@contextmanager
def _rule(key: _TieKey | None) -> Iterator[None]:
    if key is None:
        yield
        return
    with (
        mock.patch.object(SearchRun, "tie_key", key),
        mock.patch.object(SearchRun, "practical_objective", _without_coherence),
    ):
        yield


def picks(task: Task, parameters: int, classes: int) -> dict[str, Architecture] | None:
    """Each rule's #1, or None when every rule gives the same."""
    chosen = {}
    for name, key in RULES.items():
        with _rule(key):
            first = recommend(task, search_budget(parameters, classes, 1)).recommendations[0]
        chosen[name] = first.architecture
    if len({architecture_key(a) for a in chosen.values()}) == 1:
        return None
    return chosen


def run(name: str, seeds: int, jobs: int) -> list[str]:
    """Train the task's picks, return its table rows (none when nothing ties)."""
    spec = ALL_TASKS[name]
    pool = json.loads(pool_path(RESULTS, name, DESCRIPTION, 0).read_text())
    chosen = picks(load_description(name), pool["budget"], spec.classes)
    if chosen is None:
        print(f"{name}: every rule gives the same #1", file=sys.stderr)
        return []
    protocol = task_protocol(pool["protocol"], name)
    path = TIES / f"{name}.json"
    runs: dict[str, Any] = json.loads(path.read_text())["runs"] if path.exists() else {}
    members = {rule: Member(rule, architecture) for rule, architecture in chosen.items()}
    keys = {
        rule: [run_key(name, member, seed, protocol) for seed in range(seeds)]
        for rule, member in members.items()
    }
    plan = TrainingPlan(**protocol["plan"])
    todo = {
        key: (key, name, members[rule].key, seed, plan)
        for rule in members
        for seed, key in enumerate(keys[rule])
        if key not in runs
    }
    distinct = len({rule_keys[0] for rule_keys in keys.values()})
    print(f"{name}: {distinct} distinct picks, {len(todo)} runs to train", file=sys.stderr)
    if todo:
        data = spec.data(DataSizes(**protocol["sizes"]), protocol["data_seed"])
        runs.update(trained(name, data, jobs, list(todo.values())))
    TIES.mkdir(exist_ok=True)
    wanted = {key for rule_keys in keys.values() for key in rule_keys}
    write_document(path, {"task": name, "runs": {k: v for k, v in runs.items() if k in wanted}})
    rows = []
    for rule, member in members.items():
        seeds_of = _Trained(tuple(100 * runs[key]["test_accuracy"] for key in keys[rule]))
        architecture = member.architecture
        windows = ", ".join("x".join(map(str, layer.pool)) for layer in architecture.layers)
        rows.append(
            f"| {name} | {rule} | {architecture.family}"
            f"{'' if architecture.family != 'dilations' else ' ' + _dilations(architecture)} "
            f"({windows}) | {seeds_of.mean:.1f} ± {seeds_of.std:.1f} ({len(seeds_of.accuracies)}) |"
        )
    return rows


@dataclass(frozen=True)
class _Trained(SeedAccuracies):
    """One pick's test accuracies (%) over the seeds."""

    accuracies: tuple[float, ...]


def _dilations(architecture: Architecture) -> str:
    """The first steps of a 1-D dilation net's input order (names the order)."""
    geometry = architecture.geometry
    assert isinstance(geometry, PermutationGeometry), "the search recommends explicit orders"
    return "order " + ", ".join(map(str, geometry.permutation[:4])) + ", ..."


def main(argv: Sequence[str] | None = None) -> None:
    parser = command_parser(description=__doc__)
    parser.add_argument("--tasks", nargs="+", choices=list(ALL_TASKS), default=list(ALL_TASKS))
    parser.add_argument("--seeds", type=positive_int, default=5)
    parser.add_argument("--jobs", type=positive_int, default=2)
    add_write_option(parser, "OUTCOMES.md")
    args = parser.parse_args(argv)
    rows = [row for name in args.tasks for row in run(name, args.seeds, args.jobs)]
    markdown = (
        "| task | rule | its #1 | test acc. % (mean ± std, seeds) |\n"
        "| --- | --- | --- | ---: |\n" + "\n".join(rows) + f"\n\n`{COMMAND}`; the tasks whose "
        "rules give different #1s.\n"
    )
    publish(args, "outcomes-ties", markdown, measured=False)


if __name__ == "__main__":
    main()
