"""The client's health check: is the server serving the advisor, or draining, or not up yet.

A pipeline that starts ``advisor serve`` waits for it, and one with several servers skips a
draining one; both go through ``AdvisorClient.check_health``, against the scripted service's
health servicer, which a test turns NOT_SERVING.
"""

from __future__ import annotations

import pytest
from advisor_client.client import AdvisorClient
from advisor_client.errors import DeadlineExceededError, UnavailableError
from grpc_health.v1 import health_pb2

from advisor.errors import InvalidRequestError
from advisor.service.server import ADVISOR_SERVICE_NAME
from tests.support.scripted import ScriptedAdvisor, closed_target, scripted_server


def test_a_serving_server_is_healthy_and_a_draining_one_is_not() -> None:
    servicer = ScriptedAdvisor()
    with scripted_server(servicer) as target, AdvisorClient(target) as client:
        assert client.check_health() is True
        servicer.health.set(ADVISOR_SERVICE_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)
        assert client.check_health() is False
    assert sum(servicer.calls.values()) == 0  # the check is no advisor call


def test_a_server_not_up_is_unavailable_or_waited_for_until_the_deadline() -> None:
    with AdvisorClient(closed_target()) as client:
        with pytest.raises(UnavailableError):
            client.check_health(timeout=10.0)
        with pytest.raises(DeadlineExceededError):
            client.check_health(wait_for_ready=True, timeout=0.3)
        with pytest.raises(InvalidRequestError, match="wait_for_ready"):
            client.check_health(wait_for_ready="yes")  # type: ignore[arg-type]
