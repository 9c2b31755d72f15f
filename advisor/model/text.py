"""Text the tools print: names a person gave, and figures written side by side.

The rule for names: no character a terminal acts on. Correlation names go in tables, an
architecture's ``family`` in its provenance; both may come from a file anyone wrote. Two figures
compared in one sentence are written with the decimals that tell them apart (:func:`told_apart`);
a figure in bits is written rounded down (:func:`floored`), so it reads the same in every sentence.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Final

__all__ = ["floored", "printable_name", "told_apart"]

_UNPRINTABLE: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories no name may hold: control (Cc), format (Cf), surrogate (Cs), line and
paragraph separators (Zl, Zp)."""

_FLOOR_SLACK: Final = 1e-6
"""A figure this close below a written value is written as it: the efficiency's lower bounds are
floored to 6 decimals (1535.999999 for a rank of 1536), so their own last digit is a floor's."""


def printable_name(name: str) -> str:
    """Return ``name``; refuse a blank one, or one holding a character a terminal acts on.

    A control character (a newline, an ANSI escape's ESC), a format character (a bidirectional
    override, a zero-width space), a line or paragraph separator or a lone surrogate would split
    a table row, restyle the terminal, reorder text or fail to print.

    Raises
    ------
    ValueError
        Saying which character, and where.
    """
    if not name.strip():
        raise ValueError("must not be empty or blank")
    for position, char in enumerate(name):
        if unicodedata.category(char) in _UNPRINTABLE:
            raise ValueError(
                "must not hold control, format or line-separator characters: "
                f"U+{ord(char):04X} at position {position}"
            )
    return name


def told_apart(value: float, other: float, least: int = 2, most: int = 6) -> tuple[str, str]:
    """Write two figures with the decimals that tell them apart, ``least`` to ``most``.

    Equal figures take ``least``; figures apart only past ``most`` decimals read alike.
    """
    for decimals in range(least, most + 1):
        written = f"{value:.{decimals}f}", f"{other:.{decimals}f}"
        if written[0] != written[1] or value == other:
            return written
    return written


def floored(value: float, decimals: int) -> str:
    """Write a figure in bits rounded down to ``decimals`` decimals: ``1,742.6`` for 1742.68.

    Down, so a lower bound (the channels a shallow net needs, in log2) stays one; and every
    figure in bits alike, so a rank and the bound taken from it read the same in one answer (a
    rank of 156.75 bits read "156.8" beside a shallow net's "2^156.7 channels"). A figure within
    a millionth below a value is written as it (:data:`_FLOOR_SLACK`), so ``decimals`` is at
    most 5: at 6 that slack is a whole unit.
    """
    scale = 10**decimals
    return f"{math.floor((value + _FLOOR_SLACK) * scale) / scale:,.{decimals}f}"
