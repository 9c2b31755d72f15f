"""A call that waits for a busy server's slot: ``RetryPolicy.busy_wait_seconds``.

An AutoML pool with more threads than the server has slots met ``RESOURCE_EXHAUSTED`` at once,
and each caller wrote its own loop to back off and call again; now the client does it, within the
call's deadline, for the refusals the server asks to retry and no other.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

import grpc
import pytest
from advisor_client.busy import BUSY_WAIT_HINT, LOGGER, BusyWait
from advisor_client.client import AdvisorClient
from advisor_client.connection import RetryPolicy
from advisor_client.errors import (
    ClientClosedError,
    ResourceExhaustedError,
    SearchNotStartedError,
    UnavailableError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.integrations.proposals import AdvisorSource
from advisor.model.architecture import Architecture
from advisor.model.results import SearchProgress, SearchResult
from advisor.model.task import Task
from advisor.service.admission import SaturatedError
from advisor.service.server import ServerConfig, start_server
from tests.support.named_search import start_named_search
from tests.support.scripted import ARCHITECTURE, BUDGET, TASK, ScriptedAdvisor
from tests.support.waiting import wait_until

BUSY = "all 1 advisor slots are busy; retry later"
"""The server's words for a busy refusal."""

WAITS = RetryPolicy(
    max_attempts=1, initial_backoff_seconds=0.01, max_backoff_seconds=0.05, busy_wait_seconds=30.0
)
"""A client that waits up to 30 s for a slot (no gRPC retries, to count the client's own)."""


class _Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _busy(retry_delay: float | None = 0.2) -> ResourceExhaustedError:
    error = ResourceExhaustedError(grpc.StatusCode.RESOURCE_EXHAUSTED, BUSY)
    error.retry_delay, error.reason = retry_delay, "SERVER_BUSY"
    return error


# --- the waits, on a clock the test moves --------------------------------------------------------


def test_only_a_refusal_the_server_asks_to_retry_is_waited_for() -> None:
    busy = BusyWait(RetryPolicy(busy_wait_seconds=60.0), 30.0, _Clock())
    over_a_limit = _busy(retry_delay=None)  # an answer over max_message_bytes: no RetryInfo
    draining = UnavailableError(grpc.StatusCode.UNAVAILABLE, "draining")
    draining.retry_delay = 0.2  # gRPC's own retries take UNAVAILABLE
    assert busy.pause(over_a_limit) is None
    assert busy.pause(draining) is None
    assert busy.pause(_busy()) is not None
    # The default policy waits for nothing: the refusal is raised as the server sent it.
    assert BusyWait(RetryPolicy(), 30.0, _Clock()).pause(_busy()) is None


@settings(max_examples=200, deadline=None)
@given(
    busy_wait=st.floats(0.0, 100.0),
    timeout=st.floats(0.01, 100.0),
    initial=st.floats(0.001, 5.0),
    spread=st.floats(1.0, 10.0),
    multiplier=st.floats(1.0, 1e6),
    retry_delay=st.floats(0.05, 3.0),  # the server's is 0.2 s; 0 would loop for long
    attempt=st.floats(0.0, 2.0),
)
def test_the_waits_keep_within_the_policy_and_the_deadline(
    busy_wait: float,
    timeout: float,
    initial: float,
    spread: float,
    multiplier: float,
    retry_delay: float,
    attempt: float,
) -> None:
    policy = RetryPolicy(
        initial_backoff_seconds=initial,
        max_backoff_seconds=initial * spread,
        backoff_multiplier=multiplier,
        busy_wait_seconds=busy_wait,
    )
    clock = _Clock()
    start = clock.now
    busy = BusyWait(policy, timeout, clock)
    waits = []
    while (pause := busy.pause(_busy(retry_delay))) is not None:
        # Never sooner than the server asks, never longer than the backoff allows.
        assert retry_delay <= pause <= max(retry_delay, policy.max_backoff_seconds)
        waits.append(pause)
        clock.now += pause
        # Each retry starts within the wait and the deadline.
        assert clock.now - start <= min(busy_wait, timeout) + 1e-9
        assert busy.remaining() == pytest.approx(max(start + timeout - clock.now, 0.001))
        clock.now += attempt  # the refused attempt's round trip
        assert len(waits) <= busy_wait / retry_delay + 1
    refusal = busy.refusal(_busy(retry_delay))
    if waits:
        times = "once" if len(waits) == 1 else f"{len(waits)} times"
        assert f"; retried {times} over " in refusal.details
        assert f"(RetryPolicy.busy_wait_seconds {busy_wait:g})" in refusal.details
        assert (refusal.reason, refusal.retry_delay) == ("SERVER_BUSY", retry_delay)
    elif busy_wait == 0:  # a policy that waits for nothing says how to wait
        assert refusal.details == f"{BUSY} ({BUSY_WAIT_HINT})"
    else:
        assert refusal.details == BUSY


