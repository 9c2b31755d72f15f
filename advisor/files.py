"""Reading a file up to a bound, and replacing a file's contents atomically.

:func:`read_bounded` reads at most a given number of bytes and refuses a longer file, so a path
that never ends (``/dev/zero``, a pipe left open) is refused instead of read until memory runs
out; :func:`read_problem` says why a read failed in the words every refusal of a file gives.

:func:`replace_file` writes so that a reader, or a stop in the middle, sees old or new.
Opening the file itself for writing empties it first: a write that failed part-way (a full
disk, a file size limit) or a Ctrl-C in the middle left a file cut short, the previous one
lost. The text is written to a temporary file in the same directory instead, synced, and moved
over the path with ``os.replace``, which a file system does in one step.

A path that is no regular file (``/dev/null``, ``/dev/stdout``, a named pipe) is written
through instead: renamed over, the device or pipe was replaced by a regular file, ``/dev/null``
itself where the process may write in ``/dev`` (a container's root).
"""

from __future__ import annotations

import codecs
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Final

__all__ = ["not_utf8_in", "os_reason", "read_bounded", "read_problem", "replace_file"]


def read_bounded(file: str | os.PathLike[str] | BinaryIO, max_bytes: int, holds: str) -> bytes:
    """Return the bytes of ``file`` (a path, or a binary stream such as standard input's).

    At most ``max_bytes`` are read: a longer file is refused, not read on. ``holds`` says what
    such a file is (``"a token file"``), for the refusal: "it is longer than 65,536 bytes, more
    than a token file holds".

    Raises
    ------
    OSError
        When the file cannot be read; ``EFBIG`` when it is longer than ``max_bytes``.
    """
    if isinstance(file, str | os.PathLike):
        with open(file, "rb") as stream:
            return read_bounded(stream, max_bytes, holds)
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        reason = f"it is longer than {max_bytes:,} bytes, more than {holds} holds"
        raise OSError(errno.EFBIG, reason)
    return data


def read_problem(error: Exception) -> str:
    """Say why a file could not be read, to follow "cannot read <the file>: ".

    An :class:`OSError`'s reason alone: its text, "[Errno 2] No such file or directory:
    '/path'", names the file a second time, in Python's terms (a surrogate for a byte under
    ``LC_ALL=C``). A :class:`UnicodeDecodeError` says the line and column where the file stops
    being UTF-8 (:func:`_not_utf8`). Any other error (a parser's) says what it says.
    """
    if isinstance(error, OSError):
        return os_reason(error)
    if isinstance(error, UnicodeDecodeError):
        return _not_utf8(error)
    return str(error)


def os_reason(error: OSError) -> str:
    """Say an :class:`OSError`'s reason alone (its ``strerror``), not the path it names again.

    Its text, ``[Errno 13] Permission denied: '/path'``, names the file a second time, in
    Python's terms; an error without a ``strerror`` (one the advisor raises) says its text.
    """
    return error.strerror or str(error)


_BINARY_KINDS: Final = (
    (b"\x93NUMPY", "a NumPy array (.npy)"),
    (b"PK\x03\x04", "a zip archive (.npz?)"),
)
"""The binary files a document's reader is most often given by mistake, by their first bytes."""


def _not_utf8(error: UnicodeDecodeError) -> str:
    """Say where a file stops being UTF-8: ``line 3, column 7: byte 0xE9 is not UTF-8 ...``.

    Python's own text gives the byte's offset in the file ("in position 49"), where a reader
    looks for a line and a column; the column counts bytes, as the bad byte is no character.
    ``error.object`` is the whole input decoded (a whole read's error, not a piece's).
    """
    data, start = error.object, error.start
    kind = next((kind for magic, kind in _BINARY_KINDS if data.startswith(magic)), None)
    if kind is not None:  # "byte 0x93 is not UTF-8 text" said nothing of what the file was
        return (
            f"it is {kind}, not a text document (a data sample goes to recommend --data or "
            "advisor infer)"
        )
    line = data.count(b"\n", 0, start) + 1
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1
    return _not_utf8_at(line, column, data[start])


