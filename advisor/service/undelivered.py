"""An answer its client went away before reading: a cancelled call, not a defect of the server.

A client that stops reading (its flow-control window full, or never opened) and then
disconnects leaves the server's write of its answer pending; gRPC's asyncio server then fails
that write with its ``ExecuteBatchError``. Raised out of a streaming handler it read as a defect:
the access line ``UNKNOWN``, counted in the ``INTERNAL|UNKNOWN`` alert's series, and gRPC's
ERROR line with a traceback. A unary call's answer is written by gRPC after its handler returned
(logged ``OK``), so only gRPC's ERROR line and traceback told of it. Any caller could write such
lines at will, each for a small search.

:func:`is_undelivered` tells that error apart, so a stream's write ends the call as cancelled
(:func:`~advisor.service.calls.relay`); :func:`quiet_undelivered` turns gRPC's line for a unary
answer into one INFO line without the traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = ["is_undelivered", "quiet_undelivered"]

_GRPC_LOGGER: Final = "grpc._cython.cygrpc"
"""The logger of gRPC's core binding, which logs a handler's failed batch at ERROR."""

_METHOD: Final = re.compile(r"\[(/[^\]]*)\]")
"""The method gRPC's line names, in brackets."""

_BATCH_ERROR: Final = "ExecuteBatchError"
"""gRPC's error of a batch the call could no longer run (its class is private to gRPC)."""


def is_undelivered(error: BaseException) -> bool:
    """Whether ``error`` is gRPC's failure to send on a call its client has left."""
    return type(error).__name__ == _BATCH_ERROR


class _UndeliveredAnswers(logging.Filter):
    """Rewrite gRPC's ERROR line of an answer it could not send into an INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; one of an undelivered answer is said as such, without traceback."""
        error = record.exc_info[1] if record.exc_info else None
        if error is None or not is_undelivered(error):
            return True
        # gRPC's line names the method in brackets: "... by servicer method [/pkg.Service/M]".
        named = _METHOD.search(record.getMessage())
        record.msg = "the answer to %s was not delivered: its client went away before reading it"
        record.args = (named.group(1) if named else "a call",)
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        record.exc_info, record.exc_text = None, None
        return True


_FILTER: Final = _UndeliveredAnswers()


def quiet_undelivered() -> None:
    """Install the rewrite of gRPC's line for an undelivered answer (once, whoever calls it)."""
    logger = logging.getLogger(_GRPC_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
