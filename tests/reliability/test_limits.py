"""Every request dimension that costs time or memory has a limit, checked before any work.

Each case is a small valid request with one dimension pushed one past its documented limit (the
defaults of ``RequestLimits``, what ``server.py`` runs with): the answer must be INVALID_ARGUMENT
naming that field, and it must come fast, since nothing was built. The message-size limit is
gRPC's own and answers RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.service.limits import RequestLimits
from tests.support.raw_calls import Outcome, call_raw
from tests.support.strategies import Document, architecture_message, budget_message, task_message

LIMITS = RequestLimits()
# Refusing a request must not cost more than parsing it; generous for a busy two-core machine.
FAST_SECONDS = 0.5
SERVICE_DOC = Path(__file__).resolve().parents[2] / "docs" / "SERVICE.md"

TASK: Document = {
    "input": {"shape": [4, 4]},
    "correlations": [{"name": "left_right", "a": {"box": {"start": [0, 0], "stop": [4, 2]}}}],
}
ARCHITECTURE: Document = {
    "input": {"shape": [4, 4]},
    "representation": 2,
    "layers": [{"channels": 2, "pool": [2, 2]}, {"channels": 2, "pool": [2, 2]}],
}
BUDGET: Document = {"max_parameters": 1000, "time_limit_seconds": 0.2}


@dataclass(frozen=True)
class Case:
    """A request with one dimension over its limit, and the field the refusal must name."""

    field: str
    edit: Callable[[Document], None]

    def documents(self) -> Document:
        return _documents(self.edit)


def _documents(*edits: Callable[[Document], None]) -> Document:
    """The base task, architecture and budget with ``edits`` applied."""
    documents = copy.deepcopy({"task": TASK, "architecture": ARCHITECTURE, "budget": BUDGET})
    for edit in edits:
        edit(documents)
    return documents


def _set(path: str, value: Any) -> Callable[[Document], None]:
    """An edit that sets the dotted ``path`` (list items as ``[i]``) to ``value``."""

    def edit(documents: Document) -> None:
        keys: list[str | int] = []
        for part in path.replace("]", "").split("."):
            name, *indices = part.split("[")
            keys.extend([name, *map(int, indices)])
        node: Any = documents
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


_OVER_LOCATIONS = LIMITS.max_locations + 1
_SIDE = math.isqrt(_OVER_LOCATIONS) + 1

TASK_CASES = [
    Case("task.input.shape", _set("task.input.shape", [_OVER_LOCATIONS])),
    Case("task.input.shape", _set("task.input.shape", [_SIDE, _SIDE])),
    Case(
        "task.correlations",
        _set(
            "task.correlations",
            [{"name": f"c{i}", "a": {"indices": [0]}} for i in range(LIMITS.max_correlations + 1)],
        ),
    ),
    Case(
        "task.correlations[0].a.indices",
        _set("task.correlations[0].a", {"indices": [0] * _OVER_LOCATIONS}),
    ),
    Case(
        "task.correlations[0].b.indices",
        _set("task.correlations[0].b", {"indices": [0] * _OVER_LOCATIONS}),
    ),
    Case(
        "task.correlations[0].a.mask",
        _set("task.correlations[0].a", {"mask": ["#" * _SIDE] * _SIDE}),
    ),
]

ARCHITECTURE_CASES = [
    Case("architecture.input.shape", _set("architecture.input.shape", [_SIDE, _SIDE])),
    Case(
        "architecture.layers",
        _set(
            "architecture.layers",
            [{"channels": 2, "pool": [1, 1]}] * LIMITS.max_layers
            + [{"channels": 2, "pool": [4, 4]}],
        ),
    ),
    Case(
        "architecture.representation", _set("architecture.representation", LIMITS.max_channels + 1)
    ),
    Case(
        "architecture.layers[1].channels",
        _set("architecture.layers[1].channels", LIMITS.max_channels + 1),
    ),
    Case("architecture.outputs", _set("architecture.outputs", LIMITS.max_channels + 1)),
    Case(
        "architecture.geometry.permutation",
        _set("architecture.geometry", {"permutation": list(range(_OVER_LOCATIONS))}),
    ),
    Case(
        "architecture.geometry.dilations",
        _set("architecture.geometry", {"dilations": [1] * (LIMITS.max_layers + 1)}),
    ),
]

BUDGET_CASES = [
    Case("budget.max_depth", _set("budget.max_depth", LIMITS.max_layers + 1)),
    Case("budget.min_depth", _set("budget.min_depth", LIMITS.max_layers + 1)),
    Case("budget.max_channels", _set("budget.max_channels", LIMITS.max_channels + 1)),
    Case(
        "budget.channel_choices",
        _set("budget.channel_choices", [2] * (LIMITS.max_channel_choices + 1)),
    ),
    Case("budget.channel_choices[0]", _set("budget.channel_choices", [LIMITS.max_channels + 1])),
    Case("budget.top_k", _set("budget.top_k", LIMITS.max_top_k + 1)),
    Case(
        "budget.time_limit_seconds",
        _set("budget.time_limit_seconds", LIMITS.max_time_limit_seconds + 1),
    ),
    Case("budget.time_limit_seconds", _set("budget.time_limit_seconds", math.nan)),
    Case("budget.outputs", _set("budget.outputs", LIMITS.max_channels + 1)),
]


def _search_request(method: str, documents: Document) -> bytes:
    request_type = (
        advisor_pb2.RecommendRequest
        if method == "Recommend"
        else advisor_pb2.StreamRecommendRequest
    )
    request = request_type(
        task=task_message(documents["task"]), budget=budget_message(documents["budget"])
    )
    return request.SerializeToString()


def _analyze_request(documents: Document, exact: bool = False) -> bytes:
    request = advisor_pb2.AnalyzeRequest(
        task=task_message(documents["task"]),
        architecture=architecture_message(documents["architecture"]),
        exact=exact,
    )
    return request.SerializeToString()


def _assert_refused_fast(outcome: Outcome, field: str) -> None:
    assert outcome.code == grpc.StatusCode.INVALID_ARGUMENT, outcome
    assert field in [v.field for v in outcome.field_violations], outcome.field_violations
    assert outcome.seconds < FAST_SECONDS, outcome.seconds


@pytest.mark.parametrize("method", ["Recommend", "StreamRecommend"])
@pytest.mark.parametrize("case", TASK_CASES + BUDGET_CASES, ids=lambda c: c.field)
def test_a_search_over_a_limit_is_refused_fast(
    channel: grpc.Channel, method: str, case: Case
) -> None:
    payload = _search_request(method, case.documents())
    _assert_refused_fast(call_raw(channel, method, payload, timeout=10), case.field)


@pytest.mark.parametrize("case", TASK_CASES + ARCHITECTURE_CASES, ids=lambda c: c.field)
def test_an_analysis_over_a_limit_is_refused_fast(channel: grpc.Channel, case: Case) -> None:
    payload = _analyze_request(case.documents())
    _assert_refused_fast(call_raw(channel, "Analyze", payload, timeout=10), case.field)


_WIDE_OVERLAP = [
    {"channels": 2, "pool": [64, 64], "stride": [1, 1]},
    {"channels": 2, "pool": [65, 65]},
]


@pytest.mark.parametrize(
    ("edits", "exact", "field"),
    [
        # 65 x 65 windows of 64 x 64: 17 million entries, about a quarter second per correlation.
        (
            [
                _set("task.input.shape", [128, 128]),
                _set("architecture.input.shape", [128, 128]),
                _set("architecture.layers", _WIDE_OVERLAP),
            ],
            False,
            "architecture.layers",
        ),
        (
            [
                _set("task.input.shape", [32, 32]),
                _set("architecture.input.shape", [32, 32]),
                _set("architecture.layers", [{"channels": 2, "pool": [32, 32]}]),
            ],
            True,
            "exact",
        ),
        ([_set("architecture.layers[0].channels", LIMITS.max_exact_channels + 1)], True, "exact"),
        # 16 locations with M = 4: (|A| + |B|) log2 M = 32.
        ([_set("architecture.representation", 4)], True, "exact"),
    ],
    ids=["window-entries", "exact-locations", "exact-channels", "exact-log2-size"],
)
def test_an_analysis_too_costly_to_stop_promptly_is_refused_fast(
    channel: grpc.Channel, edits: list[Callable[[Document], None]], exact: bool, field: str
) -> None:
    documents = _documents(*edits)
    outcome = call_raw(channel, "Analyze", _analyze_request(documents, exact=exact), timeout=10)
    _assert_refused_fast(outcome, field)


def test_a_message_over_the_size_limit_is_refused_by_grpc(channel: grpc.Channel) -> None:
    names = "x" * LIMITS.max_message_bytes
    documents = _documents(_set("task.correlations[0].name", names))
    outcome = call_raw(channel, "Analyze", _analyze_request(documents), timeout=10)
    assert outcome.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert outcome.seconds < FAST_SECONDS * 4  # includes sending 4 MiB over loopback


def test_every_limit_is_documented() -> None:
    text = SERVICE_DOC.read_text()
    for name in RequestLimits.model_fields:
        assert f"| `{name}` |" in text, f"docs/SERVICE.md has no row for the limit {name}"
