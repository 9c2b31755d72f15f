"""Error mapping: every exception becomes a deliberate status, never a traceback."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from advisor.errors import (
    FieldViolation,
    InvalidRequestError,
    LimitExceededError,
    RefusedLimit,
    SearchFinishedError,
    StalePageTokenError,
    StoppedError,
    fitting_violations,
)
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.protocol.metadata import ERROR_DOMAIN
from advisor.service.admission import NotServingError, SaturatedError, ShuttingDownError
from advisor.service.calls import aborted_for, ended_before_work, oversized
from advisor.service.status import (
    CLIENT_AHEAD_SECONDS,
    REQUEST_ID_METADATA_KEY,
    ServerTimeBoundError,
    abort_for,
    as_aborted,
    bad_request_status,
    ended_status,
    memory_status,
    search_status,
    stream_errors,
    unary_errors,
)
from advisor.service.threads import CallAbortedError, ThreadContext
from tests.support.harness import call_error_of


def test_bad_request_status_lists_every_violation() -> None:
    error = InvalidRequestError(
        [FieldViolation("task.input.shape", "must be positive"), FieldViolation("budget", "x")]
    )
    status = bad_request_status(error)
    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    [(key, value)] = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    rich = status_pb2.Status.FromString(value)
    assert rich.code == code_pb2.INVALID_ARGUMENT
    [detail, _] = rich.details  # and its ErrorInfo, INVALID_REQUEST (below)
    bad_request = error_details_pb2.BadRequest()
    assert detail.Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("task.input.shape", "must be positive"),
        ("budget", "x"),
    ]


def test_a_refusal_of_limits_adds_an_error_info_of_the_values_that_admit_the_request() -> None:
    # Two fields over max_locations need the larger; the text of each value is what --limit
    # and a config file read (a whole float without its ".0").
    violations = [
        FieldViolation("task.input.shape", "big", limit=RefusedLimit("max_locations", 16, 50)),
        FieldViolation("task.arrangement", "long", limit=RefusedLimit("max_locations", 16, 20)),
        FieldViolation("budget.time_limit_seconds", "t", limit=_seconds(7200.0)),
    ]
    rich = status_pb2.Status.FromString(
        dict(bad_request_status(LimitExceededError(violations)).trailing_metadata)[
            "grpc-status-details-bin"
        ]
    )
    bad_request, info = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
    assert rich.details[0].Unpack(bad_request) and len(bad_request.field_violations) == 3
    assert rich.details[1].Unpack(info) and len(rich.details) == 2
    assert (info.reason, info.domain) == ("LIMIT_EXCEEDED", "advisor.v1")
    assert dict(info.metadata) == {"max_locations": "50", "max_time_limit_seconds": "7200"}


def test_a_refusal_no_raise_of_its_limits_admits_is_an_invalid_request() -> None:
    # The seed is wrong whatever the limits: LIMIT_EXCEEDED promised that raising max_top_k
    # admits the request, and a caller that raised it was refused again.
    violations = [
        FieldViolation("budget.top_k", "big", limit=RefusedLimit("max_top_k", 4, 60)),
        FieldViolation("budget.seed", "is negative"),
    ]
    rich = status_pb2.Status.FromString(
        dict(bad_request_status(LimitExceededError(violations)).trailing_metadata)[
            "grpc-status-details-bin"
        ]
    )
    info = error_details_pb2.ErrorInfo()
    assert rich.details[1].Unpack(info)
    assert (info.reason, dict(info.metadata)) == ("INVALID_REQUEST", {})


def _seconds(needed: float) -> RefusedLimit:
    return RefusedLimit("max_time_limit_seconds", 60.0, needed)


def test_a_limit_survives_the_cut_of_its_violation_and_its_placing() -> None:
    refused = RefusedLimit("max_name_chars", 256, 5000)
    violation = FieldViolation("name", "x" * 5000, limit=refused)
    [cut] = fitting_violations([violation.prefixed("task")])
    assert cut.field == "task.name" and cut.limit == refused


def test_a_violation_naming_an_undecodable_file_is_cut_as_any_other() -> None:
    # Python reads a byte the file system's encoding does not decode as a lone surrogate: the
    # strict size count of such a name failed with UnicodeEncodeError, the refusal untold.
    name = os.fsdecode(b"caf\xe9.yaml")
    violation = FieldViolation("rank", f"{name} holds the ranks [1, 2]")
    assert fitting_violations([violation]) == [violation]


@pytest.mark.parametrize(
    ("needed", "text"), [(60, "60"), (120.5, "120.5"), (7200.0, "7200"), (1e20, "1e+20")]
)
def test_the_value_that_admits_a_request_reads_back_as_it(needed: float, text: str) -> None:
    refused = _seconds(needed)
    assert refused.needed_text == text
    assert float(refused.needed_text) == needed


class _Servicer:
    def __init__(self, error: Exception) -> None:
        self.error = error

    @unary_errors
    def unary(self, request: int, context: ThreadContext) -> int:
        raise self.error

    @stream_errors
    def stream(self, request: int, context: ThreadContext) -> Iterator[int]:
        yield request
        raise self.error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidRequestError.single("task", "bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (LimitExceededError.single("task.input.shape", "big"), grpc.StatusCode.INVALID_ARGUMENT),
        (SaturatedError("busy"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (ShuttingDownError("bye"), grpc.StatusCode.UNAVAILABLE),
        (ZeroDivisionError("secret detail"), grpc.StatusCode.INTERNAL),
    ],
)
def test_each_error_maps_to_its_status(error: Exception, code: grpc.StatusCode) -> None:
    servicer = _Servicer(error)
    with pytest.raises(CallAbortedError) as unary:
        servicer.unary(1, ThreadContext())
    assert unary.value.code is code
    context = ThreadContext()
    stream = servicer.stream(7, context)
    assert next(stream) == 7
    with pytest.raises(CallAbortedError) as streamed:
        next(stream)
    assert streamed.value.code is code


@pytest.mark.parametrize(
    ("timeout", "ended", "code"),
    [
        (60.0, False, grpc.StatusCode.DEADLINE_EXCEEDED),  # it could not finish in time
        (60.0, True, grpc.StatusCode.CANCELLED),  # the client cancelled it
        (0.0, False, grpc.StatusCode.DEADLINE_EXCEEDED),  # its deadline passed
        (0.0, True, grpc.StatusCode.DEADLINE_EXCEEDED),  # ... and gRPC ended the call for it
        (None, True, grpc.StatusCode.CANCELLED),  # no deadline: only a cancel ends it
    ],
)
def test_a_stopped_call_is_deadline_exceeded_unless_the_client_cancelled_it(
    timeout: float | None, ended: bool, code: grpc.StatusCode
) -> None:
    # The server may notice a deadline before the client's own timer fires: its status then
    # reaches the client first and must be the one the client's timer would have given.
    context = ThreadContext(timeout)
    if ended:
        context.end()
    with pytest.raises(CallAbortedError) as stopped:
        _Servicer(StoppedError("stopped")).unary(1, context)
    assert stopped.value.code is code


def test_a_call_ended_just_before_the_server_s_deadline_ended_at_the_client_s() -> None:
    # The client's deadline comes first, by the request's way there: a Watch its client's
    # deadline ended read 6-8 ms short of the server's, and was logged CANCELLED.
    assert ended_status(0.007) is grpc.StatusCode.DEADLINE_EXCEEDED
    assert ended_status(0.0) is grpc.StatusCode.DEADLINE_EXCEEDED
    assert ended_status(CLIENT_AHEAD_SECONDS) is grpc.StatusCode.DEADLINE_EXCEEDED
    assert ended_status(CLIENT_AHEAD_SECONDS + 0.01) is grpc.StatusCode.CANCELLED
    assert ended_status(None) is grpc.StatusCode.CANCELLED  # no deadline: only a cancel


def test_unexpected_errors_are_logged_with_a_request_id_and_hidden_from_the_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    context = ThreadContext()
    with caplog.at_level(logging.ERROR), pytest.raises(CallAbortedError) as aborted:
        _Servicer(ZeroDivisionError("secret detail")).unary(1, context)
    assert "secret detail" not in aborted.value.details
    assert "Traceback" not in aborted.value.details
    request_id = dict(aborted.value.trailing_metadata)[REQUEST_ID_METADATA_KEY]
    assert isinstance(request_id, str)
    assert request_id in aborted.value.details
    [record] = caplog.records
    assert request_id in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], ZeroDivisionError)


def test_an_error_never_raised_is_logged_as_one_line_with_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A worker process killed mid-call is reported as an error built, not raised: logged with
    # exc_info it was a second line ("advisor.service.process_pool.WorkerExitedError: worker
    # process 31782 exited ...") that a grep for the request id did not find.
    context = ThreadContext()
    error = RuntimeError("worker process 7 exited with signal SIGKILL during Recommend")
    with caplog.at_level(logging.ERROR), pytest.raises(CallAbortedError) as aborted:
        abort_for(error, context, "Recommend")
    request_id = dict(aborted.value.trailing_metadata)[REQUEST_ID_METADATA_KEY]
    assert isinstance(request_id, str)
    [record] = caplog.records
    assert record.exc_info is None
    assert record.getMessage() == (
        f"request {request_id} (Recommend) failed: worker process 7 exited with signal SIGKILL "
        "during Recommend"
    )


def test_the_error_domain_is_the_service_s_proto_package() -> None:
    assert advisor_pb2.DESCRIPTOR.package == ERROR_DOMAIN


@pytest.mark.parametrize(
    ("error", "code", "delay", "reason"),
    [
        (SaturatedError("busy"), code_pb2.RESOURCE_EXHAUSTED, 0.2, "SERVER_BUSY"),
        (ShuttingDownError("bye"), code_pb2.UNAVAILABLE, 0.2, "SERVER_DRAINING"),
        (NotServingError("no worker"), code_pb2.UNAVAILABLE, 1.0, "NO_WORKER"),
    ],
)
def test_a_refusal_a_retry_may_pass_says_when_to_retry_and_why(
    error: Exception, code: int, delay: float, reason: str
) -> None:
    # AIP-193: a retryable refusal carries a google.rpc.RetryInfo, and every error an ErrorInfo
    # naming its cause; without them a caller had only the English ("retry later") to go by.
    with pytest.raises(CallAbortedError) as aborted:
        abort_for(error, ThreadContext(), "Recommend")
    rich = status_pb2.Status.FromString(
        dict(aborted.value.trailing_metadata)["grpc-status-details-bin"]
    )
    assert (rich.code, rich.message) == (code, str(error))
    retry, info = error_details_pb2.RetryInfo(), error_details_pb2.ErrorInfo()
    assert len(rich.details) == 2
    assert rich.details[0].Unpack(retry) and rich.details[1].Unpack(info)
    assert retry.retry_delay.ToTimedelta().total_seconds() == delay
    assert (info.reason, info.domain) == (reason, "advisor.v1")


def _stopped(*, cancelled: bool) -> CallAbortedError:
    """The status of an analysis its call's stop signal ended, the call cancelled or not."""
    context = ThreadContext()
    if cancelled:
        context.end()
    return aborted_for(StoppedError("stopped"), "Analyze", context)


