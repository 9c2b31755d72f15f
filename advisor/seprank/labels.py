"""Side labels of the input locations, one row per correlation: the engines' view of a task.

Every engine reads a correlation as a labelling of the locations: side A, side B, free
(outside both regions, contracted with a generic vector; docs/THEORY.md §3), or padded (a location
the network adds around its input, which holds one constant input everywhere). Encoding it once
as a small integer matrix lets the tree recurrence treat many correlations as one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from advisor.model.grid import Padding, padded_shape
from advisor.model.packed import PackedIds

__all__ = [
    "FREE",
    "PADDED",
    "SIDE_A",
    "SIDE_B",
    "LabelRows",
    "RegionPair",
    "correlation_labels",
    "label_regions",
    "padded_labels",
]

FREE: Final = 0
"""Label of a location outside both regions."""
SIDE_A: Final = 1
"""Label of a location of region A."""
SIDE_B: Final = 2
"""Label of a location of region B."""
PADDED: Final = 3
"""Label of a padded location: outside both regions, holding the same constant input as every
other padded location. To a min-cut it is free; the exact engine gives all of them one vector.
A margin location whose representation patch reaches the input holds no constant: it is
:data:`FREE` (:func:`padded_labels`)."""

LabelRows = Callable[[Sequence["RegionPair"]], npt.NDArray[np.int8]]
"""Builds the ``(C, N)`` side labels of some correlations on the grid an engine reads (padded
where the network pads), so an engine can build them chunk by chunk."""


class RegionPair(Protocol):
    """Two disjoint arrays of location ids, e.g. ``advisor.model.task.ResolvedCorrelation``."""

    @property
    def a(self) -> npt.NDArray[np.intp]:
        """Locations of region A."""
        ...

    @property
    def b(self) -> npt.NDArray[np.intp]:
        """Locations of region B."""
        ...


def correlation_labels(
    correlations: Sequence[RegionPair], num_locations: int
) -> npt.NDArray[np.int8]:
    """Label every location of every correlation as :data:`FREE`, :data:`SIDE_A` or :data:`SIDE_B`.

    Parameters
    ----------
    correlations
        Region pairs whose location ids lie in ``range(num_locations)``; A and B must be disjoint
        (``advisor.model.task.Task`` guarantees both for user input).
    num_locations
        Number of input locations.

    Returns
    -------
    numpy.ndarray
        ``int8`` array of shape ``(len(correlations), num_locations)``.

    Raises
    ------
    ValueError
        If a location id is out of range or belongs to both regions (a caller bug, not user input).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> pair = SimpleNamespace(a=np.array([0, 1]), b=np.array([3]))
    >>> correlation_labels([pair], 4)
    array([[1, 1, 0, 2]], dtype=int8)
    """
    labels = np.full((len(correlations), num_locations), FREE, dtype=np.int8)
    for row, pair in zip(labels, correlations, strict=True):
        # Regions held packed (ResolvedCorrelation's) are labelled from their masks.
        packed_a, packed_b = getattr(pair, "packed_a", None), getattr(pair, "packed_b", None)
        if isinstance(packed_a, PackedIds) and isinstance(packed_b, PackedIds):
            _fill_packed(row, packed_a, packed_b)
            continue
        a, b = np.asarray(pair.a, dtype=np.intp), np.asarray(pair.b, dtype=np.intp)
        for side in (a, b):
            if side.size and (side.min() < 0 or side.max() >= num_locations):
                raise ValueError(f"location ids must lie in [0, {num_locations})")
        row[a] = SIDE_A
        if np.any(row[b] == SIDE_A):
            raise ValueError("regions A and B must be disjoint")
        row[b] = SIDE_B
    return labels


def _fill_packed(row: npt.NDArray[np.int8], a: PackedIds, b: PackedIds) -> None:
    """Label one row (all :data:`FREE`) from packed regions, by their masks (no id arrays)."""
    a.add_to(row, SIDE_A)
    b.add_to(row, SIDE_B)
    if row.max(initial=FREE) > SIDE_B:  # a location of both: SIDE_A + SIDE_B
        raise ValueError("regions A and B must be disjoint")


def label_regions(
    labels: npt.NDArray[np.int8],
) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    """Return the sorted location ids of A and of B for every row of ``labels``.

    The inverse of :func:`correlation_labels`, for the engines that work one region pair at a
    time.

    Examples
    --------
    >>> label_regions(np.array([[1, 1, 0, 2]], dtype=np.int8))
    [(array([0, 1]), array([3]))]
    """
    return [(np.flatnonzero(row == SIDE_A), np.flatnonzero(row == SIDE_B)) for row in labels]


def padded_labels(
    labels: npt.NDArray[np.int8],
    shape: Sequence[int],
    padding: Padding | None,
    kernel: int = 1,
) -> npt.NDArray[np.int8]:
    """Place the labels of a ``shape`` grid inside the padded grid; the margin is :data:`PADDED`.

    ``kernel``: the representation conv's width k, run 'same' on the padded grid (offsets
    ``-(k - 1) // 2 .. k // 2`` on every axis, docs/FORMATS.md §2). A location's input is its
    patch (docs/THEORY.md §1), so a margin location whose patch holds a pixel of the input
    varies with the input: it is an input of its own outside both regions, :data:`FREE`, not
    the one constant every all-zero patch holds. Labelled constant, the exact engine certified
    the rank at one particular value of those patches, which can be below the network's (on a
    2x2 input padded to 4x4 with k = 3, rank 3 where it is 4).

    Examples
    --------
    >>> padded_labels(np.array([[1, 0, 2]], dtype=np.int8), (3,), ((1, 0),))
    array([[3, 1, 0, 2]], dtype=int8)
    >>> padded_labels(np.array([[1, 0, 2]], dtype=np.int8), (3,), ((2, 2),), kernel=3)
    array([[3, 0, 1, 0, 2, 0, 3]], dtype=int8)
    """
    if padding is None:
        return labels
    grown = np.full((len(labels), *padded_shape(shape, padding)), PADDED, dtype=np.int8)
    reach = tuple(
        slice(max(before - kernel // 2, 0), before + n + (kernel - 1) // 2)
        for n, (before, _) in zip(shape, padding, strict=True)
    )
    grown[(slice(None), *reach)] = FREE
    inner = tuple(slice(before, before + n) for n, (before, _) in zip(shape, padding, strict=True))
    grown[(slice(None), *inner)] = labels.reshape(len(labels), *shape)
    return grown.reshape(len(labels), -1)
