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

__all__ = [
    "SUMMED_SIZES",
    "MinCuts",
    "log2_min_cut",
    "log2_min_cuts",
    "log2_symmetric_powers",
    "tree_engine",
]

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

    def tight(self, powers: bool) -> npt.NDArray[np.bool_]:
        """Return where a tree's figure is ``tight`` (docs/THEORY.md §10), the one rule for it.

        ``powers``: every channel count of the tree, M included, is a power of one integer
        [LYCS18 Thm 2]; then a figure is tight where sharing does not lower the bound and no
        window pools one-sided siblings the bound does not charge. The cuts must have been
        computed with ``siblings=powers``: ``uncharged`` is only known where asked for.
        """
        same = np.abs(self.shared - self.plain) < SAME
        return np.asarray(powers & same & ~self.uncharged, dtype=np.bool_)


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


SUMMED_SIZES: Final = 256
"""Sibling groups up to this size get ``G(m)`` term by term (:func:`log2_symmetric_powers`)."""

_LGAMMA: Final = np.frompyfunc(math.lgamma, 1, 1)


def log2_symmetric_powers(
    log2_dim: npt.NDArray[np.float64], sizes: npt.NDArray[np.integer[Any]]
) -> npt.NDArray[np.float64]:
    """``G(m) = log2 binom(D + m - 1, m)`` for every ``m`` in ``sizes``: shape ``(len, P)``.

    What ``m`` interchangeable one-sided siblings span (module docstring), for ``P`` values of
    ``log2 D``. Up to :data:`SUMMED_SIZES` siblings the terms ``log2((D + j - 1) / j)`` are
    summed one by one, so small figures agree to the last bit whichever engine asks; larger
    groups (a window of thousands of one-sided leaves) use ``lgamma``, within a few ``1e-9``
    bits of the sum, at a cost independent of ``m``. Past ``D = 2^20`` for the larger groups,
    where ``lgamma(D + m) - lgamma(D)`` loses bits (5e-6 at ``2^31``), and past ``2^40`` for
    every group (``D`` has no float past ``2^1024``), :func:`_stirling_symmetric_powers`.
    """
    result = np.zeros((sizes.size, log2_dim.size), dtype=np.float64)
    small, large = (sizes > 0) & (sizes <= SUMMED_SIZES), sizes > SUMMED_SIZES
    vast = log2_dim > _VAST_LOG2_DIM  # every group by the series
    wide = log2_dim >= _WIDE_LOG2_DIM  # the larger groups by the series
    if small.any() and not vast.all():
        dim = np.exp2(log2_dim[~vast])
        j = np.arange(1, int(sizes[small].max()) + 1, dtype=np.float64)
        sums = np.cumsum(np.log2((dim[:, None] + j - 1) / j), axis=1)
        result[np.ix_(small, ~vast)] = sums[:, sizes[small] - 1].T
    if large.any() and not wide.all():
        m, dim = sizes[large].astype(np.float64)[:, None], np.exp2(log2_dim[~wide])
        logs = _lgamma(dim + m) - _lgamma(dim) - _lgamma(m + 1.0)
        result[np.ix_(large, ~wide)] = logs / math.log(2.0)
    if large.any() and wide.any():
        result[np.ix_(large, wide)] = _stirling_symmetric_powers(log2_dim[wide], sizes[large])
    if vast.any():
        result[:, vast] = _stirling_symmetric_powers(log2_dim[vast], sizes)
    return result


_WIDE_LOG2_DIM: Final = 20.0
"""From this ``log2 D`` on, groups past :data:`SUMMED_SIZES` take ``G(m)`` from Stirling's
series (:func:`_stirling_symmetric_powers`), within 1e-9 bits where ``lgamma`` was not."""

_VAST_LOG2_DIM: Final = 40.0
"""Past this ``log2 D``, which no layer of up to 2^31 - 1 channels reaches, every group takes
``G(m)`` from Stirling's series: widths as wide as a figure of thousands of bits asks (the
contiguous net's reach at any width, :mod:`advisor.seprank.efficiency`)."""


def _stirling_symmetric_powers(
    log2_dim: npt.NDArray[np.float64], sizes: npt.NDArray[np.integer[Any]]
) -> npt.NDArray[np.float64]:
    """``G(m)`` for ``D`` of ``2^20`` or more, from ``log2 D`` alone (``D`` may have no float).

    ``ln binom(D + m - 1, m) = lnΓ(D + m) - lnΓ(D) - lnΓ(m + 1)``, and by Stirling's series,
    with ``x = m / D``, ``lnΓ(D + m) - lnΓ(D) = m ln D + m (log1p(x) / x - 1) + (m - 1/2)
    log1p(x) - x / (12 D (1 + x))``, the next term below ``D^-3``: every part is of the size
    of the result's own digits, where ``lgamma``'s difference cancels two numbers of ``D ln D``.
    """
    m = sizes.astype(np.float64)[:, None]
    log_d = log2_dim[None, :] * math.log(2.0)
    inverse = np.exp2(-log2_dim)[None, :]
    x = m * inverse
    # log1p(x) / x - 1, by its series where the quotient would cancel to nothing.
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.where(x < 1e-4, -x / 2 + x * x / 3 - x**3 / 4, np.log1p(x) / x - 1.0)
    logs = (
        m * log_d
        + m * quotient
        + (m - 0.5) * np.log1p(x)
        - x * inverse / (12.0 * (1.0 + x))
        - _lgamma(m + 1.0)
    )
    return np.asarray(logs / math.log(2.0), dtype=np.float64)


