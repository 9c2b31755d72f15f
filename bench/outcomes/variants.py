"""Screen changes to the search's objective on the trained pools, without training anything.

Run after :mod:`bench.outcomes.run` (docs/OUTCOMES.md, "Objective variants screened on the
trained pools")::

    .venv/bin/python -m bench.outcomes.variants [--write-docs]

Each variant multiplies the score every pool member has (``results/<task>.json``) by a factor
of its architecture, rescores every member on a changed description of its task (the score
recomputed as the benchmark computes it, on the description with something added), or picks
among the advisor's trained top 8 (fewer where the search returned fewer) by a rule of its own.
Two figures per variant, over every task whose pool is trained:

- **mean Kendall tau** of the varied score against test accuracy on the pools as they are (the
  pools a changed objective would build differ: its own top 8 would be trained);
- **#1 within one std of the pool's best**: the variant's pick among the advisor's top 8 (the
  member it scores highest, ties to the better current rank), judged as the benchmark judges
  the #1. Exact where the variant's own #1 lies among the current top 8, and never a member the
  search could not return (the top 8 meet its compute bound).

The control ("current") reproduces the benchmark's figures. A diagnostic beside the benchmark:
what it screens out need not be trained; what passes it still has to be run for real. It takes
73 CPU-seconds and 390 MB (measured 2026-12-07 on the two-core machine, 52 pools; the rescored
variants run the search's scoring on every member again).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.arrangement import discarded_by_level
from advisor.model.task import Task
from advisor.search.objective import ARRANGEMENT_WEIGHT
from advisor.search.recommend import score_architectures
from bench.outcomes.data import ALL_TASKS
from bench.outcomes.describe import load_description, locality_description, with_locality
from bench.outcomes.metrics import ADVISOR_FIRST, accuracy_gap, rank_correlation
from bench.outcomes.pool import search_budget
from bench.outcomes.report import Row, rows
from bench.outcomes.run import RESULTS
from bench.report import add_write_option, command_parser, publish

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


@dataclass(frozen=True)
class Pool:
    """One task's trained pool: the parameter budget it was built at, and its members."""

    budget: int
    members: list[Member]


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


Scores = Callable[[str, Pool], list[float]]
"""A variant's score of every member of one task's pool (the task's name, the pool)."""


def factored(factor: Factor) -> Scores:
    """The stored scores times ``factor``."""
    return lambda _, pool: [m.score * factor(m.architecture) for m in pool.members]


def rescored(describe: Callable[[Task], Task]) -> Scores:
    """Every member's score recomputed as the benchmark computes it, on ``describe`` of the
    task's committed description."""

    def scores(task: str, pool: Pool) -> list[float]:
        description = load_description(task)
        budget = search_budget(pool.budget, ALL_TASKS[task].classes)
        return score_architectures(
            describe(description), budget, [m.architecture for m in pool.members]
        )

    return scores


def highest(top: Sequence[Member], scores: Sequence[float]) -> Member:
    """The member ``scores`` rank highest (ties to the better current rank)."""
    return max(zip(scores, top, strict=True), key=lambda s: (s[0], -(s[1].rank or 0)))[1]


def _shallowest_near(share: float) -> Pick:
    def pick(top: Sequence[Member]) -> Member:
        near = [m for m in top if m.score >= (1 - share) * top[0].score]
        return min(near, key=lambda m: (len(m.architecture.layers), m.rank or 0))

    return pick


@dataclass(frozen=True)
class Variant:
    """A change screened: what it changes, how it scores the members (None: as stored, its tau
    not screened), and how it picks the #1 (None: the member its scores rank highest)."""

    what: str
    scores: Scores | None
    rule: Pick | None = None


def _locality(share: float) -> Scores:
    return rescored(lambda task: with_locality(task, share))


VARIANTS: Final[dict[str, Variant]] = {
    **{name: Variant(what, factored(factor)) for name, (factor, what) in FACTORS.items()},
    **{
        f"shallowest within {share:.0%}": Variant(
            f"of the top 8 within {share:.0%} of the #1's score, the fewest pooling levels",
            None,
            _shallowest_near(share),
        )
        for share in (0.02, 0.05, 0.10)
    },
    **{
        f"locality prior {label}": Variant(
            f"the `local` preset added at {label} of the description's weight",
            _locality(share),
        )
        for label, share in (("1/4", 0.25), ("1/2", 0.5))
    },
    "locality prior 1/2, grids only": Variant(
        "the same on 2-D inputs only (chosen after seeing the screen: docs/OUTCOMES.md)",
        rescored(locality_description),
    ),
}
"""Every variant screened: name -> variant."""


@dataclass(frozen=True)
class Screened:
    """One variant's figures over the tasks (``mean_tau`` NaN: its scores are the stored ones).

    A task whose pool a variant scores all alike counts at tau 0 in the mean: a variant that
    says nothing about a task must not raise its figure by leaving the task out.
    """

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


def screen(pools: dict[str, Pool], variant: Variant) -> Screened:
    """Figures of one ``variant`` over the ``pools``."""
    taus, misses, changed = [], [], 0
    for task, pool in pools.items():
        members = pool.members
        accuracy = [m.row.mean for m in members]
        scores = (
            [m.score for m in members] if variant.scores is None else variant.scores(task, pool)
        )
        taus.append(rank_correlation(scores, accuracy).kendall_tau)
        ranked = sorted(
            ((m, s) for m, s in zip(members, scores, strict=True) if m.rank is not None),
            key=lambda pair: pair[0].rank or 0,
        )
        top = [m for m, _ in ranked]
        pick = highest(top, [s for _, s in ranked]) if variant.rule is None else variant.rule(top)
        changed += pick.row.source != ADVISOR_FIRST
        if not _within(max((m.row for m in members), key=lambda r: r.mean), pick.row):
            misses.append(task)
    tau = float(np.mean(np.nan_to_num(taus))) if variant.scores is not None else math.nan
    return Screened(tau, len(pools) - len(misses), len(pools), misses, changed)


def read_pools(folder: Path = RESULTS, tasks: Sequence[str] = tuple(ALL_TASKS)) -> dict[str, Pool]:
    """Each task's trained pool that holds the advisor's #1."""
    pools = {}
    for task in tasks:
        path = folder / f"{task}.json"
        if path.exists():
            document = json.loads(path.read_text())
            members = _members(document)
            if any(m.rank == 1 for m in members):
                pools[task] = Pool(int(document["budget"]), members)
    return pools


def markdown(pools: dict[str, Pool]) -> str:
    """The screen's table: every variant's mean tau and #1 figures."""
    lines = [
        "| variant | what it changes | mean tau (current pools) | #1 within one std | "
        "#1 changed on | misses |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for name, variant in VARIANTS.items():
        figures = screen(pools, variant)
        tau = "-" if math.isnan(figures.mean_tau) else f"{figures.mean_tau:+.3f}"
        lines.append(
            f"| {name} | {variant.what} | {tau} | {figures.within} of {figures.tasks} | "
            f"{figures.changed} | {', '.join(figures.misses)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = command_parser(description=__doc__)
    add_write_option(parser, "OUTCOMES.md")
    arguments = parser.parse_args()
    publish(arguments, "outcomes-variants", markdown(read_pools()), measured=False)


if __name__ == "__main__":
    main()
