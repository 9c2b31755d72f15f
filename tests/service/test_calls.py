"""``run_call``: one call's work, as a thread and a worker process both run it, by its outcomes;
and what every executor answers for a request field the proto admits but the service refuses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol.metadata import RANKING_VERSION_METADATA_KEY, SERVER_VERSION_METADATA_KEY
from advisor.service import calls as calls_module
from advisor.service.calls import (
    SERVICE,
    Outcomes,
    StartedCall,
    answer,
    oversized,
    relay,
    run_call,
)
from advisor.service.decoding import advisor_handler
from advisor.service.logs import FIELDS
from advisor.service.searches import FINISH_METHOD
from advisor.service.status import REQUEST_ID_METADATA_KEY
from advisor.service.threads import AioContext, CallAbortedError, ThreadContext
from advisor.service.undelivered import quiet_undelivered
from tests.support.harness import Advisor, CallError, DirectAdvisor, call_error_of
from tests.support.workloads import quick_budget, small_task


def test_every_method_of_the_service_is_run_by_name() -> None:
    servicer = DirectAdvisor().servicer
    for method in SERVICE.methods:
        if method.name != FINISH_METHOD:  # answered on the event loop, by name
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
    # The violation is on the empty path, the request as a whole: the message read ": is not ...".
    assert outcome.details == "is not a valid advisor.v1.AnalyzeRequest message"


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
    trailers = dict(outcome.trailing_metadata)
    assert set(trailers) == {
        REQUEST_ID_METADATA_KEY,
        SERVER_VERSION_METADATA_KEY,
        RANKING_VERSION_METADATA_KEY,
        "grpc-status-details-bin",
    }
    status = status_pb2.Status.FromString(cast(bytes, trailers["grpc-status-details-bin"]))
    # The status names the request, and nothing of the failure: no DebugInfo, no words of it.
    assert status.message == outcome.details
    assert any(detail.Is(error_details_pb2.RequestInfo.DESCRIPTOR) for detail in status.details)
    assert not any(detail.Is(error_details_pb2.DebugInfo.DESCRIPTOR) for detail in status.details)
    assert b"object" not in status.SerializeToString()


def _inference(seed: int) -> pb.InferTaskRequest:
    """An InferTask request for a small graph the partitioner splits, with ``seed``."""
    graph = pb.DependenceGraph(
        input=pb.InputSpec(shape=[4, 4]),
        samples=100,
        top_k=2,
        estimate="exact",
        rows=[0, 1, 4, 5],
        cols=[1, 2, 5, 6],
        weights=[0.9, 0.8, 0.9, 0.7],
    )
    return pb.InferTaskRequest(graph=graph, seed=seed)


@pytest.mark.parametrize("seed", [-1, -(2**63)])
def test_a_negative_seed_is_refused_naming_the_field_and_the_range_in_every_rpc(
    advisor: Advisor, seed: int
) -> None:
    # The proto's int64 seeds admit negative values; no RPC may end INTERNAL or UNKNOWN on one.
    task, budget = small_task(), quick_budget(seed=seed)
    calls: dict[str, Callable[[], object]] = {
        "Recommend": lambda: advisor.unary(
            "Recommend", pb.RecommendRequest(task=task, budget=budget)
        ),
        "StreamRecommend": lambda: advisor.stream(
            pb.StreamRecommendRequest(task=task, budget=budget)
        ),
        "InferTask": lambda: advisor.unary("InferTask", _inference(seed)),
    }
    refusals = {}
    for method, call in calls.items():
        with pytest.raises(CallError) as refused:
            call()
        assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT, refused.value.details
        refusals[method] = refused.value.violations
    # Every seed's refusal states the whole range in the same words.
    words = f"is {seed:,}: must be between 0 and 2^63 - 1"
    assert refusals == {
        "Recommend": [("budget.seed", words)],
        "StreamRecommend": [("budget.seed", words)],
        "InferTask": [("seed", words)],
    }


def test_the_largest_seed_is_taken_by_every_rpc(advisor: Advisor) -> None:
    task, budget = small_task(), quick_budget(seed=2**63 - 1)
    recommended = advisor.unary("Recommend", pb.RecommendRequest(task=task, budget=budget))
    assert recommended.result.recommendations
    streamed = advisor.stream(pb.StreamRecommendRequest(task=task, budget=budget))
    assert streamed[-1].result.recommendations
    inferred = advisor.unary("InferTask", _inference(2**63 - 1))
    assert sorted(inferred.arrangement) == list(range(16))


_STREAM = "StreamRecommend"


class _NoDeadline:
    """The part of a fake call context its answer reads first: no deadline."""

    def time_remaining(self) -> float | None:
        return None


def test_a_streams_status_leaves_once_its_work_has_ended() -> None:
    # The work's end (None) frees its slot; it comes a moment after the status (a worker
    # process sends its end-of-work frame after the status frame).
    async def status_sent_after_the_end() -> bool:
        outcomes: Outcomes = asyncio.Queue()
        ended = asyncio.Event()
        sent_after_end: list[bool] = []

        class Context(_NoDeadline):
            async def write(self, message: bytes) -> None:
                pass

            async def abort(self, code: grpc.StatusCode, details: str, metadata: object) -> None:
                sent_after_end.append(ended.is_set())
                raise RuntimeError("aborted")

        def end() -> None:
            ended.set()
            outcomes.put_nowait(None)

        outcomes.put_nowait(b"progress")
        outcomes.put_nowait(CallAbortedError(grpc.StatusCode.INVALID_ARGUMENT, "bad", ()))
        asyncio.get_running_loop().call_later(0.01, end)
        with pytest.raises(RuntimeError, match="aborted"):
            await relay(outcomes, Context(), 2**20, None, method=_STREAM)  # type: ignore[arg-type]
        return sent_after_end == [True]

    assert asyncio.run(status_sent_after_the_end())


def test_a_streams_result_leaves_once_its_work_has_ended_and_progress_at_once() -> None:
    # With worker processes the end-of-work frame follows the result's: the result went out
    # first, and a call sent as soon as it arrived was refused RESOURCE_EXHAUSTED on a
    # one-slot server (15 of 15 Analyze calls right after a StreamRecommend).
    progress = pb.StreamRecommendResponse(progress=pb.SearchProgress(candidates_evaluated=3))
    result = pb.StreamRecommendResponse(result=pb.SearchResult(complete=True))

    async def written() -> list[tuple[str, bool]]:
        outcomes: Outcomes = asyncio.Queue()
        ended = asyncio.Event()
        writes: list[tuple[str, bool]] = []

        class Context(_NoDeadline):
            async def write(self, message: bytes) -> None:
                event = pb.StreamRecommendResponse.FromString(message).WhichOneof("event")
                writes.append((str(event), ended.is_set()))

        def end() -> None:
            ended.set()
            outcomes.put_nowait(None)

        outcomes.put_nowait(progress.SerializeToString())
        outcomes.put_nowait(result.SerializeToString())
        asyncio.get_running_loop().call_later(0.01, end)
        await relay(outcomes, Context(), 2**20, None, method=_STREAM)  # type: ignore[arg-type]
        return writes

    assert asyncio.run(written()) == [("progress", False), ("result", True)]


class ExecuteBatchError(Exception):
    """As gRPC's (private) error of a write on a call its client has left."""


