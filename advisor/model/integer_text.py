"""How a document's integers are read: at most :data:`MAX_INTEGER_DIGITS` digits, said plainly.

The JSON reader (:mod:`advisor.model.documents`) and the YAML one
(:mod:`advisor.model.strict_yaml`) both read integers here, so a number too long for any field is
refused alike in either format; a module of its own, so the two readers import it and not each
other.
"""

from __future__ import annotations

__all__ = ["MAX_INTEGER_DIGITS", "read_integer"]

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
