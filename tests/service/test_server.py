"""What only a live server has: health, reflection, auth, TLS, message size, saturation, drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from advisor.cli.main import main as advisor_main
from advisor.errors import InvalidRequestError, ServerStartError
from advisor.model.pem import MAX_PEM_BYTES
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol._proto.advisor.v1 import advisor_pb2_grpc
from advisor.service import command
from advisor.service import server as server_module
from advisor.service.admission import Admission
from advisor.service.binding import bind, bind_problem, reaches_other_machines
from advisor.service.calls import CallWorkers
from advisor.service.command import main as serve_main
from advisor.service.config import TOKEN_FILE_BYTES
from advisor.service.limits import MIN_MESSAGE_BYTES, RequestLimits
from advisor.service.options import BAD_OPTION_EXIT_STATUS
from advisor.service.server import (
    ADVISOR_SERVICE_NAME,
    HEALTH_SERVICE_NAME,
    RunningServer,
    ServerConfig,
    read_token_file,
    start_server,
)
from advisor.service.servicer import AdvisorServicer
from advisor.service.thread_pool import ThreadWorkers
from advisor.service.threads import ThreadContext
from tests.support.certificates import Certificates, make_certificates
from tests.support.harness import CallError, DirectAdvisor, LiveAdvisor, error_infos_of
from tests.support.scripted import closed_target
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget, quick_budget, small_task

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
EXECUTORS = ["processes", "threads"]
# Reflection, the token, TLS and gRPC's message limit are the gRPC server's, the same whichever
# executor runs the calls: their tests start the threads executor's server, ready in
# milliseconds, where worker processes take 1.5 s (3 s on a loaded machine) per server.
GRPC_LAYER_EXECUTOR = "threads"


def _health(channel: grpc.Channel, service: str = "") -> int:
    request = health_pb2.HealthCheckRequest(service=service)
    status: int = health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status
    return status


def _reflected_services(channel: grpc.Channel) -> list[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    [response] = stub.ServerReflectionInfo(iter([request]), timeout=5)
    return [service.name for service in response.list_services_response.service]


# ---------------------------------------------------------------------------------------------
# Health and reflection


def test_health_is_serving_for_the_server_and_the_advisor_service(channel: grpc.Channel) -> None:
    assert _health(channel) == SERVING
    assert _health(channel, ADVISOR_SERVICE_NAME) == SERVING


def test_health_lists_every_service_it_checks_and_logs_no_error(
    channel: grpc.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    # List came from gRPC's generated base class, which raised NotImplementedError.
    caplog.set_level(logging.ERROR)
    listed = health_pb2_grpc.HealthStub(channel).List(health_pb2.HealthListRequest(), timeout=5)
    statuses = {service: response.status for service, response in listed.statuses.items()}
    assert statuses == {"": SERVING, ADVISOR_SERVICE_NAME: SERVING}
    assert caplog.records == []


def test_health_refuses_a_service_it_has_not_naming_it_with_an_error_info(
    channel: grpc.Channel,
) -> None:
    # gRPC's servicer ended NOT_FOUND with no message and no ErrorInfo, which every other
    # status of the server carries.
    with pytest.raises(grpc.RpcError) as refused:
        _health(channel, "bogus")
    call = refused.value
    assert isinstance(call, grpc.Call)
    assert call.code() == grpc.StatusCode.NOT_FOUND
    assert call.details() == (
        f"no service 'bogus' on this server; its health services: '', '{ADVISOR_SERVICE_NAME}' "
        "('': the server)"
    )
    [info] = error_infos_of(rpc_status.from_call(call))
    assert (info.reason, dict(info.metadata)) == ("SERVICE_NOT_FOUND", {"service": "bogus"})
    # A long name is cut where it is repeated: whole, 20,000 characters took the trailers past
    # the client's metadata limit (RESOURCE_EXHAUSTED "received metadata size exceeds").
    with pytest.raises(grpc.RpcError) as long_name:
        _health(channel, "x" * 20_000)
    long_call = long_name.value
    assert isinstance(long_call, grpc.Call)
    assert long_call.code() == grpc.StatusCode.NOT_FOUND
    assert long_call.details().startswith(f"no service '{'x' * 97}...' on this server;")
    # A name of 100 characters is repeated whole; one of 101 is cut to 100, "..." included.
    for length, shown in ((100, "x" * 100), (101, "x" * 97 + "...")):
        with pytest.raises(grpc.RpcError) as cut:
            _health(channel, "x" * length)
        assert isinstance(cut.value, grpc.Call)
        assert cut.value.details().startswith(f"no service '{shown}' on this server;")


def _held_workers(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make a server's workers start only once the test sets the second event.

    The first is set when the start has reached them (the gRPC server is serving by then).
    """
    loading, release = threading.Event(), threading.Event()
    call_workers = server_module._call_workers

    async def held_workers(
        config: ServerConfig,
        admission: Admission,
        on_serving: Callable[[bool], None],
        on_replaced: Callable[[], None] | None = None,
    ) -> CallWorkers:
        loading.set()
        await asyncio.to_thread(release.wait, 60)
        return await call_workers(config, admission, on_serving, on_replaced)

    monkeypatch.setattr(server_module, "_call_workers", held_workers)
    return loading, release


