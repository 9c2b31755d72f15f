"""What a refusal says of a place that takes a mapping: no class name of the library's.

pydantic said "Input should be a valid dictionary or instance of InputSpec" of ``input: [4, 4]``
(and ``Correlation``, ``Mixture``, ``Budget``): names a document's writer never sees.
"""

from __future__ import annotations

from typing import Any

import pytest

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.architecture import parse_architecture
from advisor.model.budget import Budget
from advisor.model.task import parse_task

_MAPPING = "Input should be a mapping of field names to values, not "
_LAYERS = [{"channels": 4, "pool": [4]}]


@pytest.mark.parametrize(
    ("parse", "document", "violation"),
    [
        (parse_task, {"input": [4, 4], "preset": "symmetry"}, ("input", "a list")),
        (
            parse_task,
            {"input": {"shape": [4]}, "correlations": ["x"]},
            ("correlations[0]", "a string"),
        ),
        (
            parse_architecture,
            {"input": {"shape": [4]}, "representation": 4, "layers": _LAYERS, "mixture": 5},
            ("mixture", "a number"),
        ),
        (
            parse_architecture,
            {"input": {"shape": [4]}, "representation": 4, "layers": [True]},
            ("layers[0]", "a boolean"),
        ),
        (Budget.model_validate, None, ("budget", "null")),
    ],
)
def test_a_mapping_given_as_something_else_is_told_so_without_class_names(
    parse: Any, document: Any, violation: tuple[str, str]
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse(document)
    field, kind = violation
    assert raised.value.violations == (FieldViolation(field, _MAPPING + kind),)
