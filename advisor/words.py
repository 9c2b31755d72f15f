"""How the tools say counts and numbers: a count with its noun, a number as a refusal names it.

A module of its own below every other, so the error messages (:mod:`advisor.errors`) say their
counts and numbers the way every other message does: :func:`counted` (``1 design``, ``1,024
entries``), :func:`number_text` (a number a refusal names) and :func:`exact_float` (a float as
the shortest text that reads back as it).
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Final

__all__ = ["counted", "exact_float", "number_text"]


def counted(count: int, noun: str, plural: str = "") -> str:
    """Write a count with its noun, singular for one: ``1 design``, ``1,024 entries``.

    ``plural`` is the noun's plural where it is not the noun and an ``s`` (``entries``).
    """
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def exact_float(value: float) -> str:
    """Return ``value`` as the shortest text that reads back as it: ``120.5``, ``7200`` for 7200.0.

    A refusal quotes a value and its limit apart (``3600.0000000000005`` over ``3600``), where
    a fixed number of digits rounds them to the same text.
    """
    return repr(float(value)).removesuffix(".0")


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,400}")
"""The text of an integer as a number field reads it (at most 400 digits: no long ``int()``)."""


_MOST_DIGITS: Final = 24
"""The longest integer a message writes in full (:func:`number_text`)."""


def number_text(value: object) -> str:
    """Write a number a message names: ``2,097,152``, ``60.5``, ``7,200`` for 7200.0.

    An integer with thousands separators; one of more than :data:`_MOST_DIGITS` digits by its
    length (``a 301-digit number``): ``10**300`` in full would be most of the message, past 400
    characters the service cuts it, and past 4,300 digits Python refuses to write it at all. A
    whole float as the integer it is; another as :func:`exact_float` writes it: ``%g``'s six
    digits wrote a time limit of 60.0000001 seconds as "60", over a limit of 60. An integer's
    text (``--limit max_message_bytes=5000`` hands on ``"5000"``, which the lax field read as
    the number) is written as the number, as the config file's ``5000`` is; anything else as
    ``str`` writes it.
    """
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        value = int(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        digits = _digits(abs(int(value)))
        return f"{int(value):,}" if digits <= _MOST_DIGITS else f"a {digits}-digit number"
    if isinstance(value, float) and value.is_integer() and abs(value) < _WHOLE_FLOATS:
        return f"{int(value):,}"
    if isinstance(value, float):
        return exact_float(value)
    return str(value)


_WHOLE_FLOATS: Final = 1e16
"""Whole floats below this are written as integers are, with separators (``--grace 604801``
read "is 604801: must be at most 604,800", where ``--limit``'s text read "is 604,801"); from it
on, a float's own text (``1e+16``) says what a row of digits past its precision would not."""


def _digits(magnitude: int) -> int:
    """Return how many decimal digits ``magnitude`` (not negative) has, without writing it out.

    Its bit length puts the count at one of two values (a number of ``b`` bits has
    ``floor(b log10 2)`` digits or one more); a power of ten tells which.
    """
    fewest = int(magnitude.bit_length() * math.log10(2))
    return fewest + 1 if magnitude >= 10**fewest else fewest
