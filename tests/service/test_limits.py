"""Request limits: counted on the raw message, every offending field named."""

from __future__ import annotations

import itertools
import math
import re
from typing import Final, get_args

import grpc
import pytest
from advisor_client.client import AdvisorClient
from advisor_client.errors import InvalidArgumentError

from advisor.errors import LimitExceededError, refused_limits
from advisor.model.architecture import parse_architecture
from advisor.model.budget import INT32_MAX, Budget
from advisor.model.grid import InputSpec, padded_shape
from advisor.model.padding import largest_grid
from advisor.model.presets import expand_task_preset
from advisor.model.task import parse_task
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol.wire import (
    architecture_from_proto,
    architecture_to_proto,
    budget_from_proto,
    budget_to_proto,
    task_from_proto,
    task_to_proto,
)
from advisor.search.candidates import deepest_schedule
from advisor.search.recommend import recommend
from advisor.service.analysis_cost import check_analysis_cost
from advisor.service.limits import (
    LOCAL_LIMITS,
    MIN_MESSAGE_BYTES,
    RequestLimits,
    Setting,
    defaults_within,
)
from advisor.service.request_checks import check_analyze_request, check_recommend_request
from advisor.service.server import RunningServer, ServerConfig, start_server
from tests.support.harness import CallError, DirectAdvisor, LiveAdvisor
from tests.support.workloads import quick_budget

LIMITS = RequestLimits(
    max_locations=64,
    max_correlations=2,
    max_layers=3,
    max_channels=16,
    max_channel_choices=2,
    max_top_k=4,
    max_time_limit_seconds=1.0,
)


def _task() -> pb.Task:
    return pb.Task(
        input=pb.InputSpec(shape=[8, 8]),
        correlations=[pb.Correlation(name="c", a=pb.Region(preset="left_half"))],
    )


def _fields(error: pytest.ExceptionInfo[LimitExceededError]) -> list[str]:
    return [violation.field for violation in error.value.violations]


def test_a_request_within_every_limit_passes() -> None:
    check_recommend_request(
        pb.RecommendRequest(
            task=_task(),
            budget=pb.Budget(
                max_parameters=10**9,
                max_depth=3,
                channel_choices=[8, 16],
                top_k=4,
                time_limit_seconds=1.0,
            ),
        ),
        LIMITS,
    )


@pytest.mark.parametrize(
    ("task", "field"),
    [
        (pb.Task(input=pb.InputSpec(shape=[9, 8])), "task.input.shape"),
        (
            pb.Task(
                input=pb.InputSpec(shape=[8]),
                correlations=[pb.Correlation(name=str(i)) for i in range(3)],
            ),
            "task.correlations",
        ),
        (
            pb.Task(
                correlations=[
                    pb.Correlation(),
                    pb.Correlation(a=pb.Region(indices=pb.IndexList(values=[0] * 65))),
                ]
            ),
            "task.correlations[1].a.indices",
        ),
        (
            pb.Task(correlations=[pb.Correlation(b=pb.Region(mask=pb.Mask(rows=["#" * 8] * 9)))]),
            "task.correlations[0].b.mask",
        ),
    ],
)
def test_task_limits_name_the_field(task: pb.Task, field: str) -> None:
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(pb.RecommendRequest(task=task), LIMITS)
    assert _fields(error) == [field]


@pytest.mark.parametrize(
    ("budget", "field"),
    [
        (pb.Budget(max_depth=4), "budget.max_depth"),
        (pb.Budget(min_depth=4), "budget.min_depth"),
        (pb.Budget(max_channels=17), "budget.max_channels"),
        (pb.Budget(channel_choices=[1, 2, 4]), "budget.channel_choices"),
        (pb.Budget(channel_choices=[1, 32]), "budget.channel_choices[1]"),
        (pb.Budget(geometries=[pb.GEOMETRY_FAMILY_MIRROR] * 8), "budget.geometries"),
        (pb.Budget(top_k=5), "budget.top_k"),
        (pb.Budget(time_limit_seconds=1.5), "budget.time_limit_seconds"),
        (pb.Budget(outputs=17), "budget.outputs"),
    ],
)
def test_budget_limits_name_the_field(budget: pb.Budget, field: str) -> None:
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(pb.RecommendRequest(budget=budget), LIMITS)
    assert _fields(error) == [field]


def test_every_violation_is_reported_at_once() -> None:
    request = pb.RecommendRequest(
        task=pb.Task(input=pb.InputSpec(shape=[100])), budget=pb.Budget(top_k=100)
    )
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(request, LIMITS)
    assert _fields(error) == ["task.input.shape", "budget.top_k"]


def test_non_positive_shapes_are_left_to_the_library() -> None:
    check_recommend_request(
        pb.RecommendRequest(task=pb.Task(input=pb.InputSpec(shape=[-9, 9]))), LIMITS
    )


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), float("-inf")])
def test_a_time_limit_that_is_no_number_is_left_to_the_budget(seconds: float) -> None:
    check_recommend_request(
        pb.RecommendRequest(budget=pb.Budget(time_limit_seconds=seconds)), LIMITS
    )


def test_a_min_depth_no_tree_reaches_is_refused_for_the_grid_not_the_limit(
    live_threads: tuple[RunningServer, grpc.Channel],
) -> None:
    # An 8 x 8 task's min_depth 20 was refused over max_layers 16, its ErrorInfo asking for 20,
    # where the embedded server (max_layers 24) said to lower it to 3: raising the limit as
    # told only led to that second refusal.
    request = pb.RecommendRequest(
        task=_task(), budget=pb.Budget(max_parameters=20_000, min_depth=20)
    )
    with pytest.raises(CallError) as refused:
        LiveAdvisor(live_threads[1]).unary("Recommend", request, timeout=60)
    with pytest.raises(CallError) as embedded:
        DirectAdvisor(LOCAL_LIMITS).unary("Recommend", request)
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.violations == embedded.value.violations
    assert refused.value.violations == [
        (
            "budget.min_depth",
            "is 20, and the deepest tree the search builds on the input [8, 8] (padded or not) "
            "within the depth bounds has 3 levels; lower it to 3 or less",
        )
    ]
    [info] = refused.value.error_infos  # no LIMIT_EXCEEDED: raising a limit would not admit it
    assert info.reason == "INVALID_REQUEST"


