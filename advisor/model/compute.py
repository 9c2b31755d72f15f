"""Multiply-adds per input: the compute a network costs, beside its parameter count.

A 1x1 conv from ``r_in`` to ``r_out`` channels costs ``r_in * r_out`` multiply-adds at every
location it runs on; the representation layer, a ``k x k`` conv over ``C_in`` channels, costs
``k^d * C_in * M`` per input location; the output layer ``r_{L-1} * Y`` once. Pooling is free
(comparisons, not multiplications). Hidden layer ``l`` runs on the locations left after the
pooling levels below it: ``N_0 = N`` and ``N_{l+1}`` = the windows of level ``l``. This is the
figure practitioners compare networks by (a standard 5-level CNN on 32x32 costs a few hundred
thousand); two nets of one parameter count can differ a hundredfold, so it is reported with every
recommendation and may be bounded (``Budget.max_multiply_adds``).

Beside it, :func:`activations` counts the values one input's forward pass holds: the memory a
recommendation needs beyond its weights, which decides whether it trains at a given batch size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "COUNT_LIMIT",
    "activations",
    "end_multiply_adds",
    "grid_locations",
    "layer_locations",
    "multiply_adds",
]

COUNT_LIMIT: Final = 2**62
"""The largest multiply-add count a network may have: its parameters are fewer, and both are
held as int64 figures (with headroom) by the search and the parameter model."""

_Ints = npt.NDArray[np.int64]


def grid_locations(
    shape: Sequence[int], pools: Sequence[Sequence[int]], steps: Sequence[Sequence[int]]
) -> tuple[int, ...]:
    """Return ``N_0, ..., N_L``: the locations of the input grid and of each level's pooled grid.

    ``pools`` and ``steps`` are the windows and window steps per level, bottom-up; ``N_{l+1}``
    is the number of windows of level ``l`` on the ``N_l`` locations below it.
    """
    grid = list(shape)
    counts = [math.prod(grid)]
    for pool, step in zip(pools, steps, strict=True):
        grid = [(n - p) // s + 1 for n, p, s in zip(grid, pool, step, strict=True)]
        counts.append(math.prod(grid))
    return tuple(counts)


def layer_locations(
    shape: Sequence[int], pools: Sequence[Sequence[int]], steps: Sequence[Sequence[int]]
) -> tuple[int, ...]:
    """Return ``N_0, ..., N_{L-1}``: the locations each hidden layer's conv runs on.

    ``pools`` and ``steps`` are the windows and window steps per level, bottom-up
    (:func:`grid_locations` without the top level's).
    """
    return grid_locations(shape, pools, steps)[:-1]


def multiply_adds(
    widths: npt.ArrayLike,
    locations: Sequence[int],
    representation_weights: int,
    outputs: int,
    exact: bool = False,
) -> _Ints:
    """Return the multiply-adds per input of each row of ``(P, L + 1)`` widths ``(M, r_0, ...)``.

    Parameters
    ----------
    widths
        ``M, r_0, ..., r_{L-1}`` per row.
    locations
        ``N_0, ..., N_{L-1}`` (:func:`layer_locations`); ``N_0`` is the input's locations.
    representation_weights
        ``k^d * C_in``: multiply-adds of one representation channel at one location.
    outputs
        ``Y``.
    exact
        Count in Python integers (an object array), never wrapping: for checking a count
        against :data:`COUNT_LIMIT`; the default int64 is what the search's batches use.
    """
    dtype = object if exact else np.int64
    w = np.atleast_2d(np.asarray(widths, dtype=dtype))
    counts = np.asarray(locations, dtype=dtype)
    total = end_multiply_adds(w[:, 0], w[:, -1], counts[0], representation_weights, outputs)
    total += (w[:, :-1] * w[:, 1:] * counts[None, :]).sum(axis=1)
    result: _Ints = total
    return result


def end_multiply_adds(
    representation: _Ints,
    last_widths: _Ints,
    input_locations: int,
    representation_weights: int,
    outputs: int,
) -> _Ints:
    """Return the multiply-adds of the representation layer and the output layer, per row.

    ``N_0 * k^d * C_in * M + r_{L-1} * Y`` for each row's ``M`` (``representation``) and
    ``r_{L-1}`` (``last_widths``): the part of :func:`multiply_adds` that does not depend on
    the hidden layers, which a mixture's members share and its count takes once.
    """
    ends: _Ints = input_locations * representation_weights * representation + last_widths * outputs
    return ends


def activations(
    widths: npt.ArrayLike, locations: Sequence[int], outputs: int, exact: bool = False
) -> _Ints:
    """Return the values one input's forward pass holds in the exported network, per row.

    Parameters
    ----------
    widths
        ``(P, L + 1)`` widths ``(M, r_0, ..., r_{L-1})``, one row per tree; or ``(K, P, L + 1)``
        for ``P`` mixtures of ``K`` members on one schedule, which share their ``M`` (the first
        member's is read) and output layer.
    locations
        ``N_0, ..., N_L`` (:func:`grid_locations`).
    outputs
        ``Y``.
    exact
        Count in Python integers (an object array), never wrapping; the default int64 is what
        the search's batches use.

    The count is every layer's output in :class:`~advisor.export.torch_net.ConvNet` (and
    ``MixtureNet``): the representation conv's ``M N_0`` (on the padded grid), each hidden
    layer's 1x1 conv ``r_l N_l`` and its pooled map ``r_l N_{l+1}``, per member, and the ``Y``
    logits once::

        M N_0 + sum_members sum_l r_l (N_l + N_{l+1}) + Y

    These are the feature maps a forward pass must hold, the figure that says whether a batch
    fits in memory (a multiply-add count does not: pooling costs none but halves nothing of the
    map it reads). Copies of values already counted are left out: the zero-padded input, each
    ReLU's output (the size of the conv output before it; ``inplace`` ReLUs reuse it), the
    geometry's gather and a mixture's sums (reorderings and sums of pooled maps). Training holds
    more: autograd keeps the inputs of each op for the backward pass (docs/FORMATS.md §3).

    The count is linear in the widths, so a search bounds it per ladder row as it bounds the
    multiply-adds (``Budget.max_activations``). It is below twice the multiply-adds, so below
    ``2 * COUNT_LIMIT``, and fits an int64: ``M N_0`` and ``Y`` are at most the representation's
    and the output layer's multiply-adds, and ``r_l N_{l+1} <= r_l N_l <= r_{l-1} r_l N_l``.
    """
    dtype = object if exact else np.int64
    w = np.asarray(widths, dtype=dtype)
    members = w[None] if w.ndim == 2 else w
    counts = np.asarray(locations, dtype=dtype)
    hidden = (members[..., 1:] * (counts[:-1] + counts[1:])).sum(axis=(0, 2))
    total: _Ints = members[0, :, 0] * counts[0] + hidden + outputs
    return total
