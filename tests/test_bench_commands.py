"""The benchmark commands read their command line before they run: ``--help`` never runs one.

Several of them rewrite files under docs/ and bench/ when run (the outcome report rewrites
docs/OUTCOMES.md); a command that ignores its arguments did that on ``--help``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from bench.report import no_options

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _commands() -> list[Path]:
    """Return the bench modules that run as a command (an ``if __name__ == "__main__"`` block)."""
    return sorted(
        path
        for path in BENCH.rglob("*.py")
        if any(
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
            for node in ast.parse(path.read_text()).body
        )
    )


def test_every_benchmark_command_parses_its_command_line_before_it_runs() -> None:
    commands = _commands()
    assert len(commands) >= 10, "the scan finds the benchmark commands"
    unparsed = [
        str(path.relative_to(BENCH))
        for path in commands
        if "parse_args(" not in path.read_text() and "no_options(" not in path.read_text()
    ]
    assert unparsed == []


def test_a_command_without_options_prints_its_description_on_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["report.py", "--help"])
    with pytest.raises(SystemExit) as exited:
        no_options("Rebuild the report.\n\nIt rewrites docs/.")
    assert exited.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("usage: report.py [-h]")
    assert "Rebuild the report.\n\nIt rewrites docs/." in printed


def test_a_command_without_options_refuses_an_argument(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["report.py", "--draw", "1"])
    with pytest.raises(SystemExit) as exited:
        no_options("Rebuild the report.")
    assert exited.value.code == 2
    assert "unrecognized arguments: --draw 1" in capsys.readouterr().err
