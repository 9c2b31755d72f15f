"""The limits on what a parsed analysis costs, checked before any rank is computed.

An analysis has one more check than the raw request's (:mod:`advisor.service.request_checks`),
:func:`check_analysis_cost`, after parsing (its cost depends on the pooling grids and the
resolved regions) and before any rank is computed: it bounds the work per correlation, so that
the analysis, which polls its stop signal between correlations, ends within a fraction of a
second of a deadline or cancellation. The min-cut's work is counted in pooling-window entries;
an exact certification's in the grid it contracts, its widest width and the size of each
correlation's instance.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from advisor.errors import FieldViolation
from advisor.model.architecture import Architecture
from advisor.model.exact_bounds import EXACT_MAX_LOG2_SIZE, elimination_problem
from advisor.model.mixture import member_widths
from advisor.model.schedule import grid_text
from advisor.model.task import Task
from advisor.model.text import bits_over
from advisor.service.limit_violations import count_over, over_limit, raise_if_any
from advisor.service.limits import RequestLimits

__all__ = ["check_analysis_cost"]


def check_analysis_cost(
    task: Task, architecture: Architecture, exact: bool, limits: RequestLimits
) -> None:
    """Refuse a parsed analysis that would cost more than allowed (a ``LimitExceededError``).

    Fields: ``architecture.layers`` for the pooling-window entries, ``exact`` for the exact
    engine's instance size (``max_exact_log2_size``, or the engine's elimination bound where no
    value of it admits a correlation: :func:`_exact_size_violations`).
    """
    violations = list(
        count_over(
            "architecture.layers",
            "pooling-window entry count",
            _window_entries(architecture),
            limits,
            "max_window_entries",
        )
    )
    if exact:
        violations.extend(_exact_violations(task, architecture, limits))
    raise_if_any(violations)


def _window_entries(architecture: Architecture) -> int:
    """Sum over layers of (windows x window size): the min-cut's work per correlation.

    A mixture runs the recurrence in every member.
    """
    schedule = architecture.schedule
    members = 1 if architecture.mixture is None else 1 + len(architecture.mixture.members)
    return members * sum(
        math.prod(grid) * math.prod(pool)
        for grid, pool in zip(schedule.grids[1:], schedule.pools, strict=True)
    )


def _exact_violations(
    task: Task, architecture: Architecture, limits: RequestLimits
) -> Iterator[FieldViolation]:
    # The engine contracts every location the network pools, the margins included: a padded
    # grid is counted, and named, or the count would not be the input's a user knows.
    # The field, exact, says what is certified: "exact: exact certification: ..." said it twice.
    grid = "certification's grid of locations"
    if architecture.padded:
        grid += (
            f" (the input {list(architecture.input.shape)} padded to "
            f"{grid_text(architecture.grid)})"
        )
    yield from count_over(
        "exact", grid, math.prod(architecture.grid), limits, "max_exact_locations"
    )
    widths, mixture = architecture.widths, architecture.mixture
    trees = [widths] if mixture is None else member_widths(widths, mixture)  # every member's
    widest = max(architecture.representation, *(width for tree in trees for width in tree))
    yield from count_over(
        "exact", "certification's channel count", widest, limits, "max_exact_channels"
    )
    yield from _exact_size_violations(task, architecture.representation, limits)


def _exact_size_violations(
    task: Task, representation: int, limits: RequestLimits
) -> Iterator[FieldViolation]:
    """Refuse the correlations an exact certification cannot take within ``max_exact_log2_size``.

    Over the setting, every correlation no value of it admits is named, with no limit to raise
    (advised to raise it, the caller was refused again): one past the setting's ceiling, and
    one the engine's elimination bound refuses whatever the setting is. Otherwise the largest
    size over it is the one quoted, the value that admits every correlation (the first over it
    was: raised to it, a larger one was refused).
    """
    log2_m = math.log2(representation)
    sizes = [(c.name, c.a.size * log2_m, c.b.size * log2_m) for c in task.resolved()]
    over = [size for size in sizes if size[1] + size[2] > limits.max_exact_log2_size]
    unadmitted = False  # a correlation no value of the setting admits: each is named
    for name, log2_rows, log2_columns in over:
        if log2_rows + log2_columns > EXACT_MAX_LOG2_SIZE:  # past the setting's ceiling: said so
            yield _exact_size(name, log2_rows + log2_columns, limits)
            unadmitted = True
        elif (eliminated := elimination_problem(log2_rows, log2_columns)) is not None:
            yield FieldViolation("exact", f"certification of {name!r}: {eliminated}")
            unadmitted = True
    if over and not unadmitted:
        name, log2_rows, log2_columns = max(over, key=lambda size: size[1] + size[2])
        yield _exact_size(name, log2_rows + log2_columns, limits)


def _exact_size(name: str, log2_size: float, limits: RequestLimits) -> FieldViolation:
    """Refuse correlation ``name``'s exact certification of ``log2_size`` on the setting."""
    return over_limit(
        "exact",
        f"certification of {name!r}: (|A| + |B|) log2 M",
        log2_size,
        limits,
        "max_exact_log2_size",
        bits_over(log2_size, limits.max_exact_log2_size),
    )
