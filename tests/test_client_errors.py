"""The errors a client call raises, as an application handles them: caught, pickled, traced.

An AutoML pipeline runs its calls in process pools or Ray tasks, which send a failure back to
the parent as a pickle; every error must come back the same, whatever fields its class adds.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator

import advisor_client.client
import grpc
import pytest
from advisor_client.client import AdvisorClient
from advisor_client.errors import (
    AdvisorRpcError,
    BadRequestError,
    ClientClosedError,
    DeadlineExceededError,
    InvalidArgumentError,
    ResourceExhaustedError,
    SearchIdInUseError,
    SearchNotStartedError,
    ServerLimitExceededError,
    ServerMessageLimitError,
    ServerStalePageTokenError,
    UnavailableError,
)

import advisor.infer.source
from advisor.errors import (
    AdvisorError,
    FieldViolation,
    InvalidRequestError,
    LimitExceededError,
    ServerStartError,
    StalePageTokenError,
)
from advisor.protocol.metadata import (
    REQUEST_ID_METADATA_KEY,
    stale_token_metadata,
    stale_token_versions,
)
from advisor.service.limits import RequestLimits
from advisor.service.server import RunningServer, ServerConfig, start_server
from advisor.usage import violations_as_options
from advisor.version import RANKING_VERSION
from tests.support.named_search import start_named_search
from tests.support.other_servers import other_grpc_server
from tests.support.page_tokens import of_ranking_version
from tests.support.scripted import ScriptedAdvisor, scripted_server

VIOLATIONS = (FieldViolation("budget.top_k", "must be at least 1"),)
STALE = (FieldViolation("budget.page_token", "was written by version 3 of the advisor's ranking"),)
TASK = {
    "input": {"shape": [8, 8]},
    "correlations": [{"name": "lr", "a": {"preset": "left_half"}, "b": {"preset": "right_half"}}],
}
TINY_TASK = {"input": {"shape": [2]}, "correlations": [{"name": "a", "a": {"indices": [0]}}]}

ERRORS: list[AdvisorError] = [
    AdvisorRpcError(grpc.StatusCode.INTERNAL, "worker lost"),
    UnavailableError(grpc.StatusCode.UNAVAILABLE, "connection refused"),
    DeadlineExceededError(grpc.StatusCode.DEADLINE_EXCEEDED, ""),
    ResourceExhaustedError(grpc.StatusCode.RESOURCE_EXHAUSTED, "big", {"max_message_bytes": "9"}),
    InvalidArgumentError("bad request", VIOLATIONS),
    InvalidArgumentError("top_k 60 exceeds", VIOLATIONS, {"max_top_k": "60"}),
    ServerLimitExceededError("top_k 60 exceeds", VIOLATIONS, {"max_top_k": "60"}),
    ServerStalePageTokenError("written by version 3", STALE, 3, 4),
    ClientClosedError(),
    SearchIdInUseError("search_id 's1' names a search running on this server", "s1"),
    SearchNotStartedError(grpc.StatusCode.RESOURCE_EXHAUSTED, "busy; finish_search ended the wait"),
    InvalidRequestError(VIOLATIONS),
    LimitExceededError(VIOLATIONS),
    StalePageTokenError(STALE, None, 4),
    ServerStartError(("tls_cert", "tls_key"), "not a PEM certificate"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_every_error_pickles_whole(error: AdvisorError) -> None:
    error.add_note("while tuning trial 7")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)  # code, details, violations, limits, settings, notes


def test_one_except_catches_a_refused_request_and_a_failed_call() -> None:
    assert issubclass(AdvisorRpcError, AdvisorError)
    assert issubclass(InvalidRequestError, AdvisorError)


def test_the_package_exports_what_its_calls_raise_and_take() -> None:
    # A request over max_message_bytes raises LimitExceededError, and infer_task takes a
    # DataLike as recommend takes a TaskLike: importable from the package like their peers.
    namespace: dict[str, object] = {}
    exec("from advisor_client import *", namespace)
    assert namespace["LimitExceededError"] is LimitExceededError
    assert namespace["SearchIdInUseError"] is SearchIdInUseError
    assert namespace["SearchNotStartedError"] is SearchNotStartedError
    assert namespace["DataLike"] is advisor.infer.source.DataLike
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(advisor_client.__all__)


def test_a_server_without_the_advisor_says_so_and_the_status_leads_the_message() -> None:
    # The target is some other gRPC server (a health-only one here, as Katib's port is): gRPC's
    # "Method not found!" named neither the status nor a likely cause.
    with (
        other_grpc_server(with_health=True) as target,
        AdvisorClient(target) as client,
        pytest.raises(AdvisorRpcError) as caught,
    ):
        client.list_presets()
    assert caught.value.code == grpc.StatusCode.UNIMPLEMENTED
    assert str(caught.value).startswith("UNIMPLEMENTED: Method not found! (the server does not")
    assert "the advisor's port" in caught.value.details


def test_a_violation_of_the_whole_request_is_its_description_alone() -> None:
    # The service's answer cut at its size names the violations left out on the empty path: the
    # message ended "; : 190 more violation(s) left out".
    violations = [
        FieldViolation("task.input", "Field required"),
        FieldViolation("", "190 more violations left out"),
    ]
    expected = "task.input: Field required; 190 more violations left out"
    assert str(InvalidArgumentError("details", violations)) == expected
    assert str(InvalidRequestError(violations)) == expected
    assert violations_as_options(violations, {}) == expected  # the commands' one line


@pytest.fixture(scope="module")
def small_server() -> Iterator[RunningServer]:
    """A server whose messages are at most 7,000 bytes (ListPresets answers about 8.9 kB)."""
    limits = RequestLimits(max_message_bytes=7_000)
    config = ServerConfig(port=0, workers=1, executor="threads", grace_seconds=1.0, limits=limits)
    with start_server(config) as running:
        yield running


def test_a_refused_limit_is_typed_data_with_the_value_that_admits_the_request(
    small_server: RunningServer,
) -> None:
    # Read off the status's ErrorInfo, not its English: a pipeline raises the limit to it.
    with AdvisorClient(small_server.address) as client:
        with pytest.raises(InvalidArgumentError) as refused:
            client.recommend(TASK, {"max_parameters": 20_000, "top_k": 60})
        assert refused.value.limits == {"max_top_k": "60"}
        with pytest.raises(ResourceExhaustedError) as exhausted:
            client.list_presets()
    size = re.search(r"the response is ([\d,]+) bytes", exhausted.value.details)
    assert size is not None, exhausted.value.details
    assert exhausted.value.limits == {"max_message_bytes": size[1].replace(",", "")}
    assert pickle.loads(pickle.dumps(exhausted.value)).limits == exhausted.value.limits


def test_a_servers_refusal_of_a_limit_is_caught_as_the_clients_own_is(
    small_server: RunningServer,
) -> None:
    # It was an InvalidArgumentError alone: `except LimitExceededError`, which catches the
    # client's refusal of its max_message_bytes, let the server's max_top_k through.
    with (
        AdvisorClient(small_server.address) as client,
        pytest.raises(LimitExceededError) as refused,
    ):
        client.recommend(TASK, {"max_parameters": 20_000, "top_k": 60})
    error = refused.value
    assert isinstance(error, InvalidArgumentError)
    assert (error.reason, error.limits) == ("LIMIT_EXCEEDED", {"max_top_k": "60"})
    assert [v.field for v in error.violations] == ["budget.top_k"]
    placed = error.prefixed("request")  # rebuilt as the library's errors are, its call kept
    assert type(placed) is ServerLimitExceededError
    assert [v.field for v in placed.violations] == ["request.budget.top_k"]
    assert (placed.limits, placed.request_id) == (error.limits, error.request_id)


def test_a_servers_refusal_of_a_stale_page_token_is_caught_as_the_librarys_own_is(
    small_server: RunningServer,
) -> None:
    # It was an InvalidArgumentError of reason INVALID_REQUEST, as a changed request's: a pager
    # told "start again from the first page" only by the English.
    version = RANKING_VERSION - 1
    budget = {"max_parameters": 20_000, "top_k": 1}
    with AdvisorClient(small_server.address) as client:
        token = client.recommend(TASK, budget).next_page_token
        assert token is not None
        with pytest.raises(StalePageTokenError) as refused:
            client.recommend(TASK, {**budget, "page_token": of_ranking_version(token, version)})
        with pytest.raises(InvalidArgumentError) as changed:  # this version's, another request's
            client.recommend(TASK, {**budget, "max_parameters": 19_000, "page_token": token})
    error = refused.value
    assert isinstance(error, ServerStalePageTokenError) and isinstance(error, BadRequestError)
    assert (error.reason, error.token_ranking_version, error.ranking_version) == (
        "PAGE_TOKEN_STALE",
        version,
        RANKING_VERSION,
    )
    assert [v.field for v in error.violations] == ["budget.page_token"]
    placed = error.prefixed("request")  # rebuilt as the library's errors are, its call kept
    assert type(placed) is ServerStalePageTokenError
    assert (placed.token_ranking_version, placed.request_id) == (version, error.request_id)
    assert not isinstance(changed.value, StalePageTokenError)


@pytest.mark.parametrize("version", [3, None])
def test_a_stale_tokens_versions_read_back_and_an_answer_naming_no_server_version_has_none(
    version: int | None,
) -> None:
    # What the server writes into the PAGE_TOKEN_STALE ErrorInfo, the client reads back; an
    # answer whose server version is no number (no advisor's) builds no stale-token error.
    assert stale_token_versions(stale_token_metadata(version, 4)) == (version, 4)
    written = stale_token_metadata(version, 4)
    for server in ("", "four", "\u0664", "-4", "9" * 5_000):  # \u0664: ARABIC-INDIC DIGIT FOUR
        assert stale_token_versions({**written, "ranking_version": server}) is None, server


def test_a_refusal_of_no_limit_has_no_limits(small_server: RunningServer) -> None:
    with AdvisorClient(small_server.address) as client, pytest.raises(InvalidArgumentError) as bad:
        # A search whose answer is estimated within the limit, whose budget holds no design.
        client.recommend(TINY_TASK, {"max_parameters": 1, "top_k": 1})
    assert bad.value.violations and bad.value.limits == {}
    assert not isinstance(bad.value, LimitExceededError)
    assert bad.value.reason == "INVALID_REQUEST"  # a refusal on its fields alone


def test_one_except_catches_bad_input_the_client_checks_and_bad_input_only_the_server_does(
    small_server: RunningServer,
) -> None:
    # A budget of 0 parameters raised InvalidRequestError, a top_k over the server's limit
    # InvalidArgumentError: an application that caught one let the other through.
    refused: list[BadRequestError] = []
    with AdvisorClient(small_server.address) as client:
        for budget in ({"max_parameters": 0}, {"max_parameters": 20_000, "top_k": 60}):
            try:
                client.recommend(TASK, budget)
            except BadRequestError as error:
                refused.append(error)
    assert [(type(e), e.violations[0].field) for e in refused] == [
        (InvalidRequestError, "budget.max_parameters"),
        (ServerLimitExceededError, "budget.top_k"),  # an InvalidArgumentError
    ]
    assert not issubclass(UnavailableError, BadRequestError)


def test_the_client_s_own_refusal_of_its_message_limit_carries_the_same_data() -> None:
    task = {
        "input": {"shape": [256]},
        "correlations": [{"name": "c", "a": {"indices": list(range(128))}}],
    }
    with (
        AdvisorClient("localhost:1", max_message_bytes=160) as client,
        pytest.raises(LimitExceededError) as refused,
    ):
        client.recommend(task, {"max_parameters": 20_000})
    size = re.search(r"makes the request ([\d,]+) bytes", str(refused.value))
    assert size is not None, refused.value
    assert refused.value.limits == {"max_message_bytes": size[1].replace(",", "")}
    assert pickle.loads(pickle.dumps(refused.value)).limits == refused.value.limits


def test_an_answer_over_the_client_s_message_limit_names_the_size_that_admits_it() -> None:
    # gRPC's RESOURCE_EXHAUSTED ("Received message larger than max"), with no limits, reason or
    # retry delay, read as a busy server's: a pipeline retried for ever what no retry gets.
    with scripted_server(ScriptedAdvisor()) as target:
        with (
            AdvisorClient(target, max_message_bytes=10) as client,
            pytest.raises(ResourceExhaustedError) as refused,
        ):
            client.list_presets()
        needed = int(refused.value.limits["max_message_bytes"])
        with AdvisorClient(target, max_message_bytes=needed) as client:
            assert client.list_presets()
    assert (refused.value.reason, refused.value.retry_delay) == ("LIMIT_EXCEEDED", None)
    assert str(refused.value).startswith(
        f"RESOURCE_EXHAUSTED: the response is {needed:,} bytes, over this client's "
        f"max_message_bytes (10): raise AdvisorClient(max_message_bytes=...) to at least "
        f"{needed:,}"
    )
    assert pickle.loads(pickle.dumps(refused.value)).limits == refused.value.limits


def test_a_request_over_the_server_s_message_limit_is_a_limit_exceeded_error() -> None:
    # gRPC's "SERVER: Received message larger than max (N vs. M)" came with no reason or limits,
    # so `except LimitExceededError`, which the docs say catches a request over a limit wherever
    # it was refused, missed it.
    task = {
        "input": {"shape": [16384]},
        "correlations": [{"name": "c", "a": {"indices": list(range(8192))}}],
    }
    config = ServerConfig(
        port=0, executor="threads", limits={"max_message_bytes": 8_000}, grace_seconds=1.0
    )
    with start_server(config) as server, AdvisorClient(server.address) as client:
        with pytest.raises(LimitExceededError) as refused:
            client.recommend(task, {"max_parameters": 20_000})
        # The channel is none the worse: a smaller request is answered.
        assert client.recommend(TINY_TASK, {"max_parameters": 1_000, "top_k": 1}).recommendations
    error = refused.value
    assert isinstance(error, ServerMessageLimitError) and isinstance(error, ResourceExhaustedError)
    needed = int(error.limits["max_message_bytes"])
    assert needed > 8_000
    assert (error.reason, error.retry_delay) == ("LIMIT_EXCEEDED", None)
    assert str(error) == (
        f"RESOURCE_EXHAUSTED: the request is {needed:,} bytes, over the server's "
        f"max_message_bytes (8,000): make it smaller, or call a server whose limit is at least "
        f"{needed:,} (a retry meets the same limit)"
    )
    assert [v.field for v in error.violations] == ["request"]
    placed = error.prefixed("call")  # as the library places a refusal under its argument
    assert isinstance(placed, ServerMessageLimitError)
    assert [v.field for v in placed.violations] == ["call.request"]
    assert (placed.reason, placed.limits) == (error.reason, error.limits)
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.limits, again.violations) == (
        ServerMessageLimitError,
        error.limits,
        error.violations,
    )
    # The size it names is the request's, as the client's own check counts it.
    with (
        AdvisorClient("localhost:1", max_message_bytes=needed - 1) as client,
        pytest.raises(LimitExceededError) as own,
    ):
        client.recommend(task, {"max_parameters": 20_000})
    assert own.value.limits == error.limits


def test_a_name_a_running_search_holds_is_refused_on_search_id() -> None:
    # A bare AdvisorRpcError (ALREADY_EXISTS) named no field: its class now says the cause.
    config = ServerConfig(port=0, workers=2, executor="threads", grace_seconds=1.0)
    with start_server(config) as server, AdvisorClient(server.address) as client:
        thread, _ = start_named_search(client, server, "taken")
        try:
            with pytest.raises(SearchIdInUseError) as refused:
                client.recommend(TINY_TASK, {"max_parameters": 1_000}, search_id="taken")
        finally:
            client.finish_search("taken")
            thread.join(timeout=30.0)
    assert refused.value.code is grpc.StatusCode.ALREADY_EXISTS
    assert refused.value.reason == "SEARCH_ID_IN_USE" and refused.value.search_id == "taken"
    assert [v.field for v in refused.value.violations] == ["search_id"]
    assert "'taken' names a search" in refused.value.violations[0].description


def test_a_failed_call_carries_the_request_id_the_server_gave_it(
    small_server: RunningServer,
) -> None:
    # Refused by the server (ResourceExhaustedError: its answer over the small limit).
    client = AdvisorClient(small_server.address)
    with client, pytest.raises(ResourceExhaustedError) as refused:
        client.list_presets()
    cause = refused.value.__cause__
    assert isinstance(cause, grpc.Call)
    [sent] = [v for k, v in cause.trailing_metadata() or () if k == REQUEST_ID_METADATA_KEY]
    assert refused.value.request_id == sent and refused.value.request_id_from_server
    copy = pickle.loads(pickle.dumps(refused.value))
    assert (copy.request_id, copy.request_id_from_server) == (sent, True)


def test_a_refusal_a_retry_may_pass_says_when_to_retry_and_one_it_cannot_does_not(
    small_server: RunningServer,
) -> None:
    # The server's RetryInfo, as data: a busy server's refusal and an answer over the message
    # limit are both ResourceExhaustedError, and only the first passes when retried.
    config = ServerConfig(port=0, workers=1, executor="threads", grace_seconds=1.0)
    with start_server(config) as one_slot, AdvisorClient(one_slot.address) as client:
        thread, _ = start_named_search(client, one_slot, "holds-the-slot")
        try:
            with pytest.raises(ResourceExhaustedError) as busy:
                client.recommend(TINY_TASK, {"max_parameters": 1_000})
        finally:
            client.finish_search("holds-the-slot")
            thread.join(timeout=30.0)
    with (
        AdvisorClient(small_server.address) as client,
        pytest.raises(ResourceExhaustedError) as oversized,
    ):
        client.list_presets()
    assert busy.value.retry_delay == 0.2
    assert pickle.loads(pickle.dumps(busy.value)).retry_delay == 0.2
    assert oversized.value.retry_delay is None
    # And why, as the server's ErrorInfo says it.
    assert (busy.value.reason, oversized.value.reason) == ("SERVER_BUSY", "LIMIT_EXCEEDED")
    assert pickle.loads(pickle.dumps(busy.value)).reason == "SERVER_BUSY"
