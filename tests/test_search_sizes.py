"""Any grid size gets a deeper net than the shallow one when one fits the budget.

Sizes with a factor pool by their factorisation (15x15: 3x3 then 5x5); prime and awkward sizes
pool a padded grid, and the pick says so: its architecture carries the padding, its rationale
names it, and an analysis of the architecture it prints confirms every figure it reports.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from advisor.cli.options import ExitCode
from advisor.errors import InvalidRequestError
from advisor.geometry.layouts import pooling_structure
from advisor.model.architecture import architecture_document, parse_architecture
from advisor.model.budget import Budget
from advisor.model.grid import MAX_LOCATIONS
from advisor.model.padding import friendly_paddings
from advisor.model.task import parse_task
from advisor.search.recommend import recommend, score_architecture
from advisor.seprank.analysis import analyze
from tests.test_cli import advisor, assert_one_error_line

LARGE = Budget(max_parameters=10_000_000, top_k=3, time_limit_seconds=None)


@pytest.mark.parametrize(
    ("shape", "padded"),
    [([15, 15], True), ([9, 9], True), ([99, 99], True), ([13], True), ([44_100], False)],
)
def test_odd_and_awkward_sizes_get_a_deeper_pick_that_analyze_confirms(
    shape: list[int], padded: bool
) -> None:
    task = parse_task({"input": {"shape": shape}, "preset": "symmetry"})
    result = recommend(task, LARGE)
    best = result.recommendations[0]
    architecture = best.architecture
    assert architecture.family != "shallow" and len(architecture.layers) >= 2
    assert (architecture.padding is not None) == padded
    if padded:
        assert "on the input padded to" in best.rationale
    assert "No contiguous net fits" not in best.rationale
    reparsed = parse_architecture(architecture_document(architecture))
    assert reparsed == architecture
    assert analyze(task, reparsed).correlations == best.analysis
    # The search scored the tree on its subtree DAG, the analysis on the pooling structure: the
    # two agree on the padded grid too.
    assert score_architecture(task, LARGE, reparsed) == pytest.approx(best.score, abs=1e-9)


@pytest.mark.parametrize("shape", [[15, 15], [9, 9], [225], [15, 15, 15]])
def test_a_symmetry_task_on_an_odd_grid_gets_mirror_pooling_about_the_inputs_centre(
    shape: list[int],
) -> None:
    task = parse_task({"input": {"shape": shape}, "preset": "symmetry"})
    budget = Budget(max_parameters=100_000, top_k=1, time_limit_seconds=None)
    best = recommend(task, budget).recommendations[0].architecture
    assert best.family == "mirror" and best.padding is not None
    # Each first-level window of the padded grid holds an input location and its reflection
    # about the input's centre on the last axis (a margin location pairs with the middle one).
    n = shape[-1]
    before = best.padding[-1][0]
    assert (best.padding[-1][1], n % 2) == (before + 1, 1)
    size = n + 2 * before + 1
    columns = np.asarray(best.geometry.permutation).reshape(-1, size)[0] % size  # type: ignore[union-attr]
    for left, right in columns.reshape(-1, 2):
        assert left + right == 2 * before + n - 1 or {left, right} == {before + n // 2, size - 1}


@pytest.mark.parametrize("n", range(4, 41))
def test_a_sequence_of_any_length_from_4_gets_a_deeper_pick(n: int) -> None:
    task = parse_task({"input": {"shape": [n]}, "preset": "symmetry"})
    best = recommend(task, LARGE).recommendations[0]
    assert len(best.architecture.layers) >= 2


@pytest.mark.parametrize("n", [4, 5, 6, 7, 11, 13, 17, 21])
def test_an_image_of_any_side_from_4_gets_a_deeper_pick(n: int) -> None:
    task = parse_task({"input": {"shape": [n, n]}, "preset": "symmetry"})
    best = recommend(task, LARGE).recommendations[0]
    assert len(best.architecture.layers) >= 2


@pytest.mark.parametrize(
    ("shape", "grids"),
    [
        ((13,), [(15,), (16,)]),
        ((99, 99), [(100, 100), (128, 128)]),
        ((15, 15), [(16, 16)]),
        ((9, 9), [(10, 10), (16, 16)]),
        ((225,), [(240,), (256,)]),
        ((16, 16), []),
        # An odd axis beside an awkward one is also left as it is: 3 frames pool by one window.
        ((3, 32, 31), [(4, 32, 32), (3, 32, 32)]),
        ((9, 13), [(10, 15), (10, 16), (16, 16), (9, 15), (9, 16)]),
    ],
)
def test_awkward_axes_are_padded_to_friendlier_sizes(
    shape: tuple[int, ...], grids: list[tuple[int, ...]]
) -> None:
    paddings = friendly_paddings(shape)
    grown = [tuple(n + b + a for n, (b, a) in zip(shape, p, strict=True)) for p in paddings]
    assert grown == grids
    assert all(abs(b - a) <= 1 for p in paddings for b, a in p)  # centred margins


@pytest.mark.parametrize(
    ("shape", "preset"),
    [([16, 64, 64], "symmetry"), ([32, 32, 32], "front_back"), ([8, 6, 6], "local")],
)
def test_three_dimensional_grids_get_a_deeper_pick_that_analyze_confirms(
    shape: list[int], preset: str
) -> None:
    task = parse_task({"input": {"shape": shape}, "preset": preset})
    best = recommend(task, Budget(max_parameters=1_000_000, time_limit_seconds=None))
    pick = best.recommendations[0]
    assert len(pick.architecture.layers) >= 2
    assert all(len(layer.pool) == 3 for layer in pick.architecture.layers)
    assert analyze(task, pick.architecture).correlations == pick.analysis


def test_a_clip_of_three_frames_is_searched_without_a_fourth() -> None:
    """Padding the 31 columns need not pad the 3 frames (4x32x32 cost the pick 28% more MACs)."""
    task = parse_task({"input": {"shape": [3, 32, 31]}, "preset": "local"})
    result = recommend(task, Budget(max_parameters=100_000, time_limit_seconds=None, top_k=3))
    pick = result.recommendations[0]
    assert pick.architecture.padding is not None
    assert pick.architecture.padding[0] == (0, 0)
    assert 3 in {layer.pool[0] for layer in pick.architecture.layers}
    assert analyze(task, pick.architecture).correlations == pick.analysis


@pytest.mark.parametrize("max_depth", [None, 6])
def test_an_odd_number_of_frames_is_met_between_the_spatial_levels(max_depth: int | None) -> None:
    """A local task on 15 frames: its pick pooled space six times, then the frames at the top.

    Within six levels too, where the list of 2s is too long and its shorter prefixes' top
    windows pass the window bound: the 2s of space paired into 4s meet the frames between them.
    """
    task = parse_task({"input": {"shape": [15, 64, 64]}, "preset": "local"})
    budget = Budget(max_parameters=500_000, time_limit_seconds=None, top_k=1, max_depth=max_depth)
    result = recommend(task, budget)
    pick = result.recommendations[0]
    pools = [layer.pool for layer in pick.architecture.layers]
    frames = [level for level, pool in enumerate(pools[:-1]) if pool[0] > 1]
    space = [level for level, pool in enumerate(pools) if pool[1] > 1]
    assert frames and min(frames) < max(space), pools  # slow fusion, not late fusion
    assert analyze(task, pick.architecture).correlations == pick.analysis


def test_a_depth_bound_on_a_size_of_two_primes_keeps_the_trees_of_its_primes_in_turn() -> None:
    """At depth 3 the search pooled length 100 by 2, 2, global 25 or 5, 5, global 4 only; its #1
    (interleaved 5, 5, global 4) read score 1 at 8.6 of 12 bits on the pairs of steps, where a
    mirror net pooled 2, 5, global 10 of the same widths reaches every correlation's most."""
    task = parse_task({"input": {"shape": [100]}, "preset": "start_end"})
    budget = Budget(max_parameters=100_000, time_limit_seconds=None, top_k=1, max_depth=3)
    pick = recommend(task, budget).recommendations[0]
    assert [layer.pool for layer in pick.architecture.layers] == [(2,), (5,), (10,)]
    assert all(c.log2_separation_rank == c.log2_max_rank for c in pick.analysis)
    assert analyze(task, pick.architecture).correlations == pick.analysis


