"""The one place that turns exceptions into gRPC statuses.

- :class:`~advisor.errors.InvalidRequestError` (including limit violations) -> ``INVALID_ARGUMENT``
  with a ``google.rpc.BadRequest`` detail listing every field violation, and a
  ``google.rpc.ErrorInfo``: for violations each over a request limit a server may raise of
  reason ``LIMIT_EXCEEDED``, mapping each refused setting to the value that admits the request
  (:func:`_limit_info`), of
  reason ``PAGE_TOKEN_STALE`` for a page token another version of the ranking wrote
  (:class:`~advisor.errors.StalePageTokenError`, the versions in its metadata), else of reason
  ``INVALID_REQUEST``;
- :class:`~advisor.service.admission.SaturatedError` -> ``RESOURCE_EXHAUSTED``;
- :class:`~advisor.service.admission.ShuttingDownError` and
  :class:`~advisor.service.admission.NotServingError` -> ``UNAVAILABLE``; these three refusals,
  which a retry may pass, carry a ``google.rpc.RetryInfo`` of the error's ``retry_delay`` and an
  ``ErrorInfo`` of its ``reason`` (:func:`_retry_status`);
- :class:`ServerTimeBoundError` (an analysis or inference stopped at the server's
  ``max_time_limit_seconds``) -> ``DEADLINE_EXCEEDED`` with an ``ErrorInfo`` naming the bound;
- :class:`~advisor.errors.StoppedError` (the call's stop signal ended an analysis) ->
  ``CANCELLED`` if the client cancelled the call, else ``DEADLINE_EXCEEDED`` (its deadline
  passed, or the analysis could not finish before it), with an ``ErrorInfo`` saying which
  (:func:`ended_call_status`); an analysis the shutdown drain ends is reported by the servicer
  as a shutdown (``UNAVAILABLE``);
- anything else -> ``INTERNAL`` with a generic message and a request id (also as a
  ``google.rpc.RequestInfo``), an ``ErrorInfo`` of reason ``INTERNAL_ERROR``, the traceback logged
  server-side under that id (it never reaches the client); an error built but never raised (a
  worker process that died mid-call) has no traceback, and is logged as one line with its text.

Every status built here carries exactly one ``ErrorInfo`` of the service's domain (AIP-193).
Servicer methods are wrapped with :func:`unary_errors` or :func:`stream_errors`.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Final, Never, TypeVar

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from advisor.errors import (
    InvalidRequestError,
    RefusedLimit,
    SearchFinishedError,
    StalePageTokenError,
    StoppedError,
    fitting_violations,
    refused_limits,
)
from advisor.protocol.metadata import (
    CALL_CANCELLED_REASON,
    CALL_DEADLINE_EXCEEDED_REASON,
    ERROR_DOMAIN,
    INTERNAL_ERROR_REASON,
    INVALID_REQUEST_REASON,
    LIMIT_EXCEEDED_REASON,
    PAGE_TOKEN_STALE_REASON,
    REQUEST_ID_METADATA_KEY,
    SEARCH_FINISHED_REASON,
    SEARCH_ID_IN_USE_REASON,
    SERVER_TIME_BOUND_REASON,
    stale_token_metadata,
)
from advisor.service.admission import NotServingError, SaturatedError, ShuttingDownError
from advisor.service.call_id import CALL_REQUEST_ID, call_trailers, with_call_id
from advisor.service.logs import FIELDS
from advisor.service.threads import CallAbortedError, ThreadContext
from advisor.words import exact_float

__all__ = [
    "CLIENT_AHEAD_SECONDS",
    "REQUEST_ID_METADATA_KEY",
    "ServerTimeBoundError",
    "abort_for",
    "as_aborted",
    "bad_request_status",
    "ended_call_status",
    "ended_status",
    "exhausted_status",
    "past",
    "refused_fields",
    "memory_status",
    "reason_status",
    "search_status",
    "stream_errors",
    "unary_errors",
]

_LOGGER = logging.getLogger(__name__)

_DETAILS_METADATA_KEY = "grpc-status-details-bin"
"""The trailing-metadata key of a rich status (``google.rpc.Status``, serialized)."""

_Self = TypeVar("_Self")
_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
_Context = TypeVar("_Context", ThreadContext, grpc.ServicerContext)
"""A call's context: a worker thread's stand-in (the advisor's asyncio server) or gRPC's own
(the synchronous server of the Katib endpoint); both abort the same way."""


def bad_request_status(error: InvalidRequestError) -> grpc.Status:
    """Build the ``INVALID_ARGUMENT`` status whose BadRequest detail names the fields.

    Every field is named as long as the answer fits a default client's metadata limit; past
    that, long texts are cut (saying how many characters were left out) and the last violation
    says how many violations were left out (:func:`~advisor.errors.fitting_violations`, the
    rule of the error's own message). Its one ErrorInfo is :func:`_refusal_info`'s.
    """
    violations = fitting_violations(error.violations)
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=violation.field, description=violation.description
            )
            for violation in violations
        ]
    )
    message = str(error)  # its violations cut by the same rule, as the detail's
    return _status(code_pb2.INVALID_ARGUMENT, message, [_packed(bad_request), _refusal_info(error)])


def _refusal_info(error: InvalidRequestError) -> any_pb2.Any:
    """Return the ``ErrorInfo`` of ``error``'s ``INVALID_ARGUMENT``, which says what to change.

    ``LIMIT_EXCEEDED`` where every violation is over a request limit a server may raise
    (:func:`_limit_info`; the limits of every violation, those cut from the answer too: the
    request needs them all), else ``PAGE_TOKEN_STALE`` for a page token another ranking
    version wrote (the versions in its metadata: the request is right, its first page starts
    again), else ``INVALID_REQUEST``. A violation that carries no limit (a value past the
    most any server may set, or a field wrong in itself) is one no raise admits: a
    ``LIMIT_EXCEEDED`` naming the other violations' limits promised what raising them would not
    give, and a caller that raised them was refused again.
    """
    if all(violation.limit is not None for violation in error.violations):
        return _limit_info(refused_limits(error.violations))
    if isinstance(error, StalePageTokenError):
        versions = stale_token_metadata(error.token_ranking_version, error.ranking_version)
        return _error_info(PAGE_TOKEN_STALE_REASON, versions)
    return _error_info(INVALID_REQUEST_REASON)


def refused_fields(trailing_metadata: Iterable[tuple[str, object]] | None) -> list[str]:
    """Return the fields the BadRequest detail of a rich status's trailing metadata names.

    In the order of its violations, each once; none where the metadata has no such detail.
    """
    fields: list[str] = []
    for key, value in trailing_metadata or ():
        if key != _DETAILS_METADATA_KEY or not isinstance(value, bytes):
            continue
        bad_request = error_details_pb2.BadRequest()
        for detail in status_pb2.Status.FromString(value).details:
            if detail.Unpack(bad_request):
                fields.extend(violation.field for violation in bad_request.field_violations)
    return list(dict.fromkeys(fields))


def exhausted_status(message: str, refused: RefusedLimit) -> grpc.Status:
    """Build the ``RESOURCE_EXHAUSTED`` status of an answer over the limit ``refused``.

    ``message`` says what is over it; the status's ErrorInfo names the setting and the value
    that admits the answer (:func:`_limit_info`), as an ``INVALID_ARGUMENT`` refusal does.
    """
    info = _limit_info({refused.setting: refused.needed_text})
    return _status(code_pb2.RESOURCE_EXHAUSTED, message, [info])


def _retry_status(error: SaturatedError | ShuttingDownError | NotServingError) -> grpc.Status:
    """Build the status of a refusal a retry may pass: its code, ``RetryInfo`` and ``ErrorInfo``.

    ``RESOURCE_EXHAUSTED`` for a busy server, else ``UNAVAILABLE``; the detail's
    ``retry_delay`` is the error's, so a caller (or a proxy) need not parse "retry later". The
    other ``RESOURCE_EXHAUSTED`` refusals (a message over ``max_message_bytes``, a worker over
    ``--worker-max-memory``) have none: the same request meets the same bound again.
    """
    code = (
        code_pb2.RESOURCE_EXHAUSTED if isinstance(error, SaturatedError) else code_pb2.UNAVAILABLE
    )
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromTimedelta(datetime.timedelta(seconds=error.retry_delay))
    return _status(code, str(error), [_packed(retry), _error_info(error.reason)])


_SEARCH_RESOURCE_TYPE: Final = f"{ERROR_DOMAIN}/Search"
"""The ``resource_type`` of the ``ResourceInfo`` of a running search, which its name names."""


_SEARCH_REASONS: Final = {
    grpc.StatusCode.NOT_FOUND: "SEARCH_NOT_FOUND",
    grpc.StatusCode.ALREADY_EXISTS: SEARCH_ID_IN_USE_REASON,
}
"""The ``ErrorInfo`` reason of each refusal over a search's name, by its code."""

_WORKER_MEMORY_REASON: Final = "WORKER_MEMORY_EXCEEDED"
"""The ``ErrorInfo`` reason of a call stopped over the server's ``--worker-max-memory``."""

_ENDED_REASONS: Final = {
    grpc.StatusCode.DEADLINE_EXCEEDED: CALL_DEADLINE_EXCEEDED_REASON,
    grpc.StatusCode.CANCELLED: CALL_CANCELLED_REASON,
}
"""The ``ErrorInfo`` reason of a call its own deadline or its cancel ended, by its code."""


class ServerTimeBoundError(StoppedError):
    """An analysis or inference stopped at the server's ``max_time_limit_seconds``.

    Not at its call's own end: its ``DEADLINE_EXCEEDED`` carries an ``ErrorInfo`` (reason
    ``SERVER_TIME_BOUND``) naming the setting and its ``bound``, the seconds it has, so a caller
    does not read it as its own deadline and retry with a longer one, which meets the same bound.
    """

    def __init__(self, message: str, bound: float) -> None:
        super().__init__(message)
        self.bound = bound


def search_status(code: grpc.StatusCode, message: str, search_id: str) -> CallAbortedError:
    """Return the status of a call refused over the running search of ``search_id``.

    ``NOT_FOUND`` (``FinishSearch`` finds none) or ``ALREADY_EXISTS`` (a search request's name
    is taken): its ``ResourceInfo`` detail names the search, as AIP-193 has those codes do, so
    a caller reads which name without parsing ``message``, and its ``ErrorInfo`` the cause.
    """
    info = error_details_pb2.ResourceInfo(
        resource_type=_SEARCH_RESOURCE_TYPE,
        resource_name=search_id,
        description="a running search, named by its request's search_id",
    )
    details = [_packed(info), _error_info(_SEARCH_REASONS[code])]
    return as_aborted(_status(code.value[0], message, details))


def reason_status(
    code: grpc.StatusCode, message: str, reason: str, metadata: Mapping[str, str] | None = None
) -> CallAbortedError:
    """Return the status of a call refused for ``reason``, its one detail an ``ErrorInfo``.

    For a refusal the server's interceptors make on the event loop (a token, the request
    read's bound), which :func:`~advisor.service.threads.abort_call` ends the call with: the
    ``ErrorInfo`` (``metadata`` its own) says the cause, so a caller acts on it unparsed.
    """
    return as_aborted(_status(code.value[0], message, [_error_info(reason, metadata)]))


def ended_call_status(code: grpc.StatusCode, message: str) -> grpc.Status:
    """Build the status of a call its own deadline (``code`` ``DEADLINE_EXCEEDED``) or cancel ended.

    Its ``ErrorInfo`` (``CALL_DEADLINE_EXCEEDED``, ``CALL_CANCELLED``) tells it from the
    server's own bounds, which end calls with the same codes (``SERVER_TIME_BOUND``,
    ``REQUEST_READ_TIMEOUT``). The client reads it only where the server's answer comes first.
    """
    return _status(code.value[0], message, [_error_info(_ENDED_REASONS[code])])


def as_aborted(status: grpc.Status) -> CallAbortedError:
    """Return ``status`` as the error that ends a call with it."""
    return CallAbortedError(status.code, status.details, tuple(status.trailing_metadata))


def memory_status(message: str, held_mib: float, bound_mib: float) -> grpc.Status:
    """Build the ``RESOURCE_EXHAUSTED`` of a call whose work took its worker over its bound.

    ``message`` says so; the ``ErrorInfo`` (reason ``WORKER_MEMORY_EXCEEDED``) gives the bound
    and what the worker held, in whole MiB, so a caller tells it from a busy server's refusal
    (which a retry may pass) and from one over ``max_message_bytes`` without the English.
    """
    metadata = {
        "worker_max_memory_mib": f"{bound_mib:.0f}",
        "held_mib": f"{math.ceil(held_mib)}",
    }
    return _status(
        code_pb2.RESOURCE_EXHAUSTED, message, [_error_info(_WORKER_MEMORY_REASON, metadata)]
    )


def _limit_info(limits: Mapping[str, str]) -> any_pb2.Any:
    """Return the ``google.rpc.ErrorInfo`` detail of the refused ``limits`` (at least one).

    Its reason is ``LIMIT_EXCEEDED``, its domain the service's proto package (``advisor.v1``),
    and its metadata ``limits``: each refused setting mapped to the value that admits the
    request, as ``--limit NAME=VALUE`` reads it (:func:`~advisor.errors.refused_limits`),
    ``{"max_top_k": "60"}``; BadRequest names the fields.
    """
    return _error_info(LIMIT_EXCEEDED_REASON, limits)


def _error_info(reason: str, metadata: Mapping[str, str] | None = None) -> any_pb2.Any:
    """Return the packed ``google.rpc.ErrorInfo`` of ``reason`` in the service's domain."""
    return _packed(
        error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)
    )


def _packed(detail: Message) -> any_pb2.Any:
    """Return ``detail`` packed as a status detail."""
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed


def _status(code: int, message: str, details: Sequence[any_pb2.Any]) -> grpc.Status:
    """Build the rich status of ``code``: ``message`` and ``details`` in its trailing metadata."""
    status = status_pb2.Status(code=code, message=message, details=details)
    converted: grpc.Status = rpc_status.to_status(status)
    return converted


def abort_for(
    error: BaseException,
    context: ThreadContext | grpc.ServicerContext,
    method: str,
    request_id: str | None = None,
) -> Never:
    """End the call with the status that ``error`` maps to (see the module docstring).

    An ``INTERNAL`` error is logged under the call's request id: ``request_id``, else the one
    of the call being served (:data:`~advisor.service.request_ids.CALL_REQUEST_ID`), else a
    new one.
    """
    if isinstance(error, InvalidRequestError):
        context.abort_with_status(_with_call_id(bad_request_status(error)))
    if isinstance(error, (SaturatedError, ShuttingDownError, NotServingError)):
        context.abort_with_status(_with_call_id(_retry_status(error)))
    if isinstance(error, ServerTimeBoundError):
        metadata = {"max_time_limit_seconds": exact_float(error.bound)}
        details = [_error_info(SERVER_TIME_BOUND_REASON, metadata)]
        status = _status(code_pb2.DEADLINE_EXCEEDED, str(error), details)
        context.abort_with_status(_with_call_id(status))
    if isinstance(error, SearchFinishedError) and context.is_active():
        details = [_error_info(SEARCH_FINISHED_REASON)]
        status = _status(code_pb2.DEADLINE_EXCEEDED, str(error), details)
        context.abort_with_status(_with_call_id(status))
    if isinstance(error, StoppedError):
        status = ended_call_status(_stopped_status(context), str(error))
        context.abort_with_status(_with_call_id(status))
    request_id = request_id or CALL_REQUEST_ID.get() or uuid.uuid4().hex
    fields = {FIELDS: {"request_id": request_id}}
    if error.__traceback__ is None:
        # Built, never raised (a worker process that died): its text says all there is, and
        # exc_info would put it on a line of its own, without the request id.
        _LOGGER.error("request %s (%s) failed: %s", request_id, method, error, extra=fields)
    else:
        _LOGGER.error("request %s (%s) failed", request_id, method, exc_info=error, extra=fields)
    context.abort_with_status(_internal_status(request_id))


def _internal_status(request_id: str) -> grpc.Status:
    """Build the ``INTERNAL`` status of the call of ``request_id``, the id in three places.

    Its message, its ``request-id`` trailer, and a ``google.rpc.RequestInfo`` detail, the
    standard place (AIP-193) where a caller's error tooling looks for the id to hand an
    operator. Its ``serving_data`` stays empty: nothing of the failure leaves the server. Its
    ``ErrorInfo`` (reason ``INTERNAL_ERROR``) is the one every status of the service carries.
    """
    info = error_details_pb2.RequestInfo(request_id=request_id)
    details = [_packed(info), _error_info(INTERNAL_ERROR_REASON)]
    status = _status(code_pb2.INTERNAL, f"internal error; request id {request_id}", details)
    trailers = (*status.trailing_metadata, *call_trailers(request_id))
    return _IdentifiedStatus(status.code, status.details, trailers)


def _with_call_id(status: grpc.Status) -> grpc.Status:
    """Return ``status`` with the served call's request id among its trailers (see below).

    An abort with a status replaces the trailers the call had, its request id among them.
    """
    return _IdentifiedStatus(status.code, status.details, with_call_id(status.trailing_metadata))


@dataclasses.dataclass(frozen=True)
class _IdentifiedStatus(grpc.Status):
    """A status as gRPC's abort_with_status reads it: its code, details and trailers."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def _stopped_status(context: ThreadContext | grpc.ServicerContext) -> grpc.StatusCode:
    if not context.is_active():
        return ended_status(context.time_remaining())
    return grpc.StatusCode.DEADLINE_EXCEEDED


CLIENT_AHEAD_SECONDS: Final = 0.25
"""How far ahead of the server's deadline a call's end is taken for the client's deadline.

The server's deadline falls after the client's by the time the request took to arrive, and the
client's gRPC cancels the call when its own timer fires: a health ``Watch`` ended by its
client's one-second deadline read 6-8 ms short of the server's, and was logged and counted
``CANCELLED`` in three runs of nine, where its client got ``DEADLINE_EXCEEDED``. A client that
cancels its call itself this close to its deadline is logged as its deadline."""


def ended_status(remaining: float | None) -> grpc.StatusCode:
    """Return the status of a call that has ended, ``remaining`` seconds to its deadline.

    ``DEADLINE_EXCEEDED`` once the deadline has passed, whether or not gRPC has yet ended the
    call for it (the server may notice first: its status then races the client's own timer,
    and must say the same), or is within :data:`CLIENT_AHEAD_SECONDS` (the client's, which
    came first); else ``CANCELLED``.
    """
    near = remaining is not None and remaining <= CLIENT_AHEAD_SECONDS
    return grpc.StatusCode.DEADLINE_EXCEEDED if near else grpc.StatusCode.CANCELLED


def past(remaining: float | None) -> bool:
    """Whether a call's deadline has passed, ``remaining`` seconds ahead (None, inf: none)."""
    return remaining is not None and remaining <= 0.0


def unary_errors(
    method: Callable[[_Self, _Request, _Context], _Response],
) -> Callable[[_Self, _Request, _Context], _Response]:
    """Wrap a unary servicer method so every exception ends the call with its mapped status."""

    @functools.wraps(method)
    def wrapper(self: _Self, request: _Request, context: _Context) -> _Response:
        try:
            return method(self, request, context)
        except Exception as error:  # mapping every failure is this module's job
            abort_for(error, context, method.__name__)

    return wrapper


def stream_errors(
    method: Callable[[_Self, _Request, ThreadContext], Iterator[_Response]],
) -> Callable[[_Self, _Request, ThreadContext], Iterator[_Response]]:
    """Wrap a server-streaming servicer method like :func:`unary_errors` does a unary one."""

    @functools.wraps(method)
    def wrapper(self: _Self, request: _Request, context: ThreadContext) -> Iterator[_Response]:
        try:
            yield from method(self, request, context)
        except Exception as error:  # mapping every failure is this module's job
            abort_for(error, context, method.__name__)

    return wrapper
