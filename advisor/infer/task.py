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

and, when the arrangement lowers the canonical entanglement to at most :data:`ARRANGED_RATIO` of the
own order's, the stripes of the *arranged* grid (``arranged: columns 0,2,4,.. vs 1,3,5,..``), which
the ``data_arranged`` family pools. The task keeps every candidate whose density is at least
:data:`MIN_WEIGHT` of the largest *and above chance* by more than random splits reach: above the
expected density of two random disjoint sets of the same sizes, ``W * 2|A||B| / (n(n - 1)) /
min(|A|, |B|)`` for a graph of total weight ``W`` on ``n`` locations (:func:`chance_density`), by
``z`` times its spread over random relabellings of the locations (:func:`chance_spread`), ``z`` the
normal quantile of :data:`CHANCE_LEVEL` over the candidates measured: a partition the data couples
no more than a random split is no evidence of structure (on shuffled pixels every stripe is at
chance). One exception: the stripes 1 wide along an axis whose halves are under chance by that
margin — dependence that stays within contiguous blocks along it, a local texture — are kept
whatever their chance, which they cut about half of on an image and less on a volume
(:func:`_local_stripes`). Each kept candidate is weighted by its density relative to the largest.
The task carries the arrangement only when it lowers the entanglement that much — otherwise the
data's own order is already as local as the arrangement makes it — and only when the evidence
reaches at least :data:`EVIDENCE_COVERAGE` of the varying locations: an arrangement places every
location, and one drawn from a few dependent pairs places the others arbitrarily. The same share is
needed for any partition of the whole grid (stripes, halves): measured on a few pairs, the
partitions that happen to cross them would take a described correlation's weight from them alone (on
the outcome benchmark's sparse-event tasks, the partitions crossing one to three planted pairs). The
long-range pairs, two locations each, stand on their own evidence.

