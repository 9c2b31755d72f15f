"""What a client's ``target`` may be, and how it is reached: checked before any channel is built.

gRPC takes any string as a target and reports a bad one only when a call fails, as
``UNAVAILABLE``, the transient failure a pipeline retries (a URL, stray whitespace, an IPv6
address with a port but no brackets); and it routes even a loopback target through the
environment's proxy. :func:`target_problem` names what can be no target;
:func:`is_loopback` says which targets bypass the proxy.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from advisor.protocol.metadata import address_problem, socket_name_problem

__all__ = ["is_loopback", "target_problem"]

_URL_SCHEMES: Final = ("http://", "https://", "grpc://", "grpcs://")
"""Schemes of URLs, never gRPC targets (``dns:``, ``unix:``, ``ipv4:`` ... are)."""


def target_problem(target: str) -> str | None:
    """Say why ``target`` can be no gRPC target (None when it may be).

    gRPC reads a URL or a name with whitespace as a host name, fails to resolve it, and fails
    every call ``UNAVAILABLE``: a transient failure, which a pipeline retries for ever.
    """
    problem = address_problem(target)
    if problem is not None:
        return problem
    if target != target.strip():
        return f"starts or ends with whitespace: {target!r}"
    socket = _socket_problem(target)
    if socket is not None:
        return socket
    bracketed = _unbracketed_ipv6(target)
    if bracketed is not None:
        return f"an IPv6 address with a port goes in brackets: pass {bracketed!r}"
    port = _bad_port(target)
    if port == "":
        return "ends in ':' without a port: pass host:port"
    if port is not None:
        return f"port {port!r} is not a port number, 1 to 65535"
    scheme = next((s for s in _URL_SCHEMES if target.lower().startswith(s)), None)
    if scheme is None:
        return None
    address = target[len(scheme) :].rstrip("/")
    tls = ", with TLS on" if scheme in ("https://", "grpcs://") else ""
    return f"is a URL; a gRPC target is host:port: pass {address!r}{tls}"


def _socket_problem(target: str) -> str | None:
    """Say why ``target`` names no Unix socket, if it is a ``unix:`` or ``unix-abstract:`` one.

    One of no name (:func:`~advisor.protocol.metadata.socket_name_problem`), as a server's
    ``--host``; and one with an authority, ``unix://adv.sock``, a typo of ``unix:adv.sock``,
    which gRPC fails with a bare ``UNKNOWN`` ("the target uri is not valid") and C log lines on
    stderr.
    """
    problem = socket_name_problem(target)
    if problem is not None or not target.startswith("unix://") or target.startswith("unix:///"):
        return problem
    name = target.removeprefix("unix://")
    return (
        f"{target!r} is no socket path (gRPC reads {name!r} as a host): pass 'unix:{name}' for "
        "a path relative to the working directory, or unix:///absolute/path"
    )


def _unbracketed_ipv6(target: str) -> str | None:
    """Return ``target`` with its IPv6 host in brackets, if it is ``v6:port`` without them.

    gRPC reads ``::1:50051`` as a host name, fails to resolve it ("Misformatted domain name")
    and fails every call ``UNAVAILABLE``. Only an unambiguous one is named: a whole target that
    is an IPv6 address (``::1:8080`` is one) is that address, on gRPC's default port.
    """
    scheme = next((s for s in ("dns:///", "dns:") if target.startswith(s)), "")
    address = target[len(scheme) :]
    host, _, port = address.rpartition(":")
    if not (port.isdigit() and _is_ipv6(host)) or _is_ipv6(address):
        return None
    return f"{scheme}[{host}]:{port}"


def _bad_port(target: str) -> str | None:
    """Return the port of ``target`` that is no port number, 1 to 65535 (None when all are).

    gRPC takes a port's digits modulo 65536 (``localhost:70000`` called port 4464, and
    ``localhost:115587`` port 50051, another server's) and fails a port of letters or 0 as a
    server it cannot reach, ``UNAVAILABLE``, retried. Only the targets that end in a port are
    read: ``host:port`` and ``[v6]:port``, alone or after one of :data:`_ADDRESS_SCHEMES` (a
    list of them after ``ipv4:`` and ``ipv6:``). An address without a port is left to gRPC's
    default, 443.
    """
    scheme = next((s for s in _ADDRESS_SCHEMES if target.startswith(s)), "")
    if not scheme and (target.partition(":")[0] in _SOCKET_SCHEMES or "/" in target):
        return None  # a socket's name or path, or another resolver's URI (``xds:///name``)
    for address in target[len(scheme) :].split(","):
        if address.startswith("["):
            port = address.partition("]")[2]
            if not port.startswith(":"):
                continue
            port = port[1:]
        elif ":" in address and not _is_ipv6(address):
            port = address.rpartition(":")[2]
        else:
            continue
        if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            return port
    return None


def _is_ipv6(text: str) -> bool:
    """Whether ``text`` is an IPv6 address (a scope such as ``%eth0`` included)."""
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


_SOCKET_SCHEMES: Final = ("unix", "unix-abstract", "vsock")
"""gRPC's target schemes of local sockets, whose name may hold a colon (``unix-abstract:a:b``)."""

_ADDRESS_SCHEMES: Final = ("dns:///", "dns:", "ipv4:///", "ipv4:", "ipv6:///", "ipv6:")
"""Target schemes the address follows at once (``ipv4:`` and ``ipv6:`` a comma-separated list of
addresses), each with an empty authority too (``ipv4:///127.0.0.1:50051``); ``dns:`` with a DNS
server (``dns://8.8.8.8/host:port``) names no address this way, and keeps the proxy."""


def is_loopback(target: str) -> bool:
    """Whether ``target`` names this machine: ``localhost``, 127.0.0.0/8 or ``::1``.

    gRPC sends every connection through the proxy of ``http_proxy``/``https_proxy`` unless
    ``no_proxy`` names its host, loopback included: with a proxy set, as on many company
    machines and CI runners, a client of a server in the same process or on the same machine
    (the command's own server, ``start_server``) failed ``UNAVAILABLE``. A loopback target
    bypasses the proxy, as Go's ``ProxyFromEnvironment`` does, in every form gRPC reads it:
    ``127.0.0.1:50051``, ``dns:///localhost:50051``, ``dns:localhost:50051``,
    ``ipv4:127.0.0.1:50051``, ``ipv4:///127.0.0.1:50051``, ``ipv6:[::1]:50051``,
    ``ipv6:///[::1]:50051`` (a list of addresses when every one is).
    """
    scheme = next((s for s in _ADDRESS_SCHEMES if target.startswith(s)), "")
    return all(_names_this_machine(address) for address in target[len(scheme) :].split(","))


def _names_this_machine(address: str) -> bool:
    """Whether ``address`` (``host:port``, ``[v6]:port``) is this machine's, by its host."""
    host = address[1:].partition("]")[0] if address.startswith("[") else address.rpartition(":")[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
