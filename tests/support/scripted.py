"""A scripted fake of the advisor service, for testing what calls it: the client and the CLI.

:class:`ScriptedAdvisor` fails each method on demand, can hold its answers until released, and
records what every call carried; :func:`scripted_server` serves it on 127.0.0.1, port 0, over
real gRPC.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from advisor.errors import InvalidRequestError
from advisor.protocol._proto.advisor.v1 import advisor_pb2, advisor_pb2_grpc
from advisor.service.server import ADVISOR_SERVICE_NAME
from advisor.service.status import abort_for, bad_request_status
from tests.support.loopback import loopback_served

__all__ = [
    "ARCHITECTURE",
    "BUDGET",
    "HOLD_SECONDS",
    "TASK",
    "ScriptedAdvisor",
    "closed_target",
    "scripted_server",
]

HOLD_SECONDS = 30.0
"""The longest a held call waits for its release."""

TASK: dict[str, Any] = {
    "input": {"shape": [8]},
    "correlations": [{"name": "ends", "a": {"indices": [0, 1]}, "b": {"indices": [6, 7]}}],
}
"""A small valid task document the tests of the client and the CLI send."""

BUDGET: dict[str, Any] = {"max_parameters": 400, "time_limit_seconds": 5.0}
"""A small valid budget document sent with :data:`TASK`."""

ARCHITECTURE: dict[str, Any] = {
    "input": {"shape": [8]},
    "representation": 2,
    "layers": [
        {"channels": 2, "pool": [2]},
        {"channels": 4, "pool": [2]},
        {"channels": 4, "pool": [2]},
    ],
}
"""A small valid architecture document for :data:`TASK`, sent to ``Analyze``."""


class ScriptedAdvisor(advisor_pb2_grpc.ArchitectureAdvisorServicer):
    """Fails each method with the scripted failures first, then answers; records every call.

    A scripted failure is a status code (aborted with the message ``scripted CODE``) or an
    :class:`InvalidRequestError`, sent as the service sends it (BadRequest field violations), or
    another error the service maps to a status (:func:`~advisor.service.status.abort_for`: a
    :class:`~advisor.service.admission.SaturatedError` is a busy server's refusal).
    While ``release`` is an unset event, every call that is not failed waits for it (at most
    ``HOLD_SECONDS``) before answering, so only the client's deadline can end it early.
    A stream sends ``progress_events`` progress events at once (their ``candidates_evaluated``
    counting up from 3), then its result.
    With ``hold_stream_after_first_event``, a stream sends its first event and then waits (at
    most ``HOLD_SECONDS``) for the client to end it; ``stream_ended`` is set when a stream ends,
    however it ended. ``health`` answers ``grpc.health.v1`` checks: the advisor service is
    ``SERVING`` until a test sets it otherwise. ``requests`` holds each method's last request.
    """

    def __init__(self) -> None:
        self.failures: defaultdict[str, list[grpc.StatusCode | Exception]] = defaultdict(list)
        self.calls: Counter[str] = Counter()
        self.requests: dict[str, Any] = {}
        self.time_remaining: dict[str, float | None] = {}
        self.metadata: dict[str, dict[str, str | bytes]] = {}
        self.release: threading.Event | None = None
        self.fail_stream_after_first_event = False
        self.hold_stream_after_first_event = False
        self.progress_events = 1
        self.stream_ended = threading.Event()
        self.health = health.HealthServicer()
        self.health.set(ADVISOR_SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)

    def _begin(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        self.calls[method] += 1
        self.requests[method] = request
        self.time_remaining[method] = context.time_remaining()
        self.metadata[method] = dict(context.invocation_metadata())
        if self.failures[method]:
            failure = self.failures[method].pop(0)
            if isinstance(failure, InvalidRequestError):
                context.abort_with_status(bad_request_status(failure))
            if isinstance(failure, Exception):
                abort_for(failure, context, method)
            context.abort(failure, f"scripted {failure.name}")
        if self.release is not None:
            self.release.wait(HOLD_SECONDS)

    def Recommend(  # noqa: N802 - gRPC method names come from the proto
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        self._begin("Recommend", request, context)
        return advisor_pb2.RecommendResponse(result=_SEARCH_RESULT)

    def StreamRecommend(  # noqa: N802 - gRPC method names come from the proto
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        self._begin("StreamRecommend", request, context)
        context.add_callback(self.stream_ended.set)
        yield advisor_pb2.StreamRecommendResponse(progress=_PROGRESS)
        for later in range(1, self.progress_events):
            progress = advisor_pb2.SearchProgress()
            progress.CopyFrom(_PROGRESS)
            progress.candidates_evaluated += later
            yield advisor_pb2.StreamRecommendResponse(progress=progress)
        if self.hold_stream_after_first_event:
            self.stream_ended.wait(HOLD_SECONDS)
            return
        if self.fail_stream_after_first_event:
            context.abort(grpc.StatusCode.UNAVAILABLE, "scripted UNAVAILABLE mid-stream")
        yield advisor_pb2.StreamRecommendResponse(result=_SEARCH_RESULT)

    def Analyze(  # noqa: N802 - gRPC method names come from the proto
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        self._begin("Analyze", request, context)
        return advisor_pb2.AnalyzeResponse(analysis=_ANALYSIS)

    def ListPresets(  # noqa: N802 - gRPC method names come from the proto
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        self._begin("ListPresets", request, context)
        return advisor_pb2.ListPresetsResponse(presets=[_PRESET])

    def InferTask(  # noqa: N802 - gRPC method names come from the proto
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        # No test infers through this fake: past any scripted failure it answers as the
        # generated base class does (the base's stub declares the method abstract).
        self._begin("InferTask", request, context)
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")

    def FinishSearch(  # noqa: N802 - gRPC method names come from the proto
        self, request: Any, context: grpc.ServicerContext
    ) -> Any:
        # Answered as an older server that does not know the method: the generated base's way.
        self._begin("FinishSearch", request, context)
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")


_SEARCH_RESULT = advisor_pb2.SearchResult(candidates_evaluated=7, search_seconds=0.5, complete=True)
_PROGRESS = advisor_pb2.SearchProgress(
    candidates_evaluated=3, elapsed_seconds=0.2, best_score=1.5, fraction_done=0.4
)
_ANALYSIS = advisor_pb2.Analysis(
    parameters=52,
    correlations=[
        advisor_pb2.CorrelationAnalysis(
            name="ends",
            log2_separation_rank=2.0,
            log2_max_rank=2.0,
            certificate=advisor_pb2.CERTIFICATE_TIGHT,
            weight=1.0,
        )
    ],
)
_PRESET = advisor_pb2.Preset(
    name="left_half", kind=advisor_pb2.PRESET_KIND_REGION, description="the left half"
)


@contextmanager
def scripted_server(servicer: ScriptedAdvisor, port: int = 0) -> Iterator[str]:
    """Serve ``servicer`` on 127.0.0.1 and yield its target; stop it after.

    ``port`` 0 takes any free port; another is a given one, such as a :func:`closed_target`'s
    for a server that comes up where a client already tried it.
    """
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    advisor_pb2_grpc.add_ArchitectureAdvisorServicer_to_server(servicer, server)
    health_pb2_grpc.add_HealthServicer_to_server(servicer.health, server)
    with loopback_served(server, port) as target:
        try:
            yield target
        finally:  # held calls end before the server stops
            if servicer.release is not None:
                servicer.release.set()


def closed_target() -> str:
    """Return a 127.0.0.1 target nothing listens on (a port bound a moment, never listening)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"
