"""The page a finished search returns: its recommendations, analysed and explained, in rank order.

Each recommendation carries its architecture (geometry as an explicit permutation, ``family``
saying where it came from), the engine's analysis (:func:`advisor.seprank.analysis.analyze`), its
score and a rationale (:mod:`advisor.search.explain`) that compares it with the best contiguous
tree and the shallow net, says what one step up of each width and 10% more budget would buy, and
carries the search's notes (a stop, sampled dilation orders, no standard CNN to compare compute
with, a tie with another family). The recommendations are built while the search's clock allows
(:mod:`advisor.search.clock`); the best is always built.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import replace
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError, StoppedError
from advisor.model.architecture import Architecture
from advisor.model.budget import (
    DEFAULT_COMPUTE_FACTOR,
    DEFAULT_FAMILIES,
    FAMILIES,
    scaled_parameters,
)
from advisor.model.geometries import is_sequence
from advisor.model.grid import MAX_LOCATIONS, channel_axis_hint
from advisor.model.results import Analysis, Recommendation, SearchResult
from advisor.model.text import told_apart
from advisor.search.board import Entry, ranked
from advisor.search.candidates import Candidate, deepest_tree
from advisor.search.checks import widened_default
from advisor.search.clock import PricingTimer
from advisor.search.coherence import describe_relation
from advisor.search.explain import (
    MORE_BUDGET,
    Design,
    Leaders,
    Scope,
    Widening,
    family_words,
    listed,
    rationale,
    summary,
    widths_text,
)
from advisor.search.ladders import no_standard_cnn_reason
from advisor.search.paging import PAST_THE_END, next_page_token
from advisor.search.profiles import ProfileRules, maximal, practical_profiles
from advisor.search.run import SearchRun
from advisor.search.widths import best_point
from advisor.seprank.analysis import analyze
from advisor.stopping import StopCause, StopSignal
from advisor.version import RANKING_VERSION

__all__ = [
    "build_recommendation",
    "channel_note",
    "one_level_note",
    "families_searched",
    "leaders",
    "relations_read",
    "require_whole_ranking",
    "result_page",
    "search_notes",
    "stop_words",
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
    notes = _notes(run, complete)
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
            f"stopped the search before it scored every tree, and {page}: {remedy}, or none, "
            "lets it finish",
        )
    raise StoppedError(
        f"the search was stopped{by} before it scored every tree, and {page}: {remedy} "
        "lets it finish"
    )


def stop_words(signal: StopSignal) -> tuple[str, str]:
    """Say what stopped a search under ``signal`` and what gives it more time.

    Returns `` by CAUSE`` ('' for its own time limit), to follow "the search was stopped", and
    the remedy, a noun phrase: a search cut by the server's shutdown was told "a longer time
    limit returns them", which a server shutting down would not have given it.
    """
    cause = signal.cause
    return ("" if cause is None else f" by {cause.value}"), _REMEDIES[cause]


_REMEDIES: Final[dict[StopCause | None, str]] = {
    None: "a longer time limit",
    StopCause.CALL_DEADLINE: "a later deadline for the call",
    StopCause.SHUTDOWN: "the same request to a server that is not shutting down",
    StopCause.FINISH: "the same request, not asked to finish early",
    StopCause.CANCEL: "the same request, not cancelled",
}
"""What gives a stopped search more time, by what stopped it (:func:`stop_words`)."""


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
    design = replace(_design(run, entry), activations=architecture.activations)
    tie = _tie_above(run, rank, entry)
    held = _held(run, entry)
    searched = families_searched(run)
    said = summary(
        design,
        run.objective,
        run.names,
        run.budget.max_parameters,
        run.ladders.standard,
        held,
        searched,
    )
    shape = run.task.input.shape
    brief = " ".join(s for s in (said, channel_note(shape), one_level_note(tuple(shape))) if s)
    text = rationale(
        design,
        opening=brief,
        contiguous=references.contiguous,
        shallow=references.shallow,
        objective=run.objective,
        names=run.names,
        max_parameters=run.budget.max_parameters,
        widenings=_widenings(run, entry),
        more_budget=_more_budget(run, entry),
        more_budget_limit=_wider_limit(run, entry, said=bool(held)),
        efficiency=analysis.efficiency,
        notes=[*notes, tie] if tie else notes,
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


_SHOWN = 3
"""Correlations, and groups of them, named in the note on the other reading; the rest counted."""


def _other_reading(run: SearchRun) -> str:
    """Say which relations the description's regions also read as, where the score weighs them.

    Equal regions side by side are a shift and a mirror alike, and the reading with the fewest
    relations is taken (:func:`~advisor.search.coherence.task_relations`): on the blobs of the
    trained-outcome benchmark's ``symmetry`` task that took the shifts, and its pick trained
    19 points below the mirror net (docs/OUTCOMES.md). The note names, per relation read, the
    task's own correlations that also read the other way (a preset's cannot state a relation),
    and how to state it; empty where there are none.
    """
    if run.objective.best_coherence is None:
        return ""
    ndim = len(run.task.input.shape)
    own = len(run.task.correlations)
    groups, kinds = [], set()
    for relation in run.relations():
        stated = [(index, keys) for index, keys in relation.others if index < own]
        if not stated:
            continue
        names = [run.correlations[index].name for index, _ in stated]
        keys = list(dict.fromkeys(key for _, found in stated for key in found))
        kinds |= {key[0] for key in keys}
        words = [describe_relation(key, ndim) for key in keys]
        verb = "reads" if len(names) == 1 else "read"
        groups.append(
            f"{listed(names[:_SHOWN], len(names) - _SHOWN)}, read as "
            f"{describe_relation(relation.key, ndim)}, also {verb} as "
            f"{listed(words[:_SHOWN], len(words) - _SHOWN, quoted=False, last='or')}"
        )
    if not groups:
        return ""
    statements = " or ".join(f"`relation: {kind}`" for kind in sorted(kinds))
    left_out = len(groups) - _SHOWN
    more = f"; and {left_out} more group{'s' if left_out > 1 else ''}" if left_out > 0 else ""
    return (
        f"Equal regions read both ways: {'; '.join(groups[:_SHOWN])}{more}. The score took the "
        f"reading with the fewest relations; if another is meant, {statements} on a correlation "
        "states it."
    )


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


def _widenings(run: SearchRun, entry: Entry) -> list[Widening]:
    """Measure what one step up of each width does to the entry's binding correlation.

    A step is to the next width the search allocates: a practical profile's choices, a quarter
    step apart, else the free allocation's. Practical widths stepped to the next power of two,
    "the 2nd width 80 -> 128" past the 96 and 112 the search builds, priced at their cost. A
    width at ``max_channels`` steps past it (:func:`_past_widest`), as the allowed widths would
    with a higher one: a 512-wide net read "No single layer one step wider would raise" a
    correlation that 640 channels raise within the budget. Where no single step raises it, the
    pair of steps that raises it the most is added (:func:`_paired`).
    """
    widths = list(entry.allocation.widths)
    binding = run.objective.binding(entry.allocation.log2_ranks)
    practical = run.budget.width_profile == "practical"
    choices = run.ladders.rules.choices if practical else run.choices
    steps = []
    for position, width in enumerate(widths):
        larger = [c for c in choices if c > width] or _past_widest(run, width)
        if larger:
            steps.append((position, larger[0]))
    if not steps:
        return []
    points = np.array([_stepped(widths, [step]) for step in steps])
    gains, extra = _gained(run, entry, binding, points)
    beyond = _beyond(run, entry, points, extra)
    single = [
        Widening(position, width, float(gain), int(cost), reason)
        for (position, width), gain, cost, reason in zip(steps, gains, extra, beyond, strict=True)
    ]
    return single if (gains > 0).any() else single + _paired(run, entry, binding, steps)


def _paired(
    run: SearchRun, entry: Entry, binding: int, steps: Sequence[tuple[int, int]]
) -> list[Widening]:
    """Return the two ``steps`` together that raise the binding correlation the most (else none).

    The fewest parameters among equal gains. Where a min-cut runs through two widths, as M and
    the first width of a tree whose pair of end locations meet at the first level, neither
    alone raises it: the rationale then says what does.
    """
    pairs = list(itertools.combinations(steps, 2))
    if not pairs:
        return []
    points = np.array([_stepped(entry.allocation.widths, pair) for pair in pairs])
    gains, extra = _gained(run, entry, binding, points)
    best = int(np.lexsort((extra, -gains))[0])
    if gains[best] <= 0:
        return []
    (position, width), also = pairs[best]
    reason = _beyond(run, entry, points[best : best + 1], extra[best : best + 1])[0]
    return [Widening(position, width, float(gains[best]), int(extra[best]), reason, also)]


def _stepped(widths: Sequence[int], steps: Sequence[tuple[int, int]]) -> list[int]:
    """Return ``widths`` with each ``(position, width)`` of ``steps`` set."""
    point = list(widths)
    for position, width in steps:
        point[position] = width
    return point


def _gained(
    run: SearchRun, entry: Entry, binding: int, points: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Return what each of the entry's widened ``points`` gains and costs.

    The bits the binding correlation's log2 rank gains, and the parameters beyond the entry's.
    """
    figures = entry.dag.only(binding).log2_ranks(np.log2(points))[:, 0]
    gains: npt.NDArray[np.float64] = figures - entry.allocation.log2_ranks[binding]
    extra: npt.NDArray[np.int64] = run.model.count(points) - entry.allocation.parameters
    return gains, extra


