"""The task model: which input regions should be correlated, read from a YAML or JSON task file.

A task file (docs/FORMATS.md §1) gives the input grid, explicit correlations and, optionally,
a task preset::

    input: {shape: [16, 16]}
    correlations:
      - name: symmetry
        a: {preset: left_half}
        b: {preset: right_half}   # omitted: the complement of a
        weight: 1.0               # optional: finite, > 0
        relation: mirror          # optional: shift or mirror, how b relates to a
    preset: local                 # optional: adds the preset's correlations

Validation is complete when a :class:`Task` exists: its after-validator resolves every region
(:func:`~advisor.model.regions.resolve_region`) and expands the preset
(:func:`~advisor.model.presets.expand_task_preset`), so a bad task raises
:class:`~advisor.errors.InvalidRequestError` naming every offending field with its full path, and
:meth:`Task.resolved` hands the engines plain sorted location ids. Correlation names are unique
and non-blank across explicit and preset correlations, hold no control, format or line-separator
character, and there is at least one correlation.
"""

from __future__ import annotations

import math
import os
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Final

import numpy as np
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.arguments import require_path
from advisor.model.budget import CLASS_COUNT_KEYS
from advisor.model.documents import (
    NullsOmitted,
    read_document,
    refuse_list,
    refuse_other_kind,
)
from advisor.model.geometries import validate_permutation
from advisor.model.grid import InputSpec, LocationIds
from advisor.model.maps import relation_problem
from advisor.model.presets import TASK_PRESETS, expand_task_preset, task_preset_infos
from advisor.model.regions import (
    Locations,
    PresetInfo,
    Presets,
    Region,
    RelationKind,
    ResolvedCorrelation,
    mask_array_violations,
    region_preset_infos,
    resolve_region,
)
from advisor.model.scalars import INT32_MAX, StrictWhole, finite_number
from advisor.model.text import printable_name
from advisor.suggestions import unknown_name
from advisor.words import counted

__all__ = [
    "NO_CORRELATION",
    "Correlation",
    "PresetInfo",
    "Presets",
    "ResolvedCorrelation",
    "Task",
    "list_presets",
    "load_task",
    "parse_task",
    "repeated_names",
    "task_document",
]


NO_CORRELATION: Final = FieldViolation(
    "correlations", "a task needs at least one correlation or a preset"
)
"""The violation of a task without correlations (``recommend --data`` lets the data add them)."""


class Correlation(NullsOmitted):
    """Region ``a`` should be correlated with region ``b`` (default: everything outside ``a``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: Annotated[str, Field(strict=True)]
    a: Region
    b: Region | None = None
    # Strict rejects `true` and strings, finite_number NumPy's booleans (which strict takes as
    # 1.0); the task loader reads YAML's 1e-3 as a number.
    weight: Annotated[
        float, BeforeValidator(finite_number), Field(strict=True, gt=0, allow_inf_nan=False)
    ] = 1.0
    relation: RelationKind | None = Field(
        default=None,
        description="How b relates to a, where the regions read both ways (a pair of equal "
        "boxes is a shift and a mirror): 'shift' (b is a moved by one displacement) or 'mirror' "
        "(b is a's mirror image about a line across one axis). Absent: the search reads the "
        "description with the fewest relations. A stated relation the regions do not have is "
        "an error.",
    )

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        """Refuse a blank name, or one a terminal would act on: names go in tables."""
        return printable_name(name)


class Task(NullsOmitted):
    """A task: the input grid and the correlations an architecture should be able to model.

    Read from a file (:func:`load_task`) or a mapping (:func:`parse_task`), or built with
    keywords, parts as mappings or models alike; every way raises
    :class:`~advisor.errors.InvalidRequestError` naming each offending field. A task is frozen
    and hashable; :meth:`resolved` hands out its correlations' location ids.

    Examples
    --------
    >>> task = Task(input={"shape": [4, 4]}, correlations=[
    ...     {"name": "sides", "a": {"preset": "left_half"}, "b": {"preset": "right_half"}}])
    >>> [(c.name, c.a.tolist()) for c in task.resolved()]
    [('sides', [0, 1, 4, 5, 8, 9, 12, 13])]
    >>> try:
    ...     Task(input={"shape": [4]}, correlations=[{"name": "x", "a": {"indices": [4]}}])
    ... except InvalidRequestError as error:
    ...     print(error.violations[0].field)
    correlations[0].a.indices
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    foreign_keys: ClassVar[Mapping[str, str]] = CLASS_COUNT_KEYS

    input: InputSpec
    # Kept as a tuple: a list could be changed in place, past the validation and the resolved
    # correlations the search reads (and would leave the task unhashable). Typed as a Sequence
    # so a caller may pass a list, as the documents write one.
    correlations: Annotated[Sequence[Correlation], AfterValidator(tuple)] = ()
    preset: Annotated[str, Field(strict=True)] | None = None
    # Bounded as budget.outputs, which it stands in for: past int32 the search's counts overflow.
    outputs: StrictWhole | None = Field(
        default=None,
        gt=0,
        le=INT32_MAX,
        description="The task's classes (network outputs); a search uses them unless its "
        "budget names outputs.",
    )

    arrangement: LocationIds | None = Field(
        default=None,
        description="A permutation of the locations the data suits (position p of the arranged "
        "grid holds location arrangement[p]; `advisor infer`); the search adds the "
        "data_arranged family for it.",
    )

    _resolved: tuple[ResolvedCorrelation, ...] = PrivateAttr(default=())

    @field_validator("preset", mode="before")
    @classmethod
    def _one_preset(cls, value: Any) -> Any:
        # A list of presets was told only "Input should be a valid string, not a list".
        return refuse_list(
            value,
            "a task takes one preset; write the others' correlations under correlations (region "
            "presets such as left_half serve as their a and b; advisor presets lists both kinds)",
        )

    @field_validator("input", mode="before")
    @classmethod
    def _input_mapping(cls, value: Any) -> Any:
        # `input: [32, 32, 3]` was told "Input should be a mapping of field names to values".
        if isinstance(value, list | tuple):
            raise ValueError(
                f"is a list: write the input as a mapping, input: {{shape: {list(value)}}}, with "
                "channels: N beside shape where an axis holds channels"
            )
        return value

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str | None) -> str | None:
        if name is not None and name not in TASK_PRESETS:
            raise ValueError(unknown_name("task preset", name, TASK_PRESETS))
        return name

    @model_validator(mode="before")
    @classmethod
    def _mask_arrays_of_the_input(cls, data: Any) -> Any:
        # A NumPy mask is read as its rows before the input's shape is known: one of another
        # shape with as many rows of the input's width was taken for the input's rows.
        if isinstance(data, Mapping):
            spec = data.get("input")
            shape = spec.get("shape") if isinstance(spec, Mapping) else getattr(spec, "shape", None)
            violations = mask_array_violations(shape, data.get("correlations"))
            if violations:
                raise InvalidRequestError(violations)
        return data

    @model_validator(mode="after")
    def _resolve(self) -> Task:
        self._resolved = _resolve_task(self)
        return self

    def resolved(self) -> tuple[ResolvedCorrelation, ...]:
        """Return the explicit correlations, then the preset's, with their regions resolved."""
        return self._resolved


