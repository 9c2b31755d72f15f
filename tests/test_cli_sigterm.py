"""SIGTERM to ``advisor recommend`` during its search: a cancelled CI job, a stopped container.

The command runs as a process of its own with its standard error on a terminal (a pseudo
terminal this test holds), so it draws its progress bar: the signal is sent once the bar shows
the search running, whatever the machine's load.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from advisor.cli.options import ExitCode

ROOT = Path(__file__).resolve().parent.parent


def _read_until(descriptor: int, wanted: bytes | None, seconds: float) -> bytes:
    """Read ``descriptor`` until ``wanted`` shows (None: to its end), for ``seconds`` at most."""
    read = b""
    deadline = time.monotonic() + seconds
    while (wanted is None or wanted not in read) and time.monotonic() < deadline:
        ready, _, _ = select.select([descriptor], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(descriptor, 4096)
        except OSError:  # the terminal's other side closed: the process has ended
            break
        if not chunk:
            break
        read += chunk
    return read


def test_sigterm_during_a_search_says_so_and_ends_143(tmp_path: Path) -> None:
    # The command died at once, killed by the signal: nothing said on its standard error, and
    # a script's log ended with the last progress line.
    pty = pytest.importorskip("pty")
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({"input": {"shape": [1024, 1024]}, "preset": "symmetry"}))
    terminal, its_side = pty.openpty()
    command = [sys.executable, "-m", "advisor.cli.main", "recommend", str(task)]
    process = subprocess.Popen(
        [*command, "--budget", "25M", "--time-limit", "60", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=its_side,
        cwd=ROOT,
    )
    os.close(its_side)
    try:
        shown = _read_until(terminal, b"searching [", 120)
        assert b"searching [" in shown, shown
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=120)
        shown += _read_until(terminal, None, 10)
    finally:
        os.close(terminal)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == ExitCode.TERMINATED, shown
    assert stdout == b""
    assert b"advisor: error: terminated (SIGTERM)" in shown
    assert b"Traceback" not in shown
