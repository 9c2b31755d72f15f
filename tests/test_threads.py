"""The library and one shared client called from many threads at once, as an AutoML pool does.

README.md says what a caller may do from threads (the library's functions and one
``AdvisorClient`` shared by all); these tests hold it to that: each call gives what it gives
alone, field by field, and its ``progress`` runs on its own thread before it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from advisor_client import AdvisorClient

from advisor import (
    Budget,
    SearchProgress,
    analysis_document,
    analyze,
    load_architecture,
    parse_task,
    recommend,
    search_result_document,
)
from advisor.service.server import ServerConfig, start_server

ROOT = Path(__file__).resolve().parent.parent
THREADS = 8
TASKS = [
    parse_task({"input": {"shape": [8, 8]}, "preset": preset})
    for preset in ("symmetry", "local", "center_surround", "top_bottom")
]
# No time limit: a search that threads sharing the cores cut short could rank otherwise.
BUDGET = Budget(max_parameters=5_000, top_k=3, time_limit_seconds=None)
MIRROR = parse_task({"input": {"shape": [32, 32]}, "preset": "symmetry"})


def _searched(result: Any) -> dict[str, Any]:
    """Return a search result's document without its timing, which differs run to run."""
    document: dict[str, Any] = search_result_document(result)
    document.pop("search_seconds")
    return document


class _ThreadsSeen:
    """A progress callback that records the thread of each event and whether its call had ended."""

    def __init__(self) -> None:
        self.ended = False
        self.events: list[tuple[int, bool]] = []

    def __call__(self, event: SearchProgress) -> None:
        self.events.append((threading.get_ident(), self.ended))


def _run_in_threads(call: Callable[[int], Any], jobs: int) -> list[Any]:
    """Return ``call(i)`` for ``i`` below ``jobs``, run by a pool of :data:`THREADS` at once."""
    start = threading.Barrier(THREADS)

    def together(index: int) -> Any:
        if index < THREADS:
            start.wait(timeout=60)  # the first calls all begin at once
        return call(index)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(together, range(jobs)))


def _progress_threads(
    search: Callable[[Callable[[SearchProgress], None]], Any],
) -> tuple[Any, list[tuple[bool, bool]]]:
    """Run ``search(progress)``; return its result and, per event, (on this thread, after return).

    A search reports progress at least once, so the list is never empty.
    """
    seen = _ThreadsSeen()
    result = search(seen)
    seen.ended = True
    caller = threading.get_ident()
    where = [(thread == caller, ended) for thread, ended in seen.events]
    assert where, "the search reported no progress"
    return result, where


def test_searches_and_analyses_on_many_threads_give_what_they_give_alone() -> None:
    mirror = load_architecture(ROOT / "examples" / "architectures" / "mirror.yaml")
    alone = [_searched(recommend(task, BUDGET)) for task in TASKS]
    analysed = analysis_document(analyze(MIRROR, mirror))

    def call(index: int) -> tuple[Any, list[tuple[bool, bool]], Any]:
        task = TASKS[index % len(TASKS)]
        result, where = _progress_threads(
            lambda progress: recommend(task, BUDGET, progress=progress)
        )
        return _searched(result), where, analysis_document(analyze(MIRROR, mirror))

    for index, (result, where, analysis) in enumerate(_run_in_threads(call, 2 * THREADS)):
        assert result == alone[index % len(TASKS)]
        assert analysis == analysed
        assert all(own and not ended for own, ended in where)


def test_a_returned_array_changed_by_its_caller_changes_no_later_call() -> None:
    # A task's location ids come out of its packed regions as new arrays, never a cached one.
    (first, *_) = TASKS[0].resolved()
    ids = first.a.copy()
    with pytest.raises(ValueError, match="read-only"):
        first.a[0] = 63
    assert first.a is not first.a
    assert (first.a == ids).all()


@pytest.fixture(scope="module")
def shared_client() -> Iterator[AdvisorClient]:
    config = ServerConfig(executor="threads", workers=THREADS)
    with start_server(config) as server, AdvisorClient(server.address, default_timeout=120) as c:
        yield c


def test_one_client_shared_by_many_threads_gives_each_its_own_answer(
    shared_client: AdvisorClient,
) -> None:
    # A server bounds every search's time: one the small tasks finish well within.
    budget = BUDGET.model_copy(update={"time_limit_seconds": 60.0})
    alone = [_searched(recommend(task, budget)) for task in TASKS]

    def call(index: int) -> tuple[Any, list[tuple[bool, bool]]]:
        task = TASKS[index % len(TASKS)]
        if index % 2:
            return _searched(shared_client.recommend(task, budget)), []
        result, where = _progress_threads(
            lambda progress: shared_client.recommend(task, budget, progress=progress)
        )
        return _searched(result), where

    for index, (result, where) in enumerate(_run_in_threads(call, 2 * THREADS)):
        assert result == alone[index % len(TASKS)]
        assert all(own and not ended for own, ended in where)


def test_the_readme_says_what_may_be_called_from_threads() -> None:
    # An AutoML pool runs searches on threads and shares one client: the README said neither
    # whether that is safe nor where progress runs, nor that a busy server refuses, not queues.
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "One `AdvisorClient` may be shared by any number of threads" in text
    assert "The client has no asyncio API" in text
    assert "the server never queues and the client retries only when its policy waits" in text
    assert "RetryPolicy(busy_wait_seconds=60)" in text
    assert "Every function may be called from several threads at once" in text
    assert "`time_limit_seconds=None` ranks alike however many run" in text
