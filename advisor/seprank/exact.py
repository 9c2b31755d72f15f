"""Exact generic separation rank by arithmetic modulo a prime (docs/THEORY.md §9): the oracle.

The network's output is a polynomial in its weights, so the rank of the matricization is, for
almost every weight draw, a fixed number: the generic rank. Drawing every weight uniformly from
GF(p) and computing the rank modulo p gives it except with probability at most ``deg / p``
(Schwartz-Zippel; ``deg`` is the rank times the factors of one term, one per node of the
network and per free location, about ``3N`` on ``N`` locations: docs/THEORY.md §9), and the
error is one-sided: a draw can only come out too low. Several independent draws are therefore
combined by taking the maximum.

The network is contracted bottom-up. A node whose receptive field avoids both regions is a vector
over its channels (free locations are contracted with fixed random vectors, docs/THEORY.md §3);
those are computed for all nodes of a level at once. A node that sees region locations is a
tensor ``[channel, location axes...]`` with one axis of size ``M`` per distinct A or B location in
its field. A window multiplies its children channel-wise; children that share locations
(overlapping windows) are multiplied on the diagonal of the shared axes, so an overlapping network
yields its grid tensor, whose rank is a lower bound on its separation rank (docs/THEORY.md §9); on a
tree it is the coefficient tensor itself. The root's children are multiplied in two groups that
are then contracted with each other over the channels, weighted by a random output row, so the
largest tensor held is the ``M^|A| x M^|B|`` matrix itself, whose rank FLINT's ``nmod_mat.rank``
computes.

Weights are shared across the locations of a level by default, as in real ConvNets; ``shared=False``
gives every node its own weights (the unshared network of CSS16).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import flint
import numpy as np
import numpy.typing as npt

from advisor.errors import LimitExceededError
from advisor.geometry.structure import PoolingStructure
from advisor.model.exact_bounds import (
    EXACT_MAX_LOG2_ELIMINATION,
    EXACT_MAX_LOG2_INTERMEDIATE,
    EXACT_MAX_LOG2_SIZE,
    elimination_problem,
)
from advisor.model.text import bits_over
from advisor.seprank.labels import PADDED, label_regions

__all__ = [
    "EXACT_MAX_LOG2_ELIMINATION",
    "EXACT_MAX_LOG2_INTERMEDIATE",
    "EXACT_MAX_LOG2_SIZE",
    "EXACT_TRIALS",
    "PRIME",
    "check_exact_limits",
    "exact_engine",
    "exact_limits",
    "exact_rank",
    "log2_exact_rank",
]

EXACT_TRIALS: Final = 2
"""Independent weight draws per rank; the maximum is kept (the error is one-sided)."""

PRIME: Final = 536_870_909
"""The largest prime below ``2**29``: a product of two residues is below ``2**58``, so 32 of them
sum without overflowing int64 (see :func:`_contract_channels`)."""

_SUM_CHUNK: Final = 32
_BATCH_ENTRIES: Final = 2**22
_PROJECT_BELOW_ROWS: Final = 64
"""A matrix with fewer rows than this and more columns is first multiplied by a random
``columns x rows`` matrix: ``rows^2 * columns`` numpy operations (~2 ns each) instead of
converting ``rows * columns`` entries into FLINT (~0.25 us each)."""
_Residues = npt.NDArray[np.int64]


def check_exact_limits(
    structure: PoolingStructure,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    widths: Sequence[int],
    representation: int,
) -> None:
    """Raise :class:`~advisor.errors.LimitExceededError` (field ``exact``) if a rank is too big.

    Checks the matrix size ``(|A| + |B|) * log2 M`` against :data:`EXACT_MAX_LOG2_SIZE`, its
    elimination work against :data:`EXACT_MAX_LOG2_ELIMINATION` and the largest intermediate
    tensor against :data:`EXACT_MAX_LOG2_INTERMEDIATE`, without building anything large, so a
    caller can reject a request before doing any work.
    """
    _checked_fields(structure, a, b, widths, representation)


def exact_rank(
    structure: PoolingStructure,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    widths: Sequence[int],
    representation: int,
    seed: int = 0,
    *,
    shared: bool = True,
    trials: int = EXACT_TRIALS,
    constant: npt.ArrayLike = (),
) -> int:
    """Return the generic rank of the (A, B) matricization, free locations contracted.

    Parameters
    ----------
    structure
        Pooling windows; with overlapping windows the result is the grid tensor's rank, a lower
        bound on the separation rank.
    a, b
        Disjoint location ids of the two regions; every other location is free.
    widths
        Channel count ``r_l`` of each pooling level.
    representation
        Representation channels ``M``.
    seed
        Seeds the weight draws; the same arguments always give the same answer.
    shared
        Share conv weights across the locations of a level (real ConvNets) or not.
    trials
        Independent weight draws; the largest rank is returned.
    constant
        Free locations that all hold one input (the padding of a padded network), so they take
        the same input vector rather than one each.

    Raises
    ------
    advisor.errors.LimitExceededError
        Field ``exact``, when :func:`check_exact_limits` rejects the instance.
    ValueError
        When ``widths`` has not one entry per pooling level
        (:meth:`~advisor.geometry.structure.PoolingStructure.check_widths`).

    Examples
    --------
    Odd vs even locations of 4 locations, contiguous size-2 pooling, ``r_0 = 3 > M = 2``:
    ``min(r_0, M)^2``.

    >>> structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    >>> exact_rank(structure, [0, 2], [1, 3], widths=[3, 2], representation=2)
    4
    """
    structure.check_widths(widths)
    fields = _checked_fields(structure, a, b, widths, representation)
    a_ids, b_ids = (np.unique(np.asarray(x, dtype=np.intp)) for x in (a, b))
    if fields is None or a_ids.size == 0 or b_ids.size == 0:
        return 1
    constant_ids = np.asarray(constant, dtype=np.intp)
    return max(
        _Contraction(structure, widths, representation, fields, shared, rng, constant_ids).rank(
            a_ids, b_ids
        )
        for rng in map(np.random.default_rng, np.random.SeedSequence(seed).spawn(trials))
    )


def log2_exact_rank(
    structure: PoolingStructure,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    widths: Sequence[int],
    representation: int,
    seed: int = 0,
    *,
    shared: bool = True,
    trials: int = EXACT_TRIALS,
    constant: npt.ArrayLike = (),
) -> float:
    """Return ``log2`` of :func:`exact_rank` (same parameters)."""
    rank = exact_rank(
        structure,
        a,
        b,
        widths,
        representation,
        seed,
        shared=shared,
        trials=trials,
        constant=constant,
    )
    return math.log2(rank)


def exact_engine(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    widths: Sequence[int],
    representation: int,
    *,
    shared_weights: bool,
) -> npt.NDArray[np.float64]:
    """Return :func:`log2_exact_rank` of every row of ``labels``: the engines' signature.

    See :mod:`advisor.seprank.engines`; ``shared_weights`` is ``shared``, the seed and trials
    are the defaults, and the :data:`~advisor.seprank.labels.PADDED` locations are ``constant``.

    Raises
    ------
    advisor.errors.LimitExceededError
        Field ``exact``, when :func:`check_exact_limits` rejects a row.
    """
    figures = [
        log2_exact_rank(
            structure,
            a,
            b,
            widths,
            representation,
            shared=shared_weights,
            constant=np.flatnonzero(row == PADDED),
        )
        for (a, b), row in zip(label_regions(labels), labels, strict=True)
    ]
    return np.asarray(figures, dtype=np.float64).reshape(len(labels))


def exact_limits(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    widths: Sequence[int],
    representation: int,
) -> None:
    """Apply :func:`check_exact_limits` to every row of ``labels`` before any rank is computed."""
    for a, b in label_regions(labels):
        check_exact_limits(structure, a, b, widths, representation)


def _checked_fields(
    structure: PoolingStructure,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    widths: Sequence[int],
    representation: int,
) -> _RegionFields | None:
    """Apply :func:`check_exact_limits` and return the region fields.

    ``None`` when ``M = 1``: every matricization is then 1 x 1 and there is nothing to build.
    """
    if representation == 1:
        return None
    a_ids, b_ids = (np.unique(np.asarray(x, dtype=np.intp)) for x in (a, b))
    log2_m = math.log2(representation)
    log2_rows, log2_columns = a_ids.size * log2_m, b_ids.size * log2_m
    log2_size = log2_rows + log2_columns
    if log2_size > EXACT_MAX_LOG2_SIZE:
        size = bits_over(log2_size, EXACT_MAX_LOG2_SIZE)
        raise LimitExceededError.single(
            "exact",
            f"the exact engine would build a 2^{size}-entry matrix "
            f"((|A| + |B|) * log2 M = {size}); the limit is {EXACT_MAX_LOG2_SIZE}",
        )
    eliminated = elimination_problem(log2_rows, log2_columns)
    if eliminated is not None:
        raise LimitExceededError.single("exact", eliminated)
    fields = _RegionFields(structure, np.union1d(a_ids, b_ids))
    log2_largest = _log2_largest_tensor(structure, fields, [representation, *widths])
    if log2_largest > EXACT_MAX_LOG2_INTERMEDIATE:
        raise LimitExceededError.single(
            "exact",
            "the exact engine would hold a "
            f"2^{bits_over(log2_largest, EXACT_MAX_LOG2_INTERMEDIATE)}-entry intermediate tensor; "
            f"the limit is 2^{EXACT_MAX_LOG2_INTERMEDIATE}",
        )
    return fields


def _log2_largest_tensor(
    structure: PoolingStructure, fields: _RegionFields, channels: list[int]
) -> float:
    """log2 entries of the largest array the contraction holds (``channels = [M, r_0, ...]``).

    Per level ``l``: the free vectors of all nodes (``r_{l-1}`` and ``r_l`` channels, ``M`` and
    ``r_0`` at the leaves) and the tensors of nodes that see regions (the window product with
    ``r_{l-1}`` channels, the node after its conv with ``r_l``); at the root the two groups'
    products (``r_{L-1}`` channels) and the matrix.
    """
    log2_m = math.log2(channels[0])
    sizes = fields.sizes()
    nodes = [structure.num_locations, *(len(w) for w in structure.windows)]
    largest = 0.0
    for level in range(structure.depth):
        held = max(channels[level : level + 2])
        largest = max(
            largest,
            math.log2(nodes[level] * held),
            math.log2(held) + int(sizes[level].max()) * log2_m,
        )
    root_children = structure.windows[-1][0]
    groups = _root_groups(sizes[-2][root_children].tolist())
    group_size = max(int(sizes[-2][group].sum()) for group in groups)
    return max(
        largest,
        math.log2(channels[-1]) + group_size * log2_m,
        fields.num_regions * log2_m,
    )


def _root_groups(field_sizes: Sequence[int]) -> tuple[slice, slice]:
    """Split the root's children (by position) into two runs, the larger field as small as can be.

    Both runs are non-empty unless the root has a single child.
    """
    cumulative = np.cumsum(field_sizes)
    larger = np.maximum(cumulative[:-1], cumulative[-1] - cumulative[:-1])
    split = 1 + int(np.argmin(larger)) if larger.size else len(field_sizes)
    return slice(None, split), slice(split, None)


class _RegionFields:
    """Which region locations (A or B) each node of each level sees in its receptive field."""

    def __init__(self, structure: PoolingStructure, locations: npt.NDArray[np.intp]) -> None:
        self.locations = locations
        # A (nodes x region locations) incidence per level: small at sizes the limits admit, and
        # exact for overlapping windows, where children's fields intersect.
        seen = np.zeros((structure.num_locations, self.locations.size), dtype=bool)
        seen[self.locations, np.arange(self.locations.size)] = True
        self._seen: list[npt.NDArray[np.bool_]] = [seen]
        for windows in structure.windows:
            self._seen.append(np.any(self._seen[-1][windows], axis=1))

    @property
    def num_regions(self) -> int:
        """``|A| + |B|``: the number of region locations."""
        return int(self.locations.size)

    def sizes(self) -> list[npt.NDArray[np.intp]]:
        """Per level, the number of region locations each node sees."""
        return [seen.sum(axis=1) for seen in self._seen]

    def involved(self, level: int) -> npt.NDArray[np.intp]:
        """Nodes of ``level`` that see at least one region location."""
        return np.flatnonzero(self._seen[level].any(axis=1))


@dataclass(frozen=True)
class _Tensor:
    """A node that sees region locations: ``values[channel, i_1, ..., i_k]`` for its locations."""

    values: _Residues
    locations: tuple[int, ...]

    def times(self, other: _Tensor) -> _Tensor:
        """Channel-wise product; shared locations (overlapping fields) are taken on the diagonal."""
        union, mine, theirs = self._axes(other)
        values = np.einsum(self.values, mine, other.values, theirs, list(range(1 + len(union))))
        return _Tensor(values % PRIME, union)

    def inner(self, other: _Tensor) -> _Tensor:
        """Sum over channels of the channel-wise product: a tensor with location axes only.

        Channels are summed ``_SUM_CHUNK`` at a time (products below ``2**58``), then reduced.
        """
        union, mine, theirs = self._axes(other)
        extent = dict(zip(self.locations, self.values.shape[1:], strict=True))
        extent.update(zip(other.locations, other.values.shape[1:], strict=True))
        total = np.zeros([extent[x] for x in union], dtype=np.int64)
        for start in range(0, self.values.shape[0], _SUM_CHUNK):
            block = slice(start, start + _SUM_CHUNK)
            total += np.einsum(
                self.values[block],
                mine,
                other.values[block],
                theirs,
                list(range(1, 1 + len(union))),
            )
            total %= PRIME
        return _Tensor(total, union)

    def _axes(self, other: _Tensor) -> tuple[tuple[int, ...], list[int], list[int]]:
        """Return both location lists' union and each operand's ``einsum`` axes (0: channel)."""
        union = self.locations + tuple(x for x in other.locations if x not in self.locations)
        axis = {location: 1 + i for i, location in enumerate(union)}
        return (
            union,
            [0, *(axis[x] for x in self.locations)],
            [0, *(axis[x] for x in other.locations)],
        )

    def convolved(self, weights: _Residues) -> _Tensor:
        """Apply a 1x1 conv (``weights[out, in]``) to the channel axis."""
        return _Tensor(_contract_channels(weights, self.values), self.locations)


def _contract_channels(weights: _Residues, values: _Residues) -> _Residues:
    """``weights @ values`` over the first axis of ``values``, modulo :data:`PRIME`.

    The inner axis is cut into blocks of ``_SUM_CHUNK``; each block's products (below ``2**58``)
    are summed by one batched ``matmul`` and reduced before blocks are added, so int64 never
    overflows: ``32 * (PRIME - 1)**2 < 2**63``. Blocks go through ``matmul`` a batch at a time
    to bound the memory of the partial sums.
    """
    rows, inner = weights.shape
    columns = values.reshape(inner, -1)
    blocks = -(-inner // _SUM_CHUNK)
    pad = blocks * _SUM_CHUNK - inner
    if pad:
        weights, columns = np.pad(weights, ((0, 0), (0, pad))), np.pad(columns, ((0, pad), (0, 0)))
    block_weights = weights.reshape(rows, blocks, _SUM_CHUNK)
    block_values = columns.reshape(blocks, _SUM_CHUNK, -1)
    total = np.zeros((rows, columns.shape[1]), dtype=np.int64)
    batch = max(1, _BATCH_ENTRIES // max(1, rows * columns.shape[1]))
    for start in range(0, blocks, batch):
        chunk = slice(start, start + batch)
        partial = np.matmul(block_weights[:, chunk].transpose(1, 0, 2), block_values[chunk])
        total += (partial % PRIME).sum(axis=0)  # at most _BATCH_ENTRIES terms below 2**29
        total %= PRIME
    return total.reshape(rows, *values.shape[1:])


class _Contraction:
    """One random draw of the network's weights in GF(p), contracted bottom-up."""

    def __init__(
        self,
        structure: PoolingStructure,
        widths: Sequence[int],
        representation: int,
        fields: _RegionFields,
        shared: bool,
        rng: np.random.Generator,
        constant: npt.NDArray[np.intp],
    ) -> None:
        self._structure = structure
        self._constant = constant
        self._channels = [representation, *widths]
        self._fields = fields
        self._shared = shared
        self._rng = rng
        # Shared mode: one matrix per conv, drawn up front; the output layer is one random row.
        self._level_weights = (
            [self._draw(self._channels[i + 1], self._channels[i]) for i in range(len(widths))]
            if shared
            else []
        )

    def _draw(self, *shape: int) -> _Residues:
        return self._rng.integers(0, PRIME, size=shape, dtype=np.int64)

    def _conv_weights(self, level: int) -> _Residues:
        """Return the conv matrix of one node of ``level`` (channels out x channels in)."""
        if self._shared:
            return self._level_weights[level]
        return self._draw(self._channels[level + 1], self._channels[level])

    def _free_vectors(self, level: int, pooled: _Residues | None) -> _Residues:
        """Every node's channel vector after its conv, as if its field held no region location.

        ``pooled`` is the window product of the level below (``None`` at the leaves, which take a
        fixed random input vector, one for all the constant leaves). Without sharing, a node's own
        random matrix times any nonzero vector is uniformly distributed, so the result is drawn
        directly.
        """
        count = self._structure.num_locations if pooled is None else len(pooled)
        if not self._shared:
            return self._draw(count, self._channels[level + 1])
        if pooled is None:
            inputs = self._draw(count, self._channels[0])
            inputs[self._constant] = self._draw(self._channels[0])
        else:
            inputs = pooled
        return _contract_channels(self._level_weights[level], inputs.T).T

    def rank(self, a: npt.NDArray[np.intp], b: npt.NDArray[np.intp]) -> int:
        """Contract the network, then return the rank of its (A, B) matricization modulo p."""
        free = self._free_vectors(0, None)
        tensors = {
            int(leaf): _Tensor(self._conv_weights(0), (int(leaf),))
            for leaf in self._fields.involved(0)
        }
        top = self._structure.depth - 1
        for level, windows in enumerate(self._structure.windows[:top]):
            tensors = {
                int(parent): self._window_product(windows[parent], free, tensors).convolved(
                    self._conv_weights(level + 1)
                )
                for parent in self._fields.involved(level + 1)
            }
            pooled = free[windows[:, 0]]
            for j in range(1, windows.shape[1]):
                pooled = pooled * free[windows[:, j]] % PRIME
            free = self._free_vectors(level + 1, pooled)
        root = self._root(self._structure.windows[top][0], free, tensors)
        return _matrix_rank(root, a, b, self._rng)

    def _root(
        self, children: npt.NDArray[np.intp], free: _Residues, tensors: dict[int, _Tensor]
    ) -> _Tensor:
        """Contract the root window with a random output row.

        The children are multiplied in two groups of about equal field size and the groups
        contracted over the channels, so the largest tensor held is the matricization itself.
        """
        groups = _root_groups([len(tensors[c].locations) if c in tensors else 0 for c in children])
        first, second = (self._window_product(children[g], free, tensors) for g in groups)
        output = self._draw(self._channels[-1])
        weighted = output.reshape(-1, *(1,) * len(first.locations)) * first.values % PRIME
        return _Tensor(weighted, first.locations).inner(second)

    @staticmethod
    def _window_product(
        children: npt.NDArray[np.intp], free: _Residues, tensors: dict[int, _Tensor]
    ) -> _Tensor:
        """Channel-wise product of (some of) a window's children."""
        product = _Tensor(np.ones(free.shape[1], dtype=np.int64), ())
        for child in map(int, children):
            product = product.times(tensors.get(child, _Tensor(free[child], ())))
        return product


