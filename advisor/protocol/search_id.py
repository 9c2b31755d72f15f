"""What names a search (``search_id``), the rule the client and the server share.

A search request may name its search so that ``FinishSearch`` can end it (docs/SERVICE.md); the
client checks a name before any call, the server again when the request arrives.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_SEARCH_ID_CHARS", "search_id_problem"]

MAX_SEARCH_ID_CHARS: Final = 128
"""Longest ``search_id``: room for a UUID, a job name and a trial number."""

_SEARCH_ID: Final = re.compile(rf"[A-Za-z0-9._~-]{{1,{MAX_SEARCH_ID_CHARS}}}")


def search_id_problem(search_id: str) -> str | None:
    """Return why ``search_id`` is no search's name, or None when it is one.

    A name is 1 to :data:`MAX_SEARCH_ID_CHARS` ASCII letters, digits and ``-._~`` (a URL's
    unreserved characters: a UUID, a job name), so every message may quote it as it is.
    """
    if _SEARCH_ID.fullmatch(search_id):
        return None
    if not search_id:
        # Not "is required": a search request's name is optional (None, or empty on the wire,
        # is none), and a caller who passed "" named nothing.
        return (
            f"is empty: a search's name is 1 to {MAX_SEARCH_ID_CHARS} ASCII letters, digits "
            "and '-._~'"
        )
    if len(search_id) > MAX_SEARCH_ID_CHARS:
        return f"must be at most {MAX_SEARCH_ID_CHARS} characters; got {len(search_id):,}"
    position = next(i for i, char in enumerate(search_id) if not _SEARCH_ID.fullmatch(char))
    return (
        "must hold only ASCII letters, digits and '-._~'; got "
        f"U+{ord(search_id[position]):04X} at position {position}"
    )
