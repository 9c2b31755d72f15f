"""The commands on unusual terminals and locales: a huge or tiny ``COLUMNS``, an ASCII stream.

Each test runs the command as a process with the environment set, as a user's shell starts it:
the width and the encodings are read when the process starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent.parent

_HELPS = [
    [sys.executable, "-m", "advisor", *command, "--help"]
    for command in ([], ["recommend"], ["analyze"], ["presets"], ["infer"], ["serve"])
] + [[sys.executable, str(_ROOT / "server.py"), "--help"]]


def _run(command: list[str], **environment: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` from the repository with ``environment`` over this process's own."""
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="strict",
        env={**os.environ, **environment},
        cwd=_ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", _HELPS, ids=lambda command: Path(command[-2]).name)
@pytest.mark.parametrize(("columns", "held_at"), [("100000", "96"), ("20", "40")])
def test_help_wraps_within_40_to_96_columns_whatever_columns_says(
    command: list[str], columns: str, held_at: str
) -> None:
    # argparse wraps at COLUMNS: at 100000 `advisor recommend --help` printed its usage as one
    # line of 823 characters, and at 20 each subcommand's summary a word a line under its name.
    result = _run(command, COLUMNS=columns)
    assert result.returncode == 0, result.stderr
    assert max(map(len, result.stdout.splitlines())) <= 96, result.stdout
    assert result.stdout == _run(command, COLUMNS=held_at).stdout


_ARCHITECTURE = str(_ROOT / "examples" / "architectures" / "mirror.yaml")
_NOT_A_TASK = (
    "advisor: error: task: is an architecture (it has geometry, layers, representation), not a "
    "task: a task file holds input and correlations or a preset (docs/FORMATS.md {section}1)\n"
)


@pytest.mark.parametrize(
    ("locale", "section"),
    [
        ({"PYTHONIOENCODING": "ascii"}, "section "),
        ({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}, "section "),
        ({"LC_ALL": "C.UTF-8", "PYTHONIOENCODING": ""}, "§"),
        ({"PYTHONIOENCODING": "latin-1"}, "§"),
    ],
    ids=["ascii", "C", "C.UTF-8", "latin-1"],
)
def test_an_error_names_the_docs_section_in_words_where_standard_error_lacks_the_sign(
    locale: dict[str, str], section: str
) -> None:
    # An ASCII standard error wrote the section sign as Python's escape: `docs/FORMATS.md
    # \xa71`, which reads as no section at all.
    command = [sys.executable, "-m", "advisor", "analyze", _ARCHITECTURE, "--arch", _ARCHITECTURE]
    result = subprocess.run(
        command, capture_output=True, env={**os.environ, **locale}, cwd=_ROOT, timeout=120
    )
    assert result.returncode == 2
    encoding = locale.get("PYTHONIOENCODING") or "utf-8"
    assert result.stderr.decode(encoding) == _NOT_A_TASK.format(section=section)