_SYMMETRY_8x8 = pb.Task(input=pb.InputSpec(shape=[8, 8]), preset="symmetry")


@pytest.mark.parametrize(
    ("task", "budget", "fields"),
    [
        (
            _SYMMETRY_8x8,
            pb.Budget(max_parameters=0, top_k=60),
            ["budget.top_k", "budget.max_parameters"],
        ),
        (
            _SYMMETRY_8x8,
            pb.Budget(max_parameters=20_000, time_limit_seconds=100.0, seed=-1),
            ["budget.time_limit_seconds", "budget.seed"],
        ),
        (
            pb.Task(input=pb.InputSpec(shape=[8, 8]), preset="nope"),
            pb.Budget(max_parameters=20_000, top_k=60),
            ["budget.top_k", "task.preset"],
        ),
        (
            _SYMMETRY_8x8,
            pb.Budget(max_parameters=20_000, representation_kernel=100),
            ["budget.representation_kernel"],
        ),
    ],
    ids=["max_parameters-0", "seed--1", "unknown-preset", "kernel-wider-than-the-input"],
)
def test_a_request_over_limits_and_wrong_in_a_field_is_no_limit_refusal(
    task: pb.Task, budget: pb.Budget, fields: list[str]
) -> None:
    # LIMIT_EXCEEDED promises that raising its limits admits the request: each of these was
    # LIMIT_EXCEEDED {max_top_k: "60"} (or the like), and refused again once the limit was
    # raised. The limits' refusal and the field's come together, as INVALID_REQUEST.
    request = pb.RecommendRequest(task=task, budget=budget)
    with pytest.raises(CallError) as refused:
        DirectAdvisor(RequestLimits()).unary("Recommend", request)
    assert [field for field, _ in refused.value.violations] == fields
    [info] = refused.value.error_infos
    assert (info.reason, dict(info.metadata)) == ("INVALID_REQUEST", {})


def test_an_analysis_over_a_width_limit_and_of_an_unknown_preset_is_no_limit_refusal() -> None:
    request = pb.AnalyzeRequest(
        task=pb.Task(input=pb.InputSpec(shape=[8]), preset="nope"),
        architecture=_architecture(representation=8192),
    )
    with pytest.raises(CallError) as refused:
        DirectAdvisor(RequestLimits()).unary("Analyze", request)
    assert [field for field, _ in refused.value.violations] == [
        "architecture.representation",
        "task.preset",
    ]
    [info] = refused.value.error_infos
    assert info.reason == "INVALID_REQUEST"


def test_a_request_over_a_limit_on_its_reading_is_not_read_past_it() -> None:
    # A grid over max_locations is not read (its regions would be built past the limit): its
    # index outside the grid comes back once the limit admits the grid.
    outside = pb.Region(indices=pb.IndexList(values=[99_999_999]))
    request = pb.RecommendRequest(
        task=pb.Task(
            input=pb.InputSpec(shape=[200, 200]),
            correlations=[pb.Correlation(name="x", a=outside)],
        ),
        budget=pb.Budget(max_parameters=20_000, top_k=60),
    )
    with pytest.raises(CallError) as refused:
        DirectAdvisor(RequestLimits()).unary("Recommend", request)
    assert [field for field, _ in refused.value.violations] == ["task.input.shape", "budget.top_k"]
    [info] = refused.value.error_infos
    assert info.reason == "LIMIT_EXCEEDED"
    assert dict(info.metadata) == {"max_locations": "40000", "max_top_k": "60"}


def test_a_min_depth_the_grid_reaches_is_refused_over_the_limit() -> None:
    # A sequence of 64 has trees of 6 levels: max_layers 3 is what refuses a min_depth of 4.
    task = pb.Task(input=pb.InputSpec(shape=[64]), preset="start_end")
    request = pb.RecommendRequest(task=task, budget=pb.Budget(min_depth=4))
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(request, LIMITS)
    assert _fields(error) == ["budget.min_depth"]
    assert error.value.limits == {"max_layers": "4"}


def _architecture(**changes: object) -> pb.Architecture:
    fields: dict[str, object] = {
        "input": pb.InputSpec(shape=[8]),
        "representation": 4,
        "layers": [pb.Layer(channels=4, pool=[2]) for _ in range(3)],
    }
    return pb.Architecture(**(fields | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"representation": 17}, "architecture.representation"),
        ({"layers": [pb.Layer(channels=4)] * 4}, "architecture.layers"),
        ({"layers": [pb.Layer(channels=16)] * 3}, None),
        ({"outputs": 17}, "architecture.outputs"),
        (
            {"geometry": pb.Geometry(permutation=pb.PermutationGeometry(permutation=range(65)))},
            "architecture.geometry.permutation",
        ),
        (
            {"geometry": pb.Geometry(dilations=pb.DilationGeometry(dilations=[1, 2, 4, 8]))},
            "architecture.geometry.dilations",
        ),
    ],
)
def test_architecture_limits_name_the_field(changes: dict[str, object], field: str | None) -> None:
    _assert_analysis_refused_on(_architecture(**changes), field)


def _assert_analysis_refused_on(architecture: pb.Architecture, field: str | None) -> None:
    """Check an analysis of ``architecture`` is refused on ``field`` alone (None: admitted)."""
    request = pb.AnalyzeRequest(task=_task(), architecture=architecture)
    if field is None:
        check_analyze_request(request, LIMITS)
        return
    with pytest.raises(LimitExceededError) as error:
        check_analyze_request(request, LIMITS)
    assert _fields(error) == [field]


