"""Ask the advisor which candidate of each experiment suits each task (run after the training).

Run (seconds)::

    .venv/bin/python -m bench.validate.advisor_pick

For every experiment result in ``bench/validate/results`` on the tasks described below (the
mixtures benchmark asks the advisor itself, :mod:`bench.validate.mixtures`), the trained
candidates' architectures
(stored in the result) are analysed with :func:`advisor.seprank.analysis.analyze` against each
task's descriptions, scored with the search's objective (:mod:`advisor.search.objective`: weighted
mean over
correlations of the fraction of each target reached, default targets), and the higher score is
the advisor's pick (``tie`` when equal). Both candidates of an experiment have the same parameter
count, so this is the comparison the search itself makes between them at that budget.

As a second check the search itself is run (:func:`advisor.search.recommend`), restricted to the
candidates' depth and geometry families, at their parameter count, outputs and representation
kernel; its top design (family, M and widths, which it allocates freely) is recorded as is.

Each task is described twice, the way a user would, without naming an architecture:

* **regions** — correlations written as boxes from what the task is about:

  - closedness: the blob's pixels must fill each other's gaps, a property of small
    neighbourhoods: every 4x4 neighbourhood (stride 2), its left half vs its right half and its
    top half vs its bottom half;
  - symmetry: the blob sits in a tile (the whole image or one 16x16 quadrant) and is compared
    with its mirror image: left half vs right half of the image and of each quadrant;
  - local digits (8x8 digit anywhere): the same neighbourhood halves at the digit's scale, every
    8x8 neighbourhood at stride 4;
  - global digits (32x32 digit anywhere): every 32x32 neighbourhood at stride 16.

* **preset** — the advisor's named task presets: ``local`` (closedness, local digits),
  ``symmetry``, ``long_range`` (global digits).

These descriptions were fixed before the advisor was first queried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.budget import Budget
from advisor.model.results import Analysis
from advisor.model.task import Task, parse_task
from advisor.search.objective import Objective, default_targets
from advisor.search.recommend import recommend
from advisor.seprank.analysis import analyze
from bench.report import no_options
from bench.validate.experiment import RESULTS, stored_experiments
from bench.validate.report import ADVISOR_PICKS

__all__ = [
    "MAX_CHANNELS",
    "METHOD",
    "PRESETS",
    "advisor_queries",
    "describe",
    "main",
    "neighbourhood_halves",
    "score",
    "search_top",
    "tile_symmetry",
]

MAX_CHANNELS = 512
"""The search's default largest channel choice, which sets the default rank targets."""
SEARCH_SECONDS = 60.0
"""Time limit of the restricted search (it finishes in well under a second here)."""
METHOD = (
    "advisor.seprank.analysis.analyze on both trained architectures, "
    "scored by advisor.search.objective "
    f"(weighted, default targets at max_channels={MAX_CHANNELS}); higher score = pick"
)

PRESETS = {
    "closedness": "local",
    "symmetry": "symmetry",
    "local": "local",
    "global": "long_range",
}
"""The task preset that describes each task :func:`describe` knows (module docstring)."""

_Document = dict[str, Any]


def _box(top: int, left: int, bottom: int, right: int) -> _Document:
    return {"box": {"start": [top, left], "stop": [bottom, right]}}


def neighbourhood_halves(shape: tuple[int, int], size: int, stride: int) -> list[_Document]:
    """Left vs right and top vs bottom half of every ``size`` square neighbourhood on a stride."""
    height, width = shape
    half = size // 2
    correlations = []
    for top in range(0, height - size + 1, stride):
        for left in range(0, width - size + 1, stride):
            bottom, right = top + size, left + size
            correlations += [
                {
                    "name": f"{size}x{size}@{top},{left}/left-right",
                    "a": _box(top, left, bottom, left + half),
                    "b": _box(top, left + half, bottom, right),
                },
                {
                    "name": f"{size}x{size}@{top},{left}/top-bottom",
                    "a": _box(top, left, top + half, right),
                    "b": _box(top + half, left, bottom, right),
                },
            ]
    return correlations


