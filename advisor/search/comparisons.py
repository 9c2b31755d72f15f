"""How a design compares with another: the reference nets, a width raised, 10% more budget.

The rationale compares the pick with the best contiguous net and the shallow net at its budget
(:func:`versus`): the correlation the reference falls furthest short of the pick on, in bits;
where the reference scores higher, what makes it stronger (a correlation, the order its windows
forget, how its levels meet the description's relations); where it models every correlation at
least as well, which factors keep its score lower. Then with the design one width wider
(:func:`binding_sentence`: what would raise the correlation furthest from its target, and what
keeps the search from it) and with the tree's design at 10% more budget
(:func:`more_budget_sentence`). Figures within :data:`_TIED` of each other are equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from advisor.model.budget import scaled_parameters
from advisor.model.text import bits_text, listed, told_apart
from advisor.search.factors import (
    FULL,
    coherence_factor,
    factors_below_one,
    fraction_kind,
    order_factor,
    score_factors,
)
from advisor.search.objective import Objective
from advisor.search.rationale_inputs import MORE_BUDGET, Design, Scope, Widening
from advisor.search.wording import (
    SHOWN,
    bits_counted,
    capitalised,
    factor_text,
    factors_apart,
    ordinal,
    percent_text,
    ranks_apart,
    ratio_text,
)

__all__ = ["binding_sentence", "more_budget_sentence", "versus"]


_TIED = 1e-9
"""Figures closer than this share of the larger (or than this, below 1) are equal: ranks summed
in different orders differ in their last bits. A reference whose rank on 'local/columns-s2' was
the pick's to 12 digits read as modelling it better ("log2 rank 333.6 against this net's
333.6"), the factor that outscored the pick said after it."""


def versus(
    label: str,
    chosen: Design,
    reference: Design | None,
    objective: Objective,
    names: Sequence[str],
    scope: Scope,
    absent: str = "",
) -> str:
    """Compare ``chosen`` with ``reference``; without one, say why (``absent``: no such tree)."""
    if reference is None:
        kind = label.removeprefix("the ").removeprefix("best ")
        if absent:
            return f"No {kind} is compared with: {absent}."
        if scope != "complete":
            return (
                f"No {kind} that fits this budget was scored before the search stopped, so "
                "there is no comparison with one."
            )
        return f"No {kind} fits this input and budget, so there is no comparison with one."
    if reference.widths == chosen.widths and reference.description == chosen.description:
        return f"This is {label} at this budget."
    ranks = np.asarray(reference.log2_ranks)
    gains = _excess(chosen.log2_ranks, ranks)
    reached = objective.fractions(ranks)
    # Bits past a target count for nothing: a correlation the reference reaches its target on
    # is none it models less well, however far this net's rank passes it (--rank-target).
    counted = np.where(reached < FULL, gains, 0.0)
    best = int(np.argmax(counted))
    held = f", {reference.held}" if reference.held else ""
    stronger = _stronger(chosen, reference, objective, names)
    head = (
        f"{capitalised(label)} at this budget ({reference.description}, "
        f"{reference.widths_text()}{held}) scores {_score_shown(reference, objective)}"
        f"{stronger or _score_made(reference, objective)}"
    )
    if counted[best] <= 0:
        closing = "" if stronger else _better(chosen, reference, objective, names)
        past = _past_targets(chosen, reference, objective, names)
        if closing:
            return f"{head} and {closing}" + (f"; {past}." if past else ".")
        return f"{head} and models no correlation less well" + (
            f" up to the targets: {past}." if past else "."
        )
    where = "where this net is stronger, " if stronger else ""
    # A reference scoring no higher may still model some correlation better (the contiguous net
    # of ``local`` on 64 steps: s1 at 185.8 bits against the pick's 92.9, coherence decided).
    ahead = "" if stronger else _ahead(chosen, reference, objective, names)
    theirs, own = ranks_apart(reference.log2_ranks[best], chosen.log2_ranks[best])
    return head + (
        f"; {where}it models {names[best]!r} at {percent_text(reached[best])} of the target "
        f"(log2 rank {theirs} against this net's {own}: {ratio_text(float(gains[best]))})"
        f"{f'; where it is stronger, {ahead}' if ahead else ''}."
    )


