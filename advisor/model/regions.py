"""Regions: sets of input locations, the four ways a task file writes them, and named regions.

A region is written in one of four forms (docs/FORMATS.md §1):

- ``{indices: [...]}``: location ids, row-major (``h * W + w`` on an ``[H, W]`` grid), each once;
- ``{box: {start: [...], stop: [...]}}``: the half-open box ``start <= x < stop`` per axis;
- ``{mask: ["#..#", ...]}``: one string per row (a 1-D input has one row), ``#`` = in the
  region, ``.`` = not; the mask has exactly the input's shape;
- ``{preset: NAME}``: a named region of :data:`REGION_PRESETS`, defined for any shape it fits.

:func:`resolve_region` turns a form into the sorted ids it selects, or raises
:class:`~advisor.errors.InvalidRequestError` whose field paths are relative to the region (the
caller places them under ``correlations[i].a``). A region never silently loses locations: an id
out of range, a box past the edge or a mask of the wrong size is an error, and so is a region
that selects nothing.

Axes are named as in an image: the last axis holds the *columns* (a 1-D input is one row of
columns), the one before it the *rows*, and axis 0 of a 3-D input the *depth* (slices or frames).
Halves of an axis of odd length ``n`` leave its centre line out: the low half is ``[0, n // 2)``,
the high half ``[n - n // 2, n)``, so the two halves are mirror images of each other and the
centre line is in neither.
"""

from __future__ import annotations

import ast
import inspect
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, SupportsIndex, TypeAlias, TypeVar, overload

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.layout import TableDisplay, table
from advisor.model.documents import RequestModel, ShortRepr, refuse_list
from advisor.model.grid import LocationIds, axes_mismatch
from advisor.model.packed import PackedIds
from advisor.model.scalars import StrictWhole
from advisor.suggestions import did_you_mean, unknown_name
from advisor.words import counted

__all__ = [
    "REGION_PRESETS",
    "Box",
    "BoxRegion",
    "IndicesRegion",
    "Locations",
    "MaskRegion",
    "PresetInfo",
    "PresetKind",
    "PresetRegion",
    "Presets",
    "Region",
    "RelationKind",
    "ResolvedCorrelation",
    "along_axis",
    "high_half",
    "low_half",
    "mask_array_violations",
    "preset_description",
    "preset_mask",
    "region_preset_infos",
    "resolve_region",
]

Locations: TypeAlias = npt.NDArray[np.intp]
"""Sorted, unique, read-only location ids."""

_Mask: TypeAlias = npt.NDArray[np.bool_]

RelationKind: TypeAlias = Literal["shift", "mirror"]
"""The map a correlation may state between its regions (``relation``): B is A moved by one
displacement, or A's mirror image about a line across one axis (advisor.model.maps)."""

# Strict: a document's `true`, `2.5` or `"2"` is a mistake to report, not a location to coerce.
# Unbounded: an id or coordinate past int64 is off the grid like any other, and told so on its
# region's field by the checks below, which compare in Python before anything meets numpy.
_Int = StrictWhole
_Str = Annotated[str, Field(strict=True)]

IN_MASK, OUT_OF_MASK = "#", "."


class Box(RequestModel):
    """The half-open box ``start[k] <= x_k < stop[k]`` on every axis ``k``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    start: tuple[_Int, ...]
    stop: tuple[_Int, ...]


class IndicesRegion(RequestModel):
    """Explicit location ids, row-major; each id at most once."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    indices: LocationIds


