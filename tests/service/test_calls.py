"""``run_call``: one call's work, as a thread and a worker process both run it, by its outcomes."""

from __future__ import annotations

import grpc
import pytest

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.service.calls import SERVICE, run_call
from advisor.service.status import REQUEST_ID_METADATA_KEY
from advisor.service.threads import CallAbortedError, ThreadContext
from tests.support.harness import DirectAdvisor
from tests.support.workloads import quick_budget, small_task


def test_every_method_of_the_service_is_run_by_name() -> None:
    servicer = DirectAdvisor().servicer
    for method in SERVICE.methods:
        assert callable(getattr(servicer, method.name))


def test_a_unary_call_yields_its_one_serialized_response() -> None:
    outcomes = list(run_call(DirectAdvisor().servicer, "ListPresets", b"", ThreadContext()))
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], bytes)
    assert pb.ListPresetsResponse.FromString(outcomes[0]).presets


def test_a_stream_yields_its_progress_then_its_result_each_serialized() -> None:
    request = pb.StreamRecommendRequest(task=small_task(), budget=quick_budget())
    payload = request.SerializeToString()
    servicer = DirectAdvisor().servicer
    outcomes = list(run_call(servicer, "StreamRecommend", payload, ThreadContext()))
    assert all(isinstance(outcome, bytes) for outcome in outcomes)
    events = [
        pb.StreamRecommendResponse.FromString(outcome).WhichOneof("event")
        for outcome in outcomes
        if isinstance(outcome, bytes)
    ]
    assert events[-1] == "result"
    assert set(events[:-1]) <= {"progress"}


def test_undecodable_bytes_end_the_call_as_bad_input_on_the_whole_request() -> None:
    (outcome,) = run_call(DirectAdvisor().servicer, "Analyze", b"\xff\xff\xff", ThreadContext())
    assert isinstance(outcome, CallAbortedError)
    assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "is not a valid advisor.v1.AnalyzeRequest message" in outcome.details


def test_a_failure_outside_the_servicer_mapping_is_an_opaque_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    servicer = DirectAdvisor().servicer
    # A response that cannot be serialized: the failure happens after the servicer returned.
    monkeypatch.setattr(servicer, "ListPresets", lambda request, context: object())
    (outcome,) = run_call(servicer, "ListPresets", b"", ThreadContext())
    assert isinstance(outcome, CallAbortedError)
    assert outcome.code is grpc.StatusCode.INTERNAL
    assert "object" not in outcome.details
    assert [key for key, _ in outcome.trailing_metadata] == [REQUEST_ID_METADATA_KEY]
