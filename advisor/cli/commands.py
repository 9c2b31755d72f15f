"""Run a parsed ``advisor`` command: connect, call the service, print, map failures to exit codes.

A thin layer on :class:`~advisor_client.client.AdvisorClient`. With ``--target`` the calls go to
that server; otherwise an in-process server is started on 127.0.0.1, port 0, and used over real
gRPC, so the command behaves exactly as a remote call would. ``serve`` runs the server itself.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Final

from advisor_client.busy import BUSY_WAIT_HINT, BUSY_WAIT_SETTING, FINISHED_WAIT
from advisor_client.busy import LOGGER as BUSY_LOGGER
from advisor_client.client import AdvisorClient
from advisor_client.connection import RetryPolicy, TlsConfig
from advisor_client.conversions import task_model
from advisor_client.errors import (
    CERTIFICATE_REFUSED_HINT,
    CLIENT_CERTIFICATE_HINT,
    LONGER_TIMEOUT,
    MAX_MESSAGE_BYTES_SETTING,
    PLAINTEXT_HINT,
    UNANSWERED_HINT,
    AdvisorRpcError,
    DeadlineExceededError,
    InvalidArgumentError,
    ResourceExhaustedError,
    SearchNotStartedError,
    UnauthenticatedError,
    UnavailableError,
)

from advisor.cli.export import export
from advisor.cli.format import render_analysis, render_presets, render_search_result
from advisor.cli.infer import arranged_task, infer, save_searched_task
from advisor.cli.interrupt import SearchInterrupt, finisher
from advisor.cli.options import (
    BUDGET_OPTIONS,
    CONNECTION_OPTIONS,
    EMBEDDED_OPTIONS,
    NO_BOUND,
    REMOTE_OPTIONS,
    TLS_OPTIONS,
    ExitCode,
)
from advisor.cli.output import fail, fail_serving, print_output
from advisor.cli.progress import progress_bar_for
from advisor.errors import (
    FieldViolation,
    InvalidRequestError,
    LimitExceededError,
    ServerStartError,
    fitting_violations,
    refused_limits,
)
from advisor.export.document import design_argument
from advisor.model.architecture import checked_rank, with_task_outputs
from advisor.model.budget import Budget
from advisor.model.documents import STDIN, source_name
from advisor.protocol.metadata import DEFAULT_MAX_MESSAGE_BYTES, token_refusal
from advisor.service.command import (
    describe_start_error,
    limit_options,
    read_bearer_token,
    serve_from_arguments,
)
from advisor.service.config import ServerConfig
from advisor.service.limits import LOCAL_LIMITS
from advisor.service.options import SERVE_OPTION_FLAGS
from advisor.service.server import start_server
from advisor.stdout import write_stderr
from advisor.usage import violations_as_options

__all__ = ["TRACEBACK_VARIABLE", "run"]

_EXIT_CODE_BY_ERROR: tuple[tuple[type[Exception], ExitCode], ...] = (
    # First: a server's refusal of one of its limits is a LimitExceededError too.
    (InvalidArgumentError, ExitCode.INVALID_ARGUMENT),
    # The one limit the client checks itself, --max-message-bytes: a message over a size
    # limit, like the server's, which gRPC answers RESOURCE_EXHAUSTED.
    (LimitExceededError, ExitCode.RESOURCE_EXHAUSTED),
    (InvalidRequestError, ExitCode.INVALID_ARGUMENT),
    (UnauthenticatedError, ExitCode.UNAUTHENTICATED),
    (DeadlineExceededError, ExitCode.DEADLINE_EXCEEDED),
    (UnavailableError, ExitCode.UNAVAILABLE),
    # Ctrl-C while --busy-wait waited for a slot: the search was stopped, before it started.
    (SearchNotStartedError, ExitCode.INTERRUPTED),
    (ResourceExhaustedError, ExitCode.RESOURCE_EXHAUSTED),
    (ServerStartError, ExitCode.SERVER_NOT_STARTED),
)


_OFF: Final = frozenset({"", "0", "false", "no", "off"})
"""The values of :data:`TRACEBACK_VARIABLE` that leave it off, as most tools read a flag."""

TRACEBACK_VARIABLE: Final = "ADVISOR_TRACEBACK"
"""The environment variable that, set (to anything but ``0``, ``false``, ``no``, ``off`` or
nothing), has an unexpected error print its traceback first: it
was one line only, and a defect of the in-process ``export`` left no traceback anywhere."""


def run(args: argparse.Namespace) -> int:
    """Run the command ``args`` names and return its exit status (see :class:`ExitCode`)."""
    try:
        if args.command == "serve":
            return serve_from_arguments(args)
        if args.command == "export":  # no call: written here, without a server
            output, status = export(args), ExitCode.OK
        else:
            output, status = _call(args)
        written = print_output(output)
    except (InvalidRequestError, AdvisorRpcError, ServerStartError) as error:
        on_embedded = args.command not in ("serve", "export") and args.target is None
        message = _describe(error, on_embedded, _document_files(args))
        if args.command == "serve":
            return fail_serving(message, _exit_code(error))
        return fail(message, _exit_code(error))
    except Exception as error:  # the promise: one line, a traceback only when asked for
        if os.environ.get(TRACEBACK_VARIABLE, "").strip().lower() not in _OFF:
            traceback.print_exc(file=sys.stderr)
        return fail(
            f"unexpected {type(error).__name__}: {error} (a defect: {TRACEBACK_VARIABLE}=1 "
            "prints its traceback, for a report)",
            ExitCode.OTHER,
        )
    return status if written == ExitCode.OK else written


def _call(args: argparse.Namespace) -> tuple[str, ExitCode]:
    """Run a command that calls the service; return its output and exit status."""
    _check_connection_options(args)
    with _connect(args) as advisor:
        if args.command == "recommend":
            return _recommend(advisor, args)
        return _CALLS[args.command](advisor, args), ExitCode.OK


def _check_connection_options(args: argparse.Namespace) -> None:
    """Refuse an option of the other kind of server.

    A remote server's (:data:`REMOTE_OPTIONS`) without ``--target``, the embedded server's
    (:data:`EMBEDDED_OPTIONS`) with it.
    """
    if args.target is None:
        misplaced = REMOTE_OPTIONS
        why = "applies only with --target (the embedded server needs none)"
    else:
        misplaced = EMBEDDED_OPTIONS
        why = "applies only without --target (a remote server's limits are its own)"
    violations = [
        FieldViolation(flag, why)
        for flag, dest in misplaced.items()
        # Not given: None, or a repeatable option's empty list (0 is a value given).
        if getattr(args, dest) not in (None, [])
    ]
    if violations:
        raise InvalidRequestError(violations)


@contextlib.contextmanager
def _connect(args: argparse.Namespace) -> Iterator[AdvisorClient]:
    """Yield a client of ``--target`` or of an embedded server."""
    with contextlib.ExitStack() as stack:
        if args.target is None:
            # The embedded server logs internal errors with their traceback; the user gets the
            # one-line status with its request id instead, so its log records are dropped, for
            # as long as it runs: registered first, the handler goes last, after the server has
            # stopped. Left on the root logger, every command run in one process (main(argv))
            # added one more, and the caller's own logging.basicConfig() then did nothing.
            dropped = logging.NullHandler()
            logging.getLogger().addHandler(dropped)
            stack.callback(logging.getLogger().removeHandler, dropped)
            # Threads: a worker process would add its start-up to every command, for a server
            # that serves one call of one client.
            # --limit over LOCAL_LIMITS, read and checked as advisor serve's over its defaults.
            limits = {**LOCAL_LIMITS.model_dump(), **limit_options(args.limits)}
            config = ServerConfig(host="127.0.0.1", port=0, limits=limits, executor="threads")
            target = stack.enter_context(start_server(config)).address
            token = None
            tls = None
            max_message_bytes = config.limits.max_message_bytes
            retry = RetryPolicy()  # the command's own server serves it alone: never busy
        else:
            target = args.target
            token = None if args.token_file is None else read_bearer_token(args.token_file)
            tls = _tls(args)
            max_message_bytes = (
                DEFAULT_MAX_MESSAGE_BYTES
                if args.max_message_bytes is None
                else args.max_message_bytes
            )
            busy_wait = 0.0 if args.busy_wait is None else args.busy_wait
            retry = RetryPolicy(busy_wait_seconds=busy_wait)
            if busy_wait > 0 and sys.stderr is not None and sys.stderr.isatty():
                stack.enter_context(_busy_notice(target, busy_wait))
        client = AdvisorClient(
            target, token=token, tls=tls, retry=retry, max_message_bytes=max_message_bytes
        )
        yield stack.enter_context(client)


class _BusyNotice(logging.Handler):
    """Says once on a terminal that a call waits for a busy server's slot (``--busy-wait``).

    The client logs each wait (:data:`~advisor_client.busy.LOGGER`); without a word the command
    sat silent for up to its ``--busy-wait``, as if it hung. The call's first wait is said, the
    retries after it are not: the progress bar follows once a slot is had. Only on a terminal,
    as the bar: a pipe's standard error keeps a failure's one line.
    """

    def __init__(self, target: str, seconds: float) -> None:
        super().__init__(logging.INFO)
        self._said = (
            f"advisor: {target} is busy (every worker taken): "
            f"waiting up to {seconds:g} s for a slot (--busy-wait)\n"
        )

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "busy_retry", None) == 1:
            write_stderr(self._said)


@contextlib.contextmanager
def _busy_notice(target: str, seconds: float) -> Iterator[None]:
    """Say a busy server's wait (:class:`_BusyNotice`) while the block runs.

    The client's logger is left as it was after: a command run by ``main(argv)`` in another
    program leaves that program's logging alone.
    """
    notice = _BusyNotice(target, seconds)
    level = BUSY_LOGGER.level
    BUSY_LOGGER.addHandler(notice)
    if not BUSY_LOGGER.isEnabledFor(logging.INFO):
        BUSY_LOGGER.setLevel(logging.INFO)
    try:
        yield
    finally:
        BUSY_LOGGER.removeHandler(notice)
        BUSY_LOGGER.setLevel(level)


def _tls(args: argparse.Namespace) -> TlsConfig | None:
    if all(getattr(args, dest) is None for _, dest in TLS_OPTIONS):
        return None
    return TlsConfig(
        root_ca=args.tls_ca, client_cert=args.tls_client_cert, client_key=args.tls_client_key
    )


def _recommend(advisor: AdvisorClient, args: argparse.Namespace) -> tuple[str, ExitCode]:
    """Search and render; a Ctrl-C finishes the search with its best designs (:mod:`.interrupt`)."""
    if args.explain and args.format != "table":
        raise InvalidRequestError.single(
            "--explain",
            f"applies to --format table: the {args.format} document holds every design's "
            "summary and whole rationale",
        )
    given = {option.field: getattr(args, option.field) for option in BUDGET_OPTIONS}
    budget = {
        field: None if value == NO_BOUND else value
        for field, value in given.items()
        if value is not None
    }
    task, notice = arranged_task(advisor, args)
    bar = progress_bar_for(sys.stderr)
    search_id = f"advisor-command-{uuid.uuid4().hex}"
    answered = threading.Event()
    interrupt = SearchInterrupt(
        finisher(advisor, search_id, answered), lambda: None if bar is None else bar.close()
    )
    with bar or contextlib.nullcontext(), interrupt:
        try:
            result = advisor.recommend(
                task,
                budget,
                progress=None if bar is None else bar.update,
                timeout=args.timeout,
                search_id=search_id,
            )
        finally:
            answered.set()
    if notice is not None:  # held until the search returned: a failure is its one error line
        write_stderr(f"{notice}\n")
    # A Ctrl-C that came as the search ended changed nothing: its result is the full one.
    stopped = interrupt.interrupted and not result.complete
    status = ExitCode.INTERRUPTED if stopped else ExitCode.OK
    top_k = budget.get("top_k", Budget.model_fields["top_k"].default)
    rendered = render_search_result(result, args.format, args.explain, top_k)
    try:
        save_searched_task(task, args)
    except InvalidRequestError:
        # Checked before the search, the file may still fail to be written (a full disk): the
        # result is printed before the error line, not lost with the search's minutes.
        print_output(rendered)
        raise
    return rendered, status


def _analyze(advisor: AdvisorClient, args: argparse.Namespace) -> str:
    if args.task == args.arch == STDIN:
        raise InvalidRequestError.single(
            "--arch", "standard input holds one document, read as TASK: save one to a file"
        )
    # Each document is read and validated once, here, the task first as the client reads it:
    # the client sends the models as they are, and the table shows the architecture.
    task = task_model(args.task)
    # --rank is checked before the file, as the client checks it: 0 or -1 is no rank, not one
    # the file lacks.
    rank = None if args.rank is None else checked_rank(args.rank)
    architecture = with_task_outputs(design_argument(args.arch, rank).architecture, task.outputs)
    analysis = advisor.analyze(task, architecture, exact=args.exact, timeout=args.timeout)
    return render_analysis(analysis, args.format, architecture)


def _presets(advisor: AdvisorClient, args: argparse.Namespace) -> str:
    return render_presets(advisor.list_presets(timeout=args.timeout), args.format)


_CALLS: dict[str, Callable[[AdvisorClient, argparse.Namespace], str]] = {
    "analyze": _analyze,
    "presets": _presets,
    "infer": infer,
}


def _document_files(args: argparse.Namespace) -> dict[str, str]:
    """Name the files the command read its documents from, by the field each document lies at.

    TASK's only where the task is the file's alone: with ``--data`` it holds what the data adds,
    which no file holds.
    """
    files = {}
    if getattr(args, "task", None) is not None and getattr(args, "data", None) is None:
        files["task"] = source_name(args.task)
    if getattr(args, "arch", None) is not None:
        files["architecture"] = source_name(args.arch)
    return files


def _describe(
    error: InvalidRequestError | AdvisorRpcError | ServerStartError,
    embedded: bool,
    files: Mapping[str, str],
) -> str:
    """Return ``error`` as one line; an ``embedded`` server's refusals say which ``--limit``.

    A refusal in a document ``files`` names says the file it was read from, but for a request
    over a size limit, which the limit's setting admits.
    """
    if isinstance(error, ServerStartError):
        return describe_start_error(error)
    if isinstance(error, InvalidRequestError) and not isinstance(error, AdvisorRpcError):
        # Refused here (the client checks files before any call): cut as the service cuts what
        # it refuses, so an echoed megabyte-long name or key reads as it would from a server.
        violations = fitting_violations(error.violations)
        if isinstance(error, LimitExceededError):
            # The client's refusal of a request over its size limit names its setting, to raise:
            # the embedded server's limit, which the client holds, or --max-message-bytes.
            named = _embedded_request_refusal if embedded else _client_setting_as_option
            violations = [named(v) for v in violations]
            files = {}  # the request's size, which the limit admits: no file to fix
        return violations_as_options(violations, _FIELD_OPTIONS, files)
    # An embedded server's limits are this command's to raise; a remote server's its operator's.
    limits = error.limits if embedded else {}
    if isinstance(error, InvalidArgumentError) and error.violations:
        violations = [
            FieldViolation(v.field, _raise_hints(v.description, limits)) for v in error.violations
        ]
        return violations_as_options(violations, _FIELD_OPTIONS, files)
    line = f"{error.code.name}: {_raise_hints(_details(error, embedded), limits)}"
    # A remote server's failure: its id finds the call in that server's log, for its operator
    # (a call its --timeout ended too, logged under the id the client sent). An embedded
    # server's log is dropped, an INTERNAL's details name the id already, and an UNAVAILABLE
    # the server did not answer with its id never reached a server (a connection refused, a
    # TLS handshake failed); a draining server's refusal did.
    unlogged = error.code.name == "UNAVAILABLE" and not error.request_id_from_server
    if embedded or unlogged or error.request_id is None or error.request_id in line:
        return line
    return f"{line} (request id {error.request_id})"


def _details(error: AdvisorRpcError, embedded: bool) -> str:
    """Return what ``error`` says, in the command's terms.

    A refused token is said as the client says it (:func:`token_refusal`), naming
    ``--token-file``; a server that sends no reason keeps its words. The client's hints name its
    settings, the command its options: so does its refusal of an answer over its
    ``max_message_bytes``, which names ``--max-message-bytes`` here. The ``embedded`` server
    is this process's own: a timeout is not blamed on reaching it (:data:`UNANSWERED_HINT`).
    """
    refused = token_refusal(error.reason, "--token-file")
    if refused is not None:
        return refused
    details = _UNANSWERED.sub(":", error.details) if embedded else error.details
    details = (
        details.replace(PLAINTEXT_HINT, _PLAINTEXT_HINT)
        .replace(CLIENT_CERTIFICATE_HINT, _CLIENT_CERTIFICATE_HINT)
        .replace(CERTIFICATE_REFUSED_HINT, _CERTIFICATE_REFUSED_HINT)
        .replace(LONGER_TIMEOUT, _LONGER_TIMEOUT)
        .replace(BUSY_WAIT_SETTING, CONNECTION_OPTIONS["retry.busy_wait_seconds"])
        .replace(BUSY_WAIT_HINT, _BUSY_WAIT_HINT)
        .replace(FINISHED_WAIT, _FINISHED_WAIT)
    )
    if MAX_MESSAGE_BYTES_SETTING not in details:
        return details
    option = CONNECTION_OPTIONS["max_message_bytes"]
    return _CLIENT_SETTING.sub(option, details.replace(MAX_MESSAGE_BYTES_SETTING, option))


def _raise_hints(refusal: str, limits: Mapping[str, str]) -> str:
    """Say in ``refusal`` how ``--limit`` raises each of the ``limits`` it quotes.

    ``limits``: the settings an embedded server refused, each with the value that admits the
    request (the errors' ``limits``, the service's ``LIMIT_EXCEEDED`` detail). ``top_k 60
    exceeds the server's limit of 50 (max_top_k)`` gets ``(max_top_k; raise it with --limit
    max_top_k=60)``. A value no setting may hold (a time limit past a week, an exact rank larger
    than the exact engine computes) carries no limit: its refusal says the most a server may
    set (:func:`advisor.service.limit_violations.with_limit`).
    """
    option = SERVE_OPTION_FLAGS["limits"]
    for setting, value in limits.items():
        hint = f"({setting}; raise it with {option} {setting}={value})"
        refusal = refusal.replace(f"({setting})", hint)
    return refusal


def _embedded_request_refusal(violation: FieldViolation) -> FieldViolation:
    """Word the client's refusal of a request over the embedded server's ``max_message_bytes``.

    The client holds the server's limit (:func:`_connect`), which ``--limit`` raises; its own
    wording names ``max_message_bytes`` as the client's, to raise with ``--max-message-bytes``,
    which applies only with ``--target``. Worded from the limit it carries
    (:attr:`~advisor.errors.FieldViolation.limit`) as the server words its own.
    """
    refused = violation.limit
    if refused is None:
        return violation
    refusal = (
        f"makes the request {refused.needed:,} bytes, over the server's limit of "
        f"{refused.limit:,} ({refused.setting})"
    )
    return FieldViolation(violation.field, _raise_hints(refusal, refused_limits([violation])))


def _client_setting_as_option(violation: FieldViolation) -> FieldViolation:
    """Name the client's ``max_message_bytes`` in ``violation`` as the command's option."""
    option = CONNECTION_OPTIONS["max_message_bytes"]
    return FieldViolation(violation.field, _CLIENT_SETTING.sub(option, violation.description))


_CLIENT_SETTING = re.compile(r"\bmax_message_bytes\b")
"""The client setting its refusal of an oversized request names: ``--max-message-bytes`` here."""

_UNANSWERED = re.compile(re.escape(UNANSWERED_HINT).replace(re.escape("{target}"), r"\S+"))
"""The client's :data:`UNANSWERED_HINT`, whatever the target."""


