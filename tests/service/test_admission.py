"""Admission control: bounded slots, immediate refusal, shutdown drain."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, cast

import pytest

from advisor.service.admission import Admission, SaturatedError, ShuttingDownError
from advisor.service.calls import StartingWorkers


def test_admits_up_to_the_bound_then_refuses_at_once() -> None:
    admission = Admission(2)
    with admission.admit(), admission.admit():
        assert admission.in_flight == 2
        started = time.monotonic()
        with pytest.raises(SaturatedError) as refused, admission.admit():
            pass
        assert time.monotonic() - started < 1.0  # refused, not waiting for a slot
    assert str(refused.value) == "all 2 advisor slots are busy; retry later"
    single = Admission(1)
    with single.admit(), pytest.raises(SaturatedError) as refused, single.admit():
        pass
    # A server of one worker said "all 1 advisor slots are busy".
    assert str(refused.value) == "the one advisor slot is busy; retry later"
    assert admission.in_flight == 0


def test_a_slot_is_released_when_the_call_raises() -> None:
    admission = Admission(1)
    with pytest.raises(RuntimeError), admission.admit():
        raise RuntimeError("boom")
    with admission.admit():
        assert admission.in_flight == 1


def test_shutdown_refuses_new_calls_and_waits_for_admitted_ones() -> None:
    admission = Admission(2)
    release = threading.Event()

    def call() -> None:
        with admission.admit():
            release.wait()

    worker = threading.Thread(target=call)
    worker.start()
    while admission.in_flight == 0:
        time.sleep(0.001)
    admission.begin_shutdown(grace_seconds=5.0)
    with pytest.raises(ShuttingDownError), admission.admit():
        pass
    assert not admission.wait_idle(0.02)
    release.set()
    assert admission.wait_idle(2.0)
    worker.join()


def test_shutdown_gives_the_drain_signal_the_end_of_the_grace_period() -> None:
    admission = Admission(1)
    assert admission.drain.deadline is None and not admission.drain.stopped()
    before = time.monotonic()
    admission.begin_shutdown(grace_seconds=0.5)
    deadline = admission.drain.deadline
    assert deadline is not None and before + 0.5 <= deadline <= time.monotonic() + 0.5
    admission.begin_shutdown(grace_seconds=100.0)  # a second call does not extend the deadline
    assert admission.drain.deadline == deadline
    admission.begin_shutdown(grace_seconds=0.0)  # and may end the drain now (a second signal)
    assert admission.drain.deadline is not None and admission.drain.deadline < deadline
    assert admission.drain.stopped()


def test_rejects_a_bound_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Admission(0)


def test_check_refuses_as_admit_would_without_taking_a_slot() -> None:
    admission = Admission(1)
    admission.check()
    assert admission.in_flight == 0
    with admission.admit():
        with pytest.raises(SaturatedError):
            admission.check()
        assert admission.in_flight == 1
    admission.check()
    admission.begin_shutdown(0.0)
    with pytest.raises(ShuttingDownError):
        admission.check()


@pytest.mark.parametrize(
    ("slots", "taken"),
    [
        (1, "the one advisor slot is taken by a call waiting"),
        (2, "all 2 advisor slots are taken by calls waiting"),
    ],
)
def test_a_call_past_those_waiting_for_the_workers_is_refused_in_words_that_fit(
    slots: int, taken: str
) -> None:
    # A server of one worker said "the one advisor slot is taken by calls waiting".
    async def refusal() -> str:
        starting = StartingWorkers(slots)
        waiting = [
            asyncio.create_task(starting.begin("Analyze", b"", cast(Any, None)))
            for _ in range(slots)
        ]
        await asyncio.sleep(0.01)
        try:
            with pytest.raises(SaturatedError) as refused:
                await starting.begin("Analyze", b"", cast(Any, None))
        finally:
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)
        return str(refused.value)

    assert asyncio.run(refusal()) == f"{taken} for the workers to start; retry later"
