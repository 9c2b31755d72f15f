"""A worker's memory bound (``--worker-max-memory``) acts during a call, not only after it.

The worker's stop signal reads the most the process has held at once, at most every
:data:`~advisor.service.worker.MEMORY_CHECK_SECONDS`, and a call over the bound stops and ends
``RESOURCE_EXHAUSTED``. The readings here are faked: a worker started by these tests reports
the peak the test gives (:mod:`tests.support.fake_memory`), so the outcome does not hang on
how far a search gets.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.service import worker as worker_module
from advisor.service.server import RunningServer
from advisor.service.threads import CallAbortedError
from advisor.service.worker import MEMORY_CHECK_SECONDS, CallEnd, _bounded
from advisor.service.worker_link import ControlBlock, Response, Status
from tests.service.test_contract import MIRROR_4X4_ARCHITECTURE, MIRROR_4X4_TASK
from tests.support.fake_memory import fake_peak_workers
from tests.support.harness import LiveAdvisor
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget

_MIB = 2**20


class _Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def control() -> Iterator[ControlBlock]:
    """A worker's control block with a bound of 100 MiB."""
    block = ControlBlock.create()
    block.memory_bound = 100 * _MIB
    yield block
    block.close()


def test_a_call_that_takes_its_worker_over_the_bound_is_stopped_at_a_poll(
    control: ControlBlock,
) -> None:
    # The bound was read only once a call had ended: a call's work went on to 1 GiB, past a
    # container's limit, with nothing to stop it on the way.
    held = [90 * _MIB]
    clock = _Clock()
    reads: list[int] = []

    def peak() -> int:
        reads.append(held[0])
        return held[0]

    call_end = CallEnd(control, peak_memory=peak, clock=clock)
    call_end.begin(7)
    stop = call_end.limited(None)  # as a call's stop signal follows it
    assert not stop.stopped()
    held[0] = 120 * _MIB
    assert not stop.stopped()  # read again only once MEMORY_CHECK_SECONDS have passed
    assert len(reads) == 1
    clock.now += MEMORY_CHECK_SECONDS
    assert stop.stopped() and call_end.over_bound == (120 * _MIB, 100 * _MIB)
    assert not call_end.ended  # the serving process has not ended the call
    held[0] = 90 * _MIB
    assert stop.stopped()  # stopped for good, whatever a later reading says


def test_a_worker_without_a_bound_is_never_stopped_for_its_memory() -> None:
    block = ControlBlock.create()  # as a worker being replaced has it: no bound
    try:
        call_end = CallEnd(block, peak_memory=lambda: 2**40, clock=_Clock())
        call_end.begin(1)
        assert not call_end.limited(None).stopped()
    finally:
        block.close()


