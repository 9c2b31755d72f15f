"""Mixtures in the search (family ``mixture``, on request): two of the best trees, summed.

A task whose correlations are served by different trees (local structure by contiguous pooling,
mirror pairs by mirror pooling) gets from any single tree only one of them at full strength.
A mixture [CTS18] (:mod:`advisor.model.mixture`) runs two trees side by side and sums them at
every level where their nodes coincide (and at the root), so it can serve both, at twice the
parameters of one tree of its widths. This pass, run after the tree search, pairs the best
:data:`PAIRED_TREES` distinct trees it found (it keeps that many whatever ``top_k``, so the
ranking does not depend on the page's length) that share a pooling schedule, gives
both members the same practical width ladder (:mod:`advisor.search.profiles`; equal widths
satisfy the summing rule) and keeps, per pair, the ladder whose mixture scores best under the
search's own objective, charged its real parameter count (every member's convs) within
``max_parameters`` and the compute bound the trees were held to (``max_multiply_adds``, or a
practical search's default: a mixture costs both members' multiply-adds, and it is held to the
same bound as a tree), and ``max_activations`` where the budget sets it (a mixture holds both
members' hidden maps). As for a tree, only the fitting ladders no other fitting ladder dominates
are scored (the figure never falls when a width grows, and a tie goes to the larger net): a
handful per pair of the several hundred. Figures come from
:func:`advisor.seprank.mixture.log2_mixture_figure`, the figure the analysis reports (a pair's
ladders share its :class:`~advisor.seprank.mixture.LadderBounds`). Mixtures then
compete with the trees on score; the page's ``top_k`` designs of that ranking are returned, and
only the mixtures among them are analysed; when none is among the designs ranked down to the
page's end, every recommendation's rationale ends by saying why (a request for the family is
never silently answered without one). Pages continue the ranking as a tree search's do: the
tree search ranks from the first tree down to the page's end, so the pages of a complete search
join into one ranking. The pass polls the stop signal before every ladder it scores and every
mixture it analyses: stopped, it returns what it has (``complete`` false, and every
recommendation's rationale says what the stop cut: the pairs left unscored, the mixtures left
unanalysed, or the tree search; a mixture scored but not analysed gives its place to the next
design; a pair whose ladders the stop cut keeps the best of those scored, and says so), so a
time limit, a deadline, a cancellation or a shutdown drain cuts it as it cuts the tree search.

**Time.** With a deadline, the tree search takes at most ``1 -`` :data:`MIXTURE_TIME_SHARE` of
the time, and the pass starts when it ends: a tree search that ends early leaves the pass the
rest. The analyses end a tenth of the pass's time (:data:`_RESPONSE_SHARE`) before the deadline,
so the result reaches a gRPC caller within it; the pairing ends before them by the time kept for
them, :data:`_ANALYSIS_BUILDS` of the tree search's longest build for each mixture the page may
hold (at most :data:`_ANALYSES_MOST` of the pass's time, the margin included), and whatever the
pairing leaves goes to the analyses. A search that does all its work returns before its deadline,
``complete``. These are shares of the time (:meth:`~advisor.stopping.StopSignal.share`): a
deadline brought forward, as a server's shutdown drain does, shrinks each phase in proportion.
The pass's time counts in ``search_seconds``; the progress gives the tree search
:data:`TREES_PROGRESS` of it and the pairing the rest, one step per ladder scored.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError, StoppedError
from advisor.model.architecture import Architecture, Mixture, MixtureMember
from advisor.model.budget import Budget
from advisor.model.compute import COUNT_LIMIT
from advisor.model.mixture import coinciding_levels, member_widths
from advisor.model.results import Recommendation, SearchResult, pools_text
from advisor.model.task import Task
from advisor.model.text import activations_text, tree_name
from advisor.search.candidates import padding_text
from advisor.search.carriers import carriers
from advisor.search.coherence import Relation, architecture_coherence
from advisor.search.explain import fit, verdict
from advisor.search.notes import channel_note, stop_words, tie_sentence
from advisor.search.objective import Objective
from advisor.search.page import require_whole_ranking
from advisor.search.paging import PAST_THE_END, next_page_token
from advisor.search.profiles import ProfileRules, maximal, practical_profiles
from advisor.search.rationale_inputs import Design, Leaders, Scope
from advisor.seprank.analysis import analyze
from advisor.seprank.labels import correlation_labels, padded_labels
from advisor.seprank.mixture import LadderBounds, mixture_structure
from advisor.stopping import StopSignal
from advisor.version import RANKING_VERSION

__all__ = [
    "MIXTURE_TIME_SHARE",
    "PAIRED_TREES",
    "TREES_PROGRESS",
    "mixture_of",
    "tree_budget",
    "with_mixtures",
]

PAIRED_TREES = 6
"""The best trees paired into mixtures (15 pairs): each pair scores its undominated ladders."""

_ANALYSES_MOST = 0.5
"""The most of the mixture pass's time the pairing leaves for analysing the mixtures it ranks
and for the response (a fixed half of it, whatever the analyses took, left a 40 s search that
paired for 20 s with 20 s unused, its pairs cut short)."""

_ANALYSIS_BUILDS = 2.0
"""The time a mixture's analysis is kept, in tree builds (their pricing included): it analyses
both members' convs."""

