"""Sorted location ids held compactly: as runs of consecutive ids, or as a bitmask of their span.

A resolved task keeps every region of every correlation for as long as it lives, and a region
of a large grid holds up to a million ids: 8 bytes each as an ``intp`` array (1.5 GB for 256
correlations on a 1024x1024 grid). A box, a half or a band is a few runs of consecutive ids (one
per row it spans); a parity or a random mask is not, and then one bit per location of its span
is less. :class:`PackedIds` keeps whichever is smaller — at most one bit per location of the
grid — and gives the ids back as a fresh array on request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.arrays import runs

__all__ = ["PackedIds"]

_RUN_BYTES: Final = 16
"""Bytes one run takes (its start and its length, ``int64`` each)."""


@dataclass(frozen=True, eq=False)
class PackedIds:
    """Sorted unique ids, as runs (``starts``, ``lengths``) or a bitmask from ``first``.

    Build with :meth:`pack`; :meth:`unpack` returns the ids. Two packings of equal ids are equal
    (the form is chosen from the ids alone).
    """

    size: int
    first: int
    starts: npt.NDArray[np.int64] | None
    lengths: npt.NDArray[np.int64] | None
    bits: npt.NDArray[np.uint8] | None
    span: int

    @classmethod
    def pack(cls, ids: npt.NDArray[np.intp]) -> PackedIds:
        """Pack sorted unique ids.

        Examples
        --------
        >>> band = PackedIds.pack(np.arange(1000, 3000))  # one run: 16 bytes, not 250
        >>> band.unpack()[[0, -1]].tolist(), band.size, band.bits is None
        ([1000, 2999], 2000, True)
        >>> PackedIds.pack(np.arange(0, 64, 2)).bits is not None  # 32 runs: a bitmask
        True
        """
        if ids.size == 0:
            return cls(0, 0, np.zeros(0, np.int64), np.zeros(0, np.int64), None, 0)
        first, span = int(ids[0]), int(ids[-1]) - int(ids[0]) + 1
        breaks = np.flatnonzero(np.diff(ids) != 1) + 1
        if (breaks.size + 1) * _RUN_BYTES <= (span + 7) // 8:
            starts = ids[np.concatenate([[0], breaks])].astype(np.int64)
            ends = np.concatenate([breaks, [ids.size]])
            lengths = np.diff(np.concatenate([[0], ends])).astype(np.int64)
            return cls(int(ids.size), first, starts, lengths, None, span)
        mask = np.zeros(span, dtype=bool)
        mask[ids - first] = True
        return cls(int(ids.size), first, None, None, np.packbits(mask), span)

    def unpack(self) -> npt.NDArray[np.intp]:
        """Return the ids as a new sorted read-only ``intp`` array."""
        if self.bits is not None:
            ids = np.flatnonzero(self._mask()) + self.first
        else:
            assert self.starts is not None and self.lengths is not None
            ids = runs(self.starts, self.lengths)
        result = ids.astype(np.intp)
        result.flags.writeable = False
        return result

    def add_to(self, row: npt.NDArray[np.int8], value: int) -> None:
        """Add ``value`` to ``row[id]`` for every id, by the span's mask (no id array is built).

        An elementwise add over the span, not a scatter: several times faster than setting the
        masked entries. A row that is 0 at every id ends ``value`` there.

        Raises
        ------
        ValueError
            If an id lies beyond ``row``.
        """
        if self.size == 0:
            return
        if self.first + self.span > row.size:
            raise ValueError(f"location ids must lie in [0, {row.size})")
        segment = row[self.first : self.first + self.span]
        mask = self._mask().view(np.int8)
        segment += mask if value == 1 else mask * np.int8(value)

    def _mask(self) -> npt.NDArray[np.bool_]:
        """Return the ids as a mask of their span."""
        if self.bits is not None:
            mask: npt.NDArray[np.bool_] = np.unpackbits(self.bits, count=self.span).view(bool)
            return mask
        assert self.starts is not None and self.lengths is not None
        # Alternating gaps (False) and runs (True), each repeated its length.
        ends = self.starts + self.lengths
        gaps = self.starts - np.concatenate([[self.starts[0]], ends[:-1]])
        counts = np.column_stack([gaps, self.lengths]).reshape(-1)
        pattern = np.tile(np.array([False, True]), self.lengths.size)
        inside: npt.NDArray[np.bool_] = np.repeat(pattern, counts)
        return inside

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PackedIds):
            return NotImplemented
        return np.array_equal(self.unpack(), other.unpack())

    def __hash__(self) -> int:
        return hash((self.size, self.first, self.span))

    def digest(self) -> str:
        """Return a SHA-256 hex digest of the ids: equal ids, equal digests.

        Taken over the packed form, which the ids alone choose, so it costs at most a bit per
        location of their span (a page token digests every region of its task: the ids as
        ``int64`` would be 8 bytes each, up to 8 MB a region).
        """
        form = "runs" if self.bits is None else "bits"
        digest = hashlib.sha256(f"{self.size}:{self.first}:{self.span}:{form}:".encode())
        for array in (self.starts, self.lengths, self.bits):
            if array is not None:
                digest.update(array.astype(array.dtype.newbyteorder("<")).tobytes())
        return digest.hexdigest()

    @property
    def nbytes(self) -> int:
        """Bytes the packed form holds."""
        arrays = (self.starts, self.lengths, self.bits)
        return sum(array.nbytes for array in arrays if array is not None)
