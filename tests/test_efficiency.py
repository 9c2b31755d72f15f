"""Expressive efficiency: the shallow and contiguous nets' needs against exhaustive ladders."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.cli.format import render_analysis
from advisor.geometry.layouts import pooling_structure
from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.parameters import ParameterModel
from advisor.model.results import CorrelationAnalysis, Efficiency
from advisor.model.task import Task, load_task, parse_task
from advisor.search.clock import PricingTimer
from advisor.seprank import efficiency as efficiency_module
from advisor.seprank.analysis import analyze
from advisor.seprank.efficiency import (
    _PRECISION,
    DECIMALS,
    LADDER_GROWTHS,
    MAX_PRICED_WORK,
    _least_ladder,
    log2_shallow_caps,
)
from advisor.seprank.labels import correlation_labels
from advisor.seprank.tree import log2_min_cut
from advisor.stopping import StopSignal

_DEPTH = 4
_LENGTH = 2**_DEPTH


def _arch(widths: list[int], m: int, geometry: object = "contiguous") -> Architecture:
    layers = [{"channels": w, "pool": [_LENGTH // 2 ** (len(widths) - 1)]} for w in widths]
    for layer in layers[:-1]:
        layer["pool"] = [2]
    return parse_architecture(
        {"input": {"shape": [_LENGTH]}, "representation": m, "layers": layers, "geometry": geometry}
    )


def _task(sides: list[list[int]]) -> Task:
    correlations = []
    for i, labels in enumerate(sides):
        a = [j for j, side in enumerate(labels) if side == 1]
        b = [j for j, side in enumerate(labels) if side == 2]
        correlations.append({"name": f"c{i}", "a": {"indices": a}, "b": {"indices": b}})
    return parse_task({"input": {"shape": [_LENGTH]}, "correlations": correlations})


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Task, Architecture]:
    rows = []
    for _ in range(draw(st.integers(1, 3))):
        labels = draw(st.lists(st.sampled_from([0, 1, 2]), min_size=_LENGTH, max_size=_LENGTH))
        labels[draw(st.integers(0, _LENGTH // 2 - 1))] = 1
        labels[draw(st.integers(_LENGTH // 2, _LENGTH - 1))] = 2
        rows.append(labels)
    widths = draw(st.lists(st.sampled_from([1, 2, 3, 4, 6, 8]), min_size=_DEPTH, max_size=_DEPTH))
    order = draw(st.permutations([1, 2, 4, 8]))
    return _task(rows), _arch(widths, draw(st.sampled_from([2, 3, 4])), {"dilations": order})


def _integer_ladders() -> npt.NDArray[np.int64]:
    """Every ladder of the test's depth with integer widths up to 512, one per row."""
    ladders = []
    for growth in LADDER_GROWTHS:
        for first in range(1, 513):
            widths = [first * growth**level for level in range(_DEPTH)]
            if all(w == int(w) and 1 <= w <= 512 for w in widths):
                ladders.append([int(w) for w in widths])
    return np.array(ladders, dtype=np.int64)


_LADDERS = _integer_ladders()


@settings(max_examples=60, deadline=None)
@given(_cases())
def test_no_integer_ladder_reaching_the_figures_is_smaller_than_reported(
    case: tuple[Task, Architecture],
) -> None:
    task, arch = case
    result = analyze(task, arch)
    assert result.efficiency is not None
    targets = np.array([c.log2_separation_rank for c in result.correlations])
    # The figure analyze() gives each contiguous ladder: the shared-weight bound, all at once.
    labels = correlation_labels(task.resolved(), _LENGTH)
    structure = pooling_structure(_arch([1] * _DEPTH, arch.representation))
    m = arch.representation
    figures = log2_min_cut(structure, labels, np.log2(_LADDERS), math.log2(m), shared_weights=True)
    reaching = _LADDERS[np.all(figures >= targets - 1e-9, axis=1)]
    model = ParameterModel.for_input(arch.input, 1, arch.outputs)
    counts = model.count(np.hstack([np.full((len(reaching), 1), m), reaching]))
    least = int(counts.min()) if len(reaching) else None
    narrowest = int(reaching.max(axis=1).min()) if len(reaching) else None
    bound = result.efficiency.log2_contiguous_parameters
    widest = result.efficiency.log2_contiguous_channels
    if bound is None or widest is None:
        assert least is None and bound is None and widest is None
    elif least is not None and narrowest is not None:
        # Lower bounds, each on its own: with shared weights no ladder may reach at all.
        assert bound <= math.log2(least) + 1e-9
        assert widest <= math.log2(narrowest) + 1e-9
    # The shallow net: rank <= width on any partition, so the need is the largest figure.
    # (Figures are rounded down to 6 decimals, so they stay lower bounds.)
    need = max(0.0, float(targets.max()))
    assert 0.0 <= need - result.efficiency.log2_shallow_channels < 1e-6