def _past_widest(run: SearchRun, width: int) -> list[int]:
    """Return the width one step past ``max_channels`` when ``width`` is at it (else none).

    The step the allowed widths would take with a higher ``max_channels`` (a practical
    profile's quarter step, 512 -> 640; a free allocation's power of two, 512 -> 1,024). None
    past explicit ``channel_choices``, which name every width allowed.
    """
    budget = run.budget
    if budget.channel_choices is not None or width < budget.max_channels:
        return []
    wider = budget.model_copy(update={"max_channels": 2 * width})
    practical = budget.width_profile == "practical"
    return [c for c in (wider.profile_choices() if practical else wider.choices()) if c > width][:1]


def _beyond(
    run: SearchRun, entry: Entry, points: npt.NDArray[np.int64], extra: npt.NDArray[np.int64]
) -> list[str]:
    """Say, per widened width profile, everything that keeps the search from it (empty: nothing).

    Each obstacle is named, not the first: "over the compute bound" alone, on a widening no
    practical ladder holds either, sent the reader to a higher --max-macs that builds it no more.
    A width past ``max_channels`` names it, and the practical profiles it is judged against are
    those that a ``max_channels`` as wide builds, so a wider constant ladder is not said to break
    "hidden widths constant or doubling".
    """
    over_budget = entry.allocation.parameters + extra > run.budget.max_parameters
    bounds = run.ladders.bounds()
    passed = [bound.over(entry.candidate, points) for bound in bounds]  # per bound, per point
    widest = run.budget.max_channels
    known: _Profiles = {}
    reasons = []
    for index, (point, budget) in enumerate(zip(points.tolist(), over_budget, strict=True)):
        said = []
        past = [b.said() for b, over in zip(bounds, passed, strict=True) if over[index]]
        if budget:
            said.append("over the budget")
        elif past:
            said.append(f"over {listed(past, quoted=False)}")
        if run.budget.channel_choices is None and max(point) > widest:
            said.append(f"past the widest width allowed, {widest:,} (max_channels, --max-channels)")
        if run.budget.width_profile == "practical":
            said.append(_off_profiles(run, entry, point, known))
        reasons.append("; ".join(s for s in said if s))
    return reasons


