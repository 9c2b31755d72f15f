"""The search's mixture pass (family ``mixture``): proposed on request, charged and scored truly."""

from __future__ import annotations

import base64
import itertools
import math
import re
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest
from pydantic import BaseModel

from advisor.cli.format import render_search_result
from advisor.model.architecture import Architecture, architecture_document, parse_architecture
from advisor.model.budget import Budget
from advisor.model.compute import COUNT_LIMIT
from advisor.model.presets import expand_task_preset
from advisor.model.results import (
    CARRIED_SHARE,
    CorrelationAnalysis,
    MemberFigure,
    Recommendation,
    SearchProgress,
    SearchResult,
    pools_text,
)
from advisor.model.task import Task, load_task, parse_task
from advisor.model.text import activations_text
from advisor.search import mixtures
from advisor.search import page as page_module
from advisor.search import run as run_module
from advisor.search.carriers import carriers
from advisor.search.mixtures import mixture_of, tree_budget
from advisor.search.recommend import recommend, score_architecture
from advisor.search.run import SearchRun
from advisor.seprank import analysis
from advisor.seprank.analysis import analyze
from advisor.seprank.mixture import LadderBounds
from advisor.stopping import StopSignal
from tests.support.clock import ManualClock
from tests.support.mixtures import member_trees

_TREES = ("contiguous", "mirror", "interleaved", "dilations")
_WITH_MIXTURES = Budget(
    max_parameters=3000, geometries=[*_TREES, "mixture"], time_limit_seconds=None, outputs=2
)
"""The budget the tests added with mixture paging share (on ``_local_and_mirrored(32)``)."""


def _local_and_mirrored(length: int) -> Task:
    mirror = expand_task_preset("symmetry", (length,))
    correlations = [
        {"name": c.name, "a": {"indices": c.a.tolist()}, "b": {"indices": c.b.tolist()}}
        for c in mirror
    ]
    return parse_task(
        {"input": {"shape": [length]}, "preset": "local", "correlations": correlations}
    )


def test_the_tree_budget_keeps_its_families_a_tuple_as_a_budget_does() -> None:
    # Copied with a list, the tree search's budget could be changed in place and had no hash.
    budget = Budget(max_parameters=9_000, geometries=["mirror", "mixture"])
    trees = tree_budget(budget)
    assert trees.geometries == ("mirror",)
    # Written out as set (a whole dump states max_window, which makes another budget).
    assert hash(trees) == hash(Budget.model_validate(trees.model_dump(exclude_unset=True)))


def test_a_task_two_trees_serve_by_halves_gets_a_mixture_that_beats_every_tree() -> None:
    task = _local_and_mirrored(32)
    budget = Budget(
        max_parameters=3000, geometries=[*_TREES, "mixture"], time_limit_seconds=None, outputs=2
    )
    result = recommend(task, budget)
    top = result.recommendations[0]
    assert top.architecture.family == "mixture" and top.architecture.mixture is not None
    assert top.parameters == top.architecture.parameters <= budget.max_parameters
    assert top.score == pytest.approx(score_architecture(task, budget, top.architecture), abs=1e-9)
    trees = recommend(task, budget.model_copy(update={"geometries": _TREES}))
    assert all(top.score > tree.score for tree in trees.recommendations)
    assert [r.rank for r in result.recommendations] == list(range(1, 6))
    members = [top.architecture.geometry, top.architecture.mixture.members[0].geometry]
    found = {t.architecture.geometry for t in trees.recommendations}
    assert set(members) <= found, "both members are trees the tree search recommends"


def test_a_mixture_is_held_to_the_compute_bound_its_trees_are_held_to() -> None:
    """A mixture costs both members' multiply-adds: it meets the default bound the practical
    search holds every tree to (here it was 970,368 against a bound of 528,384)."""
    task = _local_and_mirrored(64)
    budget = _WITH_MIXTURES.model_copy(update={"max_parameters": 50_000, "top_k": 8})
    bound = SearchRun(task, tree_budget(budget), StopSignal(), None).ladders.max_multiply_adds
    assert bound is not None
    result = recommend(task, budget)
    assert any(r.architecture.mixture is not None for r in result.recommendations)
    assert all(r.multiply_adds <= bound for r in result.recommendations)


def test_a_mixture_is_held_to_the_activation_bound_counting_both_members() -> None:
    # A mixture holds both members' hidden maps: one bound below the best mixture's count takes
    # a narrower mixture, and every design of the page, tree or mixture, is within it.
    task = _local_and_mirrored(32)
    unbounded = recommend(task, _WITH_MIXTURES).recommendations
    best = next(r for r in unbounded if r.architecture.mixture is not None)
    bound = best.activations - 1
    result = recommend(task, _WITH_MIXTURES.model_copy(update={"max_activations": bound}))
    mixed = [r for r in result.recommendations if r.architecture.mixture is not None]
    assert mixed and all(r.architecture != best.architecture for r in mixed)
    assert all(r.activations == r.architecture.activations <= bound for r in result.recommendations)


def test_mixtures_are_proposed_only_on_request() -> None:
    task = _local_and_mirrored(32)
    result = recommend(task, Budget(max_parameters=3000, time_limit_seconds=None, outputs=2))
    assert all(r.architecture.mixture is None for r in result.recommendations)


def test_trees_on_different_schedules_make_no_mixture() -> None:
    def tree(pools: list[int], geometry: object) -> object:
        layers = [{"channels": 4, "pool": [p]} for p in pools]
        return parse_architecture(
            {"input": {"shape": [16]}, "representation": 2, "layers": layers, "geometry": geometry}
        )

    reversed_order = {"permutation": list(range(15, -1, -1))}
    other = tree([4, 4], reversed_order)
    assert mixture_of(tree([2, 8], "contiguous"), other, [4, 4], 2) is None  # type: ignore[arg-type]
    both = mixture_of(tree([4, 4], "contiguous"), other, [4, 4], 2)  # type: ignore[arg-type]
    assert both is not None and both.mixture is not None
    assert parse_architecture(both.model_dump(mode="json", exclude_none=True)) == both


