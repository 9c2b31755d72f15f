"""What the advisor returns: analyses, recommendations, search results and progress events.

Plain frozen dataclasses with no engine behind them, so the client library can build them from
the wire without importing the separation-rank engine or the search.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Final, Literal, TypeAlias, get_args

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from advisor.layout import TableDisplay, TableHints, packed, table, wrapped
from advisor.model.architecture import Architecture
from advisor.model.arguments import checked_integer, require_flag, require_instance
from advisor.model.documents import frozen_hash
from advisor.model.scalars import finite_number
from advisor.model.schedule import grid_text
from advisor.model.text import activations_text, count_text
from advisor.words import counted

__all__ = [
    "CARRIED_SHARE",
    "LIBRARY_HINTS",
    "Analysis",
    "Certificate",
    "CorrelationAnalysis",
    "Efficiency",
    "MemberFigure",
    "Recommendation",
    "SearchProgress",
    "SearchResult",
    "UnpricedReason",
    "padded_input",
    "pools_text",
    "reported_members",
    "shape_summary",
    "with_padded_input",
]

Certificate: TypeAlias = Literal["exact", "tight", "upper_bound"]

# A saved result's document is read (:func:`advisor.export.document.parse_search_result`)
# strictly, as a task or an architecture file is: `parameters: "4321"` or `complete: 1` is
# refused, where pydantic's lax types read them as 4321 and True, a hand-edit changed silently.
# A figure is finite: no producer writes NaN or an infinity (a figure no width reaches is null),
# and JSON's NaN or YAML's .inf read as one, which a score's comparisons would take for a value.
# A count is never negative; a field the search writes in a narrower range says so where it is
# declared (a rank from 1, a score in [0, 1], a task's weight above 0), so a hand-edited -3 is
# refused naming it. A log2 figure is of a rank or a count, at least 1, so at least 0 within
# _BELOW_ZERO: rounded outward or floored from floating-point sums, a rank 1's figure is not
# kept from a hair below 0 by its writer, and a hand-edited -3 is refused.
_Count: TypeAlias = Annotated[int, Field(strict=True, ge=0)]
_Number: TypeAlias = Annotated[float, BeforeValidator(finite_number), Field(strict=True)]


_BELOW_ZERO: Final = 1e-6
"""How far below 0 a log2 figure written to 9 decimals may read for a rank or a count of 1."""


def _log2_of_count(value: float) -> float:
    """After-validator of a log2 figure: refuse one below 0 (a rank or a count is at least 1)."""
    if value < -_BELOW_ZERO:
        raise ValueError(f"is {value:g}: the log2 of a rank or a count is at least 0")
    return value


_Log2: TypeAlias = Annotated[_Number, AfterValidator(_log2_of_count)]
_Flag: TypeAlias = Annotated[bool, Field(strict=True)]

_DOCUMENT: Final = ConfigDict(extra="forbid")
"""How a result's document is read: a key no field has (``sumary``, a misspelt ``summary``) is
refused naming it, where it was read as nothing and the field it meant took its default."""

UnpricedReason: TypeAlias = Literal["too_large", "stopped", "not_asked"]
"""Why an analysis left the contiguous net unpriced (:attr:`Efficiency.unpriced_reason`)."""

_UNPRICED: Final[dict[UnpricedReason | None, str]] = {
    "too_large": "too costly for an input this large",
    "stopped": "cut by the search's stop",
    "not_asked": "not asked for",
    None: "too costly for an input this large, cut by a stop, or not asked for",
}
"""The summary's words for each :data:`UnpricedReason` (None: figures that came without one)."""


def _known_unpriced_reason(value: object) -> object:
    """Read a reason this version has no name for as none given, as the wire reads one.

    A newer version may add reasons; one only explains a comparison left out, and refusing it
    refused a whole saved result (every design's figures) that the same server's answer over
    the wire reads, so a document and the wire follow one rule (docs/FORMATS.md §4). What is no
    string is left for validation to refuse.
    """
    return None if isinstance(value, str) and value not in get_args(UnpricedReason) else value


_EMPTY_REASON: Final = (
    "stopped early, before it scored a design for this page that the budget admits: more time "
    "(a longer time limit or deadline, a server not shutting down, no FinishSearch) lets it"
)
"""A stopped search's empty page, in words (:attr:`SearchResult.empty_reason`).

A result does not say what stopped its search (its designs' rationales do), so the remedy names
every stop: "a longer time limit" alone was false advice for a search a shutdown cut."""

_PLAIN_BITS = 40
"""Counts up to 2^40 are written out; larger ones as powers of two."""

