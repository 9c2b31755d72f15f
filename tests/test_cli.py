"""The ``advisor`` command, run in a subprocess as a user runs it.

Each format must parse and carry the contract fields, a recommended architecture must feed back
into ``advisor analyze``, failures must be one line with the right exit status, and the command
must work both with its embedded server and against a server given by ``--target``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from advisor.cli.format import render_search_result
from advisor.cli.main import main
from advisor.cli.options import ExitCode
from advisor.cli.progress import ProgressBar, progress_bar_for
from advisor.model.architecture import parse_architecture
from advisor.model.budget import Budget
from advisor.model.results import SearchProgress
from advisor.model.task import parse_task
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.search.recommend import recommend
from advisor.service.server import ServerConfig, start_server
from tests.support.certificates import make_certificates

REPO = Path(__file__).resolve().parent.parent
TASK = {
    "input": {"shape": [4, 4]},
    "correlations": [
        {"name": "left-right", "a": {"box": {"start": [0, 0], "stop": [4, 2]}}},
        {"name": "corner", "a": {"indices": [0]}, "b": {"indices": [15]}, "weight": 0.5},
    ],
}
SEARCH = ["--budget", "2000", "--top", "2", "--time-limit", "3"]
RECOMMENDATION_FIELDS = {"rank", "score", "parameters", "architecture", "analysis", "rationale"}
ANALYSIS_FIELDS = {"name", "log2_separation_rank", "log2_max_rank", "certificate"}
TOKEN = "cli-test-token"


def advisor(*args: str | Path, stderr_tty: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "advisor.cli.main", *map(str, args)]
    if stderr_tty:
        return _run_with_tty_stderr(command)
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


def _run_with_tty_stderr(command: list[str]) -> subprocess.CompletedProcess[str]:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=terminal, text=True
    )
    os.close(terminal)
    chunks = []
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        try:
            chunk = os.read(controller, 4096) if ready else b""
        except OSError:  # the terminal closes when the process exits
            chunk = b""
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    stdout, _ = process.communicate(timeout=60)
    stderr = b"".join(chunks).decode()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def assert_one_error_line(result: subprocess.CompletedProcess[str], code: ExitCode) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("advisor: error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def task_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("files") / "task.yaml"
    path.write_text(yaml.safe_dump(TASK))
    return path


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with start_server(ServerConfig(workers=2, token=TOKEN)) as running:
        yield running.address


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture(scope="module")
def yaml_result(task_file: Path, target: str, token_file: Path) -> dict[str, Any]:
    result = advisor(
        "recommend", task_file, *SEARCH, "--format", "yaml",
        "--target", target, "--token-file", token_file,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "no progress bar when stderr is not a terminal"
    document: dict[str, Any] = yaml.safe_load(result.stdout)
    return document


def test_recommend_yaml_has_the_contract_fields(yaml_result: dict[str, Any]) -> None:
    assert {"recommendations", "candidates_evaluated", "search_seconds", "complete"} <= set(
        yaml_result
    )
    recommendations = yaml_result["recommendations"]
    assert [r["rank"] for r in recommendations] == list(range(1, len(recommendations) + 1))
    for recommendation in recommendations:
        assert set(recommendation) >= RECOMMENDATION_FIELDS
        assert recommendation["parameters"] <= 2000
        assert {"permutation"} == set(recommendation["architecture"]["geometry"])
        assert recommendation["architecture"]["family"]
        assert [c["name"] for c in recommendation["analysis"]] == ["left-right", "corner"]
        assert all(set(c) >= ANALYSIS_FIELDS for c in recommendation["analysis"])


def test_a_recommended_architecture_feeds_analyze(
    yaml_result: dict[str, Any], task_file: Path, target: str, token_file: Path, tmp_path: Path
) -> None:
    best = yaml_result["recommendations"][0]
    arch_file = tmp_path / "best.yaml"
    arch_file.write_text(yaml.safe_dump(best["architecture"]))
    result = advisor(
        "analyze", task_file, "--arch", arch_file, "--format", "json",
        "--target", target, "--token-file", token_file,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    analysis = json.loads(result.stdout)
    assert analysis["parameters"] == best["parameters"]
    ranks = {c["name"]: c["log2_separation_rank"] for c in analysis["correlations"]}
    assert ranks == {c["name"]: c["log2_separation_rank"] for c in best["analysis"]}


def test_embedded_default_recommends_in_json(task_file: Path) -> None:
    result = advisor("recommend", task_file, *SEARCH, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["recommendations"]
    assert set(document["recommendations"][0]) >= RECOMMENDATION_FIELDS


def test_table_is_a_ranked_list_for_people(task_file: Path) -> None:
    result = advisor("recommend", task_file, *SEARCH)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "candidates" in lines[0]
    assert any(line.startswith("#1  ") for line in lines)
    assert any("left-right" in line and "corner" not in line for line in lines)
    assert any(line.strip().startswith("why: ") for line in lines)


def test_progress_bar_only_on_a_terminal(task_file: Path) -> None:
    result = advisor("recommend", task_file, *SEARCH, "--format", "json", stderr_tty=True)
    assert result.returncode == 0, result.stderr
    assert "searching [" in result.stderr
    assert json.loads(result.stdout)["recommendations"]


def test_presets_in_every_format(
    target: str, token_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    connection = ["--target", target, "--token-file", str(token_file)]
    as_json = advisor("presets", "--format", "json", *connection)
    assert as_json.returncode == 0, as_json.stderr
    presets = json.loads(as_json.stdout)["presets"]
    assert {p["kind"] for p in presets} <= {"region", "task"}
    assert main(["presets", "--format", "yaml", *connection]) == ExitCode.OK
    assert yaml.safe_load(capsys.readouterr().out)["presets"] == presets
    assert main(["presets", *connection]) == ExitCode.OK
    table = capsys.readouterr().out
    assert all(p["name"] in table and p["description"].split("\n")[0] in table for p in presets)


def test_bad_task_file_is_exit_2_with_the_field_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {"input": {"shape": [16, 16]}, "correlations": [{"name": "x", "a": {"indices": [300]}}]}
        )
    )
    line = assert_one_error_line(
        advisor("recommend", bad, "--budget", "1000"), ExitCode.INVALID_ARGUMENT
    )
    assert "task.correlations[0].a.indices" in line


def test_bad_option_names_the_option(task_file: Path) -> None:
    line = assert_one_error_line(
        advisor("recommend", task_file, "--budget", "0"), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: --budget: ")


def test_usage_errors_are_exit_2(task_file: Path) -> None:
    result = advisor("recommend", task_file)
    assert result.returncode == ExitCode.INVALID_ARGUMENT
    assert "--budget" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_target_is_exit_5(task_file: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = assert_one_error_line(
        advisor("presets", "--target", f"127.0.0.1:{port}", "--timeout", "5"),
        ExitCode.UNAVAILABLE,
    )
    assert "UNAVAILABLE" in line


def test_wrong_token_is_exit_3(target: str, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token")
    assert_one_error_line(
        advisor("presets", "--target", target, "--token-file", wrong), ExitCode.UNAUTHENTICATED
    )


def test_help_lists_the_exit_codes() -> None:
    result = advisor("--help")
    assert result.returncode == 0
    assert "exit status" in result.stdout and "RESOURCE_EXHAUSTED" in result.stdout


def test_serve_until_sigterm(token_file: Path) -> None:
    command = [sys.executable, "-m", "advisor.cli.main", "serve", "--port", "0", "--token-file"]
    with subprocess.Popen(
        [*command, str(token_file)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            announced = server.stdout.readline().split()
            assert announced[:2] == ["listening", "on"], announced
            presets = advisor("presets", "--target", announced[2], "--token-file", token_file)
            assert presets.returncode == 0, presets.stderr
        finally:
            server.send_signal(signal.SIGTERM)
            _, log = server.communicate(timeout=30)
    assert server.returncode == 0, log
    assert "Traceback" not in log


# --- rendering, in-process ---------------------------------------------------------------------


def test_json_and_yaml_documents_agree_and_their_architectures_parse_back() -> None:
    result = recommend(parse_task(TASK), Budget(max_parameters=2000, top_k=2, time_limit_seconds=3))
    as_yaml = yaml.safe_load(render_search_result(result, "yaml"))
    assert json.loads(render_search_result(result, "json")) == as_yaml
    documents = as_yaml["recommendations"]
    for recommendation, document in zip(result.recommendations, documents, strict=True):
        assert parse_architecture(document["architecture"]) == recommendation.architecture


def test_progress_bar_redraws_one_line_then_erases_it() -> None:
    stream = io.StringIO()
    with ProgressBar(stream, width=10) as bar:
        bar.update(SearchProgress(5, 1.25, None, 0.5))
        bar.update(SearchProgress(1200, 2.5, 0.75, 1.0))
    text = stream.getvalue()
    assert "searching [#####.....]  50%  5 candidates  1.2 s  best -" in text
    assert "searching [##########] 100%  1,200 candidates  2.5 s  best 0.75" in text
    assert "\n" not in text and text.endswith("\r")
    assert progress_bar_for(io.StringIO()) is None


# --- exit codes and connection options, in-process ---------------------------------------------


@contextlib.contextmanager
def presets_server(answer: Callable[[bytes, grpc.ServicerContext], bytes]) -> Iterator[str]:
    """Serve ``ListPresets`` by ``answer`` (raw bytes in and out) on 127.0.0.1; yield its target."""
    service = advisor_pb2.DESCRIPTOR.services_by_name["ArchitectureAdvisor"].full_name
    handler = grpc.method_handlers_generic_handler(
        service, {"ListPresets": grpc.unary_unary_rpc_method_handler(answer)}
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=2), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, ExitCode.INVALID_ARGUMENT),
        (grpc.StatusCode.UNAUTHENTICATED, ExitCode.UNAUTHENTICATED),
        (grpc.StatusCode.DEADLINE_EXCEEDED, ExitCode.DEADLINE_EXCEEDED),
        (grpc.StatusCode.UNAVAILABLE, ExitCode.UNAVAILABLE),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ExitCode.RESOURCE_EXHAUSTED),
        (grpc.StatusCode.INTERNAL, ExitCode.OTHER),
    ],
)
def test_each_status_has_its_exit_code(
    code: grpc.StatusCode, exit_code: ExitCode, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort(code, "scripted refusal")

    with presets_server(refuse) as target:
        assert main(["presets", "--target", target]) == exit_code
    assert capsys.readouterr().err == f"advisor: error: {code.name}: scripted refusal\n"


def test_timeout_option_sets_the_deadline(capsys: pytest.CaptureFixture[str]) -> None:
    def dawdle(request: bytes, context: grpc.ServicerContext) -> bytes:
        time.sleep(1.0)
        return b""

    with presets_server(dawdle) as target:
        started = time.monotonic()
        status = main(["presets", "--target", target, "--timeout", "0.2"])
        elapsed = time.monotonic() - started
    assert status == ExitCode.DEADLINE_EXCEEDED, capsys.readouterr().err
    assert elapsed < 1.0, "the call gave up at its deadline, before the server answered"


def test_connection_options_need_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets", "--tls-ca", "ca.pem"]) == ExitCode.INVALID_ARGUMENT
    assert capsys.readouterr().err.startswith(
        "advisor: error: --tls-ca: applies only with --target"
    )


def test_mutual_tls_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pem = make_certificates(tmp_path)
    config = ServerConfig(
        host="localhost",
        workers=1,
        tls_cert=pem.server_cert,
        tls_key=pem.server_key,
        tls_client_ca=pem.ca,
    )
    with start_server(config) as running:
        tls = ["--tls-ca", str(pem.ca), "--tls-client-cert", str(pem.client_cert)]
        key = ["--tls-client-key", str(pem.client_key)]
        status = main(["presets", "--format", "json", "--target", running.address, *tls, *key])
        assert status == ExitCode.OK, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)["presets"]
        unknown_ca = main(["presets", "--target", running.address, "--tls-ca", str(pem.ca)])
        assert unknown_ca == ExitCode.UNAVAILABLE, "no client certificate: the handshake fails"
