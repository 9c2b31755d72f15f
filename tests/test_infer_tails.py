"""Pairs of sparse, heavy-tailed or skewed locations need more than the normal threshold.

The first pass measures each location's kurtosis, skewness and largest standardized deviation
(advisor.infer.dependence); where a pair's products are carried by few samples, its threshold is
at least Bennett's, elsewhere at least the Cornish-Fisher one of its skewness and kurtosis
(advisor.infer.significance.pair_thresholds). Checked: the streamed figures against numpy's,
noise of sparse, heavy-tailed and skewed values (no task; the normal threshold alone wrote one),
a planted sparse pair (still found), Gaussian noise (today's threshold exactly, also at 100-200
samples, where its sample kurtosis is noisy) and the figures on the wire (carried, and checked
naming the field; a graph without skewness keeps the rule of the kurtosis alone).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

import advisor.infer.data as data_module
from advisor.errors import InvalidRequestError
from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.graph import DependenceGraph
from advisor.infer.significance import independence_threshold, pair_thresholds
from advisor.infer.task import edge_thresholds, infer_task
from advisor.protocol import wire
from tests.support.graph_fields import assert_fields_refused
from tests.test_cli import advisor

_SHAPE = (16, 16)


def _events(probability: float, samples: int = 1000, seed: int = 0) -> np.ndarray:
    """0/1 events of ``probability``, independent at every location of a 16x16 grid."""
    rng = np.random.default_rng(seed)
    return (rng.random((samples, *_SHAPE)) < probability).astype(np.float64)


def _without_tails(graph: DependenceGraph) -> DependenceGraph:
    """The graph as a client without the figures sends it: every pair at the normal threshold."""
    return dataclasses.replace(graph, kurtosis=None, largest_deviation=None, skewness=None)


def test_the_first_pass_streams_each_locations_kurtosis_and_largest_deviation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Chunks of 7 samples, an outlier in a late chunk (the sums are rescaled to it), a constant
    # location (0, 0) and two channels (the heavier channel's figures).
    monkeypatch.setattr(data_module, "_CHUNK_BYTES", 8 * 12 * 7)
    rng = np.random.default_rng(3)
    values = rng.standard_normal((50, 6, 2))
    values[40, 2, 1] = 25.0
    values[:, 5, :] = 4.0
    graph = dependence_graph(data_from_array(values, (6,)), allow_constant=True)
    z = (values - values.mean(axis=0)) / np.where(values.std(axis=0) > 0, values.std(axis=0), 1)
    kurtosis, largest = (z**4).mean(axis=0).max(axis=1), np.abs(z).max(axis=0).max(axis=1)
    third = (z**3).mean(axis=0)  # the channel of larger magnitude, with its sign
    skewness = third[np.arange(6), np.abs(third).argmax(axis=1)]
    assert graph.constant == (5,)
    assert graph.kurtosis is not None and graph.largest_deviation is not None
    assert graph.skewness is not None
    np.testing.assert_allclose(graph.kurtosis, [*kurtosis[:5], 0.0], rtol=1e-9)
    np.testing.assert_allclose(graph.largest_deviation, [*largest[:5], 0.0], rtol=1e-9)
    np.testing.assert_allclose(graph.skewness, [*skewness[:5], 0.0], rtol=1e-9, atol=1e-12)
    assert graph.kurtosis[2] > 20 and graph.skewness[2] > 4  # the outlier's channel


def test_sparse_noise_shows_no_evidence() -> None:
    # 1,000 samples of 0/1 events of probability 0.05: independent pairs sharing a few samples
    # reached the normal threshold (in 82.5% of such samples, measured by bench/infer/tails.py).
    graph = dependence_graph(data_from_array(_events(0.05)))
    assert infer_task(_without_tails(graph)).evidence == 2
    inferred = infer_task(graph)
    assert (inferred.evidence, inferred.task) == (0, None)
    # The least threshold reported is still the normal one (the report's "evidence from").
    assert inferred.threshold == independence_threshold(1000, 256)


@pytest.mark.parametrize("draw", ["standard_cauchy", "lognormal"])
def test_heavy_tailed_noise_infers_no_task(draw: str) -> None:
    # 100 samples of a 16x16 grid: the normal threshold alone read tens to hundreds of pairs of
    # these independent locations as dependent, and a task of them.
    values = getattr(np.random.default_rng(0), draw)(size=(100, *_SHAPE))
    graph = dependence_graph(data_from_array(values))
    assert infer_task(_without_tails(graph)).task is not None
    inferred = infer_task(graph)
    assert (inferred.evidence, inferred.task) == (0, None)


def test_a_planted_pair_of_sparse_events_is_still_found() -> None:
    # Locations (0, 0) and (8, 8) of sparse events agree but in 1% of the samples: |r| about 0.9,
    # far above Bennett's threshold for such pairs (0.23 to 0.28, the normal one 0.152).
    values = _events(0.05, seed=2)
    flips = np.random.default_rng(7).random(1000) < 0.01
    values[:, 8, 8] = np.where(flips, 1.0 - values[:, 0, 0], values[:, 0, 0])
    graph = dependence_graph(data_from_array(values))
    inferred = infer_task(graph)
    assert inferred.evidence == 1
    assert [p.name for p in inferred.pairs if p.kept] == ["locations (0, 0) vs (8, 8)"]
    assert edge_thresholds(graph).min() > 1.4 * inferred.threshold


def test_gaussian_noise_keeps_exactly_the_normal_threshold() -> None:
    values = np.random.default_rng(4).standard_normal((1000, *_SHAPE))
    graph = dependence_graph(data_from_array(values))
    assert graph.kurtosis is not None
    assert graph.kurtosis.min() > 2.5 and graph.kurtosis.max() < 3.6
    normal = independence_threshold(1000, 256)
    assert (edge_thresholds(graph) == normal).all()
    assert (edge_thresholds(_without_tails(graph)) == normal).all()


@pytest.mark.parametrize("samples", [100, 200])
@pytest.mark.parametrize("channels", [1, 3])
def test_gaussian_data_of_few_samples_keeps_the_normal_threshold(
    samples: int, channels: int
) -> None:
    # The sample kurtosis of Gaussian values scatters about 3 (standard error sqrt(24 / samples)),
    # and a location's is its heaviest channel's: read against 9 itself, 37-49% of these pairs'
    # products (87-92% with three channels) took Bennett's threshold, 0.52-0.70 where the normal
    # one is 0.34 at 200 samples. Student-t values of 3 dof, of the same size, still need more.
    normal = independence_threshold(samples, 256)
    rng = np.random.default_rng(0)
    gaussian = dependence_graph(
        data_from_array(rng.standard_normal((samples, *_SHAPE, channels)), _SHAPE)
    )
    assert gaussian.kurtosis is not None
    products = gaussian.kurtosis[gaussian.rows] * gaussian.kurtosis[gaussian.cols]
    assert (products > 9.0).mean() > 0.35
    assert (edge_thresholds(gaussian) == normal).all()
    heavy = dependence_graph(
        data_from_array(rng.standard_t(3, (samples, *_SHAPE, channels)), _SHAPE)
    )
    assert (edge_thresholds(heavy) > normal).mean() > 0.5


def test_a_pair_carried_by_fewer_than_two_products_is_heavy_within_gaussian_noise() -> None:
    # At 50 samples of a 16x16 grid Gaussian locations' kurtosis reaches 7.7 (a product of 59),
    # as 0/1 events of probability 0.1 have (about 8); the margin stops at samples / 2 = 25,
    # where fewer than two products carry the sum: those pairs have Bennett's threshold.
    normal = independence_threshold(50, 256)
    thresholds = pair_thresholds(50.0, 256, np.array([9.5, 24.0, 26.0]), np.full(3, 8.0))
    assert thresholds[:2].tolist() == [normal, normal]
    assert thresholds[2] > 1.3 * normal
    # At 200 samples the margin is the Gaussian noise's, K^2 about 25: 24 keeps the normal one.
    normal = independence_threshold(200, 256)
    thresholds = pair_thresholds(200.0, 256, np.array([24.0, 26.0]), np.full(2, 8.0))
    assert thresholds[0] == normal < thresholds[1]


def test_skewed_noise_shows_no_evidence_where_the_kurtosis_alone_read_some() -> None:
    # 4,000 samples of independent exponential values (skewness 2, kurtosis 9): past the switch
    # to Bennett's form (about 1,870 samples), where the kurtosis alone left the normal
    # threshold, whose two-sided tail is too thin for skewed products. It read a pair of
    # independent locations as dependent in 2 of these 5 seeded samples (in 10% of 300 such
    # samples: bench/infer/tails.py); the skewness raises every pair's threshold.
    normal = independence_threshold(4000, 256)
    reading = []
    for seed in range(5):
        values = np.random.default_rng(seed).exponential(size=(4000, *_SHAPE))
        graph = dependence_graph(data_from_array(values))
        own = edge_thresholds(graph)
        assert (own > normal).all()
        kurtosis_alone = edge_thresholds(dataclasses.replace(graph, skewness=None))
        assert (own > kurtosis_alone).any() and (own >= kurtosis_alone).all()
        reading.append((infer_task(graph).evidence, int((graph.weights >= kurtosis_alone).sum())))
    assert [now for now, _ in reading] == [0] * 5
    assert sum(before > 0 for _, before in reading) == 2


def test_skewed_noise_of_several_channels_shows_no_evidence() -> None:
    # Each location's skewness is its most skewed channel's (about 2 for exponential values);
    # the weight of several channels is conservative, so no pair reaches its threshold.
    for seed in range(3):
        values = np.random.default_rng(seed).exponential(size=(2000, *_SHAPE, 3))
        graph = dependence_graph(data_from_array(values, _SHAPE))
        assert graph.skewness is not None
        assert 1.5 < float(np.median(graph.skewness)) < 2.5
        assert infer_task(graph).evidence == 0


def test_a_skewed_pairs_threshold_is_the_cornish_fisher_one() -> None:
    # Each pair's skewness product and excess kurtosis product, at 4,000 samples (past the
    # switch): Gaussian and uniform locations' figures keep the normal threshold exactly, an
    # exponential pair's (4 and 36) is above it, by the 1 / samples Edgeworth terms.
    samples, locations = 4000.0, 256
    kurtosis = np.array([9.0, 1.8 * 1.8, 81.0, 81.0])
    skewness, excess = np.array([0.0, 0.0, 4.0, -4.0]), np.array([0.0, 1.44, 36.0, 36.0])
    thresholds = pair_thresholds(
        samples, locations, kurtosis, np.full(4, 30.0), shape=(skewness, excess)
    )
    normal = independence_threshold(samples, locations)
    z = normal * math.sqrt(samples)
    shift = (30.0 * (z**3 - 3 * z) / 24 + 16.0 * (z**5 - 10 * z**3 + 15 * z) / 72) / samples
    assert thresholds[:2].tolist() == [normal, normal]
    np.testing.assert_allclose(thresholds[2:], (z + shift) / math.sqrt(samples), rtol=1e-12)
    assert thresholds[2] > 1.02 * normal
    # Under the switch, Bennett's form, as without the skewness.
    few = pair_thresholds(1000.0, locations, kurtosis, np.full(4, 30.0), shape=(skewness, excess))
    np.testing.assert_array_equal(
        few[2:], pair_thresholds(1000.0, 256, kurtosis, np.full(4, 30.0))[2:]
    )


def test_a_light_skewed_pair_under_the_switch_keeps_the_normal_threshold() -> None:
    # 0/1 events of probability 0.25: kurtosis 7/3 and skewness 2/sqrt(3) each, products no
    # heavier than Gaussian ones. Under the switch (40 samples: 40 / 5.44 < z^2) the expansion
    # does not hold and raised the threshold by 8%; past it (1,000 samples) it applies.
    kappa, gamma = 1 / 0.1875 - 3, 0.5 / math.sqrt(0.1875)
    kurtosis, shape = (
        np.array([kappa * kappa]),
        (np.array([gamma * gamma]), np.array([(kappa - 3) ** 2])),
    )
    for samples, raised in ((40.0, False), (1000.0, True)):
        threshold = pair_thresholds(samples, 256, kurtosis, np.array([5.0]), shape=shape)[0]
        normal = independence_threshold(samples, 256)
        assert bool(threshold > normal) == raised
        assert threshold >= normal


def test_a_heavy_pairs_threshold_is_the_root_of_bennetts_bound() -> None:
    samples, locations = 1000.0, 256
    bound = np.array([4.0, 30.0, 99.0])
    thresholds = pair_thresholds(samples, locations, np.full(3, 1e4), bound)
    level = math.log(2 * (locations * (locations - 1) // 2) / 0.05)
    u = bound * thresholds
    np.testing.assert_allclose((samples / bound**2) * ((1 + u) * np.log1p(u) - u), level)
    # Above the normal threshold even for a small bound: h(u) <= u^2 / 2.
    normal = independence_threshold(samples, locations)
    assert normal < thresholds[0] < thresholds[1] < thresholds[2]


def test_the_tails_cross_the_wire_and_are_checked() -> None:
    graph = dependence_graph(data_from_array(_events(0.05, samples=200)[:, :4, :4]))
    message = wire.dependence_graph_to_proto(graph)
    back = wire.dependence_graph_from_proto(message, 1 << 14)
    assert back.kurtosis is not None and graph.kurtosis is not None
    np.testing.assert_array_equal(back.kurtosis, graph.kurtosis)
    np.testing.assert_array_equal(back.largest_deviation, graph.largest_deviation)
    np.testing.assert_array_equal(back.skewness, graph.skewness)
    assert_fields_refused(
        message,
        [
            ("kurtosis", [3.0] * 15, "graph.kurtosis: 15 values: one per location (16) is needed"),
            ("kurtosis", [3.0] * 3 + [0.5] + [3.0] * 12, "graph.kurtosis[3]: 0.5: must be finite"),
            (
                "largest_deviation",
                [2.0] * 15 + [math.inf],
                "graph.largest_deviation[15]: inf: must",
            ),
            ("largest_deviation", [], "graph.kurtosis: must be given with largest_deviation"),
            # Beyond what standardized values of 200 samples reach: 1e50 made the thresholds NaN.
            (
                "largest_deviation",
                [2.0] * 15 + [1e50],
                "graph.largest_deviation[15]: 1e+50: must be",
            ),
            (
                "largest_deviation",
                [2.0] * 3 + [14.2] + [2.0] * 12,
                "graph.largest_deviation[3]: 14.2",
            ),
            ("kurtosis", [3.0] * 15 + [200.0], "graph.kurtosis[15]: 200.0: must be at most 199,"),
            ("skewness", [0.0] * 15, "graph.skewness: 15 values: one per location (16) is needed"),
            ("skewness", [0.0] * 15 + [math.nan], "graph.skewness[15]: nan: must be finite"),
            # Pearson's bound, gamma^2 <= kappa - 1: so skewed values have a kurtosis of 26 or more.
            (
                "skewness",
                [0.0] * 3 + [-5.0] + [0.0] * 12,
                "graph.skewness[3]: -5.0: must be at most",
            ),
        ],
    )
    absent = type(message)()
    absent.CopyFrom(message)
    del absent.skewness[:]
    # A graph of a client before the skewness: the kurtosis alone sets the thresholds.
    older = wire.dependence_graph_from_proto(absent, 1 << 14)
    assert older.skewness is None and older.kurtosis is not None
    del absent.kurtosis[:], absent.largest_deviation[:]
    assert wire.dependence_graph_from_proto(absent, 1 << 14).kurtosis is None
    alone = type(message)()
    alone.CopyFrom(message)
    del alone.kurtosis[:], alone.largest_deviation[:]
    with pytest.raises(InvalidRequestError, match="must be given with kurtosis") as error:
        wire.dependence_graph_from_proto(alone, 1 << 14)
    assert [v.field for v in error.value.violations] == ["graph.skewness"]


def test_the_most_a_standardized_value_reaches_passes_the_checks_with_finite_thresholds() -> None:
    # One of 200 samples apart from the rest: |z| = sqrt(199) and kurtosis about 197, the
    # bounds the wire checks; Bennett's threshold of so heavy a pair is finite (above 1).
    values = np.zeros((200, 4, 4))
    values[0] = 1.0
    values[1:, 0, 0] = np.random.default_rng(2).standard_normal(199)
    graph = dependence_graph(data_from_array(values))
    assert graph.largest_deviation is not None and graph.kurtosis is not None
    assert graph.largest_deviation[1] == pytest.approx(math.sqrt(199))
    back = wire.dependence_graph_from_proto(wire.dependence_graph_to_proto(graph), 1 << 14)
    np.testing.assert_array_equal(back.largest_deviation, graph.largest_deviation)
    assert np.isfinite(edge_thresholds(back)).all()
    huge = pair_thresholds(1000, 256, np.array([1e4]), np.array([1e100]))
    assert np.isfinite(huge).all() and huge[0] > 1.0


def test_no_task_on_heavy_tailed_noise_says_what_its_pairs_need(tmp_path: Path) -> None:
    # Cauchy noise: the largest pair, 0.987, is under its own threshold (Bennett's), not the
    # normal one the report gives. "largest 0.987, evidence from 0.481" read as a contradiction.
    data = tmp_path / "cauchy.npy"
    np.save(data, np.random.default_rng(0).standard_cauchy((100, *_SHAPE)))
    graph = dependence_graph(data_from_array(np.load(data)))
    own = edge_thresholds(graph)
    largest = int(np.argmax(graph.weights))
    assert graph.weights[largest] < own[largest]
    run = advisor("infer", data)
    assert run.status == 2
    normal = independence_threshold(100, 256)
    heavy = own[own > normal]
    assert (
        f"(largest {graph.weights[largest]:.3f}, which needs {own[largest]:.3f}; evidence from "
        f"{normal:.3f}, and from {heavy.min():.3f} to {heavy.max():.3f} for {heavy.size:,} of "
        "the graph's pairs (sparse, heavy-tailed or skewed)): no task to write"
    ) in run.stderr
    # Every pair needs more than 1: "0 of the pairs at dependence 0.481 or more" read as if some
    # could have been evidence.
    assert heavy.size == graph.weights.size and heavy.min() > 1.0
    assert (
        f"evidence: none can be: each of the graph's {heavy.size:,} pairs is of sparse, "
        f"heavy-tailed or skewed locations and needs more than 1, the largest dependence "
        f"({heavy.min():.3f} "
        f"to {heavy.max():.3f}), in 100 samples surrogate entanglement"
    ) in " ".join(run.stderr.split())  # as read, unwrapped: the line ends there


def test_sparse_noise_reports_its_pairs_thresholds_among_the_graphs_pairs(tmp_path: Path) -> None:
    # 1,000 samples of 0/1 events of p = 0.05: every pair's threshold is of Bennett's form and
    # under 1, so the count of pairs reaching theirs stands, the range counted among the graph's.
    data = tmp_path / "events.npy"
    np.save(data, _events(0.05))
    own = edge_thresholds(dependence_graph(data_from_array(np.load(data))))
    run = advisor("infer", data)
    assert run.status == 2
    normal = independence_threshold(1000, 256)
    assert (
        f"evidence: 0 of the pairs at dependence {normal:.3f} or more ({own.min():.3f} to "
        f"{own.max():.3f} for {own.size:,} of the graph's pairs (sparse, heavy-tailed or skewed), "
    ) in " ".join(run.stderr.split())  # as read, unwrapped


def test_one_heavy_pair_s_threshold_is_one_figure_not_a_range(tmp_path: Path) -> None:
    # Two dependent locations sharing one outlier: the grid's only pair takes Bennett's threshold,
    # and the evidence line gave it as a range, "(0.534 to 0.534 for 1 of the graph's pairs".
    rng = np.random.default_rng(0)
    values = rng.standard_normal((200, 2))
    values[:, 1] = values[:, 0] + 0.3 * rng.standard_normal(200)
    values[0] = 12.0
    data = tmp_path / "outlier.npy"
    np.save(data, values)
    (own,) = edge_thresholds(dependence_graph(data_from_array(values)))
    assert own > independence_threshold(200, 2)
    run = advisor("infer", data)
    assert run.status == 2  # two locations: no partition to keep
    assert (
        f"evidence: 1 of the pairs at dependence {independence_threshold(200, 2):.3f} or more "
        f"({own:.3f} for 1 of the graph's pairs (sparse, heavy-tailed or skewed), "
    ) in " ".join(run.stderr.split())  # as read, unwrapped


def test_skewed_noise_reports_its_pairs_as_skewed(tmp_path: Path) -> None:
    # 4,000 samples of exponential values: past Bennett's switch, the pairs' higher thresholds
    # are the Cornish-Fisher ones of skewed values, which the report named "sparse or
    # heavy-tailed, whose correlation a few large values carry" (neither: no value is rare).
    data = tmp_path / "exponential.npy"
    np.save(data, np.random.default_rng(1).exponential(size=(4000, *_SHAPE)))
    own = edge_thresholds(dependence_graph(data_from_array(np.load(data))))
    run = advisor("infer", data)
    assert run.status == 2
    normal = independence_threshold(4000, 256)
    assert (own > normal).all()
    assert (
        f"evidence: 0 of the pairs at dependence {normal:.3f} or more ({own.min():.3f} to "
        f"{own.max():.3f} for {own.size:,} of the graph's pairs (sparse, heavy-tailed or "
        "skewed), whose values make larger chance correlations), "
    ) in " ".join(run.stderr.split())  # as read, unwrapped


def test_the_largest_pair_and_what_it_needs_print_apart(tmp_path: Path) -> None:
    # The same exponential noise: its largest pair, 0.0778, needs 0.0782 (Cornish-Fisher's), and
    # at three decimals "largest 0.078, which needs 0.078" read as a pair at its threshold.
    data = tmp_path / "exponential.npy"
    np.save(data, np.random.default_rng(1).exponential(size=(4000, *_SHAPE)))
    graph = dependence_graph(data_from_array(np.load(data)))
    edge = int(np.argmax(graph.weights))
    weight, need = graph.weights[edge], edge_thresholds(graph)[edge]
    assert f"{weight:.3f}" == f"{need:.3f}" and f"{weight:.4f}" != f"{need:.4f}"
    run = advisor("infer", data)
    assert run.status == 2
    assert f"(largest {weight:.4f}, which needs {need:.4f}; evidence from 0.076, " in run.stderr