_ABOVE_BOUND: Final = 1e-6
"""How far a figure passes its dimension bound to be above it: both are written to 9 decimals,
rounded up, so a figure at its bound reads as the bound or within this of it."""

_PLAIN_LIMIT: Final = 1e9
_PLAIN_FLOOR: Final = 0.01
_WHOLE: Final = 1e-9
"""A log2 figure this close to a whole number is one (figures carry 9 decimals)."""


_RATIONALE_HOLDS: Final = (
    "holds the whole (the score's parts, the contiguous and shallow nets at this budget, what "
    "10% more budget buys)"
)

LIBRARY_HINTS: Final = TableHints(
    explain="why: each design's summary; its rationale (recommendations[i].rationale) "
    + _RATIONALE_HOLDS,
    next_page='next page: budget.model_copy(update={{"page_token": "{token}"}})',
)
"""What a result's own table (:meth:`SearchResult.as_table`, its notebook display) says."""

_DESIGN_HINT: Final = "why: the design's summary; its rationale (.rationale) " + _RATIONALE_HOLDS
"""How a recommendation's own table (:meth:`Recommendation.as_table`) ends after its summary."""


CARRIED_SHARE: Final = 0.99
"""The share of a mixture's rank a member reaches alone to carry the correlation.

A ratio, so the rule reads alike at any magnitude: the mixture's bound sums its members' ranks
(docs/THEORY.md §15), and a member of 10,000 beside one of 10 (13.289 against 13.288 bits)
carries the correlation as one of 2^73.36 beside one of 24 does, whose sum a float cannot tell
from the member's own figure."""


@dataclass(frozen=True)
class MemberFigure:
    """What one member of a mixture reaches on a correlation alone, the others' convs zeroed.

    The mixture computes each member alone (docs/THEORY.md §15, the hybrid trees), so a member's
    rank is at most the mixture's: a member whose rank alone is at least :data:`CARRIED_SHARE`
    of the mixture's carries the correlation (:meth:`CorrelationAnalysis.carried_by`); where
    none does, no member alone reaches the mixture's figure (which, if only an upper bound, the
    sum may not reach either). ``log2_separation_rank`` is the
    member's tree figure (its geometry and widths, the mixture's M), at most the mixture's own
    figure, and ``certificate`` says how far it is proven, as a tree's figure's does (in an
    exact analysis the member tree's exact rank, ``exact``, as the mixture's figure is).
    """

    __pydantic_config__: ClassVar[ConfigDict] = _DOCUMENT

    log2_separation_rank: _Log2
    certificate: Certificate


@dataclass(frozen=True)
class CorrelationAnalysis:
    """The separation rank an architecture reaches on one correlation (see the module doc).

    ``members``: for an architecture with a ``mixture``, one :class:`MemberFigure` per member
    network, the architecture's own geometry first, then ``mixture.members`` in order; empty
    for a single tree; None for a mixture's figures from a server that predates member figures,
    and for an analysis document saved before them, which does not say whether its design was
    a mixture (not reported: empty would say a tree).
    """

    __pydantic_config__: ClassVar[ConfigDict] = _DOCUMENT

    name: str
    log2_separation_rank: _Log2
    log2_max_rank: _Log2
    certificate: Certificate
    weight: Annotated[_Number, Field(gt=0)] = 1.0  # the task's, which is above 0
    log2_min_cut: _Log2 | None = None
    log2_lower_bound: _Log2 | None = None
    members: tuple[MemberFigure, ...] | None = ()

    def member_shares(self) -> list[float]:
        """Return the share of the mixture's rank each member reaches alone, in member order.

        ``2^(member's figure - mixture's)``, at most 1 (a member's figure is capped by the
        mixture's); empty for a tree and for figures not reported.
        """
        return [
            2.0 ** min(m.log2_separation_rank - self.log2_separation_rank, 0.0)
            for m in self.members or ()
        ]

    def carried_by(self) -> tuple[int, ...]:
        """Return the members that carry the correlation: at least :data:`CARRIED_SHARE` alone."""
        return tuple(i for i, s in enumerate(self.member_shares()) if s >= CARRIED_SHARE)


def reported_members(
    correlations: Iterable[CorrelationAnalysis], mixture: bool
) -> list[CorrelationAnalysis]:
    """Return ``correlations``, a mixture's empty ``members`` read as None (not reported).

    ``mixture``: whether the design analysed has members. Every current producer gives a
    mixture one figure per member; one that predates member figures gives none (a server's
    answer, a saved result's document without the key), and empty ``members`` would say the
    design is a tree. Every reader of figures applies this rule: a
    :class:`Recommendation` to its own analysis, the wire's analysis decoder with the design
    it was asked about.
    """
    if not mixture:
        return list(correlations)
    return [c if c.members else dataclasses.replace(c, members=None) for c in correlations]


