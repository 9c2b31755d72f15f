"""The task model: validation with field paths, resolution, preset expansion and file loading."""

from __future__ import annotations

import copy
import doctest
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pydantic
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import advisor.model.strict_yaml
import advisor.model.task
from advisor import parse_analysis
from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.budget import Budget
from advisor.model.presets import TASK_PRESETS, symmetry
from advisor.model.regions import REGION_PRESETS
from advisor.model.task import Task, list_presets, load_task, parse_task, task_document
from advisor.validation_messages import NEWER_KEY
from tests.support.strategies import boundary_task_documents, valid_task_documents
from tests.support.workloads import large_task_document

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def base_document() -> dict[str, Any]:
    return {
        "input": {"shape": [4, 4]},
        "correlations": [
            {"name": "left-right", "a": {"preset": "left_half"}, "b": {"preset": "right_half"}},
            {"name": "corner", "a": {"indices": [0]}, "weight": 2.5},
        ],
    }


def fields(document: Any) -> list[str]:
    with pytest.raises(InvalidRequestError) as info:
        parse_task(document)
    return [v.field for v in info.value.violations]


def test_module_examples_run() -> None:
    assert doctest.testmod(advisor.model.task).failed == 0


def test_explicit_correlations_then_the_preset_in_order() -> None:
    task = parse_task({**base_document(), "preset": "center_surround"})
    resolved = task.resolved()
    assert [c.name for c in resolved] == ["left-right", "corner", "center_surround/center-border"]
    assert resolved[0].a.tolist() == [0, 1, 4, 5, 8, 9, 12, 13]
    assert resolved[0].b.tolist() == [2, 3, 6, 7, 10, 11, 14, 15]
    assert resolved[1].weight == 2.5 and resolved[0].weight == 1.0
    assert resolved[1].b.tolist() == list(range(1, 16))
    assert resolved[2].a.tolist() == [5, 6, 9, 10]


def test_a_preset_alone_is_a_task() -> None:
    task = parse_task({"input": {"shape": [16]}, "preset": "start_end"})
    assert [c.name for c in task.resolved()] == ["start_end/w1", "start_end/w2", "start_end/w4"]


@given(st.data())
def test_omitted_b_is_the_complement_of_a(data: st.DataObject) -> None:
    shape = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=2).map(tuple))
    size = math.prod(shape)
    if size < 2:
        return
    chosen = data.draw(st.sets(st.integers(0, size - 1), min_size=1, max_size=size - 1))
    task = parse_task(
        {
            "input": {"shape": list(shape)},
            "correlations": [{"name": "c", "a": {"indices": sorted(chosen, reverse=True)}}],
        }
    )
    (resolved,) = task.resolved()
    assert resolved.a.tolist() == sorted(chosen)
    assert resolved.b.tolist() == np.setdiff1d(np.arange(size), sorted(chosen)).tolist()


@given(valid_task_documents())
def test_valid_documents_resolve_to_disjoint_regions(document: dict[str, Any]) -> None:
    resolved = parse_task(document).resolved()
    assert [c.name for c in resolved] == [c["name"] for c in document["correlations"]]
    for c in resolved:
        assert c.a.size and c.b.size and np.intersect1d(c.a, c.b).size == 0


def _key_paths(document: object, prefix: tuple[object, ...] = ()) -> set[tuple[object, ...]]:
    """Every path of mapping keys and list positions in a JSON-like document."""
    if isinstance(document, dict):
        items: list[tuple[object, object]] = list(document.items())
    elif isinstance(document, list):
        items = list(enumerate(document))
    else:
        return set()
    return {p for key, value in items for p in {(*prefix, key)} | _key_paths(value, (*prefix, key))}


