"""Speed and memory of task inference (docs/PERFORMANCE.md, "Task inference").

Writes a ``.npy`` sample of smooth random fields — white noise blurred over a 5x5 box, so
neighbours depend — on a square grid, then infers in a fresh process, as ``advisor infer`` does
without the wire: read and check the sample (streamed), the top-16 dependence graph, the
arrangement and the task. Prints wall-clock seconds per stage and the process's peak resident
memory, and the process's CPU seconds (the figure a loaded machine distorts least; run with
``OPENBLAS_NUM_THREADS=1`` so that it is also the wall time of a quiet machine). Usage::

    python -m bench.infer.speed --side 64 --samples 5000      # 4,096 locations
    python -m bench.infer.speed --side 256 --samples 5000     # 65,536 locations
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.report import command_parser

__all__ = ["main", "measure", "write_sample"]

_BLUR = 5


def write_sample(path: Path, side: int, samples: int, seed: int = 0) -> None:
    """Write ``samples`` smooth ``side x side`` float32 fields to ``path``, chunk by chunk."""
    rng = np.random.default_rng(seed)
    array = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(samples, side, side)
    )
    step = max(1, (64 * 1024**2) // (4 * side * side))
    for start in range(0, samples, step):
        count = min(step, samples - start)
        noise = rng.standard_normal((count, side + _BLUR, side + _BLUR), dtype=np.float32)
        summed = noise.cumsum(axis=1).cumsum(axis=2)
        box = (
            summed[:, _BLUR:, _BLUR:]
            - summed[:, :-_BLUR, _BLUR:]
            - summed[:, _BLUR:, :-_BLUR]
            + summed[:, :-_BLUR, :-_BLUR]
        )
        array[start : start + count] = box[:, :side, :side]
    array.flush()
    del array


def measure(path: Path) -> dict[str, float]:
    """Infer from ``path`` in this process; return seconds per stage and peak memory (MB)."""
    from advisor.infer.data import read_data
    from advisor.infer.dependence import dependence_graph
    from advisor.infer.task import infer_task

    figures: dict[str, float] = {}
    start = time.perf_counter()
    graph = dependence_graph(read_data(path))
    figures["graph_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    inferred = infer_task(graph)
    figures["arrangement_and_task_seconds"] = time.perf_counter() - start
    figures["total_seconds"] = figures["graph_seconds"] + figures["arrangement_and_task_seconds"]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    figures["peak_rss_mb"] = _peak_resident_mb()
    figures["edges"] = float(graph.weights.size)
    figures["entanglement_before"] = sum(inferred.arrangement.before)
    figures["entanglement_after"] = sum(inferred.arrangement.after)
    return figures


def _peak_resident_mb() -> float:
    """Peak resident memory of this process image (MB).

    Linux's ``VmHWM``: ``ru_maxrss`` survives ``exec`` and so reports the parent's resident size
    at the fork if that was larger — here the memory-mapped sample the parent had just written.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Write a sample, then measure inference on it in a fresh process."""
    parser = command_parser(
        prog="python -m bench.infer.speed",
        description=__doc__,
    )
    parser.add_argument("--side", type=int, default=64, help="grid side S, S x S locations")
    parser.add_argument("--samples", type=int, default=5000, help="samples in the .npy (>= 2)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Checked before the sample is written: no grid has a side below 1, and the measuring
    # process would refuse fewer than two samples only after the whole sample was written.
    if args.side < 1:
        parser.error("--side: at least 1")
    if args.samples < 2:
        parser.error("--samples: at least 2, the dependence between locations needs two")
    if args.measure is not None:
        for name, value in measure(args.measure).items():
            print(f"{name} {value:.3f}")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample.npy"
        write_sample(path, args.side, args.samples)
        size = path.stat().st_size / 1e6
        grid = f"{args.side}x{args.side} = {args.side**2} locations"
        print(f"{grid} x {args.samples} samples, {size:.0f} MB")
        command = [sys.executable, "-m", "bench.infer.speed", "--measure", str(path)]
        return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
