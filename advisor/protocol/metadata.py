"""What the client and the server agree on beside the wire messages.

The call metadata (the bearer token, the request id), the names of the error details and the
words of a refused token, the default size limit of a message, and what text an address (a
bind's or a target's) may be.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Final

from advisor.stdout import shown_path

__all__ = [
    "AUTHORIZATION_METADATA_KEY",
    "CALL_CANCELLED_REASON",
    "CALL_DEADLINE_EXCEEDED_REASON",
    "SEARCH_FINISHED_REASON",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "ERROR_DOMAIN",
    "INCOMING_REQUEST_ID_KEY",
    "INTERNAL_ERROR_REASON",
    "INVALID_REQUEST_REASON",
    "LIMIT_EXCEEDED_REASON",
    "MAX_TOKEN_CHARS",
    "METHOD_NOT_FOUND_REASON",
    "PAGE_TOKEN_STALE_REASON",
    "RANKING_VERSION_METADATA_KEY",
    "REQUEST_ID_METADATA_KEY",
    "REQUEST_MISSING_REASON",
    "REQUEST_READ_TIMEOUT_REASON",
    "SEARCH_ID_IN_USE_REASON",
    "SERVER_TIME_BOUND_REASON",
    "SERVER_VERSION_METADATA_KEY",
    "SERVICE_NOT_FOUND_REASON",
    "TOKEN_INVALID_REASON",
    "TOKEN_MISSING_REASON",
    "UNIX_SCHEMES",
    "address_problem",
    "bearer_metadata",
    "is_loopback_ip",
    "socket_name_problem",
    "stale_token_metadata",
    "stale_token_versions",
    "token_problem",
    "token_refusal",
    "unix_socket_name",
]

AUTHORIZATION_METADATA_KEY: Final = "authorization"
"""The metadata key (gRPC metadata keys are lower case) carrying ``Bearer <token>``."""

REQUEST_ID_METADATA_KEY: Final = "request-id"
"""The response metadata key carrying the call's request id (in the trailing metadata, with the
call's status), which every server log line about the call names."""

SERVER_VERSION_METADATA_KEY: Final = "advisor-version"
"""The response metadata key carrying the answering server's advisor version (``0.1.0``), in
the trailing metadata beside the request id, so a client learns what answered it."""

RANKING_VERSION_METADATA_KEY: Final = "advisor-ranking-version"
"""The response metadata key carrying the answering server's ranking version (the
:data:`~advisor.version.RANKING_VERSION` its results report), beside the advisor version."""

INCOMING_REQUEST_ID_KEY: Final = "x-request-id"
"""The request metadata key whose sane value the server takes as the call's request id."""

DEFAULT_MAX_MESSAGE_BYTES: Final = 4 * 1024 * 1024
"""The largest message either way, by default, 4 MiB: the server's ``max_message_bytes`` limit
and the client's own, one figure, so a client left at its default sends and takes all a server
left at its own does."""

ERROR_DOMAIN: Final = "advisor.v1"
"""The ``domain`` of the ``google.rpc.ErrorInfo`` details the service sends: its proto package.

Written out rather than read off the generated module, which ``advisor --help`` does not load."""

LIMIT_EXCEEDED_REASON: Final = "LIMIT_EXCEEDED"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of a request or answer over a request limit.

Its ``metadata`` maps each refused setting's name (``max_top_k``) to the value that admits the
request, as ``advisor serve --limit NAME=VALUE`` reads it (``60``); docs/SERVICE.md."""

INVALID_REQUEST_REASON: Final = "INVALID_REQUEST"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of an ``INVALID_ARGUMENT`` refused on its fields
alone, no request limit among them (those are ``LIMIT_EXCEEDED``): its ``BadRequest`` detail names
the fields; the same request is refused again whatever the server's settings."""

