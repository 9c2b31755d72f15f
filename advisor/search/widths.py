"""Width allocation under a parameter budget: the best channel counts for one pooling tree.

**Problem.** For a pooling tree of ``L`` levels choose ``w = (M, r_0, ..., r_{L-1})``, each from
the channel choices, so that ``parameters(w) <= max_parameters`` and the objective's score tuple
of the correlations' figures is largest; ties go to fewer parameters, then to the smaller ``w``
in lexicographic order (so the answer is unique and reproducible).

**Structure used** (docs/THEORY.md §6). Every figure is nondecreasing in every width (the
recurrence only adds and takes minima of nondecreasing terms), and the figures of the nodes at
height ``h`` depend on ``M, r_0, ..., r_{h-1}`` alone. The parameter count
(:class:`~advisor.model.parameters.ParameterModel`) is increasing in every width and couples
only neighbours, so once
``w_0..w_j`` are fixed the rest of the count depends on ``w_j`` alone. (For the plain min-cut the
figure is moreover a minimum of linear functions of ``log2 w``; the reported figure also charges
weight sharing, which is not linear, so the method below uses monotonicity only.)

**Method: exact branch and bound over the lattice of choices**, widths assigned bottom-up (M
first), carrying for every partial assignment the recurrence's values at the height it has
reached (:class:`advisor.search.subtree_dag.DpValues`).

- *Cost bound*: the unassigned widths at the smallest choice; over the budget, the branch dies.
- *Score bound*: every unassigned width at its *cap*, the largest choice the budget allows with
  the other unassigned widths at the smallest (valid by monotonicity). A branch whose bound cannot
  beat the incumbent dies.
- *Incumbents*: every partial assignment completed two ways, the rest at the smallest choice and
  the rest at the largest common choice that fits — exact figures, so real candidates.
- *Dominance*: two partial assignments ending with the same width face the same rest of the
  budget. If one is no more expensive and its values at every type are at least the other's
  *clipped at* ``K_t`` (the largest, over the correlations whose tree holds type ``t``, of
  ``min(target, the other's bound on that correlation)``), then every completion of it scores at
  least as well, and the other dies. The recurrence only adds and takes minima, so
  ``R(min(f, K)) >= min(R(f), K)``; the values above also depend on the pure-subtree dimension
  ``D``, but only through pure subtrees, whose value in the other state is ``log2 D`` itself and
  is compared with the rest (a ``G(m)`` from ``D >= 2^K`` is at least ``K`` too).

Nothing here enumerates the lattice; a test checks the result against full enumeration on small
spaces. A *floor* (the best allocation found on other trees) lets the caller skip trees that
cannot enter its ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from advisor.model.parameters import ParameterModel
from advisor.search.objective import Objective
from advisor.search.subtree_dag import DpValues
from advisor.stopping import StopSignal

__all__ = [
    "Allocation",
    "AllocationOutcome",
    "Floor",
    "TreeRecurrence",
    "allocate_widths",
    "best_point",
    "dominated_states",
]

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]

_DOMINANCE_BLOCK: Final = 1 << 22
"""Most booleans one block of the pairwise dominance test may allocate."""

_CHUNK_CELLS: Final = 1 << 17
"""Assignments times (type, child) pairs worked through at once, a few milliseconds: between
two chunks the incumbent tightens and the stop signal is polled."""


class TreeRecurrence(Protocol):
    """The tree recurrence by heights, as :class:`advisor.search.subtree_dag.SubtreeDag` runs it."""

    @property
    def depth(self) -> int:
        """Number of pooling levels L."""
        ...

    @property
    def size(self) -> int:
        """The recurrence's work per width vector: (type, child) pairs over all heights."""
        ...

    @property
    def reach(self) -> tuple[npt.NDArray[np.bool_], ...]:
        """Per height, ``(C, T_h)``: whether a type occurs in each correlation's tree."""
        ...

    def leaves(self, log2_representation: _Floats) -> DpValues:
        """Height 0 for ``P`` values of ``log2 M``."""
        ...

    def step(self, height: int, below: DpValues, log2_width: _Floats) -> DpValues:
        """One height up with ``log2 r_{height-1}``."""
        ...

    def propagate(self, state: DpValues, height: int, log2_widths: _Floats) -> _Floats:
        """Figures ``(P, C)`` from ``height`` with the widths of the levels above."""
        ...

    def root_figures(self, root: DpValues) -> _Floats:
        """Figures ``(P, C)`` from the root height."""
        ...


