"""Fixtures of the service tests: the contract suite runs once per transport and executor."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest

from advisor.service.server import RunningServer, ServerConfig, start_server
from tests.support.harness import CONTRACT_LIMITS, Advisor, DirectAdvisor, LiveAdvisor


def _live(executor: str) -> Iterator[tuple[RunningServer, grpc.Channel]]:
    """A plain server on 127.0.0.1, any free port, two advisor slots (the machine has two cores)."""
    config = ServerConfig(
        port=0, workers=2, grace_seconds=1.0, limits=CONTRACT_LIMITS, executor=executor
    )
    with start_server(config) as running, grpc.insecure_channel(running.address) as channel:
        yield running, channel


# The live servers are the service tests' package's, not each module's: the tests only call
# them, and starting worker processes costs 1.5 s (3 s on a loaded machine) per module.
@pytest.fixture(scope="package")
def live_processes() -> Iterator[tuple[RunningServer, grpc.Channel]]:
    """A server whose calls work in worker processes (the default), and a channel to it."""
    yield from _live("processes")


@pytest.fixture(scope="package")
def live_threads() -> Iterator[tuple[RunningServer, grpc.Channel]]:
    """A server whose calls work on its own threads (the CLI's), and a channel to it."""
    yield from _live("threads")


@pytest.fixture(scope="package")
def live_server(live_processes: tuple[RunningServer, grpc.Channel]) -> RunningServer:
    """The default server of :func:`live_processes`."""
    return live_processes[0]


@pytest.fixture(scope="package")
def channel(live_processes: tuple[RunningServer, grpc.Channel]) -> grpc.Channel:
    """A channel to :func:`live_server`."""
    return live_processes[1]


@pytest.fixture(params=["direct", "threads", "processes"])
def advisor(request: pytest.FixtureRequest) -> Advisor:
    """The servicer called directly, then behind a live server with each executor."""
    if request.param == "direct":
        return DirectAdvisor()
    running, channel = request.getfixturevalue(f"live_{request.param}")
    return LiveAdvisor(channel, server=running)


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """Start servers with the given settings; all are stopped after the test."""
    started: list[RunningServer] = []

    def start(**settings: object) -> RunningServer:
        running = start_server(ServerConfig(**({"grace_seconds": 1.0} | settings)))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop(0)
