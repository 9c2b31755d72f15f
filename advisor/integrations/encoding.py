"""A flat, round-trippable parameter encoding of an architecture, for hyperparameter tools.

Optuna, Ray Tune and Katib store a trial as a flat mapping of names to numbers and strings. An
architecture (of a fixed input, outputs and representation kernel) becomes:

- ``geometry``: ``contiguous``, ``mirror`` or ``interleaved``; ``dilations=1-4-2`` for a dilation
  order; ``FAMILY:ID`` for an explicit permutation, where ``ID`` names the permutation by a digest
  (a permutation has one entry per input location, too long for a parameter) and ``FAMILY`` is the
  architecture's ``family`` (``permutation`` when it has none). The permutations themselves live
  in the codec (:attr:`ArchitectureCodec.permutations`) and in the architecture JSON a trial
  keeps beside its parameters.
- ``schedule``: the pooling window of every level, bottom-up, ``2x2/2x2/8x8`` (1-D: ``2/2/8``),
  followed by the padding when the network pads its input to a friendlier grid: the constant
  locations before and after each axis, ``2x2/2x2/2x2/2x2,pad=0+1x0+1`` for 15x15 pooled as
  16x16 (the padding goes with the windows: they tile the padded grid); ``depth``: the number of
  levels.
- ``representation``: M; ``width_0`` ... ``width_{depth-1}``: the hidden widths, bottom-up.

:meth:`ArchitectureCodec.decode` of :meth:`ArchitectureCodec.encode` returns the architecture
unchanged. What the encoding cannot say is refused, naming the field: overlapping windows
(``layers[i].stride``) and a ``family`` on a named or dilation geometry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Final, TypeAlias, cast

import pydantic

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.architecture import (
    Architecture,
    DilationGeometry,
    PermutationGeometry,
    parse_architecture,
)
from advisor.model.arguments import require_instance
from advisor.model.grid import InputSpec, Padding
from advisor.validation_messages import invalid_request_from_pydantic

__all__ = [
    "DEPTH",
    "GEOMETRY",
    "REPRESENTATION",
    "SCHEDULE",
    "ArchitectureCodec",
    "FlatValue",
    "permutation_id",
    "schedule_text",
    "schedule_windows",
    "width_name",
]

FlatValue: TypeAlias = int | str
"""A parameter value: what every tool accepts as a categorical choice."""

GEOMETRY: Final = "geometry"
SCHEDULE: Final = "schedule"
DEPTH: Final = "depth"
REPRESENTATION: Final = "representation"
_PERMUTATION_FAMILY: Final = "permutation"
_DILATIONS: Final = "dilations"
_NAMED: Final = ("contiguous", "mirror", "interleaved")
_ID_CHARS: Final = 12
_PAD: Final = ",pad="
"""Between a schedule's windows and its padding: no space, so a value survives a shell command line
(a Katib trial template may pass it as one)."""


def width_name(level: int) -> str:
    """Return the parameter name of hidden layer ``level``'s width (0 = the first)."""
    return f"width_{level}"


def permutation_id(permutation: Iterable[int]) -> str:
    """Return the short digest that names a permutation in a ``geometry`` parameter."""
    text = ",".join(str(p) for p in permutation)
    return hashlib.sha256(text.encode()).hexdigest()[:_ID_CHARS]


def schedule_text(pools: Iterable[Iterable[int]], padding: Padding | None = None) -> str:
    """Return a schedule parameter: the windows bottom-up, ``2x2/2x2/8x8``, and any padding.

    >>> schedule_text([(2, 2), (2, 2), (2, 2), (2, 2)], ((0, 1), (0, 1)))
    '2x2/2x2/2x2/2x2,pad=0+1x0+1'
    """
    windows = "/".join("x".join(str(n) for n in pool) for pool in pools)
    if padding is None:
        return windows
    return windows + _PAD + "x".join(f"{before}+{after}" for before, after in padding)


def schedule_windows(schedule: str) -> str:
    """Return a schedule parameter's windows, without its padding.

    >>> schedule_windows("2x2/2x2/2x2/2x2,pad=0+1x0+1")
    '2x2/2x2/2x2/2x2'
    """
    return schedule.partition(_PAD)[0]


