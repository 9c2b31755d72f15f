"""The trained-outcome benchmark's figures against brute-force pair counting (bench/outcomes).

Every expected value here is computed pair by pair from the definitions, independently of
scipy and numpy, so the tests catch a figure that follows an implementation's quirk instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import pytest

pytest.importorskip("scipy")
pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from bench.outcomes import report
from bench.outcomes.metrics import PREDICTORS, seed_ceiling, split_concordance, task_metrics


def _order(first: float | Fraction, second: float | Fraction) -> int:
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


def _tau_b(predictor: Sequence[float | Fraction], accuracy: Sequence[float | Fraction]) -> float:
    """Kendall's tau-b by counting pairs: (C - D) / sqrt((C + D + ties in x) (C + D + in y))."""
    concordant = discordant = only_x = only_y = 0
    for i in range(len(predictor)):
        for j in range(i + 1, len(predictor)):
            x, y = _order(predictor[i], predictor[j]), _order(accuracy[i], accuracy[j])
            concordant += x * y > 0
            discordant += x * y < 0
            only_x += x == 0 and y != 0
            only_y += y == 0 and x != 0
    ordered = concordant + discordant
    return (concordant - discordant) / math.sqrt((ordered + only_x) * (ordered + only_y))


def _decimal(accuracy: float) -> Fraction:
    """The accuracy as the decimal it is written as (a count over the test set's size)."""
    return Fraction(str(accuracy))


# Three members with one mean accuracy (0.2): the same runs in two seed orders, and other runs
# of the same total. In floats, summed in order, the three means come out unequal.
_SAME_MEAN = [(0.1, 0.2, 0.3), (0.3, 0.2, 0.1), (0.15, 0.2, 0.25)]


def test_members_with_one_mean_accuracy_tie_in_the_task_figures() -> None:
    runs = [*_SAME_MEAN, (0.5, 0.5, 0.5)]
    sources = ["advisor #1", "random", "random", "baseline-doubling"]
    found = [
        report.Row(
            {"source": source, "score": k, "parameters": k, "synflow": k, "naswot": k},
            member,
            0.0,
        )
        for k, (source, member) in enumerate(zip(sources, runs, strict=True))
    ]
    assert len({row.mean for row in found[:3]}) == 1
    exact = [sum(map(_decimal, member), Fraction()) / 3 for member in runs]
    figures = report.metrics_of(found)
    # Three tied pairs: tau-b = 3 / sqrt(6 * 3), not the +/-1 pairs a float's last bit decides.
    assert figures.correlations["score"].kendall_tau == pytest.approx(_tau_b(range(4), exact))
    assert figures.correlations["score"].kendall_tau == pytest.approx(3 / math.sqrt(18))


def test_seed_ceiling_ties_members_whose_other_runs_have_one_mean() -> None:
    # Seed 0 ranks the members 1, 2, 3, 4; the other seeds' means tie the first three.
    per_seed = [
        (0.1, *_SAME_MEAN[0]),
        (0.15, *_SAME_MEAN[1]),
        (0.18, *_SAME_MEAN[2]),
        (0.2, 0.5, 0.5, 0.5),
    ]
    expected = []
    for seed in range(4):
        one = [member[seed] for member in per_seed]
        others = [
            sum(map(_decimal, member[:seed] + member[seed + 1 :]), Fraction()) / 3
            for member in per_seed
        ]
        expected.append(_tau_b(one, others))
    assert seed_ceiling(per_seed) == pytest.approx(sum(expected) / 4)


def _paired_arm(with_data: Sequence[float]) -> report.Arm:
    """An arm of one task whose members score 0, 1, 2, 3 by the description, ``with_data``
    with the data."""
    runs = [(0.1, 0.2), (0.3, 0.2), (0.4, 0.5), (0.6, 0.7)]
    found = [
        report.Row(
            {"source": "random", "score_description": float(k), "score_with_data": score},
            member,
            0.0,
        )
        for k, (score, member) in enumerate(zip(with_data, runs, strict=True))
    ]
    return report.Arm({}, {"task": found}, {})


def test_the_paired_scores_tie_where_the_data_changes_no_member_s_score() -> None:
    # Ten held-out blocks read "the score with the data has the higher mean tau on 0.0% of
    # them ... and on 0.0%": their two scores were equal on every member, so every resample tied.
    same = _paired_arm([0.0, 1.0, 2.0, 3.0])
    text = report.paired_markdown(same, same, replicates=20)
    assert "their mean taus tie on all 20 resamples" in text
    assert "higher mean tau" not in text


def test_the_paired_share_says_on_how_many_resamples_the_two_scores_tie() -> None:
    same, reversed_ = _paired_arm([0.0, 1.0, 2.0, 3.0]), _paired_arm([3.0, 2.0, 1.0, 0.0])
    text = report.paired_markdown(same, reversed_, replicates=20)
    assert "higher mean tau on 0.0% of them (the same on 100.0%) on the description's pools" in text


def test_a_gain_of_exactly_three_points_counts_as_three_points() -> None:
    # 50.01% against 47.01% (counts of 10,000 test predictions): the #1 is exactly 3 points
    # over the standard CNN, though 0.5001 - 0.4701 is 0.029999999999999971 in floats.
    sources = ["advisor #1", "baseline-doubling"]
    predictors: dict[str, Sequence[float]] = {name: [2.0, 1.0] for name in PREDICTORS}
    figures = task_metrics(sources, predictors, [0.5001, 0.4701], [0.0, 0.0], [[0.5001], [0.4701]])
    assert figures.advisor_vs_baseline == 0.03
    assert report.metrics_markdown({"task": figures}).endswith("| ≥ +3 on 1 of 1 |")
    # The same holds for the regret against one std: a gap of exactly the std is within it.
    close = task_metrics(
        ["random", *sources], {"score": [0.0, 2.0, 1.0]}, [0.5101, 0.5001, 0.4], [0.01] * 3, []
    )
    assert close.regret == 0.01 and close.within_one_std


@pytest.mark.parametrize(
    ("gap", "sign", "written"),
    [(0.0085, "", "0.9"), (0.0095, "", "1.0"), (0.0125, "", "1.3"), (-0.0125, "+", "-1.3")],
)
def test_a_gap_of_an_exact_half_tenth_rounds_away_from_zero(
    gap: float, sign: str, written: str
) -> None:
    # The exact gaps (whole hundredths of a point) went either way as floats: 0.95 read 0.9 and
    # 1.25 read 1.2, where 0.85 read 0.9 and 1.45 read 1.5.
    assert report._gap(gap, sign) == written


def test_a_predictor_that_ranks_nothing_has_no_figure_within_or_between() -> None:
    # NASWOT's -inf on every member (digits-global) read +0.00 within and between, averaged in.
    split = split_concordance([-math.inf] * 4, [0.1, 0.2, 0.3, 0.4], ["a", "a", "b", "b"])
    assert math.isnan(split.within) and math.isnan(split.between)
    assert (split.within_pairs, split.between_pairs) == (2, 4)
