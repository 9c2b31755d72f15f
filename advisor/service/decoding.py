"""Register the advisor servicer so that an undecodable request is INVALID_ARGUMENT, not INTERNAL.

The generated ``add_ArchitectureAdvisorServicer_to_server`` has gRPC decode each request with
``FromString`` before the servicer runs; when that raises, gRPC itself ends the call with
INTERNAL ("Exception deserializing request!"), out of reach of :mod:`advisor.service.status`.
Here requests arrive as bytes and are decoded inside the call, so a malformed message is refused
like any other bad input: INVALID_ARGUMENT with a field violation on the request as a whole
(the empty field path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from advisor.errors import InvalidRequestError
from advisor.protocol._proto.advisor.v1 import advisor_pb2, advisor_pb2_grpc
from advisor.service.status import bad_request_status

__all__ = ["add_advisor_servicer"]

_SERVICE = advisor_pb2.DESCRIPTOR.services_by_name["ArchitectureAdvisor"]

_Handler = Callable[[Any, grpc.ServicerContext], Any]


def add_advisor_servicer(
    servicer: advisor_pb2_grpc.ArchitectureAdvisorServicer, server: grpc.Server
) -> None:
    """Serve ``servicer``'s methods on ``server``, as the generated registration does."""
    handlers = {method.name: _method_handler(servicer, method) for method in _SERVICE.methods}
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(_SERVICE.full_name, handlers),)
    )
    server.add_registered_method_handlers(_SERVICE.full_name, handlers)


def _method_handler(
    servicer: advisor_pb2_grpc.ArchitectureAdvisorServicer, method: MethodDescriptor
) -> grpc.RpcMethodHandler[bytes, Message]:
    request_class: type[Message] = GetMessageClass(method.input_type)
    behavior: _Handler = getattr(servicer, method.name)
    if method.server_streaming:

        def stream(payload: bytes, context: grpc.ServicerContext) -> Iterator[Message]:
            yield from behavior(_decode(request_class, payload, context), context)

        return grpc.unary_stream_rpc_method_handler(stream, response_serializer=_serialize)

    def unary(payload: bytes, context: grpc.ServicerContext) -> Message:
        response: Message = behavior(_decode(request_class, payload, context), context)
        return response

    return grpc.unary_unary_rpc_method_handler(unary, response_serializer=_serialize)


def _decode(request_class: type[Message], payload: bytes, context: grpc.ServicerContext) -> Message:
    try:
        return request_class.FromString(payload)
    except DecodeError:
        description = f"is not a valid {request_class.DESCRIPTOR.full_name} message"
        context.abort_with_status(bad_request_status(InvalidRequestError.single("", description)))


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
