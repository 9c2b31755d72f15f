"""The draws of the space: what they sample, continued for every count, stoppable."""

from __future__ import annotations

import pytest

from advisor.errors import StoppedError
from advisor.model.budget import Budget
from advisor.model.task import Task, parse_task
from advisor.search.draws import SAMPLE_TRIES, SpaceDraws
from advisor.search.recommend import sample_architectures
from advisor.search.run import SearchRun
from advisor.stopping import StopSignal


def _task() -> Task:
    return parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})


def _budget(max_parameters: int = 10_000, **options: object) -> Budget:
    """A space of 45 practical designs, 144 free ones: the larger counts below run it out.

    Its practical designs have 200-2,200 parameters: all fit 3,000, some spend half of it.
    """
    return Budget(
        max_parameters=max_parameters, max_depth=2, channel_choices=[8, 16, 32], **options
    )


def _sparse() -> tuple[Task, Budget]:
    """A space whose free tries mostly find nothing that fits: ~60 tries a design at first.

    Of 50 random width vectors a try draws for a tree, usually none fits 3,000 parameters at
    these choices, so a draw of ``n`` can come back short although the space holds more.
    """
    task = parse_task({"input": {"shape": [64]}, "preset": "start_end"})
    budget = Budget(max_parameters=3_000, channel_choices=[8, 256, 512, 1024], width_profile="free")
    return task, budget


def _json(draws: SpaceDraws, count: int, stop: StopSignal | None = None) -> list[str]:
    return [draws.architecture(i).model_dump_json() for i in range(draws.draw(count, stop))]


@pytest.mark.parametrize(
    ("space", "seed", "counts"),
    [
        # Counts within the space and past its size (the draw comes back short), in no order.
        ((_task(), _budget(width_profile="practical")), 3, (8, 3, 50, 16, 1, 60, 7)),
        ((_task(), _budget(width_profile="free")), 3, (8, 3, 150, 16, 1, 7)),
        # Draws short of their count within the space: what a larger draw found later is not
        # theirs.
        (_sparse(), 0, (20, *range(1, 20))),
        (_sparse(), 3, (12, *range(1, 12))),
    ],
)
def test_a_continued_draw_gives_what_a_fresh_draw_of_its_count_gives(
    space: tuple[Task, Budget], seed: int, counts: tuple[int, ...]
) -> None:
    task, budget = space
    draws = SpaceDraws(task, budget, seed)
    short = 0  # fresh draws that came back short of designs the continued draws hold
    for count in counts:
        fresh = _json(SpaceDraws(task, budget, seed), count)
        assert _json(draws, count) == fresh, count
        short += len(fresh) < min(count, len(draws))
    assert draws.tries <= max(counts) * SAMPLE_TRIES
    # The sparse spaces must test the case they are here for.
    assert short > 0 or budget.max_parameters == 10_000


@pytest.mark.parametrize("min_share", [0.5, 0.0, 0.9])
def test_sample_architectures_past_the_space_returns_each_of_its_designs_once(
    min_share: float,
) -> None:
    # The space: every eligible tree with each practical ladder that fits the budget and
    # spends min_share of it, or with every ladder that fits where none spends that much
    # (a share of 0.9: no ladder here spends it; of 0.5: some do).
    task, budget = _task(), _budget(3_000)
    search = SearchRun(task, budget, StopSignal(), None)
    space = []
    for candidate in (c for c in search.candidates if c.eligible):
        profiles, parameters = search.ladders.fitting(candidate)
        spending = parameters >= min_share * budget.max_parameters
        for profile in profiles[spending] if spending.any() else profiles:
            widths = tuple(int(w) for w in profile)
            architecture = search.space.architecture(
                candidate,
                widths,
                outputs=search.outputs,
                representation_kernel=budget.representation_kernel,
            )
            space.append(architecture.model_dump_json())
    drawn = sample_architectures(task, budget, 2 * len(space), seed=1, min_share=min_share)
    assert len(drawn) == len(space)
    assert sorted(a.model_dump_json() for a in drawn) == sorted(space)
    # Within the space's size the count is met, by the same first designs.
    first = sample_architectures(task, budget, len(space) // 3, seed=1, min_share=min_share)
    assert first == drawn[: len(space) // 3]


def test_free_draws_are_distinct_fitting_designs_of_the_choices() -> None:
    task, budget = _task(), _budget(width_profile="free")
    drawn = sample_architectures(task, budget, 40, seed=2)
    assert len(drawn) == 40
    assert len({a.model_dump_json() for a in drawn}) == 40
    for architecture in drawn:
        assert architecture.parameters <= budget.max_parameters
        assert architecture.representation in budget.choices()
        assert all(layer.channels in budget.choices() for layer in architecture.layers)


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
