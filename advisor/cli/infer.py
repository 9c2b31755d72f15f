"""The ``advisor infer`` command and ``recommend --data``: data sample -> task, arrangement.

The dependence graph is computed here, on the client side (:mod:`advisor.infer.dependence`);
the service's ``InferTask`` gets only that summary, with ``--target`` as with the embedded server.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
from advisor_client.client import AdvisorClient
from advisor_client.errors import (
    DeadlineExceededError,
    InvalidArgumentError,
    without_timeout_clause,
)

from advisor.cli.options import InferenceInterrupted, TaskFormat
from advisor.cli.output import document_text, stdout_document
from advisor.cli.output_files import (
    check_force,
    check_writable,
    standard_output,
    write_output_file,
)
from advisor.cli.progress import progress_bar_for
from advisor.errors import FieldViolation, InvalidRequestError
from advisor.infer.class_labels import read_labels
from advisor.infer.combine import input_mismatch, no_correlation, with_data
from advisor.infer.data import DataSample, read_data
from advisor.infer.dependence import CONSTANT_REMEDY, dependence_graph
from advisor.infer.graph import DependenceGraph, locations_text
from advisor.infer.npy_files import npz_names
from advisor.infer.report import InferenceReport, own_order_reason, samples_needed, task_file
from advisor.infer.significance import least_samples
from advisor.infer.task import edge_thresholds
from advisor.infer.terms import DATA_PARTS, DEFAULT_TOP_K
from advisor.layout import wrapped
from advisor.model.documents import document_form, read_document
from advisor.model.grid import InputSpec, data_channel_axis
from advisor.model.schedule import grid_text
from advisor.model.task import NO_CORRELATION, Task, parse_task, task_document
from advisor.model.text import told_apart
from advisor.protocol.metadata import REQUEST_READ_TIMEOUT_REASON, SERVER_TIME_BOUND_REASON
from advisor.stdout import shown_on, shown_path, write_stderr
from advisor.words import counted

__all__ = ["arranged_task", "infer", "render_report", "save_searched_task"]


def _sample(
    args: argparse.Namespace, data_option: str, shape: list[int] | None = None
) -> DataSample:
    """Read ``args.data`` (a ``.npy``'s header only); errors name ``data_option``.

    ``data_option`` is how the command takes the file (``DATA`` for ``infer``, ``--data`` for
    ``recommend``), so an error names what the user typed.
    """
    with _data_errors(args, data_option):
        return read_data(args.data, args.shape or shape)


def _graph(args: argparse.Namespace, sample: DataSample, data_option: str) -> DependenceGraph:
    """Compute the dependence graph of ``sample`` (two passes over it), errors as :func:`_sample`.

    A bad ``--labels`` file is told before these passes, which take a minute on the largest files.
    """
    with _data_errors(args, data_option):
        pairs = args.pairs_per_location
        bar = progress_bar_for(sys.stderr)  # on a terminal: the largest files take a minute
        with bar or contextlib.nullcontext():
            return dependence_graph(
                sample,
                top_k=DEFAULT_TOP_K if pairs is None else pairs,
                allow_constant=args.allow_constant,
                progress=None if bar is None else bar.update_reading,
            )


@contextlib.contextmanager
def _data_errors(args: argparse.Namespace, data_option: str) -> Iterator[None]:
    """Name the options behind an error reading the data (:func:`_as_options`)."""
    try:
        yield
    except InvalidRequestError as error:
        # Without --shape the grid is the task's (recommend --data), which the data must fit.
        raise _as_options(error, data_option, "--shape" if args.shape else data_option) from None


def _as_options(
    error: InvalidRequestError, data_option: str, grid_option: str = "--shape"
) -> InvalidRequestError:
    """Name the options behind ``error``'s fields, and the flag its remedy names.

    ``data_option`` gave the data file, ``grid_option`` the grid it was read on. The refusal of
    constant locations names the library's argument, which on the command line is a flag.
    """
    names = {
        "data": data_option,
        "data.shape": grid_option,
        "top_k": "--top-k",
        "labels": "--labels",
    }
    return InvalidRequestError(
        [
            type(v)(
                names.get(v.field, v.field),
                v.description.replace(CONSTANT_REMEDY, "pass --allow-constant"),
            )
            for v in error.violations
        ]
    )


def infer(advisor: AdvisorClient, args: argparse.Namespace) -> str:
    """Run ``advisor infer``: write the task (``--output`` or stdout) and return the report."""
    # --output /dev/stdout is standard output, as - is: the report goes to stderr, not after
    # the task into the stream a script reads.
    output = None if args.output is None or standard_output(args.output) else args.output
    _check_output(args, output)
    sample = _sample(args, "DATA")
    classes = _classes(args, sample, "DATA")
    outputs = None if classes is None else int(classes[0].size)
    graph = _graph(args, sample, "DATA")
    report = _infer_task(
        advisor, graph, "DATA", outputs=outputs, seed=args.seed, timeout=args.timeout
    )
    notes = _labels_notes(args, classes, sample.samples)
    # Wrapped as the report's own notes are: unwrapped, a labels note ran to 150 columns.
    with shown_on(sys.stderr if output is None or report.task is None else sys.stdout):
        summary = render_report(graph, report) + "".join(
            f"{line}\n" for note in notes if note for line in wrapped(note, "", "  ")
        )
    if report.task is None:
        write_stderr(summary)
        raise InvalidRequestError.single("DATA", f"{_no_task(graph, report)}: no task to write")
    if output is None:
        write_stderr(summary)
        return stdout_document(task_file(report.task), args.format or "yaml")
    _write_task(task_file(report.task), output, "--output", args.format, force=args.force)
    return summary + f"task written to {shown_path(output)}\n"


def _infer_task(
    advisor: AdvisorClient,
    graph: DependenceGraph,
    data_option: str,
    *,
    timeout: float | None,
    outputs: int | None = None,
    seed: int = 0,
) -> InferenceReport:
    """Ask for the task of ``graph``; a refusal of the graph names ``data_option``.

    The graph is the data read: the server's ``graph.input.shape: grid of locations 50,176
    exceeds the server's limit ...`` names a request field the command's user never wrote.
    ``timeout`` is ``--timeout`` (None: not given, the client's default), ``outputs`` and
    ``seed`` the call's (:meth:`AdvisorClient.infer_task`).
    """
    try:
        return advisor.infer_task(graph, outputs=outputs, seed=seed, timeout=timeout)
    except InvalidArgumentError as error:
        violations = [
            dataclasses.replace(v, field=data_option) if v.field.startswith("graph") else v
            for v in error.violations
        ]
        raise InvalidArgumentError(error.details, violations, error.limits).with_call_of(
            error
        ) from error
    except DeadlineExceededError as error:
        if timeout is None:  # the client's default: its own words name it, as --timeout's
            raise
        raise _timeout_named(error, graph, timeout) from error


_SERVER_BOUNDS: Final = frozenset({SERVER_TIME_BOUND_REASON, REQUEST_READ_TIMEOUT_REASON})
"""The reasons of a ``DEADLINE_EXCEEDED`` that a bound of the server's, not ``--timeout``, gave."""


def _timeout_named(
    error: DeadlineExceededError, graph: DependenceGraph, timeout: float
) -> DeadlineExceededError:
    """Say that ``--timeout`` ended the inference, and how to let it finish.

    The call's deadline bounds the arrangement only, after the passes over the data, which may
    have taken minutes: ``the inference was stopped before it finished``, alone, named neither
    the option nor its default of 30 s. A server's own bound (its analysis time, its read of
    the request) names its setting and is kept: a longer ``--timeout`` meets it again.
    """
    if error.reason in _SERVER_BOUNDS:
        return error
    return DeadlineExceededError(
        error.code,
        # The client's own words for its timeout, said again here in the command's.
        f"{without_timeout_clause(error.details, timeout)} (--timeout {timeout:g} s, which "
        f"bounds the arrangement of the {graph.num_locations:,} locations, not the reading of "
        "the data: pass a longer --timeout)",
        error.limits,
    ).with_call_of(error)


_Classes: TypeAlias = tuple[npt.NDArray[Any], npt.NDArray[np.intp]]
"""The distinct labels of ``--labels`` and how many samples have each."""


def _classes(args: argparse.Namespace, sample: DataSample, data_option: str) -> _Classes | None:
    """Read ``--labels`` (None without it), one per sample of ``sample``: its classes.

    Read before the passes over the data, which take a minute on the largest files, so a bad
    labels file is told at once; errors name ``data_option`` for the data's fields.
    """
    if args.labels is None:
        return None
    try:
        return np.unique(read_labels(args.labels, sample.samples), return_counts=True)
    except InvalidRequestError as error:
        raise _as_options(error, data_option) from None


def _labels_notes(args: argparse.Namespace, classes: _Classes | None, samples: int) -> list[str]:
    """Return the notes on the labels: classes likely not all classes, or labels not named.

    An archive DATA holding an array ``labels`` that ``--labels`` does not name is noted: its
    labels are read only when named, as a labels file is.
    """
    notes = [_labels_note(classes, samples)]
    if args.labels is None and "labels" in npz_names(args.data):
        data = shown_path(args.data)
        notes.append(
            f"note: {data} also holds an array 'labels', read only when named: "
            f"--labels {data} sets the task's outputs to its classes"
        )
    return [note for note in notes if note]


def _labels_note(classes: _Classes | None, samples: int) -> str:
    """Note labels whose classes are likely not all classes: ``classes`` and their counts.

    Empty when there is nothing to note.

    Sample ids, or a regression target of whole numbers (ages, counts), pass as classes: the
    task's ``outputs`` is then the sample count. A single negative integer beside classes from
    0 marks unlabelled samples, as scikit-learn's -1 or PyTorch's ignored -100 do, and counts as
    one class more. The report says so.
    """
    if classes is None:
        return ""
    values, counts = classes
    outputs = values.size
    if outputs >= samples:
        return (
            f"note: --labels gives each of the {samples:,} samples a class of its own (outputs "
            f"{outputs:,}): if they are sample ids or a regression target, leave --labels out"
        )
    if values.dtype.kind in "iuf" and values[0] < 0 and values[1] == 0:
        return (
            f"note: --labels gives {counts[0]:,} samples the label {values[0]:g} beside classes "
            f"{values[1]:g} to {values[-1]:g}, counted as a class of its own (outputs "
            f"{outputs:,}): if it marks unlabelled samples, the task's outputs is {outputs - 1:,}"
        )
    if _numbered_otherwise(values):
        named = (
            f"{values[0]:g} to {values[-1]:g}"
            if values[-1] - values[0] == outputs - 1
            else ", ".join(f"{v:g}" for v in values[:4]) + (", ..." if outputs > 4 else "")
        )
        return (
            f"note: --labels's {outputs:,} classes are the labels {named}, not 0 to "
            f"{outputs - 1:,}: the task's outputs is {outputs:,}, the classes there are; a loss "
            f"that reads labels as class indices (cross-entropy) needs them renumbered 0 to "
            f"{outputs - 1:,}, or outputs {values[-1] + 1:g}"
        )
    return ""


def _numbered_otherwise(values: npt.NDArray[Any]) -> bool:
    """Whether labels of whole numbers from 0 up are not the class indices 0 to K - 1.

    Labels 1 to 3 (numbered from 1) or 0 and 5 set outputs 3 and 2, the classes there are,
    where a network trained with them as class indices needs 4 and 6: said, as the label -1 is.
    """
    if values.dtype.kind not in "iuf" or values[0] < 0:
        return False
    whole = values.dtype.kind in "iu" or bool(np.all(np.mod(values, 1) == 0))
    return whole and values[-1] != values.size - 1


def _write_task(
    document: dict[str, Any],
    path: Path,
    option: str,
    form: TaskFormat | None = None,
    *,
    force: bool,
) -> None:
    """Write a task ``document`` to ``path`` (``option``'s, checked before the work) as ``form``.

    ``form`` defaults to the one the advisor reads ``path`` in
    (:func:`~advisor.model.documents.document_form`), replaced in one step
    (:func:`~advisor.cli.output_files.write_output_file`; ``force`` as ``--force``).
    """
    text = document_text(document, form or document_form(path))
    write_output_file(path, text, option, force=force)


def _check_output(args: argparse.Namespace, output: Path | None) -> None:
    """Refuse an ``output`` that is the DATA or ``--labels`` file, before anything is read.

    So is YAML asked for a file read as JSON (JSON is YAML, so the converse reads), and
    ``--force`` without a file to replace. ``output`` is ``--output``'s file, None for standard
    output.
    """
    check_force(args.force, output, "--output FILE (standard output replaces no file)")
    if output is None:
        return
    inputs = (("DATA", args.data), ("--labels", args.labels))
    check_writable("--output", output, inputs, "the task", force=args.force)
    if args.format == "yaml" and document_form(output) == "json":
        raise InvalidRequestError.single(
            "--format",
            f"yaml into {shown_path(output)}, which is read as JSON (its name ends .json); pass "
            "--format json, or name the file .yaml",
        )


def arranged_task(
    advisor: AdvisorClient, args: argparse.Namespace
) -> tuple[Task | str, str | None]:
    """Return ``recommend``'s task, the file with what ``--data`` shows, and the data's notice.

    The parts of the inference ``--from-data`` names (default: its correlations, and its
    arrangement when the inference carries it) are added to the file's task
    (:func:`advisor.infer.combine.with_data`). A ``--save-task`` path is checked here, before
    the data is read, and written by :func:`save_searched_task` once the search succeeded.

    The notice (None when there is none) is the line that says what the data did not add (no
    dependence, or an arrangement held back): the caller writes it once the search returned,
    since a search that fails (a budget no net fits) is one line on stderr, its error alone.

    A Ctrl-C during the inference raises :class:`~advisor.cli.options.InferenceInterrupted`,
    so the command exits as ``advisor infer`` stopped does.
    """
    check_force(args.force, args.save_task, "--save-task TASK.yaml, the one file recommend writes")
    if args.data is None:
        given = {
            "--from-data": args.from_data is not None,
            "--shape": args.shape is not None,
            "--top-k": args.pairs_per_location is not None,
            "--allow-constant": args.allow_constant,
            "--labels": args.labels is not None,
            "--save-task": args.save_task is not None,
        }
        needing = [
            FieldViolation(option, f"needs --data DATA{_NOT_TOP.get(option, '')}")
            for option, on in given.items()
            if on
        ]
        if needing:
            raise InvalidRequestError(needing)
        return str(args.task), None
    if args.save_task is not None:
        if standard_output(args.save_task):
            raise InvalidRequestError.single(
                "--save-task",
                f"{shown_path(args.save_task)} is standard output, which holds the result: "
                "name a file",
            )
        check_writable(
            "--save-task", args.save_task, _save_task_inputs(args), "the task", force=args.force
        )
    parts = args.from_data or DATA_PARTS
    try:
        document: dict[str, Any] = dict(read_document(args.task, "task"))
        described = _described_input(document, parts)
    except InvalidRequestError as error:
        raise error.prefixed("task") from None
    sample = _sample(args, "--data", list(described.shape))
    classes = _classes(args, sample, "--data")
    if classes is not None:
        _set_outputs(document, int(classes[0].size), args.labels, args.outputs)
    try:
        graph = _graph(args, sample, "--data")
        mismatch = input_mismatch(described, graph.input)
        if mismatch is not None:  # before the call, and whether or not the data gives a task
            raise InvalidRequestError.single("--data", mismatch)
        report = _infer_task(advisor, graph, "--data", timeout=args.timeout)
    except KeyboardInterrupt:
        raise InferenceInterrupted from None
    try:
        task = parse_task(with_data(document, report, parts))
    except InvalidRequestError as error:
        if report.task is None and error.violations[0].field == NO_CORRELATION.field:
            # One line, saying why from the data's graph, which the report does not hold: the
            # notice below would call this no task "the description".
            error = InvalidRequestError([no_correlation(_no_task(graph, report))])
        raise error.prefixed("task") from None
    notes = _labels_notes(args, classes, sample.samples)
    if sample.flat:  # a sequence's file given for an image task read as images, without a word
        notes.append(
            f"--data: each sample's {sample.num_locations * sample.channels:,} values, a flat "
            f"row, were read row-major as the task's {grid_text(sample.shape)} grid"
        )
    if report.task is None:
        notes.append(f"--data: {_no_task(graph, report)}; the task is the description alone")
    elif "arrangement" in parts and report.task.arrangement is None:
        notes.append(f"--data: {own_order_reason(report)}; the task keeps the data's own order")
    return task, "\n".join(notes) or None


def _set_outputs(
    document: dict[str, Any], classes: int, labels: Path, searched: int | None
) -> None:
    """Set the described task's ``outputs`` to the classes of ``--labels``, as ``infer`` does.

    A description that states other outputs is refused, naming both: the labels do not
    silently change what the file says, nor the file what the labels say. So is other
    ``--outputs`` (``searched``), which the search's designs would have while the task saved
    with ``--save-task`` had the labels' classes.
    """
    if searched is not None and searched != classes:
        raise InvalidRequestError.single(
            "--outputs",
            f"{searched:,}, but {shown_path(labels)} (--labels) holds {classes:,} classes: leave "
            f"--outputs out (the labels set the outputs), or make it {classes:,}",
        )
    stated = document.get("outputs")
    if stated is not None and stated != classes:
        raise InvalidRequestError.single(
            "--labels",
            f"{shown_path(labels)} holds {classes:,} classes, but the task states outputs "
            f"{stated}: leave --labels out, or make the task's outputs {classes:,}",
        )
    document["outputs"] = classes


_NOT_TOP: Final = {"--top-k": " (the data's pairs per location; --top sets how many designs)"}
"""What ``--top-k`` without ``--data`` was likely meant as: ``top_k`` is ``--top``'s field."""


def _described_input(document: dict[str, Any], parts: Sequence[str]) -> InputSpec:
    """Return the described task's input, once the description holds on its own.

    It is checked before the data is read against its grid, in full but for correlations when
    the data is to add them: a description of the input and outputs alone, with ``--data``, is
    a task once the data's correlations are added (:func:`arranged_task` refuses it after, if
    the data adds none).

    Raises
    ------
    InvalidRequestError
        On the description's fields.
    """
    try:
        return parse_task(document).input
    except InvalidRequestError as error:
        if error.violations != (NO_CORRELATION,):
            raise
        if "correlations" not in parts:
            # Said alone, the refusal did not tell that --from-data had left the data's out.
            raise InvalidRequestError.single(
                NO_CORRELATION.field,
                f"{NO_CORRELATION.description}: the description has none, and --from-data "
                f"{' '.join(parts)} takes none from the data (add correlations to --from-data)",
            ) from None
    return InputSpec.model_validate(document["input"])


def save_searched_task(task: Task | str, args: argparse.Namespace) -> None:
    """Write ``recommend``'s searched ``task`` to ``--save-task``, if given, after the search.

    Only a search that returned has a task searched: written before it, a search the server
    refused (a budget no net fits, a limit) left a task no result belongs to, and replaced the
    one a successful run had saved beside its result. ``--save-task`` needs ``--data``, so a
    path is only given with the :class:`Task` :func:`arranged_task` built.

    The task is written as it was searched (:func:`~advisor.model.task.task_document`): the
    description's preset, region forms and relations, and the data's correlations. Written
    with every region as ids, the preset expanded and the relations dropped, a search of the
    saved file read the regions otherwise (scoring the designs otherwise) and refused the
    search's page tokens as another request's.
    """
    if args.save_task is None:
        return
    assert isinstance(task, Task), "--save-task is refused without --data"
    _write_task(task_document(task), args.save_task, "--save-task", force=args.force)
    # On standard error, as standard output holds the result: said as infer says it.
    write_stderr(f"task written to {shown_path(args.save_task)}\n")


def _save_task_inputs(args: argparse.Namespace) -> tuple[tuple[str, Path | None], ...]:
    """Return the files ``--save-task`` may not overwrite: the task and the data it came from."""
    return (("TASK", Path(args.task)), ("--data", args.data), ("--labels", args.labels))


def render_report(graph: DependenceGraph, report: InferenceReport) -> str:
    """Describe the data, the surrogate entanglement before/after and every candidate measured.

    Its prose wraps as the recommendation tables' does (:func:`~advisor.layout.wrapped`),
    within the terminal's width: unwrapped, the evidence line ran to 180 columns. The lines on
    the data are the command's; the rest is the report's own table
    (:meth:`~advisor.infer.report.InferenceReport.as_table`, what a notebook shows).
    """
    grid = grid_text(graph.shape)
    notes = [
        f"data: {_samples_text(graph)}, grid {grid}, {counted(graph.channels, 'channel')}; "
        f"{counted(graph.weights.size, 'pair')} "
        f"(top {graph.top_k} per location, {graph.estimate})",
        _evidence_line(graph, report),
    ]
    channels = data_channel_axis(graph.shape) if graph.channels == 1 else None
    if channels is not None:
        end = "last" if channels.last else "first"
        values, what = {
            1: ("1 value", "it is a channels axis (one channel)"),
            2: ("2 values", "they are channels (as a signal's I and Q, or stereo's two)"),
        }.get(channels.size, (f"{channels.size} values", "they are colour channels"))
        # One channel's grid leaves every axis of one location out, not the end one alone: of a
        # grid of 3 axes at most, the other is one axis (``(1, 1, 4)``'s middle one).
        others = len(graph.shape) - 1 > len(channels.grid)
        left_out = ", and the other axis of 1 location left out" if others else ""
        notes.append(
            f"note: the {end} axis has {values} per location of "
            f"{'x'.join(str(n) for n in channels.grid)}; if {what}, pass "
            f"--shape {' '.join(str(n) for n in channels.grid)} (the grid; the {end} axis is then "
            f"read as channels{left_out})"
        )
    if graph.constant:
        shown = locations_text(graph.shape, graph.constant)
        notes.append(f"constant locations (no edges): {len(graph.constant):,}, at {shown}")
    lines = [line for note in notes for line in wrapped(note, "", "  ")]
    no_task = None if report.task is not None else _no_task(graph, report)
    return "\n".join(lines) + "\n" + report.as_table(no_task)


def _evidence_line(graph: DependenceGraph, report: InferenceReport) -> str:
    """Return the report's ``evidence`` line: how many pairs reach their threshold, or why none can.

    None can where the normal threshold is above 1 (too few samples), and where every pair of
    the graph needs more than 1, being of several channels or of sparse, heavy-tailed or skewed
    locations (:func:`_raised_kinds`): a count of 0
    "at dependence 0.481 or more" read as if some pair could have been. A server that predates
    the threshold reports none ("0 of the pairs at dependence 0.000 or more", it read).
    """
    constant = _too_constant(graph)
    if constant is not None:
        return f"evidence: none can be: {constant}"
    threshold, evidence = report.threshold, report.evidence
    if threshold is None or evidence is None:
        return (
            "evidence: not reported: the server predates the evidence threshold, and reads every "
            "pair of the graph as dependence, sampling noise too"
        )
    if threshold > 1.0:
        return f"evidence: none can be: {_too_few(graph)}"
    own = edge_thresholds(graph)
    if own.size and bool((own > 1.0).all()):
        return (
            f"evidence: none can be: each of the graph's {own.size:,} pairs is of "
            f"{_raised_kinds(graph)} locations and needs more than 1, the largest dependence "
            f"({_span(own)}), in {_samples_text(graph)}"
        )
    return (
        f"evidence: {evidence:,} of the pairs at dependence {threshold:.3f} or "
        f"more{_heavy_pairs(graph, own, threshold, _HEAVY_FORM)}, "
        "which independent locations reach with probability 5% over every pair of the grid; the "
        "rest is sampling noise and is not read"
    )


def _no_task(graph: DependenceGraph, report: InferenceReport) -> str:
    """Say why the data gives no task (``report.task`` is None).

    Locations that never vary come first: where no two vary, more samples would not help, and
    data with every location constant (an array of zeros) is one distinct sample, which the
    threshold alone calls too few samples ("at least 18 ... are needed").
    """
    constant = _too_constant(graph)
    if constant is not None:
        return f"the sample shows no dependence to model: {constant}"
    threshold, evidence = report.threshold, report.evidence
    if threshold is None or evidence is None:  # a server that predates the evidence threshold
        return "no partition is kept from the sample's pairs"
    if threshold > 1.0:
        return f"the sample is too small to show dependence: {_too_few(graph)}"
    if evidence == 0:
        return (
            f"the sample shows no dependence to model: no pair of locations depends more than "
            f"independent ones would in {_samples_text(graph)} ({_largest_pair(graph, threshold)})"
        )
    return f"no partition is kept from the sample's {evidence:,} dependent pair(s)"


def _too_constant(graph: DependenceGraph) -> str | None:
    """Say that fewer than two locations vary, where so: no pair is left to measure.

    "No pair depends more than chance" would be no reason there, nor "too few samples", what
    the evidence threshold alone makes of data whose every location is constant (one distinct
    sample).
    """
    if graph.num_locations - len(graph.constant) >= 2:
        return None
    return (
        f"{len(graph.constant):,} of its {graph.num_locations:,} locations never vary, which "
        "leaves no pair of varying locations to measure"
    )


def _largest_pair(graph: DependenceGraph, normal: float) -> str:
    """``largest 0.987, which needs 2.938; evidence from 0.481, and from ...``: why it fell short.

    ``normal`` is the report's threshold, the one of a pair of neither sparse, heavy-tailed nor
    skewed locations.

    The pair's own threshold is given where it is above the normal one (its locations are
    sparse, heavy-tailed or skewed, or of several channels), which alone would read as a
    contradiction. The largest
    weight and what it needs take the digits that tell them apart (:func:`told_apart`): "largest
    0.078, which needs 0.078" read as a pair at its threshold.
    """
    if not graph.weights.size:
        return f"largest 0.000, evidence from {normal:.3f}"
    edge = int(np.argmax(graph.weights))
    own = edge_thresholds(graph)
    weight = float(graph.weights[edge])
    heavy = _heavy_pairs(graph, own, normal, ", and from {}")
    if own[edge] > normal:
        largest, needs = told_apart(weight, float(own[edge]), least=3, most=9)
        return f"largest {largest}, which needs {needs}; evidence from {normal:.3f}{heavy}"
    largest, evidence = told_apart(weight, normal, least=3, most=9)
    return f"largest {largest}; evidence from {evidence}{heavy}"


_HEAVY_FORM = " ({}, whose values make larger chance correlations)"
"""How the report's evidence line names the pairs with a higher threshold (:func:`_heavy_pairs`)."""


def _heavy_pairs(
    graph: DependenceGraph, own: npt.NDArray[np.float64], threshold: float, form: str
) -> str:
    """``1.018 to 2.947 for 2,458 of the graph's pairs (sparse, heavy-tailed or skewed)``.

    In ``form``. ``own`` holds the graph's pairs' thresholds
    (:func:`~advisor.infer.task.edge_thresholds`): a sparse or heavy-tailed pair's, Bennett's,
    a skewed one's, Cornish-Fisher's, and one of several channels are above ``threshold``, the
    normal one the report gives; empty when no pair of the graph has one.
    """
    heavy = own[own > threshold]
    if not heavy.size:
        return ""
    return form.format(
        f"{_span(heavy)} for {heavy.size:,} of the graph's pairs ({_raised_kinds(graph)})"
    )


def _raised_kinds(graph: DependenceGraph) -> str:
    """Say what raises a pair's threshold above the normal one in ``graph``.

    ``sparse, heavy-tailed or skewed`` for one channel; with several, their effective channels
    too (:mod:`advisor.infer.significance`), which alone read as "sparse" on Gaussian noise.
    """
    tails = "sparse, heavy-tailed or skewed"
    return tails if graph.channels == 1 else f"several channels, or {tails}"


def _span(thresholds: npt.NDArray[np.float64]) -> str:
    """``1.018 to 2.947``, or one figure where the ends print alike (one pair, say).

    As a range, the threshold of a grid's only pair read "0.534 to 0.534".
    """
    low, high = f"{thresholds.min():.3f}", f"{thresholds.max():.3f}"
    return low if low == high else f"{low} to {high}"


def _too_few(graph: DependenceGraph) -> str:
    """Say why no weight can be evidence (the report's ``threshold`` is above 1): too few samples.

    In so few samples independent locations reach any weight, ``|r| = 1`` included (every pair
    of two samples has it), with more than 5% probability over the grid's pairs. Where the
    distinct samples alone would be enough, the repeats are what weigh the sample down, and it
    says so (:func:`_repeats_dominate`).
    """
    return (
        f"{_samples_text(graph)} {'is' if graph.distinct_samples == 1 else 'are'} too few to "
        "tell dependence from independence "
        f"on {graph.num_locations:,} locations (independent locations correlate up to |r| = 1 by "
        f"chance); {samples_needed(graph.num_locations)}{_repeats_dominate(graph)}"
    )


def _repeats_dominate(graph: DependenceGraph) -> str:
    """``; the repeats dominate: removing them leaves 601 usable samples``, where that is so.

    Where the distinct samples number at least those needed (:func:`least_samples`): copies of
    a few samples (one saved 600 times beside 600 others) weigh the sample as next to none, and
    "601 distinct samples ... are too few" read as if more data were what it lacked.
    """
    distinct = graph.distinct_samples
    if distinct is None or distinct < least_samples(graph.num_locations):
        return ""
    return f"; the repeats dominate: removing them leaves {distinct:,} usable samples"


def _samples_text(graph: DependenceGraph) -> str:
    """``1,200 samples``, with repeats ``300 distinct samples (1,200 with repeats)``.

    What the evidence counts. Where the samples weigh as another count of independent ones than
    the distinct ones (:attr:`DependenceGraph.effective_samples`: copies saved unevenly weigh
    as fewer, ties that independent draws make by chance as next to none), the threshold uses
    that count and the text gives it, whole: ``863 distinct samples (1,000 with repeats,
    weighing as 997)``.
    """
    distinct = graph.distinct_samples
    if distinct is None or distinct == graph.samples:
        return f"{graph.samples:,} samples"
    weighing = ""
    if round(graph.independent_samples) != distinct:
        weighing = f", weighing as {graph.independent_samples:,.0f}"
    kind = "distinct sample" if distinct == 1 else "distinct samples"
    return f"{distinct:,} {kind} ({graph.samples:,} with repeats{weighing})"
