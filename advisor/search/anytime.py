"""The order a search visits its trees in, and how much of its work it has done.

**Order.** A search cut short returns the best tree it has scored, so the trees most likely to
win come first. Every family gets a turn before any gets a second (round robin, in the order
the candidates list the families), so a stopped search has seen a representative of each; within
a family, recommendable trees come before those scored only as a baseline, deeper trees before
shallower ones (on every benchmark task the winner of a family is among its deepest
recommendable trees: they have the most levels to place a correlation's cut on), and dilation
orders and synthesis variants, which differ little from their neighbours, spread out by a seeded
shuffle. The shallow baseline stays first. The order changes no result: the ranking afterwards
visits the scored trees in the candidates' own order.

**Work.** :class:`WorkMeter` predicts each tree's cost from what is known before scoring it:
its levels (building and interning the tree: one pass over the grid per level) and its fitting
width profiles (the recurrence: one pass over the labelled-subtree DAG per profile). The two
prices are learnt from the trees already scored (least squares over their measured times), so
the fraction done is the measured time over measured plus predicted time, which a machine's load
scales alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from advisor.search.candidates import Candidate

__all__ = ["WorkMeter", "anytime_order"]

_SHUFFLED: Final = frozenset({"dilations", "synthesized"})
"""Families whose members are many near-copies: visited in a seeded shuffle, not in a row."""


def anytime_order(candidates: Sequence[Candidate], seed: int) -> list[Candidate]:
    """Return ``candidates`` in visiting order (module docstring); the first stays first.

    Examples
    --------
    >>> from advisor.search.candidates import Candidate
    >>> c = [Candidate(0, "shallow", ((8,),), "contiguous", None, True)]
    >>> c += [Candidate(i, f, p, "contiguous", None, True) for i, (f, p) in enumerate(
    ...     [("contiguous", ((2,), (4,))), ("contiguous", ((2,), (2,), (2,))),
    ...      ("mirror", ((2,), (4,))), ("mirror", ((2,), (2,), (2,)))], start=1)]
    >>> [(x.family, x.depth) for x in anytime_order(c, 0)]
    [('shallow', 1), ('contiguous', 3), ('mirror', 3), ('contiguous', 2), ('mirror', 2)]
    """
    first, *rest = candidates
    rng = np.random.default_rng(seed)
    queues: dict[str, list[Candidate]] = {}
    for candidate in rest:
        queues.setdefault(candidate.family, []).append(candidate)
    ordered = []
    for family, members in queues.items():
        if family in _SHUFFLED:
            members = [members[i] for i in rng.permutation(len(members))]
        ordered.append(sorted(members, key=lambda c: (not c.eligible, -c.depth)))
    turns = itertools.zip_longest(*ordered)
    return [first, *(c for turn in turns for c in turn if c is not None)]


class WorkMeter:
    """The fraction of a search's work done, from each tree's predicted and measured cost.

    Parameters
    ----------
    levels
        Per tree in visiting order: its pooling levels.
    profiles
        Per tree: the width profiles it scores.
    """

    def __init__(self, levels: Sequence[int], profiles: Sequence[int]) -> None:
        self._features: npt.NDArray[np.float64] = np.column_stack(
            [np.asarray(levels, dtype=np.float64), np.asarray(profiles, dtype=np.float64)]
        )
        self._spent: list[float] = []
        self._fraction = 0.0

    def done(self, seconds: float) -> None:
        """Record the measured cost of the next tree in visiting order."""
        self._spent.append(seconds)

    def fraction(self, ahead: float = 0.0) -> float:
        """Return the fraction of the work done, never below an earlier answer.

        ``ahead`` is time still to come after the trees (the ranking and the final analyses).
        """
        count = len(self._spent)
        spent = float(sum(self._spent))
        left = float(self._prices() @ self._features[count:].sum(axis=0)) + ahead
        total = spent + max(left, 0.0)
        if total > 0.0:
            self._fraction = max(self._fraction, min(spent / total, 1.0))
        return self._fraction

    def _prices(self) -> npt.NDArray[np.float64]:
        """Seconds per level and per profile, least squares over the trees scored (non-negative)."""
        count = len(self._spent)
        if count == 0:
            return np.zeros(2)
        features, spent = self._features[:count], np.asarray(self._spent)
        prices, *_ = np.linalg.lstsq(features, spent, rcond=None)
        if (prices < 0).any():  # one feature explains nothing: price the other alone
            alone = [spent.sum() / max(features[:, k].sum(), 1.0) for k in (0, 1)]
            errors = [np.abs(features[:, k] * alone[k] - spent).sum() for k in (0, 1)]
            best = int(np.argmin(errors))
            prices = np.zeros(2)
            prices[best] = alone[best]
        return np.asarray(prices, dtype=np.float64)
