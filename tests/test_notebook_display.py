"""A result shows in a notebook and the IPython shell as the table the command prints.

Its repr, what a notebook showed, was every field: 8,329 characters for a search of two designs,
each design's whole rationale. IPython's rich display (``_repr_html_``, ``_repr_pretty_``) shows
the command's table instead, laid out by the one renderer (:meth:`SearchResult.as_table`,
:meth:`Analysis.as_table`, :meth:`InferenceReport.as_table`, :meth:`Presets.as_table`); the repr
stays the dataclass' (the list's).
IPython is not installed here: a stand-in printer takes its calls.
"""

from __future__ import annotations

import dataclasses
import html
import json
import pickle
import re

import numpy as np
import pytest

from advisor.cli.format import render_analysis, render_presets, render_search_result
from advisor.cli.infer import render_report
from advisor.errors import InvalidRequestError
from advisor.export.document import analysis_document, parse_analysis
from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.report import InferenceReport
from advisor.infer.task import infer_task
from advisor.model.architecture import parse_architecture
from advisor.model.budget import Budget
from advisor.model.results import Analysis, Recommendation, SearchResult
from advisor.model.task import PresetInfo, Presets, Task, list_presets, parse_task
from advisor.protocol import wire
from advisor.search.recommend import recommend
from advisor.seprank.analysis import analyze

_SCRIPT = "<script>alert(1)</script>"
_TASK = {
    "input": {"shape": [8]},
    "correlations": [
        {"name": _SCRIPT, "a": {"indices": [0, 1]}, "b": {"indices": [6, 7]}},
        {"name": "pair & co", "a": {"indices": [2]}, "b": {"indices": [3]}, "weight": 2},
    ],
}


class _Printer:
    """IPython's ``RepresentationPrinter`` as far as ``_repr_pretty_`` uses it."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def text(self, obj: str) -> None:
        self.written.append(obj)


@pytest.fixture(scope="module")
def task() -> Task:
    return parse_task(_TASK)


@pytest.fixture(scope="module")
def result(task: Task) -> SearchResult:
    return recommend(task, Budget(max_parameters=20_000, top_k=2, time_limit_seconds=None))


_Shown = SearchResult | Recommendation | Analysis | InferenceReport | Presets


@pytest.fixture(scope="module")
def mirrored() -> np.ndarray:
    """Mirrored columns of an 8x8 grid: the left half's column j and the right half's 7 - j."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(400, 8, 8))
    values[:, :, 4:] = values[:, :, 3::-1] + 0.3 * rng.normal(size=(400, 8, 4))
    return values


def _pretty(shown: _Shown) -> str:
    printer = _Printer()
    shown._repr_pretty_(printer, cycle=False)
    return "".join(printer.written)


def _html_text(shown: _Shown) -> str:
    """The text a notebook shows of the result's HTML, which is preformatted and escaped."""
    page = shown._repr_html_()
    match = re.fullmatch(r"<pre>(.*)</pre>", page, re.DOTALL)
    assert match is not None, page
    return html.unescape(match[1])


def _ipython_display_method(shown: type) -> str:
    """Name what IPython's shell shows a ``shown`` by, looking along the class' bases in order.

    As ``IPython.lib.pretty.RepresentationPrinter.pretty`` does: a base it prints itself (a
    ``list``), a base's own ``_repr_pretty_``, or else a base's own ``__repr__``.
    """
    for cls in shown.__mro__:
        if cls in (list, tuple, dict, set):
            return f"the {cls.__name__} printer"
        if "_repr_pretty_" in cls.__dict__:
            return "_repr_pretty_"
        if cls is not object and "__repr__" in cls.__dict__:
            return "__repr__"
    return "the default printer"


def test_a_search_result_shows_as_its_table(result: SearchResult) -> None:
    table = result.as_table()
    rows = table.splitlines()
    assert rows[0].startswith("2 recommendations from ")
    assert [row[:3] for row in rows if row.startswith("#")] == ["#1 ", "#2 "]
    assert sum(row.split() == ["correlation", "weight", "log2", "rank", "log2", "max",
                               "certificate"] for row in rows) == 2  # fmt: skip
    assert _pretty(result) == table.removesuffix("\n")
    assert _html_text(result) == table
    # The repr is still every field, the data the table leaves out included.
    assert repr(result).startswith("SearchResult(recommendations=[Recommendation(rank=1,")
    assert result.recommendations[0].rationale in repr(result)


def _split_at_hints(table: str) -> tuple[str, str]:
    """Return a search result's table before its closing hints, and the hints."""
    body, hint, hints = table.partition("\nwhy: each design's summary;")
    return body, hint + hints


