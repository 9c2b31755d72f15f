"""Refusals of a search request its space cannot serve, each naming the field to change.

A search refuses, before it scores anything: a representation conv wider than the input; a
representation conv or width choices whose networks' counts would overflow its int64 figures (past
:data:`~advisor.model.compute.COUNT_LIMIT`); geometries the budget names that have no tree on
this input; depth bounds that leave no recommendable tree; a window or step bound the caller set
that no tree meets; and budgets no candidate fits — the parameter budget, or, for a practical
search, the compute bound or the activation bound, each with the exact figure the cheapest net
needs (and the window bound that leaves out the nets within them, when one does).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.budget import Budget, default_profile_choices
from advisor.model.compute import COUNT_LIMIT, layer_locations, multiply_adds
from advisor.model.geometries import is_sequence
from advisor.model.grid import padded_shape, squeezed_shape
from advisor.model.padding import friendly_paddings
from advisor.model.parameters import ParameterModel
from advisor.model.task import Task
from advisor.model.text import listed
from advisor.search.candidates import (
    Candidate,
    deepest_schedule,
    deepest_tree,
    grid_schedules,
    largest_window,
    widened_bound,
    widest_step,
)
from advisor.search.ladders import Bound, Ladders
from advisor.search.profiles import ProfileRules, practical_profiles

__all__ = [
    "WINDOW_MEASURES",
    "check_bounds",
    "check_families",
    "check_kernel",
    "check_space",
    "held_bounds",
    "kernel_too_wide",
    "too_deep",
    "widened_default",
    "within_bounds",
]

_Pools = tuple[tuple[int, ...], ...]


def check_kernel(task: Task, budget: Budget, model: ParameterModel) -> None:
    """Refuse a representation conv wider than the input, or whose counts would overflow.

    The representation conv reads a patch around each location, ``k`` wide along every axis. A
    ``k`` above the input's smallest axis ``n`` is no patch of it: at every location at least
    ``k - n`` of the conv's taps along that axis fall in the zero margin, while its weights grow
    as ``k^d`` (a 64-wide conv on a 28x28 input is 16,384 of the weights of a 19,774-parameter
    net). The bound is the input's own axes, not a padded grid's: the search pads a candidate's
    grid only with constant margins, and every search also holds candidates on the unpadded
    input.

    Its multiply-adds, ``N * k^d * C_in * M`` at the widest M, would wrap silently past
    :data:`~advisor.model.compute.COUNT_LIMIT` (the limit architectures are checked against).
    M is one of the allowed widths, so the widest is the widest width: a ``max_representation``
    above it widens no net (taken as M, it refused searches whose every net can be counted).
    Refused on the kernel when it is wider than 1; a 1-wide one, which cannot be narrowed, is
    left to the width check where a narrower width fits (a refusal of ``representation_kernel:
    a 1-wide representation conv`` gave no way out), else refused on the input's channels.
    """
    kernel = budget.representation_kernel
    too_wide = kernel_too_wide(task.input.shape, kernel)
    if too_wide is not None:
        raise InvalidRequestError.single("budget.representation_kernel", too_wide)
    per_channel = task.input.num_locations * model.representation_weights
    if per_channel * budget.choices()[-1] <= COUNT_LIMIT:
        return
    if kernel > 1:
        raise InvalidRequestError.single(
            "budget.representation_kernel",
            f"a {kernel}-wide representation conv on this input needs more than 2^62 "
            "multiply-adds per input; no network this large can be counted",
        )
    # A 1-wide conv cannot be narrowed: the widths or the input's channels are what to change.
    # Where a narrower M fits, the width check (check_space) names the widest width that does.
    narrowest = budget.choices()[0]
    if per_channel * narrowest > COUNT_LIMIT:
        raise InvalidRequestError.single(
            "task.input.channels",
            f"is {task.input.channels:,}: the representation conv of the input's "
            f"{task.input.num_locations:,} locations needs more than 2^62 multiply-adds per "
            f"input even at the narrowest allowed width ({narrowest}); no network this large "
            "can be counted",
        )


def kernel_too_wide(shape: Sequence[int], kernel: int) -> str | None:
    """Say why a ``kernel``-wide representation conv is wider than the input ``shape``, if it is.

    The search's refusal (:func:`check_kernel`), which a server's limits stage gives too: a
    kernel over ``max_representation_kernel`` and wider than the input is no limit to raise.
    """
    shape = list(shape)
    if kernel <= min(shape):
        return None
    # A sequence written as an image ([1, 64]) refused every kernel above 1 with no way out.
    squeezed = squeezed_shape(shape)
    hint = (
        f" (an axis of one location pools nothing: a {kernel}-wide conv fits the same "
        f"locations given as the shape {squeezed})"
        if squeezed is not None and kernel <= min(squeezed)
        else ""
    )
    return (
        f"a {kernel}-wide representation conv is wider than the smallest axis of the input "
        f"{shape} ({min(shape)}){hint}"
    )


def check_bounds(task: Task, budget: Budget, candidates: Sequence[Candidate]) -> None:
    """Refuse a ``max_window`` or ``max_step`` the caller set that no recommendable tree meets.

    Left at its default, such a bound gives way to the least any tree has (two levels on 64x64
    pool a window of 256 at the least: 4x4, then 16x16); one the caller set would be changed
    silently, so it is refused, naming the least value the input's trees reach. The message
    says the trees the search builds: a hand-written architecture may pool less (``[16, 64,
    64]`` pooled 1x2x2 six times, then 2x1x1 four times, has windows of 4 locations, and ten
    levels, where the search's trees have windows of 8 and six levels at most).
    A ``max_depth`` the caller set that is part of the cause is named, with the depth bound
    that admits trees within the bound (:func:`_deeper`): ``--max-window 6 --max-depth 4`` on
    15x33 was told to raise the window to 9 alone, where ``--max-window 6`` alone succeeds.
    """
    eligible = [c.pools for c in candidates if c.eligible]
    shape = list(task.input.shape)
    violations = []
    for field, measure, what in (
        ("max_window", largest_window, "largest window (in locations)"),
        ("max_step", widest_step, "widest step per axis below the top"),
    ):
        bound = getattr(budget, field)
        if field not in budget.stated_bounds() or not eligible:
            continue
        least = min(map(measure, eligible))
        if bound < least:
            depth, deeper = _deeper(task, budget, candidates, measure, bound, least)
            violations.append(
                FieldViolation(
                    f"budget.{field}",
                    f"is {bound:,}, and every tree the search builds on the input {shape}"
                    f"{depth} has a {what} of at least {least:,}; raise it to {least:,} or "
                    f"more{deeper}",
                )
            )
    if not violations and len(budget.stated_bounds()) == 2 and eligible:
        violations += _unmet_together(budget, eligible, shape)
    if violations:
        raise InvalidRequestError(violations)


def _unmet_together(
    budget: Budget, eligible: Sequence[_Pools], shape: list[int]
) -> list[FieldViolation]:
    """Name a ``max_window`` no tree within the stated ``max_step`` meets, though one alone does.

    Each bound was checked alone; together they left no tree, and the search then gave way on
    one of them without a word (32x32 at ``--max-step 2 --max-window 16 --max-depth 3``: a pick
    that pools 4x4 below the top).
    """
    window, step = budget.max_window, budget.max_step
    assert window is not None and step is not None
    if any(largest_window(p) <= window and widest_step(p) <= step for p in eligible):
        return []
    least_window = min(largest_window(p) for p in eligible if widest_step(p) <= step)
    least_step = min(widest_step(p) for p in eligible if largest_window(p) <= window)
    return [
        FieldViolation(
            "budget.max_window",
            f"is {window:,}, and with budget.max_step {step:,} no tree the search builds on the "
            f"input {shape} meets both: within that step the least largest window is "
            f"{least_window:,}; raise budget.max_window to {least_window:,}, or budget.max_step "
            f"to {least_step:,}",
        )
    ]


def _deeper(
    task: Task,
    budget: Budget,
    candidates: Sequence[Candidate],
    measure: Callable[[tuple[tuple[int, ...], ...]], int],
    bound: int,
    least: int,
) -> tuple[str, str]:
    """Say a ``max_depth`` the caller set where deeper trees have less of ``measure``.

    Return the words of the depth bound (`` at depth <= 4 (budget.max_depth)``) and of the
    deeper one to raise it to instead: the least that admits a tree within ``bound``, else the
    least that admits the least ``measure`` of any depth. Empty where no deeper tree has less
    than ``least``. Where no contiguous tree is searched the deeper trees are not counted
    (contiguous pooling takes every schedule :func:`~advisor.search.candidates.grid_schedules`
    returns, other families not), and the depth bound is named as what may hold the windows:
    ``--geometries mirror --max-depth 3`` on 49x54 read "every tree the search builds on the
    input has a largest window of at least 189", where its 8-level tree has 4.
    """
    shallow = budget.max_depth
    contiguous = any(c.eligible and c.family == "contiguous" for c in candidates)
    if shallow is None:
        return "", ""
    said = f" at depth <= {shallow} (budget.max_depth)"
    if not contiguous:
        return said, ", or raise budget.max_depth: deeper trees may have less"
    # The least of each deeper bound: the trees of every depth up to it.
    reached: dict[int, int] = {}
    for _, _, schedules in grid_schedules(
        task.input.shape, shallow + 1, deepest_schedule(task.input)
    ):
        for pools in schedules:
            reached[len(pools)] = min(reached.get(len(pools), least), measure(pools))
    running = least
    first_at: dict[int, int] = {}  # each least reached, and the shallowest bound reaching it
    for depth in sorted(reached):
        running = min(running, reached[depth])
        first_at.setdefault(running, depth)
    if running == least:
        return "", ""
    within = [depth for value, depth in first_at.items() if value <= bound]
    if within:
        return said, f", or budget.max_depth to {min(within)} or more"
    return said, f", or to {running:,} or more with budget.max_depth {first_at[running]} or more"


def check_families(
    task: Task,
    budget: Budget,
    candidates: Sequence[Candidate],
    named: Sequence[str] | None = None,
) -> None:
    """Refuse a geometry the budget names that has no tree on this input, at its index.

    Before the window bounds are checked: ``--geometries dilations mixture --max-window 64`` on
    35x59 was refused on the window (the shallow net's, the only tree left, "of at least
    2,065"), and raising it as told met this refusal.

    ``named`` is the geometries the request named, when ``budget`` is the tree search's budget
    derived from it (:func:`~advisor.search.mixtures.tree_budget` leaves ``mixture``, which has
    no tree, out): a family is refused at its index there, which the user wrote, not at its
    index in the tree search's shorter list (``--geometries mixture dilations`` named
    ``mixture`` for the refused ``dilations``).
    """
    shape = list(task.input.shape)
    families = {c.family for c in candidates}
    missing = [
        FieldViolation(f"budget.geometries[{i}]", _missing_family(family, budget, task, shape))
        for i, family in enumerate((budget.geometries if named is None else named) or ())
        if family != "mixture" and family not in families
    ]
    if missing:
        raise InvalidRequestError(missing)


def check_space(
    task: Task,
    budget: Budget,
    candidates: Sequence[Candidate],
    ladders: Ladders,
    unbounded: Sequence[Candidate] | None = None,
) -> None:
    """Refuse a request whose search space overflows, is empty, or has nothing that fits.

    In order: width choices whose widest network cannot be counted; depth bounds that leave no
    recommendable tree; for a practical search, a min_width above every allowed width; a
    parameter budget (and, for a practical search, a compute bound) no candidate fits. (A
    geometry with no tree on this input is refused before, :func:`check_families`.)

    ``unbounded`` is ``candidates`` as they were before the window bounds marked some not
    recommendable (same order): a parameter budget no candidate fits is refused with the bound
    that leaves out the nets within it, when one does.
    """
    _check_widths(budget, candidates, ladders)
    if not any(c.eligible for c in candidates):
        raise InvalidRequestError.single(
            "budget.min_depth",
            too_deep(task.input.shape, budget.min_depth, budget.max_depth),
        )
    if budget.width_profile == "free":
        smallest, net = _smallest_net(budget, candidates, ladders)
        if smallest > budget.max_parameters:
            raise InvalidRequestError.single(
                "budget.max_parameters",
                f"the smallest candidate ({net}) needs {smallest:,} parameters",
            )
        return
    widest = ladders.rules.choices[-1]
    if budget.min_width is not None and budget.min_width > widest:
        raise InvalidRequestError.single(
            "budget.min_width",
            f"is {budget.min_width:,}, wider than every allowed width (the widest is "
            f"{widest:,}, budget.{budget.widest_field()}); lower it or allow wider widths",
        )
    eligible = [c for c in candidates if c.eligible]
    if not any(ladders.fitting(c)[0].size for c in eligible):
        raise _nothing_fits(budget, candidates, unbounded or candidates, ladders)


def _check_widths(budget: Budget, candidates: Sequence[Candidate], ladders: Ladders) -> None:
    """Refuse width choices whose widest network would overflow the search's int64 figures.

    A search counts its candidates' parameters and multiply-adds in int64 batches: the
    widest network of its space (every hidden width the largest choice, M the largest
    allowed) must stay within :data:`~advisor.model.compute.COUNT_LIMIT`, or its 1x1 convs'
    counts would wrap silently. Refused on the field that sets the largest width, saying the
    largest that fits.
    """
    widest = budget.choices()[-1]  # the practical widths end there too
    if _widest_multiply_adds(widest, candidates, ladders) <= COUNT_LIMIT:
        return
    fits = widest
    while fits > 1 and _widest_multiply_adds(fits, candidates, ladders) > COUNT_LIMIT:
        fits //= 2
    raise InvalidRequestError.single(
        f"budget.{budget.widest_field()}",
        f"networks {widest:,} channels wide need more than 2^62 multiply-adds per input on "
        f"this input, which cannot be counted; {fits:,} channels fit",
    )


def _widest_multiply_adds(width: int, candidates: Sequence[Candidate], ladders: Ladders) -> int:
    """Bound the multiply-adds of the space's widest net with hidden widths ``width``.

    M is one of the allowed widths, so at most ``width`` wide: M's range
    (``max_representation``) may reach past the widest width, but no net's M does. A quick
    bound first (every level pools at least two locations, so the hidden layers above the
    first run on fewer locations than the grid has); when it passes the limit, the exact
    count of the widest tree, computed tree by tree.
    """
    weights, outputs = ladders.model.representation_weights, ladders.model.outputs
    space = ladders.space
    grid = max(math.prod(space.grid(c)) for c in candidates)
    bound = grid * (weights + width) * width + width * width * grid + width * outputs
    if bound <= COUNT_LIMIT:
        return bound
    schedules = {(space.grid(c), c.pools) for c in candidates}
    return max(
        int(
            multiply_adds(
                [[width] * (len(pools) + 1)],
                layer_locations(shape, pools, pools),
                weights,
                outputs,
                exact=True,
            )[0]
        )
        for shape, pools in schedules
    )


def too_deep(shape: Sequence[int], min_depth: int | None, max_depth: int | None) -> str:
    """Say how deep the trees on ``shape`` go, for a ``min_depth`` that leaves none of them.

    The deepest schedule of the input or of any padding of it within ``max_depth``
    (:func:`~advisor.search.candidates.deepest_tree`): no tree of the search is deeper.
    Without the figure a user cannot tell which depth to ask for (a prime 13 pools four levels
    only padded to 16). The service refuses such a ``min_depth`` in these words too where it is
    also over its ``max_layers`` (:mod:`advisor.service.request_parts`).
    """
    deepest = deepest_tree(shape, max_depth)
    levels = "1 level (one global pooling)" if deepest == 1 else f"{deepest} levels"
    return (
        f"is {min_depth}, and the deepest tree the search builds on the input "
        f"{list(shape)} (padded or not) within the depth bounds has {levels}; lower it "
        f"to {deepest} or less"
    )


def _nothing_fits(
    budget: Budget,
    candidates: Sequence[Candidate],
    unbounded: Sequence[Candidate],
    ladders: Ladders,
) -> InvalidRequestError:
    """Name the bound no practical net fits: the parameters, the multiply-adds, the activations.

    Each per-input bound is tried within the ones before it, so the first no net meets is named.
    Each refusal is followed by :func:`_left_out`'s: the window bounds may be what keeps out
    the nets within the budget (``unbounded`` is ``candidates`` before those bounds applied).
    """
    eligible = [c for c in candidates if c.eligible]
    floor = _hidden_floor(ladders)
    cheapest = min(int(ladders.of_depth(c.depth)[1].min()) for c in eligible)
    narrowest_m = ladders.rules.representations()[0]
    representation = int(ladders.model.layer(ladders.model.representation_weights, narrowest_m))
    if cheapest > budget.max_parameters:
        left_out = _left_out(budget, candidates, unbounded, _Cost.parameters(budget, ladders))
        # A net the window bounds keep out may need fewer (the violations after this say so).
        smallest = "the smallest practical net" + (" within the window bounds" if left_out else "")
        if 2 * representation > cheapest:
            # Narrower hidden layers cannot help: the input's channels cost most of it.
            refusal = (
                f"{smallest} needs {cheapest:,} parameters, {representation:,} "
                f"of them in its representation conv ({ladders.model.representation_weights:,} "
                f"weights per channel: kernel taps x input channels, and M = {narrowest_m}); "
                "raise it, or give the input fewer channels or a smaller "
                "budget.representation_kernel"
            )
        else:
            refusal = (
                f"{smallest} ({floor}) needs {cheapest:,} parameters; "
                f"{_narrower(budget, candidates, unbounded, ladders)}"
            )
        return InvalidRequestError([FieldViolation("budget.max_parameters", refusal), *left_out])
    # The parameters fit: the first per-input bound no net within the ones before it meets.
    held: list[Bound] = []
    for bound in ladders.bounds():
        costs = [
            cost for c in eligible if (cost := _fewest(c, budget, ladders, bound, held)) is not None
        ]
        if min(costs) > bound.limit:
            return _over_bound(budget, candidates, unbounded, ladders, bound, held, min(costs))
        held.append(bound)
    raise AssertionError("only the parameters and the per-input bounds refuse a ladder")


def _over_bound(
    budget: Budget,
    candidates: Sequence[Candidate],
    unbounded: Sequence[Candidate],
    ladders: Ladders,
    bound: Bound,
    held: Sequence[Bound],
    least: int,
) -> InvalidRequestError:
    """Refuse a per-input ``bound`` no net within the parameters and the ``held`` bounds meets.

    ``least`` is the fewest of its unit among those nets: the least value of it that admits one.
    """
    floor, narrowing = _hidden_floor(ladders), _narrowing(ladders.rules)
    within = " and ".join(
        f"budget.{field}" for field in ("max_parameters", *(b.field for b in held))
    )
    source = "" if bound.stated else f" ({bound.source})"
    refusal = (
        f"is {bound.limit:,}{source}: the practical net ({floor}) with the fewest {bound.unit} "
        f"within {within} needs {least:,} per input; raise it or {narrowing}"
    )

    def of(candidate: Candidate) -> int | None:
        fewest = _fewest(candidate, budget, ladders, bound, held)
        return fewest if fewest is not None and fewest <= bound.limit else None

    cost = _Cost(f"{within} and budget.{bound.field}", bound.unit, of)
    left_out = _left_out(budget, candidates, unbounded, cost)
    return InvalidRequestError([FieldViolation(f"budget.{bound.field}", refusal), *left_out])


def _fewest(
    candidate: Candidate, budget: Budget, ladders: Ladders, bound: Bound, held: Sequence[Bound]
) -> int | None:
    """Return the least count in ``bound``'s unit of the tree's practical nets within the rest.

    The rest: the parameter budget and the ``held`` bounds; None when no net is within them.
    """
    profiles, parameters = ladders.of_depth(candidate.depth)
    within = parameters <= budget.max_parameters
    for other in held:
        within &= ~other.over(candidate, profiles)
    chosen = profiles[within]
    return int(bound.measure(candidate, chosen).min()) if chosen.size else None


@dataclass(frozen=True)
class _Cost:
    """What a net left out by the window bounds must be within to be named, and what it costs.

    ``of`` returns a tree's least cost among its practical nets within ``within`` (None: none
    is), in ``unit``.
    """

    within: str
    unit: str
    of: Callable[[Candidate], int | None]

    @classmethod
    def parameters(cls, budget: Budget, ladders: Ladders) -> _Cost:
        """Cost a tree by its smallest practical net, if within the budget (parameter refusal)."""

        def of(candidate: Candidate) -> int | None:
            cheapest = int(ladders.of_depth(candidate.depth)[1].min())
            return cheapest if cheapest <= budget.max_parameters else None

        return cls("budget.max_parameters", "parameters", of)


WINDOW_MEASURES: Final[Mapping[str, Callable[[_Pools], int]]] = {
    "max_window": largest_window,
    "max_step": widest_step,
}
"""What each window bound of a budget measures of a tree's windows (``pools``)."""


