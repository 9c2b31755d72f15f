"""A Katib Experiment read as an advisor search: its graph, widths and algorithm settings.

:func:`read_experiment` maps the experiment to a :class:`KatibSearch` as the package's
docstring says (:mod:`advisor.integrations.katib`); every problem is one
:class:`~advisor.errors.FieldViolation` naming the request field, and :func:`in_katib_terms`
puts the Budget's and the search's refusals in the experiment's terms. The readers the
service's limits share (:func:`input_document`, :func:`width_spaces`, :func:`width_values`,
:func:`setting_field`) and :func:`unread_space` are here too.
"""

from __future__ import annotations

import base64
import binascii
import re
import reprlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Final, Literal

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.integrations.proposals import PAGE_SIZE
from advisor.model.architecture import Architecture
from advisor.model.budget import Budget
from advisor.model.grid import InputSpec
from advisor.model.integer_text import CountTooLongError, read_count, read_seed
from advisor.model.task import Task, list_presets, parse_task
from advisor.protocol._proto.katib.v1beta1 import api_pb2
from advisor.suggestions import did_you_mean
from advisor.words import counted

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "MAX_TIME_LIMIT",
    "SETTINGS",
    "KatibSearch",
    "Learning",
    "Source",
    "Suggestion",
    "in_katib_terms",
    "input_document",
    "read_experiment",
    "setting_field",
    "unread_space",
    "width_spaces",
    "width_values",
]

MAX_TIME_LIMIT: Final = 45.0
"""Largest ``time_limit`` setting: Katib gives a GetSuggestions call 60 s, and the designs past
the ranking are scored after the search."""

DEFAULT_TIME_LIMIT: Final = 20.0
"""Seconds a call's searches may take when the settings give no ``time_limit``."""

SETTINGS: Final = (
    "task",
    "max_parameters",
    "max_multiply_adds",
    "max_activations",
    "objective",
    "time_limit",
    "seed",
    "learn",
)
"""The algorithm settings the advisor reads; any other is refused."""

_SETTINGS_FIELD: Final = "experiment.spec.algorithm.algorithm_settings"
_NAS_FIELD: Final = "experiment.spec.nas_config"
_GRAPH_FIELD: Final = f"{_NAS_FIELD}.graph_config"
_OPERATIONS_FIELD: Final = f"{_NAS_FIELD}.operations"
_OPERATION_FIELD: Final = f"{_OPERATIONS_FIELD}.operation"
_WIDTH_PARAMETER: Final = "num_filter"
_OBJECTIVES: Final = ("weighted", "maximin")
_FLAGS: Final = {"true": True, "false": False}
_OBJECTIVE_FIELD: Final = "experiment.spec.objective"
_DIRECTIONS: Final = {api_pb2.MAXIMIZE: True, api_pb2.MINIMIZE: False}


@dataclass(frozen=True)
class Learning:
    """What the ``learn`` setting learns from: the objective's metric, whether larger is better.

    ``pool``: the positions of the sequence whose ranked designs a call re-ranks (at least; a
    call that reads further re-ranks as far as it reads): ``max_trial_count``, the designs the
    experiment's trials can reach, and never fewer than :data:`PAGE_SIZE`.
    """

    metric: str
    maximize: bool
    pool: int


@dataclass(frozen=True)
class Source:
    """Where the experiment sets a Budget option (or the task), as the user wrote it.

    ``field`` is the request field, ``name`` the name there: the ``max_parameters`` setting's,
    ``num_layers``, ``num_filter``.
    """

    field: str
    name: str


