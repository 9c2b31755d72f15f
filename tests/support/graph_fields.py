"""Refusals of a dependence graph's per-location fields as the wire reads them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from advisor.errors import InvalidRequestError
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2


def assert_fields_refused(
    message: advisor_pb2.DependenceGraph,
    cases: Iterable[tuple[str, Sequence[float], str]],
) -> None:
    """Check that ``message`` with each ``(field, values)`` put in is refused as ``says`` begins.

    Each case replaces one repeated field of a copy of ``message`` with ``values``; the one
    violation, written ``field: description``, must start with ``says``.
    """
    for field, values, says in cases:
        bad = advisor_pb2.DependenceGraph()
        bad.CopyFrom(message)
        del getattr(bad, field)[:]
        getattr(bad, field).extend(values)
        with pytest.raises(InvalidRequestError) as error:
            wire.dependence_graph_from_proto(bad, 1 << 14)
        [violation] = error.value.violations
        assert f"{violation.field}: {violation.description}".startswith(says), field
