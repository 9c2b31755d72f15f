"""How a budget reads its fields, built in Python or from a mapping (docs/FORMATS.md §5)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.budget import Budget


@pytest.mark.parametrize("flag", ["no", "off", "false", "true", 0, 1, 1.0])
def test_search_dilations_takes_only_a_boolean(flag: Any) -> None:
    # pydantic read "no", "off", "false" and 0 as False, 1.0 as True. (None is the field left
    # out, as for every optional field: tests/test_inputs_nulls.py.)
    with pytest.raises(InvalidRequestError) as raised:
        Budget(max_parameters=1000, search_dilations=flag)
    assert raised.value.violations == (
        FieldViolation("budget.search_dilations", f"must be True or False; got {flag!r}"),
    )


@pytest.mark.parametrize("flag", [True, False, np.True_, np.False_])
def test_search_dilations_takes_python_and_numpy_booleans(flag: Any) -> None:
    budget = Budget(max_parameters=1000, search_dilations=flag)
    assert budget.search_dilations is bool(flag)


@pytest.mark.parametrize(
    ("number", "written"),
    [
        (1e300, "a 301-digit number"),  # in full it would be most of the message
        (np.float64(1e19), "10,000,000,000,000,000,000"),
        (np.uint64(2**64 - 1), "18,446,744,073,709,551,615"),
        (2**64, "18,446,744,073,709,551,616"),
        # Past 4,300 digits Python refuses to write an integer: the refusal raised ValueError.
        pytest.param(10**5000, "a 5001-digit number", id="10**5000"),
        pytest.param(10**5000 - 1, "a 5000-digit number", id="10**5000-1"),
    ],
)
def test_a_whole_number_past_its_field_is_refused_by_its_bound(number: Any, written: str) -> None:
    # pydantic said "Unable to parse input string as an integer" of 1e300 and np.uint64, which
    # are no strings.
    with pytest.raises(InvalidRequestError) as raised:
        Budget(max_parameters=number)
    assert raised.value.violations == (
        FieldViolation(
            "budget.max_parameters", f"is {written}: must be at most 9,223,372,036,854,775,807"
        ),
    )


@pytest.mark.parametrize("field", ["max_window", "max_step"])
def test_a_window_or_step_bound_under_2_writes_its_number_as_every_refusal_does(
    field: str,
) -> None:
    # Written with {:,}, -10**5000 raised Python's own "Exceeds the limit (4300 digits)".
    with pytest.raises(InvalidRequestError) as raised:
        Budget(max_parameters=1000, **{field: -(10**5000)})
    [violation] = raised.value.violations
    assert violation.field == f"budget.{field}"
    assert violation.description.startswith("is a 5001-digit number: must be at least 2")


COUNTS = [name for name, f in Budget.model_fields.items() if f.annotation in (int, int | None)]
"""Every count field of a budget (``channel_choices`` holds counts too)."""


@pytest.mark.parametrize("field", [*COUNTS, "channel_choices"])
def test_a_count_given_as_text_is_told_the_count_to_write(field: str) -> None:
    # "200k", valid on the command line and in Katib's settings, was refused as "Input should be
    # a valid integer", which said neither that a text was given nor what to write.
    document = {
        "max_parameters": 200_000,
        field: [8, " 2k "] if field == "channel_choices" else "2k",
    }
    with pytest.raises(InvalidRequestError) as raised:
        Budget.model_validate(document)
    path = "budget.channel_choices[1]" if field == "channel_choices" else f"budget.{field}"
    assert raised.value.violations == (
        FieldViolation(
            path,
            "Input should be a valid integer, not a text: write 2000 ('2k' is the command "
            "line's form)",
        ),
    )


@pytest.mark.parametrize("text", ["lots", "1.0005k", "1e999", "{advice}"])
def test_a_text_that_is_no_count_is_quoted(text: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        Budget(max_parameters=text)
    assert raised.value.violations == (
        FieldViolation(
            "budget.max_parameters", f"Input should be a valid integer, not a text: got {text!r}"
        ),
    )


@pytest.mark.parametrize("number", [np.float32(2e5), np.int16(20_000), np.uint64(200_000)])
def test_numpy_whole_numbers_are_the_ints_they_equal(number: Any) -> None:
    budget = Budget(max_parameters=number, top_k=np.int8(3))
    assert (budget.max_parameters, budget.top_k) == (int(number), 3)
    assert type(budget.max_parameters) is int


@pytest.mark.parametrize("field", ["time_limit_seconds", "log2_rank_target"])
def test_an_integer_too_large_for_a_float_is_told_so(field: str) -> None:
    # pydantic said "Input should be a valid number" of 10**400, which is one.
    with pytest.raises(InvalidRequestError) as raised:
        Budget.model_validate({"max_parameters": 1000, field: 10**400})
    ((at, description),) = [(v.field, v.description) for v in raised.value.violations]
    assert at == f"budget.{field}"
    assert description == (
        "Input should be a finite number; this integer is too large for a float (past about "
        "1.8e308)"
    )


@pytest.mark.parametrize(
    ("options", "field", "said"),
    [
        (
            {"min_representation": 100},
            "budget.min_representation",
            "is 100, above budget.max_representation (64, its default)",
        ),
        (
            {"max_representation": 2},
            "budget.max_representation",
            "must be at least budget.min_representation (4)",
        ),
        (
            {"min_representation": 100, "max_representation": 50},
            "budget.max_representation",
            "must be at least budget.min_representation (100)",
        ),
    ],
)
def test_crossed_representation_bounds_are_refused_on_the_bound_given(
    options: dict[str, int], field: str, said: str
) -> None:
    # min_representation 100 alone was refused on max_representation, which was never given.
    with pytest.raises(InvalidRequestError) as raised:
        Budget(max_parameters=20_000, **options)
    (violation,) = raised.value.violations
    assert violation.field == field and violation.description.startswith(said)
