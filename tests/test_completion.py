"""``advisor completion``: the bash script completes what the parsers accept, in a real bash."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli.completion import completion_script
from advisor.cli.main import build_parser
from advisor.cli.main import main as advisor_main
from advisor.model.budget import FAMILIES
from advisor.service.options import add_serve_arguments
from advisor.usage import OneLineParser

_HARNESS = r"""
set -u  # a user's strict settings: the functions must not trip on them
shopt -s failglob
source "$1"
shift
for line in "$@"; do
    read -ra COMP_WORDS <<< "$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    if [[ ${COMP_WORDS[0]} == advisor-server ]]; then _advisor_server; else _advisor; fi
    printf '%s\n' "${COMPREPLY[*]}"
done
complete -p advisor advisor-server
"""
"""Completes each command line given (its last word; a trailing space starts an empty one) as
bash does on Tab, printing the words offered, then the ``complete`` lines registered; under
``set -u`` and ``failglob``, which a file name of glob characters tripped."""


def _completed(tmp_path: Path, *lines: str) -> list[set[str]]:
    """Return the words bash's completion offers for each of ``lines``, run in ``tmp_path``."""
    script = tmp_path / "advisor.bash"
    script.write_text(completion_script("bash", build_parser()))
    harness = tmp_path / "harness.bash"
    harness.write_text(_HARNESS)
    done = subprocess.run(
        ["bash", str(harness), str(script), *lines],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    out = done.stdout.splitlines()
    assert out[len(lines) :] == [
        "complete -F _advisor advisor",
        "complete -F _advisor_server advisor-server",
    ]
    assert done.stderr == ""
    return [set(words.split()) for words in out[: len(lines)]]


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def test_commands_options_and_choices_complete(tmp_path: Path) -> None:
    for name in ("task.yaml", "t[1].yaml", "-dash.yaml"):
        (tmp_path / name).touch()
    (tmp_path / "tasks").mkdir()
    cases = {
        "advisor ": {"recommend", "infer", "analyze", "presets", "export", "serve", "completion"},
        "advisor rec": {"recommend"},
        "advisor --": {"--help", "--version"},
        "advisor recommend --form": {"--format"},
        "advisor recommend --format ": {"table", "json", "yaml"},
        "advisor recommend --format = j": {"json"},  # --format=j, split at "=" by bash
        "advisor recommend --objective ": {"weighted", "maximin"},
        "advisor export --pooling ": {"max", "avg"},
        "advisor completion ": {"bash", "zsh"},
        # A FAMILY is checked by the request's validation, not argparse: still offered.
        "advisor recommend --geometries ": set(FAMILIES),
        "advisor recommend --geometries mirror con": {"contiguous"},
        "advisor recommend --from-data correlations --to": {"--token-file", "--top", "--top-k"},
        # --option=value as one word, as zsh gives it: the values, after the option.
        "advisor recommend --format=j": {"--format=json"},
        "advisor recommend --geometries=mi": {"--geometries=mirror", "--geometries=mixture"},
        # Files where a file is expected (a name of glob characters was globbed away),
        # directories where a directory is, nothing where a number or an address is.
        "advisor recommend t": {"task.yaml", "t[1].yaml", "tasks"},
        "advisor recommend --budget 5000 t": {"task.yaml", "t[1].yaml", "tasks"},
        "advisor analyze - --arch t": {"task.yaml", "t[1].yaml", "tasks"},
        "advisor recommend --tls-ca t": {"task.yaml", "t[1].yaml", "tasks"},
        "advisor serve --katib-data-dir t": {"tasks"},
        "advisor recommend --budget ": set(),
        "advisor recommend --target ": set(),
        "advisor recommend --seed -": set(),  # a value, though it starts with "-"
        # bash splits HOST:PORT and NAME=VALUE into three words: one value still.
        "advisor recommend --target localhost : 50051 t": {"task.yaml", "t[1].yaml", "tasks"},
        "advisor recommend --target = localhost : 50051 t": {"task.yaml", "t[1].yaml", "tasks"},
        "advisor recommend --limit max_locations = 100 t": {"task.yaml", "t[1].yaml", "tasks"},
        # After --, no options: a file named like one. A positional given is not offered again.
        "advisor recommend --budget 5 -- -": {"-dash.yaml"},
        "advisor recommend task.yaml ": set(),
        "advisor recommend - --budget 5 t": set(),
        "advisor completion bash ": set(),
        "advisor-server --por": {"--port"},
        "advisor-server --config t": {"task.yaml", "t[1].yaml", "tasks"},
        "advisor-server --executor ": {"threads", "processes"},
        "advisor-server ": set(),
        "advisor serve --executor ": {"threads", "processes"},
        "advisor bogus --": set(),
    }
    assert dict(zip(cases, _completed(tmp_path, *cases), strict=True)) == cases


def test_every_option_of_every_command_is_offered(tmp_path: Path) -> None:
    parser = build_parser()
    commands = _subparsers(parser)
    server = OneLineParser(prog="advisor-server")
    add_serve_arguments(server)
    lines = [f"advisor {name} -" for name in commands] + ["advisor-server -"]
    expected = [_flags(command) for command in commands.values()] + [_flags(server)]
    assert _completed(tmp_path, *lines) == expected


def test_the_zsh_script_is_the_bash_script_behind_bashcompinit() -> None:
    bash = completion_script("bash", build_parser()).splitlines()
    zsh = completion_script("zsh", build_parser()).splitlines()
    assert zsh[0] == bash[0].replace("bash", "zsh")
    assert zsh[1:3] == [
        # Braced: under setopt ksharrays "$+functions[compdef]" was a bad output format.
        "(( ${+functions[compdef]} )) || { autoload -U +X compinit && compinit }",
        "autoload -U +X bashcompinit && bashcompinit",
    ]
    # zsh's emulation has no compopt: its completions are file names where registered.
    registered = [line.replace("complete -F", "complete -o filenames -F") for line in bash[1:]]
    assert zsh[3:] == registered
    assert registered != bash[1:]


def test_the_command_prints_the_script_without_loading_grpc() -> None:
    code = (
        "import sys\n"
        "from advisor.cli.main import main\n"
        "status = main(['completion', 'bash'])\n"
        "print(status, 'grpc' in sys.modules, 'advisor.search' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout == completion_script("bash", build_parser())
    assert done.stderr == "0 False False\n"


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        advisor_main(["completion", "fish"])
    assert ended.value.code == 2
    assert capsys.readouterr().err == (
        "advisor: error: SHELL: invalid value 'fish' (choose from bash, zsh)\n"
    )
