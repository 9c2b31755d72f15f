"""The input grid shared by task and architecture files: ``input: {shape: [H, W], channels: C}``.

A grid has 1 (a sequence ``[N]``), 2 (an image ``[H, W]``) or 3 axes (a volume or a video
``[D, H, W]``). Locations are numbered row-major from 0, so a location of a 2-D grid is
``h * W + w`` and one of a 3-D grid ``(d * H + h) * W + w``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeAlias

import numpy as np
import numpy.typing as npt
from pydantic import BeforeValidator, ConfigDict, Field, field_validator

from advisor.errors import InvalidRequestError
from advisor.model.documents import NullsOmitted, ShortRepr
from advisor.model.scalars import PositiveInt32, StrictWhole
from advisor.validation_messages import list_form
from advisor.words import counted

__all__ = [
    "MAX_LOCATIONS",
    "ChannelAxis",
    "InputSpec",
    "LocationIds",
    "Padding",
    "adds_margins",
    "axes_mismatch",
    "centred_margins",
    "channel_axis",
    "channel_axis_hint",
    "check_padding",
    "data_channel_axis",
    "downsample_advice",
    "grid_axes_problem",
    "grid_problem",
    "padded_ids",
    "padded_shape",
    "squeezed_shape",
]

Padding: TypeAlias = tuple[tuple[int, int], ...]
"""Per axis, the constant locations added ``(before, after)`` the input."""

_LAST_CHANNELS = (3, 4)
"""Colour channels last (height, width, RGB or RGBA): a last axis of this size in an image-sized
shape is likely them."""

_FIRST_CHANNELS = (3,)
"""Colour channels first (RGB, height, width). Not 4: a first axis of 4 is as likely a clip of 4
frames."""

_PAIR_CHANNELS = (2,)
"""Two channels, at either end of a data sample's axes: the I and Q of a radio signal (``(2,
128)``), the two of stereo audio or of optical flow. A grid axis of 2 beside axes of at least
:data:`_SPATIAL_LEAST` is as rare as a colour axis of that size."""

_SPATIAL_LEAST = 8
"""Least size of the other axes for an end axis to read as channels."""

_ONE_CHANNEL = (1,)
"""One channel last, as Keras writes a grey image (``[64, 64, 1]``), on a 3-axis shape only. Its
axis pools nothing, but it moves the names the presets give the others: the image's rows are read
as the depth and its columns as the rows (``top_bottom`` mirrors the columns). A first axis of
one (PyTorch's ``[1, 64, 64]``) moves no name, and a 2-axis ``[64, 1]`` is told the sequence
``[64]`` where a preset refuses it (:mod:`advisor.model.presets`)."""


def _flat_ids(value: Any) -> Any:
    """Refuse location ids written per row or as coordinates, saying how they are numbered.

    A researcher lays a 2-D permutation out as the grid (a list per row, or a NumPy array of
    the grid's shape) and a region as ``[h, w]`` pairs; read on, each row was refused as "Input
    should be a valid integer", once per row, which does not say that an id is one number.
    Anything else is left to the field's own check. The first item alone is looked at: a
    permutation holds up to 2^20 ids, and rows or pairs start at the first.
    """
    nested = (
        isinstance(value, list | tuple)
        and len(value) > 0
        and isinstance(value[0], list | tuple | np.ndarray)
    )
    if nested or (isinstance(value, np.ndarray) and value.ndim > 1):
        found = f"is an array of shape {value.shape}" if not nested else "holds a list"
        raise ValueError(
            f"{found} where location ids belong: a location id is one number, row-major "
            "(h * W + w on an [H, W] grid, (d * H + h) * W + w on a [D, H, W] grid), and the "
            "ids are one flat list, not a list per row or [h, w] coordinates (from NumPy: "
            "array.ravel(), np.ravel_multi_index)"
        )
    return _python_ints(value)


def _python_ints(value: Any) -> Any:
    """Give NumPy's integers as the ``int`` they equal, all at once; leave the rest to the field.

    What :data:`~advisor.model.scalars.StrictWhole` does per item, for up to 2^20 ids: called
    once per id it took 0.26 s of each million-location design a client decoded. An integer
    array is read whole; a list or tuple of ``int`` alone (a document's, a message's) is passed
    on as it is, the field's strict integers checking it; one holding NumPy integers has those
    converted.
    """
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu":
        return value.tolist()
    if isinstance(value, list | tuple) and not set(map(type, value)) <= {int}:
        return [int(item) if isinstance(item, np.integer) else item for item in value]
    return value


LocationIds: TypeAlias = Annotated[
    tuple[Annotated[int, Field(strict=True)], ...], BeforeValidator(_flat_ids), ShortRepr("ids")
]
"""Location ids of a grid, one flat row-major list (a region's indices, a permutation); a
model's repr abbreviates a long one."""

MAX_LOCATIONS = 2**20
"""Largest grid the library accepts (e.g. 1024 x 1024). Tasks and architectures allocate
per-location arrays while they are validated, so an absurd shape must be refused before anything
is built; the service enforces its own, lower limit (docs/SERVICE.md)."""


class InputSpec(NullsOmitted):
    """Shape of the input (``[N]``, ``[H, W]`` or ``[D, H, W]``) and its channel count."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    shape: tuple[StrictWhole, ...] = Field(
        description="[N], [H, W] or [D, H, W]; locations are numbered row-major.",
        json_schema_extra=list_form("one size per axis: [N], [H, W] or [D, H, W], as [32, 32]"),
    )
    channels: PositiveInt32 = Field(default=1, description="Input channels (e.g. 3 for RGB).")

    @field_validator("shape")
    @classmethod
    def _shape_is_a_grid(cls, shape: tuple[int, ...]) -> tuple[int, ...]:
        problem = grid_problem(shape)
        if problem is not None:
            hint = _shape_hint(shape) if len(shape) not in (1, 2, 3) else None
            raise ValueError(problem + (f" ({hint})" if hint else ""))
        return shape

    @property
    def num_locations(self) -> int:
        """Number of input locations (pixels or time steps)."""
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        """1 for sequences, 2 for images, 3 for volumes and videos."""
        return len(self.shape)


@dataclass(frozen=True)
class ChannelAxis:
    """An end axis of a shape that looks like channels (:func:`channel_axis`).

    ``size`` is its length (3 or 4 for colours, 2 for a pair, 1 in a data sample), ``grid`` the
    shape without it (and, for a shape of more than 3 axes, without its axes of one location),
    ``last`` whether it ends the shape.
    """

    size: int
    grid: list[int]
    last: bool


def channel_axis(shape: Sequence[int]) -> ChannelAxis | None:
    """Return the end axis of ``shape`` that looks like channels, if one does.

    Channels are not an axis of the grid (``input.channels`` holds them): a shape such as
    ``[32, 32, 3]`` (height, width, channels) or ``[3, 32, 32]`` is a 3-D grid whose 3-long axis
    is pooled like a spatial one, and ``[1, 32, 32, 3]`` (a batch of one) is refused. Stereo
    audio as torchaudio holds it, ``[2, 16000]``, is likewise searched as a 2-row image (the
    data path, :func:`data_channel_axis`, read such a pair as channels; a task's shape was given
    no word of it). Axes of one location are left out of a shape of more than 3 axes first. None
    unless the last axis has 3 or 4 locations or the first 3 (colours), or either has 2 (a
    pair), or a 3-axis shape's last has 1 (:data:`_ONE_CHANNEL`), while every other axis has at
    least 8 and the rest is a grid.
    """
    return (
        _colour_axis(shape)
        or _end_axis(_axes(shape), _PAIR_CHANNELS, _PAIR_CHANNELS)
        or (_end_axis(shape, _ONE_CHANNEL, ()) if len(shape) == 3 else None)
    )


def _colour_axis(shape: Sequence[int]) -> ChannelAxis | None:
    """Return the end axis of ``shape`` that looks like colour channels (:func:`channel_axis`)."""
    return _end_axis(_axes(shape), _LAST_CHANNELS, _FIRST_CHANNELS)


def _axes(shape: Sequence[int]) -> list[int]:
    """Return the axes a channel axis is looked for among: past 3 axes, those not of 1 location."""
    return [n for n in shape if n != 1] if len(shape) > 3 else list(shape)


def _end_axis(axes: Sequence[int], last: Sequence[int], first: Sequence[int]) -> ChannelAxis | None:
    """Return the end axis of ``axes`` whose size is in ``last`` (last axis) or ``first``.

    Only while every other axis has at least :data:`_SPATIAL_LEAST` locations and they are 1 to
    3 axes (a grid): beside short axes, a short end axis is as likely one of the grid's.
    """
    if not axes:
        return None
    for axis, counts in ((len(axes) - 1, last), (0, first)):
        rest = list(axes[:axis]) + list(axes[axis + 1 :])
        if axes[axis] in counts and 1 <= len(rest) <= 3 and min(rest) >= _SPATIAL_LEAST:
            return ChannelAxis(axes[axis], rest, axis == len(axes) - 1)
    return None


def squeezed_shape(shape: Sequence[int]) -> list[int] | None:
    """Return ``shape`` without its axes of one location, if it has some beside longer ones.

    Such an axis pools nothing and holds no neighbour: ``[1, 64]`` (a sequence written as an
    image) holds the locations of ``[64]`` in the same order. None when no axis is of one
    location, or every axis is.
    """
    kept = [n for n in shape if n != 1]
    return kept if kept and len(kept) < len(shape) else None


def grid_problem(shape: Sequence[int]) -> str | None:
    """Say what keeps ``shape`` from being an input grid, or None when it is one.

    A grid has 1, 2 or 3 axes of positive sizes and at most :data:`MAX_LOCATIONS` locations.
    The one rule for every reader of a grid: a task's ``input.shape``, and a data sample's grid
    (:mod:`advisor.infer.grid_layout`), which becomes an inferred task's.
    """
    problem = grid_axes_problem(shape)
    if problem is None and math.prod(shape) > MAX_LOCATIONS:
        return (
            f"has more than {MAX_LOCATIONS:,} locations: {list(shape)} has "
            f"{math.prod(shape):,}; {_over_bound_advice(shape)}"
        )
    return problem


def _over_bound_advice(shape: Sequence[int]) -> str:
    """Say what brings ``shape``, over :data:`MAX_LOCATIONS`, within it.

    Where an end axis looks like channels (:func:`channel_axis_hint`), that first, and the
    stride of the grid without it: the stride on every axis made ``[2, 4000000]``, stereo audio,
    ``[1, 1000000]``, one channel dropped.
    """
    found = channel_axis(shape)
    if found is None:
        return downsample_advice(shape, MAX_LOCATIONS)
    hint = channel_axis_hint(shape)
    if math.prod(found.grid) <= MAX_LOCATIONS:
        return f"{hint}, and it fits"
    return f"{hint}; then {downsample_advice(found.grid, MAX_LOCATIONS)}"


def downsample_advice(shape: Sequence[int], most: int) -> str:
    """Say the least stride on every axis that brings ``shape`` (over it) within ``most`` locations.

    The grid a stride ``s`` leaves has ``ceil(n / s)`` locations per axis (what ``x[::s]``
    keeps); their count falls as ``s`` grows, so the least ``s`` is found by bisection (a shape
    of huge axes costs a few dozen products, not a count up). A grid over the library's bound
    (a CT or MRI volume such as ``[155, 240, 240]``) or a server's ``max_locations`` was told
    only that it was too large, with no word of what would fit. A stride above
    :data:`MAX_LOCATIONS` is advice no one takes (an axis of 10^20, a slip): the shape is
    said to be checked instead.
    """

    def kept(stride: int) -> list[int]:
        return [-(-n // stride) for n in shape]

    low, high = 1, max(shape)  # over the bound at ``low``, within it at ``high`` (one location)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if math.prod(kept(middle)) <= most else (middle, high)
    if high > MAX_LOCATIONS:
        # "A stride of 95367431640625 on every axis" is no downsampling: the shape is a slip.
        return f"check the shape: an axis of {max(shape):,} locations is no input to downsample"
    return f"downsample or crop it (a stride of {high} on every axis gives {kept(high)})"


def grid_axes_problem(shape: Sequence[int]) -> str | None:
    """Say what keeps the axes of ``shape`` from a grid's (1, 2 or 3, positive), or None.

    :func:`grid_problem` without its size bound: a reader with its own, lower bound (the
    service's ``max_locations``) applies it to a grid whose axes are right, so its limit is the
    one the caller is told.
    """
    if len(shape) not in (1, 2, 3):
        return f"must have 1, 2 or 3 dimensions, got {len(shape)}"
    if any(n <= 0 for n in shape):
        return f"every dimension must be positive, got {list(shape)}"
    return None


def channel_axis_hint(shape: Sequence[int]) -> str | None:
    """Say how to give channels when an end axis of ``shape`` looks like them."""
    found = channel_axis(shape)
    if found is None:
        return None
    if found.size in _ONE_CHANNEL:
        return (
            f"if the axis of 1 location holds the one channel, give the shape {found.grid}: the "
            "shape lists locations only, and as written the image's rows are read as the depth "
            "and its columns as the rows"
        )
    kind = (
        "colour channels"
        if found.size in _LAST_CHANNELS
        else "a pair of channels, as stereo's or a signal's I and Q"
    )
    return (
        f"if the axis of {found.size} locations holds {kind}, give the shape "
        f"{found.grid} and channels {found.size}: the shape lists locations only"
    )


def data_channel_axis(shape: Sequence[int]) -> ChannelAxis | None:
    """Return the end axis of ``shape`` that looks like channels: colour, two, or one value.

    Besides colour axes (:func:`channel_axis`), an end axis of one location beside others is the
    single channel of ``(28, 28, 1)`` (Keras' layout) or ``(1, 28, 28)`` (PyTorch's), and of
    ``(16, 112, 112, 1)`` for a volume or a clip: read as written it is a grid axis (a 28x28x1
    volume names the image's rows ``depth`` and its columns ``rows``), or no grid at all. An end
    axis of two beside long ones (:data:`_PAIR_CHANNELS`) is likely a pair of channels: read as
    written, the I and Q of ``(2, 128)`` radio samples were a 2x128 image's rows. The grid of
    one channel leaves out every axis of one location (:func:`squeezed_shape`), not the end one
    alone: ``(1, 1, 4)`` is the grid ``[4]``, as ``[1, 4]`` would still hold an axis that pools
    nothing.
    """
    colours = _colour_axis(shape)
    if colours is not None or len(shape) < 2:
        return colours
    if 1 in (shape[-1], shape[0]):
        return ChannelAxis(1, squeezed_shape(shape) or [], last=shape[-1] == 1)
    return channel_axis(shape)


def _shape_hint(shape: Sequence[int]) -> str | None:
    """Say how to give the channels a shape that is no grid holds as an axis, if it seems to.

    Colour channels (:func:`channel_axis_hint`), else one channel at an end of a grid's axes
    (``[16, 112, 112, 1]``, a clip as Keras and Katib's ``[D, H, W, 1]`` write it).
    """
    colours = channel_axis_hint(shape)
    if colours is not None:
        return colours
    found = data_channel_axis(shape)
    if found is None or found.size != 1 or grid_problem(found.grid) is not None:
        return None
    return (
        "if the axis of 1 location is a channels axis (one channel), give the shape "
        f"{found.grid}: the shape lists locations only"
    )


def adds_margins(padding: Padding | None) -> bool:
    """Return whether ``padding`` adds any location (one of zeros, as files may hold, adds none)."""
    return padding is not None and any(before or after for before, after in padding)


def centred_margins(total: int) -> tuple[int, int]:
    """Split ``total`` margin locations of an axis about the input: ``(before, after)``.

    Half before and half after, one more after when ``total`` is odd: the margins mirror pooling
    reflects about the input's own centre with (docs/FORMATS.md §2), as the search pads.

    >>> centred_margins(4), centred_margins(3)
    ((2, 2), (1, 2))
    """
    return total // 2, total - total // 2


def padded_shape(shape: Sequence[int], padding: Padding | None) -> tuple[int, ...]:
    """Return ``shape`` grown by ``padding`` (``shape`` itself when there is none)."""
    if padding is None:
        return tuple(shape)
    return tuple(n + before + after for n, (before, after) in zip(shape, padding, strict=True))


def axes_mismatch(entries: int, shape: Sequence[int]) -> str:
    """Say that a list of one entry per axis has ``entries`` where the input ``shape`` has others.

    ``has 2 entries; the input [13] has 1 axis``: the words the padding, a box's bounds and a
    layer's pool and stride are refused with.
    """
    listed, axes = counted(entries, "entry", "entries"), counted(len(shape), "axis", "axes")
    return f"has {listed}; the input {list(shape)} has {axes}"


def check_padding(shape: Sequence[int], padding: Padding | None) -> None:
    """Check that ``padding`` has one ``[before, after]`` per axis and a grid within the limit.

    Raises
    ------
    InvalidRequestError
        On ``padding``.
    """
    if padding is None:
        return
    if len(padding) != len(shape):
        raise InvalidRequestError.single("padding", axes_mismatch(len(padding), shape))
    grown = padded_shape(shape, padding)
    if math.prod(grown) > MAX_LOCATIONS:
        raise InvalidRequestError.single(
            "padding", f"pads the input to {list(grown)}, more than {MAX_LOCATIONS} locations"
        )


def padded_ids(
    ids: npt.NDArray[np.intp], shape: Sequence[int], padding: Padding | None
) -> npt.NDArray[np.intp]:
    """Return the ids of the input locations ``ids`` in the padded grid's row-major numbering."""
    if padding is None:
        return ids
    coordinates = np.unravel_index(ids, tuple(shape))
    shifted = [c + before for c, (before, _) in zip(coordinates, padding, strict=True)]
    moved: npt.NDArray[np.intp] = np.ravel_multi_index(shifted, padded_shape(shape, padding))
    return moved.astype(np.intp)