_LIMITED = FieldViolation("budget.top_k", "big", limit=RefusedLimit("max_top_k", 50, 60))
_STALE = FieldViolation("budget.page_token", "was written by version 3 of the advisor's ranking")

_SERVER_STATUSES: list[tuple[str, Callable[[], CallAbortedError], grpc.StatusCode, str]] = [
    (
        "fields",
        lambda: aborted_for(InvalidRequestError.single("task", "bad"), "Recommend"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_REQUEST",
    ),
    (
        "limit",
        lambda: aborted_for(LimitExceededError([_LIMITED]), "Recommend"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "LIMIT_EXCEEDED",
    ),
    (
        "stale page token",
        lambda: aborted_for(StalePageTokenError([_STALE], 3, 4), "Recommend"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAGE_TOKEN_STALE",
    ),
    (
        "busy",
        lambda: aborted_for(SaturatedError("busy"), "Recommend"),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "SERVER_BUSY",
    ),
    (
        "draining",
        lambda: aborted_for(ShuttingDownError("bye"), "Recommend"),
        grpc.StatusCode.UNAVAILABLE,
        "SERVER_DRAINING",
    ),
    (
        "no worker",
        lambda: aborted_for(NotServingError("none"), "Recommend"),
        grpc.StatusCode.UNAVAILABLE,
        "NO_WORKER",
    ),
    (
        "time bound",
        lambda: aborted_for(ServerTimeBoundError("bound", 60.0), "Analyze"),
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "SERVER_TIME_BOUND",
    ),
    (
        "could not finish",
        lambda: _stopped(cancelled=False),
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "CALL_DEADLINE_EXCEEDED",
    ),
    (
        "a later page's search finished early",
        lambda: aborted_for(SearchFinishedError("finished"), "Recommend"),
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "SEARCH_FINISHED",
    ),
    (
        "cancelled",
        lambda: _stopped(cancelled=True),
        grpc.StatusCode.CANCELLED,
        "CALL_CANCELLED",
    ),
    (
        "deadline before work",
        lambda: ended_before_work(0.0),
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "CALL_DEADLINE_EXCEEDED",
    ),
    (
        "cancelled before work",
        lambda: ended_before_work(None),
        grpc.StatusCode.CANCELLED,
        "CALL_CANCELLED",
    ),
    (
        "internal",
        lambda: aborted_for(ZeroDivisionError("secret"), "Recommend"),
        grpc.StatusCode.INTERNAL,
        "INTERNAL_ERROR",
    ),
    (
        "answer too large",
        lambda: oversized(b"x" * 9, 8) or pytest.fail("9 bytes fit a limit of 8"),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "LIMIT_EXCEEDED",
    ),
    (
        "worker memory",
        lambda: as_aborted(memory_status("over", 120.0, 100.0)),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "WORKER_MEMORY_EXCEEDED",
    ),
    (
        "search not found",
        lambda: search_status(grpc.StatusCode.NOT_FOUND, "none", "s"),
        grpc.StatusCode.NOT_FOUND,
        "SEARCH_NOT_FOUND",
    ),
    (
        "search id in use",
        lambda: search_status(grpc.StatusCode.ALREADY_EXISTS, "taken", "s"),
        grpc.StatusCode.ALREADY_EXISTS,
        "SEARCH_ID_IN_USE",
    ),
]
"""Every status the server builds (the interceptors' own: tests/service/test_request_ids.py,
test_hostile.py), its code and the reason of its ErrorInfo."""


@pytest.mark.parametrize(
    ("build", "code", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in _SERVER_STATUSES],
)
def test_every_status_the_server_makes_carries_one_error_info_naming_its_cause(
    build: Callable[[], CallAbortedError], code: grpc.StatusCode, reason: str
) -> None:
    # AIP-193: every error carries exactly one google.rpc.ErrorInfo; a refusal on the fields
    # alone, an INTERNAL and the call's own deadline had none, so a caller's error handling had
    # only the code (DEADLINE_EXCEEDED is also the server's bounds') and the English.
    aborted = build()
    assert aborted.code is code
    [info] = call_error_of(aborted).error_infos
    assert (info.reason, info.domain) == (reason, ERROR_DOMAIN)


def test_an_internal_error_keeps_its_request_info_beside_its_error_info() -> None:
    aborted = aborted_for(ZeroDivisionError("secret"), "Recommend", request_id="r-1")
    rich = status_pb2.Status.FromString(dict(aborted.trailing_metadata)["grpc-status-details-bin"])
    request, info = error_details_pb2.RequestInfo(), error_details_pb2.ErrorInfo()
    assert len(rich.details) == 2
    assert rich.details[0].Unpack(request) and rich.details[1].Unpack(info)
    assert (request.request_id, request.serving_data) == ("r-1", "")
    assert (info.reason, dict(info.metadata)) == ("INTERNAL_ERROR", {})
