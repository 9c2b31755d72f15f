"""A task's candidate pool at one parameter budget, and what each candidate costs.

The budget is the parameter count of **the standard CNN**: contiguous pooling by 2 per axis at
every level, widths doubling per level (16x16 images: M = 8, widths 8-16-32-64, four levels;
64-step sequences: M = 4, widths 4-8-...-128, six levels). The pool:

- the advisor's top :data:`ADVISOR_TOP` from the full default search
  (:func:`advisor.search.recommend.recommend`, no restriction but ``outputs``);
- :data:`RANDOM_DRAWS` random draws from the advisor's own search space (more when the search
  returns fewer than :data:`ADVISOR_TOP` designs, so every pool holds 24 members; an advisor
  pick that is the standard CNN is a member apart from ``baseline-doubling``, by its family)
  (:func:`advisor.search.recommend.sample_architectures`: a recommendable tree uniformly, then
  one of the width vectors the search considers for it, spending at least half the budget; a
  draw that is not a pool member yet);
- the baselines: the standard CNN (``baseline-doubling``), and the same tree with one constant
  width (M included, M moved off it only when no constant width lands within 5% of the budget;
  ``baseline-constant``).

Every member carries its score from :func:`advisor.search.recommend.score_architectures` (the
search's own score) and its multiply-adds per input (``Architecture.multiply_adds``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from advisor.model.architecture import Architecture, Layer, architecture_document
from advisor.model.budget import Budget
from advisor.model.grid import InputSpec
from advisor.model.parameters import ParameterModel
from advisor.model.task import Task
from advisor.search.recommend import recommend, sample_architectures, score_architectures

__all__ = [
    "ADVISOR_TOP",
    "BASELINE_TOLERANCE",
    "RANDOM_DRAWS",
    "Member",
    "architecture_key",
    "build_pool",
    "constant_baseline",
    "doubling_baseline",
    "search_budget",
]

ADVISOR_TOP: Final = 8
RANDOM_DRAWS: Final = 14
BASELINE_TOLERANCE: Final = 0.05
DOUBLING = "baseline-doubling"
CONSTANT = "baseline-constant"


@dataclass(frozen=True)
class Member:
    """One pool member: where it came from and its architecture.

    Attributes
    ----------
    source
        ``advisor #k``, ``random``, ``baseline-doubling`` or ``baseline-constant``.
    architecture
        The network to train.
    """

    source: str
    architecture: Architecture

    @property
    def key(self) -> str:
        """The architecture document as canonical JSON (identifies the member)."""
        return architecture_key(self.architecture)


def architecture_key(architecture: Architecture) -> str:
    """``architecture``'s document as canonical JSON (sorted keys, no spaces)."""
    return json.dumps(architecture_document(architecture), sort_keys=True, separators=(",", ":"))


def _contiguous(
    shape: tuple[int, ...], representation: int, widths: list[int], classes: int, family: str
) -> Architecture:
    pool = (2,) * len(shape)
    return Architecture(
        input=InputSpec(shape=shape),
        representation=representation,
        layers=tuple(Layer(channels=w, pool=pool) for w in widths),
        outputs=classes,
        family=family,
    )


def _levels(shape: tuple[int, ...]) -> int:
    return int(math.log2(max(shape)))


def doubling_baseline(shape: tuple[int, ...], classes: int) -> Architecture:
    """The standard CNN of the module docstring for ``shape`` (square power-of-two sides)."""
    base = 8 if len(shape) == 2 else 4
    widths = [base << level for level in range(_levels(shape))]
    return _contiguous(shape, base, widths, classes, DOUBLING)


def constant_baseline(shape: tuple[int, ...], classes: int, budget: int) -> Architecture:
    """The standard CNN's tree with one constant width, its count closest to ``budget``."""
    levels = _levels(shape)
    grid = np.arange(1, 513)
    representation, width = (a.ravel() for a in np.meshgrid(grid, grid))
    counts = ParameterModel(1, classes).count(np.column_stack([representation, *[width] * levels]))
    off = np.abs(counts - budget)
    best = np.lexsort((off, np.abs(representation - width), off > BASELINE_TOLERANCE * budget))[0]
    widths = [int(width[best])] * levels
    return _contiguous(shape, int(representation[best]), widths, classes, CONSTANT)


def search_budget(parameters: int, classes: int, top_k: int = ADVISOR_TOP) -> Budget:
    """The full default search's budget: only the parameter count, outputs and top_k set."""
    return Budget(max_parameters=parameters, top_k=top_k, outputs=classes, time_limit_seconds=None)


def random_members(
    task: Task, budget: Budget, count: int, seed: int, taken: set[str]
) -> list[Member]:
    """``count`` random designs of the search's own space at the budget, not yet in the pool.

    Drawn by :func:`advisor.search.recommend.sample_architectures` (a recommendable tree, then one
    of the width vectors the search considers for it that spends at least half the budget).
    """
    drawn: list[Member] = []
    for architecture in sample_architectures(task, budget, count + len(taken), seed):
        member = Member("random", architecture)
        if member.key not in taken and len(drawn) < count:
            taken.add(member.key)
            drawn.append(member)
    if len(drawn) < count:
        raise RuntimeError(f"drew only {len(drawn)} of {count} random candidates")
    return drawn


def build_pool(
    task: Task,
    classes: int,
    seed: int,
    random_draws: int = RANDOM_DRAWS,
    exclude: Collection[str] = (),
) -> tuple[Budget, list[Member]]:
    """The task's budget and pool: advisor's top, random draws, baselines (module docstring).

    No random draw is one of ``exclude`` (architecture keys), so a second draw with another
    seed holds only members the first pools did not.
    """
    shape = task.input.shape
    doubling = doubling_baseline(shape, classes)
    budget = search_budget(doubling.parameters, classes)
    result = recommend(task, budget)
    members = [Member(f"advisor #{r.rank}", r.architecture) for r in result.recommendations]
    members += [
        Member(DOUBLING, doubling),
        Member(CONSTANT, constant_baseline(shape, classes, doubling.parameters)),
    ]
    taken = {m.key for m in members} | set(exclude)
    # A small search space gives fewer distinct trees than ADVISOR_TOP: random draws make up
    # the difference, so every pool has the same size.
    shortfall = ADVISOR_TOP - len(result.recommendations)
    members += random_members(task, budget, random_draws + shortfall, seed, taken)
    return budget, members


def member_records(task: Task, budget: Budget, members: list[Member]) -> list[dict[str, Any]]:
    """Each member's figures that do not need training: source, size, cost and advisor score.

    The scores come from one objective for the whole pool
    (:func:`advisor.search.recommend.score_architectures`); each architecture is stored as its
    canonical JSON text (:attr:`Member.key`), one line.
    """
    scores = score_architectures(task, budget, [member.architecture for member in members])
    return [
        {
            "source": member.source,
            "architecture": member.key,
            "parameters": member.architecture.parameters,
            "multiply_adds": member.architecture.multiply_adds,
            "score": score,
        }
        for member, score in zip(members, scores, strict=True)
    ]
