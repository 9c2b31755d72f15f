"""Train one network on one task with one seed, the same way for every candidate.

The plan is the authors' [CS17] solver, the same for every candidate of an experiment so none
gets its own tuning: Adam (lr 1e-3, betas 0.9/0.999), L2 weight decay 1e-4 on weights (not
biases, as their ``decay_mult: 0``), learning rate x0.1 after 80% of the steps. The epochs and the
batch size (64 by default) are sized per experiment, to fit the machine, and recorded with the
results.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from bench.validate.nets import parameter_count

__all__ = [
    "LARGEST_TEST_SET",
    "Dataset",
    "RunResult",
    "TrainingPlan",
    "accuracy",
    "exact_accuracy",
    "mean_accuracy",
    "train_and_test",
]

LARGEST_TEST_SET: Final = 10**6
"""The most examples a test set may have for :func:`exact_accuracy` to recover its counts."""


@dataclass(frozen=True)
class Dataset:
    """Inputs ``(n, C, S, S)`` float32 and integer class labels ``(n,)`` as tensors."""

    inputs: torch.Tensor
    labels: torch.Tensor

    @classmethod
    def from_arrays(cls, images: npt.NDArray[np.generic], labels: npt.NDArray[np.int64]) -> Dataset:
        """Wrap ``(n, S, S)`` images (one channel) and their labels."""
        inputs = torch.as_tensor(np.asarray(images, dtype=np.float32)).unsqueeze(1)
        return cls(inputs, torch.as_tensor(labels, dtype=torch.long))

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class TrainingPlan:
    """Solver settings shared by every run of an experiment (see the module docstring)."""

    epochs: int
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    decay_after: float = 0.8


@dataclass(frozen=True)
class RunResult:
    """Outcome of one training run; ``seconds`` is wall-clock, ``cpu_seconds`` this process's."""

    seed: int
    parameters: int
    train_accuracy: float
    test_accuracy: float
    epoch_losses: tuple[float, ...]
    seconds: float
    cpu_seconds: float


def train_and_test(
    build: Callable[[], nn.Module],
    train: Dataset,
    test: Dataset,
    plan: TrainingPlan,
    seed: int,
) -> RunResult:
    """Build a model under ``seed``, train it by ``plan`` on ``train``, measure both accuracies.

    The seed fixes the initial weights and the order of the minibatches, so a run is repeatable
    on the same machine and torch build.
    """
    start, start_cpu = time.perf_counter(), time.process_time()
    torch.manual_seed(seed)
    model = build()
    shuffle = torch.Generator().manual_seed(seed)
    weights = [p for name, p in model.named_parameters() if not name.endswith("bias")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    optimizer = torch.optim.Adam(
        [
            {"params": weights, "weight_decay": plan.weight_decay},
            {"params": biases, "weight_decay": 0.0},
        ],
        lr=plan.learning_rate,
    )
    steps_per_epoch = -(-len(train) // plan.batch_size)
    decay_step = int(plan.decay_after * plan.epochs * steps_per_epoch)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[decay_step], gamma=0.1)
    loss_function = nn.CrossEntropyLoss()
    losses: list[float] = []
    model.train()
    for _ in range(plan.epochs):
        total = 0.0
        for batch in torch.split(torch.randperm(len(train), generator=shuffle), plan.batch_size):
            optimizer.zero_grad()
            loss = loss_function(model(train.inputs[batch]), train.labels[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(train))
    return RunResult(
        seed=seed,
        parameters=parameter_count(model),
        train_accuracy=accuracy(model, train),
        test_accuracy=accuracy(model, test),
        epoch_losses=tuple(losses),
        seconds=time.perf_counter() - start,
        cpu_seconds=time.process_time() - start_cpu,
    )


def accuracy(model: nn.Module, data: Dataset, batch_size: int = 512) -> float:
    """Fraction of ``data`` whose highest-scoring class is the label."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for inputs, labels in zip(
            torch.split(data.inputs, batch_size), torch.split(data.labels, batch_size), strict=True
        ):
            correct += int((model(inputs).argmax(dim=1) == labels).sum())
    model.train()
    return correct / len(data)


def exact_accuracy(value: float | Fraction) -> Fraction:
    """An accuracy as the exact ratio of counts it was computed from (``correct / examples``,
    :func:`accuracy`, or that in percent), for test sets of up to :data:`LARGEST_TEST_SET`
    examples; a ratio given is returned as it is."""
    return Fraction(value).limit_denominator(LARGEST_TEST_SET)


def mean_accuracy(accuracies: Sequence[float | Fraction]) -> float:
    """The mean of test accuracies, the same float for every set of runs with the same mean.

    The accuracies are averaged as the exact ratios they are (:func:`exact_accuracy`). A float
    sum rounds by the order of its terms: two members with the same runs in another seed order,
    or runs with the same total, got means a unit in the last place apart, and the rank
    correlations, which count such ties apart from ordered pairs, ranked them as if one trained
    better. Given the ratios themselves (repeated draws of the same runs), it is cheaper. NaN
    for no runs.
    """
    if len(accuracies) == 0:
        return math.nan
    return float(sum(map(exact_accuracy, accuracies), Fraction()) / len(accuracies))
