"""Task presets: each expands into exactly the documented family, or is rejected on `preset`."""

from __future__ import annotations

import ast
import itertools
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError
from advisor.geometry.layouts import pooling_structure
from advisor.model.architecture import Architecture, Layer
from advisor.model.grid import InputSpec
from advisor.model.presets import (
    TASK_PRESETS,
    center_surround,
    expand_task_preset,
    front_back,
    local,
    long_range,
    periodic,
    start_end,
    symmetry,
    task_preset_infos,
    top_bottom,
)
from advisor.model.regions import ResolvedCorrelation, preset_mask, region_preset_infos
from advisor.model.strict_yaml import load_strict
from advisor.model.task import list_presets, parse_task
from advisor.seprank.labels import correlation_labels
from advisor.seprank.tree import log2_min_cut

shapes = st.one_of(
    st.tuples(st.integers(1, 40)),
    st.tuples(st.integers(1, 12), st.integers(1, 12)),
)


def grid(ids: npt.NDArray[np.intp], shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    mask = np.zeros(math.prod(shape), dtype=bool)
    mask[ids] = True
    return mask.reshape(shape)


def by_name(correlations: Sequence[ResolvedCorrelation]) -> dict[str, ResolvedCorrelation]:
    return {c.name: c for c in correlations}


def rejection(name: str, shape: tuple[int, ...]) -> str:
    with pytest.raises(InvalidRequestError) as info:
        expand_task_preset(name, shape)
    (only,) = info.value.violations
    assert only.field == "preset"
    return only.description


@given(shape=shapes, name=st.sampled_from(sorted(TASK_PRESETS)))
def test_every_expansion_is_well_formed_or_rejected_on_preset(
    shape: tuple[int, ...], name: str
) -> None:
    try:
        correlations = expand_task_preset(name, shape)
    except InvalidRequestError as exc:
        assert [v.field for v in exc.violations] == ["preset"]
        assert name in exc.violations[0].description
        return
    assert correlations
    names = [c.name for c in correlations]
    assert len(set(names)) == len(names)
    size = math.prod(shape)
    for c in correlations:
        assert c.name.startswith(f"{name}/")
        assert c.weight == 1.0
        for ids in (c.a, c.b):
            assert ids.size and not ids.flags.writeable
            assert np.array_equal(ids, np.unique(ids)) and ids[0] >= 0 and ids[-1] < size
        assert np.intersect1d(c.a, c.b).size == 0


def test_the_checkerboard_definition_states_the_depth_of_a_3d_input() -> None:
    # `advisor presets` shows the first line only; it gave the 2-D rule, (h + w) % 2 == 0,
    # while on a volume the depth alternates too.
    (info,) = [p for p in region_preset_infos() if p.name == "checkerboard"]
    assert "3-D: d + h + w" in info.description.partition("\n")[0]
    d, h, w = np.indices((3, 4, 5))
    np.testing.assert_array_equal(preset_mask("checkerboard", (3, 4, 5)), (d + h + w) % 2 == 0)


def test_unknown_preset_lists_the_known_ones() -> None:
    assert "known: symmetry, top_bottom, local" in rejection("locality", (16, 16))


@pytest.mark.parametrize(
    ("name", "shape", "words"),
    [
        ("symmetry", (3,), "at least 4 locations"),
        ("symmetry", (8, 3), "at least 4 locations on axis 1"),
        ("top_bottom", (16,), "needs a 2-D or 3-D input"),
        ("top_bottom", (3, 8), "at least 4 locations on axis 0"),
        ("local", (3, 3), "axis of at least 4"),
        ("long_range", (3, 16), "on axis 0"),
        ("periodic", (15,), "even length"),
        ("periodic", (16, 15), "even length on axis 1"),
        ("periodic", (15, 16), "even length on axis 0"),
        ("periodic", (99, 99), "even length on axes 0 and 1"),
        ("periodic", (9, 9, 9), "even length on axes 0, 1 and 2"),
        ("start_end", (16, 16), "needs a 1-D input"),
        ("start_end", (3,), "at least 4 locations"),
        ("center_surround", (3, 2), "border is empty"),
    ],
)
def test_presets_that_do_not_fit_are_rejected(
    name: str, shape: tuple[int, ...], words: str
) -> None:
    assert words in rejection(name, shape)


@pytest.mark.parametrize("shape", [(16, 112, 112), (64, 128), (3, 5, 5), (2, 5)])
def test_start_end_off_a_sequence_says_what_pairs_the_ends_of_axis_0(
    shape: tuple[int, ...],
) -> None:
    # A video [16, 112, 112] was told "it needs a 1-D input [N]" alone: its first frames against
    # its last are front_back's outer strips, or a box at each end, which the refusal now writes.
    refused = rejection("start_end", shape)
    boxes = re.search(r"a box at each end of axis 0: (a: \{.*\}\}, b: \{.*\}\})$", refused)
    assert boxes is not None, refused
    correlation = load_strict("{name: ends, " + boxes[1] + "}")
    [ends] = parse_task({"input": {"shape": list(shape)}, "correlations": [correlation]}).resolved()
    width = max(1, shape[0] // 4)
    rows = math.prod(shape[1:])
    assert np.array_equal(ends.a, np.arange(width * rows))
    assert np.array_equal(ends.b, np.arange((shape[0] - width) * rows, math.prod(shape)))
    mirror = "front_back" if len(shape) == 3 else "top_bottom"
    if shape[0] < 4:  # the mirror preset does not apply: only the boxes are offered
        assert mirror not in refused
        return
    assert f"use {mirror} (" in refused
    [outer] = [c for c in expand_task_preset(mirror, shape) if c.name == f"{mirror}/outer"]
    assert np.array_equal(outer.a, ends.a) and np.array_equal(outer.b, ends.b)


@given(st.lists(st.integers(1, 40), min_size=1, max_size=3))
def test_periodic_refused_on_an_odd_axis_names_even_inputs_it_applies_to(shape: list[int]) -> None:
    # A spectrogram of 431 frames ([128, 431]) was told "it needs an even length on axis 1",
    # with no word of the inputs that have one.
    if all(n % 2 == 0 for n in shape):
        assert periodic(tuple(shape))
        return
    refused = rejection("periodic", tuple(shape))
    found = re.search(
        r"give the input (?:cropped or )?padded to (\[[\d, ]+\](?: or \[[\d, ]+\])?)", refused
    )
    if found is None:  # only axes of one location are odd: the shape without them is given
        assert "an axis of one location pools nothing" in refused, refused
        return
    advised = [ast.literal_eval(text) for text in found.group(1).split(" or ")]
    for other in advised:
        assert all(n % 2 == 0 for n in other) and periodic(tuple(other))
        kept = [n for n in shape if n != 1] or shape
        assert len(other) == len(kept)
        assert all(abs(a - b) <= 1 for a, b in zip(other, kept, strict=True))


@pytest.mark.parametrize(
    ("name", "shape", "squeezed"),
    [
        ("start_end", (1, 64), [64]),
        ("symmetry", (64, 1), [64]),
        ("long_range", (1, 1000), [1000]),
        ("periodic", (1, 32, 32), [32, 32]),
        ("symmetry", (64, 1, 1), [64]),
    ],
)
def test_a_refusal_an_axis_of_one_location_causes_gives_the_shape_without_it(
    name: str, shape: tuple[int, ...], squeezed: list[int]
) -> None:
    # A sequence written as an image (1x64, 64x1) was refused with no way out: the preset
    # applies to the same locations given without the axis that pools nothing.
    said = rejection(name, shape)
    assert said.endswith(
        f"(an axis of one location pools nothing: {name} applies to the same locations given "
        f"as the shape {squeezed})"
    ), said
    expand_task_preset(name, tuple(squeezed))


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("front_back", (1, 32, 32)),
        ("top_bottom", (1, 64)),
        ("local", (2, 1)),
        # Without its axis of one location [16, 64]'s rows would be the frames.
        ("top_bottom", (16, 1, 64)),
        ("long_range", (16, 1, 64)),
    ],
)
def test_no_shape_is_offered_where_the_preset_does_not_apply_without_the_axis_either(
    name: str, shape: tuple[int, ...]
) -> None:
    assert "an axis of one location" not in rejection(name, shape)


