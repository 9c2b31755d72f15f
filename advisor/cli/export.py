"""The ``advisor export`` command: a recommendation as standalone PyTorch source.

It reads an architecture file or a saved ``recommend`` result (its ``--rank``), as ``analyze
--arch`` does, and writes :func:`~advisor.export.torch_source.torch_source`'s file. It calls
no server and imports no torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from advisor.cli.output_files import (
    check_force,
    check_writable,
    standard_output,
    write_output_file,
)
from advisor.errors import InvalidRequestError
from advisor.export.document import design_argument
from advisor.export.torch_source import torch_source
from advisor.model.architecture import (
    Architecture,
    architecture_document,
    checked_rank,
    parse_architecture,
)
from advisor.model.documents import source_name
from advisor.stdout import shown_path, write_stderr
from advisor.words import counted

__all__ = ["export"]


def export(args: argparse.Namespace) -> str:
    """Run ``advisor export``: write the source to ``--output``; return what to print.

    With ``--output -`` (or a path that is standard output) the source itself is printed.
    An existing regular file is replaced only with ``--force``: a device or a pipe
    (``/dev/null``) is written through, never replaced.

    Raises
    ------
    InvalidRequestError
        On ``--output`` (an existing file without ``--force``, a directory, the ARCH file),
        ``--rank``, ``--outputs`` (:func:`_with_outputs`), or the ARCH file's fields.
    """
    output = None if args.output is None or standard_output(args.output) else args.output
    check_force(args.force, output, "--output FILE (standard output replaces no file)")
    rank = None if args.rank is None else checked_rank(args.rank)
    chosen = design_argument(args.arch, rank, counted=True)
    if output is not None:  # after ARCH is read: a missing ARCH was said only after --force
        _check_output(args, output)
    source = torch_source(
        _with_outputs(chosen.architecture, args.outputs, source_name(args.arch)),
        args.pooling,
        source=source_name(args.arch),
        rank=chosen.rank,
        dilations=chosen.dilations,
    )
    if output is None:
        return source
    write_output_file(output, source, "--output", force=args.force)
    return f"PyTorch source written to {shown_path(output)}\n"


def _with_outputs(architecture: Architecture, outputs: int | None, name: str) -> Architecture:
    """Return the design read from ``name`` with the head ``--outputs`` gives a design without one.

    A design that states no ``outputs`` has 1, the architecture file's default, where ``analyze
    --arch`` gives it the task's: such a file exported without ``--outputs`` is warned of on
    standard error, not written with one logit silently. A design that states other outputs is
    refused: its file (and a result's counts) say another net.

    Raises
    ------
    InvalidRequestError
        On ``--outputs`` when the design states other outputs, or it is no network's outputs.
    """
    stated = "outputs" in architecture.model_fields_set
    if outputs is None:
        if not stated:
            write_stderr(
                f"warning: outputs: {shown_path(name)} states none: the net has 1 output, the "
                "architecture file's default (analyze --arch gives it the task's); pass "
                "--outputs Y for Y classes\n"
            )
        return architecture
    if stated and outputs != architecture.outputs:
        raise InvalidRequestError.single(
            "--outputs",
            f"{shown_path(name)} states outputs {architecture.outputs}: leave --outputs out "
            "(it gives outputs to a design that states none), or design for "
            f"{counted(outputs, 'output')}, which changes its parameters (recommend --outputs "
            f"{outputs}, or the task's outputs; in an architecture file, its outputs)",
        )
    document = {**architecture_document(architecture), "outputs": outputs}
    try:
        return parse_architecture(document)
    except InvalidRequestError as error:
        raise error.renamed(lambda path: "--outputs" if path == "outputs" else path) from None


def _check_output(args: argparse.Namespace, output: Path) -> None:
    """Refuse an ``output`` that exists as a file (unless ``--force``), or is ARCH, or a folder."""
    check_writable("--output", output, (("ARCH", Path(args.arch)),), "the source", force=args.force)