def test_a_write_its_client_left_ends_the_stream_as_cancelled() -> None:
    # A client that stopped reading, then disconnected: gRPC failed the write, raised on, and
    # the call read UNKNOWN with gRPC's ERROR traceback. It is the client's cancel; the work
    # is followed to its end as for any cancel, so its slot frees as usual.
    async def relayed() -> bool:
        outcomes: Outcomes = asyncio.Queue()

        class Context(_NoDeadline):
            async def write(self, message: bytes) -> None:
                raise ExecuteBatchError('Failed "execute_batch"')

        outcomes.put_nowait(b"progress")
        asyncio.get_running_loop().call_later(0.01, outcomes.put_nowait, None)
        with pytest.raises(asyncio.CancelledError):
            await relay(outcomes, Context(), 2**20, None, method=_STREAM)  # type: ignore[arg-type]
        return outcomes.empty()

    assert asyncio.run(relayed())

    async def other_failure() -> None:  # any other error of a write stays what it is
        outcomes: Outcomes = asyncio.Queue()

        class Context(_NoDeadline):
            async def write(self, message: bytes) -> None:
                raise RuntimeError("not the peer")

        outcomes.put_nowait(b"progress")
        await relay(outcomes, Context(), 2**20, None, method=_STREAM)  # type: ignore[arg-type]

    with pytest.raises(RuntimeError, match="not the peer"):
        asyncio.run(other_failure())


