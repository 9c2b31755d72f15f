"""Searches a caller named (``search_id``), running on this server, and ``FinishSearch``.

A ``RecommendRequest`` or ``StreamRecommendRequest`` may name its search. While it runs,
``FinishSearch`` with that name asks it to finish within :data:`FINISH_GRACE_SECONDS`: the search
answers its own call as its time limit would have it, with the best designs found so far
(``complete: false``, unless it scores its whole space within the grace; on a thread, the call's
stop signal is brought forward; in a worker process, the control block says so). Without
it a caller could only cancel the call, and gRPC returns nothing from a cancelled call.

Under mutual TLS each caller's names are its own: a search is held under its name and the
identity of the client certificate that asked for it (:data:`Caller`), so a caller of another
certificate can neither finish it nor learn that the name is in use (``ALREADY_EXISTS``), and may
give its own search the same name. Where the server authenticates no peer (plain text, TLS
without client certificates, the shared bearer token) every caller is the same one, and a name
nobody else can guess is what keeps a search one's own.

The names live on the event loop, which reads one from the request's bytes without decoding the
task (a request of megabytes is decoded by its call's worker, not here), so ``FinishSearch`` takes
no admission slot: it reaches a search while every slot is busy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final, NamedTuple, TypeAlias

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from advisor.protocol._proto.advisor.v1 import advisor_pb2

__all__ = [
    "FINISHED_FOUND_SECONDS",
    "FINISH_GRACE_SECONDS",
    "FINISH_METHOD",
    "NAMED_METHODS",
    "RunningSearch",
    "RunningSearches",
    "CALL_SEARCH_ID",
    "Caller",
    "SearchKey",
    "read_search_id",
]

NAMED_METHODS: Final = frozenset({"Recommend", "StreamRecommend"})
"""The methods whose request may name its search."""

FINISH_METHOD: Final = "FinishSearch"
"""The method answered on the event loop (:mod:`advisor.service.decoding`), not by a worker."""

CALL_SEARCH_ID: Final[ContextVar[str | None]] = ContextVar("advisor_call_search_id", default=None)
"""The search name the call being served gives or asks to finish, once the handler has read it
(:mod:`advisor.service.decoding`), for the access log's line (:mod:`advisor.service.access`).

The handler reads the name from the request's bytes once, as it must to hold the name or finish
its search; the access log, which wraps the handler in the call's own task, finds it here at the
call's end instead of parsing the request again. None: the call names no search, a name no search
may hold (the line quotes it, and such a name could hold a newline), or it was not read (a call
refused before its request arrived)."""

_FIELD: Final = advisor_pb2.RecommendRequest.DESCRIPTOR.fields_by_name["search_id"].number
assert advisor_pb2.StreamRecommendRequest.DESCRIPTOR.fields_by_name["search_id"].number == _FIELD


def _name_only_message() -> type[Message]:
    """Return a message class that declares ``search_id`` alone, at its number in the requests.

    Parsed as this message, a search request's task and budget are unknown fields, which
    protobuf's C parser skips by their lengths without decoding them.
    """
    file = descriptor_pb2.FileDescriptorProto(
        name="advisor/service/search_id_only.proto", package="advisor.service", syntax="proto3"
    )
    file.message_type.add(name="SearchIdOnly").field.add(
        name="search_id",
        number=_FIELD,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    pool = descriptor_pool.DescriptorPool()  # its own: the name is no part of the service's API
    pool.Add(file)
    return GetMessageClass(pool.FindMessageTypeByName("advisor.service.SearchIdOnly"))


_NAME_ONLY: Final = _name_only_message()


def read_search_id(payload: bytes) -> str | None:
    """Return the ``search_id`` of a serialized search request; None when it names none.

    Parsed as a message of that one field (the last ``search_id`` given counts, as protobuf
    decodes it) by protobuf's C parser, which skips the other fields in milliseconds: this runs
    on the event loop, which serves no other call meanwhile, and a request may hold megabytes of
    fields. A malformed message, or a name that is not UTF-8, gives None: the call's worker
    refuses such a request when it decodes it.
    """
    try:
        search_id: str = _NAME_ONLY.FromString(payload).search_id  # type: ignore[attr-defined]
    except DecodeError:
        return None
    return search_id or None


FINISH_GRACE_SECONDS: Final = 1.0
"""The time a search asked to finish has to answer: it plans its last designs' builds within it,
as under a time limit, so it answers with a page of them (at once, it would build only its best).
Counted from the ask, or from when the search's work begins if later (``StartedCall.hurry``): a
call may wait for a worker process (one that died is being replaced) after its name arrived."""


FINISHED_FOUND_SECONDS: Final = 60.0
"""How long a search asked to finish is still found by ``FinishSearch`` once it has ended.

