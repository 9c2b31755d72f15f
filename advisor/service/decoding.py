"""Register the advisor methods on the asyncio server, their work on the workers, requests as bytes.

Each method's handler waits for its call on the event loop and hands the request, as the bytes the
client sent, to the :class:`~advisor.service.calls.CallWorkers` (threads or processes), which
decode it inside the call: a malformed message is refused like any other bad input, where gRPC's
own decoding would end the call with INTERNAL ("Exception deserializing request!"). Responses come
back serialized and are sent as they are. A search's ``search_id`` is read here, and
``FinishSearch`` answered here, on the event loop (:mod:`advisor.service.searches`).
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Final, TypeAlias

import grpc
from google.protobuf import empty_pb2
from google.protobuf.message import DecodeError
from google.protobuf.message_factory import GetMessageClass
from google.protobuf.unknown_fields import UnknownFieldSet

from advisor.errors import InvalidRequestError
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.protocol.search_id import search_id_problem
from advisor.service.admission import NotServingError, SaturatedError, ShuttingDownError
from advisor.service.calls import (
    SERVICE,
    CallStarter,
    Outcomes,
    aborted_for,
    answer,
    has_ended,
    refuse,
    refuse_ended,
    relay,
    undecodable,
)
from advisor.service.searches import (
    CALL_SEARCH_ID,
    FINISH_METHOD,
    NAMED_METHODS,
    Caller,
    RunningSearch,
    RunningSearches,
    SearchKey,
    read_search_id,
)
from advisor.service.servicer import REQUIRED_MESSAGES, require_messages
from advisor.service.status import search_status
from advisor.service.threads import abort_call

__all__ = ["advisor_handler"]

# grpc's context is generic only in its type stubs, hence the quoted alias.
_Context: TypeAlias = "grpc.aio.ServicerContext[bytes, bytes]"


def advisor_handler(workers: CallStarter, *, max_message_bytes: int) -> grpc.GenericRpcHandler:
    """Serve the advisor methods, their work run by ``workers``.

    A response over ``max_message_bytes`` (the server's ``max_send_message_length``) ends its
    call ``RESOURCE_EXHAUSTED`` here, where the access log sees it, rather than in gRPC.

    A call that admission refuses now is refused on the event loop, without a worker (under a
    flood most calls are); so is a call that has already ended (its deadline passed while its
    request was read, or it was cancelled), without taking a slot.
    """
    searches = RunningSearches()
    handlers = {
        method.name: _method_handler(
            workers, searches, method.name, method.server_streaming, max_message_bytes
        )
        for method in SERVICE.methods
        if method.name != FINISH_METHOD
    }
    handlers[FINISH_METHOD] = grpc.unary_unary_rpc_method_handler(_finisher(searches))
    return grpc.method_handlers_generic_handler(SERVICE.full_name, handlers)


def _method_handler(
    workers: CallStarter,
    searches: RunningSearches,
    method: str,
    streaming: bool,
    max_message_bytes: int,
) -> grpc.RpcMethodHandler[bytes, bytes]:
    """Return the handler of ``method``: raw bytes in, the worker's answer (or events) out.

    Each call is refused at once when it ended while its request was read, holds no request
    message, or names a search already running; otherwise its work starts on a worker
    (refused when none is free, the server drains or no worker runs), and the answer is relayed
    within ``max_message_bytes``, the search's name let go when the call ends.
    """

    async def begin(
        payload: bytes, context: _Context
    ) -> tuple[Outcomes, Callable[[], None] | None]:
        """Start the call's work; return its outcomes and how its search lets its name go."""
        search_id = _search_id(method, payload)
        if has_ended(context):  # e.g. its deadline passed while its request was read
            await refuse_ended(context)
        if (missing := _missing_message(method, payload)) is not None:
            await abort_call(context, aborted_for(missing, method))
        named = await _named(searches, method, search_id, context)
        try:
            started = await workers.begin(method, payload, context)
        except (SaturatedError, ShuttingDownError, NotServingError) as error:
            await refuse(error, method, context)
        if named is None:
            return started.outcomes, None
        searches.begun(named[1], started.hurry)
        return started.outcomes, partial(searches.release, *named)

    if streaming:

        async def stream(payload: bytes, context: _Context) -> None:
            outcomes, release = await begin(payload, context)
            await relay(outcomes, context, max_message_bytes, release, method=method)

        return grpc.unary_stream_rpc_method_handler(stream)

    async def unary(payload: bytes, context: _Context) -> bytes:
        outcomes, release = await begin(payload, context)
        return await answer(outcomes, context, max_message_bytes, release, method=method)

    return grpc.unary_unary_rpc_method_handler(unary)


def _search_id(method: str, payload: bytes) -> str | None:
    """Return the name a search request gives its search (None: none), read once for the call.

    A name a search may hold is also the call's :data:`CALL_SEARCH_ID`, for its access line.
    """
    search_id = read_search_id(payload) if method in NAMED_METHODS else None
    if search_id is not None and search_id_problem(search_id) is None:
        CALL_SEARCH_ID.set(search_id)
    return search_id


_LENGTH_DELIMITED: Final = 2
"""Protobuf's wire type of a message field: a length, then the message's bytes."""


def _missing_message(method: str, payload: bytes) -> InvalidRequestError | None:
    """Return the refusal of a request that lacks a message its method requires, or None.

    Told on the event loop, before the call takes a slot, by the servicer's own check
    (:func:`~advisor.service.servicer.require_messages`) on a stand-in request holding which
    messages are set: the payload parsed as a message of no fields, all of them unknown and
    skipped by their lengths (0.16 ms for a 1.5 MB request, where decoding it takes 5 ms).
    Bytes that are no message give None: the worker refuses them when it decodes them.
    """
    request_class = GetMessageClass(SERVICE.methods_by_name[method].input_type)
    required = REQUIRED_MESSAGES.get(request_class.DESCRIPTOR.name, ())
    if not required:
        return None
    try:
        skimmed = UnknownFieldSet(empty_pb2.Empty.FromString(payload))
    except DecodeError:
        return None
    fields = (skimmed[index] for index in range(len(skimmed)))  # its stubs declare no iteration
    given = {field.field_number for field in fields if field.wire_type == _LENGTH_DELIMITED}
    stand_in = request_class()
    for name in required:
        if request_class.DESCRIPTOR.fields_by_name[name].number in given:
            getattr(stand_in, name).SetInParent()
    try:
        require_messages(stand_in)
    except InvalidRequestError as missing:
        return missing
    return None


def _caller(context: _Context) -> Caller:
    """Return who makes the call, whose search names are its own (:data:`Caller`).

    A client certificate with neither subject alternative names nor a common name (only an
    organization, say) is named by gRPC as the common name ``b""``: every such certificate was
    one caller, each able to finish the others' searches. It is its SHA-256 fingerprint instead.
    """
    identities = context.peer_identities()
    if identities is None:
        return ()
    if any(identities):
        return (str(context.peer_identity_key()).encode(), *identities)
    return (_FINGERPRINT, _fingerprint(context))


_FINGERPRINT: Final = b"x509_sha256_fingerprint"
"""What names a caller known by its certificate's fingerprint (:func:`_caller`)."""


def _fingerprint(context: _Context) -> bytes:
    """Return the SHA-256 digest of the DER of the call's client certificate.

    The peers the server authenticates are TLS client certificates (mutual TLS is its only
    authentication of a peer), which gRPC hands over as ``x509_pem_cert``.
    """
    [pem] = context.auth_context()["x509_pem_cert"]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))).digest()


