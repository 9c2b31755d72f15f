"""Typed exceptions for failed calls, decoded from the gRPC status the server sent.

The service reports every rejected request as ``INVALID_ARGUMENT`` with a ``google.rpc.BadRequest``
detail naming each offending field, and a request or answer over a request limit with a
``google.rpc.ErrorInfo`` (reason ``LIMIT_EXCEEDED``) naming each setting refused and the value
that admits it (docs/SERVICE.md). :func:`error_from_rpc` turns a failed call into one exception
class per status a caller can act on, carrying those field violations as the library's own
:class:`~advisor.errors.FieldViolation` and those limits as :attr:`AdvisorRpcError.limits`, so
Python callers never touch the wire.
A request the client refuses before sending it (a bad task, a wrong-typed argument, a timeout
gRPC cannot hold) raises the library's :class:`~advisor.errors.InvalidRequestError` (its
:class:`~advisor.errors.LimitExceededError` for a request over ``max_message_bytes``), exported
here too, so one import catches both; the server's refusal of a request over one of its limits
is a :class:`ServerLimitExceededError`, both an :class:`InvalidArgumentError` and a
:class:`~advisor.errors.LimitExceededError`, so ``except LimitExceededError`` catches a request
over a limit wherever it was refused. Its refusal of a page token another version of its ranking
wrote is a :class:`ServerStalePageTokenError`, also the library's
:class:`~advisor.errors.StalePageTokenError`, so a pager starts again from the first page
without reading the English. Bad input raises :class:`InvalidRequestError` where the client
checks it and :class:`InvalidArgumentError` where only the server does: both are the library's
:class:`~advisor.errors.BadRequestError`, so ``except BadRequestError`` catches bad input
either way; every error here derives from :class:`~advisor.errors.AdvisorError`. Every
error pickles whole, so it crosses a process pool or a Ray task intact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Self

import grpc
from advisor_client.targets import may_be_several

from advisor.errors import (
    AdvisorError,
    BadRequestError,
    FieldViolation,
    InvalidRequestError,
    LimitExceededError,
    RefusedLimit,
    StalePageTokenError,
)
from advisor.protocol.metadata import (
    CALL_DEADLINE_EXCEEDED_REASON,
    ERROR_DOMAIN,
    LIMIT_EXCEEDED_REASON,
    PAGE_TOKEN_STALE_REASON,
    REQUEST_ID_METADATA_KEY,
    SEARCH_ID_IN_USE_REASON,
    SERVICE_NOT_FOUND_REASON,
    stale_token_versions,
    token_refusal,
)

if TYPE_CHECKING:
    from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "AdvisorRpcError",
    "BadRequestError",
    "ClientClosedError",
    "DeadlineExceededError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "LimitExceededError",
    "CERTIFICATE_REFUSED_HINT",
    "CLIENT_CERTIFICATE_HINT",
    "SEVERAL_ADDRESSES_HINT",
    "LONGER_TIMEOUT",
    "UNANSWERED_HINT",
    "MAX_MESSAGE_BYTES_SETTING",
    "PLAINTEXT_HINT",
    "PLAINTEXT_REFUSED",
    "ResourceExhaustedError",
    "SearchIdInUseError",
    "SearchNotStartedError",
    "ServerLimitExceededError",
    "ServerMessageLimitError",
    "ServerStalePageTokenError",
    "StalePageTokenError",
    "UnauthenticatedError",
    "UnavailableError",
    "answered_by_server",
    "error_from_rpc",
    "without_timeout_clause",
]


class AdvisorRpcError(AdvisorError):
    """A call to the service failed; ``code`` is the gRPC status, ``details`` its message.

    ``limits`` maps each request limit the server refused the call over to the value that
    admits it, as the server's ``--limit NAME=VALUE`` and its config file's ``limits`` read it:
    ``{"max_top_k": "60"}`` for a ``top_k`` of 60 over ``max_top_k`` (an
    :class:`InvalidArgumentError`), ``{"max_message_bytes": "9034"}`` for an answer of 9,034
    bytes over it (a :class:`ResourceExhaustedError`). It is decoded from the status's
    ``google.rpc.ErrorInfo`` of reason ``LIMIT_EXCEEDED`` and domain ``advisor.v1``, and is
    empty when there is none: a refusal of anything else, a server that sends none, or a
    request gRPC itself refused. An answer over the client's own ``max_message_bytes``, which
    its gRPC refuses, has them alike (``{"max_message_bytes": "9034"}`` for that answer, reason
    ``LIMIT_EXCEEDED``).

    ``request_id`` is the id the server gave the call (its ``request-id`` response metadata),
    which names the call on every line the server logged about it: hand it to the server's
    operator. Where no status of the server's came (the call's deadline passed, it was
    cancelled, no connection was made), it is the ``x-request-id`` the client sent, which a
    server that received the call logged it by (a search that ran into its deadline); None for
    a call never sent (a closed client). ``request_id_from_server`` says which: True when the
    server sent the id back with its status, so a server logged the call by it (a draining
    server's ``UNAVAILABLE`` too), False when it is only the id the client sent (an
    ``UNAVAILABLE`` of that kind mostly never reached a server).

    ``reason`` is the ``reason`` of the status's ``google.rpc.ErrorInfo`` in the ``advisor.v1``
    domain, the cause as a constant: ``INVALID_REQUEST`` (a refusal on the request's fields
    alone), ``LIMIT_EXCEEDED``, ``PAGE_TOKEN_STALE``, ``SERVER_BUSY``, ``SERVER_DRAINING``,
    ``NO_WORKER``, ``SEARCH_ID_IN_USE``, ``SEARCH_NOT_FOUND``, ``WORKER_MEMORY_EXCEEDED``,
    ``SERVER_TIME_BOUND``, ``REQUEST_READ_TIMEOUT``, ``TOKEN_MISSING``, ``TOKEN_INVALID``,
    ``INTERNAL_ERROR``, ``METHOD_NOT_FOUND``, ``CALL_DEADLINE_EXCEEDED``, ``SEARCH_FINISHED``...
    (docs/SERVICE.md,
    "Status codes"); None where there is none (a status of gRPC's own, the call's own deadline
    or cancel as the client's gRPC ends it, a server that predates the reason).

    ``retry_delay`` is the seconds the server asks a caller to wait before retrying the call
    (its ``google.rpc.RetryInfo``): 0.2 for a busy server's :class:`ResourceExhaustedError` and
    a draining server's :class:`UnavailableError`, 1.0 for one without a worker process
    (docs/SERVICE.md, "Status codes"). None where the server asked for no retry, which is what
    tells the refusals the same request meets again (an answer over ``max_message_bytes``, a
    call over ``--worker-max-memory``) from a busy server's; also where no status of the
    server's came, and from a server that predates it.

    Raised by a call, its ``__cause__`` is the :class:`grpc.RpcError` it was decoded from (also
    a :class:`grpc.Call`), for what the decoding leaves out: ``trailing_metadata()``,
    ``debug_error_string()``, the status details (``grpc_status.rpc_status.from_call``).
    """

    def __init__(
        self, code: grpc.StatusCode, details: str, limits: Mapping[str, str] | None = None
    ) -> None:
        self.code = code
        self.details = details
        self._limits: Mapping[str, str] = dict(limits or {})
        self.request_id: str | None = None
        self.request_id_from_server = False
        self.reason: str | None = None
        self.retry_delay: float | None = None
        # Not super(): in a ServerLimitExceededError the next class is LimitExceededError, whose
        # constructor takes violations, not a message.
        AdvisorError.__init__(self, details or code.name)

    @property
    def limits(self) -> Mapping[str, str]:
        """The request limits the server refused the call over (see the class)."""
        # A property, as LimitExceededError's is: ServerLimitExceededError is both errors.
        return self._limits

    def _pickled_arguments(self) -> tuple[Any, ...]:
        return self.code, self.details, self.limits

    def with_call_of(self, error: AdvisorRpcError) -> Self:
        """Return this error, given what ``error`` knows of its call, and raise it in its stead.

        For a caller that says a server's refusal in its own words (the command names its
        option): the request id, whether the server sent it, the reason and the retry delay
        are the call's, not the words', and were lost with the new error.
        """
        self.request_id = error.request_id
        self.request_id_from_server = error.request_id_from_server
        self.reason = error.reason
        self.retry_delay = error.retry_delay
        return self

    def __str__(self) -> str:
        # The status leads, as the command prints it: a log line of the base class (INTERNAL,
        # UNIMPLEMENTED, ...) said only "Method not found!".
        return f"{self.code.name}: {self.details}" if self.details else self.code.name


class InvalidArgumentError(AdvisorRpcError, BadRequestError):
    """The server rejected the request; ``violations`` name every offending field path.

    A :class:`~advisor.errors.BadRequestError`, as the client's own refusal of bad input
    (:class:`InvalidRequestError`) is.
    """

    def __init__(
        self,
        details: str,
        violations: Sequence[FieldViolation],
        limits: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(grpc.StatusCode.INVALID_ARGUMENT, details, limits)
        self.violations: tuple[FieldViolation, ...] = tuple(violations)

    def _pickled_arguments(self) -> tuple[Any, ...]:
        return self.details, self.violations, self.limits

    def __str__(self) -> str:
        if not self.violations:
            return self.details
        return "; ".join(map(str, self.violations))


class ServerLimitExceededError(InvalidArgumentError, LimitExceededError):
    """The server refused the request over one of its limits (``reason`` ``LIMIT_EXCEEDED``).

    An :class:`InvalidArgumentError`, whose ``limits`` are the server's (``{"max_top_k":
    "60"}``), and a :class:`~advisor.errors.LimitExceededError`, as the client's own refusal of
    a request over its ``max_message_bytes`` is: ``except LimitExceededError`` catches a request
    over a limit wherever it was refused. So it is an
    :class:`~advisor.errors.InvalidRequestError` too: code that tells the client's refusals
    from the server's tests for :class:`AdvisorRpcError` first. An answer over the server's
    ``max_message_bytes`` is no request's fault and stays a :class:`ResourceExhaustedError`.
    """

    def _holding(self, violations: Sequence[FieldViolation]) -> ServerLimitExceededError:
        return type(self)(self.details, violations, self.limits).with_call_of(self)


class ServerStalePageTokenError(InvalidArgumentError, StalePageTokenError):
    """The server refused a page token another version of its ranking wrote (``PAGE_TOKEN_STALE``).

    A server upgraded between two pages, or a fleet of two versions: ask for the first page
    again (``page_token`` unset), the request unchanged. An :class:`InvalidArgumentError` and a
    :class:`~advisor.errors.StalePageTokenError`, as the library raises in-process, so ``except
    StalePageTokenError`` catches it wherever the ranking ran. ``ranking_version`` is the
    server's, ``token_ranking_version`` the token's (None from a server of an earlier release
    refusing a token of version 3 or earlier, which did not name it),
    both read off the status's ``ErrorInfo``.
    """

    def __init__(
        self,
        details: str,
        violations: Sequence[FieldViolation],
        token_ranking_version: int | None,
        ranking_version: int,
    ) -> None:
        super().__init__(details, violations)
        self.token_ranking_version = token_ranking_version
        self.ranking_version = ranking_version

    def _pickled_arguments(self) -> tuple[Any, ...]:
        return self.details, self.violations, self.token_ranking_version, self.ranking_version

    def _holding(self, violations: Sequence[FieldViolation]) -> ServerStalePageTokenError:
        return type(self)(
            self.details, violations, self.token_ranking_version, self.ranking_version
        ).with_call_of(self)


class SearchIdInUseError(AdvisorRpcError):
    """A running search of this caller holds the ``search_id`` the call gave (``ALREADY_EXISTS``).

    Two searches of one name could not be told apart by ``finish_search``: give each its own
    (a UUID), or wait for the running one's answer. ``violations`` holds one, on
    ``search_id``, as a name the client refuses has (the ``reason`` is ``SEARCH_ID_IN_USE``);
    no retry helps while that search runs.
    """

    def __init__(self, details: str, search_id: str) -> None:
        super().__init__(grpc.StatusCode.ALREADY_EXISTS, details)
        self.search_id = search_id
        self.violations: tuple[FieldViolation, ...] = (
            FieldViolation(
                "search_id",
                f"{search_id!r} names a search of this caller running on the server: give each "
                "search its own name, or wait for that one's answer",
            ),
        )

    def _pickled_arguments(self) -> tuple[Any, ...]:
        return self.details, self.search_id


class UnauthenticatedError(AdvisorRpcError):
    """The server requires a bearer token and the call had none, or a wrong one.

    ``reason`` says which: ``TOKEN_MISSING`` (none sent) or ``TOKEN_INVALID`` (any other), and
    so do ``details`` in the words the ``advisor`` command prints, naming
    ``AdvisorClient(token=...)``: the server's words, "missing or invalid bearer token", told
    neither. A server that sends no reason keeps its words.
    """


_TOKEN_SETTING: Final = "AdvisorClient(token=...)"
"""Where a caller of the client gives the bearer token, as a refused token's ``details`` name it."""


