"""Katib's Suggestion service as a service: the request limits, the call's deadline, the drain."""

from __future__ import annotations

import base64
import functools
import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from grpc_status import rpc_status

from advisor.model.architecture import Architecture
from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.search.scoring import DesignScorer
from advisor.service.katib_server import start_katib_server
from advisor.service.limits import RequestLimits
from tests.support.harness import violations_of
from tests.support.katib_calls import katib_endpoint, suggestions_asked
from tests.support.katib_counts import count_katib_work
from tests.support.katib_draws import into_the_draws
from tests.support.server_process import ServerProcess

GOLDEN = Path(__file__).parents[1] / "data" / "katib" / "enas_cpu_experiment.json"
GRAPH = "experiment.spec.nas_config.graph_config"
SETTINGS = "experiment.spec.algorithm.algorithm_settings"
WIDTHS = "experiment.spec.nas_config.operations.operation[0].parameter_specs.parameters[1]"
# Designs the default limits admit that take the old, unstoppable sequence about 45 s on the
# two-core machines: the ranking of the space of _slow_request ends at 16, the other 484 designs
# are sampled and scored (~90 ms each then, ~2 ms now: 1.1 s in all).
SLOW_DESIGNS = 500
# Nearly the whole space of _slow_request (928 distinct designs): ~2 s of work, where a call for
# SLOW_DESIGNS could end within a 1 s drain.
LONG_DESIGNS = 900


def experiment(**settings: str) -> api_pb2.Experiment:
    """The enas-cpu experiment of the golden file, with the given settings' values replaced."""
    document = json.loads(GOLDEN.read_text())
    document.pop("_comment")
    parsed = json_format.ParseDict(document, api_pb2.Experiment())
    for setting in parsed.spec.algorithm.algorithm_settings:
        setting.value = settings.pop(setting.name, setting.value)
    for name, value in settings.items():
        parsed.spec.algorithm.algorithm_settings.add(name=name, value=value)
    return parsed


def _widths(experiment: api_pb2.Experiment) -> api_pb2.FeasibleSpace:
    parameter = experiment.spec.nas_config.operations.operation[0].parameter_specs.parameters[1]
    assert parameter.name == "num_filter"
    return parameter.feasible_space


@pytest.fixture(scope="module")
def katib() -> Iterator[api_pb2_grpc.SuggestionStub]:
    """An endpoint the module's tests share: its cache of sequences holds what they asked."""
    yield from katib_endpoint()


@pytest.fixture
def own_katib() -> Iterator[api_pb2_grpc.SuggestionStub]:
    """An endpoint of the test's own, whose cache of sequences starts empty."""
    yield from katib_endpoint()


def _refusal(call: Callable[..., object], request: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call(request, timeout=60)
    return raised.value


def _fields(error: grpc.RpcError) -> list[str]:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    return sorted(field for field, _ in violations_of(rpc_status.from_call(error)))


def _huge_grid(e: api_pb2.Experiment) -> None:
    e.spec.nas_config.graph_config.input_sizes[:] = [256, 256, 3]


def _many_widths(e: api_pb2.Experiment) -> None:
    _widths(e).list[:] = [str(w) for w in range(1, 101)]


def _wide_width(e: api_pb2.Experiment) -> None:
    _widths(e).list[:] = ["32", str(10**6)]


def _wide_range(e: api_pb2.Experiment) -> None:
    space = _widths(e)
    del space.list[:]
    space.min, space.max, space.step = "1", "2000000", "1"


def _endless_range(e: api_pb2.Experiment) -> None:
    # More values than a range's len() can count (2^63 - 1): counted, not an internal error.
    space = _widths(e)
    del space.list[:]
    space.min, space.max = "1", "9" * 30


def _deep(e: api_pb2.Experiment) -> None:
    e.spec.nas_config.graph_config.num_layers = 1000


def _many_outputs(e: api_pb2.Experiment) -> None:
    e.spec.nas_config.graph_config.output_sizes[:] = [10**6]


def _long_name(e: api_pb2.Experiment) -> None:
    # A name of megabytes was a file of as many in --katib-data-dir and a log line as long.
    e.name = "y" * 257


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_huge_grid, f"{GRAPH}.input_sizes"),
        (_many_widths, f"{WIDTHS}.feasible_space"),
        (_wide_width, f"{WIDTHS}.feasible_space"),
        (_wide_range, f"{WIDTHS}.feasible_space"),
        (_endless_range, f"{WIDTHS}.feasible_space"),
        (_deep, f"{GRAPH}.num_layers"),
        (_many_outputs, f"{GRAPH}.output_sizes"),
        (_long_name, "experiment.name"),
    ],
)
def test_an_experiment_over_the_limits_is_refused_by_both_rpcs(
    katib: api_pb2_grpc.SuggestionStub, change: Callable[[api_pb2.Experiment], None], field: str
) -> None:
    refused = experiment()
    change(refused)
    validate = api_pb2.ValidateAlgorithmSettingsRequest(experiment=refused)
    get = api_pb2.GetSuggestionsRequest(
        experiment=refused, current_request_number=1, total_request_number=1
    )
    assert _fields(_refusal(katib.ValidateAlgorithmSettings, validate)) == [field]
    assert _fields(_refusal(katib.GetSuggestions, get)) == [field]


