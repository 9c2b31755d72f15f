"""The architecture model: a convolutional arithmetic circuit as an architecture file describes it.

An architecture is a representation layer (``representation_kernel``-wide conv from the input
channels to ``representation`` channels, 'same' padding, so the grid is kept), then hidden layers
bottom-up, each a 1x1 conv to ``channels`` followed by pooling over ``pool`` windows (``stride``
per axis when windows overlap), then a linear layer to ``outputs``. ``geometry`` says which input
locations share a window (docs/FORMATS.md §2; docs/THEORY.md §1 and §7).

Every rule of the file format is checked when an :class:`Architecture` is built, once, and
reported as an :class:`~advisor.errors.InvalidRequestError` naming the offending field: the
schedule's (:mod:`advisor.model.schedule`: windows tile the grid they pool, the last pooling is
global) and the geometry family's (:mod:`advisor.model.geometries`). :func:`validate_schedule`
exposes the same checks to code that builds schedules without an :class:`Architecture`;
:meth:`Architecture.trusted` skips them for code that generated its schedule under these rules.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Final, NamedTuple

import numpy as np
import numpy.typing as npt
from pydantic import ConfigDict, Field, field_validator, model_validator

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.arguments import require_path
from advisor.model.arrangement import discarded_order
from advisor.model.compute import COUNT_LIMIT, activations, grid_locations, multiply_adds
from advisor.model.documents import (
    NullsOmitted,
    RequestModel,
    read_document,
    refuse_other_kind,
    source_name,
)
from advisor.model.geometries import (
    DilationGeometry,
    Geometry,
    NamedGeometry,
    PermutationGeometry,
    check_overlaps,
    family_of,
    validate_permutation,
)
from advisor.model.grid import InputSpec, Padding, adds_margins, check_padding, padded_shape
from advisor.model.mixture import (
    SHARED_WITH_THE_ARCHITECTURE,
    Mixture,
    MixtureMember,
    check_mixture,
    check_mixture_counts,
    member_widths,
    mixture_multiply_adds,
    mixture_parameters,
    summed_multiply_adds,
    summed_parameters,
)
from advisor.model.parameters import ParameterCount, ParameterModel
from advisor.model.scalars import INT32_MAX, PositiveInt32, StrictWhole, whole_number
from advisor.model.schedule import Schedule, check_schedule
from advisor.model.text import printable_name
from advisor.stdout import shown_path
from advisor.validation_messages import list_form

__all__ = [
    "COUNTS",
    "Architecture",
    "DilationGeometry",
    "Geometry",
    "Layer",
    "Mixture",
    "MixtureMember",
    "NamedGeometry",
    "Padding",
    "ParameterCount",
    "PermutationGeometry",
    "RankedArchitecture",
    "architecture_document",
    "checked_rank",
    "load_architecture",
    "misranked",
    "parameter_count",
    "parse_architecture",
    "ranked_architecture_argument",
    "validate_permutation",
    "validate_schedule",
    "with_task_outputs",
]

_Ints = npt.NDArray[np.int64]

# Strict: a document's `true`, `2.5` or `"2"` is a mistake to report, not a number to coerce.
_Margin = Annotated[StrictWhole, Field(ge=0, le=INT32_MAX)]


_WIDER_CONV: Final = (
    "a layer is a 1x1 conv then pooling (docs/THEORY.md §1): give the first conv's size as "
    "representation_kernel, and a wider conv's reach as overlapping windows (a pool of its size "
    "with a stride below it, docs/FORMATS.md §2)"
)
_DILATED_CONV: Final = (
    "a layer is a 1x1 conv then pooling (docs/THEORY.md §1): a stack of size-2 dilated convs is "
    "the geometry {dilations: [...]}, one per layer (docs/FORMATS.md §2)"
)


class Layer(RequestModel):
    """A hidden layer: a 1x1 conv to ``channels``, then pooling over ``pool`` windows.

    ``pool`` and ``stride`` have one entry per input axis. ``stride`` is given only for
    overlapping windows: ``1 <= stride <= pool`` per axis, smaller than ``pool`` on some axis,
    and equal to it on an axis that has a single window. Omitted, it equals ``pool``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    foreign_keys: ClassVar[Mapping[str, str]] = {
        "kernel": _WIDER_CONV,
        "kernel_size": _WIDER_CONV,
        "dilation": _DILATED_CONV,
    }
    """A conv layer's keys in other frameworks, refused with how this model writes them."""

    channels: PositiveInt32
    pool: tuple[PositiveInt32, ...] = Field(
        min_length=1,
        json_schema_extra=list_form("one window size per input axis, as [2, 2] on an image"),
    )
    stride: tuple[PositiveInt32, ...] | None = Field(
        default=None,
        json_schema_extra=list_form("one window step per input axis, as [1, 1] on an image"),
    )

    @field_validator("pool", mode="before")
    @classmethod
    def _pool_as_sizes(cls, pool: object) -> object:
        """Refuse a pool written as a word (``global``) saying how to write its window."""
        if isinstance(pool, str):
            raise ValueError(
                f"{pool!r} is no window: write its size per axis, the grid the layers below "
                "leave for a global pooling (as [4, 4] on a 4x4 grid)"
            )
        return pool

    @property
    def step(self) -> tuple[int, ...]:
        """The window step per axis: ``stride`` if given, else ``pool``."""
        return self.pool if self.stride is None else self.stride


