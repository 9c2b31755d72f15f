"""gRPC servers that are not the advisor: what a client meets at a wrong target.

Katib's endpoint of ``advisor serve --katib-port`` serves a health service that does not know the
advisor; some other server serves no health service at all. The client's errors say which it met.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import grpc
from grpc_health.v1 import health, health_pb2_grpc

from tests.support.loopback import loopback_served

__all__ = ["other_grpc_server"]


@contextmanager
def other_grpc_server(*, with_health: bool) -> Iterator[str]:
    """Serve a gRPC server without the advisor (with gRPC's own health service or none); yield
    its target."""
    server = grpc.server(ThreadPoolExecutor(max_workers=1))
    if with_health:
        health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    with loopback_served(server) as target:
        yield target
