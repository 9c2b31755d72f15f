"""The anytime search: its visiting order changes no full result; its progress is a fraction."""

from __future__ import annotations

import doctest
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from advisor.cli.format import render_search_result
from advisor.errors import InvalidRequestError, StoppedError
from advisor.export.document import parse_search_result, search_result_document
from advisor.model.budget import Budget
from advisor.model.results import SearchProgress, SearchResult
from advisor.model.task import Task, parse_task
from advisor.protocol.wire import search_result_from_proto, search_result_to_proto
from advisor.search import anytime as anytime_module
from advisor.search import page as page_module
from advisor.search import run as run_module
from advisor.search.anytime import AnytimeQueue, WorkMeter
from advisor.search.candidates import Candidate
from advisor.search.coherence import description_relations
from advisor.search.recommend import recommend, score_architectures
from advisor.search.scoring import DesignScorer
from advisor.stopping import StopSignal
from tests.support.clock import second_per_tree


def _box(start: list[int], stop: list[int]) -> dict[str, object]:
    return {"box": {"start": start, "stop": stop}}


IMAGE = parse_task(
    {
        "input": {"shape": [16, 16]},
        "correlations": [
            {"name": "lr", "a": {"preset": "left_half"}, "b": {"preset": "right_half"}},
            {"name": "tb", "a": {"preset": "top_half"}, "b": {"preset": "bottom_half"}},
            {"name": "near", "a": _box([0, 0], [2, 2]), "b": _box([0, 2], [2, 4]), "weight": 2.0},
            {"name": "parity", "a": {"preset": "even"}, "b": {"preset": "odd"}},
        ],
    }
)
SEQUENCE = parse_task(
    {
        "input": {"shape": [32]},
        "correlations": [
            {"name": "halves", "a": _box([0], [16])},
            {"name": "ends", "a": _box([0], [4]), "b": _box([28], [32])},
            {"name": "parity", "a": {"preset": "even"}, "b": {"preset": "odd"}},
        ],
    }
)
SEARCHES = [
    (IMAGE, {}),
    (IMAGE, {"objective": "maximin", "max_window": 4}),
    (IMAGE, {"geometries": ["contiguous", "mirror", "synthesized"]}),
    (SEQUENCE, {}),
    (SEQUENCE, {"log2_rank_target": 6.0, "max_parameters": 3_000}),
]


class _FixedQueue:
    """A visiting order blind to scores: the candidates' own, or reversed after the first."""

    def __init__(self, candidates: Sequence[Candidate], reverse: bool) -> None:
        first, *rest = candidates
        self.order = [first, *(reversed(rest) if reverse else rest)]

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.order)

    def leads(self) -> list[Candidate]:
        firsts: dict[str, Candidate] = {}
        for candidate in self.order[1:]:
            firsts.setdefault(candidate.family, candidate)
        return list(firsts.values())

    def prefer(self, priorities: Mapping[str, float]) -> None:
        del priorities

    def rate(self, family: str, score: float) -> None:
        del family, score


def _search(problem: Task, options: dict[str, object], reverse: bool | None) -> SearchResult:
    budget = Budget(**{"max_parameters": 20_000, "time_limit_seconds": None, **options})
    if reverse is None:
        return recommend(problem, budget)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            run_module, "AnytimeQueue", lambda candidates, seed: _FixedQueue(candidates, reverse)
        )
        return recommend(problem, budget)


def _facts(result: SearchResult) -> list[object]:
    recommendations = [
        (r.rank, r.score, r.parameters, r.architecture, r.rationale, r.analysis, r.dilations)
        for r in result.recommendations
    ]
    return [recommendations, result.candidates_evaluated, result.complete]


@pytest.mark.parametrize(("problem", "options"), SEARCHES)
def test_the_visiting_order_changes_no_full_result(
    problem: Task, options: dict[str, object]
) -> None:
    anytime = _facts(_search(problem, options, None))
    assert anytime == _facts(_search(problem, options, reverse=False))
    assert anytime == _facts(_search(problem, options, reverse=True))


