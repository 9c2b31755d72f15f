"""gRPC's health servicers with ``List`` answered: every service's status, as the proto says.

grpcio-health-checking's servicers (1.85) answer ``Check`` and ``Watch`` but inherit ``List``
from the generated base class, which raises ``NotImplementedError``: a ``List`` call, which any
caller may make (health needs no token) and reflection lists, ended ``UNIMPLEMENTED`` with the
exception's text and logged an ERROR with its traceback every time. These subclasses answer it
from the statuses the servicer holds, the same ones ``Check`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from grpc_health.v1 import _async, health, health_pb2

__all__ = ["AsyncHealthServicer", "SyncHealthServicer", "health_list"]


def health_list(statuses: Mapping[str, int]) -> health_pb2.HealthListResponse:
    """Return the ``List`` answer of services of these serving statuses (``""``: the server)."""
    return health_pb2.HealthListResponse(
        statuses={
            service: health_pb2.HealthCheckResponse(status=status)
            for service, status in statuses.items()
        }
    )


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


class SyncHealthServicer(health.HealthServicer):  # type: ignore[misc]  # grpc_health: untyped
    """The synchronous servicer (the Katib endpoint), with ``List``."""

    def List(  # noqa: N802 - gRPC method names come from the proto
        self, request: health_pb2.HealthListRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthListResponse:
        """Answer every registered service's status, read under the servicer's lock."""
        with self._lock:
            return health_list(self._server_status)
