"""Binding a server's endpoints: addresses as gRPC takes them, and why one cannot be bound.

The advisor's server, its metrics endpoint and the Katib endpoint bind through :func:`bind`,
which names the option that gave a failed address and says why it failed (gRPC says only
"Failed to bind"); :func:`shares_port` and :func:`port_taken_error` refuse two endpoints on one
port before either binds, and :func:`reaches_other_machines` tells a loopback-only server from
one other machines may call.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import stat
from collections.abc import Sequence
from typing import Any, Final, TypeAlias

import grpc

from advisor.errors import InvalidRequestError, ServerStartError
from advisor.files import os_reason
from advisor.protocol.metadata import UNIX_SCHEMES, is_loopback_ip, unix_socket_name
from advisor.stdout import shown_path

__all__ = [
    "SOCKET_PROBE_SECONDS",
    "UNIX_SOCKET_PATH_BYTES",
    "bind",
    "bind_error",
    "bind_problem",
    "host_port",
    "port_taken_error",
    "reaches_other_machines",
    "shares_port",
]


def host_port(host: str, port: int) -> str:
    """Return ``host:port`` as gRPC binds and dials it (an IPv6 host in brackets).

    A Unix domain socket (:data:`UNIX_SCHEMES`) is its own address, whatever ``port`` says: it
    was put in brackets as an IPv6 host (``[unix:/tmp/a.sock]:0``), and no bind took it.
    """
    if host.startswith(UNIX_SCHEMES):
        return host
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def bind(
    server: grpc.Server | grpc.aio.Server,
    host: str,
    port: int,
    settings: Sequence[str],
    credentials: grpc.ServerCredentials | None = None,
) -> int:
    """Bind ``server`` to ``host:port`` (TLS with ``credentials``); return the port it bound.

    The advisor's server and the Katib endpoint both bind here, so both say a Unix domain
    socket's port alike: 0, where gRPC says 1.

    Raises
    ------
    ServerStartError
        On ``settings`` (the options that gave the address, the host's first) when the address
        cannot be bound, saying why where that can be told (:func:`bind_problem`); for a Unix
        domain socket on the host's alone: it has no port.
    """
    address = host_port(host, port)
    taken = _live_socket_problem(host) or _port_in_use(host, port)
    if taken is not None:
        raise ServerStartError(settings[:1], f"cannot bind {address}: {taken}")
    try:
        if credentials is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, credentials)
    except RuntimeError as error:
        named = settings[:1] if host.startswith(UNIX_SCHEMES) else settings
        problem = bind_problem(host, port) or str(error)
        raise ServerStartError(named, f"cannot bind {address}: {problem}") from None
    return 0 if host.startswith(UNIX_SCHEMES) else bound


def bind_problem(host: str, port: int) -> str | None:
    """Say why gRPC could not bind ``host`` and ``port`` (as :func:`bind` takes them), or None.

    gRPC reports any failed bind as ``Failed to bind to address ...; set GRPC_VERBOSITY=debug
    ...``: an operator was left to rerun the server to learn whether the port was taken, the
    address not this machine's or the socket's directory missing. Asked only once gRPC's bind
    has failed, so nothing gRPC can bind is refused.
    """
    if host.startswith(UNIX_SCHEMES):
        return _unix_socket_problem(host)
    return _tcp_address_problem(host, port)


UNIX_SOCKET_PATH_BYTES: Final = 107
"""Longest path gRPC binds a Unix domain socket at: a ``sockaddr_un``'s ``sun_path`` of 108 bytes,
with its terminating NUL."""


def _unix_socket_problem(host: str) -> str | None:
    """Say why the socket path of ``host`` (``unix:PATH``) cannot be bound, or None if not known.

    ``unix-abstract:`` names have no path: None.
    """
    path = unix_socket_name(host)
    if path is None or not host.startswith("unix:"):
        return None
    length = len(os.fsencode(path))
    if length > UNIX_SOCKET_PATH_BYTES:
        return (
            f"the socket path is {length} bytes, over the {UNIX_SOCKET_PATH_BYTES} a Unix "
            "socket's path may hold; use a shorter one"
        )
    directory = os.path.dirname(path) or "."
    if not os.path.exists(directory):
        return f"directory {shown_path(directory)} does not exist"
    if not os.path.isdir(directory):
        return f"{shown_path(directory)} is not a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return (
            f"directory {shown_path(directory)} is not writable (a socket is a file created in it)"
        )
    if os.path.isdir(path):
        return f"{shown_path(path)} is a directory"
    if os.path.exists(path) and not stat.S_ISSOCK(os.stat(path).st_mode):
        # gRPC replaces a socket file a dead server left, never another file.
        return f"{shown_path(path)} is a file, not a socket: remove it or give another path"
    return None


SOCKET_PROBE_SECONDS: Final = 1.0
"""How long :func:`_live_socket_problem` waits for a server on a socket path to accept."""


def _live_socket_problem(host: str) -> str | None:
    """Say that a server answers on the socket of ``host`` (``unix:PATH``, ``unix-abstract:``).

    gRPC removes the file at a socket's path before it binds: a second server took a live
    server's socket over unseen, and the first one's stop then removed the second's. A file
    nobody accepts on (a server that died) is a stale socket gRPC may still replace. An
    abstract name in use failed gRPC's bind with only "Failed to bind": it is probed alike.
    """
    name = unix_socket_name(host)
    if not name:
        return None
    abstract = host.startswith("unix-abstract:")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(SOCKET_PROBE_SECONDS)
        try:
            probe.connect(f"\0{name}" if abstract else name)
        except (ConnectionRefusedError, FileNotFoundError, NotADirectoryError):
            return None
        except TimeoutError:
            pass  # a backlog full of connections: a live server that is busy
        except OSError:
            return None  # not a socket, or no access: gRPC's bind says why, if it fails
    return f"Address already in use (a server answers on {host if abstract else shown_path(name)})"


def _port_in_use(host: str, port: int) -> str | None:
    """Say that ``port`` is taken on an address of a TCP ``host`` that resolves to several.

    gRPC binds every address of the host and serves on those it could bind: ``localhost``
    resolves to 127.0.0.1 and ::1, and with the port taken on 127.0.0.1 a server listened on ::1
    alone, said ``listening on localhost:PORT``, and its IPv4 callers reached the other
    program. Each address is bound as gRPC binds it (:func:`_tcp_address_problem`) before gRPC
    does; only a port in use refuses the start (an address family the machine lacks, such as
    IPv6 in some containers, is gRPC's to skip). None for a single address (gRPC's own bind
    fails then), a port gRPC chooses (0) and a Unix domain socket.
    """
    if port == 0 or host.startswith(UNIX_SCHEMES):
        return None
    try:
        addresses = _bind_addresses(host, port)
    except (OSError, UnicodeError):
        return None  # gRPC's bind fails and bind_problem says why
    if len(addresses) < 2:
        return None
    for address in addresses:
        error = _refused_bind(address)
        if error is not None and error.errno == errno.EADDRINUSE:
            every = ", ".join(str(a[4][0]) for a in addresses)
            return (
                f"{bind_error(error)} on {address[4][0]} (the server binds every address of "
                f"{host}: {every})"
            )
    return None


def _refused_bind(address: _Address) -> OSError | None:
    """Bind one resolved ``address`` as gRPC binds it (``SO_REUSEADDR``), close it: the refusal."""
    family, kind, protocol, _, place = address
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(place)
        except OSError as error:
            return error
    return None


_BIND_ERROR_HINTS: Final[dict[int | None, str]] = {
    errno.EADDRNOTAVAIL: "no interface of this machine has that address",
    errno.EACCES: "a port below 1024 takes privileges",
}
"""What a cryptic ``bind`` error means for the server's address."""


def _tcp_address_problem(host: str, port: int) -> str | None:
    """Say why ``host:port`` cannot be bound, by binding it as gRPC does, or None if it can be.

    The host is resolved as gRPC resolves it (an empty one is every interface's) and each of
    its addresses bound with ``SO_REUSEADDR`` and closed at once: the first refusal is the reason.
    """
    try:
        addresses = _bind_addresses(host, port)
    except (OSError, UnicodeError) as error:
        reason = os_reason(error) if isinstance(error, OSError) else error
        return f"host {host} cannot be resolved ({reason})"
    for address in addresses:
        refused = _refused_bind(address)
        if refused is not None:
            return bind_error(refused)
    return None


def bind_error(error: OSError) -> str:
    """Say what the failed ``bind`` of a TCP address, ``error``, means."""
    reason = os_reason(error)
    hint = _BIND_ERROR_HINTS.get(error.errno)
    return reason if hint is None else f"{reason} ({hint})"


_WILDCARD_HOSTS: Final = frozenset({"0.0.0.0", "::", "[::]", ""})
"""Hosts that bind every interface, and so clash with any other host on the same port."""


def shares_port(host: str, port: int, other_host: str, other_port: int | None) -> bool:
    """Whether an endpoint on ``host:port`` would take the port of one on ``other_host``.

    The same port on overlapping hosts (the same, or either every interface's); 0 picks a free
    port, which never clashes, and a Unix domain socket has no port.
    """
    if port == 0 or port != other_port:
        return False
    if host.startswith(UNIX_SCHEMES) or other_host.startswith(UNIX_SCHEMES):
        return False
    if host == other_host or host in _WILDCARD_HOSTS or other_host in _WILDCARD_HOSTS:
        return True
    # Names and literals of one interface: localhost and 127.0.0.1 share 127.0.0.1.
    return bool(_resolved(host) & _resolved(other_host))


def _resolved(host: str) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Return the IP addresses a TCP ``host`` binds (none when it does not resolve).

    An IPv4-mapped address is the IPv4 address it maps: ``::ffff:127.0.0.1`` binds 127.0.0.1's
    port (the metrics endpoint there took ``--port``'s, and the start failed on ``--port``).
    """
    try:
        addresses = _bind_addresses(host, 0)
    except (OSError, UnicodeError):
        return set()
    found = {ipaddress.ip_address(str(address[4][0]).split("%")[0]) for address in addresses}
    return {
        address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address
        for address in found
    }


def port_taken_error(setting: str, port: int, owner: str) -> InvalidRequestError:
    """Return the error of ``setting``, whose ``port`` is option ``owner``'s too (``--port``).

    Refused up front: the second endpoint's bind failed only once the first served, its error
    naming that endpoint's host and port rather than the option that repeats them.
    """
    return InvalidRequestError.single(
        setting, f"{port} is {owner}'s too: each endpoint needs a port of its own"
    )


def reaches_other_machines(host: str) -> bool:
    """Whether a server bound on ``host`` may take calls from other machines.

    Not a Unix domain socket, and not an interface whose every address is loopback
    (``127.0.0.1``, ``localhost``, ``::1``, ``::ffff:127.0.0.1``); a wildcard (``0.0.0.0``,
    ``::``) or another machine's interface does. A host that does not resolve binds nothing.
    """
    if host.startswith(UNIX_SCHEMES):
        return False
    try:
        addresses = _bind_addresses(host, 0)
    except (OSError, UnicodeError):
        return False
    return not all(is_loopback_ip(str(address[4][0])) for address in addresses)


_Address: TypeAlias = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]
"""One resolved address, as ``socket.getaddrinfo`` gives it."""


def _bind_addresses(host: str, port: int) -> Sequence[_Address]:
    """Resolve the TCP ``host`` as gRPC binds it (an empty one is every interface's).

    Raises
    ------
    OSError, UnicodeError
        When the host cannot be resolved.
    """
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if name.lower() == "localhost":
        # gRPC binds both loopbacks for this name, whatever the hosts file lists (here only
        # 127.0.0.1, and gRPC listened on ::1 and 127.0.0.1).
        return [
            address
            for loopback in _LOOPBACKS
            for address in socket.getaddrinfo(loopback, port, type=socket.SOCK_STREAM)
        ]
    return socket.getaddrinfo(name or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)


_LOOPBACKS: Final = ("127.0.0.1", "::1")
"""The addresses gRPC binds for the host ``localhost``."""
