"""Every figure against an independent oracle: the network evaluated as the export builds it.

tests/support/oracle.py shares no code with the engines: it pools as the PyTorch export pools
(the input permutation, then plain windows with each layer's kernel and stride), evaluates the
ConvAC forward with product pooling modulo a prime, and takes the rank of ``h`` over random
points of A and of B (docs/THEORY.md §1-§3, §9). Against it, on random small networks of every
kind the analysis takes (1-, 2- and 3-D grids, padded or not, every geometry, overlapping
windows, mixtures) and random regions with free locations:

- every figure is an upper bound on the shared-weight rank (docs/THEORY.md §10);
- a ``tight`` figure is the rank of the network with per-location weights, and the plain
  min-cut bounds that rank (docs/THEORY.md §4, §10; [LYCS18 Thm 2]);
- an ``exact`` figure is the rank, and a ``log2_lower_bound`` is below it (docs/THEORY.md §9).

The oracle itself is checked on closed forms first, so a broken oracle fails here rather than
passing everything.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError, LimitExceededError
from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.budget import Budget
from advisor.model.results import CorrelationAnalysis
from advisor.model.task import Task, parse_task
from advisor.search.recommend import recommend
from advisor.seprank.analysis import analyze
from tests.support.mixtures import member_trees
from tests.support.oracle import (
    Member,
    P,
    architecture_members,
    architecture_rank,
    cap_above,
    contiguous_windows,
    export_levels,
    location_sets,
    rank_mod_p,
    separation_rank,
)

TOLERANCE = 1e-9
MOST_BITS = 5.0
"""Figures above this many bits are not checked: the oracle evaluates ``(2^bits + 1)^2`` points."""

_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# --- the oracle on its own -----------------------------------------------------------------------


def test_the_oracles_rank_is_the_rank() -> None:
    rng = np.random.default_rng(0)
    for rank in (0, 1, 3, 7):
        left, right = rng.integers(0, 1000, (9, rank)), rng.integers(0, 1000, (rank, 11))
        assert rank_mod_p(left @ right) == rank
    assert rank_mod_p(np.eye(5, dtype=np.int64)[:, [0, 0, 1, 2, 2]]) == 3


def _tree(n: int, arities: list[int]) -> list[np.ndarray]:
    """Contiguous 1-D windows of ``arities`` on ``n`` locations."""
    levels, size = [], n
    for k in arities:
        _, windows = contiguous_windows((size,), (k,), (k,))
        levels.append(np.asarray(windows, dtype=np.int64))
        size //= k
    return levels


@pytest.mark.parametrize(("r0", "m"), [(2, 3), (3, 2), (3, 3)])
def test_the_oracle_gives_the_closed_forms(r0: int, m: int) -> None:
    # docs/THEORY.md §6: odd vs even under contiguous size-2 pooling, min(r_0, M)^(N/2); a
    # shallow net, min(M^min(|A|, |B|), r_0) without sharing.
    tree = Member(_tree(8, [2, 2, 2]), (r0, 4, 2))
    rank = separation_rank([tree], 8, m, [0, 2, 4, 6], [1, 3, 5, 7], shared=False)
    assert rank == min(r0, m) ** 4
    shallow = Member(_tree(4, [4]), (5,))
    assert separation_rank([shallow], 4, m, [0, 1], [2, 3], shared=False) == min(m**2, 5)
    # Shared weights: two A leaves of one window span Sym^2, binom(M + 1, 2) (docs/THEORY.md §5).
    pair = Member(_tree(4, [2, 2]), (9, 1))
    assert separation_rank([pair], 4, m, [0, 1], [2, 3], shared=False) == 1
    assert separation_rank([pair], 4, m, [0, 1], [2, 3]) == 1
    pair = Member(_tree(4, [4]), (50,))
    assert separation_rank([pair], 4, m, [0, 1], [2, 3]) == math.comb(m + 1, 2)


def test_the_oracle_finds_the_documented_ranks() -> None:
    # docs/THEORY.md §4 (the loose case: min-cut 24, rank 21) and §5 (mirror 4x4: 81, not 256).
    loose = _architecture([4, 4], 2, [(3, [2, 2]), (2, [2, 2])], "contiguous")
    a = [6, 7, 8, 9, 10, 12, 14, 15]
    b = [x for x in range(16) if x not in a]
    assert architecture_rank(loose, a, b, shared=False, cap=25) == 21
    mirror = _architecture([4, 4], 2, [(4, [2, 2]), (2, [2, 2])], "mirror")
    left = [0, 1, 4, 5, 8, 9, 12, 13]
    right = [x for x in range(16) if x not in left]
    assert architecture_rank(mirror, left, right, cap=90) == 81
    assert architecture_rank(mirror, left, right, shared=False, cap=90) == 90  # above 81


def _assert_rank_and_figure(
    architecture: Architecture, a: list[int], b: list[int], cap: int, rank: int, figure: float
) -> None:
    """Assert the oracle's shared-weight rank is ``rank`` and the analysis' figure ``figure``."""
    found, bound = _ranks_and_figure(architecture, a, b, cap)
    assert found == rank
    assert bound == pytest.approx(figure)


def _ranks_and_figure(
    architecture: Architecture, a: list[int], b: list[int], cap: int
) -> tuple[int, float]:
    """The oracle's shared-weight rank and the analysis' figure for one correlation."""
    shape = list(architecture.input.shape)
    task = parse_task(
        {
            "input": {"shape": shape},
            "correlations": [{"name": "c", "a": {"indices": a}, "b": {"indices": b}}],
        }
    )
    (figure,) = analyze(task, architecture, price_contiguous=False).correlations
    return architecture_rank(architecture, a, b, cap=cap), 2**figure.log2_separation_rank


def test_the_oracle_finds_the_ranks_documented_below_the_bound() -> None:
    # docs/THEORY.md §5: constants nested in a one-sided sibling's span (rank below the bound).
    padded = _architecture([5], 2, [(2, [2]), (4, [4])], "interleaved", padding=[[1, 2]])
    _assert_rank_and_figure(padded, [1, 3], [0, 2, 4], 10, 3, 4)
    nested = _architecture([12], 2, [(8, [3]), (8, [4])], "contiguous")
    _assert_rank_and_figure(nested, [1, 3, 4, 5], [6, 7, 8, 11], 10, 7, 8)
    deeper = _architecture([16], 2, [(4, [2]), (8, [2]), (16, [2]), (16, [2])], "contiguous")
    a = [8, 9, 12, 13, 14, 15]
    _assert_rank_and_figure(deeper, a, list(range(8)), 20, 15, 16)


def test_a_tight_figure_of_plain_2x2_pooling_is_above_the_shared_rank() -> None:
    # docs/THEORY.md §5: on partitions of the whole input, `tight` figures sit above the
    # shared-weight rank about 1 in 10 to 1 in 50 times at M = 2 (windows mixing both sides), on a
    # 4x4 grid pooled 2x2 twice: 2^6, the rank with per-location weights, against 54.
    plain = _architecture([4, 4], 2, [(8, [2, 2]), (4, [2, 2])], "contiguous")
    a, b = [0, 3, 6, 7, 10, 12, 14, 15], [1, 2, 4, 5, 8, 9, 11, 13]
    task = parse_task(
        {
            "input": {"shape": [4, 4]},
            "correlations": [{"name": "c", "a": {"indices": a}, "b": {"indices": b}}],
        }
    )
    (figure,) = analyze(task, plain, price_contiguous=False).correlations
    assert (figure.certificate, figure.log2_separation_rank) == ("tight", 6.0)
    assert architecture_rank(plain, a, b, shared=False, cap=65) == 64
    assert architecture_rank(plain, a, b, cap=65) == 54
    # docs/CLI.md: the min-cut printed beside the figure does not show it either; --exact does.
    assert figure.log2_min_cut == 6.0
    (certified,) = analyze(task, plain, exact=True, price_contiguous=False).correlations
    assert certified.certificate == "exact"
    assert certified.log2_separation_rank == pytest.approx(math.log2(54), abs=1e-9)


def test_a_tight_figure_of_plain_1d_pooling_by_two_is_above_the_shared_rank() -> None:
    # docs/THEORY.md §5: on near-balanced partitions of 16 locations at M = 2 about 1 in 16
    # `tight` figures sit above the shared rank, the plainest 1-D net among them: [16] pooled by
    # 2 four times, 2^7, the rank with per-location weights, against 113.
    plain = _architecture([16], 2, [(w, [2]) for w in (4, 16, 16, 8)], "contiguous")
    a = [0, 1, 3, 4, 6, 7, 8, 12]
    b = [i for i in range(16) if i not in a]
    task = parse_task(
        {"input": {"shape": [16]}, "correlations": [{"name": "c", "a": {"indices": a}}]}
    )
    (figure,) = analyze(task, plain, price_contiguous=False).correlations
    assert (figure.certificate, figure.log2_separation_rank) == ("tight", 7.0)
    assert architecture_rank(plain, a, b, shared=False, cap=129) == 128
    assert architecture_rank(plain, a, b, cap=129) == 113


def test_a_tight_figure_of_1d_pooling_by_four_is_above_the_shared_rank() -> None:
    # docs/THEORY.md §5: with windows of four children it is about 1 in 10 near-balanced
    # partitions at M = 2, found by an independent check: [16] pooled 4, 4 (widths 4 and 8),
    # 2^6, the rank with per-location weights, against 56.
    plain = _architecture([16], 2, [(4, [4]), (8, [4])], "contiguous")
    a = [2, 4, 6, 7, 11, 12, 14, 15]
    b = [i for i in range(16) if i not in a]
    task = parse_task(
        {"input": {"shape": [16]}, "correlations": [{"name": "c", "a": {"indices": a}}]}
    )
    (figure,) = analyze(task, plain, price_contiguous=False).correlations
    assert (figure.certificate, figure.log2_separation_rank) == ("tight", 6.0)
    assert architecture_rank(plain, a, b, shared=False, cap=65) == 64
    assert architecture_rank(plain, a, b, cap=65) == 56


def _odd_against_even_on_overlapping_windows() -> tuple[Task, Architecture]:
    """THEORY.md §9's example: odd against even locations of [6], windows of 2 with stride 1."""
    overlapping = parse_architecture(
        {
            "input": {"shape": [6]},
            "representation": 2,
            "layers": [{"channels": 4, "pool": [2], "stride": [1]}, {"channels": 2, "pool": [5]}],
        }
    )
    task = parse_task(
        {
            "input": {"shape": [6]},
            "correlations": [
                {"name": "c", "a": {"indices": [0, 2, 4]}, "b": {"indices": [1, 3, 5]}}
            ],
        }
    )
    return task, overlapping