def test_a_task_document_over_the_correlation_limit_is_refused(
    katib: api_pb2_grpc.SuggestionStub,
) -> None:
    correlations = "".join(f"  - {{name: c{i}, a: {{indices: [{i}]}}}}\n" for i in range(300))
    document = base64.b64encode(f"correlations:\n{correlations}".encode()).decode()
    request = api_pb2.ValidateAlgorithmSettingsRequest(experiment=experiment(task=document))
    assert _fields(_refusal(katib.ValidateAlgorithmSettings, request)) == [
        f"{SETTINGS}[0].value.correlations"
    ]


@pytest.mark.parametrize(
    ("current", "total", "field"),
    [
        (2**31 - 1, 2**31 - 1, "total_request_number"),
        (1, 2**31 - 1, "total_request_number"),
        (900, 900, "current_request_number"),  # an answer of 900 designs is over 4 MiB
    ],
)
def test_a_request_count_over_the_limits_is_refused_up_front(
    katib: api_pb2_grpc.SuggestionStub, current: int, total: int, field: str
) -> None:
    request = api_pb2.GetSuggestionsRequest(
        experiment=experiment(), current_request_number=current, total_request_number=total
    )
    started = time.monotonic()
    assert _fields(_refusal(katib.GetSuggestions, request)) == [field]
    assert time.monotonic() - started < 30  # refused before any search (a search takes 20 s)


_SLOW_BUDGETS = itertools.count(1_000_000)


def _slow_request(designs: int = SLOW_DESIGNS) -> api_pb2.GetSuggestionsRequest:
    """A request for the ``designs``-th design of a space of ~930 ranked designs, and draws.

    Each request has a budget of its own: a server keeps an experiment's sequence as far as a
    call computed it, so the same request again would be answered from it at once.
    """
    slow = experiment(max_parameters=str(next(_SLOW_BUDGETS)))
    slow.spec.nas_config.graph_config.num_layers = 6
    _widths(slow).list[:] = ["8", "16", "24", "32", "48", "64", "96", "128"]
    return api_pb2.GetSuggestionsRequest(
        experiment=slow, current_request_number=1, total_request_number=designs
    )


def _admitted(katib: api_pb2_grpc.SuggestionStub) -> bool:
    """Whether a ValidateAlgorithmSettings call gets a slot (False: RESOURCE_EXHAUSTED).

    The probe's experiment has no max_trial_count, whose designs the call would compute.
    """
    probe = experiment()
    probe.spec.ClearField("max_trial_count")
    request = api_pb2.ValidateAlgorithmSettingsRequest(experiment=probe)
    try:
        katib.ValidateAlgorithmSettings(request, timeout=30)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
        # Its slots are its own, not the advisor port's: it said "advisor slot".
        assert "Katib slot" in (error.details() or ""), error.details()
        return False
    return True