class ResourceExhaustedError(AdvisorRpcError):
    """A call refused for want of a resource: retry only when ``retry_delay`` says when.

    A saturated server (every search slot busy, ``reason`` ``SERVER_BUSY``) asks for a retry
    after ``retry_delay``, with backoff. The others meet the same refusal again, and have no
    ``retry_delay``: a message over a size limit, a request over the server's
    (:class:`ServerMessageLimitError`); an answer over the server's ``max_message_bytes``,
    refused before it is sent (``the response is N bytes, over this server's limit``), or
    over the client's (``the response is N bytes, over this client's max_message_bytes``,
    with the setting to raise), both of ``reason`` ``LIMIT_EXCEEDED`` with ``limits`` naming
    ``max_message_bytes`` and the answer's size. A request over the client's own limit is
    refused before it is sent, as a :class:`~advisor.errors.LimitExceededError` (its
    ``limits`` alike). And a server answers it for a call whose work took its worker process
    over the server's memory bound (``details`` names ``--worker-max-memory``, ``reason``
    ``WORKER_MEMORY_EXCEEDED``).
    """


class ServerMessageLimitError(ResourceExhaustedError, LimitExceededError):
    """A request over the server's ``max_message_bytes``, refused by its gRPC before it was read.

    gRPC says only ``SERVER: Received message larger than max (N vs. M)``, no reason and no
    limits; decoded as the client's refusal of an answer over its own limit is: ``reason``
    ``LIMIT_EXCEEDED``, ``limits`` ``{"max_message_bytes": "N"}`` (the request's size, which a
    server of that limit admits), ``details`` saying both sizes. A
    :class:`~advisor.errors.LimitExceededError` too, as the client's own refusal of a request
    over its ``max_message_bytes`` is, so ``except LimitExceededError`` catches a request over
    a limit wherever it was refused; ``violations`` holds one, of the field ``request``. No
    ``retry_delay``: the same request meets the same limit.
    """

    def __init__(
        self, code: grpc.StatusCode, details: str, limits: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(code, details, limits)
        self.violations = (FieldViolation("request", details),)

    def _holding(self, violations: Sequence[FieldViolation]) -> ServerMessageLimitError:
        held = type(self)(self.code, self.details, self.limits).with_call_of(self)
        held.violations = tuple(violations)
        return held


class SearchNotStartedError(ResourceExhaustedError):
    """A call's wait for a busy server's slot ended by :meth:`AdvisorClient.finish_search`.

    Its search never started, so there are no designs to return: the busy server's refusal the
    call was waiting out (``reason`` ``SERVER_BUSY``), its ``details`` saying the wait was ended
    and after how long (``RetryPolicy.busy_wait_seconds``, :mod:`advisor_client.busy`).
    """


class DeadlineExceededError(AdvisorRpcError):
    """The call's deadline passed before the server answered.

    Where the call's own deadline ended it, its ``details`` name the call's timeout in seconds
    and how to give a longer one (:data:`LONGER_TIMEOUT`); a server's own bound (``reason``
    ``SERVER_TIME_BOUND``, ``REQUEST_READ_TIMEOUT``) keeps the server's words, which name it.
    """


class UnavailableError(AdvisorRpcError):
    """The server could not be reached, or is shutting down."""


class ClientClosedError(AdvisorRpcError):
    """The client was closed: a call made after the close, or one in flight at it.

    Closing the channel cancels the calls in flight, which gRPC reports as a bare ``CANCELLED``
    (``Channel closed!``); both cases raise this, with the code ``CANCELLED``. A ``CANCELLED``
    the server sent while the client was open stays a plain :class:`AdvisorRpcError`.
    """

    def __init__(self) -> None:
        super().__init__(
            grpc.StatusCode.CANCELLED,
            "the client is closed: open a new AdvisorClient to call again",
        )

    def _pickled_arguments(self) -> tuple[Any, ...]:
        return ()


MAX_MESSAGE_BYTES_SETTING: Final = "AdvisorClient(max_message_bytes=...)"
"""Where a caller of the client raises the largest answer it accepts, as its refusal names it."""

_MESSAGE_OVER_LIMIT: Final = re.compile(
    r"(CLIENT|SERVER): Received message larger than max \((\d+) vs\. (\d+)\)"
)
"""What gRPC says of a message over a receiver's ``max_message_bytes``: the receiver (the
client, of an answer; the server, of a request), the message's size, the limit."""


def _refused_message(code: grpc.StatusCode, details: str) -> tuple[str, RefusedLimit] | None:
    """Return the receiver that refused a message over its limit, and the limit; else None.

    Read off gRPC's words (:data:`_MESSAGE_OVER_LIMIT`): ``CLIENT`` or ``SERVER``.
    """
    found = _MESSAGE_OVER_LIMIT.search(details)
    if code != grpc.StatusCode.RESOURCE_EXHAUSTED or found is None:
        return None
    receiver, size, limit = found.groups()
    return receiver, RefusedLimit("max_message_bytes", int(limit), int(size))


def _answer_refusal(refused: RefusedLimit) -> str:
    """Say that an answer was over the client's ``max_message_bytes``, and what admits it.

    gRPC's ``RESOURCE_EXHAUSTED`` read as a busy server's, to retry later: every retry got the
    same answer.
    """
    return (
        f"the response is {refused.needed:,} bytes, over this client's {refused.setting} "
        f"({refused.limit:,}): raise {MAX_MESSAGE_BYTES_SETTING} to at least {refused.needed:,}, "
        "as far as the server's limit (a retry gets the same answer)"
    )


def _request_refusal(refused: RefusedLimit) -> str:
    """Say that a request was over the server's ``max_message_bytes``, and what admits it.

    gRPC's words, ``SERVER: Received message larger than max``, read as a busy server's.
    """
    return (
        f"the request is {refused.needed:,} bytes, over the server's {refused.setting} "
        f"({refused.limit:,}): make it smaller, or call a server whose limit is at least "
        f"{refused.needed:,} (a retry meets the same limit)"
    )


LONGER_TIMEOUT: Final = "pass a longer timeout= to the call, or AdvisorClient(default_timeout=...)"
"""How a caller of the client gives a call a longer deadline, as a ``DEADLINE_EXCEEDED`` says."""

UNANSWERED_HINT: Final = (
    " before a server answered: check that the server is reachable at {target}, or"
)
"""What a ``DEADLINE_EXCEEDED`` of the call's own deadline adds where no server has answered on
the channel yet (``{target}`` the channel's target): it may be a server it cannot reach."""

_GRPC_DEADLINE_EXCEEDED: Final = "Deadline Exceeded"
"""What gRPC says of a call it ended at its deadline: no word of which deadline, or how long."""


_UNIMPLEMENTED_HINT: Final = (
    " (the server does not serve the method called, an advisor.v1.ArchitectureAdvisor method or "
    "its health check: is the target the advisor's port, and the server as recent as the client?)"
)
"""Appended to an ``UNIMPLEMENTED`` call's details: gRPC says only "Method not found!", and a
health check of a server without one gets it too."""

_NOT_FOUND_HINT: Final = (
    " (the server's health service does not know advisor.v1.ArchitectureAdvisor: is the target "
    "the advisor's port, not another gRPC server's such as Katib's endpoint?)"
)
"""Appended to a health check's ``NOT_FOUND``: gRPC's health service answers it, with no details,
for a service it does not know, and the advisor's servers (the Katib endpoint's too) with the
``SERVICE_NOT_FOUND`` ErrorInfo. The advisor's other ``NOT_FOUND``, ``FinishSearch``'s (no search
of that name runs), says so in its details, and ``finish_search`` returns False for it."""

PLAINTEXT_REFUSED: Final = "Socket closed"
"""What gRPC reports when a plaintext client's first bytes reach a TLS server."""

PLAINTEXT_HINT: Final = (
    " (if the server uses TLS, connect with TLS: tls=TlsConfig(root_ca=the CA certificate that "
    "signed it))"
)
"""Appended to that ``UNAVAILABLE`` on a plaintext channel no server answered yet: gRPC's words
name no cause."""

CLIENT_CERTIFICATE_HINT: Final = (
    " (if the server asks for a client certificate, mutual TLS: "
    "tls=TlsConfig(client_cert=..., client_key=...))"
)
"""Appended to an ``UNAVAILABLE`` on a TLS channel without a client certificate when no connection
was made (:data:`_CONNECT_FAILED`) and gRPC's words name no cause: a server that asks for one
ends the handshake, which gRPC reports as ``Socket closed``, no word of a certificate."""

CERTIFICATE_REFUSED_HINT: Final = (
    " (if the server checks client certificates, it may have refused this one: "
    "TlsConfig(client_cert=...) must be signed by a CA the server trusts, its tls_client_ca)"
)
"""Appended to the same ``UNAVAILABLE`` on a channel with a client certificate: a server that
checks them ends the handshake on one its CA did not sign as it does without one, ``Socket
closed``, and logs nothing."""

SEVERAL_ADDRESSES_HINT: Final = (
    " (gRPC says how the last address it tried failed, and {target} may stand for several, "
    "whose failures may differ, a TLS handshake's among them: call one address, such as the "
    "server's IP address and port, to see how it fails)"
)
"""Appended to an ``UNAVAILABLE`` whose connection was refused, on a channel no server has answered
on yet, whose ``{target}`` may stand for several addresses (:func:`~advisor_client.targets.
may_be_several`): ``localhost`` is ``::1`` and ``127.0.0.1``, and a server on the one, whose TLS
handshake failed (a certificate ``root_ca`` did not sign), read as ``Connection refused`` on the
other in about half the calls."""

_REFUSED: Final = "Connection refused"
"""gRPC's words for a connection no server took: its cause, named, but of one address only."""

_CONNECT_FAILED: Final = (
    "connections to all backends failing",
    "failed to connect to all addresses",
)
"""What gRPC's ``UNAVAILABLE`` says when it made no connection: the client's ``round_robin``
balancing's words, and its default ``pick_first``'s. Without them the status is the server's own
(``the server is shutting down``): the handshake succeeded, so no client certificate is
missing."""

_CLIENT_HANDSHAKE_REFUSALS: Final = (
    "WRONG_VERSION_NUMBER",
    "CERTIFICATE_VERIFY_FAILED",
    "Hostname Verification Check failed",
)
"""gRPC's words for a TLS handshake the client broke off itself, each naming its cause: a server
that speaks no TLS, a server certificate no ``root_ca`` signed, one for another name than the
target's (``server_name``). A server that wants a client certificate is none of them."""

_ERROR_BY_CODE: dict[grpc.StatusCode, type[AdvisorRpcError]] = {
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
}


_SERVER_ONLY_CODES: Final = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.DATA_LOSS,
    }
)
"""Status codes a client's gRPC never ends a call with of itself (gRPC's status code guide):
a server sent them (``UNIMPLEMENTED`` the client's gRPC makes only of a server's answer, a
second response to a unary call)."""


