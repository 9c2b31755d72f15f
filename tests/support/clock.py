"""A clock the tests set by hand, for stop signals and the search's clock."""

from __future__ import annotations


class ManualClock:
    """A monotonic clock that reads ``now`` and moves only when a test sets it."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