def test_front_back_symmetry_gets_a_geometry_that_beats_contiguous_across_the_depth() -> None:
    """front_back pairs slices with their reflections; contiguous pooling meets them at the root."""
    task = parse_task({"input": {"shape": [8, 8, 8]}, "preset": "front_back"})
    pick = recommend(task, Budget(max_parameters=200_000, time_limit_seconds=None))
    chosen = pick.recommendations[0].architecture
    contiguous = chosen.model_copy(update={"geometry": "contiguous", "padding": None})
    halves = [
        {c.name: c.log2_separation_rank for c in analyze(task, a).correlations}["front_back/halves"]
        for a in (chosen, contiguous)
    ]
    assert chosen.family != "contiguous" and halves[0] > halves[1]


def test_mirror_pools_a_location_with_its_reflections_on_all_three_axes() -> None:
    architecture = parse_architecture(
        {
            "input": {"shape": [4, 4, 4]},
            "representation": 2,
            "layers": [{"channels": 2, "pool": [2, 2, 2]}, {"channels": 2, "pool": [2, 2, 2]}],
            "geometry": "mirror",
        }
    )
    windows = pooling_structure(architecture).windows[0]
    orbits = set()
    for location in range(64):
        coordinates = np.unravel_index(location, (4, 4, 4))
        reflections = itertools.product(*({int(c), 3 - int(c)} for c in coordinates))
        orbits.add(frozenset(int(np.ravel_multi_index(r, (4, 4, 4))) for r in reflections))
    assert {frozenset(window.tolist()) for window in windows} == orbits


