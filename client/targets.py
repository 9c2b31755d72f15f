"""What a client's ``target`` may be, and how it is reached: checked before any channel is built.

gRPC takes any string as a target and reports a bad one only when a call fails, as
``UNAVAILABLE``, the transient failure a pipeline retries (a URL, stray whitespace, an IPv6
address with a port but no brackets); and it routes even a loopback target through the
environment's proxy. :func:`target_problem` names what can be no target;
:func:`is_loopback` says which targets bypass the proxy.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from advisor.protocol.metadata import address_problem, is_loopback_ip, socket_name_problem

__all__ = ["host_name_problem", "is_loopback", "may_be_several", "target_problem"]

_HOST_LABEL: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
"""One label of a host name (RFC 1123): letters, digits and inner hyphens, at most 63."""

_MAX_HOST_NAME: Final = 253
"""The longest host name, without a final dot (RFC 1035's 255 octets on the wire)."""

_URL_SCHEMES: Final = ("http://", "https://", "grpc://", "grpcs://")
"""Schemes of URLs, never gRPC targets (``dns:``, ``unix:``, ``ipv4:`` ... are)."""


def target_problem(target: str, *, plaintext: bool = False) -> str | None:
    """Say why ``target`` can be no gRPC target (None when it may be).

    gRPC reads a URL or a name with whitespace as a host name, fails to resolve it, and fails
    every call ``UNAVAILABLE``: a transient failure, which a pipeline retries for ever. With
    ``plaintext`` (a channel without TLS), an address without a port is refused too: gRPC
    calls it on port 443, TLS's, in plaintext.
    """
    problem = address_problem(target)
    if problem is not None:
        return problem
    if target != target.strip():
        return f"starts or ends with whitespace: {target!r}"
    socket = socket_name_problem(target)
    if socket is not None:
        return socket
    bracketed = _unbracketed_ipv6(target)
    if bracketed is not None:
        return f"an IPv6 address with a port goes in brackets: pass {bracketed!r}"
    named = _addresses(target)
    if named is not None:
        return _port_problem(*named, plaintext=plaintext)
    scheme = next((s for s in _URL_SCHEMES if target.lower().startswith(s)), None)
    if scheme is None:
        return None
    address = target[len(scheme) :].rstrip("/")
    tls = ", with TLS on" if scheme in ("https://", "grpcs://") else ""
    return f"is a URL; a gRPC target is host:port: pass {address!r}{tls}"


def host_name_problem(name: str) -> str | None:
    """Say why ``name`` is neither a host name nor an IP address (None when it is one).

    What a TLS ``server_name`` checks the server's certificate against: a name with a space,
    an underscore or a leading hyphen matches no certificate, and the call failed only as the
    connection did, ``UNAVAILABLE``, naming no setting.
    """
    if _is_ip(name):
        return None
    if len(name.removesuffix(".")) > _MAX_HOST_NAME:
        return f"is {len(name):,} characters, over the {_MAX_HOST_NAME} of a host name"
    bad = next(
        (label for label in name.removesuffix(".").split(".") if not _HOST_LABEL.fullmatch(label)),
        None,
    )
    if bad is None:
        return None
    return (
        f"{name!r} is no host name: its part {bad!r} is not 1 to 63 letters, digits and inner "
        "hyphens"
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


def _addresses(target: str) -> tuple[str, list[str]] | None:
    """Return the scheme of ``target`` and the addresses after it, if it names addresses so.

    ``host:port`` and ``[v6]:port``, alone or after one of :data:`_ADDRESS_SCHEMES` (a list of
    them after ``ipv4:`` and ``ipv6:``); None for a socket's name or path, another resolver's
    URI (``xds:///name``, a URL) and a ``dns:`` target naming its DNS server
    (``dns://8.8.8.8/host:port``), whose colons and slashes are no address's.
    """
    scheme = next((s for s in _ADDRESS_SCHEMES if target.startswith(s)), "")
    rest = target[len(scheme) :]
    first, _, after = target.partition(":")
    if rest.startswith("//") or (not scheme and (first in _SOCKET_SCHEMES or after[:1] == "/")):
        return None
    return scheme, rest.split(",")


def _port_problem(scheme: str, addresses: list[str], *, plaintext: bool) -> str | None:
    """Say why one of ``addresses`` (after ``scheme``) has no port gRPC would call as meant.

    A path after it (``localhost:50051/``), which gRPC reads as part of the port and fails
    every call ``UNAVAILABLE`` ("Failed to parse port"), retried; a port that is no number from
    1 to 65535 (:func:`_is_port`); and, on a ``plaintext`` channel, no port at all, which
    gRPC calls on port 443, TLS's (over TLS an address may leave it to that default).
    """
    path = next((address.partition("/")[1:] for address in addresses if "/" in address), None)
    if path is not None:
        kept = scheme + ",".join(address.partition("/")[0] for address in addresses)
        after = "".join(path)
        return f"has a path after its address ({after!r}), which no gRPC target has: pass {kept!r}"
    ports = [_port(address) for address in addresses]
    bad = next((port for port in ports if port is not None and not _is_port(port)), None)
    if bad == "":
        return "ends in ':' without a port: pass host:port"
    if bad is not None:
        return f"port {bad!r} is not a port number, 1 to 65535"
    if plaintext and None in ports:
        example = scheme + ",".join(
            address if port is not None else f"{_bracketed(address)}:50051"
            for address, port in zip(addresses, ports, strict=True)
        )
        return (
            "names no port, so gRPC would call port 443, TLS's, in plaintext: pass the "
            f"server's port, e.g. {example!r} (or connect with TLS)"
        )
    return None


def _bracketed(host: str) -> str:
    """Return ``host`` as a target writes it before a port: an IPv6 address in brackets."""
    return f"[{host}]" if _is_ipv6(host) else host


def _port(address: str) -> str | None:
    """Return the port ``address`` ends in (``host:port``, ``[v6]:port``); None without one.

    A whole address that is an IPv6 address (``::1:8080`` is one) has none: gRPC reads it so.
    """
    if address.startswith("["):
        after = address.partition("]")[2]
        return after[1:] if after.startswith(":") else None
    if ":" in address and not _is_ipv6(address):
        return address.rpartition(":")[2]
    return None


def _is_port(port: str) -> bool:
    """Whether ``port`` is a port number, 1 to 65535.

    gRPC takes a port's digits modulo 65536 (``localhost:70000`` called port 4464, and
    ``localhost:115587`` port 50051, another server's) and fails a port of letters or 0 as a
    server it cannot reach, ``UNAVAILABLE``, retried.
    """
    return port.isascii() and port.isdigit() and 1 <= int(port) <= 65535


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
    named = _addresses(target)
    return named is not None and all(_names_this_machine(address) for address in named[1])


def may_be_several(target: str) -> bool:
    """Whether ``target`` may stand for several addresses: a list, or a host name to resolve.

    ``localhost`` resolves to ``::1`` and ``127.0.0.1``, a service's name to its replicas; an
    IP address, a socket's name and another resolver's URI (``xds:///name``) are one target.
    gRPC's failure to connect says how the last address it tried failed, not the others.
    """
    named = _addresses(target)
    if named is None:
        return False
    addresses = named[1]
    return len(addresses) > 1 or not _is_ip(_host(addresses[0]))


def _host(address: str) -> str:
    """Return the host of ``address`` (``host:port``, ``[v6]:port``, ``host``)."""
    if address.startswith("["):
        return address[1:].partition("]")[0]
    return address.rpartition(":")[0] if _port(address) is not None else address


def _is_ip(text: str) -> bool:
    """Whether ``text`` is an IP address, of either version."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _names_this_machine(address: str) -> bool:
    """Whether ``address`` (``host:port``, ``[v6]:port``) is this machine's, by its host."""
    host = _host(address)
    return host.lower() == "localhost" or is_loopback_ip(host)
