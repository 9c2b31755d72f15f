"""The advisor: ranked architecture recommendations for a task under a parameter budget.

:func:`recommend` walks the candidate trees of :mod:`advisor.search.candidates` (window schedules
times geometry families, synthesized ones on request), chooses the widths of each under the
budget, and keeps the best ``top_k`` *distinct trees* — never several width variants of one. A
*practical* search (the default) scores every width ladder of :mod:`advisor.search.profiles`
that fits the parameter and compute budgets, on trees whose windows stay within ``max_window``
(and ``max_step``); a *free* search allocates any widths from the choices optimally
(:mod:`advisor.search.widths`). Both evaluate on the shared-subtree DP of
:mod:`advisor.search.subtree_dag`. Each recommendation carries its architecture (geometry as an
explicit permutation, ``family`` saying where it came from), the engine's analysis
(:func:`advisor.seprank.analysis.analyze`), its score and a rationale
(:mod:`advisor.search.explain`).

**Objective** (:mod:`advisor.search.objective`): each correlation's log2 separation rank — the
figure the analysis reports, the tensor-network min-cut (docs/THEORY.md §4-6) with weight sharing —
counts up to its target; ``weighted`` averages the fractions of the targets reached, ``maximin``
takes the smallest. A practical search's target is the best figure any recommendable tree reaches
with a fitting ladder (so 1.0 means nothing at this budget does better), each score is scaled by
the order the tree's pooling windows discard (:mod:`advisor.model.arrangement`) and by how alike
and how soon it meets the relations the description states (:mod:`advisor.search.coherence`), each
against the best recommendable tree, and between equal scores the design that uses more of the
budget ranks first; a free search's target is the dimension bound at the largest channel choice.
``log2_rank_target`` lowers either. Remaining ties go to fewer parameters, then to the tree whose
correlated locations meet the other side after the fewest pooling levels
(:mod:`advisor.search.meeting`), then to the earlier candidate (simpler family, shallower
schedule), then to smaller widths, so a request always gets the same answer. Two trees whose
labelled subtrees coincide for every correlation (the same shared-subtree DAG) are one candidate to
the model; the first is kept.

**Anytime.** A practical search scores each tree once, in the order of
:class:`~advisor.search.anytime.AnytimeQueue` (the shallow baseline, then one tree of every
family, the family whose opening tree best meets the description's relations first, then the
families whose trees scored best so far first), raising the targets as it goes;
it keeps each tree's figures (or its DAG, past :data:`_KEPT_FIGURES_BYTES`) and ranks them once
the pass ends or is stopped, in the candidates' own order, so the order changes nothing a full
search returns and a stopped one ranks what it scored on the targets it saw. Progress reports
the fraction of the work done (:class:`~advisor.search.anytime.WorkMeter`). A free search
visits the candidates in their own order (its branch-and-bound needs its objective up front).

**Time.** One :class:`~advisor.stopping.StopSignal` says when to stop: the caller's (a call's
deadline, its cancellation, a server's shutdown drain), with ``budget.time_limit_seconds`` added
as a deadline of its own. It is polled between candidates and inside the width search. The
search stops early enough to build its recommendations before the deadline. It knows the time
one recommendation takes to build without the pricing of its contiguous reference net (predicted
from the shallow baseline's scoring at the start, :data:`_BUILD_PER_BASELINE`, then measured on
every one it builds) and the longest wait between two polls
(how late a deadline can be noticed, and how long the machine's load may hold the search back),
so a loaded machine reserves more; it reserves :data:`_RESERVE_FACTOR` times the build for the
best recommendation and for each of the others as long as those take at most
:data:`_OTHERS_SHARE` of the time left when scoring starts (a short limit buys a better best
pick rather than more picks), :data:`_GAP_FACTOR` times the wait, and the time the ranking will
take. It then returns the best found so far with ``complete = False``.

The recommendations are built in rank order. The best is always built, even past the deadline;
each other one only while the time for one more build (the longest measured) and the wait is
left, and its analysis polls the signal too. The pricing of a recommendation's contiguous
reference net (on a small input most of its build) stops in time for the rest of the build and
for the unpriced builds of the others the reserve planned (whole designs come first), and is
then left out (``contiguous_priced`` false); the builds the reserve is made of are timed without
it (:class:`_PricingTimer`). So a deadline that cuts the final analyses leaves fewer than
``top_k`` recommendations (and ``complete = False``), but never none when a design was found.
The first reserve is predicted, not timed on a build of the shallow net: such a build takes a
third of a tenth of the full search's time at 256x256 and 1024x1024, time a stopped search needs.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.errors import FieldViolation, InvalidRequestError, StoppedError
from advisor.model.architecture import Architecture
from advisor.model.arrangement import discarded_order
from advisor.model.budget import DEFAULT_COMPUTE_FACTOR, Budget
from advisor.model.compute import COUNT_LIMIT, layer_locations, multiply_adds
from advisor.model.parameters import ParameterModel
from advisor.model.results import Analysis, Recommendation, SearchProgress, SearchResult
from advisor.model.schedule import Schedule
from advisor.model.task import Task
from advisor.search.anytime import AnytimeQueue, WorkMeter
from advisor.search.candidates import Candidate, CandidateSpace
from advisor.search.coherence import (
    Relation,
    TreeCoherence,
    architecture_coherence,
    description_relations,
)
from advisor.search.explain import MORE_BUDGET, Design, Scope, Widening, rationale
from advisor.search.meeting import levels_apart
from advisor.search.mixtures import with_mixtures
from advisor.search.objective import Objective, default_targets
from advisor.search.paging import next_page_token, page_offset
from advisor.search.profiles import ProfileRules, maximal, practical_profiles
from advisor.search.subtree_dag import SubtreeDag, SubtreeDagBuilder
from advisor.search.synthesis import synthesis_variants
from advisor.search.widths import Allocation, Floor, allocate_widths, best_point
from advisor.seprank.analysis import analyze
from advisor.seprank.efficiency import TYPICAL_PRICING_RUNS, contiguous_structure, is_priced
from advisor.seprank.labels import correlation_labels
from advisor.seprank.tree import log2_min_cut
from advisor.stopping import StopSignal

__all__ = [
    "recommend",
    "sample_architectures",
    "score_architecture",
    "score_architectures",
    "search_objective",
]

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
_Pools = tuple[tuple[int, ...], ...]
_Tree = tuple[tuple[npt.NDArray[np.intp], ...], list[Hashable]]
"""A tree's windows per level and the keys naming its levels' prefixes."""

_SAMPLE_TRIES: Final = 50
"""Draws attempted per design :func:`sample_architectures` returns, before it gives up."""

_LEAST_TARGET: Final = 1e-6
"""Floor of a reachable target, so a correlation no net can couple scores 0 for every net."""

_OTHERS_SHARE: Final = 0.25
"""Share of a search's time at most that the recommendations after the best may reserve. (A
half, priced at the shallow net's build, reserved 4 builds on 262144 locations stopped at 10% of
its full time, none of which then fit: the page's deep trees take 3-5 times as long to build.)"""

_KEPT_FIGURES_BYTES: Final = 64 * 2**20
"""The practical pass keeps the figures of the trees it scores up to this size for the ranking;
past it, the ranking computes them again from the DAGs (a task with thousands of correlations)."""

_PROGRESS_INTERVAL: Final = 0.25
"""Seconds between two progress reports at least."""

_RESERVE_FACTOR: Final = 3.0
"""Time kept for a recommendation that must fit, in multiples of the longest build measured (or,
before any, predicted as the shallow net's: :data:`_BUILD_PER_BASELINE`), without its pricing,
which the deadline may cut: the page's deep trees took 2.0-2.9 times as long as the shallow net
on the bench tasks (4 on the largest 1-D one, 262144 locations, whose wait between polls is long
enough to cover the rest; 5 before the analysis ran on interned subtrees)."""

_BUILD_PER_BASELINE: Final = 3.0
"""The shallow net's build (unpriced) in multiples of its scoring as the baseline, which the
reserve is first sized from: 0.8-2.4 on the benchmark tasks (2.4 at 1024x1024, 1.4 at 256x256;
3.0 and 1.5 before the analysis ran on interned subtrees). Both are passes over every location
of every correlation; scoring is timed anyway, so the reserve no longer costs a build (6 ms of
23 at 256x256 stopped at 10%, 88 of 264 at 1024x1024)."""

_DEEP_BUILD_FACTOR: Final = 1.5
"""The progress predicts each final build (without its pricing, predicted apart) at this many
times the build the reserve is first sized from (:data:`_BUILD_PER_BASELINE` times the shallow
baseline's scoring, a cautious figure). Measured on the anytime bench tasks, a deep pick's build
took 0.85-1.0 times that prediction at 256x256 and 16384 locations and 1.6-2.1 times at
1024x1024 (a build also lays out and reads back a permutation of every location, which the
baseline's scoring does not); 1.5 keeps the last report before the builds within 0.08 of the
truth on both (at 2.0, 256x256 read 0.14-0.16 behind)."""

_MOST_DONE: Final = 0.99
"""The largest share of its work a stopped search's note reports: it had work left."""

_GAP_FACTOR: Final = 1.5
"""Time kept for the wait until the next poll, in multiples of the longest wait seen so far: a
poll that lets the search go on may be followed by one more such wait, longer on a loaded
machine. (Three times, as once, left a tree's worth of time unused on inputs whose interning
of one level is a sizable share of the search: 128x128 with random masks.)"""


def recommend(
    task: Task,
    budget: Budget,
    *,
    stop: StopSignal | None = None,
    progress: Callable[[SearchProgress], None] | None = None,
) -> SearchResult:
    """Search designs for ``task`` within ``budget``; see the module docstring.

    Parameters
    ----------
    task
        The correlations to serve.
    budget
        Parameter budget and search options.
    stop
        When to stop (a call's deadline, its cancellation, a shutdown); the search plans against
        its deadline and returns before it, with ``complete = False`` and the best found so far
        (see the module docstring). ``budget.time_limit_seconds`` applies as well.
    progress
        Called with a :class:`SearchProgress` a few times a second at most.

    Returns
    -------
    SearchResult
        Up to ``top_k`` recommendations, best first. Stopped early, it holds the best found so
        far with ``complete = False``, and fewer than ``top_k`` when even the final analyses
        could not all be done before the deadline, but never none when a design was found:
        the best one is always built.

    Raises
    ------
    InvalidRequestError
        On ``budget.max_parameters`` when no candidate fits it, on ``budget.min_depth`` or
        ``budget.geometries`` when they leave nothing to search for this input.
    """
    offset = page_offset(task, budget)
    signal = (stop or StopSignal()).limited(budget.time_limit_seconds)
    if offset and "mixture" in budget.families():
        raise InvalidRequestError.single(
            "budget.page_token", "a search with the mixture family returns one page only"
        )
    run = _Search(task, _tree_budget(budget), signal, progress, offset)
    result = run.execute()
    if "mixture" not in budget.families():
        return result
    # The relations the trees' coherence was read on, where the objective weighs it.
    relations = run.relations() if run.objective.best_coherence is not None else []
    return with_mixtures(task, budget, result, run.objective, relations, signal)


def _tree_budget(budget: Budget) -> Budget:
    """Return the budget the tree search runs on: mixtures are built afterwards from its trees."""
    if "mixture" not in budget.families():
        return budget
    trees = [family for family in budget.families() if family != "mixture"] or None
    return budget.model_copy(update={"geometries": trees})


@dataclass(frozen=True)
class _Entry:
    """A tree with its optimal widths (and, from a practical pass, its profiles' figures)."""

    candidate: Candidate
    allocation: Allocation
    dag: SubtreeDag
    figures: _Floats | None = field(default=None, compare=False, repr=False)

    def order(self) -> tuple[tuple[float, ...], int, int]:
        """Best first: the score keys, then fewer parameters, then the earlier candidate."""
        return (
            tuple(-k for k in self.allocation.keys),
            self.allocation.parameters,
            self.candidate.index,
        )

    def floor(self, candidate: Candidate, dag: SubtreeDag, ties: _TieKey) -> Floor:
        """Return what ``candidate`` (its tree ``dag``) must beat to rank before this entry.

        It wins exact ties where :func:`_ranked` would put it first (decided, once, only when a
        tie occurs).
        """

        @functools.cache
        def first() -> bool:
            mine = (ties(candidate, dag), candidate.index)
            return mine < (ties(self.candidate, self.dag), self.candidate.index)

        return Floor(self.allocation.keys, self.allocation.parameters, first)


_TieKey = Callable[[Candidate, SubtreeDag], tuple[float, ...]]
"""What breaks exact ties of a tree (smaller first): how many pooling levels its correlated
locations pass before meeting the other side (:func:`advisor.search.meeting.levels_apart` of the
tree's DAG)."""


def _ranked(entries: Iterable[_Entry], ties: _TieKey) -> list[_Entry]:
    """Sort entries best first by :meth:`_Entry.order`, but break exact ties by ``ties``.

    Among entries equal in score keys and parameters the tree whose correlated locations meet
    soonest comes first, then the earlier candidate; ``ties`` is computed for those only.
    """
    ranked: list[_Entry] = []
    for _, group in itertools.groupby(sorted(entries, key=_Entry.order), lambda e: e.order()[:2]):
        tied = list(group)
        if len(tied) > 1:
            tied.sort(key=lambda e: (ties(e.candidate, e.dag), e.candidate.index))
        ranked += tied
    return ranked


@dataclass(frozen=True, eq=False)
class _Scored:
    """A tree the practical pass scored: its DAG and, when kept, its profiles' figures."""

    candidate: Candidate
    dag: SubtreeDag
    figures: _Floats | None


@dataclass
class _Board:
    """The best entries: the top list, the best contiguous tree and the shallow net.

    The top list holds at most ``size`` eligible trees, at most one per *slot* — family, schedule
    and dilation order — so synthesized variants of one schedule do not crowd it.
    """

    size: int
    ties: _TieKey
    top: list[_Entry] = field(default_factory=list)
    contiguous: _Entry | None = None
    shallow: _Entry | None = None

    def floor_for(self, candidate: Candidate, dag: SubtreeDag) -> Floor | None:
        """Return the weakest result the candidate (tree ``dag``) must beat to enter a list."""
        if candidate.family == "shallow":
            return None
        floors = []
        if candidate.eligible:
            rival = self._rival(candidate)
            if rival is None:
                return None
            floors.append(rival)
        if candidate.family == "contiguous":
            if self.contiguous is None:
                return None
            floors.append(self.contiguous)
        weakest = _ranked(floors, self.ties)[-1] if floors else None
        return weakest.floor(candidate, dag, self.ties) if weakest else None

    def _rival(self, candidate: Candidate) -> _Entry | None:
        """Return the entry a candidate must displace: its slot's, else a full list's last."""
        same_slot = [e for e in self.top if _slot(e.candidate) == _slot(candidate)]
        if same_slot:
            return same_slot[0]
        return self.top[-1] if len(self.top) == self.size else None

    def offer(self, entry: _Entry) -> None:
        """Record an allocated tree in every list it belongs to."""
        family = entry.candidate.family
        if family == "shallow":
            self.shallow = entry
        if family == "contiguous" and (
            self.contiguous is None or _ranked([self.contiguous, entry], self.ties)[0] is entry
        ):
            self.contiguous = entry
        if entry.candidate.eligible:
            kept: dict[object, _Entry] = {}
            for item in _ranked([*self.top, entry], self.ties):
                kept.setdefault(_slot(item.candidate), item)
            self.top = list(kept.values())[: self.size]


def _missing_family(family: str, budget: Budget, task: Task, shape: list[int]) -> str:
    """Say why a family the budget names has no candidate."""
    if family == "dilations" and not budget.search_dilations:
        return "search_dilations is false"
    if family == "dilations" and len(shape) != 1:
        return f"dilations pool a 1-D input only, and the input is {shape}"
    if family == "data_arranged" and task.arrangement is None:
        return "the task has no arrangement (advisor infer, or advisor recommend --data)"
    return f"no {family} tree fits the input {shape} within the depth bounds"


def _slot(candidate: Candidate) -> tuple[object, ...]:
    return candidate.family, candidate.pools, candidate.dilations, candidate.padding


class _Clock(StopSignal):
    """The search's signal: its deadline runs ahead of the caller's by the time reserved.

    It times the search (``elapsed``) and keeps the figures the reserve is made of: ``each``,
    the longest recommendation build measured (first a prediction), and ``longest_gap``, the
    longest wait seen between two polls; and ``pricing``, the predicted time a recommendation's
    analysis prices the contiguous net for (which the deadline may cut, so it is not reserved,
    but it is work the progress counts).
    """

    def __init__(self, signal: StopSignal, top_k: int) -> None:
        super().__init__(parent=signal)
        self.top_k = top_k
        self.started = self.clock()
        self.each = 0.0
        self.pricing = 0.0
        self.longest_gap = 0.0
        self.ranking = 0.0
        self.window: float | None = None
        self.last_poll: float | None = None
        self.others = top_k - 1  # the recommendations after the best the reserve keeps time for

    def elapsed(self) -> float:
        return self.clock() - self.started

    def time_for(self, others: int) -> float:
        """Return the time to keep for one recommendation that must fit and ``others`` more.

        :data:`_RESERVE_FACTOR` times a build (what a deep tree's takes) for each, and
        :data:`_GAP_FACTOR` times the longest wait seen between two polls.
        """
        return (1 + others) * _RESERVE_FACTOR * self.each + _GAP_FACTOR * self.longest_gap

    def time_to_start_another(self) -> float:
        """Return the time left that another recommendation after the best needs to be started.

        One build as long as the longest measured and the wait: unlike the best, it may be
        abandoned (its analysis polls the deadline), so no multiple of a build is kept for it.
        """
        return self.each + _GAP_FACTOR * self.longest_gap

    def measure(self, each: float) -> None:
        """Record how long a recommendation took (or will take) to build; keep the longest.

        The first measure starts the search proper: the time then left to the caller's deadline
        is the window the recommendations after the best may take a share of.
        """
        if self.window is None and self._parent is not None:
            deadline = self._parent.deadline
            self.window = math.inf if deadline is None else deadline - self.clock()
        self.each = max(self.each, each)
        self._reserve()

    def defer(self, seconds: float) -> None:
        """Add the time ranking one more scored tree will take to the reserve."""
        self.ranking += seconds
        self._reserve()

    def stopped(self) -> bool:
        now = self.clock()
        if self.last_poll is not None:
            self.longest_gap = max(self.longest_gap, now - self.last_poll)
            self._reserve()
        self.last_poll = now
        return super().stopped()

    def _reserve(self) -> None:
        """Keep time for the ranking, the best recommendation and as many others as are due.

        The others hold back at most :data:`_OTHERS_SHARE` of the search's time: a short time
        limit buys a better best recommendation rather than more of them (they are built only
        while time is left, so fewer come back).
        """
        others = self.top_k - 1
        if self.window is not None and math.isfinite(self.window) and self.each > 0.0:
            affordable = (_OTHERS_SHARE * self.window - self.time_for(0)) / (
                _RESERVE_FACTOR * self.each
            )
            others = max(0, min(others, math.floor(affordable)))
        self.others = others
        self._lead = self.time_for(others) + self.ranking


class _PricingTimer(StopSignal):
    """The stop signal of a build's contiguous pricing, which also times the pricing.

    The pricing polls it before each of its rounds: the time from the first poll to the last is
    (but for its last round, a small share) the time the pricing took, which the deadline may
    cut and so is no part of the builds the reserve is made of.
    """

    def __init__(self, signal: StopSignal, lead: float) -> None:
        super().__init__(parent=signal, lead=lead)
        self._first: float | None = None
        self._last: float | None = None

    @property
    def seconds(self) -> float:
        """The time between the first poll and the last (0 when the pricing did not run)."""
        return 0.0 if self._first is None or self._last is None else self._last - self._first

    def stopped(self) -> bool:
        now = self.clock()
        self._first = now if self._first is None else self._first
        self._last = now
        return super().stopped()


class _Search:
    """One run of :func:`recommend`."""

    def __init__(
        self,
        task: Task,
        budget: Budget,
        signal: StopSignal,
        progress: Callable[[SearchProgress], None] | None,
        offset: int = 0,
    ) -> None:
        self.task, self.budget, self.signal = task, budget, signal
        self.offset = offset
        self.clock = _Clock(signal, budget.top_k)
        self.report = progress
        self.correlations = task.resolved()
        self.names = [c.name for c in self.correlations]
        spec = task.input
        self.choices = budget.choices()
        self.outputs = budget.outputs_for(task.outputs)
        self.model = ParameterModel.for_input(spec, budget.representation_kernel, self.outputs)
        self._check_kernel()
        labels = correlation_labels(self.correlations, spec.num_locations)
        allowed = budget.families()
        # Padding at most doubles an axis, so a padded tree is at most ndim levels deeper.
        deepest = max(1, spec.num_locations.bit_length() + spec.ndim)
        self.space = CandidateSpace(
            spec,
            budget.min_depth or 1,
            budget.max_depth or deepest,
            allowed,
            dilations=budget.search_dilations,
            labels=labels,
            variants=synthesis_variants([c.weight for c in self.correlations]),
            seed=budget.seed,
            arrangement=task.arrangement,
        )
        self.candidates = self.space.candidates
        # One labelling per grid a candidate pools; a padded margin is free to the min-cut.
        self.builders = {
            padding: SubtreeDagBuilder(self.space.labels(padding))
            for padding in self.space.paddings
        }
        if budget.width_profile == "practical":
            self.candidates = _bounded(self.candidates, _largest_window, budget.max_window)
            self.candidates = _bounded(self.candidates, _widest_step, budget.max_step)
        self.rules = ProfileRules.for_budget(budget, self.outputs)
        self._profiles: dict[tuple[_Pools, float], tuple[_Ints, _Ints]] = {}
        self._maximal: dict[tuple[_Pools, float], tuple[_Ints, _Ints]] = {}
        self._depth_ladders: dict[int, tuple[_Ints, _Ints]] = {}
        self.standard = self.standard_cnn()
        self.max_multiply_adds = budget.max_multiply_adds
        if self.max_multiply_adds is None and budget.width_profile == "practical" and self.standard:
            self.max_multiply_adds = DEFAULT_COMPUTE_FACTOR * self.standard[1]
        self._check_widths()
        self._check_space()
        # Built by execute(): its targets need a pass over every tree, which only a search (or
        # search_objective) uses, not a caller that only samples the space.
        self.objective: Objective
        self.board = _Board(offset + budget.top_k, self._tie_key)
        self._apart: dict[bytes, float] = {}
        self._coherence: dict[int, float] = {}
        self._relations: list[Relation] | None = None
        self._meter: TreeCoherence | None = None
        self._trees: dict[int, _Tree] = {}  # opening trees built before their scoring
        self.scored = 0
        self.last_report = -math.inf
        # The practical scoring pass: the trees scored, the targets so far (the best figure of a
        # recommendable tree per correlation), the least arrangement a recommendable tree
        # discards and its best coherence, the points scored and the best provisional score.
        self._visited: list[_Scored] = []
        self._targets = np.zeros(len(self.correlations))
        self._least_discarded = math.inf
        self._best_coherence = 0.0
        self._kept_bytes = 0
        self._points = 0
        self._best_seen = -math.inf
        self._family_best: dict[str, tuple[_Floats, _Ints, float, float]] = {}
        self._work: dict[int, list[tuple[Hashable, int]]] = {}
        self._share_done = 1.0  # of the work, predicted when a stop cut the trees

    def _tie_key(self, candidate: Candidate, dag: SubtreeDag) -> tuple[float, ...]:
        """Return what ranks a tree among exact ties, smaller first (:data:`_TieKey`)."""
        return (self._levels_apart(dag),)

    def _coherent(
        self, candidate: Candidate, tree: _Tree | None = None, stop: StopSignal | None = None
    ) -> float:
        """Return how alike and how soon the tree meets each relation (0 without relations).

        Memoised per candidate; ``tree`` is its windows and level keys where the caller has them.
        The relations are read off the description once, when first needed
        (:mod:`advisor.search.coherence`); ``stop`` may cut that reading
        (:class:`~advisor.errors.StoppedError`).
        """
        found = self._coherence.get(candidate.index)
        if found is None:
            if self._meter is None:
                self._meter = TreeCoherence(self.relations(stop), self.task.input.shape)
            windows, keys = self.space.tree(candidate) if tree is None else tree
            figure = self._meter.of(windows, keys, candidate.padding)
            found = self._coherence[candidate.index] = 0.0 if figure is None else figure
        return found

    def relations(self, stop: StopSignal | None = None) -> list[Relation]:
        """Return the description's relations (read once; ``stop`` may cut the reading)."""
        if self._relations is None:
            shape = self.task.input.shape
            self._relations = description_relations(self.correlations, shape, stop)
        return self._relations

    def _levels_apart(self, dag: SubtreeDag) -> float:
        """Return how many levels a tree's correlated locations pass before meeting.

        Memoised per DAG: the tie-break after :meth:`_coherent` (:mod:`advisor.search.meeting`).
        """
        found = self._apart.get(dag.digest)
        if found is None:
            found = self._apart[dag.digest] = levels_apart(dag, self.objective.weights)
        return found

    def _check_kernel(self) -> None:
        """Refuse a representation conv whose counts would overflow the search's int64 figures.

        Its multiply-adds, ``N * k^d * C_in * M`` at the widest M, would wrap silently past
        :data:`~advisor.model.compute.COUNT_LIMIT` (the limit architectures are checked against).
        """
        widest = max(self.choices[-1], self.budget.max_representation)
        largest = self.task.input.num_locations * self.model.representation_weights * widest
        if largest > COUNT_LIMIT:
            kernel = self.budget.representation_kernel
            raise InvalidRequestError.single(
                "budget.representation_kernel",
                f"a {kernel}-wide representation conv on this input needs more than 2^62 "
                "multiply-adds per input; no network this large can be counted",
            )

    def _check_widths(self) -> None:
        """Refuse width choices whose widest network would overflow the search's int64 figures.

        A search counts its candidates' parameters and multiply-adds in int64 batches: the
        widest network of its space (every hidden width the largest choice, M the largest
        allowed) must stay within :data:`~advisor.model.compute.COUNT_LIMIT`, or its 1x1 convs'
        counts would wrap silently. Refused on the field that sets the largest width, saying the
        largest that fits.
        """
        widest = self.choices[-1]  # the practical widths end there too
        if self._widest_multiply_adds(widest) <= COUNT_LIMIT:
            return
        fits = widest
        while fits > 1 and self._widest_multiply_adds(fits) > COUNT_LIMIT:
            fits //= 2
        field = "channel_choices" if self.budget.channel_choices is not None else "max_channels"
        raise InvalidRequestError.single(
            f"budget.{field}",
            f"networks {widest:,} channels wide need more than 2^62 multiply-adds per input on "
            f"this input, which cannot be counted; {fits:,} channels fit",
        )

    def _widest_multiply_adds(self, width: int) -> int:
        """Bound the multiply-adds of the space's widest net with hidden widths ``width``.

        A quick bound first (every level pools at least two locations, so the hidden layers
        above the first run on fewer locations than the grid has); when it passes the limit,
        the exact count of the widest tree, computed tree by tree.
        """
        representation = max(width, self.budget.max_representation)
        weights, outputs = self.model.representation_weights, self.model.outputs
        grid = max(math.prod(self.space.grid(c)) for c in self.candidates)
        bound = grid * (weights + width) * representation + width * width * grid + width * outputs
        if bound <= COUNT_LIMIT:
            return bound
        schedules = {(self.space.grid(c), c.pools) for c in self.candidates}
        return max(
            int(
                multiply_adds(
                    [[representation, *[width] * len(pools)]],
                    layer_locations(shape, pools, pools),
                    weights,
                    outputs,
                    exact=True,
                )[0]
            )
            for shape, pools in schedules
        )

    def _check_space(self) -> None:
        candidates = self.candidates
        shape = list(self.task.input.shape)
        families = {c.family for c in candidates}
        missing = [
            FieldViolation(
                f"budget.geometries[{i}]",
                _missing_family(family, self.budget, self.task, shape),
            )
            for i, family in enumerate(self.budget.geometries or ())
            if family not in families
        ]
        if missing:
            raise InvalidRequestError(missing)
        if not any(c.eligible for c in candidates):
            raise InvalidRequestError.single(
                "budget.min_depth", f"leaves no candidate for the input {shape}"
            )
        depth = min(c.depth for c in candidates if c.eligible)
        if self.budget.width_profile == "free":
            smallest = int(self.model.count([[self.choices[0]] * (depth + 1)])[0])
            if smallest > self.budget.max_parameters:
                raise InvalidRequestError.single(
                    "budget.max_parameters",
                    f"the smallest candidate (depth {depth}, every width {self.choices[0]}) "
                    f"needs {smallest:,} parameters",
                )
            return
        eligible = [c for c in candidates if c.eligible]
        if not any(self._fitting(c)[0].size for c in eligible):
            raise self._nothing_fits(eligible)

    def _nothing_fits(self, eligible: Sequence[Candidate]) -> InvalidRequestError:
        """Name the bound no practical net fits: the parameters, else the multiply-adds."""
        floor = f"hidden widths >= {self.rules.hidden()[0]}"
        cheapest = min(int(self._ladders(c.depth)[1].min()) for c in eligible)
        if cheapest > self.budget.max_parameters:
            return InvalidRequestError.single(
                "budget.max_parameters",
                f"the smallest practical net ({floor}) needs {cheapest:,} parameters; lower "
                "budget.min_width or ask for width_profile free",
            )
        assert self.max_multiply_adds is not None, "only the two bounds refuse a ladder"
        costs = []
        for candidate in eligible:
            profiles, parameters = self._ladders(candidate.depth)
            within = profiles[parameters <= self.budget.max_parameters]
            if within.size:
                costs.append(int(self._multiply_adds(candidate, within).min()))
        return InvalidRequestError.single(
            "budget.max_multiply_adds",
            f"is {self.max_multiply_adds:,}: the practical net ({floor}) with the fewest "
            f"multiply-adds within max_parameters needs {min(costs):,} per input; raise it or "
            "lower budget.min_width",
        )

    def execute(self) -> SearchResult:
        """Score the trees in the anytime order, rank them, build the recommendations."""
        practical = self.budget.width_profile == "practical"
        if not practical:
            self.objective = self._free_objective()
        # A tree with no role (not recommendable, not a baseline) is ranked nowhere: a
        # practical search does not score it.
        visited = [c for c in self.candidates if _roles(c)] if practical else self.candidates
        queue = AnytimeQueue(visited, self.budget.seed) if practical else None
        order = iter(visited if queue is None else queue)
        self._work = {c.index: self._work_levels(c) for c in visited}
        meter = WorkMeter(list(self._work.values()))
        seen: dict[bytes, set[str]] = {}
        # The shallow net is the baseline of every rationale: always evaluated, never cut.
        started = self.clock.clock()
        self._visit(next(order), seen, None, meter, queue)
        self._reserve_final_time(self.clock.clock() - started)
        # The first report once the baseline is scored: also a search that its deadline (or a
        # machine too loaded to run it) cuts before the next tree reports how far it got.
        self._progress(meter)
        complete = queue is None or self._prefer_coherent(queue)
        for candidate in order if complete else ():
            if self.clock.stopped() or not self._visit(candidate, seen, self.clock, meter, queue):
                complete = False
                break
            self._progress(meter)
        if not complete:
            # Work was left, so never "100%" however the estimate rounds.
            done = meter.fraction(self._time_ahead(), self.clock.elapsed())
            self._share_done = min(done, _MOST_DONE)
        if practical:
            self.objective = self._practical_objective()
            self._rank()
        recommendations = self._recommendations(complete)
        complete = complete and len(recommendations) == len(self.board.top[self.offset :])
        end = self.offset + self.budget.top_k
        # A full board may have more designs ranked after it; a shorter one has none.
        token = next_page_token(self.task, self.budget, end) if len(self.board.top) == end else None
        return SearchResult(recommendations, self.scored, self.clock.elapsed(), complete, token)

    def _prefer_coherent(self, queue: AnytimeQueue) -> bool:
        """Give the families' first turns in the order their opening trees meet the relations.

        Reads the description's relations and each family's opening tree (kept for its
        scoring); nothing without relations. Return False when the deadline cut this.
        """
        try:
            if not self.relations(self.clock):
                return True
            figures: dict[str, float] = {}
            for lead in queue.leads():
                if self.clock.stopped():
                    return False
                tree = self._trees[lead.index] = self.space.tree(lead)
                figures[lead.family] = self._coherent(lead, tree)
        except StoppedError:
            return False
        queue.prefer(figures)
        return True

    def _visit(
        self,
        candidate: Candidate,
        seen: dict[bytes, set[str]],
        stop: StopSignal | None,
        meter: WorkMeter,
        queue: AnytimeQueue | None,
    ) -> bool:
        """Score one tree and record its cost (and its score, to steer ``queue``).

        Return False when ``stop`` cut it.
        """
        started = self.clock.clock()
        if queue is not None:
            try:
                self._score(candidate, stop)
            except StoppedError:
                return False
            for family, score in self._family_scores().items():
                queue.rate(family, score)
            finished = True
        else:
            finished = self._evaluate(candidate, seen, stop)
        meter.done(self._work[candidate.index], self.clock.clock() - started)
        return finished

    def _work_levels(self, candidate: Candidate) -> list[tuple[Hashable, int]]:
        """Name each level's prefix and count the nodes it pools (for :class:`WorkMeter`)."""
        nodes = self.task.input.num_locations
        levels: list[tuple[Hashable, int]] = []
        for level, pool in enumerate(candidate.pools):
            order = None if candidate.dilations is None else candidate.dilations[: level + 1]
            prefix = (
                candidate.family,
                candidate.variant,
                order,
                candidate.padding,
                candidate.pools[: level + 1],
            )
            levels.append((prefix, nodes))
            nodes //= math.prod(pool)
        return levels

    def _family_scores(self) -> dict[str, float]:
        """Each family's best tree so far, scored on the targets known now."""
        objective = self._practical_objective()
        return {
            family: float(objective.keys(*held)[:, 0].max())
            for family, held in self._family_best.items()
        }

    def _score(self, candidate: Candidate, stop: StopSignal | None = None) -> None:
        """Practical pass: build the tree's DAG and score its fitting profiles; raise the targets.

        The figures are kept for the ranking while they fit :data:`_KEPT_FIGURES_BYTES`, else
        the ranking computes them again from the DAG (its time is reserved on the clock).
        ``stop`` may cut the tree's build (:class:`~advisor.errors.StoppedError`).
        """
        tree = self._trees.pop(candidate.index, None) or self.space.tree(candidate)
        dag = self.builders[candidate.padding].build(*tree, stop=stop)
        # A recommendable tree's figure weighs in its score (the first reads the relations);
        # a baseline's, which its ranking weighs, is taken while its windows are at hand.
        read = candidate.eligible or self._relations is not None
        coherent = self._coherent(candidate, tree, stop) if read else 0.0
        profiles, parameters = self._contenders(candidate)
        started = self.clock.clock()
        figures = dag.log2_ranks(np.log2(profiles)) if profiles.size else None
        recompute = self.clock.clock() - started
        keep = figures is not None and self._kept_bytes + figures.nbytes <= _KEPT_FIGURES_BYTES
        if keep and figures is not None:
            self._kept_bytes += figures.nbytes
        self._visited.append(_Scored(candidate, dag, figures if keep else None))
        if figures is None:
            return
        self._points += self._fitting(candidate)[1].size  # the dominated ones settled by a bound
        if not candidate.eligible:
            return
        self._targets = np.maximum(self._targets, figures.max(axis=0))
        discarded = self._discarded(candidate)
        self._least_discarded = min(self._least_discarded, discarded)
        self._best_coherence = max(self._best_coherence, coherent)
        started = self.clock.clock()
        objective = self._practical_objective()
        best = float(objective.keys(figures, parameters, discarded, coherent)[:, 0].max())
        self._best_seen = max(self._best_seen, best)
        held = self._family_best.get(candidate.family)
        if held is None or best > objective.keys(*held)[:, 0].max():
            self._family_best[candidate.family] = (figures, parameters, discarded, coherent)
        self.clock.defer(self.clock.clock() - started + (0.0 if keep else recompute))

    def _rank(self) -> None:
        """Rank the scored trees, offered in the candidates' order (duplicates: the first kept)."""
        seen: dict[bytes, set[str]] = {}
        for scored in sorted(self._visited, key=lambda s: s.candidate.index):
            candidate, dag = scored.candidate, scored.dag
            roles = _roles(candidate)
            if roles <= seen.setdefault(dag.digest, set()):
                continue  # the same tree to the model as one evaluated for the same purposes
            seen[dag.digest] |= roles
            allocation = self._best_profile(candidate, dag, figures=scored.figures)
            if allocation is not None:
                self.board.offer(_Entry(candidate, allocation, dag, scored.figures))

    def _evaluate(
        self, candidate: Candidate, seen: dict[bytes, set[str]], stop: StopSignal | None
    ) -> bool:
        """Allocate a free search's widths of the tree and record it; False when ``stop`` cut it."""
        windows, keys = self.space.tree(candidate)
        dag = self.builders[candidate.padding].build(windows, keys)
        roles = _roles(candidate)
        if roles <= seen.setdefault(dag.digest, set()):
            return True  # the same tree to the model as one evaluated for the same purposes
        seen[dag.digest] |= roles
        outcome = allocate_widths(
            dag,
            self.objective,
            self.choices,
            self.model,
            self.budget.max_parameters,
            floor=self.board.floor_for(candidate, dag),
            stop=stop,
        )
        self.scored += outcome.points_scored
        if outcome.allocation is not None:
            self.board.offer(_Entry(candidate, outcome.allocation, dag))
        return outcome.complete

    def _fitting(self, candidate: Candidate, scale: float = 1.0) -> tuple[_Ints, _Ints]:
        """Return the candidate's practical profiles within the budget and their parameters.

        ``scale`` multiplies the parameter budget (the rationale prices a larger one).
        """
        key = (candidate.pools, scale)
        cached = self._profiles.get(key)
        if cached is None:
            profiles, parameters = self._ladders(candidate.depth)
            fits = self._fits(candidate, scale)
            cached = profiles[fits], parameters[fits]
            self._profiles[key] = cached
        return cached

    def _contenders(self, candidate: Candidate, scale: float = 1.0) -> tuple[_Ints, _Ints]:
        """Return the profiles of :meth:`_fitting` that can be the tree's best (the ones scored).

        Within the budget a profile another fitting one dominates can neither score higher nor
        win a tie, which goes to the larger share of the budget (module docstring of
        :mod:`advisor.search.profiles`): only the maximal ones stay. Above it (``scale`` over 1,
        the rationale's larger budget) every share is capped at 1 and ties go to fewer
        parameters, so every profile above the budget stays.
        """
        key = (candidate.pools, scale)
        cached = self._maximal.get(key)
        if cached is None:
            profiles, parameters = self._fitting(candidate, scale)
            within = parameters <= self.budget.max_parameters
            keep = ~within
            keep[within] = maximal(profiles[within])
            cached = profiles[keep], parameters[keep]
            self._maximal[key] = cached
        return cached

    def _fits(self, candidate: Candidate, scale: float) -> npt.NDArray[np.bool_]:
        """Mark the depth's practical profiles within ``scale`` times the budgets."""
        profiles, parameters = self._ladders(candidate.depth)
        fits: npt.NDArray[np.bool_] = parameters <= self.budget.max_parameters * scale
        if self.max_multiply_adds is not None:
            fits &= self._multiply_adds(candidate, profiles) <= self.max_multiply_adds
        return fits

    def _ladders(self, depth: int) -> tuple[_Ints, _Ints]:
        """Return every practical profile of a depth and its parameters (computed once)."""
        cached = self._depth_ladders.get(depth)
        if cached is None:
            profiles = practical_profiles(depth, self.rules)
            cached = profiles, self.model.count(profiles)
            self._depth_ladders[depth] = cached
        return cached

    def _multiply_adds(self, candidate: Candidate, profiles: _Ints) -> _Ints:
        locations = layer_locations(self.space.grid(candidate), candidate.pools, candidate.pools)
        return multiply_adds(
            profiles, locations, self.model.representation_weights, self.model.outputs
        )

    def standard_cnn(self) -> tuple[Candidate, int, tuple[int, ...]] | None:
        """Return the standard CNN at this budget: tree, multiply-adds and widths (M first).

        Contiguous pooling 2 per axis at every level below the top, as deep as the grid allows,
        ``M = r_0`` and widths doubling per level, the widest such ladder within the parameter
        budget. None when no such tree or ladder fits.
        """
        trees = [
            c
            for c in self.space.candidates
            if c.family == "contiguous" and all(set(pool) == {2} for pool in c.pools[:-1])
        ]
        if not trees:
            return None
        tree = max(trees, key=lambda c: c.depth)
        hidden = self.rules.hidden()
        best = None
        for base in hidden:
            widths = [base, *(base << level for level in range(tree.depth))]
            if int(self.model.count([widths])[0]) <= self.budget.max_parameters:
                best = widths
        if best is None:
            return None
        cost = int(self._multiply_adds(tree, np.asarray([best], dtype=np.int64))[0])
        return tree, cost, tuple(best)

    def _best_profile(
        self,
        candidate: Candidate,
        dag: SubtreeDag,
        scale: float = 1.0,
        figures: _Floats | None = None,
    ) -> Allocation | None:
        """Score the tree's contending profiles; return the best (widths.py's ties).

        ``figures`` are the contenders' figures when the scoring pass kept them.
        """
        profiles, parameters = self._contenders(candidate, scale)
        if profiles.size == 0:
            return None
        if figures is None:
            figures = dag.log2_ranks(np.log2(profiles))
        weighs = self.objective.best_coherence is not None
        keys = self.objective.keys(
            figures,
            parameters,
            self._discarded(candidate),
            self._coherent(candidate) if weighs else None,
        )
        # The ladders the contenders dominate are settled by that bound: evaluated too.
        self.scored += self._fitting(candidate, scale)[1].size
        top = best_point(keys, parameters, profiles)
        return Allocation(
            widths=tuple(int(w) for w in profiles[top]),
            keys=tuple(float(k) for k in keys[top]),
            parameters=int(parameters[top]),
            log2_ranks=tuple(float(f) for f in figures[top]),
        )

    def _discarded(self, candidate: Candidate) -> float:
        """Return the arrangement the candidate's tree discards, bits per location."""
        return discarded_order(self.space.grid(candidate), candidate.pools, candidate.pools)

    def _dimension_bounds(self) -> npt.NDArray[np.float64]:
        """Return each correlation's dimension bound at the largest channel choice (capped)."""
        return default_targets(
            [min(c.a_size, c.b_size) for c in self.correlations],
            self.choices[-1],
            self.budget.log2_rank_target,
        )

    def _free_objective(self) -> Objective:
        """Return a free search's objective: the dimension bound at the largest channel choice."""
        return Objective.create(
            self._dimension_bounds(), [c.weight for c in self.correlations], self.budget.objective
        )

    def _practical_objective(self) -> Objective:
        """Return a practical search's objective, on the targets of the trees scored so far.

        The target of a correlation is the best figure any recommendable tree scored reaches
        with a fitting profile, the reference arrangement the least any of them discards and
        the reference coherence the best any of them reaches (None without relations): once
        every tree is scored, a score of 1.0 means no practical net at this budget does better
        on any correlation, the whole budget is used, no tree keeps more of the input's
        arrangement and none meets the description's relations more alike or sooner
        (docs/THEORY.md §16, §18). Before any recommendable tree is scored (a search stopped
        that early returns a baseline) the targets are the dimension bounds, the most any net of
        the search space could reach, so a baseline does not score 1 against nothing.
        """
        if self._family_best:
            best = self._targets
            if self.budget.log2_rank_target is not None:
                best = np.minimum(best, self.budget.log2_rank_target)
            targets = np.maximum(best, _LEAST_TARGET)
        else:
            targets = self._dimension_bounds()
        return Objective.create(
            targets,
            [c.weight for c in self.correlations],
            self.budget.objective,
            max_parameters=self.budget.max_parameters,
            least_discarded=(
                self._least_discarded if math.isfinite(self._least_discarded) else None
            ),
            best_coherence=self._best_coherence or None,
        )

    def _scoring_pass(self) -> None:
        """Score every recommendable tree (no stop): the targets of :func:`search_objective`."""
        for candidate in self.candidates:
            if candidate.eligible:
                self._score(candidate)

    def _reserve_final_time(self, baseline: float) -> None:
        """Size the reserve from the shallow baseline's scoring time, ``baseline`` seconds.

        A build is predicted at :data:`_BUILD_PER_BASELINE` times it (the shallow net's, which
        :data:`_RESERVE_FACTOR` scales to a deep tree's, as a timed build was), without the
        pricing: a deadline may cut that, and its time is predicted apart
        (:meth:`_pricing_time`). The builds the search then makes are measured.
        """
        self.clock.measure(_BUILD_PER_BASELINE * baseline)
        self.clock.pricing = self._pricing_time()

    def _pricing_time(self) -> float:
        """Predict how long a recommendation's analysis prices the contiguous net (0: not priced).

        The shallow net's build barely prices anything, while on a small input pricing a deep
        tree is most of its build (some 200 runs of the recurrence): one run on the deepest
        recommendable tree's contiguous windows is timed (the faster of two), times
        :data:`~advisor.seprank.efficiency.TYPICAL_PRICING_RUNS`.
        """
        deepest = max((c for c in self.candidates if c.eligible), key=lambda c: c.depth)
        schedule = Schedule.trusted(self.space.grid(deepest), deepest.pools)
        if not is_priced(len(self.correlations), schedule):
            return 0.0
        structure = contiguous_structure(schedule)
        labels = self.space.labels(deepest.padding)
        # Fractional widths, as the pricing's: they take the float recurrence.
        widths = np.full((3, deepest.depth), math.log2(self.choices[-1]) - 0.5)
        runs = []
        for _ in range(2):  # the faster of two: the first pays for caches the pricing reuses
            started = self.clock.clock()
            log2_min_cut(structure, labels, widths, math.log2(self.choices[-1]))
            runs.append(self.clock.clock() - started)
        return TYPICAL_PRICING_RUNS * min(runs)

    def _progress(self, meter: WorkMeter) -> None:
        now = self.clock.elapsed()
        if self.report is None or now - self.last_report < _PROGRESS_INTERVAL:
            return
        self.last_report = now
        if self.budget.width_profile == "practical":
            # Provisional: the best score on the targets known when each tree was scored.
            scored, best = self._points, self._best_seen if self._best_seen > 0 else None
        else:
            scored = self.scored
            best = self.board.top[0].allocation.keys[0] if self.board.top else None
        self.report(SearchProgress(scored, now, best, meter.fraction(self._time_ahead(), now)))

    def _time_ahead(self) -> float:
        """Predict the time still to come after the trees: the ranking and the recommendations."""
        build = _DEEP_BUILD_FACTOR * self.clock.each + self.clock.pricing
        return self.clock.ranking + self.budget.top_k * build

    def _architecture(self, entry: _Entry) -> Architecture:
        return self.space.architecture(
            entry.candidate,
            entry.allocation.widths,
            outputs=self.outputs,
            representation_kernel=self.budget.representation_kernel,
        )

    def _recommendations(self, complete: bool) -> list[Recommendation]:
        """Build the page's recommendations in rank order while the deadline allows.

        The page's best is always built.
        """
        notes = self._notes(complete)
        recommendations = []
        # A search stopped before any recommendable tree was scored still answers: with the
        # best baseline it has (the rationale's note says the search was cut).
        baselines = [e for e in (self.board.contiguous, self.board.shallow) if e is not None]
        page = self.board.top[self.offset :] if self.board.top or self.offset else baselines[:1]
        for index, entry in enumerate(page):
            first = index == 0
            if not first and self.signal.remaining() < self.clock.time_to_start_another():
                break
            started = self.clock.clock()
            # The pricing stops early enough for the rest of this build and for the unpriced
            # builds of the others the reserve planned: whole designs come before the pricing.
            others = min(len(page) - index - 1, self.clock.others)
            pricing = _PricingTimer(self.signal, (1 + others) * self.clock.each)
            try:
                built = self._recommendation(
                    self.offset + 1 + index,
                    entry,
                    notes,
                    None if first else self.signal,
                    pricing,
                    complete,
                )
            except StoppedError:
                break
            # The reserve is made of builds without their pricing, which the deadline may cut.
            self.clock.measure(self.clock.clock() - started - pricing.seconds)
            recommendations.append(built)
        return recommendations

    def _recommendation(
        self,
        rank: int,
        entry: _Entry,
        notes: Sequence[str],
        stop: StopSignal | None,
        pricing: StopSignal,
        complete: bool,
    ) -> Recommendation:
        """Analyse one entry's architecture and explain it; ``stop`` may abandon the analysis.

        ``pricing`` may cut the pricing of the contiguous reference net (the costly part of a
        small analysis): a recommendation built near the deadline comes without it, on time.
        ``complete`` says whether every tree was scored (else the targets and the references
        are those of the trees scored before the stop, and the rationale says so).
        """
        shallow = self.board.shallow
        assert shallow is not None, "the shallow net fits (checked up front) and always runs"
        architecture, analysis = self._analysed(entry, stop, pricing)
        text = rationale(
            self._design(entry),
            contiguous=self._design(self.board.contiguous) if self.board.contiguous else None,
            shallow=self._design(shallow),
            objective=self.objective,
            names=self.names,
            max_parameters=self.budget.max_parameters,
            widenings=self._widenings(entry),
            standard_multiply_adds=self.standard[1] if self.standard else None,
            more_budget=self._more_budget(entry),
            more_budget_limit=self._wider_limit(entry),
            efficiency=analysis.efficiency,
            notes=notes,
            scope=self._scope(complete),
        )
        return Recommendation(
            rank=rank,
            score=entry.allocation.keys[0],
            parameters=entry.allocation.parameters,
            architecture=architecture,
            analysis=analysis.correlations,
            rationale=text,
            multiply_adds=architecture.multiply_adds,
            efficiency=analysis.efficiency,
            dilations=entry.candidate.dilations,
        )

    def _analysed(
        self, entry: _Entry, stop: StopSignal | None, pricing: StopSignal
    ) -> tuple[Architecture, Analysis]:
        """Return the entry's network and its analysis."""
        architecture = self._architecture(entry)
        return architecture, analyze(self.task, architecture, stop=stop, pricing_stop=pricing)

    def _scope(self, complete: bool) -> Scope:
        """Say what the targets are: every tree's best, the scored trees', or the bounds."""
        if complete:
            return "complete"
        return "stopped" if self._family_best else "bounds"

    def _widenings(self, entry: _Entry) -> list[Widening]:
        """Measure what one step up of each width does to the entry's binding correlation."""
        widths = list(entry.allocation.widths)
        binding = self.objective.binding(entry.allocation.log2_ranks)
        raised = []
        for position, width in enumerate(widths):
            larger = [c for c in self.choices if c > width]
            if larger:
                raised.append((position, [*widths[:position], larger[0], *widths[position + 1 :]]))
        if not raised:
            return []
        points = np.array([point for _, point in raised])
        figures = entry.dag.log2_ranks(np.log2(points))[:, binding]
        extra = self.model.count(points) - entry.allocation.parameters
        return [
            Widening(position, point[position], float(gain), int(cost))
            for (position, point), gain, cost in zip(
                raised, figures - entry.allocation.log2_ranks[binding], extra, strict=True
            )
        ]

    def _more_budget(self, entry: _Entry) -> Design | None:
        """Return the entry's tree at 10% more parameters (practical searches; None for free).

        The search scored the tree's contenders within the budget: when it kept their figures,
        only the profiles above the budget are scored here.
        """
        if self.budget.width_profile == "free":
            return None
        figures = None
        if entry.figures is not None:
            wider, parameters = self._contenders(entry.candidate, MORE_BUDGET)
            # Within the budget these are the contenders the search scored, in the same order.
            known = parameters <= self.budget.max_parameters
            figures = np.empty((known.size, entry.figures.shape[1]))
            figures[known] = entry.figures
            if not known.all():
                figures[~known] = entry.dag.log2_ranks(np.log2(wider[~known]))
        allocation = self._best_profile(entry.candidate, entry.dag, MORE_BUDGET, figures=figures)
        if allocation is None:
            return None
        return self._design(_Entry(entry.candidate, allocation, entry.dag))

    def _wider_limit(self, entry: _Entry) -> str:
        """Say why no wider ladder of the entry's tree is taken at 10% more budget, if none is."""
        chosen = entry.allocation.parameters
        _, parameters = self._ladders(entry.candidate.depth)
        if not (parameters > chosen).any():
            widest, representation = self.choices[-1], self.budget.max_representation
            return (
                "it is already the widest ladder of this tree the width limits allow (hidden "
                f"widths up to {widest:,}, M up to {representation:,} and at most the first "
                "hidden width)"
            )
        if not (parameters <= self.budget.max_parameters * MORE_BUDGET)[parameters > chosen].any():
            return "no wider ladder of this tree fits those parameters"
        # The ladders within both bounds, as the 10%-more design was searched among (cached).
        _, fitting = self._fitting(entry.candidate, MORE_BUDGET)
        if not (fitting > chosen).any():
            return (
                f"every wider ladder of this tree passes the compute bound of "
                f"{self.max_multiply_adds:,} multiply-adds per input (max_multiply_adds)"
            )
        return "the ladders of this tree with more parameters that fit score lower"

    def _design(self, entry: _Entry) -> Design:
        candidate = entry.candidate
        if candidate.family == "shallow":
            description = "one global pooling"
        else:
            detail = ""
            if candidate.dilations is not None:
                detail = f", dilations {', '.join(str(d) for d in candidate.dilations)}"
            elif candidate.variant is not None:
                detail = f", {candidate.variant.describe(self.names)}"
            elif candidate.family == "data_arranged":
                detail = ", contiguous on the data's arrangement"
            description = (
                f"{candidate.family} pooling ({candidate.schedule_text()}{detail})"
                f"{candidate.padding_text(self.task.input.shape)}"
            )
        return Design(
            description=description,
            widths=entry.allocation.widths,
            parameters=entry.allocation.parameters,
            log2_ranks=entry.allocation.log2_ranks,
            score=entry.allocation.keys[0],
            multiply_adds=int(
                self._multiply_adds(candidate, np.asarray([entry.allocation.widths]))[0]
            ),
            discarded=self._discarded(candidate),
            coherence=(
                self._coherent(candidate) if self.objective.best_coherence is not None else 0.0
            ),
        )

    def _notes(self, complete: bool) -> Sequence[str]:
        notes = []
        if not self.space.dilation_orders_complete:
            notes.append(
                "Dilation orders were sampled (seed "
                f"{self.budget.seed}), not all tried: there are too many for this length."
            )
        if not complete and not self.board.top:
            baseline = "the best contiguous net" if self.board.contiguous else "the shallow net"
            notes.append(
                f"The search was stopped after about {self._share_done:.0%} of its work, before "
                f"it scored any design it recommends: this is {baseline}, the reference the "
                "rationales compare against, not a searched design; a longer time limit lets "
                "the search score the candidate trees."
            )
        elif not complete:
            notes.append(
                f"The search was stopped early, after about {self._share_done:.0%} of its work; "
                "this is the best found so far."
            )
        if self.max_multiply_adds is None and self.budget.width_profile == "practical":
            notes.append(
                "No standard CNN (contiguous pooling, widths doubling per level from "
                f"{self.rules.hidden()[0]}) fits this budget, so the multiply-adds are not "
                "compared with one and no compute bound applies; max_multiply_adds sets one."
            )
        rival = self._tied_rival()
        if rival is not None:
            notes.append(self._tie_note(self.board.top[0], rival))
        return notes

    def _tied_rival(self) -> _Entry | None:
        """Return the best tree of another family that ties the #1's score keys exactly."""
        if not self.board.top:
            return None
        first, *rest = self.board.top
        for entry in rest:
            family = entry.candidate.family
            if family != first.candidate.family and entry.allocation.keys == first.allocation.keys:
                return entry
        return None

    def _tie_note(self, first: _Entry, rival: _Entry) -> str:
        """Say that the #1 and ``rival`` tie on the score, and what ranks the #1 first."""
        family, other = first.candidate.family, rival.candidate.family
        if first.allocation.parameters != rival.allocation.parameters:
            lead = "ranked first leads by needing fewer parameters"
        elif (soon := self._levels_apart(first.dag)) != (late := self._levels_apart(rival.dag)):
            lead = (
                "ranked first pools each correlation's two sides together sooner (a correlated "
                f"location passes {soon:.1f} pooling levels on average before its window holds "
                f"the other side, against {late:.1f}; trained nets reward it: docs/OUTCOMES.md, "
                "held-out tasks)"
            )
        else:
            lead = "ranked first leads only by the search's listing order"
        return (
            f"The best {family} and {other} trees tie on every figure of the score: this task's "
            "correlations reach the same ranks under both geometries, so the description does "
            f"not choose between them, and the one {lead}. If one is meant, say which locations "
            "pair: region pairs that only that geometry pools early."
        )


def search_objective(task: Task, budget: Budget) -> Objective:
    """Return the objective the search ranks candidates by, for this task and budget."""
    return _scoring_search(task, budget)[0]


def _scoring_search(task: Task, budget: Budget) -> tuple[Objective, list[Relation]]:
    """Return the search's objective and the description's relations it scores coherence on.

    No relations for a free search, whose objective does not weigh coherence.
    """
    search = _Search(task, _tree_budget(budget), StopSignal(), None)
    if budget.width_profile == "free":
        return search._free_objective(), []
    search._scoring_pass()
    return search._practical_objective(), search.relations()


def score_architecture(task: Task, budget: Budget, architecture: Architecture) -> float:
    """Return the score the search would give ``architecture`` for ``task`` under ``budget``.

    The same figure a :class:`~advisor.model.results.Recommendation` carries as ``score``, for
    any architecture on the task's grid (e.g. one a user or another tool proposes).
    """
    return score_architectures(task, budget, [architecture])[0]


def score_architectures(
    task: Task, budget: Budget, architectures: Sequence[Architecture]
) -> list[float]:
    """:func:`score_architecture` for many architectures, building the objective once."""
    objective, relations = _scoring_search(task, budget)
    scores = []
    for architecture in architectures:
        ranks = [c.log2_separation_rank for c in analyze(task, architecture).correlations]
        coherent = None
        if objective.best_coherence is not None:
            coherent = architecture_coherence(relations, architecture)
        keys = objective.keys(
            np.asarray(ranks), [architecture.parameters], architecture.discarded_order, coherent
        )
        scores.append(float(keys[0, 0]))
    return scores


def _largest_window(candidate: Candidate) -> int:
    """Return the locations of the candidate's largest pooling window."""
    return max(math.prod(pool) for pool in candidate.pools)


def _widest_step(candidate: Candidate) -> int:
    """Return the widest step, per axis, of the candidate's windows below the top (1: none)."""
    return max((max(pool) for pool in candidate.pools[:-1]), default=1)


def sample_architectures(
    task: Task, budget: Budget, count: int, seed: int = 0, min_share: float = 0.5
) -> list[Architecture]:
    """Draw ``count`` distinct random designs from the search's own space, reproducibly.

    Each draw is a recommendable tree (uniformly over the candidates) with a width vector the
    search would consider for it (uniformly over its practical profiles that fit the budget, or
    over the free choices that fit it), preferring those that spend at least ``min_share`` of
    the budget where the tree has any, so the draws are designs *at* this budget. This is the
    population a ranking is tested on: the
    trained-outcome benchmark compares the search's order with the trained order over such draws.
    Fewer than ``count`` come back when the space holds fewer distinct designs.
    """
    search = _Search(task, _tree_budget(budget), StopSignal(), None)
    rng = np.random.default_rng(seed)
    trees = [c for c in search.candidates if c.eligible]
    drawn: dict[tuple[int, tuple[int, ...]], Architecture] = {}
    for _ in range(count * _SAMPLE_TRIES):
        if len(drawn) == count:
            break
        candidate = trees[int(rng.integers(len(trees)))]
        if budget.width_profile == "practical":
            profiles, parameters = search._fitting(candidate)
        else:
            profiles = rng.choice(search.choices, size=(_SAMPLE_TRIES, candidate.depth + 1))
            parameters = search.model.count(profiles)
            fitting = parameters <= budget.max_parameters
            profiles, parameters = profiles[fitting], parameters[fitting]
        spending = parameters >= min_share * budget.max_parameters
        if spending.any():
            profiles = profiles[spending]
        if profiles.size == 0:
            continue
        chosen = tuple(int(w) for w in profiles[int(rng.integers(len(profiles)))])
        drawn.setdefault(
            (candidate.index, chosen),
            search.space.architecture(
                candidate,
                chosen,
                outputs=search.outputs,
                representation_kernel=budget.representation_kernel,
            ),
        )
    return list(drawn.values())


def _bounded(
    candidates: Sequence[Candidate], measure: Callable[[Candidate], int], bound: int | None
) -> tuple[Candidate, ...]:
    """Mark the trees whose ``measure`` exceeds ``bound`` not recommendable (still evaluated).

    When no tree meets the bound (an awkward grid), the bound becomes the least ``measure`` any
    tree has, so the search never falls back to nothing.
    """
    sizes = [measure(c) for c in candidates if c.eligible]
    if bound is None or not sizes:
        return tuple(candidates)
    least = max(bound, min(sizes))
    return tuple(
        dataclasses.replace(c, eligible=False) if c.eligible and measure(c) > least else c
        for c in candidates
    )


def _roles(candidate: Candidate) -> set[str]:
    """Name what a candidate is evaluated for: recommendation, contiguous or shallow baseline."""
    roles = {"recommend"} if candidate.eligible else set()
    if candidate.family in ("contiguous", "shallow"):
        roles.add(candidate.family)
    return roles
