"""The coherence a recommended tree reaches on its task's relations, as the search computes it."""

from __future__ import annotations

import numpy as np

from advisor.geometry.layouts import pooling_structure
from advisor.model.results import Recommendation
from advisor.model.task import Task
from advisor.search.coherence import coherence, task_relations


def coherence_of(task: Task, recommendation: Recommendation) -> float:
    """Return :func:`advisor.search.coherence.coherence` of the recommendation's tree."""
    correlations = task.resolved()
    weights = np.array([c.weight for c in correlations])
    relations = task_relations(correlations, task.input.shape, weights / weights.sum())
    windows = pooling_structure(recommendation.architecture).windows
    figure = coherence(windows, relations, task.input.shape)
    assert figure is not None, "the task has relations"
    return figure
