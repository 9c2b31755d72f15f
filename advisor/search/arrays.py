"""Small array helpers the search shares.

``numpy.unique(..., axis=0)`` views rows as structured records, which costs about a millisecond
per call however small the array; the search deduplicates rows thousands of times, so it sorts
them with :func:`numpy.lexsort` instead.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["unique_rows"]


def unique_rows(
    rows: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """Distinct rows of a 2-D integer array in lexicographic order, and each row's index in them.

    Examples
    --------
    >>> distinct, inverse = unique_rows(np.array([[2, 1], [0, 5], [2, 1]]))
    >>> distinct.tolist(), inverse.tolist()
    ([[0, 5], [2, 1]], [1, 0, 1])
    """
    if rows.shape[0] == 0:
        return rows.copy(), np.zeros(0, dtype=np.intp)
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    starts = np.ones(rows.shape[0], dtype=bool)
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(rows.shape[0], dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse
