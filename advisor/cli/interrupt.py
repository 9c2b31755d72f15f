"""Ctrl-C during a search: finish the search and keep the designs it has found.

A search of minutes stopped by Ctrl-C used to end the command with nothing printed, though the
search had ranked designs all along. The command names its search (``search_id``), and the first
Ctrl-C asks the server to finish it (``FinishSearch``, tried until the server runs it: a large
task may still be on its way): the search answers within about a second as a time limit would
have it, ``complete: false`` with the best designs found so far, and the command prints them and
exits :attr:`~advisor.cli.options.ExitCode.INTERRUPTED`. The same for the embedded server and a
remote one. A second Ctrl-C aborts at once (exit 1, nothing printed), as the first used to.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Final

from advisor_client.client import AdvisorClient
from advisor_client.errors import AdvisorRpcError

from advisor.stdout import write_stderr

__all__ = ["STOPPING", "SearchInterrupt", "finisher"]

STOPPING: Final = (
    "advisor: stopping the search; its best designs so far follow (Ctrl-C again to abort)"
)

_RETRY_SECONDS: Final = 0.1
"""How often the stop asks again while the server runs no search of the name yet."""


def finisher(
    client: AdvisorClient, search_id: str, answered: threading.Event
) -> Callable[[], None]:
    """Return the stop of the search named ``search_id``: ask the server to finish it.

    Asked again every :data:`_RETRY_SECONDS` while the server runs no search of that name (its
    request still on its way) until ``answered`` is set. A server that refuses (one that does
    not know ``FinishSearch``) is named on standard error, and the search goes on; a refusal
    that comes once the search has answered is not (the command closing its client as it ends
    cancels a request still in flight), as nothing is left to finish.
    """

    def finish() -> None:
        while not answered.is_set():
            try:
                if client.finish_search(search_id):
                    return
            except AdvisorRpcError as error:
                if answered.is_set():
                    return
                write_stderr(
                    f"advisor: the server did not finish the search ({error.code.name}: "
                    f"{error.details}); Ctrl-C again to abort\n"
                )
                return
            answered.wait(_RETRY_SECONDS)

    return finish


class SearchInterrupt:
    """While entered, the first SIGINT calls ``stop`` on a thread of its own; later ones abort.

    ``stop`` asks the server to finish the search (:func:`finisher`; it makes calls and waits,
    so it cannot run in the signal handler, which interrupts the main thread's wait for the
    answer);
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
        write_stderr(f"{STOPPING}\n")
        threading.Thread(target=self._stop, name="advisor-interrupt", daemon=True).start()
