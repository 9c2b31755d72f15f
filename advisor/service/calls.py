"""One advisor call's work, the same wherever it runs, and the way its outcomes reach the call.

An advisor call's work runs away from the event loop, on one of two kinds of :class:`CallWorkers`:
threads of the serving process (:class:`~advisor.service.thread_pool.ThreadWorkers`) or worker
processes (:class:`~advisor.service.process_pool.ProcessWorkers`). Either way it is
:func:`run_call`: the request arrives as the bytes the client sent and is decoded inside the call
(a malformed message is refused like any other bad input, INVALID_ARGUMENT with a violation on the
empty field path, where gRPC's own decoding would end the call with INTERNAL), the servicer method
runs with the call's :class:`~advisor.service.threads.ThreadContext`, and each response leaves as
serialized bytes. Its outcomes reach the event loop on a queue: response messages, perhaps a
status (:class:`~advisor.service.threads.CallAbortedError`), then ``None`` once the work has ended
and its slot is free. :func:`answer` and :func:`relay` turn them into the call's answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Never, Protocol, TypeAlias

import grpc
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from advisor.errors import InvalidRequestError, RefusedLimit
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.service.admission import (
    NotServingError,
    SaturatedError,
    ShuttingDownError,
    every_slot,
)
from advisor.service.logs import FIELDS
from advisor.service.servicer import AdvisorServicer
from advisor.service.status import (
    abort_for,
    as_aborted,
    bad_request_status,
    ended_call_status,
    ended_status,
    exhausted_status,
    past,
)
from advisor.service.threads import (
    AioContext,
    CallAbortedError,
    ThreadContext,
    abort_call,
    deadline_in,
)
from advisor.service.undelivered import is_undelivered

__all__ = [
    "SERVICE",
    "CallStarter",
    "CallWorkers",
    "Outcome",
    "Outcomes",
    "StartedCall",
    "StartingWorkers",
    "aborted_for",
    "answer",
    "ended_before_work",
    "has_ended",
    "oversized",
    "refuse",
    "refuse_ended",
    "relay",
    "run_call",
    "undecodable",
]

SERVICE = advisor_pb2.DESCRIPTOR.services_by_name["ArchitectureAdvisor"]
"""The descriptor of ``advisor.v1.ArchitectureAdvisor``, whose methods the workers run."""

Outcome: TypeAlias = bytes | CallAbortedError
"""What a call's work produces: a serialized response message, or the status ending the call."""

Outcomes: TypeAlias = "asyncio.Queue[Outcome | None]"
"""A call's outcomes as they arrive on the event loop; ``None`` once its work has ended."""

_LOGGER = logging.getLogger(__name__)

_FOLLOWED: set[asyncio.Task[None]] = set()
"""The tasks awaiting the answers of calls gRPC ended at their deadlines (the loop holds tasks
weakly)."""


@dataclass(frozen=True)
class StartedCall:
    """A call whose work has begun: its outcomes as they arrive, and how to hurry it.

    ``hurry(seconds)`` asks the work to finish within ``seconds`` of now, or of when it begins
    if later (a call may wait for a worker process), with what it has (a search: its best
    designs so far, ``FinishSearch``); safe to call on the event loop at any time, also after
    the work ended.
    """

    outcomes: Outcomes
    hurry: Callable[[float], None]


class CallStarter(Protocol):
    """What the advisor methods' handler needs: a way to begin a call's work."""

    async def begin(self, method: str, payload: bytes, context: AioContext) -> StartedCall:
        """Start the work of one call of ``method`` on the request bytes ``payload``.

        Raises
        ------
        SaturatedError
            Every advisor slot is busy (RESOURCE_EXHAUSTED, refused on the event loop).
        ShuttingDownError
            The server is draining (UNAVAILABLE).
        NotServingError
            No worker can take the call now (UNAVAILABLE).
        """
        ...


class CallWorkers(CallStarter, Protocol):
    """Where the advisor calls' work runs: threads or processes, behind one interface."""

    @property
    def pids(self) -> list[int]:
        """The process ids of the worker processes (none when the work runs on threads)."""
        ...

    async def drain(self, deadline: float) -> None:
        """Tell the work in flight that the shutdown drain ends at ``deadline`` (monotonic)."""
        ...

    async def close(self) -> None:
        """Release the threads or processes (once the server has stopped)."""
        ...


