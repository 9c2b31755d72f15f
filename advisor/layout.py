"""Text laid out for people: tables and prose within the terminal's width.

The one layout of every table the project prints: the ``advisor`` command's results and
``infer``'s report, and the results' own display in a notebook or the IPython shell
(:class:`TableDisplay`), which show the table the command prints. Text is measured as it is
shown (:func:`_shown`) and within :func:`~advisor.stdout.terminal_columns`.
It loads the standard library and :mod:`advisor.stdout` only, so a result's model loads no more.
"""

from __future__ import annotations

import html
import itertools
import textwrap
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from advisor.stdout import NARROWEST_TEXT, as_shown, printable, terminal_columns, text_columns

__all__ = ["TableDisplay", "TableHints", "packed", "table", "wrapped"]

_PROSE_COLUMN: Final = NARROWEST_TEXT // 2
"""The narrowest a table's prose column (a preset's description) wraps within."""

_SPACES: Final = str.maketrans("\t\n\x0b\x0c\r", "     ")
"""The white space prose wraps at, each a space (as :func:`textwrap.wrap` makes it)."""


@dataclass(frozen=True)
class TableHints:
    """How a search result's table tells its reader to see more, in the reader's own terms.

    ``explain``: the closing paragraph of a table that gives each design's summary, saying
    where the whole rationales are; ``next_page``: the line naming the next page's token,
    ``{token}`` standing for it. The ``advisor`` command names its options, the library its
    fields (:data:`advisor.model.results.LIBRARY_HINTS`).
    """

    explain: str
    next_page: str


class _Printer(Protocol):
    """What ``_repr_pretty_`` writes to: IPython's ``RepresentationPrinter`` (IPython optional)."""

    def text(self, obj: str) -> None: ...


