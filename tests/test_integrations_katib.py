"""Katib's Suggestion service: a simulated controller loop gets exactly what it asks for."""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import logging
import math
import random
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import yaml
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from pydantic import BaseModel

from advisor.errors import FieldViolation, InvalidRequestError, LimitExceededError, StoppedError
from advisor.geometry.layouts import input_permutation
from advisor.integrations import katib as katib_module
from advisor.integrations.katib import (
    DEFAULT_TIME_LIMIT,
    MAX_TIME_LIMIT,
    KatibSearch,
    Suggestion,
    SuggestionCache,
    check_trial_count,
    in_katib_terms,
    read_experiment,
    suggestions,
    unread_space,
    width_spaces,
)
from advisor.integrations.katib import experiment as experiment_module
from advisor.integrations.katib import sequence as sequence_module
from advisor.integrations.katib.trials import architecture_json
from advisor.integrations.proposals import PAGE_SIZE, fetch_ranking
from advisor.model.architecture import Architecture, Layer, parse_architecture
from advisor.model.grid import InputSpec
from advisor.model.results import SearchResult
from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.search.recommend import recommend, sample_architectures, score_architectures
from advisor.search.scoring import DesignScorer
from advisor.service.command import config_from_arguments
from advisor.service.katib_server import (
    KATIB_DEFAULT_PORT,
    KATIB_HEALTH_SERVICE,
    start_katib_server,
)
from advisor.service.options import add_serve_arguments
from advisor.stopping import StopCause, StopSignal
from tests.support.clock import second_per_tree
from tests.support.katib_calls import katib_endpoint, suggestions_asked
from tests.support.katib_counts import count_katib_work
from tests.support.katib_draws import into_the_draws
from tests.support.server_process import ServerProcess

GOLDEN = Path(__file__).parent / "data" / "katib" / "enas_cpu_experiment.json"
EXAMPLES = Path(__file__).parents[1] / "examples" / "integrations" / "katib"
ROUNDS = 5
PER_ROUND = 3
WIDTHS = {32, 48, 64, 96, 128}


def _experiment(**settings: str) -> api_pb2.Experiment:
    document = json.loads(GOLDEN.read_text())
    document.pop("_comment")
    experiment = json_format.ParseDict(document, api_pb2.Experiment())
    if settings:
        del experiment.spec.algorithm.algorithm_settings[:]
        for name, value in settings.items():
            experiment.spec.algorithm.algorithm_settings.add(name=name, value=value)
    return experiment


@pytest.fixture(scope="module")
def katib() -> Iterator[api_pb2_grpc.SuggestionStub]:
    server = start_katib_server("127.0.0.1", 0, workers=1)
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        status = health.Check(health_pb2.HealthCheckRequest(service=KATIB_HEALTH_SERVICE))
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        yield api_pb2_grpc.SuggestionStub(channel)
    server.stop(0)


def test_katibs_health_lists_the_suggestion_service() -> None:
    server = start_katib_server("127.0.0.1", 0, workers=1)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            listed = health.List(health_pb2.HealthListRequest(), timeout=5)
    finally:
        server.stop(0)
    statuses = {service: response.status for service, response in listed.statuses.items()}
    assert statuses[KATIB_HEALTH_SERVICE] == health_pb2.HealthCheckResponse.SERVING


def test_katibs_health_refuses_a_service_it_has_not_naming_it() -> None:
    server = start_katib_server("127.0.0.1", 0, workers=1)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            with pytest.raises(grpc.RpcError) as refused:
                health.Check(health_pb2.HealthCheckRequest(service="bogus"), timeout=5)
    finally:
        server.stop(0)
    call = refused.value
    assert isinstance(call, grpc.Call)
    assert call.code() == grpc.StatusCode.NOT_FOUND
    assert "no service 'bogus' on this server; its health services: " in call.details()
    assert repr(KATIB_HEALTH_SERVICE) in call.details()
    status = rpc_status.from_call(call)
    assert status is not None
    [detail] = status.details
    info = error_details_pb2.ErrorInfo()
    assert detail.Unpack(info)
    assert (info.reason, dict(info.metadata)) == ("SERVICE_NOT_FOUND", {"service": "bogus"})


@pytest.fixture
def own_katib() -> Iterator[api_pb2_grpc.SuggestionStub]:
    """An endpoint of the test's own, which has warned of no experiment yet."""
    yield from katib_endpoint()


def test_a_katib_endpoint_on_a_unix_socket_has_no_port_as_the_advisor_s(tmp_path: Path) -> None:
    # gRPC reports port 1 for a socket it binds; the advisor's server said 0, the Katib
    # endpoint, binding on its own, passed the 1 on.
    socket = f"unix:{tmp_path / 'katib.sock'}"
    server = start_katib_server(socket, 0, workers=1)
    try:
        assert (server.address, server.port) == (socket, 0)
        with grpc.insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            status = health.Check(health_pb2.HealthCheckRequest(service=KATIB_HEALTH_SERVICE))
            assert status.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop(0)


def _trial_of(assignments: api_pb2.GetSuggestionsReply.ParameterAssignments) -> api_pb2.Trial:
    """A trial Katib made of ``assignments``, as it sends it back: not run yet."""
    return api_pb2.Trial(
        spec=api_pb2.TrialSpec(
            parameter_assignments=api_pb2.TrialSpec.ParameterAssignments(
                assignments=list(assignments.assignments)
            ),
            labels=dict(assignments.labels),
        )
    )


def _completed(
    assignments: api_pb2.GetSuggestionsReply.ParameterAssignments, name: str, rng: random.Random
) -> api_pb2.Trial:
    """A trial Katib ran from ``assignments``, with a synthetic Validation-Accuracy."""
    accuracy = 0.5 + 0.4 * float(assignments.labels["advisor.score"]) + rng.uniform(-0.05, 0.05)
    trial = _trial_of(assignments)
    trial.name = name
    trial.status.condition = api_pb2.TrialStatus.SUCCEEDED
    trial.status.observation.metrics.add(name="Validation-Accuracy", value=f"{accuracy:.4f}")
    return trial


def test_a_controller_loop_gets_three_distinct_valid_designs_per_round(
    katib: api_pb2_grpc.SuggestionStub,
) -> None:
    experiment = _experiment()
    katib.ValidateAlgorithmSettings(
        api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=60
    )
    search = read_experiment(experiment)
    ranked = recommend(search.task, search.budget.model_copy(update={"top_k": 50}))
    assert 0 < len(ranked.recommendations) < ROUNDS * PER_ROUND  # the padding is exercised
    rng = random.Random(0)
    trials: list[api_pb2.Trial] = []
    seen: list[str] = []
    positions: list[int] = []
    for round_number in range(1, ROUNDS + 1):
        reply = katib.GetSuggestions(
            api_pb2.GetSuggestionsRequest(
                experiment=experiment,
                trials=trials,
                current_request_number=PER_ROUND,
                total_request_number=PER_ROUND * round_number,
            ),
            timeout=60,  # Katib's own call timeout
        )
        assert len(reply.parameter_assignments) == PER_ROUND
        for i, assignments in enumerate(reply.parameter_assignments):
            (assignment,) = assignments.assignments  # as many as the template's trialParameters
            assert assignment.name == "architecture"
            text = json.loads(f'"{assignment.value}"')  # escaped for the template's JSON
            architecture = parse_architecture(json.loads(text))
            assert architecture.input.shape == (32, 32)
            assert architecture.input.channels == 3
            assert architecture.outputs == 10
            assert architecture.parameters <= 200_000
            assert len(architecture.layers) <= 3
            assert {layer.channels for layer in architecture.layers} <= WIDTHS
            assert architecture.representation in WIDTHS
            assert assignments.labels["advisor.family"] == architecture.family
            positions.append(int(assignments.labels["advisor.rank"]))
            seen.append(text)
            trials.append(_completed(assignments, f"enas-cpu-{round_number}-{i}", rng))
    assert len(set(seen)) == ROUNDS * PER_ROUND
    assert positions == list(range(1, ROUNDS * PER_ROUND + 1))
    ranked_json = [
        r.architecture.model_dump_json(exclude_none=True) for r in ranked.recommendations
    ]
    assert seen[: len(ranked_json)] == ranked_json  # the advisor's ranking first, in order