class BoxRegion(RequestModel):
    """The locations inside a :class:`Box`."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    box: Box

    @field_validator("box", mode="before")
    @classmethod
    def _box_mapping(cls, value: Any) -> Any:
        # `box: [[0, 0], [1, 32]]` was told only "Input should be a mapping of field names to
        # values", not which. Its numbers are not carried over: corners and per-axis ranges
        # are both lists of pairs, and read the wrong way they make another box.
        return refuse_list(
            value,
            "write the box as a mapping of its corners, box: {start: [...], stop: [...]}, the "
            "half-open box start <= x < stop with one coordinate per axis in each (start the "
            "first location's, stop one past the last's)",
        )


def _mask_rows(value: Any) -> Any:
    """Read a NumPy boolean array, the input's shape, as the mask's rows of ``#`` and ``.``.

    The form a Python caller holds a mask in (``image > threshold``): its last axis is a row,
    every other axis is flattened row-major, as the rows of a ``[D, H, W]`` mask run slice after
    slice. A nested list (a list per slice, as a volume is drawn, or rows of numbers) is refused
    saying how a mask is written; anything else is left to the field's own check (one string
    per row).
    """
    if isinstance(value, list | tuple) and any(isinstance(row, list | tuple) for row in value):
        # Read on, each slice was refused as "Input should be a valid string", once per slice,
        # which does not say how a volume's mask is written.
        raise ValueError(
            "holds a list where a row belongs: a mask is one string per row ('#' in the region, "
            "'.' not), or a NumPy boolean array of the input's shape; the D * H rows of a "
            "[D, H, W] input run slice after slice in one list, not a list per slice"
        )
    if not isinstance(value, np.ndarray) or value.ndim == 0:
        return value
    if value.dtype.kind in "iufc":
        # Read on, each row was refused as "Input should be a valid string", once per row.
        raise ValueError(
            f"a NumPy mask must be boolean (True in the region), not {value.dtype}: pass "
            "`array != 0` or `array.astype(bool)`"
        )
    if value.dtype != np.bool_:
        return value
    rows = value.reshape(-1, value.shape[-1])
    return tuple("".join(np.where(row, IN_MASK, OUT_OF_MASK)) for row in rows)


def mask_array_violations(shape: Any, correlations: Any) -> list[FieldViolation]:
    """Refuse each NumPy boolean mask of ``correlations`` whose shape is not the input's.

    ``shape`` and ``correlations`` are a task document's, before validation (anything else is
    left to the fields' own checks). A mask array is read as its rows (:func:`_mask_rows`), and
    the rows only say their count and width, so an array of another shape with as many rows as
    wide as the input's (``(4, 6, 6)`` on ``[6, 4, 6]``, ``(2, 6, 12)`` on ``[12, 12]``) was
    read as rows of the input, marking other locations than its own. The input's shape is
    taken, and the document's rows as an array, ``(D * H, W)`` (1-D: ``(1, N)``).
    """
    if not isinstance(shape, Sequence) or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool) for n in shape
    ):
        return []
    if not isinstance(correlations, Sequence) or isinstance(correlations, str) or not shape:
        return []
    grid = tuple(int(n) for n in shape)
    accepted = {grid, _rows_shape(grid)}
    violations = []
    for index, correlation in enumerate(correlations):
        if not isinstance(correlation, Mapping):
            continue
        for side in ("a", "b"):
            region = correlation.get(side)
            mask = region.get("mask") if isinstance(region, Mapping) else None
            if (
                isinstance(mask, np.ndarray)
                and mask.dtype == np.bool_
                and mask.ndim > 0
                and mask.shape not in accepted
            ):
                violations.append(
                    FieldViolation(
                        f"correlations[{index}].{side}.mask",
                        f"a NumPy mask of shape {mask.shape}, and the input is {list(grid)}: "
                        f"give an array of the input's shape {grid}"
                        + ("" if len(grid) < 2 else f" or of its rows' {_rows_shape(grid)}"),
                    )
                )
    return violations


def _rows_shape(grid: tuple[int, ...]) -> tuple[int, int]:
    """Return the shape of ``grid``'s rows as a document writes them, ``(D * H, W)``."""
    return math.prod(grid[:-1]), grid[-1]


