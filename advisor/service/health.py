"""gRPC's health servicers with ``List`` answered and an unknown service refused in full.

grpcio-health-checking's servicers (1.85) answer ``Check`` and ``Watch`` but inherit ``List``
from the generated base class, which raises ``NotImplementedError``: a ``List`` call, which any
caller may make (health needs no token) and reflection lists, ended ``UNIMPLEMENTED`` with the
exception's text and logged an ERROR with its traceback every time. These subclasses answer it
from the statuses the servicer holds, the same ones ``Check`` reads. Their ``Check`` of a
service the server does not have ended ``NOT_FOUND`` with no message and no ``ErrorInfo``, which
every other status of the server carries (docs/SERVICE.md): it now names the service and the
ones the server has, with the reason ``SERVICE_NOT_FOUND``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import grpc
from grpc_health.v1 import _async, health, health_pb2

from advisor.protocol.metadata import SERVICE_NOT_FOUND_REASON
from advisor.service.status import reason_status
from advisor.service.threads import CallAbortedError, abort_call, abort_sync_call

__all__ = ["AsyncHealthServicer", "SyncHealthServicer", "health_list"]


def health_list(statuses: Mapping[str, int]) -> health_pb2.HealthListResponse:
    """Return the ``List`` answer of services of these serving statuses (``""``: the server)."""
    return health_pb2.HealthListResponse(
        statuses={
            service: health_pb2.HealthCheckResponse(status=status)
            for service, status in statuses.items()
        }
    )


def _unknown(service: str, statuses: Mapping[str, int]) -> CallAbortedError | None:
    """Return the refusal of a ``Check`` of ``service`` where the server has none of that name."""
    if service in statuses:
        return None
    served = ", ".join(repr(name) for name in sorted(statuses))
    # Cut, as the name goes in the message, the status details and the ErrorInfo: whole, a name
    # of 20,000 characters took the trailers past a client's metadata limit (RESOURCE_EXHAUSTED).
    shown = service if len(service) <= _SHOWN_NAME else f"{service[: _SHOWN_NAME - 3]}..."
    return reason_status(
        grpc.StatusCode.NOT_FOUND,
        f"no service {shown!r} on this server; its health services: {served} ('': the server)",
        SERVICE_NOT_FOUND_REASON,
        {"service": shown},
    )


_SHOWN_NAME: Final = 100
"""The most characters of an unknown service's name a health refusal repeats, ``...`` included."""


# The servicers keep their statuses in ``_server_status``, a name both have had since
# grpcio-health-checking 1.x; it is the one place they hold them.
class AsyncHealthServicer(_async.HealthServicer):  # type: ignore[misc]  # grpc_health: untyped
    """The ``grpc.aio`` servicer (the advisor's server), with ``List``."""

    async def List(  # noqa: N802 - gRPC method names come from the proto
        self,
        request: health_pb2.HealthListRequest,
        context: grpc.aio.ServicerContext[object, object],
    ) -> health_pb2.HealthListResponse:
        """Answer every registered service's status; the event loop's alone changes them."""
        return health_list(self._server_status)

    async def Check(  # noqa: N802 - gRPC method names come from the proto
        self,
        request: health_pb2.HealthCheckRequest,
        context: grpc.aio.ServicerContext[object, object],
    ) -> health_pb2.HealthCheckResponse:
        """Answer a service's status, or refuse one the server has not (:func:`_unknown`)."""
        refusal = _unknown(request.service, self._server_status)
        if refusal is not None:
            await abort_call(context, refusal)
        response: health_pb2.HealthCheckResponse = await super().Check(request, context)
        return response


class SyncHealthServicer(health.HealthServicer):  # type: ignore[misc]  # grpc_health: untyped
    """The synchronous servicer (the Katib endpoint), with ``List``."""

    def List(  # noqa: N802 - gRPC method names come from the proto
        self, request: health_pb2.HealthListRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthListResponse:
        """Answer every registered service's status, read under the servicer's lock."""
        with self._lock:
            return health_list(self._server_status)

    def Check(  # noqa: N802 - gRPC method names come from the proto
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        """Answer a service's status, or refuse one the server has not (:func:`_unknown`)."""
        with self._lock:
            refusal = _unknown(request.service, self._server_status)
        if refusal is not None:
            abort_sync_call(context, refusal)
        response: health_pb2.HealthCheckResponse = super().Check(request, context)
        return response
