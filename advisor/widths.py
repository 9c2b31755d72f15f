"""Width allocation under a parameter budget: the best channel counts for one pooling tree.

**Problem.** For a pooling tree of ``L`` levels choose ``w = (M, r_0, ..., r_{L-1})``, each from
the channel choices, so that ``parameters(w) <= max_parameters`` and the objective's score tuple
of the correlations' min-cuts is largest; ties go to fewer parameters, then to the smaller ``w``
in lexicographic order (so the answer is unique and reproducible).

**Structure used** (DESIGN.md "The engine"). With ``x = log2 w``, a correlation's min-cut is
``R_c(x) = min over cut patterns p of p . x`` — nondecreasing and concave, piecewise linear —
where ``p`` counts the input legs and the δ hyperedges of each level a cut crosses. The parameter
count (:class:`ParameterModel`) is increasing in every width and couples only neighbours.

**Method: cutting planes around an exact branch and bound.**

1. The min-cut DP, asked at a point, returns the minimising pattern. The patterns known so far,
   ``S_c``, give an *upper model* ``R^_c(x) = min over S_c of p . x >= R_c(x)`` that is cheap to
   evaluate on thousands of points (a matrix product) at any input size.
2. Branch and bound finds the exact optimum of the upper model over the lattice of choices.
   Widths are assigned bottom-up (M first). A partial assignment is dropped when its bound — every
   unassigned width at its *cap*, the largest choice the budget allows with the other unassigned
   widths at the smallest (valid by monotonicity) — cannot beat the incumbent, and the cost bound
   (every unassigned width at the smallest choice) exceeds the budget. Incumbents come from two
   completions of every partial assignment: the rest at the smallest choice, and the rest at the
   largest common choice that fits. Two partial assignments that end with the same width need the
   same rest of the budget, so one whose partial pattern sums are all at least the other's
   (capped at the targets) at no greater cost *dominates* it, and the other is dropped.
3. The DP evaluates the optimum ``x^`` of the upper model. If the model was exact there, ``x^`` is
   the true optimum (the true score is below the model everywhere). Otherwise the DP's pattern at
   ``x^`` joins ``S_c`` and the search repeats with ``x^``'s true score as an incumbent. Every round
   adds a pattern, so the loop ends; a few rounds are typical.

Nothing here enumerates the lattice; a test checks the result against full enumeration on small
spaces. A *floor* (the best allocation found on other trees) lets the caller skip trees that
cannot enter its ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from advisor.arrays import unique_rows
from advisor.objective import Objective

__all__ = [
    "Allocation",
    "AllocationOutcome",
    "CutOracle",
    "Floor",
    "ParameterModel",
    "allocate_widths",
]

_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]

_DOMINANCE_BLOCK: Final = 1 << 22
"""Most booleans one block of the pairwise dominance test may allocate."""


class CutOracle(Protocol):
    """The min-cut DP as the allocator needs it, e.g. :class:`advisor.subtree_dag.SubtreeDag`."""

    @property
    def depth(self) -> int:
        """Number of pooling levels L."""
        ...

    def cut_counts(self, log2_widths: npt.ArrayLike) -> _Ints:
        """``(P, C, L + 1)`` minimising cut patterns for ``(P, L + 1)`` log2 width vectors."""
        ...


@dataclass(frozen=True)
class ParameterModel:
    """The parameter count as a function of the widths, exactly as ``Architecture.parameters``.

    ``parameters = a * M + sum_{i=1..L} (w_{i-1} + 1) * w_i + Y * w_L + Y`` with
    ``w = (M, r_0, ..., r_{L-1})`` and ``a = k^d * C_in + 1`` (the representation conv's weights
    and bias per channel): shared 1x1 conv weights and biases, then the output layer.

    Attributes
    ----------
    representation_weights
        ``k^d * C_in``: weights of one representation channel (``k x k`` conv over ``C_in``).
    outputs
        ``Y``.
    """

    representation_weights: int
    outputs: int

    def count(self, widths: npt.ArrayLike) -> _Ints:
        """Parameters of each row of ``(P, L + 1)`` widths."""
        w = np.atleast_2d(np.asarray(widths, dtype=np.int64))
        total = (self.representation_weights + 1) * w[:, 0]
        total += ((w[:, :-1] + 1) * w[:, 1:]).sum(axis=1)
        total += self.outputs * (w[:, -1] + 1)
        counted: _Ints = total
        return counted

    def tail(self, last: _Ints, rest: _Ints | int, remaining: int) -> _Ints:
        """Parameters still to come after ``last``, with ``remaining`` widths all equal to ``rest``.

        ``last`` is the last assigned width (``(P,)``); ``rest`` broadcasts against it.
        """
        if remaining == 0:
            return np.asarray(self.outputs * (last + 1), dtype=np.int64)
        tail = (last + 1) * rest + (remaining - 1) * (rest + 1) * rest + self.outputs * (rest + 1)
        return np.asarray(tail, dtype=np.int64)


@dataclass(frozen=True)
class Allocation:
    """The widths chosen for one tree, their score tuple, parameters and per-correlation ranks."""

    widths: tuple[int, ...]
    keys: tuple[float, ...]
    parameters: int
    log2_ranks: tuple[float, ...]


@dataclass(frozen=True)
class Floor:
    """What an allocation must beat: a score tuple and parameter count (from another tree).

    ``wins_ties``: an allocation equal to the floor in both counts as better (the caller ranks
    this tree before the floor's on exact ties).
    """

    keys: tuple[float, ...]
    parameters: int
    wins_ties: bool


@dataclass(frozen=True)
class AllocationOutcome:
    """Result of :func:`allocate_widths`.

    Attributes
    ----------
    allocation
        The optimum, or None when nothing fits the budget or nothing beats the floor.
    points_scored
        Width vectors the search put a score on: by the upper model (bounds and completions)
        or by the DP.
    dp_points
        Width vectors the DP evaluated exactly.
    complete
        False when ``should_stop`` interrupted the search (``allocation`` is then the best found).
    """

    allocation: Allocation | None
    points_scored: int
    dp_points: int
    complete: bool


def allocate_widths(
    oracle: CutOracle,
    objective: Objective,
    choices: Sequence[int],
    model: ParameterModel,
    max_parameters: int,
    *,
    floor: Floor | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AllocationOutcome:
    """Find the optimal widths for one tree (see the module docstring for the method).

    Parameters
    ----------
    oracle
        The tree's min-cut DP with cut patterns.
    objective
        Targets and weights of the correlations (``C`` of them, as the oracle's).
    choices
        Allowed channel counts, for M and every hidden layer; positive.
    model
        The parameter count.
    max_parameters
        The budget (inclusive).
    floor
        Only an allocation better than this is returned.
    should_stop
        Polled between steps; when it returns True the best allocation so far is returned with
        ``complete=False``.
    """
    space = _Lattice(np.unique(np.asarray(choices, dtype=np.int64)), model, max_parameters)
    stop = should_stop or (lambda: False)
    width_count = oracle.depth + 1
    if space.lowest_cost(width_count) > max_parameters:
        return AllocationOutcome(None, 0, 0, True)
    seeds = space.seed_points(width_count)
    patterns = _Patterns(objective, oracle.cut_counts(space.log_values[seeds]))
    incumbent = _Best.from_floor(floor, objective.num_keys)
    for point in seeds:
        if space.cost(point) <= max_parameters:
            incumbent = incumbent.improved_by(*patterns.exact_at(point, space))
    dp_points, scored = len(seeds), len(seeds)
    while True:
        search = _BranchAndBound(patterns, space, incumbent, stop)
        candidate = search.run(width_count)
        scored += search.points_scored
        if search.interrupted or candidate.widths is None or candidate is incumbent:
            complete = not search.interrupted
            return AllocationOutcome(
                incumbent.allocation(patterns, space), scored, dp_points, complete
            )
        point = candidate.widths
        patterns.add(oracle.cut_counts(space.log_values[point][None, :]))
        dp_points += 1
        keys, parameters, _ = patterns.exact_at(point, space)
        if np.array_equal(keys, candidate.keys):
            return AllocationOutcome(candidate.allocation(patterns, space), scored, dp_points, True)
        incumbent = incumbent.improved_by(keys, parameters, point)
        if stop():
            return AllocationOutcome(
                incumbent.allocation(patterns, space), scored, dp_points, False
            )


@dataclass(frozen=True, eq=False)
class _Lattice:
    """The choices, their logs, the parameter model and the budget."""

    values: _Ints
    model: ParameterModel
    budget: int

    @property
    def log_values(self) -> _Floats:
        logs: _Floats = np.log2(self.values.astype(np.float64))
        return logs

    def cost(self, point: _Ints) -> int:
        """Parameters of one complete point (choice indices)."""
        return int(self.model.count(self.values[point][None, :])[0])

    def lowest_cost(self, width_count: int) -> int:
        """Parameters with every width at the smallest choice."""
        return self.cost(np.zeros(width_count, dtype=np.int64))

    def seed_points(self, width_count: int) -> _Ints:
        """Points whose DP patterns start the upper model: smallest, common fill, caps.

        The caps point (every width at its individual cap) usually breaks the budget; its
        patterns still bound the score from above exactly where the search starts.
        """
        lowest = np.zeros(width_count, dtype=np.int64)
        fill = np.full(width_count, self.largest_fill(width_count), dtype=np.int64)
        caps = np.array(
            [self.individual_cap(lowest, i) for i in range(width_count)], dtype=np.int64
        )
        return unique_rows(np.stack([lowest, fill, caps]))[0]

    def largest_fill(self, width_count: int) -> int:
        """Index of the largest choice that fits the budget with every width equal to it."""
        costs = self.model.count(np.repeat(self.values[:, None], width_count, axis=1))
        return int(np.flatnonzero(costs <= self.budget).max(initial=0))

    def individual_cap(self, point: _Ints, position: int) -> int:
        """Largest choice index for ``point[position]`` that fits with the rest of ``point``."""
        trial = np.repeat(point[None, :], self.values.size, axis=0)
        trial[:, position] = np.arange(self.values.size)
        costs = self.model.count(self.values[trial])
        return int(np.flatnonzero(costs <= self.budget).max(initial=0))


class _Patterns:
    """Known cut patterns of every correlation: the upper model ``R^``."""

    def __init__(self, objective: Objective, counts: _Ints) -> None:
        self.objective = objective
        self._rows: _Ints = np.empty((0, counts.shape[2] + 1), dtype=np.int64)
        self.add(counts)

    def add(self, counts: _Ints) -> None:
        """Add the patterns of ``(P, C, L + 1)`` DP answers."""
        points, correlations, _ = counts.shape
        owner = np.repeat(np.arange(correlations, dtype=np.int64)[None, :], points, axis=0)
        tagged = np.concatenate([owner[..., None], counts], axis=2).reshape(-1, self._rows.shape[1])
        # Rows sorted by correlation, then pattern: each correlation's patterns are one run.
        self._rows = unique_rows(np.concatenate([self._rows, tagged]))[0]
        self.matrix: _Floats = self._rows[:, 1:].astype(np.float64)
        self.sizes: _Ints = np.bincount(self._rows[:, 0], minlength=correlations)
        self.starts: _Ints = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    def ranks(self, sums: _Floats) -> _Floats:
        """``(P, C)`` upper-model min-cuts from ``(P, D)`` pattern sums."""
        ranks: _Floats = np.minimum.reduceat(sums, self.starts, axis=1)
        return ranks

    def keys(self, sums: _Floats) -> _Floats:
        """Score tuples from pattern sums."""
        return self.objective.keys(self.ranks(sums))

    def exact_at(self, point: _Ints, space: _Lattice) -> tuple[_Floats, int, _Ints]:
        """Score tuple, parameters and the point, for a point the DP has evaluated."""
        sums = space.log_values[point][None, :] @ self.matrix.T
        return self.keys(sums)[0], space.cost(point), point


@dataclass(frozen=True, eq=False)
class _Best:
    """The incumbent: a point of this tree (``widths`` set) or the caller's floor."""

    keys: _Floats
    parameters: int
    widths: _Ints | None
    wins_ties: bool = False

    @classmethod
    def from_floor(cls, floor: Floor | None, num_keys: int) -> _Best:
        if floor is None:
            return cls(np.full(num_keys, -np.inf), np.iinfo(np.int64).max, None, True)
        return cls(np.array(floor.keys), floor.parameters, None, floor.wins_ties)

    def compare(self, keys: _Floats, parameters: _Ints) -> npt.NDArray[np.int8]:
        """+1 where ``(keys, parameters)`` rows are better than this, 0 equal, -1 worse."""
        result = np.zeros(parameters.shape[0], dtype=np.int8)
        for column in range(keys.shape[1]):
            undecided = result == 0
            result[undecided] = np.sign(keys[undecided, column] - self.keys[column])
        undecided = result == 0
        result[undecided] = np.sign(self.parameters - parameters[undecided])
        return result

    def may_tie(self, prefixes: _Ints) -> npt.NDArray[np.bool_]:
        """Whether points with these prefixes win an exact tie in score and parameters."""
        if self.widths is None:
            return np.full(prefixes.shape[0], self.wins_ties)
        return _lex_compare(prefixes, self.widths[: prefixes.shape[1]]) <= 0

    def improved_by(self, keys: _Floats, parameters: int, widths: _Ints) -> _Best:
        """Return the better of this incumbent and the given complete point."""
        order = self.compare(keys[None, :], np.array([parameters]))[0]
        if order > 0 or (order == 0 and self.may_tie(widths[None, :])[0]):
            return _Best(keys, parameters, widths)
        return self

    def allocation(self, patterns: _Patterns, space: _Lattice) -> Allocation | None:
        if self.widths is None:
            return None
        sums = space.log_values[self.widths][None, :] @ patterns.matrix.T
        return Allocation(
            widths=tuple(int(v) for v in space.values[self.widths]),
            keys=tuple(float(k) for k in self.keys),
            parameters=self.parameters,
            log2_ranks=tuple(float(r) for r in patterns.ranks(sums)[0]),
        )


def _lex_compare(rows: _Ints, reference: _Ints) -> npt.NDArray[np.int8]:
    """-1, 0, +1 where each row is lexicographically below, equal to, above ``reference``."""
    result = np.zeros(rows.shape[0], dtype=np.int8)
    for column in range(rows.shape[1]):
        undecided = result == 0
        result[undecided] = np.sign(rows[undecided, column] - reference[column])
    return result


@dataclass
class _States:
    """Partial assignments of the first ``assigned`` widths (choice indices)."""

    widths: _Ints  # (P, assigned)
    sums: _Floats  # (P, D) partial pattern sums
    cost: _Ints  # (P,) parameters of the terms fixed by the assigned widths

    def take(self, keep: npt.NDArray[np.bool_] | _Ints) -> _States:
        return _States(self.widths[keep], self.sums[keep], self.cost[keep])


class _BranchAndBound:
    """Exact maximisation of the upper model over the lattice (module docstring, step 2)."""

    def __init__(
        self, patterns: _Patterns, space: _Lattice, best: _Best, stop: Callable[[], bool]
    ) -> None:
        self.patterns = patterns
        self.space = space
        self.best = best
        self.stop = stop
        self.points_scored = 0
        self.interrupted = False

    def run(self, width_count: int) -> _Best:
        space, logs = self.space, self.space.log_values
        choices = np.arange(space.values.size, dtype=np.int64)
        states = _States(
            choices[:, None],
            logs[:, None] * self.patterns.matrix[:, 0],
            (space.model.representation_weights + 1) * space.values,
        )
        for position in range(width_count):
            if position:
                states = self._expand(states, position)
            remaining = width_count - 1 - position
            last = space.values[states.widths[:, -1]]
            lower = states.cost + space.model.tail(last, space.values[0], remaining)
            states = states.take(lower <= space.budget)
            if states.cost.size == 0:
                break
            if remaining == 0:
                outputs = space.model.tail(space.values[states.widths[:, -1]], 0, 0)
                self._offer(states.widths, states.sums, states.cost + outputs)
                break
            self._offer_completions(states, remaining)
            states, bounds = self._prune(states, remaining)
            states = self._drop_dominated(states, bounds)
            if self.stop():
                self.interrupted = True
                break
        return self.best

    def _expand(self, states: _States, position: int) -> _States:
        """Every state followed by every choice for width ``position``."""
        space = self.space
        count = space.values.size
        parents = np.repeat(np.arange(states.cost.size), count)
        chosen = np.tile(np.arange(count, dtype=np.int64), states.cost.size)
        last = space.values[states.widths[parents, -1]]
        return _States(
            np.column_stack([states.widths[parents], chosen]),
            states.sums[parents]
            + space.log_values[chosen][:, None] * self.patterns.matrix[:, position],
            states.cost[parents] + (last + 1) * space.values[chosen],
        )

    def _tail_sums(self, rest: _Ints, remaining: int) -> _Floats:
        """Pattern sums of the unassigned widths set to the choice indices ``rest`` (P, k)."""
        columns = self.patterns.matrix[:, -remaining:]
        tail: _Floats = self.space.log_values[rest] @ columns.T
        return tail

    def _offer(self, widths: _Ints, sums: _Floats, parameters: _Ints) -> None:
        """Make the best of these complete points the incumbent if it beats it."""
        self.points_scored += parameters.size
        keys = self.patterns.keys(sums)
        order = np.lexsort(
            [*(widths[:, i] for i in reversed(range(widths.shape[1]))), parameters]
            + [-keys[:, i] for i in reversed(range(keys.shape[1]))]
        )
        top = order[0]
        self.best = self.best.improved_by(keys[top], int(parameters[top]), widths[top])

    def _offer_completions(self, states: _States, remaining: int) -> None:
        """Offer each state completed by the smallest and by the largest common fitting choice."""
        space = self.space
        last = space.values[states.widths[:, -1]]
        tails = space.model.tail(last[:, None], space.values[None, :], remaining)
        fits = (states.cost[:, None] + tails) <= space.budget
        fill = np.where(fits.any(axis=1), fits.shape[1] - 1 - np.argmax(fits[:, ::-1], axis=1), 0)
        for rest in (np.zeros_like(fill), fill):
            rest_widths = np.repeat(rest[:, None], remaining, axis=1)
            self._offer(
                np.column_stack([states.widths, rest_widths]),
                states.sums + self._tail_sums(rest_widths, remaining),
                states.cost + tails[np.arange(rest.size), rest],
            )

    def _prune(self, states: _States, remaining: int) -> tuple[_States, _Floats]:
        """Keep the states whose bound (caps for the unassigned widths) can beat the incumbent.

        Also returns the kept states' bounds on every correlation's min-cut, ``(P, C)``.
        """
        space = self.space
        values, smallest = space.values, space.values[0]
        last = values[states.widths[:, -1]]
        lower = states.cost + space.model.tail(last, smallest, remaining)
        slack = space.budget - lower
        caps = np.empty((states.cost.size, remaining), dtype=np.int64)
        for offset in range(remaining):
            left = last if offset == 0 else smallest
            right = smallest if offset < remaining - 1 else space.model.outputs
            largest = smallest + slack // (left + 1 + right)
            caps[:, offset] = np.searchsorted(values, largest, side="right") - 1
        self.points_scored += states.cost.size
        bounds = self.patterns.ranks(states.sums + self._tail_sums(caps, remaining))
        order = self.best.compare(self.patterns.objective.keys(bounds), lower)
        keep = (order > 0) | ((order == 0) & self.best.may_tie(states.widths))
        return states.take(keep), bounds[keep]

    def _drop_dominated(self, states: _States, bounds: _Floats) -> _States:
        """Drop states dominated by another that ends with the same width.

        State ``a`` dominates ``b`` when it comes first in (cost, widths) order and every
        partial pattern sum of ``a`` is at least ``b``'s clipped at ``K_c = min(target_c,
        bound_c)``, ``bound_c`` being ``b``'s upper bound on correlation ``c``'s min-cut over all
        its completions: for any completion, ``min(R^_c, target_c)`` is then at least as large
        for ``a`` as for ``b`` (row by row, ``z_a + t >= min(z_b + t, K_c)``), at no greater cost.
        """
        if states.cost.size < 2:
            return states
        order = np.lexsort(
            [*(states.widths[:, i] for i in reversed(range(states.widths.shape[1]))), states.cost]
        )
        states, bounds = states.take(order), bounds[order]
        levels = np.minimum(bounds, self.patterns.objective.targets)
        clipped = np.minimum(states.sums, np.repeat(levels, self.patterns.sizes, axis=1))
        last = states.widths[:, -1]
        dominated = np.zeros(states.cost.size, dtype=bool)
        for value in np.unique(last):
            members = np.flatnonzero(last == value)
            if members.size > 1:
                dominated[members] = _dominated(states.sums[members], clipped[members])
        return states.take(~dominated)


def _dominated(sums: _Floats, clipped: _Floats) -> npt.NDArray[np.bool_]:
    """Rows ``b`` with an earlier row ``a`` such that ``sums[a] >= clipped[b]`` everywhere."""
    count, width = sums.shape
    dominated = np.zeros(count, dtype=bool)
    block = max(1, _DOMINANCE_BLOCK // max(1, count * width))
    index = np.arange(count)
    for begin in range(0, count, block):
        rows = slice(begin, begin + block)
        covers = (sums[None, :, :] >= clipped[rows, None, :]).all(axis=2)
        earlier = index[None, :] < index[rows, None]
        dominated[rows] = (covers & earlier).any(axis=1)
    return dominated