class MaskRegion(RequestModel):
    """One string per row of the input, ``#`` for a location in the region and ``.`` for one out.

    From Python the mask may also be a NumPy boolean array of the input's shape (True in the
    region), read as those rows; a task refuses an array of another shape than the input's or
    its rows' (:func:`mask_array_violations`). Its repr abbreviates a large mask.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    mask: Annotated[tuple[_Str, ...], BeforeValidator(_mask_rows), ShortRepr("rows")]


class PresetRegion(RequestModel):
    """A named region of :data:`REGION_PRESETS`."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    preset: _Str

    @field_validator("preset")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in REGION_PRESETS:
            raise ValueError(unknown_name("region preset", name, REGION_PRESETS))
        return name


_FORMS: dict[str, type[BaseModel]] = {
    "indices": IndicesRegion,
    "box": BoxRegion,
    "mask": MaskRegion,
    "preset": PresetRegion,
}


def _region_form(value: Any) -> str | None:
    # Pick the union member from the document's key, so a bad region gets the errors of the form
    # it meant rather than one per form; tags are class names, which the field path drops
    # (validation_messages.invalid_request_from_pydantic).
    if isinstance(value, BaseModel):
        return type(value).__name__
    if not isinstance(value, Mapping):
        return None
    keys = [key for key in _FORMS if key in value]
    return _FORMS[keys[0]].__name__ if len(keys) == 1 else None


_ONE_FORM = f"a region needs exactly one of the keys {', '.join(_FORMS)}"


def _keys_named(value: Any) -> Any:
    """Refuse a region whose keys are none of the forms', naming them and the form key meant.

    The discriminator's message only lists the form keys; a misspelt ``presett`` is told so here.
    """
    if isinstance(value, Mapping) and value and not any(key in _FORMS for key in value):
        keys = [str(key) for key in value]
        meant = next((hint for key in keys if (hint := did_you_mean(key, _FORMS))), "")
        raise ValueError(f"{_ONE_FORM}, not {', '.join(map(repr, keys))}{meant}")
    return value


Region: TypeAlias = Annotated[
    Annotated[IndicesRegion, Tag("IndicesRegion")]
    | Annotated[BoxRegion, Tag("BoxRegion")]
    | Annotated[MaskRegion, Tag("MaskRegion")]
    | Annotated[PresetRegion, Tag("PresetRegion")],
    Discriminator(_region_form, custom_error_type="region_form", custom_error_message=_ONE_FORM),
    BeforeValidator(_keys_named),
]
"""Any region form; a document picks its form by its one key."""


PresetKind: TypeAlias = Literal["region", "task"]
"""What a preset names: a region, or a whole task's correlations."""


@dataclass(frozen=True)
class PresetInfo:
    """A named region or task preset as ``ListPresets`` serves it."""

    name: str
    kind: PresetKind
    description: str


_Item = TypeVar("_Item")


class Presets(TableDisplay, list[PresetInfo]):
    """The presets ``ListPresets`` serves: a list, shown as ``advisor presets``' table.

    A plain list showed in a notebook as its repr, every description whole (9,849 characters).
    As a list it indexes, iterates, equals a list of the same presets and pickles as before;
    its repr is still the list's. What holds only its presets is a ``Presets`` too, shown as a
    table: a slice, a copy, a sum of two, a repeat. A sum with a plain list, which may hold
    anything, is a plain list.
    """

    @overload
    def __getitem__(self, index: SupportsIndex) -> PresetInfo: ...

    @overload
    def __getitem__(self, index: slice) -> Presets: ...

    def __getitem__(self, index: SupportsIndex | slice) -> PresetInfo | Presets:
        if isinstance(index, slice):
            return Presets(super().__getitem__(index))
        return super().__getitem__(index)

    def copy(self) -> Presets:
        """Return a shallow copy, a ``Presets`` (a list's ``copy`` is a plain list)."""
        return Presets(self)

    # mypy refuses an overload ahead of the list's own, though a Presets is a list[PresetInfo].
    @overload  # type: ignore[override]
    def __add__(self, other: Presets, /) -> Presets: ...

    @overload
    def __add__(self, other: list[PresetInfo], /) -> list[PresetInfo]: ...

    @overload
    def __add__(self, other: list[_Item], /) -> list[_Item | PresetInfo]: ...

    def __add__(self, other: list[Any], /) -> list[Any]:
        added = super().__add__(other)
        return Presets(added) if isinstance(other, Presets) else added

    def __mul__(self, times: SupportsIndex) -> Presets:
        return Presets(super().__mul__(times))

    __rmul__ = __mul__

    def as_table(self) -> str:
        """Return the table ``advisor presets`` prints: each preset's name, kind and summary."""
        # The first line of a description is its summary; the whole text is the field's.
        rows = [[p.name, p.kind, p.description.partition("\n")[0]] for p in self]
        return "\n".join(table(["name", "kind", "description"], rows, prose_last=True)) + "\n"


