"""Padded architectures: the margin is constant input, and every certificate stays true.

A padded network pools a larger grid whose extra locations hold one constant input. The analysis
labels them :data:`~advisor.seprank.labels.PADDED` (free to the min-cut); the exact engine gives
them all one input vector. These tests check the certificates against that engine on random
small padded networks: ``upper_bound`` figures are never below the exact shared-weight rank,
``tight`` figures equal the exact rank of the per-location network, ``exact`` ones are exact;
the plain min-cut of the tree recurrence equals the graph max-flow's.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.geometry.layouts import pooling_structure
from advisor.model.architecture import (
    Architecture,
    Layer,
    PermutationGeometry,
    parse_architecture,
)
from advisor.model.budget import Budget
from advisor.model.grid import padded_ids, padded_shape
from advisor.model.task import Task, parse_task
from advisor.search.candidates import window_schedules
from advisor.search.recommend import recommend
from advisor.seprank.analysis import analyze
from advisor.seprank.engines import ENGINES
from advisor.seprank.exact import log2_exact_rank
from advisor.seprank.labels import (
    FREE,
    PADDED,
    SIDE_A,
    SIDE_B,
    correlation_labels,
    padded_labels,
)

TOLERANCE = 1e-9


@st.composite
def padded_cases(draw: st.DrawFn) -> tuple[Task, Architecture]:
    """A 1-D or 2-D input of 2-6 locations padded to at most 10, a random tree, two regions."""
    ndim = draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(1, 6 if ndim == 1 else 3)) for _ in range(ndim))
    padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(ndim))
    grid = padded_shape(shape, padding)
    size = math.prod(shape)
    assume(size >= 2 and grid != shape and math.prod(grid) <= 10)
    sides = draw(st.lists(st.sampled_from("ab."), min_size=size, max_size=size))
    assume("a" in sides and "b" in sides)
    task = parse_task(
        {
            "input": {"shape": list(shape)},
            "correlations": [
                {
                    "name": "c",
                    "a": {"indices": [i for i, s in enumerate(sides) if s == "a"]},
                    "b": {"indices": [i for i, s in enumerate(sides) if s == "b"]},
                }
            ],
        }
    )
    pools = draw(st.sampled_from(window_schedules(grid, 1, 4)))
    widths = draw(st.lists(st.sampled_from([1, 2, 3, 4]), min_size=len(pools), max_size=len(pools)))
    architecture = Architecture(
        input=task.input,
        representation=draw(st.sampled_from([2, 3, 4])),
        layers=tuple(Layer(channels=w, pool=p) for w, p in zip(widths, pools, strict=True)),
        geometry=PermutationGeometry(permutation=draw(st.permutations(range(math.prod(grid))))),
        padding=padding,
    )
    return task, architecture


@settings(max_examples=120, deadline=None)
@given(padded_cases())
def test_certificates_hold_against_the_exact_engine_with_constant_padding(
    case: tuple[Task, Architecture],
) -> None:
    task, architecture = case
    (correlation,) = task.resolved()
    structure = pooling_structure(architecture)
    shape, padding = task.input.shape, architecture.padding
    a, b = (padded_ids(ids, shape, padding) for ids in (correlation.a, correlation.b))
    constant = np.setdiff1d(
        np.arange(structure.num_locations), padded_ids(np.arange(math.prod(shape)), shape, padding)
    )
    widths, m = list(architecture.widths), architecture.representation

    def exact(shared: bool) -> float:
        return log2_exact_rank(structure, a, b, widths, m, shared=shared, constant=constant)

    (figure,) = analyze(task, architecture).correlations
    labels = padded_labels(correlation_labels([correlation], math.prod(shape)), shape, padding)
    (graph,) = ENGINES["graph"].compute(structure, labels, widths, m, shared_weights=False)
    assert figure.log2_min_cut == pytest.approx(graph, abs=TOLERANCE)
    shared_rank = exact(shared=True)
    assert shared_rank <= figure.log2_separation_rank + TOLERANCE
    if figure.certificate == "tight":
        assert figure.log2_separation_rank == pytest.approx(exact(shared=False), abs=TOLERANCE)
    (certified,) = analyze(task, architecture, exact=True).correlations
    assert certified.certificate == "exact"
    assert certified.log2_separation_rank == pytest.approx(shared_rank, abs=TOLERANCE)


def test_padding_moves_ids_and_labels_into_the_padded_grid() -> None:
    shape, padding = (2, 3), ((1, 0), (0, 2))
    assert padded_shape(shape, padding) == (3, 5)
    assert padded_ids(np.arange(6), shape, padding).tolist() == [5, 6, 7, 10, 11, 12]
    labels = np.array([[SIDE_A, FREE, SIDE_B, FREE, FREE, SIDE_A]], dtype=np.int8)
    grown = padded_labels(labels, shape, padding).reshape(3, 5)
    assert (grown[0] == PADDED).all() and (grown[:, 3:] == PADDED).all()
    assert grown[1:, :3].reshape(-1).tolist() == labels[0].tolist()


def test_a_constant_margin_never_ranks_above_free_inputs() -> None:
    """One input at every padded location is a special case of free inputs (THEORY.md §3)."""
    structure = pooling_structure(
        parse_architecture(
            {
                "input": {"shape": [2]},
                "representation": 2,
                "layers": [{"channels": 4, "pool": [2]}, {"channels": 4, "pool": [2]}],
                "padding": [[1, 1]],
            }
        )
    )
    args = (structure, [1], [2], [4, 4], 2)
    assert log2_exact_rank(*args, constant=[0, 3]) <= log2_exact_rank(*args) + TOLERANCE


def test_padding_is_checked_and_named() -> None:
    base = {
        "input": {"shape": [13]},
        "representation": 4,
        "layers": [{"channels": 4, "pool": [2]}, {"channels": 4, "pool": [8]}],
    }
    assert parse_architecture({**base, "padding": [[1, 2]]}).grid == (16,)
    for padding, field in (
        ([[1, 2], [0, 0]], "padding"),
        ([[-1, 4]], "padding[0][0]"),
        ([[1, 1]], "layers[0].pool"),  # 15 locations: 2 does not tile them
    ):
        with pytest.raises(InvalidRequestError) as error:
            parse_architecture({**base, "padding": padding})
        assert error.value.violations[0].field == field


@pytest.mark.parametrize(
    ("task_shape", "own_shape", "note"),
    [
        ([13], [16], "padding: [[1, 2]]"),
        ([13, 13, 7], [16, 16, 8], "padding: [[1, 2], [1, 2], [0, 1]]"),
        ([16, 16], [32, 32], None),  # twice the input: another grid, not this one padded
        ([16, 16], [8, 8], None),
    ],
)
def test_an_architecture_written_on_the_padded_grid_is_told_to_give_the_margins_as_padding(
    task_shape: list[int], own_shape: list[int], note: str | None
) -> None:
    # A net that pads 13 steps to 16, written with the padded input a framework sees
    # (shape: [16]), was refused as another shape with no word of the padding field.
    task = parse_task({"input": {"shape": task_shape}, "preset": "local"})
    architecture = parse_architecture(
        {
            "input": {"shape": own_shape},
            "representation": 2,
            "layers": [{"channels": 2, "pool": own_shape}],
        }
    )
    with pytest.raises(InvalidRequestError) as error:
        analyze(task, architecture)
    refusal = error.value.violations[0]
    assert refusal.field == "architecture.input.shape"
    advice = f"; if {own_shape} is the input with margins, give the shape {task_shape}"
    if note is None:
        assert advice not in refusal.description
    else:
        assert advice in refusal.description and refusal.description.endswith(
            f"{note} (docs/FORMATS.md §2)"
        )


@pytest.mark.parametrize(
    ("shape", "padding", "layers", "advised"),
    [
        # MNIST under five 2x2 poolings: 28 -> 14 -> 7, where 2 does not divide; padded to 32.
        ([28, 28], None, [([2, 2], None)] * 5, [[0, 4], [0, 4]]),
        # A 3x3 window at stride 2 on 32 (a strided conv with kernel 3): 33 fits it.
        ([32, 32], None, [([3, 3], [2, 2]), ([16, 16], None)], [[0, 1], [0, 1]]),
        # Margins given are kept and grown: 13 + 1 + 1 = 15, one more after makes 16.
        ([13], [[1, 1]], [([2], None), ([8], None)], [[1, 2]]),
        # Refused at the first layer, advised the padding every layer above tiles too: 27x27
        # was told 28x28, whose refusal at the third layer then said 32x32.
        ([27, 27], None, [([2, 2], None)] * 5, [[0, 5], [0, 5]]),
        ([5, 7, 9], None, [([2, 2, 2], None)] * 3 + [([1, 1, 2], None)], [[0, 3], [0, 1], [0, 7]]),
        # A stride below: 15 under a 3-wide window at stride 2, then three 2s, pools 17 (the
        # refusal above the strided layer gave no padding), and 14 is told 17, not 15.
        ([15], None, [([3], [2]), *[([2], None)] * 3], [[0, 2]]),
        ([14], None, [([3], [2]), *[([2], None)] * 3], [[0, 3]]),
        ([15, 15], None, [([3, 3], [2, 2]), *[([2, 2], None)] * 3], [[0, 2], [0, 2]]),
        ([30], None, [([4], None), ([3], [1]), ([6], None)], [[0, 2]]),
    ],
)
def test_windows_that_do_not_tile_are_refused_with_the_padding_that_makes_them_tile(
    shape: list[int],
    padding: list[list[int]] | None,
    layers: list[tuple[list[int], list[int] | None]],
    advised: list[list[int]],
) -> None:
    # A practitioner's net on an odd size was told only that the windows do not tile; a CNN
    # pads its input, and the padding field does the same here.
    document = _layered(shape, layers) | ({"padding": padding} if padding else {})
    violation = _refusal(document)
    assert f"(padding: {advised})" in violation.description
    assert parse_architecture({**document, "padding": advised}).padded


@pytest.mark.parametrize(
    ("shape", "layers", "said"),
    [
        # The layers pool 14 locations to one: no padding of 15 makes them tile.
        (
            [15],
            [([2], None), ([7], None)],
            "no padding makes them tile: the layers pool exactly 14 locations per axis to one, "
            "and the grid is 15",
        ),
        # They pool 6, but a padding to 6 meets another rule (a stride below the pool of a
        # single window): no padding is advised.
        ([5], [([2], None), ([3], [1])], ""),
    ],
)
def test_no_padding_is_advised_where_none_makes_the_layers_pass(
    shape: list[int], layers: list[tuple[list[int], list[int] | None]], said: str
) -> None:
    violation = _refusal(_layered(shape, layers))
    assert "pad the input" not in violation.description
    assert violation.description.endswith(said), violation.description


def _layered(shape: list[int], layers: list[tuple[list[int], list[int] | None]]) -> dict[str, Any]:
    """An architecture document on ``shape`` with ``(pool, stride)`` layers of 2 channels."""
    return {
        "input": {"shape": shape},
        "representation": 2,
        "layers": [
            {"channels": 2, "pool": pool, **({"stride": stride} if stride else {})}
            for pool, stride in layers
        ],
    }


def _refusal(document: dict[str, Any]) -> FieldViolation:
    """The one violation ``parse_architecture`` refuses ``document`` with."""
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(document)
    [violation] = refused.value.violations
    return violation


@pytest.mark.parametrize(
    ("shape", "padding", "pools", "advised"),
    [
        # MNIST under five 2x2 mirror poolings: 28 -> 14 -> 7, where 2 does not divide.
        ([28, 28], None, [[2, 2]] * 5, [[2, 2], [2, 2]]),
        # 13 steps: 2 does not tile 13 at the first level (the mirror geometry's own refusal
        # says the same, one margin location after), nor 7 at the second once padded to 14.
        ([13], None, [[2], [7]], [[0, 1]]),
        ([13], [[0, 1]], [[2], [2], [4]], [[1, 2]]),
        ([27, 27], None, [[2, 2]] * 5, [[2, 3], [2, 3]]),
    ],
)
def test_a_mirror_net_is_advised_margins_about_the_inputs_centre(
    shape: list[int],
    padding: list[list[int]] | None,
    pools: list[list[int]],
    advised: list[list[int]],
) -> None:
    # A mirror net on 28x28 was told to pad [[0, 4], [0, 4]]: it tiles, but mirror pooling
    # then reflects about the padded grid's centre, two locations off the input's, so the net
    # the advice built pooled no location with its reflection (halves of the symmetry preset:
    # 176 bits, an upper bound, where the centred margins reach 196, tight).
    document = {
        "input": {"shape": shape},
        "representation": 2,
        "layers": [{"channels": 2, "pool": pool} for pool in pools],
        "geometry": "mirror",
        **({"padding": padding} if padding else {}),
    }
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(document)
    [violation] = refused.value.violations
    assert f"(padding: {advised})" in violation.description
    # Following the advice, a first level of 2 per axis pools each column with its reflection.
    grid = [n + before + after for n, (before, after) in zip(shape, advised, strict=True)]
    layers = [
        {"channels": 2, "pool": [2] * len(grid)},
        {"channels": 2, "pool": [n // 2 for n in grid]},
    ]
    pooled = parse_architecture({**document, "padding": advised, "layers": layers})
    columns = {
        frozenset(p % grid[-1] for p in window)
        for window in pooling_structure(pooled).windows[0].tolist()
    }
    size, before = shape[-1], advised[-1][0]
    for i in range(size // 2):
        assert {before + i, before + size - 1 - i} in columns


def test_a_permutation_of_a_padded_input_is_counted_on_the_padded_grid() -> None:
    # It was told "the input has 16 locations" of a 3x3 input: the padded grid has them.
    document = {
        "input": {"shape": [3, 3]},
        "padding": [[0, 1], [0, 1]],
        "representation": 2,
        "layers": [{"channels": 2, "pool": [2, 2]}, {"channels": 2, "pool": [2, 2]}],
    }
    with pytest.raises(InvalidRequestError) as error:
        parse_architecture({**document, "geometry": {"permutation": list(range(9))}})
    assert [(v.field, v.description) for v in error.value.violations] == [
        (
            "geometry.permutation",
            "has 9 entries, the padded grid has 16 locations (the input 9, padded to 4x4)",
        )
    ]
    padded = parse_architecture({**document, "geometry": {"permutation": list(range(16))}})
    assert padded.grid == (4, 4)


@given(
    size=st.integers(1, 15),
    before=st.integers(0, 3),
    extra_after=st.integers(0, 1),
)
@settings(max_examples=60, deadline=None)
def test_mirror_pairs_every_location_with_its_reflection_about_the_inputs_centre(
    size: int, before: int, extra_after: int
) -> None:
    # Margins [before, before] or [before, before + 1], the grid even so mirror pooling applies.
    after = before + extra_after
    grid = size + before + after
    assume(grid % 2 == 0)
    twos = (grid & -grid).bit_length() - 1  # levels of 2 the grid allows, then a global one
    pools = [(2,)] * twos + ([(grid >> twos,)] if grid >> twos > 1 else [])
    architecture = Architecture(
        input={"shape": [size]},
        representation=2,
        layers=tuple(Layer(channels=2, pool=pool) for pool in pools),
        geometry="mirror",
        padding=((before, after),),
    )
    first = pooling_structure(architecture).windows[0]
    pairs = {tuple(sorted(window)) for window in first.tolist()}
    assert len(pairs) == grid // 2 and {p for pair in pairs for p in pair} == set(range(grid))
    # Every input location i (at before + i) meets before + size - 1 - i: its reflection, or
    # itself when it is the middle of an odd input, which then meets the last margin location.
    for i in range(size):
        mirror = size - 1 - i
        expected = (before + i, before + mirror) if mirror != i else (before + i, grid - 1)
        assert tuple(sorted(expected)) in pairs


def test_the_mirror_pick_on_an_odd_grid_pools_reflections_first() -> None:
    # 13x13, padded to 16x16 by one margin row and column before and two after: the input's
    # location (i, j) sits at (i + 1, j + 1), so its reflections sit at 14 - that per axis; the
    # search's mirror design must pool each input location with them in its first windows.
    task = parse_task({"input": {"shape": [13, 13]}, "preset": "symmetry"})
    budget = {"max_parameters": 200_000, "geometries": ["mirror"], "top_k": 1}
    (pick,) = recommend(task, Budget.model_validate(budget)).recommendations
    assert pick.architecture.padding == ((1, 2), (1, 2))
    first = pooling_structure(pick.architecture).windows[0]
    for window in first.tolist():
        cells = {divmod(p, 16) for p in window}
        for r, c in cells:
            if 1 <= r <= 13 and 1 <= c <= 13:  # an input location (the middle row and column
                # reflect onto themselves)
                assert {(14 - r, c), (r, 14 - c), (14 - r, 14 - c)} <= cells


def test_padded_trees_keep_to_the_depth_bounds() -> None:
    # 13 steps: as it is only one global window; padded to 15 (3, 5) or 16 (2, 2, 2, 2).
    task = parse_task({"input": {"shape": [13]}, "preset": "symmetry"})
    result = recommend(task, Budget(max_parameters=5_000, min_depth=4, top_k=5))
    assert result.recommendations
    assert all(len(r.architecture.layers) >= 4 for r in result.recommendations)
    with pytest.raises(InvalidRequestError) as refused:
        recommend(task, Budget(max_parameters=5_000, min_depth=5))
    assert [v.field for v in refused.value.violations] == ["budget.min_depth"]


@pytest.mark.parametrize(
    ("shape", "deepest"), [([13], "4 levels"), ([15, 15], "4 levels"), ([2], "1 level")]
)
def test_a_min_depth_past_every_tree_says_how_deep_the_trees_go(
    shape: list[int], deepest: str
) -> None:
    # 13 pools four levels only padded to 16, 15x15 padded to 16x16; 2 has the shallow net
    # alone. The refusal said "leaves no candidate", and which depth to ask for was a guess.
    task = parse_task(
        {"input": {"shape": shape}, "preset": "periodic" if shape == [2] else "local"}
    )
    with pytest.raises(InvalidRequestError) as refused:
        recommend(task, Budget(max_parameters=5_000, min_depth=6))
    [violation] = refused.value.violations
    assert violation.field == "budget.min_depth"
    assert f"is 6, and the deepest tree the search builds on the input {shape} " in (
        violation.description
    )
    assert f"has {deepest}" in violation.description
    assert violation.description.endswith(f"lower it to {deepest.split()[0]} or less")


def test_a_symmetry_task_on_a_size_with_odd_factors_gets_mirror_pooling() -> None:
    # 360 = 2^3 * 3^2 * 5: mirror trees fold three times and pool the folded steps by 3, 3 and
    # 5; they pair every step with its reflection, which interleaved pooling (the pick when
    # mirror needed 2 at every level) meets for the preset's alternating steps only near the root.
    task = parse_task({"input": {"shape": [360]}, "preset": "symmetry"})
    result = recommend(task, Budget(max_parameters=100_000, top_k=8))
    best = result.recommendations[0]
    assert best.architecture.family == "mirror"
    first = pooling_structure(best.architecture).windows[0].tolist()
    assert sorted(first) == [[i, 359 - i] for i in range(180)]
    alternate = {r.architecture.family: r for r in reversed(result.recommendations)}
    ranks = {
        family: {c.name: c.log2_separation_rank for c in r.analysis}["symmetry/alternate"]
        for family, r in alternate.items()
    }
    assert ranks["mirror"] > ranks["interleaved"]


def test_a_mirror_search_on_a_prime_length_offers_the_even_padding() -> None:
    # 41 steps: 45 = 3^2 * 5 (odd: mirror cannot fold it), 48 = 2^4 * 3 and 64.
    task = parse_task({"input": {"shape": [41]}, "preset": "symmetry"})
    budget = Budget.model_validate({"max_parameters": 5_000, "geometries": ["mirror"]})
    grown = set()
    for recommendation in recommend(task, budget).recommendations:
        padding = recommendation.architecture.padding
        assert padding is not None  # 41 is odd: every mirror pick pads it
        grown.add(41 + sum(padding[0]))
    assert 48 in grown


def _padding_note(rationale: str) -> str:
    """The rationale's sentence on the grids the #1 did not pad to, from its opening words."""
    found = re.search(r"The #1 pools the input padded to .*?pooled: .*?\.(?= [A-Z]|$)", rationale)
    assert found is not None, rationale
    return found[0]


