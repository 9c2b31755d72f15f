"""How soon a tree pools a correlation's two sides together, and the ties it breaks."""

from __future__ import annotations

import itertools
import re

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.geometry.layouts import pooling_structure
from advisor.geometry.structure import PoolingStructure
from advisor.model.budget import Budget
from advisor.model.results import Recommendation
from advisor.model.task import Task, parse_task
from advisor.model.text import told_apart
from advisor.search import run as run_module
from advisor.search.meeting import levels_apart
from advisor.search.recommend import recommend
from advisor.search.subtree_dag import SubtreeDagBuilder
from advisor.seprank.labels import FREE, SIDE_A, SIDE_B, correlation_labels

_Labels = npt.NDArray[np.int8]


def _contiguous(sizes: list[int], pools: list[int]) -> PoolingStructure:
    """Windows of consecutive nodes, level by level (``sizes[l]`` nodes pooled by ``pools[l]``)."""
    return PoolingStructure(
        num_locations=sizes[0],
        windows=tuple(np.arange(n).reshape(-1, k) for n, k in zip(sizes, pools, strict=True)),
    )


def _labels(size: int, *sides: tuple[list[int], list[int]]) -> _Labels:
    labels = np.full((len(sides), size), FREE, dtype=np.int8)
    for row, (a, b) in enumerate(sides):
        labels[row, a], labels[row, b] = SIDE_A, SIDE_B
    return labels


def _apart_of(tree: PoolingStructure, labels: _Labels, weights: npt.NDArray[np.float64]) -> float:
    """The figure of the tree's DAG, as the search computes it."""
    dag = SubtreeDagBuilder(labels).build(tree.windows, range(tree.depth))
    return levels_apart(dag, weights)


def test_closed_forms_on_eight_steps_pooled_by_two() -> None:
    tree = _contiguous([8, 4, 2], [2, 2, 2])
    one = np.ones(1)
    assert _apart_of(tree, _labels(8, ([0], [1])), one) == 0.0
    assert _apart_of(tree, _labels(8, ([0, 1], [2, 3])), one) == 1.0
    assert _apart_of(tree, _labels(8, ([0], [7])), one) == 2.0
    # Step 0 and step 1 meet in the first window, step 7 two levels up: (0 + 0 + 2) / 3.
    assert _apart_of(tree, _labels(8, ([0], [1, 7])), one) == pytest.approx(2 / 3)
    both = _labels(8, ([0], [1]), ([0], [7]))
    assert _apart_of(tree, both, np.array([0.25, 0.75])) == pytest.approx(1.5)
    # One global window: every side meets at once.
    assert _apart_of(_contiguous([8], [8]), _labels(8, ([0], [7])), one) == 0.0


def _brute_force(
    tree: PoolingStructure, labels: _Labels, weights: npt.NDArray[np.float64]
) -> float:
    """Walk every correlated location up the tree until its node holds the other side."""
    parents = []
    for windows in tree.windows:
        parent = np.empty(windows.size, dtype=np.intp)
        for window, members in enumerate(windows):
            parent[members] = window
        parents.append(parent)
    total = 0.0
    for row, weight in zip(labels, weights, strict=True):
        located = np.flatnonzero(row != FREE)
        passed = []
        for location in located:
            other = SIDE_B if row[location] == SIDE_A else SIDE_A
            node = {int(x): int(x) for x in range(tree.num_locations)}
            for level, parent in enumerate(parents):
                node = {x: int(parent[n]) for x, n in node.items()}
                mine = node[int(location)]
                if any(node[int(x)] == mine for x in np.flatnonzero(row == other)):
                    passed.append(level)
                    break
        total += weight * float(np.mean(passed))
    return total


@st.composite
def _trees_and_labels(draw: st.DrawFn) -> tuple[PoolingStructure, _Labels, npt.NDArray[np.float64]]:
    pools = draw(st.lists(st.sampled_from([2, 3, 4]), min_size=1, max_size=4))
    sizes = [int(np.prod(pools[level:])) for level in range(len(pools))]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    windows = tuple(rng.permutation(n).reshape(-1, k) for n, k in zip(sizes, pools, strict=True))
    tree = PoolingStructure(num_locations=sizes[0], windows=windows)
    rows = draw(st.integers(1, 3))
    labels = np.full((rows, sizes[0]), FREE, dtype=np.int8)
    for row in labels:
        a, b = rng.choice(sizes[0], size=2, replace=False)
        row[a], row[b] = SIDE_A, SIDE_B
        row[rng.random(sizes[0]) < 0.3] = FREE
        row[a], row[b] = SIDE_A, SIDE_B
        row[(row == FREE) & (rng.random(sizes[0]) < 0.3)] = SIDE_A
    weights = rng.random(rows) + 0.1
    return tree, labels, weights / weights.sum()


