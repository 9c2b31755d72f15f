"""The ``advisor`` command: recommend, analyze, presets, serve (DESIGN.md "Command line").

A thin layer on :class:`~advisor_client.client.AdvisorClient`: parse the options, call the service
over gRPC, print the result. With ``--target`` the calls go to that server; otherwise an in-process
server is started on 127.0.0.1, port 0, and used over real gRPC, so the command behaves exactly
as a remote call would. Failures are one line on stderr and an exit code per status
(:class:`ExitCode`); no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from advisor_client.client import AdvisorClient, TlsConfig
from advisor_client.errors import (
    AdvisorRpcError,
    DeadlineExceededError,
    InvalidArgumentError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)

from advisor.cli.format import (
    OUTPUT_FORMATS,
    render_analysis,
    render_presets,
    render_search_result,
)
from advisor.cli.progress import progress_bar_for
from advisor.errors import FieldViolation, InvalidRequestError, ServerStartError
from advisor.service.command import (
    BAD_OPTION_EXIT_STATUS,
    SERVE_OPTION_FLAGS,
    START_FAILED_EXIT_STATUS,
    add_serve_arguments,
    describe_start_error,
    serve_from_arguments,
)
from advisor.service.server import ServerConfig, read_token_file, start_server

__all__ = ["ExitCode", "build_parser", "main"]


class ExitCode(IntEnum):
    """The process exit status, one per kind of failure a script may want to tell apart."""

    OK = 0
    OTHER = 1
    INVALID_ARGUMENT = BAD_OPTION_EXIT_STATUS
    UNAUTHENTICATED = 3
    DEADLINE_EXCEEDED = 4
    UNAVAILABLE = 5
    RESOURCE_EXHAUSTED = 6
    SERVER_NOT_STARTED = START_FAILED_EXIT_STATUS


_EXIT_CODE_BY_ERROR: tuple[tuple[type[Exception], ExitCode], ...] = (
    (InvalidRequestError, ExitCode.INVALID_ARGUMENT),
    (InvalidArgumentError, ExitCode.INVALID_ARGUMENT),
    (UnauthenticatedError, ExitCode.UNAUTHENTICATED),
    (DeadlineExceededError, ExitCode.DEADLINE_EXCEEDED),
    (UnavailableError, ExitCode.UNAVAILABLE),
    (ResourceExhaustedError, ExitCode.RESOURCE_EXHAUSTED),
    (ServerStartError, ExitCode.SERVER_NOT_STARTED),
)

_EXIT_CODES_HELP = """\
exit status:
  0  success
  1  any other failure
  2  invalid input (bad file, option or request: INVALID_ARGUMENT) or usage error
  3  UNAUTHENTICATED: missing or wrong token (--token-file)
  4  DEADLINE_EXCEEDED: the call's deadline passed (--timeout)
  5  UNAVAILABLE: the server cannot be reached or is shutting down
  6  RESOURCE_EXHAUSTED: the server is saturated; try again later
  7  the server could not start: address in use or not bindable, unusable TLS file"""


@dataclass(frozen=True)
class _Option:
    """A command-line option that sets one request field, so errors can name the option."""

    flag: str
    field: str
    settings: dict[str, Any]


_BUDGET_OPTIONS = (
    _Option(
        "--budget",
        "max_parameters",
        {"type": int, "required": True, "metavar": "N", "help": "maximum parameter count"},
    ),
    _Option("--top", "top_k", {"type": int, "metavar": "K", "help": "recommendations to return"}),
    _Option(
        "--time-limit",
        "time_limit_seconds",
        {"type": float, "metavar": "S", "help": "search time limit in seconds"},
    ),
    _Option("--seed", "seed", {"type": int, "metavar": "S", "help": "search seed"}),
    _Option(
        "--objective",
        "objective",
        {"choices": ["weighted", "maximin"], "help": "how per-correlation ranks combine"},
    ),
    _Option("--min-depth", "min_depth", {"type": int, "metavar": "L", "help": "fewest layers"}),
    _Option("--max-depth", "max_depth", {"type": int, "metavar": "L", "help": "most layers"}),
    _Option(
        "--channels",
        "channel_choices",
        {"type": int, "nargs": "+", "metavar": "C", "help": "allowed channel widths"},
    ),
    _Option(
        "--max-channels",
        "max_channels",
        {"type": int, "metavar": "C", "help": "widest layer when --channels is not given"},
    ),
    _Option(
        "--geometries",
        "geometries",
        {
            "nargs": "+",
            "metavar": "FAMILY",
            "help": "families: shallow contiguous mirror interleaved dilations synthesized",
        },
    ),
    _Option(
        "--search-dilations",
        "search_dilations",
        {"action": argparse.BooleanOptionalAction, "help": "try every dilation order"},
    ),
    _Option(
        "--rank-target",
        "log2_rank_target",
        {"type": float, "metavar": "BITS", "help": "log2 rank beyond which nothing is gained"},
    ),
    _Option("--outputs", "outputs", {"type": int, "metavar": "Y", "help": "network outputs"}),
    _Option(
        "--representation-kernel",
        "representation_kernel",
        {"type": int, "metavar": "K", "help": "kernel size of the representation layer"},
    ),
)

# Fields that name the connection settings of the client, reported under their option.
_CONNECTION_OPTIONS = {
    "token_file": "--token-file",
    "token": "--token-file",
    "tls.root_ca": "--tls-ca",
    "tls.client_cert": "--tls-client-cert",
    "tls.client_key": "--tls-client-key",
    "timeout": "--timeout",
    "exact": "--exact",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``advisor`` and its four subcommands."""
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Recommend convolutional-network designs from a task's correlation structure "
        "(separation-rank model).",
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    calls = _call_options()

    recommend = _add_command(
        commands, "recommend", "rank architectures for a task under a budget", calls
    )
    recommend.add_argument("task", metavar="TASK", help="task file (YAML or JSON)")
    for option in _BUDGET_OPTIONS:
        recommend.add_argument(option.flag, dest=option.field, **option.settings)
    recommend.set_defaults(run=_recommend)

    analyze = _add_command(commands, "analyze", "score one architecture against a task", calls)
    analyze.add_argument("task", metavar="TASK", help="task file (YAML or JSON)")
    analyze.add_argument("--arch", required=True, metavar="ARCH", help="architecture file")
    analyze.add_argument(
        "--exact", action="store_true", help="certify ranks with the exact engine (small inputs)"
    )
    analyze.set_defaults(run=_analyze)

    presets = _add_command(commands, "presets", "list region and task presets", calls)
    presets.set_defaults(run=_presets)

    serve = _add_command(commands, "serve", "run the gRPC service until SIGTERM or Ctrl-C")
    add_serve_arguments(serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``advisor`` command and return its exit status (see :class:`ExitCode`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return serve_from_arguments(args)
        _check_connection_options(args)
        with _connect(args) as advisor:
            output = args.run(advisor, args)
        sys.stdout.write(output)
        sys.stdout.flush()
    except (InvalidRequestError, AdvisorRpcError, ServerStartError) as error:
        return _fail(_describe(error), _exit_code(error))
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.OTHER)
    except BrokenPipeError:
        # The reader went away (``advisor presets | head -1``); nothing left to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OTHER
    except Exception as error:  # the promise: one line, never a traceback
        return _fail(f"unexpected {type(error).__name__}: {error}", ExitCode.OTHER)
    return ExitCode.OK


def _add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    parent: argparse.ArgumentParser | None = None,
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=summary,
        parents=[] if parent is None else [parent],
        epilog=_EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _call_options() -> argparse.ArgumentParser:
    calls = argparse.ArgumentParser(add_help=False)
    calls.add_argument(
        "--format", choices=OUTPUT_FORMATS, default="table", help="output format (default table)"
    )
    calls.add_argument(
        "--target",
        metavar="HOST:PORT",
        help="use this running server (default: start one in-process on 127.0.0.1)",
    )
    calls.add_argument("--token-file", type=Path, metavar="FILE", help="bearer token for --target")
    calls.add_argument("--tls-ca", metavar="FILE", help="CA certificate: use TLS to --target")
    calls.add_argument("--tls-client-cert", metavar="FILE", help="client certificate (mutual TLS)")
    calls.add_argument("--tls-client-key", metavar="FILE", help="client private key (mutual TLS)")
    calls.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="deadline of the call in seconds (default 30; for recommend, at least the time "
        "limit + 10)",
    )
    return calls


