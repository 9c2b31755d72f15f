r"""Writing the command's output: documents as JSON or YAML, and what standard output can encode.

Names in a task may be in any script. A document keeps them as written (``日本語``, not
``\u65e5...``) where its reader can take them: a file (always UTF-8) or a standard output whose
encoding writes every character. On any other standard output (``PYTHONIOENCODING=ascii``, an
old code page) JSON and YAML escape them as their own syntax defines, so the document still reads
back to the same names; a table, which people read, shows Python's backslash escapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from advisor.cli.json_output import readable_json
from advisor.cli.options import ExitCode
from advisor.service.logs import report_failure
from advisor.stdout import print_text, say_error, unicode_stdout

__all__ = [
    "document_text",
    "fail",
    "fail_serving",
    "print_output",
    "stdout_document",
]

_COMMAND: Final = "advisor"
"""The name the command's error lines start with."""


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


def print_output(text: str) -> ExitCode:
    """Write ``text`` to standard output; return :attr:`ExitCode.OK`, or why it could not be.

    How every result of the command ends (:func:`~advisor.stdout.print_text`, which
    ``--version`` and ``--help`` print through too): a write that
    fails is one error line and status 1, a Ctrl-C during it 130, a reader that went away 141.
    """
    return ExitCode(print_text(text, _COMMAND))


def fail(message: str, code: ExitCode) -> ExitCode:
    """Say ``message`` as the command's one error line on standard error; return ``code``.

    A standard error that takes no line (``2>/dev/full``) loses the line, never the status.
    """
    say_error(_COMMAND, message)
    return code


def fail_serving(message: str, code: ExitCode) -> ExitCode:
    """As :func:`fail`, for ``advisor serve``: a record of its log where that log is JSON."""
    return ExitCode(report_failure(_COMMAND, message, code))
