"""Fuzz a live advisor server with generated requests and print a status histogram.

Starts the service in this process on 127.0.0.1 (port 0, real gRPC over loopback), sends
``--cases`` requests drawn from ``tests.support.strategies.rpc_cases`` (valid, boundary and
arbitrary messages, corrupted and random bytes, for every RPC) and checks each outcome with
``tests.support.raw_calls.problems``: only OK, INVALID_ARGUMENT (with field violations),
RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED are acceptable, no message may leak internals, and health
must stay SERVING (checked every ``--health-every`` cases and at the end). Every answer is also
held to the amplification bound of docs/RELIABILITY.md, response bytes <= 50 x request bytes +
1 MB; the worst ratio is printed. Exits 1 on any problem, printing the offending requests as hex
so each can become a regression test.

    python -m bench.fuzz --cases 10000 --seed 0 --write-docs
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
from hypothesis import HealthCheck, Phase, given, seed, settings

from advisor.service.server import ServerConfig, start_server
from bench.report import add_write_option, command_parser, positive_int, update_section
from tests.support.raw_calls import Outcome, call_raw, health_status, problems
from tests.support.strategies import CASE_KINDS, RpcCase, rpc_cases

__all__ = ["AMPLIFICATION_FACTOR", "AMPLIFICATION_SLACK_BYTES", "FuzzReport", "fuzz", "main"]

AMPLIFICATION_FACTOR = 50
"""An answer may be at most this many times its request's size, plus the slack below."""
AMPLIFICATION_SLACK_BYTES = 1_000_000


@dataclass
class FuzzReport:
    """What a fuzz run saw: status counts per (method, kind), failures, health checks."""

    statuses: collections.Counter[tuple[str, str, str]] = field(default_factory=collections.Counter)
    failures: list[tuple[RpcCase, Outcome, list[str]]] = field(default_factory=list)
    health_checks: int = 0
    unhealthy: list[str] = field(default_factory=list)
    seconds: float = 0.0
    largest_response: int = 0
    # Per method: the worst response/request size ratio, with its request and response bytes.
    worst_ratios: dict[str, tuple[float, int, int]] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        """Number of requests sent."""
        return sum(self.statuses.values())

    def record(self, case: RpcCase, outcome: Outcome) -> None:
        """Count ``outcome`` and keep it if it has problems (callers hold the report's lock)."""
        self.statuses[case.method, case.kind, outcome.code.name] += 1
        found = problems(outcome)
        request_bytes = len(case.payload)
        response_bytes = sum(len(response) for response in outcome.responses)
        # An empty request (ListPresets) has no ratio; the slack bounds its answer.
        ratio = response_bytes / request_bytes if request_bytes else 0.0
        self.largest_response = max(self.largest_response, response_bytes)
        if ratio >= self.worst_ratios.get(case.method, (0.0, 0, 0))[0]:
            self.worst_ratios[case.method] = (ratio, request_bytes, response_bytes)
        if response_bytes > AMPLIFICATION_FACTOR * request_bytes + AMPLIFICATION_SLACK_BYTES:
            found.append(f"answer of {response_bytes} bytes to {request_bytes} request bytes")
        if found:
            self.failures.append((case, outcome, found))


