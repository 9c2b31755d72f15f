"""Copies of a sample count once in the evidence; ties that independent draws make do not.

Sparse data draws identical samples on its own (1,000 samples of independent 0/1 events of
probability 0.01 on a 16x16 grid: 863 distinct, some 80 of them all zero). Counted as copies
(Kish's effective size) they weighed as 112 samples, Bennett's threshold rose above 1 and a
planted sparse pair was never found. The ties are now weighed by their leverage
(advisor.infer.dependence._Repeats): checked on sparse noise (near every sample counts), on
copies of Gaussian and of sparse noise (each counts once: no task) and on a planted sparse pair
(found), and on one sample saved as often as all the others together (its copies count, though
they pull the whole sample's mean onto it).
"""

from __future__ import annotations

import numpy as np
import pytest

import advisor.infer.data as data_module
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


def _one_saved_as_often_as_the_rest(draws: np.ndarray) -> np.ndarray:
    """``draws`` with its first sample saved once for each of the others, the copies first."""
    return np.concatenate([np.repeat(draws[:1], len(draws) - 1, axis=0), draws[1:]])


def test_one_sample_saved_as_often_as_all_the_others_gives_no_evidence() -> None:
    # 300 Gaussian draws, the first saved 299 times more: the copies pulled the whole sample's
    # mean onto the copied sample, its leverage fell to near 0 and the 599 samples weighed as 92
    # (evidence, and a task, in 10 of 10 seeds; Kish's size gave 4). Its ties are copies.
    draws = np.random.default_rng(5).standard_normal((300, *_SHAPE))
    graph = dependence_graph(data_from_array(_one_saved_as_often_as_the_rest(draws)))
    assert graph.distinct_samples == 300
    assert graph.independent_samples < 10
    inferred = infer_task(graph)
    assert (inferred.evidence, inferred.task) == (0, None)


def _reference_effective_samples(values: np.ndarray) -> float:
    """``n / (1 + 2 T / A)`` in numpy, the leverage standardized over the distinct samples."""
    flat = values.reshape(len(values), -1)
    _, first, inverse, counts = np.unique(
        flat, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    distinct = flat[np.sort(first)]
    z = (flat - distinct.mean(axis=0)) / distinct.std(axis=0)
    squares = z**2
    features = squares.shape[1]
    leverage = (squares.sum(axis=1) ** 2 - (squares**2).sum(axis=1)) / (features * (features - 1))
    tied = float(((counts[inverse.ravel()] - 1) * leverage).sum()) / 2.0
    return len(flat) / (1.0 + 2.0 * tied / float(leverage.sum()))


def test_repeats_over_several_chunks_weigh_as_numpy_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunks of 9 samples: the copies of one sample span them, others repeat within one and
    # across; the distinct samples' mean and spread take a pass of their own, reported.
    monkeypatch.setattr(data_module, "_CHUNK_BYTES", 8 * 12 * 9)
    rng = np.random.default_rng(6)
    draws = rng.standard_normal((40, 12))
    values = np.concatenate([_one_saved_as_often_as_the_rest(draws), draws[5:9], draws[5:7]])
    values = values[rng.permutation(len(values))]
    seen: list[tuple[int, int]] = []
    graph = dependence_graph(data_from_array(values), progress=lambda *r: seen.append(r))
    assert graph.distinct_samples == 40
    assert graph.effective_samples == pytest.approx(_reference_effective_samples(values), rel=1e-6)
    # The progress never goes back when the first pass finds repeats: a third pass shares the
    # second half of the work with the second (the total was 2 x samples, then 3 x samples).
    samples = len(values)
    assert {total for _, total in seen} == {2 * samples}
    assert seen[-1] == (2 * samples, 2 * samples)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_planted_pair_of_sparse_events_is_found() -> None:
    # Location (12, 12) copies (0, 0)'s event in 80% of the samples (correlation 0.8) in
    # independent events of probability 0.01: found, with every other pair under its threshold,
    # in 78 of seeds 0-79 (at 0.5, in 10 of 20: the test rested on its seed; with Kish's size,
    # whose 110-190 samples put the threshold above 1, in none).
    rng = np.random.default_rng(3)
    values = (rng.random((1000, 256)) < 0.01).astype(np.float64)
    copied = rng.random(1000) < 0.8
    values[:, 12 * 16 + 12] = np.where(copied, values[:, 0], values[:, 12 * 16 + 12])
    graph = dependence_graph(data_from_array(values.reshape(1000, *_SHAPE)), allow_constant=True)
    evidence = graph.weights >= edge_thresholds(graph)
    pairs = list(zip(graph.rows[evidence].tolist(), graph.cols[evidence].tolist(), strict=True))
    assert pairs == [(0, 12 * 16 + 12)]
