"""Score one architecture against a task: the separation rank it reaches on every correlation.

For each correlation (A, B) the analysis reports, in log2:

- ``log2_separation_rank``: the figure the product stands behind. Without the exact engine it is
  the min-cut of the network's tensor network with weights shared across locations, as
  ConvNets share them (:func:`~advisor.seprank.tree.log2_min_cut` with ``shared_weights``): an
  upper bound on the generic separation rank. With ``exact=True`` it is the generic rank computed
  modulo a prime (:mod:`advisor.seprank.exact`), when that certifies it.
- ``log2_max_rank``: the largest rank the regions allow (:mod:`advisor.seprank.max_rank`):
  ``min(|A|, |B|) * log2 M``, the dimension bound of the matricization, on a tree. With
  overlapping windows a location enters several windows, so the network is not linear in each
  input's representation and its rank may exceed the dimension bound (the grid tensor the exact
  engine builds stays within it); it is then the product over a side of ``C(M + d - 1, d)``, d
  the times each location enters the unrolled tree, and the shared-weight figure is capped by
  it.
- ``log2_min_cut``: the plain tensor-network min-cut (docs/THEORY.md §4, per-node weights);
  it differs from the shared-weight figure only where interchangeable one-sided siblings bind.
- ``log2_lower_bound``: the exact engine's figure when it is only a lower bound (overlapping
  windows: the grid tensor's rank) and falls short of the min-cut.
- ``members``: for a mixture, each member network's own figure on the correlation (its tree
  alone, :class:`~advisor.model.results.MemberFigure`), which says which member carries it.
- ``efficiency`` (per analysis): what a shallow net and a contiguous net would need, in
  channels and parameters, to reach every figure (:mod:`advisor.seprank.efficiency`).
- ``certificate``:

  * ``exact``: the exact engine certified the figure (``exact=True``; on overlapping windows only
    when its lower bound reaches the shared-weight bound), or the figure is rank 1 (0 bits),
    which every network reaches;
  * ``tight``: a tree whose channel counts, M included, are all powers of one integer, on which
    sharing does not lower the bound, and whose windows pool no one-sided siblings the bound
    does not charge (:mod:`advisor.seprank.siblings`). The figure is then proven to be the
    generic rank of the network's tensor network, every location with its own weights [LYCS18
    Thm 2], and an upper bound for the shared-weight network; sharing lowers the rank further
    only rarely (children mixing both sides, about 1 in 400 random small trees, 1 in 10 to 1
    in 50 on partitions of the whole input at M = 2; docs/THEORY.md §5), so ask for ``exact``
    where that matters;
  * ``upper_bound``: anything else (widths not powers of one integer, overlapping windows,
    sharing lowering the bound, or siblings it does not charge).

Every location is one input of the model: with a ``representation_kernel`` above 1 that input
is the patch around the location. A padded architecture's extra locations are inputs too, each
holding the same constant (:data:`~advisor.seprank.labels.PADDED`): free to the min-cut, one
shared vector to the exact engine, so every certificate keeps its meaning (a constant is one
particular value of a free input, and the rank at a particular value is at most the generic
one). A margin location whose patch reaches the input holds no constant: it is free to both
engines (:func:`~advisor.seprank.labels.padded_labels`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from advisor.errors import FieldViolation, InvalidRequestError, LimitExceededError, StoppedError
from advisor.geometry.layouts import pooling_structure
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import Architecture, with_task_outputs
from advisor.model.arguments import require_flag, require_instance
from advisor.model.grid import channel_axis, channel_axis_hint
from advisor.model.mixture import member_widths
from advisor.model.results import (
    Analysis,
    Certificate,
    CorrelationAnalysis,
    MemberFigure,
    with_padded_input,
)
from advisor.model.task import ResolvedCorrelation, Task
from advisor.seprank.efficiency import expressive_efficiency
from advisor.seprank.engines import ENGINES
from advisor.seprank.labels import LabelRows, RegionPair, correlation_labels, padded_labels
from advisor.seprank.max_rank import log2_max_ranks
from advisor.seprank.mixture_analysis import MemberBounds, MixtureBounds
from advisor.seprank.siblings import SAME
from advisor.seprank.tree import log2_min_cuts
from advisor.stopping import StopSignal

__all__ = [
    "analyze",
    "check_same_input",
    "powers_of_one_integer",
]

DECIMALS: Final = 9
"""Figures are rounded to this many decimals (log2 values of distinct ranks up to 2^24 differ by
more than 1e-7), bounds outward (upper bounds up, lower bounds down) and exact ranks to the
nearest; certificates are decided on the unrounded values."""

_CERTIFIER: Final = ENGINES["exact"]
"""The engine ``exact=True`` asks for the generic rank."""


_CHUNK_WINDOW_ENTRIES: Final = 2**20
"""Correlations are scored in chunks of about this many (correlation, window entry) pairs, a few
tens of milliseconds of work, and the stop signal is polled between chunks."""


def analyze(
    task: Task,
    architecture: Architecture,
    exact: bool = False,
    *,
    stop: StopSignal | None = None,
    pricing_stop: StopSignal | None = None,
    price_contiguous: bool = True,
) -> Analysis:
    """Score ``architecture`` against every correlation of ``task``.

    Parameters
    ----------
    task
        The correlations, on the same input grid as the architecture.
    architecture
        The network to score; one whose document states no ``outputs`` is scored with the
        task's, as a search builds its designs (:func:`with_task_outputs`).
    exact
        Certify each figure with the exact engine (small instances only).
    stop
        Polled between chunks of correlations (a few tens of milliseconds of work each) and
        before each exact rank. An analysis has no partial result, so it is abandoned once the
        signal has stopped (deadline passed, cancelled), and as soon as the work left, at the
        pace of the work done so far, cannot end before the deadline.
    pricing_stop
        Polled between rounds of pricing the contiguous reference net (the efficiency's costly
        part on small inputs); once it has stopped, that pricing is left out
        (``contiguous_priced`` False) and the analysis goes on: a search cut short builds its
        best recommendation in time.
    price_contiguous
        False leaves the contiguous net's pricing out (``contiguous_priced`` False): a caller
        that reads only the figures (scoring many designs) spares most of a small input's
        analysis, some 3 times its figures' cost on a 32x32 grid where a ladder is priced
        (docs/FORMATS.md §3).

    Raises
    ------
    advisor.errors.InvalidRequestError
        ``task``, ``architecture`` or ``stop`` when it is no model of its kind (a recommendation
        for its ``.architecture``, say), ``exact`` or ``price_contiguous`` when it is no
        boolean, ``architecture.input.shape`` when the two grids differ,
        ``architecture.input.channels`` when the two channel counts do.
    advisor.errors.LimitExceededError
        ``exact`` when ``exact=True`` and some correlation is over the exact engine's limits;
        checked for every correlation before any rank is computed.
    advisor.errors.StoppedError
        When ``stop`` stopped the analysis or its deadline is out of reach.
    """
    require_instance(task, Task, "task")
    require_instance(architecture, Architecture, "architecture")
    exact = require_flag(exact, "exact")
    price_contiguous = require_flag(price_contiguous, "price_contiguous")
    if stop is not None:
        require_instance(stop, StopSignal, "stop")
    check_same_input(task, architecture)
    architecture = with_task_outputs(architecture, task.outputs)
    correlations = task.resolved()
    bounds: _Bounds = _TreeBounds(architecture)
    if architecture.mixture is not None:
        channels = member_widths(architecture.widths, architecture.mixture)
        every = [architecture.representation, *(w for widths in channels for w in widths)]
        own = [powers_of_one_integer([architecture.representation, *w]) for w in channels]
        bounds = MixtureBounds(architecture, powers_of_one_integer(every), own)

    def rows(part: Sequence[RegionPair]) -> npt.NDArray[np.int8]:
        labels = correlation_labels(part, task.input.num_locations)
        return padded_labels(
            labels, task.input.shape, architecture.padding, architecture.representation_kernel
        )

    # The bounds build their labels chunk by chunk: one byte per location of every correlation
    # at once would be the largest allocation of a large analysis; the exact engine is for small
    # ones.
    labels = rows(correlations) if exact else None
    if labels is not None:
        _check_exact_limits(bounds, labels, correlations)
    plain, shared, tight, members = bounds.figures(correlations, rows, stop)
    overlaps = bounds.structure if isinstance(bounds, _TreeBounds) else None
    maxima = log2_max_ranks(correlations, architecture, overlaps)
    if overlaps is not None and not overlaps.is_tree:
        # The unrolled figure may pass the dimension bound, never the rank's own cap.
        shared = np.minimum(shared, maxima)
    scored = []
    pace = _Pace(stop, len(correlations) if exact else 0)
    for index, correlation in enumerate(correlations):
        figures = _Figures(
            float(plain[index]), float(shared[index]), float(maxima[index]), correlation
        )
        if labels is not None:
            pace.next_step()
            row = labels[index : index + 1]
            result = figures.certified(bounds.log2_exact_rank(row), bounds.exact_is_rank)
            alone = [(rank, _EXACT) for rank in bounds.log2_member_exact_ranks(row)]
        else:
            result = figures.bound(bool(tight[index]))
            alone = [
                (float(m[index]), _proven(float(m[index]), _TIGHT if t[index] else _BOUND))
                for m, t in members
            ]
        scored.append(_with_members(result, alone))
    reached = [c.log2_separation_rank for c in scored]
    analysis = Analysis(
        parameters=architecture.parameters,
        multiply_adds=architecture.multiply_adds,
        correlations=scored,
        efficiency=expressive_efficiency(
            architecture, correlations, rows, reached, pricing_stop, price_contiguous
        ),
        activations=architecture.activations,
    )
    return with_padded_input(analysis, architecture)


def _check_exact_limits(
    bounds: _Bounds, labels: npt.NDArray[np.int8], correlations: Sequence[ResolvedCorrelation]
) -> None:
    """Refuse, on ``exact``, a correlation the exact engine cannot take, naming it.

    Every correlation is checked before any rank is computed. The engines' own refusals say
    which limit a matrix passes, not whose matrix it is; a task of many correlations left the
    user to find the one over it (the service's limits name it, as this does).
    """
    for index, correlation in enumerate(correlations):
        try:
            bounds.check_exact_limits(labels[index : index + 1])
        except LimitExceededError as refused:
            raise LimitExceededError(
                [
                    replace(
                        violation,
                        description=f"certification of {correlation.name!r}: "
                        f"{violation.description}",
                    )
                    for violation in refused.violations
                ]
            ) from None


_EXACT: Final[Certificate] = "exact"
_TIGHT: Final[Certificate] = "tight"
_BOUND: Final[Certificate] = "upper_bound"


def _proven(log2_bound: float, certificate: Certificate) -> Certificate:
    """Return ``certificate``, or ``exact`` where the bound is rank 1 (0 bits).

    A network's function is not zero for generic weights, so its rank is at least 1: a bound of
    rank 1 (a width-1 layer between the regions, M = 1, a region of one location beside a
    rank-1 side) is the rank itself, which ``upper_bound`` under-claimed.
    """
    return _EXACT if log2_bound < SAME else certificate


def _with_members(
    result: CorrelationAnalysis, members: Sequence[tuple[float, Certificate]]
) -> CorrelationAnalysis:
    """Add a mixture's members' own figures (log2 figure, its certificate) to its correlation.

    A member's figure is its tree's shared-weight bound (``tight`` or ``upper_bound``), or, in
    an exact analysis, its tree's exact rank, so every member figure printed beside an exact
    mixture figure is certified as the mixture's is. A member's rank is at most the mixture's,
    which computes the member alone, so its figure is also capped by the mixture's reported
    one: an exact mixture rank below a member's figure (or a member's bound above the
    mixture's) is a tighter bound on the member, and then only an ``upper_bound``. A member's
    figure is rounded as the mixture's is (:func:`_rounded_rank`), beside the dimension bound.
    Without members (a tree), ``result`` as it is.
    """
    if not members:
        return result
    ceiling = result.log2_separation_rank
    beside = (result.log2_max_rank,)
    figures = tuple(
        MemberFigure(
            log2_separation_rank=min(_rounded_rank(figure, proven, beside), ceiling),
            certificate=_proven(
                min(figure, ceiling), proven if figure <= ceiling + SAME else _BOUND
            ),
        )
        for figure, proven in members
    )
    return replace(result, members=figures)


class _Bounds(Protocol):
    """Where an analysis takes its figures: a tree's engines, or a mixture's (mixture_analysis).

    ``exact_is_rank``: the exact engine's figure is the generic rank itself (a tree, a mixture of
    trees), not a grid tensor's lower bound (overlapping windows, docs/THEORY.md §9).
    """

    exact_is_rank: bool

    def check_exact_limits(self, labels: npt.NDArray[np.int8]) -> None: ...

    def figures(
        self,
        correlations: Sequence[ResolvedCorrelation],
        rows: LabelRows,
        stop: StopSignal | None,
    ) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_], list[MemberBounds]
    ]:
        """Return the plain and shared-weight bounds, whether each is ``tight``, and the members'.

        The members' figures are a mixture's, one per member network (none for a tree).
        ``rows`` builds the side labels of some of the correlations, so a bound may build them
        chunk by chunk.
        """
        ...

    def log2_exact_rank(self, row: npt.NDArray[np.int8]) -> float: ...

    def log2_member_exact_ranks(self, row: npt.NDArray[np.int8]) -> list[float]:
        """Return each member network's own exact rank on one row (none for a tree)."""
        ...


