"""The order a search visits its trees in, and how much of its work it has done.

**Order** (:class:`AnytimeQueue`). A search cut short returns the best tree it has scored, so the
trees most likely to win come first. The shallow baseline stays first. Then every family gets a
turn before any gets a second, so a stopped search has scored a representative of each: first
the family whose opening tree best meets the relations the description states (once the baseline
is scored, the search gives each family the :func:`~advisor.search.coherence.coherence` of its
opening tree, a factor of the score: on symmetry tasks the mirror tree comes first), then in the
order the candidates list the families; after that the family whose trees scored best so far
goes next (the search rates every family after each tree: its best tree's score on the targets
known then), so the search refines the promising families before it finishes the others. Within
a family, recommendable trees come before those scored only as a baseline. First comes one tree
per depth, the *lead* of that depth (its first in the candidates' order: the windows smallest
longest bottom-up, which is how every winner on the benchmark tasks begins), spread over depth
middle first — the middle depth, the deepest, then the middles of the halves, the shallowest
last — since at a fixed budget depth trades against width and the best depth depends on the task
(on the benchmark tasks the winner of a family lies anywhere from its deepest tree to the middle
of its depths, and the shallowest never won). Opening with the middle depth rather than the
deepest brought the first tree within 90% of the winner from 12-13% to 4% of the full search's
time on 128x128 with random masks and from 27-29% to 18% on 256x256; on the other benchmark tasks
it moved by up to three points either way (2-7%, 12% on 1024x1024). The other trees follow,
coarse to fine over depth; dilation orders and synthesis variants, which differ little from
their neighbours, are visited in a seeded shuffle. The order changes no result: the ranking
afterwards visits the scored trees in the candidates' own order.

**Work** (:class:`WorkMeter`). A tree's cost is predicted from what is known before scoring it:
the nodes of the levels it is the first to intern (a pass over them per correlation), the nodes
of all its levels (building the tree and checking cached levels) and a price per tree (scoring
its width ladders, about as many at every depth). The prices are learnt from the trees already
scored (least squares over their measured times), and a family's trees left are predicted at
no less than its latest trees cost, so the fraction done is the time spent over time spent
plus predicted time, which a machine's load scales alike. The time spent is the
search's elapsed time, so what came before the trees (setting up, the shallow baseline)
counts as done, and the caller adds the time predicted after
them (the ranking, the final builds).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.search.candidates import Candidate

__all__ = ["AnytimeQueue", "WorkMeter"]

_RECENT: Final = 3
"""The latest trees of a kind whose median cost floors the prediction of the kind's trees left
(:class:`WorkMeter`): a family's first tree interns all its levels and costs more than the rest."""

_SHUFFLED: Final = frozenset({"dilations", "synthesized"})
"""Families whose members are many near-copies: visited in a seeded shuffle, not in a row."""