@settings(max_examples=60, deadline=None)
@given(_cases())
def test_a_shallow_net_reaches_the_figures_exactly_when_its_own_analysis_at_a_vast_width_does(
    case: tuple[Task, Architecture],
) -> None:
    # The summary said a shallow net "would need at least 4 channels" where, its weights shared,
    # none of that M has a rank above 3 at any width (input [4], halves, M = 2). The engine's
    # own figure of a shallow net wider than any rank here says what such a net reaches.
    task, arch = case
    result = analyze(task, arch)
    assert result.efficiency is not None
    shallow = parse_architecture(
        {
            "input": {"shape": [_LENGTH]},
            "representation": arch.representation,
            "layers": [{"channels": 2**30, "pool": [_LENGTH]}],
        }
    )
    widest = analyze(task, shallow, price_contiguous=False).correlations
    caps = list(log2_shallow_caps(arch.representation, task.resolved()))
    assert [c.log2_separation_rank for c in widest] == pytest.approx(caps, abs=1e-9)
    reached = all(
        deep.log2_separation_rank <= wide.log2_separation_rank + 1e-9
        for deep, wide in zip(result.correlations, widest, strict=True)
    )
    assert result.efficiency.shallow_reaches == reached
    # The contiguous net on the same windows, as wide as the figures could ask: its figures
    # say whether any contiguous net of this M reaches them (the ladder's price, else null).
    vast = _arch([2**17] * _DEPTH, arch.representation)  # past every figure here (16 bits)
    contiguous = analyze(task, vast, price_contiguous=False)
    reachable = all(
        deep.log2_separation_rank <= wide.log2_separation_rank + 1e-9
        for deep, wide in zip(result.correlations, contiguous.correlations, strict=True)
    )
    assert (result.efficiency.log2_contiguous_parameters is not None) == reachable


@settings(max_examples=60, deadline=None)
@given(_cases(), st.sampled_from(LADDER_GROWTHS))
def test_the_least_ladder_lies_within_a_bracket_width_below_the_threshold(
    case: tuple[Task, Architecture], growth: float
) -> None:
    # Tight as well as a bound: the returned first width misses the figures (or is the least
    # width there is) and one two bracket widths above it reaches them.
    task, arch = case
    targets = np.array([c.log2_separation_rank for c in analyze(task, arch).correlations])
    labels = correlation_labels(task.resolved(), _LENGTH)
    structure = pooling_structure(_arch([1] * _DEPTH, arch.representation))
    log2_m = math.log2(arch.representation)
    ladder = _least_ladder(structure, labels, targets, log2_m, growth, None)
    offsets = math.log2(growth) * np.arange(_DEPTH)
    floor = max(0.0, -float(offsets.min()))

    def margin(start: float) -> float:
        figures = log2_min_cut(structure, labels, (start + offsets)[None, :], log2_m)
        return float((figures[0] - targets).min())

    assert ladder is not None  # the input legs allow these figures: the net reaches them
    start = ladder[0]
    assert np.allclose(ladder, start + offsets)
    assert start == floor or margin(start) < -1e-9
    assert margin(start + 2 * _PRECISION) >= -1e-9


def test_the_contiguous_pricing_takes_a_few_runs_of_the_recurrence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A feasible tangent root is the threshold: the bracket closes there at once instead of
    # halving down to its precision (175 runs for this net before, some 60 per growth).
    task = parse_task({"input": {"shape": [64, 64]}, "preset": "symmetry"})
    # A contiguous net: a mirror net's halves no contiguous net of its M reaches at any width.
    layers = [{"channels": 24, "pool": [2, 2]} for _ in range(6)]
    net = parse_architecture({"input": {"shape": [64, 64]}, "representation": 8, "layers": layers})
    runs = []

    def counted(*args: Any, **kwargs: Any) -> npt.NDArray[np.float64]:
        runs.append(1)
        return log2_min_cut(*args, **kwargs)

    monkeypatch.setattr(efficiency_module, "log2_min_cut", counted)
    priced = analyze(task, net).efficiency
    assert priced is not None and priced.contiguous_priced
    assert priced.log2_contiguous_parameters is not None
    assert len(runs) <= 10 * len(LADDER_GROWTHS)