class ArchitectureCodec:
    """Encodes and decodes architectures of one input, output count and representation kernel.

    Parameters
    ----------
    input
        The input grid every architecture has.
    outputs, representation_kernel
        Y and k of every architecture.
    permutations
        Permutations a ``geometry`` parameter may name by id; :meth:`encode` adds every one it
        meets.

    Raises
    ------
    InvalidRequestError
        On ``input`` (no :class:`~advisor.model.grid.InputSpec`), ``outputs`` or
        ``representation_kernel`` (what an architecture's field refuses: a whole number of at
        least 1), when made rather than in every :meth:`decode`.
    """

    def __init__(
        self,
        input: InputSpec,
        outputs: int = 1,
        representation_kernel: int = 1,
        permutations: Iterable[Iterable[int]] = (),
    ) -> None:
        require_instance(input, InputSpec, "input")
        self.input = input
        self.outputs = _architecture_field("outputs", outputs)
        self.representation_kernel = _architecture_field(
            "representation_kernel", representation_kernel
        )
        self.permutations: dict[str, tuple[int, ...]] = {}
        for permutation in permutations:
            self.remember(tuple(permutation))

    def remember(self, permutation: tuple[int, ...]) -> str:
        """Record ``permutation`` and return its id."""
        key = permutation_id(permutation)
        self.permutations[key] = permutation
        return key

    def geometry_token(self, architecture: Architecture) -> str:
        """Return the ``geometry`` parameter of ``architecture`` (see the module docstring)."""
        geometry = architecture.geometry
        if isinstance(geometry, PermutationGeometry):
            if architecture.family == _PERMUTATION_FAMILY:
                raise InvalidRequestError.single(
                    "family",
                    f"{_PERMUTATION_FAMILY!r} is the flat encoding's word for a permutation "
                    "without a family; name it otherwise",
                )
            family = architecture.family or _PERMUTATION_FAMILY
            return f"{family}:{self.remember(geometry.permutation)}"
        if architecture.family is not None:
            raise InvalidRequestError.single(
                "family",
                "the flat encoding keeps a family only with a permutation geometry; leave it out",
            )
        if isinstance(geometry, DilationGeometry):
            return f"{_DILATIONS}={'-'.join(str(d) for d in geometry.dilations)}"
        return geometry

    def encode(self, architecture: Architecture) -> dict[str, FlatValue]:
        """Return the flat parameters of ``architecture``.

        Raises
        ------
        InvalidRequestError
            On ``input``, ``outputs`` or ``representation_kernel`` when they differ from the
            codec's, on ``layers[i].stride`` (overlapping windows), on ``mixture`` and on
            ``family`` (see the module docstring).
        """
        self._check_fixed(architecture)
        if architecture.mixture is not None:
            raise InvalidRequestError.single(
                "mixture", "the flat encoding has no mixtures (it would drop all but one tree)"
            )
        for level, layer in enumerate(architecture.layers):
            if layer.stride is not None:
                raise InvalidRequestError.single(
                    f"layers[{level}].stride", "the flat encoding has no overlapping windows"
                )
        params: dict[str, FlatValue] = {
            GEOMETRY: self.geometry_token(architecture),
            SCHEDULE: schedule_text(
                (layer.pool for layer in architecture.layers), architecture.padding
            ),
            DEPTH: len(architecture.layers),
            REPRESENTATION: architecture.representation,
        }
        for level, layer in enumerate(architecture.layers):
            params[width_name(level)] = layer.channels
        return params

    def decode(self, params: Mapping[str, object]) -> Architecture:
        """Return the architecture ``params`` describe (``depth`` may be left out).

        Raises
        ------
        InvalidRequestError
            On ``params`` when it is no mapping; else naming the parameter: missing (``width_3:
            Field required``), of the wrong type, an unknown permutation id, a ``depth`` that
            disagrees with the schedule, or an architecture the rules refuse (a schedule that
            does not tile the input, mirror pooling on a window other than 2).
        """
        require_instance(params, Mapping, "params")
        pools, padding = self._schedule(params)
        depth = params.get(DEPTH, len(pools))
        if depth != len(pools):
            raise InvalidRequestError.single(
                DEPTH, f"is {depth!r} but the schedule has {len(pools)} levels"
            )
        geometry, family = self._geometry(_text(params, GEOMETRY))
        # A parameter left out is a field left out, which the architecture names as missing.
        document = {
            "input": self.input.model_dump(mode="json"),
            **_given(params, REPRESENTATION, "representation"),
            "layers": [
                {**_given(params, width_name(level), "channels"), "pool": list(pool)}
                for level, pool in enumerate(pools)
            ],
            "geometry": geometry,
            "outputs": self.outputs,
            "family": family,
            "representation_kernel": self.representation_kernel,
        }
        if padding is not None:
            document["padding"] = [list(margins) for margins in padding]
        try:
            return parse_architecture(document)
        except InvalidRequestError as error:
            raise InvalidRequestError(
                [FieldViolation(_parameter_of(v.field), v.description) for v in error.violations]
            ) from None

    def _check_fixed(self, architecture: Architecture) -> None:
        for name, mine, theirs in (
            ("input", self.input, architecture.input),
            ("outputs", self.outputs, architecture.outputs),
            (
                "representation_kernel",
                self.representation_kernel,
                architecture.representation_kernel,
            ),
        ):
            if mine != theirs:
                raise InvalidRequestError.single(name, f"is {theirs!r}; this codec's is {mine!r}")

    def _schedule(
        self, params: Mapping[str, object]
    ) -> tuple[list[tuple[int, ...]], Padding | None]:
        """Return the windows and the padding a ``schedule`` parameter names."""
        text = _text(params, SCHEDULE)
        windows, pad, margins = text.partition(_PAD)
        try:
            pools = [tuple(int(n) for n in level.split("x")) for level in windows.split("/")]
            padding = (
                tuple(
                    (int(before), int(after))
                    for before, _, after in (axis.partition("+") for axis in margins.split("x"))
                )
                if pad
                else None
            )
        except ValueError:
            raise InvalidRequestError.single(
                SCHEDULE, f"{text!r} is not windows like 2x2/2x2/8x8, then optionally ,pad=0+1x0+1"
            ) from None
        ndim = len(self.input.shape)
        if any(len(pool) != ndim for pool in pools):
            raise InvalidRequestError.single(SCHEDULE, f"{text!r}: every window needs {ndim} sizes")
        if padding is not None and len(padding) != ndim:
            raise InvalidRequestError.single(
                SCHEDULE, f"{text!r}: the padding needs before+after for each of {ndim} axes"
            )
        return pools, padding

    def _geometry(self, token: str) -> tuple[str | dict[str, list[int]], str | None]:
        """Return the geometry document and family a ``geometry`` parameter names."""
        if token in _NAMED:
            return token, None
        kind, equals, order = token.partition("=")
        if kind == _DILATIONS and equals:
            try:
                return {"dilations": [int(d) for d in order.split("-")]}, None
            except ValueError:
                pass
        kind, colon, detail = token.rpartition(":")  # a family may hold ":"; an id does not
        if colon and detail:
            permutation = self.permutations.get(detail)
            if permutation is None:
                raise InvalidRequestError.single(
                    GEOMETRY, f"permutation id {detail!r} is not one this codec knows"
                )
            family = None if kind == _PERMUTATION_FAMILY else kind
            return {"permutation": list(permutation)}, family
        raise InvalidRequestError.single(
            GEOMETRY,
            f"{token!r} is none of {', '.join(_NAMED)}, dilations=D-D-..., FAMILY:PERMUTATION_ID",
        )


