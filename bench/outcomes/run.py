"""Build every task's pool, train what is not cached yet, store the results.

Run (docs/OUTCOMES.md records the protocol and the CPU time)::

    nice -n 19 .venv/bin/python -m bench.outcomes.run [--tasks T ...] [--seeds N] [--jobs 2]
    nice -n 19 .venv/bin/python -m bench.outcomes.run --held-out K  # the K-th held-out set
    .venv/bin/python -m bench.outcomes.run --smoke      # tiny data, 1 epoch, a temporary folder

Per task the pool is rebuilt on every run (the advisor's picks and scores follow the library as
it is now) and written with its figures to ``results/<task>.json`` (``--with-data``:
``results/with-data/<task>.json``; ``--locality``: ``results/locality/<task>.json``; ``--draw
K``, K >= 1: the same pools with another draw of the random members, none of them in the first
pools, under ``results/draw-K/``). Training results
are cached in the same file, keyed by (task, architecture document, seed, protocol): a rerun
after a change to the search objective trains only the candidates the pool has not seen, and a
change to the protocol retrains everything. Each run trains on one thread; ``--jobs`` runs that
many at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import multiprocessing
import sys
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

import torch

from advisor.model.architecture import parse_architecture
from advisor.search.recommend import score_architectures
from bench.outcomes.data import ALL_TASKS, HELD_OUT, TASKS, DataSizes, TaskSpec
from bench.outcomes.describe import data_description, load_description, locality_description
from bench.outcomes.pool import RANDOM_DRAWS, Member, build_pool, member_records
from bench.outcomes.proxies import naswot, synflow
from bench.report import command_parser, positive_int
from bench.validate.nets import TreeNet
from bench.validate.training import Dataset, TrainingPlan, train_and_test

__all__ = [
    "PROTOCOL",
    "READINGS",
    "RESULTS",
    "Job",
    "DESCRIPTION",
    "LOCALITY",
    "WITH_DATA",
    "keep_stored_digits",
    "pool_folder",
    "pool_path",
    "Protocol",
    "main",
    "machine",
    "run_key",
    "run_task",
    "task_protocol",
    "trained",
    "write_document",
]

RESULTS: Final = Path(__file__).resolve().parent / "results"
DESCRIPTION: Final = "description"
"""The benchmark's arm: the advisor reads each task's committed description (``results/``)."""
WITH_DATA: Final = "with-data"
"""The arm (and its folder under the results) where the advisor reads the description with the
training data (``recommend --data``)."""
LOCALITY: Final = "locality"
"""The arm (and its folder under the results) where the advisor reads a 2-D description with the
locality prior (:func:`bench.outcomes.describe.locality_description`)."""
READINGS: Final = {
    DESCRIPTION: "score_description",
    WITH_DATA: "score_with_data",
    LOCALITY: "score_locality",
}
"""Every arm, and the field under which each pool records the arm's score of its members."""
DRAW: Final = "draw-{}"
"""The folder (under the results) of the pools with the K-th fresh draw of random members."""
PROXY_BATCH: Final = 64
"""Training inputs NASWOT sees (the first of the training set)."""
PROXY_SEED: Final = 0
"""Seed of the initial weights the proxies score."""


Protocol = dict[str, Any]

PROTOCOL: Final[Protocol] = {
    "version": 2,
    "sizes": asdict(DataSizes(train=3_000, test=2_000)),
    "data_seed": 2026,
    "plan": asdict(TrainingPlan(epochs=6, batch_size=64)),
    "network": "bench.validate.nets.TreeNet: learned representation, ReLU, max pooling, He init",
    "task_plans": {
        name: asdict(TrainingPlan(epochs=12, batch_size=32))
        for name, spec in ALL_TASKS.items()
        if spec.classes > 2
    },
}
"""The training protocol; ``task_plans`` replaces ``plan`` for the tasks it names (see
:func:`task_protocol`): the digit tasks, ten classes, train 4x the steps (docs/OUTCOMES.md,
sizing decision 6). Every value of a task's protocol is part of its runs' cache keys."""

