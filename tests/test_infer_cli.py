"""``advisor infer`` and ``advisor recommend --data``: the command line of task inference."""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import yaml
from advisor_client import AdvisorClient
from advisor_client.errors import AdvisorRpcError, DeadlineExceededError, InvalidArgumentError

import advisor.cli.infer as infer_module
import advisor.cli.output_files as output_files_module
import advisor.files as files_module
from advisor.cli.infer import _infer_task
from advisor.cli.options import ExitCode
from advisor.errors import FieldViolation
from advisor.infer.graph import DependenceGraph
from advisor.model.task import load_task
from tests.test_cli import Run, advisor, assert_one_error_line

ROOT = Path(__file__).resolve().parent.parent


def _local_task(tmp_path: Path) -> Path:
    """A task file of the ``local`` preset on the 8x8 grid of :func:`_blocks`' samples."""
    task = tmp_path / "local.yaml"
    task.write_text("input: {shape: [8, 8]}\npreset: local\n")
    return task


def _untimed(run: Run) -> dict[str, Any]:
    """A JSON result a command printed, without its timing, which differs run to run."""
    page: dict[str, Any] = json.loads(run.stdout)
    del page["search_seconds"]
    return page


def _blocks(tmp_path: Path, name: str = "data.npy") -> tuple[Path, np.ndarray]:
    """Samples of an 8x8 grid whose locations come in scattered groups of 4 copies."""
    rng = np.random.default_rng(0)
    order = rng.permutation(64)
    sources = rng.standard_normal((400, 16))
    values = np.empty((400, 64))
    for group in range(16):
        members = order[4 * group : 4 * group + 4]
        values[:, members] = sources[:, [group]] + 0.2 * rng.standard_normal((400, 4))
    path = tmp_path / name
    np.save(path, values.reshape(400, 8, 8).astype(np.float32))
    return path, order


def test_infer_writes_a_task_with_the_arrangement_and_reports_the_entanglement(
    tmp_path: Path,
) -> None:
    data, order = _blocks(tmp_path)
    labels = tmp_path / "labels.npy"
    np.save(labels, np.arange(400) % 3)
    output = tmp_path / "task.yaml"
    run = advisor("infer", data, "--labels", labels, "--output", output)
    assert run.status == 0, run.stderr
    assert "the task carries the arrangement" in run.stdout
    before, after = (
        float(line.split("total ")[1].split()[0])
        for line in run.stdout.splitlines()
        if line.startswith(("  own order", "  arranged"))
    )
    assert after < before
    task = load_task(output)
    assert task.outputs == 3
    assert task.arrangement is not None
    position = np.empty(64, dtype=np.int64)
    position[list(task.arrangement)] = np.arange(64)
    windows = (position // 8 // 2) * 4 + (position % 8) // 2  # 2x2 windows of the arranged grid
    for group in range(16):
        assert np.unique(windows[order[4 * group : 4 * group + 4]]).size == 1
    assert yaml.safe_load(output.read_text())["input"] == {"shape": [8, 8]}


def test_infer_draws_its_reading_of_the_data_on_a_terminal_only(tmp_path: Path) -> None:
    data, _ = _blocks(tmp_path)
    drawn = advisor("infer", data, terminal=True)
    assert drawn.status == 0, drawn.stderr
    assert "\rreading data [##############################] 100%" in drawn.stderr
    plain = advisor("infer", data)
    assert "reading data" not in plain.stderr
    assert drawn.stdout == plain.stdout


def test_a_task_file_named_json_is_written_as_json_so_it_reads_back(tmp_path: Path) -> None:
    # A name ending .json is read as JSON; infer --output and recommend --save-task wrote YAML
    # there, which `recommend task.json` refused ("Expecting value: line 1 column 1").
    data, _ = _blocks(tmp_path)
    inferred = tmp_path / "inferred.json"
    assert advisor("infer", data, "--output", inferred).status == 0
    assert json.loads(inferred.read_text()) == yaml.safe_load(advisor("infer", data).stdout)
    described = tmp_path / "local.yaml"
    described.write_text("input: {shape: [8, 8]}\npreset: local\n")
    saved = tmp_path / "saved.json"
    run = advisor("recommend", described, "--data", data, "--save-task", saved, "--budget", "20000")
    assert run.status == 0, run.stderr
    assert load_task(saved).arrangement == load_task(inferred).arrangement
    asked = tmp_path / "asked.json"
    line = assert_one_error_line(
        advisor("infer", data, "--output", asked, "--format", "yaml"), ExitCode.INVALID_ARGUMENT
    )
    assert line == (
        f"advisor: error: --format: yaml into {asked}, which is read as JSON (its name ends "
        ".json); pass --format json, or name the file .yaml"
    )
    assert not asked.exists()


def test_infer_writes_the_task_as_json_when_asked_and_refuses_a_table(tmp_path: Path) -> None:
    """``--format json`` writes the same task as JSON (a task file may be either); a task has
    no table, so ``--format table`` is refused rather than ignored."""
    data, _ = _blocks(tmp_path)
    written = advisor("infer", data, "--format", "json")
    assert written.status == 0, written.stderr
    as_yaml = advisor("infer", data)
    assert json.loads(written.stdout) == yaml.safe_load(as_yaml.stdout)
    task = tmp_path / "task.json"
    task.write_text(written.stdout)
    assert load_task(task).arrangement is not None
    line = assert_one_error_line(
        advisor("infer", data, "--format", "table"), ExitCode.INVALID_ARGUMENT
    )
    assert line.startswith("advisor: error: --format: invalid value 'table'")


def test_an_output_of_a_dash_is_standard_output_not_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--output -` wrote a file named "-" in the working folder.
    data, _ = _blocks(tmp_path)
    monkeypatch.chdir(tmp_path)
    dashed, plain = advisor("infer", data, "--output", "-"), advisor("infer", data)
    assert dashed.status == plain.status == 0, dashed.stderr
    assert dashed.stdout == plain.stdout and yaml.safe_load(dashed.stdout)["correlations"]
    assert not (tmp_path / "-").exists()


def test_a_saved_task_of_a_dash_is_refused_as_standard_output_holds_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--save-task -` wrote a file named "-" in the working folder, where a script meant
    # standard output; that holds the result, so the option is refused before the data is read.
    monkeypatch.chdir(tmp_path)
    task = tmp_path / "described.yaml"
    task.write_text("input: {shape: [8, 8]}\n")
    run = advisor("recommend", task, "--budget", "20000", "--data", "none.npy", "--save-task", "-")
    line = assert_one_error_line(run, ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: --save-task: '-' names standard output, which holds the result: "
        "name a file"
    )
    assert sorted(tmp_path.iterdir()) == [task]


_LIMITED_ADVISOR = """
import resource, sys
from advisor.cli.main import main
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))  # no file written past 1 KiB
sys.exit(main())
"""
"""The ``advisor`` command in a process whose writes fail past a file's first KiB, as on a full
disk (Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing the process)."""


def test_an_output_whose_write_fails_part_way_keeps_the_file_written_before(
    tmp_path: Path,
) -> None:
    # The task was written into --output itself, emptied first: a write that failed part-way
    # left the first KiB of the new task, and the task written before was lost.
    pytest.importorskip("resource")
    data, _ = _blocks(tmp_path)
    output = tmp_path / "task.yaml"
    output.write_text("input: {shape: [8, 8]}\npreset: local\n")
    output.chmod(0o640)
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            _LIMITED_ADVISOR,
            "infer",
            str(data),
            "--output",
            str(output),
            "--force",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == ExitCode.INVALID_ARGUMENT, run.stderr
    assert output.read_text() == "input: {shape: [8, 8]}\npreset: local\n"
    assert run.stderr == f"advisor: error: --output: {output}: File too large\n"
    assert sorted(tmp_path.iterdir()) == [data, output]  # no temporary file left
    written = advisor("infer", data, "--output", output, "--force")
    assert written.status == 0, written.stderr
    assert load_task(output).arrangement is not None
    assert output.stat().st_mode & 0o777 == 0o640  # replaced, with the mode it had


def test_an_output_that_is_a_named_pipe_is_written_through_not_replaced(tmp_path: Path) -> None:
    # The task was written beside the path and renamed over it: a named pipe (or, where the
    # process may write in /dev, /dev/null itself) was replaced by a regular file.
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    data, _ = _blocks(tmp_path)
    pipe = tmp_path / "task.pipe"
    os.mkfifo(pipe)
    # A reader that does not block its opening, so the command's write finds it there.
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        run = advisor("infer", data, "--output", pipe)
        assert run.status == 0, run.stderr
        assert stat.S_ISFIFO(pipe.lstat().st_mode)
        received = b""
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(reader, 65536):
                received += chunk
    finally:
        os.close(reader)
    assert yaml.safe_load(received.decode())["correlations"]
    assert sorted(tmp_path.iterdir()) == [data, pipe]  # no temporary file left


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["infer", "-"], "DATA"),
        (["infer", "DATA", "--labels", "-"], "--labels"),
        (["recommend", "TASK", "--budget", "20000", "--data", "-"], "--data"),
        (["presets", "--target", "localhost:1", "--token-file", "-"], "--token-file"),
    ],
)
def test_a_file_read_by_its_name_refuses_a_dash_for_standard_input(
    tmp_path: Path, argv: list[str], option: str
) -> None:
    # `advisor infer - < x.npy` said "DATA: -: No such file or directory".
    data, _ = _blocks(tmp_path)
    task = _local_task(tmp_path)
    given = [{"DATA": data, "TASK": task}.get(word, word) for word in argv]
    line = assert_one_error_line(advisor(*given), ExitCode.INVALID_ARGUMENT)
    assert line == (
        f"advisor: error: {option}: '-' names standard input, which is not read here: pass a "
        "file's name (save what a pipe holds to a file first)"
    )


