"""The bridge between the asyncio server and the worker threads that do an advisor call's work.

The server waits for requests, checks tokens and answers health on its event loop, where a call
that is only waiting costs no thread. The work of an advisor call (decoding, checking, searching,
converting) runs on a bounded thread pool, with a :class:`ThreadContext` in place of the call's
asyncio context: the part of ``grpc.ServicerContext`` the servicer uses (deadline, end-of-call
callbacks, trailing metadata, abort), safe to use from the worker thread. An abort there raises
:class:`CallAbortedError`, which :func:`on_thread` and :func:`stream_on_thread` turn into the call's
status on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import Any, Never, TypeAlias, TypeVar

import grpc

__all__ = ["CallAbortedError", "ThreadContext", "abort_call", "on_thread", "stream_on_thread"]

_Result = TypeVar("_Result")

_Metadata = tuple[tuple[str, str | bytes], ...]
# grpc's context is generic only in its type stubs, hence the quoted alias.
_AioContext: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class CallAbortedError(Exception):
    """A worker thread ended its call with a status (what ``context.abort`` does in gRPC)."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: _Metadata) -> None:
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

    As in gRPC, callbacks given to :meth:`add_callback` run once the call ends (:meth:`end`:
    done, cancelled by the client, or past its deadline).
    """

    def __init__(self, timeout: float | None = None) -> None:
        limited = timeout is not None and math.isfinite(timeout)
        self._deadline = time.monotonic() + timeout if limited and timeout is not None else None
        self._ended = False
        self._callbacks: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        self.trailing_metadata: _Metadata = ()

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

    def set_trailing_metadata(self, metadata: _Metadata) -> None:
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


async def on_thread(
    executor: Executor,
    work: Callable[[ThreadContext], _Result],
    context: _AioContext,
) -> _Result:
    """Run ``work`` on ``executor`` for the call of ``context``; return its response.

    If the call ends first (cancelled, past its deadline), the worker's context ends too, so
    the work's stop signal fires; the thread is freed once the work has returned.
    """
    thread_context = _bridged(context)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(executor, work, thread_context)
    except CallAbortedError as aborted:
        await abort_call(context, aborted)


async def stream_on_thread(
    executor: Executor,
    work: Callable[[ThreadContext], Iterator[object]],
    context: _AioContext,
) -> None:
    """Run the generator ``work`` on ``executor``, writing each item it yields to the call.

    One worker thread drives the generator to its end, so the work releases what it holds
    (its admission slot) even when the call is cancelled halfway.
    """
    thread_context = _bridged(context)
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[object] = asyncio.Queue()
    end = object()

    def post(item: object) -> None:
        # A closed loop (RuntimeError) means the server is gone: nobody reads any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(items.put_nowait, item)

    def drive() -> None:
        try:
            for item in work(thread_context):
                post(item)
        except CallAbortedError as aborted:
            post(aborted)
        finally:
            post(end)

    loop.run_in_executor(executor, drive)
    while (item := await items.get()) is not end:
        if isinstance(item, CallAbortedError):
            await abort_call(context, item)
        await context.write(item)


def _bridged(context: _AioContext) -> ThreadContext:
    thread_context = ThreadContext(context.time_remaining())

    def ended(_: _AioContext) -> None:
        thread_context.end()

    # The stubs declare the callback type as a class, not a protocol a function could match.
    context.add_done_callback(ended)  # type: ignore[arg-type]
    return thread_context


async def abort_call(context: _AioContext, aborted: CallAbortedError) -> Never:
    """End the call of ``context`` with the status a worker's context was aborted with."""
    await context.abort(aborted.code, aborted.details, aborted.trailing_metadata)
    raise AssertionError("unreachable: abort ends the call")
