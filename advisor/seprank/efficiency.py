"""Expressive efficiency: what a shallow and a contiguous net would need to match a figure.

An analysis reports the separation rank an architecture reaches on every correlation. To say
what that buys in a practitioner's terms, this module prices the same figures on two reference
networks (docs/THEORY.md §14), as lower bounds in log2:

- **the shallow net** (one global pooling, same M and outputs): its rank on any partition is at
  most its width r_0 [CSS16], so reaching rank R on some correlation takes at least R channels;
  its parameters follow from :class:`~advisor.model.parameters.ParameterModel`.
- **the contiguous net** on the same windows and M, widths a ladder ``r_l = r_0 g^l`` with
  ``g`` in :data:`LADDER_GROWTHS`: the smallest real ``r_0`` at which the shared-weight bound
  (:func:`~advisor.seprank.tree.log2_min_cut`, which never falls below the rank) reaches every
  figure. The bound only grows with every width and so does the parameter count, so no integer
  ladder of that growth reaching the figures is smaller. The least over the growths is reported;
  None when no width reaches them (the input legs bind first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.geometry.layouts import pooling_structure
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import Architecture
from advisor.model.parameters import ParameterModel
from advisor.model.results import Efficiency
from advisor.seprank.tree import log2_min_cut

__all__ = ["LADDER_GROWTHS", "expressive_efficiency"]

LADDER_GROWTHS: Final = (0.5, 1.0, 2.0)
"""Width ratios between consecutive layers of the contiguous reference ladders."""

_GRID: Final = 64
"""Widths tried per refinement round, all in one batched call of the recurrence."""

_ROUNDS: Final = 4
"""Refinement rounds: the threshold is bracketed to ``span / 64^4``, below 1e-4 bits."""

DECIMALS: Final = 6
"""Figures are rounded down to this many decimals."""

_SLACK: Final = 1e-9
"""A figure this close below its target reaches it (figures are rounded to 9 decimals)."""


def expressive_efficiency(
    architecture: Architecture,
    labels: npt.NDArray[np.int8],
    log2_ranks: Sequence[float],
) -> Efficiency:
    """Price ``log2_ranks`` (one per row of ``labels``) on the shallow and contiguous nets.

    Parameters
    ----------
    architecture
        The analysed network: its windows, M, outputs and input fix the reference nets.
    labels
        ``(C, N)`` side labels of the task's correlations.
    log2_ranks
        The architecture's figure on each correlation, the targets to reach.
    """
    model = ParameterModel.for_input(
        architecture.input, architecture.representation_kernel, architecture.outputs
    )
    log2_m = math.log2(architecture.representation)
    targets = np.asarray(log2_ranks, dtype=np.float64)
    shallow = max(float(targets.max(initial=0.0)), 0.0)
    contiguous = _contiguous_structure(architecture)
    ladders = [
        ladder
        for growth in LADDER_GROWTHS
        if (ladder := _least_ladder(contiguous, labels, targets, log2_m, growth)) is not None
    ]
    priced = [(model.log2_count([log2_m, *ladder]), max(ladder)) for ladder in ladders]
    parameters, channels = min(priced) if priced else (None, None)
    return Efficiency(
        log2_shallow_channels=_floored(shallow),
        log2_shallow_parameters=_floored(model.log2_count([log2_m, shallow])),
        log2_contiguous_channels=None if channels is None else _floored(channels),
        log2_contiguous_parameters=None if parameters is None else _floored(parameters),
    )


def _floored(value: float) -> float:
    """Round a lower bound down to :data:`DECIMALS` decimals, so it stays a lower bound."""
    return math.floor(float(value) * 10**DECIMALS) / 10**DECIMALS + 0.0


def _contiguous_structure(architecture: Architecture) -> PoolingStructure:
    """Return the windows of ``architecture``'s schedule under contiguous pooling."""
    return pooling_structure(architecture.model_copy(update={"geometry": "contiguous"}))


def _least_ladder(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    targets: npt.NDArray[np.float64],
    log2_m: float,
    growth: float,
) -> list[float] | None:
    """Return the log2 widths of the least ladder of ``growth`` reaching ``targets``, or None.

    The bound is non-decreasing in ``log2 r_0``, so the threshold is bracketed on a grid, round
    after round; the lower end of the last bracket is returned, so the figure never overstates
    what is needed. Every width is at least 1 (log2 0); above the point where each δ alone costs
    more than every target only the input legs can be cut, and more width changes nothing.
    """
    offsets = math.log2(growth) * np.arange(structure.depth)
    low = max(0.0, -float(offsets.min()))
    high = max(low, float(targets.max(initial=0.0)) + 1.0 - float(offsets.min()))

    def reaches(starts: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        widths = starts[:, None] + offsets[None, :]
        figures = log2_min_cut(structure, labels, widths, log2_m, shared_weights=True)
        return np.asarray(np.all(figures >= targets - _SLACK, axis=1))

    if not reaches(np.array([high]))[0]:
        return None
    for _ in range(_ROUNDS):
        grid = np.linspace(low, high, _GRID + 1)
        first = int(np.argmax(reaches(grid)))
        if first == 0:
            return list(grid[0] + offsets)
        low, high = float(grid[first - 1]), float(grid[first])
    return list(low + offsets)
