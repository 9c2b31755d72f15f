"""Region forms, their resolution to location ids, and the region presets."""

from __future__ import annotations

import doctest
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pydantic import TypeAdapter, ValidationError

import advisor.model.regions
from advisor.errors import InvalidRequestError
from advisor.model.regions import (
    REGION_PRESETS,
    Box,
    BoxRegion,
    IndicesRegion,
    MaskRegion,
    PresetRegion,
    Region,
    preset_mask,
    region_preset_infos,
    resolve_region,
)
from advisor.validation_messages import invalid_request_from_pydantic

REGION = TypeAdapter(Region)

shapes = st.one_of(
    st.tuples(st.integers(1, 40)),
    st.tuples(st.integers(1, 12), st.integers(1, 12)),
    st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6)),
)


def parse_region(document: Any) -> Region:
    try:
        return REGION.validate_python(document)
    except ValidationError as exc:
        raise invalid_request_from_pydantic(exc) from None


def violation(call: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(InvalidRequestError) as info:
        call(*args)
    (only,) = info.value.violations
    return only.field, only.description


def coordinates(shape: tuple[int, ...]) -> npt.NDArray[np.intp]:
    """Coordinates of every location, shape (ndim, *shape), straight from numpy."""
    return np.indices(shape)


def test_module_examples_run() -> None:
    assert doctest.testmod(advisor.model.regions).failed == 0


# --- the four forms ---------------------------------------------------------------------------


@given(st.data())
def test_indices_resolve_to_the_sorted_set(data: st.DataObject) -> None:
    shape = data.draw(shapes)
    size = math.prod(shape)
    chosen = data.draw(st.lists(st.integers(0, size - 1), min_size=1, unique=True))
    ids = resolve_region(parse_region({"indices": chosen}), shape)
    assert ids.dtype == np.intp
    assert ids.tolist() == sorted(chosen)


@given(st.data())
def test_box_resolves_to_the_locations_inside_it(data: st.DataObject) -> None:
    shape = data.draw(shapes)
    start = [data.draw(st.integers(0, n - 1)) for n in shape]
    stop = [data.draw(st.integers(s + 1, n)) for s, n in zip(start, shape, strict=True)]
    ids = resolve_region(parse_region({"box": {"start": start, "stop": stop}}), shape)
    coords = coordinates(shape)
    inside = np.ones(shape, dtype=bool)
    for axis in range(len(shape)):
        inside &= (coords[axis] >= start[axis]) & (coords[axis] < stop[axis])
    assert ids.tolist() == np.flatnonzero(inside).tolist()
    assert ids.size == math.prod(b - a for a, b in zip(start, stop, strict=True))


@given(st.data())
def test_mask_resolves_to_its_hash_marks(data: st.DataObject) -> None:
    shape = data.draw(shapes)
    selected = data.draw(hnp.arrays(np.bool_, shape).filter(lambda m: bool(m.any())))
    rows = ["".join("#" if x else "." for x in row) for row in selected.reshape(-1, shape[-1])]
    ids = resolve_region(parse_region({"mask": rows}), shape)
    assert ids.tolist() == np.flatnonzero(selected).tolist()


def test_resolved_ids_are_read_only() -> None:
    ids = resolve_region(IndicesRegion(indices=(3, 1)), (4,))
    with pytest.raises(ValueError, match="read-only"):
        ids[0] = 2


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"indices": [1], "box": {"start": [0], "stop": [1]}}, ""),
        ({}, ""),
        ("left_half", ""),
        ({"indices": [1], "extra": 2}, "extra"),
        ({"indices": ["1"]}, "indices[0]"),
        ({"indices": [True]}, "indices[0]"),
        ({"indices": [1.0]}, "indices[0]"),
        ({"box": {"start": [0], "stop": [1], "step": [1]}}, "box.step"),
        ({"box": {"start": [0]}}, "box.stop"),
        ({"mask": "#."}, "mask"),
        ({"mask": ["#", 3]}, "mask[1]"),
        ({"preset": "no_such_region"}, "preset"),
        ({"preset": 3}, "preset"),
    ],
)
def test_malformed_region_documents_name_the_field(document: Any, field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_region(document)
    assert [v.field for v in info.value.violations] == [field]


def test_a_box_written_as_a_list_says_the_mapping_of_its_corners() -> None:
    # `box: [[0, 0], [1, 32]]` was told only "Input should be a mapping of field names to
    # values, not a list", not the mapping a box is written as.
    with pytest.raises(InvalidRequestError) as refused:
        parse_region({"box": [[0, 0], [1, 32]]})
    (violation,) = refused.value.violations
    assert violation.field == "box"
    assert "box: {start: [...], stop: [...]}" in violation.description
    written = parse_region({"box": {"start": [0, 0], "stop": [1, 32]}})
    assert resolve_region(written, (2, 64)).tolist() == list(range(32))


def test_a_mask_written_as_a_list_per_slice_says_how_a_volume_mask_is_written() -> None:
    # The slices of a [2, 2, 4] volume drawn one list each: one violation on the mask saying the
    # rows run slice after slice in one list, not "Input should be a valid string" per slice.
    slices = [["##..", "##.."], ["##..", "##.."]]
    with pytest.raises(InvalidRequestError) as info:
        parse_region({"mask": slices})
    [violation] = info.value.violations
    assert violation.field == "mask"
    assert "slice after slice in one list, not a list per slice" in violation.description
    rows = parse_region({"mask": [row for rows in slices for row in rows]})
    assert resolve_region(rows, (2, 2, 4)).tolist() == [0, 1, 4, 5, 8, 9, 12, 13]


def test_a_mask_of_nested_numbers_says_how_a_mask_is_written() -> None:
    # Rows of 0/1 on a 2-D input: the refusal names both forms a mask takes, not only volumes.
    with pytest.raises(InvalidRequestError) as refused:
        parse_region({"mask": [[1, 0], [0, 0]]})
    (violation,) = refused.value.violations
    assert violation.field == "mask"
    assert "one string per row ('#' in the region, '.' not)" in violation.description
    assert "NumPy boolean array" in violation.description


@pytest.mark.parametrize(
    ("rows", "field", "said"),
    [
        (["##"], "mask", "has 1 row; the input [4, 2] needs 4"),
        (["##", "##", "##"], "mask", "has 3 rows; the input [4, 2] needs 4"),
        (["##", "#", "##", "##"], "mask[1]", "has 1 character; the input [4, 2] has 2 columns"),
        (["##", "###", "##", "##"], "mask[1]", "has 3 characters; the input [4, 2] has 2"),
    ],
)
def test_a_mask_of_the_wrong_size_counts_its_rows_and_characters_in_words(
    rows: list[str], field: str, said: str
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        resolve_region(parse_region({"mask": rows}), (4, 2))
    (violation,) = refused.value.violations
    assert violation.field == field
    assert violation.description.startswith(said)


def test_unknown_region_preset_lists_the_known_ones() -> None:
    with pytest.raises(InvalidRequestError, match="left_half, right_half"):
        parse_region({"preset": "left"})


# --- resolution errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "shape", "field", "words"),
    [
        (IndicesRegion(indices=(0, 16)), (4, 4), "indices", "id 16 outside 0..15"),
        (IndicesRegion(indices=(-1,)), (4,), "indices", "id -1 outside 0..3"),
        (IndicesRegion(indices=(2, 1, 2)), (4,), "indices", "id 2 listed more than once"),
        (IndicesRegion(indices=()), (4,), "indices", "selects no location"),
        (
            BoxRegion(box=Box(start=(0,), stop=(2,))),
            (4, 4),
            "box.start",
            "has 1 entry; the input [4, 4] has 2 axes",
        ),
        (
            BoxRegion(box=Box(start=(0, 0), stop=(2,))),
            (4, 4),
            "box.stop",
            "has 1 entry; the input [4, 4] has 2 axes",
        ),
        (BoxRegion(box=Box(start=(0, 2), stop=(2, 2))), (4, 4), "box.stop", "stop[1] = 2"),
        (BoxRegion(box=Box(start=(3,), stop=(1,))), (4,), "box.stop", "stop[0] = 1"),
        (BoxRegion(box=Box(start=(0, 0), stop=(5, 1))), (4, 4), "box.stop", "stop[0] = 5"),
        (BoxRegion(box=Box(start=(-1, 0), stop=(1, 1))), (4, 4), "box.start", "start[0] = -1"),
        (BoxRegion(box=Box(start=(4,), stop=(5,))), (4,), "box.start", "start[0] = 4"),
        (MaskRegion(mask=("#...",)), (2, 4), "mask", "has 1 row;"),
        (MaskRegion(mask=("#...", "#..")), (2, 4), "mask[1]", "has 3 characters"),
        (MaskRegion(mask=("#..x",)), (4,), "mask[0]", "'x' at column 3"),
        (MaskRegion(mask=("#.", "é.")), (2, 2), "mask[1]", "'é' at column 0"),
        (MaskRegion(mask=("....",)), (4,), "mask", "selects no location"),
        (MaskRegion(mask=("#...", "....")), (4,), "mask", "has 2 rows"),
        (PresetRegion(preset="top_half"), (8,), "preset", "needs a 2-D or 3-D input"),
        (PresetRegion(preset="top_left"), (8,), "preset", "needs a 2-D or 3-D input"),
        (PresetRegion(preset="left_half"), (1,), "preset", "selects no location"),
        (PresetRegion(preset="border"), (3, 3), "preset", "selects no location"),
    ],
)
def test_region_that_does_not_fit_names_the_field(
    region: Region, shape: tuple[int, ...], field: str, words: str
) -> None:
    got_field, description = violation(resolve_region, region, shape)
    assert got_field == field
    assert words in description


def test_many_bad_indices_are_summarised() -> None:
    _, description = violation(resolve_region, IndicesRegion(indices=tuple(range(10, 20))), (4,))
    assert "ids 10, 11, 12, 13, 14 and 5 more" in description


# --- region presets ---------------------------------------------------------------------------


def expected_preset(name: str, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """Each preset's documented definition, written with numpy coordinates."""
    coords = coordinates(shape)
    column, n_columns = coords[-1], shape[-1]
    row, n_rows = coords[-2 if len(shape) > 1 else 0], shape[-2 if len(shape) > 1 else 0]
    halves: dict[str, npt.NDArray[np.bool_]] = {
        "left_half": column < n_columns // 2,
        "right_half": column >= n_columns - n_columns // 2,
        "top_half": row < n_rows // 2,
        "bottom_half": row >= n_rows - n_rows // 2,
    }
    if name in halves:
        return halves[name]
    if name in ("top_left", "top_right", "bottom_left", "bottom_right"):
        vertical, horizontal = name.split("_")
        return halves[f"{vertical}_half"] & halves[f"{horizontal}_half"]
    center = np.ones(shape, dtype=bool)
    for axis, n in enumerate(shape):
        center &= (coords[axis] >= n // 4) & (coords[axis] < n - n // 4)
    others: dict[str, npt.NDArray[np.bool_]] = {
        "center": center,
        "border": ~center,
        "even": column % 2 == 0,
        "odd": column % 2 == 1,
        "checkerboard": coords.sum(axis=0) % 2 == 0,
    }
    return others[name]


TWO_D_ONLY = {"top_half", "bottom_half", "top_left", "top_right", "bottom_left", "bottom_right"}


@given(shape=shapes, name=st.sampled_from(sorted(REGION_PRESETS)))
def test_presets_match_their_definitions(shape: tuple[int, ...], name: str) -> None:
    if name in TWO_D_ONLY and len(shape) == 1:
        field, _ = violation(preset_mask, name, shape)
        assert field == "preset"
        return
    mask = preset_mask(name, shape)
    assert mask.shape == shape
    assert np.array_equal(mask, expected_preset(name, shape))


@given(shapes)
def test_preset_pairs_partition_or_mirror_each_other(shape: tuple[int, ...]) -> None:
    left, right = preset_mask("left_half", shape), preset_mask("right_half", shape)
    assert np.array_equal(np.flip(left, axis=-1), right)
    assert not (left & right).any()
    centre_column = shape[-1] % 2 == 1
    assert (left | right).sum() == math.prod(shape) - (
        math.prod(shape[:-1]) if centre_column else 0
    )
    for first, second in (("even", "odd"), ("center", "border")):
        assert np.array_equal(preset_mask(first, shape), ~preset_mask(second, shape))
    assert np.array_equal(preset_mask("center", shape), np.flip(preset_mask("center", shape)))


@given(st.tuples(st.integers(1, 12), st.integers(1, 12)))
def test_quadrants_are_disjoint_rotations(shape: tuple[int, int]) -> None:
    quadrants = [preset_mask(name, shape) for name in ("top_left", "top_right", "bottom_right")]
    assert np.array_equal(np.rot90(quadrants[0], 2), quadrants[2])
    assert np.array_equal(np.flip(quadrants[0], axis=1), quadrants[1])
    assert sum(q.sum() for q in quadrants) == np.logical_or.reduce(quadrants).sum()


def test_checkerboard_on_a_sequence_is_even() -> None:
    assert np.array_equal(preset_mask("checkerboard", (7,)), preset_mask("even", (7,)))


def test_odd_halves_leave_the_centre_column_out() -> None:
    assert resolve_region(PresetRegion(preset="left_half"), (5,)).tolist() == [0, 1]
    assert resolve_region(PresetRegion(preset="right_half"), (5,)).tolist() == [3, 4]
    assert resolve_region(PresetRegion(preset="top_half"), (3, 2)).tolist() == [0, 1]


def test_center_of_16x16_is_the_middle_8x8_block() -> None:
    ids = resolve_region(PresetRegion(preset="center"), (16, 16))
    rows, columns = np.divmod(ids, 16)
    assert ids.size == 64
    assert set(rows.tolist()) == set(range(4, 12)) == set(columns.tolist())


def test_every_preset_is_described_in_plain_text() -> None:
    infos = region_preset_infos()
    assert [info.name for info in infos] == list(REGION_PRESETS)
    required = {"left_half", "right_half", "top_half", "bottom_half", "center", "border"}
    assert required | {"even", "odd", "checkerboard"} <= set(REGION_PRESETS)
    for info in infos:
        assert info.kind == "region"
        assert info.description and "``" not in info.description
