"""Limits that fit: a server configured from a file and options, the CLI's embedded server."""

from __future__ import annotations

import argparse
import datetime
import logging
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from advisor.cli.main import main as cli_main
from advisor.errors import InvalidRequestError, LimitExceededError
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.service import config as config_module
from advisor.service import process_pool, server
from advisor.service.command import (
    config_from_arguments,
    warn_if_a_certificate_is_not_valid,
    warn_if_the_tls_key_is_readable,
)
from advisor.service.command import main as server_main
from advisor.service.config import WORKER_PROCESS_SETTINGS
from advisor.service.limits import LOCAL_LIMITS, MIN_MESSAGE_BYTES, RequestLimits, settable
from advisor.service.options import (
    BAD_OPTION_EXIT_STATUS,
    START_FAILED_EXIT_STATUS,
    add_serve_arguments,
)
from advisor.service.process_pool import (
    SERVING_PROCESS_BYTES,
    WORKER_PEAK_BYTES,
    WORKER_PROCESS_BYTES,
)
from advisor.service.request_checks import check_recommend_request
from advisor.service.server import ServerConfig
from advisor.suggestions import did_you_mean
from advisor.validation_messages import NEWER_KEY
from advisor.words import number_text
from tests.support.certificates import make_certificates


def _config_of(*argv: str) -> ServerConfig:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return config_from_arguments(parser.parse_args(argv))


@pytest.mark.parametrize(("setting", "default"), [("access_log", True), ("reflection", False)])
@pytest.mark.parametrize("given", ["none", "option", "file", "option over the file"])
def test_a_switch_takes_its_default_the_files_value_and_an_option_over_both(
    setting: str, default: bool, given: str, tmp_path: Path
) -> None:
    # A config file's `reflection: true` could not be turned off for one run: --no-reflection
    # was an unrecognized argument, where --no-access-log overrides the file's access_log.
    flag = "--" + setting.replace("_", "-")
    negated = "--no-" + setting.replace("_", "-")
    (tmp_path / "server.yaml").write_text(f"{setting}: {str(not default).lower()}\n")
    file = ("--config", str(tmp_path / "server.yaml"))
    options, expected = {
        "none": ((), default),
        "option": ((negated if default else flag,), not default),
        "file": (file, not default),
        "option over the file": ((*file, flag if default else negated), default),
    }[given]
    assert getattr(_config_of(*options), setting) is expected


def test_a_config_file_sets_settings_and_limits_and_options_override_it(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n")
    path = tmp_path / "server.yaml"
    path.write_text(
        "workers: 3\nexecutor: threads\nrequest_read_seconds: 2.5\ntoken_file: "
        f"{tmp_path / 'token'}\nlimits:\n  max_locations: 50176\n  max_correlations: 512\n"
    )
    config = _config_of("--config", str(path), "--workers", "5", "--limit", "max_correlations=9")
    assert (config.workers, config.request_read_seconds, config.token) == (5, 2.5, "s3cret")
    assert config.executor == "threads"
    assert config.limits == RequestLimits(max_locations=50176, max_correlations=9)
    assert _config_of("--config", str(path), "--executor", "processes").executor == "processes"
    assert _config_of().executor == "processes"


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (("--limit", "max_locations"), "limits"),
        (("--limit", "max_locations=many"), "limits.max_locations"),
        (("--limit", "no_such_limit=1"), "limits.no_such_limit"),
        (("--limit", "max_top_k=0"), "limits.max_top_k"),
        # The library takes at most 2^20 locations: a server set past it admitted no more.
        (("--limit", "max_locations=4194304"), "limits.max_locations"),
    ],
)
def test_bad_limits_name_the_limit(argv: tuple[str, ...], field: str) -> None:
    with pytest.raises(InvalidRequestError) as error:
        _config_of(*argv)
    assert [violation.field for violation in error.value.violations] == [field]


@pytest.mark.parametrize(
    ("name", "hint"), [("nope", ""), ("max_topk", "; did you mean 'max_top_k'?")]
)
def test_an_unknown_limit_is_told_the_limits_names(
    name: str, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # "--limit nope: Extra inputs are not permitted" named no limit the server has.
    names = ", ".join(RequestLimits.model_fields)
    assert server_main(["--limit", f"{name}=3"]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        f"advisor-server: error: --limit {name}: unknown limit {name!r}; known: {names}{hint}\n"
    )


def test_a_misspelt_limit_or_setting_is_told_the_closest_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--limit", "max_locatons=5")
    [violation] = error.value.violations
    assert violation.field == "limits.max_locatons"
    assert violation.description.endswith("; did you mean 'max_locations'?")
    path = tmp_path / "server.yaml"
    path.write_text("wrokers: 3\n")
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path))
    assert error.value.violations[0].description.endswith("; did you mean 'workers'?")


def test_a_config_files_unknown_limit_is_told_the_limits_names(tmp_path: Path) -> None:
    # A key under `limits:` spelt like none was told only "Extra inputs are not permitted",
    # where the same name given to --limit lists the limits.
    path = tmp_path / "server.yaml"
    path.write_text("limits:\n  nope: 3\n")
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path))
    [violation] = error.value.violations
    assert violation.field == "config.limits.nope"
    assert violation.description == (
        "Extra inputs are not permitted"
        + NEWER_KEY
        + "; known: "
        + ", ".join(sorted(RequestLimits.model_fields))
    )


