"""Candidate trees: schedules that tile the input, families, dilation orders, permutations."""

from __future__ import annotations

import hashlib
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import advisor.model.architecture as architecture_module
import advisor.search.candidates as candidates
from advisor.geometry.layouts import pooling_structure, structure_from_permutation
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import (
    PermutationGeometry,
    architecture_document,
    parse_architecture,
)
from advisor.model.budget import Family
from advisor.model.grid import InputSpec, padded_shape
from advisor.model.padding import largest_grid
from advisor.search.candidates import (
    DILATION_SAMPLE,
    MAX_DILATION_ORDERS,
    CandidateSpace,
    balanced_steps,
    dilation_orders,
    interleaved_steps,
    prime_steps,
    window_schedules,
)
from advisor.search.synthesis import synthesis_variants


@pytest.mark.parametrize(
    "shape", [(32, 32), (16,), (12, 12), (32, 64), (7, 7), (256,), (15, 15), (15, 16), (16, 8, 8)]
)
def test_schedules_tile_the_grid_with_a_global_last_pooling(shape: tuple[int, ...]) -> None:
    schedules = window_schedules(shape, 1, 20)
    assert schedules[0] == (shape,)  # the shallow net
    assert len(set(schedules)) == len(schedules)
    steps = set(prime_steps(shape)) | {4}
    for pools in schedules:
        grid = shape
        for level, pool in enumerate(pools[:-1]):
            # One step per level, on every axis it divides (a video's first level: or on the
            # spatial axes it divides, C3D's 1x2x2).
            (step,) = set(pool) - {1}
            assert step in steps
            every = tuple(step if n % step == 0 else 1 for n in grid)
            space_first = len(shape) == 3 and level == 0 and pool == (1, *every[1:])
            assert pool == every or space_first
            grid = tuple(n // p for n, p in zip(grid, pool, strict=True))
            assert math.prod(grid) > 1
        assert pools[-1] == grid


@pytest.mark.parametrize("n", [*range(1, 40), 224, 16_000, 44_100])
def test_prime_steps_are_the_factorisation(n: int) -> None:
    steps = prime_steps((n,))
    assert math.prod(steps) == n and list(steps) == sorted(steps)
    assert all(all(p % d for d in range(2, p)) for p in steps)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((15, 15), [((3, 3), (5, 5)), ((5, 5), (3, 3))]),
        ((9, 9), [((3, 3), (3, 3))]),
        ((14,), [((2,), (7,)), ((7,), (2,))]),
    ],
)
def test_every_composite_size_gets_its_factor_schedules(
    shape: tuple[int, ...], expected: list[tuple[tuple[int, ...], ...]]
) -> None:
    assert window_schedules(shape, 2, 20) == expected


def test_factor_schedules_reach_every_prime_of_large_sizes() -> None:
    deepest = max(window_schedules((44_100,), 1, 20), key=len)
    assert len(deepest) == 8 and math.prod(p[0] for p in deepest) == 44_100
    assert max(p[0] for p in deepest) == 7
    image = window_schedules((224, 224), 1, 20)
    assert ((2, 2),) * 5 + ((7, 7),) in image and ((7, 7),) + ((2, 2),) * 5 in image


def test_schedules_respect_the_depth_bounds_and_include_the_mixes() -> None:
    schedules = window_schedules((16, 16), 3, 3)
    assert {len(pools) for pools in schedules} == {3}
    assert ((2, 2), (4, 4), (2, 2)) in schedules and ((4, 4), (2, 2), (2, 2)) in schedules
    assert ((2, 2), (2, 2), (4, 4)) in schedules


