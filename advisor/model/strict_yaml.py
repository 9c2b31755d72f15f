"""Strict YAML: PyYAML's safe loader where YAML 1.1's rules would lose what the user wrote.

The loader parses with libyaml (PyYAML's ``CSafeLoader``) where PyYAML was built with it, as its
wheels are, and with the pure-Python parser otherwise: a task of a thousand 1,024-character
mask rows took 1.7 s to parse in Python and 0.06 s in C. Both report a problem's line and column.
A repeated key is an error (PyYAML keeps the last value silently), and every float of YAML 1.2's
core schema (``1e3``, ``1.5e3``, ``-.5``, ``1.7e308``) is a number, as in JSON: YAML 1.1's rule,
which PyYAML follows, wants a dot and a signed exponent, and reads ``1.5e3`` and ``1e-3`` as
strings. Integers stay integers, and a quoted scalar stays a string. Imported by
:mod:`advisor.model.documents` only when a file is read.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import yaml

__all__ = ["load_strict"]

_YAML_MERGE_TAG = "tag:yaml.org,2002:merge"


_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictYamlLoader(_SafeLoader):  # type: ignore[misc]  # a base chosen at import
    """The module docstring's loader."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key_node.tag != _YAML_MERGE_TAG:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} appears more than once", key_node.start_mark
                    )
                seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


# YAML 1.2's core float, ``[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?``, less its
# plain integers (a dot or an exponent is required), which the integer rule, earlier in the list
# for these first characters, keeps resolving as integers. PyYAML's float constructor reads every
# form the pattern accepts. The .inf and .nan forms are YAML 1.1's, resolved by PyYAML as before.
_StrictYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$"),
    list("-+.0123456789"),
)


def load_strict(text: str) -> Any:
    """Parse ``text`` as strict YAML.

    Raises
    ------
    ValueError
        When the text is not valid (strict) YAML: one line, the problem and where it is.
    """
    try:
        return yaml.load(text, Loader=_StrictYamlLoader)
    except yaml.MarkedYAMLError as error:
        raise ValueError(_one_line(error)) from None
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from None


def _one_line(error: yaml.MarkedYAMLError) -> str:
    """Return ``line L, column C: problem (context)``.

    PyYAML's own text quotes the input over several lines and calls it ``<unicode string>``, since
    it never saw the file's name; the caller names the file.
    """
    mark = error.problem_mark or error.context_mark
    where = "" if mark is None else f"line {mark.line + 1}, column {mark.column + 1}: "
    problem = error.problem or error.context or "invalid YAML"
    context = f" ({error.context})" if error.problem and error.context else ""
    return f"{where}{problem}{context}"
