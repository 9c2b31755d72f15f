"""The seeded random designs of a search's space, drawn on as far as asked and stoppable.

:func:`advisor.search.recommend.sample_architectures` draws ``count`` distinct designs from the
search's own space: up to ``count * 50`` tries of one random generator, each a tree and a width
vector, and keeps the first ``count`` distinct ones. It neither polls a stop signal nor resumes:
when the space holds fewer designs than asked it makes every one of those tries (some 50,000 for
a thousand designs, 10-30 s on the two-core machines) before anything can stop it, and asking
for more designs draws the first ones again.

:class:`SpaceDraws` makes the same tries of the same generator, one at a time and only as many
as asked so far, and polls a stop signal between tries. Because a draw of ``n`` tries is a prefix
of any longer one, one :class:`SpaceDraws` answers ``sample_architectures(task, budget, count,
seed)`` for every ``count`` (:meth:`SpaceDraws.draw`), and a larger count continues where the
last stopped. It keeps each design as its tree and widths, a few hundred bytes, and builds the
architecture only when asked (:meth:`SpaceDraws.architecture`): an architecture carries its
input permutation, some 40 bytes per input location.

The tries follow ``sample_architectures`` step by step (tests/test_integrations_space_draws.py
checks that both give the same designs); a change there must be made here too.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING, Final

import numpy as np

from advisor.errors import StoppedError
from advisor.model.architecture import Architecture
from advisor.model.budget import Budget
from advisor.model.task import Task
from advisor.stopping import StopSignal

if TYPE_CHECKING:
    from advisor.search.candidates import Candidate

__all__ = ["SAMPLE_TRIES", "SpaceDraws"]

SAMPLE_TRIES: Final = 50
"""Tries per design asked before the draw gives up: ``sample_architectures``' own."""


class SpaceDraws:
    """The tries of ``sample_architectures(task, budget, ·, seed, min_share)``, made on demand.

    Not thread-safe: one caller at a time (the Katib sequence holds its lock).
    """

    def __init__(self, task: Task, budget: Budget, seed: int = 0, min_share: float = 0.5) -> None:
        self._budget = budget
        self._min_share = min_share
        # The search sample_architectures draws from: its tree budget leaves mixtures out.
        families = budget.families()
        if "mixture" in families:
            trees = [family for family in families if family != "mixture"] or None
            budget = budget.model_copy(update={"geometries": trees})
        # Imported when first drawn: the service reads Katib's limits without loading the search.
        from advisor.search.run import SearchRun

        self._search = SearchRun(task, budget, StopSignal(), None)
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
        """Return how many designs ``sample_architectures`` returns for ``count``: the first ones.

        Its designs are ``architecture(0)`` to ``architecture(n - 1)`` for the ``n`` returned
        (fewer than ``count`` when the space holds fewer). Tries not made yet are made now;
        ``stop`` is polled before each (:class:`~advisor.errors.StoppedError`), and a stopped
        draw keeps the tries it made for the next.
        """
        limit = count * SAMPLE_TRIES
        while len(self._found) < count and self._tries < limit:
            if stop is not None and stop.stopped():
                raise StoppedError("the draws were stopped")
            self._try()
        # sample_architectures keeps the designs found within its ``limit`` tries, at most count.
        return min(count, bisect_left(self._found_at, limit))

    def architecture(self, index: int) -> Architecture:
        """Return the ``index``-th distinct design drawn (0-based), as sample_architectures."""
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
        """Make the next try of sample_architectures' loop (its generator calls, in its order)."""
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
        spending = parameters >= self._min_share * budget.max_parameters
        if spending.any():
            profiles = profiles[spending]
        if profiles.size == 0:
            return
        chosen = tuple(int(w) for w in profiles[int(rng.integers(len(profiles)))])
        key = (candidate.index, chosen)
        if key not in self._keys:
            self._keys.add(key)
            self._found.append((candidate, chosen))
            self._found_at.append(at)
