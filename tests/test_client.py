"""The client library: library models back, typed errors, retries only where safe, deadlines.

Most tests run against a scripted fake of the service (a real gRPC server on 127.0.0.1, port 0)
that fails on demand and records what each call carried; the last group runs against the real
server to check the conversions and the error paths end to end.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import math
import os
import pickle
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from advisor_client.client import AdvisorClient
from advisor_client.connection import RetryPolicy, TlsConfig
from advisor_client.conversions import task_model
from advisor_client.errors import (
    CERTIFICATE_REFUSED_HINT,
    CLIENT_CERTIFICATE_HINT,
    PLAINTEXT_HINT,
    PLAINTEXT_REFUSED,
    SEVERAL_ADDRESSES_HINT,
    AdvisorRpcError,
    ClientClosedError,
    DeadlineExceededError,
    InvalidArgumentError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)
from advisor_client.targets import is_loopback, may_be_several

import advisor
from advisor.cli.format import render_search_result
from advisor.errors import InvalidRequestError
from advisor.model import pem as pem_module
from advisor.model.architecture import parse_architecture
from advisor.model.pem import MAX_PEM_BYTES
from advisor.model.results import Analysis, SearchProgress, SearchResult
from advisor.model.task import PresetInfo, Presets
from advisor.protocol import wire
from advisor.service.server import ServerConfig, start_server
from tests.support.certificates import make_certificates, make_server_certificate
from tests.support.relay import relayed
from tests.support.scripted import (
    ARCHITECTURE,
    BUDGET,
    HOLD_SECONDS,
    TASK,
    ScriptedAdvisor,
    closed_target,
    scripted_server,
)
from tests.support.waiting import wait_until
from tests.support.workloads import LONG_TASK, long_budget

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01, max_backoff_seconds=0.02)


CALLS = {
    "Recommend": lambda client: client.recommend(TASK, BUDGET),
    "Analyze": lambda client: client.analyze(TASK, ARCHITECTURE),
    "ListPresets": lambda client: client.list_presets(),
}


def _client(target: str, **settings: Any) -> AdvisorClient:
    return AdvisorClient(target, retry=settings.pop("retry", FAST_RETRY), **settings)


# --- conversions -------------------------------------------------------------------------------


def test_calls_return_the_library_models(fake: tuple[ScriptedAdvisor, str]) -> None:
    _, target = fake
    with _client(target) as client:
        presets = client.list_presets()
        analysis = client.analyze(TASK, ARCHITECTURE)
        result = client.recommend(TASK, BUDGET)
    assert presets == [PresetInfo(name="left_half", kind="region", description="the left half")]
    assert isinstance(presets, Presets) and presets.as_table().startswith("name ")
    assert isinstance(analysis, Analysis)
    assert analysis.parameters == 52
    assert [(c.name, c.certificate) for c in analysis.correlations] == [("ends", "tight")]
    assert isinstance(result, SearchResult)
    assert (result.candidates_evaluated, result.complete) == (7, True)


def test_a_server_that_sends_no_versions_leaves_them_unknown(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # The scripted server has none of the advisor's trailers, as a server that predates them.
    _, target = fake
    with _client(target) as client:
        client.list_presets()
        assert client.server_version is None


def test_stream_yields_progress_then_the_result(fake: tuple[ScriptedAdvisor, str]) -> None:
    _, target = fake
    with _client(target) as client:
        events = list(client.stream_recommend(TASK, BUDGET))
    assert [type(event) for event in events] == [SearchProgress, SearchResult]
    assert events[0] == SearchProgress(
        candidates_evaluated=3, elapsed_seconds=0.2, best_score=1.5, fraction_done=0.4
    )


def test_recommend_with_a_progress_callback_streams(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    seen: list[SearchProgress] = []
    with _client(target) as client:
        result = client.recommend(TASK, BUDGET, progress=seen.append)
    assert result.candidates_evaluated == 7
    assert [event.candidates_evaluated for event in seen] == [3]
    assert servicer.calls == Counter({"StreamRecommend": 1})


def test_a_progress_callback_slower_than_the_events_still_gets_the_result(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # A notebook that redrew a plot on each event read the stream no faster than it drew: the
    # events queued up, the result behind them came after the call's deadline, and the call
    # failed DEADLINE_EXCEEDED though the server had answered. Four events of a second each
    # here, against a deadline of two seconds.
    servicer, target = fake
    servicer.progress_events = 4
    seen: list[SearchProgress] = []

    def redraw(event: SearchProgress) -> None:
        seen.append(event)
        time.sleep(1.0)

    with _client(target) as client:
        result = client.recommend(TASK, BUDGET, progress=redraw, timeout=2.0)
    assert result.candidates_evaluated == 7
    assert seen[-1].candidates_evaluated == 6  # the newest event, before the result


def test_a_stream_read_slower_than_its_events_still_ends_with_the_result(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # As with a slow progress callback: a loop that redrew a plot per event read the stream at
    # its own pace, and the result queued behind the events came after the deadline.
    servicer, target = fake
    servicer.progress_events = 4
    events: list[SearchProgress | SearchResult] = []
    with _client(target) as client:
        for event in client.stream_recommend(TASK, BUDGET, timeout=2.0):
            events.append(event)
            time.sleep(1.0)
    assert [type(event) for event in events] == [SearchProgress] * 4 + [SearchResult]


def test_a_progress_callback_that_raises_ends_the_stream(fake: tuple[ScriptedAdvisor, str]) -> None:
    # The exception's traceback holds the stream's frame: the call stayed open, and a search
    # ran on, for as long as the application kept the exception (a log record, a retry loop).
    servicer, target = fake
    servicer.hold_stream_after_first_event = True

    def stop_tuning(event: SearchProgress) -> None:
        raise KeyboardInterrupt

    with _client(target) as client:
        with pytest.raises(KeyboardInterrupt) as caught:
            client.recommend(TASK, BUDGET, progress=stop_tuning)
        assert caught.value.__traceback__ is not None
        assert servicer.stream_ended.wait(5.0)


def test_a_duplicate_name_refused_by_the_client_cites_the_first_use_under_task() -> None:
    twice = {"name": "x", "a": {"indices": [1]}}
    with pytest.raises(InvalidRequestError) as caught:
        task_model({**TASK, "correlations": [twice, {**twice, "a": {"indices": [2]}}]})
    assert [(v.field, v.description) for v in caught.value.violations] == [
        ("task.correlations[1].name", "duplicate name 'x' (also task.correlations[0].name)")
    ]


def test_bad_input_is_rejected_before_any_call(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    bad_task = {**TASK, "correlations": [{"name": "x", "a": {"indices": [300]}}]}
    with _client(target) as client:
        with pytest.raises(InvalidRequestError) as task_error:
            client.analyze(bad_task, ARCHITECTURE)
        with pytest.raises(InvalidRequestError) as budget_error:
            client.recommend(TASK, {"max_parameters": -1})
        with pytest.raises(InvalidRequestError) as arch_error:
            client.analyze(TASK, {**ARCHITECTURE, "representation": 0})
        with pytest.raises(InvalidRequestError) as unbounded_error:
            client.recommend(TASK, {"max_parameters": 400, "time_limit_seconds": None})
    assert task_error.value.violations[0].field == "task.correlations[0].a.indices"
    assert budget_error.value.violations[0].field == "budget.max_parameters"
    assert arch_error.value.violations[0].field.startswith("architecture.representation")
    assert unbounded_error.value.violations[0].field == "budget.time_limit_seconds"
    assert servicer.calls == Counter()


def test_task_and_architecture_files_are_loaded(
    fake: tuple[ScriptedAdvisor, str], tmp_path: Path
) -> None:
    servicer, target = fake
    task_file, arch_file = tmp_path / "task.json", tmp_path / "arch.json"
    task_file.write_text(json.dumps(TASK))
    arch_file.write_text(json.dumps(ARCHITECTURE))
    with _client(target) as client:
        client.analyze(task_file, str(arch_file))
    assert servicer.calls["Analyze"] == 1


# --- typed errors ------------------------------------------------------------------------------


def test_invalid_argument_carries_the_field_violations(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    servicer.failures["Analyze"] = [
        InvalidRequestError.single(
            "task.correlations[0].a.indices", "index 300 out of range [0, 256)"
        )
    ]
    with _client(target) as client, pytest.raises(InvalidArgumentError) as caught:
        client.analyze(TASK, ARCHITECTURE)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [(v.field, v.description) for v in caught.value.violations] == [
        ("task.correlations[0].a.indices", "index 300 out of range [0, 256)")
    ]
    assert str(caught.value) == "task.correlations[0].a.indices: index 300 out of range [0, 256)"


@pytest.mark.parametrize(
    "call",
    [*CALLS.values(), lambda client: list(client.stream_recommend(TASK, BUDGET))],
    ids=[*CALLS, "StreamRecommend"],
)
def test_the_grpc_error_a_failure_was_decoded_from_is_its_cause(
    fake: tuple[ScriptedAdvisor, str], call: Callable[[AdvisorClient], object]
) -> None:
    # What the typed error leaves out (trailing metadata, the whole status, gRPC's debug
    # string) stays reachable, as google-cloud clients keep it.
    servicer, target = fake
    for method in [*CALLS, "StreamRecommend"]:
        servicer.failures[method] = [InvalidRequestError.single("budget.top_k", "too many")]
    with _client(target) as client, pytest.raises(InvalidArgumentError) as caught:
        call(client)
    cause = caught.value.__cause__
    assert isinstance(cause, grpc.RpcError) and isinstance(cause, grpc.Call)
    assert cause.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert any(key == "grpc-status-details-bin" for key, _ in cause.trailing_metadata())


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgumentError),
        (grpc.StatusCode.UNAUTHENTICATED, UnauthenticatedError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ResourceExhaustedError),
        (grpc.StatusCode.DEADLINE_EXCEEDED, DeadlineExceededError),
        (grpc.StatusCode.UNAVAILABLE, UnavailableError),
        (grpc.StatusCode.INTERNAL, AdvisorRpcError),
        # The server's own CANCELLED, the client open: not ClientClosedError.
        (grpc.StatusCode.CANCELLED, AdvisorRpcError),
    ],
)
def test_each_status_raises_its_type(
    fake: tuple[ScriptedAdvisor, str], code: grpc.StatusCode, error_type: type[AdvisorRpcError]
) -> None:
    servicer, target = fake
    servicer.failures["ListPresets"] = [code]
    with (
        _client(target, retry=RetryPolicy(max_attempts=1)) as client,
        pytest.raises(AdvisorRpcError) as caught,
    ):
        client.list_presets()
    assert type(caught.value) is error_type
    assert (caught.value.code, caught.value.details) == (code, f"scripted {code.name}")


# --- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(CALLS))
def test_idempotent_calls_retry_unavailable(fake: tuple[ScriptedAdvisor, str], method: str) -> None:
    servicer, target = fake
    servicer.failures[method] = [grpc.StatusCode.UNAVAILABLE] * 2
    with _client(target) as client:
        CALLS[method](client)
    assert servicer.calls[method] == 3


# Four correlations of 2^15 three-byte indices: about 400 KB, past gRPC's 256 KiB default
# per-call retry buffer, under the service's 4 MiB message limit.
_QUARTER = 2**15
LARGE_TASK = {
    "input": {"shape": [4 * _QUARTER]},
    "correlations": [
        {"name": f"q{q}", "a": {"indices": list(range(q * _QUARTER, (q + 1) * _QUARTER))}}
        for q in range(4)
    ],
}


def test_requests_beyond_grpcs_default_retry_buffer_are_retried_too(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    servicer, target = fake
    servicer.failures["Recommend"] = [grpc.StatusCode.UNAVAILABLE]
    with _client(target) as client:
        client.recommend(LARGE_TASK, BUDGET)
    assert servicer.calls["Recommend"] == 2


def test_large_requests_in_flight_at_once_on_one_client_are_each_retried(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    servicer, target = fake
    servicer.failures["Recommend"] = [grpc.StatusCode.UNAVAILABLE] * 4
    retry = RetryPolicy(max_attempts=5, initial_backoff_seconds=0.01, max_backoff_seconds=0.02)
    with _client(target, retry=retry) as client, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: client.recommend(LARGE_TASK, BUDGET), range(4)))
    assert len(results) == 4
    assert servicer.calls["Recommend"] == 8


@pytest.mark.parametrize("tls", [None, TlsConfig(server_name="advisor.example.internal")])
def test_every_channel_option_is_one_grpc_reads(
    monkeypatch: pytest.MonkeyPatch, tls: TlsConfig | None
) -> None:
    # gRPC ignores a channel option it does not know without a word, so a misspelt or invented
    # name (such as a channel-wide ``grpc.retry_buffer_size``, which gRPC's core does not have)
    # would look like a setting and do nothing. Every name gRPC reads is a string in its core.
    built: list[tuple[str, str | int]] = []

    def spy(build: Callable[..., grpc.Channel]) -> Callable[..., grpc.Channel]:
        def channel(*args: Any, options: list[tuple[str, str | int]], **kwargs: Any) -> Any:
            built.extend(options)
            return build(*args, options=options, **kwargs)

        return channel

    monkeypatch.setattr(grpc, "insecure_channel", spy(grpc.insecure_channel))
    monkeypatch.setattr(grpc, "secure_channel", spy(grpc.secure_channel))
    with AdvisorClient("localhost:1", tls=tls, max_message_bytes=5_000_000):
        pass
    core_file = importlib.import_module("grpc._cython.cygrpc").__file__
    assert core_file is not None
    core = Path(core_file).read_bytes()
    assert built
    assert [name for name, _ in built if name.encode() + b"\0" not in core] == []
    assert ("grpc.per_rpc_retry_buffer_size", 5_000_000) in built


def test_retries_stop_at_max_attempts(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    servicer.failures["Analyze"] = [grpc.StatusCode.UNAVAILABLE] * 5
    with _client(target) as client, pytest.raises(UnavailableError):
        client.analyze(TASK, ARCHITECTURE)
    assert servicer.calls["Analyze"] == FAST_RETRY.max_attempts


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN],
)
def test_other_failures_are_not_retried(
    fake: tuple[ScriptedAdvisor, str], code: grpc.StatusCode
) -> None:
    servicer, target = fake
    servicer.failures["Recommend"] = [code, code]
    with _client(target) as client, pytest.raises(AdvisorRpcError):
        client.recommend(TASK, BUDGET)
    assert servicer.calls["Recommend"] == 1


def test_a_started_stream_is_never_retried(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    servicer.fail_stream_after_first_event = True
    received: list[SearchProgress | SearchResult] = []
    with _client(target) as client, pytest.raises(UnavailableError):
        received.extend(client.stream_recommend(TASK, BUDGET))
    assert [type(event) for event in received] == [SearchProgress]
    assert servicer.calls["StreamRecommend"] == 1


CLOSED_CALLS = {
    **CALLS,
    # The stream as its docstring says: refused when it is asked for, before any next().
    "StreamRecommend": lambda client: client.stream_recommend(TASK, BUDGET),
    "FinishSearch": lambda client: client.finish_search("search-1"),
    "InferTask": lambda client: client.infer_task(np.random.default_rng(0).random((16, 8))),
    # Its stub was built on the closed channel, which crashed the interpreter (a segfault).
    "Check": lambda client: client.check_health(),
    # `with client:` on a closed one passed silently, where a closed file's raises ValueError.
    "with": lambda client: client.__enter__(),
}
"""Every public call of a client, each as a call on a closed one must refuse it."""


@pytest.mark.parametrize("call", CLOSED_CALLS.values(), ids=CLOSED_CALLS)
def test_a_closed_client_raises_a_typed_error_and_calls_nothing(
    fake: tuple[ScriptedAdvisor, str], call: Any
) -> None:
    servicer, target = fake
    with _client(target) as client:
        client.list_presets()
    with pytest.raises(ClientClosedError) as caught:
        call(client)
    assert isinstance(caught.value, AdvisorRpcError)
    assert caught.value.code == grpc.StatusCode.CANCELLED
    assert "closed" in str(caught.value)
    assert sum(servicer.calls.values()) == 1


def test_a_closed_client_refuses_an_inference_before_computing_its_graph(
    fake: tuple[ScriptedAdvisor, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The graph of a large sample takes seconds (1.6 s on 300 x 64 x 64), all spent before the
    # closed client said so.
    import advisor.infer.dependence

    computed: list[object] = []
    monkeypatch.setattr(advisor.infer.dependence, "dependence_graph", computed.append)
    _, target = fake
    client = _client(target)
    client.close()
    with pytest.raises(ClientClosedError):
        client.infer_task(np.random.default_rng(0).random((16, 8)))
    assert computed == []


def test_a_call_in_flight_when_the_client_closes_raises_client_closed(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # The fake holds the call until released, so the close finds it in flight however loaded
    # the machine; gRPC alone would raise a bare CANCELLED ("Channel closed!").
    servicer, target = fake
    servicer.release = threading.Event()
    client = _client(target)
    raised = _raised_in_thread(client.list_presets)
    deadline = time.monotonic() + HOLD_SECONDS
    while not servicer.calls["ListPresets"] and time.monotonic() < deadline:
        time.sleep(0.01)
    client.close()
    assert [type(error) for error in raised()] == [ClientClosedError]


@pytest.mark.parametrize(
    "call",
    [
        *CALLS.values(),
        lambda client: list(client.stream_recommend(TASK, BUDGET)),
        lambda client: client.check_health(),
    ],
    ids=[*CALLS, "StreamRecommend", "Check"],
)
def test_a_close_from_another_thread_just_after_the_open_check_raises_client_closed(
    fake: tuple[ScriptedAdvisor, str],
    call: Callable[[AdvisorClient], object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The close lands between the client's own check and gRPC's invocation, where gRPC raised a
    # bare ValueError ("Cannot invoke RPC on closed channel!"); injected here, not raced.
    servicer, target = fake
    client = _client(target)
    monkeypatch.setattr(client, "_check_size", lambda request: client.close())
    with pytest.raises(ClientClosedError):
        call(client)
    assert sum(servicer.calls.values()) == 0


def test_a_clients_repr_names_its_target_and_state_never_its_token(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # A notebook shows a cell's last value by its repr: "<advisor_client.client.AdvisorClient
    # object at 0x7f...>" said neither which server nor whether the client could still call.
    _, target = fake
    client = _client(target, token="s3cret-token")
    assert repr(client) == f"<AdvisorClient {target!r} plaintext, open>"
    client.close()
    assert repr(client) == f"<AdvisorClient {target!r} plaintext, closed>"
    assert "s3cret" not in repr(client)
    with AdvisorClient("localhost:1", tls=TlsConfig()) as secure:
        assert repr(secure) == "<AdvisorClient 'localhost:1' TLS, open>"


def test_pickling_a_client_says_what_to_send_instead(fake: tuple[ScriptedAdvisor, str]) -> None:
    # A process pool or a Ray task capturing a client failed on gRPC's "no default __reduce__
    # due to non-trivial __cinit__", which names neither the client nor a way on.
    _, target = fake
    with (
        _client(target) as client,
        pytest.raises(TypeError, match="AdvisorClient cannot be pickled"),
    ):
        pickle.dumps(client)


@pytest.mark.parametrize("duplicate", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copying_a_client_says_it_cannot_be_copied(
    fake: tuple[ScriptedAdvisor, str], duplicate: Callable[[AdvisorClient], object]
) -> None:
    # It said "an AdvisorClient cannot be pickled", of a copy.
    _, target = fake
    with (
        _client(target) as client,
        pytest.raises(TypeError, match=r"^an AdvisorClient cannot be copied: "),
    ):
        duplicate(client)


def _raised_in_thread(call: Callable[[], object]) -> Callable[[], list[BaseException]]:
    """Start ``call`` in a thread; return a function joining it that lists what it raised."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # the test asserts on whatever it was
            raised.append(error)

    thread = threading.Thread(target=run)
    thread.start()

    def joined() -> list[BaseException]:
        thread.join(HOLD_SECONDS)
        assert not thread.is_alive()
        return raised

    return joined


