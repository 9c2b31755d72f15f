"""A trainable ReLU network built from an advisor ``Architecture`` (one pooling tree only).

The network an architecture file (docs/FORMATS.md §2) describes: a ``k x k`` representation
conv with ReLU, then per hidden layer a 1x1 conv, ReLU and pooling over the layer's windows, then
a linear output layer. Its parameter count is therefore exactly ``Architecture.parameters``, which
is how the experiments hold the parameter count equal across candidates. A fixed representation
can replace the learned conv (the [CS17] authors one-hot encode binary pixels: M = 2 fixed
functions); the count then drops by the conv's ``k*k*C*M + M`` on every candidate alike. Biases
start at zero; weights Glorot-uniform as in the [CS17] authors' networks, or He-normal (fan-in,
ReLU gain), which keeps the signal alive through deep narrow stacks on mostly-empty inputs.

Instead of a conv/pool stack on the image, the hidden layers run on a flat sequence: after the
representation the locations are gathered once into the pooling tree's leaf order
(``advisor.geometry.layouts.pooling_structure(arch).leaf_order()``), in which every window of every
level is a run of consecutive nodes. A 1x1 conv is then a matrix product over channels and a
pooling a reshape and a max (or mean) over the run. This is the same function as a standard
conv/pool stack on the input permuted by ``advisor.geometry.layouts.input_permutation`` (a test
checks it), and was 1.6x faster than ``Conv2d``/``MaxPool2d`` for the blob network on this CPU.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from advisor.export.torch_net import representation_layer
from advisor.geometry.layouts import pooling_structure
from advisor.model.architecture import Architecture

__all__ = ["InitKind", "OneHotPixels", "PoolKind", "TreeNet", "parameter_count"]

PoolKind = Literal["max", "avg"]
InitKind = Literal["glorot", "he"]


class TreeNet(nn.Module):
    """The ReLU network of a non-overlapping 1-D or 2-D ``arch`` (see the module docstring).

    Parameters
    ----------
    arch
        The architecture; its geometry decides which locations share a window.
    pool
        ``"max"`` or ``"avg"`` pooling over each window.
    representation
        A module mapping ``(B, C, *shape)`` to ``(B, M, *shape)`` in place of the learned
        ``k x k`` conv + ReLU; ``None`` keeps the architecture's.
    init
        ``"glorot"`` (uniform) or ``"he"`` (normal, fan-in) initial weights.

    Raises
    ------
    ValueError
        When ``arch`` is no tree: it has overlapping windows, or a ``mixture`` (whose members
        this net would leave out; :func:`advisor.export.torch_module` builds it).
    """

    leaf_order: torch.Tensor

    def __init__(
        self,
        arch: Architecture,
        pool: PoolKind = "max",
        representation: nn.Module | None = None,
        init: InitKind = "glorot",
    ) -> None:
        super().__init__()
        if arch.is_overlapping:
            raise ValueError("TreeNet builds architectures with non-overlapping windows")
        if arch.mixture is not None:
            raise ValueError(
                "TreeNet builds one pooling tree, not a mixture of trees: build a mixture with "
                "advisor.export.torch_module"
            )
        # The architecture's padding, last axis first as torch lists it: a constant (zero)
        # margin, which the export's representation layer adds itself (with the conv's 'same'
        # margins, which keep the grid for an even kernel too); a fixed one is given them.
        self.margins: tuple[int, ...] = ()
        if representation is None:
            representation = representation_layer(arch)
        else:
            self.margins = tuple(side for axis in reversed(arch.padding or ()) for side in axis)
        self.representation = representation
        order = pooling_structure(arch).leaf_order()
        self.register_buffer("leaf_order", torch.tensor(order, dtype=torch.long))
        fan_in = (arch.representation, *arch.widths[:-1])
        self.hidden = nn.ModuleList(
            nn.Linear(r_in, r_out) for r_in, r_out in zip(fan_in, arch.widths, strict=True)
        )
        self.windows = tuple(math.prod(layer.pool) for layer in arch.layers)
        self.pool = pool
        self.output = nn.Linear(arch.widths[-1], arch.outputs)
        for name, parameter in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(parameter)
            elif init == "glorot":
                nn.init.xavier_uniform_(parameter)
            else:
                nn.init.kaiming_normal_(parameter, nonlinearity="relu")

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Class scores ``(B, outputs)`` of inputs ``(B, C, *shape)`` (1-D, 2-D or 3-D)."""
        padded = nn.functional.pad(inputs, self.margins) if self.margins else inputs
        features = self.representation(padded).flatten(2)[:, :, self.leaf_order]
        nodes = features.transpose(1, 2)
        for layer, window in zip(self.hidden, self.windows, strict=True):
            nodes = torch.relu(layer(nodes))
            batch, count, channels = nodes.shape
            grouped = nodes.reshape(batch, count // window, window, channels)
            nodes = grouped.amax(dim=2) if self.pool == "max" else grouped.mean(dim=2)
        scores: torch.Tensor = self.output(nodes.squeeze(1))
        return scores


class OneHotPixels(nn.Module):
    """Binary pixels ``(B, 1, H, W)`` -> their one-hot code ``(B, 2, H, W)``: ``[1 - x, x]``."""

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Return the two indicator channels."""
        return torch.cat([1 - pixels, pixels], dim=1)


def parameter_count(model: nn.Module) -> int:
    """Number of trainable scalars (weights and biases) of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
