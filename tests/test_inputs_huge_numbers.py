"""Numbers past int64 in a document: refused on their field, stating the value that was written.

An id or box coordinate past int64 was refused by a bound pydantic printed through a float
("Input should be less than 9223372036854776000", a number no one wrote, on ``indices[0]``)
rather than as every other id off the grid is (``indices: id ... outside 0..15``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.architecture import load_architecture, parse_architecture
from advisor.model.budget import Budget
from advisor.model.task import load_task, parse_task


def _refusal(region: dict[str, Any]) -> tuple[str, str]:
    task = {"input": {"shape": [4]}, "correlations": [{"name": "x", "a": region}]}
    with pytest.raises(InvalidRequestError) as raised:
        parse_task(task)
    ((field, description),) = [(v.field, v.description) for v in raised.value.violations]
    return field, description


@pytest.mark.parametrize("index", [2**63, 2**64, -(2**63) - 1, 10**30])
def test_an_id_past_int64_is_off_the_grid_like_any_other(index: int) -> None:
    assert _refusal({"indices": [0, index]}) == (
        "correlations[0].a.indices",
        f"id {index} outside 0..3 (the input [4] has 4 locations, numbered row-major)",
    )


@pytest.mark.parametrize("stop", [2**63, 2**64])
def test_a_box_past_int64_is_told_its_range(stop: int) -> None:
    assert _refusal({"box": {"start": [0], "stop": [stop]}}) == (
        "correlations[0].a.box.stop",
        f"stop[0] = {stop} must be in 1..4: the box is half-open and starts at 0 on axis 0 of "
        "size 4",
    )


@pytest.mark.parametrize(
    ("suffix", "where", "form"),
    [
        (".json", "", "JSON (the name ends in .json)"),
        (".yaml", "line 1, column 22: ", "YAML (the name does not end in .json)"),
    ],
)
def test_an_integer_too_long_to_read_is_told_so_not_how_to_raise_pythons_limit(
    tmp_path: Path, suffix: str, where: str, form: str
) -> None:
    # Python's refusal ended "use sys.set_int_max_str_digits() to increase the limit".
    path = tmp_path / f"task{suffix}"
    path.write_text('{"input": {"shape": [' + "9" * 5000 + ', 4]}, "preset": "symmetry"}')
    with pytest.raises(InvalidRequestError) as raised:
        load_task(path)
    assert str(raised.value) == (
        f"cannot read task file '{path}': {where}an integer of 5,000 digits: no field takes a "
        f"number that long (at most 4,300 digits); read as {form}"
    )


def test_a_process_that_raised_pythons_limit_still_refuses_past_the_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JSON is read by Python's own integers where they refuse what a document may not hold;
    # a process that raised that bound (sys.set_int_max_str_digits) reads through the check.
    monkeypatch.setattr(sys, "get_int_max_str_digits", lambda: 0)
    path = tmp_path / "task.json"
    path.write_text('{"input": {"shape": [' + "9" * 5000 + ', 4]}, "preset": "symmetry"}')
    with pytest.raises(InvalidRequestError, match="an integer of 5,000 digits"):
        load_task(path)


def test_the_longest_integer_read_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "task.json"
    weight = "9" * 4300
    path.write_text(
        '{"input": {"shape": [4]}, "correlations": [{"name": "x", "a": {"indices": [0]}, '
        f'"weight": {weight}}}]}}'
    )
    with pytest.raises(InvalidRequestError) as raised:  # read, then refused as no float
        load_task(path)
    assert [v.field for v in raised.value.violations] == ["correlations[0].weight"]


@pytest.mark.parametrize("outputs", [2**31, 2**63, 2**70])
def test_task_outputs_past_int32_are_refused_as_budget_outputs_are(outputs: int) -> None:
    # A library search of a task with 2**70 outputs ended in numpy's OverflowError.
    bound = f"is {outputs:,}: must be at most 2,147,483,647"
    with pytest.raises(InvalidRequestError) as raised:
        parse_task({"input": {"shape": [4, 4]}, "preset": "symmetry", "outputs": outputs})
    assert raised.value.violations == (FieldViolation("outputs", bound),)
    with pytest.raises(InvalidRequestError) as raised:
        Budget(max_parameters=10, outputs=outputs)
    assert raised.value.violations == (FieldViolation("budget.outputs", bound),)


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"representation": 2**31}, "representation"),
        ({"outputs": 2**31}, "outputs"),
        ({"input": {"shape": [4, 4], "channels": 2**31}}, "input.channels"),
        ({"layers": [{"channels": 2**31, "pool": [4, 4]}]}, "layers[0].channels"),
        ({"layers": [{"channels": 8, "pool": [4, 2**31]}]}, "layers[0].pool[1]"),
        ({"padding": [[0, 0], [0, 2**31]]}, "padding[1][1]"),
    ],
)
def test_architecture_numbers_past_int32_are_refused_by_the_library_as_the_wire_does(
    changed: dict[str, object], field: str
) -> None:
    # The library analysed a net of 2^31 channels that no request can carry (int32 fields):
    # the client refused it only when encoding, and a service never sees it.
    document = {
        "input": {"shape": [4, 4]},
        "representation": 8,
        "layers": [{"channels": 8, "pool": [4, 4]}],
        **changed,
    }
    with pytest.raises(InvalidRequestError) as raised:
        parse_architecture(document)
    assert raised.value.violations == (
        FieldViolation(field, "is 2,147,483,648: must be at most 2,147,483,647"),
    )


def test_a_mixture_members_width_past_int32_is_refused_by_the_library() -> None:
    member = {"geometry": {"dilations": [2, 1]}, "channels": [2**31, 8]}
    document = {
        "input": {"shape": [4]},
        "representation": 8,
        "layers": [{"channels": 8, "pool": [2]}, {"channels": 8, "pool": [2]}],
        "geometry": {"dilations": [1, 2]},
        "mixture": {"members": [member], "mixing": [1]},
    }
    with pytest.raises(InvalidRequestError) as raised:
        parse_architecture(document)
    assert [v.field for v in raised.value.violations] == ["mixture.members[0].channels[0]"]


def test_an_architectures_copy_with_an_update_is_validated_as_a_tasks_is() -> None:
    # Architecture.model_copy(update=...) took the update unchecked (a task's and a budget's
    # copies are validated): a representation of -5 failed inside the analysis with "math
    # domain error", one of 2^31 reached the client's encoder.
    mirror = load_architecture("examples/architectures/mirror.yaml")
    for representation in (-5, 2**31):
        with pytest.raises(InvalidRequestError) as raised:
            mirror.model_copy(update={"representation": representation})
        assert [v.field for v in raised.value.violations] == ["representation"]
    assert mirror.model_copy(update={"outputs": 10}).parameters > mirror.parameters
