"""Errors the library raises, each carrying the request fields it concerns.

Every rejection of user input is an :class:`InvalidRequestError` holding one or more
:class:`FieldViolation` (a dotted field path such as ``correlations[0].a.indices`` and a
description). It is a :class:`BadRequestError`, as the client's ``InvalidArgumentError`` (a
server's refusal) is, so one ``except`` catches bad input wherever it was found. The service
maps it to ``INVALID_ARGUMENT`` with ``google.rpc.BadRequest`` field violations; the CLI prints
it as one line. It deliberately does not subclass ``ValueError``: pydantic converts
``ValueError`` raised inside validators into its own error type, and the semantic checks of
:class:`~advisor.model.task.Task` and :class:`~advisor.model.architecture.Architecture` must
reach the caller with the field paths they computed.

Errors that are not about a request have their own types: :class:`StoppedError` (a computation
stopped by its :class:`~advisor.stopping.StopSignal`) and :class:`ServerStartError` (the service
could not start: its address or its TLS files). A part that needs an optional extra imports it
under :func:`extra_needed`, whose error says how to install it.
"""

from __future__ import annotations

import difflib
import numbers
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from contextlib import contextmanager
from dataclasses import dataclass, is_dataclass, replace
from dataclasses import field as dataclass_field
from dataclasses import fields as dataclass_fields
from typing import Any, Final

import pydantic
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from advisor.words import counted, exact_float, number_text

__all__ = [
    "FLOAT_FOR_INTEGER",
    "NEWER_KEY",
    "AdvisorError",
    "BadRequestError",
    "FieldViolation",
    "InvalidRequestError",
    "LimitExceededError",
    "RefusedLimit",
    "ServerStartError",
    "StalePageTokenError",
    "StoppedError",
    "closest_name",
    "did_you_mean",
    "known_keys",
    "extra_needed",
    "field_path",
    "fitting_violations",
    "invalid_request_from_pydantic",
    "list_form",
    "refused_limits",
    "unknown_name",
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
        if not violations:
            raise ValueError("InvalidRequestError needs at least one violation")
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
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


def field_path(loc: Iterable[int | str]) -> str:
    """Render a pydantic location as a path: ``("layers", 0, "pool")`` -> ``layers[0].pool``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def invalid_request_from_pydantic(
    exc: pydantic.ValidationError,
    prefix: str = "",
    model: type[Any] | None = None,
) -> InvalidRequestError:
    """Convert a pydantic validation error into field violations (union-branch tags dropped).

    An unknown field is told the closest field its model has (``corelations``: did you mean
    ``correlations``?), when one is close; the first none is close to, that it may be a newer
    version's (:data:`NEWER_KEY`). A number past a field's bound names the value given
    and the bound, in the words of the advisor's own refusals (``is 1: must be greater than 1``;
    pydantic wrote ``Input should be greater than 1``). A list written in another form (a number
    where a list goes, a list of the wrong length or missing an item, a list where an item
    goes) is told the form its field takes, where the field states one (:func:`list_form`); a
    number, flag or text given a list or a mapping is told which it was given. ``model`` is the
    validated model or dataclass (a result's, :mod:`advisor.model.results`), where the error's
    title does not name one of the advisor's models (an error raised inside a model's wrap
    validator; a dataclass, which no list of models holds).
    """
    violations = []
    listed: set[tuple[int | str, ...]] = set()  # the places whose known keys were listed
    newer_told = False
    errors = exc.errors(include_url=False)
    # A list whose items failed is also "too short" (it counts the valid items only): the
    # items' errors say what to fix, and the list's would name a length the document has.
    holding = {tuple(e["loc"][:end]) for e in errors for end in range(len(e["loc"]))}
    for error in errors:
        if error["type"] == "too_short" and tuple(error["loc"]) in holding:
            continue
        raw = error["loc"]
        written: tuple[int | str, ...] = ()
        if error["type"] == "invalid_key":
            # The location ends in the key, made a string or an int (`None` reads as a union's
            # tag, `1` as a list index): the mapping that holds it is the place to name.
            raw = raw[:-1]
        elif error["type"] in _UNKNOWN_KEY:
            # The location ends in the key as written, kept where it reads as a union's tag
            # (`Input`, `a[0]`).
            raw, written = raw[:-1], raw[-1:]
        loc = [part for part in raw if not _is_union_tag(part)] + list(written)
        message = _message(error)
        roots = [model] if model else [m for m in _advisor_models() if m.__name__ == exc.title]
        if error["type"] in _UNKNOWN_KEY:
            hint = _closest_field(roots, error["loc"])
            if not hint or hint.startswith(_KNOWN_KEYS):
                # No field is spelt alike: the key may be a newer version's, said once.
                message += "" if newer_told else NEWER_KEY
                newer_told = True
            place = tuple(loc[:-1])
            if hint.startswith(_KNOWN_KEYS):
                # Once per place, as a --config file's keys are: on its first unknown key.
                hint = "" if place in listed else hint
                listed.add(place)
            message += hint
        elif _misshapen_list(error):
            message += _form_of(roots, error["loc"])
        elif error["type"] in ("literal_error", "enum") and isinstance(error["input"], str):
            # pydantic lists the choices quoted: "'contiguous', 'mirror' or 'interleaved'".
            choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
            message += did_you_mean(error["input"], choices)
        elif isinstance(error["input"], Mapping) and (forms := _FORM_KEY.findall(message)):
            # A mapping none of the forms the message lists (``{permutation: [...]}``) takes:
            # its key may be one of theirs misspelt.
            message += next(filter(None, (did_you_mean(str(k), forms) for k in error["input"])), "")
        violations.append(FieldViolation(field_path(loc), message).prefixed(prefix))
    return InvalidRequestError(violations)


NEWER_KEY: Final = (
    " (a document from a newer advisor may hold a field this version does not know: upgrade, "
    "or remove the key)"
)
"""What the first unknown key none is spelt like is told: fields are added, never renamed, so a
newer version's file is refused by an older reader naming its new field (docs/FORMATS.md)."""