class _TreeBounds:
    """The tree recurrence's figures, certified by the exact engine."""

    def __init__(self, architecture: Architecture) -> None:
        self.structure = pooling_structure(architecture)
        self.widths = list(architecture.widths)
        self.representation = architecture.representation
        self.exact_is_rank = self.structure.is_tree

    def check_exact_limits(self, labels: npt.NDArray[np.int8]) -> None:
        _CERTIFIER.check_limits(self.structure, labels, self.widths, self.representation)

    def figures(
        self,
        correlations: Sequence[ResolvedCorrelation],
        rows: LabelRows,
        stop: StopSignal | None,
    ) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_], list[MemberBounds]
    ]:
        tight_widths = self.structure.is_tree and powers_of_one_integer(
            [self.representation, *self.widths]
        )
        plain, shared, tight = _min_cuts(
            self.structure, correlations, rows, self.widths, self.representation, stop, tight_widths
        )
        return plain, shared, tight, []

    def log2_exact_rank(self, row: npt.NDArray[np.int8]) -> float:
        rank = _CERTIFIER.compute(
            self.structure, row, self.widths, self.representation, shared_weights=True
        )
        return float(rank[0])

    def log2_member_exact_ranks(self, row: npt.NDArray[np.int8]) -> list[float]:
        return []


