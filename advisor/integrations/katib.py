"""Kubeflow Katib: an experiment read as an advisor search, its designs as trial assignments.

Katib's suggestion controller calls ``GetSuggestions`` with the experiment and asks for
``current_request_number`` new trials, ``total_request_number`` counting every trial asked for so
far, these included (Katib's API: protos/katib/v1beta1/api.proto). The experiment maps to a
search as follows (docs/INTEGRATIONS.md has a sample Experiment):

- ``nas_config.graph_config``: ``input_sizes`` ``[N]``, ``[H, W]`` or ``[H, W, C]`` is the input
  grid (and its channels), ``output_sizes`` ``[Y]`` the outputs, ``num_layers`` the deepest
  design (``max_depth``);
- the ``num_filter`` parameters of ``nas_config.operations`` (a categorical or discrete list, or
  an int range) are the widths the designs may use (``channel_choices``);
- ``algorithm.algorithm_settings``: ``task`` (a task preset name, or a task document as base64
  YAML whose ``input``, if given, must match ``input_sizes``), ``max_parameters`` (required),
  ``objective`` (weighted or maximin), ``time_limit`` (seconds for the whole call, at most
  :data:`MAX_TIME_LIMIT` to stay under Katib's 60 s call timeout), ``seed``.

Every problem is one :class:`~advisor.errors.FieldViolation` naming the request field
(``experiment.spec.algorithm.algorithm_settings[1].value``, ...).

The designs are the advisor's ranking (paged past ``top_k``), then, once it ends, distinct
random designs of the search's own space at the budget (seeded; the designs of
``sample_architectures``, drawn through :class:`~advisor.integrations.space_draws.SpaceDraws`,
which polls the stop signal), so Katib always gets as many as it asks for while the space
lasts. Position ``total_request_number - current_request_number``
onwards is what a call returns: rounds continue the sequence without repeats.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import pydantic

from advisor.errors import (
    FieldViolation,
    InvalidRequestError,
    StoppedError,
    invalid_request_from_pydantic,
)
from advisor.integrations.encoding import ArchitectureCodec, FlatValue
from advisor.integrations.proposals import PAGE_SIZE, fetch_ranking
from advisor.integrations.space_draws import SpaceDraws
from advisor.model.architecture import Architecture
from advisor.model.budget import Budget
from advisor.model.task import Task, list_presets, parse_task
from advisor.protocol._proto.katib.v1beta1 import api_pb2
from advisor.stopping import StopSignal

__all__ = [
    "ARCHITECTURE_ASSIGNMENT",
    "DEFAULT_TIME_LIMIT",
    "MAX_TIME_LIMIT",
    "SETTINGS",
    "KatibSearch",
    "Suggestion",
    "architectures_held",
    "input_document",
    "read_experiment",
    "setting_field",
    "suggestion_assignments",
    "suggestions",
    "width_spaces",
    "width_values",
]

MAX_TIME_LIMIT: Final = 45.0
"""Largest ``time_limit`` setting: Katib gives a GetSuggestions call 60 s, and the designs past
the ranking are scored after the search."""

DEFAULT_TIME_LIMIT: Final = 20.0
"""Seconds a call's searches may take when the settings give no ``time_limit``."""

ARCHITECTURE_ASSIGNMENT: Final = "architecture"
"""The assignment holding the architecture JSON (the docs/FORMATS.md §2 file format)."""

SETTINGS: Final = ("task", "max_parameters", "objective", "time_limit", "seed")
"""The algorithm settings the advisor reads; any other is refused."""

_SETTINGS_FIELD: Final = "experiment.spec.algorithm.algorithm_settings"
_GRAPH_FIELD: Final = "experiment.spec.nas_config.graph_config"
_OPERATIONS_FIELD: Final = "experiment.spec.nas_config.operations.operation"
_WIDTH_PARAMETER: Final = "num_filter"
_OBJECTIVES: Final = ("weighted", "maximin")
_FIRST_DRAW: Final = 8
"""Designs drawn first past the ranking; each further draw doubles (see ``_sequence``)."""


@dataclass(frozen=True)
class KatibSearch:
    """The advisor search an experiment describes; ``budget.time_limit_seconds`` is per call."""

    task: Task
    budget: Budget


@dataclass(frozen=True)
class Suggestion:
    """One design for Katib: its place in the sequence (1 = best), score and provenance."""

    position: int
    architecture: Architecture
    score: float
    source: Literal["ranked", "sampled"]


