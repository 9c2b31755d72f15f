"""The time a call keeps for its answer to leave: the fixed margin and the hand-offs learnt."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from advisor.service.handoff import HandOffWatch, reply_margin
from tests.support.clock import ManualClock


def _watch_with(clock: ManualClock, handoffs: list[float]) -> HandOffWatch:
    """A watch that has seen calls' answers ready ``handoffs`` seconds after their stops."""
    watch = HandOffWatch(clock)
    for seconds in handoffs:
        watch.record(clock.now - seconds)
    return watch


def test_without_a_late_hand_off_the_worker_gets_the_calls_deadline() -> None:
    clock = ManualClock()
    watch = _watch_with(clock, [-0.3, 0.0])  # answers ready before or at their stops
    planned = watch.plan(1.0)
    assert planned.deadline == clock.now + 1.0
    assert planned.stop == planned.deadline - reply_margin(1.0)


def test_a_call_without_a_deadline_has_none_for_its_worker() -> None:
    watch = _watch_with(ManualClock(), [0.2])
    for remaining in (None, math.inf):
        planned = watch.plan(remaining)
        assert planned.deadline == planned.stop == math.inf


def test_the_slowest_recent_hand_off_moves_the_deadline_forward_by_half_again() -> None:
    # Beside one CPU-bound process a 1 s call's hand-off took 136 ms, against 50 kept for it.
    clock = ManualClock()
    watch = _watch_with(clock, [0.02, 0.136, 0.07])
    planned = watch.plan(1.0)
    kept = HandOffWatch.GROWTH * 0.136
    assert math.isclose(clock.now + 1.0 - planned.deadline, kept)
    assert planned.stop + kept <= clock.now + 1.0 + 1e-12


def test_a_hand_off_older_than_the_horizon_no_longer_counts() -> None:
    clock = ManualClock()
    watch = _watch_with(clock, [0.5])
    clock.now += HandOffWatch.HORIZON_SECONDS - 1.0
    assert math.isclose(watch.longest(), 0.5)
    clock.now += 2.0
    assert watch.longest() == 0.0
    assert watch.plan(1.0).deadline == clock.now + 1.0


def test_only_the_last_hand_offs_are_kept() -> None:
    clock = ManualClock()
    watch = _watch_with(clock, [0.9] + [0.01] * HandOffWatch.SAMPLES)
    assert math.isclose(watch.longest(), 0.01)


@given(
    handoffs=st.lists(st.floats(-1.0, 50.0), max_size=10),
    remaining=st.floats(0.001, 1e5),
)
def test_the_worker_stops_in_time_for_the_hand_offs_seen_or_keeps_half_its_time(
    handoffs: list[float], remaining: float
) -> None:
    clock = ManualClock()
    watch = _watch_with(clock, handoffs)
    planned = watch.plan(remaining)
    call_ends = clock.now + remaining
    tolerance = 1e-9 * remaining  # the sums' rounding
    assert clock.now + remaining / 2 - tolerance <= planned.deadline <= call_ends
    margin = reply_margin(planned.deadline - clock.now)
    if planned.stop == math.inf:  # no time for any work: no hand-off to measure from
        assert planned.deadline - margin <= clock.now + tolerance
        return
    assert math.isclose(planned.stop, planned.deadline - margin, rel_tol=0, abs_tol=tolerance)
    longest = max([0.0, *handoffs])
    if HandOffWatch.GROWTH * longest < HandOffWatch.most_kept(remaining):  # no cap binds
        assert planned.stop + HandOffWatch.GROWTH * longest <= call_ends + tolerance
    else:  # the work keeps about half the call's time, less its own margin's change
        work = planned.stop - clock.now if planned.stop < math.inf else 0.0
        assert work >= min(remaining / 2, remaining - reply_margin(remaining)) - 0.05 * remaining


def test_a_call_too_short_for_any_work_teaches_no_hand_off() -> None:
    # A client's calls of 10 and 50 ms, whose work was to stop before it began, were answered
    # 40-60 ms "late", and every call for five minutes kept that much more: another client's
    # 0.1 s analyses, which take 7 ms, ended DEADLINE_EXCEEDED within 5 ms.
    clock = ManualClock()
    watch = HandOffWatch(clock)
    for remaining in (0.01, 0.05):
        planned = watch.plan(remaining)
        assert planned.stop == math.inf
        clock.now += 0.007  # its work, a few ms
        watch.record(planned.stop)
    assert watch.longest() == 0.0
    planned = watch.plan(0.1)
    assert planned.stop == clock.now + 0.1 - reply_margin(0.1)


def test_a_short_call_after_slow_hand_offs_keeps_time_for_its_work() -> None:
    # After 35 ms hand-offs a 0.1 s call kept 50 ms for them and its worker 50 ms more: its
    # work had none, and an analysis of 8 ms ended DEADLINE_EXCEEDED within 5 ms.
    clock = ManualClock()
    watch = _watch_with(clock, [0.035])
    planned = watch.plan(0.1)
    assert planned.deadline == clock.now + 0.1  # the margin alone takes half: nothing more kept
    assert planned.stop == clock.now + 0.1 - reply_margin(0.1)
    planned = watch.plan(0.4)  # here 1.5 x 35 ms fits below the cap, and is kept
    assert math.isclose(planned.deadline, clock.now + 0.4 - HandOffWatch.GROWTH * 0.035)
