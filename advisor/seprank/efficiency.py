"""Expressive efficiency: what a shallow and a contiguous net would need to match a figure.

An analysis reports the separation rank an architecture reaches on every correlation. To say
what that buys in a practitioner's terms, this module prices the same figures on two reference
networks (docs/THEORY.md §14), as lower bounds in log2:

- **the shallow net** (one global pooling, same M and outputs): its rank on any partition is at
  most its width r_0 [CSS16], so reaching rank R on some correlation takes at least R channels;
  its parameters follow from :class:`~advisor.model.parameters.ParameterModel`. Its weights
  shared, its rank is also at most C(M + m - 1, m) for the m locations of a correlation's
  smaller side, whatever its width (:func:`log2_shallow_caps`): a figure above that is reached
  by no shallow net of this M (``shallow_reaches`` False).
- **the contiguous net** on the same windows and M, widths a ladder ``r_l = r_0 g^l`` with
  ``g`` in :data:`LADDER_GROWTHS`: the smallest real ``r_0`` at which the plain min-cut
  (:func:`~advisor.seprank.tree.log2_min_cut`, which never falls below the rank) reaches every
  figure. The min-cut only grows with every width and so does the parameter count, so no
  integer ladder of that growth reaching the figures is smaller. The least parameter count and
  the least widest layer over the growths are reported (each a bound of its own: two growths
  may give them); None when no width reaches them (the input legs bind first, or, its weights
  shared, the shared-weight bound stays below a figure at any width), or when the net is not
  priced (``contiguous_priced`` is then False): the input is too large
  (:data:`MAX_PRICED_WORK`), or a stop signal (a search's deadline) stopped the pricing, which
  is the costly part of a small analysis (some 20 runs of the recurrence), so a search cut
  short still returns on time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.errors import StoppedError
from advisor.geometry.layouts import geometry_structure
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import Architecture
from advisor.model.parameters import ParameterModel
from advisor.model.regions import ResolvedCorrelation
from advisor.model.results import Efficiency, UnpricedReason
from advisor.model.schedule import Schedule
from advisor.seprank.labels import LabelRows
from advisor.seprank.tree import log2_min_cut, log2_symmetric_powers
from advisor.stopping import StopSignal

__all__ = [
    "LADDER_GROWTHS",
    "MAX_PRICED_WORK",
    "TYPICAL_PRICING_RUNS",
    "contiguous_structure",
    "expressive_efficiency",
    "is_priced",
    "log2_shallow_caps",
]

LADDER_GROWTHS: Final = (0.5, 1.0, 2.0)
"""Width ratios between consecutive layers of the contiguous reference ladders."""

_ROUNDS: Final = 60
"""Most bracketing rounds; each at least halves the bracket, and a piecewise-linear margin is
usually pinned down by its tangent and chord steps in a few."""

_PRECISION: Final = 1e-7
"""The bracket's width, in bits of log2 r_0, at which the search stops."""

_STEP: Final = 1e-9
"""Where the margin's slope at the lower end is measured (right derivative)."""

DECIMALS: Final = 6
"""Figures are rounded down to this many decimals."""

MAX_PRICED_WORK: Final = 2**17
"""Largest (correlations x pooling-window entries) the contiguous ladder is priced for. Pricing
runs the recurrence some 20 times (:data:`TYPICAL_PRICING_RUNS`), each on several width vectors,
so beyond this (e.g. 8 correlations on 16,384 locations) it would cost more than the analysis
itself; the figures are then left out, and ``contiguous_priced`` says so."""

TYPICAL_PRICING_RUNS: Final = 20
"""Runs of the recurrence (of two to five width vectors each) one pricing takes on the bench
tasks (15 to 29 per analysis); what a search predicts the pricing's time from."""

_SLACK: Final = 1e-9
"""A figure this close below its target reaches it (figures are rounded to 9 decimals)."""


