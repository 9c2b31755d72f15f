"""A server's connections as a load balancer or a long-lived client holds them: keepalive pings."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from advisor.service import server as server_module
from advisor.service.server import RunningServer

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