def within_bounds(pools: _Pools, bounds: Mapping[str, int | None]) -> bool:
    """Whether the windows ``pools`` are within ``bounds`` (by field; None: no bound)."""
    return all(
        bound is None or WINDOW_MEASURES[field](pools) <= bound for field, bound in bounds.items()
    )


def held_bounds(candidates: Sequence[Candidate], budget: Budget) -> dict[str, int | None]:
    """Return the window bounds a practical search holds its recommendable trees to, by field.

    A bound the caller set binds as set (:func:`check_bounds` refuses one no tree meets, alone
    or with the other); the default ``max_window`` gives way to the least window of the trees
    the stated bounds leave (:func:`~advisor.search.candidates.widened_bound`). The stated
    bounds are applied first: widened on every tree, the default left only trees past a stated
    ``max_step``, and the step bound then gave way to them (27x27 at ``--max-step 2
    --max-depth 2``: a pick that pools 5x5 below the top).
    """
    stated = budget.stated_bounds()
    admitted = [c for c in candidates if c.eligible]
    held: dict[str, int | None] = {}
    for field, measure in sorted(WINDOW_MEASURES.items(), key=lambda bound: bound[0] not in stated):
        bound = widened_bound(admitted, measure, getattr(budget, field))
        held[field] = bound
        if bound is not None:
            admitted = [c for c in admitted if measure(c.pools) <= bound]
    return held


