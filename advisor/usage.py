"""One-line usage errors for the project's commands (``advisor``, ``advisor-server``).

argparse prints its whole usage above a usage error (18 lines for ``advisor recommend``, seven
for ``advisor-server``), which buries the error; docs/CLI.md promises one line per failure.
:class:`OneLineParser` words every usage error as ``PROG: error: --port: invalid value 'abc' (a
whole number)``, says which choice a mistyped one resembles, and exits with status 2; ``--help``
still prints the usage, and a failed write of it is an error line and status as a result's is
(:mod:`advisor.stdout`). It takes no abbreviated option names: argparse would read ``--output 3``
as ``--outputs 3`` and ``--rep 64`` as ``--representation-kernel 64`` without a word. It loads
nothing but the standard library and :mod:`advisor.stdout` (which loads nothing else), so
building a command's parser loads neither the engines nor gRPC; a mistyped option or choice
imports :mod:`advisor.suggestions` (and so difflib) for its "did you mean", on the error path alone,
and ``--version`` (:class:`VersionAction`, both commands') :mod:`advisor.version` when given.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import re
import sys
import textwrap
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, NoReturn

from advisor.stdout import print_text, say_error, shown_path, text_columns, write_stderr

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from advisor.errors import FieldViolation

__all__ = [
    "EMPTY_PATH",
    "GRPC_DEFAULT_VERBOSITY",
    "USAGE_EXIT_STATUS",
    "VALUE_KINDS",
    "LinesHelpFormatter",
    "OneLineParser",
    "StoreOnce",
    "ToggleOnce",
    "UsageReporter",
    "VersionAction",
    "exit_status_help",
    "quoted",
    "settle_grpc_verbosity",
    "variable_problem",
    "violations_as_options",
]

USAGE_EXIT_STATUS = 2
"""Exit status of a usage error (argparse's own)."""

UsageReporter = Callable[[str, str, int], object]
"""Says a usage error: called with the command's name, the one-line message and the status."""

EMPTY_PATH = "must not be empty (it would name the working directory)"
"""Why an empty path option or setting is refused: pathlib and pydantic read ``""`` as ``.``."""


def exit_status_help(meanings: Mapping[int, str]) -> str:
    """Return a help's epilog listing each exit status and its meaning, one line each.

    :class:`LinesHelpFormatter` wraps each line under its meaning.
    """
    return "exit status:\n" + "\n".join(
        f"  {int(status):<3}  {meaning}" for status, meaning in meanings.items()
    )


VALUE_KINDS: Mapping[str, str] = {int.__name__: "a whole number", float.__name__: "a number"}
"""What an option of each value type takes, by the type's name, as a usage error states it."""

GRPC_VERBOSITIES: Final = ("DEBUG", "INFO", "ERROR", "NONE")
"""The values gRPC reads in ``GRPC_VERBOSITY``, in any case (its C core's ``log.cc``)."""

GRPC_DEFAULT_VERBOSITY: Final = "ERROR"
"""The verbosity gRPC logs at when ``GRPC_VERBOSITY`` is unset."""

_ARGUMENT_ERROR = re.compile(r"argument (?P<name>\S+): (?P<problem>.*)", re.DOTALL)
"""argparse's error about one argument: ``argument --budget: invalid count value: 'abc'``."""

_BAD_VALUE = re.compile(r"invalid (?P<kind>\w+) value: (?P<value>.*)", re.DOTALL)
"""argparse's error for a value its type refused, naming the type: ``invalid int value: '1.5'``."""


_ENTRY = re.compile(r"\s+\S+\s+|[-*] ")
"""The start of an indented entry of a help text's list, up to its text: ``  130  ``; or a
bulleted item's mark, ``- ``."""

_BULLET = re.compile(r"[-*] ")
"""The mark that starts a bulleted item of a help text's list."""


_CHOICES_IN_USAGE: Final = 40
"""The widest an option's choices are shown in its usage, as ``{a,b,c}``; wider ones are named
by the option's metavar there and listed in its help."""


def _choices_in_help(action: argparse.Action) -> bool:
    """Whether ``action``'s choices are too wide for a usage line (:data:`_CHOICES_IN_USAGE`).

    argparse writes them as the option's value, in the usage and again beside the option:
    ``python -m bench.bench_scale --help`` had a usage line of 127 characters, ``[--case
    {analyze,analyze-large,...}]``, which no wrapping breaks. A metavar the command gives
    its option, or a subcommand's, is kept.
    """
    if action.choices is None or action.metavar is not None:
        return False
    if isinstance(action, argparse._SubParsersAction):
        return False
    return len(",".join(map(str, action.choices))) + 2 > _CHOICES_IN_USAGE


class _TextWidthHelpFormatter(argparse.HelpFormatter):
    """A help formatter that wraps within prose's width (:func:`~advisor.stdout.text_columns`).

    argparse wraps at ``COLUMNS`` itself: at 100000 ``advisor recommend --help`` printed its
    usage as one line of 823 characters, and at 20 every summary of a subcommand a word a line
    under its name. The width is the terminal's less argparse's margin of two, held between 40
    and 96 as prose is. Choices too wide for a usage line are named by the option's default
    metavar (``--case CASE``) and listed in its help, which wraps (:func:`_choices_in_help`).
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = text_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)

    def _format_action(self, action: argparse.Action) -> str:
        if _choices_in_help(action):
            listed = f"choose from {', '.join(map(str, action.choices or ()))}"
            action = copy.copy(action)
            action.help = (f"{action.help}; " if action.help else "") + listed.replace("%", "%%")
        return super()._format_action(action)

    def _metavar_formatter(
        self, action: argparse.Action, default_metavar: str
    ) -> Callable[[int], tuple[str, ...]]:
        if _choices_in_help(action):
            return lambda size: (default_metavar,) * size
        return super()._metavar_formatter(action, default_metavar)


class LinesHelpFormatter(_TextWidthHelpFormatter):
    """A help formatter that keeps a description's or an epilog's lines and wraps each one.

    Each line is wrapped within the help's width on its own: an indented entry of a list (an
    exit status and its meaning) goes on under its text. Kept as they were, the lines of the
    exit statuses ran to 230 columns and the description to 100, past an 80-column terminal.
    The unindented lines of one paragraph (a docstring's, a benchmark command's description)
    are one line (:func:`_paragraphs_joined`).
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in _paragraphs_joined(text):
            entry = _ENTRY.match(line)
            further = " " * (entry.end() if entry else 0)
            lines.extend(
                textwrap.wrap(
                    line,
                    width=max(width, len(further) + 20),
                    initial_indent=indent,
                    subsequent_indent=indent + further,
                    break_on_hyphens=False,
                    break_long_words=False,
                )
                or [""]
            )
        return "\n".join(lines)


