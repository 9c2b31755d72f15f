"""The evidence threshold on data of several channels.

docs/INFER.md, "Several channels". Two tables, each with the one-channel threshold (``before``:
the graph's effective channels read as 1, the threshold before they were measured) and the
several-channel one (``after``: :mod:`advisor.infer.significance`, "Several channels"), both
on the same graphs:

- *noise*: for each grid, sample size, channel count and kind of channels, the share of
  ``--runs`` seeded samples of independent locations in which any pair reaches its threshold
  (the family rate; 5% is the aim), and the median over the samples of the graphs' median
  effective and tail channels (``e`` and ``nu``). The kinds: ``independent`` (Gaussian channels),
  ``mixed`` (the same random Gaussian mixing matrix at every location of a sample: channels
  of unequal, random correlations) and ``rgb-like`` (every two channels correlated at 0.8);
- *power*: a mirror planted on an 8x8 grid — each location of the left half and its mirror
  image in the right, every channel at correlation ``rho`` (``y = rho x + sqrt(1 - rho^2) e``)
  — in independent Gaussian channels: the share of the planted pairs at or above their
  threshold (``found``) and the share of samples in which any other pair is (``noise``).

Grids of more than 8,192 features (16x16 with 64 channels) are estimated in sketch mode, as
``advisor infer`` does.

Usage::

    python -m bench.infer.channels             # 8x8, 20 runs per row, about 4 CPU-minutes
    python -m bench.infer.channels --grids 16 --channels 1 2 3 8 16 --no-power   # 4 CPU-min
    python -m bench.infer.channels --grids 16 --samples 300 1000 --channels 32 --no-power

At 32 and 64 channels a 16x16 graph takes 3 to 18 CPU-s.
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

__all__ = ["KINDS", "main"]

_CHANNELS = (1, 2, 3, 8, 16, 32, 64)
_SAMPLES = (300, 1000, 3000)
_GRIDS = (8,)
_POWER_CHANNELS, _POWER_SAMPLES, _STRENGTHS = (1, 16, 64), 300, (0.1, 0.15, 0.2, 0.3)
_RGB_CORRELATION = 0.8

_Values = npt.NDArray[np.float64]
_Flags = npt.NDArray[np.bool_]
_Draw = Callable[[np.random.Generator, tuple[int, ...]], _Values]


def _mixed(rng: np.random.Generator, size: tuple[int, ...]) -> _Values:
    """Gaussian channels mixed by one random matrix, the same at every location."""
    channels = size[-1]
    mixing = rng.standard_normal((channels, channels))
    mixed: _Values = rng.standard_normal(size) @ mixing
    return mixed


def _rgb_like(rng: np.random.Generator, size: tuple[int, ...]) -> _Values:
    """Gaussian channels, every two correlated at :data:`_RGB_CORRELATION`."""
    common = rng.standard_normal(size[:-1])[..., None]
    own = rng.standard_normal(size)
    values: _Values = np.sqrt(_RGB_CORRELATION) * common + np.sqrt(1 - _RGB_CORRELATION) * own
    return values


KINDS: dict[str, _Draw] = {
    "independent": lambda rng, size: rng.standard_normal(size),
    "mixed": _mixed,
    "rgb-like": _rgb_like,
}
"""Independent locations whose channels are drawn ``(samples, *grid, channels)``."""


def _graph(values: _Values, grid: tuple[int, ...]) -> DependenceGraph:
    return dependence_graph(data_from_array(values, grid), allow_constant=True)


def _reached(graph: DependenceGraph) -> tuple[_Flags, _Flags]:
    """Each edge at or above its threshold: the one-channel threshold, and the rule."""
    after = graph.weights >= edge_thresholds(graph)
    if graph.effective_channels is None or graph.tail_channels is None:
        return after, after
    one = dataclasses.replace(
        graph,
        effective_channels=np.minimum(graph.effective_channels, 1.0),
        tail_channels=np.minimum(graph.tail_channels, 1.0),
    )
    return graph.weights >= edge_thresholds(one), after


def noise_row(
    draw: _Draw, side: int, samples: int, channels: int, runs: int
) -> tuple[float, float, float, float]:
    """Share of ``runs`` noise samples with any pair at its threshold, before and after, and the
    medians of the graphs' median effective and tail channels."""
    rng = np.random.default_rng(0)
    counts = np.zeros(2)
    figures = []
    for _ in range(runs):
        graph = _graph(draw(rng, (samples, side, side, channels)), (side, side))
        before, after = _reached(graph)
        counts += (before.any(), after.any())
        effective, tail = graph.effective_channels, graph.tail_channels
        if effective is None or tail is None:
            figures.append((1.0, 1.0))
        else:
            figures.append((float(np.median(effective)), float(np.median(tail))))
    effective_median, tail_median = np.median(figures, axis=0).tolist()
    return counts[0] / runs, counts[1] / runs, effective_median, tail_median


