"""The dependence graph: the compact summary of a data sample that task inference works on.

Each edge ``(i, j, w)`` says locations ``i`` and ``j`` of the grid depend with weight ``w`` in
``(0, 1]`` (|Pearson correlation|, or its multi-channel form; :mod:`advisor.infer.dependence`).
Only each location's strongest ``top_k`` edges are kept (a sparse top-k graph), which is what the
client sends over the wire instead of the data; the service checks it with
:func:`check_graph` before any work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.infer.terms import MAX_TOP_K
from advisor.model.grid import InputSpec, grid_axes_problem, grid_problem
from advisor.words import counted

__all__ = [
    "DependenceGraph",
    "Estimate",
    "channel_problem",
    "check_graph",
    "location_text",
    "locations_text",
]

Estimate: TypeAlias = Literal["exact", "sketch"]
"""How the weights were computed: ``exact`` (the sample's correlations) or ``sketch`` (pairs
chosen on a random projection of the samples, then computed exactly; a pair the projection
missed may be absent)."""

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class DependenceGraph:
    """A sparse, undirected, weighted graph over the locations of a grid.

    Attributes
    ----------
    shape
        The input grid (locations numbered row-major).
    channels
        Values per location in the data it was estimated from.
    samples
        Samples it was estimated from.
    top_k
        Strongest edges kept per location (an edge is kept if either end keeps it).
    rows, cols, weights
        The edges, ``rows[e] < cols[e]``, each pair once, weights in ``(0, 1]``.
    constant
        Locations whose values never vary in the sample (no edges; listed, not hidden).
    estimate
        How the weights were computed.
    distinct_samples
        Distinct samples among ``samples``; None when not counted (every sample counts).
    effective_samples
        The independent samples the sample weighs as, ``n / (1 + 2 T / A)`` with ``T`` its tied
        pairs of samples weighted by their leverage and ``A`` every sample's leverage
        (:meth:`~advisor.infer.dependence._Repeats.effective`):
        copies of a draw count once (``distinct_samples`` when Gaussian samples are each saved
        alike), ties that independent draws make by chance next to nothing (sparse values:
        near ``samples``); None when not counted.
    kurtosis, largest_deviation
        Per location, the fourth standardized moment of its values and the largest magnitude of
        a standardized value (with several channels, its heaviest channel's; 0 for a constant
        location, at least 1 for a varying one): how sparse or heavy-tailed it is, which sets
        the evidence threshold of its pairs (:func:`~advisor.infer.significance.pair_thresholds`).
        None when not measured: every pair has the normal threshold.
    skewness
        Per location, the third standardized moment of its values (with several channels, its
        channel's of largest magnitude; 0 for a constant location): how skewed it is, which
        also sets the evidence threshold of its pairs. Only with ``kurtosis``; None when not
        measured: the threshold looks at the kurtosis alone.
    effective_channels, tail_channels
        Per location with several channels, figures of its channel correlation matrix ``R``:
        ``tr(R)^2 / tr(R^2)`` and ``tr(R^2)^3 / tr(R^3)^2`` (the tail's at most the effective's),
        both 1 where its channels move as one and ``channels`` where they are independent, 0 at
        a constant location. The evidence threshold of a pair rises with its two locations'
        (:mod:`advisor.infer.significance`, "Several channels"). None for one channel (each
        location's are 1); required with several (:func:`channel_problem`).
    """

    shape: tuple[int, ...]
    channels: int
    samples: int
    top_k: int
    rows: _Ints
    cols: _Ints
    weights: _Floats
    constant: tuple[int, ...] = ()
    estimate: Estimate = "exact"
    distinct_samples: int | None = None
    effective_samples: float | None = None
    kurtosis: _Floats | None = None
    largest_deviation: _Floats | None = None
    skewness: _Floats | None = None
    effective_channels: _Floats | None = None
    tail_channels: _Floats | None = None

    @property
    def num_locations(self) -> int:
        """Locations of the grid."""
        return math.prod(self.shape)

    @property
    def input(self) -> InputSpec:
        """The data's input: the grid and channels a task of this data has."""
        return InputSpec(shape=[int(n) for n in self.shape], channels=int(self.channels))

    @property
    def independent_samples(self) -> float:
        """The samples the evidence counts: ``effective_samples`` when counted, else ``samples``.

        An exact repeat of a sample adds no evidence of dependence: 300 samples saved four times
        correlate exactly as the 300 do.
        """
        return float(self.samples if self.effective_samples is None else self.effective_samples)

    def total(self) -> float:
        """Sum of all edge weights."""
        return float(self.weights.sum())


def check_graph(graph: DependenceGraph, max_locations: int) -> None:
    """Check a graph received from outside (the wire): ids, order, weights, sizes, constants.

    The edges are at most ``locations x top_k``, and in an ``exact`` graph each is among the
    ``top_k`` strongest of one of its ends (:func:`_top_k_violations`): the graph is what its
    ``top_k`` says.

    Raises
    ------
    InvalidRequestError
        Naming fields of the ``DependenceGraph`` message, as a client of the proto reads them:
        ``input.shape``, ``input.channels``, ``top_k``, ``samples``, ``rows`` (the edge count),
        ``cols`` or ``weights`` (a length other than ``rows``'), the first bad edge ``e`` at
        ``rows[e]`` or ``cols[e]`` (an id off the grid; ``rows[e]`` for a pair out of order or
        repeated) or ``weights[e]`` (a weight out of range, or one neither end keeps), or
        ``constant[i]``: the first bad constant location, with its ids (the caller places the
        paths under its request field).
    """
    violations: list[FieldViolation] = []
    # The grid a task can have, as its inferred task's; the server's limit, when it is the
    # lower, is the one told (not the library's MAX_LOCATIONS, which it does not allow).
    problem = grid_axes_problem(graph.shape)
    if problem is not None:
        raise InvalidRequestError.single("input.shape", problem)
    n = graph.num_locations
    if n > max_locations:
        violations.append(
            FieldViolation("input.shape", f"{n:,} locations exceed the limit of {max_locations:,}")
        )
    elif (problem := grid_problem(graph.shape)) is not None:
        raise InvalidRequestError.single("input.shape", problem)
    if not 1 <= graph.top_k <= MAX_TOP_K:
        violations.append(FieldViolation("top_k", f"{graph.top_k}: must be in 1..{MAX_TOP_K}"))
    if graph.samples < 2:
        violations.append(FieldViolation("samples", f"{graph.samples}: at least 2 are needed"))
    violations += _repeat_violations(graph)
    violations += _tail_violations(graph) or _skewness_violations(graph)
    if graph.channels < 1:
        violations.append(FieldViolation("input.channels", f"{graph.channels}: must be positive"))
    else:
        violations += _channel_violations(graph)
    edges = graph.weights.size
    if not graph.rows.size == graph.cols.size == edges:
        violations.append(_length_violation(graph))
    elif edges > n * max(graph.top_k, 1):
        violations.append(
            FieldViolation("rows", f"{edges} edges exceed locations x top_k = {n * graph.top_k}")
        )
    elif edges:
        violations += _edge_violations(graph, n)
        if not violations and graph.estimate == "exact":
            violations += _top_k_violations(graph, n)
    if not violations:
        violations += _constant_violations(graph, n)
    if violations:
        raise InvalidRequestError(violations)


def _repeat_violations(graph: DependenceGraph) -> list[FieldViolation]:
    """Return the problems of the distinct and effective sample counts (each given or neither).

    ``1 <= distinct_samples <= samples`` and ``1 <= effective_samples <= samples``: the copies
    weigh as fewer samples, never more; natural ties weigh as next to none, so the effective
    size may exceed the distinct count (``DependenceGraph.effective_samples``).
    """
    distinct, effective = graph.distinct_samples, graph.effective_samples
    alone = _alone_violations({"distinct_samples": distinct, "effective_samples": effective})
    if alone or distinct is None or effective is None:
        return alone
    if not 1 <= distinct <= graph.samples:
        return [FieldViolation("distinct_samples", f"{distinct}: must lie in 1..{graph.samples}")]
    # A relative margin: the client computes the effective size in floating point.
    if not 1.0 <= effective <= graph.samples * (1.0 + 1e-9):
        return [
            FieldViolation("effective_samples", f"{effective}: must lie in [1, {graph.samples}]")
        ]
    return []


def _alone_violations(pair: Mapping[str, object]) -> list[FieldViolation]:
    """Name the field of ``pair`` given without the other (each given or neither), if one is.

    The given field is named, as every check of a graph's optional pairs does:
    ``distinct_samples: must be given with effective_samples``.
    """
    given = [name for name, value in pair.items() if value is not None]
    if len(given) != 1:
        return []
    other = next(name for name in pair if name not in given)
    return [FieldViolation(given[0], f"must be given with {other}")]


def _tail_violations(graph: DependenceGraph) -> list[FieldViolation]:
    """Return the first problem of ``kurtosis`` and ``largest_deviation`` (each given or neither).

    One finite figure per location: 0 at a constant location (its values have no tails), at
    least 1 at a varying one (``E z^4 >= (E z^2)^2 = 1``, and some ``|z| >= 1``), and at most
    what standardized values of ``samples`` values reach (:func:`_tail_bounds`).
    """
    figures = {"kurtosis": graph.kurtosis, "largest_deviation": graph.largest_deviation}
    alone = _alone_violations(figures)
    if alone:
        return alone
    n = graph.num_locations
    constant = np.zeros(n, dtype=np.bool_)
    constant[[i for i in graph.constant if 0 <= i < n]] = True
    for name, values in figures.items():
        if values is None:
            continue
        if values.size != n:
            return [FieldViolation(name, f"{values.size} values: one per location ({n}) is needed")]
        valid = np.isfinite(values) & np.where(constant, values == 0.0, values >= 1.0)
        if (i := _first(~valid)) is not None:
            need = "0 (a constant location)" if constant[i] else "finite and at least 1"
            return [FieldViolation(f"{name}[{i}]", f"{float(values[i])}: must be {need}")]
        most = _tail_bounds(graph.samples)[name]
        if (i := _first(values > most * (1.0 + _TAIL_TOLERANCE))) is not None:
            return [
                FieldViolation(
                    f"{name}[{i}]",
                    f"{float(values[i])}: must be at most {most:.6g}, the most standardized "
                    f"values of {graph.samples:,} samples reach",
                )
            ]
    return []


def _skewness_violations(graph: DependenceGraph) -> list[FieldViolation]:
    """Return the first problem of ``skewness`` (given only with ``kurtosis``, checked first).

    One finite figure per location: 0 at a constant location, and at a varying one within
    Pearson's bound ``gamma^2 <= kappa - 1`` (``E (z^2 - gamma z - 1)^2 = kappa - gamma^2 - 1``
    is not negative), which also keeps it within ``sqrt(samples - 2)``.
    """
    skewness, kurtosis = graph.skewness, graph.kurtosis
    if skewness is None:
        return []
    if kurtosis is None:
        return [FieldViolation("skewness", "must be given with kurtosis")]
    n = graph.num_locations
    if skewness.size != n:
        return [
            FieldViolation("skewness", f"{skewness.size} values: one per location ({n}) is needed")
        ]
    if (i := _first(~np.isfinite(skewness))) is not None:
        return [FieldViolation(f"skewness[{i}]", f"{float(skewness[i])}: must be finite")]
    most = np.sqrt(np.maximum(kurtosis - 1.0, 0.0) + _TAIL_TOLERANCE * kurtosis)
    if (i := _first(np.abs(skewness) > most)) is not None:
        return [
            FieldViolation(
                f"skewness[{i}]",
                f"{float(skewness[i])}: must be at most {most[i]:.6g} in magnitude, the root of "
                f"kurtosis[{i}] - 1 (Pearson's bound; 0 at a constant location)",
            )
        ]
    return []


def channel_problem(graph: DependenceGraph) -> FieldViolation | None:
    """Return the problem of a graph of several channels without its channel figures, if so.

    Its pairs' evidence threshold needs each location's ``effective_channels`` and
    ``tail_channels``; a graph without them (a client that predates them) would read the
    one-channel threshold, which counts the noise of many channels as dependence. It is refused
    rather than guessed.
    """
    if graph.channels <= 1:
        return None
    for name in _CHANNEL_FIGURES:
        if getattr(graph, name) is None:
            return FieldViolation(
                name,
                f"needed with {graph.channels} channels: each location's effective and tail "
                "channels set its pairs' evidence threshold (docs/INFER.md, \"Several "
                'channels"); a graph built by an advisor or client that predates them has '
                "none: build it again, or upgrade the client that sent it",
            )
    return None


_CHANNEL_FIGURES: Final = ("effective_channels", "tail_channels")


def _channel_violations(graph: DependenceGraph) -> list[FieldViolation]:
    """Return the first problem of the channel figures (:func:`channel_problem` first).

    One finite figure per location: 0 at a constant location, at a varying one from 1 to
    ``channels`` (participation ratios of ``channels`` eigenvalues), the tail's at most the
    effective's.
    """
    if (problem := channel_problem(graph)) is not None:
        return [problem]
    effective, tail = graph.effective_channels, graph.tail_channels
    alone = _alone_violations({"effective_channels": effective, "tail_channels": tail})
    if alone or effective is None or tail is None:
        return alone
    n = graph.num_locations
    channels = np.full(n, float(graph.channels))
    return _figure_violations(graph, "effective_channels", effective, channels, "channels") or (
        _figure_violations(graph, "tail_channels", tail, effective, "effective_channels[{i}]")
    )


def _figure_violations(
    graph: DependenceGraph, name: str, figures: _Floats, most: _Floats, most_name: str
) -> list[FieldViolation]:
    """Return the first location whose figure is not 0 (constant) or from 1 to ``most``."""
    n = graph.num_locations
    if figures.size != n:
        return [FieldViolation(name, f"{figures.size} values: one per location ({n}) is needed")]
    constant = np.zeros(n, dtype=np.bool_)
    constant[[i for i in graph.constant if 0 <= i < n]] = True
    high = most * (1.0 + _TAIL_TOLERANCE)
    varying = (figures >= 1.0) & (figures <= high)
    if (i := _first(~(np.isfinite(figures) & np.where(constant, figures == 0.0, varying)))) is None:
        return []
    limit = f"from 1 to {most[i]:.6g} ({most_name.format(i=i)})"
    need = "0 (a constant location)" if constant[i] else limit
    return [FieldViolation(f"{name}[{i}]", f"{float(figures[i])}: must be {need}")]


_TAIL_TOLERANCE: Final = 1e-6
"""Relative margin of the tails' bounds: the client computes them in floating point."""


def _tail_bounds(samples: int) -> dict[str, float]:
    """Return the most ``largest_deviation`` and ``kurtosis`` reach over ``samples`` values.

    Standardized values (mean 0, ``sum z^2 = samples``) have ``z_s^2 <= samples - 1`` (the
    others' deviations sum to ``-z_s``, so their squares to at least ``z_s^2 / (samples - 1)``),
    and so ``E z^4 <= max z^2 E z^2 <= samples - 1``: one value apart from the rest reaches
    both. (At most 2 samples: 1, the least a varying location's figures take.)
    """
    spread = max(1, samples - 1)
    return {"kurtosis": float(spread), "largest_deviation": math.sqrt(spread)}


def _first(flags: npt.NDArray[np.bool_]) -> int | None:
    """Return the index of the first True of ``flags``; None when there is none."""
    hits = np.flatnonzero(flags)
    return int(hits[0]) if hits.size else None


def _length_violation(graph: DependenceGraph) -> FieldViolation:
    """Return the problem of parallel edge lists of different lengths, at the first that differs.

    ``rows`` is the reference: ``cols`` when its length differs from it, else ``weights``.
    """
    rows = graph.rows.size
    field, size = (
        ("cols", graph.cols.size) if graph.cols.size != rows else ("weights", graph.weights.size)
    )
    return FieldViolation(
        field,
        f"has {counted(size, 'entry', 'entries')}, rows has {rows:,}: rows, cols and weights are "
        "parallel lists",
    )


def _edge_violations(graph: DependenceGraph, n: int) -> list[FieldViolation]:
    """Return the first problem of the edges, at ``rows[e]``, ``cols[e]`` or ``weights[e]``.

    The paths are the ``DependenceGraph`` message's own fields, which a client of the proto can
    look up; a problem of the pair (order, repeat) is named at its ``rows`` entry.
    """
    rows, cols, weights = graph.rows, graph.cols, graph.weights
    off = (rows < 0) | (rows >= n)
    if (e := _first(off | (cols < 0) | (cols >= n))) is not None:
        pair = (int(rows[e]), int(cols[e]))
        field = f"rows[{e}]" if off[e] else f"cols[{e}]"
        return [FieldViolation(field, f"location ids {pair} must lie in 0..{n - 1}")]
    if (e := _first(rows >= cols)) is not None:
        pair = (int(rows[e]), int(cols[e]))
        return [FieldViolation(f"rows[{e}]", f"{pair} needs i < j (each pair once, no loops)")]
    if (e := _first(~((weights > 0) & (weights <= 1)))) is not None:
        return [FieldViolation(f"weights[{e}]", f"weight {float(weights[e])} must lie in (0, 1]")]
    # Sorted, not np.unique: numpy 2's hashed unique takes 0.45 s on half a million edges, the
    # sort 0.01 s; this check runs before the inference can poll its stop signal.
    keys = rows * n + cols
    order = np.argsort(keys, kind="stable")
    repeats = order[1:][keys[order[1:]] == keys[order[:-1]]]
    if repeats.size:
        e = int(repeats.min())
        pair = (int(rows[e]), int(cols[e]))
        return [FieldViolation(f"rows[{e}]", f"the pair {pair} appears twice")]
    return []


_TIE_TOLERANCE: Final = 1e-5
"""Relative margin of :func:`_top_k_violations`' comparisons: the two ends of a pair compute its
weight apart (in float32 with several channels), which may differ in the last bits."""


def _top_k_violations(graph: DependenceGraph, n: int) -> list[FieldViolation]:
    """Return the first edge that neither end keeps among its ``top_k`` strongest, if any.

    An exact graph keeps an edge when either end ranks it among its ``top_k`` strongest pairs of
    the whole sample. Those pairs are all in the graph, so each location's ``top_k`` strongest
    edges *in the graph* are the ones it keeps, and an edge weaker than both ends' ``top_k``-th
    is one no end kept: a graph that is not what its ``top_k`` says (a denser one, or one cut by
    another rule). A sketch graph chose its pairs on a projection, so its exact weights need not
    rank them; it is not checked.
    """
    ends = np.concatenate([graph.rows, graph.cols])
    weights = np.concatenate([graph.weights, graph.weights])
    degree = np.bincount(ends, minlength=n)
    if degree.max() <= graph.top_k:
        return []
    # Each location's edges strongest first: one key, the location in steps of 2 and 1 - weight
    # within them (exact to 2^-30 below 2^22 locations); np.lexsort takes 10 times as long, 0.27 s
    # on half a million edges, before the inference can poll its stop signal.
    order = np.argsort(ends * 2.0 + (1.0 - weights))
    starts = np.concatenate([[0], np.cumsum(degree)[:-1]])
    kept_from = np.zeros(n)
    crowded = np.flatnonzero(degree > graph.top_k)
    kept_from[crowded] = weights[order][starts[crowded] + graph.top_k - 1]
    floor = kept_from * (1.0 - _TIE_TOLERANCE)
    kept = (graph.weights >= floor[graph.rows]) | (graph.weights >= floor[graph.cols])
    if (e := _first(~kept)) is None:
        return []
    i, j = int(graph.rows[e]), int(graph.cols[e])
    return [
        FieldViolation(
            f"weights[{e}]",
            f"the pair {(i, j)} at weight {float(graph.weights[e]):.6g} is kept by neither end: "
            f"locations {i} and {j} keep their {graph.top_k} strongest (top_k) from "
            f"{kept_from[i]:.6g} and {kept_from[j]:.6g}; an exact graph holds an edge only "
            "where one end ranks it among its top_k",
        )
    ]


def _constant_violations(graph: DependenceGraph, n: int) -> list[FieldViolation]:
    """Return the first problem of ``constant``: an id off the grid, a repeat, or one with edges."""
    constant = np.asarray(graph.constant, dtype=np.int64)
    if not constant.size:
        return []
    if (i := _first((constant < 0) | (constant >= n))) is not None:
        return [FieldViolation(f"constant[{i}]", f"{constant[i]} must lie in 0..{n - 1}")]
    seen = np.bincount(constant, minlength=n)
    if (i := _first(seen[constant] > 1)) is not None:
        later = int(np.flatnonzero(constant == constant[i])[1])
        return [FieldViolation(f"constant[{later}]", f"repeats location {constant[i]}")]
    linked = np.zeros(n, dtype=bool)
    linked[graph.rows] = True
    linked[graph.cols] = True
    if (i := _first(linked[constant])) is not None:
        return [
            FieldViolation(
                f"constant[{i}]",
                f"location {constant[i]} has edges: a constant location varies with nothing",
            )
        ]
    return []


def location_text(shape: tuple[int, ...], index: int) -> str:
    """Name location ``index`` of a grid of ``shape`` as the reports do.

    ``40`` on a sequence, its coordinates on a grid, ``(6, 2)`` (row-major, as the locations
    are numbered).
    """
    if len(shape) == 1:
        return str(index)
    return "(" + ", ".join(str(int(c)) for c in np.unravel_index(index, shape)) + ")"


def locations_text(shape: tuple[int, ...], ids: Sequence[int], most: int = 10) -> str:
    """Name the locations ``ids`` of a grid of ``shape`` as :func:`location_text` does.

    At most ``most`` of them, then how many more: ``(0, 0), (0, 1), ..., 22 more``. A list cut
    without a word read as the whole of it, and flat ids (``2, 87``) as one coordinate.
    """
    shown = ", ".join(location_text(shape, int(i)) for i in ids[:most])
    left = len(ids) - most
    return f"{shown}, ..., {left:,} more" if left > 0 else shown
