"""``advisor analyze --arch`` reads its architecture once: a file, or a saved result's design.

The command read a saved result's architecture three times (to find it, in the client, to
show it), a file's twice; each read of a large permutation is a validation of every location.
Its ``--rank`` is checked as the client's ``rank`` is.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from advisor_client.client import AdvisorClient

from advisor import analyze
from advisor.cli.options import ExitCode
from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.architecture import (
    Architecture,
    parse_architecture,
    ranked_architecture_argument,
)
from advisor.model.task import parse_task
from advisor.protocol import wire
from tests.test_cli import advisor, assert_one_error_line

TASK = {"input": {"shape": [4, 4]}, "preset": "symmetry"}
ARCHITECTURE = {
    "input": {"shape": [4, 4]},
    "representation": 4,
    "layers": [{"channels": 4, "pool": [2, 2]}, {"channels": 4, "pool": [2, 2]}],
}


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    task, architecture, result = (tmp_path / name for name in ("t.yaml", "a.yaml", "r.yaml"))
    task.write_text(yaml.safe_dump(TASK))
    architecture.write_text(yaml.safe_dump(ARCHITECTURE))
    result.write_text(
        yaml.safe_dump({"recommendations": [{"rank": 1, "architecture": ARCHITECTURE}]})
    )
    return task, architecture, result


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Count the architectures validated in this thread (the embedded server runs in others)."""
    calls: list[None] = []
    validate = Architecture.model_validate
    caller = threading.get_ident()

    def counted(obj: Any, *args: Any, **kwargs: Any) -> Architecture:
        if threading.get_ident() == caller:
            calls.append(None)
        return validate(obj, *args, **kwargs)

    monkeypatch.setattr(Architecture, "model_validate", counted)
    return calls


@pytest.mark.parametrize("which", ["file", "result"])
def test_analyze_validates_the_architecture_once(
    tmp_path: Path, validations: list[None], which: str
) -> None:
    task, architecture, result = _files(tmp_path)
    run = advisor("analyze", task, "--arch", architecture if which == "file" else result)
    assert run.status == ExitCode.OK, run.stderr
    assert len(validations) == 1


def test_a_bad_architecture_is_still_named_where_it_lies(tmp_path: Path) -> None:
    task, architecture, result = _files(tmp_path)
    bad = {**ARCHITECTURE, "representation": 0}
    architecture.write_text(yaml.safe_dump(bad))
    result.write_text(yaml.safe_dump({"recommendations": [{"rank": 1, "architecture": bad}]}))
    for path, field in (
        (architecture, "architecture.representation"),
        (result, "architecture.recommendations[0].architecture.representation"),
    ):
        line = assert_one_error_line(
            advisor("analyze", task, "--arch", path), ExitCode.INVALID_ARGUMENT
        )
        assert line.startswith(f"advisor: error: {field}: "), line


@pytest.mark.parametrize("rank", [0, -1])
def test_a_rank_below_one_is_refused_alike_by_the_command_the_client_and_the_library(
    tmp_path: Path, rank: int
) -> None:
    # The command said the result "holds the ranks [1]", the client that a rank is a whole
    # number at least 1; then both said that, and the library (load_architecture(path,
    # rank=0)) that it is "a whole number from 1, a recommendation's rank".
    task, _, result = _files(tmp_path)
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", result, "--rank", str(rank)),
        ExitCode.INVALID_ARGUMENT,
    )
    with pytest.raises(InvalidRequestError) as library:
        ranked_architecture_argument(result, rank)
    with AdvisorClient("127.0.0.1:9") as client, pytest.raises(InvalidRequestError) as raised:
        client.analyze(task, result, rank=rank)
    refusal = f"must be a whole number from 1, a recommendation's rank; got {rank}"
    assert library.value.violations == raised.value.violations == (FieldViolation("rank", refusal),)
    assert line == f"advisor: error: --rank: {refusal}"


