"""The request id of the call being served, where every line about the call finds it.

Apart from :mod:`advisor.service.request_ids`, which sets it and needs gRPC, so that the log's
set-up (:mod:`advisor.service.logs`), which reads it, loads no gRPC: importing the serving
command (``from advisor.service.command import main``, what ``advisor-server`` runs before it
reads its arguments) loaded gRPC through it, which the command loads only to serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from advisor.protocol.metadata import REQUEST_ID_METADATA_KEY

__all__ = ["CALL_REQUEST_ID", "with_call_id"]

CALL_REQUEST_ID: ContextVar[str | None] = ContextVar("CALL_REQUEST_ID", default=None)
"""The request id of the call being served; None outside a call."""


def with_call_id(trailers: Sequence[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """Return a status's ``trailers`` with the served call's request id, if it lacks one.

    The id goes in the call's trailers before its behaviour runs
    (:mod:`advisor.service.request_ids`), and an abort that names trailers of its own (a rich
    status, a worker's relayed status) replaces them: such an abort passes them through here.
    """
    request_id = CALL_REQUEST_ID.get()
    if request_id is None or any(key == REQUEST_ID_METADATA_KEY for key, _ in trailers):
        return tuple(trailers)
    return (*trailers, (REQUEST_ID_METADATA_KEY, request_id))
