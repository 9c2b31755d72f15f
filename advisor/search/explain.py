"""Rationale: why a recommendation, in a practitioner's terms, with the bits behind it.

A rationale says what the net is (geometry, widths, parameters and multiply-adds against the
budget and against the standard CNN of that budget, the activations a forward pass holds, against
that CNN's too, and their memory in a training batch, and the compute or activation bound where
it, not the parameters, excludes the tree's larger ladders), which of the task's correlations it can
model as well as the target asks and which it falls short on (in percent of the target, the log2
separation rank in bits beside it), how the best contiguous net and the shallow net at the same
budget compare on the correlation where they differ most short of its target (where a
reference scores higher, also where it is stronger: a correlation, the order its windows forget,
how its levels meet the description's relations; and the compute or activation bound, where it
rather than the parameters holds a reference to a lower score), what a shallow
and a contiguous net would need to reach its figures (expressive efficiency), the correlation
furthest from its target with what widening one layer would add (and what keeps the search
from that design: the budget, the compute or activation bound, the widest width allowed, or a
width profile it does not build), and what 10% more budget would buy; the score sentence says
what the arrangement its windows forget costs (docs/THEORY.md §16). Figures are the analysis'
``log2_separation_rank`` (the search's objective); a practical search's targets are the best
any recommendable net reaches at this budget, a free search's the dimension bounds.

This module writes the opening (what the net is and costs, :func:`summary`, closed by its
:func:`verdict`) and puts the sentences together in that order; a mixture's fit (:func:`fit`)
is said alike. The sentences are written apart, each module one kind: the score's make-up
(:mod:`advisor.search.factors`), the comparisons with other designs
(:mod:`advisor.search.comparisons`) and the figures in them (:mod:`advisor.search.wording`), on
the terms of :mod:`advisor.search.rationale_inputs`; which member of a mixture carries what is
:mod:`advisor.search.carriers`'.
"""

from __future__ import annotations

from collections.abc import Sequence

from advisor.model.results import Efficiency
from advisor.model.text import activations_text
from advisor.search.comparisons import binding_sentence, more_budget_sentence, versus
from advisor.search.factors import coverage, lowered, score_sentence, searched_nets
from advisor.search.objective import Objective
from advisor.search.rationale_inputs import Design, Leaders, Scope, StandardCosts, Widening
from advisor.search.wording import capitalised, percent_text

__all__ = ["fit", "rationale", "summary", "verdict"]


def rationale(
    chosen: Design,
    *,
    opening: str,
    contiguous: Design | None,
    shallow: Design,
    objective: Objective,
    names: Sequence[str],
    max_parameters: int,
    widenings: Sequence[Widening],
    more_budget: Design | None = None,
    more_budget_limit: str = "",
    efficiency: Efficiency | None = None,
    notes: Sequence[str] = (),
    scope: Scope = "complete",
    reading: Sequence[str] = (),
    leaders: Leaders = Leaders(),
    no_contiguous: str = "",
    searched: Sequence[str] = (),
) -> str:
    """Explain ``chosen`` against the references; see the module docstring.

    Parameters
    ----------
    chosen, contiguous, shallow
        The recommendation and the references (no contiguous tree fits some inputs).
    opening
        ``chosen``'s :func:`summary`, which the rationale opens with: the recommendation
        carries it as its own field too, so it is built once, by the caller, for both.
    objective
        Targets and weights behind the scores.
    names
        Correlation names, in the order of the figures.
    max_parameters
        The budget.
    widenings
        For each width that has a larger choice, the effect of raising it one step.
    more_budget
        The same tree's best design with 10% more parameters (None: not searched).
    more_budget_limit
        When that design is ``chosen`` again, why no wider ladder of the tree was taken, in
        words (e.g. the compute bound that excludes them).
    efficiency
        What a shallow and a contiguous net would need to match ``chosen``'s figures.
    notes
        Sentences to append (e.g. that dilation orders were sampled).
    scope
        Whether the search scored every tree (:data:`~advisor.search.rationale_inputs.Scope`); if
        not, the targets and the references are those of the trees scored before it stopped (or
        the dimension bounds), and the sentences say so.
    reading
        The relations the description was read as, in words, where the score weighs them.
    leaders
        The trees of the best coherence and of the least discard, which a lower coherence and a
        larger discard are measured against.
    no_contiguous
        Why the search holds no contiguous tree at all, where it holds none (``contiguous`` is
        then None): the depth bounds, say, not the budget.
    searched
        The families a search restricted to some of the default ones searched, whose best the
        targets are (empty: not restricted; ``shallow`` last where the shallow net sets one), as
        :func:`summary` takes them.
    """
    sentences = [
        opening,
        # The opening has named the score where a factor lowered it (factors.py's `lowered`).
        score_sentence(
            chosen,
            objective,
            scope,
            reading,
            stated=bool(lowered(chosen, objective)),
            searched=searched,
            leaders=leaders,
        ),
        versus(
            "the best contiguous net", chosen, contiguous, objective, names, scope, no_contiguous
        ),
        versus("the shallow net", chosen, shallow, objective, names, scope),
        efficiency.summary() if efficiency is not None else "",
        binding_sentence(chosen, objective, names, widenings),
        more_budget_sentence(chosen, more_budget, max_parameters, more_budget_limit),
        *notes,
    ]
    return " ".join(s for s in sentences if s)


