"""Prometheus metrics of a server: a registry of its calls and an HTTP endpoint that serves it.

:class:`Metrics` counts the calls a server has finished, times them and counts those in flight,
as :mod:`advisor.service.access` reports each call's start and end (the place its access line
is written, so the two never disagree). :class:`MetricsEndpoint` serves the registry at
``GET /metrics`` in Prometheus' text exposition format 0.0.4, on a thread of its own
(``advisor serve --metrics-port``); standard library only. docs/SERVICE.md, "Metrics", says
what each metric means.

A method is labelled by its short name (``Recommend``), one of the methods the server has:
any other a caller may send is counted under :data:`OTHER_METHOD`, so no caller can grow the
registry (or a scrape) without bound.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import socket
import socketserver
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import urlsplit

from google.protobuf.descriptor import ServiceDescriptor

from advisor.stdout import printable
from advisor.version import RANKING_VERSION, __version__
from advisor.words import exact_float

__all__ = [
    "BUCKETS",
    "CONTENT_TYPE",
    "MAX_CONNECTIONS",
    "METRICS_PATH",
    "OTHER_METHOD",
    "Metrics",
    "MetricsEndpoint",
    "method_paths",
]

BUCKETS: Final = (
    *(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    *(120.0, 300.0, 600.0),
)
"""Upper bounds (seconds) of ``advisor_call_seconds``' buckets, ``+Inf`` after them: from a
health check's milliseconds to a search's time limit (60 s at most by default, and the longer
limits an operator admits with ``--limit max_time_limit_seconds=...``, up to ten minutes: past
60 s every call fell in ``+Inf``)."""

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The ``Content-Type`` of Prometheus' text exposition format, version 0.0.4."""

OTHER_METHOD: Final = "(other)"
"""The method label of a call of a method the server does not have."""

METRICS_PATH: Final = "/metrics"
"""The path the endpoint serves the metrics at."""

_REQUEST_SECONDS: Final = 10.0
"""How long a scrape's connection may take over one request, from waiting for it to answering
it: an idle one, or one sending its request a byte at a time, is closed after it."""

MAX_CONNECTIONS: Final = 8
"""Connections the endpoint serves at once, each on a thread of its own; one more is closed at
once, without a thread (Prometheus holds one, a person's ``curl`` another)."""

_LOGGER = logging.getLogger(__name__)


def method_paths(services: Iterable[ServiceDescriptor]) -> list[str]:
    """Return the full method paths (``/package.Service/Method``) of ``services``' methods."""
    return [
        f"/{service.full_name}/{method.name}" for service in services for method in service.methods
    ]


