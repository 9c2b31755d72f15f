"""InferTask as a service: a bad dependence graph is refused on its message's field paths, and a
large inference stops at its call's deadline, cancellation or the server's drain.

The large graph is a 128 x 128 grid (the default ``max_locations``) of 64 random partners per
location, all evidence: unstopped, its inference runs 8-11 s on the shared 2-core machine. The
bounds here are generous against how soon a stopped inference frees its slot (tens of
milliseconds, at most one uninterruptible METIS split, 0.75 s measured under load;
docs/SERVICE.md), so they hold on a loaded machine and fail only on work that ran on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import grpc
import pytest

from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.service.server import RunningServer, ServerConfig, start_server
from advisor.service.threads import ThreadContext
from tests.support.harness import CONTRACT_LIMITS, CallError, DirectAdvisor, LiveAdvisor
from tests.support.waiting import wait_until
from tests.test_infer_stop import random_graph

FREED_SECONDS = 5.0
"""A stopped inference's slot is free this soon after its call ended (or the drain began)."""


@pytest.mark.parametrize(
    ("graph_input", "field"),
    [
        (pb.InputSpec(), "graph.input.shape"),
        (pb.InputSpec(shape=[4], channels=0), "graph.input.channels"),
        # No task has four axes: answered OK when no edge was evidence, and with evidence
        # refused only once the task was built, on "input.shape", outside the request.
        (pb.InputSpec(shape=[2, 2, 2, 2]), "graph.input.shape"),
    ],
)
def test_a_bad_graph_input_names_its_proto_field(graph_input: pb.InputSpec, field: str) -> None:
    graph = pb.DependenceGraph(input=graph_input, samples=10, top_k=1, estimate="exact")
    with pytest.raises(CallError) as error:
        DirectAdvisor().unary("InferTask", pb.InferTaskRequest(graph=graph))
    assert [f for f, _ in error.value.violations] == [field]


def test_a_missing_graph_is_named_as_missing() -> None:
    # Read as an empty graph, it blamed a field inside it ("graph.estimate: '': must be ...").
    with pytest.raises(CallError) as error:
        DirectAdvisor().unary("InferTask", pb.InferTaskRequest(outputs=2))
    assert error.value.violations == [("graph", "is required: the request has no DependenceGraph")]


@pytest.mark.parametrize("outputs", [0, -3])
def test_outputs_under_one_are_refused_whatever_the_data_shows(outputs: int) -> None:
    # Read only when a task is built: refused for a graph with edges, answered OK for one
    # without (the data shows no dependence, so no task).
    bare = pb.DependenceGraph(
        input=pb.InputSpec(shape=[4, 4]), samples=10, top_k=1, estimate="exact"
    )
    for graph in (bare, wire.dependence_graph_to_proto(random_graph(4, 2))):
        with pytest.raises(CallError) as error:
            DirectAdvisor().unary("InferTask", pb.InferTaskRequest(graph=graph, outputs=outputs))
        assert [f for f, _ in error.value.violations] == ["outputs"]


@pytest.fixture(scope="module")
def large_inference() -> pb.InferTaskRequest:
    """The large graph's request: 523,253 pairs, 4.0 MB, just under ``max_message_bytes``."""
    request = pb.InferTaskRequest(graph=wire.dependence_graph_to_proto(random_graph(128, 64)))
    assert request.ByteSize() <= CONTRACT_LIMITS.max_message_bytes
    return request


@pytest.fixture(scope="module", params=["threads", "processes"])
def one_slot_server(request: pytest.FixtureRequest) -> Iterator[tuple[RunningServer, LiveAdvisor]]:
    """A server of one advisor slot, with each executor, and an advisor over a channel to it."""
    config = ServerConfig(port=0, workers=1, grace_seconds=1.0, executor=request.param)
    with start_server(config) as running, grpc.insecure_channel(running.address) as channel:
        yield running, LiveAdvisor(channel, server=running)


@pytest.fixture
def one_slot(
    one_slot_server: tuple[RunningServer, LiveAdvisor],
) -> tuple[RunningServer, LiveAdvisor]:
    """:func:`one_slot_server` once its slot is free (a failed test's work may still run)."""
    running, _ = one_slot_server
    wait_until(lambda: running.in_flight == 0, timeout=60.0)
    return one_slot_server


def _wait_free(advisor: LiveAdvisor | DirectAdvisor, since: float) -> float:
    """Wait for the slot to be free; return how long after ``since`` it was."""
    while advisor.in_flight():
        assert time.monotonic() - since < FREED_SECONDS, "the inference ran on"
        time.sleep(0.005)
    return time.monotonic() - since


