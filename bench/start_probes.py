"""Probe a starting ``server.py``'s health from its spawn: refused, then NOT_SERVING, then SERVING.

Each of ``--runs`` runs spawns ``server.py --workers 2`` on a free port and checks its health
every 0.2 s from the spawn, each check on a new channel with a 0.5 s timeout (as a supervisor's
probe would), until it reads ``SERVING``; then the server is stopped with SIGTERM. Recorded, in
seconds from the spawn: the last check refused (``UNAVAILABLE``: the port not bound yet), the
first ``NOT_SERVING`` (bound, the workers loading), the first ``SERVING``, the ``listening on``
line (printed as health turns ``SERVING``), the checks that timed out (``DEADLINE_EXCEEDED``),
and when an ``AdvisorClient.check_health(wait_for_ready=True)`` begun at the first answer
returned, and what. ``--burners 2`` runs beside two processes that each keep a CPU busy,
started and killed by the command. Exits 1 if a check timed out, the answers came out of that
order, or the client's wait did not return True. ``--write-docs`` records the table in the
"start-probes" section of docs/SERVICE.md ("start-probes-loaded" with burners).

    python -m bench.start_probes --runs 8 --write-docs
    python -m bench.start_probes --runs 6 --burners 2 --write-docs
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from typing import IO

import grpc
from advisor_client.client import AdvisorClient

from bench.report import add_write_option, at_least, command_parser, positive_int, update_section
from bench.stress_stop import cpu_burners
from tests.support.raw_calls import health_status
from tests.support.server_process import ROOT

__all__ = ["StartRun", "main", "probe_start"]

_INTERVAL_SECONDS = 0.2
_CHECK_TIMEOUT_SECONDS = 0.5
_ORDER = ("UNAVAILABLE", "NOT_SERVING", "SERVING")
_ANNOUNCEMENT = "listening on "


@dataclass(frozen=True)
class StartRun:
    """One start: each check (seconds from the spawn, status by name) and the other events.

    ``waited`` is the client's wait: when it began and returned (seconds from the spawn) and
    what it returned.
    """

    checks: list[tuple[float, str]]
    listening: float | None
    waited: tuple[float, float, bool]

    def last(self, status: str) -> float | None:
        """When the last check that read ``status`` was made (None if none did)."""
        return max((at for at, read in self.checks if read == status), default=None)

    def first(self, status: str) -> float | None:
        """When the first check that read ``status`` was made (None if none did)."""
        return min((at for at, read in self.checks if read == status), default=None)

    @property
    def timeouts(self) -> int:
        """How many checks had no answer within their timeout."""
        return sum(read == "DEADLINE_EXCEEDED" for _, read in self.checks)

    @property
    def answers(self) -> str:
        """The statuses read, in order, each with its count of checks in a row."""
        return ", ".join(f"{read} x{len(list(run))}" for read, run in groupby(self._statuses))

    @property
    def in_order(self) -> bool:
        """Whether the checks read refused, then NOT_SERVING, then SERVING, and nothing else."""
        kinds = [read for read, _ in groupby(self._statuses)]
        ranks = [_ORDER.index(read) if read in _ORDER else -1 for read in kinds]
        return -1 not in ranks and ranks == sorted(ranks) and kinds[-1:] == ["SERVING"]

    @property
    def _statuses(self) -> list[str]:
        return [read for _, read in self.checks]


def probe_start(workers: int, max_seconds: float) -> StartRun:
    """Spawn ``server.py --workers workers``, check its health until it serves, then stop it.

    Raises SystemExit if the server exits during its start or does not serve within
    ``max_seconds``.
    """
    port = _free_port()
    address = f"127.0.0.1:{port}"
    command = [sys.executable, str(ROOT / "server.py"), "--host", "127.0.0.1", "--port", str(port)]
    # Append mode: reading the log moves the shared file offset, the child's writes must not.
    # The client closes first on the way out: a close ends its wait, which the pool waits for.
    with (
        tempfile.TemporaryFile(mode="a+") as log,
        ThreadPoolExecutor(1) as pool,
        AdvisorClient(address) as client,
    ):
        spawned = time.monotonic()
        server = subprocess.Popen(
            [*command, "--workers", str(workers)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=ROOT,
        )
        assert server.stdout is not None
        listening: list[float] = []
        reader = threading.Thread(
            target=_note_listening, args=(server.stdout, spawned, listening), daemon=True
        )
        reader.start()
        try:
            checks, waited = _check_until_serving(
                server,
                address,
                spawned,
                max_seconds,
                log,
                lambda: pool.submit(_wait, client, spawned, max_seconds),
            )
        finally:
            _stop(server)
            reader.join(10)
            server.stdout.close()
    return StartRun(checks, listening[0] if listening else None, waited)


def _check_until_serving(
    server: subprocess.Popen[str],
    address: str,
    spawned: float,
    max_seconds: float,
    log: IO[str],
    begin_wait: Callable[[], Future[tuple[float, float, bool]]],
) -> tuple[list[tuple[float, str]], tuple[float, float, bool]]:
    """Check health every interval from ``spawned`` until SERVING; begin the client's wait at
    the first answer, and return the checks and what the wait returned."""
    checks: list[tuple[float, str]] = []
    waited: Future[tuple[float, float, bool]] | None = None
    while not checks or checks[-1][1] != "SERVING":
        at = time.monotonic() - spawned
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"server.py exited {server.returncode} during its start: {log.read()}")
        if at > max_seconds:
            raise SystemExit(f"server.py did not serve within {max_seconds:g} s")
        checks.append((at, _check(address)))
        if waited is None and checks[-1][1] in _ORDER[1:]:
            waited = begin_wait()
        time.sleep(max(0.0, _INTERVAL_SECONDS - (time.monotonic() - spawned - at)))
    assert waited is not None  # begun at the latest with the SERVING answer
    return checks, waited.result()  # bounded by the client's own deadline


def _check(address: str) -> str:
    """One health check on a new channel, as a supervisor's probe makes it: its status by name."""
    with grpc.insecure_channel(address) as channel:
        try:
            return health_status(channel, timeout=_CHECK_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            return str(error.code().name)


def _wait(client: AdvisorClient, spawned: float, timeout: float) -> tuple[float, float, bool]:
    """``check_health(wait_for_ready=True)``: when it began and returned, and what."""
    begun = time.monotonic() - spawned
    ready = client.check_health(wait_for_ready=True, timeout=timeout)
    return begun, time.monotonic() - spawned, ready


def _note_listening(stdout: IO[str], spawned: float, listening: list[float]) -> None:
    for line in stdout:
        if line.startswith(_ANNOUNCEMENT) and not listening:
            listening.append(time.monotonic() - spawned)


def _free_port() -> int:
    """A port free now on 127.0.0.1 (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stop(server: subprocess.Popen[str]) -> None:
    """SIGTERM (the server drains and exits); killed if still running 30 s later."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _signed(value: float) -> str:
    return f"{round(value, 2) + 0.0:+.2f}"  # + 0.0: no "-0.00" for a lag of -0.001


def _span(values: Sequence[float | None]) -> str:
    known = [value for value in values if value is not None]
    return f"{min(known):.1f}-{max(known):.1f} s" if known else "-"


def report(runs: Sequence[StartRun]) -> str:
    """The table of ``runs``, one row each, and a line of their spans."""
    rows = [
        "| run | last refused s | first NOT_SERVING s | first SERVING s | `listening on` s "
        "| checks timed out | answers | wait_for_ready begun s | returned s | returned |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, run in enumerate(runs, 1):
        begun, returned, ready = run.waited
        rows.append(
            f"| {number} | {_seconds(run.last('UNAVAILABLE'))} "
            f"| {_seconds(run.first('NOT_SERVING'))} | {_seconds(run.first('SERVING'))} "
            f"| {_seconds(run.listening)} | {run.timeouts} | {run.answers} "
            f"| {begun:.2f} | {returned:.2f} | {ready} |"
        )
    lags = [run.waited[1] - run.listening for run in runs if run.listening is not None]
    summary = (
        f"Refused until {_span([run.last('UNAVAILABLE') for run in runs])}, first "
        f"`NOT_SERVING` at {_span([run.first('NOT_SERVING') for run in runs])}, `SERVING` at "
        f"{_span([run.first('SERVING') for run in runs])}; checks timed out: "
        f"{sum(run.timeouts for run in runs)}; answers in order in "
        f"{sum(run.in_order for run in runs)} of {len(runs)} runs. "
        f"`check_health(wait_for_ready=True)` begun at "
        f"{_span([run.waited[0] for run in runs])} returned True in "
        f"{sum(run.waited[2] for run in runs)} of {len(runs)} runs, at "
        f"{_span([run.waited[1] for run in runs])}, "
        + (
            f"{_signed(min(lags))} to {_signed(max(lags))} s from `listening on`."
            if lags
            else "no `listening on` line to compare with."
        )
    )
    return "\n".join(rows) + "\n\n" + summary


def main(argv: Sequence[str] | None = None) -> int:
    """Probe ``--runs`` starts, print the table (optionally record it); exit 1 on a miss."""
    parser = command_parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=positive_int, default=8, help="starts probed (default 8)")
    parser.add_argument(
        "--workers", type=positive_int, default=2, help="server.py --workers (default 2)"
    )
    parser.add_argument(
        "--burners",
        type=at_least(0),
        default=0,
        help="CPU-burning processes beside the starts (default 0)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=150.0, help="longest one start may take (s)"
    )
    add_write_option(parser, "SERVICE.md")
    args = parser.parse_args(argv)
    # Killed with SIGTERM, leave through the ``finally`` blocks that stop the server and burners.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    load_before = os.getloadavg()[0]
    runs = []
    with cpu_burners(args.burners, args.runs * (args.max_seconds + 30)):
        for number in range(1, args.runs + 1):
            runs.append(probe_start(args.workers, args.max_seconds))
            print(f"run {number}: {runs[-1].answers}", flush=True)
    load_after = os.getloadavg()[0]
    command = f"python -m bench.start_probes --runs {args.runs} --workers {args.workers}" + (
        f" --burners {args.burners}" if args.burners else ""
    )
    text = (
        f"`{command}` — {datetime.date.today().isoformat()}, {args.burners} CPU burners, "
        f"1-minute load average {load_before:.1f} before and {load_after:.1f} after "
        f"({os.cpu_count()} CPUs); seconds from the spawn, a check every "
        f"{_INTERVAL_SECONDS:g} s on a new channel with a {_CHECK_TIMEOUT_SECONDS:g} s "
        f"timeout.\n\n{report(runs)}"
    )
    print(text)
    if args.write_docs:
        section = "start-probes-loaded" if args.burners else "start-probes"
        update_section(args.docs_file, section, text)
    met = all(run.in_order and run.timeouts == 0 and run.waited[2] for run in runs)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
