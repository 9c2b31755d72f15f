"""How a request's number fields read NumPy's scalars: a NumPy boolean is no number.

The client is called from NumPy code, so a flag may arrive as ``np.True_`` where a number was
meant. Left to pydantic, a number field reads it as 1 (lax integers, and floats even when
strict, take anything with ``__index__`` or ``__float__``), where Python's ``True`` is refused.
These validators make every field read both booleans alike; the one rule serves the budget and
the task.
"""

from __future__ import annotations

from typing import Any, TypeGuard

import numpy as np
from pydantic_core import PydanticCustomError

__all__ = ["finite_number", "is_boolean"]


def is_boolean(value: object) -> TypeGuard[bool | np.bool_]:
    """Return whether ``value`` is a boolean, Python's or NumPy's (which is no ``int``)."""
    return isinstance(value, bool | np.bool_)


def finite_number(value: Any) -> Any:
    """Before-validator of a float field: refuse a boolean or a text, as a number it is not.

    pydantic reads ``np.True_`` as 1.0 even in a strict field, and a lax one reads ``"3"``.
    """
    if is_boolean(value) or isinstance(value, str):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value