def _matrix_rank(
    tensor: _Tensor, a: npt.NDArray[np.intp], b: npt.NDArray[np.intp], rng: np.random.Generator
) -> int:
    """Rank modulo :data:`PRIME` of ``tensor`` matricized with A's locations as rows.

    A wide matrix ``X`` is replaced by ``X @ Q`` for a uniformly random square-making ``Q``:
    ``rank(X Q) <= rank(X)``, with equality except with probability ``<= rows / PRIME``
    (Schwartz-Zippel on a nonzero maximal minor), so the error stays one-sided.
    """
    position = {location: axis for axis, location in enumerate(tensor.locations)}
    order = [position[int(x)] for x in (*a, *b)]
    values = np.transpose(tensor.values, order)
    rows = math.prod(values.shape[: len(a)])
    matrix = values.reshape(rows, -1)
    if matrix.shape[0] > matrix.shape[1]:
        matrix = matrix.T  # FLINT eliminates rows; the smaller side is cheaper to hold as rows
    if matrix.shape[0] < min(matrix.shape[1], _PROJECT_BELOW_ROWS):
        projection = rng.integers(0, PRIME, size=(matrix.shape[0], matrix.shape[1]))
        matrix = _contract_channels(projection, matrix.T)
    return int(
        flint.nmod_mat(matrix.shape[0], matrix.shape[1], matrix.ravel().tolist(), PRIME).rank()
    )
