"""A server of another advisor.v1 version, met by this version's decoder and client.

An older server leaves the newer fields out of its answers, so they arrive as proto3's defaults
(0, false, empty), and skips them in requests; each test builds what it sent by clearing the
fields it did not know (tests/support/other_versions.py serves such answers). A newer server
may send enum values and events this version has no name for.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import grpc
import numpy as np
import pytest
from advisor_client import AdvisorClient, AdvisorRpcError
from google.protobuf.message import Message

from advisor.cli.format import render_analysis
from advisor.cli.infer import render_report
from advisor.errors import InvalidRequestError
from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.task import infer_task
from advisor.model.architecture import load_architecture
from advisor.model.budget import Budget
from advisor.model.results import (
    Analysis,
    CorrelationAnalysis,
    Efficiency,
    SearchProgress,
    SearchResult,
)
from advisor.model.task import list_presets, load_task
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.search.recommend import recommend
from tests.support.other_versions import other_version_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TASK = load_task(EXAMPLES / "tasks" / "symmetry.yaml")
MIRROR = load_architecture(EXAMPLES / "architectures" / "mirror.yaml")


def _over_the_wire(message: Message) -> Any:
    """Serialize and parse again, as a real call does."""
    return type(message).FromString(message.SerializeToString())


def _analysis(efficiency: Efficiency) -> Analysis:
    correlation = CorrelationAnalysis("c", 3.0, 4.0, "tight")
    return Analysis(
        parameters=100, multiply_adds=2_000, correlations=[correlation], efficiency=efficiency
    )


def test_contiguous_figures_from_a_server_that_predates_contiguous_priced_are_priced() -> None:
    # Efficiency's field 5 came after its figures: an older server sends them with it false.
    priced = _analysis(Efficiency(3.0, 9.5, 4.0, 10.25))
    message = wire.analysis_to_proto(priced)
    message.efficiency.ClearField("contiguous_priced")
    decoded = wire.analysis_from_proto(_over_the_wire(message))
    assert decoded == priced
    assert decoded.efficiency is not None
    assert "not computed" not in decoded.efficiency.summary()


@pytest.mark.parametrize("reaches", [True, False])
def test_whether_a_shallow_net_reaches_crosses_the_wire_and_an_older_server_s_reads_true(
    reaches: bool,
) -> None:
    # Field 7 came after the others: a server that predates it stated the channels as a need.
    analysis = _analysis(Efficiency(3.0, 9.5, 4.0, 10.25, shallow_reaches=reaches))
    message = wire.analysis_to_proto(analysis)
    assert wire.analysis_from_proto(_over_the_wire(message)) == analysis
    message.efficiency.ClearField("shallow_reaches")
    older = wire.analysis_from_proto(_over_the_wire(message)).efficiency
    assert older is not None and older.shallow_reaches


@pytest.mark.parametrize(
    ("field", "mirror_count"), [("multiply_adds", 2_394_144), ("activations", 122_066)]
)
def test_a_server_that_predates_a_count_gets_each_design_s_own(
    field: Literal["multiply_adds", "activations"], mirror_count: int
) -> None:
    # Recommendation.multiply_adds (7) and Analysis.multiply_adds (3) came later, and
    # .activations (9, 4) later still: their 0 read as a count of 0, which no network has.
    def older_result(result: pb.SearchResult) -> None:
        for recommendation in result.recommendations:
            recommendation.ClearField(field)

    budget = Budget(max_parameters=20_000, top_k=2, geometries=["mirror", "contiguous"])
    with (
        other_version_server(
            older_result=older_result,
            older_analysis=lambda analysis: analysis.ClearField(field),
        ) as target,
        AdvisorClient(target) as client,
    ):
        result = client.recommend(TASK, budget)
        analysis = client.analyze(TASK, MIRROR)
    counts = [getattr(r, field) for r in result.recommendations]
    assert counts == [getattr(r.architecture, field) for r in result.recommendations]
    assert all(count > 0 for count in counts)
    assert getattr(analysis, field) == getattr(MIRROR, field) == mirror_count


def test_an_unpriced_reason_a_newer_server_added_reads_as_no_reason_not_a_broken_answer() -> None:
    # Refused, it made every Recommend and Analyze of such a design fail as a malformed answer.
    unpriced = _analysis(Efficiency(3.0, 9.5, None, None, contiguous_priced=False))
    message = wire.analysis_to_proto(unpriced)
    message.efficiency.unpriced_reason = 42  # type: ignore[assignment]
    decoded = wire.analysis_from_proto(_over_the_wire(message))
    assert decoded == unpriced
    assert decoded.efficiency is not None
    assert "the contiguous comparison is not computed" in decoded.efficiency.summary()


def _without_member_figures(correlations: Iterable[pb.CorrelationAnalysis]) -> None:
    for correlation in correlations:
        correlation.ClearField("members")


def _result_without_member_figures(result: pb.SearchResult) -> None:
    for recommendation in result.recommendations:
        _without_member_figures(recommendation.analysis)


def test_a_mixture_from_a_server_that_predates_member_figures_is_told_unreported() -> None:
    # CorrelationAnalysis.members (8) came after mixtures: their empty list read as a tree's.
    budget = Budget(max_parameters=20_000, top_k=3, geometries=["mixture"])
    with (
        other_version_server(
            older_result=_result_without_member_figures,
            older_analysis=lambda analysis: _without_member_figures(analysis.correlations),
        ) as target,
        AdvisorClient(target) as client,
    ):
        designs = client.recommend(TASK, budget).recommendations
        mixture = next(d.architecture for d in designs if d.architecture.mixture is not None)
        analysis = client.analyze(TASK, mixture)
    for design in designs:
        told = None if design.architecture.mixture is not None else ()
        assert [c.members for c in design.analysis] == [told] * len(design.analysis)
    assert [c.members for c in analysis.correlations] == [None] * len(analysis.correlations)
    text = render_analysis(analysis, "table", mixture)
    assert "member figures: not reported (the server predates them)" in text


def _with_a_newer_kind(response: pb.ListPresetsResponse) -> None:
    """Add a preset of a kind this version has no name for, as a newer server's answer may hold."""
    response.presets.add(name="lenet", kind=7, description="A kind added later.")


