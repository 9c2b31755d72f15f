"""What in a request's parts is over the limits: its task, architecture, geometries and budget.

Each walker yields the violations of one part of the raw message under the field path it is
given, so that the checks of :mod:`advisor.service.request_checks` name every offending field
of a search, an analysis, an inference or a Katib experiment's task at once; a part reused
across requests (a task, an input, widths) is walked the same way in each. Like the checks,
they only count things in the message. Two refusals are the library's own: a ``min_depth`` over
``max_layers`` that no tree on the input reaches, and a ``representation_kernel`` over
``max_representation_kernel`` wider than the input, are refused as the search refuses them
(:func:`_min_depth_violations`, :func:`_kernel_violations`), since raising the limit would not
admit them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Final

from advisor.errors import FieldViolation
from advisor.model.budget import FAMILIES
from advisor.model.grid import (
    channel_axis,
    channel_axis_hint,
    downsample_advice,
    grid_axes_problem,
    grid_problem,
)
from advisor.model.padding import largest_grid
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.service.limit_violations import count_over, exceeding, over_limit
from advisor.service.limits import RequestLimits

__all__ = [
    "architecture_violations",
    "budget_violations",
    "input_violations",
    "name_violations",
    "task_violations",
    "widths_violations",
]


def input_violations(
    spec: advisor_pb2.InputSpec, limits: RequestLimits, field: str
) -> Iterator[FieldViolation]:
    """Name an input grid over ``max_locations`` on its shape, saying what would fit it."""
    # A shape of no grid's axes (none, four, a non-positive size) is the library's to refuse:
    # refused on the limit, its sender was told a stride that gave a shape refused again.
    if grid_axes_problem(spec.shape) is None:
        for violation in count_over(
            f"{field}.shape", "grid of locations", math.prod(spec.shape), limits, "max_locations"
        ):
            yield replace(
                violation, description=f"{violation.description}{_grid_advice(spec, limits)}"
            )


def _grid_advice(spec: advisor_pb2.InputSpec, limits: RequestLimits) -> str:
    """Say what a grid refused on ``max_locations`` can do ('' when nothing).

    A channels-first image written as a 3-D shape ([3, 96, 96]) is refused here before the
    library's own note on its colour axis can say how to give the channels: the note is added.
    So is the stride that brings the grid (without such an axis) within the limit, where it is
    over it: a video clip or a volume was told only the operator's setting, which its sender
    cannot change.
    """
    found, hint = channel_axis(spec.shape), channel_axis_hint(spec.shape)
    grid = spec.shape if found is None else found.grid
    advice = [] if hint is None else [hint]
    if math.prod(grid) > limits.max_locations:
        advice.append(downsample_advice(grid, limits.max_locations))
    return "".join(f"; {text}" for text in advice)


def name_violations(name: str, limits: RequestLimits, field: str) -> Iterator[FieldViolation]:
    """Refuse a name longer than ``max_name_chars``: a correlation's, a preset's, a family."""
    yield from count_over(field, "name length (characters)", len(name), limits, "max_name_chars")


def _region_violations(
    region: advisor_pb2.Region, limits: RequestLimits, field: str, grid: tuple[int, ...] | None
) -> Iterator[FieldViolation]:
    """Refuse a region's name or locations over the limits, or more locations than ``grid`` has.

    ``grid``: the input's shape where it is a grid within the limits (:func:`_admitted_grid`).
    A region of more indices (which are distinct) or mask cells (one a location) than that grid
    has is wrong whatever the server admits: refused on ``max_locations``, it was refused again
    on its indices once the limit was raised, so it is refused without a limit to raise.
    """
    kind = region.WhichOneof("kind")
    if kind == "preset":
        yield from name_violations(region.preset, limits, f"{field}.preset")
        return
    if kind == "indices":
        where, what, count = f"{field}.indices", "index count", len(region.indices.values)
    elif kind == "mask":
        where, what = f"{field}.mask", "mask cell count"
        count = sum(len(row) for row in region.mask.rows)
    else:
        return
    if grid is not None and count > math.prod(grid):
        yield exceeding(
            where, what, count, f"the {math.prod(grid):,} locations of the input {list(grid)}"
        )
    else:
        yield from count_over(where, what, count, limits, "max_locations")


def task_violations(
    task: advisor_pb2.Task, limits: RequestLimits, field: str
) -> Iterator[FieldViolation]:
    """Name what is over a limit in ``task``: its input, counts, names and regions."""
    yield from input_violations(task.input, limits, f"{field}.input")
    yield from count_over(
        f"{field}.correlations",
        "correlation count",
        len(task.correlations),
        limits,
        "max_correlations",
    )
    if task.HasField("outputs"):
        yield from count_over(
            f"{field}.outputs", "output count", task.outputs, limits, "max_channels"
        )
    yield from count_over(
        f"{field}.arrangement", "arrangement length", len(task.arrangement), limits, "max_locations"
    )
    if task.HasField("preset"):
        yield from name_violations(task.preset, limits, f"{field}.preset")
    grid = _admitted_grid(task.input, limits)
    for i, correlation in enumerate(task.correlations[: limits.max_correlations]):
        at = f"{field}.correlations[{i}]"
        yield from name_violations(correlation.name, limits, f"{at}.name")
        yield from _region_violations(correlation.a, limits, f"{at}.a", grid)
        if correlation.HasField("b"):
            yield from _region_violations(correlation.b, limits, f"{at}.b", grid)


def widths_violations(
    widths: Iterable[tuple[str, int]], limits: RequestLimits
) -> Iterator[FieldViolation]:
    """Name each width over ``max_channels``, given as its field and its value."""
    for field, width in widths:
        yield from count_over(field, "channel count", width, limits, "max_channels")


def architecture_violations(
    architecture: advisor_pb2.Architecture, limits: RequestLimits, field: str
) -> Iterator[FieldViolation]:
    """Name what is over a limit in ``architecture``: its own tree's and every mixture member's.

    A member is bounded as the architecture's own tree is: one width per layer, each within
    ``max_channels``, and its geometry.
    """
    yield from input_violations(architecture.input, limits, f"{field}.input")
    layers = architecture.layers
    yield from count_over(f"{field}.layers", "layer count", len(layers), limits, "max_layers")
    yield from widths_violations(
        [
            (f"{field}.representation", architecture.representation),
            *(
                (f"{field}.layers[{i}].channels", layer.channels)
                for i, layer in enumerate(layers[: limits.max_layers])
            ),
        ],
        limits,
    )
    padded = _padded_permutation(architecture.input, limits)
    yield from _geometry_violations(architecture.geometry, limits, f"{field}.geometry", padded)
    for j, member in enumerate(architecture.mixture.members):
        member_field = f"{field}.mixture.members[{j}]"
        channels = member.channels
        yield from count_over(
            f"{member_field}.channels", "layer count", len(channels), limits, "max_layers"
        )
        yield from widths_violations(
            (
                (f"{member_field}.channels[{i}]", width)
                for i, width in enumerate(channels[: limits.max_layers])
            ),
            limits,
        )
        yield from _geometry_violations(member.geometry, limits, f"{member_field}.geometry", padded)
    if architecture.HasField("outputs"):
        yield from count_over(
            f"{field}.outputs", "output count", architecture.outputs, limits, "max_channels"
        )
    if architecture.HasField("family"):
        yield from name_violations(architecture.family, limits, f"{field}.family")
    if architecture.HasField("representation_kernel"):
        yield from _kernel_violations(architecture.representation_kernel, limits, field)


def _padded_permutation(spec: advisor_pb2.InputSpec, limits: RequestLimits) -> int | None:
    """Return the most ids a permutation of an architecture on ``spec`` may hold past the limit.

    A permutation may hold ``max_locations`` ids, or for an input within it as many as the
    largest padded grid the search pools (:func:`~advisor.model.padding.largest_grid`, up to
    ``2^ndim`` times the input): the server's own recommendations carry such permutations,
    which ``Analyze`` refused (a 23x23x23 input's pick, padded to 32x32x32, has 32,768). None
    where that grid is no larger than ``max_locations``, which then bounds the permutation;
    also for an input that is no grid. For an input over the limit, refused on its own field,
    :data:`_UNBOUNDED`: the limit that admits the input admits its padded permutation with it,
    and the refusal named the permutation's length as the limit to raise to (a 5x100x100 pick
    padded to 6x100x100: "raise it to 60000", where 50,000 admits both).
    """
    shape = tuple(spec.shape)
    if grid_problem(shape) is not None:
        return None
    if math.prod(shape) > limits.max_locations:
        return _UNBOUNDED
    padded = largest_grid(shape)
    return padded if padded > limits.max_locations else None


_UNBOUNDED: Final = sys.maxsize
"""The permutation bound of an input over ``max_locations`` (:func:`_padded_permutation`): none."""


def _admitted_grid(spec: advisor_pb2.InputSpec, limits: RequestLimits) -> tuple[int, ...] | None:
    """Return the shape of ``spec`` where it is a grid within ``max_locations``, else None.

    None for an input that is no grid (the library's to refuse) or over the limit (refused on
    its own field): nothing of such an input is worth computing.
    """
    shape = tuple(spec.shape)
    if grid_problem(shape) is not None or math.prod(shape) > limits.max_locations:
        return None
    return shape


def _geometry_violations(
    geometry: advisor_pb2.Geometry, limits: RequestLimits, field: str, padded: int | None
) -> Iterator[FieldViolation]:
    """Name what is over a limit in ``geometry``, whose permutation may hold ``padded`` ids.

    ``padded``: the input's largest padded grid where it is over ``max_locations``
    (:func:`_padded_permutation`).
    """
    length = len(geometry.permutation.permutation)
    if padded is None:
        yield from count_over(
            f"{field}.permutation", "permutation length", length, limits, "max_locations"
        )
    elif length > padded:
        yield exceeding(
            f"{field}.permutation",
            "permutation length",
            length,
            f"{padded:,}, the locations of the largest grid the search pads the input to",
        )
    yield from count_over(
        f"{field}.dilations",
        "dilation count",
        len(geometry.dilations.dilations),
        limits,
        "max_layers",
    )


def _min_depth_violations(
    budget: advisor_pb2.Budget, spec: advisor_pb2.InputSpec, limits: RequestLimits, field: str
) -> Iterator[FieldViolation]:
    """Refuse on ``field`` a ``min_depth`` over ``max_layers``, with what would admit it.

    Where no tree on the input ``spec`` is that deep, whatever the server admits, the refusal
    is the search's (:func:`~advisor.search.checks.too_deep`, quoting the deepest tree within
    the depth bounds the server would search), with no limit to raise: an 8 x 8 task's
    ``min_depth`` 20 was refused over ``max_layers`` 16, and its ``ErrorInfo`` asked for 20,
    which only led to the search's refusal to lower it to 3.
    """
    depth = budget.min_depth
    if depth <= limits.max_layers:
        return
    # Only for a depth over the limit: importing the search loads its engines, which a command
    # that builds no request (`advisor presets`) must not load (tests/test_startup.py).
    from advisor.search.candidates import deepest_tree
    from advisor.search.checks import too_deep

    shape = _admitted_grid(spec, limits)
    if shape is None or depth <= deepest_tree(shape):
        yield over_limit(field, "depth", depth, limits, "max_layers")
        return
    bound = limits.max_layers
    if budget.HasField("max_depth"):
        bound = min(bound, budget.max_depth)
    yield FieldViolation(field, too_deep(shape, depth, bound))


def _kernel_violations(
    kernel: int,
    limits: RequestLimits,
    field: str,
    spec: advisor_pb2.InputSpec | None = None,
) -> Iterator[FieldViolation]:
    """Refuse on ``field`` a representation kernel over ``max_representation_kernel``.

    A search's kernel (on the input ``spec``) wider than the input is refused as the search
    refuses it (:func:`~advisor.search.checks.kernel_too_wide`), with no limit to raise: a
    100-wide kernel on 32x32 was refused over the limit of 64, and a server that raised it
    refused it again. An analysis may read any kernel (``spec`` None).
    """
    name = f"{field}.representation_kernel"
    if kernel > limits.max_representation_kernel and spec is not None:
        shape = _admitted_grid(spec, limits)
        # Only past the limit: the search's checks load its engines (as _min_depth_violations).
        from advisor.search.checks import kernel_too_wide

        too_wide = None if shape is None else kernel_too_wide(shape, kernel)
        if too_wide is not None:
            yield FieldViolation(name, too_wide)
            return
    yield from count_over(
        name, "representation kernel", kernel, limits, "max_representation_kernel"
    )


def budget_violations(
    budget: advisor_pb2.Budget,
    spec: advisor_pb2.InputSpec,
    limits: RequestLimits,
    field: str,
) -> Iterator[FieldViolation]:
    """Name what is over a limit in ``budget``, a search's on the input ``spec``."""
    if budget.HasField("max_depth"):
        yield from count_over(f"{field}.max_depth", "depth", budget.max_depth, limits, "max_layers")
    if budget.HasField("min_depth"):
        yield from _min_depth_violations(budget, spec, limits, f"{field}.min_depth")
    if budget.HasField("max_channels"):
        yield from widths_violations([(f"{field}.max_channels", budget.max_channels)], limits)
    yield from count_over(
        f"{field}.channel_choices",
        "choice count",
        len(budget.channel_choices),
        limits,
        "max_channel_choices",
    )
    yield from widths_violations(
        (
            (f"{field}.channel_choices[{i}]", width)
            for i, width in enumerate(budget.channel_choices[: limits.max_channel_choices])
        ),
        limits,
    )
    if len(budget.geometries) > len(FAMILIES):
        # Not a setting: a longer list repeats a family. Left to the budget's own check, a
        # million (a 1 MB message) took seconds to name every repeat, and held a slot as long.
        yield exceeding(
            f"{field}.geometries",
            "family count",
            len(budget.geometries),
            f"the {len(FAMILIES)} families there are (each may be named once)",
        )
    if budget.HasField("top_k"):
        yield from count_over(f"{field}.top_k", "top_k", budget.top_k, limits, "max_top_k")
    seconds = budget.time_limit_seconds
    # NaN and infinities are left to the budget's own check, which refuses them as the library
    # and the command do: over a limit, inf was an ErrorInfo asking for a limit of 'inf'.
    if math.isfinite(seconds) and seconds > limits.max_time_limit_seconds:
        yield over_limit(
            f"{field}.time_limit_seconds",
            "time limit (seconds)",
            seconds,
            limits,
            "max_time_limit_seconds",
        )
    if budget.HasField("outputs"):
        yield from count_over(
            f"{field}.outputs", "output count", budget.outputs, limits, "max_channels"
        )
    if budget.HasField("representation_kernel"):
        yield from _kernel_violations(budget.representation_kernel, limits, field, spec)
