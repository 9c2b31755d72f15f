"""The server's log in the form a pipeline reads: ``ADVISOR_LOG_FORMAT=json``, one object a line."""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from advisor_client.client import AdvisorClient
from grpc_health.v1 import health_pb2, health_pb2_grpc

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.service import server as server_module
from advisor.service.command import main as serve_main
from advisor.service.limits import RequestLimits
from advisor.service.logs import FIELDS, LOG_FORMAT_VARIABLE, LOG_LEVEL_VARIABLE, JsonFormatter
from advisor.service.options import BAD_OPTION_EXIT_STATUS, START_FAILED_EXIT_STATUS
from advisor.service.request_ids import INCOMING_REQUEST_ID_KEY
from advisor.service.server import RunningServer
from advisor.service.worker_link import ControlBlock, Job, Setup, encode_frame
from tests.support.certificates import make_certificates
from tests.support.harness import LiveAdvisor
from tests.support.named_search import start_named_search
from tests.support.server_process import ROOT, ServerProcess
from tests.support.workloads import quick_budget, small_task


def test_a_json_record_is_one_line_with_its_fields_and_its_traceback() -> None:
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("advisor.x", logging.ERROR, __file__, 1, "a %s", ("b",), exc_info)
    setattr(record, FIELDS, {"method": "/m", "request_id": None})
    line = JsonFormatter(worker_pid=7).format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "advisor.x"
    assert entry["message"] == "a b"
    assert entry["worker_pid"] == 7
    assert (entry["method"], entry["request_id"]) == ("/m", None)
    assert (
        entry["exception"].startswith("Traceback")
        and "ZeroDivisionError: boom" in entry["exception"]
    )
    assert entry["time"].endswith("+00:00")