def _paragraphs_joined(text: str) -> list[str]:
    """Return ``text``'s lines, each paragraph or bulleted item joined into one line.

    A docstring breaks its paragraphs at its own width: each of its lines wrapped on its own
    left a short line after every long one on a narrower terminal. A paragraph is a run of
    unindented lines; an item starts ``- `` or ``* `` and goes on in lines indented under its
    text. Blank lines and other indented ones (an exit status's entry, an example) stay lines
    of their own.
    """
    lines: list[str] = []
    goes_on: int | None = None  # the indent of the last line's continuation, if it takes one
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        bullet = _BULLET.match(line)
        if line.strip() and not bullet and indent == goes_on:
            lines[-1] += " " + line.strip()
            continue
        lines.append(line)
        goes_on = bullet.end() if bullet else 0 if line[:1].strip() else None
    return lines


_REQUIRED = "the following arguments are required: "
"""argparse's error for missing required arguments, before their names."""


class _MissingRequiredError(Exception):
    """A required argument is missing.

    Reported once no unrecognized argument is found, by the ``parser`` (a subcommand's,
    perhaps) that missed it.
    """

    def __init__(self, message: str, parser: OneLineParser) -> None:
        super().__init__(message)
        self.parser = parser


class _Deferring(threading.local):
    """Whether this thread is inside :meth:`OneLineParser.parse_args`.

    There a missing argument, a subcommand's too (its parser runs inside its command's), waits
    for the unrecognized ones.
    """

    active = False


