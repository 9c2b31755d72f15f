"""Text the tools print: names a person gave, and figures written side by side.

The rule for names: no character a terminal acts on. Correlation names go in tables, an
architecture's ``family`` in its provenance; both may come from a file anyone wrote. Two figures
compared in one sentence are written with the decimals that tell them apart (:func:`told_apart`).
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["printable_name", "told_apart"]

_UNPRINTABLE: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories no name may hold: control (Cc), format (Cf), surrogate (Cs), line and
paragraph separators (Zl, Zp)."""


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
