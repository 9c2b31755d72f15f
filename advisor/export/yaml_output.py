"""YAML as a person reads it: the command's ``--format yaml`` and the architecture file.

Imported only where YAML is written (PyYAML costs about 10 ms of import). It lives with the export
rather than the command so that :func:`advisor.export.document.architecture_yaml` writes files
in the same shape as ``advisor recommend --format yaml`` and the examples in docs/FORMATS.md.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any, Final

import yaml

from advisor.model.strict_yaml import add_core_resolvers

__all__ = ["readable_yaml"]

_WIDTH: Final = 100
"""The column past which PyYAML wraps a flow list (its ``width``)."""

_INDENT: Final = 2
"""How much deeper than its key PyYAML indents a flow list's wrapped lines (``best_indent``)."""


def readable_yaml(document: Mapping[str, Any], *, ascii_only: bool = False) -> str:
    """Return ``document`` as YAML in the order given, lists of scalars inline.

    Text is written as it is, or with every character past ASCII escaped (``ascii_only``).

    A list of integers held by a mapping (a permutation, an arrangement) is written here, not by
    PyYAML, in the same text PyYAML writes: a placeholder stands for it in the dump and the
    wrapped flow list replaces it. PyYAML builds, resolves and emits a node per number, in
    Python: the five permutations of a 1024 x 1024 search took 90 s and 2 GB to write.
    """
    lists: dict[str, list[int]] = {}
    marker = f"ints-{secrets.token_hex(8)}-"
    text = yaml.dump(
        _marked(document, marker, lists),
        Dumper=_ReadableDumper,
        sort_keys=False,
        width=_WIDTH,
        allow_unicode=not ascii_only,
    )
    if not lists:
        return text

    def flow_list(match: re.Match[str]) -> str:
        line_start = text.rfind("\n", 0, match.start()) + 1
        return _flow_ints(lists[match.group(1)], text[line_start : match.start()])

    return re.sub(f" ({re.escape(marker)}[0-9]+)$", flow_list, text, flags=re.MULTILINE)


def _marked(value: Any, marker: str, lists: dict[str, list[int]]) -> Any:
    """Return ``value`` with each list of integers a mapping holds replaced by a placeholder.

    ``lists`` receives each placeholder's list. Lists elsewhere (a list's items) stay, as do
    lists of anything else (``True`` is an ``int`` PyYAML writes as ``true``).
    """
    if isinstance(value, Mapping):
        marked = {}
        for key, item in value.items():
            if isinstance(item, list) and all(type(number) is int for number in item):
                placeholder = f"{marker}{len(lists)}"
                lists[placeholder] = item
                marked[key] = placeholder
            else:
                marked[key] = _marked(item, marker, lists)
        return marked
    if isinstance(value, list):
        return [_marked(item, marker, lists) for item in value]
    return value


def _flow_ints(numbers: list[int], prefix: str) -> str:
    """Return ``numbers`` as the flow list PyYAML writes after ``prefix``, the space before it.

    ``prefix`` is the list's line up to its key's colon. The list wraps once a line passes
    :data:`_WIDTH` columns, its wrapped lines :data:`_INDENT` deeper than the key (past the
    line's ``- `` indicators, and the ``: `` of a long key's value).
    """
    key = 0
    while prefix.startswith((" ", "- ", ": "), key):
        key += 1 if prefix[key] == " " else 2
    indent = "\n" + " " * (key + _INDENT)
    pieces = [" ["]
    column = len(prefix) + 2
    fresh = True  # just after "[" or a line break: no space before the next number
    for index, number in enumerate(map(str, numbers)):
        if index:
            pieces.append(",")
            column += 1
            fresh = False
        if column > _WIDTH:
            pieces.append(indent)
            column, fresh = len(indent) - 1, True
        if not fresh:
            pieces.append(" ")
            column += 1
        pieces.append(number)
        column += len(number)
    pieces.append("]")
    return "".join(pieces)


class _ReadableDumper(yaml.SafeDumper):
    """YAML as a person reads it: scalar lists inline, multi-line text as literal blocks.

    ``pool: [2, 2]`` rather than one line per number (a permutation becomes one wrapped block),
    and preset descriptions keep their paragraphs. A string either YAML 1.1 (``yaml.safe_load``)
    or the advisor's own YAML 1.2 reader would read as no string (``yes``, ``1e3``) is quoted.
    """


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    inline = all(not isinstance(item, list | dict) for item in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=inline)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


add_core_resolvers(_ReadableDumper)
_ReadableDumper.add_representer(list, _represent_list)
_ReadableDumper.add_representer(str, _represent_str)
