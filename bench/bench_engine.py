"""Time the separation-rank engine: analyze() on large grids, tree vs max-flow, the exact engine.

Run ``python -m bench.bench_engine``; it prints a table (``--write-docs`` also writes it to the
"engine" section of docs/PERFORMANCE.md). Times are the best of a few runs, CPU and wall (the
machine is shared).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from advisor.geometry.layouts import pooling_structure
from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.task import Task, parse_task
from advisor.seprank.analysis import analyze
from advisor.seprank.exact import exact_rank
from advisor.seprank.graph import log2_min_cut_graph
from advisor.seprank.labels import correlation_labels
from advisor.seprank.tree import log2_min_cut
from bench.report import add_write_option, command_parser, publish

CORRELATIONS = 64
ANALYZE_TARGET_SECONDS = 0.2  # 256x256, 64 correlations
SPEEDUP_TARGET = 100.0  # tree recurrence vs networkx max-flow, per correlation
EXACT_TARGET_SECONDS = 1.0  # per correlation at N = 16, M = 2
GRAPH_CORRELATIONS = 4


def timed(call: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Best CPU and best wall seconds of ``repeats`` calls."""
    cpu, wall = [], []
    for _ in range(repeats):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        call()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return min(cpu), min(wall)


def square_instance(side: int) -> tuple[Task, Architecture]:
    """Mirror pooling, 2x2 windows to the top, widths 16..128, and 64 random box correlations.

    Half of the boxes are against their complement, half against a second, disjoint box.
    """
    depth = int(math.log2(side))
    rng = np.random.default_rng(side)
    correlations = []
    for index in range(CORRELATIONS):
        boxes = []
        for _ in range(2):
            start = rng.integers(0, side // 2, size=2)
            stop = start + rng.integers(1, side // 2, size=2)
            boxes.append({"box": {"start": start.tolist(), "stop": stop.tolist()}})
        correlation: dict[str, Any] = {"name": f"c{index}", "a": boxes[0]}
        if index % 2 and _disjoint(boxes[0]["box"], boxes[1]["box"]):
            correlation["b"] = boxes[1]
        correlations.append(correlation)
    task = parse_task({"input": {"shape": [side, side]}, "correlations": correlations})
    layers = [
        {"channels": min(16 * 2 ** (level // 2), 128), "pool": [2, 2]} for level in range(depth)
    ]
    arch = parse_architecture(
        {
            "input": {"shape": [side, side]},
            "representation": 16,
            "layers": layers,
            "geometry": "mirror",
        }
    )
    return task, arch


def _disjoint(first: dict[str, list[int]], second: dict[str, list[int]]) -> bool:
    return any(
        a_stop <= b_start or b_stop <= a_start
        for a_start, a_stop, b_start, b_stop in zip(
            first["start"], first["stop"], second["start"], second["stop"], strict=True
        )
    )


def bench_analyze() -> list[str]:
    rows = []
    for side in (32, 128, 256):
        task, arch = square_instance(side)
        cpu, wall = timed(partial(analyze, task, arch), repeats=7)
        target = ""
        if side == 256:
            met = cpu <= ANALYZE_TARGET_SECONDS
            target = f"<= {ANALYZE_TARGET_SECONDS} s CPU: {'met' if met else 'NOT met'}"
        rows.append(
            f"| analyze, {side}x{side}, {CORRELATIONS} correlations | {cpu:.4f} | {wall:.4f} "
            f"| {target} |"
        )
    return rows


def bench_tree_vs_graph() -> list[str]:
    task, arch = square_instance(32)
    structure = pooling_structure(arch)
    correlations = task.resolved()
    labels = correlation_labels(correlations, structure.num_locations)
    widths, log2_m = np.log2(arch.widths), math.log2(arch.representation)
    tree_cpu, tree_wall = timed(lambda: log2_min_cut(structure, labels, widths, log2_m), 20)
    tree = log2_min_cut(structure, labels, widths, log2_m)
    graph_cpu = graph_wall = 0.0
    for index, correlation in enumerate(correlations[:GRAPH_CORRELATIONS]):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        value = log2_min_cut_graph(
            structure, correlation.a, correlation.b, list(arch.widths), arch.representation
        )
        graph_cpu += time.process_time() - start_cpu
        graph_wall += time.perf_counter() - start_wall
        if not math.isclose(value, tree[index], abs_tol=1e-9):
            raise AssertionError(f"tree {tree[index]} != graph {value} on {correlation.name}")
    per_tree = tree_cpu / len(correlations)
    per_graph = graph_cpu / GRAPH_CORRELATIONS
    speedup = per_graph / per_tree
    met = "met" if speedup >= SPEEDUP_TARGET else "NOT met"
    return [
        f"| tree recurrence, 32x32, per correlation (batch of {len(correlations)}) "
        f"| {per_tree:.2e} | {tree_wall / len(correlations):.2e} | |",
        f"| networkx max-flow (Boykov-Kolmogorov), 32x32, per correlation "
        f"({GRAPH_CORRELATIONS} correlations) | {per_graph:.4f} | "
        f"{graph_wall / GRAPH_CORRELATIONS:.4f} "
        f"| tree {speedup:,.0f}x faster; >= {SPEEDUP_TARGET:.0f}x: {met} |",
    ]


def bench_exact() -> list[str]:
    arch = parse_architecture(
        {
            "input": {"shape": [16]},
            "representation": 2,
            "layers": [{"channels": c, "pool": [2]} for c in (4, 4, 8, 2)],
            "geometry": {"dilations": [8, 2, 1, 4]},
        }
    )
    structure = pooling_structure(arch)
    n = structure.num_locations
    # Balanced partitions give the largest matrix at N = 16, M = 2: 256 x 256.
    regions = [np.arange(8), np.arange(0, 16, 2), np.random.default_rng(0).permutation(n)[:8]]
    rows = []
    for shared in (True, False):
        cpu = wall = 0.0
        for a in regions:
            b = np.setdiff1d(np.arange(n), a)
            call = partial(exact_rank, structure, a, b, list(arch.widths), 2, shared=shared)
            call_cpu, call_wall = timed(call, repeats=3)
            cpu, wall = cpu + call_cpu, wall + call_wall
        per_cpu, per_wall = cpu / len(regions), wall / len(regions)
        met = "met" if per_cpu <= EXACT_TARGET_SECONDS else "NOT met"
        rows.append(
            f"| exact rank, N = 16, M = 2, 8 vs 8 locations, {'shared' if shared else 'unshared'} "
            f"weights, 2 draws, per correlation | {per_cpu:.4f} | {per_wall:.4f} "
            f"| <= {EXACT_TARGET_SECONDS} s: {met} |"
        )
    return rows


def main() -> None:
    parser = command_parser(description=__doc__)
    add_write_option(parser, "PERFORMANCE.md")
    arguments = parser.parse_args()
    rows = [*bench_analyze(), *bench_tree_vs_graph(), *bench_exact()]
    table = "\n".join(
        [
            "## Separation-rank engine",
            "",
            "`python -m bench.bench_engine` — analyze(): mirror pooling, 2x2 windows to the top, "
            "M = 16, widths 16..128, 64 random box correlations (best of 7). Tree vs max-flow: "
            "the same plain min-cut on the 32x32 instance, checked equal. Exact: dilation tree "
            "8, 2, 1, 4 (widths 4, 4, 8, 2), halves, odd/even and a random half (best of 3).",
            "",
            "| what | CPU seconds | wall seconds | target |",
            "|---|---|---|---|",
            *rows,
        ]
    )
    publish(arguments, "engine", table)


if __name__ == "__main__":
    main()
