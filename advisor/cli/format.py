"""Rendering of results for the ``advisor`` command: a table for people, JSON or YAML for programs.

The JSON and YAML documents are the library's (:mod:`advisor.export.document`): docs/FORMATS.md's
field names, every architecture in the architecture *file* format, so the ``architecture`` of a
recommendation can be saved as it is and passed to ``advisor analyze --arch``. The table shows
the same facts laid out for reading.
"""

from __future__ import annotations

import itertools
import math
import textwrap
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from advisor.cli.options import OutputFormat
from advisor.cli.output import as_shown, stdout_document
from advisor.export.document import analysis_document, presets_document, search_result_document
from advisor.model.architecture import Architecture
from advisor.model.results import (
    Analysis,
    Certificate,
    CorrelationAnalysis,
    Efficiency,
    Recommendation,
    SearchResult,
)
from advisor.model.task import PresetInfo
from advisor.stdout import NARROWEST_TEXT, terminal_columns, text_columns

__all__ = ["render_analysis", "render_presets", "render_search_result", "table", "wrapped"]

_PROSE_COLUMN = NARROWEST_TEXT // 2
"""The narrowest a table's prose column (a preset's description) wraps within."""
_EXPLAIN_HINT = (
    "why: each design's summary; --explain prints the whole rationales (the score's parts, the "
    "contiguous and shallow nets at this budget, what 10% more budget buys)"
)
_PLAIN_LIMIT = 1e9
_PLAIN_FLOOR = 0.01
_WHOLE = 1e-9
"""A log2 figure this close to a whole number is one (figures carry 9 decimals)."""
_T = TypeVar("_T")


def render_search_result(
    result: SearchResult, output_format: OutputFormat, explain: bool = False
) -> str:
    """Render a recommendation result in ``output_format``.

    The table says why each design in its ``summary``, or with ``explain`` its whole rationale
    (the documents hold both).
    """
    return _render(
        result,
        output_format,
        search_result_document,
        lambda r: _search_result_table(r, explain),
    )


def render_analysis(
    analysis: Analysis, output_format: OutputFormat, architecture: Architecture | None = None
) -> str:
    """Render an analysis in ``output_format``.

    The table says the analysed ``architecture``'s padding, which its costs count (the
    documents leave it to the architecture file).
    """
    return _render(
        analysis, output_format, analysis_document, lambda a: _analysis_table(a, architecture)
    )


def render_presets(presets: Sequence[PresetInfo], output_format: OutputFormat) -> str:
    """Render the preset list in ``output_format``."""
    return _render(presets, output_format, presets_document, _presets_table)


def _render(
    value: _T,
    output_format: OutputFormat,
    document: Callable[[_T], Mapping[str, Any]],
    as_table: Callable[[_T], str],
) -> str:
    if output_format == "table":
        return as_table(value)
    return stdout_document(document(value), output_format)


def _search_result_table(result: SearchResult, explain: bool) -> str:
    count = len(result.recommendations)
    state = result.empty_reason or (
        "complete" if result.complete else "stopped early: the best found so far"
    )
    candidates = result.candidates_evaluated
    # Wrapped as prose: an empty page's reason ran the line to 183 columns.
    lines = wrapped(
        f"{count} recommendation{'' if count == 1 else 's'} from "
        f"{candidates:,} candidate{'' if candidates == 1 else 's'} in "
        f"{result.search_seconds:.2f} s (search {state})",
        "",
        "",
    )
    scores = _scores_apart([r.score for r in result.recommendations])
    for recommendation, score in zip(result.recommendations, scores, strict=True):
        lines.append("")
        lines.extend(_recommendation_lines(recommendation, score, explain))
    if not explain and any(r.summary != r.rationale for r in result.recommendations):
        lines.extend(["", *wrapped(_EXPLAIN_HINT, "", "")])
    if result.next_page_token is not None:
        lines.extend(["", f"next page: --page-token {result.next_page_token}"])
    return "\n".join(lines) + "\n"


def _scores_apart(scores: Sequence[float]) -> list[str]:
    """Write ranked scores with 4 significant digits, or more (up to 12) where neighbours differ.

    Every two neighbours that differ read differently: "score 1" above "score 1" would
    contradict the rule that gives equal scores to the larger net (1.0 against 0.999983).
    """
    for digits in range(4, 13):
        texts = [f"{score:.{digits}g}" for score in scores]
        if all(
            a != b or x == y
            for (x, a), (y, b) in itertools.pairwise(zip(scores, texts, strict=True))
        ):
            break
    return texts


