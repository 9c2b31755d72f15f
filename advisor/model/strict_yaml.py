"""Strict YAML: PyYAML's safe loader where YAML 1.1's rules would lose what the user wrote.

The loader parses with libyaml (PyYAML's ``CSafeLoader``) where PyYAML was built with it, as its
wheels are, and with the pure-Python parser otherwise: a task of a thousand 1,024-character
mask rows took 1.7 s to parse in Python and 0.06 s in C. Both report a problem's line and column.
A repeated key is an error (PyYAML keeps the last value silently). Plain scalars resolve by YAML
1.2's core schema, as in JSON, not by YAML 1.1's, which PyYAML follows and which changes what the
user wrote: every 1.2 float (``1e3``, ``1.5e3``, ``-.5``, ``1.7e308``) is a number (1.1 wants a
dot and a signed exponent, and reads ``1.5e3`` and ``1e-3`` as strings); ``010`` is ten (1.1:
octal eight), ``0o17`` and ``0x10`` are octal and hexadecimal; ``1_000``, ``1:30``, ``0b11``,
``yes``, ``off`` and ``2024-01-01`` are strings (1.1: a thousand, ninety, three, booleans and a
date). A quoted scalar stays a string. Merge keys (``<<: *defaults``) merge; a key given in the
mapping itself overrides a merged one, and only the mapping's own keys must be distinct.
Imported by :mod:`advisor.model.documents` only when a file is read, and by the YAML writer
(:mod:`advisor.export.yaml_output`), which quotes what this loader would read as no string.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Hashable
from typing import Any, ClassVar, Final

import yaml

from advisor.model.integer_text import read_integer

__all__ = ["add_core_resolvers", "load_strict", "writes_null"]

_YAML_MERGE_TAG = "tag:yaml.org,2002:merge"


_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictYamlLoader(_SafeLoader):  # type: ignore[misc]  # a base chosen at import
    """The module docstring's loader."""

    # Replaced, not extended: the core schema below is the whole table.
    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        # A node tagged !!map that is no mapping (`!!map [1]`) is refused by PyYAML's own code.
        for key_node, _ in node.value if isinstance(node, yaml.MappingNode) else ():
            if key_node.tag == _YAML_MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} appears more than once", key_node.start_mark
                    )
                seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def core_scalar(self, node: yaml.ScalarNode, kind: str) -> str:
        """Return the text of a scalar of ``kind`` (``int``...), in a form the core schema has.

        A plain scalar reaches a constructor through the resolvers below, which match those
        forms; one tagged explicitly (``!!int abc``, ``!!bool yes``) is checked here, as PyYAML
        would read it by YAML 1.1's rules, or fail with a Python error of its own.
        """
        value: str = self.construct_scalar(node)
        if not _CORE_FORMS[kind].match(value):
            raise yaml.constructor.ConstructorError(
                None, None, f"{value!r} is no {kind} of YAML's core schema", node.start_mark
            )
        return value

    def construct_yaml_null(self, node: yaml.ScalarNode) -> None:
        """Read a null: ``~``, ``null`` or nothing."""
        self.core_scalar(node, "null")

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        """Read a boolean: ``true`` or ``false`` (capitalised or in capitals too)."""
        return self.core_scalar(node, "bool").lower() == "true"

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        """Read a float of the core schema (``1e3``, ``-.5``, ``.inf``) as PyYAML reads it."""
        self.core_scalar(node, "float")
        value: float = super().construct_yaml_float(node)
        return value

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """Read an integer of the core schema: decimal, 0o or 0x."""
        value = self.core_scalar(node, "int")
        sign = -1 if value.startswith("-") else 1
        digits = value.lstrip("+-")
        bases = {"0o": 8, "0x": 16}
        base = bases.get(digits[:2], 10)
        try:
            return sign * read_integer(digits[2:] if base != 10 else digits, base)
        except ValueError as error:  # placed by line and column, as any other problem
            raise yaml.constructor.ConstructorError(
                None, None, str(error), node.start_mark
            ) from None


# The core schema's tags only, and the refusal of any other (under None): PyYAML's YAML 1.1 tags
# (!!timestamp, !!binary, !!set, !!omap, !!pairs) build values no field takes, and some fail on
# a malformed scalar with a Python error (`!!timestamp abc`) rather than a placed problem.
_StrictYamlLoader.yaml_constructors = {
    tag: construct
    for tag, construct in _SafeLoader.yaml_constructors.items()
    if tag is None or tag.removeprefix("tag:yaml.org,2002:") in ("str", "seq", "map")
}
for _kind in ("null", "bool", "int", "float"):
    _StrictYamlLoader.add_constructor(
        f"tag:yaml.org,2002:{_kind}", getattr(_StrictYamlLoader, f"construct_yaml_{_kind}")
    )