@dataclass(frozen=True)
class Allocation:
    """The widths chosen for one tree, their score tuple, parameters and per-correlation figures."""

    widths: tuple[int, ...]
    keys: tuple[float, ...]
    parameters: int
    log2_ranks: tuple[float, ...]


@dataclass(frozen=True)
class Floor:
    """What an allocation must beat: a score tuple and parameter count (from another tree).

    ``wins_ties()``: whether an allocation equal to the floor in both counts as better (the
    caller ranks this tree before the floor's on exact ties). Asked only when an allocation ties
    the floor exactly: deciding may cost the caller a pass over both trees.
    """

    keys: tuple[float, ...]
    parameters: int
    wins_ties: Callable[[], bool]


def _always() -> bool:
    return True


def _never() -> bool:
    return False


@dataclass(frozen=True)
class AllocationOutcome:
    """Result of :func:`allocate_widths`.

    Attributes
    ----------
    allocation
        The optimum, or None when nothing fits the budget or nothing beats the floor.
    points_scored
        Complete width vectors scored: exactly (incumbent candidates, leaves) or by the bound
        that settled a whole branch.
    complete
        False when ``stop`` interrupted the search (``allocation`` is then the best found).
    """

    allocation: Allocation | None
    points_scored: int
    complete: bool


def allocate_widths(
    tree: TreeRecurrence,
    objective: Objective,
    choices: Sequence[int],
    model: ParameterModel,
    max_parameters: int,
    *,
    floor: Floor | None = None,
    stop: StopSignal | None = None,
) -> AllocationOutcome:
    """Find the optimal widths for one tree (see the module docstring for the method).

    Parameters
    ----------
    tree
        The tree's recurrence.
    objective
        Targets and weights of the correlations (as many as the tree has).
    choices
        Allowed channel counts, for M and every hidden layer; positive.
    model
        The parameter count.
    max_parameters
        The budget (inclusive).
    floor
        Only an allocation better than this is returned.
    stop
        Polled between chunks of a few milliseconds; once it has stopped, the best allocation so
        far is returned with ``complete=False``.
    """
    values = np.unique(np.asarray(choices, dtype=np.int64))
    search = _BranchAndBound(
        tree, objective, values, model, max_parameters, floor, stop or StopSignal()
    )
    best = search.run()
    return AllocationOutcome(best.allocation(values), search.points_scored, not search.interrupted)


@dataclass(frozen=True, eq=False)
class _Best:
    """The incumbent: a point of this tree (``widths`` set) or the caller's floor."""

    keys: _Floats
    parameters: int
    widths: _Ints | None
    figures: _Floats | None = None
    wins_ties: Callable[[], bool] = _never

    @classmethod
    def from_floor(cls, floor: Floor | None, num_keys: int) -> _Best:
        if floor is None:
            return cls(np.full(num_keys, -np.inf), np.iinfo(np.int64).max, None, None, _always)
        return cls(np.array(floor.keys), floor.parameters, None, None, floor.wins_ties)

    def compare(self, keys: _Floats, parameters: _Ints) -> npt.NDArray[np.int8]:
        """Return +1 where rows of ``(keys, parameters)`` beat this, 0 where equal, else -1."""
        result = _lex_compare(keys, self.keys)
        undecided = result == 0
        result[undecided] = np.sign(self.parameters - parameters[undecided])
        return result

    def may_tie(self, prefixes: _Ints) -> npt.NDArray[np.bool_]:
        """Whether points with these prefixes win an exact tie in score and parameters."""
        if self.widths is None:
            return np.full(prefixes.shape[0], self.wins_ties())
        return _lex_compare(prefixes, self.widths[: prefixes.shape[1]]) <= 0

    def improved_by(self, keys: _Floats, parameters: int, widths: _Ints, figures: _Floats) -> _Best:
        """Return the better of this incumbent and the given complete point."""
        order = self.compare(keys[None, :], np.array([parameters]))[0]
        if order > 0 or (order == 0 and self.may_tie(widths[None, :])[0]):
            return _Best(keys, parameters, widths, figures)
        return self

    def allocation(self, values: _Ints) -> Allocation | None:
        if self.widths is None or self.figures is None:
            return None
        return Allocation(
            widths=tuple(int(v) for v in values[self.widths]),
            keys=tuple(float(k) for k in self.keys),
            parameters=self.parameters,
            log2_ranks=tuple(float(r) for r in self.figures),
        )


