"""Searches a caller named (``search_id``), running on this server, and ``FinishSearch``.

A ``RecommendRequest`` or ``StreamRecommendRequest`` may name its search. While it runs,
``FinishSearch`` with that name asks it to finish now: the search answers its own call as its time
limit would have it, ``complete: false`` with the best designs found so far (on a thread, the
call's stop signal is brought forward; in a worker process, the control block says so). Without
it a caller could only cancel the call, and gRPC returns nothing from a cancelled call.

The names live on the event loop, which reads one from the request's bytes without decoding the
task (a request of megabytes is decoded by its call's worker, not here), so ``FinishSearch`` takes
no admission slot: it reaches a search while every slot is busy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from advisor.protocol._proto.advisor.v1 import advisor_pb2

__all__ = [
    "FINISH_GRACE_SECONDS",
    "FINISH_METHOD",
    "NAMED_METHODS",
    "RunningSearch",
    "RunningSearches",
    "read_search_id",
]

NAMED_METHODS: Final = frozenset({"Recommend", "StreamRecommend"})
"""The methods whose request may name its search."""

FINISH_METHOD: Final = "FinishSearch"
"""The method answered on the event loop (:mod:`advisor.service.decoding`), not by a worker."""

_FIELD: Final = advisor_pb2.RecommendRequest.DESCRIPTOR.fields_by_name["search_id"].number
assert advisor_pb2.StreamRecommendRequest.DESCRIPTOR.fields_by_name["search_id"].number == _FIELD

_LENGTH_DELIMITED: Final = 2
_FIXED_BYTES: Final = {1: 8, 5: 4}  # wire types 1 (64-bit) and 5 (32-bit)


def read_search_id(payload: bytes) -> str | None:
    """Return the ``search_id`` of a serialized search request; None when it names none.

    Read from the message's top-level fields, skipping the others by their lengths (the last
    ``search_id`` given counts, as protobuf decodes it). A malformed message, or a name that is
    not UTF-8, gives None: the call's worker refuses such a request when it decodes it.
    """
    found: bytes | None = None
    position = 0
    try:
        while position < len(payload):
            key, position = _varint(payload, position)
            number, wire_type = key >> 3, key & 7
            if wire_type == 0:
                _, position = _varint(payload, position)
            elif wire_type in _FIXED_BYTES:
                position += _FIXED_BYTES[wire_type]
            elif wire_type == _LENGTH_DELIMITED:
                length, position = _varint(payload, position)
                if number == _FIELD:
                    found = payload[position : position + length]
                position += length
            else:
                return None
        if position > len(payload) or not found:
            return None
        return found.decode("utf-8")
    except (IndexError, UnicodeDecodeError):
        return None


def _varint(payload: bytes, position: int) -> tuple[int, int]:
    """Return the varint at ``position`` and the position after it (IndexError: cut short)."""
    value = shift = 0
    while True:
        byte = payload[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


FINISH_GRACE_SECONDS: Final = 1.0
"""The time a search asked to finish has to answer: it plans its last designs' builds within it,
as under a time limit, so it answers with a page of them (at once, it would build only its best).
The command's Ctrl-C gives an embedded search as long."""


@dataclass(eq=False)
class RunningSearch:
    """One named search: how to hurry its work once it has begun, and the deadline it was given."""

    hurry: Callable[[float], None] | None = None
    deadline: float | None = None


class RunningSearches:
    """The named searches running on this server, by name (used on the event loop only)."""

    def __init__(self) -> None:
        self._running: dict[str, RunningSearch] = {}

    def claim(self, search_id: str) -> RunningSearch | None:
        """Hold ``search_id`` for a search about to begin; None if a running search holds it."""
        if search_id in self._running:
            return None
        search = self._running[search_id] = RunningSearch()
        return search

    def begun(self, search: RunningSearch, hurry: Callable[[float], None]) -> None:
        """Record how to hurry ``search``'s work, now begun; hurry it at once if it was asked."""
        search.hurry = hurry
        if search.deadline is not None:
            hurry(search.deadline)

    def release(self, search_id: str, search: RunningSearch) -> None:
        """Let ``search_id`` go once ``search``'s call has ended (not a later search's)."""
        if self._running.get(search_id) is search:
            del self._running[search_id]

    def finish(self, search_id: str) -> bool:
        """Ask the search named ``search_id`` to finish within :data:`FINISH_GRACE_SECONDS`.

        False if no search runs by that name. Asked again, it keeps its first deadline.
        """
        search = self._running.get(search_id)
        if search is None:
            return False
        if search.deadline is None:
            search.deadline = time.monotonic() + FINISH_GRACE_SECONDS
            if search.hurry is not None:
                search.hurry(search.deadline)
        return True
