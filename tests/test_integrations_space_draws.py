"""SpaceDraws: sample_architectures' designs for every count, continued and stoppable."""

from __future__ import annotations

import pytest

from advisor.errors import StoppedError
from advisor.integrations.space_draws import SAMPLE_TRIES, SpaceDraws
from advisor.model.budget import Budget
from advisor.model.task import Task, parse_task
from advisor.search.recommend import sample_architectures
from advisor.stopping import StopSignal


def _task() -> Task:
    return parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})


def _budget(**options: object) -> Budget:
    """A space of 45 practical designs, 144 free ones: the larger counts above run it out."""
    return Budget(max_parameters=10_000, max_depth=2, channel_choices=[8, 16, 32], **options)


def _json(draws: SpaceDraws, count: int, stop: StopSignal | None = None) -> list[str]:
    return [draws.architecture(i).model_dump_json() for i in range(draws.draw(count, stop))]


@pytest.mark.parametrize(
    ("profile", "counts"),
    [
        # Counts within the space and past its size (the draw comes back short), in no order.
        ("practical", (8, 3, 50, 16, 1, 60, 7)),
        ("free", (8, 3, 150, 16, 1, 7)),
    ],
)
def test_every_count_draws_what_sample_architectures_draws(
    profile: str, counts: tuple[int, ...]
) -> None:
    task, budget = _task(), _budget(width_profile=profile, seed=3)
    draws = SpaceDraws(task, budget, seed=3)
    for count in counts:
        expected = sample_architectures(task, budget, count, seed=3)
        assert _json(draws, count) == [a.model_dump_json() for a in expected], count
    assert draws.tries <= max(counts) * SAMPLE_TRIES


class _PollLimit(StopSignal):
    """A signal that stops from its ``polls``-th poll on."""

    def __init__(self, polls: int) -> None:
        super().__init__()
        self.polls = 0
        self._limit = polls

    def stopped(self) -> bool:
        self.polls += 1
        return self.polls >= self._limit


def test_a_draw_polls_its_stop_between_tries_and_keeps_them() -> None:
    task, budget = _task(), _budget()
    whole = _json(SpaceDraws(task, budget), 100)
    draws = SpaceDraws(task, budget)
    # A draw of 100 designs from a space of 45 makes 5,000 tries: each polls first.
    for limit in (1, 7, 100, 2_000):
        stop = _PollLimit(limit)
        before = draws.tries
        with pytest.raises(StoppedError):
            draws.draw(100, stop)
        assert draws.tries == before + limit - 1  # stopped at the poll before the next try
    assert _json(draws, 100) == whole  # the stopped draws' tries are the first of the whole