_Profiles = dict[ProfileRules, tuple[set[tuple[int, ...]], set[tuple[int, ...]]]]
"""The practical profiles of one depth under each set of rules, and their hidden widths, built
once per rationale (rebuilt for every widening, the hidden widths took 8 ms of a 1024x1024
pick's build)."""


def _off_profiles(run: SearchRun, entry: Entry, point: Sequence[int], known: _Profiles) -> str:
    """Say which rules of the practical profiles the width profile ``point`` breaks (empty: none).

    Judged against the profiles the search builds, or, for a ``point`` wider than
    ``max_channels``, against those a ``max_channels`` as wide would build (kept in ``known``).
    """
    rules = run.ladders.rules
    if max(point) > run.budget.max_channels and run.budget.channel_choices is None:
        wider = run.budget.model_copy(update={"max_channels": max(point)})
        rules = ProfileRules.for_budget(wider, run.outputs)
    if rules not in known:
        depth = entry.candidate.depth
        built = run.ladders.of_depth(depth)[0] if rules == run.ladders.rules else None
        profiles = practical_profiles(depth, rules) if built is None else built
        rows = {tuple(row) for row in profiles.tolist()}
        known[rules] = rows, {row[1:] for row in rows}
    ladders, hidden = known[rules]
    if tuple(point) in ladders:
        return ""
    broken = _broken_rules(point, hidden, rules)
    off = "off the practical profiles the search builds"
    return f"{off}: {broken}" if broken else off