@given(valid_task_documents())
def test_a_tasks_document_parses_back_to_it_and_states_only_what_its_author_did(
    document: dict[str, Any],
) -> None:
    # recommend --save-task wrote `channels: 1` into a task that never stated its channels (the
    # document was every field with a value, defaults too).
    task = parse_task(document)
    written = task_document(task)
    assert parse_task(written) == task
    assert _key_paths(written) <= _key_paths(document)


def test_a_preset_tasks_document_is_its_preset_alone() -> None:
    task = parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})
    assert task_document(task) == {"input": {"shape": [8, 8]}, "preset": "symmetry"}


@given(boundary_task_documents(presets=[*REGION_PRESETS, *TASK_PRESETS]))
def test_boundary_documents_are_accepted_or_refused_with_field_paths(
    document: dict[str, Any],
) -> None:
    try:
        task = parse_task(document)
    except InvalidRequestError as exc:
        assert all(isinstance(v.field, str) and v.description for v in exc.violations)
    else:
        # An accepted document holds what the rules promise (a non-empty tuple alone, which any
        # parsed task is, would pass a document accepted with an empty or overlapping region, a
        # weight of zero or a repeated name).
        resolved = task.resolved()
        size = math.prod(task.input.shape)
        for c in resolved:
            assert c.a.size and c.b.size and np.intersect1d(c.a, c.b).size == 0, c.name
            assert min(c.a.min(), c.b.min()) >= 0 and max(c.a.max(), c.b.max()) < size, c.name
            assert math.isfinite(c.weight) and c.weight > 0, c.name
        assert len({c.name for c in resolved}) == len(resolved)


def test_task_is_frozen_and_its_ids_read_only() -> None:
    task = parse_task(base_document())
    with pytest.raises(pydantic.ValidationError):
        task.preset = "local"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        task.resolved()[1].b[0] = 0


# --- validation errors, each naming its field -------------------------------------------------


def with_correlation(**changes: Any) -> dict[str, Any]:
    document = base_document()
    document["correlations"][0].update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (with_correlation(a={"indices": [0, 16]}), ["correlations[0].a.indices"]),
        (with_correlation(a={"indices": []}), ["correlations[0].a.indices"]),
        (with_correlation(b={"indices": [3, 4]}), ["correlations[0].b"]),
        (
            with_correlation(a={"box": {"start": [0, 2], "stop": [4, 2]}}),
            ["correlations[0].a.box.stop"],
        ),
        (
            with_correlation(a={"box": {"start": [0, 0], "stop": [5, 1]}}),
            ["correlations[0].a.box.stop"],
        ),
        (with_correlation(a={"box": {"start": [0], "stop": [1]}}), ["correlations[0].a.box.start"]),
        (with_correlation(a={"mask": ["#..."] * 3}), ["correlations[0].a.mask"]),
        (
            with_correlation(a={"mask": ["#...", "#..", "....", "...."]}),
            ["correlations[0].a.mask[1]"],
        ),
        (
            with_correlation(a={"mask": ["#..x", "....", "....", "...."]}),
            ["correlations[0].a.mask[0]"],
        ),
        (with_correlation(a={"preset": "left"}), ["correlations[0].a.preset"]),
        (with_correlation(a={"preset": "left_half", "box": {}}), ["correlations[0].a"]),
        (with_correlation(c={"preset": "left_half"}), ["correlations[0].c"]),
        (with_correlation(name=""), ["correlations[0].name"]),
        (with_correlation(name="  "), ["correlations[0].name"]),
        (with_correlation(name="corner"), ["correlations[1].name"]),
        (with_correlation(weight=0), ["correlations[0].weight"]),
        (with_correlation(weight=-1.5), ["correlations[0].weight"]),
        (with_correlation(weight=float("nan")), ["correlations[0].weight"]),
        (with_correlation(weight=float("inf")), ["correlations[0].weight"]),
        (with_correlation(weight=True), ["correlations[0].weight"]),
        (with_correlation(weight=np.True_), ["correlations[0].weight"]),
        (with_correlation(weight="2"), ["correlations[0].weight"]),
        (
            with_correlation(a={"box": {"start": [0, 0], "stop": [4, 4]}}, b=None),
            ["correlations[0].b"],
        ),
        ({**base_document(), "preset": "locality"}, ["preset"]),
        ({**base_document(), "preset": "start_end"}, ["preset"]),
        ({**base_document(), "input": {"shape": [0, 4]}}, ["input.shape"]),
        ({**base_document(), "input": {"shape": []}}, ["input.shape"]),
        ({**base_document(), "input": {"shape": [2, 2, 2, 2]}}, ["input.shape"]),
        ({**base_document(), "input": {"shape": [4, 4], "depth": 3}}, ["input.depth"]),
        ({**base_document(), "extra": 1}, ["extra"]),
        ({"correlations": base_document()["correlations"]}, ["input"]),
        ({"input": {"shape": [4, 4]}}, ["correlations"]),
        ({"input": {"shape": [4, 4]}, "correlations": []}, ["correlations"]),
        ({"input": {"shape": [4, 4]}, "correlations": [{"name": "x"}]}, ["correlations[0].a"]),
        (["input"], [""]),
    ],
)
def test_invalid_task_names_the_field(document: Any, expected: list[str]) -> None:
    if isinstance(document, dict) and document.get("correlations"):
        document["correlations"] = [
            {k: v for k, v in c.items() if v is not None} for c in document["correlations"]
        ]
    assert fields(document) == expected


