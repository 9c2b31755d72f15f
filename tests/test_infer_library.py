"""The library's task inference in-process: the report a client gets, and ``with_data``.

``advisor.infer_task`` takes the client's arguments (``stop`` for its ``timeout``) and returns
the report a server sends for them; ``advisor.with_data`` adds it to a described task of any
form the library and the client take, returning the form it was given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from advisor_client import AdvisorClient

import advisor
from advisor.infer import inference as inference_module
from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.report import task_file
from advisor.model.documents import read_document
from advisor.model.task import task_document
from advisor.service.server import ServerConfig, start_server


def _smooth(samples: int = 400) -> np.ndarray:
    """``samples`` of an 8 x 8 grid whose neighbours depend: data with a task to infer."""
    values = np.random.default_rng(5).standard_normal((samples, 8, 8))
    values[:, 1:] += values[:, :-1]
    values[:, :, 1:] += 0.5 * values[:, :, :-1]
    return values


def _shuffled() -> np.ndarray:
    """:func:`_smooth`'s locations in a random order, flat: a task that carries an arrangement."""
    order = np.random.default_rng(1).permutation(64)
    return _smooth().reshape(400, 64)[:, order]


@pytest.fixture(scope="module")
def client() -> Iterator[AdvisorClient]:
    with start_server(ServerConfig(workers=1)) as server, AdvisorClient(server.address) as made:
        yield made


_CALLS: list[tuple[str, Callable[[Path], Any], dict[str, Any]]] = [
    ("array", lambda _: _smooth(), {}),
    ("arguments", lambda _: _smooth(), {"top_k": 8, "outputs": 10, "seed": 3}),
    ("arranged", lambda _: _shuffled(), {"shape": [8, 8]}),
    ("file", lambda tmp: _saved(tmp / "data.npy", _smooth()), {"allow_constant": True}),
    ("sample", lambda _: data_from_array(_smooth()), {}),
    ("graph", lambda _: dependence_graph(data_from_array(_shuffled(), (8, 8))), {"outputs": 2}),
]


def _saved(path: Path, values: np.ndarray) -> Path:
    np.save(path, values)
    return path


@pytest.mark.parametrize(("data", "arguments"), [c[1:] for c in _CALLS], ids=[c[0] for c in _CALLS])
def test_the_library_infers_the_report_a_client_gets_from_a_server(
    client: AdvisorClient,
    tmp_path: Path,
    data: Callable[[Path], Any],
    arguments: dict[str, Any],
) -> None:
    given = data(tmp_path)
    in_process = advisor.infer_task(given, **arguments)
    served = client.infer_task(given, **arguments)
    assert isinstance(in_process, advisor.InferenceReport)
    for field in dataclasses.fields(advisor.InferenceReport):
        assert getattr(in_process, field.name) == getattr(served, field.name), field.name
    assert in_process.task is not None


@pytest.mark.parametrize(
    ("data", "arguments"),
    [
        (_smooth(20), {"top_k": 0}),
        (_smooth(20), {"top_k": 2.5}),
        (_smooth(20), {"allow_constant": "no"}),
        (_smooth(20), {"shape": "8x8"}),
        (_smooth(20), {"shape": [8, 0]}),
        (_smooth(20), {"outputs": 0, "top_k": 0}),
        (_smooth(20), {"seed": -1}),
        (data_from_array(_smooth(20)), {"shape": [8, 8]}),
        (dependence_graph(data_from_array(_smooth(20))), {"top_k": 4, "allow_constant": False}),
        (np.full((20, 8, 8), np.nan), {}),
        (np.zeros((1, 8, 8)), {}),
    ],
)
def test_the_library_refuses_what_the_client_refuses_naming_the_same_fields(
    client: AdvisorClient, data: Any, arguments: dict[str, Any]
) -> None:
    with pytest.raises(advisor.InvalidRequestError) as in_process:
        advisor.infer_task(data, **arguments)
    with pytest.raises(advisor.InvalidRequestError) as served:
        client.infer_task(data, **arguments)
    assert in_process.value.violations == served.value.violations


def test_a_bad_graph_is_refused_under_data_as_the_service_refuses_it_under_graph(
    client: AdvisorClient,
) -> None:
    graph = dependence_graph(data_from_array(_smooth()))
    bad = dataclasses.replace(graph, weights=graph.weights * 2)
    with pytest.raises(advisor.InvalidRequestError) as in_process:
        advisor.infer_task(bad)
    with pytest.raises(advisor.BadRequestError) as served:
        client.infer_task(bad)
    fields = [v.field for v in in_process.value.violations]
    assert fields and all(field.startswith("data.weights[") for field in fields)
    assert fields == [v.field.replace("graph.", "data.", 1) for v in served.value.violations]


