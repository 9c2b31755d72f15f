"""A clock the tests set by hand, for stop signals and the search's clock."""

from __future__ import annotations

from typing import Any

import pytest

from advisor.search import run as run_module


class ManualClock:
    """A monotonic clock that reads ``now`` and moves only when a test sets it."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def second_per_tree(monkeypatch: pytest.MonkeyPatch, start: float = 0.0) -> ManualClock:
    """Return a clock that each tree a search scores moves one second on (from ``start``).

    A stop signal on it cuts a search after a known number of trees, whatever the machine's
    speed; ``monkeypatch.undo()`` lets searches score at their own pace again.
    """
    clock = ManualClock(start)
    scored = run_module.SearchRun.score

    def one_second_each(run: run_module.SearchRun, *args: Any, **kwargs: Any) -> None:
        clock.now += 1.0
        scored(run, *args, **kwargs)

    monkeypatch.setattr(run_module.SearchRun, "score", one_second_each)
    return clock
