"""Explicit YAML tags in a task file: the core schema's, on values of its forms, or refused.

``!!timestamp abc`` and ``!!map [1]`` ended the command with "unexpected AttributeError" /
"TypeError" (exit status 1), and ``!!bool yes``, ``!!int 1_000`` were read by YAML 1.1's rules
that the plain scalars no longer follow.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.cli.options import ExitCode
from advisor.errors import InvalidRequestError
from advisor.model.strict_yaml import load_strict
from advisor.model.task import load_task
from tests.test_cli import EXAMPLES, advisor, assert_one_error_line

_TAGS = ["str", "int", "float", "bool", "null", "seq", "map", "timestamp", "binary", "set"]
_TAGS += ["omap", "pairs", "merge", "value", "python/none"]
_VALUES = ["abc", "1_000", "yes", "1:30", "0b11", "", "-", "0x", "2024-01-01", "12", "1.5e3"]
_VALUES += ["true", "~", "[1]", "{a: 1}", "'4'", "%%%", "aGVsbG8="]


@given(st.sampled_from(_TAGS), st.sampled_from(_VALUES) | st.text(max_size=8))
def test_any_tagged_value_is_read_or_refused_as_a_value_error(tag: str, value: str) -> None:
    with contextlib.suppress(ValueError):
        load_strict(f"key: !!{tag} {value}\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("!!int '16'", 16), ("!!float 2", 2.0), ("!!bool true", True), ("!!str 12", "12")],
)
def test_a_core_tag_on_its_form_is_read(text: str, expected: object) -> None:
    assert load_strict(f"key: {text}") == {"key": expected}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("!!timestamp abc", "could not determine a constructor for the tag"),
        ("!!map [1]", "expected a mapping node, but found sequence"),
        ("!!bool yes", "'yes' is no bool of YAML's core schema"),
        ("!!int 1_000", "'1_000' is no int of YAML's core schema"),
        ("!!float abc", "'abc' is no float of YAML's core schema"),
    ],
)
def test_a_tag_outside_the_core_schema_is_refused_on_one_line_where_it_stands(
    tmp_path: Path, value: str, problem: str
) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(f"input: {{shape: [4, 4], channels: {value}}}\npreset: symmetry\n")
    with pytest.raises(InvalidRequestError) as raised:
        load_task(task)
    assert f"cannot read task file '{task}': line 1, column 34: {problem}" in str(raised.value)
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", EXAMPLES / "architectures" / "contiguous.yaml"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert problem in line
