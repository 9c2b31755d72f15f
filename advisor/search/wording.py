"""How a rationale writes its figures: shares, factors, ranks, rank ratios, ordinals.

The comparisons, the score's factors and the summary write their figures alike, so a figure
reads the same in every sentence: a share never as 0% above nothing nor 100% below all
(:func:`percent_text`), two factors or a rank and its target with the digits that tell them apart
(:func:`factors_apart`, :func:`ranks_apart`), a rank ratio as bits and as a multiple
(:func:`ratio_text`). How many names a list shows is one rule too (:data:`SHOWN`).
"""

from __future__ import annotations

import math

from advisor.model.text import bits_text, count_text

__all__ = [
    "SHOWN",
    "bits_counted",
    "capitalised",
    "difference_text",
    "factor_text",
    "factors_apart",
    "ordinal",
    "percent_text",
    "ranks_apart",
    "ratio_text",
]

_SMALL_RATIO_BITS = 30
"""Rank ratios up to 2^30 are also written out as plain numbers."""

_SMALL_RATIO = 1000
"""Smaller ratios are written to 3 significant digits, larger ones as counts are."""

SHOWN = 3
"""Names a list of the rationale shows (correlations per shortfall list); the rest are counted."""

_PLAIN_PERCENT = 1e-4
"""Smaller percentages are written as under it (``under 0.0001%``), not as a row of zeros."""


def factor_text(value: float, least: int = 3) -> str:
    """Write a factor of the score with ``least`` significant digits, more up to 6 if it reads 1.

    A coherence short of the best on a small share of the weight (x0.99956) read x1 beside the
    two coherences it compares.
    """
    for digits in range(least, max(least, 6) + 1):
        written = f"{value:.{digits}g}"
        if value >= 1 or written != "1":
            break
    return written


def factors_apart(value: float, other: float) -> tuple[str, str]:
    """Write two factors of the score as :func:`factor_text` does, told apart in their digits.

    Up to 9: coherences of 0.25 and 0.24 on a small share of the weight read "times 0.939
    against 0.939", as if the factor that tells them apart were equal.
    """
    for digits in range(3, 10):
        written = factor_text(value, digits), factor_text(other, digits)
        if written[0] != written[1]:
            break
    return written


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``, ``21st``."""
    teens = 10 <= number % 100 <= 20
    suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def difference_text(value: float) -> str:
    """Write a positive difference with 2 decimals, or 2 significant digits when smaller."""
    return f"{value:.2f}" if value >= 0.005 else f"{value:.2g}"


def capitalised(text: str) -> str:
    """Return ``text`` with its first letter a capital, to open a sentence."""
    return text[:1].upper() + text[1:]


def percent_text(share: float) -> str:
    """Write a share in whole percents, but never 0% above nothing nor 100% below all.

    A pick using 0.4% of a large budget, or a reference net reaching 0.008% of a target, reads
    as such (one significant digit), and 99.6% is not rounded up to the whole.
    """
    if 0 < share < 0.01:
        value = 100 * share
        if value < _PLAIN_PERCENT:
            return f"under {_PLAIN_PERCENT:f}".rstrip("0") + "%"
        # One significant digit, written as the shares of 1% and more are: 0.996% read "1.0%"
        # beside "1%", and 0.0996% "0.10%".
        return f"{value:.1g}%"
    if 0.99 < share < 1:
        return f"{math.floor(1000 * share) / 10:g}%"
    return f"{share:.0%}"


def ranks_apart(rank: float, target: float) -> tuple[str, str]:
    """Write a rank short of its target (or of another's rank), and that, told apart.

    Written as :func:`~advisor.model.text.bits_text` writes them, 370.0 of 371.7; a rank 0.04
    bits short read "371.7 of 371.7" beside "falls short". More decimals then, up to six, and
    past that the rank rounded down and the target up, so the rank never reads as the target.
    The two are compared to the same decimals, not as ``bits_text`` shortens a whole figure: a
    rank a millionth short of a target of 384 read "384.0 of 384".
    """
    for decimals in range(1, 7):
        if f"{rank:,.{decimals}f}" != f"{target:,.{decimals}f}":
            return bits_text(rank, decimals), bits_text(target, decimals)
    return f"{math.floor(rank * 1e6) / 1e6:,.6f}", f"{math.ceil(target * 1e6) / 1e6:,.6f}"


def bits_counted(bits: float) -> str:
    """Write a figure in bits with its noun: ``1 bit``, ``4.5 bits``."""
    return f"{bits_text(bits)} {'bit' if bits == 1 else 'bits'}"


def ratio_text(bits: float) -> str:
    """Write a rank ratio of ``bits``: ``+5 bits, x2^5 = x32``; up to 2^30 also as a number.

    Below a thousand to 3 significant digits (``x1.41``), above as counts are written
    (:func:`~advisor.model.text.count_text`): ``.3g`` wrote 2^17.7 as ``x2.1e+05`` beside
    comma-grouped parameter counts.
    """
    text = f"+{bits_counted(bits)}, x2^{bits_text(bits)}"
    if bits <= _SMALL_RATIO_BITS:
        ratio = 2.0**bits
        text += f" = x{ratio:.3g}" if ratio < _SMALL_RATIO else f" = x{count_text(round(ratio))}"
    return text
