"""A server held draining: health NOT_SERVING, new calls refused, while a block runs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol._proto.advisor.v1 import advisor_pb2_grpc
from advisor.service.server import RunningServer
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget

__all__ = ["held_draining"]


@contextlib.contextmanager
def held_draining(running: RunningServer) -> Iterator[None]:
    """Stop ``running`` on a thread and run the block once it drains; the stop ends after it.

    A search in flight holds the drain open (give the server a ``grace_seconds`` longer than
    the block) until the block ends and the search is cancelled.
    """
    with grpc.insecure_channel(running.address) as channel:
        search = advisor_pb2_grpc.ArchitectureAdvisorStub(channel).Recommend.future(
            pb.RecommendRequest(task=LONG_TASK, budget=long_budget(60.0))
        )
        wait_until(lambda: running.in_flight == 1)
        stop = threading.Thread(target=running.stop)
        stop.start()
        try:
            health = health_pb2_grpc.HealthStub(channel)
            not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
            wait_until(lambda: health.Check(health_pb2.HealthCheckRequest()).status == not_serving)
            yield
        finally:
            search.cancel()
            stop.join()
