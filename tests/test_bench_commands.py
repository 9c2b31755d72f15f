"""The benchmark commands read their command line before they run: ``--help`` never runs one.

Several of them rewrite files under docs/ and bench/ when run (the outcome report rewrites
docs/OUTCOMES.md); a command that ignores its arguments did that on ``--help``.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bench import bench_anytime, bench_search, report
from bench.infer import speed
from bench.report import add_write_option, command_parser, no_options, publish

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _main_block(tree: ast.Module) -> ast.If | None:
    """Return the module's ``if __name__ == "__main__":`` block, if it has one."""
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
        ):
            return node
    return None


def _calls(tree: ast.AST) -> set[str]:
    """Return the names of the functions and methods ``tree`` calls."""
    return {
        node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
    }


def test_every_benchmark_command_parses_its_command_line_before_it_runs() -> None:
    modules = {path: ast.parse(path.read_text()) for path in BENCH.rglob("*.py")}
    blocks = {path: block for path, tree in modules.items() if (block := _main_block(tree))}
    assert len(blocks) >= 10, "the scan finds the benchmark commands"
    # A command reads its options with argparse somewhere in its module, or its main block
    # reads that it takes none.
    unparsed = [
        str(path.relative_to(BENCH))
        for path, block in blocks.items()
        if "no_options" not in _calls(block) and "parse_args" not in _calls(modules[path])
    ]
    assert unparsed == []


# The commands whose whole job is to rebuild docs from committed results (no measuring).
_DOC_BUILDERS = {"validate/report.py", "outcomes/report.py"}


def test_every_measuring_benchmark_writes_docs_only_on_write_docs() -> None:
    # The table benchmarks rewrote docs/PERFORMANCE.md unless given --no-write, the reliability
    # ones only on --write-docs: a run to check a figure dirtied tracked docs unasked.
    writers = {
        str(path.relative_to(BENCH)): _calls(tree)
        for path in BENCH.rglob("*.py")
        if (tree := ast.parse(path.read_text())) and _main_block(tree)
    }
    writing = {name for name, calls in writers.items() if calls & {"update_section", "publish"}}
    assert {"bench_search.py", "fuzz.py", "outcomes/ties.py"} <= writing, "the scan finds them"
    unasked = sorted(
        name for name in writing - _DOC_BUILDERS if "add_write_option" not in writers[name]
    )
    assert unasked == []


@pytest.mark.parametrize("asked", [False, True])
def test_publish_prints_its_table_and_writes_it_only_when_asked(
    asked: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report, "DOCS", tmp_path)
    parser = command_parser()
    add_write_option(parser, "TABLES.md")
    arguments = parser.parse_args(["--write-docs"] if asked else [])
    publish(arguments, "speed", "| a | b |", measured=False)
    assert "| a | b |" in capsys.readouterr().out
    written = tmp_path / "TABLES.md"
    assert written.exists() == asked
    if asked:
        assert "<!-- begin speed -->\n| a | b |\n<!-- end speed -->" in written.read_text()


def test_every_benchmark_command_s_parser_wraps_its_help_as_the_cli_s() -> None:
    # argparse's own parser wraps --help at COLUMNS (tests/test_terminals.py runs a few): each
    # command builds its parser with bench.report.command_parser, which wraps as advisor does.
    direct = [
        str(path.relative_to(BENCH))
        for path in BENCH.rglob("*.py")
        if path != BENCH / "report.py" and "ArgumentParser" in _calls(ast.parse(path.read_text()))
    ]
    assert direct == []


_DOCSTRING = """Measure a thing.

Run ``python -m bench.thing``; it prints a table
and writes it. For each case:

- a first case, whose text goes on
  under it;
- a second. Usage::

    python -m bench.thing --side 64     # 4,096 locations
"""


def test_a_benchmark_command_s_help_keeps_its_docstring_s_paragraphs_items_and_examples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each line of a docstring wrapped on its own left a short line after every long one.
    monkeypatch.setenv("COLUMNS", "42")  # wrapped within 40 columns
    shown = command_parser(prog="thing", description=_DOCSTRING).format_help()
    assert shown.split("\n\noptions:")[0] == (
        "usage: thing [-h]\n\n"
        "Measure a thing.\n\n"
        "Run ``python -m bench.thing``; it prints\n"
        "a table and writes it. For each case:\n\n"
        "- a first case, whose text goes on under\n"
        "  it;\n"
        "- a second. Usage::\n\n"
        "    python -m bench.thing --side 64\n"
        "           # 4,096 locations"
    )


def test_a_command_without_options_prints_its_description_on_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["report.py", "--help"])
    with pytest.raises(SystemExit) as exited:
        no_options("Rebuild the report.\n\nIt rewrites docs/.")
    assert exited.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("usage: report.py [-h]")
    assert "Rebuild the report.\n\nIt rewrites docs/." in printed


