"""What the ``advisor`` command accepts and answers: its options, output formats and exit statuses.

Declared apart from the code that runs the commands, with nothing but the standard library, so
that the parser (:mod:`advisor.cli.main`) is built and ``advisor --help`` answers without loading
gRPC, the server or the model.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Final, Literal, get_args

from advisor import usage
from advisor.model.integer_text import CountTooLongError, read_count, read_seed
from advisor.service.options import (
    BAD_OPTION_EXIT_STATUS,
    START_FAILED_EXIT_STATUS,
    given_path,
)
from advisor.stdout import BROKEN_PIPE_EXIT_STATUS, OUTPUT_INTERRUPTED_EXIT_STATUS

__all__ = [
    "BUDGET_OPTIONS",
    "COMPLETION_EXIT_STATUS_HELP",
    "CONNECTION_OPTIONS",
    "EMBEDDED_OPTIONS",
    "EXIT_STATUS_HELP",
    "EXPORT_EXIT_STATUS_HELP",
    "NO_BOUND",
    "OUTPUT_FORMATS",
    "POOLING_KINDS",
    "TASK_FORMATS",
    "REMOTE_OPTIONS",
    "TLS_OPTIONS",
    "VALUE_KINDS",
    "ExitCode",
    "InferenceInterrupted",
    "Option",
    "OutputFormat",
    "TaskFormat",
    "count",
    "output_path",
    "read_path",
    "saved_path",
    "seed",
]


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
    INTERRUPTED = OUTPUT_INTERRUPTED_EXIT_STATUS  # 128 + SIGINT, a command Ctrl-C ended
    BROKEN_PIPE = BROKEN_PIPE_EXIT_STATUS  # 128 + SIGPIPE, a writer whose reader went away
    TERMINATED = 143  # 128 + SIGTERM, the shells' status of a command SIGTERM ended


class InferenceInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``recommend --data``'s inference: it exits :attr:`ExitCode.INTERRUPTED`.

    As ``advisor infer`` does, where a Ctrl-C is any other failure's 1 elsewhere in ``recommend``
    (a second Ctrl-C aborting its search among them). A ``KeyboardInterrupt``, so every handler
    of one takes it as one.
    """


_OUTPUT_CUT_SHORT: Final = (
    "Ctrl-C while the output was being written: what was printed is incomplete"
)
"""Exit status 130 of a command that writes its output: a Ctrl-C came during the write."""

_EXIT_STATUS_MEANINGS: dict[int, str] = {
    ExitCode.OK: "success",
    ExitCode.OTHER: "any other failure",
    ExitCode.INVALID_ARGUMENT: "invalid input (bad file, option or request: INVALID_ARGUMENT) or "
    "usage error",
    ExitCode.UNAUTHENTICATED: "UNAUTHENTICATED: missing or wrong token (--token-file)",
    ExitCode.DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED: the call's deadline passed (--timeout)",
    ExitCode.UNAVAILABLE: "UNAVAILABLE: the server cannot be reached or is shutting down",
    ExitCode.RESOURCE_EXHAUSTED: "RESOURCE_EXHAUSTED: the server is saturated (try again later, "
    "or wait for a slot with --busy-wait S), "
    "or a message is over a size limit (the server's or --max-message-bytes), or the call took "
    "a worker over the server's --worker-max-memory",
    ExitCode.SERVER_NOT_STARTED: "the server could not start: address in use or not bindable, "
    "unusable TLS file, a --katib-data-dir it cannot write in",
    ExitCode.INTERRUPTED: "Ctrl-C stopped recommend's search (the embedded server's or a "
    "--target's): the best designs found so far were printed; a second Ctrl-C aborts (1); "
    "Ctrl-C stopped infer or recommend --data's inference (no task written), or a --busy-wait "
    "for a busy --target's slot (no search ran); or " + _OUTPUT_CUT_SHORT,
    ExitCode.BROKEN_PIPE: "the reader of standard output went away before the output ended "
    "(| head -1 while output remains to be written): nothing more is printed",
    ExitCode.TERMINATED: "SIGTERM ended the command (a cancelled job, a stopped container): "
    "nothing is printed but the error line",
}

