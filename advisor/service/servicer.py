"""The ``advisor.v1.ArchitectureAdvisor`` servicer: validate, call the library, convert.

Each method takes an admission slot, checks the request limits, converts the request with
:mod:`advisor.protocol.wire`, calls the library and converts the result back;
:mod:`advisor.service.status` maps every exception to its status. Each call's work gets one
:class:`~advisor.stopping.StopSignal` (:func:`call_stop_signal`): the call's deadline, set
cancelled when the call ends early (gRPC's ``add_callback``), under the admission's drain signal
(the end of the shutdown grace period). A search plans against that deadline and returns its best
so far (``complete=false``) before it; an analysis or a task inference is abandoned.
"""

from __future__ import annotations

import contextvars
import math
import queue
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Final, TypeAlias

import grpc
from google.protobuf.message import Message

from advisor.errors import StoppedError
from advisor.model.arguments import checked_inference_arguments
from advisor.model.budget import Budget
from advisor.model.results import SearchProgress, SearchResult
from advisor.model.task import Task, list_presets
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.service.admission import CallGate, ShuttingDownError
from advisor.service.analysis_cost import check_analysis_cost
from advisor.service.handoff import reply_margin
from advisor.service.limits import RequestLimits, defaults_within
from advisor.service.request_checks import (
    check_analyze_request,
    check_infer_request,
    check_recommend_request,
    read_on_past_limits,
)
from advisor.service.status import ServerTimeBoundError, stream_errors, unary_errors
from advisor.service.threads import ThreadContext
from advisor.stopping import StopCause, StopSignal
from advisor.words import exact_float

# The search and rank engines (FLINT, the geometry, rank and search modules) are imported by the
# methods that run them, once admitted (so a drain waits for a call that is still loading them): a
# server that only lists presets, as ``advisor presets`` starts, never loads them.

__all__ = [
    "REQUIRED_MESSAGES",
    "AdvisorServicer",
    "call_stop_signal",
    "require_messages",
    "shutdown_named",
]


@dataclass(frozen=True)
class _Finished:
    result: SearchResult


@dataclass(frozen=True)
class _Failed:
    error: Exception


_SearchEvent: TypeAlias = SearchProgress | _Finished | _Failed