class AnytimeQueue:
    """The candidates in visiting order (module docstring), steered by the scores reported.

    Parameters
    ----------
    candidates
        Every candidate; the first (the shallow baseline) is visited first.
    seed
        Seeds the shuffle of dilation orders and synthesis variants.

    Examples
    --------
    >>> c = [Candidate(0, "shallow", ((8,),), "contiguous", None, True)]
    >>> c += [Candidate(i, f, p, "contiguous", None, True) for i, (f, p) in enumerate(
    ...     [("contiguous", ((2,), (4,))), ("contiguous", ((2,), (2,), (2,))),
    ...      ("mirror", ((2,), (4,))), ("mirror", ((2,), (2,), (2,)))], start=1)]
    >>> queue = AnytimeQueue(c, 0)
    >>> visited = []
    >>> for candidate in queue:
    ...     visited.append((candidate.family, candidate.depth))
    ...     queue.rate(candidate.family, 1.0 if candidate.family == "mirror" else 0.5)
    >>> visited
    [('shallow', 1), ('contiguous', 3), ('mirror', 3), ('mirror', 2), ('contiguous', 2)]
    """

    def __init__(self, candidates: Sequence[Candidate], seed: int) -> None:
        self._first, *rest = candidates
        rng = np.random.default_rng(seed)
        grouped: dict[str, list[Candidate]] = {}
        for candidate in rest:
            grouped.setdefault(candidate.family, []).append(candidate)
        self._queues: list[list[Candidate]] = []
        for family, members in grouped.items():
            if family in _SHUFFLED:
                members = [members[i] for i in rng.permutation(len(members))]
            ordered = sorted(members, key=lambda c: (not c.eligible, -c.depth))
            recommendable = [c for c in ordered if c.eligible]
            leads: dict[int, Candidate] = {}
            for candidate in recommendable:
                leads.setdefault(candidate.depth, candidate)
            rest = [c for c in recommendable if leads[c.depth] is not c]
            ordered = [
                *_middle_first(list(leads.values())),
                *_coarse_to_fine(rest),
                *ordered[len(recommendable) :],
            ]
            self._queues.append(ordered[::-1])  # popped from the end
        self._best = [-np.inf] * len(self._queues)
        self._turns = [0] * len(self._queues)
        self._family = {family: index for index, family in enumerate(grouped)}
        self._priority = [0.0] * len(self._queues)

    def __len__(self) -> int:
        return 1 + sum(len(queue) for queue in self._queues)

    def __iter__(self) -> Iterator[Candidate]:
        yield self._first
        while any(self._queues):
            waiting = [i for i, queue in enumerate(self._queues) if queue]
            first_turns = [i for i in waiting if self._turns[i] == 0]
            # A family's first turn before anyone's second; then the best family so far, and
            # among equals the one that had fewest turns (round robin).
            chosen = (
                max(first_turns, key=lambda i: (self._priority[i], -i))
                if first_turns
                else max(waiting, key=lambda i: (self._best[i], -self._turns[i], -i))
            )
            self._turns[chosen] += 1
            yield self._queues[chosen].pop()

    def leads(self) -> list[Candidate]:
        """Return the tree each family opens with (its first turn's), in the families' order."""
        return [queue[-1] for queue in self._queues if queue]

    def prefer(self, priorities: Mapping[str, float]) -> None:
        """Give the families' first turns in descending ``priorities`` (unlisted: 0).

        Families of equal priority keep the candidates' order.
        """
        for family, priority in priorities.items():
            self._priority[self._family[family]] = priority

    def rate(self, family: str, score: float) -> None:
        """Rate a family by the best score of its trees so far (on the latest targets)."""
        index = self._family.get(family)
        if index is not None:
            self._best[index] = score


def _coarse_to_fine(items: Sequence[Candidate]) -> list[Candidate]:
    """Return the first item, the middle one, the middles of the halves and so on, the last last.

    >>> trees = [Candidate(i, "mirror", ((2,),) * (7 - i), None, None, True) for i in range(7)]
    >>> [c.depth for c in _coarse_to_fine(trees)]
    [7, 4, 6, 3, 5, 2, 1]
    """
    if len(items) < 3:
        return list(items)
    picked = [0]
    spans = deque([(0, len(items) - 1)])
    while spans:
        low, high = spans.popleft()
        if high - low >= 2:
            middle = (low + high) // 2
            picked.append(middle)
            spans.extend([(low, middle), (middle, high)])
    return [items[i] for i in [*picked, len(items) - 1]]


def _middle_first(items: Sequence[Candidate]) -> list[Candidate]:
    """Return :func:`_coarse_to_fine`'s order with the middle item first (of two: the first).

    >>> trees = [Candidate(i, "mirror", ((2,),) * (7 - i), None, None, True) for i in range(7)]
    >>> [c.depth for c in _middle_first(trees)], [c.depth for c in _middle_first(trees[:2])]
    ([4, 7, 6, 3, 5, 2, 1], [7, 6])
    """
    order = _coarse_to_fine(items)
    return [order[1], order[0], *order[2:]] if len(order) > 2 else order


