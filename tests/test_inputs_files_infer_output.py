"""``advisor infer --output``: never the DATA or ``--labels`` file, however the path is written."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from advisor.cli.options import ExitCode
from tests.test_cli import advisor, assert_one_error_line


def _sample(path: Path) -> Path:
    """Save 200 samples of a 4x4 grid whose columns are copies: data ``infer`` makes a task of."""
    columns = np.random.default_rng(0).standard_normal((200, 1, 4))
    np.save(
        path,
        columns.repeat(4, axis=1) + 0.1 * np.random.default_rng(1).standard_normal((200, 4, 4)),
    )
    return path


def _as_written(path: Path) -> str:
    return str(path)


def _with_dot(path: Path) -> str:
    return f"{path.parent}/./{path.name}"


def _through_parent(path: Path) -> str:
    return f"{path.parent}/sub/../{path.name}"


def _symlink(path: Path) -> str:
    link = path.parent / "link.npy"
    link.symlink_to(path)
    return str(link)


def _hard_link(path: Path) -> str:
    link = path.parent / "hard.npy"
    os.link(path, link)
    return str(link)


@pytest.mark.parametrize(
    "spelling", [_as_written, _with_dot, _through_parent, _symlink, _hard_link]
)
def test_output_naming_the_data_file_is_refused_and_the_data_kept(
    tmp_path: Path, spelling: Callable[[Path], str]
) -> None:
    (tmp_path / "sub").mkdir()
    data = _sample(tmp_path / "data.npy")
    before = data.read_bytes()
    line = assert_one_error_line(
        advisor("infer", data, "--output", spelling(data)), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: --output: ") and "DATA file" in line
    assert data.read_bytes() == before


def test_output_naming_the_data_file_is_refused_before_the_data_is_read(tmp_path: Path) -> None:
    data = tmp_path / "broken.npy"
    data.write_bytes(b"not an array")
    line = assert_one_error_line(
        advisor("infer", data, "--output", data), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: --output: ")
    assert data.read_bytes() == b"not an array"


def test_output_naming_the_labels_file_is_refused_and_the_labels_kept(tmp_path: Path) -> None:
    data = _sample(tmp_path / "data.npy")
    labels = tmp_path / "labels.npy"
    np.save(labels, np.arange(200) % 2)
    before = labels.read_bytes()
    run = advisor("infer", data, "--labels", labels, "--output", _with_dot(labels))
    line = assert_one_error_line(run, ExitCode.INVALID_ARGUMENT)
    assert line.startswith("advisor: error: --output: ") and "--labels file" in line
    assert labels.read_bytes() == before
