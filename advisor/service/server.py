"""Server lifecycle: start, drain and stop the advisor service.

The embedding API: :class:`~advisor.service.config.ServerConfig` (its settings, checked) and
:func:`~advisor.service.config.read_token_file` are exported here beside :func:`start_server`
and :func:`serve_forever`; binding an endpoint is :mod:`advisor.service.binding`'s.
:func:`start_server` builds a gRPC server with the advisor servicer, ``grpc.health.v1`` health,
optional reflection, optional TLS (mutual TLS with a client CA) and optional bearer-token auth,
binds it and returns a :class:`RunningServer`. :func:`serve_forever` adds the signal handling of
a long-running process: SIGTERM or SIGINT flips health to NOT_SERVING, refuses new calls, lets
the calls in flight finish within the grace period, then stops.

The server is gRPC's asyncio server, on one event loop thread shared by the servers of the
process (:func:`_event_loop`). Waiting costs no thread there: a call whose request message has not
arrived, a refused token, a health check, a reflection query are all handled on the loop. Only
an advisor call's work (decoding, checking, the library) runs elsewhere: in one of ``workers``
worker processes (``executor="processes"``, the default, :mod:`advisor.service.process_pool`),
or on a thread of this process (``executor="threads"``, :mod:`advisor.service.thread_pool`,
quicker to start, what the CLI's embedded server uses). A call that would be refused (every slot
busy, or draining) is refused on the loop. gRPC's overall cap on concurrent calls is not used: it
would refuse health checks with the rest.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import os
import signal
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Final, Literal, Self, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from advisor.errors import ServerStartError
from advisor.model.arguments import require_instance
from advisor.model.pem import certificates_problem, key_problem, read_pem_file
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.service.access import AccessLog
from advisor.service.admission import Admission
from advisor.service.auth import BearerTokenInterceptor, RefusalLog
from advisor.service.binding import bind, bind_error, host_port
from advisor.service.calls import CallWorkers, StartingWorkers
from advisor.service.config import ServerConfig, read_token_file
from advisor.service.decoding import advisor_handler
from advisor.service.health import AsyncHealthServicer
from advisor.service.held_signals import take_held_signals
from advisor.service.metrics import METRICS_PATH, Metrics, MetricsEndpoint, method_paths
from advisor.service.process_pool import (
    ProcessWorkers,
)
from advisor.service.reading import RequestReadTimeout
from advisor.service.request_ids import RequestIds
from advisor.service.searches import FINISH_GRACE_SECONDS
from advisor.service.servicer import AdvisorServicer
from advisor.service.thread_pool import ThreadWorkers
from advisor.service.undelivered import quiet_undelivered
from advisor.stdout import cannot_read
from advisor.words import counted

__all__ = [
    "ADVISOR_METHODS",
    "ADVISOR_SERVICE_NAME",
    "DRAIN_SIGNALS",
    "FINAL_GRACE_SECONDS",
    "HEALTH_SERVICE_NAME",
    "RunningServer",
    "ServerConfig",
    "freeze_long_lived_objects",
    "read_token_file",
    "serve_forever",
    "start_server",
]

ADVISOR_SERVICE_NAME: str = advisor_pb2.DESCRIPTOR.services_by_name["ArchitectureAdvisor"].full_name
HEALTH_SERVICE_NAME: str = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name

ADVISOR_METHODS: Final = method_paths(
    module.DESCRIPTOR.services_by_name[name]
    for module, name in (
        (advisor_pb2, "ArchitectureAdvisor"),
        (health_pb2, "Health"),
        (reflection_pb2, "ServerReflection"),
    )
)
"""The methods the server may have, which its metrics name (any other is counted as other)."""

# How long past the longest search a connection that has reached its maximum age may stay open
# for its calls to finish.
_CONNECTION_AGE_GRACE_SECONDS = 30.0
# How often serve_forever's main thread wakes up to let Python run a pending signal handler.
_SIGNAL_POLL_SECONDS = 0.1
# A second signal this soon after the first is the first delivered twice, not a second request
# (DrainRequests): a drain of a server run under coreutils' `timeout`, which signals the server
# and then its process group, ended at once. A person pressing Ctrl-C again takes longer.
_REPEATED_SIGNAL_SECONDS: Final = 0.2
# After the drain, how long gRPC lets calls finish before cancelling them: replies still being
# sent (a search answers at the end of the grace period), health watches, reflection.
FINAL_GRACE_SECONDS: Final = 0.5
# How long a thread may hold the GIL while another waits for it. With ``executor="threads"`` the
# event loop answering health checks waits behind the search threads; at Python's default 5 ms,
# health p99 under the 64-client flood was 36-45 ms, at 1 ms 13-33 ms (bench/load.py, loaded
# 2-core machine).
_SWITCH_INTERVAL_SECONDS = 0.001
# How long a keepalive ping may go unanswered before the connection is closed.
_KEEPALIVE_TIMEOUT_SECONDS = 20.0
# The shortest interval at which a client may ping without calls in between.
_MIN_CLIENT_PING_SECONDS = 10.0

_LOGGER = logging.getLogger(__name__)


_Result = TypeVar("_Result")


DRAIN_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
"""The signals that drain the server (:func:`serve_forever`): a supervisor's, Ctrl-C's and a
closed terminal's. A terminal's go to its whole process group, so the worker processes ignore
them (:mod:`advisor.service.worker`) and finish their calls in the drain. SIGHUP, unhandled,
ended the server at once, its calls in flight unanswered."""


class RunningServer:
    """A started server: its bound port, graceful stop and wait.

    Use :func:`start_server` to create one; as a context manager it stops on exit. One dropped
    unstopped warns ``ResourceWarning`` when it is collected, as an unclosed file does, and stops
    at once (:meth:`__del__`).
    """

    def __init__(
        self,
        server: grpc.aio.Server,
        health: _Health,
        admission: Admission,
        workers: CallWorkers,
        config: ServerConfig,
        port: int,
        refusals: RefusalLog | None = None,
        metrics: MetricsEndpoint | None = None,
    ) -> None:
        self._server = server
        self._metrics = metrics
        self._health = health
        self._admission = admission
        self._workers = workers
        self._config = config
        self._port = port
        self._refusals = refusals
        self._stop_lock = threading.Lock()
        self._stopped = threading.Event()
        self._hurried = False
        self._pid = os.getpid()
        _RUNNING.add(self)

    @property
    def port(self) -> int:
        """The TCP port the server is bound to (the chosen one for 0; 0 on a Unix socket)."""
        return self._port

    @property
    def address(self) -> str:
        """``host:port`` as bound (IPv6 hosts in brackets), for ``--target`` and channels."""
        return host_port(self._config.host, self._port)

    @property
    def metrics_port(self) -> int | None:
        """The port the metrics endpoint is bound to (the chosen one for 0); None without one."""
        return None if self._metrics is None else self._metrics.port

    @property
    def metrics_address(self) -> str | None:
        """``host:port`` of the metrics endpoint, as bound; None without one (no metrics_port).

        The address bound, not the name given: the endpoint binds one address, and
        ``localhost``'s line (``metrics on localhost:9464``) read as gRPC's ``localhost``, which
        binds ``::1`` as well, while ``[::1]:9464`` refused every scrape.
        """
        if self._metrics is None:
            return None
        return host_port(self._metrics.host, self._metrics.port)

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the worker processes (none with ``executor="threads"``)."""
        return self._workers.pids

    @property
    def in_flight(self) -> int:
        """Advisor calls running right now (at most ``config.workers``)."""
        return self._admission.in_flight

    def stop(self, grace: float | None = None) -> None:
        """Drain and stop; returns once the server has stopped. Safe to call more than once.

        Health turns NOT_SERVING (answered while calls drain; with none in flight the port
        closes at once) and new advisor calls are refused with ``UNAVAILABLE`` at once; calls in
        flight may run for up to ``grace`` seconds (default
        ``config.grace_seconds``): the end of the grace period becomes the deadline of their stop
        signals, so searches among them answer with ``complete=false`` before it ends and
        analyses are abandoned. gRPC then gives every call 0.5 s more to finish sending before it
        cancels what is left. In a child forked after the server started, ``RuntimeError``: the
        server is its parent's to stop.
        """
        _event_loop()  # in a forked child, its RuntimeError before anything changes
        grace_seconds = self._config.grace_seconds if grace is None else max(grace, 0.0)
        with self._stop_lock:
            if self._stopped.is_set():
                return
            # Refuse first: once health reads NOT_SERVING, no new call is admitted any more.
            self._admission.begin_shutdown(grace_seconds)
            _LOGGER.info(
                "%s; new calls are refused UNAVAILABLE",
                _draining(self._admission.in_flight, grace_seconds),
            )
            self._pass_on_drain()
            if self._hurried:  # a second signal that came before the drain began
                self.hurry()
            _on_loop(self._health.shut_down())
            if not self._drained():
                _LOGGER.warning(
                    "%d call(s) still running at the end of the drain; cancelling them in %g s",
                    self._admission.in_flight,
                    FINAL_GRACE_SECONDS,
                )
            _on_loop(self._server.stop(FINAL_GRACE_SECONDS))
            _on_loop(self._workers.close())
            if self._metrics is not None:  # scraped to the end of the drain
                self._metrics.close()
            if self._refusals is not None:  # the last burst's count, which no later line reports
                self._refusals.flush()
            self._stopped.set()

    def hurry(self) -> None:
        """End the drain within a second: what a second signal does (safe in a signal handler).

        The calls in flight stop as at the end of a grace period that ends
        :data:`~advisor.service.searches.FINISH_GRACE_SECONDS` from now: searches plan their
        last builds within it, as ``FinishSearch`` asks, and answer ``complete=false`` with
        their best designs so far; analyses are abandoned at its end; gRPC's 0.5 s to finish
        sending follows. Ended at once, a search had only those 0.5 s to build and send its
        answer, which a loaded machine missed: the call was cancelled ``UNAVAILABLE`` with
        nothing. Called before :meth:`stop`, the drain it begins ends so.
        """
        self._hurried = True
        if self._admission.shutting_down:
            self._admission.begin_shutdown(FINISH_GRACE_SECONDS)
            self._pass_on_drain()

    def _pass_on_drain(self) -> None:
        """Write the drain's deadline into the workers (a process's own signals follow it)."""
        deadline = self._admission.drain.deadline
        assert deadline is not None, "begin_shutdown sets the drain's deadline"
        _on_loop(self._workers.drain(deadline))

    def _drained(self) -> bool:
        """Wait for the calls in flight to end until the drain's deadline; True if they did.

        Wakes every :data:`_SIGNAL_POLL_SECONDS`: a signal the kernel hands to one of gRPC's
        threads runs its Python handler (a second signal: :meth:`hurry`, which brings the
        deadline forward) only once this thread is back in bytecode.
        """
        while True:
            deadline = self._admission.drain.deadline
            assert deadline is not None, "begin_shutdown sets the drain's deadline"
            left = deadline - time.monotonic()
            if self._admission.wait_idle(max(0.0, min(left, _SIGNAL_POLL_SECONDS))):
                return True
            if left <= _SIGNAL_POLL_SECONDS:
                return False

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped (or ``timeout`` passes); True if it has.

        In a child forked after the server started, ``RuntimeError``, as :meth:`stop` raises:
        only the parent stops it, so the child's copy would wait for ever.
        """
        _event_loop()  # in a forked child, its RuntimeError
        return self._stopped.wait(timeout)

    def __repr__(self) -> str:
        """Name the address, the executor and its workers, and whether it serves still.

        What a notebook shows for a server; ``draining`` once :meth:`stop` has begun.
        """
        if self._stopped.is_set():
            state = "stopped"
        else:
            state = "draining" if self._admission.shutting_down else "serving"
        workers = f"{self._config.workers} worker{'s' if self._config.workers != 1 else ''}"
        return f"<RunningServer {self.address!r} {self._config.executor}, {workers}, {state}>"

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        """Warn that the server was dropped unstopped, and stop it at once, its workers too.

        gRPC closed a dropped server's port (its own finalizer), but its worker processes ran on
        until the interpreter exited. Nothing here waits: the last reference may go on any
        thread, the event loop's among them. A forked child's copy of the server is not its
        own to stop.
        """
        if self._stopped.is_set() or os.getpid() != self._pid:
            return
        _warn(f"unstopped server {self!r}", ResourceWarning, source=self)
        asyncio.run_coroutine_threadsafe(
            _let_go(self._server, self._workers, self._metrics), _event_loop()
        )

    def __enter__(self) -> Self:
        """Return the server, to stop on exit; a stopped one raises ``RuntimeError``.

        A ``with`` on a server stopped before went on silently, its address refusing every
        call, as a ``with`` on a closed file does not.
        """
        if self._stopped.is_set():
            raise RuntimeError(f"{self!r} has been stopped: start another with start_server")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


_RUNNING: weakref.WeakSet[RunningServer] = weakref.WeakSet()
"""The servers of this process, for :func:`_stop_at_exit`."""


def _stop_at_exit() -> None:
    """Stop this process's servers still running as the interpreter exits, as ``stop()`` does.

    The calls in flight drain, as at a SIGTERM, for the server's ``grace_seconds`` at most. Run
    before Python joins its threads: left to the exit, a threads server's call in flight held it
    until its search ended (at its time limit, if need be), and a worker process's call was
    answered ``UNAVAILABLE`` as the process went. A forked child's copies of its parent's
    servers are not its own to stop.
    """
    for running in list(_RUNNING):
        if running._pid == os.getpid():
            running.stop()


# CPython's hook for what must run before the threads are joined (concurrent.futures' own).
threading._register_atexit(_stop_at_exit)  # type: ignore[attr-defined]


async def _let_go(
    server: grpc.aio.Server, workers: CallWorkers, metrics: MetricsEndpoint | None
) -> None:
    """Stop ``server`` at once, cancelling its calls, then close its ``workers`` and ``metrics``."""
    await server.stop(0)
    await workers.close()
    if metrics is not None:
        await asyncio.to_thread(metrics.close)


def freeze_long_lived_objects() -> None:
    """Collect garbage, then move every object alive now out of the collector's sight.

    What exists once a long-running server has started (imported modules, the server itself)
    lives as long as the process. Frozen, it is no longer walked by full collections, which
    would otherwise stop a search in flight for as long as they take: 180-340 ms on a loaded
    machine, measured in a process that had imported the test suite, longer than a search's
    reserve for its deadline. :func:`serve_forever` calls it; an embedded server (the CLI's, a
    test's) is left to its process.
    """
    gc.collect()
    gc.freeze()


def start_server(config: ServerConfig) -> RunningServer:
    """Build, bind and start a server; it is SERVING when this returns.

    Raises
    ------
    InvalidRequestError
        On ``config`` when it is no :class:`ServerConfig` (a mapping of settings, None).
    ServerStartError
        On setting ``tls_cert``/``tls_key``/``tls_client_ca`` if a TLS file cannot be read or is
        not a PEM certificate chain, the private key of that certificate or a PEM CA bundle; on
        ``host``/``port`` if the address cannot be bound.
    KeyboardInterrupt
        On Ctrl-C while it waits (worker processes take seconds to load), once the start is
        abandoned: the workers started so far exit and the port closes. The start ran on on the
        servers' event loop, and its server served on with nothing to stop it (a notebook's
        re-run cell left one more each time).
    RuntimeError
        In a child forked after its parent started a server (:func:`_event_loop`).
    """
    require_instance(config, ServerConfig, "config")
    loop = _event_loop()
    credentials = _server_credentials(config)
    # The start's task comes back in a future made before the start is scheduled: a Ctrl-C that
    # came as it was scheduled (in the write that wakes the loop) lost the handle, and the start
    # went on with nothing to stop it.
    starting: concurrent.futures.Future[asyncio.Task[RunningServer]] = concurrent.futures.Future()
    try:
        loop.call_soon_threadsafe(_schedule_start, config, credentials, starting)
        return _on_loop(_awaited(starting))
    except KeyboardInterrupt:
        abandoning = _abandoned(starting)
        started = _on_loop(abandoning)
        if started is not None:  # it had just started as the Ctrl-C came
            started.stop(0)
        raise


async def _start(
    config: ServerConfig,
    credentials: grpc.ServerCredentials | None,
    metrics: Metrics | None = None,
    stopping: threading.Event | None = None,
) -> RunningServer:
    """Start the metrics endpoint (with ``metrics_port``), then the server; close it on failure.

    The endpoint serves ``metrics`` (default: a registry of this server's own), and binds before
    gRPC, whose port no stop closes once bound (its start failing). It reports the server
    draining once ``stopping`` is set (:func:`serve_forever`'s signal), before the drain itself
    begins: also while a start the signal abandoned winds down, whose server never drains.
    """
    quiet_undelivered()
    admission = Admission(config.workers)
    health = _Health()
    endpoint = None
    if config.metrics_port is None:
        metrics = None
    else:
        counted = metrics = metrics or Metrics(ADVISOR_METHODS)

        def exposition() -> str:
            signalled = stopping is not None and stopping.is_set()
            draining = signalled or admission.shutting_down
            return counted.exposition(
                draining=draining,
                serving=health.serving,
                workers=config.workers,
                busy=admission.in_flight,
            )

        endpoint = _metrics_endpoint(config, config.metrics_port, exposition)
    try:
        return await _start_grpc(config, credentials, admission, health, metrics, endpoint)
    except BaseException:
        if endpoint is not None:
            await asyncio.to_thread(endpoint.close)
        raise


def _metrics_endpoint(
    config: ServerConfig, port: int, exposition: Callable[[], str]
) -> MetricsEndpoint:
    """Serve ``exposition`` on ``config.metrics_host`` (else ``config.host``) and ``port``.

    Raises
    ------
    ServerStartError
        On the settings that gave the address (``host`` for a ``metrics_host`` not given) when
        it cannot be bound, saying why.
    """
    host = config.metrics_interface
    try:
        endpoint = MetricsEndpoint(host, port, exposition)
    except OSError as error:
        settings = ["host" if config.metrics_host is None else "metrics_host", "metrics_port"]
        problem = f"cannot bind {host_port(host, port)}: {bind_error(error)}"
        raise ServerStartError(settings, problem) from None
    return endpoint


async def _start_grpc(
    config: ServerConfig,
    credentials: grpc.ServerCredentials | None,
    admission: Admission,
    health: _Health,
    metrics: Metrics | None,
    endpoint: MetricsEndpoint | None,
) -> RunningServer:
    """Build, bind and start the gRPC server, its calls counted in ``metrics`` (if any)."""
    interceptors: list[grpc.aio.ServerInterceptor] = [
        RequestReadTimeout(config.request_read_seconds)
    ]
    refusals = RefusalLog(schedule=asyncio.get_running_loop().call_later)
    if config.token is not None:
        interceptors.insert(
            0,
            BearerTokenInterceptor(
                config.token, exempt_services=[HEALTH_SERVICE_NAME], refusals=refusals
            ),
        )
    if config.access_log or metrics is not None:
        # A refusal by the interceptors inside it is logged (and counted) as an answer too.
        interceptors.insert(0, AccessLog(log=config.access_log, metrics=metrics))
    # Outermost: every answer carries the call's id, and every line about the call names it.
    interceptors.insert(0, RequestIds())
    server = grpc.aio.server(interceptors=interceptors, options=_channel_options(config))
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    if config.reflection:
        reflection.enable_server_reflection(
            (ADVISOR_SERVICE_NAME, HEALTH_SERVICE_NAME, reflection.SERVICE_NAME), server
        )
    port = bind(server, config.host, config.port, ["host", "port"], credentials)
    starting = StartingWorkers(config.workers)
    server.add_generic_rpc_handlers(
        (advisor_handler(starting, max_message_bytes=config.limits.max_message_bytes),)
    )
    # Serving before the workers load, health NOT_SERVING until they are ready: a probe that
    # reached the bound port was answered nothing until then.
    await health.set(serving=False)
    await server.start()
    try:
        on_replaced = None if metrics is None else metrics.worker_replaced
        workers = await _call_workers(config, admission, _health_setter(health), on_replaced)
    except (ServerStartError, asyncio.CancelledError):  # cancelled: the start was abandoned
        starting.failed()
        await server.stop(FINAL_GRACE_SECONDS)  # for the calls that waited to be refused
        raise
    starting.started(workers)
    await health.set(serving=True)
    # The worker processes' settings too: an operator checks a --worker-max-memory here.
    processes = (
        f", worker_niceness={config.worker_niceness}, "
        f"worker_max_memory_mib={config.worker_max_memory_mib}"
        if config.executor == "processes"
        else ""
    )
    _LOGGER.info(
        "serving %s on %s (tls=%s, token=%s, reflection=%s, workers=%d %s%s)",
        ADVISOR_SERVICE_NAME,
        host_port(config.host, port),
        "mutual" if config.tls_client_ca else bool(config.tls_cert),
        config.token is not None,
        config.reflection,
        config.workers,
        config.executor,
        processes,
    )
    if endpoint is not None:
        # Once the start succeeded (a start that failed on --port had logged it served metrics),
        # at the address bound, as the "metrics on" line gives it (localhost binds 127.0.0.1).
        bound = host_port(endpoint.host, endpoint.port)
        _LOGGER.info("serving metrics at http://%s%s", bound, METRICS_PATH)
    # The limits in force, whichever of the defaults, --config and --limit set them.
    _LOGGER.info(
        "request limits: %s",
        ", ".join(f"{name}={value}" for name, value in config.limits.model_dump().items()),
    )
    return RunningServer(server, health, admission, workers, config, port, refusals, endpoint)


async def _call_workers(
    config: ServerConfig,
    admission: Admission,
    on_serving: Callable[[bool], None],
    on_replaced: Callable[[], None] | None = None,
) -> CallWorkers:
    """Return the threads or the started worker processes the calls' work runs on.

    The processes call ``on_serving`` when whether any of them can take calls changes, and
    ``on_replaced`` when a new one is ready in place of another (threads are never replaced).
    """
    if config.executor == "threads":
        return ThreadWorkers(AdvisorServicer(config.limits, admission), admission, config.workers)
    max_bytes = config.worker_max_memory_mib
    return await ProcessWorkers.start(
        config.limits,
        admission,
        config.workers,
        config.worker_niceness,
        None if max_bytes is None else max_bytes * 2**20,
        on_serving,
        on_replaced,
    )


class _Health:
    """The server's health service, and whether it reports the advisor SERVING.

    For the metrics' ``advisor_serving``, read on the endpoint's thread: gRPC's servicer keeps
    its statuses to itself.
    """

    def __init__(self) -> None:
        self.servicer = AsyncHealthServicer()
        self.serving = False
        self._shut_down = False

    async def set(self, *, serving: bool) -> None:
        """Set ``""`` and the advisor's service SERVING, or NOT_SERVING; not once shut down."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ("", ADVISOR_SERVICE_NAME):
            await self.servicer.set(service, status)
        self.serving = serving and not self._shut_down

    async def shut_down(self) -> None:
        """Set every service NOT_SERVING for good: the drain has begun."""
        self._shut_down = True
        self.serving = False
        await self.servicer.enter_graceful_shutdown()


def _health_setter(health: _Health) -> Callable[[bool], None]:
    """Return a function of the event loop that sets every service's health SERVING or not.

    Each change is set on a task of its own (the servicer's ``set`` is a coroutine), in the
    order asked; once the drain has begun the servicer ignores them, NOT_SERVING for good.
    """
    pending: set[asyncio.Task[None]] = set()

    def set_serving(serving: bool) -> None:
        task = asyncio.create_task(health.set(serving=serving))
        pending.add(task)
        task.add_done_callback(pending.discard)

    return set_serving


def _draining(in_flight: int, grace_seconds: float) -> str:
    """Say what a drain waits for: the calls in flight for up to the grace, or nothing.

    With none in flight the server stops at once (docs/SERVICE.md), where "draining 0 call(s)
    in flight for up to 10 s" read as a wait of 10 s.
    """
    if in_flight == 0:
        return "draining: no call in flight, stopping now"
    return f"draining {counted(in_flight, 'call')} in flight for up to {grace_seconds:g} s"


def _channel_options(config: ServerConfig) -> list[tuple[str, int]]:
    """Return the server's options: message sizes and gRPC's per-connection bounds."""
    longest_call = config.limits.max_time_limit_seconds + config.grace_seconds
    return [
        ("grpc.max_receive_message_length", config.limits.max_message_bytes),
        ("grpc.max_send_message_length", config.limits.max_message_bytes),
        ("grpc.max_concurrent_streams", config.max_streams_per_connection),
        ("grpc.max_connection_idle_ms", _milliseconds(config.max_connection_idle_seconds)),
        ("grpc.max_connection_age_ms", _milliseconds(config.max_connection_age_seconds)),
        (
            "grpc.max_connection_age_grace_ms",
            _milliseconds(longest_call + _CONNECTION_AGE_GRACE_SECONDS),
        ),
        ("grpc.keepalive_time_ms", _milliseconds(config.keepalive_seconds)),
        ("grpc.keepalive_timeout_ms", _milliseconds(_KEEPALIVE_TIMEOUT_SECONDS)),
        # What bounds the wait for a ping's answer in gRPC's transport: 1 minute when unset,
        # whatever the keepalive timeout says.
        ("grpc.http2.ping_timeout_ms", _milliseconds(_KEEPALIVE_TIMEOUT_SECONDS)),
        # Clients pinging more often than this (without calls in between) are disconnected after
        # a few strikes, so pings cannot be used to keep the server busy.
        (
            "grpc.http2.min_ping_interval_without_data_ms",
            _milliseconds(_MIN_CLIENT_PING_SECONDS),
        ),
        # Without it gRPC holds a connection with no call open to one ping in 2 hours, whatever
        # the interval above says, and does not ping it itself: a client keeping its idle
        # connection alive every 10 s or more was sent GOAWAY "too_many_pings" at its third ping.
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_ping_strikes", 2),
        # Without this a second server on a busy port binds "successfully" and silently
        # shares the traffic; a port in use must be an error.
        ("grpc.so_reuseport", 0),
    ]


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


_EVENT_LOOP: asyncio.AbstractEventLoop | None = None
_EVENT_LOOP_PID = 0  # the process whose thread runs it
_EVENT_LOOP_LOCK = threading.Lock()


def _event_loop() -> asyncio.AbstractEventLoop:
    """Return the event loop of every server of this process (on its own daemon thread).

    Raises
    ------
    RuntimeError
        In a child forked from a process that had started a server: the loop's thread is not
        in the child, and gRPC serves nothing there. ``start_server`` and ``stop`` waited for
        the loop for ever, ``wait`` for a stop only the parent makes.
    """
    global _EVENT_LOOP, _EVENT_LOOP_PID
    with _EVENT_LOOP_LOCK:
        if _EVENT_LOOP is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="advisor-serve", daemon=True)
            thread.start()
            _EVENT_LOOP, _EVENT_LOOP_PID = loop, os.getpid()
        if os.getpid() != _EVENT_LOOP_PID:
            raise RuntimeError(
                f"this process was forked from process {_EVENT_LOOP_PID} after that one started "
                "an advisor server, and gRPC serves nothing in a forked child: start, stop and "
                "wait for servers in the process that started the first, or spawn the child "
                "(multiprocessing's 'spawn' or 'forkserver' start method)"
            )
        return _EVENT_LOOP


def _on_loop(coroutine: Coroutine[Any, Any, _Result]) -> _Result:
    """Run ``coroutine`` on the servers' event loop and return its result."""
    return asyncio.run_coroutine_threadsafe(coroutine, _event_loop()).result()


class DrainRequests:
    """What each drain signal asks for: the first, a drain; a later one, to end the drain now.

    A signal within :data:`_REPEATED_SIGNAL_SECONDS` of the first is that one delivered twice
    (coreutils' ``timeout`` signals the server, then its process group), not a second request.
    """

    def __init__(self) -> None:
        self._first: float | None = None
        self.hurried = False
        """Whether a signal has asked to end the drain now."""

    def received(self, now: float) -> Literal["drain", "repeat", "hurry"]:
        """Return what a signal received at ``now`` (monotonic seconds) asks for."""
        if self._first is None:
            self._first = now
            return "drain"
        if now - self._first < _REPEATED_SIGNAL_SECONDS:
            return "repeat"
        self.hurried = True
        return "hurry"


def serve_forever(
    config: ServerConfig,
    *,
    on_ready: Callable[[RunningServer], None] | None = None,
    on_stop: Callable[[], None] | None = None,
    on_hurry: Callable[[], None] | None = None,
    metrics: Metrics | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT, drain for ``config.grace_seconds``, return exit code 0.

    Must run on the main thread (Python delivers signals there). ``on_ready`` is called once the
    server is bound and SERVING, e.g. to print its address. The objects alive by then are frozen
    (:func:`freeze_long_lived_objects`), and the process's thread switch interval is shortened
    to 1 ms, so with ``executor="threads"`` the event loop is not kept waiting as long by the
    search threads. ``on_stop`` is called when the signal has arrived, just before the drain
    begins: a server running beside this one (Katib's endpoint) begins its own drain there
    without blocking, so both drain over the same grace period instead of one after the other.
    A second signal cuts the drain short (:meth:`RunningServer.hurry`: the calls get about a
    second more), and calls ``on_hurry``
    to end that server's too. With ``config.metrics_port``, the metrics endpoint serves
    ``metrics``, where that server counts its calls too (default: a registry of this server's
    alone). A signal of :data:`DRAIN_SIGNALS` the process was started ignoring (``nohup``'s
    SIGHUP) stays ignored, which an INFO line says at the start. A signal the entry point held
    while it loaded (:mod:`advisor.service.held_signals`) is acted on as one received now: the
    server stops before serving. A ``config`` that is no :class:`ServerConfig` is refused
    (:class:`~advisor.errors.InvalidRequestError` on ``config``) before a signal is handled.
    """
    require_instance(config, ServerConfig, "config")
    stop_requested = threading.Event()
    started: list[RunningServer] = []
    requests = DrainRequests()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        asked = requests.received(time.monotonic())
        if asked == "drain":
            _LOGGER.info("received %s; draining", name)
            stop_requested.set()
            return
        if asked == "repeat":
            _LOGGER.info("received %s again at once: the same request, still draining", name)
            return
        _LOGGER.info("received %s again; ending the drain now", name)
        for running in started:
            running.hurry()
        if on_hurry is not None:
            on_hurry()

    # A drain signal the process was started ignoring stays ignored, as the command's SIGINT
    # and SIGTERM do: `nohup advisor serve &` drained at the SIGHUP of its closed terminal, the
    # one signal nohup is there to keep from it, and a script's background server at the
    # Ctrl-C meant for the script.
    handled = [s for s in DRAIN_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN]
    for ignored in (s for s in DRAIN_SIGNALS if s not in handled):  # the one trace it leaves
        _LOGGER.info(
            "%s stays ignored, as the process was started ignoring it (nohup, a script's "
            "background job): it does not stop the server",
            ignored.name,
        )
    previous = {signum: signal.signal(signum, request_stop) for signum in handled}
    for held in take_held_signals():  # came while the entry point loaded gRPC and the server
        request_stop(held, None)
    switch_interval = sys.getswitchinterval()
    try:
        running = _start_unless_stopped(config, stop_requested, metrics)
        if running is None:
            _LOGGER.info("stopped before serving")
            return 0
        started.append(running)
        if requests.hurried:  # both signals came before the server was listed
            running.hurry()
        with running:
            freeze_long_lived_objects()
            sys.setswitchinterval(_SWITCH_INTERVAL_SECONDS)
            if on_ready is not None and not stop_requested.is_set():
                on_ready(running)
            # The kernel may hand the signal to one of gRPC's threads; Python then runs the
            # handler only once the main thread is back in bytecode, which an untimed wait would
            # postpone indefinitely. Waking up periodically bounds that delay.
            while not stop_requested.wait(_SIGNAL_POLL_SECONDS):
                pass
            if on_stop is not None:
                on_stop()
    finally:
        sys.setswitchinterval(switch_interval)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    _LOGGER.info("stopped")
    return 0


def _start_unless_stopped(
    config: ServerConfig, stop: threading.Event, metrics: Metrics | None = None
) -> RunningServer | None:
    """Start a server as :func:`start_server` does, unless ``stop`` is set before it has started.

    Its metrics endpoint serves ``metrics``, as :func:`serve_forever` says.

    Worker processes take tens of seconds to load the engines on a machine whose cores are
    taken (up to ``_START_SECONDS``); a SIGTERM in that time (a supervisor giving up, a pod
    deleted) used to wait for the whole start, announce the server and turn health SERVING,
    and only then drain. Now the start is abandoned: the workers started so far exit, the port
    closes, and None is returned. A server that finished starting as ``stop`` was set is
    returned, for the caller to stop.

    Raises
    ------
    ServerStartError
        As :func:`start_server`.
    """
    if stop.is_set():  # a signal held while the server loaded: nothing started, nothing to stop
        return None
    credentials = _server_credentials(config)
    starting = _on_loop(_as_task(_start(config, credentials, metrics, stop)))
    while not _on_loop(_ended_within(starting, _SIGNAL_POLL_SECONDS)):
        if stop.is_set():
            return _on_loop(_cancelled(starting))
    return _on_loop(_cancelled(starting))  # ended: its server, or its ServerStartError


async def _as_task(coroutine: Coroutine[Any, Any, _Result]) -> asyncio.Task[_Result]:
    """Run ``coroutine`` as a task of the running loop, whose handle other threads can pass on."""
    return asyncio.ensure_future(coroutine)


def _schedule_start(
    config: ServerConfig,
    credentials: grpc.ServerCredentials | None,
    handle: concurrent.futures.Future[asyncio.Task[RunningServer]],
) -> None:
    """Start serving ``config`` as a task of the running loop, and put the task in ``handle``."""
    handle.set_result(asyncio.get_running_loop().create_task(_start(config, credentials)))


async def _awaited(handle: concurrent.futures.Future[asyncio.Task[_Result]]) -> _Result:
    """Return the result of the task in ``handle``, for a thread that may give up waiting on it.

    Scheduled after the task was put in ``handle`` (the loop runs its callbacks in order).
    """
    return await handle.result()


async def _abandoned(handle: concurrent.futures.Future[asyncio.Task[_Result]]) -> _Result | None:
    """Cancel the task in ``handle``, as :func:`_cancelled`; None if it was never scheduled.

    Scheduled after the task's scheduling, if that came about: ``handle`` is empty only where
    the thread gave up before it scheduled the task.
    """
    return await _cancelled(handle.result()) if handle.done() else None


async def _ended_within(task: asyncio.Task[Any], seconds: float) -> bool:
    """Wait up to ``seconds`` for ``task`` to end; return whether it has."""
    await asyncio.wait({task}, timeout=seconds)
    return task.done()


async def _cancelled(task: asyncio.Task[_Result]) -> _Result | None:
    """Cancel ``task`` unless it has ended; return its result once it has, None if cancelled."""
    task.cancel()
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled():
            return None
        raise  # this coroutine itself was cancelled


def _server_credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    """Read and check the TLS files, so a bad one is named instead of failing the bind."""
    if config.tls_cert is None or config.tls_key is None:
        return None
    certificate = _read_pem(config.tls_cert, "tls_cert")
    key = _read_pem(config.tls_key, "tls_key")
    _check_certificates(config.tls_cert, certificate, "tls_cert")
    problem = key_problem(config.tls_cert, config.tls_key)
    if problem is not None:
        raise ServerStartError(["tls_key"], problem)
    client_ca = None
    if config.tls_client_ca is not None:
        client_ca = _read_pem(config.tls_client_ca, "tls_client_ca")
        _check_certificates(config.tls_client_ca, client_ca, "tls_client_ca")
    return grpc.ssl_server_credentials(
        [(key, certificate)],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def _read_pem(path: Path, setting: str) -> bytes:
    """Read a TLS file, naming ``setting`` when it cannot be read: as a start, not a request."""
    try:
        return read_pem_file(path)
    except OSError as error:
        raise ServerStartError([setting], cannot_read(path, error)) from None


def _check_certificates(path: Path, pem: bytes, setting: str) -> None:
    """Name ``setting`` when ``pem`` holds no certificate OpenSSL can load."""
    problem = certificates_problem(path, pem)
    if problem is not None:
        raise ServerStartError([setting], problem)