class AdvisorServicer:
    """Serves the advisor RPCs within ``limits``, admitting calls through ``admission``.

    Each method runs on a worker thread, in the serving process or in a worker process, with that
    call's :class:`ThreadContext` (:func:`advisor.service.calls.run_call` calls them).
    """

    def __init__(self, limits: RequestLimits, admission: CallGate) -> None:
        self._limits = limits
        self._admission = admission

    @unary_errors
    def Recommend(  # noqa: N802 - gRPC method names come from the proto
        self, request: advisor_pb2.RecommendRequest, context: ThreadContext
    ) -> advisor_pb2.RecommendResponse:
        """Run a search to completion (or until stopped) and return the ranked designs."""
        require_messages(request)
        with self._admission.admit():
            from advisor.search.recommend import recommend

            task, budget = self._search_request(request)
            stop = call_stop_signal(context, self._admission.drain)
            # A later page a stop cut is refused (StoppedError): a drain's is UNAVAILABLE.
            with shutdown_named(self._admission):
                result = recommend(task, budget, stop=stop)
        response = advisor_pb2.RecommendResponse()
        wire.search_result_to_proto(result, into=response.result)
        return response

    @stream_errors
    def StreamRecommend(  # noqa: N802 - gRPC method names come from the proto
        self, request: advisor_pb2.StreamRecommendRequest, context: ThreadContext
    ) -> Iterator[advisor_pb2.StreamRecommendResponse]:
        """Run a search, yielding its progress events and then exactly one result."""
        require_messages(request)
        with self._admission.admit():
            from advisor.search.recommend import recommend

            task, budget = self._search_request(request)
            # The library reports progress through a callback while it runs; a helper thread
            # runs the search so this generator can yield each event as it arrives.
            events: queue.SimpleQueue[_SearchEvent] = queue.SimpleQueue()
            stop = call_stop_signal(context, self._admission.drain)

            def search() -> None:
                try:
                    with shutdown_named(self._admission):
                        result = recommend(task, budget, stop=stop, progress=events.put)
                    events.put(_Finished(result))
                except Exception as error:  # handed to the call's thread, which maps it
                    events.put(_Failed(error))

            # Under the call's context, so its lines name the call's request id.
            call = contextvars.copy_context()
            worker = threading.Thread(
                target=call.run, args=(search,), name="advisor-search", daemon=True
            )
            worker.start()
            try:
                while True:
                    event = events.get()
                    if isinstance(event, _Failed):
                        raise event.error
                    if isinstance(event, _Finished):
                        response = advisor_pb2.StreamRecommendResponse()
                        wire.search_result_to_proto(event.result, into=response.result)
                        yield response
                        return
                    yield advisor_pb2.StreamRecommendResponse(
                        progress=wire.search_progress_to_proto(event)
                    )
            finally:
                # On cancellation the signal is already set; the search returns within one
                # poll, and the slot is released only after it has.
                worker.join()

    @unary_errors
    def Analyze(  # noqa: N802 - gRPC method names come from the proto
        self, request: advisor_pb2.AnalyzeRequest, context: ThreadContext
    ) -> advisor_pb2.AnalyzeResponse:
        """Score one architecture against a task."""
        require_messages(request)
        with self._admission.admit():
            from advisor.seprank.analysis import analyze, check_same_input

            with read_on_past_limits(
                lambda: wire.task_from_proto(request.task),
                lambda: wire.architecture_from_proto(request.architecture),
            ):
                check_analyze_request(request, self._limits)
            task = wire.task_from_proto(request.task)
            architecture = wire.architecture_from_proto(request.architecture)
            # The library's first refusal, before the costs that pair the two: an exact
            # analysis on another grid was refused on `exact`, for an instance that cannot exist.
            check_same_input(task, architecture)
            check_analysis_cost(task, architecture, request.exact, self._limits)
            with self._bounded_stop(context, "Analyze") as stop:
                analysis = analyze(task, architecture, exact=request.exact, stop=stop)
        return advisor_pb2.AnalyzeResponse(analysis=wire.analysis_to_proto(analysis))

    @unary_errors
    def ListPresets(  # noqa: N802 - gRPC method names come from the proto
        self, request: advisor_pb2.ListPresetsRequest, context: ThreadContext
    ) -> advisor_pb2.ListPresetsResponse:
        """List the named regions and task presets."""
        with self._admission.admit():
            presets = list_presets()
        return advisor_pb2.ListPresetsResponse(
            presets=[wire.preset_to_proto(preset) for preset in presets]
        )

    @unary_errors
    def InferTask(  # noqa: N802 - gRPC method names come from the proto
        self, request: advisor_pb2.InferTaskRequest, context: ThreadContext
    ) -> advisor_pb2.InferTaskResponse:
        """Infer a task and an arrangement from a data sample's dependence graph.

        The inference polls the call's stop signal and, stopped, has no partial result: it
        ends as an abandoned analysis does (``DEADLINE_EXCEEDED``, ``CANCELLED``, or
        ``UNAVAILABLE`` in a shutdown).
        """
        require_messages(request)
        with self._admission.admit():
            from advisor.infer.task import infer_task

            check_infer_request(request, self._limits)
            given = request.outputs if request.HasField("outputs") else None
            outputs, seed = checked_inference_arguments(given, request.seed)
            graph = wire.dependence_graph_from_proto(request.graph, self._limits.max_locations)
            with self._bounded_stop(context, "InferTask") as stop:
                inferred = infer_task(graph, outputs=outputs, seed=seed, stop=stop)
        return wire.inference_report_to_proto(inferred.report())

    @contextmanager
    def _bounded_stop(self, context: ThreadContext, method: str) -> Iterator[StopSignal]:
        """Yield the stop signal of an analysis or inference, bounded by ``max_time_limit_seconds``.

        A search stops by its time limit; these calls had no bound but the caller's deadline, so
        one sent without a deadline to a server with raised size limits could outlast the grace
        a connection past its maximum age gives its calls (``max_time_limit_seconds`` + grace
        + 30 s) and end ``UNAVAILABLE``, its work lost. Stopped by the bound, the call
        ends ``DEADLINE_EXCEEDED`` naming the setting; a drain still ends it ``UNAVAILABLE``.
        """
        bound = self._limits.max_time_limit_seconds
        call = call_stop_signal(context, self._admission.drain)
        stop = call.limited(bound)
        bound_ends = stop.clock() + bound
        with shutdown_named(self._admission):
            try:
                yield stop
            except StoppedError:
                # The call's own end (its deadline, a cancellation, the drain) keeps its words.
                call_ends = call.deadline
                if call.cancelled or (call_ends is not None and call_ends <= bound_ends):
                    raise
                raise ServerTimeBoundError(
                    f"the {method} call would run past this server's bound of "
                    f"{exact_float(bound)} s (max_time_limit_seconds) and was stopped; send a "
                    "smaller request, or a server whose max_time_limit_seconds is higher",
                    bound,
                ) from None

    def _search_request(
        self, request: advisor_pb2.RecommendRequest | advisor_pb2.StreamRecommendRequest
    ) -> tuple[Task, Budget]:
        """Check the limits, then convert the task, then the budget of a search request.

        In that order, the stages docs/SERVICE.md promises: the first that fails is reported.
        """
        with read_on_past_limits(
            lambda: wire.task_from_proto(request.task),
            lambda: wire.budget_from_proto(request.budget),
        ):
            check_recommend_request(request, self._limits)
        task = wire.task_from_proto(request.task)
        budget = wire.budget_from_proto(request.budget)
        return task, defaults_within(budget, request.budget, self._limits)


