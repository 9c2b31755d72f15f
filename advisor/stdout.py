"""Writing a command's text to standard output: the width it wraps within, a failed write's line.

A write that fails ends the command with one error line and a status.

Shared by ``advisor`` (its results, ``--version`` and ``--help``) and ``advisor-server`` (its
``--help``), so a full disk, a closed stream, a reader that went away or a Ctrl-C during the write
ends either command the same way. It loads the standard library only, so a command's parser
(:mod:`advisor.usage`) can print its help through it without loading anything else.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import BinaryIO, Final, TextIO

from advisor.files import os_reason, read_problem

__all__ = [
    "BROKEN_PIPE_EXIT_STATUS",
    "NARROWEST_TEXT",
    "OUTPUT_INTERRUPTED_EXIT_STATUS",
    "WRITE_FAILED_EXIT_STATUS",
    "OutputError",
    "OutputInterruptedError",
    "as_shown",
    "cannot_read",
    "print_text",
    "printable",
    "say_error",
    "shown_path",
    "shown_on",
    "silence_stdout",
    "terminal_columns",
    "text_columns",
    "unicode_stdout",
    "write_stderr",
    "write_stdout",
]

WRITE_FAILED_EXIT_STATUS: Final = 1
"""Exit status of a command whose output could not be written (any other failure's)."""

OUTPUT_INTERRUPTED_EXIT_STATUS: Final = 130
"""Exit status of a command Ctrl-C stopped while it wrote: 128 + SIGINT, as the shells give."""

BROKEN_PIPE_EXIT_STATUS: Final = 141
"""Exit status of a command whose reader went away: 128 + SIGPIPE, as the shells give."""

_UNICODE_CODECS: Final = frozenset({"utf-8", "utf-8-sig", "utf-16", "utf-32", "gb18030"})
"""Codecs (by :func:`codecs.lookup`'s name) that encode every character."""


NARROWEST_TEXT: Final = 40
"""The narrowest prose lines, on however narrow a terminal: a word per line reads worse."""

_WIDEST_TEXT: Final = 96
"""The widest prose lines, on however wide a terminal: longer lines are hard to read."""

_FALLBACK_COLUMNS: Final = 80
"""The width text wraps within where the terminal's cannot be measured (a pipe, a file)."""


_SHOWN_ON: ContextVar[TextIO | None] = ContextVar("_SHOWN_ON", default=None)
"""The stream the text being laid out goes to (:func:`shown_on`); None for standard output."""


@contextlib.contextmanager
def shown_on(stream: TextIO) -> Iterator[None]:
    """Lay the text out within this block for ``stream``'s terminal (:func:`terminal_columns`).

    ``infer``'s report goes to standard error: measured on standard output's terminal, ``advisor
    infer DATA > task.yaml`` wrapped it at 80 columns (standard output a file) on a terminal of
    60, which broke every line wherever its edge fell.
    """
    token = _SHOWN_ON.set(stream)
    try:
        yield
    finally:
        _SHOWN_ON.reset(token)


def terminal_columns() -> int:
    """Return the terminal's width, at least 40: what a table's columns fit within.

    ``COLUMNS`` where set, else the width of the terminal the text goes to (standard output's,
    or the stream :func:`shown_on` names), else 80.
    """
    return max(NARROWEST_TEXT, _columns())


def _columns() -> int:
    """Return ``COLUMNS`` where it is a width, else the text's terminal's, else 80.

    As :func:`shutil.get_terminal_size` reads them, which measures standard output's alone.
    """
    with contextlib.suppress(ValueError):
        columns = int(os.environ.get("COLUMNS", ""))
        if columns > 0:
            return columns
    stream = _SHOWN_ON.get() or sys.__stdout__
    try:
        descriptor = -1 if stream is None else stream.fileno()
        return os.get_terminal_size(descriptor).columns or _FALLBACK_COLUMNS
    except (AttributeError, ValueError, OSError):  # no stream, no descriptor, no terminal
        return _FALLBACK_COLUMNS


def text_columns() -> int:
    """Return the columns prose (a table's, a command's help) wraps within: between 40 and 96.

    Prose wrapped at a fixed 96 ran past the edge of an 80-column terminal on every line, and
    the terminal broke the words wherever the edge fell; wrapped at a ``COLUMNS`` of 100000 it
    was one line per paragraph.
    """
    return min(_WIDEST_TEXT, terminal_columns())


def as_shown(text: str) -> str:
    r"""Return ``text`` as standard output shows it: a character it cannot encode as its escape.

    A table lays its columns out by the text it prints: measured before
    :func:`write_stdout` escaped a name (``\u65e5``, six columns for one
    character), every column after the name was pushed out of line.
    """
    if unicode_stdout():
        return text
    encoding = sys.stdout.encoding  # a stream that is not Unicode names its codec
    return text.encode(encoding, "backslashreplace").decode(encoding)


def unicode_stdout() -> bool:
    """Return whether standard output's encoding writes every character."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        return codecs.lookup(encoding).name in _UNICODE_CODECS
    except LookupError:
        return False


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
        raise OutputError(os_reason(error)) from None
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


def print_text(text: str, command: str) -> int:
    """Write ``text`` to standard output; return exit status 0, or that of why it could not be.

    How every output of a command ends: a write that fails is one error line starting with
    ``command`` and status 1, a Ctrl-C during it 130 saying what was printed is incomplete, a
    reader that went away 141 and nothing said.
    """
    try:
        write_stdout(text)
    except OutputError as error:
        say_error(command, f"cannot write to standard output: {error}")
        return WRITE_FAILED_EXIT_STATUS
    except OutputInterruptedError:
        say_error(
            command, "interrupted while writing standard output: what it printed is incomplete"
        )
        return OUTPUT_INTERRUPTED_EXIT_STATUS
    except BrokenPipeError:
        # The reader went away (``advisor presets | head -1``); nothing left to say to it.
        silence_stdout()
        return BROKEN_PIPE_EXIT_STATUS
    return 0


def silence_stdout() -> None:
    """Send standard output to ``/dev/null`` from now on, once its reader has gone.

    Python's final flush of what the stream still holds then has nothing to fail on (a
    ``BrokenPipeError`` at exit, after the command had ended as it should).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def say_error(command: str, message: str) -> None:
    """Say ``message`` as ``command``'s one error line on standard error (:func:`write_stderr`).

    A standard error that takes no line (``2>/dev/full``) leaves the exit status to tell the
    failure: the write's own error ended the command with a traceback no one saw and status 1,
    whatever the failure was. A character that is not printable is Python's escape
    (:func:`printable`), so the line stays one.
    """
    write_stderr(f"{command}: error: {printable(message)}\n")


