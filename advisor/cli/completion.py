"""Shell completion of ``advisor`` and ``advisor-server``, a script written from their parsers.

``advisor completion bash`` prints a bash script; ``advisor completion zsh`` the same script
behind zsh's ``bashcompinit``. It completes the commands, every command's options, the values of
an option with choices (``--format``, ``--geometries``, ``--pooling``, ...), also written
``--option=value``, file names where a file is expected (a task, an ARCH, ``--data``,
``--output``, a TLS file) and directories where a directory is; an option taking a number or an
address completes nothing, nor does a positional argument already given, and after ``--`` every
word is one. The script is static: a Tab press runs no Python (the
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

_DIRECTORY_METAVARS: Final = frozenset({"DIR"})
"""The metavars of values that name a directory (``--katib-data-dir``): directories only."""

_SERVE: Final = "serve"
"""The command whose options ``advisor-server`` takes (both are built by the same function)."""

Arity = Literal["none", "one", "many"]

Paths = Literal["", "files", "directories"]
"""What a value completes as when it has no choices: nothing, file names, directory names."""


@dataclass(frozen=True)
class _Option:
    """An option as the script completes it: its flags, how many values, and which."""

    flags: tuple[str, ...]
    arity: Arity
    paths: Paths
    choices: tuple[str, ...]


@dataclass(frozen=True)
class _Command:
    """A command's options, and its positional arguments: how many, and what they complete as."""

    options: tuple[_Option, ...]
    positionals: int
    paths: Paths
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
    zsh = shell == "zsh"
    script = _script(_command(parser), commands, _ZSH_REGISTER if zsh else "")
    return (
        f"# {shell} completion of advisor and advisor-server, written by "
        f"'advisor completion {shell}'.\n{_ZSH_HEAD if zsh else ''}{script}"
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
    positionals: list[argparse.Action] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            positionals.append(action)
        elif action.option_strings:
            options.append(_option(action, named or {}))
        else:
            positionals.append(action)
    choices = tuple(str(c) for action in positionals for c in action.choices or ())
    paths: Paths = "files" if any(a.choices is None for a in positionals) else ""
    return _Command(tuple(options), len(positionals), paths, choices)


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
    paths: Paths = ""
    if metavar in _DIRECTORY_METAVARS:
        paths = "directories"
    elif getattr(action.type, "__name__", "") in _PATH_TYPES or metavar in _FILE_METAVARS:
        paths = "files"
    choices = tuple(map(str, action.choices or named.get(metavar, ())))
    return _Option(tuple(action.option_strings), arity, paths, choices)


def _script(top: _Command, commands: dict[str, _Command], register: str) -> str:
    """Write the bash functions and their ``complete`` lines (``register``: its options)."""
    every = [("", top), *commands.items()]
    valued = [
        (f"{name} {flag}", option)
        for name, command in every
        for option in command.options
        for flag in option.flags
        if option.arity != "none"
    ]
    arity = _cases((key, f"echo {option.arity}") for key, option in valued)
    values = _cases((key, _values(option.paths, option.choices)) for key, option in valued)
    flags = _cases(
        (name, _values("", [flag for option in command.options for flag in option.flags]))
        for name, command in every
    )
    positional = _cases((name, _values(command.paths, command.choices)) for name, command in every)
    counts = _cases((name, f"echo {command.positionals}") for name, command in every)
    return _TEMPLATE.format(
        arity=arity,
        values=values,
        flags=flags,
        positional=positional,
        counts=counts,
        serve=_SERVE,
        register=register,
    )


def _values(paths: Paths, choices: Sequence[str]) -> str:
    """Return the bash statement that completes a value: one of ``choices``, a path, or none."""
    if choices:
        return f"_advisor_words {_words(choices)}"
    if paths:
        return f"_advisor_paths {'-d' if paths == 'directories' else '-f'}"
    return "COMPREPLY=()"


def _words(words: Sequence[str]) -> str:
    """Quote ``words`` as one bash word (the option names and choices hold no quote)."""
    return "'" + " ".join(words) + "'"


def _cases(pairs: Iterator[tuple[str, str]]) -> str:
    """Write the branches of a bash ``case``, one per key, in the order given."""
    return "".join(f"        '{key}') {statement} ;;\n" for key, statement in pairs)


_ZSH_HEAD: Final = (
    "(( ${+functions[compdef]} )) || { autoload -U +X compinit && compinit }\n"
    "autoload -U +X bashcompinit && bashcompinit\n"
)
"""zsh runs the bash script through its emulation of bash completion (which needs compinit).
The braces keep ``$+functions`` from reading as an array index under ``setopt ksharrays``."""

_ZSH_REGISTER: Final = "-o filenames "
"""zsh's emulation has no ``compopt``: its completions are marked as file names where they are
registered (a directory then gets its slash, as in bash)."""

_TEMPLATE: Final = """\
# Load it in this shell with eval "$(advisor completion bash)", or for every shell save it as
# ~/.local/share/bash-completion/completions/advisor (and a copy named advisor-server beside it).
# Write it again after an upgrade: it completes the options of the version that wrote it.

_advisor_words() {{
    local IFS=$' \\t\\n'
    COMPREPLY=($(compgen -W "$1" -- "$cur"))
}}

_advisor_paths() {{
    local found
    COMPREPLY=()
    # Read line by line, not split and globbed: a name such as x[1].yaml stays itself.
    while IFS= read -r found; do COMPREPLY+=("$found"); done < <(compgen "$1" -- "$cur")
    compopt -o filenames 2>/dev/null
}}

_advisor_arity() {{
    case "$1 $2" in
{arity}        *) echo none ;;
    esac
}}

_advisor_positionals() {{
    case "$1" in
{counts}        *) echo 0 ;;
    esac
}}

_advisor_complete_from() {{
    local command=$1 cur=${{COMP_WORDS[COMP_CWORD]}} option="" left=0 given=0 ended=0 i word
    local prefix=""
    [[ -n $command ]] && given=1
    [[ $cur == "=" ]] && cur=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${{COMP_WORDS[i]}}
        if [[ $word == [=:] ]]; then
            # bash splits a word at "=" and ":" (COMP_WORDBREAKS): after an option, its value
            # follows; after a value (HOST:PORT, NAME=VALUE), the next word continues it.
            [[ ${{COMP_WORDS[i - 1]}} == -?* ]] || ((i++))
            continue
        fi
        if [[ $left == 1 ]]; then  # an option's value, even one like "-" (standard input)
            option="" left=0
        elif [[ $word == -- && $ended == 0 ]]; then  # the options end: positionals follow
            ended=1 option="" left=0
        elif [[ $word == -?* && $ended == 0 ]]; then
            option=$word
            case $(_advisor_arity "$command" "$word") in
                one) left=1 ;;
                many) left=many ;;
                *) option="" left=0 ;;
            esac
        elif [[ $left == 0 || $ended == 1 ]]; then
            [[ -z $command ]] && command=$word
            ((given++))
        fi
    done
    if [[ $ended == 0 && $left == 0 && $cur == --*=* ]]; then
        # --option=value as one word (zsh, or "=" taken out of COMP_WORDBREAKS)
        option=${{cur%%=*}} prefix=${{cur%%=*}}= cur=${{cur#*=}}
        [[ $(_advisor_arity "$command" "$option") == none ]] || left=1
    fi
    if [[ $ended == 0 && ( $left == 1 || ( $left == many && $cur != -* ) ) ]]; then
        case "$command $option" in
{values}        *) COMPREPLY=() ;;
        esac
        [[ -n $prefix ]] && COMPREPLY=("${{COMPREPLY[@]/#/$prefix}}")
    elif [[ $ended == 0 && $cur == -* ]]; then
        case "$command" in
{flags}        *) COMPREPLY=() ;;
        esac
    elif ((given > $(_advisor_positionals "$command"))); then
        COMPREPLY=()  # every positional argument given
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

complete {register}-F _advisor advisor
complete {register}-F _advisor_server advisor-server
"""
