"""A data sample as a caller gives it, and its dependence graph: what an inference starts from.

The client's ``infer_task`` and the library's (:mod:`advisor.infer.inference`) take the same
data and the same arguments, checked here by the same rules and in the same order, so both
refuse alike and infer from the same graph. Importing this module loads numpy and the model
only: the data readers and the estimate (:mod:`advisor.infer.data`,
:mod:`advisor.infer.dependence`) load when a graph is first computed, so importing the client
stays as cheap as before inference existed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.infer.graph import DependenceGraph
from advisor.infer.terms import MAX_TOP_K
from advisor.model.arguments import checked_integer, require_flag

if TYPE_CHECKING:
    import numpy.typing as npt

    from advisor.infer.data import DataSample
    from advisor.infer.dependence import Progress

__all__ = ["DataLike", "GraphOptions", "data_graph", "graph_options"]

DataLike: TypeAlias = "npt.ArrayLike | DataSample | DependenceGraph | str | os.PathLike[str]"
"""A data sample: an array, a file, a :class:`DataSample`, or its dependence graph."""


@dataclass(frozen=True)
class GraphOptions:
    """The checked arguments that read a sample and compute its graph (:func:`graph_options`).

    None leaves the default: the array's shape after its samples axis, and
    :func:`~advisor.infer.dependence.dependence_graph`'s ``top_k`` and ``allow_constant``.
    """

    shape: tuple[int, ...] | None = None
    top_k: int | None = None
    allow_constant: bool | None = None


def graph_options(shape: object, top_k: object, allow_constant: object) -> GraphOptions:
    """Check the arguments that read ``data`` and compute its graph, whatever the data.

    In the client's order: ``top_k``, ``allow_constant``, then ``shape``.

    Raises
    ------
    InvalidRequestError
        On ``top_k`` unless it is a whole number from 1 to ``MAX_TOP_K``, ``allow_constant``
        unless it is a boolean (NumPy's too), ``shape`` unless it is a sequence of positive
        whole numbers (``shape[i]`` for a bad size).
    """
    pairs = None if top_k is None else checked_integer("top_k", top_k, 1, MAX_TOP_K)
    flag = None if allow_constant is None else require_flag(allow_constant, "allow_constant")
    grid = None if shape is None else _checked_shape("shape", shape)
    return GraphOptions(shape=grid, top_k=pairs, allow_constant=flag)


def data_graph(
    data: DataLike, options: GraphOptions, progress: Progress | None = None
) -> DependenceGraph:
    """Return the dependence graph of ``data``, computed here unless ``data`` is one.

    ``options.shape`` reads an array or a file; ``options.top_k`` and ``options.allow_constant``
    compute a graph. Given with data that already fixes them (``shape`` with a ``DataSample``,
    any of them with a ``DependenceGraph``), they would go unread: they are refused instead.
    ``progress`` is told the samples read (:data:`~advisor.infer.dependence.Progress`); an
    exception it raises ends the computation, its file closed.

    Raises
    ------
    InvalidRequestError
        On each such argument, naming it; on ``data`` for bad data.
    """
    computing: dict[str, Any] = {
        name: value
        for name, value in (("top_k", options.top_k), ("allow_constant", options.allow_constant))
        if value is not None
    }
    if isinstance(data, DependenceGraph):
        _refuse_fixed(
            {"shape": options.shape, **computing},
            "an array, a file or a DataSample",
            "DependenceGraph",
        )
        return data
    from advisor.infer.data import DataSample, data_from_array, read_data
    from advisor.infer.dependence import dependence_graph

    if isinstance(data, str | os.PathLike):
        sample = read_data(data, options.shape)
    elif isinstance(data, DataSample):
        _refuse_fixed({"shape": options.shape}, "an array or a file", "DataSample")
        sample = data
    else:
        sample = data_from_array(data, options.shape)
    return dependence_graph(sample, progress=progress, **computing)


def _checked_shape(field: str, shape: object) -> tuple[int, ...]:
    """Return the grid ``shape`` names: a sequence of positive whole numbers (not a string)."""
    if isinstance(shape, str | bytes) or not isinstance(shape, Sequence | np.ndarray):
        raise InvalidRequestError.single(
            field, f"must be a sequence of sizes such as (8, 8); got {shape!r}"
        )
    return tuple(checked_integer(f"{field}[{i}]", n, 1) for i, n in enumerate(shape))


def _refuse_fixed(arguments: Mapping[str, object], applies_to: str, kind: str) -> None:
    """Refuse each of ``arguments`` given (not None): it applies to ``applies_to`` only."""
    violations = [
        FieldViolation(name, f"applies to {applies_to} only; the {kind} already fixes it")
        for name, value in arguments.items()
        if value is not None
    ]
    if violations:
        raise InvalidRequestError(violations)
