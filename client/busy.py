"""How a call waits for a slot of a busy server: the retries of ``RetryPolicy.busy_wait_seconds``.

A server works on ``--workers`` calls at once and refuses the next at once, ``RESOURCE_EXHAUSTED``
of reason ``SERVER_BUSY`` with a ``google.rpc.RetryInfo`` (AIP-194: wait at least its
``retry_delay``), rather than queue it. gRPC's own retries cannot wait for a slot: at most five
attempts, and a ``RESOURCE_EXHAUSTED`` retried whatever its cause (a request over a size limit
meets it again). :class:`BusyWait` retries only the refusals the server asks to retry, within the
call's one deadline and the policy's wait, backing off as gRPC's retries do (a random wait up to
``min(initial * multiplier ** (n - 1), max)``, "full jitter", so callers refused together do not
come back together), never sooner than the server's ``retry_delay``.
:class:`~advisor_client.client.AdvisorClient` runs every advisor call through one.

Each wait is logged at INFO on the ``advisor_client`` logger (:data:`LOGGER`), so a pool's
logs show a call that waits rather than one that hangs; the record's ``busy_retry`` (1 for the
call's first wait), ``busy_pause`` and ``busy_waited`` (seconds) carry the figures.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Final

from advisor_client.connection import RetryPolicy
from advisor_client.errors import AdvisorRpcError, ResourceExhaustedError, SearchNotStartedError

__all__ = [
    "BUSY_WAIT_HINT",
    "BUSY_WAIT_SETTING",
    "FINISHED_WAIT",
    "LOGGER",
    "BusyWait",
    "Ended",
    "Waiting",
]

LOGGER: Final = logging.getLogger("advisor_client")
"""The client library's logger: a call's waits for a busy server's slot (INFO)."""

BUSY_WAIT_SETTING: Final = "RetryPolicy.busy_wait_seconds"
"""The setting a refusal raised after waits names (the command says its option instead)."""

BUSY_WAIT_HINT: Final = "or let the call wait for one: RetryPolicy(busy_wait_seconds=...)"
"""What a busy server's refusal, raised at once, adds (the command says its option instead)."""

FINISHED_WAIT: Final = "finish_search ended the wait for a slot"
"""What a :class:`SearchNotStartedError` says ended the wait (the command says Ctrl-C did)."""


class Ended(enum.Enum):
    """Why a call's wait for a slot ended before its pause did."""

    CLOSED = "the client was closed"
    FINISHED = "finish_search was asked for the call's search"
    LEFT = "the stream was left"


class Waiting:
    """What ends one call's wait for a busy server's slot early, and why it did.

    ``search_id`` is the name of the call's search ("" for none), whose
    :meth:`~advisor_client.client.AdvisorClient.finish_search` ends the wait as closing the
    client does; leaving a stream ends its own.
    """

    def __init__(self, search_id: str = "") -> None:
        self.search_id = search_id
        self.why: Ended | None = None
        self._event = threading.Event()

    def end(self, why: Ended) -> None:
        """End the wait now and any to come, for ``why`` (the first reason given stands)."""
        if self.why is None:
            self.why = why
        self._event.set()

    def wait(self, seconds: float) -> Ended | None:
        """Wait ``seconds``; return why the wait was ended, or None if it ran its time."""
        self._event.wait(seconds)
        return self.why


class BusyWait:
    """The waits of one call (all its attempts) for a busy server's slot.

    Parameters
    ----------
    policy
        The client's retry policy: ``busy_wait_seconds`` and the backoff.
    timeout
        The call's deadline in seconds, which every attempt shares.
    clock
        Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        policy: RetryPolicy,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self._policy = policy
        self._clock = clock
        self._started = clock()
        self._deadline = self._started + timeout
        self._retries = 0
        self._backoff = policy.initial_backoff_seconds

    def remaining(self) -> float:
        """Return the seconds left of the call's deadline (at least a millisecond, gRPC's least)."""
        return max(self._deadline - self._clock(), 0.001)

    def pause(self, error: AdvisorRpcError) -> float | None:
        """Return the seconds to wait before retrying the call ``error`` refused; None: raise it.

        Only a busy server's refusal (a :class:`ResourceExhaustedError` with a ``retry_delay``)
        is retried, and only while the next attempt starts within ``busy_wait_seconds`` of the
        call and before its deadline. A wait is logged (:data:`LOGGER`).
        """
        if not isinstance(error, ResourceExhaustedError) or error.retry_delay is None:
            return None
        policy = self._policy
        wait = max(error.retry_delay, random.uniform(0.0, self._backoff))
        if self._clock() + wait > min(self._started + policy.busy_wait_seconds, self._deadline):
            return None
        self._retries += 1
        self._backoff = min(self._backoff * policy.backoff_multiplier, policy.max_backoff_seconds)
        waited = self._clock() - self._started
        LOGGER.info(
            "the server is busy (request id %s): retry %d in %.2f s, %.1f s into %s %g",
            error.request_id,
            self._retries,
            wait,
            waited,
            BUSY_WAIT_SETTING,
            policy.busy_wait_seconds,
            extra={"busy_retry": self._retries, "busy_pause": wait, "busy_waited": waited},
        )
        return wait

    def refusal(self, error: AdvisorRpcError) -> AdvisorRpcError:
        """Return the error to raise for the call's last refusal ``error``.

        After retries, a busy server's refusal also says how many and for how long, so a
        caller who set ``busy_wait_seconds`` reads that the wait ran out, not that none was made;
        under a policy that waits for nothing, how to wait (:data:`BUSY_WAIT_HINT`).
        """
        if not isinstance(error, ResourceExhaustedError) or error.retry_delay is None:
            return error
        if self._policy.busy_wait_seconds == 0:
            return self._reworded(error, f"{error.details} ({BUSY_WAIT_HINT})")
        if self._retries == 0:
            return error
        seconds = self._clock() - self._started
        times = "once" if self._retries == 1 else f"{self._retries} times"
        details = (
            f"{error.details}; retried {times} over {seconds:.1f} s "
            f"({BUSY_WAIT_SETTING} {self._policy.busy_wait_seconds:g})"
        )
        return self._reworded(error, details)

    def not_started(self, error: ResourceExhaustedError) -> ResourceExhaustedError:
        """Return the :class:`SearchNotStartedError` of a call whose wait ``FINISHED`` ended."""
        seconds = self._clock() - self._started
        details = f"{error.details}; {FINISHED_WAIT} after {seconds:.1f} s: no search ran"
        return self._reworded(error, details, SearchNotStartedError)

    @staticmethod
    def _reworded(
        error: ResourceExhaustedError,
        details: str,
        kind: type[ResourceExhaustedError] = ResourceExhaustedError,
    ) -> ResourceExhaustedError:
        """Return ``error`` as a ``kind`` with ``details``, the call's id, reason and delay kept."""
        reworded = kind(error.code, details, error.limits).with_call_of(error)
        reworded.__cause__ = error.__cause__
        return reworded
