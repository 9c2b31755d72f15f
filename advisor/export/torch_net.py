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

from advisor.export.margins import input_pads
from advisor.geometry.layouts import input_permutation
from advisor.model.architecture import Architecture
from advisor.model.grid import InputSpec

__all__ = [
    "ConvNet",
    "GatherNet",
    "NotScriptable",
    "check_inputs",
    "gather_buffer",
    "gather_problem",
    "hidden_layer",
    "pads_inputs",
    "representation_layer",
]

_LAYERS: dict[str, type[nn.Module]] = {
    f"{name}{ndim}d": getattr(nn, f"{name}{ndim}d")
    for name in ("Conv", "MaxPool", "AvgPool", "ConstantPad")
    for ndim in (1, 2, 3)
}
"""The torch layer classes by name and grid dimension, e.g. ``Conv3d``."""


class NotScriptable(nn.Module):
    """A module that ``torch.jit.script`` refuses in words of its own (README, "Compiling").

    The exported nets are not written in TorchScript's subset, and TorchScript failed deep in
    their source (``ValueError: Unknown type annotation: 'torch.Tensor'``), naming none of the
    ways that do work.
    """

    def __prepare_scriptable__(self) -> nn.Module:
        """Raise instead: ``torch.jit.script`` calls this on a module before compiling it.

        Raises
        ------
        NotImplementedError
            Naming the compilers that take the module.
        """
        raise NotImplementedError(
            f"torch.jit.script: {type(self).__name__} is not written in TorchScript's subset; "
            "use torch.compile, torch.export.export, torch.jit.trace or torch.fx.symbolic_trace "
            "(the architecture advisor's README, 'The PyTorch export')"
        )


class GatherNet(NotScriptable):
    """A module whose own buffers are gathers of the flattened grid, skipping those that are none.

    A contiguous pick's gather is the identity, yet indexing by it copies the whole feature map on
    every forward (411 MB for an ImageNet-sized pick at batch 32). The buffers stay registered
    whatever they hold, so every ``state_dict`` keeps its keys; which are identities is worked out
    again whenever one loads, as the loaded gathers may be another geometry's, whenever one is
    assigned (``net.permutation = ...``), and on the next call after one changed in place
    (``net.permutation.copy_(...)``, which bumps the tensor's version counter). Each is checked
    then to be a permutation of its grid's locations (:func:`gather_problem`): a checkpoint of
    zeros ran every location as the first, and an identity of another length skipped the gather.
    """

    identities: frozenset[str]
    """The names of the module's own buffers that are the identity (their gather is skipped)."""

    found: dict[str, tuple[torch.Tensor, int]]
    """Each own buffer when :attr:`identities` was found, and its version counter then."""

    def __init__(self) -> None:
        super().__init__()
        self.identities = frozenset()
        self.found = {}
        # torch's stubs leave register_load_state_dict_post_hook unannotated.
        self.register_load_state_dict_post_hook(_after_load)  # type: ignore[no-untyped-call]

    def __setattr__(self, name: str, value: torch.Tensor | nn.Module) -> None:
        """Set an attribute; an own buffer assigned is looked at again, identity or not.

        Done here, not only on the next call, so a graph ``torch.compile`` captured, which
        guards on :attr:`identities`, is captured again. A buffer that is no permutation of the
        grid the one before gathered is refused (``ValueError`` naming it), the module unchanged.
        """
        if name in self._buffers and isinstance(value, torch.Tensor):
            _check_gather(name, value, len(self.get_buffer(name)))
        super().__setattr__(name, value)
        if name in self._buffers:
            self.find_identities()

    def find_identities(self) -> None:
        """Record which of the module's own buffers are the identity; call once they are all in.

        A buffer on the ``meta`` device (a module built under ``torch.device("meta")``) holds no
        values to compare: it is kept as a gather until a ``state_dict`` loads into it.
        """
        buffers = dict(self.named_buffers(recurse=False))
        for name, buffer in buffers.items():
            _check_gather(name, buffer, len(buffer))
        self.identities = frozenset(
            name
            for name, buffer in buffers.items()
            if not buffer.is_meta
            and torch.equal(buffer, torch.arange(len(buffer), device=buffer.device))
        )
        self.found = {name: (buffer, buffer._version) for name, buffer in buffers.items()}

    def refresh_identities(self) -> None:
        """Find the identities again if an own buffer changed since: replaced, or in place.

        Comparing each buffer with the one found and its version counter costs about 2 us a call
        (0.3% of ``examples/architectures/mirror.yaml``'s forward at batch 1). A call
        ``torch.compile`` or ``torch.jit.trace`` records skips it (the counter is no value a graph
        holds): its graph keeps the gathers it was recorded with.
        """
        if _jit_tracing() or torch.compiler.is_compiling():
            return
        found = self.found
        if any(
            name not in found or found[name][0] is not buffer or found[name][1] != buffer._version
            for name, buffer in self.named_buffers(recurse=False)
        ):
            self.find_identities()

    def gather(self, flat: torch.Tensor, name: str) -> torch.Tensor:
        """Gather the last axis of ``flat`` by the buffer ``name``, or return it if no gather."""
        return flat if name in self.identities else flat[:, :, self.get_buffer(name)]