def test_a_stopped_signal_ends_the_inference_with_no_report() -> None:
    stop = advisor.StopSignal()
    stop.cancel()
    with pytest.raises(advisor.StoppedError, match="inference was stopped"):
        advisor.infer_task(_smooth(), stop=stop)


def test_the_signal_is_polled_while_the_sample_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the inference from the graph polled: a stop while a large file was read waited for
    # its passes to end.
    def inferred(*args: object, **kwargs: object) -> None:
        raise AssertionError("the graph was computed whole")

    monkeypatch.setattr(inference_module, "infer_from_graph", inferred)
    polls: list[int] = []

    class Counting(advisor.StopSignal):
        """Stops at its third poll: while the graph's passes read the chunks of the sample."""

        def stopped(self) -> bool:
            polls.append(len(polls))
            return len(polls) >= 3

    with pytest.raises(advisor.StoppedError):
        advisor.infer_task(_smooth(), stop=Counting())
    assert len(polls) == 3


def test_a_stop_that_is_no_signal_is_refused_naming_it() -> None:
    with pytest.raises(advisor.InvalidRequestError) as error:
        advisor.infer_task(_smooth(), stop=5.0)  # type: ignore[arg-type]
    assert [v.field for v in error.value.violations] == ["stop"]


def test_a_task_with_the_data_is_a_task_the_library_searches(tmp_path: Path) -> None:
    # with_data returned a dict, which the library's recommend refused: "must be a Task".
    task = advisor.parse_task({"input": {"shape": [8, 8]}, "preset": "symmetry"})
    report = advisor.infer_task(_smooth())
    combined = advisor.with_data(task, report)
    assert isinstance(combined, advisor.Task)
    assert combined == advisor.parse_task(advisor.with_data(task_document(task), report))
    assert {f"data: {c.name}" for c in report.task.correlations} <= {  # type: ignore[union-attr]
        c.name for c in combined.correlations
    }
    budget = advisor.Budget(max_parameters=20_000, time_limit_seconds=5.0)
    names = {c.name for c in advisor.recommend(combined, budget).recommendations[0].analysis}
    assert any(name.startswith("data: ") for name in names)


@pytest.mark.parametrize("as_path", [str, Path])
def test_a_task_file_s_path_with_the_data_is_its_document_with_the_data(
    tmp_path: Path, as_path: Callable[[Path], str | Path]
) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("input: {shape: [8, 8]}\npreset: symmetry\n", encoding="utf-8")
    report = advisor.infer_task(_shuffled(), shape=(8, 8))
    combined = advisor.with_data(as_path(path), report)
    assert combined == advisor.with_data(read_document(path, "task"), report)
    assert combined["arrangement"] == list(report.arrangement)


def test_a_task_file_that_cannot_be_read_is_refused_naming_it(tmp_path: Path) -> None:
    report = advisor.infer_task(_smooth())
    with pytest.raises(advisor.InvalidRequestError, match="cannot read task file"):
        advisor.with_data(tmp_path / "missing.yaml", report)


def _noise() -> np.ndarray:
    """400 samples of an 8 x 8 grid of independent locations: data with no task to infer."""
    return np.random.default_rng(0).normal(size=(400, 8, 8))


@pytest.mark.parametrize("inferred", [_noise, _smooth], ids=["no task", "a task"])
def test_a_description_of_another_grid_is_refused_whether_or_not_the_data_gives_a_task(
    inferred: Callable[[], np.ndarray],
) -> None:
    # Without a task the report's grid went unchecked: with_data returned the description of
    # 16x16 beside 8x8 data, which recommend --data refused.
    report = advisor.infer_task(inferred())
    assert report.input == advisor.InputSpec(shape=[8, 8])
    with pytest.raises(advisor.InvalidRequestError) as refused:
        advisor.with_data({"input": {"shape": [16, 16]}, "preset": "symmetry"}, report)
    [violation] = refused.value.violations
    assert violation.field == "input"
    assert violation.description.startswith("the data's grid [8, 8] is not the task's [16, 16]")


def test_a_description_the_data_adds_no_correlation_to_is_refused_as_the_command_refuses_it() -> (
    None
):
    report = advisor.infer_task(_noise())
    assert report.task is None
    with pytest.raises(advisor.InvalidRequestError) as refused:
        advisor.with_data({"input": {"shape": [8, 8]}}, report)
    [violation] = refused.value.violations
    assert violation.field == "correlations"
    assert violation.description.endswith(
        ": the description has none, and the data adds none: the sample shows no dependence to "
        "model (the report has no task)"
    )
    # A preset is a task's correlations: the description alone is the task.
    described = {"input": {"shape": [8, 8]}, "preset": "symmetry"}
    assert advisor.with_data(described, report) == described


