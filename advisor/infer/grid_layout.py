"""Lay an array's dimensions onto a grid: which axes are the grid and which hold channels.

Every sample, of a file or an array, is read samples first, then the grid, then optional
channels: ``(S, 28, 28)`` is ``S`` samples of a 28x28 grid; ``(S, 32, 32, 3)`` with
``shape=(32, 32)`` adds three channels, and so does ``(S, 3, 32, 32)``, channels first; ``(S,
64)`` with ``shape=(8, 8)`` is read row-major onto the grid. One rule for every format, so a
sample reads alike from ``.npy``, ``.npz``, ``.csv`` or memory, and a grid is checked by the
rule a task's is (:func:`~advisor.model.grid.grid_problem`), since it becomes an inferred
task's. An array that holds no grid is refused saying what it does hold (its transpose, a flat
row of channels) rather than guessed at.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from advisor.errors import InvalidRequestError
from advisor.model.grid import grid_problem, squeezed_shape

__all__ = ["grid_layout"]


def grid_layout(
    dims: Sequence[int], shape: Sequence[int] | None, name: str = ""
) -> tuple[tuple[int, ...], int, bool]:
    """Split an array's dimensions into (grid, channels, channels first) after the samples axis.

    With ``shape``, one more axis before or after the grid holds the channels: after it when
    both read (``(S, 8, 8, 8)`` on ``(8, 8)``), since the layout is samples, grid, channels.
    Axes of one location beside the grid's are one channel (``(S, 1, 1, 4)`` on ``(4,)``).
    The grid is checked (:func:`_checked_grid`) on the field that named it: ``data.shape`` when
    ``shape`` is given, else ``data`` (every axis after the samples is the grid). An array that
    does not hold the grid is refused naming ``name``, the file it was read from if any, and
    saying so when its transpose would hold it (:func:`_transposed`).
    """
    dims = tuple(int(n) for n in dims)
    if len(dims) < 2:
        raise InvalidRequestError.single(
            "data", f"array of shape {list(dims)}: expected samples first, then the grid"
        )
    if dims[0] < 2:
        raise InvalidRequestError.single(
            "data", f"{dims[0]} sample(s): the dependence between locations needs at least 2"
        )
    rest = dims[1:]
    if 0 in rest:
        # Zero values per sample: no grid or channel count can be read from it.
        raise InvalidRequestError.single(
            "data",
            f"array of shape {list(dims)}: an axis of size 0 holds no values; every axis after "
            "the samples needs at least one",
        )
    if shape is None:
        return _checked_grid(rest, given=False), 1, False
    grid = _checked_grid(tuple(int(n) for n in shape), given=True)
    fit = _channels_on(rest, grid)
    if fit is not None:
        return (grid, *fit)
    named = f"{name}: " if name else ""
    transposed = _transposed(dims, grid)
    if transposed is not None:
        raise InvalidRequestError.single(
            "data.shape",
            f"{named}samples of shape {list(rest)} are not the grid {list(grid)}, but the "
            f"array's transpose, of shape {list(transposed)}, holds {transposed[0]:,} samples "
            "of it: if the samples are its last axis (its columns), save it transposed "
            "(array.T), samples first",
        )
    values = math.prod(rest)
    locations = math.prod(grid)
    flattened = ""
    if values == locations:
        # The grid's values on other axes: [16, 16] for the grid [256] read as a flat row of it
        # only if the user says so, as an 8x32 image is no 16x16 one.
        raise InvalidRequestError.single(
            "data.shape",
            f"{named}the array holds samples of shape {list(rest)}: as many values as the grid "
            f"{list(grid)} has locations, on other axes. To read each sample's values in order "
            f"(row-major) as the grid, save the array reshaped as .reshape(-1, "
            f"{', '.join(map(str, grid))}); else give the shape the samples have",
        )
    if len(rest) == 1 and values % locations == 0:
        # Interleaved (HWC) or planar (CHW): a flat row cannot say which, so it is not guessed.
        channels = values // locations
        last, first = (", ".join(map(str, axes)) for axes in ((*grid, channels), (channels, *grid)))
        flattened = (
            f"; its {values:,} values are {channels} per location: save the array reshaped "
            f"as .reshape(-1, {last}) or .reshape(-1, {first}), as its values are ordered, "
            "in a .npy (a flat row or a CSV line cannot say which)"
        )
    raise InvalidRequestError.single(
        "data.shape",
        f"{named}the array holds samples of shape {list(rest)}, which is not the grid "
        f"{list(grid)} (optionally with one channels axis after or before it) nor its "
        f"flattened form{flattened}",
    )


def _channels_on(rest: tuple[int, ...], grid: tuple[int, ...]) -> tuple[int, bool] | None:
    """Return (channels, channels first) when a sample of shape ``rest`` holds ``grid``, else None.

    It does with one more axis of channels after or before the grid, and as a flat row.
    """
    values = math.prod(rest)
    locations = math.prod(grid)
    if rest[: len(grid)] == grid and len(rest) <= len(grid) + 1:
        return values // locations, False
    if rest[1:] == grid:
        return rest[0], True
    if values == locations and (len(rest) == 1 or squeezed_shape(rest) == list(grid)):
        # A flat row, or the grid among axes of one location, which hold no neighbour: the
        # values of (1, 1, 4) are those of [4] in the same order, as the report's note reads.
        return 1, False
    return None


def _transposed(dims: Sequence[int], grid: tuple[int, ...]) -> tuple[int, ...] | None:
    """Return the transpose of ``dims`` when it holds samples of ``grid`` (None when not).

    Features as rows and samples as columns (a CSV of 784 lines of 1,000 values for 1,000
    samples of 28x28, an ``.npy`` of shape ``(784, N)``) was told only that ``[N]`` is not the
    grid, which does not say what is wrong with the file.
    """
    transposed = tuple(dims[::-1])
    if transposed[0] < 2 or _channels_on(transposed[1:], grid) is None:
        return None
    return transposed


def _checked_grid(grid: tuple[int, ...], *, given: bool) -> tuple[int, ...]:
    """Return ``grid``, or refuse it when it is no input grid or no dependence can be measured.

    It must be a grid a task can have (:func:`~advisor.model.grid.grid_problem`: 1, 2 or 3 axes
    of positive sizes), since the inferred task's input is this grid, and it must have two
    locations or more: the dependence graph is made of pairs of locations. The error is on
    ``data.shape`` when the grid was given, else on ``data``, whose axes after the samples were
    read as the grid.
    """
    field = "data.shape" if given else "data"
    problem = grid_problem(grid)
    if problem is not None:
        if given:
            raise InvalidRequestError.single(field, f"the grid {list(grid)}: {problem}")
        raise InvalidRequestError.single(
            field,
            f"the grid {list(grid)} (every axis after the samples): {problem}; name the grid "
            "with shape (--shape): one axis after it is read as channels",
        )
    if math.prod(grid) == 1:
        raise InvalidRequestError.single(
            field, f"the grid {list(grid)} is one location: no pair of locations to measure"
        )
    return grid
