"""Mixtures of pooling trees [CTS18]: several networks on one schedule, summed at mixing levels.

An architecture with a ``mixture`` is K >= 2 member networks over the same input, pooling
schedule, representation layer and output layer. Member 0 is the architecture itself (its
``geometry`` and ``layers``); the others are listed in ``mixture.members``, each with its own
geometry and per-layer channels. Every member runs its own 1x1 convs and poolings; at each
level in ``mixture.mixing`` (1 .. L-1, counted as pooled layers: level l is the output of hidden
layer l) and at the root, the members' pooled activations are **summed**, node by node, and every
member continues from the sum; the root's sum feeds the one output layer. That is the
"mixed dilated convolutional network" of [CTS18] (docs/THEORY.md §15): two dilation orders give
two mode trees, and summing at a level where their nodes coincide interconnects them.

Rules (checked when an :class:`~advisor.model.architecture.Architecture` is built, errors under
``mixture...``): windows do not overlap; every member's geometry fits the schedule; each member
has one channel count per layer; at a mixing level (and at the root) all members' nodes cover
the same sets of locations, and the layers summed there have equal widths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt
from pydantic import ConfigDict, Field

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.compute import COUNT_LIMIT, end_multiply_adds, multiply_adds
from advisor.model.documents import NullsOmitted, RequestModel
from advisor.model.geometries import Geometry, family_of
from advisor.model.parameters import ParameterModel
from advisor.model.scalars import PositiveInt32, StrictWhole
from advisor.model.schedule import Schedule

__all__ = [
    "MAX_MEMBERS",
    "SHARED_WITH_THE_ARCHITECTURE",
    "Mixture",
    "MixtureMember",
    "check_mixture",
    "check_mixture_counts",
    "coinciding_levels",
    "member_geometries",
    "member_widths",
    "mixture_multiply_adds",
    "mixture_parameters",
    "node_labels",
    "summed_multiply_adds",
    "summed_parameters",
]

MAX_MEMBERS = 8
"""Most member networks in a mixture, the architecture's own included."""

_Labels = npt.NDArray[np.intp]
_Ints = npt.NDArray[np.int64]


SHARED_WITH_THE_ARCHITECTURE: Final = (
    "a member shares the rest of the architecture (its input, padding, pools, representation "
    "and outputs) and gives only its geometry and its channels, one width per layer "
    "(channels: [...], docs/FORMATS.md §2)"
)
"""What a key of the architecture written in a member is told (``MixtureMember.foreign_keys``)."""


class MixtureMember(RequestModel):
    """One more member network: its pooling geometry and its channels, one per hidden layer."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    foreign_keys: ClassVar[Mapping[str, str]] = {}
    """An architecture's keys written in a member, refused saying what a member gives
    (:data:`SHARED_WITH_THE_ARCHITECTURE`): a member written as a whole architecture was told
    only that its ``layers`` were not permitted, and its ``input`` to upgrade, as a newer
    version's field is. Every key :class:`~advisor.model.architecture.Architecture` and its
    layers take that a member does not, set there from their fields (they are built on this
    module)."""

    geometry: Geometry
    # No min_length: an empty list (a repeated field left empty on the wire) is told the rule
    # a short one is, one channel count per layer (check_mixture).
    channels: tuple[PositiveInt32, ...]


class Mixture(NullsOmitted):
    """The members beyond the architecture's own network and the levels where all are summed."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    members: tuple[MixtureMember, ...] = Field(min_length=1, max_length=MAX_MEMBERS - 1)
    mixing: tuple[StrictWhole, ...] = ()

    def summed_where(self) -> str:
        """Say where the members are summed: ``after level 3 and at the root``, or the root only.

        One wording for the table and the rationale, which had each their own ("after levels:
        9" for one level).
        """
        if not self.mixing:
            return "at the root only"
        levels = ", ".join(str(level) for level in self.mixing)
        after = "after levels" if len(self.mixing) > 1 else "after level"
        return f"{after} {levels} and at the root"


def member_geometries(geometry: Geometry, mixture: Mixture) -> list[Geometry]:
    """Return every member's geometry, the architecture's own first."""
    return [geometry, *(member.geometry for member in mixture.members)]


def member_widths(widths: Sequence[int], mixture: Mixture) -> list[tuple[int, ...]]:
    """Return every member's hidden widths ``r_0 .. r_{L-1}``, the architecture's own first."""
    return [tuple(widths), *(member.channels for member in mixture.members)]