def _broken_rules(point: Sequence[int], hidden: set[tuple[int, ...]], rules: ProfileRules) -> str:
    """Say which rules of the practical profiles the width profile ``point`` breaks.

    '' where it breaks none of the three named here (another rule of the ladders left it out).
    ``hidden`` are the hidden widths of the profiles of its depth. A widening breaks one or two:
    the hidden widths' ladder, M's range (max_representation), M at most r_0. Two were named for
    every one, so M raised to 128, above the default range of 4 to 64, read as off "hidden widths
    constant or doubling, M at most r_0" when its widths were constant and r_0 was 224.
    """
    broken = []
    if tuple(point[1:]) not in hidden:
        broken.append("hidden widths constant or doubling")
    largest = max(rules.representations())
    if point[0] > largest:
        broken.append(f"M up to {largest:,}")
    if point[0] > point[1]:
        broken.append("M at most r_0")
    return listed(broken, quoted=False)


def _more_budget(run: SearchRun, entry: Entry) -> Design | None:
    """Return the entry's tree at 10% more parameters (practical searches; None for free).

    The search scored the tree's contenders within the budget: when it kept their figures,
    only the other profiles (above the budget, or within it but over this budget's compute
    bound and within the larger budget's) are scored here.
    """
    if run.budget.width_profile == "free":
        return None
    figures = None
    if entry.figures is not None:
        wider, _ = run.ladders.contenders(entry.candidate, MORE_BUDGET)
        scored, _ = run.ladders.contenders(entry.candidate)
        rows = {profile: row for row, profile in enumerate(map(tuple, scored.tolist()))}
        found = [rows.get(profile, -1) for profile in map(tuple, wider.tolist())]
        known = np.array(found) >= 0
        figures = np.empty((known.size, entry.figures.shape[1]))
        figures[known] = entry.figures[np.array(found)[known]]
        if not known.all():
            figures[~known] = entry.dag.log2_ranks(np.log2(wider[~known]))
    allocation = run.best_profile(entry.candidate, entry.dag, MORE_BUDGET, figures=figures)
    if allocation is None:
        return None
    return _design(run, Entry(entry.candidate, allocation, entry.dag))


def _wider_limit(run: SearchRun, entry: Entry, said: bool = False) -> str:
    """Say why no wider ladder of the entry's tree is taken at 10% more budget, if none is.

    The reason the code finds: none is wider within the width limits, none fits the parameters,
    those that fit score lower, or a per-input bound excludes them all, which is named as the
    reason only where one of them would rank above the design without it. ``said``: the
    rationale's opening has said what holds the tree below the budget (:func:`_held`), so the
    width limits are named here without their figures again.
    """
    if _at_widest(run, entry):
        limits = "" if said else f" ({_width_limits(run)})"
        return f"it is already {_WIDEST}{limits}"
    chosen = entry.allocation.parameters
    profiles, parameters = run.ladders.of_depth(entry.candidate.depth)
    if not (parameters <= scaled_parameters(run.budget.max_parameters, MORE_BUDGET))[
        parameters > chosen
    ].any():
        return "no wider ladder of this tree fits those parameters"
    # The ladders within both bounds, as the 10%-more design was searched among (cached).
    _, fitting = run.ladders.fitting(entry.candidate, MORE_BUDGET)
    if not (fitting > chosen).any():
        wider = (parameters > chosen) & (
            parameters <= scaled_parameters(run.budget.max_parameters, MORE_BUDGET)
        )
        exceed = _bounds_exceeded(run, entry, profiles[wider])
        if _outranked(run, entry, profiles[wider], parameters[wider]):
            return f"every wider ladder of this tree exceeds {exceed}"
        # The bound is no reason where the ladders it excludes would rank lower anyway
        # (symmetry at 100,000 parameters: constant ladders of 160 past it scored 7.6 bits of
        # the doubling ladder's 8.6, and the rationale blamed the bound alone).
        ranked = _scored_lower(run, "the ladders of this tree with more parameters")
        return f"{ranked}, and every one exceeds {exceed} too"
    return _scored_lower(run, "the ladders of this tree with more parameters that fit")


def _scored_lower(run: SearchRun, ladders: str) -> str:
    """Say that ``ladders`` of an entry's tree rank below its own, as the objective ranks them."""
    if run.objective.kind == "maximin":
        # Ranked by the smallest fraction, then the weighted mean: a wider ladder can reach the
        # same score and rank lower only on the mean (grid-local at 3,000 parameters).
        return (
            f"{ladders} score lower, or as high with a lower weighted mean of the fractions "
            "(maximin's tie-break)"
        )
    return f"{ladders} score lower"


def _bounds_exceeded(run: SearchRun, entry: Entry, wider: npt.NDArray[np.int64]) -> str:
    """Say the per-input bounds at 10% more budget the ``wider`` ladders of the tree exceed."""
    # Only the default compute bound follows the budget; a bound the budget states stays.
    passed = [
        f"{bound.said()}{'' if bound.stated else ' at that budget'} ({bound.field}, {bound.option})"
        for bound in run.ladders.bounds(MORE_BUDGET)
        if bound.over(entry.candidate, wider).any()
    ]
    assert passed, "only a per-input bound drops a ladder within the parameters"
    return listed(passed, quoted=False, last="or")


