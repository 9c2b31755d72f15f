"""The notes every recommendation of a page carries, and the words for what stopped a search.

A stop and what the page then holds, the standard CNN the costs are compared with, sampled
dilation orders, a window bound that gave way, widths relaxed, a tie between families or with
the design ranked above, and the other reading of equal regions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Final

from advisor.model.budget import DEFAULT_COMPUTE_FACTOR
from advisor.model.geometries import is_sequence
from advisor.model.grid import MAX_LOCATIONS, Padding, channel_axis_hint, padded_shape
from advisor.model.schedule import grid_text
from advisor.model.text import family_words, listed, told_apart
from advisor.search.board import Entry, ranked
from advisor.search.candidates import Candidate, deepest_tree
from advisor.search.checks import WINDOW_MEASURES, widened_default
from advisor.search.coherence import describe_relation
from advisor.search.designs import design, tree_words
from advisor.search.ladders import no_standard_cnn_reason
from advisor.search.rationale_inputs import widths_text
from advisor.search.run import SearchRun
from advisor.stopping import StopCause, StopSignal
from advisor.words import counted

__all__ = [
    "channel_note",
    "dilated_note",
    "one_level_note",
    "page_notes",
    "search_notes",
    "stop_words",
    "tie_above",
    "tie_sentence",
]


def page_notes(run: SearchRun, complete: bool) -> Sequence[str]:
    """Return the search's notes, which every recommendation of the page carries."""
    said = (_standard_note(run), _padding_note(run) if complete else "")
    return [*_stop_notes(run, complete), *(note for note in said if note), *search_notes(run)]


def _padding_note(run: SearchRun) -> str:
    """Say what the grids with fewer locations give where the #1 pads the input ('' if not).

    On 17x17x17 with the ``local`` preset every design of the page pooled the input padded to
    32x32x32, 6.7 times its locations, and no sentence said why not 18x18x18, the least
    padding: every tree on it pools a window of 27 locations, past the default window bound.
    Each such grid (but one the shallow net alone pools) is said with its best tree, or with
    the bound that holds its trees and the least of them. A tree the search did not finish
    scoring (one that could not enter the list, :meth:`~advisor.search.board.Board.floor_for`)
    scores no higher than its grid's best or, once the list is full, than the list's last, so
    a grid whose best falls below that is said to score no higher than it. Said of a complete
    search only.
    """
    board = run.board
    if not board.top or board.top[0].candidate.padding is None:
        return ""
    shape = run.task.input.shape
    first = board.top[0]
    locations = math.prod(shape)
    grid = padded_shape(shape, first.candidate.padding)
    padded = math.prod(grid)
    allowed = set(run.budget.families()) - {"shallow"}
    trees: dict[Padding | None, list[Candidate]] = {}
    for candidate in run.candidates:
        if candidate.family in allowed and (
            math.prod(padded_shape(shape, candidate.padding)) < padded
        ):
            trees.setdefault(candidate.padding, []).append(candidate)
    said = [
        f"{_grid_words(shape, padding)}, {_grid_best(run, padding, on_grid)}"
        for padding, on_grid in sorted(
            trees.items(), key=lambda item: math.prod(padded_shape(shape, item[0]))
        )
    ]
    if not said:
        return ""
    chosen = design(run, first)
    return (
        f"The #1 pools the input padded to {grid_text(grid)}, "
        f"{padded / locations:.3g} times its {locations:,} locations "
        f"({chosen.multiply_adds:,} multiply-adds per input, score {chosen.score:.4g}). The "
        f"grids with fewer locations the search pooled: {'; '.join(said)}."
    )


def _grid_words(shape: Sequence[int], padding: Padding | None) -> str:
    grid = grid_text(padded_shape(shape, padding))
    return f"the input as it is ({grid})" if padding is None else f"padded to {grid}"