# --- each family as documented ----------------------------------------------------------------


@given(shapes.filter(lambda s: s[-1] >= 4))
def test_symmetry_pairs_each_region_with_its_mirror_image(shape: tuple[int, ...]) -> None:
    members = by_name(symmetry(shape))
    # On 4 or 5 columns the alternate columns are the outer ones: that member is left out.
    alternates = ["symmetry/alternate"] if shape[-1] >= 6 else []
    assert list(members) == ["symmetry/halves", "symmetry/outer", "symmetry/inner", *alternates]
    for c in members.values():
        assert np.array_equal(np.flip(grid(c.a, shape), axis=-1), grid(c.b, shape))
    halves = members["symmetry/halves"]
    assert np.array_equal(grid(halves.a, shape), preset_mask("left_half", shape))
    outer, inner = members["symmetry/outer"], members["symmetry/inner"]
    assert np.array_equal(np.union1d(outer.a, inner.a), halves.a)
    assert np.intersect1d(outer.a, inner.a).size == 0
    columns = np.unique(np.indices(shape)[-1].reshape(-1)[outer.a])
    assert columns.tolist() == list(range(shape[-1] // 4))
    if alternates:
        alternate = np.unique(np.indices(shape)[-1].reshape(-1)[members["symmetry/alternate"].a])
        assert alternate.tolist() == list(range(0, shape[-1] // 2, 2))


@pytest.mark.parametrize("preset", [symmetry, top_bottom, front_back])
@pytest.mark.parametrize("length", [4, 5, 6, 7, 8])
def test_a_mirror_preset_counts_each_partition_once(
    preset: Callable[[tuple[int, ...]], list[ResolvedCorrelation]], length: int
) -> None:
    # On 4 or 5 locations the alternate strips were the outer ones: that pair weighed double.
    members = preset((length, length, length))
    sides = [(c.a.tolist(), c.b.tolist()) for c in members]
    assert len(set(map(str, sides))) == len(sides)
    assert len(members) == (4 if length >= 6 else 3)


@given(st.tuples(st.integers(4, 12), st.integers(1, 12)))
def test_top_bottom_is_symmetry_transposed(shape: tuple[int, int]) -> None:
    transposed = (shape[1], shape[0])
    for ours, theirs in zip(top_bottom(shape), symmetry((shape[1], shape[0])), strict=True):
        assert ours.name.split("/")[1] == theirs.name.split("/")[1]
        for side in ("a", "b"):
            assert np.array_equal(
                grid(getattr(ours, side), shape), grid(getattr(theirs, side), transposed).T
            )


def stripes(mask: npt.NDArray[np.bool_], axis: int) -> list[int]:
    """Widths of the runs of equal values along ``axis`` (the mask must not vary on others)."""
    line = np.moveaxis(mask, axis, -1).reshape(-1, mask.shape[axis])
    assert (line == line[0]).all()
    edges = np.flatnonzero(np.diff(line[0].astype(int))) + 1
    widths: list[int] = np.diff(np.concatenate([[0], edges, [line.shape[1]]])).tolist()
    return widths


@given(shapes)
def test_local_members_are_fine_stripes_of_the_documented_scales(shape: tuple[int, ...]) -> None:
    if max(shape) < 4:
        return
    members = local(shape)
    axis_of = {"columns": len(shape) - 1, "rows": 0}
    distinct: dict[tuple[int, int], list[npt.NDArray[np.bool_]]] = {}
    for c in members:
        a = grid(c.a, shape)
        assert np.array_equal(a, ~grid(c.b, shape))
        assert a.flat[0]
        parts = c.name.removeprefix("local/").split("-")
        axis = axis_of[parts.pop(0)] if len(shape) == 2 else 0
        scale = int(parts[0].removeprefix("s"))
        assert 4 * scale <= shape[axis]
        widths = stripes(a, axis)
        assert max(widths) <= 2 * scale
        if "mirrored" not in parts:
            assert set(widths[1:-1]) <= {scale}
        else:
            # Symmetric about the centre line, where two stripes may merge into one.
            assert np.array_equal(a, np.flip(a, axis=axis))
        seen = distinct.setdefault((axis, scale), [])
        assert not any(np.array_equal(a, other) for other in seen)
        seen.append(a)
    for axis, n in enumerate(shape):
        assert {scale for (ax, scale) in distinct if ax == axis} == {
            s for s in (1, 2) if 4 * s <= n
        }


@given(shapes)
def test_local_splits_every_neighbourhood_at_every_position(shape: tuple[int, ...]) -> None:
    """The family covers its whole domain: no neighbouring pair is left to a sample.

    Every pair of locations 1 or 2 apart along an axis of at least 4 (8 for distance 2), at any
    position, is on opposite sides of some member, so no geometry can serve some neighbourhoods
    by scattering the others.
    """
    if max(shape) < 4:
        return
    sides = [grid(c.a, shape) for c in local(shape)]
    for axis, n in enumerate(shape):
        for distance in (1, 2):
            if n < 4 * distance:
                continue
            near = [np.take(a, range(n - distance), axis=axis) for a in sides]
            far = [np.take(a, range(distance, n), axis=axis) for a in sides]
            split = np.logical_or.reduce([x != y for x, y in zip(near, far, strict=True)])
            assert split.all(), (axis, distance)


def test_local_on_16x16_lists_the_documented_members() -> None:
    names = [c.name for c in local((16, 16))]
    per_axis = ["s1", "s1-mirrored", "s2", "s2-shift1", "s2-mirrored"]
    assert names == [f"local/columns-{m}" for m in per_axis] + [f"local/rows-{m}" for m in per_axis]
    # odd/even columns, and odd/even columns XOR left/right (docs/THEORY.md §3).
    column = np.indices((16, 16))[1]
    members = by_name(local((16, 16)))
    assert np.array_equal(grid(members["local/columns-s1"].a, (16, 16)), column % 2 == 0)
    xor = (column % 2 == 0) ^ (column >= 8)
    assert np.array_equal(grid(members["local/columns-s1-mirrored"].a, (16, 16)), xor)


def test_local_on_a_sequence_has_no_axis_name_and_drops_duplicates() -> None:
    # On an odd length the mirrored s1 layout is plain odd/even again; s2 needs 8 locations.
    assert [c.name for c in local((7,))] == ["local/s1"]
    assert [c.name for c in local((8,))] == [
        "local/s1",
        "local/s1-mirrored",
        "local/s2",
        "local/s2-shift1",
        "local/s2-mirrored",
    ]


@given(shapes.filter(lambda s: min(s) >= 4))
def test_long_range_pairs_far_apart_regions(shape: tuple[int, ...]) -> None:
    members = by_name(long_range(shape))
    if len(shape) == 1:
        assert list(members) == ["long_range/halves", "long_range/ends"]
        for c in members.values():
            assert np.array_equal(np.flip(grid(c.a, shape)), grid(c.b, shape))
        return
    assert list(members) == [
        "long_range/left-right",
        "long_range/left-right-borders",
        "long_range/top-bottom",
        "long_range/top-bottom-borders",
        "long_range/diagonal",
        "long_range/anti-diagonal",
    ]
    for name, axis in (("left-right", 1), ("top-bottom", 0)):
        for member in (name, f"{name}-borders"):
            c = members[f"long_range/{member}"]
            assert np.array_equal(np.flip(grid(c.a, shape), axis=axis), grid(c.b, shape))
    for name, quadrant in (("diagonal", "top_left"), ("anti-diagonal", "top_right")):
        c = members[f"long_range/{name}"]
        assert np.array_equal(grid(c.a, shape), preset_mask(quadrant, shape))
        assert np.array_equal(np.rot90(grid(c.a, shape), 2), grid(c.b, shape))


@given(shapes.filter(lambda s: all(n % 2 == 0 for n in s)))
def test_periodic_pairs_blocks_with_their_translate_by_half(shape: tuple[int, ...]) -> None:
    members = periodic(shape)
    axes = [len(shape) - 1, 0] if len(shape) == 2 else [0]
    blocks = [min(8, shape[axis] // 2) for axis in axes]
    assert len(members) == sum(blocks)
    first = 0
    for axis, count in zip(axes, blocks, strict=True):
        group, first = members[first : first + count], first + count
        half = shape[axis] // 2
        covered = np.zeros(shape, dtype=bool)
        for c in group:
            a = grid(c.a, shape)
            assert np.array_equal(np.roll(a, half, axis=axis), grid(c.b, shape))
            assert not (covered & a).any()
            covered |= a
        index = np.moveaxis(np.indices(shape)[axis], 0, 0)
        assert np.array_equal(covered, index < half)


def test_periodic_on_a_sequence_matches_the_brief() -> None:
    # A = [i, i + w), B = [i + N/2, i + N/2 + w).
    members = periodic((32,))
    assert [c.name for c in members] == [f"periodic/block{j}" for j in range(8)]
    assert members[3].a.tolist() == [6, 7] and members[3].b.tolist() == [22, 23]


@given(st.integers(4, 300))
def test_start_end_doubles_the_width_up_to_a_quarter(n: int) -> None:
    members = start_end((n,))
    widths = [c.a.size for c in members]
    assert widths[0] == 1 and widths[-1] <= n // 4 < 2 * widths[-1]
    assert all(w2 == 2 * w1 for w1, w2 in itertools.pairwise(widths))
    for c in members:
        assert c.name == f"start_end/w{c.a.size}"
        assert c.a.tolist() == list(range(c.a.size))
        assert c.b.tolist() == list(range(n - c.a.size, n))


@given(shapes.filter(lambda s: max(s) >= 4))
def test_center_surround_is_center_against_border(shape: tuple[int, ...]) -> None:
    (c,) = center_surround(shape)
    assert c.name == "center_surround/center-border"
    assert np.array_equal(grid(c.a, shape), preset_mask("center", shape))
    assert np.array_equal(grid(c.b, shape), preset_mask("border", shape))


def test_every_task_preset_is_described_in_plain_text() -> None:
    infos = task_preset_infos()
    required = ["symmetry", "top_bottom", "local", "long_range", "periodic", "start_end"]
    assert [info.name for info in infos][: len(required)] == required
    assert "center_surround" in {info.name for info in infos}
    for info in infos:
        assert info.kind == "task" and "``" not in info.description
        assert f"{info.name}/" in info.description, "the members are named in the definition"


def test_the_definitions_are_served_by_an_interpreter_that_drops_docstrings() -> None:
    # python -OO (PYTHONOPTIMIZE=2) strips docstrings; the definitions must not go with them.
    statement = (
        "import json; from advisor.model.task import list_presets; "
        "print(json.dumps([[p.name, p.description] for p in list_presets()]))"
    )
    result = subprocess.run(
        [sys.executable, "-OO", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    expected = [[info.name, info.description] for info in list_presets()]
    assert all(description for _, description in expected)
    assert json.loads(result.stdout) == expected


# --- what the families measure (docs/THEORY.md §3, §11), with the real engine ------------------


def log2_ranks(
    correlations: Sequence[ResolvedCorrelation],
    geometry: str,
    log2_widths: Sequence[float],
    log2_representation: float = 3.0,
) -> npt.NDArray[np.float64]:
    """Per-correlation min-cuts on 16x16 with 2x2 windows at every level."""
    arch = Architecture(
        input=InputSpec(shape=(16, 16)),
        representation=8,
        layers=[Layer(channels=8, pool=(2, 2)) for _ in log2_widths],
        geometry=geometry,
    )
    labels = correlation_labels(correlations, 256)
    return log2_min_cut(pooling_structure(arch), labels, log2_widths, log2_representation)


# Sums of log2 ranks, every width and M = 8, quoted in the presets' docstrings.
DOCUMENTED = {
    "local": (1344, 966, 822),
    "long_range": (18, 960, 864),
    "symmetry": (12, 480, 291),
    "periodic": (48, 192, 384),
    "center_surround": (12, 48, 192),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_documented_figures_per_geometry(name: str) -> None:
    correlations = expand_task_preset(name, (16, 16))
    totals = tuple(
        float(log2_ranks(correlations, geometry, [3.0] * 4).sum())
        for geometry in ("contiguous", "mirror", "interleaved")
    )
    assert totals == DOCUMENTED[name]
    description = next(info.description for info in task_preset_infos() if info.name == name)
    quoted = "contiguous {:g}, mirror {:g}, interleaved {:g}".format(*totals)
    assert quoted in " ".join(description.split())


def test_the_theory_lab_figures_of_the_local_members() -> None:
    # docs/THEORY.md §3: odd/even columns 192 vs 192; ... XOR left/right 192 vs 48.
    members = by_name(local((16, 16)))
    pair = [members["local/columns-s1"], members["local/columns-s1-mirrored"]]
    assert log2_ranks(pair, "contiguous", [3.0] * 4).tolist() == [192, 192]
    assert log2_ranks(pair, "mirror", [3.0] * 4).tolist() == [192, 48]


@pytest.mark.parametrize(
    "deep", [[0.0, 0.0], [1.0, 5.0], [9.0, 9.0]], ids=["width-1", "mixed", "wide"]
)
def test_local_ignores_the_deep_widths_and_long_range_the_early_ones(deep: list[float]) -> None:
    local_members, long_members = local((16, 16)), long_range((16, 16))
    early = [3.0, 3.0]
    reference_local = log2_ranks(local_members, "contiguous", [*early, 3.0, 3.0])
    assert np.array_equal(log2_ranks(local_members, "contiguous", [*early, *deep]), reference_local)
    reference_long = log2_ranks(long_members, "contiguous", [9.0, 9.0, *deep])
    assert np.array_equal(log2_ranks(long_members, "contiguous", [3.0, 3.0, *deep]), reference_long)
    assert (
        log2_ranks(local_members, "contiguous", [1.0, 3.0, 3.0, 3.0]).sum() < reference_local.sum()
    )


def test_wide_base_wins_local_and_wide_tip_wins_long_range() -> None:
    # The mirror-image width schedules of [LYCS18 §7]: 32,16,4,2 vs 2,4,16,32 (log2 5,4,2,1).
    wide_base, wide_tip = [5.0, 4.0, 2.0, 1.0], [1.0, 2.0, 4.0, 5.0]
    for preset, winner, loser in ((local, wide_base, wide_tip), (long_range, wide_tip, wide_base)):
        members = preset((16, 16))
        assert (
            log2_ranks(members, "contiguous", winner).sum()
            > log2_ranks(members, "contiguous", loser).sum()
        )