def _resolve_task(task: Task) -> tuple[ResolvedCorrelation, ...]:
    """Resolve every correlation, collecting the violations of all of them before raising."""
    shape = task.input.shape
    violations: list[FieldViolation] = []
    resolved: list[ResolvedCorrelation] = []
    for index, correlation in enumerate(task.correlations):
        try:
            resolved.append(_resolve_correlation(correlation, shape))
        except InvalidRequestError as exc:
            violations += exc.prefixed(f"correlations[{index}]").violations
    preset_correlations: tuple[ResolvedCorrelation, ...] = ()
    if task.preset is not None:
        try:
            preset_correlations = expand_task_preset(task.preset, shape)
        except InvalidRequestError as exc:
            violations += exc.violations
    violations += _name_violations(task, preset_correlations)
    if task.arrangement is not None:
        try:
            validate_permutation(task.arrangement, task.input.num_locations)
        except InvalidRequestError as exc:
            violations.append(FieldViolation("arrangement", exc.violations[0].description))
    if not task.correlations and task.preset is None:
        violations.append(NO_CORRELATION)
    if violations:
        raise InvalidRequestError(violations)
    return (*resolved, *preset_correlations)


def _resolve_correlation(correlation: Correlation, shape: tuple[int, ...]) -> ResolvedCorrelation:
    """Resolve a correlation's regions on ``shape`` into location ids, checked.

    Both sides' problems are refused at once (each prefixed ``a`` or ``b``); an omitted ``b``
    is everything outside ``a`` (refused when ``a`` covers the grid), a given one must not
    overlap ``a``, and a stated ``relation`` must map one side onto the other.
    """
    violations: list[FieldViolation] = []
    regions: dict[str, Locations] = {}
    for side, region in (("a", correlation.a), ("b", correlation.b)):
        if region is not None:
            try:
                regions[side] = resolve_region(region, shape)
            except InvalidRequestError as exc:
                violations += exc.prefixed(side).violations
    if violations:
        raise InvalidRequestError(violations)
    a, b = regions["a"], regions.get("b")
    size = math.prod(shape)
    if b is None:
        outside = np.ones(size, dtype=np.bool_)
        outside[a] = False
        b = np.flatnonzero(outside)
        b.flags.writeable = False
        if b.size == 0:
            raise InvalidRequestError.single(
                "b", f"omitted, so it is everything outside a, but a covers all {size} locations"
            )
    else:
        in_a = np.zeros(size, dtype=np.bool_)
        in_a[a] = True
        shared = b[in_a[b]]
        if shared.size:
            shown = ", ".join(str(i) for i in shared[:5].tolist())
            more = ", ..." if shared.size > 5 else ""
            raise InvalidRequestError.single(
                "b",
                f"overlaps a at {counted(shared.size, 'location')} ({shown}{more}): they must "
                "be disjoint",
            )
    if correlation.relation is not None:
        problem = relation_problem(correlation.relation, a, b, shape)
        if problem is not None:
            raise InvalidRequestError.single("relation", problem)
    return ResolvedCorrelation(correlation.name, a, b, correlation.weight, correlation.relation)