def power_row(channels: int, rho: float, runs: int) -> tuple[float, float, float, float]:
    """Share of the planted mirror pairs found and of samples with any other pair over the
    threshold, before and after."""
    rng = np.random.default_rng(1)
    side = 8
    left = np.arange(side * side).reshape(side, side)[:, : side // 2].reshape(-1)
    right = (left // side) * side + side - 1 - left % side
    planted = {(min(a, b), max(a, b)) for a, b in zip(left.tolist(), right.tolist(), strict=True)}
    found, noise = np.zeros(2), np.zeros(2)
    for _ in range(runs):
        values = rng.standard_normal((_POWER_SAMPLES, side * side, channels))
        values[:, right] = rho * values[:, left] + np.sqrt(1 - rho**2) * values[:, right]
        graph = _graph(values.reshape(_POWER_SAMPLES, side, side, channels), (side, side))
        pairs = zip(graph.rows.tolist(), graph.cols.tolist(), strict=True)  # rows < cols
        mirror = np.array([pair in planted for pair in pairs], dtype=np.bool_)
        for column, reached in enumerate(_reached(graph)):
            found[column] += np.count_nonzero(reached & mirror) / len(planted)
            noise[column] += bool((reached & ~mirror).any())
    return found[0] / runs, found[1] / runs, noise[0] / runs, noise[1] / runs


def main() -> None:
    """Print both tables."""
    parser = command_parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=positive_int, default=20, help="seeded samples per row")
    parser.add_argument(
        "--samples",
        type=at_least(2, ": the dependence between locations needs two"),
        nargs="+",
        default=list(_SAMPLES),
        help="draws per noise sample",
    )
    parser.add_argument(
        "--grids", type=at_least(2), nargs="+", default=list(_GRIDS), help="grid sides"
    )
    parser.add_argument(
        "--channels", type=positive_int, nargs="+", default=list(_CHANNELS), help="channels"
    )
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), help="kinds (default all)")
    parser.add_argument("--no-power", action="store_true", help="the noise table only")
    options = parser.parse_args()
    runs = options.runs
    print(f"noise: share of {runs} samples with any pair at its threshold")
    print(
        f"{'grid':<6} {'samples':>7} {'C':>3} {'kind':<12} {'before':>7} {'after':>7} "
        f"{'e':>6} {'nu':>6}"
    )
    for side in options.grids:
        for samples in options.samples:
            for channels in options.channels:
                for kind in (options.kinds or KINDS) if channels > 1 else ["independent"]:
                    row = noise_row(KINDS[kind], side, samples, channels, runs)
                    print(
                        f"{side}x{side:<4} {samples:>7} {channels:>3} {kind:<12} {row[0]:>7.1%} "
                        f"{row[1]:>7.1%} {row[2]:>6.2f} {row[3]:>6.2f}",
                        flush=True,
                    )
    if options.no_power:
        return
    print(f"\npower: a mirror planted on 8x8, {_POWER_SAMPLES} samples, {runs} runs per row")
    print(f"{'C':>3} {'rho':>5} {'found':>7} {'after':>7} {'noise':>7} {'after':>7}")
    for channels in _POWER_CHANNELS:
        for rho in _STRENGTHS:
            found_before, found_after, noise_before, noise_after = power_row(channels, rho, runs)
            print(
                f"{channels:>3} {rho:>5} {found_before:>7.1%} {found_after:>7.1%} "
                f"{noise_before:>7.1%} {noise_after:>7.1%}",
                flush=True,
            )


if __name__ == "__main__":
    main()
