"""Ray Tune: the documented example runs, and its first trials are the advisor's designs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("optuna")
pytest.importorskip("ray.tune")

from advisor.integrations.proposals import fetch_ranking
from advisor.integrations.space import ArchitectureSpace

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "integrations" / "ray_tune.py"


def _run(mode: str, samples: int) -> list[dict[str, object]]:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLE), "--mode", mode, "--samples", str(samples)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=True,
    )
    return [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sampler", "points"])
def test_the_first_trials_are_the_advisors_designs(mode: str) -> None:
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import ray_tune  # the example's own task and budget
    finally:
        sys.path.pop(0)
    designs = fetch_ranking(ray_tune.TASK, ray_tune.BUDGET, ray_tune.BUDGET.top_k)
    space = ArchitectureSpace.for_search(ray_tune.TASK, ray_tune.BUDGET, designs)
    expected = []
    for design in designs:
        params = space.codec.encode(design.architecture)
        params.pop("depth")
        expected.append(params)
    trials = _run(mode, len(designs) + 2)
    assert len(trials) == len(designs) + 2
    assert [t["params"] for t in trials[: len(designs)]] == expected
    assert [t["score"] for t in trials[: len(designs)]] == pytest.approx([d.score for d in designs])
