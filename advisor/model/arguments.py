"""The library functions' check of what they are handed: the model they take, or how to get one.

Also a flag's check (:func:`require_flag`): ``exact="no"`` is truthy, and would ask for what it
refuses; and a progress callback's (:func:`require_callback`): an ``async def`` one would be
called and never awaited.

A caller who hands :func:`~advisor.recommend` a task's mapping, :func:`~advisor.analyze` a
recommendation where its architecture is meant, or :func:`~advisor.analysis_document` a search
result gets an :class:`~advisor.errors.InvalidRequestError` on the parameter, saying what was
expected and how to get it, instead of an ``AttributeError`` from deep inside the engine (or, for
the documents, a document of the wrong kind).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.budget import seed_problem
from advisor.model.scalars import INT32_MAX, boolean_problem, whole_number
from advisor.model.text import article

__all__ = [
    "checked_inference_arguments",
    "checked_integer",
    "checked_seed",
    "require_callback",
    "require_flag",
    "require_instance",
    "require_path",
    "whole_result_hint",
]

_READERS: dict[str, tuple[str, str]] = {
    "Task": ("parse_task", "load_task"),
    "Architecture": ("parse_architecture", "load_architecture"),
}
"""Per document model, the functions that read it from a mapping and from a file."""


def require_instance(
    value: object, expected: type, parameter: str, *, optional: bool = False
) -> None:
    """Refuse ``value`` for ``parameter`` unless it is an ``expected`` (or None, if ``optional``).

    A wrong-typed argument or setting would otherwise fail deep in a library (gRPC's, pydantic's)
    naming nothing.

    Raises
    ------
    InvalidRequestError
        On ``parameter``: what it must be, what it is, and the usual way to get the right one.

    Examples
    --------
    >>> from advisor.model.task import Task
    >>> try:
    ...     require_instance({"input": {"shape": [4]}}, Task, "task")
    ... except InvalidRequestError as error:
    ...     print(error)
    task: must be a Task, got dict: read it with advisor.parse_task first
    """
    if isinstance(value, expected) or (optional and value is None):
        return
    name = expected.__name__
    allowed = f"{article(name)} {name}" + (" or None" if optional else "")
    raise InvalidRequestError.single(
        parameter, f"must be {allowed}, got {type(value).__name__}{_how_to_get(value, name)}"
    )


def require_path(value: object, parameter: str, model: str) -> None:
    """Refuse ``value`` for ``parameter`` of a file reader of ``model`` unless it is a file path.

    A ``str`` or an ``os.PathLike``: ``load_task(document)``, a mapping meant for
    :func:`~advisor.model.task.parse_task`, failed with ``open``'s ``TypeError``, and a
    ``bytes`` path with a ``str`` method's.

    Raises
    ------
    InvalidRequestError
        On ``parameter``: what it must be, what it is, and (a mapping) the reader of one.

    Examples
    --------
    >>> try:
    ...     require_path({"input": {"shape": [4]}}, "path", "Task")
    ... except InvalidRequestError as error:
    ...     print(error)
    path: must be a file path (str or os.PathLike), got dict: advisor.parse_task reads a mapping
    """
    if isinstance(value, str | os.PathLike):
        return
    hint = f": advisor.{_READERS[model][0]} reads a mapping" if isinstance(value, Mapping) else ""
    raise InvalidRequestError.single(
        parameter, f"must be a file path (str or os.PathLike), got {type(value).__name__}{hint}"
    )


def require_flag(value: object, parameter: str) -> bool:
    """Return ``value`` as a ``bool`` if it is a boolean (NumPy's too), as a budget's flags read it.

    A truthy string such as ``"no"`` is refused, not read (:func:`boolean_problem`).

    Raises
    ------
    InvalidRequestError
        On ``parameter`` when ``value`` is no boolean.
    """
    problem = boolean_problem(value)
    if problem is not None:
        raise InvalidRequestError.single(parameter, problem)
    return bool(value)


def checked_integer(field: str, value: object, lowest: int, highest: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is a whole number from ``lowest`` to ``highest``.

    A whole float (``2.0``, ``4e6``) is the ``int`` it equals, as a budget's count reads it
    (:func:`~advisor.model.scalars.whole_number`); a fraction, a string or a bool is refused
    rather than converted. ``highest`` None means no upper bound.

    Raises
    ------
    InvalidRequestError
        On ``field``, saying the range and what was given.
    """
    number = whole_number(value)
    if number is not None and lowest <= number and (highest is None or number <= highest):
        return number
    bounds = f"at least {lowest:,}" if highest is None else f"from {lowest:,} to {highest:,}"
    raise InvalidRequestError.single(field, f"must be a whole number {bounds}; got {value!r}")


def checked_seed(field: str, seed: object) -> int:
    """Return ``seed`` if it is a whole number a seed may be (:func:`seed_problem`'s range).

    The one check of a seed argument, the library's, the client's and the service's alike: a
    negative one would be run quietly as another seed, a float failed inside METIS.

    Raises
    ------
    InvalidRequestError
        On ``field``: not a whole number, or outside 0 to 2^63 - 1.
    """
    number = whole_number(seed)
    if number is None:
        raise InvalidRequestError.single(field, f"must be a whole number; got {seed!r}")
    problem = seed_problem(number)
    if problem is not None:
        raise InvalidRequestError.single(field, problem)
    return number


def checked_inference_arguments(outputs: object, seed: object) -> tuple[int | None, int]:
    """Return ``outputs`` and ``seed`` as whole numbers, refusing what no request could carry.

    ``outputs``: None or 1 to 2^31 - 1 (its wire field's ``int32``); ``seed``: 0 to 2^63 - 1
    (:func:`checked_seed`). Checked before any work, whatever the graph
    shows: the task reads ``outputs`` only when a candidate is kept, so an unchecked count was
    refused on a graph showing dependence and accepted, into a report without a task, on one
    showing none; a negative seed ran quietly as another one, and a float failed inside METIS.
    The library's :func:`~advisor.infer.task.infer_task`, the service's ``InferTask`` and the
    client's ``infer_task`` (before it computes the graph) check their arguments here.

    Raises
    ------
    InvalidRequestError
        On ``outputs`` and ``seed``, each that is wrong (a bad seed beside bad outputs was named
        only once the outputs were mended).
    """
    violations: list[FieldViolation] = []
    counted = None
    try:
        counted = None if outputs is None else checked_integer("outputs", outputs, 1, INT32_MAX)
    except InvalidRequestError as error:
        violations += error.violations
    try:
        number = checked_seed("seed", seed)
    except InvalidRequestError as error:
        raise InvalidRequestError([*violations, *error.violations]) from None
    if violations:
        raise InvalidRequestError(violations)
    return counted, number


def require_callback(value: object, parameter: str) -> None:
    """Refuse ``value`` for ``parameter`` unless it is a plain callable (or None) for each event.

    A coroutine function (``async def``), or an object whose ``__call__`` is one, is callable,
    but calling it only makes a coroutine: no event reached it, and all a caller saw was
    Python's "coroutine ... was never awaited" warning, pointing inside the search. The search
    and the client call their callback on the calling thread, which may be an executor's worker
    of an asyncio program; such a program hands each event to its loop itself.

    Raises
    ------
    InvalidRequestError
        On ``parameter`` when ``value`` is neither None nor a plain callable.

    Examples
    --------
    >>> async def on_progress(event):
    ...     pass
    >>> try:
    ...     require_callback(on_progress, "progress")
    ... except InvalidRequestError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    progress: is a coroutine function (async def), which would be called and never awaited...
    """
    if value is None:
        return
    if not callable(value):
        raise InvalidRequestError.single(
            parameter,
            f"must be callable with a SearchProgress, or None; got {type(value).__name__}",
        )
    if inspect.iscoroutinefunction(value) or inspect.iscoroutinefunction(type(value).__call__):
        raise InvalidRequestError.single(
            parameter,
            "is a coroutine function (async def), which would be called and never awaited, "
            "so no event would reach it: pass a plain function, e.g. one that hands each event "
            "to the event loop (loop.call_soon_threadsafe(queue.put_nowait, event))",
        )


def whole_result_hint(value: object) -> str:
    """Return how to get an architecture from ``value`` when it is a whole search result, or "".

    A result of ``recommend`` (it has ``recommendations``) handed where one architecture goes
    was refused without a hint, where a recommendation is told to pass its ``.architecture``.
    """
    if not hasattr(value, "recommendations"):
        return ""
    return ": pass a recommendation's .architecture (result.recommendations[0].architecture)"


def _how_to_get(value: object, name: str) -> str:
    """Return ": <how to get a ``name``>" for the likely mistake ``value`` is, or ""."""
    readers = _READERS.get(name)
    if name == "Architecture" and hasattr(value, "architecture"):
        return ": pass its .architecture"
    if name == "Architecture" and (hint := whole_result_hint(value)):
        return hint
    if readers is not None and isinstance(value, Mapping):
        return f": read it with advisor.{readers[0]} first"
    if readers is not None and isinstance(value, str | os.PathLike):
        return f": read the file with advisor.{readers[1]} first"
    if name == "Budget" and isinstance(value, Mapping):
        return ": build it with advisor.Budget(**options)"
    if name == "Budget" and isinstance(value, int | float):
        return ": advisor.Budget(max_parameters=...) is a parameter budget"
    if name == "StopSignal" and isinstance(value, int | float):
        return ": StopSignal.after(seconds) stops that many seconds from now"
    return ""
