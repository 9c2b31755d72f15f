"""Reading a file up to a bound (advisor/files.py), and saying why a read failed."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest

from advisor.files import read_bounded, read_problem


def test_a_file_within_the_bound_is_read_and_a_longer_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"12345")
    assert read_bounded(path, 5, "a thing") == b"12345"
    assert read_bounded(io.BytesIO(b"12345"), 5, "a thing") == b"12345"
    for file in (path, io.BytesIO(b"12345"), "/dev/zero"):
        with pytest.raises(OSError) as refused:
            read_bounded(file, 4, "a thing")
        assert refused.value.errno == errno.EFBIG
        assert read_problem(refused.value) == "it is longer than 4 bytes, more than a thing holds"


def test_a_failed_read_says_why_in_its_own_words(tmp_path: Path) -> None:
    with pytest.raises(OSError) as missing:
        read_bounded(tmp_path / "missing", 4, "a thing")
    assert read_problem(missing.value) == "No such file or directory"  # not the path again
    assert read_problem(OSError("standard input is closed")) == "standard input is closed"
    with pytest.raises(UnicodeDecodeError) as latin:
        b"ok\nna\xefve".decode("utf-8")
    assert read_problem(latin.value) == (
        "line 2, column 3: byte 0xEF is not UTF-8 text (save the file as UTF-8)"
    )
    assert read_problem(ValueError("not JSON")) == "not JSON"