_deferring = _Deferring()


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Return ``parser``'s actions and its subcommands' parsers' actions."""
    found = list(parser._actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += _actions(sub)
    return found


_NESTED_FIELD = re.compile(r"\b[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\b")
"""A field of a group a message names, as the fix (``lower budget.min_width``) or as the one
that goes with the field refused (``tls.client_cert and tls.client_key go together``)."""


_FIELD_HEAD = re.compile(r"[^.\[]+")
"""The head of a field path: ``task`` of ``task.correlations[0].name``."""


def violations_as_options(
    violations: Sequence[FieldViolation],
    options: Mapping[str, str],
    files: Mapping[str, str] | None = None,
) -> str:
    """Write field violations as one line, each field named as the option that sets it.

    ``options`` maps a field, or the head of one (``limits`` of ``limits.max_top_k``), to its
    option: ``budget.channel_choices[1]`` was typed as ``--channels``, ``limits.max_top_k`` as
    ``--limit max_top_k=...``, so name what the user can fix. Budget fields a description
    suggests changing (``lower budget.min_width``) are named as their options too, and so is
    any field of a group ``options`` names that a description quotes (``tls.client_cert``).
    ``files`` maps the head of a document's fields (``task``) to the name of the file it was
    read from: the refusals of the document or of fields in it end ``(from task.yaml)``, once
    for each run of them (two bad correlations said it after each), so a command given several
    files says which one to fix, unless a refusal of the run names the file already (a file
    that cannot be read).
    """
    read_from = files or {}

    def source_of(violation: FieldViolation) -> str | None:
        head = _FIELD_HEAD.match(violation.field)
        name = read_from.get(head[0]) if head else None
        return None if name is None else shown_path(name)

    def option_of(field: str) -> str:
        head, separator, rest = field.partition("[")
        option = options.get(head)
        if option is not None:
            return f"{option}{separator}{rest}"
        parent, dot, child = field.partition(".")
        option = options.get(parent) if dot else None
        return field if option is None else f"{option} {child}"

    def named(description: str) -> str:
        return _NESTED_FIELD.sub(lambda found: options.get(found[0], found[0]), description)

    def run_text(source: str | None, run: list[FieldViolation]) -> str:
        text = "; ".join(str(type(v)(option_of(v.field), named(v.description))) for v in run)
        if source is None or any(source in v.description for v in run):
            return text
        return f"{text} (from {source})"

    return "; ".join(
        run_text(source, list(run)) for source, run in itertools.groupby(violations, source_of)
    )


class _Once(argparse.Action):
    """An option refused when given a second time, in any of its forms (:meth:`_repeated`).

    The namespaces it was stored into are kept (weakly), with the form it was given in; by id,
    as a Namespace (which defines ==) cannot be hashed, the reference telling a namespace from a
    later one at the same address.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored: dict[int, tuple[weakref.ref[argparse.Namespace], str]] = {}

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        """Take the option as its action does; refuse it when it was given before."""
        option = option_string or next(iter(self.option_strings), self.dest)
        stored = self._stored.get(id(namespace))
        if stored is not None and stored[0]() is namespace:
            raise self._repeated(option, stored[1])
        self._stored[id(namespace)] = (weakref.ref(namespace), option)
        super().__call__(parser, namespace, values, option_string)

    def _repeated(self, option: str, before: str) -> argparse.ArgumentError:
        """Return the error of ``option`` given after ``before`` (the same option)."""
        raise NotImplementedError


class StoreOnce(_Once, argparse._StoreAction):
    """Store an option's value as argparse does, refusing the option given a second time.

    argparse's store replaces the first value by the second, and drops the first without a
    word: ``--geometries mirror --geometries contiguous`` searched contiguous pooling alone,
    ``--config a.yaml --config b.yaml`` ignored a.yaml, typos and all, and ``--budget 20000
    --budget 3000`` searched at 3,000, so the first run's page token was then refused as another
    request's. Every store of a :class:`OneLineParser` is this one. A given option is told by
    the namespaces it was stored into, as a value other than the default did not tell it:
    ``--top 5 --top 3`` stored the default's own object, 5, first.
    """

    def _repeated(self, option: str, before: str) -> argparse.ArgumentError:
        """Say that ``option`` is given twice, and how to give it once."""
        value = self.metavar or self.dest.upper()
        if self.nargs in ("+", "*"):
            said = (
                "is given twice, and the second list would replace the first: give every value "
                f"after one {option} ({option} {value} ...)"
            )
        else:
            said = (
                f"is given twice, and the second would replace the first: give one {option} {value}"
            )
        return argparse.ArgumentError(self, said)


class ToggleOnce(_Once, argparse.BooleanOptionalAction):
    """An on/off option (``--reflection`` / ``--no-reflection``) given once, in one form.

    argparse took ``--search-dilations --no-search-dilations`` as the last one said, where the
    usage line offers them as either/or and an option given twice is refused (:class:`StoreOnce`).
    """

    def _repeated(self, option: str, before: str) -> argparse.ArgumentError:
        """Name the form given (not argparse's ``--reflection/--no-reflection``) and the first."""
        if before == option:
            return argparse.ArgumentError(None, f"{option}: is given twice: give it once")
        return argparse.ArgumentError(
            None, f"{option}: contradicts {before}, given before: give one"
        )


class OneLineParser(argparse.ArgumentParser):
    """A parser whose usage errors are one line naming the option, with exit status 2.

    Subclasses set ``command`` (the name the error starts with; the parser's ``prog`` when
    None) and ``value_kinds`` (their own option types' names, beside :data:`VALUE_KINDS`).
    Subcommands' parsers are of their parent's class (``add_parser`` makes it), so they too
    refuse an abbreviated option as unrecognized (``allow_abbrev`` is False unless a caller
    passes it).
    """

    command: ClassVar[str | None] = None
    value_kinds: ClassVar[Mapping[str, str]] = VALUE_KINDS
    reporter: UsageReporter | None = None
    """How this parser's usage errors are said: ``reporter(command, message, status)``. None
    (the default) is :func:`~advisor.stdout.say_error`'s one line; the serve commands' parsers
    say theirs as a record of their log where that log is JSON."""
    field_options: Mapping[str, str] = {}
    """The option that sets each request field, by the field's name (``max_parameters``:
    ``--budget``), so a field's name given as an option (``--max-parameters``) is told its
    option rather than the option spelt closest to it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # add_parser passes no allow_abbrev of its own: the default here is what keeps a
        # subcommand's parser from taking a prefix of one of its options as that option.
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _TextWidthHelpFormatter)
        super().__init__(*args, **kwargs)
        # The registry, not add_argument: argument groups share it, so their options too are
        # taken once.
        for name in (None, "store"):
            self.register("action", name, StoreOnce)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """Parse as argparse does, but name an unrecognized option before a missing argument.

        argparse checks the required arguments before it reports the ones it did not
        recognize, so ``advisor --bogus`` said that COMMAND was missing and ``advisor recommend
        task.yaml --bogus`` that --budget was: the mistyped option is the error to fix. Where
        some unrecognized arguments are options, only those are named (``--bogus 5 task.yaml``
        would read 5 as the task and name task.yaml as well). A command's option given before
        the command is named as such (:func:`_before_its_command`).
        """
        words = list(sys.argv[1:] if args is None else args)
        misplaced = _before_its_command(self, words)
        if misplaced:
            self._report(misplaced)
        outer, _deferring.active = _deferring.active, True
        try:
            parsed, unknown = self.parse_known_args(args, namespace)
        except _MissingRequiredError as missing:
            parsed, unknown = self._unrecognized(args)
            if not unknown:
                hint = _swallowed(missing.parser, parsed) or _commands_named(missing.parser)
                missing.parser._report(str(missing) + hint)
            unknown = [word for word in unknown if word.startswith("-")] or unknown
        finally:
            _deferring.active = outer
        if unknown:
            chosen = _chosen_parser(self, parsed)
            meant = _Meant(_option_strings(self, parsed), chosen, self.command or self.prog)
            hints = _meant_options(unknown, meant, words)
            words_shown = " ".join(shown_path(word) for word in unknown)
            self._report(f"unrecognized arguments: {words_shown}{hints}", chosen.reporter)
        return parsed

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        """Print the help as the command prints its results (:func:`~advisor.stdout.print_text`).

        argparse drops a failed write of its help and ends 0: ``advisor --help > /dev/full``
        and ``advisor-server --help > /dev/full`` printed nothing and succeeded. The help to
        standard output now ends as a result would, a failure exiting with its status here.
        """
        if file is not None:
            super().print_help(file)
            return
        status = print_text(self.format_help(), self.command or self.prog)
        if status:
            self.exit(status)

    def error(self, message: str) -> NoReturn:
        """Write ``message`` as one line naming the option, and exit with status 2.

        Within :meth:`parse_args`, a missing required argument is reported after it looked for
        unrecognized ones.
        """
        if _deferring.active and message.startswith(_REQUIRED):
            raise _MissingRequiredError(message, self)
        self._report(message)

    def _report(self, message: str, reporter: UsageReporter | None = None) -> NoReturn:
        """Say ``message`` by ``reporter`` (this parser's :attr:`reporter` when None); exit 2."""
        command, line = self.command or self.prog, self._one_line(message)
        say = reporter or self.reporter
        if say is None:
            say_error(command, line)
        else:
            say(command, line, USAGE_EXIT_STATUS)
        self.exit(USAGE_EXIT_STATUS)

    def _unrecognized(self, args: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
        """Parse ``args`` with the required arguments (the subcommands' too) waived.

        Return what was parsed and the arguments no option or positional takes.
        """
        waived = [action for action in _actions(self) if action.required]
        for action in waived:
            action.required = False
        try:
            return super().parse_known_args(args, None)
        finally:
            for action in waived:
                action.required = True

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own check lists the choices but does not say which one was meant.
        if action.choices is not None and value not in action.choices:
            hint = _list_hint(self, action, [value]) or _command_meant(self, action, value)
            raise argparse.ArgumentError(action, _not_a_choice(value, action.choices) + hint)

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        # A list option's refused value may be the positional it swallowed: say so.
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError as error:
            hint = _list_hint(self, action, [arg_string])
            problem = self._reworded(error.message, arg_string)
            raise argparse.ArgumentError(action, problem + hint) from None

    def _one_line(self, message: str) -> str:
        """Reword argparse's ``message`` as ``--budget: invalid value 'abc' (a whole number)``."""
        argument = _ARGUMENT_ERROR.fullmatch(message)
        if argument is None:
            return message
        return f"{argument['name']}: {argument['problem']}"

    def _reworded(self, problem: str, value: str) -> str:
        """Reword argparse's ``invalid int value: 'abc'`` as ``invalid value 'abc' (a number)``.

        The kind of number is the option type's (:data:`VALUE_KINDS`), the ``value`` refused
        is :func:`quoted`; any other problem is returned as it is.
        """
        bad_value = _BAD_VALUE.fullmatch(problem)
        if bad_value is None:
            return problem
        kind = self.value_kinds.get(bad_value["kind"])
        return f"invalid value {quoted(value)}" + ("" if kind is None else f" ({kind})")


def quoted(value: Any) -> str:
    r"""Return a value the user gave quoted as a usage error shows it: ``'abc'``.

    A word of the command line (or of the environment) is shown as a file's name is
    (:func:`~advisor.stdout.shown_path`), one rule for both: argparse's ``repr`` wrote a byte
    the locale does not decode as the surrogate Python reads it as, ``'t\udcc3\udca2che.yaml'``
    for ``tâche.yaml`` under ``LC_ALL=C``, beside ``'t\xc3\xa2che.yaml'`` in the same line's
    hint. A value that is not a string (a number its type read) is its ``repr``.
    """
    return f"'{shown_path(value)}'" if isinstance(value, str) else repr(value)


def variable_problem(variable: str, choices: Sequence[str]) -> str | None:
    """Say why the environment ``variable`` holds a value not among ``choices``, or None.

    The values are read in any case; empty is unset, as gRPC and the commands read it.
    """
    value = os.environ.get(variable, "")
    if not value or value.casefold() in {choice.casefold() for choice in choices}:
        return None
    return f"invalid value {quoted(value)} (choose from {', '.join(choices)}, in any case)"


def settle_grpc_verbosity(
    command: str,
    default: str = GRPC_DEFAULT_VERBOSITY,
    *,
    own_process: bool = False,
    warn: Callable[[str, str], None] | None = None,
) -> None:
    """Warn of a ``GRPC_VERBOSITY`` gRPC does not read, and set ``default`` in its place.

    gRPC reads the variable when it is first imported and answers any other value with its own
    log line, ``Unknown log verbosity: bogus``, which names no variable and is lost among the
    server's lines. Refused as a usage error, a variable left in a shell's profile stopped
    every command, ``advisor presets`` too: the command goes on instead at the verbosity an
    unset variable gives it, ``default``, after one line on standard error that names the
    variable and that verbosity.

    ``own_process``: the command runs as a process of its own (not a caller's ``main(argv)``),
    whose log gRPC's C core shares: an unset variable (or an empty one, as a CI template leaves
    a variable it was given no value for) is set to ``default`` too, before gRPC is imported
    and reads it. Unset, gRPC printed its own lines (a failed bind, a plaintext client's failed
    handshake on a TLS port, at INFO though ERROR is its stated default) above the one-line
    error a failure gets, or as text lines in a JSON log. A value the caller set (e.g. to
    debug) still wins.

    ``warn(command, message)`` says the warning where the command says its own (a server's JSON
    log); by default ``COMMAND: warning: MESSAGE`` on standard error.
    """
    if own_process and not os.environ.get("GRPC_VERBOSITY"):
        os.environ["GRPC_VERBOSITY"] = default
        return
    problem = variable_problem("GRPC_VERBOSITY", GRPC_VERBOSITIES)
    if problem is None:
        return
    os.environ["GRPC_VERBOSITY"] = default
    message = f"GRPC_VERBOSITY: {problem}; ignored: gRPC logs at {default}, as when it is unset"
    if warn is None:
        write_stderr(f"{command}: warning: {message}\n")
    else:
        warn(command, message)


class VersionAction(argparse.Action):
    """``--version``: the command's name, the advisor's version and its ranking's, then exit.

    One action for ``advisor`` and ``advisor-server`` (and ``server.py``), so both print the
    same line for their own name (``advisor-server 0.1.0, ranking version 6``): an operator
    checks what a server runs, a pipeline that caches results whether its cache is current
    (``ranking_version``, what every result reports). The versions are looked up only when
    asked for; the line is written as a result is (:func:`~advisor.stdout.print_text`), so a
    failed write is an error line and status 1.
    """

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        help: str = "print the installed version and the version of its ranking, and exit",
    ) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        """Print ``PROG VERSION, ranking version N`` and exit with the write's status."""
        from advisor.version import RANKING_VERSION, __version__

        name = (parser.command if isinstance(parser, OneLineParser) else None) or parser.prog
        parser.exit(print_text(f"{name} {__version__}, ranking version {RANKING_VERSION}\n", name))


def _list_hint(
    parser: argparse.ArgumentParser, action: argparse.Action, words: Sequence[Any]
) -> str:
    """Say that list option ``action`` took a file named in ``words`` that is a positional's.

    A list option (``--channels C ...``) takes every word up to the next option, so ``advisor
    recommend --budget 900 --channels 8 16 task.yaml`` read the task as a width (``invalid value
    'task.yaml' (a whole number)``), and ``--geometries mirror task.yaml`` as a family, the task
    then missing (``the following arguments are required: TASK``). Said where a word is an
    existing file and ``parser`` takes a positional; "" otherwise.
    """
    positionals = [
        a.metavar or a.dest
        for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    ]
    files = [word for word in words if isinstance(word, str) and os.path.isfile(word)]
    if action.nargs not in ("+", "*") or not action.option_strings or not positionals or not files:
        return ""
    option = action.option_strings[0]
    return (
        f"; {option} took '{shown_path(files[-1])}' into its list, which runs to the next "
        f"option: give {positionals[0]} before {option}, or end the list with --"
    )


def _commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any] | None:
    """Return ``parser``'s commands (its subparsers action), None where it has none."""
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _commands_named(parser: argparse.ArgumentParser) -> str:
    """Name ``parser``'s commands where it has them: its missing argument may be the command.

    ``advisor`` alone said only ``the following arguments are required: COMMAND``.
    """
    commands = _commands(parser)
    if commands is None or commands.choices is None:
        return ""
    return f" (one of {', '.join(commands.choices)}: {parser.prog} --help says what each does)"


def _command_meant(parser: argparse.ArgumentParser, action: argparse.Action, value: Any) -> str:
    """Say what ``help`` or ``version`` given as a command meant: the options that do it."""
    if not isinstance(action, argparse._SubParsersAction):
        return ""
    if value == "help":
        return (
            f"; {parser.prog} --help lists them, {parser.prog} COMMAND --help a command's options"
        )
    if value == "version" and "--version" in parser._option_string_actions:
        return f"; did you mean {parser.prog} --version?"
    return ""


def _swallowed(parser: argparse.ArgumentParser, parsed: argparse.Namespace) -> str:
    """:func:`_list_hint` for the first list option of ``parser`` that took a file in ``parsed``."""
    for action in parser._actions:
        values = getattr(parsed, action.dest, None)
        hint = _list_hint(parser, action, values) if isinstance(values, list) else ""
        if hint:
            return hint
    return ""


def _before_its_command(parser: argparse.ArgumentParser, words: Sequence[str]) -> str:
    """Say that an option of the command ``words`` names was given before that command.

    ``advisor --format json recommend ...`` said ``COMMAND: invalid value 'json' (choose from
    recommend, ...)``: argparse left the option it did not know and read its value as the
    command. "" when no word before the command is an option of the command's alone.
    """
    commands = _commands(parser)
    at = next((i for i, word in enumerate(words) if commands and word in commands.choices), None)
    if commands is None or at is None:
        return ""
    command = words[at]
    own = {option for action in parser._actions for option in action.option_strings}
    theirs = {o for action in commands.choices[command]._actions for o in action.option_strings}
    for word in words[:at]:
        name = word.partition("=")[0]
        if name in theirs and name not in own:
            return f"{name}: is an option of {command}, so it goes after it ({command} {name} ...)"
    return ""


def _chosen_parser(parser: OneLineParser, parsed: argparse.Namespace) -> OneLineParser:
    """Return the parser of the deepest subcommand ``parsed`` chose; ``parser`` if none.

    Arguments no parser took are reported by the top parser, after the subcommand's has
    parsed, by that subcommand's :attr:`~OneLineParser.reporter`: ``advisor serve --bogus``
    as serve's errors are said.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(parsed, action.dest, None) or "")
            if isinstance(chosen, OneLineParser):
                return _chosen_parser(chosen, parsed)
    return parser


def _option_strings(parser: argparse.ArgumentParser, parsed: argparse.Namespace) -> list[str]:
    """Return the options of ``parser`` and of the subcommand ``parsed`` chose, recursively.

    Only the chosen subcommand's: ``advisor analyze --bugdet`` is not told of recommend's
    ``--budget``.
    """
    found: list[str] = []
    for action in parser._actions:
        found += action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(parsed, action.dest, None) or "")
            found += [] if chosen is None else _option_strings(chosen, parsed)
    return found


_AFTER_THE_END = "; it comes after --, which ends the options: give it before --"
"""The hint for an option written after ``--``, which argparse reads as an argument."""

_NOTHING_AFTER_THE_END = "; it ends the options, and nothing follows it here: remove it"
"""The hint for a ``--`` that ends the command line (argparse leaves it unrecognized)."""


@dataclass(frozen=True)
class _Meant:
    """What an unrecognized option may have meant: the ``options`` of the command given.

    ``chosen`` is the subcommand's parser, whose ``field_options`` name the option of each
    request field; an option of an outer parser (``--version``, of ``command`` itself) given
    after the subcommand is unrecognized there.
    """

    options: Sequence[str]
    chosen: OneLineParser
    command: str

    def hint(self, word: str) -> str:
        """Say what the unrecognized option ``word`` meant, or "" where nothing resembles it."""
        if word in self.options:  # not the subcommand's: it resembles itself
            return (
                f"; it is {self.command}'s own option, so it goes before the command "
                f"({self.command} {word})"
            )
        if word == "--output":  # told --outputs, the network's output count, which it is not
            outputs = (
                ", and --outputs is the network's output count"
                if "--outputs" in (self.options)
                else ""
            )
            return (
                "; this command writes its result on standard output: redirect it "
                f"(> result.yaml){outputs}"
            )
        field = word.lstrip("-").replace("-", "_")
        option = self.chosen.field_options.get(field)
        if option is not None:
            return f"; did you mean {option!r}? (it sets {field})"
        # On the error path only: a parser loads nothing it does not use (difflib, here).
        from advisor.suggestions import closest_name, did_you_mean

        suggested = did_you_mean(word, self.options)
        # A field's name misspelt (--max-paramters) is told the option that sets the field.
        near = closest_name(field, self.chosen.field_options) if not suggested else None
        if near is None:
            return suggested
        return f"; did you mean {self.chosen.field_options[near]!r}? (it sets {near})"


def _meant_options(unknown: Sequence[str], meant: _Meant, words: Sequence[str]) -> str:
    """Say which option each unrecognized option in ``unknown`` resembles, where one does.

    ``--fromat json``: "; did you mean '--format'?"; with several, each is named before its
    suggestion (:meth:`_Meant.hint`). A value (``json``, or after ``=``) is not an option and
    gets none. An option written after ``--`` in the command's ``words`` (``--channels 8 16 --
    task.yaml --budget 900``, as a list option's hint suggests) is an argument there: it is
    told so, not that it resembles itself.
    """
    # The options of this command that came after "--": arguments there, unrecognized as such.
    arguments = (
        {word.partition("=")[0] for word in words[words.index("--") + 1 :]}.intersection(
            meant.options
        )
        if "--" in words
        else set()
    )
    typed = [word.partition("=")[0] for word in unknown if word.startswith("-") and word != "--"]
    hints = [(word, _AFTER_THE_END if word in arguments else meant.hint(word)) for word in typed]
    if "--" in unknown and words[-1:] == ["--"]:
        # argparse leaves a last "--" unrecognized: nothing follows it for it to mark.
        hints.append(("--", _NOTHING_AFTER_THE_END))
    if len(hints) == 1:
        return hints[0][1]
    return "".join(f"; {shown_path(word)}:{hint.removeprefix(';')}" for word, hint in hints if hint)


def _not_a_choice(value: Any, choices: Iterable[Any]) -> str:
    """Say that ``value`` is none of ``choices``, and which one it resembles if any."""
    # On the error path only: a parser loads nothing it does not use (advisor.suggestions: difflib).
    from advisor.suggestions import did_you_mean

    names = [str(choice) for choice in choices]
    meant = did_you_mean(str(value), names)
    return f"invalid value {quoted(value)} (choose from {', '.join(names)}){meant}"
