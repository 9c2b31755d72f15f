"""The tables fit the terminal they are read in: prose wraps within ``COLUMNS``, as people see it.

Prose wrapped at a fixed 96 columns ran past the edge of an 80-column terminal on every line,
which then broke the words wherever the edge fell.
"""

from __future__ import annotations

import itertools

import pytest

from advisor.cli.format import render_analysis, render_presets, render_search_result
from advisor.model.budget import Budget
from advisor.model.results import (
    Analysis,
    Certificate,
    CorrelationAnalysis,
    MemberFigure,
    SearchResult,
)
from advisor.model.task import list_presets, parse_task
from advisor.search.recommend import recommend

_TASK = {"input": {"shape": [16, 16]}, "preset": "symmetry"}


@pytest.fixture(scope="module")
def result() -> SearchResult:
    """A search whose rationales run to many lines, its #3's header to 83 columns."""
    return recommend(
        parse_task(_TASK), Budget(max_parameters=200_000, top_k=3, time_limit_seconds=30)
    )


def _prose(table: str) -> list[str]:
    """The lines of the ``why:`` paragraphs and of the hint after them."""
    return [line for line in table.splitlines() if line.startswith(("    why: ", "         "))]


@pytest.mark.parametrize("columns", [80, 60])
@pytest.mark.parametrize("explain", [False, True])
def test_the_why_paragraphs_wrap_within_the_terminal(
    result: SearchResult, columns: int, explain: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    table = render_search_result(result, "table", explain=explain)
    prose = _prose(table)
    assert len(prose) > 2 * len(result.recommendations)
    assert all(len(line) <= columns for line in prose), table
    said = " ".join(line.strip() for line in prose).replace("why: ", "")
    for recommendation in result.recommendations:
        assert (recommendation.rationale if explain else recommendation.summary) in said


def test_every_line_of_the_table_fits_80_columns_its_headers_broken_between_fields(
    result: SearchResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    wide, table = _wide_and_at(result, 80, monkeypatch)
    assert all(len(line) <= 80 for line in table.splitlines()), table
    # A header broken over more lines reads, joined, as it does on fewer (96 columns at most).
    headers = [line for line in wide.splitlines() if line.startswith("#")]
    for header in headers:
        fields = [_header(text, header.split("  ")[0]) for text in (table, wide)]
        assert fields[0] == fields[1]
    assert any(len(header) > 80 for header in headers)


def test_a_header_field_wider_than_the_terminal_wraps_as_the_analysis_costs_do(
    result: SearchResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 40 columns the activations' field, "... activations per input (... a float32 batch of
    # 32)", ran past the edge where analyze's costs line wrapped the same sentence.
    wide, table = _wide_and_at(result, 40, monkeypatch)
    headers = [line for line in wide.splitlines() if line.startswith("#")]
    for header in headers:
        rank = header.split("  ")[0]
        start = table.index(rank + "  ")
        narrow = table[start : table.index("    representation", start)].splitlines()
        assert len(narrow) > 1 and all(len(line) <= 40 for line in narrow), narrow
        assert _header(table, rank) == _header(wide, rank)


def _wide_and_at(
    result: SearchResult, columns: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """Return ``result``'s table on a terminal of 200 columns, then on one of ``columns``."""
    tables = []
    for width in (200, columns):
        monkeypatch.setenv("COLUMNS", str(width))
        tables.append(render_search_result(result, "table"))
    return tables[0], tables[1]


def _header(table: str, rank: str) -> str:
    """Return the header of the design ``rank`` (``#1``) in ``table``, its lines joined."""
    start = table.index(rank + "  ")
    return " ".join(table[start : table.index("    representation", start)].split())


def test_the_analysis_paragraph_wraps_within_the_terminal(
    result: SearchResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    best = result.recommendations[0]
    assert best.efficiency is not None
    analysis = Analysis(best.parameters, best.multiply_adds, best.analysis, best.efficiency)
    table = render_analysis(analysis, "table")
    paragraph = table.split("\n\n")[-1].splitlines()
    assert len(paragraph) > 1
    assert all(len(line) <= 80 for line in paragraph), table
    assert " ".join(paragraph) == best.efficiency.summary(best.analysis)


@pytest.mark.parametrize(("columns", "widest"), [(80, 80), (120, 96)])
def test_the_presets_descriptions_wrap_under_their_column_within_prose_s_width(
    columns: int, widest: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within the terminal, and within prose's 96 columns on a wider one, as ``recommend``'s."""
    monkeypatch.setenv("COLUMNS", str(columns))
    presets = list_presets()
    table = render_presets(presets, "table").splitlines()
    assert all(len(line) <= widest for line in table), "\n".join(table)
    column = table[0].index("description")
    descriptions: list[str] = []
    for line in table[1:]:
        if line[:column].strip():
            descriptions.append(line[column:])
        else:
            descriptions[-1] += " " + line[column:]
    assert descriptions == [p.description.partition("\n")[0] for p in presets]


def test_a_padded_analysis_says_its_costs_within_80_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = parse_task({"input": {"shape": [15, 15]}, "preset": "symmetry"})
    (best,) = recommend(task, Budget(max_parameters=5000, top_k=1)).recommendations
    assert best.architecture.padded
    analysis = Analysis(best.parameters, best.multiply_adds, best.analysis, best.efficiency)
    monkeypatch.setenv("COLUMNS", "80")
    costs = render_analysis(analysis, "table", best.architecture).split("\n\n")[0]
    assert all(len(line) <= 80 for line in costs.splitlines()), costs
    assert " ".join(costs.split()) == (
        f"{best.parameters:,} parameters, {best.multiply_adds:,} multiply-adds, on the input "
        "padded to 16x16 (margins 0/1 0/1)"
    )


def test_a_table_of_long_names_wraps_them_within_the_terminal_and_keeps_them_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Names as recommend --data gives them ran a recommendation's table to 113 columns: the
    # names wrap at spaces within the room the figures leave, and read whole when joined.
    names = [
        "data: arranged: columns 0,2,5,7 vs 1,3-4,6 (mirrored at the centre)",
        "data: locations (0, 0) vs (7, 0)",
        "local/columns-s2-mirrored",
    ]
    box = {"box": {"start": [0, 0], "stop": [8, 4]}}
    task = parse_task(
        {"input": {"shape": [8, 8]}, "correlations": [{"name": n, "a": box} for n in names]}
    )
    (best,) = recommend(task, Budget(max_parameters=20_000, top_k=1)).recommendations
    wide, table = _wide_and_at(SearchResult([best], 1, 0.0, True), 80, monkeypatch)
    assert any(len(line) > 80 for line in wide.splitlines())
    assert all(len(line) <= 80 for line in table.splitlines()), table
    rows = table.split("    correlation")[1].split("    why:")[0].splitlines()[1:]
    read: list[str] = []
    for row in rows:
        name = row[4:].split("  ")[0] if not row.startswith("      ") else None
        if name is None:
            read[-1] += " " + row.strip()
        else:
            read.append(name)
    assert read == names, table
    # The figures stay on each name's first line, as they read unwrapped.
    firsts = [line for line in rows if not line.startswith("      ")]
    wide_rows = wide.split("    correlation")[1].split("    why:")[0].splitlines()[1:]
    assert [line.split()[-4:] for line in firsts] == [line.split()[-4:] for line in wide_rows]


def test_an_empty_pages_reason_wraps_within_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # The header of a page a stopped search left empty ran to 183 columns with its reason.
    empty = SearchResult([], 0, 0.01, False)
    assert empty.empty_reason is not None
    monkeypatch.setenv("COLUMNS", "80")
    table = render_search_result(empty, "table")
    assert all(len(line) <= 80 for line in table.splitlines()), table
    assert " ".join(table.split()) == (
        f"0 recommendations from 0 candidates in 0.01 s (search {empty.empty_reason})"
    )


@pytest.mark.parametrize("members", [2, 8])
def test_a_mixtures_member_columns_go_on_under_their_own_header_within_80_columns(
    members: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mixture's column per member ran its analysis to 84 columns with two members (names
    # without spaces, which do not wrap), and past 100 with bounds or more members.
    names = ["symmetry/alternate", "local/s1-mirrored"]
    figures: list[tuple[float, Certificate]] = [(1874.42, "upper_bound"), (64.0, "tight")]
    correlations = [
        CorrelationAnalysis(
            name,
            rank,
            2347.51,
            "upper_bound",
            members=tuple(MemberFigure(rank - index, certificate) for index in range(members)),
        )
        for name, (rank, certificate) in zip(names, figures, strict=True)
    ]
    analysis = Analysis(107_249, 12_660_896, correlations)
    monkeypatch.setenv("COLUMNS", "1000")
    wide = render_analysis(analysis, "table").splitlines()[2:]
    assert len(wide) == 3 and len(wide[0]) > 80
    monkeypatch.setenv("COLUMNS", "80")
    table = render_analysis(analysis, "table").splitlines()[2:]
    assert all(len(line) <= 80 for line in table), "\n".join(table)
    # Every part repeats the names under its header; read side by side, the parts are the
    # one wide table, the mixture's own figures first, then its members' as a block.
    parts = [index for index, line in enumerate(table) if line.startswith("correlation ")]
    assert len(parts) > 1 and parts[0] == 0
    assert table[0] == "correlation         weight  log2 rank  log2 max  certificate"
    if members == 2:
        assert table[parts[1]] == "correlation         member 0             member 1"
    joined = [wide[0].split()[:1], *([name] for name in names)]
    for start, end in itertools.pairwise([*parts, len(table)]):
        for row, line in zip(joined, table[start:end], strict=True):
            cells = line.split()
            assert cells[0] == row[0]
            row += cells[1:]
    assert [" ".join(row) for row in joined] == [" ".join(line.split()) for line in wide]