def test_a_mixture_past_the_count_limit_is_never_recommended() -> None:
    # Widths w with M = w: one member needs 30 w^2 + 17 w multiply-adds on 16 locations (the
    # search admits it: within COUNT_LIMIT), two of them about 60 w^2, past it.
    width = math.isqrt(COUNT_LIMIT // 30) - 1_000
    budget = Budget(
        max_parameters=2**62,
        channel_choices=[4, width],
        max_representation=width,
        geometries=["dilations", "mixture"],
        time_limit_seconds=None,
    )
    result = recommend(parse_task({"input": {"shape": [16]}, "preset": "symmetry"}), budget)
    assert result.recommendations
    for recommendation in result.recommendations:
        architecture = recommendation.architecture
        assert recommendation.multiply_adds <= COUNT_LIMIT
        assert parse_architecture(architecture_document(architecture)) == architecture


def test_a_stop_during_the_mixture_pass_ends_it_and_keeps_the_trees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = _local_and_mirrored(32)
    budget = Budget(
        max_parameters=3000, geometries=[*_TREES, "mixture"], time_limit_seconds=None, outputs=2
    )
    scored = mixtures._best_mixture
    pairs: list[int] = []
    stop = StopSignal()

    def first_pair_then_stop(*args: Any) -> Any:
        best = scored(*args)  # raises once the signal has stopped
        pairs.append(1)
        stop.cancel()  # the caller's signal: as the call being cancelled mid-pass
        return best

    monkeypatch.setattr(mixtures, "_best_mixture", first_pair_then_stop)
    monkeypatch.setattr(mixtures, "analyze", _never)
    result = recommend(task, budget, stop=stop)
    assert len(pairs) == 1 and result.complete is False
    assert result.recommendations, "the trees found are returned"
    assert all(r.architecture.family != "mixture" for r in result.recommendations)
    assert [r.rank for r in result.recommendations] == list(
        range(1, 1 + len(result.recommendations))
    )


def test_the_mixture_pass_counts_in_the_search_time(monkeypatch: pytest.MonkeyPatch) -> None:
    task = _local_and_mirrored(32)
    budget = Budget(
        max_parameters=3000, geometries=[*_TREES, "mixture"], time_limit_seconds=None, outputs=2
    )
    scored = mixtures._best_mixture
    pause = 0.2  # several pairs: a second or more, well above the tree search itself
    pairs: list[int] = []

    def slow(*args: Any) -> Any:
        pairs.append(1)
        time.sleep(pause)
        return scored(*args)

    monkeypatch.setattr(mixtures, "_best_mixture", slow)
    result = recommend(task, budget)
    assert len(pairs) >= 2, "several pairs share a schedule"
    assert result.search_seconds >= len(pairs) * pause


def test_the_first_recommendation_does_not_depend_on_the_page_length() -> None:
    # The mixture pass pairs the best trees the search found, not the page's: with one design
    # asked for, the mixture that beats every tree is still the #1.
    task = _local_and_mirrored(32)
    budget = Budget(
        max_parameters=3000, geometries=[*_TREES, "mixture"], time_limit_seconds=None, outputs=2
    )
    five = recommend(task, budget).recommendations
    one = recommend(task, budget.model_copy(update={"top_k": 1})).recommendations
    assert len(one) == 1 and five[0].architecture.family == "mixture"
    assert one[0].architecture == five[0].architecture and one[0].score == five[0].score


@pytest.mark.parametrize(
    ("geometries", "reason"),
    [(["mirror"], "not pooled alike"), (["contiguous", "mirror"], "below the last design")],
)
def test_a_request_for_mixtures_that_gets_none_is_told_why(
    geometries: list[str], reason: str
) -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(
        max_parameters=20_000,
        geometries=[*geometries, "mixture"],
        time_limit_seconds=None,
        top_k=2,
    )
    result = recommend(task, budget).recommendations
    assert result and all(r.architecture.mixture is None for r in result)
    for recommendation in result:
        note = recommendation.rationale.rpartition("No mixture is recommended: ")[2]
        assert reason in note, recommendation.rationale
    if reason == "below the last design":
        best, last = (float(x) for x in re.findall(r"scores ([0-9.]+), .*\(([0-9.]+)\)", note)[0])
        assert best < last == pytest.approx(result[-1].score, rel=1e-3)


def _never(*_: Any) -> Any:
    raise AssertionError("no mixture is analysed after the stop")


def test_a_mixture_left_out_at_the_stop_gives_its_place_to_the_next_design(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every pair is scored, then the deadline passes before the #1, a mixture, is analysed:
    # the page holds the best tree instead of nothing.
    task = _local_and_mirrored(32)
    budget = _WITH_MIXTURES.model_copy(update={"top_k": 1})
    expected = _pairs_scored(task, budget)
    scored, pairs = mixtures._best_mixture, []
    stop = StopSignal()

    def score_then_stop_at_the_last(*args: Any) -> Any:
        best = scored(*args)
        pairs.append(1)
        if len(pairs) == expected:
            stop.cancel()  # the caller's signal: as the call being cancelled
        return best

    monkeypatch.setattr(mixtures, "_best_mixture", score_then_stop_at_the_last)
    result = recommend(task, budget, stop=stop)
    assert len(pairs) == expected and result.complete is False
    [only] = result.recommendations
    assert only.architecture.family != "mixture" and only.rank == 1
    said = re.search(
        r"No mixture is recommended: the search was stopped before the (\d+) mixtures that "
        r"rank here could be analysed; a longer time limit returns them\.$",
        only.rationale,
    )
    assert said is not None, only.rationale
    # Left out: the mixtures the whole ranking puts above its best tree, which takes the page.
    ranking = recommend(task, budget.model_copy(update={"top_k": 10})).recommendations
    first_tree = next(r for r in ranking if r.architecture.family != "mixture")
    assert int(said.group(1)) == first_tree.rank - 1 >= 2
    assert only.architecture == first_tree.architecture


def _pairs_scored(task: Task, budget: Budget) -> int:
    """How many pairs of trees the mixture pass scores for ``task`` under ``budget``."""
    counted: list[int] = []
    scored = mixtures._best_mixture

    def count(*args: Any) -> Any:
        counted.append(1)
        return scored(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mixtures, "_best_mixture", count)
        recommend(task, budget)
    return len(counted)


def test_the_pages_of_a_search_with_mixtures_join_into_its_ranking() -> None:
    task = _local_and_mirrored(32)
    budget = _WITH_MIXTURES
    whole = recommend(task, budget.model_copy(update={"top_k": 12}))
    pages: list[SearchResult] = []
    token: str | None = None
    while len(pages) < 4:
        page = recommend(task, budget.model_copy(update={"top_k": 3, "page_token": token}))
        pages.append(page)
        token = page.next_page_token
        if token is None:
            break
    joined = [r for page in pages for r in page.recommendations]
    assert [(r.rank, r.architecture, r.score) for r in joined] == [
        (r.rank, r.architecture, r.score) for r in whole.recommendations[: len(joined)]
    ]
    assert len(joined) == 12 and pages[-1].next_page_token is not None
    assert sum(r.architecture.family == "mixture" for r in joined) >= 2
    assert whole.next_page_token is not None, "the ranking goes on past twelve designs"


def test_the_table_says_where_a_mixture_is_summed() -> None:
    task = _local_and_mirrored(32)
    budget = _WITH_MIXTURES.model_copy(update={"top_k": 1})
    result = recommend(task, budget)
    top = result.recommendations[0]
    assert top.architecture.mixture is not None and top.architecture.mixture.mixing == ()
    assert "summed at the root only" in render_search_result(result, "table")
    # The text only: two levels shared, as a mixture of trees alike below the top would be (so
    # copied unchecked, past the validation of an architecture's copy, which refuses it here).
    mixing = top.architecture.mixture.model_copy(update={"mixing": (1, 3)})
    unchecked = BaseModel.model_copy(top.architecture, update={"mixture": mixing})
    shared = replace(top, architecture=unchecked)
    table = render_search_result(replace(result, recommendations=[shared]), "table")
    assert "summed after levels 1, 3 and at the root" in table
    # One level is one level ("after levels: 9" before), in the table as in the rationale.
    assert mixing.model_copy(update={"mixing": (9,)}).summed_where() == (
        "after level 9 and at the root"
    )
    assert "summed at the root only: " in top.rationale


def test_trees_and_mixtures_say_their_activations_and_the_memory_of_a_batch() -> None:
    result = recommend(_local_and_mirrored(32), _WITH_MIXTURES.model_copy(update={"top_k": 3}))
    assert {r.architecture.mixture is None for r in result.recommendations} == {True, False}
    table = " ".join(render_search_result(result, "table").split())
    for recommendation in result.recommendations:
        said = activations_text(recommendation.architecture.activations)
        assert recommendation.activations == recommendation.architecture.activations
        assert said in recommendation.summary and said in " ".join(recommendation.rationale.split())
        assert said in table


def test_a_mixture_rationale_says_how_it_fits_the_task_in_the_analysis_figures() -> None:
    task = _local_and_mirrored(32)
    result = recommend(task, _WITH_MIXTURES.model_copy(update={"top_k": 1}))
    top = result.recommendations[0]
    assert top.architecture.mixture is not None
    figures = {c.name: c.log2_separation_rank for c in top.analysis}
    short = re.findall(r"'([^']+)' at \d+% \(([\d,.]+) of", top.rationale)
    assert short, top.rationale
    for name, bits in short:
        assert float(bits.replace(",", "")) == pytest.approx(figures[name], abs=0.05)
    # The score as a tree's rationale gives it: once, its lowering factors first where any.
    score = rf"Score {re.escape(f'{top.score:.4g}')}(: |, lowered by .*? That score is )"
    assert re.search(score + "the weighted mean fraction of the targets", top.rationale)
    # The description's relations, named as a tree's rationale names them.
    assert "read as a mirror about step 15.5" in top.rationale
    assert f"{top.multiply_adds:,} multiply-adds per input" in top.rationale
    # Its summary: what it is, the same shortfalls, and none of the score's long sentence.
    assert top.summary.startswith("A mixture [CTS18] of the ")
    assert re.findall(r"'([^']+)' at \d+% \(([\d,.]+) of", top.summary) == short
    assert "the weighted mean fraction" not in top.summary


def test_a_mixture_rationale_opens_with_every_sentence_its_summary_says() -> None:
    # On 15x15 at 60,000 parameters with --geometries mixture mirror contiguous, a mixture's
    # summary said "Its targets are the best the families searched (contiguous and mirror)
    # reach, so its score does not compare with a default search's."; its rationale did not.
    task = parse_task({"input": {"shape": [15, 15]}, "preset": "symmetry"})
    budget = Budget(
        max_parameters=60_000,
        geometries=["mixture", "mirror", "contiguous"],
        time_limit_seconds=None,
    )
    result = recommend(task, budget)
    paired = [r for r in result.recommendations if r.architecture.mixture is not None]
    assert paired
    for mixture in paired:
        summary, rationale = (" ".join(t.split()) for t in (mixture.summary, mixture.rationale))
        assert "so its score does not compare with a default search's." in summary
        said, _, carried = summary.partition(" Which member carries")
        assert rationale.startswith(said), rationale
        assert f"Which member carries{carried}" in rationale


def test_a_mixture_says_which_member_carries_each_correlation_with_its_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "The mixture rationale does not say which member carries which correlation": a mixture of
    # a mirror and a dilated tree gave one figure per correlation, none per member.
    task = _local_and_mirrored(32)
    result = recommend(task, _WITH_MIXTURES.model_copy(update={"top_k": 1}))
    top = result.recommendations[0]
    assert top.architecture.mixture is not None
    figures = {c.name: c for c in top.analysis}
    # Each member's figure is its own tree's, as the analysis of that tree alone gives it.
    for index, tree in enumerate(member_trees(top.architecture)):
        for alone in analyze(task, tree, price_contiguous=False).correlations:
            members = figures[alone.name].members
            assert members is not None
            member = members[index]
            assert member.log2_separation_rank == alone.log2_separation_rank
            assert member.certificate == alone.certificate
    halves, summed = figures["symmetry/halves"], figures["local/s1-mirrored"]
    assert halves.members is not None and summed.members is not None
    assert [m.log2_separation_rank for m in halves.members] == [64.0, 16.0]
    assert [m.log2_separation_rank for m in summed.members] == [32.0, 32.0]
    assert summed.log2_separation_rank == 33.0
    # The rationale says it in words, with the bits, from those figures.
    assert (
        "the mirror tree (member 0) carries 'symmetry/halves' (64 bits against 16)" in top.rationale
    )
    sum_only = "no member alone reaches the mixture's figure on 'local/s1-mirrored'"
    assert f"{sum_only} (33 bits against 32 and 32, {_HALF_SHARE})" in top.rationale
    assert re.search(r"the dilated tree of dilations [\d, ]+ \(member 1\) carries ", top.rationale)
    # The table: a column per member, its figure and certificate; within 80 columns, the
    # members' columns go on under their own header, beside the names again.
    monkeypatch.setenv("COLUMNS", "80")
    table = render_search_result(result, "table")
    assert re.search(r"symmetry/halves +1 +64 +64 +tight\n", table)
    assert re.search(r"correlation +member 0 +member 1\n", table)
    assert re.search(r"symmetry/halves +64 tight +16 tight\n", table)
    # Its why: says which tree each member is and what it carries, as the columns cannot.
    words = " ".join(table.split())
    assert "the mirror tree (member 0) carries 'symmetry/halves' (64 bits against 16)" in words
    assert f"{sum_only} (33 bits against 32 and 32, {_HALF_SHARE})" in words


_HALF_SHARE = "the best member alone 50% of the mixture's rank"
"""How a rationale says that of two equal members each reaches half the mixture's rank."""


def _summed(name: str, ranks: list[float]) -> CorrelationAnalysis:
    """Return a mixture's figures on ``name``: members of ``ranks``, the bound their sum's."""
    figure = math.log2(sum(ranks))
    members = tuple(MemberFigure(math.log2(r), "upper_bound") for r in ranks)
    return CorrelationAnalysis(name, figure, 2 * figure, "upper_bound", members=members)


def test_a_member_carries_a_correlation_alike_whatever_the_figures_magnitude() -> None:
    # 'sym' at 10,000 + 10 (13.289 against 13.288 bits) read "no member alone reaches the
    # mixture's figure (13.3 bits against 3.3 and 13.3)", while 2^73.36 + 24, whose sum a float
    # cannot tell from the member's figure, read "the interleaved tree (member 0) carries 'sym'".
    small, large = _summed("small", [10, 10_000]), _summed("large", [24, 2.0**73.36])
    assert large.log2_separation_rank == 73.36  # the float lost the + 24
    words = carriers(["contiguous tree", "interleaved tree"], [small, large])
    assert (
        "the interleaved tree (member 1) carries 'small' (13.3 bits against 3.3) and 'large' "
        "(73.4 bits against 4.6)"
    ) in words
    assert "no member alone reaches" not in words


def test_where_no_member_carries_a_correlation_its_best_share_says_why() -> None:
    # One-decimal bits read alike (13.3 against 13.3 and 3.3): the best member's share, rounded
    # down, says it falls short of the rule's, which the wording states.
    near = _summed("near", [10_000, 160])
    best = max(near.member_shares())
    assert CARRIED_SHARE > best > round(CARRIED_SHARE - 0.01, 2)
    words = carriers(["contiguous tree", "interleaved tree"], [near])
    shown = math.floor(best * 1000) / 10
    assert f"at least {CARRIED_SHARE:.0%} of the mixture's" in words
    assert (
        f"no member alone reaches the mixture's figure on 'near' (13.3 bits against 13.3 and 7.3, "
        f"the best member alone {shown:g}% of the mixture's rank)"
    ) in words
    assert f"{shown:g}%" != f"{CARRIED_SHARE:.0%}"


def test_a_mixture_says_its_members_scores_are_their_best_designs_not_its_own_members() -> None:
    # "the mirror tree (score 0.9439 alone at this budget) ..., both with M = 10 and widths
    # 64-64-64" read as the score of the member the mixture uses; 0.9439 is the score of the
    # tree's best design alone (M = 24, widths 80-80-80), which ranks beside the mixture. The
    # page is long enough to hold both paired trees' best designs on the mixture's schedule.
    task = load_task(Path(__file__).parents[1] / "examples" / "symmetry.yaml")
    budget = Budget(max_parameters=20_000, geometries=["mixture"], top_k=8)
    result = recommend(task, budget)
    mixture = next(r for r in result.recommendations if r.architecture.mixture is not None)
    schedule = [layer.pool for layer in mixture.architecture.layers]
    trees: dict[str | None, Recommendation] = {}
    for r in result.recommendations:
        # Each family's best design on the mixture's schedule: the tree its member is.
        if r.architecture.mixture is None and [layer.pool for layer in r.architecture.layers] == (
            schedule
        ):
            trees.setdefault(r.architecture.family, r)
    said = _PAIRED.search(mixture.summary)
    assert said, mixture.summary
    first, second, _, first_score, second_score, representation = said.groups()
    assert float(first_score) == pytest.approx(trees[first].score, abs=5e-5)
    assert trees[first].architecture.representation != int(representation)
    assert float(second_score) == pytest.approx(trees[second].score, abs=5e-5)


_PAIRED = re.compile(
    r"of the (\w+) tree and the (\w+) tree, the trees it pairs \(pools ([\dx ]+)\) scoring "
    r"([\d.]+) and ([\d.]+) alone at this budget, both here with M = (\d+)"
)
"""A mixture's opening: its members' trees, the schedule they share and their scores alone."""


def test_a_mixture_quotes_its_paired_trees_scores_on_its_schedule_not_as_the_best() -> None:
    # "whose best designs alone at this budget score 0.8651 and 0.08661": 0.08661 was the
    # interleaved tree on the mixture's pools 2 2 4, while the interleaved tree on pools
    # 2 2 2 2 scored 0.08843, ranked next to it.
    task = parse_task(
        {
            "input": {"shape": [16]},
            "correlations": [
                {"name": "halves", "a": {"preset": "left_half"}, "b": {"preset": "right_half"}},
                {"name": "evenodd", "a": {"preset": "even"}, "b": {"preset": "odd"}},
                {
                    "name": "ends",
                    "a": {"indices": [0, 1, 2, 3]},
                    "b": {"indices": [12, 13, 14, 15]},
                },
                {
                    "name": "pairs",
                    "a": {"indices": [0, 1, 4, 5, 8, 9, 12, 13]},
                    "b": {"indices": [2, 3, 6, 7, 10, 11, 14, 15]},
                },
            ],
        }
    )
    result = recommend(task, Budget(max_parameters=400, geometries=["mixture"], top_k=20))
    trees = [r for r in result.recommendations if r.architecture.mixture is None]
    checked = 0
    for mixture in (r for r in result.recommendations if r.architecture.mixture is not None):
        said = _PAIRED.search(mixture.summary)
        assert said, mixture.summary
        first, second, pools, first_score, second_score, _ = said.groups()
        assert pools == pools_text(mixture.architecture)
        for family, score in ((first, first_score), (second, second_score)):
            # The score quoted is a tree of that family on the mixture's own schedule ...
            assert any(
                r.architecture.family == family
                and pools_text(r.architecture) == pools
                and float(score) == pytest.approx(r.score, rel=5e-4)
                for r in trees
            ), (family, score)
            # ... which need not be the family's best (the sentence no longer says it is).
            best = max(r.score for r in trees if r.architecture.family == family)
            checked += best > float(score) * (1 + 5e-4)
    assert checked, "no mixture pairs a tree that another of its family outscores"
    assert not any("best designs" in r.rationale for r in result.recommendations)


def test_a_mixture_on_a_padded_grid_says_so_in_its_rationale() -> None:
    # A tree's rationale says "on the input padded to 16 (...)"; a mixture's said nothing of
    # the padding its members pool (docs/SIZES.md: "The padding is never silent").
    task = _local_and_mirrored(13)
    result = recommend(task, _WITH_MIXTURES.model_copy(update={"top_k": 1}))
    top = result.recommendations[0]
    assert top.architecture.mixture is not None and top.architecture.padding == ((1, 2),)
    assert (
        "on the input padded to 16 (constant margins before/after per axis: 1/2)"
        in top.rationale.split(". ")[0]
    ), top.rationale


def test_with_a_deadline_the_trees_pairs_and_analyses_each_end_in_time_for_the_reply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A frozen clock: nothing stops, and each phase's deadline is what the plan gave it. A
    # search that used the whole deadline for its trees, then paired and analysed mixtures
    # until the deadline itself, answered a gRPC call after it had expired.
    deadline = 100.0
    signal = StopSignal.after(deadline, clock=lambda: 0.0)
    seen: dict[str, list[float | None]] = {"trees": [], "pairing": [], "analyses": []}
    run_init, best_mixture, analyze = SearchRun.__init__, mixtures._best_mixture, analysis.analyze

    def trees(
        self: SearchRun, task: Task, budget: Budget, stop: StopSignal, *rest: Any, **options: Any
    ) -> None:
        seen["trees"].append(stop.deadline)
        run_init(self, task, budget, stop, *rest, **options)

    def pairing(*args: Any) -> Any:
        seen["pairing"].append(args[-1].deadline)
        return best_mixture(*args)

    def analyses(*args: Any, stop: StopSignal, **kwargs: Any) -> Any:
        seen["analyses"].append(stop.deadline)
        return analyze(*args, stop=stop, **kwargs)

    monkeypatch.setattr(SearchRun, "__init__", trees)
    monkeypatch.setattr(mixtures, "_best_mixture", pairing)
    monkeypatch.setattr(mixtures, "analyze", analyses)
    result = recommend(_local_and_mirrored(32), _WITH_MIXTURES, stop=signal)
    assert result.recommendations[0].architecture.family == "mixture"
    share = mixtures.MIXTURE_TIME_SHARE * deadline
    assert seen["trees"] == [deadline - share]
    # No build takes time on this clock, so the analyses keep none: the pairing ends with them.
    margin = deadline - mixtures._RESPONSE_SHARE * deadline
    assert set(seen["pairing"]) == set(seen["analyses"]) == {margin}


def test_a_deadline_brought_forward_leaves_each_phase_its_share_of_the_new_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server's drain moves a 100 s deadline to 8 s from now while the trees are searched.
    # Each phase keeps its share of the 8 s (a fixed lead of the 25 s the share first meant
    # stopped the trees at once, so a SIGTERM cut a search that had seconds left).
    drain = StopSignal(clock=lambda: 0.0)
    seen: dict[str, list[float]] = {"trees": [], "pairing": [], "analyses": []}
    run_init, best_mixture, analyze = SearchRun.__init__, mixtures._best_mixture, analysis.analyze

    def trees(
        self: SearchRun, task: Task, budget: Budget, stop: StopSignal, *rest: Any, **options: Any
    ) -> None:
        drain.bring_forward(8.0)
        seen["trees"].append(stop.remaining())
        run_init(self, task, budget, stop, *rest, **options)

    def pairing(*args: Any) -> Any:
        seen["pairing"].append(args[-1].remaining())
        return best_mixture(*args)

    def analyses(*args: Any, stop: StopSignal, **kwargs: Any) -> Any:
        seen["analyses"].append(stop.remaining())
        return analyze(*args, stop=stop, **kwargs)

    monkeypatch.setattr(SearchRun, "__init__", trees)
    monkeypatch.setattr(mixtures, "_best_mixture", pairing)
    monkeypatch.setattr(mixtures, "analyze", analyses)
    budget = _WITH_MIXTURES.model_copy(update={"time_limit_seconds": 100.0})
    result = recommend(_local_and_mirrored(32), budget, stop=drain)
    assert result.complete
    assert seen["trees"] == [pytest.approx(8.0 * (1 - mixtures.MIXTURE_TIME_SHARE))]
    assert seen["pairing"] and seen["analyses"]
    assert seen["pairing"] == pytest.approx(
        [8.0 * (1 - mixtures._RESPONSE_SHARE)] * len(seen["pairing"])
    )
    assert seen["analyses"] == pytest.approx(
        [8.0 * (1 - mixtures._RESPONSE_SHARE)] * len(seen["analyses"])
    )


def test_a_mixture_of_two_dilated_trees_names_each_member_by_its_dilation_order() -> None:
    task = parse_task(
        {
            "input": {"shape": [64]},
            "correlations": [
                {"name": "near", "a": {"preset": "even"}, "b": {"preset": "odd"}},
                {
                    "name": "far",
                    "a": {"box": {"start": [0], "stop": [16]}},
                    "b": {"box": {"start": [48], "stop": [64]}},
                    "relation": "shift",
                },
            ],
        }
    )
    budget = Budget(
        max_parameters=30_000, geometries=["dilations", "mixture"], top_k=3, time_limit_seconds=None
    )
    mixture = next(
        r for r in recommend(task, budget).recommendations if r.architecture.mixture is not None
    )
    opening = mixture.summary.partition(" Which member carries")[0]
    named = re.findall(r"the dilated tree of dilations ((?:\d+, )*\d+)", opening)
    assert len(named) == 2 and named[0] != named[1], mixture.summary
    # The rationale and the summary name them so again, with their member numbers, where they
    # say what each carries.
    for index, order in enumerate(named):
        carries = f"the dilated tree of dilations {order} (member {index}) carries"
        assert carries in mixture.rationale and carries in mixture.summary
    trees = recommend(task, budget.model_copy(update={"geometries": ("dilations",), "top_k": 10}))
    orders = {", ".join(map(str, r.dilations or ())) for r in trees.recommendations}
    assert set(named) <= orders


def _timed_builds(monkeypatch: pytest.MonkeyPatch, clock: ManualClock, seconds: float) -> None:
    """Make every recommendation the search builds take ``seconds`` on ``clock``."""
    built = page_module.build_recommendation

    def build(*args: Any, **kwargs: Any) -> Any:
        clock.now += seconds
        return built(*args, **kwargs)

    monkeypatch.setattr(page_module, "build_recommendation", build)


def _timed_pairs(monkeypatch: pytest.MonkeyPatch, clock: ManualClock, at: list[float]) -> None:
    """Make the k-th pair the mixture pass scores end at ``at[k]`` on ``clock`` (then hold)."""
    scored = mixtures._best_mixture
    ends = iter(at)

    def timed(*args: Any) -> Any:
        best = scored(*args)
        clock.now = next(ends, clock.now)
        return best

    monkeypatch.setattr(mixtures, "_best_mixture", timed)


def test_a_time_limit_the_pairs_fit_in_sees_them_all_paired_and_the_search_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The trees take no time on this clock; the 3 pairs take 80 s of the 100. The pairing used
    # to end at half the time the trees left, here 50 s, with nothing left for the analyses to
    # use the rest on: a 40 s search returned after 20 s, incomplete.
    task = _local_and_mirrored(32)
    assert _pairs_scored(task, _WITH_MIXTURES) == 3
    clock = ManualClock(0.0)
    _timed_pairs(monkeypatch, clock, [27.0, 54.0, 80.0])
    result = recommend(task, _WITH_MIXTURES, stop=StopSignal(100.0, clock=clock))
    assert result.complete is True
    assert result.recommendations[0].architecture.family == "mixture"
    assert "stopped" not in " ".join(r.rationale for r in result.recommendations)


def test_a_pairing_cut_by_the_deadline_says_so_on_every_recommendation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each tree build takes 1 s, so the analyses keep 2 builds for each of the 3 mixtures the
    # page may hold: the pairing ends 6 s before they must, and they run. The result is
    # incomplete, and every design says why, a mixture among them (before, only a page
    # without a mixture said the search was stopped).
    task = _local_and_mirrored(32)
    clock = ManualClock(0.0)
    _timed_builds(monkeypatch, clock, 1.0)
    _timed_pairs(monkeypatch, clock, [87.0])  # past the pairing's end, before the analyses'
    result = recommend(task, _WITH_MIXTURES, stop=StopSignal(100.0, clock=clock))
    assert result.complete is False
    assert any(r.architecture.mixture is not None for r in result.recommendations)
    said = (
        "The search was stopped after it paired 1 of the 3 pairs of its 6 best trees that "
        "share a pooling schedule into mixtures; a longer time limit lets it pair them all."
    )
    assert all(r.rationale.endswith(said) for r in result.recommendations)


def test_a_mixture_of_trees_whose_search_was_stopped_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    execute = SearchRun.execute

    def stopped(self: SearchRun) -> bool:
        execute(self)
        return False  # as a search whose clock ran out after its last tree

    monkeypatch.setattr(SearchRun, "execute", stopped)
    result = recommend(_local_and_mirrored(32), _WITH_MIXTURES)
    assert result.complete is False
    assert any(r.architecture.mixture is not None for r in result.recommendations)
    for recommendation in result.recommendations:
        assert "stopped early" in recommendation.rationale, recommendation.rationale


def test_the_pairing_leaves_the_analyses_the_builds_they_need_and_at_most_half() -> None:
    clock = ManualClock(0.0)
    stop = StopSignal(100.0, clock=clock)
    assert mixtures._pairing_share(stop, 0.0) == pytest.approx(1 - mixtures._RESPONSE_SHARE)
    assert mixtures._pairing_share(stop, 20.0) == pytest.approx(0.9 - 0.2)
    assert mixtures._pairing_share(stop, 80.0) == pytest.approx(1 - mixtures._ANALYSES_MOST)
    assert mixtures._pairing_share(StopSignal(clock=clock), 80.0) == pytest.approx(0.9)


def test_the_progress_goes_on_while_the_trees_are_paired(monkeypatch: pytest.MonkeyPatch) -> None:
    # On 224x224 the pairing is most of a mixture search (27 of 27.5 s): a bar that reached its
    # end with the trees' builds stood still while the pairs were scored.
    monkeypatch.setattr(run_module, "_PROGRESS_INTERVAL", 0.0)
    events: list[SearchProgress] = []
    seen: list[int] = []  # the events reported before each pair, and after the last
    scored = mixtures._best_mixture

    def counted(*args: Any) -> Any:
        seen.append(len(events))
        best = scored(*args)
        seen[-1:] = [seen[-1], len(events)]
        return best

    monkeypatch.setattr(mixtures, "_best_mixture", counted)
    recommend(_local_and_mirrored(32), _WITH_MIXTURES, progress=events.append)
    fractions = [event.fraction_done for event in events]
    assert fractions == sorted(fractions) and fractions[-1] < 1.0
    pairing = fractions[seen[0] : seen[-1]]
    assert len(pairing) > 3 and pairing[0] < pairing[-1]
    assert fractions[seen[0] - 1] <= mixtures.TREES_PROGRESS <= pairing[0]


def test_a_pair_the_deadline_cuts_midway_keeps_the_best_of_its_ladders_scored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # At this budget each pair has two ladders that can be its best. The trees' six builds take
    # 1 s each, so the pairing runs from 6 s to about 85 s of the 100 and the analyses to about
    # 91 s; the first ladder takes 80 s, so the stop comes before the first pair's second.
    # That pair's mixture was thrown away: the seconds of pairing returned none.
    task = _local_and_mirrored(32)
    budget = _WITH_MIXTURES.model_copy(update={"max_parameters": 10_000})
    clock = ManualClock(0.0)
    _timed_builds(monkeypatch, clock, 1.0)
    bound = LadderBounds.bound

    def slow(*args: Any) -> Any:
        clock.now += 80.0
        return bound(*args)

    monkeypatch.setattr(LadderBounds, "bound", slow)
    result = recommend(task, budget, stop=StopSignal(100.0, clock=clock))
    assert result.complete is False
    [mixture] = [r for r in result.recommendations if r.architecture.mixture is not None]
    architecture = mixture.architecture
    monkeypatch.setattr(LadderBounds, "bound", bound)
    assert mixture.score == pytest.approx(score_architecture(task, budget, architecture))
    assert "these widths are the first of its 2 width ladders" in mixture.rationale
    said = (
        "stopped before it paired any of the 3 pairs of its 6 best trees that share a pooling "
        "schedule into mixtures (and scored 1 of the 2 width ladders it scores for the next"
    )
    assert all(said in r.rationale for r in result.recommendations), mixture.rationale


@pytest.mark.parametrize("max_parameters", [3_000, 10_000, 40_000])
def test_scoring_only_undominated_ladders_finds_what_scoring_every_ladder_finds(
    monkeypatch: pytest.MonkeyPatch, max_parameters: int
) -> None:
    # The pairing scores only the fitting ladders no other fitting ladder dominates: the bound
    # never falls when a width grows, and a tie goes to the larger net. Scoring every fitting
    # ladder (the pairing before) must find the same mixtures.
    task = _local_and_mirrored(32)
    budget = _WITH_MIXTURES.model_copy(update={"max_parameters": max_parameters, "top_k": 8})

    def mixtures_found() -> list[tuple[float, str]]:
        result = recommend(task, budget)
        return [
            (r.score, repr(architecture_document(r.architecture)))
            for r in result.recommendations
            if r.architecture.mixture is not None
        ]

    pruned = mixtures_found()
    monkeypatch.setattr(mixtures, "maximal", lambda rows: np.ones(len(rows), dtype=bool))
    assert pruned and pruned == mixtures_found()


@pytest.mark.parametrize(
    ("geometries", "build_seconds", "ways"),
    [
        (_TREES, 0.0, ""),
        (
            _TREES,
            2.0,
            "; a longer time limit (the stop cut the tree search short) may give it pairs",
        ),
        (("mirror",), 0.0, "; another tree family in the geometries may give it pairs"),
    ],
)
def test_trees_not_pooled_alike_are_told_only_the_ways_to_pairs_still_open(
    monkeypatch: pytest.MonkeyPatch, geometries: tuple[str, ...], build_seconds: float, ways: str
) -> None:
    # A search that named every tree family, stopped early, was told "another tree family in
    # the geometries gives it pairs"; so was a complete one, whose best trees no family pools
    # alike. A stop leaves the longer time limit; only geometries that leave a family out, that.
    task = parse_task({"input": {"shape": [256]}, "preset": "symmetry"})
    budget = Budget(
        max_parameters=20_000, top_k=3, width_profile="free", geometries=[*geometries, "mixture"]
    )
    clock = ManualClock(0.0)
    _timed_builds(monkeypatch, clock, build_seconds)
    result = recommend(task, budget, stop=StopSignal(100.0, clock=clock))
    assert result.complete is (build_seconds == 0)
    pools = [pools_text(r.architecture) for r in result.recommendations]
    assert len(set(pools)) == len(pools) >= 2, pools
    for recommendation in result.recommendations:
        note = recommendation.rationale.rpartition("No mixture is recommended: ")[2]
        assert f"on one pooling schedule{ways}." in note, note


def test_trees_a_stop_left_unbuilt_are_told_in_the_callers_terms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The trees' page of a mixture search is not the caller's: it holds the 6 best trees
    # whatever top_k. Its builds take 30 s each of the 75 s the trees get, so two are built;
    # the caller's page of 3 was told "the page's designs ranked 3 to 6 could not be built".
    task = _local_and_mirrored(32)
    clock = ManualClock(0.0)
    _timed_builds(monkeypatch, clock, 30.0)
    budget = _WITH_MIXTURES.model_copy(update={"top_k": 3})
    result = recommend(task, budget, stop=StopSignal(100.0, clock=clock))
    assert result.complete is False
    said = "The search was stopped before it built its trees ranked 3 to 6 among the trees"
    for recommendation in result.recommendations:
        assert said in recommendation.rationale, recommendation.rationale
        assert "the page's designs ranked" not in recommendation.rationale
    if not any(r.architecture.mixture for r in result.recommendations):
        assert "trees built before the stop" in result.recommendations[0].rationale


def test_a_free_searchs_mixtures_take_its_widths_only() -> None:
    # A free search's widths are its choices (powers of two up to max_channels, M included);
    # its mixtures took the practical ladders' quarter steps, M = 20 among them.
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(
        max_parameters=8_000,
        top_k=8,
        width_profile="free",
        max_channels=32,
        geometries=["mixture"],
        time_limit_seconds=None,
    )
    result = recommend(task, budget)
    mixed = [r.architecture for r in result.recommendations if r.architecture.mixture]
    assert mixed
    allowed = set(budget.choices())
    for recommendation in result.recommendations:
        architecture = recommendation.architecture
        widths = {architecture.representation, *architecture.widths}
        if architecture.mixture is not None:
            widths |= {w for member in architecture.mixture.members for w in member.channels}
        assert widths <= allowed, (architecture.family, sorted(widths - allowed))


def _offset(token: str | None) -> int | None:
    """The ranking position a page token starts at (None: no token)."""
    if token is None:
        return None
    return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")[0])


@pytest.mark.parametrize("page", [1, 2])
def test_a_page_a_stop_left_short_hands_on_the_ranking_after_its_last_design(
    monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    # Two trees are built before the stop (30 s each of the 75 s the trees get), so the page
    # is short; its token started at the page's full length, past designs it never returned:
    # an empty second page handed on the third's token, and the second's designs were lost.
    task = _local_and_mirrored(32)
    budget = _WITH_MIXTURES.model_copy(update={"top_k": 5})
    token = recommend(task, budget).next_page_token if page == 2 else None
    assert _offset(token) in (None, 5)
    clock = ManualClock(0.0)
    _timed_builds(monkeypatch, clock, 30.0)
    stopped = budget.model_copy(update={"page_token": token})
    result = recommend(task, stopped, stop=StopSignal(100.0, clock=clock))
    assert result.complete is False and len(result.recommendations) < budget.top_k
    start = _offset(token) or 0
    if result.recommendations:
        assert result.recommendations[0].rank == start + 1
        assert _offset(result.next_page_token) == start + len(result.recommendations)
    else:
        assert result.next_page_token is None


def test_a_mixture_of_sampled_dilation_orders_says_they_were_sampled() -> None:
    """The search's notes end every rationale, a mixture's too: its members hang on the seed.

    On 128 steps the dilation orders are sampled by the seed; a mixture of two of them said
    nothing of it, while every tree of the page did.
    """
    task = parse_task({"input": {"shape": [128]}, "preset": "long_range"})
    budget = Budget(
        max_parameters=20_000,
        geometries=["dilations", "mixture"],
        top_k=2,
        time_limit_seconds=None,
        seed=5,
    )
    result = recommend(task, budget)
    assert any(r.architecture.mixture is not None for r in result.recommendations)
    for recommendation in result.recommendations:
        assert "Dilation orders were sampled (seed 5)" in recommendation.rationale


def test_a_mixture_that_only_ties_a_tree_ranks_after_it() -> None:
    """docs/FORMATS.md §5: the tree reaches the score alone, so it ranks first of the two."""
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "symmetry"})
    budget = Budget(
        max_parameters=30_000,
        channel_choices=[4, 8, 16],
        geometries=["mixture"],
        top_k=2,
        time_limit_seconds=None,
    )
    tree, mixture = recommend(task, budget).recommendations
    assert tree.architecture.mixture is None and mixture.architecture.mixture is not None
    assert tree.score == mixture.score and tree.parameters < mixture.parameters


def test_a_mixture_search_whose_deadline_cut_a_pricing_is_not_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The mixtures' analyses are cut as the trees' are: a design without the contiguous
    # comparison a full search gives it makes the result incomplete.
    cut = StopSignal()
    cut.cancel()
    whole = analysis.analyze

    def cut_pricing(task: Task, architecture: Any, **options: Any) -> Any:
        return whole(task, architecture, stop=options["stop"], pricing_stop=cut)

    monkeypatch.setattr(mixtures, "analyze", cut_pricing)
    result = recommend(_local_and_mirrored(32), _WITH_MIXTURES)
    mixed = [r for r in result.recommendations if r.architecture.mixture is not None]
    assert mixed and all(r.pricing_stopped for r in mixed)
    assert not result.complete


def test_a_mixture_of_some_families_says_its_targets_are_their_trees_best() -> None:
    # A tree of a --geometries search said that its families set the targets; a mixture did not.
    task = parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})
    geometries = ["contiguous", "mirror", "mixture"]
    budget = Budget(max_parameters=20_000, geometries=geometries, top_k=3, time_limit_seconds=None)
    designs = recommend(task, budget).recommendations
    assert any(d.architecture.mixture is not None for d in designs)
    for design in designs:
        brief, text = " ".join(design.summary.split()), " ".join(design.rationale.split())
        assert "Its targets are the best the families searched (contiguous and mirror)" in brief
        assert "the best any net of the families searched (contiguous and mirror) reaches" in text