_PLAINTEXT_HINT = " (if the server uses TLS, pass --tls-ca with the CA certificate that signed it)"
"""The client's :data:`PLAINTEXT_HINT` in the command's terms."""

_CLIENT_CERTIFICATE_HINT = (
    " (if the server asks for a client certificate, pass --tls-client-cert and --tls-client-key)"
)
"""The client's :data:`CLIENT_CERTIFICATE_HINT` in the command's terms."""

_CERTIFICATE_REFUSED_HINT = (
    " (if the server checks client certificates, it may have refused this one: --tls-client-cert "
    "must be signed by a CA the server trusts, its --tls-client-ca)"
)
"""The client's :data:`CERTIFICATE_REFUSED_HINT` in the command's terms."""

_LONGER_TIMEOUT = "pass a longer --timeout"
"""The client's :data:`LONGER_TIMEOUT` in the command's terms."""

_BUSY_WAIT_HINT = "or let the command wait for one: --busy-wait S"
"""The client's :data:`BUSY_WAIT_HINT` in the command's terms."""

_FINISHED_WAIT = "Ctrl-C ended the wait for a slot"
"""The client's :data:`FINISHED_WAIT` in the command's terms: its Ctrl-C finishes the search."""

_FIELD_OPTIONS = {
    **{f"budget.{o.field}": o.flag for o in BUDGET_OPTIONS},
    **SERVE_OPTION_FLAGS,
    **CONNECTION_OPTIONS,
    "config": "--config",
    "rank": "--rank",
    "seed": "--seed",
}


def _exit_code(error: Exception) -> ExitCode:
    for error_type, code in _EXIT_CODE_BY_ERROR:
        if isinstance(error, error_type):
            return code
    return ExitCode.OTHER
