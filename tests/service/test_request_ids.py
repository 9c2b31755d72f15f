"""One request id per call: every answer carries it, and the access line names the same one."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import grpc
import pytest
from advisor_client.client import AdvisorClient
from advisor_client.connection import ServerVersion
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol._proto.advisor.v1 import advisor_pb2_grpc
from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.protocol.metadata import (
    ERROR_DOMAIN,
    RANKING_VERSION_METADATA_KEY,
    SERVER_VERSION_METADATA_KEY,
    bearer_metadata,
)
from advisor.service.access import ACCESS_LOGGER
from advisor.service.katib_server import start_katib_server
from advisor.service.request_ids import (
    INCOMING_REQUEST_ID_KEY,
    MAX_REQUEST_ID_CHARS,
    REQUEST_ID_METADATA_KEY,
    request_id_of,
)
from advisor.service.server import RunningServer
from advisor.service.servicer import AdvisorServicer
from advisor.version import RANKING_VERSION, __version__
from tests.service.test_katib import experiment
from tests.support.harness import error_infos_of
from tests.support.scripted import BUDGET, TASK
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget, quick_budget, small_task

_ADVISOR = "/advisor.v1.ArchitectureAdvisor/"
_WAIT_SECONDS = 30.0
_TOKEN = "s3cret"
_GENERATED = re.compile(r"[0-9a-f]{32}")


def _sent_id(call: grpc.Call) -> str:
    """Return the request id the server sent the call, with its status (trailing metadata).

    Never in the initial metadata: gRPC commits a call once the server's headers arrive, and
    its client then retries none of its ``UNAVAILABLE`` answers.
    """
    assert not [k for k, _ in call.initial_metadata() or () if k == REQUEST_ID_METADATA_KEY]
    [request_id] = [v for k, v in call.trailing_metadata() or () if k == REQUEST_ID_METADATA_KEY]
    assert isinstance(request_id, str)
    return request_id


def _reason(call: grpc.Call) -> str:
    """Return the reason of the one ErrorInfo of the status ``call`` ended with (AIP-193)."""
    [info] = error_infos_of(rpc_status.from_call(call))
    assert info.domain == ERROR_DOMAIN
    return str(info.reason)


def _access_line(caplog: pytest.LogCaptureFixture, request_id: str) -> str:
    """Return the access line naming ``request_id``, waiting for it a while."""
    deadline = time.monotonic() + _WAIT_SECONDS
    while True:
        lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
        named = [line for line in lines if f" request-id={request_id}" in line]
        if named:
            [line] = named
            return line
        assert time.monotonic() < deadline, (request_id, lines)
        time.sleep(0.05)


@pytest.fixture
def advisor(
    serve: Callable[..., RunningServer],
) -> tuple[advisor_pb2_grpc.ArchitectureAdvisorStub, grpc.Channel]:
    """A token-guarded threads server's stub and its channel."""
    running = serve(workers=1, executor="threads", token=_TOKEN)
    channel = grpc.insecure_channel(running.address)
    return advisor_pb2_grpc.ArchitectureAdvisorStub(channel), channel


