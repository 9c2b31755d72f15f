r"""Writing the command's output: documents as JSON or YAML, and what standard output can encode.

Names in a task may be in any script. A document keeps them as written (``日本語``, not
``\u65e5...``) where its reader can take them: a file (always UTF-8) or a standard output whose
encoding writes every character. On any other standard output (``PYTHONIOENCODING=ascii``, an
old code page) JSON and YAML escape them as their own syntax defines, so the document still reads
back to the same names; a table, which people read, shows Python's backslash escapes.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import sys
from collections.abc import Mapping
from typing import Any, BinaryIO, Final, Literal

from advisor.cli.json_output import readable_json
from advisor.cli.options import ExitCode

__all__ = [
    "OutputError",
    "OutputInterruptedError",
    "as_shown",
    "document_text",
    "fail",
    "print_output",
    "stdout_document",
    "write_stdout",
]

_UNICODE_CODECS: Final = frozenset({"utf-8", "utf-8-sig", "utf-16", "utf-32", "gb18030"})
"""Codecs (by :func:`codecs.lookup`'s name) that encode every character."""


def unicode_stdout() -> bool:
    """Return whether standard output's encoding writes every character."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        return codecs.lookup(encoding).name in _UNICODE_CODECS
    except LookupError:
        return False


def as_shown(text: str) -> str:
    r"""Return ``text`` as standard output shows it: a character it cannot encode as its escape.

    A table lays its columns out by the text it prints: measured before :func:`write_stdout`
    escaped a name (``\u65e5``, six columns for one character), every column after the name
    was pushed out of line.
    """
    if unicode_stdout():
        return text
    encoding = sys.stdout.encoding  # a stream that is not Unicode names its codec
    return text.encode(encoding, "backslashreplace").decode(encoding)


def document_text(
    document: Mapping[str, Any], form: Literal["json", "yaml"], *, ascii_only: bool = False
) -> str:
    """Return ``document`` as ``form``; ``ascii_only`` escapes every other character."""
    if form == "json":
        return readable_json(document, ascii_only=ascii_only)
    # PyYAML costs about 10 ms of import: loaded only for YAML.
    from advisor.export.yaml_output import readable_yaml

    return readable_yaml(document, ascii_only=ascii_only)


def stdout_document(document: Mapping[str, Any], form: Literal["json", "yaml"]) -> str:
    """Return ``document`` as ``form`` for standard output: escaped where it cannot take text."""
    return document_text(document, form, ascii_only=not unicode_stdout())


class OutputError(Exception):
    """Standard output cannot take the command's output: a full disk, a closed stream.

    Its message says why, for the command's one error line; a reader that went away
    (:class:`BrokenPipeError`) is not one, as there is no one left to tell.
    """


class OutputInterruptedError(Exception):
    """A Ctrl-C came while standard output was being written: its reader holds a part of it.

    Ended as any Ctrl-C, ``interrupted`` and status 1, a document cut short looked like one
    whose command had failed before printing; the command says instead that what it printed is
    incomplete, with the status of a command Ctrl-C ended (130).
    """


def write_stdout(text: str) -> None:
    """Write ``text`` to standard output, a character its encoding lacks as a backslash escape.

    Raises
    ------
    OutputError
        When standard output is closed (``advisor presets >&-``) or the write fails (``>
        /dev/full``), which was an ``unexpected AttributeError`` or ``OSError``.
    BrokenPipeError
        When the reader closed the pipe (``| head -1``).
    OutputInterruptedError
        When a Ctrl-C (SIGINT) comes before the text is written, as a slow reader (``| less``)
        keeps the write waiting.
    """
    stream = sys.stdout
    if stream is None:  # the process started with its standard output closed
        raise OutputError("standard output is closed")
    if not unicode_stdout() and isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")
    try:
        if isinstance(stream, io.TextIOWrapper):
            stream.flush()  # what the text layer holds comes first
            text = text.replace("\n", os.linesep)  # its line ends, as the text layer writes them
            _write_all(stream.buffer, text.encode(stream.encoding, stream.errors or "strict"))
        else:
            stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(error.strerror or str(error)) from None
    except KeyboardInterrupt:
        raise OutputInterruptedError from None


def _write_all(buffer: BinaryIO, data: bytes) -> None:
    """Write every byte of ``data`` to ``buffer``, or raise the error that stops it.

    A write larger than the buffer goes to the file in one system call, and one a signal cut
    short returns the bytes it wrote, as the closing of a pipe's reader does (``| head -1``):
    the text layer drops that count, so the rest of the document was lost without an error and
    the command ended 0. Writing the rest again raises :class:`BrokenPipeError` there.
    """
    rest = memoryview(data)
    while rest:
        rest = rest[buffer.write(rest) :]


def print_output(text: str) -> ExitCode:
    """Write ``text`` to standard output; return :attr:`ExitCode.OK`, or why it could not be.

    How every output of the command ends, its results' and ``--version``'s and ``--help``'s
    alike: a write that fails is one error line and status 1, a Ctrl-C during it 130 saying
    what was printed is incomplete, a reader that went away 141 and nothing said.
    """
    try:
        write_stdout(text)
    except OutputError as error:
        return fail(f"cannot write to standard output: {error}", ExitCode.OTHER)
    except OutputInterruptedError:
        return fail(
            "interrupted while writing standard output: what it printed is incomplete",
            ExitCode.INTERRUPTED,
        )
    except BrokenPipeError:
        # The reader went away (``advisor presets | head -1``); nothing left to say to it.
        # Standard output goes nowhere from now on, so Python's final flush has nothing to fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    return ExitCode.OK


def fail(message: str, code: ExitCode) -> ExitCode:
    """Say ``message`` as the command's one error line on standard error; return ``code``.

    A standard error that takes no line (``2>/dev/full``) leaves the status to tell the
    failure: the write's own error ended the command with a traceback no one saw and status 1,
    whatever the failure was.
    """
    with contextlib.suppress(OSError):
        print(f"advisor: error: {message}", file=sys.stderr, flush=True)
    return code