class ResolvedCorrelation:
    """A correlation with its regions resolved: ``a`` and ``b`` are disjoint, non-empty ids.

    The ids are held packed (:class:`~advisor.model.packed.PackedIds`, at most one bit per
    location of the grid); ``a`` and ``b`` unpack them into a new array on every access, and
    ``a_size``, ``b_size`` count them without unpacking. ``relation`` is the map the
    correlation states (None: the search reads one off the regions). Equal when name, weight,
    relation and both id arrays are equal.
    """

    __slots__ = ("_a", "_b", "name", "relation", "weight")

    name: str
    weight: float
    relation: RelationKind | None
    _a: PackedIds
    _b: PackedIds

    def __init__(
        self,
        name: str,
        a: Locations,
        b: Locations,
        weight: float = 1.0,
        relation: RelationKind | None = None,
    ) -> None:
        for attribute, value in (
            ("name", name),
            ("weight", weight),
            ("relation", relation),
            ("_a", PackedIds.pack(a)),
            ("_b", PackedIds.pack(b)),
        ):
            object.__setattr__(self, attribute, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ResolvedCorrelation is immutable; cannot set {name!r}")

    def __reduce__(
        self,
    ) -> tuple[
        type[ResolvedCorrelation], tuple[str, Locations, Locations, float, RelationKind | None]
    ]:
        return ResolvedCorrelation, (self.name, self.a, self.b, self.weight, self.relation)

    def __repr__(self) -> str:
        return (
            f"ResolvedCorrelation(name={self.name!r}, |a|={self.a_size}, |b|={self.b_size}, "
            f"weight={self.weight!r}, relation={self.relation!r})"
        )

    @property
    def a(self) -> Locations:
        """The sorted ids of region A (a new read-only array)."""
        return self._a.unpack()

    @property
    def b(self) -> Locations:
        """The sorted ids of region B (a new read-only array)."""
        return self._b.unpack()

    @property
    def packed_a(self) -> PackedIds:
        """Region A as held (see :class:`~advisor.model.packed.PackedIds`)."""
        return self._a

    @property
    def packed_b(self) -> PackedIds:
        """Region B as held."""
        return self._b

    @property
    def a_size(self) -> int:
        """How many locations region A holds."""
        return self._a.size

    @property
    def b_size(self) -> int:
        """How many locations region B holds."""
        return self._b.size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResolvedCorrelation):
            return NotImplemented
        return (self.name, self.weight, self.relation, self._a, self._b) == (
            other.name,
            other.weight,
            other.relation,
            other._a,
            other._b,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.weight, self.a_size, self.b_size))


