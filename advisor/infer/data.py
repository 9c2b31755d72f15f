"""Read a data sample (``.npy``, ``.npz``, ``.csv`` or an array) as samples x grid x channels.

The layout is samples first, then the grid, then optional channels: an array ``(S, 28, 28)`` is
``S`` samples of a 28x28 grid, ``(S, 32, 32, 3)`` with ``shape=(32, 32)`` adds three channels,
and so does ``(S, 3, 32, 32)``, channels first (PyTorch's layout; when both read, as
``(S, 8, 8, 8)`` with ``shape=(8, 8)``, the channels are last); ``(S, 64)`` with ``shape=(8, 8)``
is read row-major onto the grid. A ``.npy`` file is read in
chunks of samples (:meth:`DataSample.chunks`) and never held in memory whole, so 65,536
locations x 10,000 samples are estimated within a bounded footprint; ``.npz`` and ``.csv`` are
parsed whole and bounded more tightly.

Nothing is dropped or reinterpreted silently: every problem — a file too large, ragged CSV rows,
a grid the array does not hold, a single sample, labels that do not match — is one
:class:`~advisor.errors.InvalidRequestError` naming its field (``data``, ``data.shape``,
``labels``) and what is wrong. NaN and constant features are found while the statistics stream
(:mod:`advisor.infer.dependence`), since they need a pass over the values.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError
from advisor.files import read_problem
from advisor.infer import file_sizes
from advisor.infer.csv_files import csv_labels, read_csv
from advisor.infer.file_formats import looks_like, unknown_format
from advisor.infer.graph import location_text
from advisor.infer.grid_layout import grid_layout
from advisor.infer.npy_files import NpyFile, npy_source, npz_array, read_npy_array
from advisor.stdout import shown_path

__all__ = ["DataSample", "data_from_array", "read_data", "read_labels"]

_CHUNK_BYTES: Final = 64 * 1024**2
"""Target size of one chunk of samples as float64 (the streaming footprint), which a
column-major ``.npy``'s reads fill as stored (:meth:`~advisor.infer.npy_files.NpyFile.chunks`)."""

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DataSample:
    """A data sample: ``samples`` rows of ``shape`` x ``channels`` values.

    Attributes
    ----------
    shape
        The input grid.
    channels
        Values per location (1 for a plain grid).
    samples
        Number of samples (at least 2).
    source
        Where the values come from: an in-memory array ``(samples, features)`` or the path of a
        ``.npy`` file and the byte offset, dtype and order of its data.
    channels_first
        Whether the source holds each sample's channels before its grid (``(C, *grid)``); the
        chunks are location-major either way.
    name
        The file the values were read from, which an error in them names (:meth:`refused`);
        empty for an array given in memory.
    """

    shape: tuple[int, ...]
    channels: int
    samples: int
    source: npt.NDArray[np.generic] | NpyFile
    channels_first: bool = False
    name: str = ""

    @property
    def num_locations(self) -> int:
        """Locations of the grid."""
        return math.prod(self.shape)

    @property
    def features(self) -> int:
        """Values per sample: locations times channels, location-major."""
        return self.num_locations * self.channels

    def chunk_rows(self) -> int:
        """Return the samples per chunk: about 64 MB of float64 values, at least one."""
        return max(1, min(self.samples, _CHUNK_BYTES // (8 * self.features)))

    def chunks(self, rows: int | None = None) -> Iterator[tuple[int, _Floats]]:
        """Yield ``(first sample, values (rows, features) float64)`` over every sample in order.

        The features are location-major (location ``l``, channel ``c`` at ``l * channels + c``)
        whatever the source's layout.
        """
        for start, values in self._source_chunks(rows or self.chunk_rows()):
            if self.channels_first:
                by_channel = values.reshape(len(values), self.channels, self.num_locations)
                values = by_channel.transpose(0, 2, 1).reshape(len(values), self.features)
            yield start, self._float64(start, values)

    def refused(self, problem: str) -> InvalidRequestError:
        """Return the error on ``data`` for ``problem`` in the values, naming their file."""
        return InvalidRequestError.single(
            "data", f"{shown_path(self.name)}: {problem}" if self.name else problem
        )

    def place(self, feature: int) -> str:
        """Name a location-major feature: ``location 7``, ``location (0, 7), channel 2``.

        By its coordinates on a grid, as the reports name locations
        (:func:`~advisor.infer.graph.location_text`): "location 17" of an 8x8 grid left the
        reader to work out (2, 1), where the constant-location refusal gave coordinates.
        """
        location, channel = divmod(feature, self.channels)
        named = f"location {location_text(self.shape, location)}"
        return named + (f", channel {channel}" if self.channels > 1 else "")

    def _float64(self, start: int, values: npt.NDArray[np.generic]) -> _Floats:
        """Return a chunk's stored values as float64, refusing one past its range.

        Only a wider float (``np.longdouble``) holds such a value: cast, it became ``inf``, with
        NumPy's overflow warning printed, and was told as "sample 0, location 0 is inf", a value
        the file does not hold. A signaling NaN (a float32 of bits ``0x7f800001``, as garbage
        bytes hold) casts to a NaN, which the passes refuse by its place; NumPy's warning that
        the cast met it was printed first, two lines quoting this code.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            converted = values.astype(np.float64, copy=False)
        if values.dtype.itemsize <= 8 or values.dtype.kind != "f":
            return converted
        past = np.isinf(converted) & np.isfinite(values)
        if past.any():
            sample, feature = (int(i) for i in np.argwhere(past)[0])
            value = np.format_float_scientific(values[sample, feature], precision=4, trim="0")
            raise self.refused(
                f"sample {start + sample}, {self.place(feature)} is {value} ({values.dtype}), "
                "past the float64 range (about 1.8e308): every value must be a finite number"
            )
        return converted

    def _source_chunks(self, step: int) -> Iterator[tuple[int, npt.NDArray[np.generic]]]:
        """Yield the source's chunks of ``step`` samples, each sample's values as stored."""
        if isinstance(self.source, NpyFile):
            yield from self.source.chunks(self.samples, self.features, step, _CHUNK_BYTES)
            return
        for start in range(0, self.samples, step):
            block = np.asarray(self.source[start : start + step])
            yield start, block.reshape(len(block), self.features)


def read_data(path: str | os.PathLike[str], shape: Sequence[int] | None = None) -> DataSample:
    """Read a data sample from ``path`` (``.npy``, ``.npz`` or ``.csv``).

    Parameters
    ----------
    path
        The file. A ``.npz`` holds one array, or an array named ``data`` (its ``labels``, if any,
        are read by :func:`read_labels`). A ``.csv`` holds one sample per line, comma-separated
        numbers, no header.
    shape
        The grid; default: the array's shape after the samples axis (a ``.csv`` is 1-D).

    Raises
    ------
    InvalidRequestError
        On ``data`` (unreadable, too large, ragged or non-numeric rows, fewer than two samples)
        or ``data.shape`` (the array does not hold that grid).
    """
    file = Path(path)
    size = file_sizes.file_size(file)
    suffix = file.suffix.lower()
    if suffix == ".npy":
        file_sizes.check_size(file, size, file_sizes.MAX_NPY_BYTES)
        sample = _read_npy(file, shape)
    elif suffix in (".npz", ".csv"):
        file_sizes.check_size(file, size, file_sizes.MAX_PARSED_BYTES)
        array = npz_array(file, "data") if suffix == ".npz" else read_csv(file, "data")
        with _naming(file):
            sample = _numeric_sample(array, shape, shown_path(file))
    else:
        raise unknown_format(file, "data")
    return dataclasses.replace(sample, name=str(file))


def _read_npy(file: Path, shape: Sequence[int] | None) -> DataSample:
    """Read the sample of the ``.npy`` file ``file``: its header now, its values as it streams."""
    dims, source = npy_source(file)
    with _naming(file):
        grid, channels, first = grid_layout(dims, shape, shown_path(file))
    return DataSample(grid, channels, dims[0], source, first)


@contextlib.contextmanager
def _naming(file: Path) -> Iterator[None]:
    """Name ``file`` in the ``data`` errors raised within: those of its array, which name none.

    One sample, values that are no numbers, an array with no grid after the samples: an error
    that named no file read as the command's own (``DATA: 1 sample(s): ...``).
    """
    try:
        yield
    except InvalidRequestError as error:
        raise InvalidRequestError(
            [
                type(v)(v.field, f"{shown_path(file)}: {v.description}") if v.field == "data" else v
                for v in error.violations
            ]
        ) from None


def data_from_array(values: npt.ArrayLike, shape: Sequence[int] | None = None) -> DataSample:
    """Wrap an in-memory array ``(samples, *grid[, channels])`` as a :class:`DataSample`.

    A masked array with a value masked is refused: the statistics read plain arrays, so the
    values under the mask would be read as data. Filling them, or dropping their samples, is
    the caller's choice to make.

    Raises
    ------
    InvalidRequestError
        As :func:`read_data`: on ``data`` (rows of different lengths, masked values, not
        numeric, not convertible to a NumPy array, fewer than two samples) or ``data.shape``.
    """
    if isinstance(values, np.ma.MaskedArray) and np.ma.is_masked(values):
        masked = np.ma.getmaskarray(values)
        first = int(np.argwhere(masked)[0][0])
        raise InvalidRequestError.single(
            "data",
            f"a masked array with {int(masked.sum())} masked value(s), the first in sample "
            f"{first}: the mask is not read, so the values under it would be; fill them or "
            "remove their samples",
        )
    try:
        array = np.asarray(values)
    except ValueError as error:  # nested lists of unequal lengths: numpy has no array
        raise InvalidRequestError.single(
            "data", f"is not an array, its rows differ in length ({error})"
        ) from None
    except (TypeError, RuntimeError) as error:
        # An object whose own conversion refuses: a PyTorch tensor of bfloat16 (TypeError), one
        # that requires grad (RuntimeError), one on a GPU. Its message says what to do.
        raise InvalidRequestError.single(
            "data", f"{type(values).__name__} does not convert to a NumPy array ({error})"
        ) from None
    return _numeric_sample(array, shape)


def _numeric_sample(
    array: npt.NDArray[Any], shape: Sequence[int] | None, name: str = ""
) -> DataSample:
    """Wrap ``array`` as :func:`data_from_array` does, refusing one of no numbers.

    ``name`` is the file ``array`` was read from, which an error on its shape names.
    """
    if array.dtype.kind not in "biuf":
        raise InvalidRequestError.single(
            "data", f"values must be numbers, not {array.dtype} (dtype kind {array.dtype.kind!r})"
        )
    grid, channels, first = grid_layout(array.shape, shape, name)
    return DataSample(grid, channels, array.shape[0], array.reshape(array.shape[0], -1), first)


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
            raise InvalidRequestError.single(
                "labels",
                f"{shown_path(file)}: not a readable .npy file ({read_problem(error)})"
                f"{looks_like(file, '.npy')}",
            ) from None
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
