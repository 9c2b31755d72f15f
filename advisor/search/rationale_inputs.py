"""What a rationale explains: a scored design, one of its widths raised, the leading trees.

The search describes a page's designs, their reference nets and the 10%-more design in these
terms (:class:`Design`, built by :mod:`advisor.search.designs`), what one step up of a width
does (:class:`Widening`, :mod:`advisor.search.headroom`), the trees that lead on the score's
factors (:class:`Leaders`) and the standard CNN's costs (:class:`StandardCosts`). They sit
below the sentences: :mod:`advisor.search.explain` assembles what the comparisons and the
score's factors write, and those read these terms too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "MORE_BUDGET",
    "Design",
    "Leaders",
    "Scope",
    "StandardCosts",
    "Widening",
    "widths_text",
]

Scope = Literal["complete", "stopped", "bounds"]
"""What a practical search's targets are: the best of every tree (``complete``), of the trees
scored before the search stopped (``stopped``), or, stopped before any recommendable tree was
scored, the dimension bounds (``bounds``)."""

MORE_BUDGET = 1.1
"""The larger budget a rationale prices: 10% more."""


class StandardCosts(Protocol):
    """The costs of the standard CNN of a budget that a design's are compared with.

    :class:`~advisor.search.ladders.StandardCnn` has them, computed once per search.
    """

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds per input."""
        ...

    @property
    def activations(self) -> int:
        """Values its forward pass holds per input."""
        ...


@dataclass(frozen=True)
class Leaders:
    """The trees that lead on the score's factors, in words (their family and windows).

    A design behind a leader is measured against it, and its rationale names it: "coherence 0.72
    against the best tree's 1.00 (contiguous pooling (1x4, global 3x1))". A tree's rationale and
    a mixture's name the same trees. Empty: the objective does not weigh the factor.
    """

    most_coherent: str = ""
    """The tree of the best coherence, named where a design's is lower."""
    finest: str = ""
    """The tree that discards the least of the input's arrangement, named where a design
    discards more."""


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
    multiply_adds
        Multiply-adds per input.
    activations
        Values a forward pass holds per input (:func:`~advisor.model.compute.activations`); 0
        for a reference net, whose memory no sentence states.
    discarded
        Bits of window order per location its pooling discards (docs/THEORY.md §16).
    coherence
        How alike and how soon its pooling meets the description's relations (docs/THEORY.md
        §18); 0 where the objective does not weigh it.
    held
        For a reference net, what holds it below a higher score where a per-input bound does,
        not the parameters, in words (the bound and the ladder it leaves out); empty otherwise.
    """

    description: str
    widths: tuple[int, ...]
    parameters: int
    log2_ranks: tuple[float, ...]
    score: float
    multiply_adds: int = 0
    activations: int = 0
    discarded: float = 0.0
    coherence: float = 0.0
    held: str = ""

    def widths_text(self) -> str:
        """``M = 32 and widths 512-1-1``; ``M = 8 and width 512`` for one hidden layer."""
        return widths_text(self.widths)


def widths_text(widths: Sequence[int]) -> str:
    """Write a ladder ``(M, r_0, ..., r_{L-1})`` as ``M = 8 and widths 8-16-32``.

    M is named apart, so the widths listed are the hidden layers', one per pooling level.
    """
    hidden = "-".join(str(w) for w in widths[1:])
    noun = "width" if len(widths) == 2 else "widths"
    return f"M = {widths[0]} and {noun} {hidden}"


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
        Parameters it costs.
    beyond
        What keeps the search from this design, in words ("over the budget" or the compute
        bound, ``max_channels`` for a width past it, and a width profile the search does not
        build, each that applies); empty when nothing does.
    also
        A second width raised with this one, ``(position, width)``, where no single width
        raises the binding correlation but the two together do; None for one width.
    """

    position: int
    width: int
    gain: float
    extra_parameters: int
    beyond: str = ""
    also: tuple[int, int] | None = None
