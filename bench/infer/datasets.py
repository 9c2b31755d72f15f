"""The data sets of the inference validation, all available offline (docs/INFER.md).

Each is a feature matrix ``(n, locations)`` on a grid, with class labels. Substitutions for the
paper's data sets are stated here and in docs/INFER.md:

- ``digits-8x8``: scikit-learn's bundled 8x8 digits (1,797 images), values scaled to [0, 1].
- ``digits-16x16``: the same digits placed at a random position on an empty 16x16 canvas
  (bench/validate/canvases.py), 2,000 canvases.
- ``breast-cancer`` (30 features) and ``wine`` (13 features): scikit-learn's bundled tables,
  standardized, padded with zero features to 32 and 16 locations (1-D) so the pooling tree
  halves; the padding is constant, so it has no edges (``allow_constant``).
- ``signal-1d``: 1,024 steps of AR(1) noise (rho 0.9); class 1 adds a rising step of 16 steps at
  a random place, class 0 a falling one; 8 planted pairs ``(i, i + 512)`` copy step ``i`` into
  step ``i + 512`` with a little noise (the long-range pairs the inferred task must list).
- ``images-16x16``: 16x16 grey patches cut at random from scikit-learn's two bundled photographs
  (china.jpg, flower.jpg); the class is the photograph (scikit-image's data is not installed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_breast_cancer, load_digits, load_sample_images, load_wine

from bench.validate.canvases import place_digits

__all__ = ["DATASETS", "PLANTED_PAIRS", "DataSet", "load"]

_Floats = npt.NDArray[np.float32]
_Labels = npt.NDArray[np.int64]

SIGNAL_LENGTH: Final = 1024
PLANTED_PAIRS: Final = tuple((i, i + SIGNAL_LENGTH // 2) for i in range(40, 440, 50))
"""The planted long-range pairs of ``signal-1d``."""


@dataclass(frozen=True)
class DataSet:
    """Features ``(n, prod(shape))`` float32 in the natural order, labels, the grid."""

    name: str
    features: _Floats
    labels: _Labels
    shape: tuple[int, ...]

    @property
    def classes(self) -> int:
        """Distinct labels."""
        return int(np.unique(self.labels).size)


def _digits8(rng: np.random.Generator) -> DataSet:
    bunch = load_digits()
    features = (np.asarray(bunch.data) / 16).astype(np.float32)
    return DataSet("digits-8x8", features, np.asarray(bunch.target, dtype=np.int64), (8, 8))


def _digits16(rng: np.random.Generator) -> DataSet:
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16
    canvases, labels = place_digits(
        images,
        np.asarray(bunch.target, dtype=np.int64),
        "local",
        2000,
        rng,
        canvas_size=16,
        digit_size=8,
    )
    return DataSet("digits-16x16", canvases.reshape(2000, -1), labels, (16, 16))


def _table(
    name: str, load: Callable[..., object], width: int
) -> Callable[[np.random.Generator], DataSet]:
    def make(rng: np.random.Generator) -> DataSet:
        bunch = load()
        data = np.asarray(bunch.data, dtype=np.float64)  # type: ignore[attr-defined]
        data = (data - data.mean(axis=0)) / data.std(axis=0)
        padded = np.zeros((len(data), width), dtype=np.float32)
        padded[:, : data.shape[1]] = data
        labels = np.asarray(bunch.target, dtype=np.int64)  # type: ignore[attr-defined]
        return DataSet(name, padded, labels, (width,))

    return make


def _signal(rng: np.random.Generator) -> DataSet:
    count, n, rho = 2000, SIGNAL_LENGTH, 0.9
    noise = rng.standard_normal((count, n))
    signal = np.empty((count, n))
    signal[:, 0] = noise[:, 0]
    for t in range(1, n):
        signal[:, t] = rho * signal[:, t - 1] + np.sqrt(1 - rho**2) * noise[:, t]
    labels = rng.integers(0, 2, size=count)
    starts = rng.integers(0, n - 16, size=count)
    ramp = np.linspace(-1.5, 1.5, 16)
    for row, (label, start) in enumerate(zip(labels, starts, strict=True)):
        signal[row, start : start + 16] += ramp if label else -ramp
    for i, j in PLANTED_PAIRS:
        signal[:, j] = signal[:, i] + 0.2 * rng.standard_normal(count)
    return DataSet("signal-1d", signal.astype(np.float32), labels.astype(np.int64), (n,))


def _images(rng: np.random.Generator) -> DataSet:
    photos = [
        np.asarray(p, dtype=np.float64).mean(axis=2) / 255 for p in load_sample_images().images
    ]
    count, side = 2000, 16
    labels = rng.integers(0, len(photos), size=count)
    patches = np.empty((count, side * side), dtype=np.float32)
    for row, label in enumerate(labels):
        photo = photos[label]
        top = rng.integers(0, photo.shape[0] - side)
        left = rng.integers(0, photo.shape[1] - side)
        patches[row] = photo[top : top + side, left : left + side].reshape(-1)
    return DataSet("images-16x16", patches, labels.astype(np.int64), (side, side))


DATASETS: Final[dict[str, Callable[[np.random.Generator], DataSet]]] = {
    "digits-8x8": _digits8,
    "digits-16x16": _digits16,
    "breast-cancer": _table("breast-cancer", load_breast_cancer, 32),
    "wine": _table("wine", load_wine, 16),
    "signal-1d": _signal,
    "images-16x16": _images,
}


def load(name: str, seed: int = 0) -> DataSet:
    """Build the data set ``name`` (random ones from ``seed``)."""
    return DATASETS[name](np.random.default_rng(seed))
