"""A call's stop signal: the call's deadline less the time its reply needs, and its end."""

from __future__ import annotations

import math

import pytest

from advisor.service.handoff import reply_margin
from advisor.service.servicer import call_stop_signal
from advisor.service.threads import ThreadContext
from advisor.stopping import StopSignal
from tests.support.clock import ManualClock


@pytest.mark.parametrize(("timeout", "margin"), [(0.2, 0.05), (4.0, 0.2), (60.0, 1.0)])
def test_the_work_stops_a_margin_before_the_call_deadline(timeout: float, margin: float) -> None:
    signal = call_stop_signal(ThreadContext(timeout), StopSignal())
    remaining = signal.remaining()
    # The bound that matters is the upper one; the lower leaves a loaded machine a second.
    assert timeout - margin - 1.0 < remaining <= timeout - margin


class _HeldBack(ThreadContext):
    """A call's context on ``clock`` that ends at ``ends``, and whose reading of the time left
    is followed by a pause of ``pause`` seconds (its process held back by the machine's load)."""

    def __init__(self, clock: ManualClock, ends: float, pause: float) -> None:
        super().__init__()
        self._clock = clock
        self._ends = ends
        self._pause = pause

    def time_remaining(self) -> float:
        remaining = self._ends - self._clock.now
        self._clock.now += self._pause
        return remaining


def test_a_pause_after_reading_the_time_left_does_not_eat_the_margin() -> None:
    # A worker held back between reading the call's time left and setting the work's deadline
    # lost that time from the margin: 36 ms of 50 once in 61 calls beside a CPU-bound process.
    clock = ManualClock()
    call_ends = clock.now + 0.5
    signal = call_stop_signal(_HeldBack(clock, call_ends, pause=0.03), StopSignal(clock=clock))
    assert signal.deadline == call_ends - reply_margin(0.5)


def test_a_call_without_a_deadline_has_none_and_its_end_stops_the_work() -> None:
    context = ThreadContext()
    signal = call_stop_signal(context, StopSignal())
    assert signal.remaining() == math.inf
    context.end()
    assert signal.stopped()


def test_the_drain_still_bounds_a_call_with_a_long_deadline() -> None:
    signal = call_stop_signal(ThreadContext(60.0), StopSignal.after(1.0))
    assert signal.remaining() <= 1.0


def test_the_margin_grows_with_the_time_and_stays_between_its_bounds() -> None:
    times = [0.0, 0.01, 0.5, 1.0, 10.0, 19.9, 20.0, 100.0, 1e6]
    margins = [reply_margin(remaining) for remaining in times]
    assert all(0.05 <= margin <= 1.0 for margin in margins)
    assert margins == sorted(margins)
    assert margins[0] == 0.05 and margins[-1] == 1.0
