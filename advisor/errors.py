"""Errors the library raises, each carrying the request fields it concerns.

Every rejection of user input is an :class:`InvalidRequestError` holding one or more
:class:`FieldViolation` (a dotted field path such as ``correlations[0].a.indices`` and a
description). It is a :class:`BadRequestError`, as the client's ``InvalidArgumentError`` (a
server's refusal) is, so one ``except`` catches bad input wherever it was found. The service
maps it to ``INVALID_ARGUMENT`` with ``google.rpc.BadRequest`` field violations; the CLI prints
it as one line. It deliberately does not subclass ``ValueError``: pydantic converts
``ValueError`` raised inside validators into its own error type, and the semantic checks of
:class:`~advisor.model.task.Task` and :class:`~advisor.model.architecture.Architecture` must
reach the caller with the field paths they computed. pydantic's own refusals become one through
:func:`~advisor.validation_messages.invalid_request_from_pydantic`.

Errors that are not about a request have their own types: :class:`StoppedError` (a computation
stopped by its :class:`~advisor.stopping.StopSignal`) and :class:`ServerStartError` (the service
could not start: its address or its TLS files).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any, Final

from advisor.words import counted, exact_float

__all__ = [
    "AdvisorError",
    "BadRequestError",
    "FieldViolation",
    "InvalidRequestError",
    "LimitExceededError",
    "RefusedLimit",
    "SearchFinishedError",
    "ServerStartError",
    "StalePageTokenError",
    "StoppedError",
    "fitting_violations",
    "refused_limits",
]


class AdvisorError(Exception):
    """Base class of every error the advisor library raises on purpose.

    Every one pickles whole (type, fields and attributes such as notes), so it crosses a
    process boundary intact: ``concurrent.futures``' process pools, ``multiprocessing`` and Ray
    re-raise a worker's exception in the parent from its pickle. An ``Exception`` pickles as
    its class called with its ``args`` (here the message alone), which fails for a class whose
    constructor takes its fields: such a class names its constructor's arguments in
    :meth:`_pickled_arguments`.
    """

    def _pickled_arguments(self) -> tuple[Any, ...]:
        """Return the arguments that rebuild this error (by default its ``args``)."""
        return self.args

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), self._pickled_arguments(), self.__dict__


@dataclass(frozen=True)
class RefusedLimit:
    """A request limit a refusal quotes: the setting's name, the value it has, the value it needs.

    ``needed`` is what the refused field asks for (a ``top_k`` of 60, a response of 5,300
    bytes): the setting admits the field once it holds that much. The service carries it as
    data beside its message (a ``google.rpc.ErrorInfo``, docs/SERVICE.md), so a caller learns
    which limit to raise, and to what, without reading the message.
    """

    setting: str
    limit: int | float
    needed: int | float

    @property
    def needed_text(self) -> str:
        """``needed`` as ``--limit NAME=VALUE`` and a config file's ``limits`` read it.

        A count in digits (``50176``); any other number as the shortest text that reads back
        as it (``120.5``, ``7200`` for 7200.0), so the value given admits the field.
        """
        return str(self.needed) if isinstance(self.needed, int) else exact_float(self.needed)


@dataclass(frozen=True)
class FieldViolation:
    """One rejected field: its dotted path in the request and what is wrong with it.

    ``cites`` lists the other paths of the same request the description names (``duplicate
    name 'x' (also correlations[0].name)``), written as ``field`` is: :meth:`prefixed` places
    them under the prefix too, so a description never names a path the request does not have.
    ``limit`` is the request limit the description refuses the field over, where it is one
    (:class:`RefusedLimit`). A violation is still the field and what the description says
    (``cites`` and ``limit`` are not compared).
    """

    field: str
    description: str
    cites: tuple[str, ...] = dataclass_field(default=(), compare=False, repr=False)
    limit: RefusedLimit | None = dataclass_field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        """Return ``field: description``, or the description alone for the empty path.

        The empty path is the request or document as a whole (a message that does not decode,
        a file that cannot be read, the count of violations left out): a message read ``: is
        not a valid ...`` or ended ``...; : 190 more violations left out``.
        """
        return f"{self.field}: {self.description}" if self.field else self.description

    def prefixed(self, prefix: str, *, cites: bool = True) -> FieldViolation:
        """Return this violation with ``prefix`` prepended to the field path and those it cites.

        ``cites`` False leaves the cited paths as they are: a mixture member's geometry is
        checked against the architecture's layers, so the ``layers[0]`` its refusal cites is
        the architecture's, not one under ``mixture.members[0]``.
        """
        if not prefix:
            return self
        if not cites:
            return replace(self, field=_joined(prefix, self.field))
        description = self.description
        for path in self.cites:
            description = _cited_as(description, path, _joined(prefix, path))
        placed = tuple(_joined(prefix, path) for path in self.cites)
        return replace(
            self, field=_joined(prefix, self.field), description=description, cites=placed
        )

    def rerooted(self, root: str, placed: str) -> FieldViolation:
        """Return this violation with its field and cited paths under ``root`` moved to ``placed``.

        A door that reads the task from a field of its own (Katib's ``task`` setting) places
        the library's ``task.correlations[1].name`` there, and the path the description cites
        with it.
        """

        def moved(path: str) -> str:
            inside = path == root or path.startswith((f"{root}.", f"{root}["))
            return placed + path[len(root) :] if inside else path

        return self.renamed(moved)

    def renamed(self, rename: Callable[[str], str]) -> FieldViolation:
        """Return this violation with its field and the paths it cites passed through ``rename``.

        The description names the renamed paths where it cited the old ones.
        """
        description = self.description
        for path in self.cites:
            description = _cited_as(description, path, rename(path))
        cites = tuple(map(rename, self.cites))
        return replace(self, field=rename(self.field), description=description, cites=cites)


def _joined(prefix: str, path: str) -> str:
    """Return ``path`` placed under ``prefix`` (a path of ``[i]`` indexes the prefix itself)."""
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def _cited_as(description: str, path: str, placed: str) -> str:
    """Return ``description`` naming ``placed`` wherever it names ``path`` as a whole path.

    Not where ``path`` ends a longer path or begins one (``layers[1]`` of ``layers[1][0]``), nor
    within quotes: a quoted name is the user's (``duplicate name 'correlations[0].name'``).
    """
    return re.sub(rf"(?<![\w.\]']){re.escape(path)}(?![\w\['])", lambda _: placed, description)


# The size of an error's message and of a service's INVALID_ARGUMENT answer (fitting_violations).
# A client refuses trailing metadata over 8 KiB by default (grpc.max_metadata_size) and reports
# RESOURCE_EXHAUSTED in place of the status. An INVALID_ARGUMENT answer carries its violations
# twice: in the message (percent-encoded) and in the BadRequest detail (base64), so each copy keeps
# to this many bytes of violation text, every field path and description to this many characters
# (enough for every message the service writes itself: what gets cut is an echoed input). A
# refusal of limits adds their ErrorInfo, at most every setting's name and a number: under 1 KiB.
_MAX_VIOLATION_BYTES: Final = 1024
_MAX_VIOLATION_CHARS: Final = 400


def fitting_violations(violations: Sequence[FieldViolation]) -> list[FieldViolation]:
    """Return ``violations`` cut to the size an error answer may have (see the constants).

    The one rule for how much of a refusal is told: an :class:`InvalidRequestError`'s message,
    the command's error line and the service's ``INVALID_ARGUMENT`` answer. A violation cut
    keeps the limit it refuses (:attr:`FieldViolation.limit`).
    """
    fitting: list[FieldViolation] = []
    used = 0
    for violation in violations:
        shortened = replace(
            violation, field=_cut(violation.field), description=_cut(violation.description)
        )
        size = _size(shortened.field) + _size(shortened.description)
        if used + size > _MAX_VIOLATION_BYTES:
            break
        fitting.append(shortened)
        used += size
    left_out = len(violations) - len(fitting)
    if left_out:
        fitting.append(FieldViolation("", f"{counted(left_out, 'more violation')} left out"))
    return fitting


def _size(text: str) -> int:
    """Return the UTF-8 size of ``text``, a lone surrogate (an undecodable file name's byte) too.

    Counted strictly, such a name in a refusal made the refusal itself fail to be told.
    """
    return len(text.encode(errors="surrogatepass"))


def _cut(text: str) -> str:
    """Return ``text`` cut to :data:`_MAX_VIOLATION_CHARS`, saying how much was left out."""
    if len(text) <= _MAX_VIOLATION_CHARS:
        return text
    kept = text[:_MAX_VIOLATION_CHARS]
    return f"{kept}... ({len(text) - len(kept)} more characters left out)"


class BadRequestError(AdvisorError):
    """A request refused for its fields, wherever it was checked; ``violations`` name each one.

    The base the two refusals of bad input share: :class:`InvalidRequestError`, the library's
    own check in this process (a model, a search, the client before it sends anything), and the
    client's ``InvalidArgumentError``, a server's ``INVALID_ARGUMENT`` for the same kind of input
    only the server checks (a request over one of its limits, a budget its search cannot
    serve). An application that caught one missed the other; ``except BadRequestError`` catches
    both, and nothing that is no fault of the input (a server out of reach, a stopped search).
    ``violations`` is empty only for a server's refusal that named no field.
    """

    violations: tuple[FieldViolation, ...]


class InvalidRequestError(BadRequestError):
    """The input is malformed or inconsistent; ``violations`` name every offending field.

    Its message (``str``) is the violations as :func:`fitting_violations` cuts them, as the
    command prints and the service answers them: a million ids given as strings are a million
    violations, whose whole list was a message of 70 MB that a notebook's traceback printed.
    ``violations`` holds every one, uncut.
    """

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        given = () if isinstance(violations, str) else tuple(violations)
        if isinstance(violations, str) or not all(isinstance(v, FieldViolation) for v in given):
            # A message given as the violations was read letter by letter (AttributeError).
            raise TypeError(
                "InvalidRequestError takes a sequence of FieldViolation; for one field, "
                "InvalidRequestError.single(field, description)"
            )
        if not given:
            raise ValueError("InvalidRequestError needs at least one violation")
        self.violations: tuple[FieldViolation, ...] = given
        super().__init__("; ".join(map(str, fitting_violations(self.violations))))

    @classmethod
    def single(cls, field: str, description: str) -> InvalidRequestError:
        """Build the error for one field."""
        return cls([FieldViolation(field, description)])

    def prefixed(self, prefix: str, *, cites: bool = True) -> InvalidRequestError:
        """Return the same error with every field path placed under ``prefix``.

        ``cites`` as :meth:`FieldViolation.prefixed` takes it.
        """
        return self._holding([v.prefixed(prefix, cites=cites) for v in self.violations])

    def renamed(self, rename: Callable[[str], str]) -> InvalidRequestError:
        """Return the same error with every field path passed through ``rename``."""
        return self._holding([v.renamed(rename) for v in self.violations])

    def _holding(self, violations: Sequence[FieldViolation]) -> InvalidRequestError:
        """Return an error of this class holding ``violations``: what :meth:`prefixed` makes.

        A subclass whose constructor takes more than the violations (the client's refusal of a
        server's limit) builds it here.
        """
        return type(self)(violations)

    def _pickled_arguments(self) -> tuple[Any, ...]:
        return (self.violations,)


class LimitExceededError(InvalidRequestError):
    """The request is well formed but over a documented size limit (checked before any work).

    The client's refusal of a server's limit (``ServerLimitExceededError``) is one too.
    """

    @property
    def limits(self) -> Mapping[str, str]:
        """The settings of the limits refused, each mapped to the value that admits the request.

        As :func:`refused_limits` reads them off the violations: ``{"max_top_k": "60"}``,
        empty where no violation is over a setting (the exact engine's own size bound). The
        client's refusal of a request over its ``max_message_bytes`` names that setting and
        the request's size, as the service's ``LIMIT_EXCEEDED`` detail does its own.
        """
        return refused_limits(self.violations)


class StalePageTokenError(InvalidRequestError):
    """A page token another version of the advisor's ranking wrote: start again from page 1.

    A server upgraded between two pages, or a fleet of two versions, ranks in another order,
    so the token's offset continues no ranking of this one; unlike a token of another request
    (the caller changed its request) or one no search wrote, the request is right as it is and
    only its first page, asked again, helps. ``token_ranking_version`` is the version that
    wrote the token (None where a server of an earlier release refused a token of version 3 or
    earlier, which did not name it; this one refuses a token without a version part as
    malformed, an :class:`InvalidRequestError`) and
    ``ranking_version`` this advisor's (:data:`~advisor.version.RANKING_VERSION`), so a
    pipeline acts on it without reading the message. The client's refusal of the same by a
    server (``ServerStalePageTokenError``) is one too.
    """

    def __init__(
        self,
        violations: Sequence[FieldViolation],
        token_ranking_version: int | None,
        ranking_version: int,
    ) -> None:
        super().__init__(violations)
        self.token_ranking_version = token_ranking_version
        self.ranking_version = ranking_version

    def _holding(self, violations: Sequence[FieldViolation]) -> StalePageTokenError:
        return type(self)(violations, self.token_ranking_version, self.ranking_version)

    def _pickled_arguments(self) -> tuple[Any, ...]:
        return self.violations, self.token_ranking_version, self.ranking_version


def refused_limits(violations: Iterable[FieldViolation]) -> dict[str, str]:
    """Map each setting ``violations`` refuse a field over to the value that admits them all.

    The largest value any of them needs (a grid of 50,176 locations and an index list of
    20,000, both over ``max_locations``, need 50176), written as :attr:`RefusedLimit.needed_text`
    writes it; empty when none is a :class:`RefusedLimit`.
    """
    largest: dict[str, RefusedLimit] = {}
    for violation in violations:
        refused = violation.limit
        if refused is None:
            continue
        held = largest.get(refused.setting)
        if held is None or refused.needed > held.needed:
            largest[refused.setting] = refused
    return {setting: refused.needed_text for setting, refused in largest.items()}


class StoppedError(AdvisorError):
    """A stop signal (deadline, cancellation, shutdown) ended a computation before its result.

    Raised by computations that have no partial result to return (an analysis); a search returns
    its best so far instead.
    """


class SearchFinishedError(StoppedError):
    """A ``FinishSearch`` call stopped a search before it ranked the page asked for.

    A later page (a ``page_token``) is ranked by the whole search: one whose search was
    finished before it scored every tree has no ranks to give (the first page answers with the
    best designs so far instead). The service answers ``DEADLINE_EXCEEDED``, as a finish brings
    the search's deadline forward, with the ``ErrorInfo`` reason ``SEARCH_FINISHED``: a longer
    deadline would not have helped, the same request not finished early does.
    """


class ServerStartError(AdvisorError):
    """The server could not start: an address, a TLS file or a data directory it cannot use.

    Its address cannot be bound, a TLS file is unusable, or the Katib endpoint's data directory
    (``katib_data_dir``) takes no file. A TLS file is unusable when it cannot be read or is not
    what it must be: a PEM certificate chain, the private key of that certificate, a PEM CA
    bundle.

    ``settings`` names the server settings concerned (``ServerConfig`` fields such as
    ``tls_cert``, or ``host`` and ``port`` for an address), so a command line can name its
    options; ``description`` says what went wrong.
    """

    def __init__(self, settings: Sequence[str], description: str) -> None:
        if not settings:
            raise ValueError("ServerStartError needs at least one setting")
        self.settings: tuple[str, ...] = tuple(settings)
        self.description = description
        super().__init__(f"{'/'.join(self.settings)}: {description}")

    def _pickled_arguments(self) -> tuple[Any, ...]:
        return self.settings, self.description