def tile_symmetry(shape: tuple[int, int]) -> list[_Document]:
    """Left half vs right half of the whole image and of each of its four quadrants."""
    height, width = shape
    tiles = [("image", 0, 0, height, width)] + [
        (f"quadrant@{top},{left}", top, left, top + height // 2, left + width // 2)
        for top in (0, height // 2)
        for left in (0, width // 2)
    ]
    return [
        {
            "name": f"{name}/left-right",
            "a": _box(top, left, bottom, (left + right) // 2),
            "b": _box(top, (left + right) // 2, bottom, right),
        }
        for name, top, left, bottom, right in tiles
    ]


def describe(task: str, shape: tuple[int, int]) -> dict[str, Task]:
    """The ``regions`` and ``preset`` descriptions of an experiment's task (module docstring)."""
    correlations: dict[str, list[_Document]] = {
        "closedness": neighbourhood_halves(shape, 4, 2),
        "symmetry": tile_symmetry(shape),
        "local": neighbourhood_halves(shape, 8, 4),
        "global": neighbourhood_halves(shape, 32, 16),
    }
    grid = {"shape": list(shape)}
    return {
        "regions": parse_task({"input": grid, "correlations": correlations[task]}),
        "preset": parse_task({"input": grid, "preset": PRESETS[task]}),
    }


def score(task: Task, analysis: Analysis) -> float:
    """The search objective's score of an architecture's ``analysis`` of ``task`` (larger wins)."""
    smaller_sides = [min(c.a.size, c.b.size) for c in task.resolved()]
    objective = Objective.create(
        default_targets(smaller_sides, MAX_CHANNELS),
        [c.weight for c in analysis.correlations],
        "weighted",
    )
    ranks = np.array([c.log2_separation_rank for c in analysis.correlations])
    return float(objective.keys(ranks)[0, 0])


def search_top(task: Task, candidates: list[Architecture]) -> _Document:
    """The search's best design within the candidates' depth, families and parameter count."""
    first = candidates[0]
    depth = len(first.layers)
    budget = Budget(
        max_parameters=max(arch.parameters for arch in candidates),
        min_depth=depth,
        max_depth=depth,
        geometries=sorted({str(arch.geometry) for arch in candidates}),
        outputs=first.outputs,
        representation_kernel=first.representation_kernel,
        top_k=1,
        time_limit_seconds=SEARCH_SECONDS,
        # The recorded results were made by the free allocator, before practical profiles.
        width_profile="free",
    )
    result = recommend(task, budget)
    best = result.recommendations[0]
    return {
        "family": best.architecture.family,
        "representation": best.architecture.representation,
        "widths": list(best.architecture.widths),
        "parameters": best.parameters,
        "score": best.score,
        "complete": result.complete,
    }


def advisor_queries(document: Mapping[str, Any]) -> list[_Document]:
    """Every (task, description) of one experiment result, with both candidates' scores."""
    architectures = {
        name: parse_architecture(spec) for name, spec in document["candidates"].items()
    }
    shape = next(iter(architectures.values())).input.shape
    queries = []
    for task_name in dict.fromkeys(run["task"] for run in document["runs"]):
        for description, task in describe(task_name, (shape[0], shape[1])).items():
            analyses = {name: analyze(task, arch) for name, arch in architectures.items()}
            scores = {name: score(task, analysis) for name, analysis in analyses.items()}
            queries.append(
                {
                    "experiment": document["experiment"],
                    "task": task_name,
                    "description": description,
                    "correlations": len(task.resolved()),
                    "scores": scores,
                    "pick": _pick(scores),
                    "mean_log2_rank": {
                        name: float(np.mean([c.log2_separation_rank for c in a.correlations]))
                        for name, a in analyses.items()
                    },
                    "search": search_top(task, list(architectures.values())),
                }
            )
    return queries


def _pick(scores: Mapping[str, float]) -> str:
    """The best-scoring candidate, or ``"tie"`` when the best score is shared."""
    best = max(scores.values())
    leaders = [name for name, value in scores.items() if value == best]
    return leaders[0] if len(leaders) == 1 else "tie"


def main() -> None:
    """Query the advisor for every stored experiment; write ``results/advisor_picks.json``."""
    queries = []
    for document in stored_experiments(RESULTS):
        if all(run["task"] in PRESETS for run in document["runs"]):
            queries += advisor_queries(document)
    output = RESULTS / f"{ADVISOR_PICKS}.json"
    output.write_text(json.dumps({"method": METHOD, "queries": queries}, indent=1) + "\n")


if __name__ == "__main__":
    no_options(__doc__)
    main()