def test_no_padding_grows_the_grid_past_the_library_limit() -> None:
    # 1025 = 5^2 * 41 and 1023 = 3 * 11 * 31 are both awkward, and both of their paddings
    # (1080 x 1024, 2048 x 1024) would pass 2^20 locations; 1023 alone pads to 1024 x 1024.
    assert MAX_LOCATIONS >= 1025 * 1023
    assert friendly_paddings((1025, 1023)) == []
    assert friendly_paddings((1024, 1023)) == [((0, 0), (0, 1))]


@pytest.mark.parametrize(
    ("shape", "advised"),
    [([155, 240, 240], [52, 80, 80]), ([1025, 1024], [513, 512]), ([2_000_000], [1_000_000])],
)
def test_a_grid_over_the_library_limit_is_told_its_size_and_a_stride_that_fits(
    tmp_path: Path, shape: list[int], advised: list[int]
) -> None:
    # An MRI volume of 155x240x240 was refused with "has more than 1,048,576 locations" alone:
    # neither how many it has nor what to do.
    path = tmp_path / "volume.yaml"
    path.write_text(yaml.safe_dump({"input": {"shape": shape}, "preset": "local"}))
    run = advisor("recommend", path, "--budget", "1000")
    line = assert_one_error_line(run, ExitCode.INVALID_ARGUMENT)
    assert line.startswith("advisor: error: task.input.shape: has more than 1,048,576 locations")
    assert f"{np.prod(shape):,}" in line
    found = re.search(r"a stride of (\d+) on every axis gives \[([\d, ]+)\]", line)
    assert found is not None, line
    stride, given = int(found.group(1)), [int(n) for n in found.group(2).split(", ")]
    assert given == advised == [len(range(0, n, stride)) for n in shape]
    # The advice is an input the advisor takes, and the stride before it is not.
    assert parse_task({"input": {"shape": given}, "preset": "local"}).input.shape == tuple(given)
    assert np.prod([len(range(0, n, stride - 1)) for n in shape]) > MAX_LOCATIONS


@pytest.mark.parametrize(
    ("shape", "advice"),
    [
        (
            [2, 4_000_000],
            "if the axis of 2 locations holds a pair of channels, as stereo's or a signal's I and "
            "Q, give the shape [4000000] and channels 2: the shape lists locations only; then "
            "downsample or crop it (a stride of 4 on every axis gives [1000000])",
        ),
        (
            [1024, 1024, 3],
            "if the axis of 3 locations holds colour channels, give the shape [1024, 1024] and "
            "channels 3: the shape lists locations only, and it fits",
        ),
    ],
)
def test_a_grid_over_the_limit_with_a_channel_axis_keeps_its_channels(
    shape: list[int], advice: str
) -> None:
    # Stereo audio over the bound was told "a stride of 4 on every axis gives [1, 1000000]": one
    # of its two channels dropped, where the shape's channels belong in input.channels.
    with pytest.raises(InvalidRequestError) as raised:
        parse_task({"input": {"shape": shape}, "preset": "local"})
    (only,) = raised.value.violations
    assert only.description.endswith(advice), only.description


def test_a_shape_no_stride_makes_sense_of_is_told_to_be_checked() -> None:
    # An axis of 10^20 was told "a stride of 95367431640625 on every axis gives [1048576, 1]".
    shape = [10**20, 1]
    with pytest.raises(InvalidRequestError) as raised:
        parse_task({"input": {"shape": shape}, "preset": "local"})
    (only,) = raised.value.violations
    assert "stride" not in only.description
    assert only.description.endswith(
        f"check the shape: an axis of {shape[0]:,} locations is no input to downsample"
    )


def test_a_padded_axis_grows_to_the_smallest_friendlier_sizes() -> None:
    def factors(m: int) -> set[int]:
        return {p for p in range(2, m + 1) if m % p == 0 and all(p % d for d in range(2, p))}

    def awkward(m: int) -> bool:
        return max(factors(m), default=1) > 7 or (m >= 5 and factors(m) == {m})

    for n in range(2, 300):

        def smallest(primes: set[int], even: bool, n: int = n) -> int:
            # An odd axis that is not awkward grows to an even size (mirror folds by 2); an
            # awkward one to the next friendlier size and to the next even one.
            sizes = range(n, 4 * n) if awkward(n) else range(n + 1, 4 * n, 2)
            return next(
                m for m in sizes if not awkward(m) and factors(m) <= primes and not (even and m % 2)
            )

        choices = itertools.product(({2, 3, 5}, {2}), (False, True))
        expected = [smallest(*c) for c in choices] if awkward(n) or n % 2 else []
        grown = [n + before + after for ((before, after),) in friendly_paddings((n,))]
        assert grown == list(dict.fromkeys(expected)), n
