"""Read NumPy's files: an ``.npy`` streamed chunk by chunk, or read whole, and ``.npz`` archives.

A data ``.npy`` is never held in memory whole: its header is read, checked against the file's
size, and its values read a chunk of samples at a time (:class:`NpyFile`), whether the file is
C-ordered or column-major (``np.save`` of an F-contiguous array), with no memory map. A labels
``.npy`` and an ``.npz``'s member are read whole, bounded by
:data:`~advisor.infer.file_sizes.MAX_PARSED_BYTES` from the header before a byte of the values
is read. An ``.npz`` is opened as a zip archive, not by ``np.load`` (which takes a file that
is no zip for a pickle), and an array of Python objects, stored pickled, is never read:
unpickling could run any code.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError
from advisor.files import read_problem
from advisor.infer import file_sizes
from advisor.infer.file_formats import looks_like
from advisor.stdout import shown_path

__all__ = ["NpyFile", "npy_source", "npz_array", "npz_names", "read_npy_array", "unreadable_npy"]

_Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class NpyFile:
    """The data of an ``.npy`` file, read chunk by chunk.

    ``column_major`` is, for a Fortran-ordered file (``np.save`` of an F-contiguous array), its
    array's dimensions after the samples axis; None for a C-ordered one.
    """

    path: Path
    offset: int
    dtype: np.dtype[np.generic]
    column_major: tuple[int, ...] | None = None

    def chunks(
        self, samples: int, features: int, rows: int, chunk_bytes: int
    ) -> Iterator[tuple[int, npt.NDArray[np.generic]]]:
        """Yield ``(first sample, values (count, features))`` of ``rows`` samples each, as stored.

        ``chunk_bytes`` is the footprint of one chunk as float64, the sample's
        (:meth:`~advisor.infer.data.DataSample.chunk_rows`), which a column-major file's reads
        fill as stored.

        The file is opened for each read and closed before a chunk is yielded, so a reader
        that stops early (an error in its own code, a stop, an abandoned pass) leaves no file
        open: held across the yields, the file stayed open for as long as anything (an
        exception's traceback) kept the suspended pass alive.
        """
        if self.column_major is not None:
            columns = _column_positions(self.column_major)
            yield from self._column_chunks(samples, rows, columns, chunk_bytes)
            return
        for start in range(0, samples, rows):
            count = min(rows, samples - start)
            with self.path.open("rb", buffering=0) as file:
                values = self._rows(file, start, count, features)
            yield start, values

    def _column_chunks(
        self, samples: int, rows: int, columns: _Ints, chunk_bytes: int
    ) -> Iterator[tuple[int, npt.NDArray[np.generic]]]:
        """Yield a column-major file's chunks of ``rows`` samples, read several chunks at a time.

        A read per feature per chunk is a short one (``rows`` values: 128 bytes of a uint8 file
        of 65,536 features), so the chunks are read as many at a time as fill
        ``chunk_bytes`` as stored (8 chunks of uint8, 2 of float32): as many times fewer
        reads, and no more memory than one chunk as float64 takes.
        """
        span = rows * max(1, chunk_bytes // (rows * columns.size * self.dtype.itemsize))
        for first in range(0, samples, span):
            # Unbuffered: the block is one short read per feature, and a buffered file reads
            # 8 KiB for each.
            with self.path.open("rb", buffering=0) as file:
                block = self._columns(file, first, min(span, samples - first), samples, columns)
            for start in range(0, len(block), rows):
                yield first + start, block[start : start + rows]

    def _rows(
        self, file: io.FileIO, start: int, count: int, features: int
    ) -> npt.NDArray[np.generic]:
        """Read samples ``start`` to ``start + count`` of a C-ordered file: one run of bytes."""
        file.seek(self.offset + start * features * self.dtype.itemsize)
        values = np.fromfile(file, dtype=self.dtype, count=count * features)
        if values.size != count * features:
            raise self._ended(start + count)
        return values.reshape(count, features)

    def _columns(
        self, file: io.FileIO, start: int, count: int, samples: int, columns: _Ints
    ) -> npt.NDArray[np.generic]:
        """Read samples ``start`` to ``start + count`` of a column-major file.

        Such a file holds each feature's values of every sample together (feature ``f``'s at
        column ``columns[f]``): the chunk is one read of ``count`` values per feature, in the
        features' own order, so its transpose is the chunk, with no copy. Read through a memory
        map, every page of the file the passes touched stayed resident: a 500 MB file took
        0.92 GB at the peak of the graph's passes, its C-ordered copy 0.45.
        """
        itemsize = self.dtype.itemsize
        by_feature = np.empty((columns.size, count), dtype=self.dtype)
        for run, column in zip(by_feature, columns.tolist(), strict=True):
            file.seek(self.offset + (column * samples + start) * itemsize)
            if file.readinto(memoryview(run).cast("B")) != run.nbytes:
                raise self._ended(start + count)
        return by_feature.T

    def _ended(self, sample: int) -> InvalidRequestError:
        """Return the error for a file that ends before ``sample`` (shortened while read)."""
        return InvalidRequestError.single(
            "data", f"{shown_path(self.path)}: the file ends before sample {sample}"
        )


def _column_positions(dims: tuple[int, ...]) -> _Ints:
    """Return where each feature of a sample of ``dims`` (C order) lies in column-major order."""
    return np.arange(math.prod(dims), dtype=np.int64).reshape(dims, order="F").ravel()


def npy_source(file: Path) -> tuple[tuple[int, ...], NpyFile]:
    """Read the header of the ``.npy`` data file ``file``: its array's dimensions, and its data.

    The values are left in the file, to be read chunk by chunk (:meth:`NpyFile.chunks`).

    Raises
    ------
    InvalidRequestError
        On ``data``: the file is no readable ``.npy`` (saying what it looks like when it is
        another format), its values are no numbers, or it is shorter than its header says.
    """
    try:
        with file.open("rb") as stream:
            dims, fortran, dtype = _npy_header(stream)
            offset = stream.tell()
    except (OSError, ValueError) as error:
        raise unreadable_npy(file, "data", error) from None
    if dtype.kind not in "biuf" or dtype.hasobject:
        raise InvalidRequestError.single(
            "data", f"{shown_path(file)}: values must be numbers, not {dtype}"
        )
    needed = offset + math.prod(dims) * dtype.itemsize
    if file.stat().st_size < needed:
        raise InvalidRequestError.single(
            "data", f"{shown_path(file)}: truncated ({needed} bytes expected)"
        )
    return dims, NpyFile(file, offset, dtype, tuple(dims[1:]) if fortran else None)


def _npy_header(stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype[np.generic]]:
    """Read an ``.npy`` header: the array's shape, whether column-major, its dtype.

    Raises
    ------
    ValueError
        When the header cannot be read, or gives a negative length (a corrupt header's
        ``(-5, 8, 8)`` read as "-5 sample(s)", and its size as negative bytes).
    """
    version = np.lib.format.read_magic(stream)
    read = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    dims, fortran, dtype = read(stream)
    if any(length < 0 for length in dims):
        raise ValueError(f"its header gives the shape {list(dims)}, a negative length")
    return dims, fortran, dtype


def read_npy_array(stream: IO[bytes], file: Path, field: str) -> npt.NDArray[np.generic]:
    """Read one ``.npy`` array from ``stream`` (``file`` or a member of it), never unpickling.

    Raises
    ------
    ValueError
        Saying what is wrong: not a ``.npy`` (its magic string), an array of Python objects
        (stored pickled, which is not read: it could run any code), or too short.
    InvalidRequestError
        On ``field``, naming ``file``, for an array over
        :data:`~advisor.infer.file_sizes.MAX_PARSED_BYTES`: a file that is readable but too
        large, which a ValueError's "not a readable .npz" did not say.
    """
    start = stream.tell()
    dims, _, dtype = _npy_header(stream)
    if dtype.hasobject:
        raise ValueError(
            f"it holds Python objects (dtype {dtype}), stored pickled, which are not read; "
            "store numbers or strings"
        )
    # The array is allocated from its header before a byte is read: a header claiming more
    # values than the file holds, or a compressed archive's member (gigabytes of zeros pack
    # into megabytes), would take that memory whatever the file's own size.
    size = math.prod(dims) * dtype.itemsize
    limit = file_sizes.MAX_PARSED_BYTES
    if size > limit:
        raise file_sizes.too_large(
            file,
            field,
            f"its array {list(dims)} of {dtype} is {file_sizes.bytes_text(size)}, over the "
            f"limit of {file_sizes.bytes_text(limit)} for an array read whole",
        )
    stream.seek(start)
    return np.asarray(np.lib.format.read_array(stream, allow_pickle=False))


def npz_names(path: str | os.PathLike[str]) -> list[str]:
    """Return the names of the arrays of a ``.npz`` archive; none for another or unreadable file.

    What a command notes beside the array it read: the ``labels`` a data archive holds are read
    only when ``--labels`` names the archive (:func:`~advisor.infer.class_labels.read_labels`).
    """
    file = Path(path)
    if file.suffix.lower() != ".npz":
        return []
    try:
        with zipfile.ZipFile(file) as archive:
            return [member.removesuffix(".npy") for member in archive.namelist()]
    except (OSError, zipfile.BadZipFile):
        return []


def npz_array(file: Path, name: str) -> npt.NDArray[np.generic]:
    """Read the array ``name`` of a ``.npz`` archive, or its only array.

    The archive is opened as a zip and its member read as a ``.npy`` (:func:`read_npy_array`):
    ``np.load`` takes a file that is no zip archive for a pickle, and its error advises loading
    it unsafely.
    """
    field = "data" if name == "data" else "labels"
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.namelist()
            names = [member.removesuffix(".npy") for member in members]
            if not names:  # np.savez(path) with nothing to save
                raise InvalidRequestError.single(
                    field,
                    f"{shown_path(file)}: holds no array; store the {name} in it "
                    f"(np.savez(path, {name}=...))",
                )
            key = name if name in names else (names[0] if len(names) == 1 else None)
            if key is None:
                raise InvalidRequestError.single(
                    field,
                    f"{shown_path(file)}: holds {names}; name the array {name!r} or store only one",
                )
            with archive.open(members[names.index(key)]) as stream:
                return read_npy_array(stream, file, field)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InvalidRequestError.single(
            field,
            f"{shown_path(file)}: not a readable .npz ({read_problem(error)})"
            f"{looks_like(file, '.npz')}",
        ) from None


def unreadable_npy(file: Path, field: str, error: Exception) -> InvalidRequestError:
    """Return the refusal of ``file``, a ``.npy`` file of ``field`` that could not be read.

    Why (``error``), and what the file looks like where it is not a ``.npy`` file at all
    (:func:`~advisor.infer.file_formats.looks_like`): the data's and the labels' alike.
    """
    return InvalidRequestError.single(
        field,
        f"{shown_path(file)}: not a readable .npy file ({read_problem(error)})"
        f"{looks_like(file, '.npy')}",
    )