@dataclass(frozen=True)
class Efficiency:
    """What other networks would need to reach an architecture's figures on every correlation.

    Lower bounds, in log2 (they often exceed any integer type): no network of the kind named
    reaching every correlation's ``log2_separation_rank`` is smaller (docs/THEORY.md §14).

    Attributes
    ----------
    log2_shallow_channels, log2_shallow_parameters
        A shallow net (one global pooling, same M and outputs): its rank on any partition is at
        most its width, so it needs at least the largest figure's rank in channels.
    log2_contiguous_channels, log2_contiguous_parameters
        A contiguous-pooling net with the same windows and M whose widths form a ladder
        ``r_l = r_0 g^l``, one growth g in 1/2, 1, 2 for every level: no such net reaching every
        figure has a narrower widest layer, and none has fewer parameters (two bounds, each the
        least over the growths; with shared weights possibly no ladder reaches at all); None
        when no width reaches them, without sharing or within the shared-weight bound of any
        width, or when not priced.
    contiguous_priced
        False when the contiguous net was not priced, and its figures are None.
    unpriced_reason
        Why it was not priced (None when it was, or when the figures came without a reason, or
        with one a newer version added, which a saved result's document reads as None too):
        ``too_large``, the input was too large (the analysis would have cost many times over);
        ``stopped``, a search's deadline cut the pricing; ``not_asked``, the caller left it out
        (``analyze(..., price_contiguous=False)``, which scoring many designs does;
        advisor/seprank/efficiency.py).
    shallow_reaches
        False when no shallow net of this M reaches every figure at any width: sharing its
        weights across locations, its rank on a correlation is at most C(M + m - 1, m) for the
        m locations of the smaller side (docs/THEORY.md §5, §14), and the channel count is then
        a bound no width attains. True from a producer or a document that predates the field.
    """

    __pydantic_config__: ClassVar[ConfigDict] = _DOCUMENT

    log2_shallow_channels: _Log2
    log2_shallow_parameters: _Log2
    log2_contiguous_channels: _Log2 | None
    log2_contiguous_parameters: _Log2 | None
    contiguous_priced: _Flag = True
    unpriced_reason: Annotated[UnpricedReason | None, BeforeValidator(_known_unpriced_reason)] = (
        None
    )
    shallow_reaches: _Flag = True

    def __post_init__(self) -> None:
        if self.contiguous_priced and self.unpriced_reason is not None:
            raise ValueError("a priced contiguous net has no unpriced_reason")
        if not self.contiguous_priced and (
            self.log2_contiguous_channels is not None or self.log2_contiguous_parameters is not None
        ):
            raise ValueError(
                "an unpriced contiguous net (contiguous_priced: false) has null "
                "log2_contiguous_channels and log2_contiguous_parameters"
            )

    def summary(self, correlations: Sequence[CorrelationAnalysis] = ()) -> str:
        """Say the figures in a sentence (the rationale and the analysis table use it).

        ``correlations``, the figures priced: where one is above its dimension bound, as only
        overlapping windows print (docs/THEORY.md §14), no shallow net of that M reaches it at
        any width, and the sentence says so rather than that some width would. The contiguous
        need bounds ladders of one growth factor only (§14): "halve, stay or double at every
        level" read as a choice per level, and 40-40-20-10-5 on ``local`` reached the figures
        with 3,443 parameters beside a need of 5,723.
        """
        needed = (
            f"{_counted(self.log2_shallow_channels, 'channel')} "
            f"({_counted(self.log2_shallow_parameters, 'parameter')})"
        )
        beyond = [
            c.name for c in correlations if c.log2_separation_rank > c.log2_max_rank + _ABOVE_BOUND
        ]
        if beyond:
            shallow = (
                f"No shallow net of this M reaches these ranks at any width: its rank is at most "
                f"the dimension bound, which the figure of {beyond[0]!r} exceeds (its width alone "
                f"would need at least {needed})"
            )
        elif not self.shallow_reaches:
            shallow = (
                "No shallow net of this M reaches these ranks at any width: its weights shared "
                "across the input, its rank is at most C(M + m - 1, m) for the m locations of a "
                f"correlation's smaller side, which a figure exceeds (its width alone would need "
                f"at least {needed})"
            )
        else:
            shallow = f"A shallow net would need at least {needed} to reach these ranks"
        if not self.contiguous_priced:
            why = _UNPRICED[self.unpriced_reason]
            return shallow + f"; the contiguous comparison is not computed ({why})."
        if self.log2_contiguous_parameters is None or self.log2_contiguous_channels is None:
            return shallow + "; no contiguous net on these windows reaches them at any width."
        return shallow + (
            "; a contiguous net on these windows whose widths change by the same factor at every "
            "level (halving, staying or doubling throughout) would need at least "
            f"{_counted(self.log2_contiguous_parameters, 'parameter')} "
            f"and a widest layer of at least "
            f"{_counted(self.log2_contiguous_channels, 'channel')}."
        )


