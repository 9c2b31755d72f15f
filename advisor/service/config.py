"""The server's settings (:class:`ServerConfig`), each checked with the field it names.

Every invalid setting, or combination of settings, raises
:class:`~advisor.errors.InvalidRequestError` naming the setting, before anything starts:
``advisor serve``, ``advisor-server``, ``python server.py`` and the CLI's embedded server all
build one (:mod:`advisor.service.server` starts it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, model_validator

from advisor.errors import InvalidRequestError
from advisor.files import read_bounded
from advisor.model.budget import INT32_MAX
from advisor.protocol.metadata import UNIX_SCHEMES, socket_name_problem, token_problem
from advisor.service.binding import port_taken_error, shares_port
from advisor.service.limits import LONGEST_SECONDS, RequestLimits
from advisor.service.machine import usable_cpus
from advisor.service.process_pool import (
    worker_bound_problem,
    worker_memory_problem,
    worker_processes_that_fit,
)
from advisor.service.settings import Settings
from advisor.stdout import cannot_read, shown_path

__all__ = ["TOKEN_FILE_BYTES", "WORKER_PROCESS_SETTINGS", "ServerConfig", "read_token_file"]


_LEAST_CONNECTION_SECONDS: Final = 1.0
"""Least connection bound (``keepalive_seconds``, ``max_connection_idle_seconds``,
``max_connection_age_seconds``): gRPC takes them in whole milliseconds (0.0004 s was 0 ms, no
bound), and bounds of a millisecond closed and pinged connections under their calls (one call in
ten ran into its deadline)."""


WORKER_PROCESS_SETTINGS: Final = {
    "worker_niceness": "sets the priority of worker processes",
    "worker_max_memory_mib": "bounds the memory of worker processes",
}
"""The settings of the worker processes, which the threads executor does not start: each with
what it does, as a refusal of one given with that executor says."""


_NAMESPACE: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
"""A Kubernetes namespace: a DNS label (RFC 1123), what ``katib_namespace`` must be."""


_LEAST_READ_SECONDS: Final = 0.1
"""Least ``request_read_seconds``: the time a request has to arrive after its call starts must
cover at least a network round trip (tens of milliseconds across a continent) and a moment of a
busy event loop; below it a server answered every call ``DEADLINE_EXCEEDED`` (at 1 microsecond,
all of them, on a 2-core machine) and started as if nothing were wrong."""


def _default_workers() -> int:
    """Return the advisor calls a server serves at once when not told: one per usable CPU.

    No more than worker processes fit in the memory this process may use at their peak, each
    serving the costliest call the default limits admit (:func:`worker_processes_that_fit`; at
    least one): they all start with the server and may all search at once. Threads are held to
    the same count: each call's search needs that memory there too.
    """
    cpus = usable_cpus()
    fit = worker_processes_that_fit()
    return cpus if fit is None else max(1, min(cpus, fit))


class ServerConfig(Settings):
    """Everything needed to start a server.

    Built with keywords (``ServerConfig(port=0, ...)``, as the command and a config file's
    reader build it), every invalid setting raises InvalidRequestError naming it;
    ``model_validate`` keeps pydantic's ``ValidationError``.
    """

    host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Interface to bind, or a Unix domain socket (unix:/path, unix-abstract:name), "
        "which takes no port.",
    )
    port: int = Field(default=0, ge=0, le=65535, description="TCP port; 0 = any free port.")
    workers: int = Field(
        default_factory=_default_workers,
        gt=0,
        description="Advisor calls served at once (default: the CPUs this process may use, a "
        "container's quota included, and no more than fit in its memory, each at the peak "
        "of the costliest call the default limits admit); more are answered "
        "RESOURCE_EXHAUSTED.",
    )
    executor: Literal["processes", "threads"] = Field(
        default="processes",
        description="Where the calls' work runs: in 'workers' worker processes, so no search "
        "can delay health or the event loop, or on threads of the serving process (quicker "
        "to start, sharing its GIL).",
    )
    worker_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much lower the worker processes' priority is than the server's, so "
        "health and admission get a core before the searches on a busy machine (0: the same).",
    )
    worker_max_memory_mib: int | None = Field(
        default=None,
        # No gt=0 here: any value below an idle worker's size is refused in those words
        # (_worker_settings_have_workers), 0 too, not as "must be greater than 0".
        description="Stop a call whose work takes its worker process over this many MiB "
        "resident at its peak (RESOURCE_EXHAUSTED), and replace a worker that has held more "
        "once a call has ended (a large search's memory stays with the process that ran it); "
        "None: never. At least what an idle worker holds, at most the memory this process may "
        "use.",
    )
    reflection: bool = Field(default=False, description="Serve grpc.reflection.v1alpha.")
    access_log: bool = Field(
        default=True,
        description="Log one line per finished call on the 'advisor.access' logger: method, "
        "status, seconds, peer (advisor calls at INFO, health and reflection at DEBUG).",
    )
    tls_cert: Path | None = Field(default=None, description="PEM server certificate chain.")
    tls_key: Path | None = Field(default=None, description="PEM private key of tls_cert.")
    tls_client_ca: Path | None = Field(
        default=None, description="PEM CA bundle; set = clients must present a certificate."
    )
    token: str | None = Field(
        default=None, min_length=1, description="Bearer token required on every advisor call."
    )
    grace_seconds: float = Field(
        default=10.0,
        ge=0,
        le=LONGEST_SECONDS,
        allow_inf_nan=False,
        description="Drain time on shutdown.",
    )
    request_read_seconds: float = Field(
        default=10.0,
        ge=_LEAST_READ_SECONDS,
        le=LONGEST_SECONDS,
        allow_inf_nan=False,
        description="Time a call has to send its request message after it starts.",
    )
    max_streams_per_connection: int = Field(
        default=100, gt=0, le=INT32_MAX, description="Calls one connection may have open at once."
    )
    max_connection_idle_seconds: float = Field(
        default=300.0,
        ge=_LEAST_CONNECTION_SECONDS,
        le=LONGEST_SECONDS,
        allow_inf_nan=False,
        description="Idle connections are closed.",
    )
    max_connection_age_seconds: float = Field(
        default=1800.0,
        ge=_LEAST_CONNECTION_SECONDS,
        le=LONGEST_SECONDS,
        allow_inf_nan=False,
        description="Connections are asked to reconnect after this long; their calls finish.",
    )
    keepalive_seconds: float = Field(
        default=60.0,
        ge=_LEAST_CONNECTION_SECONDS,
        le=LONGEST_SECONDS,
        allow_inf_nan=False,
        description="The server pings a connection idle this long, and closes it if the ping "
        "is not answered; clients may ping at most every 10 s.",
    )
    katib_data_dir: Path | None = Field(
        default=None,
        description="Directory (Katib's FromVolume mount, /opt/katib/data) where the Katib "
        "endpoint keeps what learning calls handed out, read back after a restart; needs "
        "the Katib endpoint (--katib-port).",
    )
    katib_namespace: str | None = Field(
        default=None,
        description="The Kubernetes namespace of the experiments the Katib endpoint serves (the "
        "suggestion pod's own): their records in katib_data_dir are named by it and their name, "
        "since Katib's request names no namespace; needs katib_data_dir.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="TCP port of the Prometheus metrics endpoint, GET /metrics (0: any free "
        "port); None: no endpoint.",
    )
    metrics_host: str | None = Field(
        default=None,
        min_length=1,
        description="Interface the metrics endpoint binds (None: host's); needs metrics_port.",
    )
    limits: RequestLimits = Field(default_factory=RequestLimits)

    @model_validator(mode="after")
    def _socket_is_named(self) -> ServerConfig:
        problem = socket_name_problem(self.host)
        if problem is not None:
            raise InvalidRequestError.single("host", problem)
        return self

    @model_validator(mode="after")
    def _katib_namespace_is_one(self) -> ServerConfig:
        # The records' names hash it, so any text would do; a namespace Kubernetes cannot have
        # (a container's $(POD_NAMESPACE) left unexpanded: its env not set) is a mistake.
        namespace = self.katib_namespace
        if namespace is None:
            return self
        if not _NAMESPACE.fullmatch(namespace):
            raise InvalidRequestError.single(
                "katib_namespace",
                f"{namespace!r} is no Kubernetes namespace (lowercase letters, digits and '-', "
                "starting and ending with a letter or digit, at most 63 characters)",
            )
        if self.katib_data_dir is None:
            raise InvalidRequestError.single(
                "katib_namespace", "needs --katib-data-dir (it names the records kept there)"
            )
        return self

    @model_validator(mode="after")
    def _metrics_endpoint_has_an_interface(self) -> ServerConfig:
        # HTTP on a Unix domain socket is no endpoint Prometheus scrapes.
        if self.metrics_port is None:
            if self.metrics_host is not None:
                raise InvalidRequestError.single("metrics_host", "needs --metrics-port")
            return self
        if self.metrics_host is None and self.host.startswith(UNIX_SCHEMES):
            # On the setting given: a refusal on metrics_host named a key the file did not hold.
            field, problem = "metrics_port", f"--host is a Unix domain socket, {self.host}"
            remedy = "give --metrics-host the interface, e.g. 127.0.0.1"
        elif self.metrics_host is not None and self.metrics_host.startswith(UNIX_SCHEMES):
            field, problem = "metrics_host", f"{self.metrics_host} is a Unix domain socket"
            remedy = "give it an interface, e.g. 127.0.0.1"
        else:
            return self
        raise InvalidRequestError.single(
            field, f"{problem}: the metrics endpoint is HTTP on an interface: {remedy}"
        )

    @model_validator(mode="after")
    def _metrics_port_is_its_own(self) -> ServerConfig:
        port = self.metrics_port
        if port is not None and shares_port(self.metrics_interface, port, self.host, self.port):
            raise port_taken_error("metrics_port", port, "--port")
        return self

    @property
    def metrics_interface(self) -> str:
        """The interface the metrics endpoint binds: ``metrics_host``, else ``host``."""
        return self.metrics_host or self.host

    @model_validator(mode="after")
    def _token_can_be_sent(self) -> ServerConfig:
        # A token no client can send (token_problem) would start a server refusing every call.
        problem = None if self.token is None else token_problem(self.token)
        if problem is not None:
            raise InvalidRequestError.single("token", problem)
        return self

    @model_validator(mode="after")
    def _workers_fit_in_memory(self) -> ServerConfig:
        # Worker processes all start with the server: too many can only exhaust the memory.
        if self.executor == "processes":
            problem = worker_memory_problem(self.workers)
            if problem is not None:
                raise InvalidRequestError.single("workers", problem)
        return self

    @model_validator(mode="after")
    def _worker_settings_have_workers(self) -> ServerConfig:
        # Given with threads, niceness was silently ignored: no process of the server runs lower.
        given = [field for field in WORKER_PROCESS_SETTINGS if field in self.model_fields_set]
        if self.executor == "threads" and given:
            raise InvalidRequestError.single(
                given[0],
                f"{WORKER_PROCESS_SETTINGS[given[0]]}, and the threads executor starts none "
                "(its calls run on threads of the serving process)",
            )
        bound = self.worker_max_memory_mib
        problem = None if bound is None else worker_bound_problem(bound)
        if problem is not None:
            raise InvalidRequestError.single("worker_max_memory_mib", problem)
        return self

    @model_validator(mode="after")
    def _tls_settings_are_consistent(self) -> ServerConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            # Worded without field names: the CLI names the fields as its options.
            if self.tls_key is None:
                missing, given = "tls_key", "the certificate is given without its private key"
            else:
                missing, given = "tls_cert", "the private key is given without its certificate"
            raise InvalidRequestError.single(missing, f"missing: {given} (TLS needs both)")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise InvalidRequestError.single(
                "tls_client_ca", "mutual TLS needs the server's certificate and key as well"
            )
        return self


TOKEN_FILE_BYTES = 1 << 16
"""Most bytes of a token file: a token holds at most 4,096 characters
(:data:`~advisor.protocol.metadata.MAX_TOKEN_CHARS`), and a path that never ends
(``--token-file /dev/zero``) was read until memory ran out."""


def read_token_file(path: Path) -> str:
    """Read a bearer token from ``path`` (surrounding whitespace stripped).

    At most :data:`TOKEN_FILE_BYTES` are read: a longer file is refused, not read on.

    Raises
    ------
    InvalidRequestError
        On field ``token_file`` if the file cannot be read, is longer than
        :data:`TOKEN_FILE_BYTES` or holds no token.
    """
    try:
        token = read_bounded(path, TOKEN_FILE_BYTES, "a token file").decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidRequestError.single("token_file", cannot_read(path, error)) from None
    if not token:
        raise InvalidRequestError.single("token_file", f"{shown_path(path)} holds no token")
    return token