def test_unreachable_server_is_unavailable() -> None:
    with _client(closed_target()) as client, pytest.raises(UnavailableError):
        client.list_presets()


def test_a_server_that_comes_back_is_reached_within_the_retry_backoff() -> None:
    # gRPC waits at least 0.8 s (1 s less its jitter) before reconnecting after a failed attempt,
    # up to 120 s after repeated ones, failing every call at once meanwhile: a server back after
    # 30 s down was still refused for 15 s, each call's retries spent inside that wait.
    target = closed_target()
    with _client(target) as client:  # reconnects at most FAST_RETRY's 0.02 s apart
        with pytest.raises(UnavailableError):
            client.list_presets()
        port = int(target.rpartition(":")[2])
        with scripted_server(ScriptedAdvisor(), port) as served:
            assert served == target
            assert client.check_health(wait_for_ready=True, timeout=0.5) is True


def test_a_policy_that_waits_for_ready_rides_out_a_server_down_longer_than_its_retries() -> None:
    # The default retries span about 1.5 s: a call made while a server restarted for longer
    # failed UNAVAILABLE. With wait_for_ready it waits for the server within its deadline.
    target = closed_target()
    waiting = RetryPolicy(max_attempts=2, initial_backoff_seconds=0.01, wait_for_ready=True)
    with _client(target, retry=waiting) as client:
        with pytest.raises(DeadlineExceededError):  # no server: the deadline ends the wait
            client.list_presets(timeout=0.5)
        joined = _raised_in_thread(lambda: client.list_presets(timeout=HOLD_SECONDS))
        time.sleep(0.5)  # the call waits meanwhile; the default's two attempts would have failed
        with scripted_server(ScriptedAdvisor(), int(target.rpartition(":")[2])):
            assert joined() == []
    with pytest.raises(InvalidRequestError, match=r"^retry\.wait_for_ready: "):
        RetryPolicy(wait_for_ready="no")  # type: ignore[arg-type]
    assert RetryPolicy(wait_for_ready=np.True_).wait_for_ready is True  # type: ignore[arg-type]


