"""The evidence threshold on sparse and heavy-tailed values.

docs/INFER.md, "Sparse and heavy-tailed values" (and "Repeated samples" for the ``x4`` kinds).

Two tables, each with the normal threshold alone (``before``: the graph without its locations'
tails, as a client that does not send them) and the rule (``after``: Bennett's threshold for a
pair of sparse or heavy-tailed locations, the Cornish-Fisher one for a skewed pair past it), both
counted in the graph's independent samples:

- *noise*: for each kind of independent values, the share of seeded samples (``--runs`` of
  1,000 samples of a 16x16 grid) in which any pair reaches its threshold (5% is the aim), and
  the median of the independent samples the evidence counts (``counted``; 1,000 without
  copies, 250 for the ``x4`` kinds, whose samples are each saved four times);
- *power*: a planted pair, locations (0, 0) and (12, 12), of correlation ``rho`` — Gaussian
  ``y = rho x + sqrt(1 - rho^2) e``, or 0/1 events where ``y`` copies ``x`` with probability
  ``rho`` and is a fresh event otherwise — in the same noise: the share of samples in which
  that pair reaches its threshold.

Usage::

    python -m bench.infer.tails            # 40 runs per row, about a minute
    python -m bench.infer.tails --runs 10
    python -m bench.infer.tails --runs 300 --samples 4000 --kinds exponential Gaussian --no-power
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.graph import DependenceGraph
from advisor.infer.task import edge_thresholds
from bench.report import at_least, command_parser, positive_int

__all__ = ["main"]

_SAMPLES, _SHAPE = 1000, (16, 16)  # the default sample size and grid
_PLANTED = (0, 12 * 16 + 12)
_STRENGTHS = (0.2, 0.3, 0.5)

_Values = npt.NDArray[np.float64]
_Draw = Callable[[np.random.Generator, tuple[int, ...]], _Values]


def _events(p: float) -> _Draw:
    return lambda rng, size: (rng.random(size) < p).astype(np.float64)


def _saved(draw: _Draw, times: int) -> _Draw:
    """``draw``'s values, each sample saved ``times`` times in a row (copies, not new draws)."""
    return lambda rng, size: np.repeat(draw(rng, (size[0] // times, *size[1:])), times, axis=0)


KINDS: dict[str, _Draw] = {
    "Gaussian": lambda rng, size: rng.standard_normal(size),
    "uniform": lambda rng, size: rng.random(size),
    "0/1 p=0.01": _events(0.01),
    "0/1 p=0.05": _events(0.05),
    "0/1 p=0.1": _events(0.1),
    "Student-t 3": lambda rng, size: rng.standard_t(3, size),
    "Student-t 5": lambda rng, size: rng.standard_t(5, size),
    "lognormal": lambda rng, size: rng.lognormal(size=size),
    "exponential": lambda rng, size: rng.exponential(size=size),
    "Laplace": lambda rng, size: rng.laplace(size=size),
    "Gaussian x4": _saved(lambda rng, size: rng.standard_normal(size), 4),
    "0/1 p=0.05 x4": _saved(_events(0.05), 4),
}
"""Independent values of each kind, drawn ``(samples, locations)``; ``x4``: a quarter of the
samples, each saved four times."""


def _graph(values: _Values) -> DependenceGraph:
    return dependence_graph(data_from_array(values.reshape(-1, *_SHAPE)), allow_constant=True)


def _reached(graph: DependenceGraph) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Each edge at or above its threshold: with the normal threshold alone, and with the rule."""
    normal = dataclasses.replace(graph, kurtosis=None, largest_deviation=None, skewness=None)
    return graph.weights >= edge_thresholds(normal), graph.weights >= edge_thresholds(graph)


def noise_row(draw: _Draw, runs: int, samples: int = _SAMPLES) -> tuple[float, float, float]:
    """Share of ``runs`` noise samples with any pair at its threshold: before, after; and the
    median of the independent samples the evidence counts (each of ``samples`` draws).
    """
    rng = np.random.default_rng(0)
    counts = np.zeros(2)
    independent = []
    for _ in range(runs):
        graph = _graph(draw(rng, (samples, 256)))
        before, after = _reached(graph)
        counts += (before.any(), after.any())
        independent.append(graph.independent_samples)
    return counts[0] / runs, counts[1] / runs, float(np.median(independent))


def power_row(draw: _Draw, gaussian: bool, rho: float, runs: int) -> tuple[float, float]:
    """Share of ``runs`` samples in which the planted pair reaches its threshold: before, after."""
    rng = np.random.default_rng(1)
    counts = np.zeros(2)
    i, j = _PLANTED
    for _ in range(runs):
        values = draw(rng, (_SAMPLES, 256))
        if gaussian:
            values[:, j] = rho * values[:, i] + np.sqrt(1 - rho**2) * values[:, j]
        else:
            values[:, j] = np.where(rng.random(_SAMPLES) < rho, values[:, i], values[:, j])
        graph = _graph(values)
        edge = np.flatnonzero((graph.rows == i) & (graph.cols == j))
        if edge.size:
            before, after = _reached(graph)
            counts += (before[edge[0]], after[edge[0]])
    return counts[0] / runs, counts[1] / runs


def main() -> None:
    """Print both tables."""
    parser = command_parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=positive_int, default=40, help="seeded samples per row")
    parser.add_argument(
        "--samples",
        type=at_least(2, ": the dependence between locations needs two"),
        default=_SAMPLES,
        help="draws per noise sample (the power table's: 1000)",
    )
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), help="noise rows (default all)")
    parser.add_argument("--no-power", action="store_true", help="the noise table only")
    options = parser.parse_args()
    runs, samples = options.runs, options.samples
    print(f"noise: share of {runs} samples ({samples} x 16x16) with any pair at its threshold")
    print(f"{'kind':<14} {'before':>7} {'after':>7} {'counted':>8}")
    for name in options.kinds or KINDS:
        before, after, independent = noise_row(KINDS[name], runs, samples)
        print(f"{name:<14} {before:>7.1%} {after:>7.1%} {independent:>8.1f}", flush=True)
    if options.no_power:
        return
    print(f"\npower: share of {runs} samples in which the planted pair reaches its threshold")
    print(f"{'kind':<14} {'rho':>5} {'before':>7} {'after':>7}")
    for name in ("Gaussian", "0/1 p=0.05", "0/1 p=0.01"):
        for rho in _STRENGTHS:
            before, after = power_row(KINDS[name], name == "Gaussian", rho, runs)
            print(f"{name:<14} {rho:>5} {before:>7.1%} {after:>7.1%}", flush=True)


if __name__ == "__main__":
    main()
