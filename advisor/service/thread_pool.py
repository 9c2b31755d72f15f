"""Advisor calls' work on threads of the serving process (``--executor threads``).

Quick to start (nothing to launch, the engines load on the first call that needs them), which is
what the CLI's embedded server wants. The price: the work's Python threads share the serving
process's GIL with the event loop, so on a machine whose cores are taken a health check can wait
for a search's time slice (docs/RELIABILITY.md, "Known limits"); ``--executor processes``
(:mod:`advisor.service.process_pool`) avoids that.

The servicer takes its admission slot itself, on the worker thread; a call that would be refused
now is refused on the event loop first, without a thread. The pool has a few threads beyond the
slots: a call that passed that early check may still find every slot taken by the time it reaches
a thread, and is refused there.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from concurrent.futures import ThreadPoolExecutor

from advisor.service.admission import Admission
from advisor.service.calls import Outcome, Outcomes, StartedCall, run_call
from advisor.service.servicer import AdvisorServicer
from advisor.service.threads import AioContext, ThreadContext

__all__ = ["ThreadWorkers"]

# Worker threads beyond the advisor slots, for calls refused on their thread (see above).
_RESERVED_THREADS = 4


class ThreadWorkers:
    """Runs ``servicer``'s work on ``admission``'s slots, each on a thread of this process."""

    def __init__(self, servicer: AdvisorServicer, admission: Admission, slots: int) -> None:
        self._servicer = servicer
        self._admission = admission
        self._executor = ThreadPoolExecutor(
            max_workers=slots + _RESERVED_THREADS, thread_name_prefix="advisor-rpc"
        )

    @property
    def pids(self) -> list[int]:
        """No process ids, an empty list: the work runs on threads of this process."""
        return []

    async def begin(self, method: str, payload: bytes, context: AioContext) -> StartedCall:
        """Check admission, then run the call's work on a thread (see :class:`CallWorkers`).

        If the call ends first (cancelled, past its deadline), the thread's context ends too, so
        the work's stop signal fires; one thread drives the work to its end even then, so it
        releases what it holds (its admission slot).
        """
        self._admission.check()
        thread_context = _bridged(context)
        loop = asyncio.get_running_loop()
        outcomes: Outcomes = asyncio.Queue()

        def post(outcome: Outcome | None) -> None:
            # A closed loop (RuntimeError) means the server is gone: nobody reads any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(outcomes.put_nowait, outcome)

        def drive() -> None:
            try:
                for outcome in run_call(self._servicer, method, payload, thread_context):
                    post(outcome)
            finally:
                post(None)

        # Under the call's context: its request id (advisor.service.request_ids) goes along.
        loop.run_in_executor(self._executor, contextvars.copy_context().run, drive)
        return StartedCall(outcomes, thread_context.hurry)

    async def drain(self, deadline: float) -> None:
        """Nothing to pass on: the servicer's stop signals follow the admission's drain here."""

    async def close(self) -> None:
        """Let the threads go once their work is done."""
        self._executor.shutdown(wait=False)


def _bridged(context: AioContext) -> ThreadContext:
    thread_context = ThreadContext(context.time_remaining())

    def ended(_: AioContext) -> None:
        thread_context.end()

    # The stubs declare the callback type as a class, not a protocol a function could match.
    context.add_done_callback(ended)  # type: ignore[arg-type]
    return thread_context
