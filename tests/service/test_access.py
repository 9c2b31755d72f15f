"""The access log: one line per finished call, with the status the call really ended with.

Both servers log alike: the advisor's asyncio server and the Katib endpoint's synchronous one.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol._proto.advisor.v1 import advisor_pb2_grpc
from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.protocol.metadata import bearer_metadata
from advisor.service import searches as searches_module
from advisor.service.access import ACCESS_LOGGER
from advisor.service.katib_server import start_katib_server
from advisor.service.limits import MIN_MESSAGE_BYTES, RequestLimits
from advisor.service.logs import FIELDS, JsonFormatter
from advisor.service.server import RunningServer
from advisor.service.servicer import AdvisorServicer
from advisor.service.status import REQUEST_ID_METADATA_KEY
from tests.service.test_katib import experiment
from tests.support.workloads import LONG_TASK, long_budget, quick_budget, small_task

_ADVISOR = "/advisor.v1.ArchitectureAdvisor/"
_WAIT_SECONDS = 30.0  # for a line the server writes after the client has its answer
_TOKEN = "s3cret"
_LINE = re.compile(
    r"^(?P<method>\S+) (?P<code>[A-Z_]+) (?P<seconds>\d+\.\d{3}) s peer=(?P<peer>\S+)"
)


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER]


def _line_of(caplog: pytest.LogCaptureFixture, method: str, code: str) -> tuple[int, str]:
    """Return the access line of ``method`` ending with ``code``, waiting for it a while."""
    deadline = time.monotonic() + _WAIT_SECONDS
    while True:
        for level, message in _lines(caplog):
            match = _LINE.match(message)
            assert match is not None, message
            if match["method"] == method and match["code"] == code:
                return level, message
        assert time.monotonic() < deadline, (method, code, _lines(caplog))
        time.sleep(0.05)


_Stub = tuple[advisor_pb2_grpc.ArchitectureAdvisorStub, grpc.Channel]


@pytest.fixture
def stub_of(serve: Callable[..., RunningServer]) -> Iterator[Callable[..., _Stub]]:
    """A token-guarded threads server's stub and channel (closed after the test)."""
    channels: list[grpc.Channel] = []

    def stub(**settings: object) -> _Stub:
        running = serve(workers=2, executor="threads", token=_TOKEN, **settings)
        channel = grpc.insecure_channel(running.address)
        channels.append(channel)
        return advisor_pb2_grpc.ArchitectureAdvisorStub(channel), channel

    yield stub
    for channel in channels:
        channel.close()


