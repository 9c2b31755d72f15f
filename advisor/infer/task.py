"""Infer a task from a dependence graph: which partitions the data couples, and its arrangement.

Only the graph's *evidence* is read: the edges whose weight exceeds what independent locations
reach in a sample of this size (:func:`~advisor.infer.significance.independence_threshold`, 5%
over every pair of the grid; higher for a pair of sparse, heavy-tailed or skewed locations when
the graph carries their tails, and for a pair of several channels,
:func:`~advisor.infer.significance.pair_thresholds`). The rest is
sampling noise, which on data without dependence is the whole graph; where nothing is evidence,
no partition is kept and there is no task.

Every candidate partition ``(A, B)`` a network could be asked to model is measured on the graph
by its *entanglement density*: the dependence weight crossing it per location of the smaller
side, ``cut(A, B) / min(|A|, |B|)`` (for two single locations, their ``|r|``). Candidates, in the
data's own order:

- **stripes**: the ``local`` preset's partitions (stripes 1 and 2 wide along every axis, every
  phase, plain and mirrored about the centre), named by the stripes on each side — e.g.
  ``columns 0,2,4,.. vs 1,3,5,..``: high when neighbours depend; the partitions contiguous
  pooling serves (README, "Describing local structure");
- **halves** along every axis — e.g. ``rows 0-7 vs rows 8-15``: the coarse split;
- **long-range pairs**: two locations at least a quarter of an axis apart along it (and at
  least 2; the frames of a clip count as far as its pixels), each the other's strongest partner,
  with a weight of at least :data:`PAIR_THRESHOLD` (a location whose strongest dependence is far
  away), at most :data:`MAX_PAIRS`, strongest first;

and, when the arrangement lowers the canonical entanglement to at most
:data:`ARRANGED_RATIO` of the own order's, the stripes of the *arranged* grid (``arranged:
columns 0,2,4,.. vs 1,3,5,..``), which the ``data_arranged`` family pools. The task keeps every
candidate whose density is at least :data:`MIN_WEIGHT` of the largest *and above chance* — above
the expected density of two random disjoint sets of the same sizes, ``W * 2|A||B| / (n(n - 1)) /
min(|A|, |B|)`` for a graph of total weight ``W`` on ``n`` locations: a partition the data
couples no more than a random split is no evidence of structure (on locally dependent data the
stripes 2 wide cut about half of the neighbour pairs, as a random split cuts half of all pairs;
on shuffled pixels every stripe is at chance). Each kept candidate is weighted by its density
relative to the largest. The task carries the arrangement in that case only — otherwise the
data's own order is already as local as the arrangement makes it — and only when the evidence
reaches at least :data:`EVIDENCE_COVERAGE` of the varying locations: an arrangement places
every location, and one drawn from a few dependent pairs places the others arbitrarily. The
same share is needed for any partition of the whole grid (stripes, halves): measured on a few
pairs, the partitions that happen to cross them would take a described correlation's weight
from them alone (on the outcome benchmark's sparse-event tasks, the partitions crossing one to
three planted pairs). The long-range pairs, two locations each, stand on their own evidence.

An optional stop signal (a call's deadline, its cancellation, a server's shutdown) is polled
between the units of the work — in the arrangement (:func:`~advisor.infer.arrangement.arrange`)
and before each candidate measured — and a stopped inference raises
:class:`~advisor.errors.StoppedError`: there is no partial task to return
(:mod:`advisor.infer.polling`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError
from advisor.infer.arrangement import Arrangement, arrange
from advisor.infer.graph import DependenceGraph, channel_problem, location_text
from advisor.infer.polling import poll
from advisor.infer.report import MIN_WEIGHT, InferenceReport, InferredCorrelation, dropped_reason
from advisor.infer.significance import independence_threshold, pair_thresholds
from advisor.infer.terms import ARRANGED_RATIO, EVIDENCE_COVERAGE
from advisor.model.arguments import checked_inference_arguments
from advisor.model.presets import expand_task_preset
from advisor.model.task import Task, parse_task
from advisor.stopping import StopSignal

__all__ = [
    "ARRANGED_RATIO",
    "EVIDENCE_COVERAGE",
    "MAX_PAIRS",
    "MIN_WEIGHT",
    "PAIR_THRESHOLD",
    "Candidate",
    "InferredTask",
    "chance_density",
    "edge_thresholds",
    "infer_task",
]


PAIR_THRESHOLD: Final = 0.5
"""Least |r| of a long-range pair."""

MAX_PAIRS: Final = 16
"""Most long-range pairs in a task."""

_RUNS_WRITTEN: Final = 4
"""Most runs of indices a partition's name writes out; past them, the first three and ``..``."""

