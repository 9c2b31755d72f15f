"""A recommended architecture as a PyTorch module (needs the optional ``torch`` extra).

Imported only through :func:`advisor.export.document.torch_module`, so the library works without
PyTorch. The module is the ReLU counterpart of the advisor's ConvAC (docs/THEORY.md §1; [CS17]
and [LYCS18] train exactly such nets): product pooling becomes standard max or average pooling.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from advisor.geometry.layouts import input_permutation
from advisor.model.architecture import Architecture

__all__ = ["ConvNet", "gather_buffer", "hidden_layer", "representation_layer"]


class ConvNet(nn.Module):
    """The network of an :class:`~advisor.model.architecture.Architecture`, layer by layer.

    1. Representation: a ``k x k`` conv (``k = representation_kernel``) from the input channels
       to M, zero-padded so it keeps the grid ('same'), then ReLU.
    2. Geometry: a fixed gather of the locations (a registered buffer ``permutation``): position
       ``p`` of the permuted grid holds ``permutation[p]`` (docs/FORMATS.md §2), so the pooling
       tree is the architecture's.
    3. Hidden layers: a 1x1 conv to ``channels``, ReLU, then max (or average) pooling with
       ``kernel = pool`` and ``stride = stride`` (default ``pool``).
    4. Output: a linear layer from the last width to ``outputs``.

    Every conv and the linear layer have biases, so the parameter count equals
    ``Architecture.parameters``. Input ``(batch, C_in, *shape)``; output ``(batch, outputs)``.
    """

    permutation: torch.Tensor

    def __init__(self, architecture: Architecture, pooling: Literal["max", "avg"] = "max") -> None:
        super().__init__()
        self.shape = architecture.input.shape
        self.representation = representation_layer(architecture)
        self.register_buffer("permutation", gather_buffer(input_permutation(architecture)))
        self.hidden = nn.Sequential(
            *(
                module
                for level in range(len(architecture.layers))
                for module in hidden_layer(architecture, architecture.widths, level, pooling)
            )
        )
        self.output = nn.Linear(architecture.widths[-1], architecture.outputs)

    def permute(self, features: torch.Tensor) -> torch.Tensor:
        """Apply the geometry's gather to ``(batch, channels, *shape)`` features."""
        flat = features.flatten(2)[:, :, self.permutation]
        return flat.reshape(features.shape)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Score a batch ``(batch, C_in, *shape)``; returns ``(batch, outputs)``."""
        features = self.hidden(self.permute(self.representation(inputs)))
        output: torch.Tensor = self.output(features.flatten(1))
        return output


def representation_layer(architecture: Architecture) -> nn.Sequential:
    """Build the 'same'-padded ``k x k`` conv from the input channels to M, then ReLU."""
    spec = architecture.input
    kernel = architecture.representation_kernel
    # 'same' padding by hand: torch pads even kernels with a warning and a copy.
    before, after = (kernel - 1) // 2, kernel // 2
    padding = (
        nn.ConstantPad1d((before, after), 0.0)
        if spec.ndim == 1
        else nn.ConstantPad2d((before, after, before, after), 0.0)
    )
    conv = nn.Conv1d if spec.ndim == 1 else nn.Conv2d
    return nn.Sequential(
        padding, conv(spec.channels, architecture.representation, kernel), nn.ReLU()
    )


def hidden_layer(
    architecture: Architecture,
    widths: tuple[int, ...],
    level: int,
    pooling: Literal["max", "avg"],
) -> list[nn.Module]:
    """Hidden layer ``level`` with these ``widths``: a 1x1 conv, ReLU, then max or avg pooling."""
    ndim = architecture.input.ndim
    conv = nn.Conv1d if ndim == 1 else nn.Conv2d
    pool = {
        (1, "max"): nn.MaxPool1d,
        (2, "max"): nn.MaxPool2d,
        (1, "avg"): nn.AvgPool1d,
        (2, "avg"): nn.AvgPool2d,
    }[ndim, pooling]
    layer = architecture.layers[level]
    fan_in = architecture.representation if level == 0 else widths[level - 1]
    return [
        conv(fan_in, widths[level], 1),
        nn.ReLU(),
        pool(kernel_size=layer.pool, stride=layer.step),
    ]


def gather_buffer(permutation: npt.ArrayLike) -> torch.Tensor:
    """Return a permutation as the ``int64`` tensor a gather buffer holds."""
    return torch.as_tensor(np.asarray(permutation, dtype=np.int64))
