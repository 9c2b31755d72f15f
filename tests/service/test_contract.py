"""The service contract, run against the servicer in-process and against a live server.

Every test takes the parametrised ``advisor`` fixture (conftest.py), so each runs three times: once
calling the servicer directly with a fake context, then over a real channel to a server whose
calls work on its threads, and to one whose calls work in worker processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import grpc
import pytest

from advisor.errors import InvalidRequestError
from advisor.model.budget import Budget
from advisor.model.task import list_presets
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.seprank.analysis import analyze
from advisor.version import RANKING_VERSION
from tests.support.harness import CONTRACT_LIMITS, Advisor, CallError, LiveAdvisor
from tests.support.page_tokens import of_ranking_version
from tests.support.workloads import LONG_TASK, long_budget, quick_budget, small_task

# Reference figures of tests/test_seprank_reference.py (computed independently of the product).
# mirror-4x4.json: CS17 mirror pooling on 4x4, M = 2, widths (4, 2); the plain min-cuts.
MIRROR_4X4_TASK = pb.Task(
    input=pb.InputSpec(shape=[4, 4]),
    correlations=[
        pb.Correlation(
            name="left-right", a=pb.Region(indices=pb.IndexList(values=[0, 1, 4, 5, 8, 9, 12, 13]))
        ),
        pb.Correlation(
            name="top-bottom", a=pb.Region(indices=pb.IndexList(values=[0, 1, 2, 3, 4, 5, 6, 7]))
        ),
        pb.Correlation(
            name="corner-pair",
            a=pb.Region(indices=pb.IndexList(values=[0])),
            b=pb.Region(indices=pb.IndexList(values=[15])),
        ),
        pb.Correlation(
            name="center-border", a=pb.Region(indices=pb.IndexList(values=[5, 6, 9, 10]))
        ),
    ],
)
MIRROR_4X4_ARCHITECTURE = pb.Architecture(
    input=pb.InputSpec(shape=[4, 4]),
    representation=2,
    outputs=2,
    geometry=pb.Geometry(named=pb.NAMED_GEOMETRY_MIRROR),
    layers=[pb.Layer(channels=4, pool=[2, 2]), pb.Layer(channels=2, pool=[2, 2])],
)
MIRROR_4X4_LOG2_MIN_CUTS = {
    "left-right": 8.0,
    "top-bottom": 8.0,
    "corner-pair": 1.0,
    "center-border": 1.0,
}

# dilations-16.json: 1-D, dilation order 8, 2, 1, 4, widths (4, 2, 8, 2), M = 2; min-cut = exact
# rank, widths all powers of 2.
DILATIONS_16_TASK = pb.Task(
    input=pb.InputSpec(shape=[16]),
    correlations=[
        pb.Correlation(name="halves", a=pb.Region(indices=pb.IndexList(values=range(8)))),
        pb.Correlation(name="odd-even", a=pb.Region(indices=pb.IndexList(values=range(0, 16, 2)))),
        pb.Correlation(
            name="i-vs-i+8",
            a=pb.Region(indices=pb.IndexList(values=[0, 1, 2, 3])),
            b=pb.Region(indices=pb.IndexList(values=[8, 9, 10, 11])),
        ),
    ],
)
DILATIONS_16_ARCHITECTURE = pb.Architecture(
    input=pb.InputSpec(shape=[16]),
    representation=2,
    outputs=2,
    geometry=pb.Geometry(dilations=pb.DilationGeometry(dilations=[8, 2, 1, 4])),
    layers=[pb.Layer(channels=width, pool=[2]) for width in (4, 2, 8, 2)],
)
DILATIONS_16_LOG2_RANKS = {"halves": 8.0, "odd-even": 2.0, "i-vs-i+8": 4.0}

# The permutation-4x4-loose reference case, correlation r5: widths 3 and 2 are not powers of
# one integer, and the min-cut (log2 24) exceeds the exact rank (log2 21).
LOOSE_ARCHITECTURE = pb.Architecture(
    input=pb.InputSpec(shape=[4, 4]),
    representation=2,
    outputs=2,
    geometry=pb.Geometry(
        permutation=pb.PermutationGeometry(
            permutation=[10, 6, 1, 15, 12, 9, 13, 2, 3, 14, 0, 4, 8, 11, 5, 7]
        )
    ),
    layers=[pb.Layer(channels=3, pool=[2, 2]), pb.Layer(channels=2, pool=[2, 2])],
)
LOOSE_TASK = pb.Task(
    input=pb.InputSpec(shape=[4, 4]),
    correlations=[
        pb.Correlation(
            name="r5", a=pb.Region(indices=pb.IndexList(values=[0, 1, 4, 5, 8, 13, 14, 15]))
        )
    ],
)


STALL_SECONDS = 0.25
"""How late a search that planned to answer before its deadline may still be: a stall of the
whole process longer than any wait it had seen, which no reserve foresees (on a loaded machine:
10 ms late once in 20 stress runs, docs/RELIABILITY.md)."""

_RAN_ON_SECONDS = 10.0
"""A search cut by its deadline that is still in flight this long after its call started ran on
(the searches cut there would run for 30 s): also on a machine too loaded to run it promptly."""


# ---------------------------------------------------------------------------------------------
# Successful calls


@pytest.mark.parametrize(
    ("exact", "certificate"), [(False, pb.CERTIFICATE_TIGHT), (True, pb.CERTIFICATE_EXACT)]
)
def test_analyze_reports_the_reference_ranks(
    advisor: Advisor, exact: bool, certificate: int
) -> None:
    request = pb.AnalyzeRequest(
        task=DILATIONS_16_TASK, architecture=DILATIONS_16_ARCHITECTURE, exact=exact
    )
    analysis = advisor.unary("Analyze", request).analysis
    assert analysis.parameters > 0
    ranks = {c.name: c.log2_separation_rank for c in analysis.correlations}
    assert ranks == pytest.approx(DILATIONS_16_LOG2_RANKS)
    assert {c.certificate for c in analysis.correlations} == {certificate}
    assert all(c.log2_separation_rank <= c.log2_max_rank for c in analysis.correlations)


def test_analyze_serves_exactly_what_the_library_computes(advisor: Advisor) -> None:
    request = pb.AnalyzeRequest(task=MIRROR_4X4_TASK, architecture=MIRROR_4X4_ARCHITECTURE)
    served = advisor.unary("Analyze", request).analysis
    expected = analyze(
        wire.task_from_proto(MIRROR_4X4_TASK),
        wire.architecture_from_proto(MIRROR_4X4_ARCHITECTURE),
    )
    assert served == wire.analysis_to_proto(expected)
    min_cuts = {c.name: c.log2_min_cut for c in served.correlations}
    assert min_cuts == pytest.approx(MIRROR_4X4_LOG2_MIN_CUTS)


def test_analyze_exact_certifies_and_reports_a_loose_bound_as_such(advisor: Advisor) -> None:
    bound = advisor.unary(
        "Analyze", pb.AnalyzeRequest(task=LOOSE_TASK, architecture=LOOSE_ARCHITECTURE)
    )
    [estimate] = bound.analysis.correlations
    assert estimate.certificate == pb.CERTIFICATE_UPPER_BOUND
    assert estimate.log2_separation_rank == pytest.approx(math.log2(24))
    exact = advisor.unary(
        "Analyze", pb.AnalyzeRequest(task=LOOSE_TASK, architecture=LOOSE_ARCHITECTURE, exact=True)
    )
    [certified] = exact.analysis.correlations
    assert certified.certificate == pb.CERTIFICATE_EXACT
    assert certified.log2_separation_rank == pytest.approx(math.log2(21))


def test_recommend_returns_ranked_designs_within_budget(advisor: Advisor) -> None:
    budget = quick_budget()
    response = advisor.unary("Recommend", pb.RecommendRequest(task=small_task(), budget=budget))
    result = response.result
    assert result.complete
    assert result.candidates_evaluated >= len(result.recommendations) >= 1
    assert [r.rank for r in result.recommendations] == list(
        range(1, len(result.recommendations) + 1)
    )
    assert len(result.recommendations) <= budget.top_k
    scores = [r.score for r in result.recommendations]
    assert scores == sorted(scores, reverse=True)
    for recommendation in result.recommendations:
        assert 0 < recommendation.parameters <= budget.max_parameters
        assert recommendation.architecture.geometry.WhichOneof("kind") == "permutation"
        assert sorted(recommendation.architecture.geometry.permutation.permutation) == list(
            range(64)
        )
        assert [c.name for c in recommendation.analysis] == ["symmetry", "centre"]
        assert recommendation.rationale


def test_recommend_is_deterministic(advisor: Advisor) -> None:
    request = pb.RecommendRequest(task=small_task(), budget=quick_budget(seed=3))
    first = advisor.unary("Recommend", request).result
    second = advisor.unary("Recommend", request).result
    assert first.recommendations == second.recommendations


def test_a_recommendation_analyzes_to_its_own_figures(advisor: Advisor) -> None:
    task = small_task()
    result = advisor.unary(
        "Recommend", pb.RecommendRequest(task=task, budget=quick_budget())
    ).result
    best = result.recommendations[0]
    analysis = advisor.unary(
        "Analyze", pb.AnalyzeRequest(task=task, architecture=best.architecture)
    ).analysis
    assert analysis.parameters == best.parameters
    assert [c.log2_separation_rank for c in analysis.correlations] == pytest.approx(
        [c.log2_separation_rank for c in best.analysis]
    )


def test_stream_sends_progress_then_exactly_one_result(advisor: Advisor) -> None:
    responses = advisor.stream(
        pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget(seconds=1.0))
    )
    kinds = [response.WhichOneof("event") for response in responses]
    assert kinds[-1] == "result"
    assert kinds.count("result") == 1
    assert "progress" in kinds
    progress = [r.progress for r in responses[:-1]]
    counts = [p.candidates_evaluated for p in progress]
    assert counts == sorted(counts)
    assert all(0.0 <= p.fraction_done <= 1.0 for p in progress)
    assert responses[-1].result.recommendations


def test_list_presets_serves_the_library_presets(advisor: Advisor) -> None:
    response = advisor.unary("ListPresets", pb.ListPresetsRequest())
    served = [(p.name, pb.PresetKind.Name(p.kind), p.description) for p in response.presets]
    expected = [(p.name, f"PRESET_KIND_{p.kind.upper()}", p.description) for p in list_presets()]
    assert served == expected
    assert {kind for _, kind, _ in served} == {"PRESET_KIND_REGION", "PRESET_KIND_TASK"}


# ---------------------------------------------------------------------------------------------
# Bad requests: each validation error reaches the client as INVALID_ARGUMENT naming its field


def _analyze(
    task: pb.Task | None = None, architecture: pb.Architecture | None = None, exact: bool = False
) -> pb.AnalyzeRequest:
    return pb.AnalyzeRequest(
        task=task or MIRROR_4X4_TASK,
        architecture=architecture or MIRROR_4X4_ARCHITECTURE,
        exact=exact,
    )


def _recommend(task: pb.Task | None = None, budget: pb.Budget | None = None) -> pb.RecommendRequest:
    return pb.RecommendRequest(task=task or small_task(), budget=budget or quick_budget())


def _task(**fields: object) -> pb.Task:
    task = pb.Task()
    task.CopyFrom(MIRROR_4X4_TASK)
    for name, value in fields.items():
        task.ClearField(name)  # type: ignore[arg-type]
        if isinstance(value, list):
            getattr(task, name).extend(value)
        elif isinstance(value, str):
            setattr(task, name, value)
        else:
            getattr(task, name).CopyFrom(value)
    return task


def _architecture(**fields: object) -> pb.Architecture:
    architecture = pb.Architecture()
    architecture.CopyFrom(MIRROR_4X4_ARCHITECTURE)
    for name, value in fields.items():
        architecture.ClearField(name)  # type: ignore[arg-type]
        if isinstance(value, list):
            getattr(architecture, name).extend(value)
        elif isinstance(value, int):
            setattr(architecture, name, value)
        else:
            getattr(architecture, name).CopyFrom(value)
    return architecture


def _indices(*values: int) -> pb.Region:
    return pb.Region(indices=pb.IndexList(values=values))


def _with_region(region: pb.Region) -> pb.AnalyzeRequest:
    return _analyze(task=_task(correlations=[pb.Correlation(name="c", a=region)]))


def _with_architecture(**fields: object) -> pb.AnalyzeRequest:
    return _analyze(architecture=_architecture(**fields))


def _with_budget(**fields: object) -> pb.RecommendRequest:
    return _recommend(budget=quick_budget(**fields))


def _layers(*channels_and_pools: tuple[int, list[int]]) -> list[pb.Layer]:
    return [pb.Layer(channels=channels, pool=pool) for channels, pool in channels_and_pools]


LIMITS = CONTRACT_LIMITS
TOO_BIG_FOR_THE_EXACT_ENGINE = _analyze(
    task=small_task(16),
    architecture=pb.Architecture(
        input=pb.InputSpec(shape=[16, 16]), representation=2, layers=_layers((2, [16, 16]))
    ),
    exact=True,
)

BAD_REQUESTS = [
    # the task, shared by Analyze and Recommend
    pytest.param(
        _analyze(task=pb.Task(correlations=MIRROR_4X4_TASK.correlations)),
        "task.input",
        id="no input",
    ),
    pytest.param(
        _analyze(task=_task(input=pb.InputSpec(shape=[0, 4]))), "task.input.shape", id="empty axis"
    ),
    pytest.param(_with_region(_indices(16)), "task.correlations[0].a.indices", id="index range"),
    pytest.param(_with_region(pb.Region()), "task.correlations[0].a", id="region form unset"),
    pytest.param(
        _with_region(pb.Region(preset="nowhere")),
        "task.correlations[0].a.preset",
        id="unknown region preset",
    ),
    pytest.param(
        _with_region(pb.Region(box=pb.Box(start=[0, 0], stop=[9, 2]))),
        "task.correlations[0].a.box.stop",
        id="box outside the grid",
    ),
    pytest.param(
        _with_region(pb.Region(mask=pb.Mask(rows=["##.."]))),
        "task.correlations[0].a.mask",
        id="mask of the wrong height",
    ),
    pytest.param(_analyze(task=_task(preset="nothing")), "task.preset", id="unknown task preset"),
    # the architecture
    pytest.param(
        _with_architecture(layers=_layers((4, [3, 3]), (2, [2, 2]))),
        "architecture.layers[0].pool",
        id="pool does not tile",
    ),
    pytest.param(
        _with_architecture(layers=_layers((4, [2, 2]), (0, [2, 2]))),
        "architecture.layers[1].channels",
        id="zero channels",
    ),
    pytest.param(
        _with_architecture(representation=0),
        "architecture.representation",
        id="zero representation",
    ),
    pytest.param(
        _with_architecture(geometry=pb.Geometry(named=pb.NAMED_GEOMETRY_UNSPECIFIED)),
        "architecture.geometry.named",
        id="named geometry unspecified",
    ),
    pytest.param(
        _with_architecture(geometry=pb.Geometry()), "architecture.geometry", id="geometry unset"
    ),
    pytest.param(
        _with_architecture(
            geometry=pb.Geometry(permutation=pb.PermutationGeometry(permutation=[0] * 16))
        ),
        "architecture.geometry.permutation",
        id="not a permutation",
    ),
    pytest.param(
        _analyze(architecture=DILATIONS_16_ARCHITECTURE),
        "architecture.input.shape",
        id="grids differ",
    ),
    # the budget
    pytest.param(pb.RecommendRequest(task=small_task()), "budget", id="budget missing"),
    pytest.param(_with_budget(max_parameters=0), "budget.max_parameters", id="zero budget"),
    pytest.param(
        _with_budget(geometries=[pb.GEOMETRY_FAMILY_MIRROR, pb.GEOMETRY_FAMILY_UNSPECIFIED]),
        "budget.geometries[1]",
        id="family unspecified",
    ),
    pytest.param(_with_budget(geometries=[99]), "budget.geometries[0]", id="unknown family"),
    pytest.param(_with_budget(top_k=0), "budget.top_k", id="zero top_k"),
    pytest.param(
        _with_budget(time_limit_seconds=-1.0),
        "budget.time_limit_seconds",
        id="negative time limit",
    ),
    # documented limits, checked before any work
    pytest.param(
        _recommend(task=pb.Task(input=pb.InputSpec(shape=[LIMITS.max_locations + 1]))),
        "task.input.shape",
        id="too many locations",
    ),
    pytest.param(
        _recommend(
            task=pb.Task(
                input=pb.InputSpec(shape=[8]),
                correlations=[pb.Correlation(name="c", a=_indices(0))]
                * (LIMITS.max_correlations + 1),
            )
        ),
        "task.correlations",
        id="too many correlations",
    ),
    pytest.param(_with_budget(top_k=LIMITS.max_top_k + 1), "budget.top_k", id="top_k limit"),
    pytest.param(
        _with_budget(time_limit_seconds=2 * LIMITS.max_time_limit_seconds),
        "budget.time_limit_seconds",
        id="time limit limit",
    ),
    pytest.param(
        _with_architecture(representation=LIMITS.max_channels + 1),
        "architecture.representation",
        id="width limit",
    ),
    pytest.param(TOO_BIG_FOR_THE_EXACT_ENGINE, "exact", id="exact engine size"),
]


@pytest.mark.parametrize(("request_message", "field"), BAD_REQUESTS)
def test_bad_requests_are_invalid_arguments_naming_the_field(
    advisor: Advisor, request_message: pb.AnalyzeRequest | pb.RecommendRequest, field: str
) -> None:
    method = "Analyze" if isinstance(request_message, pb.AnalyzeRequest) else "Recommend"
    with pytest.raises(CallError) as failure:
        advisor.unary(method, request_message, timeout=10)
    assert failure.value.code is grpc.StatusCode.INVALID_ARGUMENT
    fields = [violation_field for violation_field, _ in failure.value.violations]
    assert field in fields, failure.value.violations
    assert all(description for _, description in failure.value.violations)


@pytest.mark.parametrize(
    ("request_message", "limits"),
    [
        pytest.param(_with_budget(top_k=60), {"max_top_k": "60"}, id="top_k"),
        pytest.param(
            _recommend(
                task=pb.Task(
                    input=pb.InputSpec(shape=[224, 224]),
                    correlations=[pb.Correlation(name="c", a=_indices(*range(20_000)))],
                )
            ),
            # The grid and the index list are both over max_locations: the grid needs more.
            {"max_locations": "50176"},
            id="locations",
        ),
        pytest.param(
            _recommend(
                task=pb.Task(
                    input=pb.InputSpec(shape=[224, 224]),
                    correlations=[pb.Correlation(name="c", a=_indices(0))],
                ),
                budget=quick_budget(top_k=60, time_limit_seconds=120.5),
            ),
            {"max_locations": "50176", "max_top_k": "60", "max_time_limit_seconds": "120.5"},
            id="three settings",
        ),
    ],
)
def test_a_refusal_of_limits_carries_each_setting_and_the_value_that_admits_the_request(
    advisor: Advisor, request_message: pb.RecommendRequest, limits: dict[str, str]
) -> None:
    # A remote AutoML client learns which limit refused it, and what admits the request, as
    # data (google.rpc.ErrorInfo, AIP-193): the message's English was all it had.
    with pytest.raises(CallError) as failure:
        advisor.unary("Recommend", request_message, timeout=10)
    assert failure.value.code is grpc.StatusCode.INVALID_ARGUMENT
    [info] = failure.value.error_infos
    assert (info.reason, info.domain) == ("LIMIT_EXCEEDED", "advisor.v1")
    assert dict(info.metadata) == limits
    # The message says it too, as it did.
    for setting in limits:
        assert f"({setting})" in failure.value.details


def test_a_refusal_of_no_limit_carries_the_error_info_of_a_refusal_on_its_fields(
    advisor: Advisor,
) -> None:
    with pytest.raises(CallError) as failure:
        advisor.unary("Recommend", _with_budget(top_k=0), timeout=10)
    assert failure.value.violations
    [info] = failure.value.error_infos
    assert (info.reason, info.domain, dict(info.metadata)) == ("INVALID_REQUEST", "advisor.v1", {})


def test_a_page_token_another_ranking_version_wrote_has_a_reason_of_its_own(
    advisor: Advisor,
) -> None:
    # A fleet upgraded between two pages refused the token as INVALID_REQUEST, as it refuses a
    # changed request: a pipeline had the English alone to tell "start again from page 1".
    first = advisor.unary("Recommend", _with_budget(top_k=2), timeout=10)
    assert first.result.next_page_token
    version = RANKING_VERSION - 1
    stale = of_ranking_version(first.result.next_page_token, version)
    with pytest.raises(CallError) as failure:
        advisor.unary("Recommend", _with_budget(top_k=2, page_token=stale), timeout=10)
    assert failure.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in failure.value.violations] == ["budget.page_token"]
    [info] = failure.value.error_infos
    assert (info.reason, info.domain) == ("PAGE_TOKEN_STALE", "advisor.v1")
    assert dict(info.metadata) == {
        "ranking_version": str(RANKING_VERSION),
        "token_ranking_version": str(version),
    }
    # A token of this version for another request is the request's fault, as it was.
    with pytest.raises(CallError) as changed:
        other = _with_budget(
            top_k=2, max_parameters=19_000, page_token=first.result.next_page_token
        )
        advisor.unary("Recommend", other, timeout=10)
    assert [info.reason for info in changed.value.error_infos] == ["INVALID_REQUEST"]


@pytest.mark.parametrize(
    "cut_short",
    [lambda token: of_ranking_version(token, None), lambda token: token[:12]],
    ids=["version-part-cut-off", "truncated"],
)
def test_a_page_token_cut_short_is_an_invalid_request_not_a_stale_one(
    advisor: Advisor, cut_short: Callable[[str], str]
) -> None:
    # Refused PAGE_TOKEN_STALE, a pipeline restarted its ranking rather than report the token
    # it had broken; a malformed token is the request's fault, as docs/SERVICE.md says.
    first = advisor.unary("Recommend", _with_budget(top_k=2), timeout=10)
    token = cut_short(first.result.next_page_token)
    with pytest.raises(CallError) as failure:
        advisor.unary("Recommend", _with_budget(top_k=2, page_token=token), timeout=10)
    assert failure.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in failure.value.violations] == ["budget.page_token"]
    assert [info.reason for info in failure.value.error_infos] == ["INVALID_REQUEST"]


def test_a_later_page_its_time_limit_cut_before_every_tree_is_refused_on_the_limit(
    advisor: Advisor,
) -> None:
    # It answered OK with the cut search's own ranks, labelled as the whole ranking's.
    first = advisor.unary("Recommend", _with_budget(top_k=2), timeout=10)
    later = _with_budget(top_k=2, page_token=first.result.next_page_token, time_limit_seconds=1e-9)
    with pytest.raises(CallError) as failure:
        advisor.unary("Recommend", later, timeout=10)
    assert failure.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in failure.value.violations] == ["budget.time_limit_seconds"]
    assert [info.reason for info in failure.value.error_infos] == ["INVALID_REQUEST"]


@pytest.mark.parametrize("advisor", ["direct", "threads"], indirect=True)
@pytest.mark.parametrize("seconds", [math.nan, math.inf])
def test_a_time_limit_that_is_no_number_is_refused_in_the_librarys_words(
    advisor: Advisor, seconds: float
) -> None:
    # The limits stage refused NaN as "must be a number of seconds", and inf as over
    # max_time_limit_seconds with an ErrorInfo asking for a limit of 'inf', which no server
    # takes; the library and the command say the number is not finite.
    with pytest.raises(InvalidRequestError) as library:
        Budget(max_parameters=20_000, time_limit_seconds=seconds)
    with pytest.raises(CallError) as failure:
        advisor.unary("Recommend", _with_budget(time_limit_seconds=seconds), timeout=10)
    assert failure.value.violations == [(v.field, v.description) for v in library.value.violations]
    assert [info.reason for info in failure.value.error_infos] == ["INVALID_REQUEST"]


@pytest.mark.parametrize(
    ("request_message", "field", "kind"),
    [
        (pb.RecommendRequest(task=small_task()), "budget", "Budget"),
        (pb.RecommendRequest(budget=quick_budget()), "task", "Task"),
        (pb.AnalyzeRequest(task=MIRROR_4X4_TASK), "architecture", "Architecture"),
        (pb.AnalyzeRequest(architecture=MIRROR_4X4_ARCHITECTURE), "task", "Task"),
    ],
)
def test_a_missing_message_is_named_as_missing(
    advisor: Advisor,
    request_message: pb.AnalyzeRequest | pb.RecommendRequest,
    field: str,
    kind: str,
) -> None:
    # Read as its empty default, it blamed a field inside it ("budget.max_parameters: Input
    # should be greater than 0", "task.input: Field required").
    method = "Analyze" if isinstance(request_message, pb.AnalyzeRequest) else "Recommend"
    with pytest.raises(CallError) as failure:
        advisor.unary(method, request_message, timeout=10)
    assert failure.value.violations == [(field, f"is required: the request has no {kind}")]


@pytest.mark.parametrize(
    ("method", "request_message", "missing"),
    [
        ("Recommend", pb.RecommendRequest(), [("task", "Task"), ("budget", "Budget")]),
        ("Analyze", pb.AnalyzeRequest(), [("task", "Task"), ("architecture", "Architecture")]),
    ],
)
def test_every_missing_message_is_named_at_once(
    advisor: Advisor,
    method: str,
    request_message: pb.AnalyzeRequest | pb.RecommendRequest,
    missing: list[tuple[str, str]],
) -> None:
    # The first stage is reported whole: only the first missing one was, the next on the next call.
    with pytest.raises(CallError) as failure:
        advisor.unary(method, request_message, timeout=10)
    assert failure.value.violations == [
        (field, f"is required: the request has no {kind}") for field, kind in missing
    ]


@pytest.mark.parametrize("method", ["Recommend", "StreamRecommend"])
def test_a_bad_task_is_reported_before_a_bad_budget(advisor: Advisor, method: str) -> None:
    # The documented stages: the raw message's limits, then the task, then the budget.
    task = _task(correlations=[])
    budget = quick_budget(max_parameters=0)
    with pytest.raises(CallError) as failure:
        if method == "Recommend":
            advisor.unary(method, pb.RecommendRequest(task=task, budget=budget), timeout=10)
        else:
            advisor.stream(pb.StreamRecommendRequest(task=task, budget=budget), timeout=10)
    fields = [field for field, _ in failure.value.violations]
    assert fields and all(field.startswith("task.") for field in fields), fields


def test_stream_rejects_bad_requests_the_same_way(advisor: Advisor) -> None:
    request = pb.StreamRecommendRequest(task=small_task(), budget=quick_budget(max_parameters=0))
    with pytest.raises(CallError) as failure:
        advisor.stream(request, timeout=10)
    assert failure.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "budget.max_parameters" in [field for field, _ in failure.value.violations]


# A monkeypatch reaches the servicer only in this process, not in a worker process (whose deaths
# are this test's counterpart there: tests/service/test_processes.py).
@pytest.mark.parametrize("advisor", ["direct", "threads"], indirect=True)
def test_unexpected_errors_are_internal_with_a_request_id_and_no_traceback(
    advisor: Advisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> list[object]:
        raise RuntimeError("secret internal state")

    monkeypatch.setattr("advisor.service.servicer.list_presets", broken)
    with pytest.raises(CallError) as failure:
        advisor.unary("ListPresets", pb.ListPresetsRequest())
    assert failure.value.code is grpc.StatusCode.INTERNAL
    assert "secret" not in failure.value.details
    assert "Traceback" not in failure.value.details
    assert "request id" in failure.value.details


# ---------------------------------------------------------------------------------------------
# Deadlines


@pytest.mark.parametrize("deadline", [0.5, 1.0])
def test_a_deadline_ends_a_long_search_in_time_with_its_best_so_far(
    advisor: Advisor, deadline: float
) -> None:
    started = time.monotonic()
    try:
        response = advisor.unary(
            "Recommend", pb.RecommendRequest(task=LONG_TASK, budget=long_budget()), timeout=deadline
        )
    except CallError as failure:
        # Only over a channel: the server's deadline starts when the request arrives, and on a
        # loaded machine its answer can still be on the way when the client's own timer fires.
        # Its work has ended all the same: the slot is free within the stall allowance, or, on
        # a machine too loaded to run the call's (lower-priority) worker, it spent no more than
        # that allowance of CPU after the deadline before freeing it.
        assert isinstance(advisor, LiveAdvisor), failure
        assert failure.code is grpc.StatusCode.DEADLINE_EXCEEDED
        cpu_at_deadline = advisor.serving_cpu_seconds()
        while advisor.in_flight():
            assert time.monotonic() - started < _RAN_ON_SECONDS, "the search ran on"
            time.sleep(0.002)
        if time.monotonic() - started >= deadline + STALL_SECONDS:
            ran_on = advisor.serving_cpu_seconds() - cpu_at_deadline
            assert ran_on < STALL_SECONDS, f"the search ran on for {ran_on:.2f} CPU-s"
        return
    # The search planned against the deadline and answered before it, with what it had found.
    assert not response.result.complete
    assert response.result.recommendations
    assert response.result.search_seconds < deadline + STALL_SECONDS
    # Its work ended with the answer: the slot is free before the reply is sent.
    assert advisor.in_flight() == 0


def test_a_time_limit_cuts_the_search_and_keeps_the_best_so_far(advisor: Advisor) -> None:
    seconds = 0.5
    result = advisor.unary(
        "Recommend", pb.RecommendRequest(task=LONG_TASK, budget=long_budget(seconds))
    ).result
    assert not result.complete
    assert result.recommendations
    assert result.search_seconds < seconds + STALL_SECONDS
