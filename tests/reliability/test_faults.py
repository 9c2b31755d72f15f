"""Faults: deadlines and cancellation stop the server's work, vanished clients leak no worker,
and SIGTERM under load drains cleanly.

"Stops the server's work" is observed on the server: its count of advisor calls in flight must
reach zero once the deadline passes or the client cancels, long before the long calls
(``LONG_CALLS``) would end on their own: a 30 s search, an analysis of 256 correlations over
overlapping windows, and exact certification of 256 correlations, each tens of seconds. How soon
is a speed figure, measured by ``python -m bench.faults`` (docs/RELIABILITY.md, "Faults": tens
of milliseconds on a quiet machine); the bound here leaves room for a loaded one, where one
uninterruptible chunk of an analysis took up to 0.45 s.
"""

from __future__ import annotations

import grpc
import pytest

from advisor.service.server import RunningServer
from tests.support.faults import (
    LONG_CALLS,
    cancellation_release,
    deadline_release,
    disconnect_leaks,
    sigterm_under_load,
)

STOPPED_SECONDS = 2.0
"""The work stopped: the slot was free this soon after the deadline or the cancel (a tenth of
the time any long call takes unstopped)."""


@pytest.mark.parametrize("name", list(LONG_CALLS))
def test_a_deadline_frees_the_worker(
    channel: grpc.Channel, server: RunningServer, name: str
) -> None:
    outcome, late = deadline_release(channel, server, LONG_CALLS[name], deadline=0.3)
    # A search cut just before the deadline still answers OK (complete=false).
    assert outcome.code in (grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert late <= STOPPED_SECONDS


@pytest.mark.parametrize("name", list(LONG_CALLS))
def test_cancelling_a_call_stops_its_work(
    channel: grpc.Channel, server: RunningServer, name: str
) -> None:
    assert cancellation_release(channel, server, LONG_CALLS[name]) <= STOPPED_SECONDS


def test_streaming_clients_killed_mid_stream_leak_no_worker(server: RunningServer) -> None:
    # Twice as many kills as slots: a leak of even one slot per kill would show.
    slowest, admitted = disconnect_leaks(server, workers=2, disconnects=4)
    assert slowest <= STOPPED_SECONDS
    assert admitted == ["OK", "OK"]


def test_sigterm_under_load_finishes_the_calls_in_flight_and_exits_zero() -> None:
    report = sigterm_under_load(workers=2, grace=5.0, search_seconds=1.0)
    assert report.health_after_signal == "NOT_SERVING"
    assert report.new_call_status == "UNAVAILABLE"
    # The searches finished on their own, with results, well before the grace period ended.
    assert report.in_flight_statuses == ["OK", "OK"]
    assert min(report.in_flight_recommendations) > 0
    assert report.exit_status == 0
    assert report.exit_seconds < 5.0
    # A call that reaches the port as gRPC itself stops may be CANCELLED by it; nothing else.
    allowed = {"OK", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "CANCELLED"}
    assert set(report.background_statuses) <= allowed
