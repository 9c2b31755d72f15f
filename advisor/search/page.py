"""The page a finished search returns: its recommendations, analysed and explained, in rank order.

Each recommendation carries its architecture (geometry as an explicit permutation, ``family``
saying where it came from), the engine's analysis (:func:`advisor.seprank.analysis.analyze`), its
score and a rationale (:mod:`advisor.search.explain`) that compares it with the best contiguous
tree and the shallow net, says what one step up of each width and 10% more budget would buy
(:mod:`advisor.search.headroom`), and carries the search's notes (:mod:`advisor.search.notes`:
a stop, sampled dilation orders, no standard CNN to compare compute with, a tie with another
family). The recommendations are built while the search's clock allows
(:mod:`advisor.search.clock`); the best is always built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from advisor.errors import InvalidRequestError, SearchFinishedError, StoppedError
from advisor.model.architecture import Architecture
from advisor.model.budget import (
    DEFAULT_FAMILIES,
    FAMILIES,
)
from advisor.model.geometries import is_sequence
from advisor.model.results import Analysis, Recommendation, SearchResult
from advisor.search.board import Entry
from advisor.search.candidates import Candidate, deepest_tree
from advisor.search.clock import PricingTimer
from advisor.search.coherence import describe_relation
from advisor.search.designs import design, tree_words
from advisor.search.explain import rationale, summary
from advisor.search.headroom import (
    at_width_limits,
    bound_by,
    held,
    more_budget,
    widenings,
    wider_limit,
)
from advisor.search.notes import (
    channel_note,
    dilated_note,
    one_level_note,
    page_notes,
    stop_words,
    tie_above,
)
from advisor.search.paging import PAST_THE_END, next_page_token
from advisor.search.rationale_inputs import Design, Leaders, Scope
from advisor.search.run import SearchRun
from advisor.seprank.analysis import analyze
from advisor.stopping import StopCause, StopSignal
from advisor.version import RANKING_VERSION

__all__ = [
    "build_recommendation",
    "families_searched",
    "leaders",
    "relations_read",
    "require_whole_ranking",
    "result_page",
    "targets_scope",
    "unbuilt",
]


def result_page(run: SearchRun, complete: bool, *, note_unbuilt: bool = True) -> SearchResult:
    """Build the page of a search ``run`` has scored and ranked (``complete``: every tree was).

    The result is complete only when every tree was scored and every recommendation of the page
    was built whole, its contiguous pricing not cut by the deadline
    (:attr:`~advisor.model.results.Recommendation.pricing_stopped`); it carries a token for the
    next page when every tree was scored and the board holds a design after the last one
    returned (it ranks one past the page's end, and a deadline may cut the page's builds short).
    A page the stop cut short says so in every design's rationale, unless ``note_unbuilt`` is
    False: the trees of a mixture search are not the caller's page (:func:`unbuilt`). A page
    past the first comes of a search that scored every tree (:func:`require_whole_ranking`
    refuses the others before their builds).
    """
    ranked = len(run.board.top)
    scored_every_tree = complete
    # A page that starts at the end: a token no search wrote (its pages never end empty).
    if complete and 0 < run.offset >= ranked:
        raise InvalidRequestError.single("budget.page_token", PAST_THE_END.format(count=ranked))
    recommendations = _recommendations(run, complete, note_unbuilt)
    # A page is complete when every design was built whole: a deadline that cut a design's
    # contiguous pricing cut the search too, however many trees it scored.
    complete = (
        complete
        and len(recommendations) == len(_page(run))
        and not any(r.pricing_stopped for r in recommendations)
    )
    end = run.offset + len(recommendations)
    # Ranks past a stop that left trees unscored are not the search's: a next page, a whole
    # search, would skip the designs this page ranked below their place (a page of shallow
    # nets, then ranks 4 to 6 of the mirror nets). Builds the stop cut leave the ranking whole.
    more = scored_every_tree and ranked > end
    token = next_page_token(run.task, run.budget, end) if more else None
    return SearchResult(
        recommendations, run.scored, run.clock.elapsed(), complete, token, RANKING_VERSION
    )


def _page(run: SearchRun) -> list[Entry]:
    """Return the ranked entries of the run's page (the board ranks one more past its end)."""
    return run.board.top[run.offset : run.offset + run.budget.top_k]