def test_a_padded_pick_is_admitted_to_analysis_where_its_input_is() -> None:
    # A 3x3x7 input (63 locations, within 64) is searched padded to 4x4x8 and 3x3x8: the picks'
    # permutations number up to those 128 locations, and Analyze refused what Recommend answered
    # (`advisor analyze TASK --arch RESULT --target` on a 23x23x23 pick padded to 32x32x32).
    limits = RequestLimits(max_locations=64)
    task = parse_task({"input": {"shape": [3, 3, 7]}, "preset": "symmetry"})
    result = recommend(task, Budget(max_parameters=5_000, top_k=3))
    padded = [r.architecture for r in result.recommendations if r.architecture.padding]
    assert padded, "the search no longer pads this input: pick another"
    for architecture in padded:
        request = pb.AnalyzeRequest(
            task=task_to_proto(task), architecture=architecture_to_proto(architecture)
        )
        grown = math.prod(padded_shape(task.input.shape, architecture.padding))
        assert 63 < len(request.architecture.geometry.permutation.permutation) == grown <= 128
        check_analyze_request(request, limits)
    # No longer than the largest padded grid the search pools for that input.
    request.architecture.geometry.permutation.permutation[:] = range(129)
    with pytest.raises(LimitExceededError) as error:
        check_analyze_request(request, limits)
    assert _fields(error) == ["architecture.geometry.permutation"]
    # Not max_locations (64), which bounds no permutation of this input: no setting to raise.
    assert error.value.violations[0].description == (
        "permutation length 129 exceeds 128, the locations of the largest grid the search pads "
        "the input to"
    )


def test_a_padded_pick_of_an_input_over_the_limit_is_told_the_limit_that_admits_both() -> None:
    # Its permutation (the padded grid's) was counted against max_locations beside the input,
    # and the refusal said to raise it to the permutation's length: 60,000 for a 5x100x100 pick
    # padded to 6x100x100, where 50,000 admits the input and with it its padded permutation.
    task = parse_task({"input": {"shape": [3, 3, 7]}, "preset": "symmetry"})
    result = recommend(task, Budget(max_parameters=5_000, top_k=3))
    padded = [r.architecture for r in result.recommendations if r.architecture.padding]
    assert padded, "the search no longer pads this input: pick another"
    request = pb.AnalyzeRequest(
        task=task_to_proto(task), architecture=architecture_to_proto(padded[0])
    )
    with pytest.raises(LimitExceededError) as error:
        check_analyze_request(request, RequestLimits(max_locations=32))
    assert _fields(error) == ["task.input.shape", "architecture.input.shape"]
    assert {v.limit.needed for v in error.value.violations if v.limit is not None} == {63}
    check_analyze_request(request, RequestLimits(max_locations=63))


def test_a_wide_layer_names_its_index() -> None:
    architecture = _architecture()
    architecture.layers[2].channels = 17
    with pytest.raises(LimitExceededError) as error:
        check_analyze_request(pb.AnalyzeRequest(task=_task(), architecture=architecture), LIMITS)
    assert _fields(error) == ["architecture.layers[2].channels"]


def _mixture(**member: object) -> pb.Architecture:
    """:func:`_architecture` with a mirror-pooled member; ``member`` overrides its fields."""
    fields: dict[str, object] = {
        "geometry": pb.Geometry(named=pb.NAMED_GEOMETRY_MIRROR),
        "channels": [4, 4, 4],
    }
    message = pb.MixtureMember(**(fields | member))  # type: ignore[arg-type]
    return _architecture(mixture=pb.Mixture(members=[message]))


@pytest.mark.parametrize(
    ("member", "field"),
    [
        ({}, None),
        ({"channels": [4, 17, 4]}, "architecture.mixture.members[0].channels[1]"),
        ({"channels": [4] * 4}, "architecture.mixture.members[0].channels"),
        (
            {"geometry": pb.Geometry(permutation=pb.PermutationGeometry(permutation=range(65)))},
            "architecture.mixture.members[0].geometry.permutation",
        ),
        (
            {"geometry": pb.Geometry(dilations=pb.DilationGeometry(dilations=[1, 2, 4, 8]))},
            "architecture.mixture.members[0].geometry.dilations",
        ),
    ],
)
def test_a_mixture_member_is_bounded_as_the_architecture_is(
    member: dict[str, object], field: str | None
) -> None:
    _assert_analysis_refused_on(_mixture(**member), field)


def test_exact_certification_bounds_every_member_width() -> None:
    # Exact on a mixture builds every member's tensors: a member wider than the architecture's
    # own widths is what the engine's cost follows.
    task = pb.Task(
        input=pb.InputSpec(shape=[8]),
        correlations=[pb.Correlation(name="c", a=pb.Region(indices=pb.IndexList(values=[0])))],
    )
    architecture = architecture_from_proto(_mixture(channels=[4, 9, 4]))
    limits = LIMITS.model_copy(update={"max_exact_channels": 8})
    check_analysis_cost(task_from_proto(task), architecture, False, limits)
    with pytest.raises(LimitExceededError) as error:
        check_analysis_cost(task_from_proto(task), architecture, True, limits)
    assert [v.description for v in error.value.violations] == [
        "certification's channel count 9 exceeds the server's limit of 8 (max_exact_channels)"
    ]


