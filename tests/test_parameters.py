"""The one parameter count (advisor.model.parameters) against counts written out by hand.

The exported PyTorch module's own count is compared in tests/test_export.py.
"""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import advisor.model.parameters
from advisor.errors import InvalidRequestError
from advisor.model.architecture import parse_architecture
from advisor.model.compute import COUNT_LIMIT
from advisor.model.grid import InputSpec
from advisor.model.parameters import ParameterCount, ParameterModel
from advisor.model.scalars import INT32_MAX

_LAYER_8: dict[str, object] = {"channels": 8, "pool": [4, 4]}

_widths = st.lists(st.integers(1, 64), min_size=2, max_size=7)
_models = st.builds(ParameterModel, st.integers(1, 27), st.integers(1, 10))


def _by_hand(model: ParameterModel, widths: list[int]) -> int:
    """Weights then biases of every layer, summed one by one."""
    fan_in = [model.representation_weights, *widths]
    fan_out = [*widths, model.outputs]
    weights = sum(i * o for i, o in zip(fan_in, fan_out, strict=True))
    return weights + sum(fan_out)


def test_an_image_network_part_by_part() -> None:
    # 3-channel 8x8 input, 3x3 representation to M = 16, widths 32, 64, 10 outputs.
    model = ParameterModel.for_input(InputSpec(shape=(8, 8), channels=3), 3, 10)
    assert model.representation_weights == 27
    assert model.breakdown((16, 32, 64)) == ParameterCount(
        representation=27 * 16,
        hidden=(16 * 32, 32 * 64),
        output=64 * 10,
        biases=16 + 32 + 64 + 10,
        total=432 + 512 + 2048 + 640 + 122,
    )
    assert model.count([[16, 32, 64], [1, 1, 1]]).tolist() == [3754, 28 + 2 + 2 + 20]


def test_a_sequence_kernel_is_not_squared() -> None:
    model = ParameterModel.for_input(InputSpec(shape=(4,), channels=2), 5, 2)
    assert model.representation_weights == 10


@given(_models, _widths)
def test_count_and_breakdown_match_the_sum_by_hand(
    model: ParameterModel, widths: list[int]
) -> None:
    expected = _by_hand(model, widths)
    assert model.count([widths])[0] == expected
    assert model.breakdown(tuple(widths)).total == expected


@given(_models, _widths, st.integers(1, 64), st.data())
def test_the_search_pieces_add_up_to_the_count(
    model: ParameterModel, widths: list[int], rest: int, data: st.DataObject
) -> None:
    """``representation``, ``layer``, ``tail`` and ``marginal``: the count of a completed vector."""
    split = data.draw(st.integers(1, len(widths)))
    prefix, remaining = widths[:split], len(widths) - split
    assigned = model.representation(prefix[0]) + sum(
        model.layer(a, b) for a, b in itertools.pairwise(prefix)
    )
    completed = [*prefix, *[rest] * remaining]
    assert assigned + model.tail(prefix[-1], rest, remaining) == _by_hand(model, completed)
    position = data.draw(st.integers(1, len(widths) - 1))
    right = widths[position + 1] if position + 1 < len(widths) else model.outputs
    wider = [*widths[:position], widths[position] + 1, *widths[position + 1 :]]
    extra = _by_hand(model, wider) - _by_hand(model, widths)
    assert model.marginal(widths[position - 1], right) == extra
    assert np.all(model.count([wider, widths]) == [_by_hand(model, wider), _by_hand(model, widths)])


def test_the_docstring_example() -> None:
    assert doctest.testmod(advisor.model.parameters).failed == 0


@given(_models, _widths)
def test_the_log_space_count_is_the_count(model: ParameterModel, widths: list[int]) -> None:
    log2_count = model.log2_count([float(np.log2(w)) for w in widths])
    assert abs(2.0**log2_count - _by_hand(model, widths)) <= 1e-9 * _by_hand(model, widths)


@pytest.mark.parametrize(
    ("kernel", "channels", "field"),
    [(2**31 - 1, 8, "representation_kernel"), (3, 2**31 - 1, "layers")],
)
def test_an_architecture_whose_counts_would_wrap_is_refused_on_its_field(
    kernel: int, channels: int, field: str
) -> None:
    document = {
        "input": {"shape": [16, 16]},
        "representation": 8,
        "representation_kernel": kernel,
        "layers": [{"channels": channels, "pool": [4, 4]}, {"channels": channels, "pool": [4, 4]}],
    }
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(document)
    assert [v.field for v in refused.value.violations] == [field]


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        (
            {"representation": INT32_MAX, "layers": [{"channels": 2**30, "pool": [4, 4]}] * 2},
            "representation",
        ),
        (
            {"input": {"shape": [16, 16], "channels": INT32_MAX}, "representation": 2**30},
            "input.channels",
        ),
        (
            {
                "outputs": INT32_MAX,
                "layers": [_LAYER_8, {"channels": INT32_MAX - 1, "pool": [4, 4]}],
            },
            "outputs",
        ),
        (
            {
                "layers": [_LAYER_8, {"channels": INT32_MAX, "pool": [4, 4]}],
                "outputs": INT32_MAX - 1,
            },
            "layers",
        ),
    ],
)
def test_counts_that_would_wrap_are_refused_on_the_number_that_makes_them(
    changed: dict[str, object], field: str
) -> None:
    # A huge output count multiplies the last width, a huge M the kernel's weights: the field
    # named is the largest number, not the layer or kernel its term also holds. Every number is
    # within int32, as the wire carries it (the library refuses larger ones on their own).
    document = {
        "input": {"shape": [16, 16]},
        "representation": 8,
        "layers": [{"channels": 8, "pool": [4, 4]}, {"channels": 8, "pool": [4, 4]}],
        **changed,
    }
    with pytest.raises(InvalidRequestError) as refused:
        parse_architecture(document)
    assert [v.field for v in refused.value.violations] == [field]
    assert "more than 2^62 multiply-adds" in refused.value.violations[0].description


def test_the_largest_countable_architecture_counts_exactly() -> None:
    # On 2^20 locations, 2^20 x (9 x 8 + 8 x w) multiply-adds below (w the widest int32 width),
    # then 1024 x w x r and r x 1 at the top: the largest r within COUNT_LIMIT.
    wide = INT32_MAX
    below = 2**20 * (9 * 8 + 8 * wide)
    top = (COUNT_LIMIT - below) // (1024 * wide + 1)
    document = {
        "input": {"shape": [1024, 1024]},
        "representation": 8,
        "representation_kernel": 3,
        "layers": [{"channels": wide, "pool": [32, 32]}, {"channels": top, "pool": [32, 32]}],
    }
    architecture = parse_architecture(document)
    assert architecture.multiply_adds == below + 1024 * wide * top + top
    assert architecture.multiply_adds + 1024 * wide + 1 > COUNT_LIMIT  # one wider is past it
    assert architecture.parameters == (9 * 8 + 8) + (8 * wide + wide) + (wide * top + top) + top + 1
