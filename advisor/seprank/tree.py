"""The tensor-network min-cut of a pooling structure by the tree recurrence (docs/THEORY.md §6).

Work in log2. A node in state ``s`` (A or B) means the conv node above it sits on side ``s`` of
the cut; a leaf is a location. For a leaf, ``f(i, A)`` is ``log2 M`` when ``i`` is in B (its input
leg is cut) and 0 otherwise; ``f(i, B)`` symmetrically. A node ``v`` pooled from children ``c``
through a δ of dimension ``r``:

    f(v, s) = min( sum_c f(c, s),  log2 r + sum_c min(f(c, A), f(c, B)) )

where the second term cuts the δ hyperedge once. The min-cut is ``min(f(root, A), f(root, B))``.

Everything is vectorised: one pass per pooling level, batched over correlations (rows of the
label matrix) and over width vectors (:mod:`advisor.seprank.levels`: on a tree every window is
a contiguous run of the leaves in depth-first window order, and a level is a sum of ``k`` strided
views). :func:`log2_min_cuts`, the analysis's figures, runs on the distinct labelled subtrees only
(:mod:`advisor.seprank.interned`), to the same bits. With overlapping windows a node feeds
several windows; the same recurrence, run with gathers, then computes the min-cut of the
*unrolled* tree in which every reuse of a node is a copy of its subtree — the tensor network of
the network with duplicated inputs, which is what overlapping windows compute (an upper bound,
docs/THEORY.md §8).

**Shared weights.** The tensor network gives every node its own weights. A ConvNet shares its
conv weights across the locations of a level, and then sibling subtrees whose leaves all lie in
one region compute the same function of different inputs; product pooling is commutative, so
their product is symmetric in them and spans a symmetric tensor space, smaller than the tensor
power the min-cut charges (two B leaves of one window: ``binom(M + 1, 2)`` dimensions, not
``M^2``). ``shared_weights=True`` charges that bound instead: an upper bound on the generic rank of
the shared-weight network, never above the plain min-cut, and below it exactly where such
siblings sit on the cut (e.g. mirror pooling's reflected pairs when ``r_0 > M``). It is not
always tight: one-sided siblings holding constant inputs span subspaces of one space
(:mod:`advisor.seprank.siblings` finds where, so the analysis does not call those figures
``tight``), and children mixing both sides can lower the rank further
(tests/test_seprank_exact.py pins one). The plain min-cut is the exact rank without sharing when
all channel counts are powers of one integer (LYCS18 Thm 2).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from advisor.geometry.structure import PoolingStructure
from advisor.seprank.interned import intern_subtrees
from advisor.seprank.levels import LeafCounts, Levels, leaf_counts
from advisor.seprank.siblings import SAME, uncharged_siblings

__all__ = ["MinCuts", "log2_min_cut", "log2_min_cuts", "tree_engine"]

_AnyArray = npt.NDArray[Any]

_INT32_LIMIT: Final = 2**31 - 1


def log2_min_cut(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    log2_widths: npt.ArrayLike,
    log2_representation: npt.ArrayLike,
    *,
    shared_weights: bool = False,
) -> npt.NDArray[np.float64]:
    """Compute the log2 min-cut of every correlation for every width vector.

    Parameters
    ----------
    structure
        The pooling windows; a tree or an overlapping structure (then the unrolled tree's cut).
    labels
        ``(C, N)`` side labels from :func:`advisor.seprank.labels.correlation_labels`.
    log2_widths
        ``log2 r_l`` per pooling level: shape ``(L,)``, or ``(W, L)`` for ``W`` width vectors.
    log2_representation
        ``log2 M``: a scalar, or shape ``(W,)``.
    shared_weights
        Charge interchangeable one-sided siblings their symmetric dimension (see the module
        docstring): the bound for a network that shares conv weights across locations.

    Returns
    -------
    numpy.ndarray
        Shape ``(C,)``, or ``(W, C)`` when either width argument is batched.

    Examples
    --------
    Odd vs even locations of a 4-location sequence under contiguous size-2 pooling cross both
    level-0 windows: ``2 * log2 min(r_0, M)``.

    >>> structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    >>> labels = np.array([[1, 2, 1, 2]], dtype=np.int8)
    >>> log2_min_cut(structure, labels, [2.0, 3.0], 1.0)
    array([2.])

    Left vs right half with ``M = 2``: the two A leaves of a window are interchangeable when
    weights are shared, so they span ``binom(3, 2) = 3`` dimensions rather than ``2^2``.

    >>> halves = np.array([[1, 1, 2, 2]], dtype=np.int8)
    >>> log2_min_cut(structure, halves, [3.0, 3.0], 1.0), 2 ** log2_min_cut(
    ...     structure, halves, [3.0, 3.0], 1.0, shared_weights=True
    ... )
    (array([2.]), array([3.]))
    """
    levels = Levels.of(structure)
    counts = leaf_counts(structure, levels, labels)
    return _recurrence(levels, counts, None, log2_widths, log2_representation, shared_weights)


class MinCuts(NamedTuple):
    """What :func:`log2_min_cuts` returns: ``(C,)`` each, or ``(W, C)`` for batched widths."""

    plain: npt.NDArray[np.float64]
    """The min-cut without weight sharing."""
    shared: npt.NDArray[np.float64]
    """The shared-weight bound."""
    uncharged: npt.NDArray[np.bool_]
    """Siblings the shared bound does not charge (:mod:`advisor.seprank.siblings`); all False
    unless asked for."""


def log2_min_cuts(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    log2_widths: npt.ArrayLike,
    log2_representation: npt.ArrayLike,
    *,
    siblings: bool = False,
) -> MinCuts:
    """Return :func:`log2_min_cut` without and with ``shared_weights``, in one pass.

    What :func:`~advisor.seprank.analysis.analyze` reports needs both figures, and, where it
    would call them ``tight`` (``siblings``, one width vector), where sharing may lower them
    through siblings the bound does not charge. The recurrences share their start, the leaves
    counted per level-0 window (one pass over the locations), and then run on the labels'
    distinct subtrees (:func:`intern_subtrees`: a few nodes per level on a task of box regions
    rather than every location; on every node when the subtrees barely repeat, for a batch of
    width vectors and on overlapping windows). Each subtree's figures are computed by the same
    operations in the same order as on every location, so they are the same to the last bit.
    """
    levels = Levels.of(structure)
    counts = leaf_counts(structure, levels, labels)
    own_levels, own_counts = levels, counts
    roots = None
    # A wide window's reduction adds in an order that follows the memory layout (pairwise over a
    # contiguous window, one by one when another axis is fastest: Levels.window_sum). Several
    # width vectors, or several rows gathered by overlapping windows, put another axis first;
    # a tree's rows with one width vector keep every window contiguous, as interned ones do.
    unbatched = np.ndim(log2_widths) == 1 and np.ndim(log2_representation) == 0
    tree = intern_subtrees(levels, counts) if unbatched and structure.is_tree else None
    if tree is not None:
        levels, counts, roots = tree.levels, tree.counts, tree.roots
    plain = _recurrence(levels, counts, roots, log2_widths, log2_representation, False)
    shared = _recurrence(levels, counts, roots, log2_widths, log2_representation, True)
    uncharged = np.zeros(plain.shape, dtype=bool)
    if siblings and unbatched:
        if tree is not None:
            uncharged = uncharged_siblings(levels, counts, roots)
        else:
            # Only a figure sharing does not lower could be called tight: the others are not read.
            rows = np.flatnonzero(np.abs(shared - plain) < SAME)
            kept = LeafCounts(own_counts.in_a[rows], own_counts.in_b[rows])
            uncharged[rows] = uncharged_siblings(own_levels, kept, None)
    return MinCuts(plain, shared, uncharged)


def tree_engine(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    widths: Sequence[int],
    representation: int,
    *,
    shared_weights: bool,
) -> npt.NDArray[np.float64]:
    """Return :func:`log2_min_cut` of every row of ``labels``: the engines' common signature.

    See :mod:`advisor.seprank.engines`; ``widths`` are the channel counts ``r_l`` and
    ``representation`` is ``M``.
    """
    log2_widths = np.log2(np.asarray(widths, dtype=np.float64))
    return log2_min_cut(
        structure, labels, log2_widths, math.log2(representation), shared_weights=shared_weights
    )


def _cost_dtype(arities: Sequence[int], x: npt.NDArray[np.float64]) -> type[np.generic]:
    """``int32`` when every weight is an integer and no cut can overflow it, else ``float64``.

    Integer costs are exact (powers of 2 have integer logs) and half the memory traffic.
    """
    if not np.array_equal(x, np.round(x)):
        return np.float64
    unrolled_edges = np.prod(arities, dtype=np.float64)
    bound = unrolled_edges * (len(arities) + 1) * float(np.max(np.abs(x), initial=0.0))
    return np.int32 if bound < _INT32_LIMIT else np.float64


@functools.lru_cache(maxsize=8)
def _one_sided_table(
    weights: bytes,
    shape: tuple[int, ...],
    arities: tuple[int, ...],
    shared_weights: bool,
    dtype: np.dtype[Any],
) -> tuple[_AnyArray, ...]:
    """:func:`_one_sided_costs` in ``dtype``, once per width rows and windows (read-only arrays).

    An analysis runs the recurrence once per chunk of correlations with the same widths, and a
    window of a million locations costs a million entries per row to price (and 8 MB to copy:
    the shallow net's build at 1024x1024 spent 12 ms converting the cached table per chunk).
    """
    rows = np.frombuffer(weights, dtype=np.float64).reshape(shape)
    costs = [c.astype(dtype) for c in _one_sided_costs(rows, list(arities), shared_weights)]
    for cost in costs:
        cost.flags.writeable = False
    return tuple(costs)


def _one_sided_costs(
    weights: npt.NDArray[np.float64], arities: list[int], shared_weights: bool
) -> list[npt.NDArray[np.float64]]:
    """Per level ``l``, ``cost[w, m]``: log2 dimension spanned by ``m`` one-sided children.

    A node whose leaves all lie in one region ("one-sided") outputs, as a function of those
    leaves, a vector spanning at most ``D_l`` dimensions: ``D_0 = M`` and ``D_{l+1} =
    min(cost[k_l], r_l)``. ``m`` such siblings multiplied channel-wise span ``D_l^m`` dimensions
    with independent weights, but with weights shared across locations they are interchangeable
    (the same function of different inputs, pooled by a commutative product), so their product is
    a symmetric tensor: ``binom(D_l + m - 1, m)`` dimensions at most.
    """
    log2_dim = weights[:, 0]
    costs = []
    for level, arity in enumerate(arities):
        counts = np.arange(arity + 1, dtype=np.float64)
        if shared_weights:
            # log2 binom(D + m - 1, m) = sum_{j <= m} log2((D + j - 1) / j), valid for real D.
            dim = np.exp2(log2_dim)[:, None]
            terms = np.log2((dim + counts[1:] - 1) / counts[1:])
            cost = np.hstack([np.zeros_like(dim), np.cumsum(terms, axis=1)])
        else:
            cost = log2_dim[:, None] * counts
        costs.append(cost)
        log2_dim = np.minimum(cost[:, arity], weights[:, 1 + level])
    return costs


def _price(costs: _AnyArray, counts: _AnyArray, shared_weights: bool) -> _AnyArray:
    """Look up ``costs[w, m]`` for every ``m`` in ``counts``: shape ``(W, *counts.shape)``.

    Without sharing the table is linear in ``m``, and a product is much cheaper than a gather.
    """
    if shared_weights:
        return np.asarray(costs[:, counts])
    return np.asarray(costs[:, 1].reshape(-1, *(1,) * counts.ndim) * counts)


def _recurrence(
    levels: Levels,
    counts: LeafCounts,
    roots: npt.NDArray[np.intp] | None,
    log2_widths: npt.ArrayLike,
    log2_representation: npt.ArrayLike,
    shared_weights: bool,
) -> npt.NDArray[np.float64]:
    """Run the recurrence from the level-0 window counts; return the min-cuts.

    ``roots`` is None on a structure's own levels (each row's root is the top level's one node),
    or the root of each row on interned levels, which hold one row
    (:class:`~advisor.seprank.interned.InternedTree`).
    """
    widths = np.asarray(log2_widths, dtype=np.float64)
    representation = np.asarray(log2_representation, dtype=np.float64)
    arities = levels.arities
    depth = len(arities)
    if widths.ndim not in (1, 2) or widths.shape[-1] != depth:
        raise ValueError(f"log2_widths must have shape (L,) or (W, L) with L = {depth}")
    if representation.ndim > 1:
        raise ValueError("log2_representation must be a scalar or have shape (W,)")
    batched = widths.ndim == 2 or representation.ndim == 1
    per_row = representation.reshape(-1, 1), np.atleast_2d(widths)
    rows = np.broadcast_shapes(*(x.shape[:1] for x in per_row))[0]
    # (W, L + 1): the weight of each kind of edge, input legs first.
    weights = np.hstack([np.broadcast_to(x, (rows, x.shape[1])) for x in per_row])
    dtype = np.float64 if shared_weights else _cost_dtype(arities, weights)
    # (W, 1, 1) per kind of edge, broadcasting against (W, C, nodes).
    edge = weights.astype(dtype).T[:, :, None, None]
    one_sided = _one_sided_table(
        weights.tobytes(), weights.shape, tuple(arities), shared_weights, np.dtype(dtype)
    )

    in_a, in_b = counts.in_a, counts.in_b
    # Level 0: leaves on the wrong side are one-sided children (a leaf on its own side or free
    # costs 0), so the one-sided cost table gives the window sums directly.
    step = _Step(
        edge[1],
        _price(one_sided[0], in_b, shared_weights),
        _price(one_sided[0], in_a, shared_weights),
        np.zeros((), dtype),
    )
    for level in range(1, depth):
        cost_a, cost_b = step.cost_a, step.cost_b
        sum_a, sum_b = levels.window_sum(cost_a, level), levels.window_sum(cost_b, level)
        if shared_weights:
            full_a, full_b = ((n == arities[level - 1]).view(np.uint8) for n in (in_a, in_b))
            in_a, in_b = (levels.window_sum(full, level, np.int32) for full in (full_a, full_b))
            # A one-sided child costs D_l in the other state; swap the m-fold price for the
            # symmetric one.
            excess = one_sided[level] - one_sided[level][:, 1:2] * np.arange(arities[level] + 1)
            sum_a += excess[:, in_b]
            sum_b += excess[:, in_a]
        step = _Step(
            edge[1 + level], sum_a, sum_b, levels.window_sum(np.minimum(cost_a, cost_b), level)
        )
    top = np.minimum(step.cost_a, step.cost_b)
    # (W, C): each row's root, the top level's one node or (interned) the row's root type.
    value = (top[..., 0] if roots is None else top[:, 0, roots]).astype(np.float64)
    return value if batched else value[0]


class _Step:
    """The recurrence at one level: each node keeps its δ (children share its state) or cuts it."""

    def __init__(
        self,
        log2_width: _AnyArray,
        sum_a: _AnyArray,
        sum_b: _AnyArray,
        sum_min: _AnyArray,
    ) -> None:
        cut = log2_width + sum_min
        self.cost_a: _AnyArray = np.minimum(sum_a, cut)
        self.cost_b: _AnyArray = np.minimum(sum_b, cut)
