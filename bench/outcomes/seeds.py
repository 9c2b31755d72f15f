"""More seeds, or longer training, for the members near a pool's best: is the #1's miss real?

Run after :mod:`bench.outcomes.run` (docs/OUTCOMES.md, "The near misses on more seeds")::

    nice -n 19 .venv/bin/python -m bench.outcomes.seeds --extra 10 --tasks T [T ...]
    nice -n 19 .venv/bin/python -m bench.outcomes.seeds --epochs 12 --tasks T [T ...]

For each task it takes the pool as ``results/<task>.json`` holds it and picks the advisor's #1
and every member whose mean over the protocol's seeds lies within :data:`NEAR` of the pool's
best. ``--extra N`` trains each on N more seeds (5, 6, ... under the same protocol) and prints
its mean and sample std over all its seeds beside those over the protocol's; ``--epochs E``
trains each on the protocol's seeds for E epochs in place of the protocol's (everything else as
the protocol says) and prints those figures beside the protocol's. A diagnostic beside the
benchmark, not part of it: the runs go to ``results/seeds/<task>.json`` or
``results/epochs-E/<task>.json`` (cached by the same keys, so a rerun trains nothing), never into
the pools' files, and every figure of the benchmark stays the protocol's five seeds on every
member.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import torch

from advisor.model.architecture import parse_architecture
from bench.outcomes.data import ALL_TASKS, DataSizes
from bench.outcomes.pool import Member
from bench.outcomes.run import (
    DESCRIPTION,
    PROTOCOL,
    RESULTS,
    Job,
    Protocol,
    pool_path,
    run_key,
    task_protocol,
    trained,
    write_document,
)
from bench.report import command_parser, positive_int
from bench.validate.report import SeedAccuracies
from bench.validate.training import TrainingPlan

NEAR: Final = 0.02
"""Members whose mean lies within this of the pool's best mean are trained on more seeds."""

FOLDER: Final = "seeds"
"""The folder (under the results) of the extra seeds' runs."""
LONGER: Final = "epochs-{}"
"""The folder (under the results) of the runs trained for another number of epochs."""


@dataclass(frozen=True)
class _Accuracies(SeedAccuracies):
    """Test accuracies over some seeds (mean and sample std from :class:`SeedAccuracies`)."""

    accuracies: tuple[float, ...]

    def __str__(self) -> str:
        return f"{100 * self.mean:.1f} ± {100 * self.std:.1f}"


@dataclass(frozen=True)
class Seeds:
    """One member's test accuracies: over the protocol's runs and over the compared ones.

    ``compared`` is every seed's (the protocol's and the extra ones) or, trained longer, the
    protocol's seeds' at the other number of epochs.
    """

    source: str
    protocol: tuple[float, ...]
    compared: tuple[float, ...]

    def line(self, task: str) -> str:
        """The member's row of the printed table."""
        first, compared = _Accuracies(self.protocol), _Accuracies(self.compared)
        return f"| {task} | {self.source} | {first} | {compared} | {len(self.compared)} |"