class StartingWorkers:
    """The workers the handler begins calls on while they may still be starting.

    The gRPC server starts, health answering NOT_SERVING, before its workers are ready (worker
    processes take seconds to load the engines, tens of seconds on a busy machine): until it
    did, its bound port took connections and answered nothing, and a probe with a short
    timeout failed where it was to read NOT_SERVING. A call that comes meanwhile waits for the
    workers, within its deadline, as it waited for the server to start before; once the start
    has failed or was abandoned it is refused UNAVAILABLE. At most ``slots`` calls wait (the
    admission's bound): one more would be refused ``RESOURCE_EXHAUSTED`` by the workers once
    they start, so it is refused at once, as a call over the bound is later. Unbounded, a flood
    during a start of up to 120 s piled up calls without a deadline, each holding its request
    (up to ``max_message_bytes``) in memory. Make it on the event loop.
    """

    def __init__(self, slots: int) -> None:
        self._workers: asyncio.Future[CallWorkers] = asyncio.get_running_loop().create_future()
        self._slots = slots
        self._waiting = 0

    def started(self, workers: CallWorkers) -> None:
        """Hand the waiting calls, and every later one, to ``workers``, now ready."""
        self._workers.set_result(workers)

    def failed(self) -> None:
        """Refuse the waiting calls, and every later one: the workers will not start."""
        self._workers.set_exception(NotServingError("the server could not start its workers"))
        self._workers.exception()  # marked retrieved: perhaps no call ever waits for it

    async def begin(self, method: str, payload: bytes, context: AioContext) -> StartedCall:
        """Begin the call on the workers once they are ready (see :class:`CallStarter`)."""
        if not self._workers.done() and self._waiting >= self._slots:
            raise SaturatedError(
                f"{every_slot(self._slots)} taken by {'a call' if self._slots == 1 else 'calls'} "
                "waiting for the workers to start; retry later"
            )
        self._waiting += 1
        try:
            # Shielded: a call cancelled while it waits must not cancel the start for the others.
            workers = await asyncio.shield(self._workers)
        finally:
            self._waiting -= 1
        return await workers.begin(method, payload, context)


def run_call(
    servicer: AdvisorServicer, method: str, payload: bytes, context: ThreadContext
) -> Iterator[Outcome]:
    """Decode ``payload``, run the servicer's ``method`` on it and yield its serialized responses.

    A status the work ends with (bad input, a refusal, an internal error, already mapped by the
    servicer) is the last outcome. A call that has already ended when its work would start (its
    deadline passed on the way to the thread, or it was cancelled) is ended without running the
    servicer, so it never takes an admission slot nobody waits for; so is one that ended while
    its request was decoded (a request of megabytes takes a good part of a second on a loaded
    machine, and its work then held the slot the next caller was refused).
    """
    if not context.is_active():
        yield ended_before_work(context.time_remaining())
        return
    descriptor = SERVICE.methods_by_name[method]
    behavior = getattr(servicer, method)
    try:
        request = _decode(GetMessageClass(descriptor.input_type), payload, context)
        if not context.is_active():
            yield ended_before_work(context.time_remaining())
            return
        if descriptor.server_streaming:
            for response in behavior(request, context):
                yield response.SerializeToString()
        else:
            yield behavior(request, context).SerializeToString()
    except CallAbortedError as aborted:
        yield aborted
    except Exception as error:  # outside the servicer's own mapping, e.g. encoding a response
        yield aborted_for(error, method, context)


def aborted_for(
    error: Exception,
    method: str,
    context: ThreadContext | None = None,
    request_id: str | None = None,
) -> CallAbortedError:
    """Return the status ``error`` ends a call of ``method`` with (see :mod:`.status`).

    ``request_id``: the call's, where this runs outside it (a worker process died under it).
    """
    try:
        abort_for(error, ThreadContext() if context is None else context, method, request_id)
    except CallAbortedError as aborted:
        return aborted


def _decode(request_class: type[Message], payload: bytes, context: ThreadContext) -> Message:
    try:
        return request_class.FromString(payload)
    except DecodeError:
        context.abort_with_status(bad_request_status(undecodable(request_class)))


def undecodable(request_class: type[Message]) -> InvalidRequestError:
    """Return the refusal of bytes that are no ``request_class`` message (on the request)."""
    return InvalidRequestError.single(
        "", f"is not a valid {request_class.DESCRIPTOR.full_name} message"
    )


