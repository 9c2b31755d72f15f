"""Worker processes (``executor="processes"``): stop signals across the boundary, deaths, start-up.

The contract suite and the stop tests run against a process server too (conftest.py, the
``serve`` fixture's default); these tests cover what only processes have: the control block the
serving process writes and the worker's stop signals read, the frames, a worker killed mid-call,
a worker that ignores the terminal's signals, a worker that cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import io
import itertools
import logging
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import types
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from advisor.errors import ServerStartError
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.service import process_pool
from advisor.service.admission import Admission
from advisor.service.calls import StartedCall
from advisor.service.limits import RequestLimits
from advisor.service.logs import FIELDS
from advisor.service.process_pool import ProcessWorkers
from advisor.service.server import RunningServer, ServerConfig, start_server
from advisor.service.threads import CallAbortedError
from advisor.service.worker import CallEnd, WorkerContext, WorkerGate
from advisor.service.worker_link import (
    ControlBlock,
    Ended,
    Job,
    Ready,
    Response,
    Setup,
    encode_frame,
    read_frame,
)
from tests.support.fake_memory import fake_peak_workers
from tests.support.harness import CallError, LiveAdvisor
from tests.support.processes import cpu_ticks, stat_fields
from tests.support.server_process import ROOT
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget, quick_budget, small_task

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
_PROBE_TIMEOUT = 10.0


@pytest.fixture
def control() -> Iterator[tuple[ControlBlock, ControlBlock]]:
    """A control block as the serving process makes it, and the same memory as a worker maps it."""
    serving = ControlBlock.create()
    worker = ControlBlock(os.dup(serving.fd))
    yield serving, worker
    worker.close()
    serving.close()


# ---------------------------------------------------------------------------------------------
# The control block and the worker's stop signals


def test_a_call_marked_ended_stops_its_signals_and_only_its_own(
    control: tuple[ControlBlock, ControlBlock],
) -> None:
    serving, worker = control
    call_end = CallEnd(worker)
    call_end.call_id = 7
    stop = call_end.limited(60.0)  # what the servicer's call_stop_signal builds on it
    context = WorkerContext(call_end, time.monotonic() + 60.0)
    assert not stop.stopped() and context.is_active()
    serving.end_call(6)  # an earlier call on this worker ends late: not this one
    assert not stop.stopped() and context.is_active()
    serving.end_call(7)
    assert stop.stopped() and stop.remaining() == 0.0
    assert not context.is_active()
    serving.end_call(6)  # reported after this call's end: this call stays ended
    assert stop.stopped() and worker.ended_call == 7
    call_end.call_id = 8  # the next job on the worker starts unstopped
    assert not stop.stopped()


def test_the_drain_deadline_reaches_every_call_signal_and_the_gate(
    control: tuple[ControlBlock, ControlBlock],
) -> None:
    serving, worker = control
    call_end = CallEnd(worker)
    call_end.call_id = 1
    gate = WorkerGate(call_end)
    stop = gate.drain.limited(60.0)
    assert not gate.shutting_down
    assert 59.0 < stop.remaining() <= 60.0
    drain_end = time.monotonic() + 2.0
    serving.drain_deadline = drain_end
    assert gate.shutting_down
    assert stop.deadline == drain_end
    assert 0.0 < stop.remaining() <= 2.0
    serving.drain_deadline = time.monotonic() - 1.0
    assert stop.stopped()


def test_a_job_context_keeps_the_call_deadline_on_the_shared_clock(
    control: tuple[ControlBlock, ControlBlock],
) -> None:
    _, worker = control
    deadline = time.monotonic() + 5.0
    context = WorkerContext(CallEnd(worker), deadline)
    before = time.monotonic()
    remaining = context.time_remaining()
    after = time.monotonic()
    assert deadline - after <= remaining <= deadline - before
    assert WorkerContext(CallEnd(worker), math.inf).time_remaining() == math.inf


def test_frames_round_trip_and_a_cut_frame_is_the_end(
    control: tuple[ControlBlock, ControlBlock],
) -> None:
    job = Job(3, "Recommend", bytes(range(256)) * 100, time.monotonic())
    stream = io.BytesIO(encode_frame(job) + encode_frame(Response(b"x")))
    assert read_frame(stream) == job
    assert read_frame(stream) == Response(b"x")
    assert read_frame(stream) is None
    assert read_frame(io.BytesIO(encode_frame(job)[:-1])) is None


# ---------------------------------------------------------------------------------------------
# Worker processes behind a live server


def _health(channel: grpc.Channel) -> int:
    request = health_pb2.HealthCheckRequest()
    status: int = health_pb2_grpc.HealthStub(channel).Check(request, timeout=_PROBE_TIMEOUT).status
    return status


def test_a_server_starts_one_process_per_slot_and_stops_them(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=2)
    pids = running.worker_pids
    assert len(pids) == 2 and os.getpid() not in pids
    running.stop(0)
    for pid in pids:
        wait_until(lambda: not _running(pid))  # noqa: B023 - called within the iteration


def test_workers_run_at_the_configured_lower_priority(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1, worker_niceness=7)
    (worker,) = running.worker_pids
    assert _niceness(worker) == os.nice(0) + 7


def test_a_worker_within_its_bound_is_kept(serve: Callable[..., RunningServer]) -> None:
    running = serve(workers=1, worker_max_memory_mib=1024)  # within any test machine
    (worker,) = running.worker_pids
    with grpc.insecure_channel(running.address) as channel:
        advisor = LiveAdvisor(channel)
        request = pb.RecommendRequest(task=small_task(), budget=quick_budget())
        assert advisor.unary("Recommend", request, timeout=60).result.recommendations
        assert advisor.unary("ListPresets", pb.ListPresetsRequest(), timeout=60).presets
    assert running.worker_pids == [worker]


def test_a_replaced_workers_log_line_gives_what_it_held_past_its_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # In whole MiB, a worker a fraction of a MiB over its bound read as holding the bound itself:
    # "holds 100 MiB after a Recommend call, over worker_max_memory_mib 100". Its peak counts:
    # a worker that went over its bound and came back under it would stop every later call.
    workers = ProcessWorkers(RequestLimits(), Admission(1), 0, max_worker_bytes=100 * 2**20)
    worker: Any = types.SimpleNamespace(process=types.SimpleNamespace(pid=4321))
    held = Ended(resident_bytes=100 * 2**20 + 2**19)
    peaked = Ended(resident_bytes=90 * 2**20, peak_bytes=150 * 2**20)
    within = Ended(resident_bytes=90 * 2**20, peak_bytes=100 * 2**20)

    def job(method: str, request_id: str) -> Any:
        return types.SimpleNamespace(method=method, request_id=request_id)

    with caplog.at_level(logging.INFO, logger=process_pool.__name__):
        assert workers._holds_too_much(worker, held, job("Recommend", "r-1"))
        assert workers._holds_too_much(worker, peaked, job("StreamRecommend", "r-2"))
        over = Ended(resident_bytes=100 * 2**20)
        assert not workers._holds_too_much(worker, over, job("Analyze", "r-3"))
        assert not workers._holds_too_much(worker, within, job("Analyze", "r-4"))
    # Each names its call, whose client has the id (the JSON log: its request_id field).
    assert [record.getMessage() for record in caplog.records] == [
        "worker process 4321 held up to 100.5 MiB by the end of a Recommend call (request r-1), "
        "over worker_max_memory_mib 100; replacing it",
        "worker process 4321 held up to 150.0 MiB by the end of a StreamRecommend call "
        "(request r-2), over worker_max_memory_mib 100; replacing it",
    ]
    assert [getattr(record, FIELDS) for record in caplog.records] == [
        {"request_id": "r-1"},
        {"request_id": "r-2"},
    ]
    # At WARNING, as the other replacements (a worker that died or got stuck) are: at INFO it
    # was lost in the access lines, or dropped under ADVISOR_LOG_LEVEL=WARNING.
    assert {record.levelno for record in caplog.records} == {logging.WARNING}


def _niceness(pid: int) -> int:
    return int(stat_fields(pid)[16])  # the 19th field of the line


def _running(pid: int) -> bool:
    try:
        return stat_fields(pid)[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("streaming", [False, True], ids=["Recommend", "StreamRecommend"])
def test_a_worker_killed_mid_call_ends_only_that_call_and_is_replaced(
    serve: Callable[..., RunningServer], streaming: bool
) -> None:
    running = serve(workers=1)
    (killed,) = running.worker_pids
    with grpc.insecure_channel(running.address) as channel:
        advisor = LiveAdvisor(channel)
        with pytest.raises(grpc.RpcError) as failure:
            if streaming:
                events = advisor.stub.StreamRecommend(
                    pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget(30.0))
                )
                assert next(events).WhichOneof("event") == "progress"  # the search is running
                os.kill(killed, signal.SIGKILL)
                list(events)
            else:
                idle = cpu_ticks(killed)  # a worker waiting for a job does not run
                future = advisor.stub.Recommend.future(
                    pb.RecommendRequest(task=LONG_TASK, budget=long_budget(30.0))
                )
                # Killed once it works on the call (a job it never read goes to another worker).
                wait_until(lambda: cpu_ticks(killed) >= idle + 5)
                os.kill(killed, signal.SIGKILL)
                future.result(timeout=_PROBE_TIMEOUT)
        error: grpc.Call = failure.value  # type: ignore[assignment]
        assert error.code() is grpc.StatusCode.INTERNAL
        # The call's own id, sent with its status, which its access line names.
        [request_id] = [v for k, v in error.trailing_metadata() or () if k == "request-id"]
        assert isinstance(request_id, str)
        assert error.details() == f"internal error; request id {request_id}"
        assert "SIGKILL" not in (error.details() or "")
        assert _health(channel) == SERVING
        assert running.in_flight == 0
        wait_until(lambda: bool(running.worker_pids) and running.worker_pids != [killed])
        response = advisor.unary(
            "Recommend", pb.RecommendRequest(task=small_task(), budget=quick_budget())
        )
        assert response.result.recommendations
        assert _health(channel) == SERVING


def test_a_call_after_an_idle_worker_died_waits_for_its_replacement(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1)
    (killed,) = running.worker_pids
    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: not _running(killed))
    with grpc.insecure_channel(running.address) as channel:
        # Sent at once: it must not go to the dead worker, it waits for the new one.
        response = LiveAdvisor(channel).unary(
            "Recommend", pb.RecommendRequest(task=small_task(), budget=quick_budget()), timeout=60
        )
        assert response.result.recommendations
        assert _health(channel) == SERVING
    assert running.worker_pids and running.worker_pids != [killed]


def _handed_to_a_worker_that_dies_unread(
    running: RunningServer, channel: grpc.Channel, request: pb.RecommendRequest
) -> tuple[int, grpc.Future[pb.RecommendResponse]]:
    """Stop the one worker, hand it ``request``'s call, then kill it: it never read the job.

    Return the killed worker's pid and the call.
    """
    (worker,) = running.worker_pids
    os.kill(worker, signal.SIGSTOP)
    try:
        call = LiveAdvisor(channel).stub.Recommend.future(request, timeout=60)
        wait_until(lambda: running.in_flight == 1)
    finally:
        os.kill(worker, signal.SIGKILL)
    return worker, call


def test_a_call_handed_to_a_worker_that_died_before_reading_it_goes_to_the_replacement(
    serve: Callable[..., RunningServer],
) -> None:
    # Killed before it read the job, the worker never started the call (no Accepted frame), so
    # the call must not fail: it goes to the replacement.
    running = serve(workers=1)
    with grpc.insecure_channel(running.address) as channel:
        killed, call = _handed_to_a_worker_that_dies_unread(
            running, channel, pb.RecommendRequest(task=small_task(), budget=quick_budget())
        )
        assert call.result(timeout=60).result.recommendations
        assert _health(channel) == SERVING
    assert running.worker_pids and running.worker_pids != [killed]


def test_a_call_cancelled_while_its_job_waits_for_a_worker_frees_its_slot(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1)
    with grpc.insecure_channel(running.address) as channel:
        _, call = _handed_to_a_worker_that_dies_unread(
            running, channel, pb.RecommendRequest(task=LONG_TASK, budget=long_budget(30.0))
        )
        call.cancel()
        wait_until(lambda: running.in_flight == 0)
        response = LiveAdvisor(channel).unary(
            "Recommend", pb.RecommendRequest(task=small_task(), budget=quick_budget()), timeout=60
        )
        assert response.result.recommendations
        assert _health(channel) == SERVING


def _dispatches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the method of every job the serving process hands to a worker, in order."""
    dispatched: list[str] = []
    dispatch = ProcessWorkers._dispatch

    def recorded(workers: ProcessWorkers, job: Any, worker: Any) -> None:
        dispatched.append(job.method)
        dispatch(workers, job, worker)

    monkeypatch.setattr(ProcessWorkers, "_dispatch", recorded)
    return dispatched


