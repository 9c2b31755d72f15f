"""A correlation that states its relation (``relation: shift`` or ``mirror``) is read that way.

A pair of equal boxes is a shift and a mirror alike; unstated, the search reads a description
with the fewest relations (docs/THEORY.md §18), so the [CS17] symmetry task written as halves
of the image and of its quadrants reads as two shifts, and interleaved pooling ranks first. A
user who means mirrors says so, and a statement the regions contradict is refused.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError
from advisor.model.budget import Budget
from advisor.model.maps import displacements, reflections
from advisor.model.task import Task, parse_task
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.search.coherence import description_relations
from advisor.search.recommend import recommend

_SIDE = 16


def _halves(start: int, stop: int, rows: tuple[int, int] = (0, _SIDE)) -> dict[str, Any]:
    """Columns ``[start, stop)`` split into two equal boxes, left against right."""
    middle = (start + stop) // 2
    return {
        "a": {"box": {"start": [rows[0], start], "stop": [rows[1], middle]}},
        "b": {"box": {"start": [rows[0], middle], "stop": [rows[1], stop]}},
    }


def _symmetry(relation: str | None) -> Task:
    """[CS17]'s symmetry task as the outcome benchmark writes it: image and quadrant halves."""
    pairs = [("image", _halves(0, _SIDE))]
    for row in (0, 8):
        for column in (0, 8):
            pairs.append((f"quadrant@{row},{column}", _halves(column, column + 8, (row, row + 8))))
    correlations = []
    for name, regions in pairs:
        correlation = {"name": name, **regions}
        if relation is not None:
            correlation["relation"] = relation
        correlations.append(correlation)
    return parse_task({"input": {"shape": [_SIDE, _SIDE]}, "correlations": correlations})


def _kinds(task: Task) -> list[tuple[str, tuple[int, ...]]]:
    return [relation.key for relation in description_relations(task.resolved(), task.input.shape)]


def test_unstated_halves_read_as_the_fewest_relations_and_stated_ones_as_stated() -> None:
    # Four quadrant pairs are one shift by 4 columns, the image halves a shift by 8: two maps,
    # against three mirrors (about columns 3.5, 7.5 and 11.5).
    assert sorted(_kinds(_symmetry(None))) == [("shift", (0, 4)), ("shift", (0, 8))]
    assert sorted(_kinds(_symmetry("mirror"))) == [
        ("mirror", (1, 7)),
        ("mirror", (1, 15)),
        ("mirror", (1, 23)),
    ]
    assert sorted(_kinds(_symmetry("shift"))) == sorted(_kinds(_symmetry(None)))


def test_a_stated_mirror_makes_the_mirror_net_the_pick() -> None:
    budget = Budget(max_parameters=11_466)
    unstated = recommend(_symmetry(None), budget).recommendations[0]
    stated = recommend(_symmetry("mirror"), budget).recommendations[0]
    assert "nterleaved" in unstated.rationale.split(":")[0]
    assert stated.rationale.startswith("Mirror pooling")
    assert "read as a mirror about column 3.5" in stated.rationale


def test_one_stated_relation_changes_only_its_own_reading() -> None:
    document = _symmetry(None).model_dump(mode="json", exclude_none=True)
    document["correlations"][0]["relation"] = "mirror"  # the image halves only
    task = parse_task(document)
    assert sorted(_kinds(task)) == [("mirror", (1, 15)), ("shift", (0, 4))]


@pytest.mark.parametrize("relation", ["shift", "mirror"])
def test_a_relation_the_regions_do_not_have_is_refused_naming_the_field(relation: str) -> None:
    # A strip of four columns against the rest of the grid: no map carries one onto the other.
    document = {
        "input": {"shape": [8, 8]},
        "correlations": [
            {"name": "ok", **_halves(0, 8, (0, 8))},
            {
                "name": "strip",
                "a": {"box": {"start": [0, 0], "stop": [8, 2]}},
                "relation": relation,
            },
        ],
    }
    with pytest.raises(InvalidRequestError) as caught:
        parse_task(document)
    [violation] = caught.value.violations
    assert violation.field == "correlations[1].relation"
    assert violation.description.startswith(f"is {relation!r}, but b is not a")


def test_a_mirror_that_is_no_shift_is_refused_as_a_shift() -> None:
    # An L against its reflection: a mirror, and no displacement carries it onto itself.
    a = [0, 1, 2, 3, 4, 16]  # row 0, columns 0-4, and (1, 0) on a 16x16 grid
    b = [11, 12, 13, 14, 15, 31]  # columns 11-15 of row 0, and (1, 15)
    assert reflections(np.array(a), np.array(b), (16, 16)) == [(1, 15)]
    assert displacements(np.array(a), np.array(b), (16, 16)) == []
    correlation = {"name": "L", "a": {"indices": a}, "b": {"indices": b}}
    mirror, shift = (
        {"input": {"shape": [16, 16]}, "correlations": [{**correlation, "relation": kind}]}
        for kind in ("mirror", "shift")
    )
    assert parse_task(mirror).resolved()[0].relation == "mirror"
    with pytest.raises(InvalidRequestError, match=r"correlations\[0\]\.relation: is 'shift'"):
        parse_task(shift)