def _left_out(
    budget: Budget,
    candidates: Sequence[Candidate],
    unbounded: Sequence[Candidate],
    cost: _Cost,
) -> list[FieldViolation]:
    """Name the window bound that leaves out the nets within the budgets, if one does.

    The default ``max_window`` of 16 leaves the shallow net out of a 97-location input, and with
    it every net a budget of 200 parameters affords: the parameter refusal alone would send the
    user to the widths, while raising the bound is what admits one; so too for a compute bound
    that only the nets with larger windows meet. Refused on the bound the cheapest such net (by
    ``cost``) is past (naming the other too when it is past both), with its value, stated or
    default, the values that admit that net and its cost; when one bound alone is past, also
    the least value of it that admits a net within the budgets. None when no net the bounds
    left out is within them.
    """
    fits = [
        (least, before)
        for before, after in zip(unbounded, candidates, strict=True)
        if before.eligible and not after.eligible
        for least in [cost.of(before)]
        if least is not None
    ]
    if not fits:
        return []

    def past(candidate: Candidate) -> list[tuple[str, int]]:
        """Return the bounds ``candidate`` is past, each with its measure there."""
        return [
            (field, measure(candidate.pools))
            for field, measure in WINDOW_MEASURES.items()
            if (bound := getattr(budget, field)) is not None and measure(candidate.pools) > bound
        ]

    def value(field: str) -> str:
        """Write a bound's value, saying when it is the default and when that gave way.

        A default no tree within the depth bounds meets is widened to the least any tree has
        (:func:`~advisor.search.candidates.widened_bound`): that is the bound the nets were
        left out by.
        """
        bound = getattr(budget, field)
        if field in budget.stated_bounds():
            return f"{bound:,}"
        least = held_bounds(unbounded, budget)[field]
        if least is not None and least > bound:
            return widened_default(bound, least, budget)
        return f"{bound:,} (the default)"

    least, cheapest = min(
        fits, key=lambda fit: (fit[0], *(m(fit[1].pools) for m in WINDOW_MEASURES.values()))
    )
    (field, needed), *other = past(cheapest)
    if other:
        ((second, also),) = other
        description = (
            f"is {value(field)}, and with budget.{second} at {value(second)} leaves out the "
            f"nets within {cost.within}: raise them to {needed:,} and {also:,} for depth "
            f"{cheapest.depth} ({least:,} {cost.unit})"
        )
        return [FieldViolation(f"budget.{field}", description)]
    description = (
        f"is {value(field)}, and leaves out the nets within {cost.within}: raise it to "
        f"{needed:,} for depth {cheapest.depth} ({least:,} {cost.unit})"
    )
    # The least value of this bound alone that admits a net within the budgets.
    lowest, depth, spent = min(
        (alone[0][1], c.depth, p)
        for p, c in fits
        if len(alone := past(c)) == 1 and alone[0][0] == field
    )
    if lowest < needed:
        description += f", or to {lowest:,} for depth {depth} ({spent:,} {cost.unit})"
    return [FieldViolation(f"budget.{field}", description)]