def test_grpcs_line_of_an_undelivered_answer_is_one_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A unary answer its client left unread was told by gRPC at ERROR with a traceback, as a
    # defect of the server: its access line had read OK already.
    quiet_undelivered()
    quiet_undelivered()  # once, however often a server starts
    grpc_logger = logging.getLogger("grpc._cython.cygrpc")
    assert (
        len([f for f in grpc_logger.filters if f.__class__.__name__ == "_UndeliveredAnswers"]) == 1
    )
    method = "/advisor.v1.ArchitectureAdvisor/Recommend"
    with caplog.at_level(logging.INFO, logger="grpc._cython.cygrpc"):
        for error in (ExecuteBatchError("Failed"), ValueError("a defect")):
            try:
                raise error
            except Exception:
                grpc_logger.exception(
                    f"{type(error).__name__} raised in core by servicer method [{method}]"
                )
    undelivered, defect = caplog.records
    assert (undelivered.levelno, undelivered.exc_info) == (logging.INFO, None)
    assert undelivered.getMessage() == (
        f"the answer to {method} was not delivered: its client went away before reading it"
    )
    assert defect.levelno == logging.ERROR and defect.exc_info is not None


def test_a_stream_response_over_the_message_limit_ends_the_call_once_its_work_has() -> None:
    # gRPC would refuse to send it after the fact, unseen by the access log; the stream ends
    # RESOURCE_EXHAUSTED instead, once the work's end (its slot free) has come.
    small = pb.StreamRecommendResponse(progress=pb.SearchProgress(candidates_evaluated=3))
    large = pb.StreamRecommendResponse(
        result=pb.SearchResult(recommendations=[pb.Recommendation(rationale="x" * 200)])
    )

    async def relayed() -> tuple[list[bytes], list[tuple[grpc.StatusCode, str, bool]]]:
        outcomes: Outcomes = asyncio.Queue()
        ended = asyncio.Event()
        writes: list[bytes] = []
        aborts: list[tuple[grpc.StatusCode, str, bool]] = []

        class Context(_NoDeadline):
            async def write(self, message: bytes) -> None:
                writes.append(message)

            async def abort(self, code: grpc.StatusCode, details: str, metadata: object) -> None:
                aborts.append((code, details, ended.is_set()))
                raise RuntimeError("aborted")

        def end() -> None:
            ended.set()
            outcomes.put_nowait(None)

        outcomes.put_nowait(small.SerializeToString())
        outcomes.put_nowait(large.SerializeToString())
        asyncio.get_running_loop().call_later(0.01, end)
        with pytest.raises(RuntimeError, match="aborted"):
            await relay(outcomes, Context(), 100, None, method=_STREAM)  # type: ignore[arg-type]
        return writes, aborts

    writes, [(code, details, after_end)] = asyncio.run(relayed())
    assert writes == [small.SerializeToString()]
    assert code is grpc.StatusCode.RESOURCE_EXHAUSTED and after_end
    size = large.ByteSize()
    assert details == f"the response is {size:,} bytes, over this server's limit of 100 " + (
        "(max_message_bytes)"
    )


class _PastDeadline(_NoDeadline):
    """A fake call context whose deadline passed ``late`` seconds ago (``late`` < 0: ahead)."""

    def __init__(self, late: float) -> None:
        self.late = late
        self.writes: list[bytes] = []

    def time_remaining(self) -> float | None:
        return -self.late

    async def write(self, message: bytes) -> None:
        self.writes.append(message)


async def _answer(outcomes: Outcomes, context: _NoDeadline) -> bytes:
    """Await a ``Recommend`` call's answer through a fake ``context``."""
    return await answer(outcomes, cast(AioContext, context), 2**20, None, method="Recommend")


def _late_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == calls_module.__name__]


async def _other_tasks_done() -> None:
    """Wait for every task but this one: a call's answer followed past the call's end."""
    await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}))


