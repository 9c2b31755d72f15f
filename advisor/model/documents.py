"""Reading task and architecture files: strict YAML or JSON, one mapping per file.

Both file kinds go through :func:`read_document`, so they follow the same rules: JSON when the
name ends in ``.json``, YAML otherwise; a repeated key is an error (PyYAML and ``json`` keep the
last value silently, which would lose what the user wrote); ``1e-3`` is a number in YAML as in
JSON (YAML 1.1 reads it as a string).

:class:`RequestModel` is the one rule for a refusal: a document model built in Python (its
keyword constructor, ``model_validate``, ``model_validate_json``) raises
:class:`~advisor.errors.InvalidRequestError` naming each field, as the parsers do.

:class:`NullsOmitted` is the one rule for a null in any document (a file, a mapping, a model's
keyword arguments): an optional field given as null is read as if it were left out.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, BinaryIO, ClassVar, Final, Literal, Self, TypeAlias, get_args

from pydantic import BaseModel, ValidationError, model_validator

from advisor.errors import InvalidRequestError
from advisor.files import read_bounded, read_problem
from advisor.model.integer_text import MAX_INTEGER_DIGITS, read_integer
from advisor.model.text import article
from advisor.stdout import shown_path
from advisor.validation_messages import invalid_request_from_pydantic
from advisor.words import counted

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "STDIN",
    "NullsOmitted",
    "RequestModel",
    "ShortRepr",
    "document_form",
    "frozen_hash",
    "read_document",
    "refuse_list",
    "refuse_other_kind",
    "short_dataclass_repr",
    "source_name",
]

MAX_DOCUMENT_BYTES: Final = 1 << 30
"""Most bytes :func:`read_document` reads from a file or standard input, 1 GiB: a saved result
of fifty designs on a 1024x1024 grid, with two permutations each, is a few hundred MB, while a
file that does not end (``/dev/zero``, a pipe left open) read on until memory ran out."""

STDIN: Final = "-"
"""The path that stands for standard input, as in most commands: ``recommend --format json |
advisor analyze TASK --arch -`` needs no file in between."""


def source_name(path: str | os.PathLike[str]) -> str:
    """Name the file ``path`` stands for in messages: its path, or ``standard input``."""
    name = os.fspath(path)
    return "standard input" if name == STDIN else name


def refuse_list(value: Any, description: str) -> Any:
    """Return ``value``, or refuse it as a list with ``description`` (a field's before-validator).

    Where a list is a likely mistake for the field's one value or mapping, pydantic's own "Input
    should be a valid string/mapping ..., not a list" says what it got, not what to write: the
    description says that (a list of presets, a box written as its corners' list).
    """
    if isinstance(value, list | tuple):
        raise ValueError(f"is a list: {description}")
    return value


def frozen_hash(values: Iterable[object]) -> int:
    """Hash the field ``values`` of a frozen object, each list as the tuple it equals.

    A frozen dataclass's own hash takes the fields as they are, and a list is unhashable: a
    search result could not key a cache or join a set. The lists stay lists, which callers
    compare to lists.
    """
    return hash(tuple(tuple(value) if isinstance(value, list) else value for value in values))


@dataclass(frozen=True)
class ShortRepr:
    """Field metadata: a model's repr abbreviates the field's sequence when it is long.

    ``Annotated[tuple[int, ...], ShortRepr("ids")]``: past :data:`_REPR_ITEMS` items the repr
    writes the first and last few and the count (``(3, 1, ..., 7, 0; 1,024 ids)``), and a text
    item past :data:`_REPR_TEXT` characters its start (a mask row). A 1024x1024 task's mask or
    indices, or a permutation, written whole made a repr of megabytes, which a notebook prints
    for the last value of a cell. ``noun`` names the items in the count.
    """

    noun: str

    def written(self, values: tuple[Any, ...]) -> str:
        """Return ``values`` as the repr writes them (whole when short, else abbreviated)."""
        if len(values) <= _REPR_ITEMS:
            return f"({', '.join(map(_short_item, values))}{',' if len(values) == 1 else ''})"
        shown = [
            *map(_short_item, values[: _REPR_ITEMS - 3]),
            "...",
            *map(_short_item, values[-2:]),
        ]
        return f"({', '.join(shown)}; {len(values):,} {self.noun})"


_REPR_ITEMS: Final = 12
"""Items a :class:`ShortRepr` field's repr writes out; a longer sequence is abbreviated."""

_REPR_TEXT: Final = 24
"""Characters of a text item a :class:`ShortRepr` field's repr writes out."""


def _short_item(value: Any) -> str:
    """Write one item of a :class:`ShortRepr` field: its repr, a long text's start only."""
    if isinstance(value, str) and len(value) > _REPR_TEXT:
        return f"{value[:_REPR_TEXT]!r}..."
    return repr(value)


def short_dataclass_repr(instance: Any) -> str:
    """Write a dataclass as its generated repr does, a field marked :class:`ShortRepr` abbreviated.

    A dataclass marks the field with ``field(metadata={"repr": ShortRepr(noun)})`` and takes this
    function as its ``__repr__``: a result that holds every location's id (an inference's
    arrangement) then prints in a line, as a model's location ids do.
    """
    parts = []
    for item in dataclasses.fields(instance):
        if not item.repr:
            continue
        value = getattr(instance, item.name)
        short = item.metadata.get("repr")
        written = short.written(value) if isinstance(short, ShortRepr) else repr(value)
        parts.append(f"{item.name}={written}")
    return f"{type(instance).__qualname__}({', '.join(parts)})"


class _Written(str):
    """Text a repr shows as it is, unquoted."""

    def __repr__(self) -> str:
        return str(self)


class RequestModel(BaseModel):
    """A model of a request or of a part of one, refusing bad values as the library documents.

    Built directly (``Task(input=..., correlations=[...])``, ``Layer(channels=0, pool=(2,))``),
    through ``model_validate`` or ``model_validate_json``, it raises
    :class:`~advisor.errors.InvalidRequestError` whose violations name each field
    (``correlations[0].weight``), never pydantic's ``ValidationError``: a caller catches one
    error type whether a value came from a file, a mapping or a keyword. Everything else is
    pydantic's (assigning to a frozen field, ``model_construct`` and ``model_copy`` skipping
    validation), but a task's and a budget's :meth:`model_copy`, which validates an update. Only
    these entry points convert: validated inside another model, a part's errors stay
    pydantic's, so the outer model names them under its own fields.

    ``_error_prefix`` places every violation under a field (``budget``: the request field a
    budget is). A field marked :class:`ShortRepr` is abbreviated in the model's repr and str.
    """

    _error_prefix: ClassVar[str] = ""
    # Whether model_copy validates an update: every model's. A part's copy was pydantic's
    # unchecked one: a layer copied with channels -5 went into an architecture (which does not
    # validate a model instance again) and its analysis failed on a NaN.
    _copy_validates: ClassVar[bool] = True

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # pydantic writes a model's signature when it builds its validator, which defer_build
        # leaves to the first validation: until then help(Task) and a notebook's tooltip showed
        # no parameter. The fields give it now, as pydantic writes it (keyword-only).
        cls.__signature__ = inspect.Signature(
            [
                inspect.Parameter(
                    field.alias or name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=field.rebuild_annotation(),
                    default=inspect.Parameter.empty
                    if field.is_required()
                    else field.get_default(call_default_factory=True),
                )
                for name, field in cls.model_fields.items()
            ],
            return_annotation=None,
        )

    def __init__(self, /, *args: Any, **data: Any) -> None:
        if args:
            # Python's own message named this base class: "RequestModel.__init__() takes 1
            # positional argument but 2 were given" for Budget(1000).
            required = [
                field.alias or name
                for name, field in type(self).model_fields.items()
                if field.is_required()
            ]
            example = ", ".join(f"{name}=..." for name in required) or "..."
            raise TypeError(
                f"{type(self).__name__}() takes its fields as keywords, as in "
                f"{type(self).__name__}({example}); got "
                f"{counted(len(args), 'positional argument')}"
            )
        with self._refusing():
            super().__init__(**data)

    # Marked as pydantic marks BaseModel's and RootModel's own: validation inside another model
    # then builds this one as pydantic does, not through this __init__, so a part's errors stay
    # pydantic's and the outer model places them under its field (``input.shape``).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]
    # The signature pydantic writes from it lists the fields alone, not ``*args``.
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
            inspect.Parameter("data", inspect.Parameter.VAR_KEYWORD, annotation=Any),
        ],
        return_annotation=None,
    )

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Every model's repr, a part's within a whole's: a long marked field abbreviated.
        marked = _short_reprs(type(self))
        for name, value in super().__repr_args__():
            short = marked.get(name) if name is not None else None
            if short is not None and isinstance(value, tuple):
                yield name, _Written(short.written(value))
            else:
                yield name, value

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        """Validate ``obj`` (a mapping or a model); refusals as the class docstring says."""
        with cls._refusing():
            return super().model_validate(obj, **options)

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **options: Any) -> Self:
        """Validate a JSON document; refusals as the class docstring says."""
        with cls._refusing():
            return super().model_validate_json(json_data, **options)

    @classmethod
    def model_validate_strings(cls, obj: Any, **options: Any) -> Self:
        """Validate a mapping of strings; refusals as the class docstring says."""
        with cls._refusing():
            return super().model_validate_strings(obj, **options)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Return a copy; with ``update``, validated anew (:attr:`_copy_validates`).

        Unlike pydantic's copy, which takes an update unchecked: ``budget.model_copy(update=
        {"top_k": "3"})`` failed inside the search with a ``TypeError``, and a task's resolved
        correlations, computed when it is validated, stayed those of the original. The copy
        sets the fields its original set and the update (a budget's stated fields mean more
        than their values: a stated ``max_window`` binds where the default gives way).

        Raises
        ------
        InvalidRequestError
            When the updated model is invalid, naming its fields.
        """
        if not update or not self._copy_validates:
            return super().model_copy(update=update, deep=deep)
        given = {name: getattr(self, name) for name in self.model_fields_set}
        return self.model_validate({**given, **update})

    @classmethod
    @contextmanager
    def _refusing(cls) -> Iterator[None]:
        """Raise what the block raises as an InvalidRequestError under :attr:`_error_prefix`."""
        try:
            yield
        except ValidationError as error:
            raise invalid_request_from_pydantic(error, cls._error_prefix, model=cls) from None
        except InvalidRequestError as error:
            raise error.prefixed(cls._error_prefix) from None


class NullsOmitted(RequestModel):
    """A document model whose optional fields, given as null, read as left out (their default).

    A YAML ``weight:`` or ``weight: null``, a JSON ``null`` and a Python ``None`` all say "not
    given", as an unset proto3 ``optional`` field does over the wire; refusing them where the
    default is not None (``weight``, ``channels``, ``top_k``) while ``b: null`` is taken would
    make one rule per field. A field whose type holds None keeps a null as its value, where the
    value None has a meaning of its own (a budget's ``max_window``: no bound). A required field
    given as null is still refused on that field.
    """

    @model_validator(mode="before")
    @classmethod
    def _nulls_as_omitted(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        omitted = _null_defaulted(cls)
        if not any(data.get(name, 0) is None for name in omitted):
            return data
        return {key: value for key, value in data.items() if not (value is None and key in omitted)}


@cache
def _short_reprs(model: type[BaseModel]) -> dict[str, ShortRepr]:
    """Return the fields of ``model`` marked :class:`ShortRepr`, an optional field's included."""
    marked = {}
    for name, field in model.model_fields.items():
        # pydantic lifts a field's own Annotated metadata; an optional field keeps its inside.
        found = [*field.metadata, *_metadata_within(field.annotation)]
        short = next((item for item in found if isinstance(item, ShortRepr)), None)
        if short is not None:
            marked[name] = short
    return marked


def _metadata_within(annotation: Any) -> Iterator[Any]:
    """Yield the Annotated metadata anywhere within ``annotation`` (a union's members too)."""
    metadata = getattr(annotation, "__metadata__", ())
    yield from metadata
    for argument in get_args(annotation)[1 if metadata else 0 :]:
        yield from _metadata_within(argument)


@cache
def _null_defaulted(model: type[BaseModel]) -> frozenset[str]:
    """Return the fields of ``model`` that have a default and whose type does not hold None."""
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if not field.is_required() and type(None) not in get_args(field.annotation)
    )


