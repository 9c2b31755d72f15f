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

__all__ = ["is_loopback", "target_problem"]

_URL_SCHEMES: Final = ("http://", "https://", "grpc://", "grpcs://")
"""Schemes of URLs, never gRPC targets (``dns:``, ``unix:``, ``ipv4:`` ... are)."""


def target_problem(target: str) -> str | None:
    """Say why ``target`` can be no gRPC target (None when it may be).

    gRPC reads a URL or a name with whitespace as a host name, fails to resolve it, and fails
    every call ``UNAVAILABLE``: a transient failure, which a pipeline retries for ever.
    """
    if target != target.strip():
        return f"starts or ends with whitespace: {target!r}"
    bracketed = _unbracketed_ipv6(target)
    if bracketed is not None:
        return f"an IPv6 address with a port goes in brackets: pass {bracketed!r}"
    scheme = next((s for s in _URL_SCHEMES if target.lower().startswith(s)), None)
    if scheme is None:
        return None
    address = target[len(scheme) :].rstrip("/")
    tls = ", with TLS on" if scheme in ("https://", "grpcs://") else ""
    return f"is a URL; a gRPC target is host:port: pass {address!r}{tls}"


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


def _is_ipv6(text: str) -> bool:
    """Whether ``text`` is an IPv6 address (a scope such as ``%eth0`` included)."""
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


_ADDRESS_SCHEMES: Final = ("dns:///", "dns:", "ipv4:", "ipv6:")
"""Target schemes the address follows at once (``ipv4:`` and ``ipv6:`` a comma-separated list of
addresses); ``dns:`` with a DNS server (``dns://8.8.8.8/host:port``) names no address this way,
and keeps the proxy."""


def is_loopback(target: str) -> bool:
    """Whether ``target`` names this machine: ``localhost``, 127.0.0.0/8 or ``::1``.

    gRPC sends every connection through the proxy of ``http_proxy``/``https_proxy`` unless
    ``no_proxy`` names its host, loopback included: with a proxy set, as on many company
    machines and CI runners, a client of a server in the same process or on the same machine
    (the command's own server, ``start_server``) failed ``UNAVAILABLE``. A loopback target
    bypasses the proxy, as Go's ``ProxyFromEnvironment`` does, in every form gRPC reads it:
    ``127.0.0.1:50051``, ``dns:///localhost:50051``, ``dns:localhost:50051``,
    ``ipv4:127.0.0.1:50051``, ``ipv6:[::1]:50051`` (a list of addresses when every one is).
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