def test_a_preset_of_a_kind_a_newer_server_added_is_left_out_not_a_broken_list() -> None:
    # Refused, the one preset of a new kind failed `advisor presets` whole (INTERNAL).
    with (
        other_version_server(other_presets=_with_a_newer_kind) as target,
        AdvisorClient(target) as client,
    ):
        presets = client.list_presets()
    assert presets == list_presets()
    unspecified = pb.Preset(name="x", kind=pb.PRESET_KIND_UNSPECIFIED)
    with pytest.raises(InvalidRequestError, match=r"preset\.kind: must be set"):
        wire.preset_from_proto(unspecified)


def test_a_stream_event_of_a_kind_a_newer_server_added_is_skipped_not_read_as_progress() -> None:
    # StreamRecommendResponse's oneof may grow: an event of a member this version does not know
    # (field 3 here) read as an empty progress event, 0 candidates after 7, fraction 0 after 0.5.
    progress = pb.StreamRecommendResponse(
        progress=pb.SearchProgress(candidates_evaluated=7, elapsed_seconds=0.1, fraction_done=0.5)
    )
    newer = b"\x1a\x00"  # field 3, an empty message
    assert not pb.StreamRecommendResponse.FromString(newer).WhichOneof("event")
    budget = Budget(max_parameters=20_000, top_k=1, geometries=["mirror"])
    events = [progress.SerializeToString(), newer, progress.SerializeToString()]
    with other_version_server(events=events) as target, AdvisorClient(target) as client:
        seen = list(client.stream_recommend(TASK, budget))
    *progressed, result = seen
    assert all(isinstance(p, SearchProgress) for p in progressed)
    assert [p.candidates_evaluated for p in progressed] == [7, 7]
    assert isinstance(result, SearchResult) and result.recommendations


def test_an_inference_from_a_server_that_predates_the_evidence_threshold_is_told_unreported() -> (
    None
):
    # InferTaskResponse.threshold and evidence (7, 8) and the partitions' dropped reasons came
    # later; the report read "evidence: 0 of the pairs at dependence 0.000 or more" and
    # "dropped ()".
    rng = np.random.default_rng(0)
    values = rng.normal(size=(400, 8, 8))
    values[:, :, 4:] = values[:, :, 3::-1] + 0.3 * rng.normal(size=(400, 8, 4))
    graph = dependence_graph(data_from_array(values))
    message = wire.inference_report_to_proto(infer_task(graph).report())
    message.ClearField("threshold")
    message.ClearField("evidence")
    for correlation in message.correlations:
        correlation.ClearField("dropped")
    report = wire.inference_report_from_proto(_over_the_wire(message))
    assert (report.threshold, report.evidence) == (None, None)
    assert not all(c.kept for c in report.correlations)
    text = render_report(graph, report)
    assert "evidence: not reported: the server predates the evidence threshold" in text
    assert "0.000 or more" not in text and "dropped ()" not in text


def test_partitions_from_a_server_that_predates_their_chance_are_told_unreported() -> None:
    # InferredCorrelation.chance (4) came before the threshold: the table read "chance 0.000"
    # beside every partition, a figure no partition crossing any dependence has.
    rng = np.random.default_rng(0)
    values = rng.normal(size=(400, 8, 8))
    values[:, :, 4:] = values[:, :, 3::-1] + 0.3 * rng.normal(size=(400, 8, 4))
    graph = dependence_graph(data_from_array(values))
    message = wire.inference_report_to_proto(infer_task(graph).report())
    assert all(c.chance > 0 for c in message.correlations)
    message.ClearField("threshold")
    message.ClearField("evidence")
    for correlation in message.correlations:
        correlation.ClearField("chance")
        correlation.ClearField("dropped")
    report = wire.inference_report_from_proto(_over_the_wire(message))
    assert [c.chance for c in report.correlations] == [None] * len(report.correlations)
    partitions = render_report(graph, report).split("\npartition ", 1)[1]
    assert partitions.count("not reported") == len(report.correlations)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_page_token_a_server_that_predates_paging_skips_is_refused_not_read_as_page_one(
    streamed: bool,
) -> None:
    # Budget.page_token (80) came later: such a server (a replica not yet upgraded) skips it and
    # answers the first page again, ranks from 1 and no next page, as if the ranking ended there.
    budget = Budget(max_parameters=20_000, top_k=2, geometries=["mirror", "contiguous"])
    token = recommend(TASK, budget).next_page_token
    assert token is not None
    second = budget.model_copy(update={"page_token": token})
    progress = (lambda _: None) if streamed else None
    with (
        other_version_server(older_budget=lambda b: b.ClearField("page_token")) as target,
        AdvisorClient(target) as client,
    ):
        assert client.recommend(TASK, budget, progress=progress).recommendations[0].rank == 1
        with pytest.raises(AdvisorRpcError) as raised:
            client.recommend(TASK, second, progress=progress)
    assert raised.value.code is grpc.StatusCode.UNIMPLEMENTED
    assert raised.value.details == (
        "the server answered the first page: it skipped budget.page_token, which it predates "
        "(page tokens need a server as recent as the client)"
    )
