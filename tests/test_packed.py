"""Packed location ids give back exactly the ids packed, in at most one bit per location."""

from __future__ import annotations

import doctest
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.model import packed as packed_module
from advisor.model.packed import PackedIds
from advisor.model.regions import ResolvedCorrelation
from advisor.model.task import parse_task
from advisor.seprank.labels import correlation_labels

ids = st.sets(st.integers(0, 5000), max_size=400).map(lambda s: np.array(sorted(s), np.intp))


@given(ids)
def test_unpacking_gives_back_the_ids(values: np.ndarray) -> None:
    packed = PackedIds.pack(values)
    unpacked = packed.unpack()
    np.testing.assert_array_equal(unpacked, values)
    assert unpacked.dtype == np.intp and not unpacked.flags.writeable
    assert packed.size == values.size
    span = int(values[-1] - values[0] + 1) if values.size else 0
    assert packed.nbytes <= (span + 7) // 8 + 16


def test_a_box_is_a_few_runs_and_a_parity_a_bitmask() -> None:
    task = parse_task(
        {
            "input": {"shape": [1024, 1024]},
            "correlations": [
                {"name": "box", "a": {"box": {"start": [0, 0], "stop": [512, 512]}}},
                {"name": "parity", "a": {"preset": "even"}, "b": {"preset": "odd"}},
            ],
        }
    )
    box, parity = task.resolved()
    assert box.a_size == 512 * 512 and box.b_size == 1024 * 1024 - 512 * 512
    assert box._a.nbytes == 512 * 16  # one run per row
    assert parity._a.nbytes <= 1024 * 1024 // 8
    assert sum(p.nbytes for c in (box, parity) for p in (c._a, c._b)) < 1024 * 1024 * 2 // 4


def test_a_resolved_correlation_is_immutable_and_pickles() -> None:
    pair = ResolvedCorrelation("x", np.array([1, 2, 3]), np.arange(10, 40, 2), 2.0)
    assert pickle.loads(pickle.dumps(pair)) == pair
    assert pair != ResolvedCorrelation("x", np.array([1, 2, 4]), np.arange(10, 40, 2), 2.0)
    with pytest.raises(AttributeError, match="immutable"):
        pair.name = "y"


@given(ids, st.integers(0, 3))
def test_labels_from_packed_regions_equal_labels_from_ids(values: np.ndarray, cut: int) -> None:
    size = int(values[-1]) + 1 + cut if values.size else cut + 1
    split = values.size // 2
    a, b = values[:split], values[split:]
    if a.size == 0 or b.size == 0:
        return
    packed = ResolvedCorrelation("x", a, b)
    plain = SimpleNamespace(a=a, b=b)
    np.testing.assert_array_equal(
        correlation_labels([packed], size), correlation_labels([plain], size)
    )


def test_overlapping_packed_regions_are_refused() -> None:
    pair = ResolvedCorrelation("x", np.arange(0, 10), np.arange(5, 20))
    with pytest.raises(ValueError, match="disjoint"):
        correlation_labels([pair], 32)
    with pytest.raises(ValueError, match="must lie in"):
        correlation_labels([pair], 12)


def test_the_examples_hold() -> None:
    assert doctest.testmod(packed_module).failed == 0