def _counted(log2_value: float, noun: str) -> str:
    """Write a lower bound given in log2 as a count of ``noun``: ``1 channel``, ``8 channels``."""
    count = _count(log2_value)
    return f"{count} {noun}" if count == "1" else f"{count} {noun}s"


def _count(log2_value: float) -> str:
    """Write a log2 lower bound as a count: ``1,024``, ``25.5999 billion``, ``2^96.0``.

    A power of two is written down to the tenth of a bit (``2^389.3`` for 389.358), as every
    figure here is a lower bound, within the 1e-6 of the figure's own floor.

    The figures are floored to 6 decimals, which fix a count to about 7 parts in 10 million:
    the least whole count is written as :func:`~advisor.model.text.count_text` writes counts,
    exact up to 2^20 and beyond it rounded down to the 6 significant digits the figure fixes
    (20^8 channels, floored to 2^34.575424, would otherwise read 25,599,986,531, digits the
    figure does not hold).
    """
    if log2_value > _PLAIN_BITS:
        # Down to the tenth, as the figure is a lower bound (2^389.358 is not "2^389.4"); the
        # figure's own last digit is a floor's, so 1535.999999 is the tenth 1536.0.
        tenths = math.floor((log2_value + 1e-6) * 10)
        return f"2^{tenths // 10:,}.{tenths % 10}"
    return count_text(math.ceil(2.0**log2_value - 1e-6))


@dataclass(frozen=True)
class Analysis(TableDisplay):
    """An architecture scored against a task: its costs and one entry per correlation.

    ``multiply_adds`` is per input, as :mod:`advisor.model.compute` counts it, and so is
    ``activations`` (the values a forward pass holds, :func:`~advisor.model.compute.activations`;
    None from an analysis document, or a wire answer without its design, that predates it);
    ``efficiency`` what a shallow and a contiguous net would need to match its figures.
    ``padded_input`` says the grid those costs count, for an analysis of a padded architecture
    (:func:`padded_input`: ``padded to 16x16 (margins 0/1 0/1)``), and is empty for one not
    padded or not known (an analysis read from its document); it is the architecture's to say,
    so the document (which refuses the key) and equality leave it out, and only the table shows
    it. It is set from the architecture analysed (:func:`with_padded_input`), not passed.
    """

    __pydantic_config__: ClassVar[ConfigDict] = _DOCUMENT

    parameters: _Count
    multiply_adds: _Count
    correlations: list[CorrelationAnalysis] = field(default_factory=list)
    efficiency: Efficiency | None = None
    activations: _Count | None = None
    padded_input: Annotated[str, Field(exclude=True)] = field(
        default="", init=False, compare=False, repr=False
    )

    def __hash__(self) -> int:
        return _hash(self)

    def as_table(self, architecture: Architecture | None = None) -> str:
        """Return the table ``advisor analyze`` prints: the costs, the figures, the efficiency.

        A padded architecture's grid and margins, which its costs count, are said with the
        costs: ``architecture``'s, the one analysed, else the analysis' ``padded_input``.

        Raises
        ------
        InvalidRequestError
            On ``architecture`` when it is neither None nor an :class:`Architecture`.
        """
        if architecture is not None:
            require_instance(architecture, Architecture, "architecture")
        return _analysis_table(self, architecture)


@dataclass(frozen=True)
class SearchProgress:
    """A progress event: work done so far and the best score yet (None before any).

    Both are provisional in a practical search (the default): ``best_score`` is the best score
    on the targets known when each tree was scored, and the final ranking, on the targets of
    every tree, may score the best design lower. ``candidates_evaluated`` only grows, up to the
    result's count; ``fraction_done`` only grows, and stays below 1 until the result is
    returned. It is the share of the call's work: once a stop (a time limit, a deadline,
    FinishSearch) cuts the search, the work left is the page's builds, so it moves on toward 1
    as they go; how much of the whole search the stop left done, the result's rationale says
    ("stopped early, after about 1% of its work").
    """

    candidates_evaluated: int
    elapsed_seconds: float
    best_score: float | None
    fraction_done: float