def check_same_input(task: Task, architecture: Architecture) -> None:
    """Refuse an architecture whose input is not the task's: its grid or its channel count.

    The figures need the one grid; the parameter count the architecture's channels, so an
    architecture written for other channels (a file that leaves them at 1 for an RGB task) would
    be priced for an input the task does not have, with nothing to say so. The service checks
    it before the cost of the analysis, which pairs the task's regions with the architecture.

    Raises
    ------
    InvalidRequestError
        On ``architecture.input.shape``, ``architecture.input.channels`` or both.
    """
    task_shape, own_shape = list(task.input.shape), list(architecture.input.shape)
    violations = [
        FieldViolation(
            f"architecture.input.{field}",
            f"must equal the task's input {field} {theirs}, got {ours}{hint}",
        )
        for field, theirs, ours, hint in (
            (
                "shape",
                task_shape,
                own_shape,
                _channel_axis_note(task_shape, own_shape)
                or _padded_grid_note(task_shape, own_shape)
                or _axes_of_one_note(task_shape, own_shape),
            ),
            ("channels", task.input.channels, architecture.input.channels, ""),
        )
        if theirs != ours
    ]
    if violations:
        raise InvalidRequestError(violations)


def _channel_axis_note(task_shape: list[int], own_shape: list[int]) -> str:
    """Say how to give channels where one file writes them as an axis of the other's grid.

    ``[32, 32, 3]`` against ``[32, 32]`` is an RGB image whose colours one file made a grid
    axis: the note says which file and what to give (:func:`channel_axis_hint`); '' otherwise.
    """
    for shape, other, whose in (
        (own_shape, task_shape, ""),
        (task_shape, own_shape, "in the task, "),
    ):
        found = channel_axis(shape)
        if found is not None and found.grid == other:
            return f"; {whose}{channel_axis_hint(shape)}"
    return ""


