"""Practical width profiles and the practical search's objective, checked by full enumeration."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import parse_architecture
from advisor.model.budget import DEFAULT_COMPUTE_FACTOR, Budget
from advisor.model.compute import activations, grid_locations, layer_locations, multiply_adds
from advisor.model.task import load_task, parse_task
from advisor.search.coherence import task_relations
from advisor.search.objective import ARRANGEMENT_WEIGHT
from advisor.search.profiles import GROWTHS, ProfileRules, maximal, practical_profiles
from advisor.search.recommend import (
    recommend,
    sample_architectures,
    score_architecture,
)
from advisor.search.run import SearchRun
from advisor.seprank.labels import correlation_labels
from advisor.seprank.tree import log2_min_cut
from advisor.stopping import StopSignal
from tests.support.relations import walked_coherence


@given(
    depth=st.integers(1, 6),
    floor=st.sampled_from([4, 8, 12, 16]),
    low=st.sampled_from([4, 8]),
    high=st.sampled_from([8, 16, 64]),
)
def test_every_profile_keeps_the_rules(depth: int, floor: int, low: int, high: int) -> None:
    choices = (4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)
    rules = ProfileRules(choices, floor, low, high)
    profiles = practical_profiles(depth, rules)
    assert len({tuple(p) for p in profiles}) == len(profiles)
    for m, *hidden in profiles.tolist():
        assert low <= m <= high and m <= hidden[0]
        assert all(w in choices and w >= floor for w in hidden)
        ratios = {b / a for a, b in itertools.pairwise(hidden)}
        # One growth per ladder, bent only where a snapped width meets the floor or the top.
        assert len(ratios - {1.0}) <= 1 or min(hidden) == floor or max(hidden) == choices[-1]
    doubling = [[8, *(8 << level for level in range(depth))]]
    if floor <= 8 and low <= 8 <= high and (8 << (depth - 1)) <= choices[-1]:
        assert (profiles == np.array(doubling)).all(axis=1).any()
    assert set(GROWTHS) == {1.0, 2.0}
    assert (np.diff(profiles[:, 1:], axis=1) >= 0).all(axis=1).all()  # never narrower upwards


@given(
    depth=st.integers(1, 12),
    choices=st.lists(st.integers(1, 600), min_size=1, max_size=12, unique=True),
    floor=st.integers(1, 300),
    low=st.integers(1, 100),
    high=st.integers(1, 200),
)
def test_the_profiles_are_every_snapped_ladder_with_every_m_it_admits(
    depth: int, choices: list[int], floor: int, low: int, high: int
) -> None:
    # The enumeration is vectorised: it must list what the rules read one ladder at a time do.
    rules = ProfileRules(tuple(sorted(choices)), floor, low, high)
    hidden = rules.hidden()

    def snapped(ideal: float) -> int:
        below = [w for w in hidden if w <= ideal + 1e-9]
        return below[-1] if below else hidden[0]

    ladders = [
        [snapped(base * growth**level) for level in range(depth)]
        for base in hidden
        for growth in GROWTHS
    ]
    rows = {(m, *ladder) for ladder in ladders for m in rules.representations() if m <= ladder[0]}
    if not rows:
        rows = {(min(rules.representations()), *[hidden[0]] * depth)}
    profiles = practical_profiles(depth, rules)
    assert profiles.dtype == np.int64 and profiles.shape == (len(rows), depth + 1)
    assert [tuple(p) for p in profiles.tolist()] == sorted(rows)


@given(max_channels=st.integers(2, 4096))
def test_default_profile_widths_step_by_at_most_a_quarter(max_channels: int) -> None:
    budget = Budget(max_parameters=10**6, max_channels=max_channels)
    widths = budget.profile_choices()
    assert set(budget.choices()) <= set(widths)  # every power of two is kept
    assert widths[-1] == budget.choices()[-1] <= max_channels  # nothing above the largest
    assert widths == sorted(set(widths))
    for narrow, wide in itertools.pairwise(widths):
        assert wide / narrow <= 1.25 or narrow < 4  # below 4 the integers are too coarse


@given(
    choices=st.lists(st.integers(1, 80), min_size=1, max_size=5, unique=True),
    floor=st.integers(1, 64),
    low=st.integers(1, 64),
    span=st.integers(0, 64),
)
def test_the_rules_say_exactly_when_they_give_way(
    choices: list[int], floor: int, low: int, span: int
) -> None:
    rules = ProfileRules(tuple(sorted(choices)), floor, low, low + span)
    said = " ".join(rules.relaxed())
    assert ("narrowest hidden width" in said) == all(w < floor for w in rules.hidden())
    outside = all(not low <= m <= low + span for m in rules.representations())
    assert ("M's range" in said) == outside


def test_a_search_on_narrow_widths_says_the_floors_gave_way() -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    narrow = recommend(task, Budget(max_parameters=20_000, max_channels=3, top_k=1))
    best = narrow.recommendations[0]
    assert best.architecture.representation == 3  # max_channels itself is allowed
    assert "none reaches the narrowest hidden width, 8 (min_width, --min-width)" in best.rationale
    assert "none lies in M's range, 4 to 64, so M is 3" in best.rationale
    usual = recommend(task, Budget(max_parameters=20_000, top_k=1)).recommendations[0]
    assert "Of the allowed widths" not in usual.rationale


@pytest.mark.parametrize(
    ("min_width", "source"), [(None, "the 1,000 outputs"), (1000, "min_width, --min-width")]
)
def test_the_floors_note_says_what_set_the_narrowest_hidden_width(
    min_width: int | None, source: str
) -> None:
    rules = ProfileRules.for_budget(Budget(max_parameters=10**7, min_width=min_width), 1000)
    assert rules.relaxed() == [
        f"none reaches the narrowest hidden width, 1000 ({source}), so every hidden layer is "
        "512 wide, the widest allowed"
    ]


def test_explicit_channel_choices_are_the_profile_widths() -> None:
    budget = Budget(max_parameters=10**6, channel_choices=[48, 8, 16])
    assert budget.profile_choices() == [8, 16, 48]


@given(
    rows=st.lists(st.lists(st.integers(1, 4), min_size=3, max_size=3), min_size=0, max_size=30),
)
def test_maximal_keeps_exactly_the_rows_nothing_dominates(rows: list[list[int]]) -> None:
    profiles = np.array(rows, dtype=np.int64).reshape(-1, 3)

    def dominates(other: list[int], row: list[int]) -> bool:
        return other != row and all(b >= a for a, b in zip(row, other, strict=True))

    expected = [not any(dominates(other, row) for other in rows) for row in rows]
    assert maximal(profiles).tolist() == expected


def test_multiply_adds_count_every_conv_at_every_location() -> None:
    architecture = parse_architecture(
        {
            "input": {"shape": [8, 8]},
            "representation": 4,
            "representation_kernel": 3,
            "layers": [{"channels": 8, "pool": [2, 2]}, {"channels": 16, "pool": [4, 4]}],
            "outputs": 10,
        }
    )
    by_hand = 64 * 9 * 4 + 64 * 4 * 8 + 16 * 8 * 16 + 16 * 10
    assert architecture.multiply_adds == by_hand
    assert layer_locations([8, 8], [[2, 2], [4, 4]], [[2, 2], [4, 4]]) == (64, 16)
    rows = multiply_adds([[4, 8, 16], [8, 8, 16]], (64, 16), 9, 10)
    assert rows[0] == by_hand and rows[1] > rows[0]


def test_multiply_adds_count_the_locations_overlapping_windows_leave() -> None:
    # 7 steps, windows of 3 every 2: 3 of them; the top window of 3 pools those whole.
    architecture = parse_architecture(
        {
            "input": {"shape": [7]},
            "representation": 2,
            "representation_kernel": 3,
            "layers": [{"channels": 3, "pool": [3], "stride": [2]}, {"channels": 5, "pool": [3]}],
            "outputs": 4,
        }
    )
    by_hand = 7 * 3 * 2 + 7 * 2 * 3 + 3 * 3 * 5 + 5 * 4
    assert architecture.multiply_adds == by_hand
    assert layer_locations([7], [[3], [3]], [[2], [3]]) == (7, 3)
    assert layer_locations([9, 5], [[3, 1], [4, 5]], [[1, 1], [4, 5]]) == (45, 35)


def test_activations_count_each_layers_output_on_the_padded_and_overlapping_grids() -> None:
    # 7 steps padded to 9, windows of 3 every 2 (4 of them), then a window of 4.
    architecture = parse_architecture(
        {
            "input": {"shape": [7], "channels": 2},
            "representation": 2,
            "representation_kernel": 3,
            "padding": [[1, 1]],
            "layers": [{"channels": 3, "pool": [3], "stride": [2]}, {"channels": 5, "pool": [4]}],
            "outputs": 4,
        }
    )
    # The representation on 9, layer 0's conv on 9 and pooled on 4, layer 1's on 4 then 1.
    assert architecture.activations == 2 * 9 + 3 * 9 + 3 * 4 + 5 * 4 + 5 * 1 + 4
    assert grid_locations([9], [[3], [4]], [[2], [4]]) == (9, 4, 1)


def test_a_mixtures_activations_count_each_members_layers_and_the_shared_ones_once() -> None:
    members = [
        {"geometry": "mirror", "channels": [3, 2]},
        {"geometry": "interleaved", "channels": [5, 2]},
    ]
    architecture = parse_architecture(
        {
            "input": {"shape": [8, 8]},
            "representation": 4,
            "layers": [{"channels": 6, "pool": [2, 2]}, {"channels": 2, "pool": [4, 4]}],
            "outputs": 10,
            "mixture": {"members": members},
        }
    )
    hidden = sum(r0 * (64 + 16) + r1 * (16 + 1) for r0, r1 in [(6, 2), (3, 2), (5, 2)])
    assert architecture.activations == 4 * 64 + hidden + 10
    member_rows = [[[4, 6, 2]], [[4, 3, 2]], [[4, 5, 2]]]
    assert activations(member_rows, (64, 16, 1), 10).tolist() == [architecture.activations]


def test_activations_count_a_batch_of_ladders_as_each_architecture_does() -> None:
    # The search bounds the activations of a tree's ladders at once: row by row, the figures of
    # the architectures they build, trees as (P, L + 1) rows and mixtures as (K, P, L + 1).
    rows = [[2, 3, 5], [4, 8, 8], [6, 7, 1]]
    trees = [
        parse_architecture(
            {
                "input": {"shape": [7], "channels": 2},
                "representation": representation,
                "representation_kernel": 3,
                "padding": [[1, 1]],
                "layers": [
                    {"channels": first, "pool": [3], "stride": [2]},
                    {"channels": second, "pool": [4]},
                ],
                "outputs": 4,
            }
        ).activations
        for representation, first, second in rows
    ]
    counts = activations(rows, (9, 4, 1), 4)
    assert counts.dtype == np.int64
    assert counts.tolist() == trees
    paired = activations([rows, rows], (9, 4, 1), 4)
    # Two equal members: each one's hidden layers, the representation and logits once.
    shared = [row[0] * 9 + 4 for row in rows]
    assert paired.tolist() == [2 * tree - once for tree, once in zip(trees, shared, strict=True)]


def test_multiply_adds_are_int64_unless_asked_exact() -> None:
    # 2^31 channels into 2^31 on 8 locations: 2^65 for that conv, past int64, which wraps.
    widths, locations = [[2**31, 2**31]], (8,)
    by_hand = 8 * 2**31 * 2**31 + 8 * 1 * 2**31 + 2**31 * 1
    exact = multiply_adds(widths, locations, 1, 1, exact=True)
    assert int(exact[0]) == by_hand
    assert multiply_adds(widths, locations, 1, 1).dtype == np.int64
    assert multiply_adds([[4, 8]], locations, 1, 1).tolist() == [8 * 4 + 8 * 4 * 8 + 8]


def _brute_force(
    task_document: dict[str, Any], options: dict[str, Any]
) -> tuple[float, int] | None:
    """The best practical (score, parameters) by enumeration through the tree engine alone.

    None when no practical net is within the parameters, the compute bound and the budget's
    ``max_activations`` (each tree's activations counted on its grid, as the exported net holds
    them).

    Targets are the best figure any recommendable tree reaches with a fitting profile; the score
    of a point is its weighted fraction of the targets times 2^-(ARRANGEMENT_WEIGHT x bits of
    window order its tree discards per location, above the least of any tree), the order
    counted here from the tree's windows themselves, times its tree's coherence on the
    description's relations over the best of any tree (walked up the tree by hand); equal scores
    go to the point that uses more of the budget. Of the trees with one shared-subtree DAG the
    search recommends the one those factors score highest, so the optimum is the best point of
    any tree.
    """
    task = parse_task(task_document)
    budget = Budget(**options)
    # The space without the activation bound, which is applied here (a search refuses a bound
    # no net meets).
    unbounded = budget.model_copy(update={"max_activations": None})
    search = SearchRun(task, unbounded, StopSignal(), None)
    correlations = task.resolved()
    labels = correlation_labels(correlations, task.input.num_locations)
    weights = np.array([c.weight for c in correlations]) / sum(c.weight for c in correlations)
    relations = task_relations(correlations, task.input.shape, weights)
    points: list[tuple[npt.NDArray[np.float64], np.int64, float, float]] = []
    for candidate in search.candidates:
        if not candidate.eligible:
            continue
        profiles = practical_profiles(candidate.depth, search.ladders.rules)
        parameters = search.model.count(profiles)
        costs = search.ladders.multiply_adds(candidate, profiles)
        most = search.ladders.max_multiply_adds
        bound = np.inf if most is None else most
        fits = (parameters <= budget.max_parameters) & (costs <= bound)
        if budget.max_activations is not None:
            grid = grid_locations(search.space.grid(candidate), candidate.pools, candidate.pools)
            held = activations(profiles, grid, search.model.outputs)
            fits &= held <= budget.max_activations
        if not fits.any():
            continue
        windows, _ = search.space.tree(candidate)
        tree = PoolingStructure(task.input.num_locations, windows)
        logs = np.log2(profiles[fits].astype(float))
        figures = log2_min_cut(tree, labels, logs[:, 1:], logs[:, 0], shared_weights=True)
        discarded = sum(
            math.log2(math.factorial(len(window))) for level in windows for window in level
        ) / math.prod(search.space.grid(candidate))
        coherent = walked_coherence(windows, relations, task.input.ndim) if relations else 1.0
        points.extend(
            (f, p, discarded, coherent) for f, p in zip(figures, parameters[fits], strict=True)
        )
    if not points:
        return None
    targets = np.maximum(np.max([point[0] for point in points], axis=0), 1e-6)
    least = min(point[2] for point in points)
    best_coherence = max(point[3] for point in points)
    scored = [
        (
            round(
                float(np.minimum(f, targets) / targets @ weights)
                * 2.0 ** -(ARRANGEMENT_WEIGHT * (d - least))
                * (c / best_coherence),
                12,
            ),
            int(p),
        )
        for f, p, d, c in points
    ]
    best = max(scored)
    return best[0], best[1]


@settings(max_examples=25, deadline=None)
@given(
    shape=st.sampled_from([[16], [32], [4, 4], [8, 8]]),
    preset=st.sampled_from(["local", "long_range", "symmetry"]),
    budget=st.integers(2_000, 60_000),
    outputs=st.integers(1, 10),
)
def test_the_practical_pick_is_the_enumerated_optimum(
    shape: list[int], preset: str, budget: int, outputs: int
) -> None:
    document = {"input": {"shape": shape}, "preset": preset}
    options = {"max_parameters": budget, "outputs": outputs, "time_limit_seconds": None}
    try:
        result = recommend(parse_task(document), Budget(**options))
    except Exception as error:  # a preset or budget this grid cannot serve
        assert type(error).__name__ == "InvalidRequestError"
        return
    best = _brute_force(document, options)
    assert best is not None
    score, parameters = best
    top = result.recommendations[0]
    assert top.score == pytest.approx(score, abs=1e-9)
    assert top.parameters == parameters
    assert 0.0 < top.score <= 1.0


@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([[16], [32], [4, 4], [8, 8]]),
    preset=st.sampled_from(["local", "long_range", "symmetry"]),
    budget=st.integers(2_000, 60_000),
    max_activations=st.integers(300, 6_000),
)
def test_the_practical_pick_under_an_activation_bound_is_the_enumerated_optimum(
    shape: list[int], preset: str, budget: int, max_activations: int
) -> None:
    document = {"input": {"shape": shape}, "preset": preset}
    options = {
        "max_parameters": budget,
        "outputs": 2,
        "max_activations": max_activations,
        "time_limit_seconds": None,
        "top_k": 10,
    }
    best = _brute_force(document, options)
    if best is None:  # no practical net within the bounds: refused, on a bound
        with pytest.raises(InvalidRequestError) as raised:
            recommend(parse_task(document), Budget(**options))
        assert raised.value.violations[0].field.startswith("budget.max_")
        return
    result = recommend(parse_task(document), Budget(**options))
    top = result.recommendations[0]
    assert top.score == pytest.approx(best[0], abs=1e-9)
    assert top.parameters == best[1]
    for recommendation in result.recommendations:
        assert recommendation.activations == recommendation.architecture.activations
        assert recommendation.activations <= max_activations


def test_an_activation_bound_that_binds_changes_the_pick_and_the_rationale_says_so() -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    options = {"max_parameters": 20_000, "outputs": 2, "top_k": 3, "time_limit_seconds": None}
    free = recommend(task, Budget(**options)).recommendations[0]
    bound = free.activations // 2
    held = recommend(task, Budget(**options, max_activations=bound)).recommendations
    assert held[0].architecture != free.architecture
    assert all(r.activations <= bound for r in held)
    text = " ".join(held[0].rationale.split())
    assert (
        f"The activation bound of {bound:,} activations per input (the budget's "
        "max_activations, --max-activations) excludes this tree's ladders of up to"
    ) in text
    # The shallow reference's wider ladders pass both bounds, and so does widening the pick.
    assert f"and the activation bound of {bound:,} activations per input; without them," in text
    assert f"(over the activation bound of {bound:,} activations per input;" in text
    assert "The activation bound" not in " ".join(free.rationale.split())


def test_the_rationale_names_the_bound_that_holds_the_pick() -> None:
    # long_range at 50,000 with 20,000 activations: the pick (365 parameters, 0.1x the standard
    # CNN's compute) is held by the activation bound, yet the opening first said that the default
    # compute bound excluded ladders of up to 43,713 parameters, which held nothing near it. And
    # the 10%-more sentence said the activation bound applied "at that budget", as if it grew.
    task = load_task(Path(__file__).parents[1] / "examples/tasks/long_range.yaml")
    budget = Budget(max_parameters=50_000, top_k=1, max_activations=20_000)
    (top,) = recommend(task, budget).recommendations
    text = " ".join(top.rationale.split())
    assert top.parameters < 1_000 and top.activations <= 20_000
    assert "The compute bound of" not in text
    assert (
        "The activation bound of 20,000 activations per input (the budget's max_activations, "
        "--max-activations) excludes this tree's ladders of up to"
    ) in text
    assert "the activation bound of 20,000 activations per input (max_activations," in text
    assert "activations per input at that budget" not in text
    # Alone, the default compute bound still says what it excludes, at the budget it follows.
    wide = Budget(max_parameters=50_000, top_k=1, max_multiply_adds=80_000)
    (held,) = recommend(task, wide).recommendations
    assert "The compute bound of 80,000 multiply-adds per input" in " ".join(held.rationale.split())


def test_an_activation_bound_no_practical_net_fits_names_max_activations_and_its_threshold() -> (
    None
):
    """The parameters and the compute bound fit, the activations do not: the refusal names that
    bound, and its figure is the least that admits a practical net."""
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=20_000, outputs=2, max_activations=1_000)
    with pytest.raises(InvalidRequestError) as caught:
        recommend(task, budget)
    [violation] = caught.value.violations
    assert violation.field == "budget.max_activations"
    assert violation.description.startswith("is 1,000: ")
    assert "within budget.max_parameters and budget.max_multiply_adds" in violation.description
    least = int(violation.description.split("needs ")[1].split(" per input")[0].replace(",", ""))
    enough = budget.model_copy(update={"max_activations": least, "time_limit_seconds": None})
    picks = recommend(task, enough).recommendations
    assert picks and min(r.activations for r in picks) == least
    with pytest.raises(InvalidRequestError):
        recommend(task, budget.model_copy(update={"max_activations": least - 1}))


@pytest.mark.parametrize("value", [0, -5, "3", 2**63, True, 1.5])
def test_a_bad_activation_bound_is_refused_on_its_field(value: object) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        Budget.model_validate({"max_parameters": 20_000, "max_activations": value})
    assert [v.field for v in raised.value.violations] == ["budget.max_activations"]
    assert Budget(max_parameters=20_000, max_activations=2e5).max_activations == 200_000


def test_the_practical_picks_say_their_budget_share_and_keep_the_compute_bound() -> None:
    task = parse_task({"input": {"shape": [32, 32]}, "preset": "symmetry"})
    budget = Budget(max_parameters=11_466, outputs=2, time_limit_seconds=None)
    result = recommend(task, budget)
    search = SearchRun(task, budget, StopSignal(), None)
    standard = search.ladders.standard
    assert standard is not None
    standard_cost, standard_widths = standard.multiply_adds, standard.widths
    assert standard_widths == (8, 8, 16, 32, 64, 128)
    for recommendation in result.recommendations:
        architecture = recommendation.architecture
        share = recommendation.parameters / budget.max_parameters
        assert f"of the {budget.max_parameters:,} allowed ({share:.0%})" in recommendation.rationale
        assert architecture.multiply_adds <= DEFAULT_COMPUTE_FACTOR * standard_cost
        assert budget.outputs is not None
        assert min(architecture.widths) >= max(budget.outputs, 8)
        assert score_architecture(task, budget, architecture) == pytest.approx(
            recommendation.score, abs=1e-9
        )
    top = result.recommendations[0].architecture
    assert top.family == "mirror"


def test_the_standard_cnn_caps_its_widths_at_the_widest_allowed_one() -> None:
    # Ten levels of 2 on 1,024 steps: doubling from 8 all the way (to 4,096 channels) fits no
    # budget below 11.2M, which left a long input with no compute bound; capped at 512 it does.
    task = parse_task({"input": {"shape": [1024]}, "preset": "long_range"})
    budget = Budget(max_parameters=1_000_000, outputs=2, top_k=2)
    search = SearchRun(task, budget, StopSignal(), None)
    uncapped = [8, *(8 << level for level in range(10))]
    assert int(search.model.count([uncapped])[0]) > budget.max_parameters
    assert search.ladders.standard is not None
    cost, widths = search.ladders.standard.multiply_adds, search.ladders.standard.widths
    assert widths == (8, 8, 16, 32, 64, 128, 256, 512, 512, 512, 512)
    assert search.ladders.max_multiply_adds == DEFAULT_COMPUTE_FACTOR * cost
    for recommendation in recommend(task, budget).recommendations:
        assert recommendation.multiply_adds <= DEFAULT_COMPUTE_FACTOR * cost
        assert "x the standard CNN of this budget)" in " ".join(recommendation.rationale.split())


def test_the_local_preset_gets_contiguous_pooling() -> None:
    task = parse_task({"input": {"shape": [32, 32]}, "preset": "local"})
    result = recommend(task, Budget(max_parameters=11_466, outputs=2, time_limit_seconds=None))
    assert result.recommendations[0].architecture.family == "contiguous"


def test_a_budget_too_small_for_a_practical_net_names_the_field() -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    with pytest.raises(Exception) as caught:
        recommend(task, Budget(max_parameters=50, outputs=2))
    assert "budget.max_parameters" in str(caught.value)
    # No net of the narrowest widths within the window bounds fits 50: the free profile does.
    assert "set budget.width_profile to free" in str(caught.value)
    free = recommend(task, Budget(max_parameters=50, outputs=2, width_profile="free"))
    assert free.recommendations and all(r.parameters <= 50 for r in free.recommendations)


@pytest.mark.parametrize(
    ("shape", "max_multiply_adds", "said"),
    [
        ([64], None, "narrowest"),
        ([64], 10**6, None),
        ([16, 16], None, None),
        ([1, 64], None, "narrowest"),
        ([1, 64], 10**6, None),
    ],
)
def test_a_search_with_no_standard_cnn_at_its_budget_says_which_compute_bound_applies(
    shape: list[int], max_multiply_adds: int | None, said: str | None
) -> None:
    """At 11,446 parameters six levels of widths doubling from 8 do not fit a 64-step input:
    the default bound is that narrowest CNN's, whatever its count (four levels on 16x16 fit);
    a 1x64 grid's CNN pools 1x2, as the 64 steps' pools 2, so it gets their bound (it had
    none: no tree pooled 2 on its axis of one location)."""
    task = parse_task({"input": {"shape": shape}, "preset": "symmetry"})
    budget = Budget(max_parameters=11_446, outputs=2, max_multiply_adds=max_multiply_adds, top_k=2)
    ladders = SearchRun(task, budget, StopSignal(), None).ladders
    assert (ladders.standard is None) == (shape != [16, 16])
    if said == "narrowest":
        assert ladders.narrowest is not None
        cost, widths = ladders.narrowest.multiply_adds, ladders.narrowest.widths
        assert widths == (8, 8, 16, 32, 64, 128, 256)
        assert ladders.narrowest.parameters == ladders.model.count([list(widths)])[0]
        assert ladders.narrowest.parameters > budget.max_parameters
        assert ladders.max_multiply_adds == DEFAULT_COMPUTE_FACTOR * cost
    for recommendation in recommend(task, budget).recommendations:
        text = " ".join(recommendation.rationale.split())
        assert ("is 4x the narrowest one's (M = 8 and widths 8-16-32-64-128-256," in text) == (
            said == "narrowest"
        )
        assert ("no compute bound applies; max_multiply_adds (--max-macs) sets one." in text) == (
            said == "none"
        )
        assert (f"The grid {shape} has no standard CNN (contiguous pooling of" in text) == (
            said == "none"
        )
        assert ("fits this budget" in text) == (said == "narrowest")
        assert ("x the standard CNN of this budget)" in text) == (shape == [16, 16])
        if ladders.max_multiply_adds is not None:
            assert recommendation.multiply_adds <= ladders.max_multiply_adds


@pytest.mark.parametrize(
    ("shape", "preset", "depths", "reason"),
    [
        (
            [32, 32],
            "symmetry",
            {"max_depth": 1},
            "the depth bounds (1 to 1 levels) leave out every tree that pools so",
        ),
        (
            [9, 16],
            "symmetry",
            {"min_depth": 5},
            "the depth bounds (5 to 10 levels) leave out every tree that pools so",
        ),
        ([2, 2, 2], "periodic", {}, "a window of 2 on every axis pools the whole grid"),
    ],
)
def test_a_grid_without_a_standard_cnn_is_told_the_true_reason(
    shape: list[int], preset: str, depths: dict[str, int], reason: str
) -> None:
    # Every such rationale blamed "an axis of one location", on grids that have none: a depth
    # bound leaving the standard CNN out, or a grid a window of 2 pools whole.
    task = parse_task({"input": {"shape": shape}, "preset": preset})
    budget = Budget(max_parameters=5_000, top_k=1, **depths)
    (top,) = recommend(task, budget).recommendations
    text = " ".join(top.rationale.split())
    assert f"The grid {shape} has no standard CNN" in text, text
    assert "by its smallest prime factor at every level below the top: " in text, text
    assert f"{reason}), so the multiply-adds are not compared with one" in text, text
    assert "an axis of one location" not in text


def test_an_odd_grid_too_large_to_pad_is_told_so_not_blamed_on_an_axis_of_one() -> None:
    from advisor.search.ladders import no_standard_cnn_reason

    # An axis of one location is no odd axis to pad ("the axis of 1 locations is odd").
    for shape in [(1, 2), (1, 2, 2), (2, 1, 2)]:
        reason = "a window of 2 on every axis pools the whole grid"
        assert no_standard_cnn_reason(shape, 1, 16) == reason

    # The standard CNN pools each axis by its smallest prime factor: 101 in one window pools the
    # grid whole, and no level pools by 101 and 2 at once; padded, each grid would have one.
    assert no_standard_cnn_reason((101, 101, 101), 1, 24) == (
        "a window of 101 on every axis pools the whole grid; padding the axes of 101 locations "
        "to a friendlier size would grow the grid past 1,048,576 locations"
    )
    assert no_standard_cnn_reason((101, 100, 100), 1, 24) == (
        "its axes' smallest prime factors (2 and 101) differ, and no level pools axes by "
        "different windows; padding the axis of 101 locations to a friendlier size would grow "
        "the grid past 1,048,576 locations"
    )


def _standard_tree(shape: list[int]) -> tuple[list[tuple[int, ...]], tuple[int, ...]] | None:
    """Return the pools of the standard CNN of a search on ``shape`` and the grid it pools."""
    ends = {"name": "ends", "a": {"indices": [0]}, "b": {"indices": [math.prod(shape) - 1]}}
    task = parse_task({"input": {"shape": shape}, "correlations": [ends]})
    ladders = SearchRun(task, Budget(max_parameters=100_000, top_k=1), StopSignal(), None).ladders
    if ladders.narrowest is None:
        return None
    tree = ladders.narrowest.tree
    return list(tree.pools), ladders.space.grid(tree)


@pytest.mark.parametrize(
    ("shape", "pools", "grid"),
    [
        # Odd factors: 2 alone left one window of 11,025 steps, of 125, of 9x9x9 or 3x9x9.
        ([44100], [(2,), (2,), (3,), (3,), (5,), (5,), (7,), (7,)], (44100,)),
        ([1000], [(2,), (2,), (2,), (5,), (5,), (5,)], (1000,)),
        ([18, 18, 18], [(2, 2, 2), (3, 3, 3), (3, 3, 3)], (18, 18, 18)),
        ([12, 36, 36], [(2, 2, 2)] * 2 + [(3, 3, 3), (1, 3, 3)], (12, 36, 36)),
        # Unchanged: a power of two, a prime left at the top, axes whose smallest primes part.
        ([32, 32], [(2, 2)] * 5, (32, 32)),
        ([28, 28], [(2, 2), (2, 2), (7, 7)], (28, 28)),
        ([64], [(2,)] * 6, (64,)),
        ([224, 224], [(2, 2)] * 5 + [(7, 7)], (224, 224)),
        ([8, 28, 28], [(2, 2, 2), (2, 2, 2), (2, 7, 7)], (8, 28, 28)),
        # Padded to 16x16 as before: four levels there, two on 15x15 (3x3, global 5x5).
        ([15, 15], [(2, 2)] * 4, (16, 16)),
    ],
)
def test_the_standard_cnn_pools_each_axis_by_its_smallest_prime_factor(
    shape: list[int], pools: list[tuple[int, ...]], grid: tuple[int, ...]
) -> None:
    # 44,100 steps pooled 2, 2, global 11,025: the default compute bound at 100,000 parameters
    # was 4.5G multiply-adds per input, a CNN nobody builds.
    assert _standard_tree(shape) == (pools, grid)


@settings(max_examples=60)
@given(size=st.integers(2, 400))
def test_the_standard_cnn_pools_smallest_prime_factors_as_deep_as_they_go(size: int) -> None:
    def smallest_prime(n: int) -> int:
        return next(p for p in range(2, n + 1) if n % p == 0)

    standard = _standard_tree([size])
    if size == 2:  # one window of 2 pools it whole, and an even size is not padded
        assert standard is None
        return
    assert standard is not None
    pools, (grid,) = standard
    for (window,) in pools[:-1]:
        assert window == smallest_prime(grid), (size, pools)
        grid //= window
    (top,) = pools[-1]
    assert top == grid and smallest_prime(top) == top, (size, pools)  # no level left to pool


def test_a_larger_budget_never_returns_a_smaller_net_where_no_standard_cnn_fits() -> None:
    """The default compute bound below the narrowest standard CNN's count is that CNN's, so a
    budget crossing that count does not tighten it: 32x32x3 with 10 classes returned 14,826
    parameters at 15,000 (no bound) and 10,466 at 20,000 (the bound of the CNN that fits)."""
    task = parse_task(
        {"input": {"shape": [32, 32], "channels": 3}, "outputs": 10, "preset": "local"}
    )
    picks = []
    for parameters in (5_000, 10_000, 15_000, 20_000, 30_000):
        budget = Budget(max_parameters=parameters, top_k=1)
        ladders = SearchRun(task, budget, StopSignal(), None).ladders
        assert ladders.narrowest is not None
        narrowest = ladders.narrowest.parameters
        assert (ladders.standard is None) == (parameters < narrowest)
        [pick] = recommend(task, budget).recommendations
        picks.append(pick.parameters)
        if parameters == 15_000:  # held below the budget by the narrowest CNN's bound
            text = " ".join(pick.rationale.split())
            assert f"The compute bound of {ladders.max_multiply_adds:,} multiply-adds" in text
            assert "(by default 4x the narrowest standard CNN) excludes this tree's" in text
    assert picks == sorted(picks)
    assert 15_000 < narrowest <= 20_000  # the budgets cross the narrowest CNN's count


def test_a_compute_bound_no_practical_net_fits_names_max_multiply_adds_and_its_threshold() -> None:
    """The parameters fit, the multiply-adds do not: the refusal names that bound, and its figure
    is exact (the bound it gives is the least that admits a practical net)."""
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=100_000, outputs=2, max_multiply_adds=5_000)
    with pytest.raises(InvalidRequestError) as caught:
        recommend(task, budget)
    [violation] = caught.value.violations
    assert violation.field == "budget.max_multiply_adds"
    assert violation.description.startswith("is 5,000: ")
    least = int(violation.description.split("needs ")[1].split(" per input")[0].replace(",", ""))
    assert least > 5_000
    enough = budget.model_copy(update={"max_multiply_adds": least, "time_limit_seconds": None})
    picks = recommend(task, enough).recommendations
    assert picks and min(r.multiply_adds for r in picks) == least
    with pytest.raises(InvalidRequestError):
        recommend(task, budget.model_copy(update={"max_multiply_adds": least - 1}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_multiply_adds", 100_000),
        ("max_activations", 100_000),
        ("min_width", 16),
        ("min_representation", 4),
        ("max_representation", 32),
        ("max_window", 8),
        ("max_step", 2),
    ],
)
def test_a_practical_only_field_on_the_free_profile_is_refused_not_ignored(
    field: str, value: int
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        Budget.model_validate({"max_parameters": 20_000, "width_profile": "free", field: value})
    assert [v.field for v in raised.value.violations] == [f"budget.{field}"]
    assert "practical width profile only" in raised.value.violations[0].description
    practical = Budget.model_validate({"max_parameters": 20_000, field: value})
    assert getattr(practical, field) == value
    assert Budget(max_parameters=20_000, width_profile="free", max_window=None).max_window is None


@pytest.mark.parametrize(
    ("limits", "field", "says"),
    [
        (
            {"min_representation": 64, "channel_choices": [16, 32]},
            "min_representation",
            "wider than every allowed width (the widest is 32, budget.channel_choices)",
        ),
        (
            {"min_representation": 4, "max_channels": 3},
            "min_representation",
            "the widest is 3, budget.max_channels",
        ),
        (
            {"max_representation": 8, "channel_choices": [16, 32]},
            "max_representation",
            "narrower than every allowed width (the narrowest is 16)",
        ),
        (
            {"min_representation": 20, "max_representation": 22, "channel_choices": [16, 32]},
            "min_representation",
            "no allowed width for M from 20 to 22 (the nearest allowed are 16 and 32)",
        ),
        (
            {"max_representation": 22, "min_width": 2, "channel_choices": [2, 32]},
            "max_representation",
            "no allowed width for M from 4 to 22",
        ),
    ],
)
def test_a_representation_range_the_caller_set_without_an_allowed_width_is_refused(
    limits: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        Budget.model_validate({"max_parameters": 200_000, **limits})
    (violation,) = raised.value.violations
    assert violation.field == f"budget.{field}"
    assert says in violation.description


@given(st.integers(2, 5_000))
def test_the_widest_allowed_width_is_max_channels_and_the_ladder_steps_stay_small(
    max_channels: int,
) -> None:
    budget = Budget(max_parameters=1, max_channels=max_channels)
    assert budget.choices()[-1] == budget.profile_choices()[-1] == max_channels
    widths = budget.profile_choices()
    assert widths == sorted(set(widths))
    assert all(b / a <= 1.25 for a, b in itertools.pairwise(widths) if a >= 4)


@pytest.mark.parametrize("max_channels", [448, 500])
def test_a_search_with_room_reaches_a_max_channels_that_is_no_power_of_two(
    max_channels: int,
) -> None:
    task = parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})
    budget = Budget(max_parameters=10**8, max_channels=max_channels, top_k=1)
    best = recommend(task, budget).recommendations[0].architecture
    assert max(c.channels for c in best.layers) == max_channels


def test_nothing_fits_names_min_representation_when_it_sets_the_floor() -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=5_000, min_representation=64, min_width=4)
    with pytest.raises(InvalidRequestError) as raised:
        recommend(task, budget)
    # The shallow net (4,353 parameters) would fit: the window bound that leaves it out follows.
    violation, window = raised.value.violations
    assert window.field == "budget.max_window"
    assert violation.field == "budget.max_parameters"
    assert "M >= 64, budget.min_representation" in violation.description
    assert "lower budget.min_representation" in violation.description
    assert "min_width" not in violation.description


def test_the_default_compute_bound_is_named_as_the_default_and_min_representation_as_the_fix() -> (
    None
):
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=5_000, min_representation=32, max_representation=32)
    with pytest.raises(InvalidRequestError) as raised:
        recommend(task, budget)
    (violation,) = raised.value.violations
    assert violation.field == "budget.max_multiply_adds"
    assert "(by default 4x the standard CNN of this budget)" in violation.description
    assert violation.description.endswith("raise it or lower budget.min_representation")


@pytest.mark.parametrize("family", ["shallow", "mirorr"])
def test_a_family_that_cannot_be_allowed_is_refused_with_the_ones_that_can(family: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        Budget.model_validate({"max_parameters": 20_000, "geometries": [family]})
    (violation,) = raised.value.violations
    assert violation.field == "budget.geometries[0]"
    assert "'contiguous'" in violation.description and "shallow" not in violation.description


@pytest.mark.parametrize(
    ("limits", "widest", "named"),
    [
        ({}, 512, "budget.max_channels"),
        ({"channel_choices": [16, 32]}, 32, "budget.channel_choices"),
    ],
)
def test_a_min_width_above_every_allowed_width_is_refused_on_min_width(
    limits: dict[str, Any], widest: int, named: str
) -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    with pytest.raises(InvalidRequestError) as raised:
        recommend(task, Budget(max_parameters=20_000, min_width=1000, **limits))
    (violation,) = raised.value.violations
    assert violation.field == "budget.min_width"
    assert f"the widest is {widest:,}, {named}" in violation.description


def test_window_bound_excludes_giant_pools_where_a_tree_allows() -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    result = recommend(task, Budget(max_parameters=50_000, top_k=20, time_limit_seconds=None))
    for recommendation in result.recommendations:
        pools = [layer.pool for layer in recommendation.architecture.layers]
        assert max(math.prod(pool) for pool in pools) <= 16


def test_samples_are_distinct_reproducible_designs_of_the_search_space_at_the_budget() -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=20_000, outputs=2)
    drawn = sample_architectures(task, budget, 12, seed=3)
    again = sample_architectures(task, budget, 12, seed=3)
    assert [a.model_dump() for a in drawn] == [a.model_dump() for a in again]
    assert len({json.dumps(a.model_dump(mode="json"), sort_keys=True) for a in drawn}) == 12
    search = SearchRun(task, budget, StopSignal(), None)
    for architecture in drawn:
        assert architecture.family in ("contiguous", "mirror", "interleaved")
        assert 0.5 * budget.max_parameters <= architecture.parameters <= budget.max_parameters
        profiles = practical_profiles(len(architecture.layers), search.ladders.rules)
        widths = [architecture.representation, *architecture.widths]
        assert (profiles == np.array(widths)).all(axis=1).any()


def test_max_step_keeps_practical_picks_at_two_per_axis_below_the_top() -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    options = {"max_parameters": 20_000, "top_k": 10, "time_limit_seconds": None}
    for recommendation in recommend(task, Budget(**options, max_step=2)).recommendations:
        below_top = [layer.pool for layer in recommendation.architecture.layers[:-1]]
        assert all(max(pool) <= 2 for pool in below_top)
    lifted = recommend(task, Budget(**options))
    assert any(
        max(layer.pool) == 4 for r in lifted.recommendations for layer in r.architecture.layers[:-1]
    )


def test_the_default_window_bound_gives_way_to_the_least_any_tree_has() -> None:
    # Two levels on 64x64 pool a window of 256 locations at the least (4x4, then 16x16): no tree
    # meets the default max_window of 16, which becomes 256, and the search still recommends.
    # (The same bound given by the caller is refused: tests/test_search.py.)
    task = parse_task({"input": {"shape": [64, 64]}, "preset": "local"})
    budget = Budget(max_parameters=50_000, max_depth=2, time_limit_seconds=None)
    result = recommend(task, budget)
    assert result.recommendations
    for recommendation in result.recommendations:
        windows = [math.prod(layer.pool) for layer in recommendation.architecture.layers]
        assert max(windows) == 256


def test_the_task_names_its_outputs_and_the_budget_may_override_them() -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry", "outputs": 10})
    options = {"max_parameters": 20_000, "top_k": 3, "time_limit_seconds": None}
    result = recommend(task, Budget(**options))
    for recommendation in result.recommendations:
        assert recommendation.architecture.outputs == 10
        assert min(recommendation.architecture.widths) >= 10  # no layer below the classes
    override = recommend(task, Budget(**options, outputs=2))
    assert {r.architecture.outputs for r in override.recommendations} == {2}
    plain = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    assert {
        r.architecture.outputs for r in recommend(plain, Budget(**options)).recommendations
    } == {1}
    with pytest.raises(InvalidRequestError) as caught:
        parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry", "outputs": 0})
    assert [v.field for v in caught.value.violations] == ["outputs"]


@pytest.mark.parametrize("max_multiply_adds", [None, 10**12])
def test_a_pick_says_when_the_compute_bound_excludes_larger_ladders_of_its_tree(
    max_multiply_adds: int | None,
) -> None:
    task = parse_task(
        {"input": {"shape": [32, 32], "channels": 3}, "preset": "local", "outputs": 10}
    )
    budget = Budget(max_parameters=100_000, max_multiply_adds=max_multiply_adds, top_k=2)
    search = SearchRun(task, budget, StopSignal(), None)
    bound = search.ladders.max_multiply_adds
    assert bound is not None
    recommendations = recommend(task, budget).recommendations
    for recommendation in recommendations:
        architecture = recommendation.architecture
        tree = next(
            c
            for c in search.space.candidates
            if c.family == architecture.family and c.pools == architecture.schedule.pools
        )
        profiles, parameters = search.ladders.of_depth(tree.depth)
        larger = (parameters > recommendation.parameters) & (parameters <= budget.max_parameters)
        over = search.ladders.multiply_adds(tree, profiles[larger]) > bound
        text = " ".join(recommendation.rationale.split())
        if over.any():
            assert f"The compute bound of {bound:,} multiply-adds per input" in text
            assert f"ladders of up to {int(parameters[larger][over].max()):,} parameters" in text
        else:
            assert "The compute bound of" not in text
    # The default bound binds on this task; a bound no ladder reaches never does.
    said = ["The compute bound of" in r.rationale for r in recommendations]
    assert any(said) == (max_multiply_adds is None)


def test_max_channels_beside_channel_choices_is_refused_not_ignored() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        Budget(max_parameters=20_000, channel_choices=[8, 16, 1024], max_channels=64)
    (violation,) = raised.value.violations
    assert violation.field == "budget.max_channels"
    assert "applies to the default widths only" in violation.description
    assert Budget(max_parameters=20_000, channel_choices=[8, 16, 1024]).choices()[-1] == 1024


@pytest.mark.parametrize(
    ("document", "field", "expected"),
    [
        ({"max_parameters": True}, "max_parameters", "a valid integer"),
        ({"max_parameters": 200_000, "top_k": True}, "top_k", "a valid integer"),
        (
            {"max_parameters": 200_000, "top_k": "3"},
            "top_k",
            "a valid integer, not a text: write 3 ('3' is the command line's form)",
        ),
        (
            {"max_parameters": "200000"},
            "max_parameters",
            "a valid integer, not a text: write 200000 ('200000' is the command line's form)",
        ),
        (
            {"max_parameters": 200_000, "time_limit_seconds": True},
            "time_limit_seconds",
            "a valid number",
        ),
        (
            {"max_parameters": 200_000, "channel_choices": [8, True]},
            "channel_choices[1]",
            "a valid integer",
        ),
        # NumPy's booleans are no ints: pydantic's lax mode read them as 1.
        ({"max_parameters": np.True_}, "max_parameters", "a valid integer"),
        (
            {"max_parameters": 200_000, "channel_choices": [np.True_, 16]},
            "channel_choices[0]",
            "a valid integer",
        ),
        (
            {"max_parameters": 200_000, "log2_rank_target": np.True_},
            "log2_rank_target",
            "a valid number",
        ),
    ],
)
def test_a_boolean_or_a_text_where_a_budget_takes_a_number_is_refused(
    document: dict[str, Any], field: str, expected: str
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        Budget.model_validate(document)
    (violation,) = raised.value.violations
    assert (violation.field, violation.description) == (
        f"budget.{field}",
        f"Input should be {expected}",
    )
    assert Budget.model_validate({"max_parameters": 2e5}).max_parameters == 200_000


@pytest.mark.parametrize(
    ("shape", "pools"),
    [
        ([1, 64], [(1, 2)] * 5 + [(1, 2)]),
        ([64, 1], [(2, 1)] * 5 + [(2, 1)]),
        ([16, 64, 64], [(2, 2, 2)] * 4 + [(1, 4, 4)]),
    ],
)
def test_an_axis_of_one_location_leaves_the_standard_cnn_of_the_grid_without_it(
    shape: list[int], pools: list[tuple[int, ...]]
) -> None:
    # A grid [1, 64] had no standard CNN (no tree pooled 2 on its axis of one location), so no
    # default compute bound and no "x the standard CNN" figure, though it holds the locations of
    # the sequence [64], whose CNN pools 2 six times. A video's frames pooled away below the
    # top are no such axis: its CNN ends there in a global window, as C3D's features end.
    task = parse_task({"input": {"shape": shape}, "preset": "local"})
    budget = Budget(max_parameters=500_000, top_k=1)
    ladders = SearchRun(task, budget, StopSignal(), None).ladders
    assert ladders.standard is not None
    assert list(ladders.standard.tree.pools) == pools
    assert ladders.max_multiply_adds == DEFAULT_COMPUTE_FACTOR * ladders.standard.multiply_adds
    if 1 in shape:
        sequence = parse_task({"input": {"shape": [64]}, "preset": "local"})
        alone = SearchRun(sequence, budget, StopSignal(), None).ladders
        assert alone.standard is not None
        assert ladders.standard.multiply_adds == alone.standard.multiply_adds
