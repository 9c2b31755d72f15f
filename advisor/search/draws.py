"""Seeded random designs of the search's own space: drawn on demand, continued, stoppable.

A draw of ``count`` designs makes up to ``count *`` :data:`SAMPLE_TRIES` tries of one random
generator seeded by ``seed``. Each try picks a recommendable tree uniformly, then a width vector
the search would consider for it (uniformly over its practical profiles that fit the budget, or
over the free choices that fit it), preferring those that spend at least ``min_share`` of the
budget where the tree has any; the draw keeps the first ``count`` distinct designs. This is the
population :func:`advisor.search.recommend.sample_architectures` returns (the trained-outcome
benchmark's random pool members) and Katib's designs past the ranking.

:class:`SpaceDraws` makes the tries one at a time, only as many as asked so far, and polls a
stop signal between them: a draw whose space holds fewer designs than asked makes every try of
its limit (some 50,000 for a thousand designs, 10-30 s on the two-core machines), which a
deadline must be able to cut. Because the tries of a draw of ``n`` are a prefix of those of any
longer one, one :class:`SpaceDraws` answers every count (:meth:`SpaceDraws.draw`), a larger
count continuing where the last stopped. It keeps each design as its tree and widths, a few
hundred bytes, and builds the architecture only when asked (:meth:`SpaceDraws.architecture`):
an architecture carries its input permutation, some 40 bytes per input location.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Final

import numpy as np

from advisor.errors import StoppedError
from advisor.model.architecture import Architecture
from advisor.model.budget import Budget
from advisor.model.task import Task
from advisor.search.candidates import Candidate
from advisor.search.ladders import MIN_SHARE, spending
from advisor.search.mixtures import tree_budget
from advisor.search.run import SearchRun
from advisor.stopping import StopSignal

__all__ = ["SAMPLE_TRIES", "SpaceDraws"]

SAMPLE_TRIES: Final = 50
"""Tries per design asked before a draw gives up (and free width vectors drawn per try)."""


class SpaceDraws:
    """The tries of the draws of ``task``'s space under ``budget`` from ``seed``, made on demand.

    Not thread-safe: one caller at a time (the Katib sequence holds its lock).
    """

    def __init__(
        self, task: Task, budget: Budget, seed: int = 0, min_share: float = MIN_SHARE
    ) -> None:
        self._budget = budget
        self._min_share = min_share
        self._search = SearchRun(
            task, tree_budget(budget), StopSignal(), None, named=budget.geometries
        )
        self._trees = [c for c in self._search.candidates if c.eligible]
        self._rng = np.random.default_rng(seed)
        self._tries = 0
        self._keys: set[tuple[int, tuple[int, ...]]] = set()
        # Every distinct design found so far, in order, and the try that found it.
        self._found: list[tuple[Candidate, tuple[int, ...]]] = []
        self._found_at: list[int] = []

    @property
    def tries(self) -> int:
        """The tries made so far."""
        return self._tries

    def draw(self, count: int, stop: StopSignal | None = None) -> int:
        """Return how many designs a draw of ``count`` gives: the first ones found.

        Its designs are ``architecture(0)`` to ``architecture(n - 1)`` for the ``n`` returned
        (fewer than ``count`` when the space holds fewer): those found within its
        ``count * SAMPLE_TRIES`` tries, whatever larger count was drawn before. Tries not made
        yet are made now; ``stop`` is polled before each (:class:`~advisor.errors.StoppedError`),
        and a stopped draw keeps the tries it made for the next.
        """
        limit = count * SAMPLE_TRIES
        while len(self._found) < count and self._tries < limit:
            if stop is not None and stop.stopped():
                raise StoppedError("the draws were stopped")
            self._try()
        return min(count, bisect_left(self._found_at, limit))

    def architecture(self, index: int) -> Architecture:
        """Return the ``index``-th distinct design drawn (0-based)."""
        candidate, widths = self._found[index]
        return self._search.space.architecture(
            candidate,
            widths,
            outputs=self._search.outputs,
            representation_kernel=self._budget.representation_kernel,
        )

    def __len__(self) -> int:
        """Return how many distinct designs were found so far."""
        return len(self._found)

    def _try(self) -> None:
        """Make the next try: a tree, then one of its width vectors (module docstring)."""
        search, budget, rng = self._search, self._budget, self._rng
        at = self._tries
        self._tries += 1
        candidate = self._trees[int(rng.integers(len(self._trees)))]
        if budget.width_profile == "practical":
            profiles, parameters = search.ladders.fitting(candidate)
        else:
            profiles = rng.choice(search.choices, size=(SAMPLE_TRIES, candidate.depth + 1))
            parameters = search.model.count(profiles)
            fitting = parameters <= budget.max_parameters
            profiles, parameters = profiles[fitting], parameters[fitting]
        profiles, _ = spending(profiles, parameters, budget.max_parameters, self._min_share)
        if profiles.size == 0:
            return
        chosen = tuple(int(w) for w in profiles[int(rng.integers(len(profiles)))])
        key = (candidate.index, chosen)
        if key not in self._keys:
            self._keys.add(key)
            self._found.append((candidate, chosen))
            self._found_at.append(at)