def test_the_backoff_grows_to_its_maximum_and_jitters_below_it() -> None:
    policy = RetryPolicy(
        initial_backoff_seconds=0.1, max_backoff_seconds=1.6, busy_wait_seconds=1e6
    )
    runs: list[list[float]] = []
    for _ in range(200):
        busy = BusyWait(policy, 1e6, _Clock())
        pauses = [busy.pause(_busy(retry_delay=0.0)) for _ in range(6)]
        runs.append([pause for pause in pauses if pause is not None])
    for retry, bound in enumerate([0.1, 0.2, 0.4, 0.8, 1.6, 1.6]):
        waits = [run[retry] for run in runs]
        assert all(0.0 <= w <= bound for w in waits)
        assert max(waits) > 0.8 * bound and min(waits) < 0.2 * bound


# --- against a server ----------------------------------------------------------------------------


def test_a_unary_call_waits_for_a_slot_and_a_default_one_does_not(
    fake: tuple[ScriptedAdvisor, str], caplog: pytest.LogCaptureFixture
) -> None:
    servicer, target = fake
    servicer.failures["Recommend"] = [SaturatedError(BUSY)] * 3
    with caplog.at_level(logging.INFO, LOGGER.name), AdvisorClient(target, retry=WAITS) as client:
        result = client.recommend(TASK, BUDGET)
    assert result.candidates_evaluated == 7
    assert servicer.calls["Recommend"] == 4
    # Each wait is logged, so a pool's logs show calls that wait, not calls that hang.
    waits = [record for record in caplog.records if record.name == LOGGER.name]
    assert [record.busy_retry for record in waits] == [1, 2, 3]  # type: ignore[attr-defined]
    assert all(record.levelno == logging.INFO for record in waits)
    first = waits[0].getMessage()
    assert re.fullmatch(
        r"the server is busy \(request id [0-9a-f-]+\): retry 1 in [0-9.]+ s, "
        r"[0-9.]+ s into RetryPolicy\.busy_wait_seconds 30",
        first,
    ), first
    servicer.failures["Analyze"] = [SaturatedError(BUSY)]
    with AdvisorClient(target) as client, pytest.raises(ResourceExhaustedError) as refused:
        client.list_presets()  # answered: only Analyze is scripted to fail
        client.analyze(TASK, ARCHITECTURE)
    assert servicer.calls["Analyze"] == 1
    assert (refused.value.reason, refused.value.retry_delay) == ("SERVER_BUSY", 0.2)
    assert str(refused.value) == f"RESOURCE_EXHAUSTED: {BUSY} ({BUSY_WAIT_HINT})"
    assert refused.value.request_id is not None


