"""The client refuses a setting or argument it cannot send, naming it, before any call.

Each case ran into a bare Python error before (ValueError from protobuf, TypeError, an
AttributeError deep in gRPC, numpy's inhomogeneous-shape ValueError) or, for ``outputs=0``,
reached the server, which accepts it when the sample yields no task.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from advisor_client.client import AdvisorClient
from advisor_client.connection import RetryPolicy, TlsConfig
from advisor_client.errors import AdvisorRpcError

import advisor
from advisor.errors import InvalidRequestError
from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.report import InferenceReport
from advisor.model.budget import Budget
from advisor.model.results import SearchProgress
from advisor.model.task import parse_task
from tests.support.scripted import ARCHITECTURE, BUDGET, TASK, ScriptedAdvisor

SAMPLE = np.random.default_rng(0).normal(size=(20, 8))
RAGGED = [[1.0, 2.0], [3.0]]


def _refused(call: Any) -> list[str]:
    """The fields of the InvalidRequestError ``call()`` raises."""
    with pytest.raises(InvalidRequestError) as caught:
        call()
    return [violation.field for violation in caught.value.violations]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"outputs": 2**40}, "outputs"),
        ({"outputs": 0}, "outputs"),
        ({"outputs": -3}, "outputs"),
        ({"outputs": 2.5}, "outputs"),
        ({"outputs": "2"}, "outputs"),
        ({"seed": 2**64}, "seed"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"top_k": 2.5}, "top_k"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": True}, "top_k"),
        ({"allow_constant": "no"}, "allow_constant"),
        ({"shape": "8x8"}, "shape"),
        ({"shape": 8}, "shape"),
        ({"shape": (8, 0)}, "shape[1]"),
        ({"shape": (2.5, 4)}, "shape[0]"),
    ],
)
@pytest.mark.parametrize("data", [SAMPLE, RAGGED], ids=["array", "ragged"])
def test_a_bad_infer_task_argument_is_named_whatever_the_data(
    fake: tuple[ScriptedAdvisor, str], arguments: dict[str, Any], field: str, data: Any
) -> None:
    servicer, target = fake
    with AdvisorClient(target) as client:
        assert _refused(lambda: client.infer_task(data, **arguments)) == [field]
    assert not servicer.calls


def test_bad_outputs_and_seed_are_named_together(fake: tuple[ScriptedAdvisor, str]) -> None:
    # The seed was named only once the outputs were mended (the service's InferTask too).
    servicer, target = fake
    with AdvisorClient(target) as client:
        assert _refused(lambda: client.infer_task(SAMPLE, outputs=0, seed=-1)) == [
            "outputs",
            "seed",
        ]
    assert _refused(lambda: advisor.infer_task(SAMPLE, outputs=0, seed=-1)) == ["outputs", "seed"]
    assert not servicer.calls


def test_a_whole_float_argument_is_read_as_the_count_it_is(
    fake: tuple[ScriptedAdvisor, str], tmp_path: Path
) -> None:
    # As a budget's counts are (Budget(top_k=3.0)); these were refused as "must be a whole
    # number ..., got 16.0", a whole number.
    servicer, target = fake
    designs = [ARCHITECTURE, {**ARCHITECTURE, "representation": 3}]
    result = tmp_path / "result.json"
    ranked = [{"rank": rank, "architecture": design} for rank, design in enumerate(designs, 1)]
    result.write_text(json.dumps({"recommendations": ranked}))
    with AdvisorClient(target, max_message_bytes=4e6) as client:  # type: ignore[arg-type]
        with pytest.raises(AdvisorRpcError):  # the fake infers nothing
            client.infer_task(SAMPLE, top_k=4.0, outputs=10.0, seed=3.0, shape=(8.0,))  # type: ignore[arg-type]
        client.analyze(TASK, result, rank=2.0)  # type: ignore[arg-type]
    inferred = servicer.requests["InferTask"]
    assert (inferred.graph.top_k, inferred.outputs, inferred.seed) == (4, 10, 3)
    assert list(inferred.graph.input.shape) == [8]
    assert servicer.requests["Analyze"].architecture.representation == 3
    with pytest.raises(InvalidRequestError) as caught:
        AdvisorClient(target, max_message_bytes=4_000_000.5)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "max_message_bytes: must be a whole number from 1 to 2,147,483,647; got 4000000.5"
    )


@pytest.mark.parametrize(
    ("kind", "arguments"),
    [
        ("graph", {"shape": (8,)}),
        ("graph", {"top_k": 16}),
        ("graph", {"allow_constant": False}),
        ("graph", {"shape": (2, 4), "top_k": 4, "allow_constant": True}),
        ("sample", {"shape": (8,)}),
    ],
)
def test_an_argument_the_data_already_fixes_is_refused_not_ignored(
    fake: tuple[ScriptedAdvisor, str], kind: str, arguments: dict[str, Any]
) -> None:
    # A graph fixes its grid, its pairs per location and its constant locations, a DataSample
    # its grid: the arguments were dropped, even at values the data contradicts.
    sample = data_from_array(SAMPLE)
    data = dependence_graph(sample) if kind == "graph" else sample
    servicer, target = fake
    with AdvisorClient(target) as client, pytest.raises(InvalidRequestError) as caught:
        client.infer_task(data, **arguments)
    assert [v.field for v in caught.value.violations] == list(arguments)
    assert all("already fixes it" in v.description for v in caught.value.violations)
    assert not servicer.calls


def test_ragged_data_is_named_data(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    with AdvisorClient(target) as client:
        assert _refused(lambda: client.infer_task(RAGGED)) == ["data"]
    assert not servicer.calls


@pytest.mark.parametrize(
    ("target", "settings", "field"),
    [
        (None, {}, "target"),
        ("", {}, "target"),
        (50051, {}, "target"),
        # URLs and stray whitespace failed each call as UNAVAILABLE, a transient failure that a
        # pipeline retries: gRPC read them as host names it could not resolve.
        ("http://localhost:50051", {}, "target"),
        ("https://advisor.example.com:443", {}, "target"),
        ("grpc://localhost:50051", {}, "target"),
        (" localhost:50051", {}, "target"),
        ("localhost:50051\n", {}, "target"),
        # An IPv6 address and its port without brackets: gRPC read it as a host name too.
        ("::1:50051", {}, "target"),
        ("dns:///2001:db8::1:50051", {}, "target"),
        # A port past 65535 called its digits modulo 65536, another port (70000: 4464); one of
        # letters, 0 or none after the colon failed UNAVAILABLE, as a server that is down.
        ("localhost:70000", {}, "target"),
        ("[::1]:115587", {}, "target"),
        ("ipv4:127.0.0.1:50051,127.0.0.1:99999", {}, "target"),
        ("localhost:http", {}, "target"),
        ("localhost:0", {}, "target"),
        ("localhost:", {}, "target"),
        # A byte the locale does not decode (a lone surrogate) has no UTF-8, which gRPC writes
        # a target in: a raw UnicodeEncodeError.
        ("unix:/tmp/\udcff.sock", {}, "target"),
        ("localhost:1", {"max_message_bytes": 2**40}, "max_message_bytes"),
        ("localhost:1", {"max_message_bytes": 2**31}, "max_message_bytes"),
        ("localhost:1", {"max_message_bytes": "4"}, "max_message_bytes"),
        ("localhost:1", {"max_message_bytes": 0}, "max_message_bytes"),
        ("localhost:1", {"retry": 3}, "retry"),
        ("localhost:1", {"tls": "ca.pem"}, "tls"),
        ("localhost:1", {"token": 5}, "token"),
    ],
)
def test_a_bad_client_setting_is_named(target: Any, settings: dict[str, Any], field: str) -> None:
    assert _refused(lambda: AdvisorClient(target, **settings)) == [field]


def test_an_ipv6_address_without_brackets_is_told_its_brackets() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        AdvisorClient("dns:///::1:50051")
    assert str(caught.value) == (
        "target: an IPv6 address with a port goes in brackets: pass 'dns:///[::1]:50051'"
    )
    for target in ("[::1]:50051", "ipv6:[::1]:50051", "unix:/run/a:1"):
        AdvisorClient(target).close()
    # Over TLS an address without a port is left to gRPC's default, 443, as gRPC reads it:
    # ::1:8080 is one too, and no other reading of it is certain.
    for target in ("::1", "::1:8080"):
        AdvisorClient(target, tls=TlsConfig()).close()


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("unix:", "unix: names no socket: give its path or name, e.g. unix:/run/advisor.sock"),
        ("unix://", "unix:// names no socket: give its path or name, e.g. unix:/run/advisor.sock"),
        (
            "unix-abstract:",
            "unix-abstract: names no socket: give its path or name, e.g. unix-abstract:advisor",
        ),
        (
            "unix://adv.sock",
            "'unix://adv.sock' is no socket path (gRPC reads 'adv.sock' as a host): pass "
            "'unix:adv.sock' for a path relative to the working directory, or "
            "unix:///absolute/path",
        ),
        (  # the authority alone is read as a host, not the path after it
            "unix://run/adv.sock",
            "'unix://run/adv.sock' is no socket path (gRPC reads 'run' as a host): pass "
            "'unix:run/adv.sock' for a path relative to the working directory, or "
            "unix:///absolute/path",
        ),
    ],
)
def test_a_socket_target_that_names_no_socket_is_told_how_to_name_one(
    target: str, problem: str
) -> None:
    # gRPC failed the first three as UNAVAILABLE "empty address list", retried for 1.5 s, and
    # the typo of unix:adv.sock as a bare UNKNOWN "the target uri is not valid".
    with pytest.raises(InvalidRequestError) as caught:
        AdvisorClient(target)
    assert str(caught.value) == f"target: {problem}"
    for taken in ("unix:adv.sock", "unix:/run/adv.sock", "unix:///run/adv.sock", "unix-abstract:a"):
        AdvisorClient(taken).close()


def test_a_port_that_is_no_port_number_is_told_so() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        AdvisorClient("localhost:70000")
    assert str(caught.value) == "target: port '70000' is not a port number, 1 to 65535"
    with pytest.raises(InvalidRequestError) as caught:
        AdvisorClient("localhost:")
    assert str(caught.value) == "target: ends in ':' without a port: pass host:port"
    # Targets whose last colon is no port's: sockets, other resolvers, a DNS server's address.
    for target in (
        "unix-abstract:advisor:1",
        "unix:advisor.sock",
        "vsock:2:50051",
        "xds:///advisor",
        "dns://8.8.8.8/advisor.example.com:50051",
    ):
        AdvisorClient(target).close()


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        (
            "localhost",
            "names no port, so gRPC would call port 443, TLS's, in plaintext: pass the server's "
            "port, e.g. 'localhost:50051' (or connect with TLS)",
        ),
        (
            "ipv6:[::1]:50051,::2",
            "names no port, so gRPC would call port 443, TLS's, in plaintext: pass the server's "
            "port, e.g. 'ipv6:[::1]:50051,[::2]:50051' (or connect with TLS)",
        ),
        (
            "localhost:50051/",
            "has a path after its address ('/'), which no gRPC target has: pass 'localhost:50051'",
        ),
        (
            "dns:///advisor:50051/v1",
            "has a path after its address ('/v1'), which no gRPC target has: pass "
            "'dns:///advisor:50051'",
        ),
    ],
)
def test_a_target_grpc_would_not_call_as_meant_is_told_its_port(target: str, problem: str) -> None:
    # gRPC called a plaintext target without a port on 443, the TLS port, and failed
    # localhost:50051/ late ("Failed to parse port"), as UNAVAILABLE, after its retries.
    with pytest.raises(InvalidRequestError) as caught:
        AdvisorClient(target)
    assert str(caught.value) == f"target: {problem}"
    if "no port" in problem:  # over TLS, port 443 is meant
        AdvisorClient(target, tls=TlsConfig()).close()


# Each about 500 bytes on the wire, where the rest of its request is under 100.
LARGE_TASK = {
    "input": {"shape": [256]},
    "correlations": [{"name": "left", "a": {"indices": list(range(128))}}],
}
LARGE_ARCHITECTURE = {
    "input": {"shape": [256]},
    "representation": 2,
    "layers": [{"channels": 2, "pool": [16]}, {"channels": 2, "pool": [16]}],
    "geometry": {"permutation": list(range(256))[::-1]},
}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda client: client.recommend(LARGE_TASK, BUDGET), "task"),
        # Refused when the stream is asked for, as its docstring says, not at the first next().
        (lambda client: client.stream_recommend(LARGE_TASK, BUDGET), "task"),
        (
            lambda client: client.analyze(TASK, LARGE_ARCHITECTURE),
            "architecture",
        ),
        (lambda client: client.infer_task(np.random.default_rng(0).normal(size=(20, 64))), "data"),
    ],
    ids=["Recommend", "StreamRecommend", "Analyze", "InferTask"],
)
def test_a_request_over_the_clients_message_limit_is_refused_before_any_call(
    fake: tuple[ScriptedAdvisor, str], call: Callable[[AdvisorClient], object], field: str
) -> None:
    # gRPC refused it as RESOURCE_EXHAUSTED, the saturated server's code, whose advice (retry
    # later) a pipeline followed forever: no attempt can send it.
    servicer, target = fake
    with AdvisorClient(target, max_message_bytes=160) as client:
        assert _refused(lambda: call(client)) == [field]
    assert not servicer.calls


@pytest.mark.parametrize("target", ["localhost:50051", "dns:///advisor:50051", "unix:/tmp/a.sock"])
def test_a_grpc_target_is_taken(target: str) -> None:
    AdvisorClient(target).close()


def test_the_largest_message_limit_grpc_holds_is_accepted() -> None:
    AdvisorClient("localhost:1", max_message_bytes=2**31 - 1, retry=RetryPolicy()).close()


def test_a_numpy_boolean_is_no_number_in_a_task_or_a_budget(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # pydantic read np.True_ as 1 (a budget's integers) or 1.0 (a weight), where True is refused.
    servicer, target = fake
    weighted = {**TASK, "correlations": [{**TASK["correlations"][0], "weight": np.True_}]}
    with AdvisorClient(target) as client:
        assert _refused(lambda: client.recommend(TASK, {"max_parameters": np.True_})) == [
            "budget.max_parameters"
        ]
        assert _refused(lambda: client.analyze(weighted, ARCHITECTURE)) == [
            "task.correlations[0].weight"
        ]
    assert not servicer.calls


def test_a_count_given_as_text_is_refused_alike_by_the_library_and_the_client(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # "200k" is the command line's form of a count; a budget built in Python was told only
    # "Input should be a valid integer".
    servicer, target = fake
    budget = {**BUDGET, "max_parameters": "200k"}
    with pytest.raises(InvalidRequestError) as in_process:
        advisor.recommend(parse_task(TASK), advisor.Budget(**budget))
    with AdvisorClient(target) as client, pytest.raises(InvalidRequestError) as by_client:
        client.recommend(TASK, budget)
    expected = (
        "budget.max_parameters: Input should be a valid integer, not a text: write 200000 "
        "('200k' is the command line's form)"
    )
    assert str(in_process.value) == str(by_client.value) == expected
    assert not servicer.calls


def test_exact_is_the_third_argument_as_in_the_library(fake: tuple[ScriptedAdvisor, str]) -> None:
    # advisor.analyze(task, architecture, True) asks for exact figures; the client's analyze
    # took exact by keyword only, and the same call raised TypeError.
    servicer, target = fake
    with AdvisorClient(target) as client:
        client.analyze(TASK, ARCHITECTURE, True)
    assert servicer.requests["Analyze"].exact is True


def test_exact_must_be_a_bool_and_progress_callable(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    # Typed Any: no type-checked caller passes them, and the client's own checks are the test.
    yes: Any = "yes"
    one: Any = 1
    five: Any = 5
    with AdvisorClient(target) as client:
        assert _refused(lambda: client.analyze(TASK, ARCHITECTURE, exact=yes)) == ["exact"]
        assert _refused(lambda: client.analyze(TASK, ARCHITECTURE, exact=one)) == ["exact"]
        assert _refused(lambda: client.recommend(TASK, BUDGET, progress=five)) == ["progress"]
    assert not servicer.calls


def test_a_masked_array_is_refused_on_data_not_read_without_its_mask(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # np.asarray drops the mask: the masked-out values were read as data.
    mask = np.zeros(SAMPLE.shape, dtype=bool)
    mask[3, 5] = mask[7, 0] = True
    masked = np.ma.masked_array(SAMPLE, mask=mask)
    servicer, target = fake
    with AdvisorClient(target) as client, pytest.raises(InvalidRequestError) as caught:
        client.infer_task(masked)
    (violation,) = caught.value.violations
    assert violation.field == "data"
    assert violation.description.startswith(
        "a masked array with 2 masked value(s), the first in sample 3: the mask is not read"
    )
    assert not servicer.calls


def test_a_flag_is_a_boolean_python_s_or_numpy_s(fake: tuple[ScriptedAdvisor, str]) -> None:
    # A budget's search_dilations read "no" as False; exact refused np.True_, which
    # search_dilations takes: every flag now reads booleans alike, and only them.
    servicer, target = fake
    with AdvisorClient(target) as client:
        for flag in ("no", "off", 0, 1.0):
            budget = {**BUDGET, "search_dilations": flag}
            assert _refused(lambda b=budget: client.recommend(TASK, b)) == [
                "budget.search_dilations"
            ]
        numpy_true: Any = np.True_  # no bool to the type checker, though the client takes it
        client.analyze(TASK, ARCHITECTURE, exact=numpy_true)
    assert servicer.calls == {"Analyze": 1}


class _AsyncProgress:
    """A progress bar whose update is ``async def``: calling it only makes a coroutine."""

    async def __call__(self, event: SearchProgress) -> None:
        pass


async def _async_progress(event: SearchProgress) -> None:
    pass


@pytest.mark.parametrize(
    "progress", [_async_progress, _AsyncProgress()], ids=["function", "object"]
)
def test_an_async_progress_callback_is_refused_not_left_unawaited(
    fake: tuple[ScriptedAdvisor, str], progress: Callable[[SearchProgress], object]
) -> None:
    # An asyncio pipeline passed its coroutine function: the call ran, no event reached it, and
    # the only sign was "coroutine ... was never awaited", pointing inside the client.
    servicer, target = fake
    with AdvisorClient(target) as client, pytest.raises(InvalidRequestError) as caught:
        client.recommend(TASK, BUDGET, progress=progress)
    (violation,) = caught.value.violations
    assert violation.field == "progress"
    assert violation.description.startswith("is a coroutine function (async def)")
    with pytest.raises(InvalidRequestError, match=r"^progress: is a coroutine function"):
        advisor.recommend(parse_task(TASK), Budget.model_validate(BUDGET), progress=progress)
    assert not servicer.calls


@pytest.mark.parametrize("recommend", [AdvisorClient.recommend, advisor.recommend])
def test_a_progress_callback_may_return_anything(recommend: Callable[..., object]) -> None:
    # What the callback returns is ignored; typed as returning None, a progress bar's update
    # (returning a bool) was an error in the caller's type check, in-process and remote alike.
    progress = typing.get_type_hints(recommend)["progress"]
    assert progress == Callable[[SearchProgress], object] | None


def test_a_subclass_entered_as_a_context_manager_keeps_its_type() -> None:
    # Typed as returning AdvisorClient, `with MyClient(...) as client` lost the subclass's
    # methods in the caller's type check.
    assert typing.get_type_hints(AdvisorClient.__enter__)["return"] is typing.Self


def test_a_result_that_holds_the_argument_is_told_to_pass_it(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # analyze(task, result.recommendations[0]) and recommend(client.infer_task(...), budget)
    # were "expected Architecture ...; got Recommendation", naming no way on.
    task = parse_task(TASK)
    result = advisor.recommend(task, Budget.model_validate(BUDGET))
    recommendation = result.recommendations[0]
    report = InferenceReport(task, (), (), (), "spectral", (), 0.0, 0)
    servicer, target = fake
    with AdvisorClient(target) as client:
        with pytest.raises(
            InvalidRequestError, match=r"got Recommendation: pass its \.architecture$"
        ):
            client.analyze(task, recommendation)  # type: ignore[arg-type]
        # A whole result named no way on either, as the library's analyze did.
        with pytest.raises(
            InvalidRequestError,
            match=r"got SearchResult: pass a recommendation's \.architecture "
            r"\(result\.recommendations\[0\]\.architecture\)$",
        ):
            client.analyze(task, result)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match=r"got InferenceReport: pass its \.task$"):
            client.recommend(report, BUDGET)  # type: ignore[arg-type]
    assert not servicer.calls


def test_an_unvalidated_copy_past_its_wire_field_is_named_by_its_path(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # The library refuses an architecture's width past int32 itself; one built with
    # model_construct is not validated, and the client names it before sending.
    _, target = fake
    mirror = advisor.load_architecture("examples/architectures/mirror.yaml")
    given = {name: getattr(mirror, name) for name in mirror.model_fields_set}
    wide = advisor.Architecture.model_construct(**{**given, "representation": 2**31})
    with AdvisorClient(target) as client, pytest.raises(InvalidRequestError) as caught:
        client.analyze("examples/tasks/symmetry.yaml", wide)
    assert [(v.field, v.description) for v in caught.value.violations] == [
        (
            "architecture.representation",
            "2,147,483,648 is more than the request can carry (2,147,483,647)",
        )
    ]