def _outranked(
    run: SearchRun, entry: Entry, wider: npt.NDArray[np.int64], parameters: npt.NDArray[np.int64]
) -> bool:
    """Whether a ``wider`` ladder of the entry's tree would rank above its own at 10% more budget.

    Scored on this budget's targets as the 10%-more design is, the per-input bounds set aside:
    whether they, and not the score, keep the design as it is.
    """
    profiles = np.vstack([np.asarray(entry.allocation.widths, dtype=np.int64), wider])
    counts = np.concatenate([[entry.allocation.parameters], parameters])
    figures = entry.dag.log2_ranks(np.log2(profiles))
    keys = run.profile_keys(entry.candidate, figures, counts, MORE_BUDGET)
    return best_point(keys, counts, profiles) != 0


_WIDEST: Final = "the widest ladder of this tree the width limits allow"


def _at_widest(run: SearchRun, entry: Entry) -> bool:
    """Whether no practical ladder of the entry's tree has more parameters than its own."""
    _, parameters = run.ladders.of_depth(entry.candidate.depth)
    return not (parameters > entry.allocation.parameters).any()


def _width_limits(run: SearchRun) -> str:
    """Say the width limits a practical search builds ladders within."""
    return (
        f"hidden widths up to {run.choices[-1]:,}, M up to {run.budget.max_representation:,} "
        "and at most the first hidden width"
    )


def _held(run: SearchRun, entry: Entry) -> str:
    """Say what, not the parameters, keeps the entry's tree from spending more of the budget.

    The per-input bounds (:func:`_held_by_bounds`), or, for a pick that spends under half the
    parameters, the width limits when no ladder of its tree is wider: a user given 7% of a
    25M budget asks why, and the limits are options (empty: the parameters hold it, or it
    spends half or more).
    """
    by_bounds = _held_by_bounds(run, entry)
    if by_bounds or run.budget.width_profile != "practical":
        return by_bounds
    if 2 * entry.allocation.parameters >= run.budget.max_parameters or not _at_widest(run, entry):
        return ""
    option = (
        "channel_choices (--channels) sets others"
        if run.budget.channel_choices is not None
        else "max_channels (--max-channels) and max_representation (--max-representation) "
        "raise them"
    )
    return f"It is {_WIDEST} ({_width_limits(run)}); {option}."


def _held_by_bounds(run: SearchRun, entry: Entry) -> str:
    """Say which per-input bound, not the parameters, keeps the entry's tree from larger ladders.

    Said when a ladder of the tree with more parameters than the pick fits the parameter budget
    but not a bound: a pick using a small share of the budget then says why (a practical search;
    a free one has neither bound). Only the bounds that exclude the nearest such ladder (the
    fewest parameters above the pick's) are said, each with the largest ladder it excludes: a
    pick at 0.7% of the budget held by the activation bound said first that the default compute
    bound excluded ladders of up to 43,713 parameters, true, and no reason for that pick.
    """
    if run.budget.width_profile != "practical":
        return ""
    profiles, parameters = run.ladders.of_depth(entry.candidate.depth)
    larger = (parameters > entry.allocation.parameters) & (parameters <= run.budget.max_parameters)
    overs = [
        (bound, larger & bound.over(entry.candidate, profiles)) for bound in run.ladders.bounds()
    ]
    held = np.zeros(len(parameters), dtype=bool)
    for _, over in overs:
        held |= over
    if not held.any():
        return ""
    nearest = int(np.flatnonzero(held)[np.argmin(parameters[held])])
    said = []
    for bound, over in overs:
        if over[nearest]:
            another = (
                "a higher one admits them."
                if bound.stated
                else f"{bound.field} ({bound.option}) sets another."
            )
            words = bound.said()
            said.append(
                f"{words[0].upper()}{words[1:]} ({bound.source}) excludes this tree's ladders "
                f"of up to {int(parameters[over].max()):,} parameters, which fit the budget; "
                f"{another}"
            )
    return " ".join(said)


class References(NamedTuple):
    """The reference nets every rationale of a page compares its design with."""

    contiguous: Design | None
    shallow: Design