_Ids = npt.NDArray[np.int64]
_Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Candidate:
    """A partition measured on the data.

    Attributes
    ----------
    name
        What it is, in words (the correlation's name when kept).
    a, b
        Its two sides (location ids).
    entanglement
        Crossing dependence per location of the smaller side.
    chance
        The entanglement two random disjoint sets of the same sizes have on average
        (:func:`chance_density`).
    dropped
        Why the task does not keep it (:func:`~advisor.infer.report.dropped_reason`); None when
        it does.
    """

    name: str
    a: _Ids
    b: _Ids
    entanglement: float
    chance: float
    dropped: str | None = None

    @property
    def kept(self) -> bool:
        """Whether the task keeps it."""
        return self.dropped is None


@dataclass(frozen=True, eq=False)
class InferredTask:
    """What :func:`infer_task` found: the task, the arrangement and every candidate measured.

    ``task`` is None when no candidate is kept (nothing in the graph is evidence of dependence,
    or nothing crosses more of it than chance). ``threshold`` is the least weight read as
    evidence (a pair of sparse, heavy-tailed or skewed locations, or of several channels, may
    need more) and ``evidence`` the graph's edges at or above their thresholds.
    """

    task: Task | None
    arrangement: Arrangement
    candidates: tuple[Candidate, ...]
    threshold: float
    evidence: int

    def found(self) -> Task:
        """Return the task, for data known to have dependence (benchmarks, tests).

        Raises
        ------
        InvalidRequestError
            On ``data`` when there is no task.
        """
        if self.task is None:
            raise InvalidRequestError.single(
                "data", f"no task: {self.evidence} pair(s) at dependence {self.threshold:.3f}+"
            )
        return self.task

    def report(self) -> InferenceReport:
        """Return the plain result the service sends (no arrays)."""
        return InferenceReport(
            task=self.task,
            arrangement=tuple(self.arrangement.permutation.tolist()),
            entanglement_before=self.arrangement.before,
            entanglement_after=self.arrangement.after,
            partitioner=self.arrangement.partitioner,
            correlations=tuple(
                InferredCorrelation(c.name, c.entanglement, c.kept, c.chance, c.dropped or "")
                for c in self.candidates
            ),
            threshold=self.threshold,
            evidence=self.evidence,
        )

    @property
    def pairs(self) -> tuple[Candidate, ...]:
        """The long-range pairs found (two single locations each)."""
        return tuple(c for c in self.candidates if c.a.size == 1 and c.b.size == 1)