def test_a_video_may_pool_space_first_at_its_first_level() -> None:
    # Besides the levels that pool every axis: C3D's 1x2x2 before its 2x2x2, and no more
    # levels of space alone (they would meet neighbouring frames later and later).
    assert window_schedules((2, 4, 4), 1, 20) == [
        ((2, 4, 4),),
        ((1, 2, 2), (2, 2, 2)),
        ((1, 4, 4), (2, 1, 1)),
        ((2, 2, 2), (1, 2, 2)),
    ]
    video = window_schedules((16, 64, 64), 1, 20)
    assert ((1, 2, 2),) + ((2, 2, 2),) * 4 + ((1, 2, 2),) in video
    assert all(pools[1] != (1, 2, 2) for pools in video if pools[0] == (1, 2, 2))
    assert len(video) == 21  # 16 pooled every axis from the bottom


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((8,), [((8,),), ((2,), (4,)), ((4,), (2,)), ((2,), (2,), (2,))]),
        (
            (6, 4),
            [
                ((6, 4),),
                ((1, 4), (6, 1)),
                ((2, 2), (3, 2)),
                ((3, 1), (2, 4)),
                ((1, 4), (2, 1), (3, 1)),
                ((2, 2), (1, 2), (3, 1)),
                ((2, 2), (3, 1), (1, 2)),  # balanced: 6 and 4 pooled in step
                ((3, 1), (2, 2), (1, 2)),
            ],
        ),
    ],
)
def test_sequences_and_images_pool_every_axis_from_the_bottom(
    shape: tuple[int, ...], expected: list[tuple[tuple[int, ...], ...]]
) -> None:
    assert window_schedules(shape, 1, 20) == expected


_KEPT_SIDES = (1, 2, 3, 4, 6, 7, 8, 9, 12, 15, 16, 28, 32, 64, 97, 224)
_KEPT_SHAPES: list[tuple[int, ...]] = [(n,) for n in (*range(1, 65), 224, 360, 16_000, 44_100)]
_KEPT_SHAPES += [
    (a, b) for a, b in itertools.product(_KEPT_SIDES, repeat=2) if a == b or 1 in (a, b)
]


def test_sequences_and_square_images_keep_every_schedule_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The digest of these schedules as the search listed them before a video's levels could
    # pool space alone, before the balanced order and before the primes taken in turn (the
    # digest of 2566fe5's listing): without the lists in turn, a sequence, a square image and
    # an image of one row keep every schedule, in the same order.
    monkeypatch.setattr(candidates, "interleaved_steps", lambda primes: ())
    listed = repr([window_schedules(shape, 1, 25) for shape in _KEPT_SHAPES])
    assert hashlib.sha256(listed.encode()).hexdigest() == (
        "c9b634bf91319d16021864a0e253d0e8083e90e7dd643f6773a28f599f29fe32"
    )


def test_the_primes_in_turn_add_schedules_only_where_a_size_has_two_primes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shapes = [*_KEPT_SHAPES, (100,)]
    listed = {shape: window_schedules(shape, 1, 25) for shape in shapes}
    monkeypatch.setattr(candidates, "interleaved_steps", lambda primes: ())
    for shape, schedules in listed.items():
        before = window_schedules(shape, 1, 25)
        assert set(before) <= set(schedules)
        if len(set(prime_steps(shape))) < 2:
            assert schedules == before, shape
    # 100 = 2 * 2 * 5 * 5: 2, 5, global 10 and 5, 2, global 10 are new at depth 3.
    added = set(listed[(100,)]) - set(window_schedules((100,), 1, 25))
    assert {((2,), (5,), (10,)), ((5,), (2,), (10,))} <= added


@given(st.lists(st.integers(1, 5_000), min_size=1, max_size=3))
def test_the_primes_in_turn_are_the_grids_primes_none_ahead_of_another_by_two(
    shape: list[int],
) -> None:
    primes = prime_steps(shape)
    counts = {prime: primes.count(prime) for prime in primes}
    for first, turned in zip((min, max), interleaved_steps(primes), strict=True):
        assert sorted(turned) == list(primes)
        if primes:
            assert turned[0] == first(primes)
        taken = dict.fromkeys(counts, 0)
        for prime in turned:
            taken[prime] += 1
            # A prime goes two ahead of another only once that one has none left.
            assert all(taken[prime] <= taken[q] + 1 or taken[q] == counts[q] for q in counts)
        if len(counts) == 1:
            assert turned == primes


