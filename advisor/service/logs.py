"""How the serving command and its worker processes write their log: text, or JSON for a pipeline.

Both write to standard error, one line per record. ``ADVISOR_LOG_FORMAT`` chooses the form, and
the worker processes inherit it with the rest of the environment, so every line of a server is
in the same form:

- ``text`` (the default; unset or empty reads as it):
  ``2026-12-04T16:40:02.118+00:00 INFO advisor.access: /advisor.v1.ArchitectureAdvisor/Recommend
  OK 0.412 s peer=ipv4:10.0.0.7:53124 request-id=0b9e`` (:class:`TextFormatter`: the machine's
  local time with its offset from UTC), a worker's with ``[worker PID]`` after
  its logger, and one logged while a call is served with ``[request ID]`` after that (the
  call's id, :mod:`advisor.service.request_ids`) unless it names the call itself;
- ``json``: one JSON object a line, for a log pipeline that would otherwise parse the text:
  ``time`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``, ``message`` (the text line's
  message), ``pid``, ``worker_pid`` on a worker's lines, ``exception`` (the traceback) where the
  text form prints one under the line, and a record's :data:`FIELDS` (an access line's
  ``method``, ``status``, ``seconds``, ``peer``, ``request_id``, ``search_id``, ``fields``;
  any line about a call its ``request_id``).

``ADVISOR_LOG_LEVEL`` (``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``; ``INFO`` unset or empty)
sets the least level logged, every logger's: ``DEBUG`` shows the access lines of health checks
and reflection.

The serving commands refuse any other value of either (:func:`advisor.usage.variable_problem`),
as an option's invalid value; a worker reads one as the default, ``text`` or ``INFO``.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
from typing import Final

from advisor.service.call_id import CALL_REQUEST_ID
from advisor.stdout import say_error, write_stderr

__all__ = [
    "COMMAND_LOGGER",
    "FIELDS",
    "LOG_FORMATS",
    "LOG_FORMAT_VARIABLE",
    "LOG_LEVELS",
    "LOG_LEVEL_VARIABLE",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "logs_json",
    "report_failure",
    "report_warning",
    "shown",
]

COMMAND_LOGGER: Final = "advisor.service.command"
"""The logger of the serve command's failures (docs/SERVICE.md quotes its records). Named here,
beside :func:`report_failure`, so the commands' parsers report without loading the service."""

LOG_FORMAT_VARIABLE: Final = "ADVISOR_LOG_FORMAT"
"""The environment variable that chooses the log's form: ``text`` or ``json``."""

FIELDS: Final = "fields"
"""The ``extra`` key of a record's structured fields (a mapping), which JSON lines carry whole."""

LOG_FORMATS: Final = ("text", "json")
"""The values :data:`LOG_FORMAT_VARIABLE` takes, in any case."""

LOG_LEVEL_VARIABLE: Final = "ADVISOR_LOG_LEVEL"
"""The environment variable that sets the least level logged."""

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
"""The values :data:`LOG_LEVEL_VARIABLE` takes, in any case: :mod:`logging`'s level names."""

_CHOICES: Final = {LOG_FORMAT_VARIABLE: LOG_FORMATS, LOG_LEVEL_VARIABLE: LOG_LEVELS}
"""Each variable that shapes the log, with the values it takes, and its default: one rule."""
_DEFAULTS: Final = {LOG_FORMAT_VARIABLE: "text", LOG_LEVEL_VARIABLE: "INFO"}
_TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s{worker}%(call)s: %(message)s"


def shown(text: str) -> str:
    r"""Return a caller's ``text`` as a text line may quote it: visible ASCII, nothing else.

    A client chooses some words that reach a line before anything checks them (a call's method
    path, which an unauthenticated caller sends too; a refused field path, which names a key of
    a document as written): a newline in one forged a line of its
    own, a space a ``request-id=`` of its own, an escape sequence recoloured the terminal. Each
    character outside ``!`` to ``~``, and the backslash, is written as Python's escape
    (``\x0a``, ``\x20``, ``\u2028``), so ``text`` reads back from the line unambiguously.
    Stricter than a terminal message's :func:`advisor.stdout.printable`: on a log line a space
    separates fields, and a look-alike letter (a Cyrillic ``\u0435`` for an ``e``) passes for
    the name it imitates.
    """
    return _UNSHOWN.sub(_escaped, text)


