"""FinishSearch: a named search, asked to finish, answers its own call with its best designs."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import grpc
import pytest
from advisor_client.client import AdvisorClient
from advisor_client.errors import AdvisorRpcError, error_from_rpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import given
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError
from advisor.model.budget import Budget
from advisor.model.results import SearchResult
from advisor.model.task import Task
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol._proto.advisor.v1 import advisor_pb2_grpc
from advisor.protocol.search_id import MAX_SEARCH_ID_CHARS, search_id_problem
from advisor.service import process_pool
from advisor.service.admission import Admission
from advisor.service.calls import Outcomes, StartedCall
from advisor.service.decoding import advisor_handler
from advisor.service.limits import RequestLimits
from advisor.service.process_pool import ProcessWorkers
from advisor.service.searches import (
    FINISH_GRACE_SECONDS,
    FINISHED_FOUND_SECONDS,
    RunningSearches,
    SearchKey,
    read_search_id,
)
from advisor.service.server import RunningServer, ServerConfig, start_server
from advisor.service.threads import ThreadContext
from advisor.service.worker import CallEnd
from advisor.service.worker_link import ControlBlock
from tests.support.clock import ManualClock
from tests.support.harness import CallError, LiveAdvisor
from tests.support.named_search import start_named_search
from tests.support.workloads import LONG_TASK, long_budget, quick_budget, small_task

LONG_BUDGET = wire.budget_from_proto(long_budget(30.0))
"""A search of LONG_TASK that runs until its 30 s time limit unless finished."""


@pytest.fixture(scope="module", params=["threads", "processes"])
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """One slot: FinishSearch must reach a search while the slot is busy with it."""
    with start_server(ServerConfig(port=0, workers=1, executor=request.param)) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[AdvisorClient]:
    with AdvisorClient(server.address) as advisor:
        yield advisor


def test_a_named_search_asked_to_finish_answers_with_its_best_designs(
    client: AdvisorClient, server: RunningServer
) -> None:
    thread, answered = start_named_search(client, server, "trial-7")
    asked = time.monotonic()
    assert client.finish_search("trial-7")  # answered though the one slot is busy
    thread.join(timeout=20.0)
    assert not thread.is_alive(), "the search went on after FinishSearch"
    # Long before its 30 s time limit (a bound a loaded machine keeps).
    assert time.monotonic() - asked < 15.0
    result = answered["result"]
    assert result.complete is False
    assert result.recommendations
    assert all(r.parameters <= LONG_BUDGET.max_parameters for r in result.recommendations)
    for recommendation in result.recommendations:  # not "a longer time limit returns them"
        assert "stopped early by a FinishSearch call" in recommendation.rationale
        assert "a longer time limit" not in recommendation.rationale
    # Answered: the name is free, and a retried ask is told it is finished, not NOT_FOUND.
    assert client.finish_search("trial-7")


def test_a_stream_asked_to_finish_ends_with_its_result(
    client: AdvisorClient, server: RunningServer
) -> None:
    task = wire.task_from_proto(LONG_TASK)
    events = client.stream_recommend(task, LONG_BUDGET, search_id="stream-1")
    first = next(events)  # a progress event: the search runs
    assert not isinstance(first, SearchResult)
    assert client.finish_search("stream-1")
    *_, last = events
    assert isinstance(last, SearchResult)
    assert last.complete is False and last.recommendations


def test_a_name_a_running_search_holds_is_refused(
    client: AdvisorClient, server: RunningServer
) -> None:
    thread, _ = start_named_search(client, server, "shared")
    try:
        with pytest.raises(AdvisorRpcError) as refused:
            client.recommend(small_task_model(), quick_budget_model(), search_id="shared")
        # Refused on the name, before admission (the one slot is busy: RESOURCE_EXHAUSTED).
        assert refused.value.code is grpc.StatusCode.ALREADY_EXISTS
        assert "'shared'" in refused.value.details
        assert isinstance(refused.value.__cause__, grpc.Call)
        assert _resource_info(refused.value.__cause__) == ("advisor.v1/Search", "shared")
        assert _reason(refused.value.__cause__) == "SEARCH_ID_IN_USE"
    finally:
        assert client.finish_search("shared")
        thread.join(timeout=20.0)
    # Once answered, the name may be given again.
    again = client.recommend(small_task_model(), quick_budget_model(), search_id="shared")
    assert again.complete


def test_no_search_of_the_name_is_false(client: AdvisorClient) -> None:
    assert client.finish_search("never-started") is False


def test_no_search_of_the_name_is_not_found_naming_the_search(server: RunningServer) -> None:
    # AIP-193: a NOT_FOUND carries a ResourceInfo naming what was not found; it had no details.
    with grpc.insecure_channel(server.address) as channel:
        stub = advisor_pb2_grpc.ArchitectureAdvisorStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.FinishSearch(pb.FinishSearchRequest(search_id="never-started"), timeout=10.0)
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    assert isinstance(refused.value, grpc.Call)
    assert _resource_info(refused.value) == ("advisor.v1/Search", "never-started")
    assert _reason(refused.value) == "SEARCH_NOT_FOUND"


def _reason(call: grpc.Call) -> str | None:
    """The reason of the advisor's ErrorInfo detail of the status ``call`` ended with."""
    status = rpc_status.from_call(call)
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info) and info.domain == "advisor.v1":
            reason: str = info.reason
            return reason
    return None