def _poll(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether ``condition`` holds within ``seconds`` (checked every 0.2 s)."""
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.2)
    return True


def _working(
    katib: api_pb2_grpc.SuggestionStub, call: grpc.Future[api_pb2.GetSuggestionsReply]
) -> bool:
    """Whether ``call`` has ended or holds the one slot."""
    return call.done() or not _admitted(katib)


def _occupy(
    katib: api_pb2_grpc.SuggestionStub, designs: int
) -> grpc.Future[api_pb2.GetSuggestionsReply]:
    """Start a slow call for ``designs`` designs and return it once it holds the one slot.

    A probe of :func:`_admitted` may hold the slot when the call arrives; the call is then
    refused and started again.
    """
    for _ in range(20):
        call = katib.GetSuggestions.future(_slow_request(designs), timeout=120)
        working = functools.partial(_working, katib, call)
        if _poll(working, 30) and not call.done():
            return call
    raise AssertionError("the slow call never held the slot")


def test_a_call_past_its_deadline_frees_its_slot(
    katib: api_pb2_grpc.SuggestionStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each sampled design takes at least 20 ms (484 of them: 9.7 s), so the work outlasts the
    # deadline however fast the machine: the unslowed request takes about 2 s.
    score = DesignScorer.score

    def slowed(scorer: DesignScorer, architecture: Architecture) -> float:
        time.sleep(0.02)
        return score(scorer, architecture)

    monkeypatch.setattr(DesignScorer, "score", slowed)
    with pytest.raises(grpc.RpcError) as raised:
        katib.GetSuggestions(_slow_request(), timeout=2)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The stopped work ends within a chunk of scoring; the old work ran on for 45 s.
    assert _poll(lambda: _admitted(katib), 20)


def test_sigterm_during_a_long_katib_call_ends_the_server() -> None:
    # The call has ~1.5 s of work left when it is seen holding the slot; the drain gives it 0.2.
    with ServerProcess("--workers", "1", "--katib-port", "0", "--grace", "0.2") as server:
        assert server.process.stdout is not None
        address = server.process.stdout.readline().removeprefix("katib suggestion service on ")
        with grpc.insecure_channel(address.strip()) as channel:
            call = _occupy(api_pb2_grpc.SuggestionStub(channel), LONG_DESIGNS)
            server.terminate()
            assert server.wait(15) == 0, server.log()  # the old work ran on for 30 s
            assert isinstance(call, grpc.Call)
            assert call.code() == grpc.StatusCode.UNAVAILABLE  # cut by the drain, not served


def test_hurrying_the_drain_ends_a_long_katib_call_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a second signal does to `advisor serve --katib-port`'s endpoint: it used to drain for
    # its whole grace period (here a minute, past the call's ~25 s of slowed work).
    score = DesignScorer.score

    def slowed(scorer: DesignScorer, architecture: Architecture) -> float:
        time.sleep(0.05)
        return score(scorer, architecture)

    monkeypatch.setattr(DesignScorer, "score", slowed)
    server = start_katib_server("127.0.0.1", 0, 1, access_log=False)
    with grpc.insecure_channel(server.address) as channel:
        call = _occupy(api_pb2_grpc.SuggestionStub(channel), SLOW_DESIGNS)
        server.begin_stop(60.0)
        hurried_at = time.monotonic()
        server.hurry()
        server.stop(60.0)
        assert time.monotonic() - hurried_at < 10.0
        assert isinstance(call, grpc.Call)
        assert call.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("seed", str(2**64)),
        ("seed", "-1"),
        ("max_parameters", "1" + "0" * 30),
        ("max_multiply_adds", str(2**63)),
        ("max_activations", str(2**63)),
    ],
)
def test_a_setting_the_budget_refuses_is_invalid_argument_from_both_rpcs(
    katib: api_pb2_grpc.SuggestionStub, setting: str, value: str
) -> None:
    refused = experiment(**{setting: value})
    index = [s.name for s in refused.spec.algorithm.algorithm_settings].index(setting)
    validate = api_pb2.ValidateAlgorithmSettingsRequest(experiment=refused)
    get = api_pb2.GetSuggestionsRequest(
        experiment=refused, current_request_number=1, total_request_number=1
    )
    for call, request in ((katib.ValidateAlgorithmSettings, validate), (katib.GetSuggestions, get)):
        assert _fields(_refusal(call, request)) == [f"{SETTINGS}[{index}].value"]


def _trial(assignments: api_pb2.GetSuggestionsReply.ParameterAssignments) -> api_pb2.Trial:
    """The trial Katib makes of one suggestion."""
    return api_pb2.Trial(
        spec=api_pb2.TrialSpec(
            parameter_assignments=api_pb2.TrialSpec.ParameterAssignments(
                assignments=list(assignments.assignments)
            )
        )
    )


def test_each_call_continues_the_experiments_sequence(
    own_katib: api_pb2_grpc.SuggestionStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process: its calls search and score through these. Its own: the
    # counts below hold for a sequence no earlier call cached.
    work = count_katib_work(monkeypatch)
    asked = experiment(seed="7")
    trials: list[api_pb2.Trial] = []
    sources = []
    for total in range(1, 13):
        (assignments,) = suggestions_asked(own_katib, asked, trials, 1, total)
        assert assignments.labels["advisor.rank"] == str(total)
        sources.append(assignments.labels["advisor.source"])
        trials.append(_trial(assignments))
    ranked = sources.count("ranked")
    assert 0 < ranked < len(sources)
    # One search per ranked design (the last page's lack of a token marks the ranking's end),
    # the objective built once and each sampled design scored once: from position 1, every call
    # searched and scored all the sampled before it.
    assert work.searches == ranked
    assert work.objectives == 1
    assert len(work.scored) == len(sources) - ranked
    assert work.scored_once_each()


def test_a_call_cancelled_in_the_draws_frees_its_slot_promptly(
    own_katib: api_pb2_grpc.SuggestionStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process: the hook sees its draws.
    request = _slow_request()
    request.total_request_number = 1_000  # the server's max_katib_designs
    calls: list[grpc.Future[api_pb2.GetSuggestionsReply]] = []
    fired = into_the_draws(monkeypatch, lambda: calls[0].cancel())
    calls.append(own_katib.GetSuggestions.future(request, timeout=120))
    assert _poll(lambda: bool(fired) and calls[0].done(), 60)
    assert calls[0].cancelled()
    # The draws poll the call's stop signal between tries, and its slot is free at once;
    # sample_architectures' last draw held it 10-30 s more.
    assert _poll(lambda: _admitted(own_katib), 5)


def test_an_answer_the_size_estimate_admits_is_within_the_message_limit() -> None:
    # A design on a 127 x 127 grid (padded to 128 x 128) is ~88 KB of architecture JSON, twice
    # the ~41 KB of a recommendation's packed ids: two fit in 200,000 bytes, three do not.
    wide = experiment()
    wide.spec.nas_config.graph_config.input_sizes[:] = [127, 127, 1]
    limits = RequestLimits(max_message_bytes=200_000)
    server = start_katib_server("127.0.0.1", 0, workers=1, limits=limits)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            katib = api_pb2_grpc.SuggestionStub(channel)
            request = api_pb2.GetSuggestionsRequest(
                experiment=wide, current_request_number=3, total_request_number=3
            )
            assert _fields(_refusal(katib.GetSuggestions, request)) == ["current_request_number"]
            request.current_request_number = request.total_request_number = 2
            reply = katib.GetSuggestions(request, timeout=60)
    finally:
        server.stop(0)
    assert len(reply.parameter_assignments) == 2
    assert reply.ByteSize() <= limits.max_message_bytes


def test_a_request_over_the_message_limit_is_refused_as_on_the_advisors_port() -> None:
    # The endpoint kept gRPC's 4 MiB whatever max_message_bytes said: 3 MB went through 1 MB.
    large = experiment()
    large.name = "z" * 200
    large.spec.nas_config.graph_config.input_sizes[:] = [8, 8, 1]
    request = api_pb2.ValidateAlgorithmSettingsRequest(experiment=large)
    request.experiment.spec.nas_config.operations.operation.add().operation_type = "x" * 300_000
    server = start_katib_server(
        "127.0.0.1", 0, workers=1, limits=RequestLimits(max_message_bytes=200_000)
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            katib = api_pb2_grpc.SuggestionStub(channel)
            refused = _refusal(katib.ValidateAlgorithmSettings, request)
    finally:
        server.stop(0)
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refused.details()
    assert "larger than max" in (refused.details() or "")


def test_validation_refuses_a_parallel_trial_count_whose_calls_answer_is_over_the_limit() -> None:
    # Validated OK, then every GetSuggestions for parallelTrialCount designs was refused over
    # max_message_bytes (60 designs on 128 x 128 x 3, ~5.6 MB), and Katib retries a refused
    # call without end. The figures of the test above: two ~88 KB designs fit, three do not.
    wide = experiment()
    wide.spec.nas_config.graph_config.input_sizes[:] = [127, 127, 1]
    wide.spec.parallel_trial_count = 3
    wide.spec.max_trial_count = 0  # no designs computed: the answer's size alone is checked
    server = start_katib_server(
        "127.0.0.1", 0, workers=1, limits=RequestLimits(max_message_bytes=200_000)
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            katib = api_pb2_grpc.SuggestionStub(channel)
            validate = api_pb2.ValidateAlgorithmSettingsRequest(experiment=wide)
            refused = _refusal(katib.ValidateAlgorithmSettings, validate)
            asked = api_pb2.GetSuggestionsRequest(
                experiment=wide, current_request_number=3, total_request_number=3
            )
            suggested = _refusal(katib.GetSuggestions, asked)
            spec = validate.experiment.spec  # the request's copy of the experiment
            spec.parallel_trial_count = 2
            katib.ValidateAlgorithmSettings(validate, timeout=60)
            spec.parallel_trial_count = 60  # Katib asks no call for more than maxTrialCount
            spec.max_trial_count = 2
            katib.ValidateAlgorithmSettings(validate, timeout=60)
    finally:
        server.stop(0)
    assert _fields(refused) == ["experiment.spec.parallel_trial_count"]
    ((_, description),) = violations_of(rpc_status.from_call(refused))
    ((_, suggestions_description),) = violations_of(rpc_status.from_call(suggested))
    estimate = suggestions_description.partition(" is estimated at ")[2].partition(" bytes")[0]
    assert description == (
        f"the response for the 3 designs a call of the experiment may ask for is estimated at "
        f"{estimate} bytes, over the server's limit of 200,000 (max_message_bytes); a "
        "parallelTrialCount of at most 2 fits it"
    )