def read_experiment(experiment: api_pb2.Experiment) -> KatibSearch:
    """Return the search ``experiment`` describes (see the module docstring).

    Raises
    ------
    InvalidRequestError
        With one violation per problem, each naming its request field.
    """
    violations: list[FieldViolation] = []
    graph = experiment.spec.nas_config.graph_config
    input_document = _input_document(list(graph.input_sizes), violations)
    outputs = list(graph.output_sizes)
    if len(outputs) != 1 or outputs[0] <= 0:
        violations.append(
            FieldViolation(f"{_GRAPH_FIELD}.output_sizes", f"must be [Y], Y > 0; got {outputs}")
        )
    if graph.num_layers <= 0:
        violations.append(
            FieldViolation(f"{_GRAPH_FIELD}.num_layers", "must be positive (the deepest design)")
        )
    widths = _width_choices(experiment.spec.nas_config.operations.operation, violations)
    settings = _settings(experiment.spec.algorithm.algorithm_settings, violations)
    task = None
    if "task" not in settings:
        violations.append(FieldViolation(_SETTINGS_FIELD, "needs the setting 'task'"))
    elif input_document is not None:
        task = _task(*settings["task"], input_document, violations)
    options: dict[str, Any] = {
        "max_depth": graph.num_layers if graph.num_layers > 0 else None,
        "channel_choices": widths,
        "outputs": outputs[0] if len(outputs) == 1 and outputs[0] > 0 else None,
        "time_limit_seconds": DEFAULT_TIME_LIMIT,
    }
    # The request field each Budget option comes from, to name it when the Budget refuses it.
    sources = {
        "max_depth": f"{_GRAPH_FIELD}.num_layers",
        "channel_choices": _OPERATIONS_FIELD,
        "outputs": f"{_GRAPH_FIELD}.output_sizes",
    }
    readers: dict[str, tuple[str, Callable[[str], object], str]] = {
        "max_parameters": ("max_parameters", _positive_int, "a positive integer"),
        "objective": ("objective", _objective, f"one of {', '.join(_OBJECTIVES)}"),
        "time_limit": ("time_limit_seconds", _time_limit, f"seconds in (0, {MAX_TIME_LIMIT:g}]"),
        "seed": ("seed", int, "an integer"),
    }
    for name, (option, reader, expected) in readers.items():
        if name in settings:
            index, value = settings[name]
            sources[option] = f"{_SETTINGS_FIELD}[{index}].value"
            try:
                options[option] = reader(value)
            except ValueError:
                violations.append(
                    FieldViolation(
                        f"{_SETTINGS_FIELD}[{index}].value", f"{name}: {value!r} is not {expected}"
                    )
                )
    if "max_parameters" not in settings:
        violations.append(FieldViolation(_SETTINGS_FIELD, "needs the setting 'max_parameters'"))
    if violations:
        raise InvalidRequestError(violations)
    try:
        budget = Budget(**options)
    except pydantic.ValidationError as error:
        raise _budget_error(invalid_request_from_pydantic(error), sources) from None
    except InvalidRequestError as error:
        raise _budget_error(error, sources) from None
    assert task is not None, "a missing or invalid task is a violation above"
    return KatibSearch(task, budget)


def _budget_error(error: InvalidRequestError, sources: Mapping[str, str]) -> InvalidRequestError:
    """Return ``error`` of the Budget with each violation on the request field of its option."""
    violations = []
    for violation in error.violations:
        option = violation.field.partition(".")[0].partition("[")[0]
        field = sources.get(option, _SETTINGS_FIELD)
        violations.append(FieldViolation(field, f"{violation.field}: {violation.description}"))
    return InvalidRequestError(violations)


def input_document(sizes: Sequence[int]) -> dict[str, Any] | None:
    """Return the input ``input_sizes`` describe, or None when they describe none.

    ``[N]``, ``[H, W]`` or ``[H, W, C]``, all positive; C is the channels.
    """
    if len(sizes) in (1, 2, 3) and all(n > 0 for n in sizes):
        if len(sizes) == 3:
            return {"shape": list(sizes[:2]), "channels": sizes[2]}
        return {"shape": list(sizes)}
    return None


def _input_document(sizes: list[int], violations: list[FieldViolation]) -> dict[str, Any] | None:
    document = input_document(sizes)
    if document is not None:
        return document
    violations.append(
        FieldViolation(
            f"{_GRAPH_FIELD}.input_sizes", f"must be [N], [H, W] or [H, W, C] > 0; got {sizes}"
        )
    )
    return None


def _width_choices(
    operations: Sequence[api_pb2.Operation], violations: list[FieldViolation]
) -> list[int] | None:
    """Return the widths every ``num_filter`` parameter allows, ascending (None: none given)."""
    widths: set[int] = set()
    for field, space in width_spaces(operations):
        try:
            found = set(width_values(space))
        except ValueError:
            violations.append(FieldViolation(field, "num_filter values must be integers"))
            continue
        if not found or min(found) <= 0:
            violations.append(FieldViolation(field, "num_filter values must be positive"))
            continue
        widths |= found
    return sorted(widths) or None