@given(_trees_and_labels())
@settings(max_examples=60, deadline=None)
def test_levels_apart_counts_what_walking_up_the_tree_counts(
    case: tuple[PoolingStructure, _Labels, npt.NDArray[np.float64]],
) -> None:
    tree, labels, weights = case
    assert _apart_of(tree, labels, weights) == pytest.approx(_brute_force(tree, labels, weights))


def _apart(task: Task, recommendation: Recommendation) -> float:
    architecture = recommendation.architecture
    correlations = task.resolved()
    weights = np.array([c.weight for c in correlations])
    structure = pooling_structure(architecture)
    labels = correlation_labels(correlations, structure.num_locations)
    return _apart_of(structure, labels, weights / weights.sum())


@pytest.mark.parametrize(
    ("shape", "preset", "profile"),
    [
        ([32], "long_range", "practical"),
        ([32], "long_range", "free"),
        ([64], "periodic", "practical"),
        ([16, 16], "periodic", "practical"),
    ],
)
def test_designs_equal_on_the_score_rank_by_how_soon_their_sides_meet(
    shape: list[int], preset: str, profile: str
) -> None:
    task = parse_task({"input": {"shape": shape}, "preset": preset})
    budget = Budget(
        max_parameters=3_000, outputs=2, time_limit_seconds=None, width_profile=profile, top_k=8
    )
    ranked = recommend(task, budget).recommendations
    for before, after in itertools.pairwise(ranked):
        same = (before.score, before.architecture.parameters) == (
            after.score,
            after.architecture.parameters,
        )
        if same:
            assert _apart(task, before) <= _apart(task, after)


def test_the_tie_note_says_the_first_tree_pools_the_sides_together_sooner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a sequence the long_range preset's halves and ends reach the same ranks under mirror and
    # interleaved pooling; mirror pooling meets the ends in the first window, interleaved later.
    # Read as relations, the halves and ends are one mirror, which the score's coherence favours
    # (test_search_coherence.py); without relations they tie and this tie-break decides.
    monkeypatch.setattr(run_module, "description_relations", lambda *_: [])
    task = parse_task({"input": {"shape": [32]}, "preset": "long_range"})
    first, *rest = recommend(
        task, Budget(max_parameters=3_000, outputs=2, time_limit_seconds=None)
    ).recommendations
    rival = next(r for r in rest if r.architecture.family != first.architecture.family)
    assert (rival.score, rival.architecture.parameters) == (
        first.score,
        first.architecture.parameters,
    )
    soon, late = _apart(task, first), _apart(task, rival)
    assert soon < late
    ours, theirs = told_apart(soon, late)
    assert ours != theirs
    assert f"passes {ours} pooling levels on average" in first.rationale
    assert f"against {theirs};" in first.rationale


def test_a_design_that_ties_the_one_ranked_above_it_says_so_and_what_decided() -> None:
    # Dilation orders of 16 steps tie on start_end's score keys (the score, the budget share):
    # ranks 5 and 6 on every rank too, and their rationales read as if the score had decided.
    task = parse_task({"input": {"shape": [16]}, "preset": "start_end"})
    budget = Budget(max_parameters=10_000, time_limit_seconds=None, top_k=8)
    ranked = recommend(task, budget).recommendations
    decided = ("leads by needing fewer parameters", "pools each", "leads only by the search's")
    ties = 0
    for above, below in itertools.pairwise(ranked):
        said = "It ties the design ranked just above it on every figure of the score" in (
            below.rationale
        )
        same = (above.score, above.parameters) == (below.score, below.parameters)
        assert said == same, below.rank
        if said:
            ties += 1
            note = below.rationale.split("design ranked just above it on every figure")[1]
            assert any(f"and that one {words}" in note for words in decided)
    assert ties >= 2
    assert "It ties the design ranked" not in ranked[0].rationale


def test_counts_apart_only_in_their_last_bits_tie_and_no_note_tells_them_apart_by_them() -> None:
    # Two dilation orders of 64 steps meet start_end's sides after 3.2 levels, summed in another
    # order (3.2000000000000006): ranked by that noise, the note said "3.200000 against 3.200000".
    task = parse_task({"input": {"shape": [64]}, "preset": "start_end"})
    budget = Budget(max_parameters=100_000, time_limit_seconds=None, top_k=8)
    ranked = recommend(task, budget).recommendations
    assert any("It ties the design ranked" in r.rationale for r in ranked)
    for design in ranked:
        text = " ".join(design.rationale.split())
        for ours, theirs in re.findall(
            r"passes ([\d.]+) pooling levels .*?, against ([\d.]+);", text
        ):
            assert ours != theirs, design.rank