_RESPONSE_SHARE = 0.1
"""The share of the mixture pass's time left unused, for the result to reach the caller."""

_TREES_STOPPED = (
    "The tree search was stopped early: this mixture pairs two of the best trees found so far."
)
"""The note of a mixture whose trees' search was stopped (the trees' rationales say it too)."""


MIXTURE_TIME_SHARE = 0.25
"""The share of a mixture search's time left, when it has a deadline, for pairing the trees and
analysing the mixtures: a tree search that used it all left the mixtures no time, and a gRPC
call's deadline passed while the pairs and the analyses ran on."""

TREES_PROGRESS = 1.0 - MIXTURE_TIME_SHARE
"""The share of a mixture search's progress its tree search spans (the share of the time it
may take), the pairing the rest: a bar that reached its end with the trees stood still while
the pairs were scored, most of the search on a large input (27 of 27.5 s on 224x224)."""


def tree_budget(budget: Budget, offset: int = 0) -> Budget:
    """Return the budget the tree search runs on: mixtures are built afterwards from its trees.

    Without the ``mixture`` family, ``budget`` itself. With it, the tree search ranks from the
    first tree down to the end of the page that starts at ``offset`` (at most that many trees
    precede the page's end in the ranking of trees and mixtures), and at least the
    :data:`PAIRED_TREES` best trees, whatever ``top_k``, so the mixtures paired from them, and
    hence the ranking, do not depend on the page's length.
    """
    if "mixture" not in budget.families():
        return budget
    trees = tuple(family for family in budget.families() if family != "mixture") or None
    top_k = max(offset + budget.top_k, PAIRED_TREES)
    return budget.model_copy(update={"geometries": trees, "top_k": top_k, "page_token": None})


class _Pairing(StopSignal):
    """The pairing's stop signal, which reports the share of the pairing done as it is polled.

    The pairing polls it before every pair and every ladder of a pair, ``polls`` in all: the
    share done is the share of those polls made before this one (less than 1 until the end).
    """

    def __init__(
        self,
        parent: StopSignal,
        share: float,
        polls: int,
        report: Callable[[float], None] | None,
    ) -> None:
        super().__init__(parent=parent, share=share)
        self._polls, self._polled, self._report = polls, 0, report

    def stopped(self) -> bool:
        """Report the share done, then poll the deadline."""
        if self._report is not None:
            self._report(min(self._polled / self._polls, 1.0))
        self._polled += 1
        return super().stopped()


@dataclass(frozen=True)
class _Scored:
    """A pair's best mixture; ``ladders`` is (scored, of) when a stop cut its ladders short."""

    score: tuple[float, ...]
    architecture: Architecture
    members: tuple[Recommendation, Recommendation]
    log2_ranks: tuple[float, ...]
    coherence: float
    ladders: tuple[int, int] | None = None


class _PairCutError(StoppedError):
    """A stop came while a pair's ladders were scored: the best of those scored, if any fit.

    Its figures are the mixture's own, so it competes as every mixture does; its rationale
    says that more ladders were left (a pair cut midway used to be thrown away, and with it
    seconds of pairing on a large input).
    """

    def __init__(self, best: _Scored | None, scored: int, ladders: int) -> None:
        super().__init__("the mixture pass was stopped")
        self.best = None if best is None else replace(best, ladders=(scored, ladders))
        self.scored, self.ladders = scored, ladders