@dataclass(frozen=True)
class KatibSearch:
    """The advisor search an experiment describes; ``budget.time_limit_seconds`` is per call.

    ``learning`` is None unless the ``learn`` setting is ``true``: it changes which designs a
    call returns, not the search's sequence (:func:`search_digest` leaves it out), nor does
    ``experiment``, the experiment's name, whose suggestions a learning call remembers
    (:meth:`DesignSequence.hand_out`). ``sources`` says where in the experiment each Budget option
    the experiment sets, and ``task``, came from, to name it when the search refuses them
    (:func:`in_katib_terms`).
    """

    task: Task
    budget: Budget
    learning: Learning | None = None
    experiment: str = ""
    sources: Mapping[str, Source] = dataclass_field(default_factory=dict, compare=False)


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
    if not experiment.spec.HasField("nas_config"):
        raise InvalidRequestError.single(_NAS_FIELD, _not_nas(experiment.spec))
    violations: list[FieldViolation] = []
    hyperparameters = [parameter.name for parameter in experiment.spec.parameter_specs.parameters]
    if hyperparameters:
        # Katib's own webhook refuses such an experiment; an API call that skips it got
        # suggestions whose assignments left the hyperparameters out of every trial.
        violations.append(
            FieldViolation(
                "experiment.spec.parameter_specs.parameters",
                f"only one of parameters and nasConfig can be specified (as Katib's validation "
                f"says); the advisor suggests the nasConfig's architectures, and its "
                f"parameters ({', '.join(hyperparameters)}) would go unassigned: fix them in "
                "the trial template, or search them in an experiment of their own",
            )
        )
    graph = experiment.spec.nas_config.graph_config
    input_document = _input_document(list(graph.input_sizes), violations)
    outputs = list(graph.output_sizes)
    output_count = outputs[0] if len(outputs) == 1 and outputs[0] > 0 else None
    if output_count is None:
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
        task = _task(
            *settings["task"], list(graph.input_sizes), input_document, output_count, violations
        )
    options: dict[str, Any] = {
        "max_depth": graph.num_layers if graph.num_layers > 0 else None,
        "channel_choices": widths,
        "outputs": output_count,
        "time_limit_seconds": DEFAULT_TIME_LIMIT,
        "learn": False,
    }
    # Where each Budget option comes from, to name it when the Budget or the search refuses it.
    sources = {
        "max_depth": Source(f"{_GRAPH_FIELD}.num_layers", "num_layers"),
        "channel_choices": Source(_OPERATION_FIELD, _WIDTH_PARAMETER),
        "outputs": Source(f"{_GRAPH_FIELD}.output_sizes", "output_sizes"),
    }
    readers: dict[str, tuple[str, Callable[[str], object], str]] = {
        "max_parameters": ("max_parameters", _positive_int, "a positive integer"),
        "max_multiply_adds": ("max_multiply_adds", _positive_int, "a positive integer"),
        "max_activations": ("max_activations", _positive_int, "a positive integer"),
        "objective": ("objective", _objective, f"one of {', '.join(_OBJECTIVES)}"),
        "time_limit": ("time_limit_seconds", _time_limit, f"seconds in (0, {MAX_TIME_LIMIT:g}]"),
        "seed": ("seed", read_seed, "an integer"),
        "learn": ("learn", _flag, " or ".join(_FLAGS)),  # not the Budget's: popped below
    }
    if "task" in settings:
        sources["task"] = Source(f"{_SETTINGS_FIELD}[{settings['task'][0]}].value", "task")
    for name, (option, reader, expected) in readers.items():
        if name in settings:
            index, value = settings[name]
            sources[option] = Source(f"{_SETTINGS_FIELD}[{index}].value", name)
            try:
                options[option] = reader(value)
            except CountTooLongError as error:  # a whole number, only past every bound
                violations.append(
                    FieldViolation(f"{_SETTINGS_FIELD}[{index}].value", f"{name}: {error}")
                )
            except ValueError:
                violations.append(
                    FieldViolation(
                        f"{_SETTINGS_FIELD}[{index}].value", f"{name}: {value!r} is not {expected}"
                    )
                )
    if "max_parameters" not in settings:
        violations.append(FieldViolation(_SETTINGS_FIELD, "needs the setting 'max_parameters'"))
    learning = _learning(experiment.spec, violations) if options.pop("learn") else None
    if violations:
        raise InvalidRequestError(violations)
    try:
        budget = Budget(**options)
    except InvalidRequestError as error:
        raise in_katib_terms(error, sources) from None
    assert task is not None, "a missing or invalid task is a violation above"
    return KatibSearch(task, budget, learning, experiment.name, sources)


