"""A named long search running on a thread, for tests that finish it from elsewhere."""

from __future__ import annotations

import threading

from advisor_client.client import AdvisorClient

from advisor.model.results import SearchResult
from advisor.protocol import wire
from advisor.service.server import RunningServer
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget

__all__ = ["start_named_search"]


def start_named_search(
    client: AdvisorClient, server: RunningServer, search_id: str
) -> tuple[threading.Thread, dict[str, SearchResult]]:
    """Start LONG_TASK's 30 s search named ``search_id`` on a thread; return once it runs.

    Returns the thread and the mapping its result is put in, under ``"result"``.
    """
    answered: dict[str, SearchResult] = {}

    def search() -> None:
        task, budget = wire.task_from_proto(LONG_TASK), wire.budget_from_proto(long_budget(30.0))
        answered["result"] = client.recommend(task, budget, search_id=search_id)

    thread = threading.Thread(target=search)
    thread.start()
    wait_until(lambda: server.in_flight > 0, timeout=30.0)
    return thread, answered
