"""The pooling trees the search considers: window schedules times geometry families.

**Schedules.** A schedule lists the pooling windows bottom-up; the last pooling is global (it
takes the whole remaining grid). Each level below the top has one *step* and pools it along every
axis the step divides (the other axes by 1), and must leave more than one location. The steps
come from two kinds of lists, which keeps the count of schedules quadratic in the depth rather
than exponential: steps of 2 or 4, all equal or with one switch (4s then 2s, or 2s then 4s); and
the grid's prime factors (:func:`prime_steps`: 15 = 3 * 5, 224 = 2^5 * 7,
44,100 = 2^2 * 3^2 * 5^2 * 7^2) in ascending or descending order, taken in turn
(:func:`interleaved_steps`: 100's 2, 5, 2, 5 and 5, 2, 5, 2), or balanced between the axes
(:func:`balanced_steps`, which interleaves axes whose sizes have different factors, with 2s,
or 4s from any level on), each prefix of each. So every
size with a factor gets deeper trees than the shallow net, with unequal windows per level where
its factors differ (15x15: 3x3 then 5x5), and an axis that runs out (the 16 of 16x64x64) stays
at 1 while the others are pooled on. On a 3-D grid the first level may also pool the two last
axes alone (:func:`_spatial_levels`): 1x2x2, then 2x2x2, as C3D pools. Depth (the
number of hidden layers) runs from 1 — the shallow net, one global pooling, always evaluated as
the baseline — to the deepest such schedule, within the budget's depth bounds.

**Families** (the order is also the tie-break order: simpler first):

- ``shallow``: the depth-1 net (no geometry to choose).
- ``contiguous``, ``mirror`` (2 per axis below the top), ``interleaved``: docs/THEORY.md §7, defined
  by their geometry family (:mod:`advisor.model.geometries`). Contiguous trees are always
  evaluated: every rationale compares with the best of them. A mirror tree on a schedule that
  pools otherwise below the top folds as far as it goes and pools the folded grid contiguously;
  on a power-of-two grid it is left out where the search holds a tree that folds throughout with
  no larger a window (:func:`_least_folded_window`).
- ``dilations``: 1-D inputs of length ``2^L`` (or such a sequence written with axes of one
  location, pooled 1 on them), size-2 windows at every level, one tree per order of the
  dilations ``1, 2, ..., 2^(L-1)`` [CTS18]. All ``L!`` orders when ``L! <=``
  :data:`MAX_DILATION_ORDERS` (720, ``L <= 6``); beyond that, :data:`DILATION_SAMPLE` distinct
  orders: the ascending and descending ones, and the rest drawn by the budget's seed (the
  search says so in its rationale).
- ``synthesized``: trees folded from the task (:mod:`advisor.search.synthesis`), for every schedule
  and variant.
- ``data_arranged``: contiguous pooling of the task's arrangement (the permutation of the
  locations inferred from data, :mod:`advisor.infer.arrangement`), for every schedule of the
  input and of each padded grid (:func:`arranged_permutation` places the arrangement there);
  only for a task with an arrangement.

**Padding.** For a grid with an awkward or odd axis (a large prime factor, or no window of 2),
the space also holds the trees of every family on the grid padded to each friendlier size
:func:`~advisor.model.padding.friendly_paddings` gives; the padding is part of the candidate and
of the architecture it builds, so the choice is explicit and reported, never silent.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from advisor.geometry.layouts import WindowPositions, geometry_permutation, geometry_structure
from advisor.infer.arrangement import halving_positions
from advisor.model.architecture import Architecture, Layer
from advisor.model.budget import Family
from advisor.model.geometries import (
    DilationGeometry,
    Geometry,
    PermutationGeometry,
    applies_to,
    is_sequence,
    mirror_folds,
)
from advisor.model.grid import InputSpec, Padding, padded_ids, padded_shape
from advisor.model.padding import factorise, friendly_paddings
from advisor.model.schedule import Schedule, grid_text
from advisor.search.synthesis import SynthesisVariant, Synthesizer, layout_permutation
from advisor.seprank.labels import FREE, PADDED, padded_labels

__all__ = [
    "DILATION_SAMPLE",
    "MAX_DILATION_ORDERS",
    "Candidate",
    "CandidateSpace",
    "arranged_permutation",
    "balanced_steps",
    "deepest_schedule",
    "deepest_tree",
    "dilated_levels",
    "dilation_orders",
    "grid_schedules",
    "largest_window",
    "padding_text",
    "widened_bound",
    "widest_step",
    "prime_steps",
    "window_schedules",
]

MAX_DILATION_ORDERS: Final = 720
"""All dilation orders are tried while there are at most this many (``L <= 6``)."""

DILATION_SAMPLE: Final = 120
"""Orders drawn by the seed when there are more than :data:`MAX_DILATION_ORDERS`: each costs a
tree of ``N`` leaves (about 10 ms at ``N = 16384``), and the time goes to the other families."""

_Pools: TypeAlias = tuple[tuple[int, ...], ...]
_Ids: TypeAlias = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Candidate:
    """One pooling tree to allocate widths for.

    Attributes
    ----------
    index
        Position in the enumeration; ranks exact ties (lower first).
    family
        Where the tree comes from.
    pools
        The window of every level, bottom-up (the last is global).
    geometry
        The geometry that pools ``pools`` into the tree; None for a synthesized tree, which
        :class:`~advisor.search.synthesis.Synthesizer` folds from the task.
    variant
        The fold (``synthesized`` family only).
    eligible
        Whether it may be recommended (baselines the budget excludes are still evaluated).
    padding
        The constant margins ``(before, after)`` per axis of the padded grid ``pools`` pools
        (:func:`grid_schedules`); None: the input's own grid.
    """

    index: int
    family: Family
    pools: _Pools
    geometry: Geometry | None = "contiguous"
    variant: SynthesisVariant | None = None
    eligible: bool = True
    padding: Padding | None = None

    @property
    def depth(self) -> int:
        """Number of pooling levels (hidden layers)."""
        return len(self.pools)

    @property
    def dilations(self) -> tuple[int, ...] | None:
        """The dilation order (``dilations`` family only)."""
        return self.geometry.dilations if isinstance(self.geometry, DilationGeometry) else None

    def schedule_text(self) -> str:
        """Describe the windows in words, e.g. ``2x2, 2x2, global 4x4``."""
        sizes = [grid_text(pool) for pool in self.pools]
        return ", ".join([*sizes[:-1], f"global {sizes[-1]}"])

    def padding_text(self, shape: Sequence[int]) -> str:
        """Say how the input is padded, e.g. `` on the input padded to 16 (... 1/2)``; '' if not."""
        return padding_text(shape, self.padding)


def padding_text(shape: Sequence[int], padding: Padding | None) -> str:
    """Say how ``shape`` is padded, e.g. `` on the input padded to 16 (... 1/2)``; '' if not.

    Every rationale of a padded design says it so: a tree's (:meth:`Candidate.padding_text`)
    and a mixture's (:mod:`advisor.search.mixtures`).
    """
    if padding is None:
        return ""
    margins = ", ".join(f"{before}/{after}" for before, after in padding)
    grid = grid_text(padded_shape(shape, padding))
    return f" on the input padded to {grid} (constant margins before/after per axis: {margins})"


def deepest_schedule(spec: InputSpec) -> int:
    """Return the most levels a tree of the search may have on ``spec`` (its default max depth).

    Every level pools at least two locations, and padding at most doubles an axis, so a padded
    tree is at most ``ndim`` levels deeper than the input's locations allow.
    """
    return max(1, spec.num_locations.bit_length() + spec.ndim)


def deepest_tree(shape: Sequence[int], max_depth: int | None = None) -> int:
    """Return the levels of the deepest tree the search builds on ``shape``, padded or not.

    Within ``max_depth`` (None: :func:`deepest_schedule`'s bound, no bound of the caller's).
    Contiguous pooling takes every schedule of the grids the search pools
    (:func:`grid_schedules`), and every other family pools those grids by those schedules (a
    dilation order as 2 per level), so no tree of the search is deeper. 1 where only the shallow
    net, one global pooling, pools the input (``[2]``, ``[2, 2]``). Unlike
    :func:`deepest_schedule`, a bound on the levels any grid of that size could have, this is
    the depth a bound must stay under to change the search (a 128 x 128 grid: 7, not 17).
    """
    if max_depth is None:
        max_depth = deepest_schedule(InputSpec(shape=tuple(shape)))
    grids = grid_schedules(shape, 2, max_depth)
    return max((len(pools) for _, _, on_grid in grids for pools in on_grid), default=1)


def window_schedules(shape: Sequence[int], min_depth: int, max_depth: int) -> list[_Pools]:
    """Every schedule of the module docstring with depth in ``[min_depth, max_depth]``.

    Ordered by depth, then by window sizes bottom-up (smaller first).
    """
    grid = tuple(shape)
    step_lists: set[tuple[int, ...]] = set()
    for fours, twos in itertools.product(range(max_depth), repeat=2):
        if 4**fours * 2**twos < math.prod(grid):  # longer lists are not walked (below)
            step_lists.update(((4,) * fours + (2,) * twos, (2,) * twos + (4,) * fours))
    primes = prime_steps(grid)
    ordered_lists = [primes, primes[::-1], *interleaved_steps(primes)]
    fine = balanced_steps(grid)
    if fine != primes:  # axes of different factors
        ordered_lists += [balanced_steps(grid, 4, first) for first in range(len(fine) + 1)]
    for ordered in ordered_lists:
        step_lists.update(ordered[:end] for end in range(len(ordered) + 1))
    schedules = set()
    # A list's prefix is a list too, pooled once for all the lists it starts (:func:`_step_pools`).
    pooled: dict[tuple[tuple[int, ...], int], tuple[_Pools, tuple[int, ...]] | None] = {}
    # Every level pools some axis by its step and the top pools the rest, so the steps'
    # product stays below the grid's size: longer lists are not walked.
    for steps in (s for s in step_lists if math.prod(s) < math.prod(grid)):
        for spatial in _spatial_levels(grid, steps):
            levels = _step_pools(grid, steps, spatial, pooled)
            if levels is not None and min_depth <= len(steps) + 1 <= max_depth:
                pools, remaining = levels
                if math.prod(remaining) > 1:  # else the top would pool a single location
                    schedules.add((*pools, remaining))
    return sorted(schedules, key=lambda pools: (len(pools), pools))


def grid_schedules(
    shape: Sequence[int], min_depth: int, max_depth: int
) -> list[tuple[Padding | None, tuple[int, ...], list[_Pools]]]:
    """Return the grids a search pools and their schedules: ``(padding, grid, schedules)``.

    The input's own grid first (padding None), then each friendlier padding of an awkward grid
    (:func:`~advisor.model.padding.friendly_paddings`), each with its :func:`window_schedules`.
    The candidate space and the AutoML integrations' space (:mod:`advisor.integrations.space`)
    both enumerate the trees from here, so a tool samples the schedules the search pools.
    """
    grids = []
    for padding in (None, *friendly_paddings(shape)):
        grid = padded_shape(shape, padding)
        grids.append((padding, grid, window_schedules(grid, min_depth, max_depth)))
    return grids


def prime_steps(shape: Sequence[int]) -> tuple[int, ...]:
    """Return the primes the axes are pooled by, ascending, each as often as some axis has it.

    ``(15, 15)`` gives ``(3, 5)``, ``(224, 224)`` gives ``(2, 2, 2, 2, 2, 7)``, ``(15, 16)`` gives
    ``(2, 2, 2, 2, 3, 5)``: every axis can be pooled to one location by a sub-sequence of it.
    """
    counts: dict[int, int] = {}
    for n in shape:
        for prime, count in factorise(n).items():
            counts[prime] = max(counts.get(prime, 0), count)
    return tuple(prime for prime in sorted(counts) for _ in range(counts[prime]))


def interleaved_steps(primes: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return ``primes`` taken in turn, a round of each distinct one: smallest or largest first.

    100's ``(2, 2, 5, 5)`` gives ``(2, 5, 2, 5)`` and ``(5, 2, 5, 2)``. Ascending or descending,
    a depth bound leaves the primes it cuts off to one top window (length 100 at depth 3: 2, 2,
    global 25, or 5, 5, global 4), where a mirror net pooled 2, 5, global 10 folds at its first
    level, meets the default window bound and reaches every ``start_end`` correlation's most; taken
    in turn, a list's prefixes give such trees. A power of one prime gives its own list twice.
    """
    counts = {prime: primes.count(prime) for prime in sorted(set(primes))}

    def in_turn(order: list[int]) -> tuple[int, ...]:
        return tuple(
            p
            for round_ in range(max(counts.values(), default=0))
            for p in order
            if counts[p] > round_
        )

    return in_turn(list(counts)), in_turn(list(counts)[::-1])


