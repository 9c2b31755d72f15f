"""Export a recommendation: the architecture file (docs/FORMATS.md §2) and a PyTorch module.

The architecture file is what every framework can build from; :func:`recommendation_document`
adds the ranking, analysis and rationale around it for reports, and :func:`search_result_document`
a whole result: the document ``advisor recommend --format json`` writes, which ``advisor analyze
--arch`` and the client's ``analyze`` read back (``rank`` picks a recommendation).
:func:`analysis_document` and :func:`presets_document` are the other results' documents.
:func:`torch_module` builds the network in PyTorch (the optional ``torch`` extra, imported only
when called): a ReLU network with the recommended pooling geometry realised as a fixed gather of
the input locations.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, get_args

import pydantic

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.extras import extra_needed
from advisor.geometry.layouts import dilation_tree_of, input_permutation
from advisor.model.architecture import (
    COUNTS,
    Architecture,
    RankedArchitecture,
    architecture_document,
    misranked,
    parse_architecture,
    ranked_architecture_argument,
)
from advisor.model.arguments import require_instance
from advisor.model.documents import refuse_other_kind
from advisor.model.results import Analysis, CorrelationAnalysis, SearchResult
from advisor.model.task import repeated_names
from advisor.validation_messages import invalid_request_from_pydantic

if TYPE_CHECKING:
    from torch import nn

    from advisor.model.results import Recommendation
    from advisor.model.task import PresetInfo

__all__ = [
    "PoolingKind",
    "analysis_document",
    "architecture_yaml",
    "check_pooling",
    "counts_contradiction",
    "design_argument",
    "dilations_contradiction",
    "parse_analysis",
    "parse_search_result",
    "presets_document",
    "recommendation_document",
    "search_result_document",
    "torch_module",
]

PoolingKind = Literal["max", "avg"]


def architecture_yaml(architecture: Architecture) -> str:
    """Return the architecture file (YAML) of ``architecture``; ``load_architecture`` reads it.

    Lists of numbers are written inline (``pool: [2, 2]``, a permutation as one wrapped block),
    as docs/FORMATS.md writes the file: block style took a line per number, 1,024 lines for the
    permutation of a 32x32 input.
    """
    from advisor.export.yaml_output import readable_yaml  # PyYAML, for this function only

    require_instance(architecture, Architecture, "architecture")
    return readable_yaml(architecture_document(architecture))


def recommendation_document(recommendation: Recommendation) -> dict[str, Any]:
    """Return a recommendation as a JSON-ready mapping in the field names of docs/FORMATS.md §4.

    ``architecture`` is the architecture file's mapping, so it can be saved and loaded alone.
    """
    return {
        "rank": recommendation.rank,
        "score": recommendation.score,
        "parameters": recommendation.parameters,
        "multiply_adds": recommendation.multiply_adds,
        "activations": recommendation.activations,
        "dilations": None if recommendation.dilations is None else list(recommendation.dilations),
        "architecture": architecture_document(recommendation.architecture),
        # Dumped as JSON data: dataclasses.asdict kept a mixture's members a tuple, so the
        # document was not the one --format json writes (a list), as analysis_document's is.
        "analysis": [_document(c) for c in recommendation.analysis],
        "summary": recommendation.summary,
        "rationale": recommendation.rationale,
        "efficiency": (
            None if recommendation.efficiency is None else _document(recommendation.efficiency)
        ),
    }


def search_result_document(result: SearchResult) -> dict[str, Any]:
    """Return a recommendation result as JSON-ready data (docs/FORMATS.md §4).

    Saved as JSON or YAML, it is what ``advisor recommend --format json|yaml`` writes: ``advisor
    analyze --arch FILE [--rank K]`` and ``AdvisorClient.analyze(task, FILE, rank=K)`` read it.
    """
    require_instance(result, SearchResult, "result")
    document = _document(
        result, recommendations=[recommendation_document(r) for r in result.recommendations]
    )
    return {**document, "empty_reason": result.empty_reason}


def analysis_document(analysis: Analysis) -> dict[str, Any]:
    """Return an analysis result as JSON-ready data (docs/FORMATS.md §3).

    Raises
    ------
    InvalidRequestError
        On ``analysis`` when it is no :class:`Analysis` (a search result has its own document).
    """
    require_instance(analysis, Analysis, "analysis")
    return _document(analysis)


def parse_search_result(document: Mapping[str, Any]) -> SearchResult:
    """Read a recommendation result back from its document (:func:`search_result_document`).

    The document as saved (``json.load`` of ``advisor recommend --format json``, a YAML one
    read with ``yaml.safe_load``) gives the result written, equal to it. Its ``empty_reason``
    is derived from the rest (:attr:`SearchResult.empty_reason`), so it is read as nothing; a
    recommendation saved before ``activations`` gets its architecture's count
    (:func:`_activations_counted`). Its figures are as the search wrote them: the ranks cannot
    be recomputed without the task, so only what contradicts itself is refused (below), and a
    hand-edited design keeps the figures of the one it replaced; ``analyze(task,
    recommendation.architecture)`` (``advisor analyze TASK --arch RESULT --rank K``) recomputes
    them.

    Raises
    ------
    InvalidRequestError
        Naming each field that does not hold what a result does (``recommendations[0].score``),
        each figure its design or its bounds contradict (:func:`_result_contradictions`), or the
        document itself when it is no mapping (its text, say: ``json.loads`` reads it)
        or another kind of document (an analysis, a task), saying which.

    Examples
    --------
    >>> import json
    >>> from advisor import Budget, load_task, recommend
    >>> result = recommend(load_task("examples/tasks/symmetry.yaml"), Budget(max_parameters=9_000))
    >>> parse_search_result(json.loads(json.dumps(search_result_document(result)))) == result
    True
    """
    if isinstance(document, Mapping):
        document = _activations_counted(
            {key: value for key, value in document.items() if key != "empty_reason"}
        )
    result = _parsed(SearchResult, document, "a search result", "recommend result", _RESULT_HOLDS)
    _refuse_contradictions(_result_contradictions(result))
    if result.ranking_version is not None and result.ranking_version < 1:
        # The wire's 0 for "predates it" is a document's null: a 0 here would read as a version.
        raise InvalidRequestError.single(
            "ranking_version",
            f"must be at least 1, or null for a result that predates ranking versions; got "
            f"{result.ranking_version}",
        )
    return result


def _activations_counted(document: dict[str, Any]) -> dict[str, Any]:
    """Return ``document``, each recommendation without ``activations`` given its design's count.

    A result saved before the field holds every design it would count, so the count is the one
    the result's producer would have written, as the wire reads a producer that predates it. A
    recommendation whose architecture does not parse is left for validation to refuse, naming
    its faults.
    """
    recommendations = document.get("recommendations")
    if not isinstance(recommendations, list):
        return document
    return {**document, "recommendations": [_with_activations(r) for r in recommendations]}


def _with_activations(recommendation: object) -> object:
    """Return a recommendation's document, its ``activations`` counted if it has none."""
    if not isinstance(recommendation, Mapping) or "activations" in recommendation:
        return recommendation
    design = recommendation.get("architecture")
    try:
        architecture = parse_architecture(design) if isinstance(design, Mapping) else None
    except InvalidRequestError:
        architecture = None
    if architecture is None:
        return recommendation
    return {**recommendation, "activations": architecture.activations}


