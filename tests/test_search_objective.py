"""The objective: capped, normalised per-correlation ranks combined by weight or by the minimum."""

from __future__ import annotations

import numpy as np
import pytest

from advisor.search.objective import Objective, default_targets


def test_default_targets_are_the_dimension_bound_at_the_largest_choice() -> None:
    np.testing.assert_allclose(default_targets([3, 10], 512), [27.0, 90.0])
    np.testing.assert_allclose(default_targets([3, 10], 512, 40.0), [27.0, 40.0])


def test_weighted_scores_average_the_fractions_of_the_targets() -> None:
    objective = Objective.create([10.0, 20.0], [1.0, 3.0], "weighted")
    keys = objective.keys([[5.0, 20.0], [30.0, 0.0]])
    np.testing.assert_allclose(keys[:, 0], [0.25 * 0.5 + 0.75 * 1.0, 0.25 * 1.0])
    assert keys.shape == (2, 1)


def test_rank_beyond_the_target_buys_nothing() -> None:
    objective = Objective.create([10.0], [1.0], "weighted")
    assert objective.keys([[10.0]])[0, 0] == objective.keys([[1e6]])[0, 0] == 1.0


def test_maximin_ranks_by_the_worst_correlation_then_by_the_mean() -> None:
    objective = Objective.create([10.0, 10.0], [1.0, 1.0], "maximin")
    keys = objective.keys([[5.0, 10.0], [6.0, 6.0], [5.0, 5.0]])
    np.testing.assert_allclose(keys, [[0.5, 0.75], [0.6, 0.6], [0.5, 0.5]])
    order = sorted(range(3), key=lambda i: tuple(-keys[i]))
    assert order == [1, 0, 2]


def test_the_binding_correlation_is_furthest_from_its_target() -> None:
    objective = Objective.create([10.0, 40.0, 8.0], [1.0, 1.0, 1.0], "weighted")
    assert objective.binding([9.0, 20.0, 8.0]) == 1


@pytest.mark.parametrize(
    ("targets", "weights"), [([0.0], [1.0]), ([1.0], [0.0]), ([1.0, 2.0], [1.0]), ([], [])]
)
def test_bad_objectives_are_refused(targets: list[float], weights: list[float]) -> None:
    with pytest.raises(ValueError):
        Objective.create(targets, weights, "weighted")
