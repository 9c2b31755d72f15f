"""How the tools say a count: with its noun, singular for one.

A module of its own below every other, so the error messages (:mod:`advisor.errors`) say their
counts the way every other message does.
"""

from __future__ import annotations

__all__ = ["counted"]


def counted(count: int, noun: str, plural: str = "") -> str:
    """Write a count with its noun, singular for one: ``1 design``, ``1,024 entries``.

    ``plural`` is the noun's plural where it is not the noun and an ``s`` (``entries``).
    """
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