def gather_problem(gather: torch.Tensor, size: int) -> str | None:
    """Say why ``gather`` is no permutation of a grid of ``size`` locations (None if it is one).

    One on the ``meta`` device holds no values: none is said of it.
    """
    if gather.dim() != 1 or len(gather) != size:
        return f"holds shape {tuple(gather.shape)}, not the {size} locations of its grid"
    if gather.dtype not in (torch.int64, torch.int32):  # torch reads uint8 and bool as masks
        return f"holds {gather.dtype}, not location ids (torch.int64)"
    if gather.is_meta or size == 0:
        return None
    low, high = int(gather.min()), int(gather.max())
    if low < 0 or high >= size:
        return f"holds {low if low < 0 else high}, outside the locations 0..{size - 1}"
    counts = torch.bincount(gather.to(torch.int64), minlength=size)
    if bool((counts == 1).all()):
        return None
    missing = int(torch.nonzero(counts == 0)[0])
    return f"is no permutation of 0..{size - 1}: location {missing} is missing, another repeats"


def _check_gather(name: str, gather: torch.Tensor, size: int) -> None:
    """Refuse a gather buffer ``name`` that :func:`gather_problem` finds wrong."""
    problem = gather_problem(gather, size)
    if problem is not None:
        raise ValueError(f"{name}: {problem}")


def _after_load(module: nn.Module, incompatible: object) -> None:
    """Find a :class:`GatherNet`'s identities again: its ``load_state_dict`` post-hook."""
    assert isinstance(module, GatherNet)
    module.find_identities()


