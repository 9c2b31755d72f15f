"""Reference figures computed independently of the product (docs/THEORY.md §6 and §9).

Each case: an architecture (docs/FORMATS.md §2 format), its pooling tree, and per correlation
the min-cut and the exact generic rank (log2). The reference ranks were computed without weight
sharing; the shared-weight ranks, where they differ, are this engine's own figures, pinned here
together with the shared-weight bound of the tree recurrence that predicts them.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import pytest

from advisor.geometry.layouts import pooling_structure, pooling_tree
from advisor.model.architecture import parse_architecture
from advisor.seprank.exact import log2_exact_rank
from advisor.seprank.graph import log2_min_cut_graph
from advisor.seprank.labels import correlation_labels
from advisor.seprank.tree import log2_min_cut

LOG2_54 = 5.754887502163
LOG2_24 = 4.584962500721
LOG2_21 = 4.392317422779
LOG2_81 = math.log2(81)


class Expected(NamedTuple):
    name: str
    a: list[int]
    b: list[int] | None  # None: the complement of a
    log2_min_cut: float
    log2_exact_rank: float  # without weight sharing (the reference's model)
    log2_shared_rank: float  # with weight sharing (this engine)


CASES: dict[str, tuple[dict[str, Any], list[Any], list[Expected]]] = {
    "mirror-4x4": (
        {
            "input": {"shape": [4, 4]},
            "representation": 2,
            "outputs": 2,
            "geometry": "mirror",
            "layers": [{"channels": 4, "pool": [2, 2]}, {"channels": 2, "pool": [2, 2]}],
        },
        [[0, 3, 12, 15], [1, 2, 13, 14], [4, 7, 8, 11], [5, 6, 9, 10]],
        [
            Expected("left-right", [0, 1, 4, 5, 8, 9, 12, 13], None, 8.0, 8.0, LOG2_81),
            Expected("top-bottom", [0, 1, 2, 3, 4, 5, 6, 7], None, 8.0, 8.0, LOG2_81),
            Expected("corner-pair", [0], [15], 1.0, 1.0, 1.0),
            Expected("center-border", [5, 6, 9, 10], None, 1.0, 1.0, 1.0),
        ],
    ),
    "dilations-16": (
        {
            "input": {"shape": [16]},
            "representation": 2,
            "outputs": 2,
            "geometry": {"dilations": [8, 2, 1, 4]},
            "layers": [
                {"channels": 4, "pool": [2]},
                {"channels": 2, "pool": [2]},
                {"channels": 8, "pool": [2]},
                {"channels": 2, "pool": [2]},
            ],
        },
        [
            [[[0, 8], [2, 10]], [[1, 9], [3, 11]]],
            [[[4, 12], [6, 14]], [[5, 13], [7, 15]]],
        ],
        [
            Expected("halves", [0, 1, 2, 3, 4, 5, 6, 7], None, 8.0, 8.0, 8.0),
            Expected("odd-even", [0, 2, 4, 6, 8, 10, 12, 14], None, 2.0, 2.0, 2.0),
            Expected("i-vs-i+8", [0, 1, 2, 3], [8, 9, 10, 11], 4.0, 4.0, 4.0),
        ],
    ),
    "permutation-4x4-loose": (
        {
            "input": {"shape": [4, 4]},
            "representation": 2,
            "outputs": 2,
            "geometry": {"permutation": [10, 6, 1, 15, 12, 9, 13, 2, 3, 14, 0, 4, 8, 11, 5, 7]},
            "layers": [{"channels": 3, "pool": [2, 2]}, {"channels": 2, "pool": [2, 2]}],
        },
        [[10, 6, 12, 9], [1, 15, 13, 2], [3, 14, 8, 11], [0, 4, 5, 7]],
        [
            Expected("r0", [0, 2, 4, 6, 7, 10, 11, 15], None, LOG2_54, LOG2_54, LOG2_54),
            Expected("r1", [0, 3, 5, 7, 8, 9, 10, 13], None, LOG2_54, LOG2_54, LOG2_54),
            Expected("r2", [1, 2, 6, 9, 10, 12, 13, 15], None, 1.0, 1.0, 1.0),
            Expected("r3", [0, 3, 6, 7, 8, 13, 14, 15], None, LOG2_54, LOG2_54, LOG2_54),
            Expected("r4", [2, 3, 6, 9, 10, 11, 12, 14], None, 3.0, 3.0, 3.0),
            Expected("r5", [0, 1, 4, 5, 8, 13, 14, 15], None, LOG2_24, LOG2_21, LOG2_21),
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_reference_figures(case: str) -> None:
    document, tree, expected = CASES[case]
    arch = parse_architecture(document)
    assert pooling_tree(arch) == tree
    structure = pooling_structure(arch)
    n, widths, m = arch.input.num_locations, list(arch.widths), arch.representation
    regions = [
        (np.array(e.a), np.setdiff1d(np.arange(n), e.a) if e.b is None else np.array(e.b))
        for e in expected
    ]
    labels = correlation_labels([_Pair(a, b) for a, b in regions], n)
    plain = log2_min_cut(structure, labels, np.log2(widths), math.log2(m))
    shared = log2_min_cut(structure, labels, np.log2(widths), math.log2(m), shared_weights=True)
    for row, (e, (a, b)) in enumerate(zip(expected, regions, strict=True)):
        assert plain[row] == pytest.approx(e.log2_min_cut, abs=1e-9), e.name
        assert log2_min_cut_graph(structure, a, b, widths, m) == pytest.approx(e.log2_min_cut)
        unshared_rank = log2_exact_rank(structure, a, b, widths, m, shared=False)
        assert unshared_rank == pytest.approx(e.log2_exact_rank, abs=1e-9), e.name
        shared_rank = log2_exact_rank(structure, a, b, widths, m)
        assert shared_rank == pytest.approx(e.log2_shared_rank, abs=1e-9), e.name
        # The shared-weight bound predicts the shared rank wherever the widths are powers of 2.
        if all(w & (w - 1) == 0 for w in (*widths, m)):
            assert shared[row] == pytest.approx(shared_rank, abs=1e-9), e.name


class _Pair(NamedTuple):
    a: np.ndarray
    b: np.ndarray
