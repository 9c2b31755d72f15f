"""Shell completion of ``advisor`` and ``advisor-server``, a script written from their parsers.

``advisor completion bash`` prints a bash script; ``advisor completion zsh`` the same script
behind zsh's ``bashcompinit``. It completes the commands, every command's options, the values of
an option with choices (``--format``, ``--geometries``, ``--pooling``, ...) and file names where
a file is expected (a task, an ARCH, ``--data``, ``--output``, a TLS file); an option taking a
number or an address completes nothing. The script is static: a Tab press runs no Python (the
command's start, a few tenths of a second, would be felt on every press), so it describes the
installed version and is written again after an upgrade. It is made from the parsers themselves,
so an option added to a command is completed without a change here.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["SHELLS", "completion_script"]

SHELLS: Final = ("bash", "zsh")
"""The shells ``advisor completion`` writes a script for."""

_PATH_TYPES: Final = frozenset({"read_path", "output_path", "saved_path", "given_path"})
"""The names of the argument types that read a file name: their values complete as files."""

_FILE_METAVARS: Final = frozenset({"FILE", "ARCH"})
"""The metavars of untyped values that name a file (``--arch``, ``--tls-ca``): files too."""

_SERVE: Final = "serve"
"""The command whose options ``advisor-server`` takes (both are built by the same function)."""

Arity = Literal["none", "one", "many"]


@dataclass(frozen=True)
class _Option:
    """An option as the script completes it: its flags, how many values, and which."""

    flags: tuple[str, ...]
    arity: Arity
    files: bool
    choices: tuple[str, ...]


@dataclass(frozen=True)
class _Command:
    """A command's options, and what its positional arguments complete as."""

    options: tuple[_Option, ...]
    files: bool
    choices: tuple[str, ...]


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    """Return ``shell``'s completion script of ``advisor`` (``parser``) and ``advisor-server``.

    Raises
    ------
    ValueError
        On a shell not in :data:`SHELLS`.
    """
    if shell not in SHELLS:
        raise ValueError(f"shell: {shell!r} is not one of {', '.join(SHELLS)}")
    from advisor.model.budget import FAMILIES  # not at import: building the parser loads no model

    commands = _commands(parser, {"FAMILY": FAMILIES})
    head = _ZSH_HEAD if shell == "zsh" else ""
    return (
        f"# {shell} completion of advisor and advisor-server, written by "
        f"'advisor completion {shell}'.\n{head}{_script(_command(parser), commands)}"
    )


def _commands(
    parser: argparse.ArgumentParser, named: Mapping[str, Sequence[str]]
) -> dict[str, _Command]:
    """Return every subcommand of ``parser`` by name, in its order.

    ``named``: the values of options that check them later rather than as choices (the
    request's validation names its field), by metavar.
    """
    found: dict[str, _Command] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                found[name] = _command(subparser, named)
    return found


def _command(
    parser: argparse.ArgumentParser, named: Mapping[str, Sequence[str]] | None = None
) -> _Command:
    """Describe one parser's options and positional arguments (its subcommands apart)."""
    options: list[_Option] = []
    files = False
    choices: tuple[str, ...] = ()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            options.append(_option(action, named or {}))
        else:
            files = files or action.choices is None
            choices += tuple(map(str, action.choices or ()))
    return _Command(tuple(options), files, choices)


def _option(action: argparse.Action, named: Mapping[str, Sequence[str]]) -> _Option:
    """Describe one option: flags, values (none, one, or many) and what they complete as."""
    arity: Arity
    if action.nargs == 0:
        arity = "none"
    elif action.nargs in ("+", "*"):
        arity = "many"
    else:
        arity = "one"
    metavar = action.metavar if isinstance(action.metavar, str) else ""
    files = getattr(action.type, "__name__", "") in _PATH_TYPES or metavar in _FILE_METAVARS
    choices = tuple(map(str, action.choices or named.get(metavar, ())))
    return _Option(tuple(action.option_strings), arity, files, choices)


