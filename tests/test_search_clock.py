"""The search's clock: the time it keeps for its recommendations follows the caller's deadline."""

from __future__ import annotations

import pytest

from advisor.search.clock import SearchClock
from advisor.stopping import StopSignal
from tests.support.clock import ManualClock


def test_a_deadline_brought_forward_keeps_time_for_fewer_recommendations() -> None:
    clock = ManualClock(0.0)
    caller = StopSignal(100.0, clock=clock)
    search = SearchClock(caller, top_k=5)
    search.measure(1.0)  # each build: 1 s, so the best one keeps 3 s
    assert search.others == 4 and search.remaining() == pytest.approx(85.0)
    # A server's drain: 20 s left. A quarter of them cannot keep 3 s for each of four others,
    # and the search must not stop at once for builds it would have no time to finish.
    caller.bring_forward(20.0)
    search.stopped()
    search.stopped()  # a poll after the first re-plans the reserve
    assert search.others == 0
    assert search.remaining() == pytest.approx(17.0)


def test_without_a_deadline_every_recommendation_is_kept_time_for() -> None:
    search = SearchClock(StopSignal(clock=ManualClock(0.0)), top_k=5)
    search.measure(1.0)
    assert search.others == 4 and search.window() == float("inf")
