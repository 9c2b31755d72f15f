"""Fixtures for the reliability tests: one in-process server per module, on 127.0.0.1 port 0."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from advisor.service.server import RunningServer, ServerConfig, start_server


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    """A server with two advisor slots (the machine has two cores), stopped after the module."""
    with start_server(ServerConfig(workers=2, grace_seconds=1.0)) as running:
        yield running


@pytest.fixture(scope="module")
def channel(server: RunningServer) -> Iterator[grpc.Channel]:
    """An insecure channel to ``server``."""
    with grpc.insecure_channel(server.address) as open_channel:
        yield open_channel