def _hold_workers(monkeypatch: pytest.MonkeyPatch, launchers: Path) -> None:
    """Make every worker started from now on stop itself (SIGSTOP) before Python starts."""
    launcher = launchers / "held-python"
    launcher.write_text(f'#!/bin/sh\nkill -STOP $$\nexec {shlex.quote(sys.executable)} "$@"\n')
    launcher.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(launcher))


def _held_replacement(
    running: RunningServer, monkeypatch: pytest.MonkeyPatch, launchers: Path
) -> int:
    """Kill the one (idle) worker; its replacement stops itself before Python starts.

    Return the replacement's pid. Until it is continued (SIGCONT) the server has a free slot
    and no idle worker, so the next call is admitted and then waits for an idle worker.
    """
    _hold_workers(monkeypatch, launchers)
    (killed,) = running.worker_pids
    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: running.worker_pids not in ([], [killed]))
    (replacement,) = running.worker_pids
    wait_until(lambda: stat_fields(replacement)[0] == "T")
    return replacement


# Long enough for the call to be seen admitted (milliseconds) before it passes, even on a
# loaded machine; the call then waits for a worker until it passes.
_WAITING_DEADLINE_SECONDS = 4.0


@pytest.mark.parametrize(
    ("timeout", "code"),
    [
        (60.0, grpc.StatusCode.CANCELLED),
        (_WAITING_DEADLINE_SECONDS, grpc.StatusCode.DEADLINE_EXCEEDED),
    ],
    ids=["cancelled", "deadline"],
)
def test_a_call_that_ends_while_it_waits_for_an_idle_worker_frees_its_slot_at_once(
    serve: Callable[..., RunningServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    timeout: float,
    code: grpc.StatusCode,
) -> None:
    # gRPC cancels the handler of a call whose client cancelled it or whose deadline passed, so
    # the call stops waiting for an idle worker there: its slot must be free at once (no worker
    # will end its work), its job must never reach a worker, and the next call must be admitted.
    running = serve(workers=1)
    dispatched = _dispatches(monkeypatch)
    replacement = _held_replacement(running, monkeypatch, tmp_path)
    request = pb.RecommendRequest(task=small_task(), budget=quick_budget())
    with grpc.insecure_channel(running.address) as channel:
        stub = LiveAdvisor(channel).stub
        try:
            ended = stub.Recommend.future(request, timeout=timeout)
            wait_until(lambda: running.in_flight == 1)  # admitted, waiting for a worker
            if code is grpc.StatusCode.CANCELLED:
                ended.cancel()
            wait_until(ended.done)
            assert ended.code() is code
            wait_until(lambda: running.in_flight == 0)  # while no worker can run anything
            assert dispatched == []
            follow_up = stub.Recommend.future(request, timeout=120.0)
            wait_until(lambda: running.in_flight == 1)  # admitted, not RESOURCE_EXHAUSTED
        finally:
            os.kill(replacement, signal.SIGCONT)
        assert follow_up.result(timeout=120.0).result.recommendations  # on the replacement
    assert dispatched == ["Recommend"]  # the follow-up's job only
    assert running.in_flight == 0


def _searching_as_the_drain_begins(
    running: RunningServer, channel: grpc.Channel, time_limit: float
) -> tuple[Iterator[pb.StreamRecommendResponse], threading.Thread]:
    """Stream a search of LONG_TASK, then stop the server on a thread once the search runs.

    Returns the stream (its first progress event read) and the stopping thread, once health
    reads NOT_SERVING: the drain has begun with the search in flight.
    """
    events: Iterator[pb.StreamRecommendResponse] = LiveAdvisor(channel).stub.StreamRecommend(
        pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget(time_limit)), timeout=120
    )
    assert next(events).WhichOneof("event") == "progress"  # the search is running
    stopping = threading.Thread(target=running.stop)
    stopping.start()
    wait_until(lambda: _health(channel) == NOT_SERVING)
    return events, stopping


