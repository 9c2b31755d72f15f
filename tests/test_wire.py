"""advisor.protocol.wire: lossless round trips, library defaults for absent fields, field-path
prefixes."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from google.protobuf.message import Message
from hypothesis import given, settings

from advisor.errors import InvalidRequestError
from advisor.model.architecture import NamedGeometry, parse_architecture
from advisor.model.budget import FAMILIES, PRACTICAL_ONLY, Budget, WidthProfile
from advisor.model.regions import RelationKind
from advisor.model.results import (
    Analysis,
    Certificate,
    CorrelationAnalysis,
    Efficiency,
    MemberFigure,
    SearchProgress,
    SearchResult,
    UnpricedReason,
)
from advisor.model.task import PresetInfo, list_presets, parse_task
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.search.recommend import recommend
from tests.support.strategies import (
    valid_architecture_documents,
    valid_budget_documents,
    valid_task_documents,
)


def _over_the_wire(message: Message) -> Any:
    """Serialize and parse again, as a real call does."""
    return type(message).FromString(message.SerializeToString())


def _labels(enum: Any) -> set[str]:
    prefix = enum.DESCRIPTOR.values[0].name.removesuffix("UNSPECIFIED")
    return {name.removeprefix(prefix).lower() for name in enum.keys()[1:]}


# ---------------------------------------------------------------------------------------------
# The enums cover exactly the library's labels


@pytest.mark.parametrize(
    ("enum", "labels"),
    [
        (pb.NamedGeometry, set(typing.get_args(NamedGeometry))),
        (pb.Certificate, set(typing.get_args(Certificate))),
        (pb.Objective, set(typing.get_args(Budget.model_fields["objective"].annotation))),
        (pb.PresetKind, set(typing.get_args(typing.get_type_hints(PresetInfo)["kind"]))),
        (pb.GeometryFamily, set(FAMILIES)),  # the families a budget may allow
        (pb.WidthProfile, set(typing.get_args(WidthProfile))),
        (pb.RelationKind, set(typing.get_args(RelationKind))),
        (pb.UnpricedReason, set(typing.get_args(UnpricedReason))),
    ],
)
def test_each_enum_names_exactly_the_library_labels(enum: Any, labels: set[str]) -> None:
    assert _labels(enum) == labels


# ---------------------------------------------------------------------------------------------
# Requests


@settings(max_examples=60)
@given(valid_task_documents())
def test_tasks_round_trip(document: dict[str, Any]) -> None:
    task = parse_task(document)
    assert wire.task_from_proto(_over_the_wire(wire.task_to_proto(task))) == task


@settings(max_examples=60)
@given(valid_architecture_documents())
def test_architectures_round_trip(document: dict[str, Any]) -> None:
    architecture = parse_architecture(document)
    message = _over_the_wire(wire.architecture_to_proto(architecture))
    assert wire.architecture_from_proto(message) == architecture


@settings(max_examples=60)
@given(valid_budget_documents())
def test_budgets_round_trip(document: dict[str, Any]) -> None:
    budget = Budget.model_validate(document)
    decoded = wire.budget_from_proto(_over_the_wire(wire.budget_to_proto(budget)))
    assert decoded == budget
    chosen = set(PRACTICAL_ONLY) & budget.model_fields_set
    assert set(PRACTICAL_ONLY) & decoded.model_fields_set == chosen


def test_an_activation_bound_crosses_the_wire_and_its_absence_is_no_bound() -> None:
    budget = Budget(max_parameters=20_000, max_activations=123_456)
    message = _over_the_wire(wire.budget_to_proto(budget))
    assert message.max_activations == 123_456
    assert wire.budget_from_proto(message) == budget
    unbounded = wire.budget_to_proto(Budget(max_parameters=20_000))
    assert not unbounded.HasField("max_activations")
    assert wire.budget_from_proto(unbounded).max_activations is None


def test_a_free_budget_crosses_the_wire_without_the_practical_defaults() -> None:
    budget = Budget(max_parameters=100, width_profile="free")
    assert wire.budget_from_proto(_over_the_wire(wire.budget_to_proto(budget))) == budget


def test_absent_optional_fields_take_the_library_defaults() -> None:
    task = wire.task_from_proto(
        pb.Task(
            input=pb.InputSpec(shape=[4, 4]),
            correlations=[pb.Correlation(name="c", a=pb.Region(preset="left_half"))],
        )
    )
    assert task == parse_task(
        {"input": {"shape": [4, 4]}, "correlations": [{"name": "c", "a": {"preset": "left_half"}}]}
    )
    assert wire.budget_from_proto(pb.Budget(max_parameters=100)) == Budget(max_parameters=100)
    architecture = wire.architecture_from_proto(
        pb.Architecture(
            input=pb.InputSpec(shape=[4]), representation=2, layers=[pb.Layer(channels=2, pool=[4])]
        )
    )
    assert architecture.geometry == "contiguous"
    assert architecture.outputs == 1


def test_explicit_zero_values_are_not_mistaken_for_absent_ones() -> None:
    budget = wire.budget_from_proto(pb.Budget(max_parameters=100, seed=0, search_dilations=False))
    assert budget.search_dilations is False
    assert wire.budget_to_proto(budget).HasField("search_dilations")


def test_an_unlimited_budget_cannot_be_sent_silently_limited() -> None:
    with pytest.raises(InvalidRequestError) as error:
        wire.budget_to_proto(Budget(max_parameters=100, time_limit_seconds=None))
    assert [v.field for v in error.value.violations] == ["time_limit_seconds"]


@pytest.mark.parametrize(
    ("convert", "message", "field"),
    [
        (wire.task_from_proto, pb.Task(input=pb.InputSpec(shape=[0])), "job.task.input.shape"),
        (
            wire.task_from_proto,
            pb.Task(input=pb.InputSpec(shape=[4]), correlations=[pb.Correlation(name="c")]),
            "job.task.correlations[0].a",
        ),
        (
            wire.architecture_from_proto,
            pb.Architecture(
                input=pb.InputSpec(shape=[4]),
                representation=2,
                layers=[pb.Layer(channels=2, pool=[4])],
                geometry=pb.Geometry(named=7),  # type: ignore[arg-type]
            ),
            "job.task.geometry.named",
        ),
    ],
)
def test_violations_are_placed_under_the_given_field(
    convert: Any, message: Message, field: str
) -> None:
    with pytest.raises(InvalidRequestError) as error:
        convert(message, "job.task")
    assert field in [v.field for v in error.value.violations]


def _message_has_path(message: Message, path: str) -> bool:
    """Whether ``path`` (``a.b[2].c``) names fields of ``message``'s type, indexing only lists."""
    descriptor: Any = message.DESCRIPTOR
    for step in path.split("."):
        name, _, index = step.partition("[")
        field = descriptor.fields_by_name.get(name) if descriptor is not None else None
        if field is None or (index and (not field.is_repeated or "[" in index)):
            return False
        descriptor = field.message_type
    return True