def test_ctrl_c_during_an_inference_exits_as_a_stopped_search_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C during infer's passes, and recommend --data's, exited 1, any failure's status,
    # where recommend's stopped search exits 130.
    def pressed(*args: object, **kwargs: object) -> DependenceGraph:
        raise KeyboardInterrupt

    monkeypatch.setattr(infer_module, "dependence_graph", pressed)
    data, _ = _blocks(tmp_path)
    task = tmp_path / "task.yaml"
    task.write_text("input: {shape: [8, 8]}\npreset: symmetry\n")
    for run in (
        advisor("infer", data),
        advisor("recommend", task, "--data", data, "--budget", "20000"),
    ):
        assert run.status == ExitCode.INTERRUPTED
        assert run.stderr == "advisor: error: interrupted\n"


def test_data_or_labels_in_a_pipe_are_told_so_not_empty(tmp_path: Path) -> None:
    # `advisor infer <(zcat data.csv.gz)` was refused as "the file is empty (0 bytes)": a pipe
    # has no size, and the sample is read in passes a pipe cannot give.
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    data, _ = _blocks(tmp_path)
    pipe = tmp_path / "sample.csv"
    os.mkfifo(pipe)
    for arguments, option in (([pipe], "DATA"), ([data, "--labels", pipe], "--labels")):
        line = assert_one_error_line(advisor("infer", *arguments), ExitCode.INVALID_ARGUMENT)
        assert line == (
            f"advisor: error: {option}: {pipe}: is a pipe, not a file: save what it holds to a "
            "file and pass that"
        )


def test_recommend_with_data_searches_the_data_arranged_family(tmp_path: Path) -> None:
    data, _ = _blocks(tmp_path)
    task = _local_task(tmp_path)
    run = advisor("recommend", task, "--data", data, "--budget", "20000", "--top", "8")
    assert run.status == 0, run.stderr
    assert "data_arranged" in run.stdout
    # --top is the search's, --top-k the graph's: one does not set the other.
    two = advisor("recommend", task, "--data", data, "--budget", "20000", "--top", "2")
    assert [line[:2] for line in two.stdout.splitlines() if line.startswith("#")] == ["#1", "#2"]
    flat = tmp_path / "flat.npy"
    np.save(flat, np.load(data).reshape(400, 64))
    alone = advisor("recommend", task, "--from-data", "correlations", "--budget", "20000")
    assert alone.status == 2
    assert "--from-data: needs --data DATA" in alone.stderr
    for option in (["--shape", "8", "8"], ["--allow-constant"]):
        ignored = advisor("recommend", task, *option, "--budget", "20000")
        assert ignored.status == 2
        assert ignored.stderr == f"advisor: error: {option[0]}: needs --data DATA\n"
    # --top-k, read as top_k, the designs' count: the refusal said only that it needs --data.
    top_k = advisor("recommend", task, "--top-k", "4", "--budget", "20000")
    assert top_k.stderr == (
        "advisor: error: --top-k: needs --data DATA (the data's pairs per location; --top sets "
        "how many designs)\n"
    )
    wrong = advisor("recommend", task, "--data", flat, "--shape", "64", "--budget", "20000")
    assert wrong.status == 2
    assert "--data: the data's grid [64] is not the task's [8, 8]" in wrong.stderr


def _searched(task: Path, data: Path, *options: str) -> tuple[set[str], set[str]]:
    """The correlation names and the geometries of ``recommend TASK --data DATA``'s picks."""
    run = advisor(
        "recommend", task, "--data", data, "--budget", "20000", "--format", "json", *options
    )
    assert run.status == 0, run.stderr
    picks = json.loads(run.stdout)["recommendations"]
    names = {c["name"] for pick in picks for c in pick["analysis"]}
    return names, {pick["architecture"]["family"] for pick in picks}


def test_recommend_with_data_adds_the_inferred_correlations(tmp_path: Path) -> None:
    data, _ = _blocks(tmp_path)
    task = _local_task(tmp_path)
    inferred = tmp_path / "inferred.yaml"
    assert advisor("infer", data, "--output", inferred).status == 0
    found = {f"data: {c.name}" for c in load_task(inferred).correlations}
    own = {c.name for c in load_task(task).resolved()}
    names, geometries = _searched(task, data)
    assert names == own | found
    assert "data_arranged" in geometries
    names, geometries = _searched(task, data, "--from-data", "arrangement")
    assert names == own
    assert "data_arranged" in geometries
    names, geometries = _searched(task, data, "--from-data", "correlations")
    assert names == own | found
    assert "data_arranged" not in geometries


def test_a_description_of_the_input_alone_takes_its_correlations_from_the_data(
    tmp_path: Path,
) -> None:
    # It was refused before the data was read ("a task needs at least one correlation or a
    # preset"): the correlations --data adds did not count.
    data, _ = _blocks(tmp_path)
    task = tmp_path / "bare.yaml"
    task.write_text("input: {shape: [8, 8]}\noutputs: 3\n")
    inferred = tmp_path / "inferred.yaml"
    assert advisor("infer", data, "--output", inferred).status == 0
    names, _ = _searched(task, data)
    assert names == {f"data: {c.name}" for c in load_task(inferred).correlations}
    # Without --data, or with only its arrangement, the description must hold on its own; when
    # the data shows no dependence, it is still no task, and the one line says why (a notice
    # above it said "the task is the description alone", of a description that is no task).
    noise = _saved(tmp_path, "noise.npy", np.random.default_rng(2).standard_normal((600, 8, 8)))
    adds_none = (
        ": the description has none, and the data adds none: the sample shows no dependence to "
        "model: "
    )
    # With only the arrangement, the line says the data's correlations were left out.
    takes_none = (
        ": the description has none, and --from-data arrangement takes none from the data (add "
        "correlations to --from-data)"
    )
    for options, reason in (
        ((), ""),
        (("--data", data, "--from-data", "arrangement"), takes_none),
        (("--data", noise), adds_none),
    ):
        run = advisor("recommend", task, *options, "--budget", "20000")
        line = assert_one_error_line(run, ExitCode.INVALID_ARGUMENT)
        # With --data the task searched is no longer the file's alone: the file is not named.
        source = "" if options else f" (from {task})"
        refusal = (
            "advisor: error: task.correlations: a task needs at least one correlation or a "
            f"preset{reason}"
        )
        assert line.startswith(refusal) if reason else line == refusal + source


def test_recommend_with_data_says_when_the_arrangement_is_not_added(tmp_path: Path) -> None:
    noise = np.random.default_rng(9).standard_normal((500, 10, 10))
    blurred = sum(noise[:, i : i + 8, j : j + 8] for i in range(3) for j in range(3))
    assert isinstance(blurred, np.ndarray)  # sum's start, 0, is gone after the first term
    data = tmp_path / "blurred.npy"
    np.save(data, blurred.astype(np.float32))
    task = _local_task(tmp_path)
    run = advisor("recommend", task, "--data", data, "--budget", "20000", "--top", "8")
    assert run.status == 0, run.stderr
    assert "--data: the arrangement lowers the crossing dependence by under 20%" in run.stderr
    assert "data_arranged" not in run.stdout
    # infer's report says why a partition was dropped: the halves cut no more than chance.
    lines = advisor("infer", data).stderr.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("columns 0-3 vs"))
    # The row, and the further lines its reason wraps onto within the terminal's width.
    further = itertools.takewhile(lambda line: line.startswith(" "), lines[row + 1 :])
    halves = " ".join(" ".join([lines[row], *further]).split())
    entanglement, chance = (float(figure) for figure in halves.split()[5:7])
    assert entanglement <= chance
    assert halves.endswith("dropped (not above chance)")