def with_mixtures(
    task: Task,
    budget: Budget,
    result: SearchResult,
    objective: Objective,
    relations: Sequence[Relation],
    stop: StopSignal,
    offset: int = 0,
    *,
    caller: StopSignal,
    scope: Scope = "complete",
    reading: Sequence[str] = (),
    searched: Sequence[str] = (),
    leaders: Leaders,
    notes: Sequence[str] = (),
    max_multiply_adds: int | None,
    build_seconds: float,
    unbuilt: int = 0,
    progress: Callable[[float], None] | None = None,
) -> SearchResult:
    """Add the best mixture of every pair of ``result``'s trees; return the page at ``offset``.

    ``max_multiply_adds`` is the compute bound the trees were held to (the budget's, or the
    practical search's default), which the mixtures are held to as well. ``build_seconds`` is
    the longest tree build the search measured, its pricing included: the analyses' time is
    kept in such builds. ``unbuilt`` trees of ``result``'s page were ranked but a stop came
    before they were built. ``progress`` is told the share of the pairing done, in ladders, as
    it goes. ``notes`` are the tree search's notes on the search as a whole
    (:func:`~advisor.search.notes.search_notes`), which every mixture's rationale carries too, as
    every tree's does.
    ``result`` ranks the trees from the first (:func:`tree_budget`); ``relations`` are the
    description's, as the tree search read them, where ``objective`` weighs coherence (else
    none), and ``reading`` says them in words for the rationales; ``scope`` is what the
    objective's targets are (:data:`~advisor.search.rationale_inputs.Scope`), ``searched``
    the families whose best they are where the budget left out a default one
    (:func:`~advisor.search.page.families_searched`), ``leaders`` the trees a lower coherence
    and a larger discard are measured against (:func:`~advisor.search.page.leaders`), named
    as the trees' rationales name them. The page holds the
    ``top_k`` best designs after the first ``offset`` of the trees and mixtures ranked together,
    with a token for the next page when more are ranked, as a tree search's page does
    (:mod:`advisor.search.paging`). A page after the first whose pairing ``stop`` cut is
    refused as a tree search's is (:func:`~advisor.search.page.require_whole_ranking`, where
    ``caller`` is the signal the caller gave, before the budget's time limit).
    """
    started = time.perf_counter()
    _, remedy = stop_words(stop)  # what would have given the search more time
    # The analyses end a margin before the deadline, in which the result still reaches a
    # caller whose deadline this is; the pairing takes the time before them.
    analyses = stop.share(1.0 - _RESPONSE_SHARE)
    rules = _mixture_rules(budget, budget.outputs_for(task.outputs))
    labels = correlation_labels(task.resolved(), task.input.num_locations)
    trees = [r for r in result.recommendations if r.architecture.family != "shallow"]
    trees = trees[:PAIRED_TREES]
    pairs = [
        (first, second)
        for first, second in itertools.combinations(trees, 2)
        if _pairable(first.architecture, second.architecture)
    ]
    reserve = min(budget.top_k, len(pairs)) * _ANALYSIS_BUILDS * build_seconds
    limits = (budget.max_parameters, max_multiply_adds, budget.max_activations)
    contending = [
        (first, second, _contenders(first, second, limits, rules)) for first, second in pairs
    ]
    ladders = sum(1 + len(mixtures) for _, _, mixtures in contending)
    pairing = _Pairing(stop, _pairing_share(stop, reserve), ladders, progress)
    scored = []
    complete = result.complete
    # Whether the ranking is the whole search's: every tree scored (the targets' scope says
    # so) and every pair; builds and analyses a stop cut leave it whole.
    ranking_whole = scope == "complete"
    paired = 0  # the pairs scored before any stop
    cut: tuple[int, int] | None = None  # the ladders of the pair the stop cut: scored, of
    try:
        for first, second, mixtures in contending:
            best = _best_mixture(first, second, mixtures, objective, labels, relations, pairing)
            paired += 1
            if best is not None:
                scored.append(best)
    except _PairCutError as pair:
        complete, ranking_whole, cut = False, False, (pair.scored, pair.ladders)
        if pair.best is not None:
            scored.append(pair.best)
    except StoppedError:
        complete = ranking_whole = False
    if not ranking_whole:
        require_whole_ranking(stop, caller, offset)
    contenders: list[Recommendation | _Scored] = [*result.recommendations, *scored]
    ranked = sorted(contenders, key=_rank_key)
    more_trees = result.next_page_token is not None
    if complete and not more_trees and 0 < offset >= len(ranked):
        raise InvalidRequestError.single(
            "budget.page_token", PAST_THE_END.format(count=len(ranked))
        )
    recommendations: list[Recommendation] = []
    left_out = 0  # mixtures ranked here but not analysed in time: the next designs take their place
    # The ranking's position after the page's last design: the next page starts there. A page
    # a stop left short or empty ends at its last design, as a tree search's page does
    # (the page's full length skipped ranked designs: an empty second page handed on the
    # token of the third, and the second page's designs were never returned).
    end = offset
    for position, entry in enumerate(ranked[offset:], offset + 1):
        if len(recommendations) == budget.top_k:
            break
        if isinstance(entry, Recommendation):
            recommendations.append(entry)
            end = position
            continue
        tie = _tie_above(ranked, position, objective.kind)
        try:
            recommendations.append(
                _recommendation(
                    task,
                    entry,
                    objective,
                    scope,
                    reading,
                    searched,
                    leaders,
                    [*notes, tie] if tie else notes,
                    analyses,
                )
            )
            end = position
        except StoppedError:
            complete, left_out = False, left_out + 1
    # A mixture whose contiguous pricing the stop cut was analysed, not in full (as a tree's).
    complete = complete and not any(r.pricing_stopped for r in recommendations)
    # Trees built after these were ranked and not built: they may rank on this page.
    built = len(result.recommendations)
    if unbuilt and built < offset + budget.top_k:
        note = _trees_unbuilt(built, unbuilt, remedy)
        recommendations = [r.noted(note) for r in recommendations]
    # A stop in the tree search: the trees' rationales say it, and the mixtures' say it too.
    if not result.complete:
        recommendations = [
            r.noted(_TREES_STOPPED) if r.architecture.mixture else r for r in recommendations
        ]
    stopped = _stopped(len(trees), len(pairs), paired, left_out, remedy, cut)
    earlier = any(isinstance(entry, _Scored) for entry in ranked[:offset])
    if recommendations and not earlier and not any(r.architecture.mixture for r in recommendations):
        why = stopped or _none_recommended(
            len(trees),
            len(pairs),
            scored,
            recommendations[-1],
            cut=unbuilt > 0,
            trees_stopped=not result.complete,
            left_out=bool(searched),
            remedy=remedy,
        )
        recommendations = [r.noted(f"No mixture is recommended: {why}") for r in recommendations]
    elif stopped:
        recommendations = [r.noted(stopped[0].upper() + stopped[1:]) for r in recommendations]
    # Ranks past a stop that left trees or pairs unscored are not the search's: a next page,
    # a whole search, would skip the designs ranked below their place (as a tree search's).
    more = more_trees or (ranking_whole and len(ranked) > end)
    token = next_page_token(task, budget, end) if recommendations and more else None
    return SearchResult(
        recommendations=[
            replace(r, rank=rank) for rank, r in enumerate(recommendations, offset + 1)
        ],
        candidates_evaluated=result.candidates_evaluated + len(scored),
        search_seconds=result.search_seconds + (time.perf_counter() - started),
        complete=complete,
        next_page_token=token,
        ranking_version=RANKING_VERSION,
    )


