"""A server process's resident memory over a bench: idle, peak, and after the load has gone.

The reliability target (docs/RELIABILITY.md): 10 s after a burst, the server's RSS is back within
20% of its idle size. The server's RSS is that of the serving process and its worker processes,
summed (:meth:`ServerProcess.rss_bytes`).
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

from tests.support.server_process import ServerProcess

__all__ = ["SETTLE_SECONDS", "RssWatch"]

SETTLE_SECONDS = 10.0
"""How long after a burst the memory is read again."""

_MB = 1024 * 1024


class RssWatch:
    """Samples ``server``'s RSS every ``interval`` seconds while in its ``with`` block.

    ``idle`` is read on entry, ``peak`` is the largest sample, ``after`` is read by
    :meth:`settle`, ``SETTLE_SECONDS`` after the block (call it once the load has stopped).
    """

    def __init__(self, server: ServerProcess, interval: float = 0.5) -> None:
        self._server = server
        self._interval = interval
        self.idle = server.rss_bytes()
        self.peak = self.idle
        self.after = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-watch")

    def _sample(self) -> None:
        while not self._stopped.wait(self._interval):
            self.peak = max(self.peak, self._server.rss_bytes())

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopped.set()
        self._thread.join()

    def settle(self) -> None:
        """Wait ``SETTLE_SECONDS`` and read the RSS again."""
        time.sleep(SETTLE_SECONDS)
        self.after = self._server.rss_bytes()

    @property
    def recovered(self) -> bool:
        """Whether the settled RSS is within 20% of the idle one."""
        return self.after <= 1.2 * self.idle

    def summary(self) -> str:
        """One sentence with the three figures."""
        return (
            f"Server RSS (serving and worker processes, summed) idle {self.idle / _MB:.0f} MB, "
            f"peak {self.peak / _MB:.0f} MB, "
            f"{self.after / _MB:.0f} MB {SETTLE_SECONDS:g} s after "
            f"({self.after / self.idle - 1:+.0%} of idle; target within +20%)."
        )
