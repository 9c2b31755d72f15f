"""Kubeflow Katib: an experiment read as an advisor search, its designs as trial assignments.

Katib's suggestion controller calls ``GetSuggestions`` with the experiment and asks for
``current_request_number`` new trials, ``total_request_number`` counting every trial asked for so
far, these included (Katib's API: protos/katib/v1beta1/api.proto). The experiment maps to a
search as follows (docs/INTEGRATIONS.md has a sample Experiment):

- ``nas_config.graph_config``: ``input_sizes`` ``[N]``, ``[H, W]``, ``[H, W, C]`` or
  ``[D, H, W, C]`` (a volume or a video) is the input grid (and its channels), ``output_sizes``
  ``[Y]`` the outputs, ``num_layers`` the deepest design (``max_depth``);
- the ``num_filter`` parameters of ``nas_config.operations`` (a categorical or discrete list, or
  an int range) are the widths the designs may use (``channel_choices``); an experiment without
  one is refused;
- ``algorithm.algorithm_settings``: ``task`` (a task preset name, or a task document as base64
  YAML whose ``input`` and ``outputs``, if given, must match ``input_sizes`` and
  ``output_sizes``), ``max_parameters`` (required), ``objective`` (weighted or maximin),
  ``time_limit`` (seconds for the whole call, at most :data:`MAX_TIME_LIMIT` to stay under
  Katib's 60 s call timeout), ``seed``, ``learn`` (``true`` or ``false``, the default: see
  below).

Every problem is one :class:`~advisor.errors.FieldViolation` naming the request field
(``experiment.spec.algorithm.algorithm_settings[1].value``, ...), the Budget's and the search's
refusals too, with advice on what the experiment sets (:func:`in_katib_terms`).

The designs are the advisor's ranking (paged past ``top_k``), then, once it ends, distinct
random designs of the search's own space at the budget (seeded; the designs of
``sample_architectures``, drawn through :class:`~advisor.search.draws.SpaceDraws`,
which polls the stop signal), so Katib always gets as many as it asks for while the space
lasts. Position ``total_request_number - current_request_number`` onwards is what a call
returns: rounds continue the sequence without repeats. A :class:`SuggestionCache` keeps each
search's sequence as far as it was computed, so a call continues it instead of computing it
from position 1 again (the service keeps one).

With ``learn`` set to ``true`` (:class:`Learning`), each call also reads the trials' results:
the objective metric's value of every trial that succeeded (:func:`observations`, as Katib's
own algorithms read them) re-ranks the ranked designs not yet tried, of the sequence's first
:attr:`Learning.pool` positions (``max_trial_count``, the designs the experiment's trials can
reach, at least :data:`PAGE_SIZE`) or as far as the call reads
(:func:`~advisor.integrations.learning.rerank_ranks`, as ``AdvisorSampler(learn=True)`` does),
and a call returns the best-predicted first, then the sampled designs in their order. The
re-ranking is the call's own: the kept sequence stays the search's. Out of the sequence's
order, a design handed out whose trial Katib has not made yet is not among the trials: the
:class:`SuggestionCache` remembers what each experiment (by name) was handed at the places
Katib counts, and a call skips what was handed out before its first place, as Katib's own
algorithms remember what they suggested. With :class:`HandedOutFiles` (the service's
``--katib-data-dir``, the volume Katib mounts for an experiment's ``resumePolicy:
FromVolume``) that record is also kept in files, so a restarted service, or an evicted
sequence, reads it back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
import os
import re
import reprlib
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from advisor.errors import (
    FieldViolation,
    InvalidRequestError,
    StoppedError,
    did_you_mean,
)
from advisor.integrations.learning import log2_ranks, rerank_ranks
from advisor.integrations.proposals import PAGE_SIZE
from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.budget import Budget
from advisor.model.grid import InputSpec
from advisor.model.task import Task, list_presets, parse_task
from advisor.protocol._proto.katib.v1beta1 import api_pb2
from advisor.stopping import StopSignal

if TYPE_CHECKING:
    # The search is imported where it runs: the service reads Katib's limits without loading it.
    from advisor.search.draws import SpaceDraws
    from advisor.search.scoring import DesignScorer

__all__ = [
    "ARCHITECTURE_ASSIGNMENT",
    "DEFAULT_TIME_LIMIT",
    "MAX_CACHED_BYTES",
    "MAX_CACHED_EXPERIMENTS",
    "MAX_HANDED_OUT_FILE_BYTES",
    "MAX_TIME_LIMIT",
    "SETTINGS",
    "HandedOutFiles",
    "KatibSearch",
    "Learning",
    "Source",
    "Suggestion",
    "SuggestionCache",
    "architectures_held",
    "check_trial_count",
    "in_katib_terms",
    "input_document",
    "observations",
    "read_experiment",
    "search_digest",
    "setting_field",
    "suggestion_assignments",
    "suggestions",
    "template_value",
    "unread_space",
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

SETTINGS: Final = ("task", "max_parameters", "objective", "time_limit", "seed", "learn")
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
_FIRST_DRAW: Final = 8
"""Designs drawn first past the ranking; each further draw doubles (see ``_Sequence._sample``)."""

MAX_CACHED_EXPERIMENTS: Final = 32
"""Sequences a :class:`SuggestionCache` keeps by default (its docstring says why)."""

MAX_CACHED_BYTES: Final = 256 * 2**20
"""Estimated bytes a :class:`SuggestionCache` keeps at most by default."""

_BYTES_PER_LOCATION: Final = 48
"""A ranked architecture's bytes per input location: its permutation as a tuple of ints (~40,
measured: 1,000 architectures on a 128 x 128 input hold 650 MB) and in its JSON (~5)."""
_BYTES_PER_DESIGN: Final = 2048
"""A kept architecture's bytes besides its permutation, rounded up."""
_BYTES_PER_CORRELATION: Final = 32
"""A ranked design's log2 separation rank on one correlation, kept to learn from (a float and
its place in a tuple)."""
_BYTES_PER_DRAW: Final = 256
"""A drawn design kept as its tree and widths, with its try, key and place."""
_BYTES_PER_HANDED_OUT: Final = 192
"""A suggestion a learning call handed out, kept as its place and its design's sha256 (a dict
entry of an int and a 64-character str)."""
_BYTES_PER_SEARCH: Final = 2**20
"""The search the draws keep (its candidates and width ladders: ~0.1-1 MiB measured)."""
_LOCK_POLL_SECONDS: Final = 0.05
"""How often a call waiting for another call's turn on its sequence polls its stop signal."""

