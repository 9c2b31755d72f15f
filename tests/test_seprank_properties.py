"""The three engines against each other on random small networks and regions (hypothesis).

Every case goes through the engines' common signature (advisor.seprank.engines): tree == graph
(the same min-cut, also unrolled on overlapping windows), exact <= min-cut.

Random trees have random window sizes per level and a random permutation of the nodes at every
level; random overlapping structures slide windows with a random stride over a permuted level.
Sizes stay small (at most 12 locations, matrices of at most 2^12 entries) so the file runs in
seconds.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from advisor.geometry.structure import PoolingStructure
from advisor.seprank.engines import ENGINES, EngineName
from advisor.seprank.labels import SIDE_A, SIDE_B
from advisor.seprank.tree import log2_min_cut

MAX_LEAVES = 12
MAX_LOG2_MATRIX = 12
TOLERANCE = 1e-9

Case = tuple[PoolingStructure, npt.NDArray[np.int8], list[int], int]
"""A structure, one row of side labels, channel widths and M (what :func:`cases` draws)."""


@st.composite
def trees(draw: st.DrawFn) -> PoolingStructure:
    """A pooling tree: 1-3 levels of windows of 1-4 nodes, nodes permuted at every level."""
    arities: list[int] = []
    for _ in range(draw(st.integers(1, 3))):
        budget = MAX_LEAVES // math.prod(arities)
        if budget < 2:
            break
        arities.append(draw(st.integers(1 if arities else 2, min(4, budget))))
    sizes = [math.prod(arities[level:]) for level in range(len(arities))] + [1]
    windows = tuple(
        np.array(draw(st.permutations(range(sizes[level]))), dtype=np.intp).reshape(
            sizes[level + 1], arity
        )
        for level, arity in enumerate(arities)
    )
    return PoolingStructure(sizes[0], windows)


@st.composite
def overlapping(draw: st.DrawFn) -> PoolingStructure:
    """Windows of 2-3 nodes sliding with stride 1..k-1 over a permuted level (global at the top)."""
    depth = draw(st.integers(2, 3))
    shapes = [(draw(st.integers(2, 3)), 1)]  # (window, stride) per level, top first
    count = shapes[0][0]
    levels = [count]
    for _ in range(depth - 1):
        window = draw(st.integers(2, 3))
        stride = draw(st.integers(1, window - 1))
        count = (count - 1) * stride + window
        shapes.append((window, stride))
        levels.append(count)
    assume(count <= 10)
    windows = []
    for (window, stride), parents, size in zip(shapes, [1, *levels[:-1]], levels, strict=True):
        order = np.array(draw(st.permutations(range(size))), dtype=np.intp)
        windows.append(order[np.arange(parents)[:, None] * stride + np.arange(window)])
    return PoolingStructure(levels[-1], tuple(reversed(windows)))


@st.composite
def cases(
    draw: st.DrawFn, structures: st.SearchStrategy[PoolingStructure], powers_of_two: bool
) -> Case:
    """A structure, one row of side labels, channel widths and M."""
    structure = draw(structures)
    labels = np.array(
        draw(
            st.lists(
                st.sampled_from([0, SIDE_A, SIDE_B]),
                min_size=structure.num_locations,
                max_size=structure.num_locations,
            )
        ),
        dtype=np.int8,
    )[None]
    if powers_of_two:
        widths = [2 ** draw(st.integers(0, 3)) for _ in structure.windows]
        representation = 2 ** draw(st.integers(1, 2))
    else:
        widths = [draw(st.integers(1, 6)) for _ in structure.windows]
        representation = draw(st.integers(1, 4))
    return structure, labels, widths, representation


def figure(name: EngineName, case: Case, shared: bool = False) -> float:
    """Run one engine on a one-row case; the exact engine only within the test's matrix size."""
    structure, labels, widths, representation = case
    if name == "exact":
        involved = int(np.count_nonzero(labels))
        assume(involved * math.log2(max(representation, 1)) <= MAX_LOG2_MATRIX)
    return float(
        ENGINES[name].compute(structure, labels, widths, representation, shared_weights=shared)[0]
    )


def tree_cut(*case: *Case, shared: bool = False) -> float:
    return figure("tree", case, shared)


def log2_rank(*case: *Case, shared: bool) -> float:
    return figure("exact", case, shared)


@given(cases(trees(), powers_of_two=False))
def test_tree_recurrence_equals_graph_min_cut(case: Case) -> None:
    assert tree_cut(*case) == _approx(figure("graph", case))


@given(cases(overlapping(), powers_of_two=False))
def test_unrolled_tree_equals_graph_min_cut_on_overlapping_windows(case: Case) -> None:
    assert not case[0].is_tree
    assert tree_cut(*case) == _approx(figure("graph", case))


@settings(max_examples=20)
@given(cases(trees(), powers_of_two=False), st.data())
def test_every_engine_scores_a_batch_of_correlations_row_by_row(
    case: Case, data: st.DataObject
) -> None:
    structure, first, widths, representation = case
    rows = [first[0], *(data.draw(cases(st.just(structure), False))[1][0] for _ in range(2))]
    labels = np.array(rows, dtype=np.int8)
    small = np.count_nonzero(labels, axis=1).max() * math.log2(representation) <= MAX_LOG2_MATRIX
    for found in ENGINES.values():
        if found.figure == "rank" and not small:
            continue
        found.check_limits(structure, labels, widths, representation)
        for shared in (False, True) if found.shared_weights else (False,):
            batch = found.compute(structure, labels, widths, representation, shared_weights=shared)
            single = [
                found.compute(structure, row[None], widths, representation, shared_weights=shared)
                for row in labels
            ]
            np.testing.assert_allclose(batch, np.concatenate(single), atol=TOLERANCE)
            cut = ENGINES["tree"].compute(
                structure, labels, widths, representation, shared_weights=shared
            )
            if found.figure == "min_cut":
                np.testing.assert_allclose(batch, cut, atol=TOLERANCE)
            else:
                assert np.all(batch <= cut + TOLERANCE)