def _largest_window(pools: tuple[tuple[int, ...], ...]) -> int:
    return max(math.prod(pool) for pool in pools)


def test_a_padded_pick_says_what_the_least_padding_gives_and_what_holds_it() -> None:
    # 17x17x17: every pick pads to 32x32x32, 6.7 times the locations. On 18x18x18, the least
    # padding, every tree pools a window of 27 locations or more, past the default bound of 16.
    task = parse_task({"input": {"shape": [17, 17, 17]}, "preset": "local"})
    least = min(_largest_window(pools) for pools in window_schedules((18, 18, 18), 1, 16))
    found = recommend(task, Budget(max_parameters=200_000))
    first = found.recommendations[0]
    assert padded_shape((17, 17, 17), first.architecture.padding) == (32, 32, 32)
    note = _padding_note(first.rationale)
    assert "6.67 times its 4,913 locations" in note
    assert f"{first.multiply_adds:,} multiply-adds per input, score {first.score:.4g}" in note
    held = "padded to 18x18x18, every tree the search builds on it is past the window bounds"
    assert held in note
    assert f"needs max_window {least} (held at 16; --max-window raises it)" in note
    # Lifted to that window, the grid's best tree is said with its score: the best of every
    # 18x18x18 design a search listing all of its trees returns.
    lifted = Budget(max_parameters=200_000, max_window=least, top_k=100)
    designs = recommend(task, lifted).recommendations
    grids = [padded_shape((17, 17, 17), d.architecture.padding) for d in designs]
    on_least = [d for d, grid in zip(designs, grids, strict=True) if grid == (18, 18, 18)]
    assert on_least
    best = max(on_least, key=lambda d: d.score)
    note = _padding_note(designs[0].rationale)
    assert "padded to 18x18x18, its best tree, contiguous pooling" in note
    assert f"scores {best.score:.4g} at {best.multiply_adds:,} multiply-adds per input" in note


