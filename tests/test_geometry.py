"""Pooling structures, trees and input permutations of every geometry (advisor.geometry.layouts)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError
from advisor.geometry.layouts import (
    dilation_order,
    dilation_permutation,
    dilation_tree_of,
    input_permutation,
    interleaved_permutation,
    mirror_permutation,
    pooling_structure,
    pooling_tree,
    structure_from_permutation,
)
from advisor.geometry.structure import PoolingStructure
from advisor.model.architecture import (
    Architecture,
    architecture_document,
    parse_architecture,
    validate_schedule,
)


def _arch(shape: list[int], pools: list[list[int]], geometry: Any = "contiguous") -> Architecture:
    layers = [{"channels": 2, "pool": pool} for pool in pools]
    return parse_architecture(
        {"input": {"shape": shape}, "representation": 2, "layers": layers, "geometry": geometry}
    )


def _leaves(tree: Any) -> list[int]:
    return [tree] if isinstance(tree, int) else [leaf for child in tree for leaf in _leaves(child)]


def _field(exc: pytest.ExceptionInfo[InvalidRequestError]) -> str:
    (violation,) = exc.value.violations
    return violation.field


# --- fixed vectors: the reference cases' `pooling_tree`, computed independently ---------------

MIRROR_4X4 = [[0, 3, 12, 15], [1, 2, 13, 14], [4, 7, 8, 11], [5, 6, 9, 10]]
DILATIONS_16 = [
    [[[0, 8], [2, 10]], [[1, 9], [3, 11]]],
    [[[4, 12], [6, 14]], [[5, 13], [7, 15]]],
]
LOOSE_PERMUTATION = [10, 6, 1, 15, 12, 9, 13, 2, 3, 14, 0, 4, 8, 11, 5, 7]
LOOSE_PERMUTATION_TREE = [[10, 6, 12, 9], [1, 15, 13, 2], [3, 14, 8, 11], [0, 4, 5, 7]]


@pytest.mark.parametrize(
    ("shape", "pools", "geometry", "expected"),
    [
        ([4, 4], [[2, 2], [2, 2]], "mirror", MIRROR_4X4),
        ([16], [[2]] * 4, {"dilations": [8, 2, 1, 4]}, DILATIONS_16),
        ([4, 4], [[2, 2], [2, 2]], {"permutation": LOOSE_PERMUTATION}, LOOSE_PERMUTATION_TREE),
    ],
    ids=["mirror-4x4", "dilations-16", "permutation-4x4-loose"],
)
def test_reference_pooling_trees(
    shape: list[int], pools: list[list[int]], geometry: Any, expected: list[Any]
) -> None:
    assert pooling_tree(_arch(shape, pools, geometry)) == expected


# --- each geometry against its definition ---------------------------------------------------


def test_contiguous_tree_pools_neighbouring_blocks() -> None:
    assert pooling_tree(_arch([4, 4], [[2, 2], [2, 2]])) == [
        [0, 1, 4, 5],
        [2, 3, 6, 7],
        [8, 9, 12, 13],
        [10, 11, 14, 15],
    ]
    assert pooling_tree(_arch([6], [[3], [2]])) == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("shape", [[8, 8], [4, 16], [16], [8, 4]])
def test_mirror_pools_every_node_with_its_reflections(shape: list[int]) -> None:
    halvings = int(math.log2(min(shape))) - 1
    grids = [[n >> level for n in shape] for level in range(halvings + 1)]
    structure = pooling_structure(
        _arch(shape, [[2] * len(shape)] * halvings + [grids[-1]], "mirror")
    )
    # Nodes of a level are its grid positions, row-major. Below the top, a window holds one
    # position and its reflections along every axis (docs/THEORY.md §7: row j meets row n - 1 - j).
    for grid, windows in zip(grids[:-1], structure.windows[:-1], strict=True):
        for window in windows.tolist():
            first = np.unravel_index(window[0], grid)
            choices = [{int(c), n - 1 - int(c)} for c, n in zip(first, grid, strict=True)]
            expected = {int(np.ravel_multi_index(c, grid)) for c in itertools.product(*choices)}
            assert set(window) == expected


def test_mirror_first_window_of_8x8_holds_the_corners() -> None:
    structure = pooling_structure(_arch([8, 8], [[2, 2], [2, 2], [2, 2]], "mirror"))
    assert structure.windows[0][0].tolist() == [0, 7, 56, 63]
    assert structure.windows[0][1].tolist() == [1, 6, 57, 62]


def test_interleaved_windows_are_combs() -> None:
    # 6x4 pooled [3, 2]: window (0, 0) holds rows {0, 2, 4} x columns {0, 2}.
    structure = pooling_structure(_arch([6, 4], [[3, 2], [2, 2]], "interleaved"))
    assert structure.windows[0][0].tolist() == [0, 2, 8, 10, 16, 18]
    assert structure.windows[0][1].tolist() == [1, 3, 9, 11, 17, 19]
    assert structure.windows[0][2].tolist() == [4, 6, 12, 14, 20, 22]


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_interleaved_1d_is_the_reversed_dilation_order(depth: int) -> None:
    n = 2**depth
    interleaved = _arch([n], [[2]] * depth, "interleaved")
    reversed_dilations = _arch(
        [n], [[2]] * depth, {"dilations": [n >> (level + 1) for level in range(depth)]}
    )
    assert pooling_tree(interleaved) == pooling_tree(reversed_dilations)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_increasing_dilations_are_the_contiguous_tree(depth: int) -> None:
    n = 2**depth
    dilated = _arch([n], [[2]] * depth, {"dilations": [2**level for level in range(depth)]})
    assert pooling_tree(dilated) == pooling_tree(_arch([n], [[2]] * depth))


@pytest.mark.parametrize("dilations", list(itertools.permutations([1, 2, 4, 8])))
def test_dilation_level_merges_one_bit(dilations: tuple[int, ...]) -> None:
    tree = pooling_tree(_arch([16], [[2]] * 4, {"dilations": list(dilations)}))
    # Walk top-down: the node merged at level l has two children whose locations differ by d_l.
    nodes = [tree]
    for dilation in reversed(dilations):
        for node in nodes:
            low, high = (sorted(_leaves(child)) for child in node)
            assert [location + dilation for location in low] == high
        nodes = [child for node in nodes for child in node]


def test_dilation_permutation_closed_form() -> None:
    # Position p holds sum_l bit_l(p) * d_l: bit 0 of the position is the first merge.
    assert dilation_permutation(8, [4, 1, 2]).tolist() == [0, 4, 1, 5, 2, 6, 3, 7]
    assert dilation_permutation(8, [1, 2, 4]).tolist() == list(range(8))


def test_permutation_geometry_gathers_before_contiguous_pooling() -> None:
    permutation = [5, 0, 3, 1, 4, 2]
    structure = pooling_structure(_arch([6], [[2], [3]], {"permutation": permutation}))
    assert structure.windows[0].tolist() == [[5, 0], [3, 1], [4, 2]]
    assert structure.windows[1].tolist() == [[0, 1, 2]]


# --- overlapping windows --------------------------------------------------------------------


def _overlapping(geometry: Any = "contiguous") -> Architecture:
    return parse_architecture(
        {
            "input": {"shape": [3, 3]},
            "representation": 2,
            "layers": [
                {"channels": 2, "pool": [2, 2], "stride": [1, 1]},
                {"channels": 2, "pool": [2, 2]},
            ],
            "geometry": geometry,
        }
    )


def test_overlapping_windows_share_nodes() -> None:
    arch = _overlapping()
    structure = pooling_structure(arch)
    assert arch.is_overlapping
    assert not structure.is_tree
    assert structure.windows[0].tolist() == [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]
    assert structure.windows[1].tolist() == [[0, 1, 2, 3]]


def test_overlapping_windows_on_a_permuted_input() -> None:
    permutation = [8, 7, 6, 5, 4, 3, 2, 1, 0]
    structure = pooling_structure(_overlapping({"permutation": permutation}))
    assert structure.windows[0][0].tolist() == [8, 7, 5, 4]
    assert structure.windows[0][3].tolist() == [4, 3, 1, 0]


def test_overlapping_1d_windows_follow_the_stride() -> None:
    structure = structure_from_permutation([7], [[3], [3]], list(range(7)), [[2], None])
    assert structure.windows[0].tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]


def test_pooling_tree_refuses_overlapping_windows() -> None:
    with pytest.raises(InvalidRequestError) as exc:
        pooling_tree(_overlapping())
    assert _field(exc) == "layers[0].stride"


# --- input_permutation reproduces every geometry's tree (hypothesis) ------------------------


@st.composite
def _architectures(draw: st.DrawFn, geometry: str) -> Architecture:
    """Valid architectures of one geometry family on small grids, overlaps where allowed."""
    ndim = 1 if geometry == "dilations" else draw(st.sampled_from([1, 2]))
    depth = draw(st.integers(1, 5 if ndim == 1 else 3))
    overlaps = geometry in ("contiguous", "permutation")
    out = [1] * ndim
    layers: list[dict[str, Any]] = []
    for level in reversed(range(depth)):  # top-down: the top layer is global
        if geometry == "dilations" or (geometry == "mirror" and level < depth - 1):
            pool = [2] * ndim
        else:
            pool = draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim))
        step = [
            draw(st.integers(1, k)) if overlaps and o > 1 else k
            for k, o in zip(pool, out, strict=True)
        ]
        layer: dict[str, Any] = {"channels": draw(st.integers(1, 4)), "pool": pool}
        if step != pool:
            layer["stride"] = step
        layers.insert(0, layer)
        out = [(o - 1) * s + k for o, s, k in zip(out, step, pool, strict=True)]
    size = math.prod(out)
    document: dict[str, Any] = {"input": {"shape": out}, "representation": 2, "layers": layers}
    if geometry == "permutation":
        document["geometry"] = {"permutation": draw(st.permutations(range(size)))}
    elif geometry == "dilations":
        document["geometry"] = {
            "dilations": draw(st.permutations([2**level for level in range(depth)]))
        }
    else:
        document["geometry"] = geometry
    return parse_architecture(document)


_GEOMETRY_FAMILIES = ["contiguous", "mirror", "interleaved", "dilations", "permutation"]


def _same_structure(left: PoolingStructure, right: PoolingStructure) -> bool:
    return left.num_locations == right.num_locations and all(
        np.array_equal(a, b) for a, b in itertools.zip_longest(left.windows, right.windows)
    )


@pytest.mark.parametrize("geometry", _GEOMETRY_FAMILIES)
@given(data=st.data())
def test_input_permutation_reproduces_the_tree(geometry: str, data: st.DataObject) -> None:
    arch = data.draw(_architectures(geometry))
    permutation = input_permutation(arch)
    assert sorted(permutation.tolist()) == list(range(arch.input.num_locations))
    document = architecture_document(arch)
    gathered = parse_architecture({**document, "geometry": {"permutation": permutation.tolist()}})
    if arch.is_overlapping:
        assert _same_structure(pooling_structure(arch), pooling_structure(gathered))
    else:
        assert pooling_structure(arch).is_tree
        assert pooling_tree(arch) == pooling_tree(gathered)
        if arch.input.ndim == 1:
            # In 1-D, contiguous pooling lays every subtree out as a run: the depth-first order.
            assert np.array_equal(pooling_structure(arch).leaf_order(), permutation)


# --- builders reject what an architecture would reject --------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: mirror_permutation([8], [[4], [2]]), "geometry"),
        (lambda: mirror_permutation([6, 6], [[2, 2], [2, 2]]), "layers[1].pool"),
        (lambda: interleaved_permutation([6], [[4], [2]]), "layers[0].pool"),
        (lambda: dilation_permutation(8, [1, 2, 2]), "geometry.dilations"),
        (lambda: dilation_permutation(16, [1, 2, 4]), "layers[2].pool"),
        (lambda: structure_from_permutation([4], [[2], [2]], [0, 1, 1, 3]), "geometry.permutation"),
        (lambda: structure_from_permutation([4], [[2], [2]], [0, 1, 2]), "geometry.permutation"),
        (
            lambda: structure_from_permutation([5], [[3], [3]], range(5), [[3], None]),
            "layers[0].stride",
        ),
    ],
)
def test_builders_validate_their_schedule(build: Any, field: str) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        build()
    assert _field(exc) == field


def test_mirror_on_non_power_of_two_grid_is_accepted_when_pools_are_two() -> None:
    # 6x6 -> 3x3 (mirror rule on an even grid), then a global 3x3 pooling.
    structure = pooling_structure(_arch([6, 6], [[2, 2], [3, 3]], "mirror"))
    assert structure.windows[0][0].tolist() == [0, 5, 30, 35]
    assert structure.is_tree


@given(st.data(), st.integers(1, 6))
def test_a_dilated_tree_is_read_in_any_order_of_its_windows_members(
    data: st.DataObject, levels: int
) -> None:
    # A window's members in another order pool the same tree: its order was read only from the
    # one layout dilation_permutation writes, so an edited permutation was "no dilation order".
    order = data.draw(st.permutations([1 << level for level in range(levels)]))
    laid = dilation_permutation(1 << levels, order)
    for level in range(levels):  # swap the halves of some windows, at every level
        size = 1 << (level + 1)
        for start in range(0, laid.size, size):
            if data.draw(st.booleans()):
                window = laid[start : start + size].copy()
                laid[start : start + size] = np.roll(window, size // 2)
    schedule = validate_schedule((1 << levels,), [(2,)] * levels, None, "contiguous")
    assert dilation_order(schedule, laid) == tuple(order)
    assert dilation_tree_of(order, laid)
    if levels > 1:  # members of two windows exchanged: another tree, no order of its own
        laid[[1, 2]] = laid[[2, 1]]
        assert not dilation_tree_of(order, laid)
