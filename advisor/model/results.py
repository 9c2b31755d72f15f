"""What the advisor returns: analyses, recommendations, search results and progress events.

Plain frozen dataclasses with no engine behind them, so the client library can build them from
the wire without importing the separation-rank engine or the search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from advisor.model.architecture import Architecture

__all__ = [
    "Analysis",
    "Certificate",
    "CorrelationAnalysis",
    "Recommendation",
    "SearchProgress",
    "SearchResult",
]

Certificate: TypeAlias = Literal["exact", "tight", "upper_bound"]


@dataclass(frozen=True)
class CorrelationAnalysis:
    """The separation rank an architecture reaches on one correlation (see the module doc)."""

    name: str
    log2_separation_rank: float
    log2_max_rank: float
    certificate: Certificate
    weight: float = 1.0
    log2_min_cut: float | None = None
    log2_lower_bound: float | None = None


@dataclass(frozen=True)
class Analysis:
    """An architecture scored against a task: its costs and one entry per correlation.

    ``multiply_adds`` is per input, as :mod:`advisor.model.compute` counts it.
    """

    parameters: int
    multiply_adds: int
    correlations: list[CorrelationAnalysis] = field(default_factory=list)


@dataclass(frozen=True)
class SearchProgress:
    """A progress event: work done so far and the best score yet (None before any)."""

    candidates_evaluated: int
    elapsed_seconds: float
    best_score: float | None
    fraction_done: float


@dataclass(frozen=True)
class Recommendation:
    """One ranked design.

    ``score`` is the objective's primary score on the analysis' ``log2_separation_rank``
    figures; the architecture's geometry is always a
    :class:`~advisor.model.architecture.PermutationGeometry`, its ``family`` says where the tree
    came from. ``dilations`` is the dilation order of a ``dilations``-family design (None for
    the other families), which the permutation alone does not show.
    """

    rank: int
    score: float
    parameters: int
    architecture: Architecture
    analysis: list[CorrelationAnalysis]
    rationale: str
    multiply_adds: int
    dilations: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SearchResult:
    """The ranked recommendations and how the search went.

    ``candidates_evaluated`` counts the complete architectures (tree and widths) the search put a
    score on, exactly or by an upper bound that settled a whole branch of them; ``complete`` is
    False when the time limit or the stop signal (deadline, cancellation, shutdown) cut the
    search short.
    """

    recommendations: list[Recommendation]
    candidates_evaluated: int
    search_seconds: float
    complete: bool