def test_a_mixture_names_the_trees_it_is_measured_against_as_the_trees_do() -> None:
    # A mixture read "coherence 0.72 against the best tree's 1.00" where the trees' rationales
    # named that tree; every design names the same best and finest trees.
    task = parse_task({"input": {"shape": [3, 4]}, "preset": "local"})
    budget = Budget(max_parameters=2000, geometries=["mixture"], top_k=8, time_limit_seconds=None)
    designs = recommend(task, budget).recommendations
    leader = re.compile(r"the (best|finest) tree's [\d.]+( \((?:[^()]|\([^()]*\))*\))?")
    said: dict[str, set[str]] = {"best": set(), "finest": set()}
    mixtures_measured = 0
    for design in designs:
        found = list(leader.finditer(" ".join(design.rationale.split())))
        mixtures_measured += bool(found and design.architecture.mixture is not None)
        for match in found:
            assert match[2], match[0]
            said[match[1]].add(match[0])
    assert mixtures_measured, [d.rationale for d in designs]
    assert [len(phrases) for phrases in said.values()] == [1, 1], said


_TIE = "It ties the design ranked just above it on "
_LEADS = {
    "is a tree, which reaches that score alone",
    "leads by needing fewer parameters",
    "leads only by the order the search paired the trees in",
    "leads only by the search's listing order",
}


