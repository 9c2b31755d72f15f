"""More seeds for the members near a pool's best: is the #1's miss larger than the noise?

Run after :mod:`bench.outcomes.run` (docs/OUTCOMES.md, "The near misses on more seeds")::

    nice -n 19 .venv/bin/python -m bench.outcomes.seeds --extra 10 --tasks T [T ...]

For each task it takes the pool as ``results/<task>.json`` holds it, picks the advisor's #1 and
every member whose mean over the protocol's seeds lies within :data:`NEAR` of the pool's best,
trains each on ``extra`` more seeds (5, 6, ... under the same protocol) and prints its mean and
sample std over all its seeds beside those over the protocol's. A diagnostic beside the
benchmark, not part of it: the runs go to ``results/seeds/<task>.json`` (cached by the same keys,
so a rerun trains nothing), never into the pools' files, and every figure of the benchmark stays
the protocol's five seeds on every member.
"""

from __future__ import annotations

import argparse
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
from bench.validate.report import SeedAccuracies
from bench.validate.training import TrainingPlan

NEAR: Final = 0.02
"""Members whose mean lies within this of the pool's best mean are trained on more seeds."""

FOLDER: Final = "seeds"
"""The folder (under the results) of the extra seeds' runs."""


@dataclass(frozen=True)
class _Accuracies(SeedAccuracies):
    """Test accuracies over some seeds (mean and sample std from :class:`SeedAccuracies`)."""

    accuracies: tuple[float, ...]

    def __str__(self) -> str:
        return f"{100 * self.mean:.1f} ± {100 * self.std:.1f}"


@dataclass(frozen=True)
class Seeds:
    """One member's test accuracies: over the protocol's seeds and over all of them."""

    source: str
    protocol: tuple[float, ...]
    every: tuple[float, ...]

    def line(self, task: str) -> str:
        """The member's row of the printed table."""
        first, every = _Accuracies(self.protocol), _Accuracies(self.every)
        return f"| {task} | {self.source} | {first} | {every} | {len(self.every)} |"


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
    document = json.loads(pool_path(results, task, False, 0).read_text())
    records = near_members(document)
    members = [
        Member(record["source"], parse_architecture(json.loads(record["architecture"])))
        for record in records
    ]
    for record, member in zip(records, members, strict=True):
        if run_key(task, member, 0, own) != record["runs"][0]:
            raise ValueError(f"{task}: the pool was trained under another protocol; rerun it")
    path = results / FOLDER / f"{task}.json"
    runs: dict[str, Any] = json.loads(path.read_text())["runs"] if path.exists() else {}
    seeds = range(len(records[0]["runs"]), len(records[0]["runs"]) + extra)
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
    figures = []
    for record, member in zip(records, members, strict=True):
        first = tuple(document["runs"][key]["test_accuracy"] for key in record["runs"])
        more = tuple(runs[run_key(task, member, seed, own)]["test_accuracy"] for seed in seeds)
        figures.append(Seeds(record["source"], first, first + more))
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Print the near members of the chosen tasks on the protocol's seeds and on more."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=list(ALL_TASKS), required=True)
    parser.add_argument("--extra", type=int, default=10, help="seeds beyond the protocol's")
    parser.add_argument("--jobs", type=int, default=2, help="training runs at once")
    args = parser.parse_args(argv)
    if args.extra < 1:
        parser.error("--extra: at least 1")
    torch.set_num_threads(1)
    print("| task | member | protocol's seeds (%) | all seeds (%) | seeds |")
    print("| --- | --- | ---: | ---: | ---: |")
    for task in args.tasks:
        for figure in more_seeds(task, args.extra, args.jobs, PROTOCOL, RESULTS):
            print(figure.line(task), flush=True)


if __name__ == "__main__":
    main()
