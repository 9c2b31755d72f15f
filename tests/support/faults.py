"""Fault probes: deadlines, cancellation, disconnects mid-stream and SIGTERM under load.

Each probe measures what the server does, not only what the client sees: the server's count of
advisor calls in flight (``RunningServer.in_flight``, in-process) must drop to zero promptly once
a call's deadline passes, once the client cancels it, and once a streaming client vanishes. The
SIGTERM probe runs ``server.py`` as a child process under load and checks the drain: in-flight
calls finish, health turns NOT_SERVING, new calls are refused, the exit status is 0.
``tests/reliability/test_faults.py`` asserts on what the probes return; ``python -m bench.faults``
prints it.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc

from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.service.server import RunningServer
from tests.support.raw_calls import Outcome, as_is, call_raw, health_status, method_path
from tests.support.server_process import ServerProcess
from tests.support.strategies import architecture_message, budget_message, task_message

__all__ = [
    "LONG_CALLS",
    "SigtermReport",
    "cancellation_release",
    "deadline_release",
    "disconnect_leaks",
    "sigterm_under_load",
]

# A search that runs for tens of seconds unless stopped (free widths from 64 channel choices per
# level on a 16,384-step input); the 64x64 one used before now completes in about 0.15 s.
_SEARCH_TASK = task_message({"input": {"shape": [16384]}, "preset": "periodic"})
_SEARCH_OPTIONS = {
    "max_parameters": 10**6,
    "channel_choices": list(range(1, 65)),
    "width_profile": "free",
}
_SEARCH_BUDGET = budget_message({**_SEARCH_OPTIONS, "time_limit_seconds": 30.0})
_OVERLAPPING_SIDE = 16384
_OVERLAPPING_ANALYSIS = advisor_pb2.AnalyzeRequest(
    task=task_message(
        {
            "input": {"shape": [_OVERLAPPING_SIDE]},
            "correlations": [
                {"name": f"c{i}", "a": {"box": {"start": [i * 10], "stop": [i * 10 + 5000]}}}
                for i in range(256)
            ],
        }
    ),
    architecture=architecture_message(
        {
            "input": {"shape": [_OVERLAPPING_SIDE]},
            "representation": 64,
            "layers": [{"channels": 64, "pool": [3], "stride": [1]}] * 15
            + [{"channels": 64, "pool": [_OVERLAPPING_SIDE - 30]}],
        }
    ),
)
_EXACT_ANALYSIS = advisor_pb2.AnalyzeRequest(
    task=task_message(
        {
            "input": {"shape": [16, 16]},
            "correlations": [
                {
                    "name": f"c{i}",
                    "a": {"box": {"start": [i % 16, 0], "stop": [i % 16 + 1, 7]}},
                    "b": {"box": {"start": [(i + 8) % 16, 9], "stop": [(i + 8) % 16 + 1, 16]}},
                }
                for i in range(256)
            ],
        }
    ),
    architecture=architecture_message(
        {
            "input": {"shape": [16, 16]},
            "representation": 2,
            "layers": [{"channels": 64, "pool": [2, 2]}] * 4,
        }
    ),
    exact=True,
)

LONG_CALLS: dict[str, tuple[str, bytes]] = {
    "Recommend": (
        "Recommend",
        advisor_pb2.RecommendRequest(task=_SEARCH_TASK, budget=_SEARCH_BUDGET).SerializeToString(),
    ),
    "StreamRecommend": (
        "StreamRecommend",
        advisor_pb2.StreamRecommendRequest(
            task=_SEARCH_TASK, budget=_SEARCH_BUDGET
        ).SerializeToString(),
    ),
    "Analyze, overlapping windows": ("Analyze", _OVERLAPPING_ANALYSIS.SerializeToString()),
    "Analyze, exact": ("Analyze", _EXACT_ANALYSIS.SerializeToString()),
}
"""Calls that run far longer than any probe waits (tens of seconds or more) unless stopped."""

_POLL_SECONDS = 0.001


def _wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Poll ``condition`` every millisecond; return the monotonic time it held (or raise)."""
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(_POLL_SECONDS)
    return time.monotonic()


def _idle(server: RunningServer) -> Callable[[], bool]:
    return lambda: server.in_flight == 0


def deadline_release(
    channel: grpc.Channel, server: RunningServer, call: tuple[str, bytes], deadline: float
) -> tuple[Outcome, float]:
    """Make ``call`` with ``deadline``; return its outcome and how long after the deadline the
    server's call ended (negative if it ended before)."""
    _wait_for(_idle(server), timeout=60)
    started = time.monotonic()
    outcome = call_raw(channel, *call, timeout=deadline)
    freed = _wait_for(_idle(server), timeout=120)
    return outcome, freed - (started + deadline)


def cancellation_release(
    channel: grpc.Channel, server: RunningServer, call: tuple[str, bytes]
) -> float:
    """Start ``call``, cancel it once the server runs it; return seconds until the server is idle.

    A stream is cancelled after its first message (the search is then surely running); a unary
    call as soon as the server counts it in flight.
    """
    _wait_for(_idle(server), timeout=60)
    method, payload = call
    path = method_path(method)
    if method == "StreamRecommend":
        stream = channel.unary_stream(path, as_is, as_is)(payload, timeout=60)
        next(stream)
        cancelled = time.monotonic()
        stream.cancel()
    else:
        future = channel.unary_unary(path, as_is, as_is).future(payload, timeout=60)
        _wait_for(lambda: server.in_flight == 1, timeout=10)
        cancelled = time.monotonic()
        future.cancel()
    return _wait_for(_idle(server), timeout=120) - cancelled