@pytest.mark.parametrize("inferred", [_noise, _smooth], ids=["no task", "a task"])
def test_the_outputs_the_inference_was_given_are_the_task_s_or_refused_if_it_states_others(
    inferred: Callable[[], np.ndarray],
) -> None:
    # with_data dropped them, where recommend --data --labels sets the labels' classes.
    report = advisor.infer_task(inferred(), outputs=3)
    assert report.outputs == 3
    described = {"input": {"shape": [8, 8]}, "preset": "symmetry"}
    assert advisor.with_data(described, report)["outputs"] == 3
    assert advisor.with_data({**described, "outputs": 3}, report)["outputs"] == 3
    with pytest.raises(advisor.InvalidRequestError) as refused:
        advisor.with_data({**described, "outputs": 5}, report)
    [violation] = refused.value.violations
    assert (violation.field, violation.description) == (
        "outputs",
        "is 5, but the data's report holds outputs 3 (the classes the inference was given): "
        "make the task's outputs 3, or infer without them",
    )


def test_outputs_stated_as_a_numpy_integer_or_against_an_older_server_s_report_are_checked() -> (
    None
):
    # np.int64(5) beside outputs 3 passed (only a Python int was compared); a report of a
    # server that predates its input and outputs fields carries the outputs in its task alone.
    report = advisor.infer_task(_smooth(), outputs=3)
    older = dataclasses.replace(report, input=None, outputs=None)
    assert older.task is not None and older.task.outputs == 3
    described = {"input": {"shape": [8, 8]}, "preset": "symmetry"}
    for given in (report, older):
        for stated in (5, np.int64(5)):
            with pytest.raises(advisor.InvalidRequestError) as refused:
                advisor.with_data({**described, "outputs": stated}, given)
            assert [v.field for v in refused.value.violations] == ["outputs"]
        assert advisor.with_data(described, given)["outputs"] == 3


def test_correlations_that_are_no_list_are_left_to_the_task_s_validation() -> None:
    # with_data raised TypeError: 'int' object is not iterable.
    report = advisor.infer_task(_smooth())
    # A falsy one ({}, 0) was told "the data adds none: parts ... takes none", which was false.
    values: list[object] = [5, {}, 0, "abc"]
    for given in values:
        combined = advisor.with_data({"input": {"shape": [8, 8]}, "correlations": given}, report)
        assert combined["correlations"] == given
        with pytest.raises(advisor.InvalidRequestError) as refused:
            advisor.parse_task(combined)
        assert [v.field for v in refused.value.violations] == ["correlations"]


def test_a_table_of_as_many_pairs_as_the_cap_says_more_may_qualify() -> None:
    # A 16x16 mirror image has 128 mirrored pairs, each its mirror's strongest partner: 16 were
    # listed and nothing said the others were left out.
    rng = np.random.default_rng(0)
    values = rng.normal(size=(500, 16, 16))
    values[:, :, 8:] = values[:, :, 7::-1] + 0.1 * rng.normal(size=(500, 16, 8))
    table = " ".join(advisor.infer_task(values).as_table().split())
    assert "the 16 strongest long-range pairs are listed, at most 16: more may qualify" in table
    # Fewer pairs than the cap: no such line.
    assert "more may qualify" not in advisor.infer_task(_smooth()).as_table()


def test_a_report_without_a_task_says_why_in_its_table() -> None:
    # On 5 samples the table said "no task: no partition is kept (the reasons below)", and every
    # partition "the evidence reaches under 50% ...": the real reason, too few samples, was the
    # command's line before the table alone, and a notebook showed the table only.
    few = advisor.infer_task(_smooth(5))
    assert few.task is None and few.threshold is not None and few.threshold > 1
    assert (
        "no task: the sample is too small to show dependence on 64 locations: its evidence "
        f"threshold, {few.threshold:.3f}, is above any dependence (at most 1); at least 18 "
        "independent samples are needed, a few hundred to find moderate dependence"
    ) in " ".join(few.as_table().split())
    noise = advisor.infer_task(np.random.default_rng(0).normal(size=(400, 8, 8)))
    assert noise.task is None and noise.evidence == 0
    assert (
        "no task: no pair of locations depends more than independent ones would (evidence "
        f"from {noise.threshold:.3f})"
    ) in " ".join(noise.as_table().split())


@pytest.mark.parametrize("values", [_smooth(), _shuffled()], ids=["grid", "arranged"])
def test_an_inferred_task_equals_the_task_file_written_from_it(values: np.ndarray) -> None:
    # The arranged stripes' ids came in the arrangement's order, the file's ascending: one
    # task, two cache keys (equal sets; regions compare their ids in order).
    report = advisor.infer_task(values, shape=[8, 8])
    assert report.task is not None
    assert advisor.parse_task(task_file(report.task)) == report.task