def balanced_steps(shape: Sequence[int], widest: int = 2, fine: int = 0) -> tuple[int, ...]:
    """Return the steps that pool the axes in step with each other, level by level.

    Each level takes the next step of the axis pooled least so far (the share of its size's
    log already pooled; a tie goes to the smaller prime, then the first axis), and pools every
    axis that step divides, as every list does. An axis's next step is its smallest prime; with
    ``widest`` 4, 4 where 4 divides it from level ``fine`` on (as the lists of 2s and 4s pool a
    power of two in fewer levels). Where the axes' sizes share their factors (a square, a cube,
    a sequence) the list of 2s is the ascending list of :func:`prime_steps`; where they differ,
    the ascending list pools one axis to its end before the other starts (15x64x64: space six
    times, then the 15 frames in one top window, late fusion) and the descending one the
    reverse, where this one interleaves them (2, 3, 2, 2, 5, 2, 2, 2: the frames met in threes,
    then fives, between the spatial levels, as slow fusion does [Karpathy et al., CVPR 2014];
    240x320 meets both axes' 3 and 5 among its 2s). With 4s it takes fewer levels (from level 2:
    2, 3, 4, 5, 4, 2), where a depth bound keeps out the list of 2s and the window bound its
    shorter prefixes, whose top windows grow to 5x8x8; the search takes the 4s from every level.
    """
    left = list(shape)
    total = [math.log2(n) for n in shape]

    def lagging(axis: int) -> tuple[float, int, int]:
        return (1.0 - math.log2(left[axis]) / total[axis], min(factorise(left[axis])), axis)

    def next_step(n: int) -> int:
        coarse = len(steps) >= fine and n % widest == 0
        return widest if coarse else min(factorise(n))

    steps: list[int] = []
    while unpooled := [axis for axis, n in enumerate(left) if n > 1]:
        step = next_step(left[min(unpooled, key=lagging)])
        steps.append(step)
        left = [n // step if n % step == 0 else n for n in left]
    return tuple(steps)


def _spatial_levels(grid: tuple[int, ...], steps: tuple[int, ...]) -> tuple[int, ...]:
    """Return the counts of first levels of ``steps`` that may pool the two last axes alone.

    Always 0 (every level pools every axis the step divides). On a 3-D grid (a video
    ``[T, H, W]``, a volume) also 1 for steps of 2 alone: C3D's 1x2x2 before its 2x2x2, the
    first pooling video nets use. Not more levels of space alone: the more of them, the later a
    tree meets neighbouring frames, down to late fusion (the frames pooled away before time,
    below slow fusion on Sports-1M [Karpathy et al., CVPR 2014]), and the trained-outcome
    benchmark holds no 3-D task to tell such trees apart; every count (for steps of 2) would
    also make 41 schedules on 16x64x64 instead of 21 and a search longer.
    """
    return (0, 1) if len(grid) == 3 and set(steps) == {2} else (0,)


def _step_pools(
    grid: tuple[int, ...],
    steps: tuple[int, ...],
    spatial: int,
    pooled: dict[tuple[tuple[int, ...], int], tuple[_Pools, tuple[int, ...]] | None],
) -> tuple[_Pools, tuple[int, ...]] | None:
    """Pool every axis the step divides, level by level: the pools and the grid they leave.

    None if a level pools nothing. The first ``spatial`` levels pool the two last axes only (a
    video's ``[T, H, W]``: space before time, as C3D's first pooling of 1x2x2). ``pooled`` holds
    the lists pooled so far (by their steps and the spatial levels among them): a list is its
    prefix's levels and one more, so the lists of a grid, which share long prefixes, pool each
    level once.
    """
    key = (steps, min(spatial, len(steps)))
    if key in pooled:
        return pooled[key]
    if not steps:
        found: tuple[_Pools, tuple[int, ...]] | None = ((), grid)
    else:
        before = _step_pools(grid, steps[:-1], spatial, pooled)
        found = None if before is None else _next_level(before, steps[-1], len(steps) <= spatial)
    pooled[key] = found
    return found


def _next_level(
    levels: tuple[_Pools, tuple[int, ...]], step: int, spatial: bool
) -> tuple[_Pools, tuple[int, ...]] | None:
    """Pool the grid ``levels`` leave by ``step`` on every axis it divides (None: on none).

    A ``spatial`` level pools the two last axes only.
    """
    pools, grid = levels
    pooled = range(len(grid) - 2 if spatial else 0, len(grid))
    pool = tuple(step if axis in pooled and n % step == 0 else 1 for axis, n in enumerate(grid))
    if math.prod(pool) == 1:
        return None
    return (*pools, pool), tuple(n // k for n, k in zip(grid, pool, strict=True))


def _least_folded_window(grid: tuple[int, ...], schedules: Sequence[_Pools]) -> float:
    """Return the smallest largest window of the mirror trees of ``schedules`` that fold throughout.

    Infinity when none of them folds throughout. A partly folded mirror tree whose largest window
    is at least this is left out on a power-of-two grid: every bound on windows (``max_window``)
    or on steps below the top (``max_step``; a tree that folds throughout pools by 2 there, a
    partly folded one by 4) that lets it be recommended then lets that tree be recommended too.
    """
    windows = [
        largest_window(pools)
        for pools in schedules
        if applies_to("mirror", schedule := Schedule.trusted(grid, pools))
        and mirror_folds(schedule) == schedule.depth
    ]
    return min(windows, default=math.inf)


def largest_window(pools: _Pools) -> int:
    """Return the locations of the largest of the windows ``pools``."""
    return max(math.prod(pool) for pool in pools)


def widened_bound(
    candidates: Sequence[Candidate], measure: Callable[[_Pools], int], bound: int | None
) -> int | None:
    """Return the window bound a search holds its recommendable trees to (None: no bound).

    ``bound`` where some recommendable tree meets it; else the least ``measure`` any of them
    has, so a default bound no tree meets (an awkward grid, tight depth bounds) gives way
    instead of leaving nothing (a bound the caller set is refused there,
    :func:`~advisor.search.checks.check_bounds`).
    """
    sizes = [measure(c.pools) for c in candidates if c.eligible]
    return None if bound is None or not sizes else max(bound, min(sizes))


def widest_step(pools: _Pools) -> int:
    """Return the widest step, per axis, of the windows ``pools`` below the top (1: none)."""
    return max((max(pool) for pool in pools[:-1]), default=1)


def dilated_levels(grid: Sequence[int], min_depth: int, max_depth: int) -> int | None:
    """Return the levels of a grid's dilation orders within the depth bounds (None: it has none).

    A dilation order pools a sequence of ``2^L`` locations by 2 at each of its ``L`` levels, two
    at least; a sequence written with axes of one location (:func:`is_sequence`) is one too.
    """
    levels = math.prod(grid).bit_length() - 1
    one_d = is_sequence(grid) and math.prod(grid) == 1 << levels
    return levels if one_d and max(2, min_depth) <= levels <= max_depth else None


def dilation_orders(levels: int, seed: int) -> tuple[list[tuple[int, ...]], bool]:
    """Dilation orders for ``2^levels`` positions and whether they are all of them.

    All ``levels!`` orders in lexicographic order when there are at most
    :data:`MAX_DILATION_ORDERS`; otherwise :data:`DILATION_SAMPLE` distinct orders, in
    lexicographic order: the two canonical ones (ascending and descending), then those drawn
    with ``seed``. The canonical orders are always among them: on 128 steps the descending
    order reaches every figure ``start_end`` asks, and no draw of seeds 0 to 3 held it.
    """
    dilations = [1 << bit for bit in range(levels)]
    if math.factorial(levels) <= MAX_DILATION_ORDERS:
        return [tuple(order) for order in itertools.permutations(dilations)], True
    rng = np.random.default_rng(seed)
    drawn = {tuple(dilations), tuple(reversed(dilations))}
    while len(drawn) < DILATION_SAMPLE:
        drawn.add(tuple(dilations[i] for i in rng.permutation(levels)))
    return sorted(drawn), False


class CandidateSpace:
    """The candidates of one search, and the trees and permutations they stand for.

    Parameters
    ----------
    spec
        The input grid.
    min_depth, max_depth
        Depth bounds (hidden layers).
    allowed
        Families the budget allows to be recommended.
    dilations
        Whether dilation orders are searched.
    labels
        The task's ``(C, N)`` side labels: the synthesized trees are folded from them, and
        :meth:`labels` places them on every padded grid.
    variants
        Synthesis variants to try.
    seed
        Draws dilation orders when there are too many to try all.
    arrangement
        The task's arrangement (None: no data_arranged family).
    """

    def __init__(
        self,
        spec: InputSpec,
        min_depth: int,
        max_depth: int,
        allowed: Sequence[Family],
        *,
        dilations: bool,
        labels: npt.NDArray[np.int8],
        variants: Sequence[SynthesisVariant],
        seed: int,
        arrangement: Sequence[int] | None = None,
    ) -> None:
        self._spec = spec
        self._labels: dict[Padding | None, npt.NDArray[np.int8]] = {None: labels}
        self._synthesizers: dict[Padding | None, Synthesizer] = {}
        self._positions = WindowPositions()
        self.dilation_orders_complete = True
        candidates: list[Candidate] = []

        def add(
            family: Family,
            pools: _Pools,
            geometry: Geometry | None = "contiguous",
            variant: SynthesisVariant | None = None,
            padding: Padding | None = None,
        ) -> None:
            eligible = family in allowed or (family == "shallow" and min_depth <= 1)
            candidates.append(
                Candidate(len(candidates), family, pools, geometry, variant, eligible, padding)
            )

        add("shallow", (spec.shape,))
        grids = grid_schedules(spec.shape, max(2, min_depth), max_depth)
        for padding, grid, on_grid in grids:
            for pools in on_grid:
                add("contiguous", pools, padding=padding)
            # Mirror trees fold at every level below the top; on a grid with an odd factor the
            # folding stops there, so trees that fold as far as it goes and pool the folded grid
            # contiguously are searched too. On a power-of-two grid such a partly folded tree
            # would only add a near-copy of a tree that folds throughout, unless the depth bounds
            # keep out every such tree with windows as small as its own (within 4 levels, a
            # 64x64 grid folds throughout only up to a top window of 8x8).
            odd_factor = any(n & (n - 1) for n in grid)
            folded_window = math.inf if odd_factor else _least_folded_window(grid, on_grid)
            for named in ("mirror", "interleaved"):
                if named not in allowed:
                    continue
                for pools in on_grid:
                    schedule = Schedule.trusted(grid, pools)
                    partly_folded = named == "mirror" and mirror_folds(schedule) < schedule.depth
                    covered = partly_folded and folded_window <= largest_window(pools)
                    if applies_to(named, schedule) and not covered:
                        add(named, pools, named, padding=padding)
            levels = dilated_levels(grid, min_depth, max_depth)
            if "dilations" in allowed and dilations and levels is not None:
                orders, complete = dilation_orders(levels, seed)
                self.dilation_orders_complete &= complete
                pool = tuple(2 if n > 1 else 1 for n in grid)
                for order in orders:
                    add(
                        "dilations",
                        (pool,) * levels,
                        DilationGeometry(dilations=order),
                        None,
                        padding,
                    )
            if "synthesized" in allowed:
                for pools in on_grid:
                    for variant in variants:
                        add("synthesized", pools, None, variant, padding)
        if arrangement is not None and "data_arranged" in allowed:
            for padding, _, on_grid in grids:
                arranged = PermutationGeometry.model_construct(
                    permutation=arranged_permutation(arrangement, spec.shape, padding)
                )
                for pools in on_grid:
                    add("data_arranged", pools, arranged, padding=padding)
        self.candidates: tuple[Candidate, ...] = tuple(candidates)
        self.paddings: tuple[Padding | None, ...] = tuple(
            dict.fromkeys(c.padding for c in candidates)
        )

    def labels(self, padding: Padding | None) -> npt.NDArray[np.int8]:
        """Return the task's labels on the grid ``padding`` gives, as the min-cut sees them.

        A padded location is :data:`~advisor.seprank.labels.FREE` here: the min-cut treats a
        constant input as a free one (the analysis keeps it apart for the exact engine).
        """
        labels = self._labels.get(padding)
        if labels is None:
            grown = padded_labels(self._labels[None], self._spec.shape, padding)
            labels = np.where(grown == PADDED, FREE, grown).astype(np.int8)
            self._labels[padding] = labels
        return labels

    def tree(self, candidate: Candidate) -> tuple[tuple[_Ids, ...], list[Hashable]]:
        """Return the candidate's windows per level and the keys naming each level's prefix."""
        if candidate.geometry is None:
            assert candidate.variant is not None
            pools, variant = candidate.pools, candidate.variant
            windows = self._synthesizer(candidate.padding).windows(pools, variant)
            return windows, Synthesizer.level_keys(pools, variant)
        schedule = self._schedule(candidate)
        windows = geometry_structure(candidate.geometry, schedule, self._positions).windows
        return windows, _prefix_keys(windows)

    def permutation(self, candidate: Candidate) -> _Ids:
        """Return the input permutation realising the candidate with plain contiguous pooling."""
        if candidate.geometry is None:
            windows, _ = self.tree(candidate)
            return layout_permutation(self.grid(candidate), candidate.pools, windows)
        return geometry_permutation(candidate.geometry, self._schedule(candidate), self._positions)

    def architecture(
        self,
        candidate: Candidate,
        widths: Sequence[int],
        *,
        outputs: int,
        representation_kernel: int,
    ) -> Architecture:
        """Build the recommended network: ``widths`` = ``(M, r_0, ...)``, explicit permutation.

        The candidate's schedule and geometry are valid by construction, so they are not checked
        again (:meth:`Architecture.trusted`).
        """
        permutation = tuple(self.permutation(candidate).tolist())
        return Architecture.trusted(
            input=self._spec,
            representation=widths[0],
            layers=_layers(candidate, widths[1:]),
            # A permutation by construction: checking a million entries again costs 0.2 s.
            geometry=PermutationGeometry.model_construct(permutation=permutation),
            outputs=outputs,
            family=candidate.family,
            representation_kernel=representation_kernel,
            padding=candidate.padding,
        )

    def grid(self, candidate: Candidate) -> tuple[int, ...]:
        """Return the grid the candidate pools: the input's, padded if the candidate pads."""
        return padded_shape(self._spec.shape, candidate.padding)

    def _schedule(self, candidate: Candidate) -> Schedule:
        return Schedule.trusted(self.grid(candidate), candidate.pools, padding=candidate.padding)

    def _synthesizer(self, padding: Padding | None) -> Synthesizer:
        synthesizer = self._synthesizers.get(padding)
        if synthesizer is None:
            grid = padded_shape(self._spec.shape, padding)
            synthesizer = self._synthesizers[padding] = Synthesizer(self.labels(padding), grid)
        return synthesizer


def arranged_permutation(
    arrangement: Sequence[int], shape: Sequence[int], padding: Padding | None
) -> tuple[int, ...]:
    """Return the permutation of the (padded) grid that pools the task's ``arrangement``.

    Unpadded, the arrangement itself. On a grid padded by ``padding`` the permutation numbers the
    padded grid's locations, as every padded candidate's does, and places the arranged grid in
    it axis by axis:

    - on an axis padded to the power of two its halving tree fills (97 -> 128, 15 -> 16), at
      :func:`~advisor.infer.arrangement.halving_positions`: the arrangement was cut for the
      input's halving tree (:mod:`advisor.infer.arrangement`), and each of that tree's windows
      is then a window of the padded grid's halving tree, the margin in the gaps;
    - on any other axis at the padded grid's origin, the margin after it (97 -> 100): a window
      of 2 starting at an even position then pools the arranged positions it pools unpadded,
      where the margin before the input (one location on 97 -> 100) would shift them all.

    Arranged position ``p`` then holds the padded id of the input location ``arrangement[p]``,
    and the positions left hold the margin's locations in row-major order: which margin location
    sits where is immaterial, every one holds the same constant input
    (:mod:`advisor.model.padding`).

    Examples
    --------
    >>> arranged_permutation((4, 0, 1, 2, 3), (5,), ((1, 2),))
    (5, 1, 2, 0, 3, 6, 4, 7)
    >>> arranged_permutation((1, 0, 3, 2), (2, 2), ((0, 1), (0, 1)))
    (1, 0, 2, 4, 3, 5, 6, 7, 8)
    """
    if padding is None:
        return tuple(arrangement)
    grid = padded_shape(shape, padding)
    axes = []
    for n, size in zip(shape, grid, strict=True):
        spread = halving_positions(n)
        axes.append(spread if size == 1 << int(spread.max()).bit_length() else np.arange(n))
    coordinates = np.unravel_index(np.arange(math.prod(shape)), tuple(shape))
    placed = np.ravel_multi_index(
        [axis[c] for axis, c in zip(axes, coordinates, strict=True)], grid
    )
    held = padded_ids(np.asarray(arrangement, dtype=np.intp), shape, padding)
    permutation = np.full(math.prod(grid), -1, dtype=np.intp)
    permutation[placed] = held
    permutation[permutation < 0] = np.setdiff1d(
        np.arange(permutation.size), held, assume_unique=True
    )
    return tuple(permutation.tolist())


def _prefix_keys(windows: Sequence[_Ids]) -> list[Hashable]:
    """Name the windows of levels ``0..l`` by their digest: equal keys for equal prefixes.

    SHA-1 as a fingerprint, not for security: on the benchmark machine (SHA instructions) it
    hashes a million locations' windows in half the time BLAKE2b took (3.8 against 7.7 ms), and
    the builder compares the windows behind a key before it reuses a level, so a collision would
    cost time only. The ids are hashed as int32 (every grid has at most
    :data:`~advisor.model.grid.MAX_LOCATIONS` = 2^20 locations) straight from the array's
    buffer: half the bytes and no copy (5.9 -> 2.8 ms for a million locations).
    """
    hasher = hashlib.sha1(usedforsecurity=False)
    keys: list[Hashable] = []
    for level in windows:
        hasher.update(np.asarray(level.shape, dtype=np.int64).tobytes())
        hasher.update(np.ascontiguousarray(level, dtype=np.int32).data)
        keys.append(hasher.digest())
    return keys


def _layers(candidate: Candidate, channels: Sequence[int]) -> tuple[Layer, ...]:
    """Return the candidate's hidden layers with widths ``(r_0, ..., r_{L-1})``."""
    return tuple(
        Layer(channels=w, pool=pool) for w, pool in zip(channels, candidate.pools, strict=True)
    )