SEARCH_ID_IN_USE_REASON: Final = "SEARCH_ID_IN_USE"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of an ``ALREADY_EXISTS``: a search request's
``search_id`` names a search of the same caller running on the server (a ``ResourceInfo``
beside it names the search), which the client raises as its own error class."""

PAGE_TOKEN_STALE_REASON: Final = "PAGE_TOKEN_STALE"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of an ``INVALID_ARGUMENT`` refusing a page token
another version of the advisor's ranking wrote (a server upgraded between two pages, a fleet of
two versions): the request is right as it is, and its first page, asked again, starts a ranking
that continues. Its ``metadata`` gives the versions (:func:`stale_token_metadata`)."""

_RANKING_VERSION_KEY: Final = "ranking_version"
_TOKEN_RANKING_VERSION_KEY: Final = "token_ranking_version"

REQUEST_MISSING_REASON: Final = "REQUEST_MISSING"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of an ``INVALID_ARGUMENT`` whose call ended its
requests without sending the request message (no stub does), so there are no fields to name."""

INTERNAL_ERROR_REASON: Final = "INTERNAL_ERROR"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of an ``INTERNAL``: a defect of the server or a
worker process that died during the call; its ``RequestInfo`` names the call for an operator."""

METHOD_NOT_FOUND_REASON: Final = "METHOD_NOT_FOUND"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of an ``UNIMPLEMENTED``: the server has no such
method (a newer client's, or another service's)."""

SERVICE_NOT_FOUND_REASON: Final = "SERVICE_NOT_FOUND"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of the ``NOT_FOUND`` a health ``Check`` of a
service the server does not have ends with (its ``metadata`` names the service asked for)."""

CALL_DEADLINE_EXCEEDED_REASON: Final = "CALL_DEADLINE_EXCEEDED"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of a ``DEADLINE_EXCEEDED`` the server answered
for the call's own deadline: it passed, or an analysis saw it could not finish before it. A
longer deadline may pass; the client's own ``DEADLINE_EXCEEDED``, which its gRPC makes when the
deadline passes first, carries no detail at all."""

SEARCH_FINISHED_REASON: Final = "SEARCH_FINISHED"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of the ``DEADLINE_EXCEEDED`` a later page (a
``page_token``) ends with when a ``FinishSearch`` call stopped its search before it scored every
tree: that page is ranked by the whole search. Not the call's deadline (``CALL_DEADLINE_EXCEEDED``):
a longer one would not help; the same request, not finished early, does."""

