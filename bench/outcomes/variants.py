"""Screen changes to the search's objective on the trained pools, without training anything.

Run after :mod:`bench.outcomes.run` (docs/OUTCOMES.md, "Objective variants screened on the
trained pools")::

    .venv/bin/python -m bench.outcomes.variants [--no-write]

Each variant multiplies the score every pool member has (``results/<task>.json``) by a factor
of its architecture, or picks among the advisor's trained top 8 (fewer where the search returned
fewer) by a rule of its own. Two figures per variant, over every task whose pool is trained:

- **mean Kendall tau** of the varied score against test accuracy on the pools as they are (the
  pools a changed objective would build differ: its own top 8 would be trained);
- **#1 within one std of the pool's best**: the variant's pick among the advisor's top 8 (the
  member it scores highest, ties to the better current rank), judged as the benchmark judges
  the #1. Exact where the variant's own #1 lies among the current top 8, and never a member the
  search could not return (the top 8 meet its compute bound).

The control ("current") reproduces the benchmark's figures. A diagnostic beside the benchmark:
what it screens out need not be trained; what passes it still has to be run for real.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.arrangement import discarded_by_level
from advisor.search.objective import ARRANGEMENT_WEIGHT
from bench.outcomes.data import ALL_TASKS
from bench.outcomes.metrics import ADVISOR_FIRST, accuracy_gap, rank_correlation
from bench.outcomes.report import Row, rows
from bench.outcomes.run import RESULTS
from bench.report import add_write_option, publish

ADVISOR: Final = "advisor #"


@dataclass(frozen=True)
class Member:
    """One trained pool member: its figures, its architecture, its current rank (None: not the
    advisor's)."""

    row: Row
    architecture: Architecture
    rank: int | None

    @property
    def score(self) -> float:
        """The advisor's score as the benchmark stored it."""
        return float(self.row.record["score"])


Factor = Callable[[Architecture], float]
"""A multiplier of the stored score, from the architecture alone."""
Pick = Callable[[Sequence[Member]], Member]
"""A rule choosing the #1 among the advisor's trained top 8 (in current rank order)."""


def level_bits(architecture: Architecture) -> list[float]:
    """The arrangement each pooling level discards, bits per input location (docs/THEORY.md §16;
    summed over the levels, :attr:`Architecture.discarded_order`)."""
    pools, steps = zip(*((layer.pool, layer.step) for layer in architecture.layers), strict=True)
    return discarded_by_level(architecture.grid, pools, steps)


def _arrangement(
    kept: Callable[[list[float]], float], weight: float = ARRANGEMENT_WEIGHT
) -> Factor:
    """Replace the score's arrangement discount (:data:`ARRANGEMENT_WEIGHT` times the bits of
    every level) by ``weight`` times ``kept(level bits)`` bits (up to a constant per task, which
    no ranking within a task sees)."""

    def factor(architecture: Architecture) -> float:
        bits = level_bits(architecture)
        return float(2.0 ** (ARRANGEMENT_WEIGHT * sum(bits) - weight * kept(bits)))

    return factor


def _depth(base: float) -> Factor:
    return lambda architecture: base ** len(architecture.layers)


FACTORS: Final[dict[str, tuple[Factor, str]]] = {
    "current": (lambda _: 1.0, "the score as it is (the control)"),
    "no arrangement": (_arrangement(lambda _: 0.0), "without the arrangement discount (§16)"),
    "arrangement, first level": (
        _arrangement(lambda bits: bits[0]),
        "the discount counts the first pooling level only",
    ),
    "arrangement, not the top": (
        _arrangement(lambda bits: sum(bits[:-1]) if len(bits) > 1 else bits[0]),
        "the discount leaves out the top (global) window",
    ),
    "arrangement, weight 1/2": (
        _arrangement(sum, 0.5),
        "the discount's bits weigh 1/2 (the weight of 2026-12-05 until the fourteenth set)",
    ),
    "arrangement, weight 1/4": (_arrangement(sum, 0.25), "the discount's bits weigh 1/4"),
    "depth x0.95": (_depth(0.95), "x0.95 per pooling level"),
    "depth x0.90": (_depth(0.90), "x0.90 per pooling level"),
}
"""Factor variants: name -> (factor, what it changes)."""


def by_factor(factor: Factor) -> Pick:
    """The rule that picks the member ``factor`` scores highest (ties to the better rank)."""

    def pick(top: Sequence[Member]) -> Member:
        return max(top, key=lambda m: (m.score * factor(m.architecture), -(m.rank or 0)))

    return pick


def _shallowest_near(share: float) -> Pick:
    def pick(top: Sequence[Member]) -> Member:
        near = [m for m in top if m.score >= (1 - share) * top[0].score]
        return min(near, key=lambda m: (len(m.architecture.layers), m.rank or 0))

    return pick


RULES: Final[dict[str, tuple[Pick, str]]] = {
    f"shallowest within {share:.0%}": (
        _shallowest_near(share),
        f"of the top 8 within {share:.0%} of the #1's score, the fewest pooling levels",
    )
    for share in (0.02, 0.05, 0.10)
}
"""Pick rules with the score unchanged: name -> (rule, what it does)."""


@dataclass(frozen=True)
class Screened:
    """One variant's figures over the tasks."""

    mean_tau: float
    within: int
    tasks: int
    misses: list[str]
    changed: int


def _members(document: dict[str, object]) -> list[Member]:
    found = []
    for row in rows(document):
        source = row.source
        rank = int(source.removeprefix(ADVISOR)) if source.startswith(ADVISOR) else None
        found.append(Member(row, parse_architecture(json.loads(row.record["architecture"])), rank))
    return found


def _within(best: Row, pick: Row) -> bool:
    return accuracy_gap(best.mean, pick.mean) <= max(best.std, pick.std)


def screen(pools: dict[str, list[Member]], factor: Factor | None, rule: Pick) -> Screened:
    """Figures of one variant: ``factor`` varies the score for tau (None: unchanged), ``rule``
    picks the #1."""
    taus, misses, changed = [], [], 0
    for task, members in pools.items():
        accuracy = [m.row.mean for m in members]
        scores = [m.score * (1.0 if factor is None else factor(m.architecture)) for m in members]
        taus.append(rank_correlation(scores, accuracy).kendall_tau)
        top = sorted((m for m in members if m.rank is not None), key=lambda m: m.rank or 0)
        pick = rule(top)
        changed += pick.row.source != ADVISOR_FIRST
        if not _within(max((m.row for m in members), key=lambda r: r.mean), pick.row):
            misses.append(task)
    return Screened(float(np.nanmean(taus)), len(pools) - len(misses), len(pools), misses, changed)


def read_pools(
    folder: Path = RESULTS, tasks: Sequence[str] = tuple(ALL_TASKS)
) -> dict[str, list[Member]]:
    """Each task's trained pool that holds the advisor's #1."""
    pools = {}
    for task in tasks:
        path = folder / f"{task}.json"
        if path.exists():
            members = _members(json.loads(path.read_text()))
            if any(m.rank == 1 for m in members):
                pools[task] = members
    return pools


def markdown(pools: dict[str, list[Member]]) -> str:
    """The screen's table: every variant's mean tau and #1 figures."""
    lines = [
        "| variant | what it changes | mean tau (current pools) | #1 within one std | "
        "#1 changed on | misses |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    variants: list[tuple[str, str, Factor | None, Pick]] = [
        (name, what, factor, by_factor(factor)) for name, (factor, what) in FACTORS.items()
    ]
    variants += [(name, what, None, rule) for name, (rule, what) in RULES.items()]
    for name, what, factor, rule in variants:
        figures = screen(pools, factor, rule)
        tau = "-" if factor is None else f"{figures.mean_tau:+.3f}"
        lines.append(
            f"| {name} | {what} | {tau} | {figures.within} of {figures.tasks} | "
            f"{figures.changed} | {', '.join(figures.misses)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_write_option(parser)
    arguments = parser.parse_args()
    publish(arguments, "OUTCOMES.md", "outcomes-variants", markdown(read_pools()))


if __name__ == "__main__":
    main()
