"""Geometry families (advisor.model.geometries) and schedules (advisor.model.schedule)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError
from advisor.geometry.layouts import (
    WindowPositions,
    dilation_order,
    dilation_permutation,
    geometry_permutation,
    geometry_structure,
)
from advisor.model.architecture import validate_schedule
from advisor.model.geometries import (
    FAMILIES,
    DilationGeometry,
    Geometry,
    PermutationGeometry,
    applies_to,
    family_of,
    mirror_folds,
)
from advisor.model.schedule import Schedule, check_schedule
from advisor.search.candidates import window_schedules

_RESULTS = Path(__file__).resolve().parents[1] / "bench" / "outcomes" / "results"

GEOMETRIES: list[tuple[Geometry, str]] = [
    ("contiguous", "contiguous"),
    ("mirror", "mirror"),
    ("interleaved", "interleaved"),
    (DilationGeometry(dilations=(2, 1, 4)), "dilations"),
    (PermutationGeometry(permutation=tuple(range(8))), "permutation"),
]


@pytest.mark.parametrize(("geometry", "name"), GEOMETRIES)
def test_every_geometry_has_exactly_one_family(geometry: Geometry, name: str) -> None:
    owners = [family.name for family in FAMILIES if family.owns(geometry)]
    assert owners == [name]
    assert family_of(geometry).name == name


def test_family_names_are_unique() -> None:
    names = [family.name for family in FAMILIES]
    assert len(set(names)) == len(names) == 5


@pytest.mark.parametrize("geometry", [geometry for geometry, _ in GEOMETRIES])
def test_every_family_gathers_a_permutation_of_each_grid(geometry: Geometry) -> None:
    schedule = validate_schedule([8], [[2], [2], [2]], None, geometry)
    gathers = family_of(geometry).gathers(geometry, schedule)
    assert len(gathers) == schedule.depth
    for grid, gather in zip(schedule.grids, gathers, strict=False):
        if gather is not None:
            assert sorted(gather.tolist()) == list(range(int(np.prod(grid))))


@pytest.mark.parametrize(
    ("geometry", "pools", "strides", "fits"),
    [
        ("mirror", [[2, 2], [4, 4]], None, True),  # the top may pool anything
        ("mirror", [[4, 4], [2, 2]], None, False),
        ("interleaved", [[4, 4], [2, 2]], None, True),
        ("interleaved", [[4, 4], [3, 3]], [[2, 2], None], False),  # no overlaps
        ("contiguous", [[4, 4], [3, 3]], [[2, 2], None], True),
    ],
)
def test_applies_to_answers_what_the_check_decides(
    geometry: Geometry, pools: Any, strides: Any, fits: bool
) -> None:
    schedule = check_schedule([8, 8], pools, strides)
    assert applies_to(geometry, schedule) is fits
    if not fits:
        with pytest.raises(InvalidRequestError) as caught:
            family_of(geometry).check(geometry, schedule)
        assert [v.field for v in caught.value.violations] == ["geometry"]


def test_mirror_pooling_of_an_odd_grid_says_how_to_pad_it_even() -> None:
    # A clip of 7 frames of 15x15: no window of 2 tiles it, so the mirror geometry's refusal
    # says which padding makes it one mirror pooling takes (one location after each odd axis).
    odd = check_schedule([7, 15, 15], [[1, 3, 3], [1, 5, 5], [7, 1, 1]])
    with pytest.raises(InvalidRequestError) as caught:
        family_of("mirror").check("mirror", odd)
    (violation,) = caught.value.violations
    assert violation.field == "geometry"
    assert violation.description.endswith("(padding: [[0, 1], [0, 1], [0, 1]])")
    pools = [[2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]]
    padding = ((0, 1), (0, 1), (0, 1))
    assert applies_to("mirror", check_schedule([8, 16, 16], pools, padding=padding))
    # An even grid needs no padding, and its refusal offers none.
    with pytest.raises(InvalidRequestError) as caught:
        family_of("mirror").check("mirror", check_schedule([8, 8], [[4, 4], [2, 2]]))
    assert "padding" not in caught.value.violations[0].description


def test_a_family_refuses_another_familys_geometry() -> None:
    schedule = check_schedule([4], [[2], [2]])
    with pytest.raises(TypeError, match="dilations family"):
        family_of(DilationGeometry(dilations=(1, 2))).gathers("contiguous", schedule)


@given(st.sampled_from([(8, 8), (16,), (4, 8), (12,), (2, 32)]), st.data())
def test_a_trusted_schedule_equals_the_checked_one(shape: tuple[int, ...], data: Any) -> None:
    pools = data.draw(st.sampled_from(window_schedules(shape, 1, 6)))
    assert Schedule.trusted(shape, pools) == check_schedule(shape, pools)


def test_a_trusted_overlapping_schedule_equals_the_checked_one() -> None:
    pools, strides = [[3, 3], [4, 4]], [[1, 1], None]
    checked = check_schedule([6, 6], pools, strides)
    assert Schedule.trusted([6, 6], pools, strides) == checked
    assert checked.grids == ((6, 6), (4, 4), (1, 1))
    assert checked.overlapping == (0,) and checked.steps == ((1, 1), (4, 4))


def test_mirror_folds_while_the_windows_are_two_then_pools_the_folded_grid_contiguously() -> None:
    # 24 = 2 * 3 * 4: one fold, then windows of 3 and a global 4 on the folded grid, which a
    # mirror tree could not pool before (it needed 2 at every level below the top).
    schedule = validate_schedule([24], [[2], [3], [4]], None, "mirror")
    assert mirror_folds(schedule) == 1
    assert mirror_folds(validate_schedule([16], [[2], [2], [4]], None, "mirror")) == 3
    structure = geometry_structure("mirror", schedule)
    first, second, _ = (level.tolist() for level in structure.windows)
    assert first == [[i, 23 - i] for i in range(12)]  # reflections, outermost first
    # The folded nodes (node k holds k and 23 - k) in threes: neighbouring reflection pairs.
    assert second == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]


def test_shared_window_positions_build_the_same_trees_and_cannot_be_written() -> None:
    positions = WindowPositions()
    shuffled = PermutationGeometry(
        permutation=tuple(int(i) for i in np.random.default_rng(3).permutation(256))
    )
    built = 0
    for geometry in ("contiguous", "mirror", "interleaved", shuffled):
        for pools in ([[2, 2], [2, 2], [4, 4]], [[4, 4], [2, 2], [2, 2]], [[2, 2]] * 4):
            try:
                schedule = validate_schedule([16, 16], pools, None, geometry)
            except InvalidRequestError:
                continue  # mirror pools 2 per axis below the top
            fresh = geometry_structure(geometry, schedule).windows
            shared = geometry_structure(geometry, schedule, positions).windows
            assert all(np.array_equal(a, b) for a, b in zip(fresh, shared, strict=True))
            assert np.array_equal(
                geometry_permutation(geometry, schedule),
                geometry_permutation(geometry, schedule, positions),
            )
            built += 1
    assert built == 11
    level = positions((16, 16), (2, 2), (2, 2))
    assert level is positions((16, 16), (2, 2), (2, 2))
    assert level.shape == (64, 4) and level[0].tolist() == [0, 1, 16, 17]
    with pytest.raises(ValueError, match="read-only"):
        level[0, 0] = 5


def test_a_mirror_level_of_pool_one_on_an_axis_keeps_that_axis_in_order() -> None:
    # A clip of 3 frames of 4x4 pooled 1x2x2: each window holds one frame's location with its
    # reflections in space (y -> 3 - y, x -> 3 - x), never another frame's.
    schedule = validate_schedule([3, 4, 4], [[1, 2, 2], [3, 2, 2]], None, "mirror")
    assert mirror_folds(schedule) == 2
    first = geometry_structure("mirror", schedule).windows[0].tolist()
    expected = [
        sorted(16 * t + 4 * y + x for y in (r, 3 - r) for x in (c, 3 - c))
        for t in range(3)
        for r in range(2)
        for c in range(2)
    ]
    assert sorted(sorted(window) for window in first) == sorted(expected)


def _trained_mirror_designs() -> list[dict[str, Any]]:
    """Every mirror design the trained-outcome benchmark's committed results hold."""
    found: list[dict[str, Any]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "architecture" and isinstance(value, str):
                    document = json.loads(value)
                    if document.get("family") == "mirror":
                        found.append(document)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted(_RESULTS.glob("**/*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return found


def test_every_trained_mirror_design_keeps_its_permutation() -> None:
    # The benchmark's cached runs are keyed by the architecture, permutation included: a mirror
    # rule that orders the same windows otherwise would leave its runs unread and train them
    # again. (The top level once became unfolded where it pooled more than 2 on an axis.)
    designs = _trained_mirror_designs()
    assert len(designs) > 100
    for document in designs:
        pools = [layer["pool"] for layer in document["layers"]]
        margins = document.get("padding")
        padding = None if margins is None else tuple(tuple(m) for m in margins)
        schedule = validate_schedule(document["input"]["shape"], pools, None, "mirror", padding)
        permutation = geometry_permutation("mirror", schedule).tolist()
        assert permutation == document["geometry"]["permutation"], pools


def test_a_padded_axis_first_folded_above_a_level_of_one_reflects_about_the_inputs_centre() -> None:
    # 5 rows padded to 6 (one margin row after), pooled 1x2 and then 2x2: the rows first fold at
    # the second level, which reflected about the padded grid's centre (row 0 with the margin
    # row 5); they reflect about the input's (row 0 with row 4), as a first level of 2x2 does.
    padding = ((0, 1), (0, 0))
    late = validate_schedule([6, 8], [[1, 2], [2, 2], [3, 2]], None, "mirror", padding)
    windows = geometry_structure("mirror", late).windows[1].tolist()
    row_pairs = {tuple(sorted({node // 4 for node in window})) for window in windows}
    assert row_pairs == {(0, 4), (1, 3), (2, 5)}


def test_a_dilated_trees_permutation_gives_back_its_order_and_no_other_does() -> None:
    pairs = validate_schedule((16,), [(2,)] * 4, None, "contiguous")
    for order in itertools.permutations([1, 2, 4, 8]):
        assert dilation_order(pairs, dilation_permutation(16, order)) == order
    rng = np.random.default_rng(3)
    shuffled = [rng.permutation(16) for _ in range(50)]
    laid = {tuple(dilation_permutation(16, o)) for o in itertools.permutations([1, 2, 4, 8])}
    for permutation in shuffled:
        assert (dilation_order(pairs, permutation) is not None) == (tuple(permutation) in laid)
    # Windows of 4 lay out no dilated tree of windows of 2, whatever the permutation.
    fours = validate_schedule((16,), [(4,), (4,)], None, "contiguous")
    assert dilation_order(fours, dilation_permutation(16, (1, 2, 4, 8))) is None


@pytest.mark.parametrize(
    "given",
    [
        [2, 0, 3, 1],
        (2, 0, 3, 1),
        np.array([2, 0, 3, 1], dtype=np.uint8),
        [np.int64(2), 0, np.int32(3), np.uint16(1)],
    ],
    ids=["list", "tuple", "array", "numpy-integers"],
)
def test_a_permutation_of_numpy_integers_reads_as_python_ints(given: Any) -> None:
    # NumPy's integers are read all at once, not one validator call per id (0.26 s of each
    # million-location design a client decoded).
    permutation = PermutationGeometry(permutation=given).permutation
    assert permutation == (2, 0, 3, 1)
    assert {type(i) for i in permutation} == {int}


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ([0, True], "permutation[1]: Input should be a valid integer"),
        ([0, np.True_], "permutation[1]: Input should be a valid integer"),
        ([0, np.int64(1), 2.5], "permutation[2]: Input should be a valid integer, not a float"),
        (np.array([0.0, 1.0]), "permutation[0]: Input should be a valid integer, not a float"),
        ([0, "1"], "permutation[1]: Input should be a valid integer, not a text"),
        ([[0, 1], [2, 3]], "permutation: holds a list where location ids belong"),
    ],
)
def test_ids_that_are_no_integers_are_refused_each_at_its_index(given: Any, problem: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        PermutationGeometry(permutation=given)
    assert str(refused.value).startswith(problem)
