"""Ctrl-C during ``advisor recommend``: the search finishes and its designs are printed.

The Ctrl-C is this process's own SIGINT, sent from the progress bar's update, which runs on the
main thread as the command reads the search's stream: Python runs the handler before the next
statement, so the signal lands while the search runs, whatever the machine's load.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import grpc
import pytest
import yaml
from advisor_client.client import AdvisorClient
from advisor_client.errors import AdvisorRpcError, ClientClosedError

from advisor.cli import commands, interrupt
from advisor.cli.main import main
from advisor.cli.options import ExitCode
from advisor.cli.progress import ProgressBar
from advisor.model.results import SearchProgress, SearchResult
from advisor.service import searches
from advisor.service.limits import LOCAL_LIMITS
from advisor.service.server import ServerConfig, start_server
from tests.support.named_search import start_named_search

SEARCH = ["--budget", "1000000", "--top", "3", "--time-limit", "60", "--format", "json"]


class _CtrlC(ProgressBar):
    """A bar whose first update presses Ctrl-C ``presses`` times in a row."""

    presses = 1

    def update(self, progress: SearchProgress) -> None:
        presses, type(self).presses = type(self).presses, 0
        for _ in range(presses):
            os.kill(os.getpid(), signal.SIGINT)
        super().update(progress)


def _pressing(presses: int) -> Callable[[TextIO], ProgressBar]:
    def bar_for(stream: TextIO) -> ProgressBar:
        _CtrlC.presses = presses
        return _CtrlC(stream)

    return bar_for


def _press_ctrl_c_before_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``AdvisorClient.recommend`` press Ctrl-C (this process's SIGINT) before it calls."""
    sent = AdvisorClient.recommend

    def pressed_before(client: AdvisorClient, *args: Any, **kwargs: Any) -> SearchResult:
        os.kill(os.getpid(), signal.SIGINT)
        return sent(client, *args, **kwargs)

    monkeypatch.setattr(AdvisorClient, "recommend", pressed_before)


@pytest.fixture
def long_task(tmp_path: Path) -> Path:
    """A search of seconds: 512x512, the symmetry preset, a budget of a million parameters."""
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump({"input": {"shape": [512, 512]}, "preset": "symmetry"}))
    return path