def test_the_command_prints_the_same_table_but_for_where_to_see_more(
    result: SearchResult,
) -> None:
    shown, library_hints = _split_at_hints(result.as_table())
    printed, command_hints = _split_at_hints(render_search_result(result, "table"))
    assert shown == printed
    assert "recommendations[i].rationale" in library_hints and "budget.model_copy" in library_hints
    assert "--explain" in command_hints and "--page-token" in command_hints
    # With the whole rationales, only the next page's line differs.
    explained = result.as_table(explain=True).splitlines()
    assert explained[:-1] == render_search_result(result, "table", True).splitlines()[:-1]


def test_the_next_page_line_is_the_budget_that_asks_for_it(result: SearchResult) -> None:
    assert result.next_page_token is not None
    line = result.as_table().splitlines()[-1]
    assert (
        line == f'next page: budget.model_copy(update={{"page_token": "{result.next_page_token}"}})'
    )


def test_a_recommendation_shows_as_its_rows_of_the_search_table(result: SearchResult) -> None:
    for recommendation in result.recommendations:
        table = recommendation.as_table()
        rows, hint = _split_at_hint(table)
        # The design's rows are the search table's, word for word; its hint names its field.
        assert "\n\n" + rows + "\n\n" in result.as_table()
        assert rows.startswith(f"#{recommendation.rank}  ")
        assert ".rationale" in hint and "recommendations[i]" not in hint
        assert _pretty(recommendation) == table.removesuffix("\n")
        assert _html_text(recommendation) == table
        # With the whole rationale, the rows are the explained table's, and nothing follows.
        explained = recommendation.as_table(explain=True)
        assert "\n\n" + explained + "\n" in result.as_table(explain=True)
        assert repr(recommendation).startswith(f"Recommendation(rank={recommendation.rank},")


def _split_at_hint(table: str) -> tuple[str, str]:
    """Return a recommendation's table before its closing hint, and the hint."""
    rows, blank, hint = table.partition("\n\n")
    assert blank and hint.startswith("why: "), table
    return rows, hint


def test_html_escapes_the_names(result: SearchResult, task: Task) -> None:
    analysis = analyze(task, result.recommendations[0].architecture)
    best = result.recommendations[0]
    # The summary and the rationale quote the names too: escaped with the rest of their text.
    assert _SCRIPT in best.summary and "pair & co" in best.rationale
    rationale_only = dataclasses.replace(best, summary="")  # shown whole, as from an old server
    for shown in (result, best, rationale_only, analysis):
        page = shown._repr_html_()
        assert "<script>" not in page and "&lt;script&gt;" in page
        assert "pair &amp; co" in page and "pair & co" not in page
        assert _SCRIPT in _html_text(shown)


def test_a_servers_control_characters_are_escaped_in_every_form_of_the_table(
    result: SearchResult,
) -> None:
    # The client reads a summary and a rationale as the server sent them: an escape sequence in
    # one reached the terminal as it was, through the command's table and the IPython shell,
    # recolouring it or setting its title, and a notebook's page held the raw bytes.
    hostile = "x\x1b[31mred\x1b]0;title\x07\u202egnp.exe\x08"
    escaped = r"x\x1b[31mred\x1b]0;title\x07\u202egnp.exe\x08"
    best = dataclasses.replace(
        result.recommendations[0], summary="s " + hostile, rationale="r " + hostile
    )
    tables = [
        best.as_table(),
        best.as_table(explain=True),
        _pretty(best),
        _html_text(best),
        render_search_result(dataclasses.replace(result, recommendations=[best]), "table", True),
    ]
    for table in tables:
        assert escaped in table, table
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", table), table


def test_html_escapes_what_an_inference_report_names(mirrored: np.ndarray) -> None:
    # A server names the partitions, the reasons and the partitioner: its text, escaped alike.
    report = infer_task(dependence_graph(data_from_array(mirrored))).report()
    dropped = next(i for i, c in enumerate(report.correlations) if not c.kept)
    correlations = list(report.correlations)
    correlations[dropped] = dataclasses.replace(
        correlations[dropped], name=_SCRIPT, dropped="pair & co"
    )
    named = dataclasses.replace(report, correlations=tuple(correlations), partitioner="a & b")
    page = named._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "pair &amp; co" in page and "a &amp; b" in page and " & " not in page
    assert _SCRIPT in _html_text(named) and "(pair & co)" in _html_text(named)


def test_an_analysis_shows_as_the_table_analyze_prints(result: SearchResult, task: Task) -> None:
    analysis = analyze(task, result.recommendations[0].architecture)
    table = analysis.as_table()
    assert table == render_analysis(analysis, "table")
    assert table.split("\n\n")[1].split()[:2] == ["correlation", "weight"]
    assert _pretty(analysis) == table.removesuffix("\n")
    assert _html_text(analysis) == table