_SQUARE = pb.InputSpec(shape=[4, 4])
_TWO_LAYERS = [pb.Layer(channels=2, pool=[2, 2]), pb.Layer(channels=2, pool=[2, 2])]


@pytest.mark.parametrize(
    ("convert", "message", "field"),
    [
        (
            wire.architecture_from_proto,
            pb.Architecture(
                input=_SQUARE,
                representation=2,
                layers=_TWO_LAYERS,
                padding=[pb.AxisPadding(after=-3), pb.AxisPadding()],
            ),
            "architecture.padding[0].after",
        ),
        (
            wire.architecture_from_proto,
            pb.Architecture(
                input=_SQUARE,
                representation=2,
                layers=_TWO_LAYERS,
                padding=[pb.AxisPadding(), pb.AxisPadding(before=-1)],
            ),
            "architecture.padding[1].before",
        ),
        (
            wire.task_from_proto,
            pb.Task(
                input=_SQUARE,
                correlations=[
                    pb.Correlation(
                        name="c", a=pb.Region(mask=pb.Mask(rows=["##..", "#...", "....", "..."]))
                    )
                ],
            ),
            "task.correlations[0].a.mask.rows[3]",
        ),
    ],
)
def test_violations_name_the_message_s_own_fields_not_the_document_s(
    convert: Any, message: Message, field: str
) -> None:
    # A client of the proto looks the path up in the message it sent: the file format's
    # padding pair (padding[0][1]) is an AxisPadding, a mask's rows its `rows` field.
    with pytest.raises(InvalidRequestError) as error:
        convert(message)
    assert [v.field for v in error.value.violations] == [field]
    root = pb.AnalyzeRequest()
    assert _message_has_path(root, field)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (pb.Budget(max_parameters=-1), "budget.max_parameters"),
        (
            pb.Budget(
                max_parameters=1,
                objective=pb.OBJECTIVE_UNSPECIFIED,
                geometries=[pb.GEOMETRY_FAMILY_UNSPECIFIED],
            ),
            "budget.geometries[0]",
        ),
        (pb.Budget(max_parameters=10, min_depth=3, max_depth=2), "budget.max_depth"),
    ],
)
def test_a_budget_s_violations_are_placed_under_budget(message: pb.Budget, field: str) -> None:
    with pytest.raises(InvalidRequestError) as error:
        wire.budget_from_proto(message)
    assert field in [v.field for v in error.value.violations]


