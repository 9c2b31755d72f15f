"""The peak of the memory Python allocates while a call runs, for tests of a bound on it."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import TypeVar

__all__ = ["traced_peak"]

_T = TypeVar("_T")


def traced_peak(call: Callable[[], _T]) -> tuple[_T, int]:
    """Run ``call``; return its result and the most bytes traced at once while it ran.

    NumPy's arrays are traced too; what was allocated before the call is not counted.
    """
    tracemalloc.start()
    try:
        result = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak
