"""How integers are read from text: a document's, and a budget count's from a command or setting.

The JSON reader (:mod:`advisor.model.documents`) and the YAML one
(:mod:`advisor.model.strict_yaml`) both read integers here (:func:`read_integer`), so a number too
long for any field is refused alike in either format; a module of its own, so the two readers
import it and not each other. A budget count given as text (the ``advisor recommend`` options,
Katib's algorithm settings) is read by :func:`read_count`, the one rule a budget's counts follow
everywhere (a seed's too, :func:`read_seed`): a whole number, which a whole float writes too
(``2e5``, ``100000.0``), as a budget built in Python takes ``2e5``. Standard library only: the
command's parser loads it.
"""

from __future__ import annotations

import decimal
import re
from typing import Final

__all__ = ["MAX_INTEGER_DIGITS", "CountTooLongError", "read_count", "read_integer", "read_seed"]

MAX_INTEGER_DIGITS = 4300
"""Most digits of an integer a document may write: Python's own bound on converting decimal
text (``sys.get_int_max_str_digits()``'s default), far past any field's range (a weight, the
widest, takes 309)."""


def read_integer(text: str, base: int = 10) -> int:
    """Return the integer ``text`` writes in ``base`` (a sign included): JSON's and YAML's reader.

    Raises
    ------
    ValueError
        For one of more than :data:`MAX_INTEGER_DIGITS` digits, saying so: Python's own refusal
        tells a user who wrote a file to call ``sys.set_int_max_str_digits()``.
    """
    digits = len(text.lstrip("+-"))
    if digits > MAX_INTEGER_DIGITS:
        raise ValueError(
            f"an integer of {digits:,} digits: no field takes a number that long (at most "
            f"{MAX_INTEGER_DIGITS:,} digits)"
        )
    return int(text, base)


_DIGITS = r"\d(?:_?\d)*"
_NUMBER: Final = re.compile(rf"[+-]?{_DIGITS}(?:\.(?:{_DIGITS})?)?(?:[eE][+-]?{_DIGITS})?")
"""A number as Python writes one: an underscore only between two digits (``200_000``, not
``_200000`` or ``1__0``, which :class:`decimal.Decimal` takes), no ``inf`` or ``nan``."""

_COUNT_DIGITS = 30
"""Digits past which a count is refused before it is spelt out: 2^63 has 19."""

_SI_PREFIXES: Final = {"k": 3, "K": 3, "M": 6, "G": 9, "T": 12}
"""The decimal prefixes a count may end in, as their powers of ten (``25M`` parameters): the SI
prefixes (``K`` too, as ``numfmt`` and model cards write a thousand); no ``m``, which is milli."""


class CountTooLongError(ValueError):
    """A count written with more digits than any budget has (``1e999999999``), said so."""


def read_count(text: str) -> int:
    """Read a whole number as written: ``200000``, ``200_000``, ``2e5`` or ``200k`` (exactly whole).

    A parameter or multiply-add budget is often written in scientific notation or with a decimal
    prefix, as model sizes are quoted (``25M``, ``1.5G``: powers of 1000, :data:`_SI_PREFIXES`);
    every other budget count is read alike, so ``2e5`` or ``5.0`` is one rule for all of them.

    Raises
    ------
    ValueError
        For ``2.5e-1``, ``1e3k``, ``inf`` or a prefixed number that is not whole (``1.0005k``),
        with the text as its message.
    CountTooLongError
        For a number of more than :data:`_COUNT_DIGITS` digits, saying so.
    """
    written = text.strip()
    power = _SI_PREFIXES.get(written[-1:], 0)
    number = written[:-1] if power else written
    if not _NUMBER.fullmatch(number) or (power and "e" in number.lower()):
        raise ValueError(text)
    sign, digits, exponent = decimal.Decimal(number).as_tuple()
    value = decimal.Decimal((sign, digits, int(exponent) + power))  # exact, unlike scaleb
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(text)
    if value.adjusted() > _COUNT_DIGITS:
        # Spelling out 1e999999999 would take minutes; every bound is far below it.
        raise CountTooLongError(f"{text} is larger than any budget (2^63 - 1 at most)")
    return int(value)


def read_seed(text: str) -> int:
    """Read a seed as :func:`read_count` reads a count; one too long is told a seed's range.

    A seed is no budget: ``2e40`` was refused as "larger than any budget", which told its writer
    nothing of the seeds there are.

    Raises
    ------
    ValueError
        As :func:`read_count`.
    CountTooLongError
        For a number of more than :data:`_COUNT_DIGITS` digits, saying what a seed may be.
    """
    try:
        return read_count(text)
    except CountTooLongError:
        raise CountTooLongError(
            f"{text} is larger than any seed (a seed runs from 0 to 2^63 - 1)"
        ) from None
