"""The access log: one line per finished call, what an operator reads first.

Every call a server answers is logged once it has ended, on the ``advisor.access`` logger (the
advisor's asyncio server through :class:`AccessLog`, the Katib endpoint's synchronous one
through :class:`SyncAccessLog`):
its method, the status it ended with, how long it took and the peer, the call's request id
(:mod:`advisor.service.request_ids`: the one its client got, which an ``INTERNAL`` error's
traceback was logged under), and the search's name where a search request gives one or
``FinishSearch`` asks for one (:data:`~advisor.service.searches.CALL_SEARCH_ID`, as the handler
read it), so a search finished early is told from one its time limit ended::

    /advisor.v1.ArchitectureAdvisor/Recommend OK 0.412 s peer=ipv4:10.0.0.7:53124 request-id=0b9e
    /advisor.v1.ArchitectureAdvisor/Analyze INTERNAL 0.031 s peer=ipv4:10.0.0.7:5313 request-id=5f0c
    /advisor.v1.ArchitectureAdvisor/FinishSearch OK 0.001 s peer=- request-id=a3d1 search-id=trial-7

Each line also carries these as the record's :data:`~advisor.service.logs.FIELDS`, which the
JSON log writes as fields of their own (``method``, ``status``, ``seconds``, ``peer``,
``request_id``, ``search_id``, and ``fields``, the field paths an ``INVALID_ARGUMENT`` refused,
which its text line names as ``fields=a,b``, a comma in a path escaped). Advisor calls are
logged at INFO; health checks and reflection, which probes and tools send every few seconds, at
DEBUG. The status is what the call ended with on the server: the one it was aborted with (or
set), ``OK`` when its handler returned, ``CANCELLED`` or ``DEADLINE_EXCEEDED`` when gRPC ended
it first (the client cancelled, its deadline passed, the server's shutdown cancelled it), and
``UNKNOWN`` for an exception no handler mapped (gRPC's own answer to one). A refusal by an
interceptor inside this one (a bad bearer token, a request that never arrived) is logged with
its status like any other answer, and so is a call of a method the server does not have,
``UNIMPLEMENTED`` as gRPC answers it.

The server's metrics (:mod:`advisor.service.metrics`, ``--metrics-port``) count each call here,
at its start and where its line is written, with the status and seconds the line says: every
call the access log writes, at either level, whether or not the log is on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any, Final, TypeAlias

import grpc

from advisor.service.behaviors import (
    NOT_FOUND,
    NOT_FOUND_SYNC,
    Context,
    Handler,
    rewrapped,
    write_responses,
)
from advisor.service.logs import FIELDS, shown
from advisor.service.metrics import Metrics
from advisor.service.request_ids import CALL_REQUEST_ID
from advisor.service.searches import CALL_SEARCH_ID
from advisor.service.status import ended_status, refused_fields

__all__ = ["ACCESS_LOGGER", "AccessLog", "SyncAccessLog"]

ACCESS_LOGGER: Final = "advisor.access"
"""The logger the access lines go to (configure it to route or silence them)."""

_QUIET_SERVICES: Final = ("/grpc.health.v1.Health/", "/grpc.reflection.")
"""Method prefixes logged at DEBUG: probes and tools, not the service's work."""

_Behavior: TypeAlias = Callable[..., Any]
"""A handler behaviour of either server: (request or request iterator, context) -> answer."""

_LOGGER = logging.getLogger(ACCESS_LOGGER)

_WHOLE: Final = "(request)"
"""How the access line names the empty field path: the request as a whole."""


def _listed(refused: list[str]) -> str:
    r"""Return the ``refused`` field paths as the text line lists them, comma-separated.

    Each is :func:`~advisor.service.logs.shown`, and a comma in one, which a caller may write in
    a key, is escaped as ``\x2c`` too: the paths ``a,b`` and ``c`` read ``a\x2cb,c``, not as
    three fields. The empty path is the request as a whole (bytes that are no request message).
    """
    return ",".join((shown(field) or _WHOLE).replace(",", r"\x2c") for field in refused)


class _Reporting:
    """What an interceptor tells of each call: its access line (``log``), and its ``metrics``."""

    def __init__(self, *, log: bool = True, metrics: Metrics | None = None) -> None:
        self._log = log
        self._metrics = metrics

    def _call(self, method: str) -> _CallReport | None:
        """Return what a call of ``method`` tells (:meth:`_CallReport.of`)."""
        return _CallReport.of(method, self._log, self._metrics)


class AccessLog(_Reporting, grpc.aio.ServerInterceptor):
    """Log every call the asyncio server answers once it has ended (see the module docstring).

    With ``metrics``, count its start and end there too; with ``log`` False, only count them.
    """

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Serve the method as it is, through a behaviour that logs the call's end."""
        handler = await continuation(handler_call_details) or NOT_FOUND
        call = self._call(handler_call_details.method)
        return handler if call is None else rewrapped(handler, partial(_logged, call))