@pytest.mark.parametrize(
    ("written", "meant"), [("grace", "'grace_seconds'"), ("seconds_grace", "'grace_seconds'")]
)
def test_a_setting_written_as_some_words_of_its_name_is_told_the_name(
    tmp_path: Path, written: str, meant: str
) -> None:
    path = tmp_path / "server.yaml"
    path.write_text(f"{written}: 5\n")
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path))
    assert error.value.violations[0].description.endswith(f"; did you mean {meant}?")


def test_a_word_many_names_hold_suggests_none_of_them() -> None:
    assert did_you_mean("max", ["max_top_k", "max_locations", "workers"]) == ""
    assert did_you_mean("top", ["max_top_k", "max_locations"]) == "; did you mean 'max_top_k'?"


def test_an_unreadable_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="server config file") as error:
        _config_of("--config", str(tmp_path / "missing.yaml"))
    assert [violation.field for violation in error.value.violations] == ["config"]


def test_a_config_path_that_never_ends_is_refused_not_read_on() -> None:
    # --config /dev/zero read on without end: the server never started and never said why.
    with pytest.raises(InvalidRequestError, match="longer than 1,048,576 bytes") as error:
        _config_of("--config", "/dev/zero")
    assert [violation.field for violation in error.value.violations] == ["config"]


@pytest.mark.parametrize(
    "task",
    [
        pb.Task(input=pb.InputSpec(shape=[1024, 1024]), preset="symmetry"),
        pb.Task(input=pb.InputSpec(shape=[1_048_576]), preset="local"),
        pb.Task(
            input=pb.InputSpec(shape=[64, 64]),
            correlations=[
                pb.Correlation(name=f"c{i}", a=pb.Region(preset="left_half")) for i in range(1024)
            ],
        ),
    ],
)
def test_the_embedded_server_admits_what_one_machine_can_do_a_public_one_does_not(
    task: pb.Task,
) -> None:
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=10**6))
    check_recommend_request(request, LOCAL_LIMITS)
    with pytest.raises(LimitExceededError):
        check_recommend_request(request, RequestLimits())


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("request_read_seconds", 0),
        # A request cannot arrive within a microsecond (every call ended DEADLINE_EXCEEDED) nor,
        # across a network, within a few milliseconds.
        ("request_read_seconds", 1e-6),
        ("request_read_seconds", 0.099),
        ("max_streams_per_connection", 0),
        ("max_connection_idle_seconds", -1.0),
        ("max_connection_age_seconds", float("inf")),
        ("keepalive_seconds", float("nan")),
        # gRPC takes whole milliseconds: 0.0004 s was 0 ms, and a millisecond's bounds closed
        # and pinged connections under their calls.
        ("max_connection_age_seconds", 0.0004),
        ("max_connection_idle_seconds", 0.001),
        ("keepalive_seconds", 0.999),
    ],
)
def test_bad_connection_bounds_name_the_setting(setting: str, value: float) -> None:
    with pytest.raises(InvalidRequestError) as error:
        ServerConfig(**{setting: value})
    assert [violation.field for violation in error.value.violations] == [setting]


def test_a_bad_setting_the_file_gave_is_named_as_the_files_key(tmp_path: Path) -> None:
    path = tmp_path / "server.yaml"
    path.write_text("workers: 1\ngrace_seconds: -1\nlimits: {max_locations: x}\n")
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path))
    fields = sorted(violation.field for violation in error.value.violations)
    assert fields == ["config.grace_seconds", "config.limits.max_locations"]
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path), "--grace", "1", "--limit", "max_locations=y")
    # The option's value is named as the option's; the file's, which it overrides, still as
    # the file's key (a bad value the option hid was refused once the option was dropped).
    assert [violation.field for violation in error.value.violations] == [
        "config.grace_seconds",
        "limits.max_locations",
    ]


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (("--limit", "max_time_limit_seconds=inf"), "limits.max_time_limit_seconds"),
        (("--limit", "max_time_limit_seconds=1e10"), "limits.max_time_limit_seconds"),
        (("--limit", "max_message_bytes=3000000000"), "limits.max_message_bytes"),
        (("--grace", "1e300"), "grace_seconds"),
        # Infinite, it reached the worker processes as JSON null and they failed to start.
        (("--limit", "max_exact_log2_size=inf"), "limits.max_exact_log2_size"),
        (("--limit", "max_exact_log2_size=1e309"), "limits.max_exact_log2_size"),
    ],
)
def test_a_setting_past_what_grpc_can_hold_is_refused_naming_it(
    argv: tuple[str, ...], field: str
) -> None:
    # gRPC takes durations as 32-bit milliseconds and sizes as 32-bit ints: these overflowed.
    with pytest.raises(InvalidRequestError) as error:
        _config_of(*argv)
    assert [violation.field for violation in error.value.violations] == [field]