def _name_violations(
    task: Task, preset_correlations: tuple[ResolvedCorrelation, ...]
) -> list[FieldViolation]:
    """Names used twice among the explicit correlations or by a correlation of the preset."""
    names = [correlation.name for correlation in task.correlations]
    violations = repeated_names(names, "correlations")
    repeated = {violation.field for violation in violations}
    preset_names = {_as_read(correlation.name) for correlation in preset_correlations}
    for index, name in enumerate(names):
        field = f"correlations[{index}].name"
        if field not in repeated and _as_read(name) in preset_names:
            violations.append(
                FieldViolation(
                    field,
                    f"duplicate name {name!r}: preset {task.preset!r} gives it to one of its "
                    "correlations; rename this one",
                )
            )
    return violations


def repeated_names(names: Sequence[str], listed: str) -> list[FieldViolation]:
    """Name each correlation of ``listed`` whose name an earlier one has: a task's, a result's.

    Names are compared as they read (:func:`_as_read`): ``é`` written as one code point and as
    ``e`` with a combining accent are one name to a reader of the rationale, as ``x`` and ``x ``
    are to a reader of the table.
    """
    first_use: dict[str, int] = {}
    violations = []
    for index, name in enumerate(names):
        earlier = first_use.setdefault(_as_read(name), index)
        if earlier != index:
            same = names[earlier]
            spelt = "" if same == name else f", written {same!r} there"
            violations.append(
                FieldViolation(
                    f"{listed}[{index}].name",
                    f"duplicate name {name!r} (also {listed}[{earlier}].name{spelt})",
                    cites=(f"{listed}[{earlier}].name",),
                )
            )
    return violations


def _as_read(name: str) -> str:
    """Return the form two names that read alike share: Unicode NFC, its spaces as one.

    Spaces (any Unicode space, the no-break one too) at either end or doubled are invisible in a
    table: ``x`` and ``x `` were two correlations whose rows both read ``x``.
    """
    return " ".join(unicodedata.normalize("NFC", name).split())


_TASK_HOLDS: Final = "a task file holds input and correlations or a preset (docs/FORMATS.md §1)"


def parse_task(obj: Mapping[str, Any]) -> Task:
    """Validate a task document (the parsed YAML/JSON mapping) and resolve its regions.

    Raises
    ------
    InvalidRequestError
        For every problem, pydantic's included, with the field path of each violation.

    Examples
    --------
    >>> task = parse_task({"input": {"shape": [4]}, "correlations": [
    ...     {"name": "ends", "a": {"indices": [0]}, "b": {"indices": [3]}}]})
    >>> [(c.name, c.a.tolist(), c.b.tolist()) for c in task.resolved()]
    [('ends', [0], [3])]
    """
    if not isinstance(obj, Mapping):
        raise InvalidRequestError.single(
            "", f"a task must be a mapping with input and correlations, not {type(obj).__name__}"
        )
    refuse_other_kind(obj, "task", _TASK_HOLDS)
    return Task.model_validate(obj)


def load_task(path: str | os.PathLike[str]) -> Task:
    """Read, validate and resolve a task file: JSON if it ends in ``.json``, YAML otherwise.

    Raises
    ------
    InvalidRequestError
        On field ``""`` (the whole document) when the file cannot be read, is not valid YAML or
        JSON, repeats a key or is not a mapping; otherwise as :func:`parse_task`. On ``path``
        when it is no file path (a mapping: :func:`parse_task` reads it).
    """
    require_path(path, "path", "Task")
    return parse_task(read_document(path, "task"))


def list_presets() -> Presets:
    """Every region preset, then every task preset, with its exact definition."""
    return Presets([*region_preset_infos(), *task_preset_infos()])


def task_document(task: Task) -> dict[str, Any]:
    """Return ``task`` in the docs/FORMATS.md §1 format, JSON-ready; it parses back to ``task``.

    The task as written: its preset, each region in its own form, weights and relations, so a
    search of the document is the search of ``task`` (the same ranking, rationales and page
    tokens). Fields the task did not state are left out (``channels: 1`` of a grey-scale input,
    an empty ``correlations`` beside a preset), so the document says what its author said.
    """
    document: dict[str, Any] = task.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    return document