def test_a_region_preset_that_does_not_fit_names_its_side() -> None:
    document = {
        "input": {"shape": [8]},
        "correlations": [{"name": "c", "a": {"indices": [0]}, "b": {"preset": "top_half"}}],
    }
    with pytest.raises(InvalidRequestError, match=r"correlations\[0\]\.b\.preset: top_half needs"):
        parse_task(document)


def test_all_violations_are_reported_at_once() -> None:
    document = base_document()
    document["correlations"][0]["a"] = {"indices": [99]}
    document["correlations"][1]["b"] = {"indices": [0]}
    document["correlations"].append(copy.deepcopy(document["correlations"][1]))
    document["preset"] = "top_bottom"
    assert fields(document) == [
        "correlations[0].a.indices",
        "correlations[1].b",
        "correlations[2].b",
        "correlations[2].name",
    ]


def test_explicit_name_taken_by_the_preset_is_a_duplicate() -> None:
    document = with_correlation(name="center_surround/center-border")
    document["preset"] = "center_surround"
    with pytest.raises(InvalidRequestError) as caught:
        parse_task(document)
    assert [(v.field, v.description) for v in caught.value.violations] == [
        (
            "correlations[0].name",
            "duplicate name 'center_surround/center-border': preset 'center_surround' gives it "
            "to one of its correlations; rename this one",
        )
    ]


def test_a_duplicate_names_the_first_use_under_the_prefix_its_field_gets() -> None:
    # A door places the task under its own field (the client's ``task``, Katib's setting): the
    # path the description cites must be one the request has, as the field's is.
    document = base_document()
    document["correlations"].append(copy.deepcopy(document["correlations"][1]))
    with pytest.raises(InvalidRequestError) as caught:
        parse_task(document)
    placed = caught.value.prefixed("task").prefixed("request")
    assert [(v.field, v.description) for v in placed.violations] == [
        (
            "request.task.correlations[2].name",
            "duplicate name 'corner' (also request.task.correlations[1].name)",
        )
    ]


def test_a_name_that_reads_as_a_path_is_quoted_as_given_under_a_prefix() -> None:
    # The cited path is placed under the prefix; the user's own name, quoted, is left as given.
    document = base_document()
    twice = {**copy.deepcopy(document["correlations"][1]), "name": "correlations[2].name"}
    document["correlations"] += [twice, copy.deepcopy(twice)]
    with pytest.raises(InvalidRequestError) as caught:
        parse_task(document)
    (placed,) = caught.value.prefixed("task").violations
    assert placed.description == (
        "duplicate name 'correlations[2].name' (also task.correlations[2].name)"
    )