def unbuilt(run: SearchRun, result: SearchResult) -> int:
    """Return how many designs of the run's page its ``result`` left unbuilt (a stop)."""
    return max(0, len(_page(run)) - len(result.recommendations))


def _recommendations(run: SearchRun, complete: bool, note_unbuilt: bool) -> list[Recommendation]:
    """Build the page's recommendations in rank order while the deadline allows.

    The page's best is always built; a page cut short says so (``note_unbuilt``).
    """
    notes = page_notes(run, complete)
    references = _references(run)
    recommendations = []
    board, clock = run.board, run.clock
    # A search stopped before any recommendable tree was scored still answers: with the
    # best baseline it has that the depth bounds admit (the rationale's note says the search
    # was cut); the shallow net, always scored, is one level deep.
    baselines = [
        e for e in (board.contiguous, board.shallow) if e is not None and run.admits(e.candidate)
    ]
    page = _page(run) if board.top else baselines[:1]
    for index, entry in enumerate(page):
        first = index == 0
        if not first and run.signal.remaining() < clock.time_to_start_another():
            break
        started = clock.clock()
        # The pricing stops early enough for the rest of this build and for the unpriced
        # builds of the others the reserve planned: whole designs come before the pricing.
        others = min(len(page) - index - 1, clock.others)
        pricing = PricingTimer(run.signal, (1 + others) * clock.each)
        try:
            built = build_recommendation(
                run,
                run.offset + 1 + index,
                entry,
                notes,
                references,
                None if first else run.signal,
                pricing,
                complete,
            )
        except StoppedError:
            break
        # The reserve is made of builds without their pricing, which the deadline may cut.
        clock.measure(clock.clock() - started - pricing.seconds)
        recommendations.append(built)
        run.report_built(len(page) - index - 1)
    if note_unbuilt and len(recommendations) < len(page):
        unbuilt_ranks = (run.offset + len(recommendations) + 1, run.offset + len(page))
        note = _unbuilt(*unbuilt_ranks, run.signal, paged=complete)
        recommendations = [r.noted(note) for r in recommendations]
    return recommendations


def _unbuilt(first: int, last: int, signal: StopSignal, paged: bool) -> str:
    """Say that the page's designs ranked ``first`` to ``last`` were left unbuilt, and why.

    The search ranked them, but its stop (a deadline, mostly) came before their analyses: the
    page is short and the result incomplete, which every design it holds then says. ``paged``:
    every tree was scored, so the result carries the token of the page that starts at
    ``first``; the note said so of a search stopped earlier too, whose result carries none.
    """
    which = f"design ranked {first}" if first == last else f"designs ranked {first} to {last}"
    again = "it" if first == last else "them"
    by, remedy = stop_words(signal)
    token = ", as does the next page (this page's token starts there)" if paged else ""
    return (
        f"The search was stopped{by} before the page's {which} could be built; {remedy} "
        f"returns {again}{token}."
    )