class Architecture(NullsOmitted):
    """A ConvAC in the docs/FORMATS.md §2 file format, validated as a whole on construction.

    Construct it from a document with :func:`parse_architecture`, or with keywords; either turns
    every problem into an :class:`~advisor.errors.InvalidRequestError`
    (:class:`~advisor.model.documents.RequestModel`); the semantic checks below raise that error
    directly, naming ``layers[i].pool``, ``layers[i].stride`` or ``geometry...``. A copy with
    an update (``model_copy(update=...)``) is validated anew, as a task's and a budget's are: an
    unchecked ``representation: -5`` failed inside the analysis with "math domain error".
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    input: InputSpec
    representation: PositiveInt32 = Field(description="M, the representation channels.")
    layers: tuple[Layer, ...] = Field(min_length=1, description="Hidden layers, bottom-up.")
    geometry: Geometry = "contiguous"
    outputs: PositiveInt32 = Field(default=1, description="Y, the number of outputs.")
    # No min_length: printable_name refuses "" as it does "  ", "must not be empty or blank".
    family: str | None = Field(
        default=None, description="Where the architecture came from (provenance)."
    )
    representation_kernel: PositiveInt32 = Field(
        default=1, description="k: the representation layer is a k x k conv with 'same' padding."
    )
    padding: tuple[tuple[_Margin, _Margin], ...] | None = Field(
        default=None,
        description="Per input axis, [before, after]: constant locations added around the input; "
        "the pooling, the geometry and the locations they number are the padded grid's.",
        json_schema_extra=list_form(
            "one [before, after] pair per input axis, as [[0, 1], [0, 1]] on an image"
        ),
    )
    mixture: Mixture | None = Field(
        default=None,
        description="More member networks summed with this one (advisor.model.mixture).",
    )

    @field_validator("family")
    @classmethod
    def _printable(cls, family: str | None) -> str | None:
        """Refuse a family a terminal would act on: a file anyone wrote may give it."""
        return None if family is None else printable_name(family)

    @model_validator(mode="after")
    def _check_schedule_and_geometry(self) -> Architecture:
        check_padding(self.input.shape, self.padding)
        schedule = validate_schedule(
            self.grid, *self._pools_and_strides(), self.geometry, self.padding
        )
        if self.mixture is not None:
            check_mixture(self.mixture, self.geometry, self.widths, schedule)
        self._check_counts()
        return self

    @classmethod
    def trusted(
        cls,
        *,
        input: InputSpec,
        representation: int,
        layers: tuple[Layer, ...],
        geometry: Geometry = "contiguous",
        outputs: int = 1,
        family: str | None = None,
        representation_kernel: int = 1,
        padding: Padding | None = None,
        mixture: Mixture | None = None,
    ) -> Architecture:
        """Build an architecture without checking its schedule or geometry again.

        For code that generated both under the rules :func:`validate_schedule` checks (the
        search's candidates): the checks are the costly part of construction, and a search
        builds every candidate several times. Anything else goes through the constructor or
        :func:`parse_architecture`.
        """
        return cls.model_construct(
            input=input,
            representation=representation,
            layers=layers,
            geometry=geometry,
            outputs=outputs,
            family=family,
            representation_kernel=representation_kernel,
            padding=padding,
            mixture=mixture,
        )

    @property
    def padded(self) -> bool:
        """Whether the input gets margins (:func:`~advisor.model.grid.adds_margins`)."""
        return adds_margins(self.padding)

    @property
    def grid(self) -> tuple[int, ...]:
        """The grid the network pools: the input's shape, padded when ``padding`` is set."""
        return padded_shape(self.input.shape, self.padding)

    @property
    def schedule(self) -> Schedule:
        """The pooling schedule and the grid each layer leaves (checked at construction)."""
        return Schedule.trusted(self.grid, *self._pools_and_strides(), padding=self.padding)

    def _pools_and_strides(
        self,
    ) -> tuple[list[tuple[int, ...]], list[tuple[int, ...] | None]]:
        return [layer.pool for layer in self.layers], [layer.stride for layer in self.layers]

    @property
    def widths(self) -> tuple[int, ...]:
        """The hidden channel counts ``r_0, ..., r_{L-1}``, bottom-up."""
        return tuple(layer.channels for layer in self.layers)

    @property
    def parameters(self) -> int:
        """Total trainable parameters (:mod:`advisor.model.parameters`)."""
        model = _parameter_model(self)
        if self.mixture is not None:
            return mixture_parameters(model, self.representation, self.widths, self.mixture)
        return int(model.count([(self.representation, *self.widths)])[0])

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds per input, counted as :mod:`advisor.model.compute` documents."""
        if self.mixture is not None:
            return mixture_multiply_adds(
                self.representation,
                self.widths,
                self.mixture,
                self._locations(),
                self._representation_weights(),
                self.outputs,
            )
        return self._own_multiply_adds(exact=False)

    @property
    def activations(self) -> int:
        """Values one input's forward pass holds (:func:`~advisor.model.compute.activations`).

        Every member network's hidden layers for a mixture, the shared layers once.
        """
        widths = [self.widths] if self.mixture is None else member_widths(self.widths, self.mixture)
        members = [[(self.representation, *own)] for own in widths]
        return int(activations(members, self._grid_locations(), self.outputs, exact=True)[0])

    def summed_counts(
        self, rows: npt.NDArray[np.int64], members: int
    ) -> tuple[_Ints, _Ints, _Ints]:
        """Return the parameters, multiply-adds and activations of mixtures of this tree, per row.

        Mixture ``p`` sums ``members`` trees on this architecture's input and schedule, each of
        widths ``rows[p]`` = ``(M, r_0, ...)``: a search's width ladders at once, the figures
        the mixture architecture's :attr:`parameters`, :attr:`multiply_adds` and
        :attr:`activations` give.
        """
        stacked = np.broadcast_to(rows, (members, *rows.shape))
        parameters = summed_parameters(_parameter_model(self), stacked)
        weights = self._representation_weights()
        compute = summed_multiply_adds(stacked, self._locations(), weights, self.outputs)
        held = activations(stacked, self._grid_locations(), self.outputs)
        return parameters, compute, held

    def _own_multiply_adds(self, exact: bool) -> int:
        """Count the own member's multiply-adds (all of a tree's); ``exact`` never wraps."""
        widths = [self.representation, *self.widths]
        figures = multiply_adds(
            widths, self._locations(), self._representation_weights(), self.outputs, exact
        )
        return int(figures[0])

    def _locations(self) -> tuple[int, ...]:
        """Return ``N_0, ..., N_{L-1}``, the locations each hidden layer's conv runs on."""
        return self._grid_locations()[:-1]

    def _grid_locations(self) -> tuple[int, ...]:
        """Return ``N_0, ..., N_L``, the locations of the padded grid and of each pooled grid."""
        pools, steps = [layer.pool for layer in self.layers], [layer.step for layer in self.layers]
        return grid_locations(self.grid, pools, steps)

    def _representation_weights(self) -> int:
        return int(self.representation_kernel**self.input.ndim * self.input.channels)

    def _check_counts(self) -> None:
        """Refuse a network whose counts would wrap the int64 figures (:data:`COUNT_LIMIT`).

        A mixture's other members, and all of them together, are held to it too.
        """
        if self._own_multiply_adds(exact=True) > COUNT_LIMIT:
            raise InvalidRequestError.single(
                self._count_field(),
                "the network needs more than 2^62 multiply-adds per input; it cannot be counted",
            )
        if self.mixture is not None:
            check_mixture_counts(
                self.mixture,
                self.representation,
                self.widths,
                self._locations(),
                self._representation_weights(),
                self.outputs,
            )

    def _count_field(self) -> str:
        """Name the field that makes the multiply-adds too many to count: its largest factor.

        Every term of the count is a product of the grid's locations (at most 2^20, refused on
        ``input.shape`` or ``padding`` beyond) and these numbers, so past 2^62 the largest of
        them is the one to lower: ``outputs: 10**20`` is refused on ``outputs``, not on the
        layers its term multiplies.
        """
        factors = {
            "representation": self.representation,
            "representation_kernel": self.representation_kernel**self.input.ndim,
            "input.channels": self.input.channels,
            "layers": max(self.widths),
            "outputs": self.outputs,
        }
        return max(factors, key=factors.__getitem__)

    @property
    def discarded_order(self) -> float:
        """Bits per location of window order discarded (:mod:`advisor.model.arrangement`)."""
        pools, steps = zip(*((layer.pool, layer.step) for layer in self.layers), strict=True)
        return discarded_order(self.grid, pools, steps)

    @property
    def is_overlapping(self) -> bool:
        """True when some pooling windows overlap, so the network is not a tree."""
        return any(layer.stride is not None for layer in self.layers)


