"""The request id of the call being served, where every line about the call finds it.

Apart from :mod:`advisor.service.request_ids`, which sets it and needs gRPC, so that the log's
set-up (:mod:`advisor.service.logs`), which reads it, loads no gRPC: importing the serving
command (``from advisor.service.command import main``, what ``advisor-server`` runs before it
reads its arguments) loaded gRPC through it, which the command loads only to serve.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["CALL_REQUEST_ID"]

CALL_REQUEST_ID: ContextVar[str | None] = ContextVar("CALL_REQUEST_ID", default=None)
"""The request id of the call being served; None outside a call."""