@pytest.mark.parametrize("source", ["option", "file"])
def test_a_message_limit_no_search_answer_fits_is_refused_at_start_up(
    source: str, tmp_path: Path
) -> None:
    # 1,024 bytes was accepted, and then every search was refused: even one design of the
    # smallest task is estimated larger (and the 8 kB preset list did not fit either).
    path = tmp_path / "server.yaml"
    path.write_text(f"limits: {{max_message_bytes: {MIN_MESSAGE_BYTES - 1}}}\n")
    argv = (
        ("--limit", f"max_message_bytes={MIN_MESSAGE_BYTES - 1}")
        if source == "option"
        else ("--config", str(path))
    )
    with pytest.raises(InvalidRequestError) as error:
        _config_of(*argv)
    [violation] = error.value.violations
    field = "limits.max_message_bytes" if source == "option" else "config.limits.max_message_bytes"
    assert violation.field == field
    # The option's text is written as the file's number is, with thousands separators.
    assert violation.description == (
        f"is {MIN_MESSAGE_BYTES - 1:,}: must be at least {MIN_MESSAGE_BYTES:,}"
    )
    floor = _config_of("--limit", f"max_message_bytes={MIN_MESSAGE_BYTES}")
    assert floor.limits.max_message_bytes == MIN_MESSAGE_BYTES  # test_limits.py: what it admits