MAX_HANDED_OUT_FILE_BYTES: Final = 16 * 2**20
"""Most bytes of a :class:`HandedOutFiles` file read: a record holds at most the server's
``max_katib_designs`` places at ~75 bytes each (~75 KB at the default 1,000, over 200,000 in
16 MiB); a larger file is no record the service wrote."""

_RECORD_PREFIX: Final = ".handed-out-"
"""How a :class:`HandedOutFiles` record's next version is named before its ``os.replace``."""
_PROBE_PREFIX: Final = ".probe-"
"""How the file :meth:`HandedOutFiles.check_writable` makes and removes is named."""
_TEMPORARY_PREFIXES: Final = (_RECORD_PREFIX, _PROBE_PREFIX)
"""The temporary files' names' beginnings: one a crash left is removed at start."""

_HANDED_OUT_FORMAT: Final = 1
"""The version of the :class:`HandedOutFiles` format written; a file of another is not read."""
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")

_LOGGER = logging.getLogger(__name__)


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
    (:meth:`_Sequence.hand_out`). ``sources`` says where in the experiment each Budget option
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
        "objective": ("objective", _objective, f"one of {', '.join(_OBJECTIVES)}"),
        "time_limit": ("time_limit_seconds", _time_limit, f"seconds in (0, {MAX_TIME_LIMIT:g}]"),
        "seed": ("seed", int, "an integer"),
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
    setting's value. One of an option no part of the experiment sets (``min_width``,
    ``max_window``, ...: the advisor's defaults) is placed on the algorithm settings and says
    so. Within a description every option it names is named as the experiment names it, or
    said to be a default the experiment cannot set; the search's advice is kept whole. A
    budget no design fits (parameters or compute) also says what of the experiment to change
    (:func:`_katib_advice`, with ``budget``: the search's). Violations on Katib's own fields
    (``current_request_number``) are kept as they are.
    """
    return type(error)([_in_katib_terms(v, sources, budget) for v in error.violations])


_BUDGET_NAME: Final = re.compile(r"\bbudget\.([a-z_]+)")
"""A budget option a description names: ``within budget.max_parameters``."""

_NO_SOURCE: Final = "an advisor default no part of a Katib experiment sets"

_BUDGETS: Final = ("max_parameters", "max_multiply_adds")
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
        description += f"; in the experiment: {_katib_advice(budget)}"
    if source is None:
        return FieldViolation(_SETTINGS_FIELD, f"{path} ({_NO_SOURCE}): {description}")
    return FieldViolation(source.field, f"{source.name}{path[len(option) :]}: {description}")


def _named_in_katib_terms(text: str, sources: Mapping[str, Source]) -> tuple[str, list[str]]:
    """Return ``text`` naming each budget option it names as the experiment does.

    Also return the options it names that no part of the experiment sets, in their order.
    """
    unset: list[str] = []

    def named(found: re.Match[str]) -> str:
        source = sources.get(found[1])
        if source is None and found[1] not in unset:
            unset.append(found[1])
        return found[1] if source is None else source.name

    return _BUDGET_NAME.sub(named, text), unset


def _katib_advice(budget: Budget) -> str:
    """Say what of the experiment to change when no design fits its budget.

    The parameter budget is the experiment's own lever (a larger one also widens the
    advisor's default compute bound and admits deeper trees within its default window bound);
    narrower ``num_filter`` values are one too while the narrowest is above the floor a
    design's hidden widths keep: the outputs, and never fewer than
    :data:`~advisor.model.budget.DEFAULT_MIN_WIDTH`.
    """
    advice = "raise max_parameters"
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
:func:`channels_last`."""


def input_document(sizes: Sequence[int]) -> dict[str, Any] | None:
    """Return the input ``input_sizes`` describe, or None when they describe none.

    ``[N]``, ``[H, W]``, ``[H, W, C]`` or ``[D, H, W, C]``, all positive; C is the channels
    (three entries are an image with its channels, as Katib's examples write them; a volume
    states its channels, ``[D, H, W, 1]`` for one). Sizes written channels first
    (:func:`channels_last` says which) describe none.
    """
    if len(sizes) in (1, 2, 3, 4) and all(n > 0 for n in sizes) and channels_last(sizes) is None:
        if len(sizes) >= 3:
            return {"shape": list(sizes[:-1]), "channels": sizes[-1]}
        return {"shape": list(sizes)}
    return None


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


def _input_document(sizes: list[int], violations: list[FieldViolation]) -> dict[str, Any] | None:
    document = input_document(sizes)
    if document is not None:
        return document
    meant = channels_last(sizes)
    if meant is not None:
        problem = (
            f"{sizes} reads as a {' x '.join(map(str, sizes[:-1]))} grid with {sizes[-1]} "
            f"channels; Katib's order is channels last: did you mean {meant}?"
        )
    else:
        problem = f"must be [N], [H, W], [H, W, C] or [D, H, W, C] > 0; got {sizes}"
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
    if value in presets:
        document: Any = {"input": input_document, "preset": value}
    else:
        from advisor.model.strict_yaml import load_strict

        try:
            text = base64.b64decode(value, validate=True).decode()
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
            if differences:
                violations.extend(differences)
                return None
        document = {**document, "input": input_document}
    try:
        task = parse_task(document)
    except InvalidRequestError as error:
        violations.extend(v.prefixed(field) for v in error.violations)
        return None
    if task.outputs is not None and output_count is not None and task.outputs != output_count:
        violations.append(
            FieldViolation(
                f"{field}.outputs",
                f"{task.outputs} differs from {_GRAPH_FIELD}.output_sizes [{output_count}]",
            )
        )
        return None
    return task


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
    number = int(value)
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


def suggestions(
    search: KatibSearch,
    start: int,
    count: int,
    held: Collection[str] = (),
    *,
    observed: Mapping[str, float] | None = None,
    stop: StopSignal | None = None,
    max_length: int | None = None,
    cache: SuggestionCache | None = None,
) -> list[Suggestion]:
    """Return ``count`` designs from position ``start`` (0-based) of the search's sequence.

    The sequence is the advisor's ranking, then distinct seeded random designs of the search's
    space. Designs whose architecture JSON is in ``held`` (the experiment's trials) are skipped,
    so a round never repeats a trial even if a cut search ranked differently before. With
    ``search.learning``, the ranked designs not held, of the first :attr:`Learning.pool`
    positions (at most ``max_length``) or as far as the call reads (wherever they are: the
    trials rather than ``start`` say which were tried), come first, best-predicted from
    ``observed`` (the objective value by architecture JSON, :func:`observations`), then the
    sampled designs from ``start``; with fewer than two distinct values observed, in the
    sequence's order. A learning call also skips the designs earlier calls handed
    ``search.experiment`` at places before ``start`` (which Katib holds, trial or not; with
    ``cache`` only: what the sequence remembers, or the cache's
    :attr:`~SuggestionCache.files` hold). At most ``max_length`` designs of the sequence are
    computed (None: no bound; the service's ``max_katib_designs``, which a refusal names as the
    setting to raise); ``stop`` ends the work (the ranking's searches, the draws and
    the scoring of the sampled designs). With ``cache`` the sequence continues from
    where an earlier call on the same search left it (the same designs a computation from the
    start gives); without, it is computed from the start.

    Raises
    ------
    InvalidRequestError
        On ``current_request_number`` when the space holds fewer distinct designs than asked,
        or when skipping the held designs would need more than ``max_length``.
    StoppedError
        When ``stop`` stopped the work first.
    """
    stop = stop or StopSignal()
    with _turn(search, stop, cache) as sequence:
        # Designs Katib holds from the experiment's earlier calls, trial or not: only learning
        # returns designs out of the sequence's order, so only it can hand one out twice.
        handed = set() if search.learning is None else sequence.handed_out(search.experiment, start)
        untried = partial(sequence.untried, held=held, handed=handed)
        pool = 0  # the positions whose ranked designs learning re-ranks, at least
        if search.learning is not None:
            pool = search.learning.pool
            pool = pool if max_length is None else min(pool, max_length)
            sequence.rank(pool, stop)  # before the loop's: one time limit for all its pages
        needed = start + count
        while True:
            if max_length is not None and needed > max_length:
                raise InvalidRequestError.single(
                    "current_request_number",
                    f"asks for {count} designs from position {start + 1}; with the experiment's "
                    f"trials skipped that needs {needed:,} designs of the sequence, over the "
                    f"server's limit of {max_length:,} (max_katib_designs)",
                )
            length = sequence.extend(needed, stop)
            window = sequence.window(start, length)
            fresh = [s for s in window if untried(s)]
            if len(fresh) >= count or length < needed:
                break
            needed += count - len(fresh)
        if search.learning is not None:
            learnt = sequence.reranked(
                max(length, pool), untried, observed or {}, search.learning.maximize
            )
            fresh = learnt + [s for s in fresh if s.source == "sampled"]
            if len(fresh) >= count:
                sequence.hand_out(search.experiment, start, fresh[:count])
    if len(fresh) < count:
        raise InvalidRequestError.single(
            "current_request_number",
            f"asks for {count} designs from position {start + 1}; the design space at this "
            f"budget holds only {length} distinct ones",
        )
    return fresh[:count]


def check_trial_count(
    search: KatibSearch,
    trials: int,
    *,
    stop: StopSignal | None = None,
    cache: SuggestionCache | None = None,
) -> None:
    """Refuse an experiment of ``trials`` trials (its ``max_trial_count``) the space cannot fill.

    GetSuggestions refuses a request past the distinct designs of the search's space, and
    Katib's controller retries a refused call without end: the experiment would stall at that
    trial, Running, its reason only in the controller's events. So ValidateAlgorithmSettings
    computes the first ``trials`` designs of the sequence (with ``cache``, kept for the calls
    that follow) and refuses the experiment up front. Katib asks for a design more for every
    failed trial, so this bounds the trials that complete, not all of them.

    Raises
    ------
    InvalidRequestError
        On ``experiment.spec.max_trial_count``, saying how many designs the space holds.
    StoppedError
        When ``stop`` stopped the work first.
    """
    stop = stop or StopSignal()
    with _turn(search, stop, cache) as sequence:
        length = sequence.extend(trials, stop)
    if length < trials:
        raise InvalidRequestError.single(
            "experiment.spec.max_trial_count",
            f"{trials:,} trials need as many designs; the design space at this budget holds "
            f"only {length:,} distinct ones (a larger num_layers, more num_filter widths or "
            "max_parameters widen it)",
        )


@contextmanager
def _turn(
    search: KatibSearch, stop: StopSignal, cache: SuggestionCache | None
) -> Iterator[_Sequence]:
    """Hold ``search``'s sequence: ``cache``'s, or a new one computed alone.

    What the search refuses inside is refused in the experiment's terms (:func:`in_katib_terms`).
    """
    hold: AbstractContextManager[_Sequence] = (
        nullcontext(_Sequence(search)) if cache is None else cache.sequence(search, stop)
    )
    try:
        with hold as sequence:
            yield sequence
    except InvalidRequestError as error:
        raise in_katib_terms(error, search.sources, search.budget) from None


class _Sequence:
    """One search's sequence of designs as far as it was computed, extended on demand.

    The sequence of a search is its ranking (pages of a deterministic search, continued by
    their tokens), then the designs of ``sample_architectures`` past the ranked ones, in draw
    order, each draw of ``n`` the first ``n`` of any larger one. So a longer prefix continues a
    shorter one, and this keeps what it computed: the ranked designs (their JSON, which the
    trials are matched by, and their log2 ranks, to learn from) and the page token after them,
    the draws
    (:class:`~advisor.search.draws.SpaceDraws`, which keeps each design as its tree and widths
    and builds it when asked), the search's objective
    (:class:`~advisor.search.scoring.DesignScorer`) and the sampled designs' scores, each kept
    as soon as it is computed.
    A ranking search its time limit cuts ranks what it reached: a computation from position 1
    may rank otherwise, and the kept sequence continues the one its first call ranked (the
    trials skipped, as before, keep a round from repeating a trial either way).
    It also keeps, by experiment name, the designs learning calls handed out
    (:meth:`hand_out`), which Katib holds before their trials exist: each as a sha256 of its
    architecture JSON (:meth:`digest`), not its position, which a sequence computed anew (after
    a restart or an eviction, under another load) may give another design. With ``files``, in
    them too, and an experiment's record is read from them when the sequence first needs it.
    Every step is kept only once it is whole, so a stopped call leaves a sequence the next
    call continues. Not thread-safe: a caller holds :attr:`lock`.
    """

    def __init__(self, search: KatibSearch, files: HandedOutFiles | None = None) -> None:
        self.search = search
        self._files = files
        self.lock = threading.Lock()
        self.callers = 0
        """Calls holding or waiting for :attr:`lock`, counted under the cache's lock: a
        :class:`SuggestionCache` evicts the sequence only when there are none."""
        self.forgotten = False
        """Set, under the cache's lock, when an unforeseen error may have left a step half done:
        a call that was waiting for :attr:`lock` then takes the search's new sequence instead."""
        self.footprint = 0
        """Estimated bytes held, as of the last call (see :meth:`estimate_footprint`)."""
        self._ranked: list[Suggestion] = []
        self._log2_ranks: list[tuple[float, ...]] = []  # each ranked design's, to learn from
        self._texts: list[str] = []  # each ranked design's JSON, which trials and values match
        self._digests: list[str] = []  # each ranked design's JSON's sha256, which records match
        self._token: str | None = None
        self._ranking_ended = False
        self._seen: set[str] = set()  # the ranked designs' JSON, once the ranking ended
        self._draws: SpaceDraws | None = None
        self._draw = _FIRST_DRAW  # the count of the current draw
        self._filtered = 0  # designs of the draws compared with the ranked ones
        self._sampled: list[int] = []  # the draws' designs not ranked, in order
        self._scores: list[float] = []  # the scores of the first sampled designs
        self._scorer: DesignScorer | None = None  # the search's objective, once built
        self._handed: dict[str, dict[int, str]] = {}  # by experiment: place -> design digest

    def handed_out(self, experiment: str, start: int) -> set[str]:
        """Return the designs learning calls handed ``experiment`` at places before ``start``.

        Each as its :meth:`digest`.

        A place is a suggestion's 0-based index among all Katib asked for
        (``total_request_number - current_request_number`` is the call's first). Katib keeps
        every suggestion it got in its Suggestion resource and makes each one's trial later,
        so a call may come before the trials of the earlier ones: the request's trials do not
        say these were handed out, its count does, and this remembers which.
        """
        return {design for place, design in self._record(experiment).items() if place < start}

    def hand_out(self, experiment: str, start: int, picked: Sequence[Suggestion]) -> None:
        """Record ``picked`` as handed ``experiment`` at the places from ``start`` on.

        What an earlier call recorded from ``start`` on is replaced: Katib asks for those
        places again only when it did not keep that call's answer.
        """
        record = {p: q for p, q in self._record(experiment).items() if p < start}
        record.update((start + i, self.digest(s)) for i, s in enumerate(picked))
        self._handed[experiment] = record
        if self._files is not None:
            self._files.write(search_digest(self.search), experiment, record)

    def _record(self, experiment: str) -> dict[int, str]:
        """Return what was handed ``experiment``: as kept, else as its file holds it (once)."""
        record = self._handed.get(experiment)
        if record is None:
            record = {}
            if self._files is not None:
                record = self._files.read(search_digest(self.search), experiment)
            self._handed[experiment] = record
        return record

    def extend(self, length: int, stop: StopSignal) -> int:
        """Compute the first ``length`` designs; return how many there are (fewer: space ended).

        Raises
        ------
        StoppedError
            When ``stop`` stopped the work first (what was done whole is kept).
        """
        self.rank(length, stop)
        if len(self._ranked) >= length:
            return length
        need = length - len(self._ranked)
        self._sample(need, stop)
        return len(self._ranked) + min(need, len(self._scores))

    def window(self, start: int, end: int) -> list[Suggestion]:
        """Return the designs at 0-based positions ``start`` to ``end`` (computed already)."""
        ranked = len(self._ranked)
        window = self._ranked[start:end]
        for index in range(max(start, ranked), end):
            assert self._draws is not None, "sampled designs come from the draws"
            sampled = index - ranked
            architecture = self._draws.architecture(self._sampled[sampled])
            window.append(Suggestion(index + 1, architecture, self._scores[sampled], "sampled"))
        return window

    def text(self, suggestion: Suggestion) -> str:
        """Return a design's architecture JSON, what the trials hold: a ranked one's as kept.

        A learning call matches every ranked design of its pool (up to ``max_trial_count``) to
        the trials and their values: written anew each call, 1,000 designs on a 128 x 128 input
        took half a second.
        """
        if suggestion.source == "ranked":
            return self._texts[suggestion.position - 1]
        return _json(suggestion.architecture)

    def digest(self, suggestion: Suggestion) -> str:
        """Return a sha256 of a design's :meth:`text`, what records it: a ranked one's as kept."""
        if suggestion.source == "ranked":
            return self._digests[suggestion.position - 1]
        return _digest(self.text(suggestion))

    def untried(
        self, suggestion: Suggestion, *, held: Collection[str], handed: Collection[str]
    ) -> bool:
        """Return whether a design is neither tried nor handed out: one a call may hand out.

        Tried: its :meth:`text` in ``held`` (the trials'); handed out: its :meth:`digest` in
        ``handed`` (:meth:`handed_out`; a sampled design is hashed only when there are any).
        """
        if self.text(suggestion) in held:
            return False
        return not handed or self.digest(suggestion) not in handed

    def reranked(
        self,
        length: int,
        untried: Callable[[Suggestion], bool],
        observed: Mapping[str, float],
        maximize: bool,
    ) -> list[Suggestion]:
        """Return the ranked designs of the first ``length`` positions ``untried``, re-ranked.

        Best-predicted first from the ``observed`` values of the ranked designs among them
        (:func:`~advisor.integrations.learning.rerank_ranks`; larger is better if
        ``maximize``). Only what :meth:`rank` computed is read.
        """
        ranked, texts = self._ranked[:length], self._texts[:length]
        index = {text: i for i, text in enumerate(texts)}
        tried = {index[text]: value for text, value in observed.items() if text in index}
        remaining = [i for i, suggestion in enumerate(ranked) if untried(suggestion)]
        order = rerank_ranks(self._log2_ranks[:length], remaining, tried, maximize=maximize)
        return [ranked[i] for i in order]

    def estimate_footprint(self) -> int:
        """Return the bytes this holds, estimated: ranked designs, draws, their search, scorer.

        A ranked architecture's permutation costs about :data:`_BYTES_PER_LOCATION` a location
        of the grid it pools (the input padded, where it is: up to ``2^ndim`` times more), its
        log2 ranks :data:`_BYTES_PER_CORRELATION` a correlation; each suggestion handed out
        :data:`_BYTES_PER_HANDED_OUT`.
        """
        ranked = sum(
            _BYTES_PER_LOCATION * math.prod(s.architecture.grid) + _BYTES_PER_DESIGN
            for s in self._ranked
        ) + _BYTES_PER_CORRELATION * sum(map(len, self._log2_ranks))
        handed = _BYTES_PER_HANDED_OUT * sum(map(len, self._handed.values()))
        if self._draws is None:
            return ranked + handed
        scorer = 0 if self._scorer is None else self._scorer.nbytes
        drawn = _BYTES_PER_SEARCH + _BYTES_PER_DRAW * len(self._draws) + scorer
        return ranked + handed + drawn

    def rank(self, length: int, stop: StopSignal) -> None:
        """Fetch the ranking's pages until it holds ``length`` designs or ends.

        The pages continue from the last page's token. As a computation from the start
        (:func:`~advisor.integrations.proposals.fetch_ranking` of ``length`` designs), each page
        asks at most :data:`PAGE_SIZE` designs and its search gets the time limit divided by
        the pages ``length`` takes.
        """
        from advisor.search.recommend import recommend

        if self._ranking_ended or len(self._ranked) >= length:
            return
        task, budget = self.search.task, self.search.budget
        pages = math.ceil(length / PAGE_SIZE)
        limit = budget.time_limit_seconds or DEFAULT_TIME_LIMIT
        per_page = budget.model_copy(update={"time_limit_seconds": limit / pages})
        while len(self._ranked) < length and not self._ranking_ended:
            top_k = min(PAGE_SIZE, length - len(self._ranked))
            page = per_page.model_copy(update={"top_k": top_k, "page_token": self._token})
            result = recommend(task, page, stop=stop)
            _raise_if_stopped(stop)  # a stopped search's page is partial: the positions would shift
            for r in result.recommendations:
                self._ranked.append(Suggestion(r.rank, r.architecture, r.score, "ranked"))
                text = _json(r.architecture)
                self._texts.append(text)
                self._digests.append(_digest(text))
            self._log2_ranks.extend(log2_ranks(result.recommendations))
            self._token = result.next_page_token
            if self._token is None or not result.recommendations:
                self._ranking_ended = True
                self._seen = set(self._texts)

    def _sample(self, need: int, stop: StopSignal) -> None:
        """Draw and score the first ``need`` designs past the ranking (fewer: the space ended).

        Draw ever more designs (each draw of n is the first n of any larger one) until there
        are enough or a draw comes back short, the space exhausted: the work then follows the
        space's size rather than the count asked. The stop signal is polled between the draws'
        tries, in the objective's pass over the trees and before each design's scoring; every
        score is kept as soon as it is computed.
        """
        from advisor.search.draws import SpaceDraws
        from advisor.search.scoring import DesignScorer

        task, budget = self.search.task, self.search.budget
        if self._draws is None:
            self._draws = SpaceDraws(task, budget, seed=budget.seed)
        draws = self._draws
        # The designs this call scores, as the filter built them: an architecture on a large
        # grid takes milliseconds (and ~45 bytes a location), so the filter stops at the last
        # one this call needs and keeps only these, for this call.
        built: dict[int, Architecture] = {}
        while len(self._sampled) < need:
            _raise_if_stopped(stop)
            drawn = draws.draw(self._draw, stop)
            for index in range(self._filtered, drawn):
                _raise_if_stopped(stop)
                architecture = draws.architecture(index)
                if _json(architecture) not in self._seen:
                    self._sampled.append(index)
                    built[index] = architecture
                self._filtered = index + 1
                if len(self._sampled) >= need:
                    break
            if len(self._sampled) >= need or drawn < self._draw:
                break
            self._draw *= 2
        left = self._sampled[len(self._scores) : need]
        if not left:
            return
        if self._scorer is None:
            self._scorer = DesignScorer(task, budget, stop)
        scorer = self._scorer
        for index in left:
            _raise_if_stopped(stop)
            architecture = built[index] if index in built else draws.architecture(index)
            self._scores.append(scorer.score(architecture))


class HandedOutFiles:
    """The suggestions learning calls handed out, kept in ``directory``: one file per experiment.

    Katib's ``resumePolicy: FromVolume`` mounts a volume of the experiment's own into its
    suggestion service (at ``/opt/katib/data`` unless katib-config's ``volumeMountPath`` says
    otherwise) and keeps it while the experiment lives, so a service restarted on it finds what
    it kept there: with this, a restarted service (or a sequence the cache evicted) still
    skips the designs handed out before, whose trials Katib may not have made yet.

    A record is one experiment's places and the designs handed out there, each as a sha256 of
    its architecture JSON (:meth:`_Sequence.hand_out`), on one search: the designs themselves,
    since a restarted service's ranking, cut by its time limit under another load, may put
    them at other positions. Its file is named by a digest of the search and the experiment's
    name, which the request gives and must not choose a path with (``../x``); the file holds
    both and its format's version (``{"format": 1, "experiment": ..., "search": ...,
    "handed": [[place, sha256], ...]}``), and a file that does not name what it is read for,
    is of another format or is no record, is not read.
    Written atomically (a temporary file in the directory, synced, then ``os.replace`` and the
    directory synced where the platform allows it), so a service stopped in the middle leaves
    the previous record whole; the temporary files a stopped service left are removed at the
    next start (:meth:`remove_temporary_files`). A file that cannot be read is logged at ERROR
    naming it and read as no record (the experiment's record starts afresh); one that cannot be
    written is logged too, and the record stays in memory. Either way the call goes on. Not
    thread-safe per record: the caller holds the record's sequence.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def check_writable(self) -> None:
        """Create and remove a file in the directory, as a record's write does.

        Raises
        ------
        OSError
            When the directory does not exist, is not one, or refuses a new file.
        """
        descriptor, name = tempfile.mkstemp(dir=self.directory, prefix=_PROBE_PREFIX)
        os.close(descriptor)
        os.unlink(name)

    def remove_temporary_files(self) -> None:
        """Remove the temporary files a stopped service left in the directory (see above).

        A service killed between a record's temporary file and its ``os.replace`` (or in
        :meth:`check_writable`) leaves one behind, each as large as a record, and nothing else
        would remove it. Only files of those names are removed (a directory of such a name is
        none of this class's); one that cannot be is logged at WARNING.
        """
        for prefix in _TEMPORARY_PREFIXES:
            for path in self.directory.glob(f"{prefix}*"):
                if not path.is_file():
                    continue
                try:
                    path.unlink()
                except OSError as error:
                    _LOGGER.warning("cannot remove %s, left by a stopped service: %s", path, error)

    def path(self, search: str, experiment: str) -> Path:
        """Return the file of ``experiment``'s record on the search of digest ``search``."""
        key = json.dumps([search, experiment]).encode()
        return self.directory / f"handed-out-{hashlib.sha256(key).hexdigest()}.json"

    def read(self, search: str, experiment: str) -> dict[int, str]:
        """Return the record of ``experiment`` on ``search``: place -> design digest ({}: none).

        A file that cannot be read or holds no record for them is logged and read as none.
        """
        path = self.path(search, experiment)
        try:
            with path.open("rb") as file:
                text = file.read(MAX_HANDED_OUT_FILE_BYTES + 1)
            if len(text) > MAX_HANDED_OUT_FILE_BYTES:
                raise ValueError(f"over {MAX_HANDED_OUT_FILE_BYTES:,} bytes")
            return _handed_out_record(json.loads(text), search, experiment)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as error:
            _LOGGER.error(
                "Katib experiment %r: cannot read what was handed out from %s (%s); its record "
                "starts afresh, so a design handed out before whose trial Katib has not made "
                "yet may be handed out again",
                experiment,
                path,
                error,
            )
            return {}

    def write(self, search: str, experiment: str, record: Mapping[int, str]) -> None:
        """Replace the file of ``experiment``'s record on ``search`` with ``record``, atomically.

        A failure (a full volume) is logged: the call's answer stands, the record stays in
        memory, and the next call's write tries again.
        """
        path = self.path(search, experiment)
        document = {
            "format": _HANDED_OUT_FORMAT,
            "experiment": experiment,
            "search": search,
            "handed": sorted(record.items()),
        }
        try:
            descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=_RECORD_PREFIX)
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                    json.dump(document, file, separators=(",", ":"))
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
            _sync_directory(self.directory)
        except OSError as error:
            _LOGGER.error(
                "Katib experiment %r: cannot write what was handed out to %s (%s); a restarted "
                "service would not know it",
                experiment,
                path,
                error,
            )


