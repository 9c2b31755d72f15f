"""The settings of a client's connection, and the versions of the server that answered it.

:class:`RetryPolicy` (how ``UNAVAILABLE`` is retried, as the channel's gRPC service config, and
how long a call waits for a busy server's slot) and
:class:`TlsConfig` (the channel's credentials) check themselves when made, and
:func:`check_connection` checks the other settings (``token``, ``tls``, ``max_message_bytes``):
a setting gRPC cannot use is refused at once, naming it, rather than when a channel is built or
every call fails as if the server had refused it. What holds settings to open clients later
(``advisor.integrations.proposals.AdvisorSource``) checks them here too, so both refuse alike.
:class:`ServerVersion` is what a server's answer says of it, read off its trailers.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import grpc
from advisor_client.checks import MAX_TIMEOUT_SECONDS, is_real
from advisor_client.targets import host_name_problem

from advisor.errors import InvalidRequestError
from advisor.model.arguments import checked_integer, require_flag, require_instance
from advisor.model.pem import certificates_problem, key_problem, pem_path_problem, read_pem
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.protocol.metadata import (
    RANKING_VERSION_METADATA_KEY,
    SERVER_VERSION_METADATA_KEY,
    token_problem,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "SERVICE",
    "RetryPolicy",
    "ServerVersion",
    "TlsConfig",
    "check_connection",
    "server_version_from",
]

SERVICE: Final = advisor_pb2.DESCRIPTOR.services_by_name["ArchitectureAdvisor"]
"""The advisor's service: the one whose idempotent calls a policy retries, which a health check
asks about."""

_RETRIED_METHODS: Final = (
    "Recommend",
    "StreamRecommend",
    "Analyze",
    "ListPresets",
    "InferTask",
    "FinishSearch",
)

_INT32_MAX: Final = 2**31 - 1

MAX_MESSAGE_BYTES: Final = _INT32_MAX
"""The largest ``max_message_bytes``: gRPC holds its message limits as a C ``int``."""

_MIN_BACKOFF_SECONDS: Final = 0.001
"""gRPC's shortest retry backoff: it reads a backoff in whole milliseconds and refuses 0."""

_GRPC_MAX_RECONNECT_BACKOFF_MS: Final = 120_000
"""gRPC's own longest wait between a channel's attempts to connect, its default
``grpc.max_reconnect_backoff_ms``: no policy makes the channel wait longer."""

_LOAD_BALANCING: Final[dict[str, object]] = {"loadBalancingConfig": [{"round_robin": {}}]}
"""The channel's load balancing (service config). gRPC's default, ``pick_first``, keeps every
call on one connection: a target of several replicas (``ipv4:a,b``, a DNS name of several
addresses) had all of a call's retries refused ``UNAVAILABLE`` by the one that was draining,
while the others served. gRPC picks an address for each attempt of a call again."""


def _duration(seconds: float) -> str:
    """Return ``seconds`` as gRPC's service config writes a duration (``"0.010000000s"``).

    Fixed-point: Python writes 1e-05 in exponent notation, which gRPC does not read.
    """
    return f"{float(seconds):.9f}s"


@dataclass(frozen=True)
class ServerVersion:
    """The versions of the server that answered a call, as its answer's trailers say them.

    ``version`` is its advisor's (``advisor --version``'s ``0.1.0``), ``ranking_version`` the
    version of its ranking (:data:`advisor.version.RANKING_VERSION`, which its results report).
    """

    version: str
    ranking_version: int


def server_version_from(metadata: Mapping[str, str]) -> ServerVersion | None:
    """Return the versions a server's trailers ``metadata`` name; None if they lack either."""
    version = metadata.get(SERVER_VERSION_METADATA_KEY)
    ranking = metadata.get(RANKING_VERSION_METADATA_KEY)
    if version is None or ranking is None or not ranking.isdecimal():
        return None
    return ServerVersion(version, int(ranking))


