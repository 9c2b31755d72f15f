"""One calling convention for the contract suite, over two transports.

:class:`DirectAdvisor` calls the servicer's methods in this thread with a :class:`FakeContext`;
:class:`LiveAdvisor` goes through a real server over a channel. Both raise :class:`CallError`
carrying the status code, the message, the BadRequest field violations and the ErrorInfo
details, so one test body checks both.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from advisor.protocol._proto.advisor.v1 import advisor_pb2, advisor_pb2_grpc
from advisor.service.admission import Admission
from advisor.service.limits import RequestLimits
from advisor.service.server import RunningServer
from advisor.service.servicer import AdvisorServicer
from advisor.service.threads import CallAbortedError, ThreadContext
from tests.support.processes import cpu_ticks

__all__ = [
    "CONTRACT_LIMITS",
    "Advisor",
    "CallError",
    "DirectAdvisor",
    "LiveAdvisor",
    "call_error_of",
    "error_infos_of",
    "violations_of",
]

_STATUS_DETAILS_KEY = "grpc-status-details-bin"

CONTRACT_LIMITS = RequestLimits()
"""The limits the contract suite runs with: the defaults, which admit exact certification of the
16-location, M = 2 reference cases of tests/test_seprank_reference.py (|A| + |B| = 16)."""


@dataclass
class CallError(Exception):
    """A call ended with a non-OK status."""

    code: grpc.StatusCode
    details: str
    violations: list[tuple[str, str]]
    error_infos: list[error_details_pb2.ErrorInfo] = field(default_factory=list)


def violations_of(status: status_pb2.Status | None) -> list[tuple[str, str]]:
    """The (field, description) pairs of the BadRequest details of ``status``."""
    violations: list[tuple[str, str]] = []
    for detail in status.details if status is not None else ():
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations += [(v.field, v.description) for v in bad_request.field_violations]
    return violations


def error_infos_of(status: status_pb2.Status | None) -> list[error_details_pb2.ErrorInfo]:
    """The ErrorInfo details of ``status``."""
    infos: list[error_details_pb2.ErrorInfo] = []
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            infos.append(info)
    return infos


class Advisor(Protocol):
    """Calls an advisor RPC by name; streams come back as a list."""

    def unary(self, method: str, request: Message, timeout: float | None = None) -> Any: ...

    def stream(
        self, request: advisor_pb2.StreamRecommendRequest, timeout: float | None = None
    ) -> list[advisor_pb2.StreamRecommendResponse]: ...

    def in_flight(self) -> int:
        """Advisor calls the server side is still working on."""
        ...


def _status_from_metadata(metadata: Iterable[tuple[str, str | bytes]]) -> status_pb2.Status | None:
    for key, value in metadata:
        if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return None


class DirectAdvisor:
    """The servicer called in-process, with no gRPC machinery in between."""

    def __init__(self, limits: RequestLimits | None = None, workers: int = 2) -> None:
        self.admission = Admission(workers)
        self.servicer = AdvisorServicer(limits or CONTRACT_LIMITS, self.admission)

    def unary(self, method: str, request: Message, timeout: float | None = None) -> Any:
        try:
            return getattr(self.servicer, method)(request, ThreadContext(timeout))
        except CallAbortedError as error:
            raise call_error_of(error) from None

    def stream(
        self, request: advisor_pb2.StreamRecommendRequest, timeout: float | None = None
    ) -> list[advisor_pb2.StreamRecommendResponse]:
        try:
            return list(self.servicer.StreamRecommend(request, ThreadContext(timeout)))
        except CallAbortedError as error:
            raise call_error_of(error) from None

    def in_flight(self) -> int:
        return self.admission.in_flight


def call_error_of(error: CallAbortedError) -> CallError:
    """The :class:`CallError` of the status a worker's context was aborted with."""
    status = _status_from_metadata(error.trailing_metadata)
    return CallError(error.code, error.details, violations_of(status), error_infos_of(status))


class LiveAdvisor:
    """A server reached over a real channel (the caller owns the channel)."""

    def __init__(
        self,
        channel: grpc.Channel,
        metadata: Sequence[tuple[str, str]] = (),
        server: RunningServer | None = None,
    ) -> None:
        self.stub = advisor_pb2_grpc.ArchitectureAdvisorStub(channel)
        self._metadata = tuple(metadata)
        self._server = server

    def in_flight(self) -> int:
        assert self._server is not None, "built without its server"
        return self._server.in_flight

    def serving_cpu_seconds(self) -> float:
        """CPU seconds the serving side has run: this process (which hosts the server and its
        call threads) and its worker processes (Linux ``/proc``; a worker gone counts nothing).

        On a loaded machine a worker at its lower priority may get little CPU, so its call can
        end late by the clock: the CPU it spent says whether it kept working.
        """
        assert self._server is not None, "built without its server"
        ticks = 0
        for pid in self._server.worker_pids:
            with contextlib.suppress(FileNotFoundError):
                ticks += cpu_ticks(pid)
        return time.process_time() + ticks / os.sysconf("SC_CLK_TCK")

    def unary(self, method: str, request: Message, timeout: float | None = None) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise _rpc_call_error(error) from None

    def stream(
        self, request: advisor_pb2.StreamRecommendRequest, timeout: float | None = None
    ) -> list[advisor_pb2.StreamRecommendResponse]:
        try:
            return list(
                self.stub.StreamRecommend(request, timeout=timeout, metadata=self._metadata)
            )
        except grpc.RpcError as error:
            raise _rpc_call_error(error) from None


def _rpc_call_error(error: grpc.RpcError) -> CallError:
    call: Any = error  # a failed call's RpcError is also its grpc.Call
    status = rpc_status.from_call(call)
    return CallError(call.code(), call.details(), violations_of(status), error_infos_of(status))