def test_a_worker_process_logs_json_when_the_environment_asks() -> None:
    # Workers configure their own logging: the variable reaches them with the environment.
    code = (
        "import logging; from advisor.service.logs import configure_logging; "
        "configure_logging(worker_pid=7); logging.getLogger('advisor.w').info('ready')"
    )
    env = {"PATH": "", "PYTHONPATH": str(ROOT), LOG_FORMAT_VARIABLE: "JSON"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    entry = json.loads(done.stderr)
    assert (entry["logger"], entry["message"], entry["worker_pid"]) == ("advisor.w", "ready", 7)


@pytest.mark.parametrize(("zone", "offset"), [("UTC0", "+00:00"), ("CET-1", "+01:00")])
def test_a_text_line_says_its_time_with_its_offset_from_utc(zone: str, offset: str) -> None:
    # "2026-12-04 16:40:02,118" named no zone: the lines of servers in two zones, or a server's
    # and its clients', could not be put in one order.
    code = (
        "import logging, time; from advisor.service.logs import configure_logging; "
        "configure_logging(worker_pid=7); print(time.time(), flush=True); "
        "logging.getLogger('advisor.w').warning('ready')"
    )
    env = {"PATH": "", "PYTHONPATH": str(ROOT), "TZ": zone}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    stamp, rest = done.stderr.strip().split(" ", 1)
    assert rest == "WARNING advisor.w [worker 7]: ready"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", stamp), stamp
    assert stamp.endswith(offset)
    logged = datetime.datetime.fromisoformat(stamp).timestamp()
    assert -0.001 <= logged - float(done.stdout) < 5.0  # milliseconds, truncated


def test_debug_shows_the_advisors_debug_lines_not_grpcs_own() -> None:
    # ADVISOR_LOG_LEVEL=DEBUG, asked to see the health checks' access lines, also printed gRPC's
    # Python debug lines, about one per call ("Loaded running loop").
    code = (
        "import logging; from advisor.service.logs import configure_logging; configure_logging(); "
        "logging.getLogger('grpc._cython.cygrpc').debug('noise'); "
        "logging.getLogger('grpc._server').info('grpc news'); "
        "logging.getLogger('advisor.access').debug('kept')"
    )
    env = {"PATH": "", "PYTHONPATH": str(ROOT), LOG_LEVEL_VARIABLE: "debug"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert [line.rsplit(": ", 1)[-1] for line in done.stderr.splitlines()] == ["grpc news", "kept"]


def test_a_server_logs_every_line_as_json_with_the_access_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(LOG_FORMAT_VARIABLE, "json")
    with ServerProcess("--workers", "1", "--grace", "1") as server:
        with grpc.insecure_channel(server.address) as channel:
            advisor = LiveAdvisor(channel)
            request = pb.RecommendRequest(task=small_task(), budget=quick_budget(), search_id="j")
            advisor.stub.Recommend(request, metadata=((INCOMING_REQUEST_ID_KEY, "r-1"),))
        server.terminate()
        assert server.wait(30) == 0, server.log()
        entries = [json.loads(line) for line in server.log().splitlines()]
    assert [e["message"] for e in entries if e["logger"] == "advisor.service.server"][-1] == (
        "stopped"
    )
    [access] = [e for e in entries if e["logger"] == "advisor.access"]
    assert access["method"] == "/advisor.v1.ArchitectureAdvisor/Recommend"
    assert (access["status"], access["search_id"], access["request_id"]) == ("OK", "j", "r-1")
    assert access["peer"].startswith("ipv4:127.0.0.1:")
    assert isinstance(access["seconds"], float)


def test_a_plaintext_client_on_a_tls_port_leaves_a_json_log_of_json_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # With GRPC_VERBOSITY unset, gRPC's C core wrote "I... ssl_transport_security.cc ...
    # Handshake failed" as a text line into the JSON log at every plaintext probe of the TLS
    # port (a load balancer's, a scanner's), though docs/SERVICE.md promised gRPC's ERROR.
    monkeypatch.delenv("GRPC_VERBOSITY", raising=False)
    monkeypatch.setenv(LOG_FORMAT_VARIABLE, "json")
    certificates = make_certificates(tmp_path)
    tls = ("--tls-cert", str(certificates.server_cert), "--tls-key", str(certificates.server_key))
    with ServerProcess("--workers", "1", "--executor", "threads", *tls) as server:
        with grpc.insecure_channel(server.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            with pytest.raises(grpc.RpcError):
                stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        server.terminate()
        assert server.wait(30) == 0, server.log()
        lines = server.log().splitlines()
    assert [json.loads(line)["message"] for line in lines][-1] == "stopped"


def test_a_log_format_the_server_does_not_write_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(LOG_FORMAT_VARIABLE, "xml")
    assert serve_main(["--executor", "threads"]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: ADVISOR_LOG_FORMAT: invalid value 'xml' "
        "(choose from text, json, in any case)\n"
    )


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        ("debug", ["DEBUG", "INFO", "WARNING"]),
        ("", ["INFO", "WARNING"]),
        ("Warning", ["WARNING"]),
        ("bogus", ["INFO", "WARNING"]),  # a worker's reading; the commands refuse it first
    ],
)
def test_the_log_level_variable_sets_the_least_level_logged(level: str, shown: list[str]) -> None:
    # The health checks' access lines are logged at DEBUG, and nothing could show them.
    code = (
        "import logging; from advisor.service.logs import configure_logging; "
        "configure_logging(worker_pid=7); log = logging.getLogger('advisor.access'); "
        "log.debug('d'); log.info('i'); log.warning('w')"
    )
    env = {"PATH": "", "PYTHONPATH": str(ROOT), LOG_FORMAT_VARIABLE: "json"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, LOG_LEVEL_VARIABLE: level},
        capture_output=True,
        text=True,
        check=True,
    )
    assert [json.loads(line)["level"] for line in done.stderr.splitlines()] == shown


