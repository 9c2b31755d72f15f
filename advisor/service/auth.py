"""Optional bearer-token authentication as a server interceptor.

A call must carry exactly one ``authorization: Bearer <token>`` metadata entry (the scheme in
any case and one or more spaces after it, as HTTP reads it) matching the configured token,
compared in constant time (:func:`hmac.compare_digest`) so response timing does not reveal how
much of a guess was right. Services listed as exempt (the health service,
which load balancers probe without credentials) pass through unchecked.

The token travels in the call's headers, so a call without it is refused before its request
message is read: the refusal is a request-streaming handler that never reads. Refusals are logged
at most once per interval, with the count since the last line (written when the interval is up),
so a flood of unauthenticated calls cannot flood the log. A refusal says its cause as data
(AIP-193): a ``google.rpc.ErrorInfo`` of reason ``TOKEN_MISSING`` (no ``authorization`` entry)
or ``TOKEN_INVALID`` (any other), which tell a caller nothing it did not send.

A token must be something gRPC can send: :func:`advisor.protocol.metadata.token_problem` says why
one is not, for the server's token file and for the client's token alike.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any, TypeAlias

import grpc

from advisor.protocol.metadata import (
    AUTHORIZATION_METADATA_KEY,
    TOKEN_INVALID_REASON,
    TOKEN_MISSING_REASON,
    token_problem,
)
from advisor.service.logs import shown
from advisor.service.status import reason_status
from advisor.service.threads import abort_call
from advisor.stopping import Clock

__all__ = ["BearerTokenInterceptor", "RefusalLog", "Schedule"]

_LOGGER = logging.getLogger(__name__)

# grpc's handler type is generic only in its type stubs, hence the quoted alias.
_Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"

_REFUSAL_DETAILS = "missing or invalid bearer token"


def _refusal(reason: str) -> _Handler:
    """Return the handler that refuses a call ``UNAUTHENTICATED`` with ``reason``'s ErrorInfo.

    A status-only answer is the same on the wire for every RPC shape, so one handler refuses
    every call; being request-streaming, it ends the call without reading the request.
    """
    refusal = reason_status(grpc.StatusCode.UNAUTHENTICATED, _REFUSAL_DETAILS, reason)

    async def refuse(
        requests: AsyncIterator[object], context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        await abort_call(context, refusal)

    return grpc.stream_unary_rpc_method_handler(refuse)


Schedule: TypeAlias = Callable[[float, Callable[[], None]], object]
"""Call a function once some seconds have passed (the server's event loop's ``call_later``)."""


class RefusalLog:
    """Log refused calls at most once every ``interval_seconds``, counting the ones in between.

    The first refusal is logged at once; later ones within the interval are counted and reported
    when it is up (``schedule``, the server's event loop), by the first line written after it,
    or by :meth:`flush` (the server's stop), whichever comes first. Reported only by a later
    refusal, a burst's count waited, unsaid, for the next one: minutes, or the server's stop.
    """

    def __init__(
        self,
        interval_seconds: float = 10.0,
        clock: Clock = time.monotonic,
        schedule: Schedule | None = None,
    ) -> None:
        self._interval = interval_seconds
        self._clock = clock
        self._schedule = schedule
        self._next_line = -float("inf")
        self._refused = 0
        self._latest = ""
        self._report_due = False
        self._lock = threading.Lock()

    def refused(self, method: str) -> None:
        """Count one refused call of ``method``; log the count if the interval has passed."""
        now = self._clock()
        with self._lock:
            self._refused += 1
            self._latest = method
            if now < self._next_line:
                if self._schedule is not None and not self._report_due:
                    self._report_due = True
                    self._schedule(self._next_line - now, self._report)
                return
            count, self._refused = self._refused, 0
            self._next_line = now + self._interval
        self._write(count, method)

    def _report(self) -> None:
        """Log the refusals counted since the last line, its interval being up."""
        with self._lock:
            self._report_due = False
            count, self._refused = self._refused, 0
            if count:
                self._next_line = self._clock() + self._interval
        if count:
            self._write(count, self._latest)

    def flush(self) -> None:
        """Log the refusals counted since the last line, if any (a server stopping)."""
        with self._lock:
            count, self._refused = self._refused, 0
        if count:
            self._write(count, self._latest)

    def _write(self, count: int, method: str) -> None:
        _LOGGER.warning(
            "refused %d call(s) (%s) since the last report, latest %s; further refusals are "
            "reported at most every %g s",
            count,
            _REFUSAL_DETAILS,
            shown(method),
            self._interval,
        )


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Reject calls without the right bearer token with ``UNAUTHENTICATED``.

    Parameters
    ----------
    token
        The shared secret clients send as ``authorization: Bearer <token>``; one
        :func:`token_problem` accepts.
    exempt_services
        Fully qualified service names (e.g. ``grpc.health.v1.Health``) that need no token.
    refusals
        Where refused calls are logged.
    """

    def __init__(
        self,
        token: str,
        exempt_services: Collection[str],
        refusals: RefusalLog | None = None,
    ) -> None:
        problem = token_problem(token)
        if problem is not None:
            raise ValueError(f"the bearer token {problem}")
        self._expected = token.encode()
        self._exempt_services = frozenset(exempt_services)
        self._refusals = refusals or RefusalLog()
        self._refusal_of = {
            reason: _refusal(reason) for reason in (TOKEN_MISSING_REASON, TOKEN_INVALID_REASON)
        }

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[_Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> _Handler | None:
        """Pass authorised and exempt calls on; answer every other call ``UNAUTHENTICATED``."""
        method = handler_call_details.method
        service = method.lstrip("/").partition("/")[0]
        if service in self._exempt_services:
            return await continuation(handler_call_details)
        reason = self._refusal_reason(handler_call_details)
        if reason is None:
            return await continuation(handler_call_details)
        self._refusals.refused(method)
        return self._refusal_of[reason]

    def _refusal_reason(self, handler_call_details: grpc.HandlerCallDetails) -> str | None:
        """Return why the call is refused (an ErrorInfo reason), or None when it is authorised.

        ``TOKEN_MISSING`` for a call without an ``authorization`` entry, which tells a caller
        only what it sent; ``TOKEN_INVALID`` for any other refusal, whatever is wrong with it.
        """
        values = [
            value
            for key, value in handler_call_details.invocation_metadata or ()
            if key == AUTHORIZATION_METADATA_KEY
        ]
        if not values:
            return TOKEN_MISSING_REASON
        if len(values) != 1:
            return TOKEN_INVALID_REASON
        presented = values[0].encode() if isinstance(values[0], str) else values[0]
        # HTTP's credentials: a case-insensitive scheme, one or more spaces (RFC 9110, 11.4), in
        # a field value whose surrounding spaces and tabs are no part of it (RFC 9110, 5.5).
        scheme, space, credentials = presented.strip(b" \t").partition(b" ")
        authorized = (
            scheme.lower() == b"bearer"
            and bool(space)
            and hmac.compare_digest(credentials.lstrip(b" "), self._expected)
        )
        return None if authorized else TOKEN_INVALID_REASON