class ConvNet(GatherNet):
    """The network of an :class:`~advisor.model.architecture.Architecture`, layer by layer.

    1. Representation: the input zero-padded by the architecture's ``padding`` (its margin is then
       the constant input the analysis models), a ``k x k`` conv (``k = representation_kernel``)
       from the input channels to M, zero-padded so it keeps that grid ('same'), then ReLU.
    2. Geometry: a fixed gather of the locations (a registered buffer ``permutation``): position
       ``p`` of the permuted grid holds ``permutation[p]`` (docs/FORMATS.md §2), so the pooling
       tree is the architecture's. Skipped where it is the identity (:class:`GatherNet`).
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
        self.input = architecture.input
        self.representation = representation_layer(architecture)
        self.pads = pads_inputs(architecture)
        self.register_buffer("permutation", gather_buffer(input_permutation(architecture)))
        self.hidden = nn.Sequential(
            *(
                module
                for level in range(len(architecture.layers))
                for module in hidden_layer(architecture, architecture.widths, level, pooling)
            )
        )
        self.output = nn.Linear(architecture.widths[-1], architecture.outputs)
        self.find_identities()

    def permute(self, features: torch.Tensor) -> torch.Tensor:
        """Apply the geometry's gather to ``(batch, channels, *shape)`` features."""
        return self.gather(features.flatten(2), "permutation").reshape(features.shape)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Score a batch ``(batch, C_in, *shape)``; returns ``(batch, outputs)``."""
        check_inputs(inputs, self.input, self.pads, self.output)
        self.refresh_identities()
        features = self.hidden(self.permute(self.representation(inputs)))
        output: torch.Tensor = self.output(features.flatten(1))
        return output


def check_inputs(inputs: torch.Tensor, spec: InputSpec, pads: bool, output: nn.Linear) -> None:
    """Refuse ``inputs`` unless it is a batch ``(batch, C_in, *shape)`` of the architecture's input.

    Without it, a batch of another shape fails inside the gather in torch's words (a shape that
    ``is invalid for input of size``, an index out of bounds) or, where the locations happen to
    fit, is pooled on the wrong grid. The input is the unpadded one: the module adds the margins.
    ``pads`` is whether it adds any (:func:`pads_inputs`): only then does the refusal say that
    the shape is the one without them, a batch padded by hand being the likely mistake.

    Tracers that record no Python branch skip it: ``torch.jit.trace`` would freeze the outcome
    for the trace's own example as a constant, and comparing its traced sizes raises a
    ``TracerWarning`` per axis, an error wherever warnings are (this project's tests);
    ``torch.fx.symbolic_trace`` (torchvision's feature extractors, FX quantization) passes a
    ``Proxy`` without a shape, and a branch on it is a ``TraceError``. ``torch.export`` keeps the
    check: it turns the shape into guards of the exported program.

    The batch must also hold the module's dtype, its ``output`` layer's: torch modules do not
    cast, and torch's own refusal (``Input type (double) and bias type (float) should be the
    same``) named neither ``inputs`` nor either conversion. Under ``torch.autocast`` any floating
    dtype passes but ``float64``, autocast casting it itself: autocast casts no ``float64``
    tensor, so a ``float64`` batch still needs a ``float64`` module (and the other way round).

    Raises
    ------
    TypeError
        When ``inputs`` is no tensor (a numpy array, a list), naming what to pass; when it holds
        another dtype than the module, naming both and the conversions.
    ValueError
        Naming ``inputs``, the shape expected and the shape given.
    """
    expected = (spec.channels, *spec.shape)
    if _jit_tracing() or isinstance(inputs, torch.fx.Proxy):
        return
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(
            f"inputs: expected a torch.Tensor of shape (batch, {', '.join(map(str, expected))}); "
            f"got {type(inputs).__name__} (convert it with torch.as_tensor)"
        )
    if inputs.dim() != len(expected) + 1 or tuple(inputs.shape[1:]) != expected:
        unpadded = " without the padding the module adds" if pads else ""
        raise ValueError(
            f"inputs: expected (batch, {', '.join(map(str, expected))}), i.e. (batch, channels, "
            f"*input.shape){unpadded}; got {tuple(inputs.shape)}"
        )
    _check_dtype(inputs, output.weight.dtype)


def _jit_tracing() -> bool:
    """Return whether ``torch.jit.trace`` is recording the call."""
    # torch's stubs neither re-export nor annotate the public torch.jit.is_tracing.
    tracing: bool = torch.jit.is_tracing()  # type: ignore[attr-defined, no-untyped-call]
    return tracing


def _check_dtype(inputs: torch.Tensor, dtype: torch.dtype) -> None:
    """Refuse ``inputs`` that a module of ``dtype`` cannot take (:func:`check_inputs`)."""
    floating = inputs.is_floating_point()
    cast = floating and torch.float64 not in (inputs.dtype, dtype)  # autocast casts no float64
    autocast = torch.is_autocast_enabled(inputs.device.type)
    if inputs.dtype == dtype or (cast and autocast):
        return
    # Under autocast a module made float64 would run the whole net in float64: not advised.
    other = floating and not autocast
    module = f", or the module with module.to({inputs.dtype})" if other else ""
    raise TypeError(
        f"inputs: expected dtype {dtype}, the module's; got {inputs.dtype} "
        f"(convert the batch with inputs.to({dtype}){module})"
    )


def pads_inputs(architecture: Architecture) -> bool:
    """Return whether the :func:`representation_layer` of ``architecture`` pads its input.

    It pads by the architecture's ``padding`` and by the conv's 'same' margins: not at all for
    a net without ``padding`` whose representation conv is 1 wide.
    """
    return any(input_pads(architecture))


def representation_layer(architecture: Architecture) -> nn.Sequential:
    """Build the padded ``k x k`` conv from the input channels to M, then ReLU.

    The input is zero-padded by the architecture's ``padding`` (its margin is then the constant
    input the analysis models) and by the conv's 'same' margins, by hand: torch pads even
    kernels with a warning and a copy. torch lists the margins from the last axis to the first.
    A net that pads nothing has ``nn.Identity`` there, not a pad by zero margins (a copy of the
    input per call, and a layer that reads as padding): the conv stays ``representation[1]``,
    so every net's ``state_dict`` has the same keys.
    """
    spec = architecture.input
    pads = input_pads(architecture)
    padding = _LAYERS[f"ConstantPad{spec.ndim}d"](pads, 0.0) if any(pads) else nn.Identity()
    conv = _LAYERS[f"Conv{spec.ndim}d"](
        spec.channels, architecture.representation, architecture.representation_kernel
    )
    return nn.Sequential(padding, conv, nn.ReLU())


def hidden_layer(
    architecture: Architecture,
    widths: tuple[int, ...],
    level: int,
    pooling: Literal["max", "avg"],
) -> list[nn.Module]:
    """Hidden layer ``level`` with these ``widths``: a 1x1 conv, ReLU, then max or avg pooling."""
    ndim = architecture.input.ndim
    conv = _LAYERS[f"Conv{ndim}d"]
    pool = _LAYERS[f"{pooling.capitalize()}Pool{ndim}d"]
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