def require_whole_ranking(signal: StopSignal, caller: StopSignal, offset: int) -> None:
    """Refuse the page after ``offset`` ranked designs of a search ``signal`` stopped early.

    Called where the stop came before every tree was scored. A page past the first continues
    the whole search's ranking, which a stopped search does not have: its ranks are those of
    the trees it scored, and its own best are on no page. A second page of a 4,096-long
    ``start_end`` search (``top_k`` 3) cut at 0.3 s returned one contiguous net labelled rank
    4, 0.1615, where the whole ranking's 4th is a mirror net, 0.8889. The first page answers
    with the best found so far (``complete`` False); builds a stop cut leave the ranking
    whole, and their pages are served.

    Raises
    ------
    InvalidRequestError
        On ``budget.time_limit_seconds`` where the budget's time limit (``signal``'s own
        deadline, before the ``caller``'s) stopped the search: the request must change.
    StoppedError
        Where the ``caller``'s signal did (a call's deadline, a cancel, the server's shutdown,
        ``FinishSearch``); the service answers ``DEADLINE_EXCEEDED``, ``CANCELLED`` or
        ``UNAVAILABLE``, as for an analysis so stopped.
    """
    if offset == 0:
        return
    page = (
        f"a page after the first (this one starts after rank {offset}) is ranked by the whole "
        "search, not by the trees scored so far"
    )
    by, remedy = stop_words(signal)
    if not signal.cancelled and signal.deadline != caller.deadline:
        raise InvalidRequestError.single(
            "budget.time_limit_seconds",
            # Not "or none": a request (the command's, the service's) has no time limit of none.
            f"stopped the search before it scored every tree, and {page}: {remedy} lets it finish",
        )
    finished = signal.cause is StopCause.FINISH
    raise (SearchFinishedError if finished else StoppedError)(
        f"the search was stopped{by} before it scored every tree, and {page}: {remedy} "
        "lets it finish"
    )


def build_recommendation(
    run: SearchRun,
    rank: int,
    entry: Entry,
    notes: Sequence[str],
    references: References,
    stop: StopSignal | None,
    pricing: StopSignal,
    complete: bool,
) -> Recommendation:
    """Analyse one entry's architecture and explain it; ``stop`` may abandon the analysis.

    ``notes`` and ``references`` (:func:`_references`) are the page's, the same for each design.

    ``pricing`` may cut the pricing of the contiguous reference net (the costly part of a
    small analysis): a recommendation built near the deadline comes without it, on time.
    ``complete`` says whether every tree was scored (else the targets and the references
    are those of the trees scored before the stop, and the rationale says so).
    """
    architecture, analysis = _analysed(run, entry, stop, pricing)
    described = replace(design(run, entry), activations=architecture.activations)
    holding = held(run, entry)
    searched = families_searched(run)
    said = summary(
        described,
        run.objective,
        run.names,
        run.budget.max_parameters,
        run.ladders.standard,
        holding,
        searched,
    )
    shape = run.task.input.shape
    added = [n for n in (tie_above(run, rank, entry), dilated_note(entry.candidate, shape)) if n]
    brief = " ".join(s for s in (said, channel_note(shape), one_level_note(tuple(shape))) if s)
    text = rationale(
        described,
        opening=brief,
        contiguous=references.contiguous,
        shallow=references.shallow,
        objective=run.objective,
        names=run.names,
        max_parameters=run.budget.max_parameters,
        widenings=widenings(run, entry),
        more_budget=more_budget(run, entry),
        more_budget_limit=wider_limit(run, entry, said=bool(holding)),
        efficiency=analysis.efficiency,
        notes=[*notes, *added],
        scope=targets_scope(run, complete),
        reading=relations_read(run),
        leaders=leaders(run),
        no_contiguous=_no_contiguous(run),
        searched=searched,
    )
    return Recommendation(
        rank=rank,
        score=entry.allocation.keys[0],
        parameters=entry.allocation.parameters,
        architecture=architecture,
        analysis=analysis.correlations,
        rationale=text,
        multiply_adds=architecture.multiply_adds,
        activations=architecture.activations,
        efficiency=analysis.efficiency,
        dilations=entry.candidate.dilations,
        summary=brief,
    )


def families_searched(run: SearchRun) -> list[str]:
    """Name the families searched where the budget left out a default one that applies.

    The targets are the best of the families searched: the net a ``--geometries contiguous``
    search of 16x16 ``symmetry`` scores 0.9653 scores 0.005636 in a default search, whose
    mirror nets set far higher targets. Empty where the families left out have no trees here
    (``data_arranged`` without an arrangement, ``dilations`` on an image or with dilation
    orders not searched): those targets are a default search's. ``shallow`` ends the list where
    the shallow net, recommendable whatever the families, sets a target none of them reaches.
    """
    searched = run.budget.families()
    shape = run.task.input.shape
    applies = {
        "dilations": run.budget.search_dilations and is_sequence(shape),
        "data_arranged": run.task.arrangement is not None,
    }
    left_out = [f for f in DEFAULT_FAMILIES if f not in searched and applies.get(f, True)]
    if not left_out:
        return []
    shallow = ["shallow"] if run.targets.set_by_shallow() else []
    return [*(f for f in FAMILIES if f in searched), *shallow]