def _pairing_share(stop: StopSignal, analyses: float) -> float:
    """Return the share of the time left that the pairing takes: all of it but the analyses'.

    The analyses keep ``analyses`` seconds and the response margin, at most
    :data:`_ANALYSES_MOST` of the time left; the pairing ends there, and whatever it does not
    use goes to the analyses. As a share, a deadline brought forward (a server's drain) shrinks
    both in proportion; without a deadline, the share bounds nothing.
    """
    left = stop.remaining()
    kept = analyses / left if 0.0 < left < math.inf else 0.0
    return 1.0 - min(_RESPONSE_SHARE + kept, _ANALYSES_MOST)


def _score(entry: Recommendation | _Scored) -> float:
    """Return the score, negated: the key of the best first (of equals, the first listed)."""
    return -(entry.score[0] if isinstance(entry, _Scored) else entry.score)


def _rank_key(entry: Recommendation | _Scored) -> tuple[float | bool, ...]:
    """Rank key, best first: the score, then a tree before a mixture that only ties it.

    A tree reaches that score alone. Mixtures of equal score rank as trees do: by the score's
    other keys (the mean fraction after a maximin score's least one, then the share of the
    budget used), then by fewer parameters (they were left in the order their pairs were scored
    in, which no rationale said); the sort is stable, so the trees keep the tree search's order
    and mixtures equal on all of it the pairing order.
    """
    if isinstance(entry, _Scored):
        return (
            _score(entry),
            True,
            *(-key for key in entry.score[1:]),
            entry.architecture.parameters,
        )
    return (_score(entry), False)