class SyncAccessLog(_Reporting, grpc.ServerInterceptor):
    """The access log of a synchronous server (the Katib endpoint): the same lines and counts."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Serve the method as it is, through a behaviour that logs the call's end."""
        handler = continuation(handler_call_details) or NOT_FOUND_SYNC
        call = self._call(handler_call_details.method)
        return handler if call is None else rewrapped(handler, partial(_logged_sync, call))


class _CallReport:
    """What a call of ``method`` tells at its start and end: its access line and ``metrics``.

    The line is written at ``level``, not at all where ``level`` is None.
    """

    def __init__(self, method: str, level: int | None, metrics: Metrics | None) -> None:
        self._method = method
        self._level = level
        self._metrics = metrics

    @classmethod
    def of(cls, method: str, log: bool, metrics: Metrics | None) -> _CallReport | None:
        """Return what a call of ``method`` tells; None if nothing: no line, no metrics."""
        level = logging.DEBUG if method.startswith(_QUIET_SERVICES) else logging.INFO
        logged = log and _LOGGER.isEnabledFor(level)
        if not logged and metrics is None:
            return None
        return cls(method, level if logged else None, metrics)

    def started(self) -> float:
        """Count the call in flight; return when it started (monotonic seconds)."""
        if self._metrics is not None:
            self._metrics.started(self._method)
        return time.monotonic()

    def ended(
        self,
        code: grpc.StatusCode,
        started: float,
        peer: str,
        context: Context | grpc.ServicerContext,
        search_id: str | None = None,
    ) -> None:
        """Count the call's end and write its access line."""
        seconds = time.monotonic() - started
        if self._metrics is not None:
            self._metrics.ended(self._method, code.name, seconds)
        if self._level is not None:
            _log(self._level, self._method, code, seconds, peer, context, search_id)


def _logged(call: _CallReport, behavior: _Behavior, streaming: bool) -> _Behavior:
    """Wrap an asyncio server's behaviour so the call's end is logged, however it ends."""

    async def logged(request: Any, context: Context) -> Any:
        peer = context.peer()  # gRPC forgets it once a deadline has ended the call
        code: grpc.StatusCode | None = None
        started = call.started()
        try:
            if not streaming:
                return await behavior(request, context)
            await write_responses(behavior(request, context), context)
            return None
        except asyncio.CancelledError:
            code = ended_status(context.time_remaining())
            raise
        except Exception:
            # An abort (gRPC's own exception type) has set the call's code; anything else is
            # answered UNKNOWN by gRPC.
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        finally:
            code = code or context.code() or grpc.StatusCode.OK
            call.ended(code, started, peer, context, CALL_SEARCH_ID.get())

    return logged


def _logged_sync(call: _CallReport, behavior: _Behavior, streaming: bool) -> _Behavior:
    """Wrap a synchronous server's behaviour so the call's end is logged, however it ends.

    Its handler runs on to its end when the call is cancelled, which it then reads as not
    active; a response-streaming one is closed at the next response it yields.
    """

    def ended(context: grpc.ServicerContext, failed: bool) -> grpc.StatusCode:
        # Aborted, or set (the synchronous context's code() is missing from grpc's stubs).
        code: grpc.StatusCode | None = context.code()  # type: ignore[attr-defined]
        if code is not None:
            return code
        if not context.is_active():
            return ended_status(context.time_remaining())
        return grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK

    def unary(request: Any, context: grpc.ServicerContext) -> Any:
        peer, failed = context.peer(), True
        started = call.started()
        try:
            response = behavior(request, context)
            failed = False
            return response
        finally:
            call.ended(ended(context, failed), started, peer, context)

    def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        peer, failed = context.peer(), True
        started = call.started()
        try:
            yield from behavior(request, context)
            failed = False
        except GeneratorExit:  # closed by gRPC: the call has ended
            failed = False
            raise
        finally:
            call.ended(ended(context, failed), started, peer, context)

    return stream if streaming else unary


def _log(
    level: int,
    method: str,
    code: grpc.StatusCode,
    seconds: float,
    peer: str,
    context: Context | grpc.ServicerContext,
    search_id: str | None = None,
) -> None:
    """Write the call's access line; an ``INVALID_ARGUMENT`` one names the refused fields."""
    request_id = CALL_REQUEST_ID.get()
    refused = (
        refused_fields(context.trailing_metadata())
        if code is grpc.StatusCode.INVALID_ARGUMENT
        else None
    )
    fields = {
        "method": method,
        "status": code.name,
        "seconds": round(seconds, 3),
        "peer": peer or None,
        "request_id": request_id,
        "search_id": search_id,
        "fields": refused,
    }
    _LOGGER.log(
        level,
        "%s %s %.3f s peer=%s%s%s%s",
        shown(method),
        code.name,
        seconds,
        peer or "-",
        "" if request_id is None else f" request-id={request_id}",
        "" if search_id is None else f" search-id={search_id}",
        "" if not refused else f" fields={_listed(refused)}",
        extra={FIELDS: fields},
    )