def infer_task(
    graph: DependenceGraph,
    *,
    outputs: int | None = None,
    arrangement: Arrangement | None = None,
    seed: int = 0,
    stop: StopSignal | None = None,
) -> InferredTask:
    """Infer the task (see the module docstring) from the evidence of ``graph``.

    Parameters
    ----------
    graph
        The data's dependence graph.
    outputs
        The task's classes (e.g. distinct labels); None leaves them unset.
    arrangement
        A precomputed arrangement of the evidence; default
        :func:`~advisor.infer.arrangement.arrange` of it.
    seed
        The partitioner's seed.
    stop
        Polled between units of the work (the arrangement's splits, swaps and figures, each
        candidate); None never stops.

    Raises
    ------
    InvalidRequestError
        On ``outputs`` or ``seed`` out of range or not whole, before any work
        (:func:`~advisor.model.arguments.checked_inference_arguments`).
    StoppedError
        Once ``stop`` has stopped (a deadline, a cancellation, a shutdown): an inference has no
        partial result.
    """
    outputs, seed = checked_inference_arguments(outputs, seed)
    poll(stop)
    threshold = independence_threshold(graph.independent_samples, graph.num_locations)
    evidence = _evidence(graph)
    arranged = arrangement or arrange(evidence, seed=seed, stop=stop)
    reached = _reached_share(evidence) >= EVIDENCE_COVERAGE
    # Strictly lower: where no dependence crosses a level in the own order (every location in
    # one window, as on 2x2), 0 <= 0.8 * 0 carried an arrangement that lowers nothing.
    before = sum(arranged.before)
    carry = reached and before > 0 and sum(arranged.after) <= ARRANGED_RATIO * before
    total = evidence.total()
    partitions = []
    for name, a, b in [*_stripes(evidence.shape), *_halves(evidence.shape)]:
        poll(stop)
        partitions.append(_measure(evidence, total, name, a, b))
    poll(stop)
    pairs = _long_range_pairs(evidence, total)
    arranged_stripes = []
    if carry:
        for name, a, b in _stripes(evidence.shape):
            poll(stop)
            a_ids = arranged.permutation[np.flatnonzero(a.reshape(-1))]
            b_ids = arranged.permutation[np.flatnonzero(b.reshape(-1))]
            arranged_stripes.append(
                _measure_ids(evidence, total, f"arranged: {name}", a_ids, b_ids)
            )
    top = max((c.entanglement for c in [*partitions, *pairs, *arranged_stripes]), default=0.0)

    def judge(candidate: Candidate, grid_wide: bool) -> Candidate:
        reason = dropped_reason(
            candidate.entanglement, candidate.chance, top, reached=reached or not grid_wide
        )
        return dataclasses.replace(candidate, dropped=reason)

    judged = [
        *(judge(c, True) for c in partitions),
        *(judge(c, False) for c in pairs),
        *(judge(c, True) for c in arranged_stripes),
    ]
    poll(stop)
    task = None
    if any(c.kept for c in judged):
        task = parse_task(_document(evidence, judged, top, outputs, arranged if carry else None))
    return InferredTask(task, arranged, tuple(judged), threshold, int(evidence.weights.size))


def _reached_share(evidence: DependenceGraph) -> float:
    """Return the share of the varying (not constant) locations that an edge of ``evidence`` has."""
    varying = evidence.num_locations - len(evidence.constant)
    if not varying:
        return 0.0
    # A mask, not np.union1d: numpy 2's hashed unique takes 0.5 s on half a million edges.
    touched = np.zeros(evidence.num_locations, dtype=np.bool_)
    touched[evidence.rows] = touched[evidence.cols] = True
    return int(np.count_nonzero(touched)) / varying


