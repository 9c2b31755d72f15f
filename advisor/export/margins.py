"""The margins an exported net pads its input by, in torch's order (no torch needed).

The PyTorch module (:mod:`advisor.export.torch_net`) and its standalone source
(:mod:`advisor.export.torch_source`) pad alike from here: the source is written without torch.
"""

from __future__ import annotations

from advisor.model.architecture import Architecture

__all__ = ["input_pads"]


def input_pads(architecture: Architecture) -> tuple[int, ...]:
    """Return the margins the representation layer adds, last axis first as torch lists them.

    The architecture's ``padding`` (its margin is then the constant input the analysis models)
    and the 'same' margins of its ``representation_kernel`` conv, padded by hand: torch pads
    even kernels with a warning and a copy.
    """
    kernel = architecture.representation_kernel
    margins = architecture.padding or ((0, 0),) * architecture.input.ndim
    return tuple(
        pad
        for before, after in reversed(margins)
        for pad in (before + (kernel - 1) // 2, after + kernel // 2)
    )
