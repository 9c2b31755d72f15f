"""``--format yaml`` and the architecture file (advisor/export/yaml_output.py): PyYAML's text,
with the long lists of integers written without a node per number."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from advisor.export import yaml_output
from advisor.export.yaml_output import readable_yaml


class _Reference(yaml.SafeDumper):
    """PyYAML writing every node itself, with the representers readable_yaml gives it."""


_Reference.add_representer(list, yaml_output._represent_list)
_Reference.add_representer(str, yaml_output._represent_str)

_NUMBERS = st.lists(st.integers(-(10**12), 10**12) | st.integers(0, 99), max_size=120)
_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_DOCUMENTS = st.recursive(
    _SCALARS | _NUMBERS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(max_size=70) | st.sampled_from(["- a", "-b", "? c"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=70), _DOCUMENTS, max_size=4), st.booleans())
def test_it_writes_the_text_pyyaml_writes(document: dict[str, Any], ascii_only: bool) -> None:
    expected = yaml.dump(
        document, Dumper=_Reference, sort_keys=False, width=100, allow_unicode=not ascii_only
    )
    assert readable_yaml(document, ascii_only=ascii_only) == expected


def test_a_permutation_is_not_written_number_by_number(monkeypatch: pytest.MonkeyPatch) -> None:
    # PyYAML represents, resolves and emits a node per number, in Python: the five
    # permutations of a 1024x1024 search, --format yaml, took 90 s and 2 GB to write.
    represented = []

    def represent_int(dumper: yaml.SafeDumper, number: int) -> yaml.Node:
        represented.append(number)
        return dumper.represent_scalar("tag:yaml.org,2002:int", str(number))

    permutation = list(range(100_000))[::-1]
    document = {"recommendations": [{"geometry": {"permutation": permutation}, "rank": 1}]}
    monkeypatch.setitem(yaml_output._ReadableDumper.yaml_representers, int, represent_int)
    text = readable_yaml(document)
    assert represented == [1]
    assert yaml.safe_load(text) == document
