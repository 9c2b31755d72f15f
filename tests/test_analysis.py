"""analyze(): figures, certificates, the exact engine's limits and grid checks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError, LimitExceededError, StoppedError
from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.results import Analysis, CorrelationAnalysis
from advisor.model.task import Task, parse_task
from advisor.seprank import analysis, exact
from advisor.seprank.analysis import analyze, powers_of_one_integer
from advisor.seprank.tree import log2_min_cuts
from advisor.stopping import StopSignal

LOOSE_A = [6, 7, 8, 9, 10, 12, 14, 15]


def architecture(
    shape: list[int], widths: list[int], pools: list[list[int]], m: int, **extra: Any
) -> Architecture:
    layers = [{"channels": w, "pool": p} for w, p in zip(widths, pools, strict=True)]
    return parse_architecture(
        {"input": {"shape": shape}, "representation": m, "layers": layers, **extra}
    )


def task(shape: list[int], *correlations: tuple[str, list[int], list[int] | None]) -> Task:
    return parse_task(
        {
            "input": {"shape": shape},
            "correlations": [
                {"name": name, "a": {"indices": a}, **({} if b is None else {"b": {"indices": b}})}
                for name, a, b in correlations
            ],
        }
    )


def by_name(result: Analysis) -> dict[str, CorrelationAnalysis]:
    return {c.name: c for c in result.correlations}


def test_powers_of_two_on_a_tree_are_tight() -> None:
    arch = architecture([16], [4, 4, 8, 2], [[2]] * 4, 4)
    figures = by_name(
        analyze(task([16], ("halves", list(range(8)), None), ("ends", [0], [15])), arch)
    )
    assert figures["halves"] == CorrelationAnalysis(
        name="halves",
        log2_separation_rank=1.0,
        log2_max_rank=16.0,
        certificate="tight",
        weight=1.0,
        log2_min_cut=1.0,
    )
    assert figures["ends"].log2_separation_rank == 1.0
    assert figures["ends"].log2_max_rank == 2.0


def test_the_contiguous_reference_net_is_priced_unless_left_out() -> None:
    arch = architecture([16], [4, 4, 8, 2], [[2]] * 4, 4)
    halves = task([16], ("halves", list(range(8)), None))
    default = analyze(halves, arch).efficiency
    left_out = analyze(halves, arch, price_contiguous=False).efficiency
    assert default is not None and left_out is not None
    assert default.contiguous_priced
    assert not left_out.contiguous_priced


def test_the_dimension_bound_is_that_of_the_smaller_side() -> None:
    # docs/THEORY.md §2: M^min(|A|, |B|); one location against the other 15 at M = 4: 2 bits.
    arch = architecture([16], [4, 4, 8, 2], [[2]] * 4, 4)
    (corner,) = analyze(task([16], ("corner", [0], None)), arch).correlations
    assert corner.log2_max_rank == 2.0


def test_known_loose_case_is_an_upper_bound_until_certified() -> None:
    arch = architecture([4, 4], [3, 2], [[2, 2], [2, 2]], 2)
    loose = task([4, 4], ("loose", LOOSE_A, None))
    (bound,) = analyze(loose, arch).correlations
    assert bound.certificate == "upper_bound"
    assert bound.log2_separation_rank == pytest.approx(math.log2(24))
    (certified,) = analyze(loose, arch, exact=True).correlations
    assert certified.certificate == "exact"
    assert certified.log2_separation_rank == pytest.approx(math.log2(21))
    assert certified.log2_min_cut == pytest.approx(math.log2(24))


@pytest.mark.parametrize(
    ("widths", "m"),
    [([1, 5], 3), ([3, 1], 2), ([6, 5], 1)],
    ids=["width 1 below", "width 1 above", "M = 1"],
)
def test_a_bound_of_rank_one_is_the_rank(widths: list[int], m: int) -> None:
    # Widths not powers of one integer made these `upper_bound`, though a network's function is
    # not zero for generic weights: its rank is at least 1, so a bound of 1 is the rank.
    arch = architecture([4], widths, [[2], [2]], m)
    problem = task([4], ("halves", [0, 1], [2, 3]), ("ends", [0], [3]))
    bounds = analyze(problem, arch).correlations
    certified = analyze(problem, arch, exact=True).correlations
    for bound, exact_figure in zip(bounds, certified, strict=True):
        assert exact_figure.log2_separation_rank == 0.0
        assert (bound.certificate, bound.log2_separation_rank) == ("exact", 0.0)


def test_a_bound_above_rank_one_keeps_its_certificate() -> None:
    (figure,) = analyze(
        task([4], ("halves", [0, 1], [2, 3])), architecture([4], [3, 5], [[2], [2]], 3)
    ).correlations
    assert figure.certificate == "upper_bound" and figure.log2_separation_rank > 0


def test_widths_that_are_powers_of_three_are_tight() -> None:
    arch = architecture([4, 4], [9, 3], [[2, 2], [2, 2]], 3)
    (figure,) = analyze(task([4, 4], ("corner", [0], [15])), arch).correlations
    assert figure.certificate == "tight"
    assert figure.log2_separation_rank == pytest.approx(1.584962501)


def test_weight_sharing_that_lowers_the_bound_is_not_called_tight() -> None:
    # Mirror 4x4 (reference case): each window holds two left and two right locations, which are
    # interchangeable with shared weights: 3 dimensions per side and window instead of 4.
    arch = architecture([4, 4], [4, 2], [[2, 2], [2, 2]], 2, geometry="mirror")
    left = task([4, 4], ("left-right", [0, 1, 4, 5, 8, 9, 12, 13], None))
    (bound,) = analyze(left, arch).correlations
    assert bound.certificate == "upper_bound"
    assert bound.log2_min_cut == 8.0
    assert bound.log2_separation_rank == pytest.approx(math.log2(81))
    (certified,) = analyze(left, arch, exact=True).correlations
    assert certified.certificate == "exact"
    assert certified.log2_separation_rank == pytest.approx(math.log2(81))


def test_overlapping_windows_are_upper_bounds_unless_the_lower_bound_meets_them() -> None:
    arch = parse_architecture(
        {
            "input": {"shape": [6]},
            "representation": 2,
            "layers": [{"channels": 4, "pool": [2], "stride": [1]}, {"channels": 2, "pool": [5]}],
        }
    )
    work = task([6], ("halves", [0, 1, 2], None), ("odd-even", [0, 2, 4], None))
    assert {c.certificate for c in analyze(work, arch).correlations} == {"upper_bound"}
    figures = by_name(analyze(work, arch, exact=True))
    assert figures["halves"].certificate == "exact"  # grid-tensor rank 2^2 meets the min-cut
    assert figures["halves"].log2_separation_rank == 2.0
    # Duplicated inputs: the unrolled cut (2^5) exceeds the grid tensor's rank (2^3), and the
    # regions' own cap, 18 (docs/THEORY.md §8), caps it.
    odd_even = figures["odd-even"]
    assert (odd_even.certificate, odd_even.log2_separation_rank) == ("upper_bound", 4.169925002)
    assert odd_even.log2_lower_bound == 3.0
    assert odd_even.log2_min_cut == 5.0


def test_exact_over_the_limit_is_rejected_before_any_rank_is_computed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*args: object, **kwargs: object) -> float:
        raise AssertionError("a rank was computed before the limits were checked")

    monkeypatch.setattr(exact, "exact_rank", fail)
    arch = architecture([8, 8], [4, 4, 4], [[2, 2]] * 3, 4)
    work = task([8, 8], ("small", [0], [63]), ("large", list(range(32)), None))
    with pytest.raises(LimitExceededError) as caught:
        analyze(work, arch, exact=True)
    assert [v.field for v in caught.value.violations] == ["exact"]
    assert "24" in caught.value.violations[0].description
    # Named, as the service's limits name it: the engine's refusal says only which limit.
    assert caught.value.violations[0].description.startswith("certification of 'large': ")


def test_an_exact_rank_at_the_dimension_bound_is_written_as_the_bound() -> None:
    # M = 7, two locations a side: the exact rank 49 is the bound 2 log2 7 = 5.61470984412.
    # Written to the nearest (5.614709844) beside the bound rounded up (5.614709845), the rank
    # read below the bound it reaches.
    arch = architecture([4], [7, 7], [[2], [2]], 7)
    figures = analyze(task([4], ("pairs", [0, 2], [1, 3])), arch, exact=True).correlations[0]
    assert figures.certificate == "exact"
    assert figures.log2_separation_rank == figures.log2_max_rank == figures.log2_min_cut
    assert figures.log2_separation_rank >= 2 * math.log2(7)


def test_grids_must_match() -> None:
    arch = architecture([4, 4], [4, 2], [[2, 2], [2, 2]], 2)
    with pytest.raises(InvalidRequestError) as caught:
        analyze(task([16], ("x", [0], [1])), arch)
    assert [v.field for v in caught.value.violations] == ["architecture.input.shape"]


def test_parameters_weights_and_rounding() -> None:
    arch = architecture([4, 4], [3, 2], [[2, 2], [2, 2]], 2)
    work = parse_task(
        {
            "input": {"shape": [4, 4]},
            "correlations": [{"name": "r0", "a": {"indices": [0, 1]}, "weight": 2.5}],
        }
    )
    result = analyze(work, arch)
    assert result.parameters == arch.parameters
    (figure,) = result.correlations
    assert figure.weight == 2.5
    # log2 3 printed to 9 decimals; the certificate was decided before rounding.
    assert figure.log2_separation_rank == round(math.log2(3), 9)
    assert figure.certificate == "upper_bound"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([2, 4, 8, 1], True),
        ([27, 9, 3], True),
        ([16, 64], True),
        ([1, 1], True),
        ([2, 3], False),
        ([4, 6], False),
        ([8, 9], False),
        ([2**30, 2], True),
        ([3**19, 3**7], True),
    ],
)
def test_powers_of_one_integer(values: list[int], expected: bool) -> None:
    assert powers_of_one_integer(values) is expected


def test_many_correlations_share_one_pass() -> None:
    arch = architecture([16, 16], [8] * 4, [[2, 2]] * 4, 8, geometry="mirror")
    rng = np.random.default_rng(0)
    correlations = [
        (f"c{i}", sorted(rng.choice(256, size=20, replace=False).tolist()), None) for i in range(30)
    ]
    result = analyze(task([16, 16], *correlations), arch)
    assert [c.name for c in result.correlations] == [name for name, _, _ in correlations]
    assert all(c.log2_separation_rank <= c.log2_max_rank for c in result.correlations)


# ---------------------------------------------------------------------------------------------
# Stopping: an analysis has no partial result, so it ends as soon as it cannot finish in time


class _ChunkClock:
    """A clock that moves two seconds per chunk of min-cuts, so chunks take known time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _chunked_analysis(
    monkeypatch: pytest.MonkeyPatch, clock: _ChunkClock
) -> tuple[Task, Architecture]:
    """Three chunks of correlations (both figures in one pass each), each chunk two seconds."""
    cuts = log2_min_cuts

    def timed_cuts(*args: Any, **kwargs: Any) -> Any:
        clock.now += 2.0
        return cuts(*args, **kwargs)

    monkeypatch.setattr(analysis, "log2_min_cuts", timed_cuts)
    monkeypatch.setattr(analysis, "_CHUNK_WINDOW_ENTRIES", 4 * 64)  # 4 correlations a chunk
    arch = architecture([64], [2], [[64]], 2)
    correlations = [(f"c{i}", [i], None) for i in range(12)]
    return task([64], *correlations), arch