def test_the_grid_tensor_is_well_below_the_rank_of_an_overlapping_network() -> None:
    # docs/THEORY.md §9: the exact engine's lower bound on overlapping windows (the grid
    # tensor) against the rank of h over generic representation vectors.
    # The figure is the regions' own cap (docs/THEORY.md §8), which the rank reaches here:
    # each of A's locations enters the unrolled tree once, twice and twice, C(3, 2) = 3 times
    # 3 times 2 = 18 (the unrolled min-cut said 2^5).
    task, overlapping = _odd_against_even_on_overlapping_windows()
    (figure,) = analyze(task, overlapping, exact=True).correlations
    capped = math.ceil(math.log2(18) * 1e9) / 1e9
    assert (figure.log2_separation_rank, figure.log2_lower_bound) == (capped, 3.0)
    assert figure.log2_max_rank == capped
    assert architecture_rank(overlapping, [0, 2, 4], [1, 3, 5], cap=33) == 18


def test_biases_lift_a_convac_above_the_figures_of_the_bias_free_one() -> None:
    # docs/THEORY.md §13: the figures are the bias-free ConvAC's. Input [2], M = 2, one layer of
    # 4 channels: h(u, v) = sum_c a_c (W u + b)_c (W v + b)_c has rank 3 over generic
    # representation vectors u and v with biases b, and 2, the dimension bound printed, without.
    rng = np.random.default_rng(0)
    weights, biases, output = (rng.integers(0, P, shape) for shape in ((4, 2), (4,), (4,)))
    points = [rng.integers(0, P, (6, 2)) for _ in range(2)]

    def rank(shift: np.ndarray) -> int:
        left, right = ((p @ weights.T + shift) % P for p in points)
        return rank_mod_p((left * output % P) @ right.T % P)

    assert rank(biases) == 3
    assert rank(np.zeros(4, dtype=np.int64)) == 2
    shallow = _architecture([2], 2, [(4, [2])], "contiguous")
    task = parse_task(
        {"input": {"shape": [2]}, "correlations": [{"name": "c", "a": {"indices": [0]}}]}
    )
    (figure,) = analyze(task, shallow, exact=True, price_contiguous=False).correlations
    assert (figure.log2_separation_rank, figure.log2_max_rank) == (1.0, 1.0)


def test_a_figure_above_the_dimension_bound_prices_a_shallow_net_no_width_reaches() -> None:
    # docs/THEORY.md §14: a shallow net's rank is at most M^min(|A|, |B|) at any width (8 on
    # odd against even locations of [6] at M = 2), and, its weights shared, C(M + 2, 3) = 4:
    # the overlapping network's 18 is priced at channels no shallow net of that M turns into
    # rank.
    task, overlapping = _odd_against_even_on_overlapping_windows()
    analysis = analyze(task, overlapping)
    (figure,) = analysis.correlations
    assert analysis.efficiency is not None
    assert figure.log2_separation_rank == figure.log2_max_rank == pytest.approx(math.log2(18))
    assert analysis.efficiency.log2_shallow_channels == pytest.approx(math.log2(18), abs=1e-6)
    assert not analysis.efficiency.shallow_reaches
    shallow = parse_architecture(
        {"input": {"shape": [6]}, "representation": 2, "layers": [{"channels": 64, "pool": [6]}]}
    )
    assert architecture_rank(shallow, [0, 2, 4], [1, 3, 5], shared=False, cap=33) == 8
    assert architecture_rank(shallow, [0, 2, 4], [1, 3, 5], cap=33) == 4


