"""Two zero-cost proxies from their papers, to rank the pool before training as the advisor does.

- **synflow** [Tanaka, Kunin, Yamins, Ganguli 2020, "Pruning neural networks without any data by
  iteratively conserving synaptic flow"]: with every parameter replaced by its absolute value, in
  double precision (no batch norm here to switch off), ``R = 1^T f(1)`` on an all-ones input;
  the score is ``sum |theta * dR/dtheta|`` over all parameters.
- **NASWOT** [Mellor, Turner, Storkey, Crowley 2021, "Neural Architecture Search without
  Training"]: the binary code of every ReLU of the untrained net (active or not) on each input of
  a minibatch; ``K_H[i, j]`` = number of ReLUs on which inputs ``i`` and ``j`` agree (``N_A``
  minus the Hamming distance of their codes); the score is ``log |det K_H|``, computed exactly
  (``K_H`` is a matrix of counts): ``-inf`` when two inputs share one code.

Both are computed on the network as it is trained (:class:`bench.validate.nets.TreeNet`, its
initialisation drawn under a fixed seed).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from bench.validate.nets import TreeNet

__all__ = ["log_abs_det", "naswot", "synflow"]


def synflow(model: TreeNet, input_shape: tuple[int, ...]) -> float:
    """The synflow score of ``model`` on inputs ``(C, *shape)``; ``model`` is left unchanged."""
    flow = copy.deepcopy(model).double()
    with torch.no_grad():
        for parameter in flow.parameters():
            parameter.abs_()
    total = flow(torch.ones((1, *input_shape), dtype=torch.float64)).sum()
    total.backward()
    score = sum(
        float((p * p.grad).abs().sum().detach()) for p in flow.parameters() if p.grad is not None
    )
    return score


def naswot(model: TreeNet, inputs: torch.Tensor) -> float:
    """The NASWOT score of ``model`` on the minibatch ``inputs`` (see the module docstring)."""
    codes: list[torch.Tensor] = []

    def record(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        # A ReLU is active exactly where the layer feeding it is positive.
        codes.append((output > 0).flatten(1).long())

    layers = [
        module
        for module in model.modules()
        if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Linear) and module is not model.output
    ]
    handles = [layer.register_forward_hook(record) for layer in layers]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    active = torch.cat(codes, dim=1)
    kernel = active @ active.T + (1 - active) @ (1 - active).T
    return log_abs_det(kernel.tolist())


def log_abs_det(matrix: list[list[int]]) -> float:
    """``log |det matrix|`` of a square integer matrix, exactly; ``-inf`` when it is singular.

    NASWOT's ``K_H`` holds counts, so its determinant is an integer. In floating point (an LU
    factorisation) a singular ``K_H``, which any two inputs with one activation code give (the
    same image twice in the batch), came out as rounding noise of any size and sign instead of
    ``-inf``, and differed from one machine to the next. Bareiss's fraction-free elimination
    keeps every intermediate an integer (Python's, unbounded): each division is exact.
    """
    rows = [list(row) for row in matrix]
    size, previous = len(rows), 1
    for k in range(size):
        pivot = next((i for i in range(k, size) if rows[i][k] != 0), None)
        if pivot is None:
            return -math.inf
        rows[k], rows[pivot] = rows[pivot], rows[k]  # a swap flips the sign, not |det|
        for i in range(k + 1, size):
            for j in range(k + 1, size):
                rows[i][j] = (rows[i][j] * rows[k][k] - rows[i][k] * rows[k][j]) // previous
        previous = rows[k][k]
    return math.log(abs(previous))