def test_the_pick_is_the_best_design_on_the_full_objective() -> None:
    result = _search(IMAGE, {}, None)
    budget = Budget(max_parameters=20_000, time_limit_seconds=None)
    scores = score_architectures(IMAGE, budget, [r.architecture for r in result.recommendations])
    assert scores == pytest.approx([r.score for r in result.recommendations], abs=1e-9)
    assert scores == sorted(scores, reverse=True)


def _candidate(index: int, family: str, depth: int, eligible: bool = True) -> Candidate:
    pools = ((2,),) * (depth - 1) + ((4,),)
    return Candidate(index, family, pools, "contiguous", None, eligible)  # type: ignore[arg-type]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["contiguous", "mirror", "interleaved", "dilations"]),
            st.integers(1, 6),
            st.booleans(),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(0, 3),
)
def test_every_family_gets_a_turn_before_any_gets_a_second(
    specs: list[tuple[str, int, bool]], seed: int
) -> None:
    candidates = [_candidate(0, "shallow", 1)]
    candidates += [_candidate(i, *spec) for i, spec in enumerate(specs, start=1)]
    order = list(AnytimeQueue(candidates, seed))  # no scores reported: round robin
    assert order[0] is candidates[0]
    assert sorted(c.index for c in order) == list(range(len(candidates)))
    families = [c.family for c in order[1:]]
    counts = {f: families.count(f) for f in set(families)}
    for turn in itertools.count():
        present = {f for f, n in counts.items() if n > turn}
        if not present:
            break
        chunk, families = families[: len(present)], families[len(present) :]
        assert set(chunk) == present, "one of each family per turn"
    for family in counts:
        members = [c for c in order if c.family == family]
        eligible = [c.eligible for c in members]
        assert eligible == sorted(eligible, reverse=True), "recommendable first"
        depths = [c.depth for c in members if c.eligible]
        if depths:
            distinct = sorted(set(depths), reverse=True)
            middle = distinct[(len(distinct) - 1) // 2] if len(distinct) > 2 else distinct[0]
            assert depths[0] == middle, "the middle depth first (of two: the deeper)"
            leads = depths[: len(distinct)]
            assert sorted(leads, reverse=True) == distinct, "one tree of every depth first"
            assert depths[len(distinct) - 1] == min(depths), "the shallowest lead last of them"


def test_after_a_first_turn_each_the_best_family_goes_first() -> None:
    candidates = [_candidate(0, "shallow", 1)]
    candidates += [_candidate(i, family, 3) for i, family in enumerate(["contiguous"] * 3, 1)]
    candidates += [_candidate(i, family, 3) for i, family in enumerate(["mirror"] * 3, 4)]
    candidates += [_candidate(7, "interleaved", 3)]
    queue = AnytimeQueue(candidates, 0)
    visited = []
    for candidate in queue:
        visited.append(candidate.family)
        queue.rate(candidate.family, {"mirror": 0.9, "contiguous": 0.2}.get(candidate.family, 0.5))
    assert (
        visited
        == ["shallow", "contiguous", "mirror", "interleaved"] + ["mirror"] * 2 + ["contiguous"] * 2
    )


def test_first_turns_go_to_the_preferred_families_first() -> None:
    candidates = [_candidate(0, "shallow", 1)]
    families = ["contiguous", "mirror", "interleaved", "dilations"]
    candidates += [_candidate(i, family, 3) for i, family in enumerate(families * 2, 1)]
    queue = AnytimeQueue(candidates, 0)
    assert [c.family for c in queue.leads()] == families
    queue.prefer({"interleaved": 0.9, "mirror": 0.9, "contiguous": 0.1})
    visited = [c.family for c in queue]
    # Equal priorities keep the families' order; unlisted ones (0) come last.
    assert visited[:5] == ["shallow", "mirror", "interleaved", "contiguous", "dilations"]


def _first_visited(problem: Task) -> str:
    """The family of the first tree a practical search scores after the shallow baseline."""
    scored: list[str] = []
    score = run_module.SearchRun.score

    def logged(self: run_module.SearchRun, candidate: Candidate, *args: object) -> None:
        scored.append(candidate.family)
        score(self, candidate, *args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module.SearchRun, "score", logged)
        recommend(problem, Budget(max_parameters=20_000, time_limit_seconds=None))
    return scored[1]


def test_the_family_meeting_the_described_relations_is_scored_first() -> None:
    # The symmetry preset's halves, ends and alternate columns are one mirror about the centre.
    symmetry = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    assert _first_visited(symmetry) == "mirror"
    # Without a relation the families open in the candidates' order.
    rng = np.random.default_rng(0)
    masks = [rng.permutation(256) for _ in range(2)]
    scattered = parse_task(
        {
            "input": {"shape": [16, 16]},
            "correlations": [
                {
                    "name": f"m{i}",
                    "a": {"indices": sorted(m[:60].tolist())},
                    "b": {"indices": sorted(m[60:130].tolist())},
                }
                for i, m in enumerate(masks)
            ],
        }
    )
    assert description_relations(scattered.resolved(), [16, 16]) == []
    assert _first_visited(scattered) == "contiguous"


def _trees(depths: list[int], shared: int) -> list[list[tuple[object, int]]]:
    """Trees of the given depths whose first ``shared`` levels have one prefix in common."""
    trees = []
    for index, depth in enumerate(depths):
        levels: list[tuple[object, int]] = []
        for level in range(depth):
            prefix = ("common", level) if level < shared else (index, level)
            levels.append((prefix, 4 ** (depth - level)))
        trees.append(levels)
    return trees


def test_the_work_done_is_exact_when_costs_follow_the_model() -> None:
    trees = _trees([3, 5, 4, 6, 2, 5, 3], shared=1)
    seen: set[object] = set()
    costs = []
    for levels in trees:  # priced exactly as the meter prices: new nodes, all nodes, one
        new = sum(nodes for prefix, nodes in levels if prefix not in seen)
        seen.update(prefix for prefix, _ in levels)
        costs.append(2e-4 * new + 5e-5 * sum(nodes for _, nodes in levels) + 0.01)
    meter = WorkMeter(trees)
    for done, (levels, cost) in enumerate(zip(trees, costs, strict=True), start=1):
        meter.done(levels, cost)
        if done >= 4:  # three prices need three trees, and one more to tell them apart
            assert meter.fraction() == pytest.approx(sum(costs[:done]) / sum(costs))
    assert meter.fraction() == pytest.approx(1.0)


def test_the_time_before_the_trees_counts_as_work_done() -> None:
    trees = _trees([3, 5, 4], shared=0)

    def meter_after_two() -> WorkMeter:
        meter = WorkMeter(trees)
        for levels in trees[:2]:
            meter.done(levels, 0.5)
        return meter

    left = 1.0 / meter_after_two().fraction() - 1.0  # the third tree's predicted time
    assert left > 0.0
    assert meter_after_two().fraction(2.0, elapsed=1.5) == pytest.approx(1.5 / (3.5 + left))
    # Less than the trees' own measured time: the trees' time counts.
    assert meter_after_two().fraction(2.0, elapsed=0.1) == pytest.approx(1.0 / (3.0 + left))


def test_a_kind_whose_trees_cost_more_than_their_features_is_predicted_by_its_own() -> None:
    # Ten cheap trees priced by the model and five of another kind costing 0.3 s more each, as
    # the dilation orders after the interleaved trees on 262,144 steps: the one price per
    # feature fits the cheap ones and prices the rest low, unless the kind's own trees floor it.
    trees = _trees([4] * 15, shared=0)
    kinds = ["cheap"] * 10 + ["costly"] * 5
    costs = [
        1e-3 * sum(nodes for _, nodes in levels) + (0.3 if kind == "costly" else 0.0)
        for levels, kind in zip(trees, kinds, strict=True)
    ]
    order = [0, 10, *range(1, 10), *range(11, 15)]  # each kind's first, then the cheap ones
    done = order[:11]  # every cheap tree and one costly one
    truth = sum(costs[i] for i in done) / sum(costs)
    meters = {"kinds": WorkMeter(trees, kinds), "none": WorkMeter(trees)}
    for index in done:
        meters["kinds"].done(trees[index], costs[index], kinds[index])
        meters["none"].done(trees[index], costs[index])
    assert meters["kinds"].fraction() == pytest.approx(truth, abs=0.01)
    assert meters["none"].fraction() > truth + 0.1


@given(st.lists(st.floats(0.0, 5.0), min_size=1, max_size=40), st.floats(0.0, 3.0))
def test_the_work_done_never_decreases(costs: list[float], ahead: float) -> None:
    depths = np.random.default_rng(len(costs)).integers(1, 8, len(costs)).tolist()
    trees = _trees(depths, shared=2)
    meter = WorkMeter(trees)
    fractions = []
    for levels, cost in zip(trees, costs, strict=True):
        meter.done(levels, cost)
        fractions.append(meter.fraction(ahead))
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions == sorted(fractions)


def test_the_examples_hold() -> None:
    assert doctest.testmod(anytime_module).failed == 0


def test_the_progress_counts_the_contiguous_pricing_still_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SEQUENCE is small enough for its recommendations' contiguous nets to be priced: the
    # progress predicts that pricing from one timed run of the recurrence times the typical
    # count. A count beyond any search's length holds the fraction near 0 to the end. The search
    # runs on a clock that ticks a millisecond per reading, so every time it measures is a count
    # of its own steps, the same on a loaded machine as on a quiet one. The figure is the last
    # report before the builds (those after each build count what the builds took).
    monkeypatch.setattr(run_module, "_PROGRESS_INTERVAL", 0.0)
    budget = Budget(max_parameters=20_000, time_limit_seconds=None)
    built = page_module.build_recommendation

    def last_fraction(runs: int) -> float:
        monkeypatch.setattr(run_module, "TYPICAL_PRICING_RUNS", runs)
        events: list[SearchProgress] = []
        before_builds: list[int] = []

        def counted(*args: Any, **kwargs: Any) -> Any:
            before_builds.append(len(events))
            return built(*args, **kwargs)

        monkeypatch.setattr(page_module, "build_recommendation", counted)
        ticks = itertools.count()
        stop = StopSignal(clock=lambda: next(ticks) * 1e-3)
        recommend(SEQUENCE, budget, stop=stop, progress=events.append)
        return events[before_builds[0] - 1].fraction_done

    assert last_fraction(10**12) < 0.01 < 0.5 < last_fraction(0)


def test_the_work_meter_names_levels_apart_on_differently_padded_grids() -> None:
    # 99x99 is searched as it is and padded to 100x100 and to 128x128: a tree's first level of
    # 2x2 windows on one padded grid is not the same work as on the other, so the progress must
    # not count it as done when the other was scored (private hooks: what the meter is fed).
    task = parse_task({"input": {"shape": [99, 99]}, "preset": "symmetry"})
    search = run_module.SearchRun(task, Budget(max_parameters=100_000), StopSignal(), None)
    first_levels: dict[object, set[object]] = {}
    for candidate in search.candidates:
        prefix, _ = search.work_levels(candidate)[0]
        first_levels.setdefault(prefix, set()).add(candidate.padding)
    assert len({padding for paddings in first_levels.values() for padding in paddings}) == 3
    assert all(len(paddings) == 1 for paddings in first_levels.values())


def _cut_before_any_tree(budget: Budget) -> SearchResult:
    """Search the 16x16 symmetry task with a signal already cancelled: only the baseline runs."""
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    stop = StopSignal()
    stop.cancel()
    return recommend(task, budget, stop=stop)


@pytest.mark.parametrize(("largest_m", "bits"), [(64, 768), (16, 512)])
def test_a_search_stopped_before_any_tree_measures_against_the_largest_practical_m(
    largest_m: int, bits: int
) -> None:
    # 16x16 halves: 128 locations a side, so the dimension bound is 128 * log2 M.
    budget = Budget(max_parameters=20_000, max_representation=largest_m, time_limit_seconds=None)
    result = _cut_before_any_tree(budget)
    assert result.complete is False
    assert result.recommendations[0].architecture.family == "shallow"
    assert f" of {bits:,} bits" in " ".join(result.recommendations[0].rationale.split())


def test_scoring_many_designs_stops_with_its_signal() -> None:
    task = parse_task({"input": {"shape": [16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=20_000, time_limit_seconds=None)
    designs = [r.architecture for r in recommend(task, budget).recommendations]
    stop = StopSignal()
    assert len(score_architectures(task, budget, designs, stop)) == len(designs)
    stop.cancel()
    with pytest.raises(StoppedError):
        score_architectures(task, budget, designs, stop)


def test_the_objectives_pass_over_the_trees_stops_with_its_signal() -> None:
    task = parse_task({"input": {"shape": [16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=20_000, time_limit_seconds=None)
    polls: list[int] = []

    class ThirdPoll(StopSignal):
        def stopped(self) -> bool:
            polls.append(1)
            return len(polls) >= 3

    with pytest.raises(StoppedError):
        DesignScorer(task, budget, ThirdPoll())
    assert len(polls) == 3
    scorer = DesignScorer(task, budget)
    for recommendation in recommend(task, budget).recommendations:
        # The analysis rounds its figures to 9 decimals; the search's keys are unrounded.
        assert scorer.score(recommendation.architecture) == pytest.approx(
            recommendation.score, abs=1e-9
        )


@pytest.mark.parametrize(("min_depth", "families"), [(1, ["shallow"]), (3, [])])
def test_a_search_stopped_before_any_tree_returns_a_baseline_only_within_the_depth_bounds(
    min_depth: int, families: list[str]
) -> None:
    budget = Budget(max_parameters=20_000, min_depth=min_depth, time_limit_seconds=None)
    result = _cut_before_any_tree(budget)
    assert result.complete is False and result.next_page_token is None
    assert [r.architecture.family for r in result.recommendations] == families
    header = _header(render_search_result(result, "table"))
    assert ("before it scored a design for this page that the budget admits" in header) == (
        not families
    )
    # A result does not say what stopped it: its remedy names every stop, where "a longer time
    # limit" alone was false for a search the server's shutdown or a FinishSearch cut.
    assert (result.empty_reason is None) == bool(families)
    if result.empty_reason is not None:
        assert all(s in result.empty_reason for s in ("time limit", "shutting down", "Finish"))


@pytest.mark.parametrize(
    ("bounds", "families"),
    [
        ({}, ["shallow"]),  # the default window bound gives way, as documented
        ({"max_window": None}, ["shallow"]),  # stated: no bound
        ({"max_window": 4}, []),
        ({"max_window": 256}, ["shallow"]),
        ({"max_step": 2}, ["shallow"]),  # the shallow net has no level below its top
    ],
)
def test_a_search_stopped_before_any_tree_returns_a_baseline_only_within_the_stated_windows(
    bounds: dict[str, int | None], families: list[str]
) -> None:
    # A request for windows of at most 4 locations got the shallow net's global 16x16 window.
    budget = Budget(max_parameters=20_000, time_limit_seconds=None, **bounds)
    result = _cut_before_any_tree(budget)
    assert result.complete is False and result.next_page_token is None
    assert [r.architecture.family for r in result.recommendations] == families


def test_a_later_page_a_stop_cuts_before_every_tree_is_refused_not_left_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stopped after scoring a few trees (one manual second each), fewer than the page skips:
    # the page was empty, and had it held designs, they would have been ranked by the trees
    # scored, not by the whole search the first page's token continues.
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=20_000, top_k=8, time_limit_seconds=None)
    first = recommend(task, budget)
    assert first.complete and first.next_page_token is not None
    clock = second_per_tree(monkeypatch)
    # The same stop on the first page: trees were scored, fewer than the second page skips.
    stopped_first = recommend(task, budget, stop=StopSignal(14.5, clock=clock))
    assert stopped_first.complete is False
    assert any(r.architecture.family != "shallow" for r in stopped_first.recommendations)
    clock.now = 0.0
    page = budget.model_copy(update={"page_token": first.next_page_token})
    # The caller's stop, not the budget's time limit: no field of the request to change.
    with pytest.raises(StoppedError, match="after rank 8"):
        recommend(task, page, stop=StopSignal(14.5, clock=clock))
    # The budget's own time limit: the request's field to change, by a longer limit (it said
    # "or none", which neither the command nor a request to the service can give).
    with pytest.raises(InvalidRequestError) as refused:
        recommend(task, page.model_copy(update={"time_limit_seconds": 1e-6}))
    [violation] = refused.value.violations
    assert violation.field == "budget.time_limit_seconds"
    assert violation.description.endswith(
        "after the first (this one starts after rank 8) is ranked by the whole search, not by "
        "the trees scored so far: a longer time limit lets it finish"
    )


def test_progress_goes_on_while_the_recommendations_are_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a large input the builds are most of the search: a stream that went quiet after the
    # trees would read 0.4 for the last 60% of the time (16,384 locations, long_range).
    monkeypatch.setattr(run_module, "_PROGRESS_INTERVAL", 0.0)
    events: list[SearchProgress] = []
    seen: list[int] = []  # the events reported before each build starts
    built = page_module.build_recommendation

    def counted(*args: Any, **kwargs: Any) -> Any:
        seen.append(len(events))
        return built(*args, **kwargs)

    monkeypatch.setattr(page_module, "build_recommendation", counted)
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(max_parameters=20_000, top_k=3, time_limit_seconds=None)
    recommend(task, budget, progress=events.append)
    assert len(seen) == 3 and seen[0] < seen[1] < seen[2] < len(events)
    fractions = [event.fraction_done for event in events]
    assert fractions == sorted(fractions) and fractions[-1] < 1.0


def test_progress_reports_python_floats(monkeypatch: pytest.MonkeyPatch) -> None:
    # In-process, a search with synthesized trees reported np.float64(0.34) where a client's
    # events, read off the wire, carry 0.34 (the field's type is float).
    monkeypatch.setattr(run_module, "_PROGRESS_INTERVAL", 0.0)
    events: list[SearchProgress] = []
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    geometries = ["mirror", "contiguous", "synthesized"]
    budget = Budget(max_parameters=100_000, geometries=geometries, time_limit_seconds=None)
    recommend(task, budget, progress=events.append)
    assert events and {type(event.fraction_done) for event in events} == {float}


def test_an_empty_page_says_why_in_every_form_of_the_result() -> None:
    # Only the table said why a stopped search returned no design; JSON, YAML, the gRPC
    # response and the client's result had an empty list and no word of the reason.
    empty = _cut_before_any_tree(
        Budget(max_parameters=20_000, min_depth=3, time_limit_seconds=None)
    )
    assert empty.complete is False and not empty.recommendations
    reason = empty.empty_reason
    assert reason is not None and "longer time limit" in reason
    header = _header(render_search_result(empty, "table"))
    assert header.endswith(f"(search {reason})")
    assert json.loads(render_search_result(empty, "json"))["empty_reason"] == reason
    assert yaml.safe_load(render_search_result(empty, "yaml"))["empty_reason"] == reason
    message = search_result_to_proto(empty)
    assert message.empty_reason == reason
    assert search_result_from_proto(message) == empty
    assert parse_search_result(search_result_document(empty)) == empty
    designs = _cut_before_any_tree(Budget(max_parameters=20_000, time_limit_seconds=None))
    assert designs.recommendations and designs.empty_reason is None
    assert search_result_document(designs)["empty_reason"] is None
    assert search_result_to_proto(designs).empty_reason == ""


def _header(table: str) -> str:
    """A result table's header as read: its first paragraph, wrapped within the terminal."""
    return " ".join(table.split("\n\n")[0].split())
