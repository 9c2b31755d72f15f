"""Inputs gRPC cannot carry: a token it cannot send, a deadline it cannot hold, a number too large.

Each was accepted and then failed far from its cause: a two-line token file started a server no
client could call (``INTERNAL: Invalid metadata`` on every call), a huge ``--time-limit`` or
``--timeout`` overflowed the call's deadline into an instant ``DEADLINE_EXCEEDED``, and a channel
count past 2^31 - 1 was refused without its field path. Now each is refused up front, exit status
2, naming the option or field to fix.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from advisor_client import AdvisorClient, InvalidRequestError

from advisor.cli.main import build_parser
from advisor.cli.options import BUDGET_OPTIONS, ExitCode
from advisor.model.budget import FAMILIES
from advisor.protocol.metadata import MAX_TOKEN_CHARS, token_problem
from advisor.service.auth import BearerTokenInterceptor
from advisor.service.command import config_from_arguments
from advisor.service.server import ServerConfig, start_server
from tests.support.scripted import BUDGET, TASK, ScriptedAdvisor, scripted_server
from tests.test_cli import advisor, assert_one_error_line

UNSENDABLE_TOKENS = {
    "two lines": "secret123\nextra\n",
    "non-ASCII": "sécret\n",
    "a tab inside": "sec\tret\n",
    "DEL": "secret\x7f\n",
}
"""Token files whose token gRPC cannot send as a metadata value (0x20-0x7E only)."""

ARCHITECTURE = {
    "input": {"shape": [8]},
    "representation": 2,
    "layers": [{"channels": 2, "pool": [2]}, {"channels": 4, "pool": [4]}],
    "outputs": 1,
}
NOWHERE = "127.0.0.1:1"
"""A target never called: every test here is refused before a call is made."""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# --- defect 1: a token gRPC cannot send --------------------------------------------------------


def test_the_token_rule_is_grpcs_metadata_value_rule() -> None:
    assert token_problem("Abc-._~+/= 0123 xyz!") is None  # printable ASCII, inner spaces
    for unsendable in ("", "a\nb", "a\rb", "sécret", "tab\there", "del\x7f", " lead", "trail "):
        assert token_problem(unsendable) is not None, repr(unsendable)


def test_a_token_read_with_its_line_break_is_told_to_strip_it() -> None:
    # AdvisorClient(token=Path("token").read_text()) was told the token "holds more than one
    # line", where it is one line and its file's line break.
    for read in ("s3cret\n", "s3cret\r\n", "\ts3cret"):
        problem = token_problem(read)
        assert problem is not None and problem.startswith("starts or ends with whitespace"), read
        assert "strip" in problem
    assert str(token_problem("a\nb")).startswith("holds more than one line")


def serve_arguments(*options: str | Path) -> argparse.Namespace:
    """Parse ``advisor serve *options``: the options :func:`config_from_arguments` reads."""
    return build_parser().parse_args(["serve", *map(str, options)])


@pytest.mark.parametrize("contents", UNSENDABLE_TOKENS.values(), ids=UNSENDABLE_TOKENS)
def test_serve_refuses_a_token_file_no_client_can_send(tmp_path: Path, contents: str) -> None:
    # Checked on the configuration: before the fix the server started, and served on.
    token_file = write(tmp_path, "token", contents)
    with pytest.raises(InvalidRequestError) as refused:
        config_from_arguments(serve_arguments("--token-file", token_file))
    assert [v.field for v in refused.value.violations] == ["token_file"]
    assert "printable ASCII" in refused.value.violations[0].description


@pytest.mark.parametrize("command", [["advisor", "serve"], ["advisor-server"]])
def test_serve_refuses_such_a_token_file_naming_the_option(
    tmp_path: Path, command: list[str]
) -> None:
    script = Path(sys.executable).with_name(command[0])
    if not script.exists():
        pytest.skip(f"no console script at {script}: the project is not installed")
    token_file = write(tmp_path, "token", UNSENDABLE_TOKENS["two lines"])
    # A server that started anyway is stopped by the timeout, failing the test.
    result = subprocess.run(
        [script, *command[1:], "--port", "0", "--token-file", token_file],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == ExitCode.INVALID_ARGUMENT, result.stderr
    assert result.stderr.startswith(f"{command[0]}: error: --token-file: ")
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_a_server_config_file_with_such_a_token_is_refused_naming_its_key(tmp_path: Path) -> None:
    token_file = write(tmp_path, "token", UNSENDABLE_TOKENS["two lines"])
    by_file = write(tmp_path, "by_file.yaml", yaml.safe_dump({"token_file": str(token_file)}))
    inline = write(tmp_path, "inline.yaml", yaml.safe_dump({"token": "sécret"}))
    for config, field in ((by_file, "config.token_file"), (inline, "config.token")):
        with pytest.raises(InvalidRequestError) as refused:
            config_from_arguments(serve_arguments("--config", config))
        assert [v.field for v in refused.value.violations] == [field]


@pytest.mark.parametrize("contents", UNSENDABLE_TOKENS.values(), ids=UNSENDABLE_TOKENS)
def test_every_client_command_refuses_such_a_token_file(tmp_path: Path, contents: str) -> None:
    token_file = write(tmp_path, "token", contents)
    task = write(tmp_path, "task.yaml", yaml.safe_dump(TASK))
    arch = write(tmp_path, "arch.yaml", yaml.safe_dump(ARCHITECTURE))
    connection = ("--target", NOWHERE, "--token-file", token_file, "--timeout", "5")
    for command in (
        ("presets",),
        ("recommend", task, "--budget", "400"),
        ("analyze", task, "--arch", arch),
    ):
        result = advisor(*command, *connection)
        line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
        assert line.startswith("advisor: error: --token-file: "), (command, line)


def test_the_python_client_refuses_such_a_token_naming_its_parameter() -> None:
    for token in ("secret123\nextra", "sécret", " padded "):
        with pytest.raises(InvalidRequestError) as refused:
            AdvisorClient(NOWHERE, token=token)
        assert [v.field for v in refused.value.violations] == ["token"]


def test_the_server_refuses_such_a_token_when_embedded_too() -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        BearerTokenInterceptor("sécret", exempt_services=())


def test_a_token_too_long_for_grpcs_metadata_is_refused(tmp_path: Path) -> None:
    # gRPC refuses a call whose metadata passes 8 KiB (RESOURCE_EXHAUSTED, a growing share of
    # the calls up to 16 KiB, every call past it): a 16,000-character token started a server
    # that refused every call, as if saturated, and one of 7,900 a call in 40 at random.
    longest = "t" * MAX_TOKEN_CHARS
    assert token_problem(longest) is None
    assert str(token_problem(longest + "t")).startswith(
        f"is {MAX_TOKEN_CHARS + 1:,} characters long: at most {MAX_TOKEN_CHARS:,}"
    )
    token_file = write(tmp_path, "token", "t" * 16_000 + "\n")
    with pytest.raises(InvalidRequestError) as refused:
        config_from_arguments(serve_arguments("--token-file", token_file))
    assert [v.field for v in refused.value.violations] == ["token_file"]
    # The longest token is sent whole, call after call.
    config = ServerConfig(port=0, workers=1, executor="threads", token=longest)
    with start_server(config) as running, AdvisorClient(running.address, token=longest) as client:
        for _ in range(20):
            assert client.list_presets()


# --- defect 2: a deadline gRPC cannot hold -----------------------------------------------------


@pytest.mark.parametrize("seconds", ["9e9", "1e10", "1e308"])
def test_a_huge_time_limit_is_refused_as_the_time_limit(tmp_path: Path, seconds: str) -> None:
    # The deadline the time limit implies overflowed first: DEADLINE_EXCEEDED, exit status 4.
    task = write(tmp_path, "task.yaml", yaml.safe_dump(TASK))
    result = advisor("recommend", task, "--budget", "400", "--time-limit", seconds)
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line.startswith("advisor: error: --time-limit: ")
    assert line.endswith(
        "exceeds the server's limit of 3,600 (max_time_limit_seconds, which no server may set "
        "above 604,800)"
    ), line


@pytest.mark.parametrize("seconds", ["1e10", "3.2e7", "inf", "nan", "0", "-1"])
def test_a_timeout_grpc_cannot_hold_is_refused_as_the_option(tmp_path: Path, seconds: str) -> None:
    task = write(tmp_path, "task.yaml", yaml.safe_dump(TASK))
    arch = write(tmp_path, "arch.yaml", yaml.safe_dump(ARCHITECTURE))
    result = advisor("analyze", task, "--arch", arch, "--timeout", seconds)
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line.startswith("advisor: error: --timeout: must be a finite positive number"), line


def test_the_python_client_refuses_such_timeouts_naming_the_parameter() -> None:
    with pytest.raises(InvalidRequestError) as default:
        AdvisorClient(NOWHERE, default_timeout=float("inf"))
    assert [v.field for v in default.value.violations] == ["default_timeout"]
    with AdvisorClient(NOWHERE) as client:
        for seconds in (1e12, float("nan")):
            with pytest.raises(InvalidRequestError) as refused:
                client.analyze(TASK, ARCHITECTURE, timeout=seconds)
            assert [v.field for v in refused.value.violations] == ["timeout"]
            assert "finite" in refused.value.violations[0].description


def test_numpy_numbers_of_seconds_are_deadlines_as_floats_are() -> None:
    # np.int64(7), from a pipeline's config, was refused on timeout while np.float64 (a float
    # subclass) was taken; a bool is still no number of seconds.
    servicer = ScriptedAdvisor()
    # Typed Any: NumPy numbers are no floats to the type checker, though the client takes them.
    twenty: Any = np.int64(20)
    seven: Any = np.int32(7)
    numpy_true: Any = np.bool_(True)
    with (
        scripted_server(servicer) as target,
        AdvisorClient(target, default_timeout=twenty) as client,
    ):
        client.list_presets()
        client.analyze(TASK, ARCHITECTURE, timeout=seven)
        with pytest.raises(InvalidRequestError) as refused:
            client.list_presets(timeout=numpy_true)
    assert [v.field for v in refused.value.violations] == ["timeout"]
    presets, analyze = servicer.time_remaining["ListPresets"], servicer.time_remaining["Analyze"]
    # gRPC's timeout header rounds a deadline up a little: bounds, not equalities.
    assert presets is not None and 10 < presets <= 21
    assert analyze is not None and 0 < analyze <= 8


def test_the_deadline_a_huge_time_limit_implies_stops_at_the_longest() -> None:
    servicer = ScriptedAdvisor()
    with scripted_server(servicer) as target, AdvisorClient(target) as client:
        client.recommend(TASK, {**BUDGET, "time_limit_seconds": 1e10})
    remaining = servicer.time_remaining["Recommend"]
    # Not an overflowed deadline (already passed), nor one past the client's longest: a year
    # (which gRPC's grpc-timeout header, 8 digits at most, carries rounded up to the hour).
    assert remaining is not None and 364 * 24 * 3600 < remaining <= 365 * 24 * 3600 + 3600


# --- defect 3: a number past its wire field ----------------------------------------------------


@pytest.mark.parametrize(
    ("arch_changes", "field"),
    [
        ({"layers": [{"channels": 3_000_000_000, "pool": [2]}, {"channels": 4, "pool": [4]}]},
         "architecture.layers[0].channels"),
        ({"representation": 3_000_000_000}, "architecture.representation"),
        ({"outputs": 99_999_999_999}, "architecture.outputs"),
    ],
)  # fmt: skip
def test_an_architecture_number_past_its_wire_field_is_named_by_its_path(
    tmp_path: Path, arch_changes: dict[str, Any], field: str
) -> None:
    task = write(tmp_path, "task.yaml", yaml.safe_dump(TASK))
    arch = write(tmp_path, "arch.yaml", yaml.safe_dump({**ARCHITECTURE, **arch_changes}))
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", arch), ExitCode.INVALID_ARGUMENT
    )
    # Refused by the architecture itself (library callers too), as a task's outputs are.
    assert line.startswith(f"advisor: error: {field}: is "), line
    assert line.endswith(f": must be at most 2,147,483,647 (from {arch})"), line
    assert "-2147483648" not in line


def test_a_task_number_past_its_wire_field_is_named_by_its_path(tmp_path: Path) -> None:
    task = write(tmp_path, "task.yaml", yaml.safe_dump({**TASK, "outputs": 99_999_999_999}))
    line = assert_one_error_line(
        advisor("recommend", task, "--budget", "400"), ExitCode.INVALID_ARGUMENT
    )
    # Refused by the task itself (library callers too), as budget.outputs is.
    assert line == (
        f"advisor: error: task.outputs: is 99,999,999,999: must be at most 2,147,483,647 (from "
        f"{task})"
    )


# --- defect 4: nits ----------------------------------------------------------------------------


def test_geometries_help_lists_every_family_a_budget_accepts() -> None:
    (geometries,) = [option for option in BUDGET_OPTIONS if option.flag == "--geometries"]
    listed = geometries.settings["help"].split("(")[0].split()
    assert set(FAMILIES) <= set(listed), listed


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda client: client.recommend(42, BUDGET), "task"),
        (lambda client: client.stream_recommend(None, BUDGET), "task"),
        (lambda client: client.analyze(TASK, 4.5), "architecture"),
        (lambda client: client.recommend(TASK, 42), "budget"),
    ],
    ids=["recommend-task", "stream-task", "analyze-architecture", "recommend-budget"],
)
def test_a_wrong_typed_argument_is_an_invalid_request_naming_it(call: Any, field: str) -> None:
    with AdvisorClient(NOWHERE) as client, pytest.raises(InvalidRequestError) as refused:
        call(client)
    assert [v.field for v in refused.value.violations] == [field]
