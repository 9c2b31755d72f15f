"""Stress the stop paths: run the drain, SIGTERM and deadline tests again and again under CPU load.

The tests that stop work in flight — a deadline cutting a search, the shutdown drain, SIGTERM on
``server.py``, cancellation — must pass on a loaded machine, not only on a quiet one. This script
starts ``--burners`` processes that each keep one CPU busy (bounded: each exits on its own after
``--max-seconds``, and all are killed when the script ends), runs the tests ``--runs`` times in a
row beside them, each run a fresh ``pytest`` process, and prints every run's outcome, the failure
count per test and the run times.

    python -m bench.stress_stop --runs 20
"""

from __future__ import annotations

import collections
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.report import command_parser, positive_int

__all__ = ["STOP_TESTS", "main"]

ROOT = Path(__file__).resolve().parent.parent

STOP_TESTS = (
    "tests/service/test_server.py::test_stop_drains_in_flight_calls_and_refuses_new_ones",
    "tests/service/test_server.py::test_a_cancelled_search_frees_its_slot_promptly",
    "tests/service/test_server.py::test_a_cancelled_stream_stops_its_search",
    "tests/service/test_contract.py::test_a_deadline_ends_a_long_search_in_time_with_its_best_so_far",
    "tests/service/test_contract.py::test_a_time_limit_cuts_the_search_and_keeps_the_best_so_far",
    "tests/test_sigterm.py::test_sigterm_finishes_the_running_search_then_exits_zero",
    "tests/service/test_processes.py::test_a_worker_killed_mid_call_ends_only_that_call_and_is_replaced",
    "tests/reliability/test_faults.py",
    "tests/test_search.py::test_the_time_limit_is_a_deadline_on_the_stop_signals_clock",
    "tests/test_search.py::test_a_search_returns_before_its_deadline_with_as_many_recommendations_as_fit",
)
"""The pytest node ids of the drain, SIGTERM, deadline and cancellation tests (and a worker
process killed mid-call)."""

_BURN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"
_FAILED = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - (.*))?$", re.MULTILINE)
_COUNTS = re.compile(r"(\d+) (passed|failed|error)")


@dataclass(frozen=True)
class RunOutcome:
    """One pytest run: exit status, failed tests (node id, reason), counts and duration."""

    status: int
    failed: list[tuple[str, str]]
    counts: dict[str, int]
    seconds: float


@contextmanager
def cpu_burners(count: int, max_seconds: float) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Keep ``count`` CPUs busy for the duration of the block.

    Each process lives at most ``max_seconds``, so none outlives a crashed script for long.
    """
    burners = [
        subprocess.Popen([sys.executable, "-c", _BURN.format(seconds=max_seconds)])
        for _ in range(count)
    ]
    try:
        yield burners
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait()


def run_tests(node_ids: Sequence[str], timeout: float) -> RunOutcome:
    """Run ``node_ids`` in a fresh pytest process from the repository root.

    A run still going after ``timeout`` seconds is killed and counts as failed, naming the test
    that was running.
    """
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-rfE"]
    # A test stuck for half the run's time gets every thread's traceback in the output.
    command += ["-o", f"faulthandler_timeout={timeout / 2:g}", *node_ids]
    started = time.monotonic()
    # A wide terminal, so pytest's summary lines keep the failed assertion.
    environment = {**os.environ, "PYTHONPATH": ".", "COLUMNS": "250"}
    try:
        finished = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, env=environment, timeout=timeout
        )
    except subprocess.TimeoutExpired as expired:
        captured = expired.stdout or b""  # bytes here even with text=True
        partial = captured.decode() if isinstance(captured, bytes) else captured
        running = partial.strip().splitlines()[-1:] or ["(no output)"]
        reason = f"killed after {timeout:g} s; last line: {running[0]}"
        return RunOutcome(-1, [("(timeout)", reason)], {}, time.monotonic() - started)
    seconds = time.monotonic() - started
    output = finished.stdout + finished.stderr
    summary = output.strip().splitlines()[-1:] or [""]
    counts = {kind: int(number) for number, kind in _COUNTS.findall(summary[0])}
    return RunOutcome(finished.returncode, _FAILED.findall(output), counts, seconds)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stop tests ``--runs`` times under load; exit 0 only if every run passed."""
    parser = command_parser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=positive_int, default=20, help="pytest runs in a row (default 20)"
    )
    parser.add_argument("--burners", type=int, default=2, help="CPU-burning processes (default 2)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=3600.0,
        help="longest a burner may live, should this script die (default 3600)",
    )
    parser.add_argument(
        "--run-timeout", type=float, default=600.0, help="longest one pytest run may take (s)"
    )
    parser.add_argument("tests", nargs="*", default=list(STOP_TESTS), help="pytest node ids")
    args = parser.parse_args(argv)
    # Killed with SIGTERM, leave through the ``finally`` blocks that stop the burners.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    failures: collections.Counter[str] = collections.Counter()
    outcomes = []
    print(f"{len(args.tests)} node ids, {args.runs} runs, {args.burners} CPU burners", flush=True)
    with cpu_burners(args.burners, args.max_seconds):
        for run in range(1, args.runs + 1):
            outcome = run_tests(args.tests, args.run_timeout)
            outcomes.append(outcome)
            failures.update(node_id for node_id, _ in outcome.failed)
            counts = ", ".join(f"{number} {kind}" for kind, number in outcome.counts.items())
            verdict = "pass" if outcome.status == 0 else "FAIL"
            print(f"run {run:2d}: {counts} in {outcome.seconds:.1f} s: {verdict}", flush=True)
            for node_id, reason in outcome.failed:
                print(f"    {node_id}: {reason}", flush=True)
    passed = sum(outcome.status == 0 for outcome in outcomes)
    times = [outcome.seconds for outcome in outcomes]
    print(f"\n{passed}/{len(outcomes)} runs passed under {args.burners} CPU burners")
    print(
        f"run time: min {min(times):.1f} s, median {statistics.median(times):.1f} s, "
        f"max {max(times):.1f} s"
    )
    for node_id, count in failures.most_common():
        print(f"  failed {count}x: {node_id}")
    return 0 if passed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
