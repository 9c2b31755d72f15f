"""Pooling geometries: the ``geometry`` of an architecture file, one small class per family.

A geometry says which input locations share a pooling window. Every family is realised the same
way, level by level: before pooling level ``l`` the current grid is permuted (position ``p`` takes
the node ``gather[p]``), then standard contiguous windows (with the layer's stride) pool the
permuted grid. A family is therefore two things, behind :class:`GeometryFamily`: the schedules it
applies to (:meth:`~GeometryFamily.check`) and the gather of every level
(:meth:`~GeometryFamily.gathers`). :mod:`advisor.geometry.layouts` turns gathers into pooling
structures and input permutations, whatever the family.

- ``contiguous``: no permutation.
- ``{permutation: P}``: ``P`` at the input only; any pooling tree with equal windows per level is
  such a permutation (docs/THEORY.md §7).
- ``mirror`` [CS17 code, docs/THEORY.md §7]: at every level, along every axis of size ``n``,
  position ``h`` takes ``h // 2`` if ``h`` is even, else ``n - 1 - h // 2``, so a node is pooled
  with its reflections (per axis: in 3-D with those across the depth too); 2 per axis below the
  top, or 1 on an axis already pooled down to one location (the 16 of 16x64x64).
- ``interleaved``: at every level, along an axis of size ``n`` pooled by ``k``, window ``j`` holds
  ``j, j + n/k, j + 2n/k, ...`` (a comb).
- ``{dilations: d}`` [CTS18]: a 1-D stack of size-2 convs; level ``l`` merges locations whose
  indices differ only in bit ``log2(d_l)``; a level's nodes are numbered by the bits not merged
  yet, in ascending order. A sequence written with axes of one location (``[1, 64]``,
  ``[64, 1, 1]``) is such a stack too (:func:`is_sequence`), pooled 1 on those axes.

Only contiguous and permutation geometries admit overlapping windows.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import (
    Annotated,
    Any,
    ClassVar,
    Final,
    Literal,
    NoReturn,
    Protocol,
    TypeAlias,
    get_args,
)

import numpy as np
import numpy.typing as npt
from pydantic import BeforeValidator, ConfigDict, Discriminator, Tag
from pydantic_core import PydanticCustomError

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.documents import RequestModel
from advisor.model.grid import LocationIds, centred_margins
from advisor.model.scalars import StrictWhole
from advisor.model.schedule import Schedule, grid_text
from advisor.words import counted

__all__ = [
    "FAMILIES",
    "DilationGeometry",
    "Geometry",
    "GeometryFamily",
    "NamedGeometry",
    "PermutationGeometry",
    "applies_to",
    "check_overlaps",
    "family_of",
    "is_sequence",
    "mirror_folds",
    "validate_permutation",
]

_Ids: TypeAlias = npt.NDArray[np.intp]

NamedGeometry: TypeAlias = Literal["contiguous", "mirror", "interleaved"]


class PermutationGeometry(RequestModel):
    """Position ``p`` of the permuted input holds original location ``permutation[p]``.

    Standard contiguous pooling then runs on the permuted input, so the first window of a 2-D
    input pooled ``[2, 2]`` is ``{P[0], P[1], P[W], P[W + 1]}``. Any pooling tree with equal windows
    per level is such a permutation (docs/THEORY.md §7); it must be a permutation of ``range(N)``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    KEY: ClassVar[str] = "permutation"

    permutation: LocationIds


