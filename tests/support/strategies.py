"""Hypothesis strategies for the advisor's documents and for every RPC request.

Documents (task, architecture and budget) come in three kinds, so each test can say what it
expects:

* **valid** documents (``valid_*``) follow every rule of docs/FORMATS.md and must parse;
* **boundary** documents (``boundary_*``) sit on the edges of those rules (one location, off-by-one
  regions, pools of 1, overlapping strides, geometries on grids they may not fit, limits reached
  or passed): each may be accepted or rejected, but only with ``InvalidRequestError``;
* **malformed** documents (``malformed_*``) are a valid document with parts deleted, retyped,
  replaced by junk or joined by unknown keys, or arbitrary JSON: they exercise every validator.

Documents are plain JSON-ready dictionaries (what ``yaml.safe_load``/``json.loads`` return), and
``task_message``/``architecture_message``/``budget_message`` turn well-typed ones into protobuf
messages. ``rpc_cases`` draws serialized requests for every RPC of the service: from valid or
boundary documents, with arbitrary field values (``arbitrary_messages``), as a valid request with
corrupted bytes, or as random bytes. Grids are kept small (at most ``MAX_LOCATIONS`` locations)
so a valid case costs little to analyse.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import assume
from hypothesis import strategies as st

from advisor.model.budget import PRACTICAL_ONLY
from advisor.model.task import list_presets
from advisor.protocol._proto.advisor.v1 import advisor_pb2 as pb
from advisor.protocol.search_id import MAX_SEARCH_ID_CHARS

__all__ = [
    "CASE_KINDS",
    "FAMILIES",
    "MAX_LOCATIONS",
    "Document",
    "RpcCase",
    "arbitrary_messages",
    "architecture_message",
    "boundary_architecture_documents",
    "boundary_budget_documents",
    "boundary_task_documents",
    "budget_message",
    "geometry_message",
    "json_values",
    "malformed_architecture_documents",
    "malformed_task_documents",
    "mutated_documents",
    "region_message",
    "rpc_cases",
    "searchable_shapes",
    "task_message",
    "valid_analyze_documents",
    "valid_architecture_documents",
    "valid_budget_documents",
    "valid_task_documents",
]

Document: TypeAlias = dict[str, Any]

MAX_LOCATIONS = 64
"""Largest grid a valid or boundary document uses (keeps each analysis in milliseconds)."""

_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)

# Values that break naive validators: wrong types, non-finite floats, integers past int64 and
# text that looks like a number or a path.
_JUNK_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63), 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -0.0, 1e308, 0.5]),
    st.text(max_size=20),
    st.sampled_from(["", "1", "-1", "1e9", "/etc/passwd", "..", "contiguous", "\x00", "é" * 5]),
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-shaped values (nested lists and string-keyed dicts of junk scalars)."""
    return st.recursive(
        _JUNK_SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=8), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


# --- grids --------------------------------------------------------------------------------------


