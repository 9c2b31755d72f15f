"""Katib's trials: the assignment a design is handed out as, the designs and values read back.

A design goes to Katib as one ``architecture`` assignment (:func:`suggestion_assignments`);
the experiment's trials are read back as the architecture JSON the advisor writes
(:func:`architectures_held`) and, for the ``learn`` setting, as the objective value each tried
design observed (:func:`observations`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Final

from advisor.errors import InvalidRequestError
from advisor.geometry.layouts import input_permutation
from advisor.integrations.katib.experiment import KatibSearch, Suggestion
from advisor.model.architecture import Architecture, parse_architecture
from advisor.model.geometries import PermutationGeometry
from advisor.protocol._proto.katib.v1beta1 import api_pb2

__all__ = [
    "ARCHITECTURE_ASSIGNMENT",
    "architecture_json",
    "architectures_held",
    "observations",
    "suggestion_assignments",
    "template_value",
]

ARCHITECTURE_ASSIGNMENT: Final = "architecture"
"""The assignment holding the architecture JSON (the docs/FORMATS.md §2 file format)."""


def architecture_json(architecture: Architecture) -> str:
    """Return the JSON a trial's assignment holds: the key trials and designs are matched by."""
    return architecture.model_dump_json(exclude_none=True)


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
                name=ARCHITECTURE_ASSIGNMENT,
                value=template_value(architecture_json(suggestion.architecture)),
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
    it parses as (:func:`_canonical`), so a trial matches its design however it is written:
    one that names its geometry (``"geometry": "mirror"``) is held under that JSON and under
    the JSON of the same network with the permutation the geometry pools by, the form the
    advisor writes its designs in.
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
        written
        for assignment in trial.spec.parameter_assignments.assignments
        if assignment.name == ARCHITECTURE_ASSIGNMENT
        for written in _canonical(_unescaped(assignment.value))
    ]


def _canonical(text: str) -> list[str]:
    """Return the JSON the advisor writes of the architecture ``text`` holds, else ``[text]``.

    A trial's JSON may be written otherwise than the advisor's (another tool's key order,
    whitespace, a default or a null spelt out): parsed and written again, it is the JSON of
    the design it describes. Text that is no architecture (no JSON, another document) is kept
    as it is: it matches no design. Parsing costs ~0.7 ms on a 32 x 32 grid, ~7 ms on
    128 x 128, and a call parses every trial (:func:`architectures_held`, and once more
    for :func:`observations` when it learns); Katib keeps at most ~1.5 MiB of designs
    (etcd's request limit, see docs/INTEGRATIONS.md), ~0.25 s of parsing each time at most.

    A named geometry (contiguous, mirror, interleaved) gives the JSON with the permutation it
    pools by too (:func:`_permuted`): the advisor writes every design's pooling as its explicit
    permutation, and a trial written by hand names the geometry that permutation realises.
    """
    try:
        document = json.loads(text)
        if not isinstance(document, Mapping):
            return [text]
        architecture = parse_architecture(document)
    except (ValueError, RecursionError, InvalidRequestError):
        return [text]
    written = architecture_json(architecture)
    if not isinstance(architecture.geometry, str):
        return [written]
    return [written, architecture_json(_permuted(architecture))]


def _permuted(architecture: Architecture) -> Architecture:
    """Return ``architecture`` with its named geometry written as the permutation it pools by."""
    permutation = PermutationGeometry(permutation=input_permutation(architecture).tolist())
    return architecture.model_copy(update={"geometry": permutation})


def _unescaped(value: str) -> str:
    """Return the text :func:`template_value` escaped as ``value``, or ``value`` if none did."""
    try:
        text: str = json.loads(f'"{value}"')  # one JSON string, if anything: a str
    except ValueError:
        return value
    return text
