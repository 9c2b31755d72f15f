"""The metrics endpoint: what it counts is the calls made, in Prometheus' text format 0.0.4."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol._proto.advisor.v1 import advisor_pb2_grpc
from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.service import metrics as metrics_module
from advisor.service import server as server_module
from advisor.service.command import main as serve_main
from advisor.service.metrics import (
    BUCKETS,
    CONTENT_TYPE,
    MAX_CONNECTIONS,
    OTHER_METHOD,
    Metrics,
    MetricsEndpoint,
)
from advisor.service.options import BAD_OPTION_EXIT_STATUS, START_FAILED_EXIT_STATUS
from advisor.service.server import RunningServer, ServerConfig
from advisor.version import RANKING_VERSION, __version__
from tests.service.test_katib import experiment
from tests.support.server_process import ServerProcess
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget, quick_budget, small_task

_SECONDS = 30.0
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(?P<key>[a-z_]+)="(?P<value>(?:[^"\\]|\\.)*)",?')
_UNESCAPED = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}

_Labels = frozenset[tuple[str, str]]
_Samples = dict[tuple[str, _Labels], float]


def _scrape(address: str, path: str = "/metrics", method: str = "GET") -> tuple[str, str]:
    """Return the ``Content-Type`` and the text of ``method`` ``path`` at ``address``."""
    request = urllib.request.Request(f"http://{address}{path}", method=method)
    with urllib.request.urlopen(request, timeout=_SECONDS) as response:
        return response.headers["Content-Type"], response.read().decode("utf-8")


def _samples(text: str) -> _Samples:
    """Read every sample of an exposition, by name and labels (their values unescaped)."""
    samples: _Samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match is not None, line
        labels = (
            (m["key"], re.sub(r"\\.", lambda e: _UNESCAPED[e[0]], m["value"]))
            for m in _LABEL.finditer(match["labels"] or "")
        )
        samples[match["name"], frozenset(labels)] = float(match["value"])
    return samples


def _of(samples: _Samples, name: str, **labels: str) -> dict[_Labels, float]:
    """The samples named ``name`` whose labels include ``labels``, by their labels."""
    wanted = set(labels.items())
    return {ls: v for (n, ls), v in samples.items() if n == name and wanted <= ls}


def _label(labels: _Labels, key: str) -> str:
    return dict(labels)[key]


def _calls(address: str) -> dict[tuple[str, str], float]:
    """``advisor_calls_total`` now, by method and code."""
    counts = _of(_samples(_scrape(address)[1]), "advisor_calls_total")
    return {(_label(ls, "method"), _label(ls, "code")): v for ls, v in counts.items()}


@pytest.fixture
def metered(serve: Callable[..., RunningServer]) -> Iterator[tuple[RunningServer, grpc.Channel]]:
    """A threads server with its metrics endpoint on a free port, and a channel to it."""
    running = serve(workers=2, executor="threads", metrics_port=0)
    with grpc.insecure_channel(running.address) as channel:
        yield running, channel


def test_a_scrape_counts_the_calls_made_and_times_them(
    metered: tuple[RunningServer, grpc.Channel],
) -> None:
    running, channel = metered
    assert running.metrics_address is not None
    stub = advisor_pb2_grpc.ArchitectureAdvisorStub(channel)
    stub.Recommend(pb.RecommendRequest(task=small_task(), budget=quick_budget()), timeout=_SECONDS)
    bad = pb.RecommendRequest(task=small_task(), budget=quick_budget(max_parameters=-1))
    with pytest.raises(grpc.RpcError) as invalid:
        stub.Recommend(bad, timeout=_SECONDS)
    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    stub.ListPresets(pb.ListPresetsRequest(), timeout=_SECONDS)
    made = {("Recommend", "OK"): 1, ("Recommend", "INVALID_ARGUMENT"): 1, ("ListPresets", "OK"): 1}
    # Counted where the access line is written, just after the client has its answer.
    wait_until(lambda: _calls(running.metrics_address or "") == made, _SECONDS)

    content_type, text = _scrape(running.metrics_address)
    assert content_type == CONTENT_TYPE
    samples = _samples(text)
    for method in ("Recommend", "ListPresets"):
        calls = sum(_of(samples, "advisor_calls_total", method=method).values())
        buckets = sorted(
            (float(_label(ls, "le")), v)
            for ls, v in _of(samples, "advisor_call_seconds_bucket", method=method).items()
        )
        assert [bound for bound, _ in buckets] == [*BUCKETS, float("inf")]
        counts = [count for _, count in buckets]
        assert counts == sorted(counts), counts  # cumulative
        (count,) = _of(samples, "advisor_call_seconds_count", method=method).values()
        (seconds,) = _of(samples, "advisor_call_seconds_sum", method=method).values()
        assert count == counts[-1] == calls
        assert seconds > 0
    assert set(_of(samples, "advisor_calls_in_flight").values()) == {0}
    info = {"version": __version__, "ranking_version": str(RANKING_VERSION)}
    assert _of(samples, "advisor_info", **info) == {frozenset(info.items()): 1}
    assert samples["advisor_draining", frozenset()] == 0
    assert samples["advisor_serving", frozenset()] == 1
    assert samples["advisor_workers", frozenset()] == 2
    assert samples["advisor_slots_busy", frozenset()] == 0
    families = {
        "advisor_info": "gauge",
        "advisor_draining": "gauge",
        "advisor_serving": "gauge",
        "advisor_workers": "gauge",
        "advisor_slots_busy": "gauge",
        "advisor_calls_total": "counter",
        "advisor_call_seconds": "histogram",
        "advisor_calls_in_flight": "gauge",
        "advisor_worker_replacements_total": "counter",
    }
    for name, kind in families.items():
        assert f"\n# TYPE {name} {kind}\n" in f"\n{text}"
        assert re.search(rf"^# HELP {name} \S", text, re.MULTILINE), name


def test_a_slot_its_work_holds_is_busy_while_the_call_runs_and_free_after(
    metered: tuple[RunningServer, grpc.Channel],
) -> None:
    # advisor_calls_in_flight counts calls, and work outlives its call: a server refusing every
    # call SERVER_BUSY read 0 calls in flight. The slots taken are a gauge of their own.
    running, channel = metered
    address = running.metrics_address or ""
    stub = advisor_pb2_grpc.ArchitectureAdvisorStub(channel)
    search = stub.StreamRecommend(
        pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget()), timeout=_SECONDS
    )
    next(search)  # its first progress event: the work holds a slot

    def busy() -> float:
        return _samples(_scrape(address)[1])["advisor_slots_busy", frozenset()]

    assert busy() == 1
    search.cancel()
    wait_until(lambda: busy() == 0, _SECONDS)


def test_a_call_of_a_method_the_server_lacks_is_counted_as_other(
    metered: tuple[RunningServer, grpc.Channel],
) -> None:
    # Labelled by its name, every caller's invented method was a new series of every metric.
    running, channel = metered
    for name in ("Missing", "Other"):
        missing: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            f"/advisor.v1.ArchitectureAdvisor/{name}"
        )
        with pytest.raises(grpc.RpcError) as failed:
            missing(b"", timeout=_SECONDS)
        assert failed.value.code() is grpc.StatusCode.UNIMPLEMENTED
    address = running.metrics_address or ""
    wait_until(lambda: _calls(address) == {(OTHER_METHOD, "UNIMPLEMENTED"): 2}, _SECONDS)


def test_calls_are_counted_with_the_access_log_off(serve: Callable[..., RunningServer]) -> None:
    running = serve(workers=1, executor="threads", metrics_port=0, access_log=False)
    with grpc.insecure_channel(running.address) as channel:
        advisor_pb2_grpc.ArchitectureAdvisorStub(channel).ListPresets(
            pb.ListPresetsRequest(), timeout=_SECONDS
        )
    address = running.metrics_address or ""
    wait_until(lambda: _calls(address) == {("ListPresets", "OK"): 1}, _SECONDS)


def test_the_metrics_address_is_the_one_bound(serve: Callable[..., RunningServer]) -> None:
    # --metrics-host localhost said "metrics on localhost:PORT", read as gRPC's localhost, which
    # binds ::1 too, where the endpoint bound 127.0.0.1 alone and [::1]:PORT refused scrapes.
    running = serve(workers=1, executor="threads", metrics_port=0, metrics_host="localhost")
    assert running.metrics_address == f"127.0.0.1:{running.metrics_port}"
    assert "advisor_serving 1" in _scrape(running.metrics_address)[1]


def test_only_get_and_head_of_the_metrics_path_are_served(
    metered: tuple[RunningServer, grpc.Channel],
) -> None:
    address = metered[0].metrics_address or ""
    assert _scrape(address, method="HEAD") == (CONTENT_TYPE, "")
    for path, method, status in (("/other", "GET", 404), ("/metrics", "POST", 501)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            _scrape(address, path, method)
        refused.value.close()  # the error is the response, its connection open
        assert refused.value.code == status


def test_the_endpoint_closes_with_the_server(serve: Callable[..., RunningServer]) -> None:
    running = serve(workers=1, executor="threads", metrics_port=0)
    address = running.metrics_address or ""
    _scrape(address)
    running.stop(0)
    with pytest.raises(urllib.error.URLError) as closed:
        _scrape(address)
    assert isinstance(closed.value.reason, ConnectionRefusedError)


def _closed_by_the_server(connection: socket.socket) -> bool:
    """Whether the server has closed ``connection`` (its end read, or reset), without waiting."""
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def _scrapes(address: str) -> bool:
    """Whether a scrape of ``address`` is answered (a connection closed at the cap is not)."""
    try:
        return "advisor_up 1" in _scrape(address)[1]
    except (urllib.error.URLError, ConnectionError):
        return False


def test_connections_over_the_cap_are_closed_without_a_thread_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each connection had a thread of its own, held until its idle timeout: 300 idle
    # connections took 300 threads of the serving process. Idle ones wait for good here, so
    # only the cap closes a connection.
    monkeypatch.setattr(metrics_module._Handler, "timeout", None)
    endpoint = MetricsEndpoint("127.0.0.1", 0, lambda: "advisor_up 1\n")
    threads = threading.active_count()
    try:
        idle = [socket.create_connection(("127.0.0.1", endpoint.port)) for _ in range(40)]
        try:
            over = len(idle) - MAX_CONNECTIONS
            wait_until(lambda: sum(map(_closed_by_the_server, idle)) == over, _SECONDS)
            assert threading.active_count() <= threads + MAX_CONNECTIONS
        finally:
            for connection in idle:
                connection.close()
        # Their threads end as they read the closes, and free their slots for the next scrape.
        wait_until(lambda: _scrapes(f"127.0.0.1:{endpoint.port}"), _SECONDS)
    finally:
        endpoint.close()


def test_a_request_line_s_control_characters_reach_the_log_as_escapes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The handler's log_message override lost http.server's escaping: an unauthenticated
    # request line's escape sequences and carriage returns reached the DEBUG log raw.
    endpoint = MetricsEndpoint("127.0.0.1", 0, lambda: "advisor_up 1\n")
    forged = b"GET /metrics\x1b[2J\x1b[31mFAKE\rINFO\x0bforged HTTP/1.1\r\n\r\n"
    try:
        with caplog.at_level(logging.DEBUG, logger=metrics_module.__name__):
            with socket.create_connection(("127.0.0.1", endpoint.port)) as connection:
                connection.sendall(forged)
                connection.recv(4096)  # the answer: the request was read and logged
            wait_until(lambda: any("FAKE" in r.getMessage() for r in caplog.records), _SECONDS)
    finally:
        endpoint.close()
    lines = [r.getMessage() for r in caplog.records if "FAKE" in r.getMessage()]
    assert lines  # the request line, and any error http.server logs of it
    for line in lines:
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in line), repr(line)
        assert "\\x1b[2J\\x1b[31mFAKE\\rINFO\\x0bforged" in line


def test_a_request_sent_a_line_at_a_time_is_cut_at_the_requests_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The timeout bounded each read alone: a header line every 2 s held a connection for good,
    # and eight such clients kept every scrape unanswered. Each stays under the per-read limit
    # here; the request as a whole may take the limit, not longer.
    monkeypatch.setattr(metrics_module._Handler, "timeout", 1.0)
    endpoint = MetricsEndpoint("127.0.0.1", 0, lambda: "advisor_up 1\n")
    try:
        slow = [
            socket.create_connection(("127.0.0.1", endpoint.port)) for _ in range(MAX_CONNECTIONS)
        ]
        started = time.monotonic()
        try:
            for connection in slow:
                connection.sendall(b"GET /metrics HTTP/1.1\r\n")
            while not all(map(_closed_by_the_server, slow)):
                assert time.monotonic() - started < _SECONDS, "a slow request held its slot"
                for connection in slow:
                    with contextlib.suppress(OSError):  # cut already
                        connection.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.25)
        finally:
            for connection in slow:
                connection.close()
        wait_until(lambda: _scrapes(f"127.0.0.1:{endpoint.port}"), _SECONDS)
    finally:
        endpoint.close()


def _replacements(address: str) -> float:
    """``advisor_worker_replacements_total`` now."""
    return _samples(_scrape(address)[1])["advisor_worker_replacements_total", frozenset()]


def test_a_worker_process_replaced_after_it_died_is_counted_and_logged(
    serve: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    running = serve(workers=1, metrics_port=0)
    address = running.metrics_address or ""
    assert _replacements(address) == 0
    (killed,) = running.worker_pids
    with caplog.at_level(logging.INFO, logger="advisor.service.process_pool"):
        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: _replacements(address) == 1, _SECONDS)  # once its replacement is ready
    (replacement,) = running.worker_pids
    assert replacement != killed
    # The exit's warning said "starting another"; the operator reads that it came.
    lines = [r.getMessage() for r in caplog.records if r.name == "advisor.service.process_pool"]
    assert lines == [
        f"worker process {killed} exited with signal SIGKILL; starting another",
        f"worker process {replacement} is ready in its place",
    ]


def test_no_endpoint_unless_asked(serve: Callable[..., RunningServer]) -> None:
    assert serve(workers=1, executor="threads").metrics_address is None


def test_a_call_longer_than_a_minute_falls_in_a_bucket_of_its_own() -> None:
    # A server whose max_time_limit_seconds was raised ran searches past 60 s, the top bucket:
    # every one fell in +Inf, and no quantile past a minute could be read.
    metrics = Metrics(["/s.S/Recommend"])
    for seconds in (45.0, 90.0, 250.0, 700.0):
        metrics.started("/s.S/Recommend")
        metrics.ended("/s.S/Recommend", "OK", seconds)
    buckets = {
        float(_label(labels, "le")): count
        for labels, count in _of(
            _samples(metrics.exposition(draining=False, serving=True, workers=1, busy=0)),
            "advisor_call_seconds_bucket",
            method="Recommend",
        ).items()
    }
    assert [buckets[bound] for bound in (30.0, 60.0, 120.0, 300.0, 600.0, math.inf)] == [
        0,
        1,
        2,
        3,
        3,
        4,
    ]


def test_label_values_and_the_servers_state_are_written_as_the_format_says() -> None:
    metrics = Metrics(['/s.S/a"b\\c\nd'])
    metrics.started('/s.S/a"b\\c\nd')
    text = metrics.exposition(draining=False, serving=True, workers=3, busy=0)
    assert 'advisor_calls_in_flight{method="a\\"b\\\\c\\nd"} 1\n' in text
    assert _of(_samples(text), "advisor_calls_in_flight") == {
        frozenset({("method", 'a"b\\c\nd')}): 1
    }
    state = _samples(metrics.exposition(draining=True, serving=False, workers=3, busy=2))
    names = ("advisor_draining", "advisor_serving", "advisor_workers", "advisor_slots_busy")
    assert [state[name, frozenset()] for name in names] == [1, 0, 3, 2]


def test_a_value_is_written_as_the_shortest_float_that_reads_back_as_it() -> None:
    # Written with every digit of its integer, a time of 1e20 seconds took 21 of them, where
    # the format reads Go's floats, 1e+20 among them; the refusals write figures so too.
    metrics = Metrics(["/s.S/m"])
    metrics.started("/s.S/m")
    metrics.ended("/s.S/m", "OK", 1e20)
    metrics.started("/s.S/m")
    metrics.ended("/s.S/m", "OK", 0.5)
    text = metrics.exposition(draining=False, serving=True, workers=3, busy=0)
    assert 'advisor_call_seconds_sum{method="m"} 1e+20\n' in text
    assert 'advisor_call_seconds_bucket{method="m",le="0.5"} 1\n' in text
    assert 'advisor_call_seconds_bucket{method="m",le="60"} 1\n' in text
    assert 'advisor_call_seconds_count{method="m"} 2\n' in text
    assert _of(_samples(text), "advisor_call_seconds_sum") == {frozenset({("method", "m")}): 1e20}


def test_advisor_serving_follows_health_and_stays_0_once_the_drain_begins() -> None:
    async def states() -> list[bool]:
        health = server_module._Health()
        seen = [health.serving]
        for step in (health.set(serving=True), health.shut_down(), health.set(serving=True)):
            await step
            seen.append(health.serving)
        return seen

    # The servicer ignores a worker's SERVING once shut down (NOT_SERVING for good): so does it.
    assert asyncio.run(states()) == [False, True, False, False]


@pytest.mark.parametrize("named", [(), ("--metrics-host", "localhost")], ids=["host", "named"])
def test_the_command_announces_the_endpoint_and_stops_it_at_sigterm(named: tuple[str, ...]) -> None:
    # The log line gives the address bound, as stdout does: it said localhost, stdout 127.0.0.1.
    with ServerProcess("--executor", "threads", "--metrics-port", "0", *named) as server:
        assert server.process.stdout is not None
        line = server.process.stdout.readline()
        assert line.startswith("metrics on 127.0.0.1:"), line
        address = line.removeprefix("metrics on ").strip()
        assert "# TYPE advisor_calls_total counter" in _scrape(address)[1]
        server.terminate()
        assert server.wait(_SECONDS) == 0
        assert f"serving metrics at http://{address}/metrics" in server.log()


def test_the_katib_endpoints_calls_are_counted_beside_the_advisors() -> None:
    options = ("--executor", "threads", "--metrics-port", "0", "--katib-port", "0")
    with ServerProcess(*options) as server:
        assert server.process.stdout is not None
        address = server.process.stdout.readline().removeprefix("metrics on ").strip()
        katib = server.process.stdout.readline().removeprefix("katib suggestion service on ")
        with grpc.insecure_channel(katib.strip()) as channel:
            request = api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment())
            api_pb2_grpc.SuggestionStub(channel).ValidateAlgorithmSettings(
                request, timeout=_SECONDS
            )
        wait_until(lambda: _calls(address) == {("ValidateAlgorithmSettings", "OK"): 1}, _SECONDS)
        server.terminate()
        assert server.wait(_SECONDS) == 0


def test_a_start_a_signal_abandons_is_draining_as_it_winds_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "received SIGTERM; draining" and then "stopped before serving": the endpoint said
    # advisor_draining 0 until it closed, as the abandoned start's server never drains.
    endpoints: list[MetricsEndpoint] = []
    starting = threading.Event()
    scraped: list[str] = []

    def recorded_endpoint(*args: Any) -> MetricsEndpoint:
        endpoints.append(opened(*args))
        return endpoints[-1]

    async def workers_that_never_start(*args: Any) -> None:
        starting.set()
        try:
            await asyncio.sleep(_SECONDS)
        except asyncio.CancelledError:  # the start abandoned, its endpoint still open
            address = f"127.0.0.1:{endpoints[0].port}"
            scraped.append((await asyncio.to_thread(_scrape, address))[1])
            raise

    def signal_once_starting() -> None:
        if starting.wait(_SECONDS):
            os.kill(os.getpid(), signal.SIGTERM)

    opened = server_module._metrics_endpoint
    monkeypatch.setattr(server_module, "_metrics_endpoint", recorded_endpoint)
    monkeypatch.setattr(server_module, "_call_workers", workers_that_never_start)
    threading.Thread(target=signal_once_starting, daemon=True).start()
    config = ServerConfig(port=0, workers=1, executor="threads", metrics_port=0)
    assert server_module.serve_forever(config) == 0
    (text,) = scraped
    samples = _samples(text)
    assert (samples["advisor_draining", frozenset()], samples["advisor_serving", frozenset()]) == (
        1,
        0,  # health NOT_SERVING while the workers start
    )


@pytest.mark.parametrize(
    ("options", "config", "named"),
    [
        (("--metrics-port", "PORT"), None, "--host/--metrics-port"),
        (
            ("--metrics-port", "PORT", "--metrics-host", "127.0.0.1"),
            None,
            "--metrics-host/--metrics-port",
        ),
        ((), "{metrics_port: PORT}", "--host/--config metrics_port"),
    ],
)
def test_a_metrics_port_in_use_is_a_start_error(
    live_server: RunningServer,
    tmp_path: Path,
    options: tuple[str, ...],
    config: str | None,
    named: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = str(live_server.port)
    argv = [o.replace("PORT", port) for o in options]
    if config is not None:
        (tmp_path / "server.yaml").write_text(config.replace("PORT", port))
        argv += ["--config", str(tmp_path / "server.yaml")]
    assert serve_main([*argv, "--executor", "threads"]) == START_FAILED_EXIT_STATUS
    assert capsys.readouterr().err == (
        f"advisor-server: error: {named}: cannot bind 127.0.0.1:{port}: Address already in use\n"
    )


def test_a_start_that_fails_on_its_port_never_logs_serving_metrics(
    live_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The endpoint binds first: a start refused on --port logged "serving metrics at ..." before
    # its error, and the endpoint it named was closed at once.
    argv = ["--port", str(live_server.port), "--metrics-port", "0", "--executor", "threads"]
    with caplog.at_level(logging.INFO, logger=server_module.__name__):
        assert serve_main(argv) == START_FAILED_EXIT_STATUS
    assert "serving metrics" not in caplog.text


_OWN_PORT = "%d is %s's too: each endpoint needs a port of its own"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--metrics-host", "0.0.0.0"], "--metrics-host: needs --metrics-port"),
        # On the option given (it named --metrics-host, and a config file's key it lacked).
        (
            ["--host", "unix:/tmp/advisor-metrics.sock", "--metrics-port", "0"],
            "--metrics-port: --host is a Unix domain socket, unix:/tmp/advisor-metrics.sock: the "
            "metrics endpoint is HTTP on an interface: give --metrics-host the interface, e.g. "
            "127.0.0.1",
        ),
        (
            ["--metrics-host", "unix:/tmp/advisor-metrics.sock", "--metrics-port", "0"],
            "--metrics-host: unix:/tmp/advisor-metrics.sock is a Unix domain socket: the metrics "
            "endpoint is HTTP on an interface: give it an interface, e.g. 127.0.0.1",
        ),
        (["--metrics-port", "65536"], "--metrics-port: "),
        # The metrics endpoint bound the port first: gRPC's bind failed, exit 7 on --port.
        (
            ["--port", "46120", "--metrics-port", "46120"],
            f"--metrics-port: {_OWN_PORT % (46120, '--port')}",
        ),
        (
            ["--port", "46120", "--metrics-port", "46120", "--metrics-host", "0.0.0.0"],
            f"--metrics-port: {_OWN_PORT % (46120, '--port')}",
        ),
        (
            ["--katib-port", "46121", "--metrics-port", "46121"],
            f"--katib-port: {_OWN_PORT % (46121, '--metrics-port')}",
        ),
        # Two names of one interface: the metrics took 127.0.0.1, the server ::1 alone.
        (
            ["--host", "localhost", "--port", "46120", "--metrics-port", "46120"],
            f"--metrics-port: {_OWN_PORT % (46120, '--port')}",
        ),
        (
            ["--katib-port", "46121", "--katib-host", "::", "--metrics-port", "46121"],
            f"--katib-port: {_OWN_PORT % (46121, '--metrics-port')}",
        ),
        # An IPv4-mapped address binds the IPv4 one's port: the start failed on --port, exit 7.
        (
            ["--port", "46120", "--metrics-port", "46120", "--metrics-host", "::ffff:127.0.0.1"],
            f"--metrics-port: {_OWN_PORT % (46120, '--port')}",
        ),
    ],
)
def test_metrics_settings_that_cannot_serve_are_refused_naming_the_option(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve_main([*argv, "--executor", "threads"]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err.startswith(f"advisor-server: error: {error}")


def test_a_metrics_port_in_the_config_file_is_checked_against_the_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "server.yaml").write_text("{port: 46120, metrics_port: 46120}")
    argv = ["--config", str(tmp_path / "server.yaml"), "--executor", "threads"]
    assert serve_main(argv) == BAD_OPTION_EXIT_STATUS
    error = f"--config metrics_port: {_OWN_PORT % (46120, '--port')}"
    assert capsys.readouterr().err == f"advisor-server: error: {error}\n"


@pytest.mark.parametrize(
    "settings",
    [
        {"port": 0, "metrics_port": 0},  # each picks a free port of its own
        {"port": 46120, "metrics_port": 46120, "metrics_host": "127.0.0.2"},
        {"host": "unix:advisor.sock", "port": 46120, "metrics_port": 46120, "metrics_host": "::1"},
    ],
)
def test_a_metrics_port_that_takes_no_other_endpoints_is_accepted(settings: dict[str, Any]) -> None:
    config = ServerConfig(**settings)
    assert (config.port, config.metrics_port) == (settings["port"], settings["metrics_port"])