def _recommendation_lines(recommendation: Recommendation, score: str, explain: bool) -> list[str]:
    architecture = recommendation.architecture
    header = [
        f"#{recommendation.rank}",
        architecture.family or "custom",
        f"depth {len(architecture.layers)}",
        f"score {score}",
        f"{recommendation.parameters:,} parameters",
        f"{recommendation.multiply_adds:,} multiply-adds",
    ]
    shape = _shape_summary(architecture)
    if recommendation.dilations is not None:
        shape.append(f"dilations {' '.join(map(str, recommendation.dilations))}")
    lines = [*_packed(header, "", "    "), *_packed(shape, "    ", "    ")]
    lines.extend(_correlation_table(recommendation.analysis, "    "))
    # A result from a producer that predates summaries has the rationale only.
    why = (
        recommendation.rationale
        if explain or not recommendation.summary
        else recommendation.summary
    )
    lines.extend(wrapped(why, "    why: ", "         "))
    return lines


def _packed(fields: Sequence[str], first: str, rest: str) -> list[str]:
    """Lay ``fields`` out two spaces apart, a field that would pass the width on a new line.

    A recommendation's header and shape lines as one line each ran past an 80-column terminal
    (83 columns for ``#3  interleaved  depth 4 ...``, more with a padding or a mixture); a
    field is never split, so ``7,901,408 multiply-adds`` reads whole.
    """
    width = text_columns()
    lines = [first + as_shown(fields[0])]
    for field in map(as_shown, fields[1:]):
        if _display_width(lines[-1]) + 2 + _display_width(field) <= width:
            lines[-1] += "  " + field
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
        as_shown(text),
        width=text_columns(),
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _padded(architecture: Architecture) -> str:
    """Say a padded architecture's grid and margins: ``padded to 16x16 (margins 0/1 0/1)``."""
    assert architecture.padding is not None and architecture.padded, "only a padded one has margins"
    margins = " ".join(f"{before}/{after}" for before, after in architecture.padding)
    return f"padded to {'x'.join(map(str, architecture.grid))} (margins {margins})"


def _shape_summary(architecture: Architecture) -> list[str]:
    """Return the fields of a recommendation's shape line: M, widths, pools, outputs and more."""
    widths = " ".join(str(layer.channels) for layer in architecture.layers)
    pools = " ".join("x".join(map(str, layer.pool)) for layer in architecture.layers)
    summary = [
        f"representation {architecture.representation}",
        f"widths {widths}",
        f"pools {pools}",
        f"outputs {architecture.outputs}",
    ]
    if architecture.padded:
        summary.append(_padded(architecture))
    if architecture.mixture is not None:
        members = len(architecture.mixture.members) + 1
        summary.append(
            f"mixture of {members} members, summed {architecture.mixture.summed_where()}"
        )
    return summary


def _analysis_table(analysis: Analysis, architecture: Architecture | None) -> str:
    costs = f"{analysis.parameters:,} parameters, {analysis.multiply_adds:,} multiply-adds"
    if architecture is not None and architecture.padded:
        costs += f", on the input {_padded(architecture)}"
    lines = [*wrapped(costs, "", ""), ""]
    lines.extend(_correlation_table(analysis.correlations))
    lines.extend(_efficiency_lines(analysis.efficiency, analysis.correlations))
    return "\n".join(lines) + "\n"


def _efficiency_lines(
    efficiency: Efficiency | None, correlations: Sequence[CorrelationAnalysis]
) -> list[str]:
    """Return the analysis table's closing paragraph: what shallow or contiguous nets would need."""
    if efficiency is None:
        return []
    return ["", *wrapped(efficiency.summary(correlations), "", "")]


