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
from advisor.export.document import design_argument
from advisor.export.torch_source import torch_source
from advisor.model.architecture import checked_rank
from advisor.model.documents import STDIN, source_name
from advisor.stdout import shown_path

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
        ``--rank``, or the ARCH file's fields.
    """
    output = None if args.output is None or standard_output(args.output) else args.output
    check_force(args.force, output, "--output FILE (standard output replaces no file)")
    if output is not None:
        _check_output(args, output)
    rank = None if args.rank is None else checked_rank(args.rank)
    chosen = design_argument(args.arch, rank, counted=True)
    source = torch_source(
        chosen.architecture,
        args.pooling,
        source=source_name(args.arch),
        rank=chosen.rank,
        dilations=chosen.dilations,
    )
    if output is None:
        return source
    write_output_file(output, source, "--output")
    return f"PyTorch source written to {shown_path(output)}\n"


def _check_output(args: argparse.Namespace, output: Path) -> None:
    """Refuse an ``output`` that exists as a file (unless ``--force``), or is ARCH, or a folder."""
    arch = None if args.arch == STDIN else Path(args.arch)
    check_writable("--output", output, (("ARCH", arch),), "the source", force=args.force)
