"""Fixed tasks and budgets the tests and benches share: small and quick, long-running, large.

Messages are ``advisor.v1`` protobufs (what the service receives); :func:`large_task_document` is
a task *document* (what ``parse_task`` and the task files take).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from advisor.model.regions import REGION_PRESETS
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb

__all__ = ["LONG_TASK", "large_task_document", "long_budget", "quick_budget", "small_task"]


def small_task(size: int = 8) -> pb.Task:
    """A size x size image task: left half against right half, and the centre against the rest."""
    return pb.Task(
        input=pb.InputSpec(shape=[size, size]),
        correlations=[
            pb.Correlation(
                name="symmetry", a=pb.Region(preset="left_half"), b=pb.Region(preset="right_half")
            ),
            pb.Correlation(name="centre", a=pb.Region(preset="center"), weight=0.5),
        ],
    )


def quick_budget(**fields: object) -> pb.Budget:
    """A budget a search of :func:`small_task` meets in well under a second; ``fields`` override."""
    settings: dict[str, object] = {"max_parameters": 20_000, "top_k": 3, "time_limit_seconds": 5.0}
    return pb.Budget(**(settings | fields))  # type: ignore[arg-type]


# A search that runs for tens of seconds (about 26 s alone on a 2-core machine: free widths from 64
# channel choices per level on a 16,384-step input) and polls its stop predicate every few tens of
# milliseconds, so the tests that cut it time the service, not the library.
LONG_TASK = pb.Task(input=pb.InputSpec(shape=[16384]), preset="periodic")


def long_budget(seconds: float = 30.0) -> pb.Budget:
    """A budget under which a search of ``LONG_TASK`` runs until its ``seconds`` time limit."""
    return pb.Budget(
        max_parameters=10**6,
        channel_choices=range(1, 65),
        time_limit_seconds=seconds,
        width_profile=pb.WIDTH_PROFILE_FREE,
    )


def large_task_document() -> dict[str, Any]:
    """256x256, 64 correlations: boxes, full masks, 4096 indices and presets, b omitted."""
    rng = np.random.default_rng(0)
    correlations: list[dict[str, Any]] = []
    for index in range(64):
        form = index % 4
        if form == 0:
            region: dict[str, Any] = {"box": {"start": [index, 0], "stop": [index + 128, 100]}}
        elif form == 1:
            rows = rng.random((256, 256)) < 0.5
            region = {"mask": ["".join("#" if x else "." for x in row) for row in rows.tolist()]}
        elif form == 2:
            region = {"indices": rng.choice(65536, 4096, replace=False).tolist()}
        else:
            region = {"preset": list(REGION_PRESETS)[index % len(REGION_PRESETS)]}
        correlations.append({"name": f"c{index}", "a": region})
    return {"input": {"shape": [256, 256]}, "correlations": correlations}
