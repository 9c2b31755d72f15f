"""The reading of a ``StreamRecommend`` call ahead of the code that takes its events.

A helper thread reads the stream as it arrives (:func:`pass_on`) into a queue the caller's
thread takes from: read at the pace of that code (a plot redrawn per event), the events queued
up and the result behind them came after the call's deadline, which failed it.
:func:`last_result` takes the queue to its result, handing a progress callback the newest event
each time, and :func:`read_status` reads a stream on past its result to the call's status, so
the server does not count a search that answered as cancelled.
:class:`~advisor_client.client.AdvisorClient` starts and cancels the call.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator

import grpc
from advisor_client.busy import Ended, Waiting

from advisor.model.results import SearchProgress, SearchResult
from advisor.protocol._proto.advisor.v1 import advisor_pb2

__all__ = ["StreamCalls", "last_result", "pass_on", "read_status"]


class StreamCalls:
    """The calls of one stream, the first and each opened anew after a busy server's refusal.

    Leaving the stream cancels them (:meth:`cancel`): the one in flight, and one opened after,
    which a retry the reader thread was about to make would otherwise start; and it ends the
    stream's wait for a slot (``waiting``, :class:`~advisor_client.busy.Waiting`) at once.
    """

    def __init__(
        self,
        first: grpc._CallIterator[advisor_pb2.StreamRecommendResponse],
        waiting: Waiting,
    ) -> None:
        self._lock = threading.Lock()
        self.latest = first
        self.waiting = waiting
        self._left = False

    def add(self, call: grpc._CallIterator[advisor_pb2.StreamRecommendResponse]) -> None:
        """Make ``call`` the stream's latest; cancelled at once if the stream was left."""
        with self._lock:
            self.latest = call
            if self._left:
                call.cancel()

    def cancel(self) -> None:
        """Cancel the latest call and any added later, and end the stream's wait for a slot."""
        with self._lock:
            self._left = True
            self.waiting.end(Ended.LEFT)
            self.latest.cancel()


def read_status(responses: Iterator[advisor_pb2.StreamRecommendResponse]) -> None:
    """Read a stream on past its result, to the call's status, before the result is handed on.

    The server sends its status right after the result; the call was cancelled as soon as the
    result was taken, often before that status came, and the server logged and counted a
    search that answered as ``CANCELLED``. A failure this late (a deadline passed just after
    the result) leaves the result as it is.
    """
    with contextlib.suppress(grpc.RpcError):
        for _ in responses:
            pass


def pass_on(
    events: Iterator[SearchProgress | SearchResult],
    arrived: queue.SimpleQueue[SearchProgress | SearchResult | Exception],
) -> None:
    """Put each of ``events`` into ``arrived`` as it comes, then the error that ended them."""
    try:
        for event in events:
            arrived.put(event)
    except Exception as error:  # raised by the thread that waits on ``arrived``
        arrived.put(error)


def last_result(
    arrived: queue.SimpleQueue[SearchProgress | SearchResult | Exception],
    progress: Callable[[SearchProgress], object],
) -> SearchResult:
    """Return the result that ends ``arrived``, calling ``progress`` on the newest event so far.

    The events that came while ``progress`` ran are stale once it returns: it gets the newest
    of them only, and the last one before the result always. An error raises.
    """
    while True:
        batch = [arrived.get()]
        while not arrived.empty():
            batch.append(arrived.get_nowait())
        end = batch[-1]
        if isinstance(end, Exception):
            raise end
        newest = [event for event in batch if isinstance(event, SearchProgress)][-1:]
        for event in newest:
            progress(event)
        if isinstance(end, SearchResult):
            return end
