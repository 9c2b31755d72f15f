"""Numbers past int64 in a document: refused on their field, stating the value that was written.

An id or box coordinate past int64 was refused by a bound pydantic printed through a float
("Input should be less than 9223372036854776000", a number no one wrote, on ``indices[0]``)
rather than as every other id off the grid is (``indices: id ... outside 0..15``).
"""

from __future__ import annotations

from typing import Any

import pytest

from advisor.errors import InvalidRequestError
from advisor.model.task import parse_task


def _refusal(region: dict[str, Any]) -> tuple[str, str]:
    task = {"input": {"shape": [4]}, "correlations": [{"name": "x", "a": region}]}
    with pytest.raises(InvalidRequestError) as raised:
        parse_task(task)
    ((field, description),) = [(v.field, v.description) for v in raised.value.violations]
    return field, description


@pytest.mark.parametrize("index", [2**63, 2**64, -(2**63) - 1, 10**30])
def test_an_id_past_int64_is_off_the_grid_like_any_other(index: int) -> None:
    assert _refusal({"indices": [0, index]}) == (
        "correlations[0].a.indices",
        f"id {index} outside 0..3 (the input [4] has 4 locations, numbered row-major)",
    )


@pytest.mark.parametrize("stop", [2**63, 2**64])
def test_a_box_past_int64_is_told_its_range(stop: int) -> None:
    assert _refusal({"box": {"start": [0], "stop": [stop]}}) == (
        "correlations[0].a.box.stop",
        f"stop[0] = {stop} must be in 1..4: the box is half-open and starts at 0 on axis 0 of "
        "size 4",
    )
