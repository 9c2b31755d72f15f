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

_LAYERS: dict[str, type[nn.Module]] = {
    f"{name}{ndim}d": getattr(nn, f"{name}{ndim}d")
    for name in ("Conv", "MaxPool", "AvgPool", "ConstantPad")
    for ndim in (1, 2, 3)
}
"""The torch layer classes by name and grid dimension, e.g. ``Conv3d``."""


class ConvNet(nn.Module):
    """The network of an :class:`~advisor.model.architecture.Architecture`, layer by layer.

    1. Representation: the input zero-padded by the architecture's ``padding`` (its margin is then
       the constant input the analysis models), a ``k x k`` conv (``k = representation_kernel``)
       from the input channels to M, zero-padded so it keeps that grid ('same'), then ReLU.
    2. Geometry: a fixed gather of the locations (a registered buffer ``permutation``): position
       ``p`` of the permuted grid holds ``permutation[p]`` (docs/FORMATS.md §2), so the pooling
       tree is the architecture's.
    3. Hidden layers: a 1x1 conv to ``channels``, ReLU, then max (or average) pooling with
       ``kernel = pool`` and ``stride = stride`` (default ``pool``).
    4. Output: a linear layer from the last width to ``outputs``.

    Every conv and the linear layer have biases, so the parameter count equals
    ``Architecture.parameters``. Input ``(batch, C_in, *shape)`` with 1, 2 or 3 grid axes
    (``Conv1d``/``MaxPool1d`` up to ``Conv3d``/``MaxPool3d``); output ``(batch, outputs)``.
    """

    permutation: torch.Tensor

    def __init__(self, architecture: Architecture, pooling: Literal["max", "avg"] = "max") -> None:
        super().__init__()
        spec = architecture.input
        self.shape = spec.shape
        conv = _LAYERS[f"Conv{spec.ndim}d"]
        pool = _LAYERS[f"{pooling.capitalize()}Pool{spec.ndim}d"]
        kernel = architecture.representation_kernel
        # 'same' padding by hand (torch pads even kernels with a warning and a copy), after the
        # architecture's own; torch lists the margins from the last axis to the first.
        margins = architecture.padding or ((0, 0),) * spec.ndim
        pads = [
            pad
            for before, after in reversed(margins)
            for pad in (before + (kernel - 1) // 2, after + kernel // 2)
        ]
        padding = _LAYERS[f"ConstantPad{spec.ndim}d"](tuple(pads), 0.0)
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