def test_bad_log_variables_are_refused_each_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(LOG_FORMAT_VARIABLE, "xml")
    monkeypatch.setenv(LOG_LEVEL_VARIABLE, "verbose")
    assert serve_main(["--executor", "threads"]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: ADVISOR_LOG_FORMAT: invalid value 'xml' (choose from text, json, "
        "in any case); ADVISOR_LOG_LEVEL: invalid value 'verbose' (choose from DEBUG, INFO, "
        "WARNING, ERROR, in any case)\n"
    )


def _failed_start(
    command: list[str], *options: str, grpc_verbosity: str = "NONE"
) -> tuple[int, str, str]:
    """Return the exit status, stdout and stderr of ``command *options`` with a JSON log.

    gRPC's own lines silenced (``grpc_verbosity``), as the JSON log's section says to.
    """
    done = subprocess.run(
        [sys.executable, *command, "--executor", "threads", *options],
        env={**os.environ, LOG_FORMAT_VARIABLE: "json", "GRPC_VERBOSITY": grpc_verbosity},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("command", [[str(ROOT / "server.py")], ["-m", "advisor", "serve"]])
def test_a_start_that_fails_under_a_json_log_says_why_in_one_json_record(
    command: list[str], tmp_path: Path
) -> None:
    # A port in use, an unusable TLS file, a refused setting: each was a text line among the
    # JSON ones, so the reason of a crash-looping pod never reached the pipeline as a record.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cases = [
            (("--port", str(port)), START_FAILED_EXIT_STATUS, "--host/--port: cannot bind"),
            (("--workers", "0"), BAD_OPTION_EXIT_STATUS, "--workers: "),
            (
                ("--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(tmp_path / "k.pem")),
                START_FAILED_EXIT_STATUS,
                "--tls-cert: cannot read",
            ),
            # The option parser's own refusals: a value not of its type, an option not taken.
            (("--workers", "two"), BAD_OPTION_EXIT_STATUS, "--workers: invalid value 'two'"),
            (("--wrokers", "2"), BAD_OPTION_EXIT_STATUS, "unrecognized arguments: --wrokers"),
        ]
        for options, status, start in cases:
            returned, stdout, stderr = _failed_start(command, *options)
            assert (returned, stdout) == (status, ""), stderr
            [entry] = [json.loads(line) for line in stderr.splitlines()]
            assert (entry["level"], entry["exit_status"]) == ("ERROR", status)
            assert entry["message"].startswith(start), entry
            assert {"time", "logger", "pid"} <= entry.keys()


@pytest.mark.parametrize(
    ("command", "verbosity"),
    [([str(ROOT / "server.py")], "ERROR"), (["-m", "advisor", "serve"], "NONE")],
)
def test_a_grpc_verbosity_warning_under_a_json_log_is_a_json_record(
    command: list[str], verbosity: str
) -> None:
    # It was the one text line of a JSON log, "advisor: warning: GRPC_VERBOSITY: ...". Each
    # command takes its own default in its place (docs/CLI.md, "Errors and exit status").
    returned, _, stderr = _failed_start(command, "--workers", "0", grpc_verbosity="bogus")
    assert returned == BAD_OPTION_EXIT_STATUS, stderr
    warning, error = [json.loads(line) for line in stderr.splitlines()]
    assert warning["level"] == "WARNING", warning
    assert warning["message"] == (
        "GRPC_VERBOSITY: invalid value 'bogus' (choose from DEBUG, INFO, ERROR, NONE, in any "
        f"case); ignored: gRPC logs at {verbosity}, as when it is unset"
    )
    assert (error["level"], error["exit_status"]) == ("ERROR", BAD_OPTION_EXIT_STATUS)


def test_the_drain_says_how_many_calls_it_waits_for_and_how_long(
    serve: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    # On SIGTERM the log said "received SIGTERM; draining" and then nothing until "stopped":
    # not whether any call was cut short, nor how long the stop could take.
    running = serve(workers=1, executor="threads")
    with AdvisorClient(running.address) as client:
        thread, _ = start_named_search(client, running, "drained")
        with caplog.at_level(logging.INFO, logger=server_module.__name__):
            running.stop(0.5)
        thread.join()
    messages = [r.getMessage() for r in caplog.records if r.name == server_module.__name__]
    assert messages[0] == (
        "draining 1 call in flight for up to 0.5 s; new calls are refused UNAVAILABLE"
    )
    # With none in flight the server stops at once: "draining 0 call(s) in flight for up to
    # 10 s" read as a wait.
    idle = serve(workers=1, executor="threads")
    with caplog.at_level(logging.INFO, logger=server_module.__name__):
        idle.stop(10.0)
    said = [r.getMessage() for r in caplog.records if r.name == server_module.__name__]
    assert "draining: no call in flight, stopping now; new calls are refused UNAVAILABLE" in said


_LOGGING_WORKER = """
import logging, sys
from advisor.service import worker
from advisor.service.servicer import AdvisorServicer

listed = AdvisorServicer.ListPresets

def logging_list(self, request, context):
    logging.getLogger("advisor.test").info("listing")
    return listed(self, request, context)

AdvisorServicer.ListPresets = logging_list
sys.exit(worker.main())
"""


@pytest.mark.parametrize("form", ["text", "json"])
def test_a_workers_lines_about_a_call_name_its_request_id(form: str) -> None:
    # A worker's lines named only the worker: which call a line was about took the time of day.
    control = ControlBlock.create()
    job = Job(1, "ListPresets", pb.ListPresetsRequest().SerializeToString(), math.inf, "r-9")
    frames = encode_frame(Setup(RequestLimits().model_dump_json(), 0)) + encode_frame(job)
    env = {"PATH": "", "PYTHONPATH": str(ROOT), LOG_FORMAT_VARIABLE: form}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _LOGGING_WORKER, str(control.fd), str(os.getpid())],
            input=frames,
            env=env,
            capture_output=True,
            pass_fds=(control.fd,),
            timeout=120,
            check=True,
        )
    finally:
        control.close()
    [line] = [line for line in done.stderr.decode().splitlines() if "listing" in line]
    if form == "json":
        entry = json.loads(line)
        assert (entry["logger"], entry["request_id"]) == ("advisor.test", "r-9")
    else:
        assert re.search(r" advisor\.test \[worker \d+\] \[request r-9\]: listing$", line), line