def printable(text: str) -> str:
    r"""Return ``text`` with each character that is not printable as Python's escape (``\x1b``).

    A line that quotes what the user gave (an argument, a file's name) goes through here: an
    unrecognized argument written as typed turned the terminal red with its escape sequence
    (``advisor presets $'\e[31m'``), and made the one error line two with its newline.
    """
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def shown_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    r"""Return ``path`` as a message shows it: readable, and on one line.

    A byte the file system's encoding does not decode is written ``\xNN``, any other character
    that is not printable as its escape (:func:`printable`). Under ``LC_ALL=C`` Python reads such
    a byte as a lone surrogate: written with ``repr`` or as it is, ``tâche.yaml`` read
    ``'t\udcc3\udca2che.yaml'``, which names no byte of the file's name. Every message that
    names a file the user gave names it through here.
    """
    text = os.fsdecode(path)
    try:
        name = os.fsencode(text)
    except UnicodeEncodeError:  # a surrogate no file's name decodes to (one a document gave)
        return printable(text)
    return printable(name.decode(sys.getfilesystemencoding(), "backslashreplace"))


_SECTION_SIGN: Final = re.compile(r"(?<=\.md )§(?=\d)")
"""The section sign of a message's reference to the docs (``docs/FORMATS.md §2``).

Only there is the sign the project's own: a name a message quotes keeps any of its own.
"""


def _sections_in_words(text: str, encoding: str | None) -> str:
    r"""Return ``text``, its references to the docs' sections in words where ``encoding`` lacks §.

    On an ASCII stream (``PYTHONIOENCODING=ascii``, ``LC_ALL=C`` with ``PYTHONUTF8=0``) the sign
    was Python's escape, ``docs/FORMATS.md \xa71``, which names no section a reader can find;
    it reads ``docs/FORMATS.md section 1`` instead.
    """
    try:
        "§".encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return _SECTION_SIGN.sub("section ", text)
    return text


def write_stderr(text: str) -> None:
    """Write ``text`` on standard error, where a command says what is not its result.

    Every such text goes through here (error lines, ``infer``'s report, notes): a standard error
    that takes none (``2>/dev/full``) or is closed loses it, never the result on standard output
    or the exit status. ``advisor infer DATA > task.yaml 2>/dev/full`` ended 1 with no task, its
    report's failed write taken for the command's failure. A reference to a section of the docs
    reads in words where the stream's encoding lacks the sign (:func:`_sections_in_words`).
    """
    stream = sys.stderr
    if stream is None:  # started with standard error closed, as print() would write nothing
        return
    with contextlib.suppress(OSError):
        stream.write(_sections_in_words(text, getattr(stream, "encoding", None)))
        stream.flush()


def cannot_read(path: str | os.PathLike[str], error: Exception) -> str:
    """Say that the file at ``path`` cannot be read, and why (``error``, raised reading it).

    A relative path that names no file says where it was looked for: a config file in a mounted
    folder naming ``token.txt`` read "cannot read token.txt: No such file or directory", which
    left the operator to guess that paths are read from the working directory, not the file's.
    """
    where = ""
    if isinstance(error, FileNotFoundError) and not os.path.isabs(path):
        with contextlib.suppress(OSError):  # a working directory removed has no path to say
            where = f" (looked for in the working directory, {shown_path(os.getcwd())})"
    return f"cannot read {shown_path(path)}: {read_problem(error)}{where}"