class WorkMeter:
    """The fraction of a search's work done, from each tree's predicted and measured cost.

    A tree is described by its levels: for each, the prefix it ends (what names the windows of
    the levels up to it: equal prefixes are interned once and then come from the cache) and the
    nodes it pools. Its cost is priced on three features: the nodes of the levels it interns
    first (a pass over them for every correlation), the nodes of all its levels (building the
    tree, hashing and checking its windows) and one (scoring its width ladders). The work left
    counts each prefix not interned yet once.

    One price per feature fits the trees of every family alike, and the families that come
    first set it; a family whose trees cost more than those features say is then priced low
    (on 262,144 steps the dilation orders, after dozens of cheap interleaved and contiguous
    trees, read 0.14-0.15 ahead of the truth). So where trees carry a *kind* (their family),
    the trees of a kind left are predicted at no less than the median of its
    :data:`_RECENT` latest measured trees each (the worst error on the eight bench tasks, replayed
    on two recorded runs: 0.137 and 0.146 without the floor, 0.082 and 0.096 with it).

    Parameters
    ----------
    trees
        Every tree's levels, as ``(prefix, nodes)`` pairs bottom-up.
    kinds
        Each tree's kind (its family), or None: no kind floors the prediction.
    """

    def __init__(
        self,
        trees: Sequence[Sequence[tuple[Hashable, int]]],
        kinds: Sequence[Hashable] | None = None,
    ) -> None:
        self._nodes: dict[Hashable, int] = {}
        self._owner: dict[Hashable, Hashable] = {}  # the kind of the first tree with the prefix
        self._left: dict[Hashable, npt.NDArray[np.float64]] = {}  # per kind: the features left
        kinds = [None] * len(trees) if kinds is None else kinds
        for levels, kind in zip(trees, kinds, strict=True):
            left = self._left.setdefault(kind, np.zeros(3))
            for prefix, nodes in levels:
                if prefix not in self._nodes:
                    self._nodes[prefix], self._owner[prefix] = nodes, kind
                    left[0] += nodes
                left[1] += nodes
            left[2] += 1
        self._recent: dict[Hashable, deque[float]] = {}
        self._features: list[tuple[float, float, float]] = []
        self._spent: list[float] = []
        self._fraction = 0.0

    def done(
        self, levels: Sequence[tuple[Hashable, int]], seconds: float, kind: Hashable = None
    ) -> None:
        """Record the measured cost of one more tree (its levels and kind as given before)."""
        new = 0
        for prefix, _ in levels:
            if prefix in self._nodes:
                nodes = self._nodes.pop(prefix)
                self._left[self._owner.pop(prefix)][0] -= nodes
                new += nodes
        features = (float(new), float(sum(nodes for _, nodes in levels)), 1.0)
        self._left[kind][1:] -= features[1:]
        self._features.append(features)
        self._spent.append(seconds)
        if kind is not None:
            self._recent.setdefault(kind, deque(maxlen=_RECENT)).append(seconds)

    def fraction(self, ahead: float = 0.0, elapsed: float = 0.0) -> float:
        """Return the fraction of the work done, never below an earlier answer.

        ``ahead`` is time still to come after the trees (the ranking and the final analyses);
        ``elapsed`` the search's time so far, which counts what came before the trees too
        (setting up): the trees' measured time when larger.
        """
        spent = max(float(sum(self._spent)), elapsed)
        prices = self._prices()
        left = sum(self._kind_left(prices, kind) for kind in self._left) + ahead
        total = spent + max(left, 0.0)
        if total > 0.0:
            # A Python float: the prices are NumPy's, and a progress event read np.float64(0.34)
            # in-process where a client's read 0.34.
            self._fraction = max(self._fraction, min(float(spent / total), 1.0))
        return self._fraction

    def _kind_left(self, prices: npt.NDArray[np.float64], kind: Hashable) -> float:
        """Predict the seconds the trees of ``kind`` left take (the class docstring's floor)."""
        left = np.maximum(self._left[kind], 0.0)
        predicted = float(prices @ left)
        recent = self._recent.get(kind)
        return max(predicted, left[2] * float(np.median(recent))) if recent else predicted

    def _prices(self) -> npt.NDArray[np.float64]:
        """Seconds per feature: non-negative least squares over the trees scored so far."""
        if not self._spent:
            return np.zeros(3)
        features, spent = np.asarray(self._features), np.asarray(self._spent)
        active = [0, 1, 2]
        while True:  # drop a feature priced below zero and fit the rest again
            prices = np.zeros(3)
            solved, *_ = np.linalg.lstsq(features[:, active], spent, rcond=None)
            prices[active] = solved
            if (prices >= 0).all() or len(active) == 1:
                return np.maximum(prices, 0.0)
            active.remove(active[int(np.argmin(solved))])