def edge_thresholds(graph: DependenceGraph) -> npt.NDArray[np.float64]:
    """Return the threshold of each edge of ``graph``: the least weight that is evidence.

    Counted in the graph's independent samples (:attr:`DependenceGraph.independent_samples`);
    with the locations' tails (``kurtosis``, ``largest_deviation``, and ``skewness`` where
    given) and channel figures (``effective_channels``, ``tail_channels``) each pair's own
    (:func:`~advisor.infer.significance.pair_thresholds`), without the tails that of the
    lightest values (the normal threshold, raised for several channels).

    Raises
    ------
    InvalidRequestError
        On ``effective_channels`` or ``tail_channels`` for a graph of several channels without
        them (:func:`~advisor.infer.graph.channel_problem`).
    """
    if (problem := channel_problem(graph)) is not None:
        raise InvalidRequestError([problem])
    samples, locations = graph.independent_samples, graph.num_locations
    rows, cols = graph.rows, graph.cols
    effective, tail = graph.effective_channels, graph.tail_channels
    spread = None
    if effective is not None and tail is not None:
        spread = effective[rows] * effective[cols], tail[rows] * tail[cols]
    if graph.kurtosis is None or graph.largest_deviation is None:
        lightest = np.ones(graph.weights.size)
        return pair_thresholds(samples, locations, lightest, lightest, spread=spread)
    kurtosis = graph.kurtosis[rows] * graph.kurtosis[cols]
    bound = graph.largest_deviation[rows] * graph.largest_deviation[cols]
    shape = None
    if graph.skewness is not None:
        excess = graph.kurtosis - 3.0
        shape = graph.skewness[rows] * graph.skewness[cols], excess[rows] * excess[cols]
    return pair_thresholds(
        samples, locations, kurtosis, bound, shape=shape, channels=graph.channels, spread=spread
    )


def _evidence(graph: DependenceGraph) -> DependenceGraph:
    """Return ``graph`` without the edges below their thresholds (:func:`edge_thresholds`)."""
    keep = graph.weights >= edge_thresholds(graph)
    return dataclasses.replace(
        graph, rows=graph.rows[keep], cols=graph.cols[keep], weights=graph.weights[keep]
    )


def _document(
    graph: DependenceGraph,
    candidates: list[Candidate],
    top: float,
    outputs: int | None,
    arrangement: Arrangement | None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "input": {"shape": list(graph.shape), "channels": graph.channels},
        "correlations": [
            {
                "name": c.name,
                "a": {"indices": c.a.tolist()},
                "b": {"indices": c.b.tolist()},
                "weight": round(c.entanglement / top, 6),
            }
            for c in candidates
            if c.kept
        ],
    }
    if outputs is not None:
        document["outputs"] = outputs
    if arrangement is not None:
        document["arrangement"] = arrangement.permutation.tolist()
    return document


def chance_density(total: float, locations: int, a: int, b: int) -> float:
    """Return the expected density of random disjoint sets of ``a`` and ``b`` of ``locations``.

    Each edge of a graph of total weight ``total`` joins the two sets with probability
    ``2ab / (n(n - 1))``; the density divides that crossing by the smaller side, as
    :func:`_measure_ids` does.
    """
    crossing = total * 2 * a * b / (locations * (locations - 1))
    return crossing / min(a, b)


def _measure(graph: DependenceGraph, total: float, name: str, a: _Mask, b: _Mask) -> Candidate:
    a_ids, b_ids = np.flatnonzero(a.reshape(-1)), np.flatnonzero(b.reshape(-1))
    return _measure_ids(graph, total, name, a_ids, b_ids)


def _measure_ids(graph: DependenceGraph, total: float, name: str, a: _Ids, b: _Ids) -> Candidate:
    """Measure the crossing weight between ``a`` and ``b`` per location of the smaller side.

    Also the chance figure, for the graph's total weight ``total`` (:meth:`DependenceGraph.total`).
    """
    side = np.zeros(graph.num_locations, dtype=np.int8)
    side[a], side[b] = 1, 2
    ends = side[graph.rows] * side[graph.cols]
    crossing = float(graph.weights[ends == 2].sum())
    chance = chance_density(total, graph.num_locations, a.size, b.size)
    return Candidate(
        name, a.astype(np.int64), b.astype(np.int64), crossing / min(a.size, b.size), chance
    )


def _axis_names(shape: tuple[int, ...]) -> list[tuple[int, str]]:
    """Name each axis as the presets do, columns (the fastest) first."""
    if len(shape) == 1:
        return [(0, "positions")]
    names = [(len(shape) - 1, "columns"), (len(shape) - 2, "rows")]
    return [*names, (0, "depth")] if len(shape) == 3 else names