def test_a_wider_representation_conv_is_analysed_on_its_patches_not_its_pixels() -> None:
    # docs/THEORY.md §1: with representation_kernel k > 1 each location's input is its patch,
    # taken as an input of its own. One global pooling of width 1 is then a product of one
    # function per patch, rank 1 across any regions, and the figure is `exact` at that; as a
    # function of the pixels, whose patches overlap A and B alike, it has a higher rank.
    shallow = parse_architecture(
        {
            "input": {"shape": [4]},
            "representation": 2,
            "representation_kernel": 3,
            "layers": [{"channels": 1, "pool": [4]}],
        }
    )
    task = parse_task(
        {
            "input": {"shape": [4]},
            "correlations": [{"name": "c", "a": {"indices": [0, 1]}, "b": {"indices": [2, 3]}}],
        }
    )
    (figure,) = analyze(task, shallow, exact=True).correlations
    assert (figure.log2_separation_rank, figure.certificate) == (0.0, "exact")
    # h(x) = prod_i g(x_{i-1}, x_i, x_{i+1}) over pixels of three values, zero-padded, g a
    # generic function of the patch (the conv, its representation and the 1x1 conv).
    g = np.random.default_rng(0).integers(0, P, (3, 3, 3))
    values = list(itertools.product(range(3), repeat=2))

    def h(pixels: tuple[int, ...]) -> int:
        padded, product = (0, *pixels, 0), 1
        for i in range(1, 5):
            product = product * int(g[padded[i - 1], padded[i], padded[i + 1]]) % P
        return product

    assert rank_mod_p(np.array([[h(a + b) for b in values] for a in values])) == 9


def test_a_margin_whose_patch_reaches_the_input_is_no_constant() -> None:
    # docs/THEORY.md §1: with representation_kernel k > 1 a location's input is its patch, and
    # a margin location next to the input has a patch holding input pixels. A 2x2 input padded
    # to 4x4 (rows 1-2, columns 2-3), interleaved 2x2 windows, widths 4 and 4, M = 2, top row
    # against bottom row: with k = 1 every margin holds zeros, one constant, and the rank is 3;
    # with k = 3 only column 0's patches are all zeros, the other margins are inputs of their
    # own, and the rank is 4. The exact engine held every margin at the constant and certified
    # 3 for every k.
    task = parse_task(
        {
            "input": {"shape": [2, 2]},
            "correlations": [{"name": "c", "a": {"indices": [2, 3]}, "b": {"indices": [0, 1]}}],
        }
    )
    for k, constant, rank in (
        (1, [0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 14, 15], 3),
        (3, [0, 4, 8, 12], 4),
    ):
        net = _architecture(
            [2, 2],
            2,
            [(4, [2, 2]), (4, [2, 2])],
            "interleaved",
            padding=[[1, 1], [2, 0]],
            representation_kernel=k,
        )
        members = architecture_members(net)[0]
        assert separation_rank(members, 16, 2, [10, 11], [6, 7], constant=constant) == rank
        assert architecture_rank(net, [2, 3], [0, 1]) == rank
        (figure,) = analyze(task, net, exact=True, price_contiguous=False).correlations
        assert figure.certificate == "exact"
        assert figure.log2_separation_rank == pytest.approx(math.log2(rank), abs=1e-9)


def test_the_oracle_finds_the_documented_mixture_ranks() -> None:
    # docs/THEORY.md §15: a sum of two trees has rank 3 above its root width 2 (M = 3), and the
    # CTS18 instance, rank 2^6 summed after level 2 where each member alone at twice the width
    # has 36 (M = 2).
    def mixture(
        orders: list[list[int]], widths: list[int], mixing: list[int], m: int
    ) -> Architecture:
        return _architecture(
            [2 ** len(widths)],
            m,
            [(w, [2]) for w in widths],
            {"dilations": orders[0]},
            mixture={
                "members": [{"geometry": {"dilations": o}, "channels": widths} for o in orders[1:]],
                "mixing": mixing,
            },
        )

    summed = mixture([[1, 2, 4], [4, 2, 1]], [4, 4, 2], [], 3)
    _assert_rank_and_figure(summed, [4, 6], [1], 10, 3, 3)
    a, b = [0, 5, 7, 8, 12, 14], [2, 3, 6, 10, 11, 15]
    cts18 = mixture([[1, 2, 4, 8], [2, 1, 8, 4]], [2, 2, 2, 2], [2], 2)
    _assert_rank_and_figure(cts18, a, b, 65, 64, 64)
    for order in ([1, 2, 4, 8], [2, 1, 8, 4]):
        alone = _architecture([16], 2, [(4, [2])] * 4, {"dilations": order})
        assert architecture_rank(alone, a, b, cap=40) == 36
        assert alone.parameters > cts18.parameters == 55


def test_an_exact_mixture_rank_below_the_bound_is_the_figure() -> None:
    # docs/THEORY.md §15: the exact contraction of a mixture is its generic rank, as on a tree,
    # not a lower bound. Here the rank, 14, is below the mixture bound 16 (the figure without
    # the exact engine); it was reported as `upper_bound` 4 with the rank only as
    # `log2_lower_bound`, so the table printed the bound.
    mixture = _architecture(
        [8],
        2,
        [(2, [2]), (1, [2]), (4, [2])],
        {"dilations": [1, 4, 2]},
        mixture={
            "members": [
                {"geometry": {"dilations": [4, 2, 1]}, "channels": [4, 2, 4]},
                {"geometry": {"dilations": [1, 2, 4]}, "channels": [2, 4, 4]},
            ]
        },
    )
    a, b = [2, 4, 5, 6], [0, 1, 3, 7]
    task = parse_task(
        {
            "input": {"shape": [8]},
            "correlations": [{"name": "c", "a": {"indices": a}, "b": {"indices": b}}],
        }
    )
    (bound,) = analyze(task, mixture, price_contiguous=False).correlations
    (certified,) = analyze(task, mixture, exact=True, price_contiguous=False).correlations
    assert architecture_rank(mixture, a, b, cap=17) == 14
    assert (bound.certificate, bound.log2_separation_rank) == ("upper_bound", 4.0)
    assert certified.certificate == "exact"
    assert certified.log2_separation_rank == pytest.approx(math.log2(14), abs=1e-9)
    assert certified.log2_lower_bound is None


def test_the_mixture_bound_is_above_the_shared_rank_where_sharing_binds() -> None:
    # docs/THEORY.md §15: the bound runs the plain recurrence in every member, so where weight
    # sharing lowers a member's rank it stays above the mixture's: 2^7 here, the rank with
    # per-location weights, against 72 with shared weights (0.83 bits). Summed at the root only,
    # the figure is capped by the members' shared-weight bounds, 2^5 + 72 = 104: still above.
    mixture = _architecture(
        [16],
        2,
        [(2, [2]), (3, [2]), (2, [2]), (3, [2])],
        {"dilations": [1, 2, 4, 8]},
        mixture={"members": [{"geometry": {"dilations": [1, 8, 4, 2]}, "channels": [4, 4, 4, 3]}]},
    )
    a, b = [3, 7, 8, 9, 13, 14, 15], [0, 1, 2, 4, 6, 11, 12]
    task = parse_task(
        {
            "input": {"shape": [16]},
            "correlations": [{"name": "c", "a": {"indices": a}, "b": {"indices": b}}],
        }
    )
    (bound,) = analyze(task, mixture, price_contiguous=False).correlations
    (certified,) = analyze(task, mixture, exact=True, price_contiguous=False).correlations
    assert (bound.certificate, bound.log2_min_cut) == ("upper_bound", 7.0)
    assert [member.log2_separation_rank for member in bound.members or ()] == pytest.approx(
        [5.0, math.log2(72)], abs=1e-8
    )
    assert bound.log2_separation_rank == pytest.approx(math.log2(104), abs=1e-8)
    assert architecture_rank(mixture, a, b, shared=False, cap=129) == 128
    assert architecture_rank(mixture, a, b, cap=129) == 72
    assert certified.certificate == "exact"
    assert certified.log2_separation_rank == pytest.approx(math.log2(72), abs=1e-9)


