"""The size limits of a data or labels file, and the checks that refuse a file past them.

A ``.npy`` is streamed, so its limit is the largest sample worth estimating from; ``.npz`` and
``.csv`` files, and the labels, are parsed whole, so theirs bounds the memory a read takes. A
file is checked before a byte of it is read (a regular file, not empty, within its format's
limit), and each reader bounds what it builds by :data:`MAX_PARSED_BYTES` as it reads. Every
reader looks a limit up on this module when it reads (``file_sizes.MAX_PARSED_BYTES``), so one
value bounds them all. Every refusal says the sizes exactly and tells what to pass instead: a
sample of the file.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Final

from advisor.errors import InvalidRequestError
from advisor.files import os_reason
from advisor.model.text import binary_size
from advisor.stdout import shown_path

__all__ = [
    "MAX_NPY_BYTES",
    "MAX_PARSED_BYTES",
    "bytes_text",
    "check_size",
    "file_size",
    "too_large",
]

MAX_NPY_BYTES: Final = 4 * 1024**3
"""Largest ``.npy`` file read (streamed): 65,536 locations x 10,000 float32 samples is 2.6 GB.
The dependence estimate needs a few thousand samples, not all of a larger file."""

MAX_PARSED_BYTES: Final = 512 * 1024**2
"""Largest ``.npz`` or ``.csv`` file: these are parsed whole in memory."""


def file_size(file: Path, field: str = "data") -> int:
    """Return the size of ``file``, which must be a regular file (refused on ``field`` if not).

    A pipe (a shell's ``<(zcat data.csv.gz)``, a named pipe) has no size to check and cannot be
    read in the passes the sample takes: it was refused as ``the file is empty (0 bytes)``.
    """
    try:
        status = file.stat()
    except OSError as error:
        raise InvalidRequestError.single(field, f"{shown_path(file)}: {os_reason(error)}") from None
    if stat.S_ISDIR(status.st_mode):
        raise InvalidRequestError.single(field, f"{shown_path(file)}: is a directory, not a file")
    if not stat.S_ISREG(status.st_mode):
        kind = "pipe" if stat.S_ISFIFO(status.st_mode) else "device or socket"
        raise InvalidRequestError.single(
            field,
            f"{shown_path(file)}: is a {kind}, not a file: save what it holds to a file "
            "and pass that",
        )
    return status.st_size


def bytes_text(count: int) -> str:
    """Return a byte count exactly and in binary units: ``540,000,000 bytes (515 MiB)``.

    Exact, so that a size over a limit never reads as the limit itself: both rounded to a tenth
    of a GB, 540 MB over the 512 MiB limit read "0.5 GB exceeds the 0.5 GB limit". The units are
    :func:`~advisor.model.text.binary_size`'s, as every other size the tools write.
    """
    return f"{count:,} bytes ({binary_size(count)})"


def check_size(file: Path, size: int, limit: int, field: str = "data") -> None:
    """Refuse (on ``field``) an empty file, which holds no array, or one over ``limit`` bytes."""
    if size == 0:
        raise InvalidRequestError.single(field, f"{shown_path(file)}: the file is empty (0 bytes)")
    if size > limit:
        raise too_large(
            file,
            field,
            f"{bytes_text(size)} exceeds the limit of {bytes_text(limit)} for this format",
        )


def too_large(file: Path, field: str, excess: str) -> InvalidRequestError:
    """Return the refusal (on ``field``) of ``file``, of which ``excess`` says what is over a limit.

    Each ends by telling what to pass instead, a sample: the dependence estimate needs no more.
    """
    return InvalidRequestError.single(
        field,
        f"{shown_path(file)}: {excess}; pass a sample of it (a few thousand samples estimate the "
        "dependence well)",
    )