_SHOWN_NAME_CHARS: Final = 200
"""The characters of a file's name an error shows; the rest are counted."""


def _shown_name(name: str) -> str:
    """``name`` as :func:`shown_path` shows it, cut to :data:`_SHOWN_NAME_CHARS`.

    A task document's text passed where a path goes was quoted whole, and the error, cut at its
    own bound, lost the reason after it.
    """
    shown = shown_path(name)
    if len(shown) <= _SHOWN_NAME_CHARS:
        return shown
    return f"{shown[:_SHOWN_NAME_CHARS]}... ({len(shown):,} characters)"


def _reads_as_document(name: str) -> bool:
    """Whether a path that could not be read is rather a document's text: JSON, or YAML lines."""
    return name.lstrip().startswith("{") or "\n" in name.strip()


def read_document(
    path: str | os.PathLike[str], kind: str, max_bytes: int = MAX_DOCUMENT_BYTES
) -> Mapping[str, Any]:
    """Parse the file at ``path`` into a mapping; ``kind`` ("task", ...) names it in errors.

    ``path`` :data:`STDIN` reads standard input (JSON or YAML, :func:`_parse_document`). At most
    ``max_bytes`` are read: a longer file is refused, not read on.

    Raises
    ------
    InvalidRequestError
        On field ``""`` (the whole document) when the file cannot be read, is longer than
        ``max_bytes``, is not valid YAML or JSON, repeats a key or does not hold a mapping.
    """
    name = os.fspath(path)
    source = (
        f"{kind} file '{_shown_name(name)}'" if name != STDIN else f"{kind} on {source_name(name)}"
    )
    try:
        file = _standard_input() if name == STDIN else path
        data = read_bounded(file, max_bytes, f"{article(kind)} {kind}")
        # utf-8-sig: a byte-order mark (Windows editors save one) is read past, as YAML's own
        # reader does; the json module refuses it.
        text = data.decode("utf-8-sig")
        # Nothing but blanks is an empty file in either form (JSON's parser says "Expecting
        # value: line 1 column 1").
        document = _parse_document(name, text) if text.strip() else None
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or the parser's refusal
        text_given = isinstance(exc, OSError) and _reads_as_document(name)
        given = (
            "; a string is read as a file's path: for a document's text, parse it first "
            "(json.loads or yaml.safe_load) and pass the mapping"
        )
        raise InvalidRequestError.single(
            "", f"cannot read {source}: {read_problem(exc)}{given if text_given else ''}"
        ) from None
    except RecursionError:
        raise InvalidRequestError.single(
            "", f"cannot read {source}: it is nested too deeply to read"
        ) from None
    if document is None:  # "must hold a mapping" did not say why: nothing, or a null
        from advisor.model.strict_yaml import writes_null  # JSON's null is YAML's too

        held = "holds null" if writes_null(text) else "is empty"
        raise InvalidRequestError.single("", f"{source} {held}: it must hold a mapping")
    if not isinstance(document, Mapping):
        raise InvalidRequestError.single("", f"{source} must hold a mapping")
    return document


