"""Reading task and architecture files: strict YAML or JSON, one mapping per file.

Both file kinds go through :func:`read_document`, so they follow the same rules: JSON when the
name ends in ``.json``, YAML otherwise; a repeated key is an error (PyYAML and ``json`` keep the
last value silently, which would lose what the user wrote); ``1e-3`` is a number in YAML as in
JSON (YAML 1.1 reads it as a string).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping
from typing import Any

from advisor.errors import InvalidRequestError

__all__ = ["architecture_argument", "read_document"]


def read_document(path: str | os.PathLike[str], kind: str) -> Mapping[str, Any]:
    """Parse the file at ``path`` into a mapping; ``kind`` ("task", ...) names it in errors.

    Raises
    ------
    InvalidRequestError
        On field ``""`` (the whole document) when the file cannot be read, is not valid YAML or
        JSON, repeats a key or does not hold a mapping.
    """
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        document = _parse_json(text) if name.endswith(".json") else _parse_yaml(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequestError.single("", f"cannot read {kind} file {name!r}: {exc}") from None
    if not isinstance(document, Mapping):
        raise InvalidRequestError.single("", f"{kind} file {name!r} must hold a mapping")
    return document


def _parse_json(text: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        mapping = dict(pairs)
        if len(mapping) != len(pairs):
            repeated = next(
                key for key, count in Counter(key for key, _ in pairs).items() if count > 1
            )
            raise ValueError(f"key {repeated!r} appears more than once in one object")
        return mapping

    return json.loads(text, object_pairs_hook=no_duplicates)


def _parse_yaml(text: str) -> Any:
    # PyYAML costs about 10 ms of import: loaded when a file is read, not by every client.
    from advisor.model.strict_yaml import load_strict

    return load_strict(text)


def architecture_argument(path: str | os.PathLike[str], rank: int | None) -> Mapping[str, Any]:
    """Return the architecture document a path stands for: the file's, or its recommendation's.

    ``advisor analyze --arch`` and the client's ``analyze`` read it so. A result of ``recommend
    --format json|yaml`` holds its recommendations' architectures; the one of rank ``rank``
    (default: the first listed) is meant, so a saved result needs no editing. A ``rank`` with
    an architecture file is refused, not ignored. Refusals name ``architecture`` (the file),
    ``architecture.recommendations...`` or ``rank``.
    """
    try:
        document = read_document(path, "architecture")
    except InvalidRequestError as error:
        raise error.prefixed("architecture") from None
    if "recommendations" not in document:
        if rank is not None:
            raise InvalidRequestError.single(
                "rank", f"{os.fspath(path)} is an architecture, not a result"
            )
        return document
    recommendations = document["recommendations"]
    if not isinstance(recommendations, list) or not recommendations:
        raise InvalidRequestError.single(
            "architecture.recommendations", "a recommend result with no recommendation"
        )
    ranks = [r.get("rank") if isinstance(r, Mapping) else None for r in recommendations]
    if rank is None:
        index = 0
    elif rank in ranks:
        index = ranks.index(rank)
    else:
        raise InvalidRequestError.single("rank", f"{os.fspath(path)} holds the ranks {ranks}")
    chosen = recommendations[index]
    if not isinstance(chosen, Mapping) or not isinstance(chosen.get("architecture"), Mapping):
        raise InvalidRequestError.single(
            f"architecture.recommendations[{index}].architecture", "must be an architecture"
        )
    architecture: Mapping[str, Any] = chosen["architecture"]
    return architecture
