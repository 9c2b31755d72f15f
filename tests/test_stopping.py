"""The stop signal: a deadline on a clock, a cancellation, and signals that follow a parent."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pytest

from advisor.errors import InvalidRequestError
from advisor.stopping import StopCause, StopSignal
from tests.support.clock import ManualClock


def test_a_signal_without_a_deadline_runs_until_cancelled() -> None:
    signal = StopSignal()
    assert signal.deadline is None
    assert signal.remaining() == math.inf and not signal.stopped()
    signal.cancel()
    assert signal.cancelled and signal.stopped() and signal.remaining() == 0.0


def test_the_deadline_is_absolute_on_the_signals_clock() -> None:
    clock = ManualClock()
    signal = StopSignal.after(2.0, clock=clock)
    assert signal.deadline == 102.0
    clock.now = 101.5
    assert signal.remaining() == 0.5 and not signal.stopped()
    clock.now = 102.0
    assert signal.remaining() == 0.0 and signal.stopped()


def test_a_limited_signal_stops_at_the_earlier_deadline_and_with_its_parent() -> None:
    clock = ManualClock()
    parent = StopSignal.after(10.0, clock=clock)
    sooner, later, unlimited = parent.limited(1.0), parent.limited(20.0), parent.limited(None)
    assert (sooner.deadline, later.deadline, unlimited.deadline) == (101.0, 110.0, 110.0)
    unlimited.cancel()  # a child's cancellation stays with the child
    assert unlimited.stopped() and not parent.stopped() and not later.stopped()
    parent.cancel()
    assert sooner.stopped() and later.stopped()


def test_an_earlier_signal_runs_ahead_of_its_parent_as_the_parent_moves() -> None:
    clock = ManualClock()
    parent = StopSignal(clock=clock)
    ahead = parent.earlier(0.5)
    assert ahead.deadline is None
    parent.bring_forward(103.0)
    assert ahead.deadline == 102.5
    clock.now = 102.6
    assert ahead.stopped() and not parent.stopped()


def test_a_share_keeps_its_share_of_the_time_as_the_parent_moves() -> None:
    clock = ManualClock()
    parent = StopSignal(clock=clock)
    three_quarters = parent.share(0.75)
    assert three_quarters.deadline is None and three_quarters.remaining() == math.inf
    parent.bring_forward(140.0)
    assert three_quarters.deadline == 130.0
    clock.now = 110.0
    # A drain brings the deadline forward to 10 s from now: the share stops at 115, not at once
    # (a fixed lead of the 30 s it once meant would already have passed).
    parent.bring_forward(clock.now + 10.0)
    assert three_quarters.deadline == 115.0 and three_quarters.remaining() == 5.0
    assert parent.earlier(30.0).stopped()
    clock.now = 115.0
    assert three_quarters.stopped() and not parent.stopped()


def test_a_share_of_a_limited_signal_is_measured_from_its_creation() -> None:
    clock = ManualClock()
    parent = StopSignal.after(8.0, clock=clock)
    clock.now = 104.0
    half = parent.share(0.5)
    assert half.deadline == 106.0
    parent.cancel()
    assert half.stopped()


def test_bringing_a_deadline_forward_never_extends_it() -> None:
    clock = ManualClock()
    signal = StopSignal(105.0, clock=clock)
    signal.bring_forward(108.0)
    assert signal.deadline == 105.0
    signal.bring_forward(101.0)
    assert signal.deadline == 101.0


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"deadline": math.nan}, "deadline: must be a moment on the clock, not NaN"),
        ({"deadline": np.True_}, "deadline: must be a moment on the clock, not bool"),
        ({"lead": -1.0}, "lead: must be a non-negative number of seconds, not -1.0"),
        ({"lead": "x"}, "lead: must be a non-negative number of seconds, not str"),
        ({"lead": True}, "lead: must be a non-negative number of seconds, not bool"),
        ({"share": 0.0}, "share: must be a share of the time in (0, 1], not 0.0"),
        ({"share": 1.5}, "share: must be a share of the time in (0, 1], not 1.5"),
        ({"share": math.nan}, "share: must be a share of the time in (0, 1], not NaN"),
        ({"share": "x"}, "share: must be a share of the time in (0, 1], not str"),
        ({"share": np.True_}, "share: must be a share of the time in (0, 1], not bool"),
        ({"parent": 5}, "parent: must be a StopSignal or None, not int"),
        (
            {"clock": 5},
            "clock: must be a function returning seconds, such as time.monotonic, not int",
        ),
        ({"cause": "x"}, "cause: must be a StopCause or None, not str"),
    ],
)
def test_bad_settings_are_refused_naming_the_argument(settings: dict[str, Any], said: str) -> None:
    # StopSignal is public (advisor.StopSignal): share="x" and lead="x" raised TypeError from a
    # comparison, parent=5 an AttributeError at creation, clock=5 a TypeError, cause="x" was
    # taken; the checked ones raised TypeError or ValueError, not the library's refusal.
    with pytest.raises(InvalidRequestError) as refused:
        StopSignal(**settings)
    assert str(refused.value) == said


def test_a_child_made_with_a_bad_argument_is_refused_naming_it() -> None:
    parent = StopSignal()
    bad: Any = "x"
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: parent.earlier(bad), "seconds: must be a non-negative number of seconds, not str"),
        (lambda: parent.earlier(-2), "seconds: must be a non-negative number of seconds, not -2"),
        (lambda: parent.share(bad), "fraction: must be a share of the time in (0, 1], not str"),
        (lambda: parent.share(2), "fraction: must be a share of the time in (0, 1], not 2"),
        (lambda: parent.limited(1.0, bad), "cause: must be a StopCause or None, not str"),
        (lambda: parent.bring_forward(1.0, bad), "cause: must be a StopCause or None, not str"),
        (
            lambda: StopSignal.after(1.0, clock=cast(Any, 5)),
            "clock: must be a function returning seconds, such as time.monotonic, not int",
        ),
    ]
    for make, said in cases:
        with pytest.raises(InvalidRequestError) as refused:
            make()
        assert str(refused.value) == said
    assert parent.deadline is None  # a refused cause brought nothing forward
    # NumPy's numbers are numbers (np.bool_ is none).
    assert parent.earlier(np.float64(0.5)).share(cast(float, np.float32(0.5))).deadline is None


def test_the_repr_says_what_is_left() -> None:
    clock = ManualClock()
    signal = StopSignal(clock() + 2.5, clock=clock)
    child = signal.limited(None)
    assert repr(StopSignal()) == "<StopSignal: no deadline>"
    assert repr(child) == "<StopSignal: 2.500 s left>"
    clock.now += 3.0
    assert repr(child) == "<StopSignal: deadline passed>"
    signal.cancel()
    assert repr(child) == "<StopSignal: cancelled>"


def test_the_cause_is_that_of_the_deadline_in_force() -> None:
    # A search cut by a server's shutdown advised "a longer time limit": its signal could not
    # tell its own time limit from the deadline that stopped it.
    clock = ManualClock()
    drain = StopSignal(clock=clock)
    call = drain.limited(20.0, StopCause.CALL_DEADLINE)
    search = call.limited(10.0)  # a search's own time limit says no cause
    assert (drain.cause, call.cause, search.cause) == (None, StopCause.CALL_DEADLINE, None)
    shorter_call = drain.limited(5.0, StopCause.CALL_DEADLINE).limited(10.0)
    assert shorter_call.cause is StopCause.CALL_DEADLINE
    drain.bring_forward(130.0, StopCause.SHUTDOWN)  # later than the search's own: not in force
    assert (drain.cause, search.deadline, search.cause) == (StopCause.SHUTDOWN, 110.0, None)
    drain.bring_forward(102.0, StopCause.SHUTDOWN)
    assert (call.cause, search.cause) == (StopCause.SHUTDOWN, StopCause.SHUTDOWN)
    call.bring_forward(101.0, StopCause.FINISH)
    assert search.cause is StopCause.FINISH
    call.bring_forward(109.0, StopCause.SHUTDOWN)  # not earlier: the deadline and cause stay
    assert (search.deadline, search.cause) == (101.0, StopCause.FINISH)
    call.cancel()  # a cancel stops at once, whatever deadline was in force
    assert (drain.cause, call.cause, search.cause) == (StopCause.SHUTDOWN, *[StopCause.CANCEL] * 2)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        ("5", "seconds: must be a number of seconds or None, not str"),
        (True, "seconds: must be a number of seconds or None, not bool"),
        (float("nan"), "seconds: must be a number of seconds or None, not NaN"),
    ],
)
def test_a_duration_that_is_no_number_is_refused_naming_seconds(seconds: Any, said: str) -> None:
    # "5" failed inside with "unsupported operand type(s) for +: 'float' and 'str'", and NaN was
    # refused as "deadline must be a moment on the clock", a value the caller never gave.
    for make in (StopSignal.after, StopSignal().limited):
        with pytest.raises(InvalidRequestError) as refused:
            make(seconds)
        assert str(refused.value) == said


@pytest.mark.parametrize(
    ("deadline", "said"),
    [
        ("x", "deadline: must be a moment on the clock, not str"),
        (False, "deadline: must be a moment on the clock, not bool"),
        (float("nan"), "deadline: must be a moment on the clock, not NaN"),
    ],
)
def test_a_deadline_brought_forward_that_is_no_moment_is_refused(deadline: Any, said: str) -> None:
    # NaN compared below no deadline: a child brought forward to it never stopped, though its
    # parent's deadline had passed; "x" was taken and failed at the next poll.
    parent = StopSignal(0.0, clock=lambda: 1.0)
    child = parent.limited(None)
    with pytest.raises(InvalidRequestError) as refused:
        child.bring_forward(deadline)
    assert str(refused.value) == said
    assert child.stopped()


def test_a_huge_number_a_bad_clock_and_a_clock_beside_a_parent_are_refused_naming_them() -> None:
    # 10**400 raised Python's OverflowError (int too large to convert to float); a clock that
    # returns no number failed at the first poll with a TypeError; one given beside a parent
    # was ignored, the parent's read instead.
    huge: Any = 10**400
    cases: list[tuple[Callable[[], object], str]] = [
        (
            lambda: StopSignal(huge),
            "deadline: must be a moment on the clock, not a 401-digit number",
        ),
        (
            lambda: StopSignal.after(huge),
            "seconds: must be a number of seconds or None, not a 401-digit number",
        ),
        (
            lambda: StopSignal().earlier(huge),
            "seconds: must be a non-negative number of seconds, not a 401-digit number",
        ),
        (
            lambda: StopSignal(clock=cast(Any, lambda: "x")),
            "clock: must be a function returning seconds, such as time.monotonic, not one "
            "returning str",
        ),
        (
            lambda: StopSignal(parent=StopSignal(), clock=ManualClock()),
            "clock: must be left out beside a parent, whose clock a signal reads, not a clock",
        ),
    ]
    for make, said in cases:
        with pytest.raises(InvalidRequestError) as refused:
            make()
        assert str(refused.value) == said


def test_a_clock_patched_after_import_is_read_and_children_follow_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The default clock was bound when the module was imported and a child's check compared
    # the clock given with time.monotonic looked up again: patched (freezegun, monkeypatch),
    # every limited(), share() and earlier() was refused "clock: must be left out beside a
    # parent", and recommend with them.
    clock = ManualClock(50.0)
    monkeypatch.setattr(time, "monotonic", clock)
    signal = StopSignal.after(10.0)
    assert signal.clock is clock and signal.deadline == 60.0
    child = signal.limited(5.0).share(0.5).earlier(1.0)
    assert child.clock is clock
    clock.now = 61.0
    assert signal.stopped() and child.stopped()