@pytest.mark.parametrize(
    ("shape", "pool", "preset", "representation", "limit", "said"),
    [
        # A 4x4x4 volume's halves at M = 10: 212.60339807279118 was quoted as Python printed it.
        ([4, 4, 4], [2, 2, 2], "front_back", 10, 16.0, "212.6 exceeds the server's limit of 16 ("),
        ([4, 2], [2, 2], "top_bottom", 6, 16.0, "20.7 exceeds the server's limit of 16 ("),
        # 12 log2 3 = 19.02: one decimal read "19.0 exceeds the server's limit of 19".
        ([4, 3], [2, 1], "top_bottom", 3, 19.0, "19.02 exceeds the server's limit of 19 ("),
    ],
)
def test_exact_certification_writes_its_size_in_bits_over_the_limit(
    shape: list[int], pool: list[int], preset: str, representation: int, limit: float, said: str
) -> None:
    task = parse_task({"input": {"shape": shape}, "preset": preset})
    pools = [pool, [n // first for n, first in zip(shape, pool, strict=True)]]  # then global
    architecture = parse_architecture(
        {
            "input": {"shape": shape},
            "representation": representation,
            "layers": [{"channels": 2, "pool": pool} for pool in pools],
        }
    )
    limits = LIMITS.model_copy(update={"max_exact_log2_size": limit})
    with pytest.raises(LimitExceededError) as error:
        check_analysis_cost(task, architecture, True, limits)
    # Past the setting's ceiling (the first case) every such correlation is named, the largest
    # first here: none is admitted by any value of the setting.
    violation = error.value.violations[0]
    assert "(|A| + |B|) log2 M " + said + "max_exact_log2_size" in violation.description
    if violation.limit is not None:  # the value that admits the request, exactly
        assert violation.limit.needed == math.prod(shape) * math.log2(representation)


def test_exact_certification_past_the_engines_bound_is_no_limit_to_raise() -> None:
    # A 128x128 grid is over max_exact_locations, which a server may raise, and its halves over
    # max_exact_log2_size's ceiling, which none may: the ErrorInfo was LIMIT_EXCEEDED naming
    # max_exact_locations alone, and a caller that raised it was refused again.
    shape = [128, 128]
    architecture = parse_architecture(
        {
            "input": {"shape": shape},
            "representation": 2,
            "layers": [{"channels": 2, "pool": [2, 2]} for _ in range(7)],
        }
    )
    request = pb.AnalyzeRequest(
        task=pb.Task(input=pb.InputSpec(shape=shape), preset="symmetry"),
        architecture=architecture_to_proto(architecture),
        exact=True,
    )
    with pytest.raises(CallError) as refused:
        DirectAdvisor(RequestLimits()).unary("Analyze", request)
    descriptions = [description for _, description in refused.value.violations]
    assert any("(max_exact_locations)" in description for description in descriptions)
    assert any("which no server may set above" in description for description in descriptions)
    [info] = refused.value.error_infos
    assert (info.reason, dict(info.metadata)) == ("INVALID_REQUEST", {})


def _nine_steps(*correlations: tuple[str, range, range]) -> pb.AnalyzeRequest:
    """An exact analysis of a 9-step net at M = 8 for correlations of (name, a, b) indices."""
    task = pb.Task(
        input=pb.InputSpec(shape=[9]),
        correlations=[
            pb.Correlation(
                name=name,
                a=pb.Region(indices=pb.IndexList(values=a)),
                b=pb.Region(indices=pb.IndexList(values=b)),
            )
            for name, a, b in correlations
        ],
    )
    architecture = parse_architecture(
        {
            "input": {"shape": [9]},
            "representation": 8,
            "layers": [{"channels": 8, "pool": [3]}, {"channels": 8, "pool": [3]}],
        }
    )
    return pb.AnalyzeRequest(
        task=task, architecture=architecture_to_proto(architecture), exact=True
    )


_ELIMINATED: Final = (
    "the exact engine would eliminate a 2^12 x 2^12 matrix (2^36 operations); the limit is 2^32"
)


@pytest.mark.parametrize("first", [True, False], ids=["alone or first", "after another"])
def test_exact_certification_past_the_engines_elimination_bound_advises_no_limit(
    first: bool,
) -> None:
    # A = 4 and B = 4 of 9 steps at M = 8: (|A| + |B|) log2 M = 24 over the default 16 was told
    # "raise it with max_exact_log2_size=24", and the caller that did was refused on the
    # engine's elimination bound (2^36 operations past 2^32), which no setting raises; after a
    # correlation the setting admits once raised (2 against 4, 18 bits), that one was advised.
    eliminated = ("p", range(4), range(5, 9))
    request = (
        _nine_steps(eliminated) if first else _nine_steps(("q", range(2), range(5, 9)), eliminated)
    )
    for limits in (RequestLimits(), RequestLimits(max_exact_log2_size=24)):
        with pytest.raises(CallError) as refused:
            DirectAdvisor(limits).unary("Analyze", request)
        [(field, description)] = refused.value.violations
        assert (field, description) == ("exact", f"certification of 'p': {_ELIMINATED}")
        [info] = refused.value.error_infos
        assert info.reason == "INVALID_REQUEST"


def test_every_correlation_no_setting_admits_is_named() -> None:
    # The first such correlation alone was named: one past the elimination bound (4 against 4
    # steps) hid another past it (3 against 5) and one past the setting's ceiling of 24 bits
    # (4 against 5 at M = 8: 27 bits).
    request = _nine_steps(
        ("p", range(4), range(5, 9)),
        ("q", range(3), range(4, 9)),
        ("big", range(4), range(4, 9)),
    )
    with pytest.raises(CallError) as refused:
        DirectAdvisor(RequestLimits()).unary("Analyze", request)
    named = [description.split(":")[0] for _, description in refused.value.violations]
    assert named == ["certification of 'p'", "certification of 'q'", "certification of 'big'"]
    assert "which no server may set above 24" in refused.value.violations[2][1]


def test_exact_certification_over_the_size_limit_quotes_the_size_every_correlation_needs() -> None:
    # The first correlation over the limit was quoted (18 bits): raised to it, the second (21)
    # was refused in turn.
    request = _nine_steps(("q", range(2), range(5, 9)), ("r", range(3), range(5, 9)))
    with pytest.raises(CallError) as refused:
        DirectAdvisor(RequestLimits()).unary("Analyze", request)
    [info] = refused.value.error_infos
    assert (info.reason, dict(info.metadata)) == ("LIMIT_EXCEEDED", {"max_exact_log2_size": "21"})
    DirectAdvisor(RequestLimits(max_exact_log2_size=21)).unary("Analyze", request)


def test_exact_certification_names_the_padded_grid_it_counts() -> None:
    # The engine contracts the margins too, so the count is the padded grid's: a volume of 225
    # locations was told "grid of locations 384", a number it could not place.
    task = parse_task(
        {
            "input": {"shape": [3, 5, 15]},
            "correlations": [{"name": "c", "a": {"indices": [0]}, "b": {"indices": [14]}}],
        }
    )
    architecture = parse_architecture(
        {
            "input": {"shape": [3, 5, 15]},
            "representation": 2,
            "layers": [{"channels": 2, "pool": [2, 2, 2]}, {"channels": 2, "pool": [2, 3, 8]}],
            "padding": [[0, 1], [0, 1], [0, 1]],
        }
    )
    with pytest.raises(LimitExceededError) as error:
        check_analysis_cost(task, architecture, True, LIMITS)
    assert [v.description for v in error.value.violations] == [
        "certification's grid of locations (the input [3, 5, 15] padded to 4x6x16) 384 "
        "exceeds the server's limit of 256 (max_exact_locations)"
    ]


# ---------------------------------------------------------------------------------------------
# The response-size estimate


def _named_task(shape: list[int], names: list[str], preset: str | None = None) -> pb.Task:
    return pb.Task(
        input=pb.InputSpec(shape=shape),
        correlations=[pb.Correlation(name=name, a=pb.Region(preset="left_half")) for name in names],
        preset=preset,
    )


def test_a_search_whose_answer_would_exceed_the_message_limit_is_refused_naming_top_k() -> None:
    # 50 recommendations, each with a 16,384-entry permutation and 256 names of 200 characters
    # (in its figures and its rationale): over 4 MiB, from a request of about 60 KB.
    task = _named_task([128, 128], [f"{i:03d}" + "n" * 197 for i in range(256)])
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=10**6, top_k=50))
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(request, RequestLimits())
    assert _fields(error) == ["budget.top_k"]
    check_recommend_request(
        pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=10**6, top_k=1)),
        RequestLimits(),
    )


