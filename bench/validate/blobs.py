"""The [CS17] blob images: 32x32 binary blobs scored for closedness and left-right symmetry.

The renderer follows the authors' generator (GitHub HUJI-Deep/inductive-pooling,
``exp/blob/generate_blob.py``) step by step, with scipy.ndimage as they used it:

1. an ellipse as wide as the image, of random height 2**U(3.5, 5) (integer half-height);
2. every column rolled vertically by a random sine (amplitude U(0, 4), frequency U(0, 3 cycles
   per image)), truncated to whole pixels;
3. rotated by U(0, 180) degrees (cubic spline, same frame);
4. shrunk to a random *tile* of 16x16 or 32x32 aligned to the tile grid, rest of the image empty;
5. pixels of the tile dropped with probability U(0.1, 0.33), through a left-right symmetric mask
   half of the time;
6. binarised at 0.1; empty images are redrawn.

Scores (docs/THEORY.md §12): closedness = |blob| / |closing(blob)| (scipy's default 3x3 cross, one
iteration, on the image padded by one empty pixel so the border does not close the blob);
symmetry = |blob ∩ left-right flip| / |blob| within the blob's bounding box, which in the authors'
code is the tile the blob was drawn into (the drop mask is symmetric about that tile's axis). Each
task labels the top 40% of its score 1 and the bottom 40% 0 and discards the middle, per split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

__all__ = [
    "IMAGE_SIZE",
    "LABELLED_FRACTION",
    "BlobSet",
    "BlobTask",
    "closedness",
    "extreme_labels",
    "generate_blobs",
    "symmetry",
]

IMAGE_SIZE = 32
LABELLED_FRACTION = 0.4
"""Fraction of a split taken as each class (highest scores = 1, lowest = 0)."""

BlobTask = Literal["closedness", "symmetry"]

_MIN_LOG2_ELLIPSE_HEIGHT = 3.5
_MAX_WARP_FREQUENCY = 3 * 2 * np.pi / IMAGE_SIZE
_MAX_WARP_AMPLITUDE = 4.0
_TILE_SIZES = (16, 32)
_MIN_DROP, _MAX_DROP = 0.1, 0.33
_BINARY_THRESHOLD = 0.1


@dataclass(frozen=True)
class BlobSet:
    """``n`` blob images with both scores.

    Attributes
    ----------
    images
        ``(n, 32, 32)`` bool.
    closedness, symmetry
        ``(n,)`` float64 scores in (0, 1].
    """

    images: npt.NDArray[np.bool_]
    closedness: npt.NDArray[np.float64]
    symmetry: npt.NDArray[np.float64]

    def labelled(self, task: BlobTask) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        """Images and 0/1 labels of ``task``: the extreme 40% of its score on each side."""
        scores = self.closedness if task == "closedness" else self.symmetry
        index, labels = extreme_labels(scores)
        return self.images[index], labels


def closedness(image: npt.NDArray[np.bool_]) -> float:
    """|blob| / |morphological closing of blob|: 1 for a blob without gaps, less with holes."""
    closed = ndimage.binary_closing(np.pad(image, 1))[1:-1, 1:-1]
    return float(image.sum() / closed.sum())


def symmetry(image: npt.NDArray[np.bool_], tile: tuple[int, int, int]) -> float:
    """|blob ∩ its left-right flip| / |blob| inside ``tile = (row, col, size)``."""
    row, col, size = tile
    region = image[row : row + size, col : col + size]
    return float(np.logical_and(region, region[:, ::-1]).sum() / region.sum())


def extreme_labels(
    scores: npt.NDArray[np.float64], fraction: float = LABELLED_FRACTION
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Indices (ascending) and labels of the lowest (0) and highest (1) ``fraction`` of scores.

    Ties are broken by position (a stable sort), as the authors' ``sorted`` does, so both classes
    always have exactly ``int(n * fraction)`` members.
    """
    order = np.argsort(scores, kind="stable")
    count = int(len(scores) * fraction)
    labels = np.full(len(scores), -1, dtype=np.int64)
    labels[order[:count]] = 0
    labels[order[len(scores) - count :]] = 1
    index = np.flatnonzero(labels >= 0)
    return index, labels[index]


def generate_blobs(count: int, rng: np.random.Generator) -> BlobSet:
    """Render ``count`` non-empty blob images and score them (see the module docstring)."""
    images = np.zeros((count, IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    closed = np.zeros(count)
    symmetric = np.zeros(count)
    done = 0
    while done < count:
        image, tile = _render(rng)
        if not image.any():
            continue
        images[done] = image
        closed[done] = closedness(image)
        symmetric[done] = symmetry(image, tile)
        done += 1
    return BlobSet(images, closed, symmetric)


def _render(rng: np.random.Generator) -> tuple[npt.NDArray[np.bool_], tuple[int, int, int]]:
    """One image (possibly empty) and the tile ``(row, col, size)`` the blob was drawn into."""
    centre = IMAGE_SIZE / 2 - 0.5
    rows, cols = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    half_height = int(2 ** rng.uniform(_MIN_LOG2_ELLIPSE_HEIGHT, np.log2(IMAGE_SIZE)) / 2)
    ellipse = ((cols - centre) / (IMAGE_SIZE / 2)) ** 2 + ((rows - centre) / half_height) ** 2 < 1
    canvas = ellipse.astype(float)

    amplitude = rng.uniform(0, _MAX_WARP_AMPLITUDE)
    frequency = rng.uniform(0, _MAX_WARP_FREQUENCY)
    shifts = (amplitude * np.sin(frequency * np.arange(IMAGE_SIZE))).astype(int)
    for col, shift in enumerate(shifts):
        canvas[:, col] = np.roll(canvas[:, col], shift)

    canvas = ndimage.rotate(canvas, rng.uniform(0, 180.0), reshape=False)

    size = int(rng.choice(_TILE_SIZES))
    row = size * int(rng.integers(0, IMAGE_SIZE // size))
    col = size * int(rng.integers(0, IMAGE_SIZE // size))
    shrunk = ndimage.zoom(canvas, size / IMAGE_SIZE)
    canvas = np.zeros_like(canvas)
    canvas[row : row + size, col : col + size] = shrunk

    drop_probability = rng.uniform(_MIN_DROP, _MAX_DROP)
    if rng.random() < 0.5:
        half = rng.random((size, size // 2)) < drop_probability
        drop = np.concatenate([half, half[:, ::-1]], axis=1)
    else:
        drop = rng.random((size, size)) < drop_probability
    canvas[row : row + size, col : col + size] *= ~drop
    return canvas > _BINARY_THRESHOLD, (row, col, size)