def test_a_duration_over_the_week_is_written_alike_from_an_option_and_a_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # --grace 604801 read "is 604801: must be at most 604,800" (a whole float written without
    # separators), where --limit's text read "is 604,801".
    for argv, option in [
        (["--grace", "604801"], "--grace"),
        (["--request-read-timeout", "604801.0"], "--request-read-timeout"),
        (["--limit", "max_time_limit_seconds=604801"], "--limit max_time_limit_seconds"),
    ]:
        assert server_main(argv) == BAD_OPTION_EXIT_STATUS
        error = capsys.readouterr().err
        assert error == f"advisor-server: error: {option}: is 604,801: must be at most 604,800\n"
    assert server_main(["--grace", "604800.5"]) == BAD_OPTION_EXIT_STATUS
    assert "is 604800.5: must be at most 604,800" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (("--workers", "0"), "--workers"),
        (("--limit", "max_top_k=0"), "--limit max_top_k"),
        (("--grace", "-1"), "--grace"),
        (("--katib-host", "0.0.0.0"), "--katib-host"),  # without --katib-port: no endpoint
        (("--katib-host", "", "--katib-port", "0"), "--katib-host"),
        # Katib's endpoint bound the port first: the advisor's bind failed, exit 7 on --port.
        (("--port", "50123", "--katib-port", "50123"), "--katib-port"),
        (("--port", "50123", "--katib-port", "50123", "--katib-host", "::"), "--katib-port"),
        # One socket path for both: the second bind took it over, the first endpoint unreachable.
        (("--host", "unix:advisor.sock", "--katib-port", "0"), "--katib-host"),
    ],
)
def test_advisor_server_names_a_refused_setting_as_advisor_serve_does(
    argv: tuple[str, ...], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # advisor-server wrote the field ("workers: ...") where advisor serve writes the option.
    assert server_main(list(argv)) == BAD_OPTION_EXIT_STATUS
    server = capsys.readouterr().err
    assert cli_main(["serve", *argv]) == BAD_OPTION_EXIT_STATUS
    serve = capsys.readouterr().err
    assert server.startswith(f"advisor-server: error: {option}: ")
    assert server.removeprefix("advisor-server") == serve.removeprefix("advisor")


def _ended(run: Callable[[], int]) -> int:
    """Return the exit status of ``run``: returned, or argparse's ``SystemExit`` code."""
    try:
        return run()
    except SystemExit as ended:
        assert isinstance(ended.code, int)
        return ended.code


@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        (
            ("--config", "a.yaml", "--config", "b.yaml"),
            "--config: is given twice, and the second would replace the first: give one "
            "--config FILE",
        ),
        (
            ("--limit", "max_top_k=3", "--limit", "max_layers=4", "--limit", "max_top_k=4"),
            "--limit max_top_k: is given twice, 3 and 4: give it once",
        ),
    ],
)
def test_a_serve_option_given_twice_is_refused_naming_it(
    argv: tuple[str, ...], refusal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The second replaced the first without a word: a.yaml was never read, its typos never told.
    # --katib-host without --katib-port is refused after both: a server that took the repeated
    # option ends on that refusal rather than serving.
    argv = (*argv, "--katib-host", "0.0.0.0")
    assert _ended(lambda: server_main(list(argv))) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == f"advisor-server: error: {refusal}\n"
    assert _ended(lambda: cli_main(["serve", *argv])) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == f"advisor: error: {refusal}\n"


def test_limits_of_different_names_are_each_taken() -> None:
    config = _config_of("--limit", "max_top_k=3", "--limit", "max_layers=4")
    assert (config.limits.max_top_k, config.limits.max_layers) == (3, 4)


def test_more_worker_processes_than_the_memory_holds_are_refused_naming_workers() -> None:
    # --workers 1000000 started worker processes (95 MB each) until the OOM killer took them and
    # the machine's other processes with them; the server never served. Threads cost nothing
    # until used, so the same count of them is allowed.
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--workers", "1000000")
    [violation] = error.value.violations
    assert violation.field == "workers"
    assert "1,000,000 worker processes need about" in violation.description
    assert _config_of("--workers", "1000000", "--executor", "threads").workers == 10**6
    assert _config_of("--workers", "2").workers == 2


def test_too_many_worker_processes_are_refused_in_mib_with_the_count_that_fits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In GiB to one place, 11 workers under MemoryMax=1000M "need about 1.0 GiB, more than the
    # 1.0 GiB" of memory, and the message left the count that would start to be guessed.
    monkeypatch.setattr(process_pool, "usable_memory", lambda: 1000 * 2**20)
    assert server_main(["--workers", "11"]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: --workers: 11 worker processes need about 1,045 MiB (95 MiB "
        "each, idle), more than the 1,000 MiB of memory this process may use, which holds 10: "
        "serve fewer calls at once, or run them on threads\n"
    )
    monkeypatch.setattr(process_pool, "usable_memory", lambda: 90 * 2**20)
    assert server_main(["--workers", "1"]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: --workers: 1 worker process needs about 95 MiB (idle), more "
        "than the 90 MiB of memory this process may use: run the calls on threads\n"
    )


def test_the_default_worker_count_fits_in_the_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # A systemd unit with MemoryMax=1G on a 16-core host defaulted to 16 workers of 95 MiB,
    # which the memory check then refused: a server given no count at all would not start.
    # Then, held to the idle workers that fit, a MemoryMax=300M unit started 3 workers of 95
    # MiB and left none of them memory to search with: each worker now has room for its peak.
    monkeypatch.setattr(config_module, "usable_cpus", lambda: 16)
    three = SERVING_PROCESS_BYTES + 3 * WORKER_PEAK_BYTES
    monkeypatch.setattr(process_pool, "usable_memory", lambda: three)
    assert _config_of().workers == 3
    assert _config_of("--executor", "threads").workers == 3
    monkeypatch.setattr(process_pool, "usable_memory", lambda: three - 1)
    assert _config_of().workers == 2
    monkeypatch.setattr(process_pool, "usable_memory", lambda: 300 * 2**20)  # MemoryMax=300M
    assert _config_of().workers == 1
    assert _config_of("--workers", "3").workers == 3  # a count given is checked, not lowered
    with pytest.raises(InvalidRequestError):  # only against the idle workers' memory
        _config_of("--workers", "4")
    monkeypatch.setattr(process_pool, "usable_memory", lambda: WORKER_PROCESS_BYTES // 2)
    assert _config_of("--executor", "threads").workers == 1  # never below one
    monkeypatch.setattr(process_pool, "usable_memory", lambda: 2**40)
    assert _config_of().workers == 16  # room for all: one per CPU
    monkeypatch.setattr(process_pool, "usable_memory", lambda: None)  # not reported
    assert _config_of().workers == 16


def test_a_config_file_giving_both_token_and_token_file_is_refused(tmp_path: Path) -> None:
    # The token file's token silently replaced the token the file also stated.
    (tmp_path / "token").write_text("from-the-file\n")
    path = tmp_path / "server.yaml"
    path.write_text(f"token: stated\ntoken_file: {tmp_path / 'token'}\n")
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path))
    assert [v.field for v in error.value.violations] == ["config.token_file"]
    path.write_text(f"token_file: {tmp_path / 'token'}\n")
    assert _config_of("--config", str(path)).token == "from-the-file"


@pytest.mark.parametrize(
    ("file", "field", "description"),
    [
        # pydantic's lax mode read each of these as a setting: 1 worker, port 0, a 1 s drain,
        # reflection on, the access log off, a max_top_k of 1.
        ("workers: true\n", "workers", "Input should be a valid integer, not a boolean"),
        ("port: false\n", "port", "Input should be a valid integer, not a boolean"),
        # An optional setting too: read as 1 MiB, refused as "below the 95 MiB an idle worker
        # holds", a bound the file never wrote.
        (
            "worker_max_memory_mib: true\n",
            "worker_max_memory_mib",
            "Input should be a valid integer, not a boolean",
        ),
        ("grace_seconds: true\n", "grace_seconds", "Input should be a valid number, not a boolean"),
        ('reflection: "yes"\n', "reflection", "Input should be true or false, got 'yes'"),
        ("reflection: 1\n", "reflection", "Input should be true or false, got 1"),
        ("access_log: off_\n", "access_log", "Input should be true or false, got 'off_'"),
        (
            "limits:\n  max_top_k: true\n",
            "limits.max_top_k",
            "Input should be a valid integer, not a boolean",
        ),
        (
            "limits:\n  max_exact_log2_size: false\n",
            "limits.max_exact_log2_size",
            "Input should be a valid number, not a boolean",
        ),
        # A float where a whole number goes read as it (1 worker), where a document's integer
        # field refuses 16.0; a float's text as well, as --limit gives it.
        ("workers: 1.0\n", "workers", "Input should be a valid integer, not a float: got 1.0"),
        (
            "limits:\n  max_top_k: '16.0'\n",
            "limits.max_top_k",
            "Input should be a valid integer, not a float: got '16.0'",
        ),
    ],
)
def test_a_config_file_setting_of_the_wrong_type_is_refused_naming_it(
    file: str, field: str, description: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "server.yaml"
    path.write_text(file)
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path))
    assert [(v.field, v.description) for v in error.value.violations] == [
        (f"config.{field}", description)
    ]
    assert server_main(["--config", str(path)]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == f"advisor-server: error: --config {field}: {description}\n"
    # The right types still read, and so do a number's text and a --limit's value.
    path.write_text("workers: 2\nreflection: false\ngrace_seconds: '2.5'\n")
    config = _config_of("--config", str(path), "--limit", "max_top_k=7")
    assert (config.workers, config.reflection, config.grace_seconds) == (2, False, 2.5)
    assert config.limits.max_top_k == 7


@pytest.mark.parametrize(
    ("file", "option", "field", "description"),
    [
        (
            "workers: true\n",
            ["--workers", "1"],
            "workers",
            "Input should be a valid integer, not a boolean",
        ),
        ("grace_seconds: -5\n", ["--grace", "3"], "grace_seconds", "is -5: must be at least 0"),
        ("port: 99999\n", ["--port", "0"], "port", "is 99,999: must be at most 65,535"),
        (
            'reflection: "yes"\n',
            ["--reflection"],
            "reflection",
            "Input should be true or false, got 'yes'",
        ),
    ],
)
def test_a_config_file_value_an_option_overrides_is_checked_too(
    file: str, option: list[str], field: str, description: str, tmp_path: Path
) -> None:
    # Overridden, the file's value was accepted, and refused only once the option was dropped.
    path = tmp_path / "server.yaml"
    path.write_text(file)
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path), *option)
    assert [(v.field, v.description) for v in error.value.violations] == [
        (f"config.{field}", description)
    ]
    # A valid value the option overrides is overridden, not refused.
    path.write_text("workers: 3\ngrace_seconds: 1\nport: 50123\nreflection: false\n")
    assert _config_of("--config", str(path), *option)