def resolve_region(region: Region, shape: tuple[int, ...]) -> Locations:
    """Return the sorted, unique ids of the locations ``region`` selects on a grid of ``shape``.

    Raises
    ------
    InvalidRequestError
        With field paths relative to the region (``indices``, ``box.stop``, ``mask[3]``,
        ``preset``) when the region does not fit ``shape`` or selects no location.

    Examples
    --------
    >>> resolve_region(BoxRegion(box=Box(start=(1, 2), stop=(3, 4))), (4, 4)).tolist()
    [6, 7, 10, 11]
    >>> resolve_region(MaskRegion(mask=("#..#",)), (4,)).tolist()
    [0, 3]
    """
    if isinstance(region, IndicesRegion):
        field, ids = "indices", _indices(region.indices, shape)
    elif isinstance(region, BoxRegion):
        field, ids = "box", np.flatnonzero(_box_mask(region.box, shape))
    elif isinstance(region, MaskRegion):
        field, ids = "mask", np.flatnonzero(_mask_mask(region.mask, shape))
    else:
        field, ids = "preset", np.flatnonzero(preset_mask(region.preset, shape))
    if ids.size == 0:
        raise InvalidRequestError.single(field, f"selects no location of the input {list(shape)}")
    ids.flags.writeable = False
    return ids


def _indices(indices: tuple[int, ...], shape: tuple[int, ...]) -> Locations:
    size = math.prod(shape)
    if indices and (min(indices) < 0 or max(indices) >= size):
        outside = [i for i in indices if not 0 <= i < size]
        raise InvalidRequestError.single(
            "indices",
            f"{_few(outside)} outside 0..{size - 1} (the input {list(shape)} has {size} "
            "locations, numbered row-major)",
        )
    ids = np.asarray(indices, dtype=np.intp)
    # A flag per location is O(N) and beats sorting (np.unique) on long lists.
    listed = np.zeros(size, dtype=np.bool_)
    listed[ids] = True
    if ids.size != np.count_nonzero(listed):
        repeated = np.flatnonzero(np.bincount(ids, minlength=size) > 1)
        raise InvalidRequestError.single("indices", f"{_few(repeated)} listed more than once")
    return np.flatnonzero(listed)


def _box_mask(box: Box, shape: tuple[int, ...]) -> _Mask:
    for name, bound in (("start", box.start), ("stop", box.stop)):
        if len(bound) != len(shape):
            raise InvalidRequestError.single(f"box.{name}", axes_mismatch(len(bound), shape))
    for axis, (start, stop, n) in enumerate(zip(box.start, box.stop, shape, strict=True)):
        if not 0 <= start < n:
            raise InvalidRequestError.single(
                "box.start", f"start[{axis}] = {start} is outside 0..{n - 1} (axis {axis})"
            )
        if not start < stop <= n:
            raise InvalidRequestError.single(
                "box.stop",
                f"stop[{axis}] = {stop} must be in {start + 1}..{n}: the box is half-open and "
                f"starts at {start} on axis {axis} of size {n}",
            )
    mask = np.zeros(shape, dtype=np.bool_)
    mask[tuple(slice(start, stop) for start, stop in zip(box.start, box.stop, strict=True))] = True
    return mask


def _mask_mask(rows: tuple[str, ...], shape: tuple[int, ...]) -> _Mask:
    height, width = math.prod(shape[:-1]), shape[-1]
    if len(rows) != height:
        raise InvalidRequestError.single(
            "mask",
            f"has {counted(len(rows), 'row')}; the input {list(shape)} needs {height}",
        )
    for row_index, row in enumerate(rows):
        if len(row) != width:
            raise InvalidRequestError.single(
                f"mask[{row_index}]",
                f"has {counted(len(row), 'character')}; the input {list(shape)} has {width} "
                "columns",
            )
    text = "".join(rows)
    # One code point per character, so positions in the codes are positions in the text.
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    selected = codes == ord(IN_MASK)
    valid = selected | (codes == ord(OUT_OF_MASK))
    if not valid.all():
        row_index, column = divmod(int(np.argmin(valid)), width)
        raise InvalidRequestError.single(
            f"mask[{row_index}]",
            f"character {rows[row_index][column]!r} at column {column}; use {IN_MASK!r} for a "
            f"location in the region and {OUT_OF_MASK!r} for one outside it",
        )
    region: _Mask = selected.reshape(shape)
    return region


