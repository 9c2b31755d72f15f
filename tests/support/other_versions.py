"""Advisor servers of another advisor.v1 version: the library's answers, less or more than ours.

A server that predates a field leaves it out of its answers, which a client reads as proto3's
default (0, false, empty), and skips it in a request, unread; a newer one may send what this
version has no name for (an enum value, a oneof member). :func:`other_version_server` answers
``Recommend``, ``Analyze``, ``StreamRecommend`` and ``ListPresets`` as the library does, clearing
the request's budget fields and changing the answer's fields as its caller's callbacks do, and
streams the raw events its caller gives before the result, so a test meets such a server through
the real client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import grpc

from advisor.model.task import list_presets
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.search.recommend import recommend
from advisor.seprank.analysis import analyze
from tests.support.loopback import loopback_served

__all__ = ["other_version_server"]

_SERVICE = "advisor.v1.ArchitectureAdvisor"


class _OtherVersion:
    """The library's answers, each passed to its ``older_*`` callback before it is sent (a
    search's budget before it is read)."""

    def __init__(
        self,
        older_result: Callable[[pb.SearchResult], None],
        older_analysis: Callable[[pb.Analysis], None],
        events: Sequence[bytes],
        older_budget: Callable[[pb.Budget], None],
        other_presets: Callable[[pb.ListPresetsResponse], None],
    ) -> None:
        self._older_budget = older_budget
        self._other_presets = other_presets
        self._older_result = older_result
        self._older_analysis = older_analysis
        self._events = events

    def _result(self, request: pb.RecommendRequest | pb.StreamRecommendRequest) -> pb.SearchResult:
        self._older_budget(request.budget)
        task, budget = wire.task_from_proto(request.task), wire.budget_from_proto(request.budget)
        message = wire.search_result_to_proto(recommend(task, budget))
        self._older_result(message)
        return message

    def recommend(self, request: pb.RecommendRequest, context: grpc.ServicerContext) -> bytes:
        return pb.RecommendResponse(result=self._result(request)).SerializeToString()

    def stream(
        self, request: pb.StreamRecommendRequest, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        yield from self._events
        yield pb.StreamRecommendResponse(result=self._result(request)).SerializeToString()

    def analyze(self, request: pb.AnalyzeRequest, context: grpc.ServicerContext) -> bytes:
        task = wire.task_from_proto(request.task)
        architecture = wire.architecture_from_proto(request.architecture)
        analysis = wire.analysis_to_proto(analyze(task, architecture))
        self._older_analysis(analysis)
        return pb.AnalyzeResponse(analysis=analysis).SerializeToString()

    def presets(self, request: pb.ListPresetsRequest, context: grpc.ServicerContext) -> bytes:
        response = pb.ListPresetsResponse(
            presets=[wire.preset_to_proto(preset) for preset in list_presets()]
        )
        self._other_presets(response)
        return response.SerializeToString()


def _as_is(data: bytes) -> bytes:
    """Send an answer's bytes as they are: a newer server's may hold what no stub here names."""
    return data


@contextmanager
def other_version_server(
    *,
    older_result: Callable[[pb.SearchResult], None] = lambda _: None,
    older_analysis: Callable[[pb.Analysis], None] = lambda _: None,
    events: Sequence[bytes] = (),
    older_budget: Callable[[pb.Budget], None] = lambda _: None,
    other_presets: Callable[[pb.ListPresetsResponse], None] = lambda _: None,
) -> Iterator[str]:
    """Serve the library's answers less the fields the callbacks clear; yield the target.

    ``events``: the serialized ``StreamRecommendResponse`` messages a ``StreamRecommend`` call
    gets before its result (a newer server's may be of a kind this version does not know).
    ``older_budget`` clears the fields a search request's budget is read without;
    ``other_presets`` changes the ``ListPresets`` answer (a newer server's kind of preset).
    """
    advisor = _OtherVersion(older_result, older_analysis, events, older_budget, other_presets)
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "Recommend": grpc.unary_unary_rpc_method_handler(
            advisor.recommend, pb.RecommendRequest.FromString, _as_is
        ),
        "StreamRecommend": grpc.unary_stream_rpc_method_handler(
            advisor.stream, pb.StreamRecommendRequest.FromString, _as_is
        ),
        "Analyze": grpc.unary_unary_rpc_method_handler(
            advisor.analyze, pb.AnalyzeRequest.FromString, _as_is
        ),
        "ListPresets": grpc.unary_unary_rpc_method_handler(
            advisor.presets, pb.ListPresetsRequest.FromString, _as_is
        ),
    }
    server = grpc.server(ThreadPoolExecutor(max_workers=1))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(_SERVICE, handlers)])
    with loopback_served(server) as target:
        yield target