_UNKNOWN_KEY: Final = frozenset({"extra_forbidden", "unexpected_keyword_argument"})
"""The error types of a key no field has: a model's, and a dataclass's (a result's document)."""

_FORM_KEY = re.compile(r"\{(\w+): ")
"""The key of a mapping form an error message lists: ``{permutation: [...]}``."""


def _message(error: ErrorDetails) -> str:
    """Say one pydantic error as the advisor's messages say it.

    pydantic words its errors for a programmer ("Input should be a valid integer", "Tuple
    should have at least 1 item after validation"), often naming neither the value given nor
    the form a document writes: the kinds a request meets most are reworded here (a bound, a
    length, a float or a text for an integer, a list or a mapping where a scalar goes), the
    rest kept as pydantic says it.
    """
    # A validator's own ValueError is the message; pydantic would prefix it with "Value error, ".
    raised = error.get("ctx", {}).get("error")
    if error["type"] == "value_error" and raised is not None:
        return str(raised)
    if error["type"] == "invalid_key":
        return f"has the key {error['input']!r}; a key is a field name, a string"
    if error["type"] == "unexpected_keyword_argument":
        # A dataclass's unknown key (a result's document): pydantic's "Unexpected keyword
        # argument" speaks of a call, where a model's is told as a document's.
        return "Extra inputs are not permitted"
    if error["type"] == "model_type":
        # pydantic names the model class ("a valid dictionary or instance of InputSpec"), which
        # a document's writer never sees; what the place takes is a mapping of its fields.
        return f"Input should be a mapping of field names to values, not {_kind(error['input'])}"
    if error["type"] in _LIST_TYPES or error.get("ctx", {}).get("class") == "Sequence":
        # pydantic names the type that holds the list ("a valid tuple", "an instance of
        # Sequence"), which a document's writer never sees: the document holds a list.
        return f"Input should be a list, not {_kind(error['input'])}"
    if error["type"] == "int_type" and _is_float(error["input"]):
        # pydantic's "Input should be a valid integer" of 2.5 (or 2.0, which a strict field
        # refuses too) did not say what was wrong with the number written.
        return FLOAT_FOR_INTEGER.format(value=repr(error["input"]))
    if error["type"] in _SCALAR_TYPES and isinstance(error["input"], list | tuple | Mapping):
        # pydantic's "Input should be a valid integer" does not say that a list or a mapping
        # was given, the slip of a list nested one level too deep (``pool: [[2, 2]]``).
        return f"{error['msg']}, not {_kind(error['input'])}"
    quoted = error["type"] in _NUMBER_TYPES and isinstance(error["input"], str)
    if quoted and ", not " not in error["msg"]:
        # A quoted number (``channels: "3"``), which a strict field refuses: pydantic's
        # "Input should be a valid integer" did not say it was text. A field's own refusal of
        # a text (a budget's count, a server setting's) has said what it was already.
        return f"{error['msg']}, not a text: got {error['input']!r}"
    if error["type"] == "string_unicode" and (lone := _lone_surrogate(error["input"])):
        return f"must not hold a lone surrogate, which no text encodes: {lone}"
    if error["type"] == "string_too_short" and error.get("ctx", {}).get("min_length") == 1:
        # An empty string, where one character would do: it "has 0 characters: must have at
        # least 1" said a length rule where the rule is that it be given.
        return "must not be empty"
    if error["type"] in _LENGTHS:
        # pydantic's "Tuple should have at least 1 item after validation, not 0" (or "String
        # should have at least 1 character"), as above.
        key, words = _LENGTHS[error["type"]]
        ctx = error.get("ctx", {})
        return f"has {_length(error['input'], ctx)}: must have {words} {ctx[key]:,}"
    if error["type"] in _BOUNDS:
        # pydantic's "Input should be greater than 1" names the bound, not the value given. A
        # float field holds its bound as a float: a whole one is written as pydantic does, 1.
        key, words = _BOUNDS[error["type"]]
        bound = error.get("ctx", {})[key]
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        message = f"is {number_text(error['input'])}: must be {words} {number_text(bound)}"
        if isinstance(error["input"], float) and error["input"] == 0 and bound == 0:
            # A file's 1e-999 reads as 0.0: the refusal named a value the file does not write.
            message += f" ({_READS_AS_ZERO})"
        return message
    return error["msg"]