def widened_default(bound: int, least: int, budget: Budget) -> str:
    """Write a default window bound no tree meets, widened to the ``least`` any tree has.

    Any tree within the depth bounds, and within the ``max_step`` ``budget`` states, if it
    states one (:func:`held_bounds`). The words a refusal naming the bound and the rationale's
    note on it (:func:`~advisor.search.notes.search_notes`) share.
    """
    within = "the depth bounds"
    if "max_step" in budget.stated_bounds():
        within += f" and max_step {budget.max_step:,}"
    return (
        f"{bound:,} (the default, widened to {least:,}: "
        f"no tree the search builds within {within} meets {bound:,})"
    )


def _narrower(
    budget: Budget,
    candidates: Sequence[Candidate],
    unbounded: Sequence[Candidate],
    ladders: Ladders,
) -> str:
    """Say what admits a net within the parameter budget, when no practical net is within it.

    Each way out only where it admits one: narrower widths (:func:`_narrowing`), where a net of
    the narrowest allowed widths within the window bounds fits, or, past the allowed widths,
    the default widths below them that the smallest practical net then uses, with that net
    (:func:`_narrower_net`); the free
    profile, which has no window bounds, with its smallest net's count, where that fits and the
    budget sets no field the free profile refuses (advised beside ``--max-activations``,
    ``--max-macs`` or ``--min-width``, it was refused on them at the next call:
    :meth:`~advisor.model.budget.Budget.practical_fields`). Where not even the smallest net of
    the allowed widths fits, its count: ``lower --min-width`` was advised at 10 parameters,
    where no net of any allowed widths has fewer than 33, and ``allow narrower widths`` where
    none of 4 channels has fewer than 78.
    """
    least, net = _smallest_net(budget, unbounded, ladders)
    narrowing = _narrowing(ladders.rules)
    options = []
    if narrowing == _NARROWER_CHOICES:
        narrower = _narrower_net(budget, candidates, ladders)
        if narrower is not None and narrower[0] <= budget.max_parameters:
            fewest, profile = narrower
            added = sorted(set(profile) - set(ladders.rules.choices))
            widths = ", ".join(map(str, profile[1:]))
            adding = listed([str(w) for w in added], quoted=False)
            options.append(
                f"{narrowing}, adding {adding} (a practical net of {fewest:,} parameters: "
                f"M = {profile[0]}, hidden {widths})"
            )
    elif _smallest_net(budget, candidates, ladders)[0] <= budget.max_parameters:
        options.append(narrowing)
    if least > budget.max_parameters:
        refusal = (
            f"no net of the allowed widths fits it: the smallest of any width profile (the "
            f"free profile's, {net}) needs {least:,}"
        )
        return refusal + "".join(f"; {option}" for option in options)
    if not budget.practical_fields():
        options.append(
            f"set budget.width_profile to free (its smallest net needs {least:,} parameters)"
        )
    return " or ".join(options) or "raise it"


