"""How a request's number and flag fields read NumPy's scalars: a NumPy boolean is a boolean.

The client is called from NumPy code, so a flag may arrive as ``np.True_``. Left to pydantic, a
number field reads it as 1 (lax integers, and floats even when strict, take anything with
``__index__`` or ``__float__``), where Python's ``True`` is refused, and a flag field reads
``"no"``, ``"off"``, 0 or 1.0 as booleans. These validators make every field read both booleans
alike, as booleans and nothing else; the one rule serves the budget, the task and the client's
own arguments.
"""

from __future__ import annotations

from typing import Any, TypeGuard

import numpy as np
from pydantic_core import PydanticCustomError

__all__ = ["boolean_problem", "finite_number", "is_boolean"]


def is_boolean(value: object) -> TypeGuard[bool | np.bool_]:
    """Return whether ``value`` is a boolean, Python's or NumPy's (which is no ``int``)."""
    return isinstance(value, bool | np.bool_)


def boolean_problem(value: object) -> str | None:
    """Return why ``value`` is refused where a flag is taken, or None for a boolean.

    Only a boolean is one: ``"no"``, ``"false"``, 0 or 1.0 are not read as one, since a caller
    who wrote them may have meant something else (``bool("no")`` is True).
    """
    return None if is_boolean(value) else f"must be True or False; got {value!r}"


def finite_number(value: Any) -> Any:
    """Before-validator of a float field: refuse a boolean or a text, as a number it is not.

    pydantic reads ``np.True_`` as 1.0 even in a strict field, and a lax one reads ``"3"``.
    """
    if is_boolean(value) or isinstance(value, str):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value
