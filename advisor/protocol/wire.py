"""The one converter between the wire messages (advisor.v1) and the library's pydantic models.

Requests go proto -> document -> the library's own parser, so a request over gRPC is validated
exactly like a task or architecture file, and every :class:`~advisor.errors.InvalidRequestError`
comes back with its field paths placed under the request field (``task.correlations[0].a``).
proto3 ``optional`` fields that are absent are left out of the document, so the library's
default applies; a oneof that is not set or an enum left ``*_UNSPECIFIED`` where a value is
needed is reported here, since only the wire form can express it. Results go model -> proto
directly, and back for the client. Enum values map to the library's lower-case labels by
dropping the enum's name prefix (``CERTIFICATE_UPPER_BOUND`` <-> ``"upper_bound"``).
Architectures and results are written into their messages field by field: a message handed to
a constructor is copied, and an architecture holds its input permutation (a million entries on
the largest grids, some 27 ms a copy); ``into`` writes a result into a response's field.

This module imports protobuf, never grpc.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, get_args

import numpy as np
import numpy.typing as npt

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.infer.graph import DependenceGraph, check_graph
from advisor.infer.report import InferenceReport, InferredCorrelation
from advisor.model.architecture import (
    Architecture,
    DilationGeometry,
    Geometry,
    Mixture,
    PermutationGeometry,
    parse_architecture,
)
from advisor.model.budget import AllowedFamily, Budget, ObjectiveKind, WidthProfile
from advisor.model.geometries import NamedGeometry
from advisor.model.grid import InputSpec
from advisor.model.regions import (
    BoxRegion,
    IndicesRegion,
    MaskRegion,
    PresetKind,
    PresetRegion,
    Region,
    RelationKind,
)
from advisor.model.results import (
    Analysis,
    Certificate,
    CorrelationAnalysis,
    Efficiency,
    MemberFigure,
    Recommendation,
    SearchProgress,
    SearchResult,
    UnpricedReason,
    reported_members,
    with_padded_input,
)
from advisor.model.task import PresetInfo, Task, parse_task
from advisor.protocol._proto.advisor.v1 import advisor_pb2

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper
    from google.protobuf.message import Message

__all__ = [
    "analysis_from_proto",
    "analysis_to_proto",
    "architecture_from_proto",
    "architecture_to_proto",
    "budget_from_proto",
    "budget_to_proto",
    "dependence_graph_from_proto",
    "dependence_graph_to_proto",
    "inference_report_from_proto",
    "inference_report_to_proto",
    "preset_from_proto",
    "preset_to_proto",
    "require_fields",
    "search_progress_from_proto",
    "search_progress_to_proto",
    "search_result_from_proto",
    "search_result_to_proto",
    "task_from_proto",
    "task_to_proto",
]

_V = TypeVar("_V", bound=int)
_L = TypeVar("_L", bound=str)
_Document = dict[str, Any]


class _EnumLabels(Generic[_V, _L]):
    """Maps a proto enum to lower-case labels: ``NAMED_GEOMETRY_MIRROR`` <-> ``"mirror"``.

    ``labels`` are the model's (its ``Literal``'s arguments), which :meth:`label` returns as
    that type: a test checks they are the enum's values other than UNSPECIFIED.
    """

    def __init__(self, wrapper: _EnumTypeWrapper[_V], labels: tuple[_L, ...]) -> None:
        self._wrapper = wrapper
        # The enum's name in UPPER_SNAKE_CASE is the prefix buf's STANDARD lint imposes.
        self._prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", wrapper.DESCRIPTOR.name).upper() + "_"
        self._labels: dict[str, _L] = {label: label for label in labels}

    def label(self, value: int, field: str) -> _L:
        """Return the label of ``value``; unspecified or unknown values name ``field``."""
        if value == 0:
            raise InvalidRequestError.single(field, "must be set (it is *_UNSPECIFIED)")
        try:
            name = self._wrapper.Name(cast(_V, value))
        except ValueError:
            name = ""
        known = self._labels.get(name.removeprefix(self._prefix).lower()) if name else None
        if known is None:
            raise InvalidRequestError.single(
                field,
                f"unknown enum value {value} (this version knows {', '.join(self._labels)}: the "
                "other side may run a newer advisor.v1)",
            )
        return known

    def knows(self, value: int) -> bool:
        """Return whether ``value`` is one of this version's values other than UNSPECIFIED."""
        return value != 0 and value in self._wrapper.values()

    def value(self, label: str) -> _V:
        """Return the enum value whose label is ``label``."""
        return self._wrapper.Value(self._prefix + label.upper())