def width_spaces(
    operations: Sequence[api_pb2.Operation],
) -> Iterator[tuple[str, api_pb2.FeasibleSpace]]:
    """Yield the field path and feasible space of every ``num_filter`` parameter."""
    for i, operation in enumerate(operations):
        for j, parameter in enumerate(operation.parameter_specs.parameters):
            if parameter.name == _WIDTH_PARAMETER:
                field = f"{_OPERATIONS_FIELD}[{i}].parameter_specs.parameters[{j}].feasible_space"
                yield field, parameter.feasible_space


def width_values(space: api_pb2.FeasibleSpace) -> Sequence[int]:
    """Return the widths a ``num_filter`` space lists; a range stays unexpanded, to be measured.

    Raises
    ------
    ValueError
        When a value is not an integer.
    """
    if space.list:
        return [int(value) for value in space.list]
    return range(int(space.min), int(space.max) + 1, int(space.step or 1))


def setting_field(experiment: api_pb2.Experiment, name: str) -> str:
    """Return the field path of the setting ``name``'s value (of all settings if not given)."""
    for index, setting in enumerate(experiment.spec.algorithm.algorithm_settings):
        if setting.name == name:
            return f"{_SETTINGS_FIELD}[{index}].value"
    return _SETTINGS_FIELD


def _settings(
    settings: Sequence[api_pb2.AlgorithmSetting], violations: list[FieldViolation]
) -> dict[str, tuple[int, str]]:
    """Return each known setting's index and value; unknown and repeated ones are violations."""
    found: dict[str, tuple[int, str]] = {}
    for index, setting in enumerate(settings):
        field = f"{_SETTINGS_FIELD}[{index}].name"
        if setting.name not in SETTINGS:
            violations.append(
                FieldViolation(field, f"{setting.name!r} is none of {', '.join(SETTINGS)}")
            )
        elif setting.name in found:
            violations.append(FieldViolation(field, f"{setting.name!r} is given twice"))
        else:
            found[setting.name] = (index, setting.value)
    return found


def _task(
    index: int, value: str, input_document: dict[str, Any], violations: list[FieldViolation]
) -> Task | None:
    """Read the ``task`` setting: a task preset name, or a base64 YAML task document."""
    field = f"{_SETTINGS_FIELD}[{index}].value"
    presets = [p.name for p in list_presets() if p.kind == "task"]
    if value in presets:
        document: Any = {"input": input_document, "preset": value}
    else:
        try:
            text = base64.b64decode(value, validate=True).decode()
            from advisor.model.strict_yaml import load_strict

            document = load_strict(text)
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            violations.append(
                FieldViolation(
                    field,
                    f"task: neither a task preset ({', '.join(presets)}) nor a base64 YAML "
                    f"task document ({error})",
                )
            )
            return None
        if not isinstance(document, Mapping):
            violations.append(FieldViolation(field, "task: the document must be a mapping"))
            return None
        given = document.get("input")
        if given is not None and given != input_document:
            violations.append(
                FieldViolation(
                    f"{field}.input",
                    f"{given} differs from the graph_config input_sizes ({input_document})",
                )
            )
            return None
        document = {**document, "input": input_document}
    try:
        return parse_task(document)
    except InvalidRequestError as error:
        violations.extend(v.prefixed(field) for v in error.violations)
        return None


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


def _objective(value: str) -> str:
    if value not in _OBJECTIVES:
        raise ValueError(value)
    return value


def _time_limit(value: str) -> float:
    seconds = float(value)
    if not 0 < seconds <= MAX_TIME_LIMIT:
        raise ValueError(value)
    return seconds


