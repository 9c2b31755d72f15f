"""Pooling schedules: the window of every layer, and the grid each layer leaves.

A schedule lists, bottom-up, each layer's window size and step per input axis (a ``None`` stride:
the windows do not overlap, the step is the pool). Its rules, checked by :func:`check_schedule`
and reported on ``layers[i].pool`` / ``layers[i].stride`` with the grid at that layer: windows
must tile the grid they pool (each axis divisible by the pool, or ``(n - pool) % stride == 0``
when they overlap), a stride lies in ``[1, pool]``, is below the pool on some axis and equals
it on an axis with a single window, and the last pooling is global. Windows that do not tile are
refused with the input padding that makes them tile, where the windows below do not overlap.

:class:`Schedule` is a schedule known to follow them: built by :func:`check_schedule` from user
input, or by :meth:`Schedule.trusted` by code that generated it under these rules (the search)
or took it from an :class:`~advisor.model.architecture.Architecture`, which was checked when it
was built. Either way it is checked once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.grid import Padding, adds_margins, axes_mismatch, centred_margins

__all__ = ["Schedule", "check_schedule", "grid_text"]

_Grid = tuple[int, ...]


@dataclass(frozen=True)
class Schedule:
    """A pooling schedule that follows the rules of the module docstring.

    Attributes
    ----------
    grids
        ``L + 1`` grid shapes: the input, then the output of every layer (the last is all ones).
    pools
        Per layer, the window size per axis.
    strides
        Per layer, the window step per axis when windows overlap, else None.
    padding
        Where the input lies on the first grid when that grid is the input padded (the
        ``[before, after]`` margins per axis), else None: a geometry that reflects the input
        reflects it about its own centre.
    """

    grids: tuple[_Grid, ...]
    pools: tuple[_Grid, ...]
    strides: tuple[_Grid | None, ...]
    padding: Padding | None = None

    @classmethod
    def trusted(
        cls,
        shape: Sequence[int],
        pools: Sequence[Sequence[int]],
        strides: Sequence[Sequence[int] | None] | None = None,
        padding: Padding | None = None,
    ) -> Schedule:
        """Return the schedule without checking it: for schedules known to follow the rules.

        ``shape`` is the grid pooled (the padded one when ``padding`` is given).
        """
        pool_tuples = tuple(tuple(pool) for pool in pools)
        stride_tuples = _strides(pool_tuples, strides)
        grids = [tuple(shape)]
        for pool, stride in zip(pool_tuples, stride_tuples, strict=True):
            grids.append(_pooled(grids[-1], pool, pool if stride is None else stride))
        return cls(tuple(grids), pool_tuples, stride_tuples, padding)

    @property
    def depth(self) -> int:
        """Number of pooling layers."""
        return len(self.pools)

    @property
    def num_locations(self) -> int:
        """Locations of the input grid."""
        return math.prod(self.grids[0])

    def locations_text(self) -> str:
        """Say how many locations the first grid has, for a message about numbering them.

        Where the input is padded, the grid is the padded one, and a count of "the input's"
        locations would be untrue: ``the padded grid has 16 locations (the input 9, padded to
        4x4)``.
        """
        size = self.num_locations
        if self.padding is None or not adds_margins(self.padding):
            return f"the input has {size} locations"
        shape = [
            n - before - after
            for n, (before, after) in zip(self.grids[0], self.padding, strict=True)
        ]
        return (
            f"the padded grid has {size} locations (the input {math.prod(shape)}, padded to "
            f"{grid_text(self.grids[0])})"
        )

    @property
    def steps(self) -> tuple[_Grid, ...]:
        """Per layer, the window step per axis: the stride if given, else the pool."""
        return tuple(
            pool if stride is None else stride
            for pool, stride in zip(self.pools, self.strides, strict=True)
        )

    @property
    def overlapping(self) -> tuple[int, ...]:
        """Indices of the layers whose windows overlap (they have a stride)."""
        return tuple(i for i, stride in enumerate(self.strides) if stride is not None)


def check_schedule(
    shape: Sequence[int],
    pools: Sequence[Sequence[int]],
    strides: Sequence[Sequence[int] | None] | None = None,
    padding: Padding | None = None,
    *,
    centred: bool = False,
) -> Schedule:
    """Check a schedule on a grid against the rules of the module docstring.

    ``shape`` is the grid pooled: the padded one when ``padding`` is given, which the schedule
    keeps (:attr:`Schedule.padding`). ``centred`` is for a geometry that reflects the input about
    its centre (mirror): the padding a refusal advises splits the margins of every axis it grows
    about the input (:func:`~advisor.model.grid.centred_margins`), where margins after the input
    alone would move the centre the reflections pair about.

    Raises
    ------
    InvalidRequestError
        Naming ``layers``, ``layers[i].pool`` or ``layers[i].stride`` (with the grid there).
    ValueError
        When ``strides`` is given with a different length from ``pools`` (a caller bug).
    """
    pool_tuples = tuple(tuple(pool) for pool in pools)
    stride_tuples = _strides(pool_tuples, strides)
    if not pool_tuples:
        raise InvalidRequestError.single("layers", "needs at least one layer")
    grid = tuple(shape)
    axes_problems = [
        FieldViolation(f"layers[{i}].{name}", axes_mismatch(len(v), grid))
        for i, (pool, stride) in enumerate(zip(pool_tuples, stride_tuples, strict=True))
        for name, v in (("pool", pool), ("stride", stride))
        if v is not None and len(v) != len(grid)
    ]
    if axes_problems:
        raise InvalidRequestError(axes_problems)
    grids = [grid]
    padded = _Padded(grid, padding, pool_tuples, stride_tuples, centred)
    for i, (pool, stride) in enumerate(zip(pool_tuples, stride_tuples, strict=True)):
        grids.append(_pool_grid(f"layers[{i}]", grids[-1], pool, stride, padded))
    last = len(pool_tuples) - 1
    if math.prod(grids[-1]) != 1:
        raise InvalidRequestError.single(
            f"layers[{last}].pool",
            f"the last pooling must be global, but pool {list(pool_tuples[last])} leaves a "
            f"{grid_text(grids[-1])} grid: the grid at this layer is {grid_text(grids[-2])} "
            f"(global pool {list(grids[-2])})",
        )
    return Schedule(tuple(grids), pool_tuples, stride_tuples, padding)


def grid_text(grid: Sequence[int]) -> str:
    """Write a grid shape as error messages do, e.g. ``8x8``."""
    return "x".join(str(n) for n in grid)


def _strides(
    pools: tuple[_Grid, ...], strides: Sequence[Sequence[int] | None] | None
) -> tuple[_Grid | None, ...]:
    if strides is None:
        return (None,) * len(pools)
    if len(strides) != len(pools):
        raise ValueError(f"{len(pools)} pools but {len(strides)} strides")
    return tuple(None if stride is None else tuple(stride) for stride in strides)


@dataclass(frozen=True)
class _Padded:
    """What a refusal needs to say how padding the input would make every layer tile.

    ``shape`` is the grid pooled first (the input, with ``padding`` when given); ``pools`` and
    ``strides`` every layer's; ``centred`` whether the margins advised are split about the input
    (:func:`check_schedule`).
    """

    shape: _Grid
    padding: Padding | None
    pools: tuple[_Grid, ...]
    strides: tuple[_Grid | None, ...]
    centred: bool

    def advice(self) -> str:
        """Say how to pad the input so that every layer's windows tile ('' if no padding does).

        The layers, their last pooling global, pool exactly one grid (:func:`_pooled_exactly`):
        margins after the input on each axis grow it to that grid, as a CNN pads a size its
        windows do not divide (27x27 under five 2x2 poolings to 32x32), split about the input
        when ``centred``. The advice is checked: a padding another rule refuses (a stride below
        the pool of a single window) is not advised. Until 2026-12-07 the advice tiled the
        layers up to the refused one (27x27 was told 28x28, then refused at the third layer and
        told 32x32) and none was given above a layer with a stride.
        """
        exact = _pooled_exactly(self.pools, self.strides)
        if any(e < n for e, n in zip(exact, self.shape, strict=True)):
            return (
                f"; no padding makes them tile: the layers pool exactly {grid_text(exact)} "
                f"locations per axis to one, and the grid is {grid_text(self.shape)}"
            )
        margins = self.padding or ((0, 0),) * len(self.shape)
        extra = [e - n for e, n in zip(exact, self.shape, strict=True)]
        grown = tuple(
            centred_margins(before + after + e) if self.centred and e else (before, after + e)
            for (before, after), e in zip(margins, extra, strict=True)
        )
        try:
            check_schedule(exact, self.pools, self.strides, grown, centred=self.centred)
        except InvalidRequestError:
            return ""
        return (
            f"; pad the input to {grid_text(exact)} (padding: {[list(m) for m in grown]}) and "
            "every layer's windows tile it"
        )


def _pooled_exactly(pools: tuple[_Grid, ...], strides: tuple[_Grid | None, ...]) -> _Grid:
    """Return the one grid ``pools`` at ``strides`` tile, the last pooling global.

    Top down: the last layer's windows are the whole grid it pools, and a layer whose output
    grid is ``m`` pools ``(m - 1) * step + pool`` locations per axis.
    """
    grid = (1,) * len(pools[0])
    for pool, stride in zip(reversed(pools), reversed(strides), strict=True):
        step = pool if stride is None else stride
        grid = tuple((m - 1) * s + k for m, k, s in zip(grid, pool, step, strict=True))
    return grid


def _pool_grid(path: str, grid: _Grid, pool: _Grid, stride: _Grid | None, padded: _Padded) -> _Grid:
    """Return the grid one pooling layer leaves, or raise saying why its windows do not tile.

    Where they do not, the refusal says how to pad the input so they do (``padded``).
    """
    step = pool if stride is None else stride
    axes = list(zip(grid, pool, step, strict=True))
    at = f"the grid at this layer is {grid_text(grid)}"

    def reject(name: str, problem: str, advice: str = "") -> InvalidRequestError:
        return InvalidRequestError.single(f"{path}.{name}", f"{problem}: {at}{advice}")

    if any(k > n for n, k, _ in axes):
        # A layer more than the input has levels for: told only "larger than the grid: the grid
        # at this layer is 1", the writer was not told that the network had already ended.
        ended = (
            "; the layers below pool the input to one location already, so this layer has "
            "nothing to pool: remove it and the layers after it"
            if math.prod(grid) == 1 < math.prod(padded.shape)
            else ""
        )
        raise reject("pool", f"pool {list(pool)} is larger than the grid", ended)
    if stride is None and any(n % k for n, k, _ in axes):
        raise reject("pool", f"windows {list(pool)} do not tile the grid", padded.advice())
    if stride is not None:
        if any(s > k for _, k, s in axes):
            unpooled = any(s > k == 1 for _, k, s in axes)
            raise reject(
                "stride",
                f"stride {list(step)} exceeds pool {list(pool)}",
                "; a stride without pooling subsamples, which no layer of this model does "
                f"(each pools its windows): pool {list(step)} is the nearest layer"
                if unpooled
                else "",
            )
        if step == pool:
            raise reject("stride", f"stride {list(step)} equals pool, so omit it (no overlap)")
        if any((n - k) % s for n, k, s in axes):
            raise reject(
                "stride",
                f"windows {list(pool)} at stride {list(step)} do not tile the grid "
                "((n - pool) % stride must be 0 on every axis)",
                padded.advice(),
            )
        if any(s < k == n for n, k, s in axes):
            raise reject(
                "stride",
                f"stride {list(step)} is below the pool on an axis that has a single "
                "window, where it must equal the pool",
            )
    return _pooled(grid, pool, step)


def _pooled(grid: _Grid, pool: _Grid, step: _Grid) -> _Grid:
    """Return the grid of windows ``pool`` at ``step`` leave on ``grid``."""
    return tuple((n - k) // s + 1 for n, k, s in zip(grid, pool, step, strict=True))
