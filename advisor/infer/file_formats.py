"""Which format a data or labels file is: its extension, and what its first bytes say it is.

A file is read by its extension (``.npy``, ``.npz`` or ``.csv``). One of another extension, or
one its reader cannot read, is refused saying what its first bytes show it to be when they are
a known format's (an ``.npz`` named ``.npy``, gzip-compressed data): the reader's own error (a
magic string not NumPy's, a byte not UTF-8) does not tell the user what the file is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from advisor.errors import InvalidRequestError
from advisor.stdout import shown_path

__all__ = ["looks_like", "unknown_format"]


def unknown_format(file: Path, field: str) -> InvalidRequestError:
    """Refuse ``file`` for its extension, saying what it looks like if it is a known format."""
    return InvalidRequestError.single(
        field,
        f"{shown_path(file)}: unknown format '{shown_path(file.suffix.lower())}'; expected "
        f".npy, .npz or .csv{looks_like(file, file.suffix.lower())}",
    )


_SIGNATURES: Final = (
    (".npy", b"\x93NUMPY", "a .npy array (NumPy's magic string): name it .npy"),
    (".npz", b"PK\x03\x04", "a .npz archive (a zip file): name it .npz"),
    (None, b"\x1f\x8b", "gzip-compressed data: decompress it first (gunzip)"),
)
"""The formats a file is recognised as where it cannot be read: the extension that reads it
(None: none does), its first bytes, and the words that say so."""


def looks_like(file: Path, suffix: str) -> str:
    """Return ``; it looks like ...`` for a file whose first bytes are another format's, else "".

    ``suffix`` is the format the file was read as. An ``.npz`` saved as ``.npy`` said only that
    the magic string was not NumPy's (it was a zip file's), which does not tell the user what
    the file is.
    """
    try:
        with file.open("rb") as stream:
            head = stream.read(8)
    except OSError:
        return ""
    for extension, magic, words in _SIGNATURES:
        if extension != suffix and head.startswith(magic):
            return f"; it looks like {words}"
    return ""