def test_every_answer_is_logged_with_its_status(
    stub_of: Callable[..., _Stub],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub, _ = stub_of()
    token = (bearer_metadata(_TOKEN),)
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    stub.ListPresets(pb.ListPresetsRequest(), metadata=token, timeout=_WAIT_SECONDS)
    with pytest.raises(grpc.RpcError) as refused:
        stub.ListPresets(pb.ListPresetsRequest(), timeout=_WAIT_SECONDS)
    bad = pb.RecommendRequest(task=small_task(), budget=quick_budget(max_parameters=-1))
    with pytest.raises(grpc.RpcError) as invalid:
        stub.Recommend(bad, metadata=token, timeout=_WAIT_SECONDS)
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    for code in ("OK", "UNAUTHENTICATED"):
        level, message = _line_of(caplog, f"{_ADVISOR}ListPresets", code)
        assert level == logging.INFO
        assert _LINE.match(message)["peer"].startswith("ipv4:127.0.0.1:")  # type: ignore[index]
    _line_of(caplog, f"{_ADVISOR}Recommend", "INVALID_ARGUMENT")
    assert len(_lines(caplog)) == 3


def test_a_call_of_a_method_the_server_lacks_is_logged_unimplemented(
    stub_of: Callable[..., _Stub],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # gRPC answered it itself, after every interceptor had passed it on: a newer client's call
    # of an RPC this server does not have left no line at all.
    _, channel = stub_of()
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    missing: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(f"{_ADVISOR}Missing")
    with pytest.raises(grpc.RpcError) as failed:
        missing(b"", metadata=(bearer_metadata(_TOKEN),), timeout=_WAIT_SECONDS)
    assert failed.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert failed.value.details() == "Method not found!"  # gRPC's own answer, as before
    level, _ = _line_of(caplog, f"{_ADVISOR}Missing", "UNIMPLEMENTED")
    assert level == logging.INFO


def test_an_internal_error_line_names_the_request_id_the_client_got(
    stub_of: Callable[..., _Stub],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fails(*_: object) -> None:
        raise RuntimeError("a defect")

    monkeypatch.setattr(AdvisorServicer, "ListPresets", fails)
    stub, _ = stub_of()
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    with pytest.raises(grpc.RpcError) as failed:
        stub.ListPresets(
            pb.ListPresetsRequest(), metadata=(bearer_metadata(_TOKEN),), timeout=_WAIT_SECONDS
        )
    assert failed.value.code() is grpc.StatusCode.INTERNAL
    assert isinstance(failed.value, grpc.Call)  # its stub has the (key, value) pairs RpcError lacks
    metadata = failed.value.trailing_metadata()
    [request_id] = [value for key, value in metadata if key == REQUEST_ID_METADATA_KEY]
    _, message = _line_of(caplog, f"{_ADVISOR}ListPresets", "INTERNAL")
    assert message.endswith(f" request-id={request_id}")


def test_a_cancelled_stream_is_logged_cancelled(
    stub_of: Callable[..., _Stub],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub, _ = stub_of()
    request = pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget())
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    call = stub.StreamRecommend(request, metadata=(bearer_metadata(_TOKEN),))
    assert next(call).HasField("progress")
    call.cancel()
    _line_of(caplog, f"{_ADVISOR}StreamRecommend", "CANCELLED")


def test_a_response_over_the_message_limit_is_logged_as_the_status_the_client_got(
    serve: Callable[..., RunningServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # ListPresets answers about 8 kB. gRPC refused to send it only after the handler had
    # returned: the client got RESOURCE_EXHAUSTED, the access line read OK, and the server's
    # log held a traceback of gRPC's failed batch.
    running = serve(
        workers=1, executor="threads", limits=RequestLimits(max_message_bytes=MIN_MESSAGE_BYTES)
    )
    caplog.set_level(logging.INFO)
    with (
        grpc.insecure_channel(running.address) as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        advisor_pb2_grpc.ArchitectureAdvisorStub(channel).ListPresets(
            pb.ListPresetsRequest(), timeout=_WAIT_SECONDS
        )
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (refused.value.details() or "").endswith(
        f" bytes, over this server's limit of {MIN_MESSAGE_BYTES:,} (max_message_bytes)"
    )
    deadline = time.monotonic() + _WAIT_SECONDS
    while not (lines := _lines(caplog)):
        assert time.monotonic() < deadline, "no access line"
        time.sleep(0.05)
    [(_, message)] = lines
    assert _LINE.match(message)["code"] == "RESOURCE_EXHAUSTED", message  # type: ignore[index]
    assert "ExecuteBatchError" not in caplog.text


def test_a_request_over_the_message_limit_is_logged_cancelled_not_invalid(
    serve: Callable[..., RunningServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # gRPC refuses the message before the server reads it (its client sees RESOURCE_EXHAUSTED)
    # and cancels the call; the server saw the requests end without a message and answered
    # INVALID_ARGUMENT "the call sent no request", which went nowhere but into this log.
    running = serve(
        workers=1, executor="threads", limits=RequestLimits(max_message_bytes=MIN_MESSAGE_BYTES)
    )
    task = pb.Task(
        input=pb.InputSpec(shape=[64, 64]),
        correlations=[
            pb.Correlation(name="c", a=pb.Region(indices=pb.IndexList(values=range(4096))))
        ],
    )
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    with (
        grpc.insecure_channel(running.address) as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        advisor_pb2_grpc.ArchitectureAdvisorStub(channel).Recommend(
            pb.RecommendRequest(task=task, budget=quick_budget()), timeout=_WAIT_SECONDS
        )
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    deadline = time.monotonic() + _WAIT_SECONDS
    while not (lines := _lines(caplog)):
        assert time.monotonic() < deadline, "no access line"
        time.sleep(0.05)
    [(_, message)] = lines
    assert _LINE.match(message)["code"] == "CANCELLED", message  # type: ignore[index]


def test_health_is_logged_at_debug_only(
    stub_of: Callable[..., _Stub],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, channel = stub_of()
    health = health_pb2_grpc.HealthStub(channel)
    check = health_pb2.HealthCheckRequest(service="")
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    health.Check(check, timeout=_WAIT_SECONDS)
    assert _lines(caplog) == []
    caplog.set_level(logging.DEBUG, logger=ACCESS_LOGGER)
    health.Check(check, timeout=_WAIT_SECONDS)
    level, _ = _line_of(caplog, "/grpc.health.v1.Health/Check", "OK")
    assert level == logging.DEBUG


def test_a_watch_its_client_s_deadline_ended_is_logged_deadline_exceeded(
    stub_of: Callable[..., _Stub],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Its client gets DEADLINE_EXCEEDED; the server's line read CANCELLED in a third of the
    # calls, the client's timer firing a few milliseconds before the server's deadline.
    _, channel = stub_of()
    health = health_pb2_grpc.HealthStub(channel)
    caplog.set_level(logging.DEBUG, logger=ACCESS_LOGGER)
    calls = 4
    for _ in range(calls):
        with pytest.raises(grpc.RpcError) as ended:
            for _ in health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=0.5):
                pass
        assert ended.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    deadline = time.monotonic() + _WAIT_SECONDS
    while len(_lines(caplog)) < calls:
        assert time.monotonic() < deadline, _lines(caplog)
        time.sleep(0.05)
    codes = [_LINE.match(message)["code"] for _, message in _lines(caplog)]  # type: ignore[index]
    assert codes == ["DEADLINE_EXCEEDED"] * calls


def test_the_access_log_can_be_turned_off(
    stub_of: Callable[..., _Stub],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub, _ = stub_of(access_log=False)
    caplog.set_level(logging.DEBUG, logger=ACCESS_LOGGER)
    stub.ListPresets(
        pb.ListPresetsRequest(), metadata=(bearer_metadata(_TOKEN),), timeout=_WAIT_SECONDS
    )
    assert _lines(caplog) == []


@pytest.mark.parametrize("access_log", [True, False])
def test_the_katib_endpoint_logs_its_calls_alike(
    access_log: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=ACCESS_LOGGER)
    server = start_katib_server("127.0.0.1", 0, workers=1, access_log=access_log)
    refused = api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment(max_parameters="-1"))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            katib = api_pb2_grpc.SuggestionStub(channel)
            with pytest.raises(grpc.RpcError) as invalid:
                katib.ValidateAlgorithmSettings(refused, timeout=_WAIT_SECONDS)
            health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=_WAIT_SECONDS
            )
            missing: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
                "/api.v1.beta1.Suggestion/Missing"
            )
            with pytest.raises(grpc.RpcError) as unknown:
                missing(b"", timeout=_WAIT_SECONDS)
    finally:
        server.stop(0)
    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert unknown.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert unknown.value.details() == "Method not found!"
    if not access_log:
        assert _lines(caplog) == []
        return
    level, _ = _line_of(
        caplog, "/api.v1.beta1.Suggestion/ValidateAlgorithmSettings", "INVALID_ARGUMENT"
    )
    assert level == logging.INFO
    level, _ = _line_of(caplog, "/grpc.health.v1.Health/Check", "OK")
    assert level == logging.DEBUG
    level, _ = _line_of(caplog, "/api.v1.beta1.Suggestion/Missing", "UNIMPLEMENTED")
    assert level == logging.INFO


def test_a_named_search_and_its_finish_are_logged_with_its_name(
    stub_of: Callable[..., _Stub], caplog: pytest.LogCaptureFixture
) -> None:
    # A search FinishSearch ended was told from one its time limit ended by nothing in the log.
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    stub, _ = stub_of()
    metadata = (bearer_metadata(_TOKEN),)
    request = pb.RecommendRequest(task=small_task(), budget=quick_budget(), search_id="trial-7")
    stub.Recommend(request, timeout=_WAIT_SECONDS, metadata=metadata)
    with pytest.raises(grpc.RpcError):  # answered already: no search of the name runs
        stub.FinishSearch(pb.FinishSearchRequest(search_id="trial-7"), metadata=metadata)
    with pytest.raises(grpc.RpcError):  # no name: refused, and nothing quoted
        stub.FinishSearch(pb.FinishSearchRequest(search_id="a\nb"), metadata=metadata)
    _, searched = _line_of(caplog, f"{_ADVISOR}Recommend", "OK")
    assert searched.endswith(" search-id=trial-7")
    _, finished = _line_of(caplog, f"{_ADVISOR}FinishSearch", "NOT_FOUND")
    assert finished.endswith(" search-id=trial-7")
    _, refused = _line_of(caplog, f"{_ADVISOR}FinishSearch", "INVALID_ARGUMENT")
    assert "search-id" not in refused and "\n" not in refused
    stub.ListPresets(pb.ListPresetsRequest(), timeout=_WAIT_SECONDS, metadata=metadata)
    _, listed = _line_of(caplog, f"{_ADVISOR}ListPresets", "OK")
    assert "search-id" not in listed


def test_a_search_request_is_read_for_its_name_once(
    stub_of: Callable[..., _Stub],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The access log parsed each search request for its name and the handler parsed it again,
    # on the event loop (about 0.5 ms for a 3 MB request): the line now takes the handler's.
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    parses: list[int] = []
    name_only = searches_module._NAME_ONLY

    class Counted:
        @staticmethod
        def FromString(payload: bytes) -> object:  # noqa: N802 - protobuf's name
            parses.append(len(payload))
            return name_only.FromString(payload)

    monkeypatch.setattr(searches_module, "_NAME_ONLY", Counted)
    stub, _ = stub_of()
    request = pb.RecommendRequest(task=small_task(), budget=quick_budget(), search_id="trial-8")
    stub.Recommend(request, timeout=_WAIT_SECONDS, metadata=(bearer_metadata(_TOKEN),))
    _, searched = _line_of(caplog, f"{_ADVISOR}Recommend", "OK")
    assert searched.endswith(" search-id=trial-8")
    assert len(parses) == 1


def _katib_refusal(caplog: pytest.LogCaptureFixture, task: object) -> tuple[str, list[str]]:
    """Return the Katib endpoint's access line refusing an experiment of ``task``, and its fields.

    Each unknown key of the experiment's task document is a refused field path, as written; the
    fields are the JSON log's ``fields`` of the line.
    """
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    document = base64.b64encode(json.dumps(task).encode()).decode()
    request = api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment(task=document))
    server = start_katib_server("127.0.0.1", 0, workers=1, access_log=True)
    try:
        with (
            grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel,
            pytest.raises(grpc.RpcError),
        ):
            api_pb2_grpc.SuggestionStub(channel).ValidateAlgorithmSettings(
                request, timeout=_WAIT_SECONDS
            )
    finally:
        server.stop(0)
    _, message = _line_of(
        caplog, "/api.v1.beta1.Suggestion/ValidateAlgorithmSettings", "INVALID_ARGUMENT"
    )
    [record] = [r for r in caplog.records if r.getMessage() == message]
    fields = json.loads(JsonFormatter().format(record))["fields"]
    assert isinstance(fields, list)
    return message, fields


def test_a_refused_field_a_caller_named_is_escaped_on_the_katib_endpoints_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A newline in a refused key wrote a line of the experiment author's making after the
    # access line, a space a field of the author's own.
    key = "x\nERROR forged request-id=k-9"
    message, fields = _katib_refusal(caplog, {key: 1})
    [refused] = [field for field in fields if field.endswith(key)]
    assert re.fullmatch(r"[\x20-\x7e]+", message), message
    assert message.count(" request-id=") == 1
    assert r"x\x0aERROR\x20forged\x20request-id=k-9" in message
    assert refused.endswith(key)  # the JSON log's field holds it as the detail names it


def test_a_refused_field_with_a_comma_is_one_field_on_the_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The line lists the refused fields comma-separated: two keys "a,b" and "c" read as
    # three fields "a", "b" and "c".
    message, fields = _katib_refusal(caplog, {"a,b": 1, "c": 1})
    assert len(fields) == 2 and any(field.endswith("a,b") for field in fields), fields
    listed = message.rpartition(" fields=")[2].split(",")
    assert [field.replace(r"\x2c", ",") for field in listed] == fields


def test_an_invalid_argument_line_names_the_refused_fields(
    stub_of: Callable[..., _Stub],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub, channel = stub_of()
    token = (bearer_metadata(_TOKEN),)
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    bad = pb.RecommendRequest(
        task=small_task(), budget=quick_budget(max_parameters=-1, max_depth=-1)
    )
    with pytest.raises(grpc.RpcError):
        stub.Recommend(bad, metadata=token, timeout=_WAIT_SECONDS)
    _, message = _line_of(caplog, f"{_ADVISOR}Recommend", "INVALID_ARGUMENT")
    [record] = [r for r in caplog.records if r.getMessage() == message]
    refused = getattr(record, FIELDS)["fields"]
    assert sorted(refused) == ["budget.max_depth", "budget.max_parameters"]
    assert message.endswith(f" fields={','.join(refused)}")
    garbage: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(f"{_ADVISOR}Analyze")
    with pytest.raises(grpc.RpcError):
        garbage(b"\xff\xff\xff", metadata=token, timeout=_WAIT_SECONDS)
    _, message = _line_of(caplog, f"{_ADVISOR}Analyze", "INVALID_ARGUMENT")
    assert message.endswith(" fields=(request)")
    stub.ListPresets(pb.ListPresetsRequest(), metadata=token, timeout=_WAIT_SECONDS)
    _, message = _line_of(caplog, f"{_ADVISOR}ListPresets", "OK")
    assert " fields=" not in message
