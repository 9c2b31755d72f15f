"""Inputs a new user brings to the command line: huge numbers, broken files, the wrong transport.

Each test pins one defect found in the inputs users bring: the command must answer with
one line naming what to fix (exit status 2 for bad input), never a wrong answer or a traceback.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pydantic
import pytest
import yaml
from advisor_client.client import AdvisorClient

from advisor.cli.main import build_parser
from advisor.cli.options import BUDGET_OPTIONS, ExitCode
from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.budget import INT32_MAX, INT64_MAX, Budget, seed_problem
from advisor.model.results import Recommendation
from advisor.model.task import parse_task
from advisor.protocol.wire import search_result_from_proto, search_result_to_proto
from advisor.search.objective import Objective
from advisor.search.recommend import recommend
from advisor.service.server import ServerConfig, start_server
from advisor.validation_messages import invalid_request_from_pydantic
from advisor.version import DISTRIBUTION
from tests.support.certificates import make_certificates
from tests.test_cli import CLI_DOC, EXAMPLES, advisor, assert_one_error_line

SYMMETRY = {"input": {"shape": [8, 8]}, "preset": "symmetry"}
SEQUENCE = {
    "input": {"shape": [32]},
    "correlations": [
        {"name": "halves", "a": {"box": {"start": [0], "stop": [16]}}},
        {"name": "parity", "a": {"preset": "even"}, "b": {"preset": "odd"}},
    ],
}


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("flag", "limit", "written"),
    [
        ("--budget", INT64_MAX, f"must be at most {INT64_MAX:,}"),
        ("--seed", INT64_MAX, "2^63 - 1"),  # as every seed's range is written
        ("--max-channels", INT32_MAX, f"must be at most {INT32_MAX:,}"),
        ("--top", INT32_MAX, f"must be at most {INT32_MAX:,}"),
        ("--max-macs", INT64_MAX, f"must be at most {INT64_MAX:,}"),
        ("--max-activations", INT64_MAX, f"must be at most {INT64_MAX:,}"),
    ],
)
def test_a_number_the_wire_cannot_carry_names_its_option(
    tmp_path: Path, flag: str, limit: int, written: str
) -> None:
    task = write(tmp_path, "task.yaml", yaml.safe_dump(SYMMETRY))
    options = {"--budget": "5000", flag: str(limit + 1)}
    result = advisor("recommend", task, *(item for pair in options.items() for item in pair))
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line.startswith(f"advisor: error: {flag}: ") and written in line


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        # "must be greater than 1" did not say how to set no bound.
        (
            "--max-step",
            "1",
            "--max-step: is 1: must be at least 2 (a window or step of 1 pools nothing); for no "
            "bound give null (none on the command line, 0 in a gRPC request)",
        ),
        (
            "--max-window",
            "0",
            "--max-window: is 0: must be at least 2 (a window or step of 1 pools nothing); for "
            "no bound give null (none on the command line, 0 in a gRPC request)",
        ),
        ("--budget", "0", "--budget: is 0: must be greater than 0"),
        ("--top", "3000000000", "--top: is 3,000,000,000: must be at most 2,147,483,647"),
        ("--max-activations", "0", "--max-activations: is 0: must be greater than 0"),
        ("--max-activations", "-5", "--max-activations: is -5: must be greater than 0"),
        (
            "--max-activations",
            "lots",
            "--max-activations: invalid value 'lots' (a whole number: 200000, 200_000, 2e5, "
            "200k or 25M; the prefixes are k or K, M, G and T)",
        ),
    ],
)
def test_a_number_past_its_bound_is_refused_naming_the_value_given(
    tmp_path: Path, option: str, value: str, said: str
) -> None:
    # pydantic's words named the bound only: "--max-step: Input should be greater than 1".
    task = write(tmp_path, "task.yaml", yaml.safe_dump(SYMMETRY))
    options = {"--budget": "5000", option: value}
    result = advisor("recommend", task, *(item for pair in options.items() for item in pair))
    assert assert_one_error_line(result, ExitCode.INVALID_ARGUMENT) == f"advisor: error: {said}"


@pytest.mark.parametrize(
    ("bound", "value", "said"),
    [
        (pydantic.Field(gt=1), 1, "is 1: must be greater than 1"),
        (pydantic.Field(ge=1_000), 999, "is 999: must be at least 1,000"),
        (pydantic.Field(lt=0.5), 0.75, "is 0.75: must be less than 0.5"),
        (pydantic.Field(le=10), 10**30, "is a 31-digit number: must be at most 10"),
    ],
)
def test_every_bound_pydantic_checks_names_the_value_given(
    bound: Any, value: float, said: str
) -> None:
    model = pydantic.create_model("Bounded", number=(float, bound))
    with pytest.raises(pydantic.ValidationError) as raised:
        model(number=value)
    error = invalid_request_from_pydantic(raised.value, "budget")
    assert error.violations == (FieldViolation("budget.number", said),)


@pytest.mark.parametrize("command", ["recommend", "infer"])
def test_a_negative_seed_is_named_as_its_option(tmp_path: Path, command: str) -> None:
    # advisor infer named the field ("seed: is -1: ...") where recommend names --seed.
    if command == "recommend":
        source = write(tmp_path, "task.yaml", yaml.safe_dump(SYMMETRY))
        result = advisor("recommend", source, "--budget", "5000", "--seed", "-1")
    else:
        source = tmp_path / "data.npy"
        np.save(source, np.random.default_rng(0).normal(size=(64, 4, 4)).astype(np.float32))
        result = advisor("infer", source, "--seed", "-1")
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    # Both in the same words, the whole range (recommend's once quoted pydantic's lower bound).
    assert line == "advisor: error: --seed: is -1: must be between 0 and 2^63 - 1", line


def test_the_extreme_carried_seeds_are_accepted() -> None:
    assert Budget(max_parameters=INT64_MAX, seed=INT64_MAX).seed == INT64_MAX
    assert Budget(max_parameters=INT64_MAX, seed=0).seed == 0


@pytest.mark.parametrize("seed", [-1, INT64_MAX + 1])
def test_a_refused_budget_seed_names_the_field_and_the_whole_range(seed: int) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        Budget(max_parameters=5000, seed=seed)
    assert raised.value.violations == (
        FieldViolation("budget.seed", f"is {seed:,}: must be between 0 and 2^63 - 1"),
    )


def test_the_documented_seed_range_is_the_library_s() -> None:
    documented = " ".join(CLI_DOC.read_text(encoding="utf-8").split())
    assert f"`--seed: {seed_problem(-1)}`" in documented
    assert seed_problem(0) is None and seed_problem(INT64_MAX) is None


def test_weights_near_the_float_range_rank_as_their_ratios() -> None:
    huge = Objective.create([1.0, 2.0, 4.0], [1e308, 1e308, 5e307], "weighted")
    small = Objective.create([1.0, 2.0, 4.0], [2.0, 2.0, 1.0], "weighted")
    assert np.array_equal(huge.weights, small.weights)
    ranks = np.array([[0.5, 1.0, 4.0]])
    assert huge.keys(ranks)[0, 0] == pytest.approx((0.5 * 2 + 0.5 * 2 + 1.0) / 5)


def test_a_search_with_huge_weights_picks_what_equal_weights_pick() -> None:
    def pick(weight: float) -> Recommendation:
        document: dict[str, Any] = {
            "input": {"shape": [8, 8]},
            "correlations": [
                {"name": "lr", "a": {"preset": "left_half"}, "b": {"preset": "right_half"}},
                {"name": "tb", "a": {"preset": "top_half"}, "b": {"preset": "bottom_half"}},
            ],
        }
        for correlation in document["correlations"]:
            correlation["weight"] = weight
        budget = Budget(max_parameters=5000, top_k=1, time_limit_seconds=None)
        return recommend(parse_task(document), budget).recommendations[0]

    huge, plain = pick(1e308), pick(1.0)
    assert huge.score == plain.score > 0
    assert huge.architecture == plain.architecture


def test_a_broken_yaml_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    task = write(tmp_path, "broken.yaml", "input: {shape: [16, 16]\n  bad: [\n")
    line = assert_one_error_line(
        advisor("recommend", task, "--budget", "100"), ExitCode.INVALID_ARGUMENT
    )
    assert str(task) in line and "<unicode string>" not in line
    assert "line 2, column 3" in line


def test_a_validator_message_has_no_pydantic_prefix() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse_task({"input": {"shape": [4]}, "preset": "no-such-preset"})
    (violation,) = raised.value.violations
    assert violation.field == "preset"
    assert violation.description.startswith("unknown task preset 'no-such-preset'")


def test_version_prints_the_installed_version_and_its_rankings() -> None:
    # A pipeline's cache of results is current while the ranking's version is the one the
    # results report: it reads that version here, before running any search.
    from importlib.metadata import version

    import advisor as library
    from advisor.version import RANKING_VERSION

    result = advisor("--version")
    assert result.status == ExitCode.OK
    expected = f"advisor {library.__version__}, ranking version {RANKING_VERSION}"
    assert result.stdout.strip() == expected
    assert library.__version__ == version(DISTRIBUTION)  # installed from this checkout


def test_an_uninstalled_checkout_tells_its_version_from_its_pyproject() -> None:
    # `python -m advisor --version` from a checkout whose project is not installed ended in a
    # PackageNotFoundError traceback; there was no advisor.__version__ to read either.
    import subprocess
    import sys
    import tomllib

    pyproject = EXAMPLES.parent / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    uninstalled = (
        "import importlib.metadata as m, runpy, sys\n"
        "def version(name): raise m.PackageNotFoundError(name)\n"
        "m.version = version\n"
        "import advisor\n"
        "print(advisor.__version__)\n"
        "sys.argv = ['advisor', '--version']\n"
        "runpy.run_module('advisor', run_name='__main__')\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", uninstalled],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=EXAMPLES.parent,
    )
    assert shown.returncode == ExitCode.OK, shown.stderr
    read, printed = shown.stdout.splitlines()
    assert read == project["version"]
    assert printed.startswith(f"advisor {project['version']}, ranking version ")


def test_code_neither_checked_out_nor_installed_has_a_version_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    from advisor.version import UNKNOWN_VERSION, package_version

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    other = tmp_path / "pyproject.toml"  # another project's, beside site-packages say
    other.write_text('[project]\nname = "other"\nversion = "9.9"\n', encoding="utf-8")
    assert package_version(other) == package_version(tmp_path / "absent.toml") == UNKNOWN_VERSION


def test_python_dash_m_advisor_is_the_command_line_program() -> None:
    # Where the console script is not on PATH (a virtualenv not activated), `python -m advisor`
    # runs the same program: its version line and its refusal of an unknown option, exit 2.
    import subprocess
    import sys

    from advisor.version import RANKING_VERSION

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "advisor", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    shown = run("--version")
    assert shown.returncode == ExitCode.OK, shown.stderr
    assert shown.stdout.startswith("advisor ")
    assert shown.stdout.strip().endswith(f"ranking version {RANKING_VERSION}")
    refused = run("--no-such-option")
    assert refused.returncode == ExitCode.INVALID_ARGUMENT
    assert "advisor: error:" in refused.stderr
    assert "--no-such-option" in refused.stderr


def test_option_help_states_the_budget_defaults() -> None:
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    recommend_parser = commands.choices["recommend"]
    helps = {action.dest: action.help or "" for action in recommend_parser._actions}
    stated = 0
    for option in BUDGET_OPTIONS:
        default = Budget.model_fields[option.field].default
        if option.field == "max_parameters":
            continue
        assert "default" in helps[option.field], option.flag
        if isinstance(default, bool):
            assert f"(default: {'on' if default else 'off'})" in helps[option.field]
        elif default is not None:
            text = f"{default:g}" if isinstance(default, float) else str(default)
            assert re.search(rf"\(default {re.escape(text)}\b", helps[option.field]), option.flag
            stated += 1
    assert stated >= 8


def test_timeout_help_states_each_commands_own_default() -> None:
    # Only a search's deadline follows its time limit: infer, analyze and presets said so too.
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    helps = {
        name: next(a.help for a in command._actions if "--timeout" in a.option_strings)
        for name, command in commands.choices.items()
        if name not in ("serve", "export", "completion")  # the commands that call no server
    }
    assert helps.pop("recommend") == (
        "deadline of the call in seconds (default the time limit + 10, at least 30)"
    )
    assert set(helps) == {"infer", "analyze", "presets"}
    assert set(helps.values()) == {"deadline of the call in seconds (default 30)"}


def test_a_plaintext_call_to_a_tls_server_hints_at_tls(tmp_path: Path) -> None:
    pem = make_certificates(tmp_path)
    # TLS is the gRPC server's: the threads executor starts in milliseconds, workers in seconds.
    config = ServerConfig(
        host="localhost",
        workers=1,
        executor="threads",
        tls_cert=pem.server_cert,
        tls_key=pem.server_key,
    )
    with start_server(config) as running:
        result = advisor("presets", "--target", running.address, "--timeout", "10")
    line = assert_one_error_line(result, ExitCode.UNAVAILABLE)
    assert "--tls-ca" in line


def test_the_dilation_order_is_shown_and_carried(tmp_path: Path) -> None:
    task = write(tmp_path, "sequence.yaml", yaml.safe_dump(SEQUENCE))
    search = ["--budget", "20000", "--geometries", "dilations", "--top", "3", "--time-limit", "30"]
    as_json = advisor("recommend", task, *search, "--format", "json")
    assert as_json.status == ExitCode.OK, as_json.stderr
    documents = json.loads(as_json.stdout)["recommendations"]
    orders = [tuple(document["dilations"]) for document in documents]
    assert len(set(orders)) == len(orders) == 3
    for order in orders:
        assert sorted(order) == [2**level for level in range(len(order))]
    table = advisor("recommend", task, *search).stdout
    shown = re.findall(r"dilations ((?:\d+ ?)+)$", table, flags=re.MULTILINE)
    assert [tuple(int(d) for d in text.split()) for text in shown] == orders


def test_the_dilation_order_survives_the_wire() -> None:
    budget = Budget(
        max_parameters=20000, geometries=["dilations"], top_k=2, time_limit_seconds=None
    )
    result = recommend(parse_task(SEQUENCE), budget)
    decoded = search_result_from_proto(search_result_to_proto(result))
    assert [r.dilations for r in decoded.recommendations] == [
        r.dilations for r in result.recommendations
    ]
    assert all(r.dilations is not None for r in result.recommendations)


def test_an_architecture_number_the_wire_cannot_carry_is_bad_input(tmp_path: Path) -> None:
    task = write(tmp_path, "task.yaml", yaml.safe_dump(SYMMETRY))
    layers = [{"channels": INT32_MAX + 1, "pool": [8, 8]}]
    document = {"input": {"shape": [8, 8]}, "representation": 4, "layers": layers}
    arch = write(tmp_path, "arch.yaml", yaml.safe_dump(document))
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", arch), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: architecture.layers[0].channels: ")
    assert f"{INT32_MAX + 1:,}" in line


def test_the_table_shows_every_positive_weight_as_positive(tmp_path: Path) -> None:
    shown = {"tiny": "1e-308", "small": "1e-05", "hundredth": "0.01", "plain": "0.5"}
    weights = {"tiny": 1e-308, "small": 1e-05, "hundredth": 0.0123, "plain": 0.5}
    correlations = [
        {"name": name, "a": {"indices": [index]}, "weight": weight}
        for index, (name, weight) in enumerate(weights.items())
    ]
    task = write(
        tmp_path,
        "task.json",
        json.dumps({"input": SYMMETRY["input"], "correlations": correlations}),
    )
    layers = [{"channels": 8, "pool": [8, 8]}]
    document = {"input": SYMMETRY["input"], "representation": 4, "layers": layers}
    arch = write(tmp_path, "arch.yaml", yaml.safe_dump(document))
    result = advisor("analyze", task, "--arch", arch)
    assert result.status == ExitCode.OK, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert {row[0]: row[1] for row in rows if row and row[0] in weights} == shown


@pytest.mark.parametrize(("value", "sent"), [("none", None), ("NONE", None), ("64", 64)])
def test_max_window_none_lifts_the_window_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, sent: int | None
) -> None:
    budgets: list[Budget] = []
    recommend_as_usual = AdvisorClient.recommend

    def recorded(
        self: AdvisorClient, task: object, budget: dict[str, object], **kw: object
    ) -> object:
        budgets.append(Budget.model_validate(budget))
        return recommend_as_usual(self, task, budget, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(AdvisorClient, "recommend", recorded)
    task = write(tmp_path, "task.yaml", yaml.safe_dump(SYMMETRY))
    result = advisor("recommend", task, "--budget", "5000", "--top", "1", "--max-window", value)
    assert result.status == ExitCode.OK, result.stderr
    assert [b.max_window for b in budgets] == [sent]


@pytest.mark.parametrize("option", ["--max-window", "--max-step"])
def test_a_bound_too_long_for_any_budget_is_told_so(tmp_path: Path, option: str) -> None:
    # A bound is read as a count is (1e3 is 1000), but one past 30 digits was told "invalid
    # value '1e40' (a whole number, or none for no bound)", which 1e40 is.
    task = write(tmp_path, "task.yaml", yaml.safe_dump(SYMMETRY))
    result = advisor("recommend", task, "--budget", "5000", option, "1e40")
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line == f"advisor: error: {option}: 1e40 is larger than any budget (2^63 - 1 at most)"


@pytest.mark.parametrize("command", ["recommend", "infer"])
def test_a_seed_too_long_for_any_seed_is_told_a_seeds_range(tmp_path: Path, command: str) -> None:
    # Read as a count is, a seed past 30 digits was told "larger than any budget (2^63 - 1 at
    # most)": a seed is no budget. A malformed seed is told as a malformed count still.
    task = write(tmp_path, "task.yaml", yaml.safe_dump(SYMMETRY))
    given = [task, "--budget", "5000"] if command == "recommend" else ["data.npy"]
    result = advisor(command, *given, "--seed", "2e40")
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: --seed: 2e40 is larger than any seed (a seed runs from 0 to 2^63 - 1)"
    )
    result = advisor(command, *given, "--seed", "2.5")
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: --seed: invalid value '2.5' "
        "(a whole number: 200000, 200_000, 2e5, 200k or 25M; the prefixes are k or K, M, G and T)"
    )


def test_a_target_port_past_65535_is_refused_not_wrapped() -> None:
    # `--target localhost:115587` (a digit too many) called port 50051, 115587 modulo 65536:
    # gRPC keeps a port's low 16 bits, so the command reached whatever server listened there.
    result = advisor("presets", "--target", "localhost:115587")
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line == "advisor: error: --target: port '115587' is not a port number, 1 to 65535"


def test_a_url_as_target_is_named_as_its_option() -> None:
    # `--target http://host:port` was UNAVAILABLE (exit 5), gRPC failing to resolve the URL as
    # a host name, as if the server were down.
    result = advisor("presets", "--target", "http://localhost:50051")
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: --target: is a URL; a gRPC target is host:port: pass 'localhost:50051'"
    )


def test_a_socket_target_that_names_no_socket_is_named_as_its_option() -> None:
    # `--target unix:` was UNAVAILABLE "empty address list" (exit 5), as if the server were down.
    result = advisor("presets", "--target", "unix:")
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: --target: unix: names no socket: give its path or name, e.g. "
        "unix:/run/advisor.sock"
    )