def test_the_report_fits_the_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The evidence line ran to 180 columns and the entanglement heading to 92, past the edge of
    # an 80-column terminal, where the recommendation tables' prose wraps within it; a dropped
    # partition's row ran to 111.
    rng = np.random.default_rng(0)
    values = rng.standard_normal((500, 8, 8))
    values[:, 0, :] += values[:, 7, :]
    data = tmp_path / "rows.npy"
    np.save(data, values)
    monkeypatch.setenv("COLUMNS", "200")
    wide = advisor("infer", data).stderr
    monkeypatch.setenv("COLUMNS", "80")
    report = advisor("infer", data).stderr
    assert all(len(line) <= 80 for line in report.splitlines()), report
    # Every word is there: a wrapped name's and a wrapped reason's further lines share lines.
    assert sorted(report.split()) == sorted(wide.split())
    prose, _, partitions = wide.partition("\n\n")
    assert any(len(line) > 80 for line in prose.splitlines())
    assert any(len(line) > 80 for line in partitions.splitlines())


def test_recommend_with_data_says_the_evidence_rule_when_it_holds_the_arrangement_back(
    tmp_path: Path,
) -> None:
    # One dependent pair (steps 0 and 63): the arrangement takes the crossing total from 5 to 0,
    # but the evidence reaches 2 of 64 locations, so the task keeps the data's own order.
    rng = np.random.default_rng(0)
    values = rng.standard_normal((3000, 64))
    values[:, 63] = 0.8 * values[:, 0] + 0.6 * rng.standard_normal(3000)
    data = tmp_path / "pair.npy"
    np.save(data, values.astype(np.float32))
    report = " ".join(advisor("infer", data).stderr.split())  # as read, unwrapped
    assert "total 5.000" in report and "total 0.000" in report
    thin = "the evidence reaches under 50% of the varying locations"
    assert f"the task keeps the data's own order ({thin})" in report
    task = tmp_path / "sequence.yaml"
    task.write_text("input: {shape: [64]}\npreset: local\n")
    run = advisor("recommend", task, "--data", data, "--budget", "20000", "--top", "2")
    assert run.status == 0, run.stderr
    assert f"--data: {thin}; the task keeps the data's own order" in run.stderr
    assert "under 20%" not in run.stderr


def test_recommend_names_bad_data_on_the_data_option(tmp_path: Path) -> None:
    # recommend has no DATA argument: the data is --data's, as docs/CLI.md says.
    task = tmp_path / "four.yaml"
    task.write_text("input: {shape: [4]}\npreset: local\n")
    constant = tmp_path / "constant.csv"
    constant.write_text("1,2,3,4\n1,5,6,7\n1,2,9,4\n")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2,3,4\n4,5\n")
    for data, problem in (
        (constant, f"{constant}: 1 location never varies in the sample, at 0"),
        (ragged, f"{ragged}: ragged rows: line 2"),
    ):
        line = assert_one_error_line(
            advisor("recommend", task, "--data", data, "--budget", "20000"),
            ExitCode.INVALID_ARGUMENT,
        )
        assert line.startswith(f"advisor: error: --data: {problem}"), line


def test_a_bad_task_file_with_data_is_named_as_without_it(tmp_path: Path) -> None:
    # The description is checked on its own first: its errors are the task file's, as they
    # are without --data (they were crashes, or paths without their task. prefix).
    data, _ = _blocks(tmp_path)
    texts = {
        "input: 5\npreset: local\n": "task.input: ",
        "input: {shape: 64}\npreset: local\n": "task.input.shape: ",
        "input: {shape: [8, 8]}\npreset: local\ncorrelations: 5\n": "task.correlations: ",
        "input: {shape: [8, 8]}\ncorelations: []\n": "task.corelations: ",
        "- 1\n": "task: ",
    }
    for number, (text, field) in enumerate(texts.items()):
        task = tmp_path / f"bad{number}.yaml"
        task.write_text(text)
        for options in ((), ("--data", data)):
            line = assert_one_error_line(
                advisor("recommend", task, *options, "--budget", "20000"),
                ExitCode.INVALID_ARGUMENT,
            )
            assert line.startswith(f"advisor: error: {field}"), (options, line)