def answered_by_server(call: grpc.Call) -> bool:
    """Whether the status a failed ``call`` ended with is a server's answer.

    Not one the client's gRPC made (a deadline passed, a connection that failed or died, a
    message too large), which comes without trailing metadata, where the advisor's statuses
    carry its request id and their details; or any server's status of a code only a server
    sends (:data:`_SERVER_ONLY_CODES`), such as another gRPC server's ``UNIMPLEMENTED``.
    """
    return bool(call.trailing_metadata()) or call.code() in _SERVER_ONLY_CODES


def error_from_rpc(
    error: grpc.RpcError,
    *,
    client_closed: bool = False,
    plaintext: bool = False,
    without_certificate: bool = False,
    with_certificate: bool = False,
    sent_request_id: str | None = None,
    timeout: float | None = None,
    unanswered_target: str | None = None,
) -> AdvisorRpcError:
    """Convert a failed call into the matching :class:`AdvisorRpcError` subclass.

    Parameters
    ----------
    error
        What grpc raised; for both unary and streaming calls it is also a :class:`grpc.Call`,
        which carries the status code, message and trailing ``grpc-status-details-bin``.
    client_closed
        Whether the client that made the call has been closed. Closing the channel cancels
        its calls in flight, which gRPC reports as a bare ``CANCELLED`` (``Channel closed!``):
        then, and only then, a ``CANCELLED`` is :class:`ClientClosedError`, the error a call
        made after the close raises, so one ``except`` catches both.
    plaintext
        Whether the call went over a plaintext channel on which no server has answered yet:
        its ``UNAVAILABLE`` with gRPC's ``Socket closed`` (:data:`PLAINTEXT_REFUSED`), what a
        TLS server answers, then adds :data:`PLAINTEXT_HINT`. A server that answered in
        plaintext uses none, and its connection closed so only as it died mid-call.
    without_certificate
        Whether the call went over TLS without a client certificate: its ``UNAVAILABLE`` of a
        connection never made (:data:`_CONNECT_FAILED`), whose words name no other cause (a
        server certificate not trusted, a server without TLS), then adds
        :data:`CLIENT_CERTIFICATE_HINT`, as a server that asks for one leaves no other trace.
    with_certificate
        Whether the call went over TLS with a client certificate: the same ``UNAVAILABLE``
        then adds :data:`CERTIFICATE_REFUSED_HINT` (a server that checks client certificates
        ends the handshake alike on one its CA did not sign).
    sent_request_id
        The ``x-request-id`` the call sent, which a server honours as the call's id: the
        error's ``request_id`` where no status of the server's came with one (the call's own
        deadline or a cancellation ended it first, or it never reached a server).
    timeout
        The call's deadline in seconds: its ``DEADLINE_EXCEEDED`` then says so, and how to give
        a longer one (gRPC's words were "Deadline Exceeded" alone).
    unanswered_target
        The target of the call's channel where no server has answered on it yet. gRPC ends a
        call to a server it cannot reach at the call's deadline as it ends a slow one (its
        retries of the connection outlast a short deadline), in the same words; its
        ``DEADLINE_EXCEEDED`` then says to check that a server is reachable there, not only to
        wait longer; and a connection refused, on a target that may stand for several
        addresses, says that another address may have failed otherwise
        (:data:`SEVERAL_ADDRESSES_HINT`).

    Returns
    -------
    AdvisorRpcError
        :class:`InvalidArgumentError` with the decoded ``BadRequest`` field violations (none when
        the server attached no detail; a :class:`ServerLimitExceededError` for a refusal of
        reason ``LIMIT_EXCEEDED``, a :class:`ServerStalePageTokenError` for one of reason
        ``PAGE_TOKEN_STALE``), :class:`ClientClosedError` as above, an
        :class:`UnauthenticatedError` whose details say whether the token was missing or
        refused, or the class for the status code, else the base class (an ``UNIMPLEMENTED``
        one's details say what it likely means: not the advisor's port, or an older server; so
        do a health check's ``NOT_FOUND``: a server that does not serve the advisor); each with
        the ``limits`` of the status's ``LIMIT_EXCEEDED`` ErrorInfo (none without one), the
        ``retry_delay`` of its ``RetryInfo`` (None without one) and the call's ``request_id``:
        the server's (``request_id_from_server``), else ``sent_request_id``.
    """
    if not isinstance(error, grpc.Call):
        return AdvisorRpcError(grpc.StatusCode.UNKNOWN, str(error))
    status = _rich_status(error)
    refused = _refused_message(error.code(), error.details() or "")
    reason = LIMIT_EXCEEDED_REASON if refused is not None else _reason(status)
    several = unanswered_target if unanswered_target and may_be_several(unanswered_target) else None
    certificate = with_certificate if with_certificate or without_certificate else None
    converted = _converted(error, status, reason, client_closed, plaintext, certificate, several)
    if isinstance(converted, DeadlineExceededError) and timeout is not None:
        converted = _past_timeout(converted, reason, timeout, unanswered_target)
    answered_id = _request_id(error)
    converted.request_id = answered_id or sent_request_id
    converted.request_id_from_server = answered_id is not None
    converted.reason = reason
    converted.retry_delay = _retry_delay(status)
    return converted


