"""Mirror trees under a depth cap: every schedule the search considers gets its mirror tree.

On a power-of-two grid the search leaves out a partly folded mirror tree (one that folds at the
levels of 2 from the bottom, then pools the folded grid contiguously) where a tree that folds
throughout has no larger a window. A depth cap can keep every such tree out (64x64 within 4
levels: the one that folds throughout the most ends in a global 8x8 window, above the default
``max_window`` of 16); the partly folded trees must then be searched, or the mirror family is
missing from a search that allows it.
"""

from __future__ import annotations

import itertools
import math

import pytest

from advisor.errors import InvalidRequestError
from advisor.model.architecture import Architecture, Layer
from advisor.model.budget import Budget
from advisor.model.geometries import applies_to, mirror_folds
from advisor.model.schedule import Schedule
from advisor.model.task import Task, parse_task
from advisor.search.candidates import Candidate
from advisor.search.recommend import recommend
from advisor.search.run import SearchRun
from advisor.seprank.analysis import analyze
from advisor.stopping import StopSignal

_NAMED = ["contiguous", "mirror", "interleaved"]


def _symmetry(shape: tuple[int, ...]) -> Task:
    return parse_task({"input": {"shape": list(shape)}, "preset": "symmetry"})


def _largest_window(candidate: Candidate) -> int:
    return max(math.prod(pool) for pool in candidate.pools)


@pytest.mark.parametrize(
    ("shape", "max_depth", "channels"),
    [((64, 64), 4, None), ((32, 32), 3, [32, 48, 64, 96, 128])],
)
def test_a_capped_symmetry_search_recommends_mirror_over_interleaved(
    shape: tuple[int, ...], max_depth: int, channels: list[int] | None
) -> None:
    # The QA reproduction: the capped search returned interleaved trees only, while the mirror
    # tree of the same pools and widths reaches a higher log2 rank on every correlation.
    task = _symmetry(shape)
    budget = Budget(
        max_parameters=200_000,
        max_depth=max_depth,
        channel_choices=channels,
        top_k=3,
        time_limit_seconds=None,
    )
    candidates = SearchRun(task, budget, StopSignal(), None).candidates
    assert any(c.family == "mirror" and c.eligible for c in candidates)

    top = recommend(task, budget).recommendations[0]
    assert top.architecture.family == "mirror"
    layers = top.architecture.layers
    interleaved = Architecture(
        input=task.input,
        representation=top.architecture.representation,
        layers=tuple(Layer(channels=layer.channels, pool=layer.pool) for layer in layers),
        geometry="interleaved",
        outputs=top.architecture.outputs,
    )
    assert interleaved.parameters == top.parameters
    mirror_ranks = {c.name: c.log2_separation_rank for c in top.analysis}
    interleaved_ranks = {
        c.name: c.log2_separation_rank for c in analyze(task, interleaved).correlations
    }
    assert mirror_ranks.keys() == interleaved_ranks.keys()
    assert all(mirror_ranks[n] >= interleaved_ranks[n] - 1e-9 for n in mirror_ranks)
    assert any(mirror_ranks[n] > interleaved_ranks[n] + 1 for n in mirror_ranks)


_GRIDS = [(8, 8), (16, 16), (32, 32), (16, 8), (8, 4, 4), (16,), (32,), (64,)]
_WINDOWS = [None, 2, 4, 8, 16, 64]


@pytest.mark.parametrize("shape", _GRIDS)
def test_every_recommendable_schedule_has_a_recommendable_mirror_tree(
    shape: tuple[int, ...],
) -> None:
    # Over every depth cap and window bound: where a contiguous tree of a schedule mirror pooling
    # applies to may be recommended, so may that schedule's mirror tree; the one exception, a
    # partly folded tree on a power-of-two grid, is covered by a recommendable tree that folds
    # throughout with no larger a window.
    task = _symmetry(shape)
    for max_depth, max_window in itertools.product(range(2, 6), _WINDOWS):
        budget = Budget(
            max_parameters=100_000,
            max_depth=max_depth,
            max_window=max_window,
            geometries=_NAMED,
            time_limit_seconds=None,
        )
        try:
            candidates = SearchRun(task, budget, StopSignal(), None).candidates
        except InvalidRequestError as error:  # a window bound below every tree's (2 in 2-D)
            assert [v.field for v in error.violations] == ["budget.max_window"]
            continue
        mirrors = {c.pools: c for c in candidates if c.family == "mirror" and c.eligible}
        folded = [
            c for c in mirrors.values() if mirror_folds(Schedule.trusted(shape, c.pools)) == c.depth
        ]
        for candidate in candidates:
            if candidate.family != "contiguous" or not candidate.eligible:
                continue
            schedule = Schedule.trusted(shape, candidate.pools)
            if not applies_to("mirror", schedule):
                continue
            context = (shape, max_depth, max_window, candidate.pools)
            if mirror_folds(schedule) == schedule.depth:
                assert candidate.pools in mirrors, context
            else:
                window = _largest_window(candidate)
                covered = any(_largest_window(c) <= window for c in folded)
                assert candidate.pools in mirrors or covered, context


@pytest.mark.parametrize(
    ("shape", "folded"),
    [((3, 1000), [(1, 2)] * 3), ((3, 8, 8), [(1, 2, 2)])],
)
def test_a_mirror_tree_folds_the_axes_its_levels_pool_by_two(
    shape: tuple[int, ...], folded: list[tuple[int, ...]]
) -> None:
    # 3x1000 `symmetry`: mirror trees needed 2 on every axis, so the three rows were padded to
    # four and the first windows, 2x2, held two rows of each column and its reflection: 75% of
    # the halves' most log2 rank at 200,000 parameters (3x8x8, a frame padded: 44% of the most,
    # 67% of the best any tree reaches there; now 65% and 98%). Folding the columns
    # alone (1x2, rows kept in their order; 1x2x2 on a clip) meets every reflection at the
    # first level: on 3x1000 every correlation reaches its most.
    task = _symmetry(shape)
    budget = Budget(max_parameters=200_000, top_k=1, time_limit_seconds=None)
    (top,) = recommend(task, budget).recommendations
    assert top.architecture.family == "mirror"
    assert top.architecture.padding is None
    # The first levels fold the mirrored axes alone (where the clip pools its frames, at the
    # second level, the third or the fourth, depends on the arrangement's weight and the
    # balanced order of the primes, not on the folding).
    assert [layer.pool for layer in top.architecture.layers[: len(folded)]] == folded
    reached = [c.log2_separation_rank / c.log2_max_rank for c in top.analysis]
    assert min(reached) == 1.0 if len(shape) == 2 else min(reached) > 0.6
