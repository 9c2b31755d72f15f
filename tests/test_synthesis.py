"""Synthesized geometries: windows where the correlations' sides meet, realised by a permutation."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.geometry.layouts import structure_from_permutation
from advisor.geometry.structure import PoolingStructure
from advisor.search.candidates import window_schedules
from advisor.search.synthesis import (
    MAX_SYNTHESIS_VARIANTS,
    SynthesisVariant,
    Synthesizer,
    layout_permutation,
    synthesis_variants,
)

SHAPES = [(4, 4), (8, 8), (16,), (2, 8), (32,), (8, 16)]


@settings(max_examples=80)
@given(shape=st.sampled_from(SHAPES), correlations=st.integers(1, 4), data=st.data())
def test_the_layout_permutation_realises_the_synthesized_tree(
    shape: tuple[int, ...], correlations: int, data: st.DataObject
) -> None:
    n = math.prod(shape)
    pools = data.draw(st.sampled_from(window_schedules(shape, 1, 8)))
    rows = st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n)
    labels = np.array([data.draw(rows) for _ in range(correlations)], dtype=np.int8)
    weights = data.draw(st.lists(st.floats(0.1, 5.0), min_size=correlations, max_size=correlations))
    variant = data.draw(st.sampled_from(synthesis_variants(weights)))
    windows = Synthesizer(labels, shape).windows(pools, variant)
    tree = PoolingStructure(n, windows)
    assert tree.is_tree
    permutation = layout_permutation(shape, pools, windows)
    rebuilt = structure_from_permutation(shape, pools, permutation)
    np.testing.assert_array_equal(rebuilt.leaf_order(), tree.leaf_order())


def _level_zero_sides(labels: np.ndarray, windows: tuple[np.ndarray, ...]) -> np.ndarray:
    """Per level-0 window: how many A and B locations it holds."""
    members = labels[0][windows[0]]
    return np.stack([(members == 1).sum(axis=1), (members == 2).sum(axis=1)], axis=1)


def test_packed_windows_hold_both_sides_of_a_covering_partition() -> None:
    """Left vs right of an 8x8 grid: every 2x2 window gets two locations of each side."""
    labels = np.where(np.arange(64) % 8 < 4, 1, 2).astype(np.int8)[None, :]
    variant = SynthesisVariant(priority=(0,), spread=False)
    windows = Synthesizer(labels, (8, 8)).windows(((2, 2), (2, 2), (2, 2)), variant)
    assert (_level_zero_sides(labels, windows) == 2).all()


def test_spread_windows_put_one_location_of_each_side_in_as_many_windows_as_possible() -> None:
    rng = np.random.default_rng(7)
    labels = np.zeros(64, dtype=np.int8)
    chosen = rng.permutation(64)[:12]
    labels[chosen[:6]], labels[chosen[6:]] = 1, 2
    variant = SynthesisVariant(priority=(0,), spread=True)
    windows = Synthesizer(labels[None, :], (8, 8)).windows(((2, 2), (4, 4)), variant)
    sides = _level_zero_sides(labels[None, :], windows)
    assert sorted(map(tuple, sides.tolist())).count((1, 1)) == 6
    assert sides.max() == 1


def test_the_fold_serves_a_second_correlation_too() -> None:
    """Halves and alternating columns: pairs of opposite charge in both, at level 0."""
    positions = np.arange(16)
    labels = np.stack([np.where(positions < 8, 1, 2), np.where(positions % 2 == 0, 1, 2)])
    variant = SynthesisVariant(priority=(0, 1), spread=False)
    windows = Synthesizer(labels.astype(np.int8), (16,)).windows(((2,),) * 4, variant)
    pairs = labels[:, windows[0]]  # (C, 8 windows, 2)
    assert (pairs[:, :, 0] != pairs[:, :, 1]).all()


def test_variants_follow_the_weights() -> None:
    variants = synthesis_variants([1.0, 3.0, 2.0, 0.5, 2.0])
    assert len(variants) == MAX_SYNTHESIS_VARIANTS
    assert variants[0] == SynthesisVariant((1, 2, 4, 0, 3), False)
    assert variants[1] == SynthesisVariant((1, 2, 4, 0, 3), True)
    assert [v.priority[0] for v in variants[2:]] == [2, 4]
    assert synthesis_variants([1.0]) == [
        SynthesisVariant((0,), False),
        SynthesisVariant((0,), True),
    ]


def test_common_schedule_prefixes_are_folded_once() -> None:
    labels = np.where(np.arange(64) % 8 < 4, 1, 2).astype(np.int8)[None, :]
    synthesizer = Synthesizer(labels, (8, 8))
    variant = SynthesisVariant(priority=(0,), spread=True)
    deep = synthesizer.windows(((2, 2), (2, 2), (2, 2)), variant)
    shallow = synthesizer.windows(((2, 2), (4, 4)), variant)
    assert deep[0] is shallow[0]
