"""A described task plus what a data sample shows: ``recommend TASK --data DATA``.

A description states the correlations its author knows of; it cannot state properties of the
images it does not name (which pixels are active together, how smooth the inputs are), and those
decide which pooling geometry trains best where the description leaves the choice open
(docs/OUTCOMES.md, "the description and the data"). Task inference measures them on the data.
This module adds the inference's result to the description, keeping both as they are:

- ``correlations``: every correlation the inference kept, with the weight it gave it (its
  entanglement density relative to the largest, at most 1, the scale of a described
  correlation's default weight 1), named ``data: <partition>`` (a described correlation of
  such a name is refused, naming it);
- ``arrangement``: the arrangement of the locations, so the search also tries ``data_arranged`` —
  when the inference carries it (it lowers the crossing dependence to at most
  :data:`~advisor.infer.terms.ARRANGED_RATIO` of the data's own order), as ``advisor infer``
  writes it. Otherwise the data's own order is about as local, and pooling an arrangement of it
  only scrambles what the description asks for: on the outcome benchmark's symmetry task such
  nets scored as high as the mirror nets and trained 15 points below them.

The description's own correlations, preset, weights and outputs are never changed.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Collection, Mapping
from typing import Any, TypeAlias, overload

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.infer.report import InferenceReport, task_file
from advisor.infer.terms import DATA_PARTS, DATA_PREFIX
from advisor.model.arguments import require_instance
from advisor.model.documents import read_document
from advisor.model.grid import InputSpec
from advisor.model.scalars import is_boolean
from advisor.model.task import NO_CORRELATION, Task, parse_task, task_document
from advisor.suggestions import did_you_mean
from advisor.words import counted

__all__ = ["TaskSource", "input_mismatch", "no_correlation", "with_data"]

TaskSource: TypeAlias = Task | Mapping[str, Any] | str | os.PathLike[str]
"""A described task as :func:`with_data` takes it: a ``Task``, its document or its file's path."""


def input_mismatch(described: InputSpec, data: InputSpec) -> str | None:
    """Say how the data's input differs from the task's (None: they are the same).

    The data's correlations and arrangement are location ids of its own grid: on another grid
    of as many locations (``[12, 12]`` and ``[4, 6, 6]``) they would name other locations, and a
    net the search builds for the task's channels cannot take data of other channels.
    """
    if described.shape != data.shape:
        grid, found = list(described.shape), list(data.shape)
        text = f"the data's grid {found} is not the task's {grid}"
        if len(found) == len(grid) + 1 and grid in (found[:-1], found[1:]):
            # (N, 8, 8, 3) read without a grid is a 3-D grid; on the task's, 3 channels.
            end = "last" if found[:-1] == grid else "first"
            text += (
                f"; if its {end} axis holds channels, read the data on the task's grid "
                f"(data_from_array(values, shape={grid}), --shape {' '.join(map(str, grid))})"
            )
        return text
    if described.channels != data.channels:
        return (
            f"the data holds {counted(data.channels, 'channel')} per location and the task "
            f"{described.channels} (task input.channels); give the task the data's channels, "
            "or data of the task's"
        )
    return None


@overload
def with_data(task: Task, report: InferenceReport, parts: Collection[str] = DATA_PARTS) -> Task: ...


@overload
def with_data(
    task: Mapping[str, Any] | str | os.PathLike[str],
    report: InferenceReport,
    parts: Collection[str] = DATA_PARTS,
) -> dict[str, Any]: ...


