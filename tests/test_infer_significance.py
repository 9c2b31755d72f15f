"""Task inference reads only the dependence a sample can tell from independence.

The threshold (advisor.infer.significance) is checked against its closed form and against
independent samples; the inference against data without dependence (no task, on the library, the
wire, ``recommend --data`` and ``advisor infer``) and data with a few dependent pairs (they are
found; the partitions of the whole grid and the arrangement, drawn from them alone, are not).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.cli.options import ExitCode
from advisor.errors import InvalidRequestError
from advisor.infer.combine import with_data
from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.significance import FAMILY_ALPHA, independence_threshold, least_samples
from advisor.infer.task import infer_task
from advisor.protocol import wire
from tests.test_cli import advisor, assert_one_error_line


def test_the_threshold_of_one_pair_is_the_two_sided_normal_quantile() -> None:
    for samples in (10, 3000, 10**6):
        expected = NormalDist().inv_cdf(1 - FAMILY_ALPHA / 2) / math.sqrt(samples)
        assert independence_threshold(samples, 2) == pytest.approx(expected, rel=1e-12)
    assert independence_threshold(100, 1) == 1.0  # no pair: nothing can be evidence


@given(st.integers(2, 10**7), st.integers(2, 1 << 24), st.floats(1e-6, 0.5, allow_subnormal=False))
def test_the_threshold_rises_with_the_pairs_and_falls_with_the_samples(
    samples: int, locations: int, alpha: float
) -> None:
    threshold = independence_threshold(samples, locations, alpha)
    assert threshold > 0.0
    # Under 1, the largest weight, exactly from least_samples on: no cap makes |r| = 1 evidence.
    assert (threshold < 1.0) == (samples >= least_samples(locations, alpha))
    assert independence_threshold(samples, locations + 1, alpha) >= threshold
    assert independence_threshold(samples + 1, locations, alpha) <= threshold
    assert independence_threshold(samples, locations, alpha / 2) >= threshold


@pytest.mark.parametrize("channels", [1, 3])
def test_independent_locations_rarely_show_evidence(channels: int) -> None:
    # 60 samples of 400 x 24 independent locations: the share with any edge at the threshold or
    # above stays near 5% (binomial: more than 8 of 60 has probability 0.007); without the
    # correction over the 276 pairs nearly every sample would have one.
    rng = np.random.default_rng(5)
    flagged = 0
    for _ in range(60):
        values = rng.standard_normal((400, 24, channels))
        graph = dependence_graph(data_from_array(values, (24,)), top_k=23)
        flagged += bool((graph.weights >= independence_threshold(400, 24)).any())
    assert flagged <= 8


def test_channels_that_move_as_one_keep_the_threshold_valid() -> None:
    # The heaviest null tail: three copies of one channel (module docstring).
    rng = np.random.default_rng(6)
    flagged = 0
    for _ in range(60):
        one = rng.standard_normal((400, 24, 1))
        values = one + 1e-3 * rng.standard_normal((400, 24, 3))
        graph = dependence_graph(data_from_array(values, (24,)), top_k=23)
        flagged += bool((graph.weights >= independence_threshold(400, 24)).any())
    assert flagged <= 8


def test_too_few_samples_give_no_task_and_say_how_many_are_needed(tmp_path: Path) -> None:
    # Every pair of two samples correlates at |r| = 1, and of 17 samples independent locations
    # exceed the 5% bound over 64 locations' pairs: before the threshold was left uncapped, 1.0
    # made 888 pairs of two noise samples evidence and wrote a task of them.
    noise = _independent(17, 8, seed=3)
    for samples in (2, 17):
        inferred = infer_task(dependence_graph(data_from_array(noise[:samples])))
        assert inferred.threshold > 1.0
        assert (inferred.evidence, inferred.task) == (0, None)
    data = tmp_path / "two.npy"
    np.save(data, noise[:2])
    run = advisor("infer", data)
    assert run.status == 2
    assert "evidence: none can be: 2 samples are too few" in run.stderr
    assert run.stderr.splitlines()[-1] == (
        "advisor: error: DATA: the sample is too small to show dependence: 2 samples are too few "
        "to tell dependence from independence on 64 locations (independent locations correlate "
        "up to |r| = 1 by chance); at least 18 independent samples are needed, a few hundred to "
        "find moderate dependence: no task to write"
    )


def test_too_few_distinct_samples_say_so_with_the_repeats_apart(tmp_path: Path) -> None:
    # 20 draws of a 16x16 grid, each saved 10 times: "200 samples, 20 distinct are too few ...;
    # at least 24 are needed" read as if 200 samples were too few, and 24 more than 200.
    data = tmp_path / "saved.npy"
    np.save(data, np.repeat(_independent(20, 16, seed=2), 10, axis=0))
    run = advisor("infer", data)
    assert run.status == 2
    assert "data: 20 distinct samples (200 with repeats), grid 16x16" in run.stderr
    assert (
        "evidence: none can be: 20 distinct samples (200 with repeats) are too few to tell "
        "dependence from independence on 256 locations (independent locations correlate up to "
        "|r| = 1 by chance); at least 24 independent samples are needed"
    ) in " ".join(run.stderr.split())  # as read, unwrapped


def test_a_sample_its_repeats_weigh_down_says_removing_them_leaves_enough(tmp_path: Path) -> None:
    # One sample saved 600 times beside 600 distinct ones: "601 distinct samples (1,200 with
    # repeats, weighing as 2) are too few" read as if more data were what it lacked.
    draws = _independent(601, 8, seed=4)
    data = tmp_path / "dominated.npy"
    np.save(data, np.concatenate([draws[:600], np.repeat(3.0 * draws[600:], 600, axis=0)]))
    run = advisor("infer", data)
    assert run.status == 2
    assert "601 distinct samples (1,200 with repeats, weighing as" in run.stderr
    assert run.stderr.splitlines()[-1].endswith(
        "at least 18 independent samples are needed, a few hundred to find moderate dependence; "
        "the repeats dominate: removing them leaves 601 usable samples: no task to write"
    )


def _independent(samples: int = 2000, side: int = 12, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((samples, side, side))


def test_data_without_dependence_gives_no_task() -> None:
    graph = dependence_graph(data_from_array(_independent()))
    assert graph.weights.size > 0  # the top-k graph still holds the largest noise
    inferred = infer_task(graph)
    assert inferred.evidence == 0
    assert inferred.task is None
    assert not any(c.kept for c in inferred.candidates)
    report = inferred.report()
    back = wire.inference_report_from_proto(wire.inference_report_to_proto(report))
    assert back.task is None
    assert (back.threshold, back.evidence) == (report.threshold, 0)
    assert back.threshold == pytest.approx(independence_threshold(2000, 144))
    document = {"input": {"shape": [12, 12]}, "preset": "local"}
    assert with_data(document, report) == document
    with pytest.raises(Exception, match="no task"):
        inferred.found()


def _pairs(samples: int = 2000, side: int = 12, seed: int = 2) -> np.ndarray:
    """Independent locations but two far pairs: (0, 100) at |r| 0.71, (30, 140) at 0.45."""
    values = _independent(samples, side, seed).reshape(samples, -1)
    for (i, j), coupling in (((0, 100), 1.0), ((30, 140), 0.5)):
        values[:, j] = coupling * values[:, i] + values[:, j]
    return values.reshape(samples, side, side)


def test_a_few_dependent_pairs_keep_their_pairs_and_make_no_grid_wide_claim() -> None:
    graph = dependence_graph(data_from_array(_pairs()))
    inferred = infer_task(graph)
    evidence = graph.weights >= inferred.threshold
    pairs = zip(graph.rows[evidence].tolist(), graph.cols[evidence].tolist(), strict=True)
    assert set(pairs) == {(0, 100), (30, 140)}
    assert inferred.evidence == 2
    task = inferred.found()
    # The pair above the long-range threshold (|r| >= 0.5) is kept; the other is evidence too,
    # but alone it is no long-range pair.
    assert [c.name for c in task.correlations] == ["locations (0, 0) vs (8, 4)"]
    # Every stripe and half crosses one of the two pairs or none: measured on 4 of 144 locations,
    # none is kept, whatever its density, and the report says why.
    reach = "the evidence reaches under 50% of the varying locations"
    partitions = [c for c in inferred.candidates if c.a.size > 1]
    assert partitions and all(c.dropped == reach for c in partitions)
    assert any(c.entanglement > c.chance for c in partitions)  # kept before this rule
    # The arrangement lowers the crossing of two edges to nothing, but it places the other 140
    # locations arbitrarily: the task keeps the data's order.
    assert sum(inferred.arrangement.after) < sum(inferred.arrangement.before)
    assert task.arrangement is None
    report = inferred.report()
    back = wire.inference_report_from_proto(wire.inference_report_to_proto(report))
    assert [c.dropped for c in back.correlations] == [c.dropped or "" for c in inferred.candidates]
    assert [c.kept for c in back.correlations] == [c.kept for c in inferred.candidates]


def test_constant_locations_do_not_count_against_the_evidence_reach() -> None:
    # A 12x12 grid of which only the top 3 rows vary, each location with its right neighbour: the
    # evidence reaches every varying location, so the stripes it crosses are kept.
    rng = np.random.default_rng(4)
    values = np.zeros((2000, 12, 12))
    sources = rng.standard_normal((2000, 3, 6))
    values[:, :3, 0::2] = sources
    values[:, :3, 1::2] = sources + rng.standard_normal((2000, 3, 6))
    graph = dependence_graph(data_from_array(values), allow_constant=True)
    assert len(graph.constant) == 108
    task = infer_task(graph).found()
    assert "columns 0,2,4,.. vs 1,3,5,.." in {c.name for c in task.correlations}


def test_advisor_infer_refuses_data_without_dependence_and_recommend_uses_the_description(
    tmp_path: Path,
) -> None:
    data = tmp_path / "noise.npy"
    values = _independent(600, 8, seed=2).astype(np.float32)
    assert infer_task(dependence_graph(data_from_array(values))).evidence == 0  # 1 seed in 20 fails
    np.save(data, values)
    output = tmp_path / "task.yaml"
    run = advisor("infer", data, "--output", output)
    assert run.status == 2
    assert "DATA: the sample shows no dependence to model" in run.stderr
    assert "no task to write" in run.stderr
    assert "evidence: 0 of the pairs" in run.stderr
    # Every partition's line gives the server's reason (InferredCorrelation.dropped).
    thin = "dropped (the evidence reaches under 50% of the varying locations)"
    assert thin in " ".join(run.stderr.split())  # as read, unwrapped
    assert not output.exists()
    task = tmp_path / "local.yaml"
    task.write_text("input: {shape: [8, 8]}\npreset: local\n")
    alone = advisor("recommend", task, "--budget", "20000", "--format", "json")
    joined = advisor("recommend", task, "--data", data, "--budget", "20000", "--format", "json")
    assert joined.status == 0, joined.stderr
    assert "--data: the sample shows no dependence to model" in joined.stderr
    assert "the task is the description alone" in joined.stderr
    strip = {"search_seconds"}
    first, second = (
        {k: v for k, v in json.loads(r.stdout).items() if k not in strip} for r in (alone, joined)
    )
    assert first == second


def test_recommend_with_data_that_adds_nothing_fails_on_another_option_in_one_line(
    tmp_path: Path,
) -> None:
    # The --data notice ("...; the task is the description alone") was written before the
    # search, above the budget's error: two lines where a failure is one.
    data = tmp_path / "noise.npy"
    np.save(data, _independent(600, 8, seed=2).astype(np.float32))
    task = tmp_path / "local.yaml"
    task.write_text("input: {shape: [8, 8]}\npreset: local\n")
    refused = advisor("recommend", task, "--data", data, "--budget", "10")
    assert assert_one_error_line(refused, ExitCode.INVALID_ARGUMENT).startswith(
        "advisor: error: --budget: the smallest practical net"
    )


def test_repeated_samples_count_once_and_show_no_dependence_in_noise(tmp_path: Path) -> None:
    # 300 samples of noise, each saved four times: the 1,200 correlate exactly as the 300 do, so
    # the threshold is the 300's. Counted as 1,200, 516 pairs were evidence and a task was written.
    noise = _independent(300, 16, seed=1)
    repeated = np.repeat(noise, 4, axis=0)
    graph = dependence_graph(data_from_array(repeated))
    assert (graph.samples, graph.distinct_samples) == (1200, 300)
    assert graph.effective_samples == pytest.approx(300.0)
    inferred = infer_task(graph)
    assert inferred.threshold == pytest.approx(independence_threshold(300, 256))
    assert (inferred.evidence, inferred.task) == (0, None)
    back = wire.dependence_graph_from_proto(wire.dependence_graph_to_proto(graph), 1 << 14)
    assert (back.distinct_samples, back.effective_samples) == (300, graph.effective_samples)
    data = tmp_path / "repeated.npy"
    np.save(data, repeated)
    run = advisor("infer", data)
    assert run.status == 2
    assert "data: 300 distinct samples (1,200 with repeats), grid 16x16" in run.stderr
    assert (
        "no pair of locations depends more than independent ones would in 300 distinct samples "
        "(1,200 with repeats) (largest "
    ) in run.stderr


def test_uneven_repeats_weigh_by_their_leverage() -> None:
    # Sample 0 six times, sample 1 twice (once with -0.0 for its 0.0: the same values) and 8
    # others once: 16 samples, 10 distinct; 15 ties of sample 0 and one of sample 1, each
    # weighing as that sample's z_f^2 z_g^2 averaged over its pairs of features, against the
    # 16 samples' summed; z standardized by the 10 distinct samples' mean and spread.
    values = np.random.default_rng(4).standard_normal((10, 3))
    values[1, 0] = 0.0
    signed_zero = values[1:2].copy()
    signed_zero[0, 0] = -0.0
    rows = np.concatenate([values, np.repeat(values[:1], 5, axis=0), signed_zero])
    graph = dependence_graph(data_from_array(rows))
    assert (graph.samples, graph.distinct_samples) == (16, 10)
    squares = ((rows - values.mean(axis=0)) / values.std(axis=0)) ** 2
    leverage = (squares.sum(axis=1) ** 2 - (squares**2).sum(axis=1)) / 6
    expected = 16 / (1 + 2 * (15 * leverage[0] + leverage[1]) / leverage.sum())
    assert graph.effective_samples == pytest.approx(expected, rel=1e-5)
    assert graph.independent_samples == graph.effective_samples


def test_distinct_and_effective_samples_from_the_wire_are_checked() -> None:
    graph = dependence_graph(data_from_array(_independent(40, 4)))
    message = wire.dependence_graph_to_proto(graph)
    for distinct, effective, field, says in (
        (41, 40.0, "graph.distinct_samples", "41: must lie in 1..40"),
        (20, 40.5, "graph.effective_samples", "40.5: must lie in [1, 40]"),
        (20, 0.5, "graph.effective_samples", "0.5: must lie in [1, 40]"),
        # One alone names the one given, as the kurtosis and skewness checks do.
        (20, None, "graph.distinct_samples", "must be given with effective_samples"),
        (None, 20.0, "graph.effective_samples", "must be given with distinct_samples"),
    ):
        bad = type(message)()
        bad.CopyFrom(message)
        if distinct is None:
            bad.ClearField("distinct_samples")
        else:
            bad.distinct_samples = distinct
        if effective is None:
            bad.ClearField("effective_samples")
        else:
            bad.effective_samples = effective
        with pytest.raises(InvalidRequestError) as error:
            wire.dependence_graph_from_proto(bad, 1 << 14)
        assert [(v.field, v.description) for v in error.value.violations] == [(field, says)]
