"""Page tokens as another version of the advisor's ranking wrote them."""

from __future__ import annotations

import base64
import hashlib

__all__ = ["of_ranking_version"]


def of_ranking_version(token: str, version: int | None) -> str:
    """Return ``token`` as ranking version ``version`` wrote it: its version part replaced.

    ``version`` None leaves the version part out, as the tokens of version 3 and earlier did
    (their digest alone held it): the offset and the digest stay. Another version's digest of
    the same request is another digest (each holds the version that wrote it), here one drawn
    from the token's and the version; the offset stays.
    """
    text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    offset, digest, *written = text.split(":")
    if version is None:
        parts = [offset, digest]
    else:
        if written != [str(version)]:
            digest = hashlib.sha256(f"{digest}:{version}".encode()).hexdigest()[: len(digest)]
        parts = [offset, digest, str(version)]
    return base64.urlsafe_b64encode(":".join(parts).encode()).decode().rstrip("=")
