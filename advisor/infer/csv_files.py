"""Read a CSV file of a data sample's numbers, or of its labels, refusing what it cannot mean.

A data CSV holds one sample per line, comma-separated numbers, no header; a labels CSV one
label per line, all numbers or all names. Nothing in either is dropped or guessed: ragged rows,
a value that is no number (with the separator the line uses when it is not commas), an index
column or pandas' header written with the data, a value past float64, a blank label, a file of
another format named ``.csv``, each is refused on its field, naming the line and column of the
first. The values are bounded as they are read, by the limit of an array read whole
(:data:`~advisor.infer.file_sizes.MAX_PARSED_BYTES`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError
from advisor.files import not_utf8_in, read_problem
from advisor.infer import file_sizes
from advisor.infer.file_formats import looks_like
from advisor.stdout import shown_path

__all__ = ["csv_labels", "read_csv"]

_QUOTED_CHARACTERS: Final = 40
"""Most characters of a CSV value an error quotes: a line of another separator is one value."""

_SEPARATORS: Final = ((";", "semicolons"), ("\t", "tabs"), (None, "spaces"))
"""Separators a CSV line that is no number may use instead of commas, and their names
(``None``: any whitespace, as :meth:`str.split` splits)."""

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]


def read_csv(file: Path, field: str) -> npt.NDArray[np.float64]:
    """Read a CSV file of numbers: one row per line, the first line not a number named.

    A line whose every cell is in double quotes (pandas' ``QUOTE_ALL``) is read without them.

    The values are bounded as an ``.npz``'s array is, by
    :data:`~advisor.infer.file_sizes.MAX_PARSED_BYTES` as float64, and each row is held as such
    while the file is read: a value of the file may be 2 bytes (``0,``), and a list of Python
    floats takes 32 bytes a value, so a 16 MB file took 380 MB and one at the file size limit
    would have taken some 12 GB, for an array of 2 GiB.
    """
    rows: list[_Floats] = []
    values = 0
    limit = file_sizes.MAX_PARSED_BYTES
    for number, cells in _csv_lines(file, field):
        values += len(cells)
        if values * 8 > limit:
            raise file_sizes.too_large(
                file,
                field,
                f"its values up to line {number} are {file_sizes.bytes_text(values * 8)} as "
                f"float64, over the limit of {file_sizes.bytes_text(limit)} for an array read "
                "whole",
            )
        row = _numbers(cells)
        if row is None and all(map(_in_quotes, cells)):
            cells = [cell.strip()[1:-1] for cell in cells]
            row = _numbers(cells)
        if row is None and number == 1:
            _check_no_indexed_header(file, field, cells)
        if row is None:
            column, cell = next((c, v) for c, v in enumerate(cells, 1) if not _reads_as_number(v))
            last_empty = column == len(cells) > 1 and not cell.strip()
            trailing = ": a comma ends the line" if last_empty else ""
            raise InvalidRequestError.single(
                field,
                f"{shown_path(file)}: line {number} holds a value that is not a number "
                f"({_quoted(cell.strip())}, column {column}{trailing}); the file holds numbers "
                f"only, comma-separated, no header{_separator_note(cells)}",
            )
        _check_finite(file, field, number, cells, row)
        rows.append(row)
    array = np.stack(rows)
    _check_no_index_column(file, field, array)
    _check_no_header_row(file, field, array)
    return array


_LEAST_INDEXED_ROWS: Final = 3
"""Rows from which a first column counting them is taken for an index: two rows count by chance."""


def _check_no_index_column(file: Path, field: str, array: _Floats) -> None:
    """Refuse a CSV whose first column counts its rows (0, 1, 2, ... or 1, 2, 3, ...).

    That is an index written with the data (pandas' ``to_csv(header=False)``,
    ``np.savetxt(np.c_[np.arange(n), x])``), which was read as one more location without a
    word: 64 features made a task of 65 locations, in the wrong shape.
    """
    rows, columns = array.shape
    if columns < 2 or rows < _LEAST_INDEXED_ROWS:
        return
    first = array[:, 0]
    for start in (0, 1):
        if np.array_equal(first, np.arange(start, start + rows)):
            raise InvalidRequestError.single(
                field,
                f"{shown_path(file)}: column 1 counts the rows ({start}, {start + 1}, ..., "
                f"{start + rows - 1}), an index written with the data (as to_csv does "
                "without index=False), not a location: drop it",
            )


_LEAST_HEADER_COLUMNS: Final = 8
"""Columns from which a first row counting them from 0 is taken for pandas' header."""


def _check_no_header_row(file: Path, field: str, array: _Floats) -> None:
    """Refuse a CSV whose first row counts its columns from 0 (0, 1, 2, ...).

    That is the header pandas writes for a frame built from an array (``to_csv(index=False)``:
    ``0,1,2,3``, or ``"0","1","2","3"`` quoted), read as one more sample without a word (51
    samples of 50 rows). From 0 only, and of :data:`_LEAST_HEADER_COLUMNS` columns or more: a
    first sample of 1, 2, 3, 4, or of 0, 1, 2, is one a hand writes.
    """
    rows, columns = array.shape
    if (
        rows >= 2
        and columns >= _LEAST_HEADER_COLUMNS
        and np.array_equal(array[0], np.arange(columns))
    ):
        raise InvalidRequestError.single(
            field,
            f"{shown_path(file)}: the first row counts the columns (0, 1, ..., {columns - 1}), "
            "a header written with the data (as to_csv does without header=False), not a "
            "sample: drop it",
        )


def _check_no_indexed_header(file: Path, field: str, cells: list[str]) -> None:
    """Refuse a first line that is pandas' header of an indexed frame: ``,0,1,2,...``.

    ``to_csv`` writes it by default (an index and a header: an empty cell over the index, then
    the columns counted from 0), the most common CSV of an array, and it was told only as a
    value that is no number, the empty cell, where a header alone or an index alone is named.
    """
    first, *rest = (cell.strip() for cell in cells)
    if first not in ("", '""') or not rest:
        return
    names = [cell[1:-1] if _in_quotes(cell) else cell for cell in rest]
    counted = _numbers(names)
    if counted is not None and len(rest) >= _LEAST_HEADER_COLUMNS:
        if not np.array_equal(counted, np.arange(len(rest))):
            return
        header = f"0, 1, ..., {len(rest) - 1}"
    elif counted is None and not any(map(_reads_as_number, names)):
        # Named columns (``px0,px1,...``): the empty cell alone was named, as no number.
        header = ", ".join(map(_quoted, names[:2])) + (", ..." if len(names) > 2 else "")
    else:
        return
    raise InvalidRequestError.single(
        field,
        f"{shown_path(file)}: line 1 is a header over an index column (an empty cell, then "
        f"{header}), as to_csv writes a frame by default, not a sample: write it with "
        "to_csv(index=False, header=False), or drop that line and the first column",
    )


def _check_finite(file: Path, field: str, number: int, cells: list[str], row: _Floats) -> None:
    """Refuse a CSV line's value that is no finite number, quoting it with its line and column.

    A number past float64 is told so (:func:`_check_overflow`); a ``nan`` or ``inf`` the file
    writes is told where the file has it: left to the passes, it was told by its sample, which
    counts from 0 and skips blank lines ("sample 10" of a value on line 13).
    """
    missing = np.flatnonzero(~np.isfinite(row))
    if not missing.size:
        return
    _check_overflow(file, field, number, cells, row)
    column = int(missing[0])
    raise InvalidRequestError.single(
        field,
        f"{shown_path(file)}: line {number} holds {_quoted(cells[column].strip())} (column "
        f"{column + 1}): every value must be a finite number (nothing is dropped; clean or remove "
        "that line)",
    )


def _check_overflow(file: Path, field: str, number: int, cells: list[str], row: _Floats) -> None:
    """Refuse a CSV line's first infinite value when its text is a finite number past float64.

    ``float("1e400")`` is ``inf``: left to the passes, it was told as "sample 0, location 0 is
    inf", a value the file does not hold. An ``inf`` the file writes is left to the caller.
    """
    infinite = np.flatnonzero(np.isinf(row))
    if not infinite.size:
        return
    cell = cells[int(infinite[0])].strip()
    if cell.lstrip("+-").lower().startswith("inf"):
        return
    raise InvalidRequestError.single(
        field,
        f"{shown_path(file)}: line {number} holds {_quoted(cell)} (column "
        f"{int(infinite[0]) + 1}), past the float64 range (about 1.8e308): every value must be a "
        "finite number",
    )


def _in_quotes(cell: str) -> bool:
    """Whether a CSV cell is written in double quotes: pandas' ``QUOTE_ALL`` writes ``"0.125"``.

    A line of such cells is read without them; refused, ``"0.125"`` was told as no number.
    """
    text = cell.strip()
    return len(text) >= 2 and text[0] == text[-1] == '"'


def _numbers(cells: list[str]) -> _Floats | None:
    """Return a CSV line's cells as numbers, or None when one is none (:func:`_reads_as_number`).

    ``float`` reads the whole line at C speed; the spellings only Python reads are told from the
    line's text at once, not cell by cell.
    """
    if _python_spelling(",".join(cells)):
        return None
    try:
        return np.fromiter(map(float, cells), dtype=np.float64, count=len(cells))
    except ValueError:
        return None


def _quoted(text: str) -> str:
    """Quote ``text``, cut to :data:`_QUOTED_CHARACTERS` with its length when longer.

    A line separated otherwise than by commas is one value: quoted whole, a line of a thousand
    numbers made an error line of ten thousand characters.
    """
    if len(text) <= _QUOTED_CHARACTERS:
        return repr(text)
    return f"{text[:_QUOTED_CHARACTERS]!r}... of {len(text):,} characters"


def _separator_note(cells: list[str]) -> str:
    """Say which separator a line of one value, ``cells``, uses when it is numbers so separated.

    A line with commas is left alone: its odd value is no other separator's doing (``0,5;1,2``
    is decimal commas, which no separator note fixes).
    """
    if len(cells) != 1:
        return ""
    for separator, name in _SEPARATORS:
        parts = cells[0].split(separator)
        if len(parts) > 1 and all(_reads_as_number(part) for part in parts):
            return f" (the line's values are separated by {name}: separate them by commas)"
    return ""


def csv_labels(file: Path) -> tuple[npt.NDArray[np.generic], _Ints]:
    """Read a CSV file of labels, all numbers or all names, and the line of each (row-major).

    Names (``cat``, ``true``) are returned as written, to be made classes by the caller's rule
    for every format (:func:`~advisor.infer.class_labels.read_labels` strips them); numbers are
    checked as classes by the caller (a NaN or a fraction is no class). A file mixing the two is
    refused, naming the first label whose kind differs from the first label's: read as names,
    ``1`` and ``1.0`` would be two classes and a ``nan`` or ``0.5`` no error; read as numbers,
    the names could not be. Which one the file means is unclear (a header line, a stray value).
    An empty cell (``cat,``) is refused too, not read as a class named ``''``, and so is a
    number past float64 (``1e400``), quoted with its line as the data's is
    (:func:`_check_overflow`), not told as the ``inf`` the file does not hold.
    """
    rows: list[list[str]] = []
    line_numbers: list[int] = []  # the file's line of each row, for an error to name
    first: tuple[int, str, bool] | None = None
    longest = (0, 0)  # the longest label's characters and line
    for number, row in _csv_lines(file, "labels", labels=True):
        for cell in row:
            longest = max(longest, (len(cell), -number))
            text = cell.strip()  # what the cell says: ' 1' is a number, '  ' no label
            if not text:  # read as a name it would be a class of its own, named ''
                raise InvalidRequestError.single(
                    "labels",
                    f"{shown_path(file)}: line {number} holds an empty label; give "
                    "every sample one",
                )
            numeric = _reads_as_number(text)
            if first is None:
                first = (number, text, numeric)
            elif numeric != first[2]:
                kind, among = ("number", "names") if numeric else ("name", "numbers")
                header = numeric and first[0] == 1 and number == first[0] + 1
                raise InvalidRequestError.single(
                    "labels",
                    f"{shown_path(file)}: line {number} holds the {kind} {text!r} among {among} "
                    f"(line {first[0]}: {first[1]!r}): a CSV's labels must be all numbers or all "
                    f"names{'; if line 1 is a header, drop it' if header else ''}",
                )
        rows.append(row)
        line_numbers.append(number)
    assert first is not None, "_csv_lines refuses a file without rows"
    lines = np.repeat(np.asarray(line_numbers, dtype=np.int64), len(rows[0]))
    if first[2]:
        numbers = [np.array([float(cell) for cell in row], dtype=np.float64) for row in rows]
        for number, row, values in zip(line_numbers, rows, numbers, strict=True):
            _check_overflow(file, "labels", number, row, values)
        return np.stack(numbers), lines
    count = sum(map(len, rows))
    # NumPy gives every name the room of the longest, 4 bytes a character: a 220 kB file of one
    # 200,000-character name and 9,999 short ones asked for 7.45 GiB.
    size = count * np.dtype((np.str_, longest[0])).itemsize
    limit = file_sizes.MAX_PARSED_BYTES
    if size > limit:
        raise InvalidRequestError.single(
            "labels",
            f"{shown_path(file)}: its {count:,} names, each given the room of the longest "
            f"({longest[0]:,} characters, line {-longest[1]}), are {file_sizes.bytes_text(size)} "
            f"as an array, over the limit of {file_sizes.bytes_text(limit)} for an array read "
            "whole; shorten the names or number the classes",
        )
    return np.asarray(rows, dtype=np.str_), lines


def _python_spelling(text: str) -> bool:
    """Whether ``text`` spells a number as only Python does: digits grouped by ``_`` or not ASCII.

    ``float`` reads ``1_000`` as 1000 and ``١٢`` (Arabic-Indic digits) as 12; no CSV writer
    writes a number so, and other readers (NumPy's, pandas') read them as text, so such a value
    is more likely an id or a name than a number: read as one, it was silently changed.
    """
    return "_" in text or not text.isascii()


def _reads_as_number(text: str) -> bool:
    """Whether ``text`` is a number as a CSV writes one.

    As ``float`` reads it (``nan`` too: the caller refuses it), but for the spellings only
    Python reads (:func:`_python_spelling`).
    """
    if _python_spelling(text):
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_lines(file: Path, field: str, labels: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Yield a CSV file's non-blank lines as (line number, comma-separated cells).

    A UTF-8 byte-order mark at the start and each line's end are skipped. ``labels``: each
    line's cells as Python's ``csv`` module writes them, so a quoted name may hold a comma
    (``"big, cat"``) and ``""``, a missing label as pandas writes one, is empty; and a blank
    line before the last label is refused, as an empty label is (:func:`csv_labels`): skipped,
    every label after it was a sample's before it, or the count was one short with no line
    named.

    Refuses (on ``field``) an unreadable file, rows of different lengths (the first line that
    differs) and a file without rows.
    """
    width: int | None = None
    blank: int | None = None  # the first blank line since the last row
    try:
        # utf-8-sig: a byte-order mark (spreadsheets write one) is no part of the first value;
        # read as one, it made the first number unreadable and the first name a class of its own.
        with file.open(encoding="utf-8-sig") as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    blank = number if blank is None and width is not None else blank
                    continue
                if labels and blank is not None:
                    raise InvalidRequestError.single(
                        field,
                        f"{shown_path(file)}: line {blank} holds an empty label; give every "
                        "sample one",
                    )
                text = line.removesuffix("\n")
                cells = next(csv.reader([text])) if labels else text.split(",")
                if width is None:
                    width = len(cells)
                elif len(cells) != width:
                    raise InvalidRequestError.single(
                        field,
                        f"{shown_path(file)}: ragged rows: line {number} has {len(cells)} values, "
                        f"the first row {width}",
                    )
                yield number, cells
    except UnicodeDecodeError:
        # A binary file named .csv (an .npy copied to data.csv) said only that a codec could
        # not decode byte 0x93, which does not tell the user the file is no text at all; the
        # error's offset counts from the piece the reader decoded, so the file says where.
        where = not_utf8_in(file) or "a byte is not UTF-8 text"
        advice = looks_like(file, ".csv") or "; for a NumPy array use .npy or .npz"
        raise InvalidRequestError.single(
            field,
            f"{shown_path(file)}: is not a UTF-8 text file ({where}): a .csv holds "
            f"comma-separated values as text{advice}",
        ) from None
    except OSError as error:
        raise InvalidRequestError.single(
            field, f"{shown_path(file)}: {read_problem(error)}"
        ) from None
    if width is None:
        raise InvalidRequestError.single(field, f"{shown_path(file)}: no rows")
