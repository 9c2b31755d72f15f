"""Shared test configuration: deterministic hypothesis runs (CI must not flake), and a heap that
stalls no timed search."""

import pytest
from hypothesis import HealthCheck, settings

from advisor.service.server import freeze_long_lived_objects

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def _long_lived_objects_frozen() -> None:
    """Freeze what the test process holds once it is set up, as a server process does.

    A full collection of the test suite's objects would otherwise stall a search a test times
    against a deadline.
    """
    freeze_long_lived_objects()