def _lone_surrogate(value: object) -> str | None:
    r"""Say which lone surrogate the text ``value`` holds first, and where; None if it holds none.

    A text field with a constraint refuses one (no UTF-8 encodes it) as pydantic's "Input should
    be a valid string, unable to parse raw data as a unicode string", which names neither the
    character nor where it is: a ``--config`` file's ``"host": "unix:/tmp/\udcff.sock"`` was
    refused so. Said as a name holding one is (:func:`~advisor.model.text.printable_name`).
    """
    text = value if isinstance(value, str) else ""
    found = next((i for i, char in enumerate(text) if 0xD800 <= ord(char) <= 0xDFFF), None)
    return None if found is None else f"U+{ord(text[found]):04X} at position {found}"


FLOAT_FOR_INTEGER: Final = "Input should be a valid integer, not a float: got {value}"
"""The refusal of a float where an integer goes, ``value`` the float's repr: every integer
field's (a document's, an item of its lists, a server setting's) in one wording."""


def _is_float(value: object) -> bool:
    """Whether ``value`` is a float, Python's or NumPy's (a real number that is no integer)."""
    return isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)


_READS_AS_ZERO = (
    "a number written nearer 0 than about 4.9e-324, the least positive float, such as 1e-999, is "
    "read as 0"
)
"""Why a positive ``1e-999`` in a file is refused as 0.0: the reader's float cannot hold it."""

_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}
"""A bound's error type: the key of its bound in the error's context, and its words."""

_LIST_TYPES = frozenset({"list_type", "tuple_type", "sequence_str"})
"""The error types of a list field given something else (``sequence_str``: a string, which
pydantic refuses as a sequence of characters)."""

_SCALAR_TYPES = frozenset({"int_type", "float_type", "bool_type", "string_type"})
"""The error types of a number, a flag or a text field given something else."""

_NUMBER_TYPES = frozenset({"int_type", "float_type"})
"""The error types of a number field given something else (a quoted number, say)."""

_LENGTHS = {
    "too_short": ("min_length", "at least"),
    "too_long": ("max_length", "at most"),
    "string_too_short": ("min_length", "at least"),
    "string_too_long": ("max_length", "at most"),
}
"""A length error type: the key of its bound in the error's context, and its words."""


def _length(value: object, ctx: Mapping[str, Any]) -> str:
    """Write the length of a list (``0 items``) or a string (``1 character``) an error names.

    pydantic leaves ``actual_length`` None where it stopped counting: a ``too_long`` input it
    reads item by item (a generator) is read no further than one past ``max_length``, so it has
    more than that; a sized one is counted here.
    """
    count: int | None
    if isinstance(value, str):
        count, unit = len(value), "character"
    else:
        count, unit = ctx.get("actual_length"), "item"
        if count is None and isinstance(value, Sized):
            count = len(value)
        if count is None:
            return f"more than {ctx['max_length']:,} items"
    return counted(count, unit)