_NAMED_GEOMETRY: _EnumLabels[advisor_pb2.NamedGeometry.ValueType, NamedGeometry] = _EnumLabels(
    advisor_pb2.NamedGeometry, get_args(NamedGeometry)
)
_GEOMETRY_FAMILY: _EnumLabels[advisor_pb2.GeometryFamily.ValueType, AllowedFamily] = _EnumLabels(
    advisor_pb2.GeometryFamily, get_args(AllowedFamily)
)
_OBJECTIVE: _EnumLabels[advisor_pb2.Objective.ValueType, ObjectiveKind] = _EnumLabels(
    advisor_pb2.Objective, get_args(ObjectiveKind)
)
_CERTIFICATE: _EnumLabels[advisor_pb2.Certificate.ValueType, Certificate] = _EnumLabels(
    advisor_pb2.Certificate, get_args(Certificate)
)
_PRESET_KIND: _EnumLabels[advisor_pb2.PresetKind.ValueType, PresetKind] = _EnumLabels(
    advisor_pb2.PresetKind, get_args(PresetKind)
)
_WIDTH_PROFILE: _EnumLabels[advisor_pb2.WidthProfile.ValueType, WidthProfile] = _EnumLabels(
    advisor_pb2.WidthProfile, get_args(WidthProfile)
)
_RELATION_KIND: _EnumLabels[advisor_pb2.RelationKind.ValueType, RelationKind] = _EnumLabels(
    advisor_pb2.RelationKind, get_args(RelationKind)
)
_UNPRICED_REASON: _EnumLabels[advisor_pb2.UnpricedReason.ValueType, UnpricedReason] = _EnumLabels(
    advisor_pb2.UnpricedReason, get_args(UnpricedReason)
)


# ---------------------------------------------------------------------------------------------
# Requests: proto -> library


def require_fields(request: Message, fields: Iterable[str]) -> None:
    """Refuse ``request`` unless each of its message fields ``fields`` is set, naming each unset.

    An unset message field reads as its empty default, whose decoding would blame a field
    inside it (``graph.estimate: '': must be 'exact' or 'sketch'``, ``budget.max_parameters:
    Input should be greater than 0``) rather than say what is missing. Every missing one is
    named at once, so a request lacking two is not refused twice, one call each.

    Raises
    ------
    InvalidRequestError
        With one violation on each field the request lacks, naming the message it lacks.
    """
    # An unset field's empty default is of the message type it lacks.
    missing = {
        field: getattr(request, field).DESCRIPTOR.name
        for field in fields
        if not request.HasField(field)
    }
    if missing:
        raise InvalidRequestError(
            [
                FieldViolation(field, f"is required: the request has no {kind}")
                for field, kind in missing.items()
            ]
        )


def task_from_proto(message: advisor_pb2.Task, field: str = "task") -> Task:
    """Build a :class:`Task` from its message, validated as :func:`~advisor.model.task.parse_task`.

    Raises
    ------
    InvalidRequestError
        With every field path under ``field``.
    """
    try:
        return parse_task(_task_document(message))
    except InvalidRequestError as error:
        raise error.renamed(_message_path).prefixed(field) from None


def architecture_from_proto(
    message: advisor_pb2.Architecture, field: str = "architecture"
) -> Architecture:
    """Build an :class:`Architecture` from its message (paths under ``field`` on error)."""
    try:
        return parse_architecture(_architecture_document(message))
    except InvalidRequestError as error:
        raise error.renamed(_message_path).prefixed(field) from None


# The document's paths the messages spell otherwise: a padding pair ``[before, after]`` is an
# AxisPadding, a mask's list of rows is Mask.rows.
_PADDING_ENTRY = re.compile(r"(?<![\w])padding\[(\d+)\]\[([01])\]")
_MASK_ROW = re.compile(r"(?<![\w])mask\[")


def _message_path(path: str) -> str:
    """Return a task or architecture document's ``path`` as the message's own field names.

    ``padding[0][1]`` is ``padding[0].after`` and ``a.mask[3]`` is ``a.mask.rows[3]``: a client of
    the proto looks a violation's path up in the message it sent.
    """
    path = _PADDING_ENTRY.sub(
        lambda match: f"padding[{match[1]}].{('before', 'after')[int(match[2])]}", path
    )
    return _MASK_ROW.sub("mask.rows[", path)


def budget_from_proto(message: advisor_pb2.Budget) -> Budget:
    """Build a :class:`Budget` from its message (paths under ``budget`` on error).

    The Budget names its own fields so (``budget.top_k``); an enum value no label has is
    refused here, and placed there too.
    """
    try:
        document = _budget_document(message)
    except InvalidRequestError as error:
        raise error.prefixed("budget") from None
    return Budget.model_validate(document)