# YAML 1.2's core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), with each pattern's
# possible first characters, as PyYAML's resolver indexes them; merge keys as YAML 1.1 has them.
_CORE_SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("merge", r"^(?:<<)$", "<"),
)
_CORE_FORMS = {kind: re.compile(pattern) for kind, pattern, _ in _CORE_SCHEMA}
"""Each kind's forms, which an explicitly tagged scalar must have too."""


def add_core_resolvers(cls: type[yaml.SafeLoader] | type[yaml.SafeDumper]) -> None:
    """Give ``cls`` the implicit resolvers of YAML 1.2's core schema, as this loader reads it.

    The loader resolves plain scalars by them alone. A dumper given them beside its own YAML
    1.1 ones quotes a string either schema reads as something else: PyYAML's dumper wrote
    ``1e3`` and ``0o17`` plain (text in YAML 1.1), which this loader reads as numbers, so a
    document the advisor wrote (a saved task's correlation name) was refused when read back.
    """
    for kind, pattern, first in _CORE_SCHEMA:
        # An empty plain scalar is indexed under "": it is null.
        starts = [*first, ""] if kind == "null" else list(first)
        cls.add_implicit_resolver(f"tag:yaml.org,2002:{kind}", re.compile(pattern), starts)


add_core_resolvers(_StrictYamlLoader)


def load_strict(text: str) -> Any:
    """Parse ``text`` as strict YAML.

    Flow lists of decimal integers (a permutation, an arrangement) are read apart
    (:func:`_with_integer_lists`): libyaml hands PyYAML a node per number, which it resolves and
    constructs in Python, so a saved 1024 x 1024 search result (five permutations of a million
    numbers) took 40-60 s and 2.4 GB to read.

    Raises
    ------
    ValueError
        When the text is not valid (strict) YAML: one line, the problem and where it is.
    """
    document, flat = _with_integer_lists(text)
    if document is _UNREAD:
        try:
            document = yaml.load(text, Loader=_StrictYamlLoader)
        except yaml.MarkedYAMLError as error:
            raise ValueError(_one_line(error, text)) from None
        except yaml.reader.ReaderError as error:
            raise ValueError(_unreadable_character(error, text)) from None
        except yaml.YAMLError as error:
            raise ValueError(str(error)) from None
    written = _VALUES_PER_CHARACTER * len(text)
    if _values_beyond(document, written + _ALIASED_VALUES, flat):
        raise ValueError(
            f"its aliases (*name) repeat values past {written + _ALIASED_VALUES:,} in all (its "
            f"{len(text):,} characters write {written:,} at most, and aliases may add "
            f"{_ALIASED_VALUES:,}): write the values out"
        )
    return document


_VALUES_PER_CHARACTER: Final = 2
"""Values a character of YAML writes at most: every value written out takes one at least
(``[]``, ``a: 1``); only aliases (``*name``) repeat a value without writing it again."""

_ALIASED_VALUES: Final = 1_000_000
"""Values a document's aliases may add to those its characters write (:func:`_values_beyond`).

A task whose correlations share a region by an alias reads as it did; a Katib task of 60,000
aliases of one correlation of 512 ids, 244 kB, made a server build 60,000 correlations (30
million values: 575 MB, 17 s) before any limit was checked. A million values are read in about
a second."""


def _values_beyond(document: Any, most: int, flat: frozenset[int]) -> bool:
    """Whether ``document`` holds more than ``most`` values, an alias's counted at every repeat.

    Each container and each scalar counts one. A container's count is found once, however often
    aliases repeat it, so the time is that of the values written, not of their repeats; one
    that holds itself (``&a [*a]``) repeats for ever. The lists whose ids are in ``flat`` hold
    integers only (:func:`_with_integer_lists`'): counted, not looked into.
    """
    counts: dict[int, int] = {}
    open_: set[int] = set()  # containers whose count waits for their children's
    pending: list[tuple[Any, bool]] = [(document, False)]
    while pending:
        value, children_counted = pending.pop()
        if not isinstance(value, (dict, list)) or id(value) in counts:
            continue
        if id(value) in flat:
            counts[id(value)] = 1 + len(value)
            if counts[id(value)] > most:
                return True
            continue
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        if children_counted:
            counts[id(value)] = 1 + sum(counts.get(id(child), 1) for child in children)
            open_.discard(id(value))
            if counts[id(value)] > most:
                return True
            continue
        if id(value) in open_:
            return True  # it holds itself
        open_.add(id(value))
        pending.append((value, True))
        pending.extend((child, False) for child in children if isinstance(child, (dict, list)))
    return counts.get(id(document), 1) > most


_UNREAD: Final = object()
"""What :func:`_with_integer_lists` returns when the text must be read as it is."""

_INTEGER_LIST = re.compile(
    r"\[[ \r\n]*[-+]?[0-9]{1,18}(?:[ \r\n]*,[ \r\n]*[-+]?[0-9]{1,18})*[ \r\n]*\]"
)
"""A flow list of decimal integers, each of at most 18 digits (an ``int64``), and spaces."""