def _kind(value: object) -> str:
    """Name what ``value`` is as a document writes it: a list, a string, a number, null..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"a {type(value).__name__}"


_FORM: Final = "form"
"""The key of a field's ``json_schema_extra`` that holds the form its list is written in."""


def list_form(form: str) -> dict[str, Any]:
    """Return a list field's ``json_schema_extra`` stating the form it is written in.

    ``form`` completes "NAME is ...": ``one window size per input axis, as [2, 2]``. A refusal
    of a list in another form (:func:`invalid_request_from_pydantic`) says it, so a file
    written by hand is told what to write: ``pool: 2`` was "Input should be a list, not a
    number" and ``padding: [1, 1]`` the same of each margin, without the form either takes.
    """
    return {_FORM: form}


def _misshapen_list(error: ErrorDetails) -> bool:
    """Whether ``error`` refuses a list's form: no list, the wrong length, an item missing.

    Or a list nested one level too deep: an item that is itself a list, where the item is no
    list (``pool: [[2, 2]]``, a common slip), whose refusal was "Input should be a valid
    integer" alone.
    """
    loc = error["loc"]
    item = bool(loc) and isinstance(loc[-1], int)
    return (
        error["type"] in _LIST_TYPES
        or error.get("ctx", {}).get("class") == "Sequence"
        or error["type"] in ("too_short", "too_long")
        or (item and error["type"] == "missing")
        or (item and error["type"] in _SCALAR_TYPES and isinstance(error["input"], list | tuple))
    )


def _form_of(roots: list[type[Any]], loc: tuple[int | str, ...]) -> str:
    """Return "; NAME is FORM" for the innermost field on ``loc`` that states its form, or ""."""
    for name, field in reversed(_walk(roots, loc)[1]):
        extra = field.json_schema_extra
        if isinstance(extra, Mapping) and _FORM in extra:
            return f"; {field.alias or name} is {extra[_FORM]}"
    return ""


def _walk(
    roots: list[type[Any]], loc: Sequence[int | str]
) -> tuple[list[type[Any]], list[tuple[str, FieldInfo]]]:
    """Follow ``loc`` from the validated models ``roots``: the models it leads to, and its fields.

    A model here is a pydantic model or a dataclass pydantic validates (:func:`_fields_of`).
    The fields are those the location passes through, outermost first, each with its name. A
    union's tried member, which pydantic puts in the location, narrows the models; an item's
    index passes no field.
    """
    fields: list[tuple[str, FieldInfo]] = []
    models = roots
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list: its models were gathered with the list's field
        named = [m for m in models if m.__name__ == part]
        if named:
            models = named
        elif not _is_union_tag(part):  # a field: on to the models it holds (none: no guess)
            found = [held[part] for m in models if part in (held := _fields_of(m))]
            fields.extend((part, f) for f in found[:1])
            models = [m for f in found for m in _models_in(f.annotation)]
    return models, fields


def _closest_field(roots: list[type[Any]], loc: tuple[int | str, ...]) -> str:
    """Return "; did you mean 'x'?" for the unknown key ``loc[-1]``, or "" when none is close.

    The candidates are the fields (by their names in documents) of the models the location
    leads to from the validated model (``roots``; :func:`_walk`). A key a model lists in its
    ``foreign_keys`` (another framework's name for what it models otherwise) gets that advice
    instead. A model's ``derived_keys`` (keys its documents hold beside its fields, which
    reading them skips, such as a search result's ``empty_reason``) count as known too.
    """
    key = loc[-1]
    models = _walk(roots, loc[:-1])[0]
    advice = [text for m in models if (text := getattr(m, "foreign_keys", {}).get(key))]
    if advice:
        return f"; {advice[0]}"
    if any(key in _unread_fields(m) for m in models):
        return _UNREAD_FIELD
    names = {f.alias or name for m in models for name, f in _fields_of(m).items()}
    names.update(derived for m in models for derived in getattr(m, "derived_keys", ()))
    closest = did_you_mean(str(key), sorted(names))
    if closest or not names or len(names) > _MOST_LISTED_FIELDS:
        return closest
    # Nothing spelt alike: the fields this place takes, as an unknown --limit name is told.
    return known_keys(sorted(names))