def test_overlap_message_shows_where() -> None:
    with pytest.raises(InvalidRequestError, match=r"overlaps a at 1 location \(3\)"):
        parse_task(with_correlation(a={"indices": [3]}, b={"indices": [3, 4]}))


def test_task_constructed_in_python_is_validated_too() -> None:
    with pytest.raises(InvalidRequestError, match=r"correlations\[0\]\.a\.indices"):
        Task.model_validate(with_correlation(a={"indices": [16]}))


# --- files ------------------------------------------------------------------------------------


def load_text(tmp_path: Path, name: str, text: str) -> Task:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_task(path)


def load_error(tmp_path: Path, name: str, text: str | bytes) -> tuple[str, str]:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidRequestError) as info:
        load_task(path)
    (only,) = info.value.violations
    return only.field, only.description


def test_yaml_and_json_files_give_the_same_task(tmp_path: Path) -> None:
    yaml_task = load_text(
        tmp_path,
        "task.yaml",
        "input: {shape: [4, 4]}\n"
        "correlations:\n"
        "  - name: left-right\n"
        "    a: {preset: left_half}\n"
        "    b: {preset: right_half}\n"
        "  - {name: corner, a: {indices: [0]}, weight: 2.5}\n",
    )
    json_task = load_text(tmp_path, "task.json", json.dumps(base_document()))
    assert yaml_task == json_task == parse_task(base_document())


def test_exponent_weights_are_numbers_in_yaml_as_in_json(tmp_path: Path) -> None:
    text = "input: {shape: [4]}\ncorrelations: [{name: c, a: {indices: [0]}, weight: 1e-3}]\n"
    assert load_text(tmp_path, "task.yaml", text).resolved()[0].weight == 0.001
    text = '{"input": {"shape": [4]}, "correlations": [{"name": "c", "a": {"indices": [0]}, '
    text += '"weight": 1e-3}]}'
    assert load_text(tmp_path, "task.json", text).resolved()[0].weight == 0.001


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_yaml_is_parsed_by_libyaml_with_the_strict_rules(tmp_path: Path) -> None:
    # A task of long mask rows parsed 30x slower by the pure-Python parser.
    assert issubclass(advisor.model.strict_yaml._StrictYamlLoader, yaml.CSafeLoader)
    rows = ["#" * 512 + "." * 512] * 8
    text = f"input: {{shape: [8, 1024]}}\ncorrelations: [{{name: c, a: {{mask: {rows}}}}}]\n"
    task = load_text(tmp_path, "task.yaml", text)
    assert task.resolved()[0].a.size == 8 * 512


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("task.yaml", "input: [\n", "cannot read task file"),
        (
            "task.yaml",
            "input: {shape: [4]}\ninput: {shape: [8]}\n",
            "'input' appears more than once",
        ),
        ("task.json", '{"input": {"shape": [4]}, "input": 1}', "'input' appears more than once"),
        ("task.json", "{'input': 1}", "cannot read task file"),
        ("task.yaml", "- input\n", "must hold a mapping"),
        ("task.yaml", "", "is empty: it must hold a mapping"),
        ("task.yaml", "# input: {shape: [4]}\n", "is empty: it must hold a mapping"),
        ("task.yaml", "---\n", "is empty: it must hold a mapping"),
        # An empty JSON file was told "Expecting value: line 1 column 1 (char 0)", a parser's
        # words, where an empty YAML file was told it is empty.
        ("task.json", "", "is empty: it must hold a mapping"),
        ("task.json", " \n", "is empty: it must hold a mapping"),
        # A null is written there: told "empty", its writer looked for a file not saved.
        ("task.yaml", "null\n", "holds null: it must hold a mapping"),
        ("task.yaml", "~  # nothing yet\n", "holds null: it must hold a mapping"),
        ("task.json", "null", "holds null: it must hold a mapping"),
        ("task.yaml", b"input: \xff\n", "cannot read task file"),
    ],
)
def test_unreadable_files_are_refused_on_the_whole_document(
    tmp_path: Path, name: str, text: str | bytes, words: str
) -> None:
    field, description = load_error(tmp_path, name, text)
    assert field == ""
    assert words in description and name in description