def _sync_directory(directory: Path) -> None:
    """Flush ``directory``'s entries to its disk, where the platform allows it.

    A file's fsync keeps its contents, not its name: until the directory is synced too, a
    machine that crashes just after an ``os.replace`` may come back with the previous record.
    A platform that opens no directory (Windows) or a file system that syncs none refuses with
    an OSError: the record is then as durable as the platform makes it, and the write stands.
    """
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _handed_out_record(document: object, search: str, experiment: str) -> dict[int, str]:
    """Return the record a :class:`HandedOutFiles` file holds for ``experiment`` on ``search``.

    Raises
    ------
    ValueError
        Saying what is wrong: no record, one of another format (an earlier advisor's, which
        kept positions), experiment or search, a bad entry.
    """
    if not isinstance(document, dict) or not isinstance(document.get("handed"), list):
        raise ValueError("not a record: no 'handed' list")
    expected_values = (
        ("format", _HANDED_OUT_FORMAT),
        ("experiment", experiment),
        ("search", search),
    )
    for key, expected in expected_values:
        if document.get(key) != expected:
            raise ValueError(f"its {key} is {document.get(key)!r}, not {expected!r}")
    record: dict[int, str] = {}
    for entry in document["handed"]:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and type(entry[0]) is int
            and entry[0] >= 0
            and isinstance(entry[1], str)
            and _SHA256_HEX.fullmatch(entry[1])
        ):
            raise ValueError(f"{entry!r} is no [place, design sha256] pair")
        record[entry[0]] = entry[1]
    return record


