"""SIGTERM during a long search: the call completes, health goes NOT_SERVING, exit status 0."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol._proto.advisor.v1 import advisor_pb2_grpc
from advisor.service import server as server_module
from advisor.service.admission import Admission
from advisor.service.calls import CallWorkers
from advisor.service.server import RunningServer, ServerConfig
from advisor.service.servicer import AdvisorServicer
from advisor.service.thread_pool import ThreadWorkers
from tests.support.workloads import LONG_TASK, long_budget

SERVER = Path(__file__).resolve().parent.parent / "server.py"
GRACE_SECONDS = 1.5
SEARCH_SECONDS = 30.0  # the searches' time limit: a search no signal cut would run this long
LOADED_SECONDS = 10.0
"""How late a loaded machine may be to act on a signal: far below SEARCH_SECONDS, so a bound with
this slack still tells a search cut by the drain from one that ran to its time limit."""
LONG_GRACE_SECONDS = 60.0  # longer than the search's own time limit: only a signal ends it


@pytest.fixture
def server_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    yield from _server_process(GRACE_SECONDS)


@pytest.fixture
def long_drain_server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    yield from _server_process(LONG_GRACE_SECONDS)


_TAKING_SIGNALS = """
import runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
"""Run the script that follows taking Ctrl-C and SIGHUP, as a server started from a terminal
does, even when this process was started ignoring them (a script's background job, ``nohup``),
which the server would then keep ignoring."""


def _server_process(grace: float) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run server.py on a free port with one worker and ``grace``; yield it and its address.

    The worker runs at the server's priority: at the default niceness, beside two busy loops,
    its search could not build one design in the second a second signal leaves (2 of 8 calls
    cancelled with nothing), and these tests are about the signals, not the priority.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _TAKING_SIGNALS,
            str(SERVER),
            "--port",
            "0",
            "--workers",
            "1",
            "--worker-niceness",
            "0",
            "--grace",
            str(grace),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = re.fullmatch(r"listening on (\S+)\n", process.stdout.readline())
        assert match, process.stderr.read() if process.stderr else ""
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_sigterm_finishes_the_running_search_then_exits_zero(
    server_process: tuple[subprocess.Popen[str], str], signum: signal.Signals
) -> None:
    # SIGHUP (a closed terminal) drains as SIGTERM does: unhandled, it ended the server at once.
    process, address = server_process
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == (
            health_pb2.HealthCheckResponse.SERVING
        )
        stream = advisor_pb2_grpc.ArchitectureAdvisorStub(channel).StreamRecommend(
            pb.StreamRecommendRequest(
                task=LONG_TASK,
                budget=long_budget(SEARCH_SECONDS),
            ),
            timeout=SEARCH_SECONDS,
        )
        first = next(stream)  # the search is running once it reports progress
        assert first.WhichOneof("event") == "progress"

        signalled_at = time.monotonic()
        process.send_signal(signum)
        while health.Check(health_pb2.HealthCheckRequest(), timeout=5).status != (
            health_pb2.HealthCheckResponse.NOT_SERVING
        ):
            # Past the drain the server is gone and the check raises: NOT_SERVING is read only
            # while the search still runs.
            assert time.monotonic() - signalled_at < LOADED_SECONDS, "health still SERVING"
            time.sleep(0.01)

        rest = list(stream)
        assert [r.WhichOneof("event") for r in rest[:-1]] == ["progress"] * (len(rest) - 1)
        assert not rest[-1].result.complete  # cut by the grace period, best designs kept
        assert rest[-1].result.recommendations
        assert time.monotonic() - signalled_at < GRACE_SECONDS + LOADED_SECONDS

    assert process.wait(timeout=5) == 0
    assert process.stderr is not None
    log = process.stderr.read()
    assert "Traceback" not in log
    assert signum.name in log


def test_a_second_signal_ends_the_drain_at_once(
    long_drain_server: tuple[subprocess.Popen[str], str],
) -> None:
    # A second signal (Ctrl-C pressed again) used to be logged and change nothing: the server
    # drained for its whole grace period (here a minute; the search runs for 30 s).
    process, address = long_drain_server
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        stream = advisor_pb2_grpc.ArchitectureAdvisorStub(channel).StreamRecommend(
            pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget(SEARCH_SECONDS)),
            timeout=90,
        )
        assert next(stream).WhichOneof("event") == "progress"  # the search is running
        process.send_signal(signal.SIGTERM)
        while health.Check(health_pb2.HealthCheckRequest(), timeout=5).status != (
            health_pb2.HealthCheckResponse.NOT_SERVING
        ):
            time.sleep(0.01)
        # Draining, so the first signal was handled: past the window in which a second is taken
        # for the first delivered twice (DrainRequests).
        time.sleep(server_module._REPEATED_SIGNAL_SECONDS + 0.1)
        process.send_signal(signal.SIGINT)
        hurried_at = time.monotonic()
        rest = list(stream)
        assert not rest[-1].result.complete  # cut now, its best designs kept
        assert rest[-1].result.recommendations
        assert time.monotonic() - hurried_at < LOADED_SECONDS

    assert process.wait(timeout=10) == 0
    assert process.stderr is not None
    log = process.stderr.read()
    assert "received SIGINT again; ending the drain now" in log
    assert "Traceback" not in log