@pytest.mark.parametrize(
    "task",
    [
        _named_task([16, 16], ["a" * 200, "b" * 150, "mirror"], preset="symmetry"),
        _named_task([64], ["x" * 256], preset="local"),
        pb.Task(input=pb.InputSpec(shape=[8, 8]), preset="periodic"),
        # An unassigned character: 4 bytes in a name, 10 as the rationale quotes it (\U000e0080).
        _named_task([8, 8], [f"{i}" + "\U000e0080" * 255 for i in range(3)]),
    ],
)
def test_the_response_estimate_bounds_the_real_answer(task: pb.Task) -> None:
    request = pb.RecommendRequest(task=task, budget=quick_budget(top_k=5))
    response = DirectAdvisor().unary("Recommend", request)
    size = response.ByteSize()
    assert len(response.result.recommendations) > 1
    check_recommend_request(request, RequestLimits(max_message_bytes=16 * size))  # not too loose
    with pytest.raises(LimitExceededError):  # the estimate is at least the real size
        check_recommend_request(request, RequestLimits(max_message_bytes=size - 1))


def test_the_response_estimate_bounds_a_mixture_that_names_what_each_member_carries() -> None:
    # A mixture's rationale names again the correlations each member carries, and its analysis
    # holds both members' figures on every correlation: long names, quoted once more each.
    # The symmetry preset's pairs, which a mirror tree carries, besides local's, which it does
    # not: the search's best design is a mixture (tests/test_mixture_search.py).
    task = pb.Task(
        input=pb.InputSpec(shape=[32]),
        correlations=[
            pb.Correlation(
                name=f"{index:02d}" + "m" * 198,
                a=pb.Region(indices=pb.IndexList(values=c.a.tolist())),
                b=pb.Region(indices=pb.IndexList(values=c.b.tolist())),
            )
            for index, c in enumerate(
                [*expand_task_preset("symmetry", (32,)), *expand_task_preset("local", (32,))] * 8
            )
        ],
    )
    families = [
        pb.GEOMETRY_FAMILY_CONTIGUOUS,
        pb.GEOMETRY_FAMILY_MIRROR,
        pb.GEOMETRY_FAMILY_DILATIONS,
        pb.GEOMETRY_FAMILY_MIXTURE,
    ]
    budget = quick_budget(max_parameters=3000, top_k=1, outputs=2, geometries=families)
    request = pb.RecommendRequest(task=task, budget=budget)
    response = DirectAdvisor().unary("Recommend", request)
    [top] = response.result.recommendations
    assert top.architecture.HasField("mixture") and "carries" in top.rationale
    size = response.ByteSize()
    with pytest.raises(LimitExceededError):  # the estimate is at least the real size
        check_recommend_request(request, RequestLimits(max_message_bytes=size - 1))


def test_the_response_estimate_bounds_the_analysis_of_a_mixture_of_eight_members() -> None:
    # Each correlation of a mixture's analysis carries every member's figure: eight per
    # correlation here, which the estimate left out (the answer passed the limit it admitted).
    orders = list(itertools.permutations([1, 2, 4, 8]))[:8]
    architecture = pb.Architecture(
        input=pb.InputSpec(shape=[16]),
        representation=2,
        layers=[pb.Layer(channels=2, pool=[2])] * 4,
        geometry=pb.Geometry(dilations=pb.DilationGeometry(dilations=orders[0])),
        mixture=pb.Mixture(
            members=[
                pb.MixtureMember(
                    geometry=pb.Geometry(dilations=pb.DilationGeometry(dilations=order)),
                    channels=[2] * 4,
                )
                for order in orders[1:]
            ]
        ),
    )
    task = pb.Task(
        input=pb.InputSpec(shape=[16]),
        correlations=[
            pb.Correlation(
                name=f"c{i}-{j}",
                a=pb.Region(indices=pb.IndexList(values=[i])),
                b=pb.Region(indices=pb.IndexList(values=[j])),
            )
            for i, j in itertools.combinations(range(16), 2)
        ],
    )
    request = pb.AnalyzeRequest(task=task, architecture=architecture)
    response = DirectAdvisor().unary("Analyze", request)
    assert all(len(c.members) == 8 for c in response.analysis.correlations)
    size = response.ByteSize()
    check_analyze_request(request, RequestLimits(max_message_bytes=4 * size))  # not too loose
    with pytest.raises(LimitExceededError):  # the estimate is at least the real size
        check_analyze_request(request, RequestLimits(max_message_bytes=size - 1))


# A mixture carries two permutations of the grid its trees pool, which may be the input padded:
# 65 x 65 to 128 x 128 (ids of up to 2 bytes), 129 x 129 to 256 x 256 (3 bytes from 16,384 on).
_PADDED_LIMITS = RequestLimits(max_locations=129 * 129)


def _mixture_request(shape: list[int], top_k: int) -> pb.RecommendRequest:
    """A search whose best design, on ``shape``, is a mixture on the grid padded to 2^k."""
    families = [
        pb.GEOMETRY_FAMILY_CONTIGUOUS,
        pb.GEOMETRY_FAMILY_MIRROR,
        pb.GEOMETRY_FAMILY_INTERLEAVED,
        pb.GEOMETRY_FAMILY_SYNTHESIZED,
        pb.GEOMETRY_FAMILY_MIXTURE,
    ]
    return pb.RecommendRequest(
        task=pb.Task(input=pb.InputSpec(shape=shape), preset="symmetry"),
        budget=quick_budget(top_k=top_k, time_limit_seconds=30.0, geometries=families),
    )