@dataclass(frozen=True)
class Recommendation(TableDisplay):
    """One ranked design.

    ``score`` is the objective's primary score on the analysis' ``log2_separation_rank``
    figures; the architecture's geometry is always a
    :class:`~advisor.model.architecture.PermutationGeometry`, its ``family`` says where the tree
    came from. ``dilations`` is the dilation order of a ``dilations``-family design (None for
    the other families), which the permutation alone does not show. ``summary`` is the
    rationale's opening (what the net is and costs, which correlations it models fully and which
    it falls short on; for a mixture, which member carries which correlation), for a listing of
    several designs; empty from producers that predate it. A mixture's ``analysis`` without
    member figures (from producers that predate them) has ``members`` None, whoever builds it
    (:func:`reported_members`). ``multiply_adds`` and ``activations`` are per input
    (:mod:`advisor.model.compute`). In a notebook and the IPython shell it shows as
    :meth:`as_table`.
    """

    __pydantic_config__: ClassVar[ConfigDict] = _DOCUMENT

    rank: Annotated[_Count, Field(ge=1)]
    score: Annotated[_Number, Field(ge=0, le=1)]  # a fraction of the targets, times factors <= 1
    parameters: _Count
    architecture: Architecture
    analysis: list[CorrelationAnalysis]
    rationale: str
    multiply_adds: _Count
    activations: _Count
    efficiency: Efficiency | None = None
    dilations: tuple[_Count, ...] | None = None
    summary: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "analysis", reported_members(self.analysis, self.architecture.mixture is not None)
        )

    def __hash__(self) -> int:
        return _hash(self)

    def noted(self, note: str) -> Recommendation:
        """Return a copy whose rationale ends with ``note`` (what the search learnt after it)."""
        return dataclasses.replace(self, rationale=f"{self.rationale} {note}")

    @property
    def pricing_stopped(self) -> bool:
        """Whether a stop (the search's deadline) left its contiguous comparison out.

        Such a design's figures are the full search's but for that comparison, so the result
        holding it is not ``complete``: run again with more time, it would carry the comparison.
        """
        return self.efficiency is not None and self.efficiency.unpriced_reason == "stopped"

    def as_table(self, explain: bool = False) -> str:
        """Return this design's rows of the table ``advisor recommend`` prints.

        Its costs, shape and figures, and why: its ``summary``, then where the rest is, or with
        ``explain`` its whole ``rationale``. The score has 4 significant digits (the search's
        table writes more where two neighbours would otherwise read alike).

        Raises
        ------
        InvalidRequestError
            On ``explain`` when it is no boolean (``"no"`` printed the whole rationale), as
            :meth:`SearchResult.as_table` refuses it.
        """
        return _recommendation_table(self, require_flag(explain, "explain"))


