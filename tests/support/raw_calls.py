"""Raw gRPC calls and the checks every reliability run applies to their outcome.

The fuzz, load and fault benches (and the reliability tests) send requests as bytes through a
generic ``channel.unary_unary``/``unary_stream`` with identity serializers, so a request the
generated stubs could never build (random bytes, undefined enum numbers) still reaches the server.
Each call ends in an :class:`Outcome`; :func:`problems` lists what is wrong with it: a status that
is not deliberate, an error message that leaks server internals, or an OK answer that does not
decode as the method's response.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError
from google.protobuf.message_factory import GetMessageClass
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from advisor.protocol._proto.advisor.v1 import advisor_pb2

__all__ = [
    "DELIBERATE_STATUSES",
    "SERVICE",
    "Outcome",
    "as_is",
    "call_raw",
    "health_status",
    "leaks",
    "method_path",
    "problems",
]

SERVICE = advisor_pb2.DESCRIPTOR.services_by_name["ArchitectureAdvisor"]
"""The advisor service descriptor: method names, paths and message types come from it."""

DELIBERATE_STATUSES = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)
"""Statuses the service answers on purpose; anything else (INTERNAL, UNKNOWN, ...) is a bug."""

_METHOD_STATUSES = {
    # No search of the name runs; a name a running search holds (concurrent fuzzing clients).
    "FinishSearch": frozenset({grpc.StatusCode.NOT_FOUND}),
    "Recommend": frozenset({grpc.StatusCode.ALREADY_EXISTS}),
    "StreamRecommend": frozenset({grpc.StatusCode.ALREADY_EXISTS}),
}
"""Statuses one method answers on purpose beside :data:`DELIBERATE_STATUSES`."""

# What a message must never show a client: tracebacks, source locations, file-system paths and
# Python exception reprs such as ``KeyError('x')`` or ``<object at 0x7f...>``.
_LEAK_PATTERNS = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'File "[^"]*", line \d+'),
    re.compile(r"\w\.py\b"),
    re.compile(r"(^|[\s'\"(=])/(usr|home|work|tmp|opt|root|proc|etc|var)/"),
    re.compile(r"\b[A-Z]\w*(Error|Exception)\("),
    re.compile(r" at 0x[0-9a-fA-F]{4,}"),
    re.compile(r"Exception (calling application|deserializing|serializing)"),
)


def method_path(method: str) -> str:
    """The gRPC path of an advisor method, e.g. ``/advisor.v1.ArchitectureAdvisor/Analyze``."""
    return f"/{SERVICE.full_name}/{SERVICE.methods_by_name[method].name}"


@dataclass(frozen=True)
class Outcome:
    """How one call ended: its status, message, field violations, answer and duration."""

    method: str
    code: grpc.StatusCode
    details: str
    field_violations: tuple[error_details_pb2.BadRequest.FieldViolation, ...]
    responses: tuple[bytes, ...]
    seconds: float


def call_raw(
    channel: grpc.Channel,
    method: str,
    payload: bytes,
    timeout: float,
    metadata: tuple[tuple[str, str], ...] = (),
) -> Outcome:
    """Send ``payload`` as the request of ``method`` and wait for the whole answer."""
    path = method_path(method)
    started = time.perf_counter()
    responses: tuple[bytes, ...] = ()
    try:
        if SERVICE.methods_by_name[method].server_streaming:
            stream = channel.unary_stream(path, as_is, as_is)
            responses = tuple(stream(payload, timeout=timeout, metadata=metadata))
        else:
            unary = channel.unary_unary(path, as_is, as_is)
            responses = (unary(payload, timeout=timeout, metadata=metadata),)
    except grpc.RpcError as error:
        assert isinstance(error, grpc.Call)
        return Outcome(
            method,
            error.code(),
            error.details() or "",
            _field_violations(error),
            responses,
            time.perf_counter() - started,
        )
    return Outcome(method, grpc.StatusCode.OK, "", (), responses, time.perf_counter() - started)


def as_is(payload: bytes) -> bytes:
    """Pass ``payload`` through: the (de)serializer of calls made with raw bytes."""
    return payload


def _field_violations(call: grpc.Call) -> tuple[error_details_pb2.BadRequest.FieldViolation, ...]:
    status = rpc_status.from_call(call)
    if status is None:
        return ()
    violations: list[error_details_pb2.BadRequest.FieldViolation] = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations.extend(bad_request.field_violations)
    return tuple(violations)


def leaks(text: str) -> bool:
    """Tell whether ``text`` shows server internals (tracebacks, paths, exception reprs)."""
    return any(pattern.search(text) for pattern in _LEAK_PATTERNS)


def problems(outcome: Outcome) -> list[str]:
    """Everything wrong with ``outcome`` (an empty list for a sound call)."""
    found = []
    if outcome.code not in DELIBERATE_STATUSES | _METHOD_STATUSES.get(outcome.method, frozenset()):
        found.append(f"status {outcome.code.name}")
    texts = [outcome.details, *(v.description for v in outcome.field_violations)]
    if any(leaks(text) for text in texts):
        found.append("error message leaks internals")
    if outcome.code == grpc.StatusCode.INVALID_ARGUMENT and not outcome.field_violations:
        found.append("INVALID_ARGUMENT without field violations")
    if outcome.code == grpc.StatusCode.OK:
        found.extend(_response_problems(outcome))
    return found


def _response_problems(outcome: Outcome) -> list[str]:
    method = SERVICE.methods_by_name[outcome.method]
    response_class = GetMessageClass(method.output_type)
    decoded = []
    for payload in outcome.responses:
        try:
            decoded.append(response_class.FromString(payload))
        except DecodeError:
            return ["OK answer does not decode"]
    if not decoded:
        return ["OK without an answer"]
    if method.server_streaming and decoded[-1].WhichOneof("event") != "result":
        return ["stream does not end with a result"]
    return []


def health_status(channel: grpc.Channel, service: str = "", timeout: float = 5.0) -> str:
    """The ``grpc.health.v1`` serving status of ``service`` ("" = the whole server), by name."""
    stub = health_pb2_grpc.HealthStub(channel)
    response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    name: str = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return name
