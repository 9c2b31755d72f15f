"""How a search plans its time: a deadline that runs ahead of the caller's by what it must keep.

One :class:`~advisor.stopping.StopSignal` says when to stop: the caller's (a call's deadline, its
cancellation, a server's shutdown drain), with ``budget.time_limit_seconds`` added as a deadline of
its own. The search polls its :class:`SearchClock` between candidates and inside the width search,
and stops early enough to build its recommendations before the deadline. The clock knows the time
one recommendation takes to build without the pricing of its contiguous reference net (predicted
from the shallow baseline's scoring at the start, :data:`_BUILD_PER_BASELINE`, then measured on
every one built) and the longest wait between two polls (how late a deadline can be noticed, and
how long the machine's load may hold the search back), so a loaded machine reserves more; it
reserves :data:`_RESERVE_FACTOR` times the build for the best recommendation and for each of the
others as long as those take at most :data:`_OTHERS_SHARE` of the time left when scoring starts
(a short limit buys a better best pick rather than more picks), :data:`_GAP_FACTOR` times the
wait, and the time the ranking will take.

The recommendations are built in rank order. The best is always built, even past the deadline;
each other one only while the time for one more build (the longest measured) and the wait is
left, and its analysis polls the signal too. The pricing of a recommendation's contiguous
reference net (on a small input most of its build) stops in time for the rest of the build and for
the unpriced builds of the others the reserve planned (whole designs come first), and is then left
out (``contiguous_priced`` false); the builds the reserve is made of are timed without it
(:class:`PricingTimer`). The first reserve is predicted, not timed on a build of the shallow net:
such a build takes a third of a tenth of the full search's time at 256x256 and 1024x1024, time a
stopped search needs.
"""

from __future__ import annotations

import math
from typing import Final

from advisor.stopping import StopSignal

__all__ = ["PricingTimer", "SearchClock"]

_OTHERS_SHARE: Final = 0.25
"""Share of a search's time at most that the recommendations after the best may reserve. (A
half, priced at the shallow net's build, reserved 4 builds on 262144 locations stopped at 10% of
its full time, none of which then fit: the page's deep trees take 3-5 times as long to build.)"""

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

_GAP_FACTOR: Final = 1.5
"""Time kept for the wait until the next poll, in multiples of the longest wait seen so far: a
poll that lets the search go on may be followed by one more such wait, longer on a loaded
machine. (Three times, as once, left a tree's worth of time unused on inputs whose interning
of one level is a sizable share of the search: 128x128 with random masks.)"""


class SearchClock(StopSignal):
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
        self.proper_start: float | None = None
        self.last_poll: float | None = None
        self.others = top_k - 1  # the recommendations after the best the reserve keeps time for

    def elapsed(self) -> float:
        """Return the seconds since the search started."""
        return self.clock() - self.started

    def predict(self, baseline: float, pricing: float) -> None:
        """Size the first reserve from the shallow baseline's scoring time, ``baseline`` seconds.

        A build is predicted at :data:`_BUILD_PER_BASELINE` times it (the shallow net's, which
        :data:`_RESERVE_FACTOR` scales to a deep tree's, as a timed build was), without the
        pricing: a deadline may cut that, and its time, ``pricing``, is predicted apart. The
        builds the search then makes are measured.
        """
        self.measure(_BUILD_PER_BASELINE * baseline)
        self.pricing = pricing

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

    def time_ahead(self) -> float:
        """Predict the time still to come after the trees: the ranking and the recommendations."""
        build = _DEEP_BUILD_FACTOR * self.each + self.pricing
        return self.ranking + self.top_k * build

    def measure(self, each: float) -> None:
        """Record how long a recommendation took (or will take) to build; keep the longest.

        The first measure starts the search proper: the time from then to the caller's deadline
        is the window the recommendations after the best may take a share of (:meth:`window`).
        """
        if self.proper_start is None:
            self.proper_start = self.clock()
        self.each = max(self.each, each)
        self._reserve()

    def defer(self, seconds: float) -> None:
        """Add the time ranking one more scored tree will take to the reserve."""
        self.ranking += seconds
        self._reserve()

    def window(self) -> float:
        """Return the seconds from the start of the search proper to the caller's deadline.

        Infinite without a deadline (or before the search proper starts); a deadline brought
        forward (a server's drain) narrows it, and with it the recommendations kept time for.
        """
        deadline = None if self._parent is None else self._parent.deadline
        if deadline is None or self.proper_start is None:
            return math.inf
        return deadline - self.proper_start

    def stopped(self) -> bool:
        """Poll the deadline (run ahead by the reserve), recording the wait since the last poll."""
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
        window = self.window()
        if math.isfinite(window) and self.each > 0.0:
            affordable = (_OTHERS_SHARE * window - self.time_for(0)) / (_RESERVE_FACTOR * self.each)
            others = max(0, min(others, math.floor(affordable)))
        self.others = others
        self._lead = self.time_for(others) + self.ranking


class PricingTimer(StopSignal):
    """The stop signal of a build's contiguous pricing, which also times the pricing.

    The pricing polls it before each of its rounds and once when it ends: the time from the
    first poll to the last is the time the pricing took, which the deadline may cut and so is no
    part of the builds the reserve is made of.
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
        """Poll the deadline, recording when the pricing polled first and last."""
        now = self.clock()
        self._first = now if self._first is None else self._first
        self._last = now
        return super().stopped()