@pytest.mark.parametrize("value", ["null", "5", "[]", "''"])
def test_a_config_token_file_that_is_no_path_is_refused_as_such(value: str, tmp_path: Path) -> None:
    # null was read as the file 'None': "cannot read None: No such file or directory: 'None'".
    path = tmp_path / "server.yaml"
    path.write_text(f"token_file: {value}\n")
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path))
    [violation] = error.value.violations
    assert violation.field == "config.token_file"
    assert violation.description.startswith("must be the path of a token file, got ")


def test_a_relative_path_that_names_no_file_says_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A config file mounted in another folder naming token.txt read "cannot read token.txt: No
    # such file or directory": paths are read from the working directory, not the file's.
    mounted = tmp_path / "config"
    mounted.mkdir()
    (mounted / "token.txt").write_text("secret\n")
    (mounted / "server.yaml").write_text("token_file: token.txt\n")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(mounted / "server.yaml"))
    assert [(v.field, v.description) for v in error.value.violations] == [
        (
            "config.token_file",
            "cannot read token.txt: No such file or directory (looked for in the working "
            f"directory, {tmp_path / 'work'})",
        )
    ]
    (tmp_path / "absent.key").write_text("")
    argv = ["--executor", "threads", "--tls-cert", "server.pem", "--tls-key", "../absent.key"]
    assert server_main(argv) == START_FAILED_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: --tls-cert: cannot read server.pem: No such file or directory "
        f"(looked for in the working directory, {tmp_path / 'work'})\n"
    )


def test_the_token_file_option_overrides_the_config_files_token_file(tmp_path: Path) -> None:
    # Options override the file; the file's token file was still read, and one gone (the
    # old path, say) refused a start whose --token-file named the file in use.
    (tmp_path / "token").write_text("current\n")
    path = tmp_path / "server.yaml"
    path.write_text(f"token_file: {tmp_path / 'gone'}\n")
    config = _config_of("--config", str(path), "--token-file", str(tmp_path / "token"))
    assert config.token == "current"
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path))
    assert [v.field for v in error.value.violations] == ["config.token_file"]


@pytest.mark.parametrize(
    ("mode", "warned"), [(0o600, False), (0o400, False), (0o640, True), (0o644, True)]
)
def test_a_token_file_other_users_can_read_is_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, warned: bool
) -> None:
    # A token file left at the umask's 0644 let every user of the machine read the one secret
    # that admits a caller, and the server started without a word.
    path = tmp_path / "token"
    path.write_text("secret-token\n")
    path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="advisor.service.command"):
        assert _config_of("--token-file", str(path)).token == "secret-token"
        config = tmp_path / "server.yaml"
        config.write_text(f"token_file: {path}\n")
        assert _config_of("--config", str(config)).token == "secret-token"
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if not warned:
        assert lines == []
        return
    line, again = lines  # one per configuration read: by the option, by the file
    assert line == again
    assert str(path) in line and f"mode {mode:04o}" in line and "chmod 600" in line
    assert "secret-token" not in line