@dataclass(frozen=True)
class SearchResult(TableDisplay):
    """The ranked recommendations and how the search went.

    ``candidates_evaluated`` counts the complete architectures (tree and widths) the search put a
    score on, exactly or by an upper bound that settled a whole branch of them: a practical
    search's every ladder of every tree it scored, one count on every page of one search (the
    ladders the rationales price at 10% more budget are not the search's); a free search's
    points its branch and bound scored to rank down to one design past this page's end, as many
    or more on a later page, which ranks more. ``complete`` is
    False when the time limit or the stop signal (deadline, cancellation, shutdown) cut the
    search short. ``next_page_token``, passed as the budget's ``page_token`` with the same request,
    returns the next-ranked designs (:mod:`advisor.search.paging`); None when there are no more
    (the search ranks one design past the page's end to know). ``ranking_version`` is the
    version of the ranking that ordered and scored the designs
    (:data:`advisor.version.RANKING_VERSION`, raised whenever the objective, its factors or
    its tie-breaks change): a cache of results keyed on the request includes it, so what an
    upgraded advisor ranks replaces what the old one did; None from producers that predate it.

    Equality and the hash leave out ``search_seconds``, the wall-clock time the search took, so
    a complete search of one request run twice gives results that compare equal.
    """

    __pydantic_config__: ClassVar[ConfigDict] = _DOCUMENT
    derived_keys: ClassVar[tuple[str, ...]] = ("empty_reason",)
    """Keys of its document derived from the fields, read as nothing (:attr:`empty_reason`)."""

    recommendations: list[Recommendation]
    candidates_evaluated: _Count
    # How long this run took, not what it found: two runs of one request compare equal.
    search_seconds: Annotated[_Number, Field(ge=0)] = field(compare=False)
    complete: _Flag
    next_page_token: str | None = None
    # Not a count: below 1 is refused as no version (parse_search_result), with its own words.
    ranking_version: Annotated[int, Field(strict=True)] | None = None

    def __hash__(self) -> int:
        return _hash(self)

    @property
    def empty_reason(self) -> str | None:
        """Why ``recommendations`` is empty, and what gets designs; None when it is not empty.

        Only a search cut short returns an empty page: it stopped before it scored any design
        the budget admits for this page (not even the shallow baseline, when the depth or window
        bounds leave it out); a later page is refused instead
        (:func:`~advisor.search.page.require_whole_ranking`). Derived from
        the result, so every form of it says the same: the table, the JSON and YAML documents,
        the gRPC response and the client's result.
        """
        if self.complete or self.recommendations:
            return None
        return _EMPTY_REASON

    def as_table(
        self, explain: bool = False, hints: TableHints = LIBRARY_HINTS, top_k: int | None = None
    ) -> str:
        """Return the table ``advisor recommend`` prints: how the search went, then each design.

        Each design's costs, shape and figures, and why: its ``summary``, or with ``explain``
        its whole ``rationale``; ``hints`` say where the rest is (the rationales, the next page).
        ``top_k``, the request's (the result does not hold it), has the table say why a complete
        search's page holds fewer designs (:func:`_ranking_ended`).

        Raises
        ------
        InvalidRequestError
            On ``explain`` when it is no boolean (``"no"`` printed every rationale), ``top_k``
            when it is no whole number from 1, ``hints`` when it is no :class:`TableHints`.
        """
        shown = require_flag(explain, "explain")
        asked = None if top_k is None else checked_integer("top_k", top_k, 1)
        require_instance(hints, TableHints, "hints")
        return _search_result_table(self, shown, hints, asked)


def _hash(result: Analysis | Recommendation | SearchResult) -> int:
    """Hash a result by the fields it compares, its lists as tuples (:func:`frozen_hash`)."""
    return frozen_hash(
        getattr(result, item.name) for item in dataclasses.fields(result) if item.compare
    )


def _search_result_table(
    result: SearchResult, explain: bool, hints: TableHints, top_k: int | None
) -> str:
    """Lay a result out as ``advisor recommend`` prints it (:meth:`SearchResult.as_table`)."""
    count = len(result.recommendations)
    state = result.empty_reason or (
        "complete" if result.complete else "stopped early: the best found so far"
    )
    candidates = result.candidates_evaluated
    # Wrapped as prose: an empty page's reason ran the line to 183 columns.
    lines = wrapped(
        f"{counted(count, 'recommendation')} from {counted(candidates, 'candidate')} in "
        f"{result.search_seconds:.2f} s (search {state})",
        "",
        "",
    )
    ended = _ranking_ended(result, top_k)
    if ended:
        lines.extend(wrapped(ended, "", ""))
    scores = _scores_apart([r.score for r in result.recommendations])
    for recommendation, score in zip(result.recommendations, scores, strict=True):
        lines.append("")
        lines.extend(_recommendation_lines(recommendation, score, explain))
    if not explain and any(r.summary != r.rationale for r in result.recommendations):
        lines.extend(["", *wrapped(hints.explain, "", "")])
    if result.next_page_token is not None:
        lines.extend(["", hints.next_page.format(token=result.next_page_token)])
    return "\n".join(lines) + "\n"


def _ranking_ended(result: SearchResult, top_k: int | None) -> str:
    """Say why a complete search returned fewer than the ``top_k`` designs asked for (else '').

    Its ranking ends on this page (it has no next one): ``--top 3 --geometries dilations`` on a
    pair of locations of a [64] sequence returned 1 design from 94,302 candidates, as its 720
    dilation orders have the same ranks at every width, and the table did not say why.
    """
    count = len(result.recommendations)
    if top_k is None or not result.complete or result.next_page_token or count >= top_k:
        return ""
    return (
        f"{count} of the {top_k} asked for: the search's ranking ends here. It lists each tree "
        "once, at its best widths, and only the best of trees with the same ranks at every "
        "width (one tree to the model) or of one family, schedule, dilation order and padding."
    )


