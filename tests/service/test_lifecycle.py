"""An embedded server's life as a library user meets it: what outlives the process that started it.

``start_server`` runs in the process of whatever application embeds it; these tests end that
process, or drop the server, in the ways an application does, and look at the worker processes
left behind. Each starts its own serving process (or server): they are about its end.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import grpc
import pytest

from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.service import process_pool
from advisor.service.server import RunningServer, ServerConfig, start_server
from tests.support.harness import LiveAdvisor
from tests.support.processes import cpu_ticks, stat_fields
from tests.support.server_process import ROOT
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget

# A search far longer than any wait of these tests: one that ran to its time limit fails them.
_LONG_SEARCH_SECONDS = 600.0

# A serving process that embeds a server of one worker process, says its address and worker,
# then waits to be ended.
_EMBEDDING = textwrap.dedent(
    f"""
    import sys, time
    from advisor.service.limits import RequestLimits
    from advisor.service.server import ServerConfig, start_server

    limits = RequestLimits(max_time_limit_seconds={_LONG_SEARCH_SECONDS})
    running = start_server(ServerConfig(workers=1, limits=limits))
    print(running.address, *running.worker_pids, flush=True)
    time.sleep(3600)
    """
)

# A script that starts a server (the executor its argument), says its address and workers, and
# ends once a call is in flight, the server still running.
_EXITING = textwrap.dedent(
    f"""
    import sys, time
    from advisor.service.limits import RequestLimits
    from advisor.service.server import ServerConfig, start_server

    limits = RequestLimits(max_time_limit_seconds={_LONG_SEARCH_SECONDS})
    config = ServerConfig(workers=1, executor=sys.argv[1], grace_seconds=5.0, limits=limits)
    running = start_server(config)
    print(running.address, *running.worker_pids, flush=True)
    while running.in_flight == 0:
        time.sleep(0.01)
    """
)


# A serving process that starts a server of one worker process and forks a child that holds its
# copies of the worker's pipes until its standard input ends; it says the child's and the
# worker's ids, then exits at once (the server still running).
_FORKING_THEN_EXITING = textwrap.dedent(
    """
    import os, warnings
    from advisor.service.server import ServerConfig, start_server

    running = start_server(ServerConfig(workers=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12's fork with threads
        child = os.fork()
    if child == 0:
        os.read(0, 1)
        os._exit(0)
    print(child, *running.worker_pids, flush=True)
    os._exit(0)
    """
)

# A serving process that starts a server of one worker process and, as soon as the worker is
# spawned (still starting: importing its modules), forks a child as above; it says the child's
# and the worker's ids, then waits to be killed.
_FORKING_WHILE_LOADING = textwrap.dedent(
    """
    import os, threading, time, warnings
    from advisor.service.server import ServerConfig, start_server

    def children():
        found = []
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as listing:
                found += listing.read().split()
        return found

    threading.Thread(target=start_server, args=(ServerConfig(workers=1),), daemon=True).start()
    while not (workers := children()):
        time.sleep(0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12's fork with threads
        child = os.fork()
    if child == 0:
        os.read(0, 1)
        os._exit(0)
    print(child, *workers, flush=True)
    time.sleep(3600)
    """
)


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (reaped, or a zombie nobody has reaped yet)."""
    try:
        return stat_fields(pid)[0] in {"Z", "X"}
    except FileNotFoundError:
        return True


def test_a_worker_amid_a_call_exits_once_its_serving_process_is_killed() -> None:
    # Killed (SIGKILL, or SIGTERM to an application that embeds the server without handling
    # it), the serving process closed the worker's input; an idle worker exited, but one amid a
    # search worked on for nobody until the search's time limit (40 s of a 40 s search, an
    # orphan of init all the while).
    serving = subprocess.Popen(
        [sys.executable, "-c", _EMBEDDING], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    worker = None
    try:
        assert serving.stdout is not None
        address, worker_pid = serving.stdout.readline().split()
        worker = int(worker_pid)
        with grpc.insecure_channel(address) as channel:
            idle = cpu_ticks(worker)
            call = LiveAdvisor(channel).stub.Recommend.future(
                pb.RecommendRequest(task=LONG_TASK, budget=long_budget(_LONG_SEARCH_SECONDS))
            )
            wait_until(lambda: cpu_ticks(worker) >= idle + 5)  # it works on the call
            serving.kill()
            serving.wait()
            wait_until(lambda: _gone(worker))
            call.cancel()
    finally:
        if worker is not None and not _gone(worker):
            os.kill(worker, signal.SIGKILL)
        if serving.poll() is None:
            serving.kill()
            serving.wait()
        if serving.stdout is not None:
            serving.stdout.close()


def test_an_idle_worker_exits_with_its_serving_process_though_a_fork_holds_its_input() -> None:
    # The serving process's forked child held a copy of the worker's input pipe, so the
    # serving process's exit was no end of that input: the idle worker waited in its read,
    # an orphan of init, for as long as the child lived.
    _assert_worker_dies_with_serving_process(_FORKING_THEN_EXITING, kill=False)


def test_a_worker_still_loading_exits_once_its_serving_process_is_killed() -> None:
    # Killed while its worker was still starting (importing its modules, a second or more),
    # before the worker asked the kernel to kill it at its parent's exit, the serving process
    # left the worker to load the engines, answer Ready into the pipe the forked child held,
    # and wait in its read for as long as the child lived.
    _assert_worker_dies_with_serving_process(_FORKING_WHILE_LOADING, kill=True)


def _assert_worker_dies_with_serving_process(script: str, *, kill: bool) -> None:
    """Run ``script`` (a ``_FORKING_...`` one), end it, and see its worker exit before its child.

    ``kill``: SIGKILL the serving process once it has said its ids; else it exits by itself.
    """
    serving = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert serving.stdin is not None and serving.stdout is not None
    pids: list[int] = []
    try:
        pids = [int(pid) for pid in serving.stdout.readline().split()]
        child, worker = pids
        if kill:
            serving.kill()
        serving.wait(60)
        wait_until(lambda: _gone(worker))
        assert not _gone(child)  # its copies of the pipes were held all along
    finally:
        if serving.poll() is None:
            serving.kill()
            serving.wait()
        serving.stdin.close()  # the child's standard input ends: it exits
        serving.stdout.close()
        if len(pids) == 2 and not _gone(pids[1]):
            os.kill(pids[1], signal.SIGKILL)
        if pids:
            wait_until(lambda: _gone(pids[0]))


@pytest.mark.parametrize("executor", ["processes", "threads"])
def test_a_server_dropped_unstopped_warns_and_stops_its_workers(executor: str) -> None:
    # gRPC closed the port of a dropped server, but its worker processes ran on until the
    # interpreter exited, and nothing said that the server had never been stopped.
    running = start_server(ServerConfig(workers=1, executor=executor))
    workers = running.worker_pids
    with pytest.warns(ResourceWarning, match="unstopped server <RunningServer"):
        del running
        gc.collect()
    for worker in workers:
        wait_until(lambda: _gone(worker))  # noqa: B023 - waited for before the next


@pytest.mark.parametrize("executor", ["processes", "threads"])
def test_an_interpreter_exit_stops_a_running_server_and_answers_its_call(executor: str) -> None:
    # A script that ends with its server still running: on threads the exit waited for the
    # call in flight to end (a search left to its time limit: 26-38 s here for LONG_TASK, which
    # then completes); on processes the call was answered UNAVAILABLE as the process went. Now
    # the exit drains as stop() does: the search answers, cut, by the end of the 5 s grace.
    serving = subprocess.Popen(
        [sys.executable, "-c", _EXITING, executor], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert serving.stdout is not None
        address, *workers = serving.stdout.readline().split()
        with grpc.insecure_channel(address) as channel:
            call = LiveAdvisor(channel).stub.Recommend.future(
                pb.RecommendRequest(task=LONG_TASK, budget=long_budget(_LONG_SEARCH_SECONDS))
            )
            assert serving.wait(60) == 0
            result = call.result(timeout=60).result
        assert not result.complete
        for worker in map(int, workers):
            wait_until(lambda: _gone(worker))  # noqa: B023 - waited for before the next
    finally:
        if serving.poll() is None:
            serving.kill()
            serving.wait()
        if serving.stdout is not None:
            serving.stdout.close()


def test_a_stop_after_a_fork_lets_the_workers_exit_without_killing_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A forked child (a multiprocessing pool's, with Linux's default fork) holds a copy of the
    # workers' input pipes, so closing them in the serving process was no end of input: the stop
    # waited its 5 s for every idle worker and then killed it ("did not exit within 5 s").
    caplog.set_level(logging.WARNING, logger=process_pool.__name__)
    running = start_server(ServerConfig(workers=1))
    (worker,) = running.worker_pids
    release, hold = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12's fork with threads
        child = os.fork()
    if child == 0:  # holds its copies until the test is done with the stop
        os.read(release, 1)
        os._exit(0)
    try:
        running.stop()
        wait_until(lambda: _gone(worker))
    finally:
        os.write(hold, b"x")
        os.waitpid(child, 0)
        os.close(release)
        os.close(hold)
    assert "did not exit" not in caplog.text


def test_a_with_on_a_stopped_server_says_it_has_been_stopped() -> None:
    # It went on silently, as a server whose address refused every call.
    running = start_server(ServerConfig(workers=1, executor="threads"))
    running.stop()
    running.stop()  # a second stop is no error
    stopped = pytest.raises(RuntimeError, match=r"threads, 1 worker, stopped> has been stopped")
    with stopped, running:
        pass


def test_a_forked_child_is_told_it_cannot_start_stop_or_wait_for_a_server() -> None:
    # In a child forked after its parent started a server, start_server and the parent's
    # server's stop() waited for ever for an event loop whose thread the child does not have;
    # its wait() for a stop that only the parent can make.
    running = start_server(ServerConfig(workers=1, executor="threads"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12's fork with threads
            child = os.fork()
        if child == 0:
            os._exit(_refusals_in_child(running))
        statuses: list[int] = []
        try:
            wait_until(lambda: _reaped(child, statuses))
        finally:
            if not statuses:
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(statuses[0]) == 3
    finally:
        running.stop()


def _refusals_in_child(running: RunningServer) -> int:
    """Count the calls a forked child makes that raise the fork's RuntimeError (of 3)."""
    refused = 0
    config = ServerConfig(workers=1, executor="threads")
    for attempt in (lambda: start_server(config), running.stop, running.wait):
        try:
            attempt()
        except RuntimeError as error:
            refused += "forked from process" in str(error)
    return refused


def _reaped(pid: int, statuses: list[int]) -> bool:
    """Whether child ``pid`` has exited; its wait status goes into ``statuses``."""
    reaped, status = os.waitpid(pid, os.WNOHANG)
    if reaped:
        statuses.append(status)
    return bool(reaped)