def _score_made(reference: Design, objective: Objective) -> str:
    """Say how ``reference``'s score is made where a factor below 1 cuts its fractions.

    The comparison gave a reference net's score and then its fraction of one target: "scores
    0.03116; it models 'x' at 19% of the target" left the factors that cut 19% to 3% unsaid.
    Empty where no factor is below 1, as the fractions alone then make the score.
    """
    factors = [
        f"times {factor_text(value)} for {what}"
        for value, what in factors_below_one(reference, objective)
    ]
    if not factors:
        return ""
    return (
        f" (the {fraction_kind(objective)} fraction of the targets "
        f"{_fraction(reference, objective):.4g}, {', '.join(factors)})"
    )


def _fraction(design: Design, objective: Objective) -> float:
    """Return the fraction of the targets the score starts from: the weighted mean, or the least."""
    reached = objective.fractions(np.asarray(design.log2_ranks))
    weighted = objective.kind == "weighted"
    return float(reached @ objective.weights) if weighted else float(reached.min())


def _score_shown(reference: Design, objective: Objective) -> str:
    """Write a compared net's score, which the sentence goes on to make of its parts.

    Scores compare at 12 decimals, so one below 5e-13 is 0: "scores 0 (the weighted mean
    fraction of the targets 9.727e-06, times 7.48e-06 ..., times 0.00564 ...)" read as a sum
    gone wrong. Such a score is written as its parts' product, saying it compares as 0.
    """
    if reference.score != 0:
        return f"{reference.score:.4g}"
    product = _fraction(reference, objective)
    for value, _ in score_factors(reference, objective):
        product *= value
    return f"{product:.4g} (0 at the 12 decimals scores compare at)" if product > 0 else "0"


def _stronger(chosen: Design, reference: Design, objective: Objective, names: Sequence[str]) -> str:
    """Say where ``reference``, scoring higher than ``chosen``, is stronger; empty: it does not.

    The correlation on which its rank passes this net's by the most bits the target counts, and
    each factor of the score it stands higher on. #2 of ``local`` at 20,000 parameters (0.6281)
    was compared with the best contiguous net (0.6288) only where #2 is stronger, every
    correlation: the order the reference's windows forget less of, which outscores it, went
    unsaid.
    """
    if reference.score <= chosen.score:
        return ""
    ahead = _ahead(chosen, reference, objective, names)
    said = [ahead] if ahead else []
    order, own_order = order_factor(reference, objective), order_factor(chosen, objective)
    if order is not None and own_order is not None and _excess(order, own_order) > 0:
        bits, own_bits = told_apart(reference.discarded, chosen.discarded)
        factor, own_factor = factors_apart(order, own_order)
        said.append(
            f"its pooling windows forget less of the order ({bits} bits per location against "
            f"this net's {own_bits}: times {factor} against {own_factor})"
        )
    meets, own_meets = coherence_factor(reference, objective), coherence_factor(chosen, objective)
    if meets is not None and own_meets is not None and _excess(meets, own_meets) > 0:
        coherence, own_coherence = told_apart(reference.coherence, chosen.coherence)
        factor, own_factor = factors_apart(meets, own_meets)
        said.append(
            "its pooling levels meet the location pairs the description repeats better "
            f"(coherence {coherence} against this net's {own_coherence}: times {factor} "
            f"against {own_factor})"
        )
    return f", above this net's {chosen.score:.4g}, as {listed(said, quoted=False)}"


