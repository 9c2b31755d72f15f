"""A server's connections as a load balancer or a long-lived client holds them: keepalive pings,
and replicas that drain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc
import pytest
from advisor_client.client import AdvisorClient
from grpc_health.v1 import health_pb2, health_pb2_grpc

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol._proto.advisor.v1 import advisor_pb2_grpc
from advisor.service import server as server_module
from advisor.service.server import RunningServer
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget

# The server's least interval between a client's pings, shortened from 10 s so that a test
# holds a connection past several of them in seconds.
_MIN_PING_SECONDS = 0.2


def _connection_states(channel: grpc.Channel) -> list[grpc.ChannelConnectivity]:
    """Connect ``channel`` and return the list its connectivity states are appended to."""
    states: list[grpc.ChannelConnectivity] = []
    channel.subscribe(states.append, try_to_connect=True)
    health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=30)
    return states


def test_a_client_pinging_its_idle_connection_as_often_as_permitted_keeps_it(
    serve: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client behind a NAT or load balancer keeps its connection alive with pings while it
    # has no call open (keepalive_permit_without_calls). The server said it permits one every
    # 10 s, but gRPC held an idle connection to one in 2 hours and sent GOAWAY "too_many_pings"
    # at the third ping: here a client pinging every 0.5 s where 0.2 s is permitted.
    monkeypatch.setattr(server_module, "_MIN_CLIENT_PING_SECONDS", _MIN_PING_SECONDS)
    running = serve(port=0, workers=1, executor="threads")
    options = [
        ("grpc.keepalive_time_ms", round(_MIN_PING_SECONDS * 2500)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    with grpc.insecure_channel(running.address, options=options) as channel:
        states = _connection_states(channel)
        time.sleep(_MIN_PING_SECONDS * 25)  # ten of the client's pings; GOAWAY came at 1.5 s
        assert states[-1] is grpc.ChannelConnectivity.READY, states


def _health(channel: grpc.Channel) -> int:
    status: int = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest()).status
    return status


def test_a_call_a_draining_replica_refuses_is_retried_on_another(
    serve: Callable[..., RunningServer],
) -> None:
    # Two replicas behind one target, as a DNS name of several addresses gives them: the client
    # sent every call, and every retry of it, down its one connection (gRPC's pick_first), so
    # while the replica it had drained (up to --grace, 10 s) its calls failed UNAVAILABLE after
    # 1.4 s of retries, though the other replica served.
    draining = serve(workers=1, executor="threads", grace_seconds=60.0)
    other = serve(workers=1, executor="threads")
    ports = [running.address.rpartition(":")[2] for running in (draining, other)]
    target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
    with (
        AdvisorClient(target) as client,
        grpc.insecure_channel(draining.address) as channel,
    ):
        assert client.list_presets()
        # A search in flight holds the drain open until the test cancels it.
        search = advisor_pb2_grpc.ArchitectureAdvisorStub(channel).Recommend.future(
            pb.RecommendRequest(task=LONG_TASK, budget=long_budget(60.0))
        )
        wait_until(lambda: draining.in_flight == 1)
        stop = threading.Thread(target=draining.stop)
        stop.start()
        try:
            wait_until(lambda: _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING)
            for _ in range(4):  # whichever replica each call meets first
                assert client.list_presets()
        finally:
            search.cancel()
            stop.join()
