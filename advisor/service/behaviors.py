"""What the server's interceptors share about a method's handler behaviours on the asyncio server.

gRPC's stubs type handler behaviours as synchronous; on the asyncio server they are coroutine
functions, or async generator functions for response-streaming methods (which may also write
through the context themselves and return nothing).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Final, TypeAlias

import grpc

from advisor.protocol.metadata import METHOD_NOT_FOUND_REASON
from advisor.service.status import reason_status
from advisor.service.threads import abort_call, abort_sync_call

__all__ = [
    "NOT_FOUND",
    "NOT_FOUND_SYNC",
    "Context",
    "Handler",
    "Rewrap",
    "behavior_of",
    "rewrapped",
    "write_responses",
]

# grpc's types are generic only in their type stubs, hence the quoted aliases.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
"""A method's handler, as an interceptor receives and returns it."""

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
"""A call's context on the asyncio server."""

Rewrap: TypeAlias = Callable[[Callable[..., Any], bool], Callable[..., Any]]
"""Wraps a handler behaviour of either server (and whether it streams responses) in another."""

_NOT_FOUND_REFUSAL: Final = reason_status(
    grpc.StatusCode.UNIMPLEMENTED, "Method not found!", METHOD_NOT_FOUND_REASON
)
"""gRPC's own answer to a method no service of the server has, which the client decodes, with
the ``ErrorInfo`` every status of the service carries."""


async def _not_found(requests: AsyncIterator[object], context: Context) -> None:
    await abort_call(context, _NOT_FOUND_REFUSAL)


def _not_found_sync(requests: Iterator[object], context: grpc.ServicerContext) -> None:
    abort_sync_call(context, _NOT_FOUND_REFUSAL)


# gRPC answers a method no handler serves itself, after the interceptors, which then never
# see its end. These answer it as gRPC would (with an ErrorInfo too), through the interceptors.
# A status-only answer is the same on the wire for every RPC shape; being request-streaming,
# they never read the request.
NOT_FOUND: Final[Handler] = grpc.stream_unary_rpc_method_handler(_not_found)
"""The asyncio server's answer to a method it does not have, as gRPC's own."""
NOT_FOUND_SYNC: Final[Handler] = grpc.stream_unary_rpc_method_handler(_not_found_sync)
"""A synchronous server's answer to a method it does not have, as gRPC's own."""


def behavior_of(handler: Handler) -> Any:
    """Return the behaviour ``handler`` serves its method with (the one of its kind set)."""
    if handler.request_streaming:
        return handler.stream_stream if handler.response_streaming else handler.stream_unary
    return handler.unary_stream if handler.response_streaming else handler.unary_unary


def rewrapped(handler: Handler, wrap: Rewrap) -> Handler:
    """Return ``handler`` with its behaviour wrapped by ``wrap``, its kind and serializers kept."""
    streaming_in, streaming_out = handler.request_streaming, handler.response_streaming
    factory = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }[streaming_in, streaming_out]
    return factory(
        wrap(behavior_of(handler), streaming_out),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


async def write_responses(responses: Any, context: Context) -> None:
    """Send the responses of a response-streaming behaviour's call, ``responses``.

    An async generator's items are written through ``context``; a behaviour that writes
    through the context itself returned a coroutine, which is awaited.
    """
    if inspect.isasyncgen(responses):
        async for response in responses:
            await context.write(response)
    else:
        await responses