def _tie_above(ranked: Sequence[Recommendation | _Scored], position: int, kind: str) -> str:
    """Say that the mixture ranked ``position`` ties the design above, and what ranks that first.

    Empty for the first design and where the scores differ; a tree's rationale says the same of
    the tree above it (:func:`~advisor.search.notes.tie_above`). ``kind`` is the objective's.
    """
    if position == 1:
        return ""
    entry = ranked[position - 1]
    assert isinstance(entry, _Scored), "a tree's rationale is written before the ranking"
    if _score(ranked[position - 2]) != _score(entry):
        return ""
    above = ranked[position - 2]
    if not isinstance(above, _Scored):
        lead = "is a tree, which reaches that score alone"
    elif above.score[1:] != entry.score[1:]:
        # A maximin score's next key is the mean fraction; the budget's share comes last.
        mean = kind == "maximin" and above.score[1] != entry.score[1]
        lead = (
            f"leads by {'its mean fraction of the targets' if mean else 'using more of the budget'}"
        )
    elif above.architecture.parameters < entry.architecture.parameters:
        lead = "leads by needing fewer parameters"
    else:
        lead = "leads only by the order the search paired the trees in"
    return tie_sentence("the score", lead)


def mixture_of(
    first: Architecture, second: Architecture, widths: Sequence[int], representation: int
) -> Architecture | None:
    """Return the mixture of two trees on one schedule with these widths, or None.

    The members keep their geometries; both take ``widths``; they are summed at every level
    where their nodes cover the same locations. None when the schedules or paddings differ.
    """
    mixing = _mixing(first, second)
    return None if mixing is None else _summed(first, second, mixing, widths, representation)


def _mixing(first: Architecture, second: Architecture) -> tuple[int, ...] | None:
    """Return the levels where two trees' nodes coincide, or None when they cannot be summed."""
    if not _pairable(first, second):
        return None
    return coinciding_levels([first.geometry, second.geometry], first.schedule)


def _summed(
    first: Architecture,
    second: Architecture,
    mixing: tuple[int, ...],
    widths: Sequence[int],
    representation: int,
) -> Architecture:
    """Return the mixture of two pairable trees summed at ``mixing``, with these widths."""
    layers = tuple(
        layer.model_copy(update={"channels": int(width)})
        for layer, width in zip(first.layers, widths, strict=True)
    )
    return Architecture.trusted(
        input=first.input,
        representation=representation,
        layers=layers,
        geometry=first.geometry,
        outputs=first.outputs,
        family="mixture",
        representation_kernel=first.representation_kernel,
        padding=first.padding,
        mixture=Mixture(
            members=(MixtureMember(geometry=second.geometry, channels=tuple(map(int, widths))),),
            mixing=mixing,
        ),
    )


def _mixture_rules(budget: Budget, outputs: int) -> ProfileRules:
    """Return the ladders' rules of the mixtures of a search under ``budget``.

    A practical search's; a free search's widths are its choices alone (powers of two by
    default), which the practical ladders' quarter steps are not: its mixtures took M = 20 where
    every width of the search, M included, was a power of two.
    """
    rules = ProfileRules.for_budget(budget, outputs)
    if budget.width_profile == "free":
        return replace(rules, choices=tuple(budget.choices()))
    return rules