def _input_document(message: advisor_pb2.InputSpec) -> _Document:
    document: _Document = {"shape": list(message.shape)}
    if message.HasField("channels"):
        document["channels"] = message.channels
    return document


def _region_document(message: advisor_pb2.Region, field: str) -> _Document:
    kind = message.WhichOneof("kind")
    if kind == "indices":
        return {"indices": list(message.indices.values)}
    if kind == "box":
        return {"box": {"start": list(message.box.start), "stop": list(message.box.stop)}}
    if kind == "mask":
        return {"mask": list(message.mask.rows)}
    if kind == "preset":
        return {"preset": message.preset}
    raise InvalidRequestError.single(field, "set one of indices, box, mask or preset")


def _correlation_document(message: advisor_pb2.Correlation, field: str) -> _Document:
    document: _Document = {"name": message.name, "a": _region_document(message.a, f"{field}.a")}
    if message.HasField("b"):
        document["b"] = _region_document(message.b, f"{field}.b")
    if message.HasField("weight"):
        document["weight"] = message.weight
    if message.relation != advisor_pb2.RELATION_KIND_UNSPECIFIED:
        document["relation"] = _RELATION_KIND.label(message.relation, f"{field}.relation")
    return document


def _task_document(message: advisor_pb2.Task) -> _Document:
    document: _Document = {
        "correlations": [
            _correlation_document(correlation, f"correlations[{i}]")
            for i, correlation in enumerate(message.correlations)
        ]
    }
    if message.HasField("input"):
        document["input"] = _input_document(message.input)
    if message.HasField("preset"):
        document["preset"] = message.preset
    if message.HasField("outputs"):
        document["outputs"] = message.outputs
    if message.arrangement:
        document["arrangement"] = list(message.arrangement)
    return document


def _geometry_document(message: advisor_pb2.Geometry) -> str | _Document:
    kind = message.WhichOneof("kind")
    if kind == "named":
        return _NAMED_GEOMETRY.label(message.named, "geometry.named")
    if kind == "permutation":
        return {"permutation": message.permutation.permutation[:]}  # a list; faster than list()
    if kind == "dilations":
        return {"dilations": list(message.dilations.dilations)}
    raise InvalidRequestError.single("geometry", "set one of named, permutation or dilations")


def _layer_document(message: advisor_pb2.Layer) -> _Document:
    document: _Document = {"channels": message.channels, "pool": list(message.pool)}
    if message.stride:
        document["stride"] = list(message.stride)
    return document


def _architecture_document(message: advisor_pb2.Architecture) -> _Document:
    document: _Document = {
        "representation": message.representation,
        "layers": [_layer_document(layer) for layer in message.layers],
    }
    if message.HasField("input"):
        document["input"] = _input_document(message.input)
    if message.HasField("geometry"):
        document["geometry"] = _geometry_document(message.geometry)
    for optional in ("outputs", "family", "representation_kernel"):
        if message.HasField(optional):
            document[optional] = getattr(message, optional)
    if message.padding:
        document["padding"] = [[axis.before, axis.after] for axis in message.padding]
    if message.HasField("mixture"):
        document["mixture"] = _mixture_document(message.mixture)
    return document


def _mixture_document(message: advisor_pb2.Mixture) -> _Document:
    members = []
    for index, member in enumerate(message.members):
        try:
            geometry = _geometry_document(member.geometry)
        except InvalidRequestError as error:
            raise error.prefixed(f"mixture.members[{index}]") from None
        members.append({"geometry": geometry, "channels": list(member.channels)})
    return {"members": members, "mixing": list(message.mixing)}


def _budget_document(message: advisor_pb2.Budget) -> _Document:
    """Return a ``Budget`` message as the budget document its model reads (field names alike).

    Only the fields the message sets are written, so the model's defaults apply to the rest;
    ``max_window`` and ``max_step`` of 0 are no bound (None), enums their labels.
    """
    document: _Document = {"max_parameters": message.max_parameters}
    for optional in (
        "min_depth",
        "max_depth",
        "max_channels",
        "search_dilations",
        "top_k",
        "time_limit_seconds",
        "seed",
        "log2_rank_target",
        "outputs",
        "representation_kernel",
        "min_width",
        "min_representation",
        "max_representation",
        "max_multiply_adds",
        "max_activations",
        "page_token",
    ):
        if message.HasField(optional):
            document[optional] = getattr(message, optional)
    for unbounded_at_zero in ("max_window", "max_step"):
        if message.HasField(unbounded_at_zero):
            document[unbounded_at_zero] = getattr(message, unbounded_at_zero) or None
    if message.width_profile != advisor_pb2.WIDTH_PROFILE_UNSPECIFIED:
        document["width_profile"] = _WIDTH_PROFILE.label(message.width_profile, "width_profile")
    if message.channel_choices:
        document["channel_choices"] = list(message.channel_choices)
    if message.geometries:
        document["geometries"] = [
            _GEOMETRY_FAMILY.label(family, f"geometries[{i}]")
            for i, family in enumerate(message.geometries)
        ]
    if message.objective != advisor_pb2.OBJECTIVE_UNSPECIFIED:
        document["objective"] = _OBJECTIVE.label(message.objective, "objective")
    return document


