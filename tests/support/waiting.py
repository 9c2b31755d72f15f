"""Waiting in a test for a condition another thread or process brings about."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Return once ``condition()`` holds; fail the test if it does not within ``timeout`` seconds.

    The default is generous: a loaded machine may take seconds for what a quiet one does at once,
    and the wait ends as soon as the condition holds. A test whose claim is a bound passes its own.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition not reached in {timeout:g} s"
        time.sleep(0.01)