class TableDisplay:
    """A result shown as its table in a notebook and the IPython shell, as the command prints it.

    A subclass says its table in :meth:`as_table`. Its repr stays the dataclass' or the list's
    (every field, valid Python); IPython's rich display shows the table instead: ``_repr_html_``
    in a notebook (the table preformatted, every name escaped, so a correlation named
    ``<script>`` reads as written) and ``_repr_pretty_`` in the IPython shell and as the
    notebook's plain text. The repr of a search result, every design's whole rationale, ran to
    8,329 characters for two designs.
    """

    def __init_subclass__(cls) -> None:
        # IPython looks along a class' bases in order for one's own _repr_pretty_, or else its
        # own __repr__: a dataclass' __repr__, the subclass' own, came before this base's.
        super().__init_subclass__()
        cls._repr_pretty_ = TableDisplay._repr_pretty_  # type: ignore[method-assign]

    def as_table(self) -> str:
        """Return the table the ``advisor`` command prints for this result."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.as_table())}</pre>"

    def _repr_pretty_(self, printer: _Printer, cycle: bool) -> None:
        # A result holds no other result, so there is no cycle to break; the shell adds the end.
        printer.text(self.as_table().removesuffix("\n"))


def packed(fields: Sequence[str], first: str, rest: str, separator: str = "  ") -> list[str]:
    """Lay ``fields`` out ``separator`` apart, a field that would pass the width on a new line.

    A recommendation's header and shape lines as one line each ran past an 80-column terminal
    (83 columns for ``#3  interleaved  depth 4 ...``, more with a padding or a mixture); a
    field is split only where it is wider than a line on its own, as prose is (:func:`wrapped`:
    the activations' ``15,028,737 activations per input (1.79 GiB a float32 batch of 32)``,
    which wraps within), so ``7,901,408 multiply-adds`` reads whole. ``analyze``'s costs line
    is such fields one space apart, each but the last ending in a comma: wrapped as prose, it
    split ``(14.9`` from ``MiB a float32 batch of 32)``.
    """
    width = text_columns()
    lines = [first + _shown(fields[0])]
    for field in map(_shown, fields[1:]):
        if _display_width(lines[-1]) + len(separator) + _display_width(field) <= width:
            lines[-1] += separator + field
        elif _display_width(rest + field) > width:
            lines.extend(wrapped(field, rest, rest))
        else:
            lines.append(rest + field)
    return lines


def wrapped(text: str, first: str, rest: str) -> list[str]:
    """Wrap prose within the terminal's width, at spaces only: a break at a hyphen split names.

    (``--max-macs``, a correlation named ``odd-even``, ``center_surround/center-border``, which
    a reader copies.) ``first`` starts the first line, ``rest`` every other; every text the
    command prints for people wraps here (results, ``infer``'s report), so all fit one width.
    """
    return textwrap.wrap(
        _shown(text.expandtabs().translate(_SPACES)),
        width=text_columns(),
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right_aligned: Collection[int] = (),
    prose_last: bool = False,
    indent: str = "",
    blocks: Collection[int] = (),
) -> list[str]:
    """Lay ``rows`` out in columns under ``headers``, two spaces apart, each line after ``indent``.

    A table wider than the terminal (:func:`terminal_columns`) wraps its first column, the names,
    at spaces within the room the other columns leave (further lines two spaces in, the other
    cells blank), never below its longest word: a task's ``data: ...`` correlations ran a
    recommendation's table to 113 columns. A name is never shortened, as it is given nowhere
    else; one without spaces is left whole. A table still too wide, its names at their
    narrowest, goes on in further tables of the names and the columns that did not fit, each
    under its own header (:func:`_column_groups`): a mixture's column per member ran its
    figures to 84 columns with two members, and past 100 with bounds or more members.
    ``blocks``: the columns that start a block kept in one table where it fits (a mixture's
    member columns, read side by side); every column is a block of its own otherwise.

    ``prose_last``: the last column is prose (a preset's description), wrapped at spaces so its
    lines end within prose's width (:func:`~advisor.stdout.text_columns`), its further lines
    under its first: unwrapped, a description ran up to 116 columns, past the edge of an
    80-column terminal; wrapped within 96 columns of its own, its lines ran to 116 on a wide one.
    """
    # Measured and laid out as printed, names escaped where standard output cannot take them.
    rows = [[_shown(cell) for cell in row] for row in rows]
    widths = [
        max(_display_width(cell) for cell in column) for column in zip(headers, *rows, strict=True)
    ]
    room = terminal_columns() - _display_width(indent)
    prose_room = text_columns() - _display_width(indent)  # where a prose line ends
    if prose_last:  # it wraps as narrow as it must, after the names: count it at its floor
        widths[-1] = min(widths[-1], _PROSE_COLUMN)
    names = [headers[0], *(row[0] for row in rows)]
    laid: list[str] = []
    for group in _column_groups(widths, names, room, blocks):
        shown = [0, *group]
        group_widths = [widths[index] for index in shown]
        group_widths[0] = _names_width(group_widths, names, room)
        start = sum(group_widths[:-1]) + 2 * (len(group_widths) - 1)
        prose = max(prose_room - start, _PROSE_COLUMN)
        last_is_prose = prose_last and group[-1] == len(widths) - 1
        for cells in [headers, *rows]:
            laid += _row_lines(
                [cells[index] for index in shown],
                group_widths,
                [index in right_aligned for index in shown],
                prose if last_is_prose else None,
                indent,
            )
    return laid


def _row_lines(
    cells: Sequence[str],
    widths: Sequence[int],
    right: Sequence[bool],
    prose: int | None,
    indent: str,
) -> list[str]:
    """Lay one row of a table out: its name wrapped within ``widths[0]``, the cells padded.

    ``right`` says which cells align right; ``prose`` is the width the last cell, prose, wraps
    within (None: it is a figure, left whole).
    """
    columns = [_cell_lines(cells[0], widths[0], "  "), *([cell] for cell in cells[1:])]
    if prose is not None:
        columns[-1] = _cell_lines(cells[-1], prose, "")
    laid = []
    for line in itertools.zip_longest(*columns, fillvalue=""):
        padded = []
        for cell, width, rightward in zip(line, widths, right, strict=True):
            fill = " " * (width - _display_width(cell))
            padded.append(fill + cell if rightward else cell + fill)
        laid.append((indent + "  ".join(padded)).rstrip())
    return laid


def _column_groups(
    widths: Sequence[int], names: Sequence[str], room: int, blocks: Collection[int]
) -> list[list[int]]:
    """Split a table's columns after the names into groups that fit ``room`` beside the names.

    The names count at their narrowest (:func:`_names_width`: their longest word, or their
    width). Each group takes the next block of columns (``blocks`` start one, as does the
    first column after the names) while it fits, a block that fits no group alone column by
    column, and at least one column. A table that fits is one group of every column, laid out
    as it always was.
    """
    word = max(_display_width(word) for name in names for word in name.split() or [""])
    narrowest = min(widths[0], word + 2)
    starts = sorted({1, *(b for b in blocks if 1 < b < len(widths)), len(widths)})
    groups: list[list[int]] = [[]]
    used = narrowest
    for first, end in itertools.pairwise(starts):
        block = range(first, end)
        size = sum(2 + widths[index] for index in block)
        if groups[-1] and used + size > room and narrowest + size <= room:
            groups.append([])
            used = narrowest
        for index in block:
            if groups[-1] and used + 2 + widths[index] > room:
                groups.append([])
                used = narrowest
            groups[-1].append(index)
            used += 2 + widths[index]
    return groups


def _names_width(widths: Sequence[int], names: Sequence[str], room: int) -> int:
    """Return the width of a table's first column: its widest name, or less to fit ``room``.

    Less by what the table is wider than ``room``, down to the longest word of a name and the
    two spaces its further lines start with.
    """
    over = sum(widths) + 2 * (len(widths) - 1) - room
    if over <= 0:
        return widths[0]
    word = max(_display_width(word) for name in names for word in name.split() or [""])
    return min(widths[0], max(widths[0] - over, word + 2))


def _cell_lines(text: str, width: int, further: str) -> list[str]:
    """Wrap a cell's ``text`` at spaces within ``width``, its further lines after ``further``.

    Text that fits is left as it is.
    """
    if _display_width(text) <= width:
        return [text]
    return textwrap.wrap(
        text,
        width=width,
        subsequent_indent=further,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [text]


def _shown(text: str) -> str:
    r"""Return ``text`` as a table or prose shows it: a control or format character escaped.

    What a result says comes from wherever it was made, a server too, whose summary and
    rationale reach the terminal through here (the command's table, the IPython shell): an
    escape sequence in one recoloured the terminal or set its title (``\x1b]0;...\x07``),
    a carriage return in a cell wrote over its line. Each is Python's escape
    (:func:`~advisor.stdout.printable`), then as standard output shows it
    (:func:`~advisor.stdout.as_shown`).
    """
    return as_shown(printable(text))


def _display_width(text: str) -> int:
    """Count the terminal columns ``text`` takes, so that a column of CJK names lines up.

    East Asian wide and fullwidth characters take two columns, combining marks none (they sit on
    the character before), every other character one; ``len`` counts each as one.
    """
    width = 0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            width += 2
        elif unicodedata.category(char) not in ("Mn", "Me"):
            width += 1
    return width