def _converted(
    error: grpc.Call,
    status: status_pb2.Status | None,
    reason: str | None,
    client_closed: bool,
    plaintext: bool,
    certificate: bool | None,
    several: str | None,
) -> AdvisorRpcError:
    """Return the typed error of a failed call whose rich status is ``status`` (or None).

    ``reason`` is its ErrorInfo's (:func:`_reason`); ``certificate`` whether a TLS call sent a
    client certificate (None: a plaintext call); ``several`` the channel's target where it may
    stand for several addresses and no server has answered on it. See :func:`error_from_rpc`.
    """
    code = error.code()
    details = error.details() or ""
    if code == grpc.StatusCode.CANCELLED and client_closed:
        return ClientClosedError()
    refused = _refused_message(code, details)
    if refused is not None:
        receiver, limit = refused
        limits = {limit.setting: limit.needed_text}
        if receiver == "SERVER":
            return ServerMessageLimitError(code, _request_refusal(limit), limits)
        return ResourceExhaustedError(code, _answer_refusal(limit), limits)
    limits = _limits(status)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return _invalid_argument(details, status, reason, limits)
    named = _resource_name(status) if reason == SEARCH_ID_IN_USE_REASON else None
    if code == grpc.StatusCode.ALREADY_EXISTS and named is not None:
        return SearchIdInUseError(details, named)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        details = token_refusal(reason, _TOKEN_SETTING) or details
    if code == grpc.StatusCode.UNIMPLEMENTED:
        details += _UNIMPLEMENTED_HINT
    if code == grpc.StatusCode.NOT_FOUND and (not details or reason == SERVICE_NOT_FOUND_REASON):
        details = (details or "unknown service") + _NOT_FOUND_HINT
    if code == grpc.StatusCode.UNAVAILABLE and plaintext and PLAINTEXT_REFUSED in details:
        details += PLAINTEXT_HINT
    if code == grpc.StatusCode.UNAVAILABLE and certificate is not None and _unexplained(details):
        details += CERTIFICATE_REFUSED_HINT if certificate else CLIENT_CERTIFICATE_HINT
    if code == grpc.StatusCode.UNAVAILABLE and several is not None and _refused(details):
        details += SEVERAL_ADDRESSES_HINT.format(target=several)
    return _ERROR_BY_CODE.get(code, AdvisorRpcError)(code, details, limits)