def test_a_described_name_the_data_adds_is_refused_naming_the_description(
    tmp_path: Path,
) -> None:
    data, _ = _blocks(tmp_path)
    inferred = tmp_path / "inferred.yaml"
    assert advisor("infer", data, "--output", inferred).status == 0
    taken = f"data: {load_task(inferred).correlations[0].name}"
    task = tmp_path / "task.yaml"
    correlation = {"name": taken, "a": {"preset": "left_half"}}
    task.write_text(yaml.safe_dump({"input": {"shape": [8, 8]}, "correlations": [correlation]}))
    line = assert_one_error_line(
        advisor("recommend", task, "--data", data, "--budget", "20000"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line.startswith("advisor: error: task.correlations[0].name: "), line
    assert "the data adds" in line


def test_a_task_saved_with_the_data_given_the_data_again_is_told_to_use_it_alone(
    tmp_path: Path,
) -> None:
    # --data on a task --save-task wrote was refused for its arrangement, then with --from-data
    # correlations once a correlation, each message pointing at the other option.
    data, _ = _blocks(tmp_path)
    described = tmp_path / "described.yaml"
    described.write_text("input: {shape: [8, 8]}\n")
    saved = tmp_path / "saved.yaml"
    budget = ("--budget", "20000", "--top", "1")
    first = advisor("recommend", described, "--data", data, *budget, "--save-task", saved)
    assert first.status == 0, first.stderr
    count = sum(c.name.startswith("data: ") for c in load_task(saved).correlations)
    assert count > 1 and load_task(saved).arrangement is not None
    for parts in ((), ("--from-data", "correlations"), ("--from-data", "arrangement")):
        line = assert_one_error_line(
            advisor("recommend", saved, "--data", data, *budget, *parts),
            ExitCode.INVALID_ARGUMENT,
        )
        assert line == (
            f"advisor: error: task.correlations: the task already holds {count} correlations of "
            "a data inference (their names start 'data: ', as --save-task writes them): use it "
            "without the data, or rename them to add the data's again"
        ), (parts, line)
    assert advisor("recommend", saved, *budget).status == 0


def test_recommend_with_data_says_it_read_flat_rows_as_the_task_grid(tmp_path: Path) -> None:
    # (400, 64) on an 8x8 task was read row-major as images without a word, where a file of
    # sequences given for an image task is a mistake the user should see.
    data, _ = _blocks(tmp_path)
    flat = _saved(tmp_path, "flat.npy", np.load(data).reshape(400, 64))
    task = _local_task(tmp_path)
    budget = ("--budget", "20000", "--top", "1")
    note = "--data: each sample's 64 values, a flat row, were read row-major as the task's 8x8 grid"
    as_rows = advisor("recommend", task, "--data", flat, *budget)
    assert as_rows.status == 0, as_rows.stderr
    assert note in as_rows.stderr  # and the same search as the grids' (below)
    runs = [
        advisor("recommend", task, "--data", d, *budget, "--format", "json") for d in (data, flat)
    ]
    assert _untimed(runs[0]) == _untimed(runs[1]) and note not in runs[0].stderr


def test_recommend_with_data_keeps_a_task_arrangement(tmp_path: Path) -> None:
    data, _ = _blocks(tmp_path)
    task = tmp_path / "arranged.yaml"
    reversed_order = ", ".join(str(i) for i in range(63, -1, -1))
    task.write_text(f"input: {{shape: [8, 8]}}\npreset: local\narrangement: [{reversed_order}]\n")
    run = advisor("recommend", task, "--data", data, "--budget", "20000")
    assert run.status == 2
    assert "arrangement: the task already carries an arrangement" in run.stderr
    # The task's own arrangement stays: the data_arranged family is searchable.
    names, geometries = _searched(
        task, data, "--from-data", "correlations", "--geometries", "data_arranged"
    )
    assert any(name.startswith("data: ") for name in names)
    assert geometries == {"data_arranged"}


@pytest.mark.parametrize(
    ("name", "values", "problem"),
    [
        ("nan.npy", np.where(np.eye(8)[:, :4] > 0, np.nan, 1.0), "sample 0, location 0 is nan"),
        ("one.npy", np.ones((1, 8)), "1 sample(s): the dependence between locations needs"),
        ("flat.npy", np.ones(8), "array of shape [8]: expected samples first"),
        ("names.npz", np.full((8, 4), "a"), "values must be numbers, not <U1"),
        ("constant.npz", np.ones((8, 4)), "4 locations never vary in the sample"),
    ],
    ids=["nan", "one-sample", "no-grid", "names", "constant"],
)
def test_an_error_in_the_data_s_values_names_the_file(
    tmp_path: Path, name: str, values: np.ndarray, problem: str
) -> None:
    # Errors found in the array, not the file, named none: "DATA: 1 sample(s): ...", "DATA:
    # sample 0, location 0 is nan ...", where the file's other errors name it.
    data = _saved(tmp_path, name, values)
    line = assert_one_error_line(advisor("infer", data), ExitCode.INVALID_ARGUMENT)
    assert line.startswith(f"advisor: error: DATA: {data}: {problem}"), line
    task = tmp_path / "four.yaml"
    task.write_text("input: {shape: [4]}\npreset: local\n")
    line = assert_one_error_line(
        advisor("recommend", task, "--data", data, "--budget", "20000"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line.startswith(f"advisor: error: --data: {data}: "), line


def test_a_graph_of_one_pair_reports_one_pair(tmp_path: Path) -> None:
    # Two locations have one pair: the data line said "1 pairs (top 1 per location, exact)".
    values = np.random.default_rng(0).standard_normal((100, 2))
    values[:, 1] += values[:, 0]
    run = advisor("infer", _saved(tmp_path, "two.npy", values))
    assert "; 1 pair (top 1 per location, exact)\n" in run.stderr, run.stderr


def _saved_as(tmp_path: Path, kind: str, name: str) -> Path:
    """Save 40 samples of 16 values as ``kind`` (npy, npz, csv.gz) under ``name``."""
    values = np.random.default_rng(2).standard_normal((40, 16))
    path = tmp_path / name
    if kind == "npy":
        with path.open("wb") as stream:
            np.save(stream, values)
    elif kind == "npz":
        with path.open("wb") as stream:
            np.savez(stream, data=values)
    else:
        text = "".join(",".join(map(str, row)) + "\n" for row in values)
        path.write_bytes(gzip.compress(text.encode()))
    return path


@pytest.mark.parametrize(
    ("kind", "name", "said"),
    [
        ("npz", "data.npy", "it looks like a .npz archive (a zip file): name it .npz"),
        ("npy", "data.npz", "it looks like a .npy array (NumPy's magic string): name it .npy"),
        ("npy", "data.csv", "it looks like a .npy array (NumPy's magic string): name it .npy"),
        ("gz", "data.csv", "it looks like gzip-compressed data: decompress it first (gunzip)"),
        ("gz", "data.csv.gz", "it looks like gzip-compressed data: decompress it first (gunzip)"),
    ],
)
def test_a_file_in_another_format_than_its_name_says_what_it_looks_like(
    tmp_path: Path, kind: str, name: str, said: str
) -> None:
    # An .npz saved as .npy was told only that the magic string was not NumPy's but b'PK..'.
    path = _saved_as(tmp_path, kind, name)
    line = assert_one_error_line(advisor("infer", path), ExitCode.INVALID_ARGUMENT)
    assert line.startswith(f"advisor: error: DATA: {path}: ") and line.endswith(f"; {said}"), line
    labels = assert_one_error_line(
        advisor("infer", _saved_as(tmp_path, "npy", "x.npy"), "--labels", path),
        ExitCode.INVALID_ARGUMENT,
    )
    assert labels.endswith(f"; {said}"), labels


def test_bad_data_is_one_line_naming_the_problem(tmp_path: Path) -> None:
    constant = tmp_path / "constant.csv"
    constant.write_text("1,2,3,4\n1,5,6,7\n1,2,9,4\n")
    run = advisor("infer", constant)
    assert run.status == 2
    assert run.stderr.count("\n") == 1
    assert f"DATA: {constant}: 1 location never varies in the sample, at 0" in run.stderr
    # The command line names its flag, not the library's argument beside it.
    assert "; pass --allow-constant to give them no edges" in run.stderr
    assert "allow_constant" not in run.stderr
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2,3\n4,5\n")
    assert "ragged rows: line 2" in advisor("infer", ragged).stderr
    shaped = advisor("infer", constant, "--shape", "3", "3")
    assert f"--shape: {constant}: the array holds samples of shape [4]" in shaped.stderr


def test_a_binary_file_named_csv_is_told_it_is_no_text(tmp_path: Path) -> None:
    # An .npy copied to data.csv said only that the utf-8 codec could not decode byte 0x93.
    binary = tmp_path / "data.csv"
    with binary.open("wb") as stream:
        np.save(stream, np.zeros((8, 4)))
    line = assert_one_error_line(advisor("infer", binary), ExitCode.INVALID_ARGUMENT)
    assert f"DATA: {binary}: is not a UTF-8 text file (line 1, column 1: byte 0x93 is not " in line
    assert line.endswith("it looks like a .npy array (NumPy's magic string): name it .npy")
    # Binary of no format recognised: the general advice.
    binary.write_bytes(b"1,2\n\xff\xfe\n")
    line = assert_one_error_line(advisor("infer", binary), ExitCode.INVALID_ARGUMENT)
    assert line.endswith("as text; for a NumPy array use .npy or .npz"), line


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_an_array_header_of_a_negative_length_is_refused_as_corrupt(
    tmp_path: Path, suffix: str
) -> None:
    # A corrupt header's shape (-5, 8, 8) was read as "-5 sample(s): ... needs at least 2".
    stream = io.BytesIO()
    np.save(stream, np.zeros((5, 8, 8), dtype=np.float32))
    corrupt = stream.getvalue().replace(b"'shape': (5, 8, 8), }", b"'shape': (-5, 8, 8),}")
    assert corrupt != stream.getvalue(), "the header as numpy writes it"
    data = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        data.write_bytes(corrupt)
    else:
        with zipfile.ZipFile(data, "w") as archive:
            archive.writestr("data.npy", corrupt)
    line = assert_one_error_line(advisor("infer", data), ExitCode.INVALID_ARGUMENT)
    assert "its header gives the shape [-5, 8, 8], a negative length" in line, line


@pytest.mark.parametrize("start", [0, 1])
def test_a_csv_whose_first_column_counts_its_rows_is_told_it_holds_an_index(
    tmp_path: Path, start: int
) -> None:
    # np.savetxt(np.c_[np.arange(n), x]) (or pandas' index) was read as one more location: 64
    # features made a task of 65 locations without a word.
    values = np.random.default_rng(0).normal(size=(300, 64))
    indexed = tmp_path / "indexed.csv"
    np.savetxt(indexed, np.c_[np.arange(start, start + 300), values], delimiter=",")
    line = assert_one_error_line(advisor("infer", indexed), ExitCode.INVALID_ARGUMENT)
    assert f"DATA: {indexed}: column 1 counts the rows ({start}, {start + 1}, ..., " in line
    assert "not a location: drop it" in line
    plain = tmp_path / "plain.csv"
    np.savetxt(plain, values, delimiter=",")
    read = advisor("infer", plain).stderr  # independent noise: read whole, then no task
    assert "data: 300 samples, grid 64, 1 channel" in read
    assert "counts the rows" not in read


def test_a_byte_that_is_no_utf8_far_into_a_csv_is_named_by_its_line_and_column(
    tmp_path: Path,
) -> None:
    # The decoding error counts from the piece of the file the reader decoded: a bad byte at
    # offset 20,002 was told "byte 3618".
    data = tmp_path / "late.csv"
    rows = "".join(f"{i},{i + 1},{i + 2}\n" for i in range(2_000))
    data.write_bytes(rows.encode() + b"1,2,\xe9\n")
    line = assert_one_error_line(advisor("infer", data), ExitCode.INVALID_ARGUMENT)
    assert "is not a UTF-8 text file (line 2001, column 5: byte 0xE9 is not UTF-8 text" in line


def test_data_with_one_varying_location_says_so_rather_than_blame_chance(tmp_path: Path) -> None:
    # With --allow-constant, all but one location constant gave "no pair of locations depends
    # more than independent ones would ... (largest 0.000)": there was no pair to measure.
    values = np.zeros((50, 4, 4))
    values[:, 2, 1] = np.random.default_rng(4).standard_normal(50)
    data = _saved(tmp_path, "one.npy", values)
    run = advisor("infer", data, "--allow-constant")  # the report, then the error
    assert run.status == ExitCode.INVALID_ARGUMENT
    assert run.stderr.splitlines()[-1] == (
        "advisor: error: DATA: the sample shows no dependence to model: 15 of its 16 locations "
        "never vary, which leaves no pair of varying locations to measure: no task to write"
    )


def test_constant_locations_are_named_by_coordinates_and_a_cut_list_says_how_many_more(
    tmp_path: Path,
) -> None:
    # --allow-constant listed flat ids, "2 (2, 61)" read as one coordinate, and cut the list at
    # ten without a word; the refusal without it wrote "..." for what it left out.
    values = np.random.default_rng(5).standard_normal((60, 8, 8))
    values[:, 0, 2] = values[:, 7, 5] = 1.0
    run = advisor("infer", _saved(tmp_path, "two.npy", values), "--allow-constant")
    assert "constant locations (no edges): 2, at (0, 2), (7, 5)" in run.stderr
    values[:, 2:6] = 1.0  # 32 more, rows 2 to 5
    data = _saved(tmp_path, "many.npy", values)
    first = [(0, 2), *((2, column) for column in range(8)), (3, 0)]
    shown = ", ".join(f"({row}, {column})" for row, column in first) + ", ..., 24 more"
    report = " ".join(advisor("infer", data, "--allow-constant").stderr.split())
    assert f"constant locations (no edges): 34, at {shown}" in report
    refused = advisor("infer", data)
    assert refused.status == ExitCode.INVALID_ARGUMENT
    assert f"34 locations never vary in the sample, at {shown}: their" in refused.stderr


def test_data_that_never_varies_says_so_rather_than_ask_for_more_samples(tmp_path: Path) -> None:
    # 100 samples of zeros are one distinct sample, so the threshold lay above 1 and the error
    # read "1 distinct samples (100 with repeats) are too few ...; at least 13 ... are needed".
    data = _saved(tmp_path, "zeros.npy", np.zeros((100, 4, 4)))
    run = advisor("infer", data, "--allow-constant")  # the report, then the error
    assert run.status == ExitCode.INVALID_ARGUMENT
    assert run.stderr.splitlines()[-1] == (
        "advisor: error: DATA: the sample shows no dependence to model: 16 of its 16 locations "
        "never vary, which leaves no pair of varying locations to measure: no task to write"
    )
    # The report before it counts the one sample in the singular, and its evidence and no-task
    # lines give the error's reason, not "1 distinct sample ... is too few" (they did).
    assert "data: 1 distinct sample (100 with repeats), grid 4x4" in run.stderr
    report = " ".join(run.stderr.split())
    reason = "16 of its 16 locations never vary, which leaves no pair of varying locations"
    assert f"evidence: none can be: {reason}" in report
    assert f"no task: the sample shows no dependence to model: {reason}" in report
    assert "too few" not in report


def _colour_images(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """300 random 16x16 RGB images mirrored left to right, saved (samples, height, width, RGB)."""
    rng = np.random.default_rng(3)
    images = rng.standard_normal((300, 16, 16, 1)).repeat(3, axis=3)
    images[:, :, 8:] = images[:, :, 7::-1] + 0.1 * rng.standard_normal((300, 16, 8, 3))
    data = tmp_path / "images.npy"
    np.save(data, images.astype(np.float32))
    return data, images


def test_infer_says_how_to_read_a_trailing_colour_axis_as_channels(tmp_path: Path) -> None:
    # Images saved as (samples, height, width, RGB), the numpy layout: read as written the
    # colour axis is a third grid axis; the report says which --shape reads it as channels.
    data, _ = _colour_images(tmp_path)
    as_written = advisor("infer", data)
    assert as_written.status == 0, as_written.stderr
    assert "grid 16x16x3, 1 channel" in as_written.stderr
    assert "if they are colour channels, pass --shape 16 16 " in _unwrapped(as_written.stderr)
    advised = advisor("infer", data, "--shape", "16", "16")
    assert advised.status == 0, advised.stderr
    assert "grid 16x16, 3 channels" in advised.stderr
    assert "colour channels" not in advised.stderr


def test_infer_reads_a_leading_colour_axis_as_channels_with_the_grid_given(tmp_path: Path) -> None:
    # (samples, RGB, height, width), PyTorch's layout: read as written it was a 3x16x16 grid
    # without a note, and `--shape 16 16` was refused; now it gives the channels-last task.
    last, images = _colour_images(tmp_path)
    first = tmp_path / "first.npy"
    np.save(first, np.moveaxis(images, -1, 1).astype(np.float32))
    as_written = advisor("infer", first)
    assert "grid 3x16x16, 1 channel" in as_written.stderr
    assert "note: the first axis has 3 values per location of 16x16" in _unwrapped(
        as_written.stderr
    )
    advised = advisor("infer", first, "--shape", "16", "16")
    assert advised.status == 0, advised.stderr
    assert "grid 16x16, 3 channels" in advised.stderr
    assert advised.stdout == advisor("infer", last, "--shape", "16", "16").stdout


@pytest.mark.parametrize(("axis", "end"), [(-1, "last"), (1, "first")])
def test_infer_says_how_to_read_an_end_axis_of_one_value_as_the_channel(
    tmp_path: Path, axis: int, end: str
) -> None:
    # (samples, 16, 16, 1), Keras' layout, or (samples, 1, 16, 16), PyTorch's: read as written
    # a 16x16x1 volume, whose task names the image's rows `depth`, and no note said so.
    _, images = _colour_images(tmp_path)
    plain = tmp_path / "plain.npy"
    np.save(plain, images[..., 0].astype(np.float32))
    single = tmp_path / "single.npy"
    np.save(single, np.expand_dims(images[..., 0], axis).astype(np.float32))
    note = (
        f"note: the {end} axis has 1 value per location of 16x16; if it is a channels axis "
        "(one channel), pass --shape 16 16 "
    )
    advised = _noted_then_advised(single, note, ["16", "16"], "grid 16x16, 1 channel")
    assert advised.stdout == advisor("infer", plain).stdout


@pytest.mark.parametrize(
    ("layout", "end"), [((1, 1, 32), "first"), ((32, 1, 1), "last"), ((1, 32, 1), "last")]
)
def test_infer_s_one_channel_note_leaves_every_axis_of_one_location_out(
    tmp_path: Path, layout: tuple[int, ...], end: str
) -> None:
    # (samples, 1, 1, 32): the note said "pass --shape 1 32", a grid that still has an axis of
    # one location, and with it "pass --shape 32", which the data was then refused on.
    rng = np.random.default_rng(7)
    steps = rng.standard_normal((200, 32))
    steps[:, 1:] += steps[:, :-1]
    data = _saved(tmp_path, "steps.npy", steps.reshape(200, *layout).astype(np.float32))
    flat = _saved(tmp_path, "flat.npy", steps.astype(np.float32))
    note = (
        f"note: the {end} axis has 1 value per location of 32; if it is a channels axis (one "
        f"channel), pass --shape 32 (the grid; the {end} axis is then read as channels, and the "
        "other axis of 1 location left out)"
    )
    advised = _noted_then_advised(data, note, ["32"], "grid 32, 1 channel")
    assert advised.stdout == advisor("infer", flat).stdout


@pytest.mark.parametrize(("axis", "end"), [(-1, "last"), (1, "first")])
def test_infer_says_how_to_read_an_end_axis_of_two_values_as_channels(
    tmp_path: Path, axis: int, end: str
) -> None:
    # (samples, 2, 128), a radio signal's I and Q as PyTorch holds them, or (samples, 128, 2):
    # read as written a 2x128 image, its two channels pooled as rows, and no note said so.
    rng = np.random.default_rng(6)
    steps = rng.standard_normal((200, 64))
    steps[:, 1:] += steps[:, :-1]
    pair = np.stack([steps, steps + 0.5 * rng.standard_normal((200, 64))], axis=axis)
    data = _saved(tmp_path, "iq.npy", pair.astype(np.float32))
    note = (
        f"note: the {end} axis has 2 values per location of 64; if they are channels (as a "
        f"signal's I and Q, or stereo's two), pass --shape 64 (the grid; the {end} axis is then "
        "read as channels)"
    )
    _noted_then_advised(data, note, ["64"], "grid 64, 2 channels")


def test_data_that_does_not_hold_the_task_grid_is_an_error_on_data(tmp_path: Path) -> None:
    # The grid read is the task's, not a --shape the user gave: the data is what to change.
    data = tmp_path / "rgb.npy"
    np.save(data, np.zeros((10, 16, 16, 3), dtype=np.float32))
    task = _local_task(tmp_path)
    line = assert_one_error_line(
        advisor("recommend", task, "--data", data, "--budget", "20000"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line.startswith(
        f"advisor: error: --data: {data}: the array holds samples of shape [16, 16, 3], which is "
        "not the grid [8, 8]"
    )
    shaped = advisor("recommend", task, "--data", data, "--shape", "4", "4", "--budget", "20000")
    assert f"error: --shape: {data}: the array holds samples of shape [16, 16, 3]" in shaped.stderr


def test_data_whose_channels_are_not_the_tasks_is_an_error_on_data(tmp_path: Path) -> None:
    # A 4x6x6 video of 2 channels per location against a task of the default 1 channel: the
    # search would build a net for 1 channel, which cannot take the data's samples.
    rng = np.random.default_rng(4)
    frames = rng.standard_normal((300, 4, 6, 6, 1)).repeat(2, axis=4)
    frames[:, :, :, 3:] = frames[:, :, :, 2::-1] + 0.1 * rng.standard_normal((300, 4, 6, 3, 2))
    data = tmp_path / "video.npy"
    np.save(data, frames.astype(np.float32))
    task = tmp_path / "video.yaml"
    task.write_text("input: {shape: [4, 6, 6]}\npreset: symmetry\n")
    line = assert_one_error_line(
        advisor("recommend", task, "--data", data, "--budget", "5000", "--top", "1"),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line == (
        "advisor: error: --data: the data holds 2 channels per location and the task 1 "
        "(task input.channels); give the task the data's channels, or data of the task's"
    )
    task.write_text("input: {shape: [4, 6, 6], channels: 2}\npreset: symmetry\n")
    run = advisor("recommend", task, "--data", data, "--budget", "5000", "--top", "1")
    assert run.status == 0, run.stderr


def test_recommend_saves_the_task_it_searched_and_analyze_confirms_the_figures_on_it(
    tmp_path: Path,
) -> None:
    data, _ = _blocks(tmp_path)
    task = _local_task(tmp_path)
    saved, result = tmp_path / "searched.yaml", tmp_path / "result.json"
    run = advisor(
        "recommend",
        task,
        "--data",
        data,
        "--budget",
        "20000",
        "--top",
        "1",
        "--format",
        "json",
        "--save-task",
        saved,
    )
    assert run.status == 0, run.stderr
    result.write_text(run.stdout)
    searched = json.loads(run.stdout)["recommendations"][0]["analysis"]
    assert any(c["name"].startswith("data: ") for c in searched)
    checked = advisor("analyze", saved, "--arch", result, "--format", "json")
    assert checked.status == 0, checked.stderr
    assert json.loads(checked.stdout)["correlations"] == searched
    same = advisor("recommend", task, "--data", data, "--budget", "20000", "--save-task", task)
    assert same.status == 2
    assert "--save-task: " in same.stderr and "is the TASK file" in same.stderr
    assert task.read_text() == "input: {shape: [8, 8]}\npreset: local\n"


def test_the_saved_task_is_the_task_searched_so_its_pages_continue_on_it(tmp_path: Path) -> None:
    # The saved task had every region as ids, the preset expanded and the relations dropped:
    # its search read the halves both ways (scoring the designs otherwise), and refused the
    # page token of the search it was saved from as another request's.
    data, _ = _blocks(tmp_path)
    task = tmp_path / "described.yaml"
    task.write_text(
        "input: {shape: [8, 8]}\npreset: symmetry\ncorrelations:\n"
        "  - {name: halves, a: {box: {start: [0, 0], stop: [8, 4]}}, b: {preset: right_half},"
        " relation: shift}\n"
    )
    saved = tmp_path / "searched.yaml"
    search = ("--budget", "5000", "--top", "2", "--format", "json")
    first = advisor("recommend", task, "--data", data, *search, "--save-task", saved)
    assert first.status == 0, first.stderr
    written = yaml.safe_load(saved.read_text())
    assert written["preset"] == "symmetry"
    assert written["correlations"][0]["relation"] == "shift"
    assert written["correlations"][0]["b"] == {"preset": "right_half"}
    token = json.loads(first.stdout)["next_page_token"]
    again = advisor("recommend", task, "--data", data, *search, "--page-token", token)
    on_saved = advisor("recommend", saved, *search, "--page-token", token)
    assert again.status == on_saved.status == 0, on_saved.stderr
    assert _untimed(again) == _untimed(on_saved)
    assert [r["rank"] for r in _untimed(on_saved)["recommendations"]] == [3, 4]


def test_a_refused_search_saves_no_task_and_keeps_the_one_saved_before(tmp_path: Path) -> None:
    """``--save-task`` writes the task searched, so a search the server refuses (here a budget
    no net fits) writes none: the file a successful run saved beside its result is kept, not
    replaced by a task no result belongs to. A path that cannot be written is still refused
    before the data is read."""
    data, _ = _blocks(tmp_path)
    task = _local_task(tmp_path)
    saved = tmp_path / "searched.yaml"
    saved.write_text("kept\n")
    refused = advisor(
        "recommend", task, "--data", data, "--budget", "10", "--save-task", saved, "--force"
    )
    line = assert_one_error_line(refused, ExitCode.INVALID_ARGUMENT)
    assert line.startswith("advisor: error: --budget: "), line
    assert saved.read_text() == "kept\n"
    fresh = tmp_path / "fresh.yaml"
    advisor("recommend", task, "--data", data, "--budget", "10", "--save-task", fresh)
    assert not fresh.exists()
    nowhere = tmp_path / "missing" / "task.yaml"
    line = assert_one_error_line(
        advisor("recommend", task, "--data", data, "--budget", "20000", "--save-task", nowhere),
        ExitCode.INVALID_ARGUMENT,
    )
    assert line.startswith(f"advisor: error: --save-task: {nowhere}: "), line
    directory = assert_one_error_line(
        advisor("recommend", task, "--data", data, "--budget", "20000", "--save-task", tmp_path),
        ExitCode.INVALID_ARGUMENT,
    )
    assert directory.startswith(f"advisor: error: --save-task: {tmp_path}: "), directory


def test_a_save_task_that_cannot_be_written_is_refused_before_the_data_is_read(
    tmp_path: Path,
) -> None:
    # Only a missing directory was refused before the search: a directory that takes no new
    # file was found after it, the search's result thrown away. As root, only a file system
    # that takes no file refuses one: /sys does.
    unwritable = tmp_path / "locked"
    unwritable.mkdir(mode=0o500)
    if os.access(unwritable, os.W_OK):
        unwritable = Path("/sys")
        if not unwritable.is_dir():
            pytest.skip("no directory this process cannot write in")
    task = _local_task(tmp_path)
    saved = unwritable / "task.yaml"
    # No such data: the refusal of --save-task comes first, so nothing was read or searched.
    run = advisor(
        "recommend",
        task,
        "--data",
        tmp_path / "none.npy",
        "--budget",
        "20000",
        "--save-task",
        saved,
    )
    line = assert_one_error_line(run, ExitCode.INVALID_ARGUMENT)
    assert line == f"advisor: error: --save-task: {saved}: Permission denied"
    assert run.stdout == ""


def test_a_save_task_whose_write_fails_after_the_search_prints_the_result_first(
    tmp_path: Path,
) -> None:
    # A full disk is only found by the write: the result was lost with it, stdout empty.
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full on this platform")
    data, _ = _blocks(tmp_path)
    task = _local_task(tmp_path)
    run = advisor(
        "recommend",
        task,
        "--data",
        data,
        "--budget",
        "20000",
        "--format",
        "json",
        "--save-task",
        full,
    )
    line = assert_one_error_line(run, ExitCode.INVALID_ARGUMENT)
    assert line == f"advisor: error: --save-task: {full}: No space left on device"
    assert json.loads(run.stdout)["recommendations"]


def _writing(tmp_path: Path, command: str, output: Path) -> tuple[str, tuple[str | Path, ...]]:
    """The option and the command line of ``infer --output`` or ``recommend --save-task``."""
    data, _ = _blocks(tmp_path)
    if command == "infer":
        return "--output", ("infer", data, "--output", output)
    task = _local_task(tmp_path)
    return "--save-task", (
        "recommend",
        task,
        "--data",
        data,
        "--budget",
        "20000",
        "--save-task",
        output,
    )


@pytest.mark.parametrize("command", ["infer", "recommend"])
def test_an_existing_output_file_is_replaced_only_with_force(tmp_path: Path, command: str) -> None:
    # infer --output and recommend --save-task replaced an existing file without a word, where
    # export --output refused it: one rule for every file a command writes.
    existing = tmp_path / "existing.yaml"
    existing.write_text("mine\n")
    option, given = _writing(tmp_path, command, existing)
    line = assert_one_error_line(advisor(*given), ExitCode.INVALID_ARGUMENT)
    assert line == f"advisor: error: {option}: {existing} exists: pass --force to replace it"
    assert existing.read_text() == "mine\n"
    forced = advisor(*given, "--force")
    assert forced.status == 0, forced.stderr
    # Where infer's report goes, standard output; recommend's holds the result, so stderr.
    said = forced.stdout if command == "infer" else forced.stderr
    assert said.endswith(f"task written to {existing}\n")
    assert load_task(existing).correlations


@pytest.mark.parametrize("command", ["infer", "recommend"])
@pytest.mark.parametrize("planted", ["file", "link"])
def test_a_file_made_while_the_command_ran_is_not_replaced_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, planted: str
) -> None:
    # --force was checked before the work alone, and the write followed a symbolic link: a file,
    # or a link to another's file, put there during a long inference was replaced (a security
    # review, in a shared directory).
    output, victim = tmp_path / "out.yaml", tmp_path / "victim.txt"
    victim.write_text("precious\n")
    option, given = _writing(tmp_path, command, output)
    replace = files_module.replace_file

    def made_meanwhile(path: Path, text: str, prefix: str, *, exclusive: bool = False) -> None:
        if not os.path.lexists(path):
            if planted == "file":
                path.write_text("theirs\n")
            else:
                path.symlink_to(victim)
        replace(path, text, prefix, exclusive=exclusive)

    monkeypatch.setattr(output_files_module, "replace_file", made_meanwhile)
    line = assert_one_error_line(advisor(*given), ExitCode.INVALID_ARGUMENT)
    assert line == (
        f"advisor: error: {option}: {output} was made while the command ran: not replaced; "
        "pass --force to replace it"
    )
    assert victim.read_text() == "precious\n"
    assert output.read_text() == ("theirs\n" if planted == "file" else "precious\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.yaml.")] == []


def test_a_dangling_link_is_not_written_through_without_force(tmp_path: Path) -> None:
    # Written through, it made the file it names, wherever that is.
    data, _ = _blocks(tmp_path)
    output, target = tmp_path / "out.yaml", tmp_path / "elsewhere" / "new.yaml"
    target.parent.mkdir()
    output.symlink_to(target)
    line = assert_one_error_line(
        advisor("infer", data, "--output", output), ExitCode.INVALID_ARGUMENT
    )
    assert line == (
        f"advisor: error: --output: {output} is a symbolic link to {target}, which does not "
        "exist: pass --force to write there"
    )
    assert not target.exists()
    forced = advisor("infer", data, "--output", output, "--force")
    assert forced.status == 0, forced.stderr
    assert output.is_symlink() and load_task(target).correlations


@pytest.mark.parametrize(
    ("command", "needs"),
    [("infer", "--output FILE"), ("recommend", "--save-task TASK.yaml")],
)
def test_force_without_a_file_to_replace_is_refused(
    tmp_path: Path, command: str, needs: str
) -> None:
    # It was accepted and did nothing: a --force meant for a file that is not being written.
    data, _ = _blocks(tmp_path)
    task = _local_task(tmp_path)
    given = ("infer", data) if command == "infer" else ("recommend", task, "--budget", "20000")
    line = assert_one_error_line(advisor(*given, "--force"), ExitCode.INVALID_ARGUMENT)
    assert line.startswith(f"advisor: error: --force: needs {needs}"), line


def _saved(tmp_path: Path, name: str, values: np.ndarray) -> Path:
    """``values`` saved as ``name`` (``.npy``, or ``.npz`` under the name ``data``)."""
    path = tmp_path / name
    if path.suffix == ".npz":
        np.savez(path, data=values)
    else:
        np.save(path, values)
    return path


@pytest.mark.parametrize(
    ("name", "shape", "options"),
    [
        ("flat.npy", (10, 0), []),
        ("images.npy", (50, 8, 8, 0), []),
        ("images.npy", (50, 8, 8, 0), ["--shape", "8", "8"]),
        ("volume.npz", (10, 0, 5), []),
    ],
    ids=["flat", "no-channels", "no-channels-shaped", "npz"],
)
def test_an_axis_of_size_zero_is_an_error_on_the_data(
    tmp_path: Path, name: str, shape: tuple[int, ...], options: list[str]
) -> None:
    # An axis of size 0 holds no values, whatever grid --shape names: it was a ZeroDivisionError.
    data = _saved(tmp_path, name, np.zeros(shape))
    line = assert_one_error_line(advisor("infer", data, *options), ExitCode.INVALID_ARGUMENT)
    assert line.startswith(
        f"advisor: error: DATA: {data}: array of shape {list(shape)}: an axis of size 0 holds no "
        "values"
    ), line


def test_a_grid_of_one_location_is_an_error_naming_what_gave_the_grid(tmp_path: Path) -> None:
    # One location has no pair to measure: it was numpy's "kth(=1) out of bounds" (exit 1).
    rng = np.random.default_rng(0)
    column = tmp_path / "column.csv"
    column.write_text("".join(f"{value!r}\n" for value in rng.standard_normal(100).tolist()))
    for data in (column, _saved(tmp_path, "cube.npy", rng.standard_normal((500, 1, 1)))):
        line = assert_one_error_line(advisor("infer", data), ExitCode.INVALID_ARGUMENT)
        assert line.startswith(f"advisor: error: DATA: {data}: the grid ["), line
        assert line.endswith("] is one location: no pair of locations to measure"), line
    # --shape 1 reads (1, 3) as one location of 3 channels: the option named that grid.
    rgb = _saved(tmp_path, "rgb.npy", rng.standard_normal((500, 1, 3)))
    line = assert_one_error_line(advisor("infer", rgb, "--shape", "1"), ExitCode.INVALID_ARGUMENT)
    assert line == (
        "advisor: error: --shape: the grid [1] is one location: no pair of locations to measure"
    )


def test_a_grid_of_more_than_three_axes_is_an_error_on_the_option_that_gave_it(
    tmp_path: Path,
) -> None:
    # The inferred task's input.shape refused it after the inference, naming a field the user
    # never wrote; the grid is now checked where it is read.
    rng = np.random.default_rng(0)
    flat = _saved(tmp_path, "flat.npy", rng.standard_normal((500, 64)))
    line = assert_one_error_line(
        advisor("infer", flat, "--shape", *["2"] * 6), ExitCode.INVALID_ARGUMENT
    )
    assert line == (
        "advisor: error: --shape: the grid [2, 2, 2, 2, 2, 2]: must have 1, 2 or 3 dimensions, "
        "got 6"
    )
    nested = _saved(tmp_path, "nested.npy", rng.standard_normal((500, 2, 2, 2, 8)))
    line = assert_one_error_line(advisor("infer", nested), ExitCode.INVALID_ARGUMENT)
    assert line.startswith(
        f"advisor: error: DATA: {nested}: the grid [2, 2, 2, 8] (every axis after the samples): "
        "must have 1, 2 or 3 dimensions, got 4; name the grid with shape (--shape)"
    ), line


def test_an_empty_or_unreadable_archive_is_named_with_a_true_reason(tmp_path: Path) -> None:
    # An empty .npz was numpy's EOFError (exit 1); a file that is no zip archive was read as a
    # pickle, whose error advised loading it unsafely.
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"garbage" * 10)
    task = _local_task(tmp_path)
    commands: tuple[tuple[list[str | Path], list[str], str], ...] = (
        (["infer"], [], "DATA"),
        (["recommend", task, "--data"], ["--budget", "20000"], "--data"),
    )
    for command, options, option in commands:
        for data, reason in ((empty, "the file is empty (0 bytes)"), (garbage, "not a readable")):
            run = advisor(*command, data, *options)
            line = assert_one_error_line(run, ExitCode.INVALID_ARGUMENT)
            assert line.startswith(f"advisor: error: {option}: {data}: {reason}"), line
            assert "pickle" not in line
    line = assert_one_error_line(advisor("infer", garbage), ExitCode.INVALID_ARGUMENT)
    assert line == f"advisor: error: DATA: {garbage}: not a readable .npz (File is not a zip file)"


@pytest.mark.parametrize("command", ["infer", "recommend"])
def test_a_grid_over_the_location_limit_names_the_data_option(tmp_path: Path, command: str) -> None:
    # The server refuses the graph read from the data, whose request field the user never
    # wrote: "graph.input.shape: grid of locations 64 exceeds ..." named neither DATA nor --data.
    values = np.random.default_rng(0).normal(size=(200, 8, 8))
    data = _saved(tmp_path, "sample.npy", values)
    limit = ["--limit", "max_locations=32"]
    arguments: list[str | Path]
    if command == "infer":
        arguments, option = ["infer", data, *limit], "DATA"
    else:
        task = tmp_path / "task.yaml"
        task.write_text("input: {shape: [8, 8]}\npreset: symmetry\n")
        arguments = ["recommend", task, "--budget", "10k", "--data", data, *limit]
        option = "--data"
    line = assert_one_error_line(advisor(*arguments), ExitCode.INVALID_ARGUMENT)
    assert line == (
        f"advisor: error: {option}: grid of locations 64 exceeds the server's limit of 32 "
        "(max_locations; raise it with --limit max_locations=64); downsample or crop it (a "
        "stride of 2 on every axis gives [4, 4])"
    )


def test_labels_in_the_data_archive_are_noted_when_labels_does_not_name_them(
    tmp_path: Path,
) -> None:
    # An archive of data and labels, given as DATA alone, wrote a task without outputs and
    # without a word: its labels are read only when --labels names the archive.
    rng = np.random.default_rng(0)
    archive = tmp_path / "both.npz"
    values = rng.normal(size=(300, 8, 8))
    values[:, :, 4:] = values[:, :, 3::-1] + 0.1 * rng.normal(size=(300, 8, 4))  # mirrored
    np.savez(archive, data=values, labels=rng.integers(0, 3, 300))
    note = f"note: {archive} also holds an array 'labels', read only when named"
    alone = advisor("infer", archive, "--output", tmp_path / "alone.yaml")
    named = advisor("infer", archive, "--labels", archive, "--output", tmp_path / "named.yaml")
    assert alone.status == named.status == ExitCode.OK, alone.stderr + named.stderr
    assert note in " ".join((alone.stdout + alone.stderr).split())  # as read, unwrapped
    assert note not in " ".join((named.stdout + named.stderr).split())
    assert load_task(tmp_path / "named.yaml").outputs == 3


def _noted_then_advised(data: Path, note: str, shape: list[str], grid: str) -> Run:
    """Infer from ``data`` as written, whose report carries ``note``; then with ``--shape``.

    The advised run reads ``grid`` and carries no note; it is returned for its task.
    """
    as_written = advisor("infer", data)
    assert as_written.status == 0, as_written.stderr
    assert note in _unwrapped(as_written.stderr)
    advised = advisor("infer", data, "--shape", *shape)
    assert advised.status == 0, advised.stderr
    assert grid in advised.stderr
    assert "note:" not in advised.stderr
    return advised


def _unwrapped(report: str) -> str:
    """The report as read, its lines wrapped within the terminal's width joined by spaces."""
    return " ".join(report.split())


def _stopped_inference(*args: object, **kwargs: object) -> None:
    """A client's ``infer_task`` whose call its deadline stopped."""
    raise DeadlineExceededError(
        grpc.StatusCode.DEADLINE_EXCEEDED, "the inference was stopped before it finished"
    )


def test_an_inference_its_deadline_stopped_names_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `advisor infer` of 2,000 samples of a 16x64x64 volume read the data for minutes, then
    # ended with only "DEADLINE_EXCEEDED: the inference was stopped before it finished": the
    # default --timeout of 30 s had bounded the arrangement, which the message did not say.
    data, _ = _blocks(tmp_path)

    monkeypatch.setattr(AdvisorClient, "infer_task", _stopped_inference)
    task = tmp_path / "bare.yaml"
    task.write_text("input: {shape: [8, 8]}\noutputs: 3\n")
    for command in (("infer", data), ("recommend", task, "--data", data, "--budget", "1000")):
        line = assert_one_error_line(
            advisor(*command, "--timeout", "7"), ExitCode.DEADLINE_EXCEEDED
        )
        assert line.endswith(
            "DEADLINE_EXCEEDED: the inference was stopped before it finished (--timeout 7 s, "
            "which bounds the arrangement of the 64 locations, not the reading of the data: pass "
            "a longer --timeout)"
        ), line


def test_an_inference_the_default_timeout_stopped_is_no_unexpected_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without --timeout the command worded its own timeout of None: "unexpected TypeError:
    # unsupported format string passed to NoneType.__format__". The client's deadline is its
    # default, which the client's own words name where they say one.
    data, _ = _blocks(tmp_path)

    monkeypatch.setattr(AdvisorClient, "infer_task", _stopped_inference)
    line = assert_one_error_line(advisor("infer", data), ExitCode.DEADLINE_EXCEEDED)
    assert line.endswith("DEADLINE_EXCEEDED: the inference was stopped before it finished"), line


def test_an_inference_the_clients_deadline_ended_names_the_timeout_once(tmp_path: Path) -> None:
    # The client's clause ("the call's timeout of 0.001 s ran out: pass a longer --timeout") came
    # before the command's, each saying to pass a longer --timeout.
    data, _ = _blocks(tmp_path)
    line = assert_one_error_line(
        advisor("infer", data, "--timeout", "0.001"), ExitCode.DEADLINE_EXCEEDED
    )
    # The client's gRPC ends it, or the server does where its answer comes first.
    said = line.removeprefix("advisor: error: DEADLINE_EXCEEDED: ")
    assert said.endswith(
        " (--timeout 0.001 s, which bounds the arrangement of the 64 locations, not the reading "
        "of the data: pass a longer --timeout)"
    ), line
    assert said.count("--timeout") == 2 and "the call's timeout" not in said, line


@pytest.mark.parametrize("code", ["invalid", "deadline"])
def test_the_commands_words_for_a_refusal_keep_what_the_call_said(code: str) -> None:
    # The command re-raises a server's refusal in its own words (the option it names); the
    # request id the server logged, its reason and retry delay are the call's, and were lost.
    empty = np.zeros(0, dtype=np.int64)
    graph = DependenceGraph((8, 8), 1, 10, 1, empty, empty, np.zeros(0))
    refused: AdvisorRpcError = (
        InvalidArgumentError("graph too large", [FieldViolation("graph.input.shape", "too large")])
        if code == "invalid"
        else DeadlineExceededError(grpc.StatusCode.DEADLINE_EXCEEDED, "stopped")
    )
    refused.request_id, refused.request_id_from_server = "the-servers-id", True
    refused.reason, refused.retry_delay = "SOME_REASON", 0.5

    class Refusing:
        def infer_task(self, *args: object, **kwargs: object) -> None:
            raise refused

    with pytest.raises(AdvisorRpcError) as raised:
        _infer_task(Refusing(), graph, "--data", timeout=7.0)  # type: ignore[arg-type]
    assert raised.value is not refused and raised.value.__cause__ is refused
    said = raised.value
    assert (said.request_id, said.request_id_from_server, said.reason, said.retry_delay) == (
        "the-servers-id",
        True,
        "SOME_REASON",
        0.5,
    )


@pytest.mark.parametrize("reason", ["SERVER_TIME_BOUND", "REQUEST_READ_TIMEOUT"])
def test_a_deadline_of_the_servers_own_bound_is_not_blamed_on_the_timeout(reason: str) -> None:
    # A server's bound names its setting; "pass a longer --timeout" would meet the same bound.
    empty = np.zeros(0, dtype=np.int64)
    graph = DependenceGraph((8, 8), 1, 10, 1, empty, empty, np.zeros(0))
    bounded = DeadlineExceededError(grpc.StatusCode.DEADLINE_EXCEEDED, "the server's bound")
    bounded.reason = reason

    class Bounding:
        def infer_task(self, *args: object, **kwargs: object) -> None:
            raise bounded

    with pytest.raises(DeadlineExceededError) as raised:
        _infer_task(Bounding(), graph, "--data", timeout=7.0)  # type: ignore[arg-type]
    assert raised.value is bounded
