"""A gRPC server of a test served on 127.0.0.1: the one way the test servers here are served.

:func:`loopback_served` starts a server the caller has built (its services added), yields the
target a client dials and stops the server after; the scripted advisor, the servers of another
advisor version and the servers that are no advisor are served by it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

__all__ = ["loopback_served"]


@contextmanager
def loopback_served(server: grpc.Server, port: int = 0) -> Iterator[str]:
    """Serve ``server`` on 127.0.0.1 and yield its target; stop it, at once, after.

    ``port`` 0 takes any free port; another is a given one.
    """
    port = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)