def _resource_info(call: grpc.Call) -> tuple[str, str] | None:
    """The resource type and name of the ResourceInfo detail of the status ``call`` ended with."""
    status = rpc_status.from_call(call)
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ResourceInfo()
        if detail.Unpack(info):
            return info.resource_type, info.resource_name
    return None


@pytest.mark.parametrize(
    ("search_id", "problem"),
    [
        ("", "is empty: a search's name is 1 to 128 ASCII letters"),
        ("a b", "U+0020 at position 1"),
        ("x" * (MAX_SEARCH_ID_CHARS + 1), f"at most {MAX_SEARCH_ID_CHARS} characters"),
        ("caf\u00e9", "U+00E9 at position 3"),
    ],
)
def test_a_name_no_search_may_hold_is_refused_naming_search_id(
    client: AdvisorClient, server: RunningServer, search_id: str, problem: str
) -> None:
    # By the client before any call, and by the server for a client that does not check.
    with pytest.raises(InvalidRequestError) as refused:
        client.finish_search(search_id)
    assert refused.value.violations[0].field == "search_id"
    assert problem in refused.value.violations[0].description
    with grpc.insecure_channel(server.address) as channel:
        live = LiveAdvisor(channel)
        with pytest.raises(CallError) as finish:
            live.unary("FinishSearch", pb.FinishSearchRequest(search_id=search_id))
        assert finish.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert [field for field, _ in finish.value.violations] == ["search_id"]
        if search_id:  # an empty one is no name: the search runs unnamed
            request = pb.RecommendRequest(
                task=small_task(), budget=quick_budget(), search_id=search_id
            )
            with pytest.raises(CallError) as search:
                live.unary("Recommend", request)
            assert search.value.code is grpc.StatusCode.INVALID_ARGUMENT
            assert [field for field, _ in search.value.violations] == ["search_id"]


def test_an_empty_search_name_is_refused_as_empty_not_as_missing(client: AdvisorClient) -> None:
    # A search's name is optional: "search_id: is required" told a caller who passed "" that
    # the argument it could leave out was missing.
    with pytest.raises(InvalidRequestError) as refused:
        client.recommend(small_task_model(), quick_budget_model(), search_id="")
    [violation] = refused.value.violations
    assert (violation.field, violation.description) == (
        "search_id",
        f"is empty: a search's name is 1 to {MAX_SEARCH_ID_CHARS} ASCII letters, digits and '-._~'",
    )


