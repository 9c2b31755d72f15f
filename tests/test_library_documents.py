"""Results to their documents and back: what a notebook or a pipeline saves and reads again."""

from __future__ import annotations

import dataclasses
import doctest
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import advisor.export.document
from advisor import (
    Analysis,
    Budget,
    InvalidRequestError,
    SearchResult,
    analysis_document,
    analyze,
    parse_analysis,
    parse_architecture,
    parse_search_result,
    parse_task,
    recommend,
    search_result_document,
)
from advisor.errors import FieldViolation
from advisor.protocol import wire

ROOT = Path(__file__).resolve().parent.parent
TASK = parse_task({"input": {"shape": [16]}, "preset": "local"})


@pytest.fixture(scope="module")
def result() -> SearchResult:
    families = ["dilations", "mixture"]
    return recommend(TASK, Budget(max_parameters=5_000, top_k=3, geometries=families))


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    """An analysis with every part its document has: exact figures and the efficiency."""
    small = parse_task({"input": {"shape": [4]}, "preset": "local"})
    best = recommend(small, Budget(max_parameters=500, top_k=1)).recommendations[0]
    return analyze(small, best.architecture, exact=True)


@pytest.fixture(scope="module")
def mixture_analysis(result: SearchResult) -> Analysis:
    """The analysis of the result's first mixture: its figures carry member figures."""
    mixture = next(r for r in result.recommendations if r.architecture.mixture is not None)
    return analyze(TASK, mixture.architecture)


def test_the_module_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert doctest.testmod(advisor.export.document).failed == 0


def test_a_search_result_reads_back_equal_from_json_and_yaml(result: SearchResult) -> None:
    families = {r.architecture.family for r in result.recommendations}
    assert {"dilations", "mixture"} <= families  # every kind of design the document carries
    document = search_result_document(result)
    assert parse_search_result(json.loads(json.dumps(document))) == result
    assert parse_search_result(yaml.safe_load(yaml.safe_dump(document))) == result


def test_an_analysis_reads_back_equal(analysis: Analysis) -> None:
    assert analysis.efficiency is not None
    assert {c.certificate for c in analysis.correlations} == {"exact"}
    document = json.loads(json.dumps(analysis_document(analysis)))
    assert parse_analysis(document) == analysis


def test_a_damaged_document_names_its_fields(result: SearchResult) -> None:
    document = json.loads(json.dumps(search_result_document(result)))
    del document["recommendations"][1]["score"]
    document["complete"] = "sometimes"
    with pytest.raises(InvalidRequestError) as raised:
        parse_search_result(document)
    assert [v.field for v in raised.value.violations] == [
        "recommendations[1].score",
        "complete",
    ]


def test_a_value_no_producer_writes_is_refused_naming_its_field(
    result: SearchResult, analysis: Analysis
) -> None:
    # A hand-edited result read a weight of -1.0, -3 candidates or a score of 1.5 as such: no
    # search writes them (a weight is a task's, above 0; a score a fraction of the targets).
    searched = json.loads(json.dumps(search_result_document(result)))
    out_of_range: list[tuple[str, Any]] = [
        ("candidates_evaluated", -3),
        ("search_seconds", -1.0),
        ("recommendations[0].analysis[0].weight", -1.0),
        ("recommendations[0].analysis[1].weight", 0.0),
        ("recommendations[0].score", 1.5),
        ("recommendations[1].score", -0.25),
        ("recommendations[0].rank", 0),
        ("recommendations[0].parameters", -1),
        ("recommendations[0].multiply_adds", -1),
    ]
    for path, value in out_of_range:
        *parents, last = path.replace("]", "").replace("[", ".").split(".")
        damaged = json.loads(json.dumps(searched))
        place = damaged
        for step in parents:
            place = place[int(step) if step.isdigit() else step]
        place[last] = value
        with pytest.raises(InvalidRequestError) as raised:
            parse_search_result(damaged)
        assert [v.field for v in raised.value.violations] == [path], (path, value)
    analysed = json.loads(json.dumps(analysis_document(analysis)))
    analysed["parameters"] = -5
    analysed["correlations"][0]["weight"] = -2.0
    with pytest.raises(InvalidRequestError) as raised:
        parse_analysis(analysed)
    assert [v.field for v in raised.value.violations] == ["parameters", "correlations[0].weight"]