def _pairable(first: Architecture, second: Architecture) -> bool:
    """Whether two trees can be summed: one pooling schedule, one padding, no overlaps."""
    return (
        [layer.pool for layer in first.layers] == [layer.pool for layer in second.layers]
        and first.padding == second.padding
        and not (first.is_overlapping or second.is_overlapping)
    )


def _stopped(
    trees: int,
    pairs: int,
    paired: int,
    left_out: int,
    remedy: str,
    ladders: tuple[int, int] | None = None,
) -> str | None:
    """Say, in a clause, why the mixture pass is incomplete; None when it did all its work.

    ``pairs`` of the ``trees`` best trees share a schedule, ``paired`` of them were scored
    before a stop, which came after ``ladders`` = (scored, of) of the next pair's width
    ladders (None: between pairs); ``left_out`` mixtures ranked on the page but the stop came
    before they were analysed. The search's result is then incomplete: every recommendation
    says why, as a stopped tree search's do, and what gives it more time (``remedy``,
    :func:`~advisor.search.notes.stop_words`).
    """
    cut = []
    if paired < pairs:
        done = f"after it paired {paired}" if paired else "before it paired any"
        partly = (
            f" (and scored {ladders[0]} of the {ladders[1]} width ladders it scores for the "
            "next, whose best mixture so far competes)"
            if ladders is not None and ladders[0]
            else ""
        )
        cut.append(
            f"{done} of the {pairs} pairs of its {trees} best trees that share a pooling "
            f"schedule into mixtures{partly}"
        )
    if left_out:
        cut.append(f"before {_ranked_here(left_out)} could be analysed")
    if not cut:
        return None
    more = "returns them" if paired == pairs else "lets it pair them all"
    return f"the search was stopped {' and '.join(cut)}; {remedy} {more}."


def _none_recommended(
    trees: int,
    pairs: int,
    scored: Sequence[_Scored],
    last: Recommendation,
    *,
    remedy: str,
    cut: bool = False,
    trees_stopped: bool = False,
    left_out: bool = False,
) -> str:
    """Say why no mixture is among the recommendations of a pass that did all its work.

    ``trees`` were paired (the best trees found; ``cut``: those built before a stop left the
    others unbuilt), ``pairs`` of them share a schedule, ``scored`` are the best mixtures of
    the pairs that fit the budget, ``last`` is the page's last design. Where no two trees are
    pooled alike, the ways to pairs are those open (:func:`_ways_to_pairs`): ``trees_stopped``,
    the tree search was stopped before it scored every tree (``remedy`` gives it more time);
    ``left_out``, the geometries leave out a default tree family.
    """
    held = "built before the stop" if cut else "found"
    if trees < 2:
        found = "no tree" if trees == 0 else "one tree"
        had = f"has {found} built before the stop" if cut else f"found {found}"
        return f"the search {had} to pair (a mixture sums two trees)."
    if pairs == 0:
        which = (
            f"the two trees {held} are not"
            if trees == 2
            else f"no two of the {trees} best trees {held} are"
        )
        return (
            f"{which} pooled alike, and a mixture sums two trees on one pooling schedule"
            f"{_ways_to_pairs(remedy if cut or trees_stopped else None, left_out)}."
        )
    if not scored:
        return (
            f"none of the {pairs} pairs of the {trees} best trees that share a schedule "
            "fits the budget as a mixture, which costs both members' parameters and "
            "multiply-adds."
        )
    best = min(scored, key=_score)
    return (
        f"the best of {len(scored)} mixtures of the {trees} best trees scores "
        f"{best.score[0]:.4g}, below the last design here ({last.score:.4g})."
    )


def _ways_to_pairs(remedy: str | None, left_out: bool) -> str:
    """Say what may give the mixture pass trees pooled alike, as a clause after a semicolon.

    ``remedy`` where a stop cut the tree search (None where none did: a longer time limit,
    mostly, :func:`~advisor.search.notes.stop_words`), another tree family
    where the geometries leave out a default one (``left_out``); '' where neither is open: a
    complete search of every default family found no two of its best trees pooled alike.
    """
    ways = [
        *([f"{remedy} (the stop cut the tree search short)"] if remedy else []),
        *(["another tree family in the geometries"] if left_out else []),
    ]
    return f"; {' or '.join(ways)} may give it pairs" if ways else ""


