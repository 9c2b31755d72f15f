"""Labelled pooling trees with their repeated subtrees shared: the search's batched min-cut.

The search scores thousands of width vectors on each of hundreds of pooling trees, so running
the recurrence of THEORY.md §3 over all N locations for every one is out of the question. That
recurrence sees a subtree only through its *labelled shape*: which of its leaves are in A, in B or
free for a correlation, and how they are grouped. Most subtrees of a real task repeat (a block
inside one region, an all-free block, one period of a stripe pattern), so the tree of every
correlation collapses into a small DAG of distinct subtree *types* (hash-consing, level by level).
The recurrence then runs once per type and width vector, at a cost independent of N:

    f(t, s) = min( sum_c m_c f(c, s),  log2 r_{h-1} + sum_c m_c min(f(c, A), f(c, B)) )

over the distinct children ``c`` of type ``t`` with their multiplicities ``m_c``. The values equal
:func:`advisor.seprank.tree.log2_min_cut` on the full tree (the tests compare them).

Height 0 always has the three leaf types :data:`~advisor.seprank.labels.FREE`,
:data:`~advisor.seprank.labels.SIDE_A` and :data:`~advisor.seprank.labels.SIDE_B` (the labels
themselves). A type at height ``h >= 1`` is a node pooled by a level-``h - 1`` window; two nodes
get the same type exactly when the multisets of their children's types agree.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.arrays import unique_rows
from advisor.seprank.labels import SIDE_A, SIDE_B

__all__ = ["SubtreeDag", "SubtreeDagBuilder", "TypeLevel"]

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]

_LEAF_TYPES: Final = 3
"""Height-0 types: the label values FREE, SIDE_A, SIDE_B."""

_COUNT_KEY_BITS: Final = 20
"""Nodes are typed through a table over packed child-type counts while it has at most 2^20
entries (few types below, small windows); otherwise by sorting their rows of child types."""


@dataclass(frozen=True, eq=False)
class TypeLevel:
    """The distinct types of one height, each as a multiset of child types (CSR layout).

    Attributes
    ----------
    start
        ``(T + 1,)`` offsets: type ``t``'s children are entries ``start[t]:start[t + 1]``.
    child
        Child type ids (at the height below), ascending within each type.
    count
        Multiplicity of each child entry; a type's counts sum to the window size.
    """

    start: _Ints
    child: _Ints
    count: _Ints

    @property
    def num_types(self) -> int:
        """Number of distinct types at this height."""
        return int(self.start.size - 1)


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
        A hash of ``levels`` and ``roots``: two trees with equal digests have the same min-cut for
        every correlation at every width vector (the search treats them as one candidate).
    """

    levels: tuple[TypeLevel, ...]
    roots: _Ints
    digest: bytes = field(repr=False)

    @property
    def depth(self) -> int:
        """Number of pooling levels L; a width vector has ``L + 1`` entries (M first)."""
        return len(self.levels)

    def leaf_values(self, log2_representation: _Floats) -> _Floats:
        """Values ``f`` of the leaf types, shape ``(3, 2, P)``, for ``P`` values of ``log2 M``.

        A leaf costs its input leg (``log2 M``) in the state of the other side, 0 otherwise.
        """
        values = np.zeros((_LEAF_TYPES, 2, log2_representation.size), dtype=np.float64)
        values[SIDE_A, 1] = log2_representation
        values[SIDE_B, 0] = log2_representation
        return values

    def step(self, height: int, below: _Floats, log2_width: _Floats) -> _Floats:
        """Apply the recurrence from height ``height - 1`` to ``height`` (``1 <= height <= L``).

        Parameters
        ----------
        height
            The height computed.
        below
            ``(T_{h-1}, 2, P)`` values of the types one height down.
        log2_width
            ``(P,)`` values of ``log2 r_{h-1}``, the dimension of the δ pooling at ``height``.

        Returns
        -------
        numpy.ndarray
            ``(T_h, 2, P)`` values of the types at ``height``.
        """
        level = self.levels[height - 1]
        offsets = level.start[:-1]
        weight = level.count.astype(np.float64)
        kept = np.add.reduceat(below[level.child] * weight[:, None, None], offsets, axis=0)
        cheaper = below.min(axis=1)
        cut = np.add.reduceat(cheaper[level.child] * weight[:, None], offsets, axis=0)
        cut += log2_width
        return np.minimum(kept, cut[:, None, :])

    def propagate(self, values: _Floats, height: int, log2_widths: _Floats) -> _Floats:
        """Run the recurrence from ``height`` to the root; return the min-cuts, shape ``(P, C)``.

        ``log2_widths`` is ``(P, L - height)``: ``log2 r_height, ..., log2 r_{L-1}``, the widths
        of the levels still to apply.
        """
        for above in range(height + 1, self.depth + 1):
            values = self.step(above, values, log2_widths[:, above - height - 1])
        return self.root_cuts(values)

    def root_cuts(self, root_values: _Floats) -> _Floats:
        """Min-cuts ``(P, C)`` from the ``(T_L, 2, P)`` values of the root height."""
        cuts: _Floats = root_values[self.roots].min(axis=1).T
        return cuts

    def log2_min_cut(self, log2_widths: npt.ArrayLike) -> _Floats:
        """Min-cut of every correlation for each of ``P`` width vectors.

        Parameters
        ----------
        log2_widths
            ``(P, L + 1)``: ``log2 M, log2 r_0, ..., log2 r_{L-1}`` per row.

        Returns
        -------
        numpy.ndarray
            ``(P, C)`` log2 min-cuts.
        """
        x = np.atleast_2d(np.asarray(log2_widths, dtype=np.float64))
        if x.shape[1] != self.depth + 1:
            raise ValueError(f"width vectors need {self.depth + 1} entries (M first)")
        return self.propagate(self.leaf_values(x[:, 0]), 0, x[:, 1:])

    def cut_counts(self, log2_widths: npt.ArrayLike) -> _Ints:
        """Edges of each kind cut by a minimising cut, per width vector and correlation.

        Parameters
        ----------
        log2_widths
            ``(P, L + 1)`` width vectors (``log2 M`` first).

        Returns
        -------
        numpy.ndarray
            ``(P, C, L + 1)`` counts: column 0 counts input legs (weight ``log2 M``), column
            ``1 + l`` the δ hyperedges of level ``l`` (weight ``log2 r_l``), so each count vector
            dotted with its width vector is the min-cut. On ties the pattern that keeps the δ and
            the state A are preferred, as in the tree engine.
        """
        x = np.atleast_2d(np.asarray(log2_widths, dtype=np.float64))
        if x.shape[1] != self.depth + 1:
            raise ValueError(f"width vectors need {self.depth + 1} entries (M first)")
        points, kinds = x.shape
        values = self.leaf_values(x[:, 0])
        counts = np.zeros((_LEAF_TYPES, 2, points, kinds), dtype=np.int64)
        counts[SIDE_A, 1, :, 0] = counts[SIDE_B, 0, :, 0] = 1
        for height, level in enumerate(self.levels, start=1):
            offsets, weight = level.start[:-1], level.count
            # The cheaper state of each child type, per width vector: (T, 1, P).
            side = np.argmin(values, axis=1)[:, None, :]
            cheaper = np.take_along_axis(values, side, axis=1)[:, 0]
            cheaper_counts = np.take_along_axis(counts, side[..., None], axis=1)[:, 0]
            kept = np.add.reduceat(values[level.child] * weight[:, None, None], offsets, axis=0)
            kept_counts = np.add.reduceat(
                counts[level.child] * weight[:, None, None, None], offsets, axis=0
            )
            cut = np.add.reduceat(cheaper[level.child] * weight[:, None], offsets, axis=0)
            cut += x[:, height]
            cut_counts = np.add.reduceat(
                cheaper_counts[level.child] * weight[:, None, None], offsets, axis=0
            )
            cut_counts[..., height] += 1
            take_cut = cut[:, None, :] < kept
            values = np.where(take_cut, cut[:, None, :], kept)
            counts = np.where(take_cut[..., None], cut_counts[:, None], kept_counts)
        root_side = np.argmin(values[self.roots], axis=1)  # (C, P)
        chosen = np.take_along_axis(counts[self.roots], root_side[:, None, :, None], axis=1)
        result: _Ints = np.ascontiguousarray(chosen[:, 0].transpose(1, 0, 2))
        return result


