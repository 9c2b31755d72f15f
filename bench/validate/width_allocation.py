"""[LYCS18] width allocation: wide-base vs wide-tip channel profiles on local and global digits.

Run (about 15 CPU-minutes on one thread; docs/VALIDATION.md records the protocol)::

    nice -n 19 .venv/bin/python -m bench.validate.width_allocation [--r 8]

Both candidates are a 3x3 representation conv (10 channels, ReLU) then six (1x1 conv, ReLU, 2x2
max pool) layers and a linear layer to the 10 classes; the hidden channels are
wide-base [4r, 4r, 2r, 2r, r, r] or wide-tip [r, r, 2r, 2r, 4r, 4r]. Their parameter counts are
equal: ``31 r^2 + 50 r`` weights in the hidden and output layers plus ``14 r`` biases for both.

Sizing (made for trainability and time, before any comparison was run): with Glorot weights the
signal vanishes through these deep narrow stacks on mostly-empty canvases (logit spread ~5e-5 at
initialisation) and no run left chance level, so weights start He-normal; at r = 4 some
candidates did not leave the initial plateau (loss = log 10) within 300 steps in pilots, at r = 8
all started to learn within 400; batch 32 buys more steps per CPU-second than batch 64.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import get_args

import numpy as np

from advisor.model.architecture import Architecture, Layer
from advisor.model.grid import InputSpec
from bench.report import command_parser, positive_int
from bench.validate.canvases import CANVAS_SIZE, CanvasTask, digit_pools, place_digits
from bench.validate.experiment import RESULTS, Candidate, TaskData, run_experiment
from bench.validate.nets import TreeNet
from bench.validate.training import Dataset, TrainingPlan

__all__ = ["PROFILES", "canvas_tasks", "profile_architecture", "profile_candidates", "main"]

PROFILES: dict[str, tuple[int, ...]] = {
    "wide-base": (4, 4, 2, 2, 1, 1),
    "wide-tip": (1, 1, 2, 2, 4, 4),
}
"""Hidden widths of each candidate in units of r, bottom-up."""
REPRESENTATION, KERNEL, CLASSES = 10, 3, 10

DATA_SEED = 2017
TEST_DIGIT_FRACTION = 0.2
TRAIN_CANVASES, TEST_CANVASES = 4_000, 2_000
PLAN = TrainingPlan(epochs=8, batch_size=32)
SEEDS = (0, 1, 2)
DEFAULT_R = 8


def profile_architecture(profile: str, r: int) -> Architecture:
    """The [LYCS18] network with the named channel profile at unit width ``r``."""
    return Architecture.model_validate(
        {
            "input": InputSpec(shape=(CANVAS_SIZE, CANVAS_SIZE)),
            "representation": REPRESENTATION,
            "representation_kernel": KERNEL,
            "layers": [Layer(channels=k * r, pool=(2, 2)) for k in PROFILES[profile]],
            "outputs": CLASSES,
            "family": profile,
        }
    )


def profile_candidates(r: int) -> list[Candidate]:
    """One candidate per channel profile, each a :class:`TreeNet` (max pooling, He init)."""
    candidates = []
    for profile in PROFILES:
        arch = profile_architecture(profile, r)
        candidates.append(Candidate(profile, arch, functools.partial(TreeNet, arch, init="he")))
    return candidates


def canvas_tasks(rng: np.random.Generator, train_count: int, test_count: int) -> list[TaskData]:
    """The local and global tasks; test canvases only show digits held out of training."""
    pools = digit_pools(TEST_DIGIT_FRACTION, rng)
    tasks = []
    for task in get_args(CanvasTask):
        train = place_digits(pools.train_images, pools.train_labels, task, train_count, rng)
        test = place_digits(pools.test_images, pools.test_labels, task, test_count, rng)
        tasks.append(TaskData(task, Dataset.from_arrays(*train), Dataset.from_arrays(*test)))
    return tasks


def main(argv: Sequence[str] | None = None) -> None:
    """Place the digits, run the grid, write ``results/width_allocation_r{r}[...].json``.

    ``--task`` and ``--epochs`` run a follow-up on the same canvases (one task, longer training);
    the file name then ends in ``_{task}`` and ``_e{epochs}``.
    """
    parser = command_parser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--r", type=positive_int, default=DEFAULT_R, help=f"unit width r (default {DEFAULT_R})"
    )
    parser.add_argument("--task", choices=get_args(CanvasTask), help="one task only")
    parser.add_argument(
        "--epochs", type=positive_int, default=PLAN.epochs, help=f"epochs (default {PLAN.epochs})"
    )
    args = parser.parse_args(argv)
    name = f"width_allocation_r{args.r}"
    name += f"_{args.task}" if args.task else ""
    name += f"_e{args.epochs}" if args.epochs != PLAN.epochs else ""
    rng = np.random.default_rng(DATA_SEED)
    tasks = canvas_tasks(rng, TRAIN_CANVASES, TEST_CANVASES)
    run_experiment(
        name=name,
        tasks=[task for task in tasks if args.task in (None, task.name)],
        candidates=profile_candidates(args.r),
        plan=dataclasses.replace(PLAN, epochs=args.epochs),
        seeds=SEEDS,
        protocol={
            "data": "scikit-learn digits split 80/20 by source image (stratified), placed at "
            f"random on {CANVAS_SIZE}x{CANVAS_SIZE} canvases (generator seed {DATA_SEED})",
            "network": f"3x3 conv {REPRESENTATION} + ReLU, 6 x (1x1 conv, ReLU, 2x2 max pool), "
            f"linear to {CLASSES}; r = {args.r}; He-normal initial weights",
            "r": args.r,
        },
        output=RESULTS / f"{name}.json",
    )


if __name__ == "__main__":
    main()