def test_an_answer_ready_after_the_deadline_is_logged_once_with_its_overrun(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A work whose deadline passed while it worked (0.5 s ago, as the context says): gRPC has
    # not ended the call yet, so the answer still leaves, and the log says by how much it missed.
    async def answered() -> bytes:
        outcomes: Outcomes = asyncio.Queue()
        for outcome in (b"answer", None):
            outcomes.put_nowait(outcome)
        return await _answer(outcomes, _PastDeadline(0.5))

    assert asyncio.run(answered()) == b"answer"
    [line] = _late_lines(caplog)
    assert line.levelno == logging.WARNING
    assert line.getMessage().startswith("the Recommend call's answer was ready ")
    assert line.getMessage().endswith(" ms after its deadline (sent late)")
    assert (
        getattr(line, FIELDS)["method"] == "Recommend"
        and getattr(line, FIELDS)["overrun_ms"] >= 500.0
    )


def test_an_answer_the_call_ended_first_is_logged_unsent_once_the_work_brings_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # gRPC cancels the handler at the deadline, while the work still runs: its answer, which
    # comes later, is what the access line's DEADLINE_EXCEEDED does not tell.
    async def ended_then_answered() -> None:
        outcomes: Outcomes = asyncio.Queue()
        handler = asyncio.create_task(_answer(outcomes, _PastDeadline(0.2)))
        await asyncio.sleep(0)  # the handler awaits the work
        handler.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handler
        assert not _late_lines(caplog)
        outcomes.put_nowait(b"answer")
        outcomes.put_nowait(None)
        await _other_tasks_done()

    asyncio.run(ended_then_answered())
    [line] = _late_lines(caplog)
    assert line.getMessage().endswith(" ms after its deadline (not sent: the call had ended)")
    assert getattr(line, FIELDS)["overrun_ms"] >= 200.0


@pytest.mark.parametrize("late", [-30.0, None])
def test_an_answer_in_time_or_cancelled_before_the_deadline_is_not_logged(
    caplog: pytest.LogCaptureFixture, late: float | None
) -> None:
    async def answered_and_cancelled() -> None:
        context = _NoDeadline() if late is None else _PastDeadline(late)
        outcomes: Outcomes = asyncio.Queue()
        outcomes.put_nowait(b"answer")
        outcomes.put_nowait(None)
        assert await _answer(outcomes, context) == b"answer"
        # Cancelled by its client before the deadline: nothing is followed.
        handler = asyncio.create_task(_answer(asyncio.Queue(), context))
        await asyncio.sleep(0)
        handler.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handler
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(answered_and_cancelled())
    assert not _late_lines(caplog)


def test_a_streams_result_ready_after_the_deadline_is_logged_and_its_progress_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    progress = pb.StreamRecommendResponse(progress=pb.SearchProgress(candidates_evaluated=3))
    result = pb.StreamRecommendResponse(result=pb.SearchResult(complete=False))
    context = _PastDeadline(0.1)

    async def relayed() -> None:
        outcomes: Outcomes = asyncio.Queue()
        for outcome in (progress.SerializeToString(), result.SerializeToString(), None):
            outcomes.put_nowait(outcome)
        await relay(outcomes, context, 2**20, None, method=_STREAM)  # type: ignore[arg-type]

    asyncio.run(relayed())
    assert len(context.writes) == 2
    [line] = _late_lines(caplog)
    assert (
        getattr(line, FIELDS)["method"] == _STREAM and getattr(line, FIELDS)["overrun_ms"] >= 100.0
    )


def test_a_response_over_the_limit_carries_the_setting_and_the_size_that_admits_it() -> None:
    refused = oversized(b"x" * 6_001, 6_000)
    assert refused is not None
    failure = call_error_of(refused)
    assert failure.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert failure.details == (
        "the response is 6,001 bytes, over this server's limit of 6,000 (max_message_bytes)"
    )
    [info] = failure.error_infos
    assert (info.reason, info.domain) == ("LIMIT_EXCEEDED", "advisor.v1")
    assert dict(info.metadata) == {"max_message_bytes": "6001"}
    assert oversized(b"x" * 6_000, 6_000) is None


def _admissions(servicer: object, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every call of the servicer's methods (each of which takes a slot first)."""
    called: list[str] = []
    for method in SERVICE.methods:
        if method.name == FINISH_METHOD:  # no servicer method: answered on the event loop
            continue
        original = getattr(servicer, method.name)

        def recorded(
            request: object,
            context: object,
            name: str = method.name,
            run: Callable[[object, object], object] = original,
        ) -> object:
            called.append(name)
            return run(request, context)

        monkeypatch.setattr(servicer, method.name, recorded)
    return called


@pytest.mark.parametrize("method", ["Recommend", "StreamRecommend", "Analyze", "InferTask"])
@pytest.mark.parametrize("how", ["deadline passed", "cancelled"])
def test_a_call_ended_before_its_work_starts_never_reaches_the_servicer(
    method: str, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    advisor = DirectAdvisor(workers=1)
    called = _admissions(advisor.servicer, monkeypatch)
    context = ThreadContext(0.0) if how == "deadline passed" else ThreadContext()
    if how == "cancelled":
        context.end()
    (outcome,) = run_call(advisor.servicer, method, b"", context)
    assert isinstance(outcome, CallAbortedError)
    expected = "DEADLINE_EXCEEDED" if how == "deadline passed" else "CANCELLED"
    assert outcome.code.name == expected
    assert outcome.details.startswith("the call ended before its work started: ")
    assert called == []
    assert advisor.in_flight() == 0
    # The same call with time left does reach it (and so could take the slot).
    live = list(run_call(advisor.servicer, method, b"", ThreadContext(60.0)))
    assert called == [method] and live


@pytest.mark.parametrize("method", ["Recommend", "InferTask"])
def test_a_call_that_ends_while_its_request_is_decoded_never_reaches_the_servicer(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 4 MB InferTask request, decoded on a loaded machine after its 0.1 s deadline had passed,
    # still took the one slot, and the next caller was refused RESOURCE_EXHAUSTED.
    advisor = DirectAdvisor(workers=1)
    called = _admissions(advisor.servicer, monkeypatch)
    context = ThreadContext(60.0)
    decode = calls_module._decode

    def slow_decode(*args: Any) -> object:
        context.end()  # the call ends while its request is decoded
        return decode(*args)

    monkeypatch.setattr(calls_module, "_decode", slow_decode)
    (outcome,) = run_call(advisor.servicer, method, b"", context)
    assert isinstance(outcome, CallAbortedError)
    assert outcome.details.startswith("the call ended before its work started: ")
    assert called == [] and advisor.in_flight() == 0


class _EndedContext:
    """An asyncio call context with the given time left and done state (``abort`` recorded)."""

    def __init__(self, remaining: float | None, done: bool) -> None:
        self.remaining, self.finished = remaining, done
        self.aborted: list[grpc.StatusCode] = []

    def time_remaining(self) -> float | None:
        return self.remaining

    def done(self) -> bool:
        return self.finished

    async def abort(self, code: grpc.StatusCode, details: str, metadata: object) -> None:
        self.aborted.append(code)
        raise RuntimeError("aborted")


class _Workers:
    """Workers that count the calls handed to them (each would take a slot)."""

    def __init__(self) -> None:
        self.begun: list[str] = []

    async def begin(self, method: str, payload: bytes, context: object) -> StartedCall:
        self.begun.append(method)
        outcomes: Outcomes = asyncio.Queue()
        outcomes.put_nowait(pb.ListPresetsResponse().SerializeToString())
        outcomes.put_nowait(None)
        return StartedCall(outcomes, lambda deadline: None)


@pytest.mark.parametrize(
    ("remaining", "done", "refused"),
    [
        (0.0, False, grpc.StatusCode.DEADLINE_EXCEEDED),
        (None, True, grpc.StatusCode.CANCELLED),
        (5.0, True, grpc.StatusCode.CANCELLED),
        (5.0, False, None),
    ],
    ids=["deadline passed", "done without deadline", "cancelled", "live"],
)
def test_the_event_loop_refuses_a_call_that_ended_before_taking_a_slot(
    remaining: float | None, done: bool, refused: grpc.StatusCode | None
) -> None:
    workers = _Workers()
    handler = advisor_handler(workers, max_message_bytes=2**20)
    details = _Details(f"/{SERVICE.full_name}/ListPresets")
    method_handler = handler.service(details)
    assert method_handler is not None and method_handler.unary_unary is not None
    unary = method_handler.unary_unary
    context = _EndedContext(remaining, done)

    async def call() -> object:
        # grpc's stubs type a handler's context as the synchronous one; the fake is the asyncio one.
        return await unary(b"", cast(grpc.ServicerContext, context))

    if refused is not None:
        with pytest.raises(RuntimeError, match="aborted"):
            asyncio.run(call())
        assert context.aborted == [refused]
        assert workers.begun == []
    else:
        assert isinstance(asyncio.run(call()), bytes)
        assert workers.begun == ["ListPresets"]


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()