def _halves_and_neighbours(steps: int) -> Task:
    half = steps // 2
    return parse_task(
        {
            "input": {"shape": [steps]},
            "correlations": [
                {
                    "name": "halves",
                    "a": {"box": {"start": [0], "stop": [half]}},
                    "b": {"box": {"start": [half], "stop": [steps]}},
                },
                {
                    "name": "neighbours",
                    "a": {"indices": list(range(0, steps, 2))},
                    "b": {"indices": list(range(1, steps, 2))},
                },
            ],
        }
    )


@pytest.mark.parametrize(
    ("steps", "budget", "families"),
    [
        (16, 3_000, ("contiguous", "dilations", "mixture")),  # five mixtures of one score
        (16, 3_000, ("interleaved", "contiguous", "mixture")),  # tied trees below mixtures
        (8, 50_000, ("contiguous", "mirror", "mixture")),  # mixtures that tie a tree
    ],
)
def test_every_design_that_ties_the_one_above_says_so_and_what_ranks_that_first(
    steps: int, budget: int, families: tuple[str, ...]
) -> None:
    # Tied mixtures said nothing (ranked in the order their pairs were scored in), and a tree
    # ranked 5 below mixtures read "It ties the design ranked 1": its rank among the trees.
    limits = Budget(max_parameters=budget, geometries=families, top_k=8, time_limit_seconds=None)
    ranked = recommend(_halves_and_neighbours(steps), limits).recommendations
    ties = 0
    for above, below in itertools.pairwise(ranked):
        tied = above.score == below.score
        said = below.rationale.count(_TIE)
        assert said == tied, below.rank
        if not tied:
            continue
        ties += 1
        lead = below.rationale.split(_TIE)[1].split("and that one ", 1)[1].split(".")[0]
        assert lead in _LEADS
        if below.architecture.mixture is not None:
            # A tree before a mixture of its score; of two mixtures, the smaller first.
            assert (lead == "is a tree, which reaches that score alone") == (
                above.architecture.mixture is None
            )
            if above.architecture.mixture is not None:
                assert above.parameters <= below.parameters
                assert (lead == "leads by needing fewer parameters") == (
                    above.parameters < below.parameters
                )
        else:
            assert above.architecture.mixture is None  # tied trees stay together
    assert ties >= 1
    assert _TIE not in ranked[0].rationale