def test_a_grid_whose_trees_fell_below_the_list_is_bounded_by_its_last() -> None:
    # 13 steps: the #1 pads to 16; the trees on 15 (3 then 5) score below the list's last, so
    # the note bounds them by it, which a search listing every tree confirms.
    task = parse_task({"input": {"shape": [13]}, "preset": "start_end"})
    found = recommend(task, Budget(max_parameters=200_000))
    note = _padding_note(found.recommendations[0].rationale)
    # The list runs one past the page: its last is the next page's first, which the note names
    # so (it read "the design ranked 6" of a page of 5, a design the page does not show).
    bounded = (
        r"padded to 15, no tree on it scores above (.+?), the score of the design ranked (\d+) "
        r"\(the next page's first\)"
    )
    said = re.search(bounded, note)
    assert said is not None, note
    bound, ranked = float(said[1]), int(said[2])
    assert ranked == len(found.recommendations) + 1
    every = recommend(task, Budget(max_parameters=200_000, top_k=100)).recommendations
    assert every[ranked - 1].score == pytest.approx(bound, rel=5e-4)  # .4g
    sizes = [padded_shape((13,), d.architecture.padding)[0] for d in every]
    on_15 = [d.score for d, size in zip(every, sizes, strict=True) if size == 15]
    assert on_15 and max(on_15) <= every[ranked - 1].score


def test_a_pick_on_the_input_itself_says_nothing_of_paddings() -> None:
    task = parse_task({"input": {"shape": [16, 16]}, "preset": "local"})
    for design in recommend(task, Budget(max_parameters=50_000)).recommendations:
        assert "The #1 pools the input padded" not in design.rationale


def test_a_grid_without_a_fitting_tree_is_said_so_whatever_the_page_length() -> None:
    # 16x9x8 at 932 parameters and widths of 16: no tree on the unpadded grid has a ladder within
    # the budget; with top 1 to 3 the note read "no tree on it scores above the design ranked
    # 4", with top 6 "no tree on it has widths within the budget".
    task = parse_task({"input": {"shape": [16, 9, 8]}, "preset": "local"})
    said = set()
    for top in (1, 3, 6):
        budget = Budget(top_k=top, max_parameters=932, channel_choices=[16])
        rationale = recommend(task, budget).recommendations[0].rationale
        found = re.search(r"the input as it is \(16x9x8\), [^.]*\.", " ".join(rationale.split()))
        assert found is not None
        said.add(found.group(0))
    assert said == {
        "the input as it is (16x9x8), no tree on it has widths within the budget (parameters "
        "and per-input bounds)."
    }