def _padded_mixtures(result: pb.SearchResult) -> list[pb.Recommendation]:
    return [
        r
        for r in result.recommendations
        if r.architecture.mixture.members and r.architecture.padding
    ]


# 129x129 (3 * 43) left out since the primes taken in turn: its picks are padded to 144x144,
# where the estimate reckons with the largest padding (256x256), 5.1 times their size.
@pytest.mark.parametrize("shape", [[65, 65], [97, 97]])
def test_the_response_estimate_bounds_every_recommendation_on_a_padded_grid(
    shape: list[int],
) -> None:
    request = _mixture_request(shape, top_k=2)
    response = DirectAdvisor(_PADDED_LIMITS).unary("Recommend", request)
    assert _padded_mixtures(response.result), "the case needs a mixture on a padded grid"
    size = response.ByteSize()
    check_recommend_request(
        request, _PADDED_LIMITS.model_copy(update={"max_message_bytes": 4 * size})
    )
    one = _mixture_request(shape, top_k=1)
    for recommendation in response.result.recommendations:
        alone = pb.RecommendResponse(result=pb.SearchResult(recommendations=[recommendation]))
        over = _PADDED_LIMITS.model_copy(update={"max_message_bytes": alone.ByteSize() - 1})
        with pytest.raises(LimitExceededError):  # the estimate of one is at least its size
            check_recommend_request(one, over)


def _least_admitted_bytes(request: pb.RecommendRequest, limits: RequestLimits) -> int:
    """Return the least ``max_message_bytes`` under which ``request`` is admitted (bisected)."""
    low, high = 1, INT32_MAX  # refused below low, admitted at high
    while low < high:
        middle = (low + high) // 2
        try:
            check_recommend_request(
                request, limits.model_copy(update={"max_message_bytes": middle})
            )
        except LimitExceededError:
            low = middle + 1
        else:
            high = middle
    return low


def test_a_page_admitted_by_the_estimate_is_sent() -> None:
    # The server sends at most max_message_bytes: an estimate below the answer let the search
    # run, then gRPC refused its answer with RESOURCE_EXHAUSTED.
    request = _mixture_request([65, 65], top_k=1)
    least = _least_admitted_bytes(request, RequestLimits())
    config = ServerConfig(workers=1, limits=RequestLimits(max_message_bytes=least))
    with start_server(config) as server, grpc.insecure_channel(server.address) as channel:
        response = LiveAdvisor(channel).unary("Recommend", request, timeout=60)
    assert _padded_mixtures(response.result)


def test_the_least_message_limit_is_what_the_smallest_search_needs() -> None:
    # The floor of max_message_bytes admits one design of the smallest task, and no less.
    task = pb.Task(
        input=pb.InputSpec(shape=[2]),
        correlations=[pb.Correlation(a=pb.Region(indices=pb.IndexList(values=[0])))],
    )
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=100, top_k=1))
    assert _least_admitted_bytes(request, RequestLimits()) == MIN_MESSAGE_BYTES


def test_a_violation_states_the_count_and_the_limit_exactly() -> None:
    task = pb.Task(input=pb.InputSpec(shape=[1023, 1026]), preset="symmetry")
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=10**6))
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(request, RequestLimits(max_locations=2**20 - 2**10))
    [violation] = error.value.violations
    assert violation.description == (
        "grid of locations 1,049,598 exceeds the server's limit of 1,047,552 (max_locations, "
        "which no server may set above 1,048,576); downsample or crop it (a stride of 2 on "
        "every axis gives [512, 513])"
    )
    # No server admits it, so no limit is carried: the service's ErrorInfo named 1049598 as
    # the max_locations that admits the request, a value every server refuses at start.
    assert violation.limit is None
    assert refused_limits(error.value.violations) == {}
    within = pb.Task(input=pb.InputSpec(shape=[1000, 1000]), preset="symmetry")
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(
            pb.RecommendRequest(task=within, budget=request.budget),
            RequestLimits(max_locations=2**19),
        )
    assert refused_limits(error.value.violations) == {"max_locations": "1000000"}


def test_a_count_too_long_to_read_is_named_by_its_length() -> None:
    # A limit's refusal wrote every count in full, the pydantic refusals cut one past 24 digits:
    # three axes of a billion read "grid of locations 1,000,000,000,000,000,000,000,000,000".
    task = pb.Task(input=pb.InputSpec(shape=[10**9] * 3), preset="symmetry")
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=10**6))
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(request, LIMITS)
    [violation] = error.value.violations
    assert violation.description.startswith(
        "grid of locations a 28-digit number exceeds the server's limit of 64 (max_locations, "
    )


_QUOTING_LIMITS = LIMITS.model_copy(
    update={"max_message_bytes": MIN_MESSAGE_BYTES, "max_channel_choices": 5}
)
"""Limits of distinct values: a refusal quoting one value under another setting's name shows."""

_QUOTED_SETTING = re.compile(r"the server's limit of (?P<value>[\d,.]+) \((?P<setting>\w+)\)")
"""How a refusal quotes the setting to raise: ``the server's limit of 16,384 (max_locations)``."""


