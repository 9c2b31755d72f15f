"""``--format json`` (advisor/cli/json_output.py): the same document as ``json.dumps``, laid out
for reading, every list of scalars on one line."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from advisor.cli.format import render_search_result
from advisor.cli.json_output import readable_json
from advisor.model.budget import Budget
from advisor.model.geometries import PermutationGeometry
from advisor.model.task import parse_task
from advisor.search.recommend import recommend

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_DOCUMENTS)
def test_it_parses_to_the_document_it_was_given(document: Any) -> None:
    text = readable_json(document)
    assert json.loads(text) == document
    assert text.endswith("\n")


@given(st.dictionaries(st.text(), st.lists(_SCALARS, max_size=6), max_size=4))
def test_a_list_of_scalars_takes_one_line(document: dict[str, list[Any]]) -> None:
    lines = readable_json(document).splitlines()
    # "{", one line per key, "}" (an empty object is "{}").
    assert len(lines) == (len(document) + 2 if document else 1)


def test_objects_nest_by_two_spaces() -> None:
    text = readable_json({"layers": [{"channels": 4, "pool": [2, 2]}], "empty": [], "none": {}})
    assert text == (
        "{\n"
        '  "layers": [\n'
        "    {\n"
        '      "channels": 4,\n'
        '      "pool": [2, 2]\n'
        "    }\n"
        "  ],\n"
        '  "empty": [],\n'
        '  "none": {}\n'
        "}\n"
    )


def test_a_recommendation_reads_in_few_lines_and_parses_to_the_same_result() -> None:
    task = parse_task({"input": {"shape": [32, 32]}, "preset": "symmetry"})
    result = recommend(task, Budget(max_parameters=20_000, top_k=1))
    text = render_search_result(result, "json")
    permutation = result.recommendations[0].architecture.geometry
    assert isinstance(permutation, PermutationGeometry)
    # Formerly one line per location of the permutation (1,024 here).
    assert len(text.splitlines()) < 150
    document = json.loads(text)
    assert document["recommendations"][0]["architecture"]["geometry"] == permutation.model_dump(
        mode="json"
    )


def test_the_table_writes_neighbouring_scores_apart() -> None:
    task = parse_task({"input": {"shape": [16]}, "preset": "symmetry"})
    result = recommend(task, Budget(max_parameters=5_000, top_k=4, time_limit_seconds=None))
    assert len(result.recommendations) == 4
    scores = [1.0, 0.999983, 0.5, 0.5]
    table = render_search_result(
        replace(
            result,
            recommendations=[
                replace(r, score=s) for r, s in zip(result.recommendations, scores, strict=True)
            ],
        ),
        "table",
    )
    heads = [line for line in table.splitlines() if line.startswith("#")]
    written = [line.split("  score ")[1].split()[0] for line in heads]
    assert written == ["1", "0.99998", "0.5", "0.5"]  # 4 digits read "1" twice
