"""The benchmark's tasks: offline data whose correlation structure is known by construction.

Every 2-D task is a 16x16 single-channel image, every 1-D task a 64-step single-channel
sequence (the sizes docs/OUTCOMES.md records the reasons for):

- ``symmetry``, ``closedness`` — the [CS17] blobs (:mod:`bench.validate.blobs`), rendered at
  32x32 as the authors did, labelled on the 32x32 scores, then averaged over 2x2 blocks to 16x16
  grey levels (a symmetric blob stays symmetric: the blocks pair up under the flip).
- ``digits-local`` — an 8x8 scikit-learn digit anywhere on a 16x16 canvas [LYCS18]
  (:mod:`bench.validate.canvases`; test canvases show held-out digits).
- ``digits-global`` — the digit upscaled x2 to fill the 16x16 canvas.
- ``digits-permuted`` — ``digits-global`` with one fixed random permutation of the 256 pixels
  (:func:`pixel_permutation`); the geometry that fits is the inverse permutation.
- ``sequence-mirror`` — 64 steps of +-1; the label is whether most of five planted products
  ``x[i] * x[63 - i]`` are positive, so it couples distant, mirrored steps (a planted long-range
  interaction); 5% of the labels are flipped.
- ``sequence-local`` — the same with five planted adjacent pairs ``x[j] * x[j + 1]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from bench.validate.blobs import BlobTask, generate_blobs
from bench.validate.canvases import CanvasTask, digit_pools, place_digits
from bench.validate.training import Dataset

__all__ = [
    "IMAGE_SIDE",
    "LABEL_NOISE",
    "SEQUENCE_LENGTH",
    "TASKS",
    "DataSizes",
    "TaskSpec",
    "mirror_pairs",
    "pixel_permutation",
]

IMAGE_SIDE: Final = 16
SEQUENCE_LENGTH: Final = 64
LABEL_NOISE: Final = 0.05
"""Fraction of the sequence labels flipped at random."""
PERMUTATION_SEED: Final = 1_000
MIRROR_STEPS: Final = (2, 9, 15, 22, 28)
"""Steps ``i`` whose product with step ``63 - i`` decides ``sequence-mirror``."""
LOCAL_STEPS: Final = (5, 18, 30, 41, 53)
"""Steps ``j`` whose product with step ``j + 1`` decides ``sequence-local``."""
_TEST_DIGIT_FRACTION: Final = 0.2
_BLOB_SCALE: Final = 2

_Images = npt.NDArray[np.float32]
_Labels = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DataSizes:
    """How many labelled training and test examples a task gets."""

    train: int
    test: int


@dataclass(frozen=True)
class TaskSpec:
    """A benchmark task: its input shape, class count and how to make its data."""

    name: str
    shape: tuple[int, ...]
    classes: int
    make: Callable[[DataSizes, np.random.Generator], tuple[Dataset, Dataset]]

    def data(self, sizes: DataSizes, seed: int) -> tuple[Dataset, Dataset]:
        """The task's train and test sets, the same for every call with the same arguments."""
        return self.make(sizes, np.random.default_rng(seed))


def _blobs(task: BlobTask) -> Callable[[DataSizes, np.random.Generator], tuple[Dataset, Dataset]]:
    def make(sizes: DataSizes, rng: np.random.Generator) -> tuple[Dataset, Dataset]:
        # Labelling keeps the extreme 2 x 40% of each split.
        splits = []
        for count in (sizes.train, sizes.test):
            images, labels = generate_blobs(round(count / 0.8), rng).labelled(task)
            splits.append(Dataset.from_arrays(_block_mean(images), labels))
        return splits[0], splits[1]

    return make


def _block_mean(images: npt.NDArray[np.bool_]) -> _Images:
    """``(n, 32, 32)`` binary images averaged over 2x2 blocks: ``(n, 16, 16)`` grey levels."""
    n, height, width = images.shape
    blocks = images.reshape(n, height // _BLOB_SCALE, _BLOB_SCALE, width // _BLOB_SCALE, -1)
    means: _Images = blocks.mean(axis=(2, 4), dtype=np.float32)
    return means


def _digits(
    task: CanvasTask, digit_size: int, permute: bool
) -> Callable[[DataSizes, np.random.Generator], tuple[Dataset, Dataset]]:
    def make(sizes: DataSizes, rng: np.random.Generator) -> tuple[Dataset, Dataset]:
        pools = digit_pools(_TEST_DIGIT_FRACTION, rng)
        splits = []
        for images, labels, count in (
            (pools.train_images, pools.train_labels, sizes.train),
            (pools.test_images, pools.test_labels, sizes.test),
        ):
            canvases, chosen = place_digits(
                images, labels, task, count, rng, canvas_size=IMAGE_SIDE, digit_size=digit_size
            )
            if permute:
                flat = canvases.reshape(count, -1)[:, pixel_permutation()]
                canvases = flat.reshape(canvases.shape)
            splits.append(Dataset.from_arrays(canvases, chosen))
        return splits[0], splits[1]

    return make


def pixel_permutation() -> npt.NDArray[np.intp]:
    """The fixed pixel order of ``digits-permuted``: pixel ``j`` shows original pixel ``p[j]``."""
    order: npt.NDArray[np.intp] = np.random.default_rng(PERMUTATION_SEED).permutation(
        IMAGE_SIDE * IMAGE_SIDE
    )
    return order


def mirror_pairs() -> list[tuple[int, int]]:
    """The planted pairs of ``sequence-mirror``."""
    return [(i, SEQUENCE_LENGTH - 1 - i) for i in MIRROR_STEPS]


def _sequences(
    pairs: list[tuple[int, int]],
) -> Callable[[DataSizes, np.random.Generator], tuple[Dataset, Dataset]]:
    first = np.array([a for a, _ in pairs])
    second = np.array([b for _, b in pairs])

    def make(sizes: DataSizes, rng: np.random.Generator) -> tuple[Dataset, Dataset]:
        splits = []
        for count in (sizes.train, sizes.test):
            steps = rng.choice(
                np.array([-1.0, 1.0], dtype=np.float32), size=(count, SEQUENCE_LENGTH)
            )
            votes = (steps[:, first] * steps[:, second]).sum(axis=1)
            labels = (votes > 0).astype(np.int64)
            flip = rng.random(count) < LABEL_NOISE
            labels[flip] = 1 - labels[flip]
            splits.append(Dataset.from_arrays(steps, labels))
        return splits[0], splits[1]

    return make


_IMAGE = (IMAGE_SIDE, IMAGE_SIDE)
TASKS: Final[dict[str, TaskSpec]] = {
    spec.name: spec
    for spec in (
        TaskSpec("symmetry", _IMAGE, 2, _blobs("symmetry")),
        TaskSpec("closedness", _IMAGE, 2, _blobs("closedness")),
        TaskSpec("digits-local", _IMAGE, 10, _digits("local", 8, permute=False)),
        TaskSpec("digits-global", _IMAGE, 10, _digits("global", IMAGE_SIDE, permute=False)),
        TaskSpec("digits-permuted", _IMAGE, 10, _digits("global", IMAGE_SIDE, permute=True)),
        TaskSpec("sequence-mirror", (SEQUENCE_LENGTH,), 2, _sequences(mirror_pairs())),
        TaskSpec(
            "sequence-local",
            (SEQUENCE_LENGTH,),
            2,
            _sequences([(j, j + 1) for j in LOCAL_STEPS]),
        ),
    )
}
"""Every task by name, in the order the benchmark runs and reports them."""