class SuggestionCache:
    """The design sequences of the searches asked for lately, each as far as it was computed.

    Katib's controller asks a few designs per call and the service is otherwise stateless, so
    each call would compute its experiment's sequence from position 1 again: n designs asked
    one at a time cost O(n^2). The cache keeps each search's sequence (keyed by a digest of the
    search, :func:`search_digest`: every field of the task and budget read from the
    experiment, so two experiments that read alike share one, and a changed setting is a new
    one) and each call continues it. A sequence holds its ranked architectures (an input
    permutation each, ~45 bytes a location) and its draws as trees and widths: about 1-2 MiB
    for a thousand designs on a 32 x 32 input, up to tens of MiB with a long ranking on the
    largest inputs the limits admit. Katib runs one suggestion service per experiment (or a
    few experiments per shared one), so ``max_experiments`` (32) sequences, the most recently
    used, cover every experiment in flight, and ``max_bytes`` (256 MiB) bounds the worst case;
    a sequence over it on its own is computed as without a cache. An evicted experiment is
    only slower (its next call computes from the start), except that with ``learn`` it forgets
    what it handed out: a design handed out whose trial is not made yet may come again. With
    ``files`` (:class:`HandedOutFiles`) that record is kept in them too, and read back by the
    next sequence of the experiment: neither an eviction nor a restart forgets it.

    Thread-safe: calls on different searches run in parallel; calls on one search take turns
    (the later one continues what the earlier computed), waiting while polling their stop. A
    sequence a call holds or waits for is not evicted (the cache may stay over its bounds until
    that call ends), so a search has one sequence, and an experiment one record, at a time.
    """

    def __init__(
        self,
        max_experiments: int = MAX_CACHED_EXPERIMENTS,
        max_bytes: int = MAX_CACHED_BYTES,
        files: HandedOutFiles | None = None,
    ) -> None:
        self.max_experiments = max_experiments
        self.max_bytes = max_bytes
        self.files = files
        self._lock = threading.Lock()
        self._sequences: OrderedDict[str, _Sequence] = OrderedDict()

    def __len__(self) -> int:
        """Return how many sequences are kept."""
        with self._lock:
            return len(self._sequences)

    def __contains__(self, search: object) -> bool:
        """Return whether the sequence of ``search`` (a :class:`KatibSearch`) is kept."""
        if not isinstance(search, KatibSearch):
            return False
        key = search_digest(search)
        with self._lock:
            return key in self._sequences

    @contextmanager
    def sequence(self, search: KatibSearch, stop: StopSignal) -> Iterator[_Sequence]:
        """Hold ``search``'s sequence (a new one if none is kept) for one call's work.

        Raises
        ------
        StoppedError
            When ``stop`` stops while another call holds the sequence.
        """
        key = search_digest(search)
        sequence = self._take(key, search, stop)
        try:
            try:
                yield sequence
            except (StoppedError, InvalidRequestError):
                raise  # what the sequence kept was computed whole
            except BaseException:
                self._forget(key, sequence)  # an unforeseen error may have left a step half done
                raise
            finally:
                sequence.footprint = sequence.estimate_footprint()
                sequence.lock.release()
        finally:
            self._leave(sequence)
            self._evict()

    def _take(self, key: str, search: KatibSearch, stop: StopSignal) -> _Sequence:
        """Return ``search``'s kept sequence (a new one if none), its lock held, counted a caller.

        A sequence forgotten while this call waited for it is left for the search's new one.
        """
        while True:
            with self._lock:
                sequence = self._sequences.get(key)
                if sequence is None:
                    sequence = self._sequences[key] = _Sequence(search, self.files)
                self._sequences.move_to_end(key)
                sequence.callers += 1
            try:
                while not sequence.lock.acquire(timeout=_LOCK_POLL_SECONDS):
                    _raise_if_stopped(stop)
            except BaseException:
                self._leave(sequence)
                raise
            if not sequence.forgotten:
                return sequence
            sequence.lock.release()
            self._leave(sequence)

    def _leave(self, sequence: _Sequence) -> None:
        with self._lock:
            sequence.callers -= 1

    def _forget(self, key: str, sequence: _Sequence) -> None:
        with self._lock:
            sequence.forgotten = True
            if self._sequences.get(key) is sequence:
                del self._sequences[key]

    def _evict(self) -> None:
        """Drop the least recently used sequences no call holds or waits for while over a bound.

        One a call holds (or waits for) stays until the last such call ends: a call on its
        search meanwhile takes its turn on it. Evicted, the next call would build a second
        sequence of the search, read the experiment's record before the holder wrote it and
        overwrite that afterwards.
        """
        with self._lock:
            held = sum(s.footprint for s in self._sequences.values())
            for key, sequence in list(self._sequences.items()):  # least recently used first
                if len(self._sequences) <= self.max_experiments and held <= self.max_bytes:
                    break
                if sequence.callers == 0:
                    del self._sequences[key]
                    held -= sequence.footprint


