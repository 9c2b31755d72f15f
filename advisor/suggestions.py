"""Name suggestions: the known name closest to a misspelt one, and the names a place takes.

Every refusal of an unknown name (a document's field, a region's form key, a command-line option
or choice, a task preset, a server config file's key) suggests the closest name with
:func:`did_you_mean` and lists the known ones with :func:`known_keys`, so they all suggest and
list alike. Standard library only (difflib), so a command's parser suggests an option without
loading pydantic, which the refusal of a document's unknown field
(:func:`~advisor.validation_messages.invalid_request_from_pydantic`) needs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Final

__all__ = ["KNOWN_KEYS_START", "closest_name", "did_you_mean", "known_keys", "unknown_name"]


KNOWN_KEYS_START: Final = "; known: "
"""How a refusal of an unknown key that none is spelt like starts listing the keys known."""


def known_keys(names: Iterable[str]) -> str:
    """Return the hint listing the keys a place takes (``; known: a, b``), in ``names``' order.

    An unknown key none is spelt like is told them: a document's nested place's
    (:func:`~advisor.validation_messages.invalid_request_from_pydantic`) and a server config
    file's alike, each once per place, on its first such key.
    """
    return f"{KNOWN_KEYS_START}{', '.join(names)}"


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """Say that ``name`` is no known ``kind`` (e.g. "task preset"): the known ones, the closest."""
    names = list(known)
    return f"unknown {kind} {name!r}{known_keys(names)}{did_you_mean(name, names)}"


def did_you_mean(word: str, names: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the name closest to a misspelt ``word``, or "" if none is.

    The one suggestion every error of the product makes (a field, a region's form key, a
    command-line choice), so they all suggest alike. Where no name is spelt alike, the one
    name whose underscore-separated words hold every word of ``word`` is suggested (``grace``:
    ``grace_seconds``), not several.
    """
    close = closest_name(word, names)
    return "" if close is None else f"; did you mean {close!r}?"


def closest_name(word: str, names: Iterable[str]) -> str | None:
    """Return the name :func:`did_you_mean` suggests for a misspelt ``word``, or None."""
    candidates = list(names)
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.75)
    if not close:
        words = set(word.lower().split("_"))
        close = [name for name in candidates if words <= set(name.lower().split("_"))]
    return close[0] if len(close) == 1 else None