# A client process that starts a stream, says so once the first message arrived, then waits to
# be killed. Only grpc is imported, so it starts in a fraction of a second.
_STREAMING_CLIENT = """
import sys, time, grpc
channel = grpc.insecure_channel(sys.argv[1])
stream = channel.unary_stream(sys.argv[2])(sys.stdin.buffer.read(), timeout=60)
next(stream)
print("streaming", flush=True)
time.sleep(60)
"""


def disconnect_leaks(
    server: RunningServer, workers: int, disconnects: int
) -> tuple[float, list[str]]:
    """Kill ``disconnects`` streaming clients mid-stream (SIGKILL: no goodbye on the wire).

    Returns the longest time the server took to free the slot after a kill, and the statuses of
    ``workers`` calls then made at once, which must all be admitted if nothing leaked.
    """
    _, payload = LONG_CALLS["StreamRecommend"]
    slowest = 0.0
    for _ in range(disconnects):
        client = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _STREAMING_CLIENT,
                server.address,
                method_path("StreamRecommend"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert client.stdin is not None and client.stdout is not None
        client.stdin.write(payload)
        client.stdin.close()
        assert client.stdout.readline().strip() == b"streaming"
        assert server.in_flight == 1
        killed = time.monotonic()
        client.kill()
        client.wait()
        client.stdout.close()
        slowest = max(slowest, _wait_for(_idle(server), timeout=120) - killed)
    quick = advisor_pb2.RecommendRequest(
        task=task_message(
            {
                "input": {"shape": [8, 8]},
                "correlations": [{"name": "x", "a": {"preset": "left_half"}}],
            }
        ),
        budget=budget_message({"max_parameters": 20_000, "time_limit_seconds": 0.5}),
    ).SerializeToString()
    with (
        grpc.insecure_channel(server.address) as channel,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        outcomes = list(
            pool.map(lambda _: call_raw(channel, "Recommend", quick, 10.0), range(workers))
        )
    return slowest, [o.code.name for o in outcomes]


@dataclass(frozen=True)
class SigtermReport:
    """What a SIGTERM under load did: the in-flight calls, health and refusals, the exit."""

    in_flight_statuses: list[str]
    in_flight_recommendations: list[int]
    background_statuses: dict[str, int]
    health_after_signal: str
    not_serving_after_seconds: float
    new_call_status: str
    exit_status: int
    exit_seconds: float


def sigterm_under_load(
    workers: int = 2, grace: float = 5.0, search_seconds: float = 1.5, background_clients: int = 4
) -> SigtermReport:
    """SIGTERM a ``server.py`` child while ``workers`` searches run and clients keep calling.

    Each search has a ``search_seconds`` time limit, well inside ``grace``, so it must end on
    its own, OK and with recommendations, before the grace period runs out. Meanwhile
    ``background_clients`` threads keep sending ListPresets calls until the process is gone
    (answered, refused RESOURCE_EXHAUSTED while the slots are busy, UNAVAILABLE once the drain
    began or the port closed).
    """
    search = advisor_pb2.RecommendRequest(
        task=_SEARCH_TASK,
        budget=budget_message({**_SEARCH_OPTIONS, "time_limit_seconds": search_seconds}),
    ).SerializeToString()
    background: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    with ServerProcess("--workers", str(workers), "--grace", str(grace)) as server:
        finished = threading.Event()

        def keep_calling() -> None:
            with grpc.insecure_channel(server.address) as own:
                while not finished.is_set():
                    status = call_raw(own, "ListPresets", b"", 1.0).code.name
                    with lock:
                        background[status] += 1

        callers = [threading.Thread(target=keep_calling) for _ in range(background_clients)]
        try:
            with grpc.insecure_channel(server.address) as channel:
                assert health_status(channel) == "SERVING"
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    searches = [
                        pool.submit(call_raw, channel, "Recommend", search, 30.0)
                        for _ in range(workers)
                    ]
                    time.sleep(search_seconds / 3)  # the searches are running
                    # Only now: a ListPresets call holding a slot as a search arrives would get
                    # the search refused RESOURCE_EXHAUSTED.
                    for caller in callers:
                        caller.start()
                    signalled = time.monotonic()
                    server.terminate()
                    # Polled until it reads NOT_SERVING; a second read could find the process
                    # already gone once the searches have drained.
                    seen: list[str] = []

                    def reads_not_serving() -> bool:
                        seen.append(health_status(channel))
                        return seen[-1] == "NOT_SERVING"

                    not_serving = _wait_for(reads_not_serving, 10)
                    refused = call_raw(channel, "ListPresets", b"", 5.0).code.name
                    outcomes = [future.result() for future in searches]
            exit_status = server.wait(grace + 10)
            exit_seconds = time.monotonic() - signalled
        finally:
            # Whatever failed, the callers must not outlive the probe (they would keep the
            # process from exiting).
            finished.set()
            for caller in callers:
                if caller.ident is not None:
                    caller.join()
    found = [
        len(advisor_pb2.RecommendResponse.FromString(o.responses[0]).result.recommendations)
        for o in outcomes
        if o.code == grpc.StatusCode.OK
    ]
    return SigtermReport(
        in_flight_statuses=[o.code.name for o in outcomes],
        in_flight_recommendations=found,
        background_statuses=dict(background),
        health_after_signal=seen[-1],
        not_serving_after_seconds=not_serving - signalled,
        new_call_status=refused,
        exit_status=exit_status,
        exit_seconds=exit_seconds,
    )
