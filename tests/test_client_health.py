"""The client's health check: is the server serving the advisor, or draining, or not up yet.

A pipeline that starts ``advisor serve`` waits for it, and one with several servers skips a
draining one; both go through ``AdvisorClient.check_health``, against the scripted service's
health servicer, which a test turns NOT_SERVING.
"""

from __future__ import annotations

import grpc
import pytest
from advisor_client.client import AdvisorClient
from advisor_client.errors import AdvisorRpcError, DeadlineExceededError, UnavailableError
from grpc_health.v1 import health, health_pb2

from advisor.errors import InvalidRequestError
from advisor.service.katib_server import start_katib_server
from advisor.service.server import ADVISOR_SERVICE_NAME
from tests.support.other_servers import other_grpc_server
from tests.support.scripted import ScriptedAdvisor, closed_target, scripted_server


def test_a_serving_server_is_healthy_and_a_draining_one_is_not() -> None:
    servicer = ScriptedAdvisor()
    with scripted_server(servicer) as target, AdvisorClient(target) as client:
        assert client.check_health() is True
        servicer.health.set(ADVISOR_SERVICE_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)
        assert client.check_health() is False
    assert sum(servicer.calls.values()) == 0  # the check is no advisor call


class _ReadyAfterOneCheck(health.HealthServicer):  # type: ignore[misc]  # grpc_health: untyped
    """Health that answers its first check NOT_SERVING and every later one SERVING.

    A server whose workers load (``advisor serve`` starting) answers so: NOT_SERVING from the
    moment its port is bound, SERVING once a worker is ready.
    """

    def __init__(self) -> None:
        super().__init__()
        self.set(ADVISOR_SERVICE_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)

    def Check(  # noqa: N802 - gRPC method names come from the proto
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        response = super().Check(request, context)
        self.set(ADVISOR_SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        return response


def test_waiting_for_ready_waits_past_not_serving_until_serving() -> None:
    # A caller waiting for a starting server got False at its first NOT_SERVING answer, as if
    # the server were draining, where it was to wait until the server serves.
    servicer = ScriptedAdvisor()
    servicer.health = _ReadyAfterOneCheck()
    with scripted_server(servicer) as target, AdvisorClient(target) as client:
        assert client.check_health(wait_for_ready=True, timeout=30.0) is True


def test_waiting_for_ready_on_a_server_that_stays_not_serving_is_false_at_the_deadline() -> None:
    servicer = ScriptedAdvisor()
    servicer.health.set(ADVISOR_SERVICE_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)
    with scripted_server(servicer) as target, AdvisorClient(target) as client:
        assert client.check_health(wait_for_ready=True, timeout=0.5) is False


def test_a_server_not_up_is_unavailable_or_waited_for_until_the_deadline() -> None:
    with AdvisorClient(closed_target()) as client:
        with pytest.raises(UnavailableError):
            client.check_health(timeout=10.0)
        with pytest.raises(DeadlineExceededError):
            client.check_health(wait_for_ready=True, timeout=0.3)
        with pytest.raises(InvalidRequestError, match="wait_for_ready"):
            client.check_health(wait_for_ready="yes")  # type: ignore[arg-type]


def test_the_katib_endpoint_checked_as_the_advisor_says_the_target_may_be_katib_s() -> None:
    # The endpoint's health now refuses the advisor's service naming it (SERVICE_NOT_FOUND):
    # the client, which added its hint to a NOT_FOUND without details only, dropped it.
    server = start_katib_server("127.0.0.1", 0, workers=1)
    try:
        with (
            AdvisorClient(f"127.0.0.1:{server.port}") as client,
            pytest.raises(AdvisorRpcError) as caught,
        ):
            client.check_health()
    finally:
        server.stop(0)
    assert caught.value.code == grpc.StatusCode.NOT_FOUND
    assert caught.value.reason == "SERVICE_NOT_FOUND"
    assert caught.value.details.startswith(
        "no service 'advisor.v1.ArchitectureAdvisor' on this server;"
    )
    assert caught.value.details.endswith("not another gRPC server's such as Katib's endpoint?)")


def test_a_server_whose_health_does_not_know_the_advisor_says_so() -> None:
    # A gRPC server's stock health service answers NOT_FOUND, with no details, for a service it
    # does not know. The error said only "NOT_FOUND", naming neither the advisor nor a likely
    # cause.
    with (
        other_grpc_server(with_health=True) as target,
        AdvisorClient(target) as client,
        pytest.raises(AdvisorRpcError) as caught,
    ):
        client.check_health()
    assert caught.value.code == grpc.StatusCode.NOT_FOUND
    assert str(caught.value).startswith("NOT_FOUND: unknown service (the server's health service")
    assert "advisor.v1.ArchitectureAdvisor" in caught.value.details
    assert "the advisor's port" in caught.value.details


def test_a_server_without_a_health_service_is_not_said_to_lack_an_advisor_method() -> None:
    # The hint for UNIMPLEMENTED named "this advisor.v1.ArchitectureAdvisor method" where the
    # method called was grpc.health.v1.Health/Check.
    with (
        other_grpc_server(with_health=False) as target,
        AdvisorClient(target) as client,
        pytest.raises(AdvisorRpcError) as caught,
    ):
        client.check_health()
    assert caught.value.code == grpc.StatusCode.UNIMPLEMENTED
    assert "this advisor.v1.ArchitectureAdvisor method" not in caught.value.details
    assert "the method called" in caught.value.details
    assert "health check" in caught.value.details
