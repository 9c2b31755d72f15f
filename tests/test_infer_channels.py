"""Pairs of locations of several channels need a threshold that grows with their channels.

The weight of ``C`` channels is ``sqrt(RV)``; under independence ``samples w^2`` has the mean
``d_i d_j``, up to ``C``, which passes the one-channel ``z^2`` from some 16 independent channels
on (advisor.infer.significance, "Several channels"). Checked: the chi-square quantile against
closed forms and known values, the threshold (one channel's to the bit; rising with the
effective channels), each location's effective channels as measured, the wire (carried, checked
naming the field, refused when missing), and 16-channel noise (no evidence, no task, where the
one-channel threshold read 86 pairs and wrote one) beside a planted mirror (still found).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from advisor.errors import InvalidRequestError
from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.significance import (
    FAMILY_ALPHA,
    chi_square_quantile,
    independence_threshold,
    pair_thresholds,
)
from advisor.infer.task import edge_thresholds, infer_task
from advisor.protocol import wire
from tests.support.graph_fields import assert_fields_refused
from tests.test_cli import advisor


@pytest.mark.parametrize("level", [0.9, 0.5, 0.05, 1e-4, 1e-9, 1e-15])
def test_the_chi_square_quantile_meets_its_closed_forms(level: float) -> None:
    # Two degrees of freedom: the exponential of mean 2; one: the square of a normal.
    two, one = chi_square_quantile(level, [2.0, 1.0])
    assert two == pytest.approx(-2.0 * math.log(level), rel=1e-12)
    assert one == pytest.approx(NormalDist().inv_cdf(level / 2.0) ** 2, rel=1e-12)


def test_the_chi_square_quantile_meets_known_values() -> None:
    # Abramowitz and Stegun, table 26.8 (upper quantiles of 5%, 1% and 0.1%).
    known = {(0.05, 10.0): 18.307038, (0.01, 100.0): 135.806723, (0.001, 3.0): 16.266236}
    for (level, degrees), value in known.items():
        assert chi_square_quantile(level, [degrees])[0] == pytest.approx(value, abs=1e-6)
    # Rising with the degrees of freedom, whole or not, and falling with the level.
    dof = np.array([1.0, 1.5, 2.0, 37.3, 1000.0, 65536.0])
    assert (np.diff(chi_square_quantile(1e-6, dof)) > 0).all()
    assert (chi_square_quantile(1e-7, dof) > chi_square_quantile(1e-6, dof)).all()
    with pytest.raises(ValueError, match="level"):
        chi_square_quantile(0.0, [2.0])
    with pytest.raises(ValueError, match="degrees of freedom"):
        chi_square_quantile(0.05, [0.0])


def test_one_channel_keeps_its_threshold_to_the_bit_and_more_channels_raise_it() -> None:
    samples, locations = 300.0, 64
    kurtosis = np.array([9.0, 9.0, 9.0, 9.0, 9.0, 1e4])  # the last of Bennett's form
    bound = np.array([16.0, 16.0, 16.0, 16.0, 16.0, 99.0])
    alone = pair_thresholds(samples, locations, kurtosis, bound)
    # Each pair's products of effective and tail channels: one channel; eight, twelve and 64
    # independent ones; 16 effective channels of unequal weights (tail 10); 16 independent.
    effective = np.array([1.0, 8.0**2, 12.0**2, 64.0**2, 16.0**2, 16.0**2])
    tail = np.array([1.0, 8.0**2, 12.0**2, 64.0**2, 100.0, 16.0**2])
    raised = pair_thresholds(samples, locations, kurtosis, bound, spread=(effective, tail))
    ones = np.ones(6)
    same = pair_thresholds(samples, locations, kurtosis, bound, spread=(ones, ones))
    assert same.tobytes() == alone.tobytes() and raised[0] == alone[0]
    # Eight independent channels stay at the one-channel floor; more rise with their count, and
    # unequal weights (fewer tail channels) rise further.
    assert raised[1] == alone[1] < raised[2] < raised[3]
    # Three cumulants fitted: samples w^2 as chi2_nu / sqrt(nu) + sqrt(e) - sqrt(nu), at alpha
    # over the grid's pairs (nu = e: Satterthwaite's chi2_e / sqrt(e)).
    pairs = locations * (locations - 1) // 2
    quantile = chi_square_quantile(FAMILY_ALPHA / pairs, tail[2:])
    fitted = quantile / np.sqrt(tail[2:]) + np.sqrt(effective[2:]) - np.sqrt(tail[2:])
    np.testing.assert_allclose(raised[2:5], np.sqrt(fitted[:3] / samples), rtol=1e-5)
    assert raised[4] > np.sqrt(fitted[3] / samples)  # above 16 independent channels'
    # A heavy pair's threshold (Bennett's) rises by the same factor.
    normal = independence_threshold(samples, locations)
    assert raised[5] / alone[5] == pytest.approx(np.sqrt(fitted[3] / samples) / normal, rel=1e-5)


@pytest.mark.parametrize("sketch", [False, True])
def test_each_location_measures_its_effective_channels(sketch: bool) -> None:
    rng = np.random.default_rng(4)
    values = rng.standard_normal((400, 6, 4))
    values[:, 1] = values[:, 1, :1]  # four copies of one channel: 1
    values[:, 2, 3] = 7.0  # a constant channel: the other three's
    values[:, 5] = 2.0  # a constant location: 0
    graph = dependence_graph(
        data_from_array(values, (6,)), allow_constant=True, dense_features=8 if sketch else 8192
    )
    assert graph.estimate == ("sketch" if sketch else "exact")
    assert graph.effective_channels is not None
    z = (values - values.mean(axis=0)) / np.where(values.std(axis=0) > 0, values.std(axis=0), 1)
    correlation = np.einsum("slc,sld->lcd", z, z) / len(z)
    squares = (correlation**2).sum(axis=(1, 2))
    expected = np.where(squares > 0, np.trace(correlation, axis1=1, axis2=2) ** 2, 0.0)
    expected[squares > 0] /= squares[squares > 0]
    np.testing.assert_allclose(graph.effective_channels, expected, rtol=1e-5)
    assert graph.effective_channels[1] == pytest.approx(1.0)
    assert graph.effective_channels[2] < 3.0 and graph.effective_channels[5] == 0.0
    assert 3.5 < graph.effective_channels[0] <= 4.0  # independent: near 4


def test_one_channel_graphs_carry_no_effective_channels() -> None:
    values = np.random.default_rng(2).standard_normal((300, 8, 8))
    graph = dependence_graph(data_from_array(values))
    assert graph.effective_channels is None
    message = wire.dependence_graph_to_proto(graph)
    assert not message.effective_channels
    assert wire.dependence_graph_from_proto(message, 1 << 14).effective_channels is None
    # Sent as ones (each location of one channel), the thresholds are the same to the bit.
    ones = dataclasses.replace(graph, effective_channels=np.ones(64), tail_channels=np.ones(64))
    assert edge_thresholds(ones).tobytes() == edge_thresholds(graph).tobytes()


def _noise(channels: int, seed: int = 5) -> np.ndarray:
    """300 samples of an 8x8 grid of independent Gaussian channels."""
    return np.random.default_rng(seed).standard_normal((300, 8, 8, channels))


def test_the_effective_channels_cross_the_wire_and_are_checked() -> None:
    graph = dependence_graph(data_from_array(_noise(3)[:, :4, :4], (4, 4)))
    message = wire.dependence_graph_to_proto(graph)
    back = wire.dependence_graph_from_proto(message, 1 << 14)
    assert back.effective_channels is not None and graph.effective_channels is not None
    np.testing.assert_array_equal(back.effective_channels, graph.effective_channels)
    effective = graph.effective_channels.tolist()
    assert_fields_refused(
        message,
        [
            (
                "effective_channels",
                [2.0] * 15,
                "graph.effective_channels: 15 values: one per location",
            ),
            (
                "effective_channels",
                [2.0] * 3 + [0.5] + [2.0] * 12,
                "graph.effective_channels[3]: 0.5",
            ),
            (
                "effective_channels",
                [2.0] * 15 + [3.5],
                "graph.effective_channels[15]: 3.5: must be",
            ),
            (
                "effective_channels",
                [2.0] * 15 + [math.nan],
                "graph.effective_channels[15]: nan: must",
            ),
            (
                "tail_channels",
                [*effective[:15], 3.0],
                "graph.tail_channels[15]: 3.0: must be from 1 to",
            ),
            # A client that predates them: refused, not read at the one-channel threshold.
            ("effective_channels", [], "graph.effective_channels: needed with 3 channels: each"),
            ("tail_channels", [], "graph.tail_channels: needed with 3 channels: each location's"),
        ],
    )
    assert effective[15] < 3.0  # the tail's bound is the location's effective channels
    with pytest.raises(InvalidRequestError, match="effective_channels: needed with 3 channels"):
        infer_task(dataclasses.replace(graph, effective_channels=None))


def test_sixteen_channels_of_noise_give_no_evidence_and_no_task(tmp_path: Path) -> None:
    # The one-channel threshold, 0.243, read 86 pairs of such noise as evidence and wrote a task.
    noise = _noise(16)
    graph = dependence_graph(data_from_array(noise, (8, 8)))
    inferred = infer_task(graph)
    assert graph.weights.max() > inferred.threshold  # over the one-channel threshold
    assert (inferred.evidence, inferred.task) == (0, None)
    data = tmp_path / "noise.npy"
    np.save(data, noise.astype(np.float32))
    run = advisor("infer", data, "--shape", "8", "8", "--output", tmp_path / "task.yaml")
    assert run.status == 2, run.stderr
    assert not (tmp_path / "task.yaml").exists()
    assert "of the graph's pairs (several channels, or sparse, heavy-tailed or skewed)" in (
        " ".join(run.stderr.split())
    )
    # recommend --data reads the same evidence: the description alone is searched.
    task = tmp_path / "local.yaml"
    task.write_text("input: {shape: [8, 8], channels: 16}\npreset: local\n")
    joined = advisor("recommend", task, "--data", data, "--budget", "200000", "--top", "1")
    assert joined.status == 0, joined.stderr
    assert "--data: the sample shows no dependence to model" in joined.stderr


def test_a_mirror_planted_in_sixteen_channels_is_still_found() -> None:
    # Each location of the left half and its mirror image in the right, every channel at 0.5.
    values = _noise(16, seed=6)
    mirrored = values[:, :, ::-1]
    values[:, :, 4:] = 0.5 * mirrored[:, :, 4:] + math.sqrt(0.75) * values[:, :, 4:]
    inferred = infer_task(dependence_graph(data_from_array(values, (8, 8))))
    assert inferred.evidence >= 32  # the 32 planted pairs
    assert inferred.task is not None
    kept = [c.name for c in inferred.candidates if c.kept]
    assert any("mirrored" in name for name in kept), kept