# ---------------------------------------------------------------------------------------------
# Requests: library -> proto (the client's direction)


def task_to_proto(task: Task) -> advisor_pb2.Task:
    """Encode a :class:`Task`; ``task_from_proto`` of the result equals ``task``."""
    return advisor_pb2.Task(
        input=_input_to_proto(task.input),
        correlations=[
            advisor_pb2.Correlation(
                name=correlation.name,
                a=_region_to_proto(correlation.a),
                b=None if correlation.b is None else _region_to_proto(correlation.b),
                weight=correlation.weight,
                relation=(
                    advisor_pb2.RELATION_KIND_UNSPECIFIED
                    if correlation.relation is None
                    else _RELATION_KIND.value(correlation.relation)
                ),
            )
            for correlation in task.correlations
        ],
        preset=task.preset,
        outputs=task.outputs,
        arrangement=task.arrangement,
    )


def architecture_to_proto(
    architecture: Architecture, into: advisor_pb2.Architecture | None = None
) -> advisor_pb2.Architecture:
    """Encode an :class:`Architecture`; the inverse of :func:`architecture_from_proto`.

    ``into``: an empty message to write into (a field of a larger one), returned.
    """
    message = advisor_pb2.Architecture() if into is None else into
    message.SetInParent()
    message.input.CopyFrom(_input_to_proto(architecture.input))
    message.representation = architecture.representation
    message.layers.extend(
        advisor_pb2.Layer(channels=layer.channels, pool=layer.pool, stride=layer.stride)
        for layer in architecture.layers
    )
    _write_geometry(message.geometry, architecture.geometry)
    for optional in ("outputs", "family", "representation_kernel"):
        value = getattr(architecture, optional)
        if value is not None:
            setattr(message, optional, value)
    message.padding.extend(
        advisor_pb2.AxisPadding(before=before, after=after)
        for before, after in architecture.padding or ()
    )
    if architecture.mixture is not None:
        _write_mixture(message.mixture, architecture.mixture)
    return message


def _write_mixture(message: advisor_pb2.Mixture, mixture: Mixture) -> None:
    for member in mixture.members:
        written = message.members.add(channels=member.channels)
        _write_geometry(written.geometry, member.geometry)
    message.mixing.extend(mixture.mixing)


def budget_to_proto(budget: Budget) -> advisor_pb2.Budget:
    """Encode a :class:`Budget`; the inverse of :func:`budget_from_proto`.

    ``top_k`` and ``time_limit_seconds`` are sent only when the budget sets them: left to the
    library's defaults, they are left unset, so a server whose limits are lower answers with its
    own (:func:`advisor.service.limits.defaults_within`) instead of refusing a value the caller
    never chose. ``max_channels`` and the practical-only fields with defaults (the M range,
    ``max_window``, ``max_step``) are sent only when set too, so the server refuses them where
    they do not apply (beside ``channel_choices``; on a free budget) exactly when the caller
    chose them.

    Raises
    ------
    InvalidRequestError
        On ``time_limit_seconds`` when it is ``None``: the service bounds every search, and
        leaving the field out would silently mean the default limit instead of none.
    """
    chosen = budget.model_fields_set
    if budget.time_limit_seconds is None:
        raise InvalidRequestError.single(
            "time_limit_seconds", "the service needs a time limit; set a number of seconds"
        )
    return advisor_pb2.Budget(
        max_parameters=budget.max_parameters,
        min_depth=budget.min_depth,
        max_depth=budget.max_depth,
        channel_choices=budget.channel_choices,
        max_channels=budget.max_channels if "max_channels" in chosen else None,
        geometries=[_GEOMETRY_FAMILY.value(family) for family in budget.geometries or ()],
        search_dilations=budget.search_dilations,
        top_k=budget.top_k if "top_k" in chosen else None,
        time_limit_seconds=budget.time_limit_seconds if "time_limit_seconds" in chosen else None,
        seed=budget.seed,
        objective=_OBJECTIVE.value(budget.objective),
        log2_rank_target=budget.log2_rank_target,
        outputs=budget.outputs,
        representation_kernel=budget.representation_kernel,
        width_profile=_WIDTH_PROFILE.value(budget.width_profile),
        min_width=budget.min_width,
        min_representation=budget.min_representation if "min_representation" in chosen else None,
        max_representation=budget.max_representation if "max_representation" in chosen else None,
        max_window=(budget.max_window or 0) if "max_window" in chosen else None,
        max_step=(budget.max_step or 0) if "max_step" in chosen else None,
        max_multiply_adds=budget.max_multiply_adds,
        max_activations=budget.max_activations,
        page_token=budget.page_token,
    )


