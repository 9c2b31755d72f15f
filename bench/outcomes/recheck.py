"""Do the committed runs reproduce on this machine? Retrain some and compare them run by run.

Run after :mod:`bench.outcomes.run` (docs/OUTCOMES.md, "Do the runs reproduce")::

    nice -n 19 .venv/bin/python -m bench.outcomes.recheck --runs 2
    nice -n 19 .venv/bin/python -m bench.outcomes.recheck --tasks T [T ...]

The benchmark caches every training run by its key (task, member, seed and protocol), so a rerun
trains only what is missing. A run's result depends on the machine too: torch picks its CPU
kernels by the instruction set (AVX2, AVX-512, ...), and kernels that sum in another order round
the first epoch's losses apart in the eighth digit, which training then amplifies. For each task
this takes the description pool as ``results/<task>.json`` holds it and trains, under its
protocol, ``--runs N`` of its runs (drawn with a fixed seed per task, so the same runs every
time) or every run of the pool; it prints how many came out identical and how far the others
moved, beside the pool's seed-to-seed spread, and, when every run was retrained, the task's
figures on the runs trained here beside the committed ones. A diagnostic beside the benchmark:
the runs trained here go to ``results/recheck/<task>.json`` with the machine that trained them
(reused only on the same machine), never into the pools' files. ``--write-docs`` writes the
tables into docs/OUTCOMES.md: a draw's into one block, whole pools' into another.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import statistics
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import torch

from advisor.model.architecture import parse_architecture
from bench.outcomes.data import ALL_TASKS, DataSizes
from bench.outcomes.metrics import TaskMetrics
from bench.outcomes.pool import Member
from bench.outcomes.report import metrics_of, rows
from bench.outcomes.run import (
    DESCRIPTION,
    PROTOCOL,
    RESULTS,
    Job,
    Protocol,
    machine,
    pool_path,
    run_key,
    task_protocol,
    trained,
    write_document,
)
from bench.report import add_write_option, command_parser, positive_int, publish
from bench.validate.training import TrainingPlan

FOLDER: Final = "recheck"
"""The folder (under the results) of the runs trained again."""


@dataclass(frozen=True)
class Recheck:
    """One task's stored runs beside the same runs trained here (accuracies as fractions).

    ``metrics`` are the task's figures on the committed runs and on the runs trained here,
    present only when every run of the pool was trained again.
    """

    task: str
    stored: tuple[float, ...]
    here: tuple[float, ...]
    seed_std: float
    metrics: tuple[TaskMetrics, TaskMetrics] | None

    @property
    def identical(self) -> int:
        """How many runs trained here gave the stored test accuracy exactly."""
        return sum(a == b for a, b in zip(self.stored, self.here, strict=True))

    @property
    def moves(self) -> tuple[float, ...]:
        """Each run's absolute change of test accuracy."""
        return tuple(abs(a - b) for a, b in zip(self.stored, self.here, strict=True))

    def line(self) -> str:
        """The task's row of the runs table (points)."""
        moves = self.moves
        return (
            f"| {self.task} | {len(moves)} | {self.identical} "
            f"| {100 * statistics.median(moves):.2f} | {100 * max(moves):.2f} "
            f"| {100 * self.seed_std:.2f} |"
        )

    def figures_line(self) -> str:
        """The task's row of the figures table (committed runs, then runs trained here)."""
        if self.metrics is None:
            raise ValueError(f"{self.task}: only some runs were trained again")
        stored, here = (_figures(m) for m in self.metrics)
        pairs = (f"{a} / {b}" for a, b in zip(stored, here, strict=True))
        return f"| {self.task} | " + " | ".join(pairs) + " |"


RUNS_HEADER: Final = (
    "| task | runs trained again | identical | median move (points) | largest move (points) "
    "| median seed std (points) |\n| --- | ---: | ---: | ---: | ---: | ---: |"
)
FIGURES_HEADER: Final = (
    "| task | tau advisor score | advisor #1 % | best % | regret (points) | within 1 std |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: |"
)
"""Each cell: the committed runs' figure / the figure on the runs trained here."""


def _figures(metrics: TaskMetrics) -> tuple[str, ...]:
    tau = metrics.correlations["score"].kendall_tau
    return (
        "n/a" if math.isnan(tau) else f"{tau:+.2f}",
        f"{100 * metrics.advisor_accuracy:.1f}",
        f"{100 * metrics.best_accuracy:.1f}",
        f"{100 * metrics.regret:.1f}",
        "yes" if metrics.within_one_std else "no",
    )


