"""Benchmark the search: seconds per recommendation and architectures scored per second.

Run ``python -m bench.bench_search``; it prints a table (``--write-docs`` also writes it to the
"search" section of docs/PERFORMANCE.md). Each case is a task with the stated number of correlations
(a fixed mix of halves, quadrants, parities, a diagonal, near and far blocks), a budget of 100,000
parameters and the default search options without a time limit, so it runs to completion; the time
is the best of a few runs. The last case is the worst one for the search: random masks share no
subtrees. The longest gap between two polls of the stop signal bounds how late a search stops.
"""

from __future__ import annotations

import functools
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from advisor.model.budget import Budget
from advisor.model.results import SearchResult
from advisor.model.task import Task, parse_task
from advisor.search.recommend import recommend
from advisor.stopping import StopSignal
from bench.report import add_write_option, command_parser, positive_int, publish

COMMAND = "python -m bench.bench_search"
BUDGET = 100_000


def _box(start: list[int], stop: list[int]) -> dict[str, Any]:
    return {"box": {"start": start, "stop": stop}}


def _preset(name: str) -> dict[str, Any]:
    return {"preset": name}


def image_correlations(h: int, w: int) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """Sixteen region pairs on an ``h x w`` image, most common first."""
    upper = ["".join("#" if j > i * w // h else "." for j in range(w)) for i in range(h)]
    lower = ["".join("#" if j < i * w // h else "." for j in range(w)) for i in range(h)]
    h8, w8 = h // 8, w // 8
    return [
        ("left-right", _preset("left_half"), _preset("right_half")),
        ("top-bottom", _preset("top_half"), _preset("bottom_half")),
        ("center-border", _preset("center"), _preset("border")),
        ("diagonal", {"mask": upper}, {"mask": lower}),
        ("tl-br", _preset("top_left"), _preset("bottom_right")),
        ("tr-bl", _preset("top_right"), _preset("bottom_left")),
        ("even-odd", _preset("even"), _preset("odd")),
        ("checkerboard", _preset("checkerboard"), None),
        ("blocks-near", _box([0, 0], [h8, w8]), _box([0, w8], [h8, 2 * w8])),
        ("blocks-far", _box([0, 0], [h8, w8]), _box([h - h8, w - w8], [h, w])),
        ("row-bands", _box([0, 0], [h // 4, w]), _box([h // 4, 0], [h // 2, w])),
        ("column-bands", _box([0, 0], [h, w8]), _box([0, w // 2], [h, w // 2 + w8])),
        ("center-corner", _preset("center"), _box([0, 0], [h8, w8])),
        ("tl-tr", _preset("top_left"), _preset("top_right")),
        ("bl-br", _preset("bottom_left"), _preset("bottom_right")),
        ("outer-strips", _box([0, 0], [h, w8]), _box([0, w - w8], [h, w])),
    ]


def sequence_correlations(n: int) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """Eight region pairs on a sequence of length ``n``."""
    n2, n8, n16 = n // 2, n // 8, n // 16
    return [
        ("halves", _box([0], [n2]), _box([n2], [n])),
        ("period", _box([0], [n8]), _box([n2], [n2 + n8])),
        ("start-end", _box([0], [n16]), _box([n - n16], [n])),
        ("even-odd", _preset("even"), _preset("odd")),
        ("center", _box([3 * n8], [5 * n8]), None),
        ("adjacent", _box([0], [n8]), _box([n8], [2 * n8])),
        ("quarters", _box([n // 4], [n2]), _box([3 * n // 4], [n])),
        ("far-pair", _box([0], [16]), _box([n2], [n2 + 16])),
    ]


def random_mask_correlations(
    h: int, w: int, count: int
) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """``count`` pairs of random masks (30% of the pixels, then half of the rest), seeded."""
    rng = np.random.default_rng(0)
    pairs: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    for index in range(count):
        a = rng.random((h, w)) < 0.3
        b = ~a & (rng.random((h, w)) < 0.5)
        pairs.append((f"masks-{index}", {"mask": _rows(a)}, {"mask": _rows(b)}))
    return pairs


def _rows(cells: npt.NDArray[np.bool_]) -> list[str]:
    return ["".join("#" if cell else "." for cell in row) for row in cells]


def task(shape: list[int], count: int, random_masks: bool = False) -> Task:
    """A task on ``shape`` with the first ``count`` correlations of the catalogue."""
    if random_masks:
        pairs = random_mask_correlations(shape[0], shape[1], count)
    elif len(shape) == 2:
        pairs = image_correlations(*shape)
    else:
        pairs = sequence_correlations(shape[0])
    correlations = []
    for name, a, b in pairs[:count]:
        correlation: dict[str, Any] = {"name": name, "a": a}
        if b is not None:
            correlation["b"] = b
        correlations.append(correlation)
    return parse_task({"input": {"shape": shape}, "correlations": correlations})


@dataclass(frozen=True)
class Case:
    shape: list[int]
    correlations: int
    target_seconds: float | None
    random_masks: bool = False


CASES = [
    Case([32, 32], 4, 0.5),
    Case([64, 64], 8, None),
    Case([256, 256], 16, 5.0),
    Case([16384], 8, None),
    Case([128, 128], 16, None, random_masks=True),
]


@dataclass
class Run:
    seconds: float
    longest_poll_gap: float
    result: SearchResult


class _WatchedSignal(StopSignal):
    """A stop signal that never stops and records when the search looks at it.

    Every poll of the search's signal reads whether its ancestors were cancelled.
    """

    def __init__(self) -> None:
        super().__init__()
        self.polls: list[float] = []

    @property
    def cancelled(self) -> bool:
        self.polls.append(time.perf_counter())
        return False


def timed(problem: Task, budget: Budget) -> Run:
    """One search, with the longest wait between polls of its stop signal."""
    signal = _WatchedSignal()
    started = time.perf_counter()
    result = recommend(problem, budget, stop=signal)
    finished = time.perf_counter()
    moments = np.array([started, *signal.polls, finished])
    return Run(finished - started, float(np.diff(moments).max()), result)


def best_of(run: Callable[[], Run], repeats: int) -> Run:
    return min((run() for _ in range(repeats)), key=lambda r: r.seconds)


def runs_kept(repeats: int) -> str:
    """How many runs each case's figures are the best of, as the table's description says it.

    ``--repeats 1`` read "best of 1 runs for the cases with a target".
    """
    if repeats == 1:
        return "one run per case"
    return f"best of {repeats} runs for the cases with a target, one run otherwise"


def main() -> None:
    parser = command_parser(description=__doc__)
    parser.add_argument(
        "--repeats", type=positive_int, default=3, help="runs per case (best is kept)"
    )
    add_write_option(parser, "PERFORMANCE.md")
    arguments = parser.parse_args()
    budget = Budget(max_parameters=BUDGET, time_limit_seconds=None)
    rows = [
        "| input | correlations | seconds | architectures scored | scored per second "
        "| longest poll gap (s) | top pick (family, schedule) | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in CASES:
        problem = task(case.shape, case.correlations, case.random_masks)
        repeats = arguments.repeats if case.target_seconds is not None else 1
        run = best_of(functools.partial(timed, problem, budget), repeats)
        seconds, result = run.seconds, run.result
        top = result.recommendations[0].architecture
        schedule = ", ".join("x".join(map(str, layer.pool)) for layer in top.layers)
        if case.target_seconds is None:
            verdict = "-"
        else:
            met = "met" if seconds <= case.target_seconds else "NOT met"
            verdict = f"<= {case.target_seconds:g} s: {met}"
        kind = " random masks" if case.random_masks else ""
        rows.append(
            f"| {'x'.join(map(str, case.shape))} | {case.correlations}{kind} | {seconds:.3f} "
            f"| {result.candidates_evaluated:,} | {result.candidates_evaluated / seconds:,.0f} "
            f"| {run.longest_poll_gap:.3f} | {top.family} ({schedule}) | {verdict} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    machine = (
        f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    )
    markdown = (
        "## Search (`advisor.search.recommend.recommend`)\n\n"
        f"Command: `{COMMAND}` ({machine}; budget {BUDGET:,} parameters, default options, no "
        f"time limit; {runs_kept(arguments.repeats)}). "
        '"Architectures scored" counts complete (tree, widths) points the search scored, '
        "exactly or by a bound that settled a whole branch (of a tree's width ladders the "
        "practical search computes only those no other fitting ladder dominates, which bound "
        "the rest). The longest poll gap is the longest "
        "wait between two polls of the stop signal, counted from the start of the call (so it "
        "includes setting up and the shallow baseline, which is always evaluated): how late a "
        "deadline or cancellation can be noticed. The random-mask case is the worst one for the "
        "search: such regions share no subtrees.\n\n"
        f"{table}\n"
    )
    publish(arguments, "search", markdown)


if __name__ == "__main__":
    main()