# ---------------------------------------------------------------------------------------------
# Results


def test_presets_round_trip() -> None:
    for preset in list_presets():
        assert wire.preset_from_proto(_over_the_wire(wire.preset_to_proto(preset))) == preset


def test_analyses_round_trip() -> None:
    analysis = Analysis(
        parameters=123,
        multiply_adds=4567,
        correlations=[
            CorrelationAnalysis(
                name=f"c{i}",
                log2_separation_rank=0.1 * i,
                log2_max_rank=2.5 * i,
                certificate=certificate,
                weight=1.0 + i,
                log2_min_cut=None if i == 0 else 3.0 * i,
                log2_lower_bound=None if i < 2 else 0.5,
                # A mixture's members' figures, in member order (a tree has none).
                members=tuple(
                    MemberFigure(log2_separation_rank=0.05 * j, certificate=c)
                    for j, c in enumerate(typing.get_args(Certificate)[i:])
                ),
            )
            for i, certificate in enumerate(typing.get_args(Certificate))
        ],
        efficiency=Efficiency(96.0, 101.5, None, None),
        activations=890,
    )
    assert wire.analysis_from_proto(_over_the_wire(wire.analysis_to_proto(analysis))) == analysis
    # Activations not reported (a document that predates them) stay so: the wire's 0 is no count.
    unreported = dataclasses.replace(analysis, activations=None)
    assert wire.analysis_from_proto(_over_the_wire(wire.analysis_to_proto(unreported))) == (
        unreported
    )
    for efficiency in (
        Efficiency(3.0, 9.5, 4.0, 10.25),
        Efficiency(3.0, 9.5, None, None, False),
        *(Efficiency(3.0, 9.5, None, None, False, why) for why in typing.get_args(UnpricedReason)),
        None,
    ):
        changed = dataclasses.replace(analysis, efficiency=efficiency)
        assert wire.analysis_from_proto(_over_the_wire(wire.analysis_to_proto(changed))) == changed


def test_an_unknown_certificate_is_named_by_its_path_and_what_this_version_knows() -> None:
    # A newer server's certificate: the reader says which it knows and why it may not know this.
    message = pb.Analysis(correlations=[pb.CorrelationAnalysis(name="c", certificate=42)])  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError) as error:
        wire.analysis_from_proto(message)
    [violation] = error.value.violations
    assert violation.field == "analysis.correlations[0].certificate"
    assert violation.description == (
        "unknown enum value 42 (this version knows exact, tight, upper_bound: the other side may "
        "run a newer advisor.v1)"
    )


def test_an_unknown_member_certificate_is_named_by_its_path() -> None:
    member = pb.MemberFigure(log2_separation_rank=1.0, certificate=42)  # type: ignore[arg-type]
    message = pb.Analysis(
        correlations=[
            pb.CorrelationAnalysis(name="c", certificate=pb.CERTIFICATE_TIGHT, members=[member])
        ]
    )
    with pytest.raises(InvalidRequestError) as error:
        wire.analysis_from_proto(message)
    [violation] = error.value.violations
    assert violation.field == "analysis.correlations[0].members[0].certificate"


def test_search_results_round_trip() -> None:
    task = parse_task(
        {"input": {"shape": [8, 8]}, "correlations": [{"name": "c", "a": {"preset": "left_half"}}]}
    )
    result = recommend(task, Budget(max_parameters=5_000, top_k=3, time_limit_seconds=5.0))
    assert result.recommendations
    message = _over_the_wire(wire.search_result_to_proto(result))
    assert wire.search_result_from_proto(message) == result
    # Sent, not left for the reader to count (it counts only what an older server leaves out).
    assert [r.activations for r in message.recommendations] == [
        r.activations for r in result.recommendations
    ]


@pytest.mark.parametrize("best_score", [None, 0.0, 12.5])
def test_progress_round_trips_with_and_without_a_best_score(best_score: float | None) -> None:
    progress = SearchProgress(
        candidates_evaluated=7, elapsed_seconds=0.25, best_score=best_score, fraction_done=0.5
    )
    message = _over_the_wire(wire.search_progress_to_proto(progress))
    assert wire.search_progress_from_proto(message) == progress


def test_an_empty_search_result_round_trips() -> None:
    result = SearchResult(
        recommendations=[], candidates_evaluated=0, search_seconds=0.0, complete=False
    )
    assert wire.search_result_from_proto(wire.search_result_to_proto(result)) == result