def parse_analysis(document: Mapping[str, Any]) -> Analysis:
    """Read an analysis back from its document (:func:`analysis_document`): equal to it.

    A correlation without ``members`` (an analysis saved before member figures) reads them as
    None, not recorded: the analysis does not say whether its design was a mixture, and empty
    ``members`` would say a tree.

    Raises
    ------
    InvalidRequestError
        Naming each field that does not hold what an analysis does (``correlations[0].name``),
        each figure no analysis writes (:func:`_figure_contradictions`), or the document itself
        when it is no mapping or another kind of document (a search result, a task), saying
        which.
    """
    analysis = _parsed(
        Analysis, _members_unrecorded(document), "an analysis", "analysis result", _ANALYSIS_HOLDS
    )
    _refuse_contradictions(_figure_contradictions(analysis.correlations, "correlations"))
    return analysis


_SLACK: Final = 1e-9
"""The relative rounding two figures of one design may differ by where one bounds the other."""


def _result_contradictions(result: SearchResult) -> list[FieldViolation]:
    """Name what a result's designs say against themselves: an edited document's figures.

    A recommendation's costs are its architecture's (they are counted from it), the ranks run
    on by one, and each design's figures are bounded as :func:`_figure_contradictions` checks.
    """
    ranks = [recommendation.rank for recommendation in result.recommendations]
    found = misranked(ranks, "recommendations")
    for index, recommendation in enumerate(result.recommendations):
        place, architecture = f"recommendations[{index}]", recommendation.architecture
        stated = {name: getattr(recommendation, name) for name in COUNTS}
        found += counts_contradiction(architecture, stated, place)
        if recommendation.dilations is not None:
            found += dilations_contradiction(
                architecture, recommendation.dilations, f"{place}.dilations"
            )
        tree = not architecture.is_overlapping and architecture.mixture is None
        found += _figure_contradictions(recommendation.analysis, f"{place}.analysis", tree)
    return found


