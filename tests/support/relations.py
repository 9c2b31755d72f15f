"""Coherence on a task's relations: as the search computes it, and by walking up a tree by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from advisor.model.results import Recommendation
from advisor.model.task import Task
from advisor.search.coherence import (
    LEVEL_DISCOUNT,
    Relation,
    architecture_coherence,
    description_relations,
)


def coherence_of(task: Task, recommendation: Recommendation) -> float:
    """Return :func:`advisor.search.coherence.coherence` of the recommended tree."""
    relations = description_relations(task.resolved(), task.input.shape)
    return architecture_coherence(relations, recommendation.architecture)


def walked_coherence(
    windows: Sequence[npt.NDArray[np.intp]], relations: Sequence[Relation], ndim: int
) -> float:
    """The coherence by its definition, with dictionaries: no array of the engine's is reused.

    Each pair is walked up the tree to the level whose window first holds both; a level's window
    side is its count of input locations (found by walking every location up) to the ``1/ndim``.
    """
    parents = [
        {int(member): row for row, members in enumerate(window) for member in members}
        for window in windows
    ]
    under: list[dict[int, int]] = []
    nodes = {node: node for node in parents[0]}
    for parent in parents:
        nodes = {node: parent[at] for node, at in nodes.items()}
        counts: dict[int, int] = {}
        for window in nodes.values():
            counts[window] = counts.get(window, 0) + 1
        under.append(counts)
    total = mass_of = 0.0
    for relation in relations:
        shares = [0.0] * len(windows)
        for p, q, weight in zip(
            relation.first.tolist(), relation.second.tolist(), relation.weights, strict=True
        ):
            for level, parent in enumerate(parents):
                p, q = parent[p], parent[q]
                if p == q:
                    shares[level] += float(weight)
                    break
        mass = float(relation.weights.sum())
        for level, share in enumerate(shares):
            side = math.log2(under[level][0]) / ndim
            total += mass * (share / mass) ** 2 * LEVEL_DISCOUNT ** max(side - 1.0, 0.0)
        mass_of += mass
    return total / mass_of
