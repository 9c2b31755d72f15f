"""Any size and 3-D grids from the command line: recommend, then analyze the pick.

Run ``python -m bench.bench_sizes``; it prints the figures (``--write-docs`` also writes them to the
"sizes" section of docs/PERFORMANCE.md). For each task the real ``advisor`` command runs
``recommend`` (JSON output), then ``analyze`` on the architecture it printed, both against a server
started here in-process. That server admits grids up to the library's own limit (``MAX_LOCATIONS``):
the service's default limit is a deployment setting, not what is measured. A case passes when the
search completes, its pick is deeper than the shallow net, and the analysis of the printed
architecture reports the same figure and certificate for every correlation. CPU seconds are the
whole process's (client and server threads); wall seconds beside them.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.cli.main import main as advisor
from advisor.model.grid import MAX_LOCATIONS
from advisor.service.limits import RequestLimits
from advisor.service.server import ServerConfig, start_server
from bench.report import add_write_option, command_parser, publish

BUDGET = 1_000_000
"""Parameters: enough for every task below to afford a deep net."""

TIME_LIMIT = 60
"""Seconds; long enough for every search here to complete."""

CASES: tuple[tuple[str, list[int], str], ...] = (
    ("224x224 (ImageNet)", [224, 224], "symmetry"),
    ("15x15", [15, 15], "symmetry"),
    ("1-D 16,000", [16_000], "symmetry"),
    ("1-D 44,100", [44_100], "symmetry"),
    ("1-D 13 (prime)", [13], "symmetry"),
    ("99x99", [99, 99], "symmetry"),
    ("3-D 16x64x64", [16, 64, 64], "symmetry"),
    ("3-D 32x32x32", [32, 32, 32], "front_back"),
)


@dataclass(frozen=True)
class Timed:
    """One command's parsed JSON output and its cost."""

    document: dict[str, Any]
    cpu: float
    wall: float


def run(argv: list[str]) -> Timed:
    """Run the ``advisor`` command, check its exit status and parse its JSON output."""
    out = io.StringIO()
    gc.collect()  # the garbage of the commands before is not this one's cost
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(out):
        status = advisor(argv)
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    if status != 0:
        raise RuntimeError(f"advisor {' '.join(argv)} exited {status}")
    return Timed(json.loads(out.getvalue()), cpu, wall)


def schedule_text(architecture: dict[str, Any]) -> str:
    """``2x2, 2x2, global 7x7``, with the padded grid when the pick pads."""
    pools = ["x".join(map(str, layer["pool"])) for layer in architecture["layers"]]
    text = ", ".join([*pools[:-1], f"global {pools[-1]}"])
    padding = architecture.get("padding")
    if padding:
        shape = architecture["input"]["shape"]
        grown = [n + before + after for n, (before, after) in zip(shape, padding, strict=True)]
        text += f"; padded to {'x'.join(map(str, grown))}"
    return text


def figures(analysis: list[dict[str, Any]]) -> list[tuple[str, float, str]]:
    """The figures an analysis must confirm: name, log2 rank, certificate."""
    return [(c["name"], c["log2_separation_rank"], c["certificate"]) for c in analysis]


def main() -> None:
    """Run every case, print the table and record it."""
    parser = command_parser(description=__doc__)
    add_write_option(parser, "PERFORMANCE.md")
    arguments = parser.parse_args()
    limits = RequestLimits(max_locations=MAX_LOCATIONS)
    load = os.getloadavg()[0]
    rows = []
    # The calls' work on the server's threads: the process's CPU time then counts it (a worker
    # process's would not be).
    config = ServerConfig(limits=limits, executor="threads")
    with start_server(config) as server, tempfile.TemporaryDirectory() as tmp:
        for label, shape, preset in CASES:
            task = Path(tmp) / "task.json"
            task.write_text(json.dumps({"input": {"shape": shape}, "preset": preset}))
            common = ["--target", server.address, "--format", "json"]
            found = run(
                [
                    "recommend",
                    str(task),
                    "--budget",
                    str(BUDGET),
                    "--top",
                    "1",
                    "--time-limit",
                    str(TIME_LIMIT),
                    *common,
                ]
            )
            best = found.document["recommendations"][0]
            architecture = Path(tmp) / "pick.json"
            architecture.write_text(json.dumps(best["architecture"]))
            checked = run(["analyze", str(task), "--arch", str(architecture), *common])
            confirmed = figures(checked.document["correlations"]) == figures(best["analysis"])
            depth = len(best["architecture"]["layers"])
            ok = found.document["complete"] and depth > 1 and confirmed
            rows.append(
                f"| {label} | {preset} | {found.cpu:.2f} | {found.wall:.2f} "
                f"| {best['architecture']['family']} | {depth} "
                f"| {schedule_text(best['architecture'])} | {best['parameters']:,} "
                f"| {checked.cpu:.3f} | {checked.wall:.3f} "
                f"| {'yes' if confirmed else 'NO'} | {'met' if ok else 'NOT met'} |"
            )
            print(rows[-1], flush=True)
    table = (
        "## Any size and 3-D grids from the command line\n\n"
        "`python -m bench.bench_sizes` — `advisor recommend TASK --budget "
        f"{BUDGET:_} --top 1 --time-limit {TIME_LIMIT} --format json`, then `advisor analyze "
        "TASK --arch PICK`, against an in-process server that admits the library's largest grid "
        f"({MAX_LOCATIONS:,} locations). Done when the search completes, the pick is deeper than "
        "the shallow net (depth 1) and the analysis confirms every figure and certificate it "
        "reported. CPU seconds are the process's (client and server); wall seconds beside them "
        f"(load average {load:.1f} on {os.cpu_count()} cores when the run started).\n\n"
        "| input | preset | recommend CPU s | recommend wall s | pick | depth | schedule "
        "| parameters | analyze CPU s | analyze wall s | confirmed | done |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    publish(arguments, "sizes", table)


if __name__ == "__main__":
    main()