def _learning(spec: api_pb2.ExperimentSpec, violations: list[FieldViolation]) -> Learning | None:
    """Read what ``learn`` needs: the objective's metric and type, the trials' count."""
    objective = spec.objective
    if not objective.objective_metric_name:
        violations.append(
            FieldViolation(
                f"{_OBJECTIVE_FIELD}.objective_metric_name",
                "learn: needs the metric whose values the trials report",
            )
        )
    if objective.type not in _DIRECTIONS:
        given = api_pb2.ObjectiveType.Name(objective.type)
        violations.append(
            FieldViolation(
                f"{_OBJECTIVE_FIELD}.type", f"learn: needs MAXIMIZE or MINIMIZE, not {given}"
            )
        )
        return None
    pool = max(PAGE_SIZE, spec.max_trial_count)
    return Learning(objective.objective_metric_name, _DIRECTIONS[objective.type], pool)


def _not_nas(spec: api_pb2.ExperimentSpec) -> str:
    """Say why an experiment without ``nasConfig`` is refused, naming its parameters if any.

    Without it every part of the search would be missing and refused on its own field, none
    saying that the experiment is a hyperparameter search, which the advisor does not make.
    """
    names = [parameter.name for parameter in spec.parameter_specs.parameters]
    needed = (
        "the advisor suggests architectures: the experiment needs a nasConfig (graphConfig "
        f"inputSizes, outputSizes, numLayers; operations with {_WIDTH_PARAMETER} widths)"
    )
    if not names:
        return needed
    return f"{needed}; its parameters ({', '.join(names)}) are hyperparameters, not suggested"


def in_katib_terms(
    error: InvalidRequestError, sources: Mapping[str, Source], budget: Budget | None = None
) -> InvalidRequestError:
    """Return ``error`` of the Budget or the search in the terms of the experiment it read.

    The Budget and the search name their own fields (``budget.max_parameters``,
    ``task.correlations[0].name``), which a Katib user never wrote. A violation of an option
    the experiment sets is placed on the field that sets it (``sources``), its description led
    by the name the user wrote (``max_parameters: ...``); one of the task, under the ``task``
    setting's value. One of an option no part of the experiment sets is placed on the algorithm
    settings and says so: an advisor default no experiment can set (``min_width``,
    ``max_window``, ...), or one a setting the experiment leaves out would set (the default
    compute bound, ``max_multiply_adds``). Within a description every option it names is named
    as the experiment names it (a setting's name, set or not), or said to be a default the
    experiment cannot set; the search's advice is kept whole. A budget no design fits
    (parameters, multiply-adds or activations) also says what of the experiment to change,
    the bound that excludes the designs first (:func:`_katib_advice`, with ``budget``: the
    search's). Violations on Katib's own fields (``current_request_number``) are kept as they
    are.
    """
    return type(error)([_in_katib_terms(v, sources, budget) for v in error.violations])


_BUDGET_NAME: Final = re.compile(r"\bbudget\.([a-z_]+)")
"""A budget option a description names: ``within budget.max_parameters``."""

_NO_SOURCE: Final = "an advisor default no part of a Katib experiment sets"

_UNSET: Final = "not set: the advisor's default"
"""What a refused option is when the experiment could set it (a setting) but does not."""

_BUDGETS: Final = ("max_parameters", "max_multiply_adds", "max_activations")
"""The options whose refusal means no design fits the experiment's budget."""


def _in_katib_terms(
    violation: FieldViolation, sources: Mapping[str, Source], budget: Budget | None
) -> FieldViolation:
    """Return one violation in the experiment's terms (see :func:`in_katib_terms`)."""
    head, dot, path = violation.field.partition(".")
    if not dot or head not in ("budget", "task"):
        return violation
    if head == "task":
        source = sources.get("task")
        return violation if source is None else violation.rerooted("task", source.field)
    option = path.partition("[")[0].partition(".")[0]
    source = sources.get(option)
    description, unset = _named_in_katib_terms(violation.description, sources)
    unset = [name for name in unset if name != option or source is not None]
    if unset:
        names = " and ".join(unset)
        are = "is an advisor default" if len(unset) == 1 else "are advisor defaults"
        description += f" ({names} {are} no part of a Katib experiment sets)"
    if budget is not None and option in _BUDGETS:
        description += f"; in the experiment: {_katib_advice(budget, option, source)}"
    if source is None:
        unread = _UNSET if option in SETTINGS else _NO_SOURCE
        return FieldViolation(_SETTINGS_FIELD, f"{path} ({unread}): {description}")
    return FieldViolation(source.field, f"{source.name}{path[len(option) :]}: {description}")


