"""Rationale: why a recommendation, in plain words with the numbers behind it.

Every rationale compares the recommendation with two references **at the same parameter budget**:
the best contiguous net the search found (docs/THEORY.md §7's default geometry) and the shallow net
(one global pooling, the baseline of [CSS16]). It names the correlation with the largest gain over
each, in log2 separation rank (bits) and as a rank ratio ``x2^bits``, and the *binding*
correlation — the one furthest from its target — with what widening each layer by one step of
the channel choices would add to it. Figures are the analysis' ``log2_separation_rank`` (the
search's objective).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from advisor.search.objective import Objective

__all__ = ["Design", "Widening", "rationale"]

_SMALL_RATIO_BITS = 30
"""Rank ratios up to 2^30 are also written out as plain numbers."""


@dataclass(frozen=True)
class Design:
    """A scored design as the rationale describes it.

    Attributes
    ----------
    description
        Family and windows in words, e.g. ``mirror pooling (2x2, 2x2, global 2x2)``.
    widths
        ``(M, r_0, ..., r_{L-1})``.
    parameters
        Parameter count.
    log2_ranks
        Per-correlation log2 min-cuts.
    score
        The objective's primary score.
    """

    description: str
    widths: tuple[int, ...]
    parameters: int
    log2_ranks: tuple[float, ...]
    score: float

    def widths_text(self) -> str:
        """``M = 32, r = (512, 1, 1)``."""
        hidden = ", ".join(str(w) for w in self.widths[1:])
        return f"M = {self.widths[0]}, r = ({hidden})"


@dataclass(frozen=True)
class Widening:
    """One width raised to the next channel choice, and what it does to the binding correlation.

    Attributes
    ----------
    position
        Index into ``(M, r_0, ..., r_{L-1})``.
    width
        The new width.
    gain
        Bits the binding correlation's log2 rank gains.
    extra_parameters
        Parameters it costs (it may break the budget; the sentence says so).
    """

    position: int
    width: int
    gain: float
    extra_parameters: int


def rationale(
    chosen: Design,
    *,
    contiguous: Design | None,
    shallow: Design,
    objective: Objective,
    names: Sequence[str],
    max_parameters: int,
    widenings: Sequence[Widening],
    notes: Sequence[str] = (),
) -> str:
    """Explain ``chosen`` against the references; see the module docstring.

    Parameters
    ----------
    chosen, contiguous, shallow
        The recommendation and the references (no contiguous tree fits some inputs).
    objective
        Targets and weights behind the scores.
    names
        Correlation names, in the order of the figures.
    max_parameters
        The budget.
    widenings
        For each width that has a larger choice, the effect of raising it one step.
    notes
        Sentences to append (e.g. that dilation orders were sampled).
    """
    kind = "weighted mean" if objective.kind == "weighted" else "smallest"
    sentences = [
        f"{_capitalised(chosen.description)} with {chosen.widths_text()}: "
        f"{chosen.parameters:,} parameters of the {max_parameters:,} allowed; score "
        f"{chosen.score:.4g} (the {kind} fraction of each correlation's log2-rank target).",
        _versus("the best contiguous net", chosen, contiguous, names),
        _versus("the shallow net", chosen, shallow, names),
        _binding(chosen, objective, names, widenings, max_parameters),
        *notes,
    ]
    return " ".join(s for s in sentences if s)


def _versus(label: str, chosen: Design, reference: Design | None, names: Sequence[str]) -> str:
    if reference is None:
        kind = label.removeprefix("the ").removeprefix("best ")
        return f"No {kind} fits this input and budget, so there is no comparison with one."
    if reference.widths == chosen.widths and reference.description == chosen.description:
        return f"This is {label} at this budget."
    gains = np.asarray(chosen.log2_ranks) - np.asarray(reference.log2_ranks)
    best = int(np.argmax(gains))
    head = (
        f"Against {label} at the same budget ({reference.description}, "
        f"{reference.widths_text()}, score {reference.score:.4g}): "
    )
    if gains[best] <= 0:
        return head + "no correlation gains rank; the score decides."
    return head + (
        f"the largest gain is on {names[best]!r}, log2 rank "
        f"{_bits(reference.log2_ranks[best])} -> {_bits(chosen.log2_ranks[best])} "
        f"({_ratio(float(gains[best]))})."
    )


def _binding(
    chosen: Design,
    objective: Objective,
    names: Sequence[str],
    widenings: Sequence[Widening],
    max_parameters: int,
) -> str:
    ranks = np.asarray(chosen.log2_ranks)
    fractions = objective.fractions(ranks)
    if np.all(fractions >= 1.0):
        return "Every correlation reaches its log2-rank target."
    binding = objective.binding(ranks)
    head = (
        f"Binding correlation: {names[binding]!r}, at {fractions[binding]:.0%} of its "
        f"{_bits(float(objective.targets[binding]))}-bit target"
    )
    helpful = sorted((w for w in widenings if w.gain > 0), key=lambda w: (-w.gain, w.position))
    if not helpful:
        return head + "; no single layer one step wider would raise it."
    options = []
    for widening in helpful[:2]:
        name = "M" if widening.position == 0 else f"r_{widening.position - 1}"
        old = chosen.widths[widening.position]
        over = chosen.parameters + widening.extra_parameters > max_parameters
        options.append(
            f"{name} {old} -> {widening.width} would add {_counted(widening.gain)} for "
            f"{widening.extra_parameters:,} more parameters"
            + (" (over the budget)" if over else "")
        )
    return head + "; " + " and ".join(options) + "."


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bits(value: float) -> str:
    return f"{value:,.1f}" if value % 1 else f"{value:,.0f}"


def _counted(bits: float) -> str:
    return f"{_bits(bits)} {'bit' if bits == 1 else 'bits'}"


def _ratio(bits: float) -> str:
    text = f"+{_counted(bits)}, x2^{_bits(bits)}"
    if bits <= _SMALL_RATIO_BITS:
        text += f" = x{2.0**bits:,.3g}"
    return text
