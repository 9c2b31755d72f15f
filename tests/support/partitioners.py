"""The graph partitioners a test runs the arrangement with.

METIS comes with the optional ``infer`` extra (pymetis): without it the ``metis`` cases skip, as
the torch tests do without the ``torch`` extra, rather than fail on the missing module.
"""

from __future__ import annotations

from typing import Any

import pytest

from advisor.infer.partition import available_partitioner

PARTITIONERS: list[Any] = [
    pytest.param(
        "metis",
        marks=pytest.mark.skipif(
            available_partitioner() != "metis", reason="METIS needs the 'infer' extra (pymetis)"
        ),
    ),
    "spectral",
]
"""``metis`` (where pymetis is installed) and ``spectral``: a parametrize list or fixture params."""
