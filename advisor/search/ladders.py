"""The practical width ladders of each tree that fit a search's parameter and compute budgets.

A practical search scores, on each tree, the width ladders of :mod:`advisor.search.profiles` for
the tree's depth that fit ``budget.max_parameters``, the activation bound ``max_activations`` when
the budget sets one (it has no default: no figure of a standard CNN says what memory a caller has),
and the compute bound: ``max_multiply_adds`` when the budget sets one, else
:data:`~advisor.model.budget.DEFAULT_COMPUTE_FACTOR` times the multiply-adds of the standard CNN
at this budget (contiguous pooling by each axis's smallest prime factor, 2 on an even one, widths
doubling per level up to the widest allowed width, as practitioners cap them), so a
parameter-only budget never returns a net far costlier than the one a practitioner would build
(on 44,100 steps one window of 11,025 over two levels of 2 had set it at 4.5G multiply-adds per
input at 100,000 parameters). Below the parameter
count of the narrowest standard CNN (widths doubling from the narrowest allowed width) the bound
is that CNN's: a larger budget then never has a tighter bound than a smaller one (without it,
32x32x3 with 10 classes returned M = 24 and 3.0M multiply-adds at 15,000 parameters, where no
standard CNN fits, and M = 10 and 1.3M at 20,000, held to the bound of the standard CNN that fits
there). None only when the grid has no standard CNN's tree. Of the fitting ladders only the ones
no other fitting ladder dominates can be a tree's best (:func:`~advisor.search.profiles.maximal`).
Every figure is computed once per depth or schedule and kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.model.budget import DEFAULT_COMPUTE_FACTOR, Budget, scaled_parameters
from advisor.model.compute import activations, grid_locations, layer_locations, multiply_adds
from advisor.model.grid import MAX_LOCATIONS, InputSpec
from advisor.model.padding import factorise, friendly_paddings
from advisor.model.parameters import ParameterModel
from advisor.search.candidates import (
    Candidate,
    CandidateSpace,
    deepest_schedule,
    grid_schedules,
)
from advisor.search.profiles import ProfileRules, maximal, practical_profiles

__all__ = ["MIN_SHARE", "Bound", "Ladders", "StandardCnn", "no_standard_cnn_reason", "spending"]

_Ints = npt.NDArray[np.int64]
_Pools = tuple[tuple[int, ...], ...]

MIN_SHARE: Final = 0.5
"""The share of the parameter budget a drawn design spends, where its tree has such ladders."""


def spending(
    profiles: _Ints, parameters: _Ints, max_parameters: int, min_share: float = MIN_SHARE
) -> tuple[_Ints, _Ints]:
    """Return the width profiles that spend at least ``min_share`` of ``max_parameters``.

    All of them when none does: a tree whose every ladder is small still has designs. The
    designs drawn from the search's space (:mod:`advisor.search.draws`, and the AutoML
    integrations' space, :mod:`advisor.integrations.space`) are taken from these, so a draw is
    a net at the budget rather than one of its many far smaller ones.
    """
    spends = parameters >= min_share * max_parameters
    if spends.any():
        return profiles[spends], parameters[spends]
    return profiles, parameters


@dataclass(frozen=True)
class StandardCnn:
    """The standard CNN at a budget (:meth:`Ladders._standard_cnn`).

    Attributes
    ----------
    tree
        Its tree: contiguous pooling by each axis's smallest prime factor (2 on an even axis, 1
        on an axis of one location) at every level below the top.
    multiply_adds
        Its multiply-adds per input.
    widths
        Its widths, M first.
    parameters
        Its parameter count.
    activations
        The values its forward pass holds per input (:func:`~advisor.model.compute.activations`),
        which a rationale compares a design's with, as it does the multiply-adds.
    """

    tree: Candidate
    multiply_adds: int
    widths: tuple[int, ...]
    parameters: int
    activations: int


@dataclass(frozen=True)
class Bound:
    """A per-input bound a practical ladder is held to beside the parameters (``Ladders.bounds``).

    Attributes
    ----------
    field
        The budget field that sets it (``max_multiply_adds``, ``max_activations``).
    option
        The command's option for it (``--max-macs``, ``--max-activations``).
    name
        What a rationale calls it (``compute bound``, ``activation bound``).
    unit
        What it counts (``multiply-adds``, ``activations``).
    limit
        The most a ladder may have.
    measure
        The count of a candidate's tree at each width profile.
    stated
        Whether the budget sets it (else it is the compute bound's default).
    source
        Where it comes from, in words (:meth:`Ladders.bound_source` for the compute bound).
    """

    field: str
    option: str
    name: str
    unit: str
    limit: int
    measure: Callable[[Candidate, npt.NDArray[np.int64]], npt.NDArray[np.int64]]
    stated: bool
    source: str

    def said(self) -> str:
        """Say the bound and its figure: ``the compute bound of 5,000 multiply-adds per input``."""
        return f"the {self.name} of {self.limit:,} {self.unit} per input"

    def over(self, candidate: Candidate, profiles: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Mark the candidate's width profiles past the bound."""
        passed: npt.NDArray[np.bool_] = self.measure(candidate, profiles) > self.limit
        return passed


class Ladders:
    """The width ladders of a search's trees within its budgets, and the standard CNN.

    ``standard`` is the standard CNN at this budget (None when none fits), ``narrowest`` the
    standard CNN of the narrowest allowed width (the default bound's reference where none fits;
    None when the grid has no standard CNN's tree), ``max_multiply_adds`` the compute bound
    the ladders are held to (None: no bound) and ``max_activations`` the budget's activation
    bound (None: no bound); at a larger budget (:meth:`compute_bound`) the default compute bound
    follows that budget's standard CNN, as a search at that budget would hold its ladders to it,
    while the activation bound, the memory the caller has, stays.
    """

    def __init__(
        self, space: CandidateSpace, model: ParameterModel, rules: ProfileRules, budget: Budget
    ) -> None:
        self.space, self.model, self.rules = space, model, rules
        self.max_parameters = budget.max_parameters
        self._profiles: dict[tuple[_Pools, float], tuple[_Ints, _Ints]] = {}
        self._maximal: dict[tuple[_Pools, float], tuple[_Ints, _Ints]] = {}
        self._depths: dict[int, tuple[_Ints, _Ints]] = {}
        self._stated_bound = budget.max_multiply_adds
        self.max_activations = budget.max_activations
        self._practical = budget.width_profile == "practical"
        self._bounds: dict[float, int | None] = {}
        self.standard = self._standard_cnn(self.max_parameters)
        self.narrowest = self._standard_cnn(None)
        self.max_multiply_adds = self.compute_bound()

    def compute_bound(self, scale: float = 1.0) -> int | None:
        """Return the compute bound at ``scale`` times the parameter budget (None: no bound).

        The budget's ``max_multiply_adds`` when it sets one; else, for a practical search,
        :data:`~advisor.model.budget.DEFAULT_COMPUTE_FACTOR` times the multiply-adds of the
        standard CNN at that parameter budget (a wider one at a larger budget), or of the
        narrowest standard CNN where none fits.
        """
        if scale not in self._bounds:
            bound = self._stated_bound
            if bound is None and self._practical:
                standard = (
                    self.standard
                    if scale == 1.0
                    else self._standard_cnn(scaled_parameters(self.max_parameters, scale))
                ) or self.narrowest
                bound = (
                    None if standard is None else DEFAULT_COMPUTE_FACTOR * standard.multiply_adds
                )
            self._bounds[scale] = bound
        return self._bounds[scale]

    def bound_source(self) -> str:
        """Say where :attr:`max_multiply_adds` comes from, as :meth:`compute_bound` chose it."""
        if self._stated_bound is not None:
            return "the budget's max_multiply_adds, --max-macs"
        reference = (
            "the standard CNN of this budget"
            if self.standard is not None
            else "the narrowest standard CNN"
        )
        return f"by default {DEFAULT_COMPUTE_FACTOR}x {reference}"

    def of_depth(self, depth: int) -> tuple[_Ints, _Ints]:
        """Return every practical profile of a depth and its parameters (computed once)."""
        cached = self._depths.get(depth)
        if cached is None:
            profiles = practical_profiles(depth, self.rules)
            cached = profiles, self.model.count(profiles)
            self._depths[depth] = cached
        return cached

    def fitting(self, candidate: Candidate, scale: float = 1.0) -> tuple[_Ints, _Ints]:
        """Return the candidate's practical profiles within the budgets and their parameters.

        ``scale`` multiplies the parameter budget (the rationale prices a larger one).
        """
        key = (candidate.pools, scale)
        cached = self._profiles.get(key)
        if cached is None:
            profiles, parameters = self.of_depth(candidate.depth)
            fits = self._fits(candidate, scale)
            cached = profiles[fits], parameters[fits]
            self._profiles[key] = cached
        return cached

    def contenders(self, candidate: Candidate, scale: float = 1.0) -> tuple[_Ints, _Ints]:
        """Return the profiles of :meth:`fitting` that can be the tree's best (the ones scored).

        Within the budget a profile another fitting one dominates can neither score higher nor
        win a tie, which goes to the larger share of the budget (module docstring of
        :mod:`advisor.search.profiles`): only the maximal ones stay. Above it (``scale`` over 1,
        the rationale's larger budget) every profile stays, so the ones within the budget are
        those the search scored (their figures are reused).
        """
        key = (candidate.pools, scale)
        cached = self._maximal.get(key)
        if cached is None:
            profiles, parameters = self.fitting(candidate, scale)
            within = parameters <= self.max_parameters
            keep = ~within
            keep[within] = maximal(profiles[within])
            cached = profiles[keep], parameters[keep]
            self._maximal[key] = cached
        return cached

    def multiply_adds(self, candidate: Candidate, profiles: _Ints) -> _Ints:
        """Return the multiply-adds per input of the candidate's tree at each width profile."""
        locations = layer_locations(self.space.grid(candidate), candidate.pools, candidate.pools)
        return multiply_adds(
            profiles, locations, self.model.representation_weights, self.model.outputs
        )

    def activations(self, candidate: Candidate, profiles: _Ints) -> _Ints:
        """Return the activations per input of the candidate's tree at each width profile."""
        locations = grid_locations(self.space.grid(candidate), candidate.pools, candidate.pools)
        return activations(profiles, locations, self.model.outputs)

    def bounds(self, scale: float = 1.0) -> list[Bound]:
        """Return the bounds beside the parameters a ladder is held to at ``scale`` times them.

        The compute bound (:meth:`compute_bound`) where one applies, then the budget's
        activation bound where it sets one.
        """
        held = []
        compute = self.compute_bound(scale)
        if compute is not None:
            held.append(
                Bound(
                    "max_multiply_adds",
                    "--max-macs",
                    "compute bound",
                    "multiply-adds",
                    compute,
                    self.multiply_adds,
                    self._stated_bound is not None,
                    self.bound_source(),
                )
            )
        if self.max_activations is not None:
            held.append(
                Bound(
                    "max_activations",
                    "--max-activations",
                    "activation bound",
                    "activations",
                    self.max_activations,
                    self.activations,
                    stated=True,
                    source="the budget's max_activations, --max-activations",
                )
            )
        return held

    def _fits(self, candidate: Candidate, scale: float) -> npt.NDArray[np.bool_]:
        """Mark the depth's practical profiles within ``scale`` times the budgets."""
        profiles, parameters = self.of_depth(candidate.depth)
        fits: npt.NDArray[np.bool_] = parameters <= scaled_parameters(self.max_parameters, scale)
        for bound in self.bounds(scale):
            fits &= ~bound.over(candidate, profiles)
        return fits

    def _standard_cnn(self, max_parameters: int | None) -> StandardCnn | None:
        """Return the standard CNN at a budget.

        Contiguous pooling by each axis's smallest prime factor (2 on an even axis, 1 on an axis
        of one location) at every level below the top, as deep as the grid allows, padded or not
        (:func:`_standard_tree`), ``M = r_0`` and widths doubling per level up to the widest
        allowed width (a CNN of 16 levels on 65,536 steps does not double to 262,144 channels),
        the widest such ladder within ``max_parameters`` (None: the narrowest, whatever its
        count). None when no such tree or ladder fits.
        """
        trees = [
            c
            for c in self.space.candidates
            if c.family == "contiguous" and _standard_tree(self.space.grid(c), c.pools)
        ]
        if not trees:
            return None
        tree = max(trees, key=lambda c: c.depth)
        hidden = self.rules.hidden()
        widest = hidden[-1]
        best = None
        for base in hidden:
            widths = [base, *(min(base << level, widest) for level in range(tree.depth))]
            parameters = int(self.model.count([widths])[0])
            if max_parameters is None or parameters <= max_parameters:
                best = widths, parameters
            if max_parameters is None:
                break
        if best is None:
            return None
        widths, parameters = best
        profile = np.asarray([widths], dtype=np.int64)
        cost = int(self.multiply_adds(tree, profile)[0])
        held = int(self.activations(tree, profile)[0])
        return StandardCnn(tree, cost, tuple(widths), parameters, held)


def _standard_tree(grid: tuple[int, ...], pools: _Pools) -> bool:
    """Return whether ``pools`` on ``grid`` is a standard CNN's tree.

    At every level below the top each axis pools by the smallest prime factor of its size there
    (:func:`_standard_window`): 2 on an even axis, as practitioners pool, and on sizes with odd
    factors the smallest of those (44,100 steps: 2, 2, 3, 3, 5, 5, 7, global 7, where 2 alone
    left one window of 11,025). 1 on an axis of one location: such an axis pools nothing, so
    ``[1, 64]`` gets the CNN of the sequence ``[64]`` (docs/FORMATS.md §1). An axis pooled down
    to one location below the top (a video's frames) is not one: such a tree ends there, in its
    global window, as C3D's features end at 1x4x4.
    """
    sizes = grid
    for pool in pools[:-1]:
        if pool != tuple(_standard_window(n, g) for n, g in zip(sizes, grid, strict=True)):
            return False
        sizes = tuple(n // k for n, k in zip(sizes, pool, strict=True))
    return len(pools) > 1


def _standard_window(size: int, grid_size: int) -> int | None:
    """Return the window a standard CNN's level pools an axis of ``size`` locations by.

    The smallest prime factor of ``size``; 1 on an axis of one location (``grid_size``, its
    size in the input's grid, is 1); None on an axis pooled down to one location, which no
    level below the top pools.
    """
    return 1 if grid_size == 1 else min(factorise(size), default=None)


def no_standard_cnn_reason(shape: tuple[int, ...], min_depth: int, max_depth: int) -> str:
    """Say why a search on ``shape`` within these depth bounds has no standard CNN's tree.

    For a rationale (:attr:`Ladders.narrowest` is None): the depth bounds; else why the input's
    own grid has none (:func:`_standard_tree`: its axes' smallest prime factors differ, and a
    level of the search pools every axis it pools by one step, or one window of that factor
    pools the grid whole), and an odd axis the search cannot pad (every friendlier size passes
    ``MAX_LOCATIONS``; padded, the grid would have one).
    """
    deepest = deepest_schedule(InputSpec(shape=shape))
    if any(
        _standard_tree(grid, pools)
        for _padding, grid, schedules in grid_schedules(shape, 2, deepest)
        for pools in schedules
    ):
        return (
            f"the depth bounds ({min_depth} to {max_depth} levels) leave out every tree that "
            "pools so"
        )
    windows = sorted({min(factorise(n)) for n in shape if n > 1})
    reason = (
        f"its axes' smallest prime factors ({' and '.join(map(str, windows))}) differ, and no "
        "level pools axes by different windows"
        if len(windows) > 1
        else f"a window of {windows[0]} on every axis pools the whole grid"
    )
    odd = sorted({n for n in shape if n > 1 and n % 2})  # an axis of one location pools nothing
    if odd and not friendly_paddings(shape):
        sizes = " and ".join(map(str, odd))
        axes = "axes" if sum(n > 1 and n % 2 for n in shape) > 1 else "axis"
        reason += (
            f"; padding the {axes} of {sizes} locations to a friendlier size would grow the "
            f"grid past {MAX_LOCATIONS:,} locations"
        )
    return reason
