"""A null in a document: an optional field given as null reads as left out, everywhere.

``b: null`` was taken while ``weight: null`` was refused ("Input should be a valid number"), and
likewise ``input.channels``, an architecture's ``outputs`` and a budget's ``top_k``: one rule
per field. docs/FORMATS.md states the one rule; each entry point (a file, the library, the
client's dicts over the wire) must read a null as the field left out.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from advisor_client.conversions import (
    architecture_model,
    architecture_proto,
    budget_proto,
    task_proto,
)

from advisor.errors import InvalidRequestError
from advisor.model.architecture import load_architecture, parse_architecture
from advisor.model.budget import Budget
from advisor.model.task import load_task, parse_task
from advisor.protocol import wire

TASK: dict[str, Any] = {
    "input": {"shape": [4, 4]},
    "correlations": [{"name": "lr", "a": {"preset": "left_half"}, "b": {"preset": "right_half"}}],
}
ARCHITECTURE: dict[str, Any] = {
    "input": {"shape": [4, 4]},
    "representation": 4,
    "layers": [{"channels": 4, "pool": [2, 2]}, {"channels": 4, "pool": [2, 2]}],
}

# Where a null goes in each document: a path of keys and list indices to the field.
TASK_FIELDS = [
    ("input", "channels"),
    ("correlations", 0, "b"),
    ("correlations", 0, "weight"),
    ("correlations", 0, "relation"),
    ("preset",),
    ("outputs",),
    ("arrangement",),
]
ARCHITECTURE_FIELDS = [
    ("input", "channels"),
    ("representation_kernel",),
    ("layers", 0, "stride"),
    ("geometry",),
    ("outputs",),
    ("family",),
    ("padding",),
    ("mixture",),
]
# Every optional budget field but max_window and time_limit_seconds, whose None is a value.
BUDGET_FIELDS = [
    name
    for name, field in Budget.model_fields.items()
    if not field.is_required() and name not in ("max_window", "time_limit_seconds")
]


def _with_null(document: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    place: Any = changed
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = None
    return changed


def _without(document: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    place: Any = changed
    for key in path[:-1]:
        place = place[key]
    place.pop(path[-1], None)
    return changed


@pytest.mark.parametrize("path", TASK_FIELDS, ids=lambda p: ".".join(map(str, p)))
def test_a_null_task_field_reads_as_left_out(tmp_path: Path, path: tuple[str | int, ...]) -> None:
    _assert_null_reads_as_left_out(
        tmp_path / "task.yaml",
        TASK,
        path,
        parse_task,
        load_task,
        lambda document: wire.task_from_proto(task_proto(document)),
    )


@pytest.mark.parametrize("path", ARCHITECTURE_FIELDS, ids=lambda p: ".".join(map(str, p)))
def test_a_null_architecture_field_reads_as_left_out(
    tmp_path: Path, path: tuple[str | int, ...]
) -> None:
    _assert_null_reads_as_left_out(
        tmp_path / "architecture.yaml",
        ARCHITECTURE,
        path,
        parse_architecture,
        load_architecture,
        lambda document: wire.architecture_from_proto(
            architecture_proto(architecture_model(document, None))
        ),
    )


def _assert_null_reads_as_left_out(
    file: Path,
    base: dict[str, Any],
    path: tuple[str | int, ...],
    parse: Callable[[dict[str, Any]], Any],
    load: Callable[[Path], Any],
    over_the_wire: Callable[[dict[str, Any]], Any],
) -> None:
    """Assert ``base`` with a null at ``path`` reads, parsed, from a file and over the wire, as
    ``base`` without the field."""
    document = _with_null(base, path)
    expected = parse(_without(base, path))
    file.write_text(yaml.safe_dump(document))
    assert parse(document) == expected
    assert load(file) == expected
    assert over_the_wire(document) == expected


@pytest.mark.parametrize("field", BUDGET_FIELDS)
def test_a_null_budget_field_reads_as_left_out(field: str) -> None:
    expected = Budget(max_parameters=10_000)
    assert Budget.model_validate({"max_parameters": 10_000, field: None}) == expected
    assert Budget(max_parameters=10_000, **{field: None}) == expected
    assert wire.budget_from_proto(budget_proto({"max_parameters": 10_000, field: None})) == expected


def test_a_yaml_empty_value_is_a_null_and_reads_as_left_out(tmp_path: Path) -> None:
    file = tmp_path / "task.yaml"
    file.write_text(
        "input: {shape: [4, 4], channels: }\n"
        "correlations:\n  - {name: lr, a: {preset: left_half}, weight: }\n"
    )
    correlation = load_task(file).resolved()[0]
    assert correlation.weight == 1.0


def test_a_null_where_none_is_a_value_keeps_it() -> None:
    budget = Budget.model_validate({"max_parameters": 10_000, "max_window": None})
    assert budget.max_window is None  # no bound, not the default 16


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (_with_null(TASK, ("input",)), "input"),
        (_with_null(TASK, ("correlations", 0, "name")), "correlations[0].name"),
        (_with_null(TASK, ("correlations", 0, "a")), "correlations[0].a"),
    ],
)
def test_a_required_task_field_given_as_null_is_refused_on_it(
    document: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_task(document)
    assert [v.field for v in info.value.violations] == [field]


@pytest.mark.parametrize(
    ("path", "field"),
    [(("representation",), "representation"), (("layers", 0, "channels"), "layers[0].channels")],
)
def test_a_required_architecture_field_given_as_null_is_refused_on_it(
    path: tuple[str | int, ...], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_architecture(_with_null(ARCHITECTURE, path))
    assert [v.field for v in info.value.violations] == [field]
