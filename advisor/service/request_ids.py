"""One request id per call, which the client gets and every log line about the call names.

A user who hands an operator the id finds the call's access line, its ``INTERNAL`` traceback
and its worker's lines by it, where matching by method, peer and time was guesswork. The id is
the call's ``x-request-id`` metadata value when it has a sane one (:func:`request_id_of`: at
most :data:`MAX_REQUEST_ID_CHARS` visible ASCII characters, so it is safe on a text log line),
else a new random one, and it goes back to the client in the response's trailing metadata
(:data:`REQUEST_ID_METADATA_KEY`), with the status, so every answer carries it, whatever status
the call ends with; the server's advisor and ranking versions go with it
(:func:`~advisor.service.call_id.call_trailers`). While the call runs, :data:`CALL_REQUEST_ID`
holds it, for the code that logs about the call and for the ``INTERNAL`` error that reports it
(:func:`advisor.service.status.abort_for`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Final

import grpc

from advisor.protocol.metadata import INCOMING_REQUEST_ID_KEY, REQUEST_ID_METADATA_KEY
from advisor.service.behaviors import (
    NOT_FOUND,
    NOT_FOUND_SYNC,
    Context,
    Handler,
    rewrapped,
    write_responses,
)
from advisor.service.call_id import CALL_REQUEST_ID, call_trailers

__all__ = [
    "CALL_REQUEST_ID",
    "INCOMING_REQUEST_ID_KEY",
    "MAX_REQUEST_ID_CHARS",
    "REQUEST_ID_METADATA_KEY",
    "RequestIds",
    "SyncRequestIds",
    "request_id_of",
]

MAX_REQUEST_ID_CHARS: Final = 128
"""The longest incoming request id the server honours."""

_SANE_ID: Final = re.compile(rf"[\x21-\x7e]{{1,{MAX_REQUEST_ID_CHARS}}}")


def request_id_of(metadata: Iterable[tuple[str, object]] | None) -> str:
    """Return the call's request id: its one sane ``x-request-id`` value, else a new one.

    An id that is missing, repeated, too long, or holds a space or a control character (which
    would let it forge or break a log line) is replaced, not refused: the call itself is fine.
    """
    given = [value for key, value in metadata or () if key == INCOMING_REQUEST_ID_KEY]
    if len(given) == 1 and isinstance(given[0], str) and _SANE_ID.fullmatch(given[0]):
        return given[0]
    return uuid.uuid4().hex


class RequestIds(grpc.aio.ServerInterceptor):
    """Give every call of the asyncio server its request id (see the module docstring)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Serve the method through a behaviour that holds the call's id and announces it."""
        handler = await continuation(handler_call_details) or NOT_FOUND
        return rewrapped(handler, _identified)


class SyncRequestIds(grpc.ServerInterceptor):
    """Give every call of a synchronous server (the Katib endpoint) its request id."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Serve the method through a behaviour that holds the call's id and announces it."""
        handler = continuation(handler_call_details) or NOT_FOUND_SYNC
        return rewrapped(handler, _identified_sync)


def _identified(behavior: Callable[..., Any], streaming: bool) -> Callable[..., Any]:
    """Wrap an asyncio server's behaviour to run under the call's id, sent with its status.

    In the trailing metadata, set before the behaviour runs: an abort that names no trailers
    keeps it (one that does merges it, :func:`advisor.service.threads.abort_call` and
    :func:`advisor.service.status.abort_for`). Not sent first, in the initial metadata: gRPC
    commits a call once the server's headers arrive, and a client then retries none of its
    ``UNAVAILABLE`` answers (a draining replica's refusal was not retried on another replica).
    """

    async def call(request: Any, context: Context) -> Any:
        request_id = request_id_of(context.invocation_metadata())
        token = CALL_REQUEST_ID.set(request_id)
        context.set_trailing_metadata(call_trailers(request_id))
        try:
            if not streaming:
                return await behavior(request, context)
            await write_responses(behavior(request, context), context)
            return None
        finally:
            CALL_REQUEST_ID.reset(token)

    return call


def _identified_sync(behavior: Callable[..., Any], streaming: bool) -> Callable[..., Any]:
    """Wrap a synchronous server's behaviour like :func:`_identified` (its thread is reused)."""

    def call(request: Any, context: grpc.ServicerContext) -> Any:
        request_id = request_id_of(context.invocation_metadata())
        token = CALL_REQUEST_ID.set(request_id)
        context.set_trailing_metadata(call_trailers(request_id))
        try:
            return behavior(request, context)
        finally:
            CALL_REQUEST_ID.reset(token)

    def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        request_id = request_id_of(context.invocation_metadata())
        token = CALL_REQUEST_ID.set(request_id)
        context.set_trailing_metadata(call_trailers(request_id))
        try:
            yield from behavior(request, context)
        finally:
            CALL_REQUEST_ID.reset(token)

    return stream if streaming else call