def _run(*args: str | Path) -> tuple[int, str, str]:
    """Run ``advisor *args`` in this process: its exit status, stdout and stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main([str(arg) for arg in args])
    return status, stdout.getvalue(), stderr.getvalue()


def test_ctrl_c_stops_the_embedded_search_and_prints_its_best_designs(
    long_task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C ended the command with "interrupted" and nothing printed, though the search had
    # ranked designs all along.
    monkeypatch.setattr(commands, "progress_bar_for", _pressing(1))
    monkeypatch.setattr(searches, "FINISH_GRACE_SECONDS", 0.0)
    status, stdout, stderr = _run("recommend", long_task, *SEARCH)
    assert status == ExitCode.INTERRUPTED, stderr
    assert interrupt.STOPPING in stderr
    result = json.loads(stdout)
    assert result["complete"] is False
    assert result["recommendations"]
    assert all(r["parameters"] <= 1_000_000 for r in result["recommendations"])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_a_second_ctrl_c_aborts(long_task: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "progress_bar_for", _pressing(2))
    monkeypatch.setattr(searches, "FINISH_GRACE_SECONDS", 0.0)
    status, stdout, stderr = _run("recommend", long_task, *SEARCH)
    assert status == ExitCode.OTHER
    assert stdout == ""
    assert stderr.endswith("advisor: error: interrupted\n")


def test_ctrl_c_finishes_a_remote_search_and_prints_its_best_designs(
    long_task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A remote server was not asked to stop: the call was cancelled and nothing printed.
    monkeypatch.setattr(commands, "progress_bar_for", _pressing(1))
    monkeypatch.setattr(searches, "FINISH_GRACE_SECONDS", 0.0)
    config = ServerConfig(
        host="127.0.0.1", port=0, executor="threads", limits=LOCAL_LIMITS, grace_seconds=0.0
    )
    with start_server(config) as running:
        status, stdout, stderr = _run("recommend", long_task, *SEARCH, "--target", running.address)
    assert status == ExitCode.INTERRUPTED, stderr
    assert interrupt.STOPPING in stderr
    result = json.loads(stdout)
    assert result["complete"] is False
    assert result["recommendations"]


def test_ctrl_c_before_the_server_runs_the_search_still_finishes_it(
    long_task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Ctrl-C between the handler's start and the server's taking the call (reading a large
    # task, sending it) stopped the server under the call: "UNAVAILABLE: Stream removed (...
    # Server shutdown)", exit status 5, as if no server could be reached. The stop now asks
    # until the server runs the search.
    _press_ctrl_c_before_the_call(monkeypatch)
    monkeypatch.setattr(searches, "FINISH_GRACE_SECONDS", 0.0)
    status, stdout, stderr = _run("recommend", long_task, *SEARCH)
    assert status == ExitCode.INTERRUPTED, stderr
    assert stderr == f"{interrupt.STOPPING}\n"
    result = json.loads(stdout)
    assert result["complete"] is False
    assert result["recommendations"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_ctrl_c_while_waiting_for_a_slot_ends_the_wait(
    long_task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With --busy-wait the first Ctrl-C asked the server to finish a search it did not run yet:
    # the command waited on for its slot, up to the whole wait, then ran the search it was told
    # to stop.
    config = ServerConfig(port=0, workers=1, executor="threads", grace_seconds=1.0)
    with start_server(config) as one_slot, AdvisorClient(one_slot.address) as holder:
        thread, _ = start_named_search(holder, one_slot, "holds-the-slot")
        _press_ctrl_c_before_the_call(monkeypatch)
        try:
            status, stdout, stderr = _run(
                "recommend", long_task, *SEARCH, "--target", one_slot.address, "--busy-wait", "600"
            )
        finally:
            monkeypatch.undo()
            holder.finish_search("holds-the-slot")
            thread.join(timeout=30.0)
    assert status == ExitCode.INTERRUPTED, stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert lines[0] == interrupt.STOPPING
    assert re.fullmatch(
        r"advisor: error: RESOURCE_EXHAUSTED: the one advisor slot is busy; retry later; Ctrl-C "
        r"ended the wait for a slot after [0-9.]+ s: no search ran \(request id \w+\)",
        lines[1],
    ), lines
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_a_server_that_cannot_finish_a_search_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    # A server without FinishSearch (an older one) refuses it UNIMPLEMENTED: the stop says so
    # once, and the search goes on until a second Ctrl-C.
    class Older:
        asked = 0

        def finish_search(self, search_id: str) -> bool:
            self.asked += 1
            raise AdvisorRpcError(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")

    older = Older()
    interrupt.finisher(older, "advisor-command-1", threading.Event())()  # type: ignore[arg-type]
    assert older.asked == 1
    assert capsys.readouterr().err == (
        "advisor: the server did not finish the search (UNIMPLEMENTED: Method not found!); "
        "Ctrl-C again to abort\n"
    )


def test_a_stop_cut_short_by_the_command_ending_says_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A Ctrl-C as the search answered: the command printed the result and closed its client
    # while the stop's request was in flight, which then failed. The search had nothing left
    # to finish, yet "the server did not finish the search ...; Ctrl-C again to abort" followed
    # the result on stderr.
    answered = threading.Event()

    class Closing:
        def finish_search(self, search_id: str) -> bool:
            answered.set()  # the search answers, the command closes its client ...
            raise ClientClosedError()  # ... and the request in flight is cancelled

    interrupt.finisher(Closing(), "advisor-command-1", answered)()  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""


def test_the_stop_asks_until_the_server_runs_the_search() -> None:
    answered = threading.Event()

    class Starting:
        asked = 0

        def finish_search(self, search_id: str) -> bool:
            self.asked += 1
            return self.asked == 3  # not running yet, twice

    starting = Starting()
    interrupt.finisher(starting, "advisor-command-1", answered)()  # type: ignore[arg-type]
    assert starting.asked == 3
    answered.set()  # once the search has answered, no more asking
    interrupt.finisher(starting, "advisor-command-1", answered)()  # type: ignore[arg-type]
    assert starting.asked == 3


def test_ctrl_c_is_ignored_by_a_command_started_ignoring_it(
    long_task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A background job of a script starts with SIGINT ignored, so that the Ctrl-C meant for the
    # script leaves it running; the search's handler replaced that, and a Ctrl-C stopped the
    # search (exit status 130) though it was ignored before and after it.
    monkeypatch.setattr(commands, "progress_bar_for", _pressing(1))
    monkeypatch.setattr(searches, "FINISH_GRACE_SECONDS", 0.0)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status, stdout, stderr = _run("recommend", long_task, *SEARCH)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # left as it was
    finally:
        signal.signal(signal.SIGINT, previous)
    assert status == ExitCode.OK, stderr
    assert interrupt.STOPPING not in stderr
    assert json.loads(stdout)["complete"] is True


def test_the_suite_and_the_commands_it_starts_take_ctrl_c() -> None:
    # A suite started as a script's background job began with SIGINT ignored: the tests above
    # found their Ctrl-C ignored, and a command a test started inherited the ignore and ran until
    # its two-minute timeout (tests/test_sigterm.py's Ctrl-C at the very start).
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    child = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    taken = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
    assert (taken.returncode, taken.stdout) == (0, "True\n"), taken.stderr