def _references(run: SearchRun) -> References:
    """Describe the page's reference nets once: the best contiguous tree's and the shallow net's.

    Each is the same for every design of the page, and a reference held by a per-input bound
    is priced on its DAG (:func:`_bound_by`): built once, not once per design.
    """
    board = run.board
    shallow = board.shallow
    assert shallow is not None, "the shallow net fits (checked up front) and always runs"
    contiguous = _reference(run, board.contiguous) if board.contiguous else None
    return References(contiguous, _reference(run, shallow))


def _reference(run: SearchRun, entry: Entry) -> Design:
    """Describe a reference net (the best contiguous or the shallow net) for the rationale.

    With what holds it where a per-input bound, not the parameters, does (:func:`_bound_by`).
    """
    return replace(_design(run, entry), held=_bound_by(run, entry))


def _bound_by(run: SearchRun, entry: Entry) -> str:
    """Say that a per-input bound, not the parameters, keeps a reference from a higher score.

    Said when a ladder of its tree within the parameter budget but over the compute bound or
    the activation bound scores higher, naming the best such ladder and the bounds it passes
    (empty: none does). The shallow net of
    ``local`` at 20,000 parameters read "M = 4 and width 256", which a reader took for the
    widest the budget allows; width 512 fits it, and only the compute bound leaves it out.
    """
    bounds = run.ladders.bounds()
    if not bounds or run.budget.width_profile != "practical":
        return ""
    candidate = entry.candidate
    profiles, parameters = run.ladders.of_depth(candidate.depth)
    past = np.array([bound.over(candidate, profiles) for bound in bounds])
    over = (parameters <= run.budget.max_parameters) & past.any(axis=0)
    profiles, parameters, past = profiles[over], parameters[over], past[:, over]
    # A ladder another over the bounds dominates scores no higher than that one.
    best = maximal(profiles)
    profiles, parameters, past = profiles[best], parameters[best], past[:, best]
    if profiles.size == 0:
        return ""
    keys = run.profile_keys(candidate, entry.dag.log2_ranks(np.log2(profiles)), parameters)
    top = best_point(keys, parameters, profiles)
    if keys[top, 0] <= entry.allocation.keys[0]:
        return ""
    held = [bound.said() for bound, row in zip(bounds, past, strict=True) if row[top]]
    return (
        f"the best within {listed(held, quoted=False)}; without "
        f"{'it' if len(held) == 1 else 'them'}, {widths_text(profiles[top].tolist())}, within "
        f"the parameter budget, would score {keys[top, 0]:.4g} on these targets"
    )


def _tree_words(run: SearchRun, candidate: Candidate) -> str:
    """Say a tree in words: its family and windows, ``mirror pooling (2x2, global 2x2)``."""
    if candidate.family == "shallow":
        return "one global pooling"
    detail = ""
    if candidate.dilations is not None:
        detail = f", dilations {', '.join(str(d) for d in candidate.dilations)}"
    elif candidate.variant is not None:
        detail = f", {candidate.variant.describe(run.names)}"
    elif candidate.family == "data_arranged":
        detail = ", contiguous on the data's arrangement"
    return (
        f"{family_words(candidate.family)} pooling ({candidate.schedule_text()}{detail})"
        f"{candidate.padding_text(run.task.input.shape)}"
    )


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
    return "" if tree is None or measured is None else _tree_words(run, tree)


def _design(run: SearchRun, entry: Entry) -> Design:
    """Describe an entry for the rationale: its tree in words, widths and figures."""
    candidate = entry.candidate
    widths = np.asarray([entry.allocation.widths])
    return Design(
        description=_tree_words(run, candidate),
        widths=entry.allocation.widths,
        parameters=entry.allocation.parameters,
        log2_ranks=entry.allocation.log2_ranks,
        score=entry.allocation.keys[0],
        multiply_adds=int(run.ladders.multiply_adds(candidate, widths)[0]),
        discarded=run.discarded(candidate),
        coherence=(run.coherent(candidate) if run.objective.best_coherence is not None else 0.0),
    )


def _notes(run: SearchRun, complete: bool) -> Sequence[str]:
    """Return the search's notes, which every recommendation of the page carries."""
    standard = _standard_note(run)
    return [*_stop_notes(run, complete), *([standard] if standard else []), *search_notes(run)]