def _not_utf8_at(line: int, column: int, byte: int) -> str:
    """Say that ``byte``, at ``line`` and ``column``, is no UTF-8: the one wording of both."""
    return (
        f"line {line}, column {column}: byte 0x{byte:02X} is not UTF-8 text (save the file as "
        "UTF-8)"
    )


def not_utf8_in(path: Path, piece: int = 1 << 20) -> str | None:
    """Say where the file ``path`` stops being UTF-8, as :func:`read_problem` does; None if never.

    For a file read as text a piece at a time, whose decoding error counts from the piece the
    reader was decoding (``byte 3618`` of one at byte 20,002): the file is read again a
    ``piece`` at a time, counting lines, to the first byte that is no UTF-8.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, line_start, offset = 1, 0, 0  # line_start: the offset its line starts at
    with path.open("rb") as stream:
        if stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8:
            line_start = offset = len(codecs.BOM_UTF8)  # no column of line 1, as readers skip it
        else:
            stream.seek(0)
        while chunk := stream.read(piece):
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                held = pending + chunk
                before = held[: error.start]
                newlines = before.count(b"\n")
                start = offset - len(pending)
                if newlines:
                    line_start = start + before.rfind(b"\n") + 1
                column = start + error.start - line_start + 1
                return _not_utf8_at(line + newlines, column, held[error.start])
            newlines = chunk.count(b"\n")
            if newlines:
                line += newlines
                line_start = offset + chunk.rfind(b"\n") + 1
            offset += len(chunk)
    pending = decoder.getstate()[0]  # a sequence the file ends in the middle of
    if pending:
        return _not_utf8_at(line, offset - len(pending) - line_start + 1, pending[0])
    return None


def replace_file(path: Path, text: str, prefix: str, *, exclusive: bool = False) -> None:
    """Make ``path`` a file holding ``text`` (UTF-8), in one step: it never holds a part of it.

    ``exclusive``: ``path`` must not exist (a file another process made since the caller looked
    is not replaced, nor the file a symbolic link put there names): the new file is linked in
    under its name, which fails where anything holds it (``FileExistsError``).

    A path that exists and is no regular file (a device such as ``/dev/null``, a named pipe, a
    standard stream's ``/dev/stdout``) is opened and written as it is, as a shell's ``>`` does:
    it has no contents to keep, and a rename would put a regular file in its place.

    The temporary file is named ``prefix`` and a random suffix, in ``path``'s directory (the
    file a symbolic link names, when ``path`` is one, so the link stays and its file changes,
    as writing through the link did). It gets the mode a file opened for writing would have:
    the replaced file's, else the default the umask leaves. It is removed when the write fails
    or is interrupted; only a process killed in the middle leaves it behind.

    Raises
    ------
    OSError
        When the directory takes no new file or the write fails; ``path`` is then as it was.
    """
    if _special(path):
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return
    target = Path(path) if exclusive else Path(os.path.realpath(path))
    temporary = target.parent / f"{prefix}{secrets.token_hex(8)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            if target.exists():
                os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if exclusive:
            _link_new(temporary, target)
        else:
            os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)


def _link_new(temporary: Path, target: Path) -> None:
    """Give the written ``temporary`` the name ``target``, which must be free, and drop its own.

    A hard link is made under the name only where nothing holds it, a dangling symbolic link
    included, in one step. A file system without hard links (some network and FAT ones) gets the
    rename after a look, which a file made between the two would lose to.
    """
    try:
        os.link(temporary, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        os.replace(temporary, target)
        return
    temporary.unlink()


def _special(path: Path) -> bool:
    """Return whether ``path`` names an existing file that is not a regular one (a device, a pipe).

    Followed through symbolic links, including ``/dev/stdout``'s to ``/proc/self/fd/1``, which
    resolves by name to no file when it is a pipe (``pipe:[...]``) yet opens.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:  # no such file (yet): it is created, in one step
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _sync_directory(directory: Path) -> None:
    """Flush ``directory``'s entries to its disk, where the platform allows it.

    A file's fsync keeps its contents, not its name: until the directory is synced too, a
    machine that crashes just after an ``os.replace`` may come back with the previous file.
    A platform that opens no directory (Windows) or a file system that syncs none refuses with
    an OSError: the file is then as durable as the platform makes it, and the write stands.
    """
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
