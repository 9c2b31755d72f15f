"""Admission control: a bounded number of advisor calls in flight, and the shutdown drain.

A search holds a CPU for up to its time limit, so queueing calls behind busy workers would only
turn a quick "try later" into a late deadline failure. Calls over the bound are refused at once
(``RESOURCE_EXHAUSTED``); once shutdown starts, new calls are refused (``UNAVAILABLE``) while the
calls already admitted run on until the drain deadline. Every call's stop signal follows
:attr:`Admission.drain`, whose deadline becomes the end of the drain when shutdown begins, so a
search in flight plans its partial result against it.

A slot counts work, not calls: it is held until the call's work has ended. A call that ends
before its work does (its deadline passed on the client's side, or it was cancelled) keeps its
slot until the work's next poll of its stop signal, tens of milliseconds later (up to about
0.75 s inside an InferTask's first partition of a large grid, which cannot be interrupted;
docs/SERVICE.md, "Concurrency, deadlines, cancellation").
Releasing the slot sooner would let the next call's work start beside work that still runs,
which is what the bound is there to prevent. A call that has ended before its work starts (its
deadline passed while its request was read) takes no slot at all: the event loop refuses it
before a worker takes the slot (:mod:`advisor.service.decoding`), and a thread checks again
before the servicer does (:func:`advisor.service.calls.run_call`).

The servicer sees admission through :class:`CallGate`: the :class:`Admission` itself when it runs
in the serving process, a worker process's stand-in when the serving process holds the slot for it
(:mod:`advisor.service.worker`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import ClassVar, Protocol

from advisor.stopping import StopCause, StopSignal

__all__ = [
    "Admission",
    "CallGate",
    "NotServingError",
    "SaturatedError",
    "ShuttingDownError",
    "every_slot",
]


def every_slot(slots: int, kind: str = "advisor") -> str:
    """Name every slot of an endpoint of ``slots`` (``kind``'s), as a refusal's subject.

    >>> every_slot(1), every_slot(4, "Katib")
    ('the one advisor slot is', 'all 4 Katib slots are')
    """
    return f"the one {kind} slot is" if slots == 1 else f"all {slots} {kind} slots are"


class SaturatedError(Exception):
    """Every slot for advisor calls is taken; the caller should retry later."""

    reason: ClassVar[str] = "SERVER_BUSY"
    """The ``reason`` of its ``google.rpc.ErrorInfo``."""

    retry_delay: ClassVar[float] = 0.2
    """Seconds to wait before a retry, its ``RetryInfo``: a call that ended on the client's
    side frees its slot within 0.2 s in every stop measured but the longest (docs/SERVICE.md)."""


class ShuttingDownError(Exception):
    """The server is draining before it stops and accepts no new calls."""

    reason: ClassVar[str] = "SERVER_DRAINING"
    """The ``reason`` of its ``google.rpc.ErrorInfo``."""

    retry_delay: ClassVar[float] = 0.2
    """Seconds to wait before a retry, on another replica: the client library's first backoff."""


class NotServingError(Exception):
    """No worker can take the call now (health reads NOT_SERVING); another server may."""

    reason: ClassVar[str] = "NO_WORKER"
    """The ``reason`` of its ``google.rpc.ErrorInfo``."""

    retry_delay: ClassVar[float] = 1.0
    """Seconds to wait before a retry: the pool tries to start a worker again every second."""


class CallGate(Protocol):
    """What the servicer needs of admission: a slot for its work, the drain, the shutdown state."""

    def admit(self) -> AbstractContextManager[None]:
        """Hold a slot while the call works (raises SaturatedError / ShuttingDownError)."""
        ...

    @property
    def drain(self) -> StopSignal:
        """The signal every call's stop signal follows; its deadline is the end of the drain."""
        ...

    @property
    def shutting_down(self) -> bool:
        """Whether the server has begun its shutdown drain."""
        ...


class Admission:
    """Counts admitted calls against ``max_in_flight`` and coordinates the shutdown drain.

    Parameters
    ----------
    max_in_flight
        The most advisor calls that may run at the same time (at least 1).
    kind
        Whose slots they are, as a refusal names them: the advisor port's, or the Katib
        endpoint's, which has its own (its refusal said "advisor slot").
    """

    def __init__(self, max_in_flight: int, kind: str = "advisor") -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self._max_in_flight = max_in_flight
        self._kind = kind
        self._in_flight = 0
        self._shutting_down = False
        self._drain = StopSignal()
        # One condition guards the counter and the drain state; wait_idle sleeps on it.
        self._changed = threading.Condition()

    @property
    def in_flight(self) -> int:
        """Number of calls admitted and not yet finished."""
        with self._changed:
            return self._in_flight

    @property
    def shutting_down(self) -> bool:
        """Whether :meth:`begin_shutdown` has been called."""
        with self._changed:
            return self._shutting_down

    @property
    def drain(self) -> StopSignal:
        """The signal every admitted call's stop signal follows (a deadline once draining).

        It has no deadline until :meth:`begin_shutdown`, then the end of the grace period.
        """
        return self._drain

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one slot for the duration of the ``with`` block.

        Raises
        ------
        ShuttingDownError
            If :meth:`begin_shutdown` has been called.
        SaturatedError
            If ``max_in_flight`` calls are already running.
        """
        with self._changed:
            self._refuse_if_unavailable()
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def check(self) -> None:
        """Raise what :meth:`admit` would raise now, without taking a slot.

        A cheap early refusal for a server that has not yet handed the call to a worker; the
        slot itself is taken by :meth:`admit`, which checks again.
        """
        with self._changed:
            self._refuse_if_unavailable()

    def _refuse_if_unavailable(self) -> None:
        if self._shutting_down:
            raise ShuttingDownError("the server is shutting down")
        if self._in_flight >= self._max_in_flight:
            raise SaturatedError(f"{every_slot(self._max_in_flight, self._kind)} busy; retry later")

    def begin_shutdown(self, grace_seconds: float) -> None:
        """Refuse new calls from now on; admitted calls have ``grace_seconds`` to finish.

        The end of the grace period becomes the deadline of :attr:`drain`. Calling it again
        may bring that deadline forward (a second signal ends the drain: 0 s), never later.
        """
        with self._changed:
            self._shutting_down = True
            self._drain.bring_forward(
                time.monotonic() + max(grace_seconds, 0.0), StopCause.SHUTDOWN
            )
            self._changed.notify_all()

    def wait_idle(self, timeout_seconds: float | None) -> bool:
        """Block until no call is in flight (or ``timeout_seconds`` pass); True if idle."""
        with self._changed:
            return self._changed.wait_for(lambda: self._in_flight == 0, timeout_seconds)