_KNOWN_KEYS: Final = "; known: "
"""How a refusal of an unknown key that none is spelt like starts listing the keys known."""


def known_keys(names: Iterable[str]) -> str:
    """Return the hint listing the keys a place takes (``; known: a, b``), in ``names``' order.

    An unknown key none is spelt like is told them: a document's nested place's
    (:func:`invalid_request_from_pydantic`) and a server config file's alike, each once per
    place, on its first such key.
    """
    return f"{_KNOWN_KEYS}{', '.join(names)}"


_MOST_LISTED_FIELDS: Final = 24
"""The most fields an unknown key with no close match is told, where a place takes a few."""


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


def _advisor_models() -> Iterator[type[pydantic.BaseModel]]:
    """Yield every pydantic model class the advisor defines (of the modules loaded so far)."""
    pending = list(pydantic.BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith("advisor"):
            yield model


def _models_in(annotation: object) -> list[type[Any]]:
    """Return the model classes an annotation holds (through lists, unions, Annotated...).

    A dataclass counts as a model: pydantic validates its fields as a model's.
    """
    if isinstance(annotation, type) and (
        issubclass(annotation, pydantic.BaseModel) or is_dataclass(annotation)
    ):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _fields_of(model: type[Any]) -> dict[str, FieldInfo]:
    """Return the fields of a pydantic model or of a dataclass, by name.

    A dataclass (a saved result's, :mod:`advisor.model.results`) has no ``model_fields``: its
    fields are read from its type hints, as pydantic reads them to validate it.
    """
    if issubclass(model, pydantic.BaseModel):
        return model.model_fields
    hints = typing.get_type_hints(model, include_extras=True)
    return {
        f.name: FieldInfo.from_annotation(hints[f.name]) for f in dataclass_fields(model) if f.init
    }


def _unread_fields(model: type[Any]) -> set[str]:
    """Return the fields of a dataclass that its document does not hold (``init=False``).

    An analysis' ``padded_input`` is set from the architecture analysed: its key in a document
    was told "did you mean 'padded_input'?", the key itself.
    """
    if issubclass(model, pydantic.BaseModel):
        return set()
    return {f.name for f in dataclass_fields(model) if not f.init}


_UNREAD_FIELD: Final = "; a document does not hold this field: it is set when the result is made"


def _is_union_tag(part: int | str) -> bool:
    # pydantic inserts the tried union member into the location, e.g. "function-after[...]" or a
    # model name; those are not fields of the request.
    if not isinstance(part, str):
        return False
    return part[:1].isupper() or "[" in part or part.startswith("literal")


_DISTRIBUTION: Final = "architecture-advisor"
"""The distribution, ``[project] name`` in ``pyproject.toml``, as ``advisor.version.DISTRIBUTION``
(a layer this one cannot import) says it; a test checks the message against ``pyproject.toml``."""


@contextmanager
def extra_needed(feature: str, extra: str, module: str, first: str = "") -> Iterator[None]:
    """Import an optional extra's ``module`` in this block; its absence names the extra.

    Python says only "No module named 'optuna'", which does not tell that the advisor has an
    extra for it, nor its name; the ``ModuleNotFoundError`` raised instead says that ``feature``
    needs the extra and the installs that add it, to a wheel's install and to a checkout's (its
    ``name`` still the missing module, its cause Python's error). The checkout's keeps ``-e``:
    without it pip replaced the editable install ``.ci/setup`` makes with a copy, which later
    edits no longer reached. ``first``: what to install before the extra, said before the
    installs (torch's CPU wheel: the extra's pin pulls the CUDA build from PyPI). A missing
    module other than ``module`` (one of the extra's own dependencies, say) passes unchanged.
    """
    try:
        yield
    except ModuleNotFoundError as missing:
        if (missing.name or "").partition(".")[0] != module:
            raise
        raise ModuleNotFoundError(
            f"{feature} needs the optional '{extra}' extra, which installs {module}: "
            f"{first}"
            f'pip install "{_DISTRIBUTION}[{extra}]" where the advisor was installed from its '
            f'wheel, pip install -e ".[{extra}]" in its checkout',
            name=missing.name,
        ) from missing