_NARROWER_CHOICES: Final = "allow narrower widths (budget.channel_choices)"
"""What admits narrower practical nets when their widths are already the narrowest allowed."""


def _narrowing(rules: ProfileRules) -> str:
    """Say what admits narrower practical nets: ``lower budget.min_width``, or the field that binds.

    Every width of a practical ladder is at least its ``M``, so when the narrowest allowed
    ``M`` is above the narrowest hidden width, ``min_representation`` sets the floor; when the
    narrowest hidden width is already the narrowest allowed width, a lower ``min_width`` admits
    nothing (``--min-width 1`` was advised to go lower), and only narrower allowed widths do.
    """
    if rules.representations()[0] > rules.hidden()[0]:
        return "lower budget.min_representation"
    if rules.hidden()[0] == rules.choices[0]:
        return _NARROWER_CHOICES
    return "lower budget.min_width"


def _smallest_net(
    budget: Budget, candidates: Sequence[Candidate], ladders: Ladders
) -> tuple[int, str]:
    """Return the parameters of the smallest net of the search, and say it.

    The shallowest recommendable tree with every width the narrowest allowed: a level adds a
    conv and windows add no weights, so no net of the search, free or practical, has fewer.
    """
    depth = min(c.depth for c in candidates if c.eligible)
    narrowest = budget.choices()[0]
    count = int(ladders.model.count([[narrowest] * (depth + 1)])[0])
    return count, f"depth {depth}, every width {narrowest}"


