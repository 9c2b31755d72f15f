"""Page tokens: a ranking continued across calls, past one call's ``top_k``.

A search ranks every distinct tree it evaluates; one call returns ``top_k`` of them. The token of
the next page names where that page starts and which request it belongs to (a digest of the task
as resolved and of every budget field but ``top_k``, ``time_limit_seconds`` and ``page_token``).
The next call runs the same deterministic search and returns the designs ranked after that
offset, so a sampler or a Katib controller can keep asking; pages of a complete search
(``complete = True``) join into one ranking without repeats. A token from another request is
refused, not misread, and so is one whose page starts past the end of a complete search's
ranking (a token no search wrote), or one another version of the ranking wrote
(:data:`~advisor.version.RANKING_VERSION`: a server upgraded between two pages does not
continue another order), this last as a :class:`~advisor.errors.StalePageTokenError`, since
its caller starts again rather than changing its request. Only a well-formed token (an offset,
a digest and a version) is stale: one cut short, or without its version part, is no token
this version wrote, whatever version it seems to name; nor is one whose digest is this
version's of the request while its version part names another (the digest holds the version
that wrote it: a character added to the token changes the version part alone).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Final

from advisor.errors import FieldViolation, InvalidRequestError, StalePageTokenError
from advisor.model.budget import FAMILIES, Budget, default_hidden_floor
from advisor.model.task import Task
from advisor.search.candidates import deepest_tree
from advisor.version import RANKING_VERSION

__all__ = ["PAST_THE_END", "next_page_token", "page_offset"]

_FIELD: Final = "budget.page_token"
_PAGE_INDEPENDENT: Final = frozenset({"top_k", "time_limit_seconds", "page_token"})
_DIGEST_CHARS: Final = 16
_DIGESTED_WHEN_SET: Final = ("max_activations",)
"""Budget fields added after tokens were first written: left out of the digest while unset."""

_NOT_A_TOKEN: Final = "is not a page token (pass a result's next_page_token unchanged)"
"""Why a token no version of the ranking wrote is refused."""

PAST_THE_END: Final = "starts past the end of this request's ranking ({count} designs)"
"""Why a token is refused when a complete search ranks fewer designs than it skips."""

_VERSIONLESS: Final = (
    "has no ranking version part: it was cut short, or written by version 3 or earlier of the "
    "advisor's ranking, whose pages this advisor does not continue; pass a result's "
    "next_page_token unchanged, or start again from the first page (without a page token)"
)
"""Why a token of an offset and a digest alone is refused (no version of this format is)."""


def _request_digest(task: Task, budget: Budget) -> str:
    """Return a digest of what decides the ranking: its version, the task, the search options.

    Both as the search reads them, not as the request spells them: the same search gets the
    same token however it is written (a preset or its expansion, a box or its ids, the widths
    in any order), where a token of one spelling was refused by another as another request's.
    """
    document = [RANKING_VERSION, _searched_task(task), _search_options(task, budget)]
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:_DIGEST_CHARS]


def _searched_task(task: Task) -> dict[str, object]:
    """Return the task as the search reads it: its correlations resolved, in their order.

    Each correlation by its name, weight, stated relation and a digest of each region's ids
    (:meth:`~advisor.model.packed.PackedIds.digest`); the preset is among them, expanded. The
    task's ``outputs`` are left to the search options, where the outputs the search builds are.
    """
    document: dict[str, object] = task.model_dump(
        mode="json", exclude={"correlations", "preset", "outputs"}
    )
    document["correlations"] = [
        [c.name, c.weight, c.relation, c.packed_a.digest(), c.packed_b.digest()]
        for c in task.resolved()
    ]
    return document


def _search_options(task: Task, budget: Budget) -> dict[str, object]:
    """Return the budget's fields that decide the ranking, as the search reads them.

    The widths ascending, as the search takes them (:meth:`~advisor.model.budget.Budget.choices`),
    and the families in their canonical order, since the search only asks whether it may use
    each: a budget of the same families listed in another order, or built from a set (whose
    order of strings changes with ``PYTHONHASHSEED``, so another worker process lists them
    otherwise), got another token and refused the first one's.
    A depth bound at or past the deepest tree the search builds on the input is no bound: the
    library leaves ``max_depth`` unset, a server brings an unset one to its ``max_layers`` limit
    (16 by default, 24 for the command's embedded server;
    :func:`advisor.service.limits.defaults_within`), and the three run the same search. Digested
    as given, the one request had a token per front door, each refused by the others as another
    request's; measured against the most levels any grid of the input's size could have
    (:func:`~advisor.search.candidates.deepest_schedule`, 17 on 128 x 128, whose trees have at
    most 7), a server's 16 still was. The outputs are those every candidate has (the budget's,
    else the task's, else 1): given by the task or by the budget, they are one search. So are
    a ``min_width`` at its default, max(outputs, 8), and none: ``--min-width 8`` got another
    token, and refused the default request's. A bound newer than the tokens already written
    (``max_activations``) is digested only when set: a request without it keeps the token it had
    before the field existed.
    """
    options = budget.model_dump(mode="json", exclude=set(_PAGE_INDEPENDENT))
    for field in _DIGESTED_WHEN_SET:
        if options[field] is None:
            del options[field]
    if budget.channel_choices is not None:  # a set of widths: the search sorts them
        options["channel_choices"] = sorted(budget.channel_choices)
    if budget.geometries is not None:  # a set of families: the search asks only which it holds
        options["geometries"] = [family for family in FAMILIES if family in budget.geometries]
    if budget.max_depth is not None and budget.max_depth >= deepest_tree(task.input.shape):
        options["max_depth"] = None
    if budget.min_depth is not None and budget.min_depth <= 1:
        options["min_depth"] = None
    outputs = options["outputs"] = budget.outputs_for(task.outputs)
    if budget.min_width == default_hidden_floor(outputs):
        options["min_width"] = None
    return options


def next_page_token(task: Task, budget: Budget, offset: int) -> str:
    """Return the token of the page of the ranking (``task``, ``budget``) starting at ``offset``.

    It says the :data:`RANKING_VERSION` that wrote it (after the digest, which holds it too),
    so a server of another version tells its caller to start again rather than to keep a
    request the caller never changed.
    """
    return _encoded(f"{offset}:{_request_digest(task, budget)}:{RANKING_VERSION}".encode())


def _encoded(data: bytes) -> str:
    """Return ``data`` as a token writes it: URL-safe base64 without its ``=`` padding."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decoded(token: str) -> str | None:
    """Return the text ``token`` encodes, or None when no search could have written it.

    Strictly: base64 decoding skips characters outside its alphabet and reads padding however
    long, so a token with junk in it (``!!`` in the middle, surrounding spaces or newlines) or
    extra ``=`` read as the original page. Only characters of the alphabet are read, and the
    bytes must encode back to the very token.
    """
    try:
        padded = token + "=" * (-len(token) % 4)
        data = base64.b64decode(padded, altchars=b"-_", validate=True)
        return data.decode() if _encoded(data) == token else None
    except (ValueError, binascii.Error, UnicodeDecodeError):  # non-ASCII text, bad padding
        return None


