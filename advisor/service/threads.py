"""The context an advisor call's work runs with, away from the event loop.

The server waits for requests, checks tokens and answers health on its event loop. The work of an
advisor call (decoding, checking, searching, converting) runs on a worker thread, of the serving
process (:mod:`advisor.service.thread_pool`) or of a worker process
(:mod:`advisor.service.worker`), with a :class:`ThreadContext` in place of the call's asyncio
context: the part of ``grpc.ServicerContext`` the servicer uses (deadline, end-of-call callbacks,
trailing metadata, abort), safe to use from any thread. An abort there raises
:class:`CallAbortedError`, which reaches the event loop as the call's outcome and ends the call
there (:func:`abort_call`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Never, TypeAlias

import grpc

from advisor.service.call_id import with_call_id

__all__ = [
    "AioContext",
    "CallAbortedError",
    "Metadata",
    "ThreadContext",
    "abort_call",
    "abort_sync_call",
    "deadline_in",
]

Metadata = tuple[tuple[str, str | bytes], ...]
"""Trailing metadata: (key, value) pairs, bytes values for ``-bin`` keys."""
# grpc's context is generic only in its type stubs, hence the quoted alias.
AioContext: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
"""A call's context on the asyncio server."""


def deadline_in(timeout: float | None) -> float:
    """Return the moment ``timeout`` seconds from now on ``time.monotonic``'s clock; inf if none.

    ``timeout`` is what a call's ``time_remaining()`` says: None or infinity for no deadline.
    """
    if timeout is None or not math.isfinite(timeout):
        return math.inf
    return time.monotonic() + timeout


class CallAbortedError(Exception):
    """A worker thread ended its call with a status (what ``context.abort`` does in gRPC)."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: Metadata) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


class ThreadContext:
    """The part of ``grpc.ServicerContext`` the servicer uses, for one call's worker thread.

    Parameters
    ----------
    timeout
        Seconds left before the call's deadline; None (or infinity) for a call without one.
    deadline
        The deadline itself, a moment on ``time.monotonic``'s clock, in place of ``timeout``
        (a worker process receives it so); None (or infinity) for a call without one.

    As in gRPC, callbacks given to :meth:`add_callback` run once the call ends (:meth:`end`:
    done, cancelled by the client, or past its deadline).
    """

    def __init__(self, timeout: float | None = None, *, deadline: float | None = None) -> None:
        if timeout is not None:
            deadline = deadline_in(timeout)
        self._deadline = deadline if deadline is not None and math.isfinite(deadline) else None
        self._ended = False
        self._callbacks: list[Callable[[], object]] = []
        self._hurry: float | None = None  # seconds, once the call is asked to finish early
        self._hurry_callbacks: list[Callable[[float], object]] = []
        self._lock = threading.Lock()
        self.trailing_metadata: Metadata = ()

    def end(self) -> None:
        """Mark the call ended and run the callbacks registered so far (safe from any thread)."""
        with self._lock:
            self._ended = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def add_callback(self, callback: Callable[[], object]) -> bool:
        """Run ``callback`` when the call ends; False (and not registered) if it already has."""
        with self._lock:
            if self._ended:
                return False
            self._callbacks.append(callback)
            return True

    def hurry(self, seconds: float) -> None:
        """Ask the call's work to finish within ``seconds``, earlier than planned.

        A search then answers as its time limit would have it, with its best designs so far
        (``FinishSearch``). Safe from any thread. The callbacks :meth:`add_hurry_callback`
        registered so far run at once with the deadline ``seconds`` from now; one registered
        later, as the work begins, with the deadline ``seconds`` from then. The first ask counts.
        """
        with self._lock:
            if self._hurry is not None:
                return
            self._hurry = seconds
            callbacks, self._hurry_callbacks = self._hurry_callbacks, []
        deadline = time.monotonic() + seconds
        for callback in callbacks:
            callback(deadline)

    def add_hurry_callback(self, callback: Callable[[float], object]) -> None:
        """Run ``callback(deadline)`` (monotonic) when the call is hurried, at once if it was."""
        with self._lock:
            seconds = self._hurry
            if seconds is None:
                self._hurry_callbacks.append(callback)
                return
        callback(time.monotonic() + seconds)

    def is_active(self) -> bool:
        """Whether the call has neither ended nor passed its deadline."""
        with self._lock:
            if self._ended:
                return False
        return self._deadline is None or time.monotonic() < self._deadline

    def time_remaining(self) -> float:
        """Seconds left before the deadline (``inf`` without one)."""
        if self._deadline is None:
            return math.inf
        return max(self._deadline - time.monotonic(), 0.0)

    def set_trailing_metadata(self, metadata: Metadata) -> None:
        """Metadata to send with the call's status."""
        self.trailing_metadata = tuple(metadata)

    def abort(self, code: grpc.StatusCode, details: str) -> Never:
        """End the call with ``code`` and ``details``."""
        raise CallAbortedError(code, details, self.trailing_metadata)

    def abort_with_status(self, status: grpc.Status) -> Never:
        """End the call with a rich status (its trailing metadata carries the details)."""
        raise CallAbortedError(
            status.code, status.details, (*self.trailing_metadata, *status.trailing_metadata)
        )


async def abort_call(context: AioContext, aborted: CallAbortedError) -> Never:
    """End the call of ``context`` with the status a worker's context was aborted with.

    Its trailers carry the call's request id (:func:`~advisor.service.call_id.with_call_id`).
    """
    await context.abort(aborted.code, aborted.details, with_call_id(aborted.trailing_metadata))
    raise AssertionError("unreachable: abort ends the call")


def abort_sync_call(context: grpc.ServicerContext, aborted: CallAbortedError) -> Never:
    """End a synchronous server's call of ``context`` as :func:`abort_call` ends an aio one.

    Its ``abort`` sends the trailers set last, which name the call's request id until replaced:
    they are set first, with the id (:func:`~advisor.service.call_id.with_call_id`).
    """
    context.set_trailing_metadata(with_call_id(aborted.trailing_metadata))
    context.abort(aborted.code, aborted.details)
    raise AssertionError("unreachable: abort ends the call")