def test_a_json_name_is_read_as_json_in_any_case(tmp_path: Path) -> None:
    # emo.JSON was read as YAML, which refuses JSON's escape of a character beyond U+FFFF.
    text = json.dumps(
        {"input": {"shape": [4]}, "correlations": [{"name": "\U0001f600", "a": {"indices": [0]}}]}
    )
    assert "\\ud83d\\ude00" in text
    assert load_text(tmp_path, "emo.JSON", text).correlations[0].name == "\U0001f600"


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("task.json", "input: {shape: [4]}\n", "; read as JSON (the name ends in .json)"),
        ("task.yaml", "input: [\n", "; read as YAML (the name does not end in .json)"),
        (
            "task.yaml",
            "input:\n\tshape: [4]\n",
            "line 2, column 1: found character that cannot start any token (while scanning for "
            "the next token); the character is a tab: tabs cannot indent YAML; read as YAML",
        ),
    ],
)
def test_a_file_that_does_not_parse_is_told_the_form_it_was_read_in_and_why(
    tmp_path: Path, name: str, text: str, said: str
) -> None:
    # A .json file holding YAML was told "Expecting value: line 1 column 1 (char 0)" alone,
    # and a tab indenting YAML "found character that cannot start any token".
    _, description = load_error(tmp_path, name, text)
    assert said in description