async def refuse(
    error: SaturatedError | ShuttingDownError | NotServingError, method: str, context: AioContext
) -> Never:
    """End the call of ``context`` with the status of a refusal, on the event loop."""
    await abort_call(context, aborted_for(error, method))


def ended_before_work(remaining: float | None) -> CallAbortedError:
    """Return the status of a call that ended before its work began.

    ``remaining``: the seconds to its deadline (see :func:`~advisor.service.status.ended_status`).
    """
    code = ended_status(remaining)
    how = "its deadline passed" if code is grpc.StatusCode.DEADLINE_EXCEEDED else "it was cancelled"
    return as_aborted(ended_call_status(code, f"the call ended before its work started: {how}"))


async def refuse_ended(context: AioContext) -> Never:
    """End the call of ``context``, which ended before its work began, on the event loop."""
    await abort_call(context, ended_before_work(context.time_remaining()))


def has_ended(context: AioContext) -> bool:
    """Whether the call of ``context`` has ended (cancelled, done) or passed its deadline.

    gRPC's asyncio server reports a call without a deadline as None.
    """
    return context.done() or past(context.time_remaining())


class _Deadline:
    """A call's deadline as its answer is awaited, to log the answer that comes after it.

    The access line of a call that missed its deadline says ``DEADLINE_EXCEEDED`` (or ``OK``,
    where the answer went out before gRPC ended the call): nothing of when the work's answer
    came. :meth:`check` logs a WARNING with the overrun, once a call, when the answer is ready
    (its work has ended) past the deadline, sent or not.
    """

    def __init__(self, method: str, context: AioContext) -> None:
        self._method = method
        self._moment = deadline_in(context.time_remaining())

    def check(self, *, sent: bool) -> None:
        """Log the call's answer, ready now, if its deadline has passed (``sent``: it leaves)."""
        overrun_ms = (time.monotonic() - self._moment) * 1000.0
        if overrun_ms <= 0.0:
            return
        _LOGGER.warning(
            "the %s call's answer was ready %.0f ms after its deadline (%s)",
            self._method,
            overrun_ms,
            "sent late" if sent else "not sent: the call had ended",
            extra={FIELDS: {"method": self._method, "overrun_ms": round(overrun_ms, 1)}},
        )

    def follow(
        self, outcomes: Outcomes, answered: bool, is_answer: Callable[[Outcome], bool]
    ) -> None:
        """Check the answer the work still brings once gRPC has ended the call at its deadline.

        ``answered``: whether the answer came already. A call its client cancelled before
        the deadline is not followed.
        """
        if time.monotonic() < self._moment:
            return
        task = asyncio.get_running_loop().create_task(
            self._after_end(outcomes, answered, is_answer)
        )
        _FOLLOWED.add(task)
        task.add_done_callback(_FOLLOWED.discard)

    async def _after_end(
        self, outcomes: Outcomes, answered: bool, is_answer: Callable[[Outcome], bool]
    ) -> None:
        while (outcome := await outcomes.get()) is not None:
            answered = answered or is_answer(outcome)
        if answered:
            self.check(sent=False)


def _is_response(outcome: Outcome) -> bool:
    return isinstance(outcome, bytes)


def _is_result(outcome: Outcome) -> bool:
    return isinstance(outcome, bytes) and _is_stream_result(outcome)


async def answer(
    outcomes: Outcomes,
    context: AioContext,
    max_message_bytes: int,
    ended: Callable[[], None] | None,
    *,
    method: str,
) -> bytes:
    """Return a unary call's response once its work has ended (its slot is free by then).

    ``ended`` (if any) is called then, before the response leaves: a named search lets its
    name go (:meth:`~advisor.service.searches.RunningSearches.release`), so a client that
    names its next search alike as soon as it has the answer does not find the name held.
    A response over ``max_message_bytes`` ends the call ``RESOURCE_EXHAUSTED`` instead
    (:func:`oversized`). A response ready past the call's deadline is logged, sent or not
    (:class:`_Deadline`); ``method`` names the call there.
    """
    deadline = _Deadline(method, context)
    response: Outcome | None = None
    try:
        while (outcome := await outcomes.get()) is not None:
            response = outcome
    except asyncio.CancelledError:  # gRPC ended the call: its deadline passed, or cancelled
        deadline.follow(outcomes, isinstance(response, bytes), _is_response)
        raise
    if ended is not None:
        ended()
    if isinstance(response, bytes):
        response = oversized(response, max_message_bytes) or response
    if isinstance(response, CallAbortedError):
        await abort_call(context, response)
    assert response is not None, "run_call yields a response or a status for every unary call"
    deadline.check(sent=True)
    return response