def _scores_apart(scores: Sequence[float]) -> list[str]:
    """Write ranked scores with 4 significant digits, or more (up to 12) where neighbours differ.

    Every two neighbours that differ read differently: "score 1" above "score 1" would
    contradict the rule that gives equal scores to the larger net (1.0 against 0.999983).
    """
    for digits in range(4, 13):
        texts = [f"{score:.{digits}g}" for score in scores]
        if all(
            a != b or x == y
            for (x, a), (y, b) in itertools.pairwise(zip(scores, texts, strict=True))
        ):
            break
    return texts


def _recommendation_lines(recommendation: Recommendation, score: str, explain: bool) -> list[str]:
    architecture = recommendation.architecture
    header = [
        f"#{recommendation.rank}",
        architecture.family or "custom",
        f"depth {len(architecture.layers)}",
        f"score {score}",
        f"{recommendation.parameters:,} parameters",
        f"{recommendation.multiply_adds:,} multiply-adds",
        activations_text(recommendation.activations),
    ]
    shape = shape_summary(architecture, recommendation.dilations)
    lines = [*packed(header, "", "    "), *packed(shape, "    ", "    ")]
    lines.extend(_correlation_table(recommendation.analysis, "    "))
    # A result from a producer that predates summaries has the rationale only.
    why = (
        recommendation.rationale
        if explain or not recommendation.summary
        else recommendation.summary
    )
    lines.extend(wrapped(why, "    why: ", "         "))
    return lines


def _recommendation_table(recommendation: Recommendation, explain: bool) -> str:
    """Lay one design out as the search's table does (:meth:`Recommendation.as_table`)."""
    (score,) = _scores_apart([recommendation.score])
    lines = _recommendation_lines(recommendation, score, explain)
    if not explain and recommendation.summary not in ("", recommendation.rationale):
        lines.extend(["", *wrapped(_DESIGN_HINT, "", "")])
    return "\n".join(lines) + "\n"


def padded_input(architecture: Architecture) -> str:
    """Say a padded architecture's grid and margins: ``padded to 16x16 (margins 0/1 0/1)``.

    Empty for an architecture whose input gets no margins.
    """
    if architecture.padding is None or not architecture.padded:
        return ""
    margins = " ".join(f"{before}/{after}" for before, after in architecture.padding)
    return f"padded to {'x'.join(map(str, architecture.grid))} (margins {margins})"


def with_padded_input(analysis: Analysis, architecture: Architecture) -> Analysis:
    """Return a copy of ``analysis`` whose table says ``architecture``'s padded grid, if any.

    ``architecture`` is the one analysed: its grid is what the analysis' costs count.
    """
    padded = padded_input(architecture)
    if padded == analysis.padded_input:
        return analysis
    copied = dataclasses.replace(analysis)
    object.__setattr__(copied, "padded_input", padded)
    return copied


def shape_summary(architecture: Architecture, dilations: Sequence[int] | None = None) -> list[str]:
    """Return the fields of a recommendation's shape line: M, widths, pools, outputs and more.

    The windows' strides are said where one differs from its window: ``pools 3x3 2x2`` alone
    reads as tiling windows, which an overlapping net's are not. ``dilations``, a ``dilations``
    design's order (:attr:`Recommendation.dilations`), ends the line: its permutation alone
    does not show it.
    """
    layers = architecture.layers
    widths = " ".join(str(layer.channels) for layer in layers)
    summary = [
        f"representation {architecture.representation}",
        f"widths {widths}",
        f"pools {pools_text(architecture)}",
    ]
    if any(layer.step != layer.pool for layer in layers):
        summary.append(f"strides {' '.join('x'.join(map(str, layer.step)) for layer in layers)}")
    summary.append(f"outputs {architecture.outputs}")
    if padded := padded_input(architecture):
        summary.append(padded)
    if architecture.mixture is not None:
        members = len(architecture.mixture.members) + 1
        summary.append(
            f"mixture of {members} members, summed {architecture.mixture.summed_where()}"
        )
    if dilations is not None:
        summary.append(f"dilations {' '.join(map(str, dilations))}")
    return summary


def pools_text(architecture: Architecture) -> str:
    """Return the windows bottom-up as the shape line writes them after ``pools``: ``2x2 2x2``."""
    return " ".join(grid_text(layer.pool) for layer in architecture.layers)