def _past_timeout(
    error: DeadlineExceededError, reason: str | None, timeout: float, unanswered: str | None
) -> DeadlineExceededError:
    """Return ``error`` saying the call's ``timeout`` ran out, if its own deadline ended it.

    The client's gRPC ends it so (:data:`_GRPC_DEADLINE_EXCEEDED`, no reason), or the server,
    where its answer comes first (``CALL_DEADLINE_EXCEEDED``); a server's own bound keeps its
    words, which name it. gRPC's own end on a channel no server has answered on, target
    ``unanswered``, may be a server it cannot reach, and says to check that first.
    """
    own = reason is None and error.details == _GRPC_DEADLINE_EXCEEDED
    if not (own or reason == CALL_DEADLINE_EXCEEDED_REASON):
        return error
    said = _timeout_clause(timeout, unanswered if own else None)
    return DeadlineExceededError(error.code, error.details + said, error.limits)


def _timeout_clause(timeout: float, unanswered: str | None = None) -> str:
    """Return what a ``DEADLINE_EXCEEDED`` of the call's own ``timeout`` adds to its details.

    With :data:`UNANSWERED_HINT` on the channel's target ``unanswered``, where no server has
    answered on it yet.
    """
    hint = ":" if unanswered is None else UNANSWERED_HINT.format(target=unanswered)
    return f"{_ran_out(timeout)}{hint} {LONGER_TIMEOUT})"


