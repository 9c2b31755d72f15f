"""``advisor`` writing into a pipe as scripts run it: a reader that goes away, a Ctrl-C mid-write.

The command runs as a process of its own, its standard output a pipe this test reads; the
document is over half a megabyte, far more than a pipe holds, so the command is still writing
it when the test has read its first bytes and acts.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from advisor.cli.options import ExitCode

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def long_document(tmp_path: Path) -> list[str]:
    """The command line of a recommendation written as a YAML document of over 500 KB."""
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({"input": {"shape": [128, 128]}, "preset": "symmetry"}))
    return [
        sys.executable,
        "-m",
        "advisor.cli.main",
        "recommend",
        str(task),
        "--budget",
        "200000",
        "--format",
        "yaml",
    ]


_INTERRUPTIBLE = """
import signal, sys
from advisor.cli.main import main
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(main())
"""
"""The ``advisor`` command in a process that takes Ctrl-C even when this one was started
ignoring it (a script's background job), as a command started from a terminal does."""


def _writing(command: list[str]) -> subprocess.Popen[bytes]:
    """Start ``command`` and return it once it has begun writing its standard output."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert process.stdout is not None
    assert process.stdout.read(1) == b"r"  # "recommendations:": the document has begun
    return process


def test_a_reader_that_goes_away_mid_document_ends_the_command_quietly_with_141(
    long_document: list[str],
) -> None:
    # `advisor recommend ... | head -1` ended 0, as if the whole document had been read: the
    # write the pipe's closing cut short returned the bytes it wrote, and the rest was dropped.
    process = _writing(long_document)
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == ExitCode.BROKEN_PIPE, stderr
    assert stderr == b""


def test_ctrl_c_mid_document_says_the_output_is_incomplete_and_ends_130(
    long_document: list[str],
) -> None:
    # A Ctrl-C as a slow reader (`| less`) kept the write waiting ended the command as one that
    # failed before printing ("interrupted", 1), its reader holding a cut-short document.
    process = _writing([sys.executable, "-c", _INTERRUPTIBLE, *long_document[3:]])
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert stderr.decode() == (
        "advisor: error: interrupted while writing standard output: what it printed is incomplete\n"
    )


def test_a_command_started_with_standard_error_closed_prints_its_result(tmp_path: Path) -> None:
    # `advisor recommend ... 2>&-` failed: the progress bar's check of stderr raised, and the
    # error line went to standard output, print's fallback, into the result a script reads.
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({"input": {"shape": [8, 8]}, "preset": "symmetry"}))
    command = [sys.executable, "-m", "advisor.cli.main", "recommend", str(task), "--budget"]
    closed = ["sh", "-c", 'exec "$0" "$@" 2>&-']
    done = subprocess.run(
        [*closed, *command, "2000", "--top", "1", "--format", "json"],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == ExitCode.OK
    assert json.loads(done.stdout)["recommendations"]
    refused = subprocess.run(
        [*closed, *command, "0"], capture_output=True, timeout=120, check=False, cwd=ROOT
    )
    assert refused.returncode == ExitCode.INVALID_ARGUMENT
    assert refused.stdout == b""


def _columns(path: Path) -> Path:
    """Save 200 samples of a 4x4 grid whose columns are copies: data ``infer`` makes a task of."""
    columns = np.random.default_rng(0).standard_normal((200, 1, 4))
    noise = 0.1 * np.random.default_rng(1).standard_normal((200, 4, 4))
    np.save(path, columns.repeat(4, axis=1) + noise)
    return path


def test_an_output_that_is_standard_output_is_written_as_standard_output(
    tmp_path: Path,
) -> None:
    # `infer DATA --output /dev/stdout | yq` got the report after the task, in the stream it
    # read, and `recommend --save-task /dev/stdout` the task before the result.
    data = _columns(tmp_path / "data.npy")
    command = [sys.executable, "-m", "advisor.cli.main"]
    inferred = subprocess.run(
        [*command, "infer", str(data), "--output", "/dev/stdout"],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert inferred.returncode == ExitCode.OK, inferred.stderr
    assert yaml.safe_load(inferred.stdout)["correlations"]
    assert b"task written to" not in inferred.stdout + inferred.stderr
    assert b"evidence" in inferred.stderr  # the report, where --output - puts it
    task = tmp_path / "task.yaml"
    task.write_text("input: {shape: [4, 4]}\n")
    save = ["--save-task", "/dev/stdout"]
    searched = subprocess.run(
        [*command, "recommend", str(task), "--budget", "2000", "--data", str(data), *save],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert searched.returncode == ExitCode.INVALID_ARGUMENT, searched.stderr
    assert searched.stdout == b""
    assert searched.stderr == (
        b"advisor: error: --save-task: /dev/stdout is standard output, which holds the result: "
        b"name a file\n"
    )