def _narrower_net(
    budget: Budget, candidates: Sequence[Candidate], ladders: Ladders
) -> tuple[int, list[int]] | None:
    """Return the smallest practical net with narrower widths allowed, or None if none are.

    The widths allowed are the budget's and the default ones below them
    (:func:`~advisor.model.budget.default_profile_choices`, down to
    :data:`~advisor.model.budget.DEFAULT_MIN_CHANNELS`); the floors stay (``min_width``, the
    outputs, ``M``'s range), as do the window bounds ``candidates`` keep: advised "as narrow as
    4 (38 parameters at every width 4)" beside a floor of 8 and a window bound no net of 38
    parameters met, adding 4 to the widths gave no net under 100. Its parameters and profile
    ``(M, r_0, ...)``.
    """
    narrowest = ladders.rules.choices[0]
    below = [w for w in default_profile_choices(narrowest) if w < narrowest]
    if not below:
        return None
    rules = replace(ladders.rules, choices=tuple(sorted({*below, *ladders.rules.choices})))

    def smallest(depth: int) -> tuple[int, list[int]]:
        profiles = practical_profiles(depth, rules)
        counts = ladders.model.count(profiles)
        at = int(np.argmin(counts))
        return int(counts[at]), [int(w) for w in profiles[at]]

    depths = sorted({c.depth for c in candidates if c.eligible})
    return min(map(smallest, depths), key=lambda net: net[0])  # the shallowest of a tie