def _ahead(chosen: Design, reference: Design, objective: Objective, names: Sequence[str]) -> str:
    """Say where ``reference`` models a correlation better than ``chosen`` by the most bits.

    Counted up to the target (empty: it nowhere ranks higher below it).
    """
    ranks = np.asarray(chosen.log2_ranks)
    gains = _excess(np.minimum(reference.log2_ranks, objective.targets), ranks)
    best = int(np.argmax(gains))
    if gains[best] <= 0:
        return ""
    theirs, own = objective.fractions(reference.log2_ranks), objective.fractions(ranks)
    own_rank, rank = ranks_apart(ranks[best], reference.log2_ranks[best])
    target = float(objective.targets[best])
    # A reference the search may not recommend (the shallow net's global window past
    # max_window) may pass a target: "at 100% of the target (log2 rank 9)" beside "7 of 8.8".
    reached = (
        f"past its target of {bits_text(target)} bits"
        if reference.log2_ranks[best] > target
        else f"at {percent_text(theirs[best])} of the target"
    )
    return (
        f"it models {names[best]!r} {reached} against this net's {percent_text(own[best])} "
        f"(log2 rank {rank} against this net's {own_rank})"
    )


def _past_targets(
    chosen: Design, reference: Design, objective: Objective, names: Sequence[str]
) -> str:
    """Say where ``chosen`` ranks higher only past the targets (empty: it nowhere ranks higher).

    The close of :func:`versus` where the reference models no correlation less well.
    """
    gains = _excess(chosen.log2_ranks, reference.log2_ranks)
    best = int(np.argmax(gains))
    if gains[best] <= 0:
        return ""
    theirs, own = ranks_apart(reference.log2_ranks[best], chosen.log2_ranks[best])
    return (
        f"where this net's rank is higher, both reach the target (on "
        f"{names[best]!r}, log2 rank {theirs} against this net's {own}, target "
        f"{bits_text(float(objective.targets[best]))} bits)"
    )


def _better(chosen: Design, reference: Design, objective: Objective, names: Sequence[str]) -> str:
    """Say that ``reference`` models every correlation at least as well, and which better.

    Empty where it models none better. Every correlation it models better is counted, the first
    :data:`~advisor.search.wording.SHOWN` named, with the figures of the one it passes by the
    most: the shallow net of ``start_end`` on 100 steps, better on four of them, read
    "'start_end/w4' better" alone.
    And which factors of the score, lower than ``chosen``'s, keep it from outscoring it: called
    where the reference models no correlation less well and does not outscore ``chosen``. The
    shallow net of ``symmetry`` at 129 parameters, 4.3 bits on every correlation against a
    contiguous pick's 3, read "scores 0.02548 and models no correlation less well", as if it
    modelled none better: it models every one at least as well, and only its order factor
    (x0.0802) lowers its score.
    """
    targets = objective.targets
    ahead = _excess(
        np.minimum(reference.log2_ranks, targets), np.minimum(chosen.log2_ranks, targets)
    )
    better = [names[int(i)] for i in np.flatnonzero(ahead > 0)]
    if not better:
        return ""
    best = int(np.argmax(ahead))
    own_rank, rank = ranks_apart(chosen.log2_ranks[best], reference.log2_ranks[best])
    figures = f"(log2 rank {rank} against this net's {own_rank})"
    # A rank past a target counts for nothing: said where it leaves one out.
    higher = np.count_nonzero(_excess(reference.log2_ranks, chosen.log2_ranks))
    capped = " up to the targets" if higher > len(better) else ""
    if len(better) == 1:
        said = (
            f"models every correlation at least as well, {names[best]!r} better{capped} {figures}"
        )
    else:
        count = (
            f"all {len(names)}"
            if len(better) == len(names)
            else f"{len(better)} of the {len(names)}"
        )
        said = (
            f"models every correlation at least as well and {count} better{capped} "
            f"({listed(better[:SHOWN], len(better) - SHOWN)}), {names[best]!r} the most "
            f"{figures}"
        )
    lower = []
    for (theirs, what), (own, _) in zip(
        score_factors(reference, objective), score_factors(chosen, objective), strict=True
    ):
        if _excess(own, theirs) > 0:
            factor, own_factor = factors_apart(theirs, own)
            lower.append(f"{what} (times {factor} against this net's {own_factor})")
    if lower:
        said += f", and scores lower through {listed(lower, quoted=False)}"
    return said


