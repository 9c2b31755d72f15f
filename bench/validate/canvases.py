"""The [LYCS18] canvases: a small digit at a random position on an empty 64x64 image.

The paper used MNIST resized to 8x8 (the *local* task: every discriminative correlation spans at
most 8 pixels) or 32x32 (the *global* task: the same shapes spread over half the canvas). Here the
digits are scikit-learn's bundled 8x8 digits (1,797 images, values 0..16, no download): placed as
they are for the local task, upscaled x4 by bilinear interpolation for the global task. The source
images are split once into disjoint train and test pools, so test canvases show unseen digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from sklearn.datasets import load_digits

__all__ = [
    "CANVAS_SIZE",
    "DIGIT_SIZES",
    "CanvasTask",
    "DigitPools",
    "digit_pools",
    "place_digits",
]

CANVAS_SIZE = 64
CanvasTask = Literal["local", "global"]
DIGIT_SIZES: dict[CanvasTask, int] = {"local": 8, "global": 32}
"""Side of the digit on the canvas for each task."""

_SOURCE_SIZE = 8
_SOURCE_MAX = 16.0
_CLASSES = 10


@dataclass(frozen=True)
class DigitPools:
    """Source digits (``(n, 8, 8)`` float in [0, 1]) and labels, split into train and test."""

    train_images: npt.NDArray[np.float64]
    train_labels: npt.NDArray[np.int64]
    test_images: npt.NDArray[np.float64]
    test_labels: npt.NDArray[np.int64]


def digit_pools(test_fraction: float, rng: np.random.Generator) -> DigitPools:
    """Split scikit-learn's digits into disjoint train/test pools, stratified by class."""
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / _SOURCE_MAX
    labels = np.asarray(bunch.target, dtype=np.int64)
    test = np.zeros(len(labels), dtype=bool)
    for digit in range(_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test[members[: round(len(members) * test_fraction)]] = True
    return DigitPools(images[~test], labels[~test], images[test], labels[test])


def place_digits(
    images: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    task: CanvasTask,
    count: int,
    rng: np.random.Generator,
    *,
    canvas_size: int = CANVAS_SIZE,
    digit_size: int | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """``count`` canvases ``(count, canvas_size, canvas_size)`` float32, one random digit each.

    The digit (scaled to ``digit_size``, default ``DIGIT_SIZES[task]``) is placed with its
    top-left corner uniform over every position that keeps it inside the canvas.
    """
    size = DIGIT_SIZES[task] if digit_size is None else digit_size
    chosen = rng.integers(0, len(labels), size=count)
    scaled = _scale(images, size)
    corners = rng.integers(0, canvas_size - size + 1, size=(count, 2))
    canvases = np.zeros((count, canvas_size, canvas_size), dtype=np.float32)
    for canvas, source, (row, col) in zip(canvases, chosen, corners, strict=True):
        canvas[row : row + size, col : col + size] = scaled[source]
    return canvases, labels[chosen]


def _scale(images: npt.NDArray[np.float64], size: int) -> npt.NDArray[np.float64]:
    """Every ``8x8`` image resized to ``size x size`` (bilinear, values kept in [0, 1])."""
    if size == _SOURCE_SIZE:
        return images
    factor = size / _SOURCE_SIZE
    scaled: npt.NDArray[np.float64] = np.clip(
        ndimage.zoom(images, (1, factor, factor), order=1), 0.0, 1.0
    )
    return scaled
