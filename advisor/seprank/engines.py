"""The rank engines behind one signature, and what each of them computes.

Every engine is called as ``engine(structure, labels, widths, representation, *,
shared_weights)``: a pooling structure, ``(C, N)`` side labels
(:func:`~advisor.seprank.labels.correlation_labels`), the channel counts ``r_l`` and ``M``; it
returns the ``(C,)`` log2 figures, one per correlation (as networkx's flow functions share one
signature, so a caller picks an algorithm by name in :data:`ENGINES`). What differs is recorded
next to it (:class:`Engine`): which figure it computes, whether it models weights shared across
locations, and the limits it checks before any work.

- ``tree`` (:mod:`advisor.seprank.tree`): the tensor-network min-cut by the tree recurrence,
  batched and fast; on overlapping windows the unrolled tree's cut.
- ``graph`` (:mod:`advisor.seprank.graph`): the same min-cut as an explicit max-flow; slow, the
  check on the recurrence; independent weights only.
- ``exact`` (:mod:`advisor.seprank.exact`): the generic rank modulo a prime, small instances only;
  on overlapping windows the grid tensor's rank, a lower bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from advisor.geometry.structure import PoolingStructure
from advisor.seprank.exact import exact_engine, exact_limits
from advisor.seprank.graph import graph_engine
from advisor.seprank.tree import tree_engine

__all__ = ["ENGINES", "Engine", "EngineName", "Figure", "LimitCheck", "RankEngine"]

EngineName = Literal["tree", "graph", "exact"]

Figure = Literal["min_cut", "rank"]
"""``min_cut``: the tensor-network min-cut, an upper bound on the generic rank. ``rank``: the
generic rank itself (on overlapping windows the grid tensor's rank, a lower bound)."""


class RankEngine(Protocol):
    """The engines' common signature (see the module docstring)."""

    def __call__(
        self,
        structure: PoolingStructure,
        labels: npt.NDArray[np.int8],
        widths: Sequence[int],
        representation: int,
        *,
        shared_weights: bool,
    ) -> npt.NDArray[np.float64]:
        """Return the ``(C,)`` log2 figures of the rows of ``labels``."""
        ...


class LimitCheck(Protocol):
    """Raise :class:`~advisor.errors.LimitExceededError` if an engine call would be too big."""

    def __call__(
        self,
        structure: PoolingStructure,
        labels: npt.NDArray[np.int8],
        widths: Sequence[int],
        representation: int,
    ) -> None:
        """Raise if the engine would be asked too much by this instance."""
        ...


def _no_limits(
    structure: PoolingStructure,
    labels: npt.NDArray[np.int8],
    widths: Sequence[int],
    representation: int,
) -> None:
    """Accept every instance: the engine's work is polynomial in the network's size."""
    del structure, labels, widths, representation


@dataclass(frozen=True)
class Engine:
    """One engine and what a caller needs to know to choose it.

    Attributes
    ----------
    name
        Its key in :data:`ENGINES`.
    compute
        The engine, in the common signature.
    figure
        What it computes (:data:`Figure`).
    shared_weights
        Whether it accepts ``shared_weights=True`` (weights shared across locations).
    check_limits
        Called before ``compute`` on the same instance; raises when it is over the engine's limits.
    """

    name: EngineName
    compute: RankEngine
    figure: Figure
    shared_weights: bool
    check_limits: LimitCheck


ENGINES: Mapping[EngineName, Engine] = {
    "tree": Engine("tree", tree_engine, "min_cut", shared_weights=True, check_limits=_no_limits),
    "graph": Engine(
        "graph", graph_engine, "min_cut", shared_weights=False, check_limits=_no_limits
    ),
    "exact": Engine("exact", exact_engine, "rank", shared_weights=True, check_limits=exact_limits),
}
"""Every engine by name."""
