"""The options of ``advisor infer`` and ``recommend --data`` that read a data sample.

Kept apart from :mod:`advisor.cli.infer` so that building the parser loads nothing heavy.
"""

from __future__ import annotations

import argparse

from advisor.cli.options import count, read_path
from advisor.infer.terms import DEFAULT_TOP_K, MAX_TOP_K

__all__ = ["add_data_arguments"]


def add_data_arguments(parser: argparse.ArgumentParser, grid_default: str) -> None:
    """Add the options that read a data sample: ``--shape``, ``--top-k``, ``--allow-constant``.

    And ``--labels``, whose classes set the task's ``outputs``. ``grid_default`` says what the
    grid is without ``--shape`` (infer: the array's axes after the samples; recommend --data: the
    task's).
    """
    parser.add_argument(
        "--shape",
        type=count,
        nargs="+",
        metavar="N",
        help=f"the grid of the data (default: {grid_default})",
    )
    parser.add_argument(
        "--top-k",
        # Not top_k: recommend's --top already fills the budget's top_k.
        dest="pairs_per_location",
        type=count,
        metavar="K",
        help=f"strongest pairs kept per location, 1 to {MAX_TOP_K} (default {DEFAULT_TOP_K})",
    )
    parser.add_argument(
        "--allow-constant",
        action="store_true",
        help="give locations that never vary no edges instead of refusing the data",
    )
    parser.add_argument(
        "--labels",
        type=read_path,
        metavar="FILE",
        help="one label per sample: the task's outputs are its classes",
    )
