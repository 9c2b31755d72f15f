"""docs/FORMATS.md §2 says how to build a recommended net from its document in another framework.

An engineer writing the net in Keras or JAX has the JSON document and that page alone. These
tests build the net from the document exactly as the page says, in plain tensor operations, and
check that it computes what ``torch_module`` computes from the same weights; and that the page
states each step they follow, so a reader is told what the export does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from advisor.export.document import torch_module
from advisor.geometry.layouts import input_permutation
from advisor.model.architecture import architecture_document, parse_architecture

torch = pytest.importorskip("torch")
functional = torch.nn.functional

_FORMATS = Path(__file__).resolve().parent.parent / "docs" / "FORMATS.md"


def _formats() -> str:
    """Return docs/FORMATS.md with its line breaks and runs of spaces read as one space."""
    return " ".join(_FORMATS.read_text(encoding="utf-8").split())


def _weights(module: Any) -> list[tuple[Any, Any]]:
    """Return the module's (weight, bias) pairs in the order the document lists the layers."""
    parameters = list(module.parameters())
    return list(zip(parameters[::2], parameters[1::2], strict=True))


def _represent(document: dict[str, Any], weights: tuple[Any, Any], inputs: Any) -> Any:
    """Steps 1 and 2: zero-pad by ``padding``, then the 'same' representation conv and ReLU."""
    shape = document["input"]["shape"]
    kernel = document.get("representation_kernel", 1)
    margins = document.get("padding") or [[0, 0]] * len(shape)
    pads = [
        pad
        for before, after in reversed(margins)  # torch lists the last axis first
        for pad in (before + (kernel - 1) // 2, after + kernel // 2)
    ]
    conv = getattr(functional, f"conv{len(shape)}d")
    return functional.relu(conv(functional.pad(inputs, pads), *weights))


def _gather(features: Any, permutation: list[int]) -> Any:
    """Step 3: position p of the row-major flattened grid takes location ``permutation[p]``."""
    return features.flatten(2)[:, :, torch.tensor(permutation)].reshape(features.shape)


def _level(document: dict[str, Any], level: int, weights: tuple[Any, Any], features: Any) -> Any:
    """Step 4: the layer's 1x1 conv and ReLU, then max pooling over ``pool`` by ``stride``."""
    layer = document["layers"][level]
    ndim = len(document["input"]["shape"])
    conv = getattr(functional, f"conv{ndim}d")
    pool = getattr(functional, f"max_pool{ndim}d")
    activated = functional.relu(conv(features, *weights))
    return pool(activated, layer["pool"], layer.get("stride", layer["pool"]))


def _assert_builds_the_export(
    document: dict[str, Any], build: Callable[[dict[str, Any], list[tuple[Any, Any]], Any], Any]
) -> None:
    """``build(document, weights, inputs)`` from the export's weights gives its outputs."""
    architecture = parse_architecture(document)
    torch.manual_seed(0)
    module = torch_module(architecture).double()
    inputs = torch.randn(3, architecture.input.channels, *architecture.input.shape).double()
    with torch.no_grad():
        built = build(document, _weights(module), inputs)
        np.testing.assert_allclose(built.numpy(), module(inputs).numpy(), rtol=1e-12, atol=1e-12)


def _tree(document: dict[str, Any], weights: list[tuple[Any, Any]], inputs: Any) -> Any:
    """The tree the document describes, step by step as docs/FORMATS.md §2 lists them."""
    represented = _represent(document, weights[0], inputs)
    features = _gather(represented, document["geometry"]["permutation"])
    for level in range(len(document["layers"])):
        features = _level(document, level, weights[1 + level], features)
    weight, bias = weights[-1]
    return features.flatten(1) @ weight.T + bias  # step 5: the linear output layer


def _trees() -> list[dict[str, Any]]:
    """Trees that exercise every step: padding, even and odd kernels, 1-3 axes, strides."""
    documents: list[dict[str, Any]] = [
        {
            "input": {"shape": [15, 15], "channels": 2},
            "representation": 4,
            "representation_kernel": kernel,
            "layers": [{"channels": 3, "pool": [2, 2]}] * 2 + [{"channels": 5, "pool": [4, 4]}],
            "geometry": "mirror",
            "padding": [[0, 1], [0, 1]],
            "outputs": 3,
        }
        for kernel in (1, 2, 3, 4)
    ]
    documents += [
        {
            "input": {"shape": [13]},
            "representation": 4,
            "representation_kernel": 2,
            "layers": [{"channels": 3, "pool": [2]}] * 4,
            "geometry": "interleaved",
            "padding": [[1, 2]],
        },
        {
            "input": {"shape": [2, 7, 7], "channels": 3},
            "representation": 4,
            "representation_kernel": 3,
            "layers": [{"channels": 3, "pool": [2, 2, 2]}, {"channels": 2, "pool": [1, 4, 4]}],
            "geometry": "mirror",
            "padding": [[0, 0], [0, 1], [1, 0]],
            "outputs": 2,
        },
        {
            "input": {"shape": [8, 8]},
            "representation": 4,
            "layers": [
                {"channels": 3, "pool": [4, 4], "stride": [2, 2]},
                {"channels": 2, "pool": [3, 3]},
            ],
        },
    ]
    return [_as_recommended(document) for document in documents]


def _as_recommended(document: dict[str, Any]) -> dict[str, Any]:
    """Return ``document`` as a recommendation writes it: every geometry an explicit permutation."""
    architecture = parse_architecture(document)

    def explicit(geometry: Any) -> dict[str, list[int]]:
        alone = architecture.model_copy(update={"geometry": geometry, "mixture": None})
        return {"permutation": [int(p) for p in input_permutation(alone)]}

    written = architecture_document(architecture)
    written["geometry"] = explicit(architecture.geometry)
    if architecture.mixture is not None:
        entries = written["mixture"]["members"]
        for member, entry in zip(architecture.mixture.members, entries, strict=True):
            entry["geometry"] = explicit(member.geometry)
    return written


@pytest.mark.torch
@pytest.mark.parametrize("document", _trees())
def test_a_tree_built_from_its_document_as_formats_md_says_is_the_export(
    document: dict[str, Any],
) -> None:
    _assert_builds_the_export(document, _tree)


def _node_keys(document: dict[str, Any], permutation: list[int], level: int) -> list[Any]:
    """The input locations each node of a member's map pools after ``level`` poolings, in order.

    Position p of the member's gathered grid holds location ``permutation[p]``; a mixture's
    windows do not overlap, so the node over p after ``level`` poolings is p's coordinates divided
    by the product of the windows so far.
    """
    grid = [
        size + before + after
        for size, (before, after) in zip(
            document["input"]["shape"],
            document.get("padding") or [[0, 0]] * len(document["input"]["shape"]),
            strict=True,
        )
    ]
    span = np.prod([layer["pool"] for layer in document["layers"][:level]], axis=0)
    coordinates = np.array(np.unravel_index(np.arange(len(permutation)), grid))
    nodes = np.ravel_multi_index(tuple(coordinates // span[:, None]), tuple(np.array(grid) // span))
    pooled: list[set[int]] = [set() for _ in range(int(nodes.max()) + 1)]
    for position, node in enumerate(nodes):
        pooled[node].add(permutation[position])
    return [frozenset(locations) for locations in pooled]


def _mixture(document: dict[str, Any], weights: list[tuple[Any, Any]], inputs: Any) -> Any:
    """The mixture the document describes, as docs/FORMATS.md §2 builds one."""
    mixture = document["mixture"]
    permutations = [document["geometry"]["permutation"]]
    permutations += [member["geometry"]["permutation"] for member in mixture["members"]]
    depth = len(document["layers"])
    represented = _represent(document, weights[0], inputs)
    maps = [_gather(represented, permutation) for permutation in permutations]
    for level in range(depth):
        maps = [
            _level(document, level, weights[1 + member * depth + level], own)
            for member, own in enumerate(maps)
        ]
        if level + 1 in (*mixture["mixing"], depth):
            keys = [_node_keys(document, p, level + 1) for p in permutations]
            flat = [own.flatten(2) for own in maps]
            total = {
                key: sum(flat[m][:, :, keys[m].index(key)] for m in range(len(maps)))
                for key in keys[0]
            }
            maps = [
                torch.stack([total[key] for key in own_keys], 2).reshape(own.shape)
                for own_keys, own in zip(keys, maps, strict=True)
            ]
    weight, bias = weights[-1]
    return maps[0].flatten(1) @ weight.T + bias


def _mixtures() -> list[dict[str, Any]]:
    """Mixtures summed below the root and at it alone, padded and not, of 1 and 2 axes."""
    documents: list[dict[str, Any]] = [
        {
            "input": {"shape": [16]},
            "representation": 4,
            "layers": [{"channels": c, "pool": [2]} for c in (4, 6, 4, 8)],
            "geometry": {"dilations": [1, 2, 4, 8]},
            "mixture": {
                "members": [
                    {"geometry": {"dilations": [2, 1, 8, 4]}, "channels": [5, 6, 7, 8]},
                    {"geometry": {"dilations": [2, 1, 4, 8]}, "channels": [3, 6, 2, 8]},
                ],
                "mixing": [2],
            },
            "outputs": 2,
        },
        {
            "input": {"shape": [7], "channels": 2},
            "representation": 3,
            "representation_kernel": 2,
            "padding": [[0, 1]],
            "layers": [{"channels": 2, "pool": [2]}, {"channels": 3, "pool": [4]}],
            "mixture": {"members": [{"geometry": "mirror", "channels": [4, 3]}]},
        },
        {
            "input": {"shape": [8, 8]},
            "representation": 4,
            "layers": [{"channels": 3, "pool": [2, 2]}] * 3,
            "geometry": "mirror",
            "mixture": {"members": [{"geometry": "interleaved", "channels": [5, 3, 3]}]},
            "outputs": 3,
        },
    ]
    return [_as_recommended(document) for document in documents]


@pytest.mark.torch
@pytest.mark.parametrize("document", _mixtures())
def test_a_mixture_built_from_its_document_as_formats_md_says_is_the_export(
    document: dict[str, Any],
) -> None:
    _assert_builds_the_export(document, _mixture)


def test_formats_md_states_how_a_mixture_sums_its_members() -> None:
    """The page said "summed node by node", not which nodes meet nor what the members go on from."""
    formats = _formats()
    for step in (
        "gathers the representation's output by its own `geometry.permutation`",
        "a node is added to the node of every other member that pools the same set of input "
        "locations, not to the one at its position",
        "Every member then goes on from the summed map",
        "at the root the one summed location feeds the output layer",
    ):
        assert step in formats, step


def test_formats_md_states_each_step_of_the_tree() -> None:
    """The steps the builder above follows, as the page words them.

    The page said the net was "one fixed gather followed by a standard conv/pool stack": not that
    the representation conv keeps the grid, nor on which side an even kernel pads its extra
    location, nor the activation, the pooling, or that a linear layer makes the outputs.
    """
    formats = _formats()
    for step in (
        "Zero-pad the input by `padding`: `before` zeros ahead of and `after` zeros behind",
        "zero-pads a further (k - 1) // 2 locations before and k // 2 after on every axis",
        "`y[..., p] = x[..., permutation[p]]`",
        "a 1x1 conv to `channels` with a bias, ReLU, then max pooling",
        "with window `pool` and stride `stride` (default `pool`), without padding",
        "a linear layer with a bias to `outputs` unnormalised scores",
    ):
        assert step in formats, step


def _dilated(length: int, orders: list[int]) -> dict[str, Any]:
    """A sequence net of the ``dilations`` geometry, as a recommendation writes it."""
    return _as_recommended(
        {
            "input": {"shape": [length], "channels": 2},
            "representation": 3,
            "layers": [{"channels": 2 + level, "pool": [2]} for level in range(len(orders))],
            "geometry": {"dilations": orders},
            "outputs": 3,
        }
    )


@pytest.mark.torch
@pytest.mark.parametrize("orders", [[1, 2, 4, 8], [8, 2, 1, 4], [16, 32, 8, 4, 2, 1]])
def test_a_dilation_order_built_as_a_dilated_stack_is_the_export(orders: list[int]) -> None:
    """docs/FORMATS.md §2: per level, location i pools i and i + d_l, bottom level first."""

    def dilated_stack(document: dict[str, Any], weights: list[tuple[Any, Any]], inputs: Any) -> Any:
        features = _represent(document, weights[0], inputs)
        for level, dilation in enumerate(orders):
            activated = functional.relu(functional.conv1d(features, *weights[1 + level]))
            features = functional.max_pool1d(activated, 2, stride=1, dilation=dilation)
        assert features.shape[-1] == 1
        weight, bias = weights[-1]
        return features.flatten(1) @ weight.T + bias

    _assert_builds_the_export(_dilated(2 * max(orders), orders), dilated_stack)


def test_formats_md_says_how_a_dilation_order_is_built_as_a_dilated_stack() -> None:
    """The page said "a dilated conv stack", which a builder reads as convs of kernel 2.

    That is another network, with twice the hidden weights (so not the recommended parameter
    count); the page now says which operation is dilated and in which order.
    """
    formats = _formats()
    for fact in (
        "`[d_1, ..., d_L]`, bottom level first",
        "location i takes the maximum of locations i and i + d_l (a pooling of window 2, "
        "dilation d_l and stride 1, unpadded",
        "A conv of kernel 2 with dilation d_l in place of the 1x1 conv and that pooling",
    ):
        assert fact in formats, fact
