"""Time parsing and resolving a large task: 256x256 input, 64 correlations of every region form.

Run ``python -m bench.bench_task``; it prints the figures (``--write-docs`` also writes them to
the "task" section of docs/PERFORMANCE.md).
"""

from __future__ import annotations

import time

from advisor.model.task import parse_task
from bench.report import add_write_option, command_parser, publish
from tests.support.workloads import large_task_document

TARGET_SECONDS = 0.05


def main() -> None:
    """Print the best-of-15 CPU and wall time and record them."""
    parser = command_parser(description=__doc__)
    add_write_option(parser, "PERFORMANCE.md")
    arguments = parser.parse_args()
    document = large_task_document()
    cpu, wall = [], []
    for _ in range(15):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        parse_task(document)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    met = "met" if min(cpu) <= TARGET_SECONDS else "NOT met"
    table = (
        "## Task parsing\n\n"
        "`python -m bench.bench_task` — 256x256 input, 64 correlations (boxes, full masks, "
        "4096-index lists, presets; `b` omitted), best of 15.\n\n"
        "| CPU seconds | wall seconds | target | |\n|---|---|---|---|\n"
        f"| {min(cpu):.4f} | {min(wall):.4f} | <= {TARGET_SECONDS} s CPU | {met} |\n"
    )
    publish(arguments, "task", table)


if __name__ == "__main__":
    main()