def test_the_bounds_of_a_value_read_back() -> None:
    # Each bound is one the writer may reach: no candidate scored, a score of 0 or of 1.
    small = parse_task({"input": {"shape": [4]}, "preset": "local"})
    found = recommend(small, Budget(max_parameters=500, top_k=1))
    best = found.recommendations[0]
    for score in (0.0, 1.0):
        edge = dataclasses.replace(
            found,
            recommendations=[dataclasses.replace(best, score=score)],
            candidates_evaluated=0,
            search_seconds=0.0,
        )
        assert parse_search_result(json.loads(json.dumps(search_result_document(edge)))) == edge


@pytest.mark.parametrize("document", ["{}", None, [{}]], ids=["text", "none", "list"])
def test_a_document_that_is_no_mapping_is_refused_saying_what_to_pass(document: object) -> None:
    # The text as read (json.dumps of the document) got ": Input should be a dictionary or an
    # instance of SearchResult", which says nothing of json.load.
    for parse, noun in ((parse_search_result, "a search result"), (parse_analysis, "an analysis")):
        with pytest.raises(InvalidRequestError) as raised:
            parse(document)  # type: ignore[arg-type]
        message = str(raised.value)
        assert f"{noun} document must be a mapping (what json.load or yaml.safe_load" in message
        assert message.endswith(f"not {type(document).__name__}")


def test_results_hash_as_equal_results_do(result: SearchResult, analysis: Analysis) -> None:
    # Frozen, yet hash() raised TypeError on their lists: no set of designs, no cache.
    document = json.loads(json.dumps(search_result_document(result)))
    assert hash(parse_search_result(document)) == hash(result)
    assert len({*result.recommendations, *parse_search_result(document).recommendations}) == 3
    assert hash(parse_analysis(analysis_document(analysis))) == hash(analysis)


def test_one_request_searched_twice_gives_equal_results(result: SearchResult) -> None:
    # The results differed in search_seconds alone, the time each run took, so two runs of one
    # complete search compared unequal and hashed apart: no == check of a rerun, no cache.
    budget = Budget(max_parameters=5_000, top_k=3, geometries=["dilations", "mixture"])
    again = recommend(TASK, budget)
    assert again.complete and result.complete
    assert again == result
    assert hash(again) == hash(result)
    retimed = dataclasses.replace(result, search_seconds=result.search_seconds + 60.0)
    assert retimed == result
    assert hash(retimed) == hash(result)


def test_a_document_of_another_kind_is_refused_as_that_kind(
    result: SearchResult, analysis: Analysis
) -> None:
    # An analysis passed for a search result was told field by field ("recommendations: Field
    # required; candidates_evaluated: Field required; ..."), never that it is an analysis, as
    # load_task and load_architecture tell a swapped file.
    searched = json.loads(json.dumps(search_result_document(result)))
    analysed = json.loads(json.dumps(analysis_document(analysis)))
    task = {"input": {"shape": [16]}, "preset": "local"}
    cases = [
        (parse_search_result, analysed, "is an analysis result (it has efficiency, multiply_adds)"),
        (parse_search_result, task, "is a task (it has preset)"),
        (
            parse_analysis,
            searched,
            "is a recommend result (it has next_page_token, recommendations)",
        ),
        (parse_analysis, task, "is a task (it has preset)"),
    ]
    for parse, document, said in cases:
        with pytest.raises(InvalidRequestError) as raised:
            parse(document)
        [violation] = raised.value.violations
        assert violation.field == ""
        assert violation.description.startswith(f"{said}, not a"), violation.description


def test_one_recommendation_of_a_result_is_refused_as_a_recommendation(
    result: SearchResult,
) -> None:
    # Its efficiency and multiply_adds made it "an analysis result" to every parser: a notebook
    # passing result["recommendations"][0] for the architecture was told it passed an analysis.
    entry = json.loads(json.dumps(search_result_document(result)))["recommendations"][0]
    said = "is a recommendation (it has rank, rationale, score), not "
    for parse in (parse_architecture, parse_task, parse_search_result):
        with pytest.raises(InvalidRequestError) as raised:
            parse(entry)
        [violation] = raised.value.violations
        assert violation.description.startswith(said), violation.description