def _no_contiguous(run: SearchRun) -> str:
    """Say why the search holds no contiguous tree at all (empty: it holds one).

    The rationale said that none "fits this input and budget", which sent a user whose depth
    bounds (``--max-depth 1``) left none out to raise the budget. The bounds are named only
    where the grid has such a tree for them to leave out: a server sets ``max_depth`` on every
    request that leaves it unset, and on a grid that pools into one window only ([2], 2x2) the
    rationale blamed bounds the user never set.
    """
    if any(c.family == "contiguous" for c in run.candidates):
        return ""
    if deepest_tree(run.task.input.shape) == 1:
        return "this input has no contiguous tree of two levels or more"
    low, high = run.depths
    return f"the depth bounds ({low} to {high} levels) leave out every contiguous tree"


def relations_read(run: SearchRun) -> list[str]:
    """Return the relations the description was read as, in words (none: the score ignores them)."""
    if run.objective.best_coherence is None:
        return []
    ndim = len(run.task.input.shape)
    return [describe_relation(relation.key, ndim) for relation in run.relations()]


def _analysed(
    run: SearchRun, entry: Entry, stop: StopSignal | None, pricing: StopSignal
) -> tuple[Architecture, Analysis]:
    """Return the entry's network and its analysis."""
    architecture = run.space.architecture(
        entry.candidate,
        entry.allocation.widths,
        outputs=run.outputs,
        representation_kernel=run.budget.representation_kernel,
    )
    return architecture, analyze(run.task, architecture, stop=stop, pricing_stop=pricing)


def targets_scope(run: SearchRun, complete: bool) -> Scope:
    """Say what the targets are: every tree's best, the scored trees', or the bounds."""
    if complete:
        return "complete"
    return "stopped" if run.targets.reached else "bounds"


"""The practical profiles of one depth under each set of rules, and their hidden widths, built
once per rationale (rebuilt for every widening, the hidden widths took 8 ms of a 1024x1024
pick's build)."""


class References(NamedTuple):
    """The reference nets every rationale of a page compares its design with."""

    contiguous: Design | None
    shallow: Design


def _references(run: SearchRun) -> References:
    """Describe the page's reference nets once: the best contiguous tree's and the shallow net's.

    Each is the same for every design of the page, and a reference held by a per-input bound
    is priced on its DAG (:func:`~advisor.search.headroom.bound_by`): built once, not once per
    design.
    """
    board = run.board
    shallow = board.shallow
    assert shallow is not None, "the shallow net fits (checked up front) and always runs"
    contiguous = _reference(run, board.contiguous) if board.contiguous else None
    return References(contiguous, _reference(run, shallow))


def _reference(run: SearchRun, entry: Entry) -> Design:
    """Describe a reference net (the best contiguous or the shallow net) for the rationale.

    With what holds it where a per-input bound, not the parameters, does
    (:func:`~advisor.search.headroom.bound_by`), or, spending under half the budget, that the
    width limits do (:func:`~advisor.search.headroom.at_width_limits`).
    """
    return replace(design(run, entry), held=bound_by(run, entry) or at_width_limits(run, entry))


def leaders(run: SearchRun) -> Leaders:
    """Say the trees that lead on coherence and on discard, which the rationales measure against.

    The trees' rationales and the mixtures' name the same trees.
    """
    return Leaders(
        most_coherent=_leading(run, run.targets.most_coherent, run.objective.best_coherence),
        finest=_leading(run, run.targets.finest, run.objective.least_discarded),
    )


def _leading(run: SearchRun, tree: Candidate | None, measured: object) -> str:
    """Say the tree that leads on a factor, which the rationale measures others' against.

    ``measured``: the objective's figure of that factor, None where the score has none ('').
    """
    return "" if tree is None or measured is None else tree_words(run, tree)