@dataclass(frozen=True)
class RetryPolicy:
    """How ``UNAVAILABLE`` failures of idempotent calls are retried (gRPC's retry policy).

    Retry ``n`` (from 1) waits a random time up to ``min(initial_backoff_seconds *
    backoff_multiplier ** (n - 1), max_backoff_seconds)`` first. ``max_attempts`` counts the
    first call too, a whole number (``2.0`` is kept as 2); gRPC allows at most 5, and
    ``max_attempts=1`` turns retries off. The
    backoffs are from 1 ms (gRPC counts them in whole milliseconds and refuses 0) to
    :data:`MAX_TIMEOUT_SECONDS` (no call waits longer), the multiplier a finite number of at
    least 1, and ``max_backoff_seconds`` at least ``initial_backoff_seconds``; anything else
    raises :class:`~advisor.errors.InvalidRequestError` naming it.

    ``max_backoff_seconds`` also bounds the wait between the channel's attempts to reconnect to
    a server that went away (gRPC's own bound is 120 s): a call fails at once while the channel
    waits, so a retry, or a call made after the server came back, found no connection for as
    long (15 s after a server down for 30 s) instead of within the policy's backoff.

    ``busy_wait_seconds`` is how long a call may wait in all for a slot of a busy server (every
    slot taken, a :class:`~advisor_client.errors.ResourceExhaustedError` of ``reason``
    ``SERVER_BUSY``): its refusals are retried, each after the server's ``retry_delay`` or a
    random wait up to the backoff above (the longer), until the next would start past that many
    seconds after the call or past its deadline, which all its attempts share. 0 (the default)
    raises the first refusal, as a server that refuses rather than queues says; an AutoML pool
    with more threads than the server has slots sets it (:mod:`advisor_client.busy`). From 0 to
    :data:`MAX_TIMEOUT_SECONDS`. No other refusal is retried this way: the same request meets a
    size limit or a memory bound again.

    ``wait_for_ready`` makes every call wait, within its deadline, for a server it cannot reach
    (not up yet, or restarting) to come up, where by default a call that finds no connection
    fails ``UNAVAILABLE`` after its ``max_attempts``: about 1.5 s with the defaults, at most
    five attempts (gRPC's bound), so a restart that takes longer failed the calls made meanwhile.
    A server that never comes up then ends the call at its deadline
    (:class:`~advisor_client.errors.DeadlineExceededError`, which says to check the target).
    """

    max_attempts: int = 4
    initial_backoff_seconds: float = 0.2
    max_backoff_seconds: float = 2.0
    backoff_multiplier: float = 2.0
    busy_wait_seconds: float = 0.0
    wait_for_ready: bool = False

    def __post_init__(self) -> None:
        # gRPC refuses a service config it cannot read (a backoff of 1e-05 s, written in
        # exponent notation, or under a millisecond; an infinite one) only when the channel is
        # built: every call then failed INVALID_ARGUMENT as if the server had refused it.
        attempts = checked_integer("retry.max_attempts", self.max_attempts, 1, 5)
        object.__setattr__(self, "max_attempts", attempts)  # 2.0 is kept as the 2 it is read as
        for name in ("initial_backoff_seconds", "max_backoff_seconds"):
            seconds = getattr(self, name)
            if not (is_real(seconds) and _MIN_BACKOFF_SECONDS <= seconds <= MAX_TIMEOUT_SECONDS):
                raise InvalidRequestError.single(
                    f"retry.{name}",
                    f"must be a number of seconds from {_MIN_BACKOFF_SECONDS} to "
                    f"{MAX_TIMEOUT_SECONDS:.0f} (a year), got {seconds!r}",
                )
        if self.max_backoff_seconds < self.initial_backoff_seconds:
            raise InvalidRequestError.single(
                "retry.max_backoff_seconds",
                f"must be at least initial_backoff_seconds ({self.initial_backoff_seconds!r}), "
                f"or every backoff is the maximum; got {self.max_backoff_seconds!r}",
            )
        multiplier = self.backoff_multiplier
        if not (is_real(multiplier) and 1 <= multiplier < math.inf):
            raise InvalidRequestError.single(
                "retry.backoff_multiplier",
                f"must be a finite number of at least 1, got {multiplier!r}",
            )
        busy = self.busy_wait_seconds
        if not (is_real(busy) and 0 <= busy <= MAX_TIMEOUT_SECONDS):
            raise InvalidRequestError.single(
                "retry.busy_wait_seconds",
                f"must be a number of seconds from 0 to {MAX_TIMEOUT_SECONDS:.0f} (a year), "
                f"got {busy!r}",
            )
        wait = require_flag(self.wait_for_ready, "retry.wait_for_ready")
        object.__setattr__(self, "wait_for_ready", wait)  # NumPy's True as the bool it reads as

    def channel_options(self) -> list[tuple[str, str | int]]:
        """Return the gRPC channel options applying this policy.

        The service config (:meth:`service_config`), and ``max_backoff_seconds`` as the longest
        wait between reconnection attempts (in whole milliseconds, at most gRPC's own 120 s).
        """
        reconnect_ms = math.ceil(self.max_backoff_seconds * 1000)
        return [
            ("grpc.service_config", self.service_config()),
            ("grpc.enable_retries", 1),
            ("grpc.max_reconnect_backoff_ms", min(reconnect_ms, _GRPC_MAX_RECONNECT_BACKOFF_MS)),
        ]

    def service_config(self) -> str:
        """Return the gRPC service config (JSON) applying this policy to the idempotent calls.

        Calls, and each retry anew, are spread over the target's addresses (``round_robin``), so
        a retry of a call a draining replica refused meets another replica.
        """
        if self.max_attempts == 1:
            return json.dumps(_LOAD_BALANCING)
        policy = {
            "maxAttempts": self.max_attempts,
            "initialBackoff": _duration(self.initial_backoff_seconds),
            "maxBackoff": _duration(self.max_backoff_seconds),
            "backoffMultiplier": float(self.backoff_multiplier),
            "retryableStatusCodes": [grpc.StatusCode.UNAVAILABLE.name],
        }
        names = [{"service": SERVICE.full_name, "method": name} for name in _RETRIED_METHODS]
        return json.dumps(
            _LOAD_BALANCING | {"methodConfig": [{"name": names, "retryPolicy": policy}]}
        )