@pytest.mark.parametrize(
    ("method", "request_message", "field", "setting"),
    [
        (
            "Recommend",
            pb.RecommendRequest(task=pb.Task(input=pb.InputSpec(shape=[9, 8])), budget=pb.Budget()),
            "task.input.shape",
            "max_locations",
        ),
        (
            "Recommend",
            pb.RecommendRequest(
                task=pb.Task(correlations=[pb.Correlation(name=str(i)) for i in range(3)]),
                budget=pb.Budget(),
            ),
            "task.correlations",
            "max_correlations",
        ),
        (
            "Analyze",
            pb.AnalyzeRequest(task=_task(), architecture=pb.Architecture(layers=[pb.Layer()] * 4)),
            "architecture.layers",
            "max_layers",
        ),
        (
            "Recommend",
            pb.RecommendRequest(
                task=_task(), budget=pb.Budget(max_parameters=20_000, max_channels=17)
            ),
            "budget.max_channels",
            "max_channels",
        ),
        (
            "Recommend",
            pb.RecommendRequest(task=_task(), budget=pb.Budget(max_parameters=20_000, top_k=5)),
            "budget.top_k",
            "max_top_k",
        ),
        (
            "Recommend",
            pb.RecommendRequest(
                task=_task(), budget=pb.Budget(max_parameters=20_000, time_limit_seconds=1.5)
            ),
            "budget.time_limit_seconds",
            "max_time_limit_seconds",
        ),
        (
            "Recommend",
            pb.RecommendRequest(
                task=pb.Task(input=pb.InputSpec(shape=[8, 8]), preset="symmetry"),
                budget=pb.Budget(top_k=2),
            ),
            "budget.top_k",
            "max_message_bytes",
        ),
    ],
)
def test_a_refusal_names_the_setting_whose_value_it_quotes(
    method: str, request_message: pb.RecommendRequest | pb.AnalyzeRequest, field: str, setting: str
) -> None:
    # "exceeds the limit of 16,384" did not say which setting to raise (--limit NAME=VALUE). The
    # field is the one clients match on; the status details (google.rpc.BadRequest) say it too.
    with pytest.raises(CallError) as refused:
        DirectAdvisor(_QUOTING_LIMITS).unary(method, request_message)
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    [(violation_field, description)] = refused.value.violations
    assert violation_field == field
    quoted = _QUOTED_SETTING.search(description)
    assert quoted is not None, description
    assert quoted["setting"] == setting
    value = quoted["value"].replace(",", "")
    assert float(value) == getattr(_QUOTING_LIMITS, setting)


@pytest.mark.parametrize(
    ("shape", "told"),
    [
        ([8, 8, 8, 8, 8], "must have 1, 2 or 3 dimensions, got 5"),
        ([16, 112, 112, 1], "give the shape [16, 112, 112]"),
    ],
)
def test_a_shape_of_no_grid_is_refused_for_its_axes_not_the_limit(
    shape: list[int], told: str
) -> None:
    # Refused on max_locations, [8, 8, 8, 8, 8] was told a stride giving [4, 4, 4, 4, 4], which
    # was refused again for its axes; LIMIT_EXCEEDED promised that raising the limit admits it.
    task = pb.Task(input=pb.InputSpec(shape=shape), correlations=[_task().correlations[0]])
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=10**5))
    with pytest.raises(CallError) as refused:
        DirectAdvisor(RequestLimits()).unary("Recommend", request)
    [(field, description)] = refused.value.violations
    assert field == "task.input.shape"
    assert told in description and "max_locations" not in description
    [info] = refused.value.error_infos
    assert info.reason == "INVALID_REQUEST"


@pytest.mark.parametrize(
    "region",
    [
        pb.Region(indices=pb.IndexList(values=range(20_000))),
        pb.Region(mask=pb.Mask(rows=["#" * 8] * 2_500)),
    ],
)
def test_a_region_of_more_locations_than_its_grid_is_refused_without_a_limit(
    region: pb.Region,
) -> None:
    # 20,000 distinct indices on 8x8 were refused on max_locations, then, the limit raised, on
    # the indices again: no limit admits them.
    task = pb.Task(
        input=pb.InputSpec(shape=[8, 8]), correlations=[pb.Correlation(name="x", a=region)]
    )
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=10**5))
    with pytest.raises(CallError) as refused:
        DirectAdvisor(RequestLimits()).unary("Recommend", request)
    [(field, description)] = refused.value.violations
    assert field.startswith("task.correlations[0].a.")
    assert description.endswith("exceeds the 64 locations of the input [8, 8]")
    [info] = refused.value.error_infos
    assert info.reason == "INVALID_REQUEST"


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (
            [3, 96, 96],
            "grid of locations 27,648 exceeds the server's limit of 16,384 (max_locations); if "
            "the axis of 3 locations holds colour channels, give the shape [96, 96] and "
            "channels 3: the shape lists locations only",
        ),
        # Where the grid it sends the user to is over the limit too, with the stride that fits.
        (
            [3, 224, 224],
            "grid of locations 150,528 exceeds the server's limit of 16,384 (max_locations); if "
            "the axis of 3 locations holds colour channels, give the shape [224, 224] and "
            "channels 3: the shape lists locations only; downsample or crop it (a stride of 2 on "
            "every axis gives [112, 112])",
        ),
        # A video clip: the least stride on every axis that fits (2 leaves 25,088 locations).
        (
            [16, 112, 112],
            "grid of locations 200,704 exceeds the server's limit of 16,384 (max_locations); "
            "downsample or crop it (a stride of 3 on every axis gives [6, 38, 38])",
        ),
    ],
)
def test_a_grid_over_the_limit_says_how_to_give_the_channels_and_what_fits(
    shape: list[int], expected: str
) -> None:
    # A channels-first image written as a 3-D shape was refused by a default server for its
    # locations alone: the library's note on the colour axis never came.
    task = pb.Task(input=pb.InputSpec(shape=shape), preset="symmetry")
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=10**5))
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(request, RequestLimits())
    [violation] = error.value.violations
    assert (violation.field, violation.description) == ("task.input.shape", expected)


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        # The defaults (5, 10 s, the grid's deepest tree, widths up to 512) above the limits
        # (4, 1 s, 3 layers, 16 channels).
        (pb.Budget(max_parameters=10_000), (4, 1.0, 3, 16)),
        (
            pb.Budget(
                max_parameters=10_000, top_k=2, time_limit_seconds=0.5, max_depth=2, max_channels=8
            ),
            (2, 0.5, 2, 8),
        ),
        # Listed widths bound every width (checked against the limit); max_channels is unused.
        (pb.Budget(max_parameters=10_000, channel_choices=[4, 8]), (4, 1.0, 3, 512)),
    ],
)
def test_a_default_left_unset_is_brought_within_the_limits(
    budget: pb.Budget, expected: tuple[int, float, int, int]
) -> None:
    within = defaults_within(budget_from_proto(budget), budget, LIMITS)
    found = (within.top_k, within.time_limit_seconds, within.max_depth, within.max_channels)
    assert found == expected