def _hidden_floor(ladders: Ladders) -> str:
    """Say the narrowest hidden width of a practical net, and why when the outputs set it.

    Without min_width the floor is the outputs when they exceed
    :data:`~advisor.model.budget.DEFAULT_MIN_WIDTH` (:meth:`Budget.hidden_floor`; the rules'
    ``floor_outputs`` says which), and
    :meth:`~advisor.search.profiles.ProfileRules.hidden` starts at the narrowest allowed width
    from it, or at the widest allowed when none reaches it: with 1000 outputs and widths up to
    512, ``hidden widths >= 512`` alone states a rule no option sets, so say where it comes from.
    """
    rules = ladders.rules
    narrowest, representation = rules.hidden()[0], rules.representations()[0]
    if representation > narrowest:
        return f"M >= {representation}, budget.min_representation, and every width >= M"
    floor = f"hidden widths >= {narrowest}"
    if rules.floor_outputs is None:
        return floor
    if narrowest < rules.min_width:
        return f"{floor}, {rules.floor_source()} capped at the widest allowed width"
    if narrowest > rules.min_width:
        return f"{floor}, {rules.floor_source()} rounded up to an allowed width"
    return f"{floor}, {rules.floor_source()}"


def _pads_to_a_power_of_two(shape: list[int]) -> bool:
    """Return whether ``shape``'s length, or one the search pads it to, is a power of two."""
    lengths = [math.prod(padded_shape(shape, p)) for p in (None, *friendly_paddings(shape))]
    return any(n & (n - 1) == 0 for n in lengths)