@dataclass
class _Histogram:
    """One method's call durations: a count per bucket (not cumulative), their sum and count."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        """Count a call of ``seconds`` in the first bucket whose upper bound it does not exceed."""
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class Metrics:
    """The calls finished and in flight, of a server and the Katib endpoint beside it.

    ``methods`` are the full paths of the methods the servers have (:func:`method_paths`).
    Thread-safe: calls end on the event loop and on the Katib endpoint's threads while a scrape
    reads on the endpoint's.
    """

    def __init__(self, methods: Iterable[str]) -> None:
        self._labels = {path: path.rpartition("/")[2] for path in methods}
        self._lock = threading.Lock()
        self._calls: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._durations: defaultdict[str, _Histogram] = defaultdict(_Histogram)
        self._in_flight: defaultdict[str, int] = defaultdict(int)
        self._replacements = 0

    def started(self, method: str) -> None:
        """Count a call of ``method`` (its full path) in flight."""
        label = self._labels.get(method, OTHER_METHOD)
        with self._lock:
            self._in_flight[label] += 1

    def ended(self, method: str, code: str, seconds: float) -> None:
        """Count a started call of ``method`` as ended with status ``code`` in ``seconds``."""
        label = self._labels.get(method, OTHER_METHOD)
        with self._lock:
            self._in_flight[label] -= 1
            self._calls[label, code] += 1
            self._durations[label].observe(seconds)

    def worker_replaced(self) -> None:
        """Count a worker process replaced: a new one is ready where one died or went over."""
        with self._lock:
            self._replacements += 1

    def exposition(self, *, draining: bool, serving: bool, workers: int, busy: int) -> str:
        """Return every metric in Prometheus' text exposition format 0.0.4.

        ``draining``, ``serving``, ``workers`` and ``busy`` are the server's state at the
        scrape: whether it has begun to drain, whether its health reports the advisor SERVING,
        the advisor calls it serves at once, and the slots taken by work.
        """
        with self._lock:
            calls = sorted(self._calls.items())
            durations = sorted(
                (label, list(h.counts), h.total) for label, h in self._durations.items()
            )
            in_flight = sorted(self._in_flight.items())
            replacements = self._replacements
        version = {"version": __version__, "ranking_version": str(RANKING_VERSION)}
        info = (_labelled("advisor_info", **version), 1)
        lines = [
            *_family("advisor_info", "gauge", "The advisor's version and ranking version.", [info]),
            *_family(
                "advisor_draining",
                "gauge",
                "1 once the server has begun to drain, else 0.",
                [("advisor_draining", int(draining))],
            ),
            *_family(
                "advisor_serving",
                "gauge",
                "1 while the server's health reports the advisor SERVING, else 0.",
                [("advisor_serving", int(serving))],
            ),
            *_family(
                "advisor_workers",
                "gauge",
                "Advisor calls the server serves at once.",
                [("advisor_workers", workers)],
            ),
            *_family(
                "advisor_slots_busy",
                "gauge",
                "Advisor slots taken by work, which may outlive its call.",
                [("advisor_slots_busy", busy)],
            ),
            *_family(
                "advisor_calls_total",
                "counter",
                "Calls finished, by method and gRPC status code.",
                [(_labelled("advisor_calls_total", method=m, code=c), n) for (m, c), n in calls],
            ),
            *_family(
                "advisor_call_seconds",
                "histogram",
                "How long finished calls took, by method.",
                [s for label, counts, total in durations for s in _histogram(label, counts, total)],
            ),
            *_family(
                "advisor_calls_in_flight",
                "gauge",
                "Calls started and not yet finished, by method.",
                [(_labelled("advisor_calls_in_flight", method=m), n) for m, n in in_flight],
            ),
            *_family(
                "advisor_worker_replacements_total",
                "counter",
                "Worker processes replaced, after a crash or over --worker-max-memory.",
                [("advisor_worker_replacements_total", replacements)],
            ),
        ]
        return "\n".join(lines) + "\n"


_Request = socket.socket | tuple[bytes, socket.socket]
"""What ``socketserver`` hands a server's ``process_request``: a TCP server's is a socket."""

_Sample = tuple[str, float]
"""A sample: its name with its labels, and its value."""


def _family(name: str, kind: str, help: str, samples: Iterable[_Sample]) -> Iterator[str]:
    """Yield the lines of the metric family ``name``: its HELP and TYPE, then its samples.

    A value as :func:`~advisor.words.exact_float` writes it (``3``, ``0.005``, ``1e+16``, as
    :func:`_histogram` writes a bucket's bound): the form of a float the format takes, Go's
    ``ParseFloat``'s, and the shortest that reads back as the value.
    """
    yield f"# HELP {name} {help}"
    yield f"# TYPE {name} {kind}"
    for sample, value in samples:
        yield f"{sample} {exact_float(value)}"


def _histogram(method: str, counts: list[int], total: float) -> Iterator[_Sample]:
    """Yield one method's ``advisor_call_seconds``: cumulative buckets, sum, count."""
    name = "advisor_call_seconds"
    cumulative = 0
    for bound, count in zip([*map(exact_float, BUCKETS), "+Inf"], counts, strict=True):
        cumulative += count
        yield _labelled(f"{name}_bucket", method=method, le=bound), cumulative
    yield _labelled(f"{name}_sum", method=method), total
    yield _labelled(f"{name}_count", method=method), cumulative


def _labelled(name: str, **labels: str) -> str:
    """Return the sample name ``name`` with ``labels``, their values escaped as the format says."""
    pairs = ",".join(f'{key}="{_escaped(value)}"' for key, value in labels.items())
    return f"{name}{{{pairs}}}"


def _escaped(value: str) -> str:
    """Escape a label value: backslash, double quote and line feed."""
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


class _Handler(BaseHTTPRequestHandler):
    """Answer ``GET`` and ``HEAD`` of :data:`METRICS_PATH` with the metrics, 404 elsewhere."""

    server: _HTTPServer
    timeout = _REQUEST_SECONDS
    protocol_version = "HTTP/1.1"

    def handle_one_request(self) -> None:
        """Serve one request within :attr:`timeout` in all, else close the connection.

        ``timeout`` bounds each read of the socket alone: a client sending a header line every
        few seconds held its connection, and eight of them every slot, for as long as it went
        on, and Prometheus' scrapes were closed unanswered.
        """
        if self.timeout is None:
            super().handle_one_request()
            return
        deadline = threading.Timer(self.timeout, self._cut)
        deadline.daemon = True
        deadline.start()
        try:
            super().handle_one_request()
        finally:
            deadline.cancel()

    def _cut(self) -> None:
        """Close the connection whose request passed its time (the deadline's timer thread)."""
        with contextlib.suppress(OSError):  # closed already
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        """Send the metrics."""
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        """Send the metrics' headers alone."""
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        if urlsplit(self.path).path != METRICS_PATH:
            self.send_error(HTTPStatus.NOT_FOUND, f"the metrics are at {METRICS_PATH}")
            return
        body = self.server.exposition().encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        r"""Log each request at DEBUG: a scrape every few seconds is no news (stderr by default).

        The request line is the client's, unauthenticated: its control characters are written
        as escapes (``\x1b``), as ``http.server``'s own logging does and this override had
        lost, so an escape sequence or a carriage return cannot act on a terminal showing the
        log or make the line read as another.
        """
        _LOGGER.debug("%s %s", self.address_string(), printable(format % args))


class _HTTPServer(ThreadingHTTPServer):
    """The endpoint's HTTP server: an IPv6 host bound as such, no reverse DNS lookup at bind.

    It serves at most :data:`MAX_CONNECTIONS` connections at once: ``ThreadingHTTPServer``
    started a thread for every one, each held until its idle timeout, so 300 idle connections
    took 300 threads of the serving process.
    """

    def __init__(self, host: str, port: int, exposition: Callable[[], str]) -> None:
        self.exposition = exposition
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host.removeprefix("[").removesuffix("]"), port), _Handler)

    def server_bind(self) -> None:
        """Bind, without ``HTTPServer``'s ``getfqdn`` of the host (a DNS query, which may hang)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: _Request, client_address: Any) -> None:
        """Serve ``request`` on a thread of its own if a slot is free, else close it at once."""
        if not self._slots.acquire(blocking=False):
            _LOGGER.debug("%s: over %d connections, closed", client_address, MAX_CONNECTIONS)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started, none to free the slot
            self._slots.release()
            raise

    def process_request_thread(self, request: _Request, client_address: Any) -> None:
        """Serve ``request`` (on its thread), then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class MetricsEndpoint:
    """``GET /metrics`` served on ``host:port`` by a daemon thread, until closed.

    Each scrape is answered with what ``exposition`` returns then (:meth:`Metrics.exposition`).

    Raises
    ------
    OSError
        When ``host:port`` cannot be bound (in use, not this machine's interface).
    """

    def __init__(self, host: str, port: int, exposition: Callable[[], str]) -> None:
        self._server = _HTTPServer(host, port, exposition)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="advisor-metrics", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The TCP port the endpoint is bound to (the chosen one for 0)."""
        return self._server.server_port

    @property
    def host(self) -> str:
        """The address the endpoint is bound to (``127.0.0.1`` for ``localhost``, its first)."""
        return str(self._server.server_address[0])

    def close(self) -> None:
        """Stop serving and close the port; returns once the serving thread has ended."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