async def _named(
    searches: RunningSearches, method: str, search_id: str | None, context: _Context
) -> tuple[SearchKey, RunningSearch] | None:
    """Hold the name a search request gives its search; return it and its search, or None.

    The name is let go when the search's work ends, before its answer leaves
    (:func:`~advisor.service.calls.answer`), or when the call ends if sooner (refused, or
    cancelled: the work then stops at its next poll). A name that is no name is refused on
    ``search_id``, one a running search of the same caller holds ``ALREADY_EXISTS``: two
    searches of one name could not be told apart by ``FinishSearch``. Another caller's names
    are not this one's (:class:`~advisor.service.searches.SearchKey`).
    """
    if search_id is None:
        return None
    if (problem := search_id_problem(search_id)) is not None:
        await abort_call(
            context, aborted_for(InvalidRequestError.single("search_id", problem), method)
        )
    key = SearchKey(_caller(context), search_id)
    named = searches.claim(key)
    if named is None:
        details = (
            f"search_id {search_id!r} names a search running on this server; give each "
            "search its own name"
        )
        await abort_call(context, search_status(grpc.StatusCode.ALREADY_EXISTS, details, search_id))
    assert named is not None
    # The stubs declare the callback type as a class, not a protocol a function could match.
    context.add_done_callback(lambda _: searches.release(key, named))  # type: ignore[arg-type]
    return key, named


def _finisher(searches: RunningSearches) -> Callable[[bytes, _Context], Awaitable[bytes]]:
    """Return ``FinishSearch``'s behaviour: hurry the named search, on the event loop."""

    async def finish(payload: bytes, context: _Context) -> bytes:
        try:
            request = advisor_pb2.FinishSearchRequest.FromString(payload)
        except DecodeError:
            undecoded = undecodable(advisor_pb2.FinishSearchRequest)
            await abort_call(context, aborted_for(undecoded, FINISH_METHOD))
        if (problem_text := search_id_problem(request.search_id)) is not None:
            problem = InvalidRequestError.single("search_id", problem_text)
            await abort_call(context, aborted_for(problem, FINISH_METHOD))
        CALL_SEARCH_ID.set(request.search_id)
        if not searches.finish(SearchKey(_caller(context), request.search_id)):
            details = (
                f"no search named {request.search_id!r} runs on this server (it may have "
                "answered already; under mutual TLS, only a search of your client certificate "
                "is yours to finish)"
            )
            refusal = search_status(grpc.StatusCode.NOT_FOUND, details, request.search_id)
            await abort_call(context, refusal)
        return advisor_pb2.FinishSearchResponse().SerializeToString()

    return finish