def _correlation_table(correlations: Sequence[CorrelationAnalysis], indent: str = "") -> list[str]:
    """Tabulate the figures, each line after ``indent``; a mixture's get a column per member.

    A member's cell is its log2 rank and certificate (``64 tight``): the member whose figure
    reaches the mixture's carries the correlation (docs/FORMATS.md §3). A mixture's figures from
    a server that predates member figures (``members`` None) get a line saying so instead.
    """
    members = max((len(c.members or ()) for c in correlations), default=0)
    rows = [
        [
            c.name,
            _number(c.weight),
            _log2_rank(c.log2_separation_rank, c.certificate, c.log2_max_rank),
            _log2_number(c.log2_max_rank, up=True),
            c.certificate,
            *(
                f"{_log2_rank(m.log2_separation_rank, m.certificate, c.log2_max_rank)} "
                f"{m.certificate}"
                for m in c.members or ()
            ),
        ]
        for c in correlations
    ]
    headers = [
        "correlation",
        "weight",
        "log2 rank",
        "log2 max",
        "certificate",
        *(f"member {index}" for index in range(members)),
    ]
    # The members' columns are read side by side: kept together where they fit.
    lines = table(headers, rows, right_aligned={1, 2, 3}, indent=indent, blocks={5})
    if any(c.members is None for c in correlations):
        lines.append(f"{indent}member figures: not reported (the server predates them)")
    return lines


def _presets_table(presets: Sequence[PresetInfo]) -> str:
    # The first line of a description is its summary; the whole text is in JSON and YAML.
    rows = [[p.name, p.kind, p.description.partition("\n")[0]] for p in presets]
    return "\n".join(table(["name", "kind", "description"], rows, prose_last=True)) + "\n"


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

    ``prose_last``: the last column is prose (a preset's description), wrapped at spaces within
    the terminal's width (and prose's 96 columns), its further lines under its first:
    unwrapped, a description ran up to 116 columns, past the edge of an 80-column terminal.
    """
    # Measured and laid out as printed, names escaped where standard output cannot take them.
    rows = [[as_shown(cell) for cell in row] for row in rows]
    widths = [
        max(_display_width(cell) for cell in column) for column in zip(headers, *rows, strict=True)
    ]
    room = terminal_columns() - _display_width(indent)
    if prose_last:  # it wraps as narrow as it must, after the names: count it at its floor
        widths[-1] = min(widths[-1], _PROSE_COLUMN)
    names = [headers[0], *(row[0] for row in rows)]
    laid: list[str] = []
    for group in _column_groups(widths, names, room, blocks):
        shown = [0, *group]
        group_widths = [widths[index] for index in shown]
        group_widths[0] = _names_width(group_widths, names, room)
        start = sum(group_widths[:-1]) + 2 * (len(group_widths) - 1)
        prose = max(min(text_columns(), room - start), _PROSE_COLUMN)
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


def _log2_rank(value: float, certificate: Certificate, log2_max_rank: float) -> str:
    """Write a log2 rank as its certificate says: a bound rounded up, an exact rank to the nearest.

    An exact rank at the dimension bound is written as the bound is, so the two read alike (to
    the nearest, 5.61 beside 5.62 said the rank fell short of it). The mixture's figure and its
    members' go through here alike: a member's exact rank 3 was written rounded up, ``1.59``,
    beside the mixture's exact rank 3 written ``1.58``.
    """
    return _log2_number(value, up=certificate != "exact" or value == log2_max_rank)


def _log2_number(value: float, up: bool) -> str:
    """:func:`_number` for a log2 figure, which reads as a whole number only when it is one.

    A whole log2 is a power of two; two decimals of log2(511) = 8.997 are ``9.00``, which
    :func:`_number` would shorten to ``9``, a rank of 512. Such a figure keeps its zeros.
    ``up``: the figure is an upper bound (a ``tight`` or ``upper_bound`` rank, the dimension
    bound), written rounded up as the documents write it (docs/FORMATS.md §3), so it stays one:
    156.744 is ``156.75``, where the nearest, ``156.74``, would read below the bound.
    """
    whole = abs(value - round(value)) < _WHOLE
    if up and not whole and abs(value) < _PLAIN_LIMIT:
        value = math.ceil(value * 100 - _WHOLE) / 100
    text = _number(value)
    if "." in text or "e" in text or whole:
        return text
    return f"{value:.2f}"


def _number(value: float) -> str:
    """Two decimals, without trailing zeros: 48 -> ``48``, log2(3) -> ``1.58``; 1e308 -> ``1e+308``.

    Values of a billion and more (a weight a user wrote as ``1e308``) keep three significant
    digits, so a column is never hundreds of characters wide; so do values under a hundredth
    other than 0 (a weight of ``1e-5``), which two decimals would show as 0.
    """
    if abs(value) >= _PLAIN_LIMIT or 0 < abs(value) < _PLAIN_FLOOR:
        return f"{value:.3g}"
    return f"{value:.2f}".rstrip("0").rstrip(".")
