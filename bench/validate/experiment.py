"""Run every (task, candidate, seed) of an experiment and store the results as JSON.

Both experiments have the same shape: a few tasks, two candidate architectures at the same
parameter count, a fixed training plan and several seeds. This module runs that grid, prints a
line per run (the scripts run in the background and are polled), and writes one JSON document
that :mod:`bench.validate.report` turns into tables and plots.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advisor.model.architecture import Architecture, architecture_document
from bench.validate.training import Dataset, RunResult, TrainingPlan, train_and_test

__all__ = ["RESULTS", "Candidate", "TaskData", "run_experiment", "stored_experiments"]

RESULTS = Path(__file__).resolve().parent / "results"
"""Where the experiments' JSON results are kept (committed, so the report can be rebuilt)."""


@dataclass(frozen=True)
class Candidate:
    """A named architecture compared in an experiment, and how to build its network."""

    name: str
    architecture: Architecture
    build: Callable[[], nn.Module]


@dataclass(frozen=True)
class TaskData:
    """A task's name with its train and test sets."""

    name: str
    train: Dataset
    test: Dataset


def run_experiment(
    name: str,
    tasks: Sequence[TaskData],
    candidates: Sequence[Candidate],
    plan: TrainingPlan,
    seeds: Sequence[int],
    protocol: dict[str, Any],
    output: Path,
) -> dict[str, Any]:
    """Train every candidate on every task with every seed; write and return the results.

    Parameters
    ----------
    name
        The experiment's name, stored in the document.
    tasks, candidates, plan, seeds
        The grid to run; every run uses the same ``plan``.
    protocol
        Free-form settings to record with the results (data sizes, generator seeds, ...).
    output
        The JSON file to write (its folder is created).
    """
    torch.set_num_threads(1)
    start, start_cpu = time.perf_counter(), time.process_time()
    runs: list[dict[str, Any]] = []
    for task in tasks:
        for candidate in candidates:
            for seed in seeds:
                result = train_and_test(candidate.build, task.train, task.test, plan, seed)
                runs.append({"task": task.name, "candidate": candidate.name, **asdict(result)})
                _log(task.name, candidate.name, result)
    document = {
        "experiment": name,
        "protocol": {
            **protocol,
            "train_sizes": {task.name: len(task.train) for task in tasks},
            "test_sizes": {task.name: len(task.test) for task in tasks},
            "plan": asdict(plan),
            "seeds": list(seeds),
        },
        "candidates": {c.name: architecture_document(c.architecture) for c in candidates},
        "runs": runs,
        "total_seconds": time.perf_counter() - start,
        "total_cpu_seconds": time.process_time() - start_cpu,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=1) + "\n")
    return document


def stored_experiments(folder: Path = RESULTS) -> list[dict[str, Any]]:
    """Return the documents :func:`run_experiment` wrote to ``folder``, in file-name order.

    Other results are kept beside them (the advisor's picks, bench/automl_study.py's study) and
    have none of an experiment's keys: they are left out, where reading every file as an
    experiment stopped the report and the advisor's query on the first such file.
    """
    documents = (json.loads(path.read_text()) for path in sorted(folder.glob("*.json")))
    return [document for document in documents if "experiment" in document]


def _log(task: str, candidate: str, result: RunResult) -> None:
    """One progress line per finished run (the scripts are run in the background and polled)."""
    print(
        f"{task:>10} {candidate:>12} seed {result.seed}: test {result.test_accuracy:.4f} "
        f"train {result.train_accuracy:.4f} loss {result.epoch_losses[-1]:.4f} "
        f"({result.seconds:.0f} s, {result.cpu_seconds:.0f} s CPU)",
        file=sys.stderr,
        flush=True,
    )
