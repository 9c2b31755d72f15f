"""A mixture [CTS18] as a PyTorch module (needs the optional ``torch`` extra).

Imported only through :func:`advisor.export.document.torch_module`. The members share the
representation layer and the output layer; each runs its own gather and hidden layers (as
:class:`~advisor.export.torch_net.ConvNet` does), and at every mixing level and at the root the
members' pooled maps are summed node by node. A member's map lists its nodes in the order of its
own gathered grid, so the sum goes through one canonical order (member 0's): each member's map
is gathered into it, summed, and gathered back into every member's order.
"""

from __future__ import annotations

import functools
import operator
from typing import Literal

import torch
from torch import nn

from advisor.export.mixture_gathers import mixture_gathers
from advisor.export.torch_net import (
    GatherNet,
    check_inputs,
    gather_buffer,
    hidden_layer,
    pads_inputs,
    representation_layer,
)
from advisor.model.architecture import Architecture
from advisor.model.mixture import member_widths

__all__ = ["MixtureNet"]


class MixtureNet(GatherNet):
    """The network of an architecture with a ``mixture``; parameters = ``Architecture.parameters``.

    Input ``(batch, C_in, *shape)``; output ``(batch, outputs)``.
    """

    def __init__(self, architecture: Architecture, pooling: Literal["max", "avg"] = "max") -> None:
        super().__init__()
        mixture = architecture.mixture
        assert mixture is not None, "MixtureNet builds architectures with a mixture"
        self.input = architecture.input
        self.depth = len(architecture.layers)
        self.mixing = (*mixture.mixing, self.depth)
        self.representation = representation_layer(architecture)
        self.pads = pads_inputs(architecture)
        widths = member_widths(architecture.widths, mixture)
        for name, gather in mixture_gathers(architecture).items():
            self.register_buffer(name, gather_buffer(gather))
        self.members = nn.ModuleList(
            nn.Sequential(
                *(
                    nn.Sequential(*hidden_layer(architecture, own, level, pooling))
                    for level in range(self.depth)
                )
            )
            for own in widths
        )
        self.output = nn.Linear(architecture.widths[-1], architecture.outputs)
        self.find_identities()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Score a batch ``(batch, C_in, *shape)``; returns ``(batch, outputs)``."""
        check_inputs(inputs, self.input, self.pads, self.output)
        self.refresh_identities()
        features = self.representation(inputs)
        flat = features.flatten(2)
        maps = [
            self.gather(flat, f"gather_{m}").reshape(features.shape)
            for m in range(len(self.members))
        ]
        for level in range(self.depth):
            maps = [
                layers[level](own)  # type: ignore[index]
                for layers, own in zip(self.members, maps, strict=True)
            ]
            if level + 1 in self.mixing:
                maps = self._summed(self.mixing.index(level + 1), maps)
        output: torch.Tensor = self.output(maps[0].flatten(1))
        return output

    def _summed(self, index: int, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        shape = maps[0].shape
        # A fold, not sum(): sum() starts from 0, and the isinstance check its type then needs
        # fails under torch.fx.symbolic_trace, whose maps are Proxies.
        total = functools.reduce(
            operator.add,
            (
                self.gather(own.flatten(2), f"to_canonical_{m}_{index}")
                for m, own in enumerate(maps)
            ),
        )
        return [
            self.gather(total, f"from_canonical_{m}_{index}").reshape(shape)
            for m in range(len(maps))
        ]