@contextlib.contextmanager
def _starting(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> Iterator[tuple[grpc.Channel, threading.Event, list[RunningServer]]]:
    """Start a server on a thread whose workers wait for the test (:func:`_held_workers`).

    Yield a channel to it, once the start has reached the workers, the event that lets them
    start, and the list the server is put in once started (stopped on the way out).
    """
    loading, release = _held_workers(monkeypatch)
    target = closed_target()
    config = ServerConfig(
        port=int(target.rpartition(":")[2]), workers=workers, executor=GRPC_LAYER_EXECUTOR
    )
    started: list[RunningServer] = []
    starter = threading.Thread(target=lambda: started.append(start_server(config)))
    starter.start()
    try:
        assert loading.wait(60)
        with grpc.insecure_channel(target) as channel:
            yield channel, release, started
    finally:
        release.set()
        starter.join(60)
        for running in started:
            running.stop(0)


def test_health_answers_not_serving_while_the_workers_start_and_a_call_waits_for_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The bound port took connections but gRPC answered nothing until the workers were ready
    # (2-3 s, tens of seconds on a busy machine): a Kubernetes probe with a 1 s timeout failed
    # where it was to read NOT_SERVING. Here the workers start only once the test lets them.
    with _starting(monkeypatch, workers=1) as (channel, release, started):
        stub = advisor_pb2_grpc.ArchitectureAdvisorStub(channel)
        presets = stub.ListPresets.future(pb.ListPresetsRequest(), timeout=60)
        assert _health(channel) == NOT_SERVING
        assert _health(channel, ADVISOR_SERVICE_NAME) == NOT_SERVING
        assert not presets.done()  # it waits for the workers
        release.set()
        wait_until(lambda: bool(started))
        assert _health(channel) == SERVING
        assert presets.result().presets  # served once they were ready


def test_calls_over_the_slots_are_refused_at_once_while_the_workers_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every call made during the start waited for the workers, however many came: a flood of
    # calls without a deadline piled up, each holding its request, for as long as the start
    # took (up to 120 s), to be refused RESOURCE_EXHAUSTED past the slots once it ended.
    with _starting(monkeypatch, workers=2) as (channel, release, started):
        stub = advisor_pb2_grpc.ArchitectureAdvisorStub(channel)
        calls = [stub.ListPresets.future(pb.ListPresetsRequest(), timeout=30) for _ in range(5)]
        # The first two to arrive wait; the others are refused without waiting for the start.
        wait_until(lambda: sum(call.done() for call in calls) == 3)
        refused = [call for call in calls if call.done()]
        waiting = [call for call in calls if not call.done()]
        assert started == [] and _health(channel) == NOT_SERVING
        for call in refused:
            assert call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "waiting for the workers" in (call.details() or "")
        release.set()
        assert all(call.result(timeout=60).presets for call in waiting)


def test_a_call_waiting_for_workers_that_fail_to_start_is_refused_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loading, release = threading.Event(), threading.Event()

    async def failing_workers(
        config: ServerConfig,
        admission: Admission,
        on_serving: Callable[[bool], None],
        on_replaced: Callable[[], None] | None = None,
    ) -> CallWorkers:
        loading.set()
        await asyncio.to_thread(release.wait, 60)
        raise ServerStartError(["executor"], "a worker process did not start")

    monkeypatch.setattr(server_module, "_call_workers", failing_workers)
    target = closed_target()
    config = ServerConfig(port=int(target.rpartition(":")[2]), executor=GRPC_LAYER_EXECUTOR)
    raised: list[BaseException] = []

    def start() -> None:
        try:
            start_server(config)
        except ServerStartError as error:
            raised.append(error)

    starter = threading.Thread(target=start)
    starter.start()
    try:
        assert loading.wait(60)
        with grpc.insecure_channel(target) as channel:
            stub = advisor_pb2_grpc.ArchitectureAdvisorStub(channel)
            presets = stub.ListPresets.future(pb.ListPresetsRequest(), timeout=60)
            assert _health(channel) == NOT_SERVING
            release.set()
            with pytest.raises(grpc.RpcError) as refused:
                presets.result()
    finally:
        release.set()
        starter.join(60)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "could not start its workers" in (refused.value.details() or "")
    assert len(raised) == 1


@pytest.mark.parametrize("enabled", [False, True])
def test_reflection_only_when_enabled(serve: Callable[..., RunningServer], enabled: bool) -> None:
    running = serve(reflection=enabled, executor=GRPC_LAYER_EXECUTOR)
    with grpc.insecure_channel(running.address) as channel:
        if enabled:
            services = _reflected_services(channel)
            assert ADVISOR_SERVICE_NAME in services
            assert HEALTH_SERVICE_NAME in services
        else:
            with pytest.raises(grpc.RpcError) as failure:
                _reflected_services(channel)
            assert failure.value.code() is grpc.StatusCode.UNIMPLEMENTED


# ---------------------------------------------------------------------------------------------
# Bearer-token auth


@pytest.fixture(scope="module")
def token_server() -> Iterator[RunningServer]:
    """A server taking the token "s3cret-token", shared: the auth tests change nothing in it."""
    config = ServerConfig(
        port=0, grace_seconds=1.0, token="s3cret-token", executor=GRPC_LAYER_EXECUTOR
    )
    with start_server(config) as running:
        yield running


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ((), "TOKEN_MISSING"),
        ((("authorization", "Bearer wrong-token"),), "TOKEN_INVALID"),
        ((("authorization", "s3cret-token"),), "TOKEN_INVALID"),
        ((("authorization", "Bearers3cret-token"),), "TOKEN_INVALID"),
        (
            (("authorization", "Bearer s3cret-token"), ("authorization", "Bearer s3cret-token")),
            "TOKEN_INVALID",
        ),
    ],
    ids=["missing", "wrong", "no-scheme", "no-space", "repeated"],
)
def test_calls_without_the_right_token_are_unauthenticated(
    token_server: RunningServer, metadata: tuple[tuple[str, str], ...], reason: str
) -> None:
    with grpc.insecure_channel(token_server.address) as channel:
        advisor = LiveAdvisor(channel, metadata)
        with pytest.raises(CallError) as unary:
            advisor.unary("ListPresets", pb.ListPresetsRequest())
        assert unary.value.code is grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(CallError) as stream:
            advisor.stream(pb.StreamRecommendRequest(task=small_task(), budget=quick_budget()))
        assert stream.value.code is grpc.StatusCode.UNAUTHENTICATED
        # The cause as data (AIP-193): a caller tells a token it never sent from a wrong one.
        for error in (unary.value, stream.value):
            [info] = error.error_infos
            assert (info.reason, info.domain, dict(info.metadata)) == (reason, "advisor.v1", {})
        assert _health(channel) == SERVING  # health is exempt


@pytest.mark.parametrize(
    ("scheme", "after"),
    [("Bearer ", ""), ("bearer ", ""), ("BEARER ", ""), ("Bearer  ", ""), ("Bearer ", "  ")],
)
def test_the_right_token_is_accepted(token_server: RunningServer, scheme: str, after: str) -> None:
    # HTTP reads the scheme in any case and one or more spaces after it; gRPC clients in other
    # languages send "bearer". The spaces around a field's value are no part of it: a header
    # written "Bearer s3cret-token " was refused TOKEN_INVALID.
    with grpc.insecure_channel(token_server.address) as channel:
        advisor = LiveAdvisor(channel, [("authorization", f"{scheme}s3cret-token{after}")])
        assert advisor.unary("ListPresets", pb.ListPresetsRequest()).presets