@st.composite
def _shapes(draw: st.DrawFn) -> tuple[int, ...]:
    """A 1-D ``[N]`` or 2-D ``[H, W]`` grid of at most ``MAX_LOCATIONS`` locations."""
    if draw(st.booleans()):
        return (draw(st.integers(1, MAX_LOCATIONS)),)
    height = draw(st.integers(1, 8))
    return (height, draw(st.integers(1, MAX_LOCATIONS // height)))


def _input(shape: Sequence[int]) -> Document:
    return {"shape": list(shape)}


# --- regions and tasks --------------------------------------------------------------------------


def _region_document(draw: st.DrawFn, shape: tuple[int, ...], locations: Sequence[int]) -> Document:
    """Express a set of locations in a form that describes exactly that set.

    Indices always work; a box is used when the set happens to be a box, a mask on 2-D and 3-D
    grids (3-D: ``D * H`` rows, slice after slice).
    """
    members = set(locations)
    forms = ["indices"]
    if len(shape) >= 2:
        forms.append("mask")
    box = _as_box(shape, members)
    if box is not None:
        forms.append("box")
    form = draw(st.sampled_from(forms))
    if form == "box" and box is not None:
        return {"box": {"start": box[0], "stop": box[1]}}
    if form == "mask":
        height, width = math.prod(shape[:-1]), shape[-1]
        return {
            "mask": [
                "".join("#" if h * width + w in members else "." for w in range(width))
                for h in range(height)
            ]
        }
    return {"indices": draw(st.permutations(sorted(members)))}


def _as_box(shape: tuple[int, ...], members: set[int]) -> tuple[list[int], list[int]] | None:
    """Return ``(start, stop)`` if ``members`` is exactly an axis-aligned box, else None."""
    coords = [_unravel(i, shape) for i in members]
    start = [min(c[d] for c in coords) for d in range(len(shape))]
    stop = [max(c[d] for c in coords) + 1 for d in range(len(shape))]
    if math.prod(b - a for a, b in zip(start, stop, strict=True)) != len(members):
        return None
    return start, stop


def _unravel(location: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(c) for c in np.unravel_index(location, shape))


@st.composite
def _stated_pair(draw: st.DrawFn, shape: tuple[int, ...], name: str) -> Document:
    """Two equal boxes side by side along the last axis, stating a relation: both fit them."""
    length = shape[-1]
    width = draw(st.integers(1, length // 2))
    start = draw(st.integers(0, length - 2 * width))
    rest = [0] * (len(shape) - 1), list(shape[:-1])
    return {
        "name": name,
        "a": {"box": {"start": [*rest[0], start], "stop": [*rest[1], start + width]}},
        "b": {"box": {"start": [*rest[0], start + width], "stop": [*rest[1], start + 2 * width]}},
        "relation": draw(st.sampled_from(["shift", "mirror"])),
    }


@st.composite
def _correlation(draw: st.DrawFn, shape: tuple[int, ...], name: str) -> Document:
    """Two disjoint non-empty regions; ``b`` omitted (= complement of ``a``) about half the time.

    One in four, where the last axis holds two locations, two equal boxes stating a relation.
    """
    if shape[-1] >= 2 and draw(st.integers(0, 3)) == 0:
        return draw(_stated_pair(shape, name))
    size = math.prod(shape)
    order = draw(st.permutations(range(size)))
    split = draw(st.integers(1, size - 1))
    a_locations = order[:split]
    correlation: Document = {"name": name, "a": _region_document(draw, shape, a_locations)}
    if draw(st.booleans()):
        b_size = draw(st.integers(1, size - split))
        correlation["b"] = _region_document(draw, shape, order[split : split + b_size])
    if draw(st.booleans()):
        correlation["weight"] = draw(st.floats(0.01, 100.0))
    return correlation


@st.composite
def valid_task_documents(
    draw: st.DrawFn, shape: Sequence[int] | None = None, max_correlations: int = 4
) -> Document:
    """Task documents every rule of docs/FORMATS.md §1 accepts (explicit correlations, no presets).

    ``shape`` fixes the grid (at least two locations), e.g. to pair the task with an architecture.
    Presets are left out because their names and the grids they fit belong to the library;
    ``boundary_task_documents`` draws them.
    """
    if shape is None:
        shape = draw(_shapes().filter(lambda s: math.prod(s) >= 2))
    shape = tuple(shape)
    names = draw(st.lists(_NAMES, min_size=1, max_size=max_correlations, unique=True))
    document: Document = {
        "input": _input(shape),
        "correlations": [draw(_correlation(shape, name)) for name in names],
    }
    if draw(st.booleans()):
        document["outputs"] = draw(st.integers(1, 1000))
    return document


def _mostly(usual: st.SearchStrategy[Any], edge: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` three times in four, else ``edge``: so most boundary cases break one rule."""
    return st.one_of(usual, usual, usual, edge)


@st.composite
def _boundary_region(draw: st.DrawFn, shape: tuple[int, ...], presets: Sequence[str]) -> Document:
    """A region on the edge of the rules: off-by-one indices and boxes, ragged masks, presets."""
    size = math.prod(shape)
    index = _mostly(st.integers(0, size - 1), st.sampled_from([-1, size, size + 1, 2**31 - 1]))
    coordinate = [_mostly(st.integers(0, n), st.sampled_from([-1, n + 1])) for n in shape]
    width = shape[-1] if len(shape) == 2 else size
    rows = shape[0] if len(shape) == 2 else 1
    mask_row = _mostly(
        st.text(alphabet="#.", min_size=width, max_size=width), st.text(alphabet="#.x ", max_size=9)
    )
    kind = draw(st.sampled_from(["indices", "box", "mask", "preset"]))
    if kind == "indices":
        return {"indices": draw(st.lists(index, max_size=6))}
    if kind == "box":
        return {
            "box": {"start": [draw(c) for c in coordinate], "stop": [draw(c) for c in coordinate]}
        }
    if kind == "mask":
        return {"mask": draw(st.lists(mask_row, min_size=rows, max_size=rows) | st.lists(mask_row))}
    return {"preset": draw(st.sampled_from([*presets, "no_such_preset", ""]))}


@st.composite
def boundary_task_documents(
    draw: st.DrawFn, shape: Sequence[int] | None = None, presets: Sequence[str] | None = None
) -> Document:
    """Tasks on the edges of the rules: any of them may be accepted or rejected.

    The grid (``shape``, or drawn) may have a single location; each correlation is a valid one or
    has edge regions (``_boundary_region``), a weight of zero, below zero or not finite, or a
    repeated name. ``presets`` are names to try as region and task presets (default: the
    library's); made-up names are always mixed in.
    """
    shape = tuple(shape) if shape is not None else draw(_shapes())
    if presets is None:
        presets = [preset.name for preset in list_presets()]
    names = draw(st.lists(_NAMES, max_size=3))
    correlations = []
    for name in names:
        if math.prod(shape) >= 2 and draw(st.booleans()):
            correlations.append(draw(_correlation(shape, name)))
            continue
        correlation: Document = {"name": name, "a": draw(_boundary_region(shape, presets))}
        if draw(st.booleans()):
            correlation["b"] = draw(_boundary_region(shape, presets))
        if draw(st.booleans()):
            correlation["weight"] = draw(
                _mostly(st.floats(0.01, 100.0), st.sampled_from([0.0, -1.0, math.inf, math.nan]))
            )
        correlations.append(correlation)
    document: Document = {"input": _input(shape), "correlations": correlations}
    if draw(st.booleans()):
        document["preset"] = draw(st.sampled_from([*presets, "no_such_preset", ""]))
    return document


# --- architectures ------------------------------------------------------------------------------


@st.composite
def _pool_schedules(draw: st.DrawFn, ndim: int) -> list[list[int]]:
    """Per-level pools whose products per dimension give the grid (so the last pool is global).

    Every level pools more than one node, and levels stop before the grid would exceed
    ``MAX_LOCATIONS``.
    """
    pools: list[list[int]] = []
    size = 1
    for _ in range(draw(st.integers(1, 4))):
        pool = [draw(st.sampled_from([1, 2, 3, 4])) for _ in range(ndim)]
        pool[draw(st.integers(0, ndim - 1))] = draw(st.sampled_from([2, 3, 4]))
        if size * math.prod(pool) > MAX_LOCATIONS:
            break
        pools.append(pool)
        size *= math.prod(pool)
    return pools


def _shape_of(pools: Sequence[Sequence[int]]) -> list[int]:
    return [math.prod(p[d] for p in pools) for d in range(len(pools[0]))]


@st.composite
def valid_architecture_documents(draw: st.DrawFn) -> Document:
    """Non-overlapping architectures that tile their grid, with a geometry that fits it.

    The geometry is contiguous or an explicit permutation on any tiling; mirror on square
    power-of-two grids pooled 2x2; dilations and interleaved on 1-D grids pooled by 2. 1-D, 2-D
    and 3-D grids; some pad their input (the grid tiled is then the padded one).
    """
    ndim = draw(st.sampled_from([1, 2, 3]))
    pools = draw(_pool_schedules(ndim))
    shape = _shape_of(pools)
    size = math.prod(shape)
    padding = None
    if draw(st.booleans()):
        padding = [
            [before, draw(st.integers(0, n - 1 - before))]
            for n in shape
            for before in [draw(st.integers(0, n - 1))]
        ]
    geometries: list[st.SearchStrategy[Any]] = [
        st.just("contiguous"),
        st.builds(lambda p: {"permutation": p}, st.permutations(range(size))),
    ]
    if all(p == [2] for p in pools):
        depth = len(pools)
        dilations = st.permutations([2**level for level in range(depth)])
        geometries.append(st.builds(lambda d: {"dilations": d}, dilations))
        geometries.append(st.just("interleaved"))
    if all(p == [2, 2] for p in pools):
        geometries.append(st.just("mirror"))
    channels = st.integers(1, 16)
    document: Document = {
        "input": _input(shape),
        "representation": draw(channels),
        "layers": [{"channels": draw(channels), "pool": pool} for pool in pools],
        "geometry": draw(st.one_of(geometries)),
    }
    if padding is not None:
        document["padding"] = padding
        document["input"] = _input([n - b - a for n, (b, a) in zip(shape, padding, strict=True)])
    if draw(st.booleans()):
        document["outputs"] = draw(st.integers(1, 10))
    return document


@st.composite
def boundary_architecture_documents(draw: st.DrawFn) -> Document:
    """Architectures on the edges of the rules: any of them may be accepted or rejected.

    Starts from a schedule that tiles its grid and breaks at most one rule: a pool that does not
    tile (or a level too many or too few), strides (overlapping windows, which may or may not
    tile), a zero, negative or huge channel count, a geometry that may not fit the schedule, a
    permutation with a repeat or a hole, dilations that are not powers of two, zero outputs.
    """
    ndim = draw(st.sampled_from([1, 2]))
    pools = draw(_pool_schedules(ndim))
    shape = _shape_of(pools)
    size = math.prod(shape)
    edge = draw(st.sampled_from([None, None, "pools", "stride", "channels", "geometry", "outputs"]))
    if edge == "pools":
        pool = st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)
        pools = draw(st.lists(pool, max_size=4))
    channels = st.integers(1, 16)
    odd_channels = st.sampled_from([0, -1, 2**31 - 1]) if edge == "channels" else channels
    layers: list[Document] = [{"channels": draw(channels), "pool": pool} for pool in pools]
    for layer in layers:
        if edge == "stride" and draw(st.booleans()):
            layer["stride"] = [draw(st.integers(0, max(k, 1))) for k in layer["pool"]]
        if draw(st.booleans()):
            layer["channels"] = draw(odd_channels)
    geometry: st.SearchStrategy[Any] = st.one_of(
        st.just("contiguous"),
        st.permutations(range(size)).map(lambda p: {"permutation": p}),
    )
    if edge == "geometry":
        broken_permutation = st.lists(st.integers(-1, size), min_size=size - 1, max_size=size + 1)
        geometry = st.one_of(
            st.sampled_from(["mirror", "interleaved", "spiral"]),
            broken_permutation.map(lambda p: {"permutation": p}),
            st.lists(st.sampled_from([0, 1, 2, 3, 4, 8]), max_size=5).map(
                lambda d: {"dilations": d}
            ),
        )
    outputs = st.sampled_from([0, -1]) if edge == "outputs" else st.integers(1, 10)
    return {
        "input": _input(shape),
        "representation": draw(odd_channels),
        "layers": layers,
        "geometry": draw(geometry),
        "outputs": draw(outputs),
    }


# --- malformed documents ------------------------------------------------------------------------

_Path: TypeAlias = tuple[str | int, ...]


def _paths(value: Any, prefix: _Path = ()) -> list[_Path]:
    """Every path into a JSON value (the root excluded), parents before children."""
    found: list[_Path] = []
    children: Sequence[tuple[str | int, Any]] = ()
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _parent(document: Document, path: _Path) -> Any:
    node: Any = document
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_documents(draw: st.DrawFn, documents: st.SearchStrategy[Document]) -> Document:
    """A document from ``documents`` with one to three parts broken.

    Each mutation picks a path and deletes it, replaces its value with junk (wrong type, huge or
    non-finite number, nested JSON), or adds an unknown key beside it.
    """
    document: Document = _copy(draw(documents))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(document, path)
        key = path[-1]
        action = draw(st.sampled_from(["delete", "replace", "replace", "unknown_key"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(json_values(max_leaves=4))
        elif isinstance(parent, dict):
            parent[f"unknown_{draw(_NAMES)}"] = draw(_JUNK_SCALARS)
        else:
            parent.append(draw(_JUNK_SCALARS))
    return document


def malformed_task_documents() -> st.SearchStrategy[Any]:
    """Broken task documents, plus arbitrary JSON in place of a whole document."""
    return st.one_of(mutated_documents(valid_task_documents()), json_values())


def malformed_architecture_documents() -> st.SearchStrategy[Any]:
    """Broken architecture documents, plus arbitrary JSON in place of a whole document."""
    return st.one_of(mutated_documents(valid_architecture_documents()), json_values())


# --- search budgets -----------------------------------------------------------------------------

FAMILIES = ("contiguous", "mirror", "interleaved", "dilations", "synthesized")


def valid_budget_documents(max_seconds: float = 0.5) -> st.SearchStrategy[Document]:
    """Search budgets inside every limit, with a time limit of at most ``max_seconds``.

    Their ranges leave room for a search to run on a :func:`searchable_shapes` grid (enough
    parameters, compute, depth and window for some net); ``geometries`` is left to the boundary
    budgets, since a family that does not apply to the grid is refused.
    """
    return st.fixed_dictionaries(
        {
            "max_parameters": st.integers(10**4, 10**6),
            "top_k": st.integers(1, 5),
            "time_limit_seconds": st.floats(0.01, max_seconds),
        },
        optional={
            "max_depth": st.integers(3, 8),
            "objective": st.sampled_from(["weighted", "maximin"]),
            "seed": st.integers(0, 100),
            "max_channels": st.sampled_from([16, 64, 256]),
            "width_profile": st.sampled_from(["practical", "free"]),
            "min_width": st.integers(1, 16),
            "min_representation": st.integers(1, 8),
            "max_representation": st.integers(8, 64),
            "max_window": st.one_of(st.none(), st.integers(4, 64)),
            "max_step": st.one_of(st.none(), st.integers(2, 8)),
            "max_multiply_adds": st.integers(10**6, 10**9),
            "max_activations": st.integers(10**5, 10**9),
        },
    ).filter(
        lambda budget: (
            budget.get("width_profile") != "free" or not budget.keys() & set(PRACTICAL_ONLY)
        )
    )


def searchable_shapes() -> st.SearchStrategy[tuple[int, ...]]:
    """Grids a search can pool in a few levels: sizes with small factors, up to MAX_LOCATIONS."""
    sides = st.sampled_from([2, 4, 8])
    return st.one_of(
        st.sampled_from([(4,), (8,), (12,), (16,), (24,), (32,), (48,), (64,)]),
        st.tuples(sides, sides),
    )


@st.composite
def boundary_budget_documents(draw: st.DrawFn) -> Document:
    """A valid budget (``valid_budget_documents``) with at most one field on or past an edge."""
    budget = draw(valid_budget_documents())
    edges: dict[str, st.SearchStrategy[Any]] = {
        "max_parameters": st.sampled_from([0, -1, 1, 2**63 - 1]),
        "top_k": st.sampled_from([0, -1, 50, 51]),
        "time_limit_seconds": st.sampled_from([0.0, -1.0, 61.0, math.nan, math.inf]),
        "max_depth": st.sampled_from([0, 1, 16, 17]),
        "min_depth": st.sampled_from([0, 5, 17]),
        "channel_choices": st.lists(st.sampled_from([0, 1, 3, 4096, 4097]), max_size=3),
        "max_channels": st.sampled_from([0, 1, 4096, 4097]),
        "geometries": st.lists(st.sampled_from([*FAMILIES, "spiral"]), max_size=3),
        "log2_rank_target": st.sampled_from([0.0, -1.0, math.nan, math.inf]),
        "representation_kernel": st.sampled_from([0, 2, 3]),
        "outputs": st.sampled_from([0, 4096, 4097]),
    }
    edge = draw(st.sampled_from([None, *edges]))
    if edge is not None:
        budget[edge] = draw(edges[edge])
    return budget


# --- RPC requests -------------------------------------------------------------------------------

_SERVICE = pb.DESCRIPTOR.services_by_name["ArchitectureAdvisor"]

CASE_KINDS = ("valid", "boundary", "arbitrary", "mutated_bytes", "random_bytes")
"""How an ``RpcCase`` was made: from valid or boundary documents, from arbitrary field values
(``arbitrary_messages``), by corrupting a valid request's bytes, or as bytes from nowhere."""


@dataclass(frozen=True)
class RpcCase:
    """One request to send: the method's short name, how it was made, and its serialized bytes."""

    method: str
    kind: str
    payload: bytes


def _enum_value(enum: EnumDescriptor, prefix: str, name: str) -> Any:
    """The number of ``<prefix>_<NAME>``, or an undefined number for an unknown name.

    Typed ``Any`` because the number goes onto the wire as is, defined or not.
    """
    value = enum.values_by_name.get(f"{prefix}_{name.upper()}")
    return value.number if value is not None else 99


def region_message(document: Document) -> pb.Region:
    """A region document (indices, box, mask or preset form) as a ``Region`` message."""
    if "indices" in document:
        return pb.Region(indices=pb.IndexList(values=document["indices"]))
    if "box" in document:
        return pb.Region(box=pb.Box(**document["box"]))
    if "mask" in document:
        return pb.Region(mask=pb.Mask(rows=document["mask"]))
    return pb.Region(preset=document["preset"])


def task_message(document: Document) -> pb.Task:
    """A well-typed task document (valid or boundary) as a ``Task`` message."""
    message = pb.Task(input=pb.InputSpec(**document["input"]), preset=document.get("preset"))
    for correlation in document.get("correlations", []):
        entry = message.correlations.add(name=correlation["name"], weight=correlation.get("weight"))
        if "relation" in correlation:
            entry.relation = _enum_value(
                pb.RelationKind.DESCRIPTOR, "RELATION_KIND", correlation["relation"]
            )
        entry.a.CopyFrom(region_message(correlation["a"]))
        if "b" in correlation:
            entry.b.CopyFrom(region_message(correlation["b"]))
    return message


def geometry_message(geometry: str | Document) -> pb.Geometry:
    """A geometry (a name, ``{permutation: [...]}`` or ``{dilations: [...]}``) as a message."""
    if isinstance(geometry, str):
        return pb.Geometry(
            named=_enum_value(pb.NamedGeometry.DESCRIPTOR, "NAMED_GEOMETRY", geometry)
        )
    if "permutation" in geometry:
        return pb.Geometry(permutation=pb.PermutationGeometry(permutation=geometry["permutation"]))
    return pb.Geometry(dilations=pb.DilationGeometry(dilations=geometry["dilations"]))


def architecture_message(document: Document) -> pb.Architecture:
    """A well-typed architecture document (valid or boundary) as an ``Architecture`` message."""
    return pb.Architecture(
        input=pb.InputSpec(**document["input"]),
        representation=document["representation"],
        layers=[pb.Layer(**layer) for layer in document["layers"]],
        geometry=geometry_message(document.get("geometry", "contiguous")),
        outputs=document.get("outputs"),
        representation_kernel=document.get("representation_kernel"),
    )


def budget_message(document: Document) -> pb.Budget:
    """A budget document (field names as ``advisor.model.budget.Budget``) as a message."""
    fields = dict(document)
    families = fields.pop("geometries", [])
    objective = fields.pop("objective", None)
    profile = fields.pop("width_profile", None)
    for unbounded_at_zero in ("max_window", "max_step"):
        if unbounded_at_zero in fields:
            fields[unbounded_at_zero] = fields[unbounded_at_zero] or 0  # the wire's "no bound"
    message = pb.Budget(**fields)
    if profile is not None:
        message.width_profile = _enum_value(pb.WidthProfile.DESCRIPTOR, "WIDTH_PROFILE", profile)
    message.geometries.extend(
        _enum_value(pb.GeometryFamily.DESCRIPTOR, "GEOMETRY_FAMILY", f) for f in families
    )
    if objective is not None:
        message.objective = _enum_value(pb.Objective.DESCRIPTOR, "OBJECTIVE", objective)
    return message


@st.composite
def valid_analyze_documents(draw: st.DrawFn) -> tuple[Document, Document]:
    """A valid architecture and a valid task on the same grid (of two locations or more)."""
    architecture = draw(valid_architecture_documents())
    # Padding may leave one input location, on which no correlation has two sides.
    assume(math.prod(architecture["input"]["shape"]) >= 2)
    return draw(valid_task_documents(shape=architecture["input"]["shape"])), architecture


_INT32 = st.one_of(st.integers(-3, 70), st.integers(-(2**31), 2**31 - 1))
_INT64 = st.one_of(st.integers(-3, 10**6), st.integers(-(2**63), 2**63 - 1))
_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.CPPTYPE_INT32: _INT32,
    FieldDescriptor.CPPTYPE_INT64: _INT64,
    FieldDescriptor.CPPTYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_UINT64: st.integers(0, 2**64 - 1),
    FieldDescriptor.CPPTYPE_DOUBLE: st.floats(allow_nan=True, allow_infinity=True),
    FieldDescriptor.CPPTYPE_FLOAT: st.floats(width=32, allow_nan=True, allow_infinity=True),
    FieldDescriptor.CPPTYPE_BOOL: st.booleans(),
    FieldDescriptor.CPPTYPE_STRING: st.text(alphabet="#.ab_1 \\x00é", max_size=12),
}


def _field_values(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        return arbitrary_messages(field.message_type, depth - 1)
    if field.enum_type is not None:
        numbers = [value.number for value in field.enum_type.values]
        return st.sampled_from([*numbers, -1, 99])
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=12)
    return _SCALARS[field.cpp_type]


@st.composite
def arbitrary_messages(draw: st.DrawFn, descriptor: Descriptor, depth: int = 4) -> Message:
    """A message of type ``descriptor`` whose fields hold any value their wire type allows.

    Each field is set or left unset at random, at most one member of each oneof is set, repeated
    fields get up to five entries, integers favour small values (so many cases get past type
    checks into the semantic ones) and enums include undefined numbers. Nesting stops at ``depth``.
    """
    message = GetMessageClass(descriptor)()
    chosen_oneofs = {
        oneof.name: draw(st.sampled_from([None, *oneof.fields]))
        for oneof in descriptor.oneofs
        if not oneof.name.startswith("_")
    }
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and not oneof.name.startswith("_"):
            if chosen_oneofs[oneof.name] is not field:
                continue
        elif not draw(st.booleans()):
            continue
        is_message = field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE
        if is_message and depth <= 0:
            continue
        values = _field_values(field, depth)
        if field.is_repeated:
            entries = draw(st.lists(values, max_size=5))
            container = getattr(message, field.name)
            for entry in entries:
                if is_message:
                    container.add().CopyFrom(entry)
                else:
                    container.append(entry)
        elif is_message:
            getattr(message, field.name).CopyFrom(draw(values))
        else:
            setattr(message, field.name, draw(values))
    return message


def _request_class(method: str) -> Callable[..., Message]:
    """The request message class of ``method``, as a constructor taking its fields.

    ``type[Message]`` would do, but the protobuf stubs of 2026-11 refuse field keywords on the
    base class's constructor.
    """
    return GetMessageClass(_SERVICE.methods_by_name[method].input_type)


_SEARCH_IDS = st.text(alphabet="abcXYZ019-._~", min_size=1, max_size=MAX_SEARCH_ID_CHARS)
"""Names a search may have (docs/SERVICE.md, "Finishing a search early")."""


@st.composite
def _valid_request(draw: st.DrawFn, method: str, boundary: bool) -> Message:
    """A request built from valid (or, with ``boundary``, boundary) documents."""
    request_class = _request_class(method)
    if method == "ListPresets":
        return request_class()
    if method == "FinishSearch":
        return request_class(search_id=draw(_SEARCH_IDS))
    if method == "InferTask":
        return request_class(graph=draw(dependence_graph_messages()))
    if method == "Analyze":
        if boundary:
            architecture = draw(boundary_architecture_documents())
            task = draw(boundary_task_documents(shape=architecture["input"]["shape"]))
        else:
            task, architecture = draw(valid_analyze_documents())
        return request_class(
            task=task_message(task),
            architecture=architecture_message(architecture),
            exact=draw(st.booleans()),
        )
    if boundary:
        task = draw(boundary_task_documents())
    else:
        task = draw(valid_task_documents(shape=draw(searchable_shapes())))
    budget = draw(boundary_budget_documents() if boundary else valid_budget_documents())
    return request_class(task=task_message(task), budget=budget_message(budget))


@st.composite
def dependence_graph_messages(draw: st.DrawFn) -> pb.DependenceGraph:
    """A valid sparse dependence graph on a small 1-D or 2-D grid (the InferTask summary)."""
    shape = draw(st.sampled_from([(8,), (16,), (4, 4), (8, 8)]))
    n = math.prod(shape)
    pairs = draw(
        st.sets(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] < p[1]),
            max_size=3 * n,
        )
    )
    ordered = sorted(pairs)
    return pb.DependenceGraph(
        input=pb.InputSpec(shape=shape),
        samples=draw(st.integers(2, 10_000)),
        top_k=n - 1,  # random weights: only a top_k every degree fits keeps every edge
        rows=[i for i, _ in ordered],
        cols=[j for _, j in ordered],
        weights=[draw(st.floats(2**-6, 1.0, width=32)) for _ in ordered],
        estimate="exact",
    )


@st.composite
def _mutated_bytes(draw: st.DrawFn, method: str) -> bytes:
    """A valid request's bytes, truncated or with a few bytes overwritten or inserted."""
    payload = bytearray(draw(_valid_request(method, boundary=False)).SerializeToString())
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(payload)))
        action = draw(st.sampled_from(["overwrite", "insert", "truncate"]))
        if action == "truncate":
            del payload[position:]
        elif action == "insert" or position == len(payload):
            payload[position:position] = draw(st.binary(min_size=1, max_size=4))
        else:
            payload[position] = draw(st.integers(0, 255))
    return bytes(payload)


@st.composite
def rpc_cases(
    draw: st.DrawFn, methods: Sequence[str] | None = None, kinds: Sequence[str] = CASE_KINDS
) -> RpcCase:
    """A request for one of ``methods`` (default: every RPC) made in one of ``kinds`` ways."""
    method = draw(st.sampled_from(sorted(methods or _SERVICE.methods_by_name)))
    kind = draw(st.sampled_from(kinds))
    if kind in ("valid", "boundary"):
        payload = draw(_valid_request(method, boundary=kind == "boundary")).SerializeToString()
    elif kind == "arbitrary":
        request_type = _SERVICE.methods_by_name[method].input_type
        payload = draw(arbitrary_messages(request_type)).SerializeToString()
    elif kind == "mutated_bytes":
        payload = draw(_mutated_bytes(method))
    else:
        payload = draw(st.binary(max_size=256))
    return RpcCase(method, kind, payload)