def test_an_unpriced_reason_a_newer_version_added_reads_as_none_as_the_wire_reads_it() -> None:
    # The wire read such a reason as none given, while the saved result of the same answer was
    # refused whole ("efficiency.unpriced_reason: Input should be 'too_large', ...").
    small = parse_task({"input": {"shape": [4]}, "preset": "local"})
    best = recommend(small, Budget(max_parameters=500, top_k=1)).recommendations[0]
    unpriced = analyze(small, best.architecture, price_contiguous=False)
    document = json.loads(json.dumps(analysis_document(unpriced)))
    assert document["efficiency"]["unpriced_reason"] == "not_asked"
    document["efficiency"]["unpriced_reason"] = "a_reason_added_later"
    newer = wire.analysis_to_proto(unpriced)
    newer.efficiency.unpriced_reason = 42  # type: ignore[assignment]
    read = parse_analysis(document)
    assert read.efficiency is not None and read.efficiency.unpriced_reason is None
    assert read == wire.analysis_from_proto(newer)
    document["efficiency"]["unpriced_reason"] = 42  # no reason's label at all: malformed
    with pytest.raises(InvalidRequestError, match=r"efficiency\.unpriced_reason"):
        parse_analysis(document)


def test_a_mixture_saved_before_member_figures_reads_them_as_unreported(
    result: SearchResult,
) -> None:
    # A result saved by a version with mixtures but no member figures has no `members` key:
    # its mixtures read back with members [], which says "a tree", while the wire's answer of
    # the same older server read them as None (not reported).
    document = json.loads(json.dumps(search_result_document(result)))
    for entry in document["recommendations"]:
        for correlation in entry["analysis"]:
            del correlation["members"]
    older = wire.search_result_to_proto(result)
    for recommendation in older.recommendations:
        for correlation in recommendation.analysis:
            correlation.ClearField("members")
    read = parse_search_result(document)
    for design in read.recommendations:
        told = None if design.architecture.mixture is not None else ()
        assert [c.members for c in design.analysis] == [told] * len(design.analysis)
    assert read == wire.search_result_from_proto(older)


def _fields(value: object) -> object:
    """Return ``value`` as nested plain data, every field of every dataclass included.

    ``==`` leaves out ``search_seconds``: a field lost on the way back would go unseen by it.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: _fields(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [type(value).__name__, *map(_fields, value)]
    return value


def test_the_documents_this_version_writes_read_back_field_by_field(
    result: SearchResult, analysis: Analysis, mixture_analysis: Analysis
) -> None:
    for written in (json.dumps, yaml.safe_dump):
        searched = parse_search_result(yaml.safe_load(written(search_result_document(result))))
        assert _fields(searched) == _fields(result)
        for each in (analysis, mixture_analysis):
            read = parse_analysis(yaml.safe_load(written(analysis_document(each))))
            assert _fields(read) == _fields(each)


def test_a_saved_analysis_without_member_figures_reads_them_as_not_recorded(
    mixture_analysis: Analysis,
) -> None:
    # An analysis saved before member figures has no `members` key: a mixture's read back as
    # [], which says "a tree", and the table printed no member columns and no word of them.
    document = json.loads(json.dumps(analysis_document(mixture_analysis)))
    assert all(c["members"] for c in document["correlations"])
    for correlation in document["correlations"]:
        del correlation["members"]
    read = parse_analysis(document)
    assert [c.members for c in read.correlations] == [None] * len(read.correlations)


def test_a_result_saved_before_activations_reads_each_design_s_own_count(
    result: SearchResult,
) -> None:
    # The saved design is the one counted; the wire reads an older server's answer the same.
    document = json.loads(json.dumps(search_result_document(result)))
    for entry in document["recommendations"]:
        del entry["activations"]
    older = wire.search_result_to_proto(result)
    for recommendation in older.recommendations:
        recommendation.ClearField("activations")
    read = parse_search_result(document)
    assert read == result == wire.search_result_from_proto(older)
    assert [r.activations for r in read.recommendations] == [
        r.architecture.activations for r in result.recommendations
    ]


def test_a_saved_analysis_without_activations_reads_them_as_not_recorded(
    analysis: Analysis,
) -> None:
    # An analysis document names no design to count: its activations are not said, never 0.
    document = json.loads(json.dumps(analysis_document(analysis)))
    assert document["activations"] == analysis.activations
    del document["activations"]
    read = parse_analysis(document)
    assert read == dataclasses.replace(analysis, activations=None)
    assert "activations" not in read.as_table()
    assert "activations per input" in analysis.as_table()


def _refused(
    result: SearchResult, edit: Callable[[dict[str, Any]], None]
) -> tuple[FieldViolation, ...]:
    """Return the violations ``parse_search_result`` refuses ``result``'s document with, edited."""
    document = json.loads(json.dumps(search_result_document(result)))
    edit(document)
    with pytest.raises(InvalidRequestError) as raised:
        parse_search_result(document)
    return raised.value.violations


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (
            lambda d: d["recommendations"][0].update(parameters="4321"),
            "recommendations[0].parameters",
        ),
        (lambda d: d["recommendations"][0].update(rank=True), "recommendations[0].rank"),
        (lambda d: d["recommendations"][0].update(score="0.5"), "recommendations[0].score"),
        (
            lambda d: d["recommendations"][0].update(dilations=["2"]),
            "recommendations[0].dilations[0]",
        ),
        (
            lambda d: d["recommendations"][0]["analysis"][0].update(log2_max_rank="40"),
            "recommendations[0].analysis[0].log2_max_rank",
        ),
        (
            lambda d: d["recommendations"][0]["efficiency"].update(contiguous_priced="yes"),
            "recommendations[0].efficiency.contiguous_priced",
        ),
        (lambda d: d.update(complete="true"), "complete"),
        (lambda d: d.update(complete=1), "complete"),
        (lambda d: d.update(candidates_evaluated=12.0), "candidates_evaluated"),
        (lambda d: d.update(search_seconds=True), "search_seconds"),
    ],
    ids=[
        "count-as-text",
        "rank-as-boolean",
        "score-as-text",
        "dilation-as-text",
        "figure-as-text",
        "flag-as-text",
        "complete-as-text",
        "complete-as-number",
        "count-as-float",
        "seconds-as-boolean",
    ],
)
def test_a_hand_edited_value_of_another_type_is_refused_naming_its_field(
    result: SearchResult, edit: Callable[[dict[str, Any]], None], field: str
) -> None:
    # `parameters: "4321"` read as 4321, `complete: "true"` or 1 as True, `rank: true` as
    # rank 1: a hand-edited document changed type silently, where a task or an architecture
    # file refuses it.
    violations = _refused(result, edit)
    assert [v.field for v in violations] == [field]