def with_data(
    task: TaskSource, report: InferenceReport, parts: Collection[str] = DATA_PARTS
) -> Task | dict[str, Any]:
    """Return the described ``task`` with ``parts`` of ``report`` added, of the kind given.

    ``task`` is a :class:`~advisor.model.task.Task`, its document (the task file's mapping) or
    a task file's path (read as :func:`~advisor.model.documents.read_document` reads it): a
    ``Task`` gives a ``Task``, which the library's ``recommend`` takes, and either of the others
    the document, which the client's ``recommend`` takes and ``advisor recommend --save-task``
    writes. A report without a task (the data shows no dependence to model) adds no
    correlations and no arrangement; with or without one, the data's input is checked against
    the description's and the outputs the inference was given are the task's.

    Raises
    ------
    InvalidRequestError
        On ``task`` when it is none of these (a list, say); on ``report`` when it is no
        :class:`InferenceReport`; on ``parts`` when it is no collection of texts (one string,
        ``None``; a collection of parts is asked for: ``("correlations",)``) or names a part not
        in :data:`~advisor.infer.terms.DATA_PARTS`; on ``""`` for a task file that cannot be
        read; on ``input`` when the description's input
        (grid or channels) is not the data's (:func:`input_mismatch`); on ``arrangement`` when
        the description already carries one and ``parts`` adds the data's, which the inference
        carries (two arrangements cannot both hold); on ``correlations[i].name`` when a
        described correlation has the name of one the data adds; on ``outputs`` when the
        description states others than the inference was given; on ``correlations`` when the
        task is left with no correlation and no preset (:func:`no_correlation`).
    """
    require_instance(report, InferenceReport, "report")
    _check_parts(parts)
    if isinstance(task, Task):
        return parse_task(_combined(task_document(task), report, parts))
    if isinstance(task, str | os.PathLike):
        return _combined(read_document(task, "task"), report, parts)
    if not isinstance(task, Mapping):
        raise InvalidRequestError.single(
            "task",
            "must be a Task, a task document (a mapping) or a task file's path, not "
            f"{type(task).__name__}",
        )
    return _combined(task, report, parts)


def _check_parts(parts: Collection[str]) -> None:
    """Refuse ``parts`` unless it is a collection of :data:`DATA_PARTS` (a string is not).

    ``None`` raised ``TypeError: 'NoneType' object is not iterable``, and bytes were read as
    their byte values.
    """
    if isinstance(parts, str | bytes):
        raise InvalidRequestError.single(
            "parts",
            f"is the string {parts!r}: give a collection of parts, as ({parts!r},), of "
            f"{', '.join(DATA_PARTS)}",
        )
    if not isinstance(parts, Collection):
        raise InvalidRequestError.single(
            "parts",
            f"must be a collection of parts, as ('correlations',), of {', '.join(DATA_PARTS)}, "
            f"not {type(parts).__name__}",
        )
    unknown = sorted(set(parts) - set(DATA_PARTS), key=str)
    if unknown:
        meant = did_you_mean(str(unknown[0]), DATA_PARTS) if len(unknown) == 1 else ""
        raise InvalidRequestError.single(
            "parts",
            f"{counted(len(unknown), 'unknown part')} {unknown}; known: {', '.join(DATA_PARTS)}"
            f"{meant}",
        )


def no_correlation(why: str) -> FieldViolation:
    """Refuse a described task without correlations or a preset that the data adds none to.

    ``why`` says why the data adds none; the command says it from the data's graph, which a
    report does not hold.
    """
    return FieldViolation(
        NO_CORRELATION.field,
        f"{NO_CORRELATION.description}: the description has none, and the data adds none: {why}",
    )