EXIT_STATUS_HELP = usage.exit_status_help(_EXIT_STATUS_MEANINGS)
"""The exit statuses as the help text of every command but ``serve`` and ``export`` lists them
(:data:`~advisor.service.options.SERVE_EXIT_STATUS_HELP`, :data:`EXPORT_EXIT_STATUS_HELP`)."""

_EXPORT_EXIT_STATUSES: Final = (
    ExitCode.OK,
    ExitCode.OTHER,
    ExitCode.INVALID_ARGUMENT,
    ExitCode.INTERRUPTED,
    ExitCode.BROKEN_PIPE,
    ExitCode.TERMINATED,
)
"""The statuses ``export`` ends with: it makes no call, so no gRPC status and no server's."""

_EXPORT_EXIT_STATUS_MEANINGS: dict[int, str] = {
    **{status: _EXIT_STATUS_MEANINGS[status] for status in _EXPORT_EXIT_STATUSES},
    ExitCode.INVALID_ARGUMENT: "invalid input (bad ARCH file or option) or usage error",
    ExitCode.INTERRUPTED: _OUTPUT_CUT_SHORT,
}

EXPORT_EXIT_STATUS_HELP = usage.exit_status_help(_EXPORT_EXIT_STATUS_MEANINGS)
"""The exit statuses as ``export``'s help lists them: the others' help listed 3 to 7, the
statuses of a call, and options export does not have (``--token-file``, ``--timeout``)."""

COMPLETION_EXIT_STATUS_HELP = usage.exit_status_help(
    {
        ExitCode.OK: "success",
        ExitCode.OTHER: "standard output could not be written",
        ExitCode.INVALID_ARGUMENT: "usage error (a shell other than bash or zsh)",
        ExitCode.INTERRUPTED: _OUTPUT_CUT_SHORT,
        ExitCode.BROKEN_PIPE: _EXIT_STATUS_MEANINGS[ExitCode.BROKEN_PIPE],
    }
)
"""The exit statuses as ``completion``'s help lists them: it only writes a script."""