def test_an_analysis_count_written_as_text_is_refused_naming_it(analysis: Analysis) -> None:
    document = json.loads(json.dumps(analysis_document(analysis)))
    document["parameters"] = str(document["parameters"])
    with pytest.raises(InvalidRequestError) as raised:
        parse_analysis(document)
    assert [v.field for v in raised.value.violations] == ["parameters"]


def test_a_key_a_saved_result_does_not_have_is_refused_naming_it_and_the_closest_field(
    result: SearchResult, analysis: Analysis
) -> None:
    # A misspelt key was read as nothing: `sumary:` left the summary "", `log2_min_cuts:` the
    # figure null, and nothing said the document held what the reader dropped. Refused, it
    # was told only that it is not permitted, where a task's `corelations:` is told "did you
    # mean 'correlations'?": a result's fields are a dataclass's, not a model's.
    searched = json.loads(json.dumps(search_result_document(result)))
    searched["recommendations"][0]["sumary"] = searched["recommendations"][0].pop("summary")
    searched["recommendations"][1]["analysis"][0]["log2_min_cuts"] = 1.0
    searched["recommendations"][2]["architecture"]["layer"] = []
    searched["completed"] = True
    with pytest.raises(InvalidRequestError) as raised:
        parse_search_result(searched)
    violations = raised.value.violations
    assert [v.field for v in violations] == [
        "recommendations[0].sumary",
        "recommendations[1].analysis[0].log2_min_cuts",
        "recommendations[2].architecture.layer",
        "completed",
    ]
    assert [v.description.partition("; ") for v in violations] == [
        ("Extra inputs are not permitted", "; ", f"did you mean {name!r}?")
        for name in ("summary", "log2_min_cut", "layers", "complete")
    ]
    analysed = json.loads(json.dumps(analysis_document(analysis)))
    analysed["efficiency"]["unpriced"] = None
    with pytest.raises(InvalidRequestError) as raised:
        parse_analysis(analysed)
    assert [v.field for v in raised.value.violations] == ["efficiency.unpriced"]
    assert raised.value.violations[0].description.endswith("did you mean 'unpriced_reason'?")


