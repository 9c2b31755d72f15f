"""How a design's score is made, in words: the fractions of the targets and the factors.

A summary says which correlations a design models as fully as its target asks
(:func:`coverage`, :data:`FULL`) and which of the factors the objective weighs lowered its score
(:func:`lowered`); the rationale's score sentence says how the score is made, the targets and
each factor at length (:func:`score_sentence`); a comparison names a reference net's factors as
the summary names the design's (:func:`factors_below_one`, :func:`score_factors`). The factors
are the order a tree's windows forget (docs/THEORY.md §16) and how its pooling levels meet the
description's relations (§18).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from advisor.model.text import bits_text, listed, told_apart
from advisor.search.objective import ARRANGEMENT_WEIGHT, Objective
from advisor.search.rationale_inputs import Design, Leaders, Scope
from advisor.search.wording import (
    SHOWN,
    difference_text,
    factor_text,
    percent_text,
    ranks_apart,
)

__all__ = [
    "FULL",
    "coherence_factor",
    "coverage",
    "factors_below_one",
    "fraction_kind",
    "lowered",
    "order_factor",
    "score_factors",
    "score_sentence",
    "searched_nets",
]


FULL = 1 - 1e-9
"""A correlation at this fraction of its target or above is modelled fully: one that reaches
its target, up to the rounding of sums taken in different orders. A fraction short of it falls
short, however little: a mirror net 1.7 bits short of 371.7 (99.5%) read as modelling every
correlation as fully as its target asks, and no sentence said what would raise it."""


def searched_nets(searched: Sequence[str], last: str = "and") -> str:
    """Name the nets of a restricted search: its families, and the shallow net where it counts.

    ``searched`` as :func:`~advisor.search.page.families_searched` gives it, ``shallow`` last;
    ``last`` joins the shallow net on.
    """
    families = [f for f in searched if f != "shallow"]
    shallow = f" {last} the shallow net" if "shallow" in searched else ""
    return f"the families searched ({listed(families, quoted=False)}){shallow}"


def lowered(chosen: Design, objective: Objective) -> str:
    """Say which of the score's factors lowered ``chosen``'s score, briefly; empty: none did.

    A summary's coverage alone does not tell why a net that models every correlation fully
    ranks below one that falls short: these factors do (the rationale's score sentence says
    each at length).
    """
    said = [f"{what} (times {factor_text(f)})" for f, what in factors_below_one(chosen, objective)]
    if not said:
        return ""
    return f"Score {chosen.score:.4g}, lowered by {listed(said, quoted=False)}."


def factors_below_one(design: Design, objective: Objective) -> list[tuple[float, str]]:
    """Return the score's factors below 1 for ``design``, each with what it weighs, in words.

    The summary's "lowered by" (:func:`lowered`) and a compared net's score
    (:func:`~advisor.search.comparisons.versus`) name the same factors alike.
    """
    return [(value, what) for value, what in score_factors(design, objective) if value < 1]


def score_factors(design: Design, objective: Objective) -> list[tuple[float, str]]:
    """Return the score's factors the objective weighs for ``design``, each with its words."""
    factors = (
        (order_factor(design, objective), "the order its pooling windows forget"),
        (
            coherence_factor(design, objective),
            "how its pooling levels meet the location pairs the description repeats",
        ),
    )
    return [(value, what) for value, what in factors if value is not None]


def order_factor(chosen: Design, objective: Objective) -> float | None:
    """Return the score's factor for the order ``chosen``'s windows forget (None: not weighed)."""
    if objective.least_discarded is None:
        return None
    return float(objective.arrangement_factor(chosen.discarded)[0, 0])


def coherence_factor(chosen: Design, objective: Objective) -> float | None:
    """Return the score's factor for how ``chosen`` meets the relations (None: not weighed)."""
    if objective.best_coherence is None:
        return None
    return float(objective.coherence_factor(chosen.coherence)[0, 0])


def coverage(chosen: Design, objective: Objective, names: Sequence[str]) -> str:
    """Say which correlations ``chosen`` models as fully as its target asks, and which not."""
    fractions = objective.fractions(np.asarray(chosen.log2_ranks))
    full = [names[i] for i in range(len(names)) if fractions[i] >= FULL]
    short = [
        f"{names[i]!r} at {percent_text(fractions[i])} "
        f"({' of '.join(ranks_apart(chosen.log2_ranks[i], float(objective.targets[i])))} bits of "
        "log2 rank)"
        for i in np.argsort(fractions, kind="stable")
        if fractions[i] < FULL
    ]
    if not short:
        return "It models every correlation as fully as its target asks."
    shortfall = f"falls short on {listed(short[:SHOWN], len(short) - SHOWN, quoted=False)}"
    if not full:
        return f"It {shortfall}."
    modelled = listed(full[:SHOWN], len(full) - SHOWN)
    return f"It models {modelled} as fully as its target asks and {shortfall}."