def test_a_command_without_options_refuses_an_argument(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["report.py", "--draw", "1"])
    with pytest.raises(SystemExit) as exited:
        no_options("Rebuild the report.")
    assert exited.value.code == 2
    assert "unrecognized arguments: --draw 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "option"), [(["--side", "0"], "--side"), (["--samples", "1"], "--samples")]
)
def test_the_inference_speed_benchmark_refuses_a_size_it_cannot_measure_by_its_option(
    arguments: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        speed.main(arguments)
    assert exited.value.code == 2
    assert f"error: {option}: at least" in capsys.readouterr().err


@pytest.mark.parametrize("module", [bench_anytime, bench_search])
def test_the_search_benchmarks_refuse_no_repeats_by_the_option_before_they_run(
    module: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # With 0 repeats each ran its searches, then stopped on min() of nothing: a traceback.
    monkeypatch.setattr(sys, "argv", [f"{module.__name__}.py", "--repeats", "0"])
    with pytest.raises(SystemExit) as exited:
        module.main()
    assert exited.value.code == 2
    assert "argument --repeats: expected a whole number of at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("repeats", [1, 2, 3])
def test_the_search_benchmark_says_how_many_runs_each_figure_is_the_best_of(repeats: int) -> None:
    said = bench_search.runs_kept(repeats)
    if repeats == 1:  # it read "best of 1 runs for the cases with a target"
        assert said == "one run per case"
    else:
        assert said.startswith(f"best of {repeats} runs for the cases with a target")


# Each benchmark command's counts: runs, cases, trials, workers, epochs, examples. A count of 0
# (or below) never measures anything: the fuzzer, the fault probes and the stop stress test
# started their servers and burners and then stopped on a traceback (``max() arg is an empty
# sequence``), the inference tails printed a table of ``nan%``.
_COUNT_OPTIONS = [
    ("bench.automl_study", "--trials"),
    ("bench.faults", "--trials"),
    ("bench.faults", "--workers"),
    ("bench.fuzz", "--cases"),
    ("bench.fuzz", "--concurrency"),
    ("bench.fuzz", "--workers"),
    ("bench.infer.channels", "--runs"),
    ("bench.infer.run", "--seeds"),
    ("bench.infer.tails", "--runs"),
    ("bench.load", "--recommend-every"),
    ("bench.load", "--recovery-requests"),
    ("bench.load", "--requests"),
    ("bench.load", "--workers"),
    ("bench.optuna_refusals", "--studies"),
    ("bench.slowloris", "--workers"),
    ("bench.start_probes", "--runs"),
    ("bench.start_probes", "--workers"),
    ("bench.stress_stop", "--runs"),
    ("bench.validate.mixtures", "--epochs"),
    ("bench.validate.mixtures", "--test"),
    ("bench.validate.mixtures", "--train"),
    ("bench.validate.width_allocation", "--epochs"),
    ("bench.validate.width_allocation", "--r"),
]


@pytest.mark.parametrize(("module", "option"), _COUNT_OPTIONS)
def test_a_benchmark_refuses_a_count_below_one_by_its_option_before_it_runs(
    module: str, option: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        command = importlib.import_module(module)
    except ModuleNotFoundError as missing:  # an optional extra (torch, optuna) not installed
        pytest.skip(f"{module} needs {missing.name}")
    monkeypatch.setattr(sys, "argv", [f"{module}.py", option, "0"])
    with pytest.raises(SystemExit) as exited:
        command.main()
    assert exited.value.code == 2
    expected = f"argument {option}: expected a whole number of at least 1, got '0'"
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    ("module", "arguments", "expected"),
    [
        # The figures count the trials after the advisor's five proposals: with no such trial
        # the whole run of studies ended on a division by zero.
        (
            "bench.optuna_refusals",
            ["--trials", "5"],
            "argument --trials: expected a whole number of at least 6, got '5': the first 5 "
            "trials of a study are the advisor's proposals",
        ),
        # One draw per sample ended on the library's InvalidRequestError, a traceback.
        (
            "bench.infer.tails",
            ["--samples", "1"],
            "argument --samples: expected a whole number of at least 2, got '1': the "
            "dependence between locations needs two",
        ),
    ],
)
def test_a_benchmark_refuses_a_size_it_cannot_measure_with_by_its_option(
    module: str,
    arguments: list[str],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        command = importlib.import_module(module)
    except ModuleNotFoundError as missing:  # an optional extra (optuna) not installed
        pytest.skip(f"{module} needs {missing.name}")
    monkeypatch.setattr(sys, "argv", [f"{module}.py", *arguments])
    with pytest.raises(SystemExit) as exited:
        command.main()
    assert exited.value.code == 2
    assert expected in capsys.readouterr().err


@pytest.mark.torch
@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("folder", "is a folder: name a file in it"),
        ("under-a-file", "results.txt is a file, not a folder to write in"),
        ("standard-output", "- names no file: the results are written to a file"),
    ],
)
def test_the_mixtures_benchmark_refuses_an_output_it_cannot_write_before_it_runs(
    where: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It searched and trained (about 10 CPU-minutes), then lost it all on a traceback.

    ``FileExistsError`` (a file where its folder goes) or ``IsADirectoryError``, from the write
    at the end of ``run_experiment``.
    """
    pytest.importorskip("torch")
    from bench.validate import mixtures

    (tmp_path / "results.txt").write_text("")
    outputs = {"folder": tmp_path, "under-a-file": tmp_path / "results.txt" / "mixtures.json"}
    output = outputs.get(where, Path("-"))  # `-`, which wrote a file of that name

    def run_anyway(*_: object) -> None:
        raise AssertionError("the benchmark ran before it refused its output")

    monkeypatch.setattr(mixtures, "picks", run_anyway)
    monkeypatch.setattr(sys, "argv", ["mixtures.py", "--output", str(output)])
    with pytest.raises(SystemExit) as exited:
        mixtures.main()
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("mixtures.py: error: argument --output: ")
    assert expected in error