def without_timeout_clause(details: str, timeout: float) -> str:
    """Return ``details`` without the :func:`_timeout_clause` of ``timeout`` (either form).

    For a caller that words the timeout its own way (the command's ``infer``).
    """
    return details.partition(_ran_out(timeout))[0]


def _ran_out(timeout: float) -> str:
    return f" (the call's timeout of {timeout:g} s ran out"


def _invalid_argument(
    details: str, status: status_pb2.Status | None, reason: str | None, limits: dict[str, str]
) -> InvalidArgumentError:
    """Return the typed refusal of an ``INVALID_ARGUMENT``: by its ErrorInfo's ``reason``.

    A :class:`ServerLimitExceededError` for ``LIMIT_EXCEEDED``, a
    :class:`ServerStalePageTokenError` for ``PAGE_TOKEN_STALE`` whose metadata names the
    server's ranking version, else an :class:`InvalidArgumentError`.
    """
    violations = _field_violations(status)
    if reason == LIMIT_EXCEEDED_REASON:
        return ServerLimitExceededError(details, violations, limits)
    versions = _stale_versions(status) if reason == PAGE_TOKEN_STALE_REASON else None
    if versions is not None:
        return ServerStalePageTokenError(details, violations, *versions)
    return InvalidArgumentError(details, violations, limits)