def _script(top: _Command, commands: dict[str, _Command]) -> str:
    """Write the bash functions and their ``complete`` lines."""
    arity = _cases(
        (f"{name} {flag}", f"echo {option.arity}")
        for name, command in [("", top), *commands.items()]
        for option in command.options
        for flag in option.flags
        if option.arity != "none"
    )
    values = _cases(
        (f"{name} {flag}", _values(option.files, option.choices))
        for name, command in commands.items()
        for option in command.options
        for flag in option.flags
        if option.arity != "none"
    )
    flags = _cases(
        (name, _values(False, [flag for option in command.options for flag in option.flags]))
        for name, command in [("", top), *commands.items()]
    )
    positional = _cases(
        (name, _values(command.files, command.choices))
        for name, command in [("", _Command((), False, tuple(commands))), *commands.items()]
    )
    return _TEMPLATE.format(
        arity=arity, values=values, flags=flags, positional=positional, serve=_SERVE
    )


def _values(files: bool, choices: Sequence[str]) -> str:
    """Return the bash statement that completes a value: a file, one of ``choices``, or none."""
    if choices:
        return f"_advisor_words {_words(choices)}"
    return "_advisor_files" if files else "COMPREPLY=()"


def _words(words: Sequence[str]) -> str:
    """Quote ``words`` as one bash word (the option names and choices hold no quote)."""
    return "'" + " ".join(words) + "'"


def _cases(pairs: Iterator[tuple[str, str]]) -> str:
    """Write the branches of a bash ``case``, one per key, in the order given."""
    return "".join(f"        '{key}') {statement} ;;\n" for key, statement in pairs)


_ZSH_HEAD: Final = (
    "(( $+functions[compdef] )) || { autoload -U +X compinit && compinit }\n"
    "autoload -U +X bashcompinit && bashcompinit\n"
)
"""zsh runs the bash script through its emulation of bash completion (which needs compinit)."""

_TEMPLATE: Final = """\
# Load it in this shell with eval "$(advisor completion bash)", or for every shell save it as
# ~/.local/share/bash-completion/completions/advisor (and a copy named advisor-server beside it).
# Write it again after an upgrade: it completes the options of the version that wrote it.

_advisor_words() {{
    local IFS=$' \\t\\n'
    COMPREPLY=($(compgen -W "$1" -- "$cur"))
}}

_advisor_files() {{
    local IFS=$'\\n'
    COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2>/dev/null
}}

_advisor_arity() {{
    case "$1 $2" in
{arity}        *) echo none ;;
    esac
}}

_advisor_complete_from() {{
    local command=$1 cur=${{COMP_WORDS[COMP_CWORD]}} option="" left=0 i word
    [[ $cur == "=" ]] && cur=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${{COMP_WORDS[i]}}
        [[ $word == "=" ]] && continue  # --option=value, split at the "="
        if [[ $left == 1 ]]; then  # an option's value, even one like "-" (standard input)
            option="" left=0
        elif [[ $word == -?* ]]; then
            option=$word
            case $(_advisor_arity "$command" "$word") in
                one) left=1 ;;
                many) left=many ;;
                *) option="" left=0 ;;
            esac
        elif [[ -z $command && $left == 0 ]]; then
            command=$word
        fi
    done
    if [[ $left == 1 || ( $left == many && $cur != -* ) ]]; then
        case "$command $option" in
{values}        *) COMPREPLY=() ;;
        esac
    elif [[ $cur == -* ]]; then
        case "$command" in
{flags}        *) COMPREPLY=() ;;
        esac
    else
        case "$command" in
{positional}        *) COMPREPLY=() ;;
        esac
    fi
}}

_advisor() {{
    _advisor_complete_from ""
}}

_advisor_server() {{
    _advisor_complete_from {serve}
}}

complete -F _advisor advisor
complete -F _advisor_server advisor-server
"""