def _document_keys(model: type[RequestModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


# ``widths`` is no field: the name the architecture's channels go by (``Architecture.widths``).
MixtureMember.foreign_keys = dict.fromkeys(
    sorted(
        (_document_keys(Architecture) | _document_keys(Layer) | {"widths"})
        - _document_keys(MixtureMember)
    ),
    SHARED_WITH_THE_ARCHITECTURE,
)


def validate_schedule(
    shape: Sequence[int],
    pools: Sequence[Sequence[int]],
    strides: Sequence[Sequence[int] | None] | None = None,
    geometry: Geometry = "contiguous",
    padding: Padding | None = None,
) -> Schedule:
    """Check a pooling schedule and geometry on a grid as :class:`Architecture` does.

    Parameters
    ----------
    shape
        The input grid, ``[N]`` or ``[H, W]``.
    pools, strides
        Per layer, the window size and step per axis (a ``None`` stride means the windows do
        not overlap); the rules are :mod:`advisor.model.schedule`'s.
    geometry
        The geometry the schedule must fit (its family's
        :meth:`~advisor.model.geometries.GeometryFamily.check`).
    padding
        Where the input lies on ``shape`` when ``shape`` is the input padded, else None: kept
        by the schedule, as :attr:`Architecture.schedule` keeps it.

    Returns
    -------
    Schedule
        The checked schedule; ``.grids`` holds the ``L + 1`` grid shapes: the input, then the
        output of every layer (the last is all ones).

    Raises
    ------
    InvalidRequestError
        Naming ``layers[i].pool`` or ``layers[i].stride`` (with the grid at that layer), or
        ``geometry`` / ``geometry.permutation`` / ``geometry.dilations``.
    """
    check_overlaps(geometry, [i for i, stride in enumerate(strides or ()) if stride is not None])
    schedule = check_schedule(shape, pools, strides, padding, centred=geometry == "mirror")
    family_of(geometry).check(geometry, schedule)
    return schedule


def parameter_count(arch: Architecture) -> ParameterCount:
    """Count the parameters of ``arch`` part by part (:class:`ParameterCount`).

    A mixture's ``hidden`` lists every member's hidden layers, the architecture's own first.
    """
    model = _parameter_model(arch)
    if arch.mixture is None:
        return model.breakdown((arch.representation, *arch.widths))
    parts = [
        model.breakdown((arch.representation, *own))
        for own in member_widths(arch.widths, arch.mixture)
    ]
    hidden = tuple(weights for part in parts for weights in part.hidden)
    total = arch.parameters
    return ParameterCount(
        representation=parts[0].representation,
        hidden=hidden,
        output=parts[0].output,
        biases=total - parts[0].representation - sum(hidden) - parts[0].output,
        total=total,
    )


def _parameter_model(arch: Architecture) -> ParameterModel:
    return ParameterModel.for_input(arch.input, arch.representation_kernel, arch.outputs)


_ARCHITECTURE_HOLDS: Final = (
    "an architecture file holds input, representation and layers (docs/FORMATS.md §2), or is "
    "a saved recommend result"
)


def parse_architecture(obj: Mapping[str, Any]) -> Architecture:
    """Validate an architecture document (the parsed YAML/JSON mapping).

    Raises
    ------
    InvalidRequestError
        For every problem, pydantic's included, with the field path of each violation; on
        ``""`` for another kind of document (a task, an analysis result).
    """
    refuse_other_kind(obj, "architecture", _ARCHITECTURE_HOLDS)
    return Architecture.model_validate(obj)


def load_architecture(path: str | os.PathLike[str], rank: int | None = None) -> Architecture:
    """Read and validate an architecture file, YAML or JSON (rules of :func:`read_document`).

    A saved result of ``advisor recommend --format json|yaml`` is read as its recommendation of
    rank ``rank`` (default: the first listed), as ``advisor analyze --arch`` reads it, so a design
    the command recommended goes to ``torch_module`` without editing the file.

    Raises
    ------
    InvalidRequestError
        When the file cannot be read or parsed (field ``""``, the whole document), the document
        is invalid (see :func:`parse_architecture`; in a result, under
        ``recommendations[i].architecture``), or on ``rank`` when it is no whole number from 1
        (``True`` and ``2.5`` are not ranks; ``2.0`` reads as 2), a result holds no such rank
        or the file is an architecture, not a result. On ``path`` when it is no file path (a
        mapping: :func:`parse_architecture` reads it).
    """
    require_path(path, "path", "Architecture")
    return _chosen_architecture(read_document(path, "architecture"), path, rank, "").architecture


def with_task_outputs(architecture: Architecture, task_outputs: int | None) -> Architecture:
    """Return ``architecture``, with the task's outputs when its document does not state any.

    A task's ``outputs`` are its classes, the outputs a search builds its designs with unless
    its budget names others (``Budget.outputs_for``), so an architecture that leaves them out is
    analysed with them: a task of 4 classes priced such a design as one of 1 output, with
    nothing to say so. An architecture that states its outputs keeps them: a search whose
    budget names outputs recommends designs with those, and its result is analysed as saved.
    """
    if task_outputs is None or "outputs" in architecture.model_fields_set:
        return architecture
    return architecture.model_copy(update={"outputs": task_outputs})


def architecture_document(arch: Architecture) -> dict[str, Any]:
    """Return ``arch`` in the docs/FORMATS.md §2 format, JSON-ready; it parses back to ``arch``.

    Optional fields that are unset (``stride``, ``family``) are left out; the others, defaults
    included, are written so a reader needs no knowledge of the defaults.
    """
    document: dict[str, Any] = arch.model_dump(mode="json", exclude_none=True)
    return document


class RankedArchitecture(NamedTuple):
    """The architecture a path stands for, and what its recommendation says beside it.

    ``rank`` is the chosen recommendation's (the one asked for, or the first listed's),
    ``dilations`` its dilation order (``Recommendation.dilations``), None for a design of
    another family, ``place`` where it lies (``architecture.recommendations[0]``), for a
    refusal of its fields, and ``counts`` the costs of :data:`COUNTS` it states, as written
    (checked against its architecture by ``advisor export``, which writes the design's own);
    all four are None for an architecture file.
    """

    architecture: Architecture
    rank: int | None
    dilations: tuple[int, ...] | None
    place: str | None = None
    counts: Mapping[str, object] | None = None


COUNTS: Final = ("parameters", "multiply_adds", "activations")
"""The costs a recommendation states beside its architecture, each the architecture's own
property of that name (counted from it)."""


def ranked_architecture_argument(
    path: str | os.PathLike[str], rank: int | None
) -> RankedArchitecture:
    """Read and validate the architecture a path stands for, with its rank and dilation order.

    The file's, or its recommendation's: a result of ``recommend --format json|yaml`` holds its
    recommendations' architectures; the one of rank ``rank`` (default: the first listed) is
    meant, so a saved result needs no editing. A ``rank`` with an architecture file is refused,
    not ignored. The rank and order say which design of a result ``advisor export`` wrote, and
    the order a ``dilations`` design's permutation does not show. ``advisor analyze --arch``,
    ``advisor export`` and the client's ``analyze`` read a design so, through
    :func:`advisor.export.document.design_argument`, which checks the order against the
    architecture's geometry.

    Raises
    ------
    InvalidRequestError
        Naming ``architecture`` (the file, and an architecture file's own fields under it:
        ``architecture.layers[0].pool``), ``architecture.recommendations...`` (the result, and
        an invalid architecture in it; ``...recommendations[i].dilations`` when the chosen
        recommendation's order is no dilation order of its architecture's layers) or ``rank``.
    """
    chosen = _chosen_argument(path, rank)
    if chosen.recommendation is None:
        return RankedArchitecture(chosen.architecture, None, None)
    stated = chosen.recommendation
    counts = {name: stated[name] for name in COUNTS if name in stated}
    return RankedArchitecture(
        chosen.architecture, chosen.rank, _dilation_order(chosen), chosen.field, counts
    )


def _chosen_argument(path: str | os.PathLike[str], rank: int | None) -> _Chosen:
    """Read the design a path stands for, its fields' errors placed under ``architecture``."""
    try:
        document = read_document(path, "architecture")
    except InvalidRequestError as error:
        raise error.prefixed("architecture") from None
    return _chosen_architecture(document, path, rank, "architecture")


def checked_rank(rank: object) -> int:
    """Return ``rank`` as an ``int`` if it is a recommendation's rank: a whole number from 1.

    The one check of a rank asked for, the library's, the client's and the command's: the
    client and the command said ``must be a whole number at least 1`` where the library said
    it is a recommendation's rank. Read as a budget's count is
    (:func:`~advisor.model.scalars.whole_number`): ``2.0`` is rank 2; ``True``, which ``rank in
    ranks`` took for rank 1, is refused, as are a fraction and a text.

    Raises
    ------
    InvalidRequestError
        On ``rank``.
    """
    number = whole_number(rank)
    if number is None or number < 1:
        raise InvalidRequestError.single("rank", _NO_RANK.format(rank))
    return number


class _Chosen(NamedTuple):
    """A design of a document: its architecture, and the recommendation holding it, if any.

    ``recommendation`` is the chosen recommendation's mapping as read, lying at ``field``, and
    ``rank`` its rank; both None (``field`` the document's) for an architecture file.
    """

    architecture: Architecture
    rank: int | None
    recommendation: Mapping[str, Any] | None
    field: str


def _chosen_architecture(
    document: Mapping[str, Any], path: str | os.PathLike[str], rank: int | None, field: str
) -> _Chosen:
    """Return the design ``document`` (read from ``path``, lying at ``field``) stands for.

    An architecture file's own, or the recommendation of rank ``rank`` of a recommend result
    (the first listed without ``rank``); errors on the document's fields are placed under
    ``field``, an error on ``rank`` is not. Of the recommendation, only its ``architecture`` is
    read here.
    """
    if rank is not None:
        rank = checked_rank(rank)
    if "recommendations" not in document:
        if rank is not None:
            # Another kind of document (a task) is told as what it is, as without --rank.
            try:
                refuse_other_kind(document, "architecture", _ARCHITECTURE_HOLDS)
            except InvalidRequestError as error:
                raise error.prefixed(field) from None
            raise InvalidRequestError.single(
                "rank", f"{shown_path(source_name(path))} is an architecture, not a result"
            )
        return _Chosen(_parsed_at(document, field), None, None, field)
    recommendations = document["recommendations"]
    listed = f"{field}.recommendations" if field else "recommendations"
    if not isinstance(recommendations, list):
        raise InvalidRequestError.single(
            listed, f"must be a list of recommendations, got {type(recommendations).__name__}"
        )
    if not recommendations:
        raise InvalidRequestError.single(listed, "a recommend result with no recommendation")
    ranks = _ranks(recommendations, listed)
    if rank is None:
        index = 0
    elif rank in ranks:
        index = ranks.index(rank)
    else:
        raise InvalidRequestError.single(
            "rank", f"{shown_path(source_name(path))} holds the ranks {ranks}"
        )
    chosen = recommendations[index]
    at = f"{listed}[{index}]"
    if not isinstance(chosen.get("architecture"), Mapping):
        raise InvalidRequestError.single(f"{at}.architecture", "must be an architecture")
    architecture = _parsed_at(chosen["architecture"], f"{at}.architecture")
    return _Chosen(architecture, ranks[index], chosen, at)


def _dilation_order(chosen: _Chosen) -> tuple[int, ...] | None:
    """Read the chosen recommendation's ``dilations``: None, or an order of its layers.

    Read as the geometry ``{dilations: [...]}`` of its architecture's layers is (whole numbers,
    a permutation of 1, 2, 4, ... with one per layer), errors named at the recommendation's
    ``dilations``: a hand-edited order was otherwise written into ``advisor export``'s header
    as the design's.
    """
    value = None if chosen.recommendation is None else chosen.recommendation.get("dilations")
    if value is None:
        return None
    field = f"{chosen.field}.dilations"

    def placed(path: str) -> str:
        """Place a path of the geometry's (``dilations[0]``, ``geometry.dilations``) at field."""
        root = next(
            root
            for root in ("geometry.dilations", "geometry", "dilations", "")
            if path.startswith(root)
        )
        return field + path[len(root) :]

    try:
        geometry = DilationGeometry.model_validate({"dilations": value})
        family_of(geometry).check(geometry, chosen.architecture.schedule)
    except InvalidRequestError as error:
        raise error.renamed(placed) from None
    return geometry.dilations


def _ranks(recommendations: list[Any], listed: str) -> list[int]:
    """Return the rank of each of a result's ``recommendations`` (listed at ``listed``).

    The ranks pick the design, so each is read strictly, as a saved result's fields are
    (:mod:`advisor.model.results`): a rank that is no whole number from 1 (``rank: "1"``,
    ``rank: true``, which ``rank in ranks`` took for 1) or is missing (a misspelt ``rnak:``) is
    refused naming it, where it was passed over and, without ``--rank``, never looked at, and
    so are ranks that do not run on by one (:func:`misranked`). The rest of a recommendation is
    not read: a newer version's result still gives its designs.

    Raises
    ------
    InvalidRequestError
        Naming each recommendation that is no mapping and each rank that is no rank, else
        the first rank that does not follow the one before it by one.
    """
    violations = []
    for index, entry in enumerate(recommendations):
        at = f"{listed}[{index}]"
        if not isinstance(entry, Mapping):
            violations.append(
                FieldViolation(at, f"must be a recommendation, got {type(entry).__name__}")
            )
        elif "rank" not in entry:
            violations.append(FieldViolation(f"{at}.rank", "Field required"))
        elif type(entry["rank"]) is not int or entry["rank"] < 1:
            violations.append(FieldViolation(f"{at}.rank", _NO_RANK.format(entry["rank"])))
    ranks = [entry["rank"] for entry in recommendations] if not violations else []
    violations += misranked(ranks, listed)
    if violations:
        raise InvalidRequestError(violations)
    return ranks


def misranked(ranks: Sequence[int], listed: str) -> list[FieldViolation]:
    """Refuse the first of ``ranks`` that does not follow the rank before it by one.

    ``ranks`` are those of the recommendations listed at ``listed``. The one rule of a result's
    ranks, ``parse_search_result``'s and the one ``--rank`` picks by: of two recommendations of
    rank 1, ``analyze`` and ``export`` took the first. Only the first break is named: the rank
    after an edited one breaks the run against it, and was named too, though it was as written.
    """
    for index in range(1, len(ranks)):
        if ranks[index] != ranks[index - 1] + 1:
            return [
                FieldViolation(
                    f"{listed}[{index}].rank",
                    f"is {ranks[index]}, after rank {ranks[index - 1]}: ranks run on by one",
                )
            ]
    return []


_NO_RANK: Final = "must be a whole number from 1, a recommendation's rank; got {!r}"
"""The refusal of a rank that is no rank: a result's, or the one asked for."""


def _parsed_at(document: Mapping[str, Any], field: str) -> Architecture:
    """Parse an architecture document that lies at ``field``, its errors' paths placed there."""
    try:
        return parse_architecture(document)
    except InvalidRequestError as error:
        raise error.prefixed(field) from None
