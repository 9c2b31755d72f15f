"""YAML as a person reads it: the command's ``--format yaml`` and the architecture file.

Imported only where YAML is written (PyYAML costs about 10 ms of import). It lives with the export
rather than the command so that :func:`advisor.export.document.architecture_yaml` writes files
in the same shape as ``advisor recommend --format yaml`` and the examples in docs/FORMATS.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["readable_yaml"]


def readable_yaml(document: Mapping[str, Any], *, ascii_only: bool = False) -> str:
    """Return ``document`` as YAML in the order given, lists of scalars inline.

    Text is written as it is, or with every character past ASCII escaped (``ascii_only``).
    """
    return yaml.dump(
        document,
        Dumper=_ReadableDumper,
        sort_keys=False,
        width=100,
        allow_unicode=not ascii_only,
    )


class _ReadableDumper(yaml.SafeDumper):
    """YAML as a person reads it: scalar lists inline, multi-line text as literal blocks.

    ``pool: [2, 2]`` rather than one line per number (a permutation becomes one wrapped block),
    and preset descriptions keep their paragraphs.
    """


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    inline = all(not isinstance(item, list | dict) for item in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=inline)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_ReadableDumper.add_representer(list, _represent_list)
_ReadableDumper.add_representer(str, _represent_str)
