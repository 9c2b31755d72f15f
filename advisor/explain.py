"""Rationale: why a recommendation, in plain words with the numbers behind it.

Every rationale compares the recommendation with two references **at the same parameter budget**:
the best contiguous net the search found (THEORY.md §4's default geometry) and the shallow net
(one global pooling, the baseline of [CSS16]). It names the correlation with the largest gain over
each, in log2 separation rank (bits) and as a rank ratio ``x2^bits``, and the *binding*
correlation — the one furthest from its target — with the edges its minimal cut crosses, which
are the widths that would have to grow to raise it. Figures are tensor-network min-cuts (the
search's objective, the analysis' ``log2_min_cut``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from advisor.objective import Objective

__all__ = ["Design", "rationale"]

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


def rationale(
    chosen: Design,
    *,
    contiguous: Design | None,
    shallow: Design,
    objective: Objective,
    names: Sequence[str],
    max_parameters: int,
    binding_cut: npt.ArrayLike,
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
    binding_cut
        Cut counts ``(L + 1,)`` of the binding correlation's minimal cut at ``chosen``'s widths:
        input legs, then δ hyperedges of each level.
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
        _binding(chosen, objective, names, np.asarray(binding_cut, dtype=np.int64)),
        *notes,
    ]
    return " ".join(s for s in sentences if s)


def _versus(label: str, chosen: Design, reference: Design | None, names: Sequence[str]) -> str:
    if reference is None:
        return (
            f"No {label.removeprefix('the ')} fits this input, so there is no comparison with it."
        )
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
    chosen: Design, objective: Objective, names: Sequence[str], cut: npt.NDArray[np.int64]
) -> str:
    fractions = objective.fractions(np.asarray(chosen.log2_ranks))
    if np.all(fractions >= 1.0):
        return "Every correlation reaches its log2-rank target."
    binding = objective.binding(np.asarray(chosen.log2_ranks))
    crossed = [f"{cut[0]:,} input legs (M = {chosen.widths[0]})"] if cut[0] else []
    crossed += [
        f"{count:,} level-{level} pooling nodes (r_{level} = {chosen.widths[level + 1]})"
        for level, count in enumerate(cut[1:])
        if count
    ]
    return (
        f"Binding correlation: {names[binding]!r}, at {fractions[binding]:.0%} of its "
        f"{_bits(float(objective.targets[binding]))}-bit target; its minimal cut crosses "
        f"{_listed(crossed)}."
    )


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bits(value: float) -> str:
    return f"{value:,.1f}" if value % 1 else f"{value:,.0f}"


def _ratio(bits: float) -> str:
    text = f"+{_bits(bits)} bits, x2^{_bits(bits)}"
    if bits <= _SMALL_RATIO_BITS:
        text += f" = x{2.0**bits:,.3g}"
    return text


def _listed(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items) or "nothing"
    return ", ".join(items[:-1]) + " and " + items[-1]
