"""Labelled pooling trees with their repeated subtrees shared: the search's batched DP.

The search scores many thousands of width vectors on each of hundreds of pooling trees, so running
the tree recurrence over all N locations for every one is out of the question. The recurrence
sees a subtree only through its *labelled shape*: which of its leaves are in A, in B or free for a
correlation, and how they are grouped. Most subtrees of a real task repeat (a block inside one
region, an all-free block, one period of a stripe pattern), so the tree of every correlation
collapses into a small DAG of distinct subtree *types*, interned level by level. The recurrence
then runs once per type and width vector, at a cost independent of N.

**The figure** is the one :func:`advisor.seprank.analysis.analyze` reports as
``log2_separation_rank``: the tensor-network min-cut (docs/THEORY.md §4-6) with weight sharing
(:func:`advisor.seprank.tree.log2_min_cut` with ``shared_weights=True``; the tests compare the
two). With ``D_0 = M`` and ``D_{h+1} = min(binom(D_h + k_h - 1, k_h), r_h)`` the dimension a
*pure* subtree of height ``h`` (all its leaves on one side) spans, and ``G_h(m) = log2
binom(D_h + m - 1, m)`` what ``m`` pure siblings of height ``h`` span together (they compute the
same function of different inputs, multiplied: a symmetric tensor), a type ``t`` at height
``h + 1`` with children ``c`` of multiplicities ``m_c`` — ``m_B`` of them pure B — has

    f(t, A) = min( sum_{c not pure B} m_c f(c, A) + G_h(m_B),  log2 r_h + sum_c m_c min_s f(c, s) )

and symmetrically for B; a pure type's value in the other state is ``log2 D``. Without pure
siblings (``m <= 1``) this is the plain recurrence.

Height 0 holds the three leaf types :data:`~advisor.seprank.labels.FREE`,
:data:`~advisor.seprank.labels.SIDE_A` and :data:`~advisor.seprank.labels.SIDE_B` (the labels
themselves). A type at height ``h >= 1`` is a node pooled by a level-``h - 1`` window; two nodes
share a type exactly when the multisets of their children's types agree.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

from advisor.arrays import (
    PACKED_KEY_BITS,
    digits,
    distinct_rows,
    id_dtype,
    ranked_keys,
    runs,
    unique_rows,
)
from advisor.errors import StoppedError
from advisor.search.bounded import BoundedCache
from advisor.seprank.labels import SIDE_A, SIDE_B
from advisor.seprank.tree import SUMMED_SIZES, log2_symmetric_powers
from advisor.stopping import StopSignal

__all__ = ["LEAF_TYPES", "DpValues", "SubtreeDag", "SubtreeDagBuilder", "TypeLevel"]

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]
_Types = npt.NDArray[np.signedinteger[Any]]
_CachedLevel: TypeAlias = tuple[npt.NDArray[np.intp], _Types, "TypeLevel"]
"""A cached level: its windows, its nodes' types and its types' level of the DAG."""

LEAF_TYPES: Final = 3
"""Height-0 types: the label values FREE, SIDE_A, SIDE_B."""

_SUMMED_COLUMNS: Final = 16
"""Windows up to this size are keyed column by column, larger ones by counting child types."""

CACHE_BYTES: Final = 256 * 2**20
"""The most a builder's cached levels hold, the least recently used dropped first: unbounded, a
search of 1,048,576 steps (start_end, a hundred dilation orders of twenty levels) held 2.3 GB
of them and peaked at 4 GB, and one of 262,144 steps 586 MB of its 932 MB."""

_GATHERED_ENTRIES: Final = 2**22
"""The most child entries interning gathers at once (bytes, for ``int8`` types)."""


@dataclass(frozen=True, eq=False)
class TypeLevel:
    """The distinct types of one height, as multisets of child types (CSR layout).

    Attributes
    ----------
    start
        ``(T + 1,)`` offsets: type ``t``'s children are entries ``start[t]:start[t + 1]``.
    child
        Child type ids (at the height below), ascending within each type.
    count
        Multiplicity of each child entry; a type's counts sum to the window size.
    arity
        The window size ``k``.
    pure
        ``(2,)``: the type whose leaves are all in A, all in B (-1 when there is none).
    pure_children
        ``(T, 2)``: how many children of each type are the pure-A, pure-B type below.
    """

    start: _Ints
    child: _Ints
    count: _Ints
    arity: int
    pure: _Ints
    pure_children: _Ints
    weight: _Floats = field(init=False, repr=False)
    grouped: _Ints = field(init=False, repr=False)
    group_sizes: _Ints = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Derived once: the step runs thousands of times per level.
        object.__setattr__(self, "weight", self.count.astype(np.float64))
        # Types with two or more pure siblings on a side, and those counts in the order the
        # states charge them (state A pays for the pure-B children).
        grouped = np.flatnonzero((self.pure_children >= 2).any(axis=1))
        object.__setattr__(self, "grouped", grouped)
        object.__setattr__(self, "group_sizes", self.pure_children[grouped][:, ::-1].copy())

    @property
    def num_types(self) -> int:
        """Number of distinct types at this height."""
        return int(self.start.size - 1)

    def summed(self, values: _Floats) -> _Floats:
        """Return each type's sum over its children of multiplicity times ``values[child]``.

        ``values`` is indexed by the types one height down (first axis), with any trailing axes.
        """
        weight = self.weight.reshape(-1, *[1] * (values.ndim - 1))
        summed: _Floats = np.add.reduceat(values[self.child] * weight, self.start[:-1], axis=0)
        return summed

    @property
    def has_pure(self) -> bool:
        """Whether a pure subtree exists at this height (its dimension then matters above)."""
        return bool((self.pure >= 0).any())


@dataclass(frozen=True, eq=False)
class DpValues:
    """The recurrence at one height for ``P`` width vectors.

    Attributes
    ----------
    values
        ``(T, 2, P)``: ``f(t, A)``, ``f(t, B)`` of every type.
    log2_dim
        ``(P,)``: ``log2 D`` of a pure subtree of this height.
    """

    values: _Floats
    log2_dim: _Floats

    def take(self, rows: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> DpValues:
        """Keep the width vectors ``rows`` (an index or mask over ``P``)."""
        if rows.dtype == np.bool_:
            rows = np.flatnonzero(rows)
        # np.take keeps the (T, 2, P) memory order; fancy indexing on the last axis would lay
        # the result out width-vector-major and slow every later gather several times over.
        return DpValues(np.take(self.values, rows, axis=2), self.log2_dim[rows])

    @staticmethod
    def join(parts: Sequence[DpValues]) -> DpValues:
        """Concatenate batches of width vectors (of one height)."""
        return DpValues(
            np.concatenate([p.values for p in parts], axis=2),
            np.concatenate([p.log2_dim for p in parts]),
        )


@dataclass(frozen=True, eq=False)
class SubtreeDag:
    """The distinct labelled subtrees of one pooling tree under every correlation of a task.

    Attributes
    ----------
    levels
        ``levels[h - 1]`` describes the types of height ``h`` (nodes pooled by level ``h - 1``
        windows), for ``h = 1 .. L``.
    roots
        ``(C,)``: the root's type for each correlation.
    digest
        A hash of ``levels`` and ``roots``: two trees with equal digests have the same figures
        for every correlation at every width vector (the search treats them as one candidate).
    """

    levels: tuple[TypeLevel, ...]
    roots: _Ints
    digest: bytes = field(repr=False)

    @cached_property
    def reach(self) -> tuple[npt.NDArray[np.bool_], ...]:
        """``reach[h]``: ``(C, T_h)`` whether the type occurs in each correlation's tree.

        Computed on first use: only the free width search bounds by it.
        """
        return _reach(self.levels, self.roots)

    @property
    def depth(self) -> int:
        """Number of pooling levels L; a width vector has ``L + 1`` entries (M first)."""
        return len(self.levels)

    @property
    def size(self) -> int:
        """The recurrence's work per width vector, which sizes the search's chunks.

        It counts the (type, child) pairs over all heights plus the terms summed for the
        symmetric powers of one-sided sibling groups
        (:func:`~advisor.seprank.tree.log2_symmetric_powers`), which dominate on wide windows:
        without them a chunk could run for half a second between two polls of the stop signal.
        """
        return sum(level.child.size + _summed_terms(level) for level in self.levels)

    def leaves(self, log2_representation: _Floats) -> DpValues:
        """Height 0 for ``P`` values of ``log2 M``: a leaf costs ``log2 M`` in the other state."""
        values = np.zeros((LEAF_TYPES, 2, log2_representation.size), dtype=np.float64)
        values[SIDE_A, 1] = log2_representation
        values[SIDE_B, 0] = log2_representation
        return DpValues(values, np.asarray(log2_representation, dtype=np.float64))

    def step(self, height: int, below: DpValues, log2_width: _Floats) -> DpValues:
        """Apply the recurrence from ``height - 1`` to ``height`` (``1 <= height <= L``).

        Parameters
        ----------
        height
            The height computed.
        below
            The values one height down.
        log2_width
            ``(P,)`` values of ``log2 r_{height-1}``, the δ pooling at ``height``.
        """
        level = self.levels[height - 1]
        kept = level.summed(below.values)
        cut = level.summed(below.values.min(axis=1))
        cut += log2_width
        if not (level.grouped.size or level.has_pure):  # the plain recurrence
            return DpValues(np.minimum(kept, cut[:, None, :]), np.zeros_like(log2_width))
        extra = np.array([1, level.arity] if level.has_pure else [1], dtype=np.int64)
        sizes = np.unique(np.concatenate([level.group_sizes.reshape(-1), extra]))
        powers = log2_symmetric_powers(below.log2_dim, sizes)
        if level.grouped.size:
            # Pure siblings span a symmetric power: m log2 D becomes G(m) (module docstring).
            single = powers[np.searchsorted(sizes, 1)]
            where = np.searchsorted(sizes, level.group_sizes)
            excess = powers[where] - level.group_sizes[:, :, None] * single
            kept[level.grouped] += excess
        # Without a pure subtree at this height (hence above) the dimension is never used.
        dim = (
            np.minimum(powers[np.searchsorted(sizes, level.arity)], log2_width)
            if level.has_pure
            else np.zeros_like(log2_width)
        )
        return DpValues(np.minimum(kept, cut[:, None, :]), dim)

    def propagate(self, state: DpValues, height: int, log2_widths: _Floats) -> _Floats:
        """Run the recurrence from ``height`` to the root; return the figures, shape ``(P, C)``.

        ``log2_widths`` is ``(P, L - height)``: ``log2 r_height, ..., log2 r_{L-1}``.
        """
        for above in range(height + 1, self.depth + 1):
            state = self.step(above, state, log2_widths[:, above - height - 1])
        return self.root_figures(state)

    def only(self, correlation: int) -> SubtreeDag:
        """Return the DAG of one correlation's tree: the types its root reaches, renumbered.

        Its figures at any width vector are that correlation's column of this DAG's, to the
        bit (each type keeps its children in order). A caller that needs one correlation's
        figure runs the recurrence on far fewer types where the correlations share little: on
        random masks the rationale's widenings, one correlation at a few width vectors, cost
        as much as a whole tree's scoring over every correlation.
        """
        if not 0 <= correlation < self.roots.size:
            raise ValueError(f"correlation {correlation} is not one of {self.roots.size}")
        kept = self.roots[correlation : correlation + 1]
        levels: list[TypeLevel] = []
        for height in range(self.depth, 0, -1):
            level = self.levels[height - 1]
            lengths = level.start[kept + 1] - level.start[kept]
            edges = runs(level.start[kept], lengths)
            child = level.child[edges]
            # Height 0 keeps the three leaf types as they are (leaves() builds all three).
            below = np.unique(child) if height > 1 else np.arange(LEAF_TYPES, dtype=np.int64)
            at = np.minimum(np.searchsorted(kept, level.pure), kept.size - 1)
            pure = np.where((level.pure >= 0) & (kept[at] == level.pure), at, -1)
            levels.append(
                TypeLevel(
                    np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                    np.searchsorted(below, child).astype(np.int64),
                    level.count[edges],
                    level.arity,
                    pure.astype(np.int64),
                    level.pure_children[kept],
                )
            )
            kept = below
        levels.reverse()
        roots = np.zeros(1, dtype=np.int64)
        return SubtreeDag(tuple(levels), roots, _digest(levels, roots))

    def root_figures(self, root: DpValues) -> _Floats:
        """Return the figures ``(P, C)`` from the values at the root height."""
        figures: _Floats = root.values[self.roots].min(axis=1).T
        return figures

    def log2_ranks(self, log2_widths: npt.ArrayLike) -> _Floats:
        """Compute the figure of every correlation for each of ``P`` width vectors.

        Parameters
        ----------
        log2_widths
            ``(P, L + 1)``: ``log2 M, log2 r_0, ..., log2 r_{L-1}`` per row.

        Returns
        -------
        numpy.ndarray
            ``(P, C)`` log2 figures.
        """
        x = np.atleast_2d(np.asarray(log2_widths, dtype=np.float64))
        if x.shape[1] != self.depth + 1:
            raise ValueError(f"width vectors need {self.depth + 1} entries (M first)")
        return self.propagate(self.leaves(x[:, 0]), 0, x[:, 1:])


def _summed_terms(level: TypeLevel) -> int:
    """Terms :func:`~advisor.seprank.tree.log2_symmetric_powers` sums per width vector here."""
    if not (level.grouped.size or level.has_pure):
        return 0
    largest = max(int(level.group_sizes.max(initial=1)), level.arity if level.has_pure else 1)
    return min(largest, SUMMED_SIZES)


class SubtreeDagBuilder:
    """Interns the subtrees of many pooling trees over one labelling, sharing their lower levels.

    Trees built for one search often agree on their lowest levels (a schedule and its deeper
    variants, dilation orders with a common prefix); those levels hold nearly all the nodes. Each
    level is cached under a caller-given key naming the windows that produced it (the least
    recently used dropped past :data:`CACHE_BYTES`), and the cached windows are compared with
    the new ones before reuse, so a wrong key costs time, never a wrong answer.

    Parameters
    ----------
    labels
        ``(C, N)`` side labels from :func:`advisor.seprank.labels.correlation_labels`.
    """

    def __init__(self, labels: npt.NDArray[np.int8]) -> None:
        if labels.ndim != 2:
            raise ValueError("labels must have shape (C, N)")
        self._leaves: _Types = labels
        self._cache: BoundedCache[Hashable, _CachedLevel] = BoundedCache(CACHE_BYTES, _entry_bytes)

    def build(
        self,
        windows: Sequence[npt.NDArray[np.intp]],
        level_keys: Sequence[Hashable],
        stop: StopSignal | None = None,
    ) -> SubtreeDag:
        """Intern the tree whose level-``l`` windows are ``windows[l]`` (a tree's windows).

        ``level_keys[l]`` names the windows of levels ``0..l`` (equal keys for equal prefixes).
        ``stop`` is polled before each level not in the cache and between the slices of
        correlations a level is interned in (interning one is a pass over its nodes for every
        correlation: the first deep tree of a large grid interns a dozen, and its first level
        took 5-10 s for a thousand correlations at 1024 x 1024, time a deadline went unseen).

        Raises
        ------
        advisor.errors.StoppedError
            When ``stop`` stopped the build (the levels interned so far stay cached).
        """
        if len(windows) != len(level_keys):
            raise ValueError("one key per level is needed")
        types = self._leaves
        pure = np.array([SIDE_A, SIDE_B], dtype=np.int64)
        levels = []
        for window, key in zip(windows, level_keys, strict=True):
            cached = self._cache.get(key)
            if cached is not None and np.array_equal(cached[0], window):
                types, level = cached[1], cached[2]
            else:
                _poll(stop)
                types, level = _intern(types, window, pure, stop)
                self._cache.put(key, (window, types, level))
            levels.append(level)
            pure = level.pure
        roots = types[:, 0].astype(np.int64)
        return SubtreeDag(tuple(levels), roots, _digest(levels, roots))


def _entry_bytes(entry: _CachedLevel) -> int:
    """Return the bytes a cached level holds: its windows and its nodes' types."""
    return int(entry[0].nbytes + entry[1].nbytes)


def _poll(stop: StopSignal | None) -> None:
    """Raise :class:`~advisor.errors.StoppedError` when ``stop`` says so (None: never)."""
    if stop is not None and stop.stopped():
        raise StoppedError("the tree was not built before the search was stopped")


def _intern(
    types: _Types, windows: npt.NDArray[np.intp], pure_below: _Ints, stop: StopSignal | None = None
) -> tuple[_Types, TypeLevel]:
    """Type the nodes one level up: equal multisets of child types share one new type id.

    A multiset is keyed by its child-type counts when there are few types below (a window of
    thousands of leaves has three), else by its sorted children; either key is packed into one
    integer when it fits, so one pass (:func:`~advisor.arrays.ranked_keys`) finds the types,
    and each type's multiset is read back from its key's digits. Type ids take the smallest
    integer type that holds them (the leaves' are the ``int8`` labels): the cached levels hold
    one per node and correlation, and a level of a few dozen types is one byte. ``stop`` is
    polled between the slices of correlations the children are keyed or counted in.
    """
    correlations, (num_rows, arity) = types.shape[0], windows.shape
    num_types = int(types.max()) + 1 if types.size else 1
    if num_types <= 2 * arity:
        base = arity + 1
        if num_types * math.log2(base) < PACKED_KEY_BITS:
            # The count vector's packed key: the sum of base^type over the children.
            if arity > _SUMMED_COLUMNS:
                powers = base ** np.arange(num_types, dtype=np.int64)
                keys = _window_counts(types, windows, num_types, stop) @ powers
            else:
                keys = _window_keys(types, windows, base, num_types, stop)
            distinct, inverse = ranked_keys(keys.reshape(-1))
            counts = digits(distinct, base, num_types)
        else:
            # Sorting a window of thousands of children (a global pool) would cost far more.
            counts, inverse = unique_rows(_window_counts(types, windows, num_types, stop))
        start, child, count = _csr_from_counts(counts)
    else:
        # np.take: several times faster than fancy indexing along the last axis.
        children = np.take(types, windows, axis=1).reshape(-1, arity)
        children.sort(axis=1)
        rows, inverse = distinct_rows(children, num_types)
        start, child, count = _csr_from_sorted_rows(rows)
    owner = np.repeat(np.arange(start.size - 1), np.diff(start))
    pure_children = np.zeros((start.size - 1, 2), dtype=np.int64)
    for side, below in enumerate(pure_below):
        hits = child == below
        pure_children[owner[hits], side] = count[hits]
    pure = np.array(
        [int(np.flatnonzero(pure_children[:, side] == arity).max(initial=-1)) for side in (0, 1)],
        dtype=np.int64,
    )
    level = TypeLevel(start, child, count, arity, pure, pure_children)
    dtype = id_dtype(level.num_types)
    return inverse.reshape(correlations, num_rows).astype(dtype, copy=False), level


def _window_keys(
    types: _Types,
    windows: npt.NDArray[np.intp],
    base: int,
    num_types: int,
    stop: StopSignal | None = None,
) -> npt.NDArray[np.unsignedinteger[Any]]:
    """``(C, windows)``: the sum of ``base^type`` over each window's children (small windows).

    In the smallest unsigned type that holds ``base^num_types`` (a window of four children of
    three leaf types: one byte), so the passes over the nodes move few bytes; column by column,
    as a sum over a short trailing axis is several times slower; a few correlations at a time
    (:func:`_row_chunks`), so the columns summed stay in the processor's cache: a thousand
    correlations' columns at once, each a quarter of the labels at 1024 x 1024, took 20 s
    to sum for one tree's first level, past a 60 s search's deadline.
    """
    dtype = next(
        t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if base**num_types <= np.iinfo(t).max
    )
    powers: npt.NDArray[np.unsignedinteger[Any]] = (
        base ** np.arange(num_types, dtype=np.int64)
    ).astype(dtype)
    keys = np.empty((types.shape[0], windows.shape[0]), dtype=dtype)
    for rows in _row_chunks(types.shape[0], windows, stop):
        chunk = keys[rows]
        powers.take(np.take(types[rows], windows[:, 0], axis=1), out=chunk)
        for column in range(1, windows.shape[1]):
            chunk += powers.take(np.take(types[rows], windows[:, column], axis=1))
    return keys


def _window_counts(
    types: _Types, windows: npt.NDArray[np.intp], num_types: int, stop: StopSignal | None = None
) -> _Ints:
    """``(C * windows, num_types)``: how many children of each type every window has.

    The children are gathered a few correlations at a time (:func:`_row_chunks`), each type
    counted with ``count_nonzero`` and the last one by difference: the shallow baseline's one
    window of every location, gathered for a thousand correlations at once, copied the whole
    label matrix and summed it type by type into ``int64`` (12 s and 2 GB beside the labels at
    1024 x 1024), before any deadline is polled.
    """
    arity = windows.shape[1]
    counts = np.empty((types.shape[0], windows.shape[0], num_types), dtype=np.int64)
    for rows in _row_chunks(types.shape[0], windows, stop):
        children = np.take(types[rows], windows, axis=1)
        chunk = counts[rows]
        for t in range(num_types - 1):
            chunk[:, :, t] = np.count_nonzero(children == t, axis=2)
        chunk[:, :, -1] = arity - chunk[:, :, :-1].sum(axis=2)
    return counts.reshape(-1, num_types)


def _row_chunks(
    correlations: int, windows: npt.NDArray[np.intp], stop: StopSignal | None = None
) -> Iterator[slice]:
    """Yield the correlations in slices of at most :data:`_GATHERED_ENTRIES` children each.

    The children under ``windows``, one correlation at least; ``stop`` is polled before every
    slice after the first (:class:`~advisor.errors.StoppedError`).
    """
    rows = max(1, _GATHERED_ENTRIES // max(1, windows.size))
    for first in range(0, correlations, rows):
        if first:
            _poll(stop)
        yield slice(first, first + rows)


def _csr_from_counts(counts: _Ints) -> tuple[_Ints, _Ints, _Ints]:
    """CSR multisets from ``(T, T_below)`` child-type count vectors."""
    rows, columns = np.nonzero(counts)
    start = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=counts.shape[0]))])
    return start.astype(np.int64), columns.astype(np.int64), counts[rows, columns]


