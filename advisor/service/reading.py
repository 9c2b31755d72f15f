"""A bound on how long a call may take to send its request message.

A client can open a call and never send its request (a client-streaming call to a unary method
whose messages never come). On the asyncio server such a call costs no thread, but it still
holds a stream and a little memory; :class:`RequestReadTimeout` ends it once ``seconds`` pass
without a request message (``DEADLINE_EXCEEDED``, with a ``google.rpc.ErrorInfo`` of reason
``REQUEST_READ_TIMEOUT`` naming ``request_read_seconds``, so a caller does not take it for its own
deadline). Every method with a single request message is
served through it: gRPC reads the request of a unary handler before the handler runs, out of
reach of any timeout, so the interceptor serves such a method as a request-streaming one that
reads its one message itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from advisor.protocol.metadata import REQUEST_MISSING_REASON, REQUEST_READ_TIMEOUT_REASON
from advisor.service.behaviors import Context, Handler, behavior_of, write_responses
from advisor.service.status import reason_status
from advisor.service.threads import abort_call
from advisor.words import exact_float

__all__ = ["RequestReadTimeout"]

_NO_REQUEST = reason_status(
    grpc.StatusCode.INVALID_ARGUMENT,
    "the call sent no complete request message",
    REQUEST_MISSING_REASON,
)
"""The answer to a call that ended its requests without a message and was not cancelled."""


class RequestReadTimeout(grpc.aio.ServerInterceptor):
    """End calls whose request message has not arrived ``seconds`` after they started."""

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"the read timeout must be positive, got {seconds}")
        self._seconds = seconds
        self._timed_out = reason_status(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"the request message did not arrive within {seconds:g} s",
            REQUEST_READ_TIMEOUT_REASON,
            {"request_read_seconds": exact_float(seconds)},
        )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Serve a method with one request message as one that reads it within the bound."""
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_streaming:
            return handler
        behavior = behavior_of(handler)
        if handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(
                self._streaming(behavior),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_unary_rpc_method_handler(
            self._unary(behavior),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _unary(
        self, behavior: Callable[[Any, Context], Awaitable[Any]]
    ) -> Callable[[AsyncIterator[Any], Context], Awaitable[Any]]:
        async def unary(requests: AsyncIterator[Any], context: Context) -> Any:
            return await behavior(await self._request(requests, context), context)

        return unary

    def _streaming(
        self, behavior: Callable[[Any, Context], Any]
    ) -> Callable[[AsyncIterator[Any], Context], Awaitable[None]]:
        async def streaming(requests: AsyncIterator[Any], context: Context) -> None:
            await write_responses(
                behavior(await self._request(requests, context), context), context
            )

        return streaming

    async def _request(self, requests: AsyncIterator[Any], context: Context) -> Any:
        ended = False
        messages = aiter(requests)
        try:
            async with asyncio.timeout(self._seconds):
                try:
                    request = await anext(messages)
                    if isinstance(messages, AsyncGenerator):
                        # gRPC's reader stays suspended after the message it yielded, holding
                        # it, in a reference cycle with the call that only a full garbage
                        # collection frees (and asyncio then closes it on a later turn):
                        # unclosed, the serving process held tens of large requests at a time.
                        await messages.aclose()
                    return request
                except StopAsyncIteration:
                    # No message: the client half-closed without one (no gRPC stub does), or
                    # the receive failed (the client cancelled while sending, the connection
                    # broke, gRPC refused a message over max_message_bytes: its client sees
                    # RESOURCE_EXHAUSTED), and gRPC cancels this call in a moment. Answering at
                    # once, INVALID_ARGUMENT went nowhere and the access log wrote it for such
                    # a call; so the call waits to be cancelled, within the read bound.
                    ended = True
                    await asyncio.Event().wait()
        except TimeoutError:
            if ended:
                await abort_call(context, _NO_REQUEST)
            await abort_call(context, self._timed_out)
        raise AssertionError("unreachable: abort ends the call")