def test_every_answer_carries_the_id_its_access_line_names(
    advisor: tuple[advisor_pb2_grpc.ArchitectureAdvisorStub, grpc.Channel],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub, channel = advisor
    token = (bearer_metadata(_TOKEN),)
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    _, ok = stub.ListPresets.with_call(
        pb.ListPresetsRequest(), metadata=token, timeout=_WAIT_SECONDS
    )
    calls: list[grpc.Call] = [ok]
    bad = pb.RecommendRequest(task=small_task(), budget=quick_budget(max_parameters=-1))
    missing: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(f"{_ADVISOR}Missing")
    for refused in (
        lambda: stub.ListPresets(pb.ListPresetsRequest(), timeout=_WAIT_SECONDS),
        lambda: stub.Recommend(bad, metadata=token, timeout=_WAIT_SECONDS),
        lambda: missing(b"", metadata=token, timeout=_WAIT_SECONDS),
    ):
        with pytest.raises(grpc.RpcError) as failed:
            refused()
        calls.append(failed.value)  # type: ignore[arg-type]
    streamed = stub.StreamRecommend(
        pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget()), metadata=token
    )
    assert next(streamed).HasField("progress")
    streamed.cancel()  # the client gave up on its answer: no status, no id, only the line
    codes = []
    for call in calls:
        request_id = _sent_id(call)
        assert _GENERATED.fullmatch(request_id)
        codes.append(_access_line(caplog, request_id).split()[1])
    assert codes == ["OK", "UNAUTHENTICATED", "INVALID_ARGUMENT", "UNIMPLEMENTED"]
    # Each refusal says its cause as data too, the interceptors' own answers among them.
    assert [_reason(call) for call in calls[1:]] == [
        "TOKEN_MISSING",
        "INVALID_REQUEST",
        "METHOD_NOT_FOUND",
    ]
    assert len({_sent_id(call) for call in calls}) == len(calls)
    wait_until(
        lambda: any(f"{_ADVISOR}StreamRecommend CANCELLED " in line for line in _lines(caplog))
    )
    [cancelled] = [line for line in _lines(caplog) if " CANCELLED " in line]
    assert _GENERATED.fullmatch(cancelled.rpartition(" request-id=")[2])


def _versions(call: grpc.Call) -> dict[str, object]:
    """Return the server's versions ``call``'s answer sent, by key, checking it sent them last.

    In the trailing metadata, as the request id is, never in the initial metadata.
    """
    keys = (SERVER_VERSION_METADATA_KEY, RANKING_VERSION_METADATA_KEY)
    assert not [k for k, _ in call.initial_metadata() or () if k in keys]
    return {k: v for k, v in call.trailing_metadata() or () if k in keys}


def test_every_answer_carries_the_servers_versions(
    advisor: tuple[advisor_pb2_grpc.ArchitectureAdvisorStub, grpc.Channel],
    channel: grpc.Channel,
) -> None:
    stub, threads_channel = advisor
    token = (bearer_metadata(_TOKEN),)
    _, ok = stub.ListPresets.with_call(
        pb.ListPresetsRequest(), metadata=token, timeout=_WAIT_SECONDS
    )
    calls: list[grpc.Call] = [ok]
    bad = pb.RecommendRequest(task=small_task(), budget=quick_budget(max_parameters=-1))
    missing: grpc.UnaryUnaryMultiCallable[bytes, bytes] = threads_channel.unary_unary(
        f"{_ADVISOR}Missing"
    )
    # The interceptors' refusals, the servicer's, and one relayed from a worker process.
    for refused in (
        lambda: stub.ListPresets(pb.ListPresetsRequest(), timeout=_WAIT_SECONDS),
        lambda: stub.Recommend(bad, metadata=token, timeout=_WAIT_SECONDS),
        lambda: missing(b"", metadata=token, timeout=_WAIT_SECONDS),
        lambda: advisor_pb2_grpc.ArchitectureAdvisorStub(channel).Recommend(
            bad, timeout=_WAIT_SECONDS
        ),
    ):
        with pytest.raises(grpc.RpcError) as failed:
            refused()
        calls.append(failed.value)  # type: ignore[arg-type]
    expected = {
        SERVER_VERSION_METADATA_KEY: __version__,
        RANKING_VERSION_METADATA_KEY: str(RANKING_VERSION),
    }
    assert [_versions(call) for call in calls] == [expected] * len(calls)


def test_the_client_tells_the_version_of_the_server_that_answered(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1, executor="threads")
    answered = ServerVersion(__version__, RANKING_VERSION)
    # A unary result, a refusal (NOT_FOUND: no such search), a stream's result.
    calls: list[Callable[[AdvisorClient], object]] = [
        lambda client: client.list_presets(),
        lambda client: client.finish_search("no-such-search"),
        lambda client: list(client.stream_recommend(TASK, BUDGET)),
    ]
    for call in calls:
        with AdvisorClient(running.address) as client:
            assert client.server_version is None  # nothing answered yet
            call(client)
            assert client.server_version == answered


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]


