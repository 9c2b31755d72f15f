"""Write a benchmark's table into its own section of a markdown file under docs/.

Several benchmarks share docs/PERFORMANCE.md; each owns the block between its markers, so a rerun of
one benchmark replaces its figures and leaves the others' untouched.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from advisor.stdout import shown_path
from advisor.usage import LinesHelpFormatter, quoted

__all__ = [
    "add_write_option",
    "at_least",
    "command_parser",
    "milliseconds",
    "no_options",
    "output_file",
    "positive_int",
    "publish",
    "update_section",
]

DOCS = Path(__file__).resolve().parent.parent / "docs"


def update_section(filename: str, section: str, markdown: str) -> Path:
    """Replace (or append) the block named ``section`` in ``docs/filename`` with ``markdown``."""
    path = DOCS / filename
    begin, end = f"<!-- begin {section} -->", f"<!-- end {section} -->"
    text = path.read_text() if path.exists() else f"# {Path(filename).stem.title()}\n"
    block = f"{begin}\n{markdown.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def no_options(description: str | None) -> None:
    """Read the command line of a benchmark command that takes no options.

    ``--help`` prints ``description`` (the module's docstring) and exits; any argument is
    refused. Run without a parser, such a command did its whole job on ``--help``, and some
    of them rewrite files under docs/ and bench/.
    """
    command_parser(description=description).parse_args()


def command_parser(**options: Any) -> argparse.ArgumentParser:
    """Return a benchmark command's parser (``options`` are ``ArgumentParser``'s).

    Its ``--help`` is formatted as ``advisor``'s (:class:`~advisor.usage.LinesHelpFormatter`):
    within 40 to 96 columns, a docstring's paragraphs and examples kept. argparse's own wraps
    at ``COLUMNS``: at 200 ``python -m bench.bench_anytime --help`` printed its description in
    lines of 200 characters, at 20 its options a word a line.
    """
    return argparse.ArgumentParser(formatter_class=LinesHelpFormatter, **options)


def at_least(minimum: int, why: str = "") -> Callable[[str], int]:
    """Return an ``argparse`` type: a whole number of at least ``minimum`` (the error names it).

    ``why``, appended to the error, says what the smaller values would leave the command
    nothing to measure with (``: the first 5 trials are the advisor's proposals ...``).
    """

    def whole_number(text: str) -> int:
        value = int(text) if text.strip().lstrip("+-").isdigit() else minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {minimum}, got {quoted(text)}{why}"
            )
        return value

    return whole_number


positive_int = at_least(1)
"""An option's count that must be at least 1 (an ``argparse`` type: the error names it).

A count of 0 runs, seeds or workers is never meant: the training pool refused 0 workers with a
bare traceback after the pools were built, and 0 seeds trained nothing and wrote pools with no
runs.
"""


def output_file(text: str) -> Path:
    """Read a file a command writes when its run ends (an ``argparse`` type: the error names it).

    Checked before the run: the validation experiments train for minutes, and an output that is
    a folder, or lies under a file, failed only at the write after the training, a traceback
    that threw the runs away. Missing folders on the way are fine (the write creates them).
    """
    if text == "-":  # standard output to the CLI's options; here it made a file named "-"
        raise argparse.ArgumentTypeError("- names no file: the results are written to a file")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{shown_path(text)} is a folder: name a file in it")
    folder = next(parent for parent in path.absolute().parents if parent.exists())
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"{shown_path(text)}: {shown_path(folder)} is a file, not a folder to write in"
        )
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"{shown_path(text)}: not writable")
    return path


def add_write_option(parser: argparse.ArgumentParser, filename: str) -> None:
    """Add ``--write-docs``: also write the benchmark's figures into ``docs/filename``.

    Every benchmark prints its figures and rewrites a tracked doc only when asked, so a run to
    check a figure leaves docs/ as it was.
    """
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help=f"also write the figures into docs/{filename} (without it they are only printed)",
    )
    parser.set_defaults(docs_file=filename)


def publish(
    arguments: argparse.Namespace,
    section: str,
    markdown: str,
    *,
    measured: bool = True,
) -> None:
    """Print ``markdown``; on ``--write-docs``, write it as ``section`` of the option's docs file.

    The file is the one :func:`add_write_option` named.

    A ``measured`` table (times, memory: figures of the machine that ran it) ends with the date,
    the CPUs and the load it was measured at: the engine, search and scale tables said none of
    them, and a reader could not tell a stale figure from a slower machine's.
    """
    if measured:
        markdown = (
            f"{markdown.rstrip()}\n\nMeasured {datetime.date.today().isoformat()} on "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, 1-minute load average "
            f"{os.getloadavg()[0]:.1f} at the end.\n"
        )
    print(markdown)
    if arguments.write_docs:
        print(f"written to {update_section(arguments.docs_file, section, markdown)}")


def milliseconds(values: Sequence[float], quantile: float) -> str:
    """The ``quantile`` (0.5, 0.99, ...) of durations in seconds, as milliseconds; "-" if none."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0] * 1000:.1f}"
    cut = statistics.quantiles(values, n=100, method="inclusive")[round(quantile * 100) - 1]
    return f"{cut * 1000:.1f}"
