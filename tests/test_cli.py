"""The ``advisor`` command, run as a user runs it.

Each format must parse and carry the contract fields, a recommended architecture must feed back
into ``advisor analyze``, failures must be one line with the right exit status, and the command
must work both with its embedded server and against a server given by ``--target``. Most tests
call ``main(argv)`` in this process with stdout and stderr captured; a few run the installed
console script as a process, for what only a process shows: the entry point, the exit status the
shell sees, and SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import yaml
from grpc_health.v1 import health_pb2

from advisor.cli import commands as commands_module
from advisor.cli.format import render_search_result
from advisor.cli.json_output import readable_json
from advisor.cli.main import build_parser, main
from advisor.cli.options import ExitCode, count
from advisor.cli.progress import ProgressBar, progress_bar_for
from advisor.errors import FieldViolation
from advisor.export.yaml_output import readable_yaml
from advisor.model.architecture import parse_architecture
from advisor.model.budget import Budget
from advisor.model.exact_bounds import EXACT_MAX_LOG2_SIZE
from advisor.model.results import SearchProgress, SearchResult
from advisor.model.task import parse_task
from advisor.search.recommend import recommend
from advisor.service import limit_violations
from advisor.service import servicer as service_servicer
from advisor.service import status as service_status
from advisor.service.admission import SaturatedError
from advisor.service.command import main as serve_main
from advisor.service.limits import LONGEST_SECONDS, RequestLimits
from advisor.service.server import ServerConfig, start_server
from tests.support.certificates import make_certificates
from tests.support.draining import held_draining
from tests.support.scripted import ScriptedAdvisor, scripted_server

CONSOLE_SCRIPT = Path(sys.executable).with_name("advisor")
CLI_DOC = Path(__file__).resolve().parent.parent / "docs" / "CLI.md"
EXAMPLES = CLI_DOC.parent.parent / "examples"
TASK = {
    "input": {"shape": [4, 4]},
    "correlations": [
        {"name": "left-right", "a": {"box": {"start": [0, 0], "stop": [4, 2]}}},
        {"name": "corner", "a": {"indices": [0]}, "b": {"indices": [15]}, "weight": 0.5},
    ],
}
SEARCH = ["--budget", "2000", "--top", "2", "--time-limit", "60"]
"""A search of TASK with a limit it never reaches (it completes in about 0.06 s): at 3 s a loaded
machine cut it to one design, and the tests that read two failed."""
RECOMMENDATION_FIELDS = {"rank", "score", "parameters", "architecture", "analysis", "rationale"}
ANALYSIS_FIELDS = {"name", "log2_separation_rank", "log2_max_rank", "certificate"}
TOKEN = "cli-test-token"
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True)
class Run:
    """How one ``advisor`` command ended: its exit status and everything it printed."""

    status: int
    stdout: str
    stderr: str


class _Terminal(io.StringIO):
    """A captured stream that says it is a terminal, as stderr is in an interactive shell."""

    def isatty(self) -> bool:
        return True


def advisor(*args: str | Path, terminal: bool = False) -> Run:
    """Run ``advisor *args`` in this process; stderr is a terminal when ``terminal``."""
    stdout, stderr = io.StringIO(), _Terminal() if terminal else io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main([str(arg) for arg in args])
        except SystemExit as exit_:  # argparse ends --help and usage errors this way
            assert isinstance(exit_.code, int)
            status = exit_.code
    return Run(status, stdout.getvalue(), stderr.getvalue())


def advisor_process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``advisor`` console script as a process."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"no console script at {CONSOLE_SCRIPT}: the project is not installed")
    command = [str(CONSOLE_SCRIPT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def assert_one_error_line(result: Run | subprocess.CompletedProcess[str], code: ExitCode) -> str:
    status = result.status if isinstance(result, Run) else result.returncode
    assert status == code, result.stderr
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
    assert result.status == 0, result.stderr
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
    assert result.status == 0, result.stderr
    analysis = json.loads(result.stdout)
    assert analysis["parameters"] == best["parameters"]
    assert analysis["activations"] == best["activations"] > 0
    ranks = {c["name"]: c["log2_separation_rank"] for c in analysis["correlations"]}
    assert ranks == {c["name"]: c["log2_separation_rank"] for c in best["analysis"]}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_saved_result_feeds_analyze_by_rank(
    yaml_result: dict[str, Any], task_file: Path, tmp_path: Path, suffix: str
) -> None:
    """A result saved as recommend printed it is an --arch: its first, or its --rank K."""
    saved = tmp_path / f"result{suffix}"
    saved.write_text(json.dumps(yaml_result) if suffix == ".json" else yaml.safe_dump(yaml_result))
    recommendations = yaml_result["recommendations"]
    assert len(recommendations) >= 2
    for rank in (None, 2):
        chosen = recommendations[0 if rank is None else 1]
        extra = () if rank is None else ("--rank", str(rank))
        result = advisor("analyze", task_file, "--arch", saved, *extra, "--format", "json")
        assert result.status == 0, result.stderr
        analysis = json.loads(result.stdout)
        assert analysis["parameters"] == chosen["parameters"]
        figures = {c["name"]: c["log2_separation_rank"] for c in analysis["correlations"]}
        assert figures == {c["name"]: c["log2_separation_rank"] for c in chosen["analysis"]}
    absent = len(recommendations) + 1
    line = assert_one_error_line(
        advisor("analyze", task_file, "--arch", saved, "--rank", str(absent)),
        ExitCode.INVALID_ARGUMENT,
    )
    ranks = [r["rank"] for r in recommendations]
    assert line == f"advisor: error: --rank: {saved} holds the ranks {ranks}"


@pytest.mark.parametrize(
    ("recommendations", "expected"),
    [
        (
            5,
            "architecture.recommendations: must be a list of recommendations, got int "
            "(from {saved})",
        ),
        (
            {"rank": 1},
            "architecture.recommendations: must be a list of recommendations, got dict "
            "(from {saved})",
        ),
        (
            [],
            "architecture.recommendations: a recommend result with no recommendation "
            "(from {saved})",
        ),
        (
            [{"rank": True}],
            "architecture.recommendations[0].rank: must be a whole number from 1, a "
            "recommendation's rank; got True (from {saved})",
        ),
        (
            [{"rank": 1.0}],
            "architecture.recommendations[0].rank: must be a whole number from 1, a "
            "recommendation's rank; got 1.0 (from {saved})",
        ),
    ],
)
def test_a_hand_edited_result_is_refused_on_what_is_wrong_with_it(
    tmp_path: Path, recommendations: Any, expected: str
) -> None:
    """A result's ``recommendations`` that are no list were called "no recommendation", and
    ``rank: true`` or ``rank: 1.0`` was taken for ``--rank 1`` (``True == 1.0 == 1`` in Python),
    where a rank, a count, is an integer (docs/FORMATS.md): each is told what it is."""
    architecture = yaml.safe_load((EXAMPLES / "architectures" / "permutation.yaml").read_text())
    if isinstance(recommendations, list):
        recommendations = [{**r, "architecture": architecture} for r in recommendations]
    saved = tmp_path / "result.yaml"
    saved.write_text(yaml.safe_dump({"recommendations": recommendations}))
    task = tmp_path / "task.yaml"
    task.write_text("input: {shape: [4, 4]}\npreset: symmetry\n")
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", saved, "--rank", "1"), ExitCode.INVALID_ARGUMENT
    )
    assert line == "advisor: error: " + expected.format(saved=saved)


def test_rank_with_an_architecture_file_is_refused(
    yaml_result: dict[str, Any], task_file: Path, tmp_path: Path
) -> None:
    arch_file = tmp_path / "best.yaml"
    arch_file.write_text(yaml.safe_dump(yaml_result["recommendations"][0]["architecture"]))
    line = assert_one_error_line(
        advisor("analyze", task_file, "--arch", arch_file, "--rank", "1"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line == f"advisor: error: --rank: {arch_file} is an architecture, not a result"


@pytest.mark.parametrize("command", ["analyze", "export"])
def test_rank_with_a_task_file_is_told_it_is_a_task(task_file: Path, command: str) -> None:
    # It was called an architecture, where without --rank the same file is told it is a task.
    arguments = (
        ("analyze", task_file, "--arch", task_file)
        if command == "analyze"
        else ("export", task_file, "--output", "-")
    )
    line = assert_one_error_line(advisor(*arguments, "--rank", "2"), ExitCode.INVALID_ARGUMENT)
    assert line.startswith("advisor: error: architecture: is a task (it has ")
    assert "not an architecture" in line and "--rank" not in line


def test_a_bad_design_in_a_saved_result_is_named_where_it_lies(
    yaml_result: dict[str, Any], task_file: Path, tmp_path: Path
) -> None:
    edited = copy.deepcopy(yaml_result)
    edited["recommendations"][1]["architecture"]["layers"][0]["channels"] = 0
    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(edited))
    line = assert_one_error_line(
        advisor("analyze", task_file, "--arch", saved, "--rank", "2"), ExitCode.INVALID_ARGUMENT
    )
    field = "architecture.recommendations[1].architecture.layers[0].channels"
    assert line.startswith(f"advisor: error: {field}: "), line


def test_a_file_nested_past_what_can_be_read_is_refused_naming_it(
    task_file: Path, tmp_path: Path
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"input": {"shape": [8]}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for arguments, kind in (
        ((deep, "--arch", task_file), "task"),
        ((task_file, "--arch", deep), "architecture"),
    ):
        line = assert_one_error_line(advisor("analyze", *arguments), ExitCode.INVALID_ARGUMENT)
        assert line == (
            f"advisor: error: {kind}: cannot read {kind} file '{deep}': it is nested too deeply "
            "to read"
        ), line


def test_embedded_default_recommends_in_json(task_file: Path) -> None:
    result = advisor("recommend", task_file, *SEARCH, "--format", "json")
    assert result.status == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["recommendations"]
    assert set(document["recommendations"][0]) >= RECOMMENDATION_FIELDS


def test_a_video_with_local_structure_is_pooled_in_space_first_as_c3d_pools(
    tmp_path: Path,
) -> None:
    # Every level of a video's trees pooled every axis from the bottom (2x2x2); the pick for
    # a local task is now C3D's design, 1x2x2 and then 2x2x2.
    video = tmp_path / "video.yaml"
    video.write_text(yaml.safe_dump({"input": {"shape": [4, 8, 8]}, "preset": "local"}))
    result = advisor("recommend", video, "--budget", "500000", "--top", "1", "--format", "json")
    assert result.status == 0, result.stderr
    (recommendation,) = json.loads(result.stdout)["recommendations"]
    assert recommendation["architecture"]["family"] == "contiguous"
    pools = [layer["pool"] for layer in recommendation["architecture"]["layers"]]
    assert pools == [[1, 2, 2], [2, 2, 2], [2, 2, 2]]


def test_table_is_a_ranked_list_for_people(task_file: Path) -> None:
    result = advisor("recommend", task_file, *SEARCH)
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "candidates" in lines[0]
    assert any(line.startswith("#1  ") for line in lines)
    assert any("left-right" in line and "corner" not in line for line in lines)
    assert any(line.strip().startswith("why: ") for line in lines)


def _whys(table: str) -> list[str]:
    """The ``why:`` text of every design in a table, unwrapped."""
    whys: list[str] = []
    for line in table.splitlines():
        if line.startswith("    why: "):
            whys.append(line.removeprefix("    why: "))
        elif whys and line.startswith("         ") and not line.startswith("          "):
            whys[-1] += " " + line.strip()
    return whys


def test_the_table_says_each_designs_summary_and_explain_its_whole_rationale(
    task_file: Path,
) -> None:
    # The table printed every design's whole rationale: 20-30 lines a design.
    document = json.loads(advisor("recommend", task_file, *SEARCH, "--format", "json").stdout)
    designs = document["recommendations"]
    assert all(d["summary"] and d["rationale"].startswith(d["summary"][:40]) for d in designs)
    brief = advisor("recommend", task_file, *SEARCH)
    assert _whys(brief.stdout) == [d["summary"] for d in designs]
    assert "--explain prints the whole rationales" in brief.stdout
    explained = advisor("recommend", task_file, *SEARCH, "--explain")
    assert _whys(explained.stdout) == [d["rationale"] for d in designs]
    assert "--explain" not in explained.stdout


def test_explain_with_a_document_format_is_refused_naming_it(task_file: Path) -> None:
    refused = advisor("recommend", task_file, *SEARCH, "--format", "json", "--explain")
    line = assert_one_error_line(refused, ExitCode.INVALID_ARGUMENT)
    assert line.startswith("advisor: error: --explain: applies to --format table")


def test_progress_bar_on_a_terminal(task_file: Path) -> None:
    result = advisor("recommend", task_file, *SEARCH, "--format", "json", terminal=True)
    assert result.status == 0, result.stderr
    assert "searching [" in result.stderr
    assert json.loads(result.stdout)["recommendations"]


def test_presets_in_every_format(target: str, token_file: Path) -> None:
    connection: list[str | Path] = ["--target", target, "--token-file", token_file]
    as_json = advisor("presets", "--format", "json", *connection)
    assert as_json.status == 0, as_json.stderr
    presets = json.loads(as_json.stdout)["presets"]
    assert {p["kind"] for p in presets} <= {"region", "task"}
    as_yaml = advisor("presets", "--format", "yaml", *connection)
    assert as_yaml.status == ExitCode.OK
    assert yaml.safe_load(as_yaml.stdout)["presets"] == presets
    as_table = advisor("presets", *connection)
    assert as_table.status == ExitCode.OK
    # A description wraps within the terminal's width: read with its line breaks as spaces.
    read = " ".join(as_table.stdout.split())
    assert all(
        p["name"] in read and " ".join(p["description"].split("\n")[0].split()) in read
        for p in presets
    )


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


def test_the_documented_error_example_is_what_the_command_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    task = Path("task.yaml")
    task.write_text("input: {shape: [16, 16]}\ncorrelations: [{name: c, a: {indices: [0, 300]}}]\n")
    line = assert_one_error_line(
        advisor("recommend", task, "--budget", "1000"), ExitCode.INVALID_ARGUMENT
    )
    assert f"\n    {line}\n" in CLI_DOC.read_text(encoding="utf-8")


def test_the_readme_s_analysis_is_what_its_analyze_command_prints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's sample output is the table its ``advisor analyze`` example prints.

    As an 80-column terminal shows it: the table wraps its prose within the terminal's width.
    """
    monkeypatch.setenv("COLUMNS", "80")
    root = CLI_DOC.parent.parent
    task, architecture = (
        EXAMPLES / "tasks" / "symmetry.yaml",
        EXAMPLES / "architectures" / "mirror.yaml",
    )
    command = f"analyze {task.relative_to(root)} --arch {architecture.relative_to(root)}"
    readme = (root / "README.md").read_text(encoding="utf-8")
    shown = re.search(rf"{re.escape(command)}\n```\n\n```\n(.*?)```", readme, re.DOTALL)
    assert shown, "the README shows no output after its analyze example"
    result = advisor("analyze", task, "--arch", architecture)
    assert result.status == ExitCode.OK, result.stderr
    assert result.stdout == shown.group(1)


