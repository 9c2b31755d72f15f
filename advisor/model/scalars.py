"""How a request's number and flag fields read NumPy's scalars: as the Python values they equal.

The client is called from NumPy code, so a count may arrive as ``np.int64(3)`` and a flag as
``np.True_``. Left to pydantic, a number field reads ``np.True_`` as 1 (lax integers, and floats
even when strict, take anything with ``__index__`` or ``__float__``), where Python's ``True`` is
refused; a strict integer field (a task's or an architecture's) refuses ``np.int64``, which a
budget's lax one takes; and a flag field reads ``"no"``, ``"off"``, 0 or 1.0 as booleans. These
validators make every field read alike: a NumPy integer is the ``int`` it equals, a boolean
(Python's or NumPy's) is never a number, and nothing else is a boolean. The one rule serves the
budget, the task, the architecture and the client's own arguments.
"""

from __future__ import annotations

import math
import numbers
import types
from pathlib import Path
from typing import Annotated, Any, Final, TypeAlias, TypeGuard, get_args

import numpy as np
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from advisor.usage import EMPTY_PATH
from advisor.validation_messages import FLOAT_FOR_INTEGER

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "PositiveInt32",
    "StrictWhole",
    "boolean_problem",
    "finite_number",
    "is_boolean",
    "numpy_integer",
    "setting_value",
    "whole_number",
]

INT32_MAX: Final = 2**31 - 1
"""Largest value of a request field carried as ``int32`` on the wire."""

INT64_MAX: Final = 2**63 - 1
"""Largest value of a request field carried as ``int64`` on the wire."""


def whole_number(value: object) -> int | None:
    """Return ``value`` as the ``int`` it equals if it is a whole number, else None.

    The rule of a budget's counts and of every integer argument (a rank, a retry count, a
    message size): an ``int``, a NumPy integer, or a finite float with no fractional part
    (``2.0``, ``2e5``, NumPy's too), as Python callers write counts; never a boolean (Python's
    or NumPy's), a text or a fraction. A document's integer field is stricter: it refuses a
    float (:data:`StrictWhole`).
    """
    if is_boolean(value):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():  # inf, NaN: False
        return int(value)
    return None


def is_boolean(value: object) -> TypeGuard[bool | np.bool_]:
    """Return whether ``value`` is a boolean, Python's or NumPy's (which is no ``int``)."""
    return isinstance(value, bool | np.bool_)


def boolean_problem(value: object) -> str | None:
    """Return why ``value`` is refused where a flag is taken, or None for a boolean.

    Only a boolean is one: ``"no"``, ``"false"``, 0 or 1.0 are not read as one, since a caller
    who wrote them may have meant something else (``bool("no")`` is True).
    """
    return None if is_boolean(value) else f"must be True or False; got {value!r}"


def _given_type(annotation: object) -> object:
    """Return the type a setting of ``annotation`` has when it is given: ``int`` of ``int | None``.

    An optional setting (``worker_max_memory_mib: int | None``) is checked as its type once a
    value is given, or ``worker_max_memory_mib: true`` would be read as 1 MiB.
    """
    if isinstance(annotation, types.UnionType):
        given = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(given) == 1:
            return given[0]
    return annotation


def setting_value(annotation: object, value: Any) -> Any:
    """Before-validator of a setting of ``annotation``: a boolean flag, a number, a given path.

    A server's settings and limits come from a YAML or JSON file, where pydantic's lax mode
    read ``workers: true`` as 1 worker, ``workers: 1.0`` as 1, ``grace_seconds: true`` as 1 s
    and ``reflection: "yes"``, ``1`` or ``"off"`` as a flag, and ``katib_data_dir: ""`` as the
    working directory: a mistake there is refused, as a document's would be (a document's
    integer field refuses ``16.0``, :data:`StrictWhole`). Texts stay numbers (``--limit
    NAME=VALUE`` hands its values on as texts), a float's text (``'16.0'``) no integer either.
    Fields of other types are left to pydantic.
    """
    kind = _given_type(annotation)
    if kind is bool and not is_boolean(value):
        raise PydanticCustomError(
            "bool_type", "Input should be true or false, got {value}", {"value": repr(value)}
        )
    if kind is int and is_boolean(value):
        raise PydanticCustomError("int_type", "Input should be a valid integer, not a boolean")
    if kind is int and _written_as_float(value):
        raise PydanticCustomError("int_type", FLOAT_FOR_INTEGER, {"value": repr(value)})
    if kind is float and is_boolean(value):
        raise PydanticCustomError("float_type", "Input should be a valid number, not a boolean")
    if kind is Path and value == "":
        # pydantic reads "" as Path("."): a data directory or a certificate given as nothing
        # would silently be the working directory.
        raise PydanticCustomError("path_empty", EMPTY_PATH)
    return value


def _written_as_float(value: object) -> bool:
    """Whether ``value`` is a float, or a float's text (``'16.0'``), which pydantic reads as 16.

    ``--workers 1.0`` is refused as no whole number; a setting's file and ``--limit`` are read
    alike.
    """
    return isinstance(value, float | np.floating) or (isinstance(value, str) and "." in value)


def numpy_integer(value: Any) -> Any:
    """Before-validator of an integer field: a NumPy integer as the ``int`` it equals.

    Anything else is left to the field: a strict one refuses floats, texts and booleans,
    ``np.True_`` included (NumPy's boolean is no ``np.integer``).
    """
    return int(value) if isinstance(value, np.integer) else value


def finite_number(value: Any) -> Any:
    """Before-validator of a float field: refuse a boolean, a text, NaN, infinities, huge integers.

    pydantic reads ``np.True_`` as 1.0 even in a strict field, and a lax one reads ``"3"``; of
    an integer too large for a float (``10**400``) it says "Input should be a valid number",
    which it is, and of NaN or -inf in a field that must be positive "Input should be greater
    than 0" (its bound is checked before finiteness): each refusal says what is wrong.
    """
    if is_boolean(value) or isinstance(value, str):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", _not_finite(float(value)))
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            raise PydanticCustomError(
                "finite_number",
                "Input should be a finite number; this integer is too large for a float (past "
                "about 1.8e308)",
            ) from None
    return value


def _not_finite(value: float) -> str:
    """Say that ``value``, NaN or an infinity, is no finite number, and how a file writes one.

    A file's ``1e999`` reads as ``inf``: "Input should be a finite number" alone named a value the
    file does not write, where a huge integer is told it is too large for a float.
    """
    if math.isnan(value):
        return "Input should be a finite number, not nan"
    return (
        f"Input should be a finite number, not {value} (a number written past about 1.8e308, "
        "such as 1e999, is read as infinite)"
    )


StrictWhole: TypeAlias = Annotated[int, BeforeValidator(numpy_integer), Field(strict=True)]
"""An integer field of a document: an ``int`` or a NumPy integer; a float (even ``2.0``), a text
or a boolean is a mistake to report, not a number to coerce."""

PositiveInt32: TypeAlias = Annotated[StrictWhole, Field(gt=0, le=INT32_MAX)]
"""A positive count of a document that the wire carries as ``int32``: a width, M, the outputs,
a window, the input's channels. Bounded here, in the library, so a task or an architecture it
takes can always be sent to a server, which refuses the same values on the same field; without
the bound the library analysed a net of 2^31 channels that the client could not send."""