def _named_in_katib_terms(text: str, sources: Mapping[str, Source]) -> tuple[str, list[str]]:
    """Return ``text`` naming each budget option it names as the experiment does.

    Also return the options it names that no part of an experiment can set, in their order:
    one a setting sets (``max_multiply_adds``) is named as that setting, set or not.
    """
    unset: list[str] = []

    def named(found: re.Match[str]) -> str:
        source = sources.get(found[1])
        if source is None and found[1] not in SETTINGS and found[1] not in unset:
            unset.append(found[1])
        return found[1] if source is None else source.name

    return _BUDGET_NAME.sub(named, text), unset


def _katib_advice(budget: Budget, option: str, source: Source | None) -> str:
    """Say what of the experiment to change when no design fits its ``option``.

    ``source`` is where the experiment sets ``option``, the bound no design fits: that setting
    is the lever, as raising ``max_parameters`` cannot admit a design a ``max_activations`` or
    ``max_multiply_adds`` setting excludes. None: the advisor's default compute bound, which
    ``max_parameters`` widens (a larger budget also admits deeper trees within the default
    window bound), or the setting replaces. Narrower ``num_filter`` values (fewer parameters,
    multiply-adds and activations alike) are a lever too while the narrowest is above the
    floor a design's hidden widths keep: the outputs, and never fewer than
    :data:`~advisor.model.budget.DEFAULT_MIN_WIDTH`.
    """
    if source is None:
        advice = f"raise max_parameters or set a larger {option}"
    else:
        advice = f"raise {source.name}"
    narrowest = budget.choices()[0]
    floor = budget.hidden_floor(budget.outputs or 1)
    if narrowest > floor:
        advice += (
            f", or add {_WIDTH_PARAMETER} values narrower than {narrowest:,} (a design's hidden "
            f"widths go down to {floor:,})"
        )
    return advice


_MOST_LEADING_CHANNELS = 4
"""The most channels a leading entry of ``input_sizes`` may be read as (RGBA), see
:func:`channels_last`, and the most a second entry of two may be, see :func:`sequence_meant`."""

_SEQUENCE_RATIO = 4
"""How many times its second entry the first of ``[N, C]`` must be, at least, to be read as a
sequence with its channels (:func:`sequence_meant`)."""


def input_document(sizes: Sequence[int]) -> dict[str, Any] | None:
    """Return the input ``input_sizes`` describe, or None when they describe none.

    ``[N]``, ``[H, W]``, ``[H, W, C]`` or ``[D, H, W, C]``, all positive; C is the channels
    (three entries are an image with its channels, as Katib's examples write them; a volume
    states its channels, ``[D, H, W, 1]`` for one). ``[N, 1, C]`` is a sequence of N steps
    with C channels, the shape ``[N]``: Katib's three entries with the 1-D input's missing axis
    written 1. Sizes written channels first (:func:`channels_last` says which), or a sequence's
    without that 1 (:func:`sequence_meant`), describe none.
    """
    if not (len(sizes) in (1, 2, 3, 4) and all(n > 0 for n in sizes)):
        return None
    if channels_last(sizes) is not None or sequence_meant(sizes) is not None:
        return None
    if len(sizes) == 3 and sizes[1] == 1:
        return {"shape": [sizes[0]], "channels": sizes[2]}
    if len(sizes) >= 3:
        return {"shape": list(sizes[:-1]), "channels": sizes[-1]}
    return {"shape": list(sizes)}


def channels_last(sizes: Sequence[int]) -> list[int] | None:
    """Return ``sizes`` with the channels moved last when they are written first, else None.

    PyTorch writes a shape channels first, ``[C, H, W]``; Katib reads ``[H, W, C]``. Read
    Katib's way, ``[3, 32, 32]`` is a 3 x 32 grid with 32 channels, a design for an input no
    one has, so sizes whose leading entry could be channels (at most
    :data:`_MOST_LEADING_CHANNELS`) and whose last two entries are a square grid's are refused
    with the order that was meant, not read as given.
    """
    if len(sizes) in (3, 4) and 0 < sizes[0] <= _MOST_LEADING_CHANNELS < sizes[-1] == sizes[-2]:
        return [*sizes[1:], sizes[0]]
    return None


