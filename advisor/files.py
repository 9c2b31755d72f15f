"""Replacing a file's contents atomically: a reader, or a stop in the middle, sees old or new.

Opening the file itself for writing empties it first: a write that failed part-way (a full
disk, a file size limit) or a Ctrl-C in the middle left a file cut short, the previous one
lost. The text is written to a temporary file in the same directory instead, synced, and moved
over the path with ``os.replace``, which a file system does in one step.

A path that is no regular file (``/dev/null``, ``/dev/stdout``, a named pipe) is written
through instead: renamed over, the device or pipe was replaced by a regular file, ``/dev/null``
itself where the process may write in ``/dev`` (a container's root).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

__all__ = ["replace_file"]


def replace_file(path: Path, text: str, prefix: str) -> None:
    """Make ``path`` a file holding ``text`` (UTF-8), in one step: it never holds a part of it.

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
    target = Path(os.path.realpath(path))
    temporary = target.parent / f"{prefix}{secrets.token_hex(8)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            if target.exists():
                os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)


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
