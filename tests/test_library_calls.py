"""The library's functions handed the wrong kind of argument: the usual mistakes of a caller.

Each must refuse on the parameter, saying what it must be and how to get one, not fail with an
``AttributeError`` deep inside the engine, nor (the documents) write a document of another kind.
"""

from __future__ import annotations

import doctest
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import advisor.model.arguments
from advisor import (
    Budget,
    InvalidRequestError,
    SearchResult,
    analysis_document,
    analyze,
    architecture_yaml,
    load_architecture,
    load_task,
    parse_task,
    recommend,
    search_result_document,
)
from advisor.model.arguments import require_instance

TASK = parse_task(
    {"input": {"shape": [4]}, "correlations": [{"name": "ends", "a": {"indices": [0]}}]}
)
BUDGET = Budget(max_parameters=1_000, top_k=1)


@pytest.fixture(scope="module")
def result() -> SearchResult:
    return recommend(TASK, BUDGET)


def refusal(call: Callable[[], object]) -> str:
    """Return the one violation ``call`` raises, as "field: description"."""
    with pytest.raises(InvalidRequestError) as raised:
        call()
    (violation,) = raised.value.violations
    return f"{violation.field}: {violation.description}"


def test_the_module_examples_run() -> None:
    assert doctest.testmod(advisor.model.arguments).failed == 0


def test_a_type_named_with_a_small_vowel_takes_an() -> None:
    # The article was chosen by a capital vowel alone: "must be a int".
    assert refusal(lambda: require_instance("3", int, "count")) == "count: must be an int, got str"


def test_recommend_names_a_mapping_or_a_number_where_a_model_goes() -> None:
    document = TASK.model_dump(mode="json")
    assert refusal(lambda: recommend(document, BUDGET)) == (  # type: ignore[arg-type]
        "task: must be a Task, got dict: read it with advisor.parse_task first"
    )
    assert refusal(lambda: recommend(TASK, 1_000)).startswith(  # type: ignore[arg-type]
        "budget: must be a Budget, got int: advisor.Budget(max_parameters=...)"
    )
    assert refusal(lambda: recommend(TASK, BUDGET, stop=5.0)).startswith(  # type: ignore[arg-type]
        "stop: must be a StopSignal, got float: StopSignal.after(seconds)"
    )
    assert refusal(lambda: recommend(TASK, BUDGET, progress=1)).startswith(  # type: ignore[arg-type]
        "progress: must be callable"
    )


def test_analyze_and_the_export_name_a_recommendation_where_its_architecture_goes(
    result: SearchResult,
) -> None:
    best = result.recommendations[0]
    hint = "architecture: must be an Architecture, got Recommendation: pass its .architecture"
    assert refusal(lambda: analyze(TASK, best)) == hint  # type: ignore[arg-type]
    assert refusal(lambda: architecture_yaml(best)) == hint  # type: ignore[arg-type]
    assert refusal(lambda: analyze(TASK, "net.yaml")).endswith(  # type: ignore[arg-type]
        "read the file with advisor.load_architecture first"
    )


def test_analyze_and_the_export_name_a_recommendation_where_a_whole_result_is_passed(
    result: SearchResult,
) -> None:
    # The result of recommend itself was refused with no hint ("got SearchResult"), where a
    # recommendation is told to pass its .architecture.
    hint = (
        "architecture: must be an Architecture, got SearchResult: pass a recommendation's "
        ".architecture (result.recommendations[0].architecture)"
    )
    assert refusal(lambda: analyze(TASK, result)) == hint  # type: ignore[arg-type]
    assert refusal(lambda: architecture_yaml(result)) == hint  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("load", "reader"),
    [(load_task, "parse_task"), (load_architecture, "parse_architecture")],
)
def test_a_file_reader_names_a_mapping_or_none_where_a_path_goes(
    load: Callable[[Any], object], reader: str
) -> None:
    # open()'s TypeError ("expected str, bytes or os.PathLike object, not dict") escaped, and a
    # bytes path failed on a str method ("endswith first arg must be bytes").
    document = TASK.model_dump(mode="json")
    assert refusal(lambda: load(document)) == (
        f"path: must be a file path (str or os.PathLike), got dict: advisor.{reader} reads a "
        "mapping"
    )
    assert refusal(lambda: load(None)).endswith("got NoneType")
    assert refusal(lambda: load(b"task.yaml")).endswith("got bytes")


def test_a_document_of_one_result_is_not_written_of_another(result: SearchResult) -> None:
    # analysis_document(result) wrote the search result's document under the analysis' name.
    assert refusal(lambda: analysis_document(result)) == (  # type: ignore[arg-type]
        "analysis: must be an Analysis, got SearchResult"
    )
    analysis = analyze(TASK, result.recommendations[0].architecture)
    assert refusal(lambda: search_result_document(analysis)) == (  # type: ignore[arg-type]
        "result: must be a SearchResult, got Analysis"
    )


@pytest.mark.parametrize("flag", ["exact", "price_contiguous"])
def test_analyze_takes_a_boolean_flag_only(result: SearchResult, flag: str) -> None:
    # "no" is truthy: exact="no" ran the exact engine, as the client never let it.
    architecture = result.recommendations[0].architecture

    def flagged(value: object) -> dict[str, Any]:
        # The keyword is named at run time: its argument is Any to the type checker.
        return {flag: value}

    assert refusal(lambda: analyze(TASK, architecture, **flagged("no"))).startswith(f"{flag}: ")
    assert analyze(TASK, architecture, **flagged(np.True_)) == analyze(
        TASK, architecture, **flagged(True)
    )


def test_a_tables_arguments_are_checked(result: SearchResult) -> None:
    # explain="no" printed every rationale (a truthy string), top_k=-1 or "5" passed unread.
    assert refusal(lambda: result.as_table(explain="no")).startswith("explain: ")  # type: ignore[arg-type]
    assert refusal(lambda: result.as_table(top_k=-1)).startswith("top_k: ")
    assert refusal(lambda: result.as_table(top_k="5")).startswith("top_k: ")  # type: ignore[arg-type]
    assert refusal(lambda: result.as_table(hints=None)).startswith("hints: ")  # type: ignore[arg-type]
    # A design's own table took any value, "no" printing the whole rationale.
    design = result.recommendations[0]
    assert refusal(lambda: design.as_table(explain="no")).startswith("explain: ")  # type: ignore[arg-type]
    flag: dict[str, Any] = {"explain": np.True_}
    assert design.as_table(**flag) == design.as_table(True)
    # NumPy's scalars, which a notebook's arithmetic gives, read as Python's.
    numpy_scalars: dict[str, Any] = {"explain": np.True_, "top_k": np.int64(3)}
    assert result.as_table(**numpy_scalars) == result.as_table(True, top_k=3)
    analysis = analyze(TASK, result.recommendations[0].architecture)
    assert refusal(lambda: analysis.as_table(TASK)).startswith("architecture: ")  # type: ignore[arg-type]