@pytest.mark.parametrize(("mode", "warned"), [(0o600, False), (0o640, True), (0o644, True)])
def test_a_config_file_holding_the_token_that_others_can_read_is_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, warned: bool
) -> None:
    # A token file at 0644 was warned of, the same token written inline in a 0644 config file
    # was not.
    path = tmp_path / "server.yaml"
    path.write_text("token: secret-token\n")
    path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="advisor.service.command"):
        assert _config_of("--config", str(path)).token == "secret-token"
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if not warned:
        assert lines == []
        return
    [line] = lines
    assert line.startswith(f"config file {path}, which holds the token, is readable by other")
    assert f"mode {mode:04o}" in line and f"chmod 600 {path}" in line
    assert "secret-token" not in line
    # A token --token-file overrides is a secret others can read all the same (it was not said).
    token_file = tmp_path / "token"
    token_file.write_text("other-token\n")
    token_file.chmod(0o600)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="advisor.service.command"):
        config = _config_of("--config", str(path), "--token-file", str(token_file))
    assert config.token == "other-token"
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line.startswith(
        f"config file {path}, which holds a token (--token-file's is in force), is readable"
    )


def test_worker_max_memory_is_refused_with_threads_and_below_an_idle_worker(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--executor", "threads", "--worker-max-memory", "500"]
    assert server_main(argv) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: --worker-max-memory: bounds the memory of worker processes, "
        "and the threads executor starts none (its calls run on threads of the serving process)\n"
    )
    least = math.ceil(WORKER_PROCESS_BYTES / 2**20)
    assert server_main(["--worker-max-memory", str(least - 1)]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        f"advisor-server: error: --worker-max-memory: is below the {least} MiB an idle worker "
        "holds: every call would replace its worker\n"
    )
    for below in ("0", "-5"):  # refused in the same words, not as "must be greater than 0"
        assert server_main(["--worker-max-memory", below]) == BAD_OPTION_EXIT_STATUS
        assert f"is below the {least} MiB an idle worker holds" in capsys.readouterr().err
    assert _config_of("--worker-max-memory", str(least)).worker_max_memory_mib == least
    assert _config_of().worker_max_memory_mib is None  # never, by default


def test_worker_max_memory_above_the_usable_memory_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The bound is in MiB; one given in bytes (2147483648 for 2 GiB) was taken as 2 PiB, which
    # no worker can ever hold: the server started, logged the bound, and never replaced one.
    monkeypatch.setattr(process_pool, "usable_memory", lambda: 4 * 2**30)
    assert _config_of("--worker-max-memory", "4096").worker_max_memory_mib == 4096
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--worker-max-memory", "4097")
    assert [v.field for v in error.value.violations] == ["worker_max_memory_mib"]
    assert server_main(["--worker-max-memory", str(2**31)]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: --worker-max-memory: is more than the 4,096 MiB of memory this "
        "process may use: no worker can hold that much, so none would ever be replaced (the "
        "bound is in MiB)\n"
    )
    monkeypatch.setattr(process_pool, "usable_memory", lambda: None)  # not reported: any
    assert _config_of("--worker-max-memory", str(2**31)).worker_max_memory_mib == 2**31


def test_worker_niceness_with_the_threads_executor_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Threads start no worker process: the option was silently ignored.
    argv = ["--executor", "threads", "--worker-niceness", "5"]
    with pytest.raises(InvalidRequestError):  # checked first: without the fix it would serve
        _config_of(*argv)
    assert server_main(argv) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: --worker-niceness: sets the priority of worker processes, and "
        "the threads executor starts none (its calls run on threads of the serving process)\n"
    )
    path = tmp_path / "server.yaml"
    path.write_text("worker_niceness: 5\n")
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path), "--executor", "threads")
    assert [v.field for v in error.value.violations] == ["config.worker_niceness"]
    assert _config_of("--config", str(path)).worker_niceness == 5
    assert _config_of("--executor", "threads").worker_niceness == 10  # the default: no conflict


def test_a_read_timeout_no_request_can_meet_is_refused_naming_its_option() -> None:
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--request-read-timeout", "0.00001")
    assert [(v.field, v.description) for v in error.value.violations] == [
        ("request_read_seconds", "is 1e-05: must be at least 0.1")
    ]
    assert _config_of("--request-read-timeout", "0.1").request_read_seconds == 0.1


def test_a_config_file_s_lone_surrogate_is_named_with_where_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # JSON writes one as an escape: the refusal was pydantic's "Input should be a valid string,
    # unable to parse raw data as a unicode string", naming neither the character nor where.
    path = tmp_path / "server.json"
    path.write_text('{"host": "unix:/tmp/\\udcff.sock"}')
    assert server_main(["--config", str(path)]) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: --config host: must not hold a lone surrogate, which no text "
        "encodes: U+DCFF at position 10\n"
    )