def test_the_graph_engine_refuses_shared_weights() -> None:
    with pytest.raises(ValueError, match="independent weights only"):
        ENGINES["graph"].compute(
            PoolingStructure(2, (np.array([[0, 1]]),)),
            np.array([[SIDE_A, SIDE_B]], np.int8),
            [2],
            2,
            shared_weights=True,
        )


@settings(max_examples=60)
@given(cases(trees(), powers_of_two=True))
def test_min_cut_is_the_exact_rank_without_sharing_for_powers_of_two(case: Case) -> None:
    assert tree_cut(*case) == _approx(log2_rank(*case, shared=False))


@settings(max_examples=60)
@given(cases(trees(), powers_of_two=False))
def test_bounds_never_fall_below_the_exact_ranks(case: Case) -> None:
    plain, shared = tree_cut(*case), tree_cut(*case, shared=True)
    assert shared <= plain + TOLERANCE
    assert plain >= log2_rank(*case, shared=False) - TOLERANCE
    assert shared >= log2_rank(*case, shared=True) - TOLERANCE


@settings(max_examples=40)
@given(cases(overlapping(), powers_of_two=False))
def test_grid_tensor_rank_lower_bounds_the_unrolled_min_cut(case: Case) -> None:
    assert tree_cut(*case) >= log2_rank(*case, shared=False) - TOLERANCE
    assert tree_cut(*case, shared=True) >= log2_rank(*case, shared=True) - TOLERANCE


@given(cases(trees(), powers_of_two=False), st.data())
def test_batches_match_single_calls(case: Case, data: st.DataObject) -> None:
    structure, labels, widths, representation = case
    batch = np.log2(
        [
            widths,
            *(
                data.draw(st.lists(st.integers(1, 9), min_size=len(widths), max_size=len(widths)))
                for _ in range(2)
            ),
        ]
    )
    reps = np.log2([representation, 2, 3])
    for shared in (False, True):
        cuts = log2_min_cut(structure, labels, batch, reps, shared_weights=shared)
        for row in range(3):
            single = log2_min_cut(structure, labels, batch[row], reps[row], shared_weights=shared)
            np.testing.assert_allclose(cuts[row], single)


def _approx(value: float) -> object:
    return pytest.approx(value, abs=TOLERANCE)


# --- the shape of the bound in the widths (docs/THEORY.md §6, §14) --------------------------------

_LOG2_WIDTHS = st.floats(0.0, 8.0, allow_nan=False)


@settings(max_examples=80)
@given(cases(trees(), powers_of_two=False), st.data())
def test_the_min_cut_is_concave_and_linear_along_rays_in_the_log_widths(
    case: Case, data: st.DataObject
) -> None:
    # docs/THEORY.md §6: a cut takes c_M input legs and c_l level-l deltas, so the min-cut is the
    # least of linear forms c_M log2 M + sum_l c_l log2 r_l over the cut patterns: concave in the
    # log-widths, and scaling them all by t scales it by t. §14 brackets the contiguous net's
    # price by tangents and chords, which only concavity makes sound.
    structure, labels, widths, _ = case
    size = len(widths) + 1
    x, y = (
        np.array(data.draw(st.lists(_LOG2_WIDTHS, min_size=size, max_size=size))) for _ in range(2)
    )
    t = data.draw(st.floats(0.0, 1.0))
    scale = data.draw(st.floats(0.0, 4.0))

    def cut(point: npt.NDArray[np.float64]) -> float:
        return float(log2_min_cut(structure, labels, point[1:], point[0])[0])

    assert cut(t * x + (1 - t) * y) >= t * cut(x) + (1 - t) * cut(y) - 1e-7
    assert cut(scale * x) == pytest.approx(scale * cut(x), abs=1e-7)


@settings(max_examples=80)
@given(cases(trees(), powers_of_two=False), st.data())
def test_no_bound_falls_as_a_width_or_the_representation_grows(
    case: Case, data: st.DataObject
) -> None:
    # docs/THEORY.md §14-15: every term of the recurrence is nondecreasing in every channel
    # count, with shared weights too (a symmetric power grows with the dimension it powers); the
    # contiguous pricing and the search's dominated ladders rely on it.
    structure, labels, widths, representation = case
    counts = [representation, *widths]
    grown = list(counts)
    index = data.draw(st.integers(0, len(counts) - 1))
    grown[index] += data.draw(st.integers(1, 6))
    for shared in (False, True):
        before, after = (
            float(
                log2_min_cut(
                    structure,
                    labels,
                    np.log2(np.asarray(c[1:], dtype=np.float64)),
                    math.log2(c[0]),
                    shared_weights=shared,
                )[0]
            )
            for c in (counts, grown)
        )
        assert after >= before - TOLERANCE, (shared, counts, grown)
