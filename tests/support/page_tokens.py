"""Page tokens as another version of the advisor's ranking wrote them."""

from __future__ import annotations

import base64

__all__ = ["of_ranking_version"]


def of_ranking_version(token: str, version: int | None) -> str:
    """Return ``token`` as ranking version ``version`` wrote it: its version part replaced.

    ``version`` None leaves the version part out, as the tokens of version 3 and earlier did
    (their digest alone held it). Only the version changes: the offset and the digest stay.
    """
    text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    parts = text.split(":")[:2] + ([] if version is None else [str(version)])
    return base64.urlsafe_b64encode(":".join(parts).encode()).decode().rstrip("=")