def test_a_document_whose_figures_contradict_its_design_is_refused_naming_them(
    result: SearchResult, analysis: Analysis
) -> None:
    # An edited document loaded as it was: a count that is not its design's, ranks out of
    # order, a separation rank above the rank its regions allow.
    searched = json.loads(json.dumps(search_result_document(result)))
    first, second = searched["recommendations"][:2]
    first["parameters"] = 1
    second["rank"] = 7
    figure = second["analysis"][0]
    figure["log2_separation_rank"] = figure["log2_min_cut"] + 1
    with pytest.raises(InvalidRequestError) as raised:
        parse_search_result(searched)
    said = [(v.field, v.description) for v in raised.value.violations]
    recommended = result.recommendations[0]
    assert said[:2] == [
        ("recommendations[1].rank", "is 7, after rank 1: ranks run on by one"),
        (
            "recommendations[0].parameters",
            f"is 1, but its architecture has {recommended.parameters:,}: the document was "
            "edited; write the design's own count or recommend again",
        ),
    ]
    assert (
        "recommendations[1].analysis[0].log2_separation_rank",
        f"is {figure['log2_separation_rank']:g}, above its log2_min_cut of "
        f"{figure['log2_min_cut']:g}, which bounds it",
    ) in said
    # Only the edited rank: the one after it, as written, was named too, "after rank 7".
    assert [field for field, _ in said if field.endswith(".rank")] == ["recommendations[1].rank"]
    analysed = json.loads(json.dumps(analysis_document(analysis)))
    bounded = analysed["correlations"][0]
    bounded["log2_lower_bound"] = bounded["log2_separation_rank"] + 0.5
    with pytest.raises(InvalidRequestError) as raised:
        parse_analysis(analysed)
    assert [v.field for v in raised.value.violations] == ["correlations[0].log2_separation_rank"]
    assert "below its log2_lower_bound" in raised.value.violations[0].description


def test_a_key_no_field_is_close_to_is_told_every_key_a_result_document_holds(
    result: SearchResult,
) -> None:
    # The list of known keys left out empty_reason, which every saved document holds.
    document = search_result_document(result)
    with pytest.raises(InvalidRequestError) as raised:
        parse_search_result({**document, "extra": 1})
    known = raised.value.violations[0].description.partition("; known: ")[2]
    assert known.split(", ") == sorted(document)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["recommendations"][0].update(score=math.nan), "recommendations[0].score"),
        (lambda d: d.update(search_seconds=math.inf), "search_seconds"),
        (
            lambda d: d["recommendations"][0]["analysis"][0].update(log2_separation_rank=-math.inf),
            "recommendations[0].analysis[0].log2_separation_rank",
        ),
        (
            lambda d: d["recommendations"][0]["efficiency"].update(
                log2_contiguous_channels=math.nan
            ),
            "recommendations[0].efficiency.log2_contiguous_channels",
        ),
    ],
    ids=["nan-score", "infinite-seconds", "minus-infinite-figure", "nan-efficiency-figure"],
)
def test_a_figure_that_is_no_finite_number_is_refused_naming_its_field(
    result: SearchResult, edit: Callable[[dict[str, Any]], None], field: str
) -> None:
    # `score: .nan` or `search_seconds: .inf` read as NaN and infinity: no producer writes
    # either (a figure no width reaches is null), and a NaN score compares unequal to itself.
    violations = _refused(result, edit)
    assert [v.field for v in violations] == [field]
    assert "finite number" in violations[0].description


def test_an_analysis_figure_read_from_yaml_as_nan_is_refused_naming_it(analysis: Analysis) -> None:
    text = yaml.safe_dump(json.loads(json.dumps(analysis_document(analysis))))
    document = yaml.safe_load(text.replace("log2_max_rank: ", "log2_max_rank: .nan #", 1))
    with pytest.raises(InvalidRequestError) as raised:
        parse_analysis(document)
    assert [v.field for v in raised.value.violations] == ["correlations[0].log2_max_rank"]


def test_an_unknown_key_that_reads_like_a_type_name_is_named_in_full(result: SearchResult) -> None:
    # `Summary:` was told as `recommendations[0]: Extra inputs are not permitted`: a key that
    # begins with a capital reads as pydantic's tag of a union member and was dropped from the
    # path, as a task file's is not.
    def capitalised(document: dict[str, Any]) -> None:
        document["recommendations"][0]["Summary"] = document["recommendations"][0].pop("summary")

    violations = _refused(result, capitalised)
    assert [v.field for v in violations] == ["recommendations[0].Summary"]