def test_every_design_a_search_returns_is_admitted_by_analyze() -> None:
    # 64 steps have trees of 6 levels; a server admitting 3 layers searches those of at most 3
    # (it returned deeper ones, whose Analyze it then refused on architecture.layers).
    task = pb.Task(input=pb.InputSpec(shape=[64]), preset="symmetry")
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=4_000, top_k=4))
    advisor = DirectAdvisor(LIMITS)
    recommendations = advisor.unary("Recommend", request).result.recommendations
    assert recommendations
    for recommendation in recommendations:
        assert len(recommendation.architecture.layers) <= LIMITS.max_layers
        analyze = pb.AnalyzeRequest(task=task, architecture=recommendation.architecture)
        analysis = advisor.unary("Analyze", analyze).analysis
        assert analysis.parameters == recommendation.parameters


@pytest.mark.parametrize("shape", [[2**20], [1024, 1024], [129, 129, 63]])
def test_the_embedded_server_admits_every_depth_of_its_largest_grids(shape: list[int]) -> None:
    # 129 x 129 x 63 locations (under 2^20) pad to 256 x 256 x 64: trees of 22 levels of 2x2x2
    # windows or 2 per axis.
    assert math.prod(shape) <= LOCAL_LIMITS.max_locations
    assert deepest_schedule(InputSpec(shape=tuple(shape))) <= LOCAL_LIMITS.max_layers
    assert math.log2(largest_grid(shape)) <= LOCAL_LIMITS.max_layers


def test_a_search_without_top_k_answers_at_most_the_limit() -> None:
    # The tree search of 16 locations ranks more than 4 designs; the library default is 5.
    task = pb.Task(input=pb.InputSpec(shape=[16]), preset="symmetry")
    limits = LIMITS.model_copy(update={"max_locations": 16})
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=20_000))
    response = DirectAdvisor(limits).unary("Recommend", request)
    assert len(response.result.recommendations) == LIMITS.max_top_k


def test_the_client_leaves_the_defaults_it_was_not_given_to_the_servers_limits() -> None:
    # A budget that sets neither top_k nor time_limit_seconds is answered within the server's
    # lower limits, as a raw request without them is; one that sets them is checked against them.
    limits = RequestLimits(max_top_k=3, max_time_limit_seconds=5.0)
    task = {"input": {"shape": [16]}, "preset": "symmetry"}
    config = ServerConfig(workers=1, limits=limits)
    with start_server(config) as server, AdvisorClient(server.address) as client:
        result = client.recommend(task, {"max_parameters": 20_000})
        with pytest.raises(InvalidArgumentError) as refused:
            client.recommend(task, {"max_parameters": 20_000, "top_k": 5})
    assert len(result.recommendations) == limits.max_top_k
    assert [v.field for v in refused.value.violations] == ["budget.top_k"]


@pytest.mark.parametrize(
    ("budget", "sent"),
    [
        (Budget(max_parameters=100), set()),
        (Budget(max_parameters=100, top_k=5), {"top_k"}),
        (Budget(max_parameters=100, time_limit_seconds=10.0), {"time_limit_seconds"}),
    ],
)
def test_a_budget_sends_only_the_defaults_it_sets(budget: Budget, sent: set[str]) -> None:
    message = budget_to_proto(budget)
    assert {f for f in ("top_k", "time_limit_seconds") if message.HasField(f)} == sent
    assert budget_from_proto(message) == budget


def test_a_response_over_the_size_limit_is_said_in_bytes() -> None:
    task = pb.Task(input=pb.InputSpec(shape=[8, 8]), preset="symmetry")
    request = pb.RecommendRequest(task=task, budget=pb.Budget(max_parameters=1_000, top_k=2))
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(request, RequestLimits(max_message_bytes=MIN_MESSAGE_BYTES))
    [violation] = error.value.violations
    assert violation.field == "budget.top_k"
    limit = f"{MIN_MESSAGE_BYTES:,}"
    said = r"the response to top_k 2 is estimated at ([1-9][\d,]*) bytes, over the server's "
    found = re.fullmatch(
        said + rf"limit of {limit} \(max_message_bytes\); not one design fits it: a smaller "
        "input grid does",
        violation.description,
    )
    assert found is not None
    # Where designs fit, the refusal says how many, and the request then meets the limit.
    roomier = RequestLimits(max_message_bytes=int(found[1].replace(",", "")) - 1)
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(request, roomier)
    assert error.value.violations[0].description.endswith("; a top_k of at most 1 fits it")
    request.budget.top_k = 1
    check_recommend_request(request, roomier)


def test_every_setting_a_refusal_may_name_is_a_limit_and_every_limit_one() -> None:
    # A refusal names its setting by a string read off the limits: a misspelt name would fail
    # at refusal time (INTERNAL, not INVALID_ARGUMENT), and mypy checks the names against this.
    assert get_args(Setting) == tuple(RequestLimits.model_fields)


@pytest.mark.parametrize("seconds", [60.0000001, math.nextafter(60.0, math.inf)])
def test_a_fractional_value_over_its_limit_reads_apart_from_it(seconds: float) -> None:
    # %g wrote "time limit (seconds) 60 exceeds the server's limit of 60", and 15 digits did so
    # for the next float after 60.
    budget = pb.Budget(max_parameters=1000, time_limit_seconds=seconds)
    request = pb.RecommendRequest(task=_task(), budget=budget)
    limits = LIMITS.model_copy(update={"max_time_limit_seconds": 60.0})
    with pytest.raises(LimitExceededError) as error:
        check_recommend_request(request, limits)
    [violation] = error.value.violations
    assert f"{seconds!r} exceeds the server's limit of 60 (max_time_limit_seconds)" in (
        violation.description
    )


def test_a_request_past_a_ceiling_is_not_read_past_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A family list longer than the families is refused before the budget is read (a million
    # took seconds to name every repeat): it is no work limit to read on past.
    read: list[str] = []
    monkeypatch.setattr(wire, "budget_from_proto", lambda budget: read.append("budget"))
    families = [pb.GEOMETRY_FAMILY_CONTIGUOUS] * 20
    request = pb.RecommendRequest(
        task=_SYMMETRY_8x8, budget=pb.Budget(max_parameters=0, top_k=60, geometries=families)
    )
    with pytest.raises(CallError) as refused:
        DirectAdvisor(RequestLimits()).unary("Recommend", request)
    assert [field for field, _ in refused.value.violations] == [
        "budget.geometries",
        "budget.top_k",
    ]
    assert read == []