``FinishSearch`` is idempotent, and the client retries it on ``UNAVAILABLE``: when the first
call's reply was lost, the search it asked ends within :data:`FINISH_GRACE_SECONDS`, and the retry
that came after was told ``NOT_FOUND`` (``finish_search`` False, "no search of that name") for a
search it had finished. Longer than the client's retries and its default 30 s timeout."""

_FINISHED_FOUND_MOST: Final = 4096
"""The most ended searches held for :data:`FINISHED_FOUND_SECONDS` (the oldest go first): each
took a slot and a ``FinishSearch``, but a flood of tiny ones would hold names without bound."""


Caller: TypeAlias = tuple[bytes, ...]
"""Who holds a search's name: gRPC's property that identifies an authenticated peer and that
peer's identities (``x509_subject_alternative_name`` and the client certificate's names, say),
or, for a certificate that names no one, its SHA-256 fingerprint; empty where the call's peer is
not authenticated."""


class SearchKey(NamedTuple):
    """A running search's name, as the caller who gave it (:data:`Caller`) holds it."""

    caller: Caller
    search_id: str


@dataclass(eq=False)
class RunningSearch:
    """One named search: how to hurry its work once it has begun, and whether it was asked."""

    hurry: Callable[[float], None] | None = None
    asked: bool = False


class RunningSearches:
    """The named searches running on this server, by caller and name (event loop only).

    And those asked to finish that ended in the last :data:`FINISHED_FOUND_SECONDS` by the
    ``clock``, which ``FinishSearch`` still finds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._running: dict[SearchKey, RunningSearch] = {}
        self._finished: dict[SearchKey, float] = {}  # when each is forgotten, soonest first
        self._clock = clock

    def claim(self, key: SearchKey) -> RunningSearch | None:
        """Hold ``key`` for a search about to begin; None if a running search holds it.

        A search of the name that ended finished is forgotten: a ``FinishSearch`` now is this one's.
        """
        if key in self._running:
            return None
        self._finished.pop(key, None)
        search = self._running[key] = RunningSearch()
        return search

    def begun(self, search: RunningSearch, hurry: Callable[[float], None]) -> None:
        """Record how to hurry ``search``'s work, now begun; hurry it at once if it was asked.

        ``hurry(seconds)`` counts from the work's start (``StartedCall.hurry``): a deadline
        counted from an ask that came while the call waited may pass before the work begins,
        and a search begun past its deadline answers with its single best design, not a page.
        """
        search.hurry = hurry
        if search.asked:
            hurry(FINISH_GRACE_SECONDS)

    def release(self, key: SearchKey, search: RunningSearch) -> None:
        """Let ``key`` go once ``search``'s work or call has ended (not a later search's).

        Its hurry goes too: it holds the call's work, the request's bytes included, and gRPC
        keeps the call's done callback, which releases the search, after the call.
        """
        search.hurry = None
        if self._running.get(key) is search:
            del self._running[key]
            if search.asked:
                self._finished[key] = self._clock() + FINISHED_FOUND_SECONDS
                if len(self._finished) > _FINISHED_FOUND_MOST:
                    del self._finished[next(iter(self._finished))]

    def finish(self, key: SearchKey) -> bool:
        """Ask the search held as ``key`` to finish within :data:`FINISH_GRACE_SECONDS`.

        False if no search of that caller runs by that name, unless one asked to finish ended
        within :data:`FINISHED_FOUND_SECONDS` (an ask retried: it is finished). Asked again, a
        search keeps its first deadline.
        """
        search = self._running.get(key)
        if search is None:
            return self._ended_finished(key)
        if not search.asked:
            search.asked = True
            if search.hurry is not None:
                search.hurry(FINISH_GRACE_SECONDS)
        return True

    def _ended_finished(self, key: SearchKey) -> bool:
        """Whether a search held as ``key`` was asked to finish and ended not long ago."""
        now = self._clock()
        while self._finished and next(iter(self._finished.values())) <= now:
            del self._finished[next(iter(self._finished))]
        return key in self._finished
