"""Reading a file up to a bound (advisor/files.py), and saying why a read failed."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest

from advisor.files import not_utf8_in, read_bounded, read_problem


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


_NOT_UTF8 = "{} is not UTF-8 text (save the file as UTF-8)"


@pytest.mark.parametrize("piece", [1, 2, 3, 4, 1 << 20])
def test_the_first_byte_that_is_no_utf8_is_named_by_line_and_column_whatever_the_pieces(
    tmp_path: Path, piece: int
) -> None:
    path = tmp_path / "text.csv"
    # A character of two bytes (é) split across pieces is text; 0xFF on line 2 is not.
    path.write_bytes(b"ab\nc\xc3\xa9d\xff\n")
    assert not_utf8_in(path, piece) == _NOT_UTF8.format("line 2, column 5: byte 0xFF")
    path.write_bytes(b"ab\n\xc3")  # the file ends inside a character
    assert not_utf8_in(path, piece) == _NOT_UTF8.format("line 2, column 1: byte 0xC3")
    # A byte-order mark, which readers skip, is no column of line 1.
    path.write_bytes(b"\xef\xbb\xbf1,\xff\n")
    assert not_utf8_in(path, piece) == _NOT_UTF8.format("line 1, column 3: byte 0xFF")
    path.write_bytes("ab\ncé\n".encode())
    assert not_utf8_in(path, piece) is None
