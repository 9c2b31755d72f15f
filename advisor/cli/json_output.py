"""JSON as a person reads it, for ``--format json``: indented, lists of scalars on one line.

``json.dumps(indent=2)`` puts every number of a list on a line of its own, so a recommendation
for a 16x16 input ran to 300 lines of its permutation, and one for 1024x1024 to a million. As
the YAML output does (:mod:`advisor.export.yaml_output`), a list that holds no list or object is
written inline (``"pool": [2, 2]``); objects and lists of them are indented. Only whitespace
differs from ``json.dumps``: the parsed document is the same.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["readable_json"]

_INDENT = 2

_LINE_BREAKS = str.maketrans({c: f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"})
"""Characters that break a line for Python's ``splitlines`` and many editors, though JSON takes
them in a string as they are: escaped even where other text is written as it is, so one item of
the document stays on one line."""


def readable_json(document: Any, *, ascii_only: bool = False) -> str:
    """Return ``document`` (JSON-ready data) as indented JSON, scalar lists inline.

    Text is written as it is, or with every character past ASCII escaped (``ascii_only``).
    """
    return _dumped(document, 0, ascii_only) + "\n"


def _dumped(value: Any, depth: int, ascii_only: bool) -> str:
    if isinstance(value, dict):
        items = [
            f"{_text(key, ascii_only)}: {_dumped(item, depth + 1, ascii_only)}"
            for key, item in value.items()
        ]
        return _block("{", items, "}", depth)
    if isinstance(value, list) and _holds_containers(value):
        return _block("[", [_dumped(item, depth + 1, ascii_only) for item in value], "]", depth)
    return _text(value, ascii_only)


def _text(value: Any, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only).translate(_LINE_BREAKS)


def _holds_containers(items: list[Any]) -> bool:
    # By the items' types, found at C speed: a permutation holds a million ints.
    return any(issubclass(kind, list | dict) for kind in set(map(type, items)))


def _block(opening: str, items: list[str], closing: str, depth: int) -> str:
    if not items:
        return opening + closing
    inner, outer = " " * (_INDENT * (depth + 1)), " " * (_INDENT * depth)
    return f"{opening}\n{inner}" + f",\n{inner}".join(items) + f"\n{outer}{closing}"