def suggestions(
    search: KatibSearch,
    start: int,
    count: int,
    held: Collection[str] = (),
    *,
    stop: StopSignal | None = None,
    max_length: int | None = None,
) -> list[Suggestion]:
    """Return ``count`` designs from position ``start`` (0-based) of the search's sequence.

    The sequence is the advisor's ranking, then distinct seeded random designs of the search's
    space. Designs whose architecture JSON is in ``held`` (the experiment's trials) are skipped,
    so a round never repeats a trial even if a cut search ranked differently before. At most
    ``max_length`` designs of the sequence are computed (None: no bound); ``stop`` ends the work
    (the ranking's searches, the draws and the scoring of the sampled designs).

    Raises
    ------
    InvalidRequestError
        On ``current_request_number`` when the space holds fewer distinct designs than asked,
        or when skipping the held designs would need more than ``max_length``.
    StoppedError
        When ``stop`` stopped the work first.
    """
    stop = stop or StopSignal()
    needed = start + count
    while True:
        if max_length is not None and needed > max_length:
            raise InvalidRequestError.single(
                "current_request_number",
                f"asks for {count} designs from position {start + 1}; with the experiment's "
                f"trials skipped that needs {needed:,} designs of the sequence, over the "
                f"server's limit of {max_length:,}",
            )
        sequence = _sequence(search, needed, stop)
        fresh = [s for s in sequence[start:] if _json(s.architecture) not in held]
        if len(fresh) >= count or len(sequence) < needed:
            break
        needed += count - len(fresh)
    if len(fresh) < count:
        raise InvalidRequestError.single(
            "current_request_number",
            f"asks for {count} designs from position {start + 1}; the design space at this "
            f"budget holds only {len(sequence)} distinct ones",
        )
    return fresh[:count]


def _sequence(search: KatibSearch, length: int, stop: StopSignal) -> list[Suggestion]:
    """Return the first ``length`` designs of the sequence (fewer when the space runs out)."""
    from advisor.search.recommend import score_architectures

    task, budget = search.task, search.budget
    pages = math.ceil(length / PAGE_SIZE)
    limit = budget.time_limit_seconds or DEFAULT_TIME_LIMIT
    per_page = budget.model_copy(update={"time_limit_seconds": limit / pages})
    ranked = fetch_ranking(task, per_page, length, stop=stop)
    _raise_if_stopped(stop)  # a stopped search's page is partial: the positions would shift
    sequence = [Suggestion(r.rank, r.architecture, r.score, "ranked") for r in ranked]
    if len(sequence) == length:
        return sequence
    seen = {_json(s.architecture) for s in sequence}
    # Draw ever more designs (each draw of n is the first n of any larger one) until there are
    # enough or a draw comes back short, the space exhausted: the work then follows the space's
    # size rather than the count asked. The draws continue one another and poll the stop signal
    # between their tries (sample_architectures polls nothing: its last, short draw made 50
    # tries a design asked, some 50,000 for a thousand, before a stop could end it).
    draws = SpaceDraws(task, budget, seed=budget.seed)
    count = _FIRST_DRAW
    while True:
        _raise_if_stopped(stop)
        drawn = draws.draw(count, stop)
        extra: list[Architecture] = []
        for index in range(drawn):
            _raise_if_stopped(stop)  # an architecture on a large grid takes milliseconds
            architecture = draws.architecture(index)
            if _json(architecture) not in seen:
                extra.append(architecture)
        extra = extra[: length - len(sequence)]
        if len(extra) == length - len(sequence) or drawn < count:
            break
        count *= 2
    scores = score_architectures(task, budget, extra, stop) if extra else []
    for architecture, score in zip(extra, scores, strict=True):
        sequence.append(Suggestion(len(sequence) + 1, architecture, score, "sampled"))
    return sequence


def _raise_if_stopped(stop: StopSignal) -> None:
    if stop.stopped():
        raise StoppedError("the suggestions were stopped (deadline, cancellation or shutdown)")


def _json(architecture: Architecture) -> str:
    return architecture.model_dump_json(exclude_none=True)


def suggestion_assignments(
    suggestion: Suggestion, codec: ArchitectureCodec
) -> api_pb2.GetSuggestionsReply.ParameterAssignments:
    """Return Katib's assignments for one design: the architecture JSON and its flat parameters.

    Labels: ``advisor.rank`` (the position in the sequence), ``advisor.family``,
    ``advisor.score`` (the search's score) and ``advisor.source`` (ranked or sampled).
    """
    flat: dict[str, FlatValue] = codec.encode(suggestion.architecture)
    assignments = [
        api_pb2.ParameterAssignment(
            name=ARCHITECTURE_ASSIGNMENT, value=_json(suggestion.architecture)
        ),
        *(api_pb2.ParameterAssignment(name=name, value=str(value)) for name, value in flat.items()),
    ]
    return api_pb2.GetSuggestionsReply.ParameterAssignments(
        assignments=assignments,
        labels={
            "advisor.rank": str(suggestion.position),
            "advisor.family": suggestion.architecture.family or "custom",
            "advisor.score": f"{suggestion.score:.6g}",
            "advisor.source": suggestion.source,
        },
    )


def architectures_held(trials: Sequence[api_pb2.Trial]) -> set[str]:
    """Return the architecture JSON of every trial the experiment has."""
    return {
        assignment.value
        for trial in trials
        for assignment in trial.spec.parameter_assignments.assignments
        if assignment.name == ARCHITECTURE_ASSIGNMENT
    }