class SubtreeDagBuilder:
    """Interns the subtrees of many pooling trees over one labelling, sharing their lower levels.

    Trees built for one search often agree on their lowest levels (a schedule and its deeper
    variants, dilation orders with a common prefix); those levels hold nearly all the nodes. Each
    level is cached under a caller-given key naming the windows that produced it, and the cached
    windows are compared with the new ones before reuse, so a wrong key costs time, never a
    wrong answer.

    Parameters
    ----------
    labels
        ``(C, N)`` side labels from :func:`advisor.seprank.labels.correlation_labels`.
    """

    def __init__(self, labels: npt.NDArray[np.int8]) -> None:
        if labels.ndim != 2:
            raise ValueError("labels must have shape (C, N)")
        self._leaves: _Ints = labels.astype(np.int64)
        self._cache: dict[Hashable, tuple[npt.NDArray[np.intp], _Ints, TypeLevel]] = {}

    def build(
        self, windows: Sequence[npt.NDArray[np.intp]], level_keys: Sequence[Hashable]
    ) -> SubtreeDag:
        """Intern the tree whose level-``l`` windows are ``windows[l]`` (a tree's windows).

        ``level_keys[l]`` names the windows of levels ``0..l`` (equal keys for equal prefixes).
        """
        if len(windows) != len(level_keys):
            raise ValueError("one key per level is needed")
        types = self._leaves
        levels = []
        for window, key in zip(windows, level_keys, strict=True):
            cached = self._cache.get(key)
            if cached is not None and np.array_equal(cached[0], window):
                types, level = cached[1], cached[2]
            else:
                types, level = _intern(types, window)
                self._cache[key] = (window, types, level)
            levels.append(level)
        roots = types[:, 0].copy()
        return SubtreeDag(tuple(levels), roots, _digest(levels, roots))