An optional stop signal (a call's deadline, its cancellation, a server's shutdown) is polled
between the units of the work — in the arrangement (:func:`~advisor.infer.arrangement.arrange`)
and before each candidate measured — and a stopped inference raises
:class:`~advisor.errors.StoppedError`: there is no partial task to return
(:mod:`advisor.infer.polling`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError
from advisor.infer.arrangement import Arrangement, arrange
from advisor.infer.graph import DependenceGraph, channel_problem, location_text
from advisor.infer.polling import poll
from advisor.infer.report import MIN_WEIGHT, InferenceReport, InferredCorrelation, dropped_reason
from advisor.infer.significance import independence_threshold, pair_thresholds
from advisor.infer.terms import (
    ARRANGED_RATIO,
    EVIDENCE_COVERAGE,
    MAX_PAIRS,
    NEAR_PAIR,
    PAIR_PREFIX,
)
from advisor.model.arguments import checked_inference_arguments
from advisor.model.grid import InputSpec
from advisor.model.presets import expand_task_preset
from advisor.model.task import Task, parse_task
from advisor.stopping import StopSignal

__all__ = [
    "ARRANGED_RATIO",
    "EVIDENCE_COVERAGE",
    "MIN_WEIGHT",
    "PAIR_THRESHOLD",
    "CHANCE_LEVEL",
    "Candidate",
    "InferredTask",
    "chance_density",
    "chance_spread",
    "edge_thresholds",
    "infer_task",
]


PAIR_THRESHOLD: Final = 0.5
"""Least |r| of a long-range pair."""

CHANCE_LEVEL: Final = 0.05
"""The chance that random relabellings of the locations lift any candidate partition of a graph
over the margin a partition must clear above chance (:func:`chance_spread`, Bonferroni over the
candidates measured)."""

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
    spread
        Its standard deviation over random relabellings of the locations
        (:func:`chance_spread`): how far from ``chance`` a partition the data does not couple
        falls by itself.
    dropped
        Why the task does not keep it (:func:`~advisor.infer.report.dropped_reason`); None when
        it does.
    """

    name: str
    a: _Ids
    b: _Ids
    entanglement: float
    chance: float
    spread: float = 0.0
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
    input: InputSpec
    outputs: int | None

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
            input=self.input,
            outputs=self.outputs,
        )

    @property
    def pairs(self) -> tuple[Candidate, ...]:
        """The long-range pairs found (two single locations each; not those too near)."""
        return tuple(
            c
            for c in self.candidates
            if c.a.size == 1 and c.b.size == 1 and not (c.dropped or "").startswith(NEAR_PAIR)
        )


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
    null = _Null.of(evidence)
    own = [*_stripes(evidence.shape), *_halves(evidence.shape)]
    partitions = []
    for split in own:
        poll(stop)
        partitions.append(_measure(evidence, null, split.name, split.a, split.b))
    poll(stop)
    pairs, near_pairs = _long_range_pairs(evidence, null)
    arranged_splits, arranged_measured = (
        _measure_arranged(evidence, null, arranged.permutation, stop) if carry else ([], [])
    )
    arranged_stripes = [
        c for s, c in zip(arranged_splits, arranged_measured, strict=True) if s.stripes
    ]
    measured = [*partitions, *pairs, *arranged_stripes]
    top = max((c.entanglement for c in measured), default=0.0)
    z = _margin_quantile(len(measured))
    local = _local_stripes(own, partitions, z) | _local_stripes(
        arranged_splits, arranged_measured, z
    )

    def judge(candidate: Candidate, grid_wide: bool) -> Candidate:
        reason = dropped_reason(
            candidate.entanglement,
            candidate.chance,
            top,
            margin=z * candidate.spread,
            local=candidate.name in local,
            reached=reached or not grid_wide,
        )
        return dataclasses.replace(candidate, dropped=reason)

    judged = [
        *(judge(c, True) for c in partitions),
        *(judge(c, False) for c in pairs),
        *near_pairs,
        *(judge(c, True) for c in arranged_stripes),
    ]
    poll(stop)
    task = None
    if any(c.kept for c in judged):
        task = parse_task(_document(evidence, judged, top, outputs, arranged if carry else None))
    return InferredTask(
        task,
        arranged,
        tuple(judged),
        threshold,
        int(evidence.weights.size),
        graph.input,
        outputs,
    )


def _measure_arranged(
    evidence: DependenceGraph, null: _Null, permutation: _Ids, stop: StopSignal | None
) -> tuple[list[_Split], list[Candidate]]:
    """Measure the stripes and halves of the arranged grid: position ``p`` holds ``permutation[p]``.

    The stripes are candidates (``arranged: ...``); the halves are measured for the locality
    rule only (:func:`_local_stripes`). ``stop`` is polled before each.
    """
    splits = [split._replace(name=f"arranged: {split.name}") for split in _stripes(evidence.shape)]
    splits += _halves(evidence.shape)
    measured = []
    for split in splits:
        poll(stop)
        # Ascending, as a task file written and read back holds them (and as regions compare).
        a_ids = np.sort(permutation[np.flatnonzero(split.a.reshape(-1))])
        b_ids = np.sort(permutation[np.flatnonzero(split.b.reshape(-1))])
        measured.append(_measure_ids(evidence, null, split.name, a_ids, b_ids))
    return splits, measured


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


def chance_spread(graph: DependenceGraph, a: int, b: int) -> float:
    """Return the standard deviation of the density of random disjoint sets of ``a`` and ``b``.

    Over every relabelling of the graph's locations, exactly: the crossing weight ``C = sum_e
    w_e X_e`` (``X_e`` 1 when edge ``e`` joins the two sets) has ``E C^2 = Q p_1 + (D - 2Q) p_2 +
    (W^2 - D + Q) p_3``, ``W`` the total weight, ``Q`` the sum of the squared weights and ``D``
    of the squared weighted degrees, ``p_1`` the chance that one edge crosses, ``p_2`` that two
    edges sharing a location both do and ``p_3`` that two disjoint ones do; the density divides
    ``C`` by the smaller side (:func:`chance_density` is ``E C`` so divided).
    """
    return _Null.of(graph).spread(a, b)


@dataclass(frozen=True)
class _Null:
    """What random relabellings of a graph's locations make of the crossing of a partition.

    The graph's figures :func:`chance_spread` needs, computed once for every candidate.
    """

    locations: int
    total: float
    squares: float
    degrees: float

    @classmethod
    def of(cls, graph: DependenceGraph) -> _Null:
        degree = np.zeros(graph.num_locations)
        np.add.at(degree, graph.rows, graph.weights)
        np.add.at(degree, graph.cols, graph.weights)
        return cls(
            graph.num_locations,
            graph.total(),
            float(np.square(graph.weights).sum()),
            float(np.square(degree).sum()),
        )

    def mean(self, a: int, b: int) -> float:
        """Return the density's mean (:func:`chance_density`)."""
        return chance_density(self.total, self.locations, a, b)

    def spread(self, a: int, b: int) -> float:
        """Return the density's standard deviation (:func:`chance_spread`)."""
        n, total, squares, degrees = self.locations, self.total, self.squares, self.degrees
        one = 2 * a * b / (n * (n - 1))
        shared = a * b * (a + b - 2) / (n * (n - 1) * (n - 2)) if n > 2 else 0.0
        disjoint = 4 * a * (a - 1) * b * (b - 1) / math.prod(range(n - 3, n + 1)) if n > 3 else 0.0
        second = (
            squares * one
            + (degrees - 2 * squares) * shared
            + (total * total - degrees + squares) * disjoint
        )
        # Rounding can leave a variance of 0 a hair below it.
        return math.sqrt(max(second - (total * one) ** 2, 0.0)) / min(a, b)


def _margin_quantile(candidates: int) -> float:
    """Return the spreads above chance a partition must clear: :data:`CHANCE_LEVEL` over all.

    The upper normal quantile of ``CHANCE_LEVEL / candidates``: a partition the data does not
    couple clears its margin with that chance, so none of them does with ``CHANCE_LEVEL``.
    """
    return -NormalDist().inv_cdf(CHANCE_LEVEL / max(1, candidates))


def _local_stripes(splits: Sequence[_Split], measured: Sequence[Candidate], z: float) -> set[str]:
    """Return the names of the stripes 1 wide along an axis whose halves are under chance.

    Halves under chance by ``z`` spreads mean the dependence along that axis stays within
    contiguous blocks: neighbours along it depend. The stripes 1 wide separate (nearly) every
    pair of neighbours along it, yet cut only about half of the dependence, and on a volume
    less (a location's neighbours lie mostly along the other axes, on the same stripe), which
    is chance or under: the rule above chance alone read a 3-D local texture as no task.
    """
    below = {
        split.axis
        for split, candidate in zip(splits, measured, strict=True)
        if not split.stripes and candidate.entanglement < candidate.chance - z * candidate.spread
    }
    return {
        split.name for split in splits if split.stripes and split.width == 1 and split.axis in below
    }


def _measure(graph: DependenceGraph, null: _Null, name: str, a: _Mask, b: _Mask) -> Candidate:
    a_ids, b_ids = np.flatnonzero(a.reshape(-1)), np.flatnonzero(b.reshape(-1))
    return _measure_ids(graph, null, name, a_ids, b_ids)


def _measure_ids(graph: DependenceGraph, null: _Null, name: str, a: _Ids, b: _Ids) -> Candidate:
    """Measure the crossing weight between ``a`` and ``b`` per location of the smaller side.

    Also the chance figure and its spread, from the graph's figures ``null``.
    """
    side = np.zeros(graph.num_locations, dtype=np.int8)
    side[a], side[b] = 1, 2
    ends = side[graph.rows] * side[graph.cols]
    crossing = float(graph.weights[ends == 2].sum())
    return Candidate(
        name,
        a.astype(np.int64),
        b.astype(np.int64),
        crossing / min(a.size, b.size),
        null.mean(a.size, b.size),
        null.spread(a.size, b.size),
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


class _Split(NamedTuple):
    """A partition of the whole grid along one axis: stripes of the ``local`` preset, or halves.

    ``width`` is the stripes' (1 or 2), 0 for halves.
    """

    name: str
    a: _Mask
    b: _Mask
    axis: int
    width: int

    @property
    def stripes(self) -> bool:
        """Whether it is stripes (not halves)."""
        return self.width > 0


def _stripes(shape: tuple[int, ...]) -> Iterator[_Split]:
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
        width = 1 if "s1" in member.name.split("/")[-1].split("-") else 2
        yield _Split(name, a, ~a, axis, width)


def _halves(shape: tuple[int, ...]) -> Iterator[_Split]:
    for axis, label in _axis_names(shape):
        n = shape[axis]
        if n < 2:
            continue
        low = np.arange(n) < (n + 1) // 2
        name = f"{label} {_runs(np.flatnonzero(low))} vs {label} {_runs(np.flatnonzero(~low))}"
        yield _Split(name, _along(shape, axis, low), _along(shape, axis, ~low), axis, 0)


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


def _long_range_pairs(
    graph: DependenceGraph, null: _Null
) -> tuple[list[Candidate], list[Candidate]]:
    """Return the long-range pairs and, dropped, the strong pairs too near to be long-range.

    Both are each the other's strongest partner at :data:`PAIR_THRESHOLD` or more (see the module
    docstring), at most :data:`MAX_PAIRS` of each, strongest first: the long-range ones a quarter
    of an axis apart along it (and at least 2); the near ones at least 2 apart along some axis
    but under a quarter of every axis, listed with :data:`NEAR_PAIR` so that a report of such
    pairs alone says why it has no task (next to each other they are a texture's neighbours,
    which the stripes measure, and are not listed).
    """
    if graph.weights.size == 0:
        return [], []
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
    strong = mutual & (graph.weights >= PAIR_THRESHOLD)
    near = strong & ~far & (gaps >= 2).any(axis=1)
    near_edges = _strongest(graph, np.flatnonzero(near))
    axes = "the axis" if len(graph.shape) == 1 else "every axis"
    reasons = [
        f"{NEAR_PAIR}: {_coordinates_text(gaps[e].tolist())} apart, under a quarter of {axes} "
        f"({_coordinates_text(spans.tolist())})"
        for e in near_edges
    ]
    near_pairs = [
        dataclasses.replace(candidate, dropped=reason)
        for candidate, reason in zip(_pairs(graph, null, near_edges), reasons, strict=True)
    ]
    return _pairs(graph, null, _strongest(graph, np.flatnonzero(strong & far))), near_pairs


def _strongest(graph: DependenceGraph, edges: _Ids) -> _Ids:
    """Return the :data:`MAX_PAIRS` strongest of ``edges``, strongest first."""
    ordered: _Ids = edges[np.argsort(-graph.weights[edges], kind="stable")][:MAX_PAIRS]
    return ordered


def _pairs(graph: DependenceGraph, null: _Null, edges: _Ids) -> list[Candidate]:
    """Measure each of ``edges`` as a candidate of two locations."""
    return [
        Candidate(
            f"{PAIR_PREFIX}{location_text(graph.shape, int(graph.rows[e]))} vs "
            f"{location_text(graph.shape, int(graph.cols[e]))}",
            graph.rows[e : e + 1].copy(),
            graph.cols[e : e + 1].copy(),
            float(graph.weights[e]),
            null.mean(1, 1),
            null.spread(1, 1),
        )
        for e in edges
    ]


def _coordinates_text(values: list[int]) -> str:
    """``200`` on a sequence, ``(0, 3)`` on a grid: one figure per axis, as locations are named."""
    return str(values[0]) if len(values) == 1 else "(" + ", ".join(map(str, values)) + ")"