def test_every_option_of_every_command_is_documented() -> None:
    """Each option ``--help`` lists, of ``advisor`` and each subcommand, is in docs/CLI.md."""
    parser = build_parser()
    commands = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    documented = CLI_DOC.read_text(encoding="utf-8")
    missing = {
        (name, flag)
        for name, command in [("advisor", parser), *commands.choices.items()]
        for action in command._actions
        for flag in action.option_strings
        if flag.startswith("--")
        and flag != "--help"
        and not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", documented)
    }
    assert not missing, f"options docs/CLI.md does not name: {sorted(missing)}"


def _documented_shape(text: str) -> dict[str, Any]:
    """Parse a document's outline as docs/CLI.md writes it: ``{a, b: [{c, d}], e}``.

    Returns each key mapped to None, or to the outline of its record (of the records its list
    holds), so the keys the page names can be compared with those the command writes.
    """
    tokens = re.findall(r"\w+|[{}\[\],:]", text)
    position = 0

    def record() -> dict[str, Any]:
        nonlocal position
        assert tokens[position] == "{", text
        position += 1
        keys: dict[str, Any] = {}
        while tokens[position] != "}":
            name = tokens[position]
            keys[name] = None
            position += 1
            if tokens[position] == ":":
                listed = tokens[position + 1] == "["
                position += 2 if listed else 1
                keys[name] = record()
                position += 1 if listed else 0
            if tokens[position] == ",":
                position += 1
        position += 1
        return keys

    return record()


def _assert_keys_as_documented(documented: dict[str, Any], written: dict[str, Any]) -> None:
    assert list(written) == list(documented), f"written {list(written)}, documented {documented}"
    for name, outline in documented.items():
        if outline is not None:
            value = written[name]
            _assert_keys_as_documented(outline, value[0] if isinstance(value, list) else value)


def test_the_documents_have_the_keys_docs_cli_md_lists(
    yaml_result: dict[str, Any], tmp_path: Path
) -> None:
    """docs/CLI.md's outline of each command's document names its keys, in their order."""
    outlines = {
        command: _documented_shape(outline)
        for command, outline in re.findall(
            r"^- `(\w+)`: `(\{[^`]*\})`", CLI_DOC.read_text(encoding="utf-8"), re.MULTILINE
        )
    }
    assert set(outlines) == {"recommend", "analyze", "presets"}
    architecture = EXAMPLES / "architectures" / "contiguous.yaml"
    task = tmp_path / "task.yaml"
    task.write_text(
        yaml.safe_dump({**TASK, "input": yaml.safe_load(architecture.read_text())["input"]})
    )
    analyzed = advisor("analyze", task, "--arch", architecture, "--format", "json")
    presets = advisor("presets", "--format", "json")
    assert analyzed.status == presets.status == ExitCode.OK, analyzed.stderr + presets.stderr
    _assert_keys_as_documented(outlines["recommend"], yaml_result)
    _assert_keys_as_documented(outlines["analyze"], json.loads(analyzed.stdout))
    _assert_keys_as_documented(outlines["presets"], json.loads(presets.stdout))