def _scored(keys: tuple[float, ...], parameters: int) -> Any:
    """A pair's best mixture as the ranking sees it: its score's keys and its parameters."""
    net = cast(Architecture, SimpleNamespace(parameters=parameters))
    return mixtures._Scored(keys, net, cast(Any, ()), (), 0.0)


@pytest.mark.parametrize(
    ("kind", "first", "second", "lead"),
    [
        # As trees rank: the score's next keys, then fewer parameters, then the listing order.
        ("weighted", _scored((0.5, 0.95), 47_500), _scored((0.5, 0.8), 40_000), "using more of"),
        ("maximin", _scored((0.5, 0.9, 0.7), 47_500), _scored((0.5, 0.6, 0.8), 40_000), "its mean"),
        ("weighted", _scored((0.5, 0.8), 40_000), _scored((0.5, 0.8), 47_500), "fewer parameters"),
        ("weighted", _scored((0.5, 0.8), 40_000), _scored((0.5, 0.8), 40_000), "paired the trees"),
        ("weighted", SimpleNamespace(score=0.5), _scored((0.5, 0.95), 10), "is a tree"),
    ],
)
def test_designs_of_one_score_rank_as_the_score_s_other_keys_then_their_parameters_say(
    kind: str, first: Any, second: Any, lead: str
) -> None:
    # Mixtures of one score were left in the order their pairs were scored in, though the
    # documented tie-break is the budget used (a maximin score's mean before it) and then fewer
    # parameters; and their rationales said nothing of the tie.
    for given in ([first, second], [second, first]):
        ranked = sorted(given, key=mixtures._rank_key)
        if "paired" not in lead:  # equal on every key: the order given stays
            assert ranked == [first, second]
    note = mixtures._tie_above([first, second], 2, kind)
    assert note.startswith("It ties the design ranked just above it on the score, and that one ")
    assert lead in note
    assert mixtures._tie_above([first, second], 1, kind) == ""
