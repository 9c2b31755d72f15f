"""Which member of a mixture carries each correlation: a mixture's rationale, beside its fit.

A mixture sums its members' ranks; the sentence groups the correlations by the members that
reach them alone (at least :data:`~advisor.model.results.CARRIED_SHARE` of the mixture's rank),
so a reader sees what each member is for and where only the sum reaches the figure
(docs/THEORY.md §15). :mod:`advisor.search.mixtures` says it after the fit
(:func:`~advisor.search.explain.fit`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from advisor.model.results import CARRIED_SHARE, CorrelationAnalysis
from advisor.model.text import bits_text, listed
from advisor.search.wording import SHOWN

__all__ = ["carriers"]


def carriers(members: Sequence[str], correlations: Sequence[CorrelationAnalysis]) -> str:
    """Say which member of a mixture carries each correlation, with the bits each reaches alone.

    ``members`` names the member networks in the order of each correlation's ``members``
    figures. A member carries a correlation when its rank alone is at least
    :data:`~advisor.model.results.CARRIED_SHARE` of the mixture's
    (:meth:`~advisor.model.results.CorrelationAnalysis.carried_by`; the mixture computes each
    member alone, so none exceeds it); where none does, no member alone reaches the figure
    (which, an upper bound, the sum may not reach either), and the best member's share, rounded
    down, says by how much, as one-decimal bits may not. Each group names its first
    correlations, with the member's bits against the others'; the analysis' ``members`` hold
    every figure. Empty for a tree.
    """
    groups: dict[tuple[int, ...], list[str]] = {}
    for correlation in correlations:
        if not correlation.members:
            continue
        figures = [m.log2_separation_rank for m in correlation.members]
        reach = correlation.carried_by()
        others = [bits_text(f) for i, f in enumerate(figures) if i not in reach]
        own = bits_text(correlation.log2_separation_rank)
        against = f" against {listed(others, quoted=False)}" if others else ""
        best = math.floor(max(correlation.member_shares()) * 1000) / 10
        share = "" if reach else f", the best member alone {best:g}% of the mixture's rank"
        groups.setdefault(reach, []).append(f"{correlation.name!r} ({own} bits{against}{share})")
    if not groups:
        return ""

    def said(reach: tuple[int, ...], names: list[str]) -> str:
        shown = listed(names[:SHOWN], len(names) - SHOWN, quoted=False)
        if not reach:
            return f"no member alone reaches the mixture's figure on {shown}"
        if len(reach) == len(members):
            return f"each member alone reaches {shown}"
        who = listed([f"the {members[i]} (member {i})" for i in reach], quoted=False)
        return f"{who} {'carries' if len(reach) == 1 else 'each carry'} {shown}"

    # The members' own correlations first, in member order; then those several reach alone;
    # last those no member reaches alone.
    ordered = sorted(groups.items(), key=lambda group: (not group[0], len(group[0]), group[0]))
    return (
        "Which member carries each correlation, its rank alone at least "
        f"{CARRIED_SHARE:.0%} of the mixture's (the other members' bits alone after 'against'; "
        "every member's figure is in the analysis' members): "
        f"{'; '.join(said(reach, names) for reach, names in ordered)}."
    )
