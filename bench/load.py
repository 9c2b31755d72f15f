"""Bounded load test: 1, 16 and 64 concurrent clients against a ``server.py`` child process.

Each phase serves a fixed number of requests (a mix of Analyze and Recommend) from ``clients``
threads, each with its own channel, and stops taking new ones after ``--max-seconds``; everything
runs over loopback. The server has ``--workers`` advisor slots, so beyond that many calls in
flight it must answer RESOURCE_EXHAUSTED at once rather than queue; clients then retry with
exponential backoff, as docs/SERVICE.md advises. A last single-client phase shows the server
recovering once the load drops. Health is polled throughout.

Reported per phase: requests served and OK throughput, p50/p99 end-to-end latency (retries
included), every call's status, and how fast refusals come. Exits 1 if any call ends in a status
other than OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED, if the recovery phase
is not all OK at the first attempt, or if health ever reads anything but SERVING.

    python -m bench.load --requests 400 --max-seconds 60 --write-docs
"""

from __future__ import annotations

import collections
import itertools
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc

from bench.memory import RssWatch
from bench.poller import Poller
from bench.report import (
    add_write_option,
    command_parser,
    milliseconds,
    positive_int,
    update_section,
)
from bench.requests import ANALYZE_REQUEST, RECOMMEND_REQUEST
from tests.support.raw_calls import Outcome, call_raw, problems
from tests.support.server_process import ServerProcess

__all__ = [
    "LoadPhase",
    "main",
    "request_mix",
    "run_phase",
    "warm_up",
]

_WORK_IN = {"processes": "worker processes", "threads": "threads of the server process"}
"""What each ``--executor`` means, for the report."""

# Generous: a refused call returns in milliseconds, a search in at most its time limit.
_CALL_TIMEOUT_SECONDS = 10.0
_FIRST_BACKOFF_SECONDS = 0.01
_LAST_BACKOFF_SECONDS = 0.16


def request_mix(recommend_every: int) -> list[tuple[str, bytes]]:
    """One cycle of the mix: a Recommend, then ``recommend_every - 1`` Analyze requests."""
    analyze = ("Analyze", ANALYZE_REQUEST.SerializeToString())
    return [("Recommend", RECOMMEND_REQUEST.SerializeToString())] + [analyze] * (
        recommend_every - 1
    )


@dataclass
class LoadPhase:
    """One phase: ``clients`` threads serving ``requests`` requests between them.

    ``attempts`` holds every call made (refusals included); ``served`` the end-to-end time of
    each request from its first attempt to its final answer, by final status.
    """

    name: str
    clients: int
    requests: int
    seconds: float = 0.0
    attempts: list[Outcome] = field(default_factory=list)
    served: list[tuple[str, float]] = field(default_factory=list)

    def statuses(self) -> collections.Counter[str]:
        """How many calls (attempts) ended in each status."""
        return collections.Counter(outcome.code.name for outcome in self.attempts)

    def refusal_latencies(self) -> list[float]:
        """Durations (s) of the calls refused with RESOURCE_EXHAUSTED."""
        refused = grpc.StatusCode.RESOURCE_EXHAUSTED
        return [o.seconds for o in self.attempts if o.code == refused]

    def served_latencies(self) -> list[float]:
        """End-to-end durations (s), retries included, of the requests answered OK."""
        return [seconds for status, seconds in self.served if status == "OK"]


def run_phase(
    name: str,
    address: str,
    clients: int,
    requests: int,
    max_seconds: float,
    mix: Sequence[tuple[str, bytes]],
) -> LoadPhase:
    """Serve ``requests`` requests from ``clients`` threads; request ``i`` is ``mix[i % n]``.

    A client whose call is refused with RESOURCE_EXHAUSTED retries it after an exponential
    backoff (10 ms doubling to 160 ms, as docs/SERVICE.md advises); every other answer is final.
    Stops taking new requests once ``max_seconds`` have passed.
    """
    phase = LoadPhase(name, clients, requests)
    counter = itertools.count()
    lock = threading.Lock()
    started = time.perf_counter()
    stop_at = started + max_seconds

    def client() -> None:
        with grpc.insecure_channel(address) as channel:
            while time.perf_counter() < stop_at:
                index = next(counter)
                if index >= requests:
                    return
                method, payload = mix[index % len(mix)]
                first_attempt = time.perf_counter()
                backoff = _FIRST_BACKOFF_SECONDS
                while True:
                    outcome = call_raw(channel, method, payload, _CALL_TIMEOUT_SECONDS)
                    with lock:
                        phase.attempts.append(outcome)
                    if outcome.code != grpc.StatusCode.RESOURCE_EXHAUSTED:
                        break
                    time.sleep(backoff)
                    backoff = min(2 * backoff, _LAST_BACKOFF_SECONDS)
                with lock:
                    phase.served.append((outcome.code.name, time.perf_counter() - first_attempt))

    threads = [threading.Thread(target=client, name=f"load-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - started
    return phase


def warm_up(address: str, metadata: tuple[tuple[str, str], ...] = ()) -> None:
    """Make one call of each kind, so the server has loaded what its calls import.

    A memory baseline read before the first search would count the search's modules as growth.
    """
    with grpc.insecure_channel(address) as channel:
        for method, payload in request_mix(2):
            call_raw(channel, method, payload, _CALL_TIMEOUT_SECONDS, metadata)


def phases_markdown(phases: Sequence[LoadPhase]) -> str:
    """One table row per phase: throughput, latencies and the count of every call status."""
    codes = sorted({code for phase in phases for code in phase.statuses()})
    header = [
        "phase",
        "clients",
        "requests served",
        "seconds",
        "served OK/s",
        "p50 ms",
        "p99 ms",
        "calls",
        *(f"calls {code}" for code in codes),
        "refusal p50 ms",
        "refusal p99 ms",
        "requests not OK",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for phase in phases:
        statuses = phase.statuses()
        ok = phase.served_latencies()
        refused = phase.refusal_latencies()
        row = [
            phase.name,
            str(phase.clients),
            str(len(phase.served)),
            f"{phase.seconds:.1f}",
            f"{len(ok) / phase.seconds:.1f}",
            milliseconds(ok, 0.5),
            milliseconds(ok, 0.99),
            str(len(phase.attempts)),
            *(str(statuses.get(code, 0)) for code in codes),
            milliseconds(refused, 0.5),
            milliseconds(refused, 0.99),
            f"{len(phase.served) - len(ok)}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the phases and the recovery phase; exit 0 only if the server held up."""
    parser = command_parser(description="Bounded loopback load test of the advisor.")
    parser.add_argument("--clients", default="1,16,64", help="concurrency of each phase")
    parser.add_argument("--requests", type=positive_int, default=400, help="calls per phase")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cap per phase")
    parser.add_argument("--workers", type=positive_int, default=2, help="server advisor slots")
    parser.add_argument(
        "--executor", choices=("processes", "threads"), default="processes", help="server's"
    )
    parser.add_argument("--worker-niceness", type=int, default=10, help="server's (processes)")
    parser.add_argument(
        "--recommend-every", type=positive_int, default=4, help="1 Recommend per N calls"
    )
    parser.add_argument("--recovery-requests", type=positive_int, default=40)
    parser.add_argument("--health-every", type=float, default=0.1, help="health poll interval")
    parser.add_argument("--section", default="load", help="docs/RELIABILITY.md section")
    add_write_option(parser, "RELIABILITY.md")
    args = parser.parse_args(argv)

    mix = request_mix(args.recommend_every)
    phases: list[LoadPhase] = []
    # Threads start no worker process to lower: the server refuses --worker-niceness with them.
    niceness = ["--worker-niceness", str(args.worker_niceness)]
    niceness = niceness if args.executor == "processes" else []
    options = ["--workers", str(args.workers), "--executor", args.executor, *niceness]
    with ServerProcess(*options) as server:
        warm_up(server.address)
        with (
            RssWatch(server) as memory,
            Poller(server.address, "health", args.health_every) as health,
        ):
            for clients in (int(c) for c in args.clients.split(",")):
                phase = run_phase(
                    f"load x{clients}",
                    server.address,
                    clients,
                    args.requests,
                    args.max_seconds,
                    mix,
                )
                phases.append(phase)
                print(phases_markdown(phases[-1:]).splitlines()[-1], flush=True)
        memory.settle()
        recovery = run_phase(
            "recovery", server.address, 1, args.recovery_requests, args.max_seconds, mix
        )
        phases.append(recovery)

    table = phases_markdown(phases)
    bad = [p for phase in phases for o in phase.attempts for p in problems(o)]
    recovered = recovery.statuses() == collections.Counter({"OK": len(recovery.attempts)})
    healthy = set(health.readings) == {"SERVING"}
    verdict = (
        f"Server with {args.workers} advisor slots, the work in {_WORK_IN[args.executor]}. "
        f"Calls with a non-deliberate status or a leaking message: {len(bad)}. "
        f"Recovery phase all OK: {'yes' if recovered else 'NO'}. "
        f"Health polled {sum(health.readings.values())} times every {args.health_every:g} s "
        f"during the load: {dict(health.readings)}, latency p50 "
        f"{milliseconds(health.latencies, 0.5)} ms, p99 {milliseconds(health.latencies, 0.99)} "
        f"ms, slowest {health.slowest_seconds * 1000:.0f} ms. {memory.summary()}"
    )
    print(table)
    print(verdict)
    if args.write_docs:
        command = (
            f"python -m bench.load --clients {args.clients} --requests {args.requests} "
            f"--max-seconds {args.max_seconds} --workers {args.workers} "
            f"--executor {args.executor} {' '.join([*niceness, ''])}"
            f"--recommend-every {args.recommend_every} "
            f"--recovery-requests {args.recovery_requests} --health-every {args.health_every} "
            f"--section {args.section}"
        )
        update_section(args.docs_file, args.section, f"`{command}`\n\n{table}\n\n{verdict}")
    return 0 if not bad and recovered and healthy and memory.recovered else 1


if __name__ == "__main__":
    sys.exit(main())