def counts_contradiction(
    architecture: Architecture, stated: Mapping[str, object], place: str
) -> list[FieldViolation]:
    """Name each count (:data:`COUNTS`) a recommendation at ``place`` states unlike its design.

    A recommendation's costs are counted from its architecture: one that differs was edited
    (the widths or M changed, its ``parameters`` left). ``parse_search_result`` refuses it,
    and ``advisor export``, whose header gives the design's own counts, as well. The one check
    of both; a count ``stated`` as None or not at all is not checked.
    """
    found = []
    for name in COUNTS:
        given, count = stated.get(name), getattr(architecture, name)
        if given is not None and given != count:
            written = f"{given:,}" if type(given) is int else repr(given)
            found.append(
                FieldViolation(
                    f"{place}.{name}",
                    f"is {written}, but its architecture has {count:,}: the document was "
                    "edited; write the design's own count or recommend again",
                )
            )
    return found


def dilations_contradiction(
    architecture: Architecture, dilations: Sequence[int], field: str
) -> list[FieldViolation]:
    """Name ``dilations`` (lying at ``field``) unless it is ``architecture``'s dilation order.

    The order of the geometry whose size-2 dilated convs pool as the architecture's
    permutation does, its windows' members in any order (:func:`dilation_tree_of`): a
    recommendation's ``dilations`` edited (or pasted from another design)
    was written into ``advisor export``'s header, and read by ``analyze --arch`` and
    ``parse_search_result`` without a word. The one check of all three.
    """
    try:
        matches = dilation_tree_of(dilations, input_permutation(architecture))
    except TypeError:  # no order of integers
        matches = False
    if matches:
        return []
    return [
        FieldViolation(
            field,
            f"{dilations!r} is not the dilation order of the architecture's geometry (the "
            "one whose size-2 dilated convs pool as its permutation does)",
        )
    ]


def design_argument(
    path: str | os.PathLike[str], rank: int | None, *, counted: bool = False
) -> RankedArchitecture:
    """Read a design as :func:`~advisor.model.architecture.ranked_architecture_argument` does.

    And refuse a recommendation's dilation order that is not its architecture's
    (:func:`dilations_contradiction`, at ``architecture.recommendations[i].dilations``): what
    ``advisor analyze --arch`` and ``advisor export`` read a design with. With ``counted``
    (``advisor export``'s, whose header gives the design's counts) also its stated counts that
    are not the design's (:func:`counts_contradiction`): ``analyze --arch`` recomputes them.
    """
    chosen = ranked_architecture_argument(path, rank)
    found = []
    if chosen.dilations is not None:
        found += dilations_contradiction(
            chosen.architecture, chosen.dilations, f"{chosen.place}.dilations"
        )
    if counted and chosen.counts is not None and chosen.place is not None:
        found += counts_contradiction(chosen.architecture, chosen.counts, chosen.place)
    _refuse_contradictions(found)
    return chosen


def _figure_contradictions(
    correlations: Sequence[CorrelationAnalysis], place: str, tree: bool = False
) -> list[FieldViolation]:
    """Name each correlation's figure that its bounds contradict, and each name used twice.

    A separation rank is at most the min-cut and at least its lower bound (docs/THEORY.md).
    Its ``log2_max_rank`` caps it only where every version capped it: on a tree (``tree``, a
    recommendation's design says so) and for a ``tight`` figure, which only a tree's is. An
    overlapping net's figure passed it in documents written before the figure was capped by it
    (docs/THEORY.md §8), and such a document still reads. The names are a task's, which are
    distinct.
    """
    found = repeated_names([figure.name for figure in correlations], place)
    for index, figure in enumerate(correlations):
        rank = figure.log2_separation_rank
        capped = tree or figure.certificate == "tight"
        bounds = [
            ("above", "log2_min_cut", figure.log2_min_cut),
            ("below", "log2_lower_bound", figure.log2_lower_bound),
            ("above", "log2_max_rank", figure.log2_max_rank if capped else None),
        ]
        for side, name, bound in bounds:
            if bound is None:
                continue
            past = (rank - bound) * (1 if side == "above" else -1)
            if past > _SLACK * max(1.0, abs(bound)):
                found.append(
                    FieldViolation(
                        f"{place}[{index}].log2_separation_rank",
                        f"is {rank:g}, {side} its {name} of {bound:g}, which bounds it",
                    )
                )
    return found


def _refuse_contradictions(violations: Sequence[FieldViolation]) -> None:
    """Raise :class:`InvalidRequestError` naming ``violations``, if there are any."""
    if violations:
        raise InvalidRequestError(violations)


