"""The advisor: ranked architecture recommendations for a task under a parameter budget.

:func:`recommend` walks the candidate trees of :mod:`advisor.search.candidates` (window schedules
times geometry families, synthesized ones on request), chooses the widths of each under the
budget, and keeps the best ``top_k`` *distinct trees* — never several width variants of one. A
*practical* search (the default) scores every width ladder of :mod:`advisor.search.profiles`
that fits the parameter and compute budgets (:mod:`advisor.search.ladders`), on trees whose
windows stay within ``max_window`` (and ``max_step``); a *free* search allocates any widths from
the choices optimally (:mod:`advisor.search.widths`). Both evaluate on the shared-subtree DP of
:mod:`advisor.search.subtree_dag`. The search runs in :mod:`advisor.search.run` (the anytime
order, the ranking), scores against :mod:`advisor.search.targets`, plans its time on
:mod:`advisor.search.clock`, keeps its standings on :mod:`advisor.search.board`, refuses what it
cannot serve in :mod:`advisor.search.checks`, and builds its page of recommendations in
:mod:`advisor.search.page`; mixtures of its best trees are added afterwards on request
(:mod:`advisor.search.mixtures`).

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

**Time.** ``budget.time_limit_seconds`` and the caller's stop signal (a call's deadline, its
cancellation, a server's shutdown) stop the search early enough to build its best
recommendation before the deadline; it then returns the best found so far with ``complete =
False`` (:mod:`advisor.search.clock`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from advisor.errors import StoppedError
from advisor.model.architecture import Architecture
from advisor.model.arguments import require_callback, require_instance
from advisor.model.budget import Budget
from advisor.model.results import SearchProgress, SearchResult
from advisor.model.task import Task
from advisor.search.draws import SpaceDraws
from advisor.search.ladders import MIN_SHARE
from advisor.search.mixtures import (
    MIXTURE_TIME_SHARE,
    TREES_PROGRESS,
    tree_budget,
    with_mixtures,
)
from advisor.search.notes import search_notes
from advisor.search.objective import Objective
from advisor.search.page import (
    families_searched,
    leaders,
    relations_read,
    require_whole_ranking,
    result_page,
    targets_scope,
    unbuilt,
)
from advisor.search.paging import page_offset
from advisor.search.run import SearchRun
from advisor.search.scoring import DesignScorer
from advisor.stopping import StopSignal

__all__ = [
    "recommend",
    "sample_architectures",
    "score_architecture",
    "score_architectures",
    "search_objective",
]


def recommend(
    task: Task,
    budget: Budget,
    *,
    stop: StopSignal | None = None,
    progress: Callable[[SearchProgress], object] | None = None,
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
        ``budget.geometries`` when they leave nothing to search for this input; on ``task``,
        ``budget``, ``stop`` or ``progress`` when it is not what it must be (a task's mapping,
        say: :func:`~advisor.model.task.parse_task` reads it).
    """
    require_instance(task, Task, "task")
    require_instance(budget, Budget, "budget")
    if stop is not None:
        require_instance(stop, StopSignal, "stop")
    require_callback(progress, "progress")
    offset = page_offset(task, budget)
    caller = stop or StopSignal()
    signal = caller.limited(budget.time_limit_seconds)
    if "mixture" not in budget.families():
        run = SearchRun(task, budget, signal, progress, offset)
        complete = run.execute()
        if not complete:
            require_whole_ranking(signal, caller, offset)
        return result_page(run, complete)
    # The trees ranked down to this page's end, from the first: their mixtures rank among them.
    # The tree search leaves a share of the time to pair its trees and analyse the mixtures.
    trees = signal.share(1.0 - MIXTURE_TIME_SHARE)
    run = SearchRun(
        task,
        tree_budget(budget, offset),
        trees,
        progress,
        progress_share=TREES_PROGRESS,
        named=budget.geometries,
    )
    complete = run.execute()
    if not complete:
        require_whole_ranking(signal, caller, offset)
    result = result_page(run, complete, note_unbuilt=False)
    # The relations the trees' coherence was read on, where the objective weighs it.
    relations = run.relations() if run.objective.best_coherence is not None else []
    return with_mixtures(
        task,
        budget,
        result,
        run.objective,
        relations,
        signal,
        offset,
        caller=caller,
        scope=targets_scope(run, complete),
        reading=relations_read(run),
        searched=families_searched(run),
        leaders=leaders(run),
        notes=search_notes(run),
        max_multiply_adds=run.ladders.max_multiply_adds,
        build_seconds=run.clock.each + run.clock.pricing,
        unbuilt=unbuilt(run, result),
        progress=run.report_after,
    )


def search_objective(task: Task, budget: Budget) -> Objective:
    """Return the objective the search ranks candidates by, for this task and budget."""
    return DesignScorer(task, budget).objective


def score_architecture(task: Task, budget: Budget, architecture: Architecture) -> float:
    """Return the score the search would give ``architecture`` for ``task`` under ``budget``.

    The same figure a :class:`~advisor.model.results.Recommendation` carries as ``score``, for
    any architecture on the task's grid (e.g. one a user or another tool proposes).
    """
    return score_architectures(task, budget, [architecture])[0]


def score_architectures(
    task: Task,
    budget: Budget,
    architectures: Sequence[Architecture],
    stop: StopSignal | None = None,
) -> list[float]:
    """:func:`score_architecture` for many architectures, building the objective once.

    ``stop`` is polled while the objective is built and before each architecture
    (:class:`~advisor.errors.StoppedError`); a caller that must keep the scores computed
    before a stop uses :class:`~advisor.search.scoring.DesignScorer` itself.
    """
    scorer = DesignScorer(task, budget, stop)
    scores = []
    for architecture in architectures:
        if stop is not None and stop.stopped():
            raise StoppedError("the scoring was stopped")
        scores.append(scorer.score(architecture))
    return scores


def sample_architectures(
    task: Task, budget: Budget, count: int, seed: int = 0, min_share: float = MIN_SHARE
) -> list[Architecture]:
    """Draw ``count`` distinct random designs from the search's own space, reproducibly.

    Each is a recommendable tree with a width vector the search would consider for it,
    preferring those that spend at least ``min_share`` of the budget, so the draws are designs
    *at* this budget (:mod:`advisor.search.draws` says how, from ``seed``). This is the
    population a ranking is tested on: the trained-outcome benchmark compares the search's order
    with the trained order over such draws. Fewer than ``count`` come back when the space holds
    fewer distinct designs. A caller that must stop the draws, or continue them to a larger
    count, uses :class:`~advisor.search.draws.SpaceDraws` itself.
    """
    draws = SpaceDraws(task, budget, seed, min_share)
    return [draws.architecture(index) for index in range(draws.draw(count))]