def _analysis_table(analysis: Analysis, architecture: Architecture | None) -> str:
    """Lay an analysis out as ``advisor analyze`` prints it (:meth:`Analysis.as_table`)."""
    costs = [f"{analysis.parameters:,} parameters", f"{analysis.multiply_adds:,} multiply-adds"]
    if analysis.activations is not None:
        costs.append(activations_text(analysis.activations))
    padded = analysis.padded_input if architecture is None else padded_input(architecture)
    if padded:
        costs.append(f"on the input {padded}")
    # Broken between the figures, never inside one: "(14.9" and "MiB a float32 batch of 32)".
    fields = [f"{cost}," for cost in costs[:-1]] + costs[-1:]
    lines = [*packed(fields, "", "", separator=" "), ""]
    lines.extend(_correlation_table(analysis.correlations))
    lines.extend(_efficiency_lines(analysis.efficiency, analysis.correlations))
    return "\n".join(lines) + "\n"


def _efficiency_lines(
    efficiency: Efficiency | None, correlations: Sequence[CorrelationAnalysis]
) -> list[str]:
    """Return the analysis table's closing paragraph: what shallow or contiguous nets would need."""
    if efficiency is None:
        return []
    return ["", *wrapped(efficiency.summary(correlations), "", "")]


def _correlation_table(correlations: Sequence[CorrelationAnalysis], indent: str = "") -> list[str]:
    """Tabulate the figures, each line after ``indent``; a mixture's get a column per member.

    A member's cell is its log2 rank and certificate (``64 tight``): a member whose rank alone
    is at least :data:`CARRIED_SHARE` of the mixture's carries the correlation
    (docs/FORMATS.md §3). A mixture's figures from
    a server that predates member figures (``members`` None) get a line saying so instead.
    """
    members = max((len(c.members or ()) for c in correlations), default=0)
    rows = [
        [
            c.name,
            _number(c.weight),
            _log2_rank(c.log2_separation_rank, c.certificate, c.log2_max_rank),
            _log2_number(c.log2_max_rank, up=True),
            c.certificate,
            *(
                f"{_log2_rank(m.log2_separation_rank, m.certificate, c.log2_max_rank)} "
                f"{m.certificate}"
                for m in c.members or ()
            ),
        ]
        for c in correlations
    ]
    headers = [
        "correlation",
        "weight",
        "log2 rank",
        "log2 max",
        "certificate",
        *(f"member {index}" for index in range(members)),
    ]
    # The members' columns are read side by side: kept together where they fit.
    lines = table(headers, rows, right_aligned={1, 2, 3}, indent=indent, blocks={5})
    if any(c.members is None for c in correlations):
        lines.append(f"{indent}member figures: not reported (the server predates them)")
    return lines


def _log2_rank(value: float, certificate: Certificate, log2_max_rank: float) -> str:
    """Write a log2 rank as its certificate says: a bound rounded up, an exact rank to the nearest.

    An exact rank at the dimension bound is written as the bound is, so the two read alike (to
    the nearest, 5.61 beside 5.62 said the rank fell short of it). The mixture's figure and its
    members' go through here alike: a member's exact rank 3 was written rounded up, ``1.59``,
    beside the mixture's exact rank 3 written ``1.58``.
    """
    return _log2_number(value, up=certificate != "exact" or value == log2_max_rank)


def _log2_number(value: float, up: bool) -> str:
    """:func:`_number` for a log2 figure, which reads as a whole number only when it is one.

    A whole log2 is a power of two; two decimals of log2(511) = 8.997 are ``9.00``, which
    :func:`_number` would shorten to ``9``, a rank of 512. Such a figure keeps its zeros.
    ``up``: the figure is an upper bound (a ``tight`` or ``upper_bound`` rank, the dimension
    bound), written rounded up as the documents write it (docs/FORMATS.md §3), so it stays one:
    156.744 is ``156.75``, where the nearest, ``156.74``, would read below the bound.
    """
    whole = abs(value - round(value)) < _WHOLE
    if up and not whole and abs(value) < _PLAIN_LIMIT:
        value = math.ceil(value * 100 - _WHOLE) / 100
    text = _number(value)
    if "." in text or "e" in text or whole:
        return text
    return f"{value:.2f}"


def _number(value: float) -> str:
    """Two decimals, without trailing zeros: 48 -> ``48``, log2(3) -> ``1.58``; 1e308 -> ``1e+308``.

    Values of a billion and more (a weight a user wrote as ``1e308``) keep three significant
    digits, so a column is never hundreds of characters wide; so do values under a hundredth
    other than 0 (a weight of ``1e-5``), which two decimals would show as 0.
    """
    if abs(value) >= _PLAIN_LIMIT or 0 < abs(value) < _PLAIN_FLOOR:
        return f"{value:.3g}"
    return f"{value:.2f}".rstrip("0").rstrip(".")