def test_a_saved_result_s_architecture_written_in_another_form_is_told_its_form(
    result: SearchResult,
) -> None:
    def one_pool(document: dict[str, Any]) -> None:
        document["recommendations"][0]["architecture"]["layers"][0]["pool"] = 2

    violations = _refused(result, one_pool)
    assert "; pool is one window size per input axis" in violations[0].description


def _edited(document: dict[str, Any], edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """Return a copy of ``document`` with ``edit`` applied to it."""
    copy: dict[str, Any] = json.loads(json.dumps(document))
    edit(copy)
    return copy


def test_an_analysis_s_impossible_figures_are_refused_naming_each(analysis: Analysis) -> None:
    # Each read as written: a rank below 1, a tree's rank above its dimension bound, one
    # correlation twice, contiguous figures an unpriced net has none of, a channel count below 1.
    analysed = json.loads(json.dumps(analysis_document(analysis)))
    first = analysed["correlations"][0]

    def above_its_bound(document: dict[str, Any]) -> None:
        figure = document["correlations"][0]
        figure.update(certificate="tight", log2_max_rank=figure["log2_separation_rank"] - 1)

    def unpriced(document: dict[str, Any]) -> None:
        document["efficiency"].update(
            contiguous_priced=False, log2_contiguous_channels=1.0, log2_contiguous_parameters=2.0
        )

    edits: list[tuple[Callable[[dict[str, Any]], object], str, str]] = [
        (
            lambda d: d["correlations"][0].update(log2_separation_rank=-3.0),
            "correlations[0].log2_separation_rank",
            "is -3: the log2 of a rank or a count is at least 0",
        ),
        (
            above_its_bound,
            "correlations[0].log2_separation_rank",
            f"is {first['log2_separation_rank']:g}, above its log2_max_rank of "
            f"{first['log2_separation_rank'] - 1:g}, which bounds it",
        ),
        (
            lambda d: d["correlations"][1].update(name=first["name"]),
            "correlations[1].name",
            f"duplicate name {first['name']!r} (also correlations[0].name)",
        ),
        (
            unpriced,
            "efficiency",
            "an unpriced contiguous net (contiguous_priced: false) has null "
            "log2_contiguous_channels and log2_contiguous_parameters",
        ),
        (
            lambda d: d["efficiency"].update(log2_shallow_channels=-5.0),
            "efficiency.log2_shallow_channels",
            "is -5: the log2 of a rank or a count is at least 0",
        ),
    ]
    for edit, field, description in edits:
        with pytest.raises(InvalidRequestError) as raised:
            parse_analysis(_edited(analysed, edit))
        assert raised.value.violations == (FieldViolation(field, description),), field


def test_figures_every_version_writes_read_back_at_their_bounds(analysis: Analysis) -> None:
    # A rank 1's figure rounded a hair below 0 is no edit, nor is an overlapping net's
    # upper bound above its dimension bound, which documents written before the cap hold.
    analysed = json.loads(json.dumps(analysis_document(analysis)))
    figure = analysed["correlations"][0]
    figure.update(log2_separation_rank=-1e-9, log2_lower_bound=None)
    assert parse_analysis(analysed).correlations[0].log2_separation_rank == -1e-9
    figure.update(
        log2_separation_rank=5.0, log2_max_rank=3.0, log2_min_cut=5.0, certificate="upper_bound"
    )
    assert parse_analysis(analysed).correlations[0].log2_max_rank == 3.0


def test_a_saved_tree_s_figure_above_its_dimension_bound_is_refused(result: SearchResult) -> None:
    # A recommendation's design says whether it is a tree, whose rank no version let pass it.
    searched = json.loads(json.dumps(search_result_document(result)))
    index = next(i for i, r in enumerate(result.recommendations) if r.architecture.mixture is None)
    figure = searched["recommendations"][index]["analysis"][0]
    figure.update(certificate="upper_bound", log2_max_rank=figure["log2_separation_rank"] - 1)
    with pytest.raises(InvalidRequestError) as raised:
        parse_search_result(searched)
    assert [v.field for v in raised.value.violations] == [
        f"recommendations[{index}].analysis[0].log2_separation_rank"
    ]
    assert "above its log2_max_rank" in raised.value.violations[0].description