def test_an_exact_analysis_certifies_each_members_figure() -> None:
    # A member's figure beside an exact mixture figure was its tree's bound, `tight` here: 2^4,
    # the rank with per-location weights, where the member alone has shared-weight rank 14
    # (docs/THEORY.md §5). An exact analysis now prints the member's exact rank.
    mixture = _architecture(
        [4, 4],
        2,
        [(4, [2, 2]), (2, [2, 2])],
        "mirror",
        mixture={"members": [{"geometry": "contiguous", "channels": [2, 2]}]},
    )
    a, b = [6, 7, 8, 11, 14, 15], [1, 4, 5, 10, 13]
    task = parse_task(
        {
            "input": {"shape": [4, 4]},
            "correlations": [{"name": "c", "a": {"indices": a}, "b": {"indices": b}}],
        }
    )
    (bound,) = analyze(task, mixture, price_contiguous=False).correlations
    (certified,) = analyze(task, mixture, exact=True, price_contiguous=False).correlations
    assert bound.members is not None and certified.members is not None
    assert (bound.members[0].certificate, bound.members[0].log2_separation_rank) == ("tight", 4.0)
    alone = _architecture([4, 4], 2, [(4, [2, 2]), (2, [2, 2])], "mirror")
    assert architecture_rank(alone, a, b, cap=17) == 14
    assert certified.certificate == "exact"
    assert [member.certificate for member in certified.members] == ["exact", "exact"]
    assert certified.members[0].log2_separation_rank == pytest.approx(math.log2(14), abs=1e-9)


def _architecture(
    shape: list[int], m: int, layers: list[tuple[int, list[int]]], geometry: Any, **more: Any
) -> Architecture:
    return parse_architecture(
        {
            "input": {"shape": shape},
            "representation": m,
            "layers": [{"channels": c, "pool": p} for c, p in layers],
            "geometry": geometry,
            **more,
        }
    )


# --- random networks -----------------------------------------------------------------------------

_SHAPES = [(4,), (6,), (8,), (9,), (5,), (2, 4), (4, 2), (3, 3), (2, 3), (2, 2, 2), (1, 6)]


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


