"""The errors a client call raises, as an application handles them: caught, pickled, traced.

An AutoML pipeline runs its calls in process pools or Ray tasks, which send a failure back to
the parent as a pickle; every error must come back the same, whatever fields its class adds.
"""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import advisor_client.client
import grpc
import pytest
from advisor_client.client import AdvisorClient
from advisor_client.errors import (
    AdvisorRpcError,
    ClientClosedError,
    DeadlineExceededError,
    InvalidArgumentError,
    UnavailableError,
)
from grpc_health.v1 import health, health_pb2_grpc

from advisor.errors import (
    AdvisorError,
    FieldViolation,
    InvalidRequestError,
    LimitExceededError,
    ServerStartError,
)
from advisor.usage import violations_as_options

VIOLATIONS = (FieldViolation("budget.top_k", "must be at least 1"),)

ERRORS: list[AdvisorError] = [
    AdvisorRpcError(grpc.StatusCode.INTERNAL, "worker lost"),
    UnavailableError(grpc.StatusCode.UNAVAILABLE, "connection refused"),
    DeadlineExceededError(grpc.StatusCode.DEADLINE_EXCEEDED, ""),
    InvalidArgumentError("bad request", VIOLATIONS),
    ClientClosedError(),
    InvalidRequestError(VIOLATIONS),
    LimitExceededError(VIOLATIONS),
    ServerStartError(("tls_cert", "tls_key"), "not a PEM certificate"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_every_error_pickles_whole(error: AdvisorError) -> None:
    error.add_note("while tuning trial 7")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)  # code, details, violations, settings, notes


def test_one_except_catches_a_refused_request_and_a_failed_call() -> None:
    assert issubclass(AdvisorRpcError, AdvisorError)
    assert issubclass(InvalidRequestError, AdvisorError)


def test_the_package_exports_what_its_calls_raise_and_take() -> None:
    # A request over max_message_bytes raises LimitExceededError, and infer_task takes a
    # DataLike as recommend takes a TaskLike: importable from the package like their peers.
    namespace: dict[str, object] = {}
    exec("from advisor_client import *", namespace)
    assert namespace["LimitExceededError"] is LimitExceededError
    assert namespace["DataLike"] is advisor_client.client.DataLike
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(advisor_client.__all__)


def test_a_server_without_the_advisor_says_so_and_the_status_leads_the_message() -> None:
    # The target is some other gRPC server (a health-only one here, as Katib's port is): gRPC's
    # "Method not found!" named neither the status nor a likely cause.
    server = grpc.server(ThreadPoolExecutor(max_workers=1))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with AdvisorClient(f"127.0.0.1:{port}") as client, pytest.raises(AdvisorRpcError) as caught:
            client.list_presets()
    finally:
        server.stop(None)
    assert caught.value.code == grpc.StatusCode.UNIMPLEMENTED
    assert str(caught.value).startswith("UNIMPLEMENTED: Method not found! (the server does not")
    assert "the advisor's port" in caught.value.details


def test_a_violation_of_the_whole_request_is_its_description_alone() -> None:
    # The service's answer cut at its size names the violations left out on the empty path: the
    # message ended "; : 190 more violation(s) left out".
    violations = [
        FieldViolation("task.input", "Field required"),
        FieldViolation("", "190 more violation(s) left out"),
    ]
    expected = "task.input: Field required; 190 more violation(s) left out"
    assert str(InvalidArgumentError("details", violations)) == expected
    assert str(InvalidRequestError(violations)) == expected
    assert violations_as_options(violations, {}) == expected  # the commands' one line