_TASK_HOLDS = "a task file holds input and correlations or a preset (docs/FORMATS.md §1)"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            ["recommend", "{architecture}", "--budget", "1000"],
            "task: is an architecture (it has layers, representation), not a task: "
            + _TASK_HOLDS
            + " (from {architecture})",
        ),
        (
            ["recommend", "{result}", "--budget", "1000"],
            "task: is a recommend result (it has recommendations), not a task: "
            + _TASK_HOLDS
            + " (from {result})",
        ),
        (
            ["analyze", "{architecture}", "--arch", "{task}"],
            "task: is an architecture (it has layers, representation), not a task: "
            + _TASK_HOLDS
            + " (from {architecture})",
        ),
        (
            ["analyze", "{task}", "--arch", "{analysis}"],
            "architecture: is an analysis result (it has efficiency, multiply_adds), not an "
            "architecture: an architecture file holds input, representation and layers "
            "(docs/FORMATS.md §2), or is a saved recommend result (from {analysis})",
        ),
        (
            ["recommend", "{presets}", "--budget", "1000"],
            "task: is a presets listing (it has presets), not a task: "
            + _TASK_HOLDS
            + " (from {presets})",
        ),
        (
            ["analyze", "{task}", "--arch", "{presets}"],
            "architecture: is a presets listing (it has presets), not an architecture: an "
            "architecture file holds input, representation and layers (docs/FORMATS.md §2), or "
            "is a saved recommend result (from {presets})",
        ),
    ],
)
def test_a_file_of_another_kind_is_named_as_what_it_is(
    tmp_path: Path, command: list[str], expected: str
) -> None:
    # Each key of the other format was refused on its own ("task.representation: Extra inputs
    # are not permitted; task.layers: ..."), which does not say the files were swapped.
    task, architecture, result = _files(tmp_path)
    analysis = tmp_path / "analysis.json"
    analysis.write_text(advisor("analyze", task, "--arch", architecture, "--format", "json").stdout)
    # `advisor presets --format yaml` saved was "task.input: Field required; task.presets: Extra
    # inputs are not permitted; did you mean 'preset'?", a task with a misspelt key.
    presets = tmp_path / "presets.yaml"
    presets.write_text(advisor("presets", "--format", "yaml").stdout)
    files = {"task": task, "architecture": architecture, "result": result, "analysis": analysis}
    files |= {"presets": presets}
    run = advisor(*(word.format(**files) for word in command))
    line = assert_one_error_line(run, ExitCode.INVALID_ARGUMENT)
    assert line == "advisor: error: " + expected.format(**files)


def test_a_task_with_a_stray_architecture_key_names_that_key() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse_task({**TASK, "layers": 3})
    assert [v.field for v in raised.value.violations] == ["layers"]