@pytest.mark.parametrize("variable", ["http_proxy", "https_proxy", "grpc_proxy"])
def test_a_server_on_this_machine_is_reached_past_a_proxy_the_environment_sets(
    fake: tuple[ScriptedAdvisor, str], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # gRPC sent the loopback connection to the proxy too: with http_proxy set, as on many
    # company machines and CI runners, the command's own server could not be called (exit 5).
    _, target = fake
    monkeypatch.setenv(variable, f"http://{closed_target()}")
    with _client(target, retry=RetryPolicy(max_attempts=1)) as client:
        assert client.list_presets()


@pytest.mark.parametrize(
    "form",
    [
        "dns:127.0.0.1:{port}",
        "ipv4:127.0.0.1:{port}",
        "dns:///127.0.0.1:{port}",
        "ipv4:///127.0.0.1:{port}",
    ],
)
def test_a_server_on_this_machine_is_reached_past_a_proxy_in_every_target_form(
    fake: tuple[ScriptedAdvisor, str], monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    # The client's docstring takes any gRPC target string; ipv4:127.0.0.1:PORT and
    # dns:127.0.0.1:PORT were sent to the proxy, and failed UNAVAILABLE, where 127.0.0.1:PORT
    # was not; then ipv4:///127.0.0.1:PORT, its form with an empty authority.
    _, target = fake
    port = target.rpartition(":")[2]
    monkeypatch.setenv("http_proxy", f"http://{closed_target()}")
    with _client(form.format(port=port), retry=RetryPolicy(max_attempts=1)) as client:
        assert client.list_presets()


def test_a_loopback_address_is_read_after_every_address_scheme() -> None:
    # The IPv6 forms, which the fake on 127.0.0.1 cannot serve; a DNS server's keeps the proxy.
    assert is_loopback("ipv6:[::1]:50051") and is_loopback("ipv6:///[::1]:50051")
    assert is_loopback("ipv4:///127.0.0.1:50051,127.0.0.2:50051")
    assert not is_loopback("ipv4:///127.0.0.1:50051,10.0.0.1:50051")
    assert not is_loopback("dns://8.8.8.8/localhost:50051")
    # An IPv4-mapped loopback, which the server counts as loopback (one rule for both).
    assert is_loopback("[::ffff:127.0.0.1]:50051") and is_loopback("ipv6:[::ffff:127.0.0.1]:50051")
    assert not is_loopback("[::ffff:10.0.0.1]:50051")


def test_retry_policy_rejects_what_grpc_would_not_apply() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        RetryPolicy(max_attempts=6)
    assert caught.value.violations[0].field == "retry.max_attempts"
    assert "methodConfig" not in json.loads(RetryPolicy(max_attempts=1).service_config())


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"initial_backoff_seconds": 0.0005}, "retry.initial_backoff_seconds"),
        ({"max_backoff_seconds": math.inf}, "retry.max_backoff_seconds"),
        ({"max_backoff_seconds": 1e17}, "retry.max_backoff_seconds"),
        ({"initial_backoff_seconds": "0.2"}, "retry.initial_backoff_seconds"),
        ({"backoff_multiplier": math.inf}, "retry.backoff_multiplier"),
        ({"max_attempts": 2.5}, "retry.max_attempts"),
        ({"max_attempts": True}, "retry.max_attempts"),
        ({"max_attempts": "3"}, "retry.max_attempts"),
        # Accepted, every backoff was the maximum: the initial one was never waited.
        ({"initial_backoff_seconds": 5, "max_backoff_seconds": 1}, "retry.max_backoff_seconds"),
        ({"busy_wait_seconds": -1}, "retry.busy_wait_seconds"),
        ({"busy_wait_seconds": math.nan}, "retry.busy_wait_seconds"),
        ({"busy_wait_seconds": True}, "retry.busy_wait_seconds"),
        ({"busy_wait_seconds": "60"}, "retry.busy_wait_seconds"),
        ({"busy_wait_seconds": 1e17}, "retry.busy_wait_seconds"),
    ],
)
def test_retry_policy_refuses_a_setting_grpc_cannot_read_naming_it(
    settings: dict[str, Any], field: str
) -> None:
    # Accepted, these made gRPC refuse the service config when the channel was built: every
    # call then failed INVALID_ARGUMENT, naming no field, as if the server had refused it.
    with pytest.raises(InvalidRequestError) as caught:
        RetryPolicy(**settings)
    assert [v.field for v in caught.value.violations] == [field]