def _axes_of_one_note(task_shape: list[int], own_shape: list[int]) -> str:
    """Say how to write a net whose grid is the task's with axes of one location more or fewer.

    ``[1, 64]`` and ``[64]`` hold the same locations in the same order (an axis of one location
    pools nothing), so a design saved on one shape fits a task written on the other once its
    pools say so; the refusal gave the two shapes and no word of that. '' unless the shapes
    differ in their axes of one location alone.
    """
    kept = [n for n in task_shape if n != 1]
    if not kept or kept != [n for n in own_shape if n != 1]:
        return ""
    return (
        f"; both hold the same locations in the same order (an axis of one location pools "
        f"nothing): give the task the shape {own_shape}, or write the architecture on "
        f"{task_shape} (each layer's pool and stride with one size per axis, 1 on an axis of "
        "one location)"
    )


def _padded_grid_note(task_shape: list[int], own_shape: list[int]) -> str:
    """Say how to write a padded net whose file gives the padded grid as its input.

    A net that pads 13 steps to 16 is written ``shape: [13]`` with ``padding: [[1, 2]]``; a file
    giving ``shape: [16]``, as a framework's padded input reads, was refused as another shape
    with nothing to say that the margins go in ``padding``. The margins are offered split as
    the search splits them (the larger after); only the user knows where they were. '' unless
    the architecture's grid is the task's grown on some axis and shrunk on none, by less than
    the task's size on every axis (padding to a friendlier size never doubles an axis; a grid
    twice the task's or more is another input, not this one padded).
    """
    if len(task_shape) != len(own_shape):
        return ""
    grown = [ours - theirs for theirs, ours in zip(task_shape, own_shape, strict=True)]
    if any(not 0 <= extra < theirs for extra, theirs in zip(grown, task_shape, strict=True)):
        return ""
    padding = [[extra // 2, extra - extra // 2] for extra in grown]
    return (
        f"; if {own_shape} is the input with margins, give the shape {task_shape} and the "
        f"margins as padding, e.g. padding: {padding} (docs/FORMATS.md §2)"
    )


def _min_cuts(
    structure: PoolingStructure,
    correlations: Sequence[ResolvedCorrelation],
    rows: LabelRows,
    widths: Sequence[int],
    representation: int,
    stop: StopSignal | None,
    powers: bool,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Compute the plain and shared-weight min-cuts of every correlation, chunk by chunk.

    And whether each is ``tight`` (:meth:`~advisor.seprank.tree.MinCuts.tight`); ``powers``:
    the structure is a tree whose channel counts, M included, are powers of one integer.
    """
    entries = sum(windows.size for windows in structure.windows)
    chunk = max(1, _CHUNK_WINDOW_ENTRIES // entries)
    log2_widths = np.log2(np.asarray(widths, dtype=np.float64))
    log2_m = math.log2(representation)
    plain, shared, tight = [], [], []
    starts = range(0, max(len(correlations), 1), chunk)
    pace = _Pace(stop, len(starts))
    for start in starts:
        pace.next_step()
        part = rows(correlations[start : start + chunk])
        figures = log2_min_cuts(structure, part, log2_widths, log2_m, siblings=powers)
        plain.append(figures.plain)
        shared.append(figures.shared)
        tight.append(figures.tight(powers))
    return np.concatenate(plain), np.concatenate(shared), np.concatenate(tight)


_PACE_SHARE: Final = 0.05
"""The share of the time it had that an analysis spends before its pace can end it: the steps
done must have taken at least this much of it. The first steps also carry the analysis's
one-time costs and any pause of the machine: 1,024 correlations at 1024 x 1024, a 30 s deadline
and 7-11 ms a step, were given up after one step of 28-33 ms (1,023 more at that pace: 29 s)."""


class _Pace:
    """Poll ``stop`` before each of ``steps`` steps of work; give up on an unreachable deadline.

    A deadline is out of reach when the steps left, at the average pace of those done, would
    end after it; the pace is trusted once the steps done took :data:`_PACE_SHARE` of the time
    there was when the work began.
    """

    def __init__(self, stop: StopSignal | None, steps: int) -> None:
        self.stop, self.steps, self.done = stop, steps, 0
        self.started = 0.0 if stop is None else stop.clock()
        self.judged_after = 0.0 if stop is None else _PACE_SHARE * stop.remaining()

    def next_step(self) -> None:
        if self.stop is None:
            return
        remaining = self.stop.remaining()
        if remaining <= 0.0:
            raise StoppedError("the analysis was stopped before it finished")
        elapsed = self.stop.clock() - self.started
        trusted = self.done and elapsed >= self.judged_after
        if trusted and elapsed / self.done * (self.steps - self.done) > remaining:
            raise StoppedError("the analysis cannot finish before its deadline")
        self.done += 1


def powers_of_one_integer(values: Sequence[int]) -> bool:
    """Return whether every value is ``p ** k`` (``k >= 0``) for one integer ``p >= 2``.

    Examples
    --------
    >>> [powers_of_one_integer(v) for v in ([8, 4, 1, 64], [9, 27], [2, 3], [4, 6])]
    [True, True, False, False]
    """
    bases = {_smallest_base(v) for v in values if v > 1}
    return len(bases) <= 1


def _smallest_base(value: int) -> int:
    """Return the smallest ``b`` with ``value == b ** k`` for some ``k >= 1``."""
    for exponent in range(value.bit_length(), 1, -1):
        root = round(math.pow(value, 1 / exponent))
        for candidate in (root - 1, root, root + 1):
            if candidate > 1 and candidate**exponent == value:
                return candidate
    return value


@dataclass(frozen=True)
class _Figures:
    """The bounds of one correlation, before the certificate is chosen.

    ``log2_max_rank`` is the largest rank the regions allow (:mod:`advisor.seprank.max_rank`).
    """

    plain: float
    shared: float
    log2_max_rank: float
    correlation: ResolvedCorrelation

    def bound(self, tight: bool) -> CorrelationAnalysis:
        """Report the shared-weight bound, ``tight`` as the bounds decided it, else a bound.

        A bound of rank 1 is ``exact`` (:func:`_proven`).
        """
        return self._result(self.shared, _proven(self.shared, _TIGHT if tight else _BOUND))

    def certified(self, log2_rank: float, is_rank: bool) -> CorrelationAnalysis:
        """Report the exact engine's figure: the rank when ``is_rank``, else a lower bound."""
        if is_rank or abs(log2_rank - self.shared) < SAME:
            return self._result(log2_rank, "exact")
        return self._result(self.shared, "upper_bound", log2_lower_bound=log2_rank)

    def _result(
        self, log2_rank: float, certificate: Certificate, log2_lower_bound: float | None = None
    ) -> CorrelationAnalysis:
        beside = (self.plain, self.log2_max_rank)  # the min-cut and the regions' own cap
        return CorrelationAnalysis(
            name=self.correlation.name,
            log2_separation_rank=_rounded_rank(log2_rank, certificate, beside),
            log2_max_rank=_rounded(self.log2_max_rank, 1),
            certificate=certificate,
            weight=self.correlation.weight,
            log2_min_cut=_rounded(self.plain, 1),
            log2_lower_bound=None if log2_lower_bound is None else _rounded(log2_lower_bound, -1),
        )


_UNIT: Final = 10.0**-DECIMALS
_NOISE: Final = 1e-12
"""Float roundoff of a figure (at least; a few units in its last place on large figures): a
figure within it of a rounded value is that value (the recurrence's sums of logs land a hair
above or below a whole number)."""


def _rounded_rank(log2_rank: float, certificate: Certificate, beside: Sequence[float]) -> float:
    """Round a log2 rank as its ``certificate`` says: the one rule for correlations and members.

    A bound is rounded outward, so it still bounds: log2 7 = 2.80735492206 to the nearest ninth
    decimal is 2.807354922, below the rank 7 it bounds. An exact rank is rounded to the nearest,
    but one that reaches a bound written ``beside`` it is written as that bound is: to the
    nearest, the rank 49 of M = 7 on two locations a side read 5.614709844 beside the bound
    5.614709845 it reaches.
    """
    at_bound = any(abs(log2_rank - bound) < SAME for bound in beside)
    return _rounded(log2_rank, 0 if certificate == _EXACT and not at_bound else 1)


def _rounded(value: float, direction: int) -> float:
    """Round to :data:`DECIMALS` decimals: to the nearest (0), up (1) or down (-1)."""
    rounded = round(value, DECIMALS)
    noise = max(_NOISE, 4 * math.ulp(value))
    if direction > 0 and rounded < value - noise:
        rounded = round(rounded + _UNIT, DECIMALS)
    elif direction < 0 and rounded > value + noise:
        rounded = round(rounded - _UNIT, DECIMALS)
    return rounded + 0.0  # + 0.0 turns -0.0 into 0.0
