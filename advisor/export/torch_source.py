"""A recommended architecture as standalone PyTorch source: ``advisor export``'s file.

:func:`torch_source` writes one Python file defining ``class Net(torch.nn.Module)`` and ``def
build() -> Net``, importing torch alone, so a net is read, edited and trained without the
advisor installed. ``Net`` computes what :class:`advisor.export.torch_net.ConvNet` computes (a
mixture's, :class:`advisor.export.torch_mixture.MixtureNet`), with the same ``state_dict`` keys
and shapes, so weights load from either into the other. Writing it needs no torch: the layers
are spelt out from the architecture, the geometry's gathers as literal permutations.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping, Sequence
from typing import Final, get_args

import numpy as np

from advisor.errors import InvalidRequestError
from advisor.export.document import PoolingKind, check_pooling, dilations_contradiction
from advisor.export.margins import input_pads
from advisor.export.mixture_gathers import mixture_gathers
from advisor.geometry.layouts import dilation_order, geometry_permutation, input_permutation
from advisor.model.architecture import Architecture
from advisor.model.arguments import require_instance
from advisor.model.geometries import (
    DilationGeometry,
    Geometry,
    NamedGeometry,
    PermutationGeometry,
    applies_to,
    family_of,
)
from advisor.model.mixture import Mixture, member_geometries, member_widths
from advisor.model.results import shape_summary
from advisor.model.schedule import Schedule
from advisor.model.text import activations_text, tree_name
from advisor.stdout import printable
from advisor.version import __version__
from advisor.words import counted

__all__ = ["torch_source"]

_LINE: Final = 96
"""The longest line written for the permutation (ruff's 100, less some slack)."""

_INLINE: Final = 48
"""The longest list display written on the caller's line: short enough beside a buffer's name."""

_RUN: Final = 4
"""The fewest numbers in arithmetic progression written as one ``range``."""

_INDENT: Final = "    "
"""One level of the written source's indentation."""


def torch_source(
    architecture: Architecture,
    pooling: PoolingKind = "max",
    *,
    source: str | None = None,
    rank: int | None = None,
    dilations: Sequence[int] | None = None,
) -> str:
    """Return ``architecture`` as the source of a standalone PyTorch module ``Net``.

    ``source`` names the file the architecture was read from, ``rank`` the recommendation of
    a result it is and ``dilations`` that recommendation's dilation order
    (``Recommendation.dilations``, which its permutation does not show), for the header; the
    header also gives the advisor's version, the design, its parameters, multiply-adds and
    activations, and says the weights are untrained. A tree's
    ``Net`` is :class:`~advisor.export.torch_net.ConvNet`'s network, a mixture's
    :class:`~advisor.export.torch_mixture.MixtureNet`'s.

    Raises
    ------
    InvalidRequestError
        On ``architecture`` when it is no :class:`Architecture`, on ``pooling`` when it is not
        ``"max"`` or ``"avg"``, on ``dilations`` when it is no dilation order whose permutation
        is the architecture's.
    """
    require_instance(architecture, Architecture, "architecture")
    check_pooling(pooling)
    if dilations is not None:
        contradiction = dilations_contradiction(architecture, dilations, "dilations")
        if contradiction:
            raise InvalidRequestError(contradiction)
    spec = architecture.input
    pads = input_pads(architecture)
    shared = {
        "representation": _REPRESENTATION.format(
            ndim=spec.ndim,
            padding=_padding_layer(spec.ndim, pads),
            channels=spec.channels,
            representation=architecture.representation,
            kernel=architecture.representation_kernel,
        ),
        "output": f"nn.Linear({architecture.widths[-1]}, {architecture.outputs})",
        "outputs": str(architecture.outputs),
        "methods": _NET_METHODS,
        "declared": _NET_ATTRIBUTES,
    }
    mixture = architecture.mixture
    gathers, net = (
        _tree(architecture, pooling, shared)
        if mixture is None
        else _mixture(architecture, mixture, pooling, shared)
    )
    unpadded = " without the padding the module adds" if any(pads) else ""
    return _TEMPLATE.format(
        header=_header(architecture, pooling, source, rank, _said_order(architecture, dilations)),
        input_shape=_tuple((spec.channels, *spec.shape)),
        imports="from typing import cast\n\n" if mixture is not None else "",
        gathers=gathers,
        net=net,
        unpadded=unpadded,
    )


def _tree(
    architecture: Architecture, pooling: PoolingKind, shared: Mapping[str, str]
) -> tuple[str, str]:
    """Return a tree's gather (``PERMUTATION``) and its ``Net`` class, as ``ConvNet`` builds."""
    permutation = _permutation_literal(input_permutation(architecture).tolist())
    hidden = "".join(
        _layer_lines(architecture, architecture.widths, level, pooling, _INDENT * 3)
        for level in range(len(architecture.layers))
    )
    return _TREE_GATHER.format(permutation=permutation), _TREE_NET.format(**shared, hidden=hidden)


def _mixture(
    architecture: Architecture, mixture: Mixture, pooling: PoolingKind, shared: Mapping[str, str]
) -> tuple[str, str]:
    """Return a mixture's gathers (``GATHERS``, ``MIXING``) and ``Net``, as MixtureNet builds."""
    depth = len(architecture.layers)
    entries = "".join(
        f'{_INDENT}"{name}": {_permutation_literal(gather.tolist(), _INDENT)},\n'
        for name, gather in mixture_gathers(architecture).items()
    )
    members = "".join(
        _member_lines(architecture, member, widths, pooling)
        for member, widths in enumerate(member_widths(architecture.widths, mixture))
    )
    gathers = _MIXTURE_GATHERS.format(entries=entries, mixing=_tuple((*mixture.mixing, depth)))
    net = _MIXTURE_NET.format(
        **shared, members=members, count=len(mixture.members) + 1, depth=depth
    )
    return gathers, net


def _member_lines(
    architecture: Architecture, member: int, widths: Sequence[int], pooling: PoolingKind
) -> str:
    """Return ``members[member]``'s lines: an ``nn.Sequential`` of one per level's layers."""
    levels = "".join(
        f"{_INDENT * 5}nn.Sequential(\n"
        f"{_layer_lines(architecture, widths, level, pooling, _INDENT * 6)}"
        f"{_INDENT * 5}),\n"
        for level in range(len(architecture.layers))
    )
    return f"{_INDENT * 4}nn.Sequential(  # member {member}\n{levels}{_INDENT * 4}),\n"


def _header(
    architecture: Architecture,
    pooling: PoolingKind,
    source: str | None,
    rank: int | None,
    dilations: Sequence[int] | None,
) -> str:
    """Return the comment that opens the file: what it is, where from, what it costs."""
    spec = architecture.input
    paragraphs = [
        f"A network written by the architecture advisor {__version__} (advisor export), "
        "as standalone PyTorch source: it imports torch alone.",
        f"architecture: family {architecture.family or 'custom'}, "
        f"geometry {_geometry_name(architecture.geometry)}, "
        f"input {'x'.join(map(str, spec.shape))} ({counted(spec.channels, 'channel')}); "
        f"{', '.join(shape_summary(architecture, dilations))}; {pooling} pooling",
        f"parameters: {architecture.parameters:,}; multiply-adds per input: "
        f"{architecture.multiply_adds:,}; {activations_text(architecture.activations)}",
    ]
    if architecture.mixture is not None:
        paragraphs.append(_members_line(architecture, architecture.mixture))
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


def _said_order(
    architecture: Architecture, dilations: Sequence[int] | None
) -> Sequence[int] | None:
    """Return the dilation order the header says: the recommendation's, else the design's own.

    A ``dilations`` design saved alone (its ``architecture`` without the recommendation) or in a
    result whose ``dilations`` is null holds its order only in its permutation, which the
    header then reads it from, as a mixture's members (:func:`_members_line`); a geometry
    written as ``{dilations: [...]}`` says it as its geometry (:func:`_geometry_name`).
    """
    geometry = architecture.geometry
    if dilations is not None or architecture.family != "dilations":
        return dilations
    if not isinstance(geometry, PermutationGeometry):
        return None
    return dilation_order(architecture.schedule, geometry.permutation)


def _members_line(architecture: Architecture, mixture: Mixture) -> str:
    """Return the header's line on a mixture's members: each one's tree and widths.

    Each member is named as the mixture's summary names it (``0: contiguous tree``, ``1: dilated
    tree of dilations 2, 4, 8, 1``), its family read from its geometry: a result's members are
    written-out permutations, which said ``geometry permutation`` alone. A permutation no
    family lays out is said as such (``geometry permutation``).
    """
    members = zip(
        member_geometries(architecture.geometry, mixture),
        member_widths(architecture.widths, mixture),
        strict=True,
    )
    said = [
        f"{index}: {_member_name(geometry, architecture.schedule)}, "
        f"widths {' '.join(map(str, widths))}"
        for index, (geometry, widths) in enumerate(members)
    ]
    return "members: " + "; ".join(said)


def _member_name(geometry: Geometry, schedule: Schedule) -> str:
    """Name a member's tree by its family (:func:`tree_name`), or say its geometry's name.

    A permutation is the first named family's that lays out the same one on ``schedule``
    (simplest first, as :data:`FAMILIES` lists them), else a dilation order's.
    """
    if isinstance(geometry, DilationGeometry):
        return tree_name("dilations", geometry.dilations)
    if isinstance(geometry, str):
        return tree_name(geometry)
    for named in get_args(NamedGeometry):
        if applies_to(named, schedule) and np.array_equal(
            geometry_permutation(named, schedule), geometry.permutation
        ):
            return tree_name(named)
    order = dilation_order(schedule, geometry.permutation)
    return "geometry permutation" if order is None else tree_name("dilations", order)


def _geometry_name(geometry: Geometry) -> str:
    """Return a geometry's name: its own, or its family's for a written-out one.

    A written-out dilation order is said whole (``dilations 8 1 2 4``): its family's name
    alone left the header without the order the file's permutation encodes.
    """
    if isinstance(geometry, DilationGeometry):
        return f"dilations {' '.join(map(str, geometry.dilations))}"
    return geometry if isinstance(geometry, str) else family_of(geometry).name


def _layer_lines(
    architecture: Architecture,
    widths: Sequence[int],
    level: int,
    pooling: PoolingKind,
    indent: str,
) -> str:
    """Return hidden layer ``level``'s lines with these ``widths``: a 1x1 conv, ReLU, pooling."""
    ndim = architecture.input.ndim
    layer = architecture.layers[level]
    fan_in = architecture.representation if level == 0 else widths[level - 1]
    return (
        f"{indent}nn.Conv{ndim}d({fan_in}, {widths[level]}, kernel_size=1),\n"
        f"{indent}nn.ReLU(),\n"
        f"{indent}nn.{pooling.capitalize()}Pool{ndim}d(kernel_size={_tuple(layer.pool)}, "
        f"stride={_tuple(layer.step)}),\n"
    )


def _padding_layer(ndim: int, pads: Sequence[int]) -> str:
    """Write the representation's padding: ``nn.ConstantPad2d(...)``, or ``nn.Identity()``.

    A net that pads nothing keeps a layer in its place, as ``torch_module``'s does
    (:func:`advisor.export.torch_net.representation_layer`), so the conv is
    ``representation[1]`` and the ``state_dict`` keys are every net's.
    """
    return f"nn.ConstantPad{ndim}d({_tuple(pads)}, 0.0)" if any(pads) else "nn.Identity()"


def _tuple(values: Sequence[int]) -> str:
    """Write ``values`` as a tuple literal: ``(2,)`` for one."""
    return f"({values[0]},)" if len(values) == 1 else f"({', '.join(map(str, values))})"


def _permutation_literal(permutation: Sequence[int], indent: str = "") -> str:
    """Write ``permutation`` as a list display, each run as a starred ``range``, lines wrapped.

    A run is :data:`_RUN` or more numbers in arithmetic progression: a contiguous or mirror
    grid's permutation is a few runs per row, where a list of numbers took 1,024 of them for a
    32x32 grid. Lines are at most :data:`_LINE` characters, each item whole; the display's
    lines are indented by ``indent`` (the first is the caller's). A display that fits in
    :data:`_INLINE` characters stays on the caller's line (``[0, 1]``, ``[*range(64)]``).
    """
    items = list(_runs(permutation))
    if len(inline := f"[{', '.join(items)}]") <= _INLINE:
        return inline
    lines: list[str] = []
    line = ""
    for item in items:
        if line and len(line) + len(item) + 2 > _LINE:
            lines.append(line)
            line = ""
        line = f"{line} {item}," if line else f"{indent}{_INDENT}{item},"
    lines.append(line)
    return "[\n" + "\n".join(lines) + f"\n{indent}]"


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
        yield f"*range({_range_arguments(first, end, step)})"
        start = stop


def _range_arguments(first: int, end: int, step: int) -> str:
    """Write the arguments of ``range`` from ``first`` to ``end`` by ``step``, defaults left out.

    ``range(16)``, not ``range(0, 16)``: ruff flags the start 0 as unnecessary (PIE808).
    """
    if step != 1:
        return f"{first}, {end}, {step}"
    return f"{end}" if first == 0 else f"{first}, {end}"


_TEMPLATE: Final = '''\
{header}"""A recommended network as a PyTorch module: ``Net``, and ``build()`` to make one."""

from __future__ import annotations

{imports}import torch
from torch import nn

INPUT_SHAPE = {input_shape}
"""One input's (channels, *grid), without the padding the net adds."""

{gathers}


{net}

def build() -> Net:
    """Return a new ``Net`` with untrained weights (PyTorch's default initialisation)."""
    return Net()


def _find_identities(net: Net) -> None:
    """Record which of the net's gather buffers are the identity (a copy, skipped): in
    net.identities, and each buffer then, with its version counter, in net.found.

    A buffer on the meta device holds no values to compare, and is kept as a gather. Each is
    checked to be a permutation of its grid's locations (_check_gather).
    """
    buffers = dict(net.named_buffers(recurse=False))
    for name, buffer in buffers.items():
        _check_gather(name, buffer, len(buffer))
    net.identities = frozenset(
        name
        for name, buffer in buffers.items()
        if not buffer.is_meta
        and torch.equal(buffer, torch.arange(len(buffer), device=buffer.device))
    )
    net.found = {{name: (buffer, buffer._version) for name, buffer in buffers.items()}}


def _refresh(net: Net) -> None:
    """Find the identities again if a gather buffer changed since: replaced, or by copy_.

    A call torch.compile or torch.jit.trace records skips it: its graph keeps its gathers.
    """
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return
    found = net.found
    if any(
        name not in found or found[name][0] is not buffer or found[name][1] != buffer._version
        for name, buffer in net.named_buffers(recurse=False)
    ):
        _find_identities(net)


def _check_gather(name: str, gather: torch.Tensor, size: int) -> None:
    """Refuse a gather buffer that is no permutation of a grid of ``size`` locations.

    A checkpoint of zeros ran every location as the first, and an identity of another length
    skipped the gather.
    """
    problem = None
    if gather.dim() != 1 or len(gather) != size:
        problem = f"holds shape {{tuple(gather.shape)}}, not the {{size}} locations of its grid"
    elif gather.dtype not in (torch.int64, torch.int32):  # torch reads uint8, bool as masks
        problem = f"holds {{gather.dtype}}, not location ids (torch.int64)"
    elif not gather.is_meta and size:
        low, high = int(gather.min()), int(gather.max())
        counts = torch.bincount(gather.to(torch.int64).clamp(0, size - 1), minlength=size)
        if low < 0 or high >= size:
            problem = f"holds {{low if low < 0 else high}}, outside the locations 0..{{size - 1}}"
        elif not bool((counts == 1).all()):
            missing = int(torch.nonzero(counts == 0)[0])
            problem = (
                f"is no permutation of 0..{{size - 1}}: location {{missing}} is missing, "
                "another repeats"
            )
    if problem is not None:
        raise ValueError(f"{{name}}: {{problem}}")


def _after_load(module: nn.Module, incompatible: object) -> None:
    """Find again which loaded gathers are the identity: a load_state_dict post-hook."""
    assert isinstance(module, Net)
    _find_identities(module)


def _gather(net: Net, flat: torch.Tensor, name: str) -> torch.Tensor:
    """Gather the last axis of ``flat`` by the net's buffer ``name``, unless the identity."""
    return flat if name in net.identities else flat[:, :, net.get_buffer(name)]


def _check_inputs(inputs: torch.Tensor, dtype: torch.dtype) -> None:
    """Refuse a batch that is not (batch, *INPUT_SHAPE) of the module's ``dtype``.

    Tracers that record no Python branch (torch.jit.trace, torch.fx) skip the check; under
    torch.autocast any floating dtype passes but float64, which autocast never casts.
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
    cast = floating and torch.float64 not in (inputs.dtype, dtype)  # autocast casts no float64
    autocast = torch.is_autocast_enabled(inputs.device.type)
    if inputs.dtype == dtype or (cast and autocast):
        return
    # Under autocast a module made float64 would run the whole net in float64: not advised.
    other = floating and not autocast
    module = f", or the module with module.to({{inputs.dtype}})" if other else ""
    raise TypeError(
        f"inputs: expected dtype {{dtype}}, the module's; got {{inputs.dtype}} "
        f"(convert the batch with inputs.to({{dtype}}){{module}})"
    )
'''
"""The file's text: the gathers and ``Net`` are a tree's or a mixture's (:func:`torch_source`)."""

_REPRESENTATION: Final = """\
nn.Sequential(
            {padding},
            nn.Conv{ndim}d({channels}, {representation}, kernel_size={kernel}),
            nn.ReLU(),
        )"""
"""The representation layers, a tree's and a mixture's ``Net`` alike: padding, conv, ReLU.

The padding is :func:`_padding_layer`'s, ``nn.Identity()`` for a net that pads nothing.

Written after ``self.representation = `` in ``Net.__init__``, hence its indentation."""

_NET_ATTRIBUTES: Final = """    identities: frozenset[str]
    found: dict[str, tuple[torch.Tensor, int]]
"""
"""The attributes ``_find_identities`` sets, declared in ``Net``'s body: undeclared, a type
checker read them through ``nn.Module.__getattr__`` as tensors or modules (six mypy errors in a
file otherwise typed throughout)."""

_NET_METHODS: Final = '''
    def __setattr__(self, name: str, value: torch.Tensor | nn.Module) -> None:
        """Set an attribute; a gather buffer assigned is looked at again: identity or not.

        One that is no permutation of the grid the one before gathered is refused.
        """
        if name in self._buffers and isinstance(value, torch.Tensor):
            _check_gather(name, value, len(self.get_buffer(name)))
        super().__setattr__(name, value)
        if name in self._buffers:
            _find_identities(self)

    def __prepare_scriptable__(self) -> nn.Module:
        """Refuse torch.jit.script, which calls this first: Net is not TorchScript."""
        raise NotImplementedError(
            "torch.jit.script: Net is not written in TorchScript's subset; use torch.compile, "
            "torch.export.export, torch.jit.trace or torch.fx.symbolic_trace "
            "(the architecture advisor's README, 'The PyTorch export')"
        )
'''
"""The methods of a tree's and a mixture's ``Net`` alike, after ``__init__``.

An assigned gather buffer is looked at again as ``GatherNet`` does (so a graph torch.compile
captured, which guards on ``identities``, is captured again).

``torch.jit.script`` failed deep in the file (``Unknown type annotation: 'torch.Tensor'``, a
mixture's ``import statements aren't supported``); it is refused as ``NotScriptable`` refuses it.
"""

_TREE_GATHER: Final = '''\
# fmt: off
PERMUTATION = {permutation}
"""The pooling geometry: position p of the pooled grid holds location PERMUTATION[p]."""
# fmt: on'''
"""A tree's gather, the buffer ``permutation``.

Kept from formatters (``fmt: off``): for the trailing comma of the list, ruff's and black's
wrote each number on a line of its own, 16,384 lines for a 16x32x32 grid."""

_TREE_NET: Final = '''\
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
{declared}
    def __init__(self) -> None:
        super().__init__()
        self.representation = {representation}
        self.register_buffer("permutation", torch.tensor(PERMUTATION, dtype=torch.int64))
        self.hidden = nn.Sequential(
{hidden}        )
        self.output = {output}
        _find_identities(self)
        self.register_load_state_dict_post_hook(_after_load)
{methods}
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Score a batch (batch, *INPUT_SHAPE); returns (batch, {outputs})."""
        _check_inputs(inputs, self.output.weight.dtype)
        _refresh(self)
        features = self.representation(inputs)
        features = _gather(self, features.flatten(2), "permutation").reshape(features.shape)
        features = self.hidden(features)
        output: torch.Tensor = self.output(features.flatten(1))
        return output
'''
"""A tree's ``Net``: ``ConvNet``'s layers and buffer."""

_MIXTURE_GATHERS: Final = '''\
# fmt: off
GATHERS = {{
{entries}}}
"""The gather buffers by name. gather_m is member m's pooling geometry: position p of the grid
its layers pool holds location GATHERS["gather_m"][p]. Where the members' maps are summed, the
i-th level of MIXING, to_canonical_m_i[c] is member m's position of the node at member 0's
position c, and from_canonical_m_i is its inverse."""

MIXING = {mixing}
"""The levels after whose pooling the members' maps are summed node by node, the root last."""
# fmt: on'''
"""A mixture's gathers, ``mixture_gathers``'s buffers, and its summing levels, kept from
formatters as a tree's gather is (:data:`_TREE_GATHER`)."""

_MIXTURE_NET: Final = '''\
class Net(nn.Module):
    """A mixture of {count} member networks, taking (batch, *INPUT_SHAPE) to (batch, {outputs}).

    1. Representation, shared: the input zero-padded, a conv to the representation channels,
       ReLU.
    2. Geometry, per member m: the locations gathered by the buffer ``gather_m``, so the plain
       pooling of its layers pools its windows; skipped while it is the identity.
    3. Hidden layers, per member: members[m][level] is a 1x1 conv, ReLU and pooling.
    4. After each level in MIXING, the members' maps summed node by node: each gathered into
       member 0's order (``to_canonical_m_i``), summed, and every member going on from the sum
       gathered back into its own order (``from_canonical_m_i``).
    5. Output, shared: a linear layer from the root's sum to the scores (logits).
    """

{declared}
    def __init__(self) -> None:
        super().__init__()
        self.representation = {representation}
        for name, gather in GATHERS.items():
            self.register_buffer(name, torch.tensor(gather, dtype=torch.int64))
        self.members = nn.ModuleList(
            [
{members}            ]
        )
        self.output = {output}
        _find_identities(self)
        self.register_load_state_dict_post_hook(_after_load)
{methods}
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Score a batch (batch, *INPUT_SHAPE); returns (batch, {outputs})."""
        _check_inputs(inputs, self.output.weight.dtype)
        _refresh(self)
        features = self.representation(inputs)
        flat = features.flatten(2)
        maps = [
            _gather(self, flat, f"gather_{{m}}").reshape(features.shape)
            for m in range(len(self.members))
        ]
        for level in range({depth}):
            maps = [
                cast(nn.Sequential, layers)[level](own)
                for layers, own in zip(self.members, maps, strict=True)
            ]
            if level + 1 in MIXING:
                maps = self._summed(MIXING.index(level + 1), maps)
        output: torch.Tensor = self.output(maps[0].flatten(1))
        return output

    def _summed(self, index: int, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        """Sum the maps node by node at MIXING[index]; return the sum in each member's order."""
        shape = maps[0].shape
        canonical = [
            _gather(self, own.flatten(2), f"to_canonical_{{m}}_{{index}}")
            for m, own in enumerate(maps)
        ]
        total = torch.stack(canonical).sum(dim=0)
        return [
            _gather(self, total, f"from_canonical_{{m}}_{{index}}").reshape(shape)
            for m in range(len(maps))
        ]
'''
"""A mixture's ``Net``: ``MixtureNet``'s layers and buffers."""
