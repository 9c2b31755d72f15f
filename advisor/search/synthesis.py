"""Pooling geometries synthesized from the task: windows where each correlation's sides meet.

A region whose locations fill a window alone reaches the other side only through that window's
``r_0`` channels (a bottleneck); a window holding locations of both sides contributes
``min(k log2 M, log2 r_0)``-sized terms to the min-cut at the lowest level (docs/THEORY.md §4). So a
synthesized tree groups, level by level, nodes that lie on *opposite* sides of the correlations.
No named geometry does this for arbitrary regions (two masks, a diagonal symmetry); the DP then
decides which synthesized variant, if any, beats the named ones.

**The fold.** At every level each node carries, per correlation, a *charge*: +1 when its leaves
meet A but not B, -1 for B but not A, 0 when it holds both (already mixed) or neither. Nodes are
sorted by their charges, correlation by correlation in the variant's priority order (descending),
then by position (Morton order of their first leaf, so free space stays spatially coherent). The
sorted list is folded so that nodes from its two ends share windows: the front holds A-only nodes
of the first correlation, the back B-only ones, and within each end the next correlation's order
runs the same way, so the fold pairs opposite charges of the second correlation too.

- ``pack``: a window of ``k`` takes ``ceil(k/2)`` nodes from the front and ``floor(k/2)`` from the
  back (the two sides fill the window);
- ``spread``: a window takes one node from each end and ``k - 2`` from the middle (each side's
  nodes are spread over as many windows as possible, free or mixed nodes filling the rest).

Only the first :data:`MAX_PRIORITY_KEYS` correlations of the priority order enter the sort key
(beyond that the sort would cost more than it could sort out). Variants (:func:`synthesis_variants`)
differ in the priority order and in ``pack``/``spread``. A synthesized tree is realised as an input
permutation followed by plain contiguous pooling (:func:`layout_permutation`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.geometry.layouts import geometry_structure
from advisor.geometry.structure import PoolingStructure
from advisor.model.schedule import Schedule
from advisor.seprank.labels import SIDE_A, SIDE_B

__all__ = [
    "MAX_PRIORITY_KEYS",
    "MAX_SYNTHESIS_VARIANTS",
    "SynthesisVariant",
    "Synthesizer",
    "layout_permutation",
    "synthesis_variants",
]

MAX_PRIORITY_KEYS: Final = 8
"""Correlations that enter a fold's sort key, in the variant's priority order."""

MAX_SYNTHESIS_VARIANTS: Final = 4
"""Variants per schedule: pack and spread by weight order, then spread led by the next ones."""

_Ids = npt.NDArray[np.intp]
_Pools = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class SynthesisVariant:
    """How a synthesized tree folds: correlation priority order and window filling."""

    priority: tuple[int, ...]
    spread: bool

    def describe(self, names: Sequence[str]) -> str:
        """Plain words, e.g. ``spread, led by 'symmetry/halves'``."""
        filling = "spread" if self.spread else "packed"
        return f"{filling} windows, led by {names[self.priority[0]]!r}"


def synthesis_variants(weights: Sequence[float]) -> list[SynthesisVariant]:
    """List the variants to try, at most :data:`MAX_SYNTHESIS_VARIANTS`, most promising first.

    Packed and spread folds with the correlations by decreasing weight (first of equals first),
    then spread folds led by each next correlation in that order (the rest keep their order).
    """
    by_weight = tuple(int(i) for i in np.argsort(-np.asarray(weights), kind="stable"))
    variants = [SynthesisVariant(by_weight, False), SynthesisVariant(by_weight, True)]
    for leader in by_weight[1:]:
        if len(variants) == MAX_SYNTHESIS_VARIANTS:
            break
        rest = tuple(c for c in by_weight if c != leader)
        variants.append(SynthesisVariant((leader, *rest), True))
    return variants


@dataclass(frozen=True, eq=False)
class _Nodes:
    """One level's nodes: which sides of each correlation they hold, and where they lie."""

    has_a: npt.NDArray[np.bool_]  # (C, n)
    has_b: npt.NDArray[np.bool_]  # (C, n)
    place: _Ids  # (n,) Morton rank of the node's first leaf

    def charges(self) -> npt.NDArray[np.int8]:
        charge = self.has_a.astype(np.int8) - self.has_b.astype(np.int8)
        return charge

    def pooled(self, windows: _Ids) -> _Nodes:
        return _Nodes(
            np.asarray(self.has_a[:, windows].any(axis=-1)),
            np.asarray(self.has_b[:, windows].any(axis=-1)),
            np.asarray(self.place[windows].min(axis=-1)),
        )


