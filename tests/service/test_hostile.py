"""What an attacker tries: half-open calls, piles of calls, oversized echoes and answers.

Each test reproduces one way a client could starve or freeze the server, or make it answer with
the wrong status, and checks the server's deliberate answer. Probes use generous deadlines: on a
loaded machine they only fail when the server does not answer at all.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from advisor.errors import FieldViolation, InvalidRequestError, fitting_violations
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol.metadata import bearer_metadata
from advisor.service.auth import RefusalLog
from advisor.service.server import RunningServer
from advisor.service.status import bad_request_status
from tests.support.harness import Advisor, CallError, LiveAdvisor, error_infos_of
from tests.support.workloads import quick_budget

SERVING = health_pb2.HealthCheckResponse.SERVING
# A default client refuses trailing metadata over this many bytes (grpc.max_metadata_size).
_DEFAULT_CLIENT_METADATA_BYTES = 8192
_PROBE_TIMEOUT = 10.0


@contextmanager
def _half_open_calls(
    channel: grpc.Channel,
    method: str,
    count: int,
    metadata: tuple[tuple[str, str], ...] = (),
) -> Iterator[list[grpc.Future[bytes]]]:
    """Start ``count`` calls of ``method`` whose request message never arrives (no deadline).

    Each is a client-streaming call whose request iterator blocks until the block ends.
    """
    release = threading.Event()

    def never_sent() -> Iterator[bytes]:
        release.wait()
        return
        yield  # a generator that yields nothing, once released

    call: grpc.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(
        method, request_serializer=None, response_deserializer=None
    )
    futures: list[grpc.Future[bytes]] = [
        call.future(never_sent(), metadata=metadata) for _ in range(count)
    ]
    try:
        yield futures
    finally:
        release.set()
        for future in futures:
            future.cancel()


def _health(channel: grpc.Channel) -> int:
    request = health_pb2.HealthCheckRequest()
    status: int = health_pb2_grpc.HealthStub(channel).Check(request, timeout=_PROBE_TIMEOUT).status
    return status


def _presets(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = ()) -> int:
    response = LiveAdvisor(channel, metadata).unary(
        "ListPresets", pb.ListPresetsRequest(), timeout=_PROBE_TIMEOUT
    )
    return len(response.presets)


# ---------------------------------------------------------------------------------------------
# Half-open calls and piles of calls


def test_half_open_health_checks_starve_neither_health_nor_advisor_calls(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1)
    with (
        grpc.insecure_channel(running.address) as channel,
        _half_open_calls(channel, "/grpc.health.v1.Health/Check", 12),
    ):
        assert _health(channel) == SERVING
        assert _presets(channel) > 0


def test_health_is_answered_however_many_advisor_calls_are_open(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1)
    with (
        grpc.insecure_channel(running.address) as channel,
        _half_open_calls(channel, "/advisor.v1.ArchitectureAdvisor/ListPresets", 40),
    ):
        assert _health(channel) == SERVING
        assert _presets(channel) > 0


def test_calls_without_the_token_are_refused_before_their_message_arrives(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1, token="s3cret")
    with (
        grpc.insecure_channel(running.address) as channel,
        _half_open_calls(channel, "/advisor.v1.ArchitectureAdvisor/Recommend", 12) as calls,
    ):
        for call in calls:
            refused = call.exception(_PROBE_TIMEOUT)
            assert isinstance(refused, grpc.Call)
            assert refused.code() is grpc.StatusCode.UNAUTHENTICATED
        assert _presets(channel, (bearer_metadata("s3cret"),)) > 0


def test_a_request_message_that_never_arrives_ends_the_call(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1, request_read_seconds=0.2)
    with (
        grpc.insecure_channel(running.address) as channel,
        _half_open_calls(channel, "/advisor.v1.ArchitectureAdvisor/Analyze", 1) as [call],
    ):
        error = call.exception(_PROBE_TIMEOUT)
    assert isinstance(error, grpc.Call)
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "did not arrive within 0.2 s" in error.details()
    # The server's bound, not the caller's deadline, as data (AIP-193): a longer deadline
    # meets the same bound, a message sent sooner does not.
    [info] = error_infos_of(rpc_status.from_call(error))
    assert (info.reason, info.domain) == ("REQUEST_READ_TIMEOUT", "advisor.v1")
    assert dict(info.metadata) == {"request_read_seconds": "0.2"}


def test_a_call_that_ends_its_requests_without_a_message_is_told_so(
    serve: Callable[..., RunningServer],
) -> None:
    # The answer waits for the read bound: the same end of the requests is also what a failed
    # receive looks like, which gRPC cancels instead (see test_access.py).
    running = serve(workers=1, request_read_seconds=0.2)
    with grpc.insecure_channel(running.address) as channel:
        analyze: grpc.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(
            "/advisor.v1.ArchitectureAdvisor/Analyze",
            request_serializer=None,
            response_deserializer=None,
        )
        with pytest.raises(grpc.RpcError) as failure:
            analyze(iter(()), timeout=_PROBE_TIMEOUT)
    error = failure.value
    assert isinstance(error, grpc.Call)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "the call sent no complete request message"
    [info] = error_infos_of(rpc_status.from_call(error))  # no field to name: a cause of its own
    assert (info.reason, info.domain) == ("REQUEST_MISSING", "advisor.v1")
    assert running.in_flight == 0


def test_refused_calls_are_logged_at_most_once_per_interval(
    serve: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    running = serve(workers=1, token="s3cret")
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="advisor.service.auth"),
        grpc.insecure_channel(running.address) as channel,
    ):
        for _ in range(30):
            with pytest.raises(CallError) as refused:
                _presets(channel)
            assert refused.value.code is grpc.StatusCode.UNAUTHENTICATED
    intervals = 1 + int((time.monotonic() - started) // 10)  # a line per 10 s at most
    lines = [record for record in caplog.records if record.name == "advisor.service.auth"]
    assert 1 <= len(lines) <= intervals


def test_the_refusal_log_counts_what_it_does_not_write(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = RefusalLog(interval_seconds=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="advisor.service.auth"):
        for second in range(25):  # one refusal per second: lines at 0, 10 and 20 s
            now[0] = float(second)
            log.refused("/m")
    assert [record.args[0] for record in caplog.records] == [1, 10, 10]  # type: ignore[index]
    # The four after the last line (21-24 s) were reported by no later refusal: flush does.
    log.flush()
    log.flush()  # nothing more to report
    assert [record.args[0] for record in caplog.records] == [1, 10, 10, 4]  # type: ignore[index]


def test_the_refusals_after_the_last_line_are_logged_when_the_server_stops(
    serve: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    # A burst of refused calls within the interval was reported only by a later refusal, so a
    # server stopping after one logged the first call and lost the count of the rest.
    running = serve(workers=1, token="s3cret")
    with (
        caplog.at_level(logging.WARNING, logger="advisor.service.auth"),
        grpc.insecure_channel(running.address) as channel,
    ):
        for _ in range(5):
            with pytest.raises(CallError):
                _presets(channel)
        running.stop(grace=0)
    lines = [record for record in caplog.records if record.name == "advisor.service.auth"]
    counts = [record.args[0] for record in lines if isinstance(record.args, tuple)]
    assert sum(int(str(count)) for count in counts) == 5, counts


# ---------------------------------------------------------------------------------------------
# Fields that scale the work or the answer


def _one_d_task(steps: int) -> pb.Task:
    return pb.Task(input=pb.InputSpec(shape=[steps]), preset="local")


def _refused_fields(advisor: Advisor, method: str, request: object) -> list[str]:
    with pytest.raises(CallError) as refused:
        advisor.unary(method, request, timeout=60)  # type: ignore[arg-type]
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    return [field for field, _ in refused.value.violations]


def test_a_negative_seed_is_refused_naming_it(advisor: Advisor) -> None:
    budget = pb.Budget(max_parameters=200_000, seed=-1, time_limit_seconds=5.0)
    request = pb.RecommendRequest(task=_one_d_task(128), budget=budget)
    assert _refused_fields(advisor, "Recommend", request) == ["budget.seed"]


def test_a_huge_representation_kernel_is_refused_naming_it(advisor: Advisor) -> None:
    budget = pb.Budget(max_parameters=200_000, representation_kernel=2**31 - 1)
    request = pb.RecommendRequest(task=_one_d_task(64), budget=budget)
    assert _refused_fields(advisor, "Recommend", request) == ["budget.representation_kernel"]
    architecture = pb.Architecture(
        input=pb.InputSpec(shape=[64]),
        representation=2,
        layers=[pb.Layer(channels=2, pool=[64])],
        representation_kernel=2**31 - 1,
    )
    analysis = pb.AnalyzeRequest(task=_one_d_task(64), architecture=architecture)
    assert _refused_fields(advisor, "Analyze", analysis) == ["architecture.representation_kernel"]


def test_long_names_are_refused_before_they_are_copied_into_answers(advisor: Advisor) -> None:
    task = pb.Task(
        input=pb.InputSpec(shape=[16, 16]),
        correlations=[
            pb.Correlation(name=f"{i}" * 15_000, a=pb.Region(preset="left_half")) for i in range(3)
        ],
    )
    request = pb.RecommendRequest(task=task, budget=quick_budget())
    assert _refused_fields(advisor, "Recommend", request) == [
        f"task.correlations[{i}].name" for i in range(3)
    ]


# ---------------------------------------------------------------------------------------------
# Error answers that must fit a default client


def test_an_echoed_name_of_any_length_still_answers_invalid_argument(advisor: Advisor) -> None:
    task = pb.Task(input=pb.InputSpec(shape=[8, 8]), preset="p" * 5000)
    request = pb.RecommendRequest(task=task, budget=quick_budget())
    assert _refused_fields(advisor, "Recommend", request) == ["task.preset"]


def test_hundreds_of_violations_still_answer_invalid_argument_saying_how_many_were_left_out(
    advisor: Advisor,
) -> None:
    task = pb.Task(
        input=pb.InputSpec(shape=[8, 8]),
        correlations=[
            pb.Correlation(name=f"c{i}", a=pb.Region(indices=pb.IndexList(values=[64 + i])))
            for i in range(256)
        ],
    )
    with pytest.raises(CallError) as refused:
        advisor.unary("Recommend", pb.RecommendRequest(task=task, budget=quick_budget()))
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    *named, (last_field, last) = refused.value.violations
    assert named and all(field.startswith("task.correlations[") for field, _ in named)
    assert last_field == ""
    assert last == f"{256 - len(named)} more violations left out"


def test_an_error_answer_always_fits_a_default_clients_metadata_limit() -> None:
    violations = [FieldViolation("f" * 300 + f"[{i}]", "d\u00e9" * 500) for i in range(1000)]
    status = bad_request_status(InvalidRequestError(violations))
    # What travels: the percent-encoded message and the base64 detail (4 bytes per 3).
    message_bytes = 3 * len(status.details.encode())
    detail_bytes = sum(4 * (len(value) + 2) // 3 for _, value in status.trailing_metadata)
    assert message_bytes + detail_bytes < _DEFAULT_CLIENT_METADATA_BYTES
    kept = fitting_violations(violations)
    assert kept[-1] == FieldViolation("", f"{1000 - (len(kept) - 1)} more violations left out")
    first = kept[0]
    assert first.description.endswith("(600 more characters left out)")
    assert violations[0].description.startswith(first.description.partition("...")[0])


def test_one_violation_left_out_is_counted_in_the_singular() -> None:
    # "1 more violation(s) left out": the count is said as every other message says one.
    violations = [FieldViolation("f", "d" * 100)] * 11  # 101 bytes each: 10 fit in 1 KiB
    kept = fitting_violations(violations)
    assert kept == [*violations[:10], FieldViolation("", "1 more violation left out")]


def test_the_refusals_after_a_line_are_logged_when_its_interval_is_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A burst of 1,000 refused calls within 10 s was logged "refused 1 call(s)" and the other
    # 999 stayed unreported until another refusal came, minutes later or at the server's stop.
    now = [0.0]
    scheduled: list[tuple[float, Callable[[], None]]] = []
    log = RefusalLog(
        interval_seconds=10.0,
        clock=lambda: now[0],
        schedule=lambda delay, report: scheduled.append((delay, report)),
    )
    with caplog.at_level(logging.WARNING, logger="advisor.service.auth"):
        for second in (0.0, 1.0, 2.0, 3.0):
            now[0] = second
            log.refused("/m")
        assert [record.args[0] for record in caplog.records] == [1]  # type: ignore[index]
        [(delay, report)] = scheduled  # one report for the interval, however many refusals
        assert delay == 9.0
        now[0] = 10.0
        report()
        log.flush()  # nothing more to report
    assert [record.args[0] for record in caplog.records] == [1, 3]  # type: ignore[index]


def test_a_method_path_forges_no_log_line_and_no_field(
    serve: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    # A caller without the token chooses the method path, which the access line and the
    # refusal line quoted as sent: a newline wrote a line of its own, a space a field.
    running = serve(workers=1, token="s3cret")
    paths = {
        "/advisor.v1.ArchitectureAdvisor/X\nERROR forged": r"/X\x0aERROR\x20forged",
        "/a peer=x request-id=forged": r"/a\x20peer=x\x20request-id=forged",
        "/a\x1b[31m\\": r"/a\x1b[31m\x5c",
        "/advisor.v1.ArchitectureAdvisor/Recomm\u0435nd": r"/Recomm\u0435nd",  # a Cyrillic e
    }
    with (
        caplog.at_level(logging.INFO),
        grpc.insecure_channel(running.address) as channel,
    ):
        for path in paths:
            call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path)
            with pytest.raises(grpc.RpcError):
                call(b"", timeout=_PROBE_TIMEOUT)
        running.stop(grace=0)  # the refusal line of the calls after the first
    lines = [
        record.getMessage()
        for record in caplog.records
        if record.name in ("advisor.access", "advisor.service.auth")
    ]
    access = [line for line in lines if " UNAUTHENTICATED " in line]
    assert len(access) == len(paths), lines
    for line in lines:
        assert re.fullmatch(r"[\x20-\x7e]+", line), line
    for line, escaped in zip(access, paths.values(), strict=True):
        assert escaped in line and line.count(" request-id=") == 1, line