def search_digest(search: KatibSearch) -> str:
    """Return a digest of everything that decides the search's sequence: its task and budget.

    The experiment's trials, its ``learn`` setting and its name do not decide it (they only
    pick which of its designs a call returns), nor does the call's stop signal (it only stops
    the work).
    """
    document = [
        search.task.model_dump(mode="json"),
        search.budget.model_dump(mode="json"),
    ]
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _raise_if_stopped(stop: StopSignal) -> None:
    if stop.stopped():
        raise StoppedError("the suggestions were stopped (deadline, cancellation or shutdown)")


def _json(architecture: Architecture) -> str:
    return architecture.model_dump_json(exclude_none=True)


def _digest(text: str) -> str:
    """Return the sha256 of a design's architecture JSON, as a record keeps the design."""
    return hashlib.sha256(text.encode()).hexdigest()


def suggestion_assignments(
    suggestion: Suggestion,
) -> api_pb2.GetSuggestionsReply.ParameterAssignments:
    """Return Katib's assignments for one design: ``architecture`` only, escaped for a template.

    Katib's controller creates a trial only when the suggestion's assignments are as many as
    the trial template's trialParameters that reference one ("Number of TrialAssignment: N !=
    number of nonMetaTrialParameters"), so every design has the same single assignment (flat
    parameters would number ``4 + depth``). The controller substitutes a value into the trial
    template as JSON text, where the architecture JSON's quotes would end the string it sits
    in: the value is the architecture JSON escaped as a JSON string's contents
    (:func:`template_value`), which a template reference inside a string hands the trainer as
    the plain JSON.

    Labels: ``advisor.rank`` (the position in the sequence), ``advisor.family``,
    ``advisor.score`` (the search's score) and ``advisor.source`` (ranked or sampled).
    """
    return api_pb2.GetSuggestionsReply.ParameterAssignments(
        assignments=[
            api_pb2.ParameterAssignment(
                name=ARCHITECTURE_ASSIGNMENT, value=template_value(_json(suggestion.architecture))
            )
        ],
        labels={
            "advisor.rank": str(suggestion.position),
            "advisor.family": suggestion.architecture.family or "custom",
            "advisor.score": f"{suggestion.score:.6g}",
            "advisor.source": suggestion.source,
        },
    )