def test_a_whole_float_of_attempts_is_read_as_its_count() -> None:
    # As a budget's counts are: "must be a whole number from 1 to 5, got 2.0" contradicted itself.
    policy = RetryPolicy(max_attempts=2.0)  # type: ignore[arg-type]
    assert type(policy.max_attempts) is int and policy.max_attempts == 2
    (config,) = json.loads(policy.service_config())["methodConfig"]
    assert config["retryPolicy"]["maxAttempts"] == 2


def test_a_computed_backoff_reaches_grpc_as_a_duration_it_reads(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # 0.1 + 0.2 went out as "0.30000000000000004s": gRPC reads at most nine decimals, refused
    # the service config, and the call failed INVALID_ARGUMENT without reaching the server.
    servicer, target = fake
    half: Any = np.float32(0.5)  # no float to the type checker, though the client takes it
    policy = RetryPolicy(initial_backoff_seconds=0.1 + 0.2, max_backoff_seconds=half)
    servicer.failures["ListPresets"] = [grpc.StatusCode.UNAVAILABLE]
    with _client(target, retry=policy) as client:
        assert client.list_presets()
    assert servicer.calls["ListPresets"] == 2


# --- deadlines and metadata --------------------------------------------------------------------


def test_every_call_carries_the_default_deadline(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    short_search = {"max_parameters": 400, "time_limit_seconds": 1.0}
    with _client(target, default_timeout=20.0) as client:
        client.recommend(TASK, short_search)
        list(client.stream_recommend(TASK, short_search))
        client.analyze(TASK, ARCHITECTURE)
        client.list_presets()
    assert set(servicer.time_remaining) == {*CALLS, "StreamRecommend"}
    for method, remaining in servicer.time_remaining.items():
        # The server's clock reading of a propagated deadline can run a little over it.
        assert remaining is not None and 18.0 < remaining < 20.5, method


def test_a_search_deadline_outlasts_its_time_limit(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    with _client(target, default_timeout=2.0) as client:
        client.recommend(TASK, {"max_parameters": 400, "time_limit_seconds": 60.0})
        client.analyze(TASK, ARCHITECTURE, timeout=0.5)
    remaining = servicer.time_remaining
    assert remaining["Recommend"] is not None and remaining["Recommend"] > 60.0
    assert remaining["Analyze"] is not None and remaining["Analyze"] < 1.0


def test_a_search_s_own_timeout_is_its_deadline_as_given(fake: tuple[ScriptedAdvisor, str]) -> None:
    # As the README says: the time limit's minimum applies to the default deadline only.
    servicer, target = fake
    with _client(target) as client:
        client.recommend(TASK, {"max_parameters": 400, "time_limit_seconds": 60.0}, timeout=3.0)
    remaining = servicer.time_remaining["Recommend"]
    # The server's view of the deadline is a few milliseconds off the client's, either way.
    assert remaining is not None and remaining < 10.0


def test_a_slow_call_fails_at_its_deadline(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    with _client(target) as client, pytest.raises(DeadlineExceededError) as caught:
        client.list_presets()  # answered: the server is reachable
        servicer.release = threading.Event()  # held: only the deadline can end the call
        client.list_presets(timeout=0.2)
    # gRPC's words, "Deadline Exceeded", said neither which deadline nor how to give a longer one.
    assert str(caught.value) == (
        "DEADLINE_EXCEEDED: Deadline Exceeded (the call's timeout of 0.2 s ran out: pass a "
        "longer timeout= to the call, or AdvisorClient(default_timeout=...))"
    )


@pytest.mark.parametrize(
    "refusal",
    [InvalidRequestError.single("budget.top_k", "over the limit"), grpc.StatusCode.UNIMPLEMENTED],
    ids=["with-details", "bare-code"],
)
def test_a_deadline_after_a_refusal_does_not_doubt_the_server_is_reachable(
    fake: tuple[ScriptedAdvisor, str], refusal: InvalidRequestError | grpc.StatusCode
) -> None:
    # A refusal is the server's answer as much as a result is, with its details in trailers or
    # a code only a server sends: a deadline after one was told to check the server is reachable.
    servicer, target = fake
    servicer.failures["Recommend"] = [refusal]
    with _client(target) as client:
        with pytest.raises(AdvisorRpcError):
            client.recommend(TASK, BUDGET)
        servicer.release = threading.Event()  # held: only the deadline can end the call
        with pytest.raises(DeadlineExceededError) as caught:
            client.list_presets(timeout=0.2)
    assert str(caught.value) == (
        "DEADLINE_EXCEEDED: Deadline Exceeded (the call's timeout of 0.2 s ran out: pass a "
        "longer timeout= to the call, or AdvisorClient(default_timeout=...))"
    )


def test_a_deadline_on_a_server_not_reached_says_to_check_it_is_reachable() -> None:
    # gRPC ends a call to a port nothing listens on at a short deadline as it ends a slow one,
    # "Deadline Exceeded", which read as a timeout too short only. Before a first answer on the
    # channel the two cannot be told apart, and the words name both.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # bound, never listening: a connection is refused
        target = f"127.0.0.1:{probe.getsockname()[1]}"
        # Waiting for a connection that never comes, the call ends at its deadline.
        with _client(target) as client, pytest.raises(DeadlineExceededError) as caught:
            client.check_health(wait_for_ready=True, timeout=0.2)
    assert str(caught.value) == (
        "DEADLINE_EXCEEDED: Deadline Exceeded (the call's timeout of 0.2 s ran out before a "
        f"server answered: check that the server is reachable at {target}, or pass a longer "
        "timeout= to the call, or AdvisorClient(default_timeout=...))"
    )


def test_a_call_its_deadline_ended_carries_the_id_it_sent_the_server(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # The server logs the call under the x-request-id it received; ended by its own deadline,
    # the call got no status of the server's, and its error had no id to hand an operator.
    servicer, target = fake
    servicer.release = threading.Event()  # held: only the deadline can end the call
    with _client(target) as client, pytest.raises(DeadlineExceededError) as late:
        client.list_presets(timeout=0.2)
    sent = str(servicer.metadata["ListPresets"]["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", sent) and late.value.request_id == sent
    assert not late.value.request_id_from_server


def test_the_token_travels_as_a_bearer_header(fake: tuple[ScriptedAdvisor, str]) -> None:
    servicer, target = fake
    with _client(target, token="s3cret") as client:
        client.list_presets()
    assert servicer.metadata["ListPresets"]["authorization"] == "Bearer s3cret"


def test_tls_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as missing_key:
        AdvisorClient("localhost:1", tls=TlsConfig(client_cert=tmp_path / "cert.pem"))
    with pytest.raises(InvalidRequestError) as unreadable:
        AdvisorClient("localhost:1", tls=TlsConfig(root_ca=tmp_path / "absent.pem"))
    assert missing_key.value.violations[0].field == "tls.client_key"
    assert unreadable.value.violations[0].field == "tls.root_ca"


def test_a_server_name_that_is_no_host_name_is_refused_when_the_settings_are_made() -> None:
    # As RetryPolicy refuses its settings: TlsConfig(server_name=5) was taken, and refused only
    # once a client was built with it, away from the line that made it.
    for name in (5, "", " "):
        with pytest.raises(InvalidRequestError) as caught:
            TlsConfig(server_name=name)  # type: ignore[arg-type]
        assert str(caught.value) == (
            f"tls.server_name: must be a host name (a non-empty string) or None; got {name!r}"
        )
    # A string that is no host name was taken, and the call failed UNAVAILABLE naming no setting.
    for name, part in (("not a host!", "not a host!"), ("-bad.example", "-bad"), ("a_b", "a_b")):
        with pytest.raises(InvalidRequestError) as caught:
            TlsConfig(server_name=name)
        assert str(caught.value) == (
            f"tls.server_name: {name!r} is no host name: its part {part!r} is not 1 to 63 "
            "letters, digits and inner hyphens"
        )
    with pytest.raises(InvalidRequestError, match=r"is 300 characters, over the 253 of a host"):
        TlsConfig(server_name="a." * 150)
    for name in ("advisor.example.internal", "localhost", "x1-y.z.", "127.0.0.1", "::1"):
        assert TlsConfig(server_name=name).server_name == name


def test_a_tls_setting_that_is_no_path_is_named_and_no_descriptor_is_touched(
    tmp_path: Path,
) -> None:
    # An int was opened as a file descriptor, read, and closed: here a file of the test's, in
    # an application its gRPC socket, say. PEM text, as grpc.ssl_channel_credentials takes it,
    # was "cannot read -----BEGIN ...: No such file or directory".
    descriptor = os.open(tmp_path / "held", os.O_RDWR | os.O_CREAT)
    try:
        for setting in (
            descriptor,
            b"-----BEGIN CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\n",
        ):
            # Refused as the settings are made: PEM text sat in their repr until a client was.
            with pytest.raises(InvalidRequestError) as caught:
                TlsConfig(root_ca=setting)  # type: ignore[arg-type]
            assert caught.value.violations[0].field == "tls.root_ca"
            assert "path of a PEM file" in caught.value.violations[0].description
        with pytest.raises(InvalidRequestError) as caught:
            TlsConfig(client_cert="c.pem", client_key="-----BEGIN PRIVATE KEY-----\nSECRET")
        assert caught.value.violations[0].field == "tls.client_key"
        assert "SECRET" not in str(caught.value)
        os.fstat(descriptor)  # still open
    finally:
        os.close(descriptor)


def test_a_tls_file_that_is_not_what_it_should_be_is_named_before_any_call(
    tmp_path: Path,
) -> None:
    # gRPC takes the bytes as they are and fails at the handshake, as if the server were down.
    pem = make_certificates(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    empty = tmp_path / "empty.pem"  # was a bare ValueError from ssl: "Empty certificate data"
    empty.write_text("")
    cases = [
        (TlsConfig(root_ca=garbage), "tls.root_ca", "holds no PEM certificate"),
        (TlsConfig(root_ca=empty), "tls.root_ca", "holds no PEM certificate (the file is empty)"),
        (
            TlsConfig(root_ca=pem.ca, client_cert=garbage, client_key=pem.client_key),
            "tls.client_cert",
            "holds no PEM certificate",
        ),
        (
            TlsConfig(root_ca=pem.ca, client_cert=pem.client_cert, client_key=pem.server_key),
            "tls.client_key",
            "is not the unencrypted PEM private key of",
        ),
    ]
    for tls, field, text in cases:
        with pytest.raises(InvalidRequestError) as raised:
            AdvisorClient("localhost:1", tls=tls)
        (violation,) = raised.value.violations
        assert violation.field == field and text in violation.description
    with AdvisorClient("localhost:1", tls=TlsConfig(root_ca=pem.ca)):
        pass  # a good CA builds the channel


def test_a_tls_file_that_never_ends_is_refused_not_read_on(tmp_path: Path) -> None:
    # TlsConfig(root_ca="/dev/zero") was read until memory ran out.
    pem = make_certificates(tmp_path)
    for tls, field in (
        (TlsConfig(root_ca="/dev/zero"), "tls.root_ca"),
        (TlsConfig(client_cert="/dev/zero", client_key=pem.client_key), "tls.client_cert"),
        (TlsConfig(client_cert=pem.client_cert, client_key="/dev/zero"), "tls.client_key"),
    ):
        with pytest.raises(InvalidRequestError) as raised:
            AdvisorClient("localhost:1", tls=tls)
        (violation,) = raised.value.violations
        assert violation.field == field
        assert violation.description == (
            f"cannot read /dev/zero: it is longer than {MAX_PEM_BYTES:,} bytes, more than a PEM "
            "file holds"
        )


def test_a_tls_file_failing_without_a_reason_is_refused_with_the_error_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An OSError without an errno has no strerror: the refusal said "cannot read ...: None".
    def unreadable(path: str) -> bytes:
        raise OSError("the file went away")

    monkeypatch.setattr(pem_module, "read_pem_file", unreadable)
    pem = make_certificates(tmp_path)
    with pytest.raises(InvalidRequestError) as raised:
        AdvisorClient("localhost:1", tls=TlsConfig(root_ca=pem.ca))
    (violation,) = raised.value.violations
    assert violation.field == "tls.root_ca"
    assert violation.description == f"cannot read {pem.ca}: the file went away"


# --- against the real server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_target() -> Iterator[str]:
    with start_server(ServerConfig(workers=2, token="t0ken")) as running:
        yield running.address


def test_real_server_round_trip(server_target: str) -> None:
    with AdvisorClient(server_target, token="t0ken") as client:
        presets = client.list_presets()
        events = list(client.stream_recommend(TASK, BUDGET))
        analysis = client.analyze(TASK, ARCHITECTURE)
    assert presets and all(isinstance(p, PresetInfo) for p in presets)
    result = events[-1]
    assert isinstance(result, SearchResult) and result.recommendations
    assert all(isinstance(event, SearchProgress) for event in events[:-1])
    assert [c.name for c in analysis.correlations] == ["ends"]
    assert analysis.parameters > 0


def test_real_server_rejections_are_typed(server_target: str) -> None:
    with AdvisorClient(server_target, token="wrong") as client, pytest.raises(UnauthenticatedError):
        client.list_presets()
    big = {"input": {"shape": [64, 64]}, "correlations": [{"name": "c", "a": {"indices": [0]}}]}
    big_arch = {
        "input": {"shape": [64, 64]},
        "representation": 2,
        "layers": [{"channels": 2, "pool": [64, 64]}],
    }
    with (
        AdvisorClient(server_target, token="t0ken") as client,
        pytest.raises(InvalidArgumentError) as caught,
    ):
        client.analyze(big, big_arch, exact=True)
    assert {v.field for v in caught.value.violations} == {"exact"}


@pytest.mark.parametrize(
    ("token", "reason", "said"),
    [
        (None, "TOKEN_MISSING", "reached it without one: pass AdvisorClient(token=...), or, if"),
        ("wrong", "TOKEN_INVALID", "refused the bearer token sent (AdvisorClient(token=...)): a"),
    ],
)
def test_a_refused_token_says_whether_none_was_sent_or_a_wrong_one(
    server_target: str, token: str | None, reason: str, said: str
) -> None:
    # Both read "missing or invalid bearer token": only the reason told them apart.
    with (
        AdvisorClient(server_target, token=token) as client,
        pytest.raises(UnauthenticatedError) as refused,
    ):
        client.list_presets()
    assert refused.value.reason == reason
    assert str(refused.value).startswith("UNAUTHENTICATED: the server ")
    assert said in str(refused.value)


def test_a_search_in_flight_when_the_client_closes_raises_client_closed(
    server_target: str,
) -> None:
    # The progress callback holds the stream at its first event until the client has closed,
    # so the close finds the search (30 s long) in flight whatever the machine's load.
    client = AdvisorClient(server_target, token="t0ken")
    in_flight, closed = threading.Event(), threading.Event()

    def hold(event: SearchProgress) -> None:
        in_flight.set()
        closed.wait(HOLD_SECONDS)

    task, budget = wire.task_from_proto(LONG_TASK), wire.budget_from_proto(long_budget(30.0))
    raised = _raised_in_thread(lambda: client.recommend(task, budget, progress=hold))
    assert in_flight.wait(HOLD_SECONDS)
    client.close()
    closed.set()
    assert [type(error) for error in raised()] == [ClientClosedError]


def test_mutual_tls_round_trip(tmp_path: Path) -> None:
    pem = make_certificates(tmp_path)
    config = ServerConfig(
        host="localhost",
        workers=1,
        tls_cert=pem.server_cert,
        tls_key=pem.server_key,
        tls_client_ca=pem.ca,
    )
    tls = TlsConfig(root_ca=pem.ca, client_cert=pem.client_cert, client_key=pem.client_key)
    without = TlsConfig(root_ca=pem.ca)
    intruder = TlsConfig(root_ca=pem.ca, client_cert=pem.intruder_cert, client_key=pem.intruder_key)
    with start_server(config) as running:
        with AdvisorClient(running.address, tls=tls) as client:
            assert client.list_presets()
        refusals = [_refused_handshake(running.address, t) for t in (without, intruder)]
    # gRPC's words ("Socket closed") name no certificate.
    assert refusals[0].endswith(CLIENT_CERTIFICATE_HINT)
    assert PLAINTEXT_HINT not in refusals[0]
    # The server ends the handshake on a certificate its CA did not sign as it does without
    # one, and logs nothing: that error named no cause either.
    assert refusals[1].endswith(CERTIFICATE_REFUSED_HINT)
    assert CLIENT_CERTIFICATE_HINT not in refusals[1]


def _refused_handshake(address: str, tls: TlsConfig) -> str:
    """Return the details of the ``UNAVAILABLE`` a call over ``tls`` ends with (one attempt)."""
    with (
        AdvisorClient(address, tls=tls, retry=RetryPolicy(max_attempts=1)) as client,
        pytest.raises(UnavailableError) as caught,
    ):
        client.list_presets()
    return caught.value.details


def test_a_draining_tls_server_s_refusal_is_not_said_to_want_a_client_certificate(
    tmp_path: Path,
) -> None:
    # The refusal of a draining server, reached over TLS without a client certificate, read
    # "the server is shutting down (if the server asks for a client certificate, mutual TLS:
    # ...)": a server that answers has taken the handshake, so no certificate is missing.
    pem = make_certificates(tmp_path)
    config = ServerConfig(
        workers=1, executor="threads", tls_cert=pem.server_cert, tls_key=pem.server_key
    )
    task, budget = wire.task_from_proto(LONG_TASK), wire.budget_from_proto(long_budget(30.0))
    with start_server(config) as running:
        client = AdvisorClient(
            running.address, tls=TlsConfig(root_ca=pem.ca), retry=RetryPolicy(max_attempts=1)
        )
        with client, contextlib.closing(client.stream_recommend(task, budget)) as events:
            next(events)  # the search is in flight, so the drain waits for it
            stopped = _raised_in_thread(running.stop)
            deadline = time.monotonic() + HOLD_SECONDS
            while client.check_health() and time.monotonic() < deadline:
                time.sleep(0.01)
            with pytest.raises(UnavailableError) as caught:
                client.list_presets()
        assert stopped() == []  # the stream's close cancelled the search, ending the drain
    assert caught.value.details == "the server is shutting down"


def test_a_refused_connection_is_not_said_to_want_a_client_certificate(tmp_path: Path) -> None:
    # A TLS client of a server that was down read "Connection refused (if the server asks for
    # a client certificate, ...)": the refusal names its cause, no server there.
    pem = make_certificates(tmp_path)
    with (
        AdvisorClient(
            closed_target(), tls=TlsConfig(root_ca=pem.ca), retry=RetryPolicy(max_attempts=1)
        ) as client,
        pytest.raises(UnavailableError) as caught,
    ):
        client.list_presets()
    assert "Connection refused" in caught.value.details
    assert CLIENT_CERTIFICATE_HINT not in caught.value.details
    assert "may stand for several" not in caught.value.details  # one address: its own failure


@pytest.mark.parametrize("tls", [False, True])
def test_a_refused_connection_to_a_name_says_another_address_may_have_failed_otherwise(
    tmp_path: Path, tls: bool
) -> None:
    # localhost is ::1 and 127.0.0.1, and gRPC says how the last one tried failed: a server on
    # 127.0.0.1 whose TLS handshake failed read, in about half the calls, as "Connection
    # refused" on ::1, with a hint that sent the reader after a client certificate.
    port = closed_target().rpartition(":")[2]
    target = f"localhost:{port}"
    settings = TlsConfig(root_ca=make_certificates(tmp_path).ca) if tls else None
    with (
        AdvisorClient(target, tls=settings, retry=RetryPolicy(max_attempts=1)) as client,
        pytest.raises(UnavailableError) as caught,
    ):
        client.list_presets()
    assert caught.value.details.endswith(SEVERAL_ADDRESSES_HINT.format(target=target))
    assert CLIENT_CERTIFICATE_HINT not in caught.value.details


def test_a_target_that_may_stand_for_several_addresses_is_told_apart() -> None:
    several = ["localhost:50051", "dns:///advisor.internal:50051", "ipv4:10.0.0.1:1,10.0.0.2:1"]
    one = ["127.0.0.1:50051", "[::1]:50051", "ipv6:///[::1]:50051", "unix:/run/advisor.sock"]
    assert [may_be_several(target) for target in several] == [True] * len(several)
    assert [may_be_several(target) for target in one] == [False] * len(one)


@pytest.mark.parametrize("mismatch", ["server without TLS", "untrusted CA", "another name"])
def test_a_tls_handshake_the_client_refused_is_not_said_to_want_a_client_certificate(
    tmp_path: Path, mismatch: str
) -> None:
    # gRPC's words named the cause (WRONG_VERSION_NUMBER, CERTIFICATE_VERIFY_FAILED, Hostname
    # Verification Check failed), and the hint then sent the reader after a client certificate.
    pem = make_certificates(tmp_path)
    settings: dict[str, Any] = {"tls_cert": pem.server_cert, "tls_key": pem.server_key}
    root_ca = pem.ca
    if mismatch == "server without TLS":
        settings = {}
    elif mismatch == "untrusted CA":
        root_ca = pem.intruder_cert  # signed by another CA: trusting it trusts no server here
    else:
        settings["tls_cert"], settings["tls_key"] = make_server_certificate(
            tmp_path, "DNS:advisor.test"
        )
    config = ServerConfig(workers=1, executor="threads", **settings)
    with (
        start_server(config) as running,
        AdvisorClient(
            running.address, tls=TlsConfig(root_ca=root_ca), retry=RetryPolicy(max_attempts=1)
        ) as client,
        pytest.raises(UnavailableError) as caught,
    ):
        client.list_presets()
    assert caught.value.details.startswith("connections to all backends failing")
    assert CLIENT_CERTIFICATE_HINT not in caught.value.details


def test_a_plaintext_call_to_a_tls_server_hints_at_tls(tmp_path: Path) -> None:
    # gRPC's "Socket closed" named no cause; the command alone added the hint.
    pem = make_certificates(tmp_path)
    config = ServerConfig(
        workers=1, executor="threads", tls_cert=pem.server_cert, tls_key=pem.server_key
    )
    with (
        start_server(config) as running,
        _client(running.address, retry=RetryPolicy(max_attempts=1)) as client,
        pytest.raises(UnavailableError) as caught,
    ):
        client.list_presets()
    assert caught.value.details.endswith(PLAINTEXT_HINT)


def test_a_plaintext_stream_whose_server_dies_after_answering_is_not_told_to_use_tls(
    fake: tuple[ScriptedAdvisor, str],
) -> None:
    # A server killed mid-stream closes the connection as a TLS server refusing plaintext does
    # ("Socket closed"): a server that sent events speaks plaintext, and the hint misled.
    servicer, target = fake
    servicer.hold_stream_after_first_event = True
    with relayed(target) as relay, _client(relay.target) as client:
        events = client.stream_recommend(TASK, BUDGET)
        assert isinstance(next(events), SearchProgress)
        relay.cut()
        with pytest.raises(UnavailableError) as caught:
            next(events)
    assert PLAINTEXT_REFUSED in caught.value.details
    assert PLAINTEXT_HINT not in caught.value.details


@pytest.mark.parametrize("refused", [False, True], ids=["result", "refusal"])
def test_a_plaintext_call_whose_server_dies_after_an_answer_is_not_told_to_use_tls(
    fake: tuple[ScriptedAdvisor, str], refused: bool
) -> None:
    # A refusal answers in plaintext as a result does.
    servicer, target = fake
    servicer.failures["ListPresets"] = [grpc.StatusCode.FAILED_PRECONDITION] if refused else []
    with (
        relayed(target) as relay,
        _client(relay.target, retry=RetryPolicy(max_attempts=1)) as client,
    ):
        try:
            client.list_presets()  # answered in plaintext
        except AdvisorRpcError as refusal:
            assert refused and refusal.code is grpc.StatusCode.FAILED_PRECONDITION
        servicer.release = threading.Event()
        raised = _raised_in_thread(client.list_presets)
        wait_until(lambda: servicer.calls["ListPresets"] == 2)
        relay.cut()
        [error] = raised()
    assert isinstance(error, UnavailableError)
    assert PLAINTEXT_REFUSED in error.details
    assert PLAINTEXT_HINT not in error.details


def test_a_server_certificate_for_another_name_is_checked_against_server_name(
    tmp_path: Path,
) -> None:
    # A target by IP address, or a tunnel to localhost, reaches a server whose certificate names
    # its DNS name only: without an override no handshake could succeed.
    pem = make_certificates(tmp_path)
    cert, key = make_server_certificate(tmp_path, "DNS:advisor.test")
    config = ServerConfig(workers=1, executor="threads", tls_cert=cert, tls_key=key)
    with start_server(config) as running:
        named = TlsConfig(root_ca=pem.ca, server_name="advisor.test")
        with AdvisorClient(running.address, tls=named) as client:
            assert client.list_presets()
        unnamed = TlsConfig(root_ca=pem.ca)
        with (
            AdvisorClient(
                running.address, tls=unnamed, retry=RetryPolicy(max_attempts=1)
            ) as client,
            pytest.raises(UnavailableError),
        ):
            client.list_presets()
    with pytest.raises(InvalidRequestError, match=r"^tls\.server_name: "):
        AdvisorClient(running.address, tls=TlsConfig(server_name=""))


SAVERS: dict[str, Callable[[SearchResult], str]] = {
    "command": lambda result: render_search_result(result, "yaml"),
    # The library's own way to save a result, which it lacked: only the command could write one.
    "library": lambda result: json.dumps(advisor.search_result_document(result)),
}


@pytest.mark.parametrize("saver", sorted(SAVERS))
def test_a_saved_recommend_result_is_analysed_as_the_command_analyses_it(
    server_target: str, tmp_path: Path, saver: str
) -> None:
    # `advisor recommend --format yaml > result.yaml`, then analyze(task, "result.yaml"): its
    # first recommendation, or the one of rank `rank`, as `advisor analyze --arch --rank` does.
    with AdvisorClient(server_target, token="t0ken") as client:
        result = client.recommend(TASK, {**BUDGET, "top_k": 2})
        saved = tmp_path / "result.yaml"
        saved.write_text(SAVERS[saver](result))
        first, second = (r.architecture for r in result.recommendations)
        assert first.parameters != second.parameters
        assert client.analyze(TASK, saved) == client.analyze(TASK, first)
        assert client.analyze(TASK, str(saved), rank=2) == client.analyze(TASK, second)


def test_a_rank_that_picks_nothing_is_refused_before_any_call(
    fake: tuple[ScriptedAdvisor, str], tmp_path: Path
) -> None:
    servicer, target = fake
    arch_file = tmp_path / "arch.json"
    arch_file.write_text(json.dumps(ARCHITECTURE))
    result_file = tmp_path / "result.json"
    result_file.write_text(json.dumps({"recommendations": [{"rank": 1, "architecture": {}}]}))
    with _client(target) as client:
        cases: list[tuple[Path | dict[str, Any], int | None, str]] = [
            (arch_file, 1, "rank"),
            (ARCHITECTURE, 1, "rank"),
            (result_file, 3, "rank"),
            (result_file, 0, "rank"),
            (result_file, None, "architecture.recommendations[0].architecture.input"),
        ]
        for architecture, rank, field in cases:
            with pytest.raises(InvalidRequestError) as caught:
                client.analyze(TASK, architecture, rank=rank)
            assert caught.value.violations[0].field == field, (architecture, rank)
        with pytest.raises(InvalidRequestError) as caught:
            client.analyze(TASK, ARCHITECTURE, rank=1)
        assert "the architecture is a dict, not a file path" in str(caught.value)
        with pytest.raises(InvalidRequestError) as caught:
            client.analyze(TASK, parse_architecture(ARCHITECTURE), rank=1)
        assert "the architecture is an Architecture, not a file path" in str(caught.value)
    assert servicer.calls == Counter()


class _LateStatus(ScriptedAdvisor):
    """Sends its status a while after a stream's result; records whether the call still ran."""

    def __init__(self) -> None:
        super().__init__()
        self.active_at_end: list[bool] = []

    def StreamRecommend(  # noqa: N802 - gRPC method names come from the proto
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        yield from super().StreamRecommend(request, context)
        time.sleep(0.3)
        self.active_at_end.append(context.is_active())


def test_a_stream_read_to_its_result_ends_with_the_servers_status_not_a_cancel() -> None:
    # The client cancelled a stream as soon as it took the result, often before the status
    # that follows it: the server logged and counted a search that answered as CANCELLED.
    servicer = _LateStatus()
    with scripted_server(servicer) as target, AdvisorClient(target) as client:
        assert isinstance(list(client.stream_recommend(TASK, BUDGET))[-1], SearchResult)
        client.recommend(TASK, BUDGET, progress=lambda event: None)
        deadline = time.monotonic() + HOLD_SECONDS
        while len(servicer.active_at_end) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert servicer.active_at_end == [True, True]