_UNSHOWN: Final = re.compile(r"[^\x21-\x5b\x5d-\x7e]")
"""A character :func:`shown` escapes: any but the visible ASCII ones, and the backslash."""


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class _CallIds(logging.Filter):
    """Name the call a record was logged about: the request id of the call being served.

    A record whose :data:`FIELDS` have a ``request_id`` names its call in its message already
    (an access line); any other logged while a call is served gets the call's id as its
    ``request_id`` field, and ``[request ID]`` after its logger on a text line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp ``record`` with its call's request id, if any; keep every record."""
        fields = getattr(record, FIELDS, {})
        request_id = CALL_REQUEST_ID.get()
        record.call = ""
        if request_id is not None and "request_id" not in fields:
            setattr(record, FIELDS, {**fields, "request_id": request_id})
            record.call = f" [request {request_id}]"
        return True


class TextFormatter(logging.Formatter):
    """Format a record as a text line whose time is ISO 8601 with its offset from UTC.

    ``2026-12-04T16:40:02.118+01:00``: the machine's local time, as an operator reads it, and
    the offset that places it (:mod:`logging`'s own ``2026-12-04 16:40:02,118`` did not say
    which zone, so the lines of two servers, or a server's and its clients', could not be put
    in one order).
    """

    def formatTime(  # noqa: N802 - logging.Formatter's name
        self, record: logging.LogRecord, datefmt: str | None = None
    ) -> str:
        """Return the record's time as ISO 8601, local, in milliseconds, with its offset."""
        created = datetime.datetime.fromtimestamp(record.created).astimezone()
        return created.isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line (see the module docstring)."""

    def __init__(self, worker_pid: int | None = None) -> None:
        super().__init__()
        self._worker_pid = worker_pid

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as a JSON object; a traceback is a string inside it, not lines."""
        created = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        entry: dict[str, object] = {
            "time": created.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if self._worker_pid is not None:
            entry["worker_pid"] = self._worker_pid
        entry.update(getattr(record, FIELDS, {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(worker_pid: int | None = None) -> None:
    """Log to standard error at the level and in the form the variables choose (see the module).

    ``worker_pid`` marks the lines of a worker process. As :func:`logging.basicConfig`, it does
    nothing when the root logger has a handler already.
    """
    handler = logging.StreamHandler()
    if logs_json():
        handler.setFormatter(JsonFormatter(worker_pid))
    else:
        worker = "" if worker_pid is None else f" [worker {worker_pid}]"
        handler.setFormatter(TextFormatter(_TEXT_FORMAT.format(worker=worker)))
    handler.addFilter(_CallIds())
    level = _chosen(LOG_LEVEL_VARIABLE)
    logging.basicConfig(level=level, handlers=[handler])
    if level == "DEBUG":
        # gRPC's own Python loggers wrote a line or more per call at DEBUG ("Loaded running
        # loop", 139 of them for 131 calls) among the advisor's: they stay at INFO.
        logging.getLogger("grpc").setLevel(logging.INFO)


def logs_json() -> bool:
    """Whether :data:`LOG_FORMAT_VARIABLE` chooses JSON lines."""
    return _chosen(LOG_FORMAT_VARIABLE) == "json"


def _chosen(variable: str) -> str:
    """Return the value of the log's ``variable`` as its choices spell it.

    Unset, empty or no choice of its (a worker's; the commands refuse one before): the default.
    """
    value = os.environ.get(variable, "").casefold()
    chosen = (choice for choice in _CHOICES[variable] if choice.casefold() == value)
    return next(chosen, _DEFAULTS[variable])


def report_failure(prog: str, message: str, status: int) -> int:
    """Say why the serve command ``prog`` ends with exit status ``status``; return that status.

    As ``PROG: error: MESSAGE`` on standard error (:func:`~advisor.stdout.say_error`), or, where
    the log is JSON, as one JSON record of level ERROR in its place, its ``message`` the
    message and its ``exit_status`` the status: a pipeline that reads the log takes every line
    as an object, and a server that cannot start (a port in use, a bad setting; a Kubernetes
    pod in CrashLoopBackOff) says why only in this line.
    """
    if not logs_json():
        say_error(prog, message)
        return status
    configure_logging()  # nothing if the serve command has configured it already
    logging.getLogger(COMMAND_LOGGER).error("%s", message, extra={FIELDS: {"exit_status": status}})
    return status


def report_warning(prog: str, message: str) -> None:
    """Say a warning of the serve command ``prog`` before it serves, in the log's form.

    As ``PROG: warning: MESSAGE`` on standard error, or, where the log is JSON, as one JSON
    record of level WARNING: a pipeline that reads the log takes every line as an object, and
    a ``GRPC_VERBOSITY`` gRPC does not read was the one text line of a JSON log.
    """
    if not logs_json():
        write_stderr(f"{prog}: warning: {message}\n")
        return
    configure_logging()  # nothing if the serve command has configured it already
    logging.getLogger(COMMAND_LOGGER).warning("%s", message)
