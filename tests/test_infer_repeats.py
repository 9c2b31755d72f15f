"""Copies of a sample count once in the evidence; ties that independent draws make do not.

Sparse data draws identical samples on its own (1,000 samples of independent 0/1 events of
probability 0.01 on a 16x16 grid: 863 distinct, some 80 of them all zero). Counted as copies
(Kish's effective size) they weighed as 112 samples, Bennett's threshold rose above 1 and a
planted sparse pair was never found. The ties are now weighed by their leverage
(advisor.infer.dependence._Repeats): checked on sparse noise (near every sample counts), on
copies of Gaussian and of sparse noise (each counts once: no task) and on a planted sparse pair
(found).
"""

from __future__ import annotations

import numpy as np
import pytest

from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.task import edge_thresholds, infer_task

_SHAPE = (16, 16)


def _events(probability: float, samples: int, seed: int) -> np.ndarray:
    """0/1 events of ``probability``, independent at every location of a 16x16 grid."""
    rng = np.random.default_rng(seed)
    return (rng.random((samples, *_SHAPE)) < probability).astype(np.float64)


def test_ties_that_sparse_noise_draws_on_its_own_are_no_copies() -> None:
    graph = dependence_graph(data_from_array(_events(0.01, 1000, seed=0)), allow_constant=True)
    assert graph.distinct_samples is not None and graph.distinct_samples < 900
    assert graph.independent_samples >= 0.95 * 1000  # Kish's size was 112
    assert infer_task(graph).task is None


@pytest.mark.parametrize(
    "draws",
    [
        np.random.default_rng(1).standard_normal((300, *_SHAPE)),
        _events(0.05, 300, seed=1),
    ],
    ids=["Gaussian", "0/1 p=0.05"],
)
def test_copies_count_once_and_noise_saved_four_times_gives_no_task(draws: np.ndarray) -> None:
    graph = dependence_graph(data_from_array(np.repeat(draws, 4, axis=0)), allow_constant=True)
    assert graph.distinct_samples == 300
    assert graph.independent_samples == pytest.approx(300, rel=0.05)
    inferred = infer_task(graph)
    assert (inferred.evidence, inferred.task) == (0, None)


def test_a_planted_pair_of_sparse_events_is_found() -> None:
    # Location (12, 12) copies (0, 0)'s event in half the samples (correlation 0.5) in
    # independent events of probability 0.01: found, with every other pair under its threshold
    # (in half the seeds at this strength; with Kish's size, in none).
    rng = np.random.default_rng(3)
    values = (rng.random((1000, 256)) < 0.01).astype(np.float64)
    copied = rng.random(1000) < 0.5
    values[:, 12 * 16 + 12] = np.where(copied, values[:, 0], values[:, 12 * 16 + 12])
    graph = dependence_graph(data_from_array(values.reshape(1000, *_SHAPE)), allow_constant=True)
    evidence = graph.weights >= edge_thresholds(graph)
    pairs = list(zip(graph.rows[evidence].tolist(), graph.cols[evidence].tolist(), strict=True))
    assert pairs == [(0, 12 * 16 + 12)]