def _architecture_field(name: str, value: object) -> int:
    """Return ``value`` if the architecture's field ``name`` takes it, else refuse it, naming it.

    The field's own rule (its type and bounds), so a codec refuses when made what every
    :meth:`ArchitectureCodec.decode` would, in the same words.
    """
    field = Architecture.model_fields[name]
    # Built at run time from the field; mypy takes no such form as a type.
    adapter: pydantic.TypeAdapter[int] = pydantic.TypeAdapter(
        cast(Any, Annotated[field.annotation, *field.metadata])
    )
    try:
        taken = adapter.validate_python(value)
    except pydantic.ValidationError as error:
        raise invalid_request_from_pydantic(error, name) from None
    return taken


def _given(params: Mapping[str, object], name: str, field: str) -> dict[str, object]:
    """Return ``{field: params[name]}``, or nothing when ``params`` lacks ``name``."""
    return {field: params[name]} if name in params else {}


def _text(params: Mapping[str, object], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str):
        raise InvalidRequestError.single(name, f"needs a string, got {value!r}")
    return value


def _parameter_of(field: str) -> str:
    """Name the parameter behind an architecture field the constructor refused."""
    if field.startswith("geometry"):
        return GEOMETRY
    if field == "padding" or field.startswith("padding["):
        return SCHEDULE
    if field.startswith("layers["):
        level = int(field[len("layers[") : field.index("]")])
        return width_name(level) if field.endswith("channels") else SCHEDULE
    return REPRESENTATION if field == "representation" else field