def _request_id(call: grpc.Call) -> str | None:
    """Return the request id the server sent the call, with its status (trailing metadata)."""
    for key, value in call.trailing_metadata() or ():
        if key == REQUEST_ID_METADATA_KEY and isinstance(value, str):
            return value
    return None


def _unexplained(details: str) -> bool:
    """Whether an ``UNAVAILABLE``'s ``details`` say no connection was made, naming no cause.

    A server that asks for a client certificate and gets none ends the handshake with no word
    of it; a refusal of the client's own (:data:`_CLIENT_HANDSHAKE_REFUSALS`) names its cause,
    and so does a connection refused (no server there: a server that was down read as one
    asking for a client certificate).
    """
    named = (*_CLIENT_HANDSHAKE_REFUSALS, _REFUSED)
    return any(words in details for words in _CONNECT_FAILED) and not any(
        cause in details for cause in named
    )


def _refused(details: str) -> bool:
    """Whether an ``UNAVAILABLE``'s ``details`` say no connection was made, one refused."""
    return _REFUSED in details and any(words in details for words in _CONNECT_FAILED)


def _rich_status(call: grpc.Call) -> status_pb2.Status | None:
    """Return the status ``call`` ended with, its details included; None where it has none."""
    # The status-detail modules cost about 12 ms of import: loaded when a call fails.
    from grpc_status import rpc_status

    try:
        status: status_pb2.Status | None = rpc_status.from_call(call)
    except ValueError:
        # The detail contradicts the call's own code or message: the server is at fault, and the
        # caller still gets the status and its message, just without field paths or limits.
        return None
    return status