def test_token_files_are_read_stripped_and_must_hold_a_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("  abc \n")
    assert read_token_file(path) == "abc"
    path.write_text("\n")
    with pytest.raises(InvalidRequestError, match="token_file"):
        read_token_file(path)
    with pytest.raises(InvalidRequestError, match="token_file"):
        read_token_file(tmp_path / "missing")


def test_a_token_file_that_never_ends_is_refused_not_read_on(tmp_path: Path) -> None:
    # --token-file /dev/zero was read until memory ran out (MemoryError's traceback, or the OOM
    # killer), where --config /dev/zero is refused; a token is at most 4,096 characters.
    path = tmp_path / "token"
    path.write_text(" " * TOKEN_FILE_BYTES + "abc")
    for endless in (path, Path("/dev/zero")):
        with pytest.raises(InvalidRequestError) as error:
            read_token_file(endless)
        [violation] = error.value.violations
        assert violation.field == "token_file"
        assert violation.description == (
            f"cannot read {endless}: it is longer than {TOKEN_FILE_BYTES:,} bytes, more than a "
            "token file holds"
        )
    path.write_text(" " * (TOKEN_FILE_BYTES - 4) + "abc\n")
    assert read_token_file(path) == "abc"


def test_a_token_file_that_is_not_utf8_is_refused_where_it_stops_being_so(tmp_path: Path) -> None:
    # Python's text placed the byte by its offset ("in position 4"), as a task file's no longer.
    path = tmp_path / "token"
    path.write_bytes(b"abc\n\xe9")
    with pytest.raises(InvalidRequestError) as error:
        read_token_file(path)
    [violation] = error.value.violations
    assert violation.field == "token_file"
    assert violation.description == (
        f"cannot read {path}: line 2, column 1: byte 0xE9 is not UTF-8 text (save the file as "
        "UTF-8)"
    )


# ---------------------------------------------------------------------------------------------
# TLS


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def _tls_channel(
    running: RunningServer, certificates: Certificates, client: tuple[Path, Path] | None = None
) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=certificates.ca.read_bytes(),
        private_key=None if client is None else client[1].read_bytes(),
        certificate_chain=None if client is None else client[0].read_bytes(),
    )
    return grpc.secure_channel(f"localhost:{running.port}", credentials)


def test_tls_serves_clients_that_trust_the_ca(
    serve: Callable[..., RunningServer], certificates: Certificates
) -> None:
    running = serve(
        tls_cert=certificates.server_cert,
        tls_key=certificates.server_key,
        executor=GRPC_LAYER_EXECUTOR,
    )
    with _tls_channel(running, certificates) as channel:
        assert LiveAdvisor(channel).unary("ListPresets", pb.ListPresetsRequest()).presets
    with grpc.insecure_channel(running.address) as plain, pytest.raises(grpc.RpcError):
        health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=2)


def test_mutual_tls_requires_a_client_certificate_from_the_ca(
    serve: Callable[..., RunningServer], certificates: Certificates
) -> None:
    running = serve(
        tls_cert=certificates.server_cert,
        tls_key=certificates.server_key,
        tls_client_ca=certificates.ca,
        executor=GRPC_LAYER_EXECUTOR,
    )
    client = (certificates.client_cert, certificates.client_key)
    with _tls_channel(running, certificates, client) as channel:
        assert LiveAdvisor(channel).unary("ListPresets", pb.ListPresetsRequest()).presets
    intruder = (certificates.intruder_cert, certificates.intruder_key)
    for refused in (None, intruder):
        with _tls_channel(running, certificates, refused) as channel:
            with pytest.raises(CallError) as failure:
                LiveAdvisor(channel).unary("ListPresets", pb.ListPresetsRequest(), timeout=2)
            assert failure.value.code is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"tls_cert": Path("cert.pem")}, "tls_key"),
        ({"tls_key": Path("key.pem")}, "tls_cert"),
        ({"tls_client_ca": Path("ca.pem")}, "tls_client_ca"),
        ({"port": 70000}, "port"),
        ({"workers": 0}, "workers"),
        ({"executor": "fork"}, "executor"),
        ({"worker_niceness": 20}, "worker_niceness"),
        ({"token": ""}, "token"),
        ({"grace_seconds": float("nan")}, "grace_seconds"),
        ({"hostname": "x"}, "hostname"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequestError) as error:
        ServerConfig(**settings)
    assert [v.field for v in error.value.violations] == [field]


def test_unreadable_pem_files_name_the_setting(tmp_path: Path) -> None:
    config = ServerConfig(tls_cert=tmp_path / "none.pem", tls_key=tmp_path / "none.key")
    with pytest.raises(ServerStartError) as error:
        start_server(config)
    assert error.value.settings == ("tls_cert",)
    assert "cannot read" in error.value.description


