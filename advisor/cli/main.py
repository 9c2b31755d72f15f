"""The ``advisor`` command: recommend, infer, analyze, presets, export, serve (docs/CLI.md).

This module builds the parser and parses; :mod:`advisor.cli.commands` runs the parsed command.
It is imported only once the command line parsed, so ``advisor --help`` and a usage error answer
at once, without loading gRPC, the server or the model. Failures are one line on stderr and an
exit code per status (:class:`~advisor.cli.options.ExitCode`); no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from advisor.cli.completion import SHELLS, completion_script
from advisor.cli.infer_options import add_data_arguments
from advisor.cli.options import (
    BUDGET_OPTIONS,
    COMPLETION_EXIT_STATUS_HELP,
    EXIT_STATUS_HELP,
    EXPORT_EXIT_STATUS_HELP,
    OUTPUT_FORMATS,
    POOLING_KINDS,
    TASK_FORMATS,
    VALUE_KINDS,
    ExitCode,
    InferenceInterrupted,
    count,
    output_path,
    read_path,
    saved_path,
    seed,
)
from advisor.cli.output import fail
from advisor.infer.terms import ARRANGEMENT_GAIN, DATA_PARTS, EVIDENCE_COVERAGE
from advisor.service.held_signals import (
    hold_drain_signals,
    release_drain_signals,
    take_held_signals,
)
from advisor.service.logs import report_failure, report_warning
from advisor.service.options import (
    SERVE_DESCRIPTION,
    SERVE_EPILOG,
    add_limit_argument,
    add_serve_arguments,
    address,
)
from advisor.stdout import print_text
from advisor.usage import (
    GRPC_DEFAULT_VERBOSITY,
    LinesHelpFormatter,
    OneLineParser,
    VersionAction,
    settle_grpc_verbosity,
)

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``advisor`` and its six subcommands."""
    parser = _Parser(
        prog="advisor",
        description="Recommend convolutional-network designs from a task's correlation structure "
        "(separation-rank model).",
        epilog=EXIT_STATUS_HELP,
        formatter_class=LinesHelpFormatter,
    )
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # A search's deadline follows its time limit: only recommend's --timeout help says so.
    calls = _call_options("30")

    recommend = _add_command(
        commands,
        "recommend",
        "rank architectures for a task under a budget",
        _call_options("the time limit + 10, at least 30"),
    )
    _add_format(recommend)
    recommend.add_argument(
        "--explain",
        action="store_true",
        help="with --format table: every design's whole rationale, not its summary (the JSON "
        "and YAML documents hold both)",
    )
    recommend.add_argument(
        "task", metavar="TASK", help="task file (YAML or JSON; - reads standard input)"
    )
    for option in BUDGET_OPTIONS:
        recommend.add_argument(option.flag, dest=option.field, **option.settings)
    recommend.field_options = {option.field: option.flag for option in BUDGET_OPTIONS}
    recommend.add_argument(
        "--data",
        type=read_path,
        metavar="DATA",
        help="a data sample (.npy, .npz, .csv): add what it shows to the task (--from-data)",
    )
    recommend.add_argument(
        "--from-data",
        nargs="+",
        choices=DATA_PARTS,
        metavar="PART",
        help="what --data adds, any of: correlations (inferred from it, named 'data: ...'), "
        "arrangement (family data_arranged; only when the evidence reaches "
        f"{EVIDENCE_COVERAGE * 100:.0f}%% or more of the varying locations and the arrangement "
        f"lowers the crossing dependence by {ARRANGEMENT_GAIN.replace('%', '%%')} or more) "
        "(default: both)",
    )
    add_data_arguments(recommend, "the task's input shape")
    recommend.add_argument(
        "--save-task",
        type=saved_path,
        metavar="TASK.yaml",
        help="write the task searched, the file's with what --data adds, here (JSON for a "
        "name ending .json, else YAML), so "
        "'advisor analyze TASK.yaml --arch RESULT' checks the figures; an existing file is "
        "replaced only with --force",
    )
    _add_force(recommend, "--save-task")

    infer = _add_command(
        commands, "infer", "infer a task and an arrangement from a data sample", calls
    )
    infer.add_argument(
        "--format",
        choices=TASK_FORMATS,
        help="format of the task written (default: json for an --output ending .json, else yaml)",
    )
    infer.add_argument(
        "data", type=read_path, metavar="DATA", help="data sample: .npy, .npz or .csv"
    )
    add_data_arguments(infer, "the array's shape after the samples axis")
    infer.add_argument(
        "--output",
        type=output_path,
        metavar="TASK.yaml",
        help="write the task here (default, or -: stdout); an existing file is replaced only "
        "with --force",
    )
    _add_force(infer, "--output")
    infer.add_argument(
        "--seed",
        type=seed,
        default=0,
        metavar="S",
        help="seed of the graph partitioner (default 0)",
    )

    analyze = _add_command(commands, "analyze", "score one architecture against a task", calls)
    _add_format(analyze)
    analyze.add_argument(
        "task", metavar="TASK", help="task file (YAML or JSON; - reads standard input)"
    )
    analyze.add_argument(
        "--arch",
        required=True,
        metavar="ARCH",
        help="architecture file, or a result of recommend --format json|yaml (- reads standard "
        "input)",
    )
    analyze.add_argument(
        "--rank",
        type=count,
        metavar="K",
        help="with a recommend result as ARCH: its recommendation of rank K (default: its first)",
    )
    analyze.add_argument(
        "--exact", action="store_true", help="certify ranks with the exact engine (small inputs)"
    )

    _add_format(_add_command(commands, "presets", "list region and task presets", calls))

    export = _add_command(
        commands,
        "export",
        "write a recommendation as standalone PyTorch source (no server)",
        epilog=EXPORT_EXIT_STATUS_HELP,
    )
    export.add_argument(
        "arch",
        metavar="ARCH",
        help="architecture file, or a result of recommend --format json|yaml (- reads standard "
        "input)",
    )
    export.add_argument(
        "--rank",
        type=count,
        metavar="K",
        help="with a recommend result as ARCH: its recommendation of rank K (default: its first)",
    )
    export.add_argument(
        "--outputs",
        type=count,
        metavar="Y",
        help="network outputs of an ARCH that states none (default: its own, else 1, with a "
        "warning)",
    )
    export.add_argument(
        "--pooling",
        choices=POOLING_KINDS,
        default="max",
        help="the pooling layers' kind (default max)",
    )
    export.add_argument(
        "--output",
        type=output_path,
        required=True,
        metavar="NET.py",
        help="write the source here (-: stdout); an existing file is replaced only with --force",
    )
    _add_force(export, "--output")

    serve = _add_command(
        commands,
        "serve",
        "run the gRPC service until SIGTERM, SIGHUP or Ctrl-C",
        description=SERVE_DESCRIPTION,
        epilog=SERVE_EPILOG,
    )
    add_serve_arguments(serve)
    serve.reporter = report_failure

    completion = _add_command(
        commands,
        "completion",
        "print a shell completion script of advisor and advisor-server",
        description="Print a completion script of advisor and advisor-server for SHELL. Load it "
        'in the current shell with eval "$(advisor completion bash)", or for every shell save '
        "it as ~/.local/share/bash-completion/completions/advisor (and a copy named "
        "advisor-server); write it again after an upgrade.",
        epilog=COMPLETION_EXIT_STATUS_HELP,
    )
    completion.add_argument("shell", metavar="SHELL", choices=SHELLS, help="bash or zsh")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``advisor`` command and return its exit status (see ``ExitCode``)."""
    if argv is None and sys.stderr is None:
        # Started with standard error closed (``2>&-``, a daemon's child): a message went to
        # standard output instead, print's fallback, into the result a script reads, and the
        # progress bar's check of stderr failed the command. Its messages now go nowhere.
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (for the process)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "completion":  # made from the parser alone: no engine, no gRPC
        return print_text(completion_script(args.shell, parser), parser.prog)
    own_process = argv is None
    default = "NONE" if own_process else GRPC_DEFAULT_VERBOSITY
    serving = args.command == "serve"
    # A server's warning is a record of its log (JSON where that is).
    warn = report_warning if serving else None
    settle_grpc_verbosity(parser.prog, default, own_process=own_process, warn=warn)
    # serve drains on SIGTERM itself, once gRPC and the server have loaded: until then it holds
    # one (advisor.service.held_signals; advisor.entry holds them from the process's start).
    # The other commands give them back their default meaning, and take one that came while
    # the command line was read. A caller passing argv keeps its own handlers.
    if argv is None and serving:
        hold_drain_signals()
    elif argv is None:
        release_drain_signals()
    handling = argv is None and not serving and _handle_sigterm()
    try:
        if argv is None and not serving:
            for held in take_held_signals():
                signal.raise_signal(held)
        from advisor.cli.commands import run  # only now: see the module docstring

        status = run(args)
    except KeyboardInterrupt as interrupt:
        # Ctrl-C, whenever it comes: also while the engines and gRPC load (the first half
        # second), which printed KeyboardInterrupt's traceback and ended the process by SIGINT.
        # An inference has no search to finish: stopped, it exits as recommend's stopped search.
        inferring = args.command == "infer" or isinstance(interrupt, InferenceInterrupted)
        status = fail("interrupted", ExitCode.INTERRUPTED if inferring else ExitCode.OTHER)
    except _TerminatedError:
        status = fail("terminated (SIGTERM)", ExitCode.TERMINATED)
    finally:
        if handling:  # the command has ended: the process ends next, as SIGTERM would end it
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        release_drain_signals()
    if argv is None:
        # Called with the process's own command line, so the process ends next: freezing the
        # heap spares the interpreter's final collection over everything imported (~70 ms of
        # ``advisor presets`` on a loaded machine). Callers passing argv keep their heap as it was.
        gc.freeze()
    return status


class _TerminatedError(BaseException):
    """SIGTERM came (a CI job cancelled, a container stopped): end the command as Ctrl-C does.

    A ``BaseException``, as ``KeyboardInterrupt`` is, so no handler of errors takes it for one;
    the embedded server stops and a file being written is left as it was on the way out.
    """


def _handle_sigterm() -> bool:
    """Make SIGTERM raise :class:`_TerminatedError`, unless the process was started ignoring it.

    Returns whether it does. Without it the command died at once, saying nothing; a command
    started with SIGTERM ignored keeps ignoring it.
    """
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        return False
    signal.signal(signal.SIGTERM, _terminate)
    return True


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _TerminatedError


class _Parser(OneLineParser):
    """The ``advisor`` command's parser: one-line usage errors (:mod:`advisor.usage`)."""

    command = "advisor"
    value_kinds = VALUE_KINDS