def node_labels(geometry: Geometry, schedule: Schedule) -> list[_Labels]:
    """Return, per level ``0 .. L``, the node of that level every input location lies under.

    Level 0 is the locations themselves; level ``l`` numbers its nodes as
    :func:`advisor.geometry.layouts.pooling_structure` does (row-major over the grid layer ``l``
    leaves, before the next level's permutation). Two members' level-``l`` nodes cover the same
    location sets exactly when their labels are equal up to renaming.
    """
    gathers = family_of(geometry).gathers(geometry, schedule)
    labels = [np.arange(schedule.num_locations, dtype=np.intp)]
    for grid, pool, following, gather in zip(
        schedule.grids[:-1], schedule.pools, schedule.grids[1:], gathers, strict=True
    ):
        positions = np.indices(grid).reshape(len(grid), -1)
        windows = np.ravel_multi_index(
            tuple(positions // np.array(pool)[:, None]), following
        ).astype(np.intp)
        parent = np.empty_like(windows)
        parent[np.arange(windows.size) if gather is None else gather] = windows
        labels.append(parent[labels[-1]])
    return labels


def coinciding_levels(geometries: Sequence[Geometry], schedule: Schedule) -> tuple[int, ...]:
    """Return the levels ``1 .. L-1`` where every geometry's nodes cover the same location sets."""
    labels = [node_labels(geometry, schedule) for geometry in geometries]
    return tuple(
        level
        for level in range(1, schedule.depth)
        if all(_same_partition(labels[0][level], own[level]) for own in labels[1:])
    )


def check_mixture(
    mixture: Mixture, geometry: Geometry, widths: Sequence[int], schedule: Schedule
) -> None:
    """Check the rules of the module docstring; raise naming ``mixture...`` fields."""
    violations: list[FieldViolation] = []
    if schedule.overlapping:
        violations.append(FieldViolation("mixture", "a mixture needs non-overlapping windows"))
    depth = schedule.depth
    for index, level in enumerate(mixture.mixing):
        if not 1 <= level < depth:
            violations.append(
                FieldViolation(f"mixture.mixing[{index}]", f"must be in 1..{depth - 1}")
            )
        elif index and level <= mixture.mixing[index - 1]:
            violations.append(
                FieldViolation(f"mixture.mixing[{index}]", "levels must increase strictly")
            )
    for index, member in enumerate(mixture.members):
        if len(member.channels) != depth:
            violations.append(
                FieldViolation(
                    f"mixture.members[{index}].channels",
                    f"must give one channel count per layer ({depth}), got {len(member.channels)}",
                )
            )
        try:
            family_of(member.geometry).check(member.geometry, schedule)
        except InvalidRequestError as error:
            placed = error.prefixed(f"mixture.members[{index}]", cites=False)
            violations.extend(placed.violations)
    if violations:
        raise InvalidRequestError(violations)
    _check_mixing_levels(mixture, geometry, widths, schedule)


def _check_mixing_levels(
    mixture: Mixture, geometry: Geometry, widths: Sequence[int], schedule: Schedule
) -> None:
    """Members must agree on the node sets and the summed widths at every mixing level."""
    geometries = member_geometries(geometry, mixture)
    labels = [node_labels(g, schedule) for g in geometries]
    all_widths = member_widths(widths, mixture)
    violations = []
    for index, level in enumerate((*mixture.mixing, schedule.depth)):
        field = f"mixture.mixing[{index}]" if level < schedule.depth else "mixture.members"
        if not all(_same_partition(labels[0][level], own[level]) for own in labels[1:]):
            violations.append(
                FieldViolation(
                    field,
                    f"the members' nodes at level {level} cover different sets; "
                    f"{_coinciding_text(coinciding_levels(geometries, schedule))}",
                )
            )
        # The root is always summed: named as such, since it is in no mixing list.
        where = f"after level {level}" if level < schedule.depth else f"at the root (level {level})"
        for member, own in enumerate(all_widths[1:]):
            if own[level - 1] != all_widths[0][level - 1]:
                violations.append(
                    FieldViolation(
                        f"mixture.members[{member}].channels[{level - 1}]",
                        f"is summed {where} with the architecture's layer of "
                        f"{all_widths[0][level - 1]} channels and must equal it",
                    )
                )
    if violations:
        raise InvalidRequestError(violations)


def _coinciding_text(levels: Sequence[int]) -> str:
    """Say where the members can be summed: the levels their nodes coincide at, or none.

    A refused mixing level named no level that would do, so the user tried them one by one.
    """
    if not levels:
        return "they coincide at the root only, so mixing must be empty"
    return f"mixing may list only the levels where they coincide: {', '.join(map(str, levels))}"


def _same_partition(first: _Labels, second: _Labels) -> bool:
    """Whether two labellings (node ids, from 0) group the locations identically.

    They do when each determines the other: the label one gives a location, mapped through any
    location of that label, is the other's. Two scatters and gathers (sorting the label pairs
    took 0.13 s a pair of trees on 224x224, most of a mixture search after its pruning).
    """
    return _determines(first, second) and _determines(second, first)


def _determines(labels: _Labels, other: _Labels) -> bool:
    """Whether every location with one label in ``labels`` has one label in ``other``."""
    mapped = np.empty(int(labels.max()) + 1 if labels.size else 0, dtype=other.dtype)
    mapped[labels] = other
    return bool(np.array_equal(mapped[labels], other))


def mixture_parameters(
    model: ParameterModel, representation: int, widths: Sequence[int], mixture: Mixture
) -> int:
    """Count a mixture's parameters: every member's convs, one representation and output layer."""
    return int(summed_parameters(model, _member_rows(representation, widths, mixture))[0])


def summed_parameters(model: ParameterModel, rows: npt.NDArray[np.int64]) -> _Ints:
    """Count the parameters of mixtures whose members have the ``(K, P, L + 1)`` widths.

    Row ``p`` of member ``k`` is ``(M, r_0, ..., r_{L-1})``; the mixture ``p`` has every
    member's convs and one representation and output layer (member 0's). ``(P,)`` counts: a
    search's many width ladders at once, the same figures as :func:`mixture_parameters`.
    """
    members, count, width = rows.shape
    shared = model.representation(rows[0, :, 0]) + model.layer(rows[0, :, -1], model.outputs)
    totals = model.count(rows.reshape(-1, width)).reshape(members, count).sum(axis=0)
    summed: _Ints = totals - (members - 1) * shared
    return summed


def mixture_multiply_adds(
    representation: int,
    widths: Sequence[int],
    mixture: Mixture,
    locations: Sequence[int],
    representation_weights: int,
    outputs: int,
    exact: bool = False,
) -> int:
    """Count a mixture's multiply-adds per input: every member's convs, the shared layers once.

    The representation conv (``N_0 a M``) and the output layer (``r_{L-1} Y``) run once; the
    sums at mixing levels are additions, not multiply-adds. ``exact`` counts in Python
    integers, never wrapping (for :func:`check_mixture_counts`).
    """
    rows = _member_rows(representation, widths, mixture)
    return int(summed_multiply_adds(rows, locations, representation_weights, outputs, exact)[0])


def summed_multiply_adds(
    rows: npt.NDArray[np.int64],
    locations: Sequence[int],
    representation_weights: int,
    outputs: int,
    exact: bool = False,
) -> _Ints:
    """Count the multiply-adds per input of mixtures of members with ``(K, P, L + 1)`` widths.

    As :func:`summed_parameters` counts parameters (:func:`mixture_multiply_adds` for one):
    ``(P,)`` counts, in Python integers when ``exact`` (an object array, never wrapping).
    """
    members, count, width = rows.shape
    held = rows.astype(object) if exact else rows
    counts = multiply_adds(
        held.reshape(-1, width), locations, representation_weights, outputs, exact
    )
    shared = end_multiply_adds(
        held[0, :, 0], held[0, :, -1], locations[0], representation_weights, outputs
    )
    summed: _Ints = counts.reshape(members, count).sum(axis=0) - (members - 1) * shared
    return summed


def _member_rows(
    representation: int, widths: Sequence[int], mixture: Mixture
) -> npt.NDArray[np.int64]:
    """Return one mixture's ``(K, 1, L + 1)`` member rows ``(M, r_0, ...)``, its own first."""
    rows = [(representation, *own) for own in member_widths(widths, mixture)]
    return np.asarray(rows, dtype=np.int64)[:, None, :]


def check_mixture_counts(
    mixture: Mixture,
    representation: int,
    widths: Sequence[int],
    locations: Sequence[int],
    representation_weights: int,
    outputs: int,
) -> None:
    """Refuse a mixture whose counts would wrap the int64 figures (:data:`COUNT_LIMIT`).

    Each member is held to the limit a single tree is (the architecture's own member is checked
    with the architecture), then all of them together: the mixture's multiply-adds, which bound
    its parameters. Raises naming ``mixture.members[i].channels``, or ``mixture`` for the total.
    """
    for index, member in enumerate(mixture.members):
        row = [(representation, *member.channels)]
        if int(multiply_adds(row, locations, representation_weights, outputs, True)[0]) > (
            COUNT_LIMIT
        ):
            raise InvalidRequestError.single(
                f"mixture.members[{index}].channels",
                "the member needs more than 2^62 multiply-adds per input; it cannot be counted",
            )
    total = mixture_multiply_adds(
        representation, widths, mixture, locations, representation_weights, outputs, exact=True
    )
    if total > COUNT_LIMIT:
        raise InvalidRequestError.single(
            "mixture",
            "the members together need more than 2^62 multiply-adds per input; the mixture "
            "cannot be counted",
        )