def best_point(keys: _Floats, parameters: _Ints, widths: _Ints) -> int:
    """Return the row that ranks first among ``(P, ...)`` points.

    The largest score tuple, then the fewest parameters, then the lexicographically smallest
    widths: the module docstring's order, so every answer is unique.
    """
    order = np.lexsort(
        [*(widths[:, i] for i in reversed(range(widths.shape[1]))), parameters]
        + [-keys[:, i] for i in reversed(range(keys.shape[1]))]
    )
    return int(order[0])


def _lex_compare(rows: _Ints | _Floats, reference: _Ints | _Floats) -> npt.NDArray[np.int8]:
    """Return -1, 0, +1 where rows are lexicographically below, equal to, above ``reference``."""
    result = np.zeros(rows.shape[0], dtype=np.int8)
    for column in range(rows.shape[1]):
        undecided = result == 0
        result[undecided] = np.sign(rows[undecided, column] - reference[column])
    return result


@dataclass
class _States:
    """Partial assignments of the first widths (choice indices) and their recurrence values."""

    widths: _Ints  # (P, assigned)
    dp: DpValues  # at height assigned - 1
    cost: _Ints  # (P,) parameters of the terms fixed by the assigned widths

    def take(self, rows: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> _States:
        return _States(self.widths[rows], self.dp.take(rows), self.cost[rows])

    @staticmethod
    def join(parts: Sequence[_States]) -> _States:
        return _States(
            np.concatenate([p.widths for p in parts]),
            DpValues.join([p.dp for p in parts]),
            np.concatenate([p.cost for p in parts]),
        )


class _BranchAndBound:
    """The search of the module docstring over one tree."""

    def __init__(
        self,
        tree: TreeRecurrence,
        objective: Objective,
        values: _Ints,
        model: ParameterModel,
        budget: int,
        floor: Floor | None,
        stop: StopSignal,
    ) -> None:
        self.tree, self.objective, self.model, self.budget = tree, objective, model, budget
        self.values = values
        self.logs: _Floats = np.log2(values.astype(np.float64))
        self.best = _Best.from_floor(floor, objective.num_keys)
        self.stop = stop
        # Assignments per chunk: each is carried through every (type, child) pair above.
        self.chunk_cells = max(1, _CHUNK_CELLS // tree.size)
        self.points_scored = 0
        self.interrupted = False

    def run(self) -> _Best:
        depth = self.tree.depth
        choices = np.arange(self.values.size, dtype=np.intp)
        states = _States(
            choices[:, None].astype(np.int64),
            self.tree.leaves(self.logs),
            self.model.representation(self.values),
        )
        bounds = np.zeros((0, self.objective.targets.size))
        for height in range(depth + 1):
            if height:
                states = self._drop_dominated(states, bounds, height - 1)
            # A level can hold many thousands of assignments: work through it in chunks, so
            # the incumbent tightens as it goes and a stop request is seen within one chunk.
            settled = []
            for chunk in self._chunks(states, height):
                settled.append(self._settle(chunk, height))
                if self.stop.stopped():
                    self.interrupted = True
                    return self.best
            if not settled:
                break
            states = _States.join([part for part, _ in settled])
            bounds = np.concatenate([part for _, part in settled])
        return self.best

    def _settle(self, states: _States, height: int) -> tuple[_States, _Floats]:
        """Drop what breaks the budget, offer completions, prune; leaves are only offered.

        Returns the surviving states and their bounds on every correlation's figure.
        """
        remaining = self.tree.depth - height
        last = self.values[states.widths[:, -1]]
        lower = states.cost + self.model.tail(last, self.values[0], remaining)
        fits = lower <= self.budget
        states, lower = states.take(fits), lower[fits]
        correlations = self.objective.targets.size
        if remaining == 0:
            if states.cost.size:
                figures = self.tree.root_figures(states.dp)
                outputs = self.model.tail(self.values[states.widths[:, -1]], 0, 0)
                self._offer(states.widths, figures, states.cost + outputs)
            return states.take(np.zeros(0, dtype=np.intp)), np.zeros((0, correlations))
        if states.cost.size == 0:
            return states, np.zeros((0, correlations))
        bounds = self._bound_and_complete(states, height, remaining, lower)
        return self._prune(states, bounds, lower)

    def _chunks(self, states: _States, height: int) -> Iterator[_States]:
        """Yield the assignments of ``height`` in chunks of about :data:`_CHUNK_CELLS` cells.

        At the leaves, runs of ``states``; above them, runs of the (state, choice) pairs that
        extend the states by the width of ``height``, state by state, each state's choices in
        order, whole states to a chunk where a chunk holds one. A chunk of one state and all its
        choices was the least before: on a tree of 145,166 (type, child) pairs, 64 choices
        took 10 s between two polls of the stop signal and 800 MiB at once.
        """
        if not height:
            for begin in range(0, states.cost.size, self.chunk_cells):
                yield states.take(np.arange(begin, min(begin + self.chunk_cells, states.cost.size)))
            return
        count = self.values.size
        pairs = states.cost.size * count
        step = self.chunk_cells if self.chunk_cells < count else self.chunk_cells // count * count
        for begin in range(0, pairs, step):
            yield self._expand(states, height, np.arange(begin, min(begin + step, pairs)))

    def _expand(self, states: _States, height: int, pairs: _Ints) -> _States:
        """Return the ``pairs`` (``state * choices + choice``): each state with its choice added."""
        count = self.values.size
        parents, chosen = np.divmod(pairs, count)
        last = self.values[states.widths[parents, -1]]
        dp = self.tree.step(height, states.dp.take(parents), self.logs[chosen])
        return _States(
            np.column_stack([states.widths[parents], chosen]),
            dp,
            states.cost[parents] + self.model.layer(last, self.values[chosen]),
        )

    def _bound_and_complete(
        self, states: _States, height: int, remaining: int, lower: _Ints
    ) -> _Floats:
        """Offer both completions of every state; return the states' figure bounds ``(P, C)``.

        ``lower`` is each state's cost with every unassigned width at the smallest choice.
        """
        count = states.cost.size
        last = self.values[states.widths[:, -1]]
        tails = self.model.tail(last[:, None], self.values[None, :], remaining)
        fits = (states.cost[:, None] + tails) <= self.budget
        fill = fits.shape[1] - 1 - np.argmax(fits[:, ::-1], axis=1)
        rest = np.concatenate(
            [
                np.zeros((count, remaining), dtype=np.int64),
                np.repeat(fill[:, None], remaining, axis=1),
                self._caps(states, remaining, lower),
            ]
        )
        rows = np.tile(np.arange(count), 3)
        figures = self.tree.propagate(states.dp.take(rows), height, self.logs[rest])
        for part, chosen in enumerate((np.zeros(count, dtype=np.intp), fill)):
            block = slice(part * count, (part + 1) * count)
            self._offer(
                np.column_stack([states.widths, rest[block]]),
                figures[block],
                states.cost + tails[np.arange(count), chosen],
            )
        self.points_scored += count
        bounds: _Floats = figures[2 * count :]
        return bounds

    def _caps(self, states: _States, remaining: int, lower: _Ints) -> _Ints:
        """Per state, each unassigned width's largest choice with the others at the smallest."""
        values, smallest = self.values, self.values[0]
        last = values[states.widths[:, -1]]
        slack = self.budget - lower
        caps = np.empty((states.cost.size, remaining), dtype=np.int64)
        for offset in range(remaining):
            left = last if offset == 0 else smallest
            right = smallest if offset < remaining - 1 else self.model.outputs
            largest = smallest + slack // self.model.marginal(left, right)
            caps[:, offset] = np.searchsorted(values, largest, side="right") - 1
        return caps

    def _offer(self, widths: _Ints, figures: _Floats, parameters: _Ints) -> None:
        """Make the best of these complete points the incumbent if it beats it."""
        self.points_scored += parameters.size
        keys = self.objective.keys(figures)
        top = best_point(keys, parameters, widths)
        self.best = self.best.improved_by(
            keys[top], int(parameters[top]), widths[top], figures[top]
        )

    def _prune(self, states: _States, bounds: _Floats, lower: _Ints) -> tuple[_States, _Floats]:
        """Keep the states whose score bound can beat the incumbent (``lower``: least cost)."""
        order = self.best.compare(self.objective.keys(bounds), lower)
        keep = (order > 0) | ((order == 0) & self.best.may_tie(states.widths))
        return states.take(keep), bounds[keep]

    def _drop_dominated(self, states: _States, bounds: _Floats, height: int) -> _States:
        """Drop the states another state dominates (module docstring)."""
        reach = self.tree.reach[height]
        dropped = dominated_states(
            states.widths, states.cost, states.dp, bounds, self.objective.targets, reach
        )
        return states.take(~dropped)


def dominated_states(
    widths: _Ints,
    cost: _Ints,
    dp: DpValues,
    bounds: _Floats,
    targets: _Floats,
    reach: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """Mark the partial assignments another one dominates (the rule of the module docstring).

    Parameters
    ----------
    widths
        ``(P, j + 1)`` choice indices of ``w_0..w_j``.
    cost
        ``(P,)`` parameters of the terms ``w_0..w_j`` fix (the rest depends on ``w_j`` only).
    dp
        Their recurrence values at height ``j``.
    bounds
        ``(P, C)`` upper bounds on every correlation's figure over each one's completions.
    targets
        ``(C,)`` the objective's targets.
    reach
        ``(C, T_j)`` which types occur in each correlation's tree.

    Returns
    -------
    numpy.ndarray
        ``(P,)`` True for each assignment some other one, cheaper or equal and first in
        (cost, widths) order, dominates; every completion of it is matched by the same
        completion of the other at least as well (score, then parameters, then widths).
    """
    dropped = np.zeros(cost.size, dtype=bool)
    if cost.size < 2:
        return dropped
    order = np.lexsort([*(widths[:, i] for i in reversed(range(widths.shape[1]))), cost])
    levels = np.minimum(bounds[order], targets)  # (P, C)
    # K per assignment and type: the largest clip level over the correlations holding the type.
    clip = np.where(reach[None, :, :], levels[:, :, None], -np.inf).max(axis=1)  # (P, T)
    values = np.moveaxis(dp.values, 2, 0)[order]  # (P, T, 2)
    plain = values.reshape(cost.size, -1)
    lowered = np.minimum(values, clip[:, :, None]).reshape(cost.size, -1)
    last = widths[order, -1]
    for value in np.unique(last):
        members = np.flatnonzero(last == value)
        if members.size > 1:
            dropped[order[members]] = _dominated(plain[members], lowered[members])
    return dropped


def _dominated(values: _Floats, lowered: _Floats) -> npt.NDArray[np.bool_]:
    """Rows ``b`` with an earlier row ``a`` such that ``values[a] >= lowered[b]`` everywhere."""
    count, width = values.shape
    dominated = np.zeros(count, dtype=bool)
    block = max(1, _DOMINANCE_BLOCK // max(1, count * width))
    index = np.arange(count)
    for begin in range(0, count, block):
        rows = slice(begin, begin + block)
        covers = (values[None, :, :] >= lowered[rows, None, :]).all(axis=2)
        earlier = index[None, :] < index[rows, None]
        dominated[rows] = (covers & earlier).any(axis=1)
    return dominated