def sequence_meant(sizes: Sequence[int]) -> list[int] | None:
    """Return the sizes of a sequence with its channels when ``sizes`` are one without the 1.

    ``[64, 3]`` reads as a 64 x 3 grid of one channel, whose designs pool the channel axis as a
    spatial one, silently; a sequence of 64 steps with 3 channels is ``[64, 1, 3]`` (of one
    channel, ``[64]``). So ``[N, C]`` with C at most :data:`_MOST_LEADING_CHANNELS` and N at
    least :data:`_SEQUENCE_RATIO` times C is refused with that form; a grid so narrow is written
    with its channel, ``[64, 3, 1]``.
    """
    if len(sizes) != 2 or not 0 < sizes[1] <= _MOST_LEADING_CHANNELS:
        return None
    steps, channels = sizes
    if steps < _SEQUENCE_RATIO * channels:
        return None
    return [steps] if channels == 1 else [steps, 1, channels]


def _input_document(sizes: list[int], violations: list[FieldViolation]) -> dict[str, Any] | None:
    """Return :func:`input_document` of ``sizes``; when none, add why to ``violations``."""
    document = input_document(sizes)
    if document is not None:
        return document
    meant = channels_last(sizes)
    sequence = sequence_meant(sizes)
    if meant is not None:
        problem = (
            f"{sizes} reads as a {' x '.join(map(str, sizes[:-1]))} grid with {sizes[-1]} "
            f"channels; Katib's order is channels last: did you mean {meant}?"
        )
    elif sequence is not None:
        steps, channels = sizes
        # [N, 1, 1] is the sequence [N] too: a grid N x 1 has no form of its own.
        grid = f" (the grid of {steps} x {channels} is {[*sizes, 1]})" if channels > 1 else ""
        problem = (
            f"{sizes} reads as a grid of {steps} x {channels} locations of one channel; a "
            f"sequence of {steps} steps with {counted(channels, 'channel')} "
            f"is {sequence}{grid}"
        )
    else:
        problem = f"must be [N], [H, W], [H, W, C], [N, 1, C] or [D, H, W, C] > 0; got {sizes}"
    violations.append(FieldViolation(f"{_GRAPH_FIELD}.input_sizes", problem))
    return None


def _width_choices(
    operations: Sequence[api_pb2.Operation], violations: list[FieldViolation]
) -> list[int] | None:
    """Return the widths every ``num_filter`` parameter allows, ascending (None: none valid).

    An experiment without a ``num_filter`` parameter (a misspelt ``num_filters``) is refused:
    the search would otherwise take its default widths, outside the experiment's space.
    """
    spaces = list(width_spaces(operations))
    if not spaces:
        names = [p.name for operation in operations for p in operation.parameter_specs.parameters]
        meant = next(
            (
                f"; found {name!r}{hint}"
                for name in names
                if (hint := did_you_mean(name, [_WIDTH_PARAMETER]))
            ),
            "",
        )
        violations.append(
            FieldViolation(
                _OPERATIONS_FIELD,
                f"no {_WIDTH_PARAMETER} parameter; the values of the operations' "
                f"{_WIDTH_PARAMETER} parameters are the widths a design may use{meant}",
            )
        )
        return None
    widths: set[int] = set()
    for field, space in spaces:
        try:
            found = set(width_values(space))
        except ValueError as error:
            violations.append(FieldViolation(field, str(error)))
            continue
        if min(found) <= 0:
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
                field = f"{_OPERATION_FIELD}[{i}].parameter_specs.parameters[{j}].feasible_space"
                yield field, parameter.feasible_space


def unread_space(operations: Sequence[api_pb2.Operation]) -> str | None:
    """Say which parts of the NAS search space the advisor does not read (None: it reads all).

    The advisor's designs are its own (a representation conv, then pooling levels of 1x1
    convs, docs/FORMATS.md §2): of ``nas_config.operations`` it reads the ``num_filter``
    widths only. The operation types and every other parameter (``filter_size``, ``stride``,
    ``pool_size``, ...) shape no design. They are not refused: Katib's own NAS experiments
    (enas-cpu.yaml) declare them, and the advisor serves those experiments as they are.
    """
    types = list(dict.fromkeys(o.operation_type for o in operations if o.operation_type))
    parameters = list(
        dict.fromkeys(
            p.name
            for operation in operations
            for p in operation.parameter_specs.parameters
            if p.name != _WIDTH_PARAMETER
        )
    )
    unread = [
        f"{label} {_named(names)}"
        for label, names in (("operation types", types), ("parameters", parameters))
        if names
    ]
    if not unread:
        return None
    return (
        f"the advisor reads only the {_WIDTH_PARAMETER} values of {_OPERATIONS_FIELD}; "
        f"its designs ignore the {' and the '.join(unread)}"
    )


