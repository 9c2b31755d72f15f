"""The architecture model: a convolutional arithmetic circuit as an architecture file describes it.

An architecture is a representation layer (``representation_kernel``-wide conv from the input
channels to ``representation`` channels, 'same' padding, so the grid is kept), then hidden layers
bottom-up, each a 1x1 conv to ``channels`` followed by pooling over ``pool`` windows (``stride``
per axis when windows overlap), then a linear layer to ``outputs``. ``geometry`` says which input
locations share a window (DESIGN.md "Architecture file"; THEORY.md §1 and §4).

Every rule of the file format is checked here, once, and reported as an
:class:`~advisor.errors.InvalidRequestError` naming the offending field: windows must tile the grid
they pool, the last pooling must be global, and a named geometry must fit the schedule.
:func:`validate_schedule` exposes the same checks to code that builds schedules without an
:class:`Architecture` (the geometry builders, the search).
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pydantic
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from advisor.errors import FieldViolation, InvalidRequestError, invalid_request_from_pydantic
from advisor.model.documents import read_document
from advisor.model.grid import InputSpec
from advisor.model.parameters import ParameterCount, ParameterModel

__all__ = [
    "Architecture",
    "DilationGeometry",
    "Geometry",
    "Layer",
    "NamedGeometry",
    "ParameterCount",
    "PermutationGeometry",
    "architecture_document",
    "load_architecture",
    "parameter_count",
    "parse_architecture",
    "validate_permutation",
    "validate_schedule",
]

# Strict: a document's `true`, `2.5` or `"2"` is a mistake to report, not a number to coerce.
_PositiveInt = Annotated[int, Field(strict=True, gt=0)]
_Int = Annotated[int, Field(strict=True)]

NamedGeometry: TypeAlias = Literal["contiguous", "mirror", "interleaved"]


class PermutationGeometry(BaseModel):
    """Position ``p`` of the permuted input holds original location ``permutation[p]``.

    Standard contiguous pooling then runs on the permuted input, so the first window of a 2-D
    input pooled ``[2, 2]`` is ``{P[0], P[1], P[W], P[W + 1]}``. Any pooling tree with equal windows
    per level is such a permutation (THEORY.md §4); it must be a permutation of ``range(N)``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    permutation: tuple[_Int, ...]


class DilationGeometry(BaseModel):
    """The tree of a 1-D stack of size-2 convs with dilation ``dilations[l]`` in layer ``l``.

    Level ``l`` merges locations whose indices differ only in bit ``log2(dilations[l])``
    [CTS18]; the dilations are a permutation of ``1, 2, 4, ..., 2^(L-1)`` and every layer pools 2.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dilations: tuple[_Int, ...]


def _geometry_kind(value: Any) -> str | None:
    # Pick the union member from the document's shape so a bad geometry gets one error from the
    # member it meant (tags start upper-case: errors.field_path drops them from the field path).
    if isinstance(value, str):
        return "NamedGeometry"
    if isinstance(value, PermutationGeometry) or (
        isinstance(value, Mapping) and "permutation" in value
    ):
        return "PermutationGeometry"
    if isinstance(value, DilationGeometry) or (isinstance(value, Mapping) and "dilations" in value):
        return "DilationGeometry"
    return None


Geometry: TypeAlias = Annotated[
    Annotated[NamedGeometry, Tag("NamedGeometry")]
    | Annotated[PermutationGeometry, Tag("PermutationGeometry")]
    | Annotated[DilationGeometry, Tag("DilationGeometry")],
    Discriminator(
        _geometry_kind,
        custom_error_type="geometry_kind",
        custom_error_message=(
            "must be contiguous, mirror, interleaved, {permutation: [...]} or {dilations: [...]}"
        ),
    ),
]


class Layer(BaseModel):
    """A hidden layer: a 1x1 conv to ``channels``, then pooling over ``pool`` windows.

    ``pool`` and ``stride`` have one entry per input axis. ``stride`` is given only for
    overlapping windows: ``1 <= stride <= pool`` per axis, smaller than ``pool`` on some axis,
    and equal to it on an axis that has a single window. Omitted, it equals ``pool``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: _PositiveInt
    pool: tuple[_PositiveInt, ...] = Field(min_length=1)
    stride: tuple[_PositiveInt, ...] | None = Field(default=None, min_length=1)

    @property
    def step(self) -> tuple[int, ...]:
        """The window step per axis: ``stride`` if given, else ``pool``."""
        return self.pool if self.stride is None else self.stride


