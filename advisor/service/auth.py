"""Optional bearer-token authentication as a server interceptor.

A call must carry exactly one ``authorization: Bearer <token>`` metadata entry matching the
configured token, compared in constant time (:func:`hmac.compare_digest`) so response timing
does not reveal how much of a guess was right. Services listed as exempt (the health service,
which load balancers probe without credentials) pass through unchecked.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Collection
from typing import Any, TypeAlias

import grpc

from advisor.protocol.metadata import AUTHORIZATION_METADATA_KEY

__all__ = ["BearerTokenInterceptor"]

_LOGGER = logging.getLogger(__name__)

# grpc's handler type is generic only in its type stubs, hence the quoted alias.
_Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


def _refuse(request: object, context: grpc.ServicerContext) -> None:
    context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """Reject calls without the right bearer token with ``UNAUTHENTICATED``.

    Parameters
    ----------
    token
        The shared secret clients send as ``authorization: Bearer <token>``; must be non-empty.
    exempt_services
        Fully qualified service names (e.g. ``grpc.health.v1.Health``) that need no token.
    """

    def __init__(self, token: str, exempt_services: Collection[str]) -> None:
        if not token:
            raise ValueError("the bearer token must not be empty")
        self._expected = f"Bearer {token}".encode()
        self._exempt_services = frozenset(exempt_services)
        # A status-only answer is the same on the wire for every RPC shape, so one unary handler
        # refuses streaming calls too.
        self._refusal: _Handler = grpc.unary_unary_rpc_method_handler(_refuse)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], _Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> _Handler | None:
        """Pass authorised and exempt calls on; answer every other call ``UNAUTHENTICATED``."""
        method = handler_call_details.method
        service = method.lstrip("/").partition("/")[0]
        if service in self._exempt_services or self._authorized(handler_call_details):
            return continuation(handler_call_details)
        _LOGGER.warning("refused %s: missing or invalid bearer token", method)
        return self._refusal

    def _authorized(self, handler_call_details: grpc.HandlerCallDetails) -> bool:
        values = [
            value
            for key, value in handler_call_details.invocation_metadata or ()
            if key == AUTHORIZATION_METADATA_KEY
        ]
        if len(values) != 1:
            return False
        presented = values[0].encode() if isinstance(values[0], str) else values[0]
        return hmac.compare_digest(presented, self._expected)
