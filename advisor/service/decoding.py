"""Register the advisor methods on the asyncio server, their work on the workers, requests as bytes.

Each method's handler waits for its call on the event loop and hands the request, as the bytes the
client sent, to the :class:`~advisor.service.calls.CallWorkers` (threads or processes), which
decode it inside the call: a malformed message is refused like any other bad input, where gRPC's
own decoding would end the call with INTERNAL ("Exception deserializing request!"). Responses come
back serialized and are sent as they are.
"""

from __future__ import annotations

from typing import TypeAlias

import grpc

from advisor.service.admission import SaturatedError, ShuttingDownError
from advisor.service.calls import (
    SERVICE,
    CallWorkers,
    Outcomes,
    answer,
    has_ended,
    refuse,
    refuse_ended,
    relay,
)

__all__ = ["advisor_handler"]

# grpc's context is generic only in its type stubs, hence the quoted alias.
_Context: TypeAlias = "grpc.aio.ServicerContext[bytes, bytes]"


def advisor_handler(workers: CallWorkers, *, max_message_bytes: int) -> grpc.GenericRpcHandler:
    """Serve the advisor methods, their work run by ``workers``.

    A response over ``max_message_bytes`` (the server's ``max_send_message_length``) ends its
    call ``RESOURCE_EXHAUSTED`` here, where the access log sees it, rather than in gRPC.

    A call that admission refuses now is refused on the event loop, without a worker (under a
    flood most calls are); so is a call that has already ended (its deadline passed while its
    request was read, or it was cancelled), without taking a slot.
    """
    handlers = {
        method.name: _method_handler(
            workers, method.name, method.server_streaming, max_message_bytes
        )
        for method in SERVICE.methods
    }
    return grpc.method_handlers_generic_handler(SERVICE.full_name, handlers)


def _method_handler(
    workers: CallWorkers, method: str, streaming: bool, max_message_bytes: int
) -> grpc.RpcMethodHandler[bytes, bytes]:
    async def begin(payload: bytes, context: _Context) -> Outcomes:
        if has_ended(context):  # e.g. its deadline passed while its request was read
            await refuse_ended(context)
        try:
            return await workers.begin(method, payload, context)
        except (SaturatedError, ShuttingDownError) as error:
            await refuse(error, method, context)

    if streaming:

        async def stream(payload: bytes, context: _Context) -> None:
            await relay(await begin(payload, context), context, max_message_bytes)

        return grpc.unary_stream_rpc_method_handler(stream)

    async def unary(payload: bytes, context: _Context) -> bytes:
        return await answer(await begin(payload, context), context, max_message_bytes)

    return grpc.unary_unary_rpc_method_handler(unary)
