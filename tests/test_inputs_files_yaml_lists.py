"""Flow lists of integers in a YAML file (a saved result's permutations), read apart from PyYAML.

libyaml handed PyYAML a node per number, which it resolved and constructed in Python: ``advisor
analyze TASK --arch result.yaml`` of a 1024x1024 search's result (five permutations of a million
numbers) took 46 s and 2.4 GB, against 2.5 s for the same result in JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from advisor.model import strict_yaml
from advisor.model.strict_yaml import load_strict

# Where the brackets of a list of integers may stand: as a value, nested, wrapped, after an
# anchor, in text (quoted, plain, a block, a comment), as a key, and in YAML that is not valid.
_PIECES = [
    "a: [1, 2, 3]",
    "a: [+1, -2, 010]",
    "a: [[1, 2], [3]]",
    "a: {b: [4, 5]}",
    "a: [1,\n  2,\n  3]",
    "a: [1,\n2]",
    "a: &x [7, 8]\nb: *x",
    "a: '[1, 2]'",
    'a: "[1, 2]"',
    'a: "x\n  [1, 2]"',
    "a: x [1, 2]",
    "a: |-\n  [1, 2]",
    "a: >\n  [1, 2]\n  [3]",
    "a: 1 # [1, 2]",
    "[1, 2]: a",
    "? [1, 2]\n: a",
    "a: !!seq [1, 2]",
    "a: !!str [1, 2]",
    "a: [1, 2] b",
    "a: [1, 2]#c",
    "a: [1, 2]]",
    "- [1, 2]\n- [3]",
    "a: [1, 2.5]",
    "a: [1, 0x10]",
    "a: [1, 2, ]",
    "a: [1 2]",
    "a: [1, 2]\na: [3]",
    "a: [12345678901234567890123, 1]",
    "a:\n  - [1, 2]\n  - b: [3, 4]",
]


def _outcome(read: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", read(text)
    except ValueError as error:
        return "error", str(error)


def _as_it_is(text: str) -> Any:
    """The strict loader on the text as written, every number a node."""
    try:
        return yaml.load(text, Loader=strict_yaml._StrictYamlLoader)
    except yaml.YAMLError as error:
        # load_strict's one-line wording, from the same error.
        raise ValueError(
            strict_yaml._one_line(error, text)
            if isinstance(error, yaml.MarkedYAMLError)
            else str(error)
        ) from None


@pytest.mark.parametrize("text", _PIECES)
def test_a_piece_reads_as_the_loader_reads_it_number_by_number(text: str) -> None:
    assert _outcome(load_strict, text) == _outcome(_as_it_is, text)


@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=4))
def test_pieces_together_read_as_the_loader_reads_them(pieces: list[str]) -> None:
    text = "\n".join(pieces)
    assert _outcome(load_strict, text) == _outcome(_as_it_is, text)


def test_a_permutation_is_not_read_number_by_number(monkeypatch: pytest.MonkeyPatch) -> None:
    constructed = []
    int_tag = "tag:yaml.org,2002:int"
    constructor = strict_yaml._StrictYamlLoader.yaml_constructors[int_tag]

    def construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        constructed.append(node)
        return constructor(loader, node)

    monkeypatch.setitem(strict_yaml._StrictYamlLoader.yaml_constructors, int_tag, construct_int)
    permutation = list(range(100_000))[::-1]
    numbers = ", ".join(map(str, permutation))
    text = f"rank: 1\narchitecture:\n  geometry:\n    permutation: [{numbers}]\n"
    document = load_strict(text)
    assert document["architecture"]["geometry"]["permutation"] == permutation
    assert len(constructed) == 1  # the rank