OutputFormat = Literal["table", "json", "yaml"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = get_args(OutputFormat)
POOLING_KINDS: Final = ("max", "avg")
"""``advisor export --pooling``'s choices: ``advisor.export.document.PoolingKind``'s, written
here as that module loads pydantic (a test holds them equal)."""
TaskFormat = Literal["yaml", "json"]
TASK_FORMATS: tuple[TaskFormat, ...] = get_args(TaskFormat)
"""The formats ``advisor infer`` writes its task in (a task file is YAML or JSON)."""


@dataclass(frozen=True)
class Option:
    """A command-line option that sets one request field, so errors can name the option."""

    flag: str
    field: str
    settings: dict[str, Any]


def count(text: str) -> int:
    """Read a whole number as every budget count is written (:func:`read_count`) for argparse.

    A malformed one is refused as argparse refuses any value its type rejects (exit status 2,
    naming the option); one too long to be any budget is said so.
    """
    return _whole(read_count, text)


def seed(text: str) -> int:
    """Read a seed as :func:`count` reads a count (:func:`read_seed`): one too long is told so."""
    return _whole(read_seed, text)


def _whole(reader: Callable[[str], int], text: str) -> int:
    """Read ``text`` with ``reader`` for argparse, a number too long said as ``reader`` says it."""
    try:
        return reader(text)
    except CountTooLongError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def number(text: str) -> int | float:
    """Read a number as it is written for argparse: a whole one as an int, any other a float.

    ``--time-limit 0`` read as 0.0 was refused as ``is 0.0`` with why a ``1e-999`` reads as 0,
    a value and a cause the command line does not hold, where the library's refusal of the
    same 0 says ``is 0``; the budget stores either as a float.
    """
    try:
        return int(text)
    except ValueError:
        return float(text)


def output_path(text: str) -> Path | None:
    """Read a file to write: its path, or ``-``, the usual name of standard output (None).

    ``--output -`` wrote a file named ``-``.
    """
    return None if text == "-" else given_path(text)


def saved_path(text: str) -> Path:
    """Read a file to write beside the result, which standard output holds: never ``-``.

    ``--save-task -`` wrote a file named ``-``, where a script meant standard output.
    """
    if text == "-":
        raise argparse.ArgumentTypeError(
            "'-' names standard output, which holds the result: name a file"
        )
    return given_path(text)


def read_path(text: str) -> Path:
    """Read a file the command reads by its name, never ``-``: a data sample, labels, a token.

    ``advisor infer - < x.npy`` said ``DATA: -: No such file or directory``: ``-`` is the usual
    name of standard input, and a sample is read in passes a pipe cannot give (a pipe given by
    its name is refused too: ``is a pipe, not a file``).
    """
    if text == "-":
        raise argparse.ArgumentTypeError(
            "'-' names standard input, which is not read here: pass a file's name (save what a "
            "pipe holds to a file first)"
        )
    return given_path(text)


NO_BOUND: Final = "none"
"""What an option that bounds something takes to lift its default bound (the field's null)."""


def bound(text: str) -> int | str:
    """Read a bound: a whole number as :func:`count` reads it, or ``none`` for no bound."""
    return NO_BOUND if text.strip().lower() == NO_BOUND else count(text)


_WHOLE_NUMBER: Final = (
    "a whole number: 200000, 200_000, 2e5, 200k or 25M; the prefixes are k or K, M, G and T"
)

VALUE_KINDS = {
    **usage.VALUE_KINDS,
    count.__name__: _WHOLE_NUMBER,
    seed.__name__: _WHOLE_NUMBER,
    bound.__name__: f"a whole number, or {NO_BOUND} for no bound",
    number.__name__: "a number",
}
"""What an option of each value type takes, by the type's name, as a usage error states it."""

BUDGET_OPTIONS = (
    Option(
        "--budget",
        "max_parameters",
        {
            "type": count,
            "required": True,
            "metavar": "N",
            "help": "maximum parameter count (200000, 200_000, 2e5, 200k or 25M)",
        },
    ),
    Option(
        "--top",
        "top_k",
        {"type": count, "metavar": "K", "help": "recommendations to return (default 5)"},
    ),
    Option(
        "--time-limit",
        "time_limit_seconds",
        {"type": number, "metavar": "S", "help": "search time limit in seconds (default 10)"},
    ),
    Option(
        "--seed",
        "seed",
        {
            "type": seed,
            "metavar": "S",
            "help": "search seed: draws the dilation orders of a 1-D input of 128 steps or more, "
            "or padded to 128 or more (65 steps, say; a sequence written with axes of one "
            "location too), and the order a time-limited search visits "
            "trees in (default 0)",
        },
    ),
    Option(
        "--page-token",
        "page_token",
        {
            "metavar": "T",
            "help": "the next page of a ranking: a result's next_page_token "
            "(default: the first page)",
        },
    ),
    Option(
        "--objective",
        "objective",
        {
            "choices": ["weighted", "maximin"],
            "help": "how per-correlation ranks combine (default weighted)",
        },
    ),
    Option(
        "--min-depth",
        "min_depth",
        {"type": count, "metavar": "L", "help": "fewest layers (default 1)"},
    ),
    Option(
        "--max-depth",
        "max_depth",
        {
            "type": count,
            "metavar": "L",
            "help": "most layers (default: as deep as the grid allows)",
        },
    ),
    Option(
        "--channels",
        "channel_choices",
        {
            "type": count,
            "nargs": "+",
            "metavar": "C",
            "help": (
                "allowed channel widths (default: the powers of two from 4 to --max-channels and "
                "--max-channels itself; practical ladders also take the quarter steps between "
                "them: 5, 6, 7, 10, 12, ...)"
            ),
        },
    ),
    Option(
        "--max-channels",
        "max_channels",
        {
            "type": count,
            "metavar": "C",
            "help": "widest layer when --channels is not given (default 512)",
        },
    ),
    Option(
        "--geometries",
        "geometries",
        {
            "nargs": "+",
            "metavar": "FAMILY",
            "help": "families: contiguous mirror interleaved dilations synthesized mixture "
            "data_arranged (default: all but synthesized and mixture, where they apply; mixture "
            "sums two of the best trees at their shared levels; data_arranged needs a task "
            "arrangement)",
        },
    ),
    Option(
        "--search-dilations",
        "search_dilations",
        {
            "action": usage.ToggleOnce,
            "help": "search dilation orders, all of them up to 64 steps (default: on)",
        },
    ),
    Option(
        "--rank-target",
        "log2_rank_target",
        {
            "type": number,
            "metavar": "BITS",
            "help": "log2 rank beyond which nothing is gained "
            "(default: the best any net the search scores reaches at this budget)",
        },
    ),
    Option(
        "--outputs",
        "outputs",
        {"type": count, "metavar": "Y", "help": "network outputs (default: the task's, else 1)"},
    ),
    Option(
        "--representation-kernel",
        "representation_kernel",
        {
            "type": count,
            "metavar": "K",
            "help": "kernel size of the representation layer (default 1)",
        },
    ),
    Option(
        "--width-profile",
        "width_profile",
        {
            "choices": ["practical", "free"],
            "help": "practical width ladders or free widths, the rank optimum alone "
            "(default practical)",
        },
    ),
    Option(
        "--min-width",
        "min_width",
        {"type": count, "metavar": "C", "help": "narrowest hidden width (default max(outputs, 8))"},
    ),
    Option(
        "--min-representation",
        "min_representation",
        {"type": count, "metavar": "M", "help": "smallest representation width (default 4)"},
    ),
    Option(
        "--max-representation",
        "max_representation",
        {"type": count, "metavar": "M", "help": "largest representation width (default 64)"},
    ),
    Option(
        "--max-window",
        "max_window",
        {
            "type": bound,
            "metavar": "N",
            "help": "largest pooling window in locations (default 16; none: no bound)",
        },
    ),
    Option(
        "--max-step",
        "max_step",
        {
            "type": bound,
            "metavar": "S",
            "help": "widest pooling step per axis below the top (default: no bound)",
        },
    ),
    Option(
        "--max-macs",
        "max_multiply_adds",
        {
            "type": count,
            "metavar": "N",
            "help": "most multiply-adds per input (default 4x the standard CNN's)",
        },
    ),
    Option(
        "--max-activations",
        "max_activations",
        {
            "type": count,
            "metavar": "N",
            "help": "most activations per input, the values its forward pass holds "
            "(default: no bound)",
        },
    ),
)
"""The ``recommend`` options, one per budget field."""

CONNECTION_OPTIONS = {
    "target": "--target",
    "token_file": "--token-file",
    "token": "--token-file",
    "tls.root_ca": "--tls-ca",
    "tls.client_cert": "--tls-client-cert",
    "tls.client_key": "--tls-client-key",
    "timeout": "--timeout",
    "max_message_bytes": "--max-message-bytes",
    "retry.busy_wait_seconds": "--busy-wait",
    "exact": "--exact",
}
"""Fields that name the connection settings of the client, reported under their option."""

TLS_OPTIONS = (
    ("--tls-ca", "tls_ca"),
    ("--tls-client-cert", "tls_client_cert"),
    ("--tls-client-key", "tls_client_key"),
)
"""The TLS options and their argparse dest."""

REMOTE_OPTIONS = {
    "--token-file": "token_file",
    "--max-message-bytes": "max_message_bytes",
    "--busy-wait": "busy_wait",
    **dict(TLS_OPTIONS),
}
"""Options that only make sense against a remote server (``--target``), by their argparse dest."""

EMBEDDED_OPTIONS = {"--limit": "limits"}
"""Options that only make sense for the embedded server (no ``--target``), by their argparse dest:
a remote server's limits are its own."""
