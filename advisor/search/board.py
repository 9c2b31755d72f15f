"""The search's standings: the trees it allocated widths to, best first, one per slot.

An :class:`Entry` is a tree with its chosen widths; :func:`ranked` orders entries by their score
keys, then fewer parameters, then (among exact ties only) a tie key the search supplies, then the
earlier candidate. The :class:`Board` keeps the best ``size`` recommendable entries (at most one
per family, schedule, dilation order and padding, so synthesized variants of one schedule do not
crowd it), the best contiguous tree and the shallow net, the references every rationale compares
against, each family's best recommendable tree (a tie between families is said whatever the
page's length) and each grid's (the input's and each padding of it: what a padded pick's
rationale weighs it against); :meth:`Board.floor_for` tells a free search's width allocation
what a tree must beat.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from advisor.model.grid import Padding
from advisor.search.candidates import Candidate
from advisor.search.subtree_dag import SubtreeDag
from advisor.search.widths import Allocation, Floor

__all__ = ["Board", "Entry", "Scored", "TieKey", "ranked"]

_Floats = npt.NDArray[np.float64]
_Key = TypeVar("_Key")


@dataclass(frozen=True)
class Entry:
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

    def floor(self, candidate: Candidate, dag: SubtreeDag, ties: TieKey) -> Floor:
        """Return what ``candidate`` (its tree ``dag``) must beat to rank before this entry.

        It wins exact ties where :func:`ranked` would put it first (decided, once, only when a
        tie occurs).
        """

        @functools.cache
        def first() -> bool:
            mine = (ties(candidate, dag), candidate.index)
            return mine < (ties(self.candidate, self.dag), self.candidate.index)

        return Floor(self.allocation.keys, self.allocation.parameters, first)


TieKey = Callable[[Candidate, SubtreeDag], tuple[float, ...]]
"""What breaks exact ties of a tree (smaller first): how many pooling levels its correlated
locations pass before meeting the other side (:func:`advisor.search.meeting.levels_apart` of the
tree's DAG)."""


def ranked(entries: Iterable[Entry], ties: TieKey) -> list[Entry]:
    """Sort entries best first by :meth:`Entry.order`, but break exact ties by ``ties``.

    Among entries equal in score keys and parameters the tree whose correlated locations meet
    soonest comes first, then the earlier candidate; ``ties`` is computed for those only.
    """
    result: list[Entry] = []
    for _, group in itertools.groupby(sorted(entries, key=Entry.order), lambda e: e.order()[:2]):
        tied = list(group)
        if len(tied) > 1:
            tied.sort(key=lambda e: (ties(e.candidate, e.dag), e.candidate.index))
        result += tied
    return result


@dataclass(frozen=True, eq=False)
class Scored:
    """A tree the practical pass scored: its DAG and, when kept, its profiles' figures."""

    candidate: Candidate
    dag: SubtreeDag
    figures: _Floats | None


@dataclass
class Board:
    """The best entries: the top list, the best contiguous tree and the shallow net.

    The top list holds at most ``size`` eligible trees, at most one per *slot* — family, schedule,
    dilation order and padding — so synthesized variants of one schedule do not crowd it.
    ``leaders`` holds each family's best eligible tree offered, on the list or not, and
    ``grids`` each padding's (None: the input's own grid). A tree is offered only if it may
    enter the list (:meth:`floor_for`): one not offered scores no higher than its slot's entry,
    or, once the list is full, than the list's last.

    The tie key comes with each call rather than being held: the search's is a method of the
    search, which holds its board, and that cycle kept each finished search (its trees and
    their arrays, about 20 MiB for 115 large correlations on 128x128) alive until the garbage
    collector's rare full pass, so a serving process grew by that much per search.
    """

    size: int
    top: list[Entry] = field(default_factory=list)
    contiguous: Entry | None = None
    shallow: Entry | None = None
    leaders: dict[str, Entry] = field(default_factory=dict)
    grids: dict[Padding | None, Entry] = field(default_factory=dict)

    def floor_for(self, candidate: Candidate, dag: SubtreeDag, ties: TieKey) -> Floor | None:
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
        weakest = ranked(floors, ties)[-1] if floors else None
        return weakest.floor(candidate, dag, ties) if weakest else None

    def _rival(self, candidate: Candidate) -> Entry | None:
        """Return the entry a candidate must displace: its slot's, else a full list's last."""
        same_slot = [e for e in self.top if _slot(e.candidate) == _slot(candidate)]
        if same_slot:
            return same_slot[0]
        return self.top[-1] if len(self.top) == self.size else None

    def offer(self, entry: Entry, ties: TieKey) -> None:
        """Record an allocated tree in every list it belongs to, exact ties broken by ``ties``."""
        family = entry.candidate.family
        if family == "shallow":
            self.shallow = entry
        if family == "contiguous" and (
            self.contiguous is None or ranked([self.contiguous, entry], ties)[0] is entry
        ):
            self.contiguous = entry
        if entry.candidate.eligible:
            _keep_best(self.leaders, family, entry, ties)
            _keep_best(self.grids, entry.candidate.padding, entry, ties)
            kept: dict[object, Entry] = {}
            for item in ranked([*self.top, entry], ties):
                kept.setdefault(_slot(item.candidate), item)
            self.top = list(kept.values())[: self.size]


def _keep_best(best: dict[_Key, Entry], key: _Key, entry: Entry, ties: TieKey) -> None:
    """Hold ``entry`` as ``best[key]`` if it ranks before the entry held there (or none is)."""
    held = best.get(key)
    if held is None or ranked([held, entry], ties)[0] is entry:
        best[key] = entry


def _slot(candidate: Candidate) -> tuple[object, ...]:
    return candidate.family, candidate.pools, candidate.dilations, candidate.padding
