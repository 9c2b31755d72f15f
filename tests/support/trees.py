"""Hypothesis draws of pooling trees and side labels, for the engine and DAG property tests."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

from advisor.geometry.layouts import structure_from_permutation
from advisor.geometry.structure import PoolingStructure
from advisor.search.candidates import window_schedules


def draw_tree_and_labels(
    data: st.DataObject,
    shape: tuple[int, ...],
    correlations: int,
    max_depth: int,
    *,
    permuted: bool,
) -> tuple[PoolingStructure, npt.NDArray[np.int8]]:
    """Draw a tree of at most ``max_depth`` levels on ``shape`` and ``correlations`` label rows.

    ``permuted`` draws the locations' order too (any geometry), else pools them contiguously.
    Labels are free, side A or side B at random per location (0, 1, 2).
    """
    n = math.prod(shape)
    pools = data.draw(st.sampled_from(window_schedules(shape, 1, max_depth)))
    order = np.array(data.draw(st.permutations(range(n)))) if permuted else np.arange(n)
    structure = structure_from_permutation(shape, pools, order)
    rows = st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n)
    labels = np.array([data.draw(rows) for _ in range(correlations)], dtype=np.int8)
    return structure, labels