def _few(ids: Sequence[int] | npt.NDArray[np.intp], limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    label = "id" if len(ids) == 1 else "ids"
    return f"{label} {shown}{more}"


# --- region presets ---------------------------------------------------------------------------


def along_axis(shape: tuple[int, ...], axis: int, pattern: _Mask) -> _Mask:
    """Broadcast the 1-D ``pattern`` (one entry per index of ``axis``) over the whole grid."""
    index_shape = [1] * len(shape)
    index_shape[axis] = shape[axis]
    broadcast: _Mask = np.broadcast_to(pattern.reshape(index_shape), shape)
    return broadcast


def low_half(n: int) -> _Mask:
    """Select indices ``[0, n // 2)`` of an axis of length ``n`` (odd ``n``: centre excluded)."""
    return np.arange(n) < n // 2


def high_half(n: int) -> _Mask:
    """Select indices ``[n - n // 2, n)``: the mirror image of :func:`low_half`."""
    return np.arange(n) >= n - n // 2


def _central(n: int) -> _Mask:
    margin = n // 4
    return (np.arange(n) >= margin) & (np.arange(n) < n - margin)


def _require_rows(name: str, shape: tuple[int, ...]) -> None:
    if len(shape) < 2:
        raise InvalidRequestError.single(
            "preset", f"{name} needs a 2-D or 3-D input; the input {list(shape)} is 1-D"
        )


def _left_half(shape: tuple[int, ...]) -> _Mask:
    """Select columns ``[0, W // 2)``; on a 1-D input of length N, positions ``[0, N // 2)``.

    With an odd number of columns the centre column is in neither half.
    """
    return along_axis(shape, len(shape) - 1, low_half(shape[-1]))


def _right_half(shape: tuple[int, ...]) -> _Mask:
    """Select columns ``[W - W // 2, W)``; on a 1-D input, positions ``[N - N // 2, N)``.

    With an odd number of columns the centre column is in neither half.
    """
    return along_axis(shape, len(shape) - 1, high_half(shape[-1]))


def _top_half(shape: tuple[int, ...]) -> _Mask:
    """Select rows ``[0, H // 2)`` of a 2-D or 3-D input (every slice; rejected for 1-D inputs).

    With an odd number of rows the centre row is in neither half.
    """
    _require_rows("top_half", shape)
    return along_axis(shape, len(shape) - 2, low_half(shape[-2]))


def _bottom_half(shape: tuple[int, ...]) -> _Mask:
    """Select rows ``[H - H // 2, H)`` of a 2-D or 3-D input (every slice; not 1-D).

    With an odd number of rows the centre row is in neither half.
    """
    _require_rows("bottom_half", shape)
    return along_axis(shape, len(shape) - 2, high_half(shape[-2]))


def _quadrant(name: str, shape: tuple[int, ...], top: bool, left: bool) -> _Mask:
    _require_rows(name, shape)
    rows = low_half(shape[-2]) if top else high_half(shape[-2])
    columns = low_half(shape[-1]) if left else high_half(shape[-1])
    return np.asarray(
        along_axis(shape, len(shape) - 2, rows) & along_axis(shape, len(shape) - 1, columns)
    )


def _top_left(shape: tuple[int, ...]) -> _Mask:
    """Select rows ``[0, H // 2)`` x columns ``[0, W // 2)`` of a 2-D or 3-D input (not 1-D)."""
    return _quadrant("top_left", shape, top=True, left=True)


def _top_right(shape: tuple[int, ...]) -> _Mask:
    """Select rows ``[0, H // 2)`` x columns ``[W - W // 2, W)`` of a 2-D or 3-D input."""
    return _quadrant("top_right", shape, top=True, left=False)


def _bottom_left(shape: tuple[int, ...]) -> _Mask:
    """Select rows ``[H - H // 2, H)`` x columns ``[0, W // 2)`` of a 2-D or 3-D input."""
    return _quadrant("bottom_left", shape, top=False, left=True)


def _bottom_right(shape: tuple[int, ...]) -> _Mask:
    """Select rows ``[H - H // 2, H)`` x columns ``[W - W // 2, W)`` of a 2-D or 3-D input."""
    return _quadrant("bottom_right", shape, top=False, left=False)


def _center(shape: tuple[int, ...]) -> _Mask:
    """Select the central block: on every axis of length n, indices ``[n // 4, n - n // 4)``.

    On 16x16 that is rows and columns 4..11 (a quarter of the area); 1-D: the middle half.
    """
    mask = np.ones(shape, dtype=np.bool_)
    for axis, n in enumerate(shape):
        mask &= along_axis(shape, axis, _central(n))
    return mask


def _border(shape: tuple[int, ...]) -> _Mask:
    """Select every location outside center: within ``n // 4`` of an edge of an axis of length n.

    Empty (so rejected) when every axis is shorter than 4.
    """
    return ~_center(shape)


def _even(shape: tuple[int, ...]) -> _Mask:
    """Select the locations whose column (1-D: position) is even, starting at column 0."""
    return along_axis(shape, len(shape) - 1, np.arange(shape[-1]) % 2 == 0)


def _odd(shape: tuple[int, ...]) -> _Mask:
    """Select the locations whose column (1-D: position) is odd: the complement of even."""
    return along_axis(shape, len(shape) - 1, np.arange(shape[-1]) % 2 == 1)


def _checkerboard(shape: tuple[int, ...]) -> _Mask:
    """Select the locations whose coordinates sum to an even number (h + w; 3-D: d + h + w).

    ``(h + w) % 2 == 0`` on an image, ``(d + h + w) % 2 == 0`` on a volume or video: the depth
    alternates too. The corner location 0 is in it; on a 1-D input it equals even.
    """
    return np.asarray(np.indices(shape).sum(axis=0) % 2 == 0)


REGION_PRESETS: Mapping[str, Callable[[tuple[int, ...]], _Mask]] = {
    "left_half": _left_half,
    "right_half": _right_half,
    "top_half": _top_half,
    "bottom_half": _bottom_half,
    "top_left": _top_left,
    "top_right": _top_right,
    "bottom_left": _bottom_left,
    "bottom_right": _bottom_right,
    "center": _center,
    "border": _border,
    "even": _even,
    "odd": _odd,
    "checkerboard": _checkerboard,
}
"""Named regions: each maps an input shape to a boolean mask of that shape; its docstring is the
exact definition :func:`region_preset_infos` serves."""


def preset_mask(name: str, shape: tuple[int, ...]) -> _Mask:
    """Return the boolean mask (of ``shape``) of the region preset ``name``.

    Raises
    ------
    InvalidRequestError
        On field ``preset`` when the name is unknown or the preset does not fit ``shape``
        (e.g. ``top_half`` on a 1-D input).
    """
    build = REGION_PRESETS.get(name)
    if build is None:
        raise InvalidRequestError.single(
            "preset",
            unknown_name("region preset", name, REGION_PRESETS),
        )
    return build(shape)


def region_preset_infos() -> list[PresetInfo]:
    """Describe every region preset, in :data:`REGION_PRESETS` order."""
    return [
        PresetInfo(name, "region", preset_description(build))
        for name, build in REGION_PRESETS.items()
    ]


def preset_description(preset: Callable[..., object]) -> str:
    """Return a preset builder's docstring as plain text: the definition ``ListPresets`` serves.

    ``python -OO`` (``PYTHONOPTIMIZE=2``) drops every docstring, which would leave ``advisor
    presets`` and a server's ``ListPresets`` with empty definitions: the docstring is then read
    from the builder's source, which the installed package holds.
    """
    doc = preset.__doc__
    if doc is None:
        (function,) = ast.parse(textwrap.dedent(inspect.getsource(preset))).body
        assert isinstance(function, ast.FunctionDef)
        doc = ast.get_docstring(function, clean=False)
    return inspect.cleandoc(doc or "").replace("``", "")