def _standard_input() -> BinaryIO:
    """Return standard input's stream of bytes; :class:`OSError` when it is closed."""
    stream: BinaryIO | None = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise OSError("standard input is closed")
    return stream


def _parse_document(name: str, text: str) -> Any:
    """Parse ``text``: JSON for a ``.json`` file (:func:`document_form`), YAML for any other.

    A refusal says the form and why it was read so (:func:`_parsed_as`).

    Standard input has no name to tell: JSON when it reads as JSON. A saved result in JSON
    parses as YAML too, but the YAML reader takes seconds over a large grid's permutation that
    the JSON reader takes in milliseconds.
    """
    if name == STDIN:
        try:
            return _parse_json(text)
        except json.JSONDecodeError:  # not JSON (a duplicate key in JSON is another error)
            return _parsed_as("yaml", "standard input that is not JSON", text)
    form = document_form(name)
    return _parsed_as(form, f"the name {_JSON_NAMES[form]} in .json", text)


_JSON_NAMES: Final = {"json": "ends", "yaml": "does not end"}


def _parsed_as(form: Literal["json", "yaml"], why: str, text: str) -> Any:
    """Parse ``text`` as ``form``; a refusal ends saying the form and ``why`` it was chosen.

    A ``.json`` file holding YAML was told "Expecting value: line 1 column 1", and
    ``emo.JSON``, read as YAML, YAML's words for a JSON escape, with no word of the rule.
    """
    try:
        return _parse_json(text) if form == "json" else _parse_yaml(text)
    except ValueError as error:
        raise ValueError(f"{error}; read as {form.upper()} ({why})") from None