def _count(text: str) -> int:
    """Return the count ``text`` writes as a token does (ASCII digits), else 0.

    int() also reads "+3", " 3" and other scripts' digits, and refuses past 4,300 digits.
    """
    try:
        count = int(text) if text.isascii() and text.isdigit() else 0
    except ValueError:
        return 0
    return count if str(count) == text else 0  # "05" is no count a token writes


def _is_digest(text: str) -> bool:
    """Whether ``text`` is a request's digest as every version's tokens write it (16 hex digits)."""
    return len(text) == _DIGEST_CHARS and all(c in "0123456789abcdef" for c in text)


def page_offset(task: Task, budget: Budget) -> int:
    """Return how many ranked designs precede the page ``budget.page_token`` asks for (0: none).

    Raises
    ------
    InvalidRequestError
        On ``budget.page_token`` when it is not a token this module wrote (a token without its
        version part among them: no version that wrote one can be told from its digest), or was
        written for another request; a :class:`~advisor.errors.StalePageTokenError` when it is
        a well-formed token of another :data:`RANKING_VERSION` (the caller starts again from
        the first page).
    """
    token = budget.page_token
    if token is None:
        return 0
    # An offset, the digest and the version that wrote it, each as a search writes it.
    parts = (_decoded(token) or "").split(":")
    if len(parts) == 2 and _is_digest(parts[1]):
        # Tokens of ranking versions up to 3 had no version part, and so has one of this
        # version cut short: neither continues a ranking of this version, nor tells which it is.
        raise InvalidRequestError.single(_FIELD, _VERSIONLESS)
    counts = [_count(text) for text in parts[:1] + parts[2:]]
    if len(parts) != 3 or min(counts) <= 0 or not _is_digest(parts[1]):
        # Not an offset, a digest and a version; no page starts before the second design.
        raise InvalidRequestError.single(_FIELD, _NOT_A_TOKEN)
    offset, digest, version = counts[0], parts[1], counts[1]
    expected = _request_digest(task, budget)
    if version != RANKING_VERSION and digest == expected:
        # The digest holds the version that wrote it, this one: the version part was changed
        # (a character added to the token reads as version 71 of this 7), no version wrote it.
        raise InvalidRequestError.single(_FIELD, _NOT_A_TOKEN)
    if version != RANKING_VERSION:
        description = (
            f"was written by version {version} of the advisor's ranking, and this "
            f"advisor ranks by version {RANKING_VERSION} (upgraded, or another one answered, "
            "between two pages), in another order: start again from the first page (without a "
            "page token)"
        )
        violation = FieldViolation(_FIELD, description)
        raise StalePageTokenError([violation], version, RANKING_VERSION)
    if digest != expected:
        raise InvalidRequestError.single(
            _FIELD,
            "belongs to another request: keep the task and every budget field but top_k, "
            "time_limit_seconds and page_token as they were",
        )
    return offset