def _standard_note(run: SearchRun) -> str:
    """Name the standard CNN of this budget, which every tree's summary compares its costs with.

    Its tree, widths and costs, and the compute bound where it sets it (empty: no standard CNN
    fits). A pick on an 8x32x32 input at 1,000,000 parameters read "575,149,056 multiply-adds
    per input (0.299x the standard CNN of this budget)" of a CNN that no sentence named (M = 384,
    outside the search's range of M), so neither the ratio nor the bound could be checked.
    """
    standard = run.ladders.standard
    if standard is None:
        return ""
    tree = standard.tree
    bound = ""
    if run.budget.max_multiply_adds is None and run.budget.width_profile == "practical":
        bound = (
            f"; the compute bound, {run.ladders.max_multiply_adds:,} multiply-adds per input, is "
            f"{DEFAULT_COMPUTE_FACTOR}x its multiply-adds, and max_multiply_adds (--max-macs) "
            "sets another"
        )
    return (
        "The standard CNN of this budget, which the multiply-adds and activations are compared "
        f"with, is contiguous pooling ({tree.schedule_text()})"
        f"{tree.padding_text(run.task.input.shape)} with {widths_text(standard.widths)}: "
        f"{standard.parameters:,} parameters, {standard.multiply_adds:,} multiply-adds and "
        f"{standard.activations:,} activations per input{bound}."
    )


def _stop_notes(run: SearchRun, complete: bool) -> list[str]:
    """Say that the search was stopped (``complete`` False), and what the page then holds.

    A mixture says it in its own words (:mod:`advisor.search.mixtures`).
    """
    notes = []
    board = run.board
    by, remedy = stop_words(run.signal)
    if not complete and not board.top:
        baseline = "the best contiguous net" if board.contiguous else "the shallow net"
        notes.append(
            f"The search was stopped{by} after about {run.share_done:.0%} of its work, before "
            f"it scored any design it recommends: this is {baseline}, the reference the "
            f"rationales compare against, not a searched design; {remedy} lets the search "
            "score the candidate trees."
        )
    elif not complete:
        notes.append(
            f"The search was stopped early{by}, after about {run.share_done:.0%} of its work; "
            "this is the best found so far."
        )
    return notes


def channel_note(shape: Sequence[int]) -> str:
    """Say that an end axis of the input ``shape`` that looks like channels is pooled as one.

    Every design's summary says it, so the table does (a ``[32, 32, 3]`` image was searched as
    a 3-D grid, its colours pooled, and only ``--explain``'s last lines said how to give them);
    "" when no axis looks so.
    """
    hint = channel_axis_hint(shape)
    if hint is None:
        return ""
    return (
        f"The input {list(shape)} is searched as a grid of {len(shape)} axes, each pooled "
        f"like a spatial one; {hint}."
    )


@functools.lru_cache(maxsize=64)
def one_level_note(shape: tuple[int, ...]) -> str:
    """Say that the input ``shape`` is pooled in one level only, padded or not; else "".

    Its one net is the shallow one, which then scores 1 against itself and "models every
    correlation as fully as its target asks": a [101, 101, 101] volume, whose prime axes pool
    in one window and whose padding passes the largest grid searched, read as a perfect pick.
    Every design's summary says so, and what gives a deeper net. Cached: each build of a page
    asks it, and the deepest tree of a 1024x1024 grid takes a few milliseconds to find.
    """
    if deepest_tree(shape) > 1:
        return ""
    return (
        f"The input {list(shape)} is pooled in one level only, padded or not (no padding past "
        f"{MAX_LOCATIONS:,} locations is searched), so this net is measured against itself: "
        "crop or downsample the input for a deeper net."
    )


def search_notes(run: SearchRun) -> list[str]:
    """Return the notes on the search as a whole, stopped or not, which every design carries.

    A mixture's members are trees of this search, so a mixture carries them too (sampled
    dilation orders, no standard CNN to compare compute with, widths that gave way, a tie).
    """
    notes = []
    if not run.space.dilation_orders_complete:
        notes.append(
            "Dilation orders were sampled (seed "
            f"{run.budget.seed}), not all tried: there are too many for this length."
        )
    shape = run.task.input.shape
    ladders = run.ladders
    stated = run.budget.max_multiply_adds is not None
    if ladders.standard is None and run.budget.width_profile == "practical" and not stated:
        unpriced = "so the multiply-adds are not compared with one"
        narrowest = ladders.narrowest
        if narrowest is None:
            # No tree, whatever the budget: saying that none "fits this budget" sent the user
            # to raise a budget that changes nothing.
            reason = no_standard_cnn_reason(shape, *run.depths)
            notes.append(
                f"The grid {list(shape)} has no standard CNN (contiguous pooling of every axis "
                "of more than one location by its smallest prime factor at every level below "
                f"the top: {reason}), "
                f"{unpriced} and no compute "
                "bound applies; max_multiply_adds (--max-macs) sets one."
            )
        else:
            hidden = ladders.rules.hidden()
            notes.append(
                "No standard CNN (contiguous pooling, widths doubling per level from "
                f"{hidden[0]} up to {hidden[-1]}) fits this budget, {unpriced}; the compute "
                f"bound, {ladders.max_multiply_adds:,} multiply-adds per input, is "
                f"{DEFAULT_COMPUTE_FACTOR}x the narrowest one's ({widths_text(narrowest.widths)}, "
                f"{narrowest.parameters:,} parameters), as at the budgets where it fits; "
                "max_multiply_adds (--max-macs) sets another."
            )
    window = _widened_window(run)
    if window:
        notes.append(window)
    relaxed = run.ladders.rules.relaxed() if run.budget.width_profile == "practical" else []
    if relaxed:
        notes.append(
            f"Of the allowed widths ({', '.join(map(str, run.ladders.rules.choices))}), "
            + "; ".join(relaxed)
            + "."
        )
    rival = _tied_rival(run)
    if rival is not None:
        notes.append(_tie_note(run, run.board.top[0], rival))
    reading = _other_reading(run)
    if reading:
        notes.append(reading)
    return notes