def _csr_from_sorted_rows(rows: _Types) -> tuple[_Ints, _Ints, _Ints]:
    """CSR multisets by run-length encoding sorted rows of child types."""
    arity = rows.shape[1]
    flat = rows.reshape(-1)
    is_start = np.ones(flat.size, dtype=bool)
    is_start[1:] = flat[1:] != flat[:-1]
    is_start[::arity] = True
    positions = np.flatnonzero(is_start)
    count = np.diff(np.append(positions, flat.size))
    runs_per_type = np.add.reduceat(is_start.astype(np.int64), np.arange(0, flat.size, arity))
    start = np.concatenate([[0], np.cumsum(runs_per_type)]).astype(np.int64)
    return start, flat[positions].astype(np.int64), count.astype(np.int64)


def _reach(levels: Sequence[TypeLevel], roots: _Ints) -> tuple[npt.NDArray[np.bool_], ...]:
    """Which types occur in each correlation's tree, per height (top-down from the roots).

    A type below is reached when any type owning it is: the (owner, child) edges are sorted by
    child and OR-reduced per child in one pass, linear in edges times correlations
    (``np.logical_or.at`` took time superlinear in the correlations).
    """
    correlations = roots.size
    sizes = [LEAF_TYPES] + [level.num_types for level in levels]
    above = np.zeros((sizes[-1], correlations), dtype=bool)
    above[roots, np.arange(correlations)] = True
    reach = [above.T]
    for level, size in zip(reversed(levels), reversed(sizes[:-1]), strict=True):
        owner = np.repeat(np.arange(level.num_types), np.diff(level.start))
        by_child = np.argsort(level.child, kind="stable")
        children = level.child[by_child]
        firsts = np.flatnonzero(np.r_[True, children[1:] != children[:-1]])
        below = np.zeros((size, correlations), dtype=bool)
        below[children[firsts]] = np.logical_or.reduceat(above[owner[by_child]], firsts, axis=0)
        reach.append(below.T)
        above = below
    return tuple(reversed(reach))


def _digest(levels: Sequence[TypeLevel], roots: _Ints) -> bytes:
    hasher = hashlib.blake2b(digest_size=16)
    for level in levels:
        for array in (level.start, level.child, level.count):
            hasher.update(np.ascontiguousarray(array).tobytes())
            hasher.update(b"|")
    hasher.update(roots.tobytes())
    return hasher.digest()