def _trees_unbuilt(built: int, unbuilt: int, remedy: str) -> str:
    """Say that the trees ranked after the ``built`` first were left unbuilt by a stop."""
    which = (
        f"its tree ranked {built + 1}"
        if unbuilt == 1
        else f"its trees ranked {built + 1} to {built + unbuilt}"
    )
    return (
        f"The search was stopped before it built {which} among the trees, which may rank on "
        f"this page; {remedy} builds them."
    )


def _ranked_here(count: int) -> str:
    return "the mixture that ranks here" if count == 1 else f"the {count} mixtures that rank here"


def _contenders(
    first: Recommendation,
    second: Recommendation,
    bounds: tuple[int, int | None, int | None],
    rules: ProfileRules,
) -> list[Architecture]:
    """Return the pair's mixtures at the practical ladders that can be its best, in their order.

    A ladder fits within ``bounds``: the parameters, the multiply-adds and the activations
    (None: no bound). Of
    the fitting ladders only those no other fitting ladder dominates (no width smaller, one
    larger) are kept, as a tree's are (:func:`~advisor.search.profiles.maximal`): the figure
    never falls when a width or M grows, and a tie goes to the larger share of the budget. Empty
    when the trees cannot be summed or no ladder fits.
    """
    max_parameters, max_multiply_adds, max_activations = bounds
    trees = first.architecture, second.architecture
    mixing = _mixing(*trees)
    if mixing is None:
        return []
    rows = practical_profiles(len(trees[0].layers), rules)
    # Both members take each row's widths. The search's widths keep each member within
    # COUNT_LIMIT (recommend checks its widest net), so two members' count cannot wrap int64,
    # but it may pass the limit, past which the mixture could not be counted (nor parsed back).
    parameters, compute, held = trees[0].summed_counts(rows, members=len(trees))
    fits = (compute <= COUNT_LIMIT) & (parameters <= max_parameters)
    if max_multiply_adds is not None:
        fits &= compute <= max_multiply_adds
    if max_activations is not None:
        fits &= held <= max_activations
    fitting = rows[fits]
    return [
        _summed(*trees, mixing, [int(w) for w in row[1:]], int(row[0]))
        for row in fitting[maximal(fitting)]
    ]


def _best_mixture(
    first: Recommendation,
    second: Recommendation,
    mixtures: Sequence[Architecture],
    objective: Objective,
    labels: npt.NDArray[np.int8],
    relations: Sequence[Relation],
    stop: StopSignal,
) -> _Scored | None:
    """Score the pair's ``mixtures`` (:func:`_contenders`); return the best, or None.

    ``relations`` are the description's where the objective weighs coherence, else none.
    ``stop`` is polled before the pair (:class:`~advisor.errors.StoppedError`) and before every
    ladder (:class:`_PairCutError`, with the best of the ladders scored before it).
    """
    if stop.stopped():
        raise StoppedError("the mixture pass was stopped")
    if not mixtures:
        return None
    # What the widths do not change is built once per pair: where the members coincide, their
    # structure and the labels on their grid, in the bounds (which take each ladder's widths).
    grid = mixtures[0]
    padded = padded_labels(labels, grid.input.shape, grid.padding)
    recurrence = LadderBounds(mixture_structure(grid), padded)
    best: _Scored | None = None
    coherent: float | None = None
    for done, mixture in enumerate(mixtures):
        if stop.stopped():
            raise _PairCutError(best, done, len(mixtures))
        assert mixture.mixture is not None
        widths = member_widths(mixture.widths, mixture.mixture)
        ranks = recurrence.figure(mixture.representation, widths)
        if relations and coherent is None:  # the same for every ladder of the pair
            coherent = architecture_coherence(relations, mixture)
        parameters = mixture.parameters
        row = objective.keys(ranks[None, :], [parameters], mixture.discarded_order, coherent)[0]
        keys = tuple(float(k) for k in row)
        if best is None or (keys, -parameters) > (best.score, -best.architecture.parameters):
            figures = tuple(float(r) for r in ranks)
            best = _Scored(keys, mixture, (first, second), figures, coherent or 0.0)
    return best