def _with_integer_lists(text: str) -> tuple[Any, frozenset[int]]:
    """Return ``text``'s document with its flow lists of integers read apart, or :data:`_UNREAD`.

    Beside it, the ids of those lists, which hold integers only (none with :data:`_UNREAD`).

    Each list is replaced by a scalar under a tag of this call's own (``!ints-<random> 3``), whose
    constructor returns the list; the text left is parsed as usual. A list's brackets may also
    stand in a string (a quoted or block scalar, ``a [1, 2]``), where the tag is only text, or
    in a place no list may (a key), so the document is read this way only when it parses and
    no string or key in it holds the tag: else :data:`_UNREAD`, and the caller parses the text as
    it is, which also places any problem on the text's own lines.
    """
    lists: list[list[int]] = []

    def placeholder(match: re.Match[str]) -> str:
        lists.append([int(number) for number in match[0][1:-1].split(",")])
        return f"{tag} {len(lists) - 1}"

    tag = f"!ints-{secrets.token_hex(8)}"
    reduced = _INTEGER_LIST.sub(placeholder, text)
    if not lists:
        return _UNREAD, frozenset()

    def construct_list(loader: yaml.SafeLoader, node: yaml.Node) -> list[int]:
        index = node.value if isinstance(node, yaml.ScalarNode) else None
        if not (isinstance(index, str) and index.isdigit() and int(index) < len(lists)):
            raise yaml.constructor.ConstructorError(None, None, "not a list", node.start_mark)
        return lists[int(index)]

    class Loader(_StrictYamlLoader):
        """The strict loader, with this call's lists under its tag."""

    Loader.add_constructor(tag, construct_list)
    try:
        document = yaml.load(reduced, Loader=Loader)
    except (yaml.YAMLError, RecursionError):
        return _UNREAD, frozenset()
    flat = frozenset(id(numbers) for numbers in lists)
    return (_UNREAD, frozenset()) if _mentions(document, tag, set(flat)) else (document, flat)


def _mentions(document: Any, text: str, skipped: set[int]) -> bool:
    """Whether a string or a key in ``document`` holds ``text``.

    Containers in ``skipped``, and any met before (an alias repeats one), are not looked into.
    """
    seen = set(skipped)
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if text in value:
                return True
        elif isinstance(value, dict | list) and id(value) not in seen:
            seen.add(id(value))
            pending.extend(value.values() if isinstance(value, dict) else value)
            pending.extend(value.keys() if isinstance(value, dict) else ())
    return False


def writes_null(text: str) -> bool:
    """Whether the valid YAML ``text`` writes a null (``null``, ``~``), not no value at all.

    Both load as None: no text, only comments or a bare ``---`` compose no node, or a null
    scalar of no text. A file of ``null`` told it was empty sent its writer looking for a file
    that was not saved.
    """
    node = yaml.compose(text, Loader=_StrictYamlLoader)
    return isinstance(node, yaml.ScalarNode) and node.value != ""


def _one_line(error: yaml.MarkedYAMLError, text: str) -> str:
    """Return ``line L, column C: problem (context)``, a tab that stands there said to be one.

    PyYAML's own text quotes the input over several lines and calls it ``<unicode string>``, since
    it never saw the file's name; the caller names the file. Of a tab indenting a line it says
    "found character that cannot start any token", which names no tab.
    """
    mark = error.problem_mark or error.context_mark
    where = "" if mark is None else f"line {mark.line + 1}, column {mark.column + 1}: "
    problem = error.problem or error.context or "invalid YAML"
    context = f" ({error.context})" if error.problem and error.context else ""
    tab = "; the character is a tab: tabs cannot indent YAML" if _tab_at(mark, text) else ""
    return f"{where}{problem}{context}{tab}"


def _tab_at(mark: yaml.Mark | None, text: str) -> bool:
    """Return whether the character ``mark`` places in ``text`` is a tab."""
    lines = text.split("\n")
    if mark is None or mark.line >= len(lines):
        return False
    line = lines[mark.line]
    return mark.column < len(line) and line[mark.column] == "\t"


def _unreadable_character(error: yaml.reader.ReaderError, text: str) -> str:
    """Return ``line L, column C: character U+XXXX: reason`` for a character YAML refuses.

    PyYAML's own text of a control character (a NUL, an ESC) spans two lines and places it by
    its offset in ``<unicode string>`` (in UTF-8 bytes, from libyaml); a file's reader wants the
    line and column, on one line. YAML refuses such a character wherever it stands, so the one
    refused is its first in the text.
    """
    code = error.character if isinstance(error.character, int) else ord(error.character)
    position = text.find(chr(code))
    where = text[: max(position, 0)]
    line, column = where.count("\n") + 1, len(where) - (where.rfind("\n") + 1) + 1
    return f"line {line}, column {column}: character U+{code:04X}: {error.reason}"
