"""Katib's Suggestion service: a simulated controller loop gets exactly what it asks for."""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import json_format
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from advisor.errors import StoppedError
from advisor.integrations.encoding import ArchitectureCodec
from advisor.integrations.katib import MAX_TIME_LIMIT, KatibSearch, read_experiment, suggestions
from advisor.model.architecture import PermutationGeometry, parse_architecture
from advisor.model.results import SearchResult
from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.search.candidates import Candidate
from advisor.search.ladders import Ladders
from advisor.search.recommend import recommend
from advisor.service.katib_server import KATIB_HEALTH_SERVICE, start_katib_server
from advisor.stopping import StopSignal
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


def _completed(
    assignments: api_pb2.GetSuggestionsReply.ParameterAssignments, name: str, rng: random.Random
) -> api_pb2.Trial:
    """A trial Katib ran from ``assignments``, with a synthetic Validation-Accuracy."""
    accuracy = 0.5 + 0.4 * float(assignments.labels["advisor.score"]) + rng.uniform(-0.05, 0.05)
    return api_pb2.Trial(
        name=name,
        spec=api_pb2.TrialSpec(
            parameter_assignments=api_pb2.TrialSpec.ParameterAssignments(
                assignments=list(assignments.assignments)
            ),
            labels=dict(assignments.labels),
        ),
        status=api_pb2.TrialStatus(
            condition=api_pb2.TrialStatus.SUCCEEDED,
            observation=api_pb2.Observation(
                metrics=[api_pb2.Metric(name="Validation-Accuracy", value=f"{accuracy:.4f}")]
            ),
        ),
    )


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
            values = {a.name: a.value for a in assignments.assignments}
            architecture = parse_architecture(json.loads(values["architecture"]))
            assert architecture.input.shape == (32, 32)
            assert architecture.input.channels == 3
            assert architecture.outputs == 10
            assert architecture.parameters <= 200_000
            assert len(architecture.layers) <= 3
            assert {layer.channels for layer in architecture.layers} <= WIDTHS
            assert architecture.representation in WIDTHS
            # The flat assignments decode to the same architecture.
            codec = ArchitectureCodec(architecture.input, outputs=10)
            assert isinstance(architecture.geometry, PermutationGeometry)
            codec.remember(architecture.geometry.permutation)
            flat: dict[str, Any] = {
                k: (v if k in ("geometry", "schedule") else int(v))
                for k, v in values.items()
                if k != "architecture"
            }
            assert codec.decode(flat) == architecture
            assert assignments.labels["advisor.family"] == architecture.family
            positions.append(int(assignments.labels["advisor.rank"]))
            seen.append(values["architecture"])
            trials.append(_completed(assignments, f"enas-cpu-{round_number}-{i}", rng))
    assert len(set(seen)) == ROUNDS * PER_ROUND
    assert positions == list(range(1, ROUNDS * PER_ROUND + 1))
    ranked_json = [
        r.architecture.model_dump_json(exclude_none=True) for r in ranked.recommendations
    ]
    assert seen[: len(ranked_json)] == ranked_json  # the advisor's ranking first, in order


def _violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    fields = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        assert detail.Unpack(bad_request)
        fields.extend(v.field for v in bad_request.field_violations)
    return fields


SETTINGS_FIELD = "experiment.spec.algorithm.algorithm_settings"


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
    ],
)
def test_bad_settings_are_invalid_argument_naming_each_field(
    katib: api_pb2_grpc.SuggestionStub, settings: dict[str, str], fields: list[str]
) -> None:
    experiment = _experiment(**settings)
    for call, request in (
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
    ):
        with pytest.raises(grpc.RpcError) as raised:
            call(request, timeout=60)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert sorted(_violations(raised.value)) == sorted(fields)


def test_a_bad_graph_config_and_request_counts_are_named(
    katib: api_pb2_grpc.SuggestionStub,
) -> None:
    experiment = _experiment()
    experiment.spec.nas_config.graph_config.input_sizes[:] = [32, 32, 3, 1]
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
    assert search.budget.channel_choices == sorted(WIDTHS)
    assert search.budget.max_depth == 3
    assert search.budget.outputs == 10


def test_serve_with_a_katib_port_answers_katibs_health_check() -> None:
    with ServerProcess("--katib-port", "0", "--grace", "1") as server:
        assert server.process.stdout is not None
        line = server.process.stdout.readline()
        prefix = "katib suggestion service on "
        assert line.startswith(prefix), line
        with grpc.insecure_channel(line[len(prefix) :].strip()) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            status = health.Check(
                health_pb2.HealthCheckRequest(service=KATIB_HEALTH_SERVICE), timeout=30
            )
            assert status.status == health_pb2.HealthCheckResponse.SERVING
        server.terminate()
        assert server.wait(60) == 0


def test_the_documented_experiment_reads_as_a_search() -> None:
    # The controller's conversion of the Experiment resource's algorithm and nasConfig.
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
    search = read_experiment(experiment)
    assert search.budget.max_parameters == 200_000
    assert search.budget.channel_choices == [16, 32, 48, 64, 96, 128]
    assert (search.task.input.shape, search.task.input.channels) == ((32, 32), 3)
    assert search.task.preset == "symmetry"
    references = {p["reference"] for p in document["trialTemplate"]["trialParameters"]}
    assert references == {"architecture"}


def _into_the_draws(monkeypatch: pytest.MonkeyPatch, action: Callable[[], object]) -> list[float]:
    """Run ``action`` 0.2 s after the draws past the ranking made 3,000 tries; return when.

    A try is a call of ``Ladders.fitting`` once the ranking's search returned. The draws before
    the last take ~1,000 tries (fewer once they continue one another), so the action comes
    0.2 s into the last, the one that runs the space out (the returned list holds the moment).
    """
    ranked: list[bool] = []
    tries: list[int] = []
    fired: list[float] = []

    def ranking(*args: Any, **kwargs: Any) -> SearchResult:
        result = recommend(*args, **kwargs)
        ranked.append(True)
        return result

    def counted(ladders: Ladders, candidate: Candidate, scale: float = 1.0) -> Any:
        if ranked:
            tries.append(1)
            if len(tries) == 3_000:
                fired.append(time.monotonic() + 0.2)
                threading.Timer(0.2, action).start()
        return fitting(ladders, candidate, scale)

    fitting = Ladders.fitting
    monkeypatch.setattr("advisor.search.recommend.recommend", ranking)
    monkeypatch.setattr(Ladders, "fitting", counted)
    return fired


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
    fired = _into_the_draws(monkeypatch, stop.cancel)
    with pytest.raises(StoppedError):
        suggestions(search, 0, 1_000, stop=stop)
    # Every part polls the signal: the draws before each try, the scoring before each design.
    # (sample_architectures did not: its last draw ran on 10-30 s past the stop.)
    assert fired and time.monotonic() - fired[0] < 5.0
