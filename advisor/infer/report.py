"""What task inference returns: the task, the arrangement and the partitions it measured.

Plain data (no numpy arrays, nothing of the partitioner), so the client library decodes it from
the wire as cheaply as the other results, and :func:`task_file` writes the task file a person
reads and ``advisor recommend`` takes as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from advisor.infer.significance import least_samples
from advisor.infer.terms import (
    ARRANGEMENT_GAIN,
    EVIDENCE_COVERAGE,
    MAX_PAIRS,
    NEAR_PAIR,
    PAIR_PREFIX,
)
from advisor.layout import TableDisplay, table, wrapped
from advisor.model.documents import ShortRepr, short_dataclass_repr
from advisor.model.grid import InputSpec
from advisor.model.task import Task

__all__ = [
    "MIN_WEIGHT",
    "THIN_EVIDENCE",
    "InferenceReport",
    "InferredCorrelation",
    "dropped_reason",
    "own_order_reason",
    "samples_needed",
    "task_file",
]

MIN_WEIGHT: Final = 0.1
"""A candidate is kept when its density is at least this fraction of the largest."""


@dataclass(frozen=True)
class InferredCorrelation:
    """A candidate partition measured on the data (advisor/infer/task.py).

    Attributes
    ----------
    name
        The partition in words; the task's correlation name when kept.
    entanglement
        Crossing dependence per location of the smaller side (|r| for two locations).
    kept
        Whether the task keeps it.
    chance
        The expected density of two random disjoint sets of the same sizes; a partition at or
        below it is not kept (:func:`advisor.infer.task.chance_density`), but for stripes 1
        wide along an axis of local dependence (:func:`dropped_reason`). None from a server that
        predates it.
    dropped
        Why it is not kept (:func:`dropped_reason`); empty when it is.
    """

    name: str
    entanglement: float
    kept: bool
    chance: float | None
    dropped: str = ""


@dataclass(frozen=True)
class InferenceReport(TableDisplay):
    """The result of task inference.

    Attributes
    ----------
    task
        The inferred task; it carries ``arrangement`` when that lowers the entanglement enough.
        None when the data shows no dependence to model: no edge is evidence (``evidence`` 0),
        or no partition crosses more of it than chance.
    arrangement
        The arrangement (always computed): position p holds location ``arrangement[p]``.
    entanglement_before, entanglement_after
        Surrogate entanglement per canonical level (fraction of the total dependence weight
        crossing it, top-down), in the data's own order and arranged.
    partitioner
        ``metis`` or ``spectral``.
    correlations
        Every candidate partition measured, kept or not.
    threshold
        The least dependence weight read as evidence: independent locations put any edge of the
        grid at or above it with probability 5% (:mod:`advisor.infer.significance`). None from
        a server that predates it (and read every edge of the graph).
    evidence
        The graph's edges at or above ``threshold``; the inference reads only those. None with
        ``threshold``.
    input
        The data's grid and channels, which a task the data is added to must have
        (:func:`~advisor.infer.combine.with_data`), with or without ``task``. None from a server
        that predates it.
    outputs
        The outputs the inference was given (the data's classes), with or without ``task``;
        None where it was given none.

    Its repr abbreviates the arrangement, as a task's repr does its location ids. In a notebook
    and the IPython shell it shows as :meth:`as_table`.
    """

    task: Task | None
    # Every location's id: written whole, a 128x128 grid's made a repr of 100 KB.
    arrangement: tuple[int, ...] = field(metadata={"repr": ShortRepr("ids")})
    entanglement_before: tuple[float, ...]
    entanglement_after: tuple[float, ...]
    partitioner: str
    correlations: tuple[InferredCorrelation, ...]
    threshold: float | None
    evidence: int | None
    input: InputSpec | None = None
    outputs: int | None = None

    __repr__ = short_dataclass_repr

    def as_table(self, no_task: str | None = None) -> str:
        """Return what ``advisor infer`` reports of the inference, after its lines on the data.

        The surrogate entanglement in the data's own order and arranged, whether the task
        carries the arrangement, and every partition measured with its density, chance and
        weight or why it was dropped. The lines before them, on the data (samples, evidence,
        constant locations), need the dependence graph, which the report does not hold; so
        may the reason there is no task, which ``no_task`` gives where the caller has it (the
        report alone called data whose every location is constant too few samples, where the
        command's error named the constant locations).
        """
        return _report_table(self, no_task)


THIN_EVIDENCE: Final = (
    f"the evidence reaches under {EVIDENCE_COVERAGE:.0%} of the varying locations"
)
"""Why a partition of the whole grid, and the arrangement, are not kept: the reason
:func:`dropped_reason` gives when the evidence falls short, which the report's stripes and halves
carry (the CLI reads it there to say why a task keeps the data's own order)."""


def dropped_reason(
    entanglement: float,
    chance: float,
    largest: float,
    *,
    margin: float = 0.0,
    local: bool = False,
    reached: bool = True,
) -> str | None:
    """Why a partition of this density is not kept (None when it is): the task's rule.

    ``largest`` is the largest density measured. Kept: at least :data:`MIN_WEIGHT` of it and
    above ``chance`` by more than ``margin`` — ``chance`` the density two random disjoint sets
    of the same sizes have on average, ``margin`` how far above it random sets reach by
    themselves — unless ``local``: stripes 1 wide along an axis whose halves the data couples
    less than chance (neighbours along it depend, and the stripes separate them); and, for a
    partition of the whole grid (stripes, halves), ``reached``: the evidence reaches at least
    :data:`~advisor.infer.terms.EVIDENCE_COVERAGE` of the varying locations.
    """
    if not reached:
        return THIN_EVIDENCE
    if not local and entanglement <= chance:
        return "not above chance"
    if not local and entanglement <= chance + margin:
        return f"within random splits' spread: under {chance + margin:.3f}"
    if largest <= 0 or entanglement < MIN_WEIGHT * largest:
        return "under a tenth of the largest"
    return None


def task_file(task: Task) -> dict[str, Any]:
    """Return the task file document (docs/FORMATS.md §1) of a task, regions as explicit ids.

    Every correlation keeps its stated ``relation``: ``recommend --save-task`` writes the task
    it searched, and without the relations a search of the saved file read the regions its own
    way and scored the designs otherwise.
    """
    document: dict[str, Any] = {"input": {"shape": list(task.input.shape)}}
    if task.input.channels != 1:
        document["input"]["channels"] = task.input.channels
    if task.outputs is not None:
        document["outputs"] = task.outputs
    document["correlations"] = [
        {
            "name": resolved.name,
            "a": {"indices": resolved.a.tolist()},
            "b": {"indices": resolved.b.tolist()},
            "weight": resolved.weight,
            **({} if resolved.relation is None else {"relation": resolved.relation}),
        }
        for resolved in task.resolved()
    ]
    if task.arrangement is not None:
        document["arrangement"] = list(task.arrangement)
    return document


def _report_table(report: InferenceReport, no_task: str | None) -> str:
    """Lay a report out as ``advisor infer`` prints it, after its lines on the data.

    See :meth:`InferenceReport.as_table`.
    """
    heading = (
        "surrogate entanglement, fraction of the dependence crossing each canonical level "
        "(top-down):"
    )
    lines = wrapped(heading, "", "  ")
    before, after = report.entanglement_before, report.entanglement_after
    for order, text in (
        ("own order", f"{_figures(before)}  total {sum(before):.3f}"),
        ("arranged ", f"{_figures(after)}  total {sum(after):.3f} ({report.partitioner})"),
    ):
        lines += wrapped(f"{order}  {text}", "  ", " " * 13)
    lines += [*wrapped(_arrangement_line(report, no_task), "", "  "), ""]
    weights = {} if report.task is None else {c.name: c.weight for c in report.task.correlations}
    rows = [
        [
            c.name,
            f"{c.entanglement:.3f}",
            "not reported" if c.chance is None else f"{c.chance:.3f}",
            f"{weights[c.name]:.3f}{_kept_note(c)}" if c.kept else _dropped(c.dropped),
        ]
        for c in report.correlations
    ]
    headers = ["partition", "entanglement", "chance", "weight"]
    lines += table(headers, rows, right_aligned={1, 2}, prose_last=True)
    lines += [line for note in _pairs_capped(report) for line in wrapped(note, "", "  ")]
    return "\n".join(lines) + "\n"


def _pairs_capped(report: InferenceReport) -> list[str]:
    """Say where the pairs listed may be the cap's :data:`MAX_PAIRS`, not all that qualify.

    On a 16x16 mirror image 128 pairs are evidence and each its mirror's strongest partner: 16
    were listed, and nothing said that the others were left out.
    """
    pairs = [c for c in report.correlations if c.name.startswith(PAIR_PREFIX)]
    near = sum(c.dropped.startswith(NEAR_PAIR) for c in pairs)
    counts = [(len(pairs) - near, "long-range pairs"), (near, f"pairs {NEAR_PAIR}")]
    return [
        f"the {MAX_PAIRS} strongest {what} are listed, at most {MAX_PAIRS}: more may qualify"
        for count, what in counts
        if count >= MAX_PAIRS
    ]


def _arrangement_line(report: InferenceReport, no_task: str | None) -> str:
    """Say whether the inferred task carries the arrangement, and why not.

    Without a task, why, as far as the report tells (``advisor infer``'s lines before the table
    say more of the data): too few samples for any weight to be evidence, no evidence, or the
    partitions' reasons below; or ``no_task``, the caller's reason. On 5 samples of a 16x16 grid
    it said only "no partition is kept (the reasons below)", and every partition "the evidence
    reaches under 50% ...".
    """
    if report.task is None:
        return f"no task: {no_task or _no_task_reason(report)}"
    if report.task.arrangement is not None:
        return "the task carries the arrangement"
    return f"the task keeps the data's own order ({own_order_reason(report)})"


def _no_task_reason(report: InferenceReport) -> str:
    """Say why ``report`` holds no task, from the report alone (its threshold and evidence)."""
    threshold, evidence = report.threshold, report.evidence
    if threshold is not None and threshold > 1.0:
        locations = len(report.arrangement)
        return (
            f"the sample is too small to show dependence on {locations:,} locations: its "
            f"evidence threshold, {threshold:.3f}, is above any dependence (at most 1); "
            f"{samples_needed(locations)}"
        )
    if evidence == 0:
        return (
            "no pair of locations depends more than independent ones would "
            f"(evidence from {threshold:.3f})"
        )
    return "no partition is kept (the reasons below)"


def samples_needed(locations: int) -> str:
    """Say how many samples of ``locations`` can show dependence (:func:`least_samples`)."""
    return (
        f"at least {least_samples(locations):,} independent samples are needed, a few hundred "
        "to find moderate dependence"
    )


def own_order_reason(report: InferenceReport) -> str:
    """Say which rule kept the arrangement out of ``report.task`` (a task without one).

    The task carries the arrangement when the evidence reaches enough of the varying locations
    and the arrangement lowers the crossing dependence enough. Where the evidence falls short,
    the inference drops every stripe and half with that reason (:data:`THIN_EVIDENCE`), so
    the report's partitions show it; otherwise the arrangement's gain was short.
    """
    if any(c.dropped == THIN_EVIDENCE for c in report.correlations):
        return THIN_EVIDENCE
    return f"the arrangement lowers the crossing dependence by under {ARRANGEMENT_GAIN}"


def _kept_note(correlation: InferredCorrelation) -> str:
    """Say why a partition is kept at or under chance: the locality rule, the one that keeps such.

    :func:`dropped_reason` drops any other partition not above chance, so a kept one at or under
    it is a stripe 1 wide whose axis's halves the data couples less than chance. Without this,
    a row kept at 0.056 against chance 0.254 read as a mistake beside the rule "above chance".
    """
    if correlation.chance is None or correlation.entanglement > correlation.chance:
        return ""
    return (
        " (kept under chance: the halves along its axis are further under, so neighbours along "
        "it depend)"
    )


def _dropped(reason: str) -> str:
    """Return the weight column of a partition not kept: ``dropped (not above chance)``.

    A server that predates the reasons sends none, which read ``dropped ()``.
    """
    return f"dropped ({reason})" if reason else "dropped"


def _figures(values: tuple[float, ...]) -> str:
    """Write per-level entanglement figures to three decimals, a space apart."""
    return " ".join(f"{v:.3f}" for v in values)
