"""One-line usage errors (:mod:`advisor.usage`): what every command's parser refuses, and how."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys

import pytest

from advisor.cli.main import main as advisor_main
from advisor.errors import FieldViolation
from advisor.service.command import main as serve_main
from advisor.usage import (
    GRPC_VERBOSITIES,
    USAGE_EXIT_STATUS,
    OneLineParser,
    ToggleOnce,
    variable_problem,
    violations_as_options,
)
from bench.report import at_least


def test_a_parser_and_its_subcommands_refuse_an_abbreviated_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # add_parser builds a subcommand's parser without the parent's settings: each must refuse.
    parser = OneLineParser(prog="tool")
    parser.add_argument("--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run").add_argument("--outputs", type=int)
    for argv in (["--verb", "run"], ["run", "--out", "3"]):
        with pytest.raises(SystemExit) as ended:
            parser.parse_args(argv)
        assert ended.value.code == USAGE_EXIT_STATUS
        unknown = next(word for word in argv if word.startswith("--"))
        assert capsys.readouterr().err.startswith(f"tool: error: unrecognized arguments: {unknown}")
    assert parser.parse_args(["--verbose", "run", "--outputs=3"]).outputs == 3


def test_a_subcommands_reporter_says_its_errors_and_the_arguments_left_after_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # serve says its usage errors as JSON records under a JSON log; an option serve does not
    # take is found by the top parser, after serve's has parsed, and was said as plain text.
    said: list[tuple[str, str, int]] = []
    parser = OneLineParser(prog="tool")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--workers", type=int)
    run.reporter = lambda command, line, status: said.append((command, line, status))
    commands.add_parser("other")
    for argv in (["run", "--workers", "two"], ["run", "--wrokers", "2"], ["other", "--x"]):
        with pytest.raises(SystemExit) as ended:
            parser.parse_args(argv)
        assert ended.value.code == USAGE_EXIT_STATUS
    assert [(command, line.split(";")[0], status) for command, line, status in said] == [
        ("tool run", "--workers: invalid value 'two' (a whole number)", USAGE_EXIT_STATUS),
        ("tool", "unrecognized arguments: --wrokers 2", USAGE_EXIT_STATUS),
    ]
    assert capsys.readouterr().err == "tool: error: unrecognized arguments: --x\n"


def test_advisor_server_refuses_an_abbreviated_option(capsys: pytest.CaptureFixture[str]) -> None:
    # --por was taken as --port: "--por 0" served, and "--por abc" was an invalid --port.
    with pytest.raises(SystemExit) as ended:
        serve_main(["--por", "abc"])
    assert ended.value.code == USAGE_EXIT_STATUS
    assert capsys.readouterr().err == (
        "advisor-server: error: unrecognized arguments: --por abc; did you mean '--port'?\n"
    )


def _tool() -> OneLineParser:
    parser = OneLineParser(prog="tool")
    parser.add_argument("--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run")
    run.add_argument("task")
    run.add_argument("--budget", type=int, required=True)
    return parser


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        # argparse named the missing COMMAND or --budget and never the mistyped option.
        (["--bogus"], "tool: error: unrecognized arguments: --bogus"),
        (["run", "--bogus", "t"], "tool: error: unrecognized arguments: --bogus"),
        (["--bogus", "run", "t"], "tool: error: unrecognized arguments: --bogus"),
        (["run", "t", "--budget", "3", "--bogus"], "tool: error: unrecognized arguments: --bogus"),
        # Read with --budget waived, 5 is the task and t an extra word: the option is the error.
        (["run", "--bogus", "5", "t"], "tool: error: unrecognized arguments: --bogus"),
        # Nothing unrecognized: the missing arguments, by the parser that missed them, as before.
        # The missing COMMAND is told the commands (it named COMMAND alone).
        (
            [],
            "tool: error: the following arguments are required: COMMAND (one of run: tool --help "
            "says what each does)",
        ),
        # A command written as help or version is told the option that does it.
        (
            ["help"],
            "tool: error: COMMAND: invalid value 'help' (choose from run); tool --help lists "
            "them, tool COMMAND --help a command's options",
        ),
        # A tool without --version is not told of it.
        (["version"], "tool: error: COMMAND: invalid value 'version' (choose from run)"),
        (["run", "t"], "tool run: error: the following arguments are required: --budget"),
        (
            ["--verbose", "run"],
            ("tool run: error: the following arguments are required: task, --budget"),
        ),
    ],
)
def test_an_unrecognized_option_is_named_before_a_missing_argument(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = _tool()
    with pytest.raises(SystemExit) as ended:
        parser.parse_args(argv)
    assert ended.value.code == USAGE_EXIT_STATUS
    assert capsys.readouterr().err == f"{error}\n"
    # The waived requirements are restored: a later parse still refuses a missing --budget.
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "t"])
    assert "required: --budget" in capsys.readouterr().err
    assert parser.parse_args(["run", "t", "--budget", "3"]).budget == 3


def test_parse_known_args_keeps_argparses_contract(capsys: pytest.CaptureFixture[str]) -> None:
    # Extra words are its result, not an error: a missing argument is still the error.
    parser = _tool()
    with pytest.raises(SystemExit):
        parser.parse_known_args(["run", "t", "--extra"])
    assert capsys.readouterr().err == (
        "tool run: error: the following arguments are required: --budget\n"
    )
    known, extra = parser.parse_known_args(["run", "t", "--budget", "3", "--extra"])
    assert (known.budget, extra) == (3, ["--extra"])


@pytest.mark.parametrize("argv", [["--budget", "3", "run", "t"], ["--budget=3", "run", "t"]])
def test_a_command_s_option_before_the_command_is_named_as_such(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # argparse left --budget aside and read 3 as the command: "COMMAND: invalid value '3'".
    with pytest.raises(SystemExit) as ended:
        _tool().parse_args(argv)
    assert ended.value.code == USAGE_EXIT_STATUS
    assert capsys.readouterr().err == (
        "tool: error: --budget: is an option of run, so it goes after it (run --budget ...)\n"
    )


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        # --budget, an argument after "--", was told "did you mean '--budget'?".
        (
            ["run", "--", "t", "--budget", "3"],
            "; it comes after --, which ends the options: give it before --",
        ),
        (
            ["run", "--", "t", "--budget=3", "--bogus"],
            "; --budget: it comes after --, which ends the options: give it before --",
        ),
        # A misspelt option after "--" is still told the closest.
        (["run", "t", "--budget", "3", "--", "--budgte"], "; did you mean '--budget'?"),
        # A last "--" was "unrecognized arguments: --" and nothing more.
        (
            ["run", "t", "--budget", "3", "--"],
            "arguments: --; it ends the options, and nothing follows it here: remove it",
        ),
        (
            ["run", "t", "--budget", "3", "--bogus", "--"],
            "; --: it ends the options, and nothing follows it here: remove it",
        ),
    ],
)
def test_an_option_after_the_end_of_the_options_is_told_to_come_before_it(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        _tool().parse_args(argv)
    assert ended.value.code == USAGE_EXIT_STATUS
    error = capsys.readouterr().err
    assert error.startswith("tool: error: unrecognized arguments: ") and hint in error, error
    assert "did you mean '--budget'?" not in error or "--budgte" in argv


def test_an_option_is_taken_once_wherever_it_was_added(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Added through an argument group, a list option kept argparse's store: `--sizes 1 --sizes 2`
    # silently became [2]; so did any option of one value (`--budget 20000 --budget 3000`
    # searched at 3,000). A SUPPRESS default read as "given" on first use.
    parser = OneLineParser(prog="tool")
    parser.add_argument_group("sizes").add_argument("--sizes", nargs="+", type=int)
    parser.add_argument("--tags", nargs="*", default=argparse.SUPPRESS)
    parser.add_argument("--level", type=int, default=1)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(
        ["--tags", "a", "--level", "2", "--verbose", "--verbose", "--sizes", "3"]
    )
    assert (args.tags, args.level, args.sizes, args.verbose) == (["a"], 2, [3], True)
    twice_each = (
        ["--sizes", "1", "--sizes", "2"],
        ["--tags", "a", "--tags", "b"],
        ["--level", "1", "--level", "2"],  # the default's value given, then another
    )
    for twice in twice_each:
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(twice)
        assert exited.value.code == USAGE_EXIT_STATUS
        assert f"{twice[0]}: is given twice" in capsys.readouterr().err


def test_an_on_off_option_is_given_once_in_one_form(capsys: pytest.CaptureFixture[str]) -> None:
    # argparse took `--search-dilations --no-search-dilations` as the last one said, where the
    # usage line offers the two as either/or and any other option given twice is refused.
    parser = OneLineParser(prog="tool")
    parser.add_argument("--dilations", action=ToggleOnce, default=None)
    assert parser.parse_args(["--no-dilations"]).dilations is False
    assert parser.parse_args([]).dilations is None
    for given, said in (
        (
            ["--dilations", "--no-dilations"],
            "--no-dilations: contradicts --dilations, given before",
        ),
        (
            ["--no-dilations", "--dilations"],
            "--dilations: contradicts --no-dilations, given before",
        ),
        (["--dilations", "--dilations"], "--dilations: is given twice: give it once"),
    ):
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(given)
        assert exited.value.code == USAGE_EXIT_STATUS
        assert capsys.readouterr().err.startswith(f"tool: error: {said}")


class _FullDisk(io.StringIO):
    """A standard output on a full disk, as ``> /dev/full`` gives."""

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("prog", ["advisor-server", "server.py"])
def test_advisor_server_help_that_cannot_be_written_is_one_line_saying_so(
    prog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `advisor-server --help > /dev/full` ended 0 with nothing written: argparse drops a failed
    # write of its help, where `advisor --help > /dev/full` said so and ended 1.
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as ended:
        serve_main(["--help"], prog=prog)
    assert ended.value.code == 1
    assert stderr.getvalue() == (
        f"{prog}: error: cannot write to standard output: No space left on device\n"
    )


def test_advisor_server_keeps_its_status_when_standard_error_takes_no_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `advisor-server --workers 0 2>/dev/full` ended 1 with a traceback no one saw, where
    # `advisor serve` ends 2: the server wrote its error lines itself, not as advisor does.
    monkeypatch.setattr(sys, "stderr", _FullDisk())
    assert serve_main(["--workers", "0"]) == 2


@pytest.mark.parametrize("prog", ["advisor-server", "server.py"])
def test_advisor_server_prints_its_version_as_advisor_does(
    prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # `advisor-server --version` was refused as an unrecognized argument, where `advisor
    # --version` printed the version and its ranking's: an operator checks what a server runs.
    from advisor.cli.main import build_parser

    with pytest.raises(SystemExit) as ended:
        build_parser().parse_args(["--version"])
    assert ended.value.code == 0
    advisor_line = capsys.readouterr().out
    assert advisor_line.startswith("advisor ") and ", ranking version " in advisor_line
    with pytest.raises(SystemExit) as ended:
        serve_main(["--version"], prog=prog)
    assert ended.value.code == 0
    printed = capsys.readouterr()
    assert printed.out == prog + advisor_line.removeprefix("advisor")
    assert printed.err == ""


@pytest.mark.parametrize("value", ["bogus", "warning", " error"])
def test_a_grpc_verbosity_grpc_does_not_read_is_warned_of_and_the_command_goes_on(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused as a usage error, `GRPC_VERBOSITY=bogus advisor presets` (and every command)
    # ended at once, status 2, though the variable only sets how much gRPC logs.
    problem = (
        f"GRPC_VERBOSITY: invalid value {value!r} (choose from DEBUG, INFO, ERROR, NONE, "
        "in any case); ignored: gRPC logs at ERROR, as when it is unset"
    )
    monkeypatch.setenv("GRPC_VERBOSITY", value)
    assert advisor_main(["presets", "--format", "json"]) == 0
    printed = capsys.readouterr()
    assert printed.err == f"advisor: warning: {problem}\n"
    assert '"presets"' in printed.out
    assert os.environ["GRPC_VERBOSITY"] == "ERROR"
    # The server reads on past it, to the token file it is given and cannot read.
    monkeypatch.setenv("GRPC_VERBOSITY", value)
    assert serve_main(["--port", "0", "--token-file", "/nonexistent/token"]) == USAGE_EXIT_STATUS
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"advisor-server: warning: {problem}"
    assert lines[1].startswith("advisor-server: error: --token-file: cannot read"), lines


def test_the_values_grpc_reads_in_grpc_verbosity_are_taken_in_any_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for value in ("DEBUG", "info", "Error", "none", ""):
        monkeypatch.setenv("GRPC_VERBOSITY", value)
        assert variable_problem("GRPC_VERBOSITY", GRPC_VERBOSITIES) is None
    monkeypatch.delenv("GRPC_VERBOSITY")
    assert variable_problem("GRPC_VERBOSITY", GRPC_VERBOSITIES) is None


def test_the_advisor_process_warned_of_a_grpc_verbosity_keeps_grpcs_log_off() -> None:
    # A process of its own, `advisor` turns gRPC's log off when the variable is unset, so that
    # its one error line stands alone; a value gRPC does not read is taken as unset.
    result = subprocess.run(
        [sys.executable, "-m", "advisor", "presets", "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "GRPC_VERBOSITY": "bogus"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "advisor: warning: GRPC_VERBOSITY: invalid value 'bogus' (choose from DEBUG, INFO, "
        "ERROR, NONE, in any case); ignored: gRPC logs at NONE, as when it is unset\n"
    )


def test_each_file_s_refusals_name_it_once() -> None:
    # Each refusal ended "(from task.yaml)": a file with two bad fields was named twice.
    violations = [
        FieldViolation("task.correlations[0].name", "x"),
        FieldViolation("task.correlations[1].name", "y"),
        FieldViolation("budget.top_k", "z"),
        FieldViolation("architecture.layers", "w"),
        FieldViolation("architecture.representation", "v"),
    ]
    files = {"task": "task.yaml", "architecture": "arch.yaml"}
    assert violations_as_options(violations, {"budget.top_k": "--top"}, files) == (
        "task.correlations[0].name: x; task.correlations[1].name: y (from task.yaml); --top: z; "
        "architecture.layers: w; architecture.representation: v (from arch.yaml)"
    )


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["presets", "\udcff"], r"unrecognized arguments: \xff"),
        (["presets", "--format", "\udcff"], r"--format: invalid value '\xff' (choose from "),
        (["recommend", "--budget", "t\udcff"], r"--budget: invalid value 't\xff' (a whole number"),
        (["presets", "--fromat", "x", "--forma\udcff"], r"; --forma\xff: did you mean"),
    ],
    ids=["unrecognized", "choice", "type", "hint"],
)
def test_a_word_the_locale_cannot_decode_is_shown_by_its_bytes(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Python reads an undecodable byte as a lone surrogate, and the usage errors showed it as
    # such: `advisor presets $'\xff'` said `unrecognized arguments: \udcff`, where an error
    # naming a file shows its bytes (shown_path).
    with pytest.raises(SystemExit) as ended:
        advisor_main(argv)
    assert ended.value.code == USAGE_EXIT_STATUS
    printed = capsys.readouterr().err
    assert error in printed
    assert "\\udc" not in printed


def test_a_grpc_verbosity_the_locale_cannot_decode_is_shown_by_its_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRPC_VERBOSITY", "\udcff")
    problem = variable_problem("GRPC_VERBOSITY", GRPC_VERBOSITIES)
    assert problem is not None
    assert problem.startswith(r"invalid value '\xff' (choose from")


def test_the_server_and_the_benchmarks_show_such_a_word_by_its_bytes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert serve_main(["--limit", "\udcff"]) == USAGE_EXIT_STATUS
    assert capsys.readouterr().err.endswith(r"--limit: expected NAME=VALUE, got '\xff'" + "\n")
    with pytest.raises(argparse.ArgumentTypeError, match=r"got '\\xff'$"):
        at_least(1)("\udcff")


def test_choices_too_wide_for_a_usage_line_are_listed_in_the_option_s_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `python -m bench.bench_scale --help` had a usage line of 127 characters, `[--case
    # {analyze,analyze-large,...}]`, at any COLUMNS: argparse writes the choices as the value.
    parser = OneLineParser(prog="tool")
    cases = [f"case_{n}_of_many" for n in range(8)]
    parser.add_argument("--case", choices=cases, help="run one case")
    parser.add_argument("--kinds", nargs="+", choices=[*cases, "100%"])
    parser.add_argument("--format", choices=["table", "json"], help="output format")
    parser.print_help()
    printed = capsys.readouterr().out
    listed = " ".join(printed.split())
    assert listed.startswith(
        "usage: tool [-h] [--case CASE] [--kinds KINDS [KINDS ...]] [--format {table,json}] "
    )
    assert f"--case CASE run one case; choose from {', '.join(cases)} " in listed
    assert f"--kinds KINDS [KINDS ...] choose from {', '.join(cases)}, 100% " in listed
    assert "--format {table,json} output format" in listed
    assert max(map(len, printed.splitlines())) <= 96
    assert parser.parse_args(["--case", cases[3]]).case == cases[3]