def test_a_refusal_without_retry_info_is_never_waited_for(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    servicer, target = fake
    servicer.failures["Recommend"] = [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
    with AdvisorClient(target, retry=WAITS) as client, pytest.raises(ResourceExhaustedError):
        client.recommend(TASK, BUDGET)
    assert servicer.calls["Recommend"] == 1


def test_a_stream_waits_for_a_slot_before_its_first_event(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    servicer, target = fake
    servicer.failures["StreamRecommend"] = [SaturatedError(BUSY)] * 2
    with AdvisorClient(target, retry=WAITS) as client:
        events = list(client.stream_recommend(TASK, BUDGET))
        assert [type(e) for e in events] == [SearchProgress, SearchResult]
        assert servicer.calls["StreamRecommend"] == 3
        servicer.failures["StreamRecommend"] = [SaturatedError(BUSY)]
        seen: list[SearchProgress] = []
        assert client.recommend(TASK, BUDGET, progress=seen.append).candidates_evaluated == 7
    assert servicer.calls["StreamRecommend"] == 5 and len(seen) == 1


def test_the_wait_ends_at_the_call_s_deadline_and_says_it_waited(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    servicer, target = fake
    servicer.failures["Recommend"] = [SaturatedError(BUSY)] * 1000
    with AdvisorClient(target, retry=WAITS) as client, pytest.raises(ResourceExhaustedError) as out:
        client.recommend(TASK, BUDGET, timeout=3.0)
    # Raised as the last refusal, saying it was waited for; every attempt shared the deadline.
    assert out.value.details.startswith(f"{BUSY}; retried ")
    assert out.value.details.endswith(" s (RetryPolicy.busy_wait_seconds 30)")
    assert out.value.reason == "SERVER_BUSY" and out.value.request_id is not None
    assert 2 <= servicer.calls["Recommend"] < 1000
    remaining = servicer.time_remaining["Recommend"]
    assert remaining is not None and remaining < 3.0 - 0.2
    short = RetryPolicy(max_attempts=1, busy_wait_seconds=0.5)
    servicer.failures["Analyze"] = [SaturatedError(BUSY)] * 1000
    with AdvisorClient(target, retry=short) as client, pytest.raises(ResourceExhaustedError):
        client.analyze(TASK, ARCHITECTURE, timeout=30.0)
    # Waits of at least 0.2 s within 0.5 s: two retries at most (one fewer on a machine so
    # loaded that an attempt's round trip takes a tenth of a second).
    assert 1 <= servicer.calls["Analyze"] <= 3


@pytest.mark.parametrize("streamed", [False, True])
def test_closing_the_client_ends_a_wait_at_once(
    fake: tuple[ScriptedAdvisor, str], streamed: bool
) -> None:
    servicer, target = fake
    method = "StreamRecommend" if streamed else "Recommend"
    servicer.failures[method] = [SaturatedError(BUSY)] * 1000
    slow = RetryPolicy(
        max_attempts=1,
        initial_backoff_seconds=20.0,
        max_backoff_seconds=20.0,
        busy_wait_seconds=600.0,
    )
    client = AdvisorClient(target, retry=slow)
    raised: list[BaseException] = []

    def call() -> None:
        try:
            if streamed:
                list(client.stream_recommend(TASK, BUDGET, timeout=600.0))
            else:
                client.recommend(TASK, BUDGET, timeout=600.0)
        except Exception as error:  # the test's thread reports what the call raised
            raised.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    wait_until(lambda: servicer.calls[method] >= 1, timeout=30.0)
    client.close()
    thread.join(timeout=15.0)  # within a 20 s pause: the close ended it
    assert not thread.is_alive()
    assert [type(e) for e in raised] == [ClientClosedError]
    assert servicer.calls[method] == 1


def test_a_pool_of_more_callers_than_slots_all_get_answers() -> None:
    # The real server, one slot, held by a named search: a waiting call is answered once the
    # slot frees, where a call of the default policy is refused.
    config = ServerConfig(port=0, workers=1, executor="threads", grace_seconds=1.0)
    with start_server(config) as one_slot, AdvisorClient(one_slot.address) as holder:
        thread, _ = start_named_search(holder, one_slot, "holds-the-slot")
        waited: dict[str, Any] = {}
        try:
            with pytest.raises(ResourceExhaustedError):
                holder.list_presets()
            with AdvisorClient(one_slot.address, retry=WAITS) as patient:
                waiter = threading.Thread(
                    target=lambda: waited.update(presets=patient.list_presets())
                )
                waiter.start()
                time.sleep(0.5)  # refused at least once meanwhile
                assert "presets" not in waited
                holder.finish_search("holds-the-slot")
                waiter.join(timeout=60.0)
        finally:
            holder.finish_search("holds-the-slot")
            thread.join(timeout=30.0)
    assert waited["presets"]


@pytest.mark.parametrize("streamed", [False, True])
def test_finishing_a_search_that_waits_for_a_slot_ends_the_wait(streamed: bool) -> None:
    # A pipeline finishing a trial's search while the call waited for a slot: the server ran no
    # search of the name (False) and the call waited on, then ran the whole search.
    config = ServerConfig(port=0, workers=1, executor="threads", grace_seconds=1.0)
    raised: list[BaseException] = []
    with start_server(config) as one_slot, AdvisorClient(one_slot.address) as holder:
        thread, _ = start_named_search(holder, one_slot, "holds-the-slot")
        try:
            with AdvisorClient(one_slot.address, retry=WAITS) as patient:

                def call() -> None:
                    try:
                        if streamed:
                            list(patient.stream_recommend(TASK, BUDGET, search_id="waits"))
                        else:
                            patient.recommend(TASK, BUDGET, search_id="waits")
                    except Exception as error:  # the test's thread reports what it raised
                        raised.append(error)

                waiter = threading.Thread(target=call)
                waiter.start()
                # Asked until the call returns, as the command's Ctrl-C asks: the first ask may
                # come before the call has begun to wait. (The server's answer is False, or True
                # where the ask met an attempt on its way, which the server then refused.)
                asked = time.monotonic()
                while waiter.is_alive() and time.monotonic() - asked < 30.0:
                    patient.finish_search("waits")
                    waiter.join(timeout=0.1)
                assert not waiter.is_alive()
        finally:
            holder.finish_search("holds-the-slot")
            thread.join(timeout=30.0)
    [error] = raised
    assert isinstance(error, SearchNotStartedError) and error.reason == "SERVER_BUSY"
    assert "; finish_search ended the wait for a slot after " in error.details
    assert error.details.endswith(" s: no search ran")


def test_an_advisor_source_passes_its_retry_policy_to_its_clients(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    servicer, target = fake
    servicer.failures["Analyze"] = [SaturatedError(BUSY)] * 2
    source = AdvisorSource(target=target, retry=WAITS)
    analysis = source.analyze(Task.model_validate(TASK), Architecture.model_validate(ARCHITECTURE))
    assert analysis.parameters == 52 and servicer.calls["Analyze"] == 3
