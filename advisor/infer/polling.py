"""How task inference follows a stop signal: one poll between units of its work.

An inference has no partial result — an arrangement of half the windows, or a task measured on
some of its candidates, would be a different answer, not a worse one — so a stopped inference
raises :class:`~advisor.errors.StoppedError`, as an analysis does, and the service maps it to
``DEADLINE_EXCEEDED``, ``CANCELLED`` or, in a shutdown, ``UNAVAILABLE``.

The units are the recursion's splits (one METIS call, a balancing move, a round of swaps and each
pair of parts within it), the candidates the task measures and the arrangements it compares; the
longest is the first METIS split of the whole grid, which cannot be interrupted (docs/INFER.md,
"Limits").
"""

from __future__ import annotations

from advisor.errors import StoppedError
from advisor.stopping import StopSignal

__all__ = ["poll"]


def poll(stop: StopSignal | None) -> None:
    """Raise :class:`StoppedError` once ``stop`` has stopped; None never stops.

    Raises
    ------
    StoppedError
        When the deadline of ``stop`` has passed or it was cancelled.
    """
    if stop is not None and stop.stopped():
        raise StoppedError("the inference was stopped before it finished")
