"""pydantic's validation errors as the advisor's field violations, in the advisor's words.

pydantic words its errors for a programmer ("Input should be a valid integer", "Tuple should
have at least 1 item after validation"), places them at locations that hold its union-branch
tags, and names model classes a document's writer never sees. :func:`invalid_request_from_pydantic`
turns its ``ValidationError`` into the :class:`~advisor.errors.InvalidRequestError` every other
refusal is: each location as a field path (:func:`field_path`), each message as the advisor's own
refusals word it (a bound, a length, a float for an integer: :data:`FLOAT_FOR_INTEGER`, a list in
another form than its field's: :func:`list_form`), an unknown key told the closest field its
model has, or that a newer version's document may hold it (:data:`NEWER_KEY`).

A module apart from the error classes (:mod:`advisor.errors`), which need nothing of pydantic:
this one reads pydantic's error details and walks the advisor's models, found among pydantic's
loaded models, never imported here.
"""

from __future__ import annotations

import numbers
import re
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import fields as dataclass_fields
from dataclasses import is_dataclass
from typing import Any, Final

import pydantic
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.suggestions import KNOWN_KEYS_START, did_you_mean, known_keys
from advisor.words import counted, number_text

__all__ = [
    "FLOAT_FOR_INTEGER",
    "NEWER_KEY",
    "field_path",
    "invalid_request_from_pydantic",
    "list_form",
]


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
            if not hint or hint.startswith(KNOWN_KEYS_START):
                # No field is spelt alike: the key may be a newer version's, said once.
                message += "" if newer_told else NEWER_KEY
                newer_told = True
            place = tuple(loc[:-1])
            if hint.startswith(KNOWN_KEYS_START):
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


_MOST_LISTED_FIELDS: Final = 24
"""The most fields an unknown key with no close match is told, where a place takes a few."""


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