_TLS_OPTIONS = (
    ("--tls-ca", "tls_ca"),
    ("--tls-client-cert", "tls_client_cert"),
    ("--tls-client-key", "tls_client_key"),
)

# Options that only make sense against a remote server (--target), by their argparse dest.
_REMOTE_OPTIONS = {"--token-file": "token_file", **dict(_TLS_OPTIONS)}


def _check_connection_options(args: argparse.Namespace) -> None:
    if args.target is not None:
        return
    violations = [
        FieldViolation(flag, "applies only with --target (the embedded server needs none)")
        for flag, dest in _REMOTE_OPTIONS.items()
        if getattr(args, dest) is not None
    ]
    if violations:
        raise InvalidRequestError(violations)


@contextlib.contextmanager
def _connect(args: argparse.Namespace) -> Iterator[AdvisorClient]:
    with contextlib.ExitStack() as stack:
        if args.target is None:
            # The embedded server logs internal errors with their traceback; the user gets the
            # one-line status with its request id instead, so its log records are dropped.
            logging.getLogger().addHandler(logging.NullHandler())
            running = stack.enter_context(start_server(ServerConfig(host="127.0.0.1", port=0)))
            target = running.address
            token = None
            tls = None
        else:
            target = args.target
            token = None if args.token_file is None else read_token_file(args.token_file)
            tls = _tls(args)
        yield stack.enter_context(AdvisorClient(target, token=token, tls=tls))