_NAMES_SHOWN: Final = 8
"""The most names :func:`_named` lists: an experiment may declare any number."""


_NAME_REPR: Final = reprlib.Repr()
_NAME_REPR.maxstring = 60
"""Quotes a name, shortened past 60 characters: an experiment may name a parameter at length."""


def _named(names: Sequence[str]) -> str:
    """List the first :data:`_NAMES_SHOWN` of ``names``, quoted, and how many more there are."""
    shown = ", ".join(_NAME_REPR.repr(name) for name in names[:_NAMES_SHOWN])
    more = len(names) - _NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def width_values(space: api_pb2.FeasibleSpace) -> Sequence[int]:
    """Return the widths a ``num_filter`` space lists; a range stays unexpanded, to be measured.

    The space is a list, or an int range of ``min`` to ``max`` by ``step`` (default 1). A space
    that allows no width is refused for what makes it empty, not expanded to nothing.

    Raises
    ------
    ValueError
        Saying what is wrong, for the caller to put on the space's field: no list and no range,
        a value, ``min`` or ``max`` that is not an integer, ``min`` above ``max``, or a ``step``
        that is not a positive integer.
    """
    if space.list:
        return [_integer(value, "num_filter values must be integers") for value in space.list]
    if not (space.min or space.max or space.step):
        raise ValueError("num_filter lists no values: give a list, or an int range (min, max)")
    low = _integer(space.min, "num_filter min must be an integer")
    high = _integer(space.max, "num_filter max must be an integer")
    step = _integer(space.step or "1", "num_filter step must be a positive integer")
    if step <= 0:
        raise ValueError(f"num_filter step must be a positive integer, not {space.step!r}")
    if low > high:
        raise ValueError(f"num_filter min {low} is above max {high}: the range holds no width")
    return range(low, high + 1, step)


