"""The pooling trees the search considers: window schedules times geometry families.

**Schedules.** A schedule lists the pooling windows bottom-up; the last pooling is global (it
takes the whole remaining grid). Steps below the top pool 2 or 4 per axis (``2x2``/``4x4`` on an
image, ``2``/``4`` on a sequence) and must divide the grid and leave more than one location. The
steps are all 2, all 4, or a mix with one switch (4s then 2s, or 2s then 4s), which keeps the
count of schedules quadratic rather than exponential in the depth. Depth (the number of hidden
layers) runs from 1 — the shallow net, one global pooling, always evaluated as the baseline — to
the deepest such schedule, within the budget's depth bounds.

**Families** (the order is also the tie-break order: simpler first):

- ``shallow``: the depth-1 net (no geometry to choose).
- ``contiguous``, ``mirror`` (2 per axis below the top), ``interleaved``: docs/THEORY.md §7, defined
  by their geometry family (:mod:`advisor.model.geometries`). Contiguous trees are always
  evaluated: every rationale compares with the best of them.
- ``dilations``: 1-D inputs of length ``2^L``, size-2 windows at every level, one tree per order of
  the dilations ``1, 2, ..., 2^(L-1)`` [CTS18]. All ``L!`` orders when ``L! <=``
  :data:`MAX_DILATION_ORDERS` (720, ``L <= 6``); beyond that, :data:`DILATION_SAMPLE` distinct
  orders drawn by the budget's seed (the search says so in its rationale).
- ``synthesized``: trees folded from the task (:mod:`advisor.search.synthesis`), for every schedule
and
  variant.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from advisor.geometry.layouts import geometry_permutation, geometry_structure
from advisor.model.architecture import Architecture, Layer
from advisor.model.budget import Family
from advisor.model.geometries import DilationGeometry, Geometry, PermutationGeometry, applies_to
from advisor.model.grid import InputSpec
from advisor.model.schedule import Schedule
from advisor.search.synthesis import SynthesisVariant, Synthesizer, layout_permutation

__all__ = [
    "DILATION_SAMPLE",
    "MAX_DILATION_ORDERS",
    "Candidate",
    "CandidateSpace",
    "dilation_orders",
    "window_schedules",
]

MAX_DILATION_ORDERS: Final = 720
"""All dilation orders are tried while there are at most this many (``L <= 6``)."""

DILATION_SAMPLE: Final = 120
"""Orders drawn by the seed when there are more than :data:`MAX_DILATION_ORDERS`: each costs a
tree of ``N`` leaves (about 10 ms at ``N = 16384``), and the time goes to the other families."""

_STEPS: Final = (2, 4)

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
    """

    index: int
    family: Family
    pools: _Pools
    geometry: Geometry | None = "contiguous"
    variant: SynthesisVariant | None = None
    eligible: bool = True

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
        sizes = ["x".join(str(n) for n in pool) for pool in self.pools]
        return ", ".join([*sizes[:-1], f"global {sizes[-1]}"])


def window_schedules(shape: Sequence[int], min_depth: int, max_depth: int) -> list[_Pools]:
    """Every schedule of the module docstring with depth in ``[min_depth, max_depth]``.

    Ordered by depth, then by window sizes bottom-up (smaller first).
    """
    grid = tuple(shape)
    prefixes: set[tuple[int, ...]] = set()
    for fours, twos in itertools.product(range(max_depth), repeat=2):
        for steps in ((4,) * fours + (2,) * twos, (2,) * twos + (4,) * fours):
            if len(steps) < max_depth and _fits(grid, steps):
                prefixes.add(steps)
    schedules = []
    for steps in sorted(prefixes, key=lambda s: (len(s), s)):
        if min_depth <= len(steps) + 1:
            pools = tuple((step,) * len(grid) for step in steps)
            schedules.append((*pools, _remaining(grid, steps)))
    return schedules