def template_value(text: str) -> str:
    """Return ``text`` escaped as the contents of a JSON string (quotes and backslashes).

    Katib's controller writes the trial template as JSON and replaces each
    ``${trialParameters.NAME}`` in it with the value as it is, so a value the template puts
    inside a string (a container argument) must be escaped as that string's contents: parsed,
    the template then holds ``text`` itself.
    """
    return json.dumps(text)[1:-1]


def architectures_held(trials: Sequence[api_pb2.Trial]) -> set[str]:
    """Return the architecture JSON of every trial the experiment has, as the advisor writes it.

    The ``architecture`` assignment is read as :func:`suggestion_assignments` writes it,
    escaped (:func:`template_value`); a value that is no escaped text (the JSON as it is, as a
    trial written by hand may hold it) is taken as it is. Each is the JSON of the architecture
    it parses as (:func:`_canonical`), so a trial matches its design however it is written.
    """
    return {text for trial in trials for text in _architectures(trial)}


def observations(search: KatibSearch, trials: Sequence[api_pb2.Trial]) -> dict[str, float]:
    """Return the objective value each tried architecture observed, to learn from.

    Keyed by the architecture JSON as :func:`architectures_held` reads it.

    Read as Katib's own algorithms read a trial: one that succeeded, the value of its
    observation's metric named as the objective's (the controller sends the one value its
    metric strategy picks, latest, min or max). A trial that did not succeed, has no such
    metric or a value that is no finite number is left out, as is every trial when
    ``search`` does not learn (None of :attr:`KatibSearch.learning`).
    """
    if search.learning is None:
        return {}
    found: dict[str, float] = {}
    for trial in trials:
        if trial.status.condition != api_pb2.TrialStatus.SUCCEEDED:
            continue
        values = [
            m.value for m in trial.status.observation.metrics if m.name == search.learning.metric
        ]
        value = _finite(values[-1]) if values else None
        if value is not None:
            found.update(dict.fromkeys(_architectures(trial), value))
    return found


