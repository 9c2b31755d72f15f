"""A recommended architecture as a PyTorch module (needs the optional ``torch`` extra).

Imported only through :func:`advisor.export.document.torch_module`, so the library works without
PyTorch. The module is the ReLU counterpart of the advisor's ConvAC (docs/THEORY.md §1; [CS17]
and [LYCS18] train exactly such nets): product pooling becomes standard max or average pooling.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from advisor.geometry.layouts import input_permutation
from advisor.model.architecture import Architecture

__all__ = ["ConvNet"]


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
        spec = architecture.input
        self.shape = spec.shape
        conv = nn.Conv1d if spec.ndim == 1 else nn.Conv2d
        pool = {
            (1, "max"): nn.MaxPool1d,
            (2, "max"): nn.MaxPool2d,
            (1, "avg"): nn.AvgPool1d,
            (2, "avg"): nn.AvgPool2d,
        }[spec.ndim, pooling]
        kernel = architecture.representation_kernel
        # 'same' padding by hand: torch pads even kernels with a warning and a copy.
        before, after = (kernel - 1) // 2, kernel // 2
        padding = (
            nn.ConstantPad1d((before, after), 0.0)
            if spec.ndim == 1
            else nn.ConstantPad2d((before, after, before, after), 0.0)
        )
        self.representation = nn.Sequential(
            padding, conv(spec.channels, architecture.representation, kernel), nn.ReLU()
        )
        gather = np.asarray(input_permutation(architecture), dtype=np.int64)
        self.register_buffer("permutation", torch.as_tensor(gather))
        hidden: list[nn.Module] = []
        fan_in = architecture.representation
        for layer in architecture.layers:
            hidden += [
                conv(fan_in, layer.channels, 1),
                nn.ReLU(),
                pool(kernel_size=layer.pool, stride=layer.step),
            ]
            fan_in = layer.channels
        self.hidden = nn.Sequential(*hidden)
        self.output = nn.Linear(fan_in, architecture.outputs)

    def permute(self, features: torch.Tensor) -> torch.Tensor:
        """Apply the geometry's gather to ``(batch, channels, *shape)`` features."""
        flat = features.flatten(2)[:, :, self.permutation]
        return flat.reshape(features.shape)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Score a batch ``(batch, C_in, *shape)``; returns ``(batch, outputs)``."""
        features = self.hidden(self.permute(self.representation(inputs)))
        output: torch.Tensor = self.output(features.flatten(1))
        return output