@pytest.mark.parametrize("deadline", [0.1, 1.0])
def test_a_deadline_ends_a_large_inference_and_frees_its_slot(
    one_slot: tuple[RunningServer, LiveAdvisor],
    large_inference: pb.InferTaskRequest,
    deadline: float,
) -> None:
    # 0.1 s passes as the request is read; 1 s, inside the arrangement's splits. The work of the
    # call before may hold the slot a moment past the free slot one_slot saw (on a loaded
    # machine, a request decoded just before its deadline passed): busy is retried, as a client
    # told RESOURCE_EXHAUSTED does.
    _, advisor = one_slot
    since = time.monotonic()
    while True:
        with pytest.raises(CallError) as failure:
            advisor.unary("InferTask", large_inference, timeout=deadline)
        if failure.value.code is not grpc.StatusCode.RESOURCE_EXHAUSTED:
            break
        assert time.monotonic() - since < FREED_SECONDS, "the work before ran on"
        time.sleep(0.05)
    assert failure.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
    _next_call_taken(advisor, time.monotonic())


def _next_call_taken(advisor: LiveAdvisor, since: float) -> None:
    """Call until the one slot takes the call, within FREED_SECONDS of ``since``.

    A call whose deadline passes while its request is read is still handed to the servicer,
    which takes the slot after the caller saw the deadline: a slot seen free just then may be
    taken a moment later, so the next call itself is the probe.
    """
    while True:
        try:
            assert advisor.unary("ListPresets", pb.ListPresetsRequest(), timeout=10).presets
            return
        except CallError as error:
            if error.code is not grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise
        assert time.monotonic() - since < FREED_SECONDS, "the inference ran on"
        time.sleep(0.005)


def test_a_cancelled_inference_frees_its_slot(
    one_slot: tuple[RunningServer, LiveAdvisor], large_inference: pb.InferTaskRequest
) -> None:
    running, advisor = one_slot
    call = advisor.stub.InferTask.future(large_inference, timeout=60)
    wait_until(lambda: running.in_flight == 1)
    time.sleep(0.5)  # into the arrangement
    cancelled_at = time.monotonic()
    call.cancel()
    _wait_free(advisor, cancelled_at)
    assert advisor.unary("ListPresets", pb.ListPresetsRequest(), timeout=10).presets


def test_the_drain_ends_an_inference_in_flight_unavailable(
    large_inference: pb.InferTaskRequest,
) -> None:
    direct = DirectAdvisor(workers=1)
    outcome: list[BaseException | pb.InferTaskResponse] = []

    def infer() -> None:
        try:
            outcome.append(direct.servicer.InferTask(large_inference, ThreadContext()))
        except BaseException as error:  # the call's abort, checked below
            outcome.append(error)

    worker = threading.Thread(target=infer)
    worker.start()
    wait_until(lambda: direct.in_flight() == 1)
    time.sleep(0.5)  # into the arrangement
    draining_at = time.monotonic()
    direct.admission.begin_shutdown(grace_seconds=0.0)
    worker.join(timeout=60)
    assert time.monotonic() - draining_at < FREED_SECONDS, "the inference ran on"
    assert direct.in_flight() == 0
    (error,) = outcome
    assert getattr(error, "code", None) is grpc.StatusCode.UNAVAILABLE, error


def test_a_threads_server_stops_within_its_grace_with_an_inference_in_flight(
    serve: Callable[..., RunningServer], large_inference: pb.InferTaskRequest
) -> None:
    running = serve(workers=1, executor="threads")
    with grpc.insecure_channel(running.address) as channel:
        advisor = LiveAdvisor(channel)
        call = advisor.stub.InferTask.future(large_inference, timeout=60)
        wait_until(lambda: running.in_flight == 1)
        stopping_at = time.monotonic()
        running.stop(grace=0.5)
        # The work stopped with the grace period, so the process can exit: its threads pool
        # waits for the work on the way out. Unstopped, the work would run 8-11 s.
        wait_until(lambda: running.in_flight == 0, timeout=FREED_SECONDS)
        assert time.monotonic() - stopping_at < FREED_SECONDS
        # Ended by the drain (UNAVAILABLE) or, answered after gRPC's last 0.5 s, by gRPC.
        ended = call.exception(timeout=10)
        assert isinstance(ended, grpc.Call)
        assert ended.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