@pytest.mark.parametrize("value", ["rotation", "Mirror", 1, True])
def test_only_the_two_relations_are_accepted(value: object) -> None:
    document = _symmetry(None).model_dump(mode="json", exclude_none=True)
    document["correlations"][0]["relation"] = value
    with pytest.raises(InvalidRequestError) as caught:
        parse_task(document)
    assert [v.field for v in caught.value.violations] == ["correlations[0].relation"]


def test_the_stated_relation_survives_the_wire_and_pickling() -> None:
    task = _symmetry("mirror")
    message = pb.Task.FromString(wire.task_to_proto(task).SerializeToString())
    assert [c.relation for c in message.correlations] == [pb.RELATION_KIND_MIRROR] * 5
    assert wire.task_from_proto(message) == task
    resolved = task.resolved()[0]
    assert pickle.loads(pickle.dumps(resolved)) == resolved
    assert resolved != _symmetry("shift").resolved()[0]


def test_an_unknown_relation_on_the_wire_is_named_by_its_path() -> None:
    message = wire.task_to_proto(_symmetry(None))
    message.correlations[2].relation = 7  # type: ignore[assignment]
    with pytest.raises(InvalidRequestError, match=r"task\.correlations\[2\]\.relation"):
        wire.task_from_proto(message)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.sampled_from([(12,), (5, 12), (2, 3, 12)]),
    width=st.integers(1, 6),
    start=st.integers(0, 11),
    kind=st.sampled_from(["shift", "mirror"]),
)
def test_equal_boxes_read_only_as_the_stated_kind(
    shape: tuple[int, ...], width: int, start: int, kind: str
) -> None:
    if start + 2 * width > shape[-1]:
        return
    low, high = [0] * (len(shape) - 1), list(shape[:-1])
    correlation = {
        "name": "pair",
        "a": {"box": {"start": [*low, start], "stop": [*high, start + width]}},
        "b": {"box": {"start": [*low, start + width], "stop": [*high, start + 2 * width]}},
        "relation": kind,
    }
    task = parse_task({"input": {"shape": list(shape)}, "correlations": [correlation]})
    keys = _kinds(task)
    assert len(keys) == 1
    assert keys[0][0] == kind
    if kind == "shift":
        assert keys[0][1] == (*low, width)
    else:
        assert keys[0][1] == (len(shape) - 1, 2 * start + 2 * width - 1)


@st.composite
def _moved_box(draw: st.DrawFn) -> tuple[list[int], list[int], list[int], list[int]]:
    """A grid, a box on it (start, size) and a displacement that keeps the box on the grid."""
    shape = draw(st.sampled_from([[40], [16, 16], [12, 20], [6, 8, 10]]))
    size = [draw(st.integers(1, max(1, n // 2))) for n in shape]
    start = [draw(st.integers(0, n - s)) for n, s in zip(shape, size, strict=True)]
    moved = [draw(st.integers(-b, n - s - b)) for n, s, b in zip(shape, size, start, strict=True)]
    return shape, start, size, moved


def _box_ids(shape: list[int], start: list[int], size: list[int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(slice(b, b + s) for b, s in zip(start, size, strict=True))] = True
    return np.flatnonzero(mask)


@given(_moved_box())
@settings(max_examples=300, deadline=None)
def test_a_box_moved_anywhere_on_the_grid_reads_as_that_shift(
    case: tuple[list[int], list[int], list[int], list[int]],
) -> None:
    # The displacements were tried from A's first location to B's 16 nearest only, so a
    # quadrant against the one diagonally across it (a move of (8, -8) on 16x16) was no shift.
    shape, start, size, moved = case
    if not any(moved):
        return
    a = _box_ids(shape, start, size)
    b = _box_ids(shape, [x + d for x, d in zip(start, moved, strict=True)], size)
    if np.intersect1d(a, b).size:
        return  # overlapping regions are refused before any relation is read
    found = [tuple(int(x) for x in d) for d in displacements(a, b, shape)]
    assert tuple(moved) in found


def test_the_long_range_presets_diagonal_quadrants_are_stated_and_read_as_shifts() -> None:
    quadrants = {
        "a": {"box": {"start": [0, 8], "stop": [8, 16]}},
        "b": {"box": {"start": [8, 0], "stop": [16, 8]}},
    }
    task = parse_task(
        {
            "input": {"shape": [16, 16]},
            "correlations": [{"name": "anti-diagonal", "relation": "shift", **quadrants}],
        }
    )
    assert _kinds(task) == [("shift", (8, -8))]
    preset = parse_task({"input": {"shape": [16, 16]}, "preset": "long_range"})
    relations = description_relations(preset.resolved(), preset.input.shape)
    assert ("shift", (8, -8)) in [r.key for r in relations]