def document_form(path: str | os.PathLike[str]) -> Literal["json", "yaml"]:
    """Return the form a document file at ``path`` is read in: JSON for a name ending ``.json``.

    In any case (``emo.JSON``, as some tools save it); any other name is YAML. The command
    writes a task file in the form it will be read in, by this rule: YAML written to
    ``task.json`` made a file ``recommend`` could not read (``Expecting value: line 1 column
    1``).
    """
    return "json" if os.fspath(path).lower().endswith(".json") else "yaml"


_LISTED_PRESET_KEYS: Final = frozenset({"name", "kind", "description"})
"""The keys of each entry of ``advisor presets --format json|yaml``'s ``presets``: the fields of
:class:`~advisor.model.regions.PresetInfo` (which imports this module)."""


def _lists_presets(document: Mapping[str, object]) -> bool:
    """Whether ``document``'s ``presets`` is a list of presets as ``advisor presets`` writes it.

    A task whose ``preset`` is misspelt ``presets: symmetry`` (or a list of names) is a task
    with a misspelt key, and is told so by field validation ("did you mean 'preset'?").
    """
    listed = document.get("presets")
    if not isinstance(listed, list) or not listed:
        return False
    return all(isinstance(item, Mapping) and item.keys() >= _LISTED_PRESET_KEYS for item in listed)