def _intern(types: _Ints, windows: npt.NDArray[np.intp]) -> tuple[_Ints, TypeLevel]:
    """Type the nodes one level up: equal multisets of child types share one new type id."""
    correlations, num_rows = types.shape[0], windows.shape[0]
    children = types[:, windows].reshape(-1, windows.shape[1])
    num_types = int(types.max()) + 1 if types.size else 1
    if num_types * math.log2(windows.shape[1] + 1) <= _COUNT_KEY_BITS:
        distinct, inverse = _by_counts(children, num_types)
        level = _from_counts(distinct)
    else:
        children.sort(axis=1)
        rows, inverse = unique_rows(children)
        level = _multisets(rows)
    return inverse.reshape(correlations, num_rows).astype(np.int64), level


def _by_counts(children: _Ints, num_types: int) -> tuple[_Ints, npt.NDArray[np.intp]]:
    """Distinct child-type count vectors of the rows, by a direct table over their packed keys.

    Linear in the rows (no sort): used when the count vectors pack into a small key.
    """
    base = children.shape[1] + 1
    counts = np.stack([(children == t).sum(axis=1) for t in range(num_types)], axis=1)
    keys = counts @ (base ** np.arange(num_types, dtype=np.int64))
    present = np.zeros(base**num_types, dtype=bool)
    present[keys] = True
    used = np.flatnonzero(present)
    ids = np.cumsum(present) - 1
    digits = (used[:, None] // base ** np.arange(num_types)) % base
    return digits.astype(np.int64), ids[keys].astype(np.intp)


def _from_counts(counts: _Ints) -> TypeLevel:
    """Build a :class:`TypeLevel` from ``(T, T_below)`` child-type count vectors."""
    rows, columns = np.nonzero(counts)
    start = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=counts.shape[0]))])
    return TypeLevel(
        start=start.astype(np.int64), child=columns.astype(np.int64), count=counts[rows, columns]
    )


def _multisets(rows: _Ints) -> TypeLevel:
    """Run-length encode sorted rows of child types into a :class:`TypeLevel`."""
    arity = rows.shape[1]
    flat = rows.reshape(-1)
    is_start = np.ones(flat.size, dtype=bool)
    is_start[1:] = flat[1:] != flat[:-1]
    is_start[::arity] = True
    positions = np.flatnonzero(is_start)
    count = np.diff(np.append(positions, flat.size))
    runs_per_type = np.add.reduceat(is_start.astype(np.int64), np.arange(0, flat.size, arity))
    start = np.concatenate([[0], np.cumsum(runs_per_type)]).astype(np.int64)
    return TypeLevel(start=start, child=flat[positions].astype(np.int64), count=count)


def _digest(levels: Sequence[TypeLevel], roots: _Ints) -> bytes:
    hasher = hashlib.blake2b(digest_size=16)
    for level in levels:
        for array in (level.start, level.child, level.count):
            hasher.update(np.ascontiguousarray(array).tobytes())
            hasher.update(b"|")
    hasher.update(roots.tobytes())
    return hasher.digest()