def _along(shape: tuple[int, ...], axis: int, pattern: _Mask) -> _Mask:
    index_shape = [1] * len(shape)
    index_shape[axis] = shape[axis]
    return np.broadcast_to(pattern.reshape(index_shape), shape)


def _stripes(shape: tuple[int, ...]) -> Iterator[tuple[str, _Mask, _Mask]]:
    """Yield the ``local`` preset's partitions, named by the stripes they take on their axis."""
    try:
        members = expand_task_preset("local", shape)
    except InvalidRequestError:
        return
    for member in members:
        a = np.zeros(math.prod(shape), dtype=np.bool_)
        a[member.a] = True
        grid = a.reshape(shape)
        # A stripe partition varies along one axis and is constant along every other.
        axis = next(k for k in range(len(shape)) if np.diff(grid, axis=k).any())
        label = dict(_axis_names(shape))[axis]
        pattern = np.moveaxis(grid, axis, 0).reshape(shape[axis], -1)[:, 0]
        name = f"{label} {_runs(np.flatnonzero(pattern))} vs {_runs(np.flatnonzero(~pattern))}"
        if member.name.endswith("-mirrored"):
            name += " (mirrored at the centre)"
        yield name, a, ~a


def _halves(shape: tuple[int, ...]) -> Iterator[tuple[str, _Mask, _Mask]]:
    for axis, label in _axis_names(shape):
        n = shape[axis]
        if n < 2:
            continue
        low = np.arange(n) < (n + 1) // 2
        name = f"{label} {_runs(np.flatnonzero(low))} vs {label} {_runs(np.flatnonzero(~low))}"
        yield name, _along(shape, axis, low), _along(shape, axis, ~low)


def _runs(indices: _Ids) -> str:
    """``0-7`` for a run, ``0,2,5,7`` for up to four, ``0,2,4,..`` or ``0-1,4-5,..`` for more.

    Past four runs the first three stand for the pattern; four are written out, as ``..``
    would hide a single index (``0,2,5,..`` for 0, 2, 5 and 7).
    """
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    runs = np.split(indices, breaks)
    shown = runs if len(runs) <= _RUNS_WRITTEN else runs[:3]
    text = [f"{r[0]}" if r.size == 1 else f"{r[0]}-{r[-1]}" for r in shown]
    return ",".join(text) + (",.." if len(shown) < len(runs) else "")


def _long_range_pairs(graph: DependenceGraph, total: float) -> list[Candidate]:
    """Pairs far apart, each the other's strongest partner (see the module docstring)."""
    if graph.weights.size == 0:
        return []
    coords = np.stack(np.unravel_index(np.arange(graph.num_locations), graph.shape), axis=1)
    gaps = np.abs(coords[graph.rows] - coords[graph.cols])
    # Far along some axis by a quarter of that axis: a quarter of the longest would rule out
    # every pair across the short axis of a video or volume (frames 0 and 15 of a 16x112x112
    # clip are 15 apart, under 28).
    spans = np.array([max(2, math.ceil(n / 4)) for n in graph.shape])
    far = (gaps >= spans).any(axis=1)
    strongest = np.zeros(graph.num_locations)
    np.maximum.at(strongest, graph.rows, graph.weights)
    np.maximum.at(strongest, graph.cols, graph.weights)
    mutual = (graph.weights >= strongest[graph.rows]) & (graph.weights >= strongest[graph.cols])
    chosen = np.flatnonzero(far & mutual & (graph.weights >= PAIR_THRESHOLD))
    chosen = chosen[np.argsort(-graph.weights[chosen], kind="stable")][:MAX_PAIRS]
    chance = chance_density(total, graph.num_locations, 1, 1)
    return [
        Candidate(
            f"locations {location_text(graph.shape, int(graph.rows[e]))} vs "
            f"{location_text(graph.shape, int(graph.cols[e]))}",
            graph.rows[e : e + 1].copy(),
            graph.cols[e : e + 1].copy(),
            float(graph.weights[e]),
            chance,
        )
        for e in chosen
    ]
