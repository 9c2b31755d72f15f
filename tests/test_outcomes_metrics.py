"""The trained-outcome benchmark's figures against brute-force pair counting (bench/outcomes).

Every expected value here is computed pair by pair from the definitions, independently of
scipy and numpy, so the tests catch a figure that follows an implementation's quirk instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

pytest.importorskip("scipy")

from bench.outcomes.metrics import split_concordance


def _order(first: float, second: float) -> int:
    """-1, 0 or +1: how ``first`` compares with ``second`` (equal values, infinities too, tie)."""
    return (first > second) - (first < second)


def _tau_a(
    predictor: Sequence[float],
    accuracy: Sequence[float],
    pairs: Sequence[tuple[int, int]],
) -> float:
    """(concordant - discordant) / pairs over ``pairs``, a pair tied in either value neither."""
    total = sum(
        _order(predictor[i], predictor[j]) * _order(accuracy[i], accuracy[j]) for i, j in pairs
    )
    return total / len(pairs)


def test_split_concordance_treats_equal_infinite_predictor_values_as_a_tie() -> None:
    # NASWOT is -inf for every net whose kernel is singular (two on digits-permuted, of two
    # geometries): such nets tie, and every other pair still counts.
    naswot = [-math.inf, 1.0, 2.0, -math.inf, 5.0, 3.0]
    accuracy = [0.1, 0.2, 0.5, 0.3, 0.4, 0.6]
    groups = ["a", "a", "a", "b", "b", "b"]
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    within = [(i, j) for i, j in pairs if groups[i] == groups[j]]
    between = [(i, j) for i, j in pairs if groups[i] != groups[j]]
    split = split_concordance(naswot, accuracy, groups)
    assert split.within == pytest.approx(_tau_a(naswot, accuracy, within))
    assert split.between == pytest.approx(_tau_a(naswot, accuracy, between))
    assert split.between == pytest.approx(4 / 9)
    # A value that is not a number is no ranking: the figures over its pairs say so.
    assert math.isnan(
        split_concordance([math.nan, 1.0, 2.0], [0.1, 0.2, 0.3], ["a", "a", "b"]).between
    )
