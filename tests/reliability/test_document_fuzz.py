"""Fuzzing the document parsers: every input ends in a model or ``InvalidRequestError``.

Task and architecture files come from users (YAML/JSON) and, through the wire converter, from any
gRPC client, so ``parse_task`` and ``parse_architecture`` must turn every JSON value into either a
model the rest of the library can use or field violations; any other exception would surface as
INTERNAL in the service and as a traceback in the CLI.
"""

from __future__ import annotations

import math
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from advisor.errors import InvalidRequestError
from advisor.geometry.layouts import pooling_structure
from advisor.model.architecture import parse_architecture
from advisor.model.task import parse_task
from tests.support.strategies import (
    Document,
    boundary_architecture_documents,
    boundary_task_documents,
    malformed_architecture_documents,
    malformed_task_documents,
    valid_architecture_documents,
    valid_task_documents,
)


def _locations(region: Document, shape: list[int]) -> set[int]:
    """The location set a valid-strategy region document denotes (its forms are unambiguous)."""
    width = shape[-1]
    if "indices" in region:
        return set(region["indices"])
    if "mask" in region:
        rows = region["mask"]
        return {h * width + w for h, row in enumerate(rows) for w, c in enumerate(row) if c == "#"}
    start, stop = region["box"]["start"], region["box"]["stop"]
    if len(shape) == 1:
        return set(range(start[0], stop[0]))
    return {h * width + w for h in range(start[0], stop[0]) for w in range(start[1], stop[1])}


def _assert_well_formed(error: InvalidRequestError) -> None:
    assert error.violations
    for violation in error.violations:
        assert isinstance(violation.field, str)
        assert violation.description.strip()
        assert "Traceback" not in violation.description


@given(valid_task_documents())
def test_valid_tasks_resolve_to_the_regions_they_describe(document: Document) -> None:
    task = parse_task(document)
    shape = document["input"]["shape"]
    everything = set(range(math.prod(shape)))
    resolved = task.resolved()
    assert [c.name for c in resolved] == [c["name"] for c in document["correlations"]]
    for correlation, spec in zip(resolved, document["correlations"], strict=True):
        a = _locations(spec["a"], shape)
        b = _locations(spec["b"], shape) if "b" in spec else everything - a
        assert set(correlation.a.tolist()) == a
        assert set(correlation.b.tolist()) == b
        assert np.all(np.diff(correlation.a) > 0)
        assert np.all(np.diff(correlation.b) > 0)
        assert correlation.weight == spec.get("weight", 1.0)


@given(valid_architecture_documents())
def test_valid_architectures_parse_into_a_tree_over_every_location(document: Document) -> None:
    architecture = parse_architecture(document)
    structure = pooling_structure(architecture)
    assert structure.is_tree
    # Over every location of the grid it pools: the input's, padded when it pads.
    assert sorted(structure.leaf_order().tolist()) == list(range(math.prod(architecture.grid)))
    assert architecture.widths == tuple(layer["channels"] for layer in document["layers"])
    assert architecture.parameters > 0


@given(st.one_of(boundary_task_documents(), malformed_task_documents()))
# Found by this test: an index past int64 crashed the conversion to a numpy array.
@example({"input": {"shape": [4]}, "correlations": [{"name": "x", "a": {"indices": [2**63]}}]})
@example({"input": {"shape": [4]}, "correlations": [{"name": "x", "a": {"indices": [-(2**70)]}}]})
def test_any_task_document_is_a_task_or_an_invalid_request(document: Any) -> None:
    try:
        task = parse_task(document)
    except InvalidRequestError as error:
        _assert_well_formed(error)
        return
    for correlation in task.resolved():
        assert correlation.a.size and correlation.b.size
        assert not np.intersect1d(correlation.a, correlation.b).size


@given(st.one_of(boundary_architecture_documents(), malformed_architecture_documents()))
def test_any_architecture_document_is_an_architecture_or_an_invalid_request(
    document: Any,
) -> None:
    try:
        architecture = parse_architecture(document)
    except InvalidRequestError as error:
        _assert_well_formed(error)
        return
    assert architecture.parameters > 0
    if not architecture.is_overlapping:
        assert pooling_structure(architecture).is_tree


@contextmanager
def _address_space_capped(extra_bytes: int) -> Iterator[None]:
    """Make an allocation past ``extra_bytes`` more raise MemoryError, not wake the OOM killer."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    in_use = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (in_use + extra_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize("shape", [[10**6, 10**6], [2**62], [2**31 - 1, 2**31 - 1]])
def test_a_grid_too_large_to_hold_is_refused_before_anything_is_allocated(
    shape: list[int],
) -> None:
    # Found by this file's fuzzing: a task file like this made the library allocate the whole grid
    # while validating it (the CLI parses files locally, ahead of the service's own limits). The
    # address-space cap catches an allocation; a loop over the cells instead would not end before
    # the suite's timeout.
    task = {"input": {"shape": shape}, "correlations": [{"name": "x", "a": {"preset": "even"}}]}
    # A window within int32, as the wire carries it, so that only the grid is refused.
    layer = {"channels": 2, "pool": [min(n, 2**31 - 1) for n in shape]}
    architecture = {"input": {"shape": shape}, "representation": 2, "layers": [layer]}
    for parse, document in ((parse_task, task), (parse_architecture, architecture)):
        with _address_space_capped(256 * 2**20), pytest.raises(InvalidRequestError) as raised:
            parse(document)
        assert [v.field for v in raised.value.violations] == ["input.shape"]