SMOKE: Final[Protocol] = {
    **PROTOCOL,
    "version": "smoke",
    "sizes": asdict(DataSizes(train=128, test=64)),
    "plan": asdict(TrainingPlan(epochs=1, batch_size=32)),
    "task_plans": {},
}


def task_protocol(protocol: Protocol, task: str) -> Protocol:
    """The protocol one task is trained by: ``plan`` replaced by the task's own, if it has one."""
    own = {key: value for key, value in protocol.items() if key != "task_plans"}
    own["plan"] = protocol.get("task_plans", {}).get(task, protocol["plan"])
    return own


_DATA: dict[str, tuple[Dataset, Dataset]] = {}
"""The current task's data in a training worker (set by :func:`_start_worker`)."""


def _start_worker(task: str, data: tuple[Dataset, Dataset]) -> None:
    torch.set_num_threads(1)
    _DATA[task] = data


def run_key(task: str, member: Member, seed: int, protocol: Protocol) -> str:
    """The cache key of one training run."""
    text = json.dumps([task, member.key, seed, protocol], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _build(member_key: str) -> TreeNet:
    return TreeNet(parse_architecture(json.loads(member_key)), "max", init="he")


Job = tuple[str, str, str, int, TrainingPlan]
"""One training run: its cache key, the task, the member's key, the seed and the plan."""


def trained(
    task: str, data: tuple[Dataset, Dataset], jobs: int, todo: Sequence[Job]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Train ``todo`` on ``jobs`` workers; yield each run's key and result as it ends.

    The workers are spawned, not forked: a fork copies whatever threads the caller runs (a gRPC
    server, torch's pools) in whatever state they are, and the worker hung on that.
    """
    if not todo:
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs, initializer=_start_worker, initargs=(task, data)) as workers:
        yield from workers.imap_unordered(_train, todo)


def _train(job: Job) -> tuple[str, dict[str, Any]]:
    key, task, member_key, seed, plan = job
    train, test = _DATA[task]
    result = train_and_test(functools.partial(_build, member_key), train, test, plan, seed)
    return key, {**asdict(result), "machine": machine(), "threads": torch.get_num_threads()}


def machine() -> dict[str, str]:
    """What decides a run's rounding on this machine: torch's version, its kernels' instruction
    set, the CPU. (The threads a run's kernels split their sums over decide it too: each run
    records its own, one in the training workers.)"""
    return {
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "processor": _processor(),
    }


def _processor() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else "unknown"


def _proxies(member: Member, inputs: torch.Tensor) -> dict[str, float | str]:
    """The member's zero-cost proxies, as a results document holds them (:func:`proxy_value`)."""
    torch.manual_seed(PROXY_SEED)
    model = _build(member.key)
    spec = member.architecture.input
    return {
        "synflow": proxy_value(synflow(model, (spec.channels, *spec.shape))),
        "naswot": proxy_value(naswot(model, inputs)),
    }


def proxy_value(value: float) -> float | str:
    """``value`` as a results document holds it: a number, or ``"-inf"``, ``"inf"``, ``"nan"``.

    JSON has no infinities (Python's ``-Infinity`` is refused by most readers, ``jq`` among them),
    and NASWOT is ``-inf`` for every net whose kernel is singular; ``float()`` reads both back.
    """
    return value if math.isfinite(value) else repr(value)


def run_task(
    spec: TaskSpec,
    seeds: int,
    jobs: int,
    protocol: Protocol,
    results: Path,
    random_draws: int = RANDOM_DRAWS,
    reading: str = DESCRIPTION,
    draw: int = 0,
) -> dict[str, Any]:
    """Build ``spec``'s pool, train its uncached runs, write and return ``results/<task>.json``.

    The ``reading`` (an arm of :data:`READINGS`) says how the advisor reads the task: its
    description; with :data:`WITH_DATA`, the description with what the training inputs show
    (:func:`~bench.outcomes.describe.data_description`, as ``recommend --data``); with
    :data:`LOCALITY`, with the locality prior on 2-D inputs
    (:func:`~bench.outcomes.describe.locality_description`). The other arms' pools go to
    ``results/<arm>/<task>.json``; runs of the same member are shared with the description's
    pool (the cache keys do not depend on the pool). Every pool records every arm's score of its
    members. A ``draw`` K >= 1 draws the
    random members again with another seed, leaving out every member of the first draw's
    pools (as they are in ``results``), and writes under ``results/draw-K/``; its other
    members' runs come from the first draw's files. Only the first draw's description file keeps
    the runs of members no longer in its pool (the cache of earlier objectives' picks); every
    file keeps its members' runs at seeds beyond ``seeds``, which the pool then does not list.
    """
    torch.set_num_threads(1)
    protocol = task_protocol(protocol, spec.name)
    sizes = DataSizes(**protocol["sizes"])
    train, test = spec.data(sizes, protocol["data_seed"])
    described = load_description(spec.name)
    tasks = {
        DESCRIPTION: described,
        WITH_DATA: data_description(spec.name, train.inputs.numpy()),
        LOCALITY: locality_description(described),
    }
    task = tasks[reading]
    first = [pool_path(results, spec.name, arm, 0) for arm in READINGS]
    path = pool_path(results, spec.name, reading, draw)
    if draw:
        pool_seed = zlib.crc32(f"{spec.name}/{DRAW.format(draw)}".encode())
        drawn_before = {
            record["architecture"]
            for earlier in first
            if earlier.exists()
            for record in json.loads(earlier.read_text())["pool"]
        }
    else:
        pool_seed, drawn_before = zlib.crc32(spec.name.encode()), set()
    budget, members = build_pool(task, spec.classes, pool_seed, random_draws, drawn_before)
    # Every file that may hold runs of this pool's members, its own last.
    sources = (
        [*first, pool_path(results, spec.name, DESCRIPTION, draw), path]
        if draw
        else [first[0], path]
    )
    runs = {
        key: run for source in dict.fromkeys(sources) for key, run in _cached_runs(source).items()
    }
    pool = member_records(task, budget, members)
    # Every arm scores every pool, so the arms can be compared on the same members; the pool's
    # own arm's is its records' score already.
    architectures = [member.architecture for member in members]
    for arm, field in READINGS.items():
        scores = (
            [record["score"] for record in pool]
            if arm == reading
            else score_architectures(tasks[arm], budget, architectures)
        )
        for record, score in zip(pool, scores, strict=True):
            record[field] = score
    for member, record in zip(members, pool, strict=True):
        record.update(_proxies(member, train.inputs[:PROXY_BATCH]))
        record["runs"] = [run_key(spec.name, member, s, protocol) for s in range(seeds)]
    plan = TrainingPlan(**protocol["plan"])
    todo = [
        (run_key(spec.name, member, seed, protocol), spec.name, member.key, seed, plan)
        for member in members
        for seed in range(seeds)
        if run_key(spec.name, member, seed, protocol) not in runs
    ]
    # The pool's members keep their runs at every seed trained so far, not only the seeds asked
    # for now: a rerun with fewer seeds must not delete runs that only this file holds.
    trained_seeds = max((int(run["seed"]) + 1 for run in runs.values()), default=0)
    kept = {
        run_key(spec.name, member, seed, protocol)
        for member in members
        for seed in range(max(seeds, trained_seeds))
    }
    runs = {key: run for key, run in runs.items() if key in kept or path == first[0]}
    keep_stored_digits(pool, path)
    document = {
        "task": spec.name,
        "budget": budget.max_parameters,
        "protocol": protocol,
        "pool": pool,
        "runs": runs,
    }
    print(f"{spec.name}: {len(members)} candidates, {len(todo)} runs to train", file=sys.stderr)
    for done, (key, result) in enumerate(trained(spec.name, (train, test), jobs, todo), start=1):
        runs[key] = result
        write_document(path, document)
        print(
            f"  {done}/{len(todo)} test {result['test_accuracy']:.3f} "
            f"({result['cpu_seconds']:.1f} CPU-s)",
            file=sys.stderr,
            flush=True,
        )
    write_document(path, document)
    return document


_SAME_FIGURE: Final = 1e-9
"""The relative difference below which a recomputed figure is the stored one, rounded apart."""


def keep_stored_digits(pool: list[dict[str, Any]], path: Path) -> None:
    """Give ``pool``'s figures the digits ``path`` stores for them where they agree to rounding.

    NASWOT's log-determinant, recomputed on another machine or BLAS, differs in its last digit
    (419.8426720283559 against 419.84267202835593): a rerun that trained nothing rewrote the
    committed files for it. A figure that differs more, or is new, is written as computed.
    """
    if not path.exists():
        return
    stored = {record["architecture"]: record for record in json.loads(path.read_text())["pool"]}
    for record in pool:
        before = stored.get(record["architecture"], {})
        for field, value in record.items():
            old = before.get(field)
            if (
                isinstance(value, float)
                and isinstance(old, float)
                and math.isclose(value, old, rel_tol=_SAME_FIGURE)
            ):
                record[field] = old


def pool_folder(results: Path, reading: str, draw: int) -> Path:
    """Where an arm's pools live: by arm (``with-data/``, ``locality/``; the description's at
    the top) and by draw (``draw-K/``, K >= 1)."""
    folder = results / DRAW.format(draw) if draw else results
    return folder if reading == DESCRIPTION else folder / reading


def pool_path(results: Path, task: str, reading: str, draw: int) -> Path:
    """Where a task's pool lives (:func:`pool_folder`)."""
    return pool_folder(results, reading, draw) / f"{task}.json"


def _cached_runs(path: Path) -> dict[str, Any]:
    runs: dict[str, Any] = json.loads(path.read_text())["runs"] if path.exists() else {}
    return runs


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Write a results document whole (through a partial file, so a kill leaves the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    partial.replace(path)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark for the chosen tasks (the tuned ones by default)."""
    parser = command_parser(description=__doc__.splitlines()[0])
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--tasks", nargs="+", choices=list(ALL_TASKS), default=list(TASKS))
    chosen.add_argument(
        "--held-out",
        type=int,
        choices=range(1, len(HELD_OUT) + 1),
        metavar="K",
        help="the K-th set of tasks added after the objective was last changed: "
        + "; ".join(f"{k} = {', '.join(tasks)}" for k, tasks in enumerate(HELD_OUT, start=1)),
    )
    parser.add_argument(
        "--seeds", type=positive_int, default=5, help="seeds 0..N-1 (the protocol: 5)"
    )
    parser.add_argument("--jobs", type=positive_int, default=2, help="training runs at once")
    parser.add_argument("--smoke", action="store_true", help="tiny data, temporary folder")
    arm = parser.add_mutually_exclusive_group()
    arm.add_argument(
        "--with-data",
        dest="reading",
        action="store_const",
        const=WITH_DATA,
        default=DESCRIPTION,
        help="the advisor reads each description with its training data (recommend --data)",
    )
    arm.add_argument(
        "--locality",
        dest="reading",
        action="store_const",
        const=LOCALITY,
        help="the advisor reads each 2-D description with the locality prior (docs/OUTCOMES.md)",
    )
    parser.add_argument(
        "--draw",
        type=int,
        default=0,
        metavar="K",
        help="K >= 1: the random members drawn again with the K-th seed, none from the first pools",
    )
    args = parser.parse_args(argv)
    if args.draw < 0:
        parser.error("--draw: K must be 0 or more")
    names = list(HELD_OUT[args.held_out - 1]) if args.held_out else args.tasks
    if args.smoke:
        with tempfile.TemporaryDirectory() as folder:
            for name in names:
                run_task(
                    ALL_TASKS[name],
                    args.seeds,
                    args.jobs,
                    SMOKE,
                    Path(folder),
                    2,
                    reading=args.reading,
                    draw=args.draw,
                )
        return
    for name in names:
        run_task(
            ALL_TASKS[name],
            args.seeds,
            args.jobs,
            PROTOCOL,
            RESULTS,
            reading=args.reading,
            draw=args.draw,
        )


if __name__ == "__main__":
    main()