def test_a_worker_that_dies_while_the_server_drains_is_not_replaced(
    serve: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    # No call is admitted once the drain has begun, so a replacement would only load the
    # engines during the shutdown, and the exit waited for it (seconds after the drain on a
    # quiet machine, up to the 5 s kill on a busy one).
    running = serve(workers=1, grace_seconds=60.0)
    (worker,) = running.worker_pids
    with grpc.insecure_channel(running.address) as channel:
        events, stopping = _searching_as_the_drain_begins(running, channel, 30.0)
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(grpc.RpcError) as failure:
            list(events)
        assert failure.value.code() is grpc.StatusCode.INTERNAL
        stopping.join(timeout=60)
    assert not stopping.is_alive()
    assert "starting another" not in caplog.text
    assert f"worker process {worker} exited with signal SIGKILL; not replaced" in caplog.text


def test_the_stop_kills_a_worker_still_starting_at_once(
    serve: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A worker still loading the engines has no call to finish; the stop used to close its
    # input and wait for it to exit, which it does only once it has loaded them, or kill it
    # after 5 s (a replacement started just before a SIGTERM held up the exit so).
    monkeypatch.setattr(process_pool, "_EXIT_SECONDS", 600.0)
    running = serve(workers=1)
    replacement = _held_replacement(running, monkeypatch, tmp_path)  # never gets ready
    stopping = threading.Thread(target=running.stop)
    stopping.start()
    stopping.join(timeout=60)
    assert not stopping.is_alive()
    assert not _running(replacement)


def test_a_start_abandoned_while_the_workers_load_kills_them_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A SIGTERM while the workers start cancels the start. The cancellation reached each
    # worker's ready future, so the close took the loading workers for ready ones: it closed
    # their input and waited for them to load the engines (up to the 5 s kill), and a worker
    # that then reported ready hit its cancelled future ("Task exception was never retrieved",
    # InvalidStateError, logged as the process exited).
    monkeypatch.setattr(process_pool, "_EXIT_SECONDS", 600.0)
    _hold_workers(monkeypatch, tmp_path)  # never ready: still loading when the start ends
    launched = _recorded_launches(monkeypatch)

    async def abandon_the_start() -> None:
        start = asyncio.create_task(ProcessWorkers.start(RequestLimits(), Admission(2), 2, 0))
        while len(launched) < 2:
            await asyncio.sleep(0.01)
        start.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(60):  # the close used to wait for the loading workers
                await start

    try:
        asyncio.run(abandon_the_start())
        for worker in launched:
            assert worker.process.returncode == -signal.SIGKILL
            assert worker.watch.done() and worker.watch.exception() is None
    finally:
        for worker in launched:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.process.pid, signal.SIGKILL)


def test_a_worker_stuck_on_a_call_that_ended_is_killed_and_its_slot_freed(
    serve: Callable[..., RunningServer],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Work stops at its next poll; a worker that never polls again (stopped here, hung in the
    # field) held its slot for good: on a one-slot server every later call was refused
    # RESOURCE_EXHAUSTED while health read SERVING.
    monkeypatch.setattr(process_pool, "_STUCK_SECONDS", 0.5, raising=False)
    running = serve(workers=1)
    (stuck,) = running.worker_pids
    with grpc.insecure_channel(running.address) as channel:
        advisor = LiveAdvisor(channel)
        events = advisor.stub.StreamRecommend(
            pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget(30.0)), timeout=120
        )
        assert next(events).WhichOneof("event") == "progress"  # the search is running
        os.kill(stuck, signal.SIGSTOP)
        events.cancel()
        wait_until(lambda: running.in_flight == 0)
        assert not _running(stuck)
        wait_until(lambda: running.worker_pids not in ([], [stuck]))
        response = advisor.unary(
            "Recommend", pb.RecommendRequest(task=small_task(), budget=quick_budget()), timeout=120
        )
        assert response.result.recommendations
        assert _health(channel) == SERVING
    assert f"worker process {stuck} still works on a StreamRecommend call that ended" in caplog.text


def test_a_call_that_ended_before_its_work_is_let_go_once_the_work_ends(
    serve: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stuck-worker check of a call that ended first (cancelled, past its deadline) held the
    # call's job, its request twice among it (payload and frame), for its whole wait after the
    # work had stopped: the serving process of a pipeline whose large requests missed their
    # deadlines held every one of them for 30 s.
    stuck_seconds = 3.0
    monkeypatch.setattr(process_pool, "_STUCK_SECONDS", stuck_seconds, raising=False)
    checked: list[str] = []
    unstick = ProcessWorkers._unstick

    def recorded(self: ProcessWorkers, job: Any) -> None:
        checked.append(job.method)
        unstick(self, job)

    monkeypatch.setattr(ProcessWorkers, "_unstick", recorded)
    running = serve(workers=1)
    with grpc.insecure_channel(running.address) as channel:
        events = LiveAdvisor(channel).stub.StreamRecommend(
            pb.StreamRecommendRequest(task=LONG_TASK, budget=long_budget(30.0)), timeout=120
        )
        assert next(events).WhichOneof("event") == "progress"  # the search is running
        events.cancel()
        cancelled = time.monotonic()
        wait_until(lambda: running.in_flight == 0)  # the work stopped at its next poll
        time.sleep(max(0.0, cancelled + stuck_seconds + 0.5 - time.monotonic()))
    assert checked == [], "the check was cancelled when the work ended"


@pytest.mark.parametrize("named", [False, True], ids=["unnamed", "named"])
def test_a_finished_call_leaves_no_job_behind(
    serve: Callable[..., RunningServer], named: bool
) -> None:
    # gRPC keeps a call's done callbacks after the call; one that held its job held the request's
    # frame too: a serving process grew by each large request it served (65 -> 576 MB over 100
    # analyses of 3.7 MB requests) and never gave it back. A named search's callback, which lets
    # its name go, held its job too, through the way to hurry it (FinishSearch).
    def jobs() -> list[object]:
        gc.collect()
        # type(), not isinstance(): isinstance reads __class__, which some objects of a library
        # another test imported answer with a warning (torch's deprecated reduce_op), an error
        # under the suite's warning filter.
        return [o for o in gc.get_objects() if type(o) is process_pool._Job]

    before = weakref.WeakSet(jobs())  # other tests' servers' jobs are theirs to keep or not
    running = serve(workers=1)
    with grpc.insecure_channel(running.address) as channel:
        advisor = LiveAdvisor(channel)
        for index in range(4):
            search_id = f"search-{index}" if named else ""
            request = pb.RecommendRequest(
                task=small_task(), budget=quick_budget(), search_id=search_id
            )
            assert advisor.stub.Recommend(request, timeout=60).result.recommendations
        wait_until(lambda: running.in_flight == 0)
        assert [job for job in jobs() if job not in before] == []


def _large_analysis(correlations: int) -> pb.AnalyzeRequest:
    """An analysis of a 128 x 128 grid whose correlations are 8,000 listed locations a side.

    Each correlation takes about 32 kB on the wire, so the request is about ``correlations``
    x 32 kB: a large request whose analysis still takes well under a second.
    """
    rng = np.random.default_rng(0)
    pairs = [rng.permutation(128 * 128) for _ in range(correlations)]
    return pb.AnalyzeRequest(
        task=pb.Task(
            input=pb.InputSpec(shape=[128, 128]),
            correlations=[
                pb.Correlation(
                    name=f"c{index}",
                    a=pb.Region(indices=pb.IndexList(values=pair[:8000].tolist())),
                    b=pb.Region(indices=pb.IndexList(values=pair[8000:16000].tolist())),
                )
                for index, pair in enumerate(pairs)
            ],
        ),
        architecture=pb.Architecture(
            input=pb.InputSpec(shape=[128, 128]),
            representation=4,
            layers=[pb.Layer(channels=4, pool=[2, 2]) for _ in range(7)],
        ),
    )


def test_a_finished_call_leaves_no_request_behind(serve: Callable[..., RunningServer]) -> None:
    # The reader of a call's one request message was left suspended after it, holding the
    # request, in a reference cycle only a full garbage collection frees: after every ten
    # analyses of a 3.7 MB request the serving process still held 35 MiB of requests (resident
    # 65 -> 125-140 MB). With the collector off, what a call leaves behind stays, so it is
    # counted here, not left to chance.
    request = _large_analysis(32)
    size = request.ByteSize()
    running = serve(workers=1)
    with grpc.insecure_channel(running.address) as channel:
        advisor = LiveAdvisor(channel)
        assert advisor.stub.Analyze(request, timeout=120).analysis.correlations  # warmed up
        collecting = gc.isenabled()
        gc.disable()
        tracemalloc.start()
        try:
            for _ in range(8):
                assert advisor.stub.Analyze(request, timeout=120).analysis.correlations
            wait_until(lambda: running.in_flight == 0)
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
            if collecting:
                gc.enable()
    assert held < 2 * size, f"{held:,} bytes held after 8 calls of {size:,} bytes"


def test_workers_ignore_the_terminal_signals_the_server_drains_on(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1)
    (worker,) = running.worker_pids
    with grpc.insecure_channel(running.address) as channel:
        call = LiveAdvisor(channel).stub.Recommend.future(
            pb.RecommendRequest(task=LONG_TASK, budget=long_budget(1.0))
        )
        wait_until(lambda: running.in_flight == 1)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a terminal's too
            os.kill(worker, signum)
        result = call.result(timeout=_PROBE_TIMEOUT).result  # the search ran to its time limit
        assert result.recommendations
    assert running.worker_pids == [worker]


@pytest.mark.parametrize(
    "command",
    [["-m", "advisor.cli.main", "serve"], [str(ROOT / "server.py")]],
    ids=["advisor serve", "server.py"],
)
def test_a_server_started_with_standard_error_closed_serves(command: list[str]) -> None:
    # `advisor serve 2>&-` (a daemon's child) started its workers without a standard error
    # (`advisor` replaces its own with /dev/null, which children do not inherit): each failed at
    # once, and the server exited 7 without a word, as the line saying why had nowhere to go.
    closed = ["sh", "-c", 'exec "$0" "$@" 2>&-', sys.executable]
    server = subprocess.Popen(
        [*closed, *command, "--workers", "1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # the line comes once the worker is ready, or EOF
        assert line.startswith("listening on "), f"exit status {server.wait(60)}"
        with grpc.insecure_channel(line.removeprefix("listening on ").strip()) as channel:
            presets = LiveAdvisor(channel).stub.ListPresets(pb.ListPresetsRequest(), timeout=60)
        assert presets.presets
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


def test_a_worker_that_cannot_start_is_a_start_error_naming_the_executor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(ServerStartError) as failure:
        start_server(ServerConfig(workers=1))
    assert failure.value.settings == ("executor",)
    assert "exited with status 1" in failure.value.description


def test_a_worker_runs_the_package_the_server_runs(
    serve: Callable[..., RunningServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``python /srv/advisor/server.py`` started in another directory imports the checkout's
    # package (its script's folder is on its path), but its workers ran ``python -m`` from the
    # working directory: they imported whatever other version was installed, or none and never
    # started (--executor: a worker process did not start).
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "advisor", checkout / "advisor", ignore=shutil.ignore_patterns("*.pyc"))
    worker = checkout / "advisor" / "service" / "worker.py"
    marker = worker.with_name("imported-here")
    worker.write_text(
        worker.read_text().replace(
            "from __future__ import annotations\n",
            "from __future__ import annotations\n\nfrom pathlib import Path as _Path\n\n"
            f"_Path({str(marker)!r}).touch()\n",
            1,
        )
    )
    monkeypatch.syspath_prepend(str(checkout))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.chdir(tmp_path)
    serve(workers=1)  # SERVING: the worker has imported its module
    assert marker.exists()


def test_bad_input_is_answered_from_the_worker_as_from_a_thread(
    serve: Callable[..., RunningServer],
) -> None:
    running = serve(workers=1)
    with grpc.insecure_channel(running.address) as channel:
        raw: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            "/advisor.v1.ArchitectureAdvisor/Recommend"
        )
        with pytest.raises(grpc.RpcError) as failure:
            raw(b"\xff\xff\xff", timeout=_PROBE_TIMEOUT)
        error: grpc.Call = failure.value  # type: ignore[assignment]
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(CallError) as refused:
            LiveAdvisor(channel).unary(
                "Recommend", pb.RecommendRequest(task=small_task(), budget=quick_budget(seed=-1))
            )
        assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert [field for field, _ in refused.value.violations] == ["budget.seed"]


def test_a_worker_started_as_the_drain_begins_gets_the_drain_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A replacement (for a worker retired for its memory, or one that died) is being spawned
    # when a SIGTERM begins the drain. Its control block took the drain deadline before the
    # spawn and the drain wrote only the workers already listed, so it never learnt of the
    # drain: a call it then served (admitted before the drain, waiting for a worker) ran past
    # the end of the grace period and was cut off instead of answering its best so far.
    spawning, spawn = asyncio.Event(), asyncio.Event()
    create_subprocess_exec = asyncio.create_subprocess_exec

    async def slow_spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        spawning.set()
        await spawn.wait()
        return await create_subprocess_exec(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", slow_spawn)

    async def drain_while_spawning() -> float:
        workers = ProcessWorkers(RequestLimits(), Admission(1), 0)
        launch = asyncio.create_task(workers._launch())
        await spawning.wait()
        drain_end = time.monotonic() + 60.0
        await workers.drain(drain_end)
        spawn.set()
        worker = await launch
        try:
            return worker.control.drain_deadline - drain_end
        finally:
            await workers.close()  # still loading the engines: killed at once

    assert asyncio.run(drain_while_spawning()) == 0.0


def test_the_close_stops_a_replacement_still_being_spawned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A dead worker's replacement was spawned on the task that handled the death, which the close
    # did not wait for: a close that came during the spawn returned, and the new worker process
    # started after it, outliving the pool (killed only once its spawn ended, or orphaned when
    # the server's process exited first).
    spawning, spawn, settled = asyncio.Event(), asyncio.Event(), asyncio.Event()
    spawned: list[asyncio.subprocess.Process] = []
    create_subprocess_exec = asyncio.create_subprocess_exec

    async def held_spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        try:
            spawning.set()
            await spawn.wait()
            spawned.append(await create_subprocess_exec(*args, **kwargs))
            return spawned[-1]
        finally:
            settled.set()  # spawned, or cancelled before the spawn

    async def close_while_spawning() -> None:
        workers = await ProcessWorkers.start(RequestLimits(), Admission(1), 1, 0)
        monkeypatch.setattr(asyncio, "create_subprocess_exec", held_spawn)
        try:
            (worker,) = workers.pids
            os.kill(worker, signal.SIGKILL)
            async with asyncio.timeout(60):
                await spawning.wait()  # its replacement is being spawned
        finally:
            await workers.close()
        spawn.set()  # a spawn the close left running goes on now
        async with asyncio.timeout(60):
            await settled.wait()

    try:
        asyncio.run(close_while_spawning())
        assert spawned == []
    finally:
        for process in spawned:
            with contextlib.suppress(ProcessLookupError):
                process.kill()


def test_the_close_kills_a_worker_that_ended_its_output_but_does_not_exit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The close killed, after its 5 s, only the workers whose output was still open: one that
    # had closed it but hung on its way out (stuck writing its log to a full pipe, say) was
    # waited for with no bound, and the server's stop never returned.
    monkeypatch.setattr(process_pool, "_EXIT_SECONDS", 0.1)
    ready = tmp_path / "ready-frame"
    ready.write_bytes(encode_frame(Ready()))
    launcher = tmp_path / "hung-worker"
    launcher.write_text(f"#!/bin/sh\ncat {shlex.quote(str(ready))}\nexec >&-\nexec sleep 600\n")
    launcher.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(launcher))

    async def close_a_hung_worker() -> int | None:
        workers = ProcessWorkers(RequestLimits(), Admission(1), 0)
        worker = await workers._launch()
        try:
            async with asyncio.timeout(60):
                await worker.ready
                await _until(lambda: not worker.alive)  # its output has ended
                await workers.close()
            return worker.process.returncode
        finally:
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()

    assert asyncio.run(close_a_hung_worker()) == -signal.SIGKILL


def _memfds() -> int:
    """Count this process's open memfds (the workers' control blocks among them)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:")
    return count


def _failing_spawns(monkeypatch: pytest.MonkeyPatch, failures: int, after: int = 0) -> None:
    """Make ``failures`` spawns, after ``after`` more that succeed, fail as at a process limit."""
    create_subprocess_exec = asyncio.create_subprocess_exec
    spawns = itertools.count()

    async def spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        if after <= next(spawns) < after + failures:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return await create_subprocess_exec(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spawn)


def test_a_worker_that_cannot_be_spawned_leaves_no_control_block_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each failed spawn left its control block's memfd (and its mapping's) open for good.
    _failing_spawns(monkeypatch, 3)
    workers = ProcessWorkers(RequestLimits(), Admission(1), 0)
    before = _memfds()
    for _ in range(3):
        with pytest.raises(BlockingIOError):
            asyncio.run(workers._launch())
    assert _memfds() == before


def test_a_replacement_that_cannot_be_spawned_at_first_is_spawned_again(
    serve: Callable[..., RunningServer],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A worker let go (retired for its memory, or dead) is replaced by a new process; a spawn
    # that failed for a moment ended the replacement for good: the slot had no worker, every
    # call it admitted waited for one until its deadline, while health read SERVING.
    running = serve(workers=1)
    (killed,) = running.worker_pids
    _failing_spawns(monkeypatch, 1)
    os.kill(killed, signal.SIGKILL)
    with grpc.insecure_channel(running.address) as channel:
        # Calls are refused while no worker can be started (NOT_SERVING for the second before
        # the spawn is tried again): this one comes once a worker is ready again.
        wait_until(lambda: _health(channel) == NOT_SERVING)
        wait_until(lambda: _health(channel) == SERVING, timeout=120.0)
        response = LiveAdvisor(channel).unary(
            "Recommend", pb.RecommendRequest(task=small_task(), budget=quick_budget()), timeout=60
        )
        assert response.result.recommendations
    assert running.in_flight == 0
    assert running.worker_pids and running.worker_pids != [killed]
    assert "could not spawn a worker process" in caplog.text


_EXITS_AT_ONCE = """
import sys
sys.exit(3)
"""


@pytest.mark.parametrize("failure", ["spawn", "exit"])
def test_health_reads_not_serving_while_no_worker_can_be_started_and_serving_once_one_is(
    serve: Callable[..., RunningServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    # The one worker of a one-slot server died and no replacement could start (fork's EAGAIN at
    # a container's process limit; a new worker that exits before it is ready): every call
    # waited for a worker until its deadline, while health read SERVING, so a load balancer
    # kept sending calls to a server that could serve none.
    running = serve(workers=1)
    (killed,) = running.worker_pids
    failing = threading.Event()
    failing.set()
    create_subprocess_exec = asyncio.create_subprocess_exec
    spawns = itertools.count()

    async def spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        if next(spawns) == 0:  # the first replacement fails once a call waits for it
            await _until(lambda: running.in_flight > 0)
        if failure == "spawn" and failing.is_set():
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return await create_subprocess_exec(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spawn)
    if failure == "exit":
        _scripted_workers(monkeypatch, tmp_path, _EXITS_AT_ONCE)
    os.kill(killed, signal.SIGKILL)
    with grpc.insecure_channel(running.address) as channel:
        # A call admitted while the replacement was on its way waited on for a worker until its
        # deadline once the pool stopped serving: it is refused then, as later calls are.
        waiting = LiveAdvisor(channel).stub.Recommend.future(
            pb.RecommendRequest(task=small_task(), budget=quick_budget()), timeout=60
        )
        assert waiting.exception(timeout=20) is not None
        assert waiting.code() is grpc.StatusCode.UNAVAILABLE
        assert "no worker process can take calls" in waiting.details()
        wait_until(lambda: _health(channel) == NOT_SERVING)
        # A client dialling the server itself (no load balancer) waited for a worker until its
        # deadline: it is refused at once, UNAVAILABLE, which its retry policy retries.
        with pytest.raises(CallError) as refused:
            LiveAdvisor(channel).unary(
                "Recommend", pb.RecommendRequest(task=small_task(), budget=quick_budget()), 30
            )
        assert refused.value.code is grpc.StatusCode.UNAVAILABLE
        assert "no worker process can take calls" in refused.value.details
        if failure == "exit":
            monkeypatch.undo()  # the next replacement is a real worker
        failing.clear()
        wait_until(lambda: _health(channel) == SERVING, timeout=120.0)
        response = LiveAdvisor(channel).unary(
            "Recommend", pb.RecommendRequest(task=small_task(), budget=quick_budget()), timeout=60
        )
        assert response.result.recommendations
    assert "no worker process can take calls; health NOT_SERVING" in caplog.text


def test_a_job_waiting_to_be_resent_is_refused_once_no_worker_can_be_started(
    serve: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A job its dead worker never read waits for the next worker; when none could be started
    # it waited on until its deadline, while calls made after it were refused at once.
    running = serve(workers=1)
    _failing_spawns(monkeypatch, 1_000_000)
    with grpc.insecure_channel(running.address) as channel:
        _, call = _handed_to_a_worker_that_dies_unread(
            running, channel, pb.RecommendRequest(task=small_task(), budget=quick_budget())
        )
        refused = call.exception(timeout=20)
        assert isinstance(refused, grpc.Call)
        assert refused.code() is grpc.StatusCode.UNAVAILABLE
        assert "no worker process can take calls" in refused.details()
        wait_until(lambda: running.in_flight == 0)


def _recorded_launches(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every worker :meth:`ProcessWorkers._launch` starts, in the list returned."""
    launched: list[Any] = []
    launch = ProcessWorkers._launch

    async def recorded(workers: ProcessWorkers) -> Any:
        launched.append(await launch(workers))
        return launched[-1]

    monkeypatch.setattr(ProcessWorkers, "_launch", recorded)
    return launched


def test_a_worker_that_cannot_be_spawned_at_start_is_a_start_error_and_stops_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The spawn's OSError (fork's EAGAIN at a container's process limit) came out of the start
    # as it was, a traceback naming no setting, and the workers already started ran on.
    _failing_spawns(monkeypatch, 1, after=1)
    launched = _recorded_launches(monkeypatch)
    try:
        with pytest.raises(ServerStartError) as failure:
            start_server(ServerConfig(workers=2))
        assert failure.value.settings == ("executor",)
        assert "Resource temporarily unavailable" in failure.value.description
        (started,) = launched
        assert started.process.returncode is not None
    finally:
        for worker in launched:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.process.pid, signal.SIGKILL)


def test_a_worker_let_go_for_its_memory_during_the_drain_is_logged_as_not_replaced(
    serve: Callable[..., RunningServer],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # A worker over its memory bound, let go as the drain ran, was logged "replacing it", but
    # no call could come for a replacement and none was started: the log promised a worker that
    # never came. The bound is one MiB (the idle worker's floor lowered for the test), so the
    # worker is over it after its call however little of the search a loaded machine ran: at
    # 95 MiB, a search cut short there left its worker under it, and nothing was logged. Its
    # peak reads 0, so the bound does not stop the search itself (test_worker_memory.py).
    monkeypatch.setattr(process_pool, "WORKER_PROCESS_BYTES", 2**20)
    caplog.set_level(logging.INFO, logger=process_pool.__name__)
    fake_peak_workers(monkeypatch, tmp_path, 0)
    running = serve(workers=1, worker_max_memory_mib=1, grace_seconds=60.0)
    (worker,) = running.worker_pids
    with grpc.insecure_channel(running.address) as channel:
        events, stopping = _searching_as_the_drain_begins(running, channel, 5.0)
        assert list(events)[-1].result.recommendations  # answered within its time limit
        stopping.join(timeout=60)
    assert not stopping.is_alive()
    (line,) = [
        r.getMessage() for r in caplog.records if f"worker process {worker} held" in r.getMessage()
    ]
    assert line.endswith("; letting it go, not replaced, as the server is shutting down")
    assert "replacing it" not in caplog.text


class _CallContext:
    """The part of a call's context that :meth:`ProcessWorkers.begin` uses; :meth:`end` ends it."""

    def __init__(self, seconds: float = 60.0) -> None:
        self._callbacks: list[Callable[[Any], None]] = []
        self._ends = time.monotonic() + seconds

    def time_remaining(self) -> float:
        return self._ends - time.monotonic()

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.append(callback)

    def end(self) -> None:
        """End the call, as its client cancelling it does."""
        for callback in self._callbacks:
            callback(self)


def test_a_call_that_ends_as_its_unread_job_is_resent_frees_its_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A job its worker died before reading goes to the next idle worker, on a task. A call that
    # ended in the same turn of the event loop as the death was noticed cancelled that task
    # before it ever ran, so its handling of the cancellation, which ends the call's outcomes
    # and frees its slot, never ran either: the slot was held for good, and a one-slot server
    # refused every later call RESOURCE_EXHAUSTED while health read SERVING.
    context = _CallContext()

    def end_the_call(workers: ProcessWorkers, *_: object) -> None:
        # In place of the replacement (which the call does not need), in the turn the death is
        # handled in, right after the job was put back.
        context.end()

    monkeypatch.setattr(ProcessWorkers, "_start_replacement", end_the_call)

    async def end_as_resent() -> int:
        admission = Admission(1)
        workers = await ProcessWorkers.start(RequestLimits(), admission, 1, 0)
        try:
            (worker,) = workers.pids
            os.kill(worker, signal.SIGSTOP)  # never reads the job
            request = pb.ListPresetsRequest().SerializeToString()
            started = await workers.begin("ListPresets", request, cast(Any, context))
            os.kill(worker, signal.SIGKILL)
            async with asyncio.timeout(60):
                while await started.outcomes.get() is not None:
                    pass
            return admission.in_flight
        finally:
            await workers.close()

    assert asyncio.run(end_as_resent()) == 0


def test_a_late_hand_off_gives_the_next_calls_worker_an_earlier_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Beside a CPU-bound process a worker's answer came up to 136 ms after its work stopped,
    # where the call kept 50 ms for it, and 6 of 61 calls with a 1 s deadline were lost.
    deadlines: list[float] = []
    dispatch = ProcessWorkers._dispatch

    def recorded(workers: ProcessWorkers, job: Any, worker: Any) -> None:
        sent = read_frame(io.BytesIO(job.frame))
        assert isinstance(sent, Job)
        deadlines.append(sent.deadline)
        dispatch(workers, job, worker)

    monkeypatch.setattr(ProcessWorkers, "_dispatch", recorded)

    async def late_then_next() -> tuple[float, float]:
        workers = await ProcessWorkers.start(RequestLimits(), Admission(1), 1, 0)
        try:
            (worker,) = workers.pids
            request = pb.ListPresetsRequest().SerializeToString()
            os.kill(worker, signal.SIGSTOP)  # held back past the first call's stop
            late = await workers.begin("ListPresets", request, cast(Any, _CallContext(0.2)))
            await asyncio.sleep(0.5)
            os.kill(worker, signal.SIGCONT)
            async with asyncio.timeout(60):
                while await late.outcomes.get() is not None:
                    pass
                context = _CallContext(2.0)  # ends 2 s from a moment before ``asked``
                asked = time.monotonic()
                started = await workers.begin("ListPresets", request, cast(Any, context))
                while await started.outcomes.get() is not None:
                    pass
            return asked, deadlines[-1]
        finally:
            await workers.close()

    asked, deadline = asyncio.run(late_then_next())
    # The first answer came at least 0.5 - 0.2 + 0.05 s after its work's stop.
    assert deadline <= asked + 2.0 - 1.5 * 0.35
    assert deadline >= asked + 2.0 / 2 - 0.1  # at most half the call's time is kept


async def _outcomes(started: StartedCall) -> list[object]:
    """Return a started call's outcomes, up to its work's end."""
    outcomes: list[object] = []
    while (outcome := await started.outcomes.get()) is not None:
        outcomes.append(outcome)
    return outcomes


async def _answered(workers: ProcessWorkers) -> bool:
    """Whether a ``ListPresets`` call through ``workers`` is answered (with its response alone)."""
    request = pb.ListPresetsRequest().SerializeToString()
    outcomes = await _outcomes(
        await workers.begin("ListPresets", request, cast(Any, _CallContext()))
    )
    return len(outcomes) == 1 and isinstance(outcomes[0], bytes)


async def _replacement_held(workers: ProcessWorkers, over: int) -> int:
    """Return the pid of the replacement of ``over``, once it has stopped itself (not ready)."""
    await _until(lambda: len(workers.pids) == 2)
    (replacement,) = set(workers.pids) - {over}
    await _until(lambda: stat_fields(replacement)[0] == "T")
    return replacement


async def _until(condition: Callable[[], bool]) -> None:
    """Wait, without blocking the event loop, until ``condition`` holds."""
    while not condition():
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def _worker_over_its_bound(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[tuple[ProcessWorkers, int]]:
    """Yield a one-worker pool and its worker's pid, over its memory bound after one call.

    Its replacements stop before Python starts (:func:`_hold_workers`); the body runs within
    two minutes, and the pool is closed after it.
    """
    workers = await ProcessWorkers.start(RequestLimits(), Admission(1), 1, 0, max_worker_bytes=1)
    try:
        (over,) = workers.pids
        _hold_workers(monkeypatch, tmp_path)
        async with asyncio.timeout(120):
            assert await _answered(workers)  # leaves its worker over the bound
            yield workers, over
    finally:
        await workers.close()


def test_a_worker_over_its_memory_bound_serves_until_its_replacement_is_ready(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A worker over its bound once a call had ended was let go at once, and its replacement was
    # spawned only after it had exited: its slot had no worker while the replacement loaded the
    # engines, and a call that came meanwhile waited 0.4-1.1 s, where an idle pool answers in
    # milliseconds. Here the replacement never gets ready until it is continued: the call that
    # comes after the first must be served all the same, by the worker over its bound.
    async def replace_while_serving() -> None:
        async with _worker_over_its_bound(monkeypatch, tmp_path) as (workers, over):
            replacement = await _replacement_held(workers, over)
            assert await _answered(workers)  # served by the worker over its bound
            assert over in workers.pids
            os.kill(replacement, signal.SIGCONT)
            await _until(lambda: over not in workers.pids)  # let go once it is ready
            assert await _answered(workers)  # by the replacement, the one serving worker

    asyncio.run(replace_while_serving())


def test_a_search_waits_for_the_replacement_of_a_worker_over_its_memory_bound(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The worker over its bound served every call until its replacement was ready, with no
    # bound: the same search sent again at once ran to 145 MiB over a bound of 110 and
    # answered, where the first had been refused. Only a ListPresets may run on it now.
    async def search_after_the_bound() -> None:
        async with _worker_over_its_bound(monkeypatch, tmp_path) as (workers, over):
            replacement = await _replacement_held(workers, over)
            request = pb.RecommendRequest(task=small_task(), budget=quick_budget())
            search = asyncio.create_task(
                workers.begin("Recommend", request.SerializeToString(), cast(Any, _CallContext()))
            )
            # It cannot be dispatched while the replacement is held, however long this waits.
            await asyncio.sleep(0.3)
            assert not search.done()
            os.kill(replacement, signal.SIGCONT)
            outcomes = await _outcomes(await search)
            # Run by the replacement, under the bound (of 1 byte here), which refuses it.
            (refused,) = outcomes
            assert isinstance(refused, CallAbortedError), refused
            assert "over this server's bound" in str(refused)
            assert over not in workers.pids

    asyncio.run(search_after_the_bound())


@pytest.mark.parametrize(
    ("dies", "logged"),
    [("over", "; its replacement was started already"), ("replacement", "; starting another")],
    ids=["over", "replacement"],
)
def test_a_death_while_a_worker_over_its_memory_bound_is_replaced_leaves_one_worker(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    dies: str,
    logged: str,
) -> None:
    # The worker over its bound serves on while its replacement loads the engines. If it dies
    # then (the OOM killer), the replacement already under way is its replacement: another
    # would leave two workers for one slot. If the replacement dies before it is ready, the
    # next one takes the place of the worker over its bound, which must then be let go.
    launched = _recorded_launches(monkeypatch)
    victim = 0 if dies == "over" else 1  # the first worker launched, or its replacement

    async def die_while_replacing() -> None:
        async with _worker_over_its_bound(monkeypatch, tmp_path) as (workers, over):
            await _until(lambda: len(launched) == 2)
            os.kill(launched[victim].process.pid, signal.SIGKILL)
            await _until(launched[victim].watch.done)  # its exit handled
            await _until(lambda: len(set(workers.pids) - {over}) == 1)
            (coming,) = set(workers.pids) - {over}  # the replacement, or the next one
            await _until(lambda: stat_fields(coming)[0] == "T")
            os.kill(coming, signal.SIGCONT)
            await _until(lambda: workers.pids == [coming])  # one worker for the one slot
            assert await _answered(workers)

    asyncio.run(die_while_replacing())
    exits = [r.getMessage() for r in caplog.records if "exited with" in r.getMessage()]
    pid = launched[victim].process.pid
    assert exits == [f"worker process {pid} exited with signal SIGKILL{logged}"]


# A worker that accepts its first job and then, its output closed, hangs on its way out (as one
# stuck at exit would): it can answer nothing more, yet never exits.
_HUNG_MID_CALL = """
import os, sys, time
from advisor.service.worker_link import Accepted, Job, Ready, Setup, encode_frame, read_frame
frames_in = sys.stdin.buffer
assert isinstance(read_frame(frames_in), Setup)
os.write(1, encode_frame(Ready()))
assert isinstance(read_frame(frames_in), Job)
os.write(1, encode_frame(Accepted()))
os.close(1)
time.sleep(600)
"""


def _scripted_workers(monkeypatch: pytest.MonkeyPatch, launchers: Path, script: str) -> None:
    """Make every worker started from now on run the Python ``script`` instead of the worker."""
    body = launchers / "scripted-worker.py"
    body.write_text(script)
    launcher = launchers / "scripted-python"
    python = shlex.quote(sys.executable)
    launcher.write_text(f"#!/bin/sh\nexec {python} {shlex.quote(str(body))}\n")
    launcher.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(launcher))


def test_a_worker_that_ended_its_output_mid_call_but_does_not_exit_is_killed_and_replaced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A worker whose output had ended was waited for with no bound: one that hung on its way
    # out kept its call unanswered and its slot taken, and was never replaced. A one-slot
    # server refused every later call RESOURCE_EXHAUSTED while health read SERVING.
    monkeypatch.setattr(process_pool, "_EXIT_SECONDS", 0.1)
    python = sys.executable
    _scripted_workers(monkeypatch, tmp_path, _HUNG_MID_CALL)

    async def hang_mid_call() -> tuple[int, list[object], int]:
        admission = Admission(1)
        workers = await ProcessWorkers.start(RequestLimits(), admission, 1, 0)
        monkeypatch.setattr(sys, "executable", python)  # its replacement is a real worker
        try:
            (hung,) = workers.pids
            request = pb.ListPresetsRequest().SerializeToString()
            started = await workers.begin("ListPresets", request, cast(Any, _CallContext()))
            async with asyncio.timeout(30):
                outcomes = await _outcomes(started)
            in_flight = admission.in_flight
            async with asyncio.timeout(120):
                assert await _answered(workers)  # by its replacement
            return hung, outcomes, in_flight
        finally:
            await workers.close()

    hung, outcomes, in_flight = asyncio.run(hang_mid_call())
    (aborted,) = outcomes
    assert isinstance(aborted, CallAbortedError)
    assert aborted.code is grpc.StatusCode.INTERNAL
    assert in_flight == 0
    assert f"worker process {hung} did not exit" in caplog.text
    assert f"worker process {hung} exited with signal SIGKILL; starting another" in caplog.text


# A worker that answers every job with one empty response and reports holding 1 TiB, and that
# does not exit once its input is closed (its output left open): a retired worker that lingers.
_LINGERING_WHEN_RETIRED = """
import sys, time
from advisor.service.worker_link import (
    Accepted, Ended, Job, Ready, Response, Setup, encode_frame, read_frame,
)
frames_in, frames_out = sys.stdin.buffer, sys.stdout.buffer
assert isinstance(read_frame(frames_in), Setup)
frames_out.write(encode_frame(Ready()))
frames_out.flush()
while isinstance(read_frame(frames_in), Job):
    for frame in (Accepted(), Response(b""), Ended(2**40)):
        frames_out.write(encode_frame(frame))
    frames_out.flush()
time.sleep(600)
"""


def test_a_retired_worker_that_does_not_exit_once_its_input_is_closed_is_killed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A worker over its memory bound is retired once its replacement is ready: its input is
    # closed and it is expected to exit. One that did not was left running for good, beside
    # its replacement: each such retirement added a process (and its memory) to the server.
    monkeypatch.setattr(process_pool, "_EXIT_SECONDS", 0.1)
    python = sys.executable
    _scripted_workers(monkeypatch, tmp_path, _LINGERING_WHEN_RETIRED)

    async def linger_once_retired() -> tuple[int, int | None, list[int]]:
        workers = await ProcessWorkers.start(
            RequestLimits(), Admission(1), 1, 0, max_worker_bytes=2**30
        )
        monkeypatch.setattr(sys, "executable", python)  # its replacement is a real worker
        (lingering,) = workers._workers
        try:
            async with asyncio.timeout(120):
                assert await _answered(workers)  # leaves it over its bound: it is replaced
                await _until(lambda: len(workers.pids) == 2)
                await _until(lambda: lingering.retired)  # the replacement is ready
            async with asyncio.timeout(30):
                await _until(lambda: lingering.process.returncode is not None)
            return lingering.process.pid, lingering.process.returncode, workers.pids
        finally:
            await workers.close()

    pid, returncode, pids = asyncio.run(linger_once_retired())
    assert returncode == -signal.SIGKILL
    assert len(pids) == 1 and pid not in pids  # its replacement alone
    assert f"worker process {pid} did not exit within 0.1 s after its input was closed" in (
        caplog.text
    )


def test_a_replacement_that_never_gets_ready_is_killed_and_another_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A worker started with the server has _START_SECONDS to load the engines; its replacement
    # had no bound. One that hung while loading (stopped here) left its slot with no worker for
    # good: every call admitted waited for one until its deadline, while health read SERVING.
    held = tmp_path / "held-once"
    launcher = tmp_path / "held-once-python"
    launcher.write_text(
        f"#!/bin/sh\nif mkdir {shlex.quote(str(held))}; then kill -STOP $$; fi\n"
        f'exec {shlex.quote(sys.executable)} "$@"\n'
    )
    launcher.chmod(0o755)

    async def hang_while_loading() -> int:
        serving: list[bool] = []
        workers = await ProcessWorkers.start(
            RequestLimits(), Admission(1), 1, 0, on_serving=serving.append
        )
        try:
            monkeypatch.setattr(sys, "executable", str(launcher))  # the first replacement hangs
            monkeypatch.setattr(process_pool, "_START_SECONDS", 0.5)
            launched = _recorded_launches(monkeypatch)
            (killed,) = workers.pids
            os.kill(killed, signal.SIGKILL)
            async with asyncio.timeout(30):
                await _until(lambda: len(launched) == 1 and launched[0].watch.done())
            # Its own replacement, spawned a second later, loads with the usual bound.
            monkeypatch.setattr(process_pool, "_START_SECONDS", 120.0)
            async with asyncio.timeout(120):
                # Calls are refused while no worker can take them (the hung one was killed).
                await _until(lambda: serving == [False, True])
                assert await _answered(workers)
            return cast(int, launched[0].process.pid)
        finally:
            await workers.close()

    hung = asyncio.run(hang_while_loading())
    assert f"worker process {hung} was not ready within 0.5 s; killing it" in caplog.text


_COUNTING_JOBS = """
import gc, sys, weakref
import advisor.service.worker as worker
from advisor.service.worker_link import Job, read_frame

jobs = []

def read_counting_jobs(stream):
    # The worker blocks here between calls: count the jobs it still holds while it waits.
    gc.collect()
    print(f"jobs held while waiting: {sum(job() is not None for job in jobs)}", file=sys.stderr)
    frame = read_frame(stream)
    if isinstance(frame, Job):
        jobs.append(weakref.ref(frame))
    return frame

worker.read_frame = read_counting_jobs
sys.exit(worker.main())
"""


def test_an_idle_worker_holds_no_job_of_a_call_that_has_ended() -> None:
    # The worker's loop kept its last job (the request's bytes) in a variable until the next job
    # came: an idle worker held its last call's request, 3.7 MB for a large analysis, for as long
    # as no other call came.
    control = ControlBlock.create()
    job = Job(1, "ListPresets", pb.ListPresetsRequest().SerializeToString(), math.inf)
    frames = encode_frame(Setup(RequestLimits().model_dump_json(), 0)) + encode_frame(job)
    try:
        result = subprocess.run(
            [sys.executable, "-c", _COUNTING_JOBS, str(control.fd), str(os.getpid())],
            input=frames,
            capture_output=True,
            pass_fds=(control.fd,),
            timeout=120,
            check=False,
        )
    finally:
        control.close()
    log = result.stderr.decode()
    assert result.returncode == 0, log
    waits = [line for line in log.splitlines() if line.startswith("jobs held while waiting")]
    # Its setup, its job, then the end of its input, which it waited for with the job ended.
    assert waits == ["jobs held while waiting: 0"] * 3, log