def _finite(text: str) -> float | None:
    """Return ``text`` as a finite number, or None if it is none."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _architectures(trial: api_pb2.Trial) -> list[str]:
    """Return the architecture JSON of ``trial``'s ``architecture`` assignment (see above)."""
    return [
        _canonical(_unescaped(assignment.value))
        for assignment in trial.spec.parameter_assignments.assignments
        if assignment.name == ARCHITECTURE_ASSIGNMENT
    ]


def _canonical(text: str) -> str:
    """Return the JSON the advisor writes of the architecture ``text`` holds, else ``text``.

    A trial's JSON may be written otherwise than the advisor's (another tool's key order,
    whitespace, a default or a null spelt out): parsed and written again, it is the JSON of
    the design it describes. Text that is no architecture (no JSON, another document) is kept
    as it is: it matches no design. Parsing costs ~0.7 ms on a 32 x 32 grid, ~7 ms on
    128 x 128, and a call parses every trial (:func:`architectures_held`, and once more
    for :func:`observations` when it learns); Katib keeps at most ~1.5 MiB of designs
    (etcd's request limit, see docs/INTEGRATIONS.md), ~0.25 s of parsing each time at most.
    """
    try:
        document = json.loads(text)
        if not isinstance(document, Mapping):
            return text
        return _json(parse_architecture(document))
    except (ValueError, RecursionError, InvalidRequestError):
        return text


def _unescaped(value: str) -> str:
    """Return the text :func:`template_value` escaped as ``value``, or ``value`` if none did."""
    try:
        text: str = json.loads(f'"{value}"')  # one JSON string, if anything: a str
    except ValueError:
        return value
    return text