def _combined(
    document: Mapping[str, Any], report: InferenceReport, parts: Collection[str]
) -> dict[str, Any]:
    """Return the task document ``document`` with ``parts`` of ``report`` added.

    The data's input and outputs are checked and the outputs added with or without an inferred
    task: the command refused a grid that is not the data's, or other outputs than the labels',
    where the data showed no dependence, and the library did not.
    """
    _check_input(document, report)
    combined = dict(document)
    violations = _outputs_added(combined, report)
    given = document.get("correlations")
    described = list(given) if isinstance(given, list | tuple) else []
    saved = _saved_from_data(described)
    if report.task is not None and "correlations" in parts:
        found = task_file(report.task).get("correlations", [])
        added = [{**c, "name": DATA_PREFIX + c["name"]} for c in found]
        if given is None or isinstance(given, list | tuple):
            taken = _taken_names(described, {c["name"] for c in added})
            # Every name the data adds already there: a task a run with this data saved.
            violations += saved if len(taken) == len(added) > 0 else taken
            combined["correlations"] = [*described, *added]
        # Else no list: kept as given, for the task's own validation to name (it raised
        # TypeError, 'int' object is not iterable).
    if report.task is not None and "arrangement" in parts and report.task.arrangement is not None:
        if document.get("arrangement") is not None and saved:
            violations += [] if saved[0] in violations else saved
        elif document.get("arrangement") is not None:
            violations.append(
                FieldViolation(
                    "arrangement",
                    "the task already carries an arrangement; pass --from-data correlations to "
                    "add only the data's correlations",
                )
            )
        combined["arrangement"] = list(report.task.arrangement)
    given = combined.get("correlations")
    listed = given is None or isinstance(given, list | tuple)  # else the task's to refuse
    if not violations and listed and not given and combined.get("preset") is None:
        if report.task is None:
            why = "the sample shows no dependence to model (the report has no task)"
        else:
            why = f"parts {tuple(parts)} takes none of the data's correlations"
        violations.append(no_correlation(why))
    if violations:
        raise InvalidRequestError(violations)
    return combined


def _check_input(document: Mapping[str, Any], report: InferenceReport) -> None:
    """Refuse a described input that is not the data's (:func:`input_mismatch`).

    The data's is the report's ``input``, else its task's (a server that predates the field
    sends it only with a task). A description whose input is no input spec is left to the
    task's own validation, which names what is wrong with it.
    """
    data = report.input or (None if report.task is None else report.task.input)
    if data is None:
        return
    try:
        given = InputSpec.model_validate(document.get("input"))
    except InvalidRequestError:
        return
    mismatch = input_mismatch(given, data)
    if mismatch is not None:
        raise InvalidRequestError.single("input", mismatch)


def _given_outputs(report: InferenceReport) -> int | None:
    """Return the outputs the inference was given: the report's, else an old server's task's."""
    if report.outputs is not None or report.task is None:
        return report.outputs
    return report.task.outputs


def _outputs_added(combined: dict[str, Any], report: InferenceReport) -> list[FieldViolation]:
    """Give ``combined`` the report's outputs, or refuse other outputs the task states.

    The labels' classes do not silently change what the description says, nor the
    description what the labels say (as ``recommend --data --labels`` refuses them).
    """
    outputs, stated = _given_outputs(report), combined.get("outputs")
    if outputs is None:
        return []
    if stated is None:
        combined["outputs"] = outputs
        return []
    if stated == outputs or is_boolean(stated) or not isinstance(stated, numbers.Integral):
        return []  # the same, or no count: the task's own validation names it
    return [
        FieldViolation(
            "outputs",
            f"is {stated:,}, but the data's report holds outputs {outputs:,} (the classes the "
            f"inference was given): make the task's outputs {outputs:,}, or infer without them",
        )
    ]


def _saved_from_data(described: list[Any]) -> list[FieldViolation]:
    """Refuse, in one violation, a task that already holds a data inference's correlations.

    A task ``--save-task`` wrote, given ``--data`` again, was refused for its arrangement, then,
    with ``--from-data correlations``, once for each of its 24 correlations named as the data's,
    each message pointing at the other option: what helps is to use it without the data.
    """
    saved = sum(
        isinstance(c, Mapping) and str(c.get("name", "")).startswith(DATA_PREFIX) for c in described
    )
    if not saved:
        return []
    return [
        FieldViolation(
            "correlations",
            f"the task already holds {counted(saved, 'correlation')} of a data inference (their "
            f"names start {DATA_PREFIX!r}, as --save-task writes them): use it without the "
            "data, or rename them to add the data's again",
        )
    ]


def _taken_names(described: list[Any], added: set[str]) -> list[FieldViolation]:
    """Return a violation for each described correlation named as one the data adds."""
    return [
        FieldViolation(
            f"correlations[{index}].name",
            f"{correlation['name']!r} is the name of a correlation the data adds (names "
            f"starting {DATA_PREFIX!r} are the data's); rename it",
        )
        for index, correlation in enumerate(described)
        if isinstance(correlation, Mapping) and correlation.get("name") in added
    ]