def _any_document(_: Mapping[str, object]) -> bool:
    """Every document with a kind's keys is of that kind (no value to look at)."""
    return True


_Kind: TypeAlias = tuple[str, frozenset[str], Callable[[Mapping[str, object]], bool]]
"""A kind of document: its name, the top-level keys that mark it, what else it must hold."""

_KIND_KEYS: Final[tuple[_Kind, ...]] = (
    ("recommend result", frozenset({"recommendations", "next_page_token"}), _any_document),
    # One entry of a result's recommendations: it holds an analysis result's keys too.
    ("recommendation", frozenset({"rank", "score", "rationale"}), _any_document),
    ("analysis result", frozenset({"multiply_adds", "efficiency"}), _any_document),
    ("architecture", frozenset({"representation", "layers", "geometry", "mixture"}), _any_document),
    ("task", frozenset({"correlations", "preset", "arrangement"}), _any_document),
    # `presets: symmetry` is a task's misspelt `preset`, not a listing.
    ("presets listing", frozenset({"presets"}), _lists_presets),
)
"""The top-level keys that mark each document the advisor reads or writes, and what its values
must be besides, first match wins (an analysis result also has ``correlations``, a task's key)."""


def _kind_of(document: Mapping[str, object]) -> str | None:
    """Return the kind of document ``document`` is (:data:`_KIND_KEYS`), or None."""
    keys = set(document)
    return next(
        (name for name, marks, holds in _KIND_KEYS if keys & marks and holds(document)), None
    )


def _marks(kind: str) -> frozenset[str]:
    """Return the top-level keys that mark a ``kind`` document."""
    return next(marks for name, marks, _ in _KIND_KEYS if name == kind)


def refuse_other_kind(document: object, kind: str, expected: str) -> None:
    """Refuse ``document`` when it is another kind of document than ``kind`` (docs/FORMATS.md).

    Swapping ``advisor analyze``'s two files, or passing a saved result as the task, is an easy
    slip; validating such a document field by field lists every key of the other format as
    "Extra inputs are not permitted", which does not say what went wrong. A document holding
    none of ``kind``'s keys but another kind's is refused as that kind instead, ``expected``
    (what a ``kind`` document holds) saying what was wanted. A document with ``kind``'s own keys
    is left to field validation, so a misspelt key in it is still named; so is a key another
    kind's value tells apart (``presets``, a listing only as ``advisor presets`` writes it).

    Raises
    ------
    InvalidRequestError
        On field ``""`` (the whole document): ``is an architecture (it has representation,
        layers), not a task: ...``.
    """
    if not isinstance(document, Mapping):  # not a document of any kind: validation says so
        return
    keys = set(document)
    found = _kind_of(document)
    own = _marks(kind)
    # An analysis result holds a task's `correlations`; its own keys are no task's.
    if found is None or found == kind or (keys & own and found != "analysis result"):
        return
    marks = ", ".join(sorted(keys & _marks(found)))
    what = f"is {article(found)} {found} (it has {marks})"
    raise InvalidRequestError.single("", f"{what}, not {article(kind)} {kind}: {expected}")


def _parse_json(text: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        mapping = dict(pairs)
        if len(mapping) != len(pairs):
            repeated = next(
                key for key, count in Counter(key for key, _ in pairs).items() if count > 1
            )
            raise ValueError(f"key {repeated!r} appears more than once in one object")
        return mapping

    if sys.get_int_max_str_digits() == MAX_INTEGER_DIGITS:
        # Python's own conversion refuses what read_integer does, in C: a result of five
        # million-entry permutations read 5.2 million integers through the hook (3.3 s of a
        # 1024x1024 analyze --arch). Refused, the document is read again to say why its way.
        try:
            return json.loads(text, object_pairs_hook=no_duplicates)
        except ValueError:
            pass
    return json.loads(text, object_pairs_hook=no_duplicates, parse_int=read_integer)


def _parse_yaml(text: str) -> Any:
    # PyYAML costs about 10 ms of import: loaded when a file is read, not by every client.
    from advisor.model.strict_yaml import load_strict

    return load_strict(text)
