"""One-sided siblings the shared-weight bound does not charge: their figures are never ``tight``.

docs/THEORY.md §5: one-sided siblings holding constant inputs (free or padded locations) span
subspaces of one space, which the bound charges apart. Exhaustively over the labellings of small
padded networks where such siblings occur, against the exact engine with shared weights: every
``tight`` figure is the exact shared rank, and the rule withholds ``tight`` only where the bound
is equal to the plain min-cut (so it is the rule, not the bound, that changed the certificate).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from advisor.geometry.layouts import pooling_structure
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.task import Task, parse_task
from advisor.seprank.analysis import analyze
from advisor.seprank.tree import log2_min_cuts

TOLERANCE = 1e-9


def _task(sides: str) -> Task:
    where = {side: [i for i, s in enumerate(sides) if s == side] for side in "ab"}
    return parse_task(
        {
            "input": {"shape": [len(sides)]},
            "correlations": [
                {"name": "c", "a": {"indices": where["a"]}, "b": {"indices": where["b"]}}
            ],
        }
    )


def _network(length: int, padding: list[int], geometry: str) -> Architecture:
    return parse_architecture(
        {
            "input": {"shape": [length]},
            "representation": 2,
            "layers": [{"channels": 2, "pool": [2]}, {"channels": 4, "pool": [4]}],
            "geometry": geometry,
            "padding": [padding],
        }
    )


@pytest.mark.parametrize(
    ("length", "padding", "geometry", "free"),
    [(5, [1, 2], "interleaved", 5), (6, [0, 2], "interleaved", 1), (6, [2, 0], "mirror", 1)],
)
def test_every_tight_figure_is_the_exact_shared_rank(
    length: int, padding: list[int], geometry: str, free: int
) -> None:
    # Every labelling with at most ``free`` free locations (the exact engine's time bounds it).
    network = _network(length, padding, geometry)
    withheld = 0
    for sides in itertools.product("ab.", repeat=length):
        if "a" not in sides or "b" not in sides or sides.count(".") > free:
            continue
        task = _task("".join(sides))
        (figure,) = analyze(task, network).correlations
        assert figure.log2_min_cut is not None
        same = abs(figure.log2_separation_rank - figure.log2_min_cut) < TOLERANCE
        if figure.certificate == "upper_bound" and same:
            withheld += 1
        if figure.certificate == "tight":
            (exact,) = analyze(task, network, exact=True).correlations
            assert exact.log2_separation_rank == pytest.approx(
                figure.log2_separation_rank, abs=TOLERANCE
            ), sides
    assert withheld, "the rule withheld tight somewhere"


def test_the_documented_cases_fall_below_the_bound() -> None:
    # docs/THEORY.md §5: B A B A B . padded by two after, interleaved, M = 2, widths 2 and 4:
    # two A siblings span both channels, one holding a free location and one a padded one.
    network = _network(6, [0, 2], "interleaved")
    task = _task("baba b.".replace(" ", ""))
    (figure,) = analyze(task, network).correlations
    (exact,) = analyze(task, network, exact=True).correlations
    assert figure.log2_separation_rank == pytest.approx(2.0)
    assert 2**exact.log2_separation_rank == pytest.approx(3.0)
    assert figure.certificate == "upper_bound"


def test_one_sided_siblings_with_a_constant_are_flagged_and_no_others() -> None:
    # Two size-2 windows under the root. A . | A A: one-sided siblings, one holding a free
    # location. A A | A A: pure siblings, which the bound charges. A . | B B: one per side.
    # A B | A .: a mixed child.
    structure = PoolingStructure(4, (np.array([[0, 1], [2, 3]]), np.array([[0, 1]])))
    labels = np.array(
        [[1, 0, 1, 1], [1, 1, 1, 1], [1, 0, 2, 2], [1, 2, 1, 0], [3, 1, 1, 3]], dtype=np.int8
    )
    for widths in ([1.0, 2.0], [2.0, 2.0]):
        cuts = log2_min_cuts(structure, labels, widths, 1.0, siblings=True)
        assert cuts.uncharged.tolist() == [True, False, False, False, True]


@pytest.mark.parametrize(
    ("task", "network"),
    [
        # The span of . a . lies in that of a a a: their product spans 7 of 8 dimensions.
        (
            {"shape": [12], "a": [1, 3, 4, 5], "b": [6, 7, 8, 11]},
            {"m": 2, "layers": [(8, 3), (8, 4)], "geometry": "contiguous"},
        ),
        # a a . . inside a a a a, two levels up: 15 of 16.
        (
            {"shape": [16], "a": [8, 9, 12, 13, 14, 15], "b": list(range(8))},
            {"m": 2, "layers": [(4, 2), (8, 2), (16, 2), (16, 2)], "geometry": "contiguous"},
        ),
    ],
)
def test_constants_nested_in_a_pure_siblings_span_are_not_tight(
    task: dict[str, Any], network: dict[str, Any]
) -> None:
    # Found by an independent search after the first version of the rule, which flagged only
    # alike padding and full-width siblings.
    problem = parse_task(
        {
            "input": {"shape": task["shape"]},
            "correlations": [
                {"name": "c", "a": {"indices": task["a"]}, "b": {"indices": task["b"]}}
            ],
        }
    )
    architecture = parse_architecture(
        {
            "input": {"shape": task["shape"]},
            "representation": network["m"],
            "layers": [{"channels": c, "pool": [p]} for c, p in network["layers"]],
            "geometry": network["geometry"],
        }
    )
    (figure,) = analyze(problem, architecture).correlations
    (exact,) = analyze(problem, architecture, exact=True).correlations
    assert exact.log2_separation_rank < figure.log2_separation_rank - TOLERANCE
    assert figure.log2_separation_rank == pytest.approx(figure.log2_min_cut)
    assert figure.certificate == "upper_bound"


def test_interned_and_full_levels_flag_alike() -> None:
    # A task of many repeated subtrees is interned (one row of types); a padded one is not.
    rng = np.random.default_rng(5)
    network = parse_architecture(
        {
            "input": {"shape": [16, 16]},
            "representation": 2,
            "layers": [{"channels": 2, "pool": [2, 2]}] * 4,
            "geometry": "contiguous",
        }
    )
    structure = pooling_structure(network)
    rows = []
    for _ in range(24):
        grid = np.zeros((16, 16), dtype=np.int8)
        top, left = rng.integers(0, 12, size=2)
        grid[top : top + 4, left : left + 4] = 1
        grid[rng.integers(0, 16), rng.integers(0, 16)] = 2
        rows.append(grid.reshape(-1))
    labels = np.array(rows)
    interned = log2_min_cuts(structure, labels, [1.0] * 4, 1.0, siblings=True).uncharged
    each = [
        log2_min_cuts(structure, labels[i : i + 1], [1.0] * 4, 1.0, siblings=True).uncharged[0]
        for i in range(len(labels))
    ]
    assert interned.tolist() == each
    assert 0 < interned.sum() < len(labels)