@pytest.mark.parametrize(
    "presets", ["symmetry", ["symmetry"], [{"name": "symmetry"}], []], ids=repr
)
def test_a_task_with_a_misspelt_presets_key_is_still_told_of_preset(presets: object) -> None:
    # Only a list of presets as `advisor presets` writes them is a presets listing.
    with pytest.raises(InvalidRequestError) as raised:
        parse_task({"input": {"shape": [4, 4]}, "presets": presets})
    [misspelt] = [v for v in raised.value.violations if v.field == "presets"]
    assert misspelt.description.endswith("did you mean 'preset'?"), misspelt.description


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Set what the command reads on standard input."""

    def given(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))

    return given


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_a_result_piped_to_analyze_is_read_from_standard_input(
    tmp_path: Path, stdin: Callable[[str], None], form: str
) -> None:
    # `recommend --format json | analyze TASK --arch -` read a file named '-'.
    task, _, _ = _files(tmp_path)
    result = advisor("recommend", task, "--budget", "2000", "--top", "2", "--format", form)
    assert result.status == ExitCode.OK, result.stderr
    saved = tmp_path / f"result.{form}"
    saved.write_text(result.stdout)
    stdin(result.stdout)
    piped = advisor("analyze", task, "--arch", "-", "--rank", "2")
    assert piped.status == ExitCode.OK, piped.stderr
    assert piped.stdout == advisor("analyze", task, "--arch", saved, "--rank", "2").stdout
    stdin(result.stdout)
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", "-", "--rank", "3"), ExitCode.INVALID_ARGUMENT
    )
    assert line == "advisor: error: --rank: standard input holds the ranks [1, 2]"


def test_a_task_is_read_from_standard_input(tmp_path: Path, stdin: Callable[[str], None]) -> None:
    task, architecture, _ = _files(tmp_path)
    stdin(task.read_text())
    piped = advisor("analyze", "-", "--arch", architecture)
    assert piped.status == ExitCode.OK, piped.stderr
    assert piped.stdout == advisor("analyze", task, "--arch", architecture).stdout
    stdin("input: [\n")
    line = assert_one_error_line(
        advisor("analyze", "-", "--arch", architecture), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: task: cannot read task on standard input: line 2")


def test_standard_input_is_not_read_twice(tmp_path: Path, stdin: Callable[[str], None]) -> None:
    stdin(yaml.safe_dump(TASK))
    line = assert_one_error_line(advisor("analyze", "-", "--arch", "-"), ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: --arch: standard input holds one document, read as TASK: save one to a "
        "file"
    )


def test_a_closed_standard_input_is_said_to_be_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process started with stdin closed (`<&-`) has sys.stdin None: "unexpected
    # AttributeError".
    monkeypatch.setattr(sys, "stdin", None)
    line = assert_one_error_line(
        advisor("recommend", "-", "--budget", "1000"), ExitCode.INVALID_ARGUMENT
    )
    assert (
        line == "advisor: error: task: cannot read task on standard input: standard input is closed"
    )


def test_a_refusal_inside_a_file_names_the_file(tmp_path: Path) -> None:
    # `architecture.recommendations[0].architecture.layers[0].pool[0]: Input should be a valid
    # integer` named the option's field, not the file: with a task and a result in hand, the
    # reader had to work out which file held it.
    task, architecture, result = _files(tmp_path)
    layers = [{"channels": 4, "pool": ["2", 2]}, {"channels": 4, "pool": [2, 2]}]
    pooled = {**ARCHITECTURE, "layers": layers}
    result.write_text(yaml.safe_dump({"recommendations": [{"rank": 1, "architecture": pooled}]}))
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", result), ExitCode.INVALID_ARGUMENT
    )
    assert line == (
        "advisor: error: architecture.recommendations[0].architecture.layers[0].pool[0]: Input "
        f"should be a valid integer, not a text: got '2' (from {result})"
    )
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text("input: {shape: [4, 4]}\nprest: symmetry\n")
    commands: list[list[str | Path]] = [
        ["analyze", misspelt, "--arch", architecture],
        ["recommend", misspelt, "--budget", "1000"],
    ]
    for command in commands:
        line = assert_one_error_line(advisor(*command), ExitCode.INVALID_ARGUMENT)
        assert line == (
            "advisor: error: task.prest: Extra inputs are not permitted; did you mean 'preset'? "
            f"(from {misspelt})"
        )


@pytest.mark.parametrize(
    ("entry", "description"),
    [
        ({"rank": "1"}, "must be a whole number from 1, a recommendation's rank; got '1'"),
        ({"rank": True}, "must be a whole number from 1, a recommendation's rank; got True"),
        ({"rank": 0}, "must be a whole number from 1, a recommendation's rank; got 0"),
        ({"rnak": 2}, "Field required"),
    ],
    ids=["text", "boolean", "zero", "misspelt"],
)
@pytest.mark.parametrize("rank", [None, 1])
def test_a_result_s_rank_that_is_no_rank_is_refused_naming_it(
    tmp_path: Path, entry: dict[str, Any], description: str, rank: int | None
) -> None:
    # The ranks pick the design, but `rank: "1"` or a misspelt `rnak:` beside it was read as
    # no rank: without --rank the first design was analysed and nothing said the file was
    # wrong; with --rank the refusal said the file "holds the ranks [1, '1']".
    result = tmp_path / "r.yaml"
    designs = [{"rank": 1, "architecture": ARCHITECTURE}, {**entry, "architecture": ARCHITECTURE}]
    result.write_text(yaml.safe_dump({"recommendations": designs}))
    with pytest.raises(InvalidRequestError) as raised:
        ranked_architecture_argument(result, rank)
    assert raised.value.violations == (
        FieldViolation("architecture.recommendations[1].rank", description),
    )


def test_a_file_with_several_refusals_is_named_once(tmp_path: Path) -> None:
    # Two bad widths of a mixture's members each ended "(from a.yaml)", the file said twice.
    task, architecture, _ = _files(tmp_path)
    members = [
        {"geometry": "contiguous", "channels": [4, 0]},
        {"geometry": "contiguous", "channels": [-1, 4]},
    ]
    architecture.write_text(yaml.safe_dump({**ARCHITECTURE, "mixture": {"members": members}}))
    line = assert_one_error_line(
        advisor("analyze", task, "--arch", architecture), ExitCode.INVALID_ARGUMENT
    )
    assert line == (
        "advisor: error: architecture.mixture.members[0].channels[1]: is 0: must be greater "
        "than 0; architecture.mixture.members[1].channels[0]: is -1: must be greater than 0 "
        f"(from {architecture})"
    )


@pytest.mark.parametrize("command", ["analyze", "export"])
def test_a_result_whose_ranks_do_not_run_on_is_refused_as_a_saved_result_is(
    tmp_path: Path, command: str
) -> None:
    # Of two designs of rank 1, analyze and export took the first; parse_search_result
    # refused the same file. They read its ranks by one rule.
    task, _, result = _files(tmp_path)
    # The rank after the edited one was named too: "is 3, after rank 1".
    designs = [{"rank": rank, "architecture": ARCHITECTURE} for rank in (1, 1, 3)]
    result.write_text(yaml.safe_dump({"recommendations": designs}))
    arguments: dict[str, tuple[str | Path, ...]] = {
        "analyze": ("analyze", task, "--arch", result, "--rank", "1"),
        "export": ("export", result, "--rank", "1", "--output", tmp_path / "net.py"),
    }
    line = assert_one_error_line(advisor(*arguments[command]), ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: architecture.recommendations[1].rank: is 1, after rank 1: ranks run "
        f"on by one (from {result})"
    )
    assert not (tmp_path / "net.py").exists()


class _EncodedError(Exception):
    """Raised by a spy in place of a call, once the client has encoded what it would send."""


def test_an_architecture_without_outputs_is_analysed_with_the_task_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A task's outputs (its classes) were ignored: a design that left its own out was priced
    # as one of 1 output. The library, the command and the client take the task's.
    task, architecture, _ = _files(tmp_path)
    task.write_text(yaml.safe_dump({**TASK, "outputs": 4}))
    counted = parse_architecture({**ARCHITECTURE, "outputs": 4}).parameters
    library = analyze(parse_task({**TASK, "outputs": 4}), parse_architecture(ARCHITECTURE))
    run = advisor("analyze", task, "--arch", architecture, "--format", "json")
    assert library.parameters == json.loads(run.stdout)["parameters"] == counted
    sent: list[Architecture] = []

    def encoded(design: Architecture) -> None:
        sent.append(design)
        raise _EncodedError

    monkeypatch.setattr(wire, "architecture_to_proto", encoded)
    with AdvisorClient("127.0.0.1:9") as client, pytest.raises(_EncodedError):
        client.analyze(task, architecture)
    assert [design.outputs for design in sent] == [4]


def test_an_architecture_s_own_outputs_are_kept_beside_the_task_s(tmp_path: Path) -> None:
    # A budget's outputs override the task's, so a design recommended with them keeps them.
    task, architecture, _ = _files(tmp_path)
    task.write_text(yaml.safe_dump({**TASK, "outputs": 4}))
    architecture.write_text(yaml.safe_dump({**ARCHITECTURE, "outputs": 2}))
    run = advisor("analyze", task, "--arch", architecture, "--format", "json")
    counted = parse_architecture({**ARCHITECTURE, "outputs": 2}).parameters
    assert json.loads(run.stdout)["parameters"] == counted