CALL_CANCELLED_REASON: Final = "CALL_CANCELLED"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of the ``CANCELLED`` the server ends a cancelled
call with. The client that cancelled never reads it (its gRPC made the call's status); the
server's access log and a proxy between them may."""

SERVER_TIME_BOUND_REASON: Final = "SERVER_TIME_BOUND"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of an analysis or inference the server stopped
at its ``max_time_limit_seconds``, not at the call's own deadline (its ``metadata`` gives the
setting's value): a longer deadline meets the same bound."""

REQUEST_READ_TIMEOUT_REASON: Final = "REQUEST_READ_TIMEOUT"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of a ``DEADLINE_EXCEEDED`` the server answered
because the call's request message did not arrive within its ``request_read_seconds`` (its
``metadata`` gives the setting's value), not at the call's own deadline: a longer deadline
meets the same bound; a request sent at once does not."""

TOKEN_MISSING_REASON: Final = "TOKEN_MISSING"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of an ``UNAUTHENTICATED`` call that carried no
``authorization`` entry at all: the caller has no token configured (or a proxy dropped it)."""

TOKEN_INVALID_REASON: Final = "TOKEN_INVALID"
"""The ``reason`` of the ``google.rpc.ErrorInfo`` of an ``UNAUTHENTICATED`` call whose
``authorization`` entries are not exactly one ``Bearer`` of the server's token: a wrong (say,
rotated) token, another scheme, or several entries. Which of these it is goes unsaid, so the
refusal tells nothing of the token a guess did not already know."""


_TOKEN_REFUSALS: Final = {
    TOKEN_MISSING_REASON: (
        "the server requires a bearer token and the call reached it without one: pass {token}, "
        "or, if you did, check that a proxy on the way passes the authorization header on"
    ),
    TOKEN_INVALID_REASON: (
        "the server refused the bearer token sent ({token}): a wrong token, or one the "
        "server's operator has rotated"
    ),
}
"""An ``UNAUTHENTICATED`` refusal's words by its ``ErrorInfo`` reason; ``{token}`` names where
the caller gives the token."""


def token_refusal(reason: str | None, token: str) -> str | None:
    """Say why a server refused a call ``UNAUTHENTICATED`` for ``reason``; None for another reason.

    The server's words, "missing or invalid bearer token", tell neither a token the call did not
    carry from one it refused, nor what to do; its ``ErrorInfo`` reason tells them apart.
    ``token`` names where the caller gives the token (the command's ``--token-file``, the
    client's ``AdvisorClient(token=...)``), so the client and the command say it alike.
    """
    words = _TOKEN_REFUSALS.get(reason or "")
    return None if words is None else words.format(token=token)


def stale_token_metadata(token_ranking_version: int | None, ranking_version: int) -> dict[str, str]:
    """Return the ``PAGE_TOKEN_STALE`` ErrorInfo's metadata: the server's and the token's versions.

    ``ranking_version`` is the server's; ``token_ranking_version``, the version that wrote the
    token, is left out where it is None (a client reads such an answer from a server of an
    earlier release, which refused a version-3 token, not naming its version, as stale).
    """
    metadata = {_RANKING_VERSION_KEY: str(ranking_version)}
    if token_ranking_version is not None:
        metadata[_TOKEN_RANKING_VERSION_KEY] = str(token_ranking_version)
    return metadata


def stale_token_versions(metadata: Mapping[str, str]) -> tuple[int | None, int] | None:
    """Return the token's and the server's ranking versions :func:`stale_token_metadata` wrote.

    None where the server's is not a version (no server of the advisor sends such an answer).
    """
    ranking_version = _version(metadata.get(_RANKING_VERSION_KEY))
    if ranking_version is None:
        return None
    return _version(metadata.get(_TOKEN_RANKING_VERSION_KEY)), ranking_version


_VERSION_DIGITS: Final = 9
"""The most digits a ranking version read off an answer has: int() refuses past 4,300."""


def _version(text: str | None) -> int | None:
    """Return the ranking version ``text`` writes (ASCII digits, as a server writes it), or None."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > _VERSION_DIGITS:
        return None
    return int(text)


def bearer_metadata(token: str) -> tuple[str, str]:
    """Return the metadata entry that presents ``token`` to a server started with a token file."""
    return (AUTHORIZATION_METADATA_KEY, f"Bearer {token}")


_TOKEN_RULE = "a token is one line of printable ASCII (0x20-0x7E), what gRPC can send as metadata"

MAX_TOKEN_CHARS: Final = 4096
"""The longest bearer token. gRPC refuses a call whose metadata passes 8 KiB (its default soft
limit: a growing share of the calls up to its hard limit, 16 KiB, and every call past it) with
``RESOURCE_EXHAUSTED``: tokens of 7,900 and 10,000 characters failed 1 and 9 calls in 40, at
random, none of 7,000 in 300. Half of the soft limit leaves the call's other metadata room (a
proxy's, say)."""


def token_problem(token: str) -> str | None:
    """Return why ``token`` cannot be a bearer token, or None when it can.

    The token travels as the metadata value ``Bearer <token>``, and gRPC's core sends a
    non-binary metadata value only if every byte is printable ASCII, space included (0x20-0x7E:
    ``grpc_validate_header_nonbin_value_is_legal``); any other character, a line break or a
    non-ASCII letter, fails every call with ``INTERNAL: Invalid metadata`` on the client. gRPC's
    protocol also forbids a space at either end of a value, which HTTP/2 may strip, so the token
    would not match; a token file's surrounding whitespace is stripped when it is read. A token
    longer than :data:`MAX_TOKEN_CHARS` would make gRPC refuse calls (``RESOURCE_EXHAUSTED``).
    """
    inner = token.strip()
    if not inner:
        return "is empty" if not token else "holds only whitespace"
    if len(token) > MAX_TOKEN_CHARS:
        return (
            f"is {len(token):,} characters long: at most {MAX_TOKEN_CHARS:,}, as gRPC refuses "
            "calls whose metadata passes 8 KiB"
        )
    if "\n" in inner or "\r" in inner:
        return f"holds more than one line; {_TOKEN_RULE}"
    leading = len(token) - len(token.lstrip())
    for position, character in enumerate(inner, start=leading + 1):
        if not " " <= character <= "~":
            return (
                f"has a character that is not printable ASCII (character {position}); {_TOKEN_RULE}"
            )
    if token != inner:
        # Most often a file's line break, read with it: the token is one line all the same.
        return (
            "starts or ends with whitespace (a line break read with its file, say): strip it; "
            f"{_TOKEN_RULE}, with no space at either end"
        )
    return None


def address_problem(text: str) -> str | None:
    r"""Say why ``text`` can be no gRPC address (a bind's or a target's), or None when it may be.

    gRPC takes an address as text, which it writes in UTF-8. A byte of the command line the
    locale does not decode is read by Python as a lone surrogate, which has no UTF-8: ``--host
    unix:/tmp/x/$'\xff'/x.sock`` was refused as pydantic's "unable to parse raw data as a
    unicode string", naming no byte; ``--katib-host`` such a socket ended in a traceback once
    the advisor's server had started, ``--target`` in ``unexpected UnicodeEncodeError``, and
    the client library's ``AdvisorClient`` in a raw ``UnicodeEncodeError``.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return (
            f"'{shown_path(text)}' holds bytes the locale's encoding does not decode (each \\xNN), "
            "and gRPC takes an address as text: name it in characters the locale reads"
        )
    return None


UNIX_SCHEMES: Final = ("unix:", "unix-abstract:")
"""A host that starts with one of these is a Unix domain socket gRPC binds and dials as written
(``unix:/run/advisor.sock``, ``unix:relative.sock``, ``unix-abstract:advisor``): no port."""


def socket_name_problem(host: str) -> str | None:
    """Say why ``host`` names no Unix domain socket, if it is a ``unix:`` one; else None.

    One of no name: the kernel binds a socket of an empty path to a name of its own choosing
    (``--host unix:`` served, announcing ``listening on unix:``, at an address no client could
    know), and gRPC fails a client's target of no name (``unix://``) as a server it cannot
    reach, ``UNAVAILABLE`` "empty address list", retried. And one with an authority,
    ``unix://adv.sock``, a typo of ``unix:adv.sock``: gRPC fails such a target with a bare
    ``UNKNOWN`` ("the target uri is not valid") and binds such a host at ``/adv.sock``, a path
    of the root folder, where ``listening on unix://adv.sock`` led a reader to the working one.
    """
    name = unix_socket_name(host)
    if name == "":
        example = "unix:/run/advisor.sock" if host.startswith("unix:") else "unix-abstract:advisor"
        return f"{host} names no socket: give its path or name, e.g. {example}"
    if name is None or not host.startswith("unix://") or host.startswith("unix:///"):
        return None
    authority = name.split("/", 1)[0]
    return (
        f"{host!r} is no socket path (gRPC reads {authority!r} as a host): pass 'unix:{name}' "
        "for a path relative to the working directory, or unix:///absolute/path"
    )


def unix_socket_name(host: str) -> str | None:
    """Return the path (``unix:``) or name (``unix-abstract:``) of a socket ``host``, else None.

    A path is read as gRPC reads it: ``unix:relative``, ``unix:/absolute``, ``unix:///absolute``;
    ``unix://NAME``, which gRPC reads otherwise, is refused before any path is read of it
    (:func:`socket_name_problem`).
    """
    if host.startswith("unix:"):
        path = host.removeprefix("unix:")
        return path[2:] if path.startswith("//") else path
    if host.startswith("unix-abstract:"):
        return host.removeprefix("unix-abstract:")
    return None


def is_loopback_ip(address: str) -> bool:
    """Whether the IP ``address`` is loopback, an IPv4-mapped one (``::ffff:127.0.0.1``) too.

    The one rule of the server (which addresses a bind reaches from other machines) and the
    client (which targets bypass a proxy); a text that is no IP address is none.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback
