"""One run of the search: every candidate tree scored, in the anytime order, then ranked.

A :class:`SearchRun` sets a search up (its candidate space, its width ladders, the refusals of
:mod:`advisor.search.checks`), scores the trees and ranks them on its :class:`Board`; the page of
recommendations is built from it afterwards (:mod:`advisor.search.page`).

**Practical searches** score each tree once, in the order of
:class:`~advisor.search.anytime.AnytimeQueue` (the shallow baseline, then one tree of every
family, the family whose opening tree best meets the description's relations first, then the
families whose trees scored best so far first), raising the targets as they go; they keep each
tree's figures (or its DAG, past :data:`_KEPT_FIGURES_BYTES`) and rank them once the pass ends or
is stopped, in the candidates' own order, so the order changes nothing a full search returns and
a stopped one ranks what it scored on the targets it saw. Progress reports the fraction of the
work done (:class:`~advisor.search.anytime.WorkMeter`). **Free searches** visit the candidates in
their own order and allocate widths by branch and bound (:mod:`advisor.search.widths`), which
needs its objective up front. The clock (:mod:`advisor.search.clock`) says when to stop.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.errors import StoppedError
from advisor.model.arrangement import discarded_order
from advisor.model.budget import Budget
from advisor.model.parameters import ParameterModel
from advisor.model.results import SearchProgress
from advisor.model.schedule import Schedule
from advisor.model.task import Task
from advisor.search.anytime import AnytimeQueue, WorkMeter
from advisor.search.board import Board, Entry, Scored
from advisor.search.candidates import (
    Candidate,
    CandidateSpace,
    deepest_schedule,
)
from advisor.search.checks import (
    check_bounds,
    check_families,
    check_kernel,
    check_space,
    held_bounds,
    within_bounds,
)
from advisor.search.clock import SearchClock
from advisor.search.coherence import (
    Relation,
    TreeCoherence,
    description_relations,
    explained_share,
)
from advisor.search.ladders import Ladders
from advisor.search.meeting import levels_apart
from advisor.search.objective import Objective
from advisor.search.profiles import ProfileRules
from advisor.search.subtree_dag import SubtreeDag, SubtreeDagBuilder
from advisor.search.synthesis import synthesis_variants
from advisor.search.targets import Targets
from advisor.search.widths import Allocation, allocate_widths, best_point
from advisor.seprank.efficiency import TYPICAL_PRICING_RUNS, contiguous_structure, is_priced
from advisor.seprank.labels import correlation_labels
from advisor.seprank.tree import log2_min_cut
from advisor.stopping import StopSignal

__all__ = ["SearchRun"]

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]
_Pools = tuple[tuple[int, ...], ...]
"""A tree's windows, bottom-up."""
_Tree = tuple[tuple[npt.NDArray[np.intp], ...], list[Hashable]]
"""A tree's windows per level and the keys naming its levels' prefixes."""

_KEPT_FIGURES_BYTES: Final = 64 * 2**20
"""The practical pass keeps the figures of the trees it scores up to this size for the ranking;
past it, the ranking computes them again from the DAGs (a task with thousands of correlations)."""

_APART_DECIMALS: Final = 12
"""Decimals of the levels-apart tie key: a count under ``depth`` summed in another order differs
in its last bits (about 1e-15), far below this."""

_PROGRESS_INTERVAL: Final = 0.25
"""Seconds between two progress reports at least."""

_MOST_DONE: Final = 0.99
"""The largest share of its work a stopped search's note reports (it had work left), and a
progress event (the result is still to come)."""


class SearchRun:
    """One search of ``task`` within ``budget``: set up, then :meth:`execute` scores and ranks.

    ``offset`` is the rank before the page's first (paging); the board keeps that many more.
    Refuses a request its space cannot serve on construction (:mod:`advisor.search.checks`);
    ``named`` is the request's geometries when ``budget`` is its tree budget
    (:func:`~advisor.search.mixtures.tree_budget`), so a refusal names the family the user wrote.
    """

    def __init__(
        self,
        task: Task,
        budget: Budget,
        signal: StopSignal,
        progress: Callable[[SearchProgress], object] | None,
        offset: int = 0,
        *,
        progress_share: float = 1.0,
        named: Sequence[str] | None = None,
    ) -> None:
        self.task, self.budget, self.signal = task, budget, signal
        self.offset = offset
        # The share of the search's progress the run's own work spans: the rest is reported
        # by the work after it (a mixture pass, report_after).
        self.progress_share = progress_share
        self.clock = SearchClock(signal, budget.top_k)
        self.report = progress
        self.correlations = task.resolved()
        self.names = [c.name for c in self.correlations]
        spec = task.input
        self.choices = budget.choices()
        self.outputs = budget.outputs_for(task.outputs)
        self.model = ParameterModel.for_input(spec, budget.representation_kernel, self.outputs)
        check_kernel(task, budget, self.model)
        labels = correlation_labels(self.correlations, spec.num_locations)
        allowed = budget.families()
        self.depths = (budget.min_depth or 1, budget.max_depth or deepest_schedule(spec))
        self.space = CandidateSpace(
            spec,
            *self.depths,
            allowed,
            dilations=budget.search_dilations,
            labels=labels,
            variants=synthesis_variants([c.weight for c in self.correlations]),
            seed=budget.seed,
            arrangement=task.arrangement,
        )
        self.candidates = self.space.candidates
        check_families(task, budget, self.candidates, named)
        # One labelling per grid a candidate pools; a padded margin is free to the min-cut.
        self.builders = {
            padding: SubtreeDagBuilder(self.space.labels(padding))
            for padding in self.space.paddings
        }
        unbounded = self.candidates
        self.window_bounds: dict[str, int | None] = {}
        """The window bounds the recommendable trees are held to (:func:`held_bounds`; none for
        free widths)."""
        if budget.width_profile == "practical":
            check_bounds(task, budget, self.candidates)
            self.window_bounds = held_bounds(self.candidates, budget)
            self.candidates = _bounded(self.candidates, self.window_bounds)
        rules = ProfileRules.for_budget(budget, self.outputs)
        self.ladders = Ladders(self.space, self.model, rules, budget)
        self._eligible_contiguous = any(
            c.eligible and c.family == "contiguous" for c in self.candidates
        )
        check_space(task, budget, self.candidates, self.ladders, unbounded)
        # Built by execute(): its targets need a pass over every tree, which only a search (or
        # search_objective) uses, not a caller that only samples the space.
        self.objective: Objective
        # One design past the page's end: the next page's token is written only when it exists.
        self.board = Board(offset + budget.top_k + 1)
        self._apart: dict[bytes, float] = {}
        self._coherence: dict[int, float] = {}
        self._relations: list[Relation] | None = None
        self._relation_share = 1.0  # of the weights the relations explain, once they are read
        self._meter: TreeCoherence | None = None
        self._trees: dict[int, _Tree] = {}  # opening trees built before their scoring
        self.scored = 0
        self.last_report = -math.inf
        self.last_fraction = 0.0
        # The practical scoring pass: the trees scored, the targets so far, the points scored,
        # the best provisional score and each family's best tree (which steers the order).
        self.visited: list[Scored] = []
        self.targets = Targets(self.correlations, budget, max(rules.representations()))
        self._kept_bytes = 0
        self._best_seen = -math.inf
        self._family_best: dict[str, tuple[_Floats, npt.NDArray[np.int64], float, float]] = {}
        self._work: dict[int, list[tuple[Hashable, int]]] = {}
        self.share_done = 1.0  # of the work, predicted when a stop cut the trees

    def admits(self, candidate: Candidate) -> bool:
        """Return whether the budget's depth bounds, and the window bounds it states, admit it.

        The shallow baseline is scored whatever the bounds (every rationale compares with it),
        so it may lie outside them. A ``max_window`` or ``max_step`` the caller set binds as the
        depth bounds do (left at its default, the window bound gives way, as it does where no
        tree meets it): a search stopped before any tree returned the shallow net's global
        window of 4,096 locations to a request for windows of at most 4.
        """
        low, high = self.depths
        if not low <= candidate.depth <= high:
            return False
        stated = {field: getattr(self.budget, field) for field in self.budget.stated_bounds()}
        return within_bounds(candidate.pools, stated)

    def recommendable(self, candidate: Candidate) -> bool:
        """Return whether the search recommends a tree of ``candidate``'s depth and windows.

        As :meth:`admits`, with the window bounds as a practical search holds its recommendable
        trees to them (:attr:`window_bounds`): a default binds too, widened to the least window
        any tree the stated bounds leave has where none meets it. The family is not read. The
        AutoML integrations' space offers these trees (:mod:`advisor.integrations.space`).
        """
        low, high = self.depths
        return low <= candidate.depth <= high and within_bounds(candidate.pools, self.window_bounds)

    def tie_key(self, candidate: Candidate, dag: SubtreeDag) -> tuple[float, ...]:
        """Return what ranks a tree among exact ties, smaller first (a :data:`~.board.TieKey`)."""
        return (self.levels_apart(dag),)

    def coherent(
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
            relations = description_relations(self.correlations, shape, stop)
            self._relation_share = explained_share(relations) if relations else 1.0
            self._relations = relations
        return self._relations

    def levels_apart(self, dag: SubtreeDag) -> float:
        """Return how many levels a tree's correlated locations pass before meeting.

        Memoised per DAG: the tie-break after :meth:`coherent` (:mod:`advisor.search.meeting`).
        Rounded to :data:`_APART_DECIMALS`: summed over another tree's subtree types the same
        count differs in its last bit (3.2 against 3.2000000000000006, two dilation orders of
        16 steps), which ranked equal trees by rounding noise, and the tie note said the first
        met sooner, "3.200000 against 3.200000".
        """
        found = self._apart.get(dag.digest)
        if found is None:
            figure = levels_apart(dag, self.objective.weights)
            found = self._apart[dag.digest] = round(figure, _APART_DECIMALS)
        return found

    def roles(self, candidate: Candidate) -> set[str]:
        """Name what ``candidate`` is evaluated for (:func:`_roles`); empty: not evaluated."""
        return _roles(candidate, self._eligible_contiguous)

    def execute(self) -> bool:
        """Score the trees in the anytime order and rank them; return whether every one was."""
        practical = self.budget.width_profile == "practical"
        if not practical:
            self.objective = self.free_objective()
        # A tree with no role (not recommendable, not a baseline) is ranked nowhere: a
        # practical search does not score it.
        visited = [c for c in self.candidates if self.roles(c)] if practical else self.candidates
        queue = AnytimeQueue(visited, self.budget.seed) if practical else None
        order = iter(visited if queue is None else queue)
        self._work = {c.index: self.work_levels(c) for c in visited}
        meter = WorkMeter(list(self._work.values()), [c.family for c in visited])
        seen: dict[bytes, set[str]] = {}
        # The shallow net is the baseline of every rationale: always evaluated, never cut.
        started = self.clock.clock()
        self._visit(next(order), seen, None, meter, queue)
        self.clock.predict(self.clock.clock() - started, self._pricing_time())
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
            done = meter.fraction(self.clock.time_ahead(), self.clock.elapsed())
            self.share_done = min(done, _MOST_DONE)
        if practical:
            self.objective = self.practical_objective()
            self._rank()
        return complete

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
                figures[lead.family] = self.coherent(lead, tree)
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
                self.score(candidate, stop)
            except StoppedError:
                return False
            for family, score in self._family_scores().items():
                queue.rate(family, score)
            finished = True
        else:
            finished = self._evaluate(candidate, seen, stop)
        meter.done(self._work[candidate.index], self.clock.clock() - started, candidate.family)
        return finished

    def work_levels(self, candidate: Candidate) -> list[tuple[Hashable, int]]:
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
        objective = self.practical_objective()
        return {
            family: float(objective.keys(*held)[:, 0].max())
            for family, held in self._family_best.items()
        }

    def score(self, candidate: Candidate, stop: StopSignal | None = None) -> None:
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
        coherent = self.coherent(candidate, tree, stop) if read else 0.0
        profiles, parameters = self.ladders.contenders(candidate)
        started = self.clock.clock()
        figures = dag.log2_ranks(np.log2(profiles)) if profiles.size else None
        recompute = self.clock.clock() - started
        keep = figures is not None and self._kept_bytes + figures.nbytes <= _KEPT_FIGURES_BYTES
        if keep and figures is not None:
            self._kept_bytes += figures.nbytes
        self.visited.append(Scored(candidate, dag, figures if keep else None))
        if figures is None:
            return
        # The ladders the contenders dominate are settled by a bound: counted too.
        self.scored += self.ladders.fitting(candidate)[1].size
        if not candidate.eligible:
            return
        discarded = self.discarded(candidate)
        self.targets.raise_to(candidate, figures.max(axis=0), discarded, coherent)
        started = self.clock.clock()
        objective = self.practical_objective()
        best = float(objective.keys(figures, parameters, discarded, coherent)[:, 0].max())
        self._best_seen = max(self._best_seen, best)
        held = self._family_best.get(candidate.family)
        if held is None or best > objective.keys(*held)[:, 0].max():
            self._family_best[candidate.family] = (figures, parameters, discarded, coherent)
        self.clock.defer(self.clock.clock() - started + (0.0 if keep else recompute))

    def _rank(self) -> None:
        """Rank the scored trees, offered in the candidates' order.

        Of the trees of one DAG (the same ranks at every width profile), one is ranked for each
        purpose: the one the arrangement and coherence factors of the score put first (the
        first in the candidates' order among equals). Keeping the first regardless dropped the
        better-scoring tree where those factors differ (a mirror and an interleaved tree of the
        same windows meet a description's relations differently); keeping every one would list
        trees the model cannot tell apart, every dilation order of one DAG among them.
        """
        ordered = sorted(self.visited, key=lambda s: s.candidate.index)
        factors = {s.candidate.index: self.tree_factor(s.candidate) for s in ordered}
        seen: dict[bytes, set[str]] = {}
        kept: set[int] = set()
        for scored in sorted(ordered, key=lambda s: -factors[s.candidate.index]):
            roles = self.roles(scored.candidate)
            if not roles <= seen.setdefault(scored.dag.digest, set()):
                seen[scored.dag.digest] |= roles
                kept.add(scored.candidate.index)
        for scored in ordered:
            if scored.candidate.index not in kept:
                continue
            candidate, dag = scored.candidate, scored.dag
            allocation = self.best_profile(candidate, dag, figures=scored.figures)
            if allocation is not None:
                self.board.offer(Entry(candidate, allocation, dag, scored.figures), self.tie_key)

    def _evaluate(
        self, candidate: Candidate, seen: dict[bytes, set[str]], stop: StopSignal | None
    ) -> bool:
        """Allocate a free search's widths of the tree and record it; False when ``stop`` cut it."""
        windows, keys = self.space.tree(candidate)
        dag = self.builders[candidate.padding].build(windows, keys)
        roles = self.roles(candidate)
        if roles <= seen.setdefault(dag.digest, set()):
            return True  # the same tree to the model as one evaluated for the same purposes
        seen[dag.digest] |= roles
        outcome = allocate_widths(
            dag,
            self.objective,
            self.choices,
            self.model,
            self.budget.max_parameters,
            floor=self.board.floor_for(candidate, dag, self.tie_key),
            stop=stop,
        )
        self.scored += outcome.points_scored
        if outcome.allocation is not None:
            self.board.offer(Entry(candidate, outcome.allocation, dag), self.tie_key)
        return outcome.complete

    def tree_factor(self, candidate: Candidate) -> float:
        """Return the share of the tree's score its arrangement and coherence leave (1: none)."""
        weighs = self.objective.best_coherence is not None
        coherence = self.coherent(candidate) if weighs else None
        return float(self.objective.tree_factor(self.discarded(candidate), coherence)[0, 0])

    def best_profile(
        self,
        candidate: Candidate,
        dag: SubtreeDag,
        scale: float = 1.0,
        figures: _Floats | None = None,
    ) -> Allocation | None:
        """Score the tree's contending profiles; return the best (widths.py's ties).

        ``scale`` times the budget bounds the profiles and breaks the ties between equal scores
        (:meth:`~advisor.search.objective.Objective.at_budget`). ``figures`` are the
        contenders' figures when the scoring pass kept them.
        """
        profiles, parameters = self.ladders.contenders(candidate, scale)
        if profiles.size == 0:
            return None
        if figures is None:
            figures = dag.log2_ranks(np.log2(profiles))
        keys = self.profile_keys(candidate, figures, parameters, scale)
        # Not counted: the scoring pass counted the tree's ladders within the budget
        # (:meth:`score`), and a larger budget's are the rationale's what-if, which each page
        # prices for its own designs (a count that varied from page to page of one search).
        top = best_point(keys, parameters, profiles)
        return Allocation(
            widths=tuple(int(w) for w in profiles[top]),
            keys=tuple(float(k) for k in keys[top]),
            parameters=int(parameters[top]),
            log2_ranks=tuple(float(f) for f in figures[top]),
        )

    def profile_keys(
        self, candidate: Candidate, figures: _Floats, parameters: _Ints, scale: float = 1.0
    ) -> _Floats:
        """Return the score keys of the tree's width profiles of these figures and parameters.

        ``scale`` times the budget breaks the ties between equal scores, as in
        :meth:`best_profile`.
        """
        objective = self.objective.at_budget(scale)
        weighs = objective.best_coherence is not None
        return objective.keys(
            figures,
            parameters,
            self.discarded(candidate),
            self.coherent(candidate) if weighs else None,
        )

    def discarded(self, candidate: Candidate) -> float:
        """Return the arrangement the candidate's tree discards, bits per location."""
        return discarded_order(self.space.grid(candidate), candidate.pools, candidate.pools)

    def free_objective(self) -> Objective:
        """Return a free search's objective (:class:`~advisor.search.targets.Targets`)."""
        return self.targets.free_objective()

    def practical_objective(self) -> Objective:
        """Return a practical search's objective on the trees scored so far (its targets).

        Its coherence weighs the share of the weights the relations explain, once they are read
        (before, no tree's coherence is weighed).
        """
        return self.targets.practical_objective(self._relation_share)

    def scoring_pass(self, stop: StopSignal | None = None) -> None:
        """Score every recommendable tree: the targets of the full search's objective.

        (:class:`~advisor.search.scoring.DesignScorer`.) ``stop`` is polled before each tree
        and inside its build (:class:`~advisor.errors.StoppedError`).
        """
        for candidate in self.candidates:
            if candidate.eligible:
                if stop is not None and stop.stopped():
                    raise StoppedError("the scoring pass was stopped")
                self.score(candidate, stop)

    def _pricing_time(self) -> float:
        """Predict how long a recommendation's analysis prices the contiguous net (0: not priced).

        The shallow net's build barely prices anything, while on a small input pricing a deep
        tree is most of its build (some 20 runs of the recurrence): one run on the deepest
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
        """Report the work done while the trees are scored (at most every 0.25 s)."""
        if self._due():
            now = self.clock.elapsed()
            self._emit(now, meter.fraction(self.clock.time_ahead(), now))

    def report_built(self, left: int) -> None:
        """Report the work done once a recommendation is built, ``left`` more to build.

        The builds of a large input are most of its search (five of 0.4-0.6 s after 1.6 s of
        scoring on 16,384 locations): each left is predicted at the longest build measured and
        the pricing predicted, as the reserve does.
        """
        if self._due():
            now = self.clock.elapsed()
            ahead = left * (self.clock.each + self.clock.pricing)
            self._emit(now, now / (now + ahead) if now + ahead > 0 else 1.0)

    def report_after(self, done: float) -> None:
        """Report the work after the run's own (a mixture pass's pairing), ``done`` of it done.

        That work spans the share of the progress the run's own leaves (``progress_share``).
        """
        if self._due():
            share = self.progress_share
            self._send(self.clock.elapsed(), share + (1.0 - share) * done)

    def _due(self) -> bool:
        return self.report is not None and (
            self.clock.elapsed() - self.last_report >= _PROGRESS_INTERVAL
        )

    def _emit(self, now: float, fraction: float) -> None:
        """Send one progress event, ``fraction`` of the run's own work done."""
        self._send(now, self.progress_share * fraction)

    def _send(self, now: float, fraction: float) -> None:
        """Send one progress event; the fraction never goes back (an estimate may)."""
        assert self.report is not None
        self.last_report = now
        self.last_fraction = max(self.last_fraction, min(fraction, _MOST_DONE))
        if self.budget.width_profile == "practical":
            # Provisional: the best score on the targets known when each tree was scored.
            best = self._best_seen if self._best_seen > 0 else None
        else:
            best = self.board.top[0].allocation.keys[0] if self.board.top else None
        self.report(SearchProgress(self.scored, now, best, self.last_fraction))


def _roles(candidate: Candidate, eligible_contiguous: bool) -> set[str]:
    """Name what a candidate is evaluated for: recommendation, contiguous or shallow baseline.

    The contiguous baseline, the best contiguous net every rationale compares against, is one
    the search could recommend (within the depth, window and step bounds) wherever some
    contiguous tree is (``eligible_contiguous``): a reference with a 25-location global window
    outscored every contiguous design a default search returns on 15x15, which was confusing.
    """
    roles = {"recommend"} if candidate.eligible else set()
    if candidate.family == "shallow" or (
        candidate.family == "contiguous" and (candidate.eligible or not eligible_contiguous)
    ):
        roles.add(candidate.family)
    return roles


def _bounded(
    candidates: Sequence[Candidate], bounds: dict[str, int | None]
) -> tuple[Candidate, ...]:
    """Mark the trees past ``bounds`` (:func:`held_bounds`) not recommendable (still evaluated)."""
    return tuple(
        dataclasses.replace(c, eligible=False)
        if c.eligible and not within_bounds(c.pools, bounds)
        else c
        for c in candidates
    )