def recheck(task: str, runs: int | None, jobs: int, protocol: Protocol, results: Path) -> Recheck:
    """Train ``runs`` of ``task``'s stored runs (every one if None) here; compare them."""
    own = task_protocol(protocol, task)
    document = json.loads(pool_path(results, task, DESCRIPTION, 0).read_text())
    chosen = _chosen(task, document, own, runs)
    here = _trained_here(task, chosen, own, results / FOLDER, jobs)
    stored = document["runs"]
    keys = [key for key, _, _ in chosen]
    spreads = [
        statistics.stdev(stored[key]["test_accuracy"] for key in record["runs"])
        for record in document["pool"]
        if len(record["runs"]) > 1
    ]
    metrics = None
    if runs is None:
        again = {**document, "runs": {key: here[key] for key in keys}}
        metrics = (metrics_of(rows(document)), metrics_of(rows(again)))
    return Recheck(
        task,
        tuple(float(stored[key]["test_accuracy"]) for key in keys),
        tuple(float(here[key]["test_accuracy"]) for key in keys),
        statistics.median(spreads) if spreads else math.nan,
        metrics,
    )


def _chosen(
    task: str, document: dict[str, Any], own: Protocol, runs: int | None
) -> list[tuple[str, Member, int]]:
    """The runs to train again, in pool order: each one's key, member and seed."""
    every = []
    for record in document["pool"]:
        member = Member(record["source"], parse_architecture(json.loads(record["architecture"])))
        for seed, key in enumerate(record["runs"]):
            if run_key(task, member, seed, own) != key:
                raise ValueError(f"{task}: the pool was trained under another protocol; rerun it")
            every.append((key, member, seed))
    if runs is None or runs >= len(every):
        return every
    drawn = set(random.Random(zlib.crc32(task.encode())).sample(range(len(every)), runs))
    return [run for index, run in enumerate(every) if index in drawn]


def _trained_here(
    task: str, chosen: list[tuple[str, Member, int]], own: Protocol, folder: Path, jobs: int
) -> dict[str, Any]:
    """The chosen runs trained on this machine, cached in ``folder`` for this machine only."""
    path = folder / f"{task}.json"
    here = machine()
    cached = json.loads(path.read_text()) if path.exists() else {}
    runs: dict[str, Any] = cached["runs"] if cached.get("machine") == here else {}
    plan = TrainingPlan(**own["plan"])
    todo: list[Job] = [
        (key, task, member.key, seed, plan) for key, member, seed in chosen if key not in runs
    ]
    if todo:
        spec = ALL_TASKS[task]
        data = spec.data(DataSizes(**own["sizes"]), own["data_seed"])
        for key, result in trained(task, data, jobs, todo):
            runs[key] = result
            write_document(path, {"task": task, "protocol": own, "machine": here, "runs": runs})
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    """Print the chosen tasks' runs trained here beside the committed ones."""
    parser = command_parser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks", nargs="+", choices=list(ALL_TASKS), help="default: every task of the benchmark"
    )
    parser.add_argument(
        "--runs", type=positive_int, help="runs per task drawn to train again (default: all)"
    )
    parser.add_argument("--jobs", type=positive_int, default=2, help="training runs at once")
    add_write_option(parser, "OUTCOMES.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    tasks = args.tasks or [
        task for task in ALL_TASKS if pool_path(RESULTS, task, DESCRIPTION, 0).exists()
    ]
    checked = []
    for task in tasks:
        checked.append(recheck(task, args.runs, args.jobs, PROTOCOL, RESULTS))
        print(checked[-1].line(), file=sys.stderr, flush=True)
    section = "outcomes-recheck-pools" if args.runs is None else "outcomes-recheck-draw"
    publish(args, section, markdown(checked, args.runs), measured=False)


def markdown(checked: Sequence[Recheck], runs: int | None) -> str:
    """The tables of ``checked``, with the machine that trained the runs and the command."""
    here = machine()
    option = "" if runs is None else f" --runs {runs}"
    tasks = "" if runs is not None else " --tasks " + " ".join(one.task for one in checked)
    lines = [
        f"Trained again on {datetime.date.today().isoformat()}: torch {here['torch']}, "
        f"{here['cpu_capability']} kernels, {here['processor']}, one thread per run "
        f"(`python -m bench.outcomes.recheck{option}{tasks}`).",
        "",
        RUNS_HEADER,
        *(one.line() for one in checked),
    ]
    complete = [one for one in checked if one.metrics is not None]
    if complete:
        lines += ["", FIGURES_HEADER, *(one.figures_line() for one in complete)]
    moves = [move for one in checked for move in one.moves]
    same = sum(one.identical for one in checked)
    lines += [
        "",
        f"{same} of {len(moves)} runs identical; median move "
        f"{100 * statistics.median(moves):.2f} points, largest {100 * max(moves):.2f}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