def _fits(grid: tuple[int, ...], steps: tuple[int, ...]) -> bool:
    """Whether the steps divide every axis and leave more than one location."""
    for step in steps:
        if any(n % step for n in grid):
            return False
        grid = tuple(n // step for n in grid)
        if math.prod(grid) == 1:
            return False
    return True


def _remaining(grid: tuple[int, ...], steps: tuple[int, ...]) -> tuple[int, ...]:
    divisor = math.prod(steps)
    return tuple(n // divisor for n in grid)


def dilation_orders(levels: int, seed: int) -> tuple[list[tuple[int, ...]], bool]:
    """Dilation orders for ``2^levels`` positions and whether they are all of them.

    All ``levels!`` orders in lexicographic order when there are at most
    :data:`MAX_DILATION_ORDERS`; otherwise :data:`DILATION_SAMPLE` distinct orders drawn with
    ``seed``, in lexicographic order.
    """
    dilations = [1 << bit for bit in range(levels)]
    if math.factorial(levels) <= MAX_DILATION_ORDERS:
        return [tuple(order) for order in itertools.permutations(dilations)], True
    rng = np.random.default_rng(seed)
    drawn: set[tuple[int, ...]] = set()
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
    synthesizer
        Builds synthesized trees (None: no synthesized family).
    variants
        Synthesis variants to try.
    seed
        Draws dilation orders when there are too many to try all.
    """

    def __init__(
        self,
        spec: InputSpec,
        min_depth: int,
        max_depth: int,
        allowed: Sequence[Family],
        *,
        dilations: bool,
        synthesizer: Synthesizer | None,
        variants: Sequence[SynthesisVariant],
        seed: int,
    ) -> None:
        self._spec = spec
        self._synthesizer = synthesizer
        self.dilation_orders_complete = True
        candidates: list[Candidate] = []

        def add(
            family: Family,
            pools: _Pools,
            geometry: Geometry | None = "contiguous",
            variant: SynthesisVariant | None = None,
        ) -> None:
            eligible = family in allowed or (family == "shallow" and min_depth <= 1)
            candidates.append(
                Candidate(len(candidates), family, pools, geometry, variant, eligible)
            )

        add("shallow", (spec.shape,))
        schedules = window_schedules(spec.shape, max(2, min_depth), max_depth)
        for pools in schedules:
            add("contiguous", pools)
        for named in ("mirror", "interleaved"):
            if named in allowed:
                for pools in schedules:
                    if applies_to(named, Schedule.trusted(spec.shape, pools)):
                        add(named, pools, named)
        levels = spec.num_locations.bit_length() - 1
        if (
            "dilations" in allowed
            and dilations
            and spec.ndim == 1
            and spec.num_locations == 1 << levels
            and max(2, min_depth) <= levels <= max_depth
        ):
            orders, self.dilation_orders_complete = dilation_orders(levels, seed)
            for order in orders:
                add("dilations", ((2,),) * levels, DilationGeometry(dilations=order))
        if synthesizer is not None and "synthesized" in allowed:
            for pools in schedules:
                for variant in variants:
                    add("synthesized", pools, None, variant)
        self.candidates: tuple[Candidate, ...] = tuple(candidates)

    def tree(self, candidate: Candidate) -> tuple[tuple[_Ids, ...], list[Hashable]]:
        """Return the candidate's windows per level and the keys naming each level's prefix."""
        if candidate.geometry is None:
            assert self._synthesizer is not None and candidate.variant is not None
            pools, variant = candidate.pools, candidate.variant
            return self._synthesizer.windows(pools, variant), Synthesizer.level_keys(pools, variant)
        windows = geometry_structure(candidate.geometry, self._schedule(candidate)).windows
        return windows, _prefix_keys(windows)

    def permutation(self, candidate: Candidate) -> _Ids:
        """Return the input permutation realising the candidate with plain contiguous pooling."""
        if candidate.geometry is None:
            windows, _ = self.tree(candidate)
            return layout_permutation(self._spec.shape, candidate.pools, windows)
        return geometry_permutation(candidate.geometry, self._schedule(candidate))

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
        )

    def _schedule(self, candidate: Candidate) -> Schedule:
        return Schedule.trusted(self._spec.shape, candidate.pools)


def _prefix_keys(windows: Sequence[_Ids]) -> list[Hashable]:
    """Name the windows of levels ``0..l`` by their digest: equal keys for equal prefixes."""
    hasher = hashlib.blake2b(digest_size=16)
    keys: list[Hashable] = []
    for level in windows:
        hasher.update(np.asarray(level.shape, dtype=np.int64).tobytes())
        hasher.update(np.ascontiguousarray(level, dtype=np.int64).tobytes())
        keys.append(hasher.digest())
    return keys


def _layers(candidate: Candidate, channels: Sequence[int]) -> tuple[Layer, ...]:
    """Return the candidate's hidden layers with widths ``(r_0, ..., r_{L-1})``."""
    return tuple(
        Layer(channels=w, pool=pool) for w, pool in zip(channels, candidate.pools, strict=True)
    )
