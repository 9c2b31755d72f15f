"""Correlation names: no character a terminal acts on, and tables aligned by display width."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.cli.options import ExitCode
from advisor.errors import InvalidRequestError
from advisor.model.task import parse_task
from advisor.protocol import wire
from tests.support.strategies import task_message
from tests.test_cli import advisor, assert_one_error_line

ARCHITECTURE = Path(__file__).resolve().parent.parent / "examples/architectures/contiguous.yaml"
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_FULLWIDTH = "\uff57\uff49\uff44\uff45"  # "wide" in fullwidth Latin letters


def _document(*names: str) -> dict[str, Any]:
    correlations = [{"name": name, "a": {"indices": [i]}} for i, name in enumerate(names)]
    return {"input": {"shape": [4]}, "correlations": correlations}


def _violations(document: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequestError) as info:
        parse_task(document)
    return [(v.field, v.description) for v in info.value.violations]


@pytest.mark.parametrize(
    ("name", "code_point"),
    [
        ("line1\nline2", "U+000A at position 5"),
        ("\x1b[31mred", "U+001B at position 0"),
        ("tab\tstop", "U+0009"),
        ("nul\x00", "U+0000"),
        ("del\x7f", "U+007F"),
        ("next\x85line", "U+0085"),
        ("line\u2028separator", "U+2028"),
        ("paragraph\u2029separator", "U+2029"),
        ("\u202eright-to-left override", "U+202E"),
        ("zero\u200bwidth", "U+200B"),
        ("surrogate\ud800", "U+D800"),
    ],
)
def test_a_name_with_a_control_or_format_character_is_refused_naming_it(
    name: str, code_point: str
) -> None:
    [(field, description)] = _violations(_document("fine", name))
    assert field == "correlations[1].name"
    assert "control, format or line-separator" in description and code_point in description


@pytest.mark.parametrize(
    "name", ["日本語の相関", "café", "e\u0301te", "symmetry/halves", "left vs right", _FULLWIDTH]
)
def test_printable_names_of_any_script_are_taken(name: str) -> None:
    assert [c.name for c in parse_task(_document(name)).resolved()] == [name]


@given(st.text(min_size=1, max_size=8))
def test_a_name_is_taken_exactly_when_it_is_not_blank_and_holds_no_refused_character(
    name: str,
) -> None:
    printable = name.strip() != "" and not any(
        unicodedata.category(char) in _REFUSED_CATEGORIES for char in name
    )
    if printable:
        assert parse_task(_document(name)).resolved()[0].name == name
    else:
        assert [field for field, _ in _violations(_document(name))] == ["correlations[0].name"]


def test_the_wire_refuses_such_a_name_on_its_task_field() -> None:
    with pytest.raises(InvalidRequestError) as info:
        wire.task_from_proto(task_message(_document("ok", "\x1b[31mred")))
    assert [v.field for v in info.value.violations] == ["task.correlations[1].name"]


def _task_file(tmp_path: Path, *names: str) -> Path:
    """A 32x32 task (the example architecture's grid) with a correlation of each name."""
    path = tmp_path / "names.yaml"
    rows = "".join(
        f'  - {{name: "{name}", a: {{indices: [{i}]}}}}\n' for i, name in enumerate(names)
    )
    path.write_text(f"input: {{shape: [32, 32]}}\ncorrelations:\n{rows}", encoding="utf-8")
    return path


def test_analyze_refuses_a_task_file_whose_names_would_break_the_table(tmp_path: Path) -> None:
    # YAML's double-quoted escapes: a newline and ESC (an ANSI colour sequence).
    task = _task_file(tmp_path, "line1\\nline2", "\\e[31mred")
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", ARCHITECTURE), ExitCode.INVALID_ARGUMENT
    )
    assert "task.correlations[0].name: " in line and "task.correlations[1].name: " in line
    assert "\x1b" not in line


def test_the_table_aligns_wide_and_combining_names_by_display_width(tmp_path: Path) -> None:
    # Terminal columns: a CJK or fullwidth character takes two, a combining accent none.
    columns = {"日本語の相関": 12, _FULLWIDTH: 8, "ascii": 5, "e\u0301te": 3}
    run = advisor("analyze", _task_file(tmp_path, *columns), "--arch", ARCHITECTURE)
    assert run.status == 0, run.stderr
    lines = run.stdout.splitlines()
    header = next(line for line in lines if line.startswith("correlation"))
    rows = [next(line for line in lines if line.startswith(name)) for name in columns]
    for name, row in zip(columns, rows, strict=True):
        # As the terminal shows it: the name's columns, then the row's ASCII rest.
        shown = "x" * columns[name] + row[len(name) :]
        assert shown.index(" tight") + 1 == header.index("certificate"), row
        assert shown.index("1 ") + 1 == header.index("weight") + len("weight"), row
