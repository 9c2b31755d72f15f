"""The request limits checked on each call: on the raw request before any parsing or search.

The checks only count things in the message (list lengths, products of shape entries, numbers;
the response estimate also the few grids the search may pad the input to), so an oversized
request is refused in time proportional to its size, never after the library has started
resolving regions or searching. Everything the library validates on its own (a negative width,
a window that does not tile the grid) is left to it; these limits only bound the work one
request may ask for. docs/SERVICE.md lists the defaults. Each part of a request (its task,
architecture, budget) is walked by :mod:`advisor.service.request_parts`, two of whose refusals
are the library's own. A request over limits on the work it asks for alone is read on, so that
a field wrong in itself joins the refusal (:func:`read_on_past_limits`).

An analysis has one more check, after parsing and before any rank is computed:
:func:`~advisor.service.analysis_cost.check_analysis_cost`.

The settings themselves, :class:`~advisor.service.limits.RequestLimits`, are
:mod:`advisor.service.limits`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from advisor.errors import InvalidRequestError, LimitExceededError
from advisor.infer.terms import MAX_TOP_K
from advisor.integrations.katib import (
    KatibSearch,
    input_document,
    setting_field,
    width_spaces,
    width_values,
)
from advisor.model.grid import grid_axes_problem
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.protocol._proto.katib.v1beta1 import api_pb2
from advisor.service.answer_limits import (
    call_answer_violations,
    designs_response_violations,
    response_violations,
)
from advisor.service.answer_size import (
    analysis_bytes,
    member_count,
    recommendation_bytes,
    suggestion_bytes,
)
from advisor.service.limit_violations import count_over, exceeding, over_limit, raise_if_any
from advisor.service.limits import RequestLimits, unset_top_k
from advisor.service.request_parts import (
    architecture_violations,
    budget_violations,
    input_violations,
    name_violations,
    task_violations,
    widths_violations,
)

__all__ = [
    "check_analyze_request",
    "check_infer_request",
    "check_katib_request",
    "check_katib_search",
    "check_recommend_request",
    "read_on_past_limits",
]


def check_recommend_request(
    request: advisor_pb2.RecommendRequest | advisor_pb2.StreamRecommendRequest,
    limits: RequestLimits,
) -> None:
    """Raise :class:`LimitExceededError` naming every field of a search request over a limit."""
    violations = [
        *task_violations(request.task, limits, "task"),
        *budget_violations(request.budget, request.task.input, limits, "budget"),
    ]
    if not violations:
        top_k = request.budget.top_k if request.budget.HasField("top_k") else unset_top_k(limits)
        mixtures = advisor_pb2.GEOMETRY_FAMILY_MIXTURE in request.budget.geometries
        violations.extend(
            designs_response_violations(
                "budget.top_k",
                f"to top_k {top_k}",
                top_k,
                recommendation_bytes(request.task, mixtures),
                limits,
                ("a top_k", "a smaller input grid"),
            )
        )
    raise_if_any(violations)


def check_analyze_request(request: advisor_pb2.AnalyzeRequest, limits: RequestLimits) -> None:
    """Raise :class:`LimitExceededError` naming every field of an analysis request over a limit.

    What an analysis costs, an exact certification's sizes among it, is checked once the
    request is parsed (:func:`~advisor.service.analysis_cost.check_analysis_cost`); the exact
    engine's intermediate tensors are bounded by the library before it builds anything, since
    only it knows which modes it contracts away.
    """
    violations = [
        *task_violations(request.task, limits, "task"),
        *architecture_violations(request.architecture, limits, "architecture"),
    ]
    if not violations:
        violations.extend(
            response_violations(
                "task.correlations",
                f"with {len(request.task.correlations):,} correlations",
                analysis_bytes(request.task, member_count(request.architecture)),
                limits,
            )
        )
    raise_if_any(violations)


def check_infer_request(request: advisor_pb2.InferTaskRequest, limits: RequestLimits) -> None:
    """Raise :class:`LimitExceededError` if a dependence graph is over the limits.

    The grid is bounded by ``max_locations`` and the edges by locations x ``MAX_TOP_K``; the
    arrangement's work grows with both.
    """
    graph = request.graph
    violations = list(input_violations(graph.input, limits, "graph.input"))
    if not violations and grid_axes_problem(graph.input.shape) is None:
        edges = max(len(graph.rows), len(graph.cols), len(graph.weights))
        bound = math.prod(graph.input.shape) * MAX_TOP_K
        if edges > bound:
            # Not a setting: what no graph of the grid holds, whatever the server admits.
            violations.append(
                exceeding(
                    "graph.rows",
                    "edge count",
                    edges,
                    f"{bound:,} (MAX_TOP_K, {MAX_TOP_K}, per location)",
                )
            )
    if request.HasField("outputs"):
        violations += count_over("outputs", "output count", request.outputs, limits, "max_channels")
    raise_if_any(violations)


def check_katib_request(
    request: api_pb2.GetSuggestionsRequest | api_pb2.ValidateAlgorithmSettingsRequest,
    limits: RequestLimits,
) -> None:
    """Raise :class:`LimitExceededError` naming every field of a Katib request over a limit.

    Checked on the raw experiment before it is read: its ``name`` (``max_name_chars``), the grid
    of ``input_sizes`` (``[H, W, C]``
    has the grid H x W, ``[N, 1, C]`` N, ``[D, H, W, C]`` D x H x W), ``output_sizes``,
    ``num_layers``, each ``num_filter`` space (counted, not expanded) and, for GetSuggestions,
    ``total_request_number``, for ValidateAlgorithmSettings ``max_trial_count`` (both
    ``max_katib_designs``).
    """
    graph = request.experiment.spec.nas_config.graph_config
    field = "experiment.spec.nas_config.graph_config"
    # A name of megabytes was a file of as many in --katib-data-dir and a log line as long.
    violations = list(name_violations(request.experiment.name, limits, "experiment.name"))
    spec = input_document(list(graph.input_sizes))
    if spec is not None:  # else the experiment's reader names it
        grid = math.prod(spec["shape"])
        violations += count_over(
            f"{field}.input_sizes", "grid of locations", grid, limits, "max_locations"
        )
    for size in graph.output_sizes:
        violations += count_over(
            f"{field}.output_sizes", "output count", size, limits, "max_channels"
        )
    violations += count_over(f"{field}.num_layers", "depth", graph.num_layers, limits, "max_layers")
    for space_field, space in width_spaces(request.experiment.spec.nas_config.operations.operation):
        try:
            widths = width_values(space)
        except ValueError:
            continue  # not integers: the experiment's reader names it
        count = _value_count(widths)
        if count > limits.max_channel_choices:
            violations += count_over(
                space_field, "num_filter value count", count, limits, "max_channel_choices"
            )
        else:
            violations += widths_violations(((space_field, w) for w in widths), limits)
    if isinstance(request, api_pb2.GetSuggestionsRequest):
        violations += count_over(
            "total_request_number",
            "designs of the sequence to compute",
            request.total_request_number,
            limits,
            "max_katib_designs",
        )
    else:
        # GetSuggestions refuses a total_request_number past the limit, and Katib's controller
        # retries a refused call without end: an experiment that would reach it is refused here.
        violations += count_over(
            "experiment.spec.max_trial_count",
            "designs of the sequence its trials need",
            request.experiment.spec.max_trial_count,
            limits,
            "max_katib_designs",
        )
    raise_if_any(violations)


def _value_count(widths: Sequence[int]) -> int:
    """Return how many widths a ``num_filter`` space holds, a range counted without ``len``.

    ``len`` of a range of more than 2^63 - 1 values (``max: "1e30"`` written out) raises
    OverflowError, which would end the call as an internal error instead of naming the field.
    """
    if isinstance(widths, range):
        return max(0, -(-(widths.stop - widths.start) // widths.step))
    return len(widths)


def check_katib_search(
    experiment: api_pb2.Experiment,
    search: KatibSearch,
    current_request_number: int | None,
    limits: RequestLimits,
) -> None:
    """Raise :class:`LimitExceededError` if the search an experiment reads as is over a limit.

    The task (a task document may hold any number of correlations) is checked as a search
    request's task, under the ``task`` setting's field; the widths of all ``num_filter`` spaces
    together; the time limit; and the estimated size of an answer: for GetSuggestions, of its
    ``current_request_number`` designs; for ValidateAlgorithmSettings (None), of the most
    designs one call of the experiment asks for (:func:`call_answer_violations`).
    """
    task = wire.task_to_proto(search.task)
    violations = [
        *task_violations(task, limits, setting_field(experiment, "task")),
        *count_over(
            "experiment.spec.nas_config.operations.operation",
            "num_filter width count over all operations",
            len(search.budget.channel_choices or ()),
            limits,
            "max_channel_choices",
        ),
    ]
    seconds = search.budget.time_limit_seconds
    if seconds is not None and seconds > limits.max_time_limit_seconds:
        violations.append(
            over_limit(
                setting_field(experiment, "time_limit"),
                "time_limit in seconds",
                seconds,
                limits,
                "max_time_limit_seconds",
            )
        )
    if not violations:
        design = suggestion_bytes(task, "mixture" in search.budget.families())
        if current_request_number is None:
            violations += call_answer_violations(experiment.spec, design, limits)
        else:
            violations += response_violations(
                "current_request_number",
                f"for {current_request_number:,} designs",
                current_request_number * design,
                limits,
            )
    raise_if_any(violations)


_WORK_SETTINGS: Final = frozenset(
    {"max_top_k", "max_time_limit_seconds", "max_channels", "max_representation_kernel"}
)
"""The settings that bound the work a request asks for, not what reading it costs: a request
over these alone is read on past them (:func:`_with_field_problems`)."""


@contextmanager
def read_on_past_limits(*stages: Callable[[], object]) -> Iterator[None]:
    """Raise a limits check's refusal with what the request's later ``stages`` refuse.

    Around a ``check_*_request`` call: its :class:`LimitExceededError` is raised as
    :func:`_with_field_problems` makes it.
    """
    try:
        yield
    except LimitExceededError as over:
        raise _with_field_problems(over, *stages) from None


def _with_field_problems(
    error: LimitExceededError, *stages: Callable[[], object]
) -> InvalidRequestError:
    """Return the refusal of a request over limits, with the first of its later stages' refusal.

    ``LIMIT_EXCEEDED`` promises that raising the limits it names admits the request
    (docs/SERVICE.md), yet a request also wrong in a field (a ``max_parameters`` of 0 beside a
    ``top_k`` over ``max_top_k``) was refused again once its caller raised them. Where every
    setting refused bounds the work asked for (:data:`_WORK_SETTINGS`), the ``stages`` after
    the limits run (reading the task, the budget, the architecture), and the first refusal among
    them joins the limits' (each field once, the limit's first): the reason is then
    ``INVALID_REQUEST``. A request over a limit on what reading it costs (``max_locations``,
    ``max_correlations``, ...) or past a ceiling no setting raises (a family list longer than
    the families, which took seconds to read) is not read: its refusal comes alone.
    """
    if not all(v.limit is not None and v.limit.setting in _WORK_SETTINGS for v in error.violations):
        return error
    for stage in stages:
        try:
            stage()
        except InvalidRequestError as refused:
            fields = {v.field for v in error.violations}
            more = [v for v in refused.violations if v.field not in fields]
            return InvalidRequestError([*error.violations, *more]) if more else error
    return error