class DilationGeometry(RequestModel):
    """The tree of a 1-D stack of size-2 convs with dilation ``dilations[l]`` in layer ``l``.

    Level ``l`` merges locations whose indices differ only in bit ``log2(dilations[l])``
    [CTS18]; the dilations are a permutation of ``1, 2, 4, ..., 2^(L-1)`` and every layer pools 2.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    KEY: ClassVar[str] = "dilations"

    dilations: tuple[StrictWhole, ...]


_KEYED: Final = (PermutationGeometry, DilationGeometry)

_NAMES: Final[tuple[str, ...]] = get_args(NamedGeometry)

_KINDS: Final = (
    "must be contiguous, mirror, interleaved, {permutation: [...]} or {dilations: [...]}"
)
"""What a geometry is, told a value none is."""


def _geometry_kind(value: Any) -> str | None:
    # Pick the union member from the document's shape so a bad geometry gets one error from the
    # member it meant (tags start upper-case: validation_messages.invalid_request_from_pydantic
    # drops them from the field path).
    if isinstance(value, str):
        if value in _NAMES:
            return "NamedGeometry"
        return "FormName" if value in (kind.KEY for kind in _KEYED) else "UnknownName"
    if isinstance(value, Mapping) and all(kind.KEY in value for kind in _KEYED):
        return "BothKeys"
    for kind in _KEYED:
        if isinstance(value, kind) or (isinstance(value, Mapping) and kind.KEY in value):
            return kind.__name__
    return None


def _both_keys(value: Any) -> NoReturn:
    """Refuse a geometry mapping that holds the keys of two geometries (which one is meant?)."""
    keys = " and ".join(kind.KEY for kind in _KEYED)
    raise PydanticCustomError("geometry_kind", f"holds both {keys}: give one of them")


def _unknown_name(value: Any) -> NoReturn:
    """Refuse a name no geometry has: list every geometry, the mapping forms included.

    The named geometries' literal listed only its own names ("Input should be 'contiguous',
    'mirror' or 'interleaved'"), where ``geometry: 5`` is told the forms too. The error is the
    literal's, its names the choices a misspelt one is told the closest of.
    """
    names = " or ".join(map(repr, _NAMES))
    raise PydanticCustomError("literal_error", _KINDS, {"expected": names})


def _form_name(value: Any) -> NoReturn:
    """Refuse a mapping form's key given as a name (``geometry: dilations``): say how it is written.

    The names alone were listed ("Input should be 'contiguous', 'mirror' or 'interleaved'"), as
    if the form did not exist.
    """
    raise PydanticCustomError(
        "geometry_kind", f"is {value!r}, a geometry written as a mapping: {{{value}: [...]}}"
    )


Geometry: TypeAlias = Annotated[
    Annotated[NamedGeometry, Tag("NamedGeometry")]
    # Never a value (its validator refuses): a name no geometry has.
    | Annotated[NamedGeometry, BeforeValidator(_unknown_name), Tag("UnknownName")]
    # Never a value (its validator refuses): a mapping form's key given as a name.
    | Annotated[NamedGeometry, BeforeValidator(_form_name), Tag("FormName")]
    # Never a value (its validator refuses): a mapping with both keys, told so by name.
    | Annotated[NamedGeometry, BeforeValidator(_both_keys), Tag("BothKeys")]
    | Annotated[PermutationGeometry, Tag("PermutationGeometry")]
    | Annotated[DilationGeometry, Tag("DilationGeometry")],
    Discriminator(
        _geometry_kind,
        custom_error_type="geometry_kind",
        custom_error_message=_KINDS,
    ),
]


class GeometryFamily(Protocol):
    """One family of geometries: where it applies and how it pools."""

    @property
    def name(self) -> str:
        """The family's name (a named geometry's value, or its document key)."""
        ...

    @property
    def overlaps(self) -> bool:
        """Whether its layers may have a stride (windows that overlap)."""
        ...

    def owns(self, geometry: Geometry) -> bool:
        """Return whether ``geometry`` belongs to this family."""
        ...

    def check(self, geometry: Geometry, schedule: Schedule) -> None:
        """Raise :class:`~advisor.errors.InvalidRequestError` if it does not fit ``schedule``.

        The violation names ``geometry``, ``geometry.permutation`` or ``geometry.dilations``.
        """
        ...

    def gathers(self, geometry: Geometry, schedule: Schedule) -> list[_Ids | None]:
        """Per level, the permutation of its grid before pooling (None: as it is)."""
        ...


class _Named:
    """A family that is one named geometry: owns the geometry spelt as its name."""

    name: ClassVar[str]

    def owns(self, geometry: Geometry) -> bool:
        return geometry == self.name


class Contiguous(_Named):
    """Plain contiguous pooling: every schedule, no permutation."""

    name = "contiguous"
    overlaps = True

    def check(self, geometry: Geometry, schedule: Schedule) -> None:
        del geometry, schedule  # every schedule is pooled contiguously

    def gathers(self, geometry: Geometry, schedule: Schedule) -> list[_Ids | None]:
        return [None] * schedule.depth


class Mirror(_Named):
    """Mirror pooling: a node pooled with its reflections while the windows are 2 or 1 per axis.

    The first level pools 2 or 1 per axis; every such level from the bottom folds the grid
    again on the axes it pools by 2 (an axis it leaves at 1 keeps its order: on 3x1000 a column
    meets its reflection with no padded row, on a video's 1x2x2 space folds before time), and
    once a level below the top pools otherwise (a size with odd factors: 44,100 = 2 * 2 * 3 * 3
    * ...), that level and those above it pool the folded grid contiguously
    (:func:`mirror_folds`). On an input padded by one more location after than before (an odd
    size made even), the first level reflects about the input's own centre
    (:func:`_mirror_axis`).
    """

    name = "mirror"
    overlaps = False

    def check(self, geometry: Geometry, schedule: Schedule) -> None:
        _check_overlaps(self, schedule.overlapping)
        if schedule.depth > 1 and not _folds(schedule.pools[0]):
            expected = [2 if n > 1 else 1 for n in schedule.grids[0]]
            needed = f"2 or 1 per axis (e.g. {expected})"
            raise _pool_refusal(self.name, schedule, 0, needed, _even_padding(schedule))

    def gathers(self, geometry: Geometry, schedule: Schedule) -> list[_Ids | None]:
        levels = mirror_folds(schedule)  # the levels above pool contiguously: no gather
        top = schedule.depth - 1
        margins = list(schedule.padding or ((0, 0),) * len(schedule.grids[0]))
        folds = []
        for level in range(levels):
            # The top's one window holds every node whatever the order; it folds every axis,
            # as it always has, so a design keeps the permutation it was given before.
            grid, pool = schedule.grids[level], schedule.pools[level]
            folded = pool if level < top else (2,) * len(grid)
            folds.append(_mirror_gather(grid, folded, margins))
            # A padded axis reflects about the input's centre where it first folds (a level
            # pooling it by 1 keeps its locations); its folded nodes are pairs from then on.
            margins = [(0, 0) if k == 2 else m for k, m in zip(folded, margins, strict=True)]
        return [*folds, *[None] * (schedule.depth - levels)]


class Interleaved(_Named):
    """Interleaved (comb) pooling: window ``j`` holds ``j, j + n/k, ...`` on every axis."""

    name = "interleaved"
    overlaps = False

    def check(self, geometry: Geometry, schedule: Schedule) -> None:
        _check_overlaps(self, schedule.overlapping)

    def gathers(self, geometry: Geometry, schedule: Schedule) -> list[_Ids | None]:
        return [
            _interleaved_gather(grid, pool)
            for grid, pool in zip(schedule.grids[:-1], schedule.pools, strict=True)
        ]


class Permutation:
    """An explicit input permutation, then contiguous pooling (overlaps allowed)."""

    name = PermutationGeometry.KEY
    overlaps = True

    def owns(self, geometry: Geometry) -> bool:
        return isinstance(geometry, PermutationGeometry)

    def check(self, geometry: Geometry, schedule: Schedule) -> None:
        permutation = _permutation(geometry).permutation
        validate_permutation(permutation, schedule.num_locations, schedule.locations_text())

    def gathers(self, geometry: Geometry, schedule: Schedule) -> list[_Ids | None]:
        permutation = _permutation(geometry).permutation
        # From a tuple of a million ints: twice as fast as np.asarray, which infers the type.
        first = np.fromiter(permutation, dtype=np.intp, count=len(permutation))
        return [first, *[None] * (schedule.depth - 1)]


class Dilations:
    """A dilated 1-D stack of size-2 convs: level ``l`` merges bit ``log2(d_l)``."""

    name = DilationGeometry.KEY
    overlaps = False

    def owns(self, geometry: Geometry) -> bool:
        return isinstance(geometry, DilationGeometry)

    def check(self, geometry: Geometry, schedule: Schedule) -> None:
        _check_overlaps(self, schedule.overlapping)
        if not is_sequence(schedule.grids[0]):
            raise InvalidRequestError.single(
                "geometry",
                "the dilations geometry needs a 1-D input (or one whose other axes have one "
                f"location, as [1, 64]); the grid is {grid_text(schedule.grids[0])}",
            )
        _check_pools_of_two(self.name, schedule, schedule.depth)
        dilations = _dilations(geometry).dilations
        path = "geometry.dilations"
        expected = [2**level for level in range(schedule.depth)]
        if len(dilations) != schedule.depth:
            raise InvalidRequestError.single(
                path,
                f"has {counted(len(dilations), 'entry', 'entries')}, the architecture has "
                f"{counted(schedule.depth, 'layer')}",
            )
        problems = _set_problems(dilations, expected)
        if problems:
            raise InvalidRequestError.single(
                path, f"must be a permutation of {expected}: {problems}"
            )

    def gathers(self, geometry: Geometry, schedule: Schedule) -> list[_Ids | None]:
        """Per level, the gather pairing the level's nodes that differ in bit ``log2(d_l)``.

        A level's nodes are numbered by the location bits not merged yet, packed in ascending
        order; merging bit ``b`` (at packed position ``q``) pairs window ``w`` with the two nodes
        whose packed ids are ``w`` with a 0, then a 1, inserted at position ``q``.
        """
        dilations = _dilations(geometry).dilations
        remaining = list(range(len(dilations)))
        gathers: list[_Ids | None] = []
        for dilation in dilations:
            q = remaining.index(dilation.bit_length() - 1)
            remaining.pop(q)
            w = np.arange(2 ** len(remaining), dtype=np.intp)[:, None]
            bit = np.arange(2, dtype=np.intp)
            low = w & ((1 << q) - 1)
            gathers.append((((w >> q) << (q + 1)) | (bit << q) | low).reshape(-1))
        return gathers


FAMILIES: Final[tuple[GeometryFamily, ...]] = (
    Contiguous(),
    Mirror(),
    Interleaved(),
    Dilations(),
    Permutation(),
)
"""Every geometry family, simplest first."""


def family_of(geometry: Geometry) -> GeometryFamily:
    """Return the family ``geometry`` belongs to."""
    return next(family for family in FAMILIES if family.owns(geometry))


def applies_to(geometry: Geometry, schedule: Schedule) -> bool:
    """Return whether ``geometry`` fits ``schedule`` (its family's check passes)."""
    try:
        family_of(geometry).check(geometry, schedule)
    except InvalidRequestError:
        return False
    return True


def validate_permutation(
    permutation: Sequence[int] | npt.NDArray[np.integer[Any]],
    size: int,
    locations: str | None = None,
) -> None:
    """Check that ``permutation`` is a permutation of ``range(size)``.

    ``locations`` says what holds the ``size`` locations, where a wrong length is refused
    (:meth:`Schedule.locations_text`); by default "the input has ``size`` locations".

    Raises
    ------
    InvalidRequestError
        Naming ``geometry.permutation`` and saying which values are invalid, repeated or missing.
    """
    path = "geometry.permutation"
    if len(permutation) != size:
        held = locations or f"the input has {counted(size, 'location')}"
        raise InvalidRequestError.single(
            path, f"has {counted(len(permutation), 'entry', 'entries')}, {held}"
        )
    values = np.asarray(permutation)
    # Each of 0..size-1 once: counted, not sorted (4 ms against 13 for a million ids).
    if (
        values.dtype.kind in "iu"
        and values.min() >= 0
        and values.max() < size
        and bool((np.bincount(values, minlength=size) == 1).all())
    ):
        return
    problems = _set_problems([operator.index(v) for v in permutation], range(size))
    raise InvalidRequestError.single(path, f"must be a permutation of range({size}): {problems}")


def _permutation(geometry: Geometry) -> PermutationGeometry:
    if not isinstance(geometry, PermutationGeometry):
        raise TypeError(f"the permutation family was given {geometry!r}")
    return geometry


def _dilations(geometry: Geometry) -> DilationGeometry:
    if not isinstance(geometry, DilationGeometry):
        raise TypeError(f"the dilations family was given {geometry!r}")
    return geometry


def check_overlaps(geometry: Geometry, overlapping: Sequence[int]) -> None:
    """Refuse layers with a stride (``overlapping``: their indices) where ``geometry`` has none.

    The architecture checks this before its windows' tiling
    (:func:`~advisor.model.architecture.validate_schedule`): a mirror net with a stride was
    first told a padding that tiles its windows, then refused for the stride.
    """
    _check_overlaps(family_of(geometry), overlapping)


def _check_overlaps(family: GeometryFamily, overlapping: Sequence[int]) -> None:
    if overlapping and not family.overlaps:
        layer = f"layers[{overlapping[0]}]"
        description = (
            f"the {family.name} geometry needs non-overlapping windows, but {layer} has a stride "
            "(overlaps allow only contiguous or permutation geometry)"
        )
        raise InvalidRequestError([FieldViolation("geometry", description, (layer,))])


def is_sequence(shape: Sequence[int]) -> bool:
    """Return whether ``shape`` is a sequence: at most one axis has more than one location.

    An axis of one location pools nothing, and a grid's location ids run along the one longer
    axis in order, so ``[1, 64]`` and ``[64, 1, 1]`` hold the sequence ``[64]`` id for id and
    take its dilation orders (pooled 1 on the other axes). Searched as 2-D grids they were not
    offered the dilated nets that rank first on the same locations written as ``[64]``.
    """
    return sum(n > 1 for n in shape) <= 1


def mirror_folds(schedule: Schedule) -> int:
    """Return how many levels mirror pooling folds (from the bottom).

    All of them when every level below the top pools 2 or 1 per axis, else the levels up to the
    first that does not.
    """
    for level, pool in enumerate(schedule.pools[: schedule.depth - 1]):
        if not _folds(pool):
            return level
    return schedule.depth


def _folds(pool: tuple[int, ...]) -> bool:
    """Return whether mirror pooling folds at a level pooling ``pool``: 2 or 1 on every axis."""
    return all(k in (1, 2) for k in pool)


def _check_pools_of_two(name: str, schedule: Schedule, levels: int) -> None:
    """Require pool 2 on every axis of the first ``levels`` layers (1 on an axis pooled away)."""
    for i, (pool, grid) in enumerate(zip(schedule.pools[:levels], schedule.grids, strict=False)):
        if any(k != 2 and not k == n == 1 for k, n in zip(pool, grid, strict=True)):
            raise _pool_refusal(name, schedule, i, str([2 if n > 1 else 1 for n in grid]))


def _pool_refusal(
    name: str, schedule: Schedule, level: int, needed: str, advice: str = ""
) -> InvalidRequestError:
    """Return the refusal of ``layers[level]``'s pool: the geometry ``name`` needs ``needed``.

    ``advice`` ends it (how to pad the input, for mirror pooling).
    """
    description = (
        f"the {name} geometry needs pool {needed} at layers[{level}] (the grid there is "
        f"{grid_text(schedule.grids[level])}), got {list(schedule.pools[level])}{advice}"
    )
    return InvalidRequestError([FieldViolation("geometry", description, (f"layers[{level}]",))])


def _even_padding(schedule: Schedule) -> str:
    """Say how to pad the odd axes of the grid a schedule pools first, which 2 cannot tile.

    One location more on each odd axis, the margins split about the input, as the search pads an
    odd size for mirror pooling (which then reflects about the input's own centre:
    :class:`Mirror`); '' when no axis is odd.
    """
    grid = schedule.grids[0]
    margins = schedule.padding or ((0, 0),) * len(grid)
    if not any(n > 1 and n % 2 for n in grid):
        return ""
    grown = [
        list(centred_margins(before + after + 1)) if n > 1 and n % 2 else [before, after]
        for n, (before, after) in zip(grid, margins, strict=True)
    ]
    return (
        "; windows of 2 cannot tile an odd axis: pool it by 1 there, or pad it to an even size "
        f"(padding: {grown})"
    )


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


def _axis_gathers(grid: tuple[int, ...], per_axis: Sequence[_Ids]) -> _Ids:
    """Combine per-axis permutations (``per_axis[a]`` on axis ``a``) into one grid permutation."""
    gather: _Ids = np.zeros((), dtype=np.intp)
    for size, axis_gather in zip(grid, per_axis, strict=True):
        gather = (gather[..., None] * size + axis_gather).astype(np.intp)
    flat: _Ids = gather.reshape(-1)
    return flat


def _mirror_gather(
    grid: tuple[int, ...],
    pool: tuple[int, ...],
    margins: Sequence[tuple[int, int]] | None = None,
) -> _Ids:
    """Mirror rule on each axis ``pool`` pools by 2 (:func:`_mirror_axis`); the others keep order.

    ``margins``, the padding's before/after per axis, set the centre each axis reflects about.
    """
    margins = margins or ((0, 0),) * len(grid)
    return _axis_gathers(
        grid,
        [
            _mirror_axis(size, *margin) if k == 2 else np.arange(size, dtype=np.intp)
            for size, k, margin in zip(grid, pool, margins, strict=True)
        ],
    )


def _mirror_axis(size: int, before: int = 0, after: int = 0) -> _Ids:
    """One axis's positions in mirror order: window k holds positions 2k and 2k + 1.

    The pairs are reflections about the centre of the input on the axis, outermost first. With
    equal margins (or none) that is the axis's own centre: position p pairs with size - 1 - p.
    With one margin location more after than before (an odd input padded to an even size), the
    input's centre is a location of its own: p pairs with size - 2 - p, and the middle location
    with the last margin location, which has no reflection (so a symmetric input meets its
    reflections at the first level, as on an even axis).

    >>> _mirror_axis(6).tolist(), _mirror_axis(4, 1, 2).tolist()
    ([0, 5, 1, 4, 2, 3], [0, 2, 1, 3])
    """
    h = np.arange(size, dtype=np.intp)
    if after != before + 1:
        return np.where(h % 2 == 0, h // 2, size - 1 - h // 2)
    order = np.where(h % 2 == 0, h // 2, size - 2 - h // 2)
    order[-1] = size - 1  # the middle location's partner (the rule gave it the middle again)
    return order


def _interleaved_gather(grid: tuple[int, ...], pool: tuple[int, ...]) -> _Ids:
    """Comb per axis: position j * k + m takes j + m * n / k (window j holds j, j + n/k, ...)."""
    per_axis = []
    for size, k in zip(grid, pool, strict=True):
        p = np.arange(size, dtype=np.intp)
        per_axis.append(p // k + (p % k) * (size // k))
    return _axis_gathers(grid, per_axis)