def test_a_config_files_unknown_keys_are_told_its_keys_once_token_file_included(
    tmp_path: Path,
) -> None:
    # Each unknown key was told the ServerConfig fields, token_file left out though the file
    # takes it, and the whole list again for every other unknown key.
    path = tmp_path / "server.yaml"
    path.write_text("zzzz: 1\nwrokers: 2\nqqqq: 3\nworkers: 0\n")
    with pytest.raises(InvalidRequestError) as error:
        _config_of("--config", str(path))
    keys = ", ".join(sorted([*ServerConfig.model_fields, "token_file"]))
    *unknown, bad_value = error.value.violations
    assert [(v.field, v.description) for v in unknown] == [
        ("config.zzzz", f"Extra inputs are not permitted; known: {keys}"),
        ("config.wrokers", "Extra inputs are not permitted; did you mean 'workers'?"),
        ("config.qqqq", "Extra inputs are not permitted"),
    ]
    assert bad_value.field == "config.workers"  # the known keys' values are checked as well


def _start_up_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, *argv: str
) -> list[logging.LogRecord]:
    """Return what ``advisor-server *argv`` logs by the time it serves (it serves nothing here)."""

    def serve_forever(config: ServerConfig, on_ready: Callable[[Any], None], **_: object) -> int:
        running = SimpleNamespace(
            address=f"{config.host}:1", port=1, metrics_port=None, metrics_address=None
        )
        on_ready(running)
        return 0

    monkeypatch.setattr(server, "serve_forever", serve_forever)
    with caplog.at_level(logging.DEBUG, logger="advisor.service.command"):
        assert server_main(list(argv)) == 0
    return [r for r in caplog.records if r.name == "advisor.service.command"]


@pytest.mark.parametrize(
    ("options", "warned"),
    [
        (("--host", "0.0.0.0"), True),
        (("--host", "0.0.0.0", "--tls-cert", "c.pem", "--tls-key", "k.pem"), False),
        (("--host", "127.0.0.1"), False),
        (("--host", "unix:/tmp/advisor-test.sock"), False),
    ],
)
def test_a_token_served_without_tls_to_other_machines_is_warned_of(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    options: tuple[str, ...],
    warned: bool,
) -> None:
    # The docs say to use the token only over TLS, but --host 0.0.0.0 --token-file without
    # --tls-cert started without a word while the token crossed the network in clear.
    token = tmp_path / "token"
    token.write_text("secret-token\n")
    token.chmod(0o600)
    records = _start_up_log(monkeypatch, caplog, "--token-file", str(token), *options)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    if not warned:
        assert warnings == []
        return
    [line] = warnings
    assert line.startswith("the advisor's port on 0.0.0.0 requires a token but serves no TLS")
    assert "--tls-cert" in line and "secret-token" not in line


@pytest.mark.parametrize(
    ("options", "warned"),
    [
        (("--host", "0.0.0.0"), True),
        (("--host", "::"), True),
        (("--host", "127.0.0.1"), False),
        (("--host", "unix:/tmp/advisor-test.sock"), False),
        # Client certificates authenticate the callers as a token does.
        (("--host", "0.0.0.0", "--tls-cert", "c.pem", "--tls-key", "k.pem"), True),
        (("--host", "0.0.0.0", "--tls-cert", "c", "--tls-key", "k", "--tls-client-ca", "a"), False),
    ],
)
def test_a_port_open_to_other_machines_without_credentials_is_warned_of(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    options: tuple[str, ...],
    warned: bool,
) -> None:
    # --host 0.0.0.0 with no token started without a word, where a token without TLS is warned
    # of: whoever reached the port ran searches.
    records = _start_up_log(monkeypatch, caplog, *options)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    if not warned:
        assert warnings == []
        return
    host, longest = options[1], number_text(RequestLimits().max_time_limit_seconds)
    assert warnings == [
        f"the advisor's port on {host} takes calls from anyone who reaches it (no token, no "
        f"client certificate), each a search of up to {longest} s; require a token "
        "(--token-file) or client certificates (--tls-client-ca), or bind it to 127.0.0.1"
    ]


def test_a_certificate_out_of_its_dates_is_warned_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # OpenSSL loads an expired certificate and gRPC serves it: the server started without a
    # word while every client's handshake failed.
    pem = make_certificates(tmp_path)
    options = ["--tls-cert", str(pem.server_cert), "--tls-key", str(pem.server_key)]
    records = _start_up_log(monkeypatch, caplog, *options, "--tls-client-ca", str(pem.ca))
    assert [r for r in records if r.levelno == logging.WARNING] == []  # valid today
    config = ServerConfig(tls_cert=pem.server_cert, tls_key=pem.server_key, tls_client_ca=pem.ca)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)  # they live a day
    with caplog.at_level(logging.WARNING, logger="advisor.service.command"):
        caplog.clear()
        warn_if_a_certificate_is_not_valid(config, later)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith(f"--tls-cert: the certificate in {pem.server_cert} expired on ")
    assert lines[0].endswith(": every client's TLS handshake fails until it is replaced")
    assert lines[1].startswith(f"--tls-client-ca: the certificate in {pem.ca} expired on ")
    assert lines[1].endswith(": the client certificates it signed are refused until it is replaced")


