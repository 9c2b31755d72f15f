"""The ``advisor.v1.ArchitectureAdvisor`` servicer: validate, call the library, convert.

Each method takes an admission slot, checks the request limits, converts the request with
:mod:`advisor.protocol.wire`, calls the library and converts the result back;
:mod:`advisor.service.status` maps every exception to its status. A search polls
:meth:`AdvisorServicer._stopper`'s predicate, so a cancelled call, an expiring deadline or a server
shutdown ends it early with the best found so far (``complete=false``) instead of running on
unobserved.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

import grpc

from advisor.model.budget import Budget
from advisor.model.results import SearchProgress, SearchResult
from advisor.model.task import Task, list_presets
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2, advisor_pb2_grpc
from advisor.service.admission import Admission
from advisor.service.limits import (
    RequestLimits,
    check_analysis_cost,
    check_analyze_request,
    check_recommend_request,
)
from advisor.service.status import stream_errors, unary_errors

# The search and rank engines (FLINT, the geometry, rank and search modules) are imported by the
# methods that run them, once admitted (so a drain waits for a call that is still loading them): a
# server that only lists presets, as ``advisor presets`` starts, never loads them.

__all__ = ["STOP_MARGIN_SECONDS", "AdvisorServicer"]

STOP_MARGIN_SECONDS = 0.1
"""How long before a deadline (or the end of the shutdown grace) a search is told to stop: the
time it needs to return its best candidates, convert them and send the response."""


@dataclass(frozen=True)
class _Finished:
    result: SearchResult


@dataclass(frozen=True)
class _Failed:
    error: Exception


_SearchEvent: TypeAlias = SearchProgress | _Finished | _Failed


class AdvisorServicer(advisor_pb2_grpc.ArchitectureAdvisorServicer):
    """Serves the four advisor RPCs within ``limits``, admitting calls through ``admission``."""

    def __init__(self, limits: RequestLimits, admission: Admission) -> None:
        self._limits = limits
        self._admission = admission

    @unary_errors
    def Recommend(  # noqa: N802 - gRPC method names come from the proto
        self, request: advisor_pb2.RecommendRequest, context: grpc.ServicerContext
    ) -> advisor_pb2.RecommendResponse:
        """Run a search to completion (or until stopped) and return the ranked designs."""
        with self._admission.admit():
            from advisor.search.recommend import recommend

            task, budget = self._search_request(request)
            result = recommend(task, budget, should_stop=self._stopper(context))
        return advisor_pb2.RecommendResponse(result=wire.search_result_to_proto(result))

    @stream_errors
    def StreamRecommend(  # noqa: N802 - gRPC method names come from the proto
        self, request: advisor_pb2.StreamRecommendRequest, context: grpc.ServicerContext
    ) -> Iterator[advisor_pb2.StreamRecommendResponse]:
        """Run a search, yielding its progress events and then exactly one result."""
        with self._admission.admit():
            from advisor.search.recommend import recommend

            task, budget = self._search_request(request)
            # The library reports progress through a callback while it runs; a helper thread
            # runs the search so this generator can yield each event as it arrives.
            events: queue.SimpleQueue[_SearchEvent] = queue.SimpleQueue()
            should_stop = self._stopper(context)

            def search() -> None:
                try:
                    result = recommend(task, budget, should_stop=should_stop, progress=events.put)
                    events.put(_Finished(result))
                except Exception as error:  # handed to the call's thread, which maps it
                    events.put(_Failed(error))

            worker = threading.Thread(target=search, name="advisor-search", daemon=True)
            worker.start()
            try:
                while True:
                    event = events.get()
                    if isinstance(event, _Failed):
                        raise event.error
                    if isinstance(event, _Finished):
                        yield advisor_pb2.StreamRecommendResponse(
                            result=wire.search_result_to_proto(event.result)
                        )
                        return
                    yield advisor_pb2.StreamRecommendResponse(
                        progress=wire.search_progress_to_proto(event)
                    )
            finally:
                # On cancellation the predicate is already true; the search returns within one
                # poll, and the slot is released only after it has.
                worker.join()

    @unary_errors
    def Analyze(  # noqa: N802 - gRPC method names come from the proto
        self, request: advisor_pb2.AnalyzeRequest, context: grpc.ServicerContext
    ) -> advisor_pb2.AnalyzeResponse:
        """Score one architecture against a task."""
        with self._admission.admit():
            from advisor.seprank.analysis import analyze

            check_analyze_request(request, self._limits)
            task = wire.task_from_proto(request.task)
            architecture = wire.architecture_from_proto(request.architecture)
            check_analysis_cost(task, architecture, request.exact, self._limits)
            analysis = analyze(
                task, architecture, exact=request.exact, should_stop=self._stopper(context)
            )
        return advisor_pb2.AnalyzeResponse(analysis=wire.analysis_to_proto(analysis))

    @unary_errors
    def ListPresets(  # noqa: N802 - gRPC method names come from the proto
        self, request: advisor_pb2.ListPresetsRequest, context: grpc.ServicerContext
    ) -> advisor_pb2.ListPresetsResponse:
        """List the named regions and task presets."""
        with self._admission.admit():
            presets = list_presets()
        return advisor_pb2.ListPresetsResponse(
            presets=[wire.preset_to_proto(preset) for preset in presets]
        )

    def _search_request(
        self, request: advisor_pb2.RecommendRequest | advisor_pb2.StreamRecommendRequest
    ) -> tuple[Task, Budget]:
        """Check the limits, then convert the task and budget of a search request."""
        check_recommend_request(request, self._limits)
        return wire.task_from_proto(request.task), wire.budget_from_proto(request.budget)

    def _stopper(self, context: grpc.ServicerContext) -> Callable[[], bool]:
        """Return the predicate a search polls: cancelled, near its deadline, or shutting down."""

        def should_stop() -> bool:
            if not context.is_active():
                return True
            # gRPC reports a call without a deadline as one in the far future, never as None.
            if context.time_remaining() < STOP_MARGIN_SECONDS:
                return True
            return self._admission.should_wind_down(STOP_MARGIN_SECONDS)

        return should_stop
