"""The tables fit the terminal they are read in: prose wraps within ``COLUMNS``, as people see it.

Prose wrapped at a fixed 96 columns ran past the edge of an 80-column terminal on every line,
which then broke the words wherever the edge fell.
"""

from __future__ import annotations

import pytest

from advisor.cli.format import render_analysis, render_presets, render_search_result
from advisor.model.budget import Budget
from advisor.model.results import Analysis, SearchResult
from advisor.model.task import list_presets, parse_task
from advisor.search.recommend import recommend

_TASK = {"input": {"shape": [16, 16]}, "preset": "symmetry"}


@pytest.fixture(scope="module")
def result() -> SearchResult:
    """A search whose rationales run to many lines."""
    return recommend(
        parse_task(_TASK), Budget(max_parameters=200_000, top_k=2, time_limit_seconds=30)
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


def test_the_presets_descriptions_wrap_under_their_column(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    presets = list_presets()
    table = render_presets(presets, "table").splitlines()
    assert all(len(line) <= 80 for line in table), "\n".join(table)
    column = table[0].index("description")
    descriptions: list[str] = []
    for line in table[1:]:
        if line[:column].strip():
            descriptions.append(line[column:])
        else:
            descriptions[-1] += " " + line[column:]
    assert descriptions == [p.description.partition("\n")[0] for p in presets]