def test_an_analysis_with_time_for_its_work_finishes(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _ChunkClock()
    problem, arch = _chunked_analysis(monkeypatch, clock)
    result = analyze(problem, arch, stop=StopSignal(6.5, clock=clock))
    assert len(result.correlations) == 12 and clock.now == 6.0


def test_an_analysis_that_cannot_meet_its_deadline_stops_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _ChunkClock()
    problem, arch = _chunked_analysis(monkeypatch, clock)
    with pytest.raises(StoppedError, match="cannot finish before its deadline"):
        analyze(problem, arch, stop=StopSignal(5.5, clock=clock))
    assert clock.now == 2.0  # one chunk showed the pace: two more need 4 s, 3.5 s were left


def test_a_slow_first_chunk_does_not_give_up_an_analysis_with_time_for_its_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first chunk carries the analysis's one-time costs (and any pause of the machine): at
    # 1024x1024 with 1,024 correlations and a 30 s deadline, one step of 30 ms against 7-11 ms
    # after it was extrapolated to 1,023 more and the analysis refused, though it took 7-11 s.
    clock = _ChunkClock()
    cuts = log2_min_cuts
    chunks: list[float] = []

    def timed_cuts(*args: Any, **kwargs: Any) -> Any:
        clock.now += 0.3 if not chunks else 0.01
        chunks.append(clock.now)
        return cuts(*args, **kwargs)

    monkeypatch.setattr(analysis, "log2_min_cuts", timed_cuts)
    monkeypatch.setattr(analysis, "_CHUNK_WINDOW_ENTRIES", 64)  # one correlation a chunk
    correlations = [(f"c{i}", [i], None) for i in range(100)]
    problem = task([128], *correlations)
    result = analyze(
        problem, architecture([128], [2], [[128]], 2), stop=StopSignal(20.0, clock=clock)
    )
    assert len(result.correlations) == 100 and len(chunks) == 100


def test_a_cancelled_analysis_stops_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _ChunkClock()
    problem, arch = _chunked_analysis(monkeypatch, clock)
    stop = StopSignal(clock=clock)
    stop.cancel()
    with pytest.raises(StoppedError, match="stopped before it finished"):
        analyze(problem, arch, stop=stop)
    assert clock.now == 0.0


@given(st.floats(0.0, 1e5, allow_nan=False))
def test_a_figure_is_rounded_outward_when_it_is_a_bound(value: float) -> None:
    # Nine decimals, upper bounds up and lower bounds down (within float roundoff of the
    # figure), exact ranks to the nearest.
    up, nearest, down = (analysis._rounded(value, d) for d in (1, 0, -1))
    noise = max(1e-12, 4 * math.ulp(value))
    assert down - noise <= value <= up + noise
    assert up - down <= 1e-9 + noise
    assert abs(nearest - value) <= 0.5e-9 + noise
    assert all(r == round(r, 9) for r in (up, nearest, down))


@pytest.mark.parametrize(
    ("task_shape", "own_shape", "pool", "told"),
    [
        ([64], [1, 64], [1, 64], True),
        ([1, 64], [64, 1, 1], [64, 1, 1], True),
        ([1, 64], [64], [64], True),
        ([64], [2, 32], [2, 32], False),
    ],
)
def test_an_architecture_on_the_tasks_grid_with_axes_of_one_more_or_fewer_is_told_how_to_fit(
    task_shape: list[int], own_shape: list[int], pool: list[int], told: bool
) -> None:
    # A design saved on [1, 64] analysed against a task on [64] was refused with the two shapes
    # alone, though both hold the same 64 locations in the same order.
    task = parse_task({"input": {"shape": task_shape}, "preset": "local"})
    architecture = parse_architecture(
        {
            "input": {"shape": own_shape},
            "representation": 2,
            "layers": [{"channels": 2, "pool": pool}],
        }
    )
    with pytest.raises(InvalidRequestError) as error:
        analyze(task, architecture)
    (refusal,) = error.value.violations
    assert refusal.field == "architecture.input.shape"
    advice = (
        "; both hold the same locations in the same order (an axis of one location pools "
        f"nothing): give the task the shape {own_shape}, or write the architecture on {task_shape}"
    )
    assert (advice in refusal.description) == told, refusal.description