def test_an_analysis_of_a_padded_input_shows_the_grid_its_costs_count() -> None:
    # The notebook's table left out "on the input padded to 8x16 (margins 0/0 0/8)", which
    # advisor analyze prints: the analysis did not know the architecture it was of.
    task = parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})
    layers = [{"channels": 8, "pool": [2, 2]}, {"channels": 8, "pool": [4, 8]}]
    architecture = parse_architecture(
        {
            "input": {"shape": [8, 8]},
            "representation": 4,
            "layers": layers,
            "padding": [[0, 0], [0, 8]],
        }
    )
    said = ", on the input padded to 8x16 (margins 0/0 0/8)"
    analysis = analyze(task, architecture)
    decoded = wire.analysis_from_proto(wire.analysis_to_proto(analysis), architecture)
    for shown in (analysis, decoded):
        table = shown.as_table()
        assert said in " ".join(table.partition("\n\n")[0].split("\n"))  # wrapped as prose
        assert table == render_analysis(shown, "table", architecture)
        assert _html_text(shown) == table and _pretty(shown) == table.removesuffix("\n")
    # The grid is the architecture's to say: the analysis' document and equality leave it out.
    document = analysis_document(analysis)
    assert "padded" not in json.dumps(document)
    assert parse_analysis(document) == analysis == decoded
    assert said not in parse_analysis(document).as_table()
    with pytest.raises(InvalidRequestError, match="padded_input"):
        parse_analysis({**document, "padded_input": said})
    assert pickle.loads(pickle.dumps(analysis)).as_table() == analysis.as_table()


def test_an_inference_report_shows_as_the_part_of_infer_s_report_it_holds(
    mirrored: np.ndarray,
) -> None:
    graph = dependence_graph(data_from_array(mirrored))
    report = infer_task(graph).report()
    table = report.as_table()
    rows = table.splitlines()
    assert rows[0].startswith("surrogate entanglement, fraction of the dependence crossing")
    assert rows[rows.index("") + 1].split() == ["partition", "entanglement", "chance", "weight"]
    assert len(rows) > rows.index("") + 1 + len(report.correlations) - 1
    # The command prints the lines on the data (which need the graph), then this table.
    assert render_report(graph, report).endswith("\n" + table)
    assert _pretty(report) == table.removesuffix("\n")
    assert _html_text(report) == table
    assert repr(report).startswith("InferenceReport(task=")


@pytest.mark.parametrize("shown", [SearchResult, Recommendation, Analysis, InferenceReport])
def test_the_ipython_shell_finds_the_table_before_the_dataclass_repr(shown: type) -> None:
    # The dataclass' __repr__ is the class' own, TableDisplay's _repr_pretty_ a base's: the
    # IPython shell showed a search result as its repr, the thousands of characters it replaces.
    assert _ipython_display_method(shown) == "_repr_pretty_"


def test_the_presets_show_as_the_table_advisor_presets_prints() -> None:
    # A plain list showed in a notebook as its repr, every description whole: 9,849 characters.
    presets = list_presets()
    table = presets.as_table()
    rows = table.splitlines()
    assert rows[0].split() == ["name", "kind", "description"]
    assert rows[1].split()[:2] == [presets[0].name, "region"]
    assert table == render_presets(presets, "table")
    assert _pretty(presets) == table.removesuffix("\n")
    assert _html_text(presets) == table
    assert _ipython_display_method(Presets) == "_repr_pretty_"
    assert repr(presets) == repr(list(presets))


def test_the_presets_are_still_a_list() -> None:
    presets = list_presets()
    plain = list(presets)
    assert isinstance(presets, list) and presets == plain and plain == presets
    assert len(presets) == len(plain) > 1 and presets[-1] == plain[-1]
    assert [preset.name for preset in presets] == [preset.name for preset in plain]
    copied = pickle.loads(pickle.dumps(presets))
    assert type(copied) is Presets and copied == presets
    assert json.loads(render_presets(presets, "json")) == {
        "presets": [dataclasses.asdict(preset) for preset in plain]
    }


def test_presets_made_only_of_presets_are_presets() -> None:
    # A slice, a copy or a sum of two was a plain list, shown as its whole repr in a notebook.
    presets = list_presets()
    other = Presets(presets[1:2])
    for made, plain in (
        (presets[:3], list(presets)[:3]),
        (presets[::-1], list(presets)[::-1]),
        (presets.copy(), list(presets)),
        (presets + other, [*presets, *other]),
        (other * 2, [*other, *other]),
        (2 * other, [*other, *other]),
    ):
        assert type(made) is Presets and made == plain
        assert made.as_table() == render_presets(made, "table")
    assert type(presets[0]) is PresetInfo
    # A plain list may hold anything: added to it, the presets are a plain list.
    anything: list[object] = [1]
    assert type(presets + anything) is list and type(anything + presets) is list


def test_html_escapes_the_preset_names() -> None:
    presets = Presets([PresetInfo(_SCRIPT, "region", "pair & co\nthe rest")])
    page = presets._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "pair &amp; co" in page and "pair & co" not in page and "the rest" not in page
    assert _SCRIPT in _html_text(presets)