def test_a_pem_file_failing_without_a_reason_is_refused_with_the_error_text(
    certificates: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An OSError without an errno has no strerror: the refusal said "cannot read ...: None".
    def unreadable(path: Path) -> bytes:
        raise OSError("the file went away")

    monkeypatch.setattr(server_module, "read_pem_file", unreadable)
    config = ServerConfig(tls_cert=certificates.server_cert, tls_key=certificates.server_key)
    with pytest.raises(ServerStartError) as error:
        start_server(config)
    assert error.value.description == (
        f"cannot read {certificates.server_cert}: the file went away"
    )


def test_a_pem_file_that_never_ends_is_refused_not_read_on(certificates: Certificates) -> None:
    # --tls-cert /dev/zero was read until memory ran out: MemoryError's traceback and exit
    # status 1, or the OOM killer, not the one line and exit status 7 of a file it cannot use.
    pem = certificates
    cases = [
        ({"tls_cert": "/dev/zero", "tls_key": pem.server_key}, "tls_cert"),
        ({"tls_cert": pem.server_cert, "tls_key": "/dev/zero"}, "tls_key"),
        (
            {"tls_cert": pem.server_cert, "tls_key": pem.server_key, "tls_client_ca": "/dev/zero"},
            "tls_client_ca",
        ),
    ]
    for settings, setting in cases:
        with pytest.raises(ServerStartError) as error:
            start_server(ServerConfig(**settings))
        assert error.value.settings == (setting,), settings
        assert error.value.description == (
            f"cannot read /dev/zero: it is longer than {MAX_PEM_BYTES:,} bytes, more than a PEM "
            "file holds"
        )


def test_pem_files_that_are_not_what_they_must_be_name_the_setting(
    tmp_path: Path, certificates: Certificates
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    empty = tmp_path / "empty.pem"  # was a bare ValueError from ssl: "Empty certificate data"
    empty.write_text("")
    pem = certificates
    cases = [
        ({"tls_cert": garbage, "tls_key": pem.server_key}, "tls_cert"),
        ({"tls_cert": empty, "tls_key": pem.server_key}, "tls_cert"),
        ({"tls_cert": pem.server_key, "tls_key": pem.server_key}, "tls_cert"),
        ({"tls_cert": pem.server_cert, "tls_key": garbage}, "tls_key"),
        ({"tls_cert": pem.server_cert, "tls_key": pem.client_key}, "tls_key"),
        (
            {"tls_cert": pem.server_cert, "tls_key": pem.server_key, "tls_client_ca": garbage},
            "tls_client_ca",
        ),
        (
            {"tls_cert": pem.server_cert, "tls_key": pem.server_key, "tls_client_ca": empty},
            "tls_client_ca",
        ),
    ]
    for settings, setting in cases:
        with pytest.raises(ServerStartError) as error:
            start_server(ServerConfig(**settings))
        assert error.value.settings == (setting,), settings


def test_a_unix_socket_is_bound_and_served_as_written(tmp_path: Path) -> None:
    # The client dials unix:/path; the server put such a host in brackets as an IPv6 one
    # ("cannot bind [unix:/tmp/a.sock]:0"), so a sidecar deployment could not use a socket.
    socket = f"unix:{tmp_path / 'advisor.sock'}"
    with start_server(ServerConfig(host=socket, executor="threads", workers=1)) as running:
        assert (running.address, running.port) == (socket, 0)
        assert (tmp_path / "advisor.sock").exists()
        with grpc.insecure_channel(running.address) as channel:
            assert _health(channel) == SERVING
            assert _health(channel, ADVISOR_SERVICE_NAME) == SERVING


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o002, 0o775)])
def test_a_unix_socket_takes_the_server_s_umask(tmp_path: Path, umask: int, mode: int) -> None:
    # As docs/SERVICE.md says: who may call is who may write the socket file.
    path = tmp_path / "advisor.sock"
    previous = os.umask(umask)
    try:
        with start_server(ServerConfig(host=f"unix:{path}", executor="threads", workers=1)):
            assert stat.S_IMODE(path.stat().st_mode) == mode
    finally:
        os.umask(previous)