def summary(
    chosen: Design,
    objective: Objective,
    names: Sequence[str],
    max_parameters: int,
    standard: StandardCosts | None = None,
    held: str = "",
    searched: Sequence[str] = (),
) -> str:
    """Return a tree's rationale's opening, the recommendation's ``summary``.

    What the net is and costs (its multiply-adds and activations against the ``standard`` CNN
    at this budget, when there is one), what holds it below the budget when it is not the
    parameters (``held``, a sentence: the compute or activation bound excludes the tree's larger
    ladders; empty otherwise), and which correlations it models fully or falls short on: the
    sentences a reader comparing designs wants first (the command's table shows only these,
    ``--explain`` the whole rationale). ``searched`` names the families a search restricted to
    some of the default ones searched (empty: not restricted): the targets are those families'
    best, so the summary says its score does not compare with a default search's.
    """
    opening = (_what(chosen, max_parameters, standard), held)
    return " ".join(s for s in (*opening, verdict(chosen, objective, names, searched)) if s)


def _restricted(searched: Sequence[str]) -> str:
    """Say that the score is a share of the ``searched`` families' best (empty: none named).

    A ``--geometries contiguous`` search scored a net 0.9653 that a default search scores
    0.005636, its targets set by mirror nets; the targets were said only under ``--explain``.
    """
    if not searched:
        return ""
    return (
        f"Its targets are the best {searched_nets(searched)} reach, so its score does not "
        "compare with a default search's."
    )


def verdict(
    chosen: Design, objective: Objective, names: Sequence[str], searched: Sequence[str] = ()
) -> str:
    """Say which correlations ``chosen`` models fully or falls short on, and what lowered it.

    The close of a summary, a tree's (:func:`summary`) or a mixture's; with the families
    ``searched`` where they set the targets (:func:`_restricted`).
    """
    said = (coverage(chosen, objective, names), lowered(chosen, objective), _restricted(searched))
    return " ".join(s for s in said if s)


def fit(
    chosen: Design,
    objective: Objective,
    names: Sequence[str],
    scope: Scope,
    reading: Sequence[str],
    searched: Sequence[str] = (),
    leaders: Leaders = Leaders(),
) -> str:
    """Say which correlations ``chosen`` models fully and which it falls short on, and its score.

    A mixture's rationale says it after its opening, as a tree's says it in its summary and
    after: the :func:`verdict` (the fractions of the targets, the factors that lowered the
    score, and the families ``searched`` where they set the targets: a mixture's rationale left
    out what its summary said, that its score does not compare with a default search's), then
    the score they make with the factors the objective weighs (the relations ``reading`` names
    where it weighs coherence; the ``leaders`` a lower coherence or a larger discard is
    measured against).
    """
    stated = bool(lowered(chosen, objective))
    score = score_sentence(chosen, objective, scope, reading, stated, searched, leaders)
    return f"{verdict(chosen, objective, names, searched)} {score}"


def _what(chosen: Design, max_parameters: int, standard: StandardCosts | None) -> str:
    cost = f"{chosen.multiply_adds:,} multiply-adds per input"
    if standard:
        cost += f" ({_against_standard(chosen.multiply_adds, standard.multiply_adds)})"
    if chosen.activations:
        compared = _against_standard(chosen.activations, standard.activations) if standard else ""
        cost += f", {activations_text(chosen.activations, compared)}"
    return (
        f"{capitalised(chosen.description)} with {chosen.widths_text()}: "
        f"{chosen.parameters:,} parameters of the {max_parameters:,} allowed "
        f"({percent_text(chosen.parameters / max_parameters)}), {cost}."
    )


def _against_standard(cost: int, standard: int) -> str:
    """Say a cost as a multiple of the standard CNN's: ``0.343x the standard CNN of this budget``.

    Three digits: two wrote 4% more as "1x" (1.04). A ratio rounded to a whole number keeps
    them: 3.997 read "4x", the default compute bound's own multiple, where it is "4.00x".
    """
    ratio = cost / standard
    text = f"{ratio:.3g}"
    if float(text).is_integer() and float(text) != ratio:
        text = f"{ratio:#.3g}".rstrip(".")
    return f"{text}x the standard CNN of this budget"
