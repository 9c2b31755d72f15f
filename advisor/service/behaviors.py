"""What the server's interceptors share about a method's handler behaviours on the asyncio server.

gRPC's stubs type handler behaviours as synchronous; on the asyncio server they are coroutine
functions, or async generator functions for response-streaming methods (which may also write
through the context themselves and return nothing).
"""

from __future__ import annotations

import inspect
from typing import Any, TypeAlias

import grpc

__all__ = ["Context", "Handler", "behavior_of", "write_responses"]

# grpc's types are generic only in their type stubs, hence the quoted aliases.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
"""A method's handler, as an interceptor receives and returns it."""

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
"""A call's context on the asyncio server."""


def behavior_of(handler: Handler) -> Any:
    """Return the behaviour ``handler`` serves its method with (the one of its kind set)."""
    if handler.request_streaming:
        return handler.stream_stream if handler.response_streaming else handler.stream_unary
    return handler.unary_stream if handler.response_streaming else handler.unary_unary


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