def _lgamma(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = np.asarray(_LGAMMA(values), dtype=np.float64)
    return result


class _OneSided(NamedTuple):
    """One level's ``cost[w, m]``: log2 dimension spanned by ``m`` one-sided children.

    ``cost`` tabulates it for ``m`` up to the level's ``arity`` (its window's size, the largest
    count) or :data:`SUMMED_SIZES`, the smaller, and ``excess`` what the symmetric price saves
    on ``m`` times one child's (``cost[w, m] - m cost[w, 1]``, shared weights only). A wider
    window's larger counts are priced as they occur, from ``log2_dim`` (``D_l``): tabulating
    every count up to the window's size cost the shallow net's build at 1024x1024, one window
    of a million locations, a million entries per width row and figure, 15-60 ms of fresh
    memory in a stopped search.
    """

    cost: _AnyArray
    excess: _AnyArray
    log2_dim: npt.NDArray[np.float64]
    arity: int

    def price(self, counts: _AnyArray, shared_weights: bool) -> _AnyArray:
        """Look up ``cost[w, m]`` for every ``m`` in ``counts``: shape ``(W, *counts.shape)``.

        Without sharing the cost is linear in ``m``, and a product is much cheaper than a
        gather.
        """
        if shared_weights:
            return self._symmetric(self.cost, counts, excess=False)
        return np.asarray(self.cost[:, 1].reshape(-1, *(1,) * counts.ndim) * counts)

    def saved(self, counts: _AnyArray) -> _AnyArray:
        """Look up ``excess[w, m]`` for every ``m`` in ``counts`` (shared weights)."""
        return self._symmetric(self.excess, counts, excess=True)

    def _symmetric(self, table: _AnyArray, counts: _AnyArray, excess: bool) -> _AnyArray:
        """Gather ``table`` at ``counts``, those past its end from :func:`log2_symmetric_powers`."""
        last = table.shape[1] - 1
        wide = None if last >= self.arity else counts > last
        if wide is None or not wide.any():
            return np.asarray(table[:, counts])
        priced = np.asarray(table[:, np.minimum(counts, last)])
        sizes, inverse = np.unique(counts[wide], return_inverse=True)
        powers = log2_symmetric_powers(self.log2_dim, sizes).T
        if excess:
            powers -= self.cost[:, 1:2] * sizes
        priced[:, wide] = powers[:, inverse.reshape(-1)]
        return priced


@functools.lru_cache(maxsize=8)
def _one_sided_table(
    weights: bytes,
    shape: tuple[int, ...],
    arities: tuple[int, ...],
    shared_weights: bool,
    dtype: np.dtype[Any],
) -> tuple[_OneSided, ...]:
    """:func:`_one_sided_costs` in ``dtype``, once per width rows and windows (read-only arrays).

    An analysis runs the recurrence once per chunk of correlations with the same widths.
    """
    rows = np.frombuffer(weights, dtype=np.float64).reshape(shape)
    levels = []
    for level in _one_sided_costs(rows, list(arities), shared_weights):
        cost, excess = level.cost.astype(dtype), level.excess.astype(dtype)
        for table in (cost, excess):
            table.flags.writeable = False
        levels.append(_OneSided(cost, excess, level.log2_dim, level.arity))
    return tuple(levels)


def _one_sided_costs(
    weights: npt.NDArray[np.float64], arities: list[int], shared_weights: bool
) -> list[_OneSided]:
    """Per level ``l``, ``cost[w, m]``: log2 dimension spanned by ``m`` one-sided children.

    A node whose leaves all lie in one region ("one-sided") outputs, as a function of those
    leaves, a vector spanning at most ``D_l`` dimensions: ``D_0 = M`` and ``D_{l+1} =
    min(cost[k_l], r_l)``. ``m`` such siblings multiplied channel-wise span ``D_l^m`` dimensions
    with independent weights, but with weights shared across locations they are interchangeable
    (the same function of different inputs, pooled by a commutative product), so their product is
    a symmetric tensor: ``binom(D_l + m - 1, m)`` dimensions at most
    (:func:`log2_symmetric_powers`). Without sharing the cost is ``m log2 D_l``: its table holds
    ``m`` of 0 and 1 only.
    """
    log2_dim = weights[:, 0]
    levels = []
    for level, arity in enumerate(arities):
        if shared_weights:
            counts = np.arange(min(arity, SUMMED_SIZES) + 1)
            cost = log2_symmetric_powers(log2_dim, counts).T
            excess = cost - cost[:, 1:2] * counts
            full = log2_symmetric_powers(log2_dim, np.array([arity]))[0]
        else:
            cost = log2_dim[:, None] * np.arange(2, dtype=np.float64)
            excess = np.zeros((log2_dim.size, 0))
            full = log2_dim * float(arity)
        levels.append(_OneSided(cost, excess, log2_dim, arity))
        log2_dim = np.minimum(full, weights[:, 1 + level])
    return levels


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
        one_sided[0].price(in_b, shared_weights),
        one_sided[0].price(in_a, shared_weights),
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
            sum_a += one_sided[level].saved(in_b)
            sum_b += one_sided[level].saved(in_a)
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
