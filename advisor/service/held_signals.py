"""Hold a supervisor's SIGTERM (or a closed terminal's SIGHUP) that comes while the server loads.

The serve entry points (``advisor serve``, ``advisor-server``, ``server.py``) import gRPC and the
server only once their options are read, and :func:`~advisor.service.server.serve_forever`
handles the drain signals only once that is done: about half a second, longer on a busy machine.
A SIGTERM in that time ended the process outright (exit status 143, nothing logged), where one a
moment later stopped the start cleanly with exit status 0. The entry points call
:func:`hold_drain_signals` first thing; a signal that comes before ``serve_forever`` takes over
is recorded here, and ``serve_forever`` acts on it as on one received while it starts: "stopped
before serving", exit status 0.

This module imports nothing but :mod:`signal`, so holding costs nothing before the heavy imports.
SIGINT is not held: Ctrl-C while the server loads stays ``interrupted`` and exit status 1, as
``advisor serve`` ends on an interruption.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Final

__all__ = ["HELD_SIGNALS", "hold_drain_signals", "release_drain_signals", "take_held_signals"]

HELD_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)
"""The drain signals held while the server loads: those whose default action ends the process."""

_held: list[signal.Signals] = []


def hold_drain_signals() -> None:
    """Record :data:`HELD_SIGNALS` from now on instead of dying of them.

    Only a signal left at its default action is held: one the process was started ignoring
    (``nohup``'s SIGHUP) stays ignored, and one a program embedding the server handles stays
    its own.
    """
    for signum in HELD_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _hold)


def release_drain_signals() -> None:
    """Give back their default action to the signals :func:`hold_drain_signals` holds."""
    for signum in HELD_SIGNALS:
        if signal.getsignal(signum) is _hold:
            signal.signal(signum, signal.SIG_DFL)


def take_held_signals() -> list[signal.Signals]:
    """Return the signals held since :func:`hold_drain_signals`, in order, and forget them."""
    taken = list(_held)
    _held.clear()
    return taken


def _hold(signum: int, frame: FrameType | None) -> None:
    _held.append(signal.Signals(signum))
