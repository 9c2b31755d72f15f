"""A server's connections as a load balancer or a long-lived client holds them: keepalive pings,
and replicas that drain."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable

import grpc
import pytest
from advisor_client import client as client_module
from advisor_client.client import AdvisorClient
from advisor_client.connection import RetryPolicy
from advisor_client.errors import UnavailableError
from grpc_health.v1 import health_pb2, health_pb2_grpc

from advisor.protocol import wire
from advisor.service import server as server_module
from advisor.service.server import RunningServer
from tests.support.draining import held_draining
from tests.support.processes import stat_fields
from tests.support.server_process import ServerProcess
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
    with AdvisorClient(target) as client:
        assert client.list_presets()
        with held_draining(draining):
            for _ in range(4):  # whichever replica each call meets first
                assert client.list_presets()


def _scale_pings(monkeypatch: pytest.MonkeyPatch, scale: float) -> None:
    """Scale the client's keepalive interval and the server's least ping interval alike."""
    for module, name in (
        (client_module, "_KEEPALIVE_SECONDS"),
        (server_module, "_MIN_CLIENT_PING_SECONDS"),
    ):
        monkeypatch.setattr(module, name, getattr(module, name) * scale)


def test_a_call_to_a_server_that_stopped_answering_fails_within_the_keepalive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server that stops answering without closing the connection (its host lost, a NAT or
    # balancer dropping the path; here SIGSTOP) left the client's call waiting for its
    # deadline: the client sent no keepalive pings. Scaled down 40 times: a ping after 0.5 s
    # (gRPC sends one a second at most), answered within 0.5 s.
    _scale_pings(monkeypatch, 1 / 40)
    monkeypatch.setattr(client_module, "_KEEPALIVE_TIMEOUT_SECONDS", 0.5)
    with (
        ServerProcess("--workers", "1", "--executor", "threads") as server,
        AdvisorClient(server.address, retry=RetryPolicy(max_attempts=1)) as client,
    ):
        assert client.list_presets()
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            wait_until(lambda: stat_fields(server.process.pid)[0] == "T")  # a signal is no stop
            with pytest.raises(UnavailableError):
                client.list_presets(timeout=30)  # not DEADLINE_EXCEEDED at 30 s
        finally:
            os.kill(server.process.pid, signal.SIGCONT)


def test_the_clients_keepalive_is_what_the_server_permits(
    serve: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client pings a connection whose calls carry nothing (a search answers only at its
    # end); a server permitting fewer pings would close it with GOAWAY "too_many_pings", and the
    # search with it. Both scaled down 20 times: an 8 s search pinged every second (gRPC's
    # least), where the server permits one every 0.5 s; at 1.5 s it failed "Too many pings".
    _scale_pings(monkeypatch, 1 / 20)
    running = serve(workers=1, executor="threads")
    with AdvisorClient(running.address, retry=RetryPolicy(max_attempts=1)) as client:
        result = client.recommend(
            wire.task_from_proto(LONG_TASK), wire.budget_from_proto(long_budget(8.0))
        )
    assert result.recommendations


# An HTTP/2 client's first bytes: the preface, its (empty) SETTINGS, and the ACK of the server's.
_HTTP2_OPENING = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(3) + b"\x04\x00" + bytes(4)
_HTTP2_OPENING += bytes(3) + b"\x04\x01" + bytes(4)
_GOAWAY = 7


def _frame_types_until_closed(connection: socket.socket) -> list[int]:
    """Read HTTP/2 frames, answering none, until the peer closes; return their types."""
    types: list[int] = []
    while len(head := connection.recv(9, socket.MSG_WAITALL)) == 9:
        length = int.from_bytes(head[:3], "big")
        if length:
            connection.recv(length, socket.MSG_WAITALL)
        types.append(head[3])
    return types


def test_the_server_closes_a_connection_whose_peer_stopped_answering_its_pings(
    serve: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server was to close a connection whose ping went unanswered for 20 s
    # (keepalive_timeout_ms), but gRPC's transport waited the minute of its own ping timeout:
    # here a 1 s keepalive and a 1 s timeout closed the connection after 61 s, not 2 s.
    monkeypatch.setattr(server_module, "_KEEPALIVE_TIMEOUT_SECONDS", 1.0)
    running = serve(workers=1, executor="threads", keepalive_seconds=1.0)
    host, _, port = running.address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(_HTTP2_OPENING)
        types = _frame_types_until_closed(connection)  # a timeout at 30 s fails the test
    assert types[-1] == _GOAWAY


_HEADERS, _PING, _END_HEADERS, _ACK = 1, 6, 4, 1


def _silent_call_opening() -> bytes:
    """A HEADERS frame opening a ``ListPresets`` call on stream 1 whose message never comes."""
    fields = {
        ":method": "POST",
        ":scheme": "http",
        ":path": "/advisor.v1.ArchitectureAdvisor/ListPresets",
        ":authority": "advisor",
        "content-type": "application/grpc",
        "te": "trailers",
    }
    # HPACK literals without indexing, new names, no Huffman coding (RFC 7541, 6.2.2).
    block = b"".join(
        b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()
        for name, value in fields.items()
    )
    return (
        len(block).to_bytes(3, "big")
        + bytes([_HEADERS, _END_HEADERS])
        + (1).to_bytes(4, "big")
        + block
    )


def test_the_server_goes_on_pinging_a_call_through_which_nothing_flows(
    serve: Callable[..., RunningServer],
) -> None:
    # gRPC's grpc.http2.max_pings_without_data (2 by default) stops a client's pings after two
    # with no data sent; were it to hold the server's too, a silent peer under a search of
    # max_time_limit_seconds would be watched for only two keepalive intervals. It does not:
    # gRPC applies it to clients only (chttp2 ping_rate_policy.cc), so the server sets none.
    # Here a call waits for its request message while the peer only answers pings.
    running = serve(workers=1, executor="threads", keepalive_seconds=1.0, request_read_seconds=60)
    host, _, port = running.address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(_HTTP2_OPENING + _silent_call_opening())
        pings = 0
        while pings < 4:  # twice the cap; a server that stopped pinging times out at 30 s
            head = connection.recv(9, socket.MSG_WAITALL)
            assert len(head) == 9, "the server closed the connection"
            length = int.from_bytes(head[:3], "big")
            payload = connection.recv(length, socket.MSG_WAITALL) if length else b""
            assert head[3] != 0, "the call sent data"  # DATA: something flowed after all
            if head[3] == _PING and not head[4] & _ACK:
                connection.sendall(head[:4] + bytes([_ACK]) + bytes(4) + payload)
                pings += 1