def expressive_efficiency(
    architecture: Architecture,
    correlations: Sequence[ResolvedCorrelation],
    rows: LabelRows,
    log2_ranks: Sequence[float],
    stop: StopSignal | None = None,
    price_contiguous: bool = True,
) -> Efficiency:
    """Price ``log2_ranks`` (one per correlation) on the shallow and contiguous nets.

    Parameters
    ----------
    architecture
        The analysed network: its windows, M, outputs and input fix the reference nets.
    correlations, rows
        The task's correlations and what builds their ``(C, N)`` side labels (built only when
        the contiguous net is priced, a small enough instance).
    log2_ranks
        The architecture's figure on each correlation, the targets to reach.
    stop
        Polled before each round of the contiguous net's pricing, and once when the pricing
        ends (so a signal can time it: :class:`~advisor.search.clock.PricingTimer`); once it
        has stopped, the pricing is abandoned and left out (``contiguous_priced`` False,
        ``unpriced_reason`` ``stopped``).
    price_contiguous
        False: the contiguous net is not priced (``unpriced_reason`` ``not_asked``; an input
        too large, ``too_large``); the shallow figures, a closed form, are given anyway.
    """
    model = ParameterModel.for_input(
        architecture.input, architecture.representation_kernel, architecture.outputs
    )
    log2_m = math.log2(architecture.representation)
    targets = np.asarray(log2_ranks, dtype=np.float64)
    shallow = max(float(targets.max(initial=0.0)), 0.0)
    unpriced: UnpricedReason | None = None
    if not price_contiguous:
        unpriced = "not_asked"
    elif not is_priced(len(correlations), architecture.schedule):
        unpriced = "too_large"
    ladders: list[list[float]] = []
    if unpriced is None:
        contiguous, labels = contiguous_structure(architecture.schedule), rows(correlations)
        try:
            reachable = _shared_reach(contiguous, labels, targets, log2_m, stop)
            ladders = [
                ladder
                for growth in LADDER_GROWTHS
                if reachable
                and (ladder := _least_ladder(contiguous, labels, targets, log2_m, growth, stop))
                is not None
            ]
            if stop is not None:
                stop.stopped()  # the end of the pricing, for a signal that times it
        except StoppedError:
            unpriced, ladders = "stopped", []
    # Two bounds, each the least over the growths: the ladder with the fewest parameters may
    # have a wider top than another growth's.
    parameters = min((model.log2_count([log2_m, *ladder]) for ladder in ladders), default=None)
    channels = min((max(ladder) for ladder in ladders), default=None)
    caps = log2_shallow_caps(architecture.representation, correlations)
    reaches = bool(np.all(targets <= caps + _SLACK * np.maximum(1.0, caps)))
    return Efficiency(
        log2_shallow_channels=_floored(shallow),
        log2_shallow_parameters=_floored(model.log2_count([log2_m, shallow])),
        log2_contiguous_channels=None if channels is None else _floored(channels),
        log2_contiguous_parameters=None if parameters is None else _floored(parameters),
        contiguous_priced=unpriced is None,
        unpriced_reason=unpriced,
        shallow_reaches=reaches,
    )


def log2_shallow_caps(
    representation: int, correlations: Sequence[ResolvedCorrelation]
) -> npt.NDArray[np.float64]:
    """Return log2 of the most rank a shallow net of M = ``representation`` has on each correlation.

    One global window pools every location, and with the representation shared, the m
    locations of the smaller side are interchangeable children on one side of the cut: they
    span the symmetric power Sym^m(R^M), C(M + m - 1, m) dimensions (docs/THEORY.md §5), at
    most the dimension bound M^m. The other locations, outside both regions, each contribute a
    constant factor. One call for every correlation: an analysis of 1,024 of them took 19 ms
    asking one at a time.
    """
    smaller = np.array([min(c.a_size, c.b_size) for c in correlations], dtype=np.int64)
    powers = log2_symmetric_powers(np.array([math.log2(representation)]), smaller)
    return np.asarray(powers[:, 0], dtype=np.float64)


def _floored(value: float) -> float:
    """Round a lower bound down to :data:`DECIMALS` decimals, so it stays a lower bound."""
    return math.floor(float(value) * 10**DECIMALS) / 10**DECIMALS + 0.0


def contiguous_structure(schedule: Schedule) -> PoolingStructure:
    """Return the windows of ``schedule`` under contiguous pooling: the net priced."""
    return geometry_structure("contiguous", schedule)


def is_priced(correlations: int, schedule: Schedule) -> bool:
    """Return whether the contiguous net is priced for this many correlations (size only).

    Its window entries, a level's windows (the grid it leaves) times their size, are counted
    from the schedule: no window is built for an input too large to price.
    """
    entries = sum(
        math.prod(grid) * math.prod(pool)
        for grid, pool in zip(schedule.grids[1:], schedule.pools, strict=True)
    )
    return correlations * entries <= MAX_PRICED_WORK


