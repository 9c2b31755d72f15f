"""The checks of the client's arguments: each refuses, naming it, a value no call can send.

What a call, or a client's setting, cannot be sent as (a deadline gRPC cannot hold, a target it
would call as some other address, a search name no search may hold, a setting of the wrong type)
is refused here with :class:`~advisor.errors.InvalidRequestError` before anything is sent: gRPC
would fail deep in a call naming nothing, or call something else than asked. They check the calls
and settings of :class:`~advisor_client.client.AdvisorClient`, and what holds settings to open
clients later (``advisor.integrations.proposals.AdvisorSource``) checks them here too, so both
refuse alike at once.
"""

from __future__ import annotations

import numbers
from typing import Final

from advisor_client.targets import target_problem

from advisor.errors import InvalidRequestError
from advisor.model.arguments import require_instance
from advisor.protocol.search_id import search_id_problem

__all__ = [
    "MAX_TIMEOUT_SECONDS",
    "checked_search_id",
    "checked_target",
    "checked_timeout",
    "is_real",
]

MAX_TIMEOUT_SECONDS: Final = 365 * 24 * 3600.0
"""The longest deadline a call may have: a year, far past any call a server lets run (a search
stops at its time limit, a week at most). gRPC holds a deadline as nanoseconds since 1970 in 64
bits, which end in 2262: a timeout past about 7e9 s today wraps around to a deadline already
passed, and the call fails at once with ``DEADLINE_EXCEEDED``."""


def is_real(value: object) -> bool:
    """Whether ``value`` is a real number (NumPy's too), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def checked_target(target: object, *, plaintext: bool = False) -> str:
    """Return ``target`` if a client can connect to it (an ``AdvisorClient``'s ``target``).

    ``plaintext``: whether the channel will be (no TLS), where an address needs its port.

    Raises
    ------
    InvalidRequestError
        On ``target`` for anything but a non-empty string gRPC would call as written: a URL, an
        IPv6 address with a port but no brackets, a port that is no port number, an address
        with a path after it (``localhost:50051/``), one without a port on a ``plaintext``
        channel (gRPC would call port 443, TLS's), a Unix socket of no name or with a host
        (``unix://adv.sock``).
    """
    if not (isinstance(target, str) and target):
        raise InvalidRequestError.single(
            "target", f"must be a non-empty string such as 'host:port'; got {target!r}"
        )
    problem = target_problem(target, plaintext=plaintext)
    if problem is not None:
        raise InvalidRequestError.single("target", problem)
    return target


def checked_timeout(field: str, seconds: float) -> float:
    """Return ``seconds`` as a float if it can be a call's deadline (:data:`MAX_TIMEOUT_SECONDS`).

    Any real number is a number of seconds, NumPy's integers included (``np.int64(30)`` from a
    pipeline's config was refused while ``np.float64(30)``, a float subclass, was taken); a
    bool is not. gRPC gets a plain float.

    Raises
    ------
    InvalidRequestError
        On ``field`` for anything but a finite number above 0 and at most the maximum.
    """
    if not (is_real(seconds) and 0 < seconds <= MAX_TIMEOUT_SECONDS):  # NaN compares False
        raise InvalidRequestError.single(
            field,
            f"must be a finite positive number of seconds, at most {MAX_TIMEOUT_SECONDS:.0f} "
            f"(a year); got {seconds!r}",
        )
    return float(seconds)


def checked_search_id(search_id: object, *, required: bool = False) -> str:
    """Return ``search_id`` as a request carries it ("" for none); refuse one no search may hold."""
    if search_id is None and not required:
        return ""
    require_instance(search_id, str, "search_id", optional=not required)
    assert isinstance(search_id, str)
    if (problem := search_id_problem(search_id)) is not None:
        raise InvalidRequestError.single("search_id", problem)
    return search_id