def test_bad_option_names_the_option(task_file: Path) -> None:
    line = assert_one_error_line(
        advisor("recommend", task_file, "--budget", "0"), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: --budget: ")


def test_dilations_asked_for_but_switched_off_name_the_option_that_switched_them_off(
    task_file: Path,
) -> None:
    line = assert_one_error_line(
        advisor(
            "recommend",
            task_file,
            "--budget",
            "20000",
            "--geometries",
            "dilations",
            "--no-search-dilations",
        ),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line == (
        "advisor: error: --geometries[0]: dilation orders are not searched "
        "(--search-dilations is off)"
    )


def test_a_representation_range_no_allowed_width_meets_is_refused_naming_the_option(
    task_file: Path,
) -> None:
    line = assert_one_error_line(
        advisor(
            "recommend",
            task_file,
            "--budget",
            "200000",
            "--min-representation",
            "64",
            "--channels",
            "16",
            "32",
        ),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line == (
        "advisor: error: --min-representation: is 64, wider than every allowed width (the "
        "widest is 32, --channels); lower it or allow wider widths"
    )


@pytest.mark.parametrize(
    ("option", "within"),
    [
        ("--max-macs", "multiply-adds within --budget needs "),
        ("--max-activations", "activations within --budget and --max-macs needs "),
    ],
)
def test_a_per_input_bound_nothing_fits_names_its_option_in_one_whole_line(
    task_file: Path, option: str, within: str
) -> None:
    line = assert_one_error_line(
        advisor("recommend", task_file, "--budget", "200000", option, "10"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line.startswith(f"advisor: error: {option}: is 10: ")
    # The fields the library's message names as fixes are named as the options that set them.
    assert within in line
    assert line.endswith("raise it or lower --min-width")


@pytest.mark.parametrize(
    ("options", "advice"),
    [
        # The narrowest allowed width (4) is the floor already: a lower --min-width admits nothing.
        (("--min-width", "1", "--max-activations", "100"), "allow narrower widths (--channels)"),
        (("--channels", "8", "16", "32", "--max-activations", "100"), "allow narrower widths"),
        (("--max-activations", "100"), "lower --min-width"),
    ],
)
def test_a_bound_nothing_fits_advises_what_admits_narrower_nets(
    task_file: Path, options: tuple[str, ...], advice: str
) -> None:
    line = assert_one_error_line(
        advisor("recommend", task_file, "--budget", "20000", *options),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line.startswith("advisor: error: --max-activations: is 100: ")
    assert line.split("; raise it or ")[-1].startswith(advice)


@pytest.mark.parametrize("option", [("--max-activations", "20000"), ("--min-width", "8")])
def test_a_budget_nothing_fits_advises_the_free_profile_only_where_it_would_be_taken(
    task_file: Path, option: tuple[str, str]
) -> None:
    # Advised beside a field the free profile refuses, it was refused at the next call.
    line = assert_one_error_line(
        advisor("recommend", task_file, "--budget", "50", *option), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: --budget: the smallest practical net ")
    assert "--width-profile" not in line
    taken = advisor("recommend", task_file, "--budget", "50", "--width-profile", "free", *option)
    assert taken.status == ExitCode.INVALID_ARGUMENT
    assert "applies to the practical width profile only" in taken.stderr


_BOUNDED = ("--budget", "20000", "--top", "3")


def test_an_activation_bound_holds_every_recommendation_within_it(task_file: Path) -> None:
    unbounded = json.loads(advisor("recommend", task_file, *_BOUNDED, "--format", "json").stdout)
    bound = unbounded["recommendations"][0]["activations"] - 1
    result = advisor(
        "recommend", task_file, *_BOUNDED, "--max-activations", str(bound), "--format", "json"
    )
    assert result.status == 0, result.stderr
    held = json.loads(result.stdout)["recommendations"]
    assert held and all(r["activations"] <= bound for r in held)


@pytest.mark.parametrize(
    ("budget", "advice"),
    [
        ("40", "lower --min-width or set --width-profile to free (its smallest net needs 33 "),
        (
            "10",
            "no net of the allowed widths fits it: the smallest of any width profile (the free "
            "profile's, depth 1, every width 4) needs 33",
        ),
    ],
)
def test_a_budget_nothing_fits_names_the_options_to_change(
    task_file: Path, budget: str, advice: str
) -> None:
    line = assert_one_error_line(
        advisor("recommend", task_file, "--budget", budget), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: --budget: the smallest practical net ")
    assert advice in line
    assert "budget." not in line


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--min-depth", "5", "--max-depth", "2"], "--max-depth: must be at least --min-depth (5)"),
        (
            ["--min-representation", "64", "--max-representation", "4"],
            "--max-representation: must be at least --min-representation (64)",
        ),
        (
            ["--width-profile", "free", "--max-macs", "1e7"],
            "--max-macs: applies to the practical width profile only (--width-profile): ",
        ),
    ],
)
def test_options_that_contradict_each_other_are_named_as_options(
    task_file: Path, options: list[str], said: str
) -> None:
    """The budget's checks across fields name both fields as the options that set them."""
    line = assert_one_error_line(
        advisor("recommend", task_file, "--budget", "1000", *options), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith(f"advisor: error: {said}")
    assert "budget." not in line


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("200000", 200_000),
        ("200_000", 200_000),
        ("2e5", 200_000),
        ("2.5E5", 250_000),
        ("1e0", 1),
        ("1_0e0_1", 100),
        ("+2.e3", 2_000),
        ("25M", 25_000_000),
        ("2.5M", 2_500_000),
        ("200k", 200_000),
        ("200K", 200_000),
        ("1_000k", 1_000_000),
        ("1.5G", 1_500_000_000),
        ("2T", 2_000_000_000_000),
        (" 3k ", 3_000),
    ],
)
def test_a_count_is_read_as_written(text: str, value: int) -> None:
    assert count(text) == value


@pytest.mark.parametrize("text", ["1.0005k", "1e3k", "2m", "k", "2kk", "2 k", "2Mi", "0.1234567M"])
def test_a_prefixed_count_is_whole_or_refused(text: str) -> None:
    """A decimal prefix scales exactly, and what it leaves fractional or unclear is refused."""
    with pytest.raises(ValueError, match=re.escape(text)):
        count(text)


def test_a_prefixed_count_keeps_every_digit() -> None:
    """The prefix shifts the digits (29 of them here), rounding none as a decimal context would."""
    assert count("12345678901234567890123456.789k") == 12345678901234567890123456789


@pytest.mark.parametrize("text", ["_100000", "1__0", "100_", "1e_5", "1_.5e5", "1.5_e5", "1e5_"])
def test_an_underscore_stands_only_between_two_digits(text: str) -> None:
    with pytest.raises(ValueError, match=text):
        count(text)


@pytest.mark.parametrize("text", ["2.5e-1", "1.5", "inf", "nan", "1e999999999", "two"])
def test_a_budget_that_is_no_whole_number_names_the_option(task_file: Path, text: str) -> None:
    line = assert_one_error_line(
        advisor("recommend", task_file, "--budget", text), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: --budget: ")


@pytest.mark.parametrize("written", ["2e3", "2k"])
def test_a_budget_in_scientific_notation_is_that_budget(task_file: Path, written: str) -> None:
    short = advisor("recommend", task_file, "--budget", written, "--format", "json")
    spelt = advisor("recommend", task_file, "--budget", "2000", "--format", "json")
    assert short.status == spelt.status == ExitCode.OK, short.stderr
    results = [json.loads(run.stdout) for run in (short, spelt)]
    for result in results:
        del result["search_seconds"]
    assert results[0] == results[1]


def test_a_negative_seed_names_the_option(task_file: Path) -> None:
    line = assert_one_error_line(
        advisor("recommend", task_file, "--budget", "200000", "--seed", "-1"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line.startswith("advisor: error: --seed: ")


def test_the_embedded_server_takes_an_imagenet_sized_input(tmp_path: Path) -> None:
    path = tmp_path / "imagenet.yaml"
    path.write_text("input: {shape: [224, 224]}\npreset: symmetry\n")
    result = advisor("recommend", path, "--budget", "200000", "--time-limit", "5", "--top", "1")
    assert result.status == ExitCode.OK, result.stderr
    assert result.stdout.startswith("1 recommendation from ")


def test_usage_errors_are_exit_2(task_file: Path) -> None:
    result = advisor("recommend", task_file)
    assert result.status == ExitCode.INVALID_ARGUMENT
    assert "--budget" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            ["--budget", "abc"],
            "--budget: invalid value 'abc' "
            "(a whole number: 200000, 200_000, 2e5, 200k or 25M; "
            "the prefixes are k or K, M, G and T)",
        ),
        (
            ["--budget", "25m"],
            "--budget: invalid value '25m' "
            "(a whole number: 200000, 200_000, 2e5, 200k or 25M; "
            "the prefixes are k or K, M, G and T)",
        ),
        (
            ["--top", "1.5"],
            "--top: invalid value '1.5' "
            "(a whole number: 200000, 200_000, 2e5, 200k or 25M; "
            "the prefixes are k or K, M, G and T)",
        ),
        (
            ["--objective", "max"],
            "--objective: invalid value 'max' (choose from weighted, maximin)",
        ),
        (
            ["--from-data", "arrangment"],
            "--from-data: invalid value 'arrangment' (choose from correlations, arrangement); "
            "did you mean 'arrangement'?",
        ),
        (
            ["--geometries", "mirrr"],
            "--geometries[0]: Input should be 'contiguous', 'mirror', 'interleaved', "
            "'dilations', 'synthesized', 'mixture' or 'data_arranged'; did you mean 'mirror'?",
        ),
    ],
)
def test_a_usage_error_is_one_line_naming_the_option(
    task_file: Path, options: list[str], error: str
) -> None:
    result = advisor("recommend", task_file, "--budget", "5000", *options)
    assert assert_one_error_line(result, ExitCode.INVALID_ARGUMENT) == f"advisor: error: {error}"


@pytest.mark.parametrize(
    ("command", "abbreviated", "meant"),
    [
        (["recommend", "TASK", "--budget", "5000"], ["--outp", "3"], "--outputs"),
        (["recommend", "TASK", "--budget", "5000"], ["--rep", "3"], None),  # too short to tell
        (["analyze", "TASK", "--arch", "TASK"], ["--form", "json"], "--format"),  # a shared one
        (["infer", "data.npy"], ["--out", "task.yaml"], "--output"),
        (["serve"], ["--por", "abc"], "--port"),
    ],
)
def test_an_abbreviated_option_is_refused_as_unrecognized(
    task_file: Path, command: list[str], abbreviated: list[str], meant: str | None
) -> None:
    # argparse would take each as the option it begins, silently: --output 3 set --outputs
    # (--output itself is told where a result goes: test_a_misspelt_option_is_told_...).
    # The option it resembles is suggested, not taken.
    argv = [task_file if word == "TASK" else word for word in command]
    result = advisor(*argv, *abbreviated)
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    hint = "" if meant is None else f"; did you mean {meant!r}?"
    assert line == f"advisor: error: unrecognized arguments: {' '.join(abbreviated)}{hint}"


def test_version_written_as_a_command_is_told_the_option() -> None:
    line = assert_one_error_line(advisor("version"), ExitCode.INVALID_ARGUMENT)
    assert line.endswith("; did you mean advisor --version?"), line


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (
            ["recommend", "TASK", "--budget", "5000", "--fromat", "json"],
            "; did you mean '--format'?",
        ),
        # Only the chosen command's options: analyze has no --budget to suggest.
        (["analyze", "TASK", "--arch", "TASK", "--bugdet", "5000"], ""),
        # --output was told --outputs, the network's output count.
        (
            ["recommend", "TASK", "--budget", "5000", "--output", "x"],
            "; this command writes its result on standard output: redirect it (> result.yaml), "
            "and --outputs is the network's output count",
        ),
        (
            ["recommend", "TASK", "--bugdet", "5000", "--tme-limit=3"],
            "; --bugdet: did you mean '--budget'?; --tme-limit: did you mean '--time-limit'?",
        ),
        # A budget field's name is told the option that sets it, not the one spelt closest
        # (--top-k, --data's pairs per location) or none.
        (
            ["recommend", "TASK", "--max-parameters", "20k"],
            "; did you mean '--budget'? (it sets max_parameters)",
        ),
        (
            ["recommend", "TASK", "--budget", "5000", "--max-multiply-adds", "9"],
            "; did you mean '--max-macs'? (it sets max_multiply_adds)",
        ),
        (
            ["recommend", "TASK", "--budget", "5000", "--top_k", "3"],
            "; did you mean '--top'? (it sets top_k)",
        ),
        # So is a field's name misspelt, which resembles no option.
        (
            ["recommend", "TASK", "--max-paramters", "20k"],
            "; did you mean '--budget'? (it sets max_parameters)",
        ),
        # An option of advisor itself after the command was told it resembled itself.
        (
            ["recommend", "--version"],
            "; it is advisor's own option, so it goes before the command (advisor --version)",
        ),
    ],
)
def test_a_misspelt_option_is_told_the_closest_of_its_command(
    task_file: Path, argv: list[str], hint: str
) -> None:
    # "unrecognized arguments: --fromat json" said nothing of --format, while a misspelt choice
    # or file key is told the closest.
    result = advisor(*(task_file if word == "TASK" else word for word in argv))
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line.startswith("advisor: error: unrecognized arguments: --") and line.endswith(hint)
    assert hint or "did you mean" not in line


def test_a_representation_kernel_wider_than_the_input_names_the_option(tmp_path: Path) -> None:
    task = tmp_path / "digits.yaml"
    task.write_text("input: {shape: [28, 28]}\npreset: local\noutputs: 10\n")
    result = advisor("recommend", task, "--budget", "20000", "--representation-kernel", "64")
    assert assert_one_error_line(result, ExitCode.INVALID_ARGUMENT) == (
        "advisor: error: --representation-kernel: a 64-wide representation conv is wider than "
        "the smallest axis of the input [28, 28] (28)"
    )


def test_a_budget_under_a_floor_the_outputs_set_says_so(tmp_path: Path) -> None:
    task = tmp_path / "imagenet.yaml"
    task.write_text("input: {shape: [224, 224], channels: 3}\npreset: local\noutputs: 1000\n")
    result = advisor("recommend", task, "--budget", "1000000")
    assert assert_one_error_line(result, ExitCode.INVALID_ARGUMENT) == (
        "advisor: error: --budget: the smallest practical net within the window bounds "
        "(hidden widths >= 512, the 1,000 outputs capped at the widest allowed width) needs "
        "1,303,544 parameters; lower --min-width or set --width-profile to free (its smallest "
        "net needs 5,036 parameters); --max-window: is 16 (the default, widened "
        "to 49: no tree the search builds within the depth bounds meets 16), and leaves out "
        "the nets within "
        "--budget: raise it to 50,176 for depth 1 (515,576 "
        "parameters), or to 1,024 for depth 2 (778,232 parameters)"
    )


def test_help_prints_the_whole_usage() -> None:
    result = advisor("recommend", "--help")
    assert result.status == ExitCode.OK
    assert result.stdout.startswith("usage: advisor recommend") and "--max-macs N" in result.stdout


@pytest.mark.parametrize("command", [[], ["recommend"]])
def test_help_fits_the_terminal_its_exit_statuses_under_their_codes(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The exit statuses' lines ran to 230 columns, and advisor's description to 100: kept as
    # written, they ran past an 80-column terminal, which broke them wherever its edge fell.
    monkeypatch.setenv("COLUMNS", "80")
    result = advisor(*command, "--help")
    assert result.status == ExitCode.OK
    assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
    statuses = result.stdout.partition("exit status:\n")[2].splitlines()
    assert statuses[-2:] == [
        "  143  SIGTERM ended the command (a cancelled job, a stopped container):",
        "       nothing is printed but the error line",
    ]


def _help_of_advisor_server() -> Run:
    """Run ``advisor-server --help`` in this process."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), pytest.raises(SystemExit) as ended:
        serve_main(["--help"])
    assert isinstance(ended.value.code, int)
    return Run(ended.value.code, stdout.getvalue(), "")


@pytest.mark.parametrize("helped", [lambda: advisor("serve", "--help"), _help_of_advisor_server])
def test_serve_help_lists_the_statuses_a_server_ends_with(
    helped: Callable[[], Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    # serve's help listed the client commands' statuses, 143 for SIGTERM among them, where
    # SIGTERM drains a server and ends it 0; and its description left SIGHUP out.
    monkeypatch.setenv("COLUMNS", "80")
    result = helped()
    assert result.status == ExitCode.OK
    assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
    assert "until SIGTERM, SIGHUP or Ctrl-C" in " ".join(result.stdout.split())
    statuses = result.stdout.partition("exit status:\n")[2]
    assert re.findall(r"^  (\d+) ", statuses, re.MULTILINE) == ["0", "1", "2", "7"]
    assert statuses.startswith("  0    stopped by SIGTERM, SIGHUP or Ctrl-C, after draining")
    # A second signal was said to end the drain "at once", where the calls get about a second.
    assert "at once" not in statuses and "about a second" in " ".join(statuses.split())
    # The variables that shape the log were told nowhere in the help.
    environment = result.stdout.partition("environment:\n")[2].partition("exit status:")[0]
    assert re.findall(r"^  (\S+) ", environment, re.MULTILINE) == [
        "ADVISOR_LOG_LEVEL",
        "ADVISOR_LOG_FORMAT",
    ]


def test_export_help_lists_only_the_statuses_export_ends_with() -> None:
    # export makes no call, yet its help listed the calls' statuses 3 to 7 and named options
    # it refuses as unrecognized (--token-file, --timeout, --max-message-bytes).
    result = advisor("export", "--help")
    assert result.status == ExitCode.OK
    usage, _, statuses = result.stdout.partition("exit status:\n")
    assert re.findall(r"^  (\d+) ", statuses, re.MULTILINE) == ["0", "1", "2", "130", "141", "143"]
    named = set(re.findall(r"--[a-z][a-z-]*", statuses))
    assert named <= set(re.findall(r"--[a-z][a-z-]*", usage)), statuses


def test_unreachable_target_is_exit_5() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = assert_one_error_line(
        advisor("presets", "--target", f"127.0.0.1:{port}", "--timeout", "5"),
        ExitCode.UNAVAILABLE,
    )
    # No server logged the call: its id would send an operator looking for nothing.
    assert "UNAVAILABLE" in line and "request id" not in line


def test_wrong_token_is_exit_3(target: str, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token")
    line = assert_one_error_line(
        advisor("presets", "--target", target, "--token-file", wrong), ExitCode.UNAUTHENTICATED
    )
    # The id of the call, which the server's access line names, for its operator.
    assert re.search(r"^advisor: error: UNAUTHENTICATED: .* \(request id [0-9a-f]{32}\)$", line)
    # A token sent and refused (the server's TOKEN_INVALID), not one missing.
    assert "the server refused the bearer token sent (--token-file): a wrong token" in line


def test_a_token_not_sent_is_told_apart_from_a_wrong_one(target: str) -> None:
    # The server's words, "missing or invalid bearer token", said neither which nor what to do;
    # its ErrorInfo (TOKEN_MISSING) says the call carried none.
    line = assert_one_error_line(advisor("presets", "--target", target), ExitCode.UNAUTHENTICATED)
    assert line.startswith(
        "advisor: error: UNAUTHENTICATED: the server requires a bearer token and the call "
        "reached it without one: pass --token-file, or, if you did, check that a proxy on the "
        "way passes the authorization header on (request id "
    ), line


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--limit", "no_such_limit=1"), "advisor: error: --limit no_such_limit: "),
        (("--limit", "max_top_k=0"), "advisor: error: --limit max_top_k: "),
        (("--config", "missing.yaml"), "advisor: error: --config: cannot read server config file"),
    ],
)
def test_serve_names_the_option_behind_a_bad_setting(
    options: tuple[str, ...], named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # missing.yaml is missing
    line = assert_one_error_line(advisor("serve", *options), ExitCode.INVALID_ARGUMENT)
    assert line.startswith(named), line


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("--tls-cert", "--tls-key"),
        ("--tls-key", "--tls-cert"),
        ("--tls-client-ca", "--tls-client-ca"),
    ],
)
def test_serve_names_tls_options_as_options(given: str, missing: str, tmp_path: Path) -> None:
    pem = tmp_path / "file.pem"
    pem.write_text("unread: the settings are refused first")
    line = assert_one_error_line(
        advisor("serve", "--port", "0", given, pem), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith(f"advisor: error: {missing}: "), line
    assert "tls_" not in line, line  # config-file names mean nothing on the command line


def test_only_the_process_command_line_freezes_the_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    # A usage error of the process's own command line: no server, and the exit comes next.
    monkeypatch.setattr(sys, "argv", ["advisor", "presets", "--tls-ca", "ca.pem"])
    gc.collect()  # nothing collectable left, so anything main() leaves is what it froze
    before = gc.get_freeze_count()  # the test session's own freeze (tests/conftest.py)
    try:
        assert advisor("presets", "--tls-ca", "ca.pem").status == ExitCode.INVALID_ARGUMENT
        assert gc.get_freeze_count() == before, "main(argv) left the caller's heap alone"
        with contextlib.redirect_stderr(io.StringIO()):
            assert main() == ExitCode.INVALID_ARGUMENT
        assert gc.get_freeze_count() > before, "main() froze the heap for the interpreter's exit"
    finally:
        gc.unfreeze()
        if before:
            gc.freeze()


def test_commands_in_this_process_leave_the_caller_s_logging_alone() -> None:
    # The embedded server's records are dropped while it runs; a pipeline calling main(argv)
    # hundreds of times kept one more root handler per command, and its own basicConfig() then
    # configured nothing, as the root logger had handlers already.
    root = logging.getLogger()
    before = list(root.handlers)
    for _ in range(3):
        assert advisor("presets").status == ExitCode.OK
    assert root.handlers == before


# --- the console script, as a process -----------------------------------------------------------


def test_console_script_help_lists_the_exit_codes() -> None:
    result = advisor_process("--help")
    assert result.returncode == 0, result.stderr
    assert "exit status" in result.stdout and "RESOURCE_EXHAUSTED" in result.stdout


def test_console_script_failure_is_one_line_and_its_exit_status(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    line = assert_one_error_line(
        advisor_process("analyze", missing, "--arch", missing), ExitCode.INVALID_ARGUMENT
    )
    assert "missing.yaml" in line


def test_serve_until_sigterm(token_file: Path) -> None:
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"no console script at {CONSOLE_SCRIPT}: the project is not installed")
    command = [str(CONSOLE_SCRIPT), "serve", "--port", "0", "--token-file", str(token_file)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            announced = server.stdout.readline().split()
            assert announced[:2] == ["listening", "on"], announced
            presets = advisor("presets", "--target", announced[2], "--token-file", token_file)
            assert presets.status == 0, presets.stderr
        finally:
            server.send_signal(signal.SIGTERM)
            _, log = server.communicate(timeout=30)
    assert server.returncode == 0, log
    assert "Traceback" not in log


# --- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize(("candidates", "said"), [(1, "1 candidate in"), (2, "2 candidates in")])
def test_the_table_counts_its_candidates_in_words(candidates: int, said: str) -> None:
    # A search stopped right after its baseline scored one candidate: "from 1 candidates".
    result = SearchResult([], candidates, 0.01, complete=False)
    assert f"0 recommendations from {said} 0.01 s (search stopped early" in (
        render_search_result(result, "table")
    )


def test_json_and_yaml_documents_agree_and_their_architectures_parse_back() -> None:
    result = recommend(
        parse_task(TASK), Budget(max_parameters=2000, top_k=2, time_limit_seconds=60)
    )
    as_yaml = yaml.safe_load(render_search_result(result, "yaml"))
    assert json.loads(render_search_result(result, "json")) == as_yaml
    documents = as_yaml["recommendations"]
    for recommendation, document in zip(result.recommendations, documents, strict=True):
        assert parse_architecture(document["architecture"]) == recommendation.architecture


def test_a_permutation_is_one_json_line_and_one_wrapped_yaml_flow_list() -> None:
    document = {"geometry": {"permutation": list(range(256))}}
    as_json = readable_json(document).splitlines()
    assert as_json[2] == f'    "permutation": {json.dumps(list(range(256)))}' and len(as_json) == 5
    as_yaml = readable_yaml(document).splitlines()
    assert as_yaml[1].startswith("  permutation: [") and as_yaml[-1].endswith("]")
    assert len(as_yaml) > 2
    assert yaml.safe_load("\n".join(as_yaml)) == document
    documented = " ".join(CLI_DOC.read_text(encoding="utf-8").split())
    assert "JSON puts a permutation on one line, YAML writes it as one flow list" in documented


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


@pytest.mark.parametrize("columns", [80, 60, 20])
def test_progress_bar_stays_within_the_terminal_width(columns: int) -> None:
    # An 85-character line wrapped on an 80-column terminal, and each carriage return redrew
    # only its last row: one stray row per update.
    stream = io.StringIO()
    with ProgressBar(stream, columns=columns) as bar:
        bar.update(SearchProgress(63_654, 24.6, 0.98, 1.0))
        bar.update_reading(1, 2)
    lines = [line for line in stream.getvalue().split("\r") if line.strip()]
    assert len(lines) == 2 and all(len(line) < columns for line in lines), lines
    if columns >= 60:  # the bar narrows before any figure is cut
        assert lines[0].endswith("] 100%  63,654 candidates  24.6 s  best 0.98")
        assert lines[0].startswith("searching [#")


# --- exit codes and connection options --------------------------------------------------------


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
def test_each_status_has_its_exit_code(code: grpc.StatusCode, exit_code: ExitCode) -> None:
    servicer = ScriptedAdvisor()
    servicer.failures["ListPresets"] = [code] * 8  # more than the client's attempts
    with scripted_server(servicer) as target:
        result = advisor("presets", "--target", target)
    assert result.status == exit_code
    # The call's id, which the server got as its x-request-id, for its operator (not for an
    # UNAVAILABLE, which mostly never reached a server).
    sent = servicer.metadata["ListPresets"]["x-request-id"]
    named = "" if code is grpc.StatusCode.UNAVAILABLE else f" (request id {sent!s})"
    assert result.stderr == f"advisor: error: {code.name}: scripted {code.name}{named}\n"


def test_a_draining_servers_refusal_names_the_request_id_it_logged() -> None:
    # A draining replica answers UNAVAILABLE with the id it logged the refusal by, which the
    # error line left off, as it does for an UNAVAILABLE that never reached a server.
    config = ServerConfig(workers=1, executor="threads", grace_seconds=60.0)
    with start_server(config) as running, held_draining(running):
        result = advisor("presets", "--target", running.address)
    line = assert_one_error_line(result, ExitCode.UNAVAILABLE)
    assert re.fullmatch(
        r"advisor: error: UNAVAILABLE: the server is shutting down \(request id [0-9a-f]{32}\)",
        line,
    )


def test_timeout_option_sets_the_deadline() -> None:
    servicer = ScriptedAdvisor()
    servicer.release = threading.Event()  # held: only the deadline can end the call
    with scripted_server(servicer) as target:
        result = advisor("presets", "--target", target, "--timeout", "0.2")
    line = assert_one_error_line(result, ExitCode.DEADLINE_EXCEEDED)
    # The command's one call is the first on its channel: it cannot tell a server that does not
    # answer from one it cannot reach, and says both.
    assert line.startswith(
        "advisor: error: DEADLINE_EXCEEDED: Deadline Exceeded (the call's timeout of 0.2 s ran "
        f"out before a server answered: check that the server is reachable at {target}, or pass "
        "a longer --timeout) (request id "
    )


def test_a_timeout_of_the_embedded_server_blames_no_reachability(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The command's own server is reachable by construction: "check that the server is
    # reachable at 127.0.0.1:PORT" sent users looking for a server they never started.
    def held() -> Any:
        time.sleep(2.0)  # ten times the timeout; the server's stop waits for the call's end
        return []

    monkeypatch.setattr(service_servicer, "list_presets", held)
    result = advisor("presets", "--timeout", "0.2")
    line = assert_one_error_line(result, ExitCode.DEADLINE_EXCEEDED)
    assert line == (
        "advisor: error: DEADLINE_EXCEEDED: Deadline Exceeded (the call's timeout of 0.2 s ran "
        "out: pass a longer --timeout)"
    )


def test_connection_options_need_a_target() -> None:
    result = advisor("presets", "--tls-ca", "ca.pem")
    assert result.status == ExitCode.INVALID_ARGUMENT
    assert result.stderr.startswith("advisor: error: --tls-ca: applies only with --target")


def test_busy_wait_waits_for_a_slot_of_a_busy_target() -> None:
    # Without it a busy server's refusal exits 6 at once; a script of parallel calls had to
    # loop around the command itself.
    servicer, busy = ScriptedAdvisor(), SaturatedError("all 1 advisor slots are busy; retry later")
    with scripted_server(servicer) as target:
        servicer.failures["ListPresets"] = [busy] * 2
        refused = advisor("presets", "--target", target)
        assert servicer.calls["ListPresets"] == 1
        waited = advisor("presets", "--target", target, "--busy-wait", "60")
        assert servicer.calls["ListPresets"] == 3  # refused once more, then answered
        servicer.failures["ListPresets"] = [busy] * 3
        seen = advisor("presets", "--target", target, "--busy-wait", "60", terminal=True)
        servicer.failures["ListPresets"] = [busy] * 99
        short = advisor("presets", "--target", target, "--busy-wait", "0.5")
    hint = "retry later (or let the command wait for one: --busy-wait S) (request id "
    assert hint in assert_one_error_line(refused, ExitCode.RESOURCE_EXHAUSTED)
    assert (waited.status, waited.stderr) == (ExitCode.OK, "")  # a pipe sees the result alone
    assert "left_half" in waited.stdout
    # On a terminal the wait is said once, however many refusals it meets.
    notice = f"advisor: {target} is busy (every worker taken): waiting up to 60 s for a slot"
    assert (seen.status, seen.stderr) == (ExitCode.OK, f"{notice} (--busy-wait)\n")
    assert "left_half" in seen.stdout
    line = assert_one_error_line(short, ExitCode.RESOURCE_EXHAUSTED)
    pattern = (
        r"advisor: error: RESOURCE_EXHAUSTED: all 1 advisor slots are busy; retry later; retried "
        r"(once|[2-9] times) over [0-9.]+ s \(--busy-wait 0\.5\) \(request id [0-9a-f-]+\)"
    )
    assert re.fullmatch(pattern, line), line


def test_limit_raises_a_limit_of_the_embedded_server(task_file: Path) -> None:
    # Past the embedded server's max_top_k, the only way was advisor serve --limit and --target.
    search = ["--budget", "2000", "--top", "60", "--time-limit", "60", "--format", "json"]
    result = advisor("recommend", task_file, *search, "--limit", "max_top_k=60")
    assert result.status == ExitCode.OK, result.stderr
    assert json.loads(result.stdout)["recommendations"]


def test_the_embedded_server_s_refusal_says_which_limit_raises_it(
    task_file: Path, target: str, token_file: Path
) -> None:
    search = ("recommend", task_file, "--budget", "2000", "--top", "60")
    embedded = assert_one_error_line(advisor(*search), ExitCode.INVALID_ARGUMENT)
    assert embedded == (
        "advisor: error: --top: top_k 60 exceeds the server's limit of 50 (max_top_k; raise it "
        "with --limit max_top_k=60)"
    )
    # A remote server's limits are its operator's: its refusal is left as it is.
    remote = advisor(*search, "--target", target, "--token-file", token_file)
    line = assert_one_error_line(remote, ExitCode.INVALID_ARGUMENT)
    assert line.endswith("exceeds the server's limit of 50 (max_top_k)"), line


def test_a_lowered_message_limit_of_the_embedded_server_says_which_limit_raises_it(
    tmp_path: Path,
) -> None:
    # The server's answer over it, and a request over it, which the client refuses before it is
    # sent: the client holds the embedded server's limit, not --max-message-bytes's default.
    presets = advisor("presets", "--limit", "max_message_bytes=7000")
    line = assert_one_error_line(presets, ExitCode.RESOURCE_EXHAUSTED)
    assert re.fullmatch(
        r"advisor: error: RESOURCE_EXHAUSTED: the response is ([\d,]+) bytes, over this "
        r"server's limit of 7,000 \(max_message_bytes; raise it with --limit "
        r"max_message_bytes=\d+\)",
        line,
    ), line
    names = [{"name": f"{i} {'x' * 200}", "a": {"indices": [i]}} for i in range(40)]
    task = tmp_path / "task.json"
    task.write_text(json.dumps({"input": {"shape": [64]}, "correlations": names}))
    request = advisor("recommend", task, "--budget", "2000", "--limit", "max_message_bytes=7000")
    line = assert_one_error_line(request, ExitCode.RESOURCE_EXHAUSTED)
    found = re.fullmatch(
        r"advisor: error: task: makes the request ([\d,]+) bytes, over the server's limit of "
        r"7,000 \(max_message_bytes; raise it with --limit max_message_bytes=(\d+)\)",
        line,
    )
    assert found is not None, line
    assert found[1].replace(",", "") == found[2]


def test_the_embedded_hint_reads_the_refused_limit_not_the_refusal_s_words(
    task_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hint was scraped from the English with a regex, so a rewording dropped it silently;
    # it is read off the refusal's LIMIT_EXCEEDED detail, whatever the words around the setting.
    def reworded(field: str, what: str, value: float, bound: str) -> FieldViolation:
        return FieldViolation(field, f"asks for {what} {value}, past {bound}")

    # --top's refusal is built by limit_violations.over_limit, which looks exceeding up there;
    # a refusal built in request_checks or request_parts (which import it by name) is not.
    monkeypatch.setattr(limit_violations, "exceeding", reworded)
    search = ("recommend", task_file, "--budget", "2000", "--top", "60")
    line = assert_one_error_line(advisor(*search), ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: --top: asks for top_k 60, past the server's limit of 50 (max_top_k; "
        "raise it with --limit max_top_k=60)"
    )


def test_a_refusal_past_what_any_server_may_set_names_that_bound(task_file: Path) -> None:
    # A time limit past a week: no --limit admits it, so no hint says how to raise one.
    search = ("recommend", task_file, "--budget", "2000", "--time-limit", "1e7")
    line = assert_one_error_line(advisor(*search), ExitCode.INVALID_ARGUMENT)
    assert line.endswith(
        "exceeds the server's limit of 3,600 (max_time_limit_seconds, which no server may set "
        f"above {LONGEST_SECONDS:,})"
    ), line


def test_an_exact_rank_past_the_exact_engine_is_not_told_to_raise_a_limit(
    task_file: Path, tmp_path: Path
) -> None:
    # (|A| + |B|) log2 M = 16 x 6 = 96 bits: the hint to raise max_exact_log2_size to 96 led to
    # the exact engine's own refusal, which stops at 24.
    architecture = {
        "input": {"shape": [4, 4]},
        "representation": 64,
        "layers": [{"channels": 4, "pool": [2, 2]}, {"channels": 4, "pool": [2, 2]}],
        "geometry": "contiguous",
    }
    arch_file = tmp_path / "wide.yaml"
    arch_file.write_text(yaml.safe_dump(architecture))
    analysis = ("analyze", task_file, "--arch", arch_file, "--exact")
    line = assert_one_error_line(advisor(*analysis), ExitCode.INVALID_ARGUMENT)
    assert "raise it" not in line
    assert line.endswith(
        f"(max_exact_log2_size, which no server may set above {EXACT_MAX_LOG2_SIZE})"
    ), line
    refused = assert_one_error_line(
        advisor("serve", "--limit", f"max_exact_log2_size={EXACT_MAX_LOG2_SIZE + 1}"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert refused.startswith("advisor: error: --limit max_exact_log2_size:"), refused


def test_a_refusal_without_the_limit_as_data_gets_no_hint(
    task_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server that sends no LIMIT_EXCEEDED detail (an older one): its words are not scraped.
    monkeypatch.setattr(service_status, "refused_limits", lambda violations: {})
    search = ("recommend", task_file, "--budget", "2000", "--top", "60")
    line = assert_one_error_line(advisor(*search), ExitCode.INVALID_ARGUMENT)
    assert line == "advisor: error: --top: top_k 60 exceeds the server's limit of 50 (max_top_k)"


def test_limit_with_a_target_is_refused_naming_it(target: str, token_file: Path) -> None:
    result = advisor(
        "presets", "--target", target, "--token-file", token_file, "--limit", "max_top_k=60"
    )
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: --limit: applies only without --target (a remote server's limits are "
        "its own)"
    )


@pytest.mark.parametrize(
    "entry", ["no_such_limit=1", "max_top=60", "max_top_k=0", "max_top_k=many", "max_top_k"]
)
def test_a_bad_limit_is_refused_as_serve_refuses_it(entry: str, task_file: Path) -> None:
    served = assert_one_error_line(advisor("serve", "--limit", entry), ExitCode.INVALID_ARGUMENT)
    embedded = advisor("recommend", task_file, "--budget", "2000", "--limit", entry)
    assert assert_one_error_line(embedded, ExitCode.INVALID_ARGUMENT) == served
    assert served.startswith("advisor: error: --limit"), served


def test_mutual_tls_target(tmp_path: Path) -> None:
    pem = make_certificates(tmp_path)
    # TLS is the gRPC server's: the threads executor starts in milliseconds, workers in seconds.
    config = ServerConfig(
        host="localhost",
        workers=1,
        executor="threads",
        tls_cert=pem.server_cert,
        tls_key=pem.server_key,
        tls_client_ca=pem.ca,
    )
    with start_server(config) as running:
        tls: list[str | Path] = ["--tls-ca", pem.ca, "--tls-client-cert", pem.client_cert]
        key: list[str | Path] = ["--tls-client-key", pem.client_key]
        result = advisor("presets", "--format", "json", "--target", running.address, *tls, *key)
        assert result.status == ExitCode.OK, result.stderr
        assert json.loads(result.stdout)["presets"]
        unknown_ca = advisor("presets", "--target", running.address, "--tls-ca", pem.ca)
        assert unknown_ca.status == ExitCode.UNAVAILABLE, (
            "no client certificate: the handshake fails"
        )
        # gRPC's words ("Socket closed") name no certificate.
        line = assert_one_error_line(unknown_ca, ExitCode.UNAVAILABLE)
        assert line.endswith("pass --tls-client-cert and --tls-client-key)")
        intruder: list[str | Path] = ["--tls-client-cert", pem.intruder_cert]
        intruder += ["--tls-client-key", pem.intruder_key]
        refused = advisor("presets", "--target", running.address, "--tls-ca", pem.ca, *intruder)
        line = assert_one_error_line(refused, ExitCode.UNAVAILABLE)
        assert line.endswith("must be signed by a CA the server trusts, its --tls-client-ca)")


@pytest.mark.parametrize(
    ("given", "missing"),
    [("--tls-client-cert", "--tls-client-key"), ("--tls-client-key", "--tls-client-cert")],
)
def test_a_client_certificate_without_its_key_names_both_options(
    given: str, missing: str, tmp_path: Path
) -> None:
    # The line named the option missing and then the client library's fields: "--tls-client-key:
    # client_cert and client_key go together", words no option of the command has.
    pem = tmp_path / "client.pem"
    pem.write_text("not read: the pair is checked first\n")
    result = advisor("presets", "--target", "localhost:1", given, pem)
    line = assert_one_error_line(result, ExitCode.INVALID_ARGUMENT)
    assert line == (
        f"advisor: error: {missing}: --tls-client-cert and --tls-client-key go together"
    )


def test_a_padding_of_zeros_is_not_called_padded(tmp_path: Path) -> None:
    # FORMATS.md's example architecture writes padding: [[0, 0], [0, 0]]: no margin at all.
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({"input": {"shape": [8, 8]}, "preset": "symmetry"}))
    layers = [{"channels": 8, "pool": [2, 2]}, {"channels": 8, "pool": [4, 4]}]
    document = {"input": {"shape": [8, 8]}, "representation": 4, "layers": layers}
    for padding, said in (([[0, 0], [0, 0]], False), ([[0, 0], [0, 8]], True)):
        arch = tmp_path / "arch.yaml"
        shape = [8, 16] if said else [8, 8]
        layers[1]["pool"] = [4, 8] if said else [4, 4]
        arch.write_text(yaml.safe_dump({**document, "padding": padding}))
        result = advisor("analyze", task, "--arch", arch)
        assert result.status == 0, result.stderr
        first = " ".join(result.stdout.split("\n\n")[0].split())  # the costs, wrapped
        assert ("padded to" in first) == said, first
        assert not said or "x".join(map(str, shape)) in first


@pytest.mark.parametrize(
    ("shape", "preset", "padded"),
    [
        ([13], "symmetry", "padded to "),
        ([15, 15], "symmetry", "padded to 16x16"),
        ([4, 8, 8], "front_back", None),
    ],
)
def test_any_size_and_3d_recommend_deeper_nets_that_analyze_confirms(
    tmp_path: Path, shape: list[int], preset: str, padded: str | None
) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({"input": {"shape": shape}, "preset": preset}))
    table = advisor("recommend", task, "--budget", "1000000", "--top", "1")
    assert table.status == 0, table.stderr
    assert (padded in table.stdout) if padded else ("padded" not in table.stdout)
    result = advisor("recommend", task, "--budget", "1000000", "--top", "1", "--format", "json")
    best = json.loads(result.stdout)["recommendations"][0]
    assert len(best["architecture"]["layers"]) > 1
    assert ("padding" in best["architecture"]) == bool(padded)
    arch = tmp_path / "best.json"
    arch.write_text(json.dumps(best["architecture"]))
    analysis = json.loads(advisor("analyze", task, "--arch", arch, "--format", "json").stdout)
    figures = [(c["name"], c["log2_separation_rank"], c["certificate"]) for c in best["analysis"]]
    assert [
        (c["name"], c["log2_separation_rank"], c["certificate"]) for c in analysis["correlations"]
    ] == figures
    # The table of the analysis says the grid the costs were counted on, as recommend's does.
    costs = " ".join(advisor("analyze", task, "--arch", arch).stdout.split("\n\n")[0].split())
    assert costs.startswith(f"{best['parameters']:,} parameters, ")
    assert (f", on the input {padded}" in costs) if padded else ("padded" not in costs)


def test_max_message_bytes_matches_a_server_whose_limit_was_raised(tmp_path: Path) -> None:
    # About 4.7 MB of region indices: over the client's default 4 MiB, within the raised limit.
    grid = 512 * 512
    task = {
        "input": {"shape": [512, 512]},
        "correlations": [
            {"name": f"half-{i}", "a": {"indices": list(range(i, grid, 2))[: grid // 2]}}
            for i in range(12)
        ],
    }
    architecture = {
        "input": {"shape": [512, 512]},
        "representation": 4,
        "layers": [{"channels": 4, "pool": [2, 2]}] * 9,
    }
    task_path, arch_path = tmp_path / "big-task.json", tmp_path / "big-arch.json"
    task_path.write_text(json.dumps(task))
    arch_path.write_text(json.dumps(architecture))
    raised = 64 * 1024 * 1024
    limits = RequestLimits(max_locations=grid, max_message_bytes=raised)
    with start_server(ServerConfig(host="127.0.0.1", workers=1, limits=limits)) as running:
        call = ("analyze", task_path, "--arch", arch_path, "--target", running.address)
        refused = advisor(*call)
        assert refused.status == ExitCode.RESOURCE_EXHAUSTED, refused.stderr
        # Refused before it is sent, naming what makes it large (gRPC's RESOURCE_EXHAUSTED named
        # nothing and read as a saturated server).
        assert "task: makes the request" in refused.stderr
        allowed = advisor(*call, "--max-message-bytes", str(raised))
        assert allowed.status == ExitCode.OK, allowed.stderr
    no_target = advisor("presets", "--max-message-bytes", "1000")
    assert no_target.stderr.startswith(
        "advisor: error: --max-message-bytes: applies only with --target"
    )


def test_an_answer_over_max_message_bytes_is_told_to_raise_the_option() -> None:
    # gRPC's words, "CLIENT: Received message larger than max", read as a busy server's.
    with scripted_server(ScriptedAdvisor()) as target:
        refused = advisor("presets", "--target", target, "--max-message-bytes", "10")
    line = assert_one_error_line(refused, ExitCode.RESOURCE_EXHAUSTED)
    assert line.startswith("advisor: error: RESOURCE_EXHAUSTED: the response is ")
    assert "over this client's --max-message-bytes (10): raise --max-message-bytes to at " in line
    assert "max_message_bytes" not in line


def test_a_request_over_max_message_bytes_is_told_to_raise_the_option() -> None:
    # The client's refusal named its setting, max_message_bytes, twice ("raise
    # max_message_bytes"), where the command takes --max-message-bytes. It is refused before
    # it is sent: no server is needed at the target.
    refused = advisor(
        "recommend", EXAMPLES / "symmetry.yaml", "--budget", "2000", "--target", "127.0.0.1:1",
        "--max-message-bytes", "300",
    )  # fmt: skip
    line = assert_one_error_line(refused, ExitCode.RESOURCE_EXHAUSTED)
    assert line.startswith("advisor: error: task: makes the request ")
    assert "over this client's --max-message-bytes (300): " in line
    assert "raise --max-message-bytes as far as the server's limit" in line
    assert "max_message_bytes" not in line


@pytest.mark.parametrize("verbosity", [None, ""])
def test_a_port_in_use_is_one_line_without_grpcs_own_log(
    monkeypatch: pytest.MonkeyPatch, verbosity: str | None
) -> None:
    # An empty GRPC_VERBOSITY counts as unset: a CI template that passes a variable it was given
    # no value for sets it empty, and gRPC read that as its default, ERROR, and printed its own
    # log line of the failed bind above the command's one line.
    if verbosity is None:
        monkeypatch.delenv("GRPC_VERBOSITY", raising=False)
    else:
        monkeypatch.setenv("GRPC_VERBOSITY", verbosity)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = advisor_process("serve", "--host", "127.0.0.1", "--port", str(port))
    line = assert_one_error_line(result, ExitCode.SERVER_NOT_STARTED)
    assert "--host/--port: cannot bind" in line


def test_the_table_wraps_the_rationale_at_spaces_never_inside_a_hyphenated_name(
    tmp_path: Path,
) -> None:
    names = [f"far-{side}-columns-of-the-image" for side in ("left", "right", "top")]
    path = tmp_path / "hyphens.yaml"
    correlations = [
        {"name": names[0], "a": {"preset": "left_half"}, "b": {"preset": "right_half"}},
        {
            "name": names[1],
            "a": {"box": {"start": [0, 0], "stop": [8, 2]}},
            "b": {"box": {"start": [0, 6], "stop": [8, 8]}},
        },
        {"name": names[2], "a": {"preset": "top_half"}, "b": {"preset": "bottom_half"}},
    ]
    path.write_text(yaml.safe_dump({"input": {"shape": [8, 8]}, "correlations": correlations}))
    table = advisor("recommend", path, "--budget", "20000", "--top", "3")
    assert table.status == ExitCode.OK, table.stderr
    why = table.stdout[table.stdout.index("why:") :]
    words = why.split()
    hyphenated = [word for word in words if "-" in word.strip("'(),.:;")]
    assert hyphenated
    assert not [line for line in why.splitlines() if line.rstrip().endswith("-")]
    for name in names:
        if name in " ".join(words):
            assert name in why


NAMES = ["日本語の相関", "emoji 😀"]


@pytest.fixture
def named_task(tmp_path: Path) -> Path:
    """A 1-D task whose correlation names are in other scripts than Latin."""

    def boxes(start: int, middle: int, stop: int) -> dict[str, Any]:
        return {
            "a": {"box": {"start": [start], "stop": [middle]}},
            "b": {"box": {"start": [middle], "stop": [stop]}},
        }

    task = {
        "input": {"shape": [16]},
        "correlations": [
            {"name": NAMES[0], **boxes(0, 8, 16)},
            {"name": NAMES[1], **boxes(0, 4, 8)},
        ],
    }
    path = tmp_path / "named.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    return path


def _names(result: dict[str, Any]) -> list[str]:
    return [c["name"] for c in result["recommendations"][0]["analysis"]]


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_documents_keep_names_as_written(named_task: Path, form: str) -> None:
    run = advisor("recommend", named_task, "--budget", "2000", "--top", "1", "--format", form)
    assert run.status == ExitCode.OK, run.stderr
    assert all(name in run.stdout for name in NAMES), "escaped, not as written"
    assert _names(yaml.safe_load(run.stdout)) == NAMES


@pytest.mark.parametrize("form", ["json", "yaml", "table"])
def test_an_output_that_cannot_take_the_names_escapes_them(named_task: Path, form: str) -> None:
    """On an ASCII stdout documents escape as their syntax does; a table as Python does."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"no console script at {CONSOLE_SCRIPT}: the project is not installed")
    command = [str(CONSOLE_SCRIPT), "recommend", str(named_task), "--budget", "2000"]
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [*command, "--top", "1", "--format", form],
        capture_output=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == ExitCode.OK, done.stderr
    text = done.stdout.decode("ascii")
    if form == "table":
        assert "\\u65e5\\u672c\\u8a9e" in text and "emoji \\U0001f600" in text
    else:
        # YAML reads JSON but for its escapes of characters past U+FFFF (surrogate pairs).
        assert _names((json.loads if form == "json" else yaml.safe_load)(text)) == NAMES


def test_a_table_of_escaped_names_keeps_its_columns_in_line(named_task: Path) -> None:
    # The columns were measured on the names as written and the names escaped after: each
    # row's weight stood past the header's by the escapes' extra characters.
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        status = main(["recommend", str(named_task), "--budget", "2000", "--top", "1"])
    assert status == ExitCode.OK
    stdout.seek(0)
    lines = stdout.read().splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("correlation"))
    rows = lines[header : header + 1 + len(NAMES)]
    assert "\\u65e5\\u672c\\u8a9e" in rows[1]
    # Every cell of the right-aligned weight column ends where its header does.
    edge = rows[0].index("weight") + len("weight")
    assert all(row[:edge].endswith("1") and row[edge] == " " for row in rows[1:]), rows


class _FullDisk(io.StringIO):
    """A standard output on a full disk, as ``> /dev/full`` gives."""

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize(
    ("stdout", "reason"),
    [(_FullDisk(), "No space left on device"), (None, "standard output is closed")],
)
def test_an_output_that_cannot_be_written_is_one_line_saying_so(
    stdout: io.StringIO | None, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `> /dev/full` printed "unexpected OSError: [Errno 28] ...", and a closed stdout (`>&-`)
    # "unexpected AttributeError: 'NoneType' object has no attribute 'write'".
    monkeypatch.setattr(sys, "stdout", stdout)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main(["presets"])
    assert status == ExitCode.OTHER
    assert stderr.getvalue() == f"advisor: error: cannot write to standard output: {reason}\n"


@pytest.mark.parametrize(
    ("setting", "asked"),
    [(None, False), ("0", False), ("false", False), ("Off", False), ("1", True), ("yes", True)],
)
def test_an_unexpected_error_is_one_line_and_its_traceback_only_when_asked_for(
    setting: str | None, asked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unexpected error was one line only: a defect of the in-process export left no
    # traceback anywhere, and nothing said how to get one.
    def broken(args: argparse.Namespace) -> str:
        raise RuntimeError("a defect")

    monkeypatch.setattr(commands_module, "export", broken)
    monkeypatch.delenv(commands_module.TRACEBACK_VARIABLE, raising=False)
    if setting is not None:
        monkeypatch.setenv(commands_module.TRACEBACK_VARIABLE, setting)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main(["export", "examples/architectures/mirror.yaml", "--output", "-"])
    assert status == ExitCode.OTHER
    *traceback_lines, line = stderr.getvalue().splitlines()
    assert line == (
        "advisor: error: unexpected RuntimeError: a defect (a defect: ADVISOR_TRACEBACK=1 prints "
        "its traceback, for a report)"
    )
    assert bool(traceback_lines) == asked
    if asked:
        assert traceback_lines[0] == "Traceback (most recent call last):"
        assert traceback_lines[-1] == "RuntimeError: a defect"


def test_a_failure_keeps_its_status_when_standard_error_takes_no_line(
    task_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `advisor recommend ... 2>/dev/full` ended 1 whatever the failure, the error line's own
    # write failing with a traceback no one saw.
    monkeypatch.setattr(sys, "stderr", _FullDisk())
    assert main(["recommend", str(task_file), "--budget", "0"]) == ExitCode.INVALID_ARGUMENT


def test_infer_prints_its_task_when_standard_error_takes_no_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `advisor infer DATA > task.yaml 2>/dev/full` ended 1 with no task: the report's write to
    # stderr failed, and its error was taken for the command's ("unexpected OSError").
    values = np.random.default_rng(0).standard_normal((400, 8))
    values[:, 7] += values[:, 0]
    np.save(tmp_path / "pair.npy", values)
    monkeypatch.setattr(sys, "stderr", _FullDisk())
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["infer", str(tmp_path / "pair.npy")]) == ExitCode.OK
    assert yaml.safe_load(stdout.getvalue())["input"] == {"shape": [8]}


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["recommend", "--help"]])
def test_a_version_or_help_that_cannot_be_written_is_one_line_saying_so(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `advisor --version > /dev/full` ended in an OSError's traceback, and `--help > /dev/full`
    # with status 0, nothing printed: argparse drops a failed write of its help.
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == ExitCode.OTHER
    assert stderr.getvalue() == (
        "advisor: error: cannot write to standard output: No space left on device\n"
    )


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            ["--channels", "8", "16"],
            "--channels: invalid value '{task}' "
            "(a whole number: 200000, 200_000, 2e5, 200k or 25M; "
            "the prefixes are k or K, M, G and T)",
        ),
        (["--geometries", "mirror"], "the following arguments are required: TASK"),
        (
            ["--from-data", "correlations"],
            "--from-data: invalid value '{task}' (choose from correlations, arrangement)",
        ),
    ],
)
def test_a_task_a_list_option_took_is_told_apart(
    task_file: Path, options: list[str], error: str
) -> None:
    # `--channels 8 16 task.yaml` read the task as a width, `--geometries mirror task.yaml` as a
    # family and then said TASK was missing, though it was given.
    line = assert_one_error_line(
        advisor("recommend", "--budget", "2000", *options, task_file), ExitCode.INVALID_ARGUMENT
    )
    option = options[0]
    assert line == (
        f"advisor: error: {error.format(task=task_file)}; {option} took '{task_file}' into its "
        f"list, which runs to the next option: give TASK before {option}, or end the list with --"
    )
    # Ended with --, the list leaves the task to TASK (--from-data still needs --data).
    ended = advisor("recommend", "--budget", "2000", "--top", "1", *options, "--", task_file)
    assert "TASK" not in ended.stderr and "took" not in ended.stderr
    assert ended.status == ExitCode.OK or ended.stderr.startswith("advisor: error: --from-data")


@pytest.mark.parametrize(
    ("command", "options", "metavar"),
    [
        ("recommend", ["--geometries", "mirror", "--geometries", "contiguous"], "FAMILY"),
        ("recommend", ["--channels", "8", "16", "--channels=32"], "C"),
        ("recommend", ["--from-data", "correlations", "--from-data", "arrangement"], "PART"),
        ("infer", ["--shape", "8", "8", "--shape", "4", "16"], "N"),
    ],
)
def test_a_list_option_given_twice_is_refused(
    task_file: Path, command: str, options: list[str], metavar: str
) -> None:
    # The second list replaced the first: `--geometries mirror --geometries contiguous`
    # searched contiguous pooling alone, dropping mirror without a word.
    budget = ["--budget", "2000"] if command == "recommend" else []
    result = advisor(command, task_file, *budget, *options)
    option = options[0]
    assert assert_one_error_line(result, ExitCode.INVALID_ARGUMENT) == (
        f"advisor: error: {option}: is given twice, and the second list would replace the "
        f"first: give every value after one {option} ({option} {metavar} ...)"
    )


class _LoadingInterrupted(types.ModuleType):
    """A module whose import Ctrl-C interrupts, as it may the engines' half-second load."""

    def __getattr__(self, name: str) -> Any:
        raise KeyboardInterrupt


def test_ctrl_c_while_the_command_loads_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C in the first half second printed KeyboardInterrupt's traceback and ended the
    # process by SIGINT, not with the documented one line and exit status 1.
    monkeypatch.setitem(sys.modules, "advisor.cli.commands", _LoadingInterrupted("commands"))
    result = advisor("presets")
    assert result.status == ExitCode.OTHER
    assert result.stderr == "advisor: error: interrupted\n"


def test_every_count_option_of_infer_and_the_calls_reads_a_count_as_the_budget_s_do() -> None:
    # --top 5.0 and --seed 1k were taken where --top-k 16.0, --shape 8.0 8, infer --seed 1k and
    # --max-message-bytes 4M were refused: one rule for every count of the command line.
    infer = ["infer", "data.npy", "--top-k", "16.0", "--shape", "8.0", "8", "--seed", "1k"]
    args = build_parser().parse_args([*infer, "--max-message-bytes", "4M"])
    assert (args.pairs_per_location, args.shape, args.seed) == (16, [8, 8], 1000)
    assert args.max_message_bytes == 4_000_000
    data = ["recommend", "task.yaml", "--budget", "2e5", "--data", "d.npy", "--top-k", "1e1"]
    assert build_parser().parse_args(data).pairs_per_location == 10


def test_every_budget_count_option_reads_a_whole_float_as_a_budget_does() -> None:
    # The library's Budget(top_k=5.0) and a file's top_k: 5.0 are 5, as --budget 2e5 is 200000;
    # --top 5.0 (and --seed, --max-depth, ...) was refused as no whole number.
    argv = ["recommend", "task.yaml", "--budget", "100000.0", "--top", "5.0", "--seed", "1e3"]
    options = ["--max-depth", "4.0", "--channels", "8.0", "16", "--max-window", "16.0"]
    args = build_parser().parse_args([*argv, *options])
    assert (args.max_parameters, args.top_k, args.seed) == (100_000, 5, 1000)
    assert (args.max_depth, args.channel_choices, args.max_window) == (4, [8, 16], 16)
    assert Budget(max_parameters=100_000.0, top_k=5.0, seed=1e3).top_k == 5  # the same rule


@pytest.mark.parametrize(("top", "said"), [(["--top", "3"], "3"), ([], "5"), (["--top", "1"], "")])
def test_a_complete_search_short_of_top_says_its_ranking_ends(
    tmp_path: Path, top: list[str], said: str
) -> None:
    # One pair of locations: every dilation order of [64] is one tree to the model.
    path = tmp_path / "pair.yaml"
    pair = {"name": "ends", "a": {"indices": [0]}, "b": {"indices": [63]}}
    path.write_text(yaml.safe_dump({"input": {"shape": [64]}, "correlations": [pair]}))
    result = advisor("recommend", path, "--budget", "20000", "--geometries", "dilations", *top)
    assert result.status == ExitCode.OK
    header = " ".join(result.stdout.split("\n#1")[0].split())
    ended = f"1 of the {said} asked for: the search's ranking ends here."
    assert header.startswith("1 recommendation from")
    assert (ended in header) == bool(said)