def _input_to_proto(spec: InputSpec) -> advisor_pb2.InputSpec:
    return advisor_pb2.InputSpec(shape=spec.shape, channels=spec.channels)


def _region_to_proto(region: Region) -> advisor_pb2.Region:
    if isinstance(region, IndicesRegion):
        return advisor_pb2.Region(indices=advisor_pb2.IndexList(values=region.indices))
    if isinstance(region, BoxRegion):
        return advisor_pb2.Region(box=advisor_pb2.Box(start=region.box.start, stop=region.box.stop))
    if isinstance(region, MaskRegion):
        return advisor_pb2.Region(mask=advisor_pb2.Mask(rows=region.mask))
    if isinstance(region, PresetRegion):
        return advisor_pb2.Region(preset=region.preset)
    raise TypeError(f"not a region: {region!r}")


def _write_geometry(message: advisor_pb2.Geometry, geometry: Geometry) -> None:
    if isinstance(geometry, PermutationGeometry):
        message.permutation.permutation.extend(geometry.permutation)
    elif isinstance(geometry, DilationGeometry):
        message.dilations.dilations.extend(geometry.dilations)
    else:
        message.named = _NAMED_GEOMETRY.value(geometry)


# ---------------------------------------------------------------------------------------------
# Results, both directions


def _correlation_analysis_to_proto(
    analysis: CorrelationAnalysis,
) -> advisor_pb2.CorrelationAnalysis:
    return advisor_pb2.CorrelationAnalysis(
        name=analysis.name,
        log2_separation_rank=analysis.log2_separation_rank,
        log2_max_rank=analysis.log2_max_rank,
        certificate=_CERTIFICATE.value(analysis.certificate),
        weight=analysis.weight,
        log2_min_cut=analysis.log2_min_cut,
        log2_lower_bound=analysis.log2_lower_bound,
        members=[
            advisor_pb2.MemberFigure(
                log2_separation_rank=member.log2_separation_rank,
                certificate=_CERTIFICATE.value(member.certificate),
            )
            for member in analysis.members or ()
        ],
    )


def _correlation_analysis_from_proto(
    message: advisor_pb2.CorrelationAnalysis, field: str
) -> CorrelationAnalysis:
    """Decode one correlation's figures, ``members`` as sent.

    A server that predates member figures sends none for a mixture: the design's reader says
    they are not reported (:func:`~advisor.model.results.reported_members`).
    """
    return CorrelationAnalysis(
        name=message.name,
        log2_separation_rank=message.log2_separation_rank,
        log2_max_rank=message.log2_max_rank,
        certificate=_CERTIFICATE.label(message.certificate, f"{field}.certificate"),
        weight=message.weight,
        log2_min_cut=message.log2_min_cut if message.HasField("log2_min_cut") else None,
        log2_lower_bound=(
            message.log2_lower_bound if message.HasField("log2_lower_bound") else None
        ),
        members=tuple(
            MemberFigure(
                log2_separation_rank=member.log2_separation_rank,
                certificate=_CERTIFICATE.label(
                    member.certificate, f"{field}.members[{index}].certificate"
                ),
            )
            for index, member in enumerate(message.members)
        ),
    )


def _efficiency_to_proto(efficiency: Efficiency | None) -> advisor_pb2.Efficiency | None:
    if efficiency is None:
        return None
    return advisor_pb2.Efficiency(
        log2_shallow_channels=efficiency.log2_shallow_channels,
        log2_shallow_parameters=efficiency.log2_shallow_parameters,
        log2_contiguous_channels=efficiency.log2_contiguous_channels,
        log2_contiguous_parameters=efficiency.log2_contiguous_parameters,
        contiguous_priced=efficiency.contiguous_priced,
        unpriced_reason=(
            advisor_pb2.UNPRICED_REASON_UNSPECIFIED
            if efficiency.unpriced_reason is None
            else _UNPRICED_REASON.value(efficiency.unpriced_reason)
        ),
        shallow_reaches=efficiency.shallow_reaches,
    )


