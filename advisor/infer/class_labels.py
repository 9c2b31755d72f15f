"""Read a data sample's class labels, one per sample, from ``.npy``, ``.npz`` or ``.csv``.

The labels' distinct values are the inferred task's ``outputs``, so they must be classes:
integers, names or booleans, one per sample. What would silently change that count is refused,
naming the first label at fault: a NaN (one more class), a fraction or an infinity (a
regression target, as many classes as its values), an empty name, a single class, one-hot rows
(told to pass each row's class). Names of every format are one class however they are padded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError
from advisor.infer import file_sizes
from advisor.infer.csv_files import csv_labels
from advisor.infer.file_formats import unknown_format
from advisor.infer.npy_files import npz_array, read_npy_array, unreadable_npy
from advisor.stdout import shown_path

__all__ = ["read_labels"]

_Ints = npt.NDArray[np.int64]


def read_labels(path: str | os.PathLike[str], samples: int) -> npt.NDArray[np.generic]:
    """Read one class label per sample from a ``.npy``, ``.csv`` (one per line) or ``.npz``.

    A ``.npz`` holds one array, or one named ``labels``. The labels are classes — integers
    (``1.0`` is ``1``), strings or booleans — since their distinct values are the task's
    ``outputs``: a NaN would be one more class, and a regression target as many as its values.
    A ``.csv``'s labels are numbers when every one reads as a number, names as written
    (``cat``, ``true``) when none does; a mix is refused (see
    :func:`~advisor.infer.csv_files.csv_labels`). Names, of every format, are classes without
    the whitespace around them (:func:`_class_names`).

    Raises
    ------
    InvalidRequestError
        On ``labels``: unreadable, not one value per sample, a NaN, infinite, fractional or
        empty label (the first is named), a CSV mixing numbers and names (the first odd one is
        named), or fewer than two classes.
    """
    file = Path(path)
    file_sizes.check_size(
        file, file_sizes.file_size(file, "labels"), file_sizes.MAX_PARSED_BYTES, "labels"
    )
    suffix = file.suffix.lower()
    lines = None  # a CSV's line of each label, for an error to name
    if suffix == ".npy":
        try:
            with file.open("rb") as stream:
                labels = read_npy_array(stream, file, "labels")
        except (OSError, ValueError) as error:
            raise unreadable_npy(file, "labels", error) from None
    elif suffix == ".npz":
        labels = npz_array(file, "labels")
    elif suffix == ".csv":
        labels, lines = csv_labels(file)
    else:
        # As the data's: read as CSV, a script or a JSON file failed as "ragged rows".
        raise unknown_format(file, "labels")
    labels = labels.reshape(-1) if labels.ndim == 2 and 1 in labels.shape else labels
    if labels.ndim != 1 or labels.size != samples:
        raise InvalidRequestError.single(
            "labels",
            f"{shown_path(file)}: holds {labels.shape}, expected one label for each of "
            f"{samples} samples"
            + (
                "; its rows are one-hot: pass the class of each, labels.argmax(axis=1)"
                if _one_hot(labels, samples)
                else ""
            ),
        )
    if labels.dtype.kind in "fc":
        _check_classes(file, labels, lines)
    if labels.dtype.kind in "US":
        labels = _class_names(labels)
        _check_names(file, labels)
    if np.unique(labels).size < 2:
        raise InvalidRequestError.single(
            "labels", f"{shown_path(file)}: a single class; expected at least 2"
        )
    return np.asarray(labels)


def _one_hot(labels: npt.NDArray[Any], samples: int) -> bool:
    """Whether ``labels`` is one row per sample with a single 1 among 0s (a one-hot encoding)."""
    if labels.ndim != 2 or labels.shape[0] != samples or labels.dtype.kind not in "biuf":
        return False
    return bool(np.isin(labels, (0, 1)).all() and (labels.sum(axis=1) == 1).all())


def _check_classes(file: Path, labels: npt.NDArray[Any], lines: _Ints | None) -> None:
    """Refuse numeric labels that are not classes, naming the first: not finite, or fractional.

    ``lines`` holds a CSV's line of each label: samples count from 0 and a CSV's blank lines
    hold none, so the sample alone did not say where the file has it.
    """

    def label(sample: int) -> str:
        line = "" if lines is None else f" (line {lines[sample]})"
        return f"{shown_path(file)}: sample {sample}'s label{line} is {labels[sample]}"

    infinite = np.flatnonzero(~np.isfinite(labels))
    if infinite.size:
        raise InvalidRequestError.single(
            "labels",
            f"{label(int(infinite[0]))}: a class label must be finite "
            f"({infinite.size} label(s) are not)",
        )
    fractional = np.flatnonzero(labels != np.round(labels))
    if fractional.size:
        raise InvalidRequestError.single(
            "labels",
            f"{label(int(fractional[0]))}: class labels must be integers "
            f"({fractional.size} label(s) are fractional; a regression target is not a class "
            "count)",
        )


def _class_names(names: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return name labels without the whitespace around them: the one rule of every format.

    ``' cat'`` and ``'cat'`` are one class, as a CSV of ``cat, dog`` means; a CSV's names were
    stripped and an ``.npy``'s or ``.npz``'s were not, so there ``' cat'`` was a class of its
    own and the task's ``outputs`` one too many, without a word.
    """
    return np.char.strip(names)


def _check_names(file: Path, labels: npt.NDArray[Any]) -> None:
    """Refuse an empty name label (once stripped, :func:`_class_names`), naming the first.

    As a CSV's empty label is (:func:`~advisor.infer.csv_files.csv_labels`): read as a class it
    is one of its own, named ``''``, and the task's ``outputs`` one more than the classes, without
    a word (a missing label written as an empty string, as ``fillna('')`` writes it).
    """
    blank = np.flatnonzero(np.char.str_len(labels) == 0)
    if blank.size:
        raise InvalidRequestError.single(
            "labels",
            f"{shown_path(file)}: sample {int(blank[0])}'s label is empty ({blank.size} "
            "label(s) are): give every sample one",
        )