def test_a_client_name_of_another_type_is_refused_naming_search_id(
    client: AdvisorClient,
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        client.recommend(small_task_model(), quick_budget_model(), search_id=7)  # type: ignore[arg-type]
    assert refused.value.violations[0].field == "search_id"
    assert "must be a str or None, got int" in refused.value.violations[0].description


def small_task_model() -> Task:
    return wire.task_from_proto(small_task())


def quick_budget_model() -> Budget:
    return wire.budget_from_proto(quick_budget())


_NAMES = st.text(alphabet="abcXYZ019-._~", max_size=MAX_SEARCH_ID_CHARS)


@given(first=_NAMES, second=_NAMES, size=st.integers(2, 12))
def test_the_name_is_read_from_the_request_bytes_as_protobuf_decodes_it(
    first: str, second: str, size: int
) -> None:
    request = pb.RecommendRequest(task=small_task(size), budget=quick_budget(), search_id=first)
    payload = request.SerializeToString()
    assert read_search_id(payload) == (first or None)
    # Concatenated messages merge, the last name given winning.
    merged = payload + pb.StreamRecommendRequest(search_id=second).SerializeToString()
    expected = pb.RecommendRequest.FromString(merged).search_id
    assert read_search_id(merged) == (expected or None)


@given(st.binary(max_size=64), st.integers(0, 200))
def test_malformed_request_bytes_give_no_name_and_no_error(noise: bytes, cut: int) -> None:
    request = pb.RecommendRequest(task=small_task(), budget=quick_budget(), search_id="n-1")
    payload = request.SerializeToString()
    for candidate in (noise, payload[:cut], payload[:cut] + noise):
        name = read_search_id(candidate)
        assert name is None or isinstance(name, str)
        with contextlib.suppress(DecodeError):  # bytes the call's worker decodes: the same name
            assert name == (pb.RecommendRequest.FromString(candidate).search_id or None)


def test_a_request_of_megabytes_of_tiny_fields_is_read_at_once() -> None:
    # The name is read on the event loop, which serves no other call meanwhile: 4 MiB (the
    # default message limit) of two-byte unknown fields, two million of them, held it for
    # about a second when they were walked one by one; the C parser skips them in milliseconds.
    # Timed in this thread's CPU seconds, what the loop is held for: a loaded machine's clock
    # also counts the time other processes ran.
    payload = b"\x20\x00" * (2 * 1024 * 1024) + b"\x1a\x04last"
    started = time.thread_time()
    assert read_search_id(payload) == "last"
    assert time.thread_time() - started < 0.25


@given(st.text(max_size=MAX_SEARCH_ID_CHARS + 2))
def test_a_name_is_what_the_rule_admits(text: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    valid = 1 <= len(text) <= MAX_SEARCH_ID_CHARS and set(text) <= allowed
    assert (search_id_problem(text) is None) == valid


def test_a_search_asked_before_its_work_began_is_hurried_when_it_begins() -> None:
    searches, early = RunningSearches(), SearchKey((), "early")
    named = searches.claim(early)
    assert named is not None
    assert searches.claim(early) is None  # held
    assert searches.finish(early)
    hurried: list[float] = []
    searches.begun(named, hurried.append)
    # The grace, counted from when the work begins (StartedCall.hurry takes seconds).
    assert hurried == [FINISH_GRACE_SECONDS]
    later = searches.finish(early)  # asked again: the first ask stays
    assert later and len(hurried) == 1


def test_an_ask_retried_after_its_search_ended_is_answered_as_finished() -> None:
    # The client retries FinishSearch on UNAVAILABLE: a retry after a lost reply came once the
    # search it had asked had answered, and was NOT_FOUND ("no search of that name").
    clock = ManualClock()
    searches = RunningSearches(clock)
    asked, unasked = SearchKey((), "asked"), SearchKey((), "unasked")
    held = {key: searches.claim(key) for key in (asked, unasked)}
    assert searches.finish(asked)
    for key, search in held.items():
        assert search is not None
        searches.release(key, search)
    assert searches.finish(asked)
    assert not searches.finish(unasked)  # it answered of itself: nothing was finished
    assert not searches.finish(SearchKey((b"another caller",), "asked"))
    clock.now += FINISHED_FOUND_SECONDS
    assert not searches.finish(asked)


def test_a_new_search_of_an_ended_finished_ones_name_is_its_own() -> None:
    searches, name = RunningSearches(), SearchKey((), "reused")
    first = searches.claim(name)
    assert first is not None and searches.finish(name)
    searches.release(name, first)
    second = searches.claim(name)
    assert second is not None
    searches.release(name, second)  # it answered of itself, never asked
    assert not searches.finish(name)


def test_a_hurry_counts_from_when_the_work_begins() -> None:
    # A call waits for a worker process while one that died is replaced (seconds). Asked to
    # finish meanwhile, it began past a deadline counted from the ask and answered with its
    # single best design instead of a page.
    context = ThreadContext()
    context.hurry(2.0)  # before the work began: nothing registered yet
    time.sleep(0.05)
    began = time.monotonic()
    deadlines: list[float] = []
    context.add_hurry_callback(deadlines.append)  # the work begins
    assert len(deadlines) == 1 and deadlines[0] >= began + 2.0
    context.hurry(0.5)  # asked again: the first ask stays
    assert len(deadlines) == 1


def test_a_job_hurried_before_a_worker_took_it_counts_from_the_dispatch() -> None:
    # The same for a job whose worker died before reading it: it goes to another worker later.
    async def dispatched_late() -> tuple[float, float, float]:
        workers = ProcessWorkers(RequestLimits(), Admission(1), niceness=0)
        control = ControlBlock.create()
        try:
            job = process_pool._Job(7, "Recommend", b"", asyncio.Queue(), contextlib.ExitStack())
            ready = asyncio.get_running_loop().create_future()
            worker = process_pool._Worker(_FakeProcess(), control, ready)  # type: ignore[arg-type]
            workers._hurry(job, 2.0)  # no worker yet: nothing written
            before = control.hurry_deadline(7)
            await asyncio.sleep(0.05)
            dispatched = time.monotonic()
            workers._dispatch(job, worker)
            return before, dispatched, control.hurry_deadline(7)
        finally:
            control.close()

    before, dispatched, deadline = asyncio.run(dispatched_late())
    assert math.isinf(before)
    assert deadline >= dispatched + 2.0


class _FakeProcess:
    """What a dispatch writes the job to."""

    class _Input:
        def write(self, data: bytes) -> None:
            self.written = data

    stdin = _Input()


def test_a_late_release_leaves_a_later_search_of_the_name() -> None:
    searches, name = RunningSearches(), SearchKey((), "n")
    first = searches.claim(name)
    assert first is not None
    searches.release(name, first)
    second = searches.claim(name)
    assert second is not None
    searches.release(name, first)  # the first call's end, reported late
    assert searches.finish(name)


class _AnsweringWorkers:
    """Call workers whose every call's work has ended with ``outcome`` as soon as it begins."""

    def __init__(self, outcome: bytes) -> None:
        self.outcome = outcome

    @property
    def pids(self) -> list[int]:
        return []

    async def begin(self, method: str, payload: bytes, context: object) -> StartedCall:
        outcomes: Outcomes = asyncio.Queue()
        outcomes.put_nowait(self.outcome)
        outcomes.put_nowait(None)  # the work's end
        return StartedCall(outcomes, lambda seconds: None)

    async def drain(self, deadline: float) -> None:
        pass

    async def close(self) -> None:
        pass


class _AbortedError(Exception):
    """What the fake call context raises for an abort, with its status code."""

    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(code)
        self.code = code


class _OpenContext:
    """A call context whose call never ends on its own: its done callbacks never run."""

    def __init__(self, on_write: Callable[[bytes], Awaitable[None]] | None = None) -> None:
        self.on_write = on_write

    def done(self) -> bool:
        return False

    def time_remaining(self) -> None:
        return None

    def peer_identities(self) -> None:  # a peer the server does not authenticate
        return None

    def add_done_callback(self, callback: object) -> None:
        pass

    async def write(self, message: bytes) -> None:
        if self.on_write is not None:
            await self.on_write(message)

    async def abort(self, code: grpc.StatusCode, details: str, metadata: object = ()) -> None:
        raise _AbortedError(code)


def _behaviour(handler: grpc.GenericRpcHandler, method: str) -> Any:
    """Return ``handler``'s coroutine function for the advisor's ``method``.

    Typed Any: gRPC's stubs type a method handler's behaviours as the synchronous server's.
    """

    class Details(grpc.HandlerCallDetails):
        def __init__(self) -> None:
            self.method = f"/advisor.v1.ArchitectureAdvisor/{method}"
            self.invocation_metadata = ()

    found = handler.service(Details())
    assert found is not None
    return found.unary_stream if method == "StreamRecommend" else found.unary_unary


@pytest.mark.parametrize("method", ["Recommend", "StreamRecommend"])
def test_a_searchs_name_is_free_once_its_answer_leaves(method: str) -> None:
    # The name was let go only when gRPC reported the call done, after the answer had left: a
    # pipeline naming its next search alike as soon as it had the answer was refused
    # ALREADY_EXISTS now and then (1 call in 30 with worker processes). Here the call is never
    # reported done, so only the work's end can let the name go.
    streaming = method == "StreamRecommend"
    result = pb.SearchResult(complete=True)
    response = (
        pb.StreamRecommendResponse(result=result)
        if streaming
        else pb.RecommendResponse(result=result)
    )
    handler = advisor_handler(
        _AnsweringWorkers(response.SerializeToString()), max_message_bytes=2**20
    )
    named = pb.RecommendRequest(task=small_task(), budget=quick_budget(), search_id="trial-7")
    request = named.SerializeToString()
    finish = _behaviour(handler, "FinishSearch")
    running_as_it_left: list[bool] = []

    async def named_running() -> bool:
        asked = pb.FinishSearchRequest(search_id="trial-7").SerializeToString()
        try:
            await finish(asked, _OpenContext())
        except _AbortedError as aborted:
            assert aborted.code is grpc.StatusCode.NOT_FOUND
            return False
        return True

    async def leaves(message: bytes) -> None:
        running_as_it_left.append(await named_running())

    async def call() -> None:
        if streaming:
            await _behaviour(handler, method)(request, _OpenContext(leaves))
        else:
            await _behaviour(handler, method)(request, _OpenContext())
            await leaves(b"")  # a unary answer leaves as its behaviour returns it

    asyncio.run(call())
    assert running_as_it_left == [False]


def test_a_worker_reads_its_own_calls_hurry_only() -> None:
    control = ControlBlock.create()
    try:
        call_end = CallEnd(control)
        call_end.call_id = 5
        assert call_end.deadline is None
        control.hurry_call(5, 1234.5)
        assert call_end.deadline == 1234.5
        assert not call_end.draining  # a hurry is no shutdown
        call_end.call_id = 6  # the worker's next call
        assert call_end.deadline is None
        control.drain_deadline = 1000.0
        call_end.call_id = 5
        assert call_end.deadline == 1000.0 and call_end.draining
        assert math.isinf(control.hurry_deadline(6))
    finally:
        control.close()


def test_no_running_search_is_not_taken_for_a_server_without_the_advisor(
    server: RunningServer,
) -> None:
    # The client added the health check's hint (not the advisor's port? Katib's endpoint?) to
    # every NOT_FOUND, FinishSearch's too, which names the search it did not find.
    with grpc.insecure_channel(server.address) as channel:
        stub = advisor_pb2_grpc.ArchitectureAdvisorStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.FinishSearch(pb.FinishSearchRequest(search_id="none"), timeout=30)
    error = error_from_rpc(raised.value)
    assert error.code is grpc.StatusCode.NOT_FOUND
    assert "no search named 'none'" in str(error)
    assert "health service" not in str(error)