async def relay(
    outcomes: Outcomes,
    context: AioContext,
    max_message_bytes: int,
    ended: Callable[[], None] | None,
    *,
    method: str,
) -> None:
    """Write a streaming call's responses as they arrive, until its work ends.

    Progress events leave at once. What ends the call, a status or ``StreamRecommend``'s result,
    is sent once the work has ended (its slot is free by then, and ``ended``, if any, has been
    called), as :func:`answer` does for a unary call: a client that sends its next call as soon
    as it has the result must not find the slot, or its search's name, still taken (with worker
    processes the end-of-work frame follows the result's).
    A response over ``max_message_bytes`` is not sent: the call ends ``RESOURCE_EXHAUSTED``
    (:func:`oversized`) once the work has ended, and nothing more is written. A result ready past
    the call's deadline is logged as :func:`answer` logs a response.
    """
    deadline = _Deadline(method, context)
    aborted: CallAbortedError | None = None
    result: bytes | None = None
    try:
        while (outcome := await outcomes.get()) is not None:
            if aborted is not None:
                continue  # the call's status is decided; the work's end is all that is awaited
            if isinstance(outcome, CallAbortedError):
                aborted = outcome  # the work's last outcome: its end follows
            elif (too_large := oversized(outcome, max_message_bytes)) is not None:
                aborted, result = too_large, None
            elif _is_stream_result(outcome):
                result = outcome  # the stream's last message: its end follows
            else:
                await _written(context, outcome)
    except asyncio.CancelledError:  # gRPC ended the call: its deadline passed, or cancelled
        deadline.follow(outcomes, result is not None, _is_result)
        raise
    if ended is not None:
        ended()
    if result is not None:
        deadline.check(sent=True)
        await _written(context, result)
    if aborted is not None:
        await abort_call(context, aborted)


async def _written(context: AioContext, message: bytes) -> None:
    """Write ``message``; a write its client left the call during ends the call as cancelled.

    gRPC fails the write of a client that stopped reading, then disconnected
    (:func:`~advisor.service.undelivered.is_undelivered`): raised on, the call read ``UNKNOWN``
    and gRPC logged a traceback at ERROR.
    """
    try:
        await context.write(message)
    except Exception as error:
        if not is_undelivered(error):
            raise
        raise asyncio.CancelledError from None


def oversized(message: bytes, max_message_bytes: int) -> CallAbortedError | None:
    """Return the ``RESOURCE_EXHAUSTED`` a response over ``max_message_bytes`` ends its call with.

    gRPC itself would refuse to send it (``max_send_message_length``), but only after the
    handler has returned: the client got ``RESOURCE_EXHAUSTED`` while the access log read
    ``OK`` and the server's log a traceback of gRPC's failed batch. The estimate of a search's
    or an analysis's answer refuses most such calls up front (``INVALID_ARGUMENT``); this
    catches the rest, e.g. ``ListPresets`` on a server whose limit is below its 8 kB answer.
    Its ErrorInfo names the setting and the response's size, which admits it. None when the
    message fits.
    """
    if len(message) <= max_message_bytes:
        return None
    refused = RefusedLimit("max_message_bytes", max_message_bytes, len(message))
    status = exhausted_status(
        f"the response is {refused.needed:,} bytes, over this server's limit of "
        f"{refused.limit:,} ({refused.setting})",
        refused,
    )
    return as_aborted(status)


_RESULT_FIELD = advisor_pb2.StreamRecommendResponse.DESCRIPTOR.fields_by_name["result"]
# The key protobuf writes before a length-delimited field (wire type 2) of this number.
_RESULT_KEY = (_RESULT_FIELD.number << 3) | 2
assert _RESULT_KEY < 0x80, "a one-byte key: field numbers 1 to 15"


def _is_stream_result(message: bytes) -> bool:
    """Whether a serialized ``StreamRecommendResponse`` holds the result, not a progress event.

    Read from its first byte: the message holds one field of its ``event`` oneof and nothing
    else, and protobuf writes a field's key first. Parsing a result of megabytes on the event
    loop would delay the health checks it answers.
    """
    return message[:1] == bytes([_RESULT_KEY])