def _described(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The field and description of each violation of an INVALID_ARGUMENT error.

    Its BadRequest details; an ErrorInfo (``INVALID_REQUEST``, ``LIMIT_EXCEEDED``) is beside them.
    """
    status = rpc_status.from_call(error)
    assert status is not None
    found: list[tuple[str, str]] = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            found.extend((v.field, v.description) for v in bad_request.field_violations)
    assert found, status
    return found


def _violations(error: grpc.RpcError) -> list[str]:
    return [field for field, _ in _described(error)]


SETTINGS_FIELD = "experiment.spec.algorithm.algorithm_settings"


def _refused_by_both(
    katib: api_pb2_grpc.SuggestionStub, experiment: api_pb2.Experiment
) -> list[grpc.RpcError]:
    """Send ``experiment`` to ValidateAlgorithmSettings and GetSuggestions; return both refusals.

    Each must be INVALID_ARGUMENT: the two calls check a spec alike.
    """
    errors = []
    # Each stub method with its own request type.
    calls: tuple[tuple[Callable[..., object], Message], ...] = (
        (
            katib.ValidateAlgorithmSettings,
            api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment),
        ),
        (
            katib.GetSuggestions,
            api_pb2.GetSuggestionsRequest(
                experiment=experiment, current_request_number=1, total_request_number=1
            ),
        ),
    )
    for call, request in calls:
        with pytest.raises(grpc.RpcError) as raised:
            call(request, timeout=60)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        errors.append(raised.value)
    return errors


@pytest.mark.parametrize(
    ("settings", "fields"),
    [
        ({"task": "symmetry"}, [SETTINGS_FIELD]),
        ({"max_parameters": "1000"}, [SETTINGS_FIELD]),
        (
            {"task": "spirals", "max_parameters": "-3", "colour": "red"},
            [
                f"{SETTINGS_FIELD}[2].name",
                f"{SETTINGS_FIELD}[0].value",
                f"{SETTINGS_FIELD}[1].value",
            ],
        ),
        (
            {"task": "symmetry", "max_parameters": "1000", "time_limit": str(MAX_TIME_LIMIT + 1)},
            [f"{SETTINGS_FIELD}[2].value"],
        ),
        (
            {"task": "symmetry", "max_parameters": "1000", "objective": "best"},
            [f"{SETTINGS_FIELD}[2].value"],
        ),
        (
            {
                "task": base64.b64encode(
                    b"correlations:\n  - {name: c, a: {indices: [5000]}}\n"
                ).decode(),
                "max_parameters": "1000",
            },
            [f"{SETTINGS_FIELD}[0].value.correlations[0].a.indices"],
        ),
        (
            {
                "task": base64.b64encode(b"input: {shape: [8, 8]}\npreset: symmetry\n").decode(),
                "max_parameters": "1000",
            },
            [f"{SETTINGS_FIELD}[0].value.input"],
        ),
        (
            {
                "task": base64.b64encode(b"outputs: 5\npreset: symmetry\n").decode(),
                "max_parameters": "1000",
            },
            [f"{SETTINGS_FIELD}[0].value.outputs"],
        ),
        (  # 4,000 correlations of one region by alias: 2 million ids in 130 kB, refused unbuilt
            {
                "task": base64.b64encode(
                    f"r: &r [{', '.join(map(str, range(512)))}]\ncorrelations: [".encode()
                    + b", ".join([b"{name: c, a: {indices: *r}}"] * 4000)
                    + b"]\n"
                ).decode(),
                "max_parameters": "1000",
            },
            [f"{SETTINGS_FIELD}[0].value"],
        ),
    ],
)
def test_bad_settings_are_invalid_argument_naming_each_field(
    katib: api_pb2_grpc.SuggestionStub, settings: dict[str, str], fields: list[str]
) -> None:
    experiment = _experiment(**settings)
    for error in _refused_by_both(katib, experiment):
        assert sorted(_violations(error)) == sorted(fields)


def _reshaped(
    max_parameters: str, widths: list[str], input_sizes: list[int], num_layers: int
) -> api_pb2.Experiment:
    """The golden experiment on another input (two outputs), depth, widths and budget."""
    experiment = _experiment(task="symmetry", max_parameters=max_parameters, time_limit="2")
    graph = experiment.spec.nas_config.graph_config
    graph.input_sizes[:], graph.output_sizes[:], graph.num_layers = input_sizes, [2], num_layers
    for space in width_spaces(experiment.spec.nas_config.operations.operation):
        space[1].list[:] = widths
    return experiment


@pytest.mark.parametrize(
    ("experiment", "refusals"),
    [
        (
            _experiment(task="symmetry", max_parameters="10"),
            [
                (
                    f"{SETTINGS_FIELD}[1].value",
                    "max_parameters: the smallest practical net (hidden widths >= 32, the 10 "
                    "outputs rounded up to an allowed width) needs 3,626 parameters; no net of "
                    "the allowed widths fits it: the smallest of any width profile (the free "
                    "profile's, depth 1, every width 32) needs 1,514; in the "
                    "experiment: raise max_parameters, or add num_filter values narrower than "
                    "32 (a design's hidden widths go down to 10)",
                )
            ],
        ),
        (
            _reshaped("100", ["4"], [8, 8, 64], 2),
            [
                (
                    f"{SETTINGS_FIELD}[1].value",
                    "max_parameters: the smallest practical net needs 310 parameters, 260 of "
                    "them in its representation conv (64 weights per channel: kernel taps x "
                    "input channels, and M = 4); raise it, or give the input fewer channels or "
                    "a smaller representation_kernel (representation_kernel is an advisor "
                    "default no part of a Katib experiment sets); in the experiment: raise "
                    "max_parameters",
                )
            ],
        ),
        (
            _reshaped("150", ["8", "64"], [97], 2),
            [
                (
                    f"{SETTINGS_FIELD}[1].value",
                    "max_parameters: the smallest practical net within the window bounds "
                    "(hidden widths >= 8) needs 178 parameters; allow narrower widths "
                    "(num_filter), adding 4 (a practical net of 138 parameters: M = 4, hidden "
                    "8, 8) or set "
                    "width_profile to free (its smallest net needs 106 parameters) "
                    "(width_profile is an advisor default no part of a Katib experiment sets); "
                    "in the experiment: raise max_parameters",
                ),
                (
                    SETTINGS_FIELD,
                    "max_window (an advisor default no part of a Katib experiment sets): is 16 "
                    "(the default, widened to 20: no tree the search builds within the depth "
                    "bounds meets 16), "
                    "and leaves out the nets within max_parameters: raise it to 97 for depth 1 "
                    "(106 parameters)",
                ),
            ],
        ),
    ],
)
def test_the_searchs_refusals_name_what_the_experiment_sets(
    katib: api_pb2_grpc.SuggestionStub,
    experiment: api_pb2.Experiment,
    refusals: list[tuple[str, str]],
) -> None:
    # The search names its Budget's fields (budget.max_parameters) and advises options a Katib
    # user cannot set (budget.min_width, budget.width_profile): each refusal is on the part of
    # the experiment that sets it, or says no part does, and advises what the experiment sets.
    for error in _refused_by_both(katib, experiment):
        assert _described(error) == refusals


@pytest.mark.parametrize(
    ("setting", "unit"),
    [("max_multiply_adds", "multiply-adds"), ("max_activations", "activations")],
)
def test_a_per_input_bound_no_design_meets_is_refused_on_it_advising_to_raise_it(
    katib: api_pb2_grpc.SuggestionStub, setting: str, unit: str
) -> None:
    # A larger max_parameters cannot admit a net the bound keeps out: the advice names the
    # bound. The answer keeps each description to 400 characters (fitting_violations), here
    # past the advice's bound.
    experiment = _experiment(task="symmetry", max_parameters="200000", **{setting: "100"})
    with pytest.raises(InvalidRequestError) as refused:
        suggestions(read_experiment(experiment), 0, 1)
    (violation,) = refused.value.violations
    assert violation.field == f"{SETTINGS_FIELD}[2].value"
    assert violation.description.startswith(f"{setting}: is 100: the practical net (")
    assert f"with the fewest {unit} within max_parameters" in violation.description
    assert violation.description.endswith(
        f"; in the experiment: raise {setting}, or add num_filter values narrower than 32 (a "
        "design's hidden widths go down to 10)"
    )
    for error in _refused_by_both(katib, experiment):
        ((field, description),) = _described(error)
        assert field == violation.field
        assert violation.description.startswith(description.partition("... (")[0])
        assert f"in the experiment: raise {setting}," in description


def test_the_default_compute_bound_is_refused_as_the_setting_the_experiment_leaves_unset() -> None:
    # The compute bound the experiment does not set is the advisor's default, which a larger
    # max_parameters widens and the max_multiply_adds setting replaces: both are levers, and
    # max_multiply_adds is no longer an option no part of an experiment sets.
    search = read_experiment(_experiment(task="symmetry", max_parameters="200000"))
    refusal = FieldViolation(
        "budget.max_multiply_adds",
        "is 5,000 (by default 4x the standard CNN of this budget): the practical net with the "
        "fewest multiply-adds within budget.max_parameters needs 6,000 per input",
    )
    (violation,) = in_katib_terms(
        InvalidRequestError([refusal]), search.sources, search.budget
    ).violations
    assert violation.field == SETTINGS_FIELD
    assert violation.description == (
        "max_multiply_adds (not set: the advisor's default): is 5,000 (by default 4x the "
        "standard CNN of this budget): the practical net with the fewest multiply-adds within "
        "max_parameters needs 6,000 per input; in the experiment: raise max_parameters or set a "
        "larger max_multiply_adds, or add num_filter values narrower than 32 (a design's hidden "
        "widths go down to 10)"
    )


def test_a_task_refusal_lies_under_the_task_setting_and_katibs_own_fields_stay() -> None:
    sources = read_experiment(_experiment()).sources
    # As the library's refusal reaches a door: placed under ``task`` with what it cites.
    cited = FieldViolation(
        "correlations[1].name", "also correlations[0].name", ("correlations[0].name",)
    )
    error = InvalidRequestError(
        [
            *InvalidRequestError([cited]).prefixed("task").violations,
            FieldViolation("current_request_number", "asks for too many"),
        ]
    )
    assert [(v.field, v.description) for v in in_katib_terms(error, sources).violations] == [
        (
            f"{SETTINGS_FIELD}[0].value.correlations[1].name",
            f"also {SETTINGS_FIELD}[0].value.correlations[0].name",
        ),
        ("current_request_number", "asks for too many"),
    ]


def test_a_preset_that_does_not_apply_is_refused_on_the_settings_value() -> None:
    # The refusal named "...value.preset", a field the plain string has not; a document's
    # own preset field keeps its path.
    named = _experiment(task="symmetry", max_parameters="50000")
    document = base64.b64encode(b"preset: symmetry\n").decode()
    written = _experiment(task=document, max_parameters="50000")
    fields = []
    for experiment in (named, written):
        experiment.spec.nas_config.graph_config.input_sizes[:] = [2, 2, 3]
        with pytest.raises(InvalidRequestError) as raised:
            read_experiment(experiment)
        ((field, description),) = [(v.field, v.description) for v in raised.value.violations]
        assert description.startswith("symmetry does not apply to the input [2, 2]")
        fields.append(field)
    assert fields == [f"{SETTINGS_FIELD}[0].value", f"{SETTINGS_FIELD}[0].value.preset"]


def test_a_bad_graph_config_and_request_counts_are_named(
    katib: api_pb2_grpc.SuggestionStub,
) -> None:
    experiment = _experiment()
    experiment.spec.nas_config.graph_config.input_sizes[:] = [32, 32, 3, 1, 1]
    experiment.spec.nas_config.graph_config.output_sizes[:] = []
    with pytest.raises(grpc.RpcError) as raised:
        katib.ValidateAlgorithmSettings(
            api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=60
        )
    graph = "experiment.spec.nas_config.graph_config"
    assert sorted(_violations(raised.value)) == [
        f"{graph}.input_sizes",
        f"{graph}.output_sizes",
    ]
    with pytest.raises(grpc.RpcError) as raised:
        katib.GetSuggestions(
            api_pb2.GetSuggestionsRequest(
                experiment=_experiment(), current_request_number=3, total_request_number=2
            ),
            timeout=60,
        )
    assert _violations(raised.value) == ["total_request_number"]


WIDTH_FIELD = (
    "experiment.spec.nas_config.operations.operation[0].parameter_specs.parameters[1]"
    ".feasible_space"
)


@pytest.mark.parametrize(
    ("space", "problem"),
    [
        (api_pb2.FeasibleSpace(list=[]), "num_filter lists no values"),
        (api_pb2.FeasibleSpace(min="64", max="16"), "num_filter min 64 is above max 16"),
        (
            api_pb2.FeasibleSpace(min="16", max="64", step="0"),
            "num_filter step must be a positive integer, not '0'",
        ),
        (
            api_pb2.FeasibleSpace(min="16", max="64", step="-8"),
            "num_filter step must be a positive integer, not '-8'",
        ),
        (api_pb2.FeasibleSpace(min="16"), "num_filter max must be an integer, not ''"),
        (
            api_pb2.FeasibleSpace(list=["32", "4.5"]),
            "num_filter values must be integers, not '4.5'",
        ),
        (api_pb2.FeasibleSpace(list=["32", "0"]), "num_filter values must be positive"),
    ],
    ids=["empty", "min-above-max", "step-0", "step-negative", "no-max", "not-integer", "zero"],
)
def test_a_bad_num_filter_space_is_named_with_its_problem(
    katib: api_pb2_grpc.SuggestionStub, space: api_pb2.FeasibleSpace, problem: str
) -> None:
    # Each says what is wrong: an empty list, or a range with min above max or a zero step,
    # once read as "must be integers" or "must be positive".
    experiment = _experiment()
    operation = experiment.spec.nas_config.operations.operation[0]
    operation.parameter_specs.parameters[1].feasible_space.CopyFrom(space)
    for error in _refused_by_both(katib, experiment):
        ((field, description),) = _described(error)
        assert field == WIDTH_FIELD
        assert description.startswith(problem), description


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("num_filters", "; found 'num_filters'; did you mean 'num_filter'?"),
        ("channels", ""),
    ],
    ids=["misspelt", "absent"],
)
def test_an_experiment_without_a_num_filter_parameter_is_refused(
    katib: api_pb2_grpc.SuggestionStub, name: str, hint: str
) -> None:
    # Without one, the search would hand out its default widths, outside the declared space.
    experiment = _experiment()
    for operation in experiment.spec.nas_config.operations.operation:
        for parameter in operation.parameter_specs.parameters:
            if parameter.name == "num_filter":
                parameter.name = name
    for error in _refused_by_both(katib, experiment):
        ((field, description),) = _described(error)
        assert field == "experiment.spec.nas_config.operations"
        assert description.startswith("no num_filter parameter; "), description
        assert description.endswith(hint)
        assert ("did you mean" in description) == bool(hint)


def test_a_task_document_as_base64_yaml() -> None:
    document = b"correlations:\n  - {name: halves, a: {preset: left_half}}\n"
    experiment = _experiment(
        task=base64.b64encode(document).decode(), max_parameters="50000", time_limit="5"
    )
    search = read_experiment(experiment)
    assert search.task.input.shape == (32, 32)
    assert search.task.input.channels == 3
    assert [c.name for c in search.task.correlations] == ["halves"]
    assert search.budget.time_limit_seconds == 5.0
    assert search.budget.channel_choices == tuple(sorted(WIDTHS))
    assert search.budget.max_depth == 3
    assert search.budget.outputs == 10


def test_a_task_document_wrapped_into_lines_reads_as_the_unwrapped_one() -> None:
    # `base64 task.yaml` wraps at 76 columns (as base64.encodebytes does), and a YAML block
    # scalar keeps the line breaks: the value was refused as neither preset nor document.
    document = (
        b"correlations:\n"
        b"  - {name: halves, a: {preset: left_half}, b: {preset: right_half}}\n"
        b"  - {name: rows, a: {preset: top_half}, b: {preset: bottom_half}}\n"
    )
    wrapped = base64.encodebytes(document).decode()
    assert wrapped.count("\n") > 1
    unwrapped = read_experiment(
        _experiment(task=base64.b64encode(document).decode(), max_parameters="50000")
    )
    for value in (wrapped, wrapped.replace("\n", "\r\n"), f"  {wrapped}  "):
        search = read_experiment(_experiment(task=value, max_parameters="50000"))
        assert search.task == unwrapped.task


def test_a_duplicate_name_in_a_task_document_cites_the_first_use_at_its_setting(
    katib: api_pb2_grpc.SuggestionStub,
) -> None:
    document = (
        b"correlations:\n  - {name: x, a: {indices: [1]}}\n  - {name: x, a: {indices: [2]}}\n"
    )
    experiment = _experiment(task=base64.b64encode(document).decode(), max_parameters="50000")
    for error in _refused_by_both(katib, experiment):
        assert _described(error) == [
            (
                f"{SETTINGS_FIELD}[0].value.correlations[1].name",
                f"duplicate name 'x' (also {SETTINGS_FIELD}[0].value.correlations[0].name)",
            )
        ]


def test_the_search_space_the_designs_ignore_is_logged_once_per_experiment(
    own_katib: api_pb2_grpc.SuggestionStub, caplog: pytest.LogCaptureFixture
) -> None:
    # Katib's own ENAS space declares filter sizes, strides, ... the advisor's designs have none
    # of: served, not refused, but the operator is told once, not on every round.
    experiment = _experiment(task="symmetry", max_parameters="50000", time_limit="2")
    experiment.name = "unread-space"
    experiment.spec.max_trial_count = 0  # validation reads the experiment only
    request = api_pb2.GetSuggestionsRequest(
        experiment=experiment, current_request_number=1, total_request_number=1
    )
    with caplog.at_level(logging.WARNING, logger="advisor.service.katib"):
        validate = api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment)
        own_katib.ValidateAlgorithmSettings(validate, timeout=60)
        assert len(own_katib.GetSuggestions(request, timeout=60).parameter_assignments) == 1
        experiment.name = "another-experiment"
        own_katib.ValidateAlgorithmSettings(validate, timeout=60)
        own_katib.ValidateAlgorithmSettings(
            api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=60
        )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"Katib experiment {name!r}: the advisor reads only the num_filter values of "
        "experiment.spec.nas_config.operations; its designs ignore the operation types "
        "'convolution', 'separable_convolution', 'depthwise_convolution', 'reduction' and the "
        "parameters 'filter_size', 'stride', 'depth_multiplier', 'reduction_type', 'pool_size'"
        for name in ("unread-space", "another-experiment")
    ]


def test_a_ranking_its_time_limit_cut_is_logged_once_per_experiment(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A ranking the time limit cut turned into sampled designs for the rest of the experiment,
    # and nothing said so (the Optuna sampler warns of it). A whole ranking is not logged.
    cache = SuggestionCache()
    cut = _experiment(task="symmetry", max_parameters="50000", time_limit="1e-9")
    whole = _experiment(task="symmetry", max_parameters="50000", time_limit=f"{MAX_TIME_LIMIT:g}")
    whole.name = "whole"
    whole.spec.nas_config.graph_config.input_sizes[:] = [4, 4, 3]
    with caplog.at_level(logging.WARNING, logger="advisor.integrations.katib.sequence"):
        for name, start in [("cut", 0), ("cut", 3), ("other", 0)]:
            cut.name = name
            picked = suggestions(read_experiment(cut), start, 3, cache=cache)
            assert "sampled" in [suggestion.source for suggestion in picked]
        suggestions(read_experiment(whole), 0, 3, cache=cache)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"Katib experiment {name!r}: the advisor's search ended before it was complete (its "
        "time limit, 1e-09 s): 1 design ranked as far as the search got, and the experiment's "
        "designs past them are seeded random designs of the space (advisor.source 'sampled'); "
        "a larger time_limit setting ranks further"
        for name in ("cut", "other")
    ]


def test_a_ranking_page_its_time_limit_cut_ends_the_ranking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The page after one its time limit cut continued from its token, and its search, cut too,
    # was refused (a later page is ranked by the whole search): INVALID_ARGUMENT on time_limit,
    # which failed the experiment at its validation. The rest is sampled, as documented.
    # A page cut in its builds, after every tree, keeps a token: the search is made to say so
    # of the first page, which a time limit cuts so only on some machines' timing.
    from advisor.search import recommend as recommend_module

    real, pages = recommend_module.recommend, []

    def first_cut(*args: Any, **kwargs: Any) -> SearchResult:
        result = real(*args, **kwargs)
        pages.append(result.next_page_token)
        return dataclasses.replace(result, complete=len(pages) > 1)

    monkeypatch.setattr(recommend_module, "recommend", first_cut)
    search, cache = _small_search(), SuggestionCache()
    (first,) = suggestions(search, 0, 1, cache=cache)
    assert first.source == "ranked" and pages[0] is not None
    later = suggestions(search, 1, 3, cache=cache)
    assert [s.source for s in later] == ["sampled"] * 3 and len(pages) == 1


@pytest.mark.parametrize(
    "call",
    [partial(suggestions, start=0, count=20), partial(check_trial_count, trials=20)],
    ids=["GetSuggestions", "ValidateAlgorithmSettings"],
)
def test_a_ranking_the_calls_deadline_cut_is_not_kept(
    call: Callable[..., object], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The search plans against the call's deadline and returns its page before it passes: that
    # partial page was kept, and every later call continued it (32 of 120 designs ranked, the
    # rest sampled, until a restart), logged as cut by the time limit. Each tree scored takes a
    # manual second; the call's deadline, 3.5 s, comes long before the page's 20 s time limit.
    search = _small_search()
    whole = _designs(_from_position_one(search, 0, 20))
    clock = second_per_tree(monkeypatch)
    cache = SuggestionCache()
    stop = StopSignal(3.5, clock=clock, cause=StopCause.CALL_DEADLINE)
    with caplog.at_level(logging.WARNING, logger="advisor.integrations.katib.sequence"):
        with pytest.raises(StoppedError, match=r"stopped \(the call's deadline\)"):
            call(search, cache=cache, stop=stop)
        monkeypatch.undo()
        assert _designs(suggestions(search, 0, 20, cache=cache)) == whole
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_an_operation_of_widths_alone_leaves_nothing_unread() -> None:
    experiment = _experiment()
    (width,) = [
        p
        for p in experiment.spec.nas_config.operations.operation[0].parameter_specs.parameters
        if p.name == "num_filter"
    ]
    operation = api_pb2.Operation(
        parameter_specs=api_pb2.Operation.ParameterSpecs(parameters=[width])
    )
    assert unread_space([operation]) is None
    many = [api_pb2.Operation(operation_type=f"op{i}") for i in range(10)]
    assert unread_space([*many, operation]) == (
        "the advisor reads only the num_filter values of experiment.spec.nas_config.operations; "
        "its designs ignore the operation types 'op0', 'op1', 'op2', 'op3', 'op4', 'op5', 'op6', "
        "'op7' and 2 more"
    )
    # A name of any length is logged at a length a log line holds.
    long = api_pb2.Operation(operation_type="x" * 1_000_000)
    said = unread_space([long, operation])
    assert said is not None and len(said) < 200 and "'xxxx" in said and "...x" in said


def _with_task_outputs(outputs: int) -> api_pb2.Experiment:
    """The golden experiment (output_sizes [10]) with a task document stating ``outputs``."""
    document = f"outputs: {outputs}\npreset: symmetry\n".encode()
    return _experiment(task=base64.b64encode(document).decode(), max_parameters="50000")


def test_a_task_documents_outputs_must_agree_with_the_output_sizes() -> None:
    # Otherwise the budget's outputs (from output_sizes) would silently win over the document's.
    search = read_experiment(_with_task_outputs(10))
    assert (search.task.outputs, search.budget.outputs) == (10, 10)
    with pytest.raises(InvalidRequestError) as raised:
        read_experiment(_with_task_outputs(5))
    (violation,) = raised.value.violations
    assert violation.field == f"{SETTINGS_FIELD}[0].value.outputs"
    assert violation.description == (
        "5 differs from experiment.spec.nas_config.graph_config.output_sizes [10]"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("symmetri", "; did you mean 'symmetry'?"),  # base64 of no UTF-8 text
        ("sym", ""),  # no base64 (its padding)
        (base64.b64encode(b"preset: [symmetry\n").decode(), " (line 2, column 1: "),
        ("", " (the value is empty)"),  # was "the document must be a mapping"
        (" \n", " (the value is empty)"),
    ],
)
def test_a_task_neither_preset_nor_document_is_refused_without_the_decoders_text(
    value: str, problem: str
) -> None:
    # Why base64 or UTF-8 refused it ('Incorrect padding', "'utf-8' codec can't decode byte
    # 0xb3") says nothing of the task meant; a document's YAML error does.
    with pytest.raises(InvalidRequestError) as raised:
        read_experiment(_experiment(task=value, max_parameters="50000"))
    (violation,) = raised.value.violations
    assert violation.field == f"{SETTINGS_FIELD}[0].value"
    assert violation.description.startswith(
        "task: neither a task preset (symmetry, top_bottom, local, long_range, periodic, "
        f"start_end, center_surround, front_back) nor a base64 YAML task document{problem}"
    )
    assert "codec" not in violation.description
    assert "padding" not in violation.description


def _with_task_input(input_sizes: list[int], stated: str) -> api_pb2.Experiment:
    """The golden experiment on ``input_sizes``, its task document stating the input ``stated``."""
    experiment = _experiment(
        task=base64.b64encode(f"input: {stated}\npreset: symmetry\n".encode()).decode(),
        max_parameters="50000",
    )
    experiment.spec.nas_config.graph_config.input_sizes[:] = input_sizes
    return experiment


@pytest.mark.parametrize(
    ("input_sizes", "stated"),
    [
        ([32, 32, 3], "{shape: [32, 32], channels: 3}"),
        ([32, 32], "{shape: [32, 32], channels: 1}"),
        ([32, 32, 1], "{shape: [32, 32]}"),
        ([32, 32, 1], "{shape: [32, 32], channels: null}"),
    ],
)
def test_a_task_documents_input_equal_to_the_input_sizes_is_taken(
    input_sizes: list[int], stated: str
) -> None:
    # The same input however the document spells it: one channel stated or left to its default.
    search = read_experiment(_with_task_input(input_sizes, stated))
    channels = input_sizes[2] if len(input_sizes) == 3 else 1
    assert search.task.input == InputSpec(shape=(32, 32), channels=channels)


def test_a_task_documents_input_must_agree_with_the_input_sizes() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        read_experiment(_with_task_input([32, 32, 3], "{shape: [16, 16], channels: 3}"))
    (violation,) = raised.value.violations
    assert violation.field == f"{SETTINGS_FIELD}[0].value.input"
    assert violation.description == (
        "the input (shape [16, 16], channels 3) differs from "
        "experiment.spec.nas_config.graph_config.input_sizes [32, 32, 3]"
    )
    # Its other fields are read on: outputs that differ too were named only once the input
    # was mended.
    both = _experiment(
        task=base64.b64encode(
            b"input: {shape: [16, 16], channels: 3}\noutputs: 5\npreset: symmetry\n"
        ).decode(),
        max_parameters="50000",
    )
    both.spec.nas_config.graph_config.input_sizes[:] = [32, 32, 3]
    with pytest.raises(InvalidRequestError) as raised:
        read_experiment(both)
    assert [v.field for v in raised.value.violations] == [
        f"{SETTINGS_FIELD}[0].value.input",
        f"{SETTINGS_FIELD}[0].value.outputs",
    ]


@pytest.mark.parametrize(
    ("input_sizes", "stated", "meant"),
    [
        ([32, 32, 3], "{shape: [32, 32, 3]}", "shape [32, 32], channels 3"),
        ([16, 16, 1], "{shape: [16, 16, 1]}", "shape [16, 16], channels 1"),
        ([4, 8, 8, 1], "{shape: [4, 8, 8], channels: 2}", "shape [4, 8, 8], channels 1"),
        ([32, 32, 1], "{shape: [32, 32], channels: 3}", "shape [32, 32], channels 1"),
    ],
)
def test_a_task_documents_shape_copied_from_the_input_sizes_is_told_their_last_is_channels(
    input_sizes: list[int], stated: str, meant: str
) -> None:
    # Katib's own order written as the shape read as a contradiction: "shape [32, 32, 3],
    # channels 1 differs from ...input_sizes [32, 32, 3]".
    with pytest.raises(InvalidRequestError) as raised:
        read_experiment(_with_task_input(input_sizes, stated))
    (violation,) = raised.value.violations
    assert violation.field == f"{SETTINGS_FIELD}[0].value.input"
    assert violation.description.endswith(
        f"input_sizes {input_sizes} (input_sizes' last entry is the channels: {meant})"
    )


def test_the_documented_katib_command_keeps_the_advisors_own_service_local() -> None:
    document = yaml.safe_load((EXAMPLES / "katib-config.yaml").read_text())
    [suggestion] = document["runtime"]["suggestions"]
    program, command, *options = suggestion["command"]
    assert (program, command) == ("advisor", "serve")
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    arguments = parser.parse_args(options)
    assert (arguments.katib_host, arguments.katib_port) == ("0.0.0.0", KATIB_DEFAULT_PORT)
    assert config_from_arguments(arguments).host == "127.0.0.1"


def test_serve_with_a_katib_port_answers_katibs_health_check() -> None:
    # Katib's interface of its own: the advisor's service stays on --host (127.0.0.1).
    options = ("--katib-host", "127.0.0.2", "--katib-port", "0", "--grace", "1")
    with ServerProcess(*options) as server:
        assert server.address.startswith("127.0.0.1:"), server.address
        assert server.process.stdout is not None
        line = server.process.stdout.readline()
        prefix = "katib suggestion service on 127.0.0.2:"
        assert line.startswith(prefix), line
        with grpc.insecure_channel(line[len("katib suggestion service on ") :].strip()) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            status = health.Check(
                health_pb2.HealthCheckRequest(service=KATIB_HEALTH_SERVICE), timeout=30
            )
            assert status.status == health_pb2.HealthCheckResponse.SERVING
        server.terminate()
        assert server.wait(60) == 0


def _documented_experiment() -> tuple[dict[str, Any], api_pb2.Experiment]:
    """The sample Experiment resource's spec, and the experiment Katib's controller sends of it.

    The controller's conversion of the resource's algorithm and nasConfig.
    """
    document = yaml.safe_load((EXAMPLES / "experiment.yaml").read_text())["spec"]
    nas = document["nasConfig"]
    experiment = api_pb2.Experiment(name="advisor-symmetry")
    experiment.spec.algorithm.algorithm_name = document["algorithm"]["algorithmName"]
    for setting in document["algorithm"]["algorithmSettings"]:
        experiment.spec.algorithm.algorithm_settings.add(**setting)
    graph = experiment.spec.nas_config.graph_config
    graph.num_layers = nas["graphConfig"]["numLayers"]
    graph.input_sizes.extend(nas["graphConfig"]["inputSizes"])
    graph.output_sizes.extend(nas["graphConfig"]["outputSizes"])
    for operation in nas["operations"]:
        added = experiment.spec.nas_config.operations.operation.add(
            operation_type=operation["operationType"]
        )
        for parameter in operation["parameters"]:
            added.parameter_specs.parameters.add(
                name=parameter["name"],
                parameter_type=api_pb2.ParameterType.Value(parameter["parameterType"].upper()),
                feasible_space=api_pb2.FeasibleSpace(list=parameter["feasibleSpace"]["list"]),
            )
    return document, experiment


def test_the_documented_experiment_reads_as_a_search() -> None:
    document, experiment = _documented_experiment()
    search = read_experiment(experiment)
    assert search.budget.max_parameters == 200_000
    assert search.budget.channel_choices == (16, 32, 48, 64, 96, 128)
    assert (search.task.input.shape, search.task.input.channels) == ((32, 32), 3)
    assert search.task.preset == "symmetry"
    references = {p["reference"] for p in document["trialTemplate"]["trialParameters"]}
    assert references == {"architecture"}


def _run_spec(
    template: dict[str, Any], assignments: api_pb2.GetSuggestionsReply.ParameterAssignments
) -> dict[str, Any]:
    """The trial's job as Katib's controller makes it of a suggestion.

    As v0.19.0's manifest/generator.go ``applyParameters`` does: the trial spec as JSON text,
    refused unless the assignments are as many as the trialParameters, each
    ``${trialParameters.NAME}`` replaced by its reference's value as it is, the text parsed.
    """
    values = {a.name: a.value for a in assignments.assignments}
    parameters = template["trialParameters"]
    assert len(assignments.assignments) == len(parameters), "Number of TrialAssignment: ... !="
    text = json.dumps(template["trialSpec"])
    for parameter in parameters:
        text = text.replace(
            f"${{trialParameters.{parameter['name']}}}", values[parameter["reference"]]
        )
    spec: dict[str, Any] = json.loads(text)
    return spec


def test_katib_makes_a_trial_of_each_suggestion_of_the_documented_experiment(
    katib: api_pb2_grpc.SuggestionStub,
) -> None:
    document, experiment = _documented_experiment()
    request = api_pb2.GetSuggestionsRequest(
        experiment=experiment, current_request_number=2, total_request_number=2
    )
    replies = katib.GetSuggestions(request, timeout=60).parameter_assignments
    given = []
    for assignments in replies:
        job = _run_spec(document["trialTemplate"], assignments)
        (container,) = job["spec"]["template"]["spec"]["containers"]
        command = container["command"]
        given.append(command[command.index("--architecture") + 1])
    designs = [parse_architecture(json.loads(text)) for text in given]  # the JSON, as it is
    assert [int(a.labels["advisor.rank"]) for a in replies] == [1, 2]
    assert all(d.input.shape == (32, 32) and d.parameters <= 200_000 for d in designs)
    # The trials Katib makes of them, as it sends them back, hold these designs.
    assert katib_module.architectures_held([_trial_of(a) for a in replies]) == set(given)


# The cache of the sequences: a call continues where the last left off, with the same designs.


def _small_search(**settings: str) -> KatibSearch:
    """The search of :func:`_small_experiment`."""
    return read_experiment(_small_experiment(**settings))


def _small_experiment(**settings: str) -> api_pb2.Experiment:
    """The enas-cpu experiment on an 8 x 8 input, 3 layers of 8 to 32 channels, 50,000 parameters.

    Its sequence: 8 ranked designs (the ranking's search takes ~0.2 s) and 48 sampled ones
    (scored on the objective one pass over the trees builds, then a few ms each), 56 in all;
    draws of 64 designs and more come back short. ``settings`` replace the golden file's values;
    one it does not set is added after them.
    """
    experiment = _experiment()
    for setting in experiment.spec.algorithm.algorithm_settings:
        if setting.name == "max_parameters":
            setting.value = "50000"
        setting.value = settings.pop(setting.name, setting.value)
    for name, value in settings.items():
        experiment.spec.algorithm.algorithm_settings.add(name=name, value=value)
    graph = experiment.spec.nas_config.graph_config
    graph.input_sizes[:] = [8, 8]
    graph.num_layers = 3
    for operation in experiment.spec.nas_config.operations.operation:
        for parameter in operation.parameter_specs.parameters:
            if parameter.name == "num_filter":
                parameter.feasible_space.list[:] = ["8", "16", "32"]
    return experiment


SMALL_LENGTH = 56


def _from_position_one(
    search: KatibSearch, start: int, count: int, held: Collection[str] = ()
) -> list[Suggestion]:
    """``suggestions`` as it was before the cache: the sequence computed from position 1.

    Built from the library's public parts (the ranking's pages, ``sample_architectures``,
    ``score_architectures``) as the stateless service computed it, the reference the cached
    sequence must equal.
    """
    task, budget = search.task, search.budget
    needed = start + count
    while True:
        pages = math.ceil(needed / PAGE_SIZE)
        limit = budget.time_limit_seconds or DEFAULT_TIME_LIMIT
        per_page = budget.model_copy(update={"time_limit_seconds": limit / pages})
        ranked = fetch_ranking(task, per_page, needed)
        sequence = [Suggestion(r.rank, r.architecture, r.score, "ranked") for r in ranked]
        if len(sequence) < needed:
            seen = {architecture_json(s.architecture) for s in sequence}
            draws = 8
            while True:
                drawn = sample_architectures(task, budget, draws, seed=budget.seed)
                extra = [a for a in drawn if architecture_json(a) not in seen][
                    : needed - len(sequence)
                ]
                if len(extra) == needed - len(sequence) or len(drawn) < draws:
                    break
                draws *= 2
            scores = score_architectures(task, budget, extra) if extra else []
            for architecture, score in zip(extra, scores, strict=True):
                sequence.append(Suggestion(len(sequence) + 1, architecture, score, "sampled"))
        fresh = [s for s in sequence[start:] if architecture_json(s.architecture) not in held]
        if len(fresh) >= count or len(sequence) < needed:
            break
        needed += count - len(fresh)
    if len(fresh) < count:
        raise InvalidRequestError.single(
            "current_request_number",
            f"asks for {count:,} design{'' if count == 1 else 's'} from position {start + 1}; "
            "the design space at this "
            f"budget holds only {len(sequence)} distinct ones",
        )
    return fresh[:count]


def _designs(picked: list[Suggestion]) -> list[tuple[int, str, float, str]]:
    return [(s.position, architecture_json(s.architecture), s.score, s.source) for s in picked]


def test_a_sequence_asked_in_pieces_is_the_one_computed_from_position_one() -> None:
    search = _small_search()
    cache = SuggestionCache()
    pieces: list[tuple[int, str, float, str]] = []
    held: set[str] = set()
    # A few at a time through the ranking (each a page from the last page's token), then into
    # and past the first draws, to the end of the space.
    for count in (1, 1, 2, 3, 5, 8, 13, 23):
        picked = suggestions(search, len(pieces), count, held, cache=cache)
        held |= {architecture_json(s.architecture) for s in picked}
        pieces.extend(_designs(picked))
    assert len(pieces) == SMALL_LENGTH
    assert pieces == _designs(_from_position_one(search, 0, SMALL_LENGTH))
    assert [source for *_, source in pieces].count("ranked") == 8


def test_trials_that_change_between_calls_pick_as_from_position_one() -> None:
    search = _small_search()
    whole = [architecture_json(s.architecture) for s in _from_position_one(search, 0, 30)]
    cache = SuggestionCache()
    returned: list[str] = []
    # (start, count, trials besides the designs returned so far, returned trials deleted)
    rounds = [
        (0, 3, set(), set()),
        # Trials from elsewhere hold designs ahead: skipped, so the call reads further.
        (3, 3, {whole[4], whole[6]}, set()),
        # A returned design's trial was deleted: it can come back, at its own position.
        (6, 4, {whole[4], whole[6], whole[12]}, {0, 7}),
        # Katib counts fewer than were computed: the sequence's start is asked again.
        (2, 5, {whole[9], whole[20], whole[21]}, {1}),
        (12, 10, {whole[13], whole[25]}, set()),
    ]
    for start, count, others, deleted in rounds:
        held = {j for i, j in enumerate(returned) if i not in deleted} | others
        picked = suggestions(search, start, count, held, cache=cache)
        assert _designs(picked) == _designs(_from_position_one(search, start, count, held))
        returned.extend(architecture_json(s.architecture) for s in picked)


def test_a_space_that_runs_out_is_refused_as_without_the_cache() -> None:
    search = _small_search()
    cache = SuggestionCache()
    held = {architecture_json(s.architecture) for s in suggestions(search, 40, 10, cache=cache)}
    with pytest.raises(InvalidRequestError) as computed:
        suggestions(search, 45, 10, held)  # no cache: the sequence from position 1
    with pytest.raises(InvalidRequestError) as cached:
        suggestions(search, 45, 10, held, cache=cache)
    assert cached.value.violations == computed.value.violations
    with pytest.raises(InvalidRequestError) as cached:
        suggestions(search, 52, 5, cache=cache)  # past the end without the trials
    assert f"holds only {SMALL_LENGTH} distinct" in str(cached.value)
    with pytest.raises(InvalidRequestError) as one:
        suggestions(search, SMALL_LENGTH, 1, cache=cache)
    assert f"asks for 1 design from position {SMALL_LENGTH + 1};" in str(one.value)


def test_trials_skipped_past_the_servers_limit_name_the_setting_to_raise() -> None:
    # The first 3 designs are trials: 3 from position 1 need 6 of the sequence, over 4. "over
    # the server's limit of 4" did not say which setting that was.
    search = _small_search()
    cache = SuggestionCache()
    held = {architecture_json(s.architecture) for s in suggestions(search, 0, 3, cache=cache)}
    with pytest.raises(LimitExceededError) as refused:
        suggestions(search, 0, 3, held, max_length=4, cache=cache)
    [violation] = refused.value.violations
    assert violation.field == "current_request_number"
    assert violation.description.endswith(
        "needs 6 designs of the sequence, over the server's limit of 4 (max_katib_designs)"
    )
    # As data too, as every limit refusal carries it (the service's LIMIT_EXCEEDED detail).
    assert refused.value.limits == {"max_katib_designs": "6"}


def test_each_call_computes_only_the_designs_past_the_last_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    search = _small_search()
    work = count_katib_work(monkeypatch)
    cache = SuggestionCache()
    for start in range(30):
        suggestions(search, start, 1, cache=cache)
    # The 8 ranked designs one page each (the last page has no token: the ranking ends); the
    # objective built once and 22 sampled designs each scored once (from position 1 every call,
    # the objective 22 times and 1 + 2 + ... + 22 designs).
    assert work.searches == 8
    assert work.objectives == 1
    assert len(work.scored) == 22
    assert work.scored_once_each()


def test_a_sampled_design_is_built_once_to_filter_and_score_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Building a design on a large grid takes milliseconds: the filter against the ranked
    # designs and the scoring built each one, and the reply a third time.
    from advisor.search.draws import SpaceDraws

    builds: dict[int, int] = {}
    build = SpaceDraws.architecture

    def counted(draws: SpaceDraws, index: int) -> Architecture:
        builds[index] = builds.get(index, 0) + 1
        return build(draws, index)

    search = _small_search()
    whole = _designs(_from_position_one(search, 0, 30))
    monkeypatch.setattr(SpaceDraws, "architecture", counted)
    cache = SuggestionCache()
    picked = [s for start in range(0, 30, 3) for s in suggestions(search, start, 3, cache=cache)]
    assert _designs(picked) == whole
    sampled = sum(s.source == "sampled" for s in picked)
    assert sampled == 22
    # Each sampled design: once to filter and score, once for the reply.
    assert sorted(builds.values(), reverse=True)[:sampled] == [2] * sampled


def test_the_cache_keys_on_the_search_the_experiment_reads_as() -> None:
    cache = SuggestionCache()
    search = _small_search()
    suggestions(search, 0, 2, cache=cache)
    assert search in cache and len(cache) == 1
    # The same settings, read again (another experiment object, other trials): the same.
    again = _small_search()
    assert again is not search and again in cache
    # Any setting that changes the sequence is another sequence.
    for other in (_small_search(seed="1"), _small_search(time_limit="10")):
        assert other not in cache
        suggestions(other, 0, 1, cache=cache)
        assert other in cache
    assert len(cache) == 3


def test_the_cache_keeps_the_latest_sequences_within_its_bounds() -> None:
    searches = [_small_search(seed=str(seed)) for seed in range(3)]
    cache = SuggestionCache(max_experiments=2)
    for search in searches:
        suggestions(search, 0, 1, cache=cache)
    suggestions(searches[1], 1, 1, cache=cache)  # used last: kept before the third
    assert [search in cache for search in searches] == [False, True, True]
    # A sequence over the byte bound on its own is not kept; its answer is the same.
    tiny = SuggestionCache(max_bytes=1)
    picked = suggestions(searches[0], 0, 10, cache=tiny)
    assert len(tiny) == 0
    assert _designs(picked) == _designs(suggestions(searches[0], 0, 10))


def test_calls_on_several_threads_get_what_one_call_gets() -> None:
    searches = [_small_search(), _small_search(seed="1")]
    whole = {id(search): _designs(suggestions(search, 0, 23)) for search in searches}
    windows = [(search, start, 3) for search in searches for start in (0, 5, 2, 14, 9, 20)]
    expected = [whole[id(s)][start : start + n] for s, start, n in windows]
    cache = SuggestionCache()
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(suggestions, s, start, n, cache=cache) for s, start, n in windows]
        assert [_designs(f.result()) for f in futures] == expected


class _PollLimit(StopSignal):
    """A signal that stops from its ``polls``-th poll on (a search polls it through children)."""

    def __init__(self, polls: int) -> None:
        super().__init__()
        self.polls = 0
        self._limit = polls

    @property
    def cancelled(self) -> bool:
        self.polls += 1
        return self.polls >= self._limit


def test_a_call_stopped_at_any_point_leaves_a_sequence_the_next_call_continues() -> None:
    search = _small_search()
    whole = _designs(_from_position_one(search, 0, 33))
    counting = _PollLimit(10**9)
    assert _designs(suggestions(search, 5, 20, stop=counting)) == whole[5:25]
    # Stops in the ranking's search (~970 polls), then in the last hundred: the draws' tries
    # and the comparisons of the drawn designs with the ranked ones (total - 60), the
    # objective's pass over the trees (~28 polls: total - 42 and total - 25) and the scoring of
    # the 17 designs (one poll each: total - 5).
    total = counting.polls
    for polls in (1, total - 60, total - 42, total - 25, total - 5):
        cache = SuggestionCache()
        with pytest.raises(StoppedError):
            suggestions(search, 5, 20, cache=cache, stop=_PollLimit(polls))
        assert _designs(suggestions(search, 5, 20, cache=cache)) == whole[5:25]
        # And on past where the stopped call went: its draws, compared and scored further.
        assert _designs(suggestions(search, 25, 8, cache=cache)) == whole[25:33]


def test_a_stop_between_scored_designs_keeps_every_score_computed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    search = _small_search()
    whole = _designs(_from_position_one(search, 0, 30))
    scored: list[Architecture] = []
    stop = StopSignal()

    class StoppingScorer(DesignScorer):
        def score(self, architecture: Architecture) -> float:
            scored.append(architecture)
            if len(scored) == 5:
                stop.cancel()
            return super().score(architecture)

    monkeypatch.setattr("advisor.search.scoring.DesignScorer", StoppingScorer)
    cache = SuggestionCache()
    with pytest.raises(StoppedError):
        suggestions(search, 0, 30, cache=cache, stop=stop)
    assert len(scored) == 5
    assert _designs(suggestions(search, 0, 30, cache=cache)) == whole
    # The five scored before the stop are not scored again.
    assert len(scored) == len({architecture_json(a) for a in scored}) == 30 - 8


def test_a_call_waiting_for_another_on_its_sequence_follows_its_stop() -> None:
    search = _small_search()
    cache = SuggestionCache()
    with cache.sequence(search, StopSignal()):  # another call holds the sequence
        started = time.monotonic()
        with pytest.raises(StoppedError):
            suggestions(search, 0, 1, cache=cache, stop=StopSignal.after(0.2))
        assert time.monotonic() - started < 5


def _slow_search() -> KatibSearch:
    """The enas-cpu experiment with 6 layers of 8 to 128 channels and 1,000,000 parameters.

    Asked for 1,000 designs: the ranking's search (20 s / 20 pages, ~1 s), then draws that
    double up to 1,024, which comes back short (the space holds 928) after 51,200 tries, 20-30 s
    on the two-core machines; the draws before it take about a second.
    """
    experiment = _experiment(
        task="symmetry", max_parameters="1000000", objective="weighted", seed="0"
    )
    experiment.spec.nas_config.graph_config.num_layers = 6
    for operation in experiment.spec.nas_config.operations.operation:
        for parameter in operation.parameter_specs.parameters:
            if parameter.name == "num_filter":
                parameter.feasible_space.list[:] = ["8", "16", "24", "32", "48", "64", "96", "128"]
    return read_experiment(experiment)


def test_a_stop_during_the_draws_ends_a_large_request_promptly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    search = _slow_search()
    stop = StopSignal()
    fired = into_the_draws(monkeypatch, stop.cancel)
    with pytest.raises(StoppedError):
        suggestions(search, 0, 1_000, stop=stop)
    # Every part polls the signal: the draws before each try, the scoring before each design.
    # (sample_architectures did not: its last draw ran on 10-30 s past the stop.)
    assert fired and time.monotonic() - fired[0] < 5.0


def test_a_padded_design_is_held_at_its_padded_grid() -> None:
    # A permutation numbers the locations of the grid the design pools: 16 x 16 for a 15 x 15
    # input padded, 256 entries, not 225.
    padded = Architecture(
        input=InputSpec(shape=(15, 15)),
        representation=4,
        layers=(Layer(channels=4, pool=(4, 4)), Layer(channels=4, pool=(4, 4))),
        padding=((0, 1), (0, 1)),
    )
    # Its windows do not tile 15 x 15: copied unchecked, only its size is compared.
    unpadded = BaseModel.model_copy(padded, update={"padding": None})
    held = []
    for architecture in (padded, unpadded):
        sequence = sequence_module.DesignSequence(_small_search())
        sequence._ranked = [Suggestion(1, architecture, 1.0, "ranked")]
        held.append(sequence.estimate_footprint())
    assert held[0] - held[1] == sequence_module._BYTES_PER_LOCATION * (256 - 225)


def test_a_volume_is_four_input_sizes_with_its_channels_last() -> None:
    # Three entries are an image with its channels, so a volume or a video could not be said:
    # [D, H, W, C] was refused on input_sizes.
    experiment = _experiment()
    for setting in experiment.spec.algorithm.algorithm_settings:
        if setting.name == "max_parameters":
            setting.value = "50000"
    graph = experiment.spec.nas_config.graph_config
    graph.input_sizes[:] = [4, 8, 8, 2]
    graph.num_layers = 3
    for operation in experiment.spec.nas_config.operations.operation:
        for parameter in operation.parameter_specs.parameters:
            if parameter.name == "num_filter":
                parameter.feasible_space.list[:] = ["8", "16", "32"]
    search = read_experiment(experiment)
    assert (search.task.input.shape, search.task.input.channels) == ((4, 8, 8), 2)
    designs = suggestions(search, 0, 3)
    assert len(designs) == 3
    for design in designs:
        architecture = design.architecture
        assert (architecture.input.shape, architecture.input.channels) == ((4, 8, 8), 2)
        assert architecture.parameters <= 50_000


@pytest.mark.parametrize(
    ("with_nas_config", "field", "said"),
    [
        (
            False,
            "experiment.spec.nas_config",
            ("needs a nasConfig", "parameters (lr) are hyperparameters"),
        ),
        (
            True,
            "experiment.spec.parameter_specs.parameters",
            ("only one of parameters and nasConfig", "parameters (lr) would go unassigned"),
        ),
    ],
)
def test_an_experiment_with_hyperparameters_is_refused_naming_them(
    katib: api_pb2_grpc.SuggestionStub, with_nas_config: bool, field: str, said: tuple[str, ...]
) -> None:
    # Beside a nasConfig, Katib's webhook refuses them too; a call that skipped it was answered
    # with architectures alone, every trial's hyperparameters unassigned.
    experiment = _experiment()
    if not with_nas_config:
        experiment.spec.ClearField("nas_config")
    experiment.spec.parameter_specs.parameters.add(
        name="lr",
        parameter_type=api_pb2.DOUBLE,
        feasible_space=api_pb2.FeasibleSpace(min="0.01", max="0.03"),
    )
    for error in _refused_by_both(katib, experiment):
        ((refused, description),) = _described(error)
        assert refused == field
        assert all(words in description for words in said), description


@pytest.mark.parametrize(
    ("settings", "hint"),
    [
        (
            {"task": "symmetry", "max_parameter": "1000"},
            "did you mean 'max_parameters'?",
        ),
        ({"task": "Symmetry", "max_parameters": "1000"}, "did you mean 'symmetry'?"),
    ],
)
def test_a_misspelt_setting_or_preset_gets_the_name_it_meant(
    katib: api_pb2_grpc.SuggestionStub, settings: dict[str, str], hint: str
) -> None:
    for error in _refused_by_both(katib, _experiment(**settings)):
        assert any(hint in description for _, description in _described(error))


def test_an_experiment_of_more_trials_than_its_space_holds_is_refused_up_front(
    katib: api_pb2_grpc.SuggestionStub,
) -> None:
    # Katib's controller retries a refused GetSuggestions without end: the experiment would
    # stall at trial SMALL_LENGTH + 1 (or past max_katib_designs), so validation refuses it.
    experiment = _small_experiment()
    for trials, found in (
        (SMALL_LENGTH + 1, f"holds only {SMALL_LENGTH} distinct"),
        (1001, "exceeds the server's limit of 1,000 (max_katib_designs)"),
    ):
        experiment.spec.max_trial_count = trials
        with pytest.raises(grpc.RpcError) as raised:
            katib.ValidateAlgorithmSettings(
                api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=60
            )
        ((field, description),) = _described(raised.value)
        assert field == "experiment.spec.max_trial_count"
        assert found in description
    experiment.spec.max_trial_count = SMALL_LENGTH
    katib.ValidateAlgorithmSettings(
        api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=60
    )


@pytest.mark.parametrize(
    ("sizes", "meant"),
    [([3, 32, 32], "[32, 32, 3]"), ([1, 16, 64, 64], "[16, 64, 64, 1]")],
)
def test_input_sizes_written_channels_first_are_refused_with_the_order_meant(
    katib: api_pb2_grpc.SuggestionStub, sizes: list[int], meant: str
) -> None:
    # [3, 32, 32], PyTorch's order, was read as a 3 x 32 grid with 32 channels.
    experiment = _experiment()
    experiment.spec.nas_config.graph_config.input_sizes[:] = sizes
    for error in _refused_by_both(katib, experiment):
        ((field, description),) = _described(error)
        assert field == "experiment.spec.nas_config.graph_config.input_sizes"
        assert f"did you mean {meant}?" in description
    experiment.spec.nas_config.graph_config.input_sizes[:] = json.loads(meant)
    assert read_experiment(experiment).task.input.channels == sizes[0]


def _on_sequence(input_sizes: list[int], task: str) -> api_pb2.Experiment:
    """The golden experiment on ``input_sizes`` with the ``task`` setting, 50,000 parameters."""
    experiment = _experiment(task=task, max_parameters="50000")
    experiment.spec.nas_config.graph_config.input_sizes[:] = input_sizes
    return experiment


def test_a_sequence_with_channels_is_its_steps_a_1_and_its_channels() -> None:
    # [64, 1, 3] was a 64 x 1 grid with 3 channels, refused for a 1-D preset; a sequence with
    # channels could not be stated in Katib's sizes at all.
    search = read_experiment(_on_sequence([64, 1, 3], "start_end"))
    assert search.task.input == InputSpec(shape=(64,), channels=3)
    (design,) = suggestions(search, 0, 1)
    assert design.architecture.input == search.task.input
    assert all(len(layer.pool) == 1 for layer in design.architecture.layers)
    document = "input: {shape: [64], channels: 3}\npreset: start_end\n"
    stated = read_experiment(_on_sequence([64, 1, 3], base64.b64encode(document.encode()).decode()))
    assert stated.task.input == search.task.input


@pytest.mark.parametrize(
    ("sizes", "meant", "forms"),
    [
        (
            [64, 3],
            "a sequence of 64 steps with 3 channels is [64, 1, 3] (the grid of 64 x 3 is "
            "[64, 3, 1])",
            {(64, 1, 3): InputSpec(shape=(64,), channels=3), (64, 3, 1): InputSpec(shape=(64, 3))},
        ),
        (
            [64, 1],
            "a sequence of 64 steps with 1 channel is [64]",
            {(64,): InputSpec(shape=(64,))},
        ),
    ],
)
def test_a_sequence_written_without_its_1_is_refused_with_the_forms_meant(
    katib: api_pb2_grpc.SuggestionStub,
    sizes: list[int],
    meant: str,
    forms: dict[tuple[int, ...], InputSpec],
) -> None:
    # [64, 3] was read as a 64 x 3 grid of one channel, its designs pooling the channel axis.
    experiment = _on_sequence(sizes, "local")
    for error in _refused_by_both(katib, experiment):
        ((field, description),) = _described(error)
        assert field == "experiment.spec.nas_config.graph_config.input_sizes"
        assert (
            description == f"{sizes} reads as a grid of {sizes[0]} x {sizes[1]} locations "
            f"of one channel; {meant}"
        )
    for form, read in forms.items():
        experiment.spec.nas_config.graph_config.input_sizes[:] = form
        assert read_experiment(experiment).task.input == read


# Learning from the trials' results: the ``learn`` setting re-ranks the designs not tried.

METRIC = "Validation-Accuracy"  # the golden experiment's objective metric
VALUES = (0.9, 0.9, 0.5)  # the first three ranked designs' (see _outer_rewarded)


def _learning_experiment(
    learn: str = "true", direction: api_pb2.ObjectiveType.ValueType = api_pb2.MAXIMIZE
) -> api_pb2.Experiment:
    """:func:`_small_experiment` with the ``learn`` setting and the objective ``direction``."""
    experiment = _small_experiment()
    experiment.spec.algorithm.algorithm_settings.add(name="learn", value=learn)
    experiment.spec.objective.type = direction
    return experiment


def _three_observed(name: str) -> tuple[api_pb2.Experiment, list[api_pb2.Trial]]:
    """Experiment ``name`` (:func:`_learning_experiment`) and trials of its designs 1-3.

    Each trial observed its design's value of :data:`VALUES`.
    """
    experiment = _learning_experiment()
    experiment.name = name
    ranked = _from_position_one(read_experiment(experiment), 0, 8)
    trials = [
        _observed_trial(s.architecture, str(v)) for s, v in zip(ranked[:3], VALUES, strict=True)
    ]
    return experiment, trials


def _observed_trial(
    architecture: Architecture,
    value: str,
    *,
    metric: str = METRIC,
    condition: api_pb2.TrialStatus.TrialConditionType.ValueType = api_pb2.TrialStatus.SUCCEEDED,
) -> api_pb2.Trial:
    """A trial of ``architecture``, as the service suggested it, that observed ``value``."""
    trial = _trial_of(
        katib_module.suggestion_assignments(Suggestion(1, architecture, 1.0, "ranked"))
    )
    trial.status.condition = condition
    trial.status.observation.metrics.add(name=metric, value=value)
    return trial


def _outer_rewarded(ranked: list[Suggestion]) -> dict[str, float]:
    """Values of the first three ranked designs that follow their 'symmetry/outer' coupling.

    The small search's ranking: designs 1-3 couple 'symmetry/halves' fully, 'outer' and
    'inner' 1, 1 and 0.5 of the most, 'alternate' 1, 1 and 0.125. Of the designs left, 5
    couples 'outer' and 'inner' 0.5 of the most, 4 and 6-8 an eighth (and 'alternate' all an
    eighth).
    """
    return {architecture_json(s.architecture): v for s, v in zip(ranked[:3], VALUES, strict=True)}


def test_learning_moves_an_untried_design_the_results_favour_ahead() -> None:
    search = read_experiment(_learning_experiment())
    ranked = _from_position_one(search, 0, 8)
    assert {s.source for s in ranked} == {"ranked"}
    held = {architecture_json(s.architecture) for s in ranked[:3]}
    observed = _outer_rewarded(ranked)
    # Unlearnt, position 4 is design 4; the values reward 'outer', which design 5 couples four
    # times as well: it comes first, from past the call's window, then the others in order.
    assert suggestions(search, 3, 1, held) == ranked[3:4]
    assert suggestions(search, 3, 1, held, observed=observed) == ranked[4:5]
    picked = suggestions(search, 3, 5, held, observed=observed)
    assert [s.position for s in picked] == [5, 4, 6, 7, 8]
    # The same values, smaller better: design 5 goes last.
    minimize = read_experiment(_learning_experiment(direction=api_pb2.MINIMIZE))
    picked = suggestions(minimize, 3, 5, held, observed=observed)
    assert [s.position for s in picked] == [4, 6, 7, 8, 5]


def test_learning_re_ranks_the_ranked_designs_the_experiments_trials_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    experiment = _learning_experiment()
    ranked = _from_position_one(read_experiment(experiment), 0, 8)
    held = {architecture_json(s.architecture) for s in ranked[:3]}
    observed = _outer_rewarded(ranked)
    # The re-ranked positions' floor lowered from PAGE_SIZE to 4, within the 8 ranked designs.
    monkeypatch.setattr(experiment_module, "PAGE_SIZE", 4)
    # Design 5, which the values favour, is past the floor but within the experiment's 15
    # trials (maxTrialCount): re-ranked, it comes first.
    assert experiment.spec.max_trial_count == 15
    assert suggestions(read_experiment(experiment), 3, 1, held, observed=observed) == ranked[4:5]
    # Without a maxTrialCount, the floor's positions: design 4 is all they hold untried.
    experiment.spec.max_trial_count = 0
    assert suggestions(read_experiment(experiment), 3, 1, held, observed=observed) == ranked[3:4]


def test_fewer_than_two_distinct_values_move_nothing() -> None:
    search = read_experiment(_learning_experiment())
    ranked = _from_position_one(search, 0, 12)
    held = {architecture_json(s.architecture) for s in ranked[:3]}
    for observed in (
        {},
        {architecture_json(ranked[0].architecture): 0.9},
        dict.fromkeys(held, 0.7),
    ):
        picked = suggestions(search, 3, 9, held, observed=observed)
        assert _designs(picked) == _designs(_from_position_one(search, 3, 9, held))
        assert [s.source for s in picked] == ["ranked"] * 5 + ["sampled"] * 4


def test_learning_off_is_the_sequence_whatever_the_trials_scored() -> None:
    ranked = _from_position_one(_small_search(), 0, 8)
    held = {architecture_json(s.architecture) for s in ranked[:3]}
    trials = [
        _observed_trial(s.architecture, str(v)) for s, v in zip(ranked[:3], VALUES, strict=True)
    ]
    for search in (_small_search(), read_experiment(_learning_experiment(learn="false"))):
        assert search.learning is None
        assert katib_module.observations(search, trials) == {}
        picked = suggestions(search, 3, 5, held, observed=_outer_rewarded(ranked))
        assert _designs(picked) == _designs(ranked[3:8])


def test_unusable_observations_are_left_out() -> None:
    search = read_experiment(_learning_experiment())
    ranked = _from_position_one(search, 0, 8)
    first, second, third, *others = (s.architecture for s in ranked)
    unusable = [
        _observed_trial(first, "0.2", condition=api_pb2.TrialStatus.FAILED),
        _observed_trial(first, "0.2", condition=api_pb2.TrialStatus.RUNNING),
        _observed_trial(second, "0.2", metric="loss"),
        _observed_trial(second, "n/a"),
        _observed_trial(third, "nan"),
        _observed_trial(third, "inf"),
        _trial_of(katib_module.suggestion_assignments(ranked[3])),  # created, not run
    ]
    usable = _observed_trial(others[0], "0.75")
    assert katib_module.observations(search, [*unusable, usable]) == {
        architecture_json(others[0]): 0.75
    }
    # One value is no information: the call picks as without learning.
    held = katib_module.architectures_held([*unusable, usable])
    observed = katib_module.observations(search, [*unusable, usable])
    assert len(held) == 4
    picked = suggestions(search, 4, 3, held, observed=observed)
    assert _designs(picked) == _designs(_from_position_one(search, 4, 3, held))


def test_learning_leaves_the_cached_sequence_as_computed_from_position_one() -> None:
    search = read_experiment(_learning_experiment())
    assert katib_module.search_digest(search) == katib_module.search_digest(_small_search())
    ranked = _from_position_one(search, 0, 8)
    held = {architecture_json(s.architecture) for s in ranked[:3]}
    cache = SuggestionCache()
    learnt = suggestions(search, 3, 2, held, observed=_outer_rewarded(ranked), cache=cache)
    assert [s.position for s in learnt] == [5, 4]
    # The experiment without learning shares the sequence, unchanged by the re-ranking.
    assert _small_search() in cache
    picked = suggestions(_small_search(), 3, 12, held, cache=cache)
    assert _designs(picked) == _designs(_from_position_one(_small_search(), 3, 12, held))


def _written_otherwise(architecture: Architecture) -> str:
    """``architecture``'s JSON as another tool writes it: keys reversed, indented, nulls given."""
    document = json.loads(architecture_json(architecture))
    return json.dumps({"family": None, **dict(reversed(document.items()))}, indent=2)


def test_a_trial_written_otherwise_is_matched_to_its_design_and_learnt_from() -> None:
    search = read_experiment(_learning_experiment())
    ranked = _from_position_one(search, 0, 8)
    trials = [
        _observed_trial(s.architecture, str(v)) for s, v in zip(ranked[:3], VALUES, strict=True)
    ]
    for trial, design in zip(trials, ranked, strict=False):
        (assignment,) = trial.spec.parameter_assignments.assignments
        assignment.value = katib_module.template_value(_written_otherwise(design.architecture))
    # The trials' JSON differs from the advisor's but describes designs 1-3: they are held and
    # their values learnt from, as when the advisor wrote them.
    held = katib_module.architectures_held(trials)
    observed = katib_module.observations(search, trials)
    assert held == {architecture_json(s.architecture) for s in ranked[:3]}
    assert observed == _outer_rewarded(ranked)
    picked = suggestions(search, 3, 5, held, observed=observed)
    assert [s.position for s in picked] == [5, 4, 6, 7, 8]


def _named_alike(architecture: Architecture) -> Architecture | None:
    """``architecture`` with the named geometry its permutation realises, if one does."""
    for name in ("contiguous", "mirror", "interleaved"):
        try:
            named = architecture.model_copy(update={"geometry": name})
        except InvalidRequestError:  # the geometry does not pool this schedule
            continue
        if np.array_equal(input_permutation(named), input_permutation(architecture)):
            return named
    return None


def test_a_trial_naming_its_geometry_is_matched_to_the_design_written_as_a_permutation() -> None:
    search = read_experiment(_learning_experiment())
    ranked = _from_position_one(search, 0, 8)
    named = [(s, alike) for s in ranked if (alike := _named_alike(s.architecture)) is not None]
    assert len(named) >= 3, "the advisor's designs include named geometries' permutations"
    designs = [s for s, _ in named[:3]]
    trials = [_observed_trial(alike, str(v)) for (_, alike), v in zip(named, VALUES, strict=False)]
    # The trials name the geometry ("mirror"), the designs spell out its permutation: the same
    # networks, held and learnt from as when the advisor wrote them.
    held = katib_module.architectures_held(trials)
    observed = katib_module.observations(search, trials)
    assert {architecture_json(s.architecture) for s in designs} <= held
    assert [observed.get(architecture_json(s.architecture)) for s in designs] == list(VALUES[:3])
    picked = suggestions(search, 0, 8, held)
    assert not {s.position for s in designs} & {s.position for s in picked}


def test_katib_gets_the_design_the_trials_results_favour(
    katib: api_pb2_grpc.SuggestionStub,
) -> None:
    experiment = _learning_experiment()
    ranked = _from_position_one(read_experiment(experiment), 0, 8)
    trials = [
        _observed_trial(s.architecture, str(v)) for s, v in zip(ranked[:3], VALUES, strict=True)
    ]
    reply = katib.GetSuggestions(
        api_pb2.GetSuggestionsRequest(
            experiment=experiment, trials=trials, current_request_number=2, total_request_number=5
        ),
        timeout=60,
    )
    assert [a.labels["advisor.rank"] for a in reply.parameter_assignments] == ["5", "4"]


def test_a_design_handed_out_is_not_suggested_again_before_its_trial_exists() -> None:
    experiment = _learning_experiment()
    search = read_experiment(experiment)
    ranked = _from_position_one(search, 0, 8)
    held = {architecture_json(s.architecture) for s in ranked[:3]}
    observed = _outer_rewarded(ranked)
    cache = SuggestionCache()
    first = suggestions(search, 3, 2, held, observed=observed, cache=cache)
    assert [s.position for s in first] == [5, 4]
    # Katib asks again before it made the trials of designs 5 and 4: the request's trials are
    # the same, the positions Katib counts say two more were handed out.
    again = suggestions(search, 5, 2, held, observed=observed, cache=cache)
    assert [s.position for s in again] == [6, 7]
    # A call Katib repeats (the same total: the answer was lost) gets the same answer again.
    assert suggestions(search, 5, 2, held, observed=observed, cache=cache) == again
    # Another experiment of the same search has its own suggestions.
    experiment.name = "another"
    other = suggestions(read_experiment(experiment), 3, 2, held, observed=observed, cache=cache)
    assert [s.position for s in other] == [5, 4]


def test_katib_asking_again_before_the_trials_exist_gets_other_designs(
    katib: api_pb2_grpc.SuggestionStub,
) -> None:
    experiment, trials = _three_observed("asks-again")
    ranks = [_ranks_asked(katib, experiment, trials, total) for total in (5, 7)]
    assert ranks == [["5", "4"], ["6", "7"]]


def _ranks_asked(
    katib: api_pb2_grpc.SuggestionStub,
    experiment: api_pb2.Experiment,
    trials: list[api_pb2.Trial],
    total: int,
) -> list[str]:
    """Ask ``katib`` for two designs, the call that brings Katib's count to ``total``: ranks."""
    return [
        a.labels["advisor.rank"] for a in suggestions_asked(katib, experiment, trials, 2, total)
    ]


@pytest.mark.parametrize(
    ("learn", "spec", "field", "found"),
    [
        ("yes", {}, f"{SETTINGS_FIELD}[5].value", "learn: 'yes' is not true or false"),
        ("True", {}, f"{SETTINGS_FIELD}[5].value", "learn: 'True' is not true or false"),
        (
            "true",
            {"type": api_pb2.UNKNOWN},
            "experiment.spec.objective.type",
            "learn: needs MAXIMIZE or MINIMIZE, not UNKNOWN",
        ),
        (
            "true",
            {"objective_metric_name": ""},
            "experiment.spec.objective.objective_metric_name",
            "learn: needs the metric",
        ),
    ],
)
def test_a_learn_setting_katib_cannot_learn_from_is_refused_naming_it(
    katib: api_pb2_grpc.SuggestionStub, learn: str, spec: dict[str, Any], field: str, found: str
) -> None:
    experiment = _learning_experiment(learn)
    for name, value in spec.items():
        setattr(experiment.spec.objective, name, value)
    for error in _refused_by_both(katib, experiment):
        ((named, description),) = _described(error)
        assert named == field
        assert found in description


@pytest.mark.parametrize("written", ["200000", "200_000", "2e5", "200k", "200000.0"])
def test_the_budget_setting_is_read_as_every_budget_count_is(written: str) -> None:
    # A budget's counts take a whole float (Budget(max_parameters=2e5), a file's 2e5, the
    # command's --budget 2e5); the Katib setting alone refused '2e5' as no positive integer.
    search = read_experiment(_experiment(task="symmetry", max_parameters=written, seed="1e3"))
    assert (search.budget.max_parameters, search.budget.seed) == (200_000, 1000)
    with pytest.raises(InvalidRequestError) as refused:
        read_experiment(_experiment(task="symmetry", max_parameters="2.5e5x"))
    assert [v.field for v in refused.value.violations] == [f"{SETTINGS_FIELD}[1].value"]


PER_INPUT_BOUNDS = (("max_multiply_adds", "multiply_adds"), ("max_activations", "activations"))
"""Each per-input bound setting, with the Architecture count it bounds."""


@pytest.mark.parametrize("setting", [setting for setting, _ in PER_INPUT_BOUNDS])
def test_a_per_input_bound_setting_is_read_as_max_parameters_is(setting: str) -> None:
    # Written as every budget count is; a value that is no positive count, or one the Budget
    # refuses (past int64), is refused on the setting's value, its description led by its name.
    search = read_experiment(
        _experiment(task="symmetry", max_parameters="200k", **{setting: "2e5"})
    )
    assert getattr(search.budget, setting) == 200_000
    for value in ("0", "-3", "2.5e5x", str(2**63)):
        with pytest.raises(InvalidRequestError) as refused:
            read_experiment(_experiment(task="symmetry", max_parameters="1000", **{setting: value}))
        (violation,) = refused.value.violations
        assert violation.field == f"{SETTINGS_FIELD}[2].value"
        assert violation.description.startswith(f"{setting}: ")
        assert "budget." not in violation.description


@pytest.mark.parametrize(("setting", "count"), PER_INPUT_BOUNDS)
def test_a_per_input_bound_setting_holds_every_suggestion_within_it(
    setting: str, count: str
) -> None:
    # A Katib user with a GPU's memory or a latency to keep could not bound the designs' compute
    # or activations per input, as the library, the command and the gRPC Budget can. A bound
    # just under the most the unbounded designs have binds: ranked and sampled designs alike
    # keep within it.
    unbounded = suggestions(_small_search(), 0, 12)
    bound = max(getattr(s.architecture, count) for s in unbounded) - 1
    search = _small_search(**{setting: str(bound)})
    assert getattr(search.budget, setting) == bound
    bounded = suggestions(search, 0, 12)
    assert {s.source for s in bounded} == {"ranked", "sampled"}
    assert all(getattr(s.architecture, count) <= bound for s in bounded)


@pytest.mark.parametrize(
    ("setting", "past"),
    [
        *(
            (setting, "larger than any budget (2^63 - 1 at most)")
            for setting in ["max_parameters", *(setting for setting, _ in PER_INPUT_BOUNDS)]
        ),
        # A seed is no budget: it was told "larger than any budget", not what a seed may be.
        ("seed", "larger than any seed (a seed runs from 0 to 2^63 - 1)"),
    ],
)
def test_a_count_too_long_for_any_budget_is_told_so_not_called_no_integer(
    setting: str, past: str
) -> None:
    # 1e40 is a whole number, only past every bound: "is not a positive integer" told the
    # experiment's author to write another kind of number, as --budget once did.
    settings = {"task": "symmetry", "max_parameters": "1000", setting: "1e40"}
    with pytest.raises(InvalidRequestError) as refused:
        read_experiment(_experiment(**settings))
    (violation,) = refused.value.violations
    assert violation.description == f"{setting}: 1e40 is {past}"