def _grid_best(run: SearchRun, padding: Padding | None, trees: Sequence[Candidate]) -> str:
    """Say a grid's best tree and its score, or what keeps its trees off the page.

    ``trees``: the grid's trees of the families the search may recommend, but the shallow net
    (a tree of them not recommendable is past the window bounds).
    """
    board = run.board
    best = board.grids.get(padding)
    last = board.top[-1].allocation.keys[0]
    full = len(board.top) == board.size
    if best is not None and not (full and best.allocation.keys[0] < last):
        seen = design(run, best)
        return (
            f"its best tree, {tree_words(run, best.candidate, padded=False)}, scores "
            f"{seen.score:.4g} at {seen.multiply_adds:,} multiply-adds per input"
        )
    held = [(field, bound) for field, bound in run.window_bounds.items() if bound is not None]
    nearest = min(trees, key=lambda c: [WINDOW_MEASURES[f](c.pools) for f, _ in held])
    needs = [
        f"{field} {WINDOW_MEASURES[field](nearest.pools):,} (held at {bound:,}; "
        f"--{field.replace('_', '-')} raises it)"
        for field, bound in held
        if WINDOW_MEASURES[field](nearest.pools) > bound
    ]
    if best is None and needs and not any(c.eligible for c in trees):
        return (
            "every tree the search builds on it is past the window bounds: the least of them, "
            f"{tree_words(run, nearest, padded=False)}, needs {' and '.join(needs)}"
        )
    # Whatever the page's length: with top 3 a grid whose trees have no ladder within the
    # budget read "no tree on it scores above" the design ranked 4, with top 6 this.
    fits = any(run.ladders.fitting(c)[0].size for c in trees if c.eligible)
    if full and fits:
        # The list runs one past the page, so its last is the next page's first, not on this one.
        return (
            f"no tree on it scores above {last:.4g}, the score of the design ranked "
            f"{board.size} (the next page's first)"
        )
    # Not offered, and no list to fall below: none of its ladders fits the budget's bounds.
    return "no tree on it has widths within the budget (parameters and per-input bounds)"


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


def dilated_note(candidate: Candidate, shape: Sequence[int]) -> str:
    """Say the dilation order an interleaved tree of a sequence is, where it is one; else "".

    Pooled in windows of 2 at every level, an unpadded sequence's interleaved tree pools at
    level l the steps 2^(L-1-l) apart: the dilated stack largest first (docs/THEORY.md §7),
    which needs no gather, and whose convs run on the positions ``multiply_adds`` counts
    (docs/FORMATS.md §2). Its ``dilations`` stays null (the family is interleaved), and the
    rationale said nothing of it, so a user after a dilated stack worked the order out.
    """
    if (
        candidate.family != "interleaved"
        or candidate.padding is not None
        or not is_sequence(shape)
        or any(math.prod(pool) != 2 for pool in candidate.pools)
    ):
        return ""
    order = ", ".join(str(2**level) for level in reversed(range(len(candidate.pools))))
    return (
        "On this sequence the tree is also the dilated stack of dilations "
        f"{order} (bottom level first; the geometry {{dilations: [{order}]}}), which runs "
        "without the gather, each conv on the positions its multiply-adds count."
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


def tie_above(run: SearchRun, rank: int, entry: Entry) -> str:
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
    return tie_sentence("every figure of the score", _tie_lead(run, above, entry))


def tie_sentence(keys: str, lead: str) -> str:
    """Say that a design ties the one ranked just above it on ``keys``, and what ranks that first.

    Not by its rank: a mixture search ranks its mixtures among the trees after the trees' notes
    are written (a tree ranked 5 read "ties the design ranked 1"); a tree that ties another stays
    next to it there, as a mixture of equal score ranks after the trees. A tree's note and a
    mixture's (:func:`~advisor.search.mixtures.with_mixtures`) are this sentence.
    """
    return f"It ties the design ranked just above it on {keys}, and that one {lead}."


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
    more = f"; and {counted(left_out, 'more group')}" if left_out > 0 else ""
    return (
        f"Equal regions read both ways: {'; '.join(groups[:_SHOWN])}{more}. The score took the "
        f"reading with the fewest relations; if another is meant, {statements} on a correlation "
        "states it."
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