def _integer(text: str, problem: str) -> int:
    """Return ``text`` as an integer, or raise ValueError stating ``problem`` and the text."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{problem}, not {text!r}") from None


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
            hint = did_you_mean(setting.name, SETTINGS)
            violations.append(
                FieldViolation(field, f"{setting.name!r} is none of {', '.join(SETTINGS)}{hint}")
            )
        elif setting.name in found:
            violations.append(FieldViolation(field, f"{setting.name!r} is given twice"))
        else:
            found[setting.name] = (index, setting.value)
    return found


def _task(
    index: int,
    value: str,
    input_sizes: Sequence[int],
    input_document: dict[str, Any],
    output_count: int | None,
    violations: list[FieldViolation],
) -> Task | None:
    """Read the ``task`` setting: a task preset name, or a base64 YAML task document.

    The document's ``input`` and ``outputs``, if given, must equal the graph_config's
    ``input_sizes`` and ``output_sizes`` (``output_count``, None when they are refused): the
    search would otherwise use the graph_config's and silently drop the document's.
    """
    field = f"{_SETTINGS_FIELD}[{index}].value"
    presets = [p.name for p in list_presets() if p.kind == "task"]
    differences: list[FieldViolation] = []  # of the document's input: its other fields read on
    if value in presets:
        document: Any = {"input": input_document, "preset": value}
    elif not value.strip():
        # Base64 of nothing, an empty YAML document: "must be a mapping" said nothing of it.
        violations.append(_not_a_task(field, value, presets, " (the value is empty)"))
        return None
    else:
        from advisor.model.strict_yaml import load_strict

        try:
            # Whitespace is dropped: `base64 task.yaml` wraps its output at 76 columns (MIME
            # base64, RFC 2045), and a YAML block scalar (`value: |`) keeps the line breaks.
            # Any other character outside base64's alphabet is still refused.
            text = base64.b64decode("".join(value.split()), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            # Not base64 of text: why (padding, a byte the codec refused) says nothing of the
            # task meant, most often a misspelt preset.
            violations.append(_not_a_task(field, value, presets, ""))
            return None
        try:
            document = load_strict(text)
        except ValueError as error:
            violations.append(_not_a_task(field, value, presets, f" ({error})"))
            return None
        if not isinstance(document, Mapping):
            violations.append(FieldViolation(field, "task: the document must be a mapping"))
            return None
        given = document.get("input")
        if given is not None:
            differences = _input_differences(given, input_sizes, input_document, f"{field}.input")
            violations.extend(differences)
        document = {**document, "input": input_document}
    try:
        task = parse_task(document)
    except InvalidRequestError as error:
        # A preset's refusal is on the setting's value, the name itself (no field "preset").
        named = value in presets
        violations.extend(
            v.rerooted("preset", field) if named and v.field == "preset" else v.prefixed(field)
            for v in error.violations
        )
        return None
    if task.outputs is not None and output_count is not None and task.outputs != output_count:
        violations.append(
            FieldViolation(
                f"{field}.outputs",
                f"{task.outputs} differs from {_GRAPH_FIELD}.output_sizes [{output_count}]",
            )
        )
        return None
    return None if differences else task


def _not_a_task(field: str, value: str, presets: list[str], problem: str) -> FieldViolation:
    """Return the violation of a ``task`` value that is neither a preset nor a task document.

    ``problem`` is why its text is not a YAML document (as `` (line 1, ...)``), "" when the value
    is not base64 text at all. A preset misspelt ('Symmetry') may still be base64: the hint is
    given either way.
    """
    return FieldViolation(
        field,
        f"task: neither a task preset ({', '.join(presets)}) "
        f"nor a base64 YAML task document{problem}{did_you_mean(value, presets)}",
    )


def _input_differences(
    given: object, input_sizes: Sequence[int], input_document: dict[str, Any], field: str
) -> list[FieldViolation]:
    """Return why a task document's ``input`` is not the graph_config's (none when it is).

    Compared as inputs, not as text: ``channels: 1`` (or null) where ``input_sizes`` state no
    channels is the same input as ``channels`` left out, and one channel left out is the ``1``
    of ``[H, W, 1]``. An input that is none (``shape: [0]``) is refused on its own field.
    """
    try:
        stated = InputSpec.model_validate(given)
    except InvalidRequestError as error:
        return list(error.prefixed(field).violations)
    expected = InputSpec.model_validate(input_document)
    if stated == expected:
        return []
    return [
        FieldViolation(
            field,
            f"the input (shape {list(stated.shape)}, channels {stated.channels}) differs from "
            f"{_GRAPH_FIELD}.input_sizes {list(input_sizes)}"
            + _channels_hint(stated, expected, input_sizes),
        )
    ]


def _channels_hint(stated: InputSpec, expected: InputSpec, input_sizes: Sequence[int]) -> str:
    """Say how ``input_sizes`` read when a task document's shape copied them, else "".

    ``input: {shape: [32, 32, 3]}`` where ``inputSizes`` are ``[32, 32, 3]`` (or ``[32, 32]``
    where they are ``[32, 32, 1]``) is Katib's own order written as the shape: its last entry
    is the channels, which the shape does not list.
    """
    sizes, shape = list(input_sizes), list(stated.shape)
    copied = shape == sizes or (sizes[-1] == 1 and shape == sizes[:-1])
    if len(sizes) < 3 or not copied:
        return ""
    return (
        f" (input_sizes' last entry is the channels: shape {list(expected.shape)}, "
        f"channels {expected.channels})"
    )


def _positive_int(value: str) -> int:
    """Read a positive count as every budget count is read: ``200000``, ``2e5`` or ``200k``."""
    number = read_count(value)
    if number <= 0:
        raise ValueError(value)
    return number


def _objective(value: str) -> str:
    if value not in _OBJECTIVES:
        raise ValueError(value)
    return value


def _flag(value: str) -> bool:
    if value not in _FLAGS:
        raise ValueError(value)
    return _FLAGS[value]


def _time_limit(value: str) -> float:
    seconds = float(value)
    if not 0 < seconds <= MAX_TIME_LIMIT:
        raise ValueError(value)
    return seconds
