"""Multiply-adds per input: the compute a network costs, beside its parameter count.

A 1x1 conv from ``r_in`` to ``r_out`` channels costs ``r_in * r_out`` multiply-adds at every
location it runs on; the representation layer, a ``k x k`` conv over ``C_in`` channels, costs
``k^d * C_in * M`` per input location; the output layer ``r_{L-1} * Y`` once. Pooling is free
(comparisons, not multiplications). Hidden layer ``l`` runs on the locations left after the
pooling levels below it: ``N_0 = N`` and ``N_{l+1}`` = the windows of level ``l``. This is the
figure practitioners compare networks by (a standard 5-level CNN on 32x32 costs a few hundred
thousand); two nets of one parameter count can differ a hundredfold, so it is reported with every
recommendation and may be bounded (``Budget.max_multiply_adds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["COUNT_LIMIT", "end_multiply_adds", "layer_locations", "multiply_adds"]

COUNT_LIMIT: Final = 2**62
"""The largest multiply-add count a network may have: its parameters are fewer, and both are
held as int64 figures (with headroom) by the search and the parameter model."""

_Ints = npt.NDArray[np.int64]


def layer_locations(
    shape: Sequence[int], pools: Sequence[Sequence[int]], steps: Sequence[Sequence[int]]
) -> tuple[int, ...]:
    """Return ``N_0, ..., N_{L-1}``: the locations each hidden layer's conv runs on.

    ``pools`` and ``steps`` are the windows and window steps per level, bottom-up.
    """
    grid = list(shape)
    counts = []
    for pool, step in zip(pools, steps, strict=True):
        counts.append(int(np.prod(grid)))
        grid = [(n - p) // s + 1 for n, p, s in zip(grid, pool, step, strict=True)]
    return tuple(counts)


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
