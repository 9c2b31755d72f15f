"""One-line usage errors (:mod:`advisor.usage`): what every command's parser refuses, and how."""

from __future__ import annotations

import pytest

from advisor.service.command import main as serve_main
from advisor.usage import USAGE_EXIT_STATUS, OneLineParser


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


def test_advisor_server_refuses_an_abbreviated_option(capsys: pytest.CaptureFixture[str]) -> None:
    # --por was taken as --port: "--por 0" served, and "--por abc" was an invalid --port.
    with pytest.raises(SystemExit) as ended:
        serve_main(["--por", "abc"])
    assert ended.value.code == USAGE_EXIT_STATUS
    assert capsys.readouterr().err == "advisor-server: error: unrecognized arguments: --por abc\n"