_TARGETS: dict[Scope, str] = {
    "complete": "the best {nets} reaches here",
    "stopped": "the best {nets} scored before the search stopped reaches",
    "bounds": "the dimension bounds, the most any net of the search space could reach, as the "
    "search stopped before it scored a design it recommends",
}


def score_sentence(
    chosen: Design,
    objective: Objective,
    scope: Scope,
    reading: Sequence[str],
    stated: bool = False,
    searched: Sequence[str] = (),
    leaders: Leaders = Leaders(),
) -> str:
    """Say how ``chosen``'s score is made: the fractions of the targets and the factors.

    ``stated``: a sentence before has given the score's figure, so this one refers to it rather
    than giving it again. ``searched``: the families a restricted search searched, whose best
    the targets are (:func:`~advisor.search.explain.summary`). ``leaders``: the trees of the
    best coherence, named where ``chosen``'s is lower (a pick's "0.32 against the best tree's
    0.56" named no tree, and none of the references had 0.56), and of the least discard, named
    where ``chosen`` discards more.
    """
    kind = fraction_kind(objective)
    head = "That score is" if stated else f"Score {chosen.score:.4g}:"
    text = f"{head} the {kind} fraction of the targets"
    capped = ""
    if objective.rank_target is not None:
        capped = (
            f", at most {bits_text(objective.rank_target)} bits, log2_rank_target (--rank-target)"
        )
    if objective.max_parameters is not None:
        # Of the nets the search scored, not of every net: a geometry it does not search (a
        # mirror folding one axis alone) may reach more.
        scored = " the search scored" if scope == "complete" else ""
        nets = f" of {searched_nets(searched, last='or')}" if searched else scored
        targets = _TARGETS[scope].format(nets=f"any net{nets}")
        text += f" (targets: {targets}{capped}; equal scores go to the larger net)"
    elif capped or objective.bound_channels is not None:
        text += f" (targets: the dimension bounds{_bounds_at(objective)}{capped})"
    order = order_factor(chosen, objective)
    if order is not None and objective.least_discarded is not None:
        excess = max(chosen.discarded - objective.least_discarded, 0.0)
        own, least = told_apart(chosen.discarded, objective.least_discarded)
        text += (
            f", times {factor_text(order)} for the order its pooling windows forget "
            f"({own} bits per location"
        ) + (
            f", {difference_text(excess)} more than the finest tree's {least}"
            f"{f' ({leaders.finest})' if leaders.finest else ''}, each bit weighing "
            f"x{2.0**-ARRANGEMENT_WEIGHT:.3g})"
            if excess
            else ", the least)"
        )
    factor = coherence_factor(chosen, objective)
    if factor is not None and objective.best_coherence is not None:
        best = objective.best_coherence
        share = chosen.coherence / best
        own, theirs = told_apart(chosen.coherence, best)
        read = ""
        if reading:
            read = f"read as {listed(reading[:SHOWN], len(reading) - SHOWN, quoted=False)}; "
        if objective.relation_share < 1:
            explained = percent_text(objective.relation_share)
            read += (
                f"they explain {explained} of the correlations' weight, the share of the score "
                "this factor scales; "
            )
        whose = f" ({leaders.most_coherent})" if leaders.most_coherent else ""
        text += (
            f", times {factor_text(factor)} for how its pooling levels meet the location pairs the "
            f"description repeats ({read}coherence {own}"
        ) + (
            f" against the best tree's {theirs}{whose}: pairs met at one level everywhere, in "
            "small windows, are what one convolution learns from every example)"
            if share < 1
            else ", the best here)"
        )
    return text + "."


def _bounds_at(objective: Objective) -> str:
    """Say the M at which a free search's targets, the dimension bounds, are taken."""
    if objective.bound_channels is None:
        return ""
    return f" at M = {objective.bound_channels:,}, the largest channel choice"


def fraction_kind(objective: Objective) -> str:
    """Name the fraction of the targets ``objective`` scores: its weighted mean, or smallest."""
    return "weighted mean" if objective.kind == "weighted" else "smallest"