def _efficiency_from_proto(
    message: advisor_pb2.Analysis | advisor_pb2.Recommendation,
) -> Efficiency | None:
    """Decode a message's efficiency; None when it has none (a producer that predates it).

    Contiguous figures on the wire mean the contiguous net was priced, whatever
    ``contiguous_priced`` says: a producer that predates that field leaves it false (proto3's
    default) beside the figures it priced, which read as "not computed" and were dropped.
    """
    if not message.HasField("efficiency"):
        return None
    efficiency = message.efficiency
    contiguous = efficiency.HasField("log2_contiguous_parameters")
    priced = efficiency.contiguous_priced or contiguous
    return Efficiency(
        log2_shallow_channels=efficiency.log2_shallow_channels,
        log2_shallow_parameters=efficiency.log2_shallow_parameters,
        log2_contiguous_channels=efficiency.log2_contiguous_channels if contiguous else None,
        log2_contiguous_parameters=efficiency.log2_contiguous_parameters if contiguous else None,
        contiguous_priced=priced,
        unpriced_reason=None if priced else _unpriced_reason(efficiency),
        shallow_reaches=(
            efficiency.shallow_reaches if efficiency.HasField("shallow_reaches") else True
        ),
    )


def _unpriced_reason(efficiency: advisor_pb2.Efficiency) -> UnpricedReason | None:
    """Return why the contiguous net went unpriced (None: no reason this version knows).

    Read only where the net was not priced (:func:`_efficiency_from_proto` decides). A reason
    a newer server adds is read as none sent, whose words cover every reason: the reason only
    explains a comparison left out, and refusing it refused the whole answer, every design's
    figures with it, from every server newer than the client.
    """
    reason = efficiency.unpriced_reason
    if not _UNPRICED_REASON.knows(reason):
        return None
    return _UNPRICED_REASON.label(reason, "efficiency.unpriced_reason")


def analysis_to_proto(analysis: Analysis) -> advisor_pb2.Analysis:
    """Encode an :class:`Analysis` (the ``Analyze`` result)."""
    return advisor_pb2.Analysis(
        parameters=analysis.parameters,
        correlations=[_correlation_analysis_to_proto(c) for c in analysis.correlations],
        multiply_adds=analysis.multiply_adds,
        activations=analysis.activations or 0,
        efficiency=_efficiency_to_proto(analysis.efficiency),
    )


def analysis_from_proto(
    message: advisor_pb2.Analysis, architecture: Architecture | None = None
) -> Analysis:
    """Decode an :class:`Analysis`; an unknown certificate names its path under ``analysis``.

    ``architecture``: the design analysed, whose multiply-adds and activations stand in for
    those of a producer that predates them (:func:`_multiply_adds`, :func:`_activations`), whose
    mixture, if any, has its missing member figures read as not reported, and whose padding the
    analysis' table says (:attr:`~advisor.model.results.Analysis.padded_input`); without it such
    an analysis keeps the wire's 0 multiply-adds and empty members, and its activations are not
    reported (None).
    """
    mixture = architecture is not None and architecture.mixture is not None
    analysis = Analysis(
        parameters=message.parameters,
        correlations=reported_members(
            (
                _correlation_analysis_from_proto(c, f"analysis.correlations[{i}]")
                for i, c in enumerate(message.correlations)
            ),
            mixture,
        ),
        multiply_adds=(
            message.multiply_adds
            if architecture is None
            else _multiply_adds(message.multiply_adds, architecture)
        ),
        efficiency=_efficiency_from_proto(message),
        activations=(
            message.activations or None
            if architecture is None
            else _activations(message.activations, architecture)
        ),
    )
    return analysis if architecture is None else with_padded_input(analysis, architecture)


def _multiply_adds(sent: int, architecture: Architecture) -> int:
    """Return the multiply-adds an answer ``sent`` for ``architecture``, or the design's own count.

    A producer that predates the field (``Analysis.multiply_adds``, ``Recommendation.
    multiply_adds``) leaves it out, which proto3 reads as 0, a count no network has (its
    representation conv alone costs some): shown as it came, "0 multiply-adds" misstated every
    design's compute. The design's count is the one a current producer sends.
    """
    return sent or architecture.multiply_adds


def _activations(sent: int, architecture: Architecture) -> int:
    """Return the activations an answer ``sent`` for ``architecture``, or the design's own count.

    As :func:`_multiply_adds`: a producer that predates the field sends proto3's 0, a count no
    network has (it holds its logits at least), and the design's count is what a current one
    sends.
    """
    return sent or architecture.activations


def _write_recommendation(
    message: advisor_pb2.Recommendation, recommendation: Recommendation
) -> None:
    message.MergeFrom(
        advisor_pb2.Recommendation(
            rank=recommendation.rank,
            score=recommendation.score,
            parameters=recommendation.parameters,
            analysis=[_correlation_analysis_to_proto(c) for c in recommendation.analysis],
            rationale=recommendation.rationale,
            summary=recommendation.summary,
            multiply_adds=recommendation.multiply_adds,
            activations=recommendation.activations,
            efficiency=_efficiency_to_proto(recommendation.efficiency),
            dilations=recommendation.dilations or (),
        )
    )
    architecture_to_proto(recommendation.architecture, into=message.architecture)


