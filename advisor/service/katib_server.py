"""The Katib suggestion endpoint: its own gRPC server beside the advisor's, on its own port.

Katib's suggestion controller dials the algorithm's service without credentials (Katib's
default port :data:`KATIB_DEFAULT_PORT`) and checks gRPC health for
:data:`KATIB_HEALTH_SERVICE`; this server answers both, and nothing else. It is started by
``advisor serve --katib-port PORT`` next to the advisor service and stopped with it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from advisor.errors import ServerStartError
from advisor.files import os_reason
from advisor.integrations.katib import HandedOutFiles
from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.service.access import SyncAccessLog
from advisor.service.admission import Admission
from advisor.service.binding import bind, host_port
from advisor.service.health import SyncHealthServicer
from advisor.service.katib import KatibSuggestionServicer
from advisor.service.limits import RequestLimits
from advisor.service.metrics import Metrics, method_paths
from advisor.service.request_ids import SyncRequestIds
from advisor.service.server import FINAL_GRACE_SECONDS
from advisor.stdout import shown_path

__all__ = [
    "KATIB_DEFAULT_PORT",
    "KATIB_HEALTH_SERVICE",
    "KATIB_METHODS",
    "KatibServer",
    "start_katib_server",
]

KATIB_DEFAULT_PORT: Final = 6789
"""The port Katib's suggestion services listen on by default."""

KATIB_HEALTH_SERVICE: Final = "manager.v1beta1.Suggestion"
"""The health service name Katib's controller probes (its ``DefaultGRPCService``)."""

KATIB_METHODS: Final = method_paths(
    module.DESCRIPTOR.services_by_name[name]
    for module, name in ((api_pb2, "Suggestion"), (health_pb2, "Health"))
)
"""The methods of the Katib endpoint, which the metrics name (:mod:`advisor.service.metrics`)."""

_RESERVED_THREADS: Final = 2  # health checks stay answered while every slot is busy

_LOGGER = logging.getLogger(__name__)


class KatibServer:
    """A started Katib endpoint: its port and a graceful stop, begun at once or waited for."""

    def __init__(
        self,
        server: grpc.Server,
        health_servicer: SyncHealthServicer,
        admission: Admission,
        port: int,
        address: str,
    ):
        self._server, self._health, self._admission = server, health_servicer, admission
        self.port = port
        self.address = address
        self._stop_lock = threading.Lock()
        self._stopped: threading.Event | None = None
        self._hurried = False

    def begin_stop(self, grace: float) -> None:
        """Begin the drain and return at once: calls in flight get ``grace`` seconds.

        Health turns NOT_SERVING for watchers, and gRPC's synchronous server takes no new call
        from now on (health checks included: refused ``UNAVAILABLE``). The end of the grace
        period is the deadline of the calls' work (the admission's drain), so a call still
        working then stops and its thread is free for the process to exit; gRPC cancels what is
        left of the calls then. ``advisor serve --katib-port`` calls this when the signal
        arrives, before the advisor's own (blocking) drain, so both endpoints drain over the
        same grace period. Calling it again changes nothing; :meth:`hurry` ends the drain.
        """
        with self._stop_lock:
            if self._stopped is not None:
                return
            self._admission.begin_shutdown(grace)
            self._health.enter_graceful_shutdown()
            self._stopped = self._server.stop(grace)
        if self._hurried:  # a second signal that came before the drain began
            self.hurry()

    def hurry(self) -> None:
        """End the drain now, as a second signal does (safe to call from a signal handler).

        The calls' work stops at once and gRPC cancels what is left of them 0.5 s later (its
        stop with a shorter grace stops sooner). Called before :meth:`begin_stop`, the drain it
        begins ends at once.
        """
        self._hurried = True
        if self._stopped is not None:
            self._admission.begin_shutdown(0.0)
            self._server.stop(FINAL_GRACE_SECONDS)

    def stop(self, grace: float) -> None:
        """Drain as :meth:`begin_stop` (unless begun already) and return once stopped."""
        self.begin_stop(grace)
        assert self._stopped is not None, "begin_stop has begun the stop"
        self._stopped.wait()


def start_katib_server(
    host: str,
    port: int,
    workers: int,
    limits: RequestLimits | None = None,
    *,
    access_log: bool = True,
    data_dir: Path | None = None,
    namespace: str | None = None,
    metrics: Metrics | None = None,
) -> KatibServer:
    """Bind and start the Katib Suggestion service on ``host:port``, SERVING on return.

    ``limits`` bound each call as they bound the advisor's (default :class:`RequestLimits`);
    with ``access_log`` every finished call is logged as the advisor's are
    (:mod:`advisor.service.access`), and counted in ``metrics`` (names: :data:`KATIB_METHODS`),
    whether or not it is logged; with ``data_dir``, what learning calls hand out is kept
    in files there (:class:`~advisor.integrations.katib.HandedOutFiles`), read back after a
    restart, each named by the experiment's ``namespace`` (the service's: Katib's request
    names none) and name.

    Raises
    ------
    ServerStartError
        On setting ``katib_data_dir`` when no file can be written in ``data_dir``; on
        ``katib_port`` when the address cannot be bound.
    """
    files = None if data_dir is None else _writable_files(data_dir, namespace or "")
    limits = limits or RequestLimits()
    server = grpc.server(
        ThreadPoolExecutor(max_workers=workers + _RESERVED_THREADS, thread_name_prefix="katib"),
        # Outermost, the ids: the access line names the call's.
        interceptors=[SyncRequestIds(), *_access_log(access_log, metrics)],
        options=[
            ("grpc.so_reuseport", 0),  # a port in use is an error, not a shared port
            # As the advisor's port (gRPC's 4 MiB took requests over a lower limit).
            ("grpc.max_receive_message_length", limits.max_message_bytes),
            ("grpc.max_send_message_length", limits.max_message_bytes),
        ],
    )
    admission = Admission(workers, "Katib")
    api_pb2_grpc.add_SuggestionServicer_to_server(
        KatibSuggestionServicer(limits, admission, files), server
    )
    health_servicer = SyncHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    bound = bind(server, host, port, ["katib_host", "katib_port"])
    server.start()
    for service in ("", KATIB_HEALTH_SERVICE):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    bound_address = host_port(host, bound)
    _LOGGER.info("serving Katib's api.v1.beta1.Suggestion on %s", bound_address)
    return KatibServer(server, health_servicer, admission, bound, bound_address)


def _access_log(log: bool, metrics: Metrics | None) -> list[grpc.ServerInterceptor]:
    """Return the access log interceptor, which logs with ``log`` and counts in ``metrics``."""
    if not log and metrics is None:
        return []
    return [SyncAccessLog(log=log, metrics=metrics)]


def _writable_files(directory: Path, namespace: str) -> HandedOutFiles:
    """Return the record files of ``directory`` (``namespace``'s), refused now if it takes no file.

    Found out at the first learning call instead, each write would fail and be logged while
    the service looked healthy, and a restart would forget what it handed out. The temporary
    files a stopped service left there are removed
    (:meth:`~advisor.integrations.katib.HandedOutFiles.remove_temporary_files`).

    Raises
    ------
    ServerStartError
        On setting ``katib_data_dir``, with the system's reason.
    """
    files = HandedOutFiles(directory, namespace)
    try:
        files.check_writable()
    except OSError as error:
        raise ServerStartError(
            ["katib_data_dir"],
            f"cannot write in {shown_path(directory)}: {os_reason(error)}",
        ) from None
    files.remove_temporary_files()
    return files