def test_a_unix_socket_a_live_server_answers_on_is_refused_and_a_stale_one_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # gRPC removes the file before it binds: a second server took the socket over, both said
    # "listening", and the first one's stop removed the socket the second served on.
    path = tmp_path / "advisor.sock"
    host = f"unix:{path}"
    with start_server(ServerConfig(host=host, executor="threads", workers=1)) as running:
        assert serve_main(["--host", host, "--executor", "threads"]) == 7
        assert capsys.readouterr().err == (
            f"advisor-server: error: --host: cannot bind {host}: Address already in use "
            f"(a server answers on {path})\n"
        )
        with grpc.insecure_channel(running.address) as channel:
            assert _health(channel) == SERVING
    # A socket file nobody accepts on, as a server killed leaves it, is replaced.
    path.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(path))
    with (
        start_server(ServerConfig(host=host, executor="threads", workers=1)) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        assert _health(channel) == SERVING


def test_an_abstract_socket_a_live_server_answers_on_is_refused_saying_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # gRPC's bind failed with "Failed to bind to address ...; set GRPC_VERBOSITY=debug".
    host = f"unix-abstract:advisor-test-{os.getpid()}"
    with start_server(ServerConfig(host=host, executor="threads", workers=1)):
        assert serve_main(["--host", host, "--executor", "threads"]) == 7
        assert capsys.readouterr().err == (
            f"advisor-server: error: --host: cannot bind {host}: Address already in use "
            f"(a server answers on {host})\n"
        )


@pytest.mark.parametrize(
    ("socket", "why"),
    [
        ("missing/advisor.sock", "directory TMP/missing does not exist"),
        ("file/advisor.sock", "TMP/file is not a directory"),
        ("taken", "TMP/taken is a directory"),
        # gRPC replaces a socket file, never another: it said only "Failed to bind".
        ("file", "TMP/file is a file, not a socket: remove it or give another path"),
        (
            "s" * 120,
            "the socket path is LENGTH bytes, over the 107 a Unix socket's path may hold; use a "
            "shorter one",
        ),
    ],
)
def test_a_unix_socket_that_cannot_be_bound_names_host_and_says_why(
    tmp_path: Path, socket: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Reported as "--host/--port: cannot bind unix:...: Failed to bind to address ...; set
    # GRPC_VERBOSITY=debug ...": a port a socket does not use, and no reason.
    (tmp_path / "file").write_text("")
    (tmp_path / "taken").mkdir()
    path = tmp_path / socket
    assert serve_main(["--host", f"unix:{path}", "--executor", "threads"]) == 7
    reason = why.replace("TMP", str(tmp_path)).replace("LENGTH", str(len(str(path))))
    assert capsys.readouterr().err == (
        f"advisor-server: error: --host: cannot bind unix:{path}: {reason}\n"
    )


def test_a_socket_directory_the_server_cannot_write_in_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read-only as the server sees it (a read-only mount; root writes in any mode, so the test
    # cannot rely on the directory's mode bits).
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert bind_problem(f"unix://{tmp_path}/advisor.sock", 0) == (
        f"directory {tmp_path} is not writable (a socket is a file created in it)"
    )
    assert bind_problem("unix-abstract:advisor", 0) is None


@pytest.mark.parametrize(
    ("host", "example"),
    [
        ("unix:", "unix:/run/advisor.sock"),
        ("unix://", "unix:/run/advisor.sock"),
        ("unix-abstract:", "unix-abstract:advisor"),
    ],
)
def test_a_unix_socket_of_no_name_is_refused_naming_its_option(
    live_server: RunningServer, host: str, example: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The kernel binds an empty socket path to a name of its choosing: "--host unix:" served,
    # announcing "listening on unix:", at an address no client could know.
    with pytest.raises(InvalidRequestError) as error:
        ServerConfig(host=host)
    problem = f"{host} names no socket: give its path or name, e.g. {example}"
    assert [(v.field, v.description) for v in error.value.violations] == [("host", problem)]
    # --port in use: a Katib endpoint served at such a socket fails the start, not serves on.
    argv = ["--katib-port", "0", "--katib-host", host, "--port", str(live_server.port)]
    assert serve_main([*argv, "--executor", "threads"]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == f"advisor-server: error: --katib-host: {problem}\n"


def test_a_unix_socket_with_an_authority_is_refused_as_a_clients_target_is(
    live_server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # --host unix://adv.sock served, announcing "listening on unix://adv.sock", at /adv.sock (a
    # path of the root folder), while a client given that target was told to pass unix:adv.sock,
    # a socket in the working folder no server listened on.
    problem = (
        "'unix://adv.sock' is no socket path (gRPC reads 'adv.sock' as a host): pass "
        "'unix:adv.sock' for a path relative to the working directory, or unix:///absolute/path"
    )
    with pytest.raises(InvalidRequestError) as error:
        ServerConfig(host="unix://adv.sock")
    assert [(v.field, v.description) for v in error.value.violations] == [("host", problem)]
    assert ServerConfig(host="unix:///tmp/adv.sock").host == "unix:///tmp/adv.sock"
    argv = ["--katib-port", "0", "--katib-host", "unix://adv.sock", "--port", str(live_server.port)]
    assert serve_main([*argv, "--executor", "threads"]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == f"advisor-server: error: --katib-host: {problem}\n"


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["--host", "unix:SOCKET"], "--host"),
        (["--katib-host", "unix:SOCKET", "--katib-port", "0"], "--katib-host"),
    ],
)
def test_an_address_of_bytes_the_locale_does_not_decode_is_refused_by_its_bytes(
    tmp_path: Path, argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Python reads such a byte as a lone surrogate, which gRPC cannot write as the UTF-8 it
    # takes an address in: --host was refused as "Input should be a valid string, unable to
    # parse raw data as a unicode string", and --katib-host ended in a traceback once the
    # advisor's own server had started. Both are refused before anything starts.
    (tmp_path / "\udcff").mkdir()
    socket = f"{tmp_path}/\udcff/x.sock"
    argv = [word.replace("SOCKET", socket) for word in argv]
    problem = (
        f"'unix:{tmp_path}/\\xff/x.sock' holds bytes the locale's encoding does not decode (each "
        "\\xNN), and gRPC takes an address as text: name it in characters the locale reads"
    )
    with pytest.raises(SystemExit) as ended:
        serve_main([*argv, "--executor", "threads"])
    assert ended.value.code == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == f"advisor-server: error: {option}: {problem}\n"
    with pytest.raises(SystemExit) as ended:
        advisor_main(["presets", "--target", f"unix:{socket}"])
    assert ended.value.code == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == f"advisor: error: --target: {problem}\n"


def test_a_port_in_use_names_the_address(live_server: RunningServer) -> None:
    with pytest.raises(ServerStartError) as error:
        start_server(ServerConfig(port=live_server.port))
    assert error.value.settings == ("host", "port")
    # gRPC's own reason names none: "Failed to bind to address ...; set GRPC_VERBOSITY=debug".
    assert error.value.description == (
        f"cannot bind 127.0.0.1:{live_server.port}: Address already in use"
    )


def test_a_port_in_use_on_one_address_of_localhost_refuses_the_start(
    live_server: RunningServer,
) -> None:
    # gRPC binds 127.0.0.1 and ::1 for localhost and serves on whichever it could bind: with
    # the port taken on 127.0.0.1 a server listened on ::1 alone and said it served localhost.
    with pytest.raises(ServerStartError) as error:
        start_server(ServerConfig(host="localhost", port=live_server.port))
    assert error.value.settings == ("host",)
    assert error.value.description == (
        f"cannot bind localhost:{live_server.port}: Address already in use on 127.0.0.1 (the "
        "server binds every address of localhost: 127.0.0.1, ::1)"
    )


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("192.0.2.1", "Cannot assign requested address (no interface of this machine has that "),
        ("nowhere.invalid", "host nowhere.invalid cannot be resolved ("),
    ],
)
def test_an_address_that_cannot_be_bound_says_why(host: str, why: str) -> None:
    # 192.0.2.1 is documentation's (RFC 5737), no machine's; .invalid never resolves (RFC 2606).
    with pytest.raises(ServerStartError) as error:
        start_server(ServerConfig(host=host, port=0, executor="threads"))
    assert error.value.settings == ("host", "port")
    assert error.value.description.startswith(f"cannot bind {host}:0: {why}")


def test_a_server_that_cannot_start_exits_7_naming_the_options(
    live_server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "none.pem")
    assert serve_main(["--port", str(live_server.port)]) == 7
    assert capsys.readouterr().err.startswith("advisor-server: error: --host/--port: cannot bind ")
    assert advisor_main(["serve", "--tls-cert", missing, "--tls-key", missing]) == 7
    assert capsys.readouterr().err.startswith("advisor: error: --tls-cert: cannot read ")


@pytest.mark.parametrize(
    ("settings", "options", "named"),
    [
        ("{tls_cert: none.pem, tls_key: none.key}", (), "--config tls_cert: cannot read none.pem"),
        ("{port: PORT}", (), "--host/--config port: cannot bind 127.0.0.1:PORT"),
        ("{port: 0}", ("--port", "PORT"), "--host/--port: cannot bind 127.0.0.1:PORT"),
    ],
)
def test_a_setting_that_cannot_start_is_named_where_it_was_given(
    live_server: RunningServer,
    tmp_path: Path,
    settings: str,
    options: tuple[str, ...],
    named: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A setting of the --config file the server could not start with was named as the option
    # ("--tls-cert: cannot read ..."), one the command line never gave, where a refused setting
    # of the file is named as its key ("--config tls_cert: ...").
    monkeypatch.chdir(tmp_path)  # where the relative paths are read
    port = str(live_server.port)
    config = tmp_path / "server.yaml"
    config.write_text(settings.replace("PORT", port))
    argv = ["--config", str(config), *(o.replace("PORT", port) for o in options)]
    assert serve_main([*argv, "--executor", "threads"]) == 7
    error = capsys.readouterr().err
    assert error.startswith(f"advisor-server: error: {named.replace('PORT', port)}"), error


@pytest.mark.parametrize(
    ("host_options", "named"),
    [
        ((), "--host/--katib-port"),
        (("--katib-host", "127.0.0.1"), "--katib-host/--katib-port"),
    ],
)
def test_katibs_address_is_named_by_the_options_that_set_it(
    live_server: RunningServer,
    host_options: tuple[str, ...],
    named: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The endpoint binds --host's interface unless --katib-host names another: an address it
    # could not bind was reported as --katib-host's, an option the command line never gave.
    argv = ["--katib-port", str(live_server.port), *host_options, "--executor", "threads"]
    assert serve_main(argv) == 7
    assert capsys.readouterr().err.startswith(
        f"advisor-server: error: {named}: cannot bind 127.0.0.1:"
    )


class _LoadingInterrupted(types.ModuleType):
    """A module whose import Ctrl-C interrupts, as it may gRPC's and the server's half-second load.

    Only its own names are interrupted: tools that look over every loaded module (pytest's
    plugins read ``__file__``) find nothing there.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise KeyboardInterrupt


def test_ctrl_c_while_the_server_loads_is_one_line(
    live_server: RunningServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ctrl-C in the first half second of advisor-server or server.py, before the signal handling
    # is set up, printed KeyboardInterrupt's traceback and ended the process by SIGINT, where
    # advisor serve printed one line. (A port in use: a server that did load fails fast, with 7.)
    monkeypatch.setitem(sys.modules, "advisor.service.server", _LoadingInterrupted("server"))
    assert serve_main(["--executor", "threads", "--port", str(live_server.port)]) == 1
    assert capsys.readouterr().err == "advisor-server: error: interrupted\n"


def test_a_running_servers_repr_names_its_address_executor_and_state() -> None:
    # A notebook shows a cell's last value by its repr: "<advisor.service.server.RunningServer
    # object at 0x7f...>" gave neither the address to call nor whether it still served.
    with start_server(ServerConfig(port=0, workers=1, executor="threads")) as running:
        assert repr(running) == f"<RunningServer {running.address!r} threads, 1 worker, serving>"
    assert repr(running) == f"<RunningServer {running.address!r} threads, 1 worker, stopped>"


def test_ctrl_c_while_start_server_waits_abandons_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In a notebook, Ctrl-C in the seconds the worker processes take to load interrupted only the
    # wait: the start went on on the servers' event loop, and its server served on with its
    # workers and no handle to stop it; every re-run of the cell left one more.
    starting = threading.Event()
    cancelled = threading.Event()

    async def slow_workers(
        config: ServerConfig,
        admission: Admission,
        on_serving: Callable[[bool], None],
        on_replaced: Callable[[], None] | None = None,
    ) -> ThreadWorkers:
        starting.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return ThreadWorkers(AdvisorServicer(config.limits, admission), admission, config.workers)

    def press_ctrl_c_once_starting() -> None:
        if starting.wait(60):
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(server_module, "_call_workers", slow_workers)
    threading.Thread(target=press_ctrl_c_once_starting, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        start_server(ServerConfig(port=0, workers=1, executor="threads"))
    assert cancelled.is_set()  # abandoned before start_server gave the interrupt back


def test_ctrl_c_as_start_server_schedules_the_start_abandons_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A Ctrl-C that came in the write waking the servers' loop, after the start was queued on
    # it, lost the start's handle: start_server gave the interrupt back and the start went on
    # (one in two runs of this file, where the loop already ran and took the start at once).
    loop = server_module._event_loop()
    wake = type(loop)._write_to_self  # type: ignore[attr-defined]
    interrupted = threading.Event()

    def interrupted_once(self: asyncio.AbstractEventLoop) -> None:
        wake(self)
        if threading.current_thread() is threading.main_thread() and not interrupted.is_set():
            interrupted.set()
            raise KeyboardInterrupt

    async def pending_starts() -> list[asyncio.Task[object]]:
        return [
            task
            for task in asyncio.all_tasks()
            if getattr(task.get_coro(), "__name__", "") == "_start" and not task.done()
        ]

    monkeypatch.setattr(type(loop), "_write_to_self", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        start_server(ServerConfig(port=0, workers=1, executor="threads"))
    assert interrupted.is_set()
    # The loop runs its callbacks in order: whatever start_server queued has run by now.
    assert server_module._on_loop(pending_starts()) == []


def test_a_start_that_fails_after_binding_closes_its_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # gRPC listens from the bind, and stopping a server it never started leaves it listening:
    # a worker that failed to start (or a start abandoned by Ctrl-C) kept the port, accepting
    # connections no one answered, until the process ended; a notebook's re-run of the cell on
    # the same port found it in use.
    bound: list[int] = []

    def recorded_bind(*args: Any) -> int:
        bound.append(bind(*args))
        return bound[-1]

    async def failing_workers(
        config: ServerConfig,
        admission: Admission,
        on_serving: Callable[[bool], None],
        on_replaced: Callable[[], None] | None = None,
    ) -> ThreadWorkers:
        raise ServerStartError(["executor"], "a worker process did not start")

    monkeypatch.setattr(server_module, "bind", recorded_bind)
    monkeypatch.setattr(server_module, "_call_workers", failing_workers)
    with pytest.raises(ServerStartError):
        start_server(ServerConfig(port=0, workers=1, executor="threads"))
    (port,) = bound
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--port", "abc"], "--port: invalid value 'abc' (a whole number)"),
        (["--grace", "soon"], "--grace: invalid value 'soon' (a number)"),
        (["--grace"], "--grace: expected one argument"),
        (
            ["--executor", "proceses"],
            "--executor: invalid value 'proceses' (choose from processes, threads); "
            "did you mean 'processes'?",
        ),
    ],
)
def test_a_usage_error_is_one_line_naming_the_option_exit_2(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # argparse would print its whole usage first; every entry point words it as `advisor` does.
    for prog in ("advisor-server", "server.py"):
        with pytest.raises(SystemExit) as exited:
            serve_main(argv, prog=prog)
        assert exited.value.code == BAD_OPTION_EXIT_STATUS
        assert capsys.readouterr().err == f"{prog}: error: {error}\n"
    with pytest.raises(SystemExit) as exited:
        advisor_main(["serve", *argv])
    assert exited.value.code == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == f"advisor: error: {error}\n"


# ---------------------------------------------------------------------------------------------
# Message size, saturation, cancellation


def test_oversized_messages_are_refused_by_grpc(serve: Callable[..., RunningServer]) -> None:
    running = serve(
        limits=RequestLimits(max_message_bytes=MIN_MESSAGE_BYTES), executor=GRPC_LAYER_EXECUTOR
    )
    task = pb.Task(
        input=pb.InputSpec(shape=[64, 64]),
        correlations=[
            pb.Correlation(name="c", a=pb.Region(indices=pb.IndexList(values=range(4096))))
        ],
    )
    with grpc.insecure_channel(running.address) as channel:
        with pytest.raises(CallError) as failure:
            LiveAdvisor(channel).unary(
                "Recommend", pb.RecommendRequest(task=task, budget=quick_budget())
            )
        assert failure.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_call_past_the_connections_stream_bound_waits_for_a_stream(
    serve: Callable[..., RunningServer],
) -> None:
    # docs/RELIABILITY.md said such a call was refused (REFUSED_STREAM, seen as UNAVAILABLE): a
    # gRPC client honours the bound the server announces and holds the call until a stream of
    # its connection ends, within the call's deadline.
    running = serve(workers=2, executor="threads", max_streams_per_connection=1)
    with grpc.insecure_channel(running.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=60)
        assert next(watch).status == SERVING  # the connection's one stream is open
        stub = LiveAdvisor(channel).stub
        with pytest.raises(grpc.RpcError) as waited:
            stub.ListPresets(pb.ListPresetsRequest(), timeout=1.0)
        assert waited.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        held = stub.ListPresets.future(pb.ListPresetsRequest(), timeout=60)
        watch.cancel()
        assert held.result().presets  # sent once the watch's stream was free
    assert running.in_flight == 0


@contextlib.contextmanager
def _single_slot_advisor(
    serve: Callable[..., RunningServer], kind: str
) -> Iterator[tuple[DirectAdvisor | LiveAdvisor, Callable[[], int], grpc.Channel | None]]:
    """One advisor slot: the servicer called directly, or a live server with the ``kind`` executor.

    Yields the advisor, its count of calls in flight and, for a live server, its channel.
    """
    if kind == "direct":
        direct = DirectAdvisor(workers=1)
        yield direct, direct.in_flight, None
        return
    running = serve(workers=1, executor=kind)
    with grpc.insecure_channel(running.address) as channel:
        yield LiveAdvisor(channel), lambda: running.in_flight, channel


# The servicer called directly has no executor: one case of its own, not one per executor.
@pytest.mark.parametrize("kind", ["direct", *EXECUTORS])
def test_a_saturated_server_refuses_at_once_and_health_still_answers(
    serve: Callable[..., RunningServer], kind: str
) -> None:
    # A request missing a message it requires is told so, not that the slots are busy: a flood
    # of them, refused only once a slot was free, kept valid calls out (RESOURCE_EXHAUSTED).
    missing = [
        ("Recommend", pb.RecommendRequest(budget=quick_budget()), "task", "Task"),
        ("Recommend", pb.RecommendRequest(task=LONG_TASK), "budget", "Budget"),
        ("Analyze", pb.AnalyzeRequest(task=LONG_TASK), "architecture", "Architecture"),
        ("InferTask", pb.InferTaskRequest(), "graph", "DependenceGraph"),
    ]
    with _single_slot_advisor(serve, kind) as (advisor, in_flight, channel):
        busy = threading.Thread(
            target=advisor.unary,
            args=("Recommend", pb.RecommendRequest(task=LONG_TASK, budget=long_budget(3.0))),
        )
        busy.start()
        try:
            wait_until(lambda: in_flight() == 1)
            started = time.monotonic()
            with pytest.raises(CallError) as failure:
                advisor.unary("ListPresets", pb.ListPresetsRequest())
            assert failure.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
            # Refused, not queued behind the 3 s search (a bound a loaded machine keeps).
            assert time.monotonic() - started < 1.5
            for method, request, field, kind_name in missing:
                with pytest.raises(CallError) as refused:
                    advisor.unary(method, request)
                assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT, method
                assert refused.value.violations == [
                    (field, f"is required: the request has no {kind_name}")
                ]
            with pytest.raises(CallError) as refused:
                advisor.stream(pb.StreamRecommendRequest(budget=quick_budget()))
            assert refused.value.violations == [("task", "is required: the request has no Task")]
            if channel is not None:  # still within the search: the slot is busy, health is not
                assert _health(channel) == SERVING
        finally:
            busy.join()


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_cancelled_search_frees_its_slot_promptly(
    serve: Callable[..., RunningServer], executor: str
) -> None:
    running = serve(workers=1, executor=executor)
    with grpc.insecure_channel(running.address) as channel:
        advisor = LiveAdvisor(channel)
        call: grpc.Future[pb.RecommendResponse] = advisor.stub.Recommend.future(
            pb.RecommendRequest(task=LONG_TASK, budget=long_budget(30.0))
        )
        wait_until(lambda: running.in_flight == 1)
        assert _health(channel) == SERVING  # answered from the reserve while the slot is busy
        cancelled_at = time.monotonic()
        call.cancel()
        wait_until(lambda: running.in_flight == 0, timeout=5.0)
        # Freed long before the search's 30 s limit (a bound a loaded machine keeps).
        assert time.monotonic() - cancelled_at < 5.0
        assert advisor.unary("ListPresets", pb.ListPresetsRequest()).presets


def test_a_cancelled_stream_stops_its_search() -> None:
    direct = DirectAdvisor(workers=1)
    context = ThreadContext()
    stream = direct.servicer.StreamRecommend(
        pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget(30.0)), context
    )
    next(stream)  # the first progress event: the search is running
    context.end()
    started = time.monotonic()
    remaining = list(stream)
    assert time.monotonic() - started < 5.0  # long before the search's 30 s limit
    assert remaining[-1].WhichOneof("event") == "result"
    assert direct.admission.in_flight == 0


# ---------------------------------------------------------------------------------------------
# Graceful stop


@pytest.mark.parametrize("executor", EXECUTORS)
def test_stop_drains_in_flight_calls_and_refuses_new_ones(
    serve: Callable[..., RunningServer], executor: str
) -> None:
    running = serve(workers=2, executor=executor)
    with grpc.insecure_channel(running.address) as channel:
        advisor = LiveAdvisor(channel)
        call: grpc.Future[pb.RecommendResponse] = advisor.stub.Recommend.future(
            pb.RecommendRequest(task=LONG_TASK, budget=long_budget(30.0))
        )
        wait_until(lambda: running.in_flight == 1)
        stopper = threading.Thread(target=running.stop, kwargs={"grace": 1.5})
        stopper.start()
        wait_until(lambda: _health(channel) == NOT_SERVING)
        with pytest.raises(CallError) as refused:
            advisor.unary("ListPresets", pb.ListPresetsRequest())
        assert refused.value.code is grpc.StatusCode.UNAVAILABLE
        result = call.result(timeout=5).result  # finished inside the grace period
        assert not result.complete
        assert result.recommendations
        # Said to be cut by the shutdown: "a longer time limit returns them" was false advice.
        for recommendation in result.recommendations:
            assert "stopped early by the server's shutdown" in recommendation.rationale
            assert "a longer time limit" not in recommendation.rationale
        stopper.join(timeout=5)
        assert running.wait(timeout=0)


def test_with_katib_both_endpoints_drain_from_the_signal_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each endpoint has its own admission; record when each begins its drain and when the
    # advisor's stop begins waiting out its calls (up to the grace period). Katib's drain began
    # only after that wait, so the process could take twice the grace period to end.
    events: list[tuple[str, Admission]] = []
    begin_shutdown, wait_idle = Admission.begin_shutdown, Admission.wait_idle

    def begin_recorded(admission: Admission, grace_seconds: float) -> None:
        events.append(("drain", admission))
        begin_shutdown(admission, grace_seconds)

    def wait_recorded(admission: Admission, timeout_seconds: float | None) -> bool:
        events.append(("wait", admission))
        return wait_idle(admission, timeout_seconds)

    def announce_then_signal(running: RunningServer) -> None:
        announce(running)
        os.kill(os.getpid(), signal.SIGTERM)  # handled by serve_forever, as a supervisor's

    announce = command._announce
    monkeypatch.setattr(Admission, "begin_shutdown", begin_recorded)
    monkeypatch.setattr(Admission, "wait_idle", wait_recorded)
    monkeypatch.setattr(command, "_announce", announce_then_signal)
    monkeypatch.setattr(server_module, "freeze_long_lived_objects", lambda: None)  # test heap
    argv = ["--port", "0", "--katib-port", "0", "--executor", "threads", "--workers", "1"]
    assert serve_main([*argv, "--grace", "30"]) == 0

    assert "katib suggestion service on 127.0.0.1:" in capsys.readouterr().out
    first_wait = [what for what, _ in events].index("wait")
    drained = {id(admission) for what, admission in events[:first_wait] if what == "drain"}
    assert len(drained) == 2, "both endpoints drain before the advisor waits for its calls"


def test_the_start_up_log_states_the_worker_processes_settings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A --worker-max-memory (or --worker-niceness) was in force with no line saying so.
    config = server_module.ServerConfig(workers=1, worker_niceness=3, worker_max_memory_mib=300)
    with caplog.at_level("INFO", logger=server_module.__name__), server_module.start_server(config):
        pass
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("serving ")]
    assert line.endswith("workers=1 processes, worker_niceness=3, worker_max_memory_mib=300)")


def test_the_start_up_log_states_the_limits_in_force(caplog: pytest.LogCaptureFixture) -> None:
    limits = RequestLimits(max_top_k=3, max_time_limit_seconds=5.0)
    with (
        caplog.at_level("INFO", logger=server_module.__name__),
        server_module.start_server(
            server_module.ServerConfig(workers=1, executor="threads", limits=limits)
        ),
    ):
        pass
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("request limits")]
    stated = dict(item.split("=") for item in line.removeprefix("request limits: ").split(", "))
    assert stated["max_top_k"] == "3" and stated["max_time_limit_seconds"] == "5.0"
    assert set(stated) == set(RequestLimits.model_fields)


@pytest.mark.parametrize(
    ("host", "reaches"),
    [
        ("0.0.0.0", True),
        ("::", True),
        ("[::]", True),
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("localhost", False),
        ("::1", False),
        ("[::1]", False),
        ("::ffff:127.0.0.1", False),
        ("unix:advisor.sock", False),
        ("unix-abstract:advisor", False),
    ],
)
def test_only_a_loopback_interface_or_a_socket_keeps_other_machines_out(
    host: str, reaches: bool
) -> None:
    assert reaches_other_machines(host) is reaches


_TLS = ("--tls-cert", "CERT", "--tls-key", "KEY")


@pytest.mark.parametrize(
    ("options", "warned"),
    [
        (("--token-file", "TOKEN", "--katib-host", "0.0.0.0"), "a token"),
        ((*_TLS, "--katib-host", "0.0.0.0"), "TLS"),
        (("--token-file", "TOKEN", *_TLS, "--host", "0.0.0.0"), "a token and TLS"),
        (("--token-file", "TOKEN", "--katib-host", "127.0.0.1"), None),
        (("--katib-host", "0.0.0.0"), None),  # nothing on the advisor's port to mistake
    ],
)
def test_katibs_open_port_beside_a_token_or_tls_is_warned_of(
    options: tuple[str, ...],
    warned: str | None,
    certificates: Certificates,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # `advisor serve --host 0.0.0.0 --token-file t --katib-port 6789` served GetSuggestions (a
    # search per call) to anyone who could reach the port without a word, while the operator
    # could believe the token guarded the server.
    token = tmp_path / "token"
    token.write_text("secret-token\n")
    token.chmod(0o600)
    files = {
        "TOKEN": token,
        "CERT": certificates.server_cert,
        "KEY": certificates.server_key,
    }
    monkeypatch.setattr(command, "_announce", lambda _: os.kill(os.getpid(), signal.SIGTERM))
    monkeypatch.setattr(server_module, "freeze_long_lived_objects", lambda: None)  # test heap
    argv = ["--port", "0", "--katib-port", "0", "--executor", "threads", "--workers", "1"]
    argv += [str(files.get(o, o)) for o in options]
    with caplog.at_level(logging.WARNING, logger=command.__name__):
        assert serve_main([*argv, "--grace", "0"]) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == command.__name__]
    if warned is None:
        assert lines == []
        return
    [line] = lines
    assert line.startswith(f"the advisor's port requires {warned}, but Katib's endpoint on ")
    assert "0.0.0.0:" in line and "takes no credentials" in line
    assert "--katib-host" in line and "127.0.0.1" in line