def test_a_signal_within_moments_of_the_first_is_the_same_request() -> None:
    # coreutils' `timeout` signals the server and then its process group: the two SIGTERMs,
    # read as a second request, ended the drain at once, cutting the searches' grace period.
    window = server_module._REPEATED_SIGNAL_SECONDS
    requests = server_module.DrainRequests()
    assert requests.received(100.0) == "drain"
    assert requests.received(100.0 + window / 2) == "repeat"
    assert not requests.hurried
    assert requests.received(100.0 + window) == "hurry"
    assert requests.hurried
    assert requests.received(100.0 + 2 * window) == "hurry"


def test_sigterm_while_the_workers_start_abandons_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Worker processes may take tens of seconds to load on a busy machine. A SIGTERM then used
    # to wait for the whole start, announce the server (on_ready: "listening on") and turn it
    # SERVING, and only then drain. Here the workers would take 20 s: the start must end first.
    starting = threading.Event()
    slow_seconds = 20.0

    async def slow_workers(
        config: ServerConfig,
        admission: Admission,
        on_serving: Callable[[bool], None],
        on_replaced: Callable[[], None] | None = None,
    ) -> CallWorkers:
        starting.set()
        await asyncio.sleep(slow_seconds)
        return ThreadWorkers(AdvisorServicer(config.limits, admission), admission, config.workers)

    def signal_once_starting() -> None:
        if starting.wait(60):
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(server_module, "_call_workers", slow_workers)
    announced: list[RunningServer] = []
    threading.Thread(target=signal_once_starting, daemon=True).start()
    began = time.monotonic()
    config = ServerConfig(port=0, workers=1, executor="threads", grace_seconds=0.5)
    assert server_module.serve_forever(config, on_ready=announced.append) == 0
    assert starting.is_set() and not announced
    assert time.monotonic() - began < slow_seconds  # abandoned, not waited for


