"""A TCP relay in front of a test server whose connections a test cuts, as a server killed would.

A server process killed by SIGKILL leaves its clients' connections closed under their calls
(gRPC: ``Socket closed``); :class:`Relay` does the same to the calls through it, in-process and
at the moment the test chooses.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

__all__ = ["Relay", "relayed"]


class Relay:
    """Forwards each connection to 127.0.0.1:``target``'s port until :meth:`cut`."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.target = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = False
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def cut(self) -> None:
        """Close the listener and every connection through the relay, both ends at once."""
        with self._lock:
            self._cut = True
            # Shut down first: a close alone leaves the thread in accept() listening on.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            for end in self._sockets:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # the listener closed: cut
                return
            try:
                server = socket.create_connection(self._upstream)
            except OSError:  # the server stopped: the connection is refused, as it would be
                client.close()
                continue
            with self._lock:
                if self._cut:  # accepted as the relay was cut: closed as the others were
                    client.close()
                    server.close()
                    return
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until either closes."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)


@contextlib.contextmanager
def relayed(target: str) -> Iterator[Relay]:
    """Yield a :class:`Relay` to ``target``; cut it after."""
    relay = Relay(target)
    try:
        yield relay
    finally:
        relay.cut()
