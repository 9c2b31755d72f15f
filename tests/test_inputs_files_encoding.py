"""How a task or architecture file's characters are read: control characters, byte-order marks.

A control character YAML refuses (a NUL, an ESC) was reported over two lines, placed by its
offset in "<unicode string>", breaking the command's one-line error; a JSON file saved with a
UTF-8 byte-order mark (as Windows editors save) was refused while the same YAML file was read;
a file in another encoding was placed by its byte offset.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from advisor.cli.options import ExitCode
from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.architecture import load_architecture
from advisor.model.documents import STDIN, read_document
from advisor.model.task import load_task
from tests.test_cli import EXAMPLES, advisor, assert_one_error_line

TASK = {"input": {"shape": [4, 4]}, "preset": "symmetry"}
ARCHITECTURE = {
    "input": {"shape": [4, 4]},
    "representation": 4,
    "layers": [{"channels": 4, "pool": [2, 2]}, {"channels": 4, "pool": [2, 2]}],
}


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("input: {shape: [4, 4]}\x00\npreset: symmetry\n", "line 1, column 23: character U+0000"),
        (
            "input: {shape: [4, 4]}\npreset: \x1b[31msymmetry\n",
            "line 2, column 9: character U+001B",
        ),
        (
            'input: {shape: [4, 4]}\r\npreset: "sym\u00e9"\x7f\r\n',
            "line 2, column 15: character U+007F",
        ),
    ],
)
def test_a_control_character_is_placed_by_line_and_column_on_one_line(
    tmp_path: Path, text: str, place: str
) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(text, encoding="utf-8", newline="")
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", EXAMPLES / "architectures" / "contiguous.yaml"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line == (
        f"advisor: error: task: cannot read task file '{task}': {place}: control characters "
        "are not allowed; read as YAML (the name does not end in .json)"
    )


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_byte_order_mark_is_read_past_in_either_format(tmp_path: Path, suffix: str) -> None:
    task, architecture = tmp_path / f"task{suffix}", tmp_path / f"architecture{suffix}"
    task.write_text(json.dumps(TASK), encoding="utf-8-sig")
    architecture.write_text(json.dumps(ARCHITECTURE), encoding="utf-8-sig")
    assert load_task(task).preset == "symmetry"
    assert load_architecture(architecture).representation == 4


@pytest.mark.parametrize(
    ("data", "place"),
    [
        (json.dumps(TASK).encode("utf-16"), "line 1, column 1: byte 0xFF"),
        (
            "input: {shape: [4, 4]}\r\npreset: sym\u00e9try\n".encode("latin-1"),
            "line 2, column 12: byte 0xE9",
        ),
    ],
)
def test_a_file_that_is_not_utf8_is_refused_where_it_stops_being_so(
    tmp_path: Path, data: bytes, place: str
) -> None:
    # Python's text gave the byte's offset in the file ("in position 49").
    task = tmp_path / "task.yaml"
    task.write_bytes(data)
    with pytest.raises(InvalidRequestError) as raised:
        load_task(task)
    assert raised.value.violations == (
        FieldViolation(
            "",
            f"cannot read task file '{task}': {place} is not UTF-8 text (save the file as UTF-8)",
        ),
    )


def test_a_data_file_given_as_a_document_is_named_for_what_it_is(tmp_path: Path) -> None:
    # A .npy given as the task read "byte 0x93 is not UTF-8 text (save the file as UTF-8)".
    array, archive = tmp_path / "data.npy", tmp_path / "data.npz"
    np.save(array, np.zeros((3, 4)))
    np.savez(archive, data=np.zeros((3, 4)))
    for path, kind in ((array, "a NumPy array (.npy)"), (archive, "a zip archive (.npz?)")):
        with pytest.raises(InvalidRequestError) as raised:
            load_task(path)
        assert str(raised.value) == (
            f"cannot read task file '{path}': it is {kind}, not a text document (a data sample "
            "goes to recommend --data or advisor infer)"
        )


def test_a_document_longer_than_the_bound_is_refused_not_read_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file without end (/dev/zero, a pipe left open) was read until memory ran out.
    path = tmp_path / "task.yaml"
    path.write_text(json.dumps(TASK))
    size = path.stat().st_size
    assert load_task(path).preset == "symmetry"  # within the default bound: read as ever
    with pytest.raises(InvalidRequestError) as refused:
        read_document(path, "task", max_bytes=size - 1)
    (violation,) = refused.value.violations
    assert violation.description == (
        f"cannot read task file {str(path)!r}: it is longer than {size - 1:,} bytes, more than "
        "a task holds"
    )
    assert read_document(path, "task", max_bytes=size) == TASK
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(json.dumps(TASK).encode())))
    with pytest.raises(InvalidRequestError, match="task on standard input: it is longer than"):
        read_document(STDIN, "task", max_bytes=10)
    # The kind's article: "more than a architecture holds" was written of every kind.
    with pytest.raises(InvalidRequestError, match="more than an architecture holds"):
        read_document(path, "architecture", max_bytes=size - 1)