@given(st.lists(st.integers(1, 400), min_size=1, max_size=3), st.integers(0, 9))
def test_the_balanced_order_pools_every_axis_with_the_factors_of_the_others(
    shape: list[int], fine: int
) -> None:
    if fine == 0:
        steps = balanced_steps(shape)
        assert sorted(steps) == list(prime_steps(shape))  # the same primes, reordered
    else:
        steps = balanced_steps(shape, 4, fine - 1)
        assert set(steps) - set(prime_steps(shape)) <= {4}
        assert all(step != 4 for step in steps[: fine - 1])  # 2s below the fine-th level
    left = list(shape)
    for step in steps:  # each pools every axis it divides, and one at least
        assert any(n % step == 0 for n in left)
        left = [n // step if n % step == 0 else n for n in left]
    assert left == [1] * len(shape)
    if len(set(shape)) == 1 and fine == 0:
        assert steps == prime_steps(shape)


def test_the_balanced_order_meets_odd_frames_between_the_spatial_levels() -> None:
    # Ascending, 15x64x64 is pooled in space six times and its 15 frames at the top (late
    # fusion); descending, the frames first. Balanced, each level goes to the axis pooled
    # least so far, the smaller prime first on a tie.
    assert balanced_steps((15, 64, 64)) == (2, 3, 2, 2, 5, 2, 2, 2)
    assert prime_steps((15, 64, 64)) == (2, 2, 2, 2, 2, 2, 3, 5)
    slow = ((1, 2, 2), (3, 1, 1), (1, 2, 2), (1, 2, 2), (5, 1, 1), (1, 2, 2), (1, 2, 2), (1, 2, 2))
    assert slow in window_schedules((15, 64, 64), 1, 20)
    # In six levels with the top, the 2s of space paired into 4s from the third level on.
    assert balanced_steps((15, 64, 64), 4, 2) == (2, 3, 4, 5, 4, 2)
    six = ((1, 2, 2), (3, 1, 1), (1, 4, 4), (5, 1, 1), (1, 4, 4), (1, 2, 2))
    assert six in window_schedules((15, 64, 64), 1, 6)


def test_dilation_orders_are_all_orders_up_to_the_limit() -> None:
    orders, complete = dilation_orders(4, seed=0)
    assert complete and len(orders) == 24 and len(set(orders)) == 24
    assert all(sorted(order) == [1, 2, 4, 8] for order in orders)


def test_dilation_orders_beyond_the_limit_are_a_reproducible_sample() -> None:
    orders, complete = dilation_orders(8, seed=3)
    assert not complete and len(orders) == DILATION_SAMPLE == len(set(orders))
    assert all(sorted(order) == [1 << bit for bit in range(8)] for order in orders)
    assert len(dilation_orders(6, seed=0)[0]) == MAX_DILATION_ORDERS
    assert orders == dilation_orders(8, seed=3)[0] != dilation_orders(8, seed=4)[0]


@pytest.mark.parametrize("seed", range(4))
def test_sampled_dilation_orders_always_hold_the_ascending_and_descending_ones(seed: int) -> None:
    dilations = tuple(1 << bit for bit in range(7))
    orders, _ = dilation_orders(7, seed)
    assert {dilations, dilations[::-1]} <= set(orders)


def _space(shape: tuple[int, ...], allowed: list[Family]) -> CandidateSpace:
    labels = np.where(np.arange(math.prod(shape)) % 2 == 0, 1, 2).astype(np.int8)[None, :]
    return CandidateSpace(
        InputSpec(shape=shape),
        1,
        10,
        allowed,
        dilations=True,
        labels=labels,
        variants=synthesis_variants([1.0]),
        seed=0,
    )


@pytest.mark.parametrize("shape", [(8, 8), (16,), (13,), (7, 6), (4, 6, 6), (1, 16), (13, 1, 1)])
def test_every_candidate_is_realised_by_its_permutation(shape: tuple[int, ...]) -> None:
    space = _space(shape, ["contiguous", "mirror", "interleaved", "dilations", "synthesized"])
    families = {c.family for c in space.candidates}
    assert families >= {"shallow", "contiguous", "interleaved", "synthesized"}
    for candidate in space.candidates:
        windows, keys = space.tree(candidate)
        assert len(keys) == len(windows) == candidate.depth
        grid = space.grid(candidate)
        tree = PoolingStructure(math.prod(grid), windows)
        widths = [2] * (candidate.depth + 1)
        architecture = space.architecture(candidate, widths, outputs=3, representation_kernel=1)
        assert isinstance(architecture.geometry, PermutationGeometry)
        assert architecture.family == candidate.family
        rebuilt = pooling_structure(architecture)
        np.testing.assert_array_equal(rebuilt.leaf_order(), tree.leaf_order())
        assert architecture.grid == grid
        realised = structure_from_permutation(
            grid, candidate.pools, np.array(architecture.geometry.permutation)
        )
        np.testing.assert_array_equal(realised.leaf_order(), tree.leaf_order())


@pytest.mark.parametrize("shape", [(8, 8), (13,), (7, 6), (9, 9, 9), (129, 129)])
def test_largest_grid_is_the_largest_a_candidate_pools(shape: tuple[int, ...]) -> None:
    # The service bounds a recommendation's encoded size by it (advisor/service/answer_size.py).
    space = _space(shape, ["contiguous", "mirror", "interleaved", "dilations", "synthesized"])
    assert largest_grid(shape) == max(math.prod(space.grid(c)) for c in space.candidates)


def test_a_prime_length_is_searched_padded_in_every_family() -> None:
    space = _space((13,), ["contiguous", "mirror", "interleaved", "dilations", "synthesized"])
    padded = {c.family for c in space.candidates if c.padding is not None}
    assert padded == {"contiguous", "mirror", "interleaved", "dilations", "synthesized"}
    assert {space.grid(c) for c in space.candidates} == {(13,), (15,), (16,)}
    # The margin is free to the min-cut: the labels keep the task's sides in place.
    task = space.labels(None)
    for padding in space.paddings:
        labels = space.labels(padding)
        assert labels.shape == (1, math.prod(padded_shape((13,), padding)))
        assert set(np.unique(labels).tolist()) <= {0, 1, 2}
        for side in (1, 2):
            assert np.count_nonzero(labels == side) == np.count_nonzero(task == side)


def test_dilation_candidates_only_for_power_of_two_sequences() -> None:
    assert any(c.family == "dilations" for c in _space((16,), ["dilations"]).candidates)
    assert not any(c.family == "dilations" for c in _space((12,), ["dilations"]).candidates)
    assert not any(c.family == "dilations" for c in _space((4, 4), ["dilations"]).candidates)
    # A sequence written with axes of one location is a sequence: pooled 1 on those axes.
    for shape, pool in (((1, 16), (1, 2)), ((16, 1, 1), (2, 1, 1)), ((1, 13), (1, 2))):
        dilated = [c for c in _space(shape, ["dilations"]).candidates if c.family == "dilations"]
        assert dilated and all(set(c.pools) == {pool} for c in dilated)


def test_baselines_are_evaluated_even_when_not_allowed() -> None:
    space = _space((8, 8), ["mirror"])
    by_family = {c.family: c for c in space.candidates}
    assert by_family["shallow"].eligible and not by_family["contiguous"].eligible
    assert by_family["mirror"].eligible
    assert all(
        all(n == 2 for n in pool)
        for c in space.candidates
        if c.family == "mirror"
        for pool in c.pools[:-1]
    )


@pytest.mark.parametrize("shape", [(8, 8), (16,)])
def test_candidates_are_built_without_checking_their_schedules_again(
    shape: tuple[int, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    space = _space(shape, ["contiguous", "mirror", "interleaved", "dilations", "synthesized"])

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("a candidate's schedule was checked again")

    monkeypatch.setattr(architecture_module, "check_schedule", fail)
    built = []
    for candidate in space.candidates:
        space.tree(candidate)
        widths = [3] * (candidate.depth + 1)
        built.append(space.architecture(candidate, widths, outputs=2, representation_kernel=1))
    monkeypatch.undo()
    # What the search built unchecked passes every check.
    for architecture in built:
        assert parse_architecture(architecture_document(architecture)) == architecture


def test_a_complete_search_draws_with_its_seed_only_past_the_dilation_limit() -> None:
    # What docs/FORMATS.md says the seed changes: on 64 steps every order is tried and two
    # seeds return the same designs; on 128 steps the seed draws the orders searched.
    from advisor import Budget, parse_task, recommend

    def dilations(steps: int, seed: int) -> list[tuple[int, ...] | None]:
        task = parse_task({"input": {"shape": [steps]}, "preset": "start_end"})
        budget = Budget(
            max_parameters=20_000,
            top_k=3,
            geometries=["dilations"],
            seed=seed,
            time_limit_seconds=None,
        )
        return [r.dilations for r in recommend(task, budget).recommendations]

    assert dilations(64, seed=0) == dilations(64, seed=5)
    assert dilations(128, seed=0) != dilations(128, seed=5)