def _tls(args: argparse.Namespace) -> TlsConfig | None:
    if all(getattr(args, dest) is None for _, dest in _TLS_OPTIONS):
        return None
    return TlsConfig(
        root_ca=args.tls_ca, client_cert=args.tls_client_cert, client_key=args.tls_client_key
    )


def _recommend(advisor: AdvisorClient, args: argparse.Namespace) -> str:
    budget = {
        option.field: getattr(args, option.field)
        for option in _BUDGET_OPTIONS
        if getattr(args, option.field) is not None
    }
    bar = progress_bar_for(sys.stderr)
    with bar or contextlib.nullcontext():
        result = advisor.recommend(
            args.task,
            budget,
            progress=None if bar is None else bar.update,
            timeout=args.timeout,
        )
    return render_search_result(result, args.format)


def _analyze(advisor: AdvisorClient, args: argparse.Namespace) -> str:
    analysis = advisor.analyze(args.task, args.arch, exact=args.exact, timeout=args.timeout)
    return render_analysis(analysis, args.format)


def _presets(advisor: AdvisorClient, args: argparse.Namespace) -> str:
    return render_presets(advisor.list_presets(timeout=args.timeout), args.format)


def _describe(error: InvalidRequestError | AdvisorRpcError | ServerStartError) -> str:
    if isinstance(error, ServerStartError):
        return describe_start_error(error)
    if isinstance(error, InvalidRequestError):
        return _violations_text(error.violations)
    if isinstance(error, InvalidArgumentError) and error.violations:
        return _violations_text(error.violations)
    return f"{error.code.name}: {error.details}"


_FIELD_OPTIONS = {
    **{f"budget.{o.field}": o.flag for o in _BUDGET_OPTIONS},
    **SERVE_OPTION_FLAGS,
    **_CONNECTION_OPTIONS,
}


def _violations_text(violations: Sequence[FieldViolation]) -> str:
    return "; ".join(f"{_as_option(v.field)}: {v.description}" for v in violations)


def _as_option(field: str) -> str:
    # ``budget.channel_choices[1]`` was typed as ``--channels``: name what the user can fix.
    head, separator, rest = field.partition("[")
    option = _FIELD_OPTIONS.get(head)
    return field if option is None else f"{option}{separator}{rest}"


def _exit_code(error: Exception) -> ExitCode:
    for error_type, code in _EXIT_CODE_BY_ERROR:
        if isinstance(error, error_type):
            return code
    return ExitCode.OTHER


def _fail(message: str, code: ExitCode) -> int:
    print(f"advisor: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
