"""What a design's margins would buy, and what other than the parameters holds it where it is.

The rationale says what one step up of each width does to the binding correlation
(:func:`widenings`), the design 10% more budget gives (:func:`more_budget`) or why it gives none
(:func:`wider_limit`), and which per-input bound or width limit keeps a design or a reference
net below its budget (:func:`held`, :func:`bound_by`). Each sentence is checked against the
ladders the search scores, so it holds of the design it is said of.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.model.budget import scaled_parameters
from advisor.model.text import listed
from advisor.search.board import Entry
from advisor.search.designs import design
from advisor.search.profiles import ProfileRules, maximal, practical_profiles
from advisor.search.rationale_inputs import MORE_BUDGET, Design, Widening, widths_text
from advisor.search.run import SearchRun
from advisor.search.widths import best_point

__all__ = ["at_width_limits", "bound_by", "held", "more_budget", "widenings", "wider_limit"]


def widenings(run: SearchRun, entry: Entry) -> list[Widening]:
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


def more_budget(run: SearchRun, entry: Entry) -> Design | None:
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
    return design(run, Entry(entry.candidate, allocation, entry.dag))


def wider_limit(run: SearchRun, entry: Entry, said: bool = False) -> str:
    """Say why no wider ladder of the entry's tree is taken at 10% more budget, if none is.

    The reason the code finds: none is wider within the width limits, none fits the parameters,
    those that fit score lower, or a per-input bound excludes them all, which is named as the
    reason only where one of them would rank above the design without it. ``said``: the
    rationale's opening has said what holds the tree below the budget (:func:`held`), so the
    width limits are named here without their figures again.
    """
    if _at_widest(run, entry):
        limits = "" if said else f" ({_width_limits(run)})"
        return f"it is already {_WIDEST}{limits}"
    chosen = entry.allocation.parameters
    profiles, parameters = run.ladders.of_depth(entry.candidate.depth)
    wider = (parameters > chosen) & (
        parameters <= scaled_parameters(run.budget.max_parameters, MORE_BUDGET)
    )
    if not wider.any():
        return "no wider ladder of this tree fits those parameters"
    # The ladders within both bounds, as the 10%-more design was searched among (cached).
    _, fitting = run.ladders.fitting(entry.candidate, MORE_BUDGET)
    if not (fitting > chosen).any():
        exceed = _bounds_exceeded(run, entry, profiles[wider])
        if _outranked(run, entry, profiles[wider], parameters[wider]):
            return f"every wider ladder of this tree exceeds {exceed}"
        # The bound is no reason where the ladders it excludes would rank lower anyway
        # (symmetry at 100,000 parameters: constant ladders of 160 past it scored 7.6 bits of
        # the doubling ladder's 8.6, and the rationale blamed the bound alone).
        ranked = _scored_lower(run, "the ladders of this tree with more parameters")
        return f"{ranked}, and every one exceeds {exceed} too"
    lower = _scored_lower(run, "the ladders of this tree with more parameters that fit")
    # Some wider ladders fit and rank lower; others may rank higher and be held by a bound
    # (length 512 under --max-macs 1.5M: the rationale's opening names that bound, and this
    # line said only "score lower").
    over = _over_bounds(run, entry, profiles[wider])
    if over.any() and _outranked(run, entry, profiles[wider][over], parameters[wider][over]):
        exceed = _bounds_exceeded(run, entry, profiles[wider][over])
        return f"{lower}, and those that would rank above it exceed {exceed}"
    return lower


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


def _over_bounds(
    run: SearchRun, entry: Entry, wider: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Mark the ``wider`` ladders of the entry's tree past a per-input bound at 10% more budget."""
    over = np.zeros(len(wider), dtype=bool)
    for bound in run.ladders.bounds(MORE_BUDGET):
        over |= bound.over(entry.candidate, wider)
    return over


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
    whether they, and not the score, keep the design as it is. Only the ladders no other of
    them dominates are scored: a dominated one ranks no higher (ties go to the larger net), and
    scoring every one took 0.3 s and 175 MiB of a pick's build (128x128, 40 correlations).
    """
    best = maximal(wider)
    wider, parameters = wider[best], parameters[best]
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


def held(run: SearchRun, entry: Entry) -> str:
    """Say what, not the parameters, keeps the entry's tree from spending more of the budget.

    The per-input bounds (:func:`_held_by_bounds`), or, for a pick that spends under half the
    parameters, the width limits when no ladder of its tree is wider: a user given 7% of a
    25M budget asks why, and the limits are options (empty: the parameters hold it, or it
    spends half or more).
    """
    by_bounds = _held_by_bounds(run, entry)
    if by_bounds or run.budget.width_profile != "practical":
        return by_bounds
    if not at_width_limits(run, entry):
        return ""
    option = (
        "channel_choices (--channels) sets others"
        if run.budget.channel_choices is not None
        else "max_channels (--max-channels) and max_representation (--max-representation) "
        "raise them"
    )
    return f"It is {_WIDEST} ({_width_limits(run)}); {option}."


def at_width_limits(run: SearchRun, entry: Entry) -> str:
    """Say that a reference net spending under half the budget is at the widest its limits allow.

    The shallow net at 200,000 parameters, M = 64 and width 512 (33,921 parameters), read as the
    best shallow net the budget allows, where the width limits hold it (empty otherwise).
    """
    if run.budget.width_profile != "practical":
        return ""
    if 2 * entry.allocation.parameters >= run.budget.max_parameters or not _at_widest(run, entry):
        return ""
    return _WIDEST


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


def bound_by(run: SearchRun, entry: Entry) -> str:
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
