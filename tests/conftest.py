"""Shared test configuration: deterministic hypothesis runs (CI must not flake), a heap that
stalls no timed search, Ctrl-C taken even by a suite started ignoring it, and the scripted fake
of the service the client's tests call (``fake``)."""

import signal
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from advisor.service.server import freeze_long_lived_objects
from tests.support.scripted import ScriptedAdvisor, scripted_server

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


@pytest.fixture(scope="session", autouse=True)
def _ctrl_c_taken() -> Iterator[None]:
    """Take Ctrl-C as a process started from a terminal does, for the whole session.

    A suite started as a script's background job (``bash .ci/test &``) begins with SIGINT
    ignored, and Python then leaves it ignored: the tests that press Ctrl-C on this process found
    their search run to its end, and the commands they start inherited the ignore and waited out
    their subprocess timeout (two minutes each) for a Ctrl-C that never landed.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if previous is not None:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def fake() -> Iterator[tuple[ScriptedAdvisor, str]]:
    """Serve a :class:`ScriptedAdvisor` on 127.0.0.1; yield it and its target."""
    servicer = ScriptedAdvisor()
    with scripted_server(servicer) as target:
        yield servicer, target