def _recommendation_from_proto(message: advisor_pb2.Recommendation, field: str) -> Recommendation:
    architecture = architecture_from_proto(message.architecture, f"{field}.architecture")
    return Recommendation(
        rank=message.rank,
        score=message.score,
        parameters=message.parameters,
        architecture=architecture,
        analysis=[
            _correlation_analysis_from_proto(c, f"{field}.analysis[{i}]")
            for i, c in enumerate(message.analysis)
        ],
        rationale=message.rationale,
        multiply_adds=_multiply_adds(message.multiply_adds, architecture),
        activations=_activations(message.activations, architecture),
        efficiency=_efficiency_from_proto(message),
        dilations=tuple(message.dilations) or None,
        summary=message.summary,
    )


def search_result_to_proto(
    result: SearchResult, into: advisor_pb2.SearchResult | None = None
) -> advisor_pb2.SearchResult:
    """Encode a :class:`SearchResult` (the ``Recommend`` result).

    ``into``: an empty message to write into (a response's field), returned.
    """
    message = advisor_pb2.SearchResult() if into is None else into
    message.SetInParent()  # present in its parent even where every field holds its default
    for recommendation in result.recommendations:
        _write_recommendation(message.recommendations.add(), recommendation)
    message.candidates_evaluated = result.candidates_evaluated
    message.search_seconds = result.search_seconds
    message.complete = result.complete
    message.next_page_token = result.next_page_token or ""
    message.empty_reason = result.empty_reason or ""
    message.ranking_version = result.ranking_version or 0
    return message


def search_result_from_proto(message: advisor_pb2.SearchResult) -> SearchResult:
    """Decode a :class:`SearchResult` (a refusal names its path under ``result``)."""
    return SearchResult(
        recommendations=[
            _recommendation_from_proto(r, f"result.recommendations[{i}]")
            for i, r in enumerate(message.recommendations)
        ],
        candidates_evaluated=message.candidates_evaluated,
        search_seconds=message.search_seconds,
        complete=message.complete,
        next_page_token=message.next_page_token or None,
        ranking_version=message.ranking_version or None,
    )


def search_progress_to_proto(progress: SearchProgress) -> advisor_pb2.SearchProgress:
    """Encode a :class:`SearchProgress` event."""
    return advisor_pb2.SearchProgress(
        candidates_evaluated=progress.candidates_evaluated,
        elapsed_seconds=progress.elapsed_seconds,
        best_score=progress.best_score,
        fraction_done=progress.fraction_done,
    )


def search_progress_from_proto(message: advisor_pb2.SearchProgress) -> SearchProgress:
    """Decode a :class:`SearchProgress` event (``best_score`` ``None`` when absent)."""
    return SearchProgress(
        candidates_evaluated=message.candidates_evaluated,
        elapsed_seconds=message.elapsed_seconds,
        best_score=message.best_score if message.HasField("best_score") else None,
        fraction_done=message.fraction_done,
    )


def preset_to_proto(preset: PresetInfo) -> advisor_pb2.Preset:
    """Encode a :class:`PresetInfo`."""
    return advisor_pb2.Preset(
        name=preset.name, kind=_PRESET_KIND.value(preset.kind), description=preset.description
    )


def preset_from_proto(message: advisor_pb2.Preset) -> PresetInfo | None:
    """Decode a :class:`PresetInfo`; None for a kind a newer server added (skip the preset).

    No field of this version takes a preset of a kind it has no name for, so leaving it out
    loses nothing usable; refusing it refused the whole ``ListPresets`` answer, every region
    and task preset with it, from every server newer than the client. An unspecified kind is
    still refused on ``preset.kind``: no server sends it.
    """
    if message.kind and not _PRESET_KIND.knows(message.kind):
        return None
    return PresetInfo(
        name=message.name,
        kind=_PRESET_KIND.label(message.kind, "preset.kind"),
        description=message.description,
    )


def dependence_graph_to_proto(graph: DependenceGraph) -> advisor_pb2.DependenceGraph:
    """Encode a :class:`DependenceGraph` (weights as 32-bit floats: the summary stays compact)."""
    return advisor_pb2.DependenceGraph(
        input=advisor_pb2.InputSpec(shape=graph.shape, channels=graph.channels),
        samples=graph.samples,
        top_k=graph.top_k,
        rows=graph.rows.tolist(),
        cols=graph.cols.tolist(),
        weights=graph.weights.tolist(),
        constant=graph.constant,
        estimate=graph.estimate,
        distinct_samples=graph.distinct_samples,
        effective_samples=graph.effective_samples,
        kurtosis=None if graph.kurtosis is None else graph.kurtosis.tolist(),
        largest_deviation=(
            None if graph.largest_deviation is None else graph.largest_deviation.tolist()
        ),
        skewness=None if graph.skewness is None else graph.skewness.tolist(),
        effective_channels=(
            None if graph.effective_channels is None else graph.effective_channels.tolist()
        ),
        tail_channels=None if graph.tail_channels is None else graph.tail_channels.tolist(),
    )