def fuzz(
    channel: grpc.Channel,
    cases: int,
    run_seed: int,
    timeout: float,
    health_every: int,
    concurrency: int = 1,
) -> FuzzReport:
    """Send ``cases`` generated requests over ``channel`` and collect a :class:`FuzzReport`.

    Up to ``concurrency`` requests are in flight at once (more than the server's workers makes
    it refuse some with RESOURCE_EXHAUSTED, which the run then covers too).
    """
    report = FuzzReport()
    lock = threading.Lock()
    slots = threading.BoundedSemaphore(concurrency)
    started = time.perf_counter()

    def check_health() -> None:
        status = health_status(channel)
        with lock:
            report.health_checks += 1
            if status != "SERVING":
                report.unhealthy.append(f"after {report.cases} cases: {status}")

    def call(case: RpcCase) -> None:
        try:
            outcome = call_raw(channel, case.method, case.payload, timeout)
            with lock:
                report.record(case, outcome)
                due = report.cases % health_every == 0
            if due:
                check_health()
        finally:
            slots.release()

    @seed(run_seed)
    @settings(
        max_examples=cases,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(rpc_cases())
    def send(case: RpcCase) -> None:
        slots.acquire()
        pool.submit(call, case)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        send()
    check_health()
    report.seconds = time.perf_counter() - started
    return report


def histogram_markdown(report: FuzzReport) -> str:
    """The status histogram as a markdown table, one row per method and kind of case."""
    codes = sorted({code for _, _, code in report.statuses})
    rows = sorted({(method, kind) for method, kind, _ in report.statuses})
    lines = [
        "| method | kind of case | " + " | ".join(codes) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in codes) + " |",
    ]
    for method, kind in rows:
        counts = [str(report.statuses.get((method, kind, code), 0)) for code in codes]
        lines.append(f"| {method} | {kind} | " + " | ".join(counts) + " |")
    totals = collections.Counter[str]()
    for (_, _, code), count in report.statuses.items():
        totals[code] += count
    lines.append("| **all** | | " + " | ".join(f"**{totals[code]}**" for code in codes) + " |")
    return "\n".join(lines)


def summary_markdown(report: FuzzReport, command: str) -> str:
    """The section of docs/RELIABILITY.md this bench owns."""
    return "\n".join(
        [
            f"`{command}`",
            "",
            f"{report.cases} cases in {report.seconds:.1f} s; {len(report.failures)} with problems "
            f"(a status outside OK / INVALID_ARGUMENT / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED, "
            f"a leaking message, or an undecodable answer); health checked {report.health_checks} "
            f"times, {'always SERVING' if not report.unhealthy else 'NOT always SERVING'}. "
            f"{_amplification(report)}",
            "",
            histogram_markdown(report),
        ]
    )


def _amplification(report: FuzzReport) -> str:
    worst = ", ".join(
        f"{method} {ratio:.1f} ({response:,} bytes for {request:,})"
        for method, (ratio, request, response) in sorted(report.worst_ratios.items())
    )
    return (
        f"Worst response/request size ratio per method: {worst}; largest answer "
        f"{report.largest_response:,} bytes; bound {AMPLIFICATION_FACTOR}x + "
        f"{AMPLIFICATION_SLACK_BYTES:,} bytes."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fuzzer; the exit code is 0 only if every case and health check passed."""
    parser = command_parser(description="Fuzz a live advisor server.")
    parser.add_argument("--cases", type=positive_int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=5.0, help="per-call deadline (s)")
    parser.add_argument("--workers", type=positive_int, default=2, help="server worker slots")
    parser.add_argument(
        "--concurrency", type=positive_int, default=1, help="requests in flight at once"
    )
    parser.add_argument("--health-every", type=int, default=250)
    add_write_option(parser, "RELIABILITY.md")
    args = parser.parse_args(argv)

    with (
        start_server(ServerConfig(workers=args.workers)) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        report = fuzz(
            channel, args.cases, args.seed, args.timeout, args.health_every, args.concurrency
        )

    print(histogram_markdown(report))
    print(f"\n{report.cases} cases, {report.seconds:.1f} s, kinds {', '.join(CASE_KINDS)}")
    print(_amplification(report))
    kinds = collections.Counter(problem for _, _, found in report.failures for problem in found)
    for problem, count in kinds.most_common():
        print(f"{count:6d} x {problem}")
    for case, outcome, found in report.failures[:20]:
        print(f"PROBLEM {case.method}/{case.kind} {found}: {outcome.details!r}")
        print(f"  payload {case.payload.hex()}")
    for line in report.unhealthy:
        print(f"UNHEALTHY {line}")
    if args.write_docs:
        command = (
            f"python -m bench.fuzz --cases {args.cases} --seed {args.seed} "
            f"--timeout {args.timeout} --workers {args.workers} --concurrency {args.concurrency}"
        )
        section = "fuzz" if args.concurrency == 1 else "fuzz-concurrent"
        update_section(args.docs_file, section, summary_markdown(report, command))
    return 1 if report.failures or report.unhealthy else 0


if __name__ == "__main__":
    sys.exit(main())
