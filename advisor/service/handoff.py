"""The time a call keeps for its answer to leave: a fixed margin, and what the last calls needed.

A call's work stops :func:`reply_margin` before the call's deadline (the worker's stop signal,
:func:`advisor.service.servicer.call_stop_signal`), so a search that returns its best so far has
time to have it converted, passed back and sent. On a machine other programs load, a worker
process (below the serving process's priority) can need more than that margin for the hand-off:
beside one CPU-bound process, 136 ms against the 50 ms kept for a 1 s deadline, and 6 of 61 such
calls ended ``DEADLINE_EXCEEDED``. :class:`HandOffWatch` learns the hand-off from the calls the
serving process sees end, and gives later calls' workers an earlier deadline to cover it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["HandOffWatch", "WorkerDeadline", "reply_margin"]

_REPLY_SHARE = 0.05
_REPLY_MARGIN_MIN = 0.05
"""Seconds. Without a margin a 128x128 search cut by deadlines of 0.2-0.95 s returned 2-25 ms
before them, and 5 calls in 30 missed them; with it, none in 60."""
_REPLY_MARGIN_MAX = 1.0


def reply_margin(remaining: float) -> float:
    """Return the seconds of a call's ``remaining`` time kept for sending its reply.

    The work stops that much before the call's deadline, so a search that returns its best so
    far just in time is not lost to ``DEADLINE_EXCEEDED`` while its result is converted, passed
    back from a worker process and sent: :data:`_REPLY_SHARE` of the time, at least
    :data:`_REPLY_MARGIN_MIN` and at most :data:`_REPLY_MARGIN_MAX` seconds.
    """
    return min(max(_REPLY_SHARE * remaining, _REPLY_MARGIN_MIN), _REPLY_MARGIN_MAX)


@dataclass(frozen=True)
class WorkerDeadline:
    """A call's deadline as its worker is given it, and when its work is to stop (monotonic).

    ``deadline``: the call's own, less what the recent hand-offs need; ``stop``: that, less
    the margin the worker keeps (:func:`reply_margin`), the moment the call's hand-off is
    measured from (:meth:`HandOffWatch.record`). Both are infinite for a call without a
    deadline, and ``stop`` for a call whose time leaves its work none (its stop already past
    when it is planned): its answer comes late by its own shortness, not by the hand-off's
    time. (Counted, one client's 10 ms calls cut every call's time for five minutes: 0.1 s
    analyses of 7 ms ended ``DEADLINE_EXCEEDED`` at once.)
    """

    deadline: float
    stop: float


class HandOffWatch:
    """The hand-offs of recent calls, and the earlier deadline they call for.

    A hand-off is how long after its work was to stop a call's answer was ready in the serving
    process; only positive ones count (a call whose work ended early says nothing of it). Kept:
    the last :data:`SAMPLES` of the last :data:`HORIZON_SECONDS`, so a load that has gone away
    stops costing time. A call's worker is given its deadline less :data:`GROWTH` times the
    longest of them (its own margin comes on top), never so much less that its work has under
    about half the call's time (:meth:`most_kept`): a machine too loaded for that is one the
    deadline cannot be met on by stopping sooner.
    """

    SAMPLES = 64
    HORIZON_SECONDS = 300.0
    GROWTH = 1.5

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: deque[tuple[float, float]] = deque(maxlen=self.SAMPLES)

    def record(self, stop: float) -> None:
        """Record the hand-off of a call whose work was to stop at ``stop``: its answer is in."""
        now = self._clock()
        if now > stop:
            self._seen.append((now, now - stop))

    def longest(self) -> float:
        """Return the longest hand-off recorded within the horizon (seconds; 0 if none)."""
        since = self._clock() - self.HORIZON_SECONDS
        while self._seen and self._seen[0][0] < since:
            self._seen.popleft()
        return max((seconds for _, seconds in self._seen), default=0.0)

    @staticmethod
    def most_kept(remaining: float) -> float:
        """Return the most of a call's ``remaining`` seconds kept for the hand-offs seen.

        What leaves the work about half the call's time once the worker's margin is kept too
        (:func:`reply_margin`), and nothing where the margin alone takes half. Capped at half the
        time, with the margin on top, a 0.1 s call after 35 ms hand-offs kept 50 ms and its
        worker 50 more, and an analysis of 8 ms ended ``DEADLINE_EXCEEDED`` at once.
        """
        half = remaining / 2
        return max(0.0, half - reply_margin(half))

    def plan(self, remaining: float | None) -> WorkerDeadline:
        """Return the worker's deadline for a call with ``remaining`` seconds (None: none)."""
        now = self._clock()
        if remaining is None or not math.isfinite(remaining):
            return WorkerDeadline(math.inf, math.inf)
        kept = min(self.GROWTH * self.longest(), self.most_kept(remaining))
        stop = now + remaining - kept - reply_margin(remaining - kept)
        return WorkerDeadline(now + remaining - kept, stop if stop > now else math.inf)