def _member(tree: Recommendation) -> str:
    """Name a mixture's member tree: its family, and its dilation order where it has one.

    Two dilated members differ only in that order, which their permutations do not show.
    """
    family = tree.architecture.family
    assert family is not None, "the search's trees carry their family"
    return tree_name(family, tree.dilations)


def _recommendation(
    task: Task,
    entry: _Scored,
    objective: Objective,
    scope: Scope,
    reading: Sequence[str],
    searched: Sequence[str],
    leaders: Leaders,
    notes: Sequence[str],
    stop: StopSignal,
) -> Recommendation:
    """Analyse a mixture and say what it is, against its two members, and how it fits the task.

    The fit is said as a tree's rationale says it (:func:`~advisor.search.explain.fit`): which
    correlations it models fully, which it falls short on, and the score's factors (and the
    families ``searched``, where they set the targets: :func:`~.page.families_searched`, and
    the ``leaders`` a lower coherence or a larger discard is measured against); which
    member carries each correlation (:func:`~advisor.search.carriers.carriers`, which the
    summary, the table's ``why:``, also ends with); then the
    search's ``notes``, as a tree's rationale ends with them. ``stop``
    abandons the analysis (:class:`~advisor.errors.StoppedError`) when it cannot end before the
    deadline, and cuts the pricing of its contiguous reference net.
    """
    architecture = entry.architecture
    if stop.stopped():
        raise StoppedError("the mixture was not analysed before the stop")
    analysis = analyze(task, architecture, stop=stop, pricing_stop=stop)
    first, second = entry.members
    assert architecture.mixture is not None, "a mixture entry builds a mixture"
    text = (
        f"A mixture [CTS18] of the {_member(first)} and the {_member(second)}"
        f"{padding_text(task.input.shape, architecture.padding)}, the trees it pairs (pools "
        f"{pools_text(architecture)}) scoring {first.score:.4g} and {second.score:.4g} alone "
        "at this budget, both here "
        f"with M = {architecture.representation} and widths "
        f"{'-'.join(str(w) for w in architecture.widths)}, summed "
        f"{architecture.mixture.summed_where()}: {architecture.parameters:,} parameters (both "
        "members' convs), "
        f"{architecture.multiply_adds:,} multiply-adds per input, "
        f"{activations_text(architecture.activations)}."
    )
    design = Design(
        description="mixture",
        widths=(architecture.representation, *architecture.widths),
        parameters=architecture.parameters,
        log2_ranks=entry.log2_ranks,
        score=entry.score[0],
        multiply_adds=architecture.multiply_adds,
        discarded=architecture.discarded_order,
        coherence=entry.coherence,
    )
    names = [correlation.name for correlation in task.resolved()]
    text = " ".join(s for s in (text, channel_note(task.input.shape)) if s)
    opening = text
    # Which member carries which correlation is said in the summary too: the table's member
    # columns give each member's figure but not which tree each member is.
    carried = carriers([_member(first), _member(second)], analysis.correlations)
    text += " " + fit(design, objective, names, scope, reading, searched, leaders)
    text += " " + carried
    if analysis.efficiency is not None:
        text += " " + analysis.efficiency.summary(analysis.correlations)
    if entry.ladders is not None:
        scored, ladders = entry.ladders
        which = "the first of its" if scored == 1 else f"the best of the first {scored} of its"
        text += (
            f" The search was stopped while it scored this pair's width ladders: these widths "
            f"are {which} {ladders} width ladders; {stop_words(stop)[1]} scores them all."
        )
    text = " ".join([text, *notes])
    return Recommendation(
        rank=0,
        score=entry.score[0],
        parameters=entry.architecture.parameters,
        architecture=entry.architecture,
        analysis=analysis.correlations,
        rationale=text,
        multiply_adds=entry.architecture.multiply_adds,
        activations=entry.architecture.activations,
        efficiency=analysis.efficiency,
        summary=f"{opening} {verdict(design, objective, names, searched)} {carried}",
    )
