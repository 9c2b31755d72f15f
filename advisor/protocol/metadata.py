"""Call metadata the client and the server agree on, beside the wire messages."""

from __future__ import annotations

from typing import Final

__all__ = ["AUTHORIZATION_METADATA_KEY", "bearer_metadata"]

AUTHORIZATION_METADATA_KEY: Final = "authorization"
"""The metadata key (gRPC metadata keys are lower case) carrying ``Bearer <token>``."""


def bearer_metadata(token: str) -> tuple[str, str]:
    """Return the metadata entry that presents ``token`` to a server started with a token file."""
    return (AUTHORIZATION_METADATA_KEY, f"Bearer {token}")
