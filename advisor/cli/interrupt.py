"""Ctrl-C during an embedded search: stop the search and keep the designs it has found.

A search of minutes stopped by Ctrl-C used to end the command with nothing printed, though the
search had ranked designs all along. With the embedded server (no ``--target``) the first
Ctrl-C now drains that server with a short grace (:data:`STOP_GRACE_SECONDS`): a draining
server brings its searches' deadlines forward, so the search answers as a time limit would
have it, ``complete: false`` with the best designs found so far, and the command prints them and
exits :attr:`~advisor.cli.options.ExitCode.INTERRUPTED`. A second Ctrl-C aborts at once (exit 1,
nothing printed), as the first used to. A remote server is not asked to stop: there Ctrl-C
cancels the call.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Final

__all__ = ["STOP_GRACE_SECONDS", "SearchInterrupt"]

STOP_GRACE_SECONDS: Final = 1.0
"""The grace the first Ctrl-C gives the search to answer: enough to build a page of designs on a
1024x1024 grid, short enough to feel like an answer to the key."""

STOPPING: Final = (
    "advisor: stopping the search; its best designs so far follow (Ctrl-C again to abort)"
)


class SearchInterrupt:
    """While entered, the first SIGINT calls ``stop`` on a thread of its own; later ones abort.

    ``stop`` drains the embedded server (it blocks until the server has stopped, so it cannot
    run in the signal handler, which interrupts the main thread's wait for the answer);
    ``before_message`` runs first in the handler (the progress bar erases its line). Outside
    the main thread, where Python delivers no signals, or where SIGINT is ignored, entering
    changes nothing.
    """

    def __init__(self, stop: Callable[[], None], before_message: Callable[[], None]) -> None:
        self._stop = stop
        self._before_message = before_message
        self._previous: Any = None
        self._installed = False
        self.interrupted = False

    def __enter__(self) -> SearchInterrupt:
        # A process that started with SIGINT ignored (a background job of a script, whose
        # Ctrl-C is the script's) keeps ignoring it, as it does before and after the search.
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        ):
            self._previous = signal.signal(signal.SIGINT, self._first)
            self._installed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _first(self, signum: int, frame: FrameType | None) -> None:
        """Start the stop, say so, and let the next Ctrl-C raise KeyboardInterrupt."""
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.interrupted = True
        self._before_message()
        print(STOPPING, file=sys.stderr, flush=True)
        threading.Thread(target=self._stop, name="advisor-interrupt", daemon=True).start()
