"""Fault injection: deadlines, cancellation, disconnects mid-stream, SIGTERM under load, and
worker processes killed mid-call.

Runs the probes of :mod:`tests.support.faults` (the ones ``tests/reliability/test_faults.py``
asserts on) several times each and prints the worst figures, then kills the worker process of a
one-slot server in the middle of a search, ``--trials`` times (``tests/service/test_processes.py``
asserts on what happens; this measures how fast); ``--write-docs`` records them in
docs/RELIABILITY.md.

    python -m bench.faults --trials 5 --write-docs
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc

from advisor.service.server import ServerConfig, start_server
from bench.report import add_write_option, command_parser, positive_int, update_section
from tests.support.faults import (
    LONG_CALLS,
    cancellation_release,
    deadline_release,
    disconnect_leaks,
    sigterm_under_load,
)
from tests.support.processes import cpu_ticks
from tests.support.raw_calls import call_raw, health_status

__all__ = ["main"]

_DRAIN_SEARCH_SECONDS = 1.5
_DRAIN_GRACE_SECONDS = 5.0


def _table(rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _worker_deaths(trials: int) -> tuple[list[str], list[float], list[float], set[str]]:
    """Kill the worker of a one-slot server mid-search ``trials`` times.

    Returns the killed calls' statuses, the seconds from each kill to that call's answer and to
    the next call served (by the replacement worker), and the health readings taken right after
    each kill.
    """
    statuses: list[str] = []
    answered: list[float] = []
    replaced: list[float] = []
    health: set[str] = set()
    with (
        start_server(ServerConfig(workers=1)) as server,
        grpc.insecure_channel(server.address) as channel,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        for _ in range(trials):
            (worker,) = server.worker_pids
            idle = cpu_ticks(worker)
            search = pool.submit(call_raw, channel, *LONG_CALLS["Recommend"], 60.0)
            # Killed once it works on the search (a job it never read goes to another worker).
            while cpu_ticks(worker) < idle + 5:
                time.sleep(0.001)
            killed = time.monotonic()
            os.kill(worker, signal.SIGKILL)
            health.add(health_status(channel))
            statuses.append(search.result().code.name)
            answered.append(time.monotonic() - killed)
            call_raw(channel, "ListPresets", b"", 60.0)
            replaced.append(time.monotonic() - killed)
    return statuses, answered, replaced, health


def main(argv: Sequence[str] | None = None) -> int:
    """Run every probe and print (optionally publish) the figures; exit 1 if one fails."""
    parser = command_parser(description="Fault injection against the advisor service.")
    parser.add_argument("--trials", type=positive_int, default=5, help="repetitions per probe")
    parser.add_argument("--deadline", type=float, default=0.5, help="deadline of the probes (s)")
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--disconnects", type=int, default=6)
    add_write_option(parser, "RELIABILITY.md")
    args = parser.parse_args(argv)

    rows = [
        [
            "call",
            "deadline: statuses",
            "slot freed after deadline, max ms",
            "cancel: slot freed after, max ms",
        ]
    ]
    ok = True
    config = ServerConfig(workers=args.workers)
    with start_server(config) as server, grpc.insecure_channel(server.address) as channel:
        for name, call in LONG_CALLS.items():
            statuses, late = set(), []
            for _ in range(args.trials):
                outcome, seconds = deadline_release(channel, server, call, args.deadline)
                statuses.add(outcome.code.name)
                late.append(seconds)
            cancels = [cancellation_release(channel, server, call) for _ in range(args.trials)]
            ok &= max(late) <= 0.1 and max(cancels) <= 0.25
            rows.append(
                [
                    name,
                    ", ".join(sorted(statuses)),
                    f"{max(late) * 1000:.0f}",
                    f"{max(cancels) * 1000:.0f}",
                ]
            )
            print(rows[-1], flush=True)
        slowest, admitted = disconnect_leaks(server, args.workers, args.disconnects)
    ok &= admitted == ["OK"] * args.workers
    disconnect = (
        f"{args.disconnects} streaming clients killed (SIGKILL) mid-stream: the slot was free "
        f"again at most {slowest * 1000:.0f} ms after each kill; then {args.workers} simultaneous "
        f"searches on the {args.workers}-slot server: {', '.join(admitted)}."
    )
    sigterm = sigterm_under_load(args.workers, _DRAIN_GRACE_SECONDS, _DRAIN_SEARCH_SECONDS)
    ok &= (
        sigterm.in_flight_statuses == ["OK"] * args.workers
        and min(sigterm.in_flight_recommendations) > 0
        and sigterm.exit_seconds < _DRAIN_GRACE_SECONDS
        and sigterm.health_after_signal == "NOT_SERVING"
        and sigterm.new_call_status == "UNAVAILABLE"
        and sigterm.exit_status == 0
    )
    drain = (
        f"SIGTERM to `server.py --workers {args.workers} --grace {_DRAIN_GRACE_SECONDS:g}` with "
        f"{args.workers} searches ({_DRAIN_SEARCH_SECONDS:g} s time limit) in flight and 4 "
        f"clients calling ListPresets in a loop: health read {sigterm.health_after_signal} "
        f"{sigterm.not_serving_after_seconds * 1000:.0f} ms after the signal; a new call got "
        f"{sigterm.new_call_status}; the searches ended {', '.join(sigterm.in_flight_statuses)} "
        f"with {sigterm.in_flight_recommendations} recommendations; the looping clients saw "
        f"{sigterm.background_statuses}; the process exited with status {sigterm.exit_status} "
        f"{sigterm.exit_seconds:.1f} s after the signal."
    )
    endings, answered, replaced, health = _worker_deaths(args.trials)
    ok &= set(endings) == {"INTERNAL"} and health == {"SERVING"}
    deaths = (
        f"The worker process of a one-slot server SIGKILLed in the middle of a search, "
        f"{args.trials} times: the search's call ended {', '.join(sorted(set(endings)))} "
        f"{max(answered) * 1000:.0f} ms after the kill at most; health read "
        f"{', '.join(sorted(health))} right after each kill; the next call was served by the "
        f"replacement worker {min(replaced):.1f}-{max(replaced):.1f} s after the kill."
    )
    report = "\n\n".join([_table(rows), disconnect, drain, deaths])
    print(report)
    if args.write_docs:
        command = (
            f"python -m bench.faults --trials {args.trials} --deadline {args.deadline} "
            f"--workers {args.workers} --disconnects {args.disconnects}"
        )
        update_section(args.docs_file, "faults", f"`{command}`\n\n{report}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
