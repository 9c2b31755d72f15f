"""The requests the service benches send: a small Analyze and a time-limited Recommend.

Shared by the load test (:mod:`bench.load`, its mix) and the poller that probes a loaded server
(:mod:`bench.poller`), so both measure the same work.
"""

from __future__ import annotations

from advisor.protocol._proto.advisor.v1 import advisor_pb2
from tests.support.strategies import architecture_message, budget_message, task_message

__all__ = ["ANALYZE_REQUEST", "RECOMMEND_REQUEST"]

_HALVES = {"name": "left_right", "a": {"box": {"start": [0, 0], "stop": [16, 8]}}}
_CENTER = {"name": "center_border", "a": {"box": {"start": [4, 4], "stop": [12, 12]}}}
_ROWS = {"name": "top_bottom", "a": {"box": {"start": [0, 0], "stop": [8, 16]}}}
ANALYZE_REQUEST = advisor_pb2.AnalyzeRequest(
    task=task_message({"input": {"shape": [16, 16]}, "correlations": [_HALVES, _CENTER, _ROWS]}),
    architecture=architecture_message(
        {
            "input": {"shape": [16, 16]},
            "representation": 8,
            "layers": [{"channels": 8, "pool": [2, 2]} for _ in range(4)],
            "geometry": "mirror",
        }
    ),
)
"""A 16x16 mirror-pooled network scored on three correlations (milliseconds of work)."""

RECOMMEND_REQUEST = advisor_pb2.RecommendRequest(
    task=task_message(
        {
            "input": {"shape": [8, 8]},
            "correlations": [
                {"name": "left_right", "a": {"box": {"start": [0, 0], "stop": [8, 4]}}}
            ],
        }
    ),
    budget=budget_message({"max_parameters": 20_000, "top_k": 3, "time_limit_seconds": 0.25}),
)
"""A search on an 8x8 grid stopped by its 0.25 s time limit at the latest."""
