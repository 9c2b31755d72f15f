"""Fixtures of the service tests: the contract suite runs once per transport."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest

from advisor.service.server import RunningServer, ServerConfig, start_server
from tests.support.harness import CONTRACT_LIMITS, Advisor, DirectAdvisor, LiveAdvisor


@pytest.fixture(scope="module")
def live_server() -> Iterator[RunningServer]:
    """A plain server on 127.0.0.1, any free port, two advisor slots (the machine has two cores)."""
    config = ServerConfig(port=0, workers=2, grace_seconds=1.0, limits=CONTRACT_LIMITS)
    with start_server(config) as running:
        yield running


@pytest.fixture(scope="module")
def channel(live_server: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(live_server.address) as open_channel:
        yield open_channel


@pytest.fixture(params=["direct", "live"])
def advisor(request: pytest.FixtureRequest) -> Advisor:
    """The servicer called directly, then the same servicer behind a live server."""
    if request.param == "direct":
        return DirectAdvisor()
    channel: grpc.Channel = request.getfixturevalue("channel")
    return LiveAdvisor(channel, server=request.getfixturevalue("live_server"))


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """Start servers with the given settings; all are stopped after the test."""
    started: list[RunningServer] = []

    def start(**settings: object) -> RunningServer:
        running = start_server(ServerConfig(**({"grace_seconds": 1.0} | settings)))  # type: ignore[arg-type]
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop(0)