class Architecture(BaseModel):
    """A ConvAC in the DESIGN.md architecture-file format, validated as a whole on construction.

    Construct it from a document with :func:`parse_architecture`, which turns every problem into
    an :class:`~advisor.errors.InvalidRequestError`; the semantic checks below raise that error
    directly, naming ``layers[i].pool``, ``layers[i].stride`` or ``geometry...``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: InputSpec
    representation: _PositiveInt = Field(description="M, the representation channels.")
    layers: tuple[Layer, ...] = Field(min_length=1, description="Hidden layers, bottom-up.")
    geometry: Geometry = "contiguous"
    outputs: _PositiveInt = Field(default=1, description="Y, the number of outputs.")
    family: str | None = Field(
        default=None, min_length=1, description="Where the architecture came from (provenance)."
    )
    representation_kernel: _PositiveInt = Field(
        default=1, description="k: the representation layer is a k x k conv with 'same' padding."
    )

    @model_validator(mode="after")
    def _check_schedule_and_geometry(self) -> Architecture:
        validate_schedule(
            self.input.shape,
            [layer.pool for layer in self.layers],
            [layer.stride for layer in self.layers],
            self.geometry,
        )
        return self

    @property
    def widths(self) -> tuple[int, ...]:
        """The hidden channel counts ``r_0, ..., r_{L-1}``, bottom-up."""
        return tuple(layer.channels for layer in self.layers)

    @property
    def parameters(self) -> int:
        """Total trainable parameters (:mod:`advisor.model.parameters`)."""
        return int(_parameter_model(self).count([(self.representation, *self.widths)])[0])

    @property
    def is_overlapping(self) -> bool:
        """True when some pooling windows overlap, so the network is not a tree."""
        return any(layer.stride is not None for layer in self.layers)


def validate_schedule(
    shape: Sequence[int],
    pools: Sequence[Sequence[int]],
    strides: Sequence[Sequence[int] | None] | None = None,
    geometry: Geometry = "contiguous",
) -> list[tuple[int, ...]]:
    """Check a pooling schedule and geometry on a grid; return the grid each layer pools.

    Parameters
    ----------
    shape
        The input grid, ``[N]`` or ``[H, W]``.
    pools, strides
        Per layer, the window size and step per axis (a ``None`` stride means the windows do
        not overlap). Windows must tile the grid they pool: each axis divisible by the pool, or
        ``(n - pool) % stride == 0`` when they overlap; the last pooling must be global.
    geometry
        The geometry the schedule must fit (mirror, interleaved and dilations constrain it).

    Returns
    -------
    list of tuple of int
        ``L + 1`` grid shapes: the input, then the output of every layer (the last is all ones).

    Raises
    ------
    InvalidRequestError
        Naming ``layers[i].pool`` or ``layers[i].stride`` (with the grid at that layer), or
        ``geometry`` / ``geometry.permutation`` / ``geometry.dilations``.
    """
    steps = [None] * len(pools) if strides is None else list(strides)
    if len(steps) != len(pools):
        raise ValueError(f"{len(pools)} pools but {len(steps)} strides")
    if not pools:
        raise InvalidRequestError.single("layers", "needs at least one layer")
    grids = _grids(tuple(shape), pools, steps)
    _check_geometry(geometry, grids, pools, steps)
    return grids


def _grids(
    shape: tuple[int, ...], pools: Sequence[Sequence[int]], strides: Sequence[Sequence[int] | None]
) -> list[tuple[int, ...]]:
    axes_problems = [
        FieldViolation(
            f"layers[{i}].{name}", f"has {len(v)} entries, the input has {len(shape)} axes"
        )
        for i, (pool, stride) in enumerate(zip(pools, strides, strict=True))
        for name, v in (("pool", pool), ("stride", stride))
        if v is not None and len(v) != len(shape)
    ]
    if axes_problems:
        raise InvalidRequestError(axes_problems)
    grids = [shape]
    for i, (pool, stride) in enumerate(zip(pools, strides, strict=True)):
        grids.append(_pool_grid(f"layers[{i}]", grids[-1], tuple(pool), stride))
    last = len(pools) - 1
    if math.prod(grids[-1]) != 1:
        raise InvalidRequestError.single(
            f"layers[{last}].pool",
            f"the last pooling must be global, but pool {list(pools[last])} leaves a "
            f"{_text(grids[-1])} grid: the grid at this layer is {_text(grids[-2])} "
            f"(global pool {list(grids[-2])})",
        )
    return grids


def _pool_grid(
    path: str, grid: tuple[int, ...], pool: tuple[int, ...], stride: Sequence[int] | None
) -> tuple[int, ...]:
    """Return the grid one pooling layer leaves, or raise saying why its windows do not tile."""
    step = pool if stride is None else tuple(stride)
    axes = list(zip(grid, pool, step, strict=True))
    at = f"the grid at this layer is {_text(grid)}"

    def reject(name: str, problem: str) -> InvalidRequestError:
        return InvalidRequestError.single(f"{path}.{name}", f"{problem}: {at}")

    if any(k > n for n, k, _ in axes):
        raise reject("pool", f"pool {list(pool)} is larger than the grid")
    if stride is None and any(n % k for n, k, _ in axes):
        raise reject("pool", f"windows {list(pool)} do not tile the grid")
    if stride is not None:
        if any(s > k for _, k, s in axes):
            raise reject("stride", f"stride {list(step)} exceeds pool {list(pool)}")
        if step == pool:
            raise reject("stride", f"stride {list(step)} equals pool, so omit it (no overlap)")
        if any((n - k) % s for n, k, s in axes):
            raise reject(
                "stride",
                f"windows {list(pool)} at stride {list(step)} do not tile the grid "
                "((n - pool) % stride must be 0 on every axis)",
            )
        if any(s < k == n for n, k, s in axes):
            raise reject(
                "stride",
                f"stride {list(step)} is below the pool on an axis that has a single "
                "window, where it must equal the pool",
            )
    return tuple((n - k) // s + 1 for n, k, s in axes)


def _check_geometry(
    geometry: Geometry,
    grids: Sequence[tuple[int, ...]],
    pools: Sequence[Sequence[int]],
    strides: Sequence[Sequence[int] | None],
) -> None:
    """Reject a geometry whose definition does not apply to this schedule."""
    if isinstance(geometry, PermutationGeometry):
        validate_permutation(geometry.permutation, math.prod(grids[0]))
        return
    if geometry == "contiguous":
        return
    name = "dilations" if isinstance(geometry, DilationGeometry) else geometry
    overlapping = [i for i, stride in enumerate(strides) if stride is not None]
    if overlapping:
        raise InvalidRequestError.single(
            "geometry",
            f"the {name} geometry needs non-overlapping windows, but layers[{overlapping[0]}] "
            "has a stride (overlaps allow only contiguous or permutation geometry)",
        )
    if isinstance(geometry, DilationGeometry):
        if len(grids[0]) != 1:
            raise InvalidRequestError.single("geometry", "the dilations geometry needs a 1-D input")
        _check_pools_of_two(name, grids, pools)
        _check_dilations(geometry.dilations, len(pools))
    elif geometry == "mirror":
        _check_pools_of_two(name, grids, pools[:-1])


def _check_pools_of_two(
    name: str, grids: Sequence[tuple[int, ...]], pools: Sequence[Sequence[int]]
) -> None:
    for i, pool in enumerate(pools):
        if any(k != 2 for k in pool):
            raise InvalidRequestError.single(
                "geometry",
                f"the {name} geometry needs pool {[2] * len(pool)} at layers[{i}] "
                f"(the grid there is {_text(grids[i])}), got {list(pool)}",
            )


def validate_permutation(
    permutation: Sequence[int] | npt.NDArray[np.integer[Any]], size: int
) -> None:
    """Check that ``permutation`` is a permutation of ``range(size)``.

    Raises
    ------
    InvalidRequestError
        Naming ``geometry.permutation`` and saying which values are invalid, repeated or missing.
    """
    path = "geometry.permutation"
    if len(permutation) != size:
        raise InvalidRequestError.single(
            path, f"has {len(permutation)} entries, the input has {size} locations"
        )
    values = np.asarray(permutation)
    if values.dtype.kind in "iu" and np.array_equal(np.sort(values), np.arange(size)):
        return
    problems = _set_problems([operator.index(v) for v in permutation], range(size))
    raise InvalidRequestError.single(path, f"must be a permutation of range({size}): {problems}")


def _check_dilations(dilations: Sequence[int], depth: int) -> None:
    path = "geometry.dilations"
    expected = [2**level for level in range(depth)]
    if len(dilations) != depth:
        raise InvalidRequestError.single(
            path, f"has {len(dilations)} entries, the architecture has {depth} layers"
        )
    problems = _set_problems(dilations, expected)
    if problems:
        raise InvalidRequestError.single(path, f"must be a permutation of {expected}: {problems}")


def _set_problems(values: Sequence[int], expected: Sequence[int]) -> str:
    """Say how ``values`` fails to be a permutation of ``expected`` ('' when it is one)."""
    allowed = set(expected)
    seen: set[int] = set()
    repeated: list[int] = []
    unexpected: list[int] = []
    for value in values:
        if value not in allowed:
            unexpected.append(value)
        elif value in seen:
            repeated.append(value)
        seen.add(value)
    missing = [value for value in expected if value not in seen]
    parts = [
        f"{label} {_few(found)}"
        for label, found in (
            ("invalid values", unexpected),
            ("repeated", sorted(set(repeated))),
            ("missing", missing),
        )
        if found
    ]
    return "; ".join(parts)


def _few(values: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _text(grid: Sequence[int]) -> str:
    return "x".join(str(n) for n in grid)


def parameter_count(arch: Architecture) -> ParameterCount:
    """Count the parameters of ``arch`` part by part (:class:`ParameterCount`)."""
    return _parameter_model(arch).breakdown((arch.representation, *arch.widths))


def _parameter_model(arch: Architecture) -> ParameterModel:
    return ParameterModel.for_input(arch.input, arch.representation_kernel, arch.outputs)


def parse_architecture(obj: Mapping[str, Any]) -> Architecture:
    """Validate an architecture document (the parsed YAML/JSON mapping).

    Raises
    ------
    InvalidRequestError
        For every problem, pydantic's included, with the field path of each violation.
    """
    try:
        return Architecture.model_validate(obj)
    except pydantic.ValidationError as exc:
        raise invalid_request_from_pydantic(exc) from None


def load_architecture(path: str | os.PathLike[str]) -> Architecture:
    """Read and validate an architecture file, YAML or JSON (rules of :func:`read_document`).

    Raises
    ------
    InvalidRequestError
        When the file cannot be read or parsed (field ``""``, the whole document) or the
        document is invalid (see :func:`parse_architecture`).
    """
    return parse_architecture(read_document(path, "architecture"))


def architecture_document(arch: Architecture) -> dict[str, Any]:
    """Return ``arch`` in the DESIGN.md file format, JSON-ready; it parses back to ``arch``.

    Optional fields that are unset (``stride``, ``family``) are left out; the others, defaults
    included, are written so a reader needs no knowledge of the defaults.
    """
    document: dict[str, Any] = arch.model_dump(mode="json", exclude_none=True)
    return document
