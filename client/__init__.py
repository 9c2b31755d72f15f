"""Python client library of the architecture advisor (installed as ``advisor_client``).

:class:`AdvisorClient` calls the ``advisor.v1.ArchitectureAdvisor`` service and returns the
library's pydantic models; failures raise the :class:`AdvisorRpcError` family, and a request
refused before it is sent raises :class:`InvalidRequestError`; bad input raises a
:class:`BadRequestError` either way (:class:`InvalidRequestError`, or the server's
:class:`InvalidArgumentError`).
"""

from advisor_client.client import AdvisorClient
from advisor_client.connection import RetryPolicy, ServerVersion, TlsConfig
from advisor_client.conversions import ArchitectureLike, BudgetLike, TaskLike
from advisor_client.errors import (
    AdvisorRpcError,
    BadRequestError,
    ClientClosedError,
    DeadlineExceededError,
    InvalidArgumentError,
    InvalidRequestError,
    LimitExceededError,
    ResourceExhaustedError,
    SearchIdInUseError,
    SearchNotStartedError,
    ServerLimitExceededError,
    ServerMessageLimitError,
    ServerStalePageTokenError,
    StalePageTokenError,
    UnauthenticatedError,
    UnavailableError,
)

from advisor.infer.source import DataLike
from advisor.version import __version__

__all__ = [
    "AdvisorClient",
    "AdvisorRpcError",
    "ArchitectureLike",
    "BadRequestError",
    "BudgetLike",
    "ClientClosedError",
    "DataLike",
    "DeadlineExceededError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "LimitExceededError",
    "ResourceExhaustedError",
    "RetryPolicy",
    "SearchIdInUseError",
    "SearchNotStartedError",
    "ServerLimitExceededError",
    "ServerMessageLimitError",
    "ServerStalePageTokenError",
    "ServerVersion",
    "StalePageTokenError",
    "TaskLike",
    "TlsConfig",
    "UnauthenticatedError",
    "UnavailableError",
    "__version__",
]