def _add_command(
    commands: argparse._SubParsersAction[_Parser],
    name: str,
    summary: str,
    parent: _Parser | None = None,
    *,
    description: str | None = None,
    epilog: str = EXIT_STATUS_HELP,
) -> _Parser:
    """Add the subcommand ``name``, its one line in the list of commands ``summary``.

    ``summary`` is its help's description too unless ``description`` is given; ``epilog`` lists
    its exit statuses (``serve`` has its own: a signal drains it, exit status 0; so has
    ``export``, which makes no call).
    """
    return commands.add_parser(
        name,
        help=summary,
        description=summary if description is None else description,
        parents=[] if parent is None else [parent],
        epilog=epilog,
        formatter_class=LinesHelpFormatter,
    )


def _add_format(command: argparse.ArgumentParser) -> None:
    """``--format`` of a command whose answer is a result (recommend, analyze, presets)."""
    command.add_argument(
        "--format", choices=OUTPUT_FORMATS, default="table", help="output format (default table)"
    )


def _add_force(command: argparse.ArgumentParser, option: str) -> None:
    """Add ``--force`` to ``command``, which writes the file ``option`` names.

    One rule for every file a command writes: an existing one is replaced only when asked
    (:func:`~advisor.cli.output_files.check_writable`).
    """
    command.add_argument("--force", action="store_true", help=f"replace an existing {option} file")