def _missing_family(family: str, budget: Budget, task: Task, shape: list[int]) -> str:
    """Say why a family the budget names has no candidate."""
    if family == "dilations" and not budget.search_dilations:
        return "dilation orders are not searched (budget.search_dilations is off)"
    if family == "dilations" and not is_sequence(shape):
        return (
            "dilations pool a 1-D input only (or one whose other axes have one location), and "
            f"the input is {shape}"
        )
    if family == "dilations" and not _pads_to_a_power_of_two(shape):
        # "within the depth bounds" sent a caller who set none to look for them.
        below = 1 << (math.prod(shape).bit_length() - 1)
        return (
            f"dilations pool a sequence whose length is a power of two, 2^L, and the input "
            f"{shape} is none, nor one the search pads to one (it pads an odd or awkward "
            f"length only): crop it to {below:,} or pad it to {below * 2:,} to search them"
        )
    if family == "data_arranged" and task.arrangement is None:
        return "the task has no arrangement (advisor infer, or advisor recommend --data)"
    if deepest_tree(shape) == 1:
        # "within the depth bounds" sent a caller who set none to look for them.
        return (
            f"the input {shape} is pooled in one level only, padded or not, so no {family} tree "
            "fits it: its one net is the shallow baseline (one global pooling), which a search "
            "without budget.geometries returns"
        )
    return f"no {family} tree fits the input {shape} within the depth bounds"
