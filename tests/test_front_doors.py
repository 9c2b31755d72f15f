"""One request through every front door: the library, the Python client and the command.

Each door must give the same answer to the same request: the same ranking and architectures
(the command's JSON byte for byte the library's document), the same figures, certificates and
rationale text of an analysis, the same next page, and the same refusal of an invalid request
(the same fields and words, named as the command's options on the command line). Only
``search_seconds``, the time each search took, may differ.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from advisor_client.client import AdvisorClient
from advisor_client.errors import InvalidArgumentError
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor import (
    Budget,
    analysis_document,
    analyze,
    list_presets,
    load_architecture,
    load_task,
    parse_task,
    recommend,
    search_result_document,
)
from advisor.cli.options import BUDGET_OPTIONS
from advisor.cli.output import stdout_document
from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.architecture import parse_architecture
from advisor.model.results import SearchResult
from advisor.service.server import ServerConfig, start_server
from advisor.usage import violations_as_options
from tests.support.strategies import searchable_shapes, valid_task_documents
from tests.test_cli import advisor

Document = dict[str, Any]

_FLAGS = {option.field: option.flag for option in BUDGET_OPTIONS}
_OPTIONS = {f"budget.{field}": flag for field, flag in _FLAGS.items()}
"""The command's option of each budget field, as its refusals name them."""

_EXAMPLES = Path(__file__).parents[1] / "examples"

_TIME_LIMIT = 60.0
"""Seconds each search may take: far more than a search of these small grids needs, so every
search is complete and the doors' answers do not depend on the machine's pace."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The address of a server with the default limits, as ``advisor serve`` starts one."""
    with start_server(ServerConfig(port=0, workers=1, executor="threads")) as running:
        yield running.address


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[AdvisorClient]:
    """A client of :func:`server`."""
    with AdvisorClient(server) as client:
        yield client


_TASK_PRESETS = [p.name for p in list_presets() if p.kind == "task"]


@st.composite
def _tasks(draw: st.DrawFn) -> Document:
    """A task of a 1-D, 2-D or 3-D grid of up to 64 locations: correlations, or a preset."""
    shape = draw(st.one_of(searchable_shapes(), st.sampled_from([(2, 2, 2), (2, 4, 4)])))
    if draw(st.integers(0, 3)) == 0:
        return {"input": {"shape": list(shape)}, "preset": draw(st.sampled_from(_TASK_PRESETS))}
    return draw(valid_task_documents(shape, max_correlations=3))


@st.composite
def _requests(draw: st.DrawFn) -> tuple[Document, Document]:
    """A small task and a budget for it, valid or not."""
    task = draw(_tasks())
    families = ["contiguous", "mirror", "interleaved", "mixture"]
    if len(task["input"]["shape"]) == 1:
        families.append("dilations")
    budget = draw(
        st.fixed_dictionaries(
            {
                "max_parameters": st.sampled_from([40, 5_000, 20_000, 50_000, 200_000]),
                "top_k": st.integers(1, 20),
                "time_limit_seconds": st.just(_TIME_LIMIT),
            },
            optional={
                "seed": st.integers(0, 100),
                "objective": st.sampled_from(["weighted", "maximin"]),
                "max_multiply_adds": st.sampled_from([500, 100_000, 10**7]),
                "max_activations": st.sampled_from([300, 5_000, 10**6]),
                "channel_choices": st.lists(
                    st.sampled_from([2, 4, 8, 16, 32, 64]), min_size=1, max_size=4, unique=True
                ),
                "geometries": st.lists(st.sampled_from(families), min_size=1, unique=True),
                "max_depth": st.integers(1, 6),
                "outputs": st.integers(1, 20),
            },
        )
    )
    return task, budget


def _arguments(budget: Mapping[str, Any]) -> list[str]:
    """The ``advisor recommend`` options that state ``budget``."""
    arguments: list[str] = []
    for field, value in budget.items():
        values = value if isinstance(value, list) else [value]
        arguments += [_FLAGS[field], *map(str, values)]
    return arguments


def _refusal(violations: Sequence[FieldViolation]) -> list[tuple[str, str]]:
    return [(v.field, v.description) for v in violations]