def _field_violations(status: status_pb2.Status | None) -> list[FieldViolation]:
    """Return the field violations of the ``google.rpc.BadRequest`` details of ``status``."""
    from google.rpc import error_details_pb2

    violations: list[FieldViolation] = []
    for detail in status.details if status is not None else ():
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations.extend(
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            )
    return violations


def _retry_delay(status: status_pb2.Status | None) -> float | None:
    """Return the seconds of the ``google.rpc.RetryInfo`` in ``status``; None without one."""
    from google.rpc import error_details_pb2

    for detail in status.details if status is not None else ():
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(retry):
            seconds: float = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
            return seconds
    return None


def _resource_name(status: status_pb2.Status | None) -> str | None:
    """Return the ``resource_name`` of the ``google.rpc.ResourceInfo`` in ``status``, if any."""
    from google.rpc import error_details_pb2

    for detail in status.details if status is not None else ():
        resource = error_details_pb2.ResourceInfo()
        if detail.Unpack(resource):
            return str(resource.resource_name)
    return None


def _reason(status: status_pb2.Status | None) -> str | None:
    """Return the reason of the service's ErrorInfo in ``status``; None without one."""
    info = _error_info(status)
    return None if info is None else str(info.reason)


def _limits(status: status_pb2.Status | None) -> dict[str, str]:
    """Return the refused limits of the service's ``LIMIT_EXCEEDED`` ErrorInfo in ``status``."""
    info = _error_info(status)
    if info is None or info.reason != LIMIT_EXCEEDED_REASON:
        return {}
    return dict(info.metadata)


def _stale_versions(status: status_pb2.Status | None) -> tuple[int | None, int] | None:
    """Return the token's and the server's ranking versions of a ``PAGE_TOKEN_STALE`` ErrorInfo."""
    info = _error_info(status)
    return None if info is None else stale_token_versions(info.metadata)


def _error_info(status: status_pb2.Status | None) -> error_details_pb2.ErrorInfo | None:
    """Return the ErrorInfo of the service's domain (``advisor.v1``) in ``status``, if any."""
    from google.rpc import error_details_pb2

    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info) and info.domain == ERROR_DOMAIN:
            return info
    return None