@pytest.mark.parametrize("ignored", [signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_drain_signal_the_server_was_started_ignoring_stays_ignored(
    ignored: signal.Signals, caplog: pytest.LogCaptureFixture
) -> None:
    # `nohup advisor serve &` drained and exited at the SIGHUP of its closed terminal, the one
    # signal nohup keeps from it; a script's background server (SIGINT ignored) at the Ctrl-C
    # meant for the script. Here the ignored signal comes first, then a SIGTERM.
    def signal_when_ready(running: RunningServer) -> None:
        os.kill(os.getpid(), ignored)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.signal(ignored, signal.SIG_IGN)
    try:
        config = ServerConfig(port=0, workers=1, executor="threads", grace_seconds=0.5)
        with caplog.at_level(logging.INFO, logger=server_module.__name__):
            assert server_module.serve_forever(config, on_ready=signal_when_ready) == 0
        assert signal.getsignal(ignored) is signal.SIG_IGN
    finally:
        signal.signal(ignored, before)
    received = [r.getMessage() for r in caplog.records if r.getMessage().startswith("received")]
    assert received == ["received SIGTERM; draining"]
    # Said once at the start: an ignored signal left no trace of why it stopped nothing.
    told = [r.getMessage() for r in caplog.records if r.getMessage().startswith(ignored.name)]
    assert told == [
        f"{ignored.name} stays ignored, as the process was started ignoring it (nohup, a "
        "script's background job): it does not stop the server"
    ]


def test_a_server_whose_standard_output_has_no_reader_serves_on(tmp_path: Path) -> None:
    # A supervisor that had closed the pipe: printing "listening on" raised BrokenPipeError,
    # a traceback, and the server that had started stopped with exit status 1.
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe fails: EPIPE
    log_path = tmp_path / "server.log"
    command = [sys.executable, str(SERVER), "--port", "0", "--executor", "threads"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, "--grace", "0"], stdin=subprocess.DEVNULL, stdout=write_end, stderr=log
        )
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while "cannot write 'listening on " not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        match = re.search(r"serving \S+ on (\S+) ", log_path.read_text())
        assert match is not None
        with grpc.insecure_channel(match.group(1)) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == (
                health_pb2.HealthCheckResponse.SERVING
            )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in log_path.read_text()


_SIGTERM_WHILE_LOADING = """
import os, signal, sys
import advisor.service.command as command

read_config = command.config_from_arguments

def config_after_sigterm(args):
    # Between the entry point's start and serve_forever's handlers: while gRPC and the server load.
    os.kill(os.getpid(), signal.SIGTERM)
    return read_config(args)

command.config_from_arguments = config_after_sigterm
sys.argv = sys.argv[1:]
if sys.argv[0] == "advisor":
    from advisor.cli.main import main
else:
    main = command.main
sys.exit(main())
"""
"""Run an entry point (``advisor serve ...`` or ``advisor-server ...``) that receives a SIGTERM
while it loads, at a set step rather than after a guessed delay."""


@pytest.mark.parametrize(
    "command", [["advisor", "serve"], ["advisor-server"]], ids=lambda c: " ".join(c)
)
def test_sigterm_while_the_server_loads_stops_it_before_serving(command: list[str]) -> None:
    # A supervisor's SIGTERM in the first half second, before serve_forever handled it, ended the
    # process outright: exit status 143, nothing logged, where docs/SERVICE.md promises exit 0.
    options = ["--port", "0", "--executor", "threads"]
    result = subprocess.run(
        [sys.executable, "-c", _SIGTERM_WHILE_LOADING, *command, *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # never "listening on"
    assert "received SIGTERM; draining" in result.stderr
    assert "stopped before serving" in result.stderr


_SIGNALLED_AS_IT_STARTS = """
import importlib, os, runpy, signal, sys, tomllib

root, entry, signame = sys.argv[1:4]
# What an entry point may load before it holds the signals: itself and the signal holder.
LOADED_FIRST = {
    "advisor.__main__", "advisor.entry", "advisor.service", "advisor.service.held_signals"
}

class SignalAtTheFirstLoad:
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("advisor.", "pydantic", "grpc")) and name not in LOADED_FIRST:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), getattr(signal, signame))
        return None

sys.meta_path.insert(0, SignalAtTheFirstLoad())
sys.argv = [entry, *sys.argv[4:]]
if entry == "server.py":
    runpy.run_path(os.path.join(root, "server.py"), run_name="__main__")
elif entry == "-m advisor":
    runpy.run_module("advisor", run_name="__main__", alter_sys=True)
else:  # a console script, as the wrapper pip writes runs it
    with open(os.path.join(root, "pyproject.toml"), "rb") as project:
        target = tomllib.load(project)["project"]["scripts"][entry]
    module, _, function = target.partition(":")
    sys.exit(getattr(importlib.import_module(module), function)())
"""
"""Run an entry point signalled as it begins to load what comes after the signal holder: its
earliest moment, at a set step rather than after a guessed delay."""

_SERVE_OPTIONS = ["--port", "0", "--executor", "threads"]


def _signalled_as_it_starts(
    entry: str, signame: str, arguments: list[str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            _SIGNALLED_AS_IT_STARTS,
            str(SERVER.parent),
            entry,
            signame,
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("entry", "arguments", "signame"),
    [
        ("advisor-server", _SERVE_OPTIONS, "SIGTERM"),
        ("advisor", ["serve", *_SERVE_OPTIONS], "SIGTERM"),
        ("-m advisor", ["serve", *_SERVE_OPTIONS], "SIGHUP"),
        ("server.py", _SERVE_OPTIONS, "SIGTERM"),
    ],
    ids=["advisor-server", "advisor serve", "python -m advisor serve", "server.py"],
)
def test_a_signal_at_the_very_start_stops_the_server_before_serving(
    entry: str, arguments: list[str], signame: str
) -> None:
    # Before the entry point held the signals, while it imported its command (pydantic, the
    # parsers: ~0.06 s of advisor serve, ~0.15 s of advisor-server), a supervisor's SIGTERM
    # ended the process outright: exit status 143, nothing logged.
    result = _signalled_as_it_starts(entry, signame, arguments)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # never "listening on"
    assert f"received {signame}; draining" in result.stderr
    assert "stopped before serving" in result.stderr


@pytest.mark.parametrize("entry", ["advisor-server", "advisor"])
def test_ctrl_c_at_the_very_start_is_one_line_and_status_1(entry: str) -> None:
    # It printed KeyboardInterrupt's traceback and the process ended by SIGINT.
    arguments = _SERVE_OPTIONS if entry == "advisor-server" else ["serve", *_SERVE_OPTIONS]
    result = _signalled_as_it_starts(entry, "SIGINT", arguments)
    assert (result.returncode, result.stderr) == (1, f"{entry}: error: interrupted\n")


def test_other_commands_keep_sigterms_meaning_at_the_very_start() -> None:
    # Held while the command line is read, the SIGTERM ends the command once it is known not to
    # be serve, as SIGTERM ends a command: status 143.
    result = _signalled_as_it_starts("advisor", "SIGTERM", ["presets"])
    assert (result.returncode, result.stdout) == (143, "")
    assert result.stderr == "advisor: error: terminated (SIGTERM)\n"
