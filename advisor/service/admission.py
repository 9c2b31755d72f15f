"""Admission control: a bounded number of advisor calls in flight, and the shutdown drain.

A search holds a CPU for up to its time limit, so queueing calls behind busy workers would only
turn a quick "try later" into a late deadline failure. Calls over the bound are refused at once
(``RESOURCE_EXHAUSTED``); once shutdown starts, new calls are refused (``UNAVAILABLE``) while the
calls already admitted run on until the drain deadline, which they can poll to wind down early.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Admission", "SaturatedError", "ShuttingDownError"]


class SaturatedError(Exception):
    """Every slot for advisor calls is taken; the caller should retry later."""


class ShuttingDownError(Exception):
    """The server is draining before it stops and accepts no new calls."""


class Admission:
    """Counts admitted calls against ``max_in_flight`` and coordinates the shutdown drain.

    Parameters
    ----------
    max_in_flight
        The most advisor calls that may run at the same time (at least 1).
    """

    def __init__(self, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._drain_deadline: float | None = None
        # One condition guards the counter and the drain state; wait_idle sleeps on it.
        self._changed = threading.Condition()

    @property
    def in_flight(self) -> int:
        """Number of calls admitted and not yet finished."""
        with self._changed:
            return self._in_flight

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
            if self._drain_deadline is not None:
                raise ShuttingDownError("the server is shutting down")
            if self._in_flight >= self._max_in_flight:
                raise SaturatedError(
                    f"all {self._max_in_flight} advisor slots are busy; retry later"
                )
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def begin_shutdown(self, grace_seconds: float) -> None:
        """Refuse new calls from now on; admitted calls have ``grace_seconds`` to finish.

        Calling it again never extends the first deadline.
        """
        with self._changed:
            if self._drain_deadline is None:
                self._drain_deadline = time.monotonic() + max(grace_seconds, 0.0)
            self._changed.notify_all()

    def should_wind_down(self, margin_seconds: float) -> bool:
        """Tell whether a shutdown has begun and its drain deadline is under ``margin`` away."""
        with self._changed:
            deadline = self._drain_deadline
        return deadline is not None and time.monotonic() >= deadline - margin_seconds

    def wait_idle(self, timeout_seconds: float | None) -> bool:
        """Block until no call is in flight (or ``timeout_seconds`` pass); True if idle."""
        with self._changed:
            return self._changed.wait_for(lambda: self._in_flight == 0, timeout_seconds)