def test_a_sane_incoming_id_is_the_calls_id(
    advisor: tuple[advisor_pb2_grpc.ArchitectureAdvisorStub, grpc.Channel],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub, _ = advisor
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    given = "ticket-4711/retry.2"
    _, call = stub.ListPresets.with_call(
        pb.ListPresetsRequest(),
        metadata=(bearer_metadata(_TOKEN), (INCOMING_REQUEST_ID_KEY, given)),
        timeout=_WAIT_SECONDS,
    )
    assert _sent_id(call) == given
    assert _access_line(caplog, given).startswith(f"{_ADVISOR}ListPresets OK ")


@pytest.mark.parametrize(
    "given",
    [
        [],
        ["a" * (MAX_REQUEST_ID_CHARS + 1)],
        ["two words"],
        ["forged\nline"],
        ["caf\u00e9"],
        [""],
        ["one", "two"],
    ],
)
def test_an_insane_incoming_id_is_replaced_by_a_new_one(given: list[str]) -> None:
    request_id = request_id_of([(INCOMING_REQUEST_ID_KEY, value) for value in given])
    assert _GENERATED.fullmatch(request_id)


def test_the_longest_incoming_id_is_honoured() -> None:
    longest = "a" * MAX_REQUEST_ID_CHARS
    assert request_id_of([("other", "x"), (INCOMING_REQUEST_ID_KEY, longest)]) == longest


def test_an_internal_error_reports_the_calls_own_id(
    advisor: tuple[advisor_pb2_grpc.ArchitectureAdvisorStub, grpc.Channel],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fails(*_: object) -> None:
        raise RuntimeError("a defect")

    monkeypatch.setattr(AdvisorServicer, "ListPresets", fails)
    stub, _ = advisor
    caplog.set_level(logging.INFO)
    with pytest.raises(grpc.RpcError) as failed:
        stub.ListPresets(
            pb.ListPresetsRequest(),
            metadata=(bearer_metadata(_TOKEN), (INCOMING_REQUEST_ID_KEY, "mine-1")),
            timeout=_WAIT_SECONDS,
        )
    error: grpc.Call = failed.value  # type: ignore[assignment]
    trailing = [v for k, v in error.trailing_metadata() or () if k == REQUEST_ID_METADATA_KEY]
    assert (_sent_id(error), trailing) == ("mine-1", ["mine-1"])
    assert error.details() == "internal error; request id mine-1"
    # The standard detail for it (AIP-193's RequestInfo), and nothing of the defect.
    [detail, _] = rpc_status.from_call(error).details
    info = error_details_pb2.RequestInfo()
    assert detail.Unpack(info)
    assert (info.request_id, info.serving_data) == ("mine-1", "")
    assert _reason(error) == "INTERNAL_ERROR"
    assert _access_line(caplog, "mine-1").startswith(f"{_ADVISOR}ListPresets INTERNAL ")
    assert any(r.getMessage() == "request mine-1 (ListPresets) failed" for r in caplog.records)


def test_the_katib_endpoint_gives_its_calls_ids_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    server = start_katib_server("127.0.0.1", 0, workers=1, access_log=True)
    refused = api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment(max_parameters="-1"))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            katib = api_pb2_grpc.SuggestionStub(channel)
            with pytest.raises(grpc.RpcError) as invalid:
                katib.ValidateAlgorithmSettings(
                    refused, metadata=((INCOMING_REQUEST_ID_KEY, "k-1"),), timeout=_WAIT_SECONDS
                )
            missing: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
                "/api.v1.beta1.Suggestion/Missing"
            )
            with pytest.raises(grpc.RpcError) as unknown:
                missing(b"", metadata=((INCOMING_REQUEST_ID_KEY, "k-2"),), timeout=_WAIT_SECONDS)
    finally:
        server.stop(0)
    assert _sent_id(invalid.value) == "k-1"  # type: ignore[arg-type]
    assert _reason(invalid.value) == "INVALID_REQUEST"  # type: ignore[arg-type]
    # The synchronous server's answer to a method it lacks: its ErrorInfo, and its id kept.
    assert _sent_id(unknown.value) == "k-2"  # type: ignore[arg-type]
    assert _reason(unknown.value) == "METHOD_NOT_FOUND"  # type: ignore[arg-type]
    line = _access_line(caplog, "k-1")
    assert line.startswith("/api.v1.beta1.Suggestion/ValidateAlgorithmSettings INVALID_ARGUMENT ")