REQUIRED_MESSAGES: Final[Mapping[str, tuple[str, ...]]] = {
    "RecommendRequest": ("task", "budget"),
    "StreamRecommendRequest": ("task", "budget"),
    "AnalyzeRequest": ("task", "architecture"),
    "InferTaskRequest": ("graph",),
}
"""The message fields each request must set, by the request message's name, in the order the
missing ones are reported."""


def require_messages(request: Message) -> None:
    """Refuse ``request`` on every message field it must set and does not (its first stage).

    Checked before the call takes a slot, here and on the event loop before a worker is asked
    (:mod:`advisor.service.decoding`): a request without its task was refused only once a
    slot was free, so a flood of them kept valid calls out (``RESOURCE_EXHAUSTED``).
    """
    wire.require_fields(request, REQUIRED_MESSAGES.get(request.DESCRIPTOR.name, ()))


@contextmanager
def shutdown_named(admission: CallGate) -> Iterator[None]:
    """Raise a :class:`StoppedError` of the block as :class:`ShuttingDownError` while draining.

    The call then ends ``UNAVAILABLE`` (retry elsewhere), not as if its own deadline had passed.
    """
    try:
        yield
    except StoppedError as stopped:
        if admission.shutting_down:
            raise ShuttingDownError(f"the server is shutting down: {stopped}") from None
        raise


def call_stop_signal(
    context: ThreadContext | grpc.ServicerContext, drain: StopSignal
) -> StopSignal:
    """Return the stop signal of one call: its deadline and cancellation, under ``drain``.

    The deadline is the call's less :func:`reply_margin`, brought forward when the call is asked
    to finish early (a :class:`ThreadContext`'s hurry, ``FinishSearch``). It is counted from a
    moment read before the call's remaining time, so a pause between the two readings makes it
    earlier, never later: counted from a moment read after, a worker process that the machine's
    load held back between them lost that time from its margin (36 ms of 50 in one of 61 calls
    with a 1 s deadline beside a CPU-bound process). The signal is cancelled once the call ends
    (gRPC runs ``add_callback`` callbacks when the client cancels, the deadline passes or the
    call is done), or at once if it has already ended.
    """
    now = drain.clock()
    remaining = context.time_remaining()
    # gRPC reports a call without a deadline as one in the far future (some stand-ins: None).
    limited = remaining is not None and math.isfinite(remaining)
    deadline = now + remaining - reply_margin(remaining) if limited else None
    signal = StopSignal(deadline, parent=drain, cause=StopCause.CALL_DEADLINE)
    if not context.add_callback(signal.cancel):
        signal.cancel()
    if isinstance(context, ThreadContext):
        context.add_hurry_callback(partial(signal.bring_forward, cause=StopCause.FINISH))
    return signal