def _shared_reach(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    targets: npt.NDArray[np.float64],
    log2_m: float,
    stop: StopSignal | None,
) -> bool:
    """Return whether the contiguous net's shared-weight bound reaches ``targets`` at any width.

    Its weights shared, a net's rank is at most that bound (docs/THEORY.md §6), which never
    falls as a width grows; past a bit above every target each width only adds cuts dearer
    than every target, so the bound there is its value at any larger width. Below a target
    there, no contiguous net of this M on these windows reaches it, however wide. ``stop`` is
    polled first, as before every run of the pricing (:class:`~advisor.errors.StoppedError`).
    """
    if stop is not None and stop.stopped():
        raise StoppedError("the contiguous net's pricing was stopped")
    vast = np.full(structure.depth, float(targets.max(initial=0.0)) + 1.0)
    figures = log2_min_cut(structure, labels, vast, log2_m, shared_weights=True)
    return bool(np.all(figures >= targets - _SLACK * np.maximum(1.0, targets)))


def _least_ladder(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    targets: npt.NDArray[np.float64],
    log2_m: float,
    growth: float,
    stop: StopSignal | None,
) -> list[float] | None:
    """Return the log2 widths of the least ladder of ``growth`` reaching ``targets``, or None.

    With ``x = log2 r_0`` every width is affine in ``x``, so each correlation's plain min-cut is
    concave, piecewise linear and non-decreasing in ``x`` (docs/THEORY.md §6), and so is the
    margin ``g(x) = min_c (cut_c(x) - target_c)``. The threshold ``g = 0`` is bracketed between
    an infeasible ``low`` and a feasible ``high``; each round evaluates, in one batched call, the
    chord's root (above the chord, so feasible) and the midpoint, then the tangent step from
    ``low`` (a concave function lies below its tangents, so the tangent's root is at most the
    threshold up to a kink within the slope's step, and is checked) with the point a bracket's
    width below it, and keeps the tightest bracket: once the tangent's root is feasible, it is the
    threshold and the bracket closes there (a few rounds in all, where halving from above took
    some twenty per growth). The lower end is returned, so the figure never overstates what is
    needed. Every width is at least 1;
    above the point where each δ alone costs more than every target only the input legs can be
    cut, and more width changes nothing. ``stop`` is polled before every round
    (:class:`~advisor.errors.StoppedError` once it has stopped).
    """
    offsets = math.log2(growth) * np.arange(structure.depth)
    low = max(0.0, -float(offsets.min()))
    high = max(low, float(targets.max(initial=0.0)) + 1.0 - float(offsets.min()))

    def margins(starts: list[float]) -> npt.NDArray[np.float64]:
        if stop is not None and stop.stopped():
            raise StoppedError("the contiguous net's pricing was stopped")
        widths = np.asarray(starts)[:, None] + offsets[None, :]
        figures = log2_min_cut(structure, labels, widths, log2_m)
        return np.asarray((figures - targets[None, :]).min(axis=1, initial=np.inf))

    at_low, at_high = margins([low, high])
    if at_high < -_SLACK:
        return None
    if at_low >= -_SLACK:
        return list(low + offsets)
    for _ in range(_ROUNDS):
        if high - low <= _PRECISION:
            break
        slope_at = min(low + _STEP, high)
        chord = low + (high - low) * (-at_low) / (at_high - at_low)
        points = [slope_at, chord, (low + high) / 2]
        values = margins(points)
        slope = (values[0] - at_low) / (slope_at - low)
        if slope > 0:
            tangent = min(max(low - at_low / slope, low), high)
            # With the point a bracket's width below it: a feasible tangent root is the
            # threshold itself (it never lies above it), which the chord and the midpoint,
            # feasible there too, only approach from above a halving at a time.
            below = max(tangent - _PRECISION, low)
            points += [tangent, below]
            values = np.append(values, margins([tangent, below]))
        for point, value in zip(points, values, strict=True):
            if value >= -_SLACK and point < high:
                high, at_high = point, float(value)
            elif value < -_SLACK and point > low:
                low, at_low = point, float(value)
    return list(low + offsets)
