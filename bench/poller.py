"""Probe a server every few milliseconds from a process of its own while a bench loads it.

Measured from the bench's own process, a probe's latency would include its wait for the GIL
behind the load's client threads; the :class:`Poller` runs in a spawned process (not forked: a
child forked from a process running gRPC threads inherits a broken gRPC) and hands back every
reading and latency when stopped.
"""

from __future__ import annotations

import collections
import multiprocessing
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal, TypeAlias

import grpc

from bench.requests import ANALYZE_REQUEST
from tests.support.raw_calls import call_raw, health_status

__all__ = ["Poller", "Probe"]

Probe: TypeAlias = Literal["health", "analyze"]
"""``health``: a health check (its status by name); ``analyze``: bench.requests' Analyze call."""

_Metadata: TypeAlias = tuple[tuple[str, str], ...]
_Readings: TypeAlias = tuple[dict[str, int], list[float]]
_CALL_TIMEOUT_SECONDS = 10.0


def _probe(kind: Probe, metadata: _Metadata) -> Callable[[grpc.Channel], str]:
    if kind == "health":
        return health_status
    payload = ANALYZE_REQUEST.SerializeToString()

    def analyze(channel: grpc.Channel) -> str:
        return call_raw(channel, "Analyze", payload, _CALL_TIMEOUT_SECONDS, metadata).code.name

    return analyze


def _poll(
    address: str,
    kind: Probe,
    metadata: _Metadata,
    interval: float,
    stop: multiprocessing.synchronize.Event,
    results: multiprocessing.Queue[_Readings],
) -> None:
    probe = _probe(kind, metadata)
    readings: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    with grpc.insecure_channel(address) as channel:
        while not stop.wait(interval):
            started = time.perf_counter()
            try:
                reading = probe(channel)
            except grpc.RpcError as error:
                assert isinstance(error, grpc.Call)
                reading = error.code().name
            latencies.append(time.perf_counter() - started)
            readings[reading] += 1
    results.put((dict(readings), latencies))


class Poller:
    """Runs ``probe`` against ``address`` every ``interval`` seconds while in its ``with`` block.

    After the block, ``readings`` counts the statuses seen and ``latencies`` holds each probe's
    duration in seconds.
    """

    def __init__(
        self, address: str, probe: Probe, interval: float = 0.5, metadata: _Metadata = ()
    ) -> None:
        self.readings: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []
        spawn = multiprocessing.get_context("spawn")
        self._stop = spawn.Event()
        self._results: multiprocessing.Queue[_Readings] = spawn.Queue()
        self._process = spawn.Process(
            target=_poll,
            args=(address, probe, metadata, interval, self._stop, self._results),
            name=f"poller-{probe}",
        )

    @property
    def slowest_seconds(self) -> float:
        """The longest a probe took (0 without any)."""
        return max(self.latencies, default=0.0)

    def __enter__(self) -> Poller:
        self._process.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        readings, self.latencies = self._results.get(timeout=60)
        self.readings.update(readings)
        self._process.join(10)