@st.composite
def _networks(draw: st.DrawFn, overlapping: bool = False) -> Architecture:
    """A network of at most 12 (padded) locations: any geometry, padding, widths 1-4, M 2-3."""
    shape = draw(st.sampled_from(_SHAPES))
    padding = None
    if not overlapping and draw(st.booleans()):
        padding = [[draw(st.integers(0, 1)), draw(st.integers(0, 2))] for _ in shape]
    grid = _padded(shape, padding)
    assume(4 <= math.prod(grid) <= 12)
    layers: list[dict[str, Any]] = []
    for level in range(draw(st.integers(1 if overlapping else 0, 2))):
        pool, stride, out = [], [], []
        for n in grid:
            options = [(k, k) for k in _divisors(n)]
            overlaps = [(k, s) for k in range(2, n + 1) for s in range(1, k) if (n - k) % s == 0]
            if overlapping and level == 0 and overlaps:
                options = overlaps  # the first level overlaps wherever an axis lets it
            elif overlapping:
                options += overlaps
            k, s = draw(st.sampled_from(options))
            pool.append(k)
            stride.append(s)
            out.append((n - k) // s + 1)
        if math.prod(out) == 1:
            break
        layer: dict[str, Any] = {"pool": pool, "channels": draw(st.integers(1, 4))}
        if stride != pool:
            layer["stride"] = stride
        layers.append(layer)
        grid = out
    layers.append({"pool": grid, "channels": draw(st.integers(1, 4))})
    families = ["contiguous", "permutation"]
    if not overlapping:
        families += ["mirror", "interleaved", "dilations"]
    family = draw(st.sampled_from(families))
    geometry: Any = family
    if family == "permutation":
        geometry = {"permutation": draw(st.permutations(range(math.prod(_padded(shape, padding)))))}
    elif family == "dilations":
        geometry = {"dilations": draw(st.permutations([2**level for level in range(len(layers))]))}
    document = {
        "input": {"shape": list(shape)},
        "representation": draw(st.sampled_from([2, 3])),
        "layers": layers,
        "geometry": geometry,
    }
    if padding is not None:
        document["padding"] = padding
    try:
        architecture = parse_architecture(document)
    except InvalidRequestError:
        assume(False)
        raise
    assert architecture.is_overlapping == any("stride" in layer for layer in layers)
    assume(architecture.is_overlapping == overlapping)
    return architecture


def _padded(shape: tuple[int, ...], padding: list[list[int]] | None) -> list[int]:
    margins = padding or [[0, 0]] * len(shape)
    return [n + sum(margin) for n, margin in zip(shape, margins, strict=True)]


_Regions = list[tuple[list[int], list[int]]]


@st.composite
def _tasks(draw: st.DrawFn, shape: tuple[int, ...], count: int = 2) -> tuple[Task, _Regions]:
    """``count`` correlations of disjoint non-empty regions, the rest of the input free.

    Each region is written as ids or as a mask (docs/FORMATS.md §1: one row per line of the
    last axis, row-major over the others); the ids meant are returned beside the task, so the
    oracle reads them from here, not from the task's own resolution.
    """
    n = math.prod(shape)
    correlations, regions = [], []
    for index in range(count):
        sides = draw(st.lists(st.sampled_from("ab."), min_size=n, max_size=n))
        a = [x for x, side in enumerate(sides) if side == "a"]
        b = [x for x, side in enumerate(sides) if side == "b"]
        assume(a and b)
        written = [_region(draw(st.booleans()), ids, shape) for ids in (a, b)]
        correlations.append({"name": f"c{index}", "a": written[0], "b": written[1]})
        regions.append((a, b))
    task = parse_task({"input": {"shape": list(shape)}, "correlations": correlations})
    return task, regions


def _region(as_mask: bool, ids: list[int], shape: tuple[int, ...]) -> dict[str, Any]:
    if not as_mask:
        return {"indices": ids}
    width = shape[-1]
    rows = math.prod(shape) // width
    return {
        "mask": [
            "".join("#" if r * width + w in ids else "." for w in range(width)) for r in range(rows)
        ]
    }


def _check_against_the_oracle(
    task: Task, architecture: Architecture, regions: _Regions | None = None
) -> int:
    """Check every figure of both analyses of ``task`` against the oracle; return those checked.

    ``regions``: the ids each correlation means (default: the task's own resolution).
    """
    if regions is None:
        regions = [(c.a.tolist(), c.b.tolist()) for c in task.resolved()]
    bound = analyze(task, architecture, price_contiguous=False)
    exact: Sequence[CorrelationAnalysis | None]
    try:
        exact = analyze(task, architecture, exact=True, price_contiguous=False).correlations
    except LimitExceededError:
        exact = [None] * len(bound.correlations)
    checked = 0
    for (a, b), figure, certified in zip(regions, bound.correlations, exact, strict=True):
        if figure.log2_separation_rank > MOST_BITS:
            continue
        checked += 1
        assert figure.log2_min_cut is not None and figure.log2_max_rank is not None
        cap = cap_above(figure.log2_separation_rank)
        shared = architecture_rank(architecture, a, b, cap=cap)
        assert math.log2(shared) <= figure.log2_separation_rank + TOLERANCE, (figure, shared)
        assert figure.log2_separation_rank <= figure.log2_min_cut + TOLERANCE
        # The regions' own cap bounds the figure and the rank, overlapping windows included.
        assert figure.log2_separation_rank <= figure.log2_max_rank + TOLERANCE
        assert math.log2(shared) <= figure.log2_max_rank + TOLERANCE, (figure, shared)
        if figure.log2_min_cut <= MOST_BITS:
            own = architecture_rank(
                architecture, a, b, shared=False, cap=cap_above(figure.log2_min_cut)
            )
            assert math.log2(own) <= figure.log2_min_cut + TOLERANCE, (figure, own)
        if figure.certificate == "exact":  # a bound of rank 1, the rank without the engine
            assert figure.log2_separation_rank == 0.0 and shared == 1
        if figure.certificate == "tight":
            assert not architecture.is_overlapping
            own = architecture_rank(architecture, a, b, shared=False, cap=cap)
            assert math.log2(own) == pytest.approx(figure.log2_separation_rank, abs=TOLERANCE)
        _check_members(architecture, a, b, figure)
        if certified is None:
            continue
        _check_members(architecture, a, b, certified)
        if certified.certificate == "exact":
            assert math.log2(shared) == pytest.approx(certified.log2_separation_rank, abs=1e-9)
        else:
            assert architecture.is_overlapping
            assert certified.log2_separation_rank == figure.log2_separation_rank
        if certified.log2_lower_bound is not None:
            assert certified.log2_lower_bound <= math.log2(shared) + TOLERANCE
            assert certified.certificate == "upper_bound"
    return checked


def _check_members(
    architecture: Architecture, a: list[int], b: list[int], figure: CorrelationAnalysis
) -> None:
    """Check a mixture's members' figures: each its tree's rank alone, as certified, capped.

    A member's figure bounds its tree's shared-weight rank and is at most the mixture's figure;
    ``tight``, it is the tree's rank with per-location weights; ``exact``, its shared-weight
    rank. A tree has no members.
    """
    mixture = architecture.mixture
    if mixture is None:
        assert figure.members == ()
        return
    assert figure.members is not None
    assert len(figure.members) == len(mixture.members) + 1
    for member, tree in zip(figure.members, member_trees(architecture), strict=True):
        assert member.log2_separation_rank <= figure.log2_separation_rank
        cap = cap_above(member.log2_separation_rank)
        shared = architecture_rank(tree, a, b, cap=cap)
        assert math.log2(shared) <= member.log2_separation_rank + TOLERANCE, (member, shared)
        if member.certificate == "exact":
            # Certified by the exact engine with the mixture, or a bound of rank 1, the rank.
            assert figure.certificate == "exact" or member.log2_separation_rank == 0.0
            assert math.log2(shared) == pytest.approx(member.log2_separation_rank, abs=1e-9)
        if member.certificate == "tight":
            alone = architecture_rank(tree, a, b, shared=False, cap=cap)
            assert math.log2(alone) == pytest.approx(member.log2_separation_rank, abs=TOLERANCE)


@_SETTINGS
@given(st.data())
def test_tree_figures_hold_against_the_oracle(data: st.DataObject) -> None:
    architecture = data.draw(_networks())
    task, regions = data.draw(_tasks(architecture.input.shape))
    _check_against_the_oracle(task, architecture, regions)


@_SETTINGS
@given(st.data())
def test_overlapping_figures_hold_against_the_oracle(data: st.DataObject) -> None:
    architecture = data.draw(_networks(overlapping=True))
    task, regions = data.draw(_tasks(architecture.input.shape))
    _check_against_the_oracle(task, architecture, regions)


@st.composite
def _mixtures(draw: st.DrawFn) -> Architecture:
    """Two or three members on 8 locations (dilation orders) or 2x4 (any named geometry)."""
    if draw(st.booleans()):
        shape, pools = [8], [[2]] * 3
        orders = [draw(st.permutations([1, 2, 4])) for _ in range(draw(st.integers(2, 3)))]
        geometries: list[Any] = [{"dilations": order} for order in orders]
    else:
        shape, pools = [2, 4], [[2, 2], [1, 2]]
        names = st.sampled_from(["contiguous", "mirror", "interleaved"])
        geometries = [draw(names) for _ in range(draw(st.integers(2, 3)))]
    depth = len(pools)
    mixing = sorted(draw(st.sets(st.integers(1, depth - 1))))
    choices = st.sampled_from([1, 2, 3, 4])
    widths = [draw(st.lists(choices, min_size=depth, max_size=depth)) for _ in geometries]
    for own in widths[1:]:
        for level in (*mixing, depth):
            own[level - 1] = widths[0][level - 1]
    document = {
        "input": {"shape": shape},
        "representation": draw(st.sampled_from([2, 4])),
        "layers": [{"channels": w, "pool": p} for w, p in zip(widths[0], pools, strict=True)],
        "geometry": geometries[0],
        "mixture": {
            "members": [
                {"geometry": g, "channels": w}
                for g, w in zip(geometries[1:], widths[1:], strict=True)
            ],
            "mixing": mixing,
        },
    }
    try:
        return parse_architecture(document)
    except InvalidRequestError:
        assume(False)
        raise


@_SETTINGS
@given(st.data())
def test_mixture_figures_hold_against_the_oracle(data: st.DataObject) -> None:
    architecture = data.draw(_mixtures())
    task, regions = data.draw(_tasks(architecture.input.shape))
    _check_against_the_oracle(task, architecture, regions)


@_SETTINGS
@given(st.data())
def test_no_mixture_figure_falls_as_a_width_or_the_representation_grows(
    data: st.DataObject,
) -> None:
    # docs/THEORY.md §15: every term of the recurrence and of the summing rule is nondecreasing
    # in every channel count, so the bound never falls when one grows; the search scores only
    # the ladders no other fitting ladder dominates on that ground.
    architecture = data.draw(_mixtures())
    task, _ = data.draw(_tasks(architecture.input.shape, count=3))
    document = architecture.model_dump(mode="json", exclude_none=True)
    grown = copy.deepcopy(document)
    members = grown["mixture"]["members"]
    owner = data.draw(st.integers(-1, len(members)))
    level = data.draw(st.integers(0, len(grown["layers"]) - 1))
    more = data.draw(st.integers(1, 3))
    if owner == -1:
        grown["representation"] += more
    elif level + 1 in (*grown["mixture"]["mixing"], len(grown["layers"])):
        # Members keep one width at their summed levels: grow it in every member at once.
        grown["layers"][level]["channels"] += more
        for member in members:
            member["channels"][level] += more
    elif owner == len(members):
        grown["layers"][level]["channels"] += more
    else:
        members[owner]["channels"][level] += more
    before, after = (
        analyze(task, parse_architecture(d), price_contiguous=False).correlations
        for d in (document, grown)
    )
    for small, large in zip(before, after, strict=True):
        assert large.log2_separation_rank >= small.log2_separation_rank - TOLERANCE
        assert large.log2_min_cut is not None and small.log2_min_cut is not None
        assert large.log2_min_cut >= small.log2_min_cut - TOLERANCE


@pytest.mark.parametrize(
    ("shape", "correlations", "options"),
    [
        (
            (9,),
            [([0, 1, 2], [6, 7, 8]), ([0, 2, 4, 6, 8], [1, 3, 5, 7])],
            {"geometries": ["mirror", "synthesized"]},
        ),
        (
            (2, 4),
            [([0, 1, 4, 5], [2, 3, 6, 7]), ([0, 7], [3, 4])],
            {"geometries": ["contiguous", "interleaved", "mixture"]},
        ),
        (
            (8,),
            [([0, 1], [6, 7]), ([2], [5])],
            {"geometries": ["dilations", "synthesized", "mixture"]},
        ),
    ],
)
def test_the_searchs_recommendations_hold_against_the_oracle(
    shape: tuple[int, ...], correlations: list[tuple[list[int], list[int]]], options: dict[str, Any]
) -> None:
    # Synthesized layouts, padded odd grids and the search's mixtures, as recommended: the
    # figures printed for the design built (the export's windows), at small free widths.
    task = parse_task(
        {
            "input": {"shape": list(shape)},
            "correlations": [
                {"name": f"c{i}", "a": {"indices": a}, "b": {"indices": b}}
                for i, (a, b) in enumerate(correlations)
            ],
        }
    )
    budget = Budget(
        max_parameters=200,
        width_profile="free",
        channel_choices=[2, 3],
        top_k=4,
        time_limit_seconds=None,
        **options,
    )
    checked = 0
    for recommendation in recommend(task, budget).recommendations:
        architecture = recommendation.architecture
        assert recommendation.parameters == architecture.parameters
        assert recommendation.multiply_adds == architecture.multiply_adds
        assert list(recommendation.analysis) == analyze(task, architecture).correlations
        checked += _check_against_the_oracle(task, architecture)
    assert checked


# --- the geometries as the docs define them ------------------------------------------------------


def _axis_keys(family: str, n: int, pools: list[int], margins: tuple[int, int]) -> list[list[int]]:
    """Per level, the node of every position of one axis, from the definitions of
    docs/THEORY.md §7 and docs/FORMATS.md §2 (not the advisor's gathers)."""
    keys = list(range(n))
    levels = []
    size = n
    folding = True
    for level, k in enumerate(pools):
        if family == "contiguous" or (family == "mirror" and not folding):
            keys = [x // k for x in keys]
        elif family == "interleaved":
            keys = [x % (size // k) for x in keys]
        elif family == "mirror" and k == 1:
            pass
        elif family == "mirror" and k == 2:
            before, after = margins if level == 0 else (0, 0)
            if after == before + 1:
                # Reflection about the input's centre: p with size - 2 - p, the middle with the
                # last margin location.
                middle = size // 2 - 1
                partner = {p: (size - 1 if p == middle else size - 2 - p) for p in range(size - 1)}
                partner[size - 1] = middle
            else:
                partner = {p: size - 1 - p for p in range(size)}
            keys = [min(x, partner[x]) for x in keys]
        else:  # mirror at a level that does not pool 2: the folded grid is pooled contiguously
            folding = False
            keys = [x // k for x in keys]
        levels.append(keys)
        size //= k
    return levels


def _partition(keys_per_axis: list[list[int]], shape: list[int]) -> set[frozenset[int]]:
    groups: dict[tuple[int, ...], set[int]] = {}
    for location in range(math.prod(shape)):
        coords = np.unravel_index(location, shape)
        key = tuple(keys[int(c)] for keys, c in zip(keys_per_axis, coords, strict=True))
        groups.setdefault(key, set()).add(location)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize(
    ("shape", "pools", "padding"),
    [
        ([16], [[2]] * 4, None),
        ([12], [[2], [3], [2]], None),
        ([4, 8], [[2, 2], [2, 2], [1, 2]], None),
        ([2, 4, 4], [[2, 2, 2], [1, 2, 2]], None),
        ([8, 4], [[2, 2], [4, 2]], None),
        ([7], [[2], [2], [2]], [[0, 1]]),
        ([5, 3], [[2, 2], [4, 2]], [[1, 2], [0, 1]]),
        ([6], [[2], [2], [2]], [[1, 1]]),
    ],
)
def test_the_named_geometries_pool_as_the_docs_define_them(
    shape: list[int], pools: list[list[int]], padding: list[list[int]] | None
) -> None:
    grid = _padded(tuple(shape), padding)
    margins = padding or [[0, 0]] * len(shape)
    for family in ("contiguous", "mirror", "interleaved"):
        more = {"padding": padding} if padding else {}
        try:
            architecture = _architecture(shape, 2, [(2, p) for p in pools], family, **more)
        except InvalidRequestError:
            assert family == "mirror"
            continue
        built = location_sets(export_levels(architecture))
        per_axis = [
            _axis_keys(family, n, [p[axis] for p in pools], (margins[axis][0], margins[axis][1]))
            for axis, n in enumerate(grid)
        ]
        for level, sets in enumerate(built):
            expected = _partition([keys[level] for keys in per_axis], grid)
            assert set(sets) == expected, (family, level)


@pytest.mark.parametrize("order", [[1, 2, 4, 8], [8, 4, 2, 1], [2, 8, 1, 4], [4, 1, 8, 2]])
def test_a_dilation_order_merges_one_bit_per_level(order: list[int]) -> None:
    # docs/THEORY.md §7: level l merges the locations whose indices differ only in bit log2 d_l.
    architecture = _architecture([16], 2, [(2, [2])] * 4, {"dilations": order})
    merged = 0
    for level, sets in enumerate(location_sets(export_levels(architecture))):
        merged |= order[level]
        expected = {frozenset(x for x in range(16) if x & ~merged == y) for y in range(16)}
        assert set(sets) == {s for s in expected if s}, level


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 6])
def test_interleaved_pooling_by_two_is_the_reversed_dilation_order(depth: int) -> None:
    # docs/THEORY.md §7: on a sequence pooled by 2 at every level, interleaved pooling (window j
    # of a level of n nodes pools j and j + n/2) is the dilation order 2^(L-1), ..., 2, 1.
    layers = [(2, [2])] * depth
    interleaved = _architecture([2**depth], 2, layers, "interleaved")
    reversed_order = [2 ** (depth - 1 - level) for level in range(depth)]
    dilated = _architecture([2**depth], 2, layers, {"dilations": reversed_order})
    built = [set(sets) for sets in location_sets(export_levels(interleaved))]
    assert built == [set(sets) for sets in location_sets(export_levels(dilated))]


# --- the oracle's network is the exported module ------------------------------------------------


def _product_pooled(torch: Any, module: Any) -> Any:
    """The export's module as the ConvAC it stands for: no ReLU, product pooling (in place)."""
    nn = torch.nn

    class ProductPool(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self, kernel: tuple[int, ...], stride: tuple[int, ...]) -> None:
            super().__init__()
            self.kernel, self.stride = kernel, stride

        def forward(self, x: Any) -> Any:
            axes = len(self.kernel)
            for axis, (k, s) in enumerate(zip(self.kernel, self.stride, strict=True)):
                x = x.unfold(2 + axis, k, s)
            return x.flatten(2 + axes).prod(-1)

    def swap(parent: Any) -> None:
        for name, child in parent.named_children():
            if isinstance(child, nn.ReLU):
                setattr(parent, name, nn.Identity())
            elif isinstance(child, nn.MaxPool1d | nn.MaxPool2d | nn.MaxPool3d):
                axes = {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3}[type(child)]
                kernel, stride = (
                    tuple(v) if isinstance(v, tuple) else (v,) * axes
                    for v in (child.kernel_size, child.stride)
                )
                setattr(parent, name, ProductPool(kernel, stride))
            else:
                swap(child)

    swap(module)
    return module


def _document(
    shape: list[int], m: int, layers: list[tuple[Any, ...]], geometry: Any, **more: Any
) -> dict[str, Any]:
    """An architecture document: layers as (channels, pool) or (channels, pool, stride)."""
    written = []
    for channels, pool, *stride in layers:
        layer = {"channels": channels, "pool": pool}
        if stride:
            layer["stride"] = stride[0]
        written.append(layer)
    return {
        "input": {"shape": shape},
        "representation": m,
        "layers": written,
        "geometry": geometry,
        **more,
    }


_EXPORTED = {
    "mirror-padded-2d": _document(
        [3, 3], 2, [(2, [2, 2]), (3, [2, 2])], "mirror", padding=[[0, 1], [0, 1]]
    ),
    "interleaved-3d": _document([2, 2, 4], 3, [(2, [2, 1, 2]), (2, [1, 2, 2])], "interleaved"),
    "dilations": _document([8], 2, [(3, [2]), (2, [2]), (2, [2])], {"dilations": [4, 1, 2]}),
    "overlapping-permuted-2d": _document(
        [3, 4],
        2,
        [(2, [2, 2], [1, 2]), (3, [2, 2])],
        {"permutation": [7, 2, 11, 0, 5, 9, 1, 3, 10, 6, 8, 4]},
    ),
    "overlapping-padded-1d": _document(
        [5], 3, [(2, [3], [1]), (2, [2]), (1, [2])], "contiguous", padding=[[1, 0]]
    ),
    "mixture-dilations": _document(
        [8],
        2,
        [(2, [2]), (3, [2]), (2, [2])],
        {"dilations": [1, 2, 4]},
        mixture={
            "members": [{"geometry": {"dilations": [2, 1, 4]}, "channels": [3, 3, 2]}],
            "mixing": [2],
        },
    ),
    "mixture-2d-padded": _document(
        [3, 4],
        2,
        [(2, [2, 2]), (2, [2, 2])],
        "contiguous",
        padding=[[0, 1], [0, 0]],
        mixture={
            "members": [
                {"geometry": "mirror", "channels": [3, 2]},
                {"geometry": "interleaved", "channels": [1, 2]},
            ]
        },
    ),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(_EXPORTED))
def test_the_oracles_network_is_the_exported_module(name: str) -> None:
    # The oracle's windows and forward pass, against the module torch_module builds, with ReLU
    # dropped and max pooling made product pooling: the network whose ranks the oracle takes
    # is the network the advisor exports, padding, overlaps and mixtures included.
    torch = pytest.importorskip("torch")
    from advisor.export.document import torch_module
    from tests.support.oracle import Network, architecture_members

    architecture = parse_architecture(_EXPORTED[name])
    members, mixing = architecture_members(architecture)
    rng = np.random.default_rng(7)
    size = math.prod(architecture.grid)
    network = Network(members, size, architecture.representation, rng, mixing=mixing, modulus=None)
    module = _product_pooled(torch, torch_module(architecture)).double()

    # Positive weights and inputs: no sum cancels and no product vanishes, so any other
    # grouping of the locations gives other values.
    def positive(shape: tuple[int, ...]) -> np.ndarray:
        return rng.integers(1, 3, size=shape)

    small = [[positive(w.shape) for w in own] for own in network.weights]
    network.weights = [[w.astype(object) for w in own] for own in small]
    output = positive(network.output.shape)
    hidden = [module.hidden] if architecture.mixture is None else list(module.members)
    kinds = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
    convs = [[m for m in stack.modules() if isinstance(m, kinds)] for stack in hidden]
    with torch.no_grad():
        for own_convs, own_weights in zip(convs, small, strict=True):
            for conv, weights in zip(own_convs, own_weights, strict=True):
                conv.weight.copy_(torch.as_tensor(weights).reshape(conv.weight.shape))
                conv.bias.zero_()
        # Channel j of a location holding x is (j + 1) x + 1: no two locations' vectors are
        # proportional unless their inputs are equal, and the margin holds ones.
        representation = module.representation[1]
        scale = torch.arange(1.0, 1.0 + architecture.representation, dtype=torch.float64)
        representation.weight.copy_(scale.reshape(representation.weight.shape))
        representation.bias.fill_(1.0)
        module.output.weight.zero_()
        module.output.weight[0] = torch.as_tensor(output, dtype=torch.float64)
        module.output.bias.zero_()
        network.output = output.astype(object)
        shape = (16, 1, *architecture.input.shape)
        batch = torch.as_tensor(rng.integers(1, 4, size=shape), dtype=torch.float64)
        features = module.representation(batch)  # on the padded grid: the locations' inputs
        values = module(batch)[:, 0]
    inputs = features.flatten(2).transpose(1, 2).numpy().astype(np.int64).astype(object)
    exact = [float(v) for v in network(inputs).tolist()]
    assert len(set(exact)) > 4  # a draw that tells groupings apart
    np.testing.assert_allclose(values.numpy(), exact, rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(_EXPORTED))
def test_the_exported_module_has_the_counts_printed(name: str) -> None:
    # docs/THEORY.md §1 and docs/FORMATS.md §3: parameters (biases included) and multiply-adds
    # (every conv at every location it runs on, the output layer once), here with several
    # input channels, a wider representation kernel and several outputs.
    torch = pytest.importorskip("torch")
    from advisor.export.document import torch_module

    document = dict(_EXPORTED[name], outputs=3, representation_kernel=2)
    document["input"] = dict(document["input"], channels=2)
    architecture = parse_architecture(document)
    module = torch_module(architecture)
    assert sum(p.numel() for p in module.parameters()) == architecture.parameters
    counted = []

    def count(layer: Any, _: object, output: Any) -> None:
        counted.append(output[0].numel() * layer.weight[0].numel())

    kinds = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
    for layer in module.modules():
        if isinstance(layer, kinds):
            layer.register_forward_hook(count)
    module(torch.zeros((1, 2, *architecture.input.shape)))
    assert sum(counted) == architecture.multiply_adds


# --- the score and the efficiency, from the figures printed -------------------------------------


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_a_free_search_scores_the_printed_figures_against_the_dimension_bounds(
    data: st.DataObject,
) -> None:
    # docs/FORMATS.md §5 and advisor/search/objective.py: a free search's target of (A, B) is
    # min(|A|, |B|) log2(widest choice); the score is the weighted mean (or the least) of
    # min(rank, target) / target over the figures the recommendation prints. The search scores
    # its own figures (the subtree DAG's); these are the analysis' of the design it returns.
    shape = data.draw(st.sampled_from([(8,), (2, 4), (12,), (9,)]))
    task, _ = data.draw(_tasks(shape, count=data.draw(st.integers(1, 3))))
    weights = [data.draw(st.sampled_from([0.5, 1.0, 3.0])) for _ in task.correlations]
    document = task.model_dump(mode="json", exclude_none=True)
    for correlation, weight in zip(document["correlations"], weights, strict=True):
        correlation["weight"] = weight
    task = parse_task(document)
    objective = data.draw(st.sampled_from(["weighted", "maximin"]))
    choices = data.draw(st.sampled_from([[2, 3, 4, 6], [1, 2, 4], [2, 5]]))
    budget = Budget(
        max_parameters=data.draw(st.sampled_from([60, 150, 400])),
        width_profile="free",
        channel_choices=choices,
        objective=objective,
        top_k=5,
        time_limit_seconds=None,
    )
    result = recommend(task, budget)
    assert result.recommendations
    targets = np.array([min(c.a_size, c.b_size) * math.log2(max(choices)) for c in task.resolved()])
    for recommendation in result.recommendations:
        figures = np.array([c.log2_separation_rank for c in recommendation.analysis])
        fractions = np.minimum(figures, targets) / targets
        mean = fractions @ np.array(weights) / sum(weights)
        expected = fractions.min() if objective == "maximin" else mean
        assert recommendation.score == pytest.approx(expected, abs=1e-9)
        assert recommendation.parameters <= budget.max_parameters


@_SETTINGS
@given(st.data())
def test_the_shallow_net_is_priced_at_the_largest_figure(data: st.DataObject) -> None:
    # docs/THEORY.md §14: a shallow net's rank is at most its width, so reaching the largest
    # figure R takes R channels and (a + 1) M + (M + 1) R + (R + 1) Y parameters, a = k^d C_in.
    architecture = data.draw(_networks())
    kernel, channels, outputs = (data.draw(st.integers(1, 3)) for _ in range(3))
    document = architecture.model_dump(mode="json", exclude_none=True)
    document.update(
        representation_kernel=min(kernel, min(architecture.input.shape)), outputs=outputs
    )
    document["input"]["channels"] = channels
    architecture = parse_architecture(document)
    task, _ = data.draw(_tasks(architecture.input.shape, count=3))
    task = parse_task(
        dict(task.model_dump(mode="json", exclude_none=True), input=document["input"])
    )
    analysis = analyze(task, architecture, price_contiguous=False)
    largest = max(c.log2_separation_rank for c in analysis.correlations)
    efficiency = analysis.efficiency
    assert efficiency is not None
    assert largest - 1e-6 <= efficiency.log2_shallow_channels <= largest
    m, rank = architecture.representation, 2.0**largest
    a = architecture.representation_kernel**architecture.input.ndim * channels
    count = (a + 1) * m + (m + 1) * rank + (rank + 1) * outputs
    assert math.log2(count) - 1e-6 <= efficiency.log2_shallow_parameters <= math.log2(count)


# --- closed forms at sizes no oracle reaches -----------------------------------------------------


@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    st.integers(2, 7),
    st.sampled_from([2, 3, 4, 8, 9, 16]),
    st.lists(st.sampled_from([2, 3, 4, 8, 9, 16, 64]), min_size=7, max_size=7),
    st.sampled_from(["mirror-halves", "contiguous-columns"]),
)
def test_every_first_window_holding_two_locations_of_each_side_costs_the_same(
    k: int, m: int, widths: list[int], case: str
) -> None:
    # On a 2^k x 2^k grid pooled 2x2, mirror pooling's first windows each hold two locations of
    # the left half and two of the right; contiguous pooling's two of the even columns and two
    # of the odd. Each window costs min(log2 r_0, log2 of what its two pairs span) and nothing
    # above it can cut cheaper (every node above is mixed), so over the N/4 windows: with shared
    # weights the pairs span binom(M + 1, 2) dimensions (docs/THEORY.md §5), without M^2.
    n = 2**k
    architecture = _architecture([n, n], m, [(w, [2, 2]) for w in widths[:k]], case.split("-")[0])
    columns = np.arange(n * n) % n
    side = columns < n // 2 if case == "mirror-halves" else columns % 2 == 0
    a, b = np.flatnonzero(side).tolist(), np.flatnonzero(~side).tolist()
    (figure,) = analyze(
        parse_task(
            {
                "input": {"shape": [n, n]},
                "correlations": [{"name": "c", "a": {"indices": a}, "b": {"indices": b}}],
            }
        ),
        architecture,
    ).correlations
    windows = n * n // 4
    r0 = widths[0]
    assert figure.log2_separation_rank == pytest.approx(
        windows * min(math.log2(r0), math.log2(math.comb(m + 1, 2))), abs=1e-6
    )
    assert figure.log2_min_cut == pytest.approx(
        windows * min(math.log2(r0), 2 * math.log2(m)), abs=1e-6
    )
    assert figure.log2_max_rank == pytest.approx(n * n / 2 * math.log2(m), abs=1e-6)
    channels = (m, *widths[:k])
    powers = any(all(_is_power(v, base) for v in channels) for base in (2, 3))
    tight = powers and r0 <= math.comb(m + 1, 2)
    assert figure.certificate == ("tight" if tight else "upper_bound")


def _is_power(value: int, base: int) -> bool:
    while value % base == 0:
        value //= base
    return value == 1


@pytest.mark.parametrize("m", [7, 11, 13])
def test_a_bound_rounded_to_nine_decimals_stays_a_bound(m: int) -> None:
    # A shallow net on two locations, M = r_0 = m: rank m, a tight figure. log2 7 =
    # 2.807354922057..., which rounding to the nearest ninth decimal wrote 2.807354922: a bound
    # below the rank it bounds. Bounds are rounded up, lower bounds down, exact ranks to nearest
    # but where they reach a bound, written as it is (the rank m is the dimension bound here).
    architecture = _architecture([2], m, [(m, [2])], "contiguous")
    task = parse_task(
        {
            "input": {"shape": [2]},
            "correlations": [{"name": "c", "a": {"indices": [0]}, "b": {"indices": [1]}}],
        }
    )
    (figure,) = analyze(task, architecture).correlations
    assert figure.certificate == "tight"
    assert architecture_rank(architecture, [0], [1], cap=m + 1) == m
    for bound in (figure.log2_separation_rank, figure.log2_min_cut, figure.log2_max_rank):
        assert bound is not None
        assert bound >= math.log2(m)
        assert bound - math.log2(m) < 1e-9
    (certified,) = analyze(task, architecture, exact=True).correlations
    assert certified.log2_separation_rank == figure.log2_max_rank
