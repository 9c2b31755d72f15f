"""Register the advisor servicer on the asyncio server, its work on threads, its requests as bytes.

Each method's handler waits for its call on the event loop and runs the servicer method on the
worker pool (:mod:`advisor.service.threads`), so a call costs a thread only while it works.
Requests arrive as bytes and are decoded on the worker, inside the call: a malformed message is
refused like any other bad input, INVALID_ARGUMENT with a field violation on the request as a
whole (the empty field path), where gRPC's own decoding would end the call with INTERNAL
("Exception deserializing request!").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import Any, TypeAlias

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from advisor.errors import InvalidRequestError
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.service.admission import Admission, SaturatedError, ShuttingDownError
from advisor.service.servicer import AdvisorServicer
from advisor.service.status import abort_for, bad_request_status
from advisor.service.threads import (
    CallAbortedError,
    ThreadContext,
    abort_call,
    on_thread,
    stream_on_thread,
)

__all__ = ["advisor_handler"]

_SERVICE = advisor_pb2.DESCRIPTOR.services_by_name["ArchitectureAdvisor"]

_Behavior = Callable[[Any, ThreadContext], Any]
# grpc's context is generic only in its type stubs, hence the quoted alias.
_Context: TypeAlias = "grpc.aio.ServicerContext[bytes, Message]"


def advisor_handler(
    servicer: AdvisorServicer, admission: Admission, executor: Executor
) -> grpc.GenericRpcHandler:
    """Serve ``servicer``'s methods, their work run on ``executor``.

    A call that ``admission`` would refuse now is refused on the event loop, without a worker
    (under a flood most calls are); the servicer takes the slot itself, on the worker.
    """
    handlers = {
        method.name: _method_handler(servicer, admission, method, executor)
        for method in _SERVICE.methods
    }
    return grpc.method_handlers_generic_handler(_SERVICE.full_name, handlers)


def _method_handler(
    servicer: AdvisorServicer,
    admission: Admission,
    method: MethodDescriptor,
    executor: Executor,
) -> grpc.RpcMethodHandler[bytes, Message]:
    request_class: type[Message] = GetMessageClass(method.input_type)
    behavior: _Behavior = getattr(servicer, method.name)

    def work(payload: bytes) -> Callable[[ThreadContext], Any]:
        def run(context: ThreadContext) -> Any:
            return behavior(_decode(request_class, payload, context), context)

        return run

    if method.server_streaming:

        async def stream(payload: bytes, context: _Context) -> None:
            await _refuse_if_unavailable(admission, method.name, context)
            events: Callable[[ThreadContext], Iterator[object]] = work(payload)
            await stream_on_thread(executor, events, context)

        return grpc.unary_stream_rpc_method_handler(stream, response_serializer=_serialize)

    async def unary(payload: bytes, context: _Context) -> Message:
        await _refuse_if_unavailable(admission, method.name, context)
        response: Message = await on_thread(executor, work(payload), context)
        return response

    return grpc.unary_unary_rpc_method_handler(unary, response_serializer=_serialize)


async def _refuse_if_unavailable(admission: Admission, method: str, context: _Context) -> None:
    try:
        admission.check()
    except (SaturatedError, ShuttingDownError) as error:
        try:
            abort_for(error, ThreadContext(), method)
        except CallAbortedError as aborted:
            await abort_call(context, aborted)


def _decode(request_class: type[Message], payload: bytes, context: ThreadContext) -> Message:
    try:
        return request_class.FromString(payload)
    except DecodeError:
        description = f"is not a valid {request_class.DESCRIPTOR.full_name} message"
        context.abort_with_status(bad_request_status(InvalidRequestError.single("", description)))


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