def _library(task: Document, budget: Document) -> SearchResult | list[tuple[str, str]]:
    """The library's answer, or its refusal with the task's fields placed under ``task``."""
    try:
        parsed = parse_task(task)
    except InvalidRequestError as error:
        return _refusal(error.prefixed("task").violations)
    try:
        return recommend(parsed, Budget(**budget))
    except InvalidRequestError as error:
        return _refusal(error.violations)


def _served(
    client: AdvisorClient, task: Document, budget: Document
) -> SearchResult | list[tuple[str, str]]:
    """The answer through the client: the server's, or a refusal, the client's or the server's."""
    try:
        return client.recommend(task, budget)
    except (InvalidRequestError, InvalidArgumentError) as error:
        return _refusal(error.violations)


def _task_file(files: Path, task: Document) -> Path:
    """Write ``task`` to a JSON file (YAML 1.1 writers leave ``1e3`` unquoted, a 1.2 number)."""
    path = files / "task.json"
    path.write_text(json.dumps(task))
    return path


def _timed_as(document: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """``document`` with the search time another door's search took."""
    return {**document, "search_seconds": seconds}


def _assert_the_command_agrees(
    files: Path,
    task: Document,
    budget: Document,
    answer: SearchResult | list[tuple[str, str]],
    server: str,
) -> None:
    """``advisor recommend --format json`` prints ``answer`` (byte for byte) or its refusal.

    Both without ``--target`` (its embedded server) and with ``--target server``.
    """
    task_file = _task_file(files, task)
    for connection in ([], ["--target", server]):
        run = advisor("recommend", task_file, "--format", "json", *_arguments(budget), *connection)
        if isinstance(answer, list):
            refused = [FieldViolation(field, description) for field, description in answer]
            assert (run.status, run.stdout) == (2, ""), run.stderr
            named = violations_as_options(refused, _OPTIONS, {"task": str(task_file)})
            assert run.stderr == f"advisor: error: {named}\n"
            continue
        assert run.status == 0, run.stderr
        document = search_result_document(answer)
        seconds = json.loads(run.stdout)["search_seconds"]
        assert run.stdout == stdout_document(_timed_as(document, seconds), "json")


def _assert_the_analyses_agree(files: Path, client: AdvisorClient, task: Document) -> None:
    """Each door's analysis of the design ``files/result.json`` ranks first is the library's."""
    result = files / "result.json"
    architecture = parse_architecture(
        json.loads(result.read_text())["recommendations"][0]["architecture"]
    )
    library = stdout_document(analysis_document(analyze(parse_task(task), architecture)), "json")
    served = client.analyze(task, architecture)
    assert stdout_document(analysis_document(served), "json") == library
    run = advisor("analyze", _task_file(files, task), "--arch", result, "--format", "json")
    assert (run.status, run.stdout) == (0, library), run.stderr


@st.composite
def _searches(draw: st.DrawFn) -> tuple[Document, Document]:
    """A small task of correlations and a budget that every door runs a search for."""
    shape = draw(st.one_of(searchable_shapes(), st.sampled_from([(2, 2, 2), (2, 4, 4)])))
    # Without the task's outputs: a count of classes may put the hidden widths' floor past
    # the budget (129 outputs on 20,000 parameters).
    task = {
        key: value
        for key, value in draw(valid_task_documents(shape, max_correlations=3)).items()
        if key != "outputs"
    }
    budget = draw(
        st.fixed_dictionaries(
            {
                "max_parameters": st.sampled_from([20_000, 100_000]),
                "top_k": st.integers(1, 12),
                "time_limit_seconds": st.just(_TIME_LIMIT),
            },
            optional={
                "seed": st.integers(0, 100),
                "objective": st.sampled_from(["weighted", "maximin"]),
                "outputs": st.integers(1, 10),
            },
        )
    )
    return task, budget


@settings(max_examples=15)
@given(request=_requests())
def test_every_door_gives_the_same_answer(
    server: str,
    client: AdvisorClient,
    tmp_path_factory: pytest.TempPathFactory,
    request: tuple[Document, Document],
) -> None:
    # Valid or not: most of these requests are refused, each door naming the same fields.
    _assert_every_door_agrees(server, client, tmp_path_factory.mktemp("doors"), *request)


@settings(max_examples=6)
@given(request=_searches())
def test_every_door_gives_the_same_search(
    server: str,
    client: AdvisorClient,
    tmp_path_factory: pytest.TempPathFactory,
    request: tuple[Document, Document],
) -> None:
    # Requests every door searches: the rankings, analyses and next pages are compared.
    task, budget = request
    assert isinstance(_library(task, budget), SearchResult)
    _assert_every_door_agrees(server, client, tmp_path_factory.mktemp("doors"), task, budget)


def _assert_every_door_agrees(
    server: str, client: AdvisorClient, files: Path, task: Document, budget: Document
) -> None:
    """Assert the library, the client and the command answer ``task`` and ``budget`` alike."""
    library = _library(task, budget)
    served = _served(client, task, budget)
    if isinstance(library, list):
        assert served == library
        _assert_the_command_agrees(files, task, budget, library, server)
        return
    assert library.complete
    assert isinstance(served, SearchResult)
    document = search_result_document(library)
    assert search_result_document(served) == _timed_as(document, served.search_seconds)
    _assert_the_command_agrees(files, task, budget, library, server)
    if library.recommendations:
        (files / "result.json").write_text(stdout_document(document, "json"))
        _assert_the_analyses_agree(files, client, task)
    if library.next_page_token is not None:
        page = {**budget, "page_token": library.next_page_token}
        following = _library(task, page)
        assert isinstance(following, SearchResult)
        assert following.recommendations[0].rank == len(library.recommendations) + 1
        served = _served(client, task, page)
        assert isinstance(served, SearchResult)
        assert search_result_document(served) == _timed_as(
            search_result_document(following), served.search_seconds
        )
        _assert_the_command_agrees(files, task, page, following, server)


def test_an_exact_analysis_on_another_grid_is_refused_on_the_grid_by_every_door(
    server: str, client: AdvisorClient
) -> None:
    # The service checked the exact engine's limits before the grids: it paired the 16x16
    # task's regions with the 4x4 architecture's widths and refused on `exact`, sizes of an
    # instance that cannot exist, where the library names the grid that does not fit.
    task, architecture = _EXAMPLES / "symmetry.yaml", _EXAMPLES / "architectures/permutation.yaml"
    with pytest.raises(InvalidRequestError) as raised:
        analyze(load_task(task), load_architecture(architecture), exact=True)
    refusal = _refusal(raised.value.violations)
    assert refusal == [
        ("architecture.input.shape", "must equal the task's input shape [16, 16], got [4, 4]")
    ]
    with pytest.raises(InvalidArgumentError) as served:
        client.analyze(task, architecture, exact=True)
    assert _refusal(served.value.violations) == refusal
    for connection in ([], ["--target", server]):
        run = advisor("analyze", task, "--arch", architecture, "--exact", *connection)
        assert (run.status, run.stderr) == (
            2,
            f"advisor: error: {refusal[0][0]}: {refusal[0][1]} (from {architecture})\n",
        )


@pytest.mark.parametrize(
    ("field", "written"), [("time_limit_seconds", "0"), ("log2_rank_target", "-1")]
)
def test_a_number_on_the_command_line_is_refused_as_written(
    tmp_path: Path, field: str, written: str
) -> None:
    # `--time-limit 0` was read as 0.0 and refused as "is 0.0: ... (a number written nearer 0
    # than about 4.9e-324 ... such as 1e-999, is read as 0)", a value and a cause the command
    # line does not hold, where the library's refusal of the same 0 says "is 0".
    with pytest.raises(InvalidRequestError) as library:
        Budget(**{"max_parameters": 20_000, field: int(written)})
    task = _task_file(tmp_path, {"input": {"shape": [4, 4]}, "preset": "symmetry"})
    run = advisor("recommend", task, "--budget", "20000", _FLAGS[field], written)
    named = violations_as_options(library.value.violations, _OPTIONS, {"task": str(task)})
    assert (run.status, run.stderr) == (2, f"advisor: error: {named}\n")
