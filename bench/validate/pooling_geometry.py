"""[CS17] pooling geometry: contiguous vs mirror pooling on the closedness and symmetry tasks.

Run (3.5 to 7 CPU-minutes on one thread, by the load; docs/VALIDATION.md records the protocol)::

    nice -n 19 .venv/bin/python -m bench.validate.pooling_geometry [--pool max|avg]

Both candidates are the same ReLU network — one-hot pixels (M = 2), five hidden layers of 16
channels, 2x2 pooling, two outputs — and differ only in the permutation that decides which
locations share a window, so their parameter counts are equal by construction. The data are the
authors' blobs (:mod:`bench.validate.blobs`) at the paper's sizes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import get_args

import numpy as np

from advisor.model.architecture import Architecture, Layer
from advisor.model.grid import InputSpec
from bench.report import command_parser
from bench.validate.blobs import IMAGE_SIZE, BlobSet, BlobTask, generate_blobs
from bench.validate.experiment import RESULTS, Candidate, TaskData, run_experiment
from bench.validate.nets import OneHotPixels, PoolKind, TreeNet
from bench.validate.training import Dataset, TrainingPlan

__all__ = ["GEOMETRIES", "blob_architecture", "blob_candidates", "blob_tasks", "main"]

GEOMETRIES = ("contiguous", "mirror")
DEPTH = 5
WIDTH = 16
REPRESENTATION = 2
"""The one-hot code of a binary pixel: M = 2 fixed representation functions."""

DATA_SEED = 2016
GENERATED_TRAIN, GENERATED_TEST = 25_000, 5_000
"""The authors' counts; keeping the extreme 40% per class leaves 20,000 / 4,000."""
PLAN = TrainingPlan(epochs=6)
SEEDS = (0, 1, 2)


def blob_architecture(geometry: str, width: int = WIDTH) -> Architecture:
    """The [CS17] network as an advisor architecture: 32x32, five 2x2 levels, 2 outputs."""
    return Architecture.model_validate(
        {
            "input": InputSpec(shape=(IMAGE_SIZE, IMAGE_SIZE)),
            "representation": REPRESENTATION,
            "layers": [Layer(channels=width, pool=(2, 2))] * DEPTH,
            "geometry": geometry,
            "outputs": 2,
            "family": geometry,
        }
    )


def blob_candidates(pool: PoolKind, width: int = WIDTH) -> list[Candidate]:
    """One candidate per geometry, each a :class:`TreeNet` on one-hot pixels."""
    candidates = []
    for geometry in GEOMETRIES:
        arch = blob_architecture(geometry, width)
        build = functools.partial(TreeNet, arch, pool, representation=OneHotPixels())
        candidates.append(Candidate(geometry, arch, build))
    return candidates


def blob_tasks(train: BlobSet, test: BlobSet) -> list[TaskData]:
    """Closedness and symmetry, each labelled on its own extremes of each split."""
    tasks = []
    for task in get_args(BlobTask):
        train_images, train_labels = train.labelled(task)
        test_images, test_labels = test.labelled(task)
        tasks.append(
            TaskData(
                task,
                Dataset.from_arrays(train_images, train_labels),
                Dataset.from_arrays(test_images, test_labels),
            )
        )
    return tasks


def main(argv: Sequence[str] | None = None) -> None:
    """Generate the blobs, run the grid, write ``results/pooling_geometry[_avg].json``."""
    parser = command_parser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", choices=get_args(PoolKind), default="max")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(DATA_SEED)
    train, test = generate_blobs(GENERATED_TRAIN, rng), generate_blobs(GENERATED_TEST, rng)
    suffix = "" if args.pool == "max" else f"_{args.pool}"
    run_experiment(
        name=f"pooling_geometry{suffix}",
        tasks=blob_tasks(train, test),
        candidates=blob_candidates(args.pool),
        plan=PLAN,
        seeds=SEEDS,
        protocol={
            "data": "blobs (bench/validate/blobs.py), generator seed "
            f"{DATA_SEED}: {GENERATED_TRAIN} train then {GENERATED_TEST} test images",
            "network": f"one-hot pixels (M={REPRESENTATION}), {DEPTH} x (1x1 conv {WIDTH}, "
            f"ReLU, 2x2 {args.pool} pool), linear to 2",
            "pool": args.pool,
        },
        output=RESULTS / f"pooling_geometry{suffix}.json",
    )


if __name__ == "__main__":
    main()