def test_a_contiguous_ladder_needs_no_more_than_itself_and_a_shallow_net_no_more_than_itself() -> (
    None
):
    task = _task([[1, 2] * (_LENGTH // 2), [1] * (_LENGTH // 2) + [2] * (_LENGTH // 2)])
    ladder = _arch([8, 8, 8, 8], 4)
    shallow = parse_architecture(
        {
            "input": {"shape": [_LENGTH]},
            "representation": 4,
            "layers": [{"channels": 8, "pool": [_LENGTH]}],
        }
    )
    ladder_efficiency = analyze(task, ladder).efficiency
    shallow_efficiency = analyze(task, shallow).efficiency
    assert ladder_efficiency is not None and shallow_efficiency is not None
    assert ladder_efficiency.log2_contiguous_parameters is not None
    assert ladder_efficiency.log2_contiguous_parameters <= math.log2(ladder.parameters)
    assert shallow_efficiency.log2_shallow_channels <= 3.0
    assert shallow_efficiency.log2_shallow_parameters <= math.log2(shallow.parameters) + 1e-9


def test_each_contiguous_figure_is_a_bound_of_its_own() -> None:
    # A contiguous net of constant width is a ladder itself, so neither figure may exceed its
    # own; the ladder with the fewest parameters here doubles to 80 channels at the top, so the
    # widest layer is not that ladder's.
    task = parse_task({"input": {"shape": [64, 64]}, "preset": "local"})
    layers = [{"channels": 40, "pool": [2, 2]} for _ in range(6)]
    net = parse_architecture({"input": {"shape": [64, 64]}, "representation": 8, "layers": layers})
    efficiency = analyze(task, net).efficiency
    assert efficiency is not None and efficiency.log2_contiguous_channels is not None
    assert efficiency.log2_contiguous_parameters is not None
    assert efficiency.log2_contiguous_channels <= math.log2(40)
    assert efficiency.log2_contiguous_parameters <= math.log2(net.parameters)


def test_odd_against_even_needs_an_exponential_shallow_net() -> None:
    # [CSS16]: odd vs even under size-2 pooling reaches min(r_0, M)^(N/2): 4^8 = 2^16 here.
    task = _task([[1, 2] * (_LENGTH // 2)])
    result = analyze(task, _arch([4, 4, 4, 4], 4))
    assert result.efficiency is not None
    assert result.efficiency.log2_shallow_channels == 16.0
    assert "at least 65,536 channels" in result.efficiency.summary()


def test_a_large_input_leaves_the_contiguous_net_unpriced_and_says_so() -> None:
    length = 2**14
    task = parse_task({"input": {"shape": [length]}, "preset": "periodic"})
    layers = [{"channels": 4, "pool": [2]}] * 14
    arch = parse_architecture({"input": {"shape": [length]}, "representation": 4, "layers": layers})
    assert len(task.resolved()) * 2 * (length - 1) > MAX_PRICED_WORK
    efficiency = analyze(task, arch).efficiency
    assert efficiency is not None and not efficiency.contiguous_priced
    assert efficiency.log2_contiguous_parameters is None
    assert efficiency.unpriced_reason == "too_large"
    assert "not computed (too costly for an input this large)." in efficiency.summary()


def test_a_stopped_pricing_leaves_the_contiguous_net_out_and_every_figure_as_it_was() -> None:
    task = _task([[1] * 8 + [2] * 8, [1, 2] * 8])
    arch = _arch([4, 4, 8, 8], 4)
    stopped = StopSignal()
    stopped.cancel()
    full, cut = analyze(task, arch), analyze(task, arch, pricing_stop=stopped)
    assert full.efficiency is not None and cut.efficiency is not None
    assert full.efficiency.contiguous_priced and full.efficiency.log2_contiguous_parameters
    assert not cut.efficiency.contiguous_priced
    assert cut.efficiency.log2_contiguous_parameters is None
    assert cut.efficiency.log2_contiguous_channels is None
    assert cut.efficiency.log2_shallow_parameters == full.efficiency.log2_shallow_parameters
    assert cut.correlations == full.correlations
    assert cut.efficiency.unpriced_reason == "stopped"
    assert "not computed (cut by the search's stop)." in cut.efficiency.summary()
    assert analyze(task, arch, pricing_stop=StopSignal()) == full  # a live signal prices


def test_a_pricing_timer_times_the_whole_pricing(monkeypatch: pytest.MonkeyPatch) -> None:
    # A search's builds are timed without their pricing (the deadline may cut it): the timer
    # must see the pricing's last run of the recurrence too, or that run counts in the build.
    now = [0.0]

    def slow(*args: Any, **kwargs: Any) -> npt.NDArray[np.float64]:
        now[0] += 1.0
        return log2_min_cut(*args, **kwargs)

    monkeypatch.setattr(efficiency_module, "log2_min_cut", slow)
    task = _task([[1] * 8 + [2] * 8, [1, 2] * 8])
    timer = PricingTimer(StopSignal(clock=lambda: now[0]), lead=0.0)
    priced = analyze(task, _arch([4, 4, 8, 8], 4), pricing_stop=timer).efficiency
    assert priced is not None and priced.contiguous_priced
    assert now[0] > 1.0
    assert timer.seconds == now[0]


def test_an_analysis_asked_without_the_pricing_leaves_it_out_and_every_figure_as_it_was() -> None:
    task = _task([[1] * 8 + [2] * 8, [1, 2] * 8])
    arch = _arch([4, 4, 8, 8], 4)
    full, bare = analyze(task, arch), analyze(task, arch, price_contiguous=False)
    assert full.efficiency is not None and bare.efficiency is not None
    assert full.efficiency.contiguous_priced and full.efficiency.log2_contiguous_parameters
    assert not bare.efficiency.contiguous_priced
    assert bare.efficiency.log2_contiguous_parameters is None
    assert bare.efficiency.log2_shallow_channels == full.efficiency.log2_shallow_channels
    assert bare.correlations == full.correlations
    assert bare.efficiency.unpriced_reason == "not_asked"
    assert "not computed (not asked for)." in bare.efficiency.summary()


_SCALE_WORDS: Final = {"": 1, "million": 10**6, "billion": 10**9, "trillion": 10**12}
"""A written count's scale word and the count it multiplies."""


def _floored(value: float) -> float:
    return math.floor(value * 10**DECIMALS) / 10**DECIMALS


@given(st.integers(1, 2**40 - 1))
def test_a_count_is_written_as_a_true_lower_bound_to_the_digits_its_figure_fixes(
    count: int,
) -> None:
    figure = _floored(math.log2(count))
    efficiency = Efficiency(figure, figure, None, None, contiguous_priced=False)
    written = efficiency.summary().split("at least ")[1].split(" channel")[0]
    number, _, word = written.partition(" ")
    shown = int(Decimal(number.replace(",", "")) * _SCALE_WORDS[word])
    assert shown <= count
    if count <= 2**20:
        assert shown == count
        assert not word
    else:
        assert count - shown < count * 1e-5
        assert len(number.replace(".", "").lstrip("0")) <= 6
        assert _SCALE_WORDS[word] <= count < 1000 * _SCALE_WORDS[word]


@given(st.floats(40.001, 5000.0))
def test_a_count_written_as_a_power_of_two_is_no_more_than_its_figure(figure: float) -> None:
    # Past 2^40 a count is written 2^x.y: rounding to the nearest tenth wrote 2^389.358 as
    # "at least 2^389.4", more than the figure proves.
    figure = _floored(figure)
    written = Efficiency(figure, figure, None, None, contiguous_priced=False).summary()
    shown = float(written.split("at least 2^")[1].split(" channel")[0].replace(",", ""))
    assert shown <= figure + 1e-6
    assert figure - shown < 0.1 + 1e-6


@pytest.mark.parametrize(
    ("log2_channels", "written"),
    [
        (20.0, "1,048,576 channels"),
        (24.0, "16.7772 million channels"),
        (math.log2(2_000_000), "2 million channels"),
        (39.9, "1.02588 trillion channels"),
    ],
)
def test_a_count_past_two_to_the_twenty_says_its_scale_so_it_does_not_read_as_exact(
    log2_channels: float, written: str
) -> None:
    # 2^24 channels, rounded to the six digits the figure fixes, read "16,777,200": a count
    # 16 short of 2^24 to anyone who knows the power.
    summary = Efficiency(log2_channels, 60.0, None, None, contiguous_priced=False).summary()
    assert f"at least {written} (" in summary


def test_a_figure_a_hair_below_a_tenth_reads_as_that_tenth() -> None:
    # The contiguous pricing stops 1e-7 bits below its threshold and figures are floored to 6
    # decimals: 1535.999999 is the README's 2^1,536.0, not 2^1,535.9.
    written = Efficiency(1535.999999, 389.358, None, None, contiguous_priced=False).summary()
    assert "at least 2^1,536.0 channels (2^389.3 parameters)" in written


def test_a_power_of_twenty_reads_to_six_digits_not_past_them_and_one_channel_is_singular() -> None:
    figure = _floored(math.log2(20**8))
    assert (
        "at least 25.5999 billion channels"
        in Efficiency(figure, figure, None, None, contiguous_priced=False).summary()
    )
    one = Efficiency(0.0, 1.0, 0.0, 1.0, contiguous_priced=True).summary()
    assert "at least 1 channel (2 parameters)" in one
    assert "widest layer of at least 1 channel." in one


def test_a_priced_net_has_no_reason_it_went_unpriced_and_figures_without_one_say_every_reason() -> (
    None
):
    with pytest.raises(ValueError, match="no unpriced_reason"):
        Efficiency(3.0, 9.5, 4.0, 10.25, True, "stopped")
    said = Efficiency(3.0, 9.5, None, None, False).summary()
    assert "(too costly for an input this large, cut by a stop, or not asked for)" in said


def test_a_figure_above_its_dimension_bound_is_said_to_be_out_of_any_shallow_nets_reach() -> None:
    # Overlapping windows on [6], M = 2, odd against even (docs/THEORY.md §14): the figure, 18,
    # is above the dimension bound 2^3, which caps a shallow net of M = 2 at any width, and the
    # shared net's C(4, 3) = 4. The table said a shallow net "would need at least 32 channels
    # ... to reach these ranks", as if 32 would do.
    task = parse_task(
        {"input": {"shape": [6]}, "correlations": [{"name": "oddeven", "a": {"preset": "even"}}]}
    )

    def table(first: dict[str, object], top: int) -> str:
        architecture = parse_architecture(
            {
                "input": {"shape": [6]},
                "representation": 2,
                "layers": [{"channels": 4, **first}, {"channels": 2, "pool": [top]}],
            }
        )
        return " ".join(render_analysis(analyze(task, architecture), "table").split())

    overlapping = table({"pool": [2], "stride": [1]}, 5)
    assert "No shallow net of this M reaches these ranks at any width" in overlapping
    assert "(its width alone would need at least 18 channels " in overlapping
    assert "A shallow net would need" not in overlapping
    # A tree's 2^3 is within the dimension bound and above the shared net's C(4, 3) = 4.
    tree = table({"pool": [2]}, 3)
    assert "its rank is at most C(M + m - 1, m) for the m locations" in tree
    assert "A shallow net would need" not in tree
    # A document of an earlier version printed a figure above its dimension bound (the
    # unrolled cut, 2^5): it is said to be past the bound, the correlation named.
    earlier = CorrelationAnalysis("oddeven", 5.0, 3.0, "upper_bound")
    said = Efficiency(5.0, 7.0, None, None).summary([earlier])
    assert "its rank is at most the dimension bound, which the figure of 'oddeven'" in said


def _local_net(widths: list[int]) -> Architecture:
    """A contiguous net of ``widths`` on ``local``'s 32x32 input, M = 16, every level 2x2."""
    layers = [{"channels": width, "pool": [2, 2]} for width in widths]
    return parse_architecture(
        {"input": {"shape": [32, 32]}, "representation": 16, "layers": layers}
    )


def test_the_contiguous_need_names_one_growth_for_every_level_as_a_mixed_profile_needs_less() -> (
    None
):
    # 40-40-20-10-5 stays, then halves: it reaches its own figures with fewer parameters than
    # the need, which bounds only ladders of one growth; the sentence said "halve, stay or
    # double at every level", a choice per level, and so was contradicted by this very net.
    task = load_task(Path(__file__).parents[1] / "examples" / "tasks" / "local.yaml")
    mixed = _local_net([40, 40, 20, 10, 5])
    result = analyze(task, mixed)
    assert (
        result.efficiency is not None and result.efficiency.log2_contiguous_parameters is not None
    )
    need = 2.0**result.efficiency.log2_contiguous_parameters
    assert mixed.parameters < need
    figures = np.array([c.log2_separation_rank for c in result.correlations])
    least = math.inf
    for growth in LADDER_GROWTHS:
        for first in range(1, 257):
            widths = [first * growth**level for level in range(5)]
            if not all(w == int(w) for w in widths):
                continue
            ladder = _local_net([int(w) for w in widths])
            ranks = analyze(task, ladder, price_contiguous=False).correlations
            if all(c.log2_separation_rank >= f - 1e-9 for c, f in zip(ranks, figures, strict=True)):
                least = min(least, ladder.parameters)
                break
    assert need <= least < math.inf
    sentence = result.efficiency.summary(result.correlations)
    assert "whose widths change by the same factor at every level" in sentence