def test_missing_file_is_refused_on_the_whole_document(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as info:
        load_task(tmp_path / "missing.yaml")
    (only,) = info.value.violations
    # Named once, with the reason in words ("[Errno 2] ...: '/.../missing.yaml'" after it before).
    assert only == FieldViolation(
        "", f"cannot read task file '{tmp_path / 'missing.yaml'}': No such file or directory"
    )


def test_a_document_given_as_a_path_keeps_the_reason_and_says_to_parse_it(tmp_path: Path) -> None:
    # A task's JSON passed where a path goes was quoted whole, and the error, cut at its bound,
    # ended in the middle of the text: the reason (File name too long) and the remedy were lost.
    document = json.dumps({"input": {"shape": [16, 16]}, "preset": "symmetry", "x": "y" * 800})
    for text in (document, "input: {shape: [4]}\npreset: local\n"):
        with pytest.raises(InvalidRequestError) as info:
            load_task(text)
        (only,) = info.value.violations
        reason = "File name too long" if len(text) > 255 else "No such file or directory"
        assert only.description.endswith(
            f"': {reason}; a string is read as a file's path: for a document's text, parse it "
            "first (json.loads or yaml.safe_load) and pass the mapping"
        ), only.description
    with pytest.raises(InvalidRequestError) as info:
        load_task("x" * 300)  # a long name, not a document: cut, counted, no such advice
    assert str(info.value) == (
        f"cannot read task file '{'x' * 200}... (300 characters)': File name too long"
    )


def test_document_errors_in_a_file_keep_their_field_paths(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as info:
        load_text(
            tmp_path,
            "task.yaml",
            "input: {shape: [4]}\ncorrelations: [{name: c, a: {indices: [9]}}]\n",
        )
    assert [v.field for v in info.value.violations] == ["correlations[0].a.indices"]


# --- examples and presets ---------------------------------------------------------------------


def test_there_is_one_example_file_per_task_preset() -> None:
    files = sorted((EXAMPLES / "tasks").glob("*.yaml"))
    assert [path.stem for path in files] == sorted(TASK_PRESETS)
    for path in files:
        task = load_task(path)
        assert task.preset == path.stem and task.resolved()


def test_symmetry_demo_spells_out_the_symmetry_preset() -> None:
    demo = load_task(EXAMPLES / "symmetry.yaml").resolved()
    preset = symmetry((16, 16))
    assert len(demo) == len(preset)
    for ours, theirs in zip(demo, preset, strict=True):
        assert np.array_equal(ours.a, theirs.a) and np.array_equal(ours.b, theirs.b)


def test_list_presets_serves_region_then_task_presets() -> None:
    infos = list_presets()
    assert [(i.kind, i.name) for i in infos] == [
        *(("region", name) for name in REGION_PRESETS),
        *(("task", name) for name in TASK_PRESETS),
    ]


@pytest.mark.slow
def test_a_large_task_resolves_every_form() -> None:
    # The speed of this case is measured by bench/bench_task.py, not asserted here.
    document = large_task_document()
    resolved = parse_task(document).resolved()
    assert len(resolved) == 64
    for correlation in resolved:
        assert len(correlation.a) + len(correlation.b) == 256 * 256
        assert np.intersect1d(correlation.a, correlation.b).size == 0


def _refusal_of(document: dict[str, Any], field: str) -> str:
    """Return the one violation ``parse_task`` reports on ``field`` for ``document``."""
    with pytest.raises(InvalidRequestError) as caught:
        parse_task(document)
    [description] = [v.description for v in caught.value.violations if v.field == field]
    return description


@pytest.mark.parametrize(
    ("document", "field", "suggested"),
    [
        ({"input": {"shape": [8]}, "presett": "symmetry"}, "presett", "preset"),
        (
            {"input": {"shape": [8], "chanels": 3}, "preset": "symmetry"},
            "input.chanels",
            "channels",
        ),
        (
            {
                "input": {"shape": [8]},
                "correlations": [{"name": "x", "a": {"box": {"start": [0], "stopp": [4]}}}],
            },
            "correlations[0].a.box.stopp",
            "stop",
        ),
        ({"input": {"shape": [8]}, "preset": "symmetry", "zzzz": 1}, "zzzz", None),
    ],
)
def test_an_unknown_field_is_told_the_closest_field_of_its_model(
    document: dict[str, Any], field: str, suggested: str | None
) -> None:
    description = _refusal_of(document, field)
    assert description.startswith("Extra inputs are not permitted")
    # With nothing spelt alike, the fields the place takes are listed instead.
    known = "; known: arrangement, correlations, input, outputs, preset"
    assert description.endswith(f"; did you mean {suggested!r}?" if suggested else known)


def test_the_keys_a_place_takes_are_listed_once_on_its_first_unknown_key() -> None:
    # Every unknown key of a place repeated the list, as a --config file's no longer did.
    document = {
        "input": {"shape": [8], "qqq": 1, "www": 2},
        "preset": "symmetry",
        "zzzz": 1,
        "yyyy": 2,
    }
    with pytest.raises(InvalidRequestError) as raised:
        parse_task(document)
    said = {v.field: v.description for v in raised.value.violations}
    listing = [field for field, description in said.items() if "; known: " in description]
    assert sorted(said) == ["input.qqq", "input.www", "yyyy", "zzzz"]
    assert sorted(listing) == ["input.qqq", "zzzz"]
    assert all(d == "Extra inputs are not permitted" for f, d in said.items() if f not in listing)


def test_the_first_key_none_is_spelt_like_is_told_it_may_be_a_newer_version_s() -> None:
    # A key a newer advisor added was told "Extra inputs are not permitted; known: ..." with no
    # word that the file may be newer than its reader; a misspelt key is told its field.
    document = {"input": {"shape": [8], "qqq": 1}, "preset": "symmetry", "zzzz": 1, "prest": 2}
    with pytest.raises(InvalidRequestError) as raised:
        parse_task(document)
    said = {v.field: v.description for v in raised.value.violations}
    assert [field for field, description in said.items() if NEWER_KEY in description] == [
        "input.qqq"
    ]
    assert said["prest"] == "Extra inputs are not permitted; did you mean 'preset'?"


def test_a_field_an_analysis_sets_itself_is_told_a_document_does_not_hold_it() -> None:
    # padded_input was told "did you mean 'padded_input'?", the key written.
    document = {"parameters": 1, "multiply_adds": 1, "padded_input": "padded to 8x8"}
    with pytest.raises(InvalidRequestError) as raised:
        parse_analysis(document)
    (only,) = raised.value.violations
    assert only.field == "padded_input"
    assert "did you mean" not in only.description
    assert only.description.endswith(
        "a document does not hold this field: it is set when the result is made"
    )


@pytest.mark.parametrize("key", ["classes", "num_classes", "n_classes", "num_outputs"])
def test_another_frameworks_class_count_is_told_its_name_here(key: str) -> None:
    # `classes: 10` was refused as any unknown key, with no pointer to `outputs`.
    for kind, document in (
        ("task", {"input": {"shape": [8]}, "preset": "symmetry", key: 10}),
        ("budget", {"max_parameters": 1_000, key: 10}),
    ):
        with pytest.raises(InvalidRequestError) as raised:
            parse_task(document) if kind == "task" else Budget.model_validate(document)
        (violation,) = raised.value.violations
        assert violation.field == (key if kind == "task" else f"budget.{key}")
        assert violation.description.endswith(
            "; write the class count as outputs (the network's outputs)"
        )


@pytest.mark.parametrize(
    ("region", "named"),
    [
        ({"presett": "left_half"}, "not 'presett'; did you mean 'preset'?"),
        ({"indice": [0]}, "not 'indice'; did you mean 'indices'?"),
        ({"zzzz": 1}, "not 'zzzz'"),
    ],
)
@pytest.mark.parametrize("side", ["a", "b"])
def test_a_region_without_a_form_key_is_told_its_keys_and_the_closest(
    side: str, region: dict[str, Any], named: str
) -> None:
    document = with_correlation(**{side: region})
    with pytest.raises(InvalidRequestError) as caught:
        parse_task(document)
    assert [(v.field, v.description) for v in caught.value.violations] == [
        (
            f"correlations[0].{side}",
            f"a region needs exactly one of the keys indices, box, mask, preset, {named}",
        )
    ]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"shape": [True, 16]}, "input.shape[0]"),
        ({"shape": [16, 16.0]}, "input.shape[1]"),
        ({"shape": [16, 16], "channels": True}, "input.channels"),
    ],
)
def test_a_size_must_be_written_as_a_whole_number(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse_task({"input": spec, "preset": "symmetry"})
    assert [v.field for v in raised.value.violations] == [field]


_HALVES = {
    "a": {"box": {"start": [0, 0], "stop": [8, 4]}},
    "b": {"box": {"start": [0, 4], "stop": [8, 8]}},
}


@pytest.mark.parametrize(
    ("document", "field", "suggested"),
    [
        ({"input": {"shape": [8]}, "preset": "long_rang"}, "preset", "long_range"),
        (
            {"input": {"shape": [8]}, "correlations": [{"name": "x", "a": {"preset": "left_haf"}}]},
            "correlations[0].a.preset",
            "left_half",
        ),
        (
            {
                "input": {"shape": [8, 8]},
                "correlations": [{"name": "x", **_HALVES, "relation": "mirrror"}],
            },
            "correlations[0].relation",
            "mirror",
        ),
        ({"input": {"shape": [8]}, "preset": "zzzz"}, "preset", None),
    ],
)
def test_a_misspelt_name_is_told_the_closest_choice(
    document: dict[str, Any], field: str, suggested: str | None
) -> None:
    description = _refusal_of(document, field)
    assert ("did you mean" in description) == (suggested is not None)
    if suggested:
        assert description.endswith(f"; did you mean {suggested!r}?")


@pytest.mark.parametrize("outputs", [True, "3", 1e3, 3.0])
def test_outputs_that_are_not_an_integer_are_refused_not_coerced(outputs: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_task({**base_document(), "outputs": outputs})
    (violation,) = info.value.violations
    assert violation.field == "outputs"
    assert "valid integer" in violation.description
    assert parse_task({**base_document(), "outputs": 3}).outputs == 3


def test_numpy_integers_are_read_as_the_ints_they_equal() -> None:
    # The client is called from NumPy code; a budget took np.int64 where a task refused it.
    numpy_document = {
        "input": {"shape": np.array([4, 4]), "channels": np.uint8(3)},
        "correlations": [
            {
                "name": "corner",
                "a": {"indices": [np.int64(0), np.int32(1)]},
                "b": {"box": {"start": np.array([2, 2]), "stop": [np.int16(4), 4]}},
            }
        ],
        "outputs": np.int64(3),
        "arrangement": np.arange(16)[::-1],
    }
    task = parse_task(numpy_document)
    python_document = json.loads(json.dumps(numpy_document, default=lambda a: a.tolist()))
    assert task == parse_task(python_document)
    assert task.arrangement is not None
    assert all(type(n) is int for n in (*task.input.shape, task.outputs, *task.arrangement))


@pytest.mark.parametrize("number", [np.True_, np.float64(1.0), np.float32(1.0)])
def test_numpy_booleans_and_floats_are_no_location_ids(number: Any) -> None:
    document = with_correlation(a={"indices": [number]})
    assert fields(document) == ["correlations[0].a.indices[0]"]


def test_a_weight_too_large_for_a_float_is_told_so() -> None:
    # pydantic said "Input should be a valid number" of 10**400, which is one.
    with pytest.raises(InvalidRequestError) as info:
        parse_task(with_correlation(weight=10**400))
    assert [(v.field, v.description) for v in info.value.violations] == [
        (
            "correlations[0].weight",
            "Input should be a finite number; this integer is too large for a float (past about "
            "1.8e308)",
        )
    ]


@pytest.mark.parametrize(
    "weight", [float("nan"), float("inf"), -float("inf"), np.float64("nan"), np.float32("-inf")]
)
def test_a_weight_that_is_no_finite_number_is_told_so(weight: float) -> None:
    """NaN and -inf were told "Input should be greater than 0", which sent the user looking for
    a sign (``weight: .nan`` in a YAML file): any non-finite weight is told what it is."""
    with pytest.raises(InvalidRequestError) as info:
        parse_task(with_correlation(weight=weight))
    assert [v.field for v in info.value.violations] == ["correlations[0].weight"]
    assert info.value.violations[0].description.startswith(
        f"Input should be a finite number, not {float(weight)}"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [("x", "x "), ("x", " x"), ("left vs right", "left  vs right"), ("a b", "a\u00a0b")],
)
def test_names_whose_spaces_differ_are_one_name(first: str, second: str) -> None:
    # Spaces at an end, doubled or no-break do not show in the table: two correlations "x" and
    # "x " were two rows that both read "x".
    document = base_document()
    document["correlations"][0]["name"] = first
    document["correlations"][1]["name"] = second
    with pytest.raises(InvalidRequestError) as info:
        parse_task(document)
    (violation,) = info.value.violations
    assert violation.field == "correlations[1].name"
    assert f"(also correlations[0].name, written {first!r} there)" in violation.description


def test_names_that_read_alike_are_one_name() -> None:
    document = base_document()
    document["correlations"][0]["name"] = "\u00e9"
    document["correlations"][1]["name"] = "e\u0301"
    with pytest.raises(InvalidRequestError) as info:
        parse_task(document)
    (violation,) = info.value.violations
    assert violation.field == "correlations[1].name"
    assert "(also correlations[0].name, written 'é' there)" in violation.description
