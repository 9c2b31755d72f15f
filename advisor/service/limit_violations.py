"""The violations a request over a limit is refused with, each worded and carrying its limit.

Every check of a request against the limits builds its refusals from these, so that each
refusal of a setting says it the same way (``the server's limit of 16,384 (max_locations)``)
and carries the :class:`~advisor.errors.RefusedLimit` it quotes, built once
(:func:`refused_setting`): the service's ``LIMIT_EXCEEDED`` detail and the message never
disagree. A value no server may set (past a setting's ceiling) is said so and carries no limit
(:func:`with_limit`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from advisor.errors import FieldViolation, LimitExceededError, RefusedLimit
from advisor.service.limits import RequestLimits, Setting, settable, setting_ceiling
from advisor.words import number_text

__all__ = [
    "count_over",
    "exceeding",
    "over_limit",
    "quoted_limit",
    "raise_if_any",
    "refused_setting",
    "with_limit",
]


def raise_if_any(violations: list[FieldViolation]) -> None:
    """Raise :class:`~advisor.errors.LimitExceededError` naming ``violations``, if any."""
    if violations:
        raise LimitExceededError(violations)


def over_limit(
    field: str,
    what: str,
    value: float,
    limits: RequestLimits,
    setting: Setting,
    written: str | None = None,
) -> FieldViolation:
    """Refuse on ``field`` ``what`` of ``value``, over the ``limits`` setting named ``setting``.

    ``written``: ``value`` as the refusal says it, where not as
    :func:`~advisor.words.number_text` writes it (a figure in bits, which the limit keeps
    exactly as the value that admits the request).
    """
    refused = refused_setting(limits, setting, value)
    shown = refused.needed if written is None else written
    violation = exceeding(field, what, shown, quoted_limit(refused))
    return with_limit(violation, refused)


def with_limit(violation: FieldViolation, refused: RefusedLimit) -> FieldViolation:
    """Carry ``refused`` with ``violation``, unless no server may set the value it needs.

    A value past a setting's ceiling (an exact rank of 2^4096, a time limit past a week) is no
    limit to raise: the refusal says the ceiling, and carries no limit, so the service answers
    it as a plain bad request and a caller is not told a value no server accepts.
    """
    setting = refused.setting
    ceiling = setting_ceiling(setting)
    if ceiling is None or settable(setting, refused.needed_text):
        return replace(violation, limit=refused)
    beyond = f"({setting}, which no server may set above {ceiling})"
    return replace(violation, description=violation.description.replace(f"({setting})", beyond))


def exceeding(field: str, what: str, value: float | str, bound: str) -> FieldViolation:
    """Refuse on ``field`` ``what`` of ``value``, over ``bound`` (its number and what it is).

    A number is written as :func:`~advisor.words.number_text` writes it, a text as it is.
    """
    shown = value if isinstance(value, str) else number_text(value)
    return FieldViolation(field, f"{what} {shown} exceeds {bound}")


def refused_setting(limits: RequestLimits, setting: Setting, needed: float) -> RefusedLimit:
    """Return the setting named ``setting`` of ``limits`` as refusing a field that ``needed``.

    Every refusal of a limit carries it as data beside its message (the service's
    ``LIMIT_EXCEEDED`` detail), and quotes it from it (:func:`quoted_limit`): the two never
    disagree.
    """
    return RefusedLimit(setting, getattr(limits, setting), needed)


def quoted_limit(refused: RefusedLimit) -> str:
    """Quote the setting ``refused``: its value and its name, to raise it.

    Every refusal of a limit words it so: ``the server's limit of 16,384 (max_locations)``,
    which ``advisor serve --limit`` or a config file's ``limits`` raises.
    """
    return f"the server's limit of {number_text(refused.limit)} ({refused.setting})"


def count_over(
    field: str, what: str, count: int, limits: RequestLimits, setting: Setting
) -> Iterator[FieldViolation]:
    """Refuse on ``field`` a ``count`` over the ``limits`` setting named ``setting``."""
    if count > getattr(limits, setting):
        yield over_limit(field, what, count, limits, setting)
