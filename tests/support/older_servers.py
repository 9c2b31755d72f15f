"""An advisor server of an older advisor.v1: the library's answers without the newer fields.

A server that predates a field leaves it out of its answers, which a client reads as proto3's
default (0, false, empty). :func:`older_server` answers ``Recommend`` and ``Analyze`` as the
library does, then clears the fields its caller names, so a test meets such a server through
the real client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import grpc

from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol._proto.advisor.v1 import advisor_pb2_grpc
from advisor.search.recommend import recommend
from advisor.seprank.analysis import analyze

__all__ = ["older_server"]


class _OlderAdvisor(advisor_pb2_grpc.ArchitectureAdvisorServicer):
    """The library's answers, each passed to its ``older_*`` callback before it is sent."""

    def __init__(
        self,
        older_result: Callable[[pb.SearchResult], None],
        older_analysis: Callable[[pb.Analysis], None],
    ) -> None:
        self._older_result = older_result
        self._older_analysis = older_analysis

    def Recommend(  # noqa: N802 - gRPC's method name
        self, request: pb.RecommendRequest, context: grpc.ServicerContext
    ) -> pb.RecommendResponse:
        result = recommend(
            wire.task_from_proto(request.task), wire.budget_from_proto(request.budget)
        )
        response = pb.RecommendResponse()
        self._older_result(wire.search_result_to_proto(result, into=response.result))
        return response

    def Analyze(  # noqa: N802 - gRPC's method name
        self, request: pb.AnalyzeRequest, context: grpc.ServicerContext
    ) -> pb.AnalyzeResponse:
        task = wire.task_from_proto(request.task)
        architecture = wire.architecture_from_proto(request.architecture)
        response = pb.AnalyzeResponse(analysis=wire.analysis_to_proto(analyze(task, architecture)))
        self._older_analysis(response.analysis)
        return response


@contextmanager
def older_server(
    *,
    older_result: Callable[[pb.SearchResult], None] = lambda _: None,
    older_analysis: Callable[[pb.Analysis], None] = lambda _: None,
) -> Iterator[str]:
    """Serve the library's answers less the fields the callbacks clear; yield the target."""
    server = grpc.server(ThreadPoolExecutor(max_workers=1))
    # The methods it leaves out answer UNIMPLEMENTED, as the generated base class has them.
    advisor = _OlderAdvisor(older_result, older_analysis)  # type: ignore[abstract]
    advisor_pb2_grpc.add_ArchitectureAdvisorServicer_to_server(advisor, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)