def binding_sentence(
    chosen: Design,
    objective: Objective,
    names: Sequence[str],
    widenings: Sequence[Widening],
) -> str:
    """Say how to raise the correlation furthest from its target: the two best widenings.

    Empty when every correlation meets its target, since then nothing holds the score down.
    """
    ranks = np.asarray(chosen.log2_ranks)
    if np.all(objective.fractions(ranks) >= FULL):
        return ""
    binding = objective.binding(ranks)
    if not widenings:
        # Only the widths a request names have no step past the widest (max_channels has one).
        return (
            f"Every width is the widest the channel choices allow (channel_choices, --channels), "
            f"so no layer can be widened to raise {names[binding]!r}."
        )
    helpful = sorted((w for w in widenings if w.gain > 0), key=lambda w: (-w.gain, w.position))
    singles = [w for w in helpful if w.also is None]
    if not singles:
        # M and the 1st width of start_end on 13 steps, 32 each, hold 'w1' at 5 bits together:
        # neither alone raises it, and "No single layer" alone left the reader without a way.
        paired = f"; {_widened(chosen, helpful[0])}" if helpful else ""
        return f"No single layer one step wider would raise {names[binding]!r}{paired}."
    options = " and ".join(_widened(chosen, widening) for widening in singles[:2])
    return f"To raise {names[binding]!r}: {options}."


def _widened(chosen: Design, widening: Widening) -> str:
    """Say what ``widening`` of ``chosen`` adds and costs, and what keeps the search from it."""
    steps = [(widening.position, widening.width)]
    if widening.also is not None:
        steps.append(widening.also)
    said = " and ".join(
        f"{'M' if position == 0 else f'the {ordinal(position)} width'} "
        f"{chosen.widths[position]} -> {width}"
        for position, width in steps
    )
    together = " together" if widening.also is not None else ""
    beyond = f" ({widening.beyond})" if widening.beyond else ""
    return (
        f"{said}{together} would add {bits_counted(widening.gain)} for "
        f"{widening.extra_parameters:,} more parameters{beyond}"
    )


def more_budget_sentence(
    chosen: Design, more: Design | None, max_parameters: int, limit: str
) -> str:
    """Say what 10% more budget would buy on ``chosen``'s tree: ``more``, that tree's design.

    Where it is ``chosen`` again, ``limit`` says why no wider ladder was taken. Empty where
    ``more`` is None (not searched).
    """
    if more is None:
        return ""
    budget = f"10% more budget ({scaled_parameters(max_parameters, MORE_BUDGET):,} parameters)"
    if more.widths == chosen.widths:
        return f"{budget} would not change this design: {limit}."
    # Within this budget's parameters, only the compute bound kept it out: a default one, which
    # follows the standard CNN of the larger budget.
    held = (
        ", within this budget but over its compute bound, which the larger budget's standard CNN "
        "raises"
        if more.parameters <= max_parameters
        else ""
    )
    # A wider ladder as high is taken for the tie alone: the larger net ranks first.
    gain = "" if more.score > chosen.score else ", no higher than this design's"
    return (
        f"{budget} would buy {more.widths_text()} on the same tree "
        f"({more.parameters:,} parameters{held}; score {more.score:.4g} on this budget's "
        f"targets{gain}; a search at that budget sets its own, which can order the tree's "
        "ladders otherwise)."
    )


def _excess(higher: npt.ArrayLike, lower: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return by how much each of ``higher`` passes ``lower``; 0 where it does not or they tie.

    Tied: within :data:`_TIED` of the larger (of 1, below it).
    """
    values, others = np.asarray(higher, dtype=np.float64), np.asarray(lower, dtype=np.float64)
    gains = values - others
    scale = np.maximum(np.maximum(np.abs(values), np.abs(others)), 1.0)
    excess: npt.NDArray[np.float64] = np.where(gains > _TIED * scale, gains, 0.0)
    return excess
