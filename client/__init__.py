"""Python client library of the architecture advisor (installed as ``advisor_client``).

:class:`AdvisorClient` calls the ``advisor.v1.ArchitectureAdvisor`` service and returns the
library's pydantic models; failures raise the :class:`AdvisorRpcError` family.
"""

from advisor_client.client import (
    AdvisorClient,
    ArchitectureLike,
    BudgetLike,
    RetryPolicy,
    TaskLike,
    TlsConfig,
)
from advisor_client.errors import (
    AdvisorRpcError,
    DeadlineExceededError,
    InvalidArgumentError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)

__all__ = [
    "AdvisorClient",
    "AdvisorRpcError",
    "ArchitectureLike",
    "BudgetLike",
    "DeadlineExceededError",
    "InvalidArgumentError",
    "ResourceExhaustedError",
    "RetryPolicy",
    "TaskLike",
    "TlsConfig",
    "UnauthenticatedError",
    "UnavailableError",
]