def test_a_call_stopped_over_the_bound_ends_resource_exhausted_naming_it() -> None:
    # A search stopped so answered its best so far, as if its time limit had cut it, and an
    # analysis CANCELLED: neither said the memory bound had stopped it.
    block = ControlBlock.create()
    try:
        call_end = CallEnd(block)
        call_end.begin(1)

        def outcomes() -> Iterator[bytes | CallAbortedError]:
            yield b"progress"
            call_end.over_bound = (int(1.5 * 1024 * _MIB), 1024 * _MIB)
            yield b"the best so far"
            yield CallAbortedError(grpc.StatusCode.CANCELLED, "stopped", ())

        frames = list(_bounded(outcomes(), call_end))
    finally:
        block.close()
    assert frames[0] == Response(b"progress")
    (status,) = frames[1:]
    assert isinstance(status, Status) and status.code == "RESOURCE_EXHAUSTED"
    assert status.details.startswith(
        "the call took its worker process to 1,536.0 MiB, over this server's bound of 1,024 "
        "MiB a worker (--worker-max-memory)"
    )
    # Told from the other RESOURCE_EXHAUSTED refusals by its ErrorInfo, not only its English.
    rich = status_pb2.Status.FromString(dict(status.trailing_metadata)["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    assert len(rich.details) == 1 and rich.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("WORKER_MEMORY_EXCEEDED", "advisor.v1")
    assert dict(info.metadata) == {"worker_max_memory_mib": "1024", "held_mib": "1536"}


@pytest.mark.parametrize(("at_end", "reported"), [(121.9, 122.1), (130.0, 130.0)])
def test_the_peak_reported_at_a_calls_end_is_at_least_what_stopped_it(
    control: ControlBlock, monkeypatch: pytest.MonkeyPatch, at_end: float, reported: float
) -> None:
    # The kernel's high-water mark read 121.9 MiB at the end of a call a poll had stopped at
    # 122.1 MiB (its per-thread counters are folded in now and then): the client was told
    # 122.1 and the serving process logged a peak of 121.9.
    call_end = CallEnd(control, peak_memory=lambda: int(122.1 * _MIB), clock=_Clock())
    call_end.begin(3)
    assert call_end.limited(None).stopped()
    monkeypatch.setattr(worker_module, "peak_resident_bytes", lambda: int(at_end * _MIB))
    assert worker_module._peak_through(call_end) == int(reported * _MIB)
    call_end.begin(4)  # a call not stopped over the bound reports the mark as read
    assert worker_module._peak_through(call_end) == int(at_end * _MIB)


# ---------------------------------------------------------------------------------------------
# A server whose workers report the peak memory the test gives


@pytest.fixture
def over_bound(
    serve: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[RunningServer, int]:
    """A one-worker server bounded at 200 MiB whose worker reads its peak as 300 MiB; its pid.

    The worker's replacement is a real one.
    """
    python = sys.executable
    fake_peak_workers(monkeypatch, tmp_path, 300 * _MIB)
    running = serve(workers=1, worker_max_memory_mib=200)
    monkeypatch.setattr(sys, "executable", python)
    (worker,) = running.worker_pids
    return running, worker


@pytest.mark.parametrize("method", ["Recommend", "Analyze"])
def test_a_call_over_the_bound_ends_resource_exhausted_and_its_worker_is_replaced(
    over_bound: tuple[RunningServer, int], method: str
) -> None:
    running, worker = over_bound
    request = (
        pb.RecommendRequest(task=LONG_TASK, budget=long_budget(30.0))
        if method == "Recommend"
        else pb.AnalyzeRequest(task=MIRROR_4X4_TASK, architecture=MIRROR_4X4_ARCHITECTURE)
    )
    with grpc.insecure_channel(running.address) as channel:
        call = getattr(LiveAdvisor(channel).stub, method)
        with pytest.raises(grpc.RpcError) as failure:
            call(request, timeout=60)
        assert failure.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        details = failure.value.details() or ""
        assert "300.0 MiB, over this server's bound of 200 MiB" in details
        assert "(--worker-max-memory)" in details
        wait_until(lambda: worker not in running.worker_pids)  # replaced, as after a call
        assert len(running.worker_pids) == 1
        advisor = LiveAdvisor(channel)
        assert advisor.unary("ListPresets", pb.ListPresetsRequest(), timeout=60).presets


def test_a_worker_left_over_its_bound_by_a_call_that_never_polled_is_replaced(
    over_bound: tuple[RunningServer, int],
) -> None:
    # A call that never polls its stop signal (ListPresets) is answered; its worker, over its
    # bound once the call has ended, is replaced, and the replacement serves alone.
    running, worker = over_bound
    with grpc.insecure_channel(running.address) as channel:
        advisor = LiveAdvisor(channel)
        assert advisor.unary("ListPresets", pb.ListPresetsRequest(), timeout=60).presets
        wait_until(lambda: worker not in running.worker_pids)
        assert len(running.worker_pids) == 1
        assert advisor.unary("ListPresets", pb.ListPresetsRequest(), timeout=60).presets
