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

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from advisor.export.torch_net import (
    GatherNet,
    check_inputs,
    gather_buffer,
    hidden_layer,
    pads_inputs,
    representation_layer,
)
from advisor.geometry.layouts import input_permutation
from advisor.model.architecture import Architecture
from advisor.model.mixture import member_geometries, member_widths

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
        permutations = [
            input_permutation(architecture.model_copy(update={"geometry": g, "mixture": None}))
            for g in member_geometries(architecture.geometry, mixture)
        ]
        for member, permutation in enumerate(permutations):
            self.register_buffer(f"gather_{member}", gather_buffer(permutation))
            for index, level in enumerate(self.mixing):
                to_canonical, from_canonical = _alignment(
                    architecture, permutations[0], permutation, level
                )
                self.register_buffer(f"to_canonical_{member}_{index}", to_canonical)
                self.register_buffer(f"from_canonical_{member}_{index}", from_canonical)
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


def _alignment(
    architecture: Architecture,
    reference: npt.NDArray[np.intp],
    permutation: npt.NDArray[np.intp],
    level: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gathers between a member's level-``level`` positions and the reference (member 0) order.

    ``to[c]`` is the member's position holding the node at canonical position ``c``; ``back[q]``
    the canonical position of the member's position ``q``.
    """
    reference_positions = _positions(architecture, reference, level)
    own_positions = _positions(architecture, permutation, level)
    count = int(reference_positions.max()) + 1
    to = np.empty(count, dtype=np.int64)
    to[reference_positions] = own_positions
    back = np.empty(count, dtype=np.int64)
    back[own_positions] = reference_positions
    return gather_buffer(to), gather_buffer(back)


def _positions(
    architecture: Architecture, permutation: npt.NDArray[np.intp], level: int
) -> npt.NDArray[np.intp]:
    """Per input location, its position (row-major) in the map pooled ``level`` times."""
    schedule = architecture.schedule
    grid = schedule.grids[0]
    where = np.empty(len(permutation), dtype=np.intp)
    where[permutation] = np.arange(len(permutation))
    coordinates = np.array(np.unravel_index(where, grid))
    span = np.prod(np.array(schedule.pools[:level]).reshape(level, -1), axis=0)
    return np.asarray(
        np.ravel_multi_index(tuple(coordinates // span[:, None]), schedule.grids[level]),
        dtype=np.intp,
    )
