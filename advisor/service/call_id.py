"""The request id of the call being served, where every line about the call finds it.

Apart from :mod:`advisor.service.request_ids`, which sets it and needs gRPC, so that the log's
set-up (:mod:`advisor.service.logs`), which reads it, loads no gRPC: importing the serving
command (``from advisor.service.command import main``, what ``advisor-server`` runs before it
reads its arguments) loaded gRPC through it, which the command loads only to serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, Final

from advisor.protocol.metadata import (
    RANKING_VERSION_METADATA_KEY,
    REQUEST_ID_METADATA_KEY,
    SERVER_VERSION_METADATA_KEY,
)
from advisor.version import RANKING_VERSION, __version__

__all__ = ["CALL_REQUEST_ID", "call_trailers", "with_call_id"]

CALL_REQUEST_ID: ContextVar[str | None] = ContextVar("CALL_REQUEST_ID", default=None)
"""The request id of the call being served; None outside a call."""

_VERSIONS: Final = (
    (SERVER_VERSION_METADATA_KEY, __version__),
    (RANKING_VERSION_METADATA_KEY, str(RANKING_VERSION)),
)


def call_trailers(request_id: str) -> tuple[tuple[str, str], ...]:
    """Return the trailers every answer of the call of ``request_id`` carries, whatever its status.

    Its request id, and the server's advisor and ranking versions, so a client learns which
    version answered it (a fleet mid-upgrade answers with two).
    """
    return ((REQUEST_ID_METADATA_KEY, request_id), *_VERSIONS)


def with_call_id(trailers: Sequence[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """Return a status's ``trailers`` with the :func:`call_trailers` of the served call it lacks.

    They go in the call's trailers before its behaviour runs
    (:mod:`advisor.service.request_ids`), and an abort that names trailers of its own (a rich
    status, a worker's relayed status) replaces them: such an abort passes them through here.
    """
    request_id = CALL_REQUEST_ID.get()
    if request_id is None:
        return tuple(trailers)
    given = {key for key, _ in trailers}
    return (*trailers, *((k, v) for k, v in call_trailers(request_id) if k not in given))
