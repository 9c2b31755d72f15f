"""Fault injection: deadlines, cancellation, disconnects mid-stream and SIGTERM under load.

Runs the probes of :mod:`tests.support.faults` (the ones ``tests/reliability/test_faults.py``
asserts on) several times each and prints the worst figures; ``--write-docs`` records them in
docs/RELIABILITY.md.

    python -m bench.faults --trials 5 --write-docs
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc

from advisor.service.server import ServerConfig, start_server
from bench.report import update_section
from tests.support.faults import (
    LONG_CALLS,
    cancellation_release,
    deadline_release,
    disconnect_leaks,
    sigterm_under_load,
)

__all__ = ["main"]

_DRAIN_SEARCH_SECONDS = 1.5
_DRAIN_GRACE_SECONDS = 5.0


def _table(rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every probe and print (optionally publish) the figures; exit 1 if one fails."""
    parser = argparse.ArgumentParser(description="Fault injection against the advisor service.")
    parser.add_argument("--trials", type=int, default=5, help="repetitions per probe")
    parser.add_argument("--deadline", type=float, default=0.5, help="deadline of the probes (s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--disconnects", type=int, default=6)
    parser.add_argument("--write-docs", action="store_true", help="update docs/RELIABILITY.md")
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
    report = "\n\n".join([_table(rows), disconnect, drain])
    print(report)
    if args.write_docs:
        command = (
            f"python -m bench.faults --trials {args.trials} --deadline {args.deadline} "
            f"--workers {args.workers} --disconnects {args.disconnects}"
        )
        update_section("RELIABILITY.md", "faults", f"`{command}`\n\n{report}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