@dataclass(frozen=True)
class TlsConfig:
    """TLS settings: the CA that signed the server, and a client certificate for mutual TLS.

    ``root_ca=None`` trusts the system's roots. ``client_cert`` and ``client_key`` go together.
    ``server_name`` is the name the server's certificate is checked against where it is not
    the target's host: a target by IP address, through a tunnel or ``kubectl port-forward``
    (``localhost:50051`` for a certificate of ``advisor.example.internal``); None checks the
    target's host. A ``server_name`` that is no host name raises
    :class:`~advisor.errors.InvalidRequestError` on ``tls.server_name`` here, as
    :class:`RetryPolicy` refuses its settings, not once a client is built with it.
    """

    root_ca: str | os.PathLike[str] | None = None
    client_cert: str | os.PathLike[str] | None = None
    client_key: str | os.PathLike[str] | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        name = self.server_name
        if not (name is None or (isinstance(name, str) and name.strip())):
            raise InvalidRequestError.single(
                "tls.server_name", f"must be a host name (a non-empty string) or None; got {name!r}"
            )
        problem = None if name is None else host_name_problem(name)
        if problem is not None:
            raise InvalidRequestError.single("tls.server_name", problem)
        # Here, not once a client is built: PEM text given as a path sat in the settings' repr.
        for field in ("root_ca", "client_cert", "client_key"):
            path = getattr(self, field)
            problem = None if path is None else pem_path_problem(path)
            if problem is not None:
                raise InvalidRequestError.single(f"tls.{field}", problem)

    def channel_options(self) -> list[tuple[str, str]]:
        """Return the gRPC channel options these settings add (the ``server_name`` override)."""
        if self.server_name is None:
            return []
        return [("grpc.ssl_target_name_override", self.server_name)]

    def credentials(self) -> grpc.ChannelCredentials:
        """Read the PEM files and build the channel credentials."""
        if (self.client_cert is None) != (self.client_key is None):
            missing = "tls.client_key" if self.client_key is None else "tls.client_cert"
            raise InvalidRequestError.single(
                missing, "tls.client_cert and tls.client_key go together"
            )
        root_ca = read_pem(self.root_ca, "tls.root_ca")
        certificate = read_pem(self.client_cert, "tls.client_cert")
        key = read_pem(self.client_key, "tls.client_key")
        for field, path, pem in (
            ("tls.root_ca", self.root_ca, root_ca),
            ("tls.client_cert", self.client_cert, certificate),
        ):
            problem = None if path is None or pem is None else certificates_problem(path, pem)
            if problem is not None:
                raise InvalidRequestError.single(field, problem)
        if self.client_cert is not None and self.client_key is not None:
            problem = key_problem(self.client_cert, self.client_key)
            if problem is not None:
                raise InvalidRequestError.single("tls.client_key", problem)
        return grpc.ssl_channel_credentials(
            root_certificates=root_ca, private_key=key, certificate_chain=certificate
        )


def check_connection(*, token: object, tls: object, max_message_bytes: object) -> int:
    """Refuse a connection setting a client cannot use; return ``max_message_bytes`` as an int.

    The rules of :class:`~advisor_client.client.AdvisorClient`'s settings, for whatever holds them
    to open clients later (``advisor.integrations.proposals.AdvisorSource``), so both refuse alike
    at once.

    Raises
    ------
    InvalidRequestError
        On ``token`` (not a string or None, or not one line of printable ASCII without a space
        at either end), ``tls`` (not a :class:`TlsConfig` or None) or ``max_message_bytes``
        (not a whole number from 1 to :data:`MAX_MESSAGE_BYTES`).
    """
    require_instance(token, str, "token", optional=True)
    problem = token_problem(token) if isinstance(token, str) else None
    if problem is not None:
        raise InvalidRequestError.single("token", problem)
    require_instance(tls, TlsConfig, "tls", optional=True)
    return checked_integer("max_message_bytes", max_message_bytes, 1, MAX_MESSAGE_BYTES)