def dependence_graph_from_proto(
    message: advisor_pb2.DependenceGraph, max_locations: int, field: str = "graph"
) -> DependenceGraph:
    """Decode and check a :class:`DependenceGraph` (:func:`~advisor.infer.graph.check_graph`).

    Raises
    ------
    InvalidRequestError
        With every field path under ``field``.
    """
    if message.estimate not in ("exact", "sketch"):
        raise InvalidRequestError.single(
            f"{field}.estimate", f"{message.estimate!r}: must be 'exact' or 'sketch'"
        )
    graph = DependenceGraph(
        shape=tuple(message.input.shape),
        channels=message.input.channels if message.input.HasField("channels") else 1,
        samples=message.samples,
        top_k=message.top_k,
        rows=np.asarray(message.rows, dtype=np.int64),
        cols=np.asarray(message.cols, dtype=np.int64),
        weights=np.asarray(message.weights, dtype=np.float64),
        constant=tuple(message.constant),
        estimate="exact" if message.estimate == "exact" else "sketch",
        distinct_samples=(
            message.distinct_samples if message.HasField("distinct_samples") else None
        ),
        effective_samples=(
            message.effective_samples if message.HasField("effective_samples") else None
        ),
        kurtosis=_given_floats(message.kurtosis),
        largest_deviation=_given_floats(message.largest_deviation),
        skewness=_given_floats(message.skewness),
        effective_channels=_given_floats(message.effective_channels),
        tail_channels=_given_floats(message.tail_channels),
    )
    try:
        check_graph(graph, max_locations)
    except InvalidRequestError as error:
        raise error.prefixed(field) from None
    return graph


def _given_floats(values: Iterable[float]) -> npt.NDArray[np.float64] | None:
    """Return a repeated double field as an array; None when empty (proto3 has no unset list)."""
    array = np.asarray(values, dtype=np.float64)
    return array if array.size else None


def inference_report_to_proto(report: InferenceReport) -> advisor_pb2.InferTaskResponse:
    """Encode an :class:`InferenceReport` (a threshold and evidence of None as the wire's 0)."""
    return advisor_pb2.InferTaskResponse(
        task=None if report.task is None else task_to_proto(report.task),
        input=None if report.input is None else _input_to_proto(report.input),
        outputs=report.outputs,
        arrangement=report.arrangement,
        entanglement_before=report.entanglement_before,
        entanglement_after=report.entanglement_after,
        partitioner=report.partitioner,
        correlations=[
            advisor_pb2.InferredCorrelation(
                name=c.name,
                entanglement=c.entanglement,
                kept=c.kept,
                chance=c.chance or 0.0,
                dropped=c.dropped,
            )
            for c in report.correlations
        ],
        threshold=report.threshold or 0.0,
        evidence=report.evidence or 0,
    )


def inference_report_from_proto(message: advisor_pb2.InferTaskResponse) -> InferenceReport:
    """Decode an :class:`InferenceReport` (the task, when present, is validated as any task).

    A server that predates the partitions' ``chance`` sends 0 for each, which read as a chance
    of 0: it is None (not reported) unless the server reports the evidence threshold (a later
    field), some partition has a chance above 0, or no dependence crosses any partition (every
    chance is then 0).
    """
    chance_reported = (
        message.threshold > 0
        or any(c.chance for c in message.correlations)
        or not any(c.entanglement for c in message.correlations)
    )
    return InferenceReport(
        task=task_from_proto(message.task) if message.HasField("task") else None,
        arrangement=tuple(message.arrangement),
        entanglement_before=tuple(message.entanglement_before),
        entanglement_after=tuple(message.entanglement_after),
        partitioner=message.partitioner,
        correlations=tuple(
            InferredCorrelation(
                c.name, c.entanglement, c.kept, c.chance if chance_reported else None, c.dropped
            )
            for c in message.correlations
        ),
        # Every threshold is above 0: the wire's 0 is a server that predates it, as its evidence.
        threshold=message.threshold or None,
        evidence=message.evidence if message.threshold else None,
        input=(
            InputSpec.model_validate(_input_document(message.input))
            if message.HasField("input")
            else None
        ),
        outputs=message.outputs if message.HasField("outputs") else None,
    )
