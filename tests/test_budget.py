"""How a budget reads its fields, built in Python or from a mapping (docs/FORMATS.md §5)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pydantic
import pytest

from advisor.errors import FieldViolation, invalid_request_from_pydantic
from advisor.model.budget import Budget


@pytest.mark.parametrize("flag", ["no", "off", "false", "true", 0, 1, 1.0, None])
def test_search_dilations_takes_only_a_boolean(flag: Any) -> None:
    # pydantic read "no", "off", "false" and 0 as False, 1.0 as True.
    with pytest.raises(pydantic.ValidationError) as raised:
        Budget(max_parameters=1000, search_dilations=flag)
    assert invalid_request_from_pydantic(raised.value, prefix="budget").violations == (
        FieldViolation("budget.search_dilations", f"must be True or False; got {flag!r}"),
    )


@pytest.mark.parametrize("flag", [True, False, np.True_, np.False_])
def test_search_dilations_takes_python_and_numpy_booleans(flag: Any) -> None:
    budget = Budget(max_parameters=1000, search_dilations=flag)
    assert budget.search_dilations is bool(flag)