def _widened_window(run: SearchRun) -> str:
    """Say that the default window bound gave way to the least window any tree has (else "").

    Every tree of a 28x28 grid pools a 7x7 window (49 locations) or a larger one: its picks
    passed the default ``max_window`` of 16 and nothing said why. A bound the caller set is
    refused instead (:func:`~advisor.search.checks.check_bounds`); a free search has none. Not
    said of a page a stop left with its reference alone (the shallow net, one window over the
    whole grid, which no window bound holds): the sentence read as true of that net.
    """
    budget = run.budget
    bound = budget.max_window
    stated = "max_window" in budget.stated_bounds()
    if budget.width_profile != "practical" or bound is None or stated or not run.board.top:
        return ""
    least = run.window_bounds.get("max_window")
    if least is None or least <= bound:
        return ""
    return (
        "Pooling windows are bounded by max_window (--max-window), "
        f"{widened_default(bound, least, budget)}."
    )


def _tied_rival(run: SearchRun) -> Entry | None:
    """Return the best tree of another family that ties the #1's score keys exactly.

    Taken from every family's best tree, not the page's list: a short page says it too.
    """
    if not run.board.top:
        return None
    first = run.board.top[0]
    tied = [
        entry
        for family, entry in run.board.leaders.items()
        if family != first.candidate.family and entry.allocation.keys == first.allocation.keys
    ]
    return ranked(tied, run.tie_key)[0] if tied else None


def _tie_note(run: SearchRun, first: Entry, rival: Entry) -> str:
    """Say that the #1 and ``rival`` tie on the score, and what ranks the #1 first."""
    family, other = family_words(first.candidate.family), family_words(rival.candidate.family)
    return (
        f"The best {family} and {other} trees tie on every figure of the score: this task's "
        "correlations reach the same ranks under both geometries, so the description does "
        f"not choose between them, and the one ranked first {_tie_lead(run, first, rival)}. If "
        "one is meant, say which locations pair: region pairs that only that geometry pools "
        "early."
    )


def _tie_above(run: SearchRun, rank: int, entry: Entry) -> str:
    """Say that the entry ties the design ranked just above it, and what ranks that one first.

    Empty for the #1 and where the score keys differ. The family tie note (:func:`_tie_note`)
    compares the #1 with other families' best trees only: two dilation orders of 16 steps, ranked
    5 and 6 with the same score, parameters and every figure, read as if the score had decided.
    """
    if rank == 1:
        return ""
    above = run.board.top[rank - 2]
    if above.allocation.keys != entry.allocation.keys:
        return ""
    return (
        f"It ties the design ranked {rank - 1} on every figure of the score, and that one "
        f"{_tie_lead(run, above, entry)}."
    )


def _tie_lead(run: SearchRun, first: Entry, second: Entry) -> str:
    """Say what ranks ``first`` before ``second``, which ties it on every score key.

    The board's order (:func:`~advisor.search.board.ranked`): fewer parameters, then the tree
    whose correlated locations meet sooner, then the listing order.
    """
    if first.allocation.parameters != second.allocation.parameters:
        return "leads by needing fewer parameters"
    if (soon := run.levels_apart(first.dag)) != (late := run.levels_apart(second.dag)):
        ours, theirs = told_apart(soon, late)
        return (
            "pools each correlation's two sides together sooner (a correlated location passes "
            f"{ours} pooling levels on average before its window holds the other side, against "
            f"{theirs}; trained nets reward it: docs/OUTCOMES.md, held-out tasks)"
        )
    return "leads only by the search's listing order"
