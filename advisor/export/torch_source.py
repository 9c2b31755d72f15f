"""A recommended architecture as standalone PyTorch source: ``advisor export``'s file.

:func:`torch_source` writes one Python file defining ``class Net(torch.nn.Module)`` and ``def
build() -> Net``, importing torch alone, so a net is read, edited and trained without the
advisor installed. ``Net`` computes what :class:`advisor.export.torch_net.ConvNet` computes, with
the same ``state_dict`` keys and shapes, so weights load from either into the other. Writing it
needs no torch: the layers are spelt out from the architecture, the geometry's gather as a
literal permutation.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from typing import Final

from advisor.errors import InvalidRequestError
from advisor.export.document import PoolingKind, check_pooling
from advisor.export.margins import input_pads
from advisor.geometry.layouts import input_permutation
from advisor.model.architecture import Architecture
from advisor.model.arguments import require_instance
from advisor.model.geometries import family_of
from advisor.model.results import shape_summary
from advisor.model.text import activations_text
from advisor.stdout import printable
from advisor.version import __version__

__all__ = ["torch_source"]

_LINE: Final = 96
"""The longest line written for the permutation (ruff's 100, less some slack)."""

_RUN: Final = 4
"""The fewest numbers in arithmetic progression written as one ``range``."""

_MIXTURE: Final = (
    "standalone source is written for a single tree; build a mixture's network with the Python "
    "API advisor.torch_module (README, 'The PyTorch export')"
)


def torch_source(
    architecture: Architecture,
    pooling: PoolingKind = "max",
    *,
    source: str | None = None,
    rank: int | None = None,
) -> str:
    """Return ``architecture`` as the source of a standalone PyTorch module ``Net``.

    ``source`` names the file the architecture was read from and ``rank`` the recommendation of
    a result it is, for the header; the header also gives the advisor's version, the design,
    its parameters, multiply-adds and activations, and says the weights are untrained.

    Raises
    ------
    InvalidRequestError
        On ``architecture`` when it is no :class:`Architecture`, on ``pooling`` when it is not
        ``"max"`` or ``"avg"``, on ``mixture`` for a mixture (:func:`advisor.torch_module`
        builds it).
    """
    require_instance(architecture, Architecture, "architecture")
    check_pooling(pooling)
    if architecture.mixture is not None:
        raise InvalidRequestError.single("mixture", _MIXTURE)
    spec = architecture.input
    ndim = spec.ndim
    input_shape = (spec.channels, *spec.shape)
    unpadded = " without the padding the module adds" if any(input_pads(architecture)) else ""
    return _TEMPLATE.format(
        header=_header(architecture, pooling, source, rank),
        input_shape=_tuple(input_shape),
        permutation=_permutation_literal(input_permutation(architecture).tolist()),
        pad=f"nn.ConstantPad{ndim}d({_tuple(input_pads(architecture))}, 0.0)",
        conv=f"nn.Conv{ndim}d({spec.channels}, {architecture.representation}, "
        f"kernel_size={architecture.representation_kernel})",
        hidden="".join(_hidden_layers(architecture, pooling)),
        output=f"nn.Linear({architecture.widths[-1]}, {architecture.outputs})",
        outputs=architecture.outputs,
        unpadded=unpadded,
    )


def _header(
    architecture: Architecture, pooling: PoolingKind, source: str | None, rank: int | None
) -> str:
    """Return the comment that opens the file: what it is, where from, what it costs."""
    geometry = architecture.geometry
    geometry_name = geometry if isinstance(geometry, str) else family_of(geometry).name
    spec = architecture.input
    paragraphs = [
        f"A network written by the architecture advisor {__version__} (advisor export), "
        "as standalone PyTorch source: it imports torch alone.",
        f"architecture: family {architecture.family or 'custom'}, geometry {geometry_name}, "
        f"input {'x'.join(map(str, spec.shape))} ({spec.channels} channel"
        f"{'' if spec.channels == 1 else 's'}); "
        f"{', '.join(shape_summary(architecture))}; {pooling} pooling",
        f"parameters: {architecture.parameters:,}; multiply-adds per input: "
        f"{architecture.multiply_adds:,}; {activations_text(architecture.activations)}",
    ]
    if source is not None:
        chosen = "" if rank is None else f", its recommendation of rank {rank}"
        paragraphs.append(f"source: {printable(source)}{chosen}")
    paragraphs.append(
        "The weights are untrained (PyTorch's default initialisation). The state_dict has the "
        "keys and shapes of the advisor's torch_module(architecture), so trained weights load "
        "into either from the other."
    )
    return "".join(
        textwrap.fill(text, _LINE, initial_indent="# ", subsequent_indent="#   ") + "\n"
        for text in paragraphs
    )


def _hidden_layers(architecture: Architecture, pooling: PoolingKind) -> Iterator[str]:
    """Yield the hidden layers' lines: per layer a 1x1 conv, ReLU and the pooling."""
    ndim = architecture.input.ndim
    pool = f"{pooling.capitalize()}Pool{ndim}d"
    fan_in = architecture.representation
    for layer in architecture.layers:
        yield f"            nn.Conv{ndim}d({fan_in}, {layer.channels}, kernel_size=1),\n"
        yield "            nn.ReLU(),\n"
        yield (
            f"            nn.{pool}(kernel_size={_tuple(layer.pool)}, "
            f"stride={_tuple(layer.step)}),\n"
        )
        fan_in = layer.channels


def _tuple(values: Sequence[int]) -> str:
    """Write ``values`` as a tuple literal: ``(2,)`` for one."""
    return f"({values[0]},)" if len(values) == 1 else f"({', '.join(map(str, values))})"


def _permutation_literal(permutation: Sequence[int]) -> str:
    """Write ``permutation`` as a list display, each run as a starred ``range``, lines wrapped.

    A run is :data:`_RUN` or more numbers in arithmetic progression: a contiguous or mirror
    grid's permutation is a few runs per row, where a list of numbers took 1,024 of them for a
    32x32 grid. Lines are at most :data:`_LINE` characters, each item whole.
    """
    lines: list[str] = []
    line = ""
    for item in _runs(permutation):
        if line and len(line) + len(item) + 2 > _LINE:
            lines.append(line)
            line = ""
        line = f"{line} {item}," if line else f"    {item},"
    lines.append(line)
    return "[\n" + "\n".join(lines) + "\n]"


def _runs(permutation: Sequence[int]) -> Iterator[str]:
    """Yield the items of :func:`_permutation_literal`: numbers, and ``*range(...)`` for runs."""
    start = 0
    while start < len(permutation):
        step = permutation[start + 1] - permutation[start] if start + 1 < len(permutation) else 0
        stop = start + 1
        while stop < len(permutation) and permutation[stop] - permutation[stop - 1] == step:
            stop += 1
        if stop - start < _RUN:
            yield str(permutation[start])
            start += 1
            continue
        first, end = permutation[start], permutation[stop - 1] + step
        yield f"*range({first}, {end})" if step == 1 else f"*range({first}, {end}, {step})"
        start = stop


_TEMPLATE: Final = '''\
{header}"""A recommended network as a PyTorch module: ``Net``, and ``build()`` to make one."""

from __future__ import annotations

import torch
from torch import nn

INPUT_SHAPE = {input_shape}
"""One input's (channels, *grid), without the padding the net adds."""

PERMUTATION = {permutation}
"""The pooling geometry: position p of the grid the layers pool holds location PERMUTATION[p]."""


class Net(nn.Module):
    """The recommended network, taking (batch, *INPUT_SHAPE) and returning (batch, {outputs}).

    1. Representation: the input zero-padded, a conv to the representation channels, ReLU.
    2. Geometry: the locations gathered by the buffer ``permutation`` (saved in the
       state_dict), so the plain pooling below pools the recommended windows; skipped while it
       is the identity.
    3. Hidden layers: a 1x1 conv, ReLU and pooling each.
    4. Output: a linear layer to the scores (logits).
    """

    permutation: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.representation = nn.Sequential(
            {pad},
            {conv},
            nn.ReLU(),
        )
        self.register_buffer("permutation", torch.tensor(PERMUTATION, dtype=torch.int64))
        self.hidden = nn.Sequential(
{hidden}        )
        self.output = {output}
        self.gathers = _gathers(self.permutation)
        self.register_load_state_dict_post_hook(_after_load)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Score a batch (batch, *INPUT_SHAPE); returns (batch, {outputs})."""
        _check_inputs(inputs, self.output.weight.dtype)
        features = self.representation(inputs)
        if self.gathers:
            flat = features.flatten(2)[:, :, self.permutation]
            features = flat.reshape(features.shape)
        features = self.hidden(features)
        output: torch.Tensor = self.output(features.flatten(1))
        return output


def build() -> Net:
    """Return a new ``Net`` with untrained weights (PyTorch's default initialisation)."""
    return Net()


def _gathers(permutation: torch.Tensor) -> bool:
    """Return whether ``permutation`` moves a location: the identity's gather is a copy only.

    A buffer on the meta device holds no values to compare, and is kept as a gather.
    """
    identity = torch.arange(len(permutation), device=permutation.device)
    return permutation.is_meta or not torch.equal(permutation, identity)


def _after_load(module: nn.Module, incompatible: object) -> None:
    """Find again whether the loaded permutation gathers: a load_state_dict post-hook."""
    assert isinstance(module, Net)
    module.gathers = _gathers(module.permutation)


def _check_inputs(inputs: torch.Tensor, dtype: torch.dtype) -> None:
    """Refuse a batch that is not (batch, *INPUT_SHAPE) of the module's ``dtype``.

    Tracers that record no Python branch (torch.jit.trace, torch.fx) skip the check; under
    torch.autocast any floating dtype passes.
    """
    if torch.jit.is_tracing() or isinstance(inputs, torch.fx.Proxy):
        return
    expected = ", ".join(map(str, INPUT_SHAPE))
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(
            f"inputs: expected a torch.Tensor of shape (batch, {{expected}}); got "
            f"{{type(inputs).__name__}} (convert it with torch.as_tensor)"
        )
    if inputs.dim() != len(INPUT_SHAPE) + 1 or tuple(inputs.shape[1:]) != INPUT_SHAPE:
        raise ValueError(
            f"inputs: expected (batch, {{expected}}), i.e. (batch, channels, *input.shape)"
            f"{unpadded}; got {{tuple(inputs.shape)}}"
        )
    floating = inputs.is_floating_point()
    if inputs.dtype == dtype or (floating and torch.is_autocast_enabled(inputs.device.type)):
        return
    module = f", or the module with module.to({{inputs.dtype}})" if floating else ""
    raise TypeError(
        f"inputs: expected dtype {{dtype}}, the module's; got {{inputs.dtype}} "
        f"(convert the batch with inputs.to({{dtype}}){{module}})"
    )
'''
"""The file's text; each field is filled from the architecture (:func:`torch_source`)."""
