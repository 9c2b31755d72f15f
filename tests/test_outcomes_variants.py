"""The objective screen of the trained-outcome benchmark (bench/outcomes/variants.py). Skipped
without the optional ``validate`` extra (bench.outcomes imports torch)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.task import parse_task
from advisor.search.objective import Objective
from bench.outcomes.describe import with_locality
from bench.outcomes.metrics import ADVISOR_FIRST, rank_correlation
from bench.outcomes.report import metrics_of, rows
from bench.outcomes.run import RESULTS
from bench.outcomes.variants import (
    FACTORS,
    VARIANTS,
    Member,
    Pool,
    Variant,
    level_bits,
    read_pools,
    rescored,
    screen,
)


def _contiguous(shape: list[int], pools: list[list[int]]) -> Architecture:
    layers = [{"channels": 4, "pool": pool} for pool in pools]
    return parse_architecture(
        {
            "input": {"shape": shape},
            "representation": 4,
            "layers": layers,
            "outputs": 2,
            "geometry": "contiguous",
        }
    )


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([2, 3, 4]), min_size=1, max_size=4))
def test_level_bits_sum_to_the_models_discarded_order(windows: list[int]) -> None:
    size = 1
    for window in windows:
        size *= window
    architecture = _contiguous([size], [[w] for w in windows])
    assert sum(level_bits(architecture)) == pytest.approx(architecture.discarded_order)


def test_level_bits_follow_the_windows() -> None:
    # 16x16 pooled 2x2, 4x4, 2x2: 64 windows of log2(24) bits, 4 of log2(16!), 1 of log2(24).
    bits = level_bits(_contiguous([16, 16], [[2, 2], [4, 4], [2, 2]]))
    assert bits == pytest.approx([64 * 4.5850 / 256, 4 * 44.2501 / 256, 4.5850 / 256], rel=1e-4)


@pytest.mark.parametrize(
    ("variant", "weight"), [("arrangement, weight 1/2", 0.5), ("no arrangement", 0.0)]
)
def test_a_weight_variant_scores_trees_as_an_objective_of_that_weight(
    variant: str, weight: float
) -> None:
    # The stored scores carry the objective's discount; the variant's factor swaps it for its own.
    coarse = _contiguous([16, 16], [[2, 2], [4, 4], [2, 2]])
    fine = _contiguous([16, 16], [[2, 2]] * 4)
    least = min(coarse.discarded_order, fine.discarded_order)
    objective = Objective.create([1.0], [1.0], "weighted", least_discarded=least)
    factor = FACTORS[variant][0]

    def varied(tree: Architecture) -> float:
        return float(objective.arrangement_factor(tree.discarded_order)[0, 0]) * factor(tree)

    gap = coarse.discarded_order - fine.discarded_order
    assert gap > 0
    assert varied(coarse) / varied(fine) == pytest.approx(2.0 ** -(weight * gap))


def test_the_control_judges_the_number_one_as_the_benchmark_does() -> None:
    pools = read_pools()
    if not pools:
        pytest.skip("no trained pools in this checkout")
    control = screen(pools, VARIANTS["current"])
    assert control.changed == 0
    expected = [
        task
        for task in pools
        if not metrics_of(rows(json.loads((RESULTS / f"{task}.json").read_text()))).within_one_std
    ]
    assert sorted(control.misses) == sorted(expected)


def test_the_shallowest_rule_keeps_to_near_ties() -> None:
    pools = read_pools()
    if not pools:
        pytest.skip("no trained pools in this checkout")
    rule = VARIANTS["shallowest within 5%"].rule
    assert rule is not None
    for pool in pools.values():
        top = sorted((m for m in pool.members if m.rank is not None), key=lambda m: m.rank or 0)
        pick: Member = rule(top)
        assert pick.score >= 0.95 * top[0].score
        near = [m for m in top if m.score >= 0.95 * top[0].score]
        assert len(pick.architecture.layers) == min(len(m.architecture.layers) for m in near)
        if len(near) == 1:
            assert pick.row.source == ADVISOR_FIRST


def test_rescoring_the_description_unchanged_gives_the_stored_scores() -> None:
    # The rescoring path recomputes scores as the benchmark did: with nothing added, the same.
    pools = read_pools(tasks=("symmetry", "sequence-local"))
    if not pools:
        pytest.skip("no trained pools in this checkout")
    unchanged = rescored(lambda task: task)
    for task, pool in pools.items():
        assert unchanged(task, pool) == pytest.approx([m.score for m in pool.members], abs=1e-9)


def test_the_locality_prior_keeps_the_description_and_adds_the_local_preset() -> None:
    task = parse_task(
        {
            "input": {"shape": [8, 8]},
            "outputs": 3,
            "correlations": [
                {"name": "sides", "a": {"preset": "left_half"}, "relation": "mirror"},
                {"name": "rows", "a": {"preset": "top_half"}, "weight": 3.0},
            ],
        }
    )
    prior = with_locality(task, 0.5)
    local = parse_task({"input": {"shape": [8, 8]}, "preset": "local"}).resolved()
    stated, added = prior.resolved()[:2], prior.resolved()[2:]
    assert prior.outputs == 3
    assert stated == task.resolved()
    assert [c.name for c in added] == [f"prior/{c.name}" for c in local]
    assert [(c.a.tolist(), c.b.tolist()) for c in added] == [
        (c.a.tolist(), c.b.tolist()) for c in local
    ]
    assert sum(c.weight for c in added) == pytest.approx(0.5 * 4.0)
    assert len({c.weight for c in added}) == 1


def test_a_grids_only_variant_leaves_sequences_as_stored() -> None:
    pools = read_pools(tasks=("sequence-local",))
    if not pools:
        pytest.skip("no trained pools in this checkout")
    scores = VARIANTS["locality prior 1/2, grids only"].scores
    assert scores is not None
    pool = pools["sequence-local"]
    assert scores("sequence-local", pool) == [m.score for m in pool.members]


def test_a_variant_that_ties_a_pool_counts_that_task_at_tau_zero() -> None:
    pools = read_pools()
    if not pools:
        pytest.skip("no trained pools in this checkout")
    stored = {task: [m.score for m in pool.members] for task, pool in pools.items()}
    tied = next(iter(pools))

    def tying(task: str, pool: Pool) -> list[float]:
        return [1.0] * len(pool.members) if task == tied else stored[task]

    faithful = screen(pools, Variant("the stored scores", lambda task, pool: stored[task]))
    accuracy = [m.row.mean for m in pools[tied].members]
    tied_tau = rank_correlation(stored[tied], accuracy).kendall_tau
    assert screen(pools, Variant("ties one pool", tying)).mean_tau == pytest.approx(
        faithful.mean_tau - tied_tau / len(pools)
    )