def _members_unrecorded(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``document``, its correlations without a ``members`` key given ``members: null``.

    What is no analysis document (no mapping, correlations that are no list of mappings) is
    returned as it is, for validation to refuse.
    """
    correlations = document.get("correlations") if isinstance(document, Mapping) else None
    if not isinstance(correlations, list):
        return document
    return {
        **document,
        "correlations": [
            {**c, "members": None} if isinstance(c, Mapping) and "members" not in c else c
            for c in correlations
        ],
    }


_RESULT_HOLDS: Final = (
    "a recommend result holds recommendations, candidates_evaluated, search_seconds and complete "
    "(docs/FORMATS.md §4)"
)
_ANALYSIS_HOLDS: Final = (
    "an analysis result holds parameters, multiply_adds and correlations (docs/FORMATS.md §3)"
)

_Result = TypeVar("_Result", Analysis, SearchResult)


def _parsed(
    kind: type[_Result], document: Mapping[str, Any], noun: str, form: str, holds: str
) -> _Result:
    """Validate ``document`` as a ``kind`` (``noun``, in words): its fields are the document's keys.

    Anything but a mapping (or a ``kind`` already) is refused as :func:`parse_task` refuses it:
    the document's text passed as it is read ": Input should be a dictionary or an instance of
    SearchResult", with no word of what to pass. Another kind of document (an analysis passed
    for a search result, a task for an analysis) is refused as that kind, as the task and
    architecture parsers refuse it (:func:`~advisor.model.documents.refuse_other_kind`, ``form``
    the kind's name there, ``holds`` what its document holds): field by field it was told
    "recommendations: Field required; candidates_evaluated: Field required; ...".
    """
    if not isinstance(document, Mapping | kind):
        raise InvalidRequestError.single(
            "",
            f"{noun} document must be a mapping (what json.load or yaml.safe_load reads of its "
            f"file), not {type(document).__name__}",
        )
    refuse_other_kind(document, form, holds)
    try:
        return pydantic.TypeAdapter(kind).validate_python(document)
    except pydantic.ValidationError as error:
        raise invalid_request_from_pydantic(error, model=kind) from None


def presets_document(presets: Sequence[PresetInfo]) -> dict[str, Any]:
    """Return the preset list as JSON-ready data: ``{"presets": [{name, kind, description}]}``."""
    return {"presets": [_document(preset) for preset in presets]}


def _document(value: object, **replaced: object) -> dict[str, Any]:
    # Results are dataclasses holding pydantic models; pydantic dumps both. The field order (the
    # docs/FORMATS.md order) is kept while nested documents are substituted.
    dumped: dict[str, Any] = pydantic.TypeAdapter(type(value)).dump_python(value, mode="json")
    return {name: replaced.get(name, field) for name, field in dumped.items()}


def check_pooling(pooling: object) -> None:
    """Refuse a ``pooling`` that is no :data:`PoolingKind`, naming the field ``pooling``."""
    if pooling not in get_args(PoolingKind):
        raise InvalidRequestError.single(
            "pooling", f"must be one of {', '.join(get_args(PoolingKind))}; got {pooling!r}"
        )


_TORCH_CPU_FIRST: Final = (
    "first torch's CPU wheel, pip install torch==2.13.0 --index-url "
    "https://download.pytorch.org/whl/cpu (from PyPI the extra's pin installs the CUDA build, "
    "several GB), then "
)
"""What the PyTorch export's missing-extra error says to install before the extra (README.md,
Set-up); a test checks the version against the extra's pin in ``pyproject.toml``."""


def torch_module(architecture: Architecture, pooling: PoolingKind = "max") -> nn.Module:
    """Build ``architecture`` as a PyTorch module (see :class:`advisor.export.torch_net.ConvNet`).

    An architecture with a ``mixture`` becomes a
    :class:`~advisor.export.torch_mixture.MixtureNet`. Either takes the unpadded input
    ``(batch, input.channels, *input.shape)`` and returns ``(batch, outputs)`` scores; it has
    ``architecture.parameters`` parameters and works with ``torch.compile``, ``torch.export``,
    ``torch.jit.trace`` and ``torch.fx``, not ``torch.jit.script`` (README, "The PyTorch
    export").

    Raises
    ------
    InvalidRequestError
        On ``architecture`` when it is no :class:`Architecture` (a recommendation, whose
        ``.architecture`` is one, or a document, which ``parse_architecture`` reads), on
        ``pooling`` when it is not ``"max"`` or ``"avg"``.
    ModuleNotFoundError
        When PyTorch is not installed; the message names the extra that provides it.
    """
    require_instance(architecture, Architecture, "architecture")
    check_pooling(pooling)
    with extra_needed("The PyTorch export", "torch", "torch", _TORCH_CPU_FIRST):
        from advisor.export.torch_mixture import MixtureNet
        from advisor.export.torch_net import ConvNet
    if architecture.mixture is not None:
        return MixtureNet(architecture, pooling)
    return ConvNet(architecture, pooling)
