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
a grid the array does not hold, a single sample — is one
:class:`~advisor.errors.InvalidRequestError` naming its field (``data``, ``data.shape``) and
what is wrong. NaN and constant features are found while the statistics stream
(:mod:`advisor.infer.dependence`), since they need a pass over the values.

This module holds the sample and its entry points; the jobs they share are modules of their
own, so that each rule is written once for every format: the file's checks
(:mod:`~advisor.infer.file_sizes`, :mod:`~advisor.infer.file_formats`), its reader
(:mod:`~advisor.infer.npy_files`, :mod:`~advisor.infer.csv_files`) and the layout of its array
onto the grid (:mod:`~advisor.infer.grid_layout`). A sample's class labels are read by
:mod:`~advisor.infer.class_labels`.
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
from advisor.infer import file_sizes
from advisor.infer.csv_files import read_csv
from advisor.infer.file_formats import unknown_format
from advisor.infer.graph import location_text
from advisor.infer.grid_layout import grid_layout
from advisor.infer.npy_files import NpyFile, npy_source, npz_array
from advisor.stdout import shown_path

__all__ = ["DataSample", "data_from_array", "read_data"]

_CHUNK_BYTES: Final = 64 * 1024**2
"""Target size of one chunk of samples as float64 (the streaming footprint), which a
column-major ``.npy``'s reads fill as stored (:meth:`~advisor.infer.npy_files.NpyFile.chunks`)."""

_Floats = npt.NDArray[np.float64]


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
    stored
        The shape each sample had as given (after the samples axis): ``(256,)`` for flat rows
        read onto a 16x16 grid, which :attr:`flat` tells.
    """

    shape: tuple[int, ...]
    channels: int
    samples: int
    source: npt.NDArray[np.generic] | NpyFile
    channels_first: bool = False
    name: str = ""
    stored: tuple[int, ...] = ()

    @property
    def flat(self) -> bool:
        """Whether each sample was a flat row of values read row-major onto a grid of 2+ axes."""
        return len(self.stored) == 1 and len(self.shape) > 1

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
        are read by :func:`~advisor.infer.class_labels.read_labels`). A ``.csv`` holds one
        sample per line, comma-separated numbers, no header.
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
    return DataSample(grid, channels, dims[0], source, first, stored=tuple(dims[1:]))


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
    flat = array.reshape(array.shape[0], -1)
    return DataSample(grid, channels, array.shape[0], flat, first, stored=array.shape[1:])
