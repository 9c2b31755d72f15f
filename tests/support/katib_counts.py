"""Count the Katib sequence's work: its ranking's searches, objectives built, designs scored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from advisor.model.architecture import Architecture
from advisor.model.budget import Budget
from advisor.model.results import SearchResult
from advisor.model.task import Task
from advisor.search.recommend import recommend
from advisor.search.scoring import DesignScorer
from advisor.stopping import StopSignal


@dataclass
class KatibWork:
    """How many searches ran, objectives were built and designs scored, since counting began."""

    searches: int = 0
    objectives: int = 0
    scored: list[Architecture] = field(default_factory=list)

    def scored_once_each(self) -> bool:
        """Whether no design was scored twice."""
        keys = [architecture.model_dump_json() for architecture in self.scored]
        return len(set(keys)) == len(keys)


def count_katib_work(monkeypatch: pytest.MonkeyPatch) -> KatibWork:
    """Count the work of every Katib call from now on (in this process, a server's too)."""
    work = KatibWork()

    def counted_recommend(*args: Any, **kwargs: Any) -> SearchResult:
        work.searches += 1
        return recommend(*args, **kwargs)

    class CountedScorer(DesignScorer):
        def __init__(self, task: Task, budget: Budget, stop: StopSignal | None = None) -> None:
            work.objectives += 1
            super().__init__(task, budget, stop)

        def score(self, architecture: Architecture) -> float:
            work.scored.append(architecture)
            return super().score(architecture)

    monkeypatch.setattr("advisor.search.recommend.recommend", counted_recommend)
    monkeypatch.setattr("advisor.search.scoring.DesignScorer", CountedScorer)
    return work