def _call_options(timeout_default: str) -> _Parser:
    """Return the options of a command that calls the service (``timeout_default``: --timeout's)."""
    calls = _Parser(add_help=False)
    calls.add_argument(
        "--target",
        type=address,
        metavar="HOST:PORT",
        help="use this running server (default: start one in-process on 127.0.0.1)",
    )
    calls.add_argument(
        "--token-file", type=read_path, metavar="FILE", help="bearer token for --target"
    )
    calls.add_argument("--tls-ca", metavar="FILE", help="CA certificate: use TLS to --target")
    calls.add_argument("--tls-client-cert", metavar="FILE", help="client certificate (mutual TLS)")
    calls.add_argument("--tls-client-key", metavar="FILE", help="client private key (mutual TLS)")
    calls.add_argument(
        "--max-message-bytes",
        type=count,
        metavar="N",
        help="largest message sent to or received from --target (default 4 MiB, a server's "
        "default; match a server whose limit was raised)",
    )
    calls.add_argument(
        "--busy-wait",
        type=float,
        metavar="S",
        help="wait up to S seconds for a slot of a busy --target (every worker taken), retrying "
        "its refusal (default 0: exit status 6 at once)",
    )
    add_limit_argument(
        calls,
        "raise (or lower) a request limit of the embedded server, e.g. max_top_k=100 "
        "(repeatable; the names and values of serve --limit; not with --target)",
    )
    calls.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help=f"deadline of the call in seconds (default {timeout_default})",
    )
    return calls


if __name__ == "__main__":
    sys.exit(main())