@pytest.mark.parametrize(("mode", "warned"), [(0o600, False), (0o400, False), (0o644, True)])
def test_a_tls_key_other_users_can_read_is_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, warned: bool
) -> None:
    # The token file's mode was warned of, the private key's was not (a security review),
    # though whoever reads it can pose as this server.
    pem = make_certificates(tmp_path)
    pem.server_key.chmod(mode)
    config = ServerConfig(tls_cert=pem.server_cert, tls_key=pem.server_key)
    with caplog.at_level(logging.WARNING, logger="advisor.service.command"):
        warn_if_the_tls_key_is_readable(config)
        warn_if_the_tls_key_is_readable(ServerConfig())  # no key: nothing to say
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert lines == (
        [
            f"--tls-key {pem.server_key} is readable by other users (mode {mode:04o}), who can "
            f"then pose as this server; make it its owner's alone (chmod 600 {pem.server_key})"
        ]
        if warned
        else []
    )


def test_the_log_states_the_ports_every_endpoint_bound() -> None:
    # --metrics-port 0 and --katib-port 0 bind ports of the system's choosing, which the
    # settings line said as 0: a log pipeline could not learn where the metrics were.
    command = [sys.executable, "-m", "advisor", "serve", "--executor", "threads", "--workers", "1"]
    command += ["--metrics-port", "0", "--katib-port", "0"]
    environment = {**os.environ, "ADVISOR_LOG_FORMAT": "text"}
    serving = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )
    try:
        assert serving.stdout is not None
        printed = [serving.stdout.readline() for _ in range(3)]
    finally:
        serving.send_signal(signal.SIGTERM)
        _, log = serving.communicate(timeout=60)
    ports = {line.split()[0]: line.rsplit(":", 1)[1].strip() for line in printed}
    [settings] = [line for line in log.splitlines() if " settings: " in line]
    shown = dict(item.split("=", 1) for item in settings.split(" settings: ")[1].split(", "))
    assert (shown["port"], shown["metrics_port"], shown["katib_port"]) == (
        ports["listening"],
        ports["metrics"],
        ports["katib"],
    )
    assert "0" not in (shown["port"], shown["metrics_port"], shown["katib_port"])


def test_the_log_states_every_setting_in_force_but_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The start-up lines left out the drain, the read timeout, the connection bounds and more,
    # so a file's grace_seconds or keepalive_seconds could not be checked in the log.
    path = tmp_path / "server.yaml"
    path.write_text(
        "token: secret-token\ngrace_seconds: 4\nrequest_read_seconds: 5\n"
        "max_streams_per_connection: 50\nkeepalive_seconds: 30\nmax_connection_idle_seconds: 60\n"
        "max_connection_age_seconds: 600\n"
    )
    path.chmod(0o600)
    options = ("--config", str(path), "--executor", "threads", "--workers", "1")
    [first] = _start_up_log(monkeypatch, caplog, *options, "--no-access-log")
    line = first.getMessage()
    assert line.startswith("settings: host=127.0.0.1, ")
    shown = dict(item.split("=", 1) for item in line.removeprefix("settings: ").split(", "))
    # The threads executor starts no worker process: "worker_niceness=10" named no process's.
    settings = {*ServerConfig.model_fields} - {"limits", *WORKER_PROCESS_SETTINGS}
    assert shown.keys() == settings | {"config", "katib_port", "katib_host"}
    # The port bound, not --port 0's 0, and the file the settings came from.
    expected = {
        "port": "1",
        "config": str(path),
        "token": "True",
        "grace_seconds": "4.0",
        "request_read_seconds": "5.0",
        "max_streams_per_connection": "50",
        "keepalive_seconds": "30.0",
        "max_connection_idle_seconds": "60.0",
        "max_connection_age_seconds": "600.0",
        "access_log": "False",
        "metrics_port": "None",
        "katib_port": "None",
    }
    assert {name: shown[name] for name in expected} == expected
    assert "secret-token" not in line and "secret-token" not in str(first.__dict__)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: RequestLimits(max_top_k="x"), "max_top_k"),
        (lambda: RequestLimits(max_layers=True), "max_layers"),
        (lambda: RequestLimits(max_top_kk=3), "max_top_kk"),  # type: ignore[call-arg]
        (lambda: ServerConfig(limits={"max_top_k": "x"}), "limits.max_top_k"),
        (lambda: ServerConfig(workers=True), "workers"),
    ],
)
def test_settings_built_by_keywords_are_refused_naming_the_field(
    make: Callable[[], object], field: str
) -> None:
    # RequestLimits(max_top_k="x") raised pydantic_core's ValidationError: of the embedding
    # API's models, only ServerConfig converted its errors.
    with pytest.raises(InvalidRequestError) as refused:
        make()
    assert [violation.field for violation in refused.value.violations] == [field]


def test_a_limit_is_tested_for_a_value_as_pydantic_validates_it() -> None:
    # settable (a refusal's hint) validates a limit alone: a value refused is no error of it.
    assert settable("max_top_k", "5") and not settable("max_top_k", "x")


@pytest.mark.parametrize("config", [None, {"port": 0}])
def test_a_server_started_without_a_server_config_is_refused_naming_it(config: Any) -> None:
    # start_server(None) and start_server({"port": 0}) raised AttributeError ('NoneType' object
    # has no attribute 'tls_cert'), inside the server's start.
    for start in (server.start_server, server.serve_forever):
        with pytest.raises(InvalidRequestError) as refused:
            start(config)
        assert str(refused.value) == f"config: must be a ServerConfig, got {type(config).__name__}"
