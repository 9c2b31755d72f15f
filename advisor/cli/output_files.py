"""The files a command writes its output to: checked before the work, replaced in one step.

``advisor infer --output``, ``recommend --save-task`` and ``advisor export --output`` write
through here, so each refuses the same paths in the same words and a failed write is one line
naming the option.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from advisor.errors import InvalidRequestError
from advisor.files import os_reason, replace_file
from advisor.model.documents import STDIN
from advisor.stdout import shown_path

__all__ = ["check_force", "check_writable", "standard_output", "write_output_file"]


def check_force(force: bool, file: Path | None, needs: str) -> None:
    """Refuse ``--force`` where the command writes no ``file`` it could replace (None).

    ``needs`` names the option that writes one: a ``--force`` given without it was accepted
    and did nothing.

    Raises
    ------
    InvalidRequestError
        On ``--force``.
    """
    if force and file is None:
        raise InvalidRequestError.single("--force", f"needs {needs}")


def standard_output(path: Path) -> bool:
    """Return whether ``path`` is the process's standard output: one file, whatever its name.

    ``/dev/stdout`` and ``/proc/self/fd/1`` are, and so is the file standard output is
    redirected to (``> task.yaml``).
    """
    return _is_descriptor(path, 1)


def _is_descriptor(path: Path, descriptor: int) -> bool:
    """Return whether ``path`` names the file open on ``descriptor``, whatever its name."""
    try:
        named, open_file = os.stat(path), os.fstat(descriptor)
    except OSError:  # no such file yet, or the descriptor closed
        return False
    return (named.st_dev, named.st_ino) == (open_file.st_dev, open_file.st_ino)


def check_writable(
    option: str,
    path: Path,
    inputs: Sequence[tuple[str, Path | None]],
    written: str,
    *,
    force: bool,
) -> None:
    """Refuse (on ``option``) an output path the command may not or cannot write ``written`` to.

    ``written`` names what goes there (``the task``). Refused: one of the ``inputs``, a
    directory, a path in none, an existing file unless ``force`` (every output file's one
    rule: ``--force`` replaces it), and a file that cannot be written (a directory that takes
    no new file, a device not open to writing). Checked before the work whose output is
    written there, so a mistyped path is told at once, not after a search or an inference the
    failed write would then throw away.
    """
    _refuse_overwriting(option, path, inputs, written)
    if Path(path).is_dir():
        raise InvalidRequestError.single(option, f"{shown_path(path)}: is a directory")
    if not Path(path).parent.is_dir():
        raise InvalidRequestError.single(
            option,
            f"{shown_path(path)}: no directory {shown_path(Path(path).parent)} to write it in",
        )
    if Path(path).is_file() and not force:
        raise InvalidRequestError.single(
            option, f"{shown_path(path)} exists: pass --force to replace it"
        )
    if os.path.islink(path) and not os.path.exists(path) and not force:
        # Written through, it made the file it names, wherever that is.
        raise InvalidRequestError.single(
            option,
            f"{shown_path(path)} is a symbolic link to {shown_path(Path(os.readlink(path)))}, "
            "which does not exist: pass --force to write there",
        )
    _check_can_write(option, path)


def _check_can_write(option: str, path: Path) -> None:
    """Refuse (on ``option``) a ``path`` :func:`write_output_file` would fail to write.

    A device or a pipe is written through: its permission is asked. A file is written as a new
    file in its directory (the one a symbolic link leads to), renamed over it: one is made
    there and removed. Asking the directory's permission did not do (as root, ``/sys`` says
    yes, and refuses the file).
    """
    if os.path.exists(path) and not os.path.isfile(path):
        if not os.access(path, os.W_OK):
            raise InvalidRequestError.single(option, f"{shown_path(path)}: Permission denied")
        return
    folder = Path(os.path.realpath(path)).parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{Path(path).name}."):
            pass
    except OSError as error:
        raise _refusal(option, path, error) from None


def _refuse_overwriting(
    option: str, output: Path, inputs: Sequence[tuple[str, Path | None]], written: str
) -> None:
    """Refuse (on ``option``) writing ``written`` to ``output`` when it is one of the ``inputs``.

    Writing a task there would replace the sample with YAML. A path names the input when both
    resolve to one file: one inode where both exist (a hard link), else one path once ``.``,
    ``..`` and symbolic links are resolved. An input given as ``-`` is standard input, and
    the file redirected to it is the input (``export - --output arch.yaml --force <
    arch.yaml`` replaced the design with its source).
    """
    for name, path in inputs:
        if path is None:
            continue
        if str(path) == STDIN:
            if _is_descriptor(output, 0):
                raise InvalidRequestError.single(
                    option,
                    f"{shown_path(output)} is the file standard input reads ({name} -): "
                    f"writing {written} would overwrite it; name another file",
                )
            continue
        try:
            same = os.path.samefile(output, path)
        except OSError:  # either does not exist
            same = os.path.realpath(output) == os.path.realpath(path)
        if same:
            raise InvalidRequestError.single(
                option,
                f"{shown_path(output)} is the {name} file {shown_path(path)}: writing {written} "
                "would overwrite it; name another file",
            )


def write_output_file(path: Path, text: str, option: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` (``option``'s file) in one step; a failure names ``option``.

    The file is replaced in one step (:func:`~advisor.files.replace_file`): a write that fails
    part-way or a Ctrl-C leaves the file written before whole, not cut short. Without ``force``
    it must still not exist (:func:`check_writable` looked before the work): a file, or a
    symbolic link, made there while the command ran is not replaced.

    Raises
    ------
    InvalidRequestError
        On ``option``, naming the path and why it could not be written (a full disk, a file
        made there meanwhile).
    """
    try:
        replace_file(Path(path), text, f".{Path(path).name}.", exclusive=not force)
    except FileExistsError:
        raise InvalidRequestError.single(
            option,
            f"{shown_path(path)} was made while the command ran: not replaced; pass --force to "
            "replace it",
        ) from None
    except OSError as error:
        raise _refusal(option, path, error) from None


def _refusal(option: str, path: Path, error: OSError) -> InvalidRequestError:
    """Return the refusal (on ``option``) of ``path``, which ``error`` kept from being written.

    The error's own words may name the temporary file: the path is named here.
    """
    return InvalidRequestError.single(option, f"{shown_path(path)}: {os_reason(error)}")