class Synthesizer:
    """Builds synthesized trees for one task, sharing the folds of common schedule prefixes.

    Parameters
    ----------
    labels
        ``(C, N)`` side labels of the correlations.
    shape
        The input grid.
    """

    def __init__(self, labels: npt.NDArray[np.int8], shape: Sequence[int]) -> None:
        self._shape = tuple(shape)
        self._leaves = _Nodes(labels == SIDE_A, labels == SIDE_B, _morton_rank(self._shape))
        self._cache: dict[Hashable, tuple[_Ids, _Nodes]] = {}

    @staticmethod
    def level_keys(pools: _Pools, variant: SynthesisVariant) -> list[Hashable]:
        """Keys naming the folds of levels ``0..l`` (size-2 windows fold alike in both modes)."""
        steps = tuple((pool, variant.spread and math.prod(pool) > 2) for pool in pools)
        return [
            ("synthesized", variant.priority, steps[: level + 1]) for level in range(len(pools))
        ]

    def windows(self, pools: _Pools, variant: SynthesisVariant) -> tuple[_Ids, ...]:
        """Return the windows of every level of the tree ``variant`` folds for ``pools``."""
        nodes, windows = self._leaves, []
        for pool, key in zip(pools, self.level_keys(pools, variant), strict=True):
            cached = self._cache.get(key)
            if cached is None:
                level = _fold(nodes, math.prod(pool), variant)
                cached = (level, nodes.pooled(level))
                self._cache[key] = cached
            windows.append(cached[0])
            nodes = cached[1]
        return tuple(windows)


def _fold(nodes: _Nodes, arity: int, variant: SynthesisVariant) -> _Ids:
    """Group one level's nodes into windows of ``arity`` (module docstring)."""
    count = nodes.place.size
    groups = count // arity
    charges = nodes.charges()
    keys = [nodes.place] + [-charges[c] for c in reversed(variant.priority[:MAX_PRIORITY_KEYS])]
    ordered = np.lexsort(keys).astype(np.intp)
    if groups == 1:
        return ordered[None, :]
    if variant.spread and arity > 2:
        front, back = ordered[:groups], ordered[count - groups :][::-1]
        middle = ordered[groups : count - groups].reshape(groups, arity - 2)
        return np.column_stack([front, middle, back])
    from_front = groups * ((arity + 1) // 2)
    front = ordered[:from_front].reshape(groups, -1)
    back = ordered[from_front:][::-1].reshape(groups, -1)
    return np.hstack([front, back])


def _morton_rank(shape: tuple[int, ...]) -> _Ids:
    """Rank of every location (row-major id) in Morton (Z) order, for spatial tie-breaks."""
    coords = np.unravel_index(np.arange(math.prod(shape)), shape)
    bits = max(1, max(n - 1 for n in shape).bit_length())
    code = np.zeros(math.prod(shape), dtype=np.int64)
    for bit in range(bits):
        for axis, coord in enumerate(coords):
            code |= ((coord >> bit) & 1).astype(np.int64) << (
                bit * len(shape) + len(shape) - 1 - axis
            )
    rank = np.empty_like(code, dtype=np.intp)
    rank[np.argsort(code, kind="stable")] = np.arange(code.size)
    return rank


def layout_permutation(
    shape: Sequence[int], pools: Sequence[Sequence[int]], windows: Sequence[_Ids]
) -> _Ids:
    """Return the input permutation under which plain contiguous pooling builds the tree.

    Contiguous pooling of the permuted input visits positions in the depth-first order of the
    contiguous tree; placing the tree's leaves in its own depth-first order there reproduces it.
    """
    num_locations = math.prod(shape)
    tree = PoolingStructure(num_locations, tuple(windows))
    contiguous = geometry_structure("contiguous", Schedule.trusted(shape, pools))
    permutation = np.empty(num_locations, dtype=np.intp)
    permutation[contiguous.leaf_order()] = tree.leaf_order()
    return permutation