def near_members(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the records of the advisor's #1 and of every member near the best, in pool order.

    Near: a mean over the protocol's seeds within :data:`NEAR` of the pool's best mean.
    """

    def mean(record: dict[str, Any]) -> float:
        runs = document["runs"]
        return _Accuracies(tuple(float(runs[key]["test_accuracy"]) for key in record["runs"])).mean

    best = max(mean(record) for record in document["pool"])
    return [
        record
        for record in document["pool"]
        if record["source"] == "advisor #1" or mean(record) >= best - NEAR
    ]


def more_seeds(task: str, extra: int, jobs: int, protocol: Protocol, results: Path) -> list[Seeds]:
    """Train the near members of ``task``'s pool on ``extra`` more seeds; return their figures."""
    own = task_protocol(protocol, task)
    document, members = _near(task, own, results)
    first = len(document["pool"][0]["runs"])
    seeds = range(first, first + extra)
    more = _trained_near(task, members, seeds, own, results / FOLDER, jobs)
    return [
        Seeds(source, runs, runs + added)
        for (source, runs), added in zip(_protocol(document), more, strict=True)
    ]


def longer_training(
    task: str, epochs: int, jobs: int, protocol: Protocol, results: Path
) -> list[Seeds]:
    """Train the near members of ``task``'s pool for ``epochs`` epochs on the protocol's seeds."""
    own = task_protocol(protocol, task)
    document, members = _near(task, own, results)
    longer = {**own, "plan": {**own["plan"], "epochs": epochs}}
    seeds = range(len(document["pool"][0]["runs"]))
    runs = _trained_near(task, members, seeds, longer, results / LONGER.format(epochs), jobs)
    return [
        Seeds(source, first, trained_longer)
        for (source, first), trained_longer in zip(_protocol(document), runs, strict=True)
    ]


def _near(task: str, own: Protocol, results: Path) -> tuple[dict[str, Any], list[Member]]:
    """Return the task's pool document and its near members, checked against ``own``."""
    document = json.loads(pool_path(results, task, DESCRIPTION, 0).read_text())
    document["pool"] = near_members(document)
    members = [
        Member(record["source"], parse_architecture(json.loads(record["architecture"])))
        for record in document["pool"]
    ]
    for record, member in zip(document["pool"], members, strict=True):
        if run_key(task, member, 0, own) != record["runs"][0]:
            raise ValueError(f"{task}: the pool was trained under another protocol; rerun it")
    return document, members


def _protocol(document: dict[str, Any]) -> list[tuple[str, tuple[float, ...]]]:
    """Each near member's source and test accuracies over the protocol's seeds."""
    return [
        (record["source"], tuple(document["runs"][key]["test_accuracy"] for key in record["runs"]))
        for record in document["pool"]
    ]


def _trained_near(
    task: str, members: list[Member], seeds: range, own: Protocol, folder: Path, jobs: int
) -> list[tuple[float, ...]]:
    """Train ``members`` on ``seeds`` under ``own``, cached in ``folder``; their accuracies."""
    path = folder / f"{task}.json"
    runs: dict[str, Any] = json.loads(path.read_text())["runs"] if path.exists() else {}
    plan = TrainingPlan(**own["plan"])
    todo: list[Job] = [
        (run_key(task, member, seed, own), task, member.key, seed, plan)
        for member in members
        for seed in seeds
        if run_key(task, member, seed, own) not in runs
    ]
    if todo:
        spec = ALL_TASKS[task]
        data = spec.data(DataSizes(**own["sizes"]), own["data_seed"])
        for key, result in trained(task, data, jobs, todo):
            runs[key] = result
            write_document(path, {"task": task, "protocol": own, "runs": runs})
    return [
        tuple(runs[run_key(task, member, seed, own)]["test_accuracy"] for seed in seeds)
        for member in members
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Print the near members of the chosen tasks on the protocol's runs and on the others."""
    parser = command_parser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=list(ALL_TASKS), required=True)
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--extra", type=positive_int, help="seeds beyond the protocol's")
    how.add_argument("--epochs", type=positive_int, help="epochs in place of the protocol's")
    parser.add_argument("--jobs", type=positive_int, default=2, help="training runs at once")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    compared = "all seeds" if args.extra is not None else f"{args.epochs} epochs"
    print(f"| task | member | protocol's runs (%) | {compared} (%) | runs |")
    print("| --- | --- | ---: | ---: | ---: |")
    for task in args.tasks:
        if args.extra is not None:
            figures = more_seeds(task, args.extra, args.jobs, PROTOCOL, RESULTS)
        else:
            figures = longer_training(task, args.epochs, args.jobs, PROTOCOL, RESULTS)
        for figure in figures:
            print(figure.line(task), flush=True)


if __name__ == "__main__":
    main()
