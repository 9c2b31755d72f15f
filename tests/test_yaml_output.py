"""``--format yaml`` and the architecture file (advisor/export/yaml_output.py): PyYAML's text,
with the long lists of integers written without a node per number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from advisor.export import yaml_output
from advisor.export.yaml_output import readable_yaml
from advisor.model.architecture import architecture_document, load_architecture, parse_architecture
from advisor.model.strict_yaml import load_strict
from advisor.model.task import load_task, parse_task, task_document


class _Reference(yaml_output._ReadableDumper):
    """PyYAML writing every node itself, with readable_yaml's representers and resolvers."""


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


@pytest.mark.parametrize(
    "text", ["1e3", "1.5e3", "-1E3", "1e-3", ".5e3", "-.5", "0o17", "yes", "010", "~", "plain"]
)
def test_a_string_reads_back_as_that_string_in_either_yaml(text: str) -> None:
    # PyYAML quotes what YAML 1.1 reads as no string, not 1e3 or 0o17, which the advisor's own
    # YAML 1.2 reader reads as 1000.0 and 15.
    written = readable_yaml({"name": text})
    assert load_strict(written) == yaml.safe_load(written) == {"name": text}


def test_a_task_and_an_architecture_the_advisor_wrote_read_back(tmp_path: Path) -> None:
    # A saved task's correlation named 1e3 (an --save-task or infer --output file) was refused
    # when read back: "correlations[0].name: Input should be a valid string".
    task = parse_task(
        {"input": {"shape": [8]}, "correlations": [{"name": "1e3", "a": {"indices": [0]}}]}
    )
    (tmp_path / "task.yaml").write_text(readable_yaml(task_document(task)))
    assert load_task(tmp_path / "task.yaml") == task
    architecture = parse_architecture(
        {
            "input": {"shape": [4]},
            "representation": 2,
            "layers": [{"channels": 2, "pool": [4]}],
            "family": "0o17",
        }
    )
    (tmp_path / "arch.yaml").write_text(
        yaml_output.readable_yaml(architecture_document(architecture))
    )
    assert load_architecture(tmp_path / "arch.yaml") == architecture
