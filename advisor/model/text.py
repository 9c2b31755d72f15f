"""Text the tools print: names a person gave, and figures written side by side.

The rule for names: no character a terminal acts on. Correlation names go in tables, an
architecture's ``family`` in its provenance; both may come from a file anyone wrote. Two figures
compared in one sentence are written with the decimals that tell them apart (:func:`told_apart`).
A net's activations are said with the memory they take in a training batch
(:func:`activations_text`). A figure in bits is written to a decimal (:func:`bits_text`), and one
over a limit with the decimals that read over it (:func:`bits_over`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Final

__all__ = [
    "BATCH_SIZE",
    "activations_text",
    "article",
    "binary_size",
    "bits_over",
    "bits_text",
    "count_text",
    "family_words",
    "listed",
    "printable_name",
    "told_apart",
    "tree_name",
]

BATCH_SIZE: Final = 32
"""The batch a net's activations are priced at in memory: a common training batch."""

_FLOAT32_BYTES: Final = 4

_EXACT_COUNT: Final = 2**20
"""Counts up to this are written to the unit (see :func:`count_text`)."""

_FIXED_DIGITS: Final = 6
"""Significant digits a larger count is written to (see :func:`count_text`)."""

_MOST_DECIMALS: Final = 6
"""Decimals a figure in bits is written to at most, before it is written exactly."""

_SCALES: Final = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"))
"""The words a count past 2^20 is written in, largest first: every such count is a million or
more."""

_BINARY_UNITS: Final = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB")

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


def bits_text(value: float, decimals: int = 1) -> str:
    """Write a figure in bits to ``decimals`` decimals; a whole figure without decimals."""
    return f"{value:,.{decimals}f}" if value % 1 else f"{value:,.0f}"


def bits_over(value: float, limit: float) -> str:
    """Write a figure in bits over ``limit`` with the fewest decimals (one or more) reading over it.

    A refusal quotes the figure beside its limit: ``212.6`` over 16, ``16.04`` over 16, where one
    decimal read "16.0 exceeds 16"; a figure over its limit only past six decimals is written
    exactly (the shortest text that reads back as it).
    """
    for decimals in range(1, _MOST_DECIMALS + 1):
        text = bits_text(value, decimals)
        if float(text.replace(",", "")) > limit:
            return text
    return repr(value)


def activations_text(count: int, compared: str = "") -> str:
    """Say a net's activations per input and what a float32 batch of them takes in memory.

    ``122,066 activations per input (14.9 MiB a float32 batch of 32)``: the count alone does not
    tell an engineer whether a design fits the memory it trains in; the batch's bytes do.
    ``compared``, where given, opens the parentheses: ``(2.1x the standard CNN of this budget;
    14.9 MiB a float32 batch of 32)``.
    """
    size = binary_size(count * BATCH_SIZE * _FLOAT32_BYTES)
    opening = f"{compared}; " if compared else ""
    return f"{count:,} activations per input ({opening}{size} a float32 batch of {BATCH_SIZE})"


def binary_size(size: int) -> str:
    """Write a byte count in the largest binary unit it fills: ``512 B``, ``14.9 MiB``.

    Three significant digits at most (two decimals below 10, one below 100, none above).
    """
    power = 0
    while size >= 1024 ** (power + 1) and power + 1 < len(_BINARY_UNITS):
        power += 1
    if power == 0:
        return f"{size} B"
    value = size / 1024**power
    decimals = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{decimals}f} {_BINARY_UNITS[power]}"


def listed(items: Sequence[str], more: int = 0, quoted: bool = True, last: str = "and") -> str:
    """Join ``items`` as prose: ``a, b and c`` (``last`` joins the last two).

    ``more`` items left out are said as a count. ``quoted``: the items are names, each written
    as Python's ``repr`` quotes it; items already written with their names quoted in them pass
    False. (Telling them apart by a leading ``'`` quoted again a phrase whose name ``repr``
    writes in double quotes, as ``"left's mirror"``, and left a name that starts with ``'``
    unquoted.)
    """
    shown = [repr(item) if quoted else item for item in items]
    if more > 0:
        shown.append(f"{more} more")
    return ", ".join(shown[:-1]) + (f" {last} " if len(shown) > 1 else "") + shown[-1]


def count_text(count: int) -> str:
    """Write a large count as people read it: ``1,024``, ``16.7772 million``, ``25.5999 billion``.

    Up to 2^20 to the unit, comma-grouped; beyond it rounded down to 6 significant digits and
    written with its scale's word, so it does not read as an exact count: 2^24 as ``16.7772
    million``, where ``16,777,200`` looked like a miscount of 16,777,216. The efficiency's
    bounds and the rationale's rank ratios are written with it.
    """
    if count <= _EXACT_COUNT:
        return f"{count:,}"
    unit = 10 ** (len(str(count)) - _FIXED_DIGITS)
    scale, word = next((scale, word) for scale, word in _SCALES if count >= scale)
    return f"{count // unit * unit / scale:.{_FIXED_DIGITS}g} {word}"


def article(noun: str) -> str:
    """Return the indefinite article of ``noun`` by its first letter: ``an`` before a vowel's.

    Of a capital too (``an Architecture``), as a type's name in a message has one.
    """
    return "an" if noun[:1].lower() in tuple("aeiou") else "a"


_FAMILY_WORDS: Final = {"dilations": "dilated", "data_arranged": "data-arranged"}
"""A family's name in the rationale's prose, where its identifier does not read as a word."""


def family_words(family: str) -> str:
    """Return ``family`` as the rationale writes it (``data_arranged``: ``data-arranged``)."""
    return _FAMILY_WORDS.get(family, family)


def tree_name(family: str, dilations: Sequence[int] | None = None) -> str:
    """Name a tree of ``family``: ``contiguous tree``, ``dilated tree of dilations 2, 4, 8, 1``.

    A mixture's summary names its members so, and ``advisor export``'s header likewise: two
    dilated trees differ only in their order, which their permutations do not show.
    """
    name = f"{family_words(family)} tree"
    return name if dilations is None else f"{name} of dilations {', '.join(map(str, dilations))}"
