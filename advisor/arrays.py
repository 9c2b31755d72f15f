"""Small integer-array helpers: distinct rows and keys and the ids they get, and runs of ids.

The search's subtree DAG (:mod:`advisor.search.subtree_dag`) and the tree engine's interned
subtrees (:mod:`advisor.seprank.interned`) both number the distinct values of millions of small
integer keys, level by level; this is the code they share.

``numpy.unique(..., axis=0)`` views rows as structured records, which costs about a millisecond
per call however small the array; the search deduplicates rows thousands of times, so
:func:`unique_rows` sorts them with :func:`numpy.lexsort` instead.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "PACKED_KEY_BITS",
    "digits",
    "distinct_rows",
    "id_dtype",
    "ranked_keys",
    "runs",
    "unique_rows",
]

_Ints = npt.NDArray[np.int64]
_Ids = npt.NDArray[np.signedinteger[Any]]

PACKED_KEY_BITS: Final = 62
"""A row of small ids is packed into one ``int64`` key while it needs fewer bits than this."""

_DENSE_KEYS_PER_ROW: Final = 8
"""Keys spanning at most this many values per key are ranked by a table, not sorted: a byte
per value to mark the keys present and an id per value, at most 40 bytes per key (the keys
take 8), where the sort costs 5-10 times the table's time."""


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


def distinct_rows(rows: npt.NDArray[np.integer[Any]], base: int) -> tuple[_Ints, _Ids]:
    """Distinct rows of ids below ``base`` (at least 1), and each row's index among them.

    A row is read as one key (its ids as base-``base`` digits, the first least significant)
    when that fits :data:`PACKED_KEY_BITS`, and the distinct rows come ordered by their keys;
    else the rows are sorted (:func:`unique_rows`), lexicographically. The keys are ranked by
    a table of their range (:func:`ranked_keys`) where it is small; where it is not (at a
    level of a hundred types, four children span 10^8 keys), the columns are ranked in turn
    from the most significant, each prefix's rank joined with the next digits while the span
    stays small: a few linear passes instead of a sort, the same ranks.

    >>> distinct, index = distinct_rows(np.array([[1, 0], [0, 1], [1, 0]]), 2)
    >>> distinct.tolist(), index.tolist()
    ([[1, 0], [0, 1]], [0, 1, 0])
    """
    count, width = rows.shape
    if base == 1:  # every id is 0: one distinct row, whatever the width (a global window's)
        return rows[:1].astype(np.int64), np.zeros(count, dtype=np.int8)
    if width * math.log2(base) >= PACKED_KEY_BITS:
        return unique_rows(rows.astype(np.int64))
    dense = _DENSE_KEYS_PER_ROW * count
    ranks: _Ids = np.zeros(count, dtype=np.int8)
    distinct = np.zeros(1, dtype=np.int64)
    left = width  # the columns left of the ranked prefix (columns ``left`` to the last)
    while left:
        joined = 1
        while joined < left and distinct.size * base ** (joined + 1) <= dense:
            joined += 1
        if distinct.size * base**joined > dense:
            joined = left  # no table fits: the rest in one key, ranked by a sort
        key = ranks.astype(np.int64)
        for column in range(left - 1, left - joined - 1, -1):
            key *= base
            key += rows[:, column]
        distinct, ranks = ranked_keys(key)
        left -= joined
    first = np.zeros(distinct.size, dtype=np.intp)
    first[ranks] = np.arange(count)  # a row of each rank (which one of equal rows is no matter)
    return rows[first].astype(np.int64), ranks


def ranked_keys(keys: npt.NDArray[np.integer[Any]]) -> tuple[_Ints, _Ids]:
    """Return the distinct non-negative keys ascending and every key's rank among them.

    The ranks are those of ``numpy.unique``, in the smallest integer type that holds them
    (:func:`id_dtype`). Keys of a small range are ranked through a table of the range in linear
    time, without the sort ``numpy.unique`` needs.

    Examples
    --------
    >>> distinct, ranks = ranked_keys(np.array([7, 3, 7, 0]))
    >>> distinct.tolist(), ranks.tolist()
    ([0, 3, 7], [2, 1, 2, 0])
    """
    span = int(keys.max(initial=0)) + 1
    if span > _DENSE_KEYS_PER_ROW * keys.size:
        distinct, inverse = np.unique(keys, return_inverse=True)
        return distinct.astype(np.int64), inverse.reshape(-1)
    present = np.zeros(span, dtype=bool)
    present[keys] = True
    distinct = np.flatnonzero(present)
    dtype = id_dtype(distinct.size)
    ids = np.zeros(span, dtype=dtype)
    ids[distinct] = np.arange(distinct.size, dtype=dtype)
    return distinct.astype(np.int64), ids[keys]


def digits(keys: _Ints, base: int, count: int) -> _Ints:
    """``(K, count)``: the base-``base`` digits of each key, least significant first.

    >>> digits(np.array([5, 7]), 3, 2).tolist()
    [[2, 1], [1, 2]]
    """
    result: _Ints = (keys[:, None] // base ** np.arange(count, dtype=np.int64)) % base
    return result


def id_dtype(num_ids: int) -> type[np.signedinteger[Any]]:
    """Return the smallest signed integer type that holds ``num_ids`` ids (0 to ``num_ids - 1``).

    >>> id_dtype(100).__name__, id_dtype(1000).__name__
    ('int8', 'int16')
    """
    return next(t for t in (np.int8, np.int16, np.int32, np.int64) if num_ids <= np.iinfo(t).max)


def runs(starts: _Ints, lengths: _Ints) -> _Ints:
    """Return the ids of the runs ``starts[i], ..., starts[i] + lengths[i] - 1``, concatenated.

    >>> runs(np.array([3, 10, 7]), np.array([2, 0, 3])).tolist()
    [3, 4, 7, 8, 9]
    """
    ids: _Ints = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(
        int(lengths.sum())
    )
    return ids
