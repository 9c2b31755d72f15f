"""Task inference follows a stop signal: it polls between units of its work and, stopped, raises.

The tests count polls and units of work, or read a fake clock that advances one tick per poll,
rather than timing the work: they must hold on a loaded machine. How long the polls are apart in
wall time is measured in docs/INFER.md ("Limits").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import advisor.infer.arrangement as arrangement_module
import advisor.infer.partition as partition_module
import advisor.infer.task as task_module
from advisor.errors import StoppedError
from advisor.infer.graph import DependenceGraph
from advisor.infer.partition import PartitionerName
from advisor.infer.task import infer_task
from advisor.stopping import StopSignal
from tests.support.partitioners import PARTITIONERS


def random_graph(side: int, per_location: int, seed: int = 0) -> DependenceGraph:
    """A ``side`` x ``side`` grid whose locations have about ``per_location`` random partners.

    Every weight is evidence (far above what independent locations reach in 100,000 samples),
    so the whole graph is arranged: the partitioner's hardest input of its size. Its ``top_k`` is
    the largest degree: the partners are random, not each location's strongest, and an exact
    graph holds only edges one end keeps among its ``top_k`` strongest (``check_graph``).
    """
    rng = np.random.default_rng(seed)
    n = side * side
    heads = np.repeat(np.arange(n), per_location // 2)
    tails = rng.integers(0, n, size=heads.size)
    low, high = np.minimum(heads, tails), np.maximum(heads, tails)
    keys = np.unique((low * n + high)[low != high])
    rows, cols = np.divmod(keys, n)
    return DependenceGraph(
        shape=(side, side),
        channels=1,
        samples=100_000,
        top_k=int(np.bincount(np.concatenate([rows, cols])).max()),
        rows=rows.astype(np.int64),
        cols=cols.astype(np.int64),
        weights=rng.uniform(0.1, 1.0, size=rows.size),
    )


class _TickingClock:
    """A clock that advances ``tick`` seconds each time it is read: one poll, one tick."""

    def __init__(self, tick: float) -> None:
        self.tick, self.reads = tick, 0

    def __call__(self) -> float:
        self.reads += 1
        return self.reads * self.tick


class _CountingSignal(StopSignal):
    """A signal that never stops and counts its polls, optionally logging them into ``log``."""

    def __init__(self, log: list[str] | None = None) -> None:
        super().__init__()
        self.polls = 0
        self.log = log

    def stopped(self) -> bool:
        self.polls += 1
        if self.log is not None:
            self.log.append("poll")
        return super().stopped()


@pytest.fixture(params=PARTITIONERS)
def partitioner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the inference with each partitioner."""
    name: PartitionerName = request.param
    monkeypatch.setattr(arrangement_module, "available_partitioner", lambda: name)
    return name


@pytest.fixture
def graph(partitioner: str) -> DependenceGraph:
    """A grid of 16 random partners per location, arranged with three tries of the recursion.

    16 x 16 for METIS; 8 x 8 for the spectral order, whose dense eigendecompositions are slow
    where BLAS threads contend for a loaded machine's cores.
    """
    return random_graph(16 if partitioner == "metis" else 8, 16)


def _counting_first_splits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the partitioner's first splits the arrangement makes (one entry per call)."""
    calls: list[int] = []
    real = partition_module.first_split

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(arrangement_module, "first_split", counted)
    return calls


@pytest.mark.parametrize("how", ["cancelled", "deadline passed"])
def test_a_stopped_signal_ends_the_inference_before_any_split(
    graph: DependenceGraph, partitioner: str, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    splits = _counting_first_splits(monkeypatch)
    if how == "cancelled":
        stop = StopSignal()
        stop.cancel()
    else:
        stop = StopSignal(deadline=-1.0, clock=lambda: 0.0)
    with pytest.raises(StoppedError, match="inference was stopped"):
        infer_task(graph, stop=stop)
    assert splits == []


def test_a_signal_that_fires_after_a_tenth_of_a_second_ends_the_inference_at_that_poll(
    graph: DependenceGraph, partitioner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    splits = _counting_first_splits(monkeypatch)
    counter = _CountingSignal()
    infer_task(graph, stop=counter)
    whole_splits = len(splits)
    splits.clear()
    clock = _TickingClock(0.001)
    with pytest.raises(StoppedError, match="inference was stopped"):
        infer_task(graph, stop=StopSignal(0.1, clock=clock))
    # Each poll reads the clock once: the inference ended at the poll that found the deadline
    # passed (the 100th), not at a later one, and long before its whole work was done.
    assert clock.reads == 100
    assert counter.polls > 10 * clock.reads
    assert 0 < len(splits) < whole_splits


def test_a_signal_that_never_fires_changes_nothing(
    graph: DependenceGraph, partitioner: str
) -> None:
    plain, followed = infer_task(graph), infer_task(graph, stop=StopSignal.after(3600.0))
    np.testing.assert_array_equal(plain.arrangement.permutation, followed.arrangement.permutation)
    assert plain.report() == followed.report()


@pytest.fixture
def work_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Log each call of the inference's units of work, by name, as it starts.

    A split's unit is its partitioner call (METIS or the spectral order), which polls once its
    input is built; the balancing and the swaps count their passes over the links.
    """
    log: list[str] = []
    units: list[tuple[Any, str]] = [
        (partition_module, "_metis"),
        (partition_module, "_spectral"),
        (partition_module, "_links"),
        (partition_module, "_swap_pair"),
        (arrangement_module, "surrogate_entanglement"),
        (task_module, "_measure_ids"),
        (task_module, "_long_range_pairs"),
        (task_module, "parse_task"),
    ]
    for module, name in units:
        real: Callable[..., Any] = getattr(module, name)

        def logged(
            *args: Any, _real: Callable[..., Any] = real, _name: str = name, **kw: Any
        ) -> Any:
            log.append(_name)
            return _real(*args, **kw)

        monkeypatch.setattr(module, name, logged)
    yield log


def test_the_stop_signal_is_polled_between_every_two_units_of_work(
    graph: DependenceGraph, partitioner: str, work_log: list[str]
) -> None:
    signal = _CountingSignal(work_log)
    inferred = infer_task(graph, stop=signal)
    assert inferred.task is not None
    units = [entry for entry in work_log if entry != "poll"]
    expected = {
        "_metis" if partitioner == "metis" else "_spectral",
        "_links",
        "_swap_pair",
        "surrogate_entanglement",
        "_measure_ids",
        "_long_range_pairs",
        "parse_task",
    }
    assert set(units) == expected
    # No two units run back to back without a poll of the signal between them.
    unpolled = [
        (first, second)
        for first, second in itertools.pairwise(work_log)
        if "poll" not in (first, second)
    ]
    assert unpolled == []
